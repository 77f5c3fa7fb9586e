/*
 * report_json.c - the normalised model as compact JSON (jansson).
 *
 * Key order follows docs/report-json.md (jansson keeps insertion order).
 * Absent values are null; times are RFC 3339 UTC.  Strings from the
 * parsers are UTF-8 already; anything jansson refuses as UTF-8 is written
 * with the offending bytes replaced, never dropped silently.
 */
#include "report_json.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* jstr - a JSON string or null */
static json_t *
jstr(const char *s)
{
    json_t *j;
    char   *fixed;
    size_t  i, n;

    if (s == NULL)
        return json_null();
    n = strlen(s);
    if ((j = json_stringn(s, n)) != NULL)
        return j;
    /* not UTF-8: replace bytes >= 0x80 with '?' */
    if ((fixed = strdup(s)) == NULL)
        return NULL;
    for (i = 0; i < n; i++)
        if ((unsigned char)fixed[i] >= 0x80)
            fixed[i] = '?';
    j = json_stringn(fixed, n);
    free(fixed);
    return j;
}

static json_t *
jtime(bool has, int64_t t)
{
    char ts[32];

    if (!has)
        return json_null();
    report_fmt_time(t, ts);
    return json_string(ts);
}

static json_t *
juint(bool has, uint64_t v)
{
    return has ? json_integer((json_int_t)v) : json_null();
}

/* set - obj[key] = val (stolen); false on allocation failure */
static bool
set(json_t *obj, const char *key, json_t *val)
{
    return val != NULL && json_object_set_new(obj, key, val) == 0;
}

