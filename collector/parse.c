/* parse.c - placeholder */
#include "report.h"
enum ruad_rc report_parse_fd(int fd, const struct report_limits *lim,
    const struct report_sink *sink, struct report_diag *diag,
    unsigned *n_reports)
{ (void)fd; (void)lim; (void)sink; (void)n_reports;
  return report_diag_fail(diag, RUAD_INTERNAL, "not implemented"); }
enum ruad_rc report_parse_mem(const void *data, size_t len,
    const struct report_limits *lim, const struct report_sink *sink,
    struct report_diag *diag, unsigned *n_reports)
{ (void)data; (void)len; (void)lim; (void)sink; (void)n_reports;
  return report_diag_fail(diag, RUAD_INTERNAL, "not implemented"); }
