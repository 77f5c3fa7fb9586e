/*
 * test_tlsrpt_json.c - unit tests for the RFC 8460 TLS report parser.
 *
 * Inputs are written here (shaped like the reports real senders mail,
 * not copied from them): the report shapes seen in the wild, RFC 3339
 * date-times with and without offsets, every required field missing,
 * wrong types, and each limit at its cap and one step past it.
 *
 * SECURITY: the hostile cases (deep nesting, oversize input, junk bytes,
 * truncated JSON) must fail with RUAD_LIMIT or RUAD_MALFORMED and leave
 * *out alone; run under -DRUAD_SANITIZE=ON to catch leaks on error paths.
 */
#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "tlsrpt_json.h"

/* metadata shared by most inputs */
#define META_NO_CI \
    "\"organization-name\":\"Example Mail\"," \
    "\"date-range\":{\"start-datetime\":\"2024-03-01T00:00:00Z\"," \
    "\"end-datetime\":\"2024-03-01T23:59:59Z\"}," \
    "\"report-id\":\"rpt-0001\""
#define META META_NO_CI ",\"contact-info\":\"tlsrpt@mail.example\""

/* one minimal policy */
#define POL_MIN \
    "{\"policy\":{\"policy-type\":\"sts\",\"policy-domain\":\"a.example\"}," \
    "\"summary\":{\"total-successful-session-count\":7," \
    "\"total-failure-session-count\":0}}"

#define DOC(pols)  "{" META ",\"policies\":[" pols "]}"

#define T_START 1709251200   /* 2024-03-01T00:00:00Z */
#define T_END   1709337599   /* 2024-03-01T23:59:59Z */

/* parse_n - parse (json, len) with lim; diag initialised here */
static enum ruad_rc
parse_n(const char *json, size_t len, const struct report_limits *lim,
    struct report_diag *d, struct tlsrpt_report **out)
{
    report_diag_init(d);
    return tlsrpt_json_parse(json, len, lim, d, out);
}

/* has_warning - does some warning contain sub? */
static bool
has_warning(const struct report_diag *d, const char *sub)
{
    size_t i;

    for (i = 0; i < d->n_warnings; i++)
        if (strstr(d->warnings[i], sub) != NULL)
            return true;
    return false;
}

/* expect_fail - parse must fail with rc, error containing sub, *out kept */
static void
expect_fail_n(const char *json, size_t len, const struct report_limits *lim,
    enum ruad_rc want, const char *sub)
{
    struct report_diag    d;
    struct tlsrpt_report  sentinel, *out = &sentinel;
    enum ruad_rc          rc;

    rc = parse_n(json, len, lim, &d, &out);
    if (rc != want || strstr(d.error, sub) == NULL)
        print_error("want %s \"%s\", got %s \"%s\"\n", ruad_rc_str(want),
            sub, ruad_rc_str(rc), d.error);
    assert_int_equal(rc, want);
    assert_non_null(strstr(d.error, sub));
    assert_ptr_equal(out, &sentinel);
    report_diag_free(&d);
}

/* expect_fail - expect_fail_n with default limits on a C string */
static void
expect_fail(const char *json, enum ruad_rc want, const char *sub)
{
    struct report_limits lim;

    report_limits_default(&lim);
    expect_fail_n(json, strlen(json), &lim, want, sub);
}

/* expect_ok_n - parse must succeed; returns the report (caller frees) */
static struct tlsrpt_report *
expect_ok_n(const char *json, size_t len, const struct report_limits *lim,
    struct report_diag *d)
{
    struct tlsrpt_report *out = NULL;
    enum ruad_rc          rc;

    rc = parse_n(json, len, lim, d, &out);
    if (rc != RUAD_OK)
        print_error("unexpected %s: %s\n", ruad_rc_str(rc), d->error);
    assert_int_equal(rc, RUAD_OK);
    assert_non_null(out);
    assert_string_equal(d->error, "");
    return out;
}

/* expect_ok - expect_ok_n with default limits on a C string */
static struct tlsrpt_report *
expect_ok(const char *json, struct report_diag *d)
{
    struct report_limits lim;

    report_limits_default(&lim);
    return expect_ok_n(json, strlen(json), &lim, d);
}

/* ---- shapes seen in real reports ---- */

/* test_full - every RFC 8460 field, mx-host as an array */
static void
test_full(void **state)
{
    static const char json[] =
        "{\n"
        "  \"organization-name\": \"Example Mail\",\n"
        "  \"date-range\": {\n"
        "    \"start-datetime\": \"2024-03-01T00:00:00Z\",\n"
        "    \"end-datetime\": \"2024-03-01T23:59:59Z\"\n"
        "  },\n"
        "  \"contact-info\": \"tlsrpt@mail.example\",\n"
        "  \"report-id\": \"rpt-0001\",\n"
        "  \"policies\": [{\n"
        "    \"policy\": {\n"
        "      \"policy-type\": \"sts\",\n"
        "      \"policy-string\": [\"version: STSv1\", \"mode: enforce\",\n"
        "        \"mx: *.mx.b.example\", \"max_age: 604800\"],\n"
        "      \"policy-domain\": \"b.example\",\n"
        "      \"mx-host\": [\"*.mx.b.example\", \"mx9.b.example\"]\n"
        "    },\n"
        "    \"summary\": {\n"
        "      \"total-successful-session-count\": 1200,\n"
        "      \"total-failure-session-count\": 15\n"
        "    },\n"
        "    \"failure-details\": [{\n"
        "      \"result-type\": \"certificate-host-mismatch\",\n"
        "      \"sending-mta-ip\": \"2001:db8::25\",\n"
        "      \"receiving-mx-hostname\": \"mx1.mx.b.example\",\n"
        "      \"receiving-mx-helo\": \"helo.mx.b.example\",\n"
        "      \"receiving-ip\": \"192.0.2.25\",\n"
        "      \"failed-session-count\": 10,\n"
        "      \"additional-information\": \"https://x.example/i?id=1\",\n"
        "      \"failure-reason-code\": \"X509_V_ERR_HOSTNAME_MISMATCH\"\n"
        "    }, {\n"
        "      \"result-type\": \"dane-required\",\n"
        "      \"failed-session-count\": 5\n"
        "    }]\n"
        "  }]\n"
        "}\n";
    struct report_diag    d;
    struct tlsrpt_report *r;
    struct tlsrpt_policy *p;
    struct tlsrpt_failure *f;

    (void)state;
    r = expect_ok(json, &d);
    assert_int_equal(d.n_warnings, 0);
    assert_string_equal(r->organization_name, "Example Mail");
    assert_string_equal(r->contact_info, "tlsrpt@mail.example");
    assert_string_equal(r->report_id, "rpt-0001");
    assert_true(r->has_begin && r->has_end);
    assert_int_equal(r->begin, T_START);
    assert_int_equal(r->end, T_END);
    assert_int_equal(r->n_policies, 1);
    p = &r->policies[0];
    assert_string_equal(p->policy_type, "sts");
    assert_int_equal(p->n_policy_string, 4);
    assert_string_equal(p->policy_string[0], "version: STSv1");
    assert_string_equal(p->policy_string[3], "max_age: 604800");
    assert_string_equal(p->policy_domain, "b.example");
    assert_int_equal(p->n_mx_host, 2);
    assert_string_equal(p->mx_host[0], "*.mx.b.example");
    assert_string_equal(p->mx_host[1], "mx9.b.example");
    assert_true(p->has_total_successful && p->has_total_failure);
    assert_int_equal(p->total_successful_session_count, 1200);
    assert_int_equal(p->total_failure_session_count, 15);
    assert_int_equal(p->n_failures, 2);
    f = &p->failures[0];
    assert_string_equal(f->result_type, "certificate-host-mismatch");
    assert_string_equal(f->sending_mta_ip, "2001:db8::25");
    assert_string_equal(f->receiving_mx_hostname, "mx1.mx.b.example");
    assert_string_equal(f->receiving_mx_helo, "helo.mx.b.example");
    assert_string_equal(f->receiving_ip, "192.0.2.25");
    assert_true(f->has_failed_session_count);
    assert_int_equal(f->failed_session_count, 10);
    assert_string_equal(f->additional_information,
        "https://x.example/i?id=1");
    assert_string_equal(f->failure_reason_code,
        "X509_V_ERR_HOSTNAME_MISMATCH");
    f = &p->failures[1];
    assert_string_equal(f->result_type, "dane-required");
    assert_null(f->sending_mta_ip);
    assert_null(f->receiving_mx_hostname);
    assert_null(f->receiving_mx_helo);
    assert_null(f->receiving_ip);
    assert_null(f->additional_information);
    assert_null(f->failure_reason_code);
    assert_int_equal(f->failed_session_count, 5);
    tlsrpt_report_free(r);
    report_diag_free(&d);
}

