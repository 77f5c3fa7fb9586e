/* decompress.c - placeholder until the real module lands */
#include "decompress.h"
struct decompress { int unused; };
struct decompress *decompress_new_mem(const void *data, size_t len,
    const struct report_limits *lim, struct report_diag *diag)
{ (void)data; (void)len; (void)lim; (void)diag; return NULL; }
struct decompress *decompress_new_fd(int fd, const struct report_limits *lim,
    struct report_diag *diag) { (void)fd; (void)lim; (void)diag; return NULL; }
void decompress_free(struct decompress *d) { (void)d; }
enum ruad_rc decompress_next(struct decompress *d, const char **name)
{ (void)d; (void)name; return RUAD_INTERNAL; }
enum ruad_rc decompress_read(struct decompress *d, char *buf, size_t cap,
    size_t *got) { (void)d; (void)buf; (void)cap; (void)got; return RUAD_INTERNAL; }
const char *decompress_format(const struct decompress *d) { (void)d; return "plain"; }
enum ruad_rc decompress_read_cb(void *ctx, char *buf, size_t cap, size_t *got)
{ return decompress_read(ctx, buf, cap, got); }
