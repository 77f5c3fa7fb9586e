/*
 * dnsrec_priv.h - dns-records' internals shared by its files: the name
 * and URI helpers of dnsrec_parse.c, and the plan of records (dnsrec.c)
 * that dnsrec_print() prints and dnsrec_check() (dnsrec_check.c) looks
 * up.  Only dnsrec*.c include it; everything else sees dnsrec.h.
 */
#ifndef RUAD_DNSREC_PRIV_H
#define RUAD_DNSREC_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "dnsname.h"
#include "dnsrec.h"

struct mta_sts_set;

#define NAME_MAX_LEN 255
#define VALUE_MAX    1400

enum dr_kind { DR_DMARC, DR_TLSRPT, DR_STS, DR_STS_HOST, DR_AUTH, DR_MX };

struct dr_rec {
    enum dr_kind kind;
    char         name[NAME_MAX_LEN + 2];  /* no trailing dot */
    char         value[VALUE_MAX];        /* unquoted TXT, or the target */
    char         domain[NAME_MAX_LEN + 1];
};

/* Everything the records are made of. */
struct dr_plan {
    char           dmarc_addr[320], tls_addr[320];   /* "" = none */
    char           dmarc_uri[800], tls_uris[1200];   /* escaped */
    char           https_uri[800];                   /* "" = none */
    char           hostname[NAME_MAX_LEN + 1];
    struct dr_rec *rec;                              /* owned */
    size_t         n, cap;
    struct mta_sts_set *sts;                         /* owned */
};

static inline bool
is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* dnsrec_parse.c */

/* lower - copy s (without a trailing dot) into out in lower case */
bool lower(const char *s, size_t len, char *out, size_t n);
/* pct_decode - (s, len) with %XX decoded into out; false if malformed */
bool pct_decode(const char *s, size_t len, char *out, size_t n);

/* dnsrec.c */

/* plan_make - every record for cfg and o, in print order */
bool plan_make(const struct config *cfg, const struct dnsrec_opts *o,
    struct dr_plan *pl, char *err, size_t errlen);
void plan_free(struct dr_plan *pl);

#endif
