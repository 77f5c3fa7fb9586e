/*
 * dkim.c - DKIM verification (see dkim.h).
 *
 * RFC 6376: tag lists (3.2), canonicalisation simple and relaxed (3.4),
 * header selection bottom-up with over-signing (5.4.2), body hash (3.7),
 * key records (3.6.1).  RFC 8463: ed25519-sha256 signs the SHA-256 of the
 * canonical header data.  RFC 8301: rsa-sha1 never verifies, RSA keys
 * under 1024 bits never verify.  Our rules on top: a key over 8192 bits is
 * refused before any work, a signature with l= is not a pass (anyone can
 * append to such a message), and a message with more than one From is not
 * a pass (which From would the signature vouch for?).
 *
 * A key with the flag y in t= (a colon-separated list, RFC 6376 3.6.1)
 * is in testing mode: its signature is verified and shown (testing), but
 * the message is treated as unsigned by it, so it counts neither in the
 * verdict's result nor as its pass.  d=, s= and the key name must be names
 * DNS can carry (labels of 1 to 63 octets, at most 253 in all): if not,
 * the signature is a permerror at once, never a lookup that "fails for
 * now".  Each signature is taken as far as it goes without its key, then
 * every key of the mail is asked at once (struct dkim_lookup's txt_many:
 * one time budget for the mail), then each signature is verified.
 *
 * SECURITY: the message, its signatures and the key records are peer
 * data.  The header block is capped (DKIM_HEADER_MAX), at most
 * DKIM_SIGS_MAX signatures are evaluated, base64 values are bounded by
 * their fields, and the key size is checked before verifying.
 */
#include "dkim.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpsl.h>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "buf.h"

#define DKIM_FIELDS_MAX 1000              /* header fields looked at */
#define DKIM_H_MAX      64                /* names in h= */

struct field {
    const char *p;          /* the raw field, name to CRLF included */
    size_t      len;
    size_t      name_len;
    bool        used;       /* taken by the current signature's h= */
};

struct msg {
    const char   *hdr;      /* header block (CRLF endings) */
    size_t        hdr_len;
    const char   *body;
    size_t        body_len;
    struct field *f;
    size_t        nf;
};

/* A parsed DKIM-Signature. */
struct sig {
    const struct field *field;
    char   *v, *a, *b, *bh, *c, *d, *h, *i, *l, *q, *s, *t, *x;
    char   *names[DKIM_H_MAX];
    size_t  n_names;
};

/* ---- small helpers ---- */

