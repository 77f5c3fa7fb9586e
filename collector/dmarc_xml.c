/*
 * dmarc_xml.c - streaming parser for DMARC aggregate reports (XML).
 *
 * Implements the report format of RFC 7489 appendix C and RFC 9990
 * (namespace urn:ietf:params:xml:ns:dmarc-2.0), with or without a
 * namespace: elements are matched by local name under <feedback>, which
 * may sit at any depth (some reporters wrap it in a stray element).
 * libxml2's xmlTextReader pulls the document through a read callback fed
 * by the streaming decompressor; each <record> is handed to the sink as
 * soon as its end tag is read and then forgotten, so memory stays flat
 * however many records a report has.
 *
 * Tolerance: enumerated values are compared case-insensitively and kept
 * verbatim with a warning when unknown; values are trimmed; timestamps
 * may be fractional; an empty org_name is taken from the email's domain.
 * A document that is not well-formed is kept, with a warning naming the
 * line, when libxml2's recovery still yields every required field
 * (org_name or email, report_id, date_range, policy domain).
 *
 * SECURITY: the whole document is peer data.  A DOCTYPE refuses the
 * document: it is looked for in the prolog before libxml2 sees a byte,
 * and again as a reader node.  The parser runs with XML_PARSE_NONET and
 * without NOENT, DTDLOAD or HUGE, and the external entity loader refuses
 * everything, so no file or network is ever read.  Element depth
 * (lim->xml_depth_max), the bytes of one text value (lim->text_max), the
 * records in a report (lim->records_max) and the auth results, reasons
 * and errors per record or report (limits.h) are capped; the decompressor
 * caps the document's size.
 */
#include "dmarc_xml.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include "buf.h"
#include "limits.h"
#include "log.h"

/* Elements we know, by their place in the report. */
enum elem {
    E_OUTSIDE = 0,        /* not inside <feedback> yet */
    E_SKIP,               /* unknown or ignored subtree */
    E_FEEDBACK,
    E_VERSION,
    E_METADATA, E_ORG_NAME, E_EMAIL, E_EXTRA, E_REPORT_ID, E_DATE_RANGE,
    E_BEGIN, E_END, E_ERROR, E_GENERATOR,
    E_POLICY, E_P_DOMAIN, E_ADKIM, E_ASPF, E_P, E_SP, E_NP, E_PCT, E_FO,
    E_TESTING, E_DISCOVERY,
    E_RECORD, E_ROW, E_SOURCE_IP, E_COUNT, E_EVALUATED, E_DISPOSITION,
    E_EV_DKIM, E_EV_SPF, E_REASON, E_R_TYPE, E_R_COMMENT,
    E_IDENTIFIERS, E_HEADER_FROM, E_ENVELOPE_FROM, E_ENVELOPE_TO,
    E_AUTH, E_A_DKIM, E_A_SPF,
    E_AD_DOMAIN, E_AD_SELECTOR, E_AD_RESULT, E_AD_HUMAN,
    E_AS_DOMAIN, E_AS_SCOPE, E_AS_RESULT, E_AS_HUMAN,
};

