/*
 * test_inbound_state.c - the one table of inbound states: every state
 * has the text db/008_report_copies.sql's CHECK allows, and the text
 * parses back to it; nothing else parses.
 */
#include "testutil.h"

#include <string.h>

#include "inbound_state.h"

/* inbound_state_check in db/008_report_copies.sql, in its order */
static const char *const db_states[] = { "pending", "processing", "parsed",
    "duplicate", "not_a_report", "malformed", "too_large", "unauthenticated",
    "failed", "superseded", "conflict" };
#define N_DB (sizeof(db_states) / sizeof(db_states[0]))

static void
test_round_trip(void **state)
{
    enum inbound_state s, back;
    size_t             i, seen = 0;

    (void)state;
    assert_int_equal(INBOUND_STATE_N, N_DB);
    assert_int_equal(INBOUND_PENDING, 0);         /* a zeroed meta: pending */
    for (s = 0; s < INBOUND_STATE_N; s++) {
        const char *name = inbound_state_name(s);

        assert_true(inbound_state_parse(name, strlen(name), &back));
        assert_int_equal(back, s);
        for (i = 0; i < N_DB; i++)
            if (strcmp(db_states[i], name) == 0)
                seen++;
    }
    assert_int_equal(seen, N_DB);
}

static void
test_refused(void **state)
{
    static const char *const bad[] = { "", "Parsed", "pendin", "pendingx",
        "too large", "parsed " };
    enum inbound_state s = INBOUND_FAILED;
    size_t             i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(inbound_state_parse(bad[i], strlen(bad[i]), &s));
    assert_int_equal(s, INBOUND_FAILED);          /* untouched */
    /* the length counts, not a NUL: "parsedX" cut to 6 is parsed */
    assert_true(inbound_state_parse("parsedX", 6, &s));
    assert_int_equal(s, INBOUND_PARSED);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
