/*
 * test_api_params.c - the query API's routes, parameters and cursors:
 * every limit at and one past, RFC 3339 edge cases, cursor round trips
 * and forgeries.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "api_params.h"

static const struct time_case {
    const char *in;
    bool        ok;
    int64_t     want;
} time_cases[] = {
    { "1970-01-01", true, 0 },
    { "2024-02-29", true, 1709164800 },
    { "2023-02-29", false, 0 },
    { "2024-13-01", false, 0 },
    { "2024-00-10", false, 0 },
    { "2024-04-31", false, 0 },
    { "1969-12-31", false, 0 },
    { "2024-05-01T00:00:00Z", true, 1714521600 },
    { "2024-05-01t00:00:00z", true, 1714521600 },
    { "2024-05-01 00:00:00Z", true, 1714521600 },
    { "2024-05-01T02:00:00+02:00", true, 1714521600 },
    { "2024-04-30T22:00:00-02:00", true, 1714521600 },
    { "2024-05-01T00:00:00.123456789Z", true, 1714521600 },
    { "2024-05-01T00:00:00.1234567890Z", false, 0 },  /* 10 digits */
    { "2024-05-01T00:00:00.Z", false, 0 },
    { "2024-05-01T00:00:00", false, 0 },              /* no offset */
    { "2024-05-01T24:00:00Z", false, 0 },
    { "2024-05-01T23:60:00Z", false, 0 },
    { "2016-12-31T23:59:60Z", true, 1483228799 },     /* leap second */
    { "2024-05-01T00:00:00+24:00", false, 0 },
    { "2024-05-01T00:00:00+02:00x", false, 0 },
    { "2024-05-01T00:00:00Zx", false, 0 },
    { "2024-5-1", false, 0 },
    { "20240501", false, 0 },
    { "", false, 0 },
    { "9999-12-31T23:59:59Z", true, 253402300799 },
    { "1970-01-01T00:00:00+00:01", false, 0 },        /* before 1970 */
};

static void
test_time(void **state)
{
    size_t  i;
    int64_t t;

    (void)state;
    for (i = 0; i < sizeof(time_cases) / sizeof(time_cases[0]); i++) {
        const struct time_case *c = &time_cases[i];
        bool ok = api_parse_time(c->in, strlen(c->in), &t);

        if (ok != c->ok)
            fail_msg("%s: %s, want %s", c->in, ok ? "ok" : "refused",
                c->ok ? "ok" : "refused");
        if (ok && t != c->want)
            fail_msg("%s: %lld, want %lld", c->in, (long long)t,
                (long long)c->want);
    }
}