/* Transitions: <name> inside parent is self.  Leaves collect text. */
static const struct dmarc_xml_elem {
    enum elem   parent;
    const char *name;
    enum elem   self;
    const char *path;     /* for messages */
} dmarc_xml_elems[] = {
    { E_FEEDBACK, "version", E_VERSION, "version" },
    { E_FEEDBACK, "report_metadata", E_METADATA, "report_metadata" },
    { E_FEEDBACK, "policy_published", E_POLICY, "policy_published" },
    { E_FEEDBACK, "record", E_RECORD, "record" },
    { E_FEEDBACK, "extension", E_SKIP, "extension" },
    { E_METADATA, "org_name", E_ORG_NAME, "report_metadata/org_name" },
    { E_METADATA, "email", E_EMAIL, "report_metadata/email" },
    { E_METADATA, "extra_contact_info", E_EXTRA,
      "report_metadata/extra_contact_info" },
    { E_METADATA, "report_id", E_REPORT_ID, "report_metadata/report_id" },
    { E_METADATA, "date_range", E_DATE_RANGE, "report_metadata/date_range" },
    { E_METADATA, "error", E_ERROR, "report_metadata/error" },
    { E_METADATA, "generator", E_GENERATOR, "report_metadata/generator" },
    { E_DATE_RANGE, "begin", E_BEGIN, "report_metadata/date_range/begin" },
    { E_DATE_RANGE, "end", E_END, "report_metadata/date_range/end" },
    { E_POLICY, "domain", E_P_DOMAIN, "policy_published/domain" },
    { E_POLICY, "adkim", E_ADKIM, "policy_published/adkim" },
    { E_POLICY, "aspf", E_ASPF, "policy_published/aspf" },
    { E_POLICY, "p", E_P, "policy_published/p" },
    { E_POLICY, "sp", E_SP, "policy_published/sp" },
    { E_POLICY, "np", E_NP, "policy_published/np" },
    { E_POLICY, "pct", E_PCT, "policy_published/pct" },
    { E_POLICY, "fo", E_FO, "policy_published/fo" },
    { E_POLICY, "testing", E_TESTING, "policy_published/testing" },
    { E_POLICY, "discovery_method", E_DISCOVERY,
      "policy_published/discovery_method" },
    { E_RECORD, "row", E_ROW, "record/row" },
    { E_RECORD, "identifiers", E_IDENTIFIERS, "record/identifiers" },
    { E_RECORD, "auth_results", E_AUTH, "record/auth_results" },
    { E_RECORD, "extension", E_SKIP, "record/extension" },
    { E_ROW, "source_ip", E_SOURCE_IP, "record/row/source_ip" },
    { E_ROW, "count", E_COUNT, "record/row/count" },
    { E_ROW, "policy_evaluated", E_EVALUATED, "record/row/policy_evaluated" },
    { E_EVALUATED, "disposition", E_DISPOSITION,
      "policy_evaluated/disposition" },
    { E_EVALUATED, "dkim", E_EV_DKIM, "policy_evaluated/dkim" },
    { E_EVALUATED, "spf", E_EV_SPF, "policy_evaluated/spf" },
    { E_EVALUATED, "reason", E_REASON, "policy_evaluated/reason" },
    { E_REASON, "type", E_R_TYPE, "reason/type" },
    { E_REASON, "comment", E_R_COMMENT, "reason/comment" },
    { E_IDENTIFIERS, "header_from", E_HEADER_FROM,
      "identifiers/header_from" },
    { E_IDENTIFIERS, "envelope_from", E_ENVELOPE_FROM,
      "identifiers/envelope_from" },
    { E_IDENTIFIERS, "envelope_to", E_ENVELOPE_TO,
      "identifiers/envelope_to" },
    { E_AUTH, "dkim", E_A_DKIM, "auth_results/dkim" },
    { E_AUTH, "spf", E_A_SPF, "auth_results/spf" },
    { E_A_DKIM, "domain", E_AD_DOMAIN, "auth_results/dkim/domain" },
    { E_A_DKIM, "selector", E_AD_SELECTOR, "auth_results/dkim/selector" },
    { E_A_DKIM, "result", E_AD_RESULT, "auth_results/dkim/result" },
    { E_A_DKIM, "human_result", E_AD_HUMAN, "auth_results/dkim/human_result" },
    { E_A_SPF, "domain", E_AS_DOMAIN, "auth_results/spf/domain" },
    { E_A_SPF, "scope", E_AS_SCOPE, "auth_results/spf/scope" },
    { E_A_SPF, "result", E_AS_RESULT, "auth_results/spf/result" },
    { E_A_SPF, "human_result", E_AS_HUMAN, "auth_results/spf/human_result" },
};

/* Enumerated values: canonical lower-case spellings. */
static const char *const enum_policy[] = { "none", "quarantine", "reject",
    NULL };
static const char *const enum_align[] = { "r", "s", NULL };
static const char *const enum_testing[] = { "n", "y", NULL };
static const char *const enum_discovery[] = { "psl", "treewalk", NULL };
static const char *const enum_disposition[] = { "none", "quarantine",
    "reject", "pass", NULL };
static const char *const enum_passfail[] = { "pass", "fail", NULL };
static const char *const enum_reason[] = { "forwarded", "sampled_out",
    "trusted_forwarder", "mailing_list", "local_policy", "other",
    "policy_test_mode", NULL };
static const char *const enum_dkim_result[] = { "none", "pass", "fail",
    "policy", "neutral", "temperror", "permerror", NULL };
static const char *const enum_spf_result[] = { "none", "neutral", "pass",
    "fail", "softfail", "policy", "temperror", "permerror", NULL };
static const char *const enum_spf_scope[] = { "helo", "mfrom", NULL };

#define DMARC_STACK_MAX 256      /* libxml2's own depth ceiling */
#define PROLOG_SCAN_MAX 4096     /* bytes of prolog checked for DOCTYPE */

struct dmarc_xml {
    report_read_fn              rd;
    void                       *rdctx;
    const struct report_limits *lim;
    const struct report_sink   *sink;
    struct report_diag         *diag;
    xmlParserCtxtPtr            ctxt;

    /* first bytes, looked at for a DOCTYPE before libxml2 sees them */
    char                        head[PROLOG_SCAN_MAX];
    size_t                      head_len;
    enum ruad_rc                rc;          /* why the parse stopped */

    enum elem                   stack[DMARC_STACK_MAX];
    int                         depth;       /* elements open */
    bool                        seen_feedback, done_feedback;
    struct buf                  text;
    bool                        text_long;

    struct dmarc_report         rep;
    struct dmarc_record         rec;
    bool                        in_record;
    bool                        delivered;   /* records went to the sink */

    int                         xml_err_line;
    char                        xml_err[200];
};

static pthread_once_t dmarc_xml_once = PTHREAD_ONCE_INIT;

/* dmarc_xml_no_entities - external entity loader that loads nothing */
static xmlParserInputPtr
dmarc_xml_no_entities(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    (void)url;
    (void)id;
    (void)ctxt;
    return NULL;
}

/* dmarc_xml_init - process-wide libxml2 set-up, once */
static void
dmarc_xml_init(void)
{
    xmlInitParser();
    xmlSetExternalEntityLoader(dmarc_xml_no_entities);
}

/* dmarc_xml_line - current line of the document, 0 if unknown */
static int
dmarc_xml_line(const struct dmarc_xml *x)
{
    if (x->ctxt == NULL || x->ctxt->input == NULL)
        return 0;
    return x->ctxt->input->line > 0 ? x->ctxt->input->line : 0;
}

