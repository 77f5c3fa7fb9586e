/*
 * mkdemo.c - a realistic month of DMARC and TLS reports, made here, for
 * the quickstart's dashboard and for tests that need many distinct
 * reports.
 *
 *   mkdemo DIR [DAYS [END_EPOCH_DAY]]
 *
 * Writes into DIR, for each day and each of three domains, one DMARC
 * aggregate report per reporter (Google as zip, Yahoo and Outlook.com as
 * gzip, Mail.ru and a small MTA as plain XML; not every reporter every
 * day) and one TLS report per domain from two reporters (gzip JSON), and
 * prints "files=N dmarc=D tlsrpt=T records=R messages=M".  The senders
 * are a fixed cast per domain (own MX, a newsletter ESP, a CRM, forwarders
 * and spoofers) on documentation address ranges (RFC 5737, RFC 3849), so
 * the numbers tell a story: alignment failures from the CRM until it is
 * fixed mid-month, a spoofing burst, a TLS certificate that expires.
 * Deterministic: the same arguments give the same bytes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <zlib.h>

#define DAY 86400

struct rng {
    uint64_t s;
};

/* rng_next - splitmix64 */
static uint64_t
rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t
rng_below(struct rng *r, uint32_t n)
{
    return (uint32_t)(rng_next(r) % n);
}

static void
die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("mkdemo: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* A growable text buffer. */
struct text {
    char  *p;
    size_t n, cap;
};

static void
text_printf(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int     n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(t->p ? t->p + t->n : NULL, t->p ? t->cap - t->n : 0,
            fmt, ap);
        va_end(ap);
        if (n < 0)
            die("vsnprintf");
        if (t->p != NULL && (size_t)n < t->cap - t->n) {
            t->n += (size_t)n;
            return;
        }
        t->cap = (t->cap + (size_t)n + 1) * 2;
        if ((t->p = realloc(t->p, t->cap)) == NULL)
            die("out of memory");
    }
}

/* ---- output containers ---- */

static void
write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
        die("%s: %s", path, strerror(errno));
}

/* deflate_buf - raw deflate (wbits -15) or gzip (wbits 31) of (p, n) */
static unsigned char *
deflate_buf(const void *p, size_t n, int wbits, size_t *outlen)
{
    z_stream       zs;
    size_t         cap = compressBound((uLong)n) + 64;
    unsigned char *out = malloc(cap);

    memset(&zs, 0, sizeof(zs));
    if (out == NULL || deflateInit2(&zs, 9, Z_DEFLATED, wbits, 8,
        Z_DEFAULT_STRATEGY) != Z_OK)
        die("deflate init");
    zs.next_in = (unsigned char *)(uintptr_t)p;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        die("deflate");
    *outlen = zs.total_out;
    deflateEnd(&zs);
    return out;
}

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

/* write_zip - a one-member deflated zip, as Google sends them */
static void
write_zip(const char *path, const char *member, const char *p, size_t n)
{
    unsigned char  lh[30], cd[46], eocd[22], *data;
    size_t         dlen, nlen = strlen(member);
    uint32_t       crc = (uint32_t)crc32(0, (const unsigned char *)p,
        (uInt)n);
    FILE          *f = fopen(path, "wb");

    if (f == NULL)
        die("%s: %s", path, strerror(errno));
    data = deflate_buf(p, n, -15, &dlen);
    memset(lh, 0, sizeof(lh));
    put32(lh, 0x04034b50);
    put16(lh + 4, 20);
    put16(lh + 8, 8);
    put32(lh + 14, crc);
    put32(lh + 18, (uint32_t)dlen);
    put32(lh + 22, (uint32_t)n);
    put16(lh + 26, (uint32_t)nlen);
    memset(cd, 0, sizeof(cd));
    put32(cd, 0x02014b50);
    put16(cd + 4, 20);
    put16(cd + 6, 20);
    put16(cd + 10, 8);
    put32(cd + 16, crc);
    put32(cd + 20, (uint32_t)dlen);
    put32(cd + 24, (uint32_t)n);
    put16(cd + 28, (uint32_t)nlen);
    memset(eocd, 0, sizeof(eocd));
    put32(eocd, 0x06054b50);
    put16(eocd + 8, 1);
    put16(eocd + 10, 1);
    put32(eocd + 12, (uint32_t)(sizeof(cd) + nlen));
    put32(eocd + 16, (uint32_t)(sizeof(lh) + nlen + dlen));
    if (fwrite(lh, 1, sizeof(lh), f) != sizeof(lh) ||
        fwrite(member, 1, nlen, f) != nlen ||
        fwrite(data, 1, dlen, f) != dlen ||
        fwrite(cd, 1, sizeof(cd), f) != sizeof(cd) ||
        fwrite(member, 1, nlen, f) != nlen ||
        fwrite(eocd, 1, sizeof(eocd), f) != sizeof(eocd) || fclose(f) != 0)
        die("%s: write failed", path);
    free(data);
}

