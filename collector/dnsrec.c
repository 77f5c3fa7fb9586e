/*
 * dnsrec.c - the DNS records that publish a collector, and their check
 * (see dnsrec.h).
 *
 * For each domain D the admin publishes (RFC 7489 6.1, RFC 8460 3):
 *   _dmarc.D                  TXT "v=DMARC1; p=none; rua=mailto:..."
 *   _smtp._tls.D              TXT "v=TLSRPTv1; rua=mailto:...,https://..."
 *   _mta-sts.D                TXT "v=STSv1; id=..."  (when ruad serves it)
 * and in the collector's zone:
 *   D._report._dmarc.H        TXT "v=DMARC1"  (RFC 7489 7.1, when D and
 *                             the mailbox host H have different
 *                             organisational domains; or *._report...)
 *   H                         MX 10 smtp_hostname
 * The mailbox comes from smtp_accept: an address, or for "@host" entries
 * dmarc@host and tlsrpt@host; an entry whose local part starts with
 * "tls" is the TLS reports' address.  URIs are percent-encoded where a
 * rua list needs it: "," and "!" (RFC 7489 6.4, RFC 8460 3) and ";".
 *
 * The check resolves each record and compares: the rua list must hold
 * our address (the one record of its kind, RFC 7489 6.6.3, RFC 8460 3),
 * with the grammar of RFC 7489 6.4 (and RFC 9990's extra tags), RFC 8460
 * 3 and RFC 8461 3.1; URIs per RFC 6068 (one addr-spec) and RFC 3986.
 *
 * SECURITY: published records are peer data (anyone can publish
 * anything at names we look up): every parser works on (ptr, len) with
 * fixed caps (DNSREC_TXT_MAX, DNSREC_URIS_MAX) and never writes past
 * its buffers; they are fuzzed (tests/fuzz/fuzz_dnsrec.c).
 */
#include "dnsrec.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim.h"
#include "mta_sts.h"

/* Names are bounded before they are joined (dn_ok: 253 bytes) and each
 * record's length is checked when it is added (plan_add), so a cut
 * snprintf cannot go unnoticed; GCC cannot see that. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

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

/* pct_ok - a DMARC pct= value: decimal digits only, 0..100 */
static bool
pct_ok(const char *s)
{
    char         *end;
    unsigned long v;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoul(s, &end, 10);
    return errno == 0 && *end == '\0' && v <= 100;
}

/* ---- names and URIs ---- */

/* dn_ok - an LDH host name (letters, digits, hyphens, "_" allowed for
 * service labels), at least two labels; no trailing dot */
static bool
dn_ok(const char *s, size_t len)
{
    size_t i, lab = 0, labels = 1;

    if (len == 0 || len > 253)
        return false;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '.') {
            if (lab == 0 || s[i - 1] == '-')
                return false;
            lab = 0;
            labels++;
            continue;
        }
        if (!(isalnum(c) || c == '-' || c == '_') || lab == 63 ||
            (lab == 0 && c == '-'))
            return false;
        lab++;
    }
    return lab > 0 && s[len - 1] != '-' && labels >= 2;
}

/* lower - copy s (without a trailing dot) into out in lower case */
static bool
lower(const char *s, size_t len, char *out, size_t n)
{
    size_t i;

    while (len > 0 && s[len - 1] == '.')
        len--;
    if (len >= n)
        return false;
    for (i = 0; i < len; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[len] = '\0';
    return true;
}

static bool
is_hex(int c)
{
    return isxdigit(c) != 0;
}

bool
dnsrec_uri_escape(const char *s, char *out, size_t n)
{
    /* RFC 3986 unreserved, sub-delims but , ! ;, and : / ? @ # [ ] */
    static const char keep[] = "-._~$&'()*+=:/?@#[]";
    size_t            o = 0;

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '%' && is_hex((unsigned char)s[1]) &&
            is_hex((unsigned char)s[2])) {
            if (o + 1 >= n)
                return false;
            out[o++] = '%';
        } else if (isalnum(c) || (c != 0 && strchr(keep, c) != NULL)) {
            if (o + 1 >= n)
                return false;
            out[o++] = (char)c;
        } else {
            if (o + 3 >= n)
                return false;
            snprintf(out + o, 4, "%%%02X", c);
            o += 3;
        }
    }
    if (o >= n)
        return false;
    out[o] = '\0';
    return true;
}

/* pct_decode - (s, len) with %XX decoded into out; false if malformed */
static bool
pct_decode(const char *s, size_t len, char *out, size_t n)
{
    size_t i, o = 0;

    for (i = 0; i < len; i++) {
        char c = s[i];

        if (c == '%') {
            char hx[3];

            if (i + 2 >= len || !is_hex((unsigned char)s[i + 1]) ||
                !is_hex((unsigned char)s[i + 2]))
                return false;
            hx[0] = s[i + 1];
            hx[1] = s[i + 2];
            hx[2] = '\0';
            c = (char)strtol(hx, NULL, 16);
            i += 2;
        }
        if (c == '\0' || o + 1 >= n)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

/* uri_chars_ok - RFC 3986 characters only (pct-encoded checked) */
static bool
uri_chars_ok(const char *s, size_t len, char *bad)
{
    static const char other[] = "-._~!$&'()*+,;=:/?@#[]";
    size_t            i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '%') {
            if (i + 2 >= len || !is_hex((unsigned char)s[i + 1]) ||
                !is_hex((unsigned char)s[i + 2])) {
                *bad = '%';
                return false;
            }
            i += 2;
            continue;
        }
        if (!isalnum(c) && (c == 0 || strchr(other, c) == NULL)) {
            *bad = (char)c;
            return false;
        }
    }
    return true;
}