static bool
is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* is_dns_name - letters, digits, '-', '_' and '.', not empty */
static bool
is_dns_name(const char *s)
{
    return *s != '\0' && s[strspn(s, "abcdefghijklmnopqrstuvwxyz"
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")] == '\0';
}

/* b64_decode - base64 without whitespace into out (cap); length or -1 */
static long
b64_decode(const char *in, unsigned char *out, size_t cap)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        "0123456789+/";
    uint32_t acc = 0;
    int      bits = 0;
    size_t   o = 0;
    const char *p, *q;

    for (p = in; *p != '\0'; p++) {
        if (*p == '=')
            break;
        if ((q = strchr(tbl, *p)) == NULL || *p == '\0')
            return -1;
        acc = (acc << 6) | (uint32_t)(q - tbl);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    for (; *p == '='; p++)
        ;
    return *p == '\0' ? (long)o : -1;
}

/* strip_fws - copy of (p, n) without any whitespace or CRLF */
static char *
strip_fws(const char *p, size_t n)
{
    char  *s = malloc(n + 1);
    size_t i, o = 0;

    if (s == NULL)
        return NULL;
    for (i = 0; i < n; i++)
        if (!is_wsp(p[i]) && p[i] != '\r' && p[i] != '\n')
            s[o++] = p[i];
    s[o] = '\0';
    return s;
}

/* trim_copy - copy of (p, n) without surrounding whitespace and CRLF */
static char *
trim_copy(const char *p, size_t n)
{
    while (n > 0 && (is_wsp(*p) || *p == '\r' || *p == '\n'))
        p++, n--;
    while (n > 0 && (is_wsp(p[n - 1]) || p[n - 1] == '\r' ||
        p[n - 1] == '\n'))
        n--;
    char *s = malloc(n + 1);

    if (s != NULL) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

/*
 * tag_list - split "t1=v1; t2=v2" into up to max tags; values kept as
 * written (callers strip).  false on a syntax error or a duplicate tag.
 */
struct tag {
    char        name[16];
    const char *v;
    size_t      vlen;
};

static bool
tag_list(const char *p, size_t n, struct tag *tags, size_t max, size_t *nt)
{
    const char *end = p + n, *e, *eq;
    size_t      k, i;

    *nt = 0;
    while (p < end) {
        e = memchr(p, ';', (size_t)(end - p));
        if (e == NULL)
            e = end;
        eq = memchr(p, '=', (size_t)(e - p));
        if (eq == NULL) {
            /* only whitespace may stand between ';' and the end */
            for (; p < e; p++)
                if (!is_wsp(*p) && *p != '\r' && *p != '\n')
                    return false;
            p = e + 1;
            continue;
        }
        if (*nt >= max)
            return false;
        while (p < eq && (is_wsp(*p) || *p == '\r' || *p == '\n'))
            p++;
        k = 0;
        while (p < eq && !is_wsp(*p) && *p != '\r' && *p != '\n' &&
            k + 1 < sizeof(tags[*nt].name))
            tags[*nt].name[k++] = *p++;
        tags[*nt].name[k] = '\0';
        while (p < eq && (is_wsp(*p) || *p == '\r' || *p == '\n'))
            p++;
        if (p != eq || k == 0)
            return false;
        for (i = 0; i < *nt; i++)
            if (strcmp(tags[i].name, tags[*nt].name) == 0)
                return false;               /* RFC 6376 3.2 */
        tags[*nt].v = eq + 1;
        tags[*nt].vlen = (size_t)(e - eq - 1);
        (*nt)++;
        p = e + 1;
    }
    return true;
}

/* ---- the message ---- */

/* msg_split - header fields and body of a CRLF message */
static enum ruad_rc
msg_split(const char *m, size_t len, struct msg *out)
{
    const char *end, *p, *q;
    size_t      cap = 64;

    memset(out, 0, sizeof(*out));
    /* the header ends at the first empty line */
    for (p = m, end = NULL; p < m + len; p = q + 1) {
        if ((q = memchr(p, '\n', (size_t)(m + len - p))) == NULL)
            break;
        if (q == p + 1 && *p == '\r' && p >= m + 2 && p[-2] == '\r') {
            end = p - 2;
            break;
        }
    }
    if (end == NULL) {
        out->hdr_len = len;
    } else {
        out->hdr_len = (size_t)(end - m) + 2;
        out->body = end + 4;
        out->body_len = len - out->hdr_len - 2;
    }
    out->hdr = m;
    if (out->hdr_len > DKIM_HEADER_MAX)
        return RUAD_LIMIT;
    if ((out->f = calloc(cap, sizeof(*out->f))) == NULL)
        return RUAD_NOMEM;
    for (p = m; p < m + out->hdr_len;) {
        /* a field: this line and the continuation lines after it */
        for (q = p;;) {
            const char *nl = q;

            /* the next CRLF: a bare CR or LF does not end a line */
            while ((nl = memchr(nl, '\n', (size_t)(m + out->hdr_len - nl)))
                != NULL && (nl == q || nl[-1] != '\r'))
                nl++;
            q = nl ? nl + 1 : m + out->hdr_len;
            if (q >= m + out->hdr_len || !is_wsp(*q))
                break;
        }
        if (!is_wsp(*p) && out->nf < DKIM_FIELDS_MAX) {
            const char *colon = memchr(p, ':', (size_t)(q - p));

            if (out->nf == cap) {
                struct field *nf = realloc(out->f, 2 * cap * sizeof(*nf));

                if (nf == NULL)
                    return RUAD_NOMEM;
                out->f = nf;
                cap *= 2;
            }
            out->f[out->nf].p = p;
            out->f[out->nf].len = (size_t)(q - p);
            out->f[out->nf].name_len = colon ? (size_t)(colon - p) : 0;
            while (out->f[out->nf].name_len > 0 &&
                is_wsp(p[out->f[out->nf].name_len - 1]))
                out->f[out->nf].name_len--;
            out->nf++;
        }
        p = q;
    }
    return RUAD_OK;
}

static bool
field_is(const struct field *f, const char *name)
{
    return f->name_len == strlen(name) &&
        strncasecmp(f->p, name, f->name_len) == 0;
}

/* field_value - where the value of f starts (after the colon) */
static const char *
field_value(const struct field *f, size_t *n)
{
    const char *colon = memchr(f->p, ':', f->len);

    if (colon == NULL) {
        *n = 0;
        return f->p + f->len;
    }
    *n = f->len - (size_t)(colon + 1 - f->p);
    return colon + 1;
}

/* ---- canonicalisation ---- */

/* canon_header - one field, relaxed or simple, into b */
static enum ruad_rc
canon_header(struct buf *b, const char *p, size_t len, size_t name_len,
    bool relaxed, bool crlf)
{
    enum ruad_rc rc = RUAD_OK;
    size_t       i;
    bool         sp = false, started = false;

    if (!relaxed) {
        if (!crlf && len >= 2 && p[len - 2] == '\r')
            len -= 2;
        return buf_append(b, p, len);
    }
    for (i = 0; i < name_len && rc == RUAD_OK; i++)
        rc = buf_append_byte(b, (unsigned char)tolower((unsigned char)p[i]));
    if (rc == RUAD_OK)
        rc = buf_append_byte(b, ':');
    /* the value: unfold, WSP runs to one SP, none at either end */
    for (i = name_len; i < len && p[i] != ':'; i++)
        ;
    for (i++; i < len && rc == RUAD_OK; i++) {
        char c = p[i];

        if (c == '\r' || c == '\n')
            continue;
        if (is_wsp(c)) {
            sp = true;
            continue;
        }
        if (sp && started)
            rc = buf_append_byte(b, ' ');
        sp = false;
        started = true;
        if (rc == RUAD_OK)
            rc = buf_append_byte(b, (unsigned char)c);
    }
    if (rc == RUAD_OK && crlf)
        rc = buf_append(b, "\r\n", 2);
    return rc;
}

/* is_crlf - does p[i] start a CRLF within p[0..n)? */
static inline bool
is_crlf(const char *p, size_t i, size_t n)
{
    return i + 1 < n && p[i] == '\r' && p[i + 1] == '\n';
}

/* body_end - the length of the body once the empty lines at its end are
 * dropped (RFC 6376 3.4.3, 3.4.4): for relaxed, a line of nothing but WSP
 * counts as empty.  The result ends with CRLF, or with the last line when
 * that has none. */
static size_t
body_end(const char *p, size_t n, bool relaxed)
{
    size_t e = n;

    while (e > 0) {
        size_t k = e;

        /* the last line of p[0..e): its text ends at k */
        if (k >= 2 && p[k - 2] == '\r' && p[k - 1] == '\n')
            k -= 2;
        else if (!relaxed)
            break;      /* a last line without CRLF: never empty */
        while (relaxed && k > 0 && is_wsp(p[k - 1]))
            k--;
        /* empty when it starts the body or follows a CRLF */
        if (k == 0 || (k >= 2 && p[k - 2] == '\r' && p[k - 1] == '\n'))
            e = k;
        else
            break;
    }
    return e;
}

/*
 * block_clean - how many bytes from p on need no change under relaxed body
 * canonicalisation, judged a block of BLOCK bytes at a time (p[BLOCK] is
 * read too): BLOCK when the block holds no HTAB and no SP followed by SP,
 * HTAB or CR, else the offset of the first byte that breaks that rule (0
 * when it is the first, or when the portable version cannot tell where).
 */
#if defined(__SSE2__) && !defined(RUAD_NO_SIMD)
#include <emmintrin.h>
#define BLOCK 16

static inline unsigned
block_clean(const char *p)
{
    __m128i w = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i w1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 1));
    __m128i sp = _mm_cmpeq_epi8(w, _mm_set1_epi8(' '));
    __m128i next = _mm_or_si128(_mm_or_si128(
        _mm_cmpeq_epi8(w1, _mm_set1_epi8(' ')),
        _mm_cmpeq_epi8(w1, _mm_set1_epi8('\t'))),
        _mm_cmpeq_epi8(w1, _mm_set1_epi8('\r')));
    int     bad = _mm_movemask_epi8(_mm_or_si128(
        _mm_cmpeq_epi8(w, _mm_set1_epi8('\t')), _mm_and_si128(sp, next)));

    return bad == 0 ? BLOCK : (unsigned)__builtin_ctz((unsigned)bad);
}
#else
#define BLOCK 8

/* bytes_eq - 0x80 in each byte of w that equals c, 0 in the others */
static inline uint64_t
bytes_eq(uint64_t w, unsigned char c)
{
    const uint64_t low7 = 0x7f7f7f7f7f7f7f7full;
    uint64_t       x = w ^ (0x0101010101010101ull * c);

    return ~(((x & low7) + low7) | x | low7);
}

static inline unsigned
block_clean(const char *p)
{
    uint64_t w, w1;

    memcpy(&w, p, 8);
    memcpy(&w1, p + 1, 8);      /* the byte after each */
    return (bytes_eq(w, '\t') | (bytes_eq(w, ' ') & (bytes_eq(w1, ' ') |
        bytes_eq(w1, '\t') | bytes_eq(w1, '\r')))) == 0 ? BLOCK : 0;
}
#endif

/* dkim_body_hash - SHA-256 of the canonical body into md (32 bytes).
 *
 * One pass, hashing the longest runs of bytes that canonicalisation leaves
 * alone in one update each: simple changes nothing but the end; relaxed
 * changes only runs of WSP (to one SP, or to nothing before a CRLF and at
 * the end), so blocks that hold no HTAB and no SP followed by SP, HTAB or
 * CR are skipped whole. */
bool
dkim_body_hash(const char *p, size_t n, bool relaxed, unsigned char *md)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t      e = body_end(p, n, relaxed), i, span = 0;
    bool        ok;

    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return false;
    }
    if (relaxed) {
        for (i = 0; i < e;) {
            size_t j;

            /* a block at a time while nothing in it changes; else on to
             * the first byte that may */
            if (i + BLOCK + 1 <= e) {
                unsigned skip = block_clean(p + i);

                if (skip > 0) {
                    i += skip;
                    continue;
                }
            }
            if (p[i] != ' ' && p[i] != '\t') {
                i++;
                continue;
            }
            for (j = i; j < e && is_wsp(p[j]); j++)
                ;
            if (j == i + 1 && p[i] == ' ' && j < e && !is_crlf(p, j, e)) {
                i = j;          /* one SP inside a line: kept */
                continue;
            }
            EVP_DigestUpdate(ctx, p + span, i - span);
            if (j < e && !is_crlf(p, j, e))
                EVP_DigestUpdate(ctx, " ", 1);
            span = i = j;
        }
    }
    EVP_DigestUpdate(ctx, p + span, e - span);
    /* the last line gets its CRLF; simple hashes an empty body as one */
    if ((e > 0 && !(e >= 2 && p[e - 2] == '\r' && p[e - 1] == '\n')) ||
        (e == 0 && !relaxed))
        EVP_DigestUpdate(ctx, "\r\n", 2);
    ok = EVP_DigestFinal_ex(ctx, md, NULL) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* ---- signatures ---- */

