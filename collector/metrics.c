/*
 * metrics.c - counters and their Prometheus rendering (see metrics.h).
 */
#include "metrics.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "inbound_state.h"

static const char *const path_names[MP_N] = {
    "/tlsrpt", "/healthz", "/readyz", "/metrics", "/api/v1", "web", "other"
};
static const unsigned statuses[] = { 200, 202, 304, 400, 401, 403, 404, 405,
    409, 413, 414, 415, 429, 500, 503 };
#define N_STATUS (sizeof(statuses) / sizeof(statuses[0]))
/* the verdicts, then pending (a row put back for another try) */
static const enum inbound_state verdicts[] = { INBOUND_PARSED,
    INBOUND_DUPLICATE, INBOUND_NOT_A_REPORT, INBOUND_MALFORMED,
    INBOUND_TOO_LARGE, INBOUND_UNAUTHENTICATED, INBOUND_SUPERSEDED,
    INBOUND_CONFLICT, INBOUND_FAILED, INBOUND_PENDING };
#define N_VERDICT (sizeof(verdicts) / sizeof(verdicts[0]))

/* refusals and identical bodies, by channel (and key) */
static const char *const channels[] = { "smtp", "https", "imap" };
#define N_CHANNEL (sizeof(channels) / sizeof(channels[0]))
static const char *const rate_keys[] = { "ip", "sender" };
#define N_RATE_KEY (sizeof(rate_keys) / sizeof(rate_keys[0]))
/* the limits there are: smtp by ip and sender, https by ip */
static const unsigned char rate_pairs[][2] = { { 0, 0 }, { 0, 1 }, { 1, 0 } };
#define N_RATE_PAIR (sizeof(rate_pairs) / sizeof(rate_pairs[0]))

static atomic_ullong requests[MP_N][N_STATUS + 1];   /* +1: other codes */
static atomic_ullong rate_limited[N_CHANNEL][N_RATE_KEY];
static atomic_ullong identical[N_CHANNEL];
static atomic_ullong verdict_count[N_VERDICT];
static atomic_ullong reports_dmarc, reports_tlsrpt;
static time_t        started;
static enum ruad_rc (*sections[4])(struct buf *);
static size_t        n_sections;
static metrics_db_fn db_hook;

void
metrics_init(void)
{
    started = time(NULL);
}

void
metrics_add_section(enum ruad_rc (*fn)(struct buf *b))
{
    if (n_sections < sizeof(sections) / sizeof(sections[0]))
        sections[n_sections++] = fn;
}

void
metrics_set_db_hook(metrics_db_fn fn)
{
    db_hook = fn;
}

void
metrics_request(enum metrics_path path, unsigned status)
{
    size_t i;

    for (i = 0; i < N_STATUS && statuses[i] != status; i++)
        ;
    atomic_fetch_add(&requests[path][i], 1);
}

void
metrics_verdict(enum inbound_state state, unsigned dmarc_stored,
    unsigned tlsrpt_stored)
{
    size_t i;

    for (i = 0; i < N_VERDICT; i++)
        if (verdicts[i] == state) {
            atomic_fetch_add(&verdict_count[i], 1);
            break;
        }
    atomic_fetch_add(&reports_dmarc, dmarc_stored);
    atomic_fetch_add(&reports_tlsrpt, tlsrpt_stored);
}

/* name_index - i of name in names[n], n when absent */
static size_t
name_index(const char *const *names, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n && strcmp(names[i], name) != 0; i++)
        ;
    return i;
}

void
metrics_rate_limited(const char *channel, const char *key)
{
    size_t c = name_index(channels, N_CHANNEL, channel);
    size_t k = name_index(rate_keys, N_RATE_KEY, key);

    if (c < N_CHANNEL && k < N_RATE_KEY)
        atomic_fetch_add(&rate_limited[c][k], 1);
}

void
metrics_identical(const char *channel)
{
    size_t c = name_index(channels, N_CHANNEL, channel);

    if (c < N_CHANNEL)
        atomic_fetch_add(&identical[c], 1);
}

/* One render's output, for the rows the database hook gives. */
struct render {
    struct buf  *b;
    enum ruad_rc rc;
};

/* render_row - one count of inbound rows (a metrics_row_fn) */
static void
render_row(void *ctx, const char *channel, const char *state, long long rows)
{
    struct render *r = ctx;

    if (r->rc == RUAD_OK)
        r->rc = buf_printf(r->b, "ruad_inbound_rows{channel=\"%s\","
            "state=\"%s\"} %lld\n", channel, state, rows);
}

