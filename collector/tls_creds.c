/*
 * tls_creds.c - the HTTPS server's certificates (GnuTLS, which
 * libmicrohttpd is linked with): the chain and key of tls_cert/tls_key
 * and of each tls_sni_certs entry, loaded from PEM files.  The
 * certificate of a handshake comes from a callback (tls_creds_cert_cb),
 * picked by the name the client asked for (SNI), so SIGHUP
 * (http_server_reload_tls) swaps them for new handshakes without
 * dropping a connection; the old ones are kept, chained, as a handshake
 * may be using them.
 *
 * SECURITY: the files are the operator's; each is read whole only up to
 * 1 MiB.  The client's SNI name is only compared (GnuTLS's host name
 * match), never logged.
 */
#include "tls_creds.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "http_priv.h"
#include "http_server.h"

/* One certificate chain and key, as loaded; never freed while serving. */
struct tls_creds {
    gnutls_pcert_st    *pcert;
    unsigned            n_pcert;
    gnutls_privkey_t    key;
    long long           not_after;      /* of the leaf, epoch seconds */
    gnutls_x509_crt_t   leaf;           /* for SNI host name matches */
    struct tls_creds   *older;          /* loaded before this one */
};

/* read_file - whole small file (PEM) into memory */
static char *
read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE  *f = fopen(path, "rb");
    char  *p = NULL;
    long   n;

    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (1 << 20) &&
        fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) != NULL &&
        fread(p, 1, (size_t)n, f) == (size_t)n) {
        p[n] = '\0';
        *len = (size_t)n;
    } else {
        snprintf(err, errlen, "%s: cannot read (or larger than 1 MiB)",
            path);
        free(p);
        p = NULL;
    }
    fclose(f);
    return p;
}

void
tls_creds_free(struct tls_creds *c)
{
    unsigned i;

    while (c != NULL) {
        struct tls_creds *older = c->older;

        for (i = 0; i < c->n_pcert; i++)
            gnutls_pcert_deinit(&c->pcert[i]);
        free(c->pcert);
        if (c->key != NULL)
            gnutls_privkey_deinit(c->key);
        if (c->leaf != NULL)
            gnutls_x509_crt_deinit(c->leaf);
        free(c);
        c = older;
    }
}

struct tls_creds *
tls_creds_load(const char *certpath, const char *keypath, char *err,
    size_t errlen, bool *key_bad)
{
    struct tls_creds *c = calloc(1, sizeof(*c));
    gnutls_x509_crt_t  crt[16];
    unsigned           ncrt = 16, i;
    gnutls_datum_t     d;
    char              *cert = NULL, *key = NULL;
    size_t             clen = 0, klen = 0;
    int                r;

    if (key_bad != NULL)
        *key_bad = false;
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if ((cert = read_file(certpath, &clen, err, errlen)) == NULL)
        goto fail;
    if ((key = read_file(keypath, &klen, err, errlen)) == NULL) {
        if (key_bad != NULL)
            *key_bad = true;
        goto fail;
    }
    d.data = (unsigned char *)cert;
    d.size = (unsigned)clen;
    r = gnutls_x509_crt_list_import(crt, &ncrt, &d, GNUTLS_X509_FMT_PEM, 0);
    if (r <= 0) {
        snprintf(err, errlen, "%s: no PEM certificate (%s)", certpath,
            r < 0 ? gnutls_strerror(r) : "empty");
        goto fail;
    }
    ncrt = (unsigned)r;
    c->not_after = (long long)gnutls_x509_crt_get_expiration_time(crt[0]);
    if ((c->pcert = calloc(ncrt, sizeof(*c->pcert))) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail_crt;
    }
    for (i = 0; i < ncrt; i++) {
        if ((r = gnutls_pcert_import_x509(&c->pcert[i], crt[i], 0)) < 0) {
            snprintf(err, errlen, "%s: %s", certpath, gnutls_strerror(r));
            goto fail_crt;
        }
        c->n_pcert++;
    }
    d.data = (unsigned char *)key;
    d.size = (unsigned)klen;
    if ((r = gnutls_privkey_init(&c->key)) < 0 ||
        (r = gnutls_privkey_import_x509_raw(c->key, &d, GNUTLS_X509_FMT_PEM,
        NULL, 0)) < 0) {
        snprintf(err, errlen, "%s: %s", keypath, gnutls_strerror(r));
        if (key_bad != NULL)
            *key_bad = true;
        goto fail_crt;
    }
    c->leaf = crt[0];                       /* kept */
    for (i = 1; i < ncrt; i++)
        gnutls_x509_crt_deinit(crt[i]);
    free(cert);
    free(key);
    return c;
fail_crt:
    for (i = 0; i < ncrt; i++)
        gnutls_x509_crt_deinit(crt[i]);
fail:
    free(cert);
    free(key);
    tls_creds_free(c);
    return NULL;
}

long long
tls_creds_not_after(const struct tls_creds *c)
{
    return c->not_after;
}

bool
tls_creds_key_matches(const struct tls_creds *c)
{
    gnutls_pubkey_t pub;
    unsigned char   a[64], b[64];
    size_t          alen = sizeof(a), blen = sizeof(b);
    bool            same;

    if (c->n_pcert == 0 || gnutls_pubkey_init(&pub) < 0)
        return false;
    same = gnutls_pubkey_import_privkey(pub, c->key, 0, 0) == 0 &&
        gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, a, &alen) ==
        0 && gnutls_pubkey_get_key_id(c->pcert[0].pubkey,
        GNUTLS_KEYID_USE_SHA256, b, &blen) == 0 && alen == blen &&
        memcmp(a, b, alen) == 0;
    gnutls_pubkey_deinit(pub);
    return same;
}

