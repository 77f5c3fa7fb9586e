/*
 * http_server.c - the HTTP(S) listener: routing, body caps, TLS.
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
 * another method 405 with Allow.  GET /healthz (the
 * process is up), GET /readyz (the database answers and the schema is
 * current), GET /metrics (Prometheus text).  Any other path is a file of
 * the dashboard (http_static.c).
 *
 * libmicrohttpd 0.9.75 runs a pool of http_threads threads on epoll.  A
 * complete report is handed to ingest.c and its connection suspended
 * (MHD_suspend_connection), so a request thread never waits for the
 * database; the storing thread resumes it after the commit, and the 202
 * (or 503) is queued then.  Reports arriving together share one commit.
 * TLS is GnuTLS (libmicrohttpd is linked with it): the certificate comes
 * from a callback, so SIGHUP swaps it for new handshakes without dropping
 * a connection.  TLS 1.2 and 1.3 only.
 *
 * SECURITY: everything from the peer is hostile.  libmicrohttpd has no
 * body limit: http_max_body is ours, checked on Content-Length before a
 * byte is read and on the bytes as they come.  The bodies of all requests
 * together count against receive_max_bytes with SMTP's messages
 * (membudget.c): past it 503 with Retry-After.  libmicrohttpd's timeout
 * is idle time only, so a trickle of bytes would keep a connection for
 * ever: our own deadlines (http_header_timeout from the connection or the
 * end of the last request to the end of the headers, http_body_timeout
 * from there to the end of the body) are kept per connection and a sweep
 * thread shuts down the socket of a connection past its deadline.  The
 * per-address cap is ours too (libmicrohttpd's counts whole IPv6
 * addresses; ours counts an IPv6 client by its /64).  Framing that two
 * parsers could read two ways is refused with 400 and the connection
 * closed (RFC 9112 6.1, 6.3): Content-Length with Transfer-Encoding, more
 * than one Content-Length or Transfer-Encoding, a Content-Length that is
 * not a number; so is a NUL (%00) in the request target, which would cut
 * the path short, and a body on GET or HEAD.  Total connections and
 * libmicrohttpd's per-connection memory are set explicitly.  Peer strings
 * are escaped before they are logged.
 */
#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "buf.h"
#include "http_alog.h"
#include "http_api.h"
#include "http_static.h"
#include "ingest.h"
#include "limits.h"
#include "log.h"
#include "membudget.h"
#include "mta_sts.h"
#include "metrics.h"
#include "ratelimit.h"
#include "netaddr.h"

#define HTTP_POOL_WAIT_MS   5000      /* for a free database connection */
#define HTTP_RETRY_AFTER    "30"      /* seconds, on 503 */
#define HTTP_CONN_MEMORY    (64u << 10) /* libmicrohttpd's per-connection */
#define HTTP_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define HTTP_SNI_MAX        256         /* tls_sni_certs entries */
#define HTTP_SWEEP_MS       200         /* deadline check interval */

struct http_server;

/* http_ready's answers */
enum http_ready {
    READY_OK, READY_UNREACHABLE, READY_NO_ANSWER, READY_OLD_SCHEMA,
    READY_MISMATCH
};

/* /readyz's answer: why, for READY_MISMATCH (store_schema_check) */
struct http_ready_answer {
    enum http_ready     ready;
    char                why[512];
};

/* http_metrics' answer from the database */
struct http_stats {
    bool                ok;             /* the database answered */
    struct store_stats  s;
};

/*
 * One database answer shared by the requests of /metrics or of /readyz
 * (http_ops_cache_ms): the first request after it is older asks the
 * database, requests arriving meanwhile wait for that answer rather than
 * ask again, so scrapes cost at most one query per period whatever their
 * number.  The answer is written only by the asking thread (asking set),
 * read under mu.
 */
struct http_ops {
    pthread_mutex_t     mu;
    pthread_cond_t      done;
    bool                asking;
    bool                have;           /* answer holds one */
    struct timespec     at;             /* CLOCK_MONOTONIC, when answered */
    void              (*ask)(struct http_server *, void *answer);
    size_t              size;           /* of the answer */
    union {
        struct http_ready_answer ready;
        struct http_stats   stats;
    }                   answer;
};

