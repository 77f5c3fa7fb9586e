/*
 * store_pg.h - everything ruad keeps, in PostgreSQL (libpq).  The only
 * module that speaks SQL; every statement is parameterised.  Its files:
 * store_pg.c (connection, pool), store_migrate.c (migrations),
 * store_inbound.c (the inbound queue, IMAP UIDs), store_report.c (reports
 * and rollups), store_stats.c (figures); what they share is in
 * store_priv.h.
 *
 * One struct store is one connection, used by one thread at a time.
 */
#ifndef RUAD_STORE_PG_H
#define RUAD_STORE_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inbound_state.h"
#include "report.h"
#include "result.h"
#include "store_migrate.h"

struct store;

/*
 * store_open - connect to url (a libpq URI or key=value string); NULL with
 * the reason in err when the database cannot be reached.
 */
struct store *store_open(const char *url, char *err, size_t errlen);
void store_close(struct store *st);
/* store_error - the last error text (libpq's, one line) */
const char *store_error(const struct store *st);

/* What is known of a received thing besides its bytes. */
struct inbound_meta {
    const char  *channel;        /* smtp | https | import | imap */
    const char  *peer_addr;      /* textual IP or NULL */
    const char  *source_name;    /* file name, mailbox, or NULL */
    const char  *smtp_helo;
    const char  *smtp_mail_from;
    const char **smtp_rcpt_to;   /* n_rcpt_to strings */
    size_t       n_rcpt_to;
    const char  *tls_version;
    const char  *tls_cipher;
    const char  *content_type;
    enum inbound_state state;    /* PENDING; TOO_LARGE without bytes */
    const char  *reason;
};

/*
 * The inserts of inbound rows (store_inbound_insert, _batch, and
 * store_imap_insert) are receipt.c's alone: it is the one way in.
 *
 * store_inbound_insert - the acknowledgement point: the bytes are
 * committed (durably: synchronous_commit as the server has it) when this
 * returns RUAD_OK.  RUAD_TEMPFAIL when the database is unreachable.
 * size is the real size (it may exceed len for a too_large row).
 */
enum ruad_rc store_inbound_insert(struct store *st,
    const struct inbound_meta *m, const void *raw, size_t len, uint64_t size,
    int64_t *id);

/* One row of store_inbound_insert_batch. */
struct store_inbound_item {
    const struct inbound_meta *m;
    const void                *raw;
    size_t                     len;
    uint64_t                   size;     /* real size, may exceed len */
    size_t                     skip;     /* leading bytes of raw that are
                                          * ours (SMTP: the Received
                                          * header), not in the sha256 */
    bool                       once;     /* not if byte-identical to a
                                          * kept row (kept_sha256) */
    unsigned char              sha256[32];  /* out: of raw */
    unsigned char              kept[32];    /* out: of raw past skip */
    int64_t                    id;       /* out: the row, when rc is OK */
    bool                       identical;/* out: rc OK but nothing stored
                                          * (once, and a row with these
                                          * bytes is kept): id 0 */
    enum ruad_rc               rc;       /* out: RUAD_OK when committed */
};

/*
 * store_inbound_insert_batch - the same for n rows with one commit (one
 * INSERT of them all).  A pending row with once set is kept as the first
 * copy of its bytes (inbound.kept_sha256, unique), so a byte-identical
 * once row is skipped in the same statement, even when
 * another transaction stores the same bytes at the same moment (it waits
 * for that one's commit).  When a row is refused the batch is rolled back
 * and each row stored alone, so only that one fails.  Each item's rc says
 * whether it is committed (durably); the result is RUAD_OK when all are.
 */
enum ruad_rc store_inbound_insert_batch(struct store *st,
    struct store_inbound_item *it, size_t n);

/* A claimed inbound row (store_row_clear frees it). */
struct store_row {
    int64_t  id;
    char    *channel;
    char    *content_type;
    char    *source_name;
    char    *raw;            /* owned */
    size_t   len;
    int      attempts;       /* including this one */
    int64_t  age_s;          /* seconds since it was received */
};

