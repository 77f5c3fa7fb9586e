/*
 * dnsrec.h - the DNS records that publish a ruad collector, and the
 * checks of what is published: `ruad dns-records [--check]`.
 *
 * The records come from the config (smtp_accept, smtp_hostname,
 * public_url, mta_sts_policy) and the options below; the grammar checks
 * (RFC 7489 6.4 DMARC, RFC 8460 3 TLSRPT, RFC 8461 3.1 MTA-STS TXT, URIs
 * per RFC 6068 and RFC 3986) are pure functions over memory.
 */
#ifndef RUAD_DNSREC_H
#define RUAD_DNSREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "result.h"

#define DNSREC_DOMAINS_MAX 256
#define DNSREC_TXT_MAX     4096     /* a TXT record we parse, joined */
#define DNSREC_URIS_MAX    16       /* URIs in one rua= */

/* What `ruad dns-records` was asked for, besides the config. */
struct dnsrec_opts {
    const char *domains[DNSREC_DOMAINS_MAX];   /* borrowed */
    size_t      n_domains;
    const char *p;             /* DMARC policy: none (default), ... */
    const char *sp;            /* subdomain policy, NULL: not printed */
    const char *adkim;         /* r or s, NULL: not printed */
    const char *aspf;
    const char *pct;           /* 0..100, NULL: not printed */
    const char *size;          /* "!size" suffix for mailto, e.g. "10m" */
    bool        wildcard;      /* *._report._dmarc instead of one per D */
};

/* The lookups --check needs (dns.c in production, tables in tests). */
struct dnsrec_lookup {
    void          *ctx;
    /* TXT strings joined per record; RUAD_OK (n may be 0), RUAD_EOF
     * (NXDOMAIN), RUAD_TEMPFAIL; the caller frees */
    enum ruad_rc (*txt)(void *ctx, const char *name, char ***recs,
        size_t *n);
    /* MX exchanges (no preference), same contract */
    enum ruad_rc (*mx)(void *ctx, const char *name, char ***hosts,
        size_t *n);
    /* number of TLSA records at name, same contract */
    enum ruad_rc (*tlsa)(void *ctx, const char *name, size_t *n);
    /* number of A and AAAA records at name, same contract */
    enum ruad_rc (*addrs)(void *ctx, const char *name, size_t *n);
};

/* A parsed rua= or similar list of URIs. */
struct dnsrec_uris {
    char   *uri[DNSREC_URIS_MAX];   /* owned, as published (escaped) */
    size_t  n;
};

/* The tags of a DMARC record (RFC 7489 6.3) that the check looks at. */
struct dnsrec_dmarc {
    char               p[16], sp[16];
    struct dnsrec_uris rua;
};

/*
 * dnsrec_print - write the records for cfg and o, zone-file style, to f.
 * RUAD_MALFORMED with the reason in err when the config or an option
 * cannot give a record (no address, a bad domain name, ...).
 */
enum ruad_rc dnsrec_print(const struct config *cfg,
    const struct dnsrec_opts *o, FILE *f, char *err, size_t errlen);

/*
 * dnsrec_check - resolve each record and write one line per record to f:
 * "ok", "missing", "different" (with the difference), "error" (syntax),
 * or "info" (MTA-STS and DANE, reported, not judged).  *bad counts the
 * records that are not ok.  RUAD_TEMPFAIL when DNS did not answer,
 * RUAD_MALFORMED (err) as for dnsrec_print.
 */
enum ruad_rc dnsrec_check(const struct config *cfg,
    const struct dnsrec_opts *o, const struct dnsrec_lookup *lk, FILE *f,
    unsigned *bad, char *err, size_t errlen);

/*
 * dnsrec_uri_escape - s with the bytes a rua URI may not carry as they
 * are percent-encoded: "," and "!" (RFC 7489 6.4, RFC 8460 3), ";" and
 * anything outside RFC 3986's characters.  A "%XX" already there stays.
 * false if out (n bytes) is too small.
 */
bool dnsrec_uri_escape(const char *s, char *out, size_t n);

/*
 * Grammar checks of published records.  Each takes the joined TXT value
 * (txt, len; no NUL needed), returns RUAD_OK or RUAD_MALFORMED with the
 * reason in err, and fills *out when it is given (uris are the caller's:
 * dnsrec_uris_free).  A DMARC record is RFC 7489 6.4 (with RFC 9990's
 * np, psd, t); a TLSRPT record is RFC 8460 3; an MTA-STS record is RFC
 * 8461 3.1 (id is copied into id, 33 bytes).
 */
enum ruad_rc dnsrec_parse_dmarc(const char *txt, size_t len,
    struct dnsrec_dmarc *out, char *err, size_t errlen);
enum ruad_rc dnsrec_parse_tlsrpt(const char *txt, size_t len,
    struct dnsrec_uris *out, char *err, size_t errlen);
enum ruad_rc dnsrec_parse_sts(const char *txt, size_t len, char id[33],
    char *err, size_t errlen);

/*
 * dnsrec_check_uri - one URI: mailto (RFC 6068, one addr-spec, with an
 * optional DMARC "!size" when dmarc) or https (RFC 3986, a host).
 */
enum ruad_rc dnsrec_check_uri(const char *uri, size_t len, bool dmarc,
    char *err, size_t errlen);

void dnsrec_uris_free(struct dnsrec_uris *u);

#endif /* RUAD_DNSREC_H */
