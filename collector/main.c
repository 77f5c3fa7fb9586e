/*
 * main.c - the ruad command line: verbs, options, exit codes.
 *
 *   ruad parse FILE...     print each file's reports as JSON, one line each
 *   ruad migrate           create or update the database schema
 *   ruad import FILE|DIR.. store files as received, process, print verdicts
 *   ruad reprocess         run rows again (after a fix)
 *   ruad serve             the service: HTTP(S) receiver and workers
 *   ruad imap-fetch        poll the IMAP sources once (cron)
 *   ruad token new         a bearer token for the query API
 *   ruad --help | --version
 *
 * `ruad parse` needs no database: it is the debugging tool and the test
 * oracle.  Output is streamed through temporary files, so memory does not
 * grow with the size of a report.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api_token.h"
#include "buf.h"
#include "config.h"
#include "dkim.h"
#include "dns.h"
#include "dnsrec.h"
#include "mta_sts.h"
#include "http_server.h"
#include "imap.h"
#include "ingest.h"
#include "inbound.h"
#include "limits.h"
#include "membudget.h"
#include "metrics.h"
#include "smtp_server.h"
#include "store_pg.h"
#include "worker.h"
#include "log.h"
#include "report.h"
#include "report_json.h"

#define LINE_MAX_JSON (64u << 20)   /* one record or TLS report as JSON */

static const char usage_text[] =
    "usage: ruad [--help] [--version] VERB [ARGS]\n"
    "\n"
    "ruad receives DMARC aggregate reports (RFC 7489, RFC 9990) and SMTP TLS\n"
    "reports (RFC 8460) and keeps them in PostgreSQL.\n"
    "\n"
    "verbs:\n"
    "  parse [--dkim] [OPTIONS] FILE...\n"
    "                           parse report files (xml, json, gzip, zip or\n"
    "                           plain, told apart by content) or report mails\n"
    "                           (eml; --dkim adds the DKIM verdict) and print\n"
    "                           one\n"
    "                           JSON object per file and line:\n"
    "                           {\"file\",\"reports\",\"warnings\",\"error\"}\n"
    "                           (docs/report-json.md); exit 0 if every file\n"
    "                           gave at least one report, else 1\n"
    "  dkim-verify [--dns-server=HOST:PORT] FILE...\n"
    "                           check the DKIM signatures of mails (RFC 6376,\n"
    "                           RFC 8463); one JSON line per file:\n"
    "                           {\"file\",\"result\",\"aligned\",\"domain\",\n"
    "                           \"selector\",\"from_domain\",\"signatures\"}; exit\n"
    "                           0 only when every file has a passing signature\n"
    "  migrate                  create or update the schema in the database\n"
    "                           (database_url or RUAD_DATABASE_URL)\n"
    "  import [OPTIONS] FILE|DIR...\n"
    "                           store each file (eml, xml, json, gzip, zip;\n"
    "                           directories are walked) as received, process\n"
    "                           it, print \"FILE: VERDICT reports...\"; exit 0\n"
    "                           if every file was parsed or a duplicate\n"
    "  serve [--check-config] [OPTIONS]\n"
    "                           run the service: HTTP(S) on http_listen\n"
    "                           (POST /tlsrpt, GET /healthz /readyz\n"
    "                           /metrics, /api/v1, and the dashboard's\n"
    "                           files from web_root at /), SMTP on\n"
    "                           smtp_listen (reports mailed to\n"
    "                           smtp_accept), the IMAP pollers\n"
    "                           (imap.NAME.*), and the workers;\n"
    "                           SIGTERM drains\n"
    "                           and stops, SIGHUP reloads tls_cert/tls_key;\n"
    "                           --check-config prints \"configuration OK\"\n"
    "                           or the first error\n"
    "  imap-fetch [--source=NAME] [OPTIONS]\n"
    "                           poll each IMAP source (imap.NAME.* settings)\n"
    "                           once: store new messages, do the action,\n"
    "                           process them and print one line per message\n"
    "                           and source; exit 0 if every poll succeeded\n"
    "  reprocess [--state=STATE]  run the rows in STATE again (default\n"
    "                           failed; also pending, malformed, too_large,\n"
    "                           not_a_report)\n"
    "  dns-records --domain D [--domain D2...] [--check] [--wildcard]\n"
    "              [--p=none|quarantine|reject] [--sp=...] [--adkim=r|s]\n"
    "              [--aspf=r|s] [--pct=N] [--size=10m]\n"
    "                           print the DNS records that send D's reports\n"
    "                           here (from smtp_accept, smtp_hostname,\n"
    "                           public_url, mta_sts_policy); --check\n"
    "                           resolves them (dns_server) and prints ok,\n"
    "                           missing, different or error per record;\n"
    "                           exit 0 when all are ok, 1 if not, 3 when\n"
    "                           DNS did not answer\n"
    "  config-reference         print every setting as Markdown\n"
    "                           (docs/configuration.md)\n"
    "  token new --scope=read|write [OPTIONS]\n"
    "                           make a bearer token for /api/v1, print it\n"
    "                           once and append its SHA-256 and scope to\n"
    "                           api_tokens_file (a running serve picks it up);\n"
    "                           serve answers /api/v1 (docs/openapi.json)\n"
    "                           only to such tokens\n"
    "\n"
    "settings (in a --config FILE as `key = value`, or as --key=value\n"
    "flags, which override the file; dashes and underscores are alike):\n"
    ;

