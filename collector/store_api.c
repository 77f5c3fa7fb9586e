/*
 * store_api.c - the query API's SQL: one query per endpoint, answering
 * the JSON document (the item shapes are SQL functions in
 * db/003_api.sql, the schemas in docs/openapi.json).
 *
 * Summaries read the daily rollups; lists walk indexes in keyset order
 * (begin time and id, descending) and fetch one row more than the page
 * to know whether there is a next one.
 *
 * SECURITY: only constant SQL text is put together here; every value
 * from the request (already checked by api_params.c) is a parameter.
 */
#include "store_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "report.h"

#define SQL_MAX     (16u << 10)
#define PARAMS_MAX  24

/* A query being put together: constant text and numbered parameters. */
struct sqlq {
    struct buf  sql;
    const char *p[PARAMS_MAX];
    char        own[PARAMS_MAX][64];  /* text of numeric parameters */
    int         n;
    bool        err;
};

static void
q_init(struct sqlq *s)
{
    memset(s, 0, sizeof(*s));
    buf_init(&s->sql, SQL_MAX);
}

static void
q_sql(struct sqlq *s, const char *text)
{
    if (buf_append_str(&s->sql, text) != RUAD_OK)
        s->err = true;
}

/* q_param - append "$N" for value v (borrowed; must outlive the query) */
static void
q_param(struct sqlq *s, const char *v)
{
    if (s->n == PARAMS_MAX) {
        s->err = true;
        return;
    }
    s->p[s->n++] = v;
    if (buf_printf(&s->sql, "$%d", s->n) != RUAD_OK)
        s->err = true;
}

/* q_num - parameter for integer v, its number (text: "$N" by q_ref) */
static int
q_num(struct sqlq *s, int64_t v)
{
    if (s->n == PARAMS_MAX) {
        s->err = true;
        return 1;
    }
    snprintf(s->own[s->n], sizeof(s->own[0]), "%lld", (long long)v);
    s->p[s->n] = s->own[s->n];
    return ++s->n;
}

/* q_ref - append "$N" */
static void
q_ref(struct sqlq *s, int n)
{
    if (buf_printf(&s->sql, "$%d", n) != RUAD_OK)
        s->err = true;
}

static void
q_int(struct sqlq *s, int64_t v)
{
    q_ref(s, q_num(s, v));
}

/* day_ceil - the first UTC day (days since 1970-01-01) starting at or
 * after t */
static int64_t
day_ceil(int64_t t)
{
    int64_t day = t / 86400;

    return day + (t % 86400 > 0);
}

/* q_text - "$N" for a copy of text (kept in s->own, cut at 63 bytes) */
static void
q_text(struct sqlq *s, const char *text)
{
    if (s->n == PARAMS_MAX) {
        s->err = true;
        return;
    }
    snprintf(s->own[s->n], sizeof(s->own[0]), "%s", text);
    q_param(s, s->own[s->n]);
}

/* q_date - "$N::date" of day (days since 1970-01-01) */
static void
q_date(struct sqlq *s, int64_t day)
{
    char    t[32];
    int64_t y;
    int     m, d;

    report_civil_from_days(day, &y, &m, &d);
    snprintf(t, sizeof(t), "%04lld-%02d-%02d", (long long)y, m, d);
    q_text(s, t);
    q_sql(s, "::date");
}

/* q_day - "$N::date", the first UTC day starting at or after t */
static void
q_day(struct sqlq *s, int64_t t)
{
    q_date(s, day_ceil(t));
}

/*
 * q_after - "(a < $A OR (a = $A AND b > ": the rows past a keyset cursor
 * in "a DESC, b" order; the caller appends b's value and "))"
 */
static void
q_after(struct sqlq *s, const char *a, int64_t av, const char *b)
{
    int n = q_num(s, av);

    q_sql(s, "(");
    q_sql(s, a);
    q_sql(s, " < ");
    q_ref(s, n);
    q_sql(s, " OR (");
    q_sql(s, a);
    q_sql(s, " = ");
    q_ref(s, n);
    q_sql(s, " AND ");
    q_sql(s, b);
    q_sql(s, " > ");
}

/* q_where - " WHERE " first, " AND " after */
static void
q_and(struct sqlq *s, bool *first)
{
    q_sql(s, *first ? " WHERE " : " AND ");
    *first = false;
}

/* q_run - run it; vals get ncols values of the first row */
static enum ruad_rc
q_run(struct store *st, struct sqlq *s, const char *what, bool binary,
    int ncols, char **vals, size_t *lens, bool *found)
{
    enum ruad_rc rc;

    if (s->err) {
        buf_free(&s->sql);
        return RUAD_INTERNAL;
    }
    rc = store_query_row(st, what, buf_ptr(&s->sql), s->n, s->p, binary,
        ncols, vals, lens, found);
    buf_free(&s->sql);
    return rc;
}

/* ---- lists ---- */

