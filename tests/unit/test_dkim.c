/*
 * test_dkim.c - unit tests for dkim_canon.c's body canonicalisation: the
 * examples of RFC 6376 3.4.5, the empty-body rules, and dkim_body_hash()
 * against a plain line-by-line reading of RFC 6376 3.4.3 and 3.4.4 on
 * every body of up to 7 bytes over {a, SP, HTAB, CR, LF} and on 200,000
 * random longer ones, dense and sparse in whitespace.
 *
 * Signatures, keys and whole messages are tested end to end with dkimpy
 * and dnsmasq (tests/integration/test_dkim.py); this file pins down the
 * one-pass canonicaliser, where a slip breaks only rare bodies, and, with
 * Ed25519 signatures made here (simple/simple, so the signed data is
 * plain to write down) and a lookup table: the key flags of t= as a list
 * (t=y is testing and does not count, "ys" is no flag), the name checks
 * (a label over 63 octets, a key name over 253: permerror, never looked
 * up), and every key of a mail asked in one txt_many call.
 */
#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <strings.h>

#include "dkim.h"

/* ---- the reference: RFC 6376 3.4.3 / 3.4.4 as written ---- */

struct out {
    char   *p;
    size_t  len, cap;
};

static void
put(struct out *o, const char *p, size_t n)
{
    if (o->len + n + 1 > o->cap) {
        o->cap = (o->len + n + 1) * 2;
        o->p = realloc(o->p, o->cap);
        assert_non_null(o->p);
    }
    memcpy(o->p + o->len, p, n);
    o->len += n;
}

static bool
wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* ref_canon - the canonical body, by lines: split at CRLF (a final piece
 * with no CRLF is a line when not empty), relaxed folds WSP runs to one SP
 * and drops WSP at line ends, empty lines at the end go, every line gets
 * CRLF; simple turns an empty body into one CRLF. */
static void
ref_canon(const char *p, size_t n, bool relaxed, struct out *o)
{
    char  **lines = NULL;
    size_t *lens = NULL, nl = 0, i = 0, keep;

    while (i < n) {
        size_t j = i, len;
        char  *l;

        while (j < n && !(j + 1 < n && p[j] == '\r' && p[j + 1] == '\n'))
            j++;
        l = malloc(j - i + 1);
        assert_non_null(l);
        len = 0;
        for (size_t k = i; k < j; k++) {
            if (relaxed && wsp(p[k])) {
                if (len == 0 || l[len - 1] != ' ')
                    l[len++] = ' ';
                continue;
            }
            l[len++] = p[k];
        }
        while (relaxed && len > 0 && l[len - 1] == ' ')
            len--;
        lines = realloc(lines, (nl + 1) * sizeof(*lines));
        lens = realloc(lens, (nl + 1) * sizeof(*lens));
        assert_true(lines != NULL && lens != NULL);
        lines[nl] = l;
        lens[nl++] = len;
        i = j < n ? j + 2 : n;
    }
    for (keep = nl; keep > 0 && lens[keep - 1] == 0; keep--)
        ;
    for (i = 0; i < keep; i++) {
        put(o, lines[i], lens[i]);
        put(o, "\r\n", 2);
    }
    if (keep == 0 && !relaxed)
        put(o, "\r\n", 2);
    for (i = 0; i < nl; i++)
        free(lines[i]);
    free(lines);
    free(lens);
}

static void
sha256(const void *p, size_t n, unsigned char *md)
{
    assert_int_equal(EVP_Digest(p, n, md, NULL, EVP_sha256(), NULL), 1);
}

/* check - dkim_body_hash() of (p, n) equals the hash of the reference */
static void
check(const char *p, size_t n, bool relaxed)
{
    struct out    o = { NULL, 0, 0 };
    unsigned char want[32], got[32];

    ref_canon(p, n, relaxed, &o);
    sha256(o.p ? o.p : "", o.len, want);
    assert_true(dkim_body_hash(p, n, relaxed, got));
    if (memcmp(want, got, 32) != 0) {
        fprintf(stderr, "body (%zu bytes, %s):", n,
            relaxed ? "relaxed" : "simple");
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " %02x", (unsigned char)p[i]);
        fprintf(stderr, "\n");
        fail_msg("dkim_body_hash differs from the reference");
    }
    free(o.p);
}

