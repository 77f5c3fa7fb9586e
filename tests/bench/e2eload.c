/*
 * e2eload.c - the load client and the process sampler of bench_e2e
 * (tests/bench/README.md, "bench_e2e").  Part of the tests, not of ruad.
 *
 *   e2eload load -n N -a HTTPS_SENDERS -b SMTP_SENDERS -T TAG -o ACKS
 *                [-H HOST:PORT] [-S HOST:PORT] [-f FROM] [-t TO]
 *                [-r RUAD_PID -p POSTMASTER_PID -w WATCH_OUT]
 *   e2eload watch -r RUAD_PID -p POSTMASTER_PID [-i MS]
 *
 * load: makes N unique small reports in memory first (half TLS reports,
 * gzip JSON, for the HTTPS senders; half DMARC aggregate report mails, a
 * gzip XML attachment of 5 records in base64, for the SMTP senders; every
 * report id "e2e-TAG-..." is new), then HTTPS_SENDERS threads POST the TLS
 * reports to https://HOST:PORT/tlsrpt (application/tlsrpt+gzip) on kept
 * TLS connections (GnuTLS, no certificate check: the server is the
 * benchmark's own), and SMTP_SENDERS threads send the mails on kept SMTP
 * sessions (MAIL, RCPT and DATA pipelined when the server offers
 * PIPELINING, then the mail and its end of data).  A sender takes the
 * next report of its kind until none is left.  A temporary refusal (HTTP
 * 429/503, SMTP 4xx) or a broken connection is tried again, on a new
 * connection, up to E2E_TRIES times; a permanent one is counted as an
 * error.
 *
 * It writes ACKS, one line per acknowledged report: the channel (https or
 * smtp), a tab, the report id, a tab, and the SMTP "queued as" ID (\N for
 * HTTPS: a 202 names no row); and prints one line on stdout:
 *
 *   reports=N https=N smtp=N acked=N acked_https=N acked_smtp=N errors=N
 *   retries=N connects=N first_send=EPOCH last_ack=EPOCH wall_s=S
 *   make_s=S cpu_s=S https_p50_ms= https_p99_ms= smtp_p50_ms= smtp_p99_ms=
 *   watch_pid=PID
 *
 * first_send and last_ack are CLOCK_REALTIME (seconds since the epoch, as
 * PostgreSQL's now() on the same machine); wall_s is between them; cpu_s
 * is the client's own CPU time while sending (not making); pNN: from the
 * first byte of a request or a mail to its acknowledgement.  With -w, a
 * child process forked once the reports are made (so that making them is
 * not in its figures) runs watch (below) on RUAD_PID and POSTMASTER_PID
 * into WATCH_OUT, and goes on after load has ended until it is sent
 * SIGTERM (its pid: watch_pid; 0 without -w).  Exit status
 * 0 when every report was acknowledged, 1 when one was not (the first
 * error is on stderr), 2 on bad usage or when nothing could be sent.
 *
 * watch: samples ruad (RUAD_PID) and PostgreSQL (the postmaster and its
 * children, looked for again every second) every MS milliseconds (default
 * 200; PSS every second) until SIGTERM or SIGINT, or until ruad is gone,
 * then prints one line:
 *
 *   samples=N wall_s=S ruad_cpu_s=S ruad_rss_peak_kb=K ruad_hwm_kb=K
 *   pg_cpu_s=S pg_rss_peak_kb=K pg_pss_peak_kb=K pg_procs_max=N
 *   busy_pct=P
 *
 * CPU is user + system time since the first sample (a process born later
 * counts from 0; one gone counts up to its last sample).  PostgreSQL's
 * RSS is the sum over its processes at one sample, the shared buffers
 * counted once per process that touched them; PSS shares them out, so the
 * sum of PSS is what the cluster holds.  busy_pct: the whole machine, %
 * of all cores.
 */
#include <ctype.h>
#include <errno.h>
#include <dirent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <zlib.h>

#define E2E_SENDERS_MAX  256
#define E2E_TRIES        5          /* sends of one report at most */
#define E2E_IO_MAX       (64u << 10) /* bytes of a reply kept */
#define E2E_RECORDS      5          /* records per DMARC report */
#define E2E_DOMAINS      50         /* policy domains of a run */
#define E2E_DAYS         20         /* days the reports cover */
#define WATCH_PIDS_MAX   1024

/* One report made ahead: its bytes and what happened to it. */
struct item {
    char    *data;              /* owned: a POST body or a mail on the wire */
    size_t   len;
    char     rid[48];           /* report id */
    char     queued[32];        /* SMTP "queued as" ID; "" for HTTPS */
    int64_t  lat_ns;            /* first byte to ack; -1: not acked */
};

/* What one channel has to send. */
struct chan {
    const char   *name;         /* "https" or "smtp" */
    struct item  *items;        /* owned */
    long          n;
    atomic_long   next;         /* the next item a sender takes */
    const char   *host, *port;
};

static struct chan       ch_https = { .name = "https" };
static struct chan       ch_smtp = { .name = "smtp" };
static const char       *tag, *mail_from = "noreply-dmarc@reporter.example",
                        *rcpt_to = "dmarc@rua.example";
static atomic_long       n_errors, n_retries, n_connects;
static atomic_llong      last_ack_ns;       /* CLOCK_REALTIME */
static pthread_barrier_t start_line;
static pthread_mutex_t   err_mu = PTHREAD_MUTEX_INITIALIZER;
static int               err_said;
static gnutls_certificate_credentials_t tls_cred;

