/*
 * metrics.h - process counters for GET /metrics (Prometheus text format
 * 0.0.4).  Counting is lock-free (C11 atomics) and safe from any thread.
 */
#ifndef RUAD_METRICS_H
#define RUAD_METRICS_H

#include "buf.h"
#include "inbound_state.h"
#include "result.h"

enum metrics_path {
    MP_TLSRPT, MP_HEALTHZ, MP_READYZ, MP_METRICS, MP_API, MP_WEB, MP_OTHER,
    MP_N
};

void metrics_init(void);
/* metrics_request - one HTTP request answered with status */
void metrics_request(enum metrics_path path, unsigned status);
/* metrics_verdict - a worker decided a row: its verdict, or PENDING (put
 * back for another try) */
void metrics_verdict(enum inbound_state state, unsigned dmarc_stored,
    unsigned tlsrpt_stored);

/*
 * metrics_rate_limited - a report refused by a rate limit (channel smtp
 * or https; key ip or sender)
 */
void metrics_rate_limited(const char *channel, const char *key);
/* metrics_identical - a report byte-identical to one stored: answered as
 * stored, nothing kept (channel smtp, https or imap) */
void metrics_identical(const char *channel);

/*
 * metrics_add_section - fn appends more metrics at each render (a module
 * with its own counters, e.g. imap.c); call before serving.
 */
void metrics_add_section(enum ruad_rc (*fn)(struct buf *b));

/*
 * The database's figures reach this module through a hook, so it knows no
 * store: fn reads those of db (what was passed to metrics_render): the
 * rows waiting for a worker and the age of the oldest, and each count of
 * inbound rows by channel and state through row(ctx, ...).  Set before
 * serving by whoever starts the server (store_stats_figures).
 */
typedef void (*metrics_row_fn)(void *ctx, const char *channel,
    const char *state, long long rows);
typedef void (*metrics_db_fn)(const void *db, long long *queue_depth,
    double *oldest_age_s, metrics_row_fn row, void *ctx);
void metrics_set_db_hook(metrics_db_fn fn);

/*
 * metrics_render - every metric as Prometheus text into b: the counters,
 * the database figures in db (read through the hook; NULL when the
 * database did not answer), and the seconds until the certificate
 * expires (cert_expiry <= 0: no certificate).
 */
enum ruad_rc metrics_render(struct buf *b, const void *db,
    long long cert_not_after);

#endif /* RUAD_METRICS_H */
