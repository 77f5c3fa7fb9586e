/*
 * test_decompress.c - unit tests for decompress.c: format sniffing, gzip
 * members, nesting and damage, zip members, names and counts, the output
 * and ratio caps one byte either side, 1 GiB bombs, and the fd path.
 *
 * Every input is built here in memory (zips by hand, so that broken and
 * hostile archives are easy to make); nothing is read from samples.
 *
 * SECURITY: the bombs are the point: each must be refused with RUAD_LIMIT
 * in well under a second and without a large peak RSS.
 */
#include "testutil.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "decompress.h"
#include "limits.h"

#define T_PARTS_MAX 32
#define T_KEEP_MAX  (8u << 20)   /* bytes of a part drain() keeps */

#define XML                                                         \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>"            \
    "<report_metadata><org_name>example.net</org_name>"             \
    "<report_id>1234</report_id></report_metadata></feedback>\n"
#define JSON "{\"organization-name\":\"example.net\",\"report-id\":\"42\"}\n"

/* ---- byte vectors ---- */

struct vec {
    unsigned char *p;
    size_t         len, cap;
};

/* vec_put - append n bytes */
static void
vec_put(struct vec *v, const void *p, size_t n)
{
    if (v->len + n > v->cap) {
        size_t ncap = v->cap ? v->cap : 256;

        while (ncap < v->len + n)
            ncap *= 2;
        v->p = realloc(v->p, ncap);
        assert_non_null(v->p);
        v->cap = ncap;
    }
    if (n > 0)
        memcpy(v->p + v->len, p, n);
    v->len += n;
}

/* vec_u16 - little-endian 16 bits */
static void
vec_u16(struct vec *v, unsigned x)
{
    unsigned char b[2] = { x & 0xff, (x >> 8) & 0xff };

    vec_put(v, b, 2);
}

/* vec_u32 - little-endian 32 bits */
static void
vec_u32(struct vec *v, uint32_t x)
{
    unsigned char b[4] = { x & 0xff, (x >> 8) & 0xff, (x >> 16) & 0xff,
        (x >> 24) & 0xff };

    vec_put(v, b, 4);
}

/* vec_free - release and empty */
static void
vec_free(struct vec *v)
{
    free(v->p);
    memset(v, 0, sizeof(*v));
}

/* vec_gzip - append one gzip member of (p, n) */
static void
vec_gzip(struct vec *v, const void *p, size_t n)
{
    size_t gl;
    char  *g = tu_gzip(p, n, 9, &gl);

    assert_non_null(g);
    vec_put(v, g, gl);
    free(g);
}

/* raw_deflate - raw deflate stream (no header) of (p, n) into v */
static void
raw_deflate(struct vec *v, const void *p, size_t n)
{
    z_stream      zs;
    unsigned char out[16384];
    int           ret;

    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8,
        Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (unsigned char *)(uintptr_t)p;
    zs.avail_in = (uInt)n;
    do {
        zs.next_out = out;
        zs.avail_out = sizeof(out);
        ret = deflate(&zs, Z_FINISH);
        vec_put(v, out, sizeof(out) - zs.avail_out);
    } while (ret == Z_OK);
    assert_int_equal(ret, Z_STREAM_END);
    deflateEnd(&zs);
}

/* ---- a zip writer (PKWARE APPNOTE 4.3), by hand ---- */

struct zent {
    const char *name;      /* NUL-terminated */
    const char *data;      /* NULL: empty */
    int         method;    /* 0 stored, 8 deflated, else copied as is */
    unsigned    flags;     /* general purpose bits (1: encrypted) */
    uint32_t    crc_xor;   /* damage the recorded CRC */
    uint32_t    size_sub;  /* declare fewer bytes than there are */
    const struct vec *comp; /* ready compressed data, with crc and usize */
    uint32_t    crc;
    uint32_t    usize;
};

/* zip_build - local headers, data, central directory, EOCD */
static void
zip_build(struct vec *z, const struct zent *e, size_t n)
{
    struct vec cd = { 0 }, body = { 0 };
    uint32_t  *off = calloc(n ? n : 1, sizeof(*off));
    size_t     i;

    assert_non_null(off);
    for (i = 0; i < n; i++) {
        const char *d = e[i].data ? e[i].data : "";
        size_t      dl = strlen(d), nl = strlen(e[i].name);
        uint32_t    crc, usize;
        int         pass;

        body.len = 0;
        if (e[i].comp != NULL) {
            vec_put(&body, e[i].comp->p, e[i].comp->len);
            crc = e[i].crc;
            usize = e[i].usize;
        } else {
            if (e[i].method == 8)
                raw_deflate(&body, d, dl);
            else
                vec_put(&body, d, dl);
            crc = (uint32_t)crc32(0, (const unsigned char *)d, (uInt)dl);
            usize = (uint32_t)dl;
        }
        crc ^= e[i].crc_xor;
        usize -= e[i].size_sub;
        off[i] = (uint32_t)z->len;
        for (pass = 0; pass < 2; pass++) {
            struct vec *v = pass == 0 ? z : &cd;

            vec_u32(v, pass == 0 ? 0x04034b50 : 0x02014b50);
            if (pass == 1)
                vec_u16(v, 20);                  /* made by */
            vec_u16(v, 20);                      /* needed */
            vec_u16(v, e[i].flags);
            vec_u16(v, (unsigned)e[i].method);
            vec_u16(v, 0);                       /* time */
            vec_u16(v, 0x21);                    /* 1980-01-01 */
            vec_u32(v, crc);
            vec_u32(v, (uint32_t)body.len);
            vec_u32(v, usize);
            vec_u16(v, (unsigned)nl);
            vec_u16(v, 0);                       /* extra */
            if (pass == 1) {
                vec_u16(v, 0);                   /* comment */
                vec_u16(v, 0);                   /* disk */
                vec_u16(v, 0);                   /* internal attrs */
                vec_u32(v, 0);                   /* external attrs */
                vec_u32(v, off[i]);
            }
            vec_put(v, e[i].name, nl);
            if (pass == 0)
                vec_put(v, body.p, body.len);
        }
    }
    {
        uint32_t cd_off = (uint32_t)z->len;

        vec_put(z, cd.p, cd.len);
        vec_u32(z, 0x06054b50);
        vec_u16(z, 0);
        vec_u16(z, 0);
        vec_u16(z, (unsigned)n);
        vec_u16(z, (unsigned)n);
        vec_u32(z, (uint32_t)cd.len);
        vec_u32(z, cd_off);
        vec_u16(z, 0);
    }
    vec_free(&cd);
    vec_free(&body);
    free(off);
}

