/*
 * dns.c - TXT lookups (see dns.h).
 *
 * RFC 1035 TXT: an answer holds one or more character-strings per record;
 * DKIM joins them (RFC 6376 3.6.2.2).  NXDOMAIN and "no such record" are
 * permanent answers; SERVFAIL, REFUSED and a timeout are temporary, so a
 * report is never failed for a resolver's bad minute.  A name that cannot
 * be asked at all (a label over 63 octets, over 253 in all) is
 * RUAD_MALFORMED: no lookup could ever succeed.
 *
 * TXT lookups are our own stub resolver, so that all of a mail's keys are
 * asked at once and the whole costs one time budget, however many
 * signatures point at name servers that never answer: one non-blocking
 * UDP socket per name (connected to the server, so answers come from it
 * only, and a closed port is known at once), a random id, every query
 * sent at once and resent after dns_timeout_ms to the next server (two
 * tries per server), poll() until all are answered or the budget is
 * spent.  EDNS(0) offers 1232 bytes (RFC 6891; DNS flag day 2020), a
 * FORMERR or NOTIMP to it asks again without, and a truncated answer is
 * asked again over TCP (RFC 7766): an RSA-8192 key is about 1.5 KB.  MX,
 * TLSA and A (dns-records --check) still go through libresolv.
 *
 * Answers are cached process-wide for their TTL (at most an hour; five
 * minutes for "no such name"), so a reporter's key costs one lookup, not
 * one per mail.  Temporary failures are never cached.
 *
 * SECURITY: answers are peer data: an answer is taken only when its id,
 * its question (name, TXT, IN) and its source match the query; parsed
 * with libresolv's ns_parserr, each character-string bounded by its
 * length byte and the record by its rdlength; at most DNS_RECORDS_MAX
 * records of at most DNS_TXT_MAX bytes; a TCP answer is read to the
 * length it announces (at most 65535 bytes).
 */
#include "dns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <resolv.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "dkim.h"
#include "dnsname.h"

#define DNS_ANSWER_MAX  65535
#define DNS_CACHE_SLOTS 512         /* answers kept, process-wide */
#define DNS_TTL_MAX     3600        /* seconds an answer is kept at most */
#define DNS_NEG_TTL     300         /* for NXDOMAIN and no-record */
#define DNS_RECORDS_MAX 16
#define DNS_TXT_MAX     8192        /* an RSA-8192 key is about 1.5 KB */
#define DNS_TRIES       2           /* UDP tries per server */
#define DNS_QUERY_MAX   (12 + NS_MAXCDNAME + 4 + 11) /* header, question, OPT */
#define DNS_EDNS_SIZE   1232        /* UDP payload offered (DNS flag day
                                       2020); larger answers come by TCP */

struct dns {
    struct __res_state      st;             /* for dns_rrs (res_nquery) */
    struct sockaddr_storage srv[MAXNS];     /* the servers, in order */
    socklen_t               srvlen[MAXNS];
    int                     nsrv;
    unsigned                timeout_ms;     /* per try */
    unsigned                budget_ms;      /* per dns_txt_many */
};

/*
 * A small process-wide cache of answers for their TTL (capped), so a
 * reporter's key is fetched once, not once per mail: a DNS round trip
 * costs about what an RSA-2048 verify does.  Temporary failures are never
 * cached.  Slots are picked by a hash of the name; a collision replaces.
 */
struct dns_slot {
    char   *name;               /* owned; NULL: empty */
    char  **recs;               /* owned */
    size_t  n;
    bool    nx;                 /* NXDOMAIN */
    time_t  until;
};

static pthread_mutex_t dns_mu = PTHREAD_MUTEX_INITIALIZER;
static struct dns_slot dns_cache[DNS_CACHE_SLOTS];

static size_t
dns_hash(const char *name)
{
    size_t h = 5381;

    for (; *name != '\0'; name++)
        h = h * 33 + (unsigned char)tolower((unsigned char)*name);
    return h % DNS_CACHE_SLOTS;
}

