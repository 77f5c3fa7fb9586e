/*
 * test_dnsrec.c - grammars of published records (RFC 7489 6.4, RFC 8460
 * 3, RFC 8461 3.1 and 3.2), URIs (RFC 6068, RFC 3986) and the escaping
 * of rua URIs; each rule with a case on either side of it.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "dnsrec.h"
#include "mta_sts.h"

enum which { DMARC, TLSRPT, STS, POLICY };

static const struct rec_case {
    enum which   kind;
    const char  *txt;
    enum ruad_rc rc;
} rec_cases[] = {
    { DMARC, "v=DMARC1; p=none; rua=mailto:d@rua.example.net", RUAD_OK },
    { DMARC, "v=DMARC1;p=reject;rua=mailto:d@rua.example.net!10m;", RUAD_OK },
    { DMARC, "v=DMARC1; p=none; rua=mailto:a@x.example, mailto:b@y.example",
      RUAD_OK },
    { DMARC, "v=DMARC1; p=quarantine; sp=none; np=reject; adkim=s; aspf=r; "
      "pct=100; fo=0:1:d:s; ri=86400; t=y; psd=n; x-new=1", RUAD_OK },
    { DMARC, "v=DMARC1", RUAD_MALFORMED },                   /* no p= */
    { DMARC, "v=DMARC1; rua=mailto:d@x.example; p=none", RUAD_MALFORMED },
    { DMARC, "v=dmarc1; p=none", RUAD_MALFORMED },
    { DMARC, "p=none; v=DMARC1", RUAD_MALFORMED },
    { DMARC, "v=DMARC1; p=block", RUAD_MALFORMED },
    { DMARC, "v=DMARC1; p=none; p=none", RUAD_MALFORMED },
    { DMARC, "v=DMARC1; p=none;; rua=mailto:d@x.example", RUAD_MALFORMED },
    { DMARC, "v=DMARC1; p=none; pct=101", RUAD_MALFORMED },
    { DMARC, "v=DMARC1; p=none; pct=100", RUAD_OK },
    { DMARC, "v=DMARC1; p=none; adkim=x", RUAD_MALFORMED },
    { DMARC, "v=DMARC1; p=none; fo=2", RUAD_MALFORMED },
    { DMARC, "v=DMARC1; p=none; fo=1:", RUAD_MALFORMED },
    { DMARC, "v=DMARC1; p=none; rua=", RUAD_MALFORMED },
    { DMARC, "v=DMARC1; p=none; rua=mailto:d@x.example!", RUAD_MALFORMED },
    { DMARC, "v=DMARC1; p=none; rua=mailto:d@x.example!10x",
      RUAD_MALFORMED },
    { DMARC, "v=DMARC1; p=none; rua=mailto:d@x.example!10k", RUAD_OK },
    { DMARC, "v=DMARC1; p=none; rua=mailto:d x@x.example", RUAD_MALFORMED },
    { DMARC, "v=DMARC1; p=none; rua=mailto:nobody", RUAD_MALFORMED },
    { DMARC, "v=DMARC1; p=none; rua=mailto:a%2Cb@x.example",
      RUAD_MALFORMED },                          /* two addresses */
    { DMARC, "v=DMARC1; p=none; rua=mailto:a%21b@x.example", RUAD_OK },
    { DMARC, "v=DMARC1; p=none; rua=mailto:a@x.example%zz",
      RUAD_MALFORMED },
    { DMARC, "v=DMARC1; p=none; rua=ftp://x.example/", RUAD_MALFORMED },
    { DMARC, "v=DMARC1; p=none; ruf=mailto:@x", RUAD_MALFORMED },
    { TLSRPT, "v=TLSRPTv1; rua=mailto:t@rua.example.net,"
      "https://rua.example.net/tlsrpt", RUAD_OK },
    { TLSRPT, "v=TLSRPTv1;rua=https://rua.example.net:8443/a%2Cb;",
      RUAD_OK },
    { TLSRPT, "v=TLSRPTv1; rua=https://[2001:db8::1]/tlsrpt", RUAD_OK },
    { TLSRPT, "v=TLSRPTv1; rua=https://192.0.2.1/tlsrpt", RUAD_OK },
    { TLSRPT, "v=TLSRPTv1", RUAD_MALFORMED },               /* no rua */
    { TLSRPT, "v=TLSRPTv1; rua=mailto:t@x.example!10m", RUAD_MALFORMED },
    { TLSRPT, "v=TLSRPTv1; rua=https://u@x.example/", RUAD_MALFORMED },
    { TLSRPT, "v=TLSRPTv1; rua=https://x.example:99a/", RUAD_MALFORMED },
    { TLSRPT, "v=TLSRPTv1; rua=https://-x.example/", RUAD_MALFORMED },
    { TLSRPT, "v=TLSRPTv1; rua=mailto:t@x.example; ext=1", RUAD_OK },
    { TLSRPT, "v=TLSRPTv1; rua=mailto:t@x.example; ext=", RUAD_MALFORMED },
    { TLSRPT, "v=TLSRPTv2; rua=mailto:t@x.example", RUAD_MALFORMED },
    { TLSRPT, "v=TLSRPTv1; rua=mailto:t@x.example; rua=mailto:u@x.example",
      RUAD_MALFORMED },
    { STS, "v=STSv1; id=20260101T000000", RUAD_OK },
    { STS, "v=STSv1; id=0123456789abcdef0123456789abcdef", RUAD_OK },
    { STS, "v=STSv1; id=0123456789abcdef0123456789abcdef0", RUAD_MALFORMED },
    { STS, "v=STSv1; id=a-b", RUAD_MALFORMED },
    { STS, "v=STSv1;", RUAD_MALFORMED },
    { STS, "v=STSv1", RUAD_MALFORMED },
    { POLICY, "version: STSv1\r\nmode: enforce\r\nmx: mx.example.com\r\n"
      "max_age: 604800\r\n", RUAD_OK },
    { POLICY, "version: STSv1\nmode: testing\nmx: *.example.com\n"
      "mx: mx2.example.net\nmax_age: 86400", RUAD_OK },
    { POLICY, "version: STSv1\nmode: none\nmax_age: 86400\n", RUAD_OK },
    { POLICY, "version: STSv1\nmode: enforce\nmax_age: 86400\n",
      RUAD_MALFORMED },                           /* no mx */
    { POLICY, "version: STSv1\nmode: enforce\nmx: mx.example.com\n"
      "max_age: 31557600\n", RUAD_OK },
    { POLICY, "version: STSv1\nmode: enforce\nmx: mx.example.com\n"
      "max_age: 31557601\n", RUAD_MALFORMED },
    { POLICY, "version: STSv2\nmode: enforce\nmx: mx.example.com\n"
      "max_age: 1\n", RUAD_MALFORMED },
    { POLICY, "version: STSv1\nmode: strict\nmx: mx.example.com\n"
      "max_age: 1\n", RUAD_MALFORMED },
    { POLICY, "version: STSv1\nmode: enforce\nmode: testing\n"
      "mx: mx.example.com\nmax_age: 1\n", RUAD_MALFORMED },
    { POLICY, "version: STSv1\nmode: enforce\nmx: mx..example.com\n"
      "max_age: 1\n", RUAD_MALFORMED },
    { POLICY, "version: STSv1\nmode: enforce\nmx: mx.example.com\n\n"
      "max_age: 1\n", RUAD_MALFORMED },
    { POLICY, "version STSv1\n", RUAD_MALFORMED },
    { POLICY, "", RUAD_MALFORMED },
};