/* ---- running the module ---- */

struct got {
    enum ruad_rc rc;        /* how it ended: RUAD_EOF when all went well */
    unsigned     nparts;
    char        *name[T_PARTS_MAX];
    struct vec   data[T_PARTS_MAX];
    char         format[8];
};

/* got_free - release what drain() collected */
static void
got_free(struct got *g)
{
    unsigned i;

    for (i = 0; i < T_PARTS_MAX; i++) {
        free(g->name[i]);
        vec_free(&g->data[i]);
    }
    memset(g, 0, sizeof(*g));
}

/* drain - every part, read chunk bytes at a time, then free d */
static void
drain(struct decompress *d, size_t chunk, struct got *g)
{
    static char  buf[1 << 20];
    const char  *name;
    enum ruad_rc rc;
    size_t       n;

    assert_non_null(d);
    assert_true(chunk <= sizeof(buf));
    memset(g, 0, sizeof(*g));
    while ((rc = decompress_next(d, &name)) == RUAD_OK) {
        assert_true(g->nparts < T_PARTS_MAX);
        if (name != NULL)
            g->name[g->nparts] = strdup(name);
        while ((rc = decompress_read(d, buf, chunk, &n)) == RUAD_OK &&
            n > 0)
            if (g->data[g->nparts].len + n <= T_KEEP_MAX)
                vec_put(&g->data[g->nparts], buf, n);
        g->nparts++;
        if (rc != RUAD_OK)
            break;
    }
    g->rc = rc;
    snprintf(g->format, sizeof(g->format), "%s", decompress_format(d));
    if (rc != RUAD_EOF) {          /* errors stick */
        assert_int_equal(decompress_next(d, &name), rc);
        assert_int_equal(decompress_read(d, buf, chunk, &n), rc);
        assert_int_equal(n, 0);
    }
    decompress_free(d);
}

/* run_mem - drain (p, n) with lim; diag collects messages */
static void
run_mem(const void *p, size_t n, const struct report_limits *lim,
    struct report_diag *diag, size_t chunk, struct got *g)
{
    drain(decompress_new_mem(p, n, lim, diag), chunk, g);
}

/* has_warning - some warning contains s */
static bool
has_warning(const struct report_diag *diag, const char *s)
{
    size_t i;

    for (i = 0; i < diag->n_warnings; i++)
        if (strstr(diag->warnings[i], s) != NULL)
            return true;
    return false;
}

/* check_part - part i holds exactly (p, n) */
static void
check_part(const char *what, const struct got *g, unsigned i, const void *p,
    size_t n)
{
    if (g->data[i].len != n ||
        (n > 0 && memcmp(g->data[i].p, p, n) != 0))
        fail_msg("%s: part %u has %zu bytes, want %zu", what, i,
            g->data[i].len, n);
}

/* elapsed - seconds since t0 */
static double
elapsed(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) +
        (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- plain ---- */

/* test_plain - anything without a known magic passes through */
static void
test_plain(void **state)
{
    static const char *const inputs[] = { XML, JSON, "x", "\x1f", "PK",
        "PK\003\003 not a zip" };
    static const size_t      chunks[] = { 1, 3, 4096 };
    struct report_limits     lim;
    struct report_diag       diag;
    struct got               g;
    size_t                   i, c;

    (void)state;
    report_limits_default(&lim);
    for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
            report_diag_init(&diag);
            run_mem(inputs[i], strlen(inputs[i]), &lim, &diag, chunks[c],
                &g);
            assert_int_equal(g.rc, RUAD_EOF);
            assert_string_equal(g.format, "plain");
            assert_int_equal(g.nparts, 1);
            assert_null(g.name[0]);
            check_part(inputs[i], &g, 0, inputs[i], strlen(inputs[i]));
            assert_int_equal(diag.n_warnings, 0);
            got_free(&g);
            report_diag_free(&diag);
        }
    }
}

/* test_empty - no bytes at all is refused, from memory and from a file */
static void
test_empty(void **state)
{
    struct report_limits lim;
    struct report_diag   diag;
    struct got           g;

    (void)state;
    report_limits_default(&lim);
    report_diag_init(&diag);
    run_mem("", 0, &lim, &diag, 4096, &g);
    assert_int_equal(g.rc, RUAD_MALFORMED);
    assert_int_equal(g.nparts, 0);
    assert_string_equal(diag.error, "empty input");
    got_free(&g);
    report_diag_free(&diag);

    report_diag_init(&diag);
    run_mem(NULL, 0, &lim, &diag, 4096, &g);
    assert_int_equal(g.rc, RUAD_MALFORMED);
    got_free(&g);
    report_diag_free(&diag);
}

/* ---- gzip ---- */

enum piece_kind { P_END, P_RAW, P_ZEROS, P_GZ, P_GZ2, P_GZ3, P_GZ2M };

struct piece {
    enum piece_kind kind;
    const char     *s;
    size_t          n;         /* P_RAW: bytes of s (0: strlen); P_ZEROS */
};

struct gz_case {
    const char  *name;
    struct piece in[4];
    size_t       cut;          /* bytes dropped from the end */
    bool         poke;
    long         at;           /* from the start, or the end if < 0 */
    unsigned     val;
    const char  *want;         /* output */
    bool         want_gz;      /* output is gzip(want) */
    enum ruad_rc want_rc;      /* RUAD_EOF: fine */
    const char  *want_err;
    const char  *want_warn;
};

