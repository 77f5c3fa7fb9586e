/*
 * mta_sts.c - MTA-STS policy files (see mta_sts.h).
 *
 * RFC 8461 3.2 grammar: "field: value" lines ending in LF or CRLF;
 * version (STSv1), mode (enforce, testing, none), max_age (1*10 DIGIT, at
 * most 31557600 s), mx (["*."] domain, repeated; required unless mode is
 * none) and extension fields (1*32 name characters).  A field other than
 * mx given twice is refused: senders take the first, the admin probably
 * meant the second.  The id published in _mta-sts TXT (RFC 8461 3.1)
 * is the first 32 hex digits of the policy's SHA-256, so publishing the
 * id ruad prints is enough to make senders fetch a changed policy.
 *
 * SECURITY: the files are the admin's; they are still bounded (64 KiB,
 * RFC 8461 3.3) and checked byte by byte, and served only as they are.
 */
#include "mta_sts.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "config.h"
#include "dnsname.h"

#define STS_MAX_AGE_MAX 31557600u   /* RFC 8461 3.2: about a year */

enum ruad_rc
mta_sts_validate(const char *text, size_t len, char *mode, char *err,
    size_t errlen)
{
    const char *p = text, *end = text + len, *nl, *colon, *v, *ve;
    unsigned    lineno = 0, n_mx = 0;
    bool        have_version = false, have_mode = false, have_age = false;
    char        m[8] = "";

    if (len > MTA_STS_POLICY_MAX) {
        snprintf(err, errlen, "longer than %u bytes (RFC 8461 3.3)",
            MTA_STS_POLICY_MAX);
        return RUAD_MALFORMED;
    }
    while (p < end) {
        size_t nlen;

        lineno++;
        if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
            nl = end;                    /* the last term is optional */
        ve = nl > p && nl[-1] == '\r' && nl < end ? nl - 1 : nl;
        if (ve == p) {
            snprintf(err, errlen, "line %u: empty line", lineno);
            return RUAD_MALFORMED;
        }
        if ((colon = memchr(p, ':', (size_t)(ve - p))) == NULL) {
            snprintf(err, errlen, "line %u: expected \"field: value\"",
                lineno);
            return RUAD_MALFORMED;
        }
        nlen = (size_t)(colon - p);
        for (v = p; v < colon; v++)
            if (!isalnum((unsigned char)*v) && (v == p || (*v != '_' &&
                *v != '-' && *v != '.')))
                break;
        if (nlen == 0 || nlen > 32 || v != colon) {
            snprintf(err, errlen, "line %u: bad field name", lineno);
            return RUAD_MALFORMED;
        }
        v = colon + 1;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        /* trailing blanks belong to the record's *WSP, not the value */
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        if (v == ve) {
            snprintf(err, errlen, "line %u: %.*s has no value", lineno,
                (int)nlen, p);
            return RUAD_MALFORMED;
        }
        for (const char *q = v; q < ve; q++)
            if ((unsigned char)*q < 0x20 && *q != '\t') {
                snprintf(err, errlen, "line %u: control character",
                    lineno);
                return RUAD_MALFORMED;
            } else if (*q == 0x7f) {
                snprintf(err, errlen, "line %u: control character",
                    lineno);
                return RUAD_MALFORMED;
            }
#define FIELD(s) (nlen == sizeof(s) - 1 && memcmp(p, s, nlen) == 0)
#define VALUE(s) ((size_t)(ve - v) == sizeof(s) - 1 && \
    memcmp(v, s, sizeof(s) - 1) == 0)
        if (FIELD("version")) {
            if (have_version || !VALUE("STSv1")) {
                snprintf(err, errlen, "line %u: %s", lineno, have_version ?
                    "version given twice" : "version must be STSv1");
                return RUAD_MALFORMED;
            }
            have_version = true;
        } else if (FIELD("mode")) {
            if (have_mode || !(VALUE("enforce") || VALUE("testing") ||
                VALUE("none"))) {
                snprintf(err, errlen, "line %u: %s", lineno, have_mode ?
                    "mode given twice" :
                    "mode must be enforce, testing or none");
                return RUAD_MALFORMED;
            }
            snprintf(m, sizeof(m), "%.*s", (int)(ve - v), v);
            have_mode = true;
        } else if (FIELD("max_age")) {
            unsigned long long a = 0;
            const char        *q;

            for (q = v; q < ve && isdigit((unsigned char)*q); q++)
                a = a * 10 + (unsigned)(*q - '0');
            if (have_age || q != ve || ve - v > 10 || a > STS_MAX_AGE_MAX) {
                snprintf(err, errlen, "line %u: %s", lineno, have_age ?
                    "max_age given twice" :
                    "max_age must be seconds, at most 31557600");
                return RUAD_MALFORMED;
            }
            have_age = true;
        } else if (FIELD("mx")) {
            const char *d = v;

            if (ve - v > 2 && v[0] == '*' && v[1] == '.')
                d += 2;
            if (!dnsname_host(d, (size_t)(ve - d), false) ||
                ++n_mx > MTA_STS_MX_MAX) {
                snprintf(err, errlen, "line %u: mx must be a host name or "
                    "*.domain (at most %d)", lineno, MTA_STS_MX_MAX);
                return RUAD_MALFORMED;
            }
        }
#undef FIELD
#undef VALUE
        p = nl < end ? nl + 1 : end;
    }
    if (!have_version || !have_mode || !have_age) {
        snprintf(err, errlen, "%s missing (RFC 8461 3.2)", !have_version ?
            "version" : !have_mode ? "mode" : "max_age");
        return RUAD_MALFORMED;
    }
    if (n_mx == 0 && strcmp(m, "none") != 0) {
        snprintf(err, errlen, "no mx (required unless mode is none)");
        return RUAD_MALFORMED;
    }
    if (mode != NULL)
        memcpy(mode, m, sizeof(m));
    return RUAD_OK;
}

