/*
 * store_inbound.c - the inbound queue in PostgreSQL: received rows in
 * (one statement for a batch), claimed by workers, decided, retried,
 * requeued; and the UIDs of IMAP sources (see store_pg.h, db/001,
 * db/004_imap.sql, db/008).
 *
 * Claiming: a worker first marks the oldest pending row "processing" and
 * counts the attempt in a short committed transaction, then opens the
 * transaction that locks the row (FOR NO KEY UPDATE NOWAIT) and stores
 * its reports and verdict.  A live worker's row is locked, so SKIP LOCKED
 * passes it by; a dead worker's row (unlocked, claimed more than
 * STORE_RECLAIM_S ago) is claimed anew, with its attempts counted.
 *
 * SECURITY: raw is peer data; it reaches SQL only as a binary parameter.
 */
#include "store_pg.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>

#include <libpq-fe.h>
#include <openssl/evp.h>

#include "buf.h"
#include "dkim.h"
#include "store_priv.h"

/*
 * A processing row whose claim is older than this is taken again: its
 * worker died (a live worker holds the row's lock, so SKIP LOCKED passes
 * it by anyway).  Younger ones are left alone, or two workers could both
 * count an attempt in the moment between one's claim and its lock.
 */
#define STORE_RECLAIM_S    "5"

/* ---- the inbound queue ---- */

/*
 * Rows arrive as one array per column (binary array format, so raw bytes
 * need no escaping) and go in with one statement: one round trip, one
 * executor run and one commit for the whole batch.  A pending row asked
 * to be kept once carries kept_sha256, the digest of the sender's bytes,
 * unique: ON CONFLICT skips the row when a row with it exists (or comes
 * earlier in the batch, or commits meanwhile in another transaction: the
 * insert waits for that one).  The rows stored come back in the order of
 * the arrays (nextval is taken row by row in ORDER BY n) with their
 * sha256, which says which of the rows asked for they are.
 */
static const char inbound_insert_sql[] = "INSERT INTO inbound (channel, "
    "peer_addr, source_name, smtp_helo, smtp_mail_from, smtp_rcpt_to, "
    "tls_version, tls_cipher, content_type, size, raw, sha256, state, "
    "reason, processed_at, kept_sha256) SELECT c, p::inet, sn, h, mf, "
    "rt::text[], tv, tc, ct, sz, r, sh, coalesce(st, 'pending'), re, CASE "
    "WHEN st IS NULL THEN NULL ELSE now() END, ks FROM unnest($1::text[], "
    "$2::text[], $3::text[], $4::text[], $5::text[], $6::text[], "
    "$7::text[], $8::text[], $9::text[], $10::int8[], $11::bytea[], "
    "$12::bytea[], $13::text[], $14::text[], $15::bytea[]) WITH ORDINALITY "
    "AS u(c, p, sn, h, mf, rt, tv, tc, ct, sz, r, sh, st, re, ks, n) "
    "ORDER BY n ON CONFLICT (kept_sha256) WHERE kept_sha256 IS NOT NULL DO "
    "NOTHING RETURNING id, encode(sha256, 'hex')";

#define INBOUND_COLS 15
#define OID_BYTEA    17
#define OID_INT8     20
#define OID_TEXT     25

/* arr_be32 - append v as 4 bytes, network order */
static enum ruad_rc
arr_be32(struct buf *b, uint32_t v)
{
    uint32_t be = htonl(v);

    return buf_append(b, &be, 4);
}

/* arr_start - a one-dimensional array of n elements of type oid */
static enum ruad_rc
arr_start(struct buf *b, uint32_t oid, size_t n)
{
    enum ruad_rc rc;

    buf_reset(b);
    if ((rc = arr_be32(b, 1)) != RUAD_OK ||         /* dimensions */
        (rc = arr_be32(b, 0)) != RUAD_OK ||         /* has NULLs: below */
        (rc = arr_be32(b, oid)) != RUAD_OK ||
        (rc = arr_be32(b, (uint32_t)n)) != RUAD_OK)
        return rc;
    return arr_be32(b, 1);                          /* lower bound */
}

