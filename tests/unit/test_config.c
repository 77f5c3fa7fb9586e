/*
 * test_config.c - settings table: bounds one step past, file syntax.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "imap_config.h"
#include "log.h"

static const struct set_case {
    const char  *key, *value;
    enum ruad_rc rc;
} set_cases[] = {
    { "zip_max_members", "1024", RUAD_OK },
    { "zip_max_members", "1025", RUAD_MALFORMED },
    { "zip_max_members", "0", RUAD_MALFORMED },
    { "zip-max-members", "1", RUAD_OK },           /* dashes are alike */
    { "decompress_max_bytes", "4G", RUAD_OK },
    { "decompress_max_bytes", "4294967297", RUAD_MALFORMED },
    { "decompress_max_bytes", "1M", RUAD_OK },
    { "decompress_max_bytes", "1048575", RUAD_MALFORMED },
    { "decompress_max_bytes", "12X", RUAD_MALFORMED },
    { "decompress_max_bytes", "-1", RUAD_MALFORMED },
    { "decompress_max_ratio", "100000", RUAD_OK },
    { "decompress_max_ratio", "100001", RUAD_MALFORMED },
    { "xml_max_depth", "256", RUAD_OK },
    { "xml_max_depth", "257", RUAD_MALFORMED },
    { "xml_max_text", "1048577", RUAD_MALFORMED },
    { "dmarc_max_records", "1000000001", RUAD_MALFORMED },
    { "tlsrpt_max_bytes", "256M", RUAD_OK },
    { "tlsrpt_max_bytes", "268435457", RUAD_MALFORMED },
    { "tlsrpt_max_values", "10000000", RUAD_OK },
    { "tlsrpt_max_values", "10000001", RUAD_MALFORMED },
    { "tlsrpt_max_values", "999", RUAD_MALFORMED },
    { "tlsrpt_max_depth", "65", RUAD_MALFORMED },
    { "mime_max_depth", "32", RUAD_OK },
    { "mime_max_depth", "33", RUAD_MALFORMED },
    { "mime_max_parts", "1025", RUAD_MALFORMED },
    { "mime_max_header_bytes", "16M", RUAD_OK },
    { "mime_max_header_bytes", "16777217", RUAD_MALFORMED },
    { "smtp_require_tls", "yes", RUAD_OK },
    { "smtp_require_tls", "maybe", RUAD_MALFORMED },
    { "smtp_max_recipients", "10000", RUAD_OK },
    { "smtp_max_recipients", "10001", RUAD_MALFORMED },
    { "smtp_max_message_size", "65535", RUAD_MALFORMED },
    { "http_threads", "257", RUAD_MALFORMED },
    { "dkim_dns_budget_ms", "500", RUAD_OK },
    { "dkim_dns_budget_ms", "499", RUAD_MALFORMED },
    { "dkim_dns_budget_ms", "120000", RUAD_OK },
    { "dkim_dns_budget_ms", "120001", RUAD_MALFORMED },
    { "dkim_temperror_giveup", "0", RUAD_OK },
    { "dkim_temperror_giveup", "2592000", RUAD_OK },
    { "dkim_temperror_giveup", "2592001", RUAD_MALFORMED },
    { "http_listen", "127.0.0.1:8443", RUAD_OK },
    { "log_level", "debug", RUAD_OK },
    { "log_level", "loud", RUAD_MALFORMED },
    { "no_such_key", "1", RUAD_MALFORMED },
    { "zip_max_members", "99999999999999999999999", RUAD_MALFORMED },
};

static void
test_set_table(void **state)
{
    struct config c;
    char          err[256];
    size_t        i;

    (void)state;
    for (i = 0; i < sizeof(set_cases) / sizeof(set_cases[0]); i++) {
        config_init(&c);
        err[0] = '\0';
        if (config_set(&c, set_cases[i].key, set_cases[i].value, err,
            sizeof(err)) != set_cases[i].rc)
            fail_msg("%s = %s: %s", set_cases[i].key, set_cases[i].value,
                err);
    }
    config_init(&c);
    assert_int_equal(config_set(&c, "decompress_max_bytes", "2G", err,
        sizeof(err)), RUAD_OK);
    assert_int_equal(c.limits.decomp_out_max, 2ull << 30);
    assert_int_equal(config_set(&c, "zip_max_members", "3", err,
        sizeof(err)), RUAD_OK);
    assert_int_equal(c.limits.zip_members_max, 3);
    assert_int_equal(config_set(&c, "log_level", "warn", err, sizeof(err)),
        RUAD_OK);
    assert_int_equal(c.log_level, LOG_L_WARN);
}

static void
test_file(void **state)
{
    struct config c;
    char          path[512], err[512];
    FILE         *f;

    (void)state;
    snprintf(path, sizeof(path), "%s/test_config.conf", tu_tmpdir());
    f = fopen(path, "w");
    fputs("# limits\n\n  dmarc_max_records = 500   # comment\n"
        "xml_max_depth=20\n", f);
    fclose(f);
    config_init(&c);
    assert_int_equal(config_load_file(&c, path, err, sizeof(err)), RUAD_OK);
    assert_int_equal(c.limits.records_max, 500);
    assert_int_equal(c.limits.xml_depth_max, 20);

    f = fopen(path, "w");
    fputs("xml_max_depth = 20\nthis line is wrong\n", f);
    fclose(f);
    config_init(&c);
    assert_int_equal(config_load_file(&c, path, err, sizeof(err)),
        RUAD_MALFORMED);
    assert_non_null(strstr(err, ":2: expected key = value"));

    f = fopen(path, "w");
    fputs("\nzip_max_members = 2000\n", f);
    fclose(f);
    assert_int_equal(config_load_file(&c, path, err, sizeof(err)),
        RUAD_MALFORMED);
    assert_non_null(strstr(err, ":2: zip_max_members"));
    remove(path);
    assert_int_equal(config_load_file(&c, path, err, sizeof(err)), RUAD_IO);
}

