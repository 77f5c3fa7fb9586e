/*
 * worker.c - one inbound row through the pipeline (see worker.h and
 * DESIGN.md "Data flow").
 *
 * Verdicts: parsed (at least one report newly stored), duplicate (every
 * report was already there), not_a_report, malformed, too_large (the
 * parser's RUAD_UNSUPPORTED, RUAD_MALFORMED, RUAD_LIMIT), unauthenticated
 * (the DKIM policy kept its reports out), conflict (a stored report has
 * the key and other content), failed (a bug, or WORKER_ATTEMPTS_MAX
 * attempts without a verdict); superseded is given later, by store_pg.c,
 * to a row whose report an authenticated copy replaced.  A row POSTed to
 * /tlsrpt gives TLS reports only (RFC 8460 3): a DMARC report in it is
 * not_a_report.  A database error puts the row back to pending with a
 * growing delay.  The raw bytes are never touched: `ruad reprocess` can
 * run any row again.
 *
 * SECURITY: the bytes are peer data; every limit comes from cfg->limits,
 * and the parsers and MIME walker never see the database.
 */
#include "worker.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dkim.h"
#include "dns.h"
#include "limits.h"
#include "log.h"
#include "report.h"

/* What the walk over one row found. */
struct worker_ctx {
    const struct config *cfg;
    struct report_sink   sink;      /* ours: the policy in front of... */
    struct report_sink   store;     /* ...the store's sink */
    bool                 dmarc_ok;  /* DKIM policy lets DMARC reports in */
    bool                 tlsrpt_ok; /* and TLS reports */
    unsigned             refused;   /* reports kept out by the policy */
    bool                 tls_only;  /* POSTed to /tlsrpt (RFC 8460 3) */
    unsigned             not_tls;   /* DMARC reports it kept out */
    bool                 no_tlsrpt; /* the signing key's s= lacks tlsrpt */
    struct report_diag  *diag;     /* of the row: warnings and first error */
    enum ruad_rc         first;    /* first part's failure */
    char                 first_err[512];
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
    const char *p = list, *e;
    size_t      n, fl = strlen(from);

    if (*from == '\0')
        return false;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',')
            p++;
        e = p + strcspn(p, ",");
        n = (size_t)(e - p);
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (n > 0 && (fl == n || (fl > n && from[fl - n - 1] == '.')) &&
            strncasecmp(from + fl - n, p, n) == 0)
            return true;
        p = e;
    }
    return false;
}

/* worker_dkim - verify the mail; RUAD_TEMPFAIL when a key could not be
 * fetched now (and nothing passed) */
static enum ruad_rc
worker_dkim(const struct config *cfg, const char *raw, size_t len,
    struct dkim_summary *sum, struct dkim_verdict *v)
{
    struct dns        *dns;
    struct dkim_lookup lk;
    char               err[256];

    dns = dns_new(cfg->dns_server, cfg->dns_timeout_ms, err, sizeof(err));
    lk.ctx = dns;
    lk.txt = dns != NULL ? dns_txt : NULL;
    if (dkim_verify(raw, len, &lk, time(NULL), v) != RUAD_OK) {
        dns_free(dns);
        return RUAD_NOMEM;
    }
    dns_free(dns);
    dkim_summarize(v, sum);
    return v->result == DKIM_TEMPERROR ? RUAD_TEMPFAIL : RUAD_OK;
}

/* verdict - state for a parser result with nothing stored */
static const char *
verdict(enum ruad_rc rc, int attempts, bool *retry)
{
    *retry = false;
    switch (rc) {
    case RUAD_UNSUPPORTED: return "not_a_report";
    case RUAD_MALFORMED:   return "malformed";
    case RUAD_LIMIT:       return "too_large";
    case RUAD_NOMEM:
    case RUAD_IO:
    case RUAD_TEMPFAIL:
        if (attempts < WORKER_ATTEMPTS_MAX) {
            *retry = true;
            return "pending";
        }
        return "failed";
    default:
        return "failed";
    }
}