static int64_t
clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int  watch_run(int ruad, int pm, int ms);

/* say - the first error, on stderr (the rest are only counted) */
static void
say(const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&err_mu);
    if (!err_said) {
        err_said = 1;
        fprintf(stderr, "e2eload: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    pthread_mutex_unlock(&err_mu);
}

static void *
xmalloc(size_t n)
{
    void *p = malloc(n);

    if (p == NULL) {
        fprintf(stderr, "e2eload: out of memory\n");
        exit(2);
    }
    return p;
}

/* ---- making the reports ---- */

/* A growable byte string for making one report. */
struct str {
    char   *p;
    size_t  len, cap;
};

static void str_add(struct str *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
str_grow(struct str *s, size_t more)
{
    if (s->len + more + 1 <= s->cap)
        return;
    while (s->len + more + 1 > s->cap)
        s->cap = s->cap ? 2 * s->cap : 4096;
    if ((s->p = realloc(s->p, s->cap)) == NULL) {
        fprintf(stderr, "e2eload: out of memory\n");
        exit(2);
    }
}

static void
str_add(struct str *s, const char *fmt, ...)
{
    va_list ap;
    int     n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    str_grow(s, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(s->p + s->len, s->cap - s->len, fmt, ap);
    va_end(ap);
    s->len += (size_t)n;
}

/* gzip_into - append the gzip of (p, n) to out (mtime 0, level 6) */
static void
gzip_into(struct str *out, const char *p, size_t n)
{
    z_stream z;
    uLong    bound;

    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        fprintf(stderr, "e2eload: deflateInit2 failed\n");
        exit(2);
    }
    bound = deflateBound(&z, (uLong)n) + 32;
    str_grow(out, bound);
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out->p + out->len;
    z.avail_out = (uInt)bound;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
        fprintf(stderr, "e2eload: deflate failed\n");
        exit(2);
    }
    out->len += z.total_out;
    deflateEnd(&z);
}

/* rnd - a small deterministic generator (xorshift), one state per item */
static uint32_t
rnd(uint32_t *s)
{
    uint32_t x = *s;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static const char *const orgs[][2] = {
    { "google.com", "noreply-dmarc-support@google.com" },
    { "Microsoft Corporation", "dmarcreport@microsoft.com" },
    { "Yahoo", "dmarchelp@yahooinc.com" },
    { "Mail.Ru", "dmarc_support@corp.mail.ru" },
    { "Example Mail Ltd", "dmarc@mail.example" },
};
#define N_ORGS (sizeof(orgs) / sizeof(orgs[0]))

/* make_tlsrpt - item i of the HTTPS channel: an RFC 8460 report, gzip */
static void
make_tlsrpt(struct item *it, long i)
{
    struct str json = { 0 }, gz = { 0 };
    uint32_t   r = (uint32_t)i * 2654435761u + 1;
    int        day = 1 + (int)(i % E2E_DAYS);
    int        dom = (int)(rnd(&r) % E2E_DOMAINS);
    int        failed = (int)(rnd(&r) % 4);

    snprintf(it->rid, sizeof(it->rid), "e2e-%s-t%07ld", tag, i);
    str_add(&json, "{\"organization-name\":\"%s\",\"date-range\":{"
        "\"start-datetime\":\"2026-11-%02dT00:00:00Z\",\"end-datetime\":"
        "\"2026-11-%02dT23:59:59Z\"},\"contact-info\":\"%s\","
        "\"report-id\":\"%s\",\"policies\":[{\"policy\":{\"policy-type\":"
        "\"sts\",\"policy-string\":[\"version: STSv1\",\"mode: enforce\","
        "\"mx: *.d%02d.e2e-%s.example\",\"max_age: 604800\"],"
        "\"policy-domain\":\"d%02d.e2e-%s.example\",\"mx-host\":["
        "\"*.d%02d.e2e-%s.example\"]},\"summary\":{"
        "\"total-successful-session-count\":%u,"
        "\"total-failure-session-count\":%d}",
        orgs[i % N_ORGS][0], day, day, orgs[i % N_ORGS][1], it->rid, dom, tag,
        dom, tag, dom, tag, 1 + rnd(&r) % 5000, failed);
    if (failed)
        str_add(&json, ",\"failure-details\":[{\"result-type\":"
            "\"certificate-expired\",\"sending-mta-ip\":\"198.51.100.%u\","
            "\"receiving-mx-hostname\":\"mx1.d%02d.e2e-%s.example\","
            "\"receiving-ip\":\"192.0.2.%u\",\"failed-session-count\":%d}]",
            1 + rnd(&r) % 254, dom, tag, 1 + rnd(&r) % 254, failed);
    str_add(&json, "}]}");
    gzip_into(&gz, json.p, json.len);
    free(json.p);
    it->data = gz.p;
    it->len = gz.len;
}

/* base64_lines - append (p, n) in base64, lines of 76 and CRLF */
static void
base64_lines(struct str *out, const unsigned char *p, size_t n)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, col = 0;

    str_grow(out, n / 57 * 78 + n * 4 / 3 + 16);
    for (i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        char    *o = out->p + out->len;

        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        o[0] = b64[v >> 18 & 63];
        o[1] = b64[v >> 12 & 63];
        o[2] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        o[3] = i + 2 < n ? b64[v & 63] : '=';
        out->len += 4;
        if ((col += 4) == 76) {
            memcpy(out->p + out->len, "\r\n", 2);
            out->len += 2;
            col = 0;
        }
    }
    if (col > 0) {
        memcpy(out->p + out->len, "\r\n", 2);
        out->len += 2;
    }
}

/* make_dmarc - item i of the SMTP channel: a DMARC aggregate report mail
 * as reporters send them (multipart/mixed, the gzip XML in base64), each
 * line ended by CRLF, no line starting with '.', ending in CRLF */
static void
make_dmarc(struct item *it, long i)
{
    struct str xml = { 0 }, gz = { 0 }, m = { 0 };
    uint32_t   r = (uint32_t)i * 2246822519u + 7;
    long       begin = 1793491200 + (i % E2E_DAYS) * 86400; /* 2026-11-01 */
    int        dom = (int)(rnd(&r) % E2E_DOMAINS), k;
    const char *org = orgs[i % N_ORGS][0], *mail = orgs[i % N_ORGS][1];
    static const char boundary[] = "000000000000e2e0bench0f3a9c8";

    snprintf(it->rid, sizeof(it->rid), "e2e-%s-d%07ld", tag, i);
    str_add(&xml, "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<feedback>\n"
        "<version>1.0</version>\n<report_metadata><org_name>%s</org_name>"
        "<email>%s</email><report_id>%s</report_id><date_range><begin>%ld"
        "</begin><end>%ld</end></date_range></report_metadata>\n"
        "<policy_published><domain>d%02d.e2e-%s.example</domain><adkim>r"
        "</adkim><aspf>r</aspf><p>reject</p><sp>reject</sp><pct>100</pct>"
        "</policy_published>\n", org, mail, it->rid, begin, begin + 86399,
        dom, tag);
    for (k = 0; k < E2E_RECORDS; k++) {
        unsigned a = rnd(&r), ok = a % 10 < 8;

        str_add(&xml, "<record><row><source_ip>%u.%u.%u.%u</source_ip>"
            "<count>%u</count><policy_evaluated><disposition>%s</disposition>"
            "<dkim>%s</dkim><spf>%s</spf></policy_evaluated></row>"
            "<identifiers><header_from>d%02d.e2e-%s.example</header_from>"
            "</identifiers><auth_results><dkim><domain>d%02d.e2e-%s.example"
            "</domain><result>%s</result><selector>s1</selector></dkim><spf>"
            "<domain>d%02d.e2e-%s.example</domain><result>%s</result></spf>"
            "</auth_results></record>\n",
            (unsigned[]){ 209, 40, 52, 149, 198 }[a % 5], a >> 8 & 255,
            a >> 16 & 15, 1 + (a >> 20) % 254, 1 + rnd(&r) % 40,
            ok ? "none" : "reject", ok ? "pass" : "fail", ok ? "pass" : "fail",
            dom, tag, dom, tag, ok ? "pass" : "fail", dom, tag,
            ok ? "pass" : "softfail");
    }
    str_add(&xml, "</feedback>\n");
    gzip_into(&gz, xml.p, xml.len);
    free(xml.p);

    str_add(&m, "Return-Path: <%s>\r\nMIME-Version: 1.0\r\n"
        "Date: Tue, 01 Dec 2026 17:59:59 +0000\r\n"
        "Message-ID: <%s@reporter.example>\r\n"
        "Subject: Report domain: d%02d.e2e-%s.example Submitter: %s "
        "Report-ID: %s\r\nFrom: %s\r\nTo: %s\r\n"
        "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
        "--%s\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n\r\n"
        "This is an aggregate report from %s.\r\n\r\n--%s\r\n"
        "Content-Type: application/gzip; name=\"%s!d%02d.e2e-%s.example!%ld!"
        "%ld.xml.gz\"\r\nContent-Disposition: attachment; filename=\"%s!"
        "d%02d.e2e-%s.example!%ld!%ld.xml.gz\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n", mail_from, it->rid,
        dom, tag, org, it->rid, mail_from, rcpt_to, boundary, boundary, org,
        boundary, org, dom, tag, begin, begin + 86399, org, dom, tag, begin,
        begin + 86399);
    base64_lines(&m, (const unsigned char *)gz.p, gz.len);
    free(gz.p);
    str_add(&m, "\r\n--%s--\r\n", boundary);
    it->data = m.p;
    it->len = m.len;
}

/* ---- sending ---- */

/* One connection of a sender: plain TCP (SMTP) or TLS (HTTPS). */
struct conn {
    int              fd;            /* -1: closed */
    gnutls_session_t tls;           /* NULL: plain */
    char            *in;            /* owned, E2E_IO_MAX */
    size_t           len;           /* bytes in in[] */
    char            *out;           /* owned: a request being sent */
    size_t           out_cap;
    int              pipelining;    /* SMTP: the server offers it */
};

static void
conn_close(struct conn *c)
{
    if (c->tls != NULL) {
        gnutls_deinit(c->tls);
        c->tls = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->len = 0;
}

/* tcp_open - a connected socket to host:port with Nagle off, or -1 */
static int
tcp_open(const char *host, const char *port)
{
    struct addrinfo hints, *res, *ai;
    int             fd = -1, one = 1, e;

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    if ((e = getaddrinfo(host, port, &hints, &res)) != 0) {
        say("%s:%s: %s", host, port, gai_strerror(e));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    if (fd < 0)
        say("connect %s:%s: %s", host, port, strerror(errno));
    else
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    freeaddrinfo(res);
    atomic_fetch_add(&n_connects, 1);
    return fd;
}

static int
conn_write(struct conn *c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w;

        if (c->tls != NULL) {
            w = gnutls_record_send(c->tls, p, n);
            if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED)
                continue;
        } else {
            w = write(c->fd, p, n);
            if (w < 0 && errno == EINTR)
                continue;
        }
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* conn_fill - read more into c->in; -1 when the connection ended */
static int
conn_fill(struct conn *c)
{
    ssize_t r;

    if (c->len == E2E_IO_MAX)
        return -1;
    for (;;) {
        if (c->tls != NULL) {
            r = gnutls_record_recv(c->tls, c->in + c->len,
                E2E_IO_MAX - c->len);
            if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
                continue;
        } else {
            r = read(c->fd, c->in + c->len, E2E_IO_MAX - c->len);
            if (r < 0 && errno == EINTR)
                continue;
        }
        break;
    }
    if (r <= 0)
        return -1;
    c->len += (size_t)r;
    return 0;
}

static void
conn_consume(struct conn *c, size_t n)
{
    memmove(c->in, c->in + n, c->len - n);
    c->len -= n;
}

/* https_open - a TLS connection to the HTTPS channel; -1 on failure */
static int
https_open(struct conn *c)
{
    int r;

    if ((c->fd = tcp_open(ch_https.host, ch_https.port)) < 0)
        return -1;
    if ((r = gnutls_init(&c->tls, GNUTLS_CLIENT)) < 0 ||
        (r = gnutls_set_default_priority(c->tls)) < 0 ||
        (r = gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE,
            tls_cred)) < 0) {
        say("gnutls: %s", gnutls_strerror(r));
        conn_close(c);
        return -1;
    }
    gnutls_transport_set_int(c->tls, c->fd);
    gnutls_handshake_set_timeout(c->tls, GNUTLS_DEFAULT_HANDSHAKE_TIMEOUT);
    do
        r = gnutls_handshake(c->tls);
    while (r < 0 && !gnutls_error_is_fatal(r));
    if (r < 0) {
        say("TLS handshake with %s:%s: %s", ch_https.host, ch_https.port,
            gnutls_strerror(r));
        conn_close(c);
        return -1;
    }
    return 0;
}

/* http_post - POST one report; the status, or -1 when the connection
 * broke (then it is closed); *close_after: the server will close it */
static int
http_post(struct conn *c, const struct item *it, int *close_after)
{
    int    n, status;
    char  *end, *p, *eol;
    size_t head, body = 0;

    *close_after = 0;
    n = snprintf(NULL, 0, "POST /tlsrpt HTTP/1.1\r\nHost: %s:%s\r\n"
        "Content-Type: application/tlsrpt+gzip\r\nContent-Length: %zu\r\n"
        "\r\n", ch_https.host, ch_https.port, it->len);
    if ((size_t)n + it->len > c->out_cap) {
        free(c->out);
        c->out_cap = (size_t)n + it->len + 1024;
        c->out = xmalloc(c->out_cap);
    }
    snprintf(c->out, c->out_cap, "POST /tlsrpt HTTP/1.1\r\nHost: %s:%s\r\n"
        "Content-Type: application/tlsrpt+gzip\r\nContent-Length: %zu\r\n"
        "\r\n", ch_https.host, ch_https.port, it->len);
    memcpy(c->out + n, it->data, it->len);
    if (conn_write(c, c->out, (size_t)n + it->len) < 0)
        goto broken;
    for (;;) {
        c->in[c->len] = '\0';
        if ((end = strstr(c->in, "\r\n\r\n")) != NULL)
            break;
        if (conn_fill(c) < 0)
            goto broken;
    }
    head = (size_t)(end - c->in) + 4;
    if (strncmp(c->in, "HTTP/1.", 7) != 0 || c->len < 12)
        goto broken;
    status = atoi(c->in + 9);
    for (p = strstr(c->in, "\r\n") + 2; p < end; p = eol + 2) {
        eol = strstr(p, "\r\n");
        if (strncasecmp(p, "Content-Length:", 15) == 0)
            body = strtoul(p + 15, NULL, 10);
        else if (strncasecmp(p, "Connection:", 11) == 0 &&
            memmem(p, (size_t)(eol - p), "close", 5) != NULL)
            *close_after = 1;
    }
    if (head + body >= E2E_IO_MAX)
        goto broken;
    while (c->len < head + body)
        if (conn_fill(c) < 0)
            goto broken;
    conn_consume(c, head + body);
    return status;
broken:
    conn_close(c);
    return -1;
}

/* smtp_reply - read one reply; its code, or -1 when the connection broke.
 * Its last line goes to line; on EHLO, c->pipelining is set when a line
 * names PIPELINING. */
static int
smtp_reply(struct conn *c, char *line, size_t linelen)
{
    for (;;) {
        char *nl = memchr(c->in, '\n', c->len);

        if (nl != NULL) {
            size_t n = (size_t)(nl - c->in) + 1, k = n;
            int    last = n < 5 || c->in[3] != '-';
            int    code = atoi(c->in);

            while (k > 0 && (c->in[k - 1] == '\n' || c->in[k - 1] == '\r'))
                k--;
            if (k >= linelen)
                k = linelen - 1;
            memcpy(line, c->in, k);
            line[k] = '\0';
            conn_consume(c, n);
            if (k >= 14 && strncasecmp(line + 4, "PIPELINING", 10) == 0)
                c->pipelining = 1;
            if (last && code < 100) {
                conn_close(c);
                return -1;
            }
            if (last)
                return code;
            continue;
        }
        if (conn_fill(c) < 0) {
            conn_close(c);
            return -1;
        }
    }
}

/* smtp_open - a session, greeted (220, EHLO 250); -1 on failure */
static int
smtp_open(struct conn *c)
{
    char line[512];

    if ((c->fd = tcp_open(ch_smtp.host, ch_smtp.port)) < 0)
        return -1;
    c->pipelining = 0;
    if (smtp_reply(c, line, sizeof(line)) != 220) {
        say("SMTP banner: %s", line);
        conn_close(c);
        return -1;
    }
    if (conn_write(c, "EHLO reporter.example\r\n", 23) < 0 ||
        smtp_reply(c, line, sizeof(line)) != 250) {
        say("SMTP EHLO: %s", line);
        conn_close(c);
        return -1;
    }
    return 0;
}

/* smtp_send - one mail on an open session: 250 (and its queued ID in
 * it->queued), another code, or -1 when the session broke */
static int
smtp_send(struct conn *c, struct item *it, char *line, size_t linelen)
{
    char cmd[512];
    int  n, code[3], i;
    char *q;

    n = snprintf(cmd, sizeof(cmd), "MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\n"
        "DATA\r\n", mail_from, rcpt_to);
    if (c->pipelining) {
        if (conn_write(c, cmd, (size_t)n) < 0)
            goto broken;
        for (i = 0; i < 3; i++)
            if ((code[i] = smtp_reply(c, line, linelen)) < 0)
                return -1;
    } else {
        char *p = cmd;

        for (i = 0; i < 3; i++) {
            char *e = strstr(p, "\r\n") + 2;

            if (conn_write(c, p, (size_t)(e - p)) < 0)
                goto broken;
            if ((code[i] = smtp_reply(c, line, linelen)) < 0)
                return -1;
            p = e;
            if (code[i] >= 400)
                break;
        }
        for (i++; i < 3; i++)
            code[i] = 503;
    }
    if (code[2] != 354) {
        int bad = code[0] >= 400 ? code[0] : code[1] >= 400 ? code[1] :
            code[2];

        if (conn_write(c, "RSET\r\n", 6) < 0 ||
            smtp_reply(c, cmd, sizeof(cmd)) < 0)
            goto broken;
        return bad;
    }
    if (conn_write(c, it->data, it->len) < 0 ||
        conn_write(c, ".\r\n", 3) < 0)
        goto broken;
    if ((n = smtp_reply(c, line, linelen)) == 250) {
        it->queued[0] = '\0';
        if ((q = strstr(line, "queued as ")) != NULL) {
            q += 10;
            for (i = 0; q[i] != '\0' && !isspace((unsigned char)q[i]) &&
                i < (int)sizeof(it->queued) - 1; i++)
                it->queued[i] = q[i];
            it->queued[i] = '\0';
        }
    }
    return n;
broken:
    conn_close(c);
    return -1;
}

/* sender - one thread: a kept connection of its channel, reports until
 * none is left */
static void *
sender(void *arg)
{
    struct chan *ch = arg;
    int          https = ch == &ch_https;
    struct conn  c = { .fd = -1 };
    char         line[512];

    c.in = xmalloc(E2E_IO_MAX + 1);         /* room for a NUL */
    pthread_barrier_wait(&start_line);
    for (;;) {
        long         i = atomic_fetch_add(&ch->next, 1);
        struct item *it;
        int          tries, status = -1, close_after = 0, ok = 0;
        int64_t      t0;

        if (i >= ch->n)
            break;
        it = &ch->items[i];
        t0 = clock_ns(CLOCK_MONOTONIC);
        for (tries = 0; tries < E2E_TRIES && !ok; tries++) {
            if (tries > 0) {
                atomic_fetch_add(&n_retries, 1);
                usleep(100000u * (unsigned)tries);
            }
            if (c.fd < 0 && (https ? https_open(&c) : smtp_open(&c)) < 0)
                continue;
            if (https) {
                status = http_post(&c, it, &close_after);
                ok = status == 202;
                if (close_after)
                    conn_close(&c);
            } else {
                status = smtp_send(&c, it, line, sizeof(line));
                ok = status == 250;
                if (status == 421)
                    conn_close(&c);
            }
            if (ok)
                break;
            if (status >= 0)
                say("%s %s: %d%s%s", ch->name, it->rid, status,
                    https ? "" : " ", https ? "" : line);
            else
                say("%s %s: the connection broke", ch->name, it->rid);
            /* permanent refusals are not tried again */
            if ((https && status >= 400 && status != 429 && status != 503 &&
                status < 500) || (!https && status >= 500))
                break;
        }
        if (ok) {
            int64_t now = clock_ns(CLOCK_REALTIME);
            long long seen = atomic_load(&last_ack_ns);

            it->lat_ns = clock_ns(CLOCK_MONOTONIC) - t0;
            while (now > seen &&
                !atomic_compare_exchange_weak(&last_ack_ns, &seen, now))
                ;
        } else {
            atomic_fetch_add(&n_errors, 1);
        }
    }
    if (c.fd >= 0 && !https) {
        (void)conn_write(&c, "QUIT\r\n", 6);
        (void)smtp_reply(&c, line, sizeof(line));
    } else if (c.tls != NULL) {
        gnutls_bye(c.tls, GNUTLS_SHUT_WR);
    }
    conn_close(&c);
    free(c.in);
    free(c.out);
    return NULL;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* pct_ms - the p-th percentile of the acked items' latencies, ms */
static double
pct_ms(const struct chan *ch, double p)
{
    int64_t *v = xmalloc(sizeof(*v) * (size_t)(ch->n + 1));
    long     i, k = 0;
    double   r = 0;

    for (i = 0; i < ch->n; i++)
        if (ch->items[i].lat_ns >= 0)
            v[k++] = ch->items[i].lat_ns;
    if (k > 0) {
        qsort(v, (size_t)k, sizeof(*v), cmp_i64);
        r = v[(long)((double)(k - 1) * p / 100.0 + 0.5)] / 1e6;
    }
    free(v);
    return r;
}

/* split - HOST:PORT into its parts (host may be [v6]) */
static int
split(char *hp, const char **host, const char **port)
{
    char *c = strrchr(hp, ':');

    if (c == NULL || c == hp || c[1] == '\0')
        return -1;
    *c = '\0';
    *port = c + 1;
    if (hp[0] == '[' && c[-1] == ']') {
        c[-1] = '\0';
        hp++;
    }
    *host = hp;
    return 0;
}

static double
cpu_self_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
        (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int
usage(void)
{
    fprintf(stderr, "usage: e2eload load -n N -a HTTPS_SENDERS -b "
        "SMTP_SENDERS -T TAG -o ACKS\n"
        "                    [-H HOST:PORT] [-S HOST:PORT] [-f FROM] "
        "[-t TO]\n"
        "                    [-r RUAD_PID -p POSTMASTER_PID -w WATCH_OUT]\n"
        "       e2eload watch -r RUAD_PID -p POSTMASTER_PID [-i MS]\n");
    return 2;
}

static int
load_main(int argc, char **argv)
{
    long        n = 0, a = 0, b = 0, i, acked_h = 0, acked_s = 0;
    const char *acks = NULL, *w_out = NULL;
    char       *https_hp = NULL, *smtp_hp = NULL;
    int         w_ruad = 0, w_pm = 0, w_pid = 0;
    pthread_t  *th;
    int         opt, k, r;
    int64_t     first, make0;
    double      make_s, cpu0;
    FILE       *f;

    while ((opt = getopt(argc, argv, "n:a:b:T:o:H:S:f:t:r:p:w:")) != -1) {
        switch (opt) {
        case 'n': n = strtol(optarg, NULL, 10); break;
        case 'a': a = strtol(optarg, NULL, 10); break;
        case 'b': b = strtol(optarg, NULL, 10); break;
        case 'T': tag = optarg; break;
        case 'o': acks = optarg; break;
        case 'H': https_hp = optarg; break;
        case 'S': smtp_hp = optarg; break;
        case 'f': mail_from = optarg; break;
        case 't': rcpt_to = optarg; break;
        case 'r': w_ruad = (int)strtol(optarg, NULL, 10); break;
        case 'p': w_pm = (int)strtol(optarg, NULL, 10); break;
        case 'w': w_out = optarg; break;
        default: return usage();
        }
    }
    if (n < 1 || n > 10000000 || a < 0 || b < 0 || a + b < 1 ||
        a + b > E2E_SENDERS_MAX || tag == NULL || strlen(tag) > 16 ||
        acks == NULL || (a > 0 && (https_hp == NULL ||
        split(https_hp, &ch_https.host, &ch_https.port) < 0)) ||
        (b > 0 && (smtp_hp == NULL ||
        split(smtp_hp, &ch_smtp.host, &ch_smtp.port) < 0)) ||
        (w_out != NULL && (w_ruad <= 0 || w_pm <= 0)))
        return usage();
    /* half and half when both channels send */
    ch_https.n = b == 0 ? n : a == 0 ? 0 : n / 2;
    ch_smtp.n = n - ch_https.n;

    make0 = clock_ns(CLOCK_MONOTONIC);
    ch_https.items = calloc((size_t)ch_https.n + 1, sizeof(struct item));
    ch_smtp.items = calloc((size_t)ch_smtp.n + 1, sizeof(struct item));
    if (ch_https.items == NULL || ch_smtp.items == NULL)
        return fprintf(stderr, "e2eload: out of memory\n"), 2;
    for (i = 0; i < ch_https.n; i++) {
        make_tlsrpt(&ch_https.items[i], i);
        ch_https.items[i].lat_ns = -1;
    }
    for (i = 0; i < ch_smtp.n; i++) {
        make_dmarc(&ch_smtp.items[i], i);
        ch_smtp.items[i].lat_ns = -1;
    }
    make_s = (double)(clock_ns(CLOCK_MONOTONIC) - make0) / 1e9;

    /* the sampler from here on: the making above is not the server's */
    if (w_out != NULL) {
        fflush(stdout);
        if ((w_pid = fork()) < 0)
            return fprintf(stderr, "e2eload: fork: %s\n", strerror(errno)), 2;
        if (w_pid == 0) {
            if (freopen(w_out, "w", stdout) == NULL)
                _exit(2);
            _exit(watch_run(w_ruad, w_pm, 200));
        }
    }
    if ((r = gnutls_global_init()) < 0 ||
        (r = gnutls_certificate_allocate_credentials(&tls_cred)) < 0)
        return fprintf(stderr, "e2eload: gnutls: %s\n",
            gnutls_strerror(r)), 2;
    signal(SIGPIPE, SIG_IGN);
    th = xmalloc(sizeof(*th) * (size_t)(a + b));
    pthread_barrier_init(&start_line, NULL, (unsigned)(a + b + 1));
    for (k = 0; k < a + b; k++)
        pthread_create(&th[k], NULL, sender, k < a ? &ch_https : &ch_smtp);
    cpu0 = cpu_self_s();
    first = clock_ns(CLOCK_REALTIME);
    pthread_barrier_wait(&start_line);
    for (k = 0; k < a + b; k++)
        pthread_join(th[k], NULL);

    if ((f = fopen(acks, "w")) == NULL)
        return fprintf(stderr, "e2eload: %s: %s\n", acks, strerror(errno)), 2;
    for (i = 0; i < ch_https.n; i++)
        if (ch_https.items[i].lat_ns >= 0) {
            fprintf(f, "https\t%s\t\\N\n", ch_https.items[i].rid);
            acked_h++;
        }
    for (i = 0; i < ch_smtp.n; i++)
        if (ch_smtp.items[i].lat_ns >= 0) {
            fprintf(f, "smtp\t%s\t%s\n", ch_smtp.items[i].rid,
                ch_smtp.items[i].queued[0] ? ch_smtp.items[i].queued : "\\N");
            acked_s++;
        }
    if (fclose(f) != 0)
        return fprintf(stderr, "e2eload: %s: %s\n", acks, strerror(errno)), 2;

    printf("reports=%ld https=%ld smtp=%ld acked=%ld acked_https=%ld "
        "acked_smtp=%ld errors=%ld retries=%ld connects=%ld "
        "first_send=%.6f last_ack=%.6f wall_s=%.3f make_s=%.3f cpu_s=%.3f "
        "https_p50_ms=%.2f https_p99_ms=%.2f smtp_p50_ms=%.2f "
        "smtp_p99_ms=%.2f watch_pid=%d\n", n, ch_https.n, ch_smtp.n, acked_h + acked_s,
        acked_h, acked_s, atomic_load(&n_errors), atomic_load(&n_retries),
        atomic_load(&n_connects), (double)first / 1e9,
        (double)atomic_load(&last_ack_ns) / 1e9,
        (double)(atomic_load(&last_ack_ns) - first) / 1e9, make_s,
        cpu_self_s() - cpu0, pct_ms(&ch_https, 50), pct_ms(&ch_https, 99),
        pct_ms(&ch_smtp, 50), pct_ms(&ch_smtp, 99), w_pid);
    fflush(stdout);
    for (i = 0; i < ch_https.n; i++)
        free(ch_https.items[i].data);
    for (i = 0; i < ch_smtp.n; i++)
        free(ch_smtp.items[i].data);
    free(ch_https.items);
    free(ch_smtp.items);
    free(th);
    gnutls_certificate_free_credentials(tls_cred);
    gnutls_global_deinit();
    if (acked_h + acked_s == 0)
        return 2;
    return acked_h + acked_s == n ? 0 : 1;
}

/* ---- watching ruad and PostgreSQL ---- */

/* What the sampler knows of one process. */
struct wproc {
    int  pid;
    long base;          /* ticks at the first sample that saw it */
    long last;          /* ticks at the last */
    int  seen;          /* seen in this round */
};

static volatile sig_atomic_t watch_stop;

static void
on_stop(int sig)
{
    (void)sig;
    watch_stop = 1;
}

/* proc_stat - ticks (utime + stime) and ppid of pid; -1 if gone */
static int
proc_stat(int pid, long *ticks, int *ppid)
{
    char  path[64], buf[1024], *p;
    FILE *f;
    size_t n;
    unsigned long ut, st;
    int   pp;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    if ((p = strrchr(buf, ')')) == NULL)
        return -1;
    /* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime stime */
    p += 2;
    if ((p = strchr(p, ' ')) == NULL)
        return -1;
    pp = (int)strtol(p + 1, &p, 10);
    for (int k = 0; k < 9 && p != NULL; k++)
        p = strchr(p + 1, ' ');
    if (p == NULL)
        return -1;
    ut = strtoul(p + 1, &p, 10);
    st = strtoul(p + 1, NULL, 10);
    *ticks = (long)(ut + st);
    if (ppid != NULL)
        *ppid = pp;
    return 0;
}

/* proc_kb - the value in kB of "KEY:" in /proc/PID/FILE, or 0 */
static long
proc_kb(int pid, const char *file, const char *key)
{
    char   path[64], line[256];
    FILE  *f;
    size_t kl = strlen(key);
    long   v = 0;

    snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
    if ((f = fopen(path, "r")) == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = strtol(line + kl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

/* machine - total and idle jiffies of all cores */
static void
machine(unsigned long long *total, unsigned long long *idle)
{
    unsigned long long v[10] = { 0 };
    FILE *f = fopen("/proc/stat", "r");
    int   k;

    *total = *idle = 0;
    if (f == NULL)
        return;
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
        &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
        for (k = 0; k < 8; k++)
            *total += v[k];
        *idle = v[3] + v[4];
    }
    fclose(f);
}

/* watch_run - sample ruad (pid ruad) and PostgreSQL (postmaster pm)
 * every ms until SIGTERM or SIGINT; print the line; 0 */
static int
watch_run(int ruad, int pm, int ms)
{
    int                k, n = 0, round = 0;
    struct wproc      *pg = xmalloc(sizeof(*pg) * WATCH_PIDS_MAX);
    long               ruad_base = -1, ruad_last = 0, ruad_rss_peak = 0;
    long               pg_rss_peak = 0, pg_pss_peak = 0, t, hz, pg_cpu = 0;
    long               ruad_hwm = 0;
    int                procs_max = 0, samples = 0;
    unsigned long long t0, i0, t1, i1;
    int64_t            w0;
    struct sigaction   sa;
    struct timespec    ts;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    hz = sysconf(_SC_CLK_TCK);
    machine(&t0, &i0);
    w0 = clock_ns(CLOCK_MONOTONIC);
    for (;;) {
        int  stop = watch_stop, procs = 0, full;
        long rss = 0, pss = 0;

        /* ruad: one process, its threads summed by the kernel; when it
         * is gone, so is what there is to watch (this also ends a sampler
         * whose benchmark died) */
        if (proc_stat(ruad, &t, NULL) < 0) {
            stop = 1;
        } else {
            if (ruad_base < 0)
                ruad_base = t;
            ruad_last = t;
            if ((t = proc_kb(ruad, "status", "VmRSS")) > ruad_rss_peak)
                ruad_rss_peak = t;
            ruad_hwm = proc_kb(ruad, "status", "VmHWM");
        }
        /* PostgreSQL: the postmaster's children, looked for every second,
         * and their PSS then too (smaps_rollup walks a process's page
         * tables: it costs more than the rest of a sample) */
        full = round++ % (1000 / ms < 1 ? 1 : 1000 / ms) == 0;
        if (full) {
            DIR           *d = opendir("/proc");
            struct dirent *e;

            while (d != NULL && (e = readdir(d)) != NULL) {
                int  pid = atoi(e->d_name), pp, j;
                long tk;

                if (pid <= 0 || (pid != pm && (proc_stat(pid, &tk, &pp) < 0 ||
                    pp != pm)))
                    continue;
                for (j = 0; j < n && pg[j].pid != pid; j++)
                    ;
                if (j == n && n < WATCH_PIDS_MAX) {
                    pg[n].pid = pid;
                    pg[n].base = samples == 0 ? -1 : 0;
                    pg[n].last = 0;
                    n++;
                }
            }
            if (d != NULL)
                closedir(d);
        }
        for (k = 0; k < n; k++) {
            if (proc_stat(pg[k].pid, &t, NULL) < 0)
                continue;               /* gone: its last sample counts */
            if (pg[k].base < 0)
                pg[k].base = t;
            pg[k].last = t;
            procs++;
            rss += proc_kb(pg[k].pid, "status", "VmRSS");
            if (full)
                pss += proc_kb(pg[k].pid, "smaps_rollup", "Pss");
        }
        if (rss > pg_rss_peak)
            pg_rss_peak = rss;
        if (pss > pg_pss_peak)
            pg_pss_peak = pss;
        if (procs > procs_max)
            procs_max = procs;
        samples++;
        if (stop)
            break;
        ts.tv_sec = ms / 1000;
        ts.tv_nsec = (long)(ms % 1000) * 1000000;
        nanosleep(&ts, NULL);
    }
    machine(&t1, &i1);
    for (k = 0; k < n; k++)
        pg_cpu += pg[k].last - (pg[k].base < 0 ? 0 : pg[k].base);
    printf("samples=%d wall_s=%.3f ruad_cpu_s=%.2f ruad_rss_peak_kb=%ld "
        "ruad_hwm_kb=%ld pg_cpu_s=%.2f pg_rss_peak_kb=%ld pg_pss_peak_kb=%ld "
        "pg_procs_max=%d busy_pct=%.0f\n", samples,
        (double)(clock_ns(CLOCK_MONOTONIC) - w0) / 1e9,
        ruad_base < 0 ? 0.0 : (double)(ruad_last - ruad_base) / (double)hz,
        ruad_rss_peak, ruad_hwm, (double)pg_cpu / (double)hz, pg_rss_peak,
        pg_pss_peak, procs_max, t1 > t0 ? 100.0 * (double)((t1 - t0) -
        (i1 - i0)) / (double)(t1 - t0) : 0.0);
    fflush(stdout);                 /* the forked sampler ends in _exit() */
    free(pg);
    return 0;
}

static int
watch_main(int argc, char **argv)
{
    int ruad = 0, pm = 0, ms = 200, opt;

    while ((opt = getopt(argc, argv, "r:p:i:")) != -1) {
        switch (opt) {
        case 'r': ruad = (int)strtol(optarg, NULL, 10); break;
        case 'p': pm = (int)strtol(optarg, NULL, 10); break;
        case 'i': ms = (int)strtol(optarg, NULL, 10); break;
        default: return usage();
        }
    }
    if (ruad <= 0 || pm <= 0 || ms < 10 || ms > 10000)
        return usage();
    return watch_run(ruad, pm, ms);
}

int
main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "load") == 0)
        return load_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "watch") == 0)
        return watch_main(argc - 1, argv + 1);
    return usage();
}