enum ruad_rc
dnsrec_check_uri(const char *uri, size_t len, bool dmarc, char *err,
    size_t errlen)
{
    char        bad = 0, addr[320];
    const char *end = uri + len, *bang, *q, *at;

    if (!uri_chars_ok(uri, len, &bad)) {
        snprintf(err, errlen, "\"%.*s\": character 0x%02x is not allowed "
            "in a URI (RFC 3986)", (int)(len > 200 ? 200 : len), uri,
            (unsigned char)bad);
        return RUAD_MALFORMED;
    }
    /* DMARC's size limit: "!" 1*DIGIT [k/m/g/t] (RFC 7489 6.4) */
    if ((bang = memchr(uri, '!', len)) != NULL) {
        const char *d = bang + 1;

        if (!dmarc) {
            snprintf(err, errlen, "\"%.*s\": \"!\" must be encoded as %%21 "
                "(RFC 8460 3)", (int)(len > 200 ? 200 : len), uri);
            return RUAD_MALFORMED;
        }
        while (d < end && isdigit((unsigned char)*d))
            d++;
        if (d == bang + 1 || (d < end && strchr("kmgtKMGT", *d) != NULL &&
            ++d != end) || d != end) {
            snprintf(err, errlen, "\"%.*s\": bad size limit after \"!\" "
                "(RFC 7489 6.4)", (int)(len > 200 ? 200 : len), uri);
            return RUAD_MALFORMED;
        }
        end = bang;
    }
    if (end - uri > 7 && strncasecmp(uri, "mailto:", 7) == 0) {
        const char *a = uri + 7;
        size_t      alen;

        q = memchr(a, '?', (size_t)(end - a));
        alen = (size_t)((q != NULL ? q : end) - a);
        if (!pct_decode(a, alen, addr, sizeof(addr))) {
            snprintf(err, errlen, "\"%.*s\": bad %%-encoding or too long",
                (int)(len > 200 ? 200 : len), uri);
            return RUAD_MALFORMED;
        }
        if (strchr(addr, ',') != NULL) {
            snprintf(err, errlen, "\"%.*s\": one address per URI",
                (int)(len > 200 ? 200 : len), uri);
            return RUAD_MALFORMED;
        }
        if ((at = strrchr(addr, '@')) == NULL || at == addr ||
            !dn_ok(at + 1, strlen(at + 1))) {
            snprintf(err, errlen, "\"%.*s\": not local@domain (RFC 6068)",
                (int)(len > 200 ? 200 : len), uri);
            return RUAD_MALFORMED;
        }
        for (q = addr; q < at; q++)
            if ((unsigned char)*q <= ' ' || strchr("\"(),:;<>@[\\]", *q)) {
                snprintf(err, errlen, "\"%.*s\": local part needs quoting",
                    (int)(len > 200 ? 200 : len), uri);
                return RUAD_MALFORMED;
            }
        return RUAD_OK;
    }
    if (end - uri > 8 && strncasecmp(uri, "https://", 8) == 0) {
        const char *h = uri + 8, *he, *colon;

        /* (ptr, len): no NUL to stop strcspn */
        for (he = h; he < end && *he != '/' && *he != '?' && *he != '#';
            he++)
            ;
        if (memchr(h, '@', (size_t)(he - h)) != NULL) {
            snprintf(err, errlen, "\"%.*s\": user information in an https "
                "URI", (int)(len > 200 ? 200 : len), uri);
            return RUAD_MALFORMED;
        }
        colon = memchr(h, ':', (size_t)(he - h));
        if (*h != '[' && colon != NULL) {
            const char *d;

            for (d = colon + 1; d < he && isdigit((unsigned char)*d); d++)
                ;
            if (d != he || d == colon + 1) {
                snprintf(err, errlen, "\"%.*s\": bad port",
                    (int)(len > 200 ? 200 : len), uri);
                return RUAD_MALFORMED;
            }
        } else if (*h == '[') {
            colon = memchr(h, ']', (size_t)(he - h));
            if (colon == NULL) {
                snprintf(err, errlen, "\"%.*s\": bad IPv6 address",
                    (int)(len > 200 ? 200 : len), uri);
                return RUAD_MALFORMED;
            }
            return RUAD_OK;
        }
        if (!dn_ok(h, (size_t)((colon != NULL ? colon : he) - h))) {
            bool ip = true;

            for (q = h; q < (colon != NULL ? colon : he); q++)
                if (!isdigit((unsigned char)*q) && *q != '.')
                    ip = false;
            if (!ip || q == h) {
                snprintf(err, errlen, "\"%.*s\": bad host name",
                    (int)(len > 200 ? 200 : len), uri);
                return RUAD_MALFORMED;
            }
        }
        return RUAD_OK;
    }
    snprintf(err, errlen, "\"%.*s\": only mailto: and https: URIs are "
        "used", (int)(len > 200 ? 200 : len), uri);
    return RUAD_MALFORMED;
}

void
dnsrec_uris_free(struct dnsrec_uris *u)
{
    size_t i;

    if (u == NULL)
        return;
    for (i = 0; i < u->n; i++)
        free(u->uri[i]);
    u->n = 0;
}

/* ---- tag lists (RFC 7489 6.4, RFC 8460 3, RFC 8461 3.1) ---- */

struct tag {
    const char *name, *value;
    size_t      nlen, vlen;
};

static bool
is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * tags_split - "name=value; name=value[;]" into at most max tags.  Names
 * are ALPHA *(ALNUM / "_" / "-" / "."); values any printable byte but
 * ";", trimmed.  false with the reason in err.
 */
static bool
tags_split(const char *s, size_t len, struct tag *t, size_t max,
    size_t *n, char *err, size_t errlen)
{
    const char *p = s, *end = s + len, *semi, *eq, *a, *b;

    *n = 0;
    while (p < end) {
        semi = memchr(p, ';', (size_t)(end - p));
        if (semi == NULL)
            semi = end;
        a = p;
        b = semi;
        while (a < b && is_wsp(*a))
            a++;
        while (b > a && is_wsp(b[-1]))
            b--;
        if (a == b) {
            if (semi == end && *n > 0)
                break;                    /* the optional last ";" */
            snprintf(err, errlen, "empty tag%s", *n == 0 ?
                " at the start" : " (\";;\")");
            return false;
        }
        if ((eq = memchr(a, '=', (size_t)(b - a))) == NULL) {
            snprintf(err, errlen, "\"%.*s\" is not tag=value",
                (int)(b - a > 60 ? 60 : b - a), a);
            return false;
        }
        if (*n == max) {
            snprintf(err, errlen, "more than %zu tags", max);
            return false;
        }
        t[*n].name = a;
        t[*n].nlen = (size_t)(eq - a);
        while (t[*n].nlen > 0 && is_wsp(a[t[*n].nlen - 1]))
            t[*n].nlen--;
        t[*n].value = eq + 1;
        while (t[*n].value < b && is_wsp(*t[*n].value))
            t[*n].value++;
        t[*n].vlen = (size_t)(b - t[*n].value);
        if (t[*n].nlen == 0 || !isalpha((unsigned char)a[0])) {
            snprintf(err, errlen, "bad tag name \"%.*s\"",
                (int)(t[*n].nlen > 40 ? 40 : t[*n].nlen), a);
            return false;
        }
        for (size_t i = 0; i < t[*n].nlen; i++)
            if (!isalnum((unsigned char)a[i]) && a[i] != '_' &&
                a[i] != '-' && a[i] != '.') {
                snprintf(err, errlen, "bad tag name \"%.*s\"",
                    (int)(t[*n].nlen > 40 ? 40 : t[*n].nlen), a);
                return false;
            }
        for (size_t i = 0; i < t[*n].vlen; i++) {
            unsigned char c = (unsigned char)t[*n].value[i];

            if ((c < 0x21 && !is_wsp((char)c)) || c == 0x7f) {
                snprintf(err, errlen, "control character in %.*s=",
                    (int)t[*n].nlen, a);
                return false;
            }
        }
        for (size_t k = 0; k < *n; k++)
            if (t[k].nlen == t[*n].nlen &&
                strncasecmp(t[k].name, a, t[k].nlen) == 0) {
                snprintf(err, errlen, "%.*s= given twice", (int)t[k].nlen,
                    a);
                return false;
            }
        (*n)++;
        p = semi < end ? semi + 1 : end;
    }
    return true;
}

