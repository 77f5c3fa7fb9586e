/*
 * fuzz_mta_sts.c - libFuzzer target for mta_sts_validate() (RFC 8461 3.2
 * policy files) and mta_sts_for_host() (the HTTP Host header that picks
 * a policy).
 *
 * Policy files are the admin's, but they are parsed with the same care
 * as peer data; the Host header is peer data.  Seeds:
 * tests/fuzz/corpus/mta_sts/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mta_sts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mta_sts_set set;
    char                      err[256], mode[8], *copy, *host;
    enum ruad_rc              rc;

    if ((copy = malloc(size ? size : 1)) == NULL)
        return 0;
    memcpy(copy, data, size);
    err[0] = '\0';
    rc = mta_sts_validate(copy, size, mode, err, sizeof(err));
    if (rc != RUAD_OK && err[0] == '\0')
        __builtin_trap();
    if (rc == RUAD_OK && strcmp(mode, "enforce") != 0 &&
        strcmp(mode, "testing") != 0 && strcmp(mode, "none") != 0)
        __builtin_trap();
    free(copy);

    /* the same bytes as a Host header against one policy */
    if (set.n == 0) {
        strcpy(set.p[0].domain, "example.com");
        set.n = 1;
    }
    if ((host = malloc(size + 1)) == NULL)
        return 0;
    memcpy(host, data, size);
    host[size] = '\0';
    if (mta_sts_for_host(&set, host) != NULL &&
        strncasecmp(host, "mta-sts.example.com", 19) != 0)
        __builtin_trap();
    free(host);
    return 0;
}
