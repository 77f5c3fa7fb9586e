/*
 * bench_dkim.c - DKIM verifications per second next to OpenSSL's raw
 * verify rate for the same key type (tests/bench/README.md, "bench_dkim").
 *
 *   bench_dkim [--runs N] [--ms MS] --dns-server HOST:PORT
 *              TYPE MSG RECORD [TYPE MSG RECORD ...]
 *
 * TYPE is rsa-BITS or ed25519; MSG a signed message (the driver,
 * tests/bench/bench_dkim, signs them with dkimpy); RECORD a file with the
 * TXT value of its key, which the DNS server (dnsmasq, started by the
 * driver) also serves.  For each TYPE, in the same run:
 *
 *   dns, resolver per mail  dns_new(), dkim_verify() with dns_txt_many(),
 *                           dns_free(): what worker.c does for each mail
 *   dns, one resolver       dkim_verify() with dns_txt_many() on one
 *                           resolver
 *   key from a table        dkim_verify() with the record in memory
 *   DNS lookup alone        dns_txt() of the key name, one resolver
 *   SHA-256 of the mail     EVP_Digest() over the whole message
 *   OpenSSL verify          EVP_DigestVerifyInit() and EVP_DigestVerify()
 *                           of a precomputed signature over 32 bytes with
 *                           a key of TYPE made here (SHA-256 then RSA
 *                           PKCS#1 v1.5, or Ed25519)
 *
 * Each figure is the best of N runs (default 3) of at least MS
 * milliseconds (default 500), timed with CLOCK_MONOTONIC; every
 * verification must pass, or the benchmark stops.  The ratio is the
 * figure over OpenSSL's verify rate.  "cpu us" is this process's CPU time
 * per operation in that run (CLOCK_PROCESS_CPUTIME_ID): on a busy machine
 * it stays near the idle figure where the wall clock does not, and for
 * the DNS rows it leaves out dnsmasq's share.  Target: rsa-2048 mail verification
 * through DNS (resolver per mail) at TARGET_RATIO of the raw rate or more.
 *
 * Exit status: 0 when it ran (a missed target says FAIL, but this is a
 * benchmark), 2 when it could not run.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "dkim.h"
#include "dns.h"

#define BENCH_TYPES_MAX 4
#define TARGET_RATIO    0.5
#define DNS_TIMEOUT     2000

/* One key type and its signed message. */
struct bench_type {
    const char *type;
    char       *msg;        /* owned */
    size_t      len;
    char       *record;     /* owned: the TXT value */
    char        name[300];  /* s._domainkey.d of the signature */
    double      raw;        /* OpenSSL verifies per second */
};

/* What one timed loop does, on what. */
struct bench_ctx {
    struct bench_type *t;
    const char        *server;
    struct dns        *dns;       /* the shared resolver */
    EVP_PKEY          *pkey;      /* raw verify */
    unsigned char      sig[1024];
    size_t             siglen;
    unsigned char      data[32];
    bool               failed;
    char               why[512];
};

static double
clock_s(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* read_file - a whole file, NUL-terminated; NULL with errno */
static char *
read_file(const char *path, size_t *len)
{
    FILE  *f = fopen(path, "rb");
    char  *p = NULL;
    long   n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) != NULL) {
        if (fread(p, 1, (size_t)n, f) != (size_t)n) {
            free(p);
            p = NULL;
        } else {
            p[n] = '\0';
            *len = (size_t)n;
        }
    }
    fclose(f);
    return p;
}

/* table_txt - the lookup callback that answers from memory */
static enum ruad_rc
table_txt(void *ctx, const char *name, char ***records, size_t *n)
{
    const struct bench_type *t = ctx;

    *records = NULL;
    *n = 0;
    if (strcasecmp(name, t->name) != 0)
        return RUAD_EOF;
    if ((*records = calloc(1, sizeof(**records))) == NULL ||
        ((*records)[0] = strdup(t->record)) == NULL) {
        free(*records);
        *records = NULL;
        return RUAD_TEMPFAIL;
    }
    *n = 1;
    return RUAD_OK;
}

