/*
 * decompress.h - turn the bytes someone sent into the report bytes inside:
 * gzip (one or several members), zip (report members only) or plain,
 * recognised by magic bytes alone, streamed, and capped in output size and
 * in compression ratio.
 *
 * Usage:
 *     d = decompress_new_mem(p, n, lim, diag);    (or decompress_new_fd)
 *     while ((rc = decompress_next(d, &name)) == RUAD_OK)
 *         while ((rc = decompress_read(d, buf, sizeof(buf), &got)) ==
 *             RUAD_OK && got > 0)
 *             ... consume ...
 *     (rc == RUAD_EOF after the last part)
 *     decompress_free(d);
 */
#ifndef RUAD_DECOMPRESS_H
#define RUAD_DECOMPRESS_H

#include <stddef.h>

#include "report.h"
#include "result.h"

struct decompress;

/*
 * decompress_new_mem - read from (data, len), borrowed until free.
 * decompress_new_fd  - read from fd (not closed by us; a zip needs it to be
 *                      a regular file).
 * NULL only on allocation failure.  Errors and warnings go to diag, which
 * is borrowed until decompress_free().
 */
struct decompress *decompress_new_mem(const void *data, size_t len,
    const struct report_limits *lim, struct report_diag *diag);
struct decompress *decompress_new_fd(int fd, const struct report_limits *lim,
    struct report_diag *diag);
void decompress_free(struct decompress *d);

/*
 * decompress_next - move to the next part: the whole stream for gzip and
 * plain, the next .xml or .json member for zip.  *name is the member name
 * (borrowed, already escaped for display; never use it as a path) or NULL.
 * RUAD_OK: a part is ready; RUAD_EOF: no more parts; else an error.
 */
enum ruad_rc decompress_next(struct decompress *d, const char **name);

/*
 * decompress_read - up to cap bytes of the current part; *got == 0 at its
 * end.  RUAD_LIMIT past a cap, RUAD_MALFORMED on corrupt input.
 */
enum ruad_rc decompress_read(struct decompress *d, char *buf, size_t cap,
    size_t *got);

/* decompress_format - "gzip", "zip", "plain" (after the first next) */
const char *decompress_format(const struct decompress *d);

/* decompress_read_cb - decompress_read() as a report_read_fn (ctx = d) */
enum ruad_rc decompress_read_cb(void *ctx, char *buf, size_t cap,
    size_t *got);

#endif /* RUAD_DECOMPRESS_H */
