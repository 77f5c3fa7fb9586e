/*
 * test_store_api.c - the query API's SQL builder (store_api.c) without a
 * database: the parameters a query takes never pass PARAMS_MAX (a full
 * query is refused, RUAD_INTERNAL, not written past its arrays), and the
 * summaries' echo of the request takes its parameters like the rest.
 *
 * store_api.c is included whole: its builders are static (one query per
 * endpoint is its interface); nothing here talks to PostgreSQL.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "store_api.c"

/* fill - a query already holding n parameters */
static void
fill(struct sqlq *s, int n)
{
    q_init(s);
    while (s->n < n)
        q_param(s, "x");
    assert_false(s->err);
}

static void
test_echo(void **state)
{
    struct api_query q;
    struct sqlq      s;

    (void)state;
    api_query_init(&q, API_EP_DMARC_SUMMARY, 0);
    q.has_since = q.has_until = true;
    q.since = 1714521600;                    /* 2024-05-01 */
    q.until = 253402300799LL;                /* 9999-12-31T23:59:59Z */
    q_init(&s);
    q_echo(&s, &q);
    assert_false(s.err);
    assert_int_equal(s.n, 4);
    assert_string_equal(buf_ptr(&s.sql), "'group_by', $1::text, 'domain', "
        "$2::text, 'since', $3::text, 'until', $4::text");
    assert_string_equal(s.p[0], "day");
    assert_null(s.p[1]);                     /* no domain */
    assert_string_equal(s.p[2], "2024-05-01T00:00:00Z");
    assert_string_equal(s.p[3], "9999-12-31T23:59:59Z");
    buf_free(&s.sql);
}

/*
 * At PARAMS_MAX every builder refuses the parameter (err set, n stays),
 * q_echo's times too: they are copied into own[] only while there is a
 * slot for them.
 */
static void
test_params_max(void **state)
{
    struct api_query q;
    struct sqlq      s;
    int              left;

    (void)state;
    api_query_init(&q, API_EP_DMARC_SUMMARY, 0);
    q.has_since = q.has_until = true;
    q.since = 253402300000LL;
    q.until = 253402300799LL;
    for (left = 0; left <= 4; left++) {
        /* what lands in the last slot: group_by, domain, since, until */
        static const char *const last[] = { "x", "day", NULL,
            "9999-12-31T23:46:40Z", "9999-12-31T23:59:59Z" };

        fill(&s, PARAMS_MAX - left);
        q_echo(&s, &q);
        if ((left < 4) != s.err)
            fail_msg("q_echo with %d slots left: %s", left, s.err ?
                "refused" : "not refused");
        assert_int_equal(s.n, PARAMS_MAX);
        if (last[left] == NULL)
            assert_null(s.p[PARAMS_MAX - 1]);
        else
            assert_string_equal(s.p[PARAMS_MAX - 1], last[left]);
        buf_free(&s.sql);
    }
    fill(&s, PARAMS_MAX);
    q_int(&s, 5);
    assert_true(s.err);
    assert_int_equal(s.n, PARAMS_MAX);
    buf_free(&s.sql);
    fill(&s, PARAMS_MAX);
    q_date(&s, 19844);
    assert_true(s.err);
    assert_int_equal(s.n, PARAMS_MAX);
    buf_free(&s.sql);
}

/* every summary, with every filter, fits in PARAMS_MAX */
static void
test_summaries_fit(void **state)
{
    static const char *const dmarc[] = { "day", "source_ip", "header_from",
        "org", "disposition" };
    static const char *const tls[] = { "day", "result_type",
        "receiving_mx_hostname", "sending_mta_ip", "policy_type" };
    struct api_query q;
    struct sqlq      s;
    size_t           i;

    (void)state;
    for (i = 0; i < 10; i++) {
        api_query_init(&q, i < 5 ? API_EP_DMARC_SUMMARY : API_EP_TLS_SUMMARY,
            0);
        snprintf(q.group_by, sizeof(q.group_by), "%s", i < 5 ? dmarc[i] :
            tls[i - 5]);
        snprintf(q.domain, sizeof(q.domain), "example.com");
        q.has_since = q.has_until = true;
        q.since = 1700000000;
        q.until = 1720000000;
        q_init(&s);
        if (i < 5)
            q_dmarc_summary(&s, &q);
        else
            q_tls_summary(&s, &q);
        if (s.err)
            fail_msg("summary by %s: more than %d parameters", q.group_by,
                PARAMS_MAX);
        buf_free(&s.sql);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo),
        cmocka_unit_test(test_params_max),
        cmocka_unit_test(test_summaries_fit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
