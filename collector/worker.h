/*
 * worker.h - the pipeline every received thing goes through: DKIM (mail),
 * MIME (mail), decompress, parse, into a sink (worker_pipeline); for an
 * inbound row (worker_process) the sink stores each report once and the
 * row gets its verdict.  `ruad parse` runs the same pipeline with a sink
 * that prints JSON.  Also the worker pool of `ruad serve`.
 */
#ifndef RUAD_WORKER_H
#define RUAD_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "dkim.h"
#include "inbound_state.h"
#include "report.h"
#include "result.h"
#include "store_pg.h"

#define WORKER_ATTEMPTS_MAX 3      /* then the row is failed */
#define WORKER_RETRY_BASE_S 60     /* 60 s, 120 s, 240 s, ... */

struct worker_result {
    int64_t            id;           /* the inbound row */
    enum inbound_state state;        /* its verdict, or PENDING (retry) */
    char               reason[512];
    char               keys[1024];   /* the reports, for a log line */
    char               dkim[320];    /* "pass d=google.com aligned", or "" */
    unsigned           stored, duplicates;
    unsigned           stored_dmarc, stored_tlsrpt;
};

/* A mail's DKIM check (worker_dkim). */
struct worker_dkim_check {
    struct dkim_verdict v;
    struct dkim_summary sum;
    char                tempfail[400];  /* why a key could not be fetched */
    char                dns_error[256]; /* no resolver (dns_new), or "" */
};

/*
 * worker_dkim - the one DKIM driver: verify every signature of the mail
 * (raw, len), its keys looked up through cfg->dns_server within
 * cfg->dkim_dns_budget_ms (see worker_dns_waiters).  RUAD_OK;
 * RUAD_TEMPFAIL when a key could not be fetched now and nothing passed
 * (d->tempfail says which); RUAD_NOMEM, with an empty verdict in d.
 */
enum ruad_rc worker_dkim(const struct config *cfg, const char *raw,
    size_t len, struct worker_dkim_check *d);

/* What the pipeline runs over. */
struct worker_input {
    const char *raw;     /* the bytes (borrowed), or NULL: fd */
    size_t      len;
    int         fd;      /* with raw NULL: a report file, streamed (never
                            a mail) */
    bool        mail;    /* raw is a mail: its report parts (MIME) */
    bool        dkim;    /* and check its DKIM signatures first */
};

/* Where the pipeline's results go. */
struct worker_sink {
    void                     *ctx;
    /*
     * begin - once, before any report: d is the mail's DKIM check and
     * dkim_rc what worker_dkim returned (d NULL: none was made).  A
     * non-OK return ends the run with that code, nothing parsed.  May be
     * NULL.
     */
    enum ruad_rc            (*begin)(void *ctx, enum ruad_rc dkim_rc,
        const struct worker_dkim_check *d);
    const struct report_sink *reports;   /* then each report (borrowed) */
};

/*
 * worker_pipeline - the one pipeline, for the workers, import, reprocess
 * and `ruad parse`: DKIM (a mail, when in->dkim) -> begin -> MIME (a
 * mail) -> decompress -> parse, each report into out->reports.  Returns
 * what report_parse_mail/_mem/_fd return (RUAD_OK if at least one report
 * came through; diag->error says why not), or begin's code.
 */
enum ruad_rc worker_pipeline(const struct config *cfg,
    const struct worker_input *in, const struct worker_sink *out,
    struct report_diag *diag, unsigned *n_reports);

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
 * database connection, claim and process rows until stopped.  receipt
 * (borrowed until worker_pool_stop) tells them when reports are
 * arriving, so they give way to the senders.  One pool per process.
 */
struct receipt;

/* worker_pool_start - start the threads; RUAD_NOMEM */
enum ruad_rc worker_pool_start(const struct config *cfg,
    struct receipt *receipt);
/* worker_pool_kick - a row was stored: wake a worker (any thread, also
 * before the start) */
void worker_pool_kick(void);
/* worker_pool_stop - each worker finishes the row in hand; then joined */
void worker_pool_stop(void);

#endif /* RUAD_WORKER_H */
