/*
 * fuzz_tlsrpt_json.c - libFuzzer target for tlsrpt_json_parse().
 *
 * Feeds each input to the RFC 8460 parser with the default limits and
 * frees whatever comes back, so ASan/LSan/UBSan see every path: the size
 * and depth pre-checks, jansson, field extraction and the error cleanup.
 * Seeds: tests/fuzz/corpus/tlsrpt_json/ (hand-written, no real reports).
 *
 * SECURITY: this is the parser's peer-facing surface (mail attachments
 * and HTTPS POST bodies after decompression); any crash, leak or
 * undefined behaviour found here is a remote bug.
 */
#include <stddef.h>
#include <stdint.h>

#include "report.h"
#include "tlsrpt_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - parse one input, check the contract, free */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct report_limits  lim;
    struct report_diag    diag;
    struct tlsrpt_report *rep = NULL;
    enum ruad_rc          rc;

    report_limits_default(&lim);
    report_diag_init(&diag);
    rc = tlsrpt_json_parse((const char *)data, size, &lim, &diag, &rep);
    /* *out only on success, and an error always says why */
    if ((rc == RUAD_OK) != (rep != NULL))
        __builtin_trap();
    if (rc != RUAD_OK && diag.error[0] == '\0')
        __builtin_trap();
    /* required fields present, times in range */
    if (rc == RUAD_OK && (rep->organization_name == NULL ||
        rep->report_id == NULL || rep->begin < REPORT_TIME_MIN ||
        rep->begin > REPORT_TIME_MAX || rep->end < REPORT_TIME_MIN ||
        rep->end > REPORT_TIME_MAX ||
        (rep->n_policies > 0) != (rep->policies != NULL)))
        __builtin_trap();
    tlsrpt_report_free(rep);
    report_diag_free(&diag);
    return 0;
}
