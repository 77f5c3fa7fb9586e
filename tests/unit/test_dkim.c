/*
 * test_dkim.c - unit tests for dkim.c's body canonicalisation: the
 * examples of RFC 6376 3.4.5, the empty-body rules, and dkim_body_hash()
 * against a plain line-by-line reading of RFC 6376 3.4.3 and 3.4.4 on
 * every body of up to 7 bytes over {a, SP, HTAB, CR, LF} and on 200,000
 * random longer ones, dense and sparse in whitespace.
 *
 * Signatures, keys and whole messages are tested end to end with dkimpy
 * and dnsmasq (tests/integration/test_dkim.py); this file pins down the
 * one-pass canonicaliser, where a slip breaks only rare bodies.
 */
#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
