/*
 * http_server.c - the HTTP(S) listener: routing, connections, body caps.
 *
 * Routes: POST /tlsrpt (TLS reports, RFC 8460 3: http_tlsrpt.c),
 * GET /healthz (the process is up), GET /readyz (the database answers
 * and the schema is current) and GET /metrics (Prometheus text), both in
 * http_ops.c, /api/v1 (http_api.c), requests to mta-sts.DOMAIN (the
 * MTA-STS policy, mta_sts.c).  Any other path is a file of the dashboard
 * (http_static.c).  Errors are application/problem+json (RFC 9457).
 *
 * libmicrohttpd 0.9.75 runs a pool of http_threads threads on epoll.  A
 * complete report is handed to receipt.c with its connection suspended
 * (http_tlsrpt.c), so a request thread never waits for the database.
 * TLS is GnuTLS (libmicrohttpd is linked with it), 1.2 and 1.3 only; the
 * certificates (tls_creds.c) come from a callback, so SIGHUP swaps them
 * for new handshakes without dropping a connection.
 *
 * SECURITY: everything from the peer is hostile.  libmicrohttpd has no
 * body limit: http_max_body is ours, checked on Content-Length before a
 * byte is read and on the bytes as they come.  The bodies of all requests
 * together count against receive_max_bytes with SMTP's messages
 * (membudget.c) as their bytes arrive, not as Content-Length announces
 * them (only HTTP_BODY_FIRST is taken with the headers), so headers
 * alone hold little: past it 503 with Retry-After.  libmicrohttpd's
 * timeout is idle time only, so a trickle of bytes would keep a
 * connection for ever: our own deadlines (http_header_timeout from the
 * connection, or on a kept connection from the next request's first
 * byte, to the end of the headers, http_body_timeout from there to the
 * end of the body; none while the answer is made and sent, so a slow
 * reader of a large file gets it, nor while a kept connection is idle)
 * are kept per connection and a sweep thread shuts down the socket of a
 * connection past its deadline.  The per-address cap is ours too
 * (libmicrohttpd's counts whole IPv6 addresses; ours counts an IPv6
 * client by its /64).  Framing that two parsers could read two ways is
 * refused with 400 and the connection closed (RFC 9112 6.1, 6.3):
 * Content-Length with Transfer-Encoding, more than one Content-Length or
 * Transfer-Encoding, a Content-Length that is not a number; so is a NUL
 * (%00) in the request target, which would cut the path short, and a
 * body on GET or HEAD.  Total connections and libmicrohttpd's
 * per-connection memory are set explicitly.  Peer strings are escaped
 * before they are logged.
 */
#include "http_server.h"
#include "http_priv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "buf.h"
#include "clock.h"
#include "http_alog.h"
#include "http_api.h"
#include "http_problem.h"
#include "http_static.h"
#include "receipt.h"
#include "limits.h"
#include "log.h"
#include "membudget.h"
#include "mta_sts.h"
#include "metrics.h"
#include "ratelimit.h"
#include "netaddr.h"
#include "tls_creds.h"

#define HTTP_CONN_MEMORY    (64u << 10) /* libmicrohttpd's per-connection */
#define HTTP_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define HTTP_SWEEP_MS       200         /* deadline check interval */
#define HTTP_HEARD_SLACK_MS 50          /* bytes this much after the idle
                                           start are a next request's */

/* http_conn.state: a deadline and what the connection waits for */
#define HC_STATE(d, w)      ((uint64_t)(d) << 2 | (uint64_t)(w))
#define HC_DEADLINE(s)      ((int64_t)((s) >> 2))
#define HC_WAIT(s)          ((enum http_wait)((s) & 3))

/* The server whose credentials the GnuTLS callback hands out. */
struct http_server *http_tls_server;
/* Stopping: every answer closes its connection, so a busy keep-alive
 * client cannot hold the drain open. */
atomic_bool http_draining;

/* ---- responses ---- */

