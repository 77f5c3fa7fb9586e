/*
 * tlsrpt_json.h - RFC 8460 SMTP TLS report (JSON) -> struct tlsrpt_report.
 */
#ifndef RUAD_TLSRPT_JSON_H
#define RUAD_TLSRPT_JSON_H

#include <stddef.h>

#include "report.h"
#include "result.h"

/*
 * tlsrpt_json_parse - parse one report held whole in (json, len).  The
 * length is checked against lim->json_max and the nesting against
 * lim->json_depth_max before jansson sees the bytes.  *out is set only on
 * RUAD_OK; the caller frees it with tlsrpt_report_free().  Errors and
 * warnings go to diag.
 */
enum ruad_rc tlsrpt_json_parse(const char *json, size_t len,
    const struct report_limits *lim, struct report_diag *diag,
    struct tlsrpt_report **out);

#endif /* RUAD_TLSRPT_JSON_H */