/* time filters on column col (since inclusive, until exclusive) */
static void
q_range(struct sqlq *s, const struct api_query *q, const char *col,
    bool *first)
{
    if (q->has_since) {
        q_and(s, first);
        q_sql(s, col);
        q_sql(s, " >= to_timestamp(");
        q_int(s, q->since);
        q_sql(s, ")");
    }
    if (q->has_until) {
        q_and(s, first);
        q_sql(s, col);
        q_sql(s, " < to_timestamp(");
        q_int(s, q->until);
        q_sql(s, ")");
    }
}

/* the page (rows with rn) to the answer: items, next key a, next key b */
static void
q_page_end(struct sqlq *s, const struct api_query *q, const char *from,
    const char *order, const char *item, const char *key_a,
    const char *key_b)
{
    q_sql(s, ") SELECT coalesce(jsonb_agg(");
    q_sql(s, item);
    q_sql(s, " ORDER BY rn) FILTER (WHERE rn <= ");
    q_int(s, q->limit);
    q_sql(s, "), '[]')::text, max(");
    q_sql(s, key_a);
    q_sql(s, "::text) FILTER (WHERE rn = ");
    q_ref(s, s->n);
    q_sql(s, " AND n > ");
    q_ref(s, s->n);
    q_sql(s, "), max(");
    q_sql(s, key_b);
    q_sql(s, "::text) FILTER (WHERE rn = ");
    q_ref(s, s->n);
    q_sql(s, " AND n > ");
    q_ref(s, s->n);
    q_sql(s, ") FROM (SELECT *, row_number() OVER (ORDER BY ");
    q_sql(s, order);
    q_sql(s, ") AS rn, count(*) OVER () AS n FROM ");
    q_sql(s, from);
    q_sql(s, ") x");
}

static void
q_limit(struct sqlq *s, const struct api_query *q)
{
    q_sql(s, " LIMIT ");
    q_int(s, (int64_t)q->limit + 1);
}

/* q_report_page - the end of a report list: the period on begin_at, the
 * keyset cursor (begin_at, id), newest first, and the page as items */
static void
q_report_page(struct sqlq *s, const struct api_query *q, bool *first,
    const char *item)
{
    q_range(s, q, "r.begin_at", first);
    if (q->has_cursor) {
        q_and(s, first);
        q_sql(s, "(r.begin_at, r.id) < (to_timestamp(0) + ");
        q_int(s, q->cursor.a);
        q_sql(s, " * interval '1 microsecond', ");
        q_int(s, q->cursor.id);
        q_sql(s, ")");
    }
    q_sql(s, " ORDER BY r.begin_at DESC, r.id DESC");
    q_limit(s, q);
    q_page_end(s, q, "page", "begin_at DESC, id DESC", item,
        "(extract(epoch FROM x.begin_at) * 1000000)::bigint", "x.id");
}

static void
q_dmarc_reports(struct sqlq *s, const struct api_query *q)
{
    bool first = true;

    q_sql(s, "WITH page AS (SELECT r AS it, r.begin_at, r.id "
        "FROM dmarc_report r");
    if (q->domain[0]) {
        q_and(s, &first);
        q_sql(s, "lower(r.policy_domain) = ");
        q_param(s, q->domain);
    }
    if (q->org[0]) {
        q_and(s, &first);
        q_sql(s, "(r.reporter = ");
        q_param(s, q->org);
        q_sql(s, " OR r.org_name = ");
        q_param(s, q->org);
        q_sql(s, ")");
    }
    q_report_page(s, q, &first, "api_dmarc_item(x.it)");
}

static void
q_tls_reports(struct sqlq *s, const struct api_query *q)
{
    bool first = true;

    q_sql(s, "WITH page AS (SELECT r AS it, r.begin_at, r.id "
        "FROM tlsrpt_report r");
    if (q->domain[0]) {
        q_and(s, &first);
        q_sql(s, "EXISTS (SELECT 1 FROM tlsrpt_policy p WHERE p.report_id "
            "= r.id AND lower(p.policy_domain) = ");
        q_param(s, q->domain);
        q_sql(s, ")");
    }
    if (q->org[0]) {
        q_and(s, &first);
        q_sql(s, "r.organization_name = ");
        q_param(s, q->org);
    }
    q_report_page(s, q, &first, "api_tlsrpt_item(x.it)");
}

static void
q_inbound(struct sqlq *s, const struct api_query *q)
{
    bool first = true;

    q_sql(s, "WITH page AS (SELECT i.id FROM inbound i");
    if (q->state[0]) {
        q_and(s, &first);
        q_sql(s, "i.state = ");
        q_param(s, q->state);
    }
    if (q->channel[0]) {
        q_and(s, &first);
        q_sql(s, "i.channel = ");
        q_param(s, q->channel);
    }
    q_range(s, q, "i.received_at", &first);
    if (q->has_cursor) {
        q_and(s, &first);
        q_sql(s, "i.id < ");
        q_int(s, q->cursor.id);
    }
    q_sql(s, " ORDER BY i.id DESC");
    q_limit(s, q);
    q_page_end(s, q, "page", "id DESC", "api_inbound_item(x.id)",
        "0", "x.id");
}

