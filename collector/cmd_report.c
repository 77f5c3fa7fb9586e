/*
 * cmd_report.c - the verbs that run the pipeline over reports:
 *
 *   ruad parse FILE...     print each file's reports as JSON, one line each
 *   ruad import FILE|DIR.. store files as received, process, print verdicts
 *   ruad reprocess         run rows again (after a fix)
 *   ruad dkim-verify FILE  check the DKIM signatures of mails
 *
 * `ruad parse` needs no database: it is the debugging tool and the test
 * oracle.  Output is streamed through temporary files, so memory does not
 * grow with the size of a report.
 */
#include "cmd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "dkim.h"
#include "receipt.h"
#include "report.h"
#include "report_json.h"

#define LINE_MAX_JSON (64u << 20)   /* one record or TLS report as JSON */

/* Streams of one `ruad parse` input (see the file comment). */
struct parse_out {
    FILE                    *recs;     /* records of the DMARC report
                                          being read */
    FILE                    *reports;  /* finished reports of this file */
    unsigned                 n_recs;
    unsigned                 n_reports;
    struct buf               line;
    bool                     io_error;
    bool                     checked;  /* dkim holds this mail's check */
    struct worker_dkim_check dkim;
};

/* copy_stream - append all of src (rewound) to dst */
static bool
copy_stream(FILE *src, FILE *dst)
{
    char   chunk[65536];
    size_t n;

    if (fflush(src) != 0 || fseek(src, 0, SEEK_SET) != 0)
        return false;
    while ((n = fread(chunk, 1, sizeof(chunk), src)) > 0)
        if (fwrite(chunk, 1, n, dst) != n)
            return false;
    return !ferror(src);
}

/* truncate_stream - empty a temporary stream for reuse */
static bool
truncate_stream(FILE *f)
{
    return fflush(f) == 0 && fseek(f, 0, SEEK_SET) == 0 &&
        ftruncate(fileno(f), 0) == 0;
}

static enum ruad_rc
out_dmarc_record(void *ctx, const struct dmarc_report *rep,
    const struct dmarc_record *rec)
{
    struct parse_out *o = ctx;
    enum ruad_rc      rc;

    (void)rep;
    buf_reset(&o->line);
    if (o->n_recs > 0 && (rc = buf_append_byte(&o->line, ',')) != RUAD_OK)
        return rc;
    if ((rc = report_json_dmarc_record(&o->line, rec)) != RUAD_OK)
        return rc;
    if (fwrite(buf_ptr(&o->line), 1, buf_len(&o->line), o->recs) !=
        buf_len(&o->line))
        return RUAD_IO;
    o->n_recs++;
    return RUAD_OK;
}

static enum ruad_rc
out_dmarc_done(void *ctx, const struct dmarc_report *rep)
{
    struct parse_out *o = ctx;
    enum ruad_rc      rc;

    buf_reset(&o->line);
    if (o->n_reports > 0 && (rc = buf_append_byte(&o->line, ',')) != RUAD_OK)
        return rc;
    if ((rc = report_json_dmarc_open(&o->line, rep)) != RUAD_OK)
        return rc;
    if (fwrite(buf_ptr(&o->line), 1, buf_len(&o->line), o->reports) !=
        buf_len(&o->line) || !copy_stream(o->recs, o->reports) ||
        fputs("]}", o->reports) == EOF || !truncate_stream(o->recs))
        return RUAD_IO;
    o->n_recs = 0;
    o->n_reports++;
    return RUAD_OK;
}

static void
out_dmarc_abort(void *ctx)
{
    struct parse_out *o = ctx;

    if (!truncate_stream(o->recs))
        o->io_error = true;
    o->n_recs = 0;
}

static enum ruad_rc
out_tlsrpt_done(void *ctx, const struct tlsrpt_report *rep)
{
    struct parse_out *o = ctx;
    enum ruad_rc      rc;

    buf_reset(&o->line);
    if (o->n_reports > 0 && (rc = buf_append_byte(&o->line, ',')) != RUAD_OK)
        return rc;
    if ((rc = report_json_tlsrpt(&o->line, rep)) != RUAD_OK)
        return rc;
    if (fwrite(buf_ptr(&o->line), 1, buf_len(&o->line), o->reports) !=
        buf_len(&o->line))
        return RUAD_IO;
    o->n_reports++;
    return RUAD_OK;
}