/* gz_case_build - the input of one case */
static void
gz_case_build(const struct gz_case *c, struct vec *in)
{
    const struct piece *p;
    struct vec          t = { 0 }, u = { 0 };

    for (p = c->in; p->kind != P_END; p++) {
        size_t sl = strlen(p->s);

        t.len = u.len = 0;
        switch (p->kind) {
        case P_RAW:
            vec_put(in, p->s, p->n ? p->n : sl);
            break;
        case P_ZEROS:
            for (sl = 0; sl < p->n; sl++)
                vec_put(in, "", 1);
            break;
        case P_GZ:
            vec_gzip(in, p->s, sl);
            break;
        case P_GZ2:
            vec_gzip(&t, p->s, sl);
            vec_gzip(in, t.p, t.len);
            break;
        case P_GZ3:
            vec_gzip(&t, p->s, sl);
            vec_gzip(&u, t.p, t.len);
            vec_gzip(in, u.p, u.len);
            break;
        case P_GZ2M:
            vec_gzip(&t, p->s, sl);
            vec_gzip(&t, p->s, sl);
            vec_gzip(in, t.p, t.len);
            break;
        case P_END:
            break;
        }
    }
    vec_free(&t);
    vec_free(&u);
    assert_true(c->cut <= in->len);
    in->len -= c->cut;
    if (c->poke)
        in->p[c->at >= 0 ? (size_t)c->at : in->len - (size_t)-c->at] =
            (unsigned char)c->val;
}

#define RAW(s)  { P_RAW, (s), 0 }
#define GZ(s)   { P_GZ, (s), 0 }

static const struct gz_case gz_cases[] = {
    { .name = "one member", .in = { GZ(XML) }, .want = XML,
      .want_rc = RUAD_EOF },
    { .name = "empty member", .in = { GZ("") }, .want = "",
      .want_rc = RUAD_EOF },
    { .name = "two members", .in = { GZ("<a>"), GZ("</a>") },
      .want = "<a></a>", .want_rc = RUAD_EOF },
    { .name = "three members, one empty",
      .in = { GZ("<a>"), GZ(""), GZ("</a>") }, .want = "<a></a>",
      .want_rc = RUAD_EOF },
    { .name = "trailing garbage", .in = { GZ(XML), RAW("garbage\n") },
      .want = XML, .want_rc = RUAD_EOF,
      .want_warn = "trailing garbage ignored: 8 bytes" },
    { .name = "trailing NULs", .in = { GZ(XML), { P_ZEROS, "", 512 } },
      .want = XML, .want_rc = RUAD_EOF,
      .want_warn = "trailing garbage ignored: 512 bytes" },
    { .name = "trailing lone 1f", .in = { GZ(XML), RAW("\x1f") },
      .want = XML, .want_rc = RUAD_EOF,
      .want_warn = "trailing garbage ignored: 1 bytes" },
    { .name = "gzip in gzip", .in = { { P_GZ2, XML, 0 } }, .want = XML,
      .want_rc = RUAD_EOF },
    { .name = "two members in gzip", .in = { { P_GZ2M, JSON, 0 } },
      .want = JSON JSON, .want_rc = RUAD_EOF },
    { .name = "three levels: the inner one passed through",
      .in = { { P_GZ3, XML, 0 } }, .want = XML, .want_gz = true,
      .want_rc = RUAD_EOF },
    { .name = "truncated trailer", .in = { GZ(XML) }, .cut = 4,
      .want_rc = RUAD_MALFORMED, .want_err = "truncated gzip data" },
    { .name = "truncated to the magic", .in = { RAW("\x1f\x8b") },
      .want_rc = RUAD_MALFORMED, .want_err = "truncated gzip data" },
    { .name = "truncated second member",
      .in = { GZ(XML), RAW("\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03") },
      .want_rc = RUAD_MALFORMED, .want_err = "truncated gzip data" },
    { .name = "invalid block type", .in = { GZ(XML) }, .poke = true,
      .at = 10, .val = 0xff, .want_rc = RUAD_MALFORMED,
      .want_err = "corrupt gzip data: invalid block type" },
    { .name = "bad CRC", .in = { GZ(XML) }, .poke = true, .at = -8,
      .val = 0x55, .want_rc = RUAD_MALFORMED,
      .want_err = "corrupt gzip data: incorrect data check" },
    { .name = "bad length", .in = { GZ(XML) }, .poke = true, .at = -4,
      .val = 0x55, .want_rc = RUAD_MALFORMED,
      .want_err = "corrupt gzip data: incorrect length check" },
    { .name = "bad method", .in = { GZ(XML) }, .poke = true, .at = 2,
      .val = 0x07, .want_rc = RUAD_MALFORMED,
      .want_err = "corrupt gzip data: unknown compression method" },
    { .name = "magic then junk after a member",
      .in = { GZ(XML), RAW("\x1f\x8bjunkjunkjunk") },
      .want_rc = RUAD_MALFORMED,
      .want_err = "corrupt gzip data: unknown compression method" },
};

/* test_gzip_cases - the table above, at several read sizes */
static void
test_gzip_cases(void **state)
{
    static const size_t  chunks[] = { 1, 100, 1 << 20 };
    struct report_limits lim;
    struct report_diag   diag;
    struct got           g;
    struct vec           in = { 0 }, want = { 0 };
    size_t               i, c;

    (void)state;
    report_limits_default(&lim);
    for (i = 0; i < sizeof(gz_cases) / sizeof(gz_cases[0]); i++) {
        const struct gz_case *k = &gz_cases[i];

        in.len = want.len = 0;
        gz_case_build(k, &in);
        if (k->want != NULL && k->want_gz)
            vec_gzip(&want, k->want, strlen(k->want));
        else if (k->want != NULL)
            vec_put(&want, k->want, strlen(k->want));
        for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
            report_diag_init(&diag);
            run_mem(in.p, in.len, &lim, &diag, chunks[c], &g);
            if (g.rc != k->want_rc)
                fail_msg("%s: rc %s, want %s (%s)", k->name,
                    ruad_rc_str(g.rc), ruad_rc_str(k->want_rc),
                    diag.error);
            assert_string_equal(g.format, "gzip");
            if (k->want != NULL) {
                assert_int_equal(g.nparts, 1);
                assert_null(g.name[0]);
                check_part(k->name, &g, 0, want.p, want.len);
            }
            if (k->want_err != NULL &&
                strstr(diag.error, k->want_err) == NULL)
                fail_msg("%s: error \"%s\", want \"%s\"", k->name,
                    diag.error, k->want_err);
            if (k->want_err == NULL && diag.error[0] != '\0')
                fail_msg("%s: unexpected error %s", k->name, diag.error);
            if (k->want_warn != NULL && !has_warning(&diag, k->want_warn))
                fail_msg("%s: no warning \"%s\"", k->name, k->want_warn);
            if (k->want_warn == NULL && diag.n_warnings != 0)
                fail_msg("%s: unexpected warning %s", k->name,
                    diag.warnings[0]);
            got_free(&g);
            report_diag_free(&diag);
        }
    }
    vec_free(&in);
    vec_free(&want);
}