/* http_reply - queue a response with a body copied from (p, n) */
enum MHD_Result
http_reply(struct MHD_Connection *c, enum metrics_path path,
    unsigned status, const char *ctype, const char *p, size_t n,
    const char *hdr, const char *hval)
{
    return (enum MHD_Result)http_static_send(c, path, status, ctype, p, n,
        false, hdr, hval, atomic_load(&http_draining));
}

/* http_problem - an RFC 9457 problem document (http_problem.c) */
enum MHD_Result
http_problem(struct MHD_Connection *c, enum metrics_path path,
    unsigned status, const char *title, const char *detail,
    const char *hdr, const char *hval)
{
    char           *body;
    size_t          n;
    enum MHD_Result ret;

    if ((body = http_problem_json(status, title, detail, NULL, true, &n)) ==
        NULL)
        return MHD_NO;
    ret = http_reply(c, path, status, "application/problem+json", body, n,
        hdr, hval);
    free(body);
    return ret;
}

/* ---- helpers ---- */

/* http_peer_text - the client's address as text (netaddr_peer_text:
 * an IPv4 client of [::] as a.b.c.d) */
void
http_peer_text(struct MHD_Connection *c, char *dst, size_t n)
{
    const union MHD_ConnectionInfo *ci;

    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    (void)netaddr_peer_text(ci != NULL ? ci->client_addr : NULL, dst, n);
}

/* ---- connections: the per-address cap and the deadlines ---- */

/* http_conn_of - our record of the connection, NULL if it has none */
static struct http_conn *
http_conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci;

    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

/*
 * http_conn_phase - the connection now waits for w (a request's headers
 * or its body) for at most timeout_s from now; 0: no deadline (HC_ANSWER:
 * the body is in, the answer is ours to make and send, however long a
 * slow reader takes; libmicrohttpd's idle timeout still runs).
 * HC_IDLE's timeout_s only bounds what the sweep cannot see (http_sweep).
 */
void
http_conn_phase(struct MHD_Connection *c, enum http_wait w,
    unsigned timeout_s)
{
    struct http_conn *hc = http_conn_of(c);

    if (hc == NULL)
        return;
    atomic_store(&hc->state, HC_STATE(timeout_s == 0 ? 0 :
        clock_now_ms() + (int64_t)timeout_s * 1000, w));
}

/*
 * http_conn_heard - has the peer sent data in the last idle_ms (less
 * HTTP_HEARD_SLACK_MS)?  The kernel's time of the last data received
 * (TCP_INFO): libmicrohttpd reads the bytes at once and tells nothing
 * before a request line is complete.  False when it cannot tell.
 */
static bool
http_conn_heard(int fd, int64_t idle_ms)
{
    struct tcp_info ti;
    socklen_t       n = sizeof(ti);

    memset(&ti, 0, sizeof(ti));
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &n) != 0)
        return false;
    return (int64_t)ti.tcpi_last_data_recv + HTTP_HEARD_SLACK_MS < idle_ms;
}

/*
 * http_conn_notify - libmicrohttpd's STARTED and CLOSED notices: the
 * per-address cap (an IPv6 client is its /64), and the list the sweep
 * walks.  CLOSED comes before libmicrohttpd closes the descriptor, and
 * takes conn_mu: the sweep never shuts down a descriptor reused since.
 */
