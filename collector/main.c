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
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
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
    "parse options:\n"
    "  --max-decompressed=BYTES   decompressed bytes per file (268435456)\n"
    "  --max-ratio=N              compression ratio past 1 MiB (200)\n"
    "  --max-zip-members=N        report members taken from a zip (16)\n"
    "  --max-records=N            records per DMARC report (10000000)\n"
    "  --max-tlsrpt-bytes=BYTES   size of one TLS report (67108864)\n"
    "  --log-level=LEVEL          error, warn, info, debug (warn)\n"
    "\n"
    "options:\n"
    "  -h, --help      this text\n"
    "  -V, --version   print the version\n";

static void
usage(FILE *f)
{
    fputs(usage_text, f);
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

/* parse_size - a positive decimal number for an option */
static bool
parse_size(const char *s, uint64_t *out)
{
    char              *end;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0)
        return false;
    *out = v;
    return true;
}

static int
cmd_parse(int argc, char **argv)
{
    enum { O_DECOMP = 256, O_RATIO, O_MEMBERS, O_RECORDS, O_TLSBYTES,
        O_LOGLEVEL };
    static const struct option opts[] = {
        { "max-decompressed", required_argument, NULL, O_DECOMP },
        { "max-ratio", required_argument, NULL, O_RATIO },
        { "max-zip-members", required_argument, NULL, O_MEMBERS },
        { "max-records", required_argument, NULL, O_RECORDS },
        { "max-tlsrpt-bytes", required_argument, NULL, O_TLSBYTES },
        { "log-level", required_argument, NULL, O_LOGLEVEL },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct report_limits lim;
    struct parse_out     o;
    uint64_t             v = 0;
    int                  c, i, lvl, failed = 0;

    report_limits_default(&lim);
    log_set_level(LOG_L_WARN);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 0;
        }
        if (c == O_LOGLEVEL) {
            if ((lvl = log_parse_level(optarg)) < 0)
                goto bad;
            log_set_level((enum log_level)lvl);
            continue;
        }
        if (c == '?' || !parse_size(optarg, &v))
            goto bad;
        switch (c) {
        case O_DECOMP:   lim.decomp_out_max = v; break;
        case O_RATIO:    lim.decomp_ratio_max = v; break;
        case O_MEMBERS:
            if (v > 4096)
                goto bad;
            lim.zip_members_max = (unsigned)v;
            break;
        case O_RECORDS:  lim.records_max = v; break;
        case O_TLSBYTES:
            if (v > (1ull << 30))
                goto bad;
            lim.json_max = (size_t)v;
            break;
        }
    }
    if (optind >= argc) {
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
    for (i = optind; i < argc; i++)
        if (!parse_one(argv[i], &lim, &o))
            failed++;
    fclose(o.recs);
    fclose(o.reports);
    buf_free(&o.line);
    return failed ? 1 : 0;
bad:
    fprintf(stderr, "ruad: parse: bad option or value (see ruad --help)\n");
    return 2;
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
