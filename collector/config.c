/*
 * config.c - the settings table (see config.h).
 *
 * One row per key (Redis createIntConfig, Postfix {VAR, DEF, &var, min,
 * max}): name, kind, where it lives, bounds and a line of help.  Sizes
 * take a K, M or G suffix (powers of 1024).  Keys this table does not
 * hold (imap.NAME.KEY) belong to the module that registered them
 * (config_register_keys), which parses, checks and documents them.
 *
 * SECURITY: the file is trusted (the admin's), but a line is bounded and
 * every value is range-checked, so a typo cannot turn a limit off.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "limits.h"
#include "log.h"

#define CONFIG_LINE_MAX (64u << 10)   /* one line of the file */

/* CFG_LIST: a comma list on the heap (char *), any length up to
 * CONFIG_LIST_MAX; repeating the key in the file appends */
enum cfg_kind { CFG_SIZE, CFG_UINT, CFG_LOGLEVEL, CFG_STRING, CFG_BOOL,
    CFG_LIST };

static char config_empty[1];         /* every list starts as this "" */

static const struct config_row {
    const char    *name;
    enum cfg_kind  kind;
    size_t         off;          /* offsetof(struct config, ...) */
    size_t         width;        /* sizeof the field */
    uint64_t       min, max;
    const char    *help;
} config_rows[] = {
#define LIM(f) offsetof(struct config, limits.f), \
    sizeof(((struct config *)0)->limits.f)
    { "decompress_max_bytes", CFG_SIZE, LIM(decomp_out_max),
      1u << 20, 4ull << 30, "decompressed bytes per received file" },
    { "decompress_max_ratio", CFG_UINT, LIM(decomp_ratio_max),
      10, 100000, "decompressed/compressed ratio, checked past 1 MiB" },
    { "zip_max_members", CFG_UINT, LIM(zip_members_max),
      1, 1024, "report members taken from one zip" },
    { "xml_max_depth", CFG_UINT, LIM(xml_depth_max),
      8, 256, "element nesting in a DMARC report" },
    { "xml_max_text", CFG_SIZE, LIM(text_max),
      256, 1u << 20, "bytes in one XML text value" },
    { "dmarc_max_records", CFG_UINT, LIM(records_max),
      1, 1000000000, "records in one DMARC report" },
    { "tlsrpt_max_bytes", CFG_SIZE, LIM(json_max),
      1024, 256u << 20, "bytes of one TLS report (JSON)" },
    { "tlsrpt_max_values", CFG_UINT, LIM(json_values_max),
      1000, 10000000, "JSON values in one TLS report" },
    { "tlsrpt_max_depth", CFG_UINT, LIM(json_depth_max),
      6, 64, "JSON nesting in a TLS report" },
    { "mime_max_depth", CFG_UINT, LIM(mime_depth_max),
      2, 32, "multipart and message/rfc822 nesting in a mail" },
    { "mime_max_parts", CFG_UINT, LIM(mime_parts_max),
      4, 1024, "MIME parts walked in one mail" },
    { "mime_max_header_bytes", CFG_SIZE, LIM(mime_header_max),
      4096, 16u << 20, "bytes of one mail header block" },
#undef LIM
    { "import_max_bytes", CFG_SIZE, offsetof(struct config, import_max),
      sizeof(uint64_t), 1024, 1ull << 30, "bytes of one imported file" },
    { "http_listen", CFG_STRING, offsetof(struct config, http_listen),
      CONFIG_STRING_MAX, 0, 0, "HTTP(S) address, host:port (127.0.0.1:8443); "
      "[::]:443 takes IPv4 and IPv6 clients" },
    { "http_path_prefix", CFG_STRING, offsetof(struct config, http_prefix),
      CONFIG_STRING_MAX, 0, 0, "path prefix for every route, e.g. /rua" },
    { "tls_cert", CFG_STRING, offsetof(struct config, tls_cert),
      CONFIG_STRING_MAX, 0, 0, "PEM certificate chain (with tls_key: HTTPS)" },
    { "tls_key", CFG_STRING, offsetof(struct config, tls_key),
      CONFIG_STRING_MAX, 0, 0, "PEM private key" },
    { "http_max_body", CFG_SIZE, offsetof(struct config, http_max_body),
      sizeof(uint64_t), 1024, 256u << 20, "bytes of one POST body" },
    { "http_timeout", CFG_UINT, offsetof(struct config, http_timeout),
      sizeof(uint32_t), 1, 3600, "seconds an idle connection is kept" },
    { "http_header_timeout", CFG_UINT,
      offsetof(struct config, http_header_timeout), sizeof(uint32_t), 1,
      3600, "seconds to a request's headers (from connect, or from its first "
      "byte on a kept connection)" },
    { "http_body_timeout", CFG_UINT,
      offsetof(struct config, http_body_timeout), sizeof(uint32_t), 1,
      3600, "seconds from a request's headers to the end of its body" },
    { "http_max_connections", CFG_UINT,
      offsetof(struct config, http_max_connections), sizeof(uint32_t),
      1, 100000, "HTTP connections in all" },
    { "http_max_per_ip", CFG_UINT, offsetof(struct config, http_max_per_ip),
      sizeof(uint32_t), 1, 100000, "HTTP connections from one address "
      "(IPv6: one /64)" },
    { "http_threads", CFG_UINT, offsetof(struct config, http_threads),
      sizeof(uint32_t), 1, 256, "HTTP request threads" },
    { "web_root", CFG_STRING, offsetof(struct config, web_root),
      CONFIG_STRING_MAX, 0, 0, "the dashboard's files, served at / (default: "
      "web/ beside the binary if there, else the installed share/ruad/web)" },
    { "workers", CFG_UINT, offsetof(struct config, workers),
      sizeof(uint32_t), 1, 256, "report-processing threads" },
#define OFF(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)
    { "smtp_listen", CFG_STRING, OFF(smtp_listen), 0, 0,
      "SMTP address, host:port (127.0.0.1:2525); [::]:25 takes IPv4 and "
      "IPv6; empty: no SMTP" },
    { "smtp_hostname", CFG_STRING, OFF(smtp_hostname), 0, 0,
      "name in the banner and Received header (the host name)" },
    { "smtp_accept", CFG_LIST, OFF(smtp_accept), 0, 0,
      "recipients taken: a@rua.example or @rua.example, comma separated" },
    { "smtp_max_message_size", CFG_SIZE, OFF(smtp_max_message),
      64u << 10, 1u << 30, "bytes of one message (SIZE)" },
    { "smtp_max_recipients", CFG_UINT, OFF(smtp_max_recipients), 1, 10000,
      "recipients of one message" },
    { "smtp_timeout", CFG_UINT, OFF(smtp_timeout), 10, 3600,
      "seconds an idle SMTP session is kept" },
    { "smtp_data_timeout", CFG_UINT, OFF(smtp_data_timeout), 1, 3600,
      "seconds from 354 to the final dot (then 421)" },
    { "smtp_session_timeout", CFG_UINT, OFF(smtp_session_timeout), 1,
      86400, "seconds an SMTP session may last, however busy" },
    { "smtp_max_connections", CFG_UINT, OFF(smtp_max_connections), 1,
      100000, "SMTP sessions in all" },
    { "smtp_max_per_ip", CFG_UINT, OFF(smtp_max_per_ip), 1, 100000,
      "SMTP sessions from one address (IPv6: one /64)" },
    { "smtp_greet_delay_ms", CFG_UINT, OFF(smtp_greet_delay_ms), 0, 10000,
      "wait before the banner; input before it is refused" },
    { "receive_max_bytes", CFG_SIZE, OFF(receive_max_bytes), 1u << 20,
      64ull << 30, "bytes of mail and bodies held at once, SMTP and HTTP "
      "(then 421/503)" },
    { "store_threads", CFG_UINT, OFF(store_threads), 1, 256,
      "threads committing received reports (HTTP and SMTP), in batches" },
    { "smtp_threads", CFG_UINT, OFF(store_threads), 1, 256,
      "the older name of store_threads" },
    { "smtp_require_tls", CFG_BOOL, OFF(smtp_require_tls), 0, 1,
      "MAIL only after STARTTLS (yes/no)" },
    { "smtp_reject_bare_lf", CFG_BOOL, OFF(smtp_reject_bare_lf), 0, 1,
      "refuse messages with a bare LF or CR, 550 5.5.2 (yes/no)" },
    { "rate_limit_per_ip", CFG_UINT, OFF(rate_limit_per_ip), 0, 1000000,
      "reports per window from one address, IPv6 per /64, per channel "
      "(HTTP 429, SMTP 452 4.7.1); 0: no limit" },
    { "rate_limit_per_sender", CFG_UINT, OFF(rate_limit_per_sender), 0,
      1000000, "mails per window from one MAIL FROM domain (SMTP 452 "
      "4.7.1); 0: no limit" },
    { "rate_limit_window", CFG_UINT, OFF(rate_limit_window), 1, 86400,
      "seconds of the rate limits' window (counted in this instance)" },
    { "dns_server", CFG_STRING, OFF(dns_server), 0, 0,
      "DNS server for DKIM and dns-records --check, IPv4:port or [IPv6]:port"
      },
    { "dns_timeout_ms", CFG_UINT, OFF(dns_timeout_ms), 1000, 60000,
      "DNS timeout per try (two tries per server)" },
    { "dkim_dns_budget_ms", CFG_UINT, OFF(dkim_dns_budget_ms), 500, 120000,
      "time for all DKIM key lookups of one mail, asked in parallel; then "
      "temperror" },
    { "dkim_temperror_giveup", CFG_UINT, OFF(dkim_temperror_giveup), 0,
      30 * 86400, "seconds after receipt a DKIM temperror is retried; then "
      "it stands (no pass) and the DKIM policy decides" },
    { "tlsrpt_require_dkim", CFG_BOOL, OFF(tlsrpt_require_dkim), 0, 1,
      "mailed TLS reports need an aligned DKIM pass (RFC 8460 5.3)" },
    { "dmarc_require_dkim", CFG_BOOL, OFF(dmarc_require_dkim), 0, 1,
      "mailed DMARC reports need an aligned DKIM pass" },
    { "trusted_reporters", CFG_LIST, OFF(trusted_reporters), 0, 0,
      "domains whose mailed reports are taken without DKIM, comma list" },
    { "public_url", CFG_STRING, OFF(public_url), 0, 0,
      "https URL reporters reach ruad at (TLS rua, dns-records)" },
    { "mta_sts_policy", CFG_LIST, OFF(mta_sts_policy), 0, 0,
      "MTA-STS policies served, DOMAIN:FILE, comma separated" },
    { "tls_sni_certs", CFG_LIST, OFF(tls_sni_certs), 0, 0,
      "more certificates, CERT:KEY comma list, picked by TLS SNI" },
    { "api_tokens_file", CFG_STRING, OFF(api_tokens_file), 0, 0,
      "tokens of /api/v1 (ruad token new); empty: the API refuses all" },
    { "metrics_require_token", CFG_BOOL, OFF(metrics_require_token), 0, 1,
      "GET /metrics needs an API token, any scope (yes/no)" },
    { "http_ops_cache_ms", CFG_UINT, OFF(http_ops_cache_ms), 0, 60000,
      "ms /metrics and /readyz reuse one database answer (0: ask each time)"
      },
#undef OFF
    { "log_level", CFG_LOGLEVEL, offsetof(struct config, log_level),
      sizeof(int), 0, 3, "error, warn, info or debug" },
    { "database_url", CFG_STRING, offsetof(struct config, database_url),
      CONFIG_STRING_MAX, 0, 0, "PostgreSQL URL (env RUAD_DATABASE_URL)" },
};

