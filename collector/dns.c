/*
 * dns.c - TXT lookups (see dns.h).
 *
 * RFC 1035 TXT: an answer holds one or more character-strings per record;
 * DKIM joins them (RFC 6376 3.6.2.2).  NXDOMAIN and "no such record" are
 * permanent answers; SERVFAIL, REFUSED and a timeout are temporary, so a
 * report is never failed for a resolver's bad minute.
 *
 * SECURITY: answers are peer data: parsed with libresolv's ns_parserr,
 * each character-string bounded by its length byte and the record by its
 * rdlength; at most DNS_RECORDS_MAX records of at most DNS_TXT_MAX bytes.
 */
#include "dns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define DNS_ANSWER_MAX  65535
#define DNS_RECORDS_MAX 16
#define DNS_TXT_MAX     8192        /* an RSA-8192 key is about 1.5 KB */

struct dns {
    struct __res_state st;
};

struct dns *
dns_new(const char *server, unsigned timeout_ms, char *err, size_t errlen)
{
    struct dns *d = calloc(1, sizeof(*d));
    char        host[64];
    unsigned    port;
    struct in_addr a;

    if (d == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (res_ninit(&d->st) != 0) {
        snprintf(err, errlen, "resolver: cannot initialise");
        free(d);
        return NULL;
    }
    d->st.retrans = timeout_ms >= 1000 ? (int)(timeout_ms / 1000) : 1;
    d->st.retry = 2;
    if (server != NULL && *server != '\0') {
        if (!config_split_listen(server, host, sizeof(host), &port) ||
            inet_pton(AF_INET, host, &a) != 1 || port == 0) {
            snprintf(err, errlen, "dns_server: \"%s\" is not IPv4:port",
                server);
            res_nclose(&d->st);
            free(d);
            return NULL;
        }
        memset(&d->st.nsaddr_list[0], 0, sizeof(d->st.nsaddr_list[0]));
        d->st.nsaddr_list[0].sin_family = AF_INET;
        d->st.nsaddr_list[0].sin_addr = a;
        d->st.nsaddr_list[0].sin_port = htons((uint16_t)port);
        d->st.nscount = 1;
    }
    return d;
}

void
dns_free(struct dns *d)
{
    if (d == NULL)
        return;
    res_nclose(&d->st);
    free(d);
}

enum ruad_rc
dns_txt(void *ctx, const char *name, char ***records, size_t *n)
{
    struct dns    *d = ctx;
    unsigned char *ans;
    ns_msg         msg;
    ns_rr          rr;
    int            len, i, count;
    char         **recs;

    *records = NULL;
    *n = 0;
    if ((ans = malloc(DNS_ANSWER_MAX)) == NULL)
        return RUAD_TEMPFAIL;
    len = res_nquery(&d->st, name, ns_c_in, ns_t_txt, ans, DNS_ANSWER_MAX);
    if (len < 0) {
        int h = d->st.res_h_errno;

        free(ans);
        if (h == HOST_NOT_FOUND)
            return RUAD_EOF;
        if (h == NO_DATA)
            return RUAD_OK;
        return RUAD_TEMPFAIL;            /* TRY_AGAIN, NO_RECOVERY, ... */
    }
    if (ns_initparse(ans, len, &msg) != 0) {
        free(ans);
        return RUAD_TEMPFAIL;
    }
    count = ns_msg_count(msg, ns_s_an);
    if ((recs = calloc(DNS_RECORDS_MAX, sizeof(*recs))) == NULL) {
        free(ans);
        return RUAD_TEMPFAIL;
    }
    for (i = 0; i < count && *n < DNS_RECORDS_MAX; i++) {
        const unsigned char *p, *end;
        char                *s;
        size_t               o = 0;

        if (ns_parserr(&msg, ns_s_an, i, &rr) != 0)
            break;
        if (ns_rr_type(rr) != ns_t_txt || ns_rr_class(rr) != ns_c_in)
            continue;                    /* a CNAME on the way */
        p = ns_rr_rdata(rr);
        end = p + ns_rr_rdlen(rr);
        if ((s = malloc(DNS_TXT_MAX + 1)) == NULL)
            break;
        while (p < end) {
            size_t l = *p++;

            if (l > (size_t)(end - p) || o + l > DNS_TXT_MAX)
                break;
            memcpy(s + o, p, l);
            o += l;
            p += l;
        }
        s[o] = '\0';
        recs[(*n)++] = s;
    }
    free(ans);
    *records = recs;
    return RUAD_OK;
}