static void
http_conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
    struct http_server             *h = cls;
    struct http_conn               *hc = *socket_context, *o;
    const union MHD_ConnectionInfo *ci;
    char                            ktext[NETADDR_TEXT_MAX];
    unsigned                        same = 0;

    if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (hc == NULL)
            return;
        pthread_mutex_lock(&h->conn_mu);
        if (hc->prev != NULL)
            hc->prev->next = hc->next;
        else
            h->conns = hc->next;
        if (hc->next != NULL)
            hc->next->prev = hc->prev;
        pthread_mutex_unlock(&h->conn_mu);
        free(hc);
        *socket_context = NULL;
        return;
    }
    if (toe != MHD_CONNECTION_NOTIFY_STARTED)
        return;
    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if ((hc = calloc(1, sizeof(*hc))) == NULL) {
        if (ci != NULL)                 /* untracked: not served */
            shutdown(ci->connect_fd, SHUT_RDWR);
        return;
    }
    hc->fd = ci != NULL ? ci->connect_fd : -1;
    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    (void)netaddr_key(ci != NULL ? ci->client_addr : NULL, &hc->key);
    http_peer_text(c, hc->peer, sizeof(hc->peer));
    atomic_store(&hc->state, HC_STATE(clock_now_ms() +
        (int64_t)h->cfg->http_header_timeout * 1000, HC_HEADERS));
    pthread_mutex_lock(&h->conn_mu);
    for (o = h->conns; o != NULL; o = o->next)
        if (!o->refused && !o->cut && netaddr_key_equal(&o->key, &hc->key))
            same++;
    if (same >= h->cfg->http_max_per_ip) {
        hc->refused = true;             /* closed unread, never counted */
        atomic_store(&hc->state, HC_STATE(0, HC_HEADERS));
        if (hc->fd >= 0)
            shutdown(hc->fd, SHUT_RDWR);
    }
    hc->next = h->conns;
    if (h->conns != NULL)
        h->conns->prev = hc;
    h->conns = hc;
    pthread_mutex_unlock(&h->conn_mu);
    *socket_context = hc;
    if (hc->refused)
        log_info("http refused peer=%s client=%s reason=\"too many "
            "connections from one client\" max=%u", hc->peer,
            netaddr_key_text(&hc->key, ktext, sizeof(ktext)),
            (unsigned)h->cfg->http_max_per_ip);
}

/*
 * http_sweep - the deadlines: a connection past its own is shut down
 * (libmicrohttpd then sees the end of its stream and closes it).  A kept
 * connection (HC_IDLE) has none but libmicrohttpd's idle timeout until
 * the next request's first byte: when the sweep sees it arrive, that
 * request's http_header_timeout starts.  Its HC_IDLE deadline (idle
 * timeout plus header timeout from the last answer) holds a client that
 * trickles unseen to what the two allow together.
 */
static void *
http_sweep(void *arg)
{
    struct http_server *h = arg;
    struct http_conn   *hc;
    struct timespec     ts;
    int64_t             now, d, idle_ms = ((int64_t)h->cfg->http_timeout +
        h->cfg->http_header_timeout) * 1000;
    uint64_t            st, hs;

    pthread_mutex_lock(&h->sweep_mu);
    while (!h->sweep_stop) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += HTTP_SWEEP_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        (void)pthread_cond_timedwait(&h->sweep_cv, &h->sweep_mu, &ts);
        if (h->sweep_stop)
            break;
        pthread_mutex_unlock(&h->sweep_mu);
        now = clock_now_ms();
        pthread_mutex_lock(&h->conn_mu);
        for (hc = h->conns; hc != NULL; hc = hc->next) {
            if (hc->cut || hc->refused || hc->fd < 0)
                continue;
            st = atomic_load(&hc->state);
            if (HC_WAIT(st) == HC_IDLE && HC_DEADLINE(st) != 0 &&
                http_conn_heard(hc->fd, now - (HC_DEADLINE(st) - idle_ms))) {
                /* a request begins: its headers' deadline, unless the
                 * connection moved on meanwhile (st is then its state) */
                hs = HC_STATE(now + (int64_t)h->cfg->http_header_timeout *
                    1000, HC_HEADERS);
                if (atomic_compare_exchange_strong(&hc->state, &st, hs))
                    st = hs;
            }
            d = HC_DEADLINE(st);
            if (d == 0 || now < d)
                continue;
            hc->cut = true;
            shutdown(hc->fd, SHUT_RDWR);
            log_info("http close reason=%s peer=%s", HC_WAIT(st) == HC_BODY ?
                "body-deadline" : "header-deadline", hc->peer);
        }
        pthread_mutex_unlock(&h->conn_mu);
        pthread_mutex_lock(&h->sweep_mu);
    }
    pthread_mutex_unlock(&h->sweep_mu);
    return NULL;
}

