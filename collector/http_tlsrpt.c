/*
 * http_tlsrpt.c - POST /tlsrpt: TLS reports sent over HTTPS.
 *
 * RFC 8460 3 (rua=https:): a reporter POSTs the report with
 * Content-Type application/tlsrpt+gzip or application/tlsrpt+json.  The
 * body is stored as an inbound row (channel https, peer address, TLS
 * version) and only then answered 202 Accepted; the worker parses it
 * later, so the same report again is also 202 (the worker marks it a
 * duplicate; the very same bytes again are not stored at all).  Errors
 * are application/problem+json (RFC 9457): wrong type 415, no body or
 * too big 413 (from Content-Length before reading, when it is given),
 * not gzip when the type says so 400, not a TLS report by its first
 * decompressed bytes (a DMARC report, whatever the type says: /tlsrpt
 * takes TLS reports only) 400 and a log line, more than
 * rate_limit_per_ip reports a window from one address (IPv6: its /64)
 * 429 with Retry-After, database unreachable 503 with Retry-After,
 * another method 405 with Allow.
 *
 * A complete report is handed to receipt.c and its connection suspended
 * (MHD_suspend_connection), so a request thread never waits for the
 * database; the storing thread resumes it after the commit, and the 202
 * (or 503) is queued then.  Reports arriving together share one commit.
 *
 * SECURITY: the body is hostile; http_server.c caps it (http_max_body,
 * receive_max_bytes) as it arrives.  Refusal reasons are made printable
 * ASCII before they reach the JSON and the log.
 */
#include "http_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/gnutls.h>

#include "log.h"
#include "membudget.h"
#include "ratelimit.h"
#include "report.h"

/* media_type_is - Content-Type equals want, parameters ignored (RFC 9110
 * 8.3.1: type and subtype are case-insensitive) */
static bool
media_type_is(const char *ct, const char *want)
{
    size_t n = strlen(want);

    if (ct == NULL)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, want, n) != 0)
        return false;
    ct += n;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

/*
 * tls_text - protocol and cipher of the connection, NULL if plain.  The
 * protocol is spelt as OpenSSL does ("TLSv1.3"), so SMTP and HTTPS rows
 * read alike.
 */
static void
tls_text(struct MHD_Connection *c, char *ver, size_t verlen,
    const char **cipher)
{
    const union MHD_ConnectionInfo *ci;
    gnutls_session_t                s;
    const char                     *v;

    ver[0] = '\0';
    *cipher = NULL;
    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ci == NULL || (s = (gnutls_session_t)ci->tls_session) == NULL)
        return;
    v = gnutls_protocol_get_name(gnutls_protocol_get_version(s));
    if (v != NULL && strncmp(v, "TLS1.", 5) == 0)
        snprintf(ver, verlen, "TLSv%s", v + 3);
    else
        snprintf(ver, verlen, "%s", v ? v : "TLS");
    *cipher = gnutls_cipher_get_name(gnutls_cipher_get(s));
}

/* http_stored - from a storing thread: the report is committed (or not);
 * the connection goes on, and http_access answers */
static void
http_stored(struct receipt_job *ij)
{
    struct http_req    *rq = ij->ctx;
    struct http_server *h = rq->h;

    rq->phase = RQ_STORED;
    MHD_resume_connection(rq->c);
    /* receipt is done with the job: the request may end from now on */
    atomic_fetch_sub(&h->storing, 1);
}

/* http_tlsrpt_limited - 429 to a report over rate_limit_per_ip */
static enum MHD_Result
http_tlsrpt_limited(struct http_server *h, struct MHD_Connection *c,
    struct http_req *rq)
{
    char retry[16], detail[160];

    snprintf(retry, sizeof(retry), "%u", rq->limited_s);
    snprintf(detail, sizeof(detail), "more than %u reports in %u seconds "
        "from your address; retry later", h->cfg->rate_limit_per_ip,
        h->cfg->rate_limit_window);
    return http_problem(c, MP_TLSRPT, 429, "Too Many Requests", detail,
        "Retry-After", retry);
}

/* http_tlsrpt_admit - take one from the client's rate limit (its /64 for
 * IPv6); 0, or the seconds to wait (and the refusal counted, logged at
 * most once a second) */
