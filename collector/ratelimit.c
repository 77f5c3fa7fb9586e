/*
 * ratelimit.c - per-key rate limits in memory (see ratelimit.h).
 *
 * GCRA: each key keeps one time, tat (the theoretical arrival time of
 * its next event).  An event at now is allowed when tat - now <= tau,
 * tau = window - T, T = window / limit, and then tat = max(tat, now) + T;
 * so limit events fit in a window from a full bucket, and a key whose
 * tat has passed is as good as absent (its slot may be reused).
 *
 * The table is open addressing over RATE_KEYS_MAX slots; a key lives in
 * one of RATE_PROBE slots from its hash.  One mutex: a take is a hash
 * and a few compares.
 */
#include "ratelimit.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "limits.h"
#include "netaddr.h"

struct rl_slot {
    uint64_t hash;              /* 0: empty */
    int64_t  tat_us;
};

struct ratelimit {
    pthread_mutex_t mu;
    int64_t         t_us;       /* T: microseconds per event */
    int64_t         tau_us;     /* burst allowance: window - T */
    uint64_t        seed;
    int64_t         log_at_us;  /* the last refusal logged */
    unsigned long   unlogged;   /* refusals since */
    struct rl_slot *slot;       /* owned, RATE_KEYS_MAX; NULL: no limit */
};

int64_t
ratelimit_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* rl_seed - a per-process secret for the key hash */
static uint64_t
rl_seed(void)
{
    struct timespec ts;
    uint64_t        s = 0;
    FILE           *f = fopen("/dev/urandom", "rb");

    if (f != NULL) {
        if (fread(&s, sizeof(s), 1, f) != 1)
            s = 0;
        fclose(f);
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    return s ^ ((uint64_t)ts.tv_nsec << 32) ^ (uint64_t)ts.tv_sec ^
        (uint64_t)getpid();
}

/* rl_hash - FNV-1a over the seed and the key, then a 64-bit finaliser
 * (splitmix64); never 0 */
static uint64_t
rl_hash(uint64_t seed, const char *key)
{
    uint64_t h = 0xcbf29ce484222325ull ^ seed;

    for (; *key != '\0'; key++) {
        h ^= (unsigned char)*key;
        h *= 0x100000001b3ull;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h != 0 ? h : 1;
}

struct ratelimit *
ratelimit_new(unsigned limit, unsigned window_s)
{
    struct ratelimit *rl = calloc(1, sizeof(*rl));

    if (rl == NULL)
        return NULL;
    pthread_mutex_init(&rl->mu, NULL);
    if (limit == 0 || window_s == 0)
        return rl;                      /* no limit */
    if ((rl->slot = calloc(RATE_KEYS_MAX, sizeof(*rl->slot))) == NULL) {
        pthread_mutex_destroy(&rl->mu);
        free(rl);
        return NULL;
    }
    rl->t_us = (int64_t)window_s * 1000000 / limit;
    if (rl->t_us < 1)
        rl->t_us = 1;
    rl->tau_us = (int64_t)window_s * 1000000 - rl->t_us;
    rl->seed = rl_seed();
    return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
    if (rl == NULL)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl->slot);
    free(rl);
}

bool
ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_us,
    int64_t *retry_us)
{
    struct rl_slot *s = NULL, *victim = NULL;
    uint64_t        h;
    size_t          i, at;
    int64_t         tat;
    bool            ok;

    *retry_us = 0;
    if (rl == NULL || rl->slot == NULL)
        return true;
    h = rl_hash(rl->seed, key);
    at = (size_t)(h % RATE_KEYS_MAX);
    pthread_mutex_lock(&rl->mu);
    for (i = 0; i < RATE_PROBE; i++) {
        struct rl_slot *x = &rl->slot[(at + i) % RATE_KEYS_MAX];

        if (x->hash == h) {
            s = x;
            break;
        }
        /* a free slot, else a full bucket, else the nearest to full */
        if (victim == NULL || (victim->hash != 0 && (x->hash == 0 ||
            x->tat_us < victim->tat_us)))
            victim = x;
    }
    if (s == NULL) {
        s = victim;
        s->hash = h;
        s->tat_us = now_us;
    }
    tat = s->tat_us > now_us ? s->tat_us : now_us;
    ok = tat - now_us <= rl->tau_us;
    if (ok)
        s->tat_us = tat + rl->t_us;
    else
        *retry_us = tat - now_us - rl->tau_us;
    pthread_mutex_unlock(&rl->mu);
    return ok;
}

bool
ratelimit_log_due(struct ratelimit *rl, int64_t now_us,
    unsigned long *skipped)
{
    bool due;

    pthread_mutex_lock(&rl->mu);
    due = rl->log_at_us == 0 ||
        now_us - rl->log_at_us >= (int64_t)RATE_LOG_MS * 1000;
    *skipped = rl->unlogged;
    if (due) {
        rl->log_at_us = now_us;
        rl->unlogged = 0;
    } else {
        rl->unlogged++;
    }
    pthread_mutex_unlock(&rl->mu);
    return due;
}

bool
ratelimit_addr_key(const char *addr, char *key, size_t keylen)
{
    struct netaddr_key k;

    if (!netaddr_key_parse(addr, &k)) {
        snprintf(key, keylen, "%s", addr);
        return false;
    }
    netaddr_key_text(&k, key, keylen);
    return true;
}

void
ratelimit_sender_key(const char *mail_from, char *key, size_t keylen)
{
    const char *at = strrchr(mail_from, '@');
    const char *d = at != NULL ? at + 1 : mail_from;
    size_t      i;

    if (keylen == 0)
        return;
    if (*mail_from == '\0') {
        snprintf(key, keylen, "<>");
        return;
    }
    for (i = 0; d[i] != '\0' && i + 1 < keylen; i++)
        key[i] = (char)tolower((unsigned char)d[i]);
    key[i] = '\0';
}
