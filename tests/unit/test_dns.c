/*
 * test_dns.c - unit tests for dns.c's parallel TXT lookups
 * (dns_txt_many) against a name server written here: a thread on
 * 127.0.0.1 that serves UDP and TCP on one port and behaves as each test
 * asks (answers, drops everything, truncates over UDP, refuses EDNS,
 * SERVFAIL, NXDOMAIN, answers with the wrong id or question first).
 *
 * What is pinned down: every name is asked at once, not one after the
 * other; the budget bounds the whole call; a name that is not a DNS name
 * (a label over 63 octets, over 253 in all) is RUAD_MALFORMED and never
 * sent; a truncated answer is fetched over TCP; a server that refuses
 * EDNS is asked again without it; an answer to another question or with
 * another id is not taken; answers are cached, failures are not.
 *
 * The end-to-end cases (dnsmasq, a black-holed domain, ruad serve with
 * two workers) are in tests/integration/test_dkim.py.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dkim.h"
#include "dns.h"

/* the upper bounds on wall-clock time have slack for a loaded machine,
 * more under ASan (a slower process; CI runs the tests in parallel) */
#ifdef __SANITIZE_ADDRESS__
#define SLOW 3.0
#else
#define SLOW 1.0
#endif

enum mode {
    M_ANSWER,       /* a TXT record "v=DKIM1; p=<name>" */
    M_DROP,         /* read and drop: a black hole */
    M_TRUNCATE,     /* UDP: TC and nothing; TCP: a 3000-byte record */
    M_NO_EDNS,      /* FORMERR to a query with an OPT record */
    M_SERVFAIL,
    M_NXDOMAIN,
    M_NODATA,       /* NOERROR, no answer */
    M_DECOY,        /* first an answer with another id and one to another
                       question, then the real one */
};

static struct {
    int             udp, tcp, port;
    enum mode       mode;
    pthread_t       th;
    pthread_mutex_t mu;
    bool            stop;
    unsigned        udp_queries, tcp_queries, edns_queries;
    struct timespec first[16];   /* when each distinct name came first */
    char            names[16][300];
    unsigned        n_names;
} srv = { .mu = PTHREAD_MUTEX_INITIALIZER };