/* arr_add - one element; NULL when p is NULL */
static enum ruad_rc
arr_add(struct buf *b, const void *p, size_t len)
{
    enum ruad_rc rc;

    if (p == NULL) {
        b->data[7] = 1;                             /* has NULLs */
        return arr_be32(b, 0xffffffffu);
    }
    if (len > INT32_MAX)
        return RUAD_LIMIT;
    if ((rc = arr_be32(b, (uint32_t)len)) != RUAD_OK)
        return rc;
    return buf_append(b, p, len);
}

static enum ruad_rc
arr_add_str(struct buf *b, const char *s)
{
    return arr_add(b, s, s != NULL ? strlen(s) : 0);
}

/* inbound_row - one row's elements, column by column */
static enum ruad_rc
inbound_row(struct store *st, struct buf *col, struct buf *tmp,
    struct store_inbound_item *it)
{
    const struct inbound_meta *m = it->m;
    unsigned char              md[EVP_MAX_MD_SIZE];
    unsigned int               mdlen = 0;
    uint64_t                   size = htobe64(it->size);
    size_t                     skip = it->skip <= it->len ? it->skip : 0;
    bool                       once = it->once &&
        m->state == INBOUND_PENDING;
    enum ruad_rc               rc;

    /* sha256 of all that is stored; kept of the sender's bytes alone */
    if (!EVP_Digest(it->raw, it->len, md, &mdlen, EVP_sha256(), NULL) ||
        mdlen != sizeof(it->sha256)) {
        snprintf(st->err, sizeof(st->err), "sha256 failed");
        return RUAD_INTERNAL;
    }
    memcpy(it->sha256, md, sizeof(it->sha256));
    if (skip > 0 && (!EVP_Digest((const char *)it->raw + skip,
        it->len - skip, md, &mdlen, EVP_sha256(), NULL) ||
        mdlen != sizeof(it->kept))) {
        snprintf(st->err, sizeof(st->err), "sha256 failed");
        return RUAD_INTERNAL;
    }
    memcpy(it->kept, md, sizeof(it->kept));
    buf_reset(tmp);
    if (m->n_rcpt_to > 0 && (rc = pg_array(tmp, (char *const *)
        m->smtp_rcpt_to, m->n_rcpt_to)) != RUAD_OK)
        return rc;
    if ((rc = arr_add_str(&col[0], m->channel)) != RUAD_OK ||
        (rc = arr_add_str(&col[1], m->peer_addr)) != RUAD_OK ||
        (rc = arr_add_str(&col[2], m->source_name)) != RUAD_OK ||
        (rc = arr_add_str(&col[3], m->smtp_helo)) != RUAD_OK ||
        (rc = arr_add_str(&col[4], m->smtp_mail_from)) != RUAD_OK ||
        (rc = arr_add_str(&col[5], m->n_rcpt_to ? buf_ptr(tmp) : NULL)) !=
        RUAD_OK ||
        (rc = arr_add_str(&col[6], m->tls_version)) != RUAD_OK ||
        (rc = arr_add_str(&col[7], m->tls_cipher)) != RUAD_OK ||
        (rc = arr_add_str(&col[8], m->content_type)) != RUAD_OK ||
        (rc = arr_add(&col[9], &size, 8)) != RUAD_OK ||
        (rc = arr_add(&col[10], it->raw, it->len)) != RUAD_OK ||
        (rc = arr_add(&col[11], it->sha256, sizeof(it->sha256))) !=
        RUAD_OK ||
        (rc = arr_add_str(&col[12], m->state == INBOUND_PENDING ? NULL :
        inbound_state_name(m->state))) != RUAD_OK ||
        (rc = arr_add_str(&col[13], m->reason)) != RUAD_OK)
        return rc;
    return arr_add(&col[14], once ? it->kept : NULL, sizeof(it->kept));
}

/* hex_is - is text (lower-case hex) the bytes md? */
static bool
hex_is(const char *text, const unsigned char *md, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t            i;

    if (strlen(text) != 2 * n)
        return false;
    for (i = 0; i < n; i++)
        if (text[2 * i] != hex[md[i] >> 4] ||
            text[2 * i + 1] != hex[md[i] & 15])
            return false;
    return true;
}

