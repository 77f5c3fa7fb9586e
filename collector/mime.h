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

/*
 * Facts about the message as a whole.  Strings are owned (malloc), valid
 * UTF-8, unfolded and trimmed, NULL when absent or empty; free them with
 * mime_info_clear().  They are peer text: escape them before logging.
 */
struct mime_info {
    char *from;            /* From header, decoded, or NULL */
    char *subject;         /* Subject, decoded (RFC 2047), or NULL */
    char *message_id;      /* Message-ID without <>, or NULL */
    char *report_domain;   /* TLS-Report-Domain (RFC 8460 5.3), or NULL */
    char *report_submitter;/* TLS-Report-Submitter, or NULL */
    bool  is_feedback;     /* a DMARC failure (ruf) or ARF report */
    unsigned n_parts;      /* MIME entities walked: the body, each
                              multipart and child, each message/rfc822
                              part and the body inside it */
    unsigned n_reports;    /* report parts handed to the callback */
};

/* mime_info_clear - free the strings and zero *info; NULL is a no-op */
void mime_info_clear(struct mime_info *info);

/*
 * mime_part_fn - one report part, transfer-decoded (base64,
 * quoted-printable or uuencode undone), still compressed if it was: the
 * bytes go through report_parse_mem() next.  len is never 0.
 * content_type is "type/subtype" in lower case as the part declared it;
 * filename is the Content-Disposition filename, else the Content-Type
 * name (RFC 2231 and RFC 2047 decoded, valid UTF-8), or NULL; it is peer
 * text and must never be used as a path.  All are borrowed for the call.
 */
typedef enum ruad_rc (*mime_part_fn)(void *ctx, const char *data,
    size_t len, const char *content_type, const char *filename);

/*
 * mime_walk - parse the message in (msg, len), LF or CRLF line ends, and
 * call fn for every part that may hold a report, in message order, after
 * the whole message has been walked (so nothing is handed on from a
 * failure report).  Returns RUAD_OK when at least one part was handed on;
 * RUAD_UNSUPPORTED (not a report) for a failure/ARF report or a message
 * without report parts; RUAD_LIMIT past a cap (lim->mime_header_max per
 * header block, lim->mime_parts_max entities, lim->mime_depth_max
 * nesting with the message body at depth 0, lim->decomp_out_max decoded
 * bytes per part); RUAD_MALFORMED when it is not a message at all (empty,
 * no header fields) or its only report parts are empty; or the first
 * non-OK return of fn, which ends the walk.  The reason is in
 * diag->error.  info may be NULL; otherwise it is zeroed on entry (clear
 * an old one first) and filled as far as the message was read, whatever
 * the result.  Thread-safe; GMime is initialised on first use.
 */
enum ruad_rc mime_walk(const char *msg, size_t len,
    const struct report_limits *lim, mime_part_fn fn, void *ctx,
    struct report_diag *diag, struct mime_info *info);

#endif /* RUAD_MIME_H */
