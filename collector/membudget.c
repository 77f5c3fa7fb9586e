/*
 * membudget.c - the cap on bytes buffered by arriving messages and
 * bodies (see membudget.h).  One atomic counter; no lock.
 */
#include "membudget.h"

#include <stdatomic.h>

#include "limits.h"

static _Atomic uint64_t membudget_max = RECEIVE_BUFFERED_MAX;
static _Atomic uint64_t membudget_now;

void
membudget_set(uint64_t max)
{
    atomic_store(&membudget_max, max);
}

bool
membudget_take(size_t n)
{
    uint64_t cur = atomic_load(&membudget_now);

    do {
        if (n > atomic_load(&membudget_max) ||
            cur > atomic_load(&membudget_max) - n)
            return false;
    } while (!atomic_compare_exchange_weak(&membudget_now, &cur, cur + n));
    return true;
}

bool
membudget_charge(size_t n)
{
    return atomic_fetch_add(&membudget_now, n) + n <=
        atomic_load(&membudget_max);
}

/*
 * membudget_give - only the count.  No malloc_trim here: a buffer of
 * RECEIVE_TRIM_MIN or more is mmapped (M_MMAP_THRESHOLD, fixed in
 * cmd_serve.c), so its free() already unmaps it; what a trim would add
 * is the small blocks left in the arenas, which the next buffers reuse,
 * at the price of walking every arena under its lock on the thread that
 * gives (the SMTP event loop, a libmicrohttpd thread).
 */
void
membudget_give(size_t n)
{
    atomic_fetch_sub(&membudget_now, n);
}

uint64_t
membudget_used(void)
{
    return atomic_load(&membudget_now);
}