/* One certificate chain and key, as loaded; never freed while serving. */
struct http_creds {
    gnutls_pcert_st    *pcert;
    unsigned            n_pcert;
    gnutls_privkey_t    key;
    long long           not_after;      /* of the leaf, epoch seconds */
    gnutls_x509_crt_t   leaf;           /* for SNI host name matches */
    struct http_creds  *older;          /* loaded before this one */
};

/* One connection, from libmicrohttpd's STARTED to its CLOSED notice. */
struct http_conn {
    struct http_alog      alog;         /* first: the access log's record */
    int                   fd;           /* valid until CLOSED (conn_mu) */
    struct netaddr_key    key;
    char                  peer[INET6_ADDRSTRLEN];
    _Atomic int64_t       deadline;     /* ms, monotonic; 0: none */
    atomic_bool           in_body;      /* which deadline runs */
    bool                  refused;      /* past the per-address cap */
    bool                  cut;          /* shut down by the sweep */
    struct http_conn     *prev, *next;
};

struct http_server {
    struct MHD_Daemon    *d;
    const struct config  *cfg;
    struct store_pool    *pool;
    struct ingest        *ingest;
    bool                  tls;
    atomic_uint           in_flight;    /* requests begun, not yet ended */
    atomic_uint           storing;      /* reports handed to ingest */
    pthread_mutex_t       mu;           /* guards creds and sni */
    struct http_creds    *creds;
    struct http_creds    *sni[HTTP_SNI_MAX];   /* tls_sni_certs */
    size_t                n_sni;
    struct mta_sts_set   *sts;          /* owned; mta_sts_policy */
    struct http_api      *api;          /* /api/v1 (http_api.c) */
    struct http_ops       ready_ops;    /* /readyz's answer */
    struct http_ops       stats_ops;    /* /metrics' database figures */
    struct ratelimit     *rl_ip;        /* POST /tlsrpt per address */
    char                  web_root[CONFIG_STRING_MAX];  /* resolved */
    pthread_mutex_t       conn_mu;      /* guards conns */
    struct http_conn     *conns;
    pthread_t             sweeper;      /* http_sweep */
    bool                  sweeping;
    pthread_mutex_t       sweep_mu;
    pthread_cond_t        sweep_cv;
    bool                  sweep_stop;
};

/* Where a POST /tlsrpt is. */
enum http_phase {
    RQ_READING,                         /* the body is arriving */
    RQ_STORING,                         /* with ingest, suspended */
    RQ_STORED                           /* resumed: answer ij.rc */
};

/* Per-request state, kept in *con_cls between the access calls. */
struct http_req {
    enum metrics_path      path;
    bool                   gzip;
    bool                   too_big;
    unsigned               limited_s;   /* rate limited: Retry-After */
    bool                   no_room;     /* past receive_max_bytes */
    size_t                 dropped;     /* body bytes read past the cap */
    size_t                 charged;     /* bytes counted (membudget) */
    struct buf             body;
    enum http_phase        phase;
    struct http_server    *h;
    struct MHD_Connection *c;
    struct ingest_job      ij;          /* ij.meta points at these: */
    char                   peer[INET6_ADDRSTRLEN];
    char                   tlsver[32];
};

/* ---- TLS credentials ---- */

/* read_file - whole small file (PEM) into memory */
static char *
read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE  *f = fopen(path, "rb");
    char  *p = NULL;
    long   n;

    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (1 << 20) &&
        fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) != NULL &&
        fread(p, 1, (size_t)n, f) == (size_t)n) {
        p[n] = '\0';
        *len = (size_t)n;
    } else {
        snprintf(err, errlen, "%s: cannot read (or larger than 1 MiB)",
            path);
        free(p);
        p = NULL;
    }
    fclose(f);
    return p;
}