/* the records behind a row: report id descending, then document order */
static void
q_records(struct sqlq *s, const struct api_query *q)
{
    bool first = true;

    q_sql(s, "WITH page AS (SELECT api_dmarc_record_item(x, r) AS it, "
        "x.report_id, x.rec_no FROM dmarc_record x JOIN dmarc_report r ON "
        "r.id = x.report_id");
    if (q->domain[0]) {
        q_and(s, &first);
        q_sql(s, "lower(r.policy_domain) = ");
        q_param(s, q->domain);
    }
    if (q->source_ip[0]) {
        q_and(s, &first);
        q_sql(s, "x.source_ip = ");
        q_param(s, q->source_ip);
        q_sql(s, "::inet");
    }
    if (q->header_from[0]) {
        q_and(s, &first);
        q_sql(s, "lower(x.header_from) = ");
        q_param(s, q->header_from);
    }
    q_range(s, q, "r.begin_at", &first);
    if (q->has_cursor) {
        q_and(s, &first);
        q_after(s, "x.report_id", q->cursor.a, "x.rec_no");
        q_int(s, q->cursor.id);
        q_sql(s, "))");
    }
    q_sql(s, " ORDER BY x.report_id DESC, x.rec_no");
    q_limit(s, q);
    q_page_end(s, q, "page", "report_id DESC, rec_no", "x.it",
        "x.report_id", "x.rec_no");
}

/* the rollup filters: domain and the days since..until */
static void
q_days(struct sqlq *s, const struct api_query *q, const char *alias,
    bool *first)
{
    if (q->domain[0]) {
        q_and(s, first);
        q_sql(s, alias);
        q_sql(s, "policy_domain = ");
        q_param(s, q->domain);
    }
    if (q->has_since) {
        q_and(s, first);
        q_sql(s, alias);
        q_sql(s, "day >= ");
        q_day(s, q->since);
    }
    if (q->has_until) {
        q_and(s, first);
        q_sql(s, alias);
        q_sql(s, "day < ");
        q_day(s, q->until);
    }
}

/* ---- summaries ---- */

static void
q_echo(struct sqlq *s, const struct api_query *q)
{
    char ts[32];

    q_sql(s, "'group_by', ");
    q_param(s, q->group_by);
    q_sql(s, "::text, 'domain', ");
    q_param(s, q->domain[0] ? q->domain : NULL);
    q_sql(s, "::text, 'since', ");
    if (q->has_since) {
        report_fmt_time(q->since, ts);
        q_text(s, ts);
    } else {
        q_param(s, NULL);
    }
    q_sql(s, "::text, 'until', ");
    if (q->has_until) {
        report_fmt_time(q->until, ts);
        q_text(s, ts);
    } else {
        q_param(s, NULL);
    }
    q_sql(s, "::text");
}

/*
 * A range's calendar spans, in days since 1970-01-01: the whole years
 * [ya, yb), the whole months [ma, ya) and [yb, mb), and the ragged days
 * [a, ma) and [mb, b).  a <= ma <= ya <= yb <= mb <= b; an empty piece
 * has equal ends.
 */
struct spans {
    int64_t a, ma, ya, yb, mb, b;
};

/* the days any report can fall on: 1970-01-01 .. 9999-12-31 */
#define DAY_FIRST 0
#define DAY_END   2932897     /* 10000-01-01 */

static void
spans_of(const struct api_query *q, struct spans *sp)
{
    int64_t a = DAY_FIRST, b = DAY_END, y;
    int     m, d;

    if (q->has_since && day_ceil(q->since) > a)
        a = day_ceil(q->since);
    if (q->has_until && day_ceil(q->until) < b)
        b = day_ceil(q->until);
    if (b < a)
        b = a;
    sp->a = a;
    sp->b = b;
    /* the first month start at or after a, the last at or before b */
    report_civil_from_days(a, &y, &m, &d);
    sp->ma = d == 1 ? a : m == 12 ? report_days_from_civil(y + 1, 1, 1) :
        report_days_from_civil(y, m + 1, 1);
    report_civil_from_days(b, &y, &m, &d);
    sp->mb = report_days_from_civil(y, m, 1);
    if (sp->ma >= sp->mb) {           /* no whole month: days only */
        sp->ma = sp->ya = sp->yb = sp->mb = b;
        return;
    }
    report_civil_from_days(sp->ma, &y, &m, &d);
    sp->ya = m == 1 ? sp->ma : report_days_from_civil(y + 1, 1, 1);
    report_civil_from_days(sp->mb, &y, &m, &d);
    sp->yb = report_days_from_civil(y, 1, 1);
    if (sp->ya >= sp->yb)             /* no whole year: months only */
        sp->ya = sp->yb = sp->mb;
}

/*
 * The summary's twelve sums, from a rollup with one row per outcome and
 * disposition: messages by outcome (both aligned, DKIM only, SPF only,
 * neither) and by disposition and DMARC result (pass: an aligned DKIM or
 * SPF pass).  Every message is in exactly one of b, d, s, n and in one of
 * the eight disposition sums.
 */