/*
 * http_sni_pick - the credentials for the name the client asked for
 * (TLS SNI): the first tls_sni_certs certificate valid for it, else
 * tls_cert.  Called with h->mu held.
 */
static struct tls_creds *
http_sni_pick(struct http_server *h, gnutls_session_t s)
{
    char         name[256];
    size_t       len = sizeof(name) - 1, i;
    unsigned int type;

    if (h->n_sni == 0 || gnutls_server_name_get(s, name, &len, &type, 0) !=
        GNUTLS_E_SUCCESS || type != GNUTLS_NAME_DNS)
        return h->creds;
    name[len] = '\0';
    for (i = 0; i < h->n_sni; i++)
        if (gnutls_x509_crt_check_hostname(h->sni[i]->leaf, name))
            return h->sni[i];
    return h->creds;
}

bool
tls_creds_sni_next(const char **p, struct tls_sni_entry *e)
{
    const char *s = *p, *end, *colon;

    while (*s == ' ' || *s == ',')
        s++;
    if (*s == '\0') {
        *p = s;
        return false;
    }
    end = s + strcspn(s, ",");
    colon = memchr(s, ':', (size_t)(end - s));
    e->text = s;
    e->len = (int)(end - s);
    e->ok = colon != NULL && (size_t)(colon - s) < sizeof(e->cert) &&
        (size_t)(end - colon) <= sizeof(e->key);
    e->empty = colon == NULL || colon == s || colon + 1 == end;
    e->cert[0] = e->key[0] = '\0';
    if (e->ok) {
        snprintf(e->cert, sizeof(e->cert), "%.*s", (int)(colon - s), s);
        snprintf(e->key, sizeof(e->key), "%.*s", (int)(end - colon - 1),
            colon + 1);
        while (e->key[0] != '\0' && e->key[strlen(e->key) - 1] == ' ')
            e->key[strlen(e->key) - 1] = '\0';
    }
    *p = end;
    return true;
}

/*
 * tls_creds_sni_load - each "CERT:KEY" of tls_sni_certs (comma separated)
 * into sni[] (n set); false with the reason in err, nothing kept.
 */
bool
tls_creds_sni_load(const char *spec, struct tls_creds **sni, size_t *n,
    char *err, size_t errlen)
{
    struct tls_sni_entry en;
    const char          *p = spec;

    *n = 0;
    while (tls_creds_sni_next(&p, &en)) {
        if (!en.ok || en.empty || *n == HTTP_SNI_MAX) {
            snprintf(err, errlen, "tls_sni_certs: \"%.*s\" is not "
                "CERT:KEY (at most %d)", en.len, en.text, HTTP_SNI_MAX);
            goto fail;
        }
        if ((sni[*n] = tls_creds_load(en.cert, en.key, err, errlen, NULL)) ==
            NULL)
            goto fail;
        (*n)++;
    }
    return true;
fail:
    while (*n > 0)
        tls_creds_free(sni[--*n]);
    return false;
}

/* tls_creds_cert_cb - GnuTLS asks for the certificate of a new handshake */
int
tls_creds_cert_cb(gnutls_session_t s, const gnutls_datum_t *req_ca_dn,
    int nreqs, const gnutls_pk_algorithm_t *algos, int nalgos,
    gnutls_pcert_st **pcert, unsigned int *pcert_length,
    gnutls_privkey_t *pkey)
{
    struct http_server *h = http_tls_server;
    struct tls_creds   *use;

    (void)req_ca_dn, (void)nreqs, (void)algos, (void)nalgos;
    if (h == NULL)
        return -1;
    pthread_mutex_lock(&h->mu);
    use = http_sni_pick(h, s);
    *pcert = use->pcert;
    *pcert_length = use->n_pcert;
    *pkey = use->key;
    pthread_mutex_unlock(&h->mu);
    return 0;
}

enum ruad_rc
http_server_reload_tls(struct http_server *h, char *err, size_t errlen)
{
    struct tls_creds *c;

    if (!h->tls)
        return RUAD_OK;
    struct tls_creds *sni[HTTP_SNI_MAX];
    size_t             n_sni, i;

    if ((c = tls_creds_load(h->cfg->tls_cert, h->cfg->tls_key, err, errlen,
        NULL)) == NULL)
        return RUAD_MALFORMED;
    if (!tls_creds_sni_load(h->cfg->tls_sni_certs, sni, &n_sni, err, errlen)) {
        tls_creds_free(c);
        return RUAD_MALFORMED;
    }
    /* the old credentials may be in a handshake right now: keep them */
    pthread_mutex_lock(&h->mu);
    c->older = h->creds;
    h->creds = c;
    for (i = 0; i < n_sni; i++) {
        sni[i]->older = i < h->n_sni ? h->sni[i] : NULL;
        h->sni[i] = sni[i];
    }
    for (; i < h->n_sni; i++) {          /* fewer now: chain the rest */
        struct tls_creds *t = h->sni[i];

        while (t->older != NULL)
            t = t->older;
        t->older = h->creds->older;
        h->creds->older = h->sni[i];
    }
    h->n_sni = n_sni;
    pthread_mutex_unlock(&h->mu);
    return RUAD_OK;
}