static void
creds_free(struct http_creds *c)
{
    unsigned i;

    while (c != NULL) {
        struct http_creds *older = c->older;

        for (i = 0; i < c->n_pcert; i++)
            gnutls_pcert_deinit(&c->pcert[i]);
        free(c->pcert);
        if (c->key != NULL)
            gnutls_privkey_deinit(c->key);
        if (c->leaf != NULL)
            gnutls_x509_crt_deinit(c->leaf);
        free(c);
        c = older;
    }
}

/* creds_load - certificate chain and key from PEM files */
static struct http_creds *
creds_load(const char *certpath, const char *keypath, char *err,
    size_t errlen)
{
    struct http_creds *c = calloc(1, sizeof(*c));
    gnutls_x509_crt_t  crt[16];
    unsigned           ncrt = 16, i;
    gnutls_datum_t     d;
    char              *cert = NULL, *key = NULL;
    size_t             clen = 0, klen = 0;
    int                r;

    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if ((cert = read_file(certpath, &clen, err, errlen)) == NULL ||
        (key = read_file(keypath, &klen, err, errlen)) == NULL)
        goto fail;
    d.data = (unsigned char *)cert;
    d.size = (unsigned)clen;
    r = gnutls_x509_crt_list_import(crt, &ncrt, &d, GNUTLS_X509_FMT_PEM, 0);
    if (r <= 0) {
        snprintf(err, errlen, "%s: no PEM certificate (%s)", certpath,
            r < 0 ? gnutls_strerror(r) : "empty");
        goto fail;
    }
    ncrt = (unsigned)r;
    c->not_after = (long long)gnutls_x509_crt_get_expiration_time(crt[0]);
    if ((c->pcert = calloc(ncrt, sizeof(*c->pcert))) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail_crt;
    }
    for (i = 0; i < ncrt; i++) {
        if ((r = gnutls_pcert_import_x509(&c->pcert[i], crt[i], 0)) < 0) {
            snprintf(err, errlen, "%s: %s", certpath, gnutls_strerror(r));
            goto fail_crt;
        }
        c->n_pcert++;
    }
    d.data = (unsigned char *)key;
    d.size = (unsigned)klen;
    if ((r = gnutls_privkey_init(&c->key)) < 0 ||
        (r = gnutls_privkey_import_x509_raw(c->key, &d, GNUTLS_X509_FMT_PEM,
        NULL, 0)) < 0) {
        snprintf(err, errlen, "%s: %s", keypath, gnutls_strerror(r));
        goto fail_crt;
    }
    c->leaf = crt[0];                       /* kept */
    for (i = 1; i < ncrt; i++)
        gnutls_x509_crt_deinit(crt[i]);
    free(cert);
    free(key);
    return c;
fail_crt:
    for (i = 0; i < ncrt; i++)
        gnutls_x509_crt_deinit(crt[i]);
fail:
    free(cert);
    free(key);
    creds_free(c);
    return NULL;
}

/* The server whose credentials the GnuTLS callback hands out. */
static struct http_server *http_tls_server;
/* Stopping: every answer closes its connection, so a busy keep-alive
 * client cannot hold the drain open. */
static atomic_bool http_draining;

/*
 * http_sni_pick - the credentials for the name the client asked for
 * (TLS SNI): the first tls_sni_certs certificate valid for it, else
 * tls_cert.  Called with h->mu held.
 */
static struct http_creds *
http_sni_pick(struct http_server *h, gnutls_session_t s)
{
    char         name[256];
    size_t       len = sizeof(name) - 1, i;
    unsigned int type;

    if (h->n_sni == 0 || gnutls_server_name_get(s, name, &len, &type, 0) !=
        GNUTLS_E_SUCCESS || type != GNUTLS_NAME_DNS)
        return h->creds;
    name[len] = '\0';
    for (i = 0; i < h->n_sni; i++)
        if (gnutls_x509_crt_check_hostname(h->sni[i]->leaf, name))
            return h->sni[i];
    return h->creds;
}

/*
 * http_sni_load - each "CERT:KEY" of tls_sni_certs (comma separated)
 * into sni[] (n set); false with the reason in err, nothing kept.
 */
