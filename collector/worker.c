/*
 * worker.c - the pipeline (see worker.h and DESIGN.md "Data flow"): the
 * one DKIM driver (worker_dkim), the one run from bytes to a sink of
 * reports (worker_pipeline), one inbound row through it with the store
 * as the sink (worker_process), and the worker pool of `ruad serve`.
 *
 * Verdicts: parsed (at least one report newly stored), duplicate (every
 * report was already there), not_a_report, malformed, too_large (the
 * parser's RUAD_UNSUPPORTED, RUAD_MALFORMED, RUAD_LIMIT), unauthenticated
 * (the DKIM policy kept every report out; the reason says which kind and
 * what DKIM gave), conflict (a stored report has the key and other
 * content), failed (a bug, or WORKER_ATTEMPTS_MAX attempts without a
 * verdict); superseded is given later, by store_report.c
 * (report_supersede), to a row whose report an authenticated copy
 * replaced.  A row POSTed to /tlsrpt gives
 * TLS reports only (RFC 8460 3): a DMARC report in it is not_a_report.
 * A database error puts the row back to pending with a growing delay; so
 * does a DKIM temperror (a key that could not be fetched within
 * dkim_dns_budget_ms), uncounted, until dkim_temperror_giveup after
 * receipt: then the temperror stands (no pass) and the policy decides.
 * The raw bytes are never touched: `ruad reprocess` can run a row that
 * holds no report again.
 *
 * SECURITY: the bytes are peer data; every limit comes from cfg->limits,
 * and the parsers and MIME walker never see the database.
 */
#include "worker.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "dkim.h"
#include "dns.h"
#include "receipt.h"
#include "limits.h"
#include "log.h"
#include "metrics.h"
#include "report.h"

/* What the walk over one row found. */
struct worker_ctx {
    const struct config     *cfg;
    struct store            *st;        /* borrowed */
    const struct store_row  *row;       /* the claimed row (borrowed) */
    struct worker_result    *res;       /* borrowed */
    struct report_sink       sink;      /* ours: the policy in front of */
    struct report_sink       store;     /* ...the store's sink */
    struct store_sink       *stored;    /* that sink (owned; worker_begin) */
    struct store_sink_stats  stats;
    struct dkim_summary      dsum;      /* of a mail; the store's sink has
                                           it */
    const char              *gave_up;   /* words: temperror given up */
    bool                     halted;    /* worker_begin ended the run... */
    enum ruad_rc             ret;       /* ...worker_process returns this */
    bool                     dmarc_ok;  /* DKIM policy lets DMARC reports
                                           in */
    bool                     tlsrpt_ok; /* and TLS reports */
    unsigned                 refused;   /* reports kept out by the policy */
    unsigned                 refused_dmarc, refused_tlsrpt;
    bool                     tls_only;  /* POSTed to /tlsrpt (RFC 8460 3) */
    unsigned                 not_tls;   /* DMARC reports it kept out */
    bool                     no_tlsrpt; /* the signing key's s= lacks
                                           tlsrpt */
    struct report_diag      *diag;      /* of the row: warnings and first
                                           error */
    enum ruad_rc             first;     /* first part's failure */
    char                     first_err[512];
};

/* The DKIM policy in front of the store (RFC 8460 5.3 for TLS reports). */
static enum ruad_rc
policy_dmarc_record(void *ctx, const struct dmarc_report *rep,
    const struct dmarc_record *rec)
{
    struct worker_ctx *w = ctx;

    if (w->tls_only) {                 /* stop reading it */
        w->not_tls++;
        return RUAD_UNSUPPORTED;
    }
    if (!w->dmarc_ok || w->store.dmarc_record == NULL)
        return RUAD_OK;
    return w->store.dmarc_record(w->store.ctx, rep, rec);
}

