/*
 * dnsrec_parse.c - the grammars of published records (see dnsrec.h):
 * names, URIs (RFC 6068 mailto with one addr-spec, RFC 3986 https) and
 * their escaping in a rua list, and the tag lists of DMARC (RFC 7489 6.4
 * and RFC 9990's extra tags), TLSRPT (RFC 8460 3) and MTA-STS (RFC 8461
 * 3.1) records.  Pure functions over memory: the check of dnsrec_check.c
 * reads what DNS answers with them.
 *
 * SECURITY: published records are peer data (anyone can publish
 * anything at names we look up): every parser works on (ptr, len) with
 * fixed caps (DNSREC_TXT_MAX, DNSREC_URIS_MAX) and never writes past
 * its buffers; they are fuzzed (tests/fuzz/fuzz_dnsrec.c).
 */
#include "dnsrec.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dnsrec_priv.h"

/* ---- names and URIs ---- */

/* lower - copy s (without a trailing dot) into out in lower case */
bool
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
bool
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
            !dnsname_host(at + 1, strlen(at + 1), true)) {
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
        if (!dnsname_host(h, (size_t)((colon != NULL ? colon : he) - h),
            true)) {
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

/*
 * record_open - a record's tags (at most 32 in t, *n of them), the first
 * exactly v=version; false with why in err (too long, not tags, another
 * version or none)
 */
static bool
record_open(const char *txt, size_t len, const char *version, struct tag *t,
    size_t *n, char *err, size_t errlen)
{
    size_t vl = strlen(version);

    if (len > DNSREC_TXT_MAX) {
        snprintf(err, errlen, "longer than %d bytes", DNSREC_TXT_MAX);
        return false;
    }
    if (!tags_split(txt, len, t, 32, n, err, errlen))
        return false;
    if (*n == 0 || t[0].nlen != 1 || t[0].name[0] != 'v' ||
        t[0].vlen != vl || memcmp(t[0].value, version, vl) != 0) {
        snprintf(err, errlen, "does not start with v=%s", version);
        return false;
    }
    return true;
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
    /* v=DMARC1 first, exactly (RFC 7489 6.4) */
    if (!record_open(txt, len, "DMARC1", t, &n, err, errlen))
        return RUAD_MALFORMED;
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
    if (!record_open(txt, len, "TLSRPTv1", t, &n, err, errlen))
        return RUAD_MALFORMED;
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

    if (!record_open(txt, len, "STSv1", t, &n, err, errlen))
        return RUAD_MALFORMED;
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