static bool
http_sni_load(const char *spec, struct http_creds **sni, size_t *n,
    char *err, size_t errlen)
{
    char        cert[1024], key[1024];
    const char *p = spec, *e, *colon;

    *n = 0;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        e = p + strcspn(p, ",");
        colon = memchr(p, ':', (size_t)(e - p));
        if (colon == NULL || colon == p || colon + 1 == e ||
            *n == HTTP_SNI_MAX || (size_t)(colon - p) >= sizeof(cert) ||
            (size_t)(e - colon) > sizeof(key)) {
            snprintf(err, errlen, "tls_sni_certs: \"%.*s\" is not "
                "CERT:KEY (at most %d)", (int)(e - p), p, HTTP_SNI_MAX);
            goto fail;
        }
        snprintf(cert, sizeof(cert), "%.*s", (int)(colon - p), p);
        snprintf(key, sizeof(key), "%.*s", (int)(e - colon - 1), colon + 1);
        while (key[0] != '\0' && key[strlen(key) - 1] == ' ')
            key[strlen(key) - 1] = '\0';
        if ((sni[*n] = creds_load(cert, key, err, errlen)) == NULL)
            goto fail;
        (*n)++;
        p = e;
    }
    return true;
fail:
    while (*n > 0)
        creds_free(sni[--*n]);
    return false;
}

/* http_cert_cb - GnuTLS asks for the certificate of a new handshake */
static int
http_cert_cb(gnutls_session_t s, const gnutls_datum_t *req_ca_dn,
    int nreqs, const gnutls_pk_algorithm_t *algos, int nalgos,
    gnutls_pcert_st **pcert, unsigned int *pcert_length,
    gnutls_privkey_t *pkey)
{
    struct http_server *h = http_tls_server;
    struct http_creds  *use;

    (void)req_ca_dn, (void)nreqs, (void)algos, (void)nalgos;
    if (h == NULL)
        return -1;
    pthread_mutex_lock(&h->mu);
    use = http_sni_pick(h, s);
    *pcert = use->pcert;
    *pcert_length = use->n_pcert;
    *pkey = use->key;
    pthread_mutex_unlock(&h->mu);
    return 0;
}

enum ruad_rc
http_server_reload_tls(struct http_server *h, char *err, size_t errlen)
{
    struct http_creds *c;

    if (!h->tls)
        return RUAD_OK;
    struct http_creds *sni[HTTP_SNI_MAX];
    size_t             n_sni, i;

    if ((c = creds_load(h->cfg->tls_cert, h->cfg->tls_key, err, errlen)) ==
        NULL)
        return RUAD_MALFORMED;
    if (!http_sni_load(h->cfg->tls_sni_certs, sni, &n_sni, err, errlen)) {
        creds_free(c);
        return RUAD_MALFORMED;
    }
    /* the old credentials may be in a handshake right now: keep them */
    pthread_mutex_lock(&h->mu);
    c->older = h->creds;
    h->creds = c;
    for (i = 0; i < n_sni; i++) {
        sni[i]->older = i < h->n_sni ? h->sni[i] : NULL;
        h->sni[i] = sni[i];
    }
    for (; i < h->n_sni; i++) {          /* fewer now: chain the rest */
        struct http_creds *t = h->sni[i];

        while (t->older != NULL)
            t = t->older;
        t->older = h->creds->older;
        h->creds->older = h->sni[i];
    }
    h->n_sni = n_sni;
    pthread_mutex_unlock(&h->mu);
    return RUAD_OK;
}

/* ---- responses ---- */

