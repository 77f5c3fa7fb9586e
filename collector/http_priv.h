/*
 * http_priv.h - what the files of the HTTP(S) listener share
 * (http_server.c, http_tlsrpt.c, http_ops.c, tls_creds.c): the server,
 * connection and request state, and the reply helpers.  Only those files
 * include it.
 */
#ifndef RUAD_HTTP_PRIV_H
#define RUAD_HTTP_PRIV_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "buf.h"
#include "config.h"
#include "http_alog.h"
#include "receipt.h"
#include "metrics.h"
#include "netaddr.h"
#include "store_pg.h"

struct http_server;

#define HTTP_POOL_WAIT_MS   5000      /* for a free database connection */
#define HTTP_RETRY_AFTER    "30"      /* seconds, on 503 */
#define HTTP_SNI_MAX        256         /* tls_sni_certs entries */
/* Of a body whose Content-Length is known, the bytes taken from
 * receive_max_bytes with the headers; the rest is counted as it arrives,
 * so headers announcing a large body that never comes hold little. */
#define HTTP_BODY_FIRST     (64u << 10)

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

/* What a connection waits for, and so which deadline runs. */
enum http_wait {
    HC_HEADERS,                         /* http_header_timeout */
    HC_BODY,                            /* http_body_timeout */
    HC_ANSWER,                          /* ours to make and send: none
                                           (http_timeout, idle, still runs) */
    HC_IDLE                             /* kept alive between requests:
                                           http_timeout, idle; the next
                                           request's first byte starts its
                                           http_header_timeout (the sweep) */
};

/* One connection, from libmicrohttpd's STARTED to its CLOSED notice. */
struct http_conn {
    struct http_alog      alog;         /* first: the access log's record */
    int                   fd;           /* valid until CLOSED (conn_mu) */
    struct netaddr_key    key;
    char                  peer[INET6_ADDRSTRLEN];
    /* deadline (ms, monotonic; 0: none) << 2 | enum http_wait, one word:
     * the sweep's move from HC_IDLE to HC_HEADERS (compare and swap)
     * never overwrites a request's own */
    _Atomic uint64_t      state;
    bool                  refused;      /* past the per-address cap */
    bool                  cut;          /* shut down by the sweep */
    struct http_conn     *prev, *next;
};

struct http_server {
    struct MHD_Daemon    *d;
    const struct config  *cfg;
    struct store_pool    *pool;
    struct receipt       *receipt;
    bool                  tls;
    atomic_uint           in_flight;    /* requests begun, not yet ended */
    atomic_uint           storing;      /* reports handed to receipt */
    pthread_mutex_t       mu;           /* guards creds and sni */
    struct tls_creds     *creds;
    struct tls_creds     *sni[HTTP_SNI_MAX];   /* tls_sni_certs */
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
    RQ_STORING,                         /* with receipt, suspended */
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
    size_t                 want;        /* Content-Length; 0: not given */
    struct buf             body;
    enum http_phase        phase;
    struct http_server    *h;
    struct MHD_Connection *c;
    struct receipt_job     ij;          /* ij.meta points at these: */
    char                   peer[INET6_ADDRSTRLEN];
    char                   tlsver[32];
};

/* The server whose credentials the GnuTLS callback hands out. */
extern struct http_server *http_tls_server;
/* Stopping: every answer closes its connection (http_server.c). */
extern atomic_bool http_draining;

/* http_server.c */
enum MHD_Result http_reply(struct MHD_Connection *c, enum metrics_path path,
    unsigned status, const char *ctype, const char *p, size_t n,
    const char *hdr, const char *hval);
enum MHD_Result http_problem(struct MHD_Connection *c,
    enum metrics_path path, unsigned status, const char *title,
    const char *detail, const char *hdr, const char *hval);
void http_peer_text(struct MHD_Connection *c, char *dst, size_t n);
void http_conn_phase(struct MHD_Connection *c, enum http_wait w,
    unsigned timeout_s);

/* http_ops.c: /readyz and /metrics */
void http_ops_init(struct http_ops *o,
    void (*ask)(struct http_server *, void *), size_t size);
void http_ops_free(struct http_ops *o);
void http_ready_ask(struct http_server *h, void *answer);
void http_stats_ask(struct http_server *h, void *answer);
enum MHD_Result http_readyz(struct http_server *h, struct MHD_Connection *c);
enum MHD_Result http_metrics(struct http_server *h,
    struct MHD_Connection *c);

/* http_tlsrpt.c: POST /tlsrpt */
enum MHD_Result http_tlsrpt_begin(struct http_server *h,
    struct MHD_Connection *c, const char *method, void **con_cls);
enum MHD_Result http_tlsrpt_store(struct http_server *h,
    struct MHD_Connection *c, struct http_req *rq);
enum MHD_Result http_tlsrpt_answer(struct http_server *h,
    struct MHD_Connection *c, struct http_req *rq);

/* tls_creds.c: the server's certificates (see also tls_creds.h) */
bool tls_creds_sni_load(const char *spec, struct tls_creds **sni, size_t *n,
    char *err, size_t errlen);
int tls_creds_cert_cb(gnutls_session_t s, const gnutls_datum_t *req_ca_dn,
    int nreqs, const gnutls_pk_algorithm_t *algos, int nalgos,
    gnutls_pcert_st **pcert, unsigned int *pcert_length,
    gnutls_privkey_t *pkey);

#endif