/* ---- framing ---- */

/* Fresh requests, from the URI log callback to their first access call. */
static char http_new_marker, http_bad_target;

/* http_uri - a request line (libmicrohttpd's URI log callback gets the
 * target as sent): a %00 would be decoded into a NUL that cuts the path
 * short ("/tlsrpt%00x" read as "/tlsrpt") */
static void *
http_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls, (void)c;
    return uri != NULL && strstr(uri, "%00") != NULL ? &http_bad_target :
        &http_new_marker;
}

struct http_framing {
    unsigned n_cl, n_te;
    bool     cl_bad, cl_nonzero;
};

static enum MHD_Result
http_framing_header(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
    struct http_framing *f = cls;

    (void)kind;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        f->n_cl++;
        if (value == NULL || value[0] == '\0' ||
            value[strspn(value, "0123456789")] != '\0')
            f->cl_bad = true;
        else if (value[strspn(value, "0")] != '\0')
            f->cl_nonzero = true;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->n_te++;
    }
    return MHD_YES;
}

/* http_refusal - why a request whose headers just arrived is refused
 * (400, and the connection closed); NULL when it is not */
static const char *
http_refusal(struct MHD_Connection *c, const char *method, bool bad_target)
{
    struct http_framing f;

    if (bad_target)
        return "a NUL (%00) in the request target";
    memset(&f, 0, sizeof(f));
    MHD_get_connection_values(c, MHD_HEADER_KIND, http_framing_header, &f);
    if (f.n_cl > 0 && f.n_te > 0)
        return "both Content-Length and Transfer-Encoding (RFC 9112 6.1)";
    if (f.n_cl > 1)
        return "more than one Content-Length (RFC 9112 6.3)";
    if (f.n_te > 1)
        return "more than one Transfer-Encoding (RFC 9112 6.1)";
    if (f.cl_bad)
        return "Content-Length is not a number (RFC 9112 6.3)";
    if ((strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) &&
        (f.n_te > 0 || f.cl_nonzero))
        return "a GET or HEAD request has no body";
    return NULL;
}

/* route - the path without the configured prefix, NULL if outside it */
static const char *
route(const struct config *cfg, const char *url)
{
    size_t n = strlen(cfg->http_prefix);

    if (n == 0)
        return url;
    if (strncmp(url, cfg->http_prefix, n) != 0 || url[n] != '/')
        return NULL;
    return url + n;
}

/* ---- handlers ---- */

/* http_req_account - count what the body holds now; false once the
 * server-wide receive_max_bytes is passed */
static bool
http_req_account(struct http_req *rq)
{
    size_t now = rq->body.data != NULL ? rq->body.cap + 1 : 0;
    bool   ok;

    if (now <= rq->charged)
        return true;
    ok = membudget_charge(now - rq->charged);
    rq->charged = now;
    return ok;
}

/* http_req_grow - room for n more body bytes: with a Content-Length the
 * buffer doubles up to that length, never past it (what is counted
 * against receive_max_bytes is the buffer, http_req_account) */
static void
http_req_grow(struct http_req *rq, size_t n)
{
    size_t len = buf_len(&rq->body), cap = rq->body.cap * 2;

    if (rq->want == 0 || len + n <= rq->body.cap || len + n > rq->want)
        return;                 /* no length, room, or buf_append's cap */
    if (cap < len + n)
        cap = len + n;
    if (cap > rq->want)
        cap = rq->want;
    (void)buf_prealloc(&rq->body, cap - len);  /* else buf_append fails */
}

/* http_req_release - the body is no longer needed */
static void
http_req_release(struct http_req *rq)
{
    buf_free(&rq->body);
    if (rq->charged > 0)
        membudget_give(rq->charged);
    rq->charged = 0;
}

/* Marks a read-only request between its two access calls. */
static char http_read_marker;

