/*
 * store_migrate.c - the database schema: the numbered migrations of db/
 * (embedded at build time, cmake/embed_sql.cmake), each applied once and
 * recorded in schema_version (see store_migrate.h).
 *
 * SECURITY: the migrations' SQL is ours, built in; every other value
 * reaches SQL as a parameter.
 */
#include "store_migrate.h"

#include <stdio.h>
#include <stdlib.h>

#include <libpq-fe.h>

#include "store_pg.h"
#include "store_priv.h"

#define STORE_MIGRATE_LOCK 0x72756164  /* advisory lock key ("ruad") */

enum ruad_rc
store_schema_version(struct store *st, int *version)
{
    PGresult    *res;
    enum ruad_rc rc;

    *version = 0;
    rc = store_exec(st, "schema version", "SELECT coalesce(max(version), 0) "
        "FROM schema_version", 0, NULL, &res);
    if (rc != RUAD_OK) {
        if (is_sqlstate(res, "42P01"))       /* no table: nothing applied */
            rc = RUAD_OK;
        PQclear(res);
        return rc;
    }
    *version = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return RUAD_OK;
}

/* migration_applied - is version recorded in schema_version? */
static enum ruad_rc
migration_applied(struct store *st, int version, bool *yes)
{
    PGresult    *res;
    enum ruad_rc rc;
    char         v[24];
    const char  *p[1] = { fmt_i64(v, version) };

    *yes = false;
    rc = store_exec(st, "schema version", "SELECT 1 FROM schema_version "
        "WHERE version = $1", 1, p, &res);
    if (rc == RUAD_OK)
        *yes = PQntuples(res) > 0;
    else if (is_sqlstate(res, "42P01"))      /* no table: nothing applied */
        rc = RUAD_OK;
    PQclear(res);
    return rc;
}

enum ruad_rc
store_schema_missing(struct store *st, int *missing)
{
    const struct store_migration *m;
    enum ruad_rc                  rc = RUAD_OK;
    bool                          yes;

    *missing = 0;
    for (m = store_migrations; rc == RUAD_OK && m->sql != NULL; m++)
        if ((rc = migration_applied(st, m->version, &yes)) == RUAD_OK &&
            !yes)
            (*missing)++;
    return rc;
}

/* Each built-in migration not yet recorded is applied, in order: by the
 * set of recorded versions, not the highest, so that one numbered below
 * an applied one (branches merged in another order) still runs. */
enum ruad_rc
store_migrate(struct store *st, int *applied)
{
    const struct store_migration *m;
    PGresult                     *res;
    enum ruad_rc                  rc;
    char                          v[24], lock[24];
    const char                   *p[2];
    bool                          have;

    *applied = 0;
    p[0] = fmt_i64(lock, STORE_MIGRATE_LOCK);
    if ((rc = store_exec(st, "lock", "SELECT pg_advisory_lock($1)", 1, p,
        NULL)) != RUAD_OK)
        return rc;
    rc = store_cmd(st, "CREATE TABLE IF NOT EXISTS schema_version ("
        "version integer PRIMARY KEY, name text NOT NULL, "
        "applied_at timestamptz NOT NULL DEFAULT now())");
    for (m = store_migrations; rc == RUAD_OK && m->sql != NULL; m++) {
        if ((rc = migration_applied(st, m->version, &have)) != RUAD_OK)
            break;
        if (have)
            continue;
        if ((rc = store_cmd(st, "BEGIN")) != RUAD_OK)
            break;
        /* a migration is several statements: the simple query protocol,
         * which takes no parameters (the SQL is ours, built in) */
        res = PQexec(st->conn, m->sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            store_set_err(st, m->name, res);
            rc = store_rc(st);
        }
        PQclear(res);
        if (rc == RUAD_OK) {
            p[0] = fmt_i64(v, m->version);
            p[1] = m->name;
            rc = store_exec(st, "schema_version", "INSERT INTO "
                "schema_version (version, name) VALUES ($1, $2)", 2, p,
                NULL);
        }
        if (rc == RUAD_OK)
            rc = store_cmd(st, "COMMIT");
        if (rc != RUAD_OK) {
            PQclear(PQexec(st->conn, "ROLLBACK"));
            break;
        }
        (*applied)++;
    }
    p[0] = lock;
    PQclear(PQexecParams(st->conn, "SELECT pg_advisory_unlock($1)", 1, NULL,
        p, NULL, NULL, 0));
    return rc;
}