/* ---- the cast ---- */

static const char *const domains[] = {
    "example.com", "example.org", "shop.example.net"
};

enum sender_kind { S_OWN, S_ESP, S_CRM, S_FORWARD, S_SPOOF };

static const struct sender {
    enum sender_kind kind;
    const char      *ip;
    const char      *spf_domain;   /* NULL: the header_from domain */
    const char      *dkim_domain;  /* NULL: the header_from domain */
    const char      *selector;
    unsigned         volume;       /* messages per day for example.com */
} senders[] = {
    { S_OWN,     "192.0.2.10",     NULL, NULL, "s2024", 900 },
    { S_OWN,     "192.0.2.11",     NULL, NULL, "s2024", 700 },
    { S_OWN,     "2001:db8:25::10", NULL, NULL, "s2024", 400 },
    { S_ESP,     "198.51.100.20",  "bounce.esp.example", NULL, "esp1", 1500 },
    { S_ESP,     "198.51.100.21",  "bounce.esp.example", NULL, "esp1", 1200 },
    { S_CRM,     "198.51.100.77",  "crm-mail.example", "crm-mail.example",
      "crm", 250 },
    { S_FORWARD, "203.0.113.5",    "lists.example.edu", NULL, "s2024", 60 },
    { S_FORWARD, "2001:db8:f0::5", "forward.example.org", NULL, "s2024", 25 },
    { S_SPOOF,   "203.0.113.66",   "spoof.example.biz", "spoof.example.biz",
      "x", 40 },
    { S_SPOOF,   "203.0.113.99",   "203.0.113.99", NULL, NULL, 15 },
};

static const struct reporter {
    const char *org, *email, *container;   /* zip | gz | xml */
    unsigned    share;                      /* % of mail they see */
    unsigned    days_in_7;                  /* days a week they report */
} reporters[] = {
    { "google.com", "noreply-dmarc-support@google.com", "zip", 45, 7 },
    { "Yahoo", "dmarchelp@yahooinc.com", "gz", 15, 7 },
    { "Outlook.com", "dmarcreport@microsoft.com", "gz", 25, 7 },
    { "Mail.Ru", "dmarc_support@corp.mail.ru", "xml", 5, 5 },
    { "mx.partner.example", "postmaster@partner.example", "xml", 3, 3 },
};

struct totals {
    unsigned files, dmarc, tlsrpt;
    uint64_t records, messages;
};

