/*
 * dns.c - TXT lookups (see dns.h).
 *
 * RFC 1035 TXT: an answer holds one or more character-strings per record;
 * DKIM joins them (RFC 6376 3.6.2.2).  NXDOMAIN and "no such record" are
 * permanent answers; SERVFAIL, REFUSED and a timeout are temporary, so a
 * report is never failed for a resolver's bad minute.
 *
 * Answers are cached process-wide for their TTL (at most an hour; five
 * minutes for "no such name"), so a reporter's key costs one lookup, not
 * one per mail.  Temporary failures are never cached.
 *
 * SECURITY: answers are peer data: parsed with libresolv's ns_parserr,
 * each character-string bounded by its length byte and the record by its
 * rdlength; at most DNS_RECORDS_MAX records of at most DNS_TXT_MAX bytes.
 */
#include "dns.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"

#define DNS_ANSWER_MAX  65535
#define DNS_CACHE_SLOTS 512         /* answers kept, process-wide */
#define DNS_TTL_MAX     3600        /* seconds an answer is kept at most */
#define DNS_NEG_TTL     300         /* for NXDOMAIN and no-record */
#define DNS_RECORDS_MAX 16
#define DNS_TXT_MAX     8192        /* an RSA-8192 key is about 1.5 KB */

struct dns {
    struct __res_state st;
};

/*
 * A small process-wide cache of answers for their TTL (capped), so a
 * reporter's key is fetched once, not once per mail: a DNS round trip
 * costs about what an RSA-2048 verify does.  Temporary failures are never
 * cached.  Slots are picked by a hash of the name; a collision replaces.
 */
struct dns_slot {
    char   *name;               /* owned; NULL: empty */
    char  **recs;               /* owned */
    size_t  n;
    bool    nx;                 /* NXDOMAIN */
    time_t  until;
};

static pthread_mutex_t dns_mu = PTHREAD_MUTEX_INITIALIZER;
static struct dns_slot dns_cache[DNS_CACHE_SLOTS];

static size_t
dns_hash(const char *name)
{
    size_t h = 5381;

    for (; *name != '\0'; name++)
        h = h * 33 + (unsigned char)tolower((unsigned char)*name);
    return h % DNS_CACHE_SLOTS;
}

static void
slot_clear(struct dns_slot *sl)
{
    size_t i;

    for (i = 0; i < sl->n; i++)
        free(sl->recs[i]);
    free(sl->recs);
    free(sl->name);
    memset(sl, 0, sizeof(*sl));
}

/* cache_get - a copy of a live cached answer; false if none */
static bool
cache_get(const char *name, char ***records, size_t *n, bool *nx)
{
    struct dns_slot *sl = &dns_cache[dns_hash(name)];
    bool             hit = false;
    size_t           i;

    pthread_mutex_lock(&dns_mu);
    if (sl->name != NULL && strcasecmp(sl->name, name) == 0 &&
        sl->until > time(NULL)) {
        *nx = sl->nx;
        *n = 0;
        *records = calloc(sl->n ? sl->n : 1, sizeof(**records));
        if (*records != NULL) {
            for (i = 0; i < sl->n; i++)
                if (((*records)[*n] = strdup(sl->recs[i])) != NULL)
                    (*n)++;
            hit = *n == sl->n;
        }
    }
    pthread_mutex_unlock(&dns_mu);
    return hit;
}

/* cache_put - keep an answer for ttl seconds (copies) */
static void
cache_put(const char *name, char *const *records, size_t n, bool nx,
    unsigned ttl)
{
    struct dns_slot *sl = &dns_cache[dns_hash(name)];
    size_t           i;

    if (ttl == 0)
        return;
    pthread_mutex_lock(&dns_mu);
    slot_clear(sl);
    sl->name = strdup(name);
    sl->recs = calloc(n ? n : 1, sizeof(*sl->recs));
    if (sl->name == NULL || sl->recs == NULL) {
        slot_clear(sl);
        pthread_mutex_unlock(&dns_mu);
        return;
    }
    for (i = 0; i < n; i++)
        if ((sl->recs[sl->n] = strdup(records[i])) != NULL)
            sl->n++;
    sl->nx = nx;
    sl->until = time(NULL) + (time_t)(ttl > DNS_TTL_MAX ? DNS_TTL_MAX : ttl);
    pthread_mutex_unlock(&dns_mu);
}

