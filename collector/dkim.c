/*
 * dkim.c - DKIM verification (see dkim.h): each signature from its tags
 * to its verdict, the message as a whole, and alignment.  The parts it
 * uses (dkim_priv.h): dkim_canon.c reads the message and canonicalises
 * it, dkim_sig.c parses DKIM-Signature fields, dkim_key.c key records.
 *
 * RFC 6376: tag lists (3.2), canonicalisation simple and relaxed (3.4),
 * header selection bottom-up with over-signing (5.4.2), body hash (3.7),
 * key records (3.6.1).  RFC 8463: ed25519-sha256 signs the SHA-256 of the
 * canonical header data.  RFC 8301: rsa-sha1 never verifies, RSA keys
 * under 1024 bits never verify.  Our rules on top: a key over 8192 bits is
 * refused before any work, a signature with l= is not a pass (anyone can
 * append to such a message), and a message with more than one From is not
 * a pass (which From would the signature vouch for?).
 *
 * A key with the flag y in t= (a colon-separated list, RFC 6376 3.6.1)
 * is in testing mode: its signature is verified and shown (testing), but
 * the message is treated as unsigned by it, so it counts neither in the
 * verdict's result nor as its pass.  d=, s= and the key name must be names
 * DNS can carry (labels of 1 to 63 octets, at most 253 in all): if not,
 * the signature is a permerror at once, never a lookup that "fails for
 * now".  Each signature is taken as far as it goes without its key, then
 * every key of the mail is asked at once (struct dkim_lookup's txt_many:
 * one time budget for the mail), then each signature is verified.
 *
 * SECURITY: the message, its signatures and the key records are peer
 * data.  The header block is capped (DKIM_HEADER_MAX), at most
 * DKIM_SIGS_MAX signatures are evaluated, base64 values are bounded by
 * their fields, and the key size is checked before verifying.
 */
#include "dkim.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpsl.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "buf.h"
#include "dkim_priv.h"
#include "dnsname.h"

/* ---- small helpers ---- */