/* ---- tests ---- */

/* RFC 6376 3.4.5: the example body and its two canonical forms */
static void
test_rfc_example(void **state)
{
    static const char body[] = " C \r\nD \t E\r\n\r\n\r\n";
    static const char simple[] = " C \r\nD \t E\r\n";
    static const char relaxed[] = " C\r\nD E\r\n";
    unsigned char     want[32], got[32];

    (void)state;
    sha256(simple, strlen(simple), want);
    assert_true(dkim_body_hash(body, strlen(body), false, got));
    assert_memory_equal(want, got, 32);
    sha256(relaxed, strlen(relaxed), want);
    assert_true(dkim_body_hash(body, strlen(body), true, got));
    assert_memory_equal(want, got, 32);
}

/* an empty body: simple hashes one CRLF (3.4.3), relaxed nothing (3.4.4);
 * a body of empty and blank lines is empty too */
static void
test_empty(void **state)
{
    static const char *bodies[] = { "", "\r\n", "\r\n\r\n", " \t\r\n \r\n" };
    unsigned char      crlf[32], none[32], got[32];

    (void)state;
    sha256("\r\n", 2, crlf);
    sha256("", 0, none);
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        assert_true(dkim_body_hash(bodies[i], strlen(bodies[i]), true, got));
        assert_memory_equal(none, got, 32);
        if (i < 3) {
            assert_true(dkim_body_hash(bodies[i], strlen(bodies[i]), false,
                got));
            assert_memory_equal(crlf, got, 32);
        }
    }
}

/* a last line without CRLF gets one; a bare CR is an ordinary byte */
static void
test_last_line(void **state)
{
    unsigned char want[32], got[32];

    (void)state;
    sha256("abc\r\n", 5, want);
    assert_true(dkim_body_hash("abc", 3, false, got));
    assert_memory_equal(want, got, 32);
    assert_true(dkim_body_hash("abc \t", 5, true, got));
    assert_memory_equal(want, got, 32);
    sha256("a\r\r\n", 4, want);
    assert_true(dkim_body_hash("a\r \r\n\r\n", 7, true, got));
    assert_memory_equal(want, got, 32);
}

/* every body of up to 7 bytes over a small alphabet, both modes */
static void
test_exhaustive_small(void **state)
{
    static const char abc[] = { 'a', ' ', '\t', '\r', '\n' };
    char              b[8];

    (void)state;
    for (size_t len = 0; len <= 7; len++) {
        size_t total = 1;

        for (size_t i = 0; i < len; i++)
            total *= sizeof(abc);
        for (size_t v = 0; v < total; v++) {
            size_t x = v;

            for (size_t i = 0; i < len; i++) {
                b[i] = abc[x % sizeof(abc)];
                x /= sizeof(abc);
            }
            check(b, len, false);
            check(b, len, true);
        }
    }
}

/* random_bodies - n random bodies; one byte in about every `rare` is SP,
 * HTAB, CR, LF or a CRLF pair, the rest letters, so that both the
 * eight-byte skip and the byte-by-byte path see every position */
static void
random_bodies(int n, unsigned rare)
{
    static const char odd[] = "  \t\r\n";
    uint64_t          s = 0x9e3779b97f4a7c15ull ^ rare;
    char              b[600];

    for (int t = 0; t < n; t++) {
        size_t len;

        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        len = (size_t)(s % sizeof(b));
        for (size_t i = 0; i < len; i++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            if (s % rare != 0) {
                b[i] = (char)('a' + (s >> 8) % 26);
            } else if ((s >> 8) % 3 == 0 && i + 1 < len) {
                b[i++] = '\r';     /* CRLF pairs, as mail has them */
                b[i] = '\n';
            } else {
                b[i] = odd[(s >> 16) % (sizeof(odd) - 1)];
            }
        }
        check(b, len, (t & 1) != 0);
    }
}

/* dense: WSP everywhere; sparse: long clean runs with the odd change */
static void
test_random_dense(void **state)
{
    (void)state;
    random_bodies(100000, 2);
}