static void
sig_clear(struct sig *s)
{
    size_t i;

    free(s->v); free(s->a); free(s->b); free(s->bh); free(s->c);
    free(s->d); free(s->h); free(s->i); free(s->l); free(s->q);
    free(s->s); free(s->t); free(s->x);
    for (i = 0; i < s->n_names; i++)
        free(s->names[i]);
    memset(s, 0, sizeof(*s));
}

/* sig_parse - the tags of one DKIM-Signature; false with a reason */
static bool
sig_parse(const struct field *f, struct sig *s, char *why, size_t whylen)
{
    struct tag  tags[32];
    size_t      nt, i, vlen;
    const char *v = field_value(f, &vlen);
    char       *h, *p, *e;

    memset(s, 0, sizeof(*s));
    s->field = f;
    if (!tag_list(v, vlen, tags, 32, &nt)) {
        snprintf(why, whylen, "bad tag list");
        return false;
    }
    for (i = 0; i < nt; i++) {
        const struct tag *t = &tags[i];
        char            **dst = NULL;
        bool              fws = false;

        if (strcmp(t->name, "v") == 0) dst = &s->v;
        else if (strcmp(t->name, "a") == 0) dst = &s->a;
        else if (strcmp(t->name, "b") == 0) dst = &s->b, fws = true;
        else if (strcmp(t->name, "bh") == 0) dst = &s->bh, fws = true;
        else if (strcmp(t->name, "c") == 0) dst = &s->c;
        else if (strcmp(t->name, "d") == 0) dst = &s->d;
        else if (strcmp(t->name, "h") == 0) dst = &s->h, fws = true;
        else if (strcmp(t->name, "i") == 0) dst = &s->i;
        else if (strcmp(t->name, "l") == 0) dst = &s->l;
        else if (strcmp(t->name, "q") == 0) dst = &s->q;
        else if (strcmp(t->name, "s") == 0) dst = &s->s;
        else if (strcmp(t->name, "t") == 0) dst = &s->t;
        else if (strcmp(t->name, "x") == 0) dst = &s->x;
        if (dst == NULL)
            continue;                       /* unknown tags are ignored */
        *dst = fws ? strip_fws(t->v, t->vlen) : trim_copy(t->v, t->vlen);
        if (*dst == NULL) {
            snprintf(why, whylen, "out of memory");
            return false;
        }
    }
    if (s->v == NULL || strcmp(s->v, "1") != 0) {
        snprintf(why, whylen, "v= missing or not 1");
        return false;
    }
    if (s->a == NULL || s->b == NULL || s->bh == NULL || s->d == NULL ||
        s->h == NULL || s->s == NULL) {
        snprintf(why, whylen, "a required tag (a b bh d h s) is missing");
        return false;
    }
    if ((h = strdup(s->h)) == NULL)
        return false;
    for (p = h; p != NULL && *p != '\0'; p = e) {
        e = strchr(p, ':');
        if (e != NULL)
            *e++ = '\0';
        if (*p == '\0')
            continue;
        if (s->n_names >= DKIM_H_MAX) {
            free(h);
            snprintf(why, whylen, "h= lists more than %d names", DKIM_H_MAX);
            return false;
        }
        s->names[s->n_names++] = strdup(p);
    }
    free(h);
    for (i = 0; i < s->n_names; i++)
        if (s->names[i] != NULL && strcasecmp(s->names[i], "from") == 0)
            break;
    if (i == s->n_names) {
        snprintf(why, whylen, "h= does not sign From");
        return false;
    }
    return true;
}