static bool
tag_is(const struct tag *t, const char *name)
{
    return t->nlen == strlen(name) && strncasecmp(t->name, name,
        t->nlen) == 0;
}

static bool
val_is(const struct tag *t, const char *v)
{
    return t->vlen == strlen(v) && strncasecmp(t->value, v, t->vlen) == 0;
}

/* uris_split - a rua value: URIs separated by *WSP "," *WSP */
static bool
uris_split(const struct tag *t, bool dmarc, struct dnsrec_uris *out,
    char *err, size_t errlen)
{
    const char *p = t->value, *end = t->value + t->vlen, *c, *a, *b;
    char        msg[400];

    if (out != NULL)
        out->n = 0;
    if (t->vlen == 0) {
        snprintf(err, errlen, "rua= is empty");
        return false;
    }
    for (size_t k = 0; p <= end; k++) {
        if ((c = memchr(p, ',', (size_t)(end - p))) == NULL)
            c = end;
        a = p;
        b = c;
        while (a < b && is_wsp(*a))
            a++;
        while (b > a && is_wsp(b[-1]))
            b--;
        if (k == DNSREC_URIS_MAX) {
            snprintf(err, errlen, "more than %d URIs in rua=",
                DNSREC_URIS_MAX);
            goto bad;
        }
        if (dnsrec_check_uri(a, (size_t)(b - a), dmarc, msg, sizeof(msg)) !=
            RUAD_OK) {
            snprintf(err, errlen, "rua=: %s", msg);
            goto bad;
        }
        if (out != NULL) {
            if ((out->uri[out->n] = strndup(a, (size_t)(b - a))) == NULL) {
                snprintf(err, errlen, "out of memory");
                goto bad;
            }
            out->n++;
        }
        if (c == end)
            break;
        p = c + 1;
    }
    return true;
bad:
    dnsrec_uris_free(out);
    return false;
}

enum ruad_rc
dnsrec_parse_dmarc(const char *txt, size_t len, struct dnsrec_dmarc *out,
    char *err, size_t errlen)
{
    struct tag t[32];
    size_t     n, i;
    bool       have_p = false;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (len > DNSREC_TXT_MAX) {
        snprintf(err, errlen, "longer than %d bytes", DNSREC_TXT_MAX);
        return RUAD_MALFORMED;
    }
    if (!tags_split(txt, len, t, 32, &n, err, errlen))
        return RUAD_MALFORMED;
    /* v=DMARC1 first, exactly (RFC 7489 6.4) */
    if (n == 0 || !tag_is(&t[0], "v") || t[0].vlen != 6 ||
        memcmp(t[0].value, "DMARC1", 6) != 0 || t[0].nlen != 1 ||
        t[0].name[0] != 'v') {
        snprintf(err, errlen, "does not start with v=DMARC1");
        return RUAD_MALFORMED;
    }
    for (i = 1; i < n; i++) {
        if (tag_is(&t[i], "v")) {
            snprintf(err, errlen, "v= is not the first tag only");
            goto bad;
        }
        if (tag_is(&t[i], "p") || tag_is(&t[i], "sp") ||
            tag_is(&t[i], "np")) {
            if (!val_is(&t[i], "none") && !val_is(&t[i], "quarantine") &&
                !val_is(&t[i], "reject")) {
                snprintf(err, errlen, "%.*s=%.*s: not none, quarantine or "
                    "reject", (int)t[i].nlen, t[i].name,
                    (int)(t[i].vlen > 40 ? 40 : t[i].vlen), t[i].value);
                goto bad;
            }
            if (tag_is(&t[i], "p")) {
                have_p = true;
                if (i != 1) {
                    snprintf(err, errlen, "p= must follow v= (RFC 7489 "
                        "6.4)");
                    goto bad;
                }
            }
            if (out != NULL && (tag_is(&t[i], "p") || tag_is(&t[i], "sp")))
                snprintf(tag_is(&t[i], "p") ? out->p : out->sp,
                    sizeof(out->p), "%.*s", (int)t[i].vlen, t[i].value);
        } else if (tag_is(&t[i], "adkim") || tag_is(&t[i], "aspf")) {
            if (!val_is(&t[i], "r") && !val_is(&t[i], "s")) {
                snprintf(err, errlen, "%.*s= must be r or s",
                    (int)t[i].nlen, t[i].name);
                goto bad;
            }
        } else if (tag_is(&t[i], "pct")) {
            unsigned v = 0;
            size_t   k;

            for (k = 0; k < t[i].vlen && k < 4 &&
                isdigit((unsigned char)t[i].value[k]); k++)
                v = v * 10 + (unsigned)(t[i].value[k] - '0');
            if (k == 0 || k != t[i].vlen || v > 100) {
                snprintf(err, errlen, "pct= must be 0..100");
                goto bad;
            }
        } else if (tag_is(&t[i], "ri")) {
            size_t k;

            for (k = 0; k < t[i].vlen &&
                isdigit((unsigned char)t[i].value[k]); k++)
                ;
            if (k == 0 || k != t[i].vlen || k > 10) {
                snprintf(err, errlen, "ri= must be seconds");
                goto bad;
            }
        } else if (tag_is(&t[i], "fo")) {
            size_t k;

            for (k = 0; k < t[i].vlen; k++) {
                char c = t[i].value[k];

                if ((k % 2 == 0 && !strchr("01ds", c)) || c == '\0' ||
                    (k % 2 == 1 && c != ':') || (k + 1 == t[i].vlen &&
                    c == ':')) {
                    snprintf(err, errlen, "fo= must be 0, 1, d or s "
                        "separated by \":\"");
                    goto bad;
                }
            }
            if (t[i].vlen == 0) {
                snprintf(err, errlen, "fo= is empty");
                goto bad;
            }
        } else if (tag_is(&t[i], "t")) {
            if (!val_is(&t[i], "y") && !val_is(&t[i], "n")) {
                snprintf(err, errlen, "t= must be y or n (RFC 9990)");
                goto bad;
            }
        } else if (tag_is(&t[i], "psd")) {
            if (!val_is(&t[i], "y") && !val_is(&t[i], "n") &&
                !val_is(&t[i], "u")) {
                snprintf(err, errlen, "psd= must be y, n or u (RFC 9990)");
                goto bad;
            }
        } else if (tag_is(&t[i], "rua") || tag_is(&t[i], "ruf")) {
            bool rua = tag_is(&t[i], "rua");

            if (!uris_split(&t[i], true, rua && out != NULL ? &out->rua :
                NULL, err, errlen)) {
                if (!rua) {
                    /* keep the message about ruf= */
                    char *r = strstr(err, "rua=");

                    if (r != NULL)
                        r[1] = 'u', r[2] = 'f';
                }
                goto bad;
            }
        }
        /* unknown tags are ignored (RFC 7489 6.3) */
    }
    if (!have_p) {
        snprintf(err, errlen, "p= missing (RFC 7489 6.3)");
        goto bad;
    }
    return RUAD_OK;
bad:
    if (out != NULL)
        dnsrec_uris_free(&out->rua);
    return RUAD_MALFORMED;
}