static const struct set_case {
    enum api_ep ep;
    const char *key, *value;
    bool        ok;
} set_cases[] = {
    { API_EP_DMARC_REPORTS, "limit", "1", true },
    { API_EP_DMARC_REPORTS, "limit", "1000", true },
    { API_EP_DMARC_REPORTS, "limit", "1001", false },
    { API_EP_DMARC_REPORTS, "limit", "0", false },
    { API_EP_DMARC_REPORTS, "limit", "", false },
    { API_EP_DMARC_REPORTS, "limit", "+5", false },
    { API_EP_DMARC_REPORTS, "limit", "99999999999999999999999", false },
    { API_EP_DMARC_REPORTS, "domain", "Example.COM", true },
    { API_EP_DMARC_REPORTS, "domain", "a_b-c.example", true },
    { API_EP_DMARC_REPORTS, "domain", "a b", false },
    { API_EP_DMARC_REPORTS, "domain", "", false },
    { API_EP_DMARC_REPORTS, "domain", "ex'ample.com", false },
    { API_EP_DMARC_REPORTS, "org", "Google Inc.", true },
    { API_EP_DMARC_REPORTS, "org", "a\tb", false },
    /* UTF-8 (RFC 3629): PostgreSQL refuses anything else in a text
     * parameter, so it is the parameter's fault, not the query's */
    { API_EP_DMARC_REPORTS, "org", "Z\xc3\xbcrich \xe2\x82\xac \xf0\x9f\x98\x80",
      true },
    { API_EP_DMARC_REPORTS, "org", "\xff", false },
    { API_EP_DMARC_REPORTS, "org", "\xc3\x28", false },      /* bad tail */
    { API_EP_DMARC_REPORTS, "org", "a\xc3", false },          /* cut short */
    { API_EP_DMARC_REPORTS, "org", "\xc0\xaf", false },      /* overlong / */
    { API_EP_DMARC_REPORTS, "org", "\xe0\x80\xaf", false },  /* overlong */
    { API_EP_DMARC_REPORTS, "org", "\xed\xa0\x80", false },  /* surrogate */
    { API_EP_DMARC_REPORTS, "org", "\xf4\x90\x80\x80", false },  /* > U+10FFFF */
    { API_EP_DMARC_REPORTS, "org", "\x80", false },          /* lone tail */
    { API_EP_TLS_REPORTS, "org", "\xfe\xff", false },
    { API_EP_DMARC_REPORTS, "group_by", "day", false },   /* not here */
    { API_EP_DMARC_REPORTS, "state", "parsed", false },
    { API_EP_DMARC_SUMMARY, "group_by", "org", true },
    { API_EP_DMARC_SUMMARY, "group_by", "policy_type", false },
    { API_EP_DMARC_SUMMARY, "group_by", "Day", false },
    { API_EP_DMARC_SUMMARY, "limit", "5", false },
    { API_EP_TLS_SUMMARY, "group_by", "policy_type", true },
    { API_EP_TLS_SUMMARY, "group_by", "org", false },
    { API_EP_INBOUND, "state", "unauthenticated", true },
    { API_EP_INBOUND, "state", "Parsed", false },
    { API_EP_INBOUND, "channel", "imap", true },
    { API_EP_INBOUND, "channel", "pop3", false },
    { API_EP_INBOUND, "domain", "example.com", false },
    { API_EP_DOMAINS, "limit", "5", false },
    { API_EP_DMARC_REPORT, "domain", "example.com", false },
    { API_EP_DMARC_SOURCES, "since", "2024-01-01", true },
    { API_EP_DMARC_SOURCES, "org", "x", false },
};

static void
test_set(void **state)
{
    struct api_query q;
    char             err[300];
    size_t           i;

    (void)state;
    for (i = 0; i < sizeof(set_cases) / sizeof(set_cases[0]); i++) {
        const struct set_case *c = &set_cases[i];
        enum ruad_rc rc;

        api_query_init(&q, c->ep, 0);
        err[0] = '\0';
        rc = api_query_set(&q, c->key, c->value, strlen(c->value), err,
            sizeof(err));
        if ((rc == RUAD_OK) != c->ok)
            fail_msg("%s %s=%s: %s (%s)", api_ep_name(c->ep), c->key,
                c->value, ruad_rc_str(rc), err);
        if (rc != RUAD_OK && strncmp(err, c->key, strlen(c->key)) != 0)
            fail_msg("%s: error does not name it: %s", c->key, err);
    }
    api_query_init(&q, API_EP_DMARC_REPORTS, 0);
    assert_int_equal(api_query_set(&q, "domain", "Example.COM", 11, err,
        sizeof(err)), RUAD_OK);
    assert_string_equal(q.domain, "example.com");
    /* given twice */
    assert_int_equal(api_query_set(&q, "domain", "b.example", 9, err,
        sizeof(err)), RUAD_MALFORMED);
    assert_non_null(strstr(err, "more than once"));
    /* until must come after since, in either order */
    api_query_init(&q, API_EP_DMARC_REPORTS, 0);
    assert_int_equal(api_query_set(&q, "until", "2024-01-01", 10, err,
        sizeof(err)), RUAD_OK);
    assert_int_equal(api_query_set(&q, "since", "2024-01-01", 10, err,
        sizeof(err)), RUAD_MALFORMED);
    assert_int_equal(strncmp(err, "since", 5), 0);
    /* records: an address in canonical text, header_from lower case */
    api_query_init(&q, API_EP_DMARC_RECORDS, 0);
    assert_int_equal(api_query_set(&q, "source_ip", "2001:DB8:0:0::1", 15,
        err, sizeof(err)), RUAD_OK);
    assert_string_equal(q.source_ip, "2001:db8::1");
    assert_int_equal(api_query_set(&q, "header_from", "Mail.Example", 12,
        err, sizeof(err)), RUAD_OK);
    assert_string_equal(q.header_from, "mail.example");
    api_query_init(&q, API_EP_DMARC_RECORDS, 0);
    assert_int_equal(api_query_set(&q, "source_ip", "192.0.2.256", 11, err,
        sizeof(err)), RUAD_MALFORMED);
    assert_int_equal(strncmp(err, "source_ip", 9), 0);
    api_query_init(&q, API_EP_DMARC_SOURCES, 0);
    assert_int_equal(api_query_set(&q, "source_ip", "192.0.2.1", 9, err,
        sizeof(err)), RUAD_MALFORMED);
    /* a NUL inside a value */
    api_query_init(&q, API_EP_DMARC_REPORTS, 0);
    assert_int_equal(api_query_set(&q, "org", "a\0b", 3, err, sizeof(err)),
        RUAD_MALFORMED);
}