static double
since(const struct timespec *t0)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) +
        (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* qname - the question's name (dotted) and the question's end */
static size_t
qname(const unsigned char *q, size_t n, char *out, size_t outlen)
{
    size_t i = 12, o = 0;

    while (i < n && q[i] != 0) {
        size_t l = q[i++];

        if (o > 0 && o + 1 < outlen)
            out[o++] = '.';
        for (; l > 0 && i < n; l--, i++)
            if (o + 1 < outlen)
                out[o++] = (char)q[i];
    }
    out[o] = '\0';
    return i + 1 + 4;            /* the root label, type and class */
}

/* answer - the reply to query q (n bytes) into r; its length, 0: none */
static size_t
answer(const unsigned char *q, size_t n, bool tcp, unsigned char *r,
    size_t cap, int decoy)
{
    char   name[300], txt[3100];
    size_t qend = qname(q, n, name, sizeof(name)), o, tl, i;
    int    rcode = 0;
    bool   edns = n >= 12 && q[11] > 0, tc = false, with = true;

    if (qend > n || qend > cap)
        return 0;
    switch (srv.mode) {
    case M_DROP:
        return 0;
    case M_TRUNCATE:
        tc = !tcp;
        with = tcp;
        break;
    case M_NO_EDNS:
        if (edns) {
            rcode = 1;
            with = false;
        }
        break;
    case M_SERVFAIL:
        rcode = 2;
        with = false;
        break;
    case M_NXDOMAIN:
        rcode = 3;
        with = false;
        break;
    case M_NODATA:
        with = false;
        break;
    default:
        break;
    }
    memcpy(r, q, qend);
    if (decoy == 1)
        r[1] ^= 0x55;                /* another id */
    if (decoy == 2)
        r[13] = r[13] == 'z' ? 'y' : 'z';   /* another question */
    r[2] = (unsigned char)(0x81 | (tc ? 0x02 : 0));   /* QR, RD, TC */
    r[3] = (unsigned char)(0x80 | rcode);             /* RA */
    r[4] = 0; r[5] = 1;
    r[6] = 0; r[7] = with ? 1 : 0;
    r[8] = r[9] = r[10] = r[11] = 0;
    o = qend;
    if (!with)
        return o;
    if (srv.mode == M_TRUNCATE) {
        memset(txt, 'k', 3000);
        txt[3000] = '\0';
    } else {
        snprintf(txt, sizeof(txt), "v=DKIM1; p=%s", name);
    }
    tl = strlen(txt);
    if (o + 12 + tl + tl / 255 + 1 > cap)
        return 0;
    r[o++] = 0xc0; r[o++] = 12;          /* the question's name */
    r[o++] = 0; r[o++] = 16;             /* TXT */
    r[o++] = 0; r[o++] = 1;              /* IN */
    r[o++] = 0; r[o++] = 0; r[o++] = 0; r[o++] = 60;
    {
        size_t rdl = tl + (tl + 254) / 255;

        r[o++] = (unsigned char)(rdl >> 8);
        r[o++] = (unsigned char)rdl;
    }
    for (i = 0; i < tl; i += 255) {
        size_t l = tl - i > 255 ? 255 : tl - i;

        r[o++] = (unsigned char)l;
        memcpy(r + o, txt + i, l);
        o += l;
    }
    return o;
}

static void
note(const unsigned char *q, size_t n, bool tcp)
{
    char     name[300];
    unsigned i;

    qname(q, n, name, sizeof(name));
    pthread_mutex_lock(&srv.mu);
    if (tcp)
        srv.tcp_queries++;
    else
        srv.udp_queries++;
    if (n >= 12 && q[11] > 0)
        srv.edns_queries++;
    for (i = 0; i < srv.n_names; i++)
        if (strcmp(srv.names[i], name) == 0)
            break;
    if (i == srv.n_names && i < 16) {
        snprintf(srv.names[i], sizeof(srv.names[i]), "%s", name);
        clock_gettime(CLOCK_MONOTONIC, &srv.first[i]);
        srv.n_names++;
    }
    pthread_mutex_unlock(&srv.mu);
}

static void *
serve(void *arg)
{
    unsigned char q[4096], r[8192];

    (void)arg;
    while (!srv.stop) {
        struct pollfd p[2] = { { srv.udp, POLLIN, 0 },
            { srv.tcp, POLLIN, 0 } };
        struct sockaddr_in peer;
        socklen_t          pl = sizeof(peer);
        ssize_t            n;
        size_t             rl;

        if (poll(p, 2, 50) <= 0)
            continue;
        if (p[0].revents & POLLIN) {
            n = recvfrom(srv.udp, q, sizeof(q), 0, (struct sockaddr *)&peer,
                &pl);
            if (n < 12)
                continue;
            note(q, (size_t)n, false);
            if (srv.mode == M_DECOY) {
                for (int d = 1; d <= 2; d++)
                    if ((rl = answer(q, (size_t)n, false, r, 512, d)) > 0)
                        sendto(srv.udp, r, rl, 0, (struct sockaddr *)&peer,
                            pl);
            }
            if ((rl = answer(q, (size_t)n, false, r, 1232, 0)) > 0)
                sendto(srv.udp, r, rl, 0, (struct sockaddr *)&peer, pl);
        }
        if (p[1].revents & POLLIN) {
            int           c = accept(srv.tcp, NULL, NULL);
            unsigned char len[2];
            size_t        want, got = 0;

            if (c < 0)
                continue;
            if (recv(c, len, 2, MSG_WAITALL) == 2) {
                want = (size_t)(len[0] << 8 | len[1]);
                while (got < want && (n = recv(c, q + got, want - got, 0)) >
                    0)
                    got += (size_t)n;
                if (got == want && want >= 12) {
                    note(q, want, true);
                    if ((rl = answer(q, want, true, r + 2, sizeof(r) - 2,
                        0)) > 0) {
                        r[0] = (unsigned char)(rl >> 8);
                        r[1] = (unsigned char)rl;
                        (void)!send(c, r, rl + 2, MSG_NOSIGNAL);
                    }
                }
            }
            close(c);
        }
    }
    return NULL;
}

static int
setup(void **state)
{
    struct sockaddr_in a;
    socklen_t          al;
    int                one = 1, tries;

    (void)state;
    /* one port number for UDP and TCP: the kernel picks a free UDP port,
     * and the same TCP port may be taken (another test's connection):
     * then another pick */
    for (tries = 0; tries < 100; tries++) {
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        al = sizeof(a);
        srv.udp = socket(AF_INET, SOCK_DGRAM, 0);
        assert_true(srv.udp >= 0);
        assert_int_equal(bind(srv.udp, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(getsockname(srv.udp, (struct sockaddr *)&a, &al),
            0);
        srv.port = ntohs(a.sin_port);
        srv.tcp = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(srv.tcp >= 0);
        setsockopt(srv.tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(srv.tcp, (struct sockaddr *)&a, sizeof(a)) == 0)
            break;
        close(srv.tcp);
        close(srv.udp);
    }
    assert_true(tries < 100);
    assert_int_equal(listen(srv.tcp, 16), 0);
    srv.stop = false;
    assert_int_equal(pthread_create(&srv.th, NULL, serve, NULL), 0);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    srv.stop = true;
    pthread_join(srv.th, NULL);
    close(srv.udp);
    close(srv.tcp);
    return 0;
}

/* start - a fresh server state and a resolver pointed at it */
static struct dns *
start(enum mode m, unsigned timeout_ms, unsigned budget_ms)
{
    char        addr[32], err[256];
    struct dns *d;

    pthread_mutex_lock(&srv.mu);
    srv.mode = m;
    srv.udp_queries = srv.tcp_queries = srv.edns_queries = 0;
    srv.n_names = 0;
    pthread_mutex_unlock(&srv.mu);
    dns_cache_flush();
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", srv.port);
    d = dns_new(addr, timeout_ms, err, sizeof(err));
    assert_non_null(d);
    dns_budget(d, budget_ms);
    return d;
}

static void
free_answers(struct dkim_txt *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < a[i].n; j++)
            free(a[i].records[j]);
        free(a[i].records);
    }
}

static const char *const five[] = { "a._domainkey.x.example",
    "b._domainkey.x.example", "c._domainkey.x.example",
    "d._domainkey.x.example", "e._domainkey.x.example" };

/* every name answered, in one round trip each, all at once */
static void
test_answers(void **state)
{
    struct dns     *d = start(M_ANSWER, 1000, 5000);
    struct dkim_txt a[5];
    char            want[64];

    (void)state;
    dns_txt_many(d, five, 5, a);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(a[i].rc, RUAD_OK);
        assert_int_equal(a[i].n, 1);
        snprintf(want, sizeof(want), "v=DKIM1; p=%s", five[i]);
        assert_string_equal(a[i].records[0], want);
    }
    assert_int_equal(srv.udp_queries, 5);
    assert_int_equal(srv.edns_queries, 5);
    free_answers(a, 5);
    /* now from the cache: no query */
    dns_txt_many(d, five, 5, a);
    assert_int_equal(a[2].rc, RUAD_OK);
    assert_int_equal(srv.udp_queries, 5);
    free_answers(a, 5);
    dns_free(d);
}

