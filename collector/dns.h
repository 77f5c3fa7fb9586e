/*
 * dns.h - TXT lookups (DKIM keys) through the system resolver or a given
 * server, with a timeout; libresolv.
 */
#ifndef RUAD_DNS_H
#define RUAD_DNS_H

#include <stddef.h>

#include "result.h"

struct dns;

/*
 * dns_new - a resolver: server "" uses /etc/resolv.conf, "host:port" (an
 * IPv4 address) asks only that server.  timeout_ms per try, two tries.
 * NULL with the reason in err.  One struct dns per thread.
 */
struct dns *dns_new(const char *server, unsigned timeout_ms, char *err,
    size_t errlen);
void dns_free(struct dns *d);

/*
 * dns_txt - the TXT records of name, each record's strings joined.
 * RUAD_OK (*n may be 0: the name exists without TXT), RUAD_EOF (NXDOMAIN),
 * RUAD_TEMPFAIL (SERVFAIL, timeout, refused).  *records and its strings
 * are the caller's to free.  Matches struct dkim_lookup's txt (ctx = d).
 * Answers come from a process-wide cache while their TTL lasts.
 */
enum ruad_rc dns_txt(void *d, const char *name, char ***records, size_t *n);

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
