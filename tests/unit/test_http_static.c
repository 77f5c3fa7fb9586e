/*
 * test_http_static.c - unit tests for http_static.c: path normalisation
 * (a table of accepted and refused paths, each limit at and one past it),
 * the no-symlink, regular-files-only open below a root made here,
 * content types, IMF-fixdate both ways (against timegm) and the
 * conditional-request rules of RFC 9110 13.1; and the problem+json
 * builder every HTTP error uses (http_problem.c), byte for byte.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http_problem.h"
#include "http_static.h"
#include "limits.h"

struct norm_case {
    const char  *path;
    enum ruad_rc want;
    const char  *out;
};

static const struct norm_case norm_cases[] = {
    { "/", RUAD_OK, "index.html" },
    { "/index.html", RUAD_OK, "index.html" },
    { "/js/app.js", RUAD_OK, "js/app.js" },
    { "/vendor/chart.umd.min.js", RUAD_OK, "vendor/chart.umd.min.js" },
    { "/js/", RUAD_OK, "js/index.html" },
    { "/a-b_c~d+e.9", RUAD_OK, "a-b_c~d+e.9" },
    { "", RUAD_MALFORMED, NULL },
    { "index.html", RUAD_MALFORMED, NULL },
    { "//", RUAD_MALFORMED, NULL },
    { "/js//app.js", RUAD_MALFORMED, NULL },
    { "/..", RUAD_MALFORMED, NULL },
    { "/../etc/passwd", RUAD_MALFORMED, NULL },
    { "/js/../../etc/passwd", RUAD_MALFORMED, NULL },
    { "/./index.html", RUAD_MALFORMED, NULL },
    { "/.git/config", RUAD_MALFORMED, NULL },
    { "/js/.hidden", RUAD_MALFORMED, NULL },
    { "/a\\b", RUAD_MALFORMED, NULL },
    { "/..\\..\\etc", RUAD_MALFORMED, NULL },
    { "/%2e%2e/etc", RUAD_MALFORMED, NULL },    /* never decoded twice */
    { "/a b", RUAD_MALFORMED, NULL },
    { "/a\tb", RUAD_MALFORMED, NULL },
    { "/a\rb", RUAD_MALFORMED, NULL },
    { "/a:b", RUAD_MALFORMED, NULL },
    { "/caf\xc3\xa9", RUAD_MALFORMED, NULL },
    { "/a?b", RUAD_MALFORMED, NULL },
    { "/a..b", RUAD_OK, "a..b" },               /* dots inside a name */
};

static void
test_normalize_table(void **state)
{
    char   out[HTTP_STATIC_PATH_MAX + 16];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++) {
        const struct norm_case *c = &norm_cases[i];
        enum ruad_rc rc = http_static_normalize(c->path, strlen(c->path),
            out, sizeof(out));

        if (rc != c->want)
            fail_msg("\"%s\": rc %d, want %d", c->path, rc, c->want);
        if (c->out != NULL && strcmp(out, c->out) != 0)
            fail_msg("\"%s\": \"%s\", want \"%s\"", c->path, out, c->out);
    }
}

/* an embedded NUL is a byte like any other refused one */
static void
test_normalize_nul(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(http_static_normalize("/a\0b", 4, out, sizeof(out)),
        RUAD_MALFORMED);
}

/* path_len - "/aaa.../aaa..." of len bytes, names of 199 bytes */
static char *
path_len(size_t len)
{
    char  *p = malloc(len + 1);
    size_t i;

    assert_non_null(p);
    for (i = 0; i < len; i++)
        p[i] = (i % 200 == 0) ? '/' : 'a';
    p[len] = '\0';
    if (p[len - 1] == '/')                      /* no trailing slash */
        p[len - 1] = 'a';
    return p;
}

