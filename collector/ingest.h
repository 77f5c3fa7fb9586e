/*
 * ingest.h - group commit of received reports: the acknowledgement point
 * of `ruad serve` (HTTP 202, SMTP 250).
 *
 * Request threads hand a job (what arrived and its bytes) to ingest_submit
 * and go on serving other connections; a few storing threads each take
 * everything queued, insert it with one commit (store_inbound_insert_batch)
 * and hand every job back through its done callback with the outcome.
 * Under load many reports share one transaction and one WAL fsync; alone,
 * a report is stored as soon as it arrives.  A report byte-identical to
 * one stored before is not stored again (store_inbound_insert_batch
 * skips it in the same statement) and is answered as stored.
 */
#ifndef RUAD_INGEST_H
#define RUAD_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "result.h"
#include "store_pg.h"

#define INGEST_BATCH_MAX   256          /* rows in one commit */
#define INGEST_BATCH_BYTES (32u << 20)  /* bytes in one commit (>= 1 row) */

struct ingest;

/* One received thing on its way to the database; the submitter owns it. */
struct ingest_job {
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
    void              (*done)(struct ingest_job *j);
    void               *ctx;    /* the submitter's */
    struct ingest_job  *next;   /* ingest's */
};

/*
 * ingest_start - threads storing threads with their own database
 * connections (opened on first use and again after a failure);
 * on_stored (may be NULL) is called after each commit, to wake the
 * workers.  NULL only when out of memory.
 */
struct ingest *ingest_start(const char *url, unsigned threads,
    void (*on_stored)(void));

/* ingest_submit - queue j; j->done will be called exactly once */
void ingest_submit(struct ingest *g, struct ingest_job *j);

/*
 * ingest_busy - are reports arriving now (jobs queued or being stored, or
 * a commit within the last INGEST_BUSY_MS)?  The workers give way then.
 */
#define INGEST_BUSY_MS 20
bool ingest_busy(struct ingest *g);

/* ingest_stop - store what is queued, answer it, stop the threads and
 * free g */
void ingest_stop(struct ingest *g);

#endif /* RUAD_INGEST_H */