static void
slot_clear(struct dns_slot *sl)
{
    size_t i;

    for (i = 0; i < sl->n; i++)
        free(sl->recs[i]);
    free(sl->recs);
    free(sl->name);
    memset(sl, 0, sizeof(*sl));
}

/* cache_get - a copy of a live cached answer; false if none */
static bool
cache_get(const char *name, char ***records, size_t *n, bool *nx)
{
    struct dns_slot *sl = &dns_cache[dns_hash(name)];
    bool             hit = false;
    size_t           i;

    pthread_mutex_lock(&dns_mu);
    if (sl->name != NULL && strcasecmp(sl->name, name) == 0 &&
        sl->until > time(NULL)) {
        *nx = sl->nx;
        *n = 0;
        *records = calloc(sl->n ? sl->n : 1, sizeof(**records));
        if (*records != NULL) {
            for (i = 0; i < sl->n; i++)
                if (((*records)[*n] = strdup(sl->recs[i])) != NULL)
                    (*n)++;
            hit = *n == sl->n;
        }
    }
    pthread_mutex_unlock(&dns_mu);
    return hit;
}

/* cache_put - keep an answer for ttl seconds (copies) */
static void
cache_put(const char *name, char *const *records, size_t n, bool nx,
    unsigned ttl)
{
    struct dns_slot *sl = &dns_cache[dns_hash(name)];
    size_t           i;

    if (ttl == 0)
        return;
    pthread_mutex_lock(&dns_mu);
    slot_clear(sl);
    sl->name = strdup(name);
    sl->recs = calloc(n ? n : 1, sizeof(*sl->recs));
    if (sl->name == NULL || sl->recs == NULL) {
        slot_clear(sl);
        pthread_mutex_unlock(&dns_mu);
        return;
    }
    for (i = 0; i < n; i++)
        if ((sl->recs[sl->n] = strdup(records[i])) != NULL)
            sl->n++;
    sl->nx = nx;
    sl->until = time(NULL) + (time_t)(ttl > DNS_TTL_MAX ? DNS_TTL_MAX : ttl);
    pthread_mutex_unlock(&dns_mu);
}

void
dns_cache_flush(void)
{
    size_t i;

    pthread_mutex_lock(&dns_mu);
    for (i = 0; i < DNS_CACHE_SLOTS; i++)
        slot_clear(&dns_cache[i]);
    pthread_mutex_unlock(&dns_mu);
}

