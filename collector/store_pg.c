/*
 * store_pg.c - PostgreSQL: the connection, the helpers every store_*.c
 * file shares (store_priv.h: errors, statements, COPY text), health and
 * the connection pool (see
 * store_pg.h and db/).  The migrations are store_migrate.c, the inbound
 * queue store_inbound.c, reports and their rollups store_report.c,
 * figures store_stats.c.
 *
 * SECURITY: every value reaches SQL as a parameter; nothing is spliced
 * into a statement.
 */
#include "store_pg.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "buf.h"
#include "clock.h"
#include "store_priv.h"


/* ---- small helpers ---- */

/* store_set_err - keep libpq's message, on one line */
void
store_set_err(struct store *st, const char *what, const PGresult *res)
{
    const char *m = res ? PQresultErrorMessage(res) : PQerrorMessage(st->conn);
    size_t      i;

    snprintf(st->err, sizeof(st->err), "%s: %s", what, m && *m ? m :
        "unknown error");
    for (i = 0; st->err[i] != '\0'; i++)
        if (st->err[i] == '\n' || st->err[i] == '\r')
            st->err[i] = ' ';
    i = strlen(st->err);
    while (i > 0 && st->err[i - 1] == ' ')
        st->err[--i] = '\0';
}

/* store_rc - ruad_rc for a failed result: lost connection is temporary */
enum ruad_rc
store_rc(struct store *st)
{
    return PQstatus(st->conn) == CONNECTION_OK ? RUAD_INTERNAL :
        RUAD_TEMPFAIL;
}

/* is_sqlstate - does the failed result carry this SQLSTATE? */
bool
is_sqlstate(const PGresult *res, const char *state)
{
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    return s != NULL && strcmp(s, state) == 0;
}

/*
 * store_exec - run a parameterised statement (text parameters); *out gets
 * the result when the caller wants rows.  Returns RUAD_OK, or the error
 * with store->err set.
 */
enum ruad_rc
store_exec(struct store *st, const char *what, const char *sql, int n,
    const char *const *params, PGresult **out)
{
    PGresult      *res;
    ExecStatusType s;

    res = PQexecParams(st->conn, sql, n, NULL, params, NULL, NULL, 0);
    s = PQresultStatus(res);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        enum ruad_rc rc = store_rc(st);

        if (is_sqlstate(res, "40P01") || is_sqlstate(res, "40001") ||
            is_sqlstate(res, "55P03"))
            rc = RUAD_TEMPFAIL;          /* deadlock, serialisation, lock */
        store_set_err(st, what, res);
        if (out != NULL)
            *out = res;
        else
            PQclear(res);
        return rc;
    }
    if (out != NULL)
        *out = res;
    else
        PQclear(res);
    return RUAD_OK;
}

enum ruad_rc
store_cmd(struct store *st, const char *sql)
{
    return store_exec(st, sql, sql, 0, NULL, NULL);
}

/* fmt_i64 - decimal text of v into dst (24 bytes) */
const char *
fmt_i64(char dst[24], int64_t v)
{
    snprintf(dst, 24, "%lld", (long long)v);
    return dst;
}

/* pg_array - a text[] literal {"a","b"} of n strings into b */
enum ruad_rc
pg_array(struct buf *b, char *const *v, size_t n)
{
    enum ruad_rc rc = buf_append_byte(b, '{');
    size_t       i;
    const char  *p;

    for (i = 0; rc == RUAD_OK && i < n; i++) {
        if (i > 0)
            rc = buf_append_byte(b, ',');
        if (rc == RUAD_OK && v[i] == NULL) {
            rc = buf_append_str(b, "NULL");
            continue;
        }
        if (rc == RUAD_OK)
            rc = buf_append_byte(b, '"');
        for (p = v[i]; rc == RUAD_OK && *p != '\0'; p++) {
            if (*p == '"' || *p == '\\')
                rc = buf_append_byte(b, '\\');
            if (rc == RUAD_OK)
                rc = buf_append_byte(b, (unsigned char)*p);
        }
        if (rc == RUAD_OK)
            rc = buf_append_byte(b, '"');
    }
    if (rc == RUAD_OK)
        rc = buf_append_byte(b, '}');
    return rc;
}

/* ---- connection ---- */