#define SUM_IF(cond, name) "sum(messages) FILTER (WHERE " cond ") AS " name
#define PASS "(dkim = 'pass' OR spf = 'pass')"
#define FAIL "dkim <> 'pass' AND spf <> 'pass'"
#define OTHER "disposition NOT IN ('none', 'quarantine', 'reject')"
#define OUTCOME_SUMS \
    SUM_IF("dkim = 'pass' AND spf = 'pass'", "b") ", " \
    SUM_IF("dkim = 'pass' AND spf <> 'pass'", "d") ", " \
    SUM_IF("dkim <> 'pass' AND spf = 'pass'", "s") ", " \
    SUM_IF(FAIL, "n") ", " \
    SUM_IF("disposition = 'none' AND " PASS, "pn") ", " \
    SUM_IF("disposition = 'none' AND " FAIL, "fn") ", " \
    SUM_IF("disposition = 'quarantine' AND " PASS, "pq") ", " \
    SUM_IF("disposition = 'quarantine' AND " FAIL, "fq") ", " \
    SUM_IF("disposition = 'reject' AND " PASS, "pr") ", " \
    SUM_IF("disposition = 'reject' AND " FAIL, "fr") ", " \
    SUM_IF(OTHER " AND " PASS, "po") ", " \
    SUM_IF(OTHER " AND " FAIL, "fo")
/*
 * Over all domains a summary by source_ip sums 76,000 rows a year into as
 * many groups: with api_sum8 (db/007_totals.sql: the bigint kept in place),
 * not sum(bigint), which allocates a numeric per group and sum and costs
 * five times as much here.
 */
#define SPAN_ROW "both_aligned AS b, dkim_only AS d, spf_only AS s, " \
    "neither AS n, none_pass AS pn, none_fail AS fn, quarantine_pass AS pq, " \
    "quarantine_fail AS fq, reject_pass AS pr, reject_fail AS fr, " \
    "other_pass AS po, other_fail AS fo"
#define SPLIT(cond) "CASE WHEN " cond " THEN messages END"
#define DAILY_ROW \
    SPLIT("dkim = 'pass' AND spf = 'pass'") ", " \
    SPLIT("dkim = 'pass' AND spf <> 'pass'") ", " \
    SPLIT("dkim <> 'pass' AND spf = 'pass'") ", " \
    SPLIT(FAIL) ", " \
    SPLIT("disposition = 'none' AND " PASS) ", " \
    SPLIT("disposition = 'none' AND " FAIL) ", " \
    SPLIT("disposition = 'quarantine' AND " PASS) ", " \
    SPLIT("disposition = 'quarantine' AND " FAIL) ", " \
    SPLIT("disposition = 'reject' AND " PASS) ", " \
    SPLIT("disposition = 'reject' AND " FAIL) ", " \
    SPLIT(OTHER " AND " PASS) ", " \
    SPLIT(OTHER " AND " FAIL)
#define SUMS8 "api_sum8(b) AS b, api_sum8(d) AS d, api_sum8(s) AS s, " \
    "api_sum8(n) AS n, api_sum8(pn) AS pn, api_sum8(fn) AS fn, " \
    "api_sum8(pq) AS pq, api_sum8(fq) AS fq, api_sum8(pr) AS pr, " \
    "api_sum8(fr) AS fr, api_sum8(po) AS po, api_sum8(fo) AS fo"
#define COALESCED "coalesce(b, 0) AS b, coalesce(d, 0) AS d, " \
    "coalesce(s, 0) AS s, coalesce(n, 0) AS n, coalesce(pn, 0) AS pn, " \
    "coalesce(fn, 0) AS fn, coalesce(pq, 0) AS pq, coalesce(fq, 0) AS fq, " \
    "coalesce(pr, 0) AS pr, coalesce(fr, 0) AS fr, coalesce(po, 0) AS po, " \
    "coalesce(fo, 0) AS fo"
/* a group's members (api_dmarc_fields, db/007_totals.sql) from b .. fo */
#define FIELDS(p) "api_dmarc_fields(" p "b, " p "d, " p "s, " p "n, " \
    p "pn, " p "fn, " p "pq, " p "fq, " p "pr, " p "fr, " p "po, " p "fo)"
/* the groups listed (numeric or bigint, as the rollup read), and the
 * totals less them */
#define LISTED "sum(b) AS b, sum(d) AS d, sum(s) AS s, sum(n) AS n, " \
    "sum(pn) AS pn, sum(fn) AS fn, sum(pq) AS pq, sum(fq) AS fq, " \
    "sum(pr) AS pr, sum(fr) AS fr, sum(po) AS po, sum(fo) AS fo"
#define REST "api_dmarc_fields(t.b - x.b, t.d - x.d, t.s - x.s, t.n - x.n, " \
    "t.pn - x.pn, t.fn - x.fn, t.pq - x.pq, t.fq - x.fq, t.pr - x.pr, " \
    "t.fr - x.fr, t.po - x.po, t.fo - x.fo)"

/* q_two_ranges - "col >= $lo1 AND col < $hi1 OR col >= $lo2 AND ..." */
static void
q_two_ranges(struct sqlq *s, const char *col, int64_t lo1, int64_t hi1,
    int64_t lo2, int64_t hi2)
{
    const int64_t b[4] = { lo1, hi1, lo2, hi2 };
    int           i;

    for (i = 0; i < 4; i++) {
        q_sql(s, i == 0 ? "" : i == 2 ? " OR " : " AND ");
        q_sql(s, col);
        q_sql(s, i % 2 == 0 ? " >= " : " < ");
        q_date(s, b[i]);
    }
}