struct dns *
dns_new(const char *server, unsigned timeout_ms, char *err, size_t errlen)
{
    struct dns *d = calloc(1, sizeof(*d));
    char        host[64];
    unsigned    port;
    struct in_addr a;
    int         i;

    if (d == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (res_ninit(&d->st) != 0) {
        snprintf(err, errlen, "resolver: cannot initialise");
        free(d);
        return NULL;
    }
    d->st.retrans = timeout_ms >= 1000 ? (int)(timeout_ms / 1000) : 1;
    d->st.retry = DNS_TRIES;
    d->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
    if (server != NULL && *server != '\0') {
        struct sockaddr_in6 *a6 = NULL;

        if (!config_split_listen(server, host, sizeof(host), &port) ||
            port == 0 || (inet_pton(AF_INET, host, &a) != 1 &&
            ((a6 = calloc(1, sizeof(*a6))) == NULL ||
            inet_pton(AF_INET6, host, &a6->sin6_addr) != 1))) {
            snprintf(err, errlen, "dns_server: \"%s\" is not IPv4:port "
                "or [IPv6]:port", server);
            free(a6);
            res_nclose(&d->st);
            free(d);
            return NULL;
        }
        /* resolv.conf's IPv6 servers are glibc's allocations: let go */
        for (i = 0; i < MAXNS; i++) {
            free(d->st._u._ext.nsaddrs[i]);
            d->st._u._ext.nsaddrs[i] = NULL;
        }
        memset(&d->st.nsaddr_list[0], 0, sizeof(d->st.nsaddr_list[0]));
        if (a6 != NULL) {
            /* glibc asks _u._ext.nsaddrs[n] when nsaddr_list[n] has no
             * family, and res_nclose frees it */
            a6->sin6_family = AF_INET6;
            a6->sin6_port = htons((uint16_t)port);
            d->st._u._ext.nsaddrs[0] = a6;
        } else {
            d->st.nsaddr_list[0].sin_family = AF_INET;
            d->st.nsaddr_list[0].sin_addr = a;
            d->st.nsaddr_list[0].sin_port = htons((uint16_t)port);
        }
        d->st.nscount = 1;
    }
    /* the servers dns_txt_many asks: IPv4 in nsaddr_list, IPv6 where
     * glibc keeps them (_u._ext.nsaddrs) */
    for (i = 0; i < d->st.nscount && i < MAXNS; i++) {
        struct sockaddr_storage *ss = &d->srv[d->nsrv];

        memset(ss, 0, sizeof(*ss));
        if (d->st.nsaddr_list[i].sin_family == AF_INET) {
            memcpy(ss, &d->st.nsaddr_list[i], sizeof(struct sockaddr_in));
            d->srvlen[d->nsrv++] = sizeof(struct sockaddr_in);
        } else if (d->st._u._ext.nsaddrs[i] != NULL &&
            d->st._u._ext.nsaddrs[i]->sin6_family == AF_INET6) {
            memcpy(ss, d->st._u._ext.nsaddrs[i], sizeof(struct sockaddr_in6));
            d->srvlen[d->nsrv++] = sizeof(struct sockaddr_in6);
        }
    }
    if (d->nsrv == 0) {
        /* no nameserver line: the resolver's own default */
        struct sockaddr_in *sin = (struct sockaddr_in *)&d->srv[0];

        memset(&d->srv[0], 0, sizeof(d->srv[0]));
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sin->sin_port = htons(53);
        d->srvlen[d->nsrv++] = sizeof(*sin);
    }
    d->budget_ms = d->timeout_ms * DNS_TRIES * (unsigned)d->nsrv;
    return d;
}

void
dns_budget(struct dns *d, unsigned budget_ms)
{
    if (d != NULL)
        d->budget_ms = budget_ms > 0 ? budget_ms : 1;
}

void
dns_free(struct dns *d)
{
    if (d == NULL)
        return;
    res_nclose(&d->st);
    free(d);
}

/*
 * txt_parse - the TXT records of a NOERROR answer (or of a cached one),
 * each record's character-strings joined; *ttl the shortest TTL on the
 * way.  RUAD_OK, or RUAD_TEMPFAIL if it does not parse or memory ran out.
 */
static enum ruad_rc
txt_parse(const unsigned char *ans, size_t len, char ***records, size_t *n,
    unsigned *ttl)
{
    ns_msg  msg;
    ns_rr   rr;
    int     i, count;
    char  **recs;

    *records = NULL;
    *n = 0;
    *ttl = DNS_TTL_MAX;
    if (ns_initparse(ans, (int)len, &msg) != 0)
        return RUAD_TEMPFAIL;
    count = ns_msg_count(msg, ns_s_an);
    if ((recs = calloc(DNS_RECORDS_MAX, sizeof(*recs))) == NULL)
        return RUAD_TEMPFAIL;
    for (i = 0; i < count && *n < DNS_RECORDS_MAX; i++) {
        const unsigned char *p, *end;
        char                *s;
        size_t               o = 0;

        if (ns_parserr(&msg, ns_s_an, i, &rr) != 0)
            break;
        if (ns_rr_ttl(rr) < *ttl)
            *ttl = ns_rr_ttl(rr);        /* the chain's shortest */
        if (ns_rr_type(rr) != ns_t_txt || ns_rr_class(rr) != ns_c_in)
            continue;                    /* a CNAME on the way */
        p = ns_rr_rdata(rr);
        end = p + ns_rr_rdlen(rr);
        if ((s = malloc(DNS_TXT_MAX + 1)) == NULL)
            break;
        while (p < end) {
            size_t l = *p++;

            if (l > (size_t)(end - p) || o + l > DNS_TXT_MAX)
                break;
            memcpy(s + o, p, l);
            o += l;
            p += l;
        }
        s[o] = '\0';
        recs[(*n)++] = s;
    }
    if (count == 0)
        *ttl = DNS_NEG_TTL;             /* NOERROR without an answer */
    *records = recs;
    return RUAD_OK;
}

/* ---- TXT lookups in parallel: non-blocking sockets and poll ---- */

/*
 * name_ok - can name be asked at all (RFC 1035 2.3.4)?  Labels of 1 to
 * 63 octets, at most 253 in all (a final dot aside).  NULL, or why not.
 */
static const char *
name_ok(const char *name)
{
    size_t len = strlen(name);

    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len == 0)
        return "an empty name";
    return dnsname_check(name, len);
}

