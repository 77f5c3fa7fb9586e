/*
 * dnsrec_check.c - `ruad dns-records --check` (see dnsrec.h): each record
 * of the plan (dnsrec.c) looked up and compared with what it should be.
 * The rua list must hold our address (the one record of its kind, RFC
 * 7489 6.6.3, RFC 8460 3), each record must parse (dnsrec_parse.c), and
 * MTA-STS and DANE are reported, not judged.
 *
 * SECURITY: the answers are peer data; they reach only the parsers of
 * dnsrec_parse.c and bounded snprintf()s.  After one unanswered query
 * the check stops.
 */
#include "dnsrec.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dnsrec_priv.h"
#include "mta_sts.h"

/* Names are bounded before they are joined (dnsname_host: 253 bytes) and
 * each record's length is checked when it is added (plan_add), so a cut
 * snprintf cannot go unnoticed; GCC cannot see that. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

/* ---- checking ---- */

static void
free_list(char **l, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

/* version_is - the record starts with "v=VER" then ";", blanks or end */
static bool
version_is(const char *txt, const char *ver)
{
    size_t n = strlen(ver);

    if (strncmp(txt, "v=", 2) != 0 || strncmp(txt + 2, ver, n) != 0)
        return false;
    txt += 2 + n;
    while (is_wsp(*txt))
        txt++;
    return *txt == ';' || *txt == '\0';
}

/* uri_addr - the decoded, lower-cased address of a mailto URI ("" else) */
static void
uri_addr(const char *uri, char *out, size_t n)
{
    size_t len;

    out[0] = '\0';
    if (strncasecmp(uri, "mailto:", 7) != 0)
        return;
    uri += 7;
    len = strcspn(uri, "!?");
    if (!pct_decode(uri, len, out, n))
        out[0] = '\0';
    for (char *p = out; *p; p++)
        *p = (char)tolower((unsigned char)*p);
}

/* uris_have - the list holds the URI want (mailto by address; https by
 * the URI, case-insensitive in scheme and host) */
static bool
uris_have(const struct dnsrec_uris *u, const char *want)
{
    char   a[320], b[320];
    size_t i;

    uri_addr(want, b, sizeof(b));
    for (i = 0; i < u->n; i++) {
        if (b[0] != '\0') {
            uri_addr(u->uri[i], a, sizeof(a));
            if (strcmp(a, b) == 0)
                return true;
        } else if (strcasecmp(u->uri[i], want) == 0) {
            return true;
        }
    }
    return false;
}

static void
uris_join(const struct dnsrec_uris *u, char *out, size_t n)
{
    size_t i, o = 0;

    out[0] = '\0';
    for (i = 0; i < u->n && o < n; i++)
        o += (size_t)snprintf(out + o, n - o, "%s%s", i ? "," : "",
            u->uri[i]);
}

struct ck {
    FILE     *f;
    unsigned  bad;
    bool      tempfail;
};

static void
say(struct ck *c, const char *status, const char *name, const char *type,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
say(struct ck *c, const char *status, const char *name, const char *type,
    const char *fmt, ...)
{
    va_list ap;

    fprintf(c->f, "%-9s %s %s: ", status, name, type);
    va_start(ap, fmt);
    vfprintf(c->f, fmt, ap);
    va_end(ap);
    fputc('\n', c->f);
    if (strcmp(status, "ok") != 0 && strcmp(status, "info") != 0)
        c->bad++;
}

/* get_txt - the records at name that start with v=ver */
static enum ruad_rc
get_txt(const struct dnsrec_lookup *lk, struct ck *c, const char *name,
    const char *ver, char ***recs, size_t *n)
{
    char       **all;
    size_t       na, i;
    enum ruad_rc rc;

    *recs = NULL;
    *n = 0;
    rc = lk->txt(lk->ctx, name, &all, &na);
    if (rc == RUAD_EOF)
        return RUAD_OK;
    if (rc != RUAD_OK) {
        say(c, "tempfail", name, "TXT", "no answer from DNS (%s)",
            ruad_rc_str(rc));
        c->tempfail = true;
        return rc;
    }
    for (i = 0; i < na; i++)
        if (version_is(all[i], ver)) {
            all[(*n)++] = all[i];
        } else {
            free(all[i]);
        }
    *recs = all;
    return RUAD_OK;
}

static void
check_dmarc(const struct dnsrec_lookup *lk, struct ck *c,
    const struct dr_plan *pl, const struct dr_rec *r)
{
    struct dnsrec_dmarc dm;
    char              **recs, msg[400], have[1200];
    size_t              n;

    if (get_txt(lk, c, r->name, "DMARC1", &recs, &n) != RUAD_OK)
        return;
    if (n == 0)
        say(c, "missing", r->name, "TXT", "publish \"%s\"", r->value);
    else if (n > 1)
        say(c, "error", r->name, "TXT", "%zu DMARC records: receivers use "
            "none of them (RFC 7489 6.6.3)", n);
    else if (dnsrec_parse_dmarc(recs[0], strlen(recs[0]), &dm, msg,
        sizeof(msg)) != RUAD_OK)
        say(c, "error", r->name, "TXT", "syntax: %s in \"%s\"", msg,
            recs[0]);
    else {
        uris_join(&dm.rua, have, sizeof(have));
        if (dm.rua.n == 0)
            say(c, "different", r->name, "TXT", "no rua=: add rua=%s",
                pl->dmarc_uri);
        else if (!uris_have(&dm.rua, pl->dmarc_uri))
            say(c, "different", r->name, "TXT", "rua=%s does not point "
                "here: add %s", have, pl->dmarc_uri);
        else
            say(c, "ok", r->name, "TXT", "p=%s rua=%s", dm.p, have);
        dnsrec_uris_free(&dm.rua);
    }
    free_list(recs, n);
}

static void
check_tlsrpt(const struct dnsrec_lookup *lk, struct ck *c,
    const struct dr_plan *pl, const struct dr_rec *r)
{
    struct dnsrec_uris u = { .n = 0 };
    char             **recs, msg[400], have[1200], want[1200];
    char               mailto[800];
    size_t             n;

    if (get_txt(lk, c, r->name, "TLSRPTv1", &recs, &n) != RUAD_OK)
        return;
    if (n == 0)
        say(c, "missing", r->name, "TXT", "publish \"%s\"", r->value);
    else if (n > 1)
        say(c, "error", r->name, "TXT", "%zu TLSRPT records: senders use "
            "none of them (RFC 8460 3)", n);
    else if (dnsrec_parse_tlsrpt(recs[0], strlen(recs[0]), &u, msg,
        sizeof(msg)) != RUAD_OK)
        say(c, "error", r->name, "TXT", "syntax: %s in \"%s\"", msg,
            recs[0]);
    else {
        size_t o = 0;

        uris_join(&u, have, sizeof(have));
        want[0] = '\0';
        snprintf(mailto, sizeof(mailto), "%.*s", (int)strcspn(pl->tls_uris,
            ","), pl->tls_uris);
        if (pl->dmarc_addr[0] != '\0' && !uris_have(&u, mailto))
            o += (size_t)snprintf(want + o, sizeof(want) - o, "%s", mailto);
        if (pl->https_uri[0] != '\0' && !uris_have(&u, pl->https_uri))
            snprintf(want + o, sizeof(want) - o, "%s%s", o ? " and " : "",
                pl->https_uri);
        if (want[0] != '\0')
            say(c, "different", r->name, "TXT", "rua=%s lacks %s", have,
                want);
        else
            say(c, "ok", r->name, "TXT", "rua=%s", have);
        dnsrec_uris_free(&u);
    }
    free_list(recs, n);
}

static void
check_auth(const struct dnsrec_lookup *lk, struct ck *c,
    const struct dr_rec *r)
{
    char **recs;
    size_t n;

    if (get_txt(lk, c, r->name, "DMARC1", &recs, &n) != RUAD_OK)
        return;
    if (n == 0)
        say(c, "missing", r->name, "TXT", "publish \"v=DMARC1\": without it "
            "reporters drop the reports for %s (RFC 7489 7.1)", r->domain);
    else
        say(c, "ok", r->name, "TXT", "reports for %s may come here",
            r->domain);
    free_list(recs, n);
}

static void
check_mx(const struct dnsrec_lookup *lk, struct ck *c,
    const struct dr_rec *r)
{
    char       **hosts, have[1200], h[NAME_MAX_LEN + 1];
    size_t       n, i, o = 0;
    bool         found = false;
    enum ruad_rc rc;

    rc = lk->mx(lk->ctx, r->name, &hosts, &n);
    if (rc == RUAD_TEMPFAIL || rc == RUAD_NOMEM) {
        say(c, "tempfail", r->name, "MX", "no answer from DNS");
        c->tempfail = true;
        return;
    }
    if (rc == RUAD_EOF)
        n = 0, hosts = NULL;
    have[0] = '\0';
    for (i = 0; i < n; i++) {
        lower(hosts[i], strlen(hosts[i]), h, sizeof(h));
        if (strcmp(h, r->value) == 0)
            found = true;
        if (o < sizeof(have))
            o += (size_t)snprintf(have + o, sizeof(have) - o, "%s%s",
                i ? " " : "", h);
    }
    if (n == 0)
        say(c, "missing", r->name, "MX", "publish \"10 %s.\"", r->value);
    else if (!found)
        say(c, "different", r->name, "MX", "points to %s, not %s", have,
            r->value);
    else
        say(c, "ok", r->name, "MX", "%s", have);
    free_list(hosts, n);
}

/* check_sts - _mta-sts TXT, judged only when ruad serves the policy */
static void
check_sts(const struct dnsrec_lookup *lk, struct ck *c,
    const struct dr_plan *pl, const char *d)
{
    const struct mta_sts_policy *mine = mta_sts_find(pl->sts, d);
    char                         name[NAME_MAX_LEN + 2], id[33], msg[300];
    char                       **recs;
    size_t                       n;

    snprintf(name, sizeof(name), "_mta-sts.%s", d);
    if (get_txt(lk, c, name, "STSv1", &recs, &n) != RUAD_OK)
        return;
    if (n == 0)
        say(c, mine ? "missing" : "info", name, "TXT", mine ?
            "publish \"v=STSv1; id=%s\"" : "none (no MTA-STS)%s",
            mine ? mine->id : "");
    else if (n > 1)
        say(c, "error", name, "TXT", "%zu MTA-STS records: senders use "
            "none of them (RFC 8461 3.1)", n);
    else if (dnsrec_parse_sts(recs[0], strlen(recs[0]), id, msg,
        sizeof(msg)) != RUAD_OK)
        say(c, "error", name, "TXT", "syntax: %s in \"%s\"", msg, recs[0]);
    else if (mine == NULL)
        say(c, "info", name, "TXT", "id=%s (the policy is served "
            "elsewhere)", id);
    else if (strcmp(id, mine->id) != 0)
        say(c, "different", name, "TXT", "id=%s, but the policy served "
            "has id=%s: publish \"v=STSv1; id=%s\"", id, mine->id, mine->id);
    else
        say(c, "ok", name, "TXT", "id=%s mode=%s", id, mine->mode);
    free_list(recs, n);
}

/* check_sts_host - mta-sts.D must lead here for the policy to be read */
static void
check_sts_host(const struct dnsrec_lookup *lk, struct ck *c,
    const struct dr_rec *r)
{
    size_t       n = 0;
    enum ruad_rc rc = lk->addrs(lk->ctx, r->name, &n);

    if (rc == RUAD_TEMPFAIL || rc == RUAD_NOMEM) {
        say(c, "tempfail", r->name, "A", "no answer from DNS");
        c->tempfail = true;
    } else if (n == 0) {
        say(c, "missing", r->name, "A", "no address: publish \"%s. IN "
            "CNAME %s.\" (senders fetch the policy from it)", r->name,
            r->value);
    } else {
        say(c, "ok", r->name, "A", "%zu address%s (the policy host)", n,
            n == 1 ? "" : "es");
    }
}

/* check_dane - TLSA records of the domain's MX hosts (RFC 7672) */
static void
check_dane(const struct dnsrec_lookup *lk, struct ck *c, const char *d)
{
    char       **hosts, name[NAME_MAX_LEN + 2], h[NAME_MAX_LEN + 1];
    size_t       n, i, nt;
    enum ruad_rc rc;

    rc = lk->mx(lk->ctx, d, &hosts, &n);
    if (rc == RUAD_TEMPFAIL || rc == RUAD_NOMEM) {
        say(c, "tempfail", d, "MX", "no answer from DNS");
        c->tempfail = true;
        return;
    }
    if (rc == RUAD_EOF || n == 0) {
        say(c, "info", d, "MX", "none (mail goes to the address records)");
        if (rc == RUAD_OK)
            free_list(hosts, n);
        return;
    }
    for (i = 0; i < n && i < 10; i++) {
        lower(hosts[i], strlen(hosts[i]), h, sizeof(h));
        if ((size_t)snprintf(name, sizeof(name), "_25._tcp.%s", h) >=
            sizeof(name))
            continue;
        rc = lk->tlsa(lk->ctx, name, &nt);
        if (rc == RUAD_TEMPFAIL || rc == RUAD_NOMEM) {
            say(c, "tempfail", name, "TLSA", "no answer from DNS");
            c->tempfail = true;
        } else if (rc == RUAD_EOF || nt == 0) {
            say(c, "info", name, "TLSA", "none (no DANE for MX %s)", h);
        } else {
            say(c, "info", name, "TLSA", "%zu record%s (DANE, RFC 7672)",
                nt, nt == 1 ? "" : "s");
        }
    }
    free_list(hosts, n);
}

enum ruad_rc
dnsrec_check(const struct config *cfg, const struct dnsrec_opts *o,
    const struct dnsrec_lookup *lk, FILE *f, unsigned *bad, char *err,
    size_t errlen)
{
    struct dr_plan pl;
    struct ck      c = { .f = f, .bad = 0, .tempfail = false };
    size_t         i;

    if (!plan_make(cfg, o, &pl, err, errlen))
        return RUAD_MALFORMED;
    /* after one unanswered query the rest would only wait as long */
    for (i = 0; i < pl.n && !c.tempfail; i++) {
        const struct dr_rec *r = &pl.rec[i];

        switch (r->kind) {
        case DR_DMARC:
            check_dmarc(lk, &c, &pl, r);
            break;
        case DR_TLSRPT:
            check_tlsrpt(lk, &c, &pl, r);
            check_sts(lk, &c, &pl, r->domain);
            check_dane(lk, &c, r->domain);
            break;
        case DR_AUTH:
            check_auth(lk, &c, r);
            break;
        case DR_MX:
            check_mx(lk, &c, r);
            break;
        case DR_STS_HOST:
            check_sts_host(lk, &c, r);
            break;
        default:
            break;              /* _mta-sts: with its domain above */
        }
    }
    plan_free(&pl);
    *bad = c.bad;
    return c.tempfail ? RUAD_TEMPFAIL : RUAD_OK;
}
