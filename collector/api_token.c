/*
 * api_token.c - bearer tokens (see api_token.h).
 *
 * RFC 6750 2.1 bearer tokens.  A token is 32 random bytes (getrandom),
 * base64url, prefixed "ruad_" so a leaked one is easy to find.  Only its
 * SHA-256 is stored; the comparison runs over every stored hash with
 * CRYPTO_memcmp, so timing tells nothing about near misses.
 *
 * SECURITY: the token comes from the network (Authorization header):
 * it is bounded (API_TOKEN_TEXT_MAX) by the caller and only hashed here.
 * The tokens file is the admin's, but its lines are bounded and a line
 * that does not parse is skipped with a log line.
 */
#include "api_token.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "log.h"
#include "report.h"

struct api_token_hash {
    unsigned char  sha[32];
    enum api_scope scope;
};

struct api_tokens {
    char                   path[1024];
    pthread_mutex_t        mu;         /* guards all below */
    bool                   loaded;
    dev_t                  dev;
    ino_t                  ino;
    off_t                  size;
    struct timespec        mtime;
    struct api_token_hash *h;          /* owned */
    size_t                 n;
};

static const char b64u[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

enum api_scope
api_scope_parse(const char *s)
{
    if (strcmp(s, "read") == 0)
        return API_SCOPE_READ;
    if (strcmp(s, "write") == 0)
        return API_SCOPE_WRITE;
    return API_SCOPE_NONE;
}

struct api_tokens *
api_tokens_new(const char *path)
{
    struct api_tokens *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    snprintf(t->path, sizeof(t->path), "%s", path);
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

void
api_tokens_free(struct api_tokens *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t->h);
    free(t);
}

static bool
sha256(const void *p, size_t n, unsigned char out[32])
{
    unsigned int len = 0;

    return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 &&
        len == 32;
}

/* parse_line - "SCOPE HEX64 ..." into h; false for comments and junk */
static bool
parse_line(const char *line, struct api_token_hash *h)
{
    char scope[8];
    size_t i = 0, j;

    while (line[i] == ' ' || line[i] == '\t')
        i++;
    for (j = 0; line[i] >= 'a' && line[i] <= 'z' && j < sizeof(scope) - 1;
        i++)
        scope[j++] = line[i];
    scope[j] = '\0';
    if ((h->scope = api_scope_parse(scope)) == API_SCOPE_NONE ||
        (line[i] != ' ' && line[i] != '\t'))
        return false;
    while (line[i] == ' ' || line[i] == '\t')
        i++;
    for (j = 0; j < 32; j++) {
        int hi = report_hexval(line[i + 2 * j]), lo;

        if (hi < 0 || (lo = report_hexval(line[i + 2 * j + 1])) < 0)
            return false;
        h->sha[j] = (unsigned char)(hi << 4 | lo);
    }
    i += 64;
    return line[i] == '\0' || line[i] == ' ' || line[i] == '\t' ||
        line[i] == '\n' || line[i] == '\r';
}

/* tokens_reload - read the file again if it changed; called locked */
static void
tokens_reload(struct api_tokens *t)
{
    struct stat            sb;
    FILE                  *f;
    char                   line[512];
    struct api_token_hash *h = NULL, one;
    size_t                 n = 0, lineno = 0;

    if (t->path[0] == '\0')
        return;
    if (stat(t->path, &sb) != 0) {
        if (t->loaded || t->n > 0)
            log_warn("api tokens file=%s unreadable: %s (no tokens)",
                t->path, strerror(errno));
        free(t->h);
        t->h = NULL;
        t->n = 0;
        t->loaded = false;
        return;
    }
    if (t->loaded && sb.st_dev == t->dev && sb.st_ino == t->ino &&
        sb.st_size == t->size && sb.st_mtim.tv_sec == t->mtime.tv_sec &&
        sb.st_mtim.tv_nsec == t->mtime.tv_nsec)
        return;
    if ((f = fopen(t->path, "r")) == NULL) {
        log_warn("api tokens file=%s: %s", t->path, strerror(errno));
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (!parse_line(line, &one)) {
            log_warn("api tokens file=%s line=%zu skipped (not \"read|write "
                "SHA256HEX\")", t->path, lineno);
            continue;
        }
        if (n == API_TOKENS_MAX) {
            log_warn("api tokens file=%s: more than %d tokens, rest "
                "skipped", t->path, API_TOKENS_MAX);
            break;
        }
        if (n % 64 == 0) {
            struct api_token_hash *g = realloc(h, (n + 64) * sizeof(*h));

            if (g == NULL)
                break;
            h = g;
        }
        h[n++] = one;
    }
    fclose(f);
    free(t->h);
    t->h = h;
    t->n = n;
    t->loaded = true;
    t->dev = sb.st_dev;
    t->ino = sb.st_ino;
    t->size = sb.st_size;
    t->mtime = sb.st_mtim;
    log_info("api tokens file=%s tokens=%zu", t->path, n);
}

enum api_scope
api_tokens_scope(struct api_tokens *t, const char *token, size_t len)
{
    unsigned char  sha[32];
    enum api_scope best = API_SCOPE_NONE;
    size_t         i;

    if (t == NULL || len == 0 || len > API_TOKEN_TEXT_MAX ||
        !sha256(token, len, sha))
        return API_SCOPE_NONE;
    pthread_mutex_lock(&t->mu);
    tokens_reload(t);
    for (i = 0; i < t->n; i++)
        if (CRYPTO_memcmp(t->h[i].sha, sha, 32) == 0 &&
            t->h[i].scope > best)
            best = t->h[i].scope;
    pthread_mutex_unlock(&t->mu);
    return best;
}

enum ruad_rc
api_token_new(const char *path, enum api_scope scope,
    char out[API_TOKEN_LEN + 1], char *err, size_t errlen)
{
    unsigned char rnd[33], sha[32];
    char          line[160], now[32];
    size_t        i, o = 0;
    int           fd, n;

    if (path[0] == '\0') {
        snprintf(err, errlen, "no api_tokens_file configured");
        return RUAD_MALFORMED;
    }
    if (getrandom(rnd, 32, 0) != 32) {
        snprintf(err, errlen, "getrandom: %s", strerror(errno));
        return RUAD_IO;
    }
    rnd[32] = 0;
    memcpy(out, "ruad_", 5);
    o = 5;
    for (i = 0; i < 32; i += 3) {       /* 256 bits: 43 characters */
        unsigned long v = (unsigned long)rnd[i] << 16 |
            (unsigned long)(i + 1 < 32 ? rnd[i + 1] : 0) << 8 |
            (i + 2 < 32 ? rnd[i + 2] : 0);

        out[o++] = b64u[v >> 18 & 63];
        out[o++] = b64u[v >> 12 & 63];
        if (i + 1 < 32)
            out[o++] = b64u[v >> 6 & 63];
        if (i + 2 < 32)
            out[o++] = b64u[v & 63];
    }
    out[o] = '\0';
    if (!sha256(out, o, sha)) {
        snprintf(err, errlen, "SHA-256 failed");
        return RUAD_INTERNAL;
    }
    report_fmt_time((int64_t)time(NULL), now);
    n = snprintf(line, sizeof(line), "%s ", scope == API_SCOPE_WRITE ?
        "write" : "read");
    for (i = 0; i < 32; i++)
        n += snprintf(line + n, sizeof(line) - (size_t)n, "%02x", sha[i]);
    n += snprintf(line + n, sizeof(line) - (size_t)n, " %s\n", now);
    if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) <
        0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return RUAD_IO;
    }
    if (write(fd, line, (size_t)n) != n || fsync(fd) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return RUAD_IO;
    }
    if (close(fd) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return RUAD_IO;
    }
    explicit_bzero(rnd, sizeof(rnd));
    return RUAD_OK;
}
