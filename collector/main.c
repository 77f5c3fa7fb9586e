/*
 * main.c - the ruad command line: verbs, options, exit codes.
 *
 *   ruad parse FILE...     print each file's reports as JSON, one line each
 *   ruad --help | --version
 *
 * `ruad parse` needs no database: it is the debugging tool and the test
 * oracle.  Output is streamed through temporary files, so memory does not
 * grow with the size of a report.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
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
    "  parse [OPTIONS] FILE...  parse report files (xml, json, gzip, zip or\n"
    "                           plain, told apart by content) and print one\n"
    "                           JSON object per file and line:\n"
    "                           {\"file\",\"reports\",\"warnings\",\"error\"}\n"
    "                           (docs/report-json.md); exit 0 if every file\n"
    "                           gave at least one report, else 1\n"
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

/* parse_one - parse path and print its line; true if it gave a report */
static bool
parse_one(const char *path, const struct report_limits *lim,
    struct parse_out *o)
{
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
        if (!parse_one(argv[i], &cfg.limits, &o))
            failed++;
    fclose(o.recs);
    fclose(o.reports);
    buf_free(&o.line);
    return failed ? 1 : 0;
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
    fprintf(stderr, "ruad: unknown verb \"%s\" (see ruad --help)\n", verb);
    return 2;
}
