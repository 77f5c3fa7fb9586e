/*
 * mime.h - find the report parts of an email (RFC 5322, RFC 2045-2049)
 * with GMime: DMARC aggregate reports (RFC 7489 7.2.1.1) and SMTP TLS
 * reports (RFC 8460 5.3) as attachments or as the body.
 */
#ifndef RUAD_MIME_H
#define RUAD_MIME_H

#include <stdbool.h>
#include <stddef.h>

#include "report.h"
#include "result.h"

/* Facts about the message as a whole (strings owned; mime_info_clear). */
struct mime_info {
    char *from;            /* From header, decoded, or NULL */
    char *subject;         /* Subject, decoded (RFC 2047), or NULL */
    char *message_id;      /* Message-ID without <>, or NULL */
    char *report_domain;   /* TLS-Report-Domain (RFC 8460 5.3), or NULL */
    char *report_submitter;/* TLS-Report-Submitter, or NULL */
    bool  is_feedback;     /* a DMARC failure (ruf) or ARF report */
    unsigned n_parts;      /* MIME parts walked */
    unsigned n_reports;    /* report parts handed to the callback */
};

void mime_info_clear(struct mime_info *info);

/*
 * mime_part_fn - one report part, transfer-decoded (base64 or
 * quoted-printable undone), still compressed if it was: the bytes go
 * through report_parse_mem() next.  content_type is "type/subtype" in
 * lower case; filename is the part's name (RFC 2231 decoded) or NULL and
 * must never be used as a path.  All are borrowed for the call.
 */
typedef enum ruad_rc (*mime_part_fn)(void *ctx, const char *data,
    size_t len, const char *content_type, const char *filename);

/*
 * mime_walk - parse the message in (msg, len) and call fn for every part
 * that may hold a report.  Returns RUAD_OK when at least one part was
 * handed on; RUAD_UNSUPPORTED (not a report) for a failure/ARF report or
 * a message without report parts; RUAD_LIMIT past a cap; RUAD_MALFORMED
 * when it is not a message at all; or the first non-OK return of fn.
 * The reason is in diag->error; info (may be NULL) is filled either way.
 */
enum ruad_rc mime_walk(const char *msg, size_t len,
    const struct report_limits *lim, mime_part_fn fn, void *ctx,
    struct report_diag *diag, struct mime_info *info);

#endif /* RUAD_MIME_H */
