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
#include "preflight.h"
#include "imap.h"
#include "imap_config.h"
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

/*
 * The command line: `ruad VERB [OPTION|ARG]...`.  One parser serves every
 * verb (args_parse, getopt_long-like): options and arguments may come in
 * any order until `--`; an option's value is `--key=value` or the next
 * word (`--key value`); every verb takes -h/--help (its own help),
 * --config FILE and every setting as --KEY VALUE, besides its own
 * options (struct verb_opt).  An unknown option or a missing value is an
 * error naming the option (exit 2).
 */
struct verb_opt {
    const char *name;        /* without the dashes */
    const char *arg;         /* its value's name; NULL: a switch */
    const char *help;
};

#define ARGS_GIVEN_MAX 512       /* verb options on one command line */

struct args {
    const struct verb *verb;
    char             **operands;   /* the FILEs, ... (into argv) */
    int                n_operands;
    struct {
        const struct verb_opt *opt;
        const char            *value;   /* "" for a switch */
    }                  given[ARGS_GIVEN_MAX];
    size_t             n_given;
};

struct verb {
    const char            *name;
    const char            *text;   /* its --help block: synopsis, meaning */
    const struct verb_opt *opts;   /* ends with { NULL } */
    int                    log_level;
    int                  (*run)(struct config *, const struct args *);
};

static int cmd_parse(struct config *, const struct args *);
static int cmd_dkim_verify(struct config *, const struct args *);
static int cmd_migrate(struct config *, const struct args *);
static int cmd_import(struct config *, const struct args *);
static int cmd_serve(struct config *, const struct args *);
static int cmd_imap_fetch(struct config *, const struct args *);
static int cmd_reprocess(struct config *, const struct args *);
static int cmd_dns_records(struct config *, const struct args *);
static int cmd_config_reference(struct config *, const struct args *);
static int cmd_token(struct config *, const struct args *);

static const struct verb_opt opts_none[] = { { NULL, NULL, NULL } };
static const struct verb_opt opts_parse[] = {
    { "dkim", NULL, "verify the DKIM signatures of mails too" },
    { NULL, NULL, NULL } };
static const struct verb_opt opts_serve[] = {
    { "check-config", NULL, "check the settings and open the files serve "
      "would open (certificates, keys, policies, tokens), print "
      "\"configuration OK\" or every problem, exit 0 or 2" },
    { "as-user", "USER", "with --check-config as root: open the files as "
      "USER (default: " PREFLIGHT_USER " if that user exists)" },
    { NULL, NULL, NULL } };
static const struct verb_opt opts_imap_fetch[] = {
    { "source", "NAME", "poll only the source imap.NAME" },
    { NULL, NULL, NULL } };
static const struct verb_opt opts_reprocess[] = {
    { "state", "STATE", "the rows to run again (failed)" },
    { NULL, NULL, NULL } };
static const struct verb_opt opts_dns_records[] = {
    { "domain", "D", "a domain whose reports come here (repeat it)" },
    { "check", NULL, "resolve the records and compare" },
    { "wildcard", NULL, "one *._report._dmarc record for every domain" },
    { "p", "POLICY", "DMARC policy: none, quarantine or reject (none)" },
    { "sp", "POLICY", "DMARC subdomain policy" },
    { "adkim", "r|s", "DKIM alignment" },
    { "aspf", "r|s", "SPF alignment" },
    { "pct", "N", "percentage the policy applies to" },
    { "size", "SIZE", "size limit on the mailto URI, e.g. 10m" },
    { NULL, NULL, NULL } };
static const struct verb_opt opts_token[] = {
    { "scope", "read|write", "what the token may do (needed)" },
    { NULL, NULL, NULL } };