static enum ruad_rc
policy_dmarc_done(void *ctx, const struct dmarc_report *rep)
{
    struct worker_ctx *w = ctx;

    if (w->tls_only) {
        w->not_tls++;
        return RUAD_UNSUPPORTED;
    }
    if (!w->dmarc_ok) {
        w->refused++;
        w->refused_dmarc++;
        return RUAD_OK;
    }
    return w->store.dmarc_done(w->store.ctx, rep);
}

static void
policy_dmarc_abort(void *ctx)
{
    struct worker_ctx *w = ctx;

    if (w->dmarc_ok && !w->tls_only)
        w->store.dmarc_abort(w->store.ctx);
}

static enum ruad_rc
policy_tlsrpt_done(void *ctx, const struct tlsrpt_report *rep)
{
    struct worker_ctx *w = ctx;

    if (!w->tlsrpt_ok) {
        w->refused++;
        w->refused_tlsrpt++;
        return RUAD_OK;
    }
    if (w->no_tlsrpt)
        report_diag_warn(w->diag, "the DKIM key that signed this TLS "
            "report has s= without tlsrpt or * (RFC 8460 5.3)");
    return w->store.tlsrpt_done(w->store.ctx, rep);
}

/* trusted - is from (or a domain above it) in the comma list? */
static bool
trusted(const char *list, const char *from)
{
    const char *p = list, *d;
    size_t      n, fl = strlen(from);

    if (*from == '\0')
        return false;
    while (config_list_next(&p, &d, &n))
        if ((fl == n || (fl > n && from[fl - n - 1] == '.')) &&
            strncasecmp(from + fl - n, d, n) == 0)
            return true;
    return false;
}

/*
 * DNS waits never hold every worker: at most dns_waiters workers look up
 * keys with the full budget at once (workers - 1 under `ruad serve`; no
 * limit for import and reprocess, which have one); the others get
 * DKIM_DNS_BUSY_MS, enough for a name server that answers, and a mail
 * whose keys do not come in that time waits for a later attempt.
 */
static pthread_mutex_t dns_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned        dns_waiters = UINT_MAX;  /* free places */

void
worker_dns_waiters(unsigned n)
{
    pthread_mutex_lock(&dns_mu);
    dns_waiters = n;
    pthread_mutex_unlock(&dns_mu);
}

struct worker_lookup {
    struct dns *dns;
    unsigned    budget_ms;
    bool        short_budget;    /* another worker had the place */
};

/* worker_txt_many - the mail's key lookups, within its budget */
static void
worker_txt_many(void *ctx, const char *const *names, size_t n,
    struct dkim_txt *out)
{
    struct worker_lookup *wl = ctx;
    bool                  placed;

    pthread_mutex_lock(&dns_mu);
    if ((placed = dns_waiters > 0) && dns_waiters != UINT_MAX)
        dns_waiters--;
    pthread_mutex_unlock(&dns_mu);
    wl->short_budget = !placed && wl->budget_ms > DKIM_DNS_BUSY_MS;
    dns_budget(wl->dns, wl->short_budget ? DKIM_DNS_BUSY_MS :
        wl->budget_ms);
    dns_txt_many(wl->dns, names, n, out);
    if (placed) {
        pthread_mutex_lock(&dns_mu);
        if (dns_waiters != UINT_MAX)
            dns_waiters++;
        pthread_mutex_unlock(&dns_mu);
    }
}

enum ruad_rc
worker_dkim(const struct config *cfg, const char *raw, size_t len,
    struct worker_dkim_check *d)
{
    struct worker_lookup wl = { .budget_ms = cfg->dkim_dns_budget_ms };
    struct dkim_lookup   lk = { .ctx = &wl };
    struct dkim_verdict *v = &d->v;
    size_t               i;