/* is_dns_name - letters, digits, '-', '_' and '.', not empty */
static bool
is_dns_name(const char *s)
{
    return *s != '\0' && s[strspn(s, "abcdefghijklmnopqrstuvwxyz"
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")] == '\0';
}

/* ---- one signature ---- */

static void set(struct dkim_sig *o, enum dkim_result r, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/* set - the verdict of one signature and why */
static void
set(struct dkim_sig *o, enum dkim_result r, const char *fmt, ...)
{
    va_list ap;

    o->result = r;
    va_start(ap, fmt);
    vsnprintf(o->reason, sizeof(o->reason), fmt, ap);
    va_end(ap);
}

/* domain_within - is i's domain d or below it? */
static bool
domain_within(const char *idom, const char *d, bool strict)
{
    size_t li = strlen(idom), ld = strlen(d);

    if (strcasecmp(idom, d) == 0)
        return true;
    return !strict && li > ld && idom[li - ld - 1] == '.' &&
        strcasecmp(idom + li - ld, d) == 0;
}

/*
 * name_check - is s a domain name DNS can be asked for (RFC 1035 2.3.4,
 * RFC 6376 3.5): labels of 1 to 63 octets, at most 253 in all?  NULL if
 * so, else why not.  A name that breaks this can never be looked up, so
 * it is a permerror, not a lookup that "fails for now".
 */
static const char *
name_check(const char *s)
{
    return dnsname_check(s, strlen(s));
}

/* One signature between its own checks and its key. */
struct job {
    struct sig  s;
    struct buf  data;       /* canonical header data, signature last */
    const char *keyalg;     /* "rsa" or "ed25519" */
    char        name[400];  /* the key's name; "" when none is needed */
    bool        many_from;
};

/*
 * sig_prepare - everything about one signature that needs no key: its
 * tags, the body hash and the header data.  True when its key is to be
 * fetched (j->name); else o holds the signature's verdict.
 */
static bool
sig_prepare(struct msg *m, const struct field *f, time_t now, bool many_from,
    struct job *j, struct dkim_sig *o)
{
    struct sig    *s = &j->s;
    char           why[128];
    const char    *bad;
    unsigned char  bh[64], md[32];
    long           bhn;
    bool           hrelaxed = false, brelaxed = false;
    size_t         i, k;

    j->many_from = many_from;
    buf_init(&j->data, DKIM_HEADER_MAX + 4096);
    if (!sig_parse(f, s, why, sizeof(why))) {
        set(o, DKIM_PERMERROR, "%s", why);
        return false;
    }
    if (!is_dns_name(s->d) || !is_dns_name(s->s)) {
        /* RFC 6376 3.5: both are domain names; they are stored too */
        set(o, DKIM_PERMERROR, "d= or s= is not a domain name");
        return false;
    }
    snprintf(o->d, sizeof(o->d), "%s", s->d);
    snprintf(o->s, sizeof(o->s), "%s", s->s);
    snprintf(o->a, sizeof(o->a), "%s", s->a);
    if ((bad = name_check(s->d)) != NULL ||
        (bad = name_check(s->s)) != NULL) {
        set(o, DKIM_PERMERROR, "%s= is not a valid domain name (%s)",
            name_check(s->d) != NULL ? "d" : "s", bad);
        return false;
    }
    if (strcmp(s->a, "rsa-sha256") == 0) {
        j->keyalg = "rsa";
    } else if (strcmp(s->a, "ed25519-sha256") == 0) {
        j->keyalg = "ed25519";
    } else if (strcmp(s->a, "rsa-sha1") == 0) {
        set(o, DKIM_FAIL, "rsa-sha1 is not accepted (RFC 8301)");
        return false;
    } else {
        set(o, DKIM_PERMERROR, "unknown algorithm %s", s->a);
        return false;
    }
    if (s->c != NULL) {
        char *slash = strchr(s->c, '/');

        hrelaxed = strncmp(s->c, "relaxed", 7) == 0;
        brelaxed = slash != NULL && strcmp(slash + 1, "relaxed") == 0;
        if ((!hrelaxed && strncmp(s->c, "simple", 6) != 0) ||
            (slash != NULL && !brelaxed && strcmp(slash + 1, "simple") != 0)) {
            set(o, DKIM_PERMERROR, "unknown canonicalisation %s", s->c);
            return false;
        }
    }
    if (s->i != NULL) {
        const char *at = strrchr(s->i, '@');

        if (at == NULL || !domain_within(at + 1, s->d, false)) {
            set(o, DKIM_PERMERROR, "i= is not within d=");
            return false;
        }
    }
    if (s->x != NULL && strtoll(s->x, NULL, 10) < (long long)now) {
        set(o, DKIM_FAIL, "signature expired (x=)");
        return false;
    }
    if (s->t != NULL && strtoll(s->t, NULL, 10) > (long long)now +
        DKIM_FUTURE_SLACK) {
        set(o, DKIM_FAIL, "signature from the future (t=)");
        return false;
    }
    /* the body */
    bhn = b64_decode(s->bh, bh, sizeof(bh));
    if (bhn != 32) {
        set(o, DKIM_PERMERROR, "bh= is not a SHA-256 hash");
        return false;
    }
    if (!dkim_body_hash(m->body ? m->body : "", m->body_len, brelaxed,
        md)) {
        set(o, DKIM_TEMPERROR, "hash failed");
        return false;
    }
    if (memcmp(md, bh, 32) != 0) {
        set(o, DKIM_FAIL, "body hash mismatch (the body was changed)");
        return false;
    }
    /* the headers, bottom-up per name (RFC 6376 5.4.2) */
    for (i = 0; i < m->nf; i++)
        m->f[i].used = false;
    for (k = 0; k < s->n_names; k++) {
        for (i = m->nf; i-- > 0;) {
            if (m->f[i].used || !field_is(&m->f[i], s->names[k]))
                continue;
            m->f[i].used = true;
            if (canon_header(&j->data, m->f[i].p, m->f[i].len,
                m->f[i].name_len, hrelaxed, true) != RUAD_OK) {
                set(o, DKIM_PERMERROR, "header data too large");
                return false;
            }
            break;
        }                 /* no instance left: over-signed, adds nothing */
    }
    {
        struct buf self;

        buf_init(&self, DKIM_HEADER_MAX);
        if (sig_without_b(f, &self) != RUAD_OK ||
            canon_header(&j->data, buf_ptr(&self), buf_len(&self),
            f->name_len, hrelaxed, false) != RUAD_OK) {
            buf_free(&self);
            set(o, DKIM_PERMERROR, "header data too large");
            return false;
        }
        buf_free(&self);
    }
    /* the key's name: both parts were checked, but not their sum */
    if ((size_t)snprintf(j->name, sizeof(j->name), "%s._domainkey.%s",
        s->s, s->d) >= sizeof(j->name) || name_check(j->name) != NULL) {
        j->name[0] = '\0';
        set(o, DKIM_PERMERROR, "key name (s=._domainkey.d=) is over 253 "
            "octets");
        return false;
    }
    return true;
}

/* sig_finish - verify one prepared signature with its key's answer */
static void
sig_finish(struct job *j, const struct dkim_txt *ans, struct dkim_sig *o)
{
    struct sig    *s = &j->s;
    struct key     k;
    char           why[128];
    unsigned char  sigb[1024];
    long           sn;
    bool           retry;
    size_t         i;
    EVP_MD_CTX    *ctx = NULL;

    memset(&k, 0, sizeof(k));
    if (ans->rc == RUAD_TEMPFAIL) {
        set(o, DKIM_TEMPERROR, "key lookup failed for now (%s)",
            ans->why[0] ? ans->why : "no answer");
        goto out;
    }
    if (ans->rc == RUAD_MALFORMED) {
        set(o, DKIM_PERMERROR, "key name cannot be looked up (%s)",
            ans->why[0] ? ans->why : "not a valid DNS name");
        goto out;
    }
    if (ans->rc != RUAD_OK || ans->n == 0) {
        set(o, DKIM_PERMERROR, "no key record");
        goto out;
    }
    why[0] = '\0';
    for (i = 0; i < ans->n; i++) {
        if (key_parse(ans->records[i], j->keyalg, &k, why, sizeof(why),
            &retry))
            break;
        if (!retry)
            break;
    }
    if (k.pkey == NULL) {
        set(o, DKIM_PERMERROR, "%s", why[0] ? why : "no usable key");
        goto out;
    }
    o->testing = k.testing;
    o->no_tlsrpt = k.no_tlsrpt;
    if (k.strict && s->i != NULL &&
        !domain_within(strrchr(s->i, '@') + 1, s->d, true)) {
        set(o, DKIM_PERMERROR, "key t=s and i= is a subdomain");
        goto out;
    }
    sn = b64_decode(s->b, sigb, sizeof(sigb));
    if (sn <= 0) {
        set(o, DKIM_PERMERROR, "b= is not base64");
        goto out;
    }
    if ((ctx = EVP_MD_CTX_new()) == NULL) {
        set(o, DKIM_TEMPERROR, "out of memory");
        goto out;
    }
    if (k.ed25519) {
        /* RFC 8463: Ed25519 over the SHA-256 of the header data */
        unsigned char hh[32];

        EVP_Digest(buf_ptr(&j->data), buf_len(&j->data), hh, NULL,
            EVP_sha256(), NULL);
        if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k.pkey) != 1 ||
            EVP_DigestVerify(ctx, sigb, (size_t)sn, hh, 32) != 1) {
            set(o, DKIM_FAIL, "signature does not verify");
            goto out;
        }
    } else if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
        k.pkey) != 1 || EVP_DigestVerify(ctx, sigb, (size_t)sn,
        (const unsigned char *)buf_ptr(&j->data), buf_len(&j->data)) != 1) {
        set(o, DKIM_FAIL, "signature does not verify");
        goto out;
    }
    if (s->l != NULL) {
        set(o, DKIM_FAIL, "l= signs only part of the body: not accepted");
        goto out;
    }
    if (j->many_from) {
        set(o, DKIM_FAIL, "more than one From header");
        goto out;
    }
    if (k.testing)
        set(o, DKIM_PASS, "verifies, but the key is in testing mode (t=y): "
            "treated as unsigned (RFC 6376 3.6.1)");
    else
        set(o, DKIM_PASS, "ok");
