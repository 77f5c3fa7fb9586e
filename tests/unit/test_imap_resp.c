/*
 * test_imap_resp.c - IMAP server answers (STATUS, FETCH listings),
 * IMAP quoting, and the imap.NAME.KEY settings: tables, and each limit
 * one step past.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "imap_config.h"
#include "imap_resp.h"
#include "limits.h"

static const struct status_case {
    const char  *in;
    enum ruad_rc rc;
    uint32_t     uidvalidity, uidnext, messages;
} status_cases[] = {
    { "* STATUS INBOX (MESSAGES 231 UIDNEXT 44292 UIDVALIDITY 1)\r\n",
      RUAD_OK, 1, 44292, 231 },
    { "* OK hello\r\n* STATUS \"Sent \\\"x\\\"\" (UIDVALIDITY 7)\r\n",
      RUAD_OK, 7, 0, 0 },
    { "* status inbox (uidvalidity 4294967295 uidnext 2)\n",
      RUAD_OK, 4294967295u, 2, 0 },
    { "* STATUS INBOX (UIDVALIDITY 4294967296)\r\n", RUAD_MALFORMED,
      0, 0, 0 },
    { "* STATUS INBOX (UIDVALIDITY 0)\r\n", RUAD_MALFORMED, 0, 0, 0 },
    { "* STATUS INBOX (UIDNEXT 5)\r\n", RUAD_MALFORMED, 0, 0, 0 },
    { "* STATUS INBOX (UIDVALIDITY 5\r\n", RUAD_MALFORMED, 0, 0, 0 },
    { "* STATUS INBOX (UIDVALIDITY x)\r\n", RUAD_MALFORMED, 0, 0, 0 },
    { "* STATUS {5}\r\n", RUAD_MALFORMED, 0, 0, 0 },
    { "", RUAD_MALFORMED, 0, 0, 0 },
};

static void
test_status(void **state)
{
    struct imap_status st;
    size_t             i;

    (void)state;
    for (i = 0; i < sizeof(status_cases) / sizeof(status_cases[0]); i++) {
        const struct status_case *c = &status_cases[i];

        assert_int_equal(imap_resp_status(c->in, strlen(c->in), &st), c->rc);
        if (c->rc != RUAD_OK)
            continue;
        assert_int_equal(st.uidvalidity, c->uidvalidity);
        assert_int_equal(st.uidnext, c->uidnext);
        assert_int_equal(st.messages, c->messages);
    }
}

/* list - feed text in chunks of chunk bytes; msgs as "uid:size:seen," */
static void
list(const char *in, size_t chunk, size_t max, uint32_t min_uid,
    const char *want, unsigned want_bad, bool want_more)
{
    static struct imap_list l;
    struct imap_msg         msgs[16];
    char                    got[512] = "";
    size_t                  off, len = strlen(in), i;

    imap_list_init(&l, msgs, max, min_uid);
    for (off = 0; off < len; off += chunk)
        imap_list_feed(&l, in + off, len - off < chunk ? len - off : chunk);
    imap_list_finish(&l);
    for (i = 0; i < l.n; i++)
        snprintf(got + strlen(got), sizeof(got) - strlen(got),
            "%u:%llu:%d,", msgs[i].uid, (unsigned long long)msgs[i].size,
            msgs[i].seen);
    assert_string_equal(got, want);
    assert_int_equal(l.bad, want_bad);
    assert_int_equal(l.more, want_more);
}

