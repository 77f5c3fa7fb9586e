/*
 * http_alog.c - the HTTP access log (see http_alog.h).
 */
#include "http_alog.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "netaddr.h"

static struct http_alog *alog_of(struct MHD_Connection *c);
static void alog_peer(struct MHD_Connection *c, char *out, size_t len);
static void alog_clean(char *out, size_t len, const char *s);

static struct http_alog *
alog_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci;

    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

/* alog_peer - the client's address (netaddr_peer_text), "-" if none */
static void
alog_peer(struct MHD_Connection *c, char *out, size_t len)
{
    const union MHD_ConnectionInfo *ci;

    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!netaddr_peer_text(ci != NULL ? ci->client_addr : NULL, out, len))
        snprintf(out, len, "-");
}

/* alog_clean - s for a quoted log value: no query, controls, quotes or
 * backslashes (each becomes '?'), at most len - 1 bytes */
static void
alog_clean(char *out, size_t len, const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0' && s[i] != '?' && i + 1 < len; i++)
        out[i] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ||
            s[i] == '"' || s[i] == '\\' ? '?' : s[i];
    out[i] = '\0';
}

void
http_alog_begin(struct MHD_Connection *c, const char *method,
    const char *url)
{
    struct http_alog *l = alog_of(c);

    if (l == NULL)
        return;
    clock_gettime(CLOCK_MONOTONIC, &l->t0);
    alog_clean(l->method, sizeof(l->method), method);
    alog_clean(l->path, sizeof(l->path), url);
    l->status = 0;
    l->bytes = 0;
    l->open = true;
}

void
http_alog_response(struct MHD_Connection *c, unsigned status,
    uint64_t bytes)
{
    struct http_alog *l = alog_of(c);

    if (l == NULL)
        return;
    l->status = status;
    l->bytes = bytes;
}

void
http_alog_end(struct MHD_Connection *c, enum MHD_RequestTerminationCode toe)
{
    struct http_alog *l = alog_of(c);
    struct timespec   t1;
    char              peer[INET6_ADDRSTRLEN];
    long long         ms;

    if (l == NULL || !l->open)
        return;
    l->open = false;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (long long)(t1.tv_sec - l->t0.tv_sec) * 1000 +
        (t1.tv_nsec - l->t0.tv_nsec) / 1000000;
    alog_peer(c, peer, sizeof(peer));
    log_info("http request method=%s path=\"%s\" status=%u bytes=%llu "
        "ms=%lld peer=%s%s", l->method, l->path, l->status,
        (unsigned long long)l->bytes, ms, peer,
        toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" :
        toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT ? " end=client_abort" :
        toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? " end=timeout" :
        " end=error");
}

void
http_alog_auth_failed(struct MHD_Connection *c, const char *reason)
{
    struct http_alog *l = alog_of(c);
    char              peer[INET6_ADDRSTRLEN];

    alog_peer(c, peer, sizeof(peer));
    log_warn("http auth failed path=\"%s\" reason=\"%s\" peer=%s",
        l != NULL ? l->path : "", reason, peer);
}
