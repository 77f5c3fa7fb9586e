/*
 * test_netaddr.c - the per-client key of the connection caps: an IPv4
 * address (also v4-mapped) is one client, IPv6 addresses of one /64 are
 * one client, the next /64 is another; and the receive budget's cap.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "membudget.h"
#include "netaddr.h"

static struct netaddr_key
key_of(const char *addr)
{
    struct sockaddr_storage ss;
    struct netaddr_key      k;

    memset(&ss, 0, sizeof(ss));
    if (strchr(addr, ':') != NULL) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

        in6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, addr, &in6->sin6_addr), 1);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;

        in->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, addr, &in->sin_addr), 1);
    }
    assert_true(netaddr_key((struct sockaddr *)&ss, &k));
    return k;
}

static const struct {
    const char *a, *b;
    bool        same;
} pairs[] = {
    { "192.0.2.1", "192.0.2.1", true },
    { "192.0.2.1", "192.0.2.2", false },             /* IPv4: the address */
    { "192.0.2.1", "::ffff:192.0.2.1", true },        /* v4-mapped */
    { "::ffff:192.0.2.1", "::ffff:192.0.2.2", false },
    { "2001:db8:1:2::1", "2001:db8:1:2::2", true },   /* one /64 */
    { "2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", true },
    { "2001:db8:1:2::1", "2001:db8:1:3::1", false },  /* the next /64 */
    { "2001:db8:1:2::1", "2001:db8:1:2::", true },
    { "::1", "::2", true },                            /* loopback's /64 */
    { "::1", "0.0.0.1", false },                       /* not v4-mapped */
    { "::ffff:0:0", "::", false },
};

static void
test_keys(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        struct netaddr_key a = key_of(pairs[i].a), b = key_of(pairs[i].b);

        if (netaddr_key_equal(&a, &b) != pairs[i].same)
            fail_msg("%s vs %s: want %s", pairs[i].a, pairs[i].b,
                pairs[i].same ? "same" : "different");
    }
}

static void
test_text(void **state)
{
    char               t[NETADDR_TEXT_MAX];
    struct netaddr_key k;
    struct sockaddr    other;

    (void)state;
    k = key_of("192.0.2.7");
    assert_string_equal(netaddr_key_text(&k, t, sizeof(t)), "192.0.2.7");
    k = key_of("2001:db8:1:2:3:4:5:6");
    assert_string_equal(netaddr_key_text(&k, t, sizeof(t)),
        "2001:db8:1:2::/64");
    k = key_of("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    assert_string_equal(netaddr_key_text(&k, t, sizeof(t)),
        "ffff:ffff:ffff:ffff::/64");
    k = key_of("::ffff:10.0.0.1");
    assert_string_equal(netaddr_key_text(&k, t, sizeof(t)), "10.0.0.1");
    memset(&other, 0, sizeof(other));
    other.sa_family = AF_UNIX;
    assert_false(netaddr_key(&other, &k));
    assert_false(netaddr_key(NULL, &k));
}

/* A client's address as text: IPv4 as a.b.c.d also when v4-mapped (an
 * IPv4 client of a [::] listener), IPv6 whole; and text back to a key. */
static void
test_peer_text(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        { "192.0.2.7", "192.0.2.7" },
        { "::ffff:127.0.0.1", "127.0.0.1" },
        { "::ffff:192.0.2.255", "192.0.2.255" },
        { "::1", "::1" },
        { "2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6" },
        { "::fffe:127.0.0.1", "::fffe:7f00:1" },   /* not v4-mapped */
        { "64:ff9b::192.0.2.1", "64:ff9b::c000:201" },  /* NAT64: IPv6 */
    };
    struct sockaddr_storage ss;
    struct netaddr_key      k, k2;
    char                    t[INET6_ADDRSTRLEN], kt[NETADDR_TEXT_MAX];
    size_t                  i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&ss, 0, sizeof(ss));
        if (strchr(cases[i].in, ':') != NULL) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

            in6->sin6_family = AF_INET6;
            assert_int_equal(inet_pton(AF_INET6, cases[i].in,
                &in6->sin6_addr), 1);
        } else {
            struct sockaddr_in *in = (struct sockaddr_in *)&ss;

            in->sin_family = AF_INET;
            assert_int_equal(inet_pton(AF_INET, cases[i].in, &in->sin_addr),
                1);
        }
        assert_true(netaddr_peer_text((struct sockaddr *)&ss, t,
            sizeof(t)));
        assert_string_equal(t, cases[i].want);
        /* the text keys as the address itself does */
        assert_true(netaddr_key_parse(t, &k));
        k2 = key_of(cases[i].in);
        assert_true(netaddr_key_equal(&k, &k2));
    }
    ss.ss_family = AF_UNIX;
    assert_false(netaddr_peer_text((struct sockaddr *)&ss, t, sizeof(t)));
    assert_string_equal(t, "unknown");
    assert_false(netaddr_peer_text(NULL, t, sizeof(t)));
    assert_string_equal(t, "unknown");
    assert_false(netaddr_key_parse("not-an-address", &k));
    assert_false(netaddr_key_parse("", &k));
    assert_true(netaddr_key_parse("::ffff:10.0.0.1", &k));
    assert_string_equal(netaddr_key_text(&k, kt, sizeof(kt)), "10.0.0.1");
}

/* The receive budget: take at the cap and one past it; charge past it. */
static void
test_budget(void **state)
{
    (void)state;
    membudget_set(1000);
    assert_int_equal(membudget_used(), 0);
    assert_true(membudget_take(600));
    assert_true(membudget_take(400));             /* exactly the cap */
    assert_false(membudget_take(1));              /* one past it */
    assert_int_equal(membudget_used(), 1000);
    membudget_give(400);
    assert_false(membudget_take(401));
    assert_true(membudget_take(400));
    assert_false(membudget_charge(1));            /* counted, but over */
    assert_int_equal(membudget_used(), 1001);
    membudget_give(1001);
    assert_true(membudget_charge(1000));
    membudget_give(1000);
    assert_false(membudget_take(1001));
    assert_false(membudget_take((size_t)-1));     /* no wrap-around */
    assert_int_equal(membudget_used(), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_peer_text),
        cmocka_unit_test(test_budget),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