static const struct verb verbs[] = {
    { "parse",
    "  parse [--dkim] [OPTIONS] FILE...\n"
    "                           parse report files (xml, json, gzip, zip or\n"
    "                           plain, told apart by content) or report mails\n"
    "                           (eml; --dkim adds the DKIM verdict) and print\n"
    "                           one\n"
    "                           JSON object per file and line:\n"
    "                           {\"file\",\"reports\",\"warnings\",\"error\"}\n"
    "                           (docs/report-json.md); exit 0 if every file\n"
    "                           gave at least one report, else 1\n",
      opts_parse, LOG_L_WARN, cmd_parse },
    { "dkim-verify",
    "  dkim-verify [--dns-server=HOST:PORT] FILE...\n"
    "                           check the DKIM signatures of mails (RFC 6376,\n"
    "                           RFC 8463); one JSON line per file:\n"
    "                           {\"file\",\"result\",\"aligned\",\"domain\",\n"
    "                           \"selector\",\"from_domain\",\"signatures\"}; exit\n"
    "                           0 only when every file has a passing signature\n",
      opts_none, LOG_L_WARN, cmd_dkim_verify },
    { "migrate",
    "  migrate                  create or update the schema in the database\n"
    "                           (database_url or RUAD_DATABASE_URL)\n",
      opts_none, LOG_L_WARN, cmd_migrate },
    { "import",
    "  import [OPTIONS] FILE|DIR...\n"
    "                           store each file (eml, xml, json, gzip, zip;\n"
    "                           directories are walked) as received, process\n"
    "                           it, print \"FILE: VERDICT reports...\"; exit 0\n"
    "                           if every file was parsed or a duplicate\n",
      opts_none, LOG_L_WARN, cmd_import },
    { "serve",
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
    "                           --check-config checks the settings and the\n"
    "                           files they name, prints \"configuration OK\"\n"
    "                           or every problem\n",
      opts_serve, LOG_L_INFO, cmd_serve },
    { "imap-fetch",
    "  imap-fetch [--source NAME] [OPTIONS]\n"
    "                           poll each IMAP source (imap.NAME.* settings)\n"
    "                           once: store new messages, do the action,\n"
    "                           process them and print one line per message\n"
    "                           and source; exit 0 if every poll succeeded\n",
      opts_imap_fetch, LOG_L_WARN, cmd_imap_fetch },
    { "reprocess",
    "  reprocess [--state STATE]\n"
    "                           run the rows in STATE again (default\n"
    "                           failed; also pending, malformed, too_large,\n"
    "                           not_a_report, unauthenticated)\n",
      opts_reprocess, LOG_L_WARN, cmd_reprocess },
    { "dns-records",
    "  dns-records --domain D [--domain D2...] [--check] [--wildcard]\n"
    "              [--p none|quarantine|reject] [--sp ...] [--adkim r|s]\n"
    "              [--aspf r|s] [--pct N] [--size 10m]\n"
    "                           print the DNS records that send D's reports\n"
    "                           here (from smtp_accept, smtp_hostname,\n"
    "                           public_url, mta_sts_policy); --check\n"
    "                           resolves them (dns_server) and prints ok,\n"
    "                           missing, different or error per record;\n"
    "                           exit 0 when all are ok, 1 if not, 3 when\n"
    "                           DNS did not answer\n",
      opts_dns_records, LOG_L_INFO, cmd_dns_records },
    { "config-reference",
    "  config-reference         print every setting as Markdown\n"
    "                           (docs/configuration.md)\n",
      opts_none, LOG_L_WARN, cmd_config_reference },
    { "token",
    "  token new --scope read|write [OPTIONS]\n"
    "                           make a bearer token for /api/v1, print it\n"
    "                           once and append its SHA-256 and scope to\n"
    "                           api_tokens_file (a running serve picks it up);\n"
    "                           serve answers /api/v1 (docs/openapi.json)\n"
    "                           only to such tokens\n",
      opts_token, LOG_L_WARN, cmd_token },
};

#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

static const char options_text[] =
    "  --config FILE, --config=FILE\n"
    "                  read settings from FILE (flags override it)\n"
    "  --KEY VALUE, --KEY=VALUE\n"
    "                  any setting (dashes and underscores are alike)\n"
    "  -h, --help      this text\n";