/* http_reply - queue a response with a body copied from (p, n) */
static enum MHD_Result
http_reply(struct MHD_Connection *c, enum metrics_path path,
    unsigned status, const char *ctype, const char *p, size_t n,
    const char *hdr, const char *hval)
{
    struct MHD_Response *r;
    enum MHD_Result      ret;

    r = MHD_create_response_from_buffer(n, (void *)(uintptr_t)p,
        MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    http_static_common_headers(r, c);
    if (hdr != NULL)
        MHD_add_response_header(r, hdr, hval);
    if (atomic_load(&http_draining))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    metrics_request(path, status);
    http_alog_response(c, status, n);
    return ret;
}

/* http_problem - an RFC 9457 problem document */
static enum MHD_Result
http_problem(struct MHD_Connection *c, enum metrics_path path,
    unsigned status, const char *title, const char *detail,
    const char *hdr, const char *hval)
{
    char body[768];
    int  n;

    n = snprintf(body, sizeof(body), "{\"type\":\"about:blank\","
        "\"title\":\"%s\",\"status\":%u,\"detail\":\"%s\"}\n", title, status,
        detail);
    if (n < 0 || (size_t)n >= sizeof(body))
        n = snprintf(body, sizeof(body), "{\"title\":\"%s\",\"status\":%u}"
            "\n", title, status);
    return http_reply(c, path, status, "application/problem+json", body,
        (size_t)n, hdr, hval);
}

/* ---- helpers ---- */

/* peer_text - the client's address as text */
static void
peer_text(struct MHD_Connection *c, char *dst, size_t n)
{
    const union MHD_ConnectionInfo *ci;
    const struct sockaddr          *sa;

    snprintf(dst, n, "unknown");
    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci == NULL || (sa = ci->client_addr) == NULL)
        return;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->
            sin_addr, dst, (socklen_t)n);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)
            ->sin6_addr, dst, (socklen_t)n);
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

/* ---- connections: the per-address cap and the deadlines ---- */

static int64_t
http_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* http_conn_of - our record of the connection, NULL if it has none */
static struct http_conn *
http_conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci;

    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

/*
 * http_conn_phase - the connection now waits for a request's headers
 * (body false) or for its body (true), for at most timeout_s from now;
 * 0: no deadline (a report being stored; the idle timeout still runs)
 */
