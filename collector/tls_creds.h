/*
 * tls_creds.h - the HTTPS server's certificate chains and keys (GnuTLS,
 * tls_creds.c): loaded from PEM files, as `ruad serve` and
 * `ruad serve --check-config` (preflight.c) both do.
 */
#ifndef RUAD_TLS_CREDS_H
#define RUAD_TLS_CREDS_H

#include <stdbool.h>
#include <stddef.h>

struct tls_creds;

/* One entry of a tls_sni_certs list ("CERT:KEY,CERT:KEY"). */
struct tls_sni_entry {
    const char *text;           /* the entry as written: len bytes */
    int         len;
    bool        ok;             /* it has a colon, and each part fits */
    bool        empty;          /* CERT or KEY is empty, as written */
    char        cert[1024];
    char        key[1024];      /* without trailing spaces */
};

/* tls_creds_sni_next - the entry of a tls_sni_certs list at *p (spaces
 * and commas before it skipped) into e, and *p past it; false at the end */
bool tls_creds_sni_next(const char **p, struct tls_sni_entry *e);

/*
 * tls_creds_load - certificate chain and key from PEM files; NULL with
 * the reason in err ("PATH: why").  *key_bad (when not NULL) says whether
 * the key, not the chain, was the trouble.  Free with tls_creds_free.
 */
struct tls_creds *tls_creds_load(const char *certpath, const char *keypath,
    char *err, size_t errlen, bool *key_bad);
/* tls_creds_free - c and every older one chained to it; NULL: nothing */
void tls_creds_free(struct tls_creds *c);
/* tls_creds_not_after - the leaf's expiry, epoch seconds */
long long tls_creds_not_after(const struct tls_creds *c);
/* tls_creds_key_matches - is the key the leaf certificate's? */
bool tls_creds_key_matches(const struct tls_creds *c);

#endif