static void
test_records(void **state)
{
    struct dnsrec_dmarc dm;
    struct dnsrec_uris  u;
    char                err[512], id[33], mode[8];
    size_t              i;
    enum ruad_rc        rc;

    (void)state;
    for (i = 0; i < sizeof(rec_cases) / sizeof(rec_cases[0]); i++) {
        const struct rec_case *c = &rec_cases[i];

        err[0] = '\0';
        switch (c->kind) {
        case DMARC:
            rc = dnsrec_parse_dmarc(c->txt, strlen(c->txt), &dm, err,
                sizeof(err));
            if (rc == RUAD_OK)
                dnsrec_uris_free(&dm.rua);
            break;
        case TLSRPT:
            rc = dnsrec_parse_tlsrpt(c->txt, strlen(c->txt), &u, err,
                sizeof(err));
            if (rc == RUAD_OK)
                dnsrec_uris_free(&u);
            break;
        case STS:
            rc = dnsrec_parse_sts(c->txt, strlen(c->txt), id, err,
                sizeof(err));
            break;
        default:
            rc = mta_sts_validate(c->txt, strlen(c->txt), mode, err,
                sizeof(err));
        }
        if (rc != c->rc)
            fail_msg("case %zu \"%s\": got %s (%s), want %s", i, c->txt,
                ruad_rc_str(rc), err, ruad_rc_str(c->rc));
        if (rc != RUAD_OK && err[0] == '\0')
            fail_msg("case %zu: an error without a reason", i);
    }
}