/*
 * test_gzip_nested_damage - damage in the inner gzip is reported like
 * damage in the outer one; garbage after it is a warning.
 */
static void
test_gzip_nested_damage(void **state)
{
    struct report_limits lim;
    struct report_diag   diag;
    struct got           g;
    struct vec           inner = { 0 }, in = { 0 };

    (void)state;
    report_limits_default(&lim);
    vec_gzip(&inner, XML, strlen(XML));
    inner.len -= 3;
    vec_gzip(&in, inner.p, inner.len);
    report_diag_init(&diag);
    run_mem(in.p, in.len, &lim, &diag, 4096, &g);
    assert_int_equal(g.rc, RUAD_MALFORMED);
    assert_string_equal(diag.error, "truncated gzip data");
    got_free(&g);
    report_diag_free(&diag);

    inner.len += 3;
    vec_put(&inner, "tail", 4);
    in.len = 0;
    vec_gzip(&in, inner.p, inner.len);
    report_diag_init(&diag);
    run_mem(in.p, in.len, &lim, &diag, 4096, &g);
    assert_int_equal(g.rc, RUAD_EOF);
    check_part("inner garbage", &g, 0, XML, strlen(XML));
    assert_true(has_warning(&diag, "trailing garbage ignored: 4 bytes"));
    got_free(&g);
    report_diag_free(&diag);
    vec_free(&inner);
    vec_free(&in);
}

/* test_gzip_big - more than a few chunks, members bigger than a chunk */
static void
test_gzip_big(void **state)
{
    struct report_limits lim;
    struct report_diag   diag;
    struct got           g;
    struct vec           in = { 0 }, want = { 0 }, t = { 0 };
    size_t               i;
    char                 line[64];

    (void)state;
    report_limits_default(&lim);
    for (i = 0; i < 40000; i++) {
        int n = snprintf(line, sizeof(line), "<row n=\"%zu\" v=\"%zx\"/>\n",
            i, i * 2654435761u);

        vec_put(&want, line, (size_t)n);
    }
    vec_gzip(&in, want.p, want.len / 2);
    vec_gzip(&in, want.p + want.len / 2, want.len - want.len / 2);
    report_diag_init(&diag);
    run_mem(in.p, in.len, &lim, &diag, 4093, &g);
    assert_int_equal(g.rc, RUAD_EOF);
    check_part("big", &g, 0, want.p, want.len);
    got_free(&g);
    report_diag_free(&diag);

    vec_gzip(&t, in.p, in.len);              /* and nested */
    report_diag_init(&diag);
    run_mem(t.p, t.len, &lim, &diag, 1 << 20, &g);
    assert_int_equal(g.rc, RUAD_EOF);
    check_part("big nested", &g, 0, want.p, want.len);
    got_free(&g);
    report_diag_free(&diag);
    vec_free(&in);
    vec_free(&want);
    vec_free(&t);
}

/* ---- zip ---- */

struct zip_case {
    const char  *name;
    struct zent  e[4];
    unsigned     n;
    enum ruad_rc want_rc;      /* RUAD_EOF: fine */
    unsigned     want_parts;
    const char  *want_names[4];
    const char  *want_data[4];
    const char  *want_err;
    const char  *want_warn;
};

#define ZE(n, d, m) { .name = (n), .data = (d), .method = (m) }

static const struct zip_case zip_cases[] = {
    { .name = "one member", .e = { ZE("report.xml", XML, 8) }, .n = 1,
      .want_rc = RUAD_EOF, .want_parts = 1, .want_names = { "report.xml" },
      .want_data = { XML } },
    { .name = "three members", .e = { ZE("a.xml", XML, 8),
      ZE("b.json", JSON, 0), ZE("C.XmL", "<c/>", 8) }, .n = 3,
      .want_rc = RUAD_EOF, .want_parts = 3,
      .want_names = { "a.xml", "b.json", "C.XmL" },
      .want_data = { XML, JSON, "<c/>" } },
    { .name = "empty member", .e = { ZE("e.json", NULL, 8) }, .n = 1,
      .want_rc = RUAD_EOF, .want_parts = 1, .want_names = { "e.json" },
      .want_data = { "" } },
    { .name = "other file skipped", .e = { ZE("readme.txt", "hi", 8),
      ZE("r.xml", XML, 8) }, .n = 2, .want_rc = RUAD_EOF, .want_parts = 1,
      .want_names = { "r.xml" }, .want_data = { XML },
      .want_warn = "zip member readme.txt skipped: not .xml or .json" },
    { .name = "directory skipped", .e = { ZE("dir.xml/", NULL, 0),
      ZE("dir.xml/r.xml", XML, 8) }, .n = 2, .want_rc = RUAD_EOF,
      .want_parts = 1, .want_names = { "dir.xml/r.xml" },
      .want_data = { XML }, .want_warn = "zip directory dir.xml/ skipped" },
    { .name = "path in the name",
      .e = { ZE("../../etc/passwd.xml", XML, 8) }, .n = 1,
      .want_rc = RUAD_EOF, .want_parts = 1,
      .want_names = { "../../etc/passwd.xml" }, .want_data = { XML } },
    { .name = "control bytes in the name",
      .e = { ZE("a\x1b[31m b=\"c\"\n.json", JSON, 8) }, .n = 1,
      .want_rc = RUAD_EOF, .want_parts = 1,
      .want_names = { "a\\x1b[31m\\x20b\\x3d\\x22c\\x22\\x0a.json" },
      .want_data = { JSON } },
    { .name = "skipped name escaped", .e = { ZE("x\ny.txt", "z", 0),
      ZE("r.json", JSON, 0) }, .n = 2, .want_rc = RUAD_EOF,
      .want_parts = 1, .want_names = { "r.json" }, .want_data = { JSON },
      .want_warn = "zip member x\\x0ay.txt skipped" },
    { .name = "no report member", .e = { ZE("readme.txt", "hi", 8) },
      .n = 1, .want_rc = RUAD_MALFORMED,
      .want_err = "zip holds no .xml or .json member",
      .want_warn = "readme.txt" },
    { .name = "encrypted member", .e = { { .name = "r.xml", .data = XML,
      .method = 8, .flags = 1 } }, .n = 1, .want_rc = RUAD_UNSUPPORTED,
      .want_err = "zip member r.xml is encrypted" },
    { .name = "encrypted other file ignored", .e = { { .name = "k.txt",
      .data = "x", .flags = 1 }, ZE("r.xml", XML, 8) }, .n = 2,
      .want_rc = RUAD_EOF, .want_parts = 1, .want_names = { "r.xml" },
      .want_data = { XML }, .want_warn = "k.txt" },
    { .name = "bzip2 member", .e = { ZE("r.xml", XML, 12) }, .n = 1,
      .want_rc = RUAD_UNSUPPORTED,
      .want_err = "compression method 12 not supported" },
    { .name = "CRC error", .e = { { .name = "r.xml", .data = XML,
      .method = 8, .crc_xor = 1 } }, .n = 1, .want_rc = RUAD_MALFORMED,
      .want_parts = 1, .want_names = { "r.xml" },
      .want_err = "zip: CRC error" },
    { .name = "CRC error, stored", .e = { { .name = "r.json",
      .data = JSON, .crc_xor = 0x100 } }, .n = 1,
      .want_rc = RUAD_MALFORMED, .want_parts = 1,
      .want_names = { "r.json" }, .want_err = "CRC error" },
    { .name = "bigger than declared", .e = { { .name = "r.xml",
      .data = XML, .method = 8, .size_sub = 10 } }, .n = 1,
      .want_rc = RUAD_MALFORMED, .want_parts = 1, .want_names = { "r.xml" },
      .want_err = "zip member larger than its declared size" },
};