out:
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k.pkey);
    ERR_clear_error();
}

static void
job_clear(struct job *j)
{
    buf_free(&j->data);
    sig_clear(&j->s);
}

/*
 * lookup_all - the answers for n distinct key names: all at once through
 * txt_many, else one by one through txt.  A missing resolver is a
 * temporary failure (the next attempt may have one).
 */
static void
lookup_all(const struct dkim_lookup *lk, const char *const *names, size_t n,
    struct dkim_txt *out)
{
    size_t i;

    memset(out, 0, n * sizeof(*out));
    if (n == 0)
        return;
    if (lk != NULL && lk->txt_many != NULL) {
        lk->txt_many(lk->ctx, names, n, out);
        return;
    }
    for (i = 0; i < n; i++) {
        if (lk == NULL || lk->txt == NULL) {
            out[i].rc = RUAD_TEMPFAIL;
            snprintf(out[i].why, sizeof(out[i].why), "no resolver");
            continue;
        }
        out[i].rc = lk->txt(lk->ctx, names[i], &out[i].records, &out[i].n);
    }
}

/* ---- the message as a whole ---- */

/* to_crlf - a copy with every bare LF made CRLF, or NULL if none needed */
static char *
to_crlf(const char *m, size_t len, size_t *out_len)
{
    const char *p, *end = m + len, *lf;
    size_t      extra = 0, o = 0;
    char       *c;

    for (p = m; (lf = memchr(p, '\n', (size_t)(end - p))) != NULL;
        p = lf + 1)
        if (lf == m || lf[-1] != '\r')
            extra++;
    if (extra == 0)
        return NULL;
    if ((c = malloc(len + extra)) == NULL)
        return NULL;
    for (p = m; (lf = memchr(p, '\n', (size_t)(end - p))) != NULL;
        p = lf + 1) {
        memcpy(c + o, p, (size_t)(lf - p));
        o += (size_t)(lf - p);
        if (lf == m || lf[-1] != '\r')
            c[o++] = '\r';
        c[o++] = '\n';
    }
    memcpy(c + o, p, (size_t)(end - p));
    *out_len = o + (size_t)(end - p);
    return c;
}

