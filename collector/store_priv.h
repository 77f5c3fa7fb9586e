/*
 * store_priv.h - the store's internals shared by its files (store_pg.c,
 * store_migrate.c, store_inbound.c, store_report.c, store_stats.c): the
 * connection and the statement helpers (defined in store_pg.c).  Only the
 * store's own files include it; everything else sees store_pg.h.
 */
#ifndef RUAD_STORE_PRIV_H
#define RUAD_STORE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "result.h"

struct buf;

struct store {
    PGconn *conn;
    bool    ins_prepared;       /* the inbound INSERT is prepared */
    char    err[512];
};

/* store_set_err - keep libpq's message, on one line */
void store_set_err(struct store *st, const char *what, const PGresult *res);
/* store_rc - ruad_rc for a failed result: lost connection is temporary */
enum ruad_rc store_rc(struct store *st);
/* is_sqlstate - does the failed result carry this SQLSTATE? */
bool is_sqlstate(const PGresult *res, const char *state);
/*
 * store_exec - run a parameterised statement (text parameters); *out gets
 * the result when the caller wants rows.  Returns RUAD_OK, or the error
 * with store->err set.
 */
enum ruad_rc store_exec(struct store *st, const char *what, const char *sql,
    int n, const char *const *params, PGresult **out);
enum ruad_rc store_cmd(struct store *st, const char *sql);
/* fmt_i64 - decimal text of v into dst (24 bytes) */
const char *fmt_i64(char dst[24], int64_t v);
/* pg_array - a text[] literal {"a","b"} of n strings into b */
enum ruad_rc pg_array(struct buf *b, char *const *v, size_t n);

/* COPY text (store_pg.c): copy_field - one field (\N for NULL), then
 * sep; copy_i64 - an integer field, \N when !has; store_copy - send the
 * buffered rows of one table (sql: its COPY ... FROM STDIN) and empty b */
enum ruad_rc copy_field(struct buf *b, const char *s, char sep);
enum ruad_rc copy_i64(struct buf *b, bool has, int64_t v, char sep);
enum ruad_rc store_copy(struct store *st, const char *sql, struct buf *b);

#endif