static void
usage(FILE *f)
{
    size_t i;

    fputs("usage: ruad [--help] [--version] VERB [ARGS]\n"
        "       ruad VERB --help\n"
        "\n"
        "ruad receives DMARC aggregate reports (RFC 7489, RFC 9990) and SMTP TLS\n"
        "reports (RFC 8460) and keeps them in PostgreSQL.\n"
        "\n"
        "verbs (options and arguments in any order; --key value or\n"
        "--key=value):\n", f);
    for (i = 0; i < N_VERBS; i++)
        fputs(verbs[i].text, f);
    fputs("\nsettings (in a --config FILE as `key = value`, or as --key=value\n"
        "flags, which override the file; dashes and underscores are alike):\n",
        f);
    config_usage(f);
    fputs("\noptions of every verb:\n", f);
    fputs(options_text, f);
    fputs("  -V, --version   print the version\n", f);
}

/* verb_usage - `ruad VERB --help` */
static void
verb_usage(FILE *f, const struct verb *v)
{
    const struct verb_opt *o;
    const char            *syn = v->text + 2, *nl = strchr(syn, '\n');
    const char            *gap = strstr(syn, "   ");

    if (gap != NULL && gap < nl) {       /* "verb    meaning": split */
        fprintf(f, "usage: ruad %.*s\n%27s", (int)(gap - syn), syn, "");
        syn = gap + strspn(gap, " ");
        fputs(syn, f);
    } else {
        fprintf(f, "usage: ruad %s", syn);
    }
    fputs("\noptions:\n", f);
    for (o = v->opts; o->name != NULL; o++) {
        char head[64];

        snprintf(head, sizeof(head), "--%s%s%s", o->name, o->arg ? " " :
            "", o->arg ? o->arg : "");
        fprintf(f, "  %-22s %s\n", head, o->help);
    }
    fputs(options_text, f);
    fputs("\nThe settings are listed by `ruad --help` and `ruad "
        "config-reference`.\n", f);
}

/* args_value - the last value given for the verb option, or NULL */
static const char *
args_value(const struct args *a, const char *name)
{
    const char *v = NULL;
    size_t      i;

    for (i = 0; i < a->n_given; i++)
        if (strcmp(a->given[i].opt->name, name) == 0)
            v = a->given[i].value;
    return v;
}

/* take_value - an option's value: after '=', else the next word */
static const char *
take_value(int argc, char **argv, int *i, const char *eq)
{
    if (eq != NULL)
        return eq + 1;
    if (*i + 1 < argc)
        return argv[++*i];
    return NULL;
}

/*
 * args_parse - sort argv (after the verb) into the verb's options, the
 * settings (applied to cfg: every --config file first, then the flags in
 * order; a list flag replaces the file's list, repeated it appends) and
 * the operands.  Returns 1 to go on, 0 when --help was printed, -1 on an
 * error (already reported).
 */
static int
args_parse(const struct verb *v, int argc, char **argv, struct config *cfg,
    struct args *a)
{
    const char *vals[ARGS_GIVEN_MAX], *keys[ARGS_GIVEN_MAX], *eq, *val;
    char        name[128], err[1200], listed[ARGS_GIVEN_MAX][64];
    int         i, k, n_flags = 0, n_listed = 0;
    bool        dashdash = false, is_cfg;
    const struct verb_opt *o;