void store_row_clear(struct store_row *row);

/*
 * store_claim - take the oldest row that is pending (or processing with
 * no live worker holding it), or only row only_id when it is > 0: mark it
 * processing, count the attempt (committed), then open the transaction
 * that holds the row's lock while it is processed.  RUAD_EOF when there
 * is nothing to do; RUAD_BUSY when another worker took the oldest row
 * first (try again).
 */
enum ruad_rc store_claim(struct store *st, int64_t only_id,
    struct store_row *row);

/*
 * A sink that stores reports inside the claim's transaction: records are
 * batched and sent with COPY; each report gets a savepoint, its daily
 * rollups, and is stored once (duplicates are counted, not stored).
 *
 * Copies under one key (db/008_report_copies.sql): a report with an
 * aligned DKIM pass replaces a stored one without (that one's row becomes
 * superseded); else a copy with the same content is a duplicate, and one
 * with other content a conflict (kept out, with a warning).
 */
struct store_sink_stats {
    unsigned stored;         /* reports newly stored */
    unsigned stored_dmarc, stored_tlsrpt;
    unsigned duplicates;     /* reports already there */
    unsigned conflicts;      /* same key, other content: not stored */
    unsigned superseded;     /* stored ones this row's reports replaced */
    char     keys[1024];     /* "dmarc ORG REPORT_ID DOMAIN DAY, ..." */
};

struct store_sink;

/*
 * store_sink_new - a sink for the reports of inbound row inbound_id; *out
 * is filled with its callbacks.  dkim: the mail's verdict (NULL: not
 * mailed); conflicts and replacements are noted in diag (borrowed).  NULL
 * on allocation failure.
 */
struct dkim_summary;
struct store_sink *store_sink_new(struct store *st, int64_t inbound_id,
    const struct dkim_summary *dkim, struct store_sink_stats *stats,
    struct report_diag *diag, struct report_sink *out);

/* store_inbound_dkim - the mail's DKIM verdict on its inbound row (in the
 * claim's transaction) */
enum ruad_rc store_inbound_dkim(struct store *st, int64_t id,
    const struct dkim_summary *dkim);
/* store_sink_rc - the first database error the sink met (RUAD_OK if none) */
enum ruad_rc store_sink_rc(const struct store_sink *k);
void store_sink_free(struct store_sink *k);

/*
 * store_finish - record the verdict, commit, and release the row.
 * warnings may be NULL.  On a database error the transaction is rolled
 * back and RUAD_TEMPFAIL returned (the row stays for a retry).
 */
enum ruad_rc store_finish(struct store *st, int64_t id,
    enum inbound_state state, const char *reason, char *const *warnings,
    size_t n_warnings);

/*
 * store_retry - roll back the claim's transaction and put the row back to
 * pending, to be tried again after delay_s seconds, with the reason.
 */
enum ruad_rc store_retry(struct store *st, int64_t id, const char *reason,
    int delay_s);
/* store_retry_uncounted - the same, and the attempt does not count (a
 * temporary DNS failure must never turn into a failed row) */
enum ruad_rc store_retry_uncounted(struct store *st, int64_t id,
    const char *reason, int delay_s);

/*
 * store_rows_in_state - ids of rows in state past after_id, in id order,
 * at most max: a cursor (pass the last id back), so a walk ends even when
 * the rows it touches land in the same state again.
 */
enum ruad_rc store_rows_in_state(struct store *st, enum inbound_state state,
    int64_t after_id, int64_t *ids, size_t max, size_t *n);

/* store_requeue - put a decided row back to pending (ruad reprocess) */
enum ruad_rc store_requeue(struct store *st, int64_t id);

/*
 * IMAP sources (db/004_imap.sql).  store_imap_mailbox - the mailbox's
 * row for this UIDVALIDITY: *last_uid is the highest UID stored (0 when
 * new, or when UIDVALIDITY changed: *reset, and the actions still due
 * under the old one are dropped).
 */
