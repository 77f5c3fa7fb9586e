/*
 * test_ratelimit.c - the per-key rate limit: the limit one past, the
 * window, keys apart, the IPv6 /64 keying, sender domains, a full table
 * and the log's own limit.  Time is passed in, so nothing sleeps.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "limits.h"
#include "ratelimit.h"

#define S 1000000ll                     /* one second in microseconds */

/* N allowed at once, N + 1 refused, one more after window / N, all N
 * again after the window */
static void
test_limit_one_past(void **state)
{
    struct ratelimit *rl = ratelimit_new(3, 60);
    int64_t           t0 = 1000 * S, retry;
    int               i;

    (void)state;
    assert_non_null(rl);
    for (i = 0; i < 3; i++)
        assert_true(ratelimit_take(rl, "192.0.2.1", t0, &retry));
    assert_false(ratelimit_take(rl, "192.0.2.1", t0, &retry));
    assert_int_equal(retry, 20 * S);    /* one event every 20 s */
    assert_false(ratelimit_take(rl, "192.0.2.1", t0 + 20 * S - 1, &retry));
    assert_int_equal(retry, 1);
    assert_true(ratelimit_take(rl, "192.0.2.1", t0 + 20 * S, &retry));
    assert_false(ratelimit_take(rl, "192.0.2.1", t0 + 20 * S, &retry));
    /* a whole window later the bucket is full again */
    for (i = 0; i < 3; i++)
        assert_true(ratelimit_take(rl, "192.0.2.1", t0 + 80 * S, &retry));
    assert_false(ratelimit_take(rl, "192.0.2.1", t0 + 80 * S, &retry));
    /* another key has its own */
    assert_true(ratelimit_take(rl, "192.0.2.2", t0 + 80 * S, &retry));
    ratelimit_free(rl);
}

/* limit 0: no limit, and no table */
static void
test_no_limit(void **state)
{
    struct ratelimit *rl = ratelimit_new(0, 60);
    int64_t           retry;
    int               i;

    (void)state;
    assert_non_null(rl);
    for (i = 0; i < 100000; i++)
        assert_true(ratelimit_take(rl, "192.0.2.1", 5 * S, &retry));
    ratelimit_free(rl);
    ratelimit_free(NULL);
}

static void
key(const char *addr, const char *want, bool ok)
{
    char k[64];

    assert_int_equal(ratelimit_addr_key(addr, k, sizeof(k)), ok);
    if (strcmp(k, want) != 0)
        fail_msg("%s: key %s, want %s", addr, k, want);
}

static void
test_addr_key(void **state)
{
    (void)state;
    key("192.0.2.7", "192.0.2.7", true);
    key("2001:db8:1:2::1", "2001:db8:1:2::/64", true);
    key("2001:db8:1:2:ffff:eeee:dddd:cccc", "2001:db8:1:2::/64", true);
    key("2001:db8:1:3::1", "2001:db8:1:3::/64", true);
    key("::1", "::/64", true);
    key("::ffff:192.0.2.7", "192.0.2.7", true);
    key("not-an-address", "not-an-address", false);
}

/* two addresses of one /64 share a bucket; the next /64 does not */
static void
test_v6_64_counted_together(void **state)
{
    struct ratelimit *rl = ratelimit_new(2, 60);
    char              k[64];
    int64_t           retry;

    (void)state;
    ratelimit_addr_key("2001:db8:a:b::1", k, sizeof(k));
    assert_true(ratelimit_take(rl, k, S, &retry));
    ratelimit_addr_key("2001:db8:a:b:1:2:3:4", k, sizeof(k));
    assert_true(ratelimit_take(rl, k, S, &retry));
    ratelimit_addr_key("2001:db8:a:b:ffff::9", k, sizeof(k));
    assert_false(ratelimit_take(rl, k, S, &retry));
    ratelimit_addr_key("2001:db8:a:c::1", k, sizeof(k));
    assert_true(ratelimit_take(rl, k, S, &retry));
    ratelimit_free(rl);
}

static void
test_sender_key(void **state)
{
    char k[64];

    (void)state;
    ratelimit_sender_key("noreply-dmarc-support@Google.COM", k, sizeof(k));
    assert_string_equal(k, "google.com");
    ratelimit_sender_key("", k, sizeof(k));
    assert_string_equal(k, "<>");
    ratelimit_sender_key("Postmaster", k, sizeof(k));
    assert_string_equal(k, "postmaster");
    ratelimit_sender_key("a@b@Example.org", k, sizeof(k));
    assert_string_equal(k, "example.org");
    ratelimit_sender_key("x@a-very-long-domain.example", k, 8);
    assert_string_equal(k, "a-very-");
}

/* many more keys than the table holds, all at once: every new key gets
 * its first event (the table drops the nearest to full, never refuses a
 * newcomer), and a recent key is still remembered */
static void
test_table_full(void **state)
{
    struct ratelimit *rl = ratelimit_new(1, 60);
    char              k[32];
    int64_t           retry;
    int               i;

    (void)state;
    for (i = 0; i < 4 * RATE_KEYS_MAX; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        assert_true(ratelimit_take(rl, k, S + i, &retry));
    }
    assert_false(ratelimit_take(rl, k, S + i, &retry));
    ratelimit_free(rl);
}

/* refusals are logged at most once per RATE_LOG_MS, with a count */
static void
test_log_due(void **state)
{
    struct ratelimit *rl = ratelimit_new(1, 60);
    unsigned long     skipped;
    int               i;

    (void)state;
    assert_true(ratelimit_log_due(rl, S, &skipped));
    assert_int_equal(skipped, 0);
    for (i = 0; i < 1000; i++)
        assert_false(ratelimit_log_due(rl, S + i, &skipped));
    assert_true(ratelimit_log_due(rl, S + RATE_LOG_MS * 1000ll, &skipped));
    assert_int_equal(skipped, 1000);
    ratelimit_free(rl);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_one_past),
        cmocka_unit_test(test_no_limit),
        cmocka_unit_test(test_addr_key),
        cmocka_unit_test(test_v6_64_counted_together),
        cmocka_unit_test(test_sender_key),
        cmocka_unit_test(test_table_full),
        cmocka_unit_test(test_log_due),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