static void
http_conn_phase(struct MHD_Connection *c, bool body, unsigned timeout_s)
{
    struct http_conn *hc = http_conn_of(c);

    if (hc == NULL)
        return;
    atomic_store(&hc->in_body, body);
    atomic_store(&hc->deadline, timeout_s == 0 ? 0 :
        http_now_ms() + (int64_t)timeout_s * 1000);
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
    peer_text(c, hc->peer, sizeof(hc->peer));
    atomic_store(&hc->deadline, http_now_ms() +
        (int64_t)h->cfg->http_header_timeout * 1000);
    pthread_mutex_lock(&h->conn_mu);
    for (o = h->conns; o != NULL; o = o->next)
        if (!o->refused && !o->cut && netaddr_key_equal(&o->key, &hc->key))
            same++;
    if (same >= h->cfg->http_max_per_ip) {
        hc->refused = true;             /* closed unread, never counted */
        atomic_store(&hc->deadline, 0);
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

/* http_sweep - the deadlines: a connection past its own is shut down
 * (libmicrohttpd then sees the end of its stream and closes it) */
static void *
http_sweep(void *arg)
{
    struct http_server *h = arg;
    struct http_conn   *hc;
    struct timespec     ts;
    int64_t             now, d;

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
        now = http_now_ms();
        pthread_mutex_lock(&h->conn_mu);
        for (hc = h->conns; hc != NULL; hc = hc->next) {
            d = atomic_load(&hc->deadline);
            if (hc->cut || hc->refused || d == 0 || now < d || hc->fd < 0)
                continue;
            hc->cut = true;
            shutdown(hc->fd, SHUT_RDWR);
            log_info("http close reason=%s peer=%s",
                atomic_load(&hc->in_body) ? "body-deadline" :
                "header-deadline", hc->peer);
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

/* ---- /readyz and /metrics: answers shared for http_ops_cache_ms ---- */

static void
http_ops_init(struct http_ops *o, void (*ask)(struct http_server *, void *),
    size_t size)
{
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->done, NULL);
    o->ask = ask;
    o->size = size;
}

static void
http_ops_free(struct http_ops *o)
{
    pthread_cond_destroy(&o->done);
    pthread_mutex_destroy(&o->mu);
}

/* ms_since - milliseconds from t to now (CLOCK_MONOTONIC) */
static long long
ms_since(const struct timespec *t)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)(now.tv_sec - t->tv_sec) * 1000 +
        (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* http_ops_get - o's answer into out (o->size bytes): the shared one
 * while it is younger than http_ops_cache_ms, else asked anew (once for
 * all requests waiting on it) */
static void
http_ops_get(struct http_server *h, struct http_ops *o, void *out)
{
    long long ttl = h->cfg->http_ops_cache_ms;

    if (ttl == 0) {                        /* no sharing: ask each time */
        o->ask(h, out);
        return;
    }
    pthread_mutex_lock(&o->mu);
    while (o->asking)
        pthread_cond_wait(&o->done, &o->mu);
    if (!o->have || ms_since(&o->at) >= ttl) {
        o->asking = true;
        pthread_mutex_unlock(&o->mu);
        o->ask(h, &o->answer);             /* the only writer: asking */
        pthread_mutex_lock(&o->mu);
        clock_gettime(CLOCK_MONOTONIC, &o->at);
        o->have = true;
        o->asking = false;
        pthread_cond_broadcast(&o->done);
    }
    memcpy(out, &o->answer, o->size);
    pthread_mutex_unlock(&o->mu);
}

/* http_ready_ask - does the database answer, with the current schema,
 * and are its applied migrations this ruad's? */
static void
http_ready_ask(struct http_server *h, void *answer)
{
    const struct store_migration *m;
    struct http_ready_answer     *r = answer;
    struct store                 *st;
    char                          err[256];
    int                           want = 0, have = 0, missing = 0;
    bool                          ok, same = true;

    r->why[0] = '\0';
    for (m = store_migrations; m->sql != NULL; m++)
        want = m->version;
    if ((st = store_pool_get(h->pool, HTTP_POOL_WAIT_MS, err, sizeof(err)))
        == NULL) {
        r->ready = READY_UNREACHABLE;
        return;
    }
    ok = store_schema_version(st, &have) == RUAD_OK &&
        store_schema_missing(st, &missing) == RUAD_OK &&
        store_schema_check(st, &same, r->why, sizeof(r->why)) == RUAD_OK;
    store_pool_put(h->pool, st);
    r->ready = !ok ? READY_NO_ANSWER : !same ? READY_MISMATCH :
        have != want || missing > 0 ? READY_OLD_SCHEMA : READY_OK;
}

/* http_stats_ask - the database's figures for /metrics */
static void
http_stats_ask(struct http_server *h, void *answer)
{
    struct http_stats *a = answer;
    struct store      *st;
    char               err[256];

    a->ok = false;
    if ((st = store_pool_get(h->pool, HTTP_POOL_WAIT_MS, err, sizeof(err)))
        != NULL) {
        a->ok = store_stats(st, &a->s) == RUAD_OK;
        store_pool_put(h->pool, st);
    }
}

static enum MHD_Result
http_readyz(struct http_server *h, struct MHD_Connection *c)
{
    struct http_ready_answer r;

    http_ops_get(h, &h->ready_ops, &r);
    switch (r.ready) {
    case READY_UNREACHABLE:
        return http_problem(c, MP_READYZ, 503, "Service Unavailable",
            "database unreachable", "Retry-After", HTTP_RETRY_AFTER);
    case READY_NO_ANSWER:
        return http_problem(c, MP_READYZ, 503, "Service Unavailable",
            "database not answering", "Retry-After", HTTP_RETRY_AFTER);
    case READY_OLD_SCHEMA:
        return http_problem(c, MP_READYZ, 503, "Service Unavailable",
            "database schema is not current (run ruad migrate)",
            "Retry-After", HTTP_RETRY_AFTER);
    case READY_MISMATCH:
        return http_problem(c, MP_READYZ, 503, "Service Unavailable",
            r.why, "Retry-After", HTTP_RETRY_AFTER);
    default:
        return http_reply(c, MP_READYZ, 200, "text/plain", "ready\n", 6,
            NULL, NULL);
    }
}

static enum MHD_Result
http_metrics(struct http_server *h, struct MHD_Connection *c)
{
    struct http_stats  *a = calloc(1, sizeof(*a));
    struct store_stats *stats = a != NULL ? &a->s : NULL;
    struct buf          b;
    long long           expiry = 0;
    enum MHD_Result     ret;
    bool                have = false;

    if (a != NULL) {
        http_ops_get(h, &h->stats_ops, a);
        have = a->ok;
    }
    if (h->tls) {
        pthread_mutex_lock(&h->mu);
        expiry = h->creds->not_after;
        pthread_mutex_unlock(&h->mu);
    }
    buf_init(&b, 1u << 20);
    /* count this scrape before rendering, so it shows in itself */
    metrics_request(MP_METRICS, 200);
    if (metrics_render(&b, have ? stats : NULL, expiry) != RUAD_OK) {
        buf_free(&b);
        free(a);
        return http_problem(c, MP_METRICS, 500, "Internal Server Error",
            "metrics", NULL, NULL);
    }
    ret = MHD_NO;
    {
        struct MHD_Response *r = MHD_create_response_from_buffer(
            buf_len(&b), (void *)(uintptr_t)buf_ptr(&b),
            MHD_RESPMEM_MUST_COPY);

        if (r != NULL) {
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                "text/plain; version=0.0.4");
            http_static_common_headers(r, c);
            if (atomic_load(&http_draining))
                MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION,
                    "close");
            ret = MHD_queue_response(c, 200, r);
            MHD_destroy_response(r);
            http_alog_response(c, 200, buf_len(&b));
        }
    }
    buf_free(&b);
    free(a);
    return ret;
}

/* http_stored - from a storing thread: the report is committed (or not);
 * the connection goes on, and http_access answers */
static void
http_stored(struct ingest_job *ij)
{
    struct http_req    *rq = ij->ctx;
    struct http_server *h = rq->h;

    rq->phase = RQ_STORED;
    MHD_resume_connection(rq->c);
    /* ingest is done with the job: the request may end from now on */
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

    peer_text(c, peer, sizeof(peer));
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

/* http_tlsrpt_store - the body is complete: check, and hand it to ingest
 * (the answer comes when http_stored resumes the connection) */
static enum MHD_Result
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
        peer_text(c, rq->peer, sizeof(rq->peer));
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
        peer_text(c, rq->peer, sizeof(rq->peer));
        log_info("http tlsrpt refused peer=%s status=%d reason=\"%s\"",
            rq->peer, rc == RUAD_NOMEM ? 503 : 400, why);
        if (rc == RUAD_NOMEM)
            return http_problem(c, MP_TLSRPT, 503, "Service Unavailable",
                "cannot take the report now; retry later", "Retry-After",
                HTTP_RETRY_AFTER);
        return http_problem(c, MP_TLSRPT, 400, "Bad Request", why, NULL,
            NULL);
    }
    peer_text(c, rq->peer, sizeof(rq->peer));
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
    http_conn_phase(c, true, 0);           /* ours to wait for, not its */
    atomic_fetch_add(&h->storing, 1);
    /* suspended first: http_stored may resume it at once */
    MHD_suspend_connection(c);
    ingest_submit(h->ingest, &rq->ij);
    return MHD_YES;
}