/* lists grow line by line; any other key is set once per file */
static void
test_lists(void **state)
{
    struct config c;
    char          path[512], err[1024], want[8192];
    size_t        i, n = 0;
    FILE         *f;

    (void)state;
    snprintf(path, sizeof(path), "%s/test_config_lists.conf", tu_tmpdir());
    f = fopen(path, "w");
    fputs("smtp_accept = dmarc@rua.example\n"
        "smtp-accept = tlsrpt@rua.example\n", f);
    /* 50 domains, one long line (over the old 1,023 bytes) and then one
     * line each */
    fputs("mta_sts_policy = ", f);
    for (i = 0; i < 25; i++) {
        fprintf(f, "%sdomain-number-%02zu.example:/etc/ruad/mta-sts/"
            "domain-number-%02zu.example.txt", i ? "," : "", i, i);
        n += (size_t)snprintf(want + n, sizeof(want) - n, "%s"
            "domain-number-%02zu.example:/etc/ruad/mta-sts/"
            "domain-number-%02zu.example.txt", i ? "," : "", i, i);
    }
    fputs("\n", f);
    for (; i < 50; i++) {
        fprintf(f, "mta_sts_policy = domain-number-%02zu.example:/etc/ruad/"
            "mta-sts/domain-number-%02zu.example.txt\n", i, i);
        n += (size_t)snprintf(want + n, sizeof(want) - n, ","
            "domain-number-%02zu.example:/etc/ruad/mta-sts/"
            "domain-number-%02zu.example.txt", i, i);
    }
    fclose(f);
    config_init(&c);
    assert_int_equal(config_load_file(&c, path, err, sizeof(err)), RUAD_OK);
    assert_string_equal(c.smtp_accept,
        "dmarc@rua.example,tlsrpt@rua.example");
    assert_true(strlen(c.mta_sts_policy) > 2 * CONFIG_STRING_MAX);
    assert_string_equal(c.mta_sts_policy, want);
    /* a flag replaces a list, config_add appends to it */
    assert_int_equal(config_set(&c, "smtp_accept", "@x.example", err,
        sizeof(err)), RUAD_OK);
    assert_string_equal(c.smtp_accept, "@x.example");
    assert_int_equal(config_add(&c, "smtp-accept", "@y.example", err,
        sizeof(err)), RUAD_OK);
    assert_string_equal(c.smtp_accept, "@x.example,@y.example");
    assert_int_equal(config_set(&c, "smtp_accept", "", err, sizeof(err)),
        RUAD_OK);
    assert_string_equal(c.smtp_accept, "");
    config_free(&c);
    assert_string_equal(c.mta_sts_policy, "");

    /* a single value twice: both lines named */
    f = fopen(path, "w");
    fputs("workers = 2\nsmtp_listen = 0.0.0.0:25\n# again\n"
        "smtp-listen = [::]:25\n", f);
    fclose(f);
    config_init(&c);
    assert_int_equal(config_load_file(&c, path, err, sizeof(err)),
        RUAD_MALFORMED);
    assert_non_null(strstr(err, ":4: smtp-listen is already set on line 2"));
    config_free(&c);
    f = fopen(path, "w");
    fputs("imap.box.url = imaps://a.example/INBOX\n"
        "imap_box_url = imaps://b.example/INBOX\n", f);
    fclose(f);
    config_init(&c);
    assert_int_equal(config_load_file(&c, path, err, sizeof(err)),
        RUAD_MALFORMED);
    assert_non_null(strstr(err, ":2: imap_box_url is already set on line 1"));
    config_free(&c);
    remove(path);
}

/* config_check: the settings as a whole */
static void
test_check(void **state)
{
    struct config c;
    char          err[256], host[64];
    unsigned      port;

    (void)state;
    config_init(&c);
    assert_int_equal(config_check(&c, err, sizeof(err)), RUAD_OK);
    snprintf(c.http_listen, sizeof(c.http_listen), "nowhere");
    assert_int_equal(config_check(&c, err, sizeof(err)), RUAD_MALFORMED);
    assert_non_null(strstr(err, "http_listen"));
    config_init(&c);
    snprintf(c.tls_cert, sizeof(c.tls_cert), "/x.pem");
    assert_int_equal(config_check(&c, err, sizeof(err)), RUAD_MALFORMED);
    assert_non_null(strstr(err, "go together"));
    config_init(&c);
    c.smtp_require_tls = 1;
    assert_int_equal(config_check(&c, err, sizeof(err)), RUAD_MALFORMED);
    config_init(&c);
    snprintf(c.http_prefix, sizeof(c.http_prefix), "/rua/");
    assert_int_equal(config_check(&c, err, sizeof(err)), RUAD_MALFORMED);
    assert_true(config_split_listen("[::1]:25", host, sizeof(host), &port));
    assert_string_equal(host, "::1");
    assert_int_equal(port, 25);
    assert_false(config_split_listen("1.2.3.4:65536", host, sizeof(host),
        &port));
    assert_false(config_split_listen(":25", host, sizeof(host), &port));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_table),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_check),
    };

    imap_config_register();      /* as main() does */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