/* sig_without_b - the signature field with b='s value removed */
static enum ruad_rc
sig_without_b(const struct field *f, struct buf *out)
{
    const char *p = f->p, *end = f->p + f->len, *v;
    size_t      vlen;

    v = field_value(f, &vlen);
    /* copy up to the value, then walk tags: at a tag named exactly "b",
     * drop what follows '=' up to ';' or the end (keep the CRLF) */
    if (buf_append(out, p, (size_t)(v - p)) != RUAD_OK)
        return RUAD_NOMEM;
    p = v;
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *te = semi ? semi : end;
        const char *q = p, *eq;

        while (q < te && (is_wsp(*q) || *q == '\r' || *q == '\n'))
            q++;
        eq = memchr(q, '=', (size_t)(te - q));
        if (eq != NULL) {
            const char *ne = q;

            while (ne < eq && !is_wsp(*ne) && *ne != '\r' && *ne != '\n')
                ne++;
            if (ne - q == 1 && *q == 'b') {
                if (buf_append(out, p, (size_t)(eq + 1 - p)) != RUAD_OK)
                    return RUAD_NOMEM;
                /* keep a trailing CRLF of the field */
                if (semi == NULL && te - eq > 2 && te[-2] == '\r')
                    if (buf_append(out, "\r\n", 2) != RUAD_OK)
                        return RUAD_NOMEM;
                if (semi != NULL && buf_append(out, ";", 1) != RUAD_OK)
                    return RUAD_NOMEM;
                p = semi ? semi + 1 : end;
                continue;
            }
        }
        if (buf_append(out, p, (size_t)((semi ? semi + 1 : end) - p)) !=
            RUAD_OK)
            return RUAD_NOMEM;
        p = semi ? semi + 1 : end;
    }
    return RUAD_OK;
}

/* ---- keys ---- */

struct key {
    EVP_PKEY *pkey;
    bool      ed25519;
    bool      testing, strict, no_tlsrpt;
};

/*
 * spki_rsa - the RSAPublicKey in an rsaEncryption SubjectPublicKeyInfo
 * (RFC 5280 4.1.2.7, RFC 8017 A.1), or NULL.  OpenSSL 3's d2i_PUBKEY()
 * runs its decoder framework, about ten RSA-2048 verifications' worth of
 * CPU per key (tests/bench/bench_dkim); this walk and d2i_PublicKey()
 * take a few microseconds.
 */
