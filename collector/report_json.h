/*
 * report_json.h - the normalised model as JSON text (docs/report-json.md):
 * what `ruad parse` prints and, later, what the API serves.
 */
#ifndef RUAD_REPORT_JSON_H
#define RUAD_REPORT_JSON_H

#include "buf.h"
#include "report.h"
#include "result.h"

/*
 * report_json_dmarc_open - append the DMARC report object up to and
 * including `"records":[`; the caller appends the records (comma
 * separated) and then `]}`.  Records stream, the header is small.
 */
enum ruad_rc report_json_dmarc_open(struct buf *b,
    const struct dmarc_report *rep);
/* report_json_dmarc_record - append one record object */
enum ruad_rc report_json_dmarc_record(struct buf *b,
    const struct dmarc_record *rec);
/* report_json_tlsrpt - append one whole TLS report object */
enum ruad_rc report_json_tlsrpt(struct buf *b,
    const struct tlsrpt_report *rep);
/* report_json_string - append s as a JSON string, or null when s is NULL */
enum ruad_rc report_json_string(struct buf *b, const char *s);

#endif /* RUAD_REPORT_JSON_H */