static void
test_dmarc_fields(void **state)
{
    struct dnsrec_dmarc dm;
    char                err[256];
    const char         *t = "v=DMARC1; p=reject; sp=none; rua=mailto:a@"
        "x.example!5m , https://y.example/r";

    (void)state;
    assert_int_equal(dnsrec_parse_dmarc(t, strlen(t), &dm, err,
        sizeof(err)), RUAD_OK);
    assert_string_equal(dm.p, "reject");
    assert_string_equal(dm.sp, "none");
    assert_int_equal(dm.rua.n, 2);
    assert_string_equal(dm.rua.uri[0], "mailto:a@x.example!5m");
    assert_string_equal(dm.rua.uri[1], "https://y.example/r");
    dnsrec_uris_free(&dm.rua);
}

static void
test_escape(void **state)
{
    char out[64];

    (void)state;
    assert_true(dnsrec_uri_escape("a!b,c;d@x.example", out, sizeof(out)));
    assert_string_equal(out, "a%21b%2Cc%3Bd@x.example");
    assert_true(dnsrec_uri_escape("https://x.example/a b%2Cc", out,
        sizeof(out)));
    assert_string_equal(out, "https://x.example/a%20b%2Cc");
    assert_true(dnsrec_uri_escape("100%", out, sizeof(out)));
    assert_string_equal(out, "100%25");
    /* exactly fits, then one byte short */
    assert_true(dnsrec_uri_escape("abc", out, 4));
    assert_false(dnsrec_uri_escape("abcd", out, 4));
    assert_false(dnsrec_uri_escape("a,", out, 4));
}

static void
test_sts_host(void **state)
{
    struct mta_sts_set s;

    (void)state;
    memset(&s, 0, sizeof(s));
    snprintf(s.p[0].domain, sizeof(s.p[0].domain), "example.com");
    s.n = 1;
    assert_non_null(mta_sts_for_host(&s, "mta-sts.example.com"));
    assert_non_null(mta_sts_for_host(&s, "MTA-STS.Example.COM:443"));
    assert_non_null(mta_sts_for_host(&s, "mta-sts.example.com."));
    assert_null(mta_sts_for_host(&s, "example.com"));
    assert_null(mta_sts_for_host(&s, "mta-sts.example.org"));
    assert_null(mta_sts_for_host(&s, "mta-sts.example.com:x"));
    assert_null(mta_sts_for_host(&s, "mta-sts.sub.example.com"));
    assert_null(mta_sts_for_host(&s, NULL));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_dmarc_fields),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_sts_host),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
