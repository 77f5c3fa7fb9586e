/*
 * fuzz_http_static.c - libFuzzer target for the dashboard's file lookup
 * (http_static.c): the request path, and the conditional headers.
 *
 * The input is split at its first NUL: the part before is a request path
 * as libmicrohttpd hands it over (decoded, NUL-free), the part after an
 * If-None-Match and, past a second NUL, an If-Modified-Since value.  The
 * path is normalised and, when accepted, opened below a small tree made
 * at start: a web root holding index.html, js/app.js and symbolic links
 * out of it (to a file, to a directory), next to a "secret" file.  A
 * normalised path with a "." or ".." segment, a leading '/' or an empty
 * segment, or an open that reaches the secret file, is a crash.
 *
 * SECURITY: this is what a peer's GET reaches before any file is read.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_static.h"
#include "limits.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char  root[256];
static ino_t secret_ino;
static dev_t secret_dev;

static void
put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (f == NULL)
        abort();
    fputs(text, f);
    fclose(f);
}

/* LLVMFuzzerInitialize - the tree: root/{index.html,js/app.js,links} */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char        base[200], p[512];
    struct stat st;

    (void)argc, (void)argv;
    snprintf(base, sizeof(base), "/tmp/ruad-fuzz-static.%d", (int)getpid());
    snprintf(root, sizeof(root), "%s/web", base);
    mkdir(base, 0755);
    mkdir(root, 0755);
    snprintf(p, sizeof(p), "%s/secret", base);
    put(p, "secret\n");
    if (stat(p, &st) != 0)
        abort();
    secret_ino = st.st_ino;
    secret_dev = st.st_dev;
    snprintf(p, sizeof(p), "%s/index.html", root);
    put(p, "<!doctype html>\n");
    snprintf(p, sizeof(p), "%s/js", root);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/js/app.js", root);
    put(p, "export {};\n");
    snprintf(p, sizeof(p), "%s/s", root);
    (void)symlink("../secret", p);
    snprintf(p, sizeof(p), "%s/up", root);
    (void)symlink("..", p);
    snprintf(p, sizeof(p), "%s/js/s", root);
    (void)symlink("../../secret", p);
    return 0;
}

/* check_rel - the contract of a normalised path */
static void
check_rel(const char *rel)
{
    const char *seg = rel;

    if (*rel == '/' || *rel == '\0')
        __builtin_trap();
    for (;;) {
        const char *end = strchr(seg, '/');
        size_t      n = end ? (size_t)(end - seg) : strlen(seg);

        if (n == 0 || seg[0] == '.' || n > HTTP_STATIC_NAME_MAX)
            __builtin_trap();
        if (end == NULL)
            break;
        seg = end + 1;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char            rel[HTTP_STATIC_PATH_MAX + 16], *copy;
    const char     *nul, *inm = NULL, *ims = NULL, *nul2;
    size_t          plen;
    struct timespec mt;
    struct stat     st;
    uint64_t        fsize;
    time_t          t;
    int             fd;

    /* one NUL-terminated copy; the parts point into it */
    if ((copy = malloc(size + 1)) == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    nul = memchr(copy, '\0', size);
    plen = nul ? (size_t)(nul - copy) : size;
    if (nul != NULL) {
        inm = nul + 1;
        nul2 = memchr(inm, '\0', size - plen - 1);
        if (nul2 != NULL)
            ims = nul2 + 1;
    }
    if (http_static_normalize(copy, plen, rel, sizeof(rel)) == RUAD_OK) {
        check_rel(rel);
        if ((fd = http_static_open(root, rel, &fsize, &mt)) >= 0) {
            if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
                (st.st_ino == secret_ino && st.st_dev == secret_dev))
                __builtin_trap();
            close(fd);
        }
        (void)http_static_type(rel);
    }
    if (http_static_parse_date(copy, plen, &t)) {
        char back[30];

        http_static_date(t, back);
        if (memcmp(back + 5, copy + 5, 24) != 0)  /* day name not checked */
            __builtin_trap();
    }
    (void)http_static_not_modified(inm, ims, "\"b-1-0\"", 1);
    free(copy);
    return 0;
}