enum qstate { Q_DONE, Q_UDP, Q_TCP_CONNECT, Q_TCP_IO };

/* One name being asked. */
struct query {
    const char      *name;
    struct dkim_txt *out;
    enum qstate      st;
    unsigned char    pkt[2 + DNS_QUERY_MAX]; /* TCP length, then query */
    size_t           plen;                   /* of the query */
    uint16_t         id;
    bool             edns;
    int              fd;
    int              family;     /* of fd */
    unsigned         tries;      /* UDP sends */
    unsigned         srv;        /* the server of the last send */
    int64_t          resend_ms;  /* UDP: the next try is due */
    int              err;        /* errno of the last try that failed */
    unsigned char   *tcp;        /* TCP: the answer (tcp_want bytes) */
    size_t           tcp_sent, tcp_got, tcp_want;
    unsigned char    tcp_len[2];
};

static void
q_close(struct query *q)
{
    if (q->fd >= 0)
        close(q->fd);
    q->fd = -1;
    free(q->tcp);
    q->tcp = NULL;
}

static void q_fail(struct query *q, enum ruad_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* q_fail - the query is over without records: rc and why */
static void
q_fail(struct query *q, enum ruad_rc rc, const char *fmt, ...)
{
    va_list ap;

    q_close(q);
    q->st = Q_DONE;
    q->out->rc = rc;
    va_start(ap, fmt);
    vsnprintf(q->out->why, sizeof(q->out->why), fmt, ap);
    va_end(ap);
}

/* q_build - the query packet (RFC 1035 4.1), with an EDNS(0) OPT record
 * offering DNS_EDNS_SIZE bytes (RFC 6891) unless the server refused it */
static bool
q_build(struct query *q)
{
    unsigned char *p = q->pkt + 2;
    int            n;

    memset(p, 0, 12);
    p[0] = (unsigned char)(q->id >> 8);
    p[1] = (unsigned char)q->id;
    p[2] = 0x01;                                /* RD */
    p[5] = 1;                                   /* QDCOUNT */
    p[11] = q->edns ? 1 : 0;                    /* ARCOUNT */
    n = dn_comp(q->name, p + 12, NS_MAXCDNAME, NULL, NULL);
    if (n < 0)
        return false;
    p += 12 + n;
    *p++ = 0; *p++ = ns_t_txt; *p++ = 0; *p++ = ns_c_in;
    if (q->edns) {
        *p++ = 0;                               /* the root */
        *p++ = 0; *p++ = 41;                    /* OPT */
        *p++ = DNS_EDNS_SIZE >> 8; *p++ = DNS_EDNS_SIZE & 0xff;
        memset(p, 0, 6);                        /* TTL 0, RDLEN 0 */
        p += 6;
    }
    q->plen = (size_t)(p - (q->pkt + 2));
    q->pkt[0] = (unsigned char)(q->plen >> 8);
    q->pkt[1] = (unsigned char)q->plen;
    return true;
}

/* q_socket - q->fd of type (SOCK_DGRAM, SOCK_STREAM) connected (or
 * connecting) to server i; false with q failed */
static bool
q_socket(const struct dns *d, struct query *q, int type, unsigned i)
{
    const struct sockaddr *sa = (const struct sockaddr *)&d->srv[i];

    if (q->fd >= 0 && (type != SOCK_DGRAM || q->family != sa->sa_family))
        q_close(q);
    if (q->fd < 0) {
        q->fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
            0);
        if (q->fd < 0) {
            q_fail(q, RUAD_TEMPFAIL, "socket: %s", strerror(errno));
            return false;
        }
        q->family = sa->sa_family;
    }
    /* a connected UDP socket takes answers from that server only, and
     * hears of a closed port (ECONNREFUSED) */
    if (connect(q->fd, sa, d->srvlen[i]) != 0 && errno != EINPROGRESS) {
        if (type == SOCK_DGRAM)
            return true;          /* the send fails too: the next try */
        q_fail(q, RUAD_TEMPFAIL, "TCP: %s", strerror(errno));
        return false;
    }
    return true;
}