    memset(a, 0, sizeof(*a));
    a->verb = v;
    a->operands = argv + 1;
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];

        if (dashdash || arg[0] != '-' || arg[1] == '\0') {
            argv[1 + a->n_operands++] = argv[i];   /* stays in order */
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            dashdash = true;
            continue;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            verb_usage(stdout, v);
            return 0;
        }
        if (arg[1] != '-') {
            fprintf(stderr, "ruad: %s: unknown option %s (ruad %s --help)\n",
                v->name, arg, v->name);
            return -1;
        }
        eq = strchr(arg, '=');
        snprintf(name, sizeof(name), "%.*s", (int)(eq != NULL ?
            (size_t)(eq - arg - 2) : strlen(arg + 2)), arg + 2);
        for (o = v->opts; o->name != NULL; o++)
            if (strcmp(o->name, name) == 0)
                break;
        is_cfg = strcmp(name, "config") == 0;
        if (o->name != NULL && o->arg == NULL) {
            if (eq != NULL) {
                fprintf(stderr, "ruad: %s: --%s takes no value\n", v->name,
                    name);
                return -1;
            }
            val = "";
        } else if (o->name != NULL || is_cfg || config_has_key(name)) {
            if ((val = take_value(argc, argv, &i, eq)) == NULL) {
                fprintf(stderr, "ruad: %s: --%s needs a value (--%s %s)\n",
                    v->name, name, name, o->name != NULL ? o->arg :
                    is_cfg ? "FILE" : "VALUE");
                return -1;
            }
        } else {
            fprintf(stderr, "ruad: %s: unknown option --%s (ruad %s --help "
                "lists the options and settings)\n", v->name, name, v->name);
            return -1;
        }
        if (a->n_given + (size_t)n_flags >= ARGS_GIVEN_MAX) {
            fprintf(stderr, "ruad: %s: more than %d options\n", v->name,
                ARGS_GIVEN_MAX);
            return -1;
        }
        if (o->name != NULL) {
            a->given[a->n_given].opt = o;
            a->given[a->n_given++].value = val;
        } else {
            keys[n_flags] = arg;           /* "--key" or "--key=value" */
            vals[n_flags++] = val;
        }
    }
    /* the files first, then the flags over them */
    for (k = 0; k < n_flags; k++) {
        const char *arg = keys[k] + 2;

        if (strncmp(arg, "config", 6) == 0 && (arg[6] == '\0' ||
            arg[6] == '=') && config_load_file(cfg, vals[k], err,
            sizeof(err)) != RUAD_OK) {
            fprintf(stderr, "ruad: %s\n", err);
            return -1;
        }
    }
    for (k = 0; k < n_flags; k++) {
        const char *arg = keys[k] + 2;
        bool        again = false;
        char        norm[64];
        int         j;

        eq = strchr(arg, '=');
        snprintf(name, sizeof(name), "%.*s", (int)(eq != NULL ?
            (size_t)(eq - arg) : strlen(arg)), arg);
        if (strcmp(name, "config") == 0)
            continue;
        for (j = 0; name[j] != '\0' && j + 1 < (int)sizeof(norm); j++)
            norm[j] = name[j] == '-' ? '_' : name[j];
        norm[j] = '\0';
        for (j = 0; j < n_listed; j++)
            again |= strcmp(listed[j], norm) == 0;
        if (config_is_list(norm) && !again && n_listed < ARGS_GIVEN_MAX)
            snprintf(listed[n_listed++], sizeof(listed[0]), "%s", norm);
        if ((again ? config_add(cfg, name, vals[k], err, sizeof(err)) :
            config_set(cfg, name, vals[k], err, sizeof(err))) != RUAD_OK) {
            fprintf(stderr, "ruad: %s: --%s: %s\n", v->name, name, err);
            return -1;
        }
    }
    return 1;
}