/* a black hole: the budget bounds the call, every name is asked at once
 * (the old way asked one after the other: 5 x 2 tries x timeout) */
static void
test_budget(void **state)
{
    struct dns     *d = start(M_DROP, 1000, 1500);
    struct dkim_txt a[5];
    struct timespec t0;
    double          took, spread;

    (void)state;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    dns_txt_many(d, five, 5, a);
    took = since(&t0);
    assert_true(took >= 1.4 && took < 1.5 + 1.0 * SLOW);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(a[i].rc, RUAD_TEMPFAIL);
        assert_non_null(strstr(a[i].why, "within 1500 ms"));
    }
    assert_int_equal(srv.n_names, 5);
    spread = (double)(srv.first[4].tv_sec - srv.first[0].tv_sec) +
        (double)(srv.first[4].tv_nsec - srv.first[0].tv_nsec) / 1e9;
    assert_true(spread < 0.3 * SLOW);
    /* one retry each at 1000 ms, none more before 1500 */
    assert_int_equal(srv.udp_queries, 10);
    free_answers(a, 5);
    /* failures are not cached: asked again */
    dns_txt_many(d, five, 1, a);
    assert_int_equal(a[0].rc, RUAD_TEMPFAIL);
    assert_true(srv.udp_queries > 10);
    dns_free(d);
}

/* with a budget past the tries: two tries of the timeout, then over */
static void
test_tries(void **state)
{
    struct dns     *d = start(M_DROP, 1000, 10000);
    struct dkim_txt a[1];
    struct timespec t0;
    double          took;

    (void)state;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    dns_txt_many(d, five, 1, a);
    took = since(&t0);
    assert_true(took >= 1.9 && took < 2.0 + 1.0 * SLOW);
    assert_int_equal(a[0].rc, RUAD_TEMPFAIL);
    assert_non_null(strstr(a[0].why, "2 tries"));
    assert_int_equal(srv.udp_queries, 2);
    dns_free(d);
}

/* names DNS cannot carry: permanent, and never sent */
static void
test_bad_names(void **state)
{
    struct dns     *d = start(M_ANSWER, 1000, 5000);
    char            label64[128], long_name[300];
    const char     *names[4];
    struct dkim_txt a[4];
    char          **recs;
    size_t          n;

    (void)state;
    memset(label64, 'a', 64);
    snprintf(label64 + 64, sizeof(label64) - 64, "._domainkey.x.example");
    for (size_t i = 0; i < 254; i += 2)
        memcpy(long_name + i, "a.", 2);
    long_name[253] = 'b';
    long_name[254] = '\0';          /* 254 octets, labels of one */
    names[0] = label64;
    names[1] = long_name;
    names[2] = "a..example";
    names[3] = "ok._domainkey.x.example";
    dns_txt_many(d, names, 4, a);
    assert_int_equal(a[0].rc, RUAD_MALFORMED);
    assert_non_null(strstr(a[0].why, "63"));
    assert_int_equal(a[1].rc, RUAD_MALFORMED);
    assert_non_null(strstr(a[1].why, "253"));
    assert_int_equal(a[2].rc, RUAD_MALFORMED);
    assert_int_equal(a[3].rc, RUAD_OK);
    assert_int_equal(srv.udp_queries, 1);
    free_answers(a, 4);
    assert_int_equal(dns_txt(d, label64, &recs, &n), RUAD_MALFORMED);
    assert_int_equal(n, 0);
    /* 63 is fine */
    memmove(label64, label64 + 1, strlen(label64));
    assert_int_equal(dns_txt(d, label64, &recs, &n), RUAD_OK);
    assert_int_equal(n, 1);
    free(recs[0]);
    free(recs);
    dns_free(d);
}