/* read_policy - the whole file, at most MTA_STS_POLICY_MAX bytes */
static char *
read_policy(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE  *f = fopen(path, "rb");
    char  *b;
    size_t n;

    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if ((b = malloc(MTA_STS_POLICY_MAX + 1)) == NULL) {
        fclose(f);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    n = fread(b, 1, MTA_STS_POLICY_MAX + 1, f);
    if (ferror(f) || n > MTA_STS_POLICY_MAX) {
        snprintf(err, errlen, "%s: %s", path, ferror(f) ? "read error" :
            "longer than 64 KiB (RFC 8461 3.3)");
        fclose(f);
        free(b);
        return NULL;
    }
    fclose(f);
    b[n] = '\0';
    *len = n;
    return b;
}

/* policy_id - the first 32 hex digits of SHA-256(text) */
static bool
policy_id(const char *text, size_t len, char id[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int  mdlen = 0;
    size_t        i;

    if (EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
        mdlen < 16)
        return false;
    for (i = 0; i < 16; i++)
        snprintf(id + 2 * i, 3, "%02x", md[i]);
    return true;
}

enum ruad_rc
mta_sts_load(const char *spec, struct mta_sts_set **out, char *err,
    size_t errlen)
{
    struct mta_sts_set *s = calloc(1, sizeof(*s));
    const char         *p = spec, *a, *colon;
    char                path[1024], msg[256];
    size_t              n;

    *out = NULL;
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return RUAD_NOMEM;
    }
    while (config_list_next(&p, &a, &n)) {
        struct mta_sts_policy *pol;
        const char            *b = a + n;
        size_t                 i;

        if ((colon = memchr(a, ':', (size_t)(b - a))) == NULL ||
            colon == a || colon + 1 == b) {
            snprintf(err, errlen, "mta_sts_policy: \"%.*s\" is not "
                "DOMAIN:FILE", (int)(b - a), a);
            goto bad;
        }
        if (s->n == MTA_STS_DOMAINS_MAX) {
            snprintf(err, errlen, "mta_sts_policy: more than %d domains",
                MTA_STS_DOMAINS_MAX);
            goto bad;
        }
        pol = &s->p[s->n];
        if ((size_t)(colon - a) >= sizeof(pol->domain) ||
            !dnsname_host(a, (size_t)(colon - a), false)) {
            snprintf(err, errlen, "mta_sts_policy: \"%.*s\" is not a "
                "domain name", (int)(colon - a), a);
            goto bad;
        }
        for (i = 0; a + i < colon; i++)
            pol->domain[i] = (char)tolower((unsigned char)a[i]);
        pol->domain[i] = '\0';
        if (mta_sts_find(s, pol->domain) != NULL) {
            snprintf(err, errlen, "mta_sts_policy: %s given twice",
                pol->domain);
            goto bad;
        }
        snprintf(path, sizeof(path), "%.*s", (int)(b - colon - 1),
            colon + 1);
        if ((pol->text = read_policy(path, &pol->len, err, errlen)) ==
            NULL) {
            mta_sts_free(s);
            return RUAD_IO;
        }
        s->n++;
        if (mta_sts_validate(pol->text, pol->len, pol->mode, msg,
            sizeof(msg)) != RUAD_OK) {
            snprintf(err, errlen, "mta_sts_policy: %s: %s", path, msg);
            goto bad;
        }
        if (!policy_id(pol->text, pol->len, pol->id)) {
            snprintf(err, errlen, "mta_sts_policy: cannot hash %s", path);
            goto bad;
        }
    }
    *out = s;
    return RUAD_OK;
bad:
    mta_sts_free(s);
    return RUAD_MALFORMED;
}

void
mta_sts_free(struct mta_sts_set *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < s->n; i++)
        free(s->p[i].text);
    free(s);
}

const struct mta_sts_policy *
mta_sts_find(const struct mta_sts_set *s, const char *domain)
{
    size_t i, n = strlen(domain);

    while (n > 0 && domain[n - 1] == '.')
        n--;
    for (i = 0; s != NULL && i < s->n; i++)
        if (strlen(s->p[i].domain) == n &&
            strncasecmp(s->p[i].domain, domain, n) == 0)
            return &s->p[i];
    return NULL;
}

const struct mta_sts_policy *
mta_sts_for_host(const struct mta_sts_set *s, const char *host)
{
    char   h[256];
    size_t n;

    if (s == NULL || host == NULL || strncasecmp(host, "mta-sts.", 8) != 0)
        return NULL;
    n = strcspn(host + 8, ":");
    if (n == 0 || n >= sizeof(h))
        return NULL;
    memcpy(h, host + 8, n);
    h[n] = '\0';
    if (host[8 + n] == ':') {            /* a port: digits only */
        const char *q = host + 9 + n;

        if (*q == '\0' || strspn(q, "0123456789") != strlen(q))
            return NULL;
    }
    return mta_sts_find(s, h);
}
