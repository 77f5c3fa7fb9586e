/*
 * mta_sts.h - MTA-STS policies (RFC 8461) that ruad serves at
 * https://mta-sts.DOMAIN/.well-known/mta-sts.txt, read from the files the
 * mta_sts_policy setting names and validated at start-up.
 */
#ifndef RUAD_MTA_STS_H
#define RUAD_MTA_STS_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

#define MTA_STS_POLICY_MAX  65536   /* RFC 8461 3.3: 64 KB, then give up */
#define MTA_STS_DOMAINS_MAX 1024
#define MTA_STS_MX_MAX      64      /* mx: lines in one policy */

struct mta_sts_policy {
    char    domain[254];            /* lower case, no trailing dot */
    char   *text;                   /* owned: the file, as served */
    size_t  len;
    char    id[33];                 /* 1*32(ALPHA / DIGIT), RFC 8461 3.1 */
    char    mode[8];                /* enforce, testing or none */
};

struct mta_sts_set {
    struct mta_sts_policy p[MTA_STS_DOMAINS_MAX];
    size_t                n;
};

/*
 * mta_sts_validate - text (len bytes, no NUL needed) as an RFC 8461 3.2
 * policy: version STSv1, mode, max_age (at most 31557600), mx patterns
 * (at least one unless mode is none), extension fields; LF or CRLF line
 * ends.  The mode is copied to mode (8 bytes) when given.  RUAD_MALFORMED
 * with the line and reason in err.
 */
enum ruad_rc mta_sts_validate(const char *text, size_t len, char *mode,
    char *err, size_t errlen);

/*
 * mta_sts_load - read spec, "DOMAIN:FILE[,DOMAIN:FILE...]", validate each
 * policy and derive its id from its bytes (a SHA-256 prefix, so the id
 * changes exactly when the policy does).  "" gives an empty set.  *out
 * is the caller's (mta_sts_free); RUAD_MALFORMED or RUAD_IO with err.
 */
enum ruad_rc mta_sts_load(const char *spec, struct mta_sts_set **out,
    char *err, size_t errlen);

void mta_sts_free(struct mta_sts_set *s);

/* mta_sts_find - the policy of domain (any case), or NULL */
const struct mta_sts_policy *mta_sts_find(const struct mta_sts_set *s,
    const char *domain);

/*
 * mta_sts_for_host - the policy to serve for an HTTP Host header value:
 * "mta-sts.DOMAIN", any case, an optional :port and trailing dot; NULL
 * for any other host.
 */
const struct mta_sts_policy *mta_sts_for_host(const struct mta_sts_set *s,
    const char *host);

#endif /* RUAD_MTA_STS_H */