/* dkim_json - a DKIM verdict as a JSON object into b */
static void
dkim_json(struct buf *b, const struct dkim_verdict *v,
    const struct dkim_summary *sum)
{
    size_t i;

    buf_append_str(b, "{\"result\":");
    report_json_string(b, dkim_result_str(v->result));
    buf_printf(b, ",\"aligned\":%s,\"domain\":", sum->domain[0] &&
        sum->aligned ? "true" : "false");
    report_json_string(b, sum->domain[0] ? sum->domain : NULL);
    buf_append_str(b, ",\"selector\":");
    report_json_string(b, sum->selector[0] ? sum->selector : NULL);
    buf_append_str(b, ",\"from_domain\":");
    report_json_string(b, v->from_domain[0] ? v->from_domain : NULL);
    buf_append_str(b, ",\"signatures\":[");
    for (i = 0; i < v->n_sigs; i++) {
        const struct dkim_sig *g = &v->sigs[i];

        buf_append_str(b, i ? ",{\"d\":" : "{\"d\":");
        report_json_string(b, g->d[0] ? g->d : NULL);
        buf_append_str(b, ",\"s\":");
        report_json_string(b, g->s[0] ? g->s : NULL);
        buf_append_str(b, ",\"a\":");
        report_json_string(b, g->a[0] ? g->a : NULL);
        buf_append_str(b, ",\"result\":");
        report_json_string(b, dkim_result_str(g->result));
        buf_append_str(b, ",\"reason\":");
        report_json_string(b, g->reason);
        buf_printf(b, ",\"testing\":%s}", g->testing ? "true" : "false");
    }
    buf_append_str(b, "]}");
}

/* read_all - a whole file of at most max bytes; NULL with errno */
static char *
read_all(int fd, size_t max, size_t *len)
{
    struct stat sb;
    char       *p;
    ssize_t     n;
    size_t      got = 0;

    if (fstat(fd, &sb) != 0)
        return NULL;
    if ((uint64_t)sb.st_size > max) {
        errno = EFBIG;
        return NULL;
    }
    if ((p = malloc((size_t)sb.st_size + 1)) == NULL)
        return NULL;
    while (got < (size_t)sb.st_size &&
        (n = pread(fd, p + got, (size_t)sb.st_size - got, (off_t)got)) > 0)
        got += (size_t)n;
    *len = got;
    return p;
}

/* parse_begin - keep a mail's DKIM check for the line (--dkim) */
static enum ruad_rc
parse_begin(void *ctx, enum ruad_rc dkim_rc, const struct worker_dkim_check *d)
{
    struct parse_out *o = ctx;

    (void)dkim_rc;          /* a temperror is printed as such */
    if (d != NULL) {
        if (d->dns_error[0] != '\0')
            fprintf(stderr, "ruad: %s\n", d->dns_error);
        o->dkim = *d;
        o->checked = true;
    }
    return RUAD_OK;
}

/* parse_one - parse path and print its line; true if it gave a report */
static bool
parse_one(const char *path, const struct config *cfg, bool want_dkim,
    struct parse_out *o)
{
    bool                        mail = false;
    char                        head[512];
    ssize_t                     hn;
    struct report_sink sink = {
        .ctx = o,
        .dmarc_record = out_dmarc_record,
        .dmarc_done = out_dmarc_done,
        .dmarc_abort = out_dmarc_abort,
        .tlsrpt_done = out_tlsrpt_done,
    };
    struct worker_sink out = { .ctx = o, .begin = parse_begin,
        .reports = &sink };
    struct worker_input in = { .raw = NULL, .fd = -1 };
    struct report_diag diag;
    unsigned           n = 0;
    enum ruad_rc       rc;
    size_t             i;
    int                fd;

