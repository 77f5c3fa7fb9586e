/*
 * dnsrec.c - the DNS records that publish a collector (see dnsrec.h):
 * the plan of them, from the config and the options, and its printing.
 * The plan is also what dnsrec_check.c looks up; the grammars of the
 * records are dnsrec_parse.c's.
 *
 * For each domain D the admin publishes (RFC 7489 6.1, RFC 8460 3):
 *   _dmarc.D                  TXT "v=DMARC1; p=none; rua=mailto:..."
 *   _smtp._tls.D              TXT "v=TLSRPTv1; rua=mailto:...,https://..."
 *   _mta-sts.D                TXT "v=STSv1; id=..."  (when ruad serves it)
 * and in the collector's zone:
 *   D._report._dmarc.H        TXT "v=DMARC1"  (RFC 7489 7.1, when D and
 *                             the mailbox host H have different
 *                             organisational domains; or *._report...)
 *   H                         MX 10 smtp_hostname
 * The mailbox comes from smtp_accept: an address, or for "@host" entries
 * dmarc@host and tlsrpt@host; an entry whose local part starts with
 * "tls" is the TLS reports' address.  URIs are percent-encoded where a
 * rua list needs it: "," and "!" (RFC 7489 6.4, RFC 8460 3) and ";".
 *
 * SECURITY: the input is the admin's config and options, not peer data;
 * names are checked (dnsname_host) and each record's length is bounded
 * (NAME_MAX_LEN, VALUE_MAX) before it is printed.
 */
#include "dnsrec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim.h"
#include "dnsrec_priv.h"
#include "mta_sts.h"

/* Names are bounded before they are joined (dnsname_host: 253 bytes) and
 * each record's length is checked when it is added (plan_add), so a cut
 * snprintf cannot go unnoticed; GCC cannot see that. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

/* pct_ok - a DMARC pct= value: decimal digits only, 0..100 */
static bool
pct_ok(const char *s)
{
    char         *end;
    unsigned long v;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoul(s, &end, 10);
    return errno == 0 && *end == '\0' && v <= 100;
}

/* ---- the plan: which records, from config and options ---- */

static bool
plan_add(struct dr_plan *pl, enum dr_kind kind, const char *domain,
    const char *name, const char *value)
{
    struct dr_rec *r;

    if (pl->n == pl->cap) {
        size_t cap = pl->cap ? pl->cap * 2 : 16;

        if ((r = realloc(pl->rec, cap * sizeof(*r))) == NULL)
            return false;
        pl->rec = r;
        pl->cap = cap;
    }
    r = &pl->rec[pl->n];
    r->kind = kind;
    if ((size_t)snprintf(r->name, sizeof(r->name), "%s", name) >=
        sizeof(r->name) || (size_t)snprintf(r->value, sizeof(r->value),
        "%s", value) >= sizeof(r->value))
        return false;
    snprintf(r->domain, sizeof(r->domain), "%s", domain);
    pl->n++;
    return true;
}

static bool
has_rec(const struct dr_plan *pl, enum dr_kind kind, const char *name)
{
    size_t i;

    for (i = 0; i < pl->n; i++)
        if (pl->rec[i].kind == kind && strcmp(pl->rec[i].name, name) == 0)
            return true;
    return false;
}

/* addr_host - the domain of an address */
static const char *
addr_host(const char *addr)
{
    const char *at = strrchr(addr, '@');

    return at != NULL ? at + 1 : addr;
}