static void
usage(FILE *f)
{
    fputs(usage_text, f);
    config_usage(f);
    fputs("\noptions:\n"
        "  --config FILE   read settings from FILE\n"
        "  -h, --help      this text\n"
        "  -V, --version   print the version\n", f);
}

/* Streams of one `ruad parse` input (see the file comment). */
struct parse_out {
    FILE      *recs;       /* records of the DMARC report being read */
    FILE      *reports;    /* finished reports of this file */
    unsigned   n_recs;
    unsigned   n_reports;
    struct buf line;
    bool       io_error;
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

/* mail_dkim - verify a mail for --dkim and dkim-verify */
static void
mail_dkim(const struct config *cfg, const char *msg, size_t len,
    struct dkim_verdict *v, struct dkim_summary *sum)
{
    struct dns        *dns;
    struct dkim_lookup lk;
    char               err[256];

    dns = dns_new(cfg->dns_server, cfg->dns_timeout_ms, err, sizeof(err));
    if (dns == NULL)
        fprintf(stderr, "ruad: %s\n", err);
    lk.ctx = dns;
    lk.txt = dns != NULL ? dns_txt : NULL;
    if (dkim_verify(msg, len, &lk, time(NULL), v) != RUAD_OK)
        memset(v, 0, sizeof(*v));
    dkim_summarize(v, sum);
    dns_free(dns);
}

/* parse_one - parse path and print its line; true if it gave a report */
static bool
parse_one(const char *path, const struct config *cfg, bool want_dkim,
    struct parse_out *o)
{
    const struct report_limits *lim = &cfg->limits;
    struct dkim_verdict         dv;
    struct dkim_summary         dsum;
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
    struct report_diag diag;
    unsigned           n = 0;
    enum ruad_rc       rc;
    size_t             i;
    int                fd;

    report_diag_init(&diag);
    o->n_recs = o->n_reports = 0;
    o->io_error = false;
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
            rc = report_parse_mail(msg, len, lim, &sink, &diag, &n);
            if (want_dkim)
                mail_dkim(cfg, msg, len, &dv, &dsum);
            free(msg);
        }
    } else {
        rc = report_parse_fd(fd, lim, &sink, &diag, &n);
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
        if (mail && diag.error[0] != '\0' && rc != RUAD_OK &&
            strncmp(diag.error, "cannot read", 11) == 0)
            buf_append_str(&o->line, "null");
        else if (mail)
            dkim_json(&o->line, &dv, &dsum);
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

/*
 * parse_args - `--config FILE` first, then `--key=value` flags in order
 * (they override the file); the rest are FILEs (after `--`, all are).
 * Returns the index of the first FILE, -1 on error (already reported),
 * or 0 when --help was printed.
 */
static int
parse_args(int argc, char **argv, struct config *cfg)
{
    char        err[512], key[64];
    const char *eq;
    int         i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0 || strncmp(argv[i], "--", 2) != 0)
            break;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            if (config_load_file(cfg, argv[++i], err, sizeof(err)) !=
                RUAD_OK) {
                fprintf(stderr, "ruad: %s\n", err);
                return -1;
            }
        }
    }
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return i + 1;
        if (strncmp(argv[i], "--", 2) != 0)
            return i;
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--config") == 0) {
            i++;
            continue;
        }
        if ((eq = strchr(argv[i], '=')) == NULL ||
            (size_t)(eq - argv[i] - 2) >= sizeof(key)) {
            fprintf(stderr, "ruad: %s: expected --key=value (see ruad "
                "--help)\n", argv[i]);
            return -1;
        }
        memcpy(key, argv[i] + 2, (size_t)(eq - argv[i] - 2));
        key[eq - argv[i] - 2] = '\0';
        if (config_set(cfg, key, eq + 1, err, sizeof(err)) != RUAD_OK) {
            fprintf(stderr, "ruad: --%s: %s\n", key, err);
            return -1;
        }
    }
    return argc;
}

