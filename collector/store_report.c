/*
 * store_report.c - the storing sink: DMARC and TLS reports into
 * PostgreSQL inside the claim's transaction, with their daily rollups
 * (see store_pg.h and db/).
 *
 * Reports: records are batched (STORE_BATCH_BYTES of COPY text per
 * table) and sent with COPY, so a report of any size costs a few round
 * trips per batch and bounded memory.  Each report has a savepoint: a
 * duplicate (same reporter, report id, domain and range) or a report the
 * parser refused late is rolled back alone.
 *
 * Copies under one key (db/008_report_copies.sql): the key can be
 * guessed, so the first copy does not simply win.  A copy with an aligned
 * DKIM pass replaces a stored one without (report_supersede); otherwise
 * the SHA-256 of the content (the COPY text of the rows without their
 * report id, then the report's own fields) tells a duplicate from a
 * conflict.  Only a copy that meets a stored key pays for the look-up.
 *
 * SECURITY: every value reaches SQL as a parameter or as COPY text with
 * the COPY escapes applied; nothing is spliced into a statement.
 */
#include "store_pg.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <endian.h>

#include <libpq-fe.h>
#include <openssl/evp.h>

#include "buf.h"
#include "dkim.h"
#include "report_json.h"
#include "store_priv.h"

#define STORE_BATCH_BYTES (1u << 20)   /* COPY text buffered per table */
#define STORE_ROW_MAX     (1u << 30)   /* one COPY row can never be this */

/* The stored report a new copy met under its key. */
struct sink_other {
    int64_t id;
    int64_t inbound_id;
    bool    authentic;              /* stored signed by its reporter */
    char    sha[2 * 32 + 1];        /* content, hex; "": not known */
    char    reporter[320];          /* the address it names; "": none */
};

/* Per-report state of the storing sink. */
struct store_sink {
    struct store            *st;
    int64_t                  inbound_id;
    const struct dkim_summary *verdict;    /* DKIM; NULL: not mailed */
    bool                     signed_from;   /* verdict: aligned pass */
    bool                     authentic;     /* this report: signed_from
                                             * and by its reporter */
    struct store_sink_stats *stats;
    struct report_diag      *diag;          /* borrowed: notes */
    EVP_MD_CTX              *md;            /* the report's content */
    struct sink_other        other;         /* when duplicate */
    int64_t                  replaced;      /* inbound of the copy we
                                             * superseded, 0: none */
    char                     replaced_sha[2 * 32 + 1];
    int64_t                  report_id;     /* dmarc_report.id, 0: none */
    bool                     started;       /* savepoint taken */
    bool                     duplicate;     /* skip the records */
    bool                     provisional;   /* key fields still unknown */
    int                      rec_no;
    struct buf               recs, dkim, spf;
    enum ruad_rc             rc;            /* first error */
};

/* ---- small helpers ---- */

/* fmt_time - RFC 3339 of t, or NULL when absent */
static const char *
fmt_time(char dst[32], bool has, int64_t t)
{
    if (!has)
        return NULL;
    report_fmt_time(t, dst);
    return dst;
}

/* is_ip - can PostgreSQL's inet take this text? */
static bool
is_ip(const char *s)
{
    unsigned char bin[16];

    return s != NULL && (inet_pton(AF_INET, s, bin) == 1 ||
        inet_pton(AF_INET6, s, bin) == 1);
}

/* ---- the storing sink: DMARC ---- */

static const char copy_records[] = "COPY dmarc_record (report_id, rec_no, "
    "source_ip, source_ip_text, count, disposition, dkim, spf, reasons, "
    "header_from, envelope_from, envelope_to) FROM STDIN";
static const char copy_dkim[] = "COPY dmarc_dkim_result (report_id, rec_no, "
    "idx, domain, selector, result, human_result) FROM STDIN";
static const char copy_spf[] = "COPY dmarc_spf_result (report_id, rec_no, "
    "idx, domain, scope, result, human_result) FROM STDIN";

/* sink_flush - send the batched rows, records first (foreign keys) */
static enum ruad_rc
sink_flush(struct store_sink *k)
{
    enum ruad_rc rc;

    if ((rc = store_copy(k->st, copy_records, &k->recs)) == RUAD_OK &&
        (rc = store_copy(k->st, copy_dkim, &k->dkim)) == RUAD_OK)
        rc = store_copy(k->st, copy_spf, &k->spf);
    return rc;
}

/* ---- copies under one key ---- */

/* sink_digest_rows - hash b's COPY lines from offset from, each without
 * its first field (the report's id, which differs between copies) */
static void
sink_digest_rows(struct store_sink *k, const struct buf *b, size_t from)
{
    const char *p = buf_ptr(b) + from, *end = buf_ptr(b) + buf_len(b);
    const char *tab, *nl;

    while (p < end) {
        if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
            nl = end - 1;
        if ((tab = memchr(p, '\t', (size_t)(nl - p))) == NULL)
            tab = p - 1;
        EVP_DigestUpdate(k->md, tab + 1, (size_t)(nl - tab));
        p = nl + 1;
    }
}

/* sink_digest_fields - hash n parameters (NULL told from "") */
static void
sink_digest_fields(struct store_sink *k, const char *const *p, size_t n)
{
    unsigned char tag;
    uint64_t      len;
    size_t        i;

    for (i = 0; i < n; i++) {
        tag = p[i] != NULL;
        len = htobe64(p[i] != NULL ? strlen(p[i]) : 0);
        EVP_DigestUpdate(k->md, &tag, 1);
        EVP_DigestUpdate(k->md, &len, sizeof(len));
        if (p[i] != NULL)
            EVP_DigestUpdate(k->md, p[i], strlen(p[i]));
    }
}

