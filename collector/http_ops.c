/*
 * http_ops.c - GET /readyz (the database answers, its schema is current
 * and its applied migrations are this ruad's) and GET /metrics
 * (Prometheus text, metrics.c), each answered from one database answer
 * shared for http_ops_cache_ms.
 *
 * SECURITY: neither reads anything from the request; /metrics may need
 * an API token (metrics_require_token, checked by the router).
 */
#include "http_priv.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_static.h"
#include "tls_creds.h"

/* ---- /readyz and /metrics: answers shared for http_ops_cache_ms ---- */

void
http_ops_init(struct http_ops *o, void (*ask)(struct http_server *, void *),
    size_t size)
{
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->done, NULL);
    o->ask = ask;
    o->size = size;
}

void
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
void
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
void
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

enum MHD_Result
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

enum MHD_Result
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
        expiry = tls_creds_not_after(h->creds);
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
