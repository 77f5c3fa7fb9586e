/*
 * fuzz_decompress.c - libFuzzer target for decompress.c.
 *
 * Each input goes through decompress_new_mem() with a 4 MiB output cap;
 * every part is read to its end and everything is freed, so ASan, LSan
 * and UBSan see the magic sniffing, gzip members, nesting and trailing
 * garbage, libzip's archive parsing and the caps.  The read size depends
 * on the input length, so short and long reads are both covered.
 * Seeds: tests/fuzz/corpus/decompress/ (made here, no real reports).
 *
 * SECURITY: this is the first code that peer bytes reach after MIME (mail
 * attachments, HTTPS POST bodies); any crash, leak, hang or cap overrun
 * found here is a remote bug.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "decompress.h"
#include "report.h"

#define FUZZ_OUT_MAX (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - read every part of one input, check, free */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t  chunks[] = { 1, 7, 4096, 65536 };
    static char          buf[65536];
    struct report_limits lim;
    struct report_diag   diag;
    struct decompress   *d;
    const char          *name, *fmt;
    enum ruad_rc         rc;
    size_t               got, chunk = chunks[size & 3];
    uint64_t             total = 0;

    report_limits_default(&lim);
    lim.decomp_out_max = FUZZ_OUT_MAX;
    report_diag_init(&diag);
    d = decompress_new_mem(data, size, &lim, &diag);
    if (d == NULL)
        return 0;
    while ((rc = decompress_next(d, &name)) == RUAD_OK) {
        fmt = decompress_format(d);
        /* a name for zip members only */
        if ((name != NULL) != (strcmp(fmt, "zip") == 0))
            __builtin_trap();
        while ((rc = decompress_read(d, buf, chunk, &got)) == RUAD_OK &&
            got > 0) {
            if (got > chunk)
                __builtin_trap();
            total += got;
        }
        if (rc != RUAD_OK)
            break;
    }
    /* the cap holds; an error says why and sticks */
    if (total > FUZZ_OUT_MAX)
        __builtin_trap();
    if (rc != RUAD_EOF && (diag.error[0] == '\0' ||
        decompress_next(d, &name) != rc ||
        decompress_read(d, buf, chunk, &got) != rc || got != 0))
        __builtin_trap();
    decompress_free(d);
    report_diag_free(&diag);
    return 0;
}