static void
test_random_sparse(void **state)
{
    (void)state;
    random_bodies(100000, 17);
}

/* ---- whole signatures: Ed25519, simple/simple ---- */

static EVP_PKEY *ed_key;
static char      ed_pub[64];     /* base64 of the raw public key */

static void
b64(const unsigned char *p, size_t n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

/*
 * ed_signed - a mail "From: a@x.example" with a body, and n signatures
 * of d= with the selectors sels[i]; extra tags go before h=.  The signed
 * data is the From field and the signature field without b='s value and
 * without its CRLF (RFC 6376 3.7, simple canonicalisation).
 */
static char *
ed_signed(const char *d, const char *const *sels, size_t n, const char *extra)
{
    static const char from[] = "From: a@x.example\r\n";
    static const char body[] = "hello\r\n";
    unsigned char     md[32], sig[64];
    char              bh[64], b[128], *out, *p;
    size_t            len = 64 * 1024, siglen, i;
    EVP_MD_CTX       *ctx;

    out = calloc(1, len);
    assert_non_null(out);
    sha256(body, strlen(body), md);
    b64(md, 32, bh);
    p = out;
    for (i = 0; i < n; i++) {
        char field[2048], data[4096];

        snprintf(field, sizeof(field), "DKIM-Signature: v=1; "
            "a=ed25519-sha256; c=simple/simple; d=%s; s=%s; %sh=from; "
            "bh=%s; b=", d, sels[i], extra, bh);
        snprintf(data, sizeof(data), "%s%s", from, field);
        sha256(data, strlen(data), md);
        ctx = EVP_MD_CTX_new();
        siglen = sizeof(sig);
        assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, ed_key),
            1);
        assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, md, 32), 1);
        EVP_MD_CTX_free(ctx);
        b64(sig, siglen, b);
        p += snprintf(p, len - (size_t)(p - out), "%s%s\r\n", field, b);
    }
    snprintf(p, len - (size_t)(p - out), "%s\r\n%s", from, body);
    return out;
}

/* The lookup: a table of (name, record), and the calls it had. */
struct table {
    const char *names[8];
    const char *recs[8];
    size_t      n;
    unsigned    calls;          /* txt_many calls */
    size_t      asked;          /* names asked in all */
    char        last[8][300];   /* the names of the last call */
};

static void
table_many(void *ctx, const char *const *names, size_t n,
    struct dkim_txt *out)
{
    struct table *t = ctx;

    t->calls++;
    for (size_t i = 0; i < n; i++) {
        t->asked++;
        if (i < 8)
            snprintf(t->last[i], sizeof(t->last[i]), "%s", names[i]);
        out[i].rc = RUAD_EOF;
        for (size_t j = 0; j < t->n; j++) {
            if (strcasecmp(t->names[j], names[i]) != 0)
                continue;
            if (strcmp(t->recs[j], "TEMPFAIL") == 0) {
                out[i].rc = RUAD_TEMPFAIL;
                snprintf(out[i].why, sizeof(out[i].why), "no answer "
                    "within 10 ms");
                break;
            }
            out[i].rc = RUAD_OK;
            out[i].records = calloc(1, sizeof(char *));
            assert_non_null(out[i].records);
            out[i].records[0] = strdup(t->recs[j]);
            out[i].n = 1;
            break;
        }
    }
}

static void
verify_with(const char *msg, struct table *t, struct dkim_verdict *v)
{
    struct dkim_lookup lk = { t, NULL, table_many };

    assert_int_equal(dkim_verify(msg, strlen(msg), &lk, 1700000000, v),
        RUAD_OK);
}

static int
keys_up(void **state)
{
    EVP_PKEY_CTX  *pc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    unsigned char  raw[32];
    size_t         rl = sizeof(raw);

    (void)state;
    if (pc == NULL || EVP_PKEY_keygen_init(pc) != 1 ||
        EVP_PKEY_keygen(pc, &ed_key) != 1 ||
        EVP_PKEY_get_raw_public_key(ed_key, raw, &rl) != 1)
        return -1;
    EVP_PKEY_CTX_free(pc);
    b64(raw, rl, ed_pub);
    return 0;
}