void
dns_cache_flush(void)
{
    size_t i;

    pthread_mutex_lock(&dns_mu);
    for (i = 0; i < DNS_CACHE_SLOTS; i++)
        slot_clear(&dns_cache[i]);
    pthread_mutex_unlock(&dns_mu);
}

struct dns *
dns_new(const char *server, unsigned timeout_ms, char *err, size_t errlen)
{
    struct dns *d = calloc(1, sizeof(*d));
    char        host[64];
    unsigned    port;
    struct in_addr a;

    if (d == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (res_ninit(&d->st) != 0) {
        snprintf(err, errlen, "resolver: cannot initialise");
        free(d);
        return NULL;
    }
    d->st.retrans = timeout_ms >= 1000 ? (int)(timeout_ms / 1000) : 1;
    d->st.retry = 2;
    if (server != NULL && *server != '\0') {
        if (!config_split_listen(server, host, sizeof(host), &port) ||
            inet_pton(AF_INET, host, &a) != 1 || port == 0) {
            snprintf(err, errlen, "dns_server: \"%s\" is not IPv4:port",
                server);
            res_nclose(&d->st);
            free(d);
            return NULL;
        }
        memset(&d->st.nsaddr_list[0], 0, sizeof(d->st.nsaddr_list[0]));
        d->st.nsaddr_list[0].sin_family = AF_INET;
        d->st.nsaddr_list[0].sin_addr = a;
        d->st.nsaddr_list[0].sin_port = htons((uint16_t)port);
        d->st.nscount = 1;
    }
    return d;
}

void
dns_free(struct dns *d)
{
    if (d == NULL)
        return;
    res_nclose(&d->st);
    free(d);
}

enum ruad_rc
dns_txt(void *ctx, const char *name, char ***records, size_t *n)
{
    struct dns    *d = ctx;
    unsigned char *ans;
    ns_msg         msg;
    ns_rr          rr;
    int            len, i, count;
    char         **recs;
    unsigned       ttl = DNS_TTL_MAX;
    bool           nx;

    *records = NULL;
    *n = 0;
    if (cache_get(name, records, n, &nx))
        return nx ? RUAD_EOF : RUAD_OK;
    if ((ans = malloc(DNS_ANSWER_MAX)) == NULL)
        return RUAD_TEMPFAIL;
    len = res_nquery(&d->st, name, ns_c_in, ns_t_txt, ans, DNS_ANSWER_MAX);
    if (len < 0) {
        int h = d->st.res_h_errno;

        free(ans);
        if (h == HOST_NOT_FOUND) {
            cache_put(name, NULL, 0, true, DNS_NEG_TTL);
            return RUAD_EOF;
        }
        if (h == NO_DATA) {
            cache_put(name, NULL, 0, false, DNS_NEG_TTL);
            return RUAD_OK;
        }
        return RUAD_TEMPFAIL;            /* TRY_AGAIN, NO_RECOVERY, ... */
    }
    if (ns_initparse(ans, len, &msg) != 0) {
        free(ans);
        return RUAD_TEMPFAIL;
    }
    count = ns_msg_count(msg, ns_s_an);
    if ((recs = calloc(DNS_RECORDS_MAX, sizeof(*recs))) == NULL) {
        free(ans);
        return RUAD_TEMPFAIL;
    }
    for (i = 0; i < count && *n < DNS_RECORDS_MAX; i++) {
        const unsigned char *p, *end;
        char                *s;
        size_t               o = 0;

        if (ns_parserr(&msg, ns_s_an, i, &rr) != 0)
            break;
        if (ns_rr_ttl(rr) < ttl)
            ttl = ns_rr_ttl(rr);         /* the chain's shortest */
        if (ns_rr_type(rr) != ns_t_txt || ns_rr_class(rr) != ns_c_in)
            continue;                    /* a CNAME on the way */
        p = ns_rr_rdata(rr);
        end = p + ns_rr_rdlen(rr);
        if ((s = malloc(DNS_TXT_MAX + 1)) == NULL)
            break;
        while (p < end) {
            size_t l = *p++;

            if (l > (size_t)(end - p) || o + l > DNS_TXT_MAX)
                break;
            memcpy(s + o, p, l);
            o += l;
            p += l;
        }
        s[o] = '\0';
        recs[(*n)++] = s;
    }
    free(ans);
    *records = recs;
    cache_put(name, recs, *n, false, ttl);
    return RUAD_OK;
}

/*
 * dns_rrs - the answers of type at name, uncached (dns-records --check
 * asks once).  Returns the rc of dns_txt; each rdata is handed to fn.
 */
static enum ruad_rc
dns_rrs(struct dns *d, const char *name, int type,
    void (*fn)(void *arg, const ns_msg *msg, const ns_rr *rr), void *arg)
{
    unsigned char *ans;
    ns_msg         msg;
    ns_rr          rr;
    int            len, i, count;

    if ((ans = malloc(DNS_ANSWER_MAX)) == NULL)
        return RUAD_NOMEM;
    len = res_nquery(&d->st, name, ns_c_in, type, ans, DNS_ANSWER_MAX);
    if (len < 0) {
        int h = d->st.res_h_errno;

        free(ans);
        return h == HOST_NOT_FOUND ? RUAD_EOF : h == NO_DATA ? RUAD_OK :
            RUAD_TEMPFAIL;
    }
    if (ns_initparse(ans, len, &msg) != 0) {
        free(ans);
        return RUAD_TEMPFAIL;
    }
    count = ns_msg_count(msg, ns_s_an);
    for (i = 0; i < count && i < DNS_RECORDS_MAX * 4; i++) {
        if (ns_parserr(&msg, ns_s_an, i, &rr) != 0)
            break;
        if ((int)ns_rr_type(rr) == type && ns_rr_class(rr) == ns_c_in)
            fn(arg, &msg, &rr);
    }
    free(ans);
    return RUAD_OK;
}

struct dns_names {
    char  **v;
    size_t  n;
};

/* mx_one - the exchange of one MX answer, expanded */
static void
mx_one(void *arg, const ns_msg *msg, const ns_rr *rr)
{
    struct dns_names *l = arg;
    char              host[NS_MAXDNAME];

    if (l->n >= DNS_RECORDS_MAX || ns_rr_rdlen(*rr) < 3 ||
        ns_name_uncompress(ns_msg_base(*msg), ns_msg_end(*msg),
        ns_rr_rdata(*rr) + 2, host, sizeof(host)) < 0)
        return;
    if ((l->v[l->n] = strdup(host)) != NULL)
        l->n++;
}

enum ruad_rc
dns_mx(void *ctx, const char *name, char ***hosts, size_t *n)
{
    struct dns_names l = { .n = 0 };
    enum ruad_rc     rc;

    *hosts = NULL;
    *n = 0;
    if ((l.v = calloc(DNS_RECORDS_MAX, sizeof(*l.v))) == NULL)
        return RUAD_NOMEM;
    rc = dns_rrs(ctx, name, ns_t_mx, mx_one, &l);
    if (rc != RUAD_OK) {
        free(l.v);
        return rc;
    }
    *hosts = l.v;
    *n = l.n;
    return RUAD_OK;
}

static void
count_one(void *arg, const ns_msg *msg, const ns_rr *rr)
{
    (void)msg;
    (void)rr;
    (*(size_t *)arg)++;
}

enum ruad_rc
dns_tlsa(void *ctx, const char *name, size_t *n)
{
    *n = 0;
    return dns_rrs(ctx, name, 52 /* TLSA, RFC 6698 */, count_one, n);
}

enum ruad_rc
dns_addrs(void *ctx, const char *name, size_t *n)
{
    size_t       n6 = 0;
    enum ruad_rc rc;

    *n = 0;
    rc = dns_rrs(ctx, name, ns_t_a, count_one, n);
    if (rc == RUAD_OK || rc == RUAD_EOF) {
        enum ruad_rc rc6 = dns_rrs(ctx, name, ns_t_aaaa, count_one, &n6);

        if (rc6 == RUAD_TEMPFAIL || rc6 == RUAD_NOMEM)
            return rc6;
        *n += n6;
        if (rc6 == RUAD_OK)
            rc = RUAD_OK;
    }
    return rc;
}