/* test_mx_host_string - a lone mx-host string becomes a 1-element array */
static void
test_mx_host_string(void **state)
{
    static const char json[] = DOC(
        "{\"policy\":{\"policy-type\":\"sts\",\"policy-string\":"
        "[\"version: STSv1\",\"mode: testing\"],\"policy-domain\":"
        "\"a.example\",\"mx-host\":\"*.mail.a.example\"},\"summary\":"
        "{\"total-successful-session-count\":3,"
        "\"total-failure-session-count\":0}}");
    struct report_diag    d;
    struct tlsrpt_report *r;

    (void)state;
    r = expect_ok(json, &d);
    assert_int_equal(d.n_warnings, 0);
    assert_int_equal(r->policies[0].n_mx_host, 1);
    assert_string_equal(r->policies[0].mx_host[0], "*.mail.a.example");
    assert_int_equal(r->policies[0].n_policy_string, 2);
    tlsrpt_report_free(r);
    report_diag_free(&d);
}

/* test_contact_info_absent - contact-info null or missing -> NULL */
static void
test_contact_info_absent(void **state)
{
    static const char *const docs[] = {
        "{" META_NO_CI ",\"contact-info\":null,\"policies\":[" POL_MIN "]}",
        "{" META_NO_CI ",\"policies\":[" POL_MIN "]}",
    };
    struct report_diag    d;
    struct tlsrpt_report *r;
    size_t                i;

    (void)state;
    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        r = expect_ok(docs[i], &d);
        assert_null(r->contact_info);
        assert_int_equal(d.n_warnings, 0);
        tlsrpt_report_free(r);
        report_diag_free(&d);
    }
}

/* test_no_policy_found - no policy-string, mx-host or failure-details */
static void
test_no_policy_found(void **state)
{
    static const char json[] = DOC(
        "{\"policy\":{\"policy-type\":\"no-policy-found\","
        "\"policy-domain\":\"c.example\"},\"summary\":"
        "{\"total-successful-session-count\":48,"
        "\"total-failure-session-count\":0}}");
    struct report_diag    d;
    struct tlsrpt_report *r;
    struct tlsrpt_policy *p;

    (void)state;
    r = expect_ok(json, &d);
    assert_int_equal(d.n_warnings, 0);
    p = &r->policies[0];
    assert_string_equal(p->policy_type, "no-policy-found");
    assert_null(p->policy_string);
    assert_int_equal(p->n_policy_string, 0);
    assert_null(p->mx_host);
    assert_int_equal(p->n_mx_host, 0);
    assert_null(p->failures);
    assert_int_equal(p->n_failures, 0);
    assert_int_equal(p->total_successful_session_count, 48);
    tlsrpt_report_free(r);
    report_diag_free(&d);
}

/*
 * test_sparse - RFC-required parts real senders leave out: no
 * policy-domain, no failure count, details without IPs and a detail sum
 * above the total, an empty failure-details array, one line, an unknown
 * policy-type.  All kept, with warnings.
 */
static void
test_sparse(void **state)
{
    static const char json[] = DOC(
        "{\"policy\":{\"policy-type\":\"no-policy-found\"},"
        "\"summary\":{\"total-successful-session-count\":1}},"
        "{\"policy\":{\"policy-type\":\"x-new-type\"},"
        "\"summary\":{\"total-successful-session-count\":0,"
        "\"total-failure-session-count\":1},\"failure-details\":["
        "{\"result-type\":\"sts-policy-fetch-error\",\"failed-session-count\""
        ":1,\"failure-reason-code\":\"bad https response code: 404\"},"
        "{\"result-type\":\"sts-policy-fetch-error\",\"failed-session-count\""
        ":1}]},"
        "{\"policy\":{\"policy-type\":\"tlsa\","
        "\"policy-domain\":\"d.example\","
        "\"policy-string\":[\"3 1 1 AB\"]},\"summary\":"
        "{\"total-successful-session-count\":2,"
        "\"total-failure-session-count\":0},\"failure-details\":[]},"
        "{\"policy\":{\"policy-type\":\"sts\",\"policy-domain\":\"e.example\","
        "\"policy-string\":\"version: STSv1\"}}");
    struct report_diag    d;
    struct tlsrpt_report *r;
    struct tlsrpt_policy *p;

    (void)state;
    r = expect_ok(json, &d);
    assert_int_equal(r->n_policies, 4);
    p = &r->policies[0];
    assert_null(p->policy_domain);
    assert_true(p->has_total_successful);
    assert_false(p->has_total_failure);
    assert_true(has_warning(&d, "policies[0].policy.policy-domain: missing"));
    assert_true(has_warning(&d,
        "policies[0].summary.total-failure-session-count: missing"));
    p = &r->policies[1];
    assert_string_equal(p->policy_type, "x-new-type");
    assert_true(has_warning(&d, "policies[1].policy.policy-type: unknown "
        "value \"x-new-type\""));
    assert_int_equal(p->n_failures, 2);
    assert_null(p->failures[0].sending_mta_ip);
    assert_null(p->failures[0].receiving_ip);
    assert_null(p->failures[0].receiving_mx_hostname);
    assert_string_equal(p->failures[0].failure_reason_code,
        "bad https response code: 404");
    assert_true(has_warning(&d, "policies[1]: failed-session-count sum 2 "
        "exceeds total-failure-session-count 1"));
    p = &r->policies[2];
    assert_int_equal(p->n_failures, 0);
    assert_string_equal(p->policy_string[0], "3 1 1 AB");
    p = &r->policies[3];
    assert_false(p->has_total_successful);
    assert_true(has_warning(&d, "policies[3].summary: missing"));
    assert_int_equal(p->n_policy_string, 1);
    assert_string_equal(p->policy_string[0], "version: STSv1");
    assert_true(has_warning(&d, "policies[3].policy.policy-string: a "
        "string"));
    tlsrpt_report_free(r);
    report_diag_free(&d);
}