enum ruad_rc
metrics_render(struct buf *b, const void *db, long long cert_not_after)
{
    size_t p, s;
    enum ruad_rc rc = RUAD_OK;
    bool   up = db != NULL && db_hook != NULL;

#define OUT(...) do { if (rc == RUAD_OK) rc = buf_printf(b, __VA_ARGS__); \
    } while (0)
    OUT("# HELP ruad_http_requests_total HTTP requests by path and status.\n"
        "# TYPE ruad_http_requests_total counter\n");
    for (p = 0; p < MP_N; p++)
        for (s = 0; s <= N_STATUS; s++) {
            unsigned long long n = atomic_load(&requests[p][s]);

            if (n == 0)
                continue;
            if (s < N_STATUS)
                OUT("ruad_http_requests_total{path=\"%s\",status=\"%u\"} "
                    "%llu\n", path_names[p], statuses[s], n);
            else
                OUT("ruad_http_requests_total{path=\"%s\",status=\"other\"}"
                    " %llu\n", path_names[p], n);
        }
    OUT("# HELP ruad_verdicts_total Inbound rows decided by this process, "
        "by verdict (failures by reason).\n"
        "# TYPE ruad_verdicts_total counter\n");
    for (s = 0; s < N_VERDICT; s++)
        OUT("ruad_verdicts_total{state=\"%s\"} %llu\n",
            inbound_state_name(verdicts[s]),
            (unsigned long long)atomic_load(&verdict_count[s]));
    OUT("# HELP ruad_reports_stored_total Reports stored by this process.\n"
        "# TYPE ruad_reports_stored_total counter\n"
        "ruad_reports_stored_total{type=\"dmarc\"} %llu\n"
        "ruad_reports_stored_total{type=\"tlsrpt\"} %llu\n",
        (unsigned long long)atomic_load(&reports_dmarc),
        (unsigned long long)atomic_load(&reports_tlsrpt));
    OUT("# HELP ruad_rate_limited_total Reports refused by a rate limit "
        "(HTTP 429, SMTP 452 4.7.1), by channel and key.\n"
        "# TYPE ruad_rate_limited_total counter\n");
    for (s = 0; s < N_RATE_PAIR; s++)
        OUT("ruad_rate_limited_total{channel=\"%s\",key=\"%s\"} %llu\n",
            channels[rate_pairs[s][0]], rate_keys[rate_pairs[s][1]],
            (unsigned long long)atomic_load(&rate_limited[rate_pairs[s][0]]
            [rate_pairs[s][1]]));
    OUT("# HELP ruad_identical_skipped_total Reports byte-identical to one "
        "already stored: answered as stored, nothing kept.\n"
        "# TYPE ruad_identical_skipped_total counter\n");
    for (p = 0; p < N_CHANNEL; p++)
        OUT("ruad_identical_skipped_total{channel=\"%s\"} %llu\n",
            channels[p], (unsigned long long)atomic_load(&identical[p]));
    if (up) {
        struct render r = { .b = b };
        long long     depth = 0;
        double        oldest = 0;

        OUT("# HELP ruad_inbound_rows Inbound rows by channel and state.\n"
            "# TYPE ruad_inbound_rows gauge\n");
        r.rc = rc;
        db_hook(db, &depth, &oldest, render_row, &r);
        rc = r.rc;
        OUT("# HELP ruad_queue_depth Inbound rows waiting for a worker.\n"
            "# TYPE ruad_queue_depth gauge\nruad_queue_depth %lld\n"
            "# HELP ruad_queue_oldest_seconds Age of the oldest waiting "
            "row.\n# TYPE ruad_queue_oldest_seconds gauge\n"
            "ruad_queue_oldest_seconds %.3f\n", depth, oldest);
    }
    OUT("# HELP ruad_database_up Whether the database answered this scrape."
        "\n# TYPE ruad_database_up gauge\nruad_database_up %d\n", up);
    OUT("# HELP ruad_uptime_seconds Seconds since the process started.\n"
        "# TYPE ruad_uptime_seconds gauge\nruad_uptime_seconds %lld\n",
        (long long)(time(NULL) - started));
    if (cert_not_after > 0)
        OUT("# HELP ruad_tls_cert_expiry_seconds Seconds until the served "
            "certificate's notAfter (RFC 5280).\n"
            "# TYPE ruad_tls_cert_expiry_seconds gauge\n"
            "ruad_tls_cert_expiry_seconds %lld\n",
            cert_not_after - (long long)time(NULL));
#undef OUT
    for (s = 0; s < n_sections && rc == RUAD_OK; s++)
        rc = sections[s](b);
    return rc;
}