static void
test_list(void **state)
{
    const char *dovecot =
        "* 1 FETCH (UID 3 RFC822.SIZE 4087 FLAGS (\\Seen))\r\n"
        "* 2 FETCH (UID 5 RFC822.SIZE 2966 FLAGS ())\r\n"
        "* 3 FETCH (FLAGS (\\Recent $Junk) RFC822.SIZE 10 UID 9)\r\n";
    size_t      chunk;

    (void)state;
    for (chunk = 1; chunk < 64; chunk++)
        list(dovecot, chunk, 16, 1, "3:4087:1,5:2966:0,9:10:0,", 0, false);
    /* UID n:* returns the last message even when it is below n */
    list(dovecot, 100, 16, 6, "9:10:0,", 0, false);
    /* a batch keeps the smallest UIDs, whatever the order */
    list("* 3 FETCH (UID 30 RFC822.SIZE 1)\n* 1 FETCH (UID 10 RFC822.SIZE 1)"
        "\n* 2 FETCH (UID 20 RFC822.SIZE 1)\n* 2 FETCH (UID 20 RFC822.SIZE "
        "1)\n", 7, 2, 1, "10:1:0,20:1:0,", 0, true);
    /* unknown items are skipped, nested lists and quoted strings too */
    list("* 4 FETCH (UID 12 MODSEQ (77) X-GM-LABELS (\"\\\\Inbox\" (a (b)))"
        " RFC822.SIZE 1)\r\n", 5, 4, 1, "12:1:0,", 0, false);
    /* bad FETCH lines are counted, other lines ignored */
    list("* OK [READ-ONLY]\r\n* 1 FETCH (UID 0 RFC822.SIZE 1)\r\n"
        "* 2 FETCH (UID 4294967296 RFC822.SIZE 1)\r\n"
        "* 3 FETCH (UID 7)\r\n* 4 FETCH (UID 8 RFC822.SIZE 1 BODY[] {3}\r\n"
        "* 5 FETCH (UID 9 RFC822.SIZE 18446744073709551616)\r\n"
        "* 6 FETCH (UID 10 RFC822.SIZE 18446744073709551615)",
        3, 4, 1, "10:18446744073709551615:0,", 5, false);
}

static void
test_list_line_max(void **state)
{
    static char in[2 * IMAP_RESP_LINE_MAX];
    const char *head = "* 1 FETCH (UID 5 RFC822.SIZE 9 FLAGS (";
    size_t      n;

    (void)state;
    /* a line of exactly IMAP_RESP_LINE_MAX bytes (CRLF included) */
    n = strlen(head);
    memcpy(in, head, n);
    memset(in + n, 'a', IMAP_RESP_LINE_MAX - n - 4);
    memcpy(in + IMAP_RESP_LINE_MAX - 4, "))\r\n", 5);
    assert_int_equal(strlen(in), IMAP_RESP_LINE_MAX);
    list(in, 1000, 4, 1, "5:9:0,", 0, false);
    /* one byte more and it is skipped, counted once */
    memmove(in + n + 1, in + n, strlen(in + n) + 1);
    in[n] = 'a';
    list(in, 1000, 4, 1, "", 1, false);
}

static void
test_quote(void **state)
{
    char q[16];

    (void)state;
    assert_true(imap_quote("INBOX", q, sizeof(q)));
    assert_string_equal(q, "\"INBOX\"");
    assert_true(imap_quote("a\"b\\c", q, sizeof(q)));
    assert_string_equal(q, "\"a\\\"b\\\\c\"");
    assert_false(imap_quote("a\r\nb", q, sizeof(q)));
    assert_false(imap_quote("\xc3\xa9t\xc3\xa9", q, sizeof(q)));
    assert_true(imap_quote("0123456789ab", q, sizeof(q)));   /* 14 + NUL */
    assert_false(imap_quote("0123456789abc", q, sizeof(q))); /* one past */
}