#define N_ROWS (sizeof(config_rows) / sizeof(config_rows[0]))

void
config_init(struct config *c)
{
    memset(c, 0, sizeof(*c));
    const char *url = getenv("RUAD_DATABASE_URL");

    report_limits_default(&c->limits);
    c->log_level = LOG_L_INFO;
    c->import_max = INBOUND_IMPORT_MAX;
    snprintf(c->http_listen, sizeof(c->http_listen), "127.0.0.1:8443");
    c->http_max_body = HTTP_BODY_MAX;
    c->http_timeout = HTTP_TIMEOUT_S;
    c->http_header_timeout = HTTP_HEADER_TIMEOUT_S;
    c->http_body_timeout = HTTP_BODY_TIMEOUT_S;
    c->http_max_connections = HTTP_CONN_MAX;
    c->http_max_per_ip = HTTP_CONN_PER_IP_MAX;
    c->http_threads = HTTP_THREADS;
    c->http_ops_cache_ms = HTTP_OPS_CACHE_MS;
    c->workers = WORKERS_DEFAULT;
    snprintf(c->smtp_listen, sizeof(c->smtp_listen), "127.0.0.1:2525");
    if (gethostname(c->smtp_hostname, sizeof(c->smtp_hostname) - 1) != 0 ||
        c->smtp_hostname[0] == '\0')
        snprintf(c->smtp_hostname, sizeof(c->smtp_hostname), "localhost");
    c->smtp_max_message = SMTP_MSG_MAX;
    c->smtp_max_recipients = SMTP_RCPT_MAX;
    c->smtp_timeout = SMTP_IDLE_TIMEOUT_S;
    c->smtp_data_timeout = SMTP_DATA_TIMEOUT_S;
    c->smtp_session_timeout = SMTP_SESSION_TIMEOUT_S;
    c->receive_max_bytes = RECEIVE_BUFFERED_MAX;
    c->smtp_max_connections = SMTP_CONN_MAX;
    c->smtp_max_per_ip = SMTP_CONN_PER_IP_MAX;
    c->smtp_greet_delay_ms = SMTP_GREET_DELAY_MS;
    c->store_threads = STORE_THREADS;
    c->rate_limit_per_ip = RATE_PER_IP;
    c->rate_limit_per_sender = RATE_PER_SENDER;
    c->rate_limit_window = RATE_WINDOW_S;
    c->dns_timeout_ms = DNS_TIMEOUT_MS;
    c->dkim_dns_budget_ms = DKIM_DNS_BUDGET_MS;
    c->dkim_temperror_giveup = DKIM_GIVEUP_S;
    c->tlsrpt_require_dkim = 1;
    c->smtp_accept = c->trusted_reporters = config_empty;
    c->mta_sts_policy = c->tls_sni_certs = config_empty;
    if (url != NULL)
        snprintf(c->database_url, sizeof(c->database_url), "%s", url);
}