static json_t *
jstrarray(char *const *v, size_t n)
{
    json_t *a = json_array();
    size_t  i;

    for (i = 0; a != NULL && i < n; i++)
        if (json_array_append_new(a, jstr(v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* dump - append compact JSON of j to b (j is released) */
static enum ruad_rc
dump(struct buf *b, json_t *j, bool strip_close)
{
    char        *s;
    size_t       n;
    enum ruad_rc rc;

    if (j == NULL)
        return RUAD_NOMEM;
    s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (s == NULL)
        return RUAD_NOMEM;
    n = strlen(s);
    if (strip_close && n > 0 && s[n - 1] == '}')
        n--;
    rc = buf_append(b, s, n);
    free(s);
    return rc;
}

enum ruad_rc
report_json_string(struct buf *b, const char *s)
{
    json_t      *j = jstr(s);
    char        *t;
    enum ruad_rc rc;

    if (j == NULL)
        return RUAD_NOMEM;
    t = json_dumps(j, JSON_ENCODE_ANY);
    json_decref(j);
    if (t == NULL)
        return RUAD_NOMEM;
    rc = buf_append_str(b, t);
    free(t);
    return rc;
}

enum ruad_rc
report_json_dmarc_open(struct buf *b, const struct dmarc_report *r)
{
    const struct dmarc_policy *p = &r->policy;
    json_t                    *o = json_object(), *pol = json_object();
    enum ruad_rc               rc;
    bool                       ok = o != NULL && pol != NULL;

    ok = ok && set(o, "type", json_string("dmarc")) &&
        set(o, "org_name", jstr(r->org_name)) &&
        set(o, "org_email", jstr(r->org_email)) &&
        set(o, "extra_contact_info", jstr(r->extra_contact_info)) &&
        set(o, "report_id", jstr(r->report_id)) &&
        set(o, "begin", jtime(r->has_begin, r->begin)) &&
        set(o, "end", jtime(r->has_end, r->end)) &&
        set(o, "errors", jstrarray(r->errors, r->n_errors)) &&
        set(o, "version", jstr(r->version)) &&
        set(o, "generator", jstr(r->generator));
    ok = ok && set(pol, "domain", jstr(p->domain)) &&
        set(pol, "adkim", jstr(p->adkim)) &&
        set(pol, "aspf", jstr(p->aspf)) &&
        set(pol, "p", jstr(p->p)) &&
        set(pol, "sp", jstr(p->sp)) &&
        set(pol, "np", jstr(p->np)) &&
        set(pol, "pct", juint(p->has_pct, (uint64_t)p->pct)) &&
        set(pol, "fo", jstr(p->fo)) &&
        set(pol, "testing", jstr(p->testing)) &&
        set(pol, "discovery_method", jstr(p->discovery_method));
    if (ok) {
        ok = json_object_set_new(o, "policy", pol) == 0;
        pol = NULL;
    }
    json_decref(pol);
    if (!ok) {
        json_decref(o);
        return RUAD_NOMEM;
    }
    if ((rc = dump(b, o, true)) != RUAD_OK)
        return rc;
    return buf_append_str(b, ",\"records\":[");
}

enum ruad_rc
report_json_dmarc_record(struct buf *b, const struct dmarc_record *r)
{
    json_t *o = json_object(), *reasons = json_array(), *auth = json_object(),
           *dk = json_array(), *sp = json_array(), *e;
    size_t  i;
    bool    ok = o && reasons && auth && dk && sp;

    for (i = 0; ok && i < r->n_reasons; i++) {
        ok = (e = json_object()) != NULL &&
            set(e, "type", jstr(r->reasons[i].type)) &&
            set(e, "comment", jstr(r->reasons[i].comment)) &&
            json_array_append_new(reasons, e) == 0;
    }
    for (i = 0; ok && i < r->n_dkim_auth; i++) {
        const struct dmarc_dkim_auth *a = &r->dkim_auth[i];

        ok = (e = json_object()) != NULL &&
            set(e, "domain", jstr(a->domain)) &&
            set(e, "selector", jstr(a->selector)) &&
            set(e, "result", jstr(a->result)) &&
            set(e, "human_result", jstr(a->human_result)) &&
            json_array_append_new(dk, e) == 0;
    }
    for (i = 0; ok && i < r->n_spf_auth; i++) {
        const struct dmarc_spf_auth *a = &r->spf_auth[i];

        ok = (e = json_object()) != NULL &&
            set(e, "domain", jstr(a->domain)) &&
            set(e, "scope", jstr(a->scope)) &&
            set(e, "result", jstr(a->result)) &&
            set(e, "human_result", jstr(a->human_result)) &&
            json_array_append_new(sp, e) == 0;
    }
    ok = ok && set(o, "source_ip", jstr(r->source_ip)) &&
        set(o, "count", juint(r->has_count, r->count)) &&
        set(o, "disposition", jstr(r->disposition)) &&
        set(o, "dkim", jstr(r->dkim)) &&
        set(o, "spf", jstr(r->spf));
    if (ok) {
        ok = json_object_set_new(o, "reasons", reasons) == 0;
        reasons = NULL;
    }
    ok = ok && set(o, "header_from", jstr(r->header_from)) &&
        set(o, "envelope_from", jstr(r->envelope_from)) &&
        set(o, "envelope_to", jstr(r->envelope_to));
    if (ok) {
        ok = json_object_set_new(auth, "dkim", dk) == 0;
        dk = NULL;
        ok = ok && json_object_set_new(auth, "spf", sp) == 0;
        sp = NULL;
        ok = ok && json_object_set_new(o, "auth", auth) == 0;
        auth = NULL;
    }
    json_decref(reasons);
    json_decref(auth);
    json_decref(dk);
    json_decref(sp);
    if (!ok) {
        json_decref(o);
        return RUAD_NOMEM;
    }
    return dump(b, o, false);
}

enum ruad_rc
report_json_tlsrpt(struct buf *b, const struct tlsrpt_report *r)
{
    json_t *o = json_object(), *pols = json_array();
    size_t  i, k;
    bool    ok = o && pols;

    ok = ok && set(o, "type", json_string("tlsrpt")) &&
        set(o, "organization_name", jstr(r->organization_name)) &&
        set(o, "contact_info", jstr(r->contact_info)) &&
        set(o, "report_id", jstr(r->report_id)) &&
        set(o, "begin", jtime(r->has_begin, r->begin)) &&
        set(o, "end", jtime(r->has_end, r->end));
    for (i = 0; ok && i < r->n_policies; i++) {
        const struct tlsrpt_policy *p = &r->policies[i];
        json_t *po = json_object(), *fd = json_array();

        ok = po && fd &&
            set(po, "policy_type", jstr(p->policy_type)) &&
            set(po, "policy_string", jstrarray(p->policy_string,
                p->n_policy_string)) &&
            set(po, "policy_domain", jstr(p->policy_domain)) &&
            set(po, "mx_host", jstrarray(p->mx_host, p->n_mx_host)) &&
            set(po, "total_successful_session_count",
                juint(p->has_total_successful,
                p->total_successful_session_count)) &&
            set(po, "total_failure_session_count",
                juint(p->has_total_failure, p->total_failure_session_count));
        for (k = 0; ok && k < p->n_failures; k++) {
            const struct tlsrpt_failure *f = &p->failures[k];
            json_t *fo = json_object();

            ok = fo && set(fo, "result_type", jstr(f->result_type)) &&
                set(fo, "sending_mta_ip", jstr(f->sending_mta_ip)) &&
                set(fo, "receiving_mx_hostname",
                    jstr(f->receiving_mx_hostname)) &&
                set(fo, "receiving_mx_helo", jstr(f->receiving_mx_helo)) &&
                set(fo, "receiving_ip", jstr(f->receiving_ip)) &&
                set(fo, "failed_session_count",
                    juint(f->has_failed_session_count,
                    f->failed_session_count)) &&
                set(fo, "additional_information",
                    jstr(f->additional_information)) &&
                set(fo, "failure_reason_code", jstr(f->failure_reason_code));
            if (ok)
                ok = json_array_append_new(fd, fo) == 0;
            else
                json_decref(fo);
        }
        if (ok) {
            ok = json_object_set_new(po, "failure_details", fd) == 0;
            fd = NULL;
            ok = ok && json_array_append_new(pols, po) == 0;
            po = NULL;
        }
        json_decref(fd);
        json_decref(po);
    }
    if (ok) {
        ok = json_object_set_new(o, "policies", pols) == 0;
        pols = NULL;
    }
    json_decref(pols);
    if (!ok) {
        json_decref(o);
        return RUAD_NOMEM;
    }
    return dump(b, o, false);
}