/* test_result_types - known values quietly, unknown kept with a warning */
static void
test_result_types(void **state)
{
    static const char json[] = DOC(
        "{\"policy\":{\"policy-type\":\"sts\","
        "\"policy-domain\":\"a.example\"},"
        "\"summary\":{\"total-successful-session-count\":0,"
        "\"total-failure-session-count\":13},\"failure-details\":["
        "{\"result-type\":\"starttls-not-supported\","
        "\"failed-session-count\":1},"
        "{\"result-type\":\"certificate-host-mismatch\","
        "\"failed-session-count\":1},"
        "{\"result-type\":\"certificate-expired\",\"failed-session-count\":1},"
        "{\"result-type\":\"certificate-not-trusted\","
        "\"failed-session-count\":1},"
        "{\"result-type\":\"validation-failure\",\"failed-session-count\":1},"
        "{\"result-type\":\"tlsa-invalid\",\"failed-session-count\":1},"
        "{\"result-type\":\"dnssec-invalid\",\"failed-session-count\":1},"
        "{\"result-type\":\"dane-required\",\"failed-session-count\":1},"
        "{\"result-type\":\"sts-policy-fetch-error\","
        "\"failed-session-count\":1},"
        "{\"result-type\":\"sts-policy-invalid\",\"failed-session-count\":1},"
        "{\"result-type\":\"sts-webpki-invalid\",\"failed-session-count\":1},"
        "{\"result-type\":\"Certificate-Expired\",\"failed-session-count\":1},"
        "{\"result-type\":\"x \\\"odd\\\"\\n\",\"failed-session-count\":1}]}");
    struct report_diag    d;
    struct tlsrpt_report *r;
    struct tlsrpt_policy *p;

    (void)state;
    r = expect_ok(json, &d);
    p = &r->policies[0];
    assert_int_equal(p->n_failures, 13);
    assert_int_equal(d.n_warnings, 2);
    assert_string_equal(p->failures[11].result_type, "Certificate-Expired");
    assert_true(has_warning(&d, "policies[0].failure-details[11]."
        "result-type: unknown value \"Certificate-Expired\" kept"));
    /* kept verbatim, shown escaped */
    assert_string_equal(p->failures[12].result_type, "x \"odd\"\n");
    assert_true(has_warning(&d, "failure-details[12].result-type: unknown "
        "value \"x\\x20\\x22odd\\x22\\x0a\" kept"));
    tlsrpt_report_free(r);
    report_diag_free(&d);
}

/* test_extras - unknown members anywhere are ignored; BOM is skipped */
static void
test_extras(void **state)
{
    static const char json[] =
        "\xef\xbb\xbf{\"x-top\":{\"a\":[1,2,{\"b\":null}]}," META ","
        "\"policies\":[{\"x-p\":true,\"policy\":{\"policy-type\":\"sts\","
        "\"policy-domain\":\"a.example\",\"x-q\":1.5},\"summary\":{"
        "\"total-successful-session-count\":1,"
        "\"total-failure-session-count\":1,\"x-r\":\"s\"},"
        "\"failure-details\":[{\"result-type\":\"tlsa-invalid\","
        "\"failed-session-count\":1,\"x-s\":[]}]}]}";
    struct report_diag    d;
    struct tlsrpt_report *r;

    (void)state;
    r = expect_ok(json, &d);
    assert_int_equal(d.n_warnings, 0);
    assert_string_equal(r->organization_name, "Example Mail");
    assert_int_equal(r->policies[0].n_failures, 1);
    tlsrpt_report_free(r);
    report_diag_free(&d);
}

/* test_empty_policies - an empty array is a report about nothing: warn */
static void
test_empty_policies(void **state)
{
    struct report_diag    d;
    struct tlsrpt_report *r;

    (void)state;
    r = expect_ok("{" META ",\"policies\":[]}", &d);
    assert_int_equal(r->n_policies, 0);
    assert_null(r->policies);
    assert_true(has_warning(&d, "policies: empty"));
    tlsrpt_report_free(r);
    report_diag_free(&d);
}

/* ---- date-times ---- */

struct time_case {
    const char  *when;
    enum ruad_rc want_rc;
    int64_t      want;        /* epoch seconds when RUAD_OK */
    bool         want_warn;   /* "no UTC offset" */
    const char  *err;         /* error substring otherwise */
};

