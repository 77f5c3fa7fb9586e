/*
 * smtplat.c - time each SMTP acknowledgement: from sending the end of data
 * ("\r\n.\r\n") to reading the server's 250, for bench_smtp
 * (tests/bench/README.md, "bench_smtp").
 *
 *   smtplat [-s SESSIONS] [-m MESSAGES] [-n] -F FILE -f FROM -t TO HOST:PORT
 *
 * SESSIONS threads (default 1) each open a session (connect, 220, EHLO)
 * and send messages until MESSAGES (default 100) have been sent by all of
 * them together; -n opens a new session for every message (connect, 220,
 * EHLO, the message, QUIT), as smtp-source does without -d.  Each message
 * is MAIL FROM, RCPT TO, DATA, a header field of its own ("X-Smtplat:
 * PID.N", so that no two messages are the same bytes), the bytes of FILE
 * as smtp-source -F sends them (each line ended by CRLF, a '.' put before
 * a line that starts with one), then the end of data, one command at a time (no pipelining, as
 * smtp-source).  Nagle is off, so the end of data leaves in its own
 * segment the moment it is written.
 *
 * Prints one line:
 *
 *   messages=N sessions=S wall_s=W mps=R p50_us=.. p90_us=.. p99_us=..
 *   max_us=.. banner_p50_us=.. banner_max_us=.. errors=E
 *
 * p50..max: of the end-of-data-to-250 times (CLOCK_MONOTONIC, before the
 * write() of "\r\n.\r\n" to the return of the read() that completes the
 * reply); banner: connect() to the 220 of each session.  Exit status 0
 * when every message got its 250, 1 when one did not (the first error is
 * on stderr), 2 on bad usage or FILE.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SESSIONS 1000

static const char *host, *port, *from, *to;
static char       *body;        /* FILE on the wire, without its last CRLF */
static size_t      body_len;
static long        n_messages;
static int         new_session_each;
static atomic_long next_msg;
static atomic_long n_errors;
static int64_t    *lat_ns;      /* per message; -1 when it failed */
static int64_t    *banner_ns;   /* per session opened */
static atomic_long n_banners;
static long        max_banners;
static pthread_mutex_t err_mu = PTHREAD_MUTEX_INITIALIZER;
static int         err_said;