/* q_send_udp - one more try, to the next server in turn */
static void
q_send_udp(const struct dns *d, struct query *q, int64_t now)
{
    unsigned i = q->tries % (unsigned)d->nsrv;

    q->st = Q_UDP;
    q->srv = i;
    q->tries++;
    q->resend_ms = now + d->timeout_ms;
    if (!q_socket(d, q, SOCK_DGRAM, i))
        return;
    if (send(q->fd, q->pkt + 2, q->plen, 0) < 0) {
        q->err = errno;
        q->resend_ms = now;       /* unreachable now: the next try */
    }
}

/* q_tcp - the answer was truncated: ask the same server over TCP */
static void
q_tcp(const struct dns *d, struct query *q)
{
    q_close(q);
    q->tcp_sent = q->tcp_got = q->tcp_want = 0;
    if (q_socket(d, q, SOCK_STREAM, q->srv))
        q->st = Q_TCP_CONNECT;
}

/* answers_q - is (a, n) an answer to q's question? */
static bool
answers_q(const struct query *q, const unsigned char *a, size_t n)
{
    char   qname[NS_MAXDNAME];
    int    l;
    size_t ql, nl;

    if (n < 12 || ((a[0] << 8) | a[1]) != q->id || (a[2] & 0x80) == 0 ||
        (a[2] & 0x78) != 0 || a[4] != 0 || a[5] != 1)
        return false;
    l = dn_expand(a, a + n, a + 12, qname, sizeof(qname));
    if (l < 0 || 12 + (size_t)l + 4 > n ||
        a[12 + l] != 0 || a[13 + l] != ns_t_txt ||
        a[14 + l] != 0 || a[15 + l] != ns_c_in)
        return false;
    ql = strlen(qname);
    nl = strlen(q->name);
    if (nl > 0 && q->name[nl - 1] == '.')
        nl--;
    return ql == nl && strncasecmp(qname, q->name, nl) == 0;
}

/* q_answer - an answer to q arrived (over TCP when tcp) */
static void
q_answer(const struct dns *d, struct query *q, const unsigned char *a,
    size_t n, bool tcp, int64_t now)
{
    static const char *const rcodes[] = { "NOERROR", "FORMERR", "SERVFAIL",
        "NXDOMAIN", "NOTIMP", "REFUSED" };
    unsigned rcode = a[3] & 0x0f, ttl;

    if (!tcp && (a[2] & 0x02) != 0) {
        q_tcp(d, q);                       /* TC: RFC 7766 */
        return;
    }
    switch (rcode) {
    case ns_r_noerror:
        if (txt_parse(a, n, &q->out->records, &q->out->n, &ttl) !=
            RUAD_OK) {
            q_fail(q, RUAD_TEMPFAIL, "an answer that does not parse");
            return;
        }
        q->out->rc = RUAD_OK;
        cache_put(q->name, q->out->records, q->out->n, false, ttl);
        q_close(q);
        q->st = Q_DONE;
        return;
    case ns_r_nxdomain:
        cache_put(q->name, NULL, 0, true, DNS_NEG_TTL);
        q_fail(q, RUAD_EOF, "NXDOMAIN");
        return;
    case ns_r_formerr:
    case ns_r_notimpl:
        if (q->edns) {
            /* a server without EDNS (RFC 6891 7): once more without */
            q->edns = false;
            q->tries--;
            if (q_build(q))
                q_send_udp(d, q, now);
            return;
        }
        break;
    default:
        break;
    }
    /* SERVFAIL, REFUSED, ...: another server may know better */
    if (q->tries < DNS_TRIES * (unsigned)d->nsrv && d->nsrv > 1) {
        q_send_udp(d, q, now);
        return;
    }
    q_fail(q, RUAD_TEMPFAIL, "%s from the DNS server", rcode < 6 ?
        rcodes[rcode] : "an error");
}