    d->tempfail[0] = d->dns_error[0] = '\0';
    wl.dns = dns_new(cfg->dns_server, cfg->dns_timeout_ms, d->dns_error,
        sizeof(d->dns_error));
    if (wl.dns != NULL)
        lk.txt_many = worker_txt_many;
    if (dkim_verify(raw, len, &lk, time(NULL), v) != RUAD_OK) {
        dns_free(wl.dns);
        memset(v, 0, sizeof(*v));
        dkim_summarize(v, &d->sum);
        return RUAD_NOMEM;
    }
    dns_free(wl.dns);
    dkim_summarize(v, &d->sum);
    if (v->result != DKIM_TEMPERROR)
        return RUAD_OK;
    snprintf(d->tempfail, sizeof(d->tempfail), "%s", wl.dns == NULL ?
        d->dns_error : "");
    for (i = 0; i < v->n_sigs; i++)
        if (v->sigs[i].result == DKIM_TEMPERROR) {
            snprintf(d->tempfail, sizeof(d->tempfail), "d=%.80s s=%.60s: "
                "%.160s%s", v->sigs[i].d, v->sigs[i].s, v->sigs[i].reason,
                wl.short_budget ? " (a short budget: every other worker "
                "was waiting on DNS)" : "");
            break;
        }
    return RUAD_TEMPFAIL;
}

enum ruad_rc
worker_pipeline(const struct config *cfg, const struct worker_input *in,
    const struct worker_sink *out, struct report_diag *diag,
    unsigned *n_reports)
{
    struct worker_dkim_check d;
    enum ruad_rc             rc = RUAD_OK;
    bool                     checked = in->mail && in->dkim && in->raw != NULL;

    *n_reports = 0;
    if (checked)
        rc = worker_dkim(cfg, in->raw, in->len, &d);
    if (out->begin != NULL &&
        (rc = out->begin(out->ctx, rc, checked ? &d : NULL)) != RUAD_OK)
        return rc;
    /* a part's failure is a warning when another part gave a report */
    if (in->raw == NULL)
        return report_parse_fd(in->fd, &cfg->limits, out->reports, diag,
            n_reports);
    if (in->mail)
        return report_parse_mail(in->raw, in->len, &cfg->limits,
            out->reports, diag, n_reports);
    return report_parse_mem(in->raw, in->len, &cfg->limits, out->reports,
        diag, n_reports);
}

/* dkim_words - what the verdict was, for a reason: "dkim=none; d=x.example
 * verifies with a testing key (t=y): treated as unsigned" */
static void
dkim_words(char *dst, size_t n, const struct dkim_summary *d,
    const char *gave_up)
{
    snprintf(dst, n, "dkim=%.20s%s%.200s%s%.200s%s%s", d->result,
        d->domain[0] ? " d=" : "", d->domain,
        d->testing[0] && !d->domain[0] ? "; d=" : "",
        d->domain[0] ? "" : d->testing,
        d->testing[0] && !d->domain[0] ? " verifies only with a key in "
        "testing mode (t=y), treated as unsigned (RFC 6376 3.6.1)" : "",
        gave_up);
}

/* verdict - state for a parser result with nothing stored */
static enum inbound_state
verdict(enum ruad_rc rc, int attempts, bool *retry)
{
    *retry = false;
    switch (rc) {
    case RUAD_UNSUPPORTED: return INBOUND_NOT_A_REPORT;
    case RUAD_MALFORMED:   return INBOUND_MALFORMED;
    case RUAD_LIMIT:       return INBOUND_TOO_LARGE;
    case RUAD_NOMEM:
    case RUAD_IO:
    case RUAD_TEMPFAIL:
        if (attempts < WORKER_ATTEMPTS_MAX) {
            *retry = true;
            return INBOUND_PENDING;
        }
        return INBOUND_FAILED;
    default:
        return INBOUND_FAILED;
    }
}

/*
 * worker_begin - before the reports: who vouches for a mail (d, its DKIM
 * verdict; NULL for a row that is no mail) and does the policy take its
 * reports (RFC 6376); then the store's sink.  A non-OK return ends the
 * run with nothing parsed: w->halted, and w->ret is what worker_process
 * returns.
 */