/* dmarc_xml_error_cb - remember libxml2's first error and its line */
static void
dmarc_xml_error_cb(void *ctx, xmlErrorPtr err)
{
    struct dmarc_xml *x = ctx;
    size_t            n;

    if (err == NULL || err->level < XML_ERR_ERROR || x->xml_err[0] != '\0')
        return;
    x->xml_err_line = err->line;
    snprintf(x->xml_err, sizeof(x->xml_err), "%s",
        err->message ? err->message : "XML error");
    n = strlen(x->xml_err);
    while (n > 0 && (x->xml_err[n - 1] == '\n' || x->xml_err[n - 1] == ' '))
        x->xml_err[--n] = '\0';
}

/*
 * prolog_has_doctype - does the prolog in (p, n) reach a DOCTYPE?  Works on
 * the ASCII subset of UTF-8 and of UTF-16 (either order), which is all a
 * prolog up to "<!DOCTYPE" can hold.  Stops at the first element.
 */
static bool
prolog_has_doctype(const char *p, size_t n)
{
    char   a[PROLOG_SCAN_MAX];
    size_t i = 0, m = 0, step = 1, off = 0;

    if (n >= 2 && (unsigned char)p[0] == 0xff && (unsigned char)p[1] == 0xfe)
        step = 2, off = 2;                       /* UTF-16LE BOM */
    else if (n >= 2 && (unsigned char)p[0] == 0xfe &&
        (unsigned char)p[1] == 0xff)
        step = 2, off = 3;                       /* UTF-16BE BOM */
    else if (n >= 2 && p[0] == '<' && p[1] == '\0')
        step = 2, off = 0;
    else if (n >= 2 && p[0] == '\0' && p[1] == '<')
        step = 2, off = 1;
    else if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        off = 3;
    for (i = off; i < n && m < sizeof(a); i += step)
        a[m++] = p[i];
    for (i = 0; i < m;) {
        if (a[i] == ' ' || a[i] == '\t' || a[i] == '\r' || a[i] == '\n') {
            i++;
        } else if (m - i >= 2 && a[i] == '<' && a[i + 1] == '?') {
            const char *e = memmem(a + i, m - i, "?>", 2);
            if (e == NULL)
                return false;
            i = (size_t)(e - a) + 2;
        } else if (m - i >= 4 && memcmp(a + i, "<!--", 4) == 0) {
            const char *e = memmem(a + i + 4, m - i - 4, "-->", 3);
            if (e == NULL)
                return false;
            i = (size_t)(e - a) + 3;
        } else {
            return m - i >= 9 && strncasecmp(a + i, "<!DOCTYPE", 9) == 0;
        }
    }
    return false;
}

/* dmarc_xml_fill_head - read the first bytes, up to PROLOG_SCAN_MAX */
static enum ruad_rc
dmarc_xml_fill_head(struct dmarc_xml *x)
{
    size_t       got;
    enum ruad_rc rc;

    while (x->head_len < sizeof(x->head)) {
        rc = x->rd(x->rdctx, x->head + x->head_len,
            sizeof(x->head) - x->head_len, &got);
        if (rc != RUAD_OK)
            return rc;
        if (got == 0)
            break;
        x->head_len += got;
    }
    return RUAD_OK;
}

/* trim - bounds of (p, n) without XML white space */
static void
trim(const char **p, size_t *n)
{
    while (*n > 0 && (**p == ' ' || **p == '\t' || **p == '\r' ||
        **p == '\n'))
        (*p)++, (*n)--;
    while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t' ||
        (*p)[*n - 1] == '\r' || (*p)[*n - 1] == '\n'))
        (*n)--;
}

/* dmarc_xml_path - display path of an element id */
static const char *
dmarc_xml_path(enum elem e)
{
    size_t i;

    for (i = 0; i < sizeof(dmarc_xml_elems) / sizeof(dmarc_xml_elems[0]); i++)
        if (dmarc_xml_elems[i].self == e)
            return dmarc_xml_elems[i].path;
    return "?";
}

/*
 * set_str - store the trimmed text of element e into *field; empty text
 * leaves the field NULL; a repeated element keeps the first value.
 */
static enum ruad_rc
set_str(struct dmarc_xml *x, enum elem e, char **field, const char *p,
    size_t n)
{
    trim(&p, &n);
    if (n == 0)
        return RUAD_OK;
    if (*field != NULL) {
        report_diag_warn(x->diag, "line %d: repeated <%s>, first value kept",
            dmarc_xml_line(x), dmarc_xml_path(e));
        return RUAD_OK;
    }
    if ((*field = report_strndup(p, n)) == NULL)
        return RUAD_NOMEM;
    return RUAD_OK;
}

/*
 * set_enum - like set_str, but canonical lower case when the value is one
 * of vals (compared case-insensitively); kept verbatim with a warning when
 * it is not.
 */