/* sink_digest_end - the content's SHA-256 in hex */
static void
sink_digest_end(struct store_sink *k, char hex[2 * 32 + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int  n = 0, i;

    hex[0] = '\0';
    if (!EVP_DigestFinal_ex(k->md, md, &n) || n != 32)
        return;
    for (i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/*
 * addr_domain - the domain of a reporter's address: an e-mail address
 * (DMARC org_email; TLS contact-info, bare or mailto:) or an https URL
 * (TLS contact-info); NULL when there is none.
 */
static const char *
addr_domain(const char *addr, char *dst, size_t n)
{
    const char *host, *at;
    size_t      len;

    if (addr == NULL)
        return NULL;
    if (strncasecmp(addr, "https://", 8) == 0) {
        host = addr + 8;
        len = strcspn(host, "/:?#");
    } else if ((at = strrchr(addr, '@')) != NULL) {
        host = at + 1;
        len = strcspn(host, " \t>?;,");
    } else {
        return NULL;
    }
    if (len == 0 || len >= n)
        return NULL;
    memcpy(dst, host, len);
    dst[len] = '\0';
    return dst;
}

/*
 * signed_by_reporter - is d (a passing DKIM signature's domain) the
 * reporter's own: relaxed-aligned with the domain of the address the
 * report names?  A copy that replaces another must prove who sent it:
 * a signature of any domain aligned with the mail's From proves only
 * that the sender owns that domain, not that it wrote this reporter's
 * report.
 */
static bool
signed_by_reporter(const char *d, const char *addr)
{
    char dom[256];

    return d != NULL && *d != '\0' &&
        dkim_aligned(d, addr_domain(addr, dom, sizeof(dom)));
}

/* sink_authentic - this report's verdict: mailed with an aligned DKIM
 * pass whose domain is its reporter's (addr: the address it names) */
static void
sink_authentic(struct store_sink *k, const char *addr)
{
    k->authentic = k->signed_from &&
        signed_by_reporter(k->verdict->domain, addr);
}

/*
 * sink_other_find - the stored report under a key (DMARC: reporter,
 * report id, domain, begin, end; TLS: organization, report id).  Locked
 * when we are authentic (we may replace it).  RUAD_EOF: there is none.
 */
static enum ruad_rc
sink_other_find(struct store_sink *k, bool dmarc, const char *const *key)
{
    static const char dm[] = "SELECT id, inbound_id, dkim_aligned IS TRUE, "
        "coalesce(encode(content_sha256, 'hex'), ''), dkim_domain, "
        "org_email FROM dmarc_report WHERE reporter = $1 AND report_id = $2 "
        "AND lower(policy_domain) = lower($3) AND begin_at = $4 AND "
        "end_at = $5";
    static const char dm_lock[] = "SELECT id, inbound_id, dkim_aligned IS "
        "TRUE, coalesce(encode(content_sha256, 'hex'), ''), dkim_domain, "
        "org_email FROM dmarc_report WHERE reporter = $1 AND report_id = $2 "
        "AND lower(policy_domain) = lower($3) AND begin_at = $4 AND "
        "end_at = $5 FOR UPDATE";
    static const char tl[] = "SELECT id, inbound_id, dkim_aligned IS TRUE, "
        "coalesce(encode(content_sha256, 'hex'), ''), dkim_domain, "
        "contact_info FROM tlsrpt_report WHERE organization_name = $1 AND "
        "report_id = $2";
    static const char tl_lock[] = "SELECT id, inbound_id, dkim_aligned IS "
        "TRUE, coalesce(encode(content_sha256, 'hex'), ''), dkim_domain, "
        "contact_info FROM tlsrpt_report WHERE organization_name = $1 AND "
        "report_id = $2 FOR UPDATE";
    struct sink_other *o = &k->other;
    PGresult          *res;
    enum ruad_rc       rc;

    memset(o, 0, sizeof(*o));
    rc = store_exec(k->st, "report copy", dmarc ? (k->authentic ? dm_lock :
        dm) : (k->authentic ? tl_lock : tl), dmarc ? 5 : 2, key, &res);
    if (rc == RUAD_OK && PQntuples(res) == 0)
        rc = RUAD_EOF;
    if (rc == RUAD_OK) {
        o->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        o->inbound_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        /* authentic as ours is: aligned, and signed by its reporter */
        o->authentic = PQgetvalue(res, 0, 2)[0] == 't' &&
            signed_by_reporter(PQgetvalue(res, 0, 4), PQgetisnull(res, 0,
            5) ? NULL : PQgetvalue(res, 0, 5));
        snprintf(o->sha, sizeof(o->sha), "%s", PQgetvalue(res, 0, 3));
        snprintf(o->reporter, sizeof(o->reporter), "%s", PQgetisnull(res,
            0, 5) ? "" : PQgetvalue(res, 0, 5));
    }
    PQclear(res);
    return rc;
}

/*
 * sink_replaces - does this copy replace the stored one it met?  Only a
 * copy signed by its reporter replaces, only one that is not, and only
 * when our signature is also the reporter's the stored copy names (a TLS
 * report's key does not hold its contact-info: a copy signed for its own
 * address must not replace one that names another reporter's).
 */
static bool
sink_replaces(const struct store_sink *k)
{
    return k->authentic && !k->other.authentic &&
        signed_by_reporter(k->verdict->domain, k->other.reporter);
}

/* sink_supersede - the stored copy gives way to ours (report_supersede) */
static enum ruad_rc
sink_supersede(struct store_sink *k, const char *kind)
{
    const char  *p[3];
    char         old[24], ib[24];
    PGresult    *res;
    enum ruad_rc rc;

    p[0] = kind;
    p[1] = fmt_i64(old, k->other.id);
    p[2] = fmt_i64(ib, k->inbound_id);
    rc = store_exec(k->st, "supersede", "SELECT report_supersede($1, $2, "
        "$3)", 3, p, &res);
    if (rc == RUAD_OK && !PQgetisnull(res, 0, 0)) {
        k->replaced = k->other.inbound_id;
        snprintf(k->replaced_sha, sizeof(k->replaced_sha), "%s",
            k->other.sha);
        k->stats->superseded++;
    }
    PQclear(res);
    return rc;
}

/*
 * sink_insert - run a report's INSERT ... ON CONFLICT DO NOTHING
 * RETURNING id (n parameters p): *id is the new row.  When the report's
 * key (key: as sink_other_find takes it; NULL: do not look) is a stored
 * report's, replace that one if we may and insert again, else *dup.
 */
static enum ruad_rc
sink_insert(struct store_sink *k, bool dmarc, const char *sql, int n,
    const char *const *p, const char *const *key, int64_t *id, bool *dup)
{
    PGresult    *res;
    enum ruad_rc rc;
    int          tries;

    *id = 0;
    *dup = false;
    for (tries = 0; ; tries++) {
        rc = store_exec(k->st, dmarc ? "dmarc_report" : "tlsrpt_report",
            sql, n, p, &res);
        if (rc == RUAD_OK && PQntuples(res) > 0)
            *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        if (rc != RUAD_OK || *id != 0)
            return rc;
        if (key == NULL) {
            *dup = true;
            return RUAD_OK;
        }
        /* the key is a stored report's: replace it, or be its copy */
        rc = sink_other_find(k, dmarc, key);
        if (rc == RUAD_OK && !sink_replaces(k)) {
            *dup = true;
            return RUAD_OK;
        }
        if (rc == RUAD_OK)
            rc = sink_supersede(k, dmarc ? "dmarc" : "tlsrpt");
        if (rc != RUAD_OK && rc != RUAD_EOF)    /* EOF: gone meanwhile */
            return rc;
        if (tries == 3) {
            snprintf(k->st->err, sizeof(k->st->err), "%s: the stored copy "
                "under its key keeps changing", dmarc ? "dmarc_report" :
                "tlsrpt_report");
            return RUAD_TEMPFAIL;
        }
    }
}

/*
 * sink_copy_note - after the report is stored (sha: its content) or met a
 * stored copy it does not replace: note a replacement, or tell a
 * duplicate from a conflict.  Answers whether it is a conflict.
 */
static bool
sink_copy_note(struct store_sink *k, const char *what, const char *sha)
{
    if (k->replaced != 0) {
        report_diag_warn(k->diag, "%s: replaced the copy not signed by its "
            "reporter stored from inbound %lld%s", what,
            (long long)k->replaced, k->replaced_sha[0] && strcmp(
            k->replaced_sha, sha) != 0 ? ", whose content differed" : "");
        k->replaced = 0;
        return false;
    }
    if (k->other.sha[0] == '\0' || strcmp(k->other.sha, sha) == 0)
        return false;
    report_diag_warn(k->diag, "%s: other content than the copy stored from "
        "inbound %lld (%s by its reporter); not counted", what,
        (long long)k->other.inbound_id, k->other.authentic ? "signed" :
        "not signed");
    k->stats->conflicts++;
    return true;
}

/* has_key - does the report carry every field of its unique key? */
static bool
has_key(const struct dmarc_report *r)
{
    return r->org_name != NULL && r->report_id != NULL && r->has_begin &&
        r->has_end && r->policy.domain != NULL;
}

/* reporter - the reporter part of the key: lower(email or org name) */
static char *
reporter(const struct dmarc_report *r)
{
    const char *s = r->org_email ? r->org_email : r->org_name;
    char       *d = strdup(s ? s : "");
    size_t      i;

    for (i = 0; d != NULL && d[i] != '\0'; i++)
        if (d[i] >= 'A' && d[i] <= 'Z')
            d[i] = (char)(d[i] - 'A' + 'a');
    return d;
}

/*
 * sink_report_params - the 22 parameters of a dmarc_report row.  The
 * strings live in bufs the caller frees (errs, rep) or in tb (times).
 */
static void
sink_report_params(const struct dmarc_report *r, const char **p,
    char tb[2][32], char *rep, struct buf *errs, char *pct)
{
    p[0] = rep;
    p[1] = r->org_name ? r->org_name : "";
    p[2] = r->org_email;
    p[3] = r->extra_contact_info;
    p[4] = r->report_id;
    p[5] = fmt_time(tb[0], r->has_begin, r->begin);
    p[6] = fmt_time(tb[1], r->has_end, r->end);
    p[7] = buf_ptr(errs);
    p[8] = r->version;
    p[9] = r->generator;
    p[10] = r->xmlns;
    p[11] = r->policy.domain;
    p[12] = r->policy.adkim;
    p[13] = r->policy.aspf;
    p[14] = r->policy.p;
    p[15] = r->policy.sp;
    p[16] = r->policy.np;
    p[17] = r->policy.has_pct ? fmt_i64(pct, r->policy.pct) : NULL;
    p[18] = r->policy.fo;
    p[19] = r->policy.testing;
    p[20] = r->policy.discovery_method;
}

/*
 * sink_dmarc_start - the report's savepoint and row.  With the key known,
 * a stored copy is found here: we replace it, or ours is a duplicate
 * whose records are only hashed (to tell a conflict); without the key
 * (the records came before the metadata) a provisional row is made and
 * the key is checked when the report is done.
 */
static enum ruad_rc
sink_dmarc_start(struct store_sink *k, const struct dmarc_report *r)
{
    static const char ins[] = "INSERT INTO dmarc_report (inbound_id, "
        "reporter, org_name, org_email, extra_contact_info, report_id, "
        "begin_at, end_at, errors, version, generator, xmlns, policy_domain, "
        "policy_adkim, policy_aspf, policy_p, policy_sp, policy_np, "
        "policy_pct, policy_fo, policy_testing, policy_discovery, "
        "dkim_result, dkim_domain, dkim_aligned) VALUES "
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
        "$16, $17, $18, $19, $20, $21, $22, $23, $24, $25) "
        "ON CONFLICT DO NOTHING RETURNING id";
    const char  *p[25], *key[5];
    char         tb[2][32], idbuf[24], pct[24], prov[64];
    char        *rep = NULL;
    struct buf   errs;
    enum ruad_rc rc;

    k->started = true;
    k->duplicate = k->provisional = false;
    k->report_id = 0;
    k->rec_no = 0;
    k->replaced = 0;
    memset(&k->other, 0, sizeof(k->other));
    if (!EVP_DigestInit_ex(k->md, EVP_sha256(), NULL))
        return RUAD_NOMEM;
    if ((rc = store_cmd(k->st, "SAVEPOINT report")) != RUAD_OK)
        return rc;
    buf_init(&errs, 1u << 20);
    if ((rc = pg_array(&errs, r->errors, r->n_errors)) != RUAD_OK ||
        (rep = reporter(r)) == NULL) {
        buf_free(&errs);
        return rc != RUAD_OK ? rc : RUAD_NOMEM;
    }
    p[0] = fmt_i64(idbuf, k->inbound_id);
    sink_report_params(r, p + 1, tb, rep, &errs, pct);
    sink_authentic(k, r->org_email);
    if (!has_key(r)) {
        /* unique placeholders until dmarc_done knows the key */
        k->provisional = true;
        snprintf(prov, sizeof(prov), "\x01provisional %lld",
            (long long)k->inbound_id);
        p[5] = prov;
        p[6] = p[7] = "1970-01-01T00:00:00Z";
        p[12] = prov;
    }
    p[22] = k->verdict ? k->verdict->result : NULL;
    p[23] = k->verdict && k->verdict->domain[0] ? k->verdict->domain : NULL;
    p[24] = k->verdict && k->verdict->domain[0] ? (k->verdict->aligned ? "t" : "f") :
        NULL;
    key[0] = p[1];                      /* as dmarc_report_key */
    key[1] = p[5];
    key[2] = p[12];
    key[3] = p[6];
    key[4] = p[7];
    rc = sink_insert(k, true, ins, 25, p, k->provisional ? NULL : key,
        &k->report_id, &k->duplicate);
    free(rep);
    buf_free(&errs);
    return rc;
}

static enum ruad_rc
sink_dmarc_record(void *ctx, const struct dmarc_report *rep,
    const struct dmarc_record *r)
{
    struct store_sink *k = ctx;
    struct buf        *b = &k->recs;
    struct buf         reasons;
    enum ruad_rc       rc = RUAD_OK;
    char               rid[24];
    size_t             i, r0, d0, s0;
    bool               ip;

    if (k->rc != RUAD_OK)
        return k->rc;
    if (!k->started && (rc = sink_dmarc_start(k, rep)) != RUAD_OK)
        return k->rc = rc;
    if (k->duplicate && k->other.sha[0] == '\0')
        return RUAD_OK;                 /* nothing to compare with */
    /* a duplicate's rows are made only to be hashed (report id 0) */
    fmt_i64(rid, k->report_id);
    r0 = buf_len(&k->recs);
    d0 = buf_len(&k->dkim);
    s0 = buf_len(&k->spf);
    ip = is_ip(r->source_ip);
    buf_init(&reasons, 1u << 20);
    rc = buf_append_byte(&reasons, '[');
    for (i = 0; rc == RUAD_OK && i < r->n_reasons; i++) {
        rc = buf_append_str(&reasons, i ? ",{\"type\":" : "{\"type\":");
        if (rc == RUAD_OK)
            rc = report_json_string(&reasons, r->reasons[i].type);
        if (rc == RUAD_OK)
            rc = buf_append_str(&reasons, ",\"comment\":");
        if (rc == RUAD_OK)
            rc = report_json_string(&reasons, r->reasons[i].comment);
        if (rc == RUAD_OK)
            rc = buf_append_byte(&reasons, '}');
    }
    if (rc == RUAD_OK)
        rc = buf_append_byte(&reasons, ']');
    if (rc == RUAD_OK &&
        (rc = copy_field(b, rid, '\t')) == RUAD_OK &&
        (rc = copy_i64(b, true, k->rec_no, '\t')) == RUAD_OK &&
        (rc = copy_field(b, ip ? r->source_ip : NULL, '\t')) == RUAD_OK &&
        (rc = copy_field(b, ip ? NULL : r->source_ip, '\t')) == RUAD_OK &&
        (rc = copy_i64(b, r->has_count, (int64_t)r->count, '\t')) ==
        RUAD_OK &&
        (rc = copy_field(b, r->disposition, '\t')) == RUAD_OK &&
        (rc = copy_field(b, r->dkim, '\t')) == RUAD_OK &&
        (rc = copy_field(b, r->spf, '\t')) == RUAD_OK &&
        (rc = copy_field(b, buf_ptr(&reasons), '\t')) == RUAD_OK &&
        (rc = copy_field(b, r->header_from, '\t')) == RUAD_OK &&
        (rc = copy_field(b, r->envelope_from, '\t')) == RUAD_OK)
        rc = copy_field(b, r->envelope_to, '\n');
    buf_free(&reasons);
    for (i = 0; rc == RUAD_OK && i < r->n_dkim_auth; i++) {
        const struct dmarc_dkim_auth *a = &r->dkim_auth[i];

        if ((rc = copy_field(&k->dkim, rid, '\t')) == RUAD_OK &&
            (rc = copy_i64(&k->dkim, true, k->rec_no, '\t')) == RUAD_OK &&
            (rc = copy_i64(&k->dkim, true, (int64_t)i, '\t')) == RUAD_OK &&
            (rc = copy_field(&k->dkim, a->domain, '\t')) == RUAD_OK &&
            (rc = copy_field(&k->dkim, a->selector, '\t')) == RUAD_OK &&
            (rc = copy_field(&k->dkim, a->result, '\t')) == RUAD_OK)
            rc = copy_field(&k->dkim, a->human_result, '\n');
    }
    for (i = 0; rc == RUAD_OK && i < r->n_spf_auth; i++) {
        const struct dmarc_spf_auth *a = &r->spf_auth[i];

        if ((rc = copy_field(&k->spf, rid, '\t')) == RUAD_OK &&
            (rc = copy_i64(&k->spf, true, k->rec_no, '\t')) == RUAD_OK &&
            (rc = copy_i64(&k->spf, true, (int64_t)i, '\t')) == RUAD_OK &&
            (rc = copy_field(&k->spf, a->domain, '\t')) == RUAD_OK &&
            (rc = copy_field(&k->spf, a->scope, '\t')) == RUAD_OK &&
            (rc = copy_field(&k->spf, a->result, '\t')) == RUAD_OK)
            rc = copy_field(&k->spf, a->human_result, '\n');
    }
    k->rec_no++;
    if (rc == RUAD_OK) {
        sink_digest_rows(k, &k->recs, r0);
        sink_digest_rows(k, &k->dkim, d0);
        sink_digest_rows(k, &k->spf, s0);
    }
    if (k->duplicate) {
        buf_reset(&k->recs);
        buf_reset(&k->dkim);
        buf_reset(&k->spf);
        return k->rc = rc;
    }
    if (rc == RUAD_OK && (buf_len(&k->recs) >= STORE_BATCH_BYTES ||
        buf_len(&k->dkim) >= STORE_BATCH_BYTES ||
        buf_len(&k->spf) >= STORE_BATCH_BYTES))
        rc = sink_flush(k);
    return k->rc = rc;
}

/* sink_dmarc_rollup - add the report to dmarc_daily */
static enum ruad_rc
sink_dmarc_rollup(struct store_sink *k)
{
    static const char sql[] = "INSERT INTO dmarc_daily AS d (policy_domain, "
        "day, source_ip, header_from, disposition, dkim, spf, messages, "
        "reports) SELECT lower(r.policy_domain), (r.begin_at + (r.end_at - "
        "r.begin_at) / 2)::date, x.source_ip, coalesce(lower(x.header_from), "
        "''), coalesce(x.disposition, ''), coalesce(x.dkim, ''), "
        "coalesce(x.spf, ''), api_sum8(coalesce(x.count, 0)), 1 "
        "FROM dmarc_record x JOIN dmarc_report r ON r.id = x.report_id "
        "WHERE x.report_id = $1 GROUP BY 1, 2, 3, 4, 5, 6, 7 "
        "ORDER BY 1, 2, 3, 4, 5, 6, 7 "
        "ON CONFLICT (policy_domain, day, source_ip, header_from, "
        "disposition, dkim, spf) DO UPDATE SET messages = d.messages + "
        "excluded.messages, reports = d.reports + 1";
    const char *p[1];
    char        rid[24];

    p[0] = fmt_i64(rid, k->report_id);
    return store_exec(k->st, "dmarc_daily", sql, 1, p, NULL);
}

/* sink_key - note "TYPE ORG REPORT_ID DOMAIN" for the verdict line;
 * tag: NULL (stored), or the verdict's text: duplicate or conflict */
static void
sink_key(struct store_sink *k, const char *type, const char *org,
    const char *rid, const char *domain, const char *tag)
{
    size_t n = strlen(k->stats->keys);

    if (n + 8 >= sizeof(k->stats->keys))
        return;
    snprintf(k->stats->keys + n, sizeof(k->stats->keys) - n,
        "%s%s %s %s %s%s%s%s", n ? ", " : "", type, org ? org : "-",
        rid ? rid : "-", domain ? domain : "-", tag ? " (" : "",
        tag ? tag : "", tag ? ")" : "");
}

static enum ruad_rc
sink_dmarc_done(void *ctx, const struct dmarc_report *r)
{
    static const char upd[] = "UPDATE dmarc_report SET record_count = $2, "
        "message_count = $3, content_sha256 = decode($4, 'hex') "
        "WHERE id = $1";
    static const char fix[] = "UPDATE dmarc_report SET reporter = $2, "
        "org_name = $3, org_email = $4, extra_contact_info = $5, "
        "report_id = $6, begin_at = $7, end_at = $8, errors = $9, "
        "version = $10, generator = $11, xmlns = $12, policy_domain = $13, "
        "policy_adkim = $14, policy_aspf = $15, policy_p = $16, "
        "policy_sp = $17, policy_np = $18, policy_pct = $19, "
        "policy_fo = $20, policy_testing = $21, policy_discovery = $22 "
        "WHERE id = $1";
    struct store_sink *k = ctx;
    const char        *p[22], *key[5];
    char               rid[24], nrec[24], nmsg[24], tb[2][32], pct[24];
    char               sha[2 * 32 + 1], what[320];
    char              *rep;
    struct buf         errs;
    PGresult          *res = NULL;
    enum ruad_rc       rc;
    bool               conflict;

    if (k->rc != RUAD_OK)
        return k->rc;
    if (!k->started && (rc = sink_dmarc_start(k, r)) != RUAD_OK)
        return k->rc = rc;
    k->started = false;
    /* the report's own fields end the content's hash */
    buf_init(&errs, 1u << 20);
    if ((rc = pg_array(&errs, r->errors, r->n_errors)) != RUAD_OK ||
        (rep = reporter(r)) == NULL) {
        buf_free(&errs);
        return k->rc = rc != RUAD_OK ? rc : RUAD_NOMEM;
    }
    p[0] = fmt_i64(rid, k->report_id);
    sink_report_params(r, p + 1, tb, rep, &errs, pct);
    sink_digest_fields(k, p + 1, 21);
    sink_digest_end(k, sha);
    snprintf(what, sizeof(what), "dmarc %.100s %.100s %.100s",
        r->org_name ? r->org_name : "-", r->report_id ? r->report_id : "-",
        r->policy.domain ? r->policy.domain : "-");
    if (k->provisional && !k->duplicate) {
        /* the key is known now: a stored copy? */
        key[0] = p[1];
        key[1] = p[5];
        key[2] = p[12];
        key[3] = p[6];
        key[4] = p[7];
        sink_authentic(k, r->org_email);
        rc = sink_other_find(k, true, key);
        if (rc == RUAD_OK && sink_replaces(k))
            rc = sink_supersede(k, "dmarc");
        else if (rc == RUAD_OK)
            k->duplicate = true;
        else if (rc == RUAD_EOF)
            rc = RUAD_OK;
        if (rc == RUAD_OK && !k->duplicate) {
            rc = store_exec(k->st, "dmarc_report key", fix, 22, p, &res);
            if (rc != RUAD_OK && is_sqlstate(res, "23505")) {
                /* a copy stored since we looked: a duplicate (and the
                 * copy we superseded, if any, is back with the rollback
                 * to the savepoint) */
                if (k->replaced != 0) {
                    k->replaced = 0;
                    k->stats->superseded--;
                }
                memset(&k->other, 0, sizeof(k->other));
                k->duplicate = true;
                rc = RUAD_OK;
            }
            PQclear(res);
        }
    }
    free(rep);
    buf_free(&errs);
    if (rc != RUAD_OK)
        return k->rc = rc;
    if (k->duplicate) {
        conflict = sink_copy_note(k, what, sha);
        rc = store_cmd(k->st, "ROLLBACK TO SAVEPOINT report");
        if (!conflict)
            k->stats->duplicates++;
        sink_key(k, "dmarc", r->org_name, r->report_id, r->policy.domain,
            inbound_state_name(conflict ? INBOUND_CONFLICT :
            INBOUND_DUPLICATE));
        return k->rc = rc;
    }
    if ((rc = sink_flush(k)) != RUAD_OK)
        return k->rc = rc;
    p[1] = fmt_i64(nrec, (int64_t)r->n_records);
    p[2] = fmt_i64(nmsg, (int64_t)r->n_messages);
    p[3] = sha[0] ? sha : NULL;
    if ((rc = store_exec(k->st, "dmarc_report counts", upd, 4, p, NULL)) !=
        RUAD_OK || (rc = sink_dmarc_rollup(k)) != RUAD_OK ||
        (rc = store_cmd(k->st, "RELEASE SAVEPOINT report")) != RUAD_OK)
        return k->rc = rc;
    sink_copy_note(k, what, sha);
    k->stats->stored++;
    k->stats->stored_dmarc++;
    sink_key(k, "dmarc", r->org_name, r->report_id, r->policy.domain, NULL);
    return RUAD_OK;
}

static void
sink_dmarc_abort(void *ctx)
{
    struct store_sink *k = ctx;

    buf_reset(&k->recs);
    buf_reset(&k->dkim);
    buf_reset(&k->spf);
    if (k->started && k->rc == RUAD_OK)
        k->rc = store_cmd(k->st, "ROLLBACK TO SAVEPOINT report");
    k->started = false;
}

/* ---- the storing sink: TLS reports ---- */

/* sink_tlsrpt_rows - the report's policy and failure rows (report id
 * rid) as COPY text in k->recs and k->dkim; sent and cleared when send */
static enum ruad_rc
sink_tlsrpt_rows(struct store_sink *k, const struct tlsrpt_report *r,
    const char *rid, bool send)
{
    static const char copy_pol[] = "COPY tlsrpt_policy (report_id, pol_no, "
        "policy_type, policy_string, policy_domain, mx_host, "
        "total_successful, total_failure) FROM STDIN";
    static const char copy_fail[] = "COPY tlsrpt_failure (report_id, "
        "pol_no, det_no, result_type, sending_mta_ip, receiving_mx_hostname, "
        "receiving_mx_helo, receiving_ip, failed_session_count, "
        "additional_information, failure_reason_code) FROM STDIN";
    struct buf   arr;
    enum ruad_rc rc = RUAD_OK;
    size_t       i, j;

    buf_init(&arr, STORE_ROW_MAX);
    for (i = 0; rc == RUAD_OK && i < r->n_policies; i++) {
        const struct tlsrpt_policy *p = &r->policies[i];

        if ((rc = copy_field(&k->recs, rid, '\t')) == RUAD_OK &&
            (rc = copy_i64(&k->recs, true, (int64_t)i, '\t')) == RUAD_OK &&
            (rc = copy_field(&k->recs, p->policy_type ? p->policy_type :
            "", '\t')) == RUAD_OK) {
            buf_reset(&arr);
            if ((rc = pg_array(&arr, p->policy_string, p->n_policy_string))
                == RUAD_OK)
                rc = copy_field(&k->recs, buf_ptr(&arr), '\t');
        }
        if (rc == RUAD_OK &&
            (rc = copy_field(&k->recs, p->policy_domain, '\t')) == RUAD_OK) {
            buf_reset(&arr);
            if ((rc = pg_array(&arr, p->mx_host, p->n_mx_host)) == RUAD_OK)
                rc = copy_field(&k->recs, buf_ptr(&arr), '\t');
        }
        if (rc == RUAD_OK &&
            (rc = copy_i64(&k->recs, p->has_total_successful, (int64_t)
            p->total_successful_session_count, '\t')) == RUAD_OK)
            rc = copy_i64(&k->recs, p->has_total_failure,
                (int64_t)p->total_failure_session_count, '\n');
        for (j = 0; rc == RUAD_OK && j < p->n_failures; j++) {
            const struct tlsrpt_failure *f = &p->failures[j];
            struct buf                  *b = &k->dkim;

            if ((rc = copy_field(b, rid, '\t')) == RUAD_OK &&
                (rc = copy_i64(b, true, (int64_t)i, '\t')) == RUAD_OK &&
                (rc = copy_i64(b, true, (int64_t)j, '\t')) == RUAD_OK &&
                (rc = copy_field(b, f->result_type ? f->result_type : "",
                '\t')) == RUAD_OK &&
                (rc = copy_field(b, is_ip(f->sending_mta_ip) ?
                f->sending_mta_ip : NULL, '\t')) == RUAD_OK &&
                (rc = copy_field(b, f->receiving_mx_hostname, '\t')) ==
                RUAD_OK &&
                (rc = copy_field(b, f->receiving_mx_helo, '\t')) == RUAD_OK &&
                (rc = copy_field(b, is_ip(f->receiving_ip) ?
                f->receiving_ip : NULL, '\t')) == RUAD_OK &&
                (rc = copy_i64(b, f->has_failed_session_count,
                (int64_t)f->failed_session_count, '\t')) == RUAD_OK &&
                (rc = copy_field(b, f->additional_information, '\t')) ==
                RUAD_OK)
                rc = copy_field(b, f->failure_reason_code, '\n');
        }
    }
    buf_free(&arr);
    if (!send)
        return rc;
    if (rc == RUAD_OK)
        rc = store_copy(k->st, copy_pol, &k->recs);
    if (rc == RUAD_OK)
        rc = store_copy(k->st, copy_fail, &k->dkim);
    buf_reset(&k->recs);
    buf_reset(&k->dkim);
    return rc;
}

/* sink_tlsrpt_rollup - sessions per domain, day, policy type and result */
static enum ruad_rc
sink_tlsrpt_rollup(struct store_sink *k, const char *rid)
{
    static const char sql[] = "INSERT INTO tlsrpt_daily AS d (policy_domain, "
        "day, policy_type, result_type, sessions) "
        "SELECT dom, day, policy_type, result_type, sum(n) FROM ("
        " SELECT lower(coalesce(p.policy_domain, '')) AS dom,"
        "  (r.begin_at + (r.end_at - r.begin_at) / 2)::date AS day,"
        "  p.policy_type, 'success' AS result_type,"
        "  coalesce(p.total_successful, 0) AS n"
        " FROM tlsrpt_policy p JOIN tlsrpt_report r ON r.id = p.report_id"
        " WHERE p.report_id = $1"
        " UNION ALL"
        " SELECT lower(coalesce(p.policy_domain, '')),"
        "  (r.begin_at + (r.end_at - r.begin_at) / 2)::date,"
        "  p.policy_type, f.result_type, coalesce(f.failed_session_count, 0)"
        " FROM tlsrpt_failure f JOIN tlsrpt_policy p ON p.report_id ="
        "  f.report_id AND p.pol_no = f.pol_no"
        " JOIN tlsrpt_report r ON r.id = p.report_id"
        " WHERE f.report_id = $1"
        " UNION ALL"      /* failures the details do not account for */
        " SELECT lower(coalesce(p.policy_domain, '')),"
        "  (r.begin_at + (r.end_at - r.begin_at) / 2)::date,"
        "  p.policy_type, 'unspecified',"
        "  p.total_failure - coalesce((SELECT sum(f.failed_session_count)"
        "   FROM tlsrpt_failure f WHERE f.report_id = p.report_id AND"
        "   f.pol_no = p.pol_no), 0)"
        " FROM tlsrpt_policy p JOIN tlsrpt_report r ON r.id = p.report_id"
        " WHERE p.report_id = $1) s WHERE n > 0"
        " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4 "
        "ON CONFLICT (policy_domain, day, policy_type, result_type) DO "
        "UPDATE SET sessions = d.sessions + excluded.sessions";
    const char *p[1] = { rid };

    return store_exec(k->st, "tlsrpt_daily", sql, 1, p, NULL);
}

static enum ruad_rc
sink_tlsrpt_done(void *ctx, const struct tlsrpt_report *r)
{
    static const char ins[] = "INSERT INTO tlsrpt_report (inbound_id, "
        "organization_name, contact_info, report_id, begin_at, end_at, "
        "dkim_result, dkim_domain, dkim_aligned, content_sha256) VALUES "
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, decode($10, 'hex')) "
        "ON CONFLICT DO NOTHING RETURNING id";
    struct store_sink *k = ctx;
    const char        *p[10], *key[2];
    const char        *dom = r->n_policies ? r->policies[0].policy_domain :
        NULL;
    char               ib[24], tb[2][32], rid[24], sha[2 * 32 + 1];
    char               what[320];
    enum ruad_rc       rc;
    int64_t            id;
    bool               dup, conflict;

    if (k->rc != RUAD_OK)
        return k->rc;
    p[0] = fmt_i64(ib, k->inbound_id);
    p[1] = r->organization_name;
    p[2] = r->contact_info;
    p[3] = r->report_id;
    p[4] = fmt_time(tb[0], r->has_begin, r->begin);
    p[5] = fmt_time(tb[1], r->has_end, r->end);
    p[6] = k->verdict ? k->verdict->result : NULL;
    p[7] = k->verdict && k->verdict->domain[0] ? k->verdict->domain : NULL;
    p[8] = k->verdict && k->verdict->domain[0] ? (k->verdict->aligned ? "t" : "f") :
        NULL;
    /* the content's hash: its rows (report id 0), then its own fields */
    if (!EVP_DigestInit_ex(k->md, EVP_sha256(), NULL))
        return k->rc = RUAD_NOMEM;
    if ((rc = sink_tlsrpt_rows(k, r, "0", false)) == RUAD_OK) {
        sink_digest_rows(k, &k->recs, 0);
        sink_digest_rows(k, &k->dkim, 0);
    }
    buf_reset(&k->recs);
    buf_reset(&k->dkim);
    if (rc != RUAD_OK)
        return k->rc = rc;
    sink_digest_fields(k, p + 1, 5);
    sink_digest_end(k, sha);
    p[9] = sha[0] ? sha : NULL;
    snprintf(what, sizeof(what), "tlsrpt %.100s %.100s %.100s",
        r->organization_name ? r->organization_name : "-",
        r->report_id ? r->report_id : "-", dom ? dom : "-");
    k->replaced = 0;
    memset(&k->other, 0, sizeof(k->other));
    sink_authentic(k, r->contact_info);
    key[0] = p[1];                      /* as tlsrpt_report_key */
    key[1] = p[3];
    if ((rc = store_cmd(k->st, "SAVEPOINT report")) != RUAD_OK ||
        (rc = sink_insert(k, false, ins, 10, p, key, &id, &dup)) != RUAD_OK)
        return k->rc = rc;
    if (dup) {
        conflict = sink_copy_note(k, what, sha);
        if (!conflict)
            k->stats->duplicates++;
        sink_key(k, "tlsrpt", r->organization_name, r->report_id, dom,
            inbound_state_name(conflict ? INBOUND_CONFLICT :
            INBOUND_DUPLICATE));
        return k->rc = store_cmd(k->st, "RELEASE SAVEPOINT report");
    }
    fmt_i64(rid, id);
    if ((rc = sink_tlsrpt_rows(k, r, rid, true)) != RUAD_OK ||
        (rc = sink_tlsrpt_rollup(k, rid)) != RUAD_OK ||
        (rc = store_cmd(k->st, "RELEASE SAVEPOINT report")) != RUAD_OK)
        return k->rc = rc;
    sink_copy_note(k, what, sha);
    k->stats->stored++;
    k->stats->stored_tlsrpt++;
    sink_key(k, "tlsrpt", r->organization_name, r->report_id, dom, NULL);
    return RUAD_OK;
}

struct store_sink *
store_sink_new(struct store *st, int64_t inbound_id,
    const struct dkim_summary *dkim, struct store_sink_stats *stats,
    struct report_diag *diag, struct report_sink *out)
{
    struct store_sink *k = calloc(1, sizeof(*k));

    if (k == NULL)
        return NULL;
    if ((k->md = EVP_MD_CTX_new()) == NULL) {
        free(k);
        return NULL;
    }
    k->diag = diag;
    k->signed_from = dkim != NULL && dkim->domain[0] != '\0' &&
        dkim->aligned;
    k->st = st;
    k->inbound_id = inbound_id;
    k->verdict = dkim;
    k->stats = stats;
    memset(stats, 0, sizeof(*stats));
    buf_init(&k->recs, STORE_ROW_MAX);
    buf_init(&k->dkim, STORE_ROW_MAX);
    buf_init(&k->spf, STORE_ROW_MAX);
    out->ctx = k;
    out->dmarc_record = sink_dmarc_record;
    out->dmarc_done = sink_dmarc_done;
    out->dmarc_abort = sink_dmarc_abort;
    out->tlsrpt_done = sink_tlsrpt_done;
    return k;
}

enum ruad_rc
store_sink_rc(const struct store_sink *k)
{
    return k->rc;
}

void
store_sink_free(struct store_sink *k)
{
    if (k == NULL)
        return;
    buf_free(&k->recs);
    buf_free(&k->dkim);
    buf_free(&k->spf);
    EVP_MD_CTX_free(k->md);
    free(k);
}
