/*
 * receipt.c - durable receipt (see receipt.h and DESIGN.md, "Data flow"):
 * the group commit of SMTP and HTTPS, and the size rule with the single
 * inserts of ruad import and IMAP.
 *
 * A storing thread takes every queued job (up to RECEIPT_BATCH_MAX rows
 * and RECEIPT_BATCH_BYTES), stores them in one transaction and only then
 * calls each job's done(): nothing is acknowledged before its commit.
 * A row the database refuses fails alone (store_inbound_insert_batch
 * stores the others one by one); a lost connection fails the batch, and
 * the next batch opens a new one.  One retry on a fresh connection when
 * an old one turns out to be dead (the server restarted meanwhile): a
 * batch that did commit before the connection broke is then found stored
 * already (byte-identical, so nothing is stored twice), and its senders
 * get one answer.
 *
 * SECURITY: raw is peer data and is stored as it is, never parsed here;
 * its size is checked against the channel's cap first (ruad import and
 * IMAP here, SMTP and HTTPS while reading).
 */
#include "receipt.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"

struct receipt {
    char              *url;
    void             (*on_stored)(void);
    pthread_mutex_t    mu;
    pthread_cond_t     cv;
    struct receipt_job *todo, *todo_tail;
    unsigned           n_busy;      /* jobs queued or being stored */
    int64_t            last_ms;     /* the last commit, monotonic */
    bool               stop;
    pthread_t         *threads;
    unsigned           n_threads;
};

/* receipt_take - up to a batch of queued jobs, oldest first; NULL: stop */
static struct receipt_job *
receipt_take(struct receipt *g, size_t *n)
{
    struct receipt_job *first, *last;
    size_t             bytes;

    pthread_mutex_lock(&g->mu);
    while (g->todo == NULL && !g->stop)
        pthread_cond_wait(&g->cv, &g->mu);
    if ((first = g->todo) == NULL) {
        pthread_mutex_unlock(&g->mu);
        return NULL;
    }
    last = first;
    bytes = first->len;
    *n = 1;
    while (last->next != NULL && *n < RECEIPT_BATCH_MAX &&
        bytes + last->next->len <= RECEIPT_BATCH_BYTES) {
        last = last->next;
        bytes += last->len;
        (*n)++;
    }
    g->todo = last->next;
    if (g->todo == NULL)
        g->todo_tail = NULL;
    last->next = NULL;
    /* the rest is another thread's (if one is free) */
    if (g->todo != NULL)
        pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    return first;
}

/* receipt_store - one batch; every job's rc and id set */
static void
receipt_store(struct receipt *g, struct store **st, struct receipt_job *jobs,
    size_t n, struct store_inbound_item *items)
{
    struct receipt_job *j;
    char               err[512];
    enum ruad_rc       rc = RUAD_TEMPFAIL;
    size_t             i, stored = 0;
    int                tries;

    for (i = 0, j = jobs; j != NULL; j = j->next, i++) {
        memset(&items[i], 0, sizeof(items[i]));
        j->meta.state = INBOUND_PENDING;
        j->meta.reason = NULL;
        items[i].m = &j->meta;
        items[i].raw = j->raw;
        items[i].len = j->len;
        items[i].size = j->len;
        items[i].skip = j->skip;
        items[i].once = true;
        items[i].rc = RUAD_TEMPFAIL;
    }
    for (tries = 0; tries < 2; tries++) {
        bool fresh = *st == NULL;

        if (*st != NULL && !store_healthy(*st)) {
            store_close(*st);
            *st = NULL;
            fresh = true;
        }
        if (*st == NULL &&
            (*st = store_open(g->url, err, sizeof(err))) == NULL) {
            log_warn("inbound not stored rows=%zu database=down "
                "reason=\"%.300s\"", n, err);
            break;
        }
        rc = store_inbound_insert_batch(*st, items, n);
        if (rc == RUAD_OK || fresh || store_healthy(*st))
            break;
        /* a connection that died while idle: once more on a new one */
        log_info("inbound database connection lost, reconnecting "
            "error=\"%.300s\"", store_error(*st));
    }
    for (i = 0, j = jobs; j != NULL; j = j->next, i++) {
        j->rc = items[i].rc;
        j->id = items[i].id;
        j->identical = j->rc == RUAD_OK && items[i].identical;
        if (j->identical) {
            log_debug("inbound identical channel=%s size=%zu batch=%zu",
                j->meta.channel, j->len, n);
        } else if (j->rc == RUAD_OK) {
            stored++;
            log_debug("inbound=%lld received channel=%s size=%zu batch=%zu",
                (long long)j->id, j->meta.channel, j->len, n);
        }
    }
    if (rc != RUAD_OK && *st != NULL)
        log_warn("inbound batch rows=%zu stored=%zu refused=%zu "
            "error=\"%.300s\"", n, stored, n - stored, store_error(*st));
}