/*
 * inbound_ids - each row its id from the RETURNING rows (id, sha256), in
 * order; a row missing from them was skipped as identical (a batch
 * holds once rows, or a single row, so a skipped row is never taken for
 * a later row with its bytes).  False when they do not add up (a row
 * missing that could not be skipped).
 */
static bool
inbound_ids(PGresult *res, struct store_inbound_item *it, size_t n)
{
    size_t i;
    int    k = 0, nt = PQntuples(res);

    for (i = 0; i < n; i++) {
        it[i].identical = false;
        it[i].id = 0;
        if (k < nt && hex_is(PQgetvalue(res, k, 1), it[i].sha256,
            sizeof(it[i].sha256))) {
            it[i].id = strtoll(PQgetvalue(res, k++, 0), NULL, 10);
        } else if (it[i].once && it[i].m->state == INBOUND_PENDING) {
            it[i].identical = true;
        } else {
            return false;
        }
    }
    return k == nt;
}

/*
 * inbound_insert_rows - n rows in one statement (committed when it
 * returns, unless the caller has opened a transaction).  RUAD_OK: all committed, ids set;
 * RUAD_TEMPFAIL: the connection broke; RUAD_MALFORMED: the database
 * refused a row (nothing committed); else building the arrays failed.
 */
static enum ruad_rc
inbound_insert_rows(struct store *st, struct store_inbound_item *it,
    size_t n)
{
    static const uint32_t oids[INBOUND_COLS] = { OID_TEXT, OID_TEXT,
        OID_TEXT, OID_TEXT, OID_TEXT, OID_TEXT, OID_TEXT, OID_TEXT,
        OID_TEXT, OID_INT8, OID_BYTEA, OID_BYTEA, OID_TEXT, OID_TEXT,
        OID_BYTEA };
    struct buf    col[INBOUND_COLS], tmp;
    const char   *p[INBOUND_COLS];
    int           lens[INBOUND_COLS], fmts[INBOUND_COLS];
    PGresult     *res = NULL;
    enum ruad_rc  rc = RUAD_OK;
    size_t        i;
    int           k;

    if (!st->ins_prepared) {
        res = PQprepare(st->conn, "ruad_inbound", inbound_insert_sql,
            INBOUND_COLS, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            store_set_err(st, "preparing the inbound insert", res);
            PQclear(res);
            return store_rc(st) == RUAD_TEMPFAIL ? RUAD_TEMPFAIL :
                RUAD_INTERNAL;
        }
        PQclear(res);
        st->ins_prepared = true;
    }
    buf_init(&tmp, 1u << 20);
    for (k = 0; k < INBOUND_COLS; k++) {
        buf_init(&col[k], (size_t)INT32_MAX);
        if (rc == RUAD_OK)
            rc = arr_start(&col[k], oids[k], n);
    }
    for (i = 0; rc == RUAD_OK && i < n; i++)
        rc = inbound_row(st, col, &tmp, &it[i]);
    if (rc == RUAD_OK) {
        for (k = 0; k < INBOUND_COLS; k++) {
            p[k] = buf_ptr(&col[k]);
            lens[k] = (int)buf_len(&col[k]);
            fmts[k] = 1;
        }
        res = PQexecPrepared(st->conn, "ruad_inbound", INBOUND_COLS, p,
            lens, fmts, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            store_set_err(st, "storing inbound", res);
            rc = store_rc(st) == RUAD_TEMPFAIL ? RUAD_TEMPFAIL :
                RUAD_MALFORMED;
        } else if (!inbound_ids(res, it, n)) {
            snprintf(st->err, sizeof(st->err), "storing inbound: %d ids "
                "for %zu rows", PQntuples(res), n);
            rc = RUAD_INTERNAL;             /* committed, but which is which */
        }
        PQclear(res);
    } else if (rc != RUAD_INTERNAL) {
        snprintf(st->err, sizeof(st->err), "storing inbound: out of memory");
    }
    for (k = 0; k < INBOUND_COLS; k++)
        buf_free(&col[k]);
    buf_free(&tmp);
    return rc;
}

