/*
 * http_api.c - the REST query API under /api/v1 (docs/openapi.json).
 *
 * http_server.c hands every request below /api/ here.  A request is
 * authenticated (RFC 6750 bearer token; 401 without or with an unknown
 * one, 403 when its scope is too small), routed (404, 405 with Allow),
 * its query parameters checked (400 with a problem document naming the
 * parameter), then answered with the JSON the store builds.  Errors are
 * application/problem+json (RFC 9457).  The OpenAPI document is compiled
 * into the binary (cmake/embed_file.cmake).
 *
 * SECURITY: the path, the query string and the Authorization header come
 * from the network.  They are bounded and checked by api_params.c and
 * api_token.c before any use; the database gets parameters only.  No API
 * request has a body: one that sends a body has its connection closed.
 */
#include "http_api.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "api_params.h"
#include "api_token.h"
#include "http_alog.h"
#include "http_problem.h"
#include "http_static.h"
#include "log.h"
#include "metrics.h"
#include "store_api.h"

#define API_POOL_WAIT_MS  5000
#define API_RETRY_AFTER   "30"

extern const char   api_openapi_json[];     /* openapi_json.c (generated) */
extern const size_t api_openapi_json_len;

struct http_api {
    const struct config *cfg;
    struct store_pool   *pool;
    struct api_tokens   *tokens;
    void               (*on_receive)(void);
};

/* Marks an API request between its two access calls (no state needed). */
static char api_marker;
static atomic_bool api_closing;

struct http_api *
http_api_new(const struct config *cfg, struct store_pool *pool,
    void (*on_receive)(void))
{
    struct http_api *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return NULL;
    a->cfg = cfg;
    a->pool = pool;
    a->on_receive = on_receive;
    if ((a->tokens = api_tokens_new(cfg->api_tokens_file)) == NULL) {
        free(a);
        return NULL;
    }
    return a;
}

void
http_api_free(struct http_api *a)
{
    if (a == NULL)
        return;
    api_tokens_free(a->tokens);
    free(a);
}

void
http_api_draining(void)
{
    atomic_store(&api_closing, true);
}

bool
http_api_owns(const void *con_cls)
{
    return con_cls == &api_marker;
}

/* ---- responses ---- */

static int
api_send(struct MHD_Connection *c, unsigned status, const char *ctype,
    const char *p, size_t n, enum MHD_ResponseMemoryMode mode,
    const char *hdr, const char *hval)
{
    return http_static_send(c, MP_API, status, ctype, p, n,
        mode == MHD_RESPMEM_MUST_FREE, hdr, hval, atomic_load(&api_closing));
}

/* api_problem - RFC 9457 document (http_problem.c); param names the
 * refused parameter */
static int
api_problem(struct MHD_Connection *c, unsigned status, const char *title,
    const char *detail, const char *param, const char *hdr,
    const char *hval)
{
    char   *s;
    size_t  n;

    if ((s = http_problem_json(status, title, detail, param, false, &n)) ==
        NULL)
        return MHD_NO;
    return api_send(c, status, "application/problem+json", s, n,
        MHD_RESPMEM_MUST_FREE, hdr, hval);
}

/* ---- authentication ---- */

/* bearer - the token of "Authorization: Bearer T", NULL if none */
static const char *
bearer(struct MHD_Connection *c, size_t *len)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
        MHD_HTTP_HEADER_AUTHORIZATION);
    size_t      n;

    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    n = strlen(h);
    while (n > 0 && h[n - 1] == ' ')
        n--;
    if (n == 0 || n > API_TOKEN_TEXT_MAX)
        return NULL;
    *len = n;
    return h;
}

enum api_scope
http_api_scope(struct http_api *a, struct MHD_Connection *c, bool *given)
{
    const char *t;
    size_t      n = 0;

    t = bearer(c, &n);
    *given = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
        MHD_HTTP_HEADER_AUTHORIZATION) != NULL;
    if (t == NULL)
        return API_SCOPE_NONE;
    return api_tokens_scope(a->tokens, t, n);
}