static const unsigned char *
spki_rsa(const unsigned char *p, long n, long *len)
{
    static const unsigned char oid[] = { 0x06, 0x09, 0x2a, 0x86, 0x48,
        0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
    const unsigned char *end;
    int                  tag, cls;

    /* SEQUENCE { SEQUENCE { rsaEncryption, NULL }, BIT STRING } */
    if ((ASN1_get_object(&p, len, &tag, &cls, n) & 0x81) != 0 ||
        tag != V_ASN1_SEQUENCE)
        return NULL;
    end = p + *len;
    if ((ASN1_get_object(&p, len, &tag, &cls, end - p) & 0x81) != 0 ||
        tag != V_ASN1_SEQUENCE || *len < (long)sizeof(oid) ||
        memcmp(p, oid, sizeof(oid)) != 0)
        return NULL;
    p += *len;
    if ((ASN1_get_object(&p, len, &tag, &cls, end - p) & 0x81) != 0 ||
        tag != V_ASN1_BIT_STRING || *len < 2 || *p != 0)
        return NULL;
    (*len)--;
    return p + 1;                   /* after the count of unused bits */
}

/*
 * Decoded public keys, process-wide, by type and p= text: decoding an RSA
 * key costs more than verifying with it, and a reporter signs thousands
 * of mails with one key.  The key text is the cache key, so a changed DNS
 * record is a new entry; the record's own lifetime is dns.c's business.
 */
#define KEY_CACHE_SLOTS 64

static struct {
    char     *p;            /* "alg:p=" text, owned */
    EVP_PKEY *pkey;         /* one reference held here */
} key_cache[KEY_CACHE_SLOTS];
static pthread_mutex_t key_mu = PTHREAD_MUTEX_INITIALIZER;

static size_t
key_slot(const char *alg, const char *p)
{
    size_t h = 5381;

    for (; *alg != '\0'; alg++)
        h = h * 33 + (unsigned char)*alg;
    for (; *p != '\0'; p++)
        h = h * 33 + (unsigned char)*p;
    return h % KEY_CACHE_SLOTS;
}

/* key_cache_get - a new reference to a cached key, or NULL */
static EVP_PKEY *
key_cache_get(const char *alg, const char *p)
{
    size_t    i = key_slot(alg, p), al = strlen(alg);
    EVP_PKEY *k = NULL;

    pthread_mutex_lock(&key_mu);
    if (key_cache[i].p != NULL && strncmp(key_cache[i].p, alg, al) == 0 &&
        key_cache[i].p[al] == ':' && strcmp(key_cache[i].p + al + 1, p) ==
        0 && EVP_PKEY_up_ref(key_cache[i].pkey) == 1)
        k = key_cache[i].pkey;
    pthread_mutex_unlock(&key_mu);
    return k;
}

static void
key_cache_put(const char *alg, const char *p, EVP_PKEY *pkey)
{
    size_t i = key_slot(alg, p);
    char  *t;

    if (asprintf(&t, "%s:%s", alg, p) < 0)
        return;
    if (EVP_PKEY_up_ref(pkey) != 1) {
        free(t);
        return;
    }
    pthread_mutex_lock(&key_mu);
    free(key_cache[i].p);
    EVP_PKEY_free(key_cache[i].pkey);
    key_cache[i].p = t;
    key_cache[i].pkey = pkey;
    pthread_mutex_unlock(&key_mu);
}

/* in_list - is word one of the items of the colon-separated list (FWS
 * already stripped)?  Items are compared whole: "ys" is not "y". */
static bool
in_list(const char *list, const char *word)
{
    size_t      wl = strlen(word);
    const char *p = list, *e;

    for (;; p = e + 1) {
        e = strchr(p, ':');
        if ((size_t)((e ? e : p + strlen(p)) - p) == wl &&
            strncmp(p, word, wl) == 0)
            return true;
        if (e == NULL)
            return false;
    }
}

/* key_parse - one TXT record; false with a reason (revoked, bad, ...) */
static bool
key_parse(const char *rec, const char *alg_key, struct key *k, char *why,
    size_t whylen, bool *retry_other)
{
    struct tag     tags[16];
    size_t         nt, i;
    char          *v = NULL, *kt = NULL, *p = NULL, *h = NULL, *s = NULL,
                  *t = NULL;
    unsigned char  der[2048];
    long           n;
    const unsigned char *dp;
    bool           ok = false;

    memset(k, 0, sizeof(*k));
    *retry_other = true;
    if (!tag_list(rec, strlen(rec), tags, 16, &nt)) {
        snprintf(why, whylen, "key record: bad tag list");
        return false;
    }
    for (i = 0; i < nt; i++) {
        char **dst = NULL;

        if (strcmp(tags[i].name, "v") == 0) dst = &v;
        else if (strcmp(tags[i].name, "k") == 0) dst = &kt;
        else if (strcmp(tags[i].name, "p") == 0) dst = &p;
        else if (strcmp(tags[i].name, "h") == 0) dst = &h;
        else if (strcmp(tags[i].name, "s") == 0) dst = &s;
        else if (strcmp(tags[i].name, "t") == 0) dst = &t;
        if (dst != NULL)
            *dst = strip_fws(tags[i].v, tags[i].vlen);
        if (dst != NULL && i > 0 && dst == &v) {
            snprintf(why, whylen, "key record: v= is not first");
            goto out;
        }
    }
    if (v != NULL && strcmp(v, "DKIM1") != 0) {
        snprintf(why, whylen, "key record: v= is not DKIM1");
        goto out;
    }
    if (p == NULL) {
        snprintf(why, whylen, "key record: no p=");
        goto out;
    }
    *retry_other = false;
    if (*p == '\0') {
        snprintf(why, whylen, "key revoked (empty p=)");
        goto out;
    }
    if (strcmp(kt ? kt : "rsa", alg_key) != 0) {
        snprintf(why, whylen, "key type k=%s does not match a=", kt ? kt :
            "rsa");
        goto out;
    }
    if (h != NULL && !in_list(h, "sha256")) {
        snprintf(why, whylen, "key record h= excludes sha256");
        goto out;
    }
    if (s != NULL) {
        bool star = in_list(s, "*"), email = in_list(s, "email"),
             tlsrpt = in_list(s, "tlsrpt");

        k->no_tlsrpt = !star && !tlsrpt;
        if (!star && !email && !tlsrpt) {
            snprintf(why, whylen, "key record s= is for other services");
            goto out;
        }
    }
    if (t != NULL) {
        /* RFC 6376 3.6.1: flags y and s; others are ignored */
        k->testing = in_list(t, "y");
        k->strict = in_list(t, "s");
    }
    if ((k->pkey = key_cache_get(alg_key, p)) != NULL) {
        k->ed25519 = strcmp(alg_key, "ed25519") == 0;
        ok = true;               /* checked when it was first decoded */
        goto out;
    }
    n = b64_decode(p, der, sizeof(der));
    if (n <= 0) {
        snprintf(why, whylen, "key record: bad base64 in p=");
        goto out;
    }
    if (strcmp(alg_key, "ed25519") == 0) {
        k->ed25519 = true;
        if (n != 32 || (k->pkey = EVP_PKEY_new_raw_public_key(
            EVP_PKEY_ED25519, NULL, der, 32)) == NULL) {
            snprintf(why, whylen, "key record: not an Ed25519 key");
            goto out;
        }
    } else {
        long rl;

        /* SubjectPublicKeyInfo, else a bare RSAPublicKey */
        if ((dp = spki_rsa(der, n, &rl)) != NULL)
            k->pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &dp, rl);
        if (k->pkey == NULL) {
            dp = der;
            k->pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &dp, n);
        }
        if (k->pkey == NULL || EVP_PKEY_get_base_id(k->pkey) !=
            EVP_PKEY_RSA) {
            snprintf(why, whylen, "key record: not an RSA key");
            goto out;
        }
        if (EVP_PKEY_get_bits(k->pkey) < DKIM_RSA_BITS_MIN) {
            snprintf(why, whylen, "RSA key of %d bits (under %d: RFC 8301)",
                EVP_PKEY_get_bits(k->pkey), DKIM_RSA_BITS_MIN);
            goto out;
        }
        if (EVP_PKEY_get_bits(k->pkey) > DKIM_RSA_BITS_MAX) {
            snprintf(why, whylen, "RSA key of %d bits (over %d)",
                EVP_PKEY_get_bits(k->pkey), DKIM_RSA_BITS_MAX);
            goto out;
        }
    }
    key_cache_put(alg_key, p, k->pkey);
    ok = true;
out:
    if (!ok) {
        EVP_PKEY_free(k->pkey);
        k->pkey = NULL;
    }
    free(v); free(kt); free(p); free(h); free(s); free(t);
    return ok;
}

/* ---- one signature ---- */