static enum ruad_rc
set_enum(struct dmarc_xml *x, enum elem e, char **field, const char *p,
    size_t n, const char *const *vals)
{
    char   esc[80];
    size_t i;

    trim(&p, &n);
    if (n == 0 || *field != NULL)
        return set_str(x, e, field, p, n);
    for (i = 0; vals[i] != NULL; i++) {
        if (strlen(vals[i]) == n && strncasecmp(vals[i], p, n) == 0) {
            if ((*field = strdup(vals[i])) == NULL)
                return RUAD_NOMEM;
            return RUAD_OK;
        }
    }
    report_diag_warn(x->diag, "line %d: unknown value \"%s\" for <%s> kept",
        dmarc_xml_line(x), log_escape(esc, sizeof(esc), p, n),
        dmarc_xml_path(e));
    return set_str(x, e, field, p, n);
}

/*
 * parse_uint - decimal digits, optionally followed by a fraction that is
 * dropped ("1538204542.0"); false if not a number or above max.
 */
static bool
parse_uint(const char *p, size_t n, uint64_t max, uint64_t *out, bool *frac)
{
    uint64_t v = 0;
    size_t   i;

    trim(&p, &n);
    if (n > 0 && *p == '+')
        p++, n--;
    if (n == 0 || *p < '0' || *p > '9')
        return false;
    *frac = false;
    for (i = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
        if (v > (max - (uint64_t)(p[i] - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    if (i < n) {
        if (p[i] != '.')
            return false;
        for (i++; i < n; i++)
            if (p[i] < '0' || p[i] > '9')
                return false;
        *frac = true;
    }
    *out = v;
    return true;
}

/* set_time - epoch seconds for begin or end */
static void
set_time(struct dmarc_xml *x, enum elem e, int64_t *field, bool *has,
    const char *p, size_t n)
{
    uint64_t v;
    bool     frac;
    char     esc[80];

    if (*has) {
        report_diag_warn(x->diag, "line %d: repeated <%s>, first value kept",
            dmarc_xml_line(x), dmarc_xml_path(e));
        return;
    }
    if (!parse_uint(p, n, (uint64_t)REPORT_TIME_MAX, &v, &frac)) {
        trim(&p, &n);
        report_diag_warn(x->diag, "line %d: <%s> \"%s\" is not a time",
            dmarc_xml_line(x), dmarc_xml_path(e),
            log_escape(esc, sizeof(esc), p, n));
        return;
    }
    if (frac)
        report_diag_warn(x->diag, "line %d: fractional <%s> truncated",
            dmarc_xml_line(x), dmarc_xml_path(e));
    *field = (int64_t)v;
    *has = true;
}

/* set_ip - canonical text of an IPv4 or IPv6 address, else verbatim */
static enum ruad_rc
set_ip(struct dmarc_xml *x, char **field, const char *p, size_t n)
{
    char          tmp[INET6_ADDRSTRLEN + 1], esc[80];
    unsigned char bin[16];

    trim(&p, &n);
    if (n > 0 && n < sizeof(tmp) && *field == NULL) {
        memcpy(tmp, p, n);
        tmp[n] = '\0';
        if (inet_pton(AF_INET, tmp, bin) == 1)
            return set_str(x, E_SOURCE_IP, field, tmp, n);
        if (inet_pton(AF_INET6, tmp, bin) == 1 &&
            inet_ntop(AF_INET6, bin, tmp, sizeof(tmp)) != NULL)
            return set_str(x, E_SOURCE_IP, field, tmp, strlen(tmp));
    }
    if (n > 0 && *field == NULL)
        report_diag_warn(x->diag, "line %d: <source_ip> \"%s\" is not an IP "
            "address", dmarc_xml_line(x), log_escape(esc, sizeof(esc), p, n));
    return set_str(x, E_SOURCE_IP, field, p, n);
}

/* grow - make room for one more element in a counted array */
static enum ruad_rc
grow(void **arr, size_t *n, size_t size, size_t max)
{
    void *p;

    if (*n >= max)
        return RUAD_LIMIT;
    p = realloc(*arr, (*n + 1) * size);
    if (p == NULL)
        return RUAD_NOMEM;
    memset((char *)p + *n * size, 0, size);
    *arr = p;
    (*n)++;
    return RUAD_OK;
}

/* dmarc_xml_start - an element opened: bookkeeping for lists */
static enum ruad_rc
dmarc_xml_start(struct dmarc_xml *x, enum elem e)
{
    struct dmarc_record *r = &x->rec;
    enum ruad_rc         rc = RUAD_OK;

    switch (e) {
    case E_RECORD:
        dmarc_record_clear(r);
        x->in_record = true;
        break;
    case E_REASON:
        rc = grow((void **)&r->reasons, &r->n_reasons, sizeof(*r->reasons),
            DMARC_REASONS_MAX);
        break;
    case E_A_DKIM:
        rc = grow((void **)&r->dkim_auth, &r->n_dkim_auth,
            sizeof(*r->dkim_auth), DMARC_AUTH_MAX);
        break;
    case E_A_SPF:
        rc = grow((void **)&r->spf_auth, &r->n_spf_auth,
            sizeof(*r->spf_auth), DMARC_AUTH_MAX);
        break;
    default:
        break;
    }
    if (rc == RUAD_LIMIT)
        return report_diag_fail(x->diag, rc, "line %d: more than %d <%s> "
            "in one record", dmarc_xml_line(x), e == E_REASON ?
            DMARC_REASONS_MAX : DMARC_AUTH_MAX, dmarc_xml_path(e));
    return rc;
}

/* dmarc_xml_record_done - a record is complete: check it, hand it on */
static enum ruad_rc
dmarc_xml_record_done(struct dmarc_xml *x)
{
    struct dmarc_record *r = &x->rec;
    enum ruad_rc         rc = RUAD_OK;

    x->in_record = false;
    if (x->rep.n_records >= x->lim->records_max)
        return report_diag_fail(x->diag, RUAD_LIMIT, "line %d: more than "
            "%llu records in one report", dmarc_xml_line(x),
            (unsigned long long)x->lim->records_max);
    if (r->source_ip == NULL)
        report_diag_warn(x->diag, "line %d: record without <source_ip>",
            dmarc_xml_line(x));
    if (!r->has_count)
        report_diag_warn(x->diag, "line %d: record without a valid <count>",
            dmarc_xml_line(x));
    x->rep.n_records++;
    if (r->has_count)
        x->rep.n_messages += r->count;
    if (x->sink->dmarc_record != NULL) {
        x->delivered = true;
        rc = x->sink->dmarc_record(x->sink->ctx, &x->rep, r);
    }
    dmarc_record_clear(r);
    return rc;
}

/* dmarc_xml_leaf - the text of element e is complete */
static enum ruad_rc
dmarc_xml_leaf(struct dmarc_xml *x, enum elem e, const char *p, size_t n)
{
    struct dmarc_report    *rp = &x->rep;
    struct dmarc_policy    *pol = &rp->policy;
    struct dmarc_record    *r = &x->rec;
    struct dmarc_dkim_auth *ad = r->n_dkim_auth ?
        &r->dkim_auth[r->n_dkim_auth - 1] : NULL;
    struct dmarc_spf_auth  *as = r->n_spf_auth ?
        &r->spf_auth[r->n_spf_auth - 1] : NULL;
    struct dmarc_reason    *re = r->n_reasons ?
        &r->reasons[r->n_reasons - 1] : NULL;
    uint64_t                v;
    bool                    frac;
    char                    esc[80];
    enum ruad_rc            rc;

    switch (e) {
    case E_VERSION:       return set_str(x, e, &rp->version, p, n);
    case E_ORG_NAME:      return set_str(x, e, &rp->org_name, p, n);
    case E_EMAIL:         return set_str(x, e, &rp->org_email, p, n);
    case E_EXTRA:         return set_str(x, e, &rp->extra_contact_info, p, n);
    case E_REPORT_ID:     return set_str(x, e, &rp->report_id, p, n);
    case E_GENERATOR:     return set_str(x, e, &rp->generator, p, n);
    case E_BEGIN:
        set_time(x, e, &rp->begin, &rp->has_begin, p, n);
        return RUAD_OK;
    case E_END:
        set_time(x, e, &rp->end, &rp->has_end, p, n);
        return RUAD_OK;
    case E_ERROR:
        trim(&p, &n);
        if (n == 0)
            return RUAD_OK;
        rc = grow((void **)&rp->errors, &rp->n_errors, sizeof(char *),
            DMARC_ERRORS_MAX);
        if (rc == RUAD_LIMIT) {
            report_diag_warn(x->diag, "line %d: more than %d <error> "
                "values, rest ignored", dmarc_xml_line(x), DMARC_ERRORS_MAX);
            return RUAD_OK;
        }
        if (rc != RUAD_OK)
            return rc;
        return set_str(x, e, &rp->errors[rp->n_errors - 1], p, n);
    case E_P_DOMAIN:      return set_str(x, e, &pol->domain, p, n);
    case E_ADKIM:  return set_enum(x, e, &pol->adkim, p, n, enum_align);
    case E_ASPF:   return set_enum(x, e, &pol->aspf, p, n, enum_align);
    case E_P:      return set_enum(x, e, &pol->p, p, n, enum_policy);
    case E_SP:     return set_enum(x, e, &pol->sp, p, n, enum_policy);
    case E_NP:     return set_enum(x, e, &pol->np, p, n, enum_policy);
    case E_FO:            return set_str(x, e, &pol->fo, p, n);
    case E_TESTING:
        return set_enum(x, e, &pol->testing, p, n, enum_testing);
    case E_DISCOVERY:
        return set_enum(x, e, &pol->discovery_method, p, n, enum_discovery);
    case E_PCT:
        trim(&p, &n);
        if (n == 0 || pol->has_pct)
            return RUAD_OK;
        if (!parse_uint(p, n, 100, &v, &frac)) {
            report_diag_warn(x->diag, "line %d: <pct> \"%s\" is not 0..100",
                dmarc_xml_line(x), log_escape(esc, sizeof(esc), p, n));
            return RUAD_OK;
        }
        pol->pct = (int64_t)v;
        pol->has_pct = true;
        return RUAD_OK;
    case E_SOURCE_IP:     return set_ip(x, &r->source_ip, p, n);
    case E_COUNT:
        trim(&p, &n);
        if (r->has_count) {
            report_diag_warn(x->diag, "line %d: repeated <count>, first "
                "value kept", dmarc_xml_line(x));
            return RUAD_OK;
        }
        if (!parse_uint(p, n, (uint64_t)INT64_MAX, &v, &frac) || frac) {
            report_diag_warn(x->diag, "line %d: <count> \"%s\" is not a "
                "whole number", dmarc_xml_line(x),
                log_escape(esc, sizeof(esc), p, n));
            return RUAD_OK;
        }
        r->count = v;
        r->has_count = true;
        return RUAD_OK;
    case E_DISPOSITION:
        return set_enum(x, e, &r->disposition, p, n, enum_disposition);
    case E_EV_DKIM: return set_enum(x, e, &r->dkim, p, n, enum_passfail);
    case E_EV_SPF:  return set_enum(x, e, &r->spf, p, n, enum_passfail);
    case E_R_TYPE:
        return set_enum(x, e, &re->type, p, n, enum_reason);
    case E_R_COMMENT:     return set_str(x, e, &re->comment, p, n);
    case E_HEADER_FROM:   return set_str(x, e, &r->header_from, p, n);
    case E_ENVELOPE_FROM: return set_str(x, e, &r->envelope_from, p, n);
    case E_ENVELOPE_TO:   return set_str(x, e, &r->envelope_to, p, n);
    case E_AD_DOMAIN:     return set_str(x, e, &ad->domain, p, n);
    case E_AD_SELECTOR:   return set_str(x, e, &ad->selector, p, n);
    case E_AD_RESULT:
        return set_enum(x, e, &ad->result, p, n, enum_dkim_result);
    case E_AD_HUMAN:      return set_str(x, e, &ad->human_result, p, n);
    case E_AS_DOMAIN:     return set_str(x, e, &as->domain, p, n);
    case E_AS_SCOPE:
        return set_enum(x, e, &as->scope, p, n, enum_spf_scope);
    case E_AS_RESULT:
        return set_enum(x, e, &as->result, p, n, enum_spf_result);
    case E_AS_HUMAN:      return set_str(x, e, &as->human_result, p, n);
    default:
        return RUAD_OK;
    }
}

/* is_leaf - elements whose text we keep */
static bool
is_leaf(enum elem e)
{
    switch (e) {
    case E_OUTSIDE: case E_SKIP: case E_FEEDBACK: case E_METADATA:
    case E_DATE_RANGE: case E_POLICY: case E_RECORD: case E_ROW:
    case E_EVALUATED: case E_REASON: case E_IDENTIFIERS: case E_AUTH:
    case E_A_DKIM: case E_A_SPF:
        return false;
    default:
        return true;
    }
}

/* dmarc_xml_end - element e at stack level d closed */
static enum ruad_rc
dmarc_xml_end(struct dmarc_xml *x, enum elem e)
{
    enum ruad_rc rc = RUAD_OK;

    if (is_leaf(e)) {
        if (x->text_long)
            return report_diag_fail(x->diag, RUAD_LIMIT, "line %d: <%s> "
                "longer than %zu bytes", dmarc_xml_line(x),
                dmarc_xml_path(e), x->lim->text_max);
        rc = dmarc_xml_leaf(x, e, buf_ptr(&x->text), buf_len(&x->text));
    } else if (e == E_RECORD) {
        rc = dmarc_xml_record_done(x);
    } else if (e == E_FEEDBACK) {
        x->done_feedback = true;
    }
    return rc;
}

/* dmarc_xml_child - id of element name inside parent */
static enum elem
dmarc_xml_child(enum elem parent, const char *name)
{
    size_t i;

    if (parent == E_OUTSIDE)
        return strcmp(name, "feedback") == 0 ? E_FEEDBACK : E_OUTSIDE;
    if (parent == E_SKIP)
        return E_SKIP;
    for (i = 0; i < sizeof(dmarc_xml_elems) / sizeof(dmarc_xml_elems[0]); i++)
        if (dmarc_xml_elems[i].parent == parent &&
            strcmp(dmarc_xml_elems[i].name, name) == 0)
            return dmarc_xml_elems[i].self;
    return E_SKIP;
}

/* dmarc_xml_stop - remember why, and stop libxml2 */
static void
dmarc_xml_stop(struct dmarc_xml *x, enum ruad_rc rc)
{
    if (x->rc == RUAD_OK)
        x->rc = rc;
    xmlStopParser(x->ctxt);
}

/* sax_start - an element start tag */
static void
sax_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
    const xmlChar *uri, int nb_ns, const xmlChar **ns, int nb_attr,
    int nb_def, const xmlChar **attrs)
{
    struct dmarc_xml *x = ctx;
    const char       *name = (const char *)localname;
    enum elem         parent, e;
    enum ruad_rc      rc = RUAD_OK;
    char              esc[80];

    (void)prefix, (void)nb_ns, (void)ns, (void)nb_attr, (void)nb_def;
    (void)attrs;
    if (x->rc != RUAD_OK)
        return;
    if ((unsigned)x->depth >= x->lim->xml_depth_max ||
        x->depth >= DMARC_STACK_MAX) {
        report_diag_fail(x->diag, RUAD_LIMIT, "line %d: XML nested deeper "
            "than %u elements", dmarc_xml_line(x), x->lim->xml_depth_max);
        dmarc_xml_stop(x, RUAD_LIMIT);
        return;
    }
    parent = x->depth > 0 ? x->stack[x->depth - 1] : E_OUTSIDE;
    if (parent == E_OUTSIDE && x->done_feedback)
        e = E_OUTSIDE;
    else
        e = dmarc_xml_child(parent, name);
    if (e == E_FEEDBACK && x->seen_feedback) {
        report_diag_warn(x->diag, "line %d: second <feedback> ignored",
            dmarc_xml_line(x));
        e = E_SKIP;
    } else if (e == E_SKIP && parent != E_SKIP &&
        strcmp(name, "extension") != 0) {
        report_diag_warn(x->diag, "line %d: unknown element <%s> in <%s> "
            "ignored", dmarc_xml_line(x),
            log_escape(esc, sizeof(esc), name, strlen(name)),
            parent == E_FEEDBACK ? "feedback" : dmarc_xml_path(parent));
    }
    x->stack[x->depth++] = e;
    if (e == E_FEEDBACK) {
        x->seen_feedback = true;
        if (uri != NULL && (x->rep.xmlns = strdup((const char *)uri)) ==
            NULL)
            rc = RUAD_NOMEM;
    }
    if (is_leaf(e)) {
        buf_reset(&x->text);
        x->text_long = false;
    }
    if (rc == RUAD_OK && e != E_OUTSIDE && e != E_SKIP)
        rc = dmarc_xml_start(x, e);
    if (rc != RUAD_OK)
        dmarc_xml_stop(x, rc);
}

/* sax_end - an element end tag (libxml2 balances them, even recovering) */
static void
sax_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
    const xmlChar *uri)
{
    struct dmarc_xml *x = ctx;
    enum elem         e;
    enum ruad_rc      rc;

    (void)localname, (void)prefix, (void)uri;
    if (x->rc != RUAD_OK || x->depth == 0)
        return;
    e = x->stack[--x->depth];
    if (e == E_OUTSIDE || e == E_SKIP)
        return;
    if ((rc = dmarc_xml_end(x, e)) != RUAD_OK)
        dmarc_xml_stop(x, rc);
}

/* sax_text - character data (also CDATA) of the innermost element */
static void
sax_text(void *ctx, const xmlChar *ch, int len)
{
    struct dmarc_xml *x = ctx;
    enum elem         e;
    const char       *v = (const char *)ch;
    size_t            n = len > 0 ? (size_t)len : 0;

    if (x->rc != RUAD_OK || x->depth == 0 || x->text_long)
        return;
    e = x->stack[x->depth - 1];
    if (e == E_OUTSIDE || e == E_SKIP)
        return;
    if (!is_leaf(e)) {
        trim(&v, &n);
        if (n > 0)
            report_diag_warn(x->diag, "line %d: stray text in <%s> ignored",
                dmarc_xml_line(x), e == E_FEEDBACK ? "feedback" :
                dmarc_xml_path(e));
        return;
    }
    if (buf_append(&x->text, v, n) != RUAD_OK)
        x->text_long = true;
}

/* sax_doctype - any DTD refuses the document, before its subset is read */
static void
sax_doctype(void *ctx, const xmlChar *name, const xmlChar *eid,
    const xmlChar *sid)
{
    struct dmarc_xml *x = ctx;

    (void)name, (void)eid, (void)sid;
    report_diag_fail(x->diag, RUAD_MALFORMED, "line %d: DOCTYPE and "
        "entities are not allowed in a report", dmarc_xml_line(x));
    dmarc_xml_stop(x, RUAD_MALFORMED);
}

/* sax_entity - no entity is ever looked up or defined */
static xmlEntityPtr
sax_entity(void *ctx, const xmlChar *name)
{
    (void)ctx, (void)name;
    return NULL;
}

static void
sax_entity_decl(void *ctx, const xmlChar *name, int type,
    const xmlChar *pid, const xmlChar *sid, xmlChar *content)
{
    (void)name, (void)type, (void)pid, (void)sid, (void)content;
    sax_doctype(ctx, NULL, NULL, NULL);
}

/* dmarc_xml_push - feed the head, then the rest of the part, to libxml2 */
static enum ruad_rc
dmarc_xml_push(struct dmarc_xml *x)
{
    char         chunk[65536];
    size_t       got;
    enum ruad_rc rc;

    for (;;) {
        if ((rc = x->rd(x->rdctx, chunk, sizeof(chunk), &got)) != RUAD_OK)
            return report_diag_fail(x->diag, rc, "%s", ruad_rc_str(rc));
        xmlParseChunk(x->ctxt, chunk, (int)got, got == 0);
        if (x->rc != RUAD_OK)
            return x->rc;
        if (got == 0 || x->ctxt->disableSAX > 1 ||
            x->ctxt->instate == XML_PARSER_EOF)
            break;
    }
    /* libxml2 gave up (fatal error); the finish step decides */
    if (got != 0 && x->xml_err[0] == '\0')
        snprintf(x->xml_err, sizeof(x->xml_err), "parser stopped");
    return RUAD_OK;
}

/* dmarc_xml_finish - required fields, fix-ups, and the verdict */
static enum ruad_rc
dmarc_xml_finish(struct dmarc_xml *x)
{
    struct dmarc_report *rp = &x->rep;
    char                 missing[256], bad[300];
    const char          *at;
    size_t               n = 0;

    bad[0] = '\0';
    if (x->xml_err[0] != '\0')
        snprintf(bad, sizeof(bad), "XML not well-formed at line %d: %s",
            x->xml_err_line, x->xml_err);
    if (!x->seen_feedback) {
        if (bad[0] != '\0')
            return report_diag_fail(x->diag, RUAD_MALFORMED, "%s", bad);
        return report_diag_fail(x->diag, RUAD_UNSUPPORTED, "no <feedback> "
            "element: not a DMARC aggregate report");
    }
    if (x->in_record)
        report_diag_warn(x->diag, "incomplete last record dropped");
    if (rp->org_name == NULL && rp->org_email != NULL &&
        (at = strrchr(rp->org_email, '@')) != NULL && at[1] != '\0') {
        if ((rp->org_name = strdup(at + 1)) == NULL)
            return RUAD_NOMEM;
        report_diag_warn(x->diag, "empty <org_name>, taken from the email's "
            "domain");
    }
    missing[0] = '\0';
#define REQUIRE(cond, what) do { \
        if (!(cond) && n < sizeof(missing)) \
            n += (size_t)snprintf(missing + n, sizeof(missing) - n, "%s%s", \
                n ? ", " : "", what); \
    } while (0)
    REQUIRE(rp->org_name != NULL, "report_metadata/org_name or email");
    REQUIRE(rp->report_id != NULL, "report_metadata/report_id");
    REQUIRE(rp->has_begin, "report_metadata/date_range/begin");
    REQUIRE(rp->has_end, "report_metadata/date_range/end");
    REQUIRE(rp->policy.domain != NULL, "policy_published/domain");
#undef REQUIRE
    if (missing[0] != '\0')
        return report_diag_fail(x->diag, RUAD_MALFORMED, "missing %s%s%s",
            missing, bad[0] ? "; " : "", bad);
    if (bad[0] != '\0')
        report_diag_warn(x->diag, "%s; kept what could be read", bad);
    if (rp->begin > rp->end)
        report_diag_warn(x->diag, "date_range begins after it ends");
    if (rp->xmlns != NULL &&
        strcmp(rp->xmlns, "urn:ietf:params:xml:ns:dmarc-2.0") != 0 &&
        strcmp(rp->xmlns, "http://dmarc.org/dmarc-xml/0.1") != 0) {
        char esc[80];

        report_diag_warn(x->diag, "unexpected namespace \"%s\"",
            log_escape(esc, sizeof(esc), rp->xmlns, strlen(rp->xmlns)));
    }
    if (x->sink->dmarc_done != NULL)
        return x->sink->dmarc_done(x->sink->ctx, rp);
    return RUAD_OK;
}

enum ruad_rc
dmarc_xml_parse(report_read_fn rd, void *rdctx,
    const struct report_limits *lim, const struct report_sink *sink,
    struct report_diag *diag)
{
    struct dmarc_xml *x;
    enum ruad_rc      rc;

    pthread_once(&dmarc_xml_once, dmarc_xml_init);
    if ((x = calloc(1, sizeof(*x))) == NULL)
        return report_diag_fail(diag, RUAD_NOMEM, "out of memory");
    x->rd = rd;
    x->rdctx = rdctx;
    x->lim = lim;
    x->sink = sink;
    x->diag = diag;
    buf_init(&x->text, lim->text_max);

    if ((rc = dmarc_xml_fill_head(x)) != RUAD_OK) {
        rc = report_diag_fail(diag, rc, "%s", ruad_rc_str(rc));
        goto out;
    }
    if (x->head_len == 0) {
        rc = report_diag_fail(diag, RUAD_MALFORMED, "empty document");
        goto out;
    }
    if (prolog_has_doctype(x->head, x->head_len)) {
        rc = report_diag_fail(diag, RUAD_MALFORMED, "DOCTYPE and entities "
            "are not allowed in a report");
        goto out;
    }
    {
        xmlSAXHandler sax;

        memset(&sax, 0, sizeof(sax));
        sax.initialized = XML_SAX2_MAGIC;
        sax.startElementNs = sax_start;
        sax.endElementNs = sax_end;
        sax.characters = sax_text;
        sax.cdataBlock = sax_text;
        sax.ignorableWhitespace = sax_text;
        sax.internalSubset = sax_doctype;
        sax.externalSubset = sax_doctype;
        sax.entityDecl = sax_entity_decl;
        sax.getEntity = sax_entity;
        sax.getParameterEntity = sax_entity;
        sax.serror = dmarc_xml_error_cb;
        x->ctxt = xmlCreatePushParserCtxt(&sax, x, x->head,
            (int)x->head_len, NULL);
    }
    if (x->ctxt == NULL) {
        rc = report_diag_fail(diag, RUAD_NOMEM, "cannot create XML parser");
        goto out;
    }
    xmlCtxtUseOptions(x->ctxt, XML_PARSE_RECOVER | XML_PARSE_NONET |
        XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    rc = dmarc_xml_push(x);
    if (rc == RUAD_OK)
        rc = dmarc_xml_finish(x);
    if (rc != RUAD_OK && diag->error[0] == '\0')
        report_diag_fail(diag, rc, "%s", ruad_rc_str(rc));
out:
    if (rc != RUAD_OK && x->delivered && sink->dmarc_abort != NULL)
        sink->dmarc_abort(sink->ctx);
    if (x->ctxt != NULL)
        xmlFreeParserCtxt(x->ctxt);
    dmarc_record_clear(&x->rec);
    dmarc_report_clear(&x->rep);
    buf_free(&x->text);
    free(x);
    return rc;
}