/* pick_addresses - the DMARC and TLS mailboxes from smtp_accept */
static bool
pick_addresses(const char *accept, struct dr_plan *pl, char *err,
    size_t errlen)
{
    const char *p = accept, *a, *b;
    size_t      n;
    bool        tls_set = false;

    while (config_list_next(&p, &a, &n)) {
        char entry[320], local[320], host[NAME_MAX_LEN + 1];
        const char *at;

        b = a + n;
        if ((size_t)(b - a) >= sizeof(entry))
            continue;
        memcpy(entry, a, (size_t)(b - a));
        entry[b - a] = '\0';
        if ((at = strrchr(entry, '@')) == NULL ||
            !lower(at + 1, strlen(at + 1), host, sizeof(host)) ||
            !dnsname_host(host, strlen(host), true)) {
            snprintf(err, errlen, "smtp_accept: \"%s\" is not an address "
                "or @domain", entry);
            return false;
        }
        snprintf(local, sizeof(local), "%.*s", (int)(at - entry), entry);
        if (local[0] == '\0') {               /* "@host": any local part */
            if (pl->dmarc_addr[0] == '\0')
                snprintf(pl->dmarc_addr, sizeof(pl->dmarc_addr),
                    "dmarc@%s", host);
            if (!tls_set) {
                snprintf(pl->tls_addr, sizeof(pl->tls_addr), "tlsrpt@%s",
                    host);
                tls_set = true;
            }
            continue;
        }
        if (strncasecmp(local, "tls", 3) == 0) {
            if (!tls_set)
                snprintf(pl->tls_addr, sizeof(pl->tls_addr), "%s@%s",
                    local, host);
            tls_set = true;
        } else if (pl->dmarc_addr[0] == '\0') {
            snprintf(pl->dmarc_addr, sizeof(pl->dmarc_addr), "%s@%s", local,
                host);
        }
    }
    /* one address serves both when only one kind was given */
    if (pl->dmarc_addr[0] == '\0')
        memcpy(pl->dmarc_addr, pl->tls_addr, sizeof(pl->dmarc_addr));
    if (pl->tls_addr[0] == '\0')
        memcpy(pl->tls_addr, pl->dmarc_addr, sizeof(pl->tls_addr));
    return true;
}

/* policy_ok - a DMARC policy value */
static bool
policy_ok(const char *v)
{
    return strcmp(v, "none") == 0 || strcmp(v, "quarantine") == 0 ||
        strcmp(v, "reject") == 0;
}

/* opts_check - the options' values */
static bool
opts_check(const struct dnsrec_opts *o, char *err, size_t errlen)
{
    const char *p = o->p != NULL ? o->p : "none";
    size_t      i;

    if (!policy_ok(p) || (o->sp != NULL && !policy_ok(o->sp))) {
        snprintf(err, errlen, "--p and --sp take none, quarantine or "
            "reject");
        return false;
    }
    if ((o->adkim != NULL && strcmp(o->adkim, "r") != 0 &&
        strcmp(o->adkim, "s") != 0) || (o->aspf != NULL &&
        strcmp(o->aspf, "r") != 0 && strcmp(o->aspf, "s") != 0)) {
        snprintf(err, errlen, "--adkim and --aspf take r or s");
        return false;
    }
    if (o->pct != NULL && !pct_ok(o->pct)) {
        snprintf(err, errlen, "--pct takes 0..100");
        return false;
    }
    if (o->size != NULL) {
        size_t d = strspn(o->size, "0123456789");

        if (d == 0 || d > 12 || (o->size[d] != '\0' &&
            (strchr("kmgt", o->size[d]) == NULL || o->size[d + 1] != '\0'))) {
            snprintf(err, errlen, "--size takes digits and an optional "
                "k, m, g or t (RFC 7489 6.4)");
            return false;
        }
    }
    if (o->n_domains == 0) {
        snprintf(err, errlen, "no --domain given");
        return false;
    }
    for (i = 0; i < o->n_domains; i++) {
        char d[NAME_MAX_LEN + 1];

        if (!lower(o->domains[i], strlen(o->domains[i]), d, sizeof(d)) ||
            !dnsname_host(d, strlen(d), true)) {
            snprintf(err, errlen, "--domain: \"%s\" is not a domain name "
                "(international names as A-labels, xn--...)", o->domains[i]);
            return false;
        }
    }
    return true;
}

/* url_host - the host of an http(s) URL into out */
static bool
url_host(const char *url, char *out, size_t n)
{
    const char *h = strstr(url, "://"), *e;

    if (h == NULL)
        return false;
    h += 3;
    e = h + strcspn(h, ":/?#");
    return e > h && lower(h, (size_t)(e - h), out, n);
}

void
plan_free(struct dr_plan *pl)
{
    free(pl->rec);
    mta_sts_free(pl->sts);
    memset(pl, 0, sizeof(*pl));
}

/* plan_make - every record for cfg and o, in print order */
bool
plan_make(const struct config *cfg, const struct dnsrec_opts *o,
    struct dr_plan *pl, char *err, size_t errlen)
{
    char   v[VALUE_MAX], name[NAME_MAX_LEN + 2], esc[800], d[256];
    char   host[NAME_MAX_LEN + 1], urlhost[NAME_MAX_LEN + 1];
    size_t i;
    bool   any_auth = false;