void
config_free(struct config *c)
{
    size_t i;

    for (i = 0; i < N_ROWS; i++) {
        char **slot = (char **)((char *)c + config_rows[i].off);

        if (config_rows[i].kind != CFG_LIST)
            continue;
        if (*slot != config_empty)
            free(*slot);
        *slot = config_empty;
    }
}

/* list_put - replace a list, or append value to it (comma between) */
static enum ruad_rc
list_put(struct config *c, const struct config_row *r, const char *value,
    bool append, char *err, size_t errlen)
{
    char  **slot = (char **)((char *)c + r->off), *p;
    size_t  ol = append ? strlen(*slot) : 0, vl = strlen(value);

    if (append && vl == 0)
        return RUAD_OK;
    if (vl > CONFIG_LIST_MAX || ol > CONFIG_LIST_MAX - vl) {
        snprintf(err, errlen, "%s: the list is longer than %u bytes",
            r->name, CONFIG_LIST_MAX);
        return RUAD_MALFORMED;
    }
    if (ol + vl == 0) {
        p = config_empty;
    } else {
        if ((p = malloc(ol + vl + 2)) == NULL) {
            snprintf(err, errlen, "%s: out of memory", r->name);
            return RUAD_NOMEM;
        }
        memcpy(p, *slot, ol);
        if (ol > 0 && vl > 0)
            p[ol++] = ',';
        memcpy(p + ol, value, vl + 1);
    }
    if (*slot != config_empty)
        free(*slot);
    *slot = p;
    return RUAD_OK;
}

