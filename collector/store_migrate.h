/*
 * store_migrate.h - the database schema: the migrations under db/,
 * embedded at build time, and what is applied of them (store_migrate.c).
 * store_pg.h includes it.
 */
#ifndef RUAD_STORE_MIGRATE_H
#define RUAD_STORE_MIGRATE_H

#include <stddef.h>

#include "result.h"

struct store;

/* A numbered migration (db/NNN_name.sql, embedded at build time). */
struct store_migration {
    int         version;
    const char *name;
    const char *sql;
};
extern const struct store_migration store_migrations[];  /* NULL-ended */

/*
 * store_migrate - apply the migrations not yet recorded in
 * schema_version, each in its own transaction; *applied counts them.
 * Concurrent callers serialise on an advisory lock.
 */
enum ruad_rc store_migrate(struct store *st, int *applied);
/* store_schema_version - highest applied migration (0: none) */
enum ruad_rc store_schema_version(struct store *st, int *version);
/* store_schema_missing - how many built-in migrations are not applied */
enum ruad_rc store_schema_missing(struct store *st, int *missing);

#endif
