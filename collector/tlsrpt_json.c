/*
 * tlsrpt_json.c - RFC 8460 SMTP TLS report (JSON) -> struct tlsrpt_report.
 *
 * Implements RFC 8460 section 4 (report schema): 4.1 report metadata
 * (organization-name, date-range, contact-info, report-id), 4.2 policies
 * (policy-type, policy-string, policy-domain, mx-host), 4.3 result types,
 * 4.4 summary and failure details; date-times are RFC 3339 section 5.6.
 * jansson is used here and nowhere else; no jansson object leaves this
 * file.
 *
 * Decisions (the RFC leaves them to the receiver):
 *
 * - Required, else RUAD_MALFORMED naming the field: organization-name,
 *   date-range with start-datetime and end-datetime, report-id, policies
 *   (an array; an empty one is taken with a warning), and in each policy
 *   the policy object with its policy-type, and in each failure detail its
 *   result-type.  Required fields that real reporters leave out are only
 *   warned about: policy-domain (seen missing in the wild), summary and
 *   its two counts, failed-session-count (the has_ flags stay false).
 * - Counts must be JSON integers >= 0.  A negative, fractional or
 *   non-numeric count is an error, not a warning: it means a broken
 *   generator, and storing the rest of the numbers would skew every sum
 *   built from the report.  JSON null means "absent" for any optional
 *   field (contact-info is often null).
 * - Duplicate object keys are rejected (JSON_REJECT_DUPLICATES).  RFC 8259
 *   leaves their meaning open, so two readers may disagree about which
 *   count or organization a report carries; no reporter is known to send
 *   them.
 * - mx-host may be a string or an array of strings; it is always stored
 *   as an array.  policy-string is kept exactly as given; a lone string
 *   instead of an array is taken as a one-line array with a warning.
 * - Date-times: "YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm|-hh:mm)", 'T' may
 *   be 't' or a space and 'Z' may be 'z'.  Fractional seconds are cut.
 *   Without an offset (Microsoft sends that) UTC is assumed, with a
 *   warning.  Leap second 60 is accepted and rolls into the next minute.
 *   The result must lie in REPORT_TIME_MIN..REPORT_TIME_MAX.  end before
 *   start is a warning.
 * - Unknown policy-type and result-type values are kept verbatim with a
 *   warning; failure-reason-code is free text.  Unknown members anywhere
 *   are ignored.  A sum of failed-session-count above the policy's
 *   total-failure-session-count is a warning (Mail.ru sends that).
 *
 * SECURITY: the bytes come straight from the peer (mail attachment or
 * HTTPS POST body, after decompression).  Before jansson sees them the
 * length is checked against lim->json_max and a scan of our own bounds
 * the bracket nesting by lim->json_depth_max (RUAD_LIMIT), so jansson's
 * recursive descent and allocations stay bounded.  jansson enforces UTF-8
 * and rejects \u0000, so every copied string is a proper C string.  Each
 * stored string is capped at lim->json_string_max bytes, the policies at
 * lim->tlsrpt_policies_max and failure details at lim->tlsrpt_details_max
 * per report (RUAD_LIMIT).  Peer text reaches diagnostics only through
 * log_escape().
 */
#include "tlsrpt_json.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "log.h"

#define TJ_PATH_MAX  160   /* "policies[N].failure-details[M].field" */
#define TJ_SHOW_MAX  80    /* escaped peer value shown in a message */

/* one parse: limits, diagnostics and the running failure-detail count */
struct tj_ctx {
    const struct report_limits *lim;
    struct report_diag         *diag;
    uint64_t                    n_details;
};

/* RFC 8460 4.2 policy-type values */
static const char *const tj_policy_types[] = {
    "tlsa", "sts", "no-policy-found", NULL
};

/* RFC 8460 4.3 result-type values */
static const char *const tj_result_types[] = {
    "starttls-not-supported", "certificate-host-mismatch",
    "certificate-expired", "certificate-not-trusted", "validation-failure",
    "tlsa-invalid", "dnssec-invalid", "dane-required",
    "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid",
    NULL
};

static const char *tj_shape_exceeds(const char *p, size_t len,
    unsigned max_depth, uint64_t max_values);
static json_t *tj_load(struct tj_ctx *c, const char *json, size_t len,
    enum ruad_rc *rc);