static void
test_normalize_limits(void **state)
{
    char   out[HTTP_STATIC_PATH_MAX + 16], p[2 * HTTP_STATIC_DEPTH_MAX + 4];
    char   name[HTTP_STATIC_NAME_MAX + 3];
    char  *lp;
    size_t i;

    (void)state;
    /* the whole path: at the limit, and one byte past it */
    lp = path_len(HTTP_STATIC_PATH_MAX);
    assert_int_equal(http_static_normalize(lp, strlen(lp), out, sizeof(out)),
        RUAD_OK);
    free(lp);
    lp = path_len(HTTP_STATIC_PATH_MAX + 1);
    assert_int_equal(http_static_normalize(lp, strlen(lp), out, sizeof(out)),
        RUAD_LIMIT);
    free(lp);
    /* depth: "/a/a/.../a" with DEPTH_MAX segments, then one more */
    for (i = 0; i < HTTP_STATIC_DEPTH_MAX; i++)
        memcpy(p + 2 * i, "/a", 2);
    assert_int_equal(http_static_normalize(p, 2 * HTTP_STATIC_DEPTH_MAX, out,
        sizeof(out)), RUAD_OK);
    memcpy(p + 2 * HTTP_STATIC_DEPTH_MAX, "/a", 2);
    assert_int_equal(http_static_normalize(p, 2 * HTTP_STATIC_DEPTH_MAX + 2,
        out, sizeof(out)), RUAD_LIMIT);
    /* a directory's index.html is one deeper: "/a"*15 + "/" is at the
     * limit, "/a"*16 + "/" past it */
    memcpy(p + 2 * (HTTP_STATIC_DEPTH_MAX - 1), "/", 1);
    assert_int_equal(http_static_normalize(p, 2 * HTTP_STATIC_DEPTH_MAX - 1,
        out, sizeof(out)), RUAD_OK);
    assert_string_equal(out + strlen(out) - 12, "a/index.html");
    memcpy(p + 2 * (HTTP_STATIC_DEPTH_MAX - 1), "/a/", 3);
    assert_int_equal(http_static_normalize(p, 2 * HTTP_STATIC_DEPTH_MAX + 1,
        out, sizeof(out)), RUAD_LIMIT);
    /* one name: NAME_MAX bytes, then one more */
    name[0] = '/';
    memset(name + 1, 'n', HTTP_STATIC_NAME_MAX + 1);
    assert_int_equal(http_static_normalize(name, HTTP_STATIC_NAME_MAX + 1,
        out, sizeof(out)), RUAD_OK);
    assert_int_equal(http_static_normalize(name, HTTP_STATIC_NAME_MAX + 2,
        out, sizeof(out)), RUAD_LIMIT);
    /* an output buffer too small is refused, not overrun */
    assert_int_equal(http_static_normalize("/abc", 4, out, 8),
        RUAD_MALFORMED);
}

/* ---- opening below a root ---- */

static char root[400], outside[512];

static void
put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int
setup_tree(void **state)
{
    char p[600];

    (void)state;
    snprintf(root, sizeof(root), "%s/http_static.%d", tu_tmpdir(),
        (int)getpid());
    snprintf(outside, sizeof(outside), "%s.outside", root);
    mkdir(root, 0755);
    mkdir(outside, 0755);
    snprintf(p, sizeof(p), "%s/index.html", root);
    put(p, "<!doctype html>\n");
    snprintf(p, sizeof(p), "%s/js", root);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/js/app.js", root);
    put(p, "export {};\n");
    snprintf(p, sizeof(p), "%s/secret", outside);
    put(p, "secret\n");
    /* links that would lead out, and one that stays inside */
    snprintf(p, sizeof(p), "%s/leak", root);
    assert_int_equal(symlink("../http_static.outside-not-used", p), 0);
    snprintf(p, sizeof(p), "%s/secret", root);
    {
        char target[600];

        snprintf(target, sizeof(target), "%s/secret", outside);
        assert_int_equal(symlink(target, p), 0);
    }
    snprintf(p, sizeof(p), "%s/out", root);
    assert_int_equal(symlink(outside, p), 0);
    snprintf(p, sizeof(p), "%s/again.html", root);
    assert_int_equal(symlink("index.html", p), 0);
    snprintf(p, sizeof(p), "%s/fifo", root);
    assert_int_equal(mkfifo(p, 0644), 0);
    return 0;
}

