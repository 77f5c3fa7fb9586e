/*
 * parse.c - the one path from received bytes to parsed reports: sniff the
 * container by magic bytes (decompress.c), sniff each part as XML (DMARC)
 * or JSON (TLSRPT), and stream it through the matching parser into a sink.
 *
 * SECURITY: the input is peer data.  Sizes are capped by the decompressor
 * and by the parsers; a JSON part is read whole only up to lim->json_max
 * (plus one byte, so the parser can say it was too big).
 */
#include "report.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "decompress.h"
#include "dmarc_xml.h"
#include "mime.h"
#include "tlsrpt_json.h"

#define PARSE_HEAD_MAX 512       /* bytes read ahead to tell XML from JSON */

/* A reader that first replays the bytes read ahead, then the part. */
struct parse_peek {
    struct decompress *d;
    char               head[PARSE_HEAD_MAX];
    size_t             len, off;
};

static enum ruad_rc
parse_peek_read(void *ctx, char *buf, size_t cap, size_t *got)
{
    struct parse_peek *pk = ctx;
    size_t             n;

    if (pk->off < pk->len) {
        n = pk->len - pk->off;
        if (n > cap)
            n = cap;
        memcpy(buf, pk->head + pk->off, n);
        pk->off += n;
        *got = n;
        return RUAD_OK;
    }
    return decompress_read(pk->d, buf, cap, got);
}

enum parse_kind { KIND_EMPTY, KIND_XML, KIND_JSON, KIND_OTHER };

/* parse_sniff - what the first bytes of a part look like */
static enum parse_kind
parse_sniff(const char *p, size_t n)
{
    size_t i = 0;

    if (n >= 2 && (((unsigned char)p[0] == 0xff &&
        (unsigned char)p[1] == 0xfe) || ((unsigned char)p[0] == 0xfe &&
        (unsigned char)p[1] == 0xff)))
        return KIND_XML;                         /* UTF-16 with BOM */
    if (n >= 2 && ((p[0] == '<' && p[1] == '\0') ||
        (p[0] == '\0' && p[1] == '<')))
        return KIND_XML;                         /* UTF-16 without BOM */
    if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
        p[i] == '\n'))
        i++;
    if (i == n)
        return KIND_EMPTY;
    if (p[i] == '<')
        return KIND_XML;
    if (p[i] == '{')
        return KIND_JSON;
    return KIND_OTHER;
}

/* parse_json - read the whole part (capped) and parse a TLS report */
static enum ruad_rc
parse_json(struct parse_peek *pk, const struct report_limits *lim,
    const struct report_sink *sink, struct report_diag *diag)
{
    struct tlsrpt_report *rep = NULL;
    struct buf            b;
    char                  chunk[65536];
    size_t                got;
    enum ruad_rc          rc;

    buf_init(&b, lim->json_max + 1);
    for (;;) {
        if ((rc = parse_peek_read(pk, chunk, sizeof(chunk), &got)) !=
            RUAD_OK)
            goto out;
        if (got == 0)
            break;
        if ((rc = buf_append(&b, chunk, got)) != RUAD_OK) {
            if (rc == RUAD_LIMIT)
                rc = report_diag_fail(diag, rc, "TLS report larger than "
                    "%zu bytes", lim->json_max);
            goto out;
        }
    }
    rc = tlsrpt_json_parse(buf_ptr(&b), buf_len(&b), lim, diag, &rep);
    if (rc == RUAD_OK && sink->tlsrpt_done != NULL)
        rc = sink->tlsrpt_done(sink->ctx, rep);
out:
    if (rc != RUAD_OK && diag->error[0] == '\0')
        report_diag_fail(diag, rc, "%s", ruad_rc_str(rc));
    tlsrpt_report_free(rep);
    buf_free(&b);
    return rc;
}

/* parse_part - one decompressed part: sniff, then the matching parser */
static enum ruad_rc
parse_part(struct decompress *d, const struct report_limits *lim,
    const struct report_sink *sink, struct report_diag *diag)
{
    struct parse_peek pk;
    size_t            got;
    enum ruad_rc      rc;

    memset(&pk, 0, sizeof(pk));
    pk.d = d;
    while (pk.len < sizeof(pk.head)) {
        rc = decompress_read(d, pk.head + pk.len, sizeof(pk.head) - pk.len,
            &got);
        if (rc != RUAD_OK)
            return report_diag_fail(diag, rc, "%s", ruad_rc_str(rc));
        if (got == 0)
            break;
        pk.len += got;
    }
    switch (parse_sniff(pk.head, pk.len)) {
    case KIND_XML:
        return dmarc_xml_parse(parse_peek_read, &pk, lim, sink, diag);
    case KIND_JSON:
        return parse_json(&pk, lim, sink, diag);
    case KIND_EMPTY:
        return report_diag_fail(diag, RUAD_MALFORMED, "empty input");
    case KIND_OTHER:
    default:
        return report_diag_fail(diag, RUAD_UNSUPPORTED, "neither XML nor "
            "JSON (%s data): not a report", decompress_format(d));
    }
}

