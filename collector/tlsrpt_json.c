/* tlsrpt_json.c - placeholder until the real module lands */
#include "tlsrpt_json.h"
enum ruad_rc tlsrpt_json_parse(const char *json, size_t len,
    const struct report_limits *lim, struct report_diag *diag,
    struct tlsrpt_report **out)
{ (void)json; (void)len; (void)lim; (void)out;
  return report_diag_fail(diag, RUAD_INTERNAL, "not implemented"); }