/* test_zip_cases - the table above, at several read sizes */
static void
test_zip_cases(void **state)
{
    static const size_t  chunks[] = { 1, 64, 1 << 20 };
    struct report_limits lim;
    struct report_diag   diag;
    struct got           g;
    struct vec           z = { 0 };
    size_t               i, c;
    unsigned             j;

    (void)state;
    report_limits_default(&lim);
    for (i = 0; i < sizeof(zip_cases) / sizeof(zip_cases[0]); i++) {
        const struct zip_case *k = &zip_cases[i];

        z.len = 0;
        zip_build(&z, k->e, k->n);
        for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
            report_diag_init(&diag);
            run_mem(z.p, z.len, &lim, &diag, chunks[c], &g);
            if (g.rc != k->want_rc)
                fail_msg("%s: rc %s, want %s (%s)", k->name,
                    ruad_rc_str(g.rc), ruad_rc_str(k->want_rc),
                    diag.error);
            assert_string_equal(g.format, "zip");
            if (g.nparts != k->want_parts)
                fail_msg("%s: %u parts, want %u", k->name, g.nparts,
                    k->want_parts);
            for (j = 0; j < k->want_parts; j++) {
                assert_non_null(g.name[j]);
                assert_string_equal(g.name[j], k->want_names[j]);
                if (k->want_data[j] != NULL)
                    check_part(k->name, &g, j, k->want_data[j],
                        strlen(k->want_data[j]));
            }
            if (k->want_err != NULL &&
                strstr(diag.error, k->want_err) == NULL)
                fail_msg("%s: error \"%s\", want \"%s\"", k->name,
                    diag.error, k->want_err);
            if (k->want_err == NULL && diag.error[0] != '\0')
                fail_msg("%s: unexpected error %s", k->name, diag.error);
            if (k->want_warn != NULL && !has_warning(&diag, k->want_warn))
                fail_msg("%s: no warning \"%s\"", k->name, k->want_warn);
            if (k->want_warn == NULL && diag.n_warnings != 0)
                fail_msg("%s: unexpected warning %s", k->name,
                    diag.warnings[0]);
            got_free(&g);
            report_diag_free(&diag);
        }
    }
    vec_free(&z);
}

/* test_zip_damaged - archives libzip cannot open are malformed */
static void
test_zip_damaged(void **state)
{
    static const char    empty[22] = "PK\005\006";
    static const char    junk[] = "PK\003\004 this is junk, not a zip";
    struct report_limits lim;
    struct report_diag   diag;
    struct got           g;
    struct vec           z = { 0 };
    struct zent          e = ZE("r.xml", XML, 8);
    size_t               cut;

    (void)state;
    report_limits_default(&lim);

    report_diag_init(&diag);                 /* EOCD only */
    run_mem(empty, sizeof(empty), &lim, &diag, 4096, &g);
    assert_string_equal(g.format, "zip");
    assert_int_equal(g.rc, RUAD_MALFORMED);
    assert_string_equal(diag.error, "zip holds no .xml or .json member");
    got_free(&g);
    report_diag_free(&diag);

    report_diag_init(&diag);                 /* magic, then junk */
    run_mem(junk, sizeof(junk) - 1, &lim, &diag, 4096, &g);
    assert_string_equal(g.format, "zip");
    assert_int_equal(g.rc, RUAD_MALFORMED);
    assert_non_null(strstr(diag.error, "zip: "));
    got_free(&g);
    report_diag_free(&diag);

    zip_build(&z, &e, 1);                    /* cut anywhere */
    for (cut = 1; cut < z.len - 4; cut += 7) {
        report_diag_init(&diag);
        run_mem(z.p, z.len - cut, &lim, &diag, 4096, &g);
        if (g.rc == RUAD_EOF)
            fail_msg("zip cut by %zu accepted", cut);
        assert_int_not_equal(g.rc, RUAD_INTERNAL);
        got_free(&g);
        report_diag_free(&diag);
    }
    vec_free(&z);
}

/* zip_n - zip of nrep reports and nother other files */
static void
zip_n(struct vec *z, unsigned nrep, unsigned nother)
{
    struct zent *e = calloc(nrep + nother, sizeof(*e));
    char       (*names)[32] = calloc(nrep + nother, sizeof(*names));
    unsigned     i;

    assert_non_null(e);
    assert_non_null(names);
    for (i = 0; i < nrep + nother; i++) {
        snprintf(names[i], sizeof(names[i]), i < nrep ? "r%03u.xml" :
            "o%03u.txt", i);
        e[i].name = names[i];
        e[i].data = i < nrep ? XML : "other";
        e[i].method = 8;
    }
    z->len = 0;
    zip_build(z, e, nrep + nother);
    free(e);
    free(names);
}