struct store *
store_open(const char *url, char *err, size_t errlen)
{
    static const char *const keys[] = { "dbname", "connect_timeout",
        "application_name", NULL };
    const char   *vals[] = { url, "10", "ruad", NULL };
    struct store *st;

    if (url == NULL || *url == '\0') {
        snprintf(err, errlen, "no database: set RUAD_DATABASE_URL or "
            "database_url");
        return NULL;
    }
    if ((st = calloc(1, sizeof(*st))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->conn = PQconnectdbParams(keys, vals, 1);
    if (st->conn == NULL || PQstatus(st->conn) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect to the database: %s",
            st->conn ? PQerrorMessage(st->conn) : "out of memory");
        err[strcspn(err, "\n")] = '\0';
        store_close(st);
        return NULL;
    }
    PQsetNoticeProcessor(st->conn, NULL, NULL);
    if (store_cmd(st, "SET client_min_messages = warning") != RUAD_OK ||
        store_cmd(st, "SET TIME ZONE 'UTC'") != RUAD_OK) {
        snprintf(err, errlen, "%s", st->err);
        store_close(st);
        return NULL;
    }
    return st;
}

void
store_close(struct store *st)
{
    if (st == NULL)
        return;
    if (st->conn != NULL)
        PQfinish(st->conn);
    free(st);
}

const char *
store_error(const struct store *st)
{
    return st->err;
}

/* ---- health, pool ---- */

enum ruad_rc
store_async_commit(struct store *st)
{
    return store_cmd(st, "SET synchronous_commit = off");
}

bool
store_healthy(const struct store *st)
{
    return st != NULL && st->conn != NULL &&
        PQstatus(st->conn) == CONNECTION_OK &&
        PQtransactionStatus(st->conn) == PQTRANS_IDLE;
}

struct store_pool {
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    char           *url;
    struct store  **idle;        /* max slots */
    unsigned        n_idle, n_out, max;
};

struct store_pool *
store_pool_new(const char *url, unsigned max)
{
    struct store_pool *p = calloc(1, sizeof(*p));

    if (p == NULL || (p->url = strdup(url ? url : "")) == NULL ||
        (p->idle = calloc(max, sizeof(*p->idle))) == NULL) {
        if (p != NULL)
            free(p->url);
        free(p);
        return NULL;
    }
    p->max = max;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    return p;
}

void
store_pool_free(struct store_pool *p)
{
    unsigned i;

    if (p == NULL)
        return;
    for (i = 0; i < p->n_idle; i++)
        store_close(p->idle[i]);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->idle);
    free(p->url);
    free(p);
}

struct store *
store_pool_get(struct store_pool *p, unsigned wait_ms, char *err,
    size_t errlen)
{
    struct store   *st = NULL;
    struct timespec until;

    clock_wait_until(&until, wait_ms);
    pthread_mutex_lock(&p->mu);
    while (p->n_idle == 0 && p->n_out >= p->max)
        if (pthread_cond_timedwait(&p->cv, &p->mu, &until) != 0)
            break;
    if (p->n_idle > 0) {
        st = p->idle[--p->n_idle];
        p->n_out++;
    } else if (p->n_out < p->max) {
        p->n_out++;                      /* a slot; connect unlocked */
    } else {
        pthread_mutex_unlock(&p->mu);
        snprintf(err, errlen, "no database connection free");
        return NULL;
    }
    pthread_mutex_unlock(&p->mu);
    if (st != NULL && !store_healthy(st)) {
        store_close(st);
        st = NULL;
    }
    if (st == NULL && (st = store_open(p->url, err, errlen)) == NULL) {
        pthread_mutex_lock(&p->mu);
        p->n_out--;
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    return st;
}

void
store_pool_put(struct store_pool *p, struct store *st)
{
    if (st != NULL && !store_healthy(st)) {
        store_close(st);
        st = NULL;
    }
    pthread_mutex_lock(&p->mu);
    p->n_out--;
    if (st != NULL)
        p->idle[p->n_idle++] = st;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* ---- COPY text ---- */

/* copy_field - one COPY text field (\N for NULL), then sep */
enum ruad_rc
copy_field(struct buf *b, const char *s, char sep)
{
    enum ruad_rc rc = RUAD_OK;
    const char  *p;

    if (s == NULL) {
        rc = buf_append(b, "\\N", 2);
    } else {
        for (p = s; rc == RUAD_OK && *p != '\0'; p++) {
            switch (*p) {
            case '\\': rc = buf_append(b, "\\\\", 2); break;
            case '\t': rc = buf_append(b, "\\t", 2); break;
            case '\n': rc = buf_append(b, "\\n", 2); break;
            case '\r': rc = buf_append(b, "\\r", 2); break;
            default:   rc = buf_append_byte(b, (unsigned char)*p); break;
            }
        }
    }
    if (rc == RUAD_OK)
        rc = buf_append_byte(b, (unsigned char)sep);
    return rc;
}

/* copy_i64 - an integer field, or \\N when !has */
enum ruad_rc
copy_i64(struct buf *b, bool has, int64_t v, char sep)
{
    char n[24];

    return copy_field(b, has ? fmt_i64(n, v) : NULL, sep);
}

/* store_copy - send buffered COPY text for one table */
enum ruad_rc
store_copy(struct store *st, const char *sql, struct buf *b)
{
    PGresult    *res;
    enum ruad_rc rc = RUAD_OK;

    if (buf_len(b) == 0)
        return RUAD_OK;
    res = PQexec(st->conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        store_set_err(st, "COPY", res);
        PQclear(res);
        return store_rc(st);
    }
    PQclear(res);
    if (PQputCopyData(st->conn, buf_ptr(b), (int)buf_len(b)) != 1 ||
        PQputCopyEnd(st->conn, NULL) != 1) {
        store_set_err(st, "COPY data", NULL);
        rc = store_rc(st);
    }
    while ((res = PQgetResult(st->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == RUAD_OK) {
            store_set_err(st, "COPY", res);
            rc = store_rc(st);
        }
        PQclear(res);
    }
    buf_reset(b);
    return rc;
}
