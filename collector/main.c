/*
 * main.c - the ruad command line: the verb table, argument parsing,
 * usage texts and exit codes.  The verbs themselves are in cmd_*.c
 * (cmd.h lists them).
 *
 *   ruad parse FILE...     print each file's reports as JSON, one line each
 *   ruad migrate           create or update the database schema
 *   ruad import FILE|DIR.. store files as received, process, print verdicts
 *   ruad reprocess         run rows again (after a fix)
 *   ruad dkim-verify FILE  check the DKIM signatures of mails
 *   ruad serve             the service: receivers (HTTP(S), SMTP, IMAP)
 *                          and workers
 *   ruad imap-fetch        poll the IMAP sources once (cron)
 *   ruad dns-records       the DNS records to publish, or check them
 *   ruad config-reference  every setting as Markdown
 *   ruad token new         a bearer token for the query API
 *   ruad --help | --version
 */
#include "cmd.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "imap_config.h"
#include "log.h"
#include "preflight.h"
#include "store_pg.h"

/* One verb: its name, help, options and the function that runs it. */
struct verb {
    const char            *name;
    const char            *text;   /* its --help block: synopsis, meaning */
    const struct verb_opt *opts;   /* ends with { NULL } */
    int                    log_level;
    int                  (*run)(struct config *, const struct args *);
};

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
    "                           run the rows in STATE again, each once, in\n"
    "                           id order (default failed; also pending,\n"
    "                           processing, malformed, too_large,\n"
    "                           not_a_report, unauthenticated); print one\n"
    "                           line per row, then the count\n",
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

const char *
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

int
args_no_operands(const struct args *a)
{
    if (a->n_operands == 0)
        return 0;
    fprintf(stderr, "ruad: %s: unexpected argument \"%s\"\n", a->verb->name,
        a->operands[0]);
    return -1;
}

struct store *
cmd_open_store(const struct config *cfg)
{
    struct store *st;
    char          err[600];

    if ((st = store_open(cfg->database_url, err, sizeof(err))) == NULL)
        fprintf(stderr, "ruad: %s\n", err);
    return st;
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
