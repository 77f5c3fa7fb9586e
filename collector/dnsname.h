/*
 * dnsname.h - domain names: what DNS can carry (RFC 1035 2.3.4) and how a
 * host name is written (RFC 1123 2.1).  Plumbing: the DKIM verifier, the
 * resolver, the DNS records and MTA-STS policies check names here.
 */
#ifndef RUAD_DNSNAME_H
#define RUAD_DNSNAME_H

#include <stdbool.h>
#include <stddef.h>

/*
 * dnsname_check - can DNS carry the len octets at name: labels of 1 to
 * 63 octets, 253 octets in all (a final dot counts as an empty label:
 * strip it first where one is allowed).  NULL, or why not ("an empty
 * label", "a label over 63 octets", "a name over 253 octets").
 */
const char *dnsname_check(const char *name, size_t len);

/*
 * dnsname_host - is s (len octets) a host name as written: letters,
 * digits and hyphens (and '_' for service labels when underscore), no
 * label starting or ending with a hyphen, at least two labels, no final
 * dot, within dnsname_check's lengths.
 */
bool dnsname_host(const char *s, size_t len, bool underscore);

#endif /* RUAD_DNSNAME_H */