int
http_api_deny(struct MHD_Connection *c, bool given)
{
    http_alog_auth_failed(c, given ? "unknown token" : "no token");
    if (given)
        return api_problem(c, 401, "Unauthorized", "unknown token", NULL,
            MHD_HTTP_HEADER_WWW_AUTHENTICATE,
            "Bearer realm=\"ruad\", error=\"invalid_token\"");
    return api_problem(c, 401, "Unauthorized", "a bearer token is needed "
        "(ruad token new)", NULL, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
        "Bearer realm=\"ruad\"");
}

/* ---- query parameters ---- */

struct api_args {
    struct api_query *q;
    char              err[300];
    char              key[64];
    bool              bad;
};

static enum MHD_Result
api_arg(void *cls, enum MHD_ValueKind kind, const char *key, size_t klen,
    const char *value, size_t vlen)
{
    struct api_args *g = cls;

    (void)kind;
    if (g->bad)
        return MHD_NO;
    /* a key with a NUL or too long cannot be one of ours */
    if (klen >= sizeof(g->key) || memchr(key, '\0', klen) != NULL) {
        snprintf(g->err, sizeof(g->err), "unknown parameter");
        snprintf(g->key, sizeof(g->key), "%.*s", (int)(klen < 40 ? klen :
            40), key);
        g->bad = true;
        return MHD_NO;
    }
    if (api_query_set(g->q, key, value ? value : "", value ? vlen : 0,
        g->err, sizeof(g->err)) != RUAD_OK) {
        snprintf(g->key, sizeof(g->key), "%s", key);
        g->bad = true;
        return MHD_NO;
    }
    return MHD_YES;
}

/* ---- handlers ---- */

static int
api_unavailable(struct MHD_Connection *c, const char *why)
{
    char esc[200];

    log_warn("api unavailable reason=\"%s\"", log_escape(esc, sizeof(esc),
        why, strlen(why)));
    return api_problem(c, 503, "Service Unavailable", "database "
        "unreachable; retry later", NULL, "Retry-After", API_RETRY_AFTER);
}

static int
api_get(struct http_api *a, struct MHD_Connection *c,
    const struct api_query *q)
{
    struct store *st;
    char          err[256], *body = NULL;
    size_t        len = 0;
    bool          found = false;
    enum ruad_rc  rc;

    if (q->ep == API_EP_OPENAPI)
        return api_send(c, 200, "application/json", api_openapi_json,
            api_openapi_json_len, MHD_RESPMEM_PERSISTENT, NULL, NULL);
    if ((st = store_pool_get(a->pool, API_POOL_WAIT_MS, err, sizeof(err))) ==
        NULL)
        return api_unavailable(c, err);
    if (q->ep == API_EP_INBOUND_RAW)
        rc = store_api_raw(st, q->id, &body, &len, &found);
    else
        rc = store_api_get(st, q, &body, &len, &found);
    if (rc != RUAD_OK)
        snprintf(err, sizeof(err), "%s", store_error(st));
    store_pool_put(a->pool, st);
    if (rc == RUAD_TEMPFAIL)
        return api_unavailable(c, err);
    if (rc != RUAD_OK) {
        char esc[300];

        log_warn("api %s failed rc=%s reason=\"%s\"", api_ep_name(q->ep),
            ruad_rc_str(rc), log_escape(esc, sizeof(esc), err,
            strlen(err)));
        return api_problem(c, 500, "Internal Server Error",
            "the query failed", NULL, NULL, NULL);
    }
    if (!found || body == NULL) {
        free(body);
        return api_problem(c, 404, "Not Found", "no such item", NULL, NULL,
            NULL);
    }
    if (q->ep == API_EP_INBOUND_RAW) {
        /* peer bytes: saved, never shown inline by a browser */
        char disp[64];

        snprintf(disp, sizeof(disp), "attachment; filename=\"inbound-%lld"
            ".raw\"", (long long)q->id);
        return api_send(c, 200, "application/octet-stream", body, len,
            MHD_RESPMEM_MUST_FREE, "Content-Disposition", disp);
    }
    return api_send(c, 200, "application/json", body, len,
        MHD_RESPMEM_MUST_FREE, NULL, NULL);
}