/* q_span_where - " WHERE " the whole years and months of sp */
static void
q_span_where(struct sqlq *s, const struct spans *sp)
{
    q_sql(s, " WHERE span = 'y' AND start >= ");
    q_date(s, sp->ya);
    q_sql(s, " AND start < ");
    q_date(s, sp->yb);
    q_sql(s, " OR span = 'm' AND (");
    q_two_ranges(s, "start", sp->ma, sp->ya, sp->yb, sp->mb);
    q_sql(s, ")");
}

/* q_ragged_where - " WHERE " the days of sp at either end */
static void
q_ragged_where(struct sqlq *s, const struct spans *sp)
{
    q_sql(s, " WHERE ");
    q_two_ranges(s, "day", sp->a, sp->ma, sp->mb, sp->b);
}

/*
 * q_dmarc_spans - the rows of g0 (col and the twelve sums) over all
 * domains grouped by source_ip or header_from: whole years and months from
 * the span table, the ragged days from dmarc_daily (db/007_totals.sql)
 */
static void
q_dmarc_spans(struct sqlq *s, const struct api_query *q, const char *col,
    const char *table)
{
    struct spans sp;

    spans_of(q, &sp);
    q_sql(s, "SELECT col, " SUMS8 " FROM (SELECT ");
    q_sql(s, col);
    q_sql(s, " AS col, " SPAN_ROW " FROM ");
    q_sql(s, table);
    q_span_where(s, &sp);
    q_sql(s, " UNION ALL SELECT ");
    q_sql(s, col);
    q_sql(s, ", " DAILY_ROW " FROM dmarc_daily");
    q_ragged_where(s, &sp);
    q_sql(s, ") u GROUP BY col");
}

/*
 * q_dmarc_summary - the groups (at most API_GROUPS_MAX, largest first; by
 * day every day), the totals, and the rest as other.  The totals come
 * from the day rollups (dmarc_daily_org, or dmarc_daily_all over all
 * domains), whatever the grouping: each message is in one group, so the
 * totals are the same, and other is the totals less the groups listed.
 * Only the groups listed and one more are sorted (top-N).
 */
static void
q_dmarc_summary(struct sqlq *s, const struct api_query *q)
{
    const char *g = q->group_by, *col, *key, *table, *order;
    const char *totals = q->domain[0] ? "dmarc_daily_org" :
        "dmarc_daily_all";
    bool        first = true, day = strcmp(g, "day") == 0;
    int         lim;

    /* grouped by the column, the key made per group: cheaper */
    if (strcmp(g, "source_ip") == 0) {
        col = "source_ip";
        key = "host(col)";
        table = q->domain[0] ? "dmarc_daily" : "dmarc_span_ip";
    } else if (strcmp(g, "header_from") == 0) {
        col = "header_from";
        key = "nullif(col, '')";
        table = q->domain[0] ? "dmarc_daily" : "dmarc_span_from";
    } else if (strcmp(g, "org") == 0) {
        col = "reporter";
        key = "col";
        table = totals;
    } else if (strcmp(g, "disposition") == 0) {
        col = "disposition";
        key = "nullif(col, '')";
        table = totals;
    } else {
        col = "day";
        key = "to_char(col, 'YYYY-MM-DD')";
        table = totals;
    }
    order = day ? "key" : "m DESC, key COLLATE \"C\" NULLS LAST";
    q_sql(s, "WITH g0 AS (");
    if (strncmp(table, "dmarc_span_", 11) == 0) {
        q_dmarc_spans(s, q, col, table);
    } else {
        q_sql(s, "SELECT ");
        q_sql(s, col);
        q_sql(s, " AS col, " OUTCOME_SUMS " FROM ");
        q_sql(s, table);
        q_days(s, q, "", &first);
        q_sql(s, " GROUP BY 1");
    }
    q_sql(s, "), g AS (SELECT *, b + d + s + n AS m FROM (SELECT ");
    q_sql(s, key);
    q_sql(s, " AS key, " COALESCED " FROM g0) g1), r AS (SELECT *, "
        "row_number() OVER (ORDER BY ");
    q_sql(s, order);
    q_sql(s, ") AS rn FROM (SELECT * FROM g ORDER BY ");
    q_sql(s, order);
    if (!day) {
        q_sql(s, " LIMIT ");
        q_int(s, API_GROUPS_MAX + 1);
    }
    q_sql(s, ") top), t AS (SELECT " COALESCED " FROM (SELECT " OUTCOME_SUMS
        " FROM ");
    q_sql(s, totals);
    first = true;
    q_days(s, q, "", &first);
    q_sql(s, ") t0) SELECT json_build_object(");
    q_echo(s, q);
    lim = q_num(s, day ? INT64_MAX : API_GROUPS_MAX);
    q_sql(s, ", 'totals', (SELECT ('{' || " FIELDS("") " || '}')::json "
        "FROM t), 'groups', (SELECT ('[' || coalesce(string_agg('{\"key\":' "
        "|| coalesce(to_json(key)::text, 'null') || ',' || " FIELDS("")
        " || '}', ',' ORDER BY rn), '') || ']')::json FROM r WHERE rn <= ");
    q_ref(s, lim);
    q_sql(s, "), 'other', (SELECT CASE WHEN (SELECT count(*) FROM r) > ");
    q_ref(s, lim);
    q_sql(s, " THEN ('{' || " REST " || '}')::json END FROM t, (SELECT "
        LISTED " FROM r WHERE rn <= ");
    q_ref(s, lim);
    q_sql(s, ") x))::text");
}

