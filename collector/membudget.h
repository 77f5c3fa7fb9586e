/*
 * membudget.h - the bytes of messages and request bodies held in memory
 * while they arrive and are stored, for SMTP and HTTP together.  Each
 * connection may hold up to its message cap; the sum is capped here
 * (receive_max_bytes), so a few thousand slow clients cannot make the
 * process grow without bound: past the cap new data is refused (SMTP
 * 421 4.3.1, HTTP 503) and the client retries later.
 */
#ifndef RUAD_MEMBUDGET_H
#define RUAD_MEMBUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* membudget_set - the cap, in bytes (before any server starts) */
void membudget_set(uint64_t max);
/* membudget_take - reserve n bytes if they fit; false: nothing taken */
bool membudget_take(size_t n);
/* membudget_charge - count n bytes already allocated; false when the
 * total is now past the cap (the caller gives them back and refuses) */
bool membudget_charge(size_t n);
/* membudget_give - n bytes were freed (a large buffer's pages went back
 * to the system with it: it was mmapped, see RECEIVE_TRIM_MIN) */
void membudget_give(size_t n);
/* membudget_used - bytes counted now */
uint64_t membudget_used(void);

#endif /* RUAD_MEMBUDGET_H */
