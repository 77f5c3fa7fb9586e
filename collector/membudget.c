/*
 * membudget.c - the cap on bytes buffered by arriving messages and
 * bodies (see membudget.h).  One atomic counter; no lock.
 */
#include "membudget.h"

#include <malloc.h>
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

void
membudget_give(size_t n)
{
    atomic_fetch_sub(&membudget_now, n);
    /* glibc keeps freed memory in its arenas; after a large message or
     * body, give it back (a few ms at most, and only then) */
    if (n >= RECEIVE_TRIM_MIN)
        malloc_trim(0);
}

uint64_t
membudget_used(void)
{
    return atomic_load(&membudget_now);
}