/*
 * q_page_array - "name AS (...)": per address of the page, the distinct
 * non-empty values of col in table over the range, as a: read from the
 * (source_ip, day) covering index, the NULL address apart
 */
static void
q_page_array(struct sqlq *s, const struct api_query *q, const char *name,
    const char *col, const char *table)
{
    bool first, nul;

    for (nul = false; ; nul = true) {
        q_sql(s, nul ? " UNION ALL SELECT NULL, " : name);
        if (!nul)
            q_sql(s, " AS (SELECT source_ip, ");
        q_sql(s, "array_agg(DISTINCT ");
        q_sql(s, col);
        q_sql(s, " ORDER BY ");
        q_sql(s, col);
        q_sql(s, ") FILTER (WHERE ");
        q_sql(s, col);
        q_sql(s, " <> '') AS a FROM ");
        q_sql(s, table);
        first = true;
        q_days(s, q, "", &first);
        q_and(s, &first);
        if (nul)
            break;
        q_sql(s, "source_ip = ANY (ARRAY(SELECT source_ip FROM page WHERE "
            "source_ip IS NOT NULL)) GROUP BY source_ip");
    }
    q_sql(s, "source_ip IS NULL AND EXISTS (SELECT 1 FROM page WHERE "
        "source_ip IS NULL) HAVING count(*) > 0)");
}

/*
 * q_sources - per source address: messages, pass counts, first and last
 * day; for the page's addresses only, their header_from domains and
 * reporters.  Over all domains the sums come from the span rollup and the
 * ragged days, as the summaries' (q_dmarc_spans).
 */
static void
q_sources(struct sqlq *s, const struct api_query *q)
{
    struct spans sp;
    bool         first = true;

    q_sql(s, "WITH g AS (SELECT source_ip, coalesce(host(source_ip), '') "
        "AS ipkey, ");
    if (q->domain[0]) {
        q_sql(s, "sum(messages) AS m, "
            "sum(messages) FILTER (WHERE dkim = 'pass') AS dk, "
            "sum(messages) FILTER (WHERE spf = 'pass') AS sp, "
            "sum(messages) FILTER (WHERE " PASS ") AS dp, "
            "min(day) AS d0, max(day) AS d1 FROM dmarc_daily");
        q_days(s, q, "", &first);
    } else {
        spans_of(q, &sp);
        /* api_sum8, as in q_dmarc_spans */
        q_sql(s, "api_sum8(m) AS m, api_sum8(dk) AS dk, api_sum8(sp) AS sp, "
            "api_sum8(dp) AS dp, min(d0) AS d0, max(d1) AS d1 FROM (SELECT "
            "source_ip, both_aligned + dkim_only + spf_only + neither AS m, "
            "both_aligned + dkim_only AS dk, both_aligned + spf_only AS sp, "
            "both_aligned + dkim_only + spf_only AS dp, first_day AS d0, "
            "last_day AS d1 FROM dmarc_span_ip");
        q_span_where(s, &sp);
        q_sql(s, " UNION ALL SELECT source_ip, messages, "
            SPLIT("dkim = 'pass'") ", " SPLIT("spf = 'pass'") ", "
            SPLIT(PASS) ", day, day FROM dmarc_daily");
        q_ragged_where(s, &sp);
        q_sql(s, ") u");
    }
    q_sql(s, " GROUP BY source_ip), page AS (SELECT * FROM g");
    if (q->has_cursor) {
        q_sql(s, " WHERE ");
        q_after(s, "m", q->cursor.a, "ipkey");
        q_param(s, q->cursor.text);
        q_sql(s, "))");
    }
    q_sql(s, " ORDER BY m DESC, ipkey");
    q_limit(s, q);
    q_sql(s, "), ");
    q_page_array(s, q, "hf", "header_from", "dmarc_daily");
    q_sql(s, ", ");
    q_page_array(s, q, "rep", "reporter", "dmarc_daily_ip_reporter");
    q_sql(s, ", page2 AS (SELECT page.*, hf.a AS hf, "
        "rep.a AS rs FROM page LEFT JOIN hf ON hf.source_ip IS NOT DISTINCT FROM "
        "page.source_ip LEFT JOIN rep ON rep.source_ip IS NOT DISTINCT FROM "
        "page.source_ip ORDER BY m DESC, ipkey");
    q_page_end(s, q, "page2", "m DESC, ipkey",
        "jsonb_build_object('source_ip', host(x.source_ip), "
        "'messages', x.m, 'dkim_aligned_pass', coalesce(x.dk, 0), "
        "'spf_aligned_pass', coalesce(x.sp, 0), 'dmarc_pass', "
        "coalesce(x.dp, 0), 'dmarc_pass_rate', CASE WHEN x.m > 0 THEN "
        "round(coalesce(x.dp, 0)::numeric / x.m, 6) ELSE 0 END, "
        "'header_from', coalesce(to_jsonb(x.hf), '[]'), 'reporters', "
        "coalesce(to_jsonb(x.rs), '[]'), 'first_seen', x.d0::text, "
        "'last_seen', x.d1::text)", "x.m", "x.ipkey");
}