static int
teardown_tree(void **state)
{
    char cmd[1200];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", root, outside);
    return system(cmd) == 0 ? 0 : -1;
}

static void
test_open(void **state)
{
    struct timespec mt;
    uint64_t        size = 0;
    int             fd;

    (void)state;
    fd = http_static_open(root, "index.html", &size, &mt);
    assert_true(fd >= 0);
    assert_int_equal(size, 16);
    close(fd);
    fd = http_static_open(root, "js/app.js", &size, &mt);
    assert_true(fd >= 0);
    assert_int_equal(size, 11);
    close(fd);

    errno = 0;
    assert_int_equal(http_static_open(root, "missing.html", &size, &mt), -1);
    assert_int_equal(errno, ENOENT);
    /* a link is never followed: out of the root, nor inside it */
    assert_int_equal(http_static_open(root, "secret", &size, &mt), -1);
    assert_int_equal(errno, ELOOP);
    assert_int_equal(http_static_open(root, "out/secret", &size, &mt), -1);
    assert_int_equal(http_static_open(root, "again.html", &size, &mt), -1);
    assert_int_equal(http_static_open(root, "leak", &size, &mt), -1);
    /* a directory or a FIFO is not a file (and opening does not block) */
    assert_int_equal(http_static_open(root, "js", &size, &mt), -1);
    assert_int_equal(errno, EISDIR);
    assert_int_equal(http_static_open(root, "fifo", &size, &mt), -1);
    assert_int_equal(errno, EACCES);
    /* a file used as a directory */
    assert_int_equal(http_static_open(root, "index.html/x", &size, &mt), -1);
    assert_int_equal(errno, ENOENT);
    /* no root */
    assert_int_equal(http_static_open("/nonexistent/ruad-web", "index.html",
        &size, &mt), -1);
}

static void
test_types(void **state)
{
    (void)state;
    assert_string_equal(http_static_type("index.html"),
        "text/html; charset=utf-8");
    assert_string_equal(http_static_type("js/app.js"),
        "text/javascript; charset=utf-8");
    assert_string_equal(http_static_type("app.css"),
        "text/css; charset=utf-8");
    assert_string_equal(http_static_type("favicon.svg"), "image/svg+xml");
    assert_string_equal(http_static_type("README"),
        "application/octet-stream");
    assert_string_equal(http_static_type("a.js/b"),
        "application/octet-stream");
    assert_string_equal(http_static_type("x.HTML"),
        "application/octet-stream");
}

static void
test_dates(void **state)
{
    static const char *bad[] = {
        "Sun, 06 Nov 1994 08:49:37 UTC", "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994", "Sun, 06 Nov 1994 08:49:37 GMT ",
        "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 29 Feb 2100 08:49:37 GMT",
        "Sun, 06 Nov 1969 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Xyz 1994 08:49:37 GMT", "Sun, 0x Nov 1994 08:49:37 GMT",
        "",
    };
    time_t t, samples[] = { 0, 784111777, 951782400, 1709164800,
        4107542400, 253402300799 };
    char   d[30];
    size_t i;

    (void)state;
    assert_true(http_static_parse_date("Sun, 06 Nov 1994 08:49:37 GMT", 29,
        &t));
    assert_int_equal(t, 784111777);
    for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        struct tm tm;

        http_static_date(samples[i], d);
        assert_true(http_static_parse_date(d, strlen(d), &t));
        assert_int_equal(t, samples[i]);
        gmtime_r(&samples[i], &tm);
        assert_int_equal(timegm(&tm), t);
    }
    http_static_date(784111777, d);
    assert_string_equal(d, "Sun, 06 Nov 1994 08:49:37 GMT");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (http_static_parse_date(bad[i], strlen(bad[i]), &t))
            fail_msg("accepted \"%s\"", bad[i]);
}

