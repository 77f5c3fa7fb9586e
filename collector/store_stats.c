/*
 * store_stats.c - figures from PostgreSQL: the inbound queue for /metrics
 * and /readyz, and one row of a query for the query API (see store_pg.h).
 *
 * SECURITY: every value reaches SQL as a parameter.
 */
#include "store_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store_priv.h"

enum ruad_rc
store_stats(struct store *st, struct store_stats *out)
{
    PGresult    *res;
    enum ruad_rc rc;
    int          i;

    memset(out, 0, sizeof(*out));
    rc = store_exec(st, "queue", "SELECT count(*), coalesce(extract(epoch "
        "FROM now() - min(received_at)), 0) FROM inbound WHERE state IN "
        "('pending', 'processing')", 0, NULL, &res);
    if (rc != RUAD_OK) {
        PQclear(res);
        return rc;
    }
    out->queue_depth = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    out->oldest_age_s = strtod(PQgetvalue(res, 0, 1), NULL);
    PQclear(res);
    rc = store_exec(st, "counts", "SELECT channel, state, count(*) FROM "
        "inbound GROUP BY 1, 2 ORDER BY 1, 2 LIMIT 64", 0, NULL, &res);
    if (rc != RUAD_OK) {
        PQclear(res);
        return rc;
    }
    for (i = 0; i < PQntuples(res) && (size_t)i < 64; i++) {
        snprintf(out->counts[i].channel, sizeof(out->counts[i].channel),
            "%s", PQgetvalue(res, i, 0));
        snprintf(out->counts[i].state, sizeof(out->counts[i].state), "%s",
            PQgetvalue(res, i, 1));
        out->counts[i].rows = strtoll(PQgetvalue(res, i, 2), NULL, 10);
        out->n_counts++;
    }
    PQclear(res);
    return RUAD_OK;
}

void
store_stats_figures(const void *stats, long long *queue_depth,
    double *oldest_age_s, void (*row)(void *ctx, const char *channel,
    const char *state, long long rows), void *ctx)
{
    const struct store_stats *s = stats;
    size_t                    i;

    for (i = 0; i < s->n_counts; i++)
        row(ctx, s->counts[i].channel, s->counts[i].state,
            (long long)s->counts[i].rows);
    *queue_depth = (long long)s->queue_depth;
    *oldest_age_s = s->oldest_age_s;
}

enum ruad_rc
store_query_row(struct store *st, const char *what, const char *sql, int n,
    const char *const *params, bool binary, int ncols, char **vals,
    size_t *lens, bool *found)
{
    PGresult    *res;
    enum ruad_rc rc;
    int          i;

    *found = false;
    for (i = 0; i < ncols; i++) {
        vals[i] = NULL;
        lens[i] = 0;
    }
    res = PQexecParams(st->conn, sql, n, NULL, params, NULL, NULL,
        binary ? 1 : 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = store_rc(st);
        store_set_err(st, what, res);
        PQclear(res);
        return rc;
    }
    if (PQntuples(res) > 0 && PQnfields(res) >= ncols) {
        *found = true;
        for (i = 0; i < ncols; i++) {
            size_t len = (size_t)PQgetlength(res, 0, i);

            if (PQgetisnull(res, 0, i))
                continue;
            if ((vals[i] = malloc(len + 1)) == NULL) {
                while (i-- > 0)
                    free(vals[i]);
                PQclear(res);
                snprintf(st->err, sizeof(st->err), "%s: out of memory",
                    what);
                return RUAD_NOMEM;
            }
            memcpy(vals[i], PQgetvalue(res, 0, i), len);
            vals[i][len] = '\0';
            lens[i] = len;
        }
    }
    PQclear(res);
    return RUAD_OK;
}