static const struct time_case time_cases[] = {
    { "2024-03-01T00:00:00Z", RUAD_OK, T_START, false, NULL },
    { "2024-03-01t00:00:00z", RUAD_OK, T_START, false, NULL },
    { "2024-03-01 00:00:00Z", RUAD_OK, T_START, false, NULL },
    { "2024-03-01T02:00:00+02:00", RUAD_OK, T_START, false, NULL },
    { "2024-02-29T18:30:00-05:30", RUAD_OK, T_START, false, NULL },
    { "2024-03-01T00:00:00+00:00", RUAD_OK, T_START, false, NULL },
    { "2024-03-01T00:00:00-00:00", RUAD_OK, T_START, false, NULL },
    { "2024-03-01T00:00:00.999Z", RUAD_OK, T_START, false, NULL },
    { "2024-03-01T00:00:00.123456789+00:00", RUAD_OK, T_START, false,
      NULL },
    { "2024-03-01T00:00:00", RUAD_OK, T_START, true, NULL },
    { "2024-03-01T00:00:00.5", RUAD_OK, T_START, true, NULL },
    { "2016-02-29T12:00:00Z", RUAD_OK, 1456747200, false, NULL },
    { "2000-01-01T00:00:00Z", RUAD_OK, 946684800, false, NULL },
    { "1970-01-01T00:00:00Z", RUAD_OK, 0, false, NULL },
    { "9999-12-31T23:59:59Z", RUAD_OK, 253402300799LL, false, NULL },
    { "2024-02-29T23:59:60Z", RUAD_OK, T_START, false, NULL },
    { "1969-12-31T23:59:59Z", RUAD_MALFORMED, 0, false, "out of range" },
    { "1970-01-01T00:00:00+00:01", RUAD_MALFORMED, 0, false,
      "out of range" },
    { "9999-12-31T23:59:59-00:01", RUAD_MALFORMED, 0, false,
      "out of range" },
    { "2023-02-29T00:00:00Z", RUAD_MALFORMED, 0, false, "day out of range" },
    { "2100-02-29T00:00:00Z", RUAD_MALFORMED, 0, false, "day out of range" },
    { "2024-04-31T00:00:00Z", RUAD_MALFORMED, 0, false, "day out of range" },
    { "2024-03-00T00:00:00Z", RUAD_MALFORMED, 0, false, "day out of range" },
    { "2024-13-01T00:00:00Z", RUAD_MALFORMED, 0, false, "month" },
    { "2024-00-01T00:00:00Z", RUAD_MALFORMED, 0, false, "month" },
    { "2024-03-01T24:00:00Z", RUAD_MALFORMED, 0, false, "time of day" },
    { "2024-03-01T23:60:00Z", RUAD_MALFORMED, 0, false, "time of day" },
    { "2024-03-01T23:59:61Z", RUAD_MALFORMED, 0, false, "time of day" },
    { "2024-03-01T00:00:00+24:00", RUAD_MALFORMED, 0, false,
      "offset out of range" },
    { "2024-03-01T00:00:00+02:60", RUAD_MALFORMED, 0, false,
      "offset out of range" },
    { "2024-03-01T00:00:00+0200", RUAD_MALFORMED, 0, false, "bad UTC" },
    { "2024-03-01T00:00:00+02", RUAD_MALFORMED, 0, false, "bad UTC" },
    { "2024-03-01T00:00:00ZZ", RUAD_MALFORMED, 0, false, "bad UTC" },
    { "2024-03-01T00:00:00Z ", RUAD_MALFORMED, 0, false, "bad UTC" },
    { "2024-03-01T00:00:00.Z", RUAD_MALFORMED, 0, false, "decimal point" },
    { "2024-03-01T00:00Z", RUAD_MALFORMED, 0, false, "not an RFC 3339" },
    { "2024-03-01", RUAD_MALFORMED, 0, false, "not an RFC 3339" },
    { "24-03-01T00:00:00Z", RUAD_MALFORMED, 0, false, "not an RFC 3339" },
    { "2024-3-01T00:00:00Z", RUAD_MALFORMED, 0, false, "not an RFC 3339" },
    { "2024-03-01X00:00:00Z", RUAD_MALFORMED, 0, false, "not an RFC 3339" },
    { "+024-03-01T00:00:00Z", RUAD_MALFORMED, 0, false, "not an RFC 3339" },
    { "2024-03-01T0a:00:00Z", RUAD_MALFORMED, 0, false, "not an RFC 3339" },
    { "", RUAD_MALFORMED, 0, false, "not an RFC 3339" },
    { "1709251200", RUAD_MALFORMED, 0, false, "not an RFC 3339" },
};

/* test_times - each case as start-datetime (end is 9999) */
static void
test_times(void **state)
{
    struct report_diag    d;
    struct tlsrpt_report *r;
    char                 *json, want[128];
    size_t                i;
    int                   n;

    (void)state;
    for (i = 0; i < sizeof(time_cases) / sizeof(time_cases[0]); i++) {
        const struct time_case *tc = &time_cases[i];

        n = asprintf(&json, "{\"organization-name\":\"o\",\"report-id\":"
            "\"r\",\"date-range\":{\"start-datetime\":\"%s\","
            "\"end-datetime\":\"9999-01-01T00:00:00Z\"},\"policies\":[]}",
            tc->when);
        assert_true(n > 0);
        if (tc->want_rc != RUAD_OK) {
            n = snprintf(want, sizeof(want),
                "date-range.start-datetime: \"");
            assert_true(n > 0 && (size_t)n < sizeof(want));
            expect_fail(json, tc->want_rc, want);
            expect_fail(json, tc->want_rc, tc->err);
            free(json);
            continue;
        }
        r = expect_ok(json, &d);
        if (r->begin != tc->want)
            print_error("%s: want %lld got %lld\n", tc->when,
                (long long)tc->want, (long long)r->begin);
        assert_int_equal(r->begin, tc->want);
        assert_int_equal(r->end, 253370764800LL);
        assert_int_equal(has_warning(&d, "date-range.start-datetime: no "
            "UTC offset; taken as UTC"), tc->want_warn);
        tlsrpt_report_free(r);
        report_diag_free(&d);
        free(json);
    }
}

/* test_end_before_start - kept, with a warning */
static void
test_end_before_start(void **state)
{
    static const char json[] = "{\"organization-name\":\"o\",\"report-id\":"
        "\"r\",\"date-range\":{\"start-datetime\":\"2024-03-02T00:00:00Z\","
        "\"end-datetime\":\"2024-03-01T00:00:00Z\"},\"policies\":[]}";
    struct report_diag    d;
    struct tlsrpt_report *r;

    (void)state;
    r = expect_ok(json, &d);
    assert_true(has_warning(&d, "date-range: ends before it starts"));
    tlsrpt_report_free(r);
    report_diag_free(&d);
}

/* ---- errors: required fields, types, counts, syntax ---- */

struct fail_case {
    const char  *name;
    const char  *json;
    enum ruad_rc want;
    const char  *err;     /* substring of diag.error */
};

#define DR_OK \
    "\"date-range\":{\"start-datetime\":\"2024-03-01T00:00:00Z\"," \
    "\"end-datetime\":\"2024-03-01T23:59:59Z\"}"
#define POLS_OK "\"policies\":[" POL_MIN "]"
/* a document whose one policy has the given failure detail */
#define DOC_FD(fd) DOC( \
    "{\"policy\":{\"policy-type\":\"sts\",\"policy-domain\":\"a.example\"}," \
    "\"summary\":{\"total-successful-session-count\":0," \
    "\"total-failure-session-count\":1},\"failure-details\":[" fd "]}")
#define DOC_SUM(sum) DOC( \
    "{\"policy\":{\"policy-type\":\"sts\",\"policy-domain\":\"a.example\"}," \
    "\"summary\":" sum "}")