enum ruad_rc store_imap_mailbox(struct store *st, const char *source,
    const char *mailbox, uint32_t uidvalidity, uint32_t *last_uid,
    bool *reset);
/* store_imap_due - UIDs stored whose action is not done, lowest first */
enum ruad_rc store_imap_due(struct store *st, const char *source,
    const char *mailbox, uint32_t uidvalidity, uint32_t *uids, size_t max,
    size_t *n);

/* Where an IMAP message came from, and what is to be done with it. */
struct store_imap_uid {
    const char *source, *mailbox;
    uint32_t    uidvalidity, uid;
    const char *action;          /* keep | flag | move */
    bool        acted;           /* nothing left to do (keep) */
};

/*
 * store_imap_insert - the inbound row (as store_inbound_insert) and the
 * message's UID in one transaction, so a UID is stored exactly once.
 * RUAD_DUPLICATE: that UID was stored already (by another instance).  A message
 * byte-identical to a kept row is not stored again: *identical, and the
 * UID points at the kept row (*id).
 */
enum ruad_rc store_imap_insert(struct store *st,
    const struct inbound_meta *m, const void *raw, size_t len, uint64_t size,
    const struct store_imap_uid *u, int64_t *id, bool *identical);
/* store_imap_acted - the message's action is done */
enum ruad_rc store_imap_acted(struct store *st, const char *source,
    const char *mailbox, uint32_t uidvalidity, uint32_t uid);

/*
 * store_async_commit - this connection's commits no longer wait for the
 * WAL fsync (synchronous_commit off): for the workers alone, whose work
 * is redone from the durable inbound row if the database loses it in a
 * crash.  Never for a connection that acknowledges anything.
 */
enum ruad_rc store_async_commit(struct store *st);

/* store_healthy - is the connection usable (connected, no open txn)? */
bool store_healthy(const struct store *st);

/*
 * A pool of connections for request threads: get one (opened on demand,
 * up to max), use it, put it back.  A broken connection put back is
 * closed, so the next get opens a fresh one.
 */
struct store_pool;

struct store_pool *store_pool_new(const char *url, unsigned max);
void store_pool_free(struct store_pool *p);
/* store_pool_get - NULL (reason in err) when none is free within wait_ms
 * or the database cannot be reached */
struct store *store_pool_get(struct store_pool *p, unsigned wait_ms,
    char *err, size_t errlen);
void store_pool_put(struct store_pool *p, struct store *st);

/* Figures for /metrics and /readyz. */
struct store_stats {
    int64_t  queue_depth;        /* rows pending or processing */
    double   oldest_age_s;       /* age of the oldest of them, 0 if none */
    size_t   n_counts;
    struct {
        char    channel[16];
        char    state[16];
        int64_t rows;
    }        counts[64];         /* inbound rows by channel and state */
};

enum ruad_rc store_stats(struct store *st, struct store_stats *out);

/*
 * store_stats_figures - the figures of stats (a struct store_stats) one
 * by one: the shape of metrics.h's database hook, so that metrics needs
 * no store (metrics_set_db_hook(store_stats_figures)).
 */
void store_stats_figures(const void *stats, long long *queue_depth,
    double *oldest_age_s, void (*row)(void *ctx, const char *channel,
    const char *state, long long rows), void *ctx);

/*
 * store_query_row - run a parameterised query and copy the first ncols
 * values of its first row into vals[] (malloc'd, NUL-terminated, caller
 * frees; NULL for SQL NULL).  *found false: no row.  binary asks for
 * binary results (bytea as its bytes).  For the query API (store_api.c).
 */
enum ruad_rc store_query_row(struct store *st, const char *what,
    const char *sql, int n, const char *const *params, bool binary,
    int ncols, char **vals, size_t *lens, bool *found);

#endif /* RUAD_STORE_PG_H */