/* value length: API_VALUE_MAX bytes at, one past */
static void
test_value_limits(void **state)
{
    struct api_query q;
    char             v[API_VALUE_MAX + 2], err[300];

    (void)state;
    memset(v, 'a', sizeof(v));
    api_query_init(&q, API_EP_DMARC_REPORTS, 0);
    assert_int_equal(api_query_set(&q, "org", v, API_VALUE_MAX, err,
        sizeof(err)), RUAD_OK);
    assert_int_equal(strlen(q.org), API_VALUE_MAX);
    api_query_init(&q, API_EP_DMARC_REPORTS, 0);
    assert_int_equal(api_query_set(&q, "org", v, API_VALUE_MAX + 1, err,
        sizeof(err)), RUAD_MALFORMED);
    /* domain: API_DOMAIN_MAX at, one past */
    api_query_init(&q, API_EP_DMARC_REPORTS, 0);
    assert_int_equal(api_query_set(&q, "domain", v, API_DOMAIN_MAX, err,
        sizeof(err)), RUAD_OK);
    api_query_init(&q, API_EP_DMARC_REPORTS, 0);
    assert_int_equal(api_query_set(&q, "domain", v, API_DOMAIN_MAX + 1, err,
        sizeof(err)), RUAD_MALFORMED);
}

static void
test_parse(void **state)
{
    struct api_query q;
    char             err[300], bad[64], qs[512];
    size_t           i, n = 0;

    (void)state;
    api_query_init(&q, API_EP_DMARC_REPORTS, 0);
    snprintf(qs, sizeof(qs), "%s",
        "org=Google+Inc%2E&&domain=EXAMPLE.com&limit=7&");
    assert_int_equal(api_query_parse(&q, qs, strlen(qs), bad, sizeof(bad),
        err, sizeof(err)), RUAD_OK);
    assert_string_equal(q.org, "Google Inc.");
    assert_string_equal(q.domain, "example.com");
    assert_int_equal(q.limit, 7);
    /* bad percent escapes name the parameter */
    api_query_init(&q, API_EP_DMARC_REPORTS, 0);
    snprintf(qs, sizeof(qs), "%s", "domain=a.example&org=%4");
    assert_int_equal(api_query_parse(&q, qs, strlen(qs), bad, sizeof(bad),
        err, sizeof(err)), RUAD_MALFORMED);
    assert_string_equal(bad, "org");
    api_query_init(&q, API_EP_DMARC_REPORTS, 0);
    snprintf(qs, sizeof(qs), "%s", "org=%zz");
    assert_int_equal(api_query_parse(&q, qs, strlen(qs), bad, sizeof(bad),
        err, sizeof(err)), RUAD_MALFORMED);
    assert_string_equal(bad, "org");
    /* %00 is refused, not cut short */
    api_query_init(&q, API_EP_DMARC_REPORTS, 0);
    snprintf(qs, sizeof(qs), "%s", "org=a%00b");
    assert_int_equal(api_query_parse(&q, qs, strlen(qs), bad, sizeof(bad),
        err, sizeof(err)), RUAD_MALFORMED);
    /* API_PARAMS_MAX parameters: the 16th is looked at, 17 are refused
     * before any is */
    for (i = 0; i < API_PARAMS_MAX; i++)
        n += (size_t)snprintf(qs + n, sizeof(qs) - n, "%sx%zu=1",
            i ? "&" : "", i);
    api_query_init(&q, API_EP_DMARC_REPORTS, 0);
    assert_int_equal(api_query_parse(&q, qs, n, bad, sizeof(bad), err,
        sizeof(err)), RUAD_MALFORMED);
    assert_string_equal(bad, "x0");          /* unknown, not too many */
    snprintf(qs + n, sizeof(qs) - n, "&x16=1");
    api_query_init(&q, API_EP_DMARC_REPORTS, 0);
    assert_int_equal(api_query_parse(&q, qs, strlen(qs), bad, sizeof(bad),
        err, sizeof(err)), RUAD_MALFORMED);
    assert_non_null(strstr(err, "more than 16"));
}

