/*
 * buf.h - a growable byte buffer whose maximum size is always set.
 *
 * A buf never grows past its cap: buf_append() returns RUAD_LIMIT instead,
 * so peer data can never make a buffer unbounded.  The contents are kept
 * NUL-terminated for convenience, but every user treats them as (ptr, len).
 */
#ifndef RUAD_BUF_H
#define RUAD_BUF_H

#include <stddef.h>

#include "result.h"

struct buf {
    char   *data;   /* owned; NULL until the first append */
    size_t  len;
    size_t  cap;    /* allocated, excluding the NUL */
    size_t  max;    /* hard limit on len */
};

/* buf_init - empty buffer that may grow to max bytes */
void buf_init(struct buf *b, size_t max);
/* buf_free - release memory; the buf is empty (and reusable) afterwards */
void buf_free(struct buf *b);
/* buf_reset - forget contents, keep memory */
void buf_reset(struct buf *b);

/* buf_prealloc - room for n more bytes at once (a known length), so the
 * buffer does not grow by doubling; RUAD_LIMIT past the cap */
enum ruad_rc buf_prealloc(struct buf *b, size_t n);
enum ruad_rc buf_append(struct buf *b, const void *p, size_t n);
enum ruad_rc buf_append_str(struct buf *b, const char *s);
enum ruad_rc buf_append_byte(struct buf *b, unsigned char c);
/* buf_printf - append formatted text; RUAD_LIMIT past the cap */
enum ruad_rc buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* buf_take - hand the NUL-terminated contents to the caller (who frees) */
char *buf_take(struct buf *b);

static inline const char *buf_ptr(const struct buf *b)
{
    return b->data != NULL ? b->data : "";
}

static inline size_t buf_len(const struct buf *b)
{
    return b->len;
}

#endif /* RUAD_BUF_H */