/* from_domain - the domain of the address in a From field */
static void
from_domain(const struct field *f, char *dst, size_t n)
{
    size_t      vlen, i, k = 0;
    const char *v = field_value(f, &vlen), *lt, *at = NULL, *end;

    dst[0] = '\0';
    lt = memchr(v, '<', vlen);
    end = v + vlen;
    if (lt != NULL) {
        const char *gt = memchr(lt, '>', (size_t)(end - lt));

        if (gt != NULL)
            end = gt;
        v = lt + 1;
    }
    for (const char *p = v; p < end; p++)
        if (*p == '@')
            at = p;
    if (at == NULL)
        return;
    for (i = 1; at + i < end && k + 1 < n; i++) {
        char c = at[i];

        if (is_wsp(c) || c == '\r' || c == '\n' || c == '>' || c == ')')
            break;
        dst[k++] = (char)tolower((unsigned char)c);
    }
    dst[k] = '\0';
    /* a domain name or nothing: it is stored, and a U-label could not
     * align with an A-label d= anyway */
    if (!is_dns_name(dst))
        dst[0] = '\0';
}

static int
rank(enum dkim_result r)
{
    switch (r) {
    case DKIM_PASS:      return 4;
    case DKIM_TEMPERROR: return 3;
    case DKIM_FAIL:      return 2;
    case DKIM_PERMERROR: return 1;
    default:             return 0;
    }
}

enum ruad_rc
dkim_verify(const char *msg, size_t len, const struct dkim_lookup *lk,
    time_t now, struct dkim_verdict *v)
{
    struct msg      m;
    char           *crlf;
    size_t          clen = len, i, k, froms = 0, n_names = 0;
    enum ruad_rc    rc;
    struct job      jobs[DKIM_SIGS_MAX];
    bool            need[DKIM_SIGS_MAX];
    size_t          which[DKIM_SIGS_MAX];
    const char     *names[DKIM_SIGS_MAX];
    struct dkim_txt ans[DKIM_SIGS_MAX];

    memset(v, 0, sizeof(*v));
    v->pass = -1;
    crlf = to_crlf(msg, len, &clen);
    if (crlf != NULL)
        msg = crlf;
    rc = msg_split(msg, clen, &m);
    if (rc == RUAD_LIMIT) {
        v->result = DKIM_PERMERROR;
        v->n_sigs = 0;
        free(m.f);
        free(crlf);
        return RUAD_OK;
    }
    if (rc != RUAD_OK) {
        free(m.f);
        free(crlf);
        return rc;
    }
    for (i = 0; i < m.nf; i++)
        if (field_is(&m.f[i], "from")) {
            if (froms++ == 0)
                from_domain(&m.f[i], v->from_domain,
                    sizeof(v->from_domain));
        }
    if (froms != 1)
        v->from_domain[0] = '\0';
    /* each signature up to its key, then every key at once (one time
     * budget for the mail, not one per signature), then the rest */
    memset(jobs, 0, sizeof(jobs));
    for (i = 0; i < m.nf; i++) {
        if (!field_is(&m.f[i], "dkim-signature"))
            continue;
        v->n_found++;
        if (v->n_sigs >= DKIM_SIGS_MAX)
            continue;
        need[v->n_sigs] = sig_prepare(&m, &m.f[i], now, froms > 1,
            &jobs[v->n_sigs], &v->sigs[v->n_sigs]);
        v->n_sigs++;
    }
    for (i = 0; i < v->n_sigs; i++) {
        if (!need[i])
            continue;
        for (k = 0; k < n_names; k++)
            if (strcasecmp(names[k], jobs[i].name) == 0)
                break;
        if (k == n_names)
            names[n_names++] = jobs[i].name;
        which[i] = k;
    }
    lookup_all(lk, names, n_names, ans);
    for (i = 0; i < v->n_sigs; i++) {
        if (need[i])
            sig_finish(&jobs[i], &ans[which[i]], &v->sigs[i]);
        job_clear(&jobs[i]);
    }
    for (k = 0; k < n_names; k++) {
        for (i = 0; i < ans[k].n; i++)
            free(ans[k].records[i]);
        free(ans[k].records);
    }
    /* the verdict: RFC 6376 3.6.1, a testing key's signature is as none */
    for (i = 0; i < v->n_sigs; i++) {
        if (v->sigs[i].testing)
            continue;
        if (rank(v->sigs[i].result) > rank(v->result))
            v->result = v->sigs[i].result;
        if (v->sigs[i].result == DKIM_PASS && v->pass < 0)
            v->pass = (int)i;
    }
    free(m.f);
    free(crlf);
    return RUAD_OK;
}

