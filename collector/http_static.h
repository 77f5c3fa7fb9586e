/*
 * http_static.h - the dashboard's files (web_root) over HTTP: GET and HEAD
 * of regular files below one directory, nothing else.
 *
 * The pure parts (path normalisation, conditional request headers, dates)
 * are exported for the unit tests and the fuzz target.
 */
#ifndef RUAD_HTTP_STATIC_H
#define RUAD_HTTP_STATIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "metrics.h"
#include "result.h"

/*
 * http_static_normalize - the request path (percent-decoded, query cut,
 * starting with '/') as a path relative to web_root: "/" and "/a/" name
 * "index.html" and "a/index.html".  Refused (RUAD_MALFORMED): no leading
 * '/', an empty segment inside ("a//b"), a segment that is "." or ".." or
 * starts with '.', a byte outside [A-Za-z0-9._~+-] (so no '\\', '%', NUL
 * or control byte).  RUAD_LIMIT: more than HTTP_STATIC_PATH_MAX bytes,
 * HTTP_STATIC_DEPTH_MAX segments or HTTP_STATIC_NAME_MAX bytes in one.
 * out gets the relative path on RUAD_OK (outlen >= HTTP_STATIC_PATH_MAX
 * + 16 always suffices).
 */
enum ruad_rc http_static_normalize(const char *path, size_t len, char *out,
    size_t outlen);

/*
 * http_static_open - open rel (from http_static_normalize) below root,
 * following no symbolic link at any step and never blocking (a FIFO is
 * refused, not opened for reading).  Returns the descriptor of a regular
 * file with its size and modification time, or -1 with errno (ENOENT,
 * ELOOP for a link, EISDIR or EACCES for anything not a regular file).
 */
int http_static_open(const char *root, const char *rel, uint64_t *size,
    struct timespec *mtime);

/* http_static_type - Content-Type by file name extension */
const char *http_static_type(const char *rel);

/* http_static_etag - a strong validator from size and mtime ("...") */
void http_static_etag(uint64_t size, const struct timespec *mtime, char *out,
    size_t outlen);

/* http_static_date - an IMF-fixdate (RFC 9110 5.6.7) into out[30] */
void http_static_date(time_t t, char out[30]);

/*
 * http_static_parse_date - an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37
 * GMT") as seconds since the epoch; false if s is anything else.
 */
bool http_static_parse_date(const char *s, size_t len, time_t *out);

/*
 * http_static_not_modified - RFC 9110 13.1.2, 13.1.3: true when a GET may
 * answer 304.  If-None-Match (a list of entity tags, or "*", compared
 * weakly) decides when present; otherwise If-Modified-Since.  Either may
 * be NULL.
 */
bool http_static_not_modified(const char *if_none_match,
    const char *if_modified_since, const char *etag, time_t mtime);

/* http_static_root - web_root into buf, or when it is empty the default:
 * web/ beside the ruad binary when that is a directory (the build tree),
 * else RUAD_WEB_DIR (the installed files).  Returns buf. */
const char *http_static_root(const struct config *cfg, char *buf,
    size_t buflen);

struct MHD_Connection;

/*
 * http_static_serve - answer a GET or HEAD of path (below the route
 * prefix) from root: 200 with the file, 304, or a problem document (404,
 * 414, 500); every answer carries the security headers.  Returns
 * libmicrohttpd's MHD_YES or MHD_NO.
 */
int http_static_serve(const char *root, struct MHD_Connection *c,
    const char *path);

struct MHD_Response;

/*
 * http_static_common_headers - what every answer of ruad carries, files,
 * API, problems and /metrics alike: X-Content-Type-Options: nosniff, and
 * on a TLS connection Strict-Transport-Security (RFC 6797 7.2: never
 * over plain HTTP).
 */
void http_static_common_headers(struct MHD_Response *r,
    struct MHD_Connection *c);

/*
 * http_static_send - queue an answer with the body (p, n): its type, no
 * caching, the common headers, hdr: hval when hdr is set, Connection:
 * close when closing; counted under path in the metrics and written to
 * the access log.  owned: p was malloc'd and is taken (freed also when no
 * answer can be made), else it is copied.  MHD_YES or MHD_NO.
 */
int http_static_send(struct MHD_Connection *c, enum metrics_path path,
    unsigned status, const char *ctype, const char *p, size_t n, bool owned,
    const char *hdr, const char *hval, bool closing);

/* http_static_refuse - a method other than GET or HEAD: 405 with Allow
 * for a file that is there, else 404 */
int http_static_refuse(const char *root, struct MHD_Connection *c,
    const char *path);

#endif /* RUAD_HTTP_STATIC_H */