/* http_read - answer GET /healthz, /readyz, /metrics or a file */
static enum MHD_Result
http_read(struct http_server *h, struct MHD_Connection *c, const char *path)
{
    if (path != NULL && strcmp(path, "/healthz") == 0)
        return http_reply(c, MP_HEALTHZ, 200, "text/plain", "ok\n", 3, NULL,
            NULL);
    if (path != NULL && strcmp(path, "/readyz") == 0)
        return http_readyz(h, c);
    if (path != NULL && strcmp(path, "/metrics") == 0) {
        if (h->cfg->metrics_require_token) {   /* any API token may scrape */
            bool given;

            if (http_api_scope(h->api, c, &given) == API_SCOPE_NONE)
                return (enum MHD_Result)http_api_deny(c, given);
        }
        return http_metrics(h, c);
    }
    return (enum MHD_Result)http_static_serve(h->web_root, c,
        path != NULL ? path : "");
}

/*
 * http_mta_sts - a request to mta-sts.DOMAIN: the policy at
 * /.well-known/mta-sts.txt (RFC 8461 3.3: text/plain, 200, never a
 * redirect), 404 for anything else on that host.
 */
static enum MHD_Result
http_mta_sts(struct http_server *h, struct MHD_Connection *c,
    const char *url, const char *method)
{
    const struct mta_sts_policy *p = mta_sts_for_host(h->sts,
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host"));

    if (strcmp(url, "/.well-known/mta-sts.txt") != 0)
        return http_problem(c, MP_OTHER, 404, "Not Found", "this host "
            "serves /.well-known/mta-sts.txt only", NULL, NULL);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return http_problem(c, MP_OTHER, 405, "Method Not Allowed",
            "read-only", "Allow", "GET, HEAD");
    return http_reply(c, MP_OTHER, 200, "text/plain", p->text, p->len,
        NULL, NULL);
}

/* http_access - libmicrohttpd's request callback */
static enum MHD_Result
http_access(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_size, void **con_cls)
{
    struct http_server *h = cls;
    struct http_req    *rq = *con_cls;
    const char         *path;

    (void)version;
    if (*con_cls == &http_new_marker || *con_cls == &http_bad_target) {
        /* a request's headers are in: now its body's deadline */
        bool        bad_target = *con_cls == &http_bad_target;
        const char *why;

        *con_cls = rq = NULL;
        http_conn_phase(c, HC_BODY, h->cfg->http_body_timeout);
        if ((why = http_refusal(c, method, bad_target)) != NULL) {
            char peer[INET6_ADDRSTRLEN];

            atomic_fetch_add(&h->in_flight, 1);    /* http_done: out */
            http_alog_begin(c, method, url);
            http_peer_text(c, peer, sizeof(peer));
            log_info("http refused peer=%s status=400 reason=\"%s\"", peer,
                why);
            return http_problem(c, MP_OTHER, 400, "Bad Request", why,
                MHD_HTTP_HEADER_CONNECTION, "close");
        }
    }
    if (http_api_owns(*con_cls)) {         /* /api/ (http_api.c) */
        if (*upload_size == 0)             /* a later call: body complete */
            http_conn_phase(c, HC_ANSWER, 0);
        return (enum MHD_Result)http_api_access(h->api, c, route(h->cfg,
            url), method, upload_size, con_cls);
    }
    if (*con_cls == &http_read_marker) {
        /* second call of a read-only request: its (empty) body is read,
         * so answering now keeps the connection alive; the answer (a
         * large file to a slow reader) has no deadline but the idle one */
        *con_cls = NULL;
        http_conn_phase(c, HC_ANSWER, 0);
        return http_read(h, c, route(h->cfg, url));
    }
    if (*con_cls == NULL) {                /* a request begins */
        atomic_fetch_add(&h->in_flight, 1);
        http_alog_begin(c, method, url);
    }
    if (rq != NULL && rq->phase == RQ_STORED)
        return http_tlsrpt_answer(h, c, rq);
    if (rq != NULL) {                      /* a POST body arriving */
        if (*upload_size > 0) {
            if (!rq->too_big && !rq->no_room) {
                http_req_grow(rq, *upload_size);
                if (buf_append(&rq->body, upload_data, *upload_size) !=
                    RUAD_OK) {
                    rq->too_big = true;    /* keep no more bytes */
                    http_req_release(rq);
                } else if (!http_req_account(rq)) {
                    rq->no_room = true;    /* 503 at the end */
                    http_req_release(rq);
                }
            } else if ((rq->dropped += *upload_size) >
                h->cfg->http_max_body) {
                return MHD_NO;             /* too much: cut it off */
            }
            /* libmicrohttpd 0.9.75 cannot queue a response mid-body: the
             * rest (up to another http_max_body) is read and dropped and
             * the 413 sent at its end, so the client gets to read it */
            *upload_size = 0;
            return MHD_YES;
        }
        http_conn_phase(c, HC_ANSWER, 0);  /* the body is complete */
        return http_tlsrpt_store(h, c, rq);
    }
    if (h->sts != NULL && mta_sts_for_host(h->sts,
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host")) != NULL)
        return http_mta_sts(h, c, url, method);
    if ((path = route(h->cfg, url)) == NULL)
        return http_problem(c, MP_OTHER, 404, "Not Found", "no such path",
            NULL, NULL);
    if (strcmp(path, "/tlsrpt") == 0)
        return http_tlsrpt_begin(h, c, method, con_cls);
    if (strncmp(path, "/api/", 5) == 0)
        return (enum MHD_Result)http_api_access(h->api, c, path, method,
            upload_size, con_cls);
    if (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0 ||
        strcmp(path, "/metrics") == 0) {
        enum metrics_path mp = path[1] == 'h' ? MP_HEALTHZ :
            path[1] == 'r' ? MP_READYZ : MP_METRICS;

        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
            return http_problem(c, mp, 405, "Method Not Allowed",
                "read-only", "Allow", "GET, HEAD");
        /* answered on the next call (libmicrohttpd closes a connection
         * whose response came before the request was complete) */
        *con_cls = &http_read_marker;
        return MHD_YES;
    }
    /* the rest is the dashboard's files (http_static.c) */
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return (enum MHD_Result)http_static_refuse(h->web_root, c, path);
    *con_cls = &http_read_marker;
    return MHD_YES;
}

/* http_done - a request ended (answered or cut off): free its state */
static void
http_done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
    struct http_server *h = cls;
    struct http_req    *rq = *con_cls;

    http_alog_end(c, toe);
    /* kept alive: idle (http_timeout) until the next request's first
     * byte, then its headers' deadline (http_sweep) */
    http_conn_phase(c, HC_IDLE, h->cfg->http_timeout +
        h->cfg->http_header_timeout);
    if (*con_cls == &http_new_marker || *con_cls == &http_bad_target) {
        *con_cls = NULL;            /* ended before its headers were in */
        return;
    }
    atomic_fetch_sub(&h->in_flight, 1);
    if (*con_cls == &http_read_marker || http_api_owns(*con_cls)) {
        *con_cls = NULL;
        return;
    }
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK &&
        toe != MHD_REQUEST_TERMINATED_CLIENT_ABORT && rq != NULL)
        log_info("http request ended early reason=%d", (int)toe);
    if (rq != NULL) {
        http_req_release(rq);
        free(rq);
        *con_cls = NULL;
    }
}

/* http_log - libmicrohttpd's own messages, as our log lines */
static void http_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
http_log(void *cls, const char *fmt, va_list ap)
{
    char   msg[512];
    size_t i;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* quoted below: keep spaces, mask what could break the line */
    for (i = 0; msg[i] != '\0'; i++)
        if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] >= 0x7f ||
            msg[i] == '"' || msg[i] == '\\')
            msg[i] = msg[i + 1] == '\0' && msg[i] == '\n' ? '\0' : '?';
    log_debug("http mhd=\"%s\"", msg);     /* its chatter: below info */
}