static int
keys_down(void **state)
{
    (void)state;
    EVP_PKEY_free(ed_key);
    return 0;
}

/* t= is a list of flags: y (testing) and s (strict), nothing else */
static void
test_key_flags(void **state)
{
    static const struct {
        const char *t;
        bool        testing;
    } cases[] = {
        { "", false }, { "y", true }, { "s:y", true }, { "y:s", true },
        { " y ", true }, { "x:y", true }, { "ys", false }, { "yes", false },
        { "Y", false }, { "s", false }, { "sy", false }, { ":y:", true },
    };
    const char *sel[] = { "k" };
    char       *msg = ed_signed("x.example", sel, 1, "");
    char        rec[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct table        t = { .names = { "k._domainkey.x.example" },
            .recs = { rec }, .n = 1 };
        struct dkim_verdict v;
        struct dkim_summary sum;

        snprintf(rec, sizeof(rec), "v=DKIM1; k=ed25519; %s%s%sp=%s",
            cases[i].t[0] ? "t=" : "", cases[i].t, cases[i].t[0] ? "; " :
            "", ed_pub);
        verify_with(msg, &t, &v);
        dkim_summarize(&v, &sum);
        assert_int_equal(v.n_sigs, 1);
        /* the signature verifies either way */
        assert_int_equal(v.sigs[0].result, DKIM_PASS);
        assert_int_equal(v.sigs[0].testing, cases[i].testing);
        if (cases[i].testing) {
            /* RFC 6376 3.6.1: as if unsigned */
            assert_int_equal(v.result, DKIM_NONE);
            assert_int_equal(v.pass, -1);
            assert_string_equal(sum.result, "none");
            assert_string_equal(sum.domain, "");
            assert_string_equal(sum.testing, "x.example");
            assert_non_null(strstr(v.sigs[0].reason, "t=y"));
        } else {
            assert_int_equal(v.result, DKIM_PASS);
            assert_int_equal(v.pass, 0);
            assert_string_equal(sum.domain, "x.example");
            assert_true(sum.aligned);
            assert_string_equal(v.sigs[0].reason, "ok");
        }
    }
    free(msg);
}

/* a testing signature next to others: the others decide */
static void
test_testing_among_others(void **state)
{
    const char         *sels[] = { "test", "real" };
    char               *msg = ed_signed("x.example", sels, 2, "");
    char                trec[256], rrec[256];
    struct table        t = { .names = { "test._domainkey.x.example",
        "real._domainkey.x.example" }, .recs = { trec, rrec }, .n = 2 };
    struct dkim_verdict v;
    struct dkim_summary sum;

    (void)state;
    snprintf(trec, sizeof(trec), "v=DKIM1; k=ed25519; t=y; p=%s", ed_pub);
    snprintf(rrec, sizeof(rrec), "v=DKIM1; k=ed25519; p=%s", ed_pub);
    verify_with(msg, &t, &v);
    dkim_summarize(&v, &sum);
    assert_int_equal(v.result, DKIM_PASS);
    assert_int_equal(v.pass, 1);
    assert_string_equal(sum.selector, "real");
    /* the real key revoked: a permerror, not the testing pass */
    snprintf(rrec, sizeof(rrec), "v=DKIM1; k=ed25519; p=");
    verify_with(msg, &t, &v);
    assert_int_equal(v.result, DKIM_PERMERROR);
    assert_int_equal(v.pass, -1);
    free(msg);
}

/* key t=s: i= must be d= itself */
static void
test_key_strict(void **state)
{
    const char         *sel[] = { "k" };
    char               *sub = ed_signed("x.example", sel, 1,
        "i=@sub.x.example; ");
    char                rec[256];
    struct table        t = { .names = { "k._domainkey.x.example" },
        .recs = { rec }, .n = 1 };
    struct dkim_verdict v;

    (void)state;
    snprintf(rec, sizeof(rec), "v=DKIM1; k=ed25519; t=y:s; p=%s", ed_pub);
    verify_with(sub, &t, &v);
    assert_int_equal(v.sigs[0].result, DKIM_PERMERROR);
    snprintf(rec, sizeof(rec), "v=DKIM1; k=ed25519; t=ss; p=%s", ed_pub);
    verify_with(sub, &t, &v);
    assert_int_equal(v.sigs[0].result, DKIM_PASS);
    free(sub);
}