static unsigned
http_tlsrpt_admit(struct http_server *h, struct MHD_Connection *c)
{
    char          peer[INET6_ADDRSTRLEN], key[INET6_ADDRSTRLEN + 4];
    int64_t       now = ratelimit_now_us(), retry_us;
    unsigned long skipped;
    unsigned      s;

    http_peer_text(c, peer, sizeof(peer));
    ratelimit_addr_key(peer, key, sizeof(key));
    if (ratelimit_take(h->rl_ip, key, now, &retry_us))
        return 0;
    s = (unsigned)((retry_us + 999999) / 1000000);
    s = s > 0 ? s : 1;
    metrics_rate_limited("https", "ip");
    if (ratelimit_log_due(h->rl_ip, now, &skipped))
        log_warn("http tlsrpt rate limited peer=%s key=%s limit=%u/%us "
            "retry_after=%u refused_unlogged=%lu", peer, key,
            h->cfg->rate_limit_per_ip, h->cfg->rate_limit_window, s,
            skipped);
    return s;
}

/* http_tlsrpt_store - the body is complete: check, and hand it to receipt
 * (the answer comes when http_stored resumes the connection) */
enum MHD_Result
http_tlsrpt_store(struct http_server *h, struct MHD_Connection *c,
    struct http_req *rq)
{
    struct inbound_meta *m = &rq->ij.meta;
    const char          *body = buf_ptr(&rq->body);
    size_t               len = buf_len(&rq->body);
    char                 why[256];
    enum ruad_rc         rc;

    if (rq->limited_s > 0)
        return http_tlsrpt_limited(h, c, rq);
    if (rq->no_room) {
        http_peer_text(c, rq->peer, sizeof(rq->peer));
        log_info("http tlsrpt refused peer=%s status=503 reason=\""
            "receive_max_bytes\"", rq->peer);
        return http_problem(c, MP_TLSRPT, 503, "Service Unavailable",
            "too many reports arriving at once; retry later", "Retry-After",
            HTTP_RETRY_AFTER);
    }
    if (rq->too_big)
        return http_problem(c, MP_TLSRPT, 413, "Content Too Large",
            "the report is larger than http_max_body", NULL, NULL);
    if (len == 0)
        return http_problem(c, MP_TLSRPT, 413, "Content Too Large",
            "no report in the request body", NULL, NULL);
    if (rq->gzip && (len < 2 || (unsigned char)body[0] != 0x1f ||
        (unsigned char)body[1] != 0x8b))
        return http_problem(c, MP_TLSRPT, 400, "Bad Request",
            "Content-Type says gzip but the body is not gzip data", NULL,
            NULL);
    /* the first decompressed bytes tell a DMARC report (or anything but
     * a TLS report) at once, whatever the Content-Type says */
    if ((rc = report_sniff_tlsrpt(body, len, &h->cfg->limits, why,
        sizeof(why))) != RUAD_OK) {
        char *q;

        for (q = why; *q != '\0'; q++)   /* for the JSON and the log */
            if (*q < 0x20 || *q > 0x7e || *q == '"' || *q == '\\')
                *q = '?';
        http_peer_text(c, rq->peer, sizeof(rq->peer));
        log_info("http tlsrpt refused peer=%s status=%d reason=\"%s\"",
            rq->peer, rc == RUAD_NOMEM ? 503 : 400, why);
        if (rc == RUAD_NOMEM)
            return http_problem(c, MP_TLSRPT, 503, "Service Unavailable",
                "cannot take the report now; retry later", "Retry-After",
                HTTP_RETRY_AFTER);
        return http_problem(c, MP_TLSRPT, 400, "Bad Request", why, NULL,
            NULL);
    }
    http_peer_text(c, rq->peer, sizeof(rq->peer));
    tls_text(c, rq->tlsver, sizeof(rq->tlsver), &m->tls_cipher);
    m->channel = "https";
    m->tls_version = rq->tlsver[0] ? rq->tlsver : NULL;
    m->peer_addr = rq->peer;
    m->content_type = rq->gzip ? "application/tlsrpt+gzip" :
        "application/tlsrpt+json";
    rq->ij.raw = body;
    rq->ij.len = len;
    rq->ij.done = http_stored;
    rq->ij.ctx = rq;
    rq->h = h;
    rq->c = c;
    rq->phase = RQ_STORING;
    http_conn_phase(c, HC_ANSWER, 0);      /* ours to wait for, not its */
    atomic_fetch_add(&h->storing, 1);
    /* suspended first: http_stored may resume it at once */
    MHD_suspend_connection(c);
    receipt_submit(h->receipt, &rq->ij);
    return MHD_YES;
}