struct http_server *
http_server_start(const struct config *cfg, struct store_pool *pool,
    struct receipt *receipt, void (*on_receive)(void), char *err,
    size_t errlen)
{
    struct http_server *h;
    struct addrinfo     hints, *ai = NULL;
    char                host[256], port_s[8];
    unsigned            port;
    unsigned            flags = MHD_USE_INTERNAL_POLLING_THREAD |
        MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
        MHD_USE_ITC |                   /* MHD_quiesce_daemon needs it */
        MHD_ALLOW_SUSPEND_RESUME;       /* while a report is stored */
    struct sockaddr_storage sa;
    int                 r;

    if (!config_split_listen(cfg->http_listen, host, sizeof(host), &port)) {
        snprintf(err, errlen, "http_listen: \"%s\" is not host:port",
            cfg->http_listen);
        return NULL;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port_s, sizeof(port_s), "%u", port);
    if ((r = getaddrinfo(host, port_s, &hints, &ai)) != 0 ||
        ai->ai_addrlen > sizeof(sa)) {
        snprintf(err, errlen, "http_listen: %s: %s", cfg->http_listen,
            r ? gai_strerror(r) : "address too long");
        if (ai != NULL)
            freeaddrinfo(ai);
        return NULL;
    }
    memcpy(&sa, ai->ai_addr, ai->ai_addrlen);
    if (ai->ai_family == AF_INET6)     /* [::] takes IPv4 clients too */
        flags |= MHD_USE_DUAL_STACK;
    freeaddrinfo(ai);

    if ((h = calloc(1, sizeof(*h))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->cfg = cfg;
    h->pool = pool;
    h->receipt = receipt;
    metrics_set_db_hook(store_stats_figures);  /* /metrics: store_stats */
    if ((h->api = http_api_new(cfg, pool, on_receive)) == NULL) {
        snprintf(err, errlen, "out of memory");
        free(h);
        return NULL;
    }
    http_static_root(cfg, h->web_root, sizeof(h->web_root));
    pthread_mutex_init(&h->mu, NULL);
    h->tls = cfg->tls_cert[0] != '\0';
    if (h->tls) {
        if ((h->creds = tls_creds_load(cfg->tls_cert, cfg->tls_key, err,
            errlen, NULL)) == NULL) {
            pthread_mutex_destroy(&h->mu);
            http_api_free(h->api);
            free(h);
            return NULL;
        }
        if (!tls_creds_sni_load(cfg->tls_sni_certs, h->sni, &h->n_sni, err,
            errlen)) {
            tls_creds_free(h->creds);
            pthread_mutex_destroy(&h->mu);
            http_api_free(h->api);
            free(h);
            return NULL;
        }
        http_tls_server = h;
        flags |= MHD_USE_TLS;
    }
    if (mta_sts_load(cfg->mta_sts_policy, &h->sts, err, errlen) !=
        RUAD_OK) {
        http_tls_server = NULL;
        while (h->n_sni > 0)
            tls_creds_free(h->sni[--h->n_sni]);
        tls_creds_free(h->creds);
        pthread_mutex_destroy(&h->mu);
        http_api_free(h->api);
        free(h);
        return NULL;
    }
    if ((h->rl_ip = ratelimit_new(cfg->rate_limit_per_ip,
        cfg->rate_limit_window)) == NULL) {
        snprintf(err, errlen, "out of memory");
        http_tls_server = NULL;
        while (h->n_sni > 0)
            tls_creds_free(h->sni[--h->n_sni]);
        tls_creds_free(h->creds);
        mta_sts_free(h->sts);
        pthread_mutex_destroy(&h->mu);
        http_api_free(h->api);
        free(h);
        return NULL;
    }
    http_ops_init(&h->ready_ops, http_ready_ask,
        sizeof(struct http_ready_answer));
    http_ops_init(&h->stats_ops, http_stats_ask, sizeof(struct http_stats));
    pthread_mutex_init(&h->conn_mu, NULL);
    pthread_mutex_init(&h->sweep_mu, NULL);
    {
        pthread_condattr_t ca;

        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&h->sweep_cv, &ca);
        pthread_condattr_destroy(&ca);
    }
    h->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, http_access,
        h,
        MHD_OPTION_EXTERNAL_LOGGER, http_log, h,      /* must come first */
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->http_threads,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->http_timeout,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->http_max_connections,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
        MHD_OPTION_NOTIFY_COMPLETED, http_done, h,
        MHD_OPTION_NOTIFY_CONNECTION, http_conn_notify, h,
        MHD_OPTION_URI_LOG_CALLBACK, http_uri, h,
        h->tls ? MHD_OPTION_HTTPS_CERT_CALLBACK : MHD_OPTION_END,
        tls_creds_cert_cb,
        MHD_OPTION_HTTPS_PRIORITIES, HTTP_TLS_PRIORITIES,
        MHD_OPTION_END);
    if (h->d == NULL) {
        snprintf(err, errlen, "cannot listen on %s (in use, or no such "
            "address?)", cfg->http_listen);
        http_ops_free(&h->ready_ops);
        http_ops_free(&h->stats_ops);
        tls_creds_free(h->creds);
        while (h->n_sni > 0)
            tls_creds_free(h->sni[--h->n_sni]);
        mta_sts_free(h->sts);
        ratelimit_free(h->rl_ip);
        pthread_mutex_destroy(&h->mu);
        pthread_mutex_destroy(&h->conn_mu);
        pthread_mutex_destroy(&h->sweep_mu);
        pthread_cond_destroy(&h->sweep_cv);
        http_tls_server = NULL;
        http_api_free(h->api);
        free(h);
        return NULL;
    }
    h->sweeping = pthread_create(&h->sweeper, NULL, http_sweep, h) == 0;
    if (!h->sweeping)
        log_warn("http deadline sweep not started: slow clients are cut "
            "off by http_timeout alone");
    log_info("http listening addr=%s tls=%s threads=%u web_root=%s",
        cfg->http_listen, h->tls ? "on" : "off", cfg->http_threads,
        h->web_root);
    return h;
}