/* verified - dkim_verify() of the type's message passed; why if not */
static bool
verified(struct bench_ctx *c, const struct dkim_lookup *lk)
{
    struct dkim_verdict v;

    if (dkim_verify(c->t->msg, c->t->len, lk, time(NULL), &v) != RUAD_OK ||
        v.result != DKIM_PASS) {
        snprintf(c->why, sizeof(c->why), "%s: dkim_verify: %s (%s)",
            c->t->type, dkim_result_str(v.result), v.n_sigs > 0 ?
            v.sigs[0].reason : "no signature");
        c->failed = true;
        return false;
    }
    return true;
}

static bool
op_dns_per_mail(struct bench_ctx *c)
{
    struct dkim_lookup lk;
    struct dns        *d;
    char               err[256];
    bool               ok;

    if ((d = dns_new(c->server, DNS_TIMEOUT, err, sizeof(err))) == NULL) {
        snprintf(c->why, sizeof(c->why), "dns_new: %s", err);
        c->failed = true;
        return false;
    }
    lk.ctx = d;
    lk.txt = NULL;
    lk.txt_many = dns_txt_many;       /* as worker.c */
    ok = verified(c, &lk);
    dns_free(d);
    return ok;
}

static bool
op_dns_shared(struct bench_ctx *c)
{
    struct dkim_lookup lk = { c->dns, NULL, dns_txt_many };

    return verified(c, &lk);
}

static bool
op_table(struct bench_ctx *c)
{
    struct dkim_lookup lk = { c->t, table_txt, NULL };

    return verified(c, &lk);
}

static bool
op_lookup(struct bench_ctx *c)
{
    char       **recs;
    size_t       n, i;
    enum ruad_rc rc = dns_txt(c->dns, c->t->name, &recs, &n);

    for (i = 0; rc == RUAD_OK && i < n; i++)
        free(recs[i]);
    free(recs);
    if (rc != RUAD_OK || n != 1) {
        snprintf(c->why, sizeof(c->why), "dns_txt %s: rc %d, %zu records",
            c->t->name, (int)rc, n);
        c->failed = true;
        return false;
    }
    return true;
}

static bool
op_sha256(struct bench_ctx *c)
{
    unsigned char md[32];

    return EVP_Digest(c->t->msg, c->t->len, md, NULL, EVP_sha256(),
        NULL) == 1;
}

static bool
op_raw_verify(struct bench_ctx *c)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool        ed = strcmp(c->t->type, "ed25519") == 0, ok;

    ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, ed ? NULL :
        EVP_sha256(), NULL, c->pkey) == 1 && EVP_DigestVerify(ctx, c->sig,
        c->siglen, c->data, sizeof(c->data)) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        snprintf(c->why, sizeof(c->why), "%s: EVP_DigestVerify failed",
            c->t->type);
        c->failed = true;
    }
    return ok;
}

/*
 * rate - best of runs loops of at least ms: operations per second (wall
 * clock), and in *cpu the process's CPU seconds per operation in that run
 */
static double
rate(struct bench_ctx *c, bool (*op)(struct bench_ctx *), int runs, int ms,
    double *cpu)
{
    double best = 0;
    int    r;

    if (!op(c))                         /* untimed, and a sanity check */
        return 0;
    for (r = 0; r < runs; r++) {
        double   t0 = clock_s(CLOCK_MONOTONIC), el;
        double   c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        uint64_t n = 0;

        do {
            if (!op(c))
                return 0;
            n++;
        } while ((el = clock_s(CLOCK_MONOTONIC) - t0) < ms / 1000.0);
        if (n / el > best) {
            best = n / el;
            *cpu = (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0) / n;
        }
    }
    return best;
}