/* test_zip_counts - report members and entries, at and one past */
static void
test_zip_counts(void **state)
{
    static const struct {
        unsigned     nrep, nother;
        enum ruad_rc want;
    } cases[] = {
        { DECOMP_ZIP_MEMBERS_MAX, 0, RUAD_EOF },
        { DECOMP_ZIP_MEMBERS_MAX + 1, 0, RUAD_LIMIT },
        { 1, DECOMP_ZIP_ENTRIES_MAX - 1, RUAD_EOF },
        { 1, DECOMP_ZIP_ENTRIES_MAX, RUAD_LIMIT },
    };
    struct report_limits lim;
    struct report_diag   diag;
    struct got           g;
    struct vec           z = { 0 };
    size_t               i;
    unsigned             j;

    (void)state;
    report_limits_default(&lim);
    assert_int_equal(lim.zip_members_max, 16);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zip_n(&z, cases[i].nrep, cases[i].nother);
        report_diag_init(&diag);
        run_mem(z.p, z.len, &lim, &diag, 4096, &g);
        if (g.rc != cases[i].want)
            fail_msg("%u+%u: rc %s (%s)", cases[i].nrep, cases[i].nother,
                ruad_rc_str(g.rc), diag.error);
        if (g.rc == RUAD_EOF) {
            assert_int_equal(g.nparts, cases[i].nrep);
            for (j = 0; j < g.nparts; j++)
                check_part("count", &g, j, XML, strlen(XML));
        } else {
            assert_int_equal(g.nparts, 0);   /* refused before any */
        }
        got_free(&g);
        report_diag_free(&diag);
    }
    zip_n(&z, 17, 0);                        /* the struct decides */
    lim.zip_members_max = 17;
    report_diag_init(&diag);
    run_mem(z.p, z.len, &lim, &diag, 4096, &g);
    assert_int_equal(g.rc, RUAD_EOF);
    assert_int_equal(g.nparts, 17);
    got_free(&g);
    report_diag_free(&diag);
    vec_free(&z);
}

/* ---- caps ---- */

/*
 * test_out_cap - exactly decomp_out_max bytes pass, one more is refused,
 * for every format (zip: summed over members).
 */
static void
test_out_cap(void **state)
{
    struct report_limits lim;
    struct report_diag   diag;
    struct got           g;
    struct vec           in[3] = { { 0 } };
    struct zent          e[2] = { ZE("a.xml", XML, 8), ZE("b.json", JSON, 0) };
    size_t               total = strlen(XML) + strlen(JSON);
    size_t               chunk, i;
    const char          *fmt[3] = { "plain", "gzip", "zip" };

    (void)state;
    vec_put(&in[0], XML, strlen(XML));
    vec_put(&in[0], JSON, strlen(JSON));
    vec_gzip(&in[1], XML, strlen(XML));
    vec_gzip(&in[1], JSON, strlen(JSON));
    zip_build(&in[2], e, 2);
    for (i = 0; i < 3; i++) {
        for (chunk = 1; chunk <= 4096; chunk *= 64) {
            report_limits_default(&lim);
            lim.decomp_out_max = total;
            report_diag_init(&diag);
            run_mem(in[i].p, in[i].len, &lim, &diag, chunk, &g);
            if (g.rc != RUAD_EOF)
                fail_msg("%s at the cap: %s", fmt[i], diag.error);
            assert_string_equal(g.format, fmt[i]);
            got_free(&g);
            report_diag_free(&diag);

            lim.decomp_out_max = total - 1;
            report_diag_init(&diag);
            run_mem(in[i].p, in[i].len, &lim, &diag, chunk, &g);
            if (g.rc != RUAD_LIMIT)
                fail_msg("%s one past the cap: %s", fmt[i],
                    ruad_rc_str(g.rc));
            assert_non_null(strstr(diag.error,
                "decompressed size exceeds"));
            got_free(&g);
            report_diag_free(&diag);
        }
    }
    for (i = 0; i < 3; i++)
        vec_free(&in[i]);
}

/*
 * test_ratio_cap - with grace 0, a ratio of exactly ceil(out/in) passes
 * and one less is refused (gzip: in = the whole stream, which inflates in
 * one go as it is under a chunk; zip: in = the member's compressed size).
 */
static void
test_ratio_cap(void **state)
{
    struct report_limits lim;
    struct report_diag   diag;
    struct got           g;
    struct vec           data = { 0 }, gz = { 0 }, z = { 0 }, comp = { 0 };
    struct zent          e = ZE("r.xml", NULL, 8);
    uint64_t             ok;
    size_t               i, in_len;
    char                 line[64];
    int                  pass, n;

    (void)state;
    for (i = 0; i < 1500; i++) {
        n = snprintf(line, sizeof(line), "<r>%zu</r>\n", i % 97);
        vec_put(&data, line, (size_t)n);
    }
    assert_true(data.len < 60000);
    vec_put(&data, "", 1);
    data.len--;
    vec_gzip(&gz, data.p, data.len);
    e.data = (const char *)data.p;
    zip_build(&z, &e, 1);
    raw_deflate(&comp, data.p, data.len);    /* the member's data */
    for (pass = 0; pass < 2; pass++) {
        const struct vec *in = pass == 0 ? &gz : &z;

        in_len = pass == 0 ? gz.len : comp.len;
        ok = (data.len + in_len - 1) / in_len;
        assert_true(ok > 2);
        report_limits_default(&lim);
        lim.decomp_ratio_grace = 0;
        lim.decomp_ratio_max = ok;
        report_diag_init(&diag);
        run_mem(in->p, in->len, &lim, &diag, 1 << 20, &g);
        if (g.rc != RUAD_EOF)
            fail_msg("pass %d ratio %llu: %s", pass,
                (unsigned long long)ok, diag.error);
        check_part("ratio", &g, 0, data.p, data.len);
        got_free(&g);
        report_diag_free(&diag);

        lim.decomp_ratio_max = ok - 1;
        report_diag_init(&diag);
        run_mem(in->p, in->len, &lim, &diag, 1 << 20, &g);
        assert_int_equal(g.rc, RUAD_LIMIT);
        assert_non_null(strstr(diag.error, "compression ratio exceeds"));
        got_free(&g);
        report_diag_free(&diag);

        /* the same data is fine while under the grace */
        lim.decomp_ratio_grace = data.len;
        report_diag_init(&diag);
        run_mem(in->p, in->len, &lim, &diag, 1 << 20, &g);
        assert_int_equal(g.rc, RUAD_EOF);
        got_free(&g);
        report_diag_free(&diag);
    }
    vec_free(&data);
    vec_free(&gz);
    vec_free(&z);
    vec_free(&comp);
}