/*
 * parse_all - every part of d.  A part that fails does not stop the
 * others; when at least one report came through, the failed parts' errors
 * become warnings.
 */
static enum ruad_rc
parse_all(struct decompress *d, const struct report_limits *lim,
    const struct report_sink *sink, struct report_diag *diag,
    unsigned *n_reports)
{
    const char        *name;
    enum ruad_rc       rc, first = RUAD_OK;
    char               firsterr[sizeof(diag->error)];
    unsigned           n = 0;

    firsterr[0] = '\0';
    while ((rc = decompress_next(d, &name)) == RUAD_OK) {
        snprintf(diag->prefix, sizeof(diag->prefix), "%s%s%s",
            name ? "member " : "", name ? name : "", name ? ": " : "");
        diag->error[0] = '\0';
        rc = parse_part(d, lim, sink, diag);
        if (rc == RUAD_OK) {
            n++;
            continue;
        }
        if (first == RUAD_OK) {
            first = rc;
            snprintf(firsterr, sizeof(firsterr), "%s", diag->error);
        } else {
            char tmp[sizeof(diag->error)];

            /* the message already carries the member prefix */
            snprintf(tmp, sizeof(tmp), "%s", diag->error);
            diag->prefix[0] = '\0';
            report_diag_warn(diag, "error: %s", tmp);
        }
        /* a container-wide failure ends the walk */
        if (rc == RUAD_LIMIT || rc == RUAD_NOMEM || rc == RUAD_IO ||
            rc == RUAD_INTERNAL || rc == RUAD_TEMPFAIL)
            break;
    }
    diag->prefix[0] = '\0';
    if (rc != RUAD_OK && rc != RUAD_EOF && first == RUAD_OK) {
        first = rc;                     /* decompress_next failed */
        snprintf(firsterr, sizeof(firsterr), "%s", diag->error);
    }
    *n_reports = n;
    if (n > 0) {
        if (first != RUAD_OK) {
            char tmp[sizeof(firsterr) + 8];

            snprintf(tmp, sizeof(tmp), "error: %s", firsterr);
            report_diag_warn(diag, "%s", tmp);
        }
        diag->error[0] = '\0';
        return RUAD_OK;
    }
    if (first == RUAD_OK)
        first = report_diag_fail(diag, RUAD_MALFORMED, "no report found");
    snprintf(diag->error, sizeof(diag->error), "%s", firsterr[0] ? firsterr :
        diag->error);
    return first;
}

/* parse_owned - parse_all over d (NULL: out of memory), then free it */
static enum ruad_rc
parse_owned(struct decompress *d, const struct report_limits *lim,
    const struct report_sink *sink, struct report_diag *diag,
    unsigned *n_reports)
{
    enum ruad_rc rc;

    if (d == NULL)
        return report_diag_fail(diag, RUAD_NOMEM, "out of memory");
    rc = parse_all(d, lim, sink, diag, n_reports);
    decompress_free(d);
    return rc;
}

enum ruad_rc
report_parse_fd(int fd, const struct report_limits *lim,
    const struct report_sink *sink, struct report_diag *diag,
    unsigned *n_reports)
{
    *n_reports = 0;
    return parse_owned(decompress_new_fd(fd, lim, diag), lim, sink, diag,
        n_reports);
}

enum ruad_rc
report_parse_mem(const void *data, size_t len,
    const struct report_limits *lim, const struct report_sink *sink,
    struct report_diag *diag, unsigned *n_reports)
{
    *n_reports = 0;
    return parse_owned(decompress_new_mem(data, len, lim, diag), lim, sink,
        diag, n_reports);
}