/* q_udp_read - every datagram waiting on q's socket */
static void
q_udp_read(const struct dns *d, struct query *q, unsigned char *buf,
    int64_t now)
{
    ssize_t n;

    while (q->st == Q_UDP && (n = recv(q->fd, buf, DNS_ANSWER_MAX, 0)) != 0) {
        if (n < 0) {
            if (errno == ECONNREFUSED) {
                q->err = errno;
                q->resend_ms = now;      /* nobody there: the next try */
            }
            return;
        }
        if (answers_q(q, buf, (size_t)n))
            q_answer(d, q, buf, (size_t)n, false, now);
    }
}

/* q_tcp_io - the TCP exchange: connect, send the query, read the answer */
static void
q_tcp_io(const struct dns *d, struct query *q, int64_t now)
{
    ssize_t n;
    int     e = 0;
    socklen_t el = sizeof(e);

    if (q->st == Q_TCP_CONNECT) {
        if (getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0 || e != 0) {
            q_fail(q, RUAD_TEMPFAIL, "TCP: %s", strerror(e ? e : errno));
            return;
        }
        q->st = Q_TCP_IO;
    }
    while (q->tcp_sent < q->plen + 2) {
        n = send(q->fd, q->pkt + q->tcp_sent, q->plen + 2 - q->tcp_sent,
            MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            q_fail(q, RUAD_TEMPFAIL, "TCP: %s", strerror(errno));
            return;
        }
        q->tcp_sent += (size_t)n;
    }
    for (;;) {
        unsigned char *dst = q->tcp_want == 0 ? q->tcp_len + q->tcp_got :
            q->tcp + q->tcp_got;
        size_t         want = q->tcp_want == 0 ? 2 - q->tcp_got :
            q->tcp_want - q->tcp_got;

        n = recv(q->fd, dst, want, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            q_fail(q, RUAD_TEMPFAIL, "TCP: %s", n == 0 ?
                "closed before the answer" : strerror(errno));
            return;
        }
        q->tcp_got += (size_t)n;
        if (q->tcp_want == 0 && q->tcp_got == 2) {
            q->tcp_want = (size_t)(q->tcp_len[0] << 8 | q->tcp_len[1]);
            q->tcp_got = 0;
            if (q->tcp_want < 12 || (q->tcp = malloc(q->tcp_want)) == NULL) {
                q_fail(q, RUAD_TEMPFAIL, "TCP: a bad answer");
                return;
            }
        } else if (q->tcp_want > 0 && q->tcp_got == q->tcp_want) {
            unsigned char *a = q->tcp;

            q->tcp = NULL;
            if (answers_q(q, a, q->tcp_want))
                q_answer(d, q, a, q->tcp_want, true, now);
            else
                q_fail(q, RUAD_TEMPFAIL, "TCP: an answer to another "
                    "question");
            free(a);
            return;
        }
    }
}

void
dns_txt_many(void *ctx, const char *const *names, size_t n,
    struct dkim_txt *out)
{
    struct dns    *d = ctx;
    struct query  *q;
    struct pollfd *pfd;
    size_t        *pq, i, np, pending;
    unsigned char *buf;
    int64_t        now = clock_now_ms(), deadline, wake;
    const char    *bad;
    bool           nx;

