/*
 * api_params.h - the query API's request parsing: route, query
 * parameters, opaque pagination cursors.  Pure functions over memory (no
 * socket, no database), so tests and the fuzzer drive them directly.
 */
#ifndef RUAD_API_PARAMS_H
#define RUAD_API_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "result.h"

#define API_LIMIT_DEFAULT   100
#define API_LIMIT_MAX       1000      /* items in one page */
#define API_VALUE_MAX       255       /* bytes of one parameter value */
#define API_PARAMS_MAX      16        /* parameters in one query string */
#define API_CURSOR_MAX      128       /* bytes of an encoded cursor */
#define API_DOMAIN_MAX      253       /* RFC 1035 2.3.4, as text */
#define API_GROUPS_MAX      1000      /* summary groups; the rest: "other" */
/* a report cursor's begin time (us): what a stored report can have,
 * REPORT_TIME_MIN .. REPORT_TIME_MAX (report.h) */
#define API_CURSOR_TIME_MIN 0LL
#define API_CURSOR_TIME_MAX (253402300799LL * 1000000 + 999999)

enum api_ep {
    API_EP_NONE = 0,
    API_EP_DOMAINS,
    API_EP_DMARC_REPORTS,
    API_EP_DMARC_REPORT,
    API_EP_DMARC_SUMMARY,
    API_EP_DMARC_SOURCES,
    API_EP_TLS_REPORTS,
    API_EP_TLS_REPORT,
    API_EP_TLS_SUMMARY,
    API_EP_REPORTERS,
    API_EP_INBOUND,
    API_EP_INBOUND_RAW,
    API_EP_INBOUND_REPROCESS,
    API_EP_DMARC_RECORDS,
    API_EP_OPENAPI,
};

/* A decoded cursor: the sort key of the last item of the previous page. */
struct api_cursor {
    char     kind;          /* d dmarc, t tlsrpt, i inbound, s sources,
                               r records */
    int64_t  a;             /* begin time (us) / messages / 0 / report id */
    int64_t  id;            /* row id; records: rec_no; sources: unused */
    char     text[48];      /* sources: source address text, may be "" */
};

/* One request's parameters, validated. */
struct api_query {
    enum api_ep ep;
    int64_t     id;                    /* {id} in the path, 0 if none */
    char        domain[API_DOMAIN_MAX + 1];   /* lower case, "" = all */
    char        org[API_VALUE_MAX + 1];
    char        state[32];
    char        channel[16];
    char        group_by[32];
    char        source_ip[48];         /* canonical text, "" = all */
    char        header_from[API_DOMAIN_MAX + 1];  /* lower case */
    bool        has_since, has_until;
    int64_t     since, until;          /* epoch seconds */
    unsigned    limit;
    bool        has_cursor;
    struct api_cursor cursor;
    unsigned    seen;                  /* bit per parameter given */
};

/*
 * api_route - the endpoint for a path below /api/v1 ("/dmarc/reports/7")
 * and method.  API_EP_NONE: no such path (404); *method_ok false: the
 * path exists but not for this method (405, allow in *allow).
 */
enum api_ep api_route(const char *path, size_t len, const char *method,
    int64_t *id, bool *method_ok, const char **allow);

/* api_query_init - defaults for endpoint ep */
void api_query_init(struct api_query *q, enum api_ep ep, int64_t id);

/*
 * api_query_set - take one query parameter (already percent-decoded).
 * RUAD_MALFORMED when the key is unknown for this endpoint, given twice,
 * or its value is wrong; the reason goes to err (it names the key).
 */
enum ruad_rc api_query_set(struct api_query *q, const char *key,
    const char *value, size_t vlen, char *err, size_t errlen);

/*
 * api_query_parse - split a raw query string ("a=1&b=2", no '?') into
 * parameters, percent-decode them (RFC 3986 2.1, '+' is a space) and
 * api_query_set each.  *badkey gets the parameter at fault (possibly
 * truncated), "" when the string as a whole is at fault.
 */
enum ruad_rc api_query_parse(struct api_query *q, const char *qs, size_t len,
    char *badkey, size_t badlen, char *err, size_t errlen);

/* api_parse_time - RFC 3339 date-time or full-date into epoch seconds */
bool api_parse_time(const char *s, size_t len, int64_t *out);

/* api_cursor_encode - opaque text (base64url) for c into dst */
void api_cursor_encode(const struct api_cursor *c, char dst[API_CURSOR_MAX]);

/* api_cursor_decode - false when (s, len) is not a cursor we made */
bool api_cursor_decode(const char *s, size_t len, struct api_cursor *c);

/* api_ep_name - the endpoint as a short name for logs */
const char *api_ep_name(enum api_ep ep);

#endif /* RUAD_API_PARAMS_H */