/* args_no_operands - for verbs that take none: 0, or -1 (reported) */
static int
args_no_operands(const struct args *a)
{
    if (a->n_operands == 0)
        return 0;
    fprintf(stderr, "ruad: %s: unexpected argument \"%s\"\n", a->verb->name,
        a->operands[0]);
    return -1;
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
    dns_budget(dns, cfg->dkim_dns_budget_ms);
    lk.ctx = dns;
    lk.txt = NULL;
    lk.txt_many = dns != NULL ? dns_txt_many : NULL;
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

static int
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

static int
cmd_migrate(struct config *cfg, const struct args *a)
{
    struct store *st;
    int           applied = 0, version = 0;

    if (args_no_operands(a) != 0)
        return 2;
    if ((st = open_store(cfg)) == NULL)
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
cmd_import(struct config *cfg, const struct args *a)
{
    struct store *st;
    int           i;
    bool          ok = true;

    if (a->n_operands == 0) {
        fprintf(stderr, "ruad: import: no FILE given\n");
        return 2;
    }
    if ((st = open_store(cfg)) == NULL)
        return 3;
    for (i = 0; i < a->n_operands; i++)
        if (!import_path(st, cfg, a->operands[i], 0))
            ok = false;
    store_close(st);
    return ok ? 0 : 1;
}

static int
cmd_reprocess(struct config *cfg, const struct args *a)
{
    static const char *const states[] = { "failed", "pending", "processing",
        "malformed", "too_large", "not_a_report", "unauthenticated", NULL };
    struct store        *st;
    struct worker_result r;
    const char          *state = args_value(a, "state");
    int64_t              ids[1000];
    size_t               n, i, k, total = 0;
    char                 name[32];
    enum ruad_rc         rc;

    if (state == NULL)
        state = "failed";
    if (args_no_operands(a) != 0)
        return 2;
    for (k = 0; states[k] != NULL && strcmp(states[k], state) != 0; k++)
        ;
    if (states[k] == NULL) {
        fprintf(stderr, "ruad: reprocess: cannot reprocess state \"%s\"\n",
            state);
        return 2;
    }
    if ((st = open_store(cfg)) == NULL)
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
            rc = worker_process(st, cfg, ids[i], &r);
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
cmd_dkim_verify(struct config *cfg, const struct args *a)
{
    struct dkim_verdict v;
    struct dkim_summary sum;
    struct buf          line;
    int                 i, fd, failed = 0;
    size_t              len;
    char               *msg, *path;

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
        mail_dkim(cfg, msg, len, &v, &sum);
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
cmd_imap_fetch(struct config *cfg, const struct args *a)
{
    struct store           *st;
    struct imap_poll_result r;
    struct worker_result    w;
    struct fetch_ids        f = { 0 };
    atomic_bool             stop = false;
    const char             *only = args_value(a, "source");
    char                    err[600];
    int                     failed = 0, i;
    size_t                  k, j;

    if (args_no_operands(a) != 0)
        return 2;
    if (config_check(cfg, err, sizeof(err)) != RUAD_OK) {
        fprintf(stderr, "ruad: %s\n", err);
        return 2;
    }
    for (k = 0, i = 0; k < cfg->imap.n; k++)
        i += only == NULL || strcmp(cfg->imap.src[k].name, only) == 0;
    if (i == 0) {
        fprintf(stderr, "ruad: imap-fetch: %s\n", only != NULL ?
            "no such IMAP source" : "no IMAP source configured "
            "(imap.NAME.url ...)");
        return 2;
    }
    imap_global_init();
    if ((st = open_store(cfg)) == NULL)
        return 3;
    for (k = 0; k < cfg->imap.n; k++) {
        const struct imap_source_cfg *s = &cfg->imap.src[k];

        if (only != NULL && strcmp(s->name, only) != 0)
            continue;
        f.n = 0;
        if (imap_poll(cfg, s, st, &stop, fetch_stored, &f, &r) !=
            RUAD_OK) {
            fprintf(stderr, "ruad: imap.%s: %s\n", s->name, r.error);
            failed++;
        }
        for (j = 0; j < f.n; j++) {
            enum ruad_rc rc = worker_process(st, cfg, f.ids[j], &w);

            if (rc == RUAD_OK)
                import_print(s->name, &w);
            else
                printf("%s: queued [inbound %lld]\n", s->name,
                    (long long)f.ids[j]);
        }
        printf("%s: listed %u, stored %u, too_large %u, identical %u, "
            "acted %u%s\n", s->name, r.listed, r.stored, r.too_large,
            r.identical, r.acted,
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
cmd_serve(struct config *cfg, const struct args *a)
{
    struct store_pool  *pool;
    struct http_server *http;
    struct smtp_server *smtp = NULL;
    struct imap_pollers *imap;
    struct rlimit       rl;
    pthread_t          *workers;
    sigset_t            sigs;
    char                err[600];
    int                 sig = 0, i;
    bool                check = args_value(a, "check-config") != NULL;

    if (args_no_operands(a) != 0)
        return 2;
    if (config_check(cfg, err, sizeof(err)) != RUAD_OK) {
        fprintf(stderr, "ruad: %s\n", err);
        return 2;
    }
    if (check) {
        unsigned n = preflight_check(cfg, args_value(a, "as-user"),
            stderr);

        if (n > 0) {
            fprintf(stderr, "ruad: %u problem%s in the configuration\n", n,
                n == 1 ? "" : "s");
            return 2;
        }
        printf("configuration OK\n");
        return 0;
    }
    metrics_init();
    imap_global_init();
    metrics_add_section(imap_metrics_render);
    serve.cfg = cfg;
    /* glibc, before any thread: few arenas (8 per core by default, each
     * keeping what it once held), and big buffers (messages, bodies)
     * mmapped, so their pages go back to the system when freed */
    mallopt(M_ARENA_MAX, MALLOC_ARENAS_MAX);
    mallopt(M_MMAP_THRESHOLD, RECEIVE_TRIM_MIN);
    membudget_set(cfg->receive_max_bytes);
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

    if ((pool = store_pool_new(cfg->database_url, cfg->http_threads + 2)) ==
        NULL) {
        fprintf(stderr, "ruad: out of memory\n");
        return 1;
    }
    if ((serve.ingest = ingest_start(cfg->database_url, cfg->store_threads,
        serve_kick)) == NULL) {
        fprintf(stderr, "ruad: out of memory\n");
        store_pool_free(pool);
        return 1;
    }
    if ((http = http_server_start(cfg, pool, serve.ingest, serve_kick,
        err, sizeof(err))) == NULL) {
        fprintf(stderr, "ruad: %s\n", err);
        ingest_stop(serve.ingest);
        store_pool_free(pool);
        return 1;
    }
    if (cfg->smtp_listen[0] != '\0' &&
        (smtp = smtp_server_start(cfg, serve.ingest, err, sizeof(err))) ==
        NULL) {
        fprintf(stderr, "ruad: %s\n", err);
        http_server_stop(http, 0);
        ingest_stop(serve.ingest);
        store_pool_free(pool);
        return 1;
    }
    /* a DNS wait never holds every worker (worker.h) */
    worker_dns_waiters(cfg->workers - 1);
    if ((workers = calloc(cfg->workers, sizeof(*workers))) == NULL)
        return 1;
    for (i = 0; i < (int)cfg->workers; i++)
        pthread_create(&workers[i], NULL, serve_worker, NULL);
    imap = imap_start(cfg, serve_kick);
    log_info("serve started version=%s workers=%u pid=%d", RUAD_VERSION,
        cfg->workers, (int)getpid());

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
    for (i = 0; i < (int)cfg->workers; i++)
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
cmd_dns_records(struct config *cfg, const struct args *a)
{
    struct dnsrec_opts   o;
    struct dnsrec_lookup lk = { .txt = dns_txt, .mx = dns_mx,
        .tlsa = dns_tlsa, .addrs = dns_addrs };
    struct dns          *d;
    char                 err[600];
    unsigned             bad = 0;
    size_t               i;
    bool                 check = args_value(a, "check") != NULL;
    enum ruad_rc         rc;

    if (args_no_operands(a) != 0)
        return 2;
    memset(&o, 0, sizeof(o));
    for (i = 0; i < a->n_given; i++) {
        const char *n = a->given[i].opt->name, *v = a->given[i].value;

        if (strcmp(n, "domain") == 0) {
            if (*v == '\0') {
                fprintf(stderr, "ruad: dns-records: --domain needs a "
                    "domain\n");
                return 2;
            }
            if (o.n_domains == DNSREC_DOMAINS_MAX) {
                fprintf(stderr, "ruad: dns-records: more than %d domains\n",
                    DNSREC_DOMAINS_MAX);
                return 2;
            }
            o.domains[o.n_domains++] = v;
        } else if (strcmp(n, "wildcard") == 0) {
            o.wildcard = true;
        } else if (strcmp(n, "p") == 0) {
            o.p = v;
        } else if (strcmp(n, "sp") == 0) {
            o.sp = v;
        } else if (strcmp(n, "adkim") == 0) {
            o.adkim = v;
        } else if (strcmp(n, "aspf") == 0) {
            o.aspf = v;
        } else if (strcmp(n, "pct") == 0) {
            o.pct = v;
        } else if (strcmp(n, "size") == 0) {
            o.size = v;
        }
    }
    if (!check) {
        if (dnsrec_print(cfg, &o, stdout, err, sizeof(err)) != RUAD_OK) {
            fprintf(stderr, "ruad: dns-records: %s\n", err);
            return 2;
        }
        return 0;
    }
    if ((d = dns_new(cfg->dns_server, cfg->dns_timeout_ms, err,
        sizeof(err))) == NULL) {
        fprintf(stderr, "ruad: dns-records: %s\n", err);
        return 2;
    }
    lk.ctx = d;
    rc = dnsrec_check(cfg, &o, &lk, stdout, &bad, err, sizeof(err));
    dns_free(d);
    if (rc == RUAD_MALFORMED) {
        fprintf(stderr, "ruad: dns-records: %s\n", err);
        return 2;
    }
    return rc == RUAD_TEMPFAIL ? 3 : bad > 0 ? 1 : 0;
}

/* cmd_config_reference - every setting as Markdown */
static int
cmd_config_reference(struct config *cfg, const struct args *a)
{
    (void)cfg;
    if (args_no_operands(a) != 0)
        return 2;
    config_reference(stdout);
    return 0;
}

/* cmd_token - `ruad token new --scope read|write`: print a new token */
static int
cmd_token(struct config *cfg, const struct args *a)
{
    const char    *sc = args_value(a, "scope");
    enum api_scope scope = sc != NULL ? api_scope_parse(sc) :
        API_SCOPE_NONE;
    char           tok[API_TOKEN_LEN + 1], err[1200];

    if (a->n_operands != 1 || strcmp(a->operands[0], "new") != 0) {
        fprintf(stderr, "ruad: token: usage: ruad token new --scope "
            "read|write [--config FILE] [--api-tokens-file FILE]\n");
        return 2;
    }
    if (scope == API_SCOPE_NONE) {
        fprintf(stderr, "ruad: token: --scope read or --scope write%s%s%s\n",
            sc != NULL ? " (not \"" : "", sc != NULL ? sc : "",
            sc != NULL ? "\")" : "");
        return 2;
    }
    if (api_token_new(cfg->api_tokens_file, scope, tok, err, sizeof(err)) !=
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
    const struct verb *v = NULL;
    struct config      cfg;
    struct args       *a;
    size_t             i;
    int                rc;

    imap_config_register();            /* imap.NAME.* keys (config.c) */
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        for (i = 0; argc > 2 && i < N_VERBS; i++)
            if (strcmp(verbs[i].name, argv[2]) == 0)
                v = &verbs[i];
        if (v != NULL)
            verb_usage(stdout, v);
        else
            usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("ruad %s\n", RUAD_VERSION);
        return 0;
    }
    for (i = 0; i < N_VERBS; i++)
        if (strcmp(verbs[i].name, argv[1]) == 0)
            v = &verbs[i];
    if (v == NULL) {
        fprintf(stderr, "ruad: unknown verb \"%s\" (see ruad --help)\n",
            argv[1]);
        return 2;
    }
    if ((a = malloc(sizeof(*a))) == NULL) {
        fprintf(stderr, "ruad: out of memory\n");
        return 1;
    }
    config_init(&cfg);
    cfg.log_level = v->log_level;
    rc = args_parse(v, argc - 1, argv + 1, &cfg, a);
    if (rc > 0) {
        log_set_level((enum log_level)cfg.log_level);
        rc = v->run(&cfg, a);
    } else {
        rc = rc == 0 ? 0 : 2;
    }
    config_free(&cfg);
    free(a);
    return rc;
}