static enum ruad_rc
worker_begin(void *ctx, enum ruad_rc rc, const struct worker_dkim_check *d)
{
    struct worker_ctx       *w = ctx;
    const struct config     *cfg = w->cfg;
    const struct store_row  *row = w->row;
    struct worker_result    *res = w->res;
    bool                     authentic;

    if (d != NULL) {
        w->dsum = d->sum;
        if (rc == RUAD_TEMPFAIL &&
            row->age_s < (int64_t)cfg->dkim_temperror_giveup) {
            /* a quarter of the row's age, from 5 minutes to 6 hours, and
             * the last try when dkim_temperror_giveup is reached: a
             * reporter's DNS trouble is waited out for that long */
            int64_t left = (int64_t)cfg->dkim_temperror_giveup - row->age_s;
            int     delay = row->age_s / 4 < DKIM_RETRY_S ? DKIM_RETRY_S :
                row->age_s / 4 > 6 * 3600 ? 6 * 3600 : (int)(row->age_s / 4);

            if (delay > left)
                delay = (int)left;
            snprintf(res->reason, sizeof(res->reason), "DKIM temperror "
                "(%.400s); retry in %d s", d->tempfail, delay);
            res->state = INBOUND_PENDING;
            store_retry_uncounted(w->st, row->id, res->reason, delay);
            log_info("inbound=%lld dkim=temperror retry_s=%d",
                (long long)row->id, delay);
            w->halted = true;
            w->ret = RUAD_OK;
            return RUAD_TEMPFAIL;
        }
        if (rc == RUAD_TEMPFAIL) {
            /* given up: the temperror stands, no pass; the policy decides */
            w->gave_up = ", key lookups still failing after "
                "dkim_temperror_giveup: given up";
            report_diag_warn(w->diag, "DKIM: key lookup still failing %lld "
                "s after receipt (%s): given up, the verdict stays "
                "temperror", (long long)row->age_s, d->tempfail);
            log_info("inbound=%lld dkim=temperror given_up age_s=%lld",
                (long long)row->id, (long long)row->age_s);
            rc = RUAD_OK;
        }
        if (w->dsum.testing[0] != '\0' && w->dsum.domain[0] == '\0')
            report_diag_warn(w->diag, "DKIM: the signature of d=%s "
                "verifies, but its key is in testing mode (t=y): treated "
                "as unsigned (RFC 6376 3.6.1)", w->dsum.testing);
        if (rc != RUAD_OK || store_inbound_dkim(w->st, row->id, &w->dsum) !=
            RUAD_OK) {
            store_retry(w->st, row->id, "database or memory trouble",
                WORKER_RETRY_BASE_S);
            w->halted = true;
            w->ret = RUAD_TEMPFAIL;
            return RUAD_TEMPFAIL;
        }
        authentic = (d->v.pass >= 0 && w->dsum.aligned) ||
            trusted(cfg->trusted_reporters, w->dsum.from_domain);
        w->dmarc_ok = authentic || !cfg->dmarc_require_dkim;
        w->tlsrpt_ok = authentic || !cfg->tlsrpt_require_dkim;
        w->no_tlsrpt = w->dsum.no_tlsrpt;
        snprintf(res->dkim, sizeof(res->dkim), "%s%s%s%s", w->dsum.result,
            w->dsum.domain[0] ? " d=" : "", w->dsum.domain,
            w->dsum.domain[0] ? (w->dsum.aligned ? " aligned" :
            " unaligned") : "");
    }
    if ((w->stored = store_sink_new(w->st, row->id, d != NULL ? &w->dsum :
        NULL, &w->stats, w->diag, &w->store)) == NULL) {
        store_retry(w->st, row->id, "out of memory", WORKER_RETRY_BASE_S);
        w->halted = true;
        w->ret = RUAD_NOMEM;
        return RUAD_NOMEM;
    }
    return RUAD_OK;
}