/* ext_ok - RFC 8460 3 / RFC 8461 3.1 extension field: name and value */
static bool
ext_ok(const struct tag *t)
{
    size_t k;

    if (t->nlen > 32 || t->vlen == 0)
        return false;
    for (k = 0; k < t->vlen; k++) {
        unsigned char c = (unsigned char)t->value[k];

        if (c < 0x21 || c == 0x3d || c > 0x7e)
            return false;
    }
    return true;
}

enum ruad_rc
dnsrec_parse_tlsrpt(const char *txt, size_t len, struct dnsrec_uris *out,
    char *err, size_t errlen)
{
    struct tag t[32];
    size_t     n, i;
    bool       have_rua = false;

    if (out != NULL)
        out->n = 0;
    if (len > DNSREC_TXT_MAX) {
        snprintf(err, errlen, "longer than %d bytes", DNSREC_TXT_MAX);
        return RUAD_MALFORMED;
    }
    if (!tags_split(txt, len, t, 32, &n, err, errlen))
        return RUAD_MALFORMED;
    if (n == 0 || t[0].nlen != 1 || t[0].name[0] != 'v' ||
        t[0].vlen != 8 || memcmp(t[0].value, "TLSRPTv1", 8) != 0) {
        snprintf(err, errlen, "does not start with v=TLSRPTv1");
        return RUAD_MALFORMED;
    }
    for (i = 1; i < n; i++) {
        if (t[i].nlen == 3 && memcmp(t[i].name, "rua", 3) == 0) {
            if (!uris_split(&t[i], false, out, err, errlen))
                return RUAD_MALFORMED;
            have_rua = true;
        } else if (!ext_ok(&t[i]) || tag_is(&t[i], "v")) {
            if (out != NULL)
                dnsrec_uris_free(out);
            snprintf(err, errlen, "bad field %.*s= (RFC 8460 3)",
                (int)(t[i].nlen > 40 ? 40 : t[i].nlen), t[i].name);
            return RUAD_MALFORMED;
        }
    }
    if (!have_rua) {
        snprintf(err, errlen, "rua= missing (RFC 8460 3)");
        return RUAD_MALFORMED;
    }
    return RUAD_OK;
}

enum ruad_rc
dnsrec_parse_sts(const char *txt, size_t len, char id[33], char *err,
    size_t errlen)
{
    struct tag t[32];
    size_t     n, i, k;
    bool       have_id = false;

    if (len > DNSREC_TXT_MAX) {
        snprintf(err, errlen, "longer than %d bytes", DNSREC_TXT_MAX);
        return RUAD_MALFORMED;
    }
    if (!tags_split(txt, len, t, 32, &n, err, errlen))
        return RUAD_MALFORMED;
    if (n == 0 || t[0].nlen != 1 || t[0].name[0] != 'v' ||
        t[0].vlen != 5 || memcmp(t[0].value, "STSv1", 5) != 0) {
        snprintf(err, errlen, "does not start with v=STSv1");
        return RUAD_MALFORMED;
    }
    for (i = 1; i < n; i++) {
        if (t[i].nlen == 2 && memcmp(t[i].name, "id", 2) == 0) {
            for (k = 0; k < t[i].vlen &&
                isalnum((unsigned char)t[i].value[k]); k++)
                ;
            if (k == 0 || k != t[i].vlen || k > 32) {
                snprintf(err, errlen, "id= must be 1 to 32 letters or "
                    "digits (RFC 8461 3.1)");
                return RUAD_MALFORMED;
            }
            if (id != NULL) {
                memcpy(id, t[i].value, k);
                id[k] = '\0';
            }
            have_id = true;
        } else if (!ext_ok(&t[i]) || tag_is(&t[i], "v")) {
            snprintf(err, errlen, "bad field %.*s= (RFC 8461 3.1)",
                (int)(t[i].nlen > 40 ? 40 : t[i].nlen), t[i].name);
            return RUAD_MALFORMED;
        }
    }
    if (!have_id) {
        snprintf(err, errlen, "id= missing (RFC 8461 3.1)");
        return RUAD_MALFORMED;
    }
    return RUAD_OK;
}

/* ---- the plan: which records, from config and options ---- */

static bool
plan_add(struct dr_plan *pl, enum dr_kind kind, const char *domain,
    const char *name, const char *value)
{
    struct dr_rec *r;

    if (pl->n == pl->cap) {
        size_t cap = pl->cap ? pl->cap * 2 : 16;

        if ((r = realloc(pl->rec, cap * sizeof(*r))) == NULL)
            return false;
        pl->rec = r;
        pl->cap = cap;
    }
    r = &pl->rec[pl->n];
    r->kind = kind;
    if ((size_t)snprintf(r->name, sizeof(r->name), "%s", name) >=
        sizeof(r->name) || (size_t)snprintf(r->value, sizeof(r->value),
        "%s", value) >= sizeof(r->value))
        return false;
    snprintf(r->domain, sizeof(r->domain), "%s", domain);
    pl->n++;
    return true;
}

static bool
has_rec(const struct dr_plan *pl, enum dr_kind kind, const char *name)
{
    size_t i;

    for (i = 0; i < pl->n; i++)
        if (pl->rec[i].kind == kind && strcmp(pl->rec[i].name, name) == 0)
            return true;
    return false;
}

/* addr_host - the domain of an address */
static const char *
addr_host(const char *addr)
{
    const char *at = strrchr(addr, '@');

    return at != NULL ? at + 1 : addr;
}

