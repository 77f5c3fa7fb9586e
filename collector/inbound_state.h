/*
 * inbound_state.h - the states of an inbound row (inbound.state; the
 * CHECK constraints of db/001 and db/008 list the same): waiting for a
 * worker (pending, processing), then one verdict (worker.c says which
 * when).  The text of each is in one table (inbound_state.c), used where
 * a state meets SQL, the API or the metrics.
 */
#ifndef RUAD_INBOUND_STATE_H
#define RUAD_INBOUND_STATE_H

#include <stdbool.h>
#include <stddef.h>

enum inbound_state {
    INBOUND_PENDING = 0,        /* zero: what a new row is */
    INBOUND_PROCESSING,
    /* the verdicts, from here on */
    INBOUND_PARSED,
    INBOUND_DUPLICATE,
    INBOUND_NOT_A_REPORT,
    INBOUND_MALFORMED,
    INBOUND_TOO_LARGE,
    INBOUND_UNAUTHENTICATED,
    INBOUND_SUPERSEDED,
    INBOUND_CONFLICT,
    INBOUND_FAILED,
    INBOUND_STATE_N
};

/* inbound_state_name - the state's text, as inbound.state holds it */
const char *inbound_state_name(enum inbound_state s);

/*
 * inbound_state_parse - the state whose text is (s, len) (no NUL needed);
 * false when there is none.
 */
bool inbound_state_parse(const char *s, size_t len, enum inbound_state *out);

#endif /* RUAD_INBOUND_STATE_H */