    report_diag_init(&diag);
    o->n_recs = o->n_reports = 0;
    o->io_error = false;
    o->checked = false;
    if (!truncate_stream(o->recs) || !truncate_stream(o->reports)) {
        rc = report_diag_fail(&diag, RUAD_IO, "temporary file: %s",
            strerror(errno));
    } else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        rc = report_diag_fail(&diag, RUAD_IO, "cannot open: %s",
            strerror(errno));
    } else if ((hn = pread(fd, head, sizeof(head), 0)) > 0 &&
        !report_is_raw(head, (size_t)hn) &&
        report_looks_like_mail(head, (size_t)hn)) {
        /* a mail: its report parts, and who signed it */
        size_t len = 0;
        char  *msg = read_all(fd, cfg->import_max, &len);

        close(fd);
        mail = true;
        if (msg == NULL) {
            rc = report_diag_fail(&diag, RUAD_LIMIT, "cannot read the mail: "
                "%s", strerror(errno));
        } else {
            in.raw = msg;
            in.len = len;
            in.mail = true;
            in.dkim = want_dkim;
            rc = worker_pipeline(cfg, &in, &out, &diag, &n);
            free(msg);
        }
    } else {
        in.fd = fd;
        rc = worker_pipeline(cfg, &in, &out, &diag, &n);
        close(fd);
        if (o->io_error && rc == RUAD_OK)
            rc = report_diag_fail(&diag, RUAD_IO, "temporary file: %s",
                strerror(errno));
    }

    buf_reset(&o->line);
    buf_append_str(&o->line, "{\"file\":");
    report_json_string(&o->line, path);
    buf_append_str(&o->line, ",\"reports\":[");
    fwrite(buf_ptr(&o->line), 1, buf_len(&o->line), stdout);
    if (rc == RUAD_OK && !copy_stream(o->reports, stdout))
        rc = report_diag_fail(&diag, RUAD_IO, "temporary file: %s",
            strerror(errno));
    buf_reset(&o->line);
    buf_append_str(&o->line, "],\"warnings\":[");
    for (i = 0; i < diag.n_warnings; i++) {
        if (i > 0)
            buf_append_byte(&o->line, ',');
        report_json_string(&o->line, diag.warnings[i]);
    }
    if (diag.dropped > 0) {
        char more[64];

        snprintf(more, sizeof(more), "%zu more warnings not shown",
            diag.dropped);
        if (diag.n_warnings > 0)
            buf_append_byte(&o->line, ',');
        report_json_string(&o->line, more);
    }
    buf_append_str(&o->line, "],\"error\":");
    report_json_string(&o->line, rc == RUAD_OK ? NULL : diag.error);
    if (want_dkim) {
        buf_append_str(&o->line, ",\"dkim\":");
        if (mail && o->checked)          /* null: not a mail, or unread */
            dkim_json(&o->line, &o->dkim.v, &o->dkim.sum);
        else
            buf_append_str(&o->line, "null");
    }
    buf_append_str(&o->line, "}\n");
    fwrite(buf_ptr(&o->line), 1, buf_len(&o->line), stdout);
    fflush(stdout);
    if (rc != RUAD_OK)
        fprintf(stderr, "ruad: %s: error: %s\n", path, diag.error);
    report_diag_free(&diag);
    return rc == RUAD_OK;
}

int
cmd_parse(struct config *cfg, const struct args *a)
{
    struct parse_out o;
    int              i, failed = 0;
    bool             want_dkim = args_value(a, "dkim") != NULL;

    if (a->n_operands == 0) {
        fprintf(stderr, "ruad: parse: no FILE given\n");
        return 2;
    }
    memset(&o, 0, sizeof(o));
    buf_init(&o.line, LINE_MAX_JSON);
    if ((o.recs = tmpfile()) == NULL || (o.reports = tmpfile()) == NULL) {
        fprintf(stderr, "ruad: parse: temporary file: %s\n",
            strerror(errno));
        return 1;
    }
    for (i = 0; i < a->n_operands; i++)
        if (!parse_one(a->operands[i], cfg, want_dkim, &o))
            failed++;
    fclose(o.recs);
    fclose(o.reports);
    buf_free(&o.line);
    return failed ? 1 : 0;
}

void
cmd_print_verdict(const char *name, const struct worker_result *r)
{
    printf("%s: %s", name, inbound_state_name(r->state));
    if (r->keys[0] != '\0')
        printf(" %s", r->keys);
    if (r->dkim[0] != '\0')
        printf(" [dkim %s]", r->dkim);
    if (r->reason[0] != '\0' && r->state != INBOUND_DUPLICATE &&
        r->state != INBOUND_PARSED)
        printf(" (%s)", r->reason);
    printf(" [inbound %lld]\n", (long long)r->id);
    fflush(stdout);
}