static const struct set_case {
    const char  *key, *value;
    enum ruad_rc rc;
} set_cases[] = {
    { "imap.work.url", "imaps://h/INBOX", RUAD_OK },
    { "imap_work_password_file", "/x", RUAD_OK },     /* as a flag */
    { "imap.work.batch", "10000", RUAD_OK },
    { "imap.work.batch", "10001", RUAD_MALFORMED },
    { "imap.work.batch", "0", RUAD_MALFORMED },
    { "imap.work.poll_interval", "86400", RUAD_OK },
    { "imap.work.poll_interval", "86401", RUAD_MALFORMED },
    { "imap.work.max_message_size", "1G", RUAD_OK },
    { "imap.work.max_message_size", "1073741825", RUAD_MALFORMED },
    { "imap.work.max_message_size", "1023", RUAD_MALFORMED },
    { "imap.work.timeout", "4", RUAD_MALFORMED },
    { "imap.work.action", "move", RUAD_OK },
    { "imap.work.action", "delete", RUAD_MALFORMED },
    { "imap.work.move_to", "Done\r\nA1 LOGOUT", RUAD_MALFORMED },
    { "imap.wo_rk.url", "imaps://h/INBOX", RUAD_MALFORMED },
    { "imap..url", "imaps://h/INBOX", RUAD_MALFORMED },
    { "imap.work.colour", "red", RUAD_MALFORMED },
    { "imap.0123456789012345678901234567890.url", "x", RUAD_OK }, /* 31 */
    { "imap.01234567890123456789012345678901.url", "x", RUAD_MALFORMED },
};

static void
test_config(void **state)
{
    struct config *c = malloc(sizeof(*c));
    char           err[512], key[64];
    size_t         i;

    (void)state;
    assert_non_null(c);
    config_init(c);
    for (i = 0; i < sizeof(set_cases) / sizeof(set_cases[0]); i++) {
        err[0] = '\0';
        if (config_set(c, set_cases[i].key, set_cases[i].value, err,
            sizeof(err)) != set_cases[i].rc)
            fail_msg("%s = %s: %s", set_cases[i].key, set_cases[i].value,
                err);
    }
    /* --imap-work-token-file: dashes and underscores are alike */
    config_init(c);
    assert_int_equal(config_set(c, "imap-work-url", "imaps://h:993/INBOX",
        err, sizeof(err)), RUAD_OK);
    assert_int_equal(config_set(c, "imap-work-user", "u", err, sizeof(err)),
        RUAD_OK);
    assert_int_equal(config_check(c, err, sizeof(err)), RUAD_MALFORMED);
    assert_non_null(strstr(err, "password_file"));
    assert_int_equal(config_set(c, "imap-work-token-file", "/t", err,
        sizeof(err)), RUAD_OK);
    assert_int_equal(c->imap.n, 1);
    assert_string_equal(c->imap.src[0].token_file, "/t");
    assert_int_equal(c->imap.src[0].batch, IMAP_BATCH);
    assert_int_equal(config_check(c, err, sizeof(err)), RUAD_OK);
    assert_int_equal(config_set(c, "imap-work-password-file", "/p", err,
        sizeof(err)), RUAD_OK);
    assert_int_equal(config_check(c, err, sizeof(err)), RUAD_MALFORMED);
    /* urls: TLS schemes only, a mailbox, no user@ or ;options */
    static const char *const bad_urls[] = { "http://h/INBOX", "imaps://h",
        "imaps://h/", "imaps://u@h/INBOX", "imaps://h/INBOX;UID=1",
        "pop3s://h/INBOX" };
    c->imap.src[0].password_file[0] = '\0';
    for (i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
        snprintf(c->imap.src[0].url, sizeof(c->imap.src[0].url), "%s",
            bad_urls[i]);
        if (config_check(c, err, sizeof(err)) != RUAD_MALFORMED)
            fail_msg("url %s taken", bad_urls[i]);
    }
    /* IMAP_SOURCES_MAX sources, and one more is refused */
    config_init(c);
    for (i = 0; i <= IMAP_SOURCES_MAX; i++) {
        snprintf(key, sizeof(key), "imap.s%zu.user", i);
        assert_int_equal(config_set(c, key, "u", err, sizeof(err)),
            i < IMAP_SOURCES_MAX ? RUAD_OK : RUAD_MALFORMED);
    }
    free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_list_line_max),
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_config),
    };

    imap_config_register();      /* as main() does */

    return cmocka_run_group_tests(tests, NULL, NULL);
}