#define DOC_POL(pol) DOC("{\"policy\":" pol ",\"summary\":{}}")

static const struct fail_case fail_cases[] = {
    /* required fields */
    { "no organization-name",
      "{" DR_OK ",\"report-id\":\"r\"," POLS_OK "}",
      RUAD_MALFORMED, "organization-name: missing (required)" },
    { "null organization-name",
      "{\"organization-name\":null," DR_OK ",\"report-id\":\"r\","
      POLS_OK "}",
      RUAD_MALFORMED, "organization-name: missing (required)" },
    { "no date-range",
      "{\"organization-name\":\"o\",\"report-id\":\"r\"," POLS_OK "}",
      RUAD_MALFORMED, "date-range: missing (required)" },
    { "no start-datetime",
      "{\"organization-name\":\"o\",\"date-range\":{\"end-datetime\":"
      "\"2024-03-01T23:59:59Z\"},\"report-id\":\"r\"," POLS_OK "}",
      RUAD_MALFORMED, "date-range.start-datetime: missing (required)" },
    { "no end-datetime",
      "{\"organization-name\":\"o\",\"date-range\":{\"start-datetime\":"
      "\"2024-03-01T23:59:59Z\"},\"report-id\":\"r\"," POLS_OK "}",
      RUAD_MALFORMED, "date-range.end-datetime: missing (required)" },
    { "no report-id",
      "{\"organization-name\":\"o\"," DR_OK "," POLS_OK "}",
      RUAD_MALFORMED, "report-id: missing (required)" },
    { "no policies",
      "{\"organization-name\":\"o\"," DR_OK ",\"report-id\":\"r\"}",
      RUAD_MALFORMED, "policies: missing (required)" },
    { "null policies",
      "{\"organization-name\":\"o\"," DR_OK ",\"report-id\":\"r\","
      "\"policies\":null}",
      RUAD_MALFORMED, "policies: missing (required)" },
    { "no policy object",
      DOC("{\"summary\":{}}"),
      RUAD_MALFORMED, "policies[0].policy: missing (required)" },
    { "no policy-type",
      DOC(POL_MIN ",{\"policy\":{\"policy-domain\":\"a.example\"}}"),
      RUAD_MALFORMED, "policies[1].policy.policy-type: missing (required)" },
    { "no result-type",
      DOC_FD("{\"failed-session-count\":1}"),
      RUAD_MALFORMED,
      "policies[0].failure-details[0].result-type: missing (required)" },
    /* wrong types */
    { "organization-name number",
      "{\"organization-name\":5," DR_OK ",\"report-id\":\"r\","
      POLS_OK "}",
      RUAD_MALFORMED, "organization-name: not a string" },
    { "report-id array",
      "{\"organization-name\":\"o\"," DR_OK ",\"report-id\":[\"r\"],"
      POLS_OK "}",
      RUAD_MALFORMED, "report-id: not a string" },
    { "contact-info object",
      "{\"organization-name\":\"o\"," DR_OK ",\"report-id\":\"r\","
      "\"contact-info\":{}," POLS_OK "}",
      RUAD_MALFORMED, "contact-info: not a string" },
    { "date-range string",
      "{\"organization-name\":\"o\",\"date-range\":\"2024\","
      "\"report-id\":\"r\"," POLS_OK "}",
      RUAD_MALFORMED, "date-range: not an object" },
    { "start-datetime number",
      "{\"organization-name\":\"o\",\"date-range\":{\"start-datetime\":"
      "1709251200,\"end-datetime\":\"2024-03-01T23:59:59Z\"},"
      "\"report-id\":\"r\"," POLS_OK "}",
      RUAD_MALFORMED, "date-range.start-datetime: not a string" },
    { "end-datetime bad",
      "{\"organization-name\":\"o\",\"date-range\":{\"start-datetime\":"
      "\"2024-03-01T00:00:00Z\",\"end-datetime\":\"yesterday\"},"
      "\"report-id\":\"r\"," POLS_OK "}",
      RUAD_MALFORMED, "date-range.end-datetime: \"yesterday\": not an RFC" },
    { "policies object",
      "{\"organization-name\":\"o\"," DR_OK ",\"report-id\":\"r\","
      "\"policies\":{}}",
      RUAD_MALFORMED, "policies: not an array" },
    { "policy element string",
      DOC(POL_MIN ",\"sts\""),
      RUAD_MALFORMED, "policies[1]: not an object" },
    { "policy array",
      DOC("{\"policy\":[]}"),
      RUAD_MALFORMED, "policies[0].policy: not an object" },
    { "policy-type number",
      DOC_POL("{\"policy-type\":1}"),
      RUAD_MALFORMED, "policies[0].policy.policy-type: not a string" },
    { "policy-domain bool",
      DOC_POL("{\"policy-type\":\"sts\",\"policy-domain\":true}"),
      RUAD_MALFORMED, "policies[0].policy.policy-domain: not a string" },
    { "policy-string object",
      DOC_POL("{\"policy-type\":\"sts\",\"policy-string\":{}}"),
      RUAD_MALFORMED,
      "policies[0].policy.policy-string: not an array of strings" },
    { "policy-string element number",
      DOC_POL("{\"policy-type\":\"sts\",\"policy-string\":[\"a\",2]}"),
      RUAD_MALFORMED, "policies[0].policy.policy-string[1]: not a string" },
    { "mx-host number",
      DOC_POL("{\"policy-type\":\"sts\",\"mx-host\":25}"),
      RUAD_MALFORMED, "policies[0].policy.mx-host: not a string or an "
      "array of strings" },
    { "mx-host element null",
      DOC_POL("{\"policy-type\":\"sts\",\"mx-host\":[\"a\",\"b\",null]}"),
      RUAD_MALFORMED, "policies[0].policy.mx-host[2]: not a string" },
    { "summary array",
      DOC("{\"policy\":{\"policy-type\":\"sts\"},\"summary\":[]}"),
      RUAD_MALFORMED, "policies[0].summary: not an object" },
    { "failure-details object",
      DOC("{\"policy\":{\"policy-type\":\"sts\"},\"failure-details\":{}}"),
      RUAD_MALFORMED, "policies[0].failure-details: not an array" },
    { "failure detail number",
      DOC_FD("{\"result-type\":\"dane-required\"},7"),
      RUAD_MALFORMED, "policies[0].failure-details[1]: not an object" },
    { "result-type number",
      DOC_FD("{\"result-type\":3}"),
      RUAD_MALFORMED,
      "policies[0].failure-details[0].result-type: not a string" },
    { "receiving-ip number",
      DOC_FD("{\"result-type\":\"dane-required\",\"receiving-ip\":1}"),
      RUAD_MALFORMED,
      "policies[0].failure-details[0].receiving-ip: not a string" },
    { "failure-reason-code array",
      DOC_FD("{\"result-type\":\"dane-required\","
      "\"failure-reason-code\":[]}"),
      RUAD_MALFORMED,
      "policies[0].failure-details[0].failure-reason-code: not a string" },
    /* counts */
    { "count negative",
      DOC_SUM("{\"total-successful-session-count\":1,"
      "\"total-failure-session-count\":-1}"),
      RUAD_MALFORMED,
      "policies[0].summary.total-failure-session-count: negative (-1)" },
    { "count real",
      DOC_SUM("{\"total-successful-session-count\":1.0,"
      "\"total-failure-session-count\":0}"),
      RUAD_MALFORMED,
      "policies[0].summary.total-successful-session-count: not an integer" },
    { "count exponent",
      DOC_SUM("{\"total-successful-session-count\":1e3}"),
      RUAD_MALFORMED,
      "policies[0].summary.total-successful-session-count: not an integer" },
    { "count string",
      DOC_SUM("{\"total-successful-session-count\":\"5\"}"),
      RUAD_MALFORMED,
      "policies[0].summary.total-successful-session-count: not an integer" },
    { "count bool",
      DOC_SUM("{\"total-successful-session-count\":true}"),
      RUAD_MALFORMED,
      "policies[0].summary.total-successful-session-count: not an integer" },
    { "failed-session-count negative",
      DOC_FD("{\"result-type\":\"dane-required\","
      "\"failed-session-count\":-9223372036854775808}"),
      RUAD_MALFORMED, "policies[0].failure-details[0].failed-session-count: "
      "negative" },
    { "count too big for jansson",
      DOC_SUM("{\"total-successful-session-count\":9223372036854775808}"),
      RUAD_MALFORMED, "too big" },
    /* syntax */
    { "truncated",
      "{\"organization-name\":\"o\",\"date-range\":{\"start",
      RUAD_MALFORMED, "line 1 column" },
    { "truncated on line 3",
      "{\n\"organization-name\": \"o\",\n\"policies\": [",
      RUAD_MALFORMED, "line 3 column" },
    { "whitespace only", " \r\n\t", RUAD_MALFORMED, "line" },
    { "bom only", "\xef\xbb\xbf", RUAD_MALFORMED, "empty input" },
    { "two boms", "\xef\xbb\xbf\xef\xbb\xbf{}", RUAD_MALFORMED, "line 1" },
    { "top-level array", "[" DOC(POL_MIN) "]", RUAD_MALFORMED,
      "top level is not a JSON object" },
    { "top-level string", "\"report\"", RUAD_MALFORMED, "line 1" },
    { "trailing garbage", DOC(POL_MIN) "x", RUAD_MALFORMED, "line 1" },
    { "two documents", DOC(POL_MIN) DOC(POL_MIN), RUAD_MALFORMED,
      "line 1" },
    { "duplicate key",
      "{\"organization-name\":\"o\",\"organization-name\":\"p\"," DR_OK
      ",\"report-id\":\"r\"," POLS_OK "}",
      RUAD_MALFORMED, "duplicate" },
    { "invalid utf-8", "{\"organization-name\":\"\xc3\x28\"}",
      RUAD_MALFORMED, "line 1" },
    { "overlong utf-8", "{\"organization-name\":\"\xc0\xaf\"}",
      RUAD_MALFORMED, "line 1" },
    { "escaped NUL", "{\"organization-name\":\"a\\u0000b\"}",
      RUAD_MALFORMED, "line 1" },
    { "lone surrogate", "{\"organization-name\":\"\\ud800\"}",
      RUAD_MALFORMED, "line 1" },
    { "single quotes", "{'organization-name':'o'}", RUAD_MALFORMED,
      "line 1 column 2" },
    { "comment", "{/* c */}", RUAD_MALFORMED, "line 1" },
    { "xml", "<?xml version=\"1.0\"?><feedback/>", RUAD_MALFORMED,
      "line 1 column 1" },
    { "junk control bytes", "\x01\x02\x7f\x1b[2J", RUAD_MALFORMED,
      "line 1" },
};