/* import_file - store one file as received, then process it */
static bool
import_file(struct store *st, const struct config *cfg, const char *path)
{
    struct inbound_meta  m = { .channel = "import", .source_name = path };
    struct worker_result r;
    struct stat          sb;
    char                *data = NULL;
    size_t               len = 0;
    int64_t              id;
    enum ruad_rc         rc;
    bool                 too_large;
    FILE                *f;

    if ((f = fopen(path, "rb")) == NULL || fstat(fileno(f), &sb) != 0) {
        fprintf(stderr, "ruad: %s: %s\n", path, strerror(errno));
        if (f != NULL)
            fclose(f);
        return false;
    }
    len = (size_t)sb.st_size;
    /* a file past the limit is recorded without its bytes: read none */
    if (len <= cfg->import_max && ((data = malloc(len + 1)) == NULL ||
        fread(data, 1, len, f) != len)) {
        fprintf(stderr, "ruad: %s: read failed\n", path);
        fclose(f);
        free(data);
        return false;
    }
    fclose(f);
    rc = receipt_import(st, &m, data, len, cfg->import_max, &id,
        &too_large);
    free(data);
    if (rc != RUAD_OK) {
        fprintf(stderr, "ruad: %s: not stored: %s\n", path, store_error(st));
        return false;
    }
    if (too_large) {
        printf("%s: too_large (%zu bytes, more than import_max_bytes "
            "%llu) [inbound %lld]\n", path, len,
            (unsigned long long)cfg->import_max, (long long)id);
        return false;
    }
    rc = worker_process(st, cfg, id, &r);
    if (rc == RUAD_EOF || rc == RUAD_BUSY) {
        printf("%s: queued (another worker has it) [inbound %lld]\n", path,
            (long long)id);
        return true;
    }
    if (rc != RUAD_OK) {
        printf("%s: pending (%s) [inbound %lld]\n", path, store_error(st),
            (long long)id);
        return false;
    }
    cmd_print_verdict(path, &r);
    return r.state == INBOUND_PARSED || r.state == INBOUND_DUPLICATE;
}

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* import_path - a file, or a directory walked in name order */
static bool
import_path(struct store *st, const struct config *cfg, const char *path,
    int depth)
{
    struct stat    sb;
    DIR           *d;
    struct dirent *e;
    char         **names = NULL, **nn, sub[4096];
    size_t         n = 0, cap = 0, i;
    bool           ok = true;

    if (stat(path, &sb) != 0) {
        fprintf(stderr, "ruad: %s: %s\n", path, strerror(errno));
        return false;
    }
    if (!S_ISDIR(sb.st_mode))
        return import_file(st, cfg, path);
    if (depth > 16 || (d = opendir(path)) == NULL) {
        fprintf(stderr, "ruad: %s: cannot walk\n", path);
        return false;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            if ((nn = realloc(names, cap * sizeof(*nn))) == NULL)
                break;
            names = nn;
        }
        if ((names[n] = strdup(e->d_name)) != NULL)
            n++;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), name_cmp);
    for (i = 0; i < n; i++) {
        if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, names[i]) <
            sizeof(sub) && !import_path(st, cfg, sub, depth + 1))
            ok = false;
        free(names[i]);
    }
    free(names);
    return ok;
}

int
cmd_import(struct config *cfg, const struct args *a)
{
    struct store *st;
    int           i;
    bool          ok = true;

    if (a->n_operands == 0) {
        fprintf(stderr, "ruad: import: no FILE given\n");
        return 2;
    }
    if ((st = cmd_open_store(cfg)) == NULL)
        return 3;
    for (i = 0; i < a->n_operands; i++)
        if (!import_path(st, cfg, a->operands[i], 0))
            ok = false;
    store_close(st);
    return ok ? 0 : 1;
}