static void set(struct dkim_sig *o, enum dkim_result r, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/* set - the verdict of one signature and why */
static void
set(struct dkim_sig *o, enum dkim_result r, const char *fmt, ...)
{
    va_list ap;

    o->result = r;
    va_start(ap, fmt);
    vsnprintf(o->reason, sizeof(o->reason), fmt, ap);
    va_end(ap);
}

/* domain_within - is i's domain d or below it? */
static bool
domain_within(const char *idom, const char *d, bool strict)
{
    size_t li = strlen(idom), ld = strlen(d);

    if (strcasecmp(idom, d) == 0)
        return true;
    return !strict && li > ld && idom[li - ld - 1] == '.' &&
        strcasecmp(idom + li - ld, d) == 0;
}

/*
 * name_check - is s a domain name DNS can be asked for (RFC 1035 2.3.4,
 * RFC 6376 3.5): labels of 1 to 63 octets, at most 253 in all?  NULL if
 * so, else why not.  A name that breaks this can never be looked up, so
 * it is a permerror, not a lookup that "fails for now".
 */
static const char *
name_check(const char *s)
{
    size_t      l = 0;
    const char *p;

    if (strlen(s) > 253)
        return "over 253 octets";
    for (p = s;; p++) {
        if (*p != '.' && *p != '\0') {
            l++;
            continue;
        }
        if (l == 0)
            return "an empty label";
        if (l > 63)
            return "a label over 63 octets";
        if (*p == '\0')
            return NULL;
        l = 0;
    }
}

/* One signature between its own checks and its key. */
struct job {
    struct sig  s;
    struct buf  data;       /* canonical header data, signature last */
    const char *keyalg;     /* "rsa" or "ed25519" */
    char        name[400];  /* the key's name; "" when none is needed */
    bool        many_from;
};

/*
 * sig_prepare - everything about one signature that needs no key: its
 * tags, the body hash and the header data.  True when its key is to be
 * fetched (j->name); else o holds the signature's verdict.
 */
static bool
sig_prepare(struct msg *m, const struct field *f, time_t now, bool many_from,
    struct job *j, struct dkim_sig *o)
{
    struct sig    *s = &j->s;
    char           why[128];
    const char    *bad;
    unsigned char  bh[64], md[32];
    long           bhn;
    bool           hrelaxed = false, brelaxed = false;
    size_t         i, k;

    j->many_from = many_from;
    buf_init(&j->data, DKIM_HEADER_MAX + 4096);
    if (!sig_parse(f, s, why, sizeof(why))) {
        set(o, DKIM_PERMERROR, "%s", why);
        return false;
    }
    if (!is_dns_name(s->d) || !is_dns_name(s->s)) {
        /* RFC 6376 3.5: both are domain names; they are stored too */
        set(o, DKIM_PERMERROR, "d= or s= is not a domain name");
        return false;
    }
    snprintf(o->d, sizeof(o->d), "%s", s->d);
    snprintf(o->s, sizeof(o->s), "%s", s->s);
    snprintf(o->a, sizeof(o->a), "%s", s->a);
    if ((bad = name_check(s->d)) != NULL ||
        (bad = name_check(s->s)) != NULL) {
        set(o, DKIM_PERMERROR, "%s= is not a valid domain name (%s)",
            name_check(s->d) != NULL ? "d" : "s", bad);
        return false;
    }
    if (strcmp(s->a, "rsa-sha256") == 0) {
        j->keyalg = "rsa";
    } else if (strcmp(s->a, "ed25519-sha256") == 0) {
        j->keyalg = "ed25519";
    } else if (strcmp(s->a, "rsa-sha1") == 0) {
        set(o, DKIM_FAIL, "rsa-sha1 is not accepted (RFC 8301)");
        return false;
    } else {
        set(o, DKIM_PERMERROR, "unknown algorithm %s", s->a);
        return false;
    }
    if (s->c != NULL) {
        char *slash = strchr(s->c, '/');

        hrelaxed = strncmp(s->c, "relaxed", 7) == 0;
        brelaxed = slash != NULL && strcmp(slash + 1, "relaxed") == 0;
        if ((!hrelaxed && strncmp(s->c, "simple", 6) != 0) ||
            (slash != NULL && !brelaxed && strcmp(slash + 1, "simple") != 0)) {
            set(o, DKIM_PERMERROR, "unknown canonicalisation %s", s->c);
            return false;
        }
    }
    if (s->i != NULL) {
        const char *at = strrchr(s->i, '@');

        if (at == NULL || !domain_within(at + 1, s->d, false)) {
            set(o, DKIM_PERMERROR, "i= is not within d=");
            return false;
        }
    }
    if (s->x != NULL && strtoll(s->x, NULL, 10) < (long long)now) {
        set(o, DKIM_FAIL, "signature expired (x=)");
        return false;
    }
    if (s->t != NULL && strtoll(s->t, NULL, 10) > (long long)now +
        DKIM_FUTURE_SLACK) {
        set(o, DKIM_FAIL, "signature from the future (t=)");
        return false;
    }
    /* the body */
    bhn = b64_decode(s->bh, bh, sizeof(bh));
    if (bhn != 32) {
        set(o, DKIM_PERMERROR, "bh= is not a SHA-256 hash");
        return false;
    }
    if (!dkim_body_hash(m->body ? m->body : "", m->body_len, brelaxed,
        md)) {
        set(o, DKIM_TEMPERROR, "hash failed");
        return false;
    }
    if (memcmp(md, bh, 32) != 0) {
        set(o, DKIM_FAIL, "body hash mismatch (the body was changed)");
        return false;
    }
    /* the headers, bottom-up per name (RFC 6376 5.4.2) */
    for (i = 0; i < m->nf; i++)
        m->f[i].used = false;
    for (k = 0; k < s->n_names; k++) {
        for (i = m->nf; i-- > 0;) {
            if (m->f[i].used || !field_is(&m->f[i], s->names[k]))
                continue;
            m->f[i].used = true;
            if (canon_header(&j->data, m->f[i].p, m->f[i].len,
                m->f[i].name_len, hrelaxed, true) != RUAD_OK) {
                set(o, DKIM_PERMERROR, "header data too large");
                return false;
            }
            break;
        }                 /* no instance left: over-signed, adds nothing */
    }
    {
        struct buf self;

        buf_init(&self, DKIM_HEADER_MAX);
        if (sig_without_b(f, &self) != RUAD_OK ||
            canon_header(&j->data, buf_ptr(&self), buf_len(&self),
            f->name_len, hrelaxed, false) != RUAD_OK) {
            buf_free(&self);
            set(o, DKIM_PERMERROR, "header data too large");
            return false;
        }
        buf_free(&self);
    }
    /* the key's name: both parts were checked, but not their sum */
    if ((size_t)snprintf(j->name, sizeof(j->name), "%s._domainkey.%s",
        s->s, s->d) >= sizeof(j->name) || name_check(j->name) != NULL) {
        j->name[0] = '\0';
        set(o, DKIM_PERMERROR, "key name (s=._domainkey.d=) is over 253 "
            "octets");
        return false;
    }
    return true;
}

/* sig_finish - verify one prepared signature with its key's answer */
static void
sig_finish(struct job *j, const struct dkim_txt *ans, struct dkim_sig *o)
{
    struct sig    *s = &j->s;
    struct key     k;
    char           why[128];
    unsigned char  sigb[1024];
    long           sn;
    bool           retry;
    size_t         i;
    EVP_MD_CTX    *ctx = NULL;

    memset(&k, 0, sizeof(k));
    if (ans->rc == RUAD_TEMPFAIL) {
        set(o, DKIM_TEMPERROR, "key lookup failed for now (%s)",
            ans->why[0] ? ans->why : "no answer");
        goto out;
    }
    if (ans->rc == RUAD_MALFORMED) {
        set(o, DKIM_PERMERROR, "key name cannot be looked up (%s)",
            ans->why[0] ? ans->why : "not a valid DNS name");
        goto out;
    }
    if (ans->rc != RUAD_OK || ans->n == 0) {
        set(o, DKIM_PERMERROR, "no key record");
        goto out;
    }
    why[0] = '\0';
    for (i = 0; i < ans->n; i++) {
        if (key_parse(ans->records[i], j->keyalg, &k, why, sizeof(why),
            &retry))
            break;
        if (!retry)
            break;
    }
    if (k.pkey == NULL) {
        set(o, DKIM_PERMERROR, "%s", why[0] ? why : "no usable key");
        goto out;
    }
    o->testing = k.testing;
    o->no_tlsrpt = k.no_tlsrpt;
    if (k.strict && s->i != NULL &&
        !domain_within(strrchr(s->i, '@') + 1, s->d, true)) {
        set(o, DKIM_PERMERROR, "key t=s and i= is a subdomain");
        goto out;
    }
    sn = b64_decode(s->b, sigb, sizeof(sigb));
    if (sn <= 0) {
        set(o, DKIM_PERMERROR, "b= is not base64");
        goto out;
    }
    if ((ctx = EVP_MD_CTX_new()) == NULL) {
        set(o, DKIM_TEMPERROR, "out of memory");
        goto out;
    }
    if (k.ed25519) {
        /* RFC 8463: Ed25519 over the SHA-256 of the header data */
        unsigned char hh[32];

        EVP_Digest(buf_ptr(&j->data), buf_len(&j->data), hh, NULL,
            EVP_sha256(), NULL);
        if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k.pkey) != 1 ||
            EVP_DigestVerify(ctx, sigb, (size_t)sn, hh, 32) != 1) {
            set(o, DKIM_FAIL, "signature does not verify");
            goto out;
        }
    } else if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
        k.pkey) != 1 || EVP_DigestVerify(ctx, sigb, (size_t)sn,
        (const unsigned char *)buf_ptr(&j->data), buf_len(&j->data)) != 1) {
        set(o, DKIM_FAIL, "signature does not verify");
        goto out;
    }
    if (s->l != NULL) {
        set(o, DKIM_FAIL, "l= signs only part of the body: not accepted");
        goto out;
    }
    if (j->many_from) {
        set(o, DKIM_FAIL, "more than one From header");
        goto out;
    }
    if (k.testing)
        set(o, DKIM_PASS, "verifies, but the key is in testing mode (t=y): "
            "treated as unsigned (RFC 6376 3.6.1)");
    else
        set(o, DKIM_PASS, "ok");
