/*
 * receipt.h - durable receipt: the one way received bytes become an
 * inbound row, and so the acknowledgement point of every channel (SMTP
 * 250, HTTP 202, IMAP flag, `ruad import` line).  See DESIGN.md, "Data
 * flow".
 *
 * SMTP and HTTPS: the group commit.  Request threads hand a job (what
 * arrived and its bytes) to receipt_submit and go on serving other
 * connections; a few storing threads each take everything queued, insert
 * it with one commit (store_inbound_insert_batch) and hand every job back
 * through its done callback with the outcome.
 * Under load many reports share one transaction and one WAL fsync; alone,
 * a report is stored as soon as it arrives.  A report byte-identical to
 * one stored before is not stored again (store_inbound_insert_batch
 * skips it in the same statement) and is answered as stored.
 */
#ifndef RUAD_RECEIPT_H
#define RUAD_RECEIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inbound_state.h"
#include "result.h"
#include "store_pg.h"

#define RECEIPT_BATCH_MAX   256          /* rows in one commit */
#define RECEIPT_BATCH_BYTES (32u << 20)  /* bytes in one commit (>= 1 row) */

struct receipt;

/* One received thing on its way to the database; the submitter owns it. */
struct receipt_job {
    struct inbound_meta meta;   /* meta.state: pending, .reason: NULL */
    const void         *raw;
    size_t              len;
    size_t              skip;   /* leading bytes that are ours (SMTP's
                                 * Received header): not compared */
    /* set before done() is called */
    enum ruad_rc        rc;     /* RUAD_OK: committed; else tell the
                                 * sender to retry (RUAD_TEMPFAIL) */
    int64_t             id;     /* the inbound row, when rc is RUAD_OK */
    bool                identical;  /* rc RUAD_OK, id 0: the same bytes
                                 * are stored already, nothing new was
                                 * (answer as stored: the sender's copy
                                 * is safe) */
    /*
     * done - called once, from a storing thread, after the commit (or the
     * failure); the job is the submitter's again from then on.
     */
    void              (*done)(struct receipt_job *j);
    void               *ctx;    /* the submitter's */
    struct receipt_job *next;   /* receipt's */
};

/*
 * receipt_start - threads storing threads with their own database
 * connections (opened on first use and again after a failure);
 * on_stored (may be NULL) is called after each commit, to wake the
 * workers.  NULL only when out of memory.
 */
struct receipt *receipt_start(const char *url, unsigned threads,
    void (*on_stored)(void));

/* receipt_submit - queue j; j->done will be called exactly once */
void receipt_submit(struct receipt *g, struct receipt_job *j);

/*
 * receipt_busy - are reports arriving now (jobs queued or being stored, or
 * a commit within the last RECEIPT_BUSY_MS)?  The workers give way then.
 */
#define RECEIPT_BUSY_MS 20
bool receipt_busy(struct receipt *g);

/* receipt_stop - store what is queued, answer it, stop the threads and
 * free g */
void receipt_stop(struct receipt *g);

/*
 * The size rule of the channels that take a thing before they know its
 * size (ruad import, IMAP): up to max bytes the raw bytes are committed
 * as a pending row; a bigger thing is recorded as a too_large row with
 * its size and no bytes (the sender is told, and the fact is kept).  SMTP
 * and HTTPS refuse a body past their cap while reading it.
 */

/*
 * receipt_import - keep what arrived before anything else happens (ruad
 * import: len bytes at raw, NULL when len is past max).  RUAD_OK:
 * committed, *id set, *too_large says which; RUAD_TEMPFAIL: the database
 * is not answering, tell the sender to retry.  m->state and m->reason are
 * set here.
 */
enum ruad_rc receipt_import(struct store *st, struct inbound_meta *m,
    const void *raw, size_t len, size_t max, int64_t *id, bool *too_large);

/*
 * receipt_imap - an IMAP message and its UID (u), in one transaction, so
 * a UID is stored exactly once: size is the message's size (len bytes at
 * raw when it was fetched), limit names max in a too_large row's reason.
 * RUAD_DUPLICATE: that UID was stored already (by another instance).  A
 * message byte-identical to a kept row is not stored again: *identical,
 * and the UID points at the kept row (*id).  m->state and m->reason are
 * set here.
 */
enum ruad_rc receipt_imap(struct store *st, struct inbound_meta *m,
    const void *raw, size_t len, uint64_t size, uint64_t max,
    const char *limit, const struct store_imap_uid *u, int64_t *id,
    bool *too_large, bool *identical);

#endif /* RUAD_RECEIPT_H */