/* reprocessable - may rows in state s be run again?  Not a stored report */
static bool
reprocessable(enum inbound_state s)
{
    static const enum inbound_state again[] = { INBOUND_FAILED,
        INBOUND_PENDING, INBOUND_PROCESSING, INBOUND_MALFORMED,
        INBOUND_TOO_LARGE, INBOUND_NOT_A_REPORT, INBOUND_UNAUTHENTICATED };
    size_t i;

    for (i = 0; i < sizeof(again) / sizeof(again[0]); i++)
        if (again[i] == s)
            return true;
    return false;
}

int
cmd_reprocess(struct config *cfg, const struct args *a)
{
    struct store        *st;
    struct worker_result r;
    const char          *arg = args_value(a, "state");
    enum inbound_state   state = INBOUND_FAILED;
    int64_t              ids[1000], after = 0;
    size_t               n, i, total = 0;
    char                 name[32];
    enum ruad_rc         rc;

    if (args_no_operands(a) != 0)
        return 2;
    if (arg != NULL && (!inbound_state_parse(arg, strlen(arg), &state) ||
        !reprocessable(state))) {
        fprintf(stderr, "ruad: reprocess: cannot reprocess state \"%s\"\n",
            arg);
        return 2;
    }
    if ((st = cmd_open_store(cfg)) == NULL)
        return 3;
    /* the rows in state, a batch at a time, in id order from a cursor: a
     * row that lands in the same state again is behind it, so each row is
     * run once and the walk ends */
    for (;;) {
        if (store_rows_in_state(st, state, after, ids,
            sizeof(ids) / sizeof(ids[0]), &n) != RUAD_OK) {
            fprintf(stderr, "ruad: reprocess: %s\n", store_error(st));
            store_close(st);
            return 1;
        }
        if (n == 0)
            break;
        for (i = 0; i < n; i++) {
            if (store_requeue(st, ids[i]) != RUAD_OK) {
                fprintf(stderr, "ruad: reprocess: %s\n", store_error(st));
                store_close(st);
                return 1;
            }
            rc = worker_process(st, cfg, ids[i], &r);
            snprintf(name, sizeof(name), "inbound %lld", (long long)ids[i]);
            if (rc == RUAD_OK)
                cmd_print_verdict(name, &r);
            total++;
        }
        after = ids[n - 1];
    }
    printf("reprocessed %zu rows\n", total);
    store_close(st);
    return 0;
}

/* ruad dkim-verify: one JSON line per mail; exit 0 if every one passes */
int
cmd_dkim_verify(struct config *cfg, const struct args *a)
{
    struct worker_dkim_check d;
    struct buf               line;
    int                      i, fd, failed = 0;
    size_t                   len;
    char                    *msg, *path;

    if (a->n_operands == 0) {
        fprintf(stderr, "ruad: dkim-verify: no FILE given\n");
        return 2;
    }
    buf_init(&line, 1u << 20);
    for (i = 0; i < a->n_operands; i++) {
        path = a->operands[i];
        buf_reset(&line);
        buf_append_str(&line, "{\"file\":");
        report_json_string(&line, path);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
            (msg = read_all(fd, cfg->import_max, &len)) == NULL) {
            fprintf(stderr, "ruad: %s: %s\n", path, strerror(errno));
            if (fd >= 0)
                close(fd);
            buf_append_str(&line, ",\"result\":null,\"error\":");
            report_json_string(&line, strerror(errno));
            buf_append_str(&line, "}\n");
            fputs(buf_ptr(&line), stdout);
            failed++;
            continue;
        }
        close(fd);
        worker_dkim(cfg, msg, len, &d);  /* a temperror is printed as such */
        if (d.dns_error[0] != '\0')
            fprintf(stderr, "ruad: %s\n", d.dns_error);
        free(msg);
        buf_append_byte(&line, ',');
        {
            /* the verdict object's members, inline after "file" */
            struct buf obj;

            buf_init(&obj, 1u << 20);
            dkim_json(&obj, &d.v, &d.sum);
            buf_append(&line, buf_ptr(&obj) + 1, buf_len(&obj) - 1);
            buf_free(&obj);
        }
        buf_append_byte(&line, '\n');
        fputs(buf_ptr(&line), stdout);
        if (d.v.result != DKIM_PASS)
            failed++;
    }
    buf_free(&line);
    return failed ? 1 : 0;
}