    memset(pl, 0, sizeof(*pl));
    if (!opts_check(o, err, errlen) ||
        !pick_addresses(cfg->smtp_accept, pl, err, errlen))
        return false;
    if (pl->dmarc_addr[0] == '\0' && cfg->public_url[0] == '\0') {
        snprintf(err, errlen, "set smtp_accept (the mailbox reports go "
            "to) or public_url (https TLS reports)");
        return false;
    }
    if (cfg->public_url[0] != '\0') {
        size_t ul = strlen(cfg->public_url);
        char   url[800];

        if (strncmp(cfg->public_url, "https://", 8) != 0 ||
            !url_host(cfg->public_url, urlhost, sizeof(urlhost))) {
            snprintf(err, errlen, "public_url: \"%s\" is not an https:// "
                "URL", cfg->public_url);
            return false;
        }
        snprintf(url, sizeof(url), "%.*s/tlsrpt", (int)(ul > 0 &&
            cfg->public_url[ul - 1] == '/' ? ul - 1 : ul), cfg->public_url);
        if (!dnsrec_uri_escape(url, pl->https_uri, sizeof(pl->https_uri)) ||
            dnsrec_check_uri(pl->https_uri, strlen(pl->https_uri), false,
            err, errlen) != RUAD_OK)
            return false;
    }
    if (!lower(cfg->smtp_hostname, strlen(cfg->smtp_hostname),
        pl->hostname, sizeof(pl->hostname)))
        pl->hostname[0] = '\0';
    /* the MX (and the mta-sts CNAME) point at it: a bare host name from
     * gethostname() would publish a name nobody can resolve */
    if (pl->dmarc_addr[0] != '\0' && !dnsname_host(pl->hostname,
        strlen(pl->hostname), true)) {
        snprintf(err, errlen, "smtp_hostname: \"%s\" is not a fully "
            "qualified name; set it to the public name of this host (the "
            "MX record points to it)", cfg->smtp_hostname);
        return false;
    }
    if (pl->dmarc_addr[0] != '\0') {
        if (!dnsrec_uri_escape(pl->dmarc_addr, esc, sizeof(esc))) {
            snprintf(err, errlen, "smtp_accept: address too long");
            return false;
        }
        snprintf(pl->dmarc_uri, sizeof(pl->dmarc_uri), "mailto:%s%s%s",
            esc, o->size != NULL ? "!" : "", o->size != NULL ? o->size : "");
        dnsrec_uri_escape(pl->tls_addr, esc, sizeof(esc));
        snprintf(pl->tls_uris, sizeof(pl->tls_uris), "mailto:%s%s%s", esc,
            pl->https_uri[0] ? "," : "", pl->https_uri);
    } else {
        snprintf(pl->tls_uris, sizeof(pl->tls_uris), "%s", pl->https_uri);
    }
    if (mta_sts_load(cfg->mta_sts_policy, &pl->sts, err, errlen) !=
        RUAD_OK)
        return false;

