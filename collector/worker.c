/*
 * worker.c - one inbound row through the pipeline (see worker.h and
 * DESIGN.md "Data flow").
 *
 * Verdicts: parsed (at least one report newly stored), duplicate (every
 * report was already there), not_a_report, malformed, too_large (the
 * parser's RUAD_UNSUPPORTED, RUAD_MALFORMED, RUAD_LIMIT), failed (a bug,
 * or WORKER_ATTEMPTS_MAX attempts without a verdict).  A database error
 * puts the row back to pending with a growing delay.  The raw bytes are
 * never touched: `ruad reprocess` can run any row again.
 *
 * SECURITY: the bytes are peer data; every limit comes from cfg->limits,
 * and the parsers and MIME walker never see the database.
 */
#include "worker.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "mime.h"
#include "report.h"

/* What the walk over one row found. */
struct worker_ctx {
    const struct config *cfg;
    struct report_sink   sink;
    struct report_diag  *diag;     /* of the row: warnings and first error */
    enum ruad_rc         first;    /* first part's failure */
    char                 first_err[512];
    unsigned             parts;
};

/* looks_like_report - report bytes (not a mail) by their first bytes */
static bool
looks_like_report(const char *p, size_t n)
{
    size_t i = 0;

    if (n >= 2 && (unsigned char)p[0] == 0x1f && (unsigned char)p[1] == 0x8b)
        return true;                               /* gzip */
    if (n >= 4 && memcmp(p, "PK\x03\x04", 4) == 0)
        return true;                               /* zip */
    if (n >= 2 && (((unsigned char)p[0] == 0xff &&
        (unsigned char)p[1] == 0xfe) || ((unsigned char)p[0] == 0xfe &&
        (unsigned char)p[1] == 0xff)))
        return true;                               /* UTF-16 XML */
    if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
        p[i] == '\n'))
        i++;
    return i < n && (p[i] == '<' || p[i] == '{');
}

/* worker_part - parse one report part into the store */
static enum ruad_rc
worker_part(void *ctx, const char *data, size_t len, const char *ctype,
    const char *filename)
{
    struct worker_ctx *w = ctx;
    struct report_diag d;
    unsigned           n = 0;
    enum ruad_rc       rc;
    size_t             i;

    (void)ctype;
    report_diag_init(&d);
    if (filename != NULL)
        snprintf(d.prefix, sizeof(d.prefix), "part %.96s: ", filename);
    rc = report_parse_mem(data, len, &w->cfg->limits, &w->sink, &d, &n);
    w->parts++;
    for (i = 0; i < d.n_warnings; i++)
        report_diag_warn(w->diag, "%s", d.warnings[i]);
    if (rc != RUAD_OK && w->first == RUAD_OK) {
        w->first = rc;
        snprintf(w->first_err, sizeof(w->first_err), "%s", d.error);
    } else if (rc != RUAD_OK) {
        report_diag_warn(w->diag, "error: %s", d.error);
    }
    report_diag_free(&d);
    /* a part that is not a report does not stop the others, but a
     * database error does */
    return rc == RUAD_TEMPFAIL || rc == RUAD_IO ? rc : RUAD_OK;
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
    struct mime_info        info;
    struct worker_ctx       w;
    enum ruad_rc            rc, src;
    const char             *state;
    bool                    retry;
    char                    esc[128];

    memset(res, 0, sizeof(*res));
    if ((rc = store_claim(st, only_id, &row)) != RUAD_OK)
        return rc;
    res->id = row.id;
    report_diag_init(&diag);
    memset(&info, 0, sizeof(info));
    memset(&w, 0, sizeof(w));
    w.cfg = cfg;
    w.diag = &diag;

    if (row.attempts > WORKER_ATTEMPTS_MAX) {
        state = "failed";
        snprintf(res->reason, sizeof(res->reason), "no verdict after %d "
            "attempts (the worker died or was stopped each time)",
            WORKER_ATTEMPTS_MAX);
        goto finish;
    }
    if ((sink = store_sink_new(st, row.id, &stats, &w.sink)) == NULL) {
        store_retry(st, row.id, "out of memory", WORKER_RETRY_BASE_S);
        store_row_clear(&row);
        return RUAD_NOMEM;
    }
    if (strcmp(row.channel, "smtp") != 0 && strcmp(row.channel, "imap") != 0
        && looks_like_report(row.raw, row.len)) {
        rc = worker_part(&w, row.raw, row.len, row.content_type, NULL);
    } else {
        rc = mime_walk(row.raw, row.len, &cfg->limits, worker_part, &w,
            &diag, &info);
        if (rc != RUAD_OK && w.first == RUAD_OK) {
            w.first = rc;
            snprintf(w.first_err, sizeof(w.first_err), "%s", diag.error);
        }
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
        mime_info_clear(&info);
        store_row_clear(&row);
        return RUAD_OK;
    }
    if (stats.stored > 0) {
        state = "parsed";
        if (w.first != RUAD_OK)
            report_diag_warn(&diag, "error: %s", w.first_err);
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
            mime_info_clear(&info);
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
    report_diag_free(&diag);
    mime_info_clear(&info);
    store_row_clear(&row);
    return RUAD_OK;
}
