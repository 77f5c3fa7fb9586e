/*
 * dkim.h - DKIM verification (RFC 6376) with rsa-sha256 and
 * ed25519-sha256 (RFC 8463) under the rules of RFC 8301.  Pure: keys come
 * from a lookup callback (dns.c in production, a table in tests).
 */
#ifndef RUAD_DKIM_H
#define RUAD_DKIM_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "result.h"

enum dkim_result {
    DKIM_NONE,          /* no signature */
    DKIM_PASS,
    DKIM_FAIL,          /* a signature that does not verify */
    DKIM_TEMPERROR,     /* the key could not be fetched now */
    DKIM_PERMERROR,     /* a signature or key that cannot be used */
};

#define DKIM_SIGS_MAX      5             /* signatures evaluated */
#define DKIM_HEADER_MAX    (256u << 10)  /* header block bytes */
#define DKIM_RSA_BITS_MIN  1024          /* RFC 8301 3.2 */
#define DKIM_RSA_BITS_MAX  8192          /* more is refused unverified */
#define DKIM_FUTURE_SLACK  300           /* seconds of clock skew on t= */

/*
 * The key lookup: TXT records of name ("sel._domainkey.example.com"),
 * each record's strings already joined.  RUAD_OK (n may be 0: no record),
 * RUAD_EOF (the name does not exist), RUAD_TEMPFAIL (SERVFAIL, timeout),
 * RUAD_MALFORMED (the name cannot be asked: a permanent error).
 * *records and each string are the callee's, freed with free().
 *
 * txt_many, when set, is used instead of txt: the keys of all of a mail's
 * signatures at once (dns.c asks them in parallel, within one time budget
 * for the whole mail).  out[i] answers names[i]; why is a short text for
 * a failure ("no answer within 10000 ms", "SERVFAIL"), or "".
 */
struct dkim_txt {
    enum ruad_rc rc;
    char       **records;
    size_t       n;
    char         why[96];
};

struct dkim_lookup {
    void        *ctx;
    enum ruad_rc (*txt)(void *ctx, const char *name, char ***records,
        size_t *n);
    void        (*txt_many)(void *ctx, const char *const *names, size_t n,
        struct dkim_txt *out);
};

/*
 * One signature.  A key with the flag t=y (testing, RFC 6376 3.6.1) marks
 * it testing: its own result is what verification gave (a pass when it
 * verifies), but the message is treated as unsigned by it: it counts
 * neither in the verdict's result nor as its pass.
 */
struct dkim_sig {
    char             d[256];    /* signing domain */
    char             s[128];    /* selector */
    char             a[32];     /* algorithm as written */
    enum dkim_result result;
    char             reason[160];
    bool             testing;   /* key record t=y: not counted */
    bool             no_tlsrpt; /* key record s= excludes tlsrpt and * */
};

struct dkim_verdict {
    enum dkim_result result;    /* the best of the signatures not testing
                                   (DKIM_NONE when all of them are) */
    int              pass;      /* index of the passing signature (never
                                   a testing one), -1 */
    size_t           n_sigs;    /* evaluated (at most DKIM_SIGS_MAX) */
    size_t           n_found;   /* DKIM-Signature fields in the message */
    struct dkim_sig  sigs[DKIM_SIGS_MAX];
    char             from_domain[256];   /* of the single From, or "" */
};

/*
 * dkim_verify - every DKIM-Signature of the message in (msg, len) (LF or
 * CRLF line endings; LF is verified as CRLF).  now is the time used for
 * x= and t=.  Fills *v; returns RUAD_OK, or RUAD_NOMEM.
 */
enum ruad_rc dkim_verify(const char *msg, size_t len,
    const struct dkim_lookup *lk, time_t now, struct dkim_verdict *v);

const char *dkim_result_str(enum dkim_result r);

/*
 * dkim_body_hash - the SHA-256 of a CRLF body (p, n) after simple or
 * relaxed body canonicalisation (RFC 6376 3.4.3, 3.4.4) into md (32
 * bytes).  False if OpenSSL fails.
 */
bool dkim_body_hash(const char *p, size_t n, bool relaxed,
    unsigned char *md);

/*
 * dkim_aligned - relaxed alignment (RFC 7489 3.1.1): d and from share
 * their organisational domain, by the public suffix list (libpsl with
 * the system's list, else its built-in one).
 */
bool dkim_aligned(const char *d, const char *from);

/* What is kept of a verdict (on the inbound row and each report). */
struct dkim_summary {
    const char *result;          /* dkim_result_str() */
    char        domain[256];     /* the passing signature's d=, or "" */
    char        selector[128];
    bool        aligned;         /* d= aligned with the From domain */
    bool        no_tlsrpt;       /* its key's s= excludes tlsrpt */
    char        from_domain[256];
    char        testing[256];    /* d= of a signature that verifies with
                                    a t=y key (not counted), or "" */
};

/* dkim_summarize - prefer an aligned pass, then any pass */
void dkim_summarize(const struct dkim_verdict *v, struct dkim_summary *out);

#endif /* RUAD_DKIM_H */
