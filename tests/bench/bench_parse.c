/*
 * bench_parse.c - how fast ruad parses reports next to the raw speed of
 * the libraries under it, and how much time and memory `ruad parse`
 * spends on a large report and on each attack (tests/bench/README.md).
 *
 *   bench_parse [--ruad PATH] [--mkinput PATH] [--tmp DIR] [--runs N]
 *
 * The inputs are made by mkinput (tests/tools/mkinput.c) in DIR and
 * removed afterwards: DMARC reports of 5, 200 and 100,000 records, plain
 * and gzip, and a TLS report with 10,000 failure details.
 *
 * Throughput: report_parse_mem() into a counting sink, and on the same
 * bytes in the same run zlib inflate alone, an xmlTextReader pass that
 * extracts nothing and a SAX2 push parse with no callbacks.  For a gzip
 * input the reader and SAX passes read through inflate, as ruad does.
 * MB/s are of decompressed bytes; each figure is the best of N runs timed
 * with CLOCK_MONOTONIC, a run repeating small inputs for BENCH_MIN_SECS.
 * malloc is set not to trim or mmap below 32 MB, so every pass finds the
 * heap as the one before left it.
 *
 * Memory: `ruad parse FILE` runs as a child (fork, exec, wait4) with its
 * output to /dev/null; ru_maxrss and the wall time are checked against
 * the targets: an attack is refused in under TARGET_REFUSE_S with a peak
 * RSS under TARGET_RSS_KB, and the large report parses within that RSS
 * at TARGET_SPEED or more of the raw reader's speed.
 *
 * Exit status: 0 when every target is met, 1 when one is missed, 2 when
 * the benchmark could not run.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xmlreader.h>
#include <zlib.h>

#include "report.h"

#define BENCH_CHUNK      (64u * 1024) /* push/inflate piece, as in ruad */
#define BENCH_MIN_SECS   0.05         /* one timed run lasts at least this */
#define BENCH_PATH_MAX   4096
#define TARGET_RSS_KB    (64L * 1024) /* peak RSS of `ruad parse` */
#define TARGET_REFUSE_S  1.0          /* an attack is refused within this */
#define TARGET_SPEED     0.5          /* ruad / raw reader, large report */

/* One input: how mkinput makes it and what it holds. */
struct input {
    const char    *label;
    const char    *kind;       /* mkinput kind */
    const char    *n;          /* mkinput N */
    const char    *file;       /* name in the temporary directory */
    bool           gz;
    bool           json;
    bool           large;      /* the large report: targets apply */
    char           path[BENCH_PATH_MAX];
    unsigned char *data;       /* owned: the file */
    size_t         len;
    uint64_t       bytes;      /* decompressed XML or JSON bytes */
    uint64_t       items;      /* records, or TLS failure details */
    uint64_t       sum;        /* messages, or failed sessions */
};

static struct input inputs[] = {
    { "dmarc small", "dmarc", "5", "small.xml", false, false, false,
      "", NULL, 0, 0, 0, 0 },
    { "dmarc small", "dmarc-gz", "5", "small.xml.gz", true, false, false,
      "", NULL, 0, 0, 0, 0 },
    { "dmarc medium", "dmarc", "200", "medium.xml", false, false, false,
      "", NULL, 0, 0, 0, 0 },
    { "dmarc medium", "dmarc-gz", "200", "medium.xml.gz", true, false,
      false, "", NULL, 0, 0, 0, 0 },
    { "dmarc large", "dmarc", "100000", "large.xml", false, false, true,
      "", NULL, 0, 0, 0, 0 },
    { "dmarc large", "dmarc-gz", "100000", "large.xml.gz", true, false,
      true, "", NULL, 0, 0, 0, 0 },
    { "tlsrpt 10000", "tlsrpt", "10000", "tlsrpt.json", false, true, false,
      "", NULL, 0, 0, 0, 0 },
};

#define N_INPUTS (sizeof(inputs) / sizeof(inputs[0]))