/* http_tlsrpt_answer - the report's fate is known: 202 or 503 */
enum MHD_Result
http_tlsrpt_answer(struct http_server *h, struct MHD_Connection *c,
    struct http_req *rq)
{
    const struct inbound_meta *m = &rq->ij.meta;

    (void)h;
    if (rq->ij.rc != RUAD_OK) {
        log_warn("http tlsrpt refused peer=%s status=503 reason=\"the "
            "database did not store it\"", rq->peer);
        return http_problem(c, MP_TLSRPT, 503, "Service Unavailable",
            "cannot store the report now; retry later", "Retry-After",
            HTTP_RETRY_AFTER);
    }
    if (rq->ij.identical) {
        /* stored before, byte for byte: as good as stored now */
        metrics_identical("https");
        log_debug("http tlsrpt identical peer=%s bytes=%zu (stored "
            "before; not stored again)", rq->peer, rq->ij.len);
    } else {
        log_info("http tlsrpt accepted inbound=%lld peer=%s bytes=%zu "
            "tls=%s", (long long)rq->ij.id, rq->peer, rq->ij.len,
            m->tls_version ? m->tls_version : "none");
    }
    return http_reply(c, MP_TLSRPT, 202, "application/json",
        "{\"status\":\"accepted\"}\n", 22, NULL, NULL);
}

/* http_tlsrpt_begin - headers of a POST /tlsrpt: refuse early if we can */
enum MHD_Result
http_tlsrpt_begin(struct http_server *h, struct MHD_Connection *c,
    const char *method, void **con_cls)
{
    const char      *ct, *cl;
    struct http_req *rq;
    unsigned long long n = 0;
    size_t           first = 0;
    char            *end;
    bool             have_len = false;

    if (strcmp(method, "POST") != 0)
        return http_problem(c, MP_TLSRPT, 405, "Method Not Allowed",
            "reports are POSTed", "Allow", "POST");
    ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
        MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!media_type_is(ct, "application/tlsrpt+gzip") &&
        !media_type_is(ct, "application/tlsrpt+json"))
        return http_problem(c, MP_TLSRPT, 415, "Unsupported Media Type",
            "use application/tlsrpt+gzip or application/tlsrpt+json "
            "(RFC 8460 3)", "Accept-Post",
            "application/tlsrpt+gzip, application/tlsrpt+json");
    cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
        MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl != NULL) {
        errno = 0;
        n = strtoull(cl, &end, 10);
        have_len = errno == 0 && *end == '\0';
        if (errno == 0 && *end == '\0' && n > h->cfg->http_max_body)
            return http_problem(c, MP_TLSRPT, 413, "Content Too Large",
                "the report is larger than http_max_body", NULL, NULL);
        if (errno == 0 && *end == '\0' && n == 0)
            return http_problem(c, MP_TLSRPT, 413, "Content Too Large",
                "no report in the request body", NULL, NULL);
    }
    /* the body's first bytes (HTTP_BODY_FIRST): held for it now, or
     * refused at once; the rest is counted as it comes (http_server.c) */
    if (have_len)
        first = n < HTTP_BODY_FIRST ? (size_t)n : HTTP_BODY_FIRST;
    if (have_len && !membudget_take(first + 1)) {
        char peer[INET6_ADDRSTRLEN];

        http_peer_text(c, peer, sizeof(peer));
        log_info("http tlsrpt refused peer=%s status=503 reason=\""
            "receive_max_bytes\" bytes=%llu", peer, n);
        return http_problem(c, MP_TLSRPT, 503, "Service Unavailable",
            "too many reports arriving at once; retry later", "Retry-After",
            HTTP_RETRY_AFTER);
    }
    if ((rq = calloc(1, sizeof(*rq))) == NULL) {
        if (have_len)
            membudget_give(first + 1);
        return MHD_NO;
    }
    rq->path = MP_TLSRPT;
    rq->gzip = media_type_is(ct, "application/tlsrpt+gzip");
    buf_init(&rq->body, h->cfg->http_max_body);
    /* over the limit: the body is read and dropped as a too big one is
     * (no byte kept), then 429, so the client gets to read it */
    if ((rq->limited_s = http_tlsrpt_admit(h, c)) > 0)
        rq->too_big = true;
    if (have_len) {
        rq->want = (size_t)n;
        rq->charged = first + 1;
        if (!rq->too_big)                       /* else it is dropped */
            (void)buf_prealloc(&rq->body, first);
    }
    *con_cls = rq;
    return MHD_YES;
}
