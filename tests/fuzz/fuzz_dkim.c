/*
 * fuzz_dkim.c - libFuzzer target for dkim_verify() and dkim_summarize().
 *
 * An input has the layout of the DKIM vectors in the shared samples
 * (eml/dkim-vectors): key records as "NAME VALUE" lines, a blank line,
 * then the message.  Without a blank line the whole input is the message.
 * The lookup callback answers a key name with every VALUE whose NAME
 * matches (case-insensitively), RUAD_TEMPFAIL for the VALUE "TEMPFAIL",
 * and RUAD_EOF (NXDOMAIN) when no line names it; every key of a mail is
 * asked in one txt_many call, as dns.c is, so one input reaches the
 * tag-list parser of the signature and of the key record, both
 * canonicalisations, the body hash, base64, the key decoders (SPKI,
 * PKCS#1 RSA, raw Ed25519) and OpenSSL's verification.  The time is fixed
 * (2033) so that t= and x= behave the same on every run.
 * Seeds: tests/fuzz/corpus/dkim/ (messages signed here by dkimpy with
 * throwaway keys, and their records), plus the shared DKIM vectors.
 *
 * SECURITY: the message, its DKIM-Signature fields and the TXT records
 * are all peer data (the mail's sender chooses the signing domain, hence
 * the DNS answers); any crash, leak or undefined behaviour found here is
 * a remote bug.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim.h"

#define FUZZ_NOW      2000000000      /* 2033-05-18 */
#define FUZZ_RECS_MAX 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_zone {
    const char *p;      /* the record lines, borrowed */
    size_t      len;
};

/* fuzz_txt - the lookup callback over the input's record lines */
static enum ruad_rc
fuzz_txt(void *ctx, const char *name, char ***records, size_t *n)
{
    const struct fuzz_zone *z = ctx;
    const char             *p = z->p, *end = z->p + z->len;
    size_t                  nl = strlen(name);
    bool                    named = false;
    char                  **recs;

    *records = NULL;
    *n = 0;
    if ((recs = calloc(FUZZ_RECS_MAX, sizeof(*recs))) == NULL)
        return RUAD_TEMPFAIL;
    while (p < end) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        const char *sp, *v;
        size_t      ll, vl;

        if (e == NULL)
            e = end;
        ll = (size_t)(e - p);
        if (ll > 0 && p[ll - 1] == '\r')
            ll--;
        sp = memchr(p, ' ', ll);
        if (sp != NULL && (size_t)(sp - p) == nl &&
            strncasecmp(p, name, nl) == 0) {
            named = true;
            v = sp + 1;
            vl = ll - nl - 1;
            if (vl == 8 && memcmp(v, "TEMPFAIL", 8) == 0) {
                for (size_t i = 0; i < *n; i++)
                    free(recs[i]);
                free(recs);
                *n = 0;
                return RUAD_TEMPFAIL;
            }
            if (*n < FUZZ_RECS_MAX && (recs[*n] = malloc(vl + 1)) != NULL) {
                memcpy(recs[*n], v, vl);
                recs[*n][vl] = '\0';     /* a NUL inside cuts it, as in DNS */
                (*n)++;
            }
        }
        p = e + 1;
    }
    if (!named) {
        free(recs);
        return RUAD_EOF;
    }
    *records = recs;
    return RUAD_OK;
}

/* fuzz_txt_many - all of a mail's keys at once, as dns_txt_many */
static void
fuzz_txt_many(void *ctx, const char *const *names, size_t n,
    struct dkim_txt *out)
{
    if (n == 0 || n > DKIM_SIGS_MAX)
        __builtin_trap();             /* dkim.c asks 1..DKIM_SIGS_MAX */
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++)
            if (strcasecmp(names[i], names[j]) == 0)
                __builtin_trap();     /* a name is asked once */
        out[i].rc = fuzz_txt(ctx, names[i], &out[i].records, &out[i].n);
    }
}

/* terminated - is the fixed-size string s NUL-terminated? */
static bool
terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

/* LLVMFuzzerTestOneInput - verify one input, check the contract */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char         *in = (const char *)data, *msg = in;
    size_t              len = size, i;
    struct fuzz_zone    z = { "", 0 };
    struct dkim_lookup  lk = { &z, NULL, fuzz_txt_many };
    struct dkim_verdict v;
    struct dkim_summary sum;
    const char         *blank = NULL;

    /* records, a blank line, the message (the first blank line counts) */
    if (size > 0 && in[0] == '\n')
        blank = in, msg = in + 1;
    else if (size > 1 && in[0] == '\r' && in[1] == '\n')
        blank = in, msg = in + 2;
    for (i = 0; blank == NULL && i + 1 < size; i++) {
        if (in[i] != '\n')
            continue;
        if (in[i + 1] == '\n') {
            blank = in + i;
            msg = in + i + 2;
            break;
        }
        if (i + 2 < size && in[i + 1] == '\r' && in[i + 2] == '\n') {
            blank = in + i;
            msg = in + i + 3;
            break;
        }
    }
    if (blank != NULL) {
        z.p = in;
        z.len = (size_t)(blank - in);
        len = size - (size_t)(msg - in);
    }
    if (dkim_verify(msg, len, &lk, FUZZ_NOW, &v) != RUAD_OK)
        return 0;                       /* out of memory */

    /* the verdict's contract (dkim.h) */
    if (v.n_sigs > DKIM_SIGS_MAX || v.n_sigs > v.n_found)
        __builtin_trap();
    /* none: no signature, or only signatures of testing keys (t=y) */
    {
        bool counted = false;

        for (i = 0; i < v.n_sigs; i++)
            counted |= !v.sigs[i].testing;
        if ((v.result == DKIM_NONE) != !counted && v.n_found > 0)
            __builtin_trap();
    }
    if ((v.pass >= 0) != (v.result == DKIM_PASS))
        __builtin_trap();
    if (v.pass >= 0 && ((size_t)v.pass >= v.n_sigs ||
        v.sigs[v.pass].result != DKIM_PASS || v.sigs[v.pass].testing))
        __builtin_trap();
    if (!terminated(v.from_domain, sizeof(v.from_domain)))
        __builtin_trap();
    for (i = 0; i < v.n_sigs; i++) {
        const struct dkim_sig *s = &v.sigs[i];

        if (!terminated(s->d, sizeof(s->d)) ||
            !terminated(s->s, sizeof(s->s)) ||
            !terminated(s->a, sizeof(s->a)) ||
            !terminated(s->reason, sizeof(s->reason)) ||
            s->result == DKIM_NONE || s->reason[0] == '\0' ||
            (s->testing && s->result == DKIM_TEMPERROR))
            __builtin_trap();
    }
    /* and what is kept of it, through libpsl */
    dkim_summarize(&v, &sum);
    if (sum.result == NULL || (v.result == DKIM_PASS) != (sum.domain[0] !=
        '\0') || (sum.aligned && !dkim_aligned(sum.domain, v.from_domain)) ||
        !terminated(sum.testing, sizeof(sum.testing)))
        __builtin_trap();
    return 0;
}
