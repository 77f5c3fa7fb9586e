/*
 * http_static.c - the dashboard's files: GET and HEAD below web_root.
 *
 * Whatever the router does not claim (/tlsrpt, /healthz, /readyz,
 * /metrics, /api/...) is looked up here.  "/" is index.html.  Only
 * regular files are served: no directory listing, no symbolic link
 * followed below web_root, no dot file.  Answers carry a strong ETag and
 * Last-Modified (RFC 9110 8.8), so the browser revalidates with
 * If-None-Match and gets 304 (Cache-Control: no-cache: the names carry no
 * version, every use checks), and the security headers: a
 * Content-Security-Policy that allows this origin only and no framing,
 * nosniff, no referrer.  Errors are problem+json (RFC 9457) with the same
 * headers.
 *
 * SECURITY: the path is the peer's.  libmicrohttpd has already cut the
 * query and percent-decoded it once; http_static_normalize() takes a
 * small alphabet only (no '%', so nothing is decoded twice; no '\\', no
 * control byte), refuses "." and ".." and every dot file, and caps the
 * length, the depth and each name (limits.h).  http_static_open() then
 * walks the segments with openat(O_NOFOLLOW), so a link planted below
 * web_root cannot lead out of it, and opens with O_NONBLOCK so a FIFO
 * cannot hang a request thread.  Conditional headers are parsed with
 * their lengths bounded; a header that does not parse is ignored (the
 * full answer is sent).
 */
#include "http_static.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "http_alog.h"
#include "http_problem.h"
#include "limits.h"
#include "log.h"
#include "metrics.h"

#ifndef RUAD_WEB_DIR
#define RUAD_WEB_DIR "/usr/local/share/ruad/web"
#endif

/* RFC 6797 6.1.1: a year; no includeSubDomains, which would bind every
 * other host of the domain ruad's name is in to HTTPS as well */
#define HTTP_HSTS_VALUE "max-age=31536000"

/* Sent with every answer from here, files and problems alike. */
static const char *const static_headers[][2] = {
    { "Content-Security-Policy", "default-src 'self'; base-uri 'none'; "
      "object-src 'none'; form-action 'self'; frame-ancestors 'none'" },
    { "Referrer-Policy", "no-referrer" },
    { "X-Frame-Options", "DENY" },
    { "Cross-Origin-Opener-Policy", "same-origin" },
    { "Cross-Origin-Resource-Policy", "same-origin" },
};

static const struct {
    const char *ext;
    const char *type;
} static_types[] = {
    { "html", "text/html; charset=utf-8" },
    { "js", "text/javascript; charset=utf-8" },
    { "mjs", "text/javascript; charset=utf-8" },
    { "css", "text/css; charset=utf-8" },
    { "json", "application/json" },
    { "map", "application/json" },
    { "svg", "image/svg+xml" },
    { "png", "image/png" },
    { "ico", "image/x-icon" },
    { "woff2", "font/woff2" },
    { "txt", "text/plain; charset=utf-8" },
    { "md", "text/plain; charset=utf-8" },
    { "webmanifest", "application/manifest+json" },
};

static const char day_names[7][4] = {
    "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};
static const char month_names[12][4] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
    "Nov", "Dec"
};

/* ---- pure parts ---- */