/* key_norm - key with dashes as underscores into name; false if too long */
static bool
key_norm(const char *key, char *name, size_t len)
{
    size_t i;

    for (i = 0; key[i] != '\0' && i + 1 < len; i++)
        name[i] = key[i] == '-' ? '_' : key[i];
    name[i] = '\0';
    return key[i] == '\0';
}

/* The families of keys other modules own (config_register_keys). */
static const struct config_keys *config_keys[CONFIG_KEYS_MAX];
static size_t                    config_n_keys;

void
config_register_keys(const struct config_keys *k)
{
    size_t i;

    for (i = 0; i < config_n_keys; i++)
        if (config_keys[i] == k)
            return;
    if (config_n_keys < CONFIG_KEYS_MAX)
        config_keys[config_n_keys++] = k;
}

/* keys_find - the registered family of a normalized key, or NULL */
static const struct config_keys *
keys_find(const char *name)
{
    size_t i;

    for (i = 0; i < config_n_keys; i++)
        if (config_keys[i]->is_key(name))
            return config_keys[i];
    return NULL;
}

/* row_find - the table row of a normalized key, or NULL */
static const struct config_row *
row_find(const char *name)
{
    size_t i;

    for (i = 0; i < N_ROWS; i++)
        if (strcmp(config_rows[i].name, name) == 0)
            return &config_rows[i];
    return NULL;
}

