/*
 * dkim_sig.c - DKIM-Signature fields (see dkim.h): the tag lists they
 * share with key records (RFC 6376 3.2), their tags (3.5), and the field
 * with the value of b= removed, as the header hash takes it (3.7).
 *
 * SECURITY: signatures are peer data.  A tag list holds a fixed number of
 * tags, h= at most DKIM_H_MAX names, and base64 decodes into a buffer of
 * the caller's size.
 */
#include "dkim.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "dkim_priv.h"

/* ---- small helpers ---- */

/* b64_decode - base64 without whitespace into out (cap); length or -1 */
long
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
char *
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
bool
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

/* ---- signatures ---- */

void
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
bool
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
enum ruad_rc
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
