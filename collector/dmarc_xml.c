/* dmarc_xml.c - placeholder until the real module lands */
#include "dmarc_xml.h"
enum ruad_rc dmarc_xml_parse(report_read_fn rd, void *rdctx,
    const struct report_limits *lim, const struct report_sink *sink,
    struct report_diag *diag)
{ (void)rd; (void)rdctx; (void)lim; (void)sink;
  return report_diag_fail(diag, RUAD_INTERNAL, "not implemented"); }
