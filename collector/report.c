/*
 * report.c - the normalised report model: limits, diagnostics, freeing
 * and small helpers shared by the parsers (see report.h).
 */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "limits.h"

void
report_limits_default(struct report_limits *lim)
{
    lim->decomp_out_max = DECOMP_OUT_MAX;
    lim->decomp_ratio_max = DECOMP_RATIO_MAX;
    lim->decomp_ratio_grace = DECOMP_RATIO_GRACE;
    lim->zip_members_max = DECOMP_ZIP_MEMBERS_MAX;
    lim->xml_depth_max = DMARC_XML_DEPTH_MAX;
    lim->text_max = DMARC_TEXT_MAX;
    lim->records_max = DMARC_RECORDS_MAX;
    lim->json_max = TLSRPT_JSON_MAX;
    lim->json_depth_max = TLSRPT_DEPTH_MAX;
    lim->json_values_max = TLSRPT_VALUES_MAX;
    lim->json_string_max = TLSRPT_STRING_MAX;
    lim->tlsrpt_policies_max = TLSRPT_POLICIES_MAX;
    lim->tlsrpt_details_max = TLSRPT_DETAILS_MAX;
    lim->mime_depth_max = MIME_DEPTH_MAX;
    lim->mime_parts_max = MIME_PARTS_MAX;
    lim->mime_header_max = MIME_HEADER_MAX;
}

void
report_diag_init(struct report_diag *d)
{
    memset(d, 0, sizeof(*d));
}

void
report_diag_free(struct report_diag *d)
{
    size_t i;

    for (i = 0; i < d->n_warnings; i++)
        free(d->warnings[i]);
    free(d->warnings);
    report_diag_init(d);
}

/* diag_format - prefix + message into a fresh string */
static char *diag_format(const struct report_diag *d, const char *fmt,
    va_list ap) __attribute__((format(printf, 2, 0)));

static char *
diag_format(const struct report_diag *d, const char *fmt, va_list ap)
{
    char msg[512], *s;
    int  n;

    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (n < 0)
        return NULL;
    if ((size_t)n >= sizeof(msg))          /* cut, and say so */
        memcpy(msg + sizeof(msg) - 4, "...", 4);
    if (asprintf(&s, "%s%s", d->prefix, msg) < 0)
        return NULL;
    return s;
}

void
report_diag_warn(struct report_diag *d, const char *fmt, ...)
{
    va_list ap;
    char   *s, **nw;
    size_t  ncap;

    if (d->n_warnings >= PARSE_WARNINGS_MAX) {
        d->dropped++;
        return;
    }
    va_start(ap, fmt);
    s = diag_format(d, fmt, ap);
    va_end(ap);
    if (s == NULL) {
        d->dropped++;
        return;
    }
    if (d->n_warnings == d->cap_warnings) {
        ncap = d->cap_warnings ? d->cap_warnings * 2 : 8;
        nw = realloc(d->warnings, ncap * sizeof(*nw));
        if (nw == NULL) {
            free(s);
            d->dropped++;
            return;
        }
        d->warnings = nw;
        d->cap_warnings = ncap;
    }
    d->warnings[d->n_warnings++] = s;
}

enum ruad_rc
report_diag_fail(struct report_diag *d, enum ruad_rc rc, const char *fmt, ...)
{
    va_list ap;
    char   *s;

    if (d->error[0] != '\0')
        return rc;
    va_start(ap, fmt);
    s = diag_format(d, fmt, ap);
    va_end(ap);
    snprintf(d->error, sizeof(d->error), "%s", s ? s : ruad_rc_str(rc));
    free(s);
    return rc;
}

void
dmarc_report_clear(struct dmarc_report *r)
{
    size_t i;

    free(r->version);
    free(r->org_name);
    free(r->org_email);
    free(r->extra_contact_info);
    free(r->report_id);
    for (i = 0; i < r->n_errors; i++)
        free(r->errors[i]);
    free(r->errors);
    free(r->generator);
    free(r->xmlns);
    free(r->policy.domain);
    free(r->policy.adkim);
    free(r->policy.aspf);
    free(r->policy.p);
    free(r->policy.sp);
    free(r->policy.np);
    free(r->policy.fo);
    free(r->policy.testing);
    free(r->policy.discovery_method);
    memset(r, 0, sizeof(*r));
}

void
dmarc_record_clear(struct dmarc_record *r)
{
    size_t i;

    free(r->source_ip);
    free(r->disposition);
    free(r->dkim);
    free(r->spf);
    for (i = 0; i < r->n_reasons; i++) {
        free(r->reasons[i].type);
        free(r->reasons[i].comment);
    }
    free(r->reasons);
    free(r->header_from);
    free(r->envelope_from);
    free(r->envelope_to);
    for (i = 0; i < r->n_dkim_auth; i++) {
        free(r->dkim_auth[i].domain);
        free(r->dkim_auth[i].selector);
        free(r->dkim_auth[i].result);
        free(r->dkim_auth[i].human_result);
    }
    free(r->dkim_auth);
    for (i = 0; i < r->n_spf_auth; i++) {
        free(r->spf_auth[i].domain);
        free(r->spf_auth[i].scope);
        free(r->spf_auth[i].result);
        free(r->spf_auth[i].human_result);
    }
    free(r->spf_auth);
    memset(r, 0, sizeof(*r));
}

static void
tlsrpt_policy_clear(struct tlsrpt_policy *p)
{
    size_t i;

    free(p->policy_type);
    for (i = 0; i < p->n_policy_string; i++)
        free(p->policy_string[i]);
    free(p->policy_string);
    free(p->policy_domain);
    for (i = 0; i < p->n_mx_host; i++)
        free(p->mx_host[i]);
    free(p->mx_host);
    for (i = 0; i < p->n_failures; i++) {
        struct tlsrpt_failure *f = &p->failures[i];

        free(f->result_type);
        free(f->sending_mta_ip);
        free(f->receiving_mx_hostname);
        free(f->receiving_mx_helo);
        free(f->receiving_ip);
        free(f->additional_information);
        free(f->failure_reason_code);
    }
    free(p->failures);
}

void
tlsrpt_report_free(struct tlsrpt_report *r)
{
    size_t i;

    if (r == NULL)
        return;
    free(r->organization_name);
    free(r->contact_info);
    free(r->report_id);
    for (i = 0; i < r->n_policies; i++)
        tlsrpt_policy_clear(&r->policies[i]);
    free(r->policies);
    free(r);
}

void
report_fmt_time(int64_t t, char dst[32])
{
    struct tm tm;
    time_t    tt = (time_t)t;

    if (t < REPORT_TIME_MIN || t > REPORT_TIME_MAX ||
        gmtime_r(&tt, &tm) == NULL) {
        snprintf(dst, 32, "invalid");
        return;
    }
    strftime(dst, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t
report_days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void
report_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int
report_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *
report_strndup(const char *p, size_t n)
{
    char *s = malloc(n + 1);

    if (s == NULL)
        return NULL;
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}
