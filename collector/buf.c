/*
 * buf.c - growable byte buffer with a mandatory cap (see buf.h).
 */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void
buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void
buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

/* buf_reserve - make room for n more bytes plus the NUL */
static enum ruad_rc
buf_reserve(struct buf *b, size_t n)
{
    size_t need, ncap;
    char  *p;

    if (n > b->max - b->len || b->len > b->max)
        return RUAD_LIMIT;
    need = b->len + n;
    if (need <= b->cap && b->data != NULL)
        return RUAD_OK;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > b->max / 2 ? b->max : ncap * 2;
    if (ncap > b->max)
        ncap = b->max;
    if (ncap < need)
        ncap = need;
    p = realloc(b->data, ncap + 1);
    if (p == NULL)
        return RUAD_NOMEM;
    b->data = p;
    b->cap = ncap;
    return RUAD_OK;
}

enum ruad_rc
buf_prealloc(struct buf *b, size_t n)
{
    enum ruad_rc rc;
    size_t       need, ncap;
    char        *p;

    if ((rc = buf_reserve(b, 0)) != RUAD_OK)
        return rc;
    if (n > b->max - b->len)
        return RUAD_LIMIT;
    need = b->len + n;
    if (need <= b->cap)
        return RUAD_OK;
    ncap = need;
    if ((p = realloc(b->data, ncap + 1)) == NULL)
        return RUAD_NOMEM;
    b->data = p;
    b->cap = ncap;
    b->data[b->len] = '\0';
    return RUAD_OK;
}

enum ruad_rc
buf_append(struct buf *b, const void *p, size_t n)
{
    enum ruad_rc rc;

    if ((rc = buf_reserve(b, n)) != RUAD_OK)
        return rc;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return RUAD_OK;
}

enum ruad_rc
buf_append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

enum ruad_rc
buf_append_byte(struct buf *b, unsigned char c)
{
    return buf_append(b, &c, 1);
}

enum ruad_rc
buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list      ap;
    int          n;
    char         small[256];
    enum ruad_rc rc;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return RUAD_INTERNAL;
    if ((size_t)n < sizeof(small))
        return buf_append(b, small, (size_t)n);
    if ((rc = buf_reserve(b, (size_t)n)) != RUAD_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return RUAD_OK;
}

char *
buf_take(struct buf *b)
{
    char *p;

    if (b->data == NULL && buf_reserve(b, 0) != RUAD_OK)
        return NULL;
    p = b->data;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