/* every key of the mail in one call; a name asked once */
static void
test_one_call(void **state)
{
    const char         *sels[] = { "a", "b", "a", "c" };
    char               *msg = ed_signed("x.example", sels, 4, "");
    char                rec[256];
    struct table        t = { .names = { "a._domainkey.x.example",
        "b._domainkey.x.example", "c._domainkey.x.example" },
        .recs = { rec, "TEMPFAIL", rec }, .n = 3 };
    struct dkim_verdict v;

    (void)state;
    snprintf(rec, sizeof(rec), "v=DKIM1; k=ed25519; p=%s", ed_pub);
    verify_with(msg, &t, &v);
    assert_int_equal(t.calls, 1);
    assert_int_equal(t.asked, 3);
    assert_int_equal(v.n_sigs, 4);
    assert_int_equal(v.sigs[0].result, DKIM_PASS);
    assert_int_equal(v.sigs[1].result, DKIM_TEMPERROR);
    assert_non_null(strstr(v.sigs[1].reason, "within 10 ms"));
    assert_int_equal(v.sigs[2].result, DKIM_PASS);
    assert_int_equal(v.sigs[3].result, DKIM_PASS);
    assert_int_equal(v.result, DKIM_PASS);
    free(msg);
}

/* names DNS cannot carry are permerrors, and are never looked up */
static void
test_bad_names(void **state)
{
    char                l64[80], l63[80], d190[300], s60[80];
    const char         *sel[1];
    char               *msg;
    struct table        t = { .n = 0 };
    struct dkim_verdict v;

    (void)state;
    memset(l64, 'a', 64);
    l64[64] = '\0';
    memset(l63, 'a', 63);
    l63[63] = '\0';
    sel[0] = l64;
    msg = ed_signed("x.example", sel, 1, "");
    verify_with(msg, &t, &v);
    assert_int_equal(v.result, DKIM_PERMERROR);
    assert_non_null(strstr(v.sigs[0].reason, "63"));
    assert_non_null(strstr(v.sigs[0].reason, "s="));
    free(msg);
    sel[0] = "k";
    {
        char d[120];

        snprintf(d, sizeof(d), "%s.example", l64);
        msg = ed_signed(d, sel, 1, "");
    }
    verify_with(msg, &t, &v);
    assert_int_equal(v.result, DKIM_PERMERROR);
    assert_non_null(strstr(v.sigs[0].reason, "d="));
    free(msg);
    msg = ed_signed("x..example", sel, 1, "");
    verify_with(msg, &t, &v);
    assert_int_equal(v.result, DKIM_PERMERROR);
    free(msg);
    /* each part fine, the key name over 253 */
    snprintf(d190, sizeof(d190), "%s.%s.%.60s.example", l63, l63, l63);
    memset(s60, 'b', 60);
    s60[60] = '\0';
    sel[0] = s60;
    msg = ed_signed(d190, sel, 1, "");
    verify_with(msg, &t, &v);
    assert_int_equal(v.result, DKIM_PERMERROR);
    assert_non_null(strstr(v.sigs[0].reason, "253"));
    free(msg);
    /* a label of 63 is asked for */
    sel[0] = l63;
    msg = ed_signed("x.example", sel, 1, "");
    verify_with(msg, &t, &v);
    assert_int_equal(v.sigs[0].result, DKIM_PERMERROR);   /* NXDOMAIN */
    assert_string_equal(v.sigs[0].reason, "no key record");
    free(msg);
    assert_int_equal(t.calls, 1);
    assert_int_equal(t.asked, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_example),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_last_line),
        cmocka_unit_test(test_exhaustive_small),
        cmocka_unit_test(test_random_dense),
        cmocka_unit_test(test_random_sparse),
        cmocka_unit_test(test_key_flags),
        cmocka_unit_test(test_testing_among_others),
        cmocka_unit_test(test_key_strict),
        cmocka_unit_test(test_one_call),
        cmocka_unit_test(test_bad_names),
    };

    return cmocka_run_group_tests(tests, keys_up, keys_down);
}