bool
config_has_key(const char *key)
{
    char name[64];

    return key_norm(key, name, sizeof(name)) &&
        (keys_find(name) != NULL || row_find(name) != NULL);
}

bool
config_list_next(const char **p, const char **item, size_t *n)
{
    const char *s = *p, *e;

    while (*s == ',' || *s == ' ' || *s == '\t')
        s++;
    *p = s;
    if (*s == '\0')
        return false;
    e = s + strcspn(s, ",");
    *item = s;
    *n = (size_t)(e - s);
    while (*n > 0 && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
        (*n)--;
    *p = e;
    return true;
}

bool
config_is_list(const char *key)
{
    char                     name[64];
    const struct config_row *r;

    return key_norm(key, name, sizeof(name)) &&
        (r = row_find(name)) != NULL && r->kind == CFG_LIST;
}

/* store - write v into a field of the given width */
static void
store(void *p, size_t width, uint64_t v)
{
    switch (width) {
    case sizeof(uint64_t): {
        uint64_t x = v;
        memcpy(p, &x, sizeof(x));
        break;
    }
    case sizeof(uint32_t): {
        uint32_t x = (uint32_t)v;
        memcpy(p, &x, sizeof(x));
        break;
    }
    default:
        abort();            /* a table row with an unhandled width */
    }
}

/* load - read a field of the given width */
static uint64_t
load(const void *p, size_t width)
{
    uint64_t x64;
    uint32_t x32;

    if (width == sizeof(uint64_t)) {
        memcpy(&x64, p, sizeof(x64));
        return x64;
    }
    memcpy(&x32, p, sizeof(x32));
    return x32;
}

bool
config_parse_number(const char *s, bool suffix, uint64_t *out)
{
    char              *end;
    unsigned long long v;
    unsigned           shift = 0;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0)
        return false;
    if (suffix && *end != '\0' && end[1] == '\0') {
        switch (*end) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        default: return false;
        }
        end++;
    }
    if (*end != '\0' || (shift && v > (UINT64_MAX >> shift)))
        return false;
    *out = (uint64_t)v << shift;
    return true;
}