/*
 * bomb_deflate - a raw deflate stream of 1 GiB of zeros, made fast: one
 * MiB deflated with Z_FULL_FLUSH (byte aligned, no back references past
 * it) repeated 1024 times, then a final empty block.
 */
static void
bomb_deflate(struct vec *v, uint32_t *crc)
{
    static const size_t mib = 1u << 20;
    unsigned char      *zeros = calloc(1, mib);
    struct vec          one = { 0 };
    unsigned char       out[65536];
    z_stream            zs;
    uint32_t            c1;
    int                 i;

    assert_non_null(zeros);
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, -15, 9,
        Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = zeros;
    zs.avail_in = (uInt)mib;
    do {
        zs.next_out = out;
        zs.avail_out = sizeof(out);
        assert_int_equal(deflate(&zs, Z_FULL_FLUSH), Z_OK);
        vec_put(&one, out, sizeof(out) - zs.avail_out);
    } while (zs.avail_out == 0);
    for (i = 0; i < 1024; i++)
        vec_put(v, one.p, one.len);
    zs.next_out = out;
    zs.avail_out = sizeof(out);
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    vec_put(v, out, sizeof(out) - zs.avail_out);
    deflateEnd(&zs);
    c1 = (uint32_t)crc32(0, zeros, (uInt)mib);
    *crc = 0;
    for (i = 0; i < 1024; i++)
        *crc = (uint32_t)crc32_combine(*crc, c1, (z_off_t)mib);
    vec_free(&one);
    free(zeros);
}

/* bomb_check - refused with want, fast */
static void
bomb_check(const char *what, const struct vec *in,
    const struct report_limits *lim, enum ruad_rc want)
{
    struct report_diag diag;
    struct got         g;
    struct timespec    t0;
    double             s;

    report_diag_init(&diag);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    run_mem(in->p, in->len, lim, &diag, 1 << 20, &g);
    s = elapsed(&t0);
    if (g.rc != want)
        fail_msg("%s: rc %s, want %s (%s)", what, ruad_rc_str(g.rc),
            ruad_rc_str(want), diag.error);
    if (s > 1.0)                        /* real figures: a few ms */
        fail_msg("%s: refused after %.3f s", what, s);
    print_message("%s: %s in %.3f s\n", what, diag.error, s);
    got_free(&g);
    report_diag_free(&diag);
}

/* test_bombs - 1 GiB of zeros in about 1 MiB, as gzip and as zip */
static void
test_bombs(void **state)
{
    struct report_limits lim;
    struct vec           raw = { 0 }, gz = { 0 }, z = { 0 }, lie = { 0 };
    struct vec           gz2 = { 0 };
    struct zent          e = ZE("bomb.xml", NULL, 8);
    uint32_t             crc;
    struct rusage        ru;

    (void)state;
    bomb_deflate(&raw, &crc);
    assert_true(raw.len < (2u << 20));

    vec_put(&gz, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03", 10);
    vec_put(&gz, raw.p, raw.len);
    vec_u32(&gz, crc);
    vec_u32(&gz, 1u << 30);                  /* ISIZE: 1 GiB mod 2^32 */
    report_limits_default(&lim);
    bomb_check("gzip bomb", &gz, &lim, RUAD_LIMIT);
    lim.decomp_ratio_max = UINT64_MAX;       /* then the size cap stops it */
    lim.decomp_out_max = 16u << 20;
    bomb_check("gzip bomb, no ratio cap", &gz, &lim, RUAD_LIMIT);
    vec_gzip(&gz2, gz.p, gz.len);            /* gzip of the bomb */
    report_limits_default(&lim);
    bomb_check("gzip bomb in gzip", &gz2, &lim, RUAD_LIMIT);

    e.comp = &raw;
    e.crc = crc;
    e.usize = 1u << 30;
    zip_build(&z, &e, 1);
    bomb_check("zip bomb", &z, &lim, RUAD_LIMIT);
    e.usize = 1000;                          /* lies about its size */
    zip_build(&lie, &e, 1);
    bomb_check("zip bomb declaring 1000 bytes", &lie, &lim, RUAD_MALFORMED);
    e.usize = 16u << 20;                     /* lies within the caps */
    lie.len = 0;
    zip_build(&lie, &e, 1);
    bomb_check("zip bomb declaring 16 MiB", &lie, &lim, RUAD_MALFORMED);

#ifndef __SANITIZE_ADDRESS__
    assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
    print_message("peak RSS %ld KiB\n", ru.ru_maxrss);
    assert_true(ru.ru_maxrss < 64 * 1024);
#else
    (void)ru;
#endif
    vec_free(&raw);
    vec_free(&gz);
    vec_free(&gz2);
    vec_free(&z);
    vec_free(&lie);
}

/* ---- the fd path ---- */

/* tmp_file - a temp file holding (p, n), open for reading at offset 0 */
static int
tmp_file(const void *p, size_t n)
{
    char path[512];
    int  fd;

    snprintf(path, sizeof(path), "%s/test_decompress.XXXXXX", tu_tmpdir());
    fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

/* pipe_of - a pipe whose read end yields (p, n) then EOF */
static int
pipe_of(const void *p, size_t n)
{
    int fds[2];

    assert_true(n < 60000);                  /* fits in the pipe */
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], p, n), (ssize_t)n);
    close(fds[1]);
    return fds[0];
}