    memset(out, 0, n * sizeof(*out));
    q = calloc(n ? n : 1, sizeof(*q));
    pfd = calloc(n ? n : 1, sizeof(*pfd));
    pq = calloc(n ? n : 1, sizeof(*pq));
    buf = malloc(DNS_ANSWER_MAX);
    if (q == NULL || pfd == NULL || pq == NULL || buf == NULL) {
        for (i = 0; i < n; i++) {
            out[i].rc = RUAD_TEMPFAIL;
            snprintf(out[i].why, sizeof(out[i].why), "out of memory");
        }
        goto out;
    }
    deadline = now + d->budget_ms;
    for (i = 0; i < n; i++) {
        q[i].name = names[i];
        q[i].out = &out[i];
        q[i].fd = -1;
        q[i].st = Q_DONE;
        if ((bad = name_ok(names[i])) != NULL) {
            out[i].rc = RUAD_MALFORMED;
            snprintf(out[i].why, sizeof(out[i].why), "%s", bad);
            continue;
        }
        if (cache_get(names[i], &out[i].records, &out[i].n, &nx)) {
            out[i].rc = nx ? RUAD_EOF : RUAD_OK;
            continue;
        }
        if (getrandom(&q[i].id, sizeof(q[i].id), 0) != sizeof(q[i].id))
            q[i].id = (uint16_t)(now ^ (int64_t)i * 7919);
        q[i].edns = true;
        if (!q_build(&q[i])) {
            out[i].rc = RUAD_MALFORMED;
            snprintf(out[i].why, sizeof(out[i].why), "not a DNS name");
            continue;
        }
        q_send_udp(d, &q[i], now);
    }
    for (;;) {
        now = clock_now_ms();
        wake = deadline;
        pending = np = 0;
        for (i = 0; i < n; i++) {
            if (q[i].st == Q_UDP && now >= q[i].resend_ms) {
                if (q[i].tries >= DNS_TRIES * (unsigned)d->nsrv) {
                    if (q[i].err != 0)
                        q_fail(&q[i], RUAD_TEMPFAIL, "no answer to %u tries "
                            "(%s)", q[i].tries, strerror(q[i].err));
                    else
                        q_fail(&q[i], RUAD_TEMPFAIL, "no answer to %u tries "
                            "of %u ms", q[i].tries, d->timeout_ms);
                    continue;
                }
                q_send_udp(d, &q[i], now);
            }
            if (q[i].st == Q_DONE)
                continue;
            pending++;
            if (q[i].st == Q_UDP && q[i].resend_ms < wake)
                wake = q[i].resend_ms;
            if (q[i].fd >= 0) {
                pfd[np].fd = q[i].fd;
                pfd[np].events = q[i].st == Q_UDP ? POLLIN :
                    q[i].st == Q_TCP_CONNECT ? POLLOUT :
                    q[i].tcp_sent < q[i].plen + 2 ? POLLOUT : POLLIN;
                pfd[np].revents = 0;
                pq[np++] = i;
            }
        }
        if (pending == 0)
            break;
        if (now >= deadline) {
            for (i = 0; i < n; i++)
                if (q[i].st != Q_DONE)
                    q_fail(&q[i], RUAD_TEMPFAIL, "no answer within %u ms",
                        d->budget_ms);
            break;
        }
        if (poll(pfd, np, (int)(wake > now ? wake - now : 0)) < 0 &&
            errno != EINTR)
            continue;
        now = clock_now_ms();
        for (i = 0; i < np; i++) {
            struct query *x = &q[pq[i]];

            if (pfd[i].revents == 0 || x->st == Q_DONE || x->fd != pfd[i].fd)
                continue;
            if (x->st == Q_UDP)
                q_udp_read(d, x, buf, now);
            else
                q_tcp_io(d, x, now);
        }
    }
out:
    if (q != NULL)
        for (i = 0; i < n; i++)
            q_close(&q[i]);
    free(q);
    free(pfd);
    free(pq);
    free(buf);
}