void
http_server_stop(struct http_server *h, unsigned drain_s)
{
    const union MHD_DaemonInfo *di;
    unsigned                    waited = 0;
    MHD_socket                  ls;

    if (h == NULL)
        return;
    atomic_store(&http_draining, true);
    http_api_draining();
    ls = MHD_quiesce_daemon(h->d);         /* no new connections */
    /* let requests in flight finish (each may be a report being stored);
     * idle keep-alive connections are closed without waiting for them */
    for (;;) {
        di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        /* a report with receipt always comes back first: its job is part
         * of the request's state */
        if (atomic_load(&h->storing) == 0 && (di == NULL ||
            di->num_connections == 0 || atomic_load(&h->in_flight) == 0 ||
            waited >= drain_s * 100))
            break;
        usleep(10000);
        waited++;
    }
    MHD_stop_daemon(h->d);
    if (ls != MHD_INVALID_SOCKET)          /* ours once quiesced */
        close(ls);
    if (h->sweeping) {
        pthread_mutex_lock(&h->sweep_mu);
        h->sweep_stop = true;
        pthread_cond_signal(&h->sweep_cv);
        pthread_mutex_unlock(&h->sweep_mu);
        pthread_join(h->sweeper, NULL);
    }
    pthread_mutex_destroy(&h->conn_mu);
    pthread_mutex_destroy(&h->sweep_mu);
    pthread_cond_destroy(&h->sweep_cv);
    http_tls_server = NULL;
    http_ops_free(&h->ready_ops);
    http_ops_free(&h->stats_ops);
    tls_creds_free(h->creds);
    while (h->n_sni > 0)
        tls_creds_free(h->sni[--h->n_sni]);
    mta_sts_free(h->sts);
    ratelimit_free(h->rl_ip);
    pthread_mutex_destroy(&h->mu);
    http_api_free(h->api);
    free(h);
}