static void
test_conditional(void **state)
{
    const char *etag = "\"10-5f5e100-0\"";
    const char *lm = "Sun, 06 Nov 1994 08:49:37 GMT";

    (void)state;
    assert_false(http_static_not_modified(NULL, NULL, etag, 784111777));
    assert_true(http_static_not_modified(etag, NULL, etag, 0));
    assert_true(http_static_not_modified("W/\"10-5f5e100-0\"", NULL, etag,
        0));
    assert_true(http_static_not_modified("\"x\", \"10-5f5e100-0\"", NULL,
        etag, 0));
    assert_true(http_static_not_modified("*", NULL, etag, 0));
    assert_false(http_static_not_modified("\"x\"", NULL, etag, 0));
    assert_false(http_static_not_modified("\"10-5f5e100-0", NULL, etag, 0));
    assert_false(http_static_not_modified("10-5f5e100-0", NULL, etag, 0));
    /* If-None-Match decides when present, even against a fresh date */
    assert_false(http_static_not_modified("\"x\"", lm, etag, 784111777));
    assert_true(http_static_not_modified(NULL, lm, etag, 784111777));
    assert_true(http_static_not_modified(NULL, lm, etag, 784111776));
    assert_false(http_static_not_modified(NULL, lm, etag, 784111778));
    assert_false(http_static_not_modified(NULL, "yesterday", etag, 0));
}

/* a list longer than HTTP_STATIC_ETAGS_MAX is not read to its end */
static void
test_conditional_many(void **state)
{
    const char *etag = "\"e\"";
    char        list[(HTTP_STATIC_ETAGS_MAX + 2) * 5];
    size_t      i, o = 0;

    (void)state;
    for (i = 0; i < HTTP_STATIC_ETAGS_MAX - 1; i++)
        o += (size_t)snprintf(list + o, sizeof(list) - o, "\"x\",");
    snprintf(list + o, sizeof(list) - o, "\"e\"");
    assert_true(http_static_not_modified(list, NULL, etag, 0));
    snprintf(list + o, sizeof(list) - o, "\"x\",\"e\"");
    assert_false(http_static_not_modified(list, NULL, etag, 0));
}

/* the bytes each sender has always sent: the server's and the
 * dashboard's with a newline, the API's without, peer text made safe */
static void
test_problem_json(void **state)
{
    static const struct {
        unsigned    status;
        const char *title, *detail, *param;
        bool        nl;
        const char *want;
    } cases[] = {
        { 404, "Not Found", "no such file", NULL, true,
          "{\"type\":\"about:blank\",\"title\":\"Not Found\",\"status\":404,"
          "\"detail\":\"no such file\"}\n" },
        { 400, "Bad Request", "bad \"x\\y\"\n\xc3\xa9", "k\x01", false,
          "{\"type\":\"about:blank\",\"title\":\"Bad Request\",\"status\":400,"
          "\"detail\":\"bad \\\"x\\\\y\\\"???\",\"parameter\":\"k?\"}" },
        { 503, "Service Unavailable", "", NULL, false,
          "{\"type\":\"about:blank\",\"title\":\"Service Unavailable\","
          "\"status\":503,\"detail\":\"\"}" },
    };
    size_t i, n;
    char  *s;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        s = http_problem_json(cases[i].status, cases[i].title,
            cases[i].detail, cases[i].param, cases[i].nl, &n);
        assert_non_null(s);
        assert_string_equal(s, cases[i].want);
        assert_int_equal(n, strlen(cases[i].want));
        free(s);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_problem_json),
        cmocka_unit_test(test_normalize_table),
        cmocka_unit_test(test_normalize_nul),
        cmocka_unit_test(test_normalize_limits),
        cmocka_unit_test_setup_teardown(test_open, setup_tree,
            teardown_tree),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_conditional),
        cmocka_unit_test(test_conditional_many),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
