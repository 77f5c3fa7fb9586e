/*
 * ratelimit.h - how many reports one source may send: a GCRA (the
 * "virtual scheduling" form of a token bucket) per key, in memory.
 *
 * A key is allowed limit events per window and may spend them all at
 * once; after that one event every window/limit.  The table is per
 * process (per instance: several ruad instances behind one MX each count
 * their own), fixed in size (RATE_KEYS_MAX), and forgets a key once its
 * bucket is full again.  When the table is full the key nearest to full
 * is dropped, so an address rotating through many keys costs memory
 * nobody else pays for, but may free a key that was limited.
 *
 * Keys are hashed with a per-process random seed; two keys with the same
 * 64-bit hash share a bucket.
 */
#ifndef RUAD_RATELIMIT_H
#define RUAD_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ratelimit;

/*
 * ratelimit_new - limit events per window_s seconds per key (limit 0:
 * everything is allowed and nothing kept).  NULL when out of memory.
 */
struct ratelimit *ratelimit_new(unsigned limit, unsigned window_s);
void ratelimit_free(struct ratelimit *rl);

/*
 * ratelimit_take - one event of key at now_us (monotonic microseconds):
 * true when allowed (and counted); false when not, with *retry_us until
 * one would be.  Safe from any thread.
 */
bool ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_us,
    int64_t *retry_us);

/*
 * ratelimit_log_due - a refusal happened: true when it is to be logged
 * (at most one line per RATE_LOG_MS per limiter), with *skipped the
 * refusals not logged since the last line.  The log must not become the
 * amplification.
 */
bool ratelimit_log_due(struct ratelimit *rl, int64_t now_us,
    unsigned long *skipped);

/*
 * ratelimit_addr_key - the key of a client address (text, as inet_ntop
 * writes it): an IPv4 address itself, an IPv6 address its /64 (one site
 * gets a /64, RFC 6177), an IPv4-mapped IPv6 address its IPv4 address.
 * False when addr does not parse (key then holds addr, cut to fit).
 */
bool ratelimit_addr_key(const char *addr, char *key, size_t keylen);

/*
 * ratelimit_sender_key - the key of an envelope sender: its domain in
 * lower case ("<>" for the null sender, the whole address lowered when
 * it has no @).
 */
void ratelimit_sender_key(const char *mail_from, char *key, size_t keylen);

/* ratelimit_now_us - the clock ratelimit_take expects (monotonic) */
int64_t ratelimit_now_us(void);

#endif /* RUAD_RATELIMIT_H */
