/*
 * dmarc_xml.h - streaming parser for DMARC aggregate reports in XML
 * (RFC 7489 appendix C and RFC 9990), with or without namespace.
 */
#ifndef RUAD_DMARC_XML_H
#define RUAD_DMARC_XML_H

#include "report.h"
#include "result.h"

/*
 * dmarc_xml_parse - pull the document from rd (rdctx), hand each record to
 * sink->dmarc_record as soon as it is complete, and the finished report to
 * sink->dmarc_done.  Memory does not grow with the number of records.
 * Returns RUAD_OK when a report with every required field was delivered;
 * otherwise the error is in diag->error (with the line where known) and,
 * if records were handed on, sink->dmarc_abort has been called.
 */
enum ruad_rc dmarc_xml_parse(report_read_fn rd, void *rdctx,
    const struct report_limits *lim, const struct report_sink *sink,
    struct report_diag *diag);

#endif /* RUAD_DMARC_XML_H */