static int64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void
fail(const char *fmt, ...)
{
    va_list ap;

    atomic_fetch_add(&n_errors, 1);
    pthread_mutex_lock(&err_mu);
    if (!err_said) {
        err_said = 1;
        fprintf(stderr, "smtplat: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    pthread_mutex_unlock(&err_mu);
}

/* One session: a socket and what has been read from it. */
struct sess {
    int    fd;
    char   in[8192];
    size_t len;
};

static int
send_all(struct sess *s, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(s->fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* reply - read one reply (its last line is "NNN " or "NNN" alone) into
 * line (its last line); returns the code, or -1 when the connection broke */
static int
reply(struct sess *s, char *line, size_t linelen)
{
    for (;;) {
        char *nl = memchr(s->in, '\n', s->len);

        if (nl != NULL) {
            size_t n = (size_t)(nl - s->in) + 1, k = n;
            int    last = n < 5 || s->in[3] != '-';
            int    code = atoi(s->in);

            while (k > 0 && (s->in[k - 1] == '\n' || s->in[k - 1] == '\r'))
                k--;
            if (k >= linelen)
                k = linelen - 1;
            memcpy(line, s->in, k);
            line[k] = '\0';
            memmove(s->in, s->in + n, s->len - n);
            s->len -= n;
            if (last)
                return code;
            continue;
        }
        if (s->len == sizeof(s->in))
            return -1;
        ssize_t r = read(s->fd, s->in + s->len, sizeof(s->in) - s->len);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        s->len += (size_t)r;
    }
}

/* cmd - send a command line, expect a reply code */
static int
cmd(struct sess *s, const char *text, int want)
{
    char line[600], out[600];
    int  code;

    snprintf(out, sizeof(out), "%s\r\n", text);
    if (send_all(s, out, strlen(out)) != 0) {
        fail("lost connection sending \"%s\"", text);
        return -1;
    }
    code = reply(s, line, sizeof(line));
    if (code != want) {
        fail("\"%s\": %s", text, code < 0 ? "connection lost" : line);
        return -1;
    }
    return 0;
}

static int
sess_open(struct sess *s)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
    char            line[600];
    int             one = 1, code;
    int64_t         t0;
    long            b;

    s->len = 0;
    s->fd = -1;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL) {
        fail("cannot resolve %s:%s", host, port);
        return -1;
    }
    s->fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (s->fd < 0) {
        freeaddrinfo(ai);
        fail("socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    t0 = now_ns();
    if (connect(s->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        freeaddrinfo(ai);
        fail("connect: %s", strerror(errno));
        return -1;
    }
    freeaddrinfo(ai);
    code = reply(s, line, sizeof(line));
    if (code != 220) {
        fail("banner: %s", code < 0 ? "connection lost" : line);
        return -1;
    }
    b = atomic_fetch_add(&n_banners, 1);
    if (b < max_banners)
        banner_ns[b] = now_ns() - t0;
    return cmd(s, "EHLO smtplat.example", 250);
}

static void
sess_close(struct sess *s, int quit)
{
    if (s->fd < 0)
        return;
    if (quit)
        (void)cmd(s, "QUIT", 221);
    close(s->fd);
    s->fd = -1;
}

/* message - one transaction on an open session; 0 when it got its 250 */
static int
message(struct sess *s, long i)
{
    char    out[600], line[600];
    int64_t t0;
    int     code;

    snprintf(out, sizeof(out), "MAIL FROM:<%s>", from);
    if (cmd(s, out, 250) != 0)
        return -1;
    snprintf(out, sizeof(out), "RCPT TO:<%s>", to);
    if (cmd(s, out, 250) != 0 || cmd(s, "DATA", 354) != 0)
        return -1;
    /* a header field of its own first: every message is new bytes, so
     * each is stored (ruad does not store the same bytes twice) */
    snprintf(out, sizeof(out), "X-Smtplat: %ld.%ld\r\n", (long)getpid(), i);
    if (send_all(s, out, strlen(out)) != 0 ||
        send_all(s, body, body_len) != 0) {
        fail("lost connection sending the message");
        return -1;
    }
    t0 = now_ns();
    if (send_all(s, "\r\n.\r\n", 5) != 0) {
        fail("lost connection sending the end of data");
        return -1;
    }
    code = reply(s, line, sizeof(line));
    lat_ns[i] = now_ns() - t0;
    if (code != 250) {
        lat_ns[i] = -1;
        fail("end of data: %s", code < 0 ? "connection lost" : line);
        return -1;
    }
    return 0;
}

static void *
worker(void *arg)
{
    struct sess s = { .fd = -1 };
    long        i;

    (void)arg;
    while ((i = atomic_fetch_add(&next_msg, 1)) < n_messages) {
        if (s.fd < 0 && sess_open(&s) != 0) {
            sess_close(&s, 0);
            lat_ns[i] = -1;
            continue;
        }
        if (message(&s, i) != 0) {
            sess_close(&s, 0);          /* a fresh session for the next */
            continue;
        }
        if (new_session_each)
            sess_close(&s, 1);
    }
    sess_close(&s, 1);
    return NULL;
}

/* load - FILE as smtp-source -F sends it: lines ended by CRLF, dot-stuffed */
static int
load(const char *path)
{
    FILE  *f = fopen(path, "rb");
    char  *line = NULL;
    size_t cap = 0, size = 0, used = 0;
    ssize_t n;

    if (f == NULL)
        return -1;
    while ((n = getline(&line, &cap, f)) > 0) {
        size_t k = (size_t)n;

        while (k > 0 && (line[k - 1] == '\n' || line[k - 1] == '\r'))
            k--;
        if (used + k + 4 > size) {
            size = (used + k + 4) * 2;
            if ((body = realloc(body, size)) == NULL)
                return -1;
        }
        if (k > 0 && line[0] == '.')
            body[used++] = '.';
        memcpy(body + used, line, k);
        used += k;
        body[used++] = '\r';
        body[used++] = '\n';
    }
    free(line);
    fclose(f);
    if (used < 2)
        return -1;
    body_len = used - 2;                /* the end of data brings it back */
    return 0;
}

static int
cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* pct - the P-th percentile (nearest rank) of n sorted values, in us */
static double
pct(const int64_t *v, long n, double p)
{
    long k;

    if (n == 0)
        return 0;
    k = (long)(p / 100.0 * (double)n + 0.999999) - 1;
    if (k < 0)
        k = 0;
    if (k >= n)
        k = n - 1;
    return (double)v[k] / 1000.0;
}

static void
usage(void)
{
    fprintf(stderr, "usage: smtplat [-s SESSIONS] [-m MESSAGES] [-n] "
        "-F FILE -f FROM -t TO HOST:PORT\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    const char *file = NULL;
    long        sessions = 1, i, ok = 0;
    int         c;
    pthread_t  *th;
    int64_t     t0, t1;
    char       *hp, *colon;

    n_messages = 100;
    while ((c = getopt(argc, argv, "s:m:nF:f:t:")) != -1) {
        switch (c) {
        case 's': sessions = atol(optarg); break;
        case 'm': n_messages = atol(optarg); break;
        case 'n': new_session_each = 1; break;
        case 'F': file = optarg; break;
        case 'f': from = optarg; break;
        case 't': to = optarg; break;
        default:  usage();
        }
    }
    if (optind != argc - 1 || file == NULL || from == NULL || to == NULL ||
        sessions < 1 || sessions > MAX_SESSIONS || n_messages < 1 ||
        n_messages > 100000000)
        usage();
    hp = strdup(argv[optind]);
    if (hp == NULL || (colon = strrchr(hp, ':')) == NULL)
        usage();
    *colon = '\0';
    host = hp;
    port = colon + 1;
    if (load(file) != 0) {
        fprintf(stderr, "smtplat: cannot read %s\n", file);
        return 2;
    }
    max_banners = new_session_each ? n_messages + sessions : sessions * 4;
    lat_ns = calloc((size_t)n_messages, sizeof(*lat_ns));
    banner_ns = calloc((size_t)max_banners, sizeof(*banner_ns));
    th = calloc((size_t)sessions, sizeof(*th));
    if (lat_ns == NULL || banner_ns == NULL || th == NULL)
        return 2;

    t0 = now_ns();
    for (i = 0; i < sessions; i++)
        if (pthread_create(&th[i], NULL, worker, NULL) != 0) {
            fprintf(stderr, "smtplat: cannot start a thread\n");
            return 2;
        }
    for (i = 0; i < sessions; i++)
        pthread_join(th[i], NULL);
    t1 = now_ns();

    for (i = 0; i < n_messages; i++)
        if (lat_ns[i] > 0)
            lat_ns[ok++] = lat_ns[i];
    qsort(lat_ns, (size_t)ok, sizeof(*lat_ns), cmp64);
    long nb = atomic_load(&n_banners);

    if (nb > max_banners)
        nb = max_banners;
    qsort(banner_ns, (size_t)nb, sizeof(*banner_ns), cmp64);
    printf("messages=%ld sessions=%ld wall_s=%.6f mps=%.1f p50_us=%.0f "
        "p90_us=%.0f p99_us=%.0f max_us=%.0f banner_p50_us=%.0f "
        "banner_max_us=%.0f errors=%ld\n", ok, sessions,
        (double)(t1 - t0) / 1e9, (double)ok / ((double)(t1 - t0) / 1e9),
        pct(lat_ns, ok, 50), pct(lat_ns, ok, 90), pct(lat_ns, ok, 99),
        pct(lat_ns, ok, 100), pct(banner_ns, nb, 50), pct(banner_ns, nb, 100),
        (long)atomic_load(&n_errors));
    return ok == n_messages ? 0 : 1;
}