enum ruad_rc
store_inbound_insert_batch(struct store *st, struct store_inbound_item *it,
    size_t n)
{
    enum ruad_rc rc;
    size_t       i;

    if (n == 0)
        return RUAD_OK;
    rc = inbound_insert_rows(st, it, n);
    for (i = 0; i < n; i++)
        it[i].rc = rc == RUAD_OK ? RUAD_OK : RUAD_TEMPFAIL;
    if (rc != RUAD_MALFORMED || n == 1)
        return rc == RUAD_OK ? RUAD_OK : RUAD_TEMPFAIL;
    /* one row spoilt the batch: every row alone, so only it fails */
    rc = RUAD_OK;
    for (i = 0; i < n; i++) {
        if (inbound_insert_rows(st, &it[i], 1) == RUAD_OK)
            it[i].rc = RUAD_OK;
        else
            rc = RUAD_TEMPFAIL;
    }
    return rc;
}

enum ruad_rc
store_inbound_insert(struct store *st, const struct inbound_meta *m,
    const void *raw, size_t len, uint64_t size, int64_t *id)
{
    struct store_inbound_item it = { .m = m, .raw = raw, .len = len,
        .size = size };
    enum ruad_rc              rc;

    rc = store_inbound_insert_batch(st, &it, 1);
    if (rc == RUAD_OK)
        *id = it.id;
    return rc;
}

void
store_row_clear(struct store_row *row)
{
    free(row->channel);
    free(row->content_type);
    free(row->source_name);
    free(row->raw);
    memset(row, 0, sizeof(*row));
}

enum ruad_rc
store_claim(struct store *st, int64_t only_id, struct store_row *row)
{
    static const char claim_any[] = "UPDATE inbound SET state = "
        "'processing', attempts = attempts + 1, claimed_at = now() "
        "WHERE id = (SELECT id FROM inbound WHERE (state = 'pending' OR "
        "(state = 'processing' AND claimed_at < now() - "
        "make_interval(secs => " STORE_RECLAIM_S "))) AND "
        "next_attempt_at <= now() ORDER BY id "
        "LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, attempts";
    static const char claim_one[] = "UPDATE inbound SET state = "
        "'processing', attempts = attempts + 1, claimed_at = now() "
        "WHERE id = (SELECT id FROM inbound WHERE id = $1 AND (state = "
        "'pending' OR (state = 'processing' AND claimed_at < now() - "
        "make_interval(secs => " STORE_RECLAIM_S "))) FOR UPDATE SKIP "
        "LOCKED) RETURNING id, attempts";
    /* waits, briefly: another worker's claim may hold the row for the
     * moment its SKIP LOCKED scan looks at it */
    static const char lock[] = "SELECT channel, content_type, source_name, "
        "raw, extract(epoch FROM now() - received_at)::int8 FROM inbound "
        "WHERE id = $1 AND state = 'processing' FOR NO KEY UPDATE";
    const char   *p[1];
    char          idbuf[24];
    PGresult     *res;
    enum ruad_rc  rc;

    memset(row, 0, sizeof(*row));
    p[0] = fmt_i64(idbuf, only_id);
    rc = store_exec(st, "claim", only_id > 0 ? claim_one : claim_any,
        only_id > 0 ? 1 : 0, p, &res);
    if (rc != RUAD_OK) {
        PQclear(res);
        return rc;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return RUAD_EOF;
    }
    row->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    row->attempts = (int)strtol(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);

    if ((rc = store_cmd(st, "BEGIN")) != RUAD_OK ||
        (rc = store_cmd(st, "SET LOCAL lock_timeout = '10s'")) != RUAD_OK)
        return rc;
    p[0] = fmt_i64(idbuf, row->id);
    res = PQexecParams(st->conn, lock, 1, NULL, p, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        /* another worker took it between the two steps: let it be */
        rc = PQresultStatus(res) == PGRES_TUPLES_OK ||
            is_sqlstate(res, "55P03") ? RUAD_EOF : store_rc(st);
        if (rc != RUAD_EOF)
            store_set_err(st, "claim lock", res);
        PQclear(res);
        PQclear(PQexec(st->conn, "ROLLBACK"));
        return rc == RUAD_EOF && only_id == 0 ? RUAD_BUSY : rc;
    }
    /* binary results: text columns are their bytes, raw is bytea */
    row->channel = report_strndup(PQgetvalue(res, 0, 0),
        (size_t)PQgetlength(res, 0, 0));
    row->content_type = PQgetisnull(res, 0, 1) ? NULL : report_strndup(
        PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1));
    row->source_name = PQgetisnull(res, 0, 2) ? NULL : report_strndup(
        PQgetvalue(res, 0, 2), (size_t)PQgetlength(res, 0, 2));
    row->len = (size_t)PQgetlength(res, 0, 3);
    row->raw = malloc(row->len + 1);
    if (row->channel == NULL || row->raw == NULL) {
        PQclear(res);
        PQclear(PQexec(st->conn, "ROLLBACK"));
        store_row_clear(row);
        return RUAD_NOMEM;
    }
    memcpy(row->raw, PQgetvalue(res, 0, 3), row->len);
    row->raw[row->len] = '\0';
    if (PQgetlength(res, 0, 4) == 8) {     /* int8, network order */
        uint64_t be;

        memcpy(&be, PQgetvalue(res, 0, 4), 8);
        row->age_s = (int64_t)be64toh(be);
    }
    PQclear(res);
    return RUAD_OK;
}

