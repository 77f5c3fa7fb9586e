/*
 * http_api.h - the REST query API (/api/v1), reached from http_server.c.
 *
 * A request below /api/ is passed to http_api_access() on each of its
 * libmicrohttpd access calls; its *con_cls is then one http_api_owns().
 */
#ifndef RUAD_HTTP_API_H
#define RUAD_HTTP_API_H

#include <stdbool.h>
#include <stddef.h>

#include "api_token.h"
#include "config.h"
#include "store_pg.h"

struct http_api;
struct MHD_Connection;

/* http_api_new - tokens from cfg->api_tokens_file; on_receive (may be
 * NULL) wakes the workers after a reprocess */
struct http_api *http_api_new(const struct config *cfg,
    struct store_pool *pool, void (*on_receive)(void));
void http_api_free(struct http_api *a);

/* http_api_access - libmicrohttpd's access call for a path below /api/
 * (after the configured prefix); returns an enum MHD_Result */
int http_api_access(struct http_api *a, struct MHD_Connection *c,
    const char *path, const char *method, size_t *upload_size,
    void **con_cls);

/* http_api_owns - is this request state an API request's? */
bool http_api_owns(const void *con_cls);

/* http_api_draining - from now on every answer closes its connection */
void http_api_draining(void);

/* http_api_scope - the scope of the request's bearer token; *given: an
 * Authorization header was sent */
enum api_scope http_api_scope(struct http_api *a, struct MHD_Connection *c,
    bool *given);

/* http_api_deny - answer 401 (missing or unknown token) */
int http_api_deny(struct MHD_Connection *c, bool given);

#endif /* RUAD_HTTP_API_H */