static void tj_path(char *dst, const char *parent, const char *key);
static void tj_index(char *dst, const char *parent, size_t i);
static enum ruad_rc tj_fail(struct tj_ctx *c, enum ruad_rc rc,
    const char *parent, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void tj_warn(struct tj_ctx *c, const char *parent, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool tj_in_list(const char *s, const char *const *list);
static enum ruad_rc tj_copy(struct tj_ctx *c, json_t *v, const char *parent,
    const char *key, char **out);
static enum ruad_rc tj_string(struct tj_ctx *c, json_t *obj,
    const char *parent, const char *key, bool required, char **out);
static enum ruad_rc tj_strings(struct tj_ctx *c, json_t *obj,
    const char *parent, const char *key, bool scalar_ok, char ***out,
    size_t *n);
static enum ruad_rc tj_count(struct tj_ctx *c, json_t *obj,
    const char *parent, const char *key, uint64_t *out, bool *has);
static json_t *tj_object(struct tj_ctx *c, json_t *obj, const char *parent,
    const char *key, bool required, enum ruad_rc *rc);
static bool tj_digits(const char *s, size_t n, int *out);
static const char *tj_rfc3339(const char *s, size_t len, int64_t *out,
    bool *has_offset);
static enum ruad_rc tj_time(struct tj_ctx *c, json_t *obj, const char *key,
    int64_t *out);
static enum ruad_rc tj_failure(struct tj_ctx *c, json_t *v,
    const char *path, struct tlsrpt_failure *f);
static enum ruad_rc tj_policy(struct tj_ctx *c, json_t *v, size_t idx,
    struct tlsrpt_policy *p);
static enum ruad_rc tj_report(struct tj_ctx *c, json_t *root,
    struct tlsrpt_report *rep);

/*
 * tj_shape_exceeds - a scan before jansson: NULL if '{' / '[' outside
 * strings nest at most max_depth deep (a lone top-level value is depth 1)
 * and the document holds at most max_values values (commas and opening
 * brackets outside strings, plus one), else which limit it broke.  jansson
 * spends tens of bytes on each value, so the count bounds its memory where
 * the byte size alone would not (a few MB of "[0,0,0,...]" costs GBs).
 * Brackets inside strings and escaped quotes do not count; unbalanced
 * input is left to jansson.
 */
static const char *
tj_shape_exceeds(const char *p, size_t len, unsigned max_depth,
    uint64_t max_values)
{
    unsigned depth = 0;
    uint64_t values = 1;
    bool     in_str = false, esc = false;
    size_t   i;

    for (i = 0; i < len; i++) {
        char ch = p[i];

        if (in_str) {
            if (esc)
                esc = false;
            else if (ch == '\\')
                esc = true;
            else if (ch == '"')
                in_str = false;
            continue;
        }
        switch (ch) {
        case '"':
            in_str = true;
            break;
        case '{':
        case '[':
            if (++depth > max_depth)
                return "nested deeper than";
            /* FALLTHROUGH */
        case ',':
            if (++values > max_values)
                return "holds more values than";
            break;
        case '}':
        case ']':
            if (depth > 0)
                depth--;
            break;
        default:
            break;
        }
    }
    return NULL;
}

/*
 * tj_load - length and depth checks, then jansson.  Returns the root
 * object, or NULL with *rc set and the error recorded.
 */
static json_t *
tj_load(struct tj_ctx *c, const char *json, size_t len, enum ruad_rc *rc)
{
    json_error_t err;
    json_t      *root;
    char         text[sizeof(err.text)];
    const char  *why;
    size_t       i;

    if (len > c->lim->json_max) {
        *rc = report_diag_fail(c->diag, RUAD_LIMIT,
            "JSON of %zu bytes exceeds the limit of %zu", len,
            c->lim->json_max);
        return NULL;
    }
    /* a UTF-8 byte order mark is legal in front of JSON text, but jansson
     * does not take it (RFC 8259 8.1 lets a parser ignore it) */
    if (len >= 3 && memcmp(json, "\xef\xbb\xbf", 3) == 0) {
        json += 3;
        len -= 3;
    }
    if (len == 0) {
        *rc = report_diag_fail(c->diag, RUAD_MALFORMED, "empty input");
        return NULL;
    }
    if ((why = tj_shape_exceeds(json, len, c->lim->json_depth_max,
        c->lim->json_values_max)) != NULL) {
        *rc = report_diag_fail(c->diag, RUAD_LIMIT, "JSON %s %llu", why,
            why[0] == 'n' ? (unsigned long long)c->lim->json_depth_max :
            (unsigned long long)c->lim->json_values_max);
        return NULL;
    }
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        /* the text may quote peer bytes ("near '...'"): keep it printable */
        for (i = 0; i < sizeof(text) - 1 && err.text[i] != '\0'; i++) {
            unsigned char ch = (unsigned char)err.text[i];

            text[i] = (ch < 0x20 || ch >= 0x7f) ? '?' : (char)ch;
        }
        text[i] = '\0';
        switch (json_error_code(&err)) {
        case json_error_out_of_memory:
            *rc = RUAD_NOMEM;
            break;
        case json_error_stack_overflow:
            *rc = RUAD_LIMIT;
            break;
        default:
            *rc = RUAD_MALFORMED;
            break;
        }
        report_diag_fail(c->diag, *rc, "line %d column %d: %s", err.line,
            err.column, text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        *rc = report_diag_fail(c->diag, RUAD_MALFORMED,
            "top level is not a JSON object");
        return NULL;
    }
    *rc = RUAD_OK;
    return root;
}

/*
 * tj_path - "parent.key", "parent" or "key" into dst (TJ_PATH_MAX).  The
 * parts are our own field names and indices, so the result fits; a cut
 * would only shorten a message.
 */
static void
tj_path(char *dst, const char *parent, const char *key)
{
    bool both = parent[0] != '\0' && key != NULL && key[0] != '\0';
    int  n;

    n = snprintf(dst, TJ_PATH_MAX, "%s%s%s", parent, both ? "." : "",
        key != NULL ? key : "");
    if (n < 0 || n >= TJ_PATH_MAX)
        memcpy(dst + TJ_PATH_MAX - 4, "...", 4);
}

/* tj_index - "parent[i]" into dst (TJ_PATH_MAX), cut like tj_path */
static void
tj_index(char *dst, const char *parent, size_t i)
{
    int n;

    n = snprintf(dst, TJ_PATH_MAX, "%s[%zu]", parent, i);
    if (n < 0 || n >= TJ_PATH_MAX)
        memcpy(dst + TJ_PATH_MAX - 4, "...", 4);
}

/* tj_vmsg - "message" of fmt at the path of key under parent */
static void tj_vmsg(char path[TJ_PATH_MAX], char msg[256], const char *parent,
    const char *key, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

static void
tj_vmsg(char path[TJ_PATH_MAX], char msg[256], const char *parent,
    const char *key, const char *fmt, va_list ap)
{
    tj_path(path, parent, key);
    vsnprintf(msg, 256, fmt, ap);
}

/* tj_fail - record "path: message" as the error; returns rc */
static enum ruad_rc
tj_fail(struct tj_ctx *c, enum ruad_rc rc, const char *parent,
    const char *key, const char *fmt, ...)
{
    char    path[TJ_PATH_MAX], msg[256];
    va_list ap;

    va_start(ap, fmt);
    tj_vmsg(path, msg, parent, key, fmt, ap);
    va_end(ap);
    return report_diag_fail(c->diag, rc, "%s: %s", path, msg);
}

/* tj_warn - add the warning "path: message" */
static void
tj_warn(struct tj_ctx *c, const char *parent, const char *key,
    const char *fmt, ...)
{
    char    path[TJ_PATH_MAX], msg[256];
    va_list ap;

    va_start(ap, fmt);
    tj_vmsg(path, msg, parent, key, fmt, ap);
    va_end(ap);
    report_diag_warn(c->diag, "%s: %s", path, msg);
}

/* tj_in_list - is s one of the NULL-terminated list? */
static bool
tj_in_list(const char *s, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

/* tj_copy - owned copy of the JSON string v, capped at json_string_max */
static enum ruad_rc
tj_copy(struct tj_ctx *c, json_t *v, const char *parent, const char *key,
    char **out)
{
    size_t n;

    if (!json_is_string(v))
        return tj_fail(c, RUAD_MALFORMED, parent, key, "not a string");
    n = json_string_length(v);
    if (n > c->lim->json_string_max)
        return tj_fail(c, RUAD_LIMIT, parent, key,
            "string of %zu bytes exceeds the limit of %zu", n,
            c->lim->json_string_max);
    *out = report_strndup(json_string_value(v), n);
    if (*out == NULL)
        return tj_fail(c, RUAD_NOMEM, parent, key, "out of memory");
    return RUAD_OK;
}

/*
 * tj_string - obj[key] as an owned string.  Absent or null leaves *out
 * NULL, which is an error only when required.
 */
static enum ruad_rc
tj_string(struct tj_ctx *c, json_t *obj, const char *parent,
    const char *key, bool required, char **out)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL || json_is_null(v)) {
        if (required)
            return tj_fail(c, RUAD_MALFORMED, parent, key,
                "missing (required)");
        return RUAD_OK;
    }
    return tj_copy(c, v, parent, key, out);
}

/*
 * tj_strings - obj[key] as an array of owned strings.  A lone string is
 * taken as a one-element array when scalar_ok (mx-host), else with a
 * warning.  Absent or null gives no elements.
 */
static enum ruad_rc
tj_strings(struct tj_ctx *c, json_t *obj, const char *parent,
    const char *key, bool scalar_ok, char ***out, size_t *n)
{
    json_t      *v = json_object_get(obj, key);
    char         path[TJ_PATH_MAX], elem[TJ_PATH_MAX];
    enum ruad_rc rc;
    size_t       i, cnt;

    if (v == NULL || json_is_null(v))
        return RUAD_OK;
    if (json_is_string(v)) {
        if (!scalar_ok)
            tj_warn(c, parent, key, "a string, not an array; taken as one");
        *out = calloc(1, sizeof(**out));
        if (*out == NULL)
            return tj_fail(c, RUAD_NOMEM, parent, key, "out of memory");
        *n = 1;
        return tj_copy(c, v, parent, key, &(*out)[0]);
    }
    if (!json_is_array(v))
        return tj_fail(c, RUAD_MALFORMED, parent, key,
            scalar_ok ? "not a string or an array of strings" :
            "not an array of strings");
    cnt = json_array_size(v);
    if (cnt == 0)
        return RUAD_OK;
    /* bounded by json_max: every element takes at least 3 bytes */
    *out = calloc(cnt, sizeof(**out));
    if (*out == NULL)
        return tj_fail(c, RUAD_NOMEM, parent, key, "out of memory");
    *n = cnt;
    tj_path(path, parent, key);
    for (i = 0; i < cnt; i++) {
        tj_index(elem, path, i);
        rc = tj_copy(c, json_array_get(v, i), elem, NULL, &(*out)[i]);
        if (rc != RUAD_OK)
            return rc;
    }
    return RUAD_OK;
}

/*
 * tj_count - obj[key] as a count: an integer >= 0.  Absent or null
 * leaves *has false with a warning (RFC 8460 requires every count).
 */
static enum ruad_rc
tj_count(struct tj_ctx *c, json_t *obj, const char *parent,
    const char *key, uint64_t *out, bool *has)
{
    json_t    *v = json_object_get(obj, key);
    json_int_t n;

    if (v == NULL || json_is_null(v)) {
        tj_warn(c, parent, key, "missing");
        return RUAD_OK;
    }
    if (!json_is_integer(v))
        return tj_fail(c, RUAD_MALFORMED, parent, key, "not an integer");
    n = json_integer_value(v);
    if (n < 0)
        return tj_fail(c, RUAD_MALFORMED, parent, key,
            "negative (%lld)", (long long)n);
    *out = (uint64_t)n;
    *has = true;
    return RUAD_OK;
}

/*
 * tj_object - obj[key] if it is an object.  NULL with *rc RUAD_OK when
 * absent or null and not required; NULL with the error otherwise.
 */
static json_t *
tj_object(struct tj_ctx *c, json_t *obj, const char *parent,
    const char *key, bool required, enum ruad_rc *rc)
{
    json_t *v = json_object_get(obj, key);

    *rc = RUAD_OK;
    if (v == NULL || json_is_null(v)) {
        if (required)
            *rc = tj_fail(c, RUAD_MALFORMED, parent, key,
                "missing (required)");
        return NULL;
    }
    if (!json_is_object(v)) {
        *rc = tj_fail(c, RUAD_MALFORMED, parent, key, "not an object");
        return NULL;
    }
    return v;
}

/* tj_digits - n decimal digits at s into *out; false if any is not one */
static bool
tj_digits(const char *s, size_t n, int *out)
{
    size_t i;
    int    v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/*
 * tj_rfc3339 - RFC 3339 5.6 date-time in (s, len) to seconds since the
 * epoch in *out.  *has_offset false means no Z or offset was given (taken
 * as UTC).  Returns NULL, or what is wrong.
 */
static const char *
tj_rfc3339(const char *s, size_t len, int64_t *out, bool *has_offset)
{
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
        30, 31 };
    int     y, mo, d, h, mi, sec, oh = 0, om = 0, dim, sign = 0;
    size_t  i;
    int64_t t;

    /* "YYYY-MM-DDThh:mm:ss" is 19 bytes */
    if (len < 19 || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
        s[16] != ':' || !tj_digits(s, 4, &y) || !tj_digits(s + 5, 2, &mo) ||
        !tj_digits(s + 8, 2, &d) || !tj_digits(s + 11, 2, &h) ||
        !tj_digits(s + 14, 2, &mi) || !tj_digits(s + 17, 2, &sec))
        return "not an RFC 3339 date-time (YYYY-MM-DDThh:mm:ssZ)";
    i = 19;
    if (i < len && s[i] == '.') {
        /* fractional seconds: at least one digit, then cut */
        if (++i >= len || s[i] < '0' || s[i] > '9')
            return "no digits after the decimal point";
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i == len) {
        *has_offset = false;
    } else if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
        *has_offset = true;
    } else if ((s[i] == '+' || s[i] == '-') && len - i == 6 &&
        s[i + 3] == ':' && tj_digits(s + i + 1, 2, &oh) &&
        tj_digits(s + i + 4, 2, &om)) {
        sign = s[i] == '+' ? 1 : -1;
        *has_offset = true;
    } else {
        return "bad UTC offset (want Z, +hh:mm or -hh:mm)";
    }
    if (mo < 1 || mo > 12)
        return "month out of range";
    dim = mdays[mo - 1];
    if (mo == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
        dim = 29;
    if (d < 1 || d > dim)
        return "day out of range";
    if (h > 23 || mi > 59 || sec > 60)
        return "time of day out of range";
    if (oh > 23 || om > 59)
        return "UTC offset out of range";
    t = report_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    t -= sign * (oh * 3600 + om * 60);
    if (t < REPORT_TIME_MIN || t > REPORT_TIME_MAX)
        return "out of range (1970 .. 9999)";
    *out = t;
    return NULL;
}

/* tj_time - date-range.<key> (required) into *out */
static enum ruad_rc
tj_time(struct tj_ctx *c, json_t *obj, const char *key, int64_t *out)
{
    json_t     *v = json_object_get(obj, key);
    const char *why;
    char        show[TJ_SHOW_MAX];
    bool        has_offset;

    if (v == NULL || json_is_null(v))
        return tj_fail(c, RUAD_MALFORMED, "date-range", key,
            "missing (required)");
    if (!json_is_string(v))
        return tj_fail(c, RUAD_MALFORMED, "date-range", key,
            "not a string");
    why = tj_rfc3339(json_string_value(v), json_string_length(v), out,
        &has_offset);
    if (why != NULL)
        return tj_fail(c, RUAD_MALFORMED, "date-range", key, "\"%s\": %s",
            log_escape(show, sizeof(show), json_string_value(v),
                json_string_length(v)), why);
    if (!has_offset)
        tj_warn(c, "date-range", key, "no UTC offset; taken as UTC");
    return RUAD_OK;
}

/* tj_failure - one failure-details element (RFC 8460 4.4) into f */
static enum ruad_rc
tj_failure(struct tj_ctx *c, json_t *v, const char *path,
    struct tlsrpt_failure *f)
{
    char         show[TJ_SHOW_MAX];
    enum ruad_rc rc;

    if (!json_is_object(v))
        return tj_fail(c, RUAD_MALFORMED, path, NULL, "not an object");
    if ((rc = tj_string(c, v, path, "result-type", true,
            &f->result_type)) != RUAD_OK ||
        (rc = tj_string(c, v, path, "sending-mta-ip", false,
            &f->sending_mta_ip)) != RUAD_OK ||
        (rc = tj_string(c, v, path, "receiving-mx-hostname", false,
            &f->receiving_mx_hostname)) != RUAD_OK ||
        (rc = tj_string(c, v, path, "receiving-mx-helo", false,
            &f->receiving_mx_helo)) != RUAD_OK ||
        (rc = tj_string(c, v, path, "receiving-ip", false,
            &f->receiving_ip)) != RUAD_OK ||
        (rc = tj_count(c, v, path, "failed-session-count",
            &f->failed_session_count,
            &f->has_failed_session_count)) != RUAD_OK ||
        (rc = tj_string(c, v, path, "additional-information", false,
            &f->additional_information)) != RUAD_OK ||
        (rc = tj_string(c, v, path, "failure-reason-code", false,
            &f->failure_reason_code)) != RUAD_OK)
        return rc;
    if (!tj_in_list(f->result_type, tj_result_types))
        tj_warn(c, path, "result-type", "unknown value \"%s\" kept",
            log_escape(show, sizeof(show), f->result_type,
                strlen(f->result_type)));
    return RUAD_OK;
}

/* tj_policy - policies[idx] (RFC 8460 4.2, 4.4) into p */
static enum ruad_rc
tj_policy(struct tj_ctx *c, json_t *v, size_t idx, struct tlsrpt_policy *p)
{
    char         path[TJ_PATH_MAX], ppath[TJ_PATH_MAX], spath[TJ_PATH_MAX];
    char         fpath[TJ_PATH_MAX], elem[TJ_PATH_MAX], show[TJ_SHOW_MAX];
    json_t      *pol, *sum, *det;
    enum ruad_rc rc;
    uint64_t     total = 0;
    size_t       i, n;

    tj_index(path, "policies", idx);
    if (!json_is_object(v))
        return tj_fail(c, RUAD_MALFORMED, path, NULL, "not an object");

    pol = tj_object(c, v, path, "policy", true, &rc);
    if (pol == NULL)
        return rc;
    tj_path(ppath, path, "policy");
    if ((rc = tj_string(c, pol, ppath, "policy-type", true,
            &p->policy_type)) != RUAD_OK ||
        (rc = tj_strings(c, pol, ppath, "policy-string", false,
            &p->policy_string, &p->n_policy_string)) != RUAD_OK ||
        (rc = tj_string(c, pol, ppath, "policy-domain", false,
            &p->policy_domain)) != RUAD_OK ||
        (rc = tj_strings(c, pol, ppath, "mx-host", true, &p->mx_host,
            &p->n_mx_host)) != RUAD_OK)
        return rc;
    if (!tj_in_list(p->policy_type, tj_policy_types))
        tj_warn(c, ppath, "policy-type", "unknown value \"%s\" kept",
            log_escape(show, sizeof(show), p->policy_type,
                strlen(p->policy_type)));
    if (p->policy_domain == NULL)
        tj_warn(c, ppath, "policy-domain", "missing");

    sum = tj_object(c, v, path, "summary", false, &rc);
    if (rc != RUAD_OK)
        return rc;
    if (sum == NULL) {
        tj_warn(c, path, "summary", "missing");
    } else {
        tj_path(spath, path, "summary");
        if ((rc = tj_count(c, sum, spath, "total-successful-session-count",
                &p->total_successful_session_count,
                &p->has_total_successful)) != RUAD_OK ||
            (rc = tj_count(c, sum, spath, "total-failure-session-count",
                &p->total_failure_session_count,
                &p->has_total_failure)) != RUAD_OK)
            return rc;
    }

    det = json_object_get(v, "failure-details");
    if (det == NULL || json_is_null(det))
        return RUAD_OK;
    if (!json_is_array(det))
        return tj_fail(c, RUAD_MALFORMED, path, "failure-details",
            "not an array");
    n = json_array_size(det);
    if (n == 0)
        return RUAD_OK;
    if (n > c->lim->tlsrpt_details_max ||
        c->n_details > c->lim->tlsrpt_details_max - n)
        return tj_fail(c, RUAD_LIMIT, path, "failure-details",
            "more than %llu failure details in the report",
            (unsigned long long)c->lim->tlsrpt_details_max);
    c->n_details += n;
    p->failures = calloc(n, sizeof(*p->failures));
    if (p->failures == NULL)
        return tj_fail(c, RUAD_NOMEM, path, "failure-details",
            "out of memory");
    p->n_failures = n;
    tj_path(fpath, path, "failure-details");
    for (i = 0; i < n; i++) {
        tj_index(elem, fpath, i);
        rc = tj_failure(c, json_array_get(det, i), elem, &p->failures[i]);
        if (rc != RUAD_OK)
            return rc;
        if (p->failures[i].has_failed_session_count) {
            /* saturating: each count is below 2^63, n below 2^64 */
            if (total > UINT64_MAX - p->failures[i].failed_session_count)
                total = UINT64_MAX;
            else
                total += p->failures[i].failed_session_count;
        }
    }
    if (p->has_total_failure && total > p->total_failure_session_count)
        tj_warn(c, path, NULL, "failed-session-count sum %llu exceeds "
            "total-failure-session-count %llu", (unsigned long long)total,
            (unsigned long long)p->total_failure_session_count);
    return RUAD_OK;
}

/* tj_report - the top-level object (RFC 8460 4.1) into rep */
static enum ruad_rc
tj_report(struct tj_ctx *c, json_t *root, struct tlsrpt_report *rep)
{
    json_t      *dr, *pols;
    enum ruad_rc rc;
    size_t       i, n;

    if ((rc = tj_string(c, root, "", "organization-name", true,
            &rep->organization_name)) != RUAD_OK)
        return rc;
    dr = tj_object(c, root, "", "date-range", true, &rc);
    if (dr == NULL)
        return rc;
    if ((rc = tj_time(c, dr, "start-datetime", &rep->begin)) != RUAD_OK ||
        (rc = tj_time(c, dr, "end-datetime", &rep->end)) != RUAD_OK)
        return rc;
    rep->has_begin = rep->has_end = true;
    if (rep->end < rep->begin)
        tj_warn(c, "date-range", NULL, "ends before it starts");
    if ((rc = tj_string(c, root, "", "contact-info", false,
            &rep->contact_info)) != RUAD_OK ||
        (rc = tj_string(c, root, "", "report-id", true,
            &rep->report_id)) != RUAD_OK)
        return rc;
    if (rep->organization_name[0] == '\0')
        tj_warn(c, "", "organization-name", "empty");
    if (rep->report_id[0] == '\0')
        tj_warn(c, "", "report-id", "empty");

    pols = json_object_get(root, "policies");
    if (pols == NULL || json_is_null(pols))
        return tj_fail(c, RUAD_MALFORMED, "", "policies",
            "missing (required)");
    if (!json_is_array(pols))
        return tj_fail(c, RUAD_MALFORMED, "", "policies", "not an array");
    n = json_array_size(pols);
    if (n > c->lim->tlsrpt_policies_max)
        return tj_fail(c, RUAD_LIMIT, "", "policies",
            "%zu policies exceed the limit of %llu", n,
            (unsigned long long)c->lim->tlsrpt_policies_max);
    if (n == 0) {
        tj_warn(c, "", "policies", "empty");
        return RUAD_OK;
    }
    rep->policies = calloc(n, sizeof(*rep->policies));
    if (rep->policies == NULL)
        return tj_fail(c, RUAD_NOMEM, "", "policies", "out of memory");
    rep->n_policies = n;
    for (i = 0; i < n; i++) {
        rc = tj_policy(c, json_array_get(pols, i), i, &rep->policies[i]);
        if (rc != RUAD_OK)
            return rc;
    }
    return RUAD_OK;
}

/* tlsrpt_json_parse - see tlsrpt_json.h */
enum ruad_rc
tlsrpt_json_parse(const char *json, size_t len,
    const struct report_limits *lim, struct report_diag *diag,
    struct tlsrpt_report **out)
{
    struct tj_ctx         c;
    struct tlsrpt_report *rep;
    json_t               *root;
    enum ruad_rc          rc;

    if (lim == NULL || diag == NULL || out == NULL ||
        (json == NULL && len != 0))
        return diag != NULL ? report_diag_fail(diag, RUAD_INTERNAL,
            "tlsrpt_json_parse: bad arguments") : RUAD_INTERNAL;
    c.lim = lim;
    c.diag = diag;
    c.n_details = 0;
    root = tj_load(&c, json, len, &rc);
    if (root == NULL)
        return rc;
    rep = calloc(1, sizeof(*rep));
    if (rep == NULL) {
        json_decref(root);
        return report_diag_fail(diag, RUAD_NOMEM, "out of memory");
    }
    rc = tj_report(&c, root, rep);
    json_decref(root);
    if (rc != RUAD_OK) {
        tlsrpt_report_free(rep);
        return rc;
    }
    *out = rep;
    return RUAD_OK;
}
