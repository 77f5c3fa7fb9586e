/*
 * api_params.c - routes, query parameters and cursors of /api/v1.
 *
 * RFC 3339 5.6 times (and full-dates), RFC 3986 2.1 percent-encoding,
 * RFC 4648 5 base64url cursors.
 *
 * SECURITY: every byte here comes from the network before anything else
 * looks at it.  Values are bounded (API_VALUE_MAX, API_PARAMS_MAX,
 * API_CURSOR_MAX), parsed whole (no trailing junk), and only values that
 * passed are handed on; the SQL gets them as parameters, never as text.
 * A cursor is a hint the client hands back: it is decoded strictly and
 * its fields are range-checked like any other input.
 */
#include "api_params.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "inbound_state.h"
#include "report.h"

_Static_assert(API_CURSOR_TIME_MIN == REPORT_TIME_MIN * 1000000LL &&
    API_CURSOR_TIME_MAX == REPORT_TIME_MAX * 1000000LL + 999999,
    "a report cursor spans the times a report can have");

enum {
    P_DOMAIN = 1u << 0, P_ORG = 1u << 1, P_SINCE = 1u << 2,
    P_UNTIL = 1u << 3, P_LIMIT = 1u << 4, P_CURSOR = 1u << 5,
    P_GROUP = 1u << 6, P_STATE = 1u << 7, P_CHANNEL = 1u << 8,
    P_SOURCE_IP = 1u << 9, P_HEADER_FROM = 1u << 10,
};

static const struct api_key {
    const char *name;
    unsigned    bit;
} api_keys[] = {
    { "domain", P_DOMAIN }, { "org", P_ORG }, { "since", P_SINCE },
    { "until", P_UNTIL }, { "limit", P_LIMIT }, { "cursor", P_CURSOR },
    { "group_by", P_GROUP }, { "state", P_STATE },
    { "channel", P_CHANNEL }, { "source_ip", P_SOURCE_IP },
    { "header_from", P_HEADER_FROM },
};

/* Which parameters each endpoint takes. */
static unsigned
api_allowed(enum api_ep ep)
{
    switch (ep) {
    case API_EP_DMARC_REPORTS:
    case API_EP_TLS_REPORTS:
        return P_DOMAIN | P_ORG | P_SINCE | P_UNTIL | P_LIMIT | P_CURSOR;
    case API_EP_DMARC_SUMMARY:
    case API_EP_TLS_SUMMARY:
        return P_DOMAIN | P_SINCE | P_UNTIL | P_GROUP;
    case API_EP_DMARC_SOURCES:
        return P_DOMAIN | P_SINCE | P_UNTIL | P_LIMIT | P_CURSOR;
    case API_EP_DMARC_RECORDS:
        return P_DOMAIN | P_SOURCE_IP | P_HEADER_FROM | P_SINCE | P_UNTIL |
            P_LIMIT | P_CURSOR;
    case API_EP_INBOUND:
        return P_STATE | P_CHANNEL | P_SINCE | P_UNTIL | P_LIMIT | P_CURSOR;
    default:
        return 0;
    }
}

static char
api_cursor_kind(enum api_ep ep)
{
    switch (ep) {
    case API_EP_DMARC_REPORTS: return 'd';
    case API_EP_TLS_REPORTS:   return 't';
    case API_EP_INBOUND:       return 'i';
    case API_EP_DMARC_SOURCES: return 's';
    case API_EP_DMARC_RECORDS: return 'r';
    default:                   return 0;
    }
}

const char *
api_ep_name(enum api_ep ep)
{
    static const char *const names[] = {
        "none", "domains", "dmarc_reports", "dmarc_report",
        "dmarc_summary", "dmarc_sources", "tlsrpt_reports", "tlsrpt_report",
        "tlsrpt_summary", "reporters", "inbound", "inbound_raw",
        "inbound_reprocess", "dmarc_records", "openapi",
    };

    return (unsigned)ep < sizeof(names) / sizeof(names[0]) ? names[ep] :
        "none";
}

