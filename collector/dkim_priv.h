/*
 * dkim_priv.h - DKIM's internals shared by its files: the message split
 * into header fields and their canonical forms (dkim_canon.c), tag lists
 * and DKIM-Signature fields (dkim_sig.c), key records (dkim_key.c), all
 * used by the verification in dkim.c.  Only dkim*.c include it;
 * everything else sees dkim.h.
 */
#ifndef RUAD_DKIM_PRIV_H
#define RUAD_DKIM_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "result.h"

struct buf;

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

/* One tag of a tag list (tag_list): the value as written. */
struct tag {
    char        name[16];
    const char *v;
    size_t      vlen;
};

struct key {
    EVP_PKEY *pkey;
    bool      ed25519;
    bool      testing, strict, no_tlsrpt;
};

static inline bool
is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* dkim_sig.c */

/* b64_decode - base64 without whitespace into out (cap); length or -1 */
long b64_decode(const char *in, unsigned char *out, size_t cap);
/* strip_fws - copy of (p, n) without any whitespace or CRLF */
char *strip_fws(const char *p, size_t n);
/* tag_list - split "t1=v1; t2=v2" into up to max tags; false on a syntax
 * error or a duplicate tag */
bool tag_list(const char *p, size_t n, struct tag *tags, size_t max,
    size_t *nt);
void sig_clear(struct sig *s);
/* sig_parse - the tags of one DKIM-Signature; false with a reason */
bool sig_parse(const struct field *f, struct sig *s, char *why,
    size_t whylen);
/* sig_without_b - the signature field with b='s value removed */
enum ruad_rc sig_without_b(const struct field *f, struct buf *out);

/* dkim_canon.c */

/* msg_split - header fields and body of a CRLF message */
enum ruad_rc msg_split(const char *m, size_t len, struct msg *out);
bool field_is(const struct field *f, const char *name);
/* field_value - where the value of f starts (after the colon) */
const char *field_value(const struct field *f, size_t *n);
/* canon_header - one field, relaxed or simple, into b */
enum ruad_rc canon_header(struct buf *b, const char *p, size_t len,
    size_t name_len, bool relaxed, bool crlf);

/* dkim_key.c */

/* key_parse - one TXT record; false with a reason (revoked, bad, ...) */
bool key_parse(const char *rec, const char *alg_key, struct key *k,
    char *why, size_t whylen, bool *retry_other);

#endif
