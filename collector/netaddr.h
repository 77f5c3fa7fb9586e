/*
 * netaddr.h - client addresses as the per-address connection caps and
 * rate limits count them: an IPv4 address is one client, an IPv6 client
 * is its /64 (a single host is routinely given a whole /64, so counting
 * whole IPv6 addresses would let one client open 2^64 "different"
 * connections); and the one way a client's address becomes text.
 */
#ifndef RUAD_NETADDR_H
#define RUAD_NETADDR_H

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;

/* The key of one client: an IPv4 address (also when v4-mapped), or the
 * first 64 bits of an IPv6 address. */
struct netaddr_key {
    unsigned char b[16];         /* IPv4 as ::ffff:a.b.c.d */
};

#define NETADDR_TEXT_MAX 48      /* "ffff:...:ffff::/64" and a NUL */

/* netaddr_key - the key of sa; false (key zeroed) for another family */
bool netaddr_key(const struct sockaddr *sa, struct netaddr_key *k);
/* netaddr_key_equal - the same client? */
bool netaddr_key_equal(const struct netaddr_key *a,
    const struct netaddr_key *b);
/* netaddr_key_text - "192.0.2.1" or "2001:db8:1:2::/64", for the log */
const char *netaddr_key_text(const struct netaddr_key *k, char *dst,
    size_t n);
/* netaddr_key_parse - the key of an address written as text ("192.0.2.1",
 * "2001:db8::1", "::ffff:192.0.2.1"); false (key zeroed) if it is none */
bool netaddr_key_parse(const char *text, struct netaddr_key *k);
/*
 * netaddr_peer_text - the client's address as it is stored (peer_addr),
 * logged and rate limited: IPv4 as a.b.c.d, also when a dual-stack
 * listener ([::]) gives it v4-mapped (::ffff:a.b.c.d), IPv6 whole.  False
 * ("unknown" written) for NULL or another family.  n: INET6_ADDRSTRLEN.
 */
bool netaddr_peer_text(const struct sockaddr *sa, char *dst, size_t n);

#endif /* RUAD_NETADDR_H */