enum ruad_rc
worker_process(struct store *st, const struct config *cfg, int64_t only_id,
    struct worker_result *res)
{
    struct store_row        row;
    struct report_diag      diag;
    unsigned                n = 0;
    struct worker_ctx       w;
    struct worker_input     in;
    struct worker_sink      out;
    enum ruad_rc            rc, src;
    enum inbound_state      state;
    bool                    retry;
    char                    esc[128], words[640];

    memset(res, 0, sizeof(*res));
    memset(&row, 0, sizeof(row));
    memset(&w, 0, sizeof(w));
    report_diag_init(&diag);
    if ((rc = store_claim(st, only_id, &row)) != RUAD_OK)
        goto out;
    res->id = row.id;
    w.cfg = cfg;
    w.st = st;
    w.row = &row;
    w.res = res;
    w.diag = &diag;
    w.gave_up = "";

    if (row.attempts > WORKER_ATTEMPTS_MAX) {
        state = INBOUND_FAILED;
        snprintf(res->reason, sizeof(res->reason), "no verdict after %d "
            "attempts (the worker died or was stopped each time)",
            WORKER_ATTEMPTS_MAX);
        goto finish;
    }
    memset(&in, 0, sizeof(in));
    in.fd = -1;
    in.raw = row.raw;
    in.len = row.len;
    in.mail = strcmp(row.channel, "smtp") == 0 ||
        strcmp(row.channel, "imap") == 0 || (!report_is_raw(row.raw,
        row.len) && report_looks_like_mail(row.raw, row.len));
    in.dkim = true;
    w.dmarc_ok = w.tlsrpt_ok = true;
    w.tls_only = strcmp(row.channel, "https") == 0;
    w.sink.ctx = &w;
    w.sink.dmarc_record = policy_dmarc_record;
    w.sink.dmarc_done = policy_dmarc_done;
    w.sink.dmarc_abort = policy_dmarc_abort;
    w.sink.tlsrpt_done = policy_tlsrpt_done;
    out.ctx = &w;
    out.begin = worker_begin;
    out.reports = &w.sink;
    /* the same pipeline as `ruad parse` */
    rc = worker_pipeline(cfg, &in, &out, &diag, &n);
    if (w.halted) {
        rc = w.ret;
        goto out;
    }
    if (rc != RUAD_OK) {
        w.first = rc;
        snprintf(w.first_err, sizeof(w.first_err), "%s", diag.error);
    }
    src = store_sink_rc(w.stored);
    res->stored = w.stats.stored;
    res->duplicates = w.stats.duplicates;
    res->stored_dmarc = w.stats.stored_dmarc;
    res->stored_tlsrpt = w.stats.stored_tlsrpt;
    snprintf(res->keys, sizeof(res->keys), "%s", w.stats.keys);
    store_sink_free(w.stored);
    w.stored = NULL;

