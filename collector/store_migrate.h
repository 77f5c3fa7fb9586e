/*
 * store_migrate.h - the database schema: the migrations under db/,
 * embedded at build time, and what is applied of them (store_migrate.c).
 * store_pg.h includes it.
 */
#ifndef RUAD_STORE_MIGRATE_H
#define RUAD_STORE_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

struct store;

/*
 * A migration embedded at build time: a numbered one (db/NNN_name.sql,
 * applied once, recorded in schema_version) or a file of functions
 * (db/functions/NN_name.sql, version 0, applied on every migrate and
 * recorded in schema_functions).  db/README.md has the rules.
 */
struct store_migration {
    int         version;
    const char *name;
    const char *sql;
    const char *sha256;     /* of the file, lower-case hex */
};
extern const struct store_migration store_migrations[];  /* NULL-ended */
extern const struct store_migration store_functions[];   /* NULL-ended */

/*
 * store_migrate - apply the migrations not yet recorded in
 * schema_version, each in its own transaction, then every file of
 * functions; *applied counts the numbered ones.  A recorded migration
 * that differs from this ruad's (store_schema_check) is refused before
 * anything is applied: RUAD_MALFORMED, the reason in store_error().  A
 * row recorded without a SHA-256 (before ruad kept them) whose name is
 * the file's takes the file's.  Concurrent callers serialise on an
 * advisory lock.
 */
enum ruad_rc store_migrate(struct store *st, int *applied);
/* store_schema_version - highest applied migration (0: none) */
enum ruad_rc store_schema_version(struct store *st, int *version);
/*
 * store_schema_missing - how many built-in migrations are not applied,
 * and files of functions not applied as this ruad has them
 */
enum ruad_rc store_schema_missing(struct store *st, int *missing);
/*
 * store_schema_check - is every migration recorded in schema_version
 * that this ruad has a file of that version for the file's: the same
 * name and (when recorded) SHA-256?  *ok false with the first difference
 * in why.  Reads only.
 */
enum ruad_rc store_schema_check(struct store *st, bool *ok, char *why,
    size_t whylen);

#endif