/* test_fail_cases - each row fails with its rc and names the field */
static void
test_fail_cases(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(fail_cases) / sizeof(fail_cases[0]); i++) {
        print_message("case: %s\n", fail_cases[i].name);
        expect_fail(fail_cases[i].json, fail_cases[i].want,
            fail_cases[i].err);
    }
}

/* test_error_text_printable - peer bytes in jansson's text are masked */
static void
test_error_text_printable(void **state)
{
    static const char json[] = "{\"a\":tru\x1b[31m}";
    struct report_limits  lim;
    struct report_diag    d;
    struct tlsrpt_report *out = NULL;
    size_t                i;

    (void)state;
    report_limits_default(&lim);
    assert_int_equal(parse_n(json, sizeof(json) - 1, &lim, &d, &out),
        RUAD_MALFORMED);
    for (i = 0; d.error[i] != '\0'; i++)
        assert_true((unsigned char)d.error[i] >= 0x20 &&
            (unsigned char)d.error[i] < 0x7f);
    report_diag_free(&d);
}

/* test_empty_input - zero bytes, also with a NULL pointer */
static void
test_empty_input(void **state)
{
    struct report_limits lim;

    (void)state;
    report_limits_default(&lim);
    expect_fail_n("", 0, &lim, RUAD_MALFORMED, "empty input");
    expect_fail_n(NULL, 0, &lim, RUAD_MALFORMED, "empty input");
}