/* The attacks whose time and peak RSS are measured. */
static const struct attack {
    const char *kind;
    const char *n;              /* NULL: none */
} attacks[] = {
    { "gzip-bomb", NULL },
    { "gzip-bomb-xml", NULL },
    { "zip-bomb", NULL },
    { "zip-bomb-lie", NULL },
    { "zip-bomb-lie-xml", NULL },
    { "gzip-nested-bomb", NULL },
    { "gzip-nested-bomb-xml", NULL },
    { "xxe-file", NULL },
    { "xxe-net", NULL },
    { "xxe-param", NULL },
    { "xxe-late", NULL },
    { "xxe-utf16", NULL },
    { "billion-laughs", NULL },
    { "quadratic-blowup", NULL },
    { "deep-xml", "100000" },
    { "deep-json", "100000" },
    { "truncated-gz", NULL },
    { "junk", "1000000" },
};

#define N_ATTACKS (sizeof(attacks) / sizeof(attacks[0]))

/* Settings from the command line. */
struct bench_opts {
    char     ruad[BENCH_PATH_MAX];
    char     mkinput[BENCH_PATH_MAX];
    char     tmp[BENCH_PATH_MAX];
    unsigned runs;
};

/* What the counting sink saw. */
struct bench_count {
    uint64_t reports;
    uint64_t items;
    uint64_t sum;
};

/* A gzip input read through inflate (raw baselines). */
struct gz_src {
    z_stream zs;
    bool     end;
    bool     err;
};

/* Figures for one input (seconds per pass; < 0: not applicable). */
struct figures {
    double ruad, inflate, reader, sax;
};

/* What a `ruad parse` child did. */
struct child {
    int    status;      /* exit status, or -1 */
    double secs;
    long   rss_kb;
};

/* ---- small helpers ---- */

static bool set_path(char *, size_t, const char *);