/* config_put - config_set, or config_add when append */
static enum ruad_rc
config_put(struct config *c, const char *key, const char *value,
    bool append, char *err, size_t errlen)
{
    const struct config_keys *k;
    char                      name[64];
    size_t                    i;
    uint64_t                  v;
    int                       lvl;

    key_norm(key, name, sizeof(name));
    if ((k = keys_find(name)) != NULL)
        return k->set(c, name, value, err, errlen);
    for (i = 0; i < N_ROWS; i++) {
        const struct config_row *r = &config_rows[i];

        if (strcmp(r->name, name) != 0)
            continue;
        if (r->kind == CFG_LIST)
            return list_put(c, r, value, append, err, errlen);
        if (r->kind == CFG_STRING) {
            if (strlen(value) >= r->width) {
                snprintf(err, errlen, "%s: longer than %zu bytes", r->name,
                    r->width - 1);
                return RUAD_MALFORMED;
            }
            memcpy((char *)c + r->off, value, strlen(value) + 1);
            return RUAD_OK;
        }
        if (r->kind == CFG_BOOL) {
            if (strcmp(value, "yes") == 0 || strcmp(value, "on") == 0 ||
                strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
                v = 1;
            else if (strcmp(value, "no") == 0 || strcmp(value, "off") == 0 ||
                strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
                v = 0;
            else {
                snprintf(err, errlen, "%s: \"%s\" is not yes or no",
                    r->name, value);
                return RUAD_MALFORMED;
            }
            store((char *)c + r->off, r->width, v);
            return RUAD_OK;
        }
        if (r->kind == CFG_LOGLEVEL) {
            if ((lvl = log_parse_level(value)) < 0) {
                snprintf(err, errlen, "%s: \"%s\" is not error, warn, info "
                    "or debug", r->name, value);
                return RUAD_MALFORMED;
            }
            c->log_level = lvl;
            return RUAD_OK;
        }
        if (!config_parse_number(value, r->kind == CFG_SIZE, &v) || v < r->min ||
            v > r->max) {
            snprintf(err, errlen, "%s: \"%s\" is not a number in %llu..%llu",
                r->name, value, (unsigned long long)r->min,
                (unsigned long long)r->max);
            return RUAD_MALFORMED;
        }
        store((char *)c + r->off, r->width, v);
        return RUAD_OK;
    }
    snprintf(err, errlen, "unknown key \"%s\"", key);
    return RUAD_MALFORMED;
}

enum ruad_rc
config_set(struct config *c, const char *key, const char *value, char *err,
    size_t errlen)
{
    return config_put(c, key, value, false, err, errlen);
}

enum ruad_rc
config_add(struct config *c, const char *key, const char *value, char *err,
    size_t errlen)
{
    return config_put(c, key, value, true, err, errlen);
}

/* strip - trim blanks at both ends, in place */
static char *
strip(char *s)
{
    size_t n;

    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
        s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* The keys one file has set, and where: a second line for a key that is
 * not a list is an error naming both. */
struct seen_key {
    char     name[64];
    unsigned line;
};

/* seen_note - the line that set key before (0: none), and note this one */
static unsigned
seen_note(struct seen_key **seen, size_t *n, const char *key,
    unsigned line)
{
    struct seen_key *s;
    char             name[64];
    size_t           i;

    /* imap.a.url and imap_a_url are one key */
    key_norm(key, name, sizeof(name));
    for (i = 0; name[i] != '\0'; i++)
        if (name[i] == '.')
            name[i] = '_';
    for (i = 0; i < *n; i++)
        if (strcmp((*seen)[i].name, name) == 0)
            return (*seen)[i].line;
    if ((*n & (*n + 1)) == 0 || *n == 0) {     /* grow at 0, 1, 3, 7, ... */
        if ((s = realloc(*seen, (*n * 2 + 2) * sizeof(*s))) == NULL)
            return 0;
        *seen = s;
    }
    snprintf((*seen)[*n].name, sizeof((*seen)[*n].name), "%s", name);
    (*seen)[(*n)++].line = line;
    return 0;
}

enum ruad_rc
config_load_file(struct config *c, const char *path, char *err,
    size_t errlen)
{
    FILE            *f;
    char            *line = NULL, msg[512], *k, *v, *eq, *hash;
    size_t           cap = 0, n_seen = 0;
    struct seen_key *seen = NULL;
    ssize_t          len;
    unsigned         lineno = 0, before;
    bool             list;
    enum ruad_rc     rc = RUAD_OK;

    if ((f = fopen(path, "r")) == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return RUAD_IO;
    }
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if ((size_t)len > CONFIG_LINE_MAX) {
            snprintf(err, errlen, "%s:%u: line longer than %u bytes (a "
                "list may go on over several lines of its key)", path,
                lineno, CONFIG_LINE_MAX);
            rc = RUAD_MALFORMED;
            break;
        }
        if ((hash = strchr(line, '#')) != NULL)
            *hash = '\0';
        k = strip(line);
        if (*k == '\0')
            continue;
        if ((eq = strchr(k, '=')) == NULL) {
            snprintf(err, errlen, "%s:%u: expected key = value", path,
                lineno);
            rc = RUAD_MALFORMED;
            break;
        }
        *eq = '\0';
        k = strip(k);
        v = strip(eq + 1);
        list = config_is_list(k);
        if (config_has_key(k) &&
            (before = seen_note(&seen, &n_seen, k, lineno)) != 0 && !list) {
            snprintf(err, errlen, "%s:%u: %s is already set on line %u "
                "(it takes one value; only the lists smtp_accept, "
                "trusted_reporters, mta_sts_policy and tls_sni_certs may "
                "repeat)", path, lineno, k, before);
            rc = RUAD_MALFORMED;
            break;
        }
        if ((list ? config_add(c, k, v, msg, sizeof(msg)) :
            config_set(c, k, v, msg, sizeof(msg))) != RUAD_OK) {
            snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
            rc = RUAD_MALFORMED;
            break;
        }
    }
    if (rc == RUAD_OK && ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        rc = RUAD_IO;
    }
    free(line);
    free(seen);
    fclose(f);
    return rc;
}

bool
config_split_listen(const char *s, char *host, size_t hostlen,
    unsigned *port)
{
    const char   *colon, *h = s, *he;
    char         *end;
    unsigned long p;

    if (*s == '[') {
        if ((he = strchr(s, ']')) == NULL || he[1] != ':')
            return false;
        h = s + 1;
        colon = he + 1;
    } else {
        if ((colon = strrchr(s, ':')) == NULL)
            return false;
        he = colon;
    }
    if ((size_t)(he - h) >= hostlen || he == h)
        return false;
    memcpy(host, h, (size_t)(he - h));
    host[he - h] = '\0';
    errno = 0;
    p = strtoul(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || colon[1] == '\0' || p > 65535)
        return false;
    *port = (unsigned)p;
    return true;
}

enum ruad_rc
config_check(const struct config *c, char *err, size_t errlen)
{
    char         host[256];
    unsigned     port;
    size_t       i;
    enum ruad_rc rc;

    if (!config_split_listen(c->http_listen, host, sizeof(host), &port)) {
        snprintf(err, errlen, "http_listen: \"%s\" is not host:port",
            c->http_listen);
        return RUAD_MALFORMED;
    }
    if ((c->tls_cert[0] == '\0') != (c->tls_key[0] == '\0')) {
        snprintf(err, errlen, "tls_cert and tls_key go together");
        return RUAD_MALFORMED;
    }
    if (c->tls_sni_certs[0] != '\0' && c->tls_cert[0] == '\0') {
        snprintf(err, errlen, "tls_sni_certs needs tls_cert and tls_key");
        return RUAD_MALFORMED;
    }
    if (c->smtp_listen[0] != '\0' &&
        !config_split_listen(c->smtp_listen, host, sizeof(host), &port)) {
        snprintf(err, errlen, "smtp_listen: \"%s\" is not host:port",
            c->smtp_listen);
        return RUAD_MALFORMED;
    }
    if (c->smtp_require_tls && c->tls_cert[0] == '\0') {
        snprintf(err, errlen, "smtp_require_tls needs tls_cert and tls_key");
        return RUAD_MALFORMED;
    }
    if (c->http_prefix[0] != '\0' && (c->http_prefix[0] != '/' ||
        c->http_prefix[strlen(c->http_prefix) - 1] == '/')) {
        snprintf(err, errlen, "http_path_prefix: \"%s\" must start with / "
            "and not end with /", c->http_prefix);
        return RUAD_MALFORMED;
    }
    for (i = 0; i < config_n_keys; i++)
        if ((rc = config_keys[i]->check(c, err, errlen)) != RUAD_OK)
            return rc;
    return RUAD_OK;
}

void
config_usage(FILE *f)
{
    struct config c;
    size_t        i;

    config_init(&c);
    for (i = 0; i < N_ROWS; i++) {
        const struct config_row *r = &config_rows[i];

        if (r->kind == CFG_LOGLEVEL)
            fprintf(f, "  %-22s %s (info)\n", r->name, r->help);
        else if (r->kind == CFG_STRING)
            fprintf(f, "  %-22s %s\n", r->name, r->help);
        else if (r->kind == CFG_LIST)
            fprintf(f, "  %-22s %s (a list: repeat the key)\n", r->name,
                r->help);
        else if (r->kind == CFG_BOOL)
            fprintf(f, "  %-22s %s (%s)\n", r->name, r->help,
                load((char *)&c + r->off, r->width) ? "yes" : "no");
        else
            fprintf(f, "  %-22s %s (%llu; %llu..%llu)\n", r->name, r->help,
                (unsigned long long)load((char *)&c + r->off, r->width),
                (unsigned long long)r->min, (unsigned long long)r->max);
    }
    for (i = 0; i < config_n_keys; i++)
        config_keys[i]->usage(f);
}

void
config_reference(FILE *f)
{
    static const char *const kinds[] = { "size", "number", "level",
        "text", "yes/no", "list" };
    struct config c;
    size_t        i;

    config_init(&c);
    fputs("# Configuration reference\n\n"
        "Generated by `ruad config-reference` from the settings table in\n"
        "`collector/config.c`; do not edit by hand.\n\n"
        "Settings come from a `--config FILE` of `key = value` lines (`#`\n"
        "starts a comment) and from `--key=value` (or `--key value`) flags,\n"
        "which override the file; dashes and underscores are alike.  Sizes\n"
        "take a K, M or G suffix (powers of 1024).\n\n"
        "A key of kind *list* is a comma list of any length: in the file it\n"
        "may repeat, and each line appends to the list (one line per\n"
        "domain scales to hundreds of domains); as a flag it replaces the\n"
        "file's list, and repeated flags append.  Any other key set twice in\n"
        "one file is an error that names both lines.\n\n"
        "| key | kind | default | range | meaning |\n"
        "|---|---|---|---|---|\n", f);
    for (i = 0; i < N_ROWS; i++) {
        const struct config_row *r = &config_rows[i];
        const char              *def = "";
        char                     num[32], range[64] = "";

        if (r->kind == CFG_LOGLEVEL)
            def = "info";
        else if (r->kind == CFG_LIST)
            def = "";
        else if (r->kind == CFG_STRING)
            def = strcmp(r->name, "smtp_hostname") == 0 ? "(host name)" :
                strcmp(r->name, "database_url") == 0 ? "" :
                (const char *)&c + r->off;
        else if (r->kind == CFG_BOOL)
            def = load((char *)&c + r->off, r->width) ? "yes" : "no";
        else {
            snprintf(num, sizeof(num), "%llu",
                (unsigned long long)load((char *)&c + r->off, r->width));
            def = num;
            snprintf(range, sizeof(range), "%llu..%llu",
                (unsigned long long)r->min, (unsigned long long)r->max);
        }
        fprintf(f, "| `%s` | %s | %s%s%s | %s | %s |\n", r->name,
            kinds[r->kind], def[0] ? "`" : "", def, def[0] ? "`" : "",
            range, r->help);
    }
    fputs("\n`database_url` may instead come from the environment "
        "(`RUAD_DATABASE_URL`).\n", f);
    for (i = 0; i < config_n_keys; i++)
        config_keys[i]->reference(f);
}