/* TC over UDP: the same question over TCP gives the whole record */
static void
test_truncated(void **state)
{
    struct dns     *d = start(M_TRUNCATE, 1000, 5000);
    struct dkim_txt a[2];

    (void)state;
    dns_txt_many(d, five, 2, a);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(a[i].rc, RUAD_OK);
        assert_int_equal(a[i].n, 1);
        assert_int_equal(strlen(a[i].records[0]), 3000);
    }
    assert_int_equal(srv.udp_queries, 2);
    assert_int_equal(srv.tcp_queries, 2);
    free_answers(a, 2);
    dns_free(d);
}

/* FORMERR to EDNS: asked again without the OPT record */
static void
test_no_edns(void **state)
{
    struct dns     *d = start(M_NO_EDNS, 1000, 5000);
    struct dkim_txt a[1];

    (void)state;
    dns_txt_many(d, five, 1, a);
    assert_int_equal(a[0].rc, RUAD_OK);
    assert_int_equal(a[0].n, 1);
    assert_int_equal(srv.udp_queries, 2);
    assert_int_equal(srv.edns_queries, 1);
    free_answers(a, 1);
    dns_free(d);
}

/* the rcodes: SERVFAIL is temporary (and quick), NXDOMAIN and no data
 * are answers */
static void
test_rcodes(void **state)
{
    struct dns     *d = start(M_SERVFAIL, 1000, 5000);
    struct dkim_txt a[1];
    struct timespec t0;

    (void)state;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    dns_txt_many(d, five, 1, a);
    assert_int_equal(a[0].rc, RUAD_TEMPFAIL);
    assert_non_null(strstr(a[0].why, "SERVFAIL"));
    assert_true(since(&t0) < 0.5);
    dns_free(d);

    d = start(M_NXDOMAIN, 1000, 5000);
    dns_txt_many(d, five, 1, a);
    assert_int_equal(a[0].rc, RUAD_EOF);
    free_answers(a, 1);
    dns_txt_many(d, five, 1, a);             /* cached */
    assert_int_equal(a[0].rc, RUAD_EOF);
    assert_int_equal(srv.udp_queries, 1);
    free_answers(a, 1);
    dns_free(d);

    d = start(M_NODATA, 1000, 5000);
    dns_txt_many(d, five, 1, a);
    assert_int_equal(a[0].rc, RUAD_OK);
    assert_int_equal(a[0].n, 0);
    free_answers(a, 1);
    dns_free(d);
}

/* answers with another id or to another question are not taken */
static void
test_decoys(void **state)
{
    struct dns     *d = start(M_DECOY, 1000, 5000);
    struct dkim_txt a[3];
    char            want[64];

    (void)state;
    dns_txt_many(d, five, 3, a);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(a[i].rc, RUAD_OK);
        assert_int_equal(a[i].n, 1);
        snprintf(want, sizeof(want), "v=DKIM1; p=%s", five[i]);
        assert_string_equal(a[i].records[0], want);
    }
    assert_int_equal(srv.udp_queries, 3);
    free_answers(a, 3);
    dns_free(d);
}

/* nobody listening: ICMP port unreachable ends the tries early */
static void
test_refused(void **state)
{
    int                s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a;
    socklen_t          al = sizeof(a);
    char               addr[32], err[256];
    struct dns        *d;
    struct dkim_txt    r[1];
    struct timespec    t0;

    (void)state;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
    close(s);                       /* a port nobody has now */
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", ntohs(a.sin_port));
    dns_cache_flush();
    d = dns_new(addr, 1000, err, sizeof(err));
    assert_non_null(d);
    dns_budget(d, 5000);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    dns_txt_many(d, five, 1, r);
    assert_int_equal(r[0].rc, RUAD_TEMPFAIL);
    assert_true(since(&t0) < 0.5);
    assert_non_null(strstr(r[0].why, "refused"));
    dns_free(d);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_tries),
        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_no_edns),
        cmocka_unit_test(test_rcodes),
        cmocka_unit_test(test_decoys),
        cmocka_unit_test(test_refused),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
