/*
 * netaddr.c - per-client keys for connection caps and rate limits, and
 * the client's address as text (see netaddr.h).
 */
#include "netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const unsigned char v4mapped[12] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

bool
netaddr_key(const struct sockaddr *sa, struct netaddr_key *k)
{
    memset(k, 0, sizeof(*k));
    if (sa == NULL)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)sa;

        memcpy(k->b, v4mapped, sizeof(v4mapped));
        memcpy(k->b + 12, &in->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)sa;
        const unsigned char       *a = in6->sin6_addr.s6_addr;

        if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
            memcpy(k->b, a, 16);        /* an IPv4 client, whole */
            return true;
        }
        memcpy(k->b, a, 8);             /* its /64 */
        return true;
    }
    return false;
}

bool
netaddr_key_equal(const struct netaddr_key *a, const struct netaddr_key *b)
{
    return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

const char *
netaddr_key_text(const struct netaddr_key *k, char *dst, size_t n)
{
    char t[INET6_ADDRSTRLEN];

    if (memcmp(k->b, v4mapped, sizeof(v4mapped)) == 0) {
        if (inet_ntop(AF_INET, k->b + 12, t, sizeof(t)) == NULL)
            snprintf(t, sizeof(t), "?");
        snprintf(dst, n, "%s", t);
    } else {
        if (inet_ntop(AF_INET6, k->b, t, sizeof(t)) == NULL)
            snprintf(t, sizeof(t), "?");
        snprintf(dst, n, "%s/64", t);
    }
    return dst;
}

bool
netaddr_key_parse(const char *text, struct netaddr_key *k)
{
    struct sockaddr_in  in;
    struct sockaddr_in6 in6;

    memset(&in, 0, sizeof(in));
    memset(&in6, 0, sizeof(in6));
    if (inet_pton(AF_INET, text, &in.sin_addr) == 1) {
        in.sin_family = AF_INET;
        return netaddr_key((const struct sockaddr *)&in, k);
    }
    if (inet_pton(AF_INET6, text, &in6.sin6_addr) == 1) {
        in6.sin6_family = AF_INET6;
        return netaddr_key((const struct sockaddr *)&in6, k);
    }
    memset(k, 0, sizeof(*k));
    return false;
}

bool
netaddr_peer_text(const struct sockaddr *sa, char *dst, size_t n)
{
    const void *a = NULL;
    int         fam = AF_INET;

    if (sa != NULL && sa->sa_family == AF_INET) {
        a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    } else if (sa != NULL && sa->sa_family == AF_INET6) {
        const unsigned char *b =
            ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;

        if (memcmp(b, v4mapped, sizeof(v4mapped)) == 0) {
            a = b + 12;                 /* an IPv4 client of [::] */
        } else {
            a = b;
            fam = AF_INET6;
        }
    }
    if (a == NULL || inet_ntop(fam, a, dst, (socklen_t)n) == NULL) {
        snprintf(dst, n, "unknown");
        return false;
    }
    return true;
}
