/*
 * clock.h - the two clocks the threads read: monotonic milliseconds for
 * deadlines and intervals, and an absolute CLOCK_REALTIME time ms from
 * now for pthread_cond_timedwait (whose condition variables keep the
 * default clock).  Plumbing: depends on nothing.
 */
#ifndef RUAD_CLOCK_H
#define RUAD_CLOCK_H

#include <stdint.h>
#include <time.h>

/* clock_now_ms - CLOCK_MONOTONIC in milliseconds */
static inline int64_t
clock_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* clock_wait_until - *until is ms from now on CLOCK_REALTIME */
static inline void
clock_wait_until(struct timespec *until, unsigned ms)
{
    clock_gettime(CLOCK_REALTIME, until);
    until->tv_sec += ms / 1000;
    until->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until->tv_nsec >= 1000000000L) {
        until->tv_sec++;
        until->tv_nsec -= 1000000000L;
    }
}

#endif /* RUAD_CLOCK_H */