static void
q_tls_summary(struct sqlq *s, const struct api_query *q)
{
    const char *g = q->group_by, *col, *key = "col";
    bool        first = true;

    if (strcmp(g, "result_type") == 0) {
        col = "result_type";
    } else if (strcmp(g, "receiving_mx_hostname") == 0) {
        col = "receiving_mx_hostname";
        key = "nullif(col, '')";
    } else if (strcmp(g, "sending_mta_ip") == 0) {
        col = "sending_mta_ip";
        key = "host(col)";
    } else if (strcmp(g, "policy_type") == 0) {
        col = "policy_type";
    } else {
        col = "day";
        key = "to_char(col, 'YYYY-MM-DD')";
    }
    q_sql(s, "WITH g0 AS (SELECT ");
    q_sql(s, col);
    q_sql(s, " AS col, sum(sessions) AS n, sum(sessions) FILTER (WHERE "
        "result_type = 'success') AS ok FROM ");
    q_sql(s, q->domain[0] ? "tlsrpt_daily_detail" : "tlsrpt_daily_all");
    q_days(s, q, "", &first);
    q_sql(s, " GROUP BY 1), g AS (SELECT ");
    q_sql(s, key);
    q_sql(s, " AS key, g0.* FROM g0), r AS (SELECT *, row_number() OVER "
        "(ORDER BY ");
    q_sql(s, strcmp(g, "day") == 0 ? "key" :
        "n DESC, key COLLATE \"C\" NULLS LAST");
    q_sql(s, ") AS rn FROM g) SELECT json_build_object(");
    q_echo(s, q);
    q_sql(s, ", 'totals', (SELECT json_build_object("
        "'sessions', coalesce(sum(n), 0), 'successful', coalesce(sum(ok), "
        "0), 'failed', coalesce(sum(n), 0) - coalesce(sum(ok), 0)) FROM g), "
        "'groups', coalesce((SELECT json_agg(json_build_object('key', key,"
        " 'sessions', n, 'successful', coalesce(ok, 0), 'failed', n - "
        "coalesce(ok, 0)) ORDER BY rn) FROM r WHERE rn <= ");
    q_int(s, strcmp(g, "day") == 0 ? INT64_MAX : API_GROUPS_MAX);
    q_sql(s, "), '[]'), 'other', (SELECT CASE WHEN count(*) > 0 THEN "
        "json_build_object('sessions', sum(n), 'successful', "
        "coalesce(sum(ok), 0), 'failed', sum(n) - coalesce(sum(ok), 0)) END "
        "FROM r WHERE rn > ");
    q_ref(s, s->n);
    q_sql(s, "))::text");
}

/* ---- the rest ---- */

/* domains and reporters: the all-time rollups of db/007_totals.sql */
static const char sql_domains[] =
    "WITH x AS (SELECT policy_domain AS domain, "
    "sum(reports) FILTER (WHERE kind = 'dmarc') AS dr, "
    "sum(messages) FILTER (WHERE kind = 'dmarc') AS m, "
    "sum(reports) FILTER (WHERE kind = 'tlsrpt') AS tr, "
    "sum(messages) FILTER (WHERE kind = 'tlsrpt') AS s, "
    "min(first_begin) AS fb, max(last_begin) AS lb FROM api_reporter_domain "
    "WHERE kind = 'dmarc' OR policy_domain <> '' GROUP BY 1) "
    "SELECT jsonb_build_object('items', coalesce(jsonb_agg("
    "jsonb_build_object('domain', domain, 'dmarc_reports', "
    "coalesce(dr, 0), 'messages', coalesce(m, 0), 'tlsrpt_reports', "
    "coalesce(tr, 0), 'sessions', coalesce(s, 0), 'first_report', "
    "api_ts(fb), 'last_report', api_ts(lb)) ORDER BY domain), '[]'), "
    "'next_cursor', NULL)::text FROM x";

static const char sql_reporters[] =
    "SELECT jsonb_build_object('items', coalesce(jsonb_agg("
    "jsonb_build_object('kind', a.kind, 'reporter', a.reporter, "
    "'org_name', a.org_name, 'reports', a.reports, 'domains', "
    "(SELECT count(*) FROM api_reporter_domain d WHERE d.kind = a.kind "
    "AND d.reporter = a.reporter), 'first_report', api_ts(a.first_begin), "
    "'last_report', api_ts(a.last_begin), 'last_received', "
    "api_ts(a.last_stored)) ORDER BY a.kind, a.reporter), '[]'), "
    "'next_cursor', NULL)::text FROM api_reporter a";

