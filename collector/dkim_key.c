/*
 * dkim_key.c - DKIM key records (RFC 6376 3.6.1, see dkim.h): their tags,
 * the flags of t= and the services of s=, and the public key of p=, RSA
 * (at least DKIM_RSA_BITS_MIN bits, RFC 8301) or Ed25519 (RFC 8463),
 * decoded once per process and kept in a small cache.
 *
 * SECURITY: key records are peer data (anyone can publish anything at a
 * name a signature points to).  A record has at most 16 tags, p= decodes
 * into a fixed buffer, and the key size is checked before verifying.
 */
#include "dkim.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dkim_priv.h"

/* ---- keys ---- */

/*
 * spki_rsa - the RSAPublicKey in an rsaEncryption SubjectPublicKeyInfo
 * (RFC 5280 4.1.2.7, RFC 8017 A.1), or NULL.  OpenSSL 3's d2i_PUBKEY()
 * runs its decoder framework, about ten RSA-2048 verifications' worth of
 * CPU per key (tests/bench/bench_dkim); this walk and d2i_PublicKey()
 * take a few microseconds.
 */
static const unsigned char *
spki_rsa(const unsigned char *p, long n, long *len)
{
    static const unsigned char oid[] = { 0x06, 0x09, 0x2a, 0x86, 0x48,
        0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
    const unsigned char *end;
    int                  tag, cls;

    /* SEQUENCE { SEQUENCE { rsaEncryption, NULL }, BIT STRING } */
    if ((ASN1_get_object(&p, len, &tag, &cls, n) & 0x81) != 0 ||
        tag != V_ASN1_SEQUENCE)
        return NULL;
    end = p + *len;
    if ((ASN1_get_object(&p, len, &tag, &cls, end - p) & 0x81) != 0 ||
        tag != V_ASN1_SEQUENCE || *len < (long)sizeof(oid) ||
        memcmp(p, oid, sizeof(oid)) != 0)
        return NULL;
    p += *len;
    if ((ASN1_get_object(&p, len, &tag, &cls, end - p) & 0x81) != 0 ||
        tag != V_ASN1_BIT_STRING || *len < 2 || *p != 0)
        return NULL;
    (*len)--;
    return p + 1;                   /* after the count of unused bits */
}

/*
 * Decoded public keys, process-wide, by type and p= text: decoding an RSA
 * key costs more than verifying with it, and a reporter signs thousands
 * of mails with one key.  The key text is the cache key, so a changed DNS
 * record is a new entry; the record's own lifetime is dns.c's business.
 */
#define KEY_CACHE_SLOTS 64

static struct {
    char     *p;            /* "alg:p=" text, owned */
    EVP_PKEY *pkey;         /* one reference held here */
} key_cache[KEY_CACHE_SLOTS];
static pthread_mutex_t key_mu = PTHREAD_MUTEX_INITIALIZER;

static size_t
key_slot(const char *alg, const char *p)
{
    size_t h = 5381;

    for (; *alg != '\0'; alg++)
        h = h * 33 + (unsigned char)*alg;
    for (; *p != '\0'; p++)
        h = h * 33 + (unsigned char)*p;
    return h % KEY_CACHE_SLOTS;
}

/* key_cache_get - a new reference to a cached key, or NULL */
static EVP_PKEY *
key_cache_get(const char *alg, const char *p)
{
    size_t    i = key_slot(alg, p), al = strlen(alg);
    EVP_PKEY *k = NULL;

    pthread_mutex_lock(&key_mu);
    if (key_cache[i].p != NULL && strncmp(key_cache[i].p, alg, al) == 0 &&
        key_cache[i].p[al] == ':' && strcmp(key_cache[i].p + al + 1, p) ==
        0 && EVP_PKEY_up_ref(key_cache[i].pkey) == 1)
        k = key_cache[i].pkey;
    pthread_mutex_unlock(&key_mu);
    return k;
}

static void
key_cache_put(const char *alg, const char *p, EVP_PKEY *pkey)
{
    size_t i = key_slot(alg, p);
    char  *t;

    if (asprintf(&t, "%s:%s", alg, p) < 0)
        return;
    if (EVP_PKEY_up_ref(pkey) != 1) {
        free(t);
        return;
    }
    pthread_mutex_lock(&key_mu);
    free(key_cache[i].p);
    EVP_PKEY_free(key_cache[i].pkey);
    key_cache[i].p = t;
    key_cache[i].pkey = pkey;
    pthread_mutex_unlock(&key_mu);
}

/* in_list - is word one of the items of the colon-separated list (FWS
 * already stripped)?  Items are compared whole: "ys" is not "y". */
static bool
in_list(const char *list, const char *word)
{
    size_t      wl = strlen(word);
    const char *p = list, *e;

    for (;; p = e + 1) {
        e = strchr(p, ':');
        if ((size_t)((e ? e : p + strlen(p)) - p) == wl &&
            strncmp(p, word, wl) == 0)
            return true;
        if (e == NULL)
            return false;
    }
}

/* key_parse - one TXT record; false with a reason (revoked, bad, ...) */
bool
key_parse(const char *rec, const char *alg_key, struct key *k, char *why,
    size_t whylen, bool *retry_other)
{
    struct tag     tags[16];
    size_t         nt, i;
    char          *v = NULL, *kt = NULL, *p = NULL, *h = NULL, *s = NULL,
                  *t = NULL;
    unsigned char  der[2048];
    long           n;
    const unsigned char *dp;
    bool           ok = false;

    memset(k, 0, sizeof(*k));
    *retry_other = true;
    if (!tag_list(rec, strlen(rec), tags, 16, &nt)) {
        snprintf(why, whylen, "key record: bad tag list");
        return false;
    }
    for (i = 0; i < nt; i++) {
        char **dst = NULL;

        if (strcmp(tags[i].name, "v") == 0) dst = &v;
        else if (strcmp(tags[i].name, "k") == 0) dst = &kt;
        else if (strcmp(tags[i].name, "p") == 0) dst = &p;
        else if (strcmp(tags[i].name, "h") == 0) dst = &h;
        else if (strcmp(tags[i].name, "s") == 0) dst = &s;
        else if (strcmp(tags[i].name, "t") == 0) dst = &t;
        if (dst != NULL)
            *dst = strip_fws(tags[i].v, tags[i].vlen);
        if (dst != NULL && i > 0 && dst == &v) {
            snprintf(why, whylen, "key record: v= is not first");
            goto out;
        }
    }
    if (v != NULL && strcmp(v, "DKIM1") != 0) {
        snprintf(why, whylen, "key record: v= is not DKIM1");
        goto out;
    }
    if (p == NULL) {
        snprintf(why, whylen, "key record: no p=");
        goto out;
    }
    *retry_other = false;
    if (*p == '\0') {
        snprintf(why, whylen, "key revoked (empty p=)");
        goto out;
    }
    if (strcmp(kt ? kt : "rsa", alg_key) != 0) {
        snprintf(why, whylen, "key type k=%s does not match a=", kt ? kt :
            "rsa");
        goto out;
    }
    if (h != NULL && !in_list(h, "sha256")) {
        snprintf(why, whylen, "key record h= excludes sha256");
        goto out;
    }
    if (s != NULL) {
        bool star = in_list(s, "*"), email = in_list(s, "email"),
             tlsrpt = in_list(s, "tlsrpt");

        k->no_tlsrpt = !star && !tlsrpt;
        if (!star && !email && !tlsrpt) {
            snprintf(why, whylen, "key record s= is for other services");
            goto out;
        }
    }
    if (t != NULL) {
        /* RFC 6376 3.6.1: flags y and s; others are ignored */
        k->testing = in_list(t, "y");
        k->strict = in_list(t, "s");
    }
    if ((k->pkey = key_cache_get(alg_key, p)) != NULL) {
        k->ed25519 = strcmp(alg_key, "ed25519") == 0;
        ok = true;               /* checked when it was first decoded */
        goto out;
    }
    n = b64_decode(p, der, sizeof(der));
    if (n <= 0) {
        snprintf(why, whylen, "key record: bad base64 in p=");
        goto out;
    }
    if (strcmp(alg_key, "ed25519") == 0) {
        k->ed25519 = true;
        if (n != 32 || (k->pkey = EVP_PKEY_new_raw_public_key(
            EVP_PKEY_ED25519, NULL, der, 32)) == NULL) {
            snprintf(why, whylen, "key record: not an Ed25519 key");
            goto out;
        }
    } else {
        long rl;

        /* SubjectPublicKeyInfo, else a bare RSAPublicKey */
        if ((dp = spki_rsa(der, n, &rl)) != NULL)
            k->pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &dp, rl);
        if (k->pkey == NULL) {
            dp = der;
            k->pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &dp, n);
        }
        if (k->pkey == NULL || EVP_PKEY_get_base_id(k->pkey) !=
            EVP_PKEY_RSA) {
            snprintf(why, whylen, "key record: not an RSA key");
            goto out;
        }
        if (EVP_PKEY_get_bits(k->pkey) < DKIM_RSA_BITS_MIN) {
            snprintf(why, whylen, "RSA key of %d bits (under %d: RFC 8301)",
                EVP_PKEY_get_bits(k->pkey), DKIM_RSA_BITS_MIN);
            goto out;
        }
        if (EVP_PKEY_get_bits(k->pkey) > DKIM_RSA_BITS_MAX) {
            snprintf(why, whylen, "RSA key of %d bits (over %d)",
                EVP_PKEY_get_bits(k->pkey), DKIM_RSA_BITS_MAX);
            goto out;
        }
    }
    key_cache_put(alg_key, p, k->pkey);
    ok = true;
out:
    if (!ok) {
        EVP_PKEY_free(k->pkey);
        k->pkey = NULL;
    }
    free(v); free(kt); free(p); free(h); free(s); free(t);
    return ok;
}
