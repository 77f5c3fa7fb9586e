/*
 * imap_resp.h - the few IMAP server responses (RFC 3501 7.2.4, 7.4.2)
 * that libcurl hands to its caller as text: STATUS and the untagged FETCH
 * lines of `UID FETCH n:* (UID RFC822.SIZE FLAGS)`.  Pure functions over
 * memory (no sockets, no curl), so they are unit tested and fuzzed.
 */
#ifndef RUAD_IMAP_RESP_H
#define RUAD_IMAP_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "result.h"

#define IMAP_RESP_LINE_MAX 8192  /* one untagged line with its CRLF;
                                    longer ones are skipped, counted bad */

/* The items of one `* STATUS mailbox (...)` response. */
struct imap_status {
    uint32_t uidvalidity;    /* 0: not given */
    uint32_t uidnext;        /* 0: not given */
    uint32_t messages;
    bool     has_messages;
};

/*
 * imap_resp_status - find the STATUS response in the text libcurl wrote
 * (CRLF or LF separated lines).  RUAD_OK when one was found with a
 * non-zero UIDVALIDITY; RUAD_MALFORMED otherwise.
 */
enum ruad_rc imap_resp_status(const char *buf, size_t len,
    struct imap_status *out);

/* One message of a mailbox listing. */
struct imap_msg {
    uint32_t uid;
    uint64_t size;           /* RFC822.SIZE */
    bool     seen;           /* \Seen was set before we fetched it */
};

/*
 * A streaming reader of FETCH lines: it keeps the max smallest UIDs that
 * are >= min_uid (whatever order the server sends them in), so memory is
 * bounded by the batch size, not by the mailbox.
 */
struct imap_list {
    struct imap_msg *msgs;       /* borrowed, room for max */
    size_t           n, max;
    uint32_t         min_uid;
    bool             more;       /* wanted UIDs past the batch were seen */
    unsigned         bad;        /* FETCH lines that did not parse */
    size_t           line_len;
    bool             overlong;   /* in a line past IMAP_RESP_LINE_MAX */
    char             line[IMAP_RESP_LINE_MAX];
};

void imap_list_init(struct imap_list *l, struct imap_msg *msgs, size_t max,
    uint32_t min_uid);
/* imap_list_feed - more bytes of the response; never fails */
void imap_list_feed(struct imap_list *l, const char *buf, size_t len);
/* imap_list_finish - the last line; sorts msgs by UID, drops repeats */
void imap_list_finish(struct imap_list *l);

/*
 * imap_quote - s as an IMAP quoted string (RFC 3501 4.3) into dst; false
 * if it holds a byte a quoted string cannot carry (CR, LF, NUL, 8-bit)
 * or does not fit.
 */
bool imap_quote(const char *s, char *dst, size_t dstlen);

#endif /* RUAD_IMAP_RESP_H */
