/*
 * dns.h - TXT lookups (DKIM keys) through the system resolver's servers or
 * a given server, several names in parallel within one time budget
 * (non-blocking sockets and poll); MX, TLSA and A through libresolv.
 */
#ifndef RUAD_DNS_H
#define RUAD_DNS_H

#include <stddef.h>

#include "result.h"

struct dns;

/*
 * dns_new - a resolver: server "" uses /etc/resolv.conf, "host:port" (an
 * IPv4 address) asks only that server.  timeout_ms per try, two tries per
 * server; the budget of a TXT lookup is at first all of those tries.
 * NULL with the reason in err.  One struct dns per thread.
 */
struct dns *dns_new(const char *server, unsigned timeout_ms, char *err,
    size_t errlen);
void dns_free(struct dns *d);

/* dns_budget - the time one dns_txt or dns_txt_many call may take in all
 * (milliseconds); what is unanswered then is RUAD_TEMPFAIL */
void dns_budget(struct dns *d, unsigned budget_ms);

/*
 * dns_txt - the TXT records of name, each record's strings joined.
 * RUAD_OK (*n may be 0: the name exists without TXT), RUAD_EOF (NXDOMAIN),
 * RUAD_TEMPFAIL (SERVFAIL, timeout, refused), RUAD_MALFORMED (a name that
 * cannot be asked: a label over 63 octets, over 253 in all).  *records
 * and its strings are the caller's to free.  Matches struct dkim_lookup's
 * txt (ctx = d).  Answers come from a process-wide cache while their TTL
 * lasts.
 */
enum ruad_rc dns_txt(void *d, const char *name, char ***records, size_t *n);

/*
 * dns_txt_many - dns_txt for n names at once: every query is sent at
 * once, each retried after the timeout (the next server in turn, two
 * tries per server), and whatever is unanswered when the budget is spent
 * is RUAD_TEMPFAIL with why "no answer within N ms".  EDNS(0) with a
 * 1232-byte payload; a truncated answer is asked again over TCP.  Matches
 * struct dkim_lookup's txt_many (ctx = d).
 */
struct dkim_txt;
void dns_txt_many(void *d, const char *const *names, size_t n,
    struct dkim_txt *out);

/*
 * dns_mx - the exchanges of name's MX records (no preference), uncached;
 * dns_tlsa - how many TLSA records name has.  Contract of dns_txt; for
 * `ruad dns-records --check`.
 */
enum ruad_rc dns_mx(void *d, const char *name, char ***hosts, size_t *n);
enum ruad_rc dns_tlsa(void *d, const char *name, size_t *n);
/* dns_addrs - how many A and AAAA records name has (after CNAMEs) */
enum ruad_rc dns_addrs(void *d, const char *name, size_t *n);

/* dns_cache_flush - forget every cached answer (tests, benchmarks) */
void dns_cache_flush(void);

#endif /* RUAD_DNS_H */