/* raw_key - a key of the type and a signature of 32 bytes with it */
static bool
raw_key(struct bench_ctx *c)
{
    const char *type = c->t->type;
    EVP_MD_CTX *ctx;
    bool        ed = strcmp(type, "ed25519") == 0, ok;
    long        bits = 0;

    if (!ed && (strncmp(type, "rsa-", 4) != 0 ||
        (bits = strtol(type + 4, NULL, 10)) < 512 || bits > 16384)) {
        snprintf(c->why, sizeof(c->why), "%s: TYPE is rsa-BITS or ed25519",
            type);
        return false;
    }
    memset(c->data, 0x5a, sizeof(c->data));
    c->pkey = ed ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519") :
        EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    if (c->pkey == NULL || (ctx = EVP_MD_CTX_new()) == NULL) {
        snprintf(c->why, sizeof(c->why), "%s: cannot make a key", type);
        return false;
    }
    c->siglen = sizeof(c->sig);
    ok = EVP_DigestSignInit(ctx, NULL, ed ? NULL : EVP_sha256(), NULL,
        c->pkey) == 1 && EVP_DigestSign(ctx, c->sig, &c->siglen, c->data,
        sizeof(c->data)) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        snprintf(c->why, sizeof(c->why), "%s: cannot sign", type);
    return ok;
}

/* key_name - "s._domainkey.d" of the message's first signature */
static bool
key_name(struct bench_type *t)
{
    const char *p = strstr(t->msg, "DKIM-Signature:");
    char        d[256] = "", s[128] = "";
    const char *q;

    for (q = p; q != NULL && *q != '\0' && (d[0] == '\0' || s[0] == '\0');
        q++) {
        char  *dst = NULL;
        size_t cap = 0, k = 0;

        if ((q[0] == 'd' || q[0] == 's') && q[1] == '=' &&
            (q[-1] == ' ' || q[-1] == '\t' || q[-1] == ';' ||
            q[-1] == '\n')) {
            dst = q[0] == 'd' ? d : s;
            cap = q[0] == 'd' ? sizeof(d) : sizeof(s);
            for (q += 2; *q != ';' && *q != '\0' && k + 1 < cap; q++)
                if (*q != ' ' && *q != '\t' && *q != '\r' && *q != '\n')
                    dst[k++] = *q;
            dst[k] = '\0';
            if (*q == '\0')
                break;
        }
    }
    return d[0] != '\0' && s[0] != '\0' && (size_t)snprintf(t->name,
        sizeof(t->name), "%s._domainkey.%s", s, d) < sizeof(t->name);
}

static void
usage(FILE *f)
{
    fprintf(f, "usage: bench_dkim [--runs N] [--ms MS] --dns-server "
        "HOST:PORT TYPE MSG RECORD...\n"
        "  TYPE rsa-BITS or ed25519, MSG a message signed with that key, "
        "RECORD\n  a file with its key's TXT value (also served by the "
        "DNS server)\n");
}