/* dmarc_report - one reporter's report on one domain for one day */
static void
dmarc_report(const char *dir, const struct reporter *rp, unsigned ri,
    const char *dom, unsigned di, int64_t begin, unsigned day,
    unsigned days, struct rng *r, struct totals *t)
{
    struct text x = { 0 };
    char        path[4096], member[512], rid[64];
    unsigned    i, recs = 0;
    uint64_t    msgs = 0;
    bool        crm_fixed = day >= days / 2, burst = day % 9 == 4;

    snprintf(rid, sizeof(rid), "%" PRIu64, rng_next(r) % UINT64_C(10000000000000));
    text_printf(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n"
        "<feedback>\n  <version>1.0</version>\n  <report_metadata>\n"
        "    <org_name>%s</org_name>\n    <email>%s</email>\n"
        "    <report_id>%s</report_id>\n    <date_range>\n"
        "      <begin>%" PRId64 "</begin>\n      <end>%" PRId64 "</end>\n"
        "    </date_range>\n  </report_metadata>\n  <policy_published>\n"
        "    <domain>%s</domain>\n    <adkim>r</adkim>\n    <aspf>r</aspf>\n"
        "    <p>%s</p>\n    <sp>%s</sp>\n    <pct>100</pct>\n"
        "  </policy_published>\n", rp->org, rp->email, rid, begin,
        begin + DAY - 1, dom, di == 0 ? "reject" : di == 1 ? "quarantine" :
        "none", di == 0 ? "reject" : "none");
    for (i = 0; i < sizeof(senders) / sizeof(senders[0]); i++) {
        const struct sender *s = &senders[i];
        const char *dkim = "pass", *spf = "pass", *disp = "none";
        const char *dres = "pass", *sres = "pass", *reason = NULL;
        unsigned    n;

        /* smaller domains send less; not every sender reaches every
         * reporter every day */
        n = s->volume * rp->share / 100 / (di + 1);
        n = n / 2 + rng_below(r, n + 1);
        if (s->kind == S_SPOOF)
            n = burst ? n * 20 : rng_below(r, 4) ? 0 : n;
        if (s->kind == S_CRM && di == 2)
            n = 0;
        if (n == 0)
            continue;
        switch (s->kind) {
        case S_OWN:
        case S_ESP:
            break;
        case S_CRM:         /* signs with its own domain until fixed */
            if (!crm_fixed) {
                dkim = "fail";
                spf = "fail";
                dres = "pass";
                sres = "pass";
                disp = di == 0 ? "reject" : di == 1 ? "quarantine" : "none";
            }
            break;
        case S_FORWARD:
            spf = "fail";
            sres = rng_below(r, 2) ? "fail" : "softfail";
            reason = "forwarded";
            break;
        case S_SPOOF:
            dkim = spf = "fail";
            dres = s->dkim_domain ? "fail" : "none";
            sres = "fail";
            disp = di == 0 ? "reject" : di == 1 ? "quarantine" : "none";
            break;
        }
        text_printf(&x, "  <record>\n    <row>\n"
            "      <source_ip>%s</source_ip>\n      <count>%u</count>\n"
            "      <policy_evaluated>\n        <disposition>%s"
            "</disposition>\n        <dkim>%s</dkim>\n        <spf>%s</spf>\n",
            s->ip, n, disp, dkim, spf);
        if (reason != NULL)
            text_printf(&x, "        <reason>\n          <type>%s</type>\n"
                "        </reason>\n", reason);
        text_printf(&x, "      </policy_evaluated>\n    </row>\n"
            "    <identifiers>\n      <header_from>%s</header_from>\n"
            "    </identifiers>\n    <auth_results>\n", dom);
        if (s->selector != NULL)
            text_printf(&x, "      <dkim>\n        <domain>%s</domain>\n"
                "        <selector>%s</selector>\n        <result>%s"
                "</result>\n      </dkim>\n", s->dkim_domain ?
                s->dkim_domain : dom, s->selector, dres);
        text_printf(&x, "      <spf>\n        <domain>%s</domain>\n"
            "        <scope>mfrom</scope>\n        <result>%s</result>\n"
            "      </spf>\n    </auth_results>\n  </record>\n",
            s->spf_domain ? s->spf_domain : dom, sres);
        recs++;
        msgs += n;
    }
    text_printf(&x, "</feedback>\n");
    snprintf(member, sizeof(member), "%s!%s!%" PRId64 "!%" PRId64 ".xml",
        strchr(rp->email, '@') + 1, dom, begin, begin + DAY - 1);
    if (strcmp(rp->container, "zip") == 0) {
        snprintf(path, sizeof(path), "%s/%02u-%u-%u-%s.zip", dir, day, ri,
            di, member);
        write_zip(path, member, x.p, x.n);
    } else if (strcmp(rp->container, "gz") == 0) {
        size_t         n;
        unsigned char *gz = deflate_buf(x.p, x.n, 31, &n);

        snprintf(path, sizeof(path), "%s/%02u-%u-%u-%s.gz", dir, day, ri, di,
            member);
        write_file(path, gz, n);
        free(gz);
    } else {
        snprintf(path, sizeof(path), "%s/%02u-%u-%u-%s", dir, day, ri, di,
            member);
        write_file(path, x.p, x.n);
    }
    free(x.p);
    t->files++;
    t->dmarc++;
    t->records += recs;
    t->messages += msgs;
}

/* tls_report - one TLS report (RFC 8460) on one domain for one day */
static void
tls_report(const char *dir, unsigned ri, const char *dom, unsigned di,
    int64_t begin, unsigned day, unsigned days, struct rng *r,
    struct totals *t)
{
    static const char *const orgs[] = { "Google Inc.", "Microsoft Corporation" };
    static const char *const contacts[] = { "smtp-tls-reporting@google.com",
        "tlsrpt-noreply@microsoft.com" };
    struct text    x = { 0 };
    char           path[4096], ts[2][32];
    time_t         b = (time_t)begin, e = (time_t)(begin + DAY - 1);
    struct tm      tm;
    unsigned       ok = 200 + rng_below(r, 800) / (di + 1), expired = 0;
    unsigned       starttls = 0;
    unsigned char *gz;
    size_t         n;

