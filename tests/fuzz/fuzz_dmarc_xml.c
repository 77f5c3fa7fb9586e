/*
 * fuzz_dmarc_xml.c - libFuzzer target for the DMARC XML parser.
 *
 * The last byte picks how the document is cut into reads (1..255 bytes,
 * or all at once for 0), so chunk boundaries get fuzzed too; it is the
 * last byte so that a report replayed as a seed stays well-formed.  The sink touches
 * every field it is given, so ASan sees any bad pointer.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dmarc_xml.h"
#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
    const uint8_t *p;
    size_t         len, off, chunk;
    size_t         sum;
};

static enum ruad_rc
fz_read(void *ctx, char *buf, size_t cap, size_t *got)
{
    struct fz *f = ctx;
    size_t     n = f->len - f->off;

    if (n > cap)
        n = cap;
    if (f->chunk && n > f->chunk)
        n = f->chunk;
    memcpy(buf, f->p + f->off, n);
    f->off += n;
    *got = n;
    return RUAD_OK;
}

static size_t
slen(const char *s)
{
    return s ? strlen(s) : 0;
}

static enum ruad_rc
fz_record(void *ctx, const struct dmarc_report *rep,
    const struct dmarc_record *r)
{
    struct fz *f = ctx;
    size_t     i;

    f->sum += slen(rep->org_name) + slen(r->source_ip) +
        slen(r->disposition) + slen(r->dkim) + slen(r->spf) +
        slen(r->header_from) + slen(r->envelope_from) +
        slen(r->envelope_to);
    for (i = 0; i < r->n_reasons; i++)
        f->sum += slen(r->reasons[i].type) + slen(r->reasons[i].comment);
    for (i = 0; i < r->n_dkim_auth; i++)
        f->sum += slen(r->dkim_auth[i].domain) +
            slen(r->dkim_auth[i].selector) + slen(r->dkim_auth[i].result) +
            slen(r->dkim_auth[i].human_result);
    for (i = 0; i < r->n_spf_auth; i++)
        f->sum += slen(r->spf_auth[i].domain) + slen(r->spf_auth[i].scope) +
            slen(r->spf_auth[i].result) + slen(r->spf_auth[i].human_result);
    return RUAD_OK;
}

static enum ruad_rc
fz_done(void *ctx, const struct dmarc_report *r)
{
    struct fz *f = ctx;
    size_t     i;

    f->sum += slen(r->org_name) + slen(r->org_email) + slen(r->report_id) +
        slen(r->policy.domain) + slen(r->policy.p) + slen(r->version) +
        slen(r->generator) + slen(r->xmlns) + slen(r->policy.fo);
    for (i = 0; i < r->n_errors; i++)
        f->sum += slen(r->errors[i]);
    return RUAD_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct report_limits lim;
    struct report_diag   diag;
    struct report_sink   sink = { NULL, fz_record, fz_done, NULL, NULL };
    struct fz            f;

    if (size < 1)
        return 0;
    memset(&f, 0, sizeof(f));
    f.chunk = data[size - 1];
    f.p = data;
    f.len = size - 1;
    sink.ctx = &f;
    report_limits_default(&lim);
    lim.records_max = 10000;
    report_diag_init(&diag);
    (void)dmarc_xml_parse(fz_read, &f, &lim, &sink, &diag);
    report_diag_free(&diag);
    return 0;
}
