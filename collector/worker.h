/*
 * worker.h - the pipeline every received thing goes through: claim an
 * inbound row, find its reports (MIME for mail), decompress, parse, store
 * each report once, and record the verdict.
 */
#ifndef RUAD_WORKER_H
#define RUAD_WORKER_H

#include <stdint.h>

#include "config.h"
#include "result.h"
#include "store_pg.h"

#define WORKER_ATTEMPTS_MAX 3      /* then the row is failed */
#define WORKER_RETRY_BASE_S 60     /* 60 s, 120 s, 240 s, ... */

struct worker_result {
    int64_t  id;                   /* the inbound row */
    char     state[16];            /* its verdict, or "pending" (retry) */
    char     reason[512];
    char     keys[1024];           /* the reports, for a log line */
    char     dkim[320];            /* "pass d=google.com aligned", or "" */
    unsigned stored, duplicates;
    unsigned stored_dmarc, stored_tlsrpt;
};

/*
 * worker_process - claim one row (only_id, or the oldest pending when 0),
 * process it and record the verdict.  RUAD_OK: a row was decided or put
 * back for a retry (res says which); RUAD_EOF: nothing to claim;
 * RUAD_BUSY: lost a race for a row, try again; RUAD_TEMPFAIL: the
 * database is not answering.
 */
enum ruad_rc worker_process(struct store *st, const struct config *cfg,
    int64_t only_id, struct worker_result *res);

/*
 * worker_dns_waiters - at most n workers at once wait on DNS with the
 * whole dkim_dns_budget_ms; the others get DKIM_DNS_BUSY_MS (limits.h).
 * `ruad serve` sets workers - 1, so silent name servers never hold every
 * worker; without a call there is no limit (import, reprocess).
 */
void worker_dns_waiters(unsigned n);

/*
 * The worker pool of `ruad serve`: cfg->workers threads, each with its own
 * database connection, claim and process rows until stopped.  ingest
 * (borrowed until worker_pool_stop) tells them when reports are
 * arriving, so they give way to the senders.  One pool per process.
 */
struct ingest;

/* worker_pool_start - start the threads; RUAD_NOMEM */
enum ruad_rc worker_pool_start(const struct config *cfg,
    struct ingest *ingest);
/* worker_pool_kick - a row was stored: wake a worker (any thread, also
 * before the start) */
void worker_pool_kick(void);
/* worker_pool_stop - each worker finishes the row in hand; then joined */
void worker_pool_stop(void);

#endif /* RUAD_WORKER_H */