enum ruad_rc
dns_txt(void *ctx, const char *name, char ***records, size_t *n)
{
    struct dkim_txt r;

    dns_txt_many(ctx, &name, 1, &r);
    *records = r.records;
    *n = r.n;
    return r.rc;
}

/*
 * dns_rrs - the answers of type at name, uncached (dns-records --check
 * asks once).  Returns the rc of dns_txt; each rdata is handed to fn.
 */
static enum ruad_rc
dns_rrs(struct dns *d, const char *name, int type,
    void (*fn)(void *arg, const ns_msg *msg, const ns_rr *rr), void *arg)
{
    unsigned char *ans;
    ns_msg         msg;
    ns_rr          rr;
    int            len, i, count;

    if ((ans = malloc(DNS_ANSWER_MAX)) == NULL)
        return RUAD_NOMEM;
    len = res_nquery(&d->st, name, ns_c_in, type, ans, DNS_ANSWER_MAX);
    if (len < 0) {
        int h = d->st.res_h_errno;

        free(ans);
        return h == HOST_NOT_FOUND ? RUAD_EOF : h == NO_DATA ? RUAD_OK :
            RUAD_TEMPFAIL;
    }
    if (ns_initparse(ans, len, &msg) != 0) {
        free(ans);
        return RUAD_TEMPFAIL;
    }
    count = ns_msg_count(msg, ns_s_an);
    for (i = 0; i < count && i < DNS_RECORDS_MAX * 4; i++) {
        if (ns_parserr(&msg, ns_s_an, i, &rr) != 0)
            break;
        if ((int)ns_rr_type(rr) == type && ns_rr_class(rr) == ns_c_in)
            fn(arg, &msg, &rr);
    }
    free(ans);
    return RUAD_OK;
}

struct dns_names {
    char  **v;
    size_t  n;
};

/* mx_one - the exchange of one MX answer, expanded */
static void
mx_one(void *arg, const ns_msg *msg, const ns_rr *rr)
{
    struct dns_names *l = arg;
    char              host[NS_MAXDNAME];

    if (l->n >= DNS_RECORDS_MAX || ns_rr_rdlen(*rr) < 3 ||
        ns_name_uncompress(ns_msg_base(*msg), ns_msg_end(*msg),
        ns_rr_rdata(*rr) + 2, host, sizeof(host)) < 0)
        return;
    if ((l->v[l->n] = strdup(host)) != NULL)
        l->n++;
}

enum ruad_rc
dns_mx(void *ctx, const char *name, char ***hosts, size_t *n)
{
    struct dns_names l = { .n = 0 };
    enum ruad_rc     rc;

    *hosts = NULL;
    *n = 0;
    if ((l.v = calloc(DNS_RECORDS_MAX, sizeof(*l.v))) == NULL)
        return RUAD_NOMEM;
    rc = dns_rrs(ctx, name, ns_t_mx, mx_one, &l);
    if (rc != RUAD_OK) {
        free(l.v);
        return rc;
    }
    *hosts = l.v;
    *n = l.n;
    return RUAD_OK;
}

static void
count_one(void *arg, const ns_msg *msg, const ns_rr *rr)
{
    (void)msg;
    (void)rr;
    (*(size_t *)arg)++;
}

enum ruad_rc
dns_tlsa(void *ctx, const char *name, size_t *n)
{
    *n = 0;
    return dns_rrs(ctx, name, 52 /* TLSA, RFC 6698 */, count_one, n);
}

enum ruad_rc
dns_addrs(void *ctx, const char *name, size_t *n)
{
    size_t       n6 = 0;
    enum ruad_rc rc;

    *n = 0;
    rc = dns_rrs(ctx, name, ns_t_a, count_one, n);
    if (rc == RUAD_OK || rc == RUAD_EOF) {
        enum ruad_rc rc6 = dns_rrs(ctx, name, ns_t_aaaa, count_one, &n6);

        if (rc6 == RUAD_TEMPFAIL || rc6 == RUAD_NOMEM)
            return rc6;
        *n += n6;
        if (rc6 == RUAD_OK)
            rc = RUAD_OK;
    }
    return rc;
}