/* ---- numbers and times ---- */

/* parse_u64 - all of (s, len) as a decimal number <= max */
static bool
parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t   i;

    if (len == 0 || len > 20)
        return false;
    for (i = 0; i < len; i++) {
        unsigned d = (unsigned char)s[i] - '0';

        if (d > 9 || v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* digits - n decimal digits at s */
static bool
digits(const char *s, size_t n, int *out)
{
    int    v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int
month_days(int y, int m)
{
    static const int n[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return n[m - 1];
}

bool
api_parse_time(const char *s, size_t len, int64_t *out)
{
    int     y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0;
    int64_t t, off = 0;
    size_t  i;

    if (len < 10 || !digits(s, 4, &y) || s[4] != '-' ||
        !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d))
        return false;
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 ||
        d > month_days(y, mo))
        return false;
    if (len > 10) {
        if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || len < 20 ||
            !digits(s + 11, 2, &h) || s[13] != ':' ||
            !digits(s + 14, 2, &mi) || s[16] != ':' ||
            !digits(s + 17, 2, &sec) || h > 23 || mi > 59 || sec > 60)
            return false;
        i = 19;
        if (s[i] == '.') {                  /* fraction: ignored */
            size_t f = ++i;

            while (i < len && s[i] >= '0' && s[i] <= '9')
                i++;
            if (i == f || i - f > 9)
                return false;
        }
        if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
            i++;
        } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') &&
            digits(s + i + 1, 2, &oh) && s[i + 3] == ':' &&
            digits(s + i + 4, 2, &om) && oh <= 23 && om <= 59) {
            off = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
            i += 6;
        } else {
            return false;
        }
        if (i != len)
            return false;
        if (sec == 60)                      /* leap second */
            sec = 59;
    }
    t = report_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
        sec - off;
    if (t < 0)
        return false;
    *out = t;
    return true;
}

/* ---- base64url ---- */

