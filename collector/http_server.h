/*
 * http_server.h - the HTTP(S) listener of `ruad serve` (libmicrohttpd):
 * POST /tlsrpt (RFC 8460 3), /healthz, /readyz, /metrics.
 */
#ifndef RUAD_HTTP_SERVER_H
#define RUAD_HTTP_SERVER_H

#include <stddef.h>

#include "config.h"
#include "result.h"
#include "receipt.h"
#include "store_pg.h"

struct http_server;

/*
 * http_server_start - listen on cfg->http_listen, HTTPS when tls_cert and
 * tls_key are set.  pool serves /readyz, /metrics and the API; reports
 * are stored through receipt, which must outlive the server; on_receive
 * (may be NULL) wakes the workers when the API queues rows.  NULL with
 * the reason in err.
 */
struct http_server *http_server_start(const struct config *cfg,
    struct store_pool *pool, struct receipt *receipt, void (*on_receive)(void),
    char *err, size_t errlen);

/* http_server_reload_tls - read tls_cert and tls_key again (SIGHUP); new
 * handshakes use them, open connections keep theirs */
enum ruad_rc http_server_reload_tls(struct http_server *h, char *err,
    size_t errlen);

/*
 * http_server_stop - stop accepting, let requests in flight finish (up
 * to drain_s seconds; a report being stored always gets its answer), then
 * close everything (idle keep-alive connections too) and free h.
 */
void http_server_stop(struct http_server *h, unsigned drain_s);

#endif /* RUAD_HTTP_SERVER_H */