/* pick_addresses - the DMARC and TLS mailboxes from smtp_accept */
static bool
pick_addresses(const char *accept, struct dr_plan *pl, char *err,
    size_t errlen)
{
    const char *p = accept, *e, *a, *b;
    bool        tls_set = false;

    while (*p != '\0') {
        char entry[320], local[320], host[NAME_MAX_LEN + 1];
        const char *at;

        while (*p == ',' || is_wsp(*p))
            p++;
        if (*p == '\0')
            break;
        e = p + strcspn(p, ",");
        a = p;
        b = e;
        while (b > a && is_wsp(b[-1]))
            b--;
        p = e;
        if ((size_t)(b - a) >= sizeof(entry))
            continue;
        memcpy(entry, a, (size_t)(b - a));
        entry[b - a] = '\0';
        if ((at = strrchr(entry, '@')) == NULL ||
            !lower(at + 1, strlen(at + 1), host, sizeof(host)) ||
            !dn_ok(host, strlen(host))) {
            snprintf(err, errlen, "smtp_accept: \"%s\" is not an address "
                "or @domain", entry);
            return false;
        }
        snprintf(local, sizeof(local), "%.*s", (int)(at - entry), entry);
        if (local[0] == '\0') {               /* "@host": any local part */
            if (pl->dmarc_addr[0] == '\0')
                snprintf(pl->dmarc_addr, sizeof(pl->dmarc_addr),
                    "dmarc@%s", host);
            if (!tls_set) {
                snprintf(pl->tls_addr, sizeof(pl->tls_addr), "tlsrpt@%s",
                    host);
                tls_set = true;
            }
            continue;
        }
        if (strncasecmp(local, "tls", 3) == 0) {
            if (!tls_set)
                snprintf(pl->tls_addr, sizeof(pl->tls_addr), "%s@%s",
                    local, host);
            tls_set = true;
        } else if (pl->dmarc_addr[0] == '\0') {
            snprintf(pl->dmarc_addr, sizeof(pl->dmarc_addr), "%s@%s", local,
                host);
        }
    }
    /* one address serves both when only one kind was given */
    if (pl->dmarc_addr[0] == '\0')
        memcpy(pl->dmarc_addr, pl->tls_addr, sizeof(pl->dmarc_addr));
    if (pl->tls_addr[0] == '\0')
        memcpy(pl->tls_addr, pl->dmarc_addr, sizeof(pl->tls_addr));
    return true;
}

/* policy_ok - a DMARC policy value */
static bool
policy_ok(const char *v)
{
    return strcmp(v, "none") == 0 || strcmp(v, "quarantine") == 0 ||
        strcmp(v, "reject") == 0;
}

/* opts_check - the options' values */
static bool
opts_check(const struct dnsrec_opts *o, char *err, size_t errlen)
{
    const char *p = o->p != NULL ? o->p : "none";
    size_t      i;

    if (!policy_ok(p) || (o->sp != NULL && !policy_ok(o->sp))) {
        snprintf(err, errlen, "--p and --sp take none, quarantine or "
            "reject");
        return false;
    }
    if ((o->adkim != NULL && strcmp(o->adkim, "r") != 0 &&
        strcmp(o->adkim, "s") != 0) || (o->aspf != NULL &&
        strcmp(o->aspf, "r") != 0 && strcmp(o->aspf, "s") != 0)) {
        snprintf(err, errlen, "--adkim and --aspf take r or s");
        return false;
    }
    if (o->pct != NULL && !pct_ok(o->pct)) {
        snprintf(err, errlen, "--pct takes 0..100");
        return false;
    }
    if (o->size != NULL) {
        size_t d = strspn(o->size, "0123456789");

        if (d == 0 || d > 12 || (o->size[d] != '\0' &&
            (strchr("kmgt", o->size[d]) == NULL || o->size[d + 1] != '\0'))) {
            snprintf(err, errlen, "--size takes digits and an optional "
                "k, m, g or t (RFC 7489 6.4)");
            return false;
        }
    }
    if (o->n_domains == 0) {
        snprintf(err, errlen, "no --domain given");
        return false;
    }
    for (i = 0; i < o->n_domains; i++) {
        char d[NAME_MAX_LEN + 1];

        if (!lower(o->domains[i], strlen(o->domains[i]), d, sizeof(d)) ||
            !dn_ok(d, strlen(d))) {
            snprintf(err, errlen, "--domain: \"%s\" is not a domain name "
                "(international names as A-labels, xn--...)", o->domains[i]);
            return false;
        }
    }
    return true;
}

/* url_host - the host of an http(s) URL into out */
static bool
url_host(const char *url, char *out, size_t n)
{
    const char *h = strstr(url, "://"), *e;

    if (h == NULL)
        return false;
    h += 3;
    e = h + strcspn(h, ":/?#");
    return e > h && lower(h, (size_t)(e - h), out, n);
}

static void
plan_free(struct dr_plan *pl)
{
    free(pl->rec);
    mta_sts_free(pl->sts);
    memset(pl, 0, sizeof(*pl));
}

/* plan_make - every record for cfg and o, in print order */
static bool
plan_make(const struct config *cfg, const struct dnsrec_opts *o,
    struct dr_plan *pl, char *err, size_t errlen)
{
    char   v[VALUE_MAX], name[NAME_MAX_LEN + 2], esc[800], d[256];
    char   host[NAME_MAX_LEN + 1], urlhost[NAME_MAX_LEN + 1];
    size_t i;
    bool   any_auth = false;

    memset(pl, 0, sizeof(*pl));
    if (!opts_check(o, err, errlen) ||
        !pick_addresses(cfg->smtp_accept, pl, err, errlen))
        return false;
    if (pl->dmarc_addr[0] == '\0' && cfg->public_url[0] == '\0') {
        snprintf(err, errlen, "set smtp_accept (the mailbox reports go "
            "to) or public_url (https TLS reports)");
        return false;
    }
    if (cfg->public_url[0] != '\0') {
        size_t ul = strlen(cfg->public_url);
        char   url[800];

        if (strncmp(cfg->public_url, "https://", 8) != 0 ||
            !url_host(cfg->public_url, urlhost, sizeof(urlhost))) {
            snprintf(err, errlen, "public_url: \"%s\" is not an https:// "
                "URL", cfg->public_url);
            return false;
        }
        snprintf(url, sizeof(url), "%.*s/tlsrpt", (int)(ul > 0 &&
            cfg->public_url[ul - 1] == '/' ? ul - 1 : ul), cfg->public_url);
        if (!dnsrec_uri_escape(url, pl->https_uri, sizeof(pl->https_uri)) ||
            dnsrec_check_uri(pl->https_uri, strlen(pl->https_uri), false,
            err, errlen) != RUAD_OK)
            return false;
    }
    if (!lower(cfg->smtp_hostname, strlen(cfg->smtp_hostname),
        pl->hostname, sizeof(pl->hostname)))
        pl->hostname[0] = '\0';
    /* the MX (and the mta-sts CNAME) point at it: a bare host name from
     * gethostname() would publish a name nobody can resolve */
    if (pl->dmarc_addr[0] != '\0' && !dn_ok(pl->hostname,
        strlen(pl->hostname))) {
        snprintf(err, errlen, "smtp_hostname: \"%s\" is not a fully "
            "qualified name; set it to the public name of this host (the "
            "MX record points to it)", cfg->smtp_hostname);
        return false;
    }
    if (pl->dmarc_addr[0] != '\0') {
        if (!dnsrec_uri_escape(pl->dmarc_addr, esc, sizeof(esc))) {
            snprintf(err, errlen, "smtp_accept: address too long");
            return false;
        }
        snprintf(pl->dmarc_uri, sizeof(pl->dmarc_uri), "mailto:%s%s%s",
            esc, o->size != NULL ? "!" : "", o->size != NULL ? o->size : "");
        dnsrec_uri_escape(pl->tls_addr, esc, sizeof(esc));
        snprintf(pl->tls_uris, sizeof(pl->tls_uris), "mailto:%s%s%s", esc,
            pl->https_uri[0] ? "," : "", pl->https_uri);
    } else {
        snprintf(pl->tls_uris, sizeof(pl->tls_uris), "%s", pl->https_uri);
    }
    if (mta_sts_load(cfg->mta_sts_policy, &pl->sts, err, errlen) !=
        RUAD_OK)
        return false;