static const char b64u[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
b64u_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

void
api_cursor_encode(const struct api_cursor *c, char dst[API_CURSOR_MAX])
{
    char          raw[96];
    size_t        n, i, o = 0;
    unsigned long v;
    int           r;

    if (c->kind == 's')
        r = snprintf(raw, sizeof(raw), "s.%lld.%s", (long long)c->a,
            c->text);
    else
        r = snprintf(raw, sizeof(raw), "%c.%lld.%lld", c->kind,
            (long long)c->a, (long long)c->id);
    n = r < 0 ? 0 : (size_t)r >= sizeof(raw) ? sizeof(raw) - 1 : (size_t)r;
    for (i = 0; i + 2 < n && o + 4 < API_CURSOR_MAX; i += 3) {
        v = (unsigned long)(unsigned char)raw[i] << 16 |
            (unsigned long)(unsigned char)raw[i + 1] << 8 |
            (unsigned char)raw[i + 2];
        dst[o++] = b64u[v >> 18 & 63];
        dst[o++] = b64u[v >> 12 & 63];
        dst[o++] = b64u[v >> 6 & 63];
        dst[o++] = b64u[v & 63];
    }
    if (n - i == 1 && o + 2 < API_CURSOR_MAX) {
        v = (unsigned long)(unsigned char)raw[i] << 16;
        dst[o++] = b64u[v >> 18 & 63];
        dst[o++] = b64u[v >> 12 & 63];
    } else if (n - i == 2 && o + 3 < API_CURSOR_MAX) {
        v = (unsigned long)(unsigned char)raw[i] << 16 |
            (unsigned long)(unsigned char)raw[i + 1] << 8;
        dst[o++] = b64u[v >> 18 & 63];
        dst[o++] = b64u[v >> 12 & 63];
        dst[o++] = b64u[v >> 6 & 63];
    }
    dst[o] = '\0';
}

/* parse_i64 - all of (s, len) as a decimal, optionally negative */
static bool
parse_i64(const char *s, size_t len, int64_t *out)
{
    uint64_t v;
    bool     neg = len > 0 && s[0] == '-';

    if (neg) {
        s++;
        len--;
    }
    if (!parse_u64(s, len, (uint64_t)INT64_MAX, &v))
        return false;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return true;
}

bool
api_cursor_decode(const char *s, size_t len, struct api_cursor *c)
{
    unsigned char raw[API_CURSOR_MAX];
    size_t        n = 0, i, bits = 0;
    unsigned long acc = 0;
    const char   *p, *dot, *end;

    if (len == 0 || len >= API_CURSOR_MAX || len % 4 == 1)
        return false;
    for (i = 0; i < len; i++) {
        int v = b64u_val((unsigned char)s[i]);

        if (v < 0)
            return false;
        acc = (acc << 6 | (unsigned)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            raw[n++] = (unsigned char)(acc >> bits & 0xff);
        }
    }
    if ((acc & ((1ul << bits) - 1)) != 0)  /* non-canonical tail */
        return false;
    memset(c, 0, sizeof(*c));
    if (n < 4 || raw[1] != '.')    /* "s.0." is the shortest */
        return false;
    c->kind = (char)raw[0];
    if (c->kind != 'd' && c->kind != 't' && c->kind != 'i' &&
        c->kind != 's' && c->kind != 'r')
        return false;
    p = (const char *)raw + 2;
    end = (const char *)raw + n;
    if ((dot = memchr(p, '.', (size_t)(end - p))) == NULL ||
        !parse_i64(p, (size_t)(dot - p), &c->a))
        return false;
    p = dot + 1;
    if (c->kind == 's') {
        if (c->a < 0 || (size_t)(end - p) >= sizeof(c->text))
            return false;
        for (i = 0; p + i < end; i++) {
            char ch = p[i];

            if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
                (ch >= 'A' && ch <= 'F') || ch == '.' || ch == ':'))
                return false;
            c->text[i] = ch;
        }
        c->text[i] = '\0';
        return true;
    }
    if (c->kind == 'r')                 /* report id, record number */
        return c->a > 0 && parse_i64(p, (size_t)(end - p), &c->id) &&
            c->id >= 0 && c->id <= INT32_MAX;
    /* d, t: a report's begin time in microseconds, which a stored report
     * keeps within REPORT_TIME_MIN .. REPORT_TIME_MAX (the SQL turns any
     * other into a timestamp or interval out of range); i: always 0 */
    if ((c->kind == 'i' && c->a != 0) || (c->kind != 'i' &&
        (c->a < API_CURSOR_TIME_MIN || c->a > API_CURSOR_TIME_MAX)))
        return false;
    return parse_i64(p, (size_t)(end - p), &c->id) && c->id > 0;
}

/* utf8_valid - is (s, n) well-formed UTF-8 (RFC 3629 4: no overlong
 * forms, no surrogates, nothing past U+10FFFF)?  PostgreSQL refuses any
 * other text parameter, so it is refused here, as the parameter's fault */