    for (i = 0; i < o->n_domains; i++) {
        const struct mta_sts_policy *sts;

        lower(o->domains[i], strlen(o->domains[i]), d, sizeof(d));
        if (pl->dmarc_uri[0] != '\0') {
            int k = snprintf(v, sizeof(v), "v=DMARC1; p=%s",
                o->p != NULL ? o->p : "none");
            if (o->sp != NULL)
                k += snprintf(v + k, sizeof(v) - (size_t)k, "; sp=%s", o->sp);
            if (o->adkim != NULL)
                k += snprintf(v + k, sizeof(v) - (size_t)k, "; adkim=%s",
                    o->adkim);
            if (o->aspf != NULL)
                k += snprintf(v + k, sizeof(v) - (size_t)k, "; aspf=%s",
                    o->aspf);
            if (o->pct != NULL)
                k += snprintf(v + k, sizeof(v) - (size_t)k, "; pct=%s",
                    o->pct);
            snprintf(v + k, sizeof(v) - (size_t)k, "; rua=%s",
                pl->dmarc_uri);
            snprintf(name, sizeof(name), "_dmarc.%s", d);
            if (!plan_add(pl, DR_DMARC, d, name, v))
                goto nomem;
        }
        snprintf(v, sizeof(v), "v=TLSRPTv1; rua=%s", pl->tls_uris);
        snprintf(name, sizeof(name), "_smtp._tls.%s", d);
        if (!plan_add(pl, DR_TLSRPT, d, name, v))
            goto nomem;
        if ((sts = mta_sts_find(pl->sts, d)) != NULL) {
            snprintf(v, sizeof(v), "v=STSv1; id=%s", sts->id);
            snprintf(name, sizeof(name), "_mta-sts.%s", d);
            if (!plan_add(pl, DR_STS, d, name, v))
                goto nomem;
            snprintf(name, sizeof(name), "mta-sts.%s", d);
            if (!plan_add(pl, DR_STS_HOST, d, name, cfg->public_url[0] ?
                urlhost : pl->hostname))
                goto nomem;
        }
    }
    /* RFC 7489 7.1: the collector's zone vouches for each domain */
    if (pl->dmarc_addr[0] != '\0') {
        snprintf(host, sizeof(host), "%s", addr_host(pl->dmarc_addr));
        for (i = 0; i < o->n_domains; i++) {
            lower(o->domains[i], strlen(o->domains[i]), d, sizeof(d));
            if (dkim_aligned(d, host))
                continue;
            any_auth = true;
            if (o->wildcard)
                continue;
            if ((size_t)snprintf(name, sizeof(name), "%s._report._dmarc.%s",
                d, host) >= sizeof(name)) {
                snprintf(err, errlen, "%s._report._dmarc.%s: longer than "
                    "a DNS name may be", d, host);
                plan_free(pl);
                return false;
            }
            if (!has_rec(pl, DR_AUTH, name) &&
                !plan_add(pl, DR_AUTH, d, name, "v=DMARC1"))
                goto nomem;
        }
        if (any_auth && o->wildcard) {
            snprintf(name, sizeof(name), "*._report._dmarc.%s", host);
            if (!plan_add(pl, DR_AUTH, "*", name, "v=DMARC1"))
                goto nomem;
        }
        /* the mail host of each mailbox domain */
        if (pl->hostname[0] != '\0') {
            const char *hosts[2] = { addr_host(pl->dmarc_addr),
                addr_host(pl->tls_addr) };
            int         k;

            for (k = 0; k < 2; k++)
                if (!has_rec(pl, DR_MX, hosts[k]) &&
                    !plan_add(pl, DR_MX, hosts[k], hosts[k], pl->hostname))
                    goto nomem;
        }
    }
    return true;
nomem:
    snprintf(err, errlen, "a record is too long or out of memory");
    plan_free(pl);
    return false;
}

/* ---- printing ---- */

/* print_txt - a TXT value as zone-file strings of at most 255 bytes */
static void
print_txt(FILE *f, const char *v)
{
    size_t len = strlen(v), i, k;

    for (i = 0; i == 0 || i < len; i += 255) {
        fputs(i == 0 ? "\"" : " \"", f);
        for (k = i; k < len && k < i + 255; k++) {
            if (v[k] == '"' || v[k] == '\\')
                fputc('\\', f);
            fputc(v[k], f);
        }
        fputc('"', f);
        if (len == 0)
            break;
    }
}

enum ruad_rc
dnsrec_print(const struct config *cfg, const struct dnsrec_opts *o,
    FILE *f, char *err, size_t errlen)
{
    struct dr_plan pl;
    size_t         i;
    const char    *zone = NULL;
    bool           coll = false;

    if (!plan_make(cfg, o, &pl, err, errlen))
        return RUAD_MALFORMED;
    for (i = 0; i < pl.n; i++) {
        const struct dr_rec *r = &pl.rec[i];

        if (r->kind == DR_AUTH || r->kind == DR_MX) {
            if (!coll) {
                fprintf(f, "%s; in the collector's zone (%s)\n",
                    i > 0 ? "\n" : "", addr_host(pl.dmarc_addr));
                coll = true;
            }
        } else if (zone == NULL || strcmp(zone, r->domain) != 0) {
            fprintf(f, "%s; %s\n", i > 0 ? "\n" : "", r->domain);
            zone = r->domain;
        }
        switch (r->kind) {
        case DR_STS_HOST:
            fprintf(f, "; https://%s/.well-known/mta-sts.txt is served by "
                "ruad: point the name at it\n%s. IN CNAME %s.\n", r->name,
                r->name, r->value);
            break;
        case DR_AUTH:
            if (r->domain[0] == '*')
                fprintf(f, "; reports for any domain may come here "
                    "(RFC 7489 7.1)\n");
            else
                fprintf(f, "; reports for %s may come here (RFC 7489 7.1)\n",
                    r->domain);
            fprintf(f, "%s. IN TXT ", r->name);
            print_txt(f, r->value);
            fputc('\n', f);
            break;
        case DR_MX:
            fprintf(f, "%s. IN MX 10 %s.\n", r->name, r->value);
            break;
        default:
            fprintf(f, "%s. IN TXT ", r->name);
            print_txt(f, r->value);
            fputc('\n', f);
        }
    }
    plan_free(&pl);
    return RUAD_OK;
}