    if (src != RUAD_OK || rc == RUAD_TEMPFAIL) {
        /* the database failed us, not the report: try again later */
        snprintf(res->reason, sizeof(res->reason), "database: %s",
            store_error(st));
        res->state = INBOUND_PENDING;
        store_retry(st, row.id, res->reason, WORKER_RETRY_BASE_S <<
            (row.attempts > 6 ? 6 : row.attempts - 1));
        log_warn("inbound=%lld retry reason=\"%s\"", (long long)row.id,
            log_escape(esc, sizeof(esc), res->reason, strlen(res->reason)));
        rc = RUAD_OK;
        goto out;
    }
    if (w.not_tls > 0)
        report_diag_warn(&diag, "a DMARC report, POSTed to /tlsrpt: kept "
            "out (that path takes TLS reports only, RFC 8460 3)");
    if (w.stats.stored > 0) {
        state = INBOUND_PARSED;
    } else if (w.not_tls > 0) {
        state = INBOUND_NOT_A_REPORT;
        snprintf(res->reason, sizeof(res->reason), "a DMARC report, POSTed "
            "to /tlsrpt: that path takes TLS reports only (RFC 8460 3)");
    } else if (w.refused > 0) {
        state = INBOUND_UNAUTHENTICATED;
        dkim_words(words, sizeof(words), &w.dsum, w.gave_up);
        snprintf(res->reason, sizeof(res->reason), "no aligned DKIM pass "
            "(%.380s): %s", words, w.refused_dmarc && w.refused_tlsrpt ?
            "DMARC report kept out (dmarc_require_dkim), TLS report kept "
            "out (RFC 8460 5.3)" : w.refused_dmarc ? "DMARC report kept "
            "out (dmarc_require_dkim)" : "TLS report kept out (RFC 8460 "
            "5.3)");
    } else if (w.stats.conflicts > 0) {
        state = INBOUND_CONFLICT;
        snprintf(res->reason, sizeof(res->reason), "a stored report has "
            "the same key and other content, this copy is not counted: "
            "%.400s", w.stats.keys);
    } else if (w.stats.duplicates > 0) {
        state = INBOUND_DUPLICATE;
        snprintf(res->reason, sizeof(res->reason), "already stored: %.480s",
            w.stats.keys);
    } else {
        state = verdict(w.first != RUAD_OK ? w.first : RUAD_INTERNAL,
            row.attempts, &retry);
        snprintf(res->reason, sizeof(res->reason), "%s", w.first_err[0] ?
            w.first_err : "no report found");
        if (retry) {
            res->state = INBOUND_PENDING;
            store_retry(st, row.id, res->reason, WORKER_RETRY_BASE_S);
            rc = RUAD_OK;
            goto out;
        }
    }
finish:
    res->state = state;
    rc = store_finish(st, row.id, state, res->reason[0] ? res->reason : NULL,
        diag.warnings, diag.n_warnings);
    if (rc != RUAD_OK) {
        snprintf(res->reason, sizeof(res->reason), "database: %s",
            store_error(st));
        res->state = INBOUND_PENDING;
        store_retry(st, row.id, res->reason, WORKER_RETRY_BASE_S);
    }
    log_info("inbound=%lld verdict=%s reports=%u duplicates=%u",
        (long long)row.id, inbound_state_name(res->state), res->stored,
        res->duplicates);
    if (w.stats.conflicts > 0 || w.stats.superseded > 0)
        log_warn("inbound=%lld report copies conflicts=%u superseded=%u "
            "keys=\"%s\"", (long long)row.id, w.stats.conflicts,
            w.stats.superseded, log_escape(esc, sizeof(esc), w.stats.keys,
            strlen(w.stats.keys)));
    rc = RUAD_OK;
out:
    store_sink_free(w.stored);
    report_diag_free(&diag);
    store_row_clear(&row);
    return rc;
}

/* ---- the worker pool of `ruad serve` ---- */

/* What the worker threads share with the thread that started them. */
static struct {
    const struct config *cfg;
    struct receipt      *receipt;   /* borrowed */
    pthread_t           *threads;
    unsigned             n;
    pthread_mutex_t      mu;
    pthread_cond_t       cv;        /* new rows, or stop */
    bool                 stop;
    unsigned             kicks;
} pool = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

void
worker_pool_kick(void)
{
    pthread_mutex_lock(&pool.mu);
    pool.kicks++;
    pthread_cond_signal(&pool.cv);
    pthread_mutex_unlock(&pool.mu);
}

/* pool_wait - sleep up to ms, or until kicked or stopped; false: stop */
static bool
pool_wait(unsigned ms)
{
    struct timespec until;
    bool            go;

    clock_wait_until(&until, ms);
    pthread_mutex_lock(&pool.mu);
    if (pool.kicks == 0 && !pool.stop)
        pthread_cond_timedwait(&pool.cv, &pool.mu, &until);
    if (pool.kicks > 0)
        pool.kicks--;
    go = !pool.stop;
    pthread_mutex_unlock(&pool.mu);
    return go;
}

