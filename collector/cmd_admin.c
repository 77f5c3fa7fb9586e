/*
 * cmd_admin.c - the verbs that set up and look after an installation:
 *
 *   ruad migrate           create or update the database schema
 *   ruad dns-records       the DNS records to publish, or a check of them
 *   ruad config-reference  every setting as Markdown
 *   ruad token new         a bearer token for the query API
 */
#include "cmd.h"

#include <stdio.h>
#include <string.h>

#include "api_token.h"
#include "dns.h"
#include "dnsrec.h"

int
cmd_migrate(struct config *cfg, const struct args *a)
{
    struct store *st;
    int           applied = 0, version = 0;

    if (args_no_operands(a) != 0)
        return 2;
    if ((st = cmd_open_store(cfg)) == NULL)
        return 3;
    if (store_migrate(st, &applied) != RUAD_OK ||
        store_schema_version(st, &version) != RUAD_OK) {
        fprintf(stderr, "ruad: migrate: %s\n", store_error(st));
        store_close(st);
        return 1;
    }
    printf("migrations applied: %d; schema version %d\n", applied, version);
    store_close(st);
    return 0;
}

/* ruad dns-records: print the records, or check what is published */
int
cmd_dns_records(struct config *cfg, const struct args *a)
{
    struct dnsrec_opts   o;
    struct dnsrec_lookup lk = { .txt = dns_txt, .mx = dns_mx,
        .tlsa = dns_tlsa, .addrs = dns_addrs };
    struct dns          *d;
    char                 err[600];
    unsigned             bad = 0;
    size_t               i;
    bool                 check = args_value(a, "check") != NULL;
    enum ruad_rc         rc;

    if (args_no_operands(a) != 0)
        return 2;
    memset(&o, 0, sizeof(o));
    for (i = 0; i < a->n_given; i++) {
        const char *n = a->given[i].opt->name, *v = a->given[i].value;

        if (strcmp(n, "domain") == 0) {
            if (*v == '\0') {
                fprintf(stderr, "ruad: dns-records: --domain needs a "
                    "domain\n");
                return 2;
            }
            if (o.n_domains == DNSREC_DOMAINS_MAX) {
                fprintf(stderr, "ruad: dns-records: more than %d domains\n",
                    DNSREC_DOMAINS_MAX);
                return 2;
            }
            o.domains[o.n_domains++] = v;
        } else if (strcmp(n, "wildcard") == 0) {
            o.wildcard = true;
        } else if (strcmp(n, "p") == 0) {
            o.p = v;
        } else if (strcmp(n, "sp") == 0) {
            o.sp = v;
        } else if (strcmp(n, "adkim") == 0) {
            o.adkim = v;
        } else if (strcmp(n, "aspf") == 0) {
            o.aspf = v;
        } else if (strcmp(n, "pct") == 0) {
            o.pct = v;
        } else if (strcmp(n, "size") == 0) {
            o.size = v;
        }
    }
    if (!check) {
        if (dnsrec_print(cfg, &o, stdout, err, sizeof(err)) != RUAD_OK) {
            fprintf(stderr, "ruad: dns-records: %s\n", err);
            return 2;
        }
        return 0;
    }
    if ((d = dns_new(cfg->dns_server, cfg->dns_timeout_ms, err,
        sizeof(err))) == NULL) {
        fprintf(stderr, "ruad: dns-records: %s\n", err);
        return 2;
    }
    lk.ctx = d;
    rc = dnsrec_check(cfg, &o, &lk, stdout, &bad, err, sizeof(err));
    dns_free(d);
    if (rc == RUAD_MALFORMED) {
        fprintf(stderr, "ruad: dns-records: %s\n", err);
        return 2;
    }
    return rc == RUAD_TEMPFAIL ? 3 : bad > 0 ? 1 : 0;
}

/* cmd_config_reference - every setting as Markdown */
int
cmd_config_reference(struct config *cfg, const struct args *a)
{
    (void)cfg;
    if (args_no_operands(a) != 0)
        return 2;
    config_reference(stdout);
    return 0;
}

/* cmd_token - `ruad token new --scope read|write`: print a new token */
int
cmd_token(struct config *cfg, const struct args *a)
{
    const char    *sc = args_value(a, "scope");
    enum api_scope scope = sc != NULL ? api_scope_parse(sc) :
        API_SCOPE_NONE;
    char           tok[API_TOKEN_LEN + 1], err[1200];

    if (a->n_operands != 1 || strcmp(a->operands[0], "new") != 0) {
        fprintf(stderr, "ruad: token: usage: ruad token new --scope "
            "read|write [--config FILE] [--api-tokens-file FILE]\n");
        return 2;
    }
    if (scope == API_SCOPE_NONE) {
        fprintf(stderr, "ruad: token: --scope read or --scope write%s%s%s\n",
            sc != NULL ? " (not \"" : "", sc != NULL ? sc : "",
            sc != NULL ? "\")" : "");
        return 2;
    }
    if (api_token_new(cfg->api_tokens_file, scope, tok, err, sizeof(err)) !=
        RUAD_OK) {
        fprintf(stderr, "ruad: token new: %s\n", err);
        return 1;
    }
    printf("%s\n", tok);
    return 0;
}