/* http_tlsrpt_answer - the report's fate is known: 202 or 503 */
static enum MHD_Result
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
static enum MHD_Result
http_tlsrpt_begin(struct http_server *h, struct MHD_Connection *c,
    const char *method, void **con_cls)
{
    const char      *ct, *cl;
    struct http_req *rq;
    unsigned long long n = 0;
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
    /* the body's bytes, known: held for it now, or refused at once */
    if (have_len && !membudget_take((size_t)n + 1)) {
        char peer[INET6_ADDRSTRLEN];

        peer_text(c, peer, sizeof(peer));
        log_info("http tlsrpt refused peer=%s status=503 reason=\""
            "receive_max_bytes\" bytes=%llu", peer, n);
        return http_problem(c, MP_TLSRPT, 503, "Service Unavailable",
            "too many reports arriving at once; retry later", "Retry-After",
            HTTP_RETRY_AFTER);
    }
    if ((rq = calloc(1, sizeof(*rq))) == NULL) {
        if (have_len)
            membudget_give((size_t)n + 1);
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
        rq->charged = (size_t)n + 1;
        if (!rq->too_big)                       /* else it grows */
            (void)buf_prealloc(&rq->body, (size_t)n);
    }
    *con_cls = rq;
    return MHD_YES;
}

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
        http_conn_phase(c, true, h->cfg->http_body_timeout);
        if ((why = http_refusal(c, method, bad_target)) != NULL) {
            char peer[INET6_ADDRSTRLEN];

            atomic_fetch_add(&h->in_flight, 1);    /* http_done: out */
            http_alog_begin(c, method, url);
            peer_text(c, peer, sizeof(peer));
            log_info("http refused peer=%s status=400 reason=\"%s\"", peer,
                why);
            return http_problem(c, MP_OTHER, 400, "Bad Request", why,
                MHD_HTTP_HEADER_CONNECTION, "close");
        }
    }
    if (http_api_owns(*con_cls))           /* /api/ (http_api.c) */
        return (enum MHD_Result)http_api_access(h->api, c, route(h->cfg,
            url), method, upload_size, con_cls);
    if (*con_cls == &http_read_marker) {
        /* second call of a read-only request: its (empty) body is read,
         * so answering now keeps the connection alive */
        *con_cls = NULL;
        return http_read(h, c, route(h->cfg, url));
    }
    if (*con_cls == NULL) {                /* a request begins */
        atomic_fetch_add(&h->in_flight, 1);
        http_alog_begin(c, method, url);
    }
    if (rq != NULL && rq->phase == RQ_STORED) {
        http_conn_phase(c, true, h->cfg->http_body_timeout);
        return http_tlsrpt_answer(h, c, rq);
    }
    if (rq != NULL) {                      /* a POST body arriving */
        if (*upload_size > 0) {
            if (!rq->too_big && !rq->no_room) {
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
    /* the next request's headers have their own deadline */
    http_conn_phase(c, false, h->cfg->http_header_timeout);
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
    struct ingest *ingest, void (*on_receive)(void), char *err,
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
    h->ingest = ingest;
    if ((h->api = http_api_new(cfg, pool, on_receive)) == NULL) {
        snprintf(err, errlen, "out of memory");
        free(h);
        return NULL;
    }
    http_static_root(cfg, h->web_root, sizeof(h->web_root));
    pthread_mutex_init(&h->mu, NULL);
    h->tls = cfg->tls_cert[0] != '\0';
    if (h->tls) {
        if ((h->creds = creds_load(cfg->tls_cert, cfg->tls_key, err,
            errlen)) == NULL) {
            pthread_mutex_destroy(&h->mu);
            http_api_free(h->api);
            free(h);
            return NULL;
        }
        if (!http_sni_load(cfg->tls_sni_certs, h->sni, &h->n_sni, err,
            errlen)) {
            creds_free(h->creds);
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
            creds_free(h->sni[--h->n_sni]);
        creds_free(h->creds);
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
            creds_free(h->sni[--h->n_sni]);
        creds_free(h->creds);
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
        http_cert_cb,
        MHD_OPTION_HTTPS_PRIORITIES, HTTP_TLS_PRIORITIES,
        MHD_OPTION_END);
    if (h->d == NULL) {
        snprintf(err, errlen, "cannot listen on %s (in use, or no such "
            "address?)", cfg->http_listen);
        http_ops_free(&h->ready_ops);
        http_ops_free(&h->stats_ops);
        creds_free(h->creds);
        while (h->n_sni > 0)
            creds_free(h->sni[--h->n_sni]);
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
        /* a report with ingest always comes back first: its job is part
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
    creds_free(h->creds);
    while (h->n_sni > 0)
        creds_free(h->sni[--h->n_sni]);
    mta_sts_free(h->sts);
    ratelimit_free(h->rl_ip);
    pthread_mutex_destroy(&h->mu);
    http_api_free(h->api);
    free(h);
}