static int
cmd_parse(int argc, char **argv)
{
    struct config    cfg;
    struct parse_out o;
    int              i, first, failed = 0;
    bool             want_dkim = false;

    for (i = 1; i < argc; i++)            /* --dkim is ours */
        if (strcmp(argv[i], "--dkim") == 0) {
            want_dkim = true;
            memmove(argv + i, argv + i + 1, (size_t)(argc - i) *
                sizeof(*argv));
            argc--;
            break;
        }

    config_init(&cfg);
    cfg.log_level = LOG_L_WARN;
    if ((first = parse_args(argc, argv, &cfg)) <= 0)
        return first == 0 ? 0 : 2;
    log_set_level((enum log_level)cfg.log_level);
    if (first >= argc) {
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
    for (i = first; i < argc; i++)
        if (!parse_one(argv[i], &cfg, want_dkim, &o))
            failed++;
    fclose(o.recs);
    fclose(o.reports);
    buf_free(&o.line);
    return failed ? 1 : 0;
}

/* open_store - connect, or say why not (exit status 3) */
static struct store *
open_store(const struct config *cfg)
{
    struct store *st;
    char          err[600];

    if ((st = store_open(cfg->database_url, err, sizeof(err))) == NULL)
        fprintf(stderr, "ruad: %s\n", err);
    return st;
}

/* common_args - config and flags for a database verb; first FILE index */
static int
common_args(int argc, char **argv, struct config *cfg)
{
    int first;

    config_init(cfg);
    cfg->log_level = LOG_L_WARN;
    if ((first = parse_args(argc, argv, cfg)) <= 0)
        return first;
    log_set_level((enum log_level)cfg->log_level);
    return first;
}

static int
cmd_migrate(int argc, char **argv)
{
    struct config cfg;
    struct store *st;
    int           first, applied = 0, version = 0;

    if ((first = common_args(argc, argv, &cfg)) <= 0)
        return first == 0 ? 0 : 2;
    if (first < argc) {
        fprintf(stderr, "ruad: migrate: unexpected argument \"%s\"\n",
            argv[first]);
        return 2;
    }
    if ((st = open_store(&cfg)) == NULL)
        return 3;
    if (store_migrate(st, &applied) != RUAD_OK ||
        store_schema_version(st, &version) != RUAD_OK) {
        fprintf(stderr, "ruad: migrate: %s\n", store_error(st));
        store_close(st);
        return 1;
    }
    printf("migrations applied: %d; schema version %d\n", applied, version);
    store_close(st);
    return 0;
}

/* import_print - the verdict line of one processed row */
static void
import_print(const char *name, const struct worker_result *r)
{
    printf("%s: %s", name, r->state);
    if (r->keys[0] != '\0')
        printf(" %s", r->keys);
    if (r->dkim[0] != '\0')
        printf(" [dkim %s]", r->dkim);
    if (r->reason[0] != '\0' && strcmp(r->state, "duplicate") != 0 &&
        strcmp(r->state, "parsed") != 0)
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
    rc = inbound_receive(st, &m, data, len, cfg->import_max, &id,
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
    if (rc == RUAD_EOF || rc == RUAD_AGAIN) {
        printf("%s: queued (another worker has it) [inbound %lld]\n", path,
            (long long)id);
        return true;
    }
    if (rc != RUAD_OK) {
        printf("%s: pending (%s) [inbound %lld]\n", path, store_error(st),
            (long long)id);
        return false;
    }
    import_print(path, &r);
    return strcmp(r.state, "parsed") == 0 ||
        strcmp(r.state, "duplicate") == 0;
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

static int
cmd_import(int argc, char **argv)
{
    struct config cfg;
    struct store *st;
    int           i, first;
    bool          ok = true;

    if ((first = common_args(argc, argv, &cfg)) <= 0)
        return first == 0 ? 0 : 2;
    if (first >= argc) {
        fprintf(stderr, "ruad: import: no FILE given\n");
        return 2;
    }
    if ((st = open_store(&cfg)) == NULL)
        return 3;
    for (i = first; i < argc; i++)
        if (!import_path(st, &cfg, argv[i], 0))
            ok = false;
    store_close(st);
    return ok ? 0 : 1;
}

static int
cmd_reprocess(int argc, char **argv)
{
    static const char *const states[] = { "failed", "pending", "processing",
        "malformed", "too_large", "not_a_report", "unauthenticated", NULL };
    struct config        cfg;
    struct store        *st;
    struct worker_result r;
    const char          *state = "failed";
    int64_t              ids[1000];
    size_t               n, i, k, total = 0;
    char                 name[32];
    int                  first;
    enum ruad_rc         rc;

    for (i = 1; i < (size_t)argc; i++)      /* --state is ours */
        if (strncmp(argv[i], "--state=", 8) == 0) {
            state = argv[i] + 8;
            memmove(argv + i, argv + i + 1, (argc - i) * sizeof(*argv));
            argc--;
            break;
        }
    for (k = 0; states[k] != NULL && strcmp(states[k], state) != 0; k++)
        ;
    if (states[k] == NULL) {
        fprintf(stderr, "ruad: reprocess: cannot reprocess state \"%s\"\n",
            state);
        return 2;
    }
    if ((first = common_args(argc, argv, &cfg)) <= 0)
        return first == 0 ? 0 : 2;
    if ((st = open_store(&cfg)) == NULL)
        return 3;
    /* rows in state, a batch at a time; each is decided before the next
     * batch is read, so the loop ends */
    for (;;) {
        if (store_rows_in_state(st, state, ids, 1000, &n) != RUAD_OK) {
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
            rc = worker_process(st, &cfg, ids[i], &r);
            snprintf(name, sizeof(name), "inbound %lld", (long long)ids[i]);
            if (rc == RUAD_OK)
                import_print(name, &r);
            total++;
        }
        if (strcmp(state, "pending") == 0 || strcmp(state, "processing") ==
            0 || total > 10000000)
            break;
    }
    printf("reprocessed %zu rows\n", total);
    store_close(st);
    return 0;
}

/* ruad dkim-verify: one JSON line per mail; exit 0 if every one passes */
static int
cmd_dkim_verify(int argc, char **argv)
{
    struct config       cfg;
    struct dkim_verdict v;
    struct dkim_summary sum;
    struct buf          line;
    int                 i, first, fd, failed = 0;
    size_t              len;
    char               *msg;

    config_init(&cfg);
    cfg.log_level = LOG_L_WARN;
    if ((first = parse_args(argc, argv, &cfg)) <= 0)
        return first == 0 ? 0 : 2;
    if (first >= argc) {
        fprintf(stderr, "ruad: dkim-verify: no FILE given\n");
        return 2;
    }
    buf_init(&line, 1u << 20);
    for (i = first; i < argc; i++) {
        buf_reset(&line);
        buf_append_str(&line, "{\"file\":");
        report_json_string(&line, argv[i]);
        if ((fd = open(argv[i], O_RDONLY | O_CLOEXEC)) < 0 ||
            (msg = read_all(fd, cfg.import_max, &len)) == NULL) {
            fprintf(stderr, "ruad: %s: %s\n", argv[i], strerror(errno));
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
        mail_dkim(&cfg, msg, len, &v, &sum);
        free(msg);
        buf_append_byte(&line, ',');
        {
            /* the verdict object's members, inline after "file" */
            struct buf obj;

            buf_init(&obj, 1u << 20);
            dkim_json(&obj, &v, &sum);
            buf_append(&line, buf_ptr(&obj) + 1, buf_len(&obj) - 1);
            buf_free(&obj);
        }
        buf_append_byte(&line, '\n');
        fputs(buf_ptr(&line), stdout);
        if (v.result != DKIM_PASS)
            failed++;
    }
    buf_free(&line);
    return failed ? 1 : 0;
}

/* ---- ruad imap-fetch ---- */

/* The rows one poll stored, processed after it. */
struct fetch_ids {
    int64_t *ids;
    size_t   n, cap;
    bool     nomem;
};

static void
fetch_stored(void *ctx, int64_t id)
{
    struct fetch_ids *f = ctx;
    int64_t          *p;

    if (f->n == f->cap) {
        if ((p = realloc(f->ids, (f->cap * 2 + 64) * sizeof(*p))) == NULL) {
            f->nomem = true;              /* a serve worker takes it */
            return;
        }
        f->ids = p;
        f->cap = f->cap * 2 + 64;
    }
    f->ids[f->n++] = id;
}

static int
cmd_imap_fetch(int argc, char **argv)
{
    struct config           cfg;
    struct store           *st;
    struct imap_poll_result r;
    struct worker_result    w;
    struct fetch_ids        f = { 0 };
    atomic_bool             stop = false;
    const char             *only = NULL;
    char                    err[600];
    int                     first, failed = 0, i;
    size_t                  k, j;

    for (i = 1; i < argc; i++)            /* --source=NAME is ours */
        if (strncmp(argv[i], "--source=", 9) == 0) {
            only = argv[i] + 9;
            memmove(argv + i, argv + i + 1, (size_t)(argc - i) *
                sizeof(*argv));
            argc--;
            break;
        }
    if ((first = common_args(argc, argv, &cfg)) <= 0)
        return first == 0 ? 0 : 2;
    if (first < argc) {
        fprintf(stderr, "ruad: imap-fetch: unexpected argument \"%s\"\n",
            argv[first]);
        return 2;
    }
    if (config_check(&cfg, err, sizeof(err)) != RUAD_OK) {
        fprintf(stderr, "ruad: %s\n", err);
        return 2;
    }
    for (k = 0, i = 0; k < cfg.imap.n; k++)
        i += only == NULL || strcmp(cfg.imap.src[k].name, only) == 0;
    if (i == 0) {
        fprintf(stderr, "ruad: imap-fetch: %s\n", only != NULL ?
            "no such IMAP source" : "no IMAP source configured "
            "(imap.NAME.url ...)");
        return 2;
    }
    imap_global_init();
    if ((st = open_store(&cfg)) == NULL)
        return 3;
    for (k = 0; k < cfg.imap.n; k++) {
        const struct imap_source_cfg *s = &cfg.imap.src[k];

        if (only != NULL && strcmp(s->name, only) != 0)
            continue;
        f.n = 0;
        if (imap_poll(&cfg, s, st, &stop, fetch_stored, &f, &r) !=
            RUAD_OK) {
            fprintf(stderr, "ruad: imap.%s: %s\n", s->name, r.error);
            failed++;
        }
        for (j = 0; j < f.n; j++) {
            enum ruad_rc rc = worker_process(st, &cfg, f.ids[j], &w);

            if (rc == RUAD_OK)
                import_print(s->name, &w);
            else
                printf("%s: queued [inbound %lld]\n", s->name,
                    (long long)f.ids[j]);
        }
        printf("%s: listed %u, stored %u, too_large %u, acted %u%s\n",
            s->name, r.listed, r.stored, r.too_large, r.acted,
            r.error[0] != '\0' ? " (failed)" : "");
        fflush(stdout);
    }
    free(f.ids);
    store_close(st);
    return failed ? 1 : 0;
}

/* ---- ruad serve ---- */

/* What the worker threads share with the main thread. */
static struct {
    const struct config *cfg;
    struct ingest       *ingest;
    pthread_mutex_t      mu;
    pthread_cond_t       cv;        /* new rows, or stop */
    bool                 stop;
    unsigned             kicks;
} serve = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

/* serve_kick - a row was stored: wake a worker */
static void
serve_kick(void)
{
    pthread_mutex_lock(&serve.mu);
    serve.kicks++;
    pthread_cond_signal(&serve.cv);
    pthread_mutex_unlock(&serve.mu);
}

/* serve_wait - sleep up to ms, or until kicked or stopped; false: stop */
static bool
serve_wait(unsigned ms)
{
    struct timespec until;
    bool            go;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&serve.mu);
    if (serve.kicks == 0 && !serve.stop)
        pthread_cond_timedwait(&serve.cv, &serve.mu, &until);
    if (serve.kicks > 0)
        serve.kicks--;
    go = !serve.stop;
    pthread_mutex_unlock(&serve.mu);
    return go;
}

/*
 * serve_give_way - while reports are arriving (ingest_busy) a worker
 * waits, up to SERVE_YIELD_MAX_MS before each row: the senders wait for
 * their commits, nobody waits for the processing, and on a small machine
 * both compete for the same cores and WAL fsyncs.  Under endless load the
 * workers still take a row per SERVE_YIELD_MAX_MS each.
 */
#define SERVE_YIELD_MS     10
#define SERVE_YIELD_MAX_MS 1000

static bool serve_stopping(void);

static void
serve_give_way(void)
{
    struct timespec ts = { 0, SERVE_YIELD_MS * 1000000L };
    unsigned        waited = 0;

    while (waited < SERVE_YIELD_MAX_MS && ingest_busy(serve.ingest) &&
        !serve_stopping()) {
        nanosleep(&ts, NULL);
        waited += SERVE_YIELD_MS;
    }
}

static bool
serve_stopping(void)
{
    bool s;

    pthread_mutex_lock(&serve.mu);
    s = serve.stop;
    pthread_mutex_unlock(&serve.mu);
    return s;
}

/* serve_worker - claim and process rows until told to stop; the row in
 * hand is always finished first */
static void *
serve_worker(void *arg)
{
    struct store        *st = NULL;
    struct worker_result r;
    char                 err[600];
    unsigned             backoff = 1000;
    enum ruad_rc         rc;

    (void)arg;
    while (!serve_stopping()) {
        if (st == NULL) {
            /* the inbound row is the durable point: a worker's commits
             * need not wait for the WAL fsync */
            if ((st = store_open(serve.cfg->database_url, err,
                sizeof(err))) != NULL && store_async_commit(st) != RUAD_OK) {
                snprintf(err, sizeof(err), "%s", store_error(st));
                store_close(st);
                st = NULL;
            }
            if (st == NULL) {
                log_warn("worker database=down reason=\"%.300s\"", err);
                serve_wait(backoff);
                backoff = backoff < 30000 ? backoff * 2 : 30000;
                continue;
            }
        }
        backoff = 1000;
        serve_give_way();
        rc = worker_process(st, serve.cfg, 0, &r);
        if (rc == RUAD_OK) {
            metrics_verdict(r.state, r.stored_dmarc, r.stored_tlsrpt);
        } else if (rc == RUAD_EOF) {
            serve_wait(1000);
        } else if (rc != RUAD_AGAIN) {
            log_warn("worker database error=\"%.300s\"", store_error(st));
            store_close(st);
            st = NULL;
            serve_wait(1000);
        }
    }
    store_close(st);
    return NULL;
}

static int
cmd_serve(int argc, char **argv)
{
    struct config       cfg;
    struct store_pool  *pool;
    struct http_server *http;
    struct smtp_server *smtp = NULL;
    struct imap_pollers *imap;
    struct rlimit       rl;
    pthread_t          *workers;
    sigset_t            sigs;
    char                err[600];
    int                 first, sig = 0, i;
    bool                check = false;

    for (i = 1; i < argc; i++)            /* --check-config is ours */
        if (strcmp(argv[i], "--check-config") == 0) {
            check = true;
            memmove(argv + i, argv + i + 1, (size_t)(argc - i) *
                sizeof(*argv));
            argc--;
            break;
        }
    config_init(&cfg);
    if ((first = parse_args(argc, argv, &cfg)) <= 0)
        return first == 0 ? 0 : 2;
    if (first < argc) {
        fprintf(stderr, "ruad: serve: unexpected argument \"%s\"\n",
            argv[first]);
        return 2;
    }
    if (config_check(&cfg, err, sizeof(err)) != RUAD_OK) {
        fprintf(stderr, "ruad: %s\n", err);
        return 2;
    }
    if (check) {
        struct mta_sts_set *sts;         /* the policies are read now */

        if (mta_sts_load(cfg.mta_sts_policy, &sts, err, sizeof(err)) !=
            RUAD_OK) {
            fprintf(stderr, "ruad: %s\n", err);
            return 2;
        }
        mta_sts_free(sts);
        printf("configuration OK\n");
        return 0;
    }
    log_set_level((enum log_level)cfg.log_level);
    metrics_init();
    imap_global_init();
    metrics_add_section(imap_metrics_render);
    serve.cfg = &cfg;
    /* glibc, before any thread: few arenas (8 per core by default, each
     * keeping what it once held), and big buffers (messages, bodies)
     * mmapped, so their pages go back to the system when freed */
    mallopt(M_ARENA_MAX, MALLOC_ARENAS_MAX);
    mallopt(M_MMAP_THRESHOLD, RECEIVE_TRIM_MIN);
    membudget_set(cfg.receive_max_bytes);
    /* thousands of idle SMTP sessions need descriptors */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    /* signals go to this thread alone (sigwait below) */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    if ((pool = store_pool_new(cfg.database_url, cfg.http_threads + 2)) ==
        NULL) {
        fprintf(stderr, "ruad: out of memory\n");
        return 1;
    }
    if ((serve.ingest = ingest_start(cfg.database_url, cfg.store_threads,
        serve_kick)) == NULL) {
        fprintf(stderr, "ruad: out of memory\n");
        store_pool_free(pool);
        return 1;
    }
    if ((http = http_server_start(&cfg, pool, serve.ingest, serve_kick,
        err, sizeof(err))) == NULL) {
        fprintf(stderr, "ruad: %s\n", err);
        ingest_stop(serve.ingest);
        store_pool_free(pool);
        return 1;
    }
    if (cfg.smtp_listen[0] != '\0' &&
        (smtp = smtp_server_start(&cfg, serve.ingest, err, sizeof(err))) ==
        NULL) {
        fprintf(stderr, "ruad: %s\n", err);
        http_server_stop(http, 0);
        ingest_stop(serve.ingest);
        store_pool_free(pool);
        return 1;
    }
    if ((workers = calloc(cfg.workers, sizeof(*workers))) == NULL)
        return 1;
    for (i = 0; i < (int)cfg.workers; i++)
        pthread_create(&workers[i], NULL, serve_worker, NULL);
    imap = imap_start(&cfg, serve_kick);
    log_info("serve started version=%s workers=%u pid=%d", RUAD_VERSION,
        cfg.workers, (int)getpid());

    for (;;) {
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            dns_cache_flush();           /* keys may have changed too */
            if (http_server_reload_tls(http, err, sizeof(err)) == RUAD_OK &&
                (smtp == NULL || smtp_server_reload_tls(smtp, err,
                sizeof(err)) == RUAD_OK))
                log_info("serve tls reloaded");
            else
                log_error("serve tls reload failed, old certificate kept "
                    "reason=\"%.300s\"", err);
            continue;
        }
        break;
    }
    /* drain: no new connections, requests in flight finish, each worker
     * finishes the row in hand */
    log_info("serve stopping signal=%d", sig);
    imap_stop(imap);
    smtp_server_stop(smtp, 10);
    http_server_stop(http, 10);
    pthread_mutex_lock(&serve.mu);
    serve.stop = true;
    pthread_cond_broadcast(&serve.cv);
    pthread_mutex_unlock(&serve.mu);
    for (i = 0; i < (int)cfg.workers; i++)
        pthread_join(workers[i], NULL);
    free(workers);
    ingest_stop(serve.ingest);       /* all answered; the workers asked it */
    serve.ingest = NULL;
    store_pool_free(pool);
    log_info("serve stopped");
    return 0;
}

/* ruad dns-records: print the records, or check what is published */
static int
cmd_dns_records(int argc, char **argv)
{
    struct config        cfg;
    struct dnsrec_opts   o;
    struct dnsrec_lookup lk = { .txt = dns_txt, .mx = dns_mx,
        .tlsa = dns_tlsa, .addrs = dns_addrs };
    struct dns          *d;
    char                 err[600];
    unsigned             bad = 0;
    int                  first;
    bool                 check;
    enum ruad_rc         rc;

    if (dnsrec_take_args(&argc, argv, &o, &check, err, sizeof(err)) != 0) {
        fprintf(stderr, "ruad: dns-records: %s\n", err);
        return 2;
    }
    config_init(&cfg);
    if ((first = parse_args(argc, argv, &cfg)) <= 0)
        return first == 0 ? 0 : 2;
    if (first < argc) {
        fprintf(stderr, "ruad: dns-records: unexpected argument \"%s\"\n",
            argv[first]);
        return 2;
    }
    if (!check) {
        if (dnsrec_print(&cfg, &o, stdout, err, sizeof(err)) != RUAD_OK) {
            fprintf(stderr, "ruad: dns-records: %s\n", err);
            return 2;
        }
        return 0;
    }
    if ((d = dns_new(cfg.dns_server, cfg.dns_timeout_ms, err,
        sizeof(err))) == NULL) {
        fprintf(stderr, "ruad: dns-records: %s\n", err);
        return 2;
    }
    lk.ctx = d;
    rc = dnsrec_check(&cfg, &o, &lk, stdout, &bad, err, sizeof(err));
    dns_free(d);
    if (rc == RUAD_MALFORMED) {
        fprintf(stderr, "ruad: dns-records: %s\n", err);
        return 2;
    }
    return rc == RUAD_TEMPFAIL ? 3 : bad > 0 ? 1 : 0;
}

/* cmd_token - `ruad token new --scope=read|write`: print a new token */
static int
cmd_token(int argc, char **argv)
{
    struct config  cfg;
    enum api_scope scope = API_SCOPE_NONE;
    char           tok[API_TOKEN_LEN + 1], err[1200];
    int            first, i;

    if (argc < 2 || strcmp(argv[1], "new") != 0) {
        fprintf(stderr, "ruad: usage: ruad token new --scope=read|write "
            "[--config FILE] [--api-tokens-file=FILE]\n");
        return 2;
    }
    argc--, argv++;
    for (i = 1; i < argc; i++)            /* --scope is ours */
        if (strncmp(argv[i], "--scope", 7) == 0) {
            const char *v = argv[i][7] == '=' ? argv[i] + 8 :
                argv[i][7] == '\0' && i + 1 < argc ? argv[i + 1] : "";
            int         n = argv[i][7] == '=' ? 1 : 2;

            scope = api_scope_parse(v);
            if (argv[i][7] != '=' && argv[i][7] != '\0')
                scope = API_SCOPE_NONE;
            if (i + n > argc)
                n = argc - i;
            memmove(argv + i, argv + i + n, (size_t)(argc - i - n + 1) *
                sizeof(*argv));
            argc -= n;
            break;
        }
    if (scope == API_SCOPE_NONE) {
        fprintf(stderr, "ruad: token new: --scope=read or --scope=write\n");
        return 2;
    }
    config_init(&cfg);
    if ((first = parse_args(argc, argv, &cfg)) <= 0)
        return first == 0 ? 0 : 2;
    if (first < argc) {
        fprintf(stderr, "ruad: token: unexpected argument \"%s\"\n",
            argv[first]);
        return 2;
    }
    if (api_token_new(cfg.api_tokens_file, scope, tok, err, sizeof(err)) !=
        RUAD_OK) {
        fprintf(stderr, "ruad: token new: %s\n", err);
        return 1;
    }
    printf("%s\n", tok);
    return 0;
}

int
main(int argc, char **argv)
{
    const char *verb;

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 ||
        strcmp(verb, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(verb, "--version") == 0 || strcmp(verb, "-V") == 0) {
        printf("ruad %s\n", RUAD_VERSION);
        return 0;
    }
    if (strcmp(verb, "parse") == 0)
        return cmd_parse(argc - 1, argv + 1);
    if (strcmp(verb, "migrate") == 0)
        return cmd_migrate(argc - 1, argv + 1);
    if (strcmp(verb, "import") == 0)
        return cmd_import(argc - 1, argv + 1);
    if (strcmp(verb, "reprocess") == 0)
        return cmd_reprocess(argc - 1, argv + 1);
    if (strcmp(verb, "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (strcmp(verb, "dkim-verify") == 0)
        return cmd_dkim_verify(argc - 1, argv + 1);
    if (strcmp(verb, "dns-records") == 0)
        return cmd_dns_records(argc - 1, argv + 1);
    if (strcmp(verb, "token") == 0)
        return cmd_token(argc - 1, argv + 1);
    if (strcmp(verb, "config-reference") == 0) {
        config_reference(stdout);
        return 0;
    }
    if (strcmp(verb, "imap-fetch") == 0)
        return cmd_imap_fetch(argc - 1, argv + 1);
    fprintf(stderr, "ruad: unknown verb \"%s\" (see ruad --help)\n", verb);
    return 2;
}
