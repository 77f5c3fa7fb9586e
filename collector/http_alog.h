/*
 * http_alog.h - the HTTP access log: one line per request, and one per
 * failed API authentication.
 *
 *   http request method=GET path="/healthz" status=200 bytes=3 ms=1
 *     peer=192.0.2.1
 *   http auth failed path="/api/v1/domains" reason="unknown token"
 *     peer=192.0.2.1
 *
 * The path never has its query (where a client might put a secret) and
 * is escaped like every peer string.  Each connection carries its record
 * at the start of its libmicrohttpd socket context (http_server.c's
 * struct http_conn begins with a struct http_alog, zeroed when made);
 * the handlers note the request, its answer and its end.
 */
#ifndef RUAD_HTTP_ALOG_H
#define RUAD_HTTP_ALOG_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <microhttpd.h>

#define ALOG_PATH_MAX 200         /* bytes of the path logged */

/* A connection's record: the first member of its socket context. */
struct http_alog {
    struct timespec t0;
    char            method[12];
    char            path[ALOG_PATH_MAX + 1];
    unsigned        status;        /* 0: none queued */
    uint64_t        bytes;
    bool            open;          /* between begin and end */
};

/* http_alog_begin - a request starts (the first access call) */
void http_alog_begin(struct MHD_Connection *c, const char *method,
    const char *url);

/* http_alog_response - its answer was queued: status and body bytes */
void http_alog_response(struct MHD_Connection *c, unsigned status,
    uint64_t bytes);

/* http_alog_end - MHD_OPTION_NOTIFY_COMPLETED: write the line */
void http_alog_end(struct MHD_Connection *c,
    enum MHD_RequestTerminationCode toe);

/* http_alog_auth_failed - a request to the API without a valid token */
void http_alog_auth_failed(struct MHD_Connection *c, const char *reason);

#endif /* RUAD_HTTP_ALOG_H */