/* test_binary_junk - random-looking bytes with NULs */
static void
test_binary_junk(void **state)
{
    static const char junk[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
        "\xff\xfe{\x00\"\x00[\x00\x89PNG\r\n\x1a\n";
    char                 buf[4096];
    struct report_limits lim;
    uint32_t             x = 2463534242u;
    size_t               i;

    (void)state;
    report_limits_default(&lim);
    expect_fail_n(junk, sizeof(junk) - 1, &lim, RUAD_MALFORMED, "line 1");
    /* xorshift bytes: whatever they are, never OK and never a crash */
    for (i = 0; i < sizeof(buf); i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (char)(x & 0xff);
    }
    buf[0] = '{';
    expect_fail_n(buf, sizeof(buf), &lim, RUAD_MALFORMED, "line");
    /* a valid document with a NUL byte inside */
    expect_fail_n("{\"a\":\"b\0\"}", 10, &lim, RUAD_MALFORMED, "line 1");
}

/* ---- limits, each at the cap and one past ---- */

/* nested - "{<meta>,"x":[[..]],policies:[]}" with k arrays; caller frees */
static char *
nested(unsigned k)
{
    char    *s;
    size_t   i, n = 0, cap = 2 * (size_t)k + 256;

    s = malloc(cap);
    assert_non_null(s);
    n += (size_t)snprintf(s + n, cap - n, "{\"x\":");
    for (i = 0; i < k; i++)
        s[n++] = '[';
    for (i = 0; i < k; i++)
        s[n++] = ']';
    n += (size_t)snprintf(s + n, cap - n, ",\"organization-name\":\"o\","
        "\"report-id\":\"r\"," DR_OK ",\"policies\":[]}");
    assert_true(n < cap);
    return s;
}

/* test_depth - nesting at json_depth_max passes, one deeper is refused */
static void
test_depth(void **state)
{
    struct report_limits  lim;
    struct report_diag    d;
    struct tlsrpt_report *r;
    char                 *s;

    (void)state;
    report_limits_default(&lim);
    lim.json_depth_max = 6;
    s = nested(5);                     /* object + 5 arrays = 6 */
    r = expect_ok_n(s, strlen(s), &lim, &d);
    tlsrpt_report_free(r);
    report_diag_free(&d);
    free(s);
    s = nested(6);
    expect_fail_n(s, strlen(s), &lim, RUAD_LIMIT,
        "JSON nested deeper than 6");
    free(s);

    /* a legal report with policy-string nests 5 deep */
    lim.json_depth_max = 5;
    r = expect_ok_n(DOC("{\"policy\":{\"policy-type\":\"sts\","
        "\"policy-string\":[\"a\"]}}"), strlen(DOC("{\"policy\":{"
        "\"policy-type\":\"sts\",\"policy-string\":[\"a\"]}}")), &lim, &d);
    tlsrpt_report_free(r);
    report_diag_free(&d);

    /* brackets in strings and escaped quotes do not count */
    lim.json_depth_max = 2;
    r = expect_ok_n("{\"x\":\"[[[{{{\\\"[[[\\\\\",\"y\":[\"]]]]{{\"],"
        "\"organization-name\":\"[[[[\",\"report-id\":\"r\"," DR_OK
        ",\"policies\":[]}", strlen("{\"x\":\"[[[{{{\\\"[[[\\\\\",\"y\":"
        "[\"]]]]{{\"],\"organization-name\":\"[[[[\",\"report-id\":\"r\","
        DR_OK ",\"policies\":[]}"), &lim, &d);
    assert_string_equal(r->organization_name, "[[[[");
    tlsrpt_report_free(r);
    report_diag_free(&d);

    /* the scan runs before jansson: junk after the nesting is not seen */
    lim.json_depth_max = 16;
    expect_fail_n("[[[[[[[[[[[[[[[[[ junk", 22, &lim, RUAD_LIMIT,
        "JSON nested deeper than 16");
    /* default limits: deep nesting is refused long before jansson */
    report_limits_default(&lim);
    s = nested(100000);
    expect_fail_n(s, strlen(s), &lim, RUAD_LIMIT, "nested deeper");
    free(s);
}

/* test_size - exactly json_max bytes pass, one more is refused */
static void
test_size(void **state)
{
    static const char json[] = DOC(POL_MIN);
    struct report_limits  lim;
    struct report_diag    d;
    struct tlsrpt_report *r;
    char                  buf[sizeof(json) + 1];

    (void)state;
    report_limits_default(&lim);
    lim.json_max = sizeof(json) - 1;
    r = expect_ok_n(json, sizeof(json) - 1, &lim, &d);
    tlsrpt_report_free(r);
    report_diag_free(&d);
    /* same document plus one trailing space */
    memcpy(buf, json, sizeof(json) - 1);
    buf[sizeof(json) - 1] = ' ';
    expect_fail_n(buf, sizeof(json), &lim, RUAD_LIMIT, "exceeds the limit");
    /* the size check comes first, whatever the bytes */
    lim.json_max = 3;
    expect_fail_n("\x00\x01\x02\x03", 4, &lim, RUAD_LIMIT,
        "JSON of 4 bytes exceeds the limit of 3");
}

/*
 * test_values - a document of exactly json_values_max values passes, one
 * more is refused before jansson allocates anything.
 */
static void
test_values(void **state)
{
    /* values: root object, date-range object, "policies" array, and the
     * 3 commas between the 4 top-level members and 1 inside date-range */
    static const char json[] = "{\"organization-name\":\"o\","
        "\"report-id\":\"r\"," DR_OK ",\"policies\":[]}";
    struct report_limits  lim;
    struct report_diag    d;
    struct tlsrpt_report *r;
    uint64_t              n = 0;
    size_t                i;
    bool                  in_str = false;

    (void)state;
    for (i = 0; i < sizeof(json) - 1; i++) {
        if (json[i] == '"')
            in_str = !in_str;
        else if (!in_str && (json[i] == ',' || json[i] == '{' ||
            json[i] == '['))
            n++;
    }
    report_limits_default(&lim);
    lim.json_values_max = n + 1;
    r = expect_ok_n(json, sizeof(json) - 1, &lim, &d);
    tlsrpt_report_free(r);
    report_diag_free(&d);
    lim.json_values_max = n;
    expect_fail_n(json, sizeof(json) - 1, &lim, RUAD_LIMIT,
        "JSON holds more values than");
    /* a flat array of many tiny values: refused by default limits */
    report_limits_default(&lim);
    {
        size_t cnt = lim.json_values_max + 1, len = 2 * cnt + 1;
        char  *big = malloc(len + 1);

        big[0] = '[';
        for (i = 0; i < cnt; i++) {
            big[1 + 2 * i] = '0';
            big[2 + 2 * i] = ',';
        }
        big[len - 1] = ']';
        big[len] = '\0';
        expect_fail_n(big, len, &lim, RUAD_LIMIT, "more values than");
        free(big);
    }
}

/* test_string_max - a string of json_string_max bytes passes, +1 not */
static void
test_string_max(void **state)
{
    static const char ok[] = "{\"organization-name\":\"0123456789\","
        "\"report-id\":\"r\"," DR_OK ",\"policies\":[{\"policy\":{"
        "\"policy-type\":\"sts\",\"mx-host\":[\"a\",\"mx.example\"]}}]}";
    static const char big_org[] = "{\"organization-name\":\"0123456789X\","
        "\"report-id\":\"r\"," DR_OK ",\"policies\":[]}";
    static const char big_mx[] = "{\"organization-name\":\"o\","
        "\"report-id\":\"r\"," DR_OK ",\"policies\":[{\"policy\":{"
        "\"policy-type\":\"sts\",\"mx-host\":[\"a\",\"mx1.example\"]}}]}";
    static const char big_utf8[] = "{\"organization-name\":"
        "\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\","
        "\"report-id\":\"r\"," DR_OK ",\"policies\":[]}";
    struct report_limits  lim;
    struct report_diag    d;
    struct tlsrpt_report *r;

    (void)state;
    report_limits_default(&lim);
    lim.json_string_max = 10;          /* dates are only checked, not kept */
    r = expect_ok_n(ok, strlen(ok), &lim, &d);
    assert_string_equal(r->organization_name, "0123456789");
    tlsrpt_report_free(r);
    report_diag_free(&d);
    expect_fail_n(big_org, strlen(big_org), &lim, RUAD_LIMIT,
        "organization-name: string of 11 bytes exceeds the limit of 10");
    expect_fail_n(big_mx, strlen(big_mx), &lim, RUAD_LIMIT,
        "policies[0].policy.mx-host[1]: string of 11 bytes");
    /* the cap counts UTF-8 bytes after unescaping: 6 x 2 = 12 */
    expect_fail_n(big_utf8, strlen(big_utf8), &lim, RUAD_LIMIT,
        "organization-name: string of 12 bytes");
}

/* test_policies_max - tlsrpt_policies_max policies pass, one more not */
static void
test_policies_max(void **state)
{
    static const char two[] = DOC(POL_MIN "," POL_MIN);
    static const char three[] = DOC(POL_MIN "," POL_MIN "," POL_MIN);
    struct report_limits  lim;
    struct report_diag    d;
    struct tlsrpt_report *r;

    (void)state;
    report_limits_default(&lim);
    lim.tlsrpt_policies_max = 2;
    r = expect_ok_n(two, strlen(two), &lim, &d);
    assert_int_equal(r->n_policies, 2);
    tlsrpt_report_free(r);
    report_diag_free(&d);
    expect_fail_n(three, strlen(three), &lim, RUAD_LIMIT,
        "policies: 3 policies exceed the limit of 2");
}

#define FD1 "{\"result-type\":\"tlsa-invalid\",\"failed-session-count\":1}"
#define POL_FD(fds) \
    "{\"policy\":{\"policy-type\":\"tlsa\"},\"summary\":{" \
    "\"total-successful-session-count\":0,\"total-failure-session-count\"" \
    ":9},\"failure-details\":[" fds "]}"

/* test_details_max - the cap counts details over all policies */
static void
test_details_max(void **state)
{
    static const char three[] = DOC(POL_FD(FD1 "," FD1) "," POL_FD(FD1));
    static const char four[] = DOC(POL_FD(FD1 "," FD1) ","
        POL_FD(FD1 "," FD1));
    static const char four_one[] = DOC(POL_FD(FD1 "," FD1 "," FD1 ","
        FD1));
    struct report_limits  lim;
    struct report_diag    d;
    struct tlsrpt_report *r;

    (void)state;
    report_limits_default(&lim);
    lim.tlsrpt_details_max = 3;
    r = expect_ok_n(three, strlen(three), &lim, &d);
    assert_int_equal(r->policies[0].n_failures, 2);
    assert_int_equal(r->policies[1].n_failures, 1);
    tlsrpt_report_free(r);
    report_diag_free(&d);
    expect_fail_n(four, strlen(four), &lim, RUAD_LIMIT,
        "policies[1].failure-details: more than 3 failure details");
    expect_fail_n(four_one, strlen(four_one), &lim, RUAD_LIMIT,
        "policies[0].failure-details: more than 3");
}

/* test_big_report - 10,000 failure details, sums checked */
static void
test_big_report(void **state)
{
    struct report_diag    d;
    struct tlsrpt_report *r;
    struct tlsrpt_policy *p;
    const size_t          nfd = 10000;
    size_t                cap = nfd * 200 + 1024, n = 0, i;
    uint64_t              sum = 0, want = (uint64_t)nfd * (nfd + 1) / 2;
    char                 *s;
    int                   k;

    (void)state;
    s = malloc(cap);
    assert_non_null(s);
    k = snprintf(s, cap, "{" META ",\"policies\":[{\"policy\":{"
        "\"policy-type\":\"sts\",\"policy-domain\":\"a.example\"},"
        "\"summary\":{\"total-successful-session-count\":1,"
        "\"total-failure-session-count\":%llu},\"failure-details\":[",
        (unsigned long long)want);
    assert_true(k > 0 && (size_t)k < cap);
    n = (size_t)k;
    for (i = 0; i < nfd; i++) {
        k = snprintf(s + n, cap - n, "%s{\"result-type\":\"%s\","
            "\"sending-mta-ip\":\"198.51.100.%zu\",\"receiving-ip\":"
            "\"203.0.113.%zu\",\"failed-session-count\":%zu}",
            i ? "," : "", i % 2 ? "certificate-expired" :
            "validation-failure", i % 256, (i / 256) % 256, i + 1);
        assert_true(k > 0 && (size_t)k < cap - n);
        n += (size_t)k;
    }
    k = snprintf(s + n, cap - n, "]}]}");
    assert_true(k > 0 && (size_t)k < cap - n);
    n += (size_t)k;

    r = expect_ok(s, &d);
    assert_int_equal(d.n_warnings, 0);
    p = &r->policies[0];
    assert_int_equal(p->n_failures, nfd);
    for (i = 0; i < p->n_failures; i++) {
        assert_true(p->failures[i].has_failed_session_count);
        sum += p->failures[i].failed_session_count;
    }
    assert_int_equal(sum, want);
    assert_int_equal(p->total_failure_session_count, want);
    assert_string_equal(p->failures[9999].sending_mta_ip,
        "198.51.100.15");
    assert_string_equal(p->failures[9999].receiving_ip, "203.0.113.39");
    assert_string_equal(p->failures[9999].result_type,
        "certificate-expired");
    tlsrpt_report_free(r);
    report_diag_free(&d);
    free(s);
}

/* test_first_error_wins - a later problem does not replace the first */
static void
test_first_error_wins(void **state)
{
    (void)state;
    expect_fail("{\"organization-name\":1,\"report-id\":2," DR_OK "}",
        RUAD_MALFORMED, "organization-name: not a string");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_mx_host_string),
        cmocka_unit_test(test_contact_info_absent),
        cmocka_unit_test(test_no_policy_found),
        cmocka_unit_test(test_sparse),
        cmocka_unit_test(test_result_types),
        cmocka_unit_test(test_extras),
        cmocka_unit_test(test_empty_policies),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_end_before_start),
        cmocka_unit_test(test_fail_cases),
        cmocka_unit_test(test_error_text_printable),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_binary_junk),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_string_max),
        cmocka_unit_test(test_policies_max),
        cmocka_unit_test(test_details_max),
        cmocka_unit_test(test_big_report),
        cmocka_unit_test(test_first_error_wins),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
