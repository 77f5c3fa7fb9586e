/*
 * fuzz_dnsrec.c - libFuzzer target for the grammars of published records:
 * dnsrec_parse_dmarc (RFC 7489 6.4), dnsrec_parse_tlsrpt (RFC 8460 3),
 * dnsrec_parse_sts (RFC 8461 3.1) and dnsrec_check_uri, plus the rua
 * escaping round trip.
 *
 * The first byte picks the parser; the rest is the TXT value as a DNS
 * answer would carry it (any bytes, no NUL needed).  Seeds:
 * tests/fuzz/corpus/dnsrec/.
 *
 * SECURITY: anyone can publish anything at the names `ruad dns-records
 * --check` looks up; a crash, leak or overread here is a bug a zone
 * owner could trigger on an admin's machine.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnsrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - parse one record, check the contract, free */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dnsrec_dmarc dm;
    struct dnsrec_uris  u;
    char                err[512], id[33], *copy, esc[256];
    const char         *txt = (const char *)data + 1;
    size_t              len = size > 0 ? size - 1 : 0;
    enum ruad_rc        rc = RUAD_OK;

    if (size == 0)
        return 0;
    /* exactly len bytes, so ASan sees any read past the end */
    if ((copy = malloc(len ? len : 1)) == NULL)
        return 0;
    memcpy(copy, txt, len);
    err[0] = '\0';
    switch (data[0] % 5) {
    case 0:
        rc = dnsrec_parse_dmarc(copy, len, &dm, err, sizeof(err));
        if (rc == RUAD_OK) {
            if (dm.p[0] == '\0')
                __builtin_trap();      /* p= is required */
            dnsrec_uris_free(&dm.rua);
        }
        break;
    case 1:
        rc = dnsrec_parse_tlsrpt(copy, len, &u, err, sizeof(err));
        if (rc == RUAD_OK) {
            if (u.n == 0 || u.n > DNSREC_URIS_MAX)
                __builtin_trap();
            dnsrec_uris_free(&u);
        }
        break;
    case 2:
        rc = dnsrec_parse_sts(copy, len, id, err, sizeof(err));
        if (rc == RUAD_OK && (strlen(id) == 0 || strlen(id) > 32))
            __builtin_trap();
        break;
    case 3:
        rc = dnsrec_check_uri(copy, len, data[0] & 8, err, sizeof(err));
        break;
    default: {
        /* escaping: the result is a valid URI tail, never "," "!" ";" */
        char *s = malloc(len + 1);

        if (s == NULL)
            break;
        memcpy(s, txt, len);
        s[len] = '\0';
        if (dnsrec_uri_escape(s, esc, sizeof(esc)) &&
            strpbrk(esc, ",!; \"") != NULL)
            __builtin_trap();
        free(s);
        rc = RUAD_OK;
    }
    }
    if (rc != RUAD_OK && err[0] == '\0')
        __builtin_trap();              /* an error always says why */
    free(copy);
    return 0;
}
