/*
 * inbound.h - durable receipt: the one acknowledgement point of every
 * channel (SMTP 250, HTTP 202, IMAP flag, `ruad import` line).
 */
#ifndef RUAD_INBOUND_H
#define RUAD_INBOUND_H

#include <stddef.h>
#include <stdint.h>

#include "result.h"
#include "store_pg.h"

/*
 * inbound_receive - keep what arrived before anything else happens.  Up
 * to max bytes the raw bytes are committed as a pending row; a bigger
 * thing is recorded as a too_large row with its size and no bytes (the
 * sender is told, and the fact is kept).  RUAD_OK: committed, *id set,
 * *too_large says which; RUAD_TEMPFAIL: the database is not answering,
 * tell the sender to retry.  m->state and m->reason are set here.
 */
enum ruad_rc inbound_receive(struct store *st, struct inbound_meta *m,
    const void *raw, size_t len, size_t max, int64_t *id, bool *too_large);

#endif /* RUAD_INBOUND_H */