enum ruad_rc
report_sniff_tlsrpt(const void *data, size_t len,
    const struct report_limits *lim, char *why, size_t whylen)
{
    struct report_diag diag;
    struct decompress *d;
    const char        *name;
    char               head[PARSE_HEAD_MAX];
    size_t             n = 0, got;
    enum ruad_rc       rc;

    report_diag_init(&diag);
    if ((d = decompress_new_mem(data, len, lim, &diag)) == NULL) {
        snprintf(why, whylen, "out of memory");
        return RUAD_NOMEM;
    }
    rc = decompress_next(d, &name);
    while (rc == RUAD_OK && n < sizeof(head) && (rc = decompress_read(d,
        head + n, sizeof(head) - n, &got)) == RUAD_OK && got > 0)
        n += got;
    if (rc == RUAD_OK) {
        switch (parse_sniff(head, n)) {
        case KIND_JSON:
            break;
        case KIND_EMPTY:
            if (n < sizeof(head)) {     /* else: only blanks so far */
                rc = RUAD_MALFORMED;
                snprintf(why, whylen, "no report in the %s data",
                    decompress_format(d));
            }
            break;
        case KIND_XML:
            rc = RUAD_UNSUPPORTED;
            snprintf(why, whylen, "%s XML data (a DMARC report?), not a TLS "
                "report: this path takes TLS reports only (RFC 8460 3)",
                decompress_format(d));
            break;
        default:
            rc = RUAD_UNSUPPORTED;
            snprintf(why, whylen, "%s data that is not JSON, not a TLS "
                "report (RFC 8460 3)", decompress_format(d));
            break;
        }
    } else if (rc != RUAD_NOMEM) {
        snprintf(why, whylen, "%s", rc == RUAD_EOF ? "no report in the data"
            : diag.error[0] ? diag.error : ruad_rc_str(rc));
        rc = RUAD_MALFORMED;
    } else {
        snprintf(why, whylen, "out of memory");
    }
    decompress_free(d);
    report_diag_free(&diag);
    return rc;
}

bool
report_is_raw(const char *p, size_t n)
{
    size_t i = 0;

    if (n >= 2 && (unsigned char)p[0] == 0x1f && (unsigned char)p[1] == 0x8b)
        return true;                               /* gzip */
    if (n >= 4 && memcmp(p, "PK\x03\x04", 4) == 0)
        return true;                               /* zip */
    if (n >= 2 && (((unsigned char)p[0] == 0xff &&
        (unsigned char)p[1] == 0xfe) || ((unsigned char)p[0] == 0xfe &&
        (unsigned char)p[1] == 0xff)))
        return true;                               /* UTF-16 XML */
    if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
        p[i] == '\n'))
        i++;
    return i < n && (p[i] == '<' || p[i] == '{');
}

bool
report_looks_like_mail(const char *p, size_t n)
{
    size_t i;

    if (n >= 5 && memcmp(p, "From ", 5) == 0)
        return true;
    /* field-name = 1*(%d33-57 / %d59-126), then ":" (RFC 5322 3.6.8) */
    for (i = 0; i < n && i < 200; i++) {
        unsigned char c = (unsigned char)p[i];

        if (c == ':')
            return i > 0;
        if (c < 33 || c > 126)
            return false;
    }
    return false;
}

/* What report_parse_mail gathers over the parts. */
struct mail_ctx {
    const struct report_limits *lim;
    const struct report_sink   *sink;
    struct report_diag         *diag;
    unsigned                    n;
    enum ruad_rc                first;
    char                        first_err[sizeof(((struct report_diag *)0)
        ->error)];
};

static enum ruad_rc
mail_part(void *ctx, const char *data, size_t len, const char *ctype,
    const char *filename)
{
    struct mail_ctx   *m = ctx;
    struct report_diag d;
    unsigned           n = 0;
    enum ruad_rc       rc;
    size_t             i;

    (void)ctype;
    report_diag_init(&d);
    if (filename != NULL)
        snprintf(d.prefix, sizeof(d.prefix), "part %.96s: ", filename);
    rc = report_parse_mem(data, len, m->lim, m->sink, &d, &n);
    m->n += n;
    for (i = 0; i < d.n_warnings; i++)
        report_diag_warn(m->diag, "%s", d.warnings[i]);
    if (rc != RUAD_OK && m->first == RUAD_OK) {
        m->first = rc;
        snprintf(m->first_err, sizeof(m->first_err), "%s", d.error);
    } else if (rc != RUAD_OK) {
        report_diag_warn(m->diag, "error: %s", d.error);
    }
    report_diag_free(&d);
    return rc == RUAD_NOMEM || rc == RUAD_IO || rc == RUAD_TEMPFAIL ? rc :
        RUAD_OK;
}

enum ruad_rc
report_parse_mail(const char *msg, size_t len,
    const struct report_limits *lim, const struct report_sink *sink,
    struct report_diag *diag, unsigned *n_reports)
{
    struct mail_ctx  m;
    struct mime_info info;
    enum ruad_rc     rc;

    memset(&m, 0, sizeof(m));
    m.lim = lim;
    m.sink = sink;
    m.diag = diag;
    rc = mime_walk(msg, len, lim, mail_part, &m, diag, &info);
    mime_info_clear(&info);
    *n_reports = m.n;
    if (m.n > 0) {
        if (m.first != RUAD_OK)
            report_diag_warn(diag, "error: %s", m.first_err);
        diag->error[0] = '\0';
        return RUAD_OK;
    }
    if (rc == RUAD_OK && m.first != RUAD_OK) {
        snprintf(diag->error, sizeof(diag->error), "%s", m.first_err);
        return m.first;
    }
    return rc != RUAD_OK ? rc : report_diag_fail(diag, RUAD_MALFORMED,
        "no report found");
}