enum ruad_rc
worker_process(struct store *st, const struct config *cfg, int64_t only_id,
    struct worker_result *res)
{
    struct store_row        row;
    struct store_sink_stats stats;
    struct store_sink      *sink;
    struct report_diag      diag;
    unsigned                n = 0;
    struct worker_ctx       w;
    struct dkim_summary     dsum;
    struct dkim_verdict     dv;
    enum ruad_rc            rc, src;
    const char             *state;
    bool                    retry, mail, authentic;
    char                    esc[128];

    memset(res, 0, sizeof(*res));
    if ((rc = store_claim(st, only_id, &row)) != RUAD_OK)
        return rc;
    res->id = row.id;
    report_diag_init(&diag);
    memset(&w, 0, sizeof(w));
    memset(&dsum, 0, sizeof(dsum));
    memset(&stats, 0, sizeof(stats));
    w.cfg = cfg;
    w.diag = &diag;

    if (row.attempts > WORKER_ATTEMPTS_MAX) {
        state = "failed";
        snprintf(res->reason, sizeof(res->reason), "no verdict after %d "
            "attempts (the worker died or was stopped each time)",
            WORKER_ATTEMPTS_MAX);
        goto finish;
    }
    mail = strcmp(row.channel, "smtp") == 0 ||
        strcmp(row.channel, "imap") == 0 || (!report_is_raw(row.raw,
        row.len) && report_looks_like_mail(row.raw, row.len));
    w.dmarc_ok = w.tlsrpt_ok = true;
    w.tls_only = strcmp(row.channel, "https") == 0;
    if (mail) {
        /* who vouches for this mail (RFC 6376), and does the policy
         * take its reports */
        rc = worker_dkim(cfg, row.raw, row.len, &dsum, &dv);
        if (rc == RUAD_TEMPFAIL) {
            /* a quarter of the row's age, from 5 minutes to 6 hours: a
             * reporter's DNS trouble is waited out, never failed */
            int delay = row.age_s / 4 < DKIM_RETRY_S ? DKIM_RETRY_S :
                row.age_s / 4 > 6 * 3600 ? 6 * 3600 : (int)(row.age_s / 4);

            snprintf(res->reason, sizeof(res->reason), "DKIM key lookup "
                "failed for now; retry in %d s", delay);
            snprintf(res->state, sizeof(res->state), "pending");
            store_retry_uncounted(st, row.id, res->reason, delay);
            log_info("inbound=%lld dkim=temperror retry_s=%d",
                (long long)row.id, delay);
            report_diag_free(&diag);
            store_row_clear(&row);
            return RUAD_OK;
        }
        if (rc != RUAD_OK || store_inbound_dkim(st, row.id, &dsum) !=
            RUAD_OK) {
            store_retry(st, row.id, "database or memory trouble",
                WORKER_RETRY_BASE_S);
            store_row_clear(&row);
            return RUAD_TEMPFAIL;
        }
        authentic = (dv.pass >= 0 && dsum.aligned) ||
            trusted(cfg->trusted_reporters, dsum.from_domain);
        w.dmarc_ok = authentic || !cfg->dmarc_require_dkim;
        w.tlsrpt_ok = authentic || !cfg->tlsrpt_require_dkim;
        w.no_tlsrpt = dsum.no_tlsrpt;
        snprintf(res->dkim, sizeof(res->dkim), "%s%s%s%s", dsum.result,
            dsum.domain[0] ? " d=" : "", dsum.domain,
            dsum.domain[0] ? (dsum.aligned ? " aligned" : " unaligned") :
            "");
    }
    if ((sink = store_sink_new(st, row.id, mail ? &dsum : NULL, &stats,
        &diag, &w.store)) == NULL) {
        store_retry(st, row.id, "out of memory", WORKER_RETRY_BASE_S);
        store_row_clear(&row);
        return RUAD_NOMEM;
    }
    w.sink.ctx = &w;
    w.sink.dmarc_record = policy_dmarc_record;
    w.sink.dmarc_done = policy_dmarc_done;
    w.sink.dmarc_abort = policy_dmarc_abort;
    w.sink.tlsrpt_done = policy_tlsrpt_done;
    /* the same parsers as `ruad parse`: a part's failure is a warning
     * when another part gave a report */
    rc = mail ? report_parse_mail(row.raw, row.len, &cfg->limits, &w.sink,
        &diag, &n) : report_parse_mem(row.raw, row.len, &cfg->limits,
        &w.sink, &diag, &n);
    if (rc != RUAD_OK) {
        w.first = rc;
        snprintf(w.first_err, sizeof(w.first_err), "%s", diag.error);
    }
    src = store_sink_rc(sink);
    res->stored = stats.stored;
    res->duplicates = stats.duplicates;
    res->stored_dmarc = stats.stored_dmarc;
    res->stored_tlsrpt = stats.stored_tlsrpt;
    snprintf(res->keys, sizeof(res->keys), "%s", stats.keys);
    store_sink_free(sink);