    for (i = 0; i < o->n_domains; i++) {
        const struct mta_sts_policy *sts;

        lower(o->domains[i], strlen(o->domains[i]), d, sizeof(d));
        if (pl->dmarc_uri[0] != '\0') {
            int k = snprintf(v, sizeof(v), "v=DMARC1; p=%s",
                o->p != NULL ? o->p : "none");
            if (o->sp != NULL)
                k += snprintf(v + k, sizeof(v) - (size_t)k, "; sp=%s", o->sp);
            if (o->adkim != NULL)
                k += snprintf(v + k, sizeof(v) - (size_t)k, "; adkim=%s",
                    o->adkim);
            if (o->aspf != NULL)
                k += snprintf(v + k, sizeof(v) - (size_t)k, "; aspf=%s",
                    o->aspf);
            if (o->pct != NULL)
                k += snprintf(v + k, sizeof(v) - (size_t)k, "; pct=%s",
                    o->pct);
            snprintf(v + k, sizeof(v) - (size_t)k, "; rua=%s",
                pl->dmarc_uri);
            snprintf(name, sizeof(name), "_dmarc.%s", d);
            if (!plan_add(pl, DR_DMARC, d, name, v))
                goto nomem;
        }
        snprintf(v, sizeof(v), "v=TLSRPTv1; rua=%s", pl->tls_uris);
        snprintf(name, sizeof(name), "_smtp._tls.%s", d);
        if (!plan_add(pl, DR_TLSRPT, d, name, v))
            goto nomem;
        if ((sts = mta_sts_find(pl->sts, d)) != NULL) {
            snprintf(v, sizeof(v), "v=STSv1; id=%s", sts->id);
            snprintf(name, sizeof(name), "_mta-sts.%s", d);
            if (!plan_add(pl, DR_STS, d, name, v))
                goto nomem;
            snprintf(name, sizeof(name), "mta-sts.%s", d);
            if (!plan_add(pl, DR_STS_HOST, d, name, cfg->public_url[0] ?
                urlhost : pl->hostname))
                goto nomem;
        }
    }
    /* RFC 7489 7.1: the collector's zone vouches for each domain */
    if (pl->dmarc_addr[0] != '\0') {
        snprintf(host, sizeof(host), "%s", addr_host(pl->dmarc_addr));
        for (i = 0; i < o->n_domains; i++) {
            lower(o->domains[i], strlen(o->domains[i]), d, sizeof(d));
            if (dkim_aligned(d, host))
                continue;
            any_auth = true;
            if (o->wildcard)
                continue;
            if ((size_t)snprintf(name, sizeof(name), "%s._report._dmarc.%s",
                d, host) >= sizeof(name)) {
                snprintf(err, errlen, "%s._report._dmarc.%s: longer than "
                    "a DNS name may be", d, host);
                plan_free(pl);
                return false;
            }
            if (!has_rec(pl, DR_AUTH, name) &&
                !plan_add(pl, DR_AUTH, d, name, "v=DMARC1"))
                goto nomem;
        }
        if (any_auth && o->wildcard) {
            snprintf(name, sizeof(name), "*._report._dmarc.%s", host);
            if (!plan_add(pl, DR_AUTH, "*", name, "v=DMARC1"))
                goto nomem;
        }
        /* the mail host of each mailbox domain */
        if (pl->hostname[0] != '\0') {
            const char *hosts[2] = { addr_host(pl->dmarc_addr),
                addr_host(pl->tls_addr) };
            int         k;

            for (k = 0; k < 2; k++)
                if (!has_rec(pl, DR_MX, hosts[k]) &&
                    !plan_add(pl, DR_MX, hosts[k], hosts[k], pl->hostname))
                    goto nomem;
        }
    }
    return true;
nomem:
    snprintf(err, errlen, "a record is too long or out of memory");
    plan_free(pl);
    return false;
}

/* ---- printing ---- */

/* print_txt - a TXT value as zone-file strings of at most 255 bytes */
static void
print_txt(FILE *f, const char *v)
{
    size_t len = strlen(v), i, k;

    for (i = 0; i == 0 || i < len; i += 255) {
        fputs(i == 0 ? "\"" : " \"", f);
        for (k = i; k < len && k < i + 255; k++) {
            if (v[k] == '"' || v[k] == '\\')
                fputc('\\', f);
            fputc(v[k], f);
        }
        fputc('"', f);
        if (len == 0)
            break;
    }
}

enum ruad_rc
dnsrec_print(const struct config *cfg, const struct dnsrec_opts *o,
    FILE *f, char *err, size_t errlen)
{
    struct dr_plan pl;
    size_t         i;
    const char    *zone = NULL;
    bool           coll = false;

    if (!plan_make(cfg, o, &pl, err, errlen))
        return RUAD_MALFORMED;
    for (i = 0; i < pl.n; i++) {
        const struct dr_rec *r = &pl.rec[i];

        if (r->kind == DR_AUTH || r->kind == DR_MX) {
            if (!coll) {
                fprintf(f, "%s; in the collector's zone (%s)\n",
                    i > 0 ? "\n" : "", addr_host(pl.dmarc_addr));
                coll = true;
            }
        } else if (zone == NULL || strcmp(zone, r->domain) != 0) {
            fprintf(f, "%s; %s\n", i > 0 ? "\n" : "", r->domain);
            zone = r->domain;
        }
        switch (r->kind) {
        case DR_STS_HOST:
            fprintf(f, "; https://%s/.well-known/mta-sts.txt is served by "
                "ruad: point the name at it\n%s. IN CNAME %s.\n", r->name,
                r->name, r->value);
            break;
        case DR_AUTH:
            if (r->domain[0] == '*')
                fprintf(f, "; reports for any domain may come here "
                    "(RFC 7489 7.1)\n");
            else
                fprintf(f, "; reports for %s may come here (RFC 7489 7.1)\n",
                    r->domain);
            fprintf(f, "%s. IN TXT ", r->name);
            print_txt(f, r->value);
            fputc('\n', f);
            break;
        case DR_MX:
            fprintf(f, "%s. IN MX 10 %s.\n", r->name, r->value);
            break;
        default:
            fprintf(f, "%s. IN TXT ", r->name);
            print_txt(f, r->value);
            fputc('\n', f);
        }
    }
    plan_free(&pl);
    return RUAD_OK;
}

/* ---- checking ---- */

