/*
 * inbound.c - durable receipt (see inbound.h and DESIGN.md, "Data flow").
 *
 * SECURITY: raw is peer data and is stored as it is, never parsed here;
 * its size is checked against the channel's cap first.
 */
#include "inbound.h"

#include <stdio.h>

#include "log.h"

enum ruad_rc
inbound_receive(struct store *st, struct inbound_meta *m, const void *raw,
    size_t len, size_t max, int64_t *id, bool *too_large)
{
    char         reason[96];
    enum ruad_rc rc;

    *too_large = len > max;
    if (*too_large) {
        snprintf(reason, sizeof(reason), "%zu bytes, more than the limit "
            "of %zu", len, max);
        m->state = INBOUND_TOO_LARGE;
        m->reason = reason;
        rc = store_inbound_insert(st, m, "", 0, len, id);
        m->reason = NULL;                /* it pointed here */
    } else {
        m->state = INBOUND_PENDING;
        m->reason = NULL;
        rc = store_inbound_insert(st, m, raw, len, len, id);
    }
    if (rc == RUAD_OK)
        log_debug("inbound=%lld received channel=%s size=%zu%s",
            (long long)*id, m->channel, len, *too_large ? " too_large" : "");
    else
        log_warn("inbound not stored channel=%s size=%zu error=\"%s\"",
            m->channel, len, store_error(st));
    return rc;
}