/*
 * pool_give_way - while reports are arriving (receipt_busy) a worker
 * waits, up to POOL_YIELD_MAX_MS before each row: the senders wait for
 * their commits, nobody waits for the processing, and on a small machine
 * both compete for the same cores and WAL fsyncs.  Under endless load the
 * workers still take a row per POOL_YIELD_MAX_MS each.
 */
#define POOL_YIELD_MS     10
#define POOL_YIELD_MAX_MS 1000

static bool pool_stopping(void);

static void
pool_give_way(void)
{
    struct timespec ts = { 0, POOL_YIELD_MS * 1000000L };
    unsigned        waited = 0;

    while (waited < POOL_YIELD_MAX_MS && receipt_busy(pool.receipt) &&
        !pool_stopping()) {
        nanosleep(&ts, NULL);
        waited += POOL_YIELD_MS;
    }
}

static bool
pool_stopping(void)
{
    bool s;

    pthread_mutex_lock(&pool.mu);
    s = pool.stop;
    pthread_mutex_unlock(&pool.mu);
    return s;
}

/* pool_worker - claim and process rows until told to stop; the row in
 * hand is always finished first */
static void *
pool_worker(void *arg)
{
    struct store        *st = NULL;
    struct worker_result r;
    char                 err[600];
    unsigned             backoff = 1000;
    enum ruad_rc         rc;

    (void)arg;
    while (!pool_stopping()) {
        if (st == NULL) {
            /* the inbound row is the durable point: a worker's commits
             * need not wait for the WAL fsync */
            if ((st = store_open(pool.cfg->database_url, err,
                sizeof(err))) != NULL && store_async_commit(st) != RUAD_OK) {
                snprintf(err, sizeof(err), "%s", store_error(st));
                store_close(st);
                st = NULL;
            }
            if (st == NULL) {
                log_warn("worker database=down reason=\"%.300s\"", err);
                pool_wait(backoff);
                backoff = backoff < 30000 ? backoff * 2 : 30000;
                continue;
            }
        }
        backoff = 1000;
        pool_give_way();
        rc = worker_process(st, pool.cfg, 0, &r);
        if (rc == RUAD_OK) {
            metrics_verdict(r.state, r.stored_dmarc, r.stored_tlsrpt);
        } else if (rc == RUAD_EOF) {
            pool_wait(1000);
        } else if (rc != RUAD_BUSY) {
            log_warn("worker database error=\"%.300s\"", store_error(st));
            store_close(st);
            st = NULL;
            pool_wait(1000);
        }
    }
    store_close(st);
    return NULL;
}

enum ruad_rc
worker_pool_start(const struct config *cfg, struct receipt *receipt)
{
    unsigned i;

    pool.cfg = cfg;
    pool.receipt = receipt;
    /* a DNS wait never holds every worker (worker.h) */
    worker_dns_waiters(cfg->workers - 1);
    if ((pool.threads = calloc(cfg->workers, sizeof(*pool.threads))) ==
        NULL)
        return RUAD_NOMEM;
    pool.n = cfg->workers;
    for (i = 0; i < pool.n; i++)
        pthread_create(&pool.threads[i], NULL, pool_worker, NULL);
    return RUAD_OK;
}

void
worker_pool_stop(void)
{
    unsigned i;

    pthread_mutex_lock(&pool.mu);
    pool.stop = true;
    pthread_cond_broadcast(&pool.cv);
    pthread_mutex_unlock(&pool.mu);
    for (i = 0; i < pool.n; i++)
        pthread_join(pool.threads[i], NULL);
    free(pool.threads);
    pool.threads = NULL;
    pool.n = 0;
    pool.receipt = NULL;
}