static int
api_reprocess(struct http_api *a, struct MHD_Connection *c, int64_t id)
{
    struct store       *st;
    char                err[256], body[96];
    enum inbound_state  state = INBOUND_PENDING;
    bool                found = false, again;
    enum ruad_rc        rc;
    int                 n;

    if ((st = store_pool_get(a->pool, API_POOL_WAIT_MS, err, sizeof(err))) ==
        NULL)
        return api_unavailable(c, err);
    rc = store_api_inbound_state(st, id, &state, &found);
    /* not a stored report, and no worker at it */
    again = state != INBOUND_PARSED && state != INBOUND_DUPLICATE &&
        state != INBOUND_PROCESSING;
    if (rc == RUAD_OK && found && again)
        rc = store_requeue(st, id);
    if (rc != RUAD_OK)
        snprintf(err, sizeof(err), "%s", store_error(st));
    store_pool_put(a->pool, st);
    if (rc != RUAD_OK)
        return api_unavailable(c, err);
    if (!found)
        return api_problem(c, 404, "Not Found", "no such item", NULL, NULL,
            NULL);
    if (!again) {
        snprintf(err, sizeof(err), "the item is %s; only items not stored "
            "as reports are processed again", inbound_state_name(state));
        return api_problem(c, 409, "Conflict", err, NULL, NULL, NULL);
    }
    log_info("api reprocess inbound=%lld was=%s", (long long)id,
        inbound_state_name(state));
    if (a->on_receive != NULL)
        a->on_receive();
    n = snprintf(body, sizeof(body), "{\"id\":%lld,\"state\":\"%s\"}",
        (long long)id, inbound_state_name(INBOUND_PENDING));
    return api_send(c, 202, "application/json", body, (size_t)n,
        MHD_RESPMEM_MUST_COPY, NULL, NULL);
}

/* api_answer - the request is complete: authenticate, check, answer */
static int
api_answer(struct http_api *a, struct MHD_Connection *c, const char *path,
    const char *method)
{
    struct api_query q;
    struct api_args  g;
    enum api_ep      ep;
    enum api_scope   scope;
    const char      *allow;
    int64_t          id;
    bool             method_ok, given;

    ep = api_route(path, strlen(path), method, &id, &method_ok, &allow);
    scope = http_api_scope(a, c, &given);
    if (scope == API_SCOPE_NONE)
        return http_api_deny(c, given);
    if (ep == API_EP_NONE)
        return api_problem(c, 404, "Not Found", "no such path", NULL, NULL,
            NULL);
    if (!method_ok)
        return api_problem(c, 405, "Method Not Allowed", "see Allow", NULL,
            "Allow", allow);
    if (ep == API_EP_INBOUND_REPROCESS && scope < API_SCOPE_WRITE)
        return api_problem(c, 403, "Forbidden", "this needs a token with "
            "write scope", NULL, NULL, NULL);
    if (MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, NULL, NULL) >
        API_PARAMS_MAX)
        return api_problem(c, 400, "Bad Request", "more than 16 query "
            "parameters", NULL, NULL, NULL);
    api_query_init(&q, ep, id);
    memset(&g, 0, sizeof(g));
    g.q = &q;
    MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, api_arg, &g);
    if (g.bad) {
        char esc[300], kesc[80];

        log_info("api refused ep=%s status=400 param=%s reason=\"%s\"",
            api_ep_name(ep), log_escape(kesc, sizeof(kesc), g.key,
            strlen(g.key)), log_escape(esc, sizeof(esc), g.err,
            strlen(g.err)));
        return api_problem(c, 400, "Bad Request", g.err, g.key[0] ? g.key :
            NULL, NULL, NULL);
    }
    if (ep == API_EP_INBOUND_REPROCESS)
        return api_reprocess(a, c, id);
    return api_get(a, c, &q);
}

int
http_api_access(struct http_api *a, struct MHD_Connection *c,
    const char *path, const char *method, size_t *upload_size,
    void **con_cls)
{
    if (*con_cls != &api_marker) {
        /* answered on the next call (libmicrohttpd closes a connection
         * whose response came before the request was complete) */
        *con_cls = &api_marker;
        return MHD_YES;
    }
    if (*upload_size > 0)
        return MHD_NO;                     /* no API request has a body */
    *con_cls = NULL;
    if (path == NULL || strncmp(path, "/api/v1/", 8) != 0)
        return api_problem(c, 404, "Not Found", "no such path (the API is "
            "under /api/v1/)", NULL, NULL, NULL);
    return api_answer(a, c, path + 7, method);
}