out:
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k.pkey);
    ERR_clear_error();
}

static void
job_clear(struct job *j)
{
    buf_free(&j->data);
    sig_clear(&j->s);
}

/*
 * lookup_all - the answers for n distinct key names: all at once through
 * txt_many, else one by one through txt.  A missing resolver is a
 * temporary failure (the next attempt may have one).
 */
static void
lookup_all(const struct dkim_lookup *lk, const char *const *names, size_t n,
    struct dkim_txt *out)
{
    size_t i;

    memset(out, 0, n * sizeof(*out));
    if (n == 0)
        return;
    if (lk != NULL && lk->txt_many != NULL) {
        lk->txt_many(lk->ctx, names, n, out);
        return;
    }
    for (i = 0; i < n; i++) {
        if (lk == NULL || lk->txt == NULL) {
            out[i].rc = RUAD_TEMPFAIL;
            snprintf(out[i].why, sizeof(out[i].why), "no resolver");
            continue;
        }
        out[i].rc = lk->txt(lk->ctx, names[i], &out[i].records, &out[i].n);
    }
}

/* ---- the message as a whole ---- */

/* to_crlf - a copy with every bare LF made CRLF, or NULL if none needed */
static char *
to_crlf(const char *m, size_t len, size_t *out_len)
{
    const char *p, *end = m + len, *lf;
    size_t      extra = 0, o = 0;
    char       *c;

    for (p = m; (lf = memchr(p, '\n', (size_t)(end - p))) != NULL;
        p = lf + 1)
        if (lf == m || lf[-1] != '\r')
            extra++;
    if (extra == 0)
        return NULL;
    if ((c = malloc(len + extra)) == NULL)
        return NULL;
    for (p = m; (lf = memchr(p, '\n', (size_t)(end - p))) != NULL;
        p = lf + 1) {
        memcpy(c + o, p, (size_t)(lf - p));
        o += (size_t)(lf - p);
        if (lf == m || lf[-1] != '\r')
            c[o++] = '\r';
        c[o++] = '\n';
    }
    memcpy(c + o, p, (size_t)(end - p));
    *out_len = o + (size_t)(end - p);
    return c;
}

/* from_domain - the domain of the address in a From field */
static void
from_domain(const struct field *f, char *dst, size_t n)
{
    size_t      vlen, i, k = 0;
    const char *v = field_value(f, &vlen), *lt, *at = NULL, *end;

    dst[0] = '\0';
    lt = memchr(v, '<', vlen);
    end = v + vlen;
    if (lt != NULL) {
        const char *gt = memchr(lt, '>', (size_t)(end - lt));

        if (gt != NULL)
            end = gt;
        v = lt + 1;
    }
    for (const char *p = v; p < end; p++)
        if (*p == '@')
            at = p;
    if (at == NULL)
        return;
    for (i = 1; at + i < end && k + 1 < n; i++) {
        char c = at[i];

        if (is_wsp(c) || c == '\r' || c == '\n' || c == '>' || c == ')')
            break;
        dst[k++] = (char)tolower((unsigned char)c);
    }
    dst[k] = '\0';
    /* a domain name or nothing: it is stored, and a U-label could not
     * align with an A-label d= anyway */
    if (!is_dns_name(dst))
        dst[0] = '\0';
}