const char *
dkim_result_str(enum dkim_result r)
{
    switch (r) {
    case DKIM_NONE:      return "none";
    case DKIM_PASS:      return "pass";
    case DKIM_FAIL:      return "fail";
    case DKIM_TEMPERROR: return "temperror";
    case DKIM_PERMERROR: return "permerror";
    }
    return "none";
}

/* ---- alignment ---- */

static pthread_once_t     psl_once = PTHREAD_ONCE_INIT;
static const psl_ctx_t   *psl;

static void
psl_load(void)
{
    /* the distribution's list (Debian's publicsuffix), else built in */
    psl = psl_latest(NULL);
    if (psl == NULL)
        psl = psl_builtin();
}

/* org_domain - the registrable domain of d (lower case) into out */
static void
org_domain(const char *d, char *out, size_t n)
{
    char        low[256];
    const char *r;
    size_t      i;

    for (i = 0; d[i] != '\0' && i + 1 < sizeof(low); i++)
        low[i] = (char)tolower((unsigned char)d[i]);
    low[i] = '\0';
    while (i > 0 && low[i - 1] == '.')
        low[--i] = '\0';
    pthread_once(&psl_once, psl_load);
    r = psl != NULL ? psl_registrable_domain(psl, low) : NULL;
    snprintf(out, n, "%s", r != NULL ? r : low);
}

bool
dkim_aligned(const char *d, const char *from)
{
    char a[256], b[256];

    if (d == NULL || from == NULL || *d == '\0' || *from == '\0')
        return false;
    org_domain(d, a, sizeof(a));
    org_domain(from, b, sizeof(b));
    return strcmp(a, b) == 0;
}

void
dkim_summarize(const struct dkim_verdict *v, struct dkim_summary *out)
{
    int    best = -1;
    size_t i;

    memset(out, 0, sizeof(*out));
    out->result = dkim_result_str(v->result);
    snprintf(out->from_domain, sizeof(out->from_domain), "%s",
        v->from_domain);
    for (i = 0; i < v->n_sigs; i++) {
        if (v->sigs[i].result != DKIM_PASS)
            continue;
        if (v->sigs[i].testing) {
            if (out->testing[0] == '\0')
                snprintf(out->testing, sizeof(out->testing), "%s",
                    v->sigs[i].d);
            continue;
        }
        if (best < 0)
            best = (int)i;
        if (dkim_aligned(v->sigs[i].d, v->from_domain)) {
            best = (int)i;
            break;
        }
    }
    if (best < 0)
        return;
    snprintf(out->domain, sizeof(out->domain), "%s", v->sigs[best].d);
    snprintf(out->selector, sizeof(out->selector), "%s", v->sigs[best].s);
    out->aligned = dkim_aligned(v->sigs[best].d, v->from_domain);
    out->no_tlsrpt = v->sigs[best].no_tlsrpt;
}
