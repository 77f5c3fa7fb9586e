/*
 * imap.h - pull report mail from existing mailboxes (RFC 3501) with
 * libcurl: one poller thread per `imap.NAME` source inside `ruad serve`,
 * or one poll at a time (`ruad imap-fetch`).
 */
#ifndef RUAD_IMAP_H
#define RUAD_IMAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "result.h"
#include "store_pg.h"

/* imap_global_init - once, before any other thread starts (libcurl) */
void imap_global_init(void);

/* What one poll did. */
struct imap_poll_result {
    unsigned listed;         /* new messages seen */
    unsigned stored;         /* inbound rows committed */
    unsigned too_large;      /* of which past max_message_size */
    unsigned identical;      /* not stored: byte-identical to a kept row */
    unsigned acted;          /* actions done (flag, move) */
    char     error[512];     /* why the poll failed ("" if it did not) */
};

/* Called after each committed inbound row (wake a worker, or collect). */
typedef void (*imap_stored_fn)(void *ctx, int64_t inbound_id);

/*
 * imap_poll - one poll of source s: log in, check UIDVALIDITY, finish the
 * actions left from before, then list, fetch, store and act on new
 * messages in batches until none is left or *stop turns true (the
 * message in hand is finished first).  RUAD_OK, or the failure with
 * r->error set: RUAD_TEMPFAIL (server or database unreachable), RUAD_IO
 * (credentials unreadable), RUAD_MALFORMED (server answer not understood).
 */
enum ruad_rc imap_poll(const struct config *cfg,
    const struct imap_source_cfg *s, struct store *st, const atomic_bool *stop,
    imap_stored_fn stored, void *ctx, struct imap_poll_result *r);

struct imap_pollers;

/*
 * imap_start - a thread per configured source, polling every
 * poll_interval, retrying a failed poll after IMAP_BACKOFF_MIN_S seconds,
 * doubling up to IMAP_BACKOFF_MAX_S.  NULL when there are no sources.
 */
struct imap_pollers *imap_start(const struct config *cfg,
    void (*kick)(void));
/* imap_stop - each poller finishes the message in hand, then ends */
void imap_stop(struct imap_pollers *p);

/* imap_metrics_render - per source: last good poll, fetched, errors */
enum ruad_rc imap_metrics_render(struct buf *b);

#endif /* RUAD_IMAP_H */