static int
rank(enum dkim_result r)
{
    switch (r) {
    case DKIM_PASS:      return 4;
    case DKIM_TEMPERROR: return 3;
    case DKIM_FAIL:      return 2;
    case DKIM_PERMERROR: return 1;
    default:             return 0;
    }
}

enum ruad_rc
dkim_verify(const char *msg, size_t len, const struct dkim_lookup *lk,
    time_t now, struct dkim_verdict *v)
{
    struct msg      m;
    char           *crlf;
    size_t          clen = len, i, k, froms = 0, n_names = 0;
    enum ruad_rc    rc;
    struct job      jobs[DKIM_SIGS_MAX];
    bool            need[DKIM_SIGS_MAX];
    size_t          which[DKIM_SIGS_MAX];
    const char     *names[DKIM_SIGS_MAX];
    struct dkim_txt ans[DKIM_SIGS_MAX];

    memset(v, 0, sizeof(*v));
    v->pass = -1;
    crlf = to_crlf(msg, len, &clen);
    if (crlf != NULL)
        msg = crlf;
    rc = msg_split(msg, clen, &m);
    if (rc == RUAD_LIMIT) {
        v->result = DKIM_PERMERROR;
        v->n_sigs = 0;
        free(m.f);
        free(crlf);
        return RUAD_OK;
    }
    if (rc != RUAD_OK) {
        free(m.f);
        free(crlf);
        return rc;
    }
    for (i = 0; i < m.nf; i++)
        if (field_is(&m.f[i], "from")) {
            if (froms++ == 0)
                from_domain(&m.f[i], v->from_domain,
                    sizeof(v->from_domain));
        }
    if (froms != 1)
        v->from_domain[0] = '\0';
    /* each signature up to its key, then every key at once (one time
     * budget for the mail, not one per signature), then the rest */
    memset(jobs, 0, sizeof(jobs));
    for (i = 0; i < m.nf; i++) {
        if (!field_is(&m.f[i], "dkim-signature"))
            continue;
        v->n_found++;
        if (v->n_sigs >= DKIM_SIGS_MAX)
            continue;
        need[v->n_sigs] = sig_prepare(&m, &m.f[i], now, froms > 1,
            &jobs[v->n_sigs], &v->sigs[v->n_sigs]);
        v->n_sigs++;
    }
    for (i = 0; i < v->n_sigs; i++) {
        if (!need[i])
            continue;
        for (k = 0; k < n_names; k++)
            if (strcasecmp(names[k], jobs[i].name) == 0)
                break;
        if (k == n_names)
            names[n_names++] = jobs[i].name;
        which[i] = k;
    }
    lookup_all(lk, names, n_names, ans);
    for (i = 0; i < v->n_sigs; i++) {
        if (need[i])
            sig_finish(&jobs[i], &ans[which[i]], &v->sigs[i]);
        job_clear(&jobs[i]);
    }
    for (k = 0; k < n_names; k++) {
        for (i = 0; i < ans[k].n; i++)
            free(ans[k].records[i]);
        free(ans[k].records);
    }
    /* the verdict: RFC 6376 3.6.1, a testing key's signature is as none */
    for (i = 0; i < v->n_sigs; i++) {
        if (v->sigs[i].testing)
            continue;
        if (rank(v->sigs[i].result) > rank(v->result))
            v->result = v->sigs[i].result;
        if (v->sigs[i].result == DKIM_PASS && v->pass < 0)
            v->pass = (int)i;
    }
    free(m.f);
    free(crlf);
    return RUAD_OK;
}

const char *
dkim_result_str(enum dkim_result r)
{
    switch (r) {
    case DKIM_NONE:      return "none";
    case DKIM_PASS:      return "pass";
    case DKIM_FAIL:      return "fail";
    case DKIM_TEMPERROR: return "temperror";
    case DKIM_PERMERROR: return "permerror";
    }
    return "none";
}

/* ---- alignment ---- */

static pthread_once_t     psl_once = PTHREAD_ONCE_INIT;
static const psl_ctx_t   *psl;

static void
psl_load(void)
{
    /* the distribution's list (Debian's publicsuffix), else built in */
    psl = psl_latest(NULL);
    if (psl == NULL)
        psl = psl_builtin();
}

/* org_domain - the registrable domain of d (lower case) into out */
static void
org_domain(const char *d, char *out, size_t n)
{
    char        low[256];
    const char *r;
    size_t      i;

    for (i = 0; d[i] != '\0' && i + 1 < sizeof(low); i++)
        low[i] = (char)tolower((unsigned char)d[i]);
    low[i] = '\0';
    while (i > 0 && low[i - 1] == '.')
        low[--i] = '\0';
    pthread_once(&psl_once, psl_load);
    r = psl != NULL ? psl_registrable_domain(psl, low) : NULL;
    snprintf(out, n, "%s", r != NULL ? r : low);
}

bool
dkim_aligned(const char *d, const char *from)
{
    char a[256], b[256];

    if (d == NULL || from == NULL || *d == '\0' || *from == '\0')
        return false;
    org_domain(d, a, sizeof(a));
    org_domain(from, b, sizeof(b));
    return strcmp(a, b) == 0;
}

void
dkim_summarize(const struct dkim_verdict *v, struct dkim_summary *out)
{
    int    best = -1;
    size_t i;

    memset(out, 0, sizeof(*out));
    out->result = dkim_result_str(v->result);
    snprintf(out->from_domain, sizeof(out->from_domain), "%s",
        v->from_domain);
    for (i = 0; i < v->n_sigs; i++) {
        if (v->sigs[i].result != DKIM_PASS)
            continue;
        if (v->sigs[i].testing) {
            if (out->testing[0] == '\0')
                snprintf(out->testing, sizeof(out->testing), "%s",
                    v->sigs[i].d);
            continue;
        }
        if (best < 0)
            best = (int)i;
        if (dkim_aligned(v->sigs[i].d, v->from_domain)) {
            best = (int)i;
            break;
        }
    }
    if (best < 0)
        return;
    snprintf(out->domain, sizeof(out->domain), "%s", v->sigs[best].d);
    snprintf(out->selector, sizeof(out->selector), "%s", v->sigs[best].s);
    out->aligned = dkim_aligned(v->sigs[best].d, v->from_domain);
    out->no_tlsrpt = v->sigs[best].no_tlsrpt;
}