    strftime(ts[0], sizeof(ts[0]), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&b, &tm));
    strftime(ts[1], sizeof(ts[1]), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&e, &tm));
    /* example.org's second MX lets its certificate expire for 3 days */
    if (di == 1 && day >= days / 3 && day < days / 3 + 3)
        expired = 20 + rng_below(r, 30);
    if (di == 2 && rng_below(r, 5) == 0)
        starttls = 1 + rng_below(r, 6);
    text_printf(&x, "{\"organization-name\":\"%s\",\"date-range\":{"
        "\"start-datetime\":\"%s\",\"end-datetime\":\"%s\"},"
        "\"contact-info\":\"%s\",\"report-id\":\"%s_%s_%" PRIu64 "\","
        "\"policies\":[{\"policy\":{\"policy-type\":\"sts\","
        "\"policy-string\":[\"version: STSv1\",\"mode: %s\",\"mx: *.%s\","
        "\"max_age: 604800\"],\"policy-domain\":\"%s\",\"mx-host\":"
        "[\"*.%s\"]},\"summary\":{\"total-successful-session-count\":%u,"
        "\"total-failure-session-count\":%u}", orgs[ri], ts[0], ts[1],
        contacts[ri], ts[0], dom, rng_next(r) % 1000000, di == 2 ?
        "testing" : "enforce", dom, dom, dom, ok, expired + starttls);
    if (expired + starttls > 0) {
        text_printf(&x, ",\"failure-details\":[");
        if (expired)
            text_printf(&x, "{\"result-type\":\"certificate-expired\","
                "\"sending-mta-ip\":\"%s\",\"receiving-mx-hostname\":"
                "\"mx2.%s\",\"receiving-ip\":\"192.0.2.26\","
                "\"failed-session-count\":%u}", ri ? "2001:db8:ffff::25" :
                "198.51.100.200", dom, expired);
        if (starttls)
            text_printf(&x, "%s{\"result-type\":\"starttls-not-supported\","
                "\"sending-mta-ip\":\"198.51.100.201\","
                "\"receiving-mx-hostname\":\"mx1.%s\","
                "\"failed-session-count\":%u}", expired ? "," : "", dom,
                starttls);
        text_printf(&x, "]");
    }
    text_printf(&x, "}]}\n");
    gz = deflate_buf(x.p, x.n, 31, &n);
    snprintf(path, sizeof(path), "%s/%02u-tls%u-%u-%s!%s!%" PRId64 ".json.gz",
        dir, day, ri, di, ri ? "microsoft.com" : "google.com", dom, begin);
    write_file(path, gz, n);
    free(gz);
    free(x.p);
    t->files++;
    t->tlsrpt++;
}

int
main(int argc, char **argv)
{
    struct totals t = { 0 };
    struct rng    r = { 20261128 };
    unsigned      days = 30, day, ri, di;
    int64_t       end_day, begin;

    if (argc < 2 || argc > 4)
        die("usage: mkdemo DIR [DAYS [END_EPOCH_DAY]]");
    if (argc > 2 && ((days = (unsigned)strtoul(argv[2], NULL, 10)) == 0 ||
        days > 3660))
        die("DAYS must be 1..3660");
    /* by default the month up to yesterday, so the data looks current */
    end_day = argc > 3 ? strtoll(argv[3], NULL, 10) :
        (int64_t)(time(NULL) / DAY);
    if (mkdir(argv[1], 0755) != 0 && errno != EEXIST)
        die("%s: %s", argv[1], strerror(errno));
    for (day = 0; day < days; day++) {
        begin = (end_day - (int64_t)days + day) * DAY;
        for (di = 0; di < 3; di++) {
            for (ri = 0; ri < sizeof(reporters) / sizeof(reporters[0]);
                ri++) {
                if ((day * 7 / days + day + ri) % 7 >=
                    reporters[ri].days_in_7)
                    continue;
                dmarc_report(argv[1], &reporters[ri], ri, domains[di], di,
                    begin, day, days, &r, &t);
            }
            for (ri = 0; ri < 2; ri++)
                tls_report(argv[1], ri, domains[di], di, begin, day, days,
                    &r, &t);
        }
    }
    printf("files=%u dmarc=%u tlsrpt=%u records=%" PRIu64 " messages=%"
        PRIu64 "\n", t.files, t.dmarc, t.tlsrpt, t.records, t.messages);
    return 0;
}