/* page_json - {"items": ..., "next_cursor": ...} from a list query */
static enum ruad_rc
page_json(const struct api_query *q, char *const *v, char **json,
    size_t *len)
{
    struct api_cursor c;
    struct buf        b;
    char              enc[API_CURSOR_MAX];

    buf_init(&b, (size_t)1 << 30);
    if (buf_append_str(&b, "{\"items\":") != RUAD_OK ||
        buf_append_str(&b, v[0] != NULL ? v[0] : "[]") != RUAD_OK) {
        buf_free(&b);
        return RUAD_NOMEM;
    }
    if (v[1] != NULL && v[2] != NULL) {
        memset(&c, 0, sizeof(c));
        c.kind = q->ep == API_EP_DMARC_REPORTS ? 'd' :
            q->ep == API_EP_TLS_REPORTS ? 't' :
            q->ep == API_EP_INBOUND ? 'i' :
            q->ep == API_EP_DMARC_RECORDS ? 'r' : 's';
        c.a = strtoll(v[1], NULL, 10);
        if (c.kind == 's')
            snprintf(c.text, sizeof(c.text), "%s", v[2]);
        else
            c.id = strtoll(v[2], NULL, 10);
        api_cursor_encode(&c, enc);
        if (buf_printf(&b, ",\"next_cursor\":\"%s\"}", enc) != RUAD_OK) {
            buf_free(&b);
            return RUAD_NOMEM;
        }
    } else if (buf_append_str(&b, ",\"next_cursor\":null}") != RUAD_OK) {
        buf_free(&b);
        return RUAD_NOMEM;
    }
    *len = buf_len(&b);
    *json = buf_take(&b);
    return *json != NULL ? RUAD_OK : RUAD_NOMEM;
}

enum ruad_rc
store_api_get(struct store *st, const struct api_query *q, char **json,
    size_t *len, bool *found)
{
    struct sqlq  s;
    char        *v[3];
    size_t       l[3];
    enum ruad_rc rc;
    int          i, ncols = 1;
    bool         list = false;

    *json = NULL;
    *len = 0;
    q_init(&s);
    switch (q->ep) {
    case API_EP_DOMAINS:
        q_sql(&s, sql_domains);
        break;
    case API_EP_REPORTERS:
        q_sql(&s, sql_reporters);
        break;
    case API_EP_DMARC_REPORT:
        q_sql(&s, "SELECT api_dmarc_report(");
        q_int(&s, q->id);
        q_sql(&s, ")::text");
        break;
    case API_EP_TLS_REPORT:
        q_sql(&s, "SELECT api_tlsrpt_report(");
        q_int(&s, q->id);
        q_sql(&s, ")::text");
        break;
    case API_EP_DMARC_SUMMARY:
        q_dmarc_summary(&s, q);
        break;
    case API_EP_TLS_SUMMARY:
        q_tls_summary(&s, q);
        break;
    case API_EP_DMARC_REPORTS:
        q_dmarc_reports(&s, q);
        list = true;
        break;
    case API_EP_TLS_REPORTS:
        q_tls_reports(&s, q);
        list = true;
        break;
    case API_EP_INBOUND:
        q_inbound(&s, q);
        list = true;
        break;
    case API_EP_DMARC_SOURCES:
        q_sources(&s, q);
        list = true;
        break;
    case API_EP_DMARC_RECORDS:
        q_records(&s, q);
        list = true;
        break;
    default:
        buf_free(&s.sql);
        return RUAD_INTERNAL;
    }
    if (list)
        ncols = 3;
    rc = q_run(st, &s, api_ep_name(q->ep), false, ncols, v, l, found);
    if (rc != RUAD_OK)
        return rc;
    if (list) {
        rc = page_json(q, v, json, len);
    } else if (v[0] == NULL) {
        *found = false;               /* detail of a missing id */
    } else {
        *json = v[0];
        *len = l[0];
        v[0] = NULL;
    }
    for (i = 0; i < ncols; i++)
        free(v[i]);
    return rc;
}

enum ruad_rc
store_api_raw(struct store *st, int64_t id, char **raw, size_t *len,
    bool *found)
{
    struct sqlq s;

    q_init(&s);
    q_sql(&s, "SELECT raw FROM inbound WHERE id = ");
    q_int(&s, id);
    return q_run(st, &s, "inbound raw", true, 1, raw, len, found);
}

enum ruad_rc
store_api_inbound_state(struct store *st, int64_t id,
    enum inbound_state *state, bool *found)
{
    struct sqlq  s;
    char        *v[1];
    size_t       l[1];
    enum ruad_rc rc;

    q_init(&s);
    q_sql(&s, "SELECT state FROM inbound WHERE id = ");
    q_int(&s, id);
    rc = q_run(st, &s, "inbound state", false, 1, v, l, found);
    /* text the table lacks: the CHECK constraint (db/008) rules it out */
    if (rc == RUAD_OK && *found && (v[0] == NULL ||
        !inbound_state_parse(v[0], l[0], state)))
        rc = RUAD_INTERNAL;
    free(v[0]);
    return rc;
}