    if (src != RUAD_OK || rc == RUAD_TEMPFAIL) {
        /* the database failed us, not the report: try again later */
        snprintf(res->reason, sizeof(res->reason), "database: %s",
            store_error(st));
        snprintf(res->state, sizeof(res->state), "pending");
        store_retry(st, row.id, res->reason, WORKER_RETRY_BASE_S <<
            (row.attempts > 6 ? 6 : row.attempts - 1));
        log_warn("inbound=%lld retry reason=\"%s\"", (long long)row.id,
            log_escape(esc, sizeof(esc), res->reason, strlen(res->reason)));
        report_diag_free(&diag);
        store_row_clear(&row);
        return RUAD_OK;
    }
    if (w.not_tls > 0)
        report_diag_warn(&diag, "a DMARC report, POSTed to /tlsrpt: kept "
            "out (that path takes TLS reports only, RFC 8460 3)");
    if (stats.stored > 0) {
        state = "parsed";
    } else if (w.not_tls > 0) {
        state = "not_a_report";
        snprintf(res->reason, sizeof(res->reason), "a DMARC report, POSTed "
            "to /tlsrpt: that path takes TLS reports only (RFC 8460 3)");
    } else if (w.refused > 0) {
        state = "unauthenticated";
        snprintf(res->reason, sizeof(res->reason), "no aligned DKIM pass "
            "(dkim=%.40s%s%.200s): %s kept out (RFC 8460 5.3)", dsum.result,
            dsum.domain[0] ? " d=" : "", dsum.domain,
            w.tlsrpt_ok ? "DMARC report" : "TLS report");
    } else if (stats.conflicts > 0) {
        state = "conflict";
        snprintf(res->reason, sizeof(res->reason), "a stored report has "
            "the same key and other content, this copy is not counted: "
            "%.400s", stats.keys);
    } else if (stats.duplicates > 0) {
        state = "duplicate";
        snprintf(res->reason, sizeof(res->reason), "already stored: %.480s",
            stats.keys);
    } else {
        state = verdict(w.first != RUAD_OK ? w.first : RUAD_INTERNAL,
            row.attempts, &retry);
        snprintf(res->reason, sizeof(res->reason), "%s", w.first_err[0] ?
            w.first_err : "no report found");
        if (retry) {
            snprintf(res->state, sizeof(res->state), "pending");
            store_retry(st, row.id, res->reason, WORKER_RETRY_BASE_S);
            report_diag_free(&diag);
                store_row_clear(&row);
            return RUAD_OK;
        }
    }
finish:
    snprintf(res->state, sizeof(res->state), "%s", state);
    rc = store_finish(st, row.id, state, res->reason[0] ? res->reason : NULL,
        diag.warnings, diag.n_warnings);
    if (rc != RUAD_OK) {
        snprintf(res->reason, sizeof(res->reason), "database: %s",
            store_error(st));
        snprintf(res->state, sizeof(res->state), "pending");
        store_retry(st, row.id, res->reason, WORKER_RETRY_BASE_S);
    }
    log_info("inbound=%lld verdict=%s reports=%u duplicates=%u",
        (long long)row.id, res->state, res->stored, res->duplicates);
    if (stats.conflicts > 0 || stats.superseded > 0)
        log_warn("inbound=%lld report copies conflicts=%u superseded=%u "
            "keys=\"%s\"", (long long)row.id, stats.conflicts,
            stats.superseded, log_escape(esc, sizeof(esc), stats.keys,
            strlen(stats.keys)));
    report_diag_free(&diag);
    store_row_clear(&row);
    return RUAD_OK;
}