static void
test_cursor(void **state)
{
    struct api_cursor c = { .kind = 'd', .a = 1714521600000000LL, .id = 42 };
    struct api_cursor d;
    char              enc[API_CURSOR_MAX], big[API_CURSOR_MAX + 1];
    static const char *const bad[] = {
        "", "!!!!", "ZA", "ZC4", "ZC4xLjA", "ZC4xLi01",    /* id 0, -5 */
        "eC4xLjE", "ZC4xLjF4", "ZC4xLjE=", "ZC4xLjF", /* x, junk, =, tail */
        "cy4xLmc",                                      /* s.1.g */
        "cy4tMS4x",                                     /* s.-1.1 */
        "ci4wLjA", "ci4xLi0x",                          /* r.0.0 r.1.-1 */
    };
    size_t i;

    (void)state;
    api_cursor_encode(&c, enc);
    assert_true(api_cursor_decode(enc, strlen(enc), &d));
    assert_int_equal(d.kind, 'd');
    assert_int_equal(d.a, c.a);
    assert_int_equal(d.id, 42);
    c = (struct api_cursor){ .kind = 's', .a = 7 };
    snprintf(c.text, sizeof(c.text), "2001:db8::1");
    api_cursor_encode(&c, enc);
    assert_true(api_cursor_decode(enc, strlen(enc), &d));
    assert_string_equal(d.text, "2001:db8::1");
    c.text[0] = '\0';                         /* no address */
    api_cursor_encode(&c, enc);
    assert_true(api_cursor_decode(enc, strlen(enc), &d));
    assert_string_equal(d.text, "");
    c = (struct api_cursor){ .kind = 'r', .a = 12, .id = 0 };  /* rec 0 */
    api_cursor_encode(&c, enc);
    assert_true(api_cursor_decode(enc, strlen(enc), &d));
    assert_int_equal(d.kind, 'r');
    assert_int_equal(d.a, 12);
    assert_int_equal(d.id, 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (api_cursor_decode(bad[i], strlen(bad[i]), &d))
            fail_msg("cursor %s decoded", bad[i]);
    /* report cursors: a begin time a report can have, in microseconds;
     * past either end PostgreSQL's timestamp arithmetic fails (500) */
    {
        static const struct api_cursor range[] = {
            { .kind = 'd', .a = API_CURSOR_TIME_MIN, .id = 1 },
            { .kind = 't', .a = API_CURSOR_TIME_MAX, .id = 1 },
            { .kind = 'i', .a = 0, .id = INT64_MAX },
            { .kind = 'd', .a = API_CURSOR_TIME_MIN - 1, .id = 1 },
            { .kind = 'd', .a = API_CURSOR_TIME_MAX + 1, .id = 1 },
            { .kind = 't', .a = INT64_MAX, .id = 1 },
            { .kind = 'd', .a = -INT64_MAX, .id = 1 },
            { .kind = 'i', .a = 5, .id = 1 },      /* inbound: a is 0 */
        };

        for (i = 0; i < sizeof(range) / sizeof(range[0]); i++) {
            api_cursor_encode(&range[i], enc);
            if (api_cursor_decode(enc, strlen(enc), &d) != (i < 3))
                fail_msg("cursor %c.%lld.%lld: %s", range[i].kind,
                    (long long)range[i].a, (long long)range[i].id,
                    i < 3 ? "refused" : "decoded");
        }
    }
    /* API_CURSOR_MAX: one past is refused on length alone */
    memset(big, 'A', sizeof(big));
    assert_false(api_cursor_decode(big, API_CURSOR_MAX, &d));
}

static const struct route_case {
    const char *path, *method;
    enum api_ep ep;
    int64_t     id;
    bool        method_ok;
} route_cases[] = {
    { "/domains", "GET", API_EP_DOMAINS, 0, true },
    { "/domains", "HEAD", API_EP_DOMAINS, 0, true },
    { "/domains", "POST", API_EP_DOMAINS, 0, false },
    { "/domains/", "GET", API_EP_NONE, 0, false },
    { "/dmarc/reports", "GET", API_EP_DMARC_REPORTS, 0, true },
    { "/dmarc/reports/17", "GET", API_EP_DMARC_REPORT, 17, true },
    { "/dmarc/reports/017", "GET", API_EP_NONE, 0, false },
    { "/dmarc/reports/0", "GET", API_EP_NONE, 0, false },
    { "/dmarc/reports/9223372036854775807", "GET", API_EP_DMARC_REPORT,
      INT64_MAX, true },
    { "/dmarc/reports/9223372036854775808", "GET", API_EP_NONE, 0, false },
    { "/dmarc/reports/1/x", "GET", API_EP_NONE, 0, false },
    { "/dmarc/summary", "GET", API_EP_DMARC_SUMMARY, 0, true },
    { "/dmarc/sources", "GET", API_EP_DMARC_SOURCES, 0, true },
    { "/dmarc/records", "GET", API_EP_DMARC_RECORDS, 0, true },
    { "/dmarc/records", "POST", API_EP_DMARC_RECORDS, 0, false },
    { "/tlsrpt/reports", "GET", API_EP_TLS_REPORTS, 0, true },
    { "/tlsrpt/reports/3", "GET", API_EP_TLS_REPORT, 3, true },
    { "/tlsrpt/summary", "GET", API_EP_TLS_SUMMARY, 0, true },
    { "/reporters", "GET", API_EP_REPORTERS, 0, true },
    { "/inbound", "GET", API_EP_INBOUND, 0, true },
    { "/inbound/5/raw", "GET", API_EP_INBOUND_RAW, 5, true },
    { "/inbound/5/reprocess", "POST", API_EP_INBOUND_REPROCESS, 5, true },
    { "/inbound/5/reprocess", "GET", API_EP_INBOUND_REPROCESS, 5, false },
    { "/inbound//raw", "GET", API_EP_NONE, 0, false },
    { "/inbound/5", "GET", API_EP_NONE, 0, false },
    { "/openapi.json", "GET", API_EP_OPENAPI, 0, true },
    { "", "GET", API_EP_NONE, 0, false },
};

static void
test_route(void **state)
{
    const char *allow;
    int64_t     id;
    bool        ok;
    size_t      i;

    (void)state;
    for (i = 0; i < sizeof(route_cases) / sizeof(route_cases[0]); i++) {
        const struct route_case *c = &route_cases[i];
        enum api_ep ep = api_route(c->path, strlen(c->path), c->method, &id,
            &ok, &allow);

        if (ep != c->ep || id != c->id || (ep != API_EP_NONE &&
            ok != c->method_ok))
            fail_msg("%s %s: ep %s id %lld ok %d", c->method, c->path,
                api_ep_name(ep), (long long)id, ok);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_value_limits),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_cursor),
        cmocka_unit_test(test_route),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
