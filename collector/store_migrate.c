/*
 * store_migrate.c - the database schema (see store_migrate.h, db/README.md):
 * the numbered migrations of db/, each applied once and recorded in
 * schema_version with the SHA-256 of its file, then the files of
 * db/functions/, applied on every migrate and recorded in
 * schema_functions.  All are embedded at build time
 * (cmake/embed_sql.cmake).
 *
 * Migrations are append-only: a database whose recorded migration is not
 * this ruad's file of that version (another name or another SHA-256) is
 * refused, by ruad migrate and by /readyz alike, with the difference
 * named.  A version this ruad has no file for is another branch's (or a
 * newer ruad's) and left alone, as before: /readyz says the schema is not
 * this binary's.  The rows recorded before ruad kept hashes take the hash
 * of the file of the same name (trust on first use).
 *
 * SECURITY: the migrations' SQL is ours, built in; every other value
 * reaches SQL as a parameter.
 */
#include "store_migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store_pg.h"
#include "store_priv.h"

#define STORE_MIGRATE_LOCK 0x72756164  /* advisory lock key ("ruad") */

/* schema_select - a query of schema_version; RUAD_OK with *res NULL
 * when there is no such table yet (nothing applied) */
static enum ruad_rc
schema_select(struct store *st, const char *sql, PGresult **res)
{
    enum ruad_rc rc = store_exec(st, "schema version", sql, 0, NULL, res);

    if (rc != RUAD_OK) {
        if (is_sqlstate(*res, "42P01"))      /* no table: nothing applied */
            rc = RUAD_OK;
        PQclear(*res);
        *res = NULL;
    }
    return rc;
}

enum ruad_rc
store_schema_version(struct store *st, int *version)
{
    PGresult    *res;
    enum ruad_rc rc;

    *version = 0;
    if ((rc = schema_select(st, "SELECT coalesce(max(version), 0) FROM "
        "schema_version", &res)) != RUAD_OK || res == NULL)
        return rc;
    *version = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return RUAD_OK;
}

/* recorded - does the query (SELECT 1 ... of n parameters) find a row?
 * No table yet: nothing is recorded */
static enum ruad_rc
recorded(struct store *st, const char *sql, int n, const char *const *p,
    bool *yes)
{
    PGresult    *res;
    enum ruad_rc rc;

    *yes = false;
    rc = store_exec(st, "schema version", sql, n, p, &res);
    if (rc == RUAD_OK)
        *yes = PQntuples(res) > 0;
    else if (is_sqlstate(res, "42P01"))      /* no table: nothing applied */
        rc = RUAD_OK;
    PQclear(res);
    return rc;
}

/* migration_applied - is version recorded in schema_version? */
static enum ruad_rc
migration_applied(struct store *st, int version, bool *yes)
{
    char        v[24];
    const char *p[1] = { fmt_i64(v, version) };

    return recorded(st, "SELECT 1 FROM schema_version WHERE version = $1",
        1, p, yes);
}

/* functions_applied - is f recorded in schema_functions, as it is here? */
static enum ruad_rc
functions_applied(struct store *st, const struct store_migration *f,
    bool *yes)
{
    const char *p[2] = { f->name, f->sha256 };

    return recorded(st, "SELECT 1 FROM schema_functions WHERE name = $1 "
        "AND sha256 = $2", 2, p, yes);
}

/* migration_find - this ruad's numbered migration of version, or NULL */
static const struct store_migration *
migration_find(int version)
{
    const struct store_migration *m;

    for (m = store_migrations; m->sql != NULL; m++)
        if (m->version == version)
            return m;
    return NULL;
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
    for (m = store_functions; rc == RUAD_OK && m->sql != NULL; m++)
        if ((rc = functions_applied(st, m, &yes)) == RUAD_OK && !yes)
            (*missing)++;
    return rc;
}

enum ruad_rc
store_schema_check(struct store *st, bool *ok, char *why, size_t whylen)
{
    const struct store_migration *m;
    PGresult                     *res;
    enum ruad_rc                  rc;
    int                           i, v;

    *ok = true;
    why[0] = '\0';
    /* to_jsonb: the sha256 column is absent until a migrate adds it */
    if ((rc = schema_select(st, "SELECT version, name, "
        "coalesce(to_jsonb(s) ->> 'sha256', '') FROM schema_version s "
        "ORDER BY version", &res)) != RUAD_OK || res == NULL)
        return rc;
    for (i = 0; *ok && i < PQntuples(res); i++) {
        const char *name = PQgetvalue(res, i, 1);
        const char *sha = PQgetvalue(res, i, 2);

        v = (int)strtol(PQgetvalue(res, i, 0), NULL, 10);
        if ((m = migration_find(v)) == NULL)
            continue;                   /* another branch's, or newer */
        if (strcmp(name, m->name) != 0 ||
            (*sha != '\0' && strcmp(sha, m->sha256) != 0)) {
            snprintf(why, whylen, "migration %d as applied to the database "
                "(%s, sha256 %s) differs from this ruad's db/%s.sql "
                "(sha256 %s): applied migrations never change "
                "(docs/operations.md, Migrations)", v, name,
                *sha != '\0' ? sha : "not recorded", m->name, m->sha256);
            *ok = false;
        }
    }
    PQclear(res);
    return RUAD_OK;
}