static void
free_list(char **l, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

/* version_is - the record starts with "v=VER" then ";", blanks or end */
static bool
version_is(const char *txt, const char *ver)
{
    size_t n = strlen(ver);

    if (strncmp(txt, "v=", 2) != 0 || strncmp(txt + 2, ver, n) != 0)
        return false;
    txt += 2 + n;
    while (is_wsp(*txt))
        txt++;
    return *txt == ';' || *txt == '\0';
}

/* uri_addr - the decoded, lower-cased address of a mailto URI ("" else) */
static void
uri_addr(const char *uri, char *out, size_t n)
{
    size_t len;

    out[0] = '\0';
    if (strncasecmp(uri, "mailto:", 7) != 0)
        return;
    uri += 7;
    len = strcspn(uri, "!?");
    if (!pct_decode(uri, len, out, n))
        out[0] = '\0';
    for (char *p = out; *p; p++)
        *p = (char)tolower((unsigned char)*p);
}

/* uris_have - the list holds the URI want (mailto by address; https by
 * the URI, case-insensitive in scheme and host) */
static bool
uris_have(const struct dnsrec_uris *u, const char *want)
{
    char   a[320], b[320];
    size_t i;

    uri_addr(want, b, sizeof(b));
    for (i = 0; i < u->n; i++) {
        if (b[0] != '\0') {
            uri_addr(u->uri[i], a, sizeof(a));
            if (strcmp(a, b) == 0)
                return true;
        } else if (strcasecmp(u->uri[i], want) == 0) {
            return true;
        }
    }
    return false;
}

static void
uris_join(const struct dnsrec_uris *u, char *out, size_t n)
{
    size_t i, o = 0;

    out[0] = '\0';
    for (i = 0; i < u->n && o < n; i++)
        o += (size_t)snprintf(out + o, n - o, "%s%s", i ? "," : "",
            u->uri[i]);
}

struct ck {
    FILE     *f;
    unsigned  bad;
    bool      tempfail;
};

static void
say(struct ck *c, const char *status, const char *name, const char *type,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
say(struct ck *c, const char *status, const char *name, const char *type,
    const char *fmt, ...)
{
    va_list ap;

    fprintf(c->f, "%-9s %s %s: ", status, name, type);
    va_start(ap, fmt);
    vfprintf(c->f, fmt, ap);
    va_end(ap);
    fputc('\n', c->f);
    if (strcmp(status, "ok") != 0 && strcmp(status, "info") != 0)
        c->bad++;
}

/* get_txt - the records at name that start with v=ver */
static enum ruad_rc
get_txt(const struct dnsrec_lookup *lk, struct ck *c, const char *name,
    const char *ver, char ***recs, size_t *n)
{
    char       **all;
    size_t       na, i;
    enum ruad_rc rc;

    *recs = NULL;
    *n = 0;
    rc = lk->txt(lk->ctx, name, &all, &na);
    if (rc == RUAD_EOF)
        return RUAD_OK;
    if (rc != RUAD_OK) {
        say(c, "tempfail", name, "TXT", "no answer from DNS (%s)",
            ruad_rc_str(rc));
        c->tempfail = true;
        return rc;
    }
    for (i = 0; i < na; i++)
        if (version_is(all[i], ver)) {
            all[(*n)++] = all[i];
        } else {
            free(all[i]);
        }
    *recs = all;
    return RUAD_OK;
}

static void
check_dmarc(const struct dnsrec_lookup *lk, struct ck *c,
    const struct dr_plan *pl, const struct dr_rec *r)
{
    struct dnsrec_dmarc dm;
    char              **recs, msg[400], have[1200];
    size_t              n;

    if (get_txt(lk, c, r->name, "DMARC1", &recs, &n) != RUAD_OK)
        return;
    if (n == 0)
        say(c, "missing", r->name, "TXT", "publish \"%s\"", r->value);
    else if (n > 1)
        say(c, "error", r->name, "TXT", "%zu DMARC records: receivers use "
            "none of them (RFC 7489 6.6.3)", n);
    else if (dnsrec_parse_dmarc(recs[0], strlen(recs[0]), &dm, msg,
        sizeof(msg)) != RUAD_OK)
        say(c, "error", r->name, "TXT", "syntax: %s in \"%s\"", msg,
            recs[0]);
    else {
        uris_join(&dm.rua, have, sizeof(have));
        if (dm.rua.n == 0)
            say(c, "different", r->name, "TXT", "no rua=: add rua=%s",
                pl->dmarc_uri);
        else if (!uris_have(&dm.rua, pl->dmarc_uri))
            say(c, "different", r->name, "TXT", "rua=%s does not point "
                "here: add %s", have, pl->dmarc_uri);
        else
            say(c, "ok", r->name, "TXT", "p=%s rua=%s", dm.p, have);
        dnsrec_uris_free(&dm.rua);
    }
    free_list(recs, n);
}

static void
check_tlsrpt(const struct dnsrec_lookup *lk, struct ck *c,
    const struct dr_plan *pl, const struct dr_rec *r)
{
    struct dnsrec_uris u = { .n = 0 };
    char             **recs, msg[400], have[1200], want[1200];
    char               mailto[800];
    size_t             n;

    if (get_txt(lk, c, r->name, "TLSRPTv1", &recs, &n) != RUAD_OK)
        return;
    if (n == 0)
        say(c, "missing", r->name, "TXT", "publish \"%s\"", r->value);
    else if (n > 1)
        say(c, "error", r->name, "TXT", "%zu TLSRPT records: senders use "
            "none of them (RFC 8460 3)", n);
    else if (dnsrec_parse_tlsrpt(recs[0], strlen(recs[0]), &u, msg,
        sizeof(msg)) != RUAD_OK)
        say(c, "error", r->name, "TXT", "syntax: %s in \"%s\"", msg,
            recs[0]);
    else {
        size_t o = 0;

        uris_join(&u, have, sizeof(have));
        want[0] = '\0';
        snprintf(mailto, sizeof(mailto), "%.*s", (int)strcspn(pl->tls_uris,
            ","), pl->tls_uris);
        if (pl->dmarc_addr[0] != '\0' && !uris_have(&u, mailto))
            o += (size_t)snprintf(want + o, sizeof(want) - o, "%s", mailto);
        if (pl->https_uri[0] != '\0' && !uris_have(&u, pl->https_uri))
            snprintf(want + o, sizeof(want) - o, "%s%s", o ? " and " : "",
                pl->https_uri);
        if (want[0] != '\0')
            say(c, "different", r->name, "TXT", "rua=%s lacks %s", have,
                want);
        else
            say(c, "ok", r->name, "TXT", "rua=%s", have);
        dnsrec_uris_free(&u);
    }
    free_list(recs, n);
}

static void
check_auth(const struct dnsrec_lookup *lk, struct ck *c,
    const struct dr_rec *r)
{
    char **recs;
    size_t n;

    if (get_txt(lk, c, r->name, "DMARC1", &recs, &n) != RUAD_OK)
        return;
    if (n == 0)
        say(c, "missing", r->name, "TXT", "publish \"v=DMARC1\": without it "
            "reporters drop the reports for %s (RFC 7489 7.1)", r->domain);
    else
        say(c, "ok", r->name, "TXT", "reports for %s may come here",
            r->domain);
    free_list(recs, n);
}

static void
check_mx(const struct dnsrec_lookup *lk, struct ck *c,
    const struct dr_rec *r)
{
    char       **hosts, have[1200], h[NAME_MAX_LEN + 1];
    size_t       n, i, o = 0;
    bool         found = false;
    enum ruad_rc rc;

    rc = lk->mx(lk->ctx, r->name, &hosts, &n);
    if (rc == RUAD_TEMPFAIL || rc == RUAD_NOMEM) {
        say(c, "tempfail", r->name, "MX", "no answer from DNS");
        c->tempfail = true;
        return;
    }
    if (rc == RUAD_EOF)
        n = 0, hosts = NULL;
    have[0] = '\0';
    for (i = 0; i < n; i++) {
        lower(hosts[i], strlen(hosts[i]), h, sizeof(h));
        if (strcmp(h, r->value) == 0)
            found = true;
        if (o < sizeof(have))
            o += (size_t)snprintf(have + o, sizeof(have) - o, "%s%s",
                i ? " " : "", h);
    }
    if (n == 0)
        say(c, "missing", r->name, "MX", "publish \"10 %s.\"", r->value);
    else if (!found)
        say(c, "different", r->name, "MX", "points to %s, not %s", have,
            r->value);
    else
        say(c, "ok", r->name, "MX", "%s", have);
    free_list(hosts, n);
}

/* check_sts - _mta-sts TXT, judged only when ruad serves the policy */
static void
check_sts(const struct dnsrec_lookup *lk, struct ck *c,
    const struct dr_plan *pl, const char *d)
{
    const struct mta_sts_policy *mine = mta_sts_find(pl->sts, d);
    char                         name[NAME_MAX_LEN + 2], id[33], msg[300];
    char                       **recs;
    size_t                       n;

    snprintf(name, sizeof(name), "_mta-sts.%s", d);
    if (get_txt(lk, c, name, "STSv1", &recs, &n) != RUAD_OK)
        return;
    if (n == 0)
        say(c, mine ? "missing" : "info", name, "TXT", mine ?
            "publish \"v=STSv1; id=%s\"" : "none (no MTA-STS)%s",
            mine ? mine->id : "");
    else if (n > 1)
        say(c, "error", name, "TXT", "%zu MTA-STS records: senders use "
            "none of them (RFC 8461 3.1)", n);
    else if (dnsrec_parse_sts(recs[0], strlen(recs[0]), id, msg,
        sizeof(msg)) != RUAD_OK)
        say(c, "error", name, "TXT", "syntax: %s in \"%s\"", msg, recs[0]);
    else if (mine == NULL)
        say(c, "info", name, "TXT", "id=%s (the policy is served "
            "elsewhere)", id);
    else if (strcmp(id, mine->id) != 0)
        say(c, "different", name, "TXT", "id=%s, but the policy served "
            "has id=%s: publish \"v=STSv1; id=%s\"", id, mine->id, mine->id);
    else
        say(c, "ok", name, "TXT", "id=%s mode=%s", id, mine->mode);
    free_list(recs, n);
}

/* check_sts_host - mta-sts.D must lead here for the policy to be read */
static void
check_sts_host(const struct dnsrec_lookup *lk, struct ck *c,
    const struct dr_rec *r)
{
    size_t       n = 0;
    enum ruad_rc rc = lk->addrs(lk->ctx, r->name, &n);

    if (rc == RUAD_TEMPFAIL || rc == RUAD_NOMEM) {
        say(c, "tempfail", r->name, "A", "no answer from DNS");
        c->tempfail = true;
    } else if (n == 0) {
        say(c, "missing", r->name, "A", "no address: publish \"%s. IN "
            "CNAME %s.\" (senders fetch the policy from it)", r->name,
            r->value);
    } else {
        say(c, "ok", r->name, "A", "%zu address%s (the policy host)", n,
            n == 1 ? "" : "es");
    }
}

/* check_dane - TLSA records of the domain's MX hosts (RFC 7672) */
static void
check_dane(const struct dnsrec_lookup *lk, struct ck *c, const char *d)
{
    char       **hosts, name[NAME_MAX_LEN + 2], h[NAME_MAX_LEN + 1];
    size_t       n, i, nt;
    enum ruad_rc rc;

    rc = lk->mx(lk->ctx, d, &hosts, &n);
    if (rc == RUAD_TEMPFAIL || rc == RUAD_NOMEM) {
        say(c, "tempfail", d, "MX", "no answer from DNS");
        c->tempfail = true;
        return;
    }
    if (rc == RUAD_EOF || n == 0) {
        say(c, "info", d, "MX", "none (mail goes to the address records)");
        if (rc == RUAD_OK)
            free_list(hosts, n);
        return;
    }
    for (i = 0; i < n && i < 10; i++) {
        lower(hosts[i], strlen(hosts[i]), h, sizeof(h));
        if ((size_t)snprintf(name, sizeof(name), "_25._tcp.%s", h) >=
            sizeof(name))
            continue;
        rc = lk->tlsa(lk->ctx, name, &nt);
        if (rc == RUAD_TEMPFAIL || rc == RUAD_NOMEM) {
            say(c, "tempfail", name, "TLSA", "no answer from DNS");
            c->tempfail = true;
        } else if (rc == RUAD_EOF || nt == 0) {
            say(c, "info", name, "TLSA", "none (no DANE for MX %s)", h);
        } else {
            say(c, "info", name, "TLSA", "%zu record%s (DANE, RFC 7672)",
                nt, nt == 1 ? "" : "s");
        }
    }
    free_list(hosts, n);
}

enum ruad_rc
dnsrec_check(const struct config *cfg, const struct dnsrec_opts *o,
    const struct dnsrec_lookup *lk, FILE *f, unsigned *bad, char *err,
    size_t errlen)
{
    struct dr_plan pl;
    struct ck      c = { .f = f, .bad = 0, .tempfail = false };
    size_t         i;

    if (!plan_make(cfg, o, &pl, err, errlen))
        return RUAD_MALFORMED;
    /* after one unanswered query the rest would only wait as long */
    for (i = 0; i < pl.n && !c.tempfail; i++) {
        const struct dr_rec *r = &pl.rec[i];

        switch (r->kind) {
        case DR_DMARC:
            check_dmarc(lk, &c, &pl, r);
            break;
        case DR_TLSRPT:
            check_tlsrpt(lk, &c, &pl, r);
            check_sts(lk, &c, &pl, r->domain);
            check_dane(lk, &c, r->domain);
            break;
        case DR_AUTH:
            check_auth(lk, &c, r);
            break;
        case DR_MX:
            check_mx(lk, &c, r);
            break;
        case DR_STS_HOST:
            check_sts_host(lk, &c, r);
            break;
        default:
            break;              /* _mta-sts: with its domain above */
        }
    }
    plan_free(&pl);
    *bad = c.bad;
    return c.tempfail ? RUAD_TEMPFAIL : RUAD_OK;
}