/* name_byte - a byte allowed in a file name we serve */
static bool
name_byte(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
        (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-' ||
        ch == '~' || ch == '+';
}

enum ruad_rc
http_static_normalize(const char *path, size_t len, char *out, size_t outlen)
{
    static const char index_name[] = "index.html";
    size_t            i, seg = 0, depth = 0, o = 0;

    if (len > HTTP_STATIC_PATH_MAX)
        return RUAD_LIMIT;
    if (len == 0 || path[0] != '/' || outlen < len + sizeof(index_name))
        return RUAD_MALFORMED;
    for (i = 1; i <= len; i++) {
        if (i < len && path[i] != '/') {
            if (!name_byte((unsigned char)path[i]))
                return RUAD_MALFORMED;
            if (i - seg == 1 && path[i] == '.')   /* ".", "..", ".git" */
                return RUAD_MALFORMED;
            if (i - seg > HTTP_STATIC_NAME_MAX)
                return RUAD_LIMIT;
            out[o++] = path[i];
            continue;
        }
        /* the end of a segment: path[seg] is its '/' */
        if (i - seg == 1) {
            if (i < len)                           /* "a//b" */
                return RUAD_MALFORMED;
            /* "/" or "/dir/": the directory's index */
            if (++depth > HTTP_STATIC_DEPTH_MAX)
                return RUAD_LIMIT;
            memcpy(out + o, index_name, sizeof(index_name));
            return RUAD_OK;
        }
        if (++depth > HTTP_STATIC_DEPTH_MAX)
            return RUAD_LIMIT;
        if (i < len)
            out[o++] = '/';
        seg = i;
    }
    out[o] = '\0';
    return RUAD_OK;
}

int
http_static_open(const char *root, const char *rel, uint64_t *size,
    struct timespec *mtime)
{
    char        name[HTTP_STATIC_NAME_MAX + 1];
    const char *p = rel, *slash;
    struct stat st;
    int         dir, fd, err;

    if ((dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return -1;
    for (;;) {
        size_t n;

        slash = strchr(p, '/');
        n = slash != NULL ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || n >= sizeof(name)) {
            close(dir);
            errno = ENOENT;
            return -1;
        }
        memcpy(name, p, n);
        name[n] = '\0';
        fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
            O_NOCTTY | O_CLOEXEC | (slash != NULL ? O_DIRECTORY : 0));
        err = errno;
        close(dir);
        if (fd < 0) {
            errno = err == ENOTDIR ? ENOENT : err;
            return -1;
        }
        if (slash == NULL)
            break;
        dir = fd;
        p = slash + 1;
    }
    if (fstat(fd, &st) != 0)
        err = errno;
    else if (!S_ISREG(st.st_mode))
        err = S_ISDIR(st.st_mode) ? EISDIR : EACCES;
    else
        err = 0;
    if (err != 0) {
        close(fd);
        errno = err;
        return -1;
    }
    /* a regular file never blocks; clear the flag for the reads to come */
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    *size = (uint64_t)st.st_size;
    *mtime = st.st_mtim;
    return fd;
}

const char *
http_static_type(const char *rel)
{
    const char *dot = strrchr(rel, '.');
    size_t      i;

    if (dot != NULL && strchr(dot, '/') == NULL)
        for (i = 0; i < sizeof(static_types) / sizeof(static_types[0]); i++)
            if (strcmp(dot + 1, static_types[i].ext) == 0)
                return static_types[i].type;
    return "application/octet-stream";
}

void
http_static_etag(uint64_t size, const struct timespec *mtime, char *out,
    size_t outlen)
{
    snprintf(out, outlen, "\"%llx-%llx-%lx\"", (unsigned long long)size,
        (unsigned long long)mtime->tv_sec, (unsigned long)mtime->tv_nsec);
}

void
http_static_date(time_t t, char out[30])
{
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
        tm.tm_year + 1900 < 0) {
        memcpy(out, "Thu, 01 Jan 1970 00:00:00 GMT", 30);
        return;
    }
    snprintf(out, 30, "%s, %02d %s %04d %02d:%02d:%02d GMT",
        day_names[tm.tm_wday], tm.tm_mday, month_names[tm.tm_mon],
        tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* digits - n decimal digits at s as a number, -1 if not all digits */
static int
digits(const char *s, size_t n)
{
    int    v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

bool
http_static_parse_date(const char *s, size_t len, time_t *out)
{
    /* "Sun, 06 Nov 1994 08:49:37 GMT": fixed places, 29 bytes */
    static const int cum[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243,
        273, 304, 334 };
    static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
        30, 31 };
    int       day, mon, year, hh, mm, ss, i;
    long long days;
    bool      leap;

    if (len != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' ||
        s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
        s[25] != ' ' || memcmp(s + 26, "GMT", 3) != 0)
        return false;
    for (i = 0; i < 7 && memcmp(s, day_names[i], 3) != 0; i++)
        ;
    if (i == 7)
        return false;
    for (mon = 0; mon < 12 && memcmp(s + 8, month_names[mon], 3) != 0; mon++)
        ;
    day = digits(s + 5, 2);
    year = digits(s + 12, 4);
    hh = digits(s + 17, 2);
    mm = digits(s + 20, 2);
    ss = digits(s + 23, 2);
    if (mon == 12 || year < 1970 || hh < 0 || hh > 23 || mm < 0 || mm > 59 ||
        ss < 0 || ss > 59)
        return false;
    leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    if (day < 1 || day > mdays[mon] || (mon == 1 && day == 29 && !leap))
        return false;
    /* days since 1970-01-01 (proleptic Gregorian) */
    days = (long long)(year - 1970) * 365 + (year - 1969) / 4 -
        (year - 1901) / 100 + (year - 1601) / 400 + cum[mon] + day - 1;
    if (mon >= 2 && leap)
        days++;
    *out = (time_t)(days * 86400 + hh * 3600 + mm * 60 + ss);
    return true;
}

/* etag_in_list - RFC 9110 13.1.2: a list of (weak or strong) entity tags
 * or "*"; the weak comparison of each with ours */
static bool
etag_in_list(const char *list, const char *etag)
{
    const char *p = list;
    size_t      elen = strlen(etag), n = 0;

    while (*p != '\0' && n++ < HTTP_STATIC_ETAGS_MAX) {
        const char *q;

        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        if (*p != '"')
            return false;               /* not a list: ignore it */
        if ((q = strchr(p + 1, '"')) == NULL)
            return false;
        if ((size_t)(q + 1 - p) == elen && memcmp(p, etag, elen) == 0)
            return true;
        p = q + 1;
    }
    return false;
}

bool
http_static_not_modified(const char *if_none_match,
    const char *if_modified_since, const char *etag, time_t mtime)
{
    time_t since;

    if (if_none_match != NULL)
        return etag_in_list(if_none_match, etag);
    if (if_modified_since != NULL &&
        http_static_parse_date(if_modified_since, strlen(if_modified_since),
        &since))
        return mtime <= since;
    return false;
}

const char *
http_static_root(const struct config *cfg, char *buf, size_t buflen)
{
    char        exe[4096];
    ssize_t     n;
    char       *slash;
    struct stat st;

    if (cfg->web_root[0] != '\0') {
        snprintf(buf, buflen, "%s", cfg->web_root);
        return buf;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        if ((slash = strrchr(exe, '/')) != NULL) {
            *slash = '\0';
            if ((size_t)snprintf(buf, buflen, "%s/web", exe) < buflen &&
                stat(buf, &st) == 0 && S_ISDIR(st.st_mode))
                return buf;
        }
    }
    snprintf(buf, buflen, "%s", RUAD_WEB_DIR);
    return buf;
}

/* ---- answers ---- */

void
http_static_common_headers(struct MHD_Response *r, struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci;

    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ci != NULL && ci->tls_session != NULL)
        MHD_add_response_header(r, "Strict-Transport-Security",
            HTTP_HSTS_VALUE);
}

int
http_static_send(struct MHD_Connection *c, enum metrics_path path,
    unsigned status, const char *ctype, const char *p, size_t n, bool owned,
    const char *hdr, const char *hval, bool closing)
{
    struct MHD_Response *r;
    int                  ret;

    r = MHD_create_response_from_buffer(n, (void *)(uintptr_t)p, owned ?
        MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
    if (r == NULL) {
        if (owned)
            free((void *)(uintptr_t)p);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    http_static_common_headers(r, c);
    if (hdr != NULL)
        MHD_add_response_header(r, hdr, hval);
    if (closing)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    metrics_request(path, status);
    http_alog_response(c, status, n);
    return ret;
}

static void
add_headers(struct MHD_Response *r)
{
    size_t i;

    for (i = 0; i < sizeof(static_headers) / sizeof(static_headers[0]); i++)
        MHD_add_response_header(r, static_headers[i][0], static_headers[i][1]);
}

/* problem - an RFC 9457 document (http_problem.c) */
static int
problem(struct MHD_Connection *c, unsigned status, const char *title,
    const char *detail, const char *allow)
{
    struct MHD_Response *r;
    enum MHD_Result      ret;
    char                *body;
    size_t               n;

    if ((body = http_problem_json(status, title, detail, NULL, true, &n)) ==
        NULL)
        return MHD_NO;
    r = MHD_create_response_from_buffer(n, body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
        "application/problem+json");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    add_headers(r);
    http_static_common_headers(r, c);
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    metrics_request(MP_WEB, status);
    http_alog_response(c, status, n);
    return ret;
}

int
http_static_refuse(const char *root, struct MHD_Connection *c,
    const char *path)
{
    char            rel[HTTP_STATIC_PATH_MAX + 16];
    struct timespec mtime;
    uint64_t        size;
    int             fd = -1;

    /* 405 names a resource that is there; anything else is not found */
    if (http_static_normalize(path, strlen(path), rel, sizeof(rel)) ==
        RUAD_OK && (fd = http_static_open(root, rel, &size, &mtime)) >= 0)
        close(fd);
    if (fd < 0)
        return problem(c, 404, "Not Found", "no such file", NULL);
    return problem(c, 405, "Method Not Allowed",
        "the dashboard's files are read with GET or HEAD", "GET, HEAD");
}

int
http_static_serve(const char *root, struct MHD_Connection *c,
    const char *path)
{
    char                 rel[HTTP_STATIC_PATH_MAX + 16], esc[128];
    char                 etag[64], date[30];
    struct MHD_Response *r;
    struct timespec      mtime;
    uint64_t             size;
    enum ruad_rc         rc;
    enum MHD_Result      ret;
    unsigned             status = 200;
    int                  fd;

    rc = http_static_normalize(path, strlen(path), rel, sizeof(rel));
    if (rc == RUAD_LIMIT)
        return problem(c, 414, "URI Too Long",
            "the path is longer or deeper than the dashboard's files", NULL);
    if (rc != RUAD_OK ||
        (fd = http_static_open(root, rel, &size, &mtime)) < 0) {
        if (rc == RUAD_OK && errno != ENOENT && errno != ELOOP &&
            errno != EISDIR && errno != EACCES && errno != ENAMETOOLONG)
            log_warn("http web open failed root=%s file=%s errno=%d", root,
                log_escape(esc, sizeof(esc), rel, strlen(rel)), errno);
        return problem(c, 404, "Not Found", "no such file", NULL);
    }
    http_static_etag(size, &mtime, etag, sizeof(etag));
    if (http_static_not_modified(
        MHD_lookup_connection_value(c, MHD_HEADER_KIND,
        MHD_HTTP_HEADER_IF_NONE_MATCH),
        MHD_lookup_connection_value(c, MHD_HEADER_KIND,
        MHD_HTTP_HEADER_IF_MODIFIED_SINCE), etag, mtime.tv_sec)) {
        close(fd);
        r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        status = 304;
    } else {
        /* takes fd, also on failure */
        r = MHD_create_response_from_fd64(size, fd);
    }
    if (r == NULL)
        return MHD_NO;
    if (status == 200)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
            http_static_type(rel));
    MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
    http_static_date(mtime.tv_sec, date);
    MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, date);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    add_headers(r);
    http_static_common_headers(r, c);
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    metrics_request(MP_WEB, status);
    http_alog_response(c, status, status == 200 ? size : 0);
    return ret;
}