/*
 * migration_apply - m's SQL, then record (a statement of two parameters:
 * m's name and SHA-256, or its version, name and SHA-256 when versioned),
 * in one transaction
 */
static enum ruad_rc
migration_apply(struct store *st, const struct store_migration *m,
    const char *record)
{
    PGresult    *res;
    enum ruad_rc rc;
    char         v[24];
    const char  *p[3];
    int          n = 0;

    if ((rc = store_cmd(st, "BEGIN")) != RUAD_OK)
        return rc;
    /* a migration is several statements: the simple query protocol,
     * which takes no parameters (the SQL is ours, built in) */
    res = PQexec(st->conn, m->sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        store_set_err(st, m->name, res);
        rc = store_rc(st);
    }
    PQclear(res);
    if (m->version > 0)
        p[n++] = fmt_i64(v, m->version);
    p[n++] = m->name;
    p[n++] = m->sha256;
    if (rc == RUAD_OK)
        rc = store_exec(st, m->version > 0 ? "schema_version" :
            "schema_functions", record, n, p, NULL);
    if (rc == RUAD_OK)
        rc = store_cmd(st, "COMMIT");
    if (rc != RUAD_OK)
        PQclear(PQexec(st->conn, "ROLLBACK"));
    return rc;
}

/*
 * migrate_check - refuse a database whose applied migrations are not this
 * ruad's; then the rows recorded without a SHA-256 take their file's (the
 * name is the file's: store_schema_check said so)
 */
static enum ruad_rc
migrate_check(struct store *st)
{
    const struct store_migration *m;
    enum ruad_rc                  rc;
    char                          why[sizeof(st->err)], v[24];
    const char                   *p[3];
    bool                          ok;

    rc = store_cmd(st, "ALTER TABLE schema_version ADD COLUMN IF NOT EXISTS "
        "sha256 text");
    if (rc == RUAD_OK)
        rc = store_schema_check(st, &ok, why, sizeof(why));
    if (rc == RUAD_OK && !ok) {
        snprintf(st->err, sizeof(st->err), "%s", why);
        return RUAD_MALFORMED;
    }
    for (m = store_migrations; rc == RUAD_OK && m->sql != NULL; m++) {
        p[0] = fmt_i64(v, m->version);
        p[1] = m->name;
        p[2] = m->sha256;
        rc = store_exec(st, "schema_version", "UPDATE schema_version SET "
            "sha256 = $3 WHERE version = $1 AND name = $2 AND sha256 IS "
            "NULL", 3, p, NULL);
    }
    return rc;
}

/* Each built-in migration not yet recorded is applied, in order: by the
 * set of recorded versions, not the highest, so that one numbered below
 * an applied one (branches merged in another order) still runs.  The
 * functions follow, every time: they hold the current definitions. */
enum ruad_rc
store_migrate(struct store *st, int *applied)
{
    const struct store_migration *m;
    enum ruad_rc                  rc;
    char                          lock[24];
    const char                   *p[1];
    bool                          have;

    *applied = 0;
    p[0] = fmt_i64(lock, STORE_MIGRATE_LOCK);
    if ((rc = store_exec(st, "lock", "SELECT pg_advisory_lock($1)", 1, p,
        NULL)) != RUAD_OK)
        return rc;
    rc = store_cmd(st, "CREATE TABLE IF NOT EXISTS schema_version ("
        "version integer PRIMARY KEY, name text NOT NULL, "
        "applied_at timestamptz NOT NULL DEFAULT now())");
    if (rc == RUAD_OK)
        rc = migrate_check(st);
    for (m = store_migrations; rc == RUAD_OK && m->sql != NULL; m++) {
        if ((rc = migration_applied(st, m->version, &have)) != RUAD_OK)
            break;
        if (have)
            continue;
        if ((rc = migration_apply(st, m, "INSERT INTO schema_version "
            "(version, name, sha256) VALUES ($1, $2, $3)")) != RUAD_OK)
            break;
        (*applied)++;
    }
    if (rc == RUAD_OK)
        rc = store_cmd(st, "CREATE TABLE IF NOT EXISTS schema_functions ("
            "name text PRIMARY KEY, sha256 text NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now())");
    for (m = store_functions; rc == RUAD_OK && m->sql != NULL; m++)
        rc = migration_apply(st, m, "INSERT INTO schema_functions (name, "
            "sha256) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET "
            "sha256 = excluded.sha256, applied_at = now()");
    p[0] = lock;
    PQclear(PQexecParams(st->conn, "SELECT pg_advisory_unlock($1)", 1, NULL,
        p, NULL, NULL, 0));
    return rc;
}