static bool
utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0, k, more;
    unsigned long cp;

    while (i < n) {
        unsigned char c = s[i++];

        if (c < 0x80)
            continue;
        if (c >= 0xc2 && c <= 0xdf) {
            more = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            more = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            more = 3;
            cp = c & 0x07;
        } else {
            return false;              /* continuation, 0xc0-c1, 0xf5- */
        }
        if (n - i < more)
            return false;
        for (k = 0; k < more; k++, i++) {
            if ((s[i] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i] & 0x3f);
        }
        if ((more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return false;
    }
    return true;
}

/* ---- routes ---- */

/* seg_id - a path segment that is a row id (1 .. 2^63-1) */
static bool
seg_id(const char *s, size_t len, int64_t *id)
{
    uint64_t v;

    if (len == 0 || s[0] == '0' || !parse_u64(s, len, (uint64_t)INT64_MAX,
        &v))
        return false;
    *id = (int64_t)v;
    return true;
}

/* eat - does (*p, *len) start with word?  then step past it */
static bool
eat(const char **p, size_t *len, const char *word)
{
    size_t n = strlen(word);

    if (*len < n || memcmp(*p, word, n) != 0)
        return false;
    *p += n;
    *len -= n;
    return true;
}

enum api_ep
api_route(const char *path, size_t len, const char *method, int64_t *id,
    bool *method_ok, const char **allow)
{
    enum api_ep ep = API_EP_NONE;
    const char *slash;
    bool        post = false;

    *id = 0;
    *method_ok = false;
    *allow = "GET, HEAD";
    if (len == 8 && memcmp(path, "/domains", 8) == 0)
        ep = API_EP_DOMAINS;
    else if (len == 10 && memcmp(path, "/reporters", 10) == 0)
        ep = API_EP_REPORTERS;
    else if (len == 13 && memcmp(path, "/openapi.json", 13) == 0)
        ep = API_EP_OPENAPI;
    else if (len == 14 && memcmp(path, "/dmarc/summary", 14) == 0)
        ep = API_EP_DMARC_SUMMARY;
    else if (len == 14 && memcmp(path, "/dmarc/sources", 14) == 0)
        ep = API_EP_DMARC_SOURCES;
    else if (len == 14 && memcmp(path, "/dmarc/records", 14) == 0)
        ep = API_EP_DMARC_RECORDS;
    else if (len == 15 && memcmp(path, "/tlsrpt/summary", 15) == 0)
        ep = API_EP_TLS_SUMMARY;
    else if (len == 8 && memcmp(path, "/inbound", 8) == 0)
        ep = API_EP_INBOUND;
    else if (eat(&path, &len, "/dmarc/reports")) {
        if (len == 0)
            ep = API_EP_DMARC_REPORTS;
        else if (path[0] == '/' && seg_id(path + 1, len - 1, id))
            ep = API_EP_DMARC_REPORT;
    } else if (eat(&path, &len, "/tlsrpt/reports")) {
        if (len == 0)
            ep = API_EP_TLS_REPORTS;
        else if (path[0] == '/' && seg_id(path + 1, len - 1, id))
            ep = API_EP_TLS_REPORT;
    } else if (eat(&path, &len, "/inbound/") && len > 0 &&
        (slash = memchr(path, '/', len)) != NULL &&
        seg_id(path, (size_t)(slash - path), id)) {
        len -= (size_t)(slash - path);
        if (len == 4 && memcmp(slash, "/raw", 4) == 0)
            ep = API_EP_INBOUND_RAW;
        else if (len == 10 && memcmp(slash, "/reprocess", 10) == 0) {
            ep = API_EP_INBOUND_REPROCESS;
            post = true;
            *allow = "POST";
        }
    }
    if (ep == API_EP_NONE) {
        *id = 0;
        return ep;
    }
    if (post)
        *method_ok = strcmp(method, "POST") == 0;
    else
        *method_ok = strcmp(method, "GET") == 0 ||
            strcmp(method, "HEAD") == 0;
    return ep;
}

/* ---- query parameters ---- */

void
api_query_init(struct api_query *q, enum api_ep ep, int64_t id)
{
    memset(q, 0, sizeof(*q));
    q->ep = ep;
    q->id = id;
    q->limit = API_LIMIT_DEFAULT;
    snprintf(q->group_by, sizeof(q->group_by), "day");
}

/* one_of - is (v, n) one of the NULL-ended words? */
static bool
one_of(const char *v, size_t n, const char *const *words)
{
    for (; *words != NULL; words++)
        if (strlen(*words) == n && memcmp(*words, v, n) == 0)
            return true;
    return false;
}

/* set_word - copy a checked word */
static void
set_word(char *dst, size_t cap, const char *v, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

/* set_domain - (v, n) as a lower-case domain name into dst
 * (API_DOMAIN_MAX + 1 bytes) */
static bool
set_domain(char *dst, const char *v, size_t n)
{
    size_t i;

    if (n == 0 || n > API_DOMAIN_MAX)
        return false;
    for (i = 0; i < n; i++) {
        char c = v[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
            return false;
        dst[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
    }
    dst[n] = '\0';
    return true;
}

/* set_ip - (v, n) as an IPv4 or IPv6 address, canonical text into dst */
static bool
set_ip(char *dst, size_t cap, const char *v, size_t n)
{
    unsigned char a[16];
    char          t[INET6_ADDRSTRLEN];

    if (n == 0 || n >= sizeof(t))
        return false;
    memcpy(t, v, n);
    t[n] = '\0';
    if (inet_pton(AF_INET, t, a) == 1)
        return inet_ntop(AF_INET, a, dst, (socklen_t)cap) != NULL;
    if (inet_pton(AF_INET6, t, a) == 1)
        return inet_ntop(AF_INET6, a, dst, (socklen_t)cap) != NULL;
    return false;
}

static enum ruad_rc
bad(char *err, size_t errlen, const char *key, const char *why)
{
    snprintf(err, errlen, "%s: %s", key, why);
    return RUAD_MALFORMED;
}

enum ruad_rc
api_query_set(struct api_query *q, const char *key, const char *v,
    size_t n, char *err, size_t errlen)
{
    static const char *const dmarc_groups[] = { "day", "source_ip",
        "header_from", "org", "disposition", NULL };
    static const char *const tls_groups[] = { "day", "result_type",
        "receiving_mx_hostname", "sending_mta_ip", "policy_type", NULL };
    static const char *const channels[] = { "smtp", "https", "import",
        "imap", NULL };
    const struct api_key *k = NULL;
    enum inbound_state    state;
    uint64_t              u;
    size_t                i;

    for (i = 0; i < sizeof(api_keys) / sizeof(api_keys[0]); i++)
        if (strcmp(api_keys[i].name, key) == 0)
            k = &api_keys[i];
    if (k == NULL || (api_allowed(q->ep) & k->bit) == 0)
        return bad(err, errlen, key, "unknown parameter for this path");
    if (q->seen & k->bit)
        return bad(err, errlen, key, "given more than once");
    q->seen |= k->bit;
    if (n > API_VALUE_MAX)
        return bad(err, errlen, key, "longer than 255 bytes");
    if (memchr(v, '\0', n) != NULL)
        return bad(err, errlen, key, "contains a NUL byte");
    switch (k->bit) {
    case P_DOMAIN:
    case P_HEADER_FROM:
        if (!set_domain(k->bit == P_DOMAIN ? q->domain : q->header_from,
            v, n))
            return bad(err, errlen, key, "not a domain name");
        break;
    case P_SOURCE_IP:
        if (!set_ip(q->source_ip, sizeof(q->source_ip), v, n))
            return bad(err, errlen, key, "not an IPv4 or IPv6 address");
        break;
    case P_ORG:
        if (n == 0)
            return bad(err, errlen, key, "empty");
        for (i = 0; i < n; i++)
            if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
                return bad(err, errlen, key, "contains a control character");
        if (!utf8_valid((const unsigned char *)v, n))
            return bad(err, errlen, key, "not valid UTF-8");
        set_word(q->org, sizeof(q->org), v, n);
        break;
    case P_SINCE:
    case P_UNTIL:
        if (!api_parse_time(v, n, k->bit == P_SINCE ? &q->since : &q->until))
            return bad(err, errlen, key, "not an RFC 3339 date-time or "
                "date (2024-05-01T00:00:00Z, 2024-05-01)");
        if (k->bit == P_SINCE)
            q->has_since = true;
        else
            q->has_until = true;
        if (q->has_since && q->has_until && q->until <= q->since)
            return bad(err, errlen, key, "until must be after since");
        break;
    case P_LIMIT:
        if (!parse_u64(v, n, API_LIMIT_MAX, &u) || u == 0)
            return bad(err, errlen, key, "not a whole number 1..1000");
        q->limit = (unsigned)u;
        break;
    case P_CURSOR:
        if (!api_cursor_decode(v, n, &q->cursor) ||
            q->cursor.kind != api_cursor_kind(q->ep))
            return bad(err, errlen, key, "not a cursor from this path");
        q->has_cursor = true;
        break;
    case P_GROUP:
        if (!one_of(v, n, q->ep == API_EP_DMARC_SUMMARY ? dmarc_groups :
            tls_groups))
            return bad(err, errlen, key, q->ep == API_EP_DMARC_SUMMARY ?
                "one of day, source_ip, header_from, org, disposition" :
                "one of day, result_type, receiving_mx_hostname, "
                "sending_mta_ip, policy_type");
        set_word(q->group_by, sizeof(q->group_by), v, n);
        break;
    case P_STATE:
        if (!inbound_state_parse(v, n, &state))
            return bad(err, errlen, key, "not an inbound state");
        set_word(q->state, sizeof(q->state), v, n);
        break;
    case P_CHANNEL:
        if (!one_of(v, n, channels))
            return bad(err, errlen, key, "one of smtp, https, import, imap");
        set_word(q->channel, sizeof(q->channel), v, n);
        break;
    default:
        return bad(err, errlen, key, "unknown parameter");
    }
    return RUAD_OK;
}

/* pct_decode - RFC 3986 2.1 (and '+' as space) of (s, n) into dst */
static bool
pct_decode(const char *s, size_t n, char *dst, size_t cap, size_t *out)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        char c = s[i];

        if (o + 1 >= cap)
            return false;
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi, lo;

            if (i + 2 >= n || (hi = report_hexval(s[i + 1])) < 0 ||
                (lo = report_hexval(s[i + 2])) < 0)
                return false;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        dst[o++] = c;
    }
    dst[o] = '\0';
    *out = o;
    return true;
}

enum ruad_rc
api_query_parse(struct api_query *q, const char *qs, size_t len,
    char *badkey, size_t badlen, char *err, size_t errlen)
{
    char         key[API_VALUE_MAX + 1], val[API_VALUE_MAX * 3 + 1];
    size_t       i = 0, klen, vlen, count = 0;
    enum ruad_rc rc;

    badkey[0] = '\0';
    for (i = 0; i < len; i++)              /* count first: the limit */
        if (qs[i] != '&' && (i == 0 || qs[i - 1] == '&'))
            count++;
    if (count > API_PARAMS_MAX) {
        snprintf(err, errlen, "more than %d query parameters",
            API_PARAMS_MAX);
        return RUAD_MALFORMED;
    }
    i = 0;
    while (i < len) {
        const char *amp = memchr(qs + i, '&', len - i);
        size_t      end = amp ? (size_t)(amp - qs) : len;
        const char *eq = memchr(qs + i, '=', end - i);
        size_t      kend = eq ? (size_t)(eq - qs) : end;

        if (end == i) {                    /* "a=1&&b=2": skip */
            i++;
            continue;
        }
        if (!pct_decode(qs + i, kend - i, key, sizeof(key), &klen) ||
            memchr(key, '\0', klen) != NULL) {
            snprintf(err, errlen, "a parameter name is malformed");
            return RUAD_MALFORMED;
        }
        if (!pct_decode(eq ? eq + 1 : qs + end, eq ? end - kend - 1 : 0,
            val, sizeof(val), &vlen)) {
            snprintf(badkey, badlen, "%s", key);
            return bad(err, errlen, key, "malformed or too long");
        }
        if ((rc = api_query_set(q, key, val, vlen, err, errlen)) !=
            RUAD_OK) {
            snprintf(badkey, badlen, "%s", key);
            return rc;
        }
        i = end + 1;
    }
    return RUAD_OK;
}
