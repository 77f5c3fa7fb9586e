/*
 * inbound_state.c - the one table of inbound states and their text (see
 * inbound_state.h).
 */
#include "inbound_state.h"

#include <string.h>

static const char *const names[INBOUND_STATE_N] = {
    [INBOUND_PENDING]         = "pending",
    [INBOUND_PROCESSING]      = "processing",
    [INBOUND_PARSED]          = "parsed",
    [INBOUND_DUPLICATE]       = "duplicate",
    [INBOUND_NOT_A_REPORT]    = "not_a_report",
    [INBOUND_MALFORMED]       = "malformed",
    [INBOUND_TOO_LARGE]       = "too_large",
    [INBOUND_UNAUTHENTICATED] = "unauthenticated",
    [INBOUND_SUPERSEDED]      = "superseded",
    [INBOUND_CONFLICT]        = "conflict",
    [INBOUND_FAILED]          = "failed",
};

const char *
inbound_state_name(enum inbound_state s)
{
    /* a value past the table is a bug: the row fails rather than pass */
    return (unsigned)s < INBOUND_STATE_N ? names[s] : names[INBOUND_FAILED];
}

bool
inbound_state_parse(const char *s, size_t len, enum inbound_state *out)
{
    size_t i;

    for (i = 0; i < INBOUND_STATE_N; i++)
        if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0) {
            *out = (enum inbound_state)i;
            return true;
        }
    return false;
}