int
main(int argc, char **argv)
{
    static const struct {
        const char *what;
        bool (*op)(struct bench_ctx *);
        bool        target;
    } rows[] = {
        { "dkim_verify, DNS, resolver per mail", op_dns_per_mail, true },
        { "dkim_verify, DNS, one resolver",      op_dns_shared,   false },
        { "dkim_verify, key from a table",       op_table,        false },
        { "DNS TXT lookup alone (dns_txt)",      op_lookup,       false },
        { "SHA-256 of the whole mail",           op_sha256,       false },
        { "OpenSSL verify, 32 bytes (raw)",      op_raw_verify,   false },
    };
    struct bench_type types[BENCH_TYPES_MAX];
    struct bench_ctx  c;
    const char       *server = NULL;
    char              err[256];
    size_t            nt = 0, i, r, rlen;
    int               runs = 3, ms = 500, a, misses = 0;
    double            rates[sizeof(rows) / sizeof(rows[0])];
    double            cpus[sizeof(rows) / sizeof(rows[0])];

    for (a = 1; a < argc && strncmp(argv[a], "--", 2) == 0; a++) {
        if (strcmp(argv[a], "--runs") == 0 && a + 1 < argc)
            runs = atoi(argv[++a]);
        else if (strcmp(argv[a], "--ms") == 0 && a + 1 < argc)
            ms = atoi(argv[++a]);
        else if (strcmp(argv[a], "--dns-server") == 0 && a + 1 < argc)
            server = argv[++a];
        else {
            usage(strcmp(argv[a], "--help") == 0 ? stdout : stderr);
            return strcmp(argv[a], "--help") == 0 ? 0 : 2;
        }
    }
    if (server == NULL || runs < 1 || runs > 99 || ms < 10 || ms > 60000 ||
        (argc - a) % 3 != 0 || argc == a ||
        (size_t)(argc - a) / 3 > BENCH_TYPES_MAX) {
        usage(stderr);
        return 2;
    }
    memset(types, 0, sizeof(types));
    for (; a < argc; a += 3, nt++) {
        struct bench_type *t = &types[nt];

        t->type = argv[a];
        if ((t->msg = read_file(argv[a + 1], &t->len)) == NULL ||
            (t->record = read_file(argv[a + 2], &rlen)) == NULL) {
            fprintf(stderr, "bench_dkim: %s: %s\n", t->msg == NULL ?
                argv[a + 1] : argv[a + 2], strerror(errno));
            return 2;
        }
        t->record[strcspn(t->record, "\r\n")] = '\0';
        if (!key_name(t)) {
            fprintf(stderr, "bench_dkim: %s: no DKIM-Signature with d= "
                "and s=\n", argv[a + 1]);
            return 2;
        }
    }

    printf("DKIM verification against OpenSSL's raw verify (best of %d "
        "runs of >= %d ms each)\n", runs, ms);
    printf("DNS: %s (dns.c)\n\n", server);
    printf("%-9s %-37s %9s %8s %7s %7s\n", "type", "what", "per s",
        "us each", "cpu us", "vs raw");
    for (i = 0; i < nt; i++) {
        memset(&c, 0, sizeof(c));
        c.t = &types[i];
        c.server = server;
        if ((c.dns = dns_new(server, DNS_TIMEOUT, err, sizeof(err))) ==
            NULL) {
            fprintf(stderr, "bench_dkim: dns_new: %s\n", err);
            return 2;
        }
        if (!raw_key(&c)) {
            fprintf(stderr, "bench_dkim: %s\n", c.why);
            return 2;
        }
        for (r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
            rates[r] = rate(&c, rows[r].op, runs, ms, &cpus[r]);
            if (c.failed || rates[r] <= 0) {
                fprintf(stderr, "bench_dkim: %s\n", c.why[0] ? c.why :
                    "a timed operation failed");
                return 2;
            }
        }
        types[i].raw = rates[sizeof(rows) / sizeof(rows[0]) - 1];
        printf("%s%s: a %zu-byte mail, key %s\n", i ? "\n" : "",
            c.t->type, c.t->len, c.t->name);
        for (r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
            double ratio = rates[r] / types[i].raw;

            printf("%-9s %-37s %9.0f %8.1f %7.1f %6.0f%%", c.t->type,
                rows[r].what, rates[r], 1e6 / rates[r], 1e6 * cpus[r],
                100 * ratio);
            if (rows[r].target && strcmp(c.t->type, "rsa-2048") == 0) {
                printf("  target >= %.0f%%: %s", 100 * TARGET_RATIO,
                    ratio >= TARGET_RATIO ? "PASS" : "FAIL");
                misses += ratio < TARGET_RATIO;
            }
            printf("\n");
        }
        dns_free(c.dns);
        EVP_PKEY_free(c.pkey);
        free(types[i].msg);
        free(types[i].record);
    }
    printf("\n%d target%s missed\n", misses, misses == 1 ? "" : "s");
    return 0;
}