enum ruad_rc
store_finish(struct store *st, int64_t id, enum inbound_state state,
    const char *reason, char *const *warnings, size_t n_warnings)
{
    const char  *p[4];
    char         idbuf[24];
    struct buf   w;
    enum ruad_rc rc;

    buf_init(&w, 1u << 20);
    if ((rc = pg_array(&w, warnings, n_warnings)) != RUAD_OK) {
        buf_free(&w);
        return rc;
    }
    p[0] = fmt_i64(idbuf, id);
    p[1] = inbound_state_name(state);
    p[2] = reason;
    p[3] = buf_ptr(&w);
    rc = store_exec(st, "verdict", "UPDATE inbound SET state = $2, "
        "reason = $3, warnings = $4, processed_at = now(), "
        "claimed_at = NULL WHERE id = $1", 4, p, NULL);
    buf_free(&w);
    if (rc == RUAD_OK)
        rc = store_cmd(st, "COMMIT");
    if (rc != RUAD_OK) {
        PQclear(PQexec(st->conn, "ROLLBACK"));
        return RUAD_TEMPFAIL;
    }
    return RUAD_OK;
}

/* retry - put the row back to pending; uncounted takes the attempt back */
static enum ruad_rc
retry(struct store *st, int64_t id, const char *reason, int delay_s,
    bool uncounted)
{
    const char *p[4];
    char        idbuf[24], delay[24];

    PQclear(PQexec(st->conn, "ROLLBACK"));
    p[0] = fmt_i64(idbuf, id);
    p[1] = reason;
    p[2] = fmt_i64(delay, delay_s);
    p[3] = uncounted ? "1" : "0";
    return store_exec(st, "retry", "UPDATE inbound SET state = 'pending', "
        "reason = $2, claimed_at = NULL, next_attempt_at = now() + "
        "make_interval(secs => $3::int), attempts = greatest(0, attempts - "
        "$4::int) WHERE id = $1", 4, p, NULL);
}

enum ruad_rc
store_retry(struct store *st, int64_t id, const char *reason, int delay_s)
{
    return retry(st, id, reason, delay_s, false);
}

enum ruad_rc
store_retry_uncounted(struct store *st, int64_t id, const char *reason,
    int delay_s)
{
    return retry(st, id, reason, delay_s, true);
}

