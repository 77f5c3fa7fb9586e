/*
 * dkim_canon.c - the message as DKIM reads it (see dkim.h): its header
 * fields and body, and their canonical forms (RFC 6376 3.4), simple and
 * relaxed: one header field at a time for the header data, and
 * dkim_body_hash(), the SHA-256 of the canonical body (3.7) in one pass.
 *
 * SECURITY: the message is peer data.  The header block is capped
 * (DKIM_HEADER_MAX), at most DKIM_FIELDS_MAX fields are looked at, and
 * the body is hashed where it lies, never copied.
 */
#include "dkim.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "buf.h"
#include "dkim_priv.h"

#define DKIM_FIELDS_MAX 1000              /* header fields looked at */

/* ---- the message ---- */

/* msg_split - header fields and body of a CRLF message */
enum ruad_rc
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

bool
field_is(const struct field *f, const char *name)
{
    return f->name_len == strlen(name) &&
        strncasecmp(f->p, name, f->name_len) == 0;
}

/* field_value - where the value of f starts (after the colon) */
const char *
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
enum ruad_rc
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