/* test_fd - gzip, zip and plain from a file and from a pipe */
static void
test_fd(void **state)
{
    struct report_limits lim;
    struct report_diag   diag;
    struct got           g;
    struct vec           in[3] = { { 0 } }, big = { 0 };
    struct zent          e[2] = { ZE("a.xml", XML, 8), ZE("b.json", JSON, 8) };
    const char          *fmt[3] = { "gzip", "zip", "plain" };
    size_t               i, k;
    int                  fd, use_pipe;

    (void)state;
    report_limits_default(&lim);
    vec_gzip(&in[0], XML, strlen(XML));
    vec_gzip(&in[0], JSON, strlen(JSON));
    vec_put(&in[0], "junk", 4);
    zip_build(&in[1], e, 2);
    vec_put(&in[2], XML, strlen(XML));
    vec_put(&in[2], JSON, strlen(JSON));
    for (use_pipe = 0; use_pipe < 2; use_pipe++) {
        for (i = 0; i < 3; i++) {
            fd = use_pipe ? pipe_of(in[i].p, in[i].len) :
                tmp_file(in[i].p, in[i].len);
            report_diag_init(&diag);
            drain(decompress_new_fd(fd, &lim, &diag), 7, &g);
            close(fd);
            if (g.rc != RUAD_EOF)
                fail_msg("%s (pipe %d): %s", fmt[i], use_pipe, diag.error);
            assert_string_equal(g.format, fmt[i]);
            if (i == 1) {
                assert_int_equal(g.nparts, 2);
                assert_string_equal(g.name[0], "a.xml");
                assert_string_equal(g.name[1], "b.json");
                check_part("fd zip", &g, 0, XML, strlen(XML));
                check_part("fd zip", &g, 1, JSON, strlen(JSON));
            } else {
                assert_int_equal(g.nparts, 1);
                check_part(fmt[i], &g, 0, XML JSON, strlen(XML JSON));
            }
            if (i == 0)
                assert_true(has_warning(&diag,
                    "trailing garbage ignored: 4 bytes"));
            got_free(&g);
            report_diag_free(&diag);
        }
    }

    /* a zip that does not start at offset 0 of the file */
    fd = tmp_file("prefix", 6);
    assert_int_equal(lseek(fd, 0, SEEK_END), 6);
    assert_int_equal(write(fd, in[1].p, in[1].len), (ssize_t)in[1].len);
    assert_int_equal(lseek(fd, 6, SEEK_SET), 6);
    report_diag_init(&diag);
    drain(decompress_new_fd(fd, &lim, &diag), 4096, &g);
    close(fd);
    assert_int_equal(g.rc, RUAD_EOF);
    assert_int_equal(g.nparts, 2);
    got_free(&g);
    report_diag_free(&diag);

    /* many chunks of input, read and inflated piece by piece */
    srand(1);
    for (k = 0; k < 300000; k++) {
        unsigned char c = (unsigned char)('a' + rand() % 16);

        vec_put(&big, &c, 1);
    }
    in[0].len = 0;
    vec_gzip(&in[0], big.p, big.len);
    assert_true(in[0].len > 2 * 65536);
    fd = tmp_file(in[0].p, in[0].len);
    report_diag_init(&diag);
    drain(decompress_new_fd(fd, &lim, &diag), 5000, &g);
    close(fd);
    assert_int_equal(g.rc, RUAD_EOF);
    check_part("fd big", &g, 0, big.p, big.len);
    got_free(&g);
    report_diag_free(&diag);

    /* a truncated gzip from a file, and the output cap on plain */
    fd = tmp_file(in[0].p, in[0].len - 1);
    report_diag_init(&diag);
    drain(decompress_new_fd(fd, &lim, &diag), 5000, &g);
    close(fd);
    assert_int_equal(g.rc, RUAD_MALFORMED);
    got_free(&g);
    report_diag_free(&diag);
    fd = tmp_file(big.p, big.len);
    lim.decomp_out_max = big.len - 1;
    report_diag_init(&diag);
    drain(decompress_new_fd(fd, &lim, &diag), 5000, &g);
    close(fd);
    assert_int_equal(g.rc, RUAD_LIMIT);
    got_free(&g);
    report_diag_free(&diag);

    /* a bad fd */
    report_diag_init(&diag);
    drain(decompress_new_fd(-1, &lim, &diag), 5000, &g);
    assert_int_equal(g.rc, RUAD_IO);
    assert_non_null(strstr(diag.error, "read: "));
    got_free(&g);
    report_diag_free(&diag);

    for (i = 0; i < 3; i++)
        vec_free(&in[i]);
    vec_free(&big);
}

/* test_read_cb - the report_read_fn adapter and reads outside a part */
static void
test_read_cb(void **state)
{
    struct report_limits lim;
    struct report_diag   diag;
    struct decompress   *d;
    report_read_fn       fn = decompress_read_cb;
    char                 buf[256];
    size_t               n;

    (void)state;
    report_limits_default(&lim);
    report_diag_init(&diag);
    d = decompress_new_mem(JSON, strlen(JSON), &lim, &diag);
    assert_non_null(d);
    assert_int_equal(fn(d, buf, sizeof(buf), &n), RUAD_OK);
    assert_int_equal(n, 0);                  /* before the first next */
    assert_int_equal(decompress_next(d, NULL), RUAD_OK);
    assert_int_equal(fn(d, buf, sizeof(buf), &n), RUAD_OK);
    assert_int_equal(n, strlen(JSON));
    assert_memory_equal(buf, JSON, n);
    assert_int_equal(fn(d, buf, sizeof(buf), &n), RUAD_OK);
    assert_int_equal(n, 0);
    assert_int_equal(decompress_next(d, NULL), RUAD_EOF);
    assert_int_equal(decompress_next(d, NULL), RUAD_EOF);
    assert_int_equal(fn(d, buf, sizeof(buf), &n), RUAD_OK);
    assert_int_equal(n, 0);
    decompress_free(d);
    decompress_free(NULL);
    report_diag_free(&diag);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_gzip_cases),
        cmocka_unit_test(test_gzip_nested_damage),
        cmocka_unit_test(test_gzip_big),
        cmocka_unit_test(test_zip_cases),
        cmocka_unit_test(test_zip_damaged),
        cmocka_unit_test(test_zip_counts),
        cmocka_unit_test(test_out_cap),
        cmocka_unit_test(test_ratio_cap),
        cmocka_unit_test(test_bombs),
        cmocka_unit_test(test_fd),
        cmocka_unit_test(test_read_cb),
    };

    return cmocka_run_group_tests_name("decompress", tests, NULL, NULL);
}