enum ruad_rc
store_inbound_dkim(struct store *st, int64_t id,
    const struct dkim_summary *dk)
{
    const char *p[6];
    char        idbuf[24];

    p[0] = fmt_i64(idbuf, id);
    p[1] = dk->result;
    p[2] = dk->domain[0] ? dk->domain : NULL;
    p[3] = dk->selector[0] ? dk->selector : NULL;
    p[4] = dk->domain[0] ? (dk->aligned ? "t" : "f") : NULL;
    p[5] = dk->from_domain[0] ? dk->from_domain : NULL;
    return store_exec(st, "inbound dkim", "UPDATE inbound SET dkim_result = "
        "$2, dkim_domain = $3, dkim_selector = $4, dkim_aligned = $5, "
        "from_domain = $6 WHERE id = $1", 6, p, NULL);
}

enum ruad_rc
store_rows_in_state(struct store *st, enum inbound_state state,
    int64_t after_id, int64_t *ids, size_t max, size_t *n)
{
    const char  *p[3];
    char         after[24], lim[24];
    PGresult    *res;
    enum ruad_rc rc;
    int          i;

    *n = 0;
    p[0] = inbound_state_name(state);
    p[1] = fmt_i64(after, after_id);
    p[2] = fmt_i64(lim, (int64_t)max);
    rc = store_exec(st, "rows", "SELECT id FROM inbound WHERE state = $1 "
        "AND id > $2 ORDER BY id LIMIT $3", 3, p, &res);
    if (rc != RUAD_OK) {
        PQclear(res);
        return rc;
    }
    for (i = 0; i < PQntuples(res) && (size_t)i < max; i++)
        ids[(*n)++] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
    PQclear(res);
    return RUAD_OK;
}

enum ruad_rc
store_requeue(struct store *st, int64_t id)
{
    const char *p[1];
    char        idbuf[24];

    p[0] = fmt_i64(idbuf, id);
    return store_exec(st, "requeue", "UPDATE inbound SET state = 'pending', "
        "attempts = 0, next_attempt_at = now(), claimed_at = NULL "
        "WHERE id = $1 AND state NOT IN ('parsed', 'duplicate')", 1, p,
        NULL);
}

/* ---- IMAP sources (db/004_imap.sql) ---- */

enum ruad_rc
store_imap_mailbox(struct store *st, const char *source, const char *mailbox,
    uint32_t uidvalidity, uint32_t *last_uid, bool *reset)
{
    /* the CTE reads the row as it was before the upsert */
    static const char sql[] = "WITH old AS (SELECT uidvalidity FROM "
        "imap_mailbox WHERE source = $1 AND mailbox = $2) "
        "INSERT INTO imap_mailbox (source, mailbox, uidvalidity) "
        "VALUES ($1, $2, $3) ON CONFLICT (source, mailbox) DO UPDATE SET "
        "uidvalidity = EXCLUDED.uidvalidity, last_uid = CASE WHEN "
        "imap_mailbox.uidvalidity = EXCLUDED.uidvalidity THEN "
        "imap_mailbox.last_uid ELSE 0 END, updated_at = now() "
        "RETURNING last_uid, (SELECT uidvalidity FROM old)";
    static const char stale[] = "UPDATE imap_message SET acted_at = now(), "
        "action = 'stale' WHERE source = $1 AND mailbox = $2 AND "
        "uidvalidity <> $3 AND acted_at IS NULL";
    const char  *p[3] = { source, mailbox, NULL };
    char         uv[24];
    PGresult    *res;
    enum ruad_rc rc;

    p[2] = fmt_i64(uv, uidvalidity);
    if ((rc = store_exec(st, "imap mailbox", sql, 3, p, &res)) != RUAD_OK) {
        PQclear(res);
        return rc;
    }
    *last_uid = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
    *reset = !PQgetisnull(res, 0, 1) &&
        strcmp(PQgetvalue(res, 0, 1), uv) != 0;
    PQclear(res);
    /* UIDs of the old UIDVALIDITY name nothing any more */
    return *reset ? store_exec(st, "imap stale", stale, 3, p, NULL) : RUAD_OK;
}