static void *
receipt_main(void *arg)
{
    struct receipt             *g = arg;
    struct store              *st = NULL;
    struct store_inbound_item *items;
    struct receipt_job         *jobs, *j, *next;
    size_t                     n = 0;
    bool                       any;

    items = calloc(RECEIPT_BATCH_MAX, sizeof(*items));
    while ((jobs = receipt_take(g, &n)) != NULL) {
        if (items != NULL) {
            receipt_store(g, &st, jobs, n, items);
        } else {
            for (j = jobs; j != NULL; j = j->next)
                j->rc = RUAD_NOMEM;
        }
        pthread_mutex_lock(&g->mu);
        g->n_busy -= (unsigned)n;
        g->last_ms = clock_now_ms();
        pthread_mutex_unlock(&g->mu);
        any = false;
        for (j = jobs; j != NULL; j = next) {
            next = j->next;             /* j is the submitter's after done */
            any |= j->rc == RUAD_OK && !j->identical;
            j->done(j);
        }
        if (any && g->on_stored != NULL)
            g->on_stored();
    }
    store_close(st);
    free(items);
    return NULL;
}

struct receipt *
receipt_start(const char *url, unsigned threads, void (*on_stored)(void))
{
    struct receipt *g = calloc(1, sizeof(*g));
    unsigned       i;

    if (g == NULL || (g->url = strdup(url ? url : "")) == NULL ||
        (g->threads = calloc(threads, sizeof(*g->threads))) == NULL) {
        if (g != NULL)
            free(g->url);
        free(g);
        return NULL;
    }
    g->on_stored = on_stored;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    for (i = 0; i < threads; i++)
        if (pthread_create(&g->threads[g->n_threads], NULL, receipt_main,
            g) == 0)
            g->n_threads++;
    if (g->n_threads == 0) {
        receipt_stop(g);
        return NULL;
    }
    return g;
}

void
receipt_submit(struct receipt *g, struct receipt_job *j)
{
    j->next = NULL;
    pthread_mutex_lock(&g->mu);
    if (g->todo_tail != NULL)
        g->todo_tail->next = j;
    else
        g->todo = j;
    g->todo_tail = j;
    g->n_busy++;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

bool
receipt_busy(struct receipt *g)
{
    bool busy;

    if (g == NULL)
        return false;
    pthread_mutex_lock(&g->mu);
    busy = g->n_busy > 0 || (g->last_ms != 0 &&
        clock_now_ms() - g->last_ms < RECEIPT_BUSY_MS);
    pthread_mutex_unlock(&g->mu);
    return busy;
}

void
receipt_stop(struct receipt *g)
{
    unsigned i;

    if (g == NULL)
        return;
    pthread_mutex_lock(&g->mu);
    g->stop = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    for (i = 0; i < g->n_threads; i++)
        pthread_join(g->threads[i], NULL);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    free(g->threads);
    free(g->url);
    free(g);
}

/*
 * receipt_size_rule - is a thing of size bytes past max?  Then m is a
 * too_large row whose reason (in reason[128]) names the limit; else a
 * pending one.
 */
static bool
receipt_size_rule(struct inbound_meta *m, char reason[128], uint64_t size,
    uint64_t max, const char *limit)
{
    if (size <= max) {
        m->state = INBOUND_PENDING;
        m->reason = NULL;
        return false;
    }
    snprintf(reason, 128, "%llu bytes, more than %s %llu",
        (unsigned long long)size, limit, (unsigned long long)max);
    m->state = INBOUND_TOO_LARGE;
    m->reason = reason;
    return true;
}

enum ruad_rc
receipt_import(struct store *st, struct inbound_meta *m, const void *raw,
    size_t len, size_t max, int64_t *id, bool *too_large)
{
    char         reason[128];
    enum ruad_rc rc;

    *too_large = receipt_size_rule(m, reason, len, max, "the limit of");
    if (*too_large) {
        rc = store_inbound_insert(st, m, "", 0, len, id);
        m->reason = NULL;                /* it pointed here */
    } else {
        rc = store_inbound_insert(st, m, raw, len, len, id);
    }
    if (rc == RUAD_OK)
        log_debug("inbound=%lld received channel=%s size=%zu%s",
            (long long)*id, m->channel, len, *too_large ? " too_large" : "");
    else
        log_warn("inbound not stored channel=%s size=%zu error=\"%s\"",
            m->channel, len, store_error(st));
    return rc;
}

enum ruad_rc
receipt_imap(struct store *st, struct inbound_meta *m, const void *raw,
    size_t len, uint64_t size, uint64_t max, const char *limit,
    const struct store_imap_uid *u, int64_t *id, bool *too_large,
    bool *identical)
{
    char         reason[128];
    enum ruad_rc rc;

    *too_large = receipt_size_rule(m, reason, size, max, limit);
    if (*too_large)
        rc = store_imap_insert(st, m, "", 0, size, u, id, identical);
    else
        rc = store_imap_insert(st, m, raw, len, len, u, id, identical);
    m->reason = NULL;                    /* it pointed here */
    return rc;
}