static void warnx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* warnx - "bench_parse: message" on stderr */
static void
warnx(const char *fmt, ...)
{
    va_list ap;

    fputs("bench_parse: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* now - CLOCK_MONOTONIC in seconds */
static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* join - dir "/" name into dst; false if it does not fit */
static bool
join(char *dst, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(dst, cap, "%s/%s", dir, name);

    return n > 0 && (size_t)n < cap;
}

/* fmt_size - bytes as "123 B", "2.3 KB", "59.9 MB" (powers of 1000) */
static const char *
fmt_size(char *dst, size_t cap, uint64_t v)
{
    if (v < 1000)
        snprintf(dst, cap, "%" PRIu64 " B", v);
    else if (v < 1000000)
        snprintf(dst, cap, "%.1f KB", (double)v / 1e3);
    else if (v < 1000000000)
        snprintf(dst, cap, "%.1f MB", (double)v / 1e6);
    else
        snprintf(dst, cap, "%.2f GB", (double)v / 1e9);
    return dst;
}

/* fmt_count - a rate or count as "950", "12.3K", "1.25M" */
static const char *
fmt_count(char *dst, size_t cap, double v)
{
    if (v < 0)
        snprintf(dst, cap, "-");
    else if (v < 1e4)
        snprintf(dst, cap, "%.0f", v);
    else if (v < 1e6)
        snprintf(dst, cap, "%.1fK", v / 1e3);
    else
        snprintf(dst, cap, "%.2fM", v / 1e6);
    return dst;
}

/* fmt_mbs - bytes per pass time as MB/s, "-" when not measured */
static const char *
fmt_mbs(char *dst, size_t cap, uint64_t bytes, double secs)
{
    if (secs <= 0)
        snprintf(dst, cap, "-");
    else
        snprintf(dst, cap, "%.1f", (double)bytes / 1e6 / secs);
    return dst;
}

/* kv_get - the number after " key=" (or at the start) in line */
static bool
kv_get(const char *line, const char *key, uint64_t *out)
{
    size_t      klen = strlen(key);
    const char *p = line;
    char       *end;

    while ((p = strstr(p, key)) != NULL) {
        if ((p == line || p[-1] == ' ') && p[klen] == '=' &&
            p[klen + 1] >= '0' && p[klen + 1] <= '9') {
            errno = 0;
            *out = strtoull(p + klen + 1, &end, 10);
            return errno == 0;
        }
        p += klen;
    }
    return false;
}

/* read_file - the whole file into *data (caller frees) */
static bool
read_file(const char *path, unsigned char **data, size_t *len)
{
    struct stat st;
    ssize_t     r;
    size_t      off = 0;
    int         fd;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
        warnx("%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return false;
    }
    *len = (size_t)st.st_size;
    if ((*data = malloc(*len > 0 ? *len : 1)) == NULL) {
        close(fd);
        warnx("out of memory");
        return false;
    }
    while (off < *len) {
        r = read(fd, *data + off, *len - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            warnx("%s: short read", path);
            close(fd);
            return false;
        }
        off += (size_t)r;
    }
    close(fd);
    return true;
}

/* ---- child processes ---- */

/*
 * run_mkinput - `mkinput KIND PATH [N]`, its summary line into line;
 * false (with a message) if it failed
 */
static bool
run_mkinput(const struct bench_opts *o, const char *kind, const char *path,
    const char *n, char *line, size_t cap)
{
    char   *argv[5];
    int     pfd[2], status;
    size_t  got = 0;
    ssize_t r;
    pid_t   pid;

    argv[0] = (char *)o->mkinput;
    argv[1] = (char *)kind;
    argv[2] = (char *)path;
    argv[3] = (char *)n;
    argv[4] = NULL;
    if (pipe(pfd) != 0) {
        warnx("pipe: %s", strerror(errno));
        return false;
    }
    if ((pid = fork()) < 0) {
        warnx("fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return false;
    }
    if (pid == 0) {
        close(pfd[0]);
        if (dup2(pfd[1], STDOUT_FILENO) < 0)
            _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    close(pfd[1]);
    for (;;) {
        r = read(pfd[0], line + got, cap - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || (got += (size_t)r) == cap - 1)
            break;
    }
    line[got] = '\0';
    close(pfd[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        warnx("%s %s %s failed (see above; is --mkinput right?)",
            o->mkinput, kind, path);
        return false;
    }
    return true;
}

/* run_ruad - `ruad parse PATH` with output to /dev/null: status, time, RSS */
static bool
run_ruad(const char *ruad, const char *path, struct child *c)
{
    char         *argv[4];
    struct rusage ru;
    double        t0;
    int           status, fd;
    pid_t         pid;

    argv[0] = (char *)ruad;
    argv[1] = (char *)"parse";
    argv[2] = (char *)path;
    argv[3] = NULL;
    t0 = now();
    if ((pid = fork()) < 0) {
        warnx("fork: %s", strerror(errno));
        return false;
    }
    if (pid == 0) {
        if ((fd = open("/dev/null", O_WRONLY)) < 0 ||
            dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
            _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            warnx("wait4: %s", strerror(errno));
            return false;
        }
    }
    c->secs = now() - t0;
    c->rss_kb = ru.ru_maxrss;
    c->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (c->status == 127) {
        warnx("cannot run %s (is --ruad right?)", ruad);
        return false;
    }
    return true;
}

/*
 * The spawner: ru_maxrss of a child starts at the high-water mark of the
 * process it was forked from (Linux keeps it across exec), and this one
 * holds 60 MB of inputs.  So `ruad parse` is forked from a helper made
 * first thing in main(), while this process is still small, which asks
 * it to run one file at a time over a pipe.
 */
struct spawn_req {
    char ruad[BENCH_PATH_MAX];
    char path[BENCH_PATH_MAX];
};

struct spawn_resp {
    bool         ok;
    struct child c;
};

struct spawner {
    pid_t pid;
    int   req;      /* write end */
    int   resp;     /* read end */
};

/* xfer - read or write all n bytes of p; false on EOF or error */
static bool
xfer(int fd, void *p, size_t n, bool wr)
{
    char   *b = p;
    ssize_t r;

    while (n > 0) {
        r = wr ? write(fd, b, n) : read(fd, b, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        b += r;
        n -= (size_t)r;
    }
    return true;
}

/* spawner_start - fork the helper; false with a message on failure */
static bool
spawner_start(struct spawner *s)
{
    struct spawn_req  rq;
    struct spawn_resp rs;
    int               a[2], b[2];

    if (pipe(a) != 0 || pipe(b) != 0) {
        warnx("pipe: %s", strerror(errno));
        return false;
    }
    if ((s->pid = fork()) < 0) {
        warnx("fork: %s", strerror(errno));
        return false;
    }
    if (s->pid == 0) {
        close(a[1]);
        close(b[0]);
        while (xfer(a[0], &rq, sizeof(rq), false)) {
            memset(&rs, 0, sizeof(rs));
            rs.ok = run_ruad(rq.ruad, rq.path, &rs.c);
            if (!xfer(b[1], &rs, sizeof(rs), true))
                break;
        }
        _exit(0);
    }
    close(a[0]);
    close(b[1]);
    s->req = a[1];
    s->resp = b[0];
    return true;
}

/* spawner_run - `ruad parse path` through the helper */
static bool
spawner_run(const struct spawner *s, const char *ruad, const char *path,
    struct child *c)
{
    struct spawn_req  rq;
    struct spawn_resp rs;

    memset(&rq, 0, sizeof(rq));
    if (!set_path(rq.ruad, sizeof(rq.ruad), ruad) ||
        !set_path(rq.path, sizeof(rq.path), path) ||
        !xfer(s->req, &rq, sizeof(rq), true) ||
        !xfer(s->resp, &rs, sizeof(rs), false)) {
        warnx("the spawner failed");
        return false;
    }
    *c = rs.c;
    return rs.ok;
}

/* spawner_stop - end the helper and reap it */
static void
spawner_stop(struct spawner *s)
{
    int status;

    close(s->req);
    close(s->resp);
    while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
        ;
}

/* ---- the passes that are timed ---- */

static enum ruad_rc
count_record(void *ctx, const struct dmarc_report *rep,
    const struct dmarc_record *rec)
{
    struct bench_count *c = ctx;

    (void)rep;
    c->items++;
    c->sum += rec->count;
    return RUAD_OK;
}

static enum ruad_rc
count_dmarc_done(void *ctx, const struct dmarc_report *rep)
{
    struct bench_count *c = ctx;

    (void)rep;
    c->reports++;
    return RUAD_OK;
}

static enum ruad_rc
count_tlsrpt_done(void *ctx, const struct tlsrpt_report *rep)
{
    struct bench_count *c = ctx;
    size_t              i, j;

    c->reports++;
    for (i = 0; i < rep->n_policies; i++) {
        c->items += rep->policies[i].n_failures;
        for (j = 0; j < rep->policies[i].n_failures; j++)
            c->sum += rep->policies[i].failures[j].failed_session_count;
    }
    return RUAD_OK;
}

/* pass_ruad - report_parse_mem() into a counting sink; counts checked */
static bool
pass_ruad(const struct input *in)
{
    struct bench_count   c = { 0, 0, 0 };
    struct report_sink   sink = {
        .ctx = &c,
        .dmarc_record = count_record,
        .dmarc_done = count_dmarc_done,
        .tlsrpt_done = count_tlsrpt_done,
    };
    struct report_limits lim;
    struct report_diag   diag;
    enum ruad_rc         rc;
    unsigned             n = 0;
    bool                 ok;

    report_limits_default(&lim);
    report_diag_init(&diag);
    rc = report_parse_mem(in->data, in->len, &lim, &sink, &diag, &n);
    ok = rc == RUAD_OK && n == 1 && c.items == in->items &&
        c.sum == in->sum;
    if (!ok)
        warnx("%s: ruad gave rc %d (%s), %u reports, %" PRIu64 "/%" PRIu64
            " items/sum, want %" PRIu64 "/%" PRIu64, in->file, (int)rc,
            diag.error, n, c.items, c.sum, in->items, in->sum);
    report_diag_free(&diag);
    return ok;
}

/* gz_open - inflate (gzip wrapper) over the whole input */
static bool
gz_open(struct gz_src *g, const struct input *in)
{
    memset(g, 0, sizeof(*g));
    if (inflateInit2(&g->zs, 15 + 16) != Z_OK)
        return false;
    g->zs.next_in = in->data;
    g->zs.avail_in = (uInt)in->len;
    return true;
}

/* gz_read - up to len inflated bytes; 0 at the end, -1 on an error */
static int
gz_read(void *ctx, char *buf, int len)
{
    struct gz_src *g = ctx;
    int            ret;

    if (g->end || g->err)
        return g->err ? -1 : 0;
    g->zs.next_out = (unsigned char *)buf;
    g->zs.avail_out = (uInt)len;
    while (g->zs.avail_out == (uInt)len) {
        ret = inflate(&g->zs, Z_NO_FLUSH);
        if (ret == Z_STREAM_END) {
            g->end = true;
            break;
        }
        if (ret != Z_OK) {
            g->err = true;
            return -1;
        }
    }
    return len - (int)g->zs.avail_out;
}

/* gz_close_cb - libxml2's close callback; inflateEnd is ours to call */
static int
gz_close_cb(void *ctx)
{
    (void)ctx;
    return 0;
}

/* pass_inflate - inflate the whole input into a reused buffer */
static bool
pass_inflate(const struct input *in)
{
    static char   buf[BENCH_CHUNK];
    struct gz_src g;
    uint64_t      total = 0;
    int           n;

    if (!gz_open(&g, in))
        return false;
    while ((n = gz_read(&g, buf, sizeof(buf))) > 0)
        total += (uint64_t)n;
    inflateEnd(&g.zs);
    return n == 0 && total == in->bytes;
}

/* pass_reader - an xmlTextReader walk that extracts nothing */
static bool
pass_reader(const struct input *in)
{
    xmlTextReaderPtr r;
    struct gz_src    g;
    int              ret, opts = XML_PARSE_NONET | XML_PARSE_NOERROR |
        XML_PARSE_NOWARNING;

    if (in->gz) {
        if (!gz_open(&g, in))
            return false;
        r = xmlReaderForIO(gz_read, gz_close_cb, &g, NULL, NULL, opts);
    } else {
        r = xmlReaderForMemory((const char *)in->data, (int)in->len, NULL,
            NULL, opts);
    }
    if (r == NULL)
        ret = -1;
    else
        while ((ret = xmlTextReaderRead(r)) == 1)
            ;
    xmlFreeTextReader(r);
    if (in->gz)
        inflateEnd(&g.zs);
    return ret == 0;
}

/* pass_sax - a SAX2 push parse with no callbacks, BENCH_CHUNK at a time */
static bool
pass_sax(const struct input *in)
{
    static char      buf[BENCH_CHUNK];
    xmlSAXHandler    sax;
    xmlParserCtxtPtr ctxt;
    struct gz_src    g;
    size_t           off = 0;
    int              n, ok;

    memset(&sax, 0, sizeof(sax));
    sax.initialized = XML_SAX2_MAGIC;
    if ((ctxt = xmlCreatePushParserCtxt(&sax, NULL, NULL, 0, NULL)) == NULL)
        return false;
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR |
        XML_PARSE_NOWARNING);
    if (in->gz && !gz_open(&g, in)) {
        xmlFreeParserCtxt(ctxt);
        return false;
    }
    for (;;) {
        if (in->gz) {
            n = gz_read(&g, buf, sizeof(buf));
            if (n <= 0)
                break;
            xmlParseChunk(ctxt, buf, n, 0);
        } else {
            n = in->len - off > BENCH_CHUNK ? (int)BENCH_CHUNK :
                (int)(in->len - off);
            if (n == 0)
                break;
            xmlParseChunk(ctxt, (const char *)in->data + off, n, 0);
            off += (size_t)n;
        }
    }
    xmlParseChunk(ctxt, NULL, 0, 1);
    ok = ctxt->wellFormed && n == 0;
    xmlFreeParserCtxt(ctxt);
    if (in->gz)
        inflateEnd(&g.zs);
    return ok;
}

/*
 * time_best - seconds per pass of fn over in: best of runs, each run
 * repeating the pass for at least BENCH_MIN_SECS; -1 if a pass failed
 */
static double
time_best(bool (*fn)(const struct input *), const struct input *in,
    unsigned runs)
{
    double   t0, t, best = INFINITY;
    unsigned r, i, iters;

    t0 = now();
    if (!fn(in))                        /* warm-up and correctness */
        return -1;
    t = now() - t0;
    iters = t >= BENCH_MIN_SECS ? 1 : (unsigned)(BENCH_MIN_SECS /
        (t > 1e-7 ? t : 1e-7)) + 1;
    for (r = 0; r < runs; r++) {
        t0 = now();
        for (i = 0; i < iters; i++)
            if (!fn(in))
                return -1;
        t = (now() - t0) / iters;
        if (t < best)
            best = t;
    }
    return best;
}

/* ---- the two tables ---- */

/* make_inputs - run mkinput for every input and load the files */
static bool
make_inputs(const struct bench_opts *o)
{
    char   line[512];
    size_t i;

    for (i = 0; i < N_INPUTS; i++) {
        struct input *in = &inputs[i];

        if (!join(in->path, sizeof(in->path), o->tmp, in->file) ||
            !run_mkinput(o, in->kind, in->path, in->n, line, sizeof(line)))
            return false;
        if (!kv_get(line, "bytes", &in->bytes) ||
            !kv_get(line, in->json ? "details" : "records", &in->items) ||
            !kv_get(line, in->json ? "failed_sessions" : "messages",
            &in->sum)) {
            warnx("mkinput %s: unexpected summary \"%s\"", in->kind, line);
            return false;
        }
        if (!read_file(in->path, &in->data, &in->len))
            return false;
    }
    return true;
}

/*
 * throughput - the first table; fig[i] gets input i's figures.  Returns
 * the number of missed targets, or -1 if a pass failed.
 */
static int
throughput(const struct bench_opts *o, struct figures *fig)
{
    char   b[8][32];
    size_t i;
    int    missed = 0;

    printf("Throughput (MB/s of decompressed bytes; best of %u runs)\n\n",
        o->runs);
    printf("%-13s %-4s %8s %8s %7s | %7s %9s | %7s %7s %7s | %7s\n",
        "input", "", "data", "file", "records", "ruad", "records/s",
        "inflate", "reader", "SAX", "ruad/");
    printf("%-13s %-4s %8s %8s %7s | %7s %9s | %7s %7s %7s | %7s\n",
        "", "", "", "", "", "MB/s", "", "MB/s", "MB/s", "MB/s", "reader");
    printf("%.*s\n", 100, "------------------------------------------------"
        "----------------------------------------------------------------");
    for (i = 0; i < N_INPUTS; i++) {
        const struct input *in = &inputs[i];
        struct figures     *f = &fig[i];
        double              ratio = -1;

        fflush(stdout);
        f->ruad = time_best(pass_ruad, in, o->runs);
        f->inflate = in->gz ? time_best(pass_inflate, in, o->runs) : 0;
        f->reader = in->json ? 0 : time_best(pass_reader, in, o->runs);
        f->sax = in->json ? 0 : time_best(pass_sax, in, o->runs);
        if (f->ruad < 0 || f->inflate < 0 || f->reader < 0 || f->sax < 0) {
            warnx("%s: a pass failed", in->file);
            return -1;
        }
        if (f->reader > 0)
            ratio = f->reader / f->ruad;
        printf("%-13s %-4s %8s %8s %7s | %7s %9s | %7s %7s %7s | ",
            in->label, in->json ? "json" : in->gz ? "gz" : "xml",
            fmt_size(b[0], sizeof(b[0]), in->bytes),
            fmt_size(b[1], sizeof(b[1]), in->len),
            fmt_count(b[2], sizeof(b[2]), (double)in->items),
            fmt_mbs(b[3], sizeof(b[3]), in->bytes, f->ruad),
            fmt_count(b[4], sizeof(b[4]), (double)in->items / f->ruad),
            fmt_mbs(b[5], sizeof(b[5]), in->bytes, f->inflate),
            fmt_mbs(b[6], sizeof(b[6]), in->bytes, f->reader),
            fmt_mbs(b[7], sizeof(b[7]), in->bytes, f->sax));
        if (ratio < 0)
            printf("%7s\n", "-");
        else if (in->large)
            printf("%6.0f%% %s\n", ratio * 100,
                ratio >= TARGET_SPEED ? "PASS" : "FAIL");
        else
            printf("%6.0f%%\n", ratio * 100);
        if (in->large && ratio < TARGET_SPEED)
            missed++;
    }
    printf("\ninflate: zlib alone; reader: xmlTextReaderRead() to the end; "
        "SAX: xmlParseChunk()\nwith no callbacks (both through inflate "
        "for gz).  Target for the large report:\nruad/reader >= %.0f%%.\n\n",
        TARGET_SPEED * 100);
    return missed;
}

/* rss_row - print one row of the memory table; true if it met targets */
static bool
rss_row(const char *label, const char *path, const struct child *c,
    bool want_ok, const char *note)
{
    char        b[32];
    struct stat st;
    bool        ok;

    if (stat(path, &st) != 0)
        st.st_size = 0;
    if (want_ok)
        ok = c->status == 0 && c->rss_kb < TARGET_RSS_KB;
    else
        ok = c->status == 1 && c->secs < TARGET_REFUSE_S &&
            c->rss_kb < TARGET_RSS_KB;
    printf("%-22s %9s %4d %8.3f s %7.1f MiB  %s%s%s\n", label,
        fmt_size(b, sizeof(b), (uint64_t)st.st_size), c->status,
        c->secs, (double)c->rss_kb / 1024, ok ? "PASS" : "FAIL",
        note != NULL ? " " : "", note != NULL ? note : "");
    return ok;
}

/*
 * memory - the second table: the large reports and every attack through
 * `ruad parse`.  Returns the number of missed targets, -1 on an error.
 */
static int
memory(const struct bench_opts *o, const struct spawner *sp,
    const struct figures *fig)
{
    char         path[BENCH_PATH_MAX], line[512], name[64], note[64];
    struct child c;
    size_t       i;
    int          missed = 0, fd;
    bool         ok;

    printf("Time and peak RSS of `ruad parse FILE` (targets: the large "
        "report parses, an\nattack is refused (exit 1) in < %.0f s; peak "
        "RSS < %ld MiB for both)\n\n", TARGET_REFUSE_S, TARGET_RSS_KB / 1024);
    printf("%-22s %9s %4s %10s %11s  %s\n", "input", "file", "exit",
        "time", "peak RSS", "result");
    printf("%.*s\n", 68, "------------------------------------------------"
        "--------------------------------");
    /* the floor: ruad refusing an empty file */
    if (!join(path, sizeof(path), o->tmp, "empty") ||
        (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0) {
        warnx("%s: %s", path, strerror(errno));
        return -1;
    }
    close(fd);
    ok = spawner_run(sp, o->ruad, path, &c);
    unlink(path);
    if (!ok)
        return -1;
    printf("%-22s %9s %4d %8.3f s %7.1f MiB  (floor)\n", "empty file", "0 B",
        c.status, c.secs, (double)c.rss_kb / 1024);
    for (i = 0; i < N_INPUTS; i++) {
        if (!inputs[i].large)
            continue;
        if (!spawner_run(sp, o->ruad, inputs[i].path, &c))
            return -1;
        snprintf(note, sizeof(note), "(%.0f%% of reader speed above)",
            fig[i].reader > 0 ? 100 * fig[i].reader / fig[i].ruad : 0.0);
        if (!rss_row(inputs[i].file, inputs[i].path, &c, true, note))
            missed++;
    }
    for (i = 0; i < N_ATTACKS; i++) {
        snprintf(name, sizeof(name), "%s%s%s", attacks[i].kind,
            attacks[i].n ? " " : "", attacks[i].n ? attacks[i].n : "");
        if (!join(path, sizeof(path), o->tmp, attacks[i].kind) ||
            !run_mkinput(o, attacks[i].kind, path, attacks[i].n, line,
            sizeof(line)) || !spawner_run(sp, o->ruad, path, &c)) {
            unlink(path);
            return -1;
        }
        if (!rss_row(name, path, &c, false, NULL))
            missed++;
        unlink(path);
    }
    printf("\n");
    return missed;
}

/* ---- command line ---- */

static const char usage_text[] =
    "usage: bench_parse [--ruad PATH] [--mkinput PATH] [--tmp DIR] "
    "[--runs N]\n"
    "  defaults: $RUAD_BIN and $RUAD_MKINPUT, else ruad and mkinput two\n"
    "  directories up from this program (the build tree); $RUAD_TEST_TMP/"
    "bench\n  or /tmp/ruad-bench; 5 runs\n";

/* set_path - copy s into dst; false if it does not fit */
static bool
set_path(char *dst, size_t cap, const char *s)
{
    int n = snprintf(dst, cap, "%s", s);

    return n >= 0 && (size_t)n < cap;
}

/* default_tool - name two directories above argv0's, as in a build tree */
static bool
default_tool(char *dst, size_t cap, const char *argv0, const char *env,
    const char *name)
{
    const char *e = getenv(env), *slash = strrchr(argv0, '/');
    int         n;

    if (e != NULL && *e != '\0')
        return set_path(dst, cap, e);
    if (slash == NULL)
        n = snprintf(dst, cap, "../../%s", name);
    else
        n = snprintf(dst, cap, "%.*s/../../%s", (int)(slash - argv0), argv0,
            name);
    return n >= 0 && (size_t)n < cap;
}

/* parse_args - options into o; false with a message on a bad one */
static bool
parse_args(int argc, char **argv, struct bench_opts *o)
{
    const char *e;
    char       *end;
    unsigned long v;
    int         i;

    o->runs = 5;
    e = getenv("RUAD_TEST_TMP");
    if (!default_tool(o->ruad, sizeof(o->ruad), argv[0], "RUAD_BIN",
        "ruad") || !default_tool(o->mkinput, sizeof(o->mkinput), argv[0],
        "RUAD_MKINPUT", "mkinput") ||
        !(e != NULL && *e != '\0' ? join(o->tmp, sizeof(o->tmp), e,
        "bench") : set_path(o->tmp, sizeof(o->tmp), "/tmp/ruad-bench")))
        return false;
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(usage_text, stdout);
            exit(0);
        }
        if (val == NULL)
            goto bad;
        i++;
        if (strcmp(arg, "--ruad") == 0) {
            if (!set_path(o->ruad, sizeof(o->ruad), val))
                goto bad;
        } else if (strcmp(arg, "--mkinput") == 0) {
            if (!set_path(o->mkinput, sizeof(o->mkinput), val))
                goto bad;
        } else if (strcmp(arg, "--tmp") == 0) {
            if (!set_path(o->tmp, sizeof(o->tmp), val))
                goto bad;
        } else if (strcmp(arg, "--runs") == 0) {
            errno = 0;
            v = strtoul(val, &end, 10);
            if (errno != 0 || *end != '\0' || v < 1 || v > 100)
                goto bad;
            o->runs = (unsigned)v;
        } else {
            goto bad;
        }
    }
    return true;
bad:
    fputs(usage_text, stderr);
    return false;
}

int
main(int argc, char **argv)
{
    struct bench_opts o;
    struct spawner    sp;
    struct figures    fig[N_INPUTS];
    size_t            i;
    int               m1 = -1, m2 = -1;

    /*
     * Hold the allocator still.  With glibc's dynamic thresholds a pass
     * may or may not pay for mmap()/brk() and fresh pages on every call,
     * depending on what ran before (2-4x on the 120 KB inputs), which
     * would time the heap's history rather than the parser.
     */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    if (!parse_args(argc, argv, &o) || !spawner_start(&sp))
        return 2;
    if (mkdir(o.tmp, 0700) != 0 && errno != EEXIST) {
        warnx("%s: %s", o.tmp, strerror(errno));
        return 2;
    }
    xmlInitParser();
    printf("ruad %s bench_parse: zlib %s, libxml2 %s, %ld CPUs\n"
        "ruad: %s\n\n", RUAD_VERSION, zlibVersion(), LIBXML_DOTTED_VERSION,
        sysconf(_SC_NPROCESSORS_ONLN), o.ruad);
    memset(fig, 0, sizeof(fig));
    if (make_inputs(&o) && (m1 = throughput(&o, fig)) >= 0)
        m2 = memory(&o, &sp, fig);
    for (i = 0; i < N_INPUTS; i++) {
        free(inputs[i].data);
        if (inputs[i].path[0] != '\0')
            unlink(inputs[i].path);
    }
    rmdir(o.tmp);
    spawner_stop(&sp);
    xmlCleanupParser();
    if (m1 < 0 || m2 < 0) {
        printf("bench_parse: could not finish (see messages above)\n");
        return 2;
    }
    if (m1 + m2 > 0) {
        printf("bench_parse: %d target(s) missed\n", m1 + m2);
        return 1;
    }
    printf("bench_parse: all targets met\n");
    return 0;
}