enum ruad_rc
store_imap_due(struct store *st, const char *source, const char *mailbox,
    uint32_t uidvalidity, uint32_t *uids, size_t max, size_t *n)
{
    const char  *p[4] = { source, mailbox, NULL, NULL };
    char         uv[24], lim[24];
    PGresult    *res;
    enum ruad_rc rc;
    int          i;

    *n = 0;
    p[2] = fmt_i64(uv, uidvalidity);
    p[3] = fmt_i64(lim, (int64_t)max);
    if ((rc = store_exec(st, "imap due", "SELECT uid FROM imap_message "
        "WHERE source = $1 AND mailbox = $2 AND uidvalidity = $3 AND "
        "acted_at IS NULL ORDER BY uid LIMIT $4", 4, p, &res)) != RUAD_OK) {
        PQclear(res);
        return rc;
    }
    for (i = 0; i < PQntuples(res) && (size_t)i < max; i++)
        uids[(*n)++] = (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10);
    PQclear(res);
    return RUAD_OK;
}

enum ruad_rc
store_imap_insert(struct store *st, const struct inbound_meta *m,
    const void *raw, size_t len, uint64_t size,
    const struct store_imap_uid *u, int64_t *id, bool *identical)
{
    static const char msg[] = "INSERT INTO imap_message (source, mailbox, "
        "uidvalidity, uid, inbound_id, action, acted_at) VALUES ($1, $2, $3, "
        "$4, $5, $6, CASE WHEN $7 THEN now() END) ON CONFLICT DO NOTHING";
    static const char last[] = "UPDATE imap_mailbox SET last_uid = "
        "greatest(last_uid, $4), updated_at = now() WHERE source = $1 AND "
        "mailbox = $2 AND uidvalidity = $3";
    struct store_inbound_item it = { .m = m, .raw = raw, .len = len,
        .size = size, .once = true };
    const char  *p[7];
    char         uv[24], uid[24], ib[24];
    PGresult    *res;
    enum ruad_rc rc;

    *identical = false;
    if ((rc = store_cmd(st, "BEGIN")) != RUAD_OK)
        return rc;
    rc = inbound_insert_rows(st, &it, 1);
    *id = it.id;
    if (rc == RUAD_OK && it.identical) {
        /* fetched before (or reached us by another way): the UID points
         * at the kept row, committed before our insert returned */
        const char *q[1] = { (const char *)it.kept };
        int         ql[1] = { (int)sizeof(it.kept) }, qf[1] = { 1 };

        *identical = true;
        res = PQexecParams(st->conn, "SELECT id FROM inbound WHERE "
            "kept_sha256 = $1", 1, NULL, q, ql, qf, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
            store_set_err(st, "imap identical", res);
            rc = RUAD_TEMPFAIL;
        } else {
            *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        }
        PQclear(res);
    } else if (rc != RUAD_OK) {
        rc = RUAD_TEMPFAIL;
    }
    p[0] = u->source;
    p[1] = u->mailbox;
    p[2] = fmt_i64(uv, u->uidvalidity);
    p[3] = fmt_i64(uid, u->uid);
    p[4] = fmt_i64(ib, *id);
    p[5] = u->action;
    p[6] = u->acted ? "true" : "false";
    if (rc == RUAD_OK &&
        (rc = store_exec(st, "imap message", msg, 7, p, &res)) == RUAD_OK) {
        /* another instance stored this UID first: keep theirs */
        if (strcmp(PQcmdTuples(res), "0") == 0)
            rc = RUAD_DUPLICATE;
        PQclear(res);
    }
    if (rc == RUAD_OK)
        rc = store_exec(st, "imap last uid", last, 4, p, NULL);
    if (rc == RUAD_OK)
        rc = store_cmd(st, "COMMIT");
    if (rc != RUAD_OK)
        PQclear(PQexec(st->conn, "ROLLBACK"));
    return rc;
}

enum ruad_rc
store_imap_acted(struct store *st, const char *source, const char *mailbox,
    uint32_t uidvalidity, uint32_t uid)
{
    const char *p[4] = { source, mailbox, NULL, NULL };
    char        uv[24], ub[24];

    p[2] = fmt_i64(uv, uidvalidity);
    p[3] = fmt_i64(ub, uid);
    return store_exec(st, "imap acted", "UPDATE imap_message SET acted_at = "
        "now() WHERE source = $1 AND mailbox = $2 AND uidvalidity = $3 AND "
        "uid = $4", 4, p, NULL);
}
