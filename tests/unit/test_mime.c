/*
 * test_mime.c - unit tests for mime_walk(): finding report parts in mail.
 *
 * Every message is written here, shaped like the mail real reporters send
 * (single-part gzip, multipart with text and zip, octet-stream with a
 * report name, RFC 2231 and RFC 2047 names, TLS reports, forwarded
 * reports, ARF/failure reports, bodies without reports).  Each table case
 * runs twice, with LF and with CRLF line ends, and must give the same
 * result.  The limits are tested at their cap and one step past it.
 *
 * The payloads are a small DMARC XML document and a TLS report, gzip'd
 * (mtime 0) or zipped, in base64; gzip payloads are gunzipped again here
 * to check the decoded bytes.
 *
 * SECURITY: the hostile cases (junk, empty input, deep nesting, many
 * parts, huge header blocks) must end in RUAD_MALFORMED or RUAD_LIMIT
 * without handing anything on.  Run under -DRUAD_SANITIZE=ON with
 * detect_leaks=1; main() makes sure G_SLICE=always-malloc is set when
 * GLib starts, so LeakSanitizer sees every GObject GMime allocates.
 */
#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "mime.h"
#include "report.h"

/* ---- payloads ---- */

#define XML_DOC \
    "<?xml version=\"1.0\"?>\n<feedback><report_metadata><org_name>" \
    "Example Mail</org_name><report_id>r-1</report_id></report_metadata>" \
    "</feedback>\n"

#define JSON_DOC \
    "{\"organization-name\":\"Example Mail\",\"report-id\":\"t-1\"," \
    "\"policies\":[]}\n"

/* gzip of XML_DOC, base64 */
#define B64_GZ_XML \
    "H4sIAAAAAAAC/7Oxr8jNUShLLSrOzM+zVTLUM1Cyt+OySUtNTUlKTM62sylKLcgvKonP" \
    "TS1JTEks\n" \
    "SbSzyS9Kj89LzE21c61IzC3ISVXwTczMsdGHC8N0ZKbYFeka2ugjuHA2wjB9uEVcAOa8" \
    "H2OKAAAA\n"
#define GZ_XML_LEN 114

/* zip holding report.xml = XML_DOC, base64 */
#define B64_ZIP_XML \
    "UEsDBBQAAAAIAAAAIVjmvB9jYAAAAIoAAAAKAAAAcmVwb3J0LnhtbLOxr8jNUShLLSrO" \
    "zM+zVTLU\n" \
    "M1Cyt+OySUtNTUlKTM62sylKLcgvKonPTS1JTEksSbSzyS9Kj89LzE21c61IzC3ISVXw" \
    "TczMsdGH\n" \
    "C8N0ZKbYFeka2ugjuHA2wjB9uEVcAFBLAQIUAxQAAAAIAAAAIVjmvB9jYAAAAIoAAAAK" \
    "AAAAAAAA\n" \
    "AAAAAACAAQAAAAByZXBvcnQueG1sUEsFBgAAAAABAAEAOAAAAIgAAAAAAA==\n"
#define ZIP_XML_LEN 214

/* gzip of JSON_DOC, base64 */
#define B64_GZ_JSON \
    "H4sIAAAAAAAC/6tWyi9KT8zLrEosyczP081LzE1VslJyrUjMLchJVfBNzMxR0lEqSi3I" \
    "LyrRzUwB\n" \
    "SpXoGgJFCvJzMpMzU4uVrKJja7kAWQzE5kUAAAA=\n"

/* quoted-printable of XML_DOC */
#define QP_XML \
    "<?xml version=3D\"1.0\"?>\n<feedback><report_metadata><org_name>" \
    "Example Mail</org_name><report_id>r-1<=\n/report_id>" \
    "</report_metadata></feedback>\n"

#define GOOGLE_NAME "reporter.example!receiver.example!1704067200!1704153599"

/* ---- messages ---- */

#define HDR \
    "From: DMARC Reporter <noreply-dmarc@reporter.example>\n" \
    "To: dmarc@receiver.example\n" \
    "Subject: Report Domain: receiver.example Submitter: reporter.example\n" \
    "Message-ID: <r-1@reporter.example>\n" \
    "Date: Mon, 01 Jan 2024 00:00:00 +0000\n" \
    "MIME-Version: 1.0\n"

/* a gzip'd report as a part of a multipart (boundary line included) */
#define GZ_PART(b, fname) \
    "--" b "\n" \
    "Content-Type: application/gzip\n" \
    "Content-Transfer-Encoding: base64\n" \
    "Content-Disposition: attachment; filename=\"" fname "\"\n" \
    "\n" B64_GZ_XML

#define TEXT_PART(b, text) \
    "--" b "\n" \
    "Content-Type: text/plain; charset=us-ascii\n" \
    "\n" text "\n"

static const char msg_single_gzip[] =
    HDR
    "Content-Type: application/gzip\n"
    "Content-Transfer-Encoding: base64\n"
    "Content-Disposition: attachment;\n"
    " filename=\"" GOOGLE_NAME ".xml.gz\"\n"
    "\n" B64_GZ_XML;

static const char msg_text_zip[] =
    HDR
    "Content-Type: multipart/mixed; boundary=\"=_b1\"\n"
    "\n"
    "This is a multi-part message in MIME format.\n"
    TEXT_PART("=_b1", "This is an aggregate report from reporter.example.")
    "--=_b1\n"
    "Content-Type: application/zip; name=\"short.zip\"\n"
    "Content-Transfer-Encoding: base64\n"
    "Content-Disposition: attachment; filename=\"" GOOGLE_NAME ".zip\"\n"
    "\n" B64_ZIP_XML
    "--=_b1--\n";

static const char msg_octet_named[] =
    HDR
    "Content-Type: multipart/mixed; boundary=b1\n"
    "\n"
    "--b1\n"
    "Content-Type: application/octet-stream; name=\"invoice.pdf\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n" "JVBERi0xLjQK\n"
    "--b1\n"
    "Content-Type: application/octet-stream; name=\"report.xml.gz\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n" B64_GZ_XML
    "--b1\n"
    "Content-Type: application/octet-stream\n"
    "Content-Transfer-Encoding: base64\n"
    "\n" "AAECAw==\n"
    "--b1--\n";

static const char msg_rfc2231[] =
    HDR
    "Content-Type: multipart/mixed; boundary=b1\n"
    "\n"
    "--b1\n"
    "Content-Type: application/gzip\n"
    "Content-Transfer-Encoding: base64\n"
    "Content-Disposition: attachment;\n"
    " filename*=UTF-8''r%C3%A9port%20%C3%A9t%C3%A9.xml.gz\n"
    "\n" B64_GZ_XML
    "--b1\n"
    "Content-Type: application/octet-stream\n"
    "Content-Transfer-Encoding: base64\n"
    "Content-Disposition: attachment;\n"
    " filename*0*=UTF-8''%C3%A9t%C3%A9;\n"
    " filename*1=\"-2.xml.gz\"\n"
    "\n" B64_GZ_XML
    "--b1--\n";

static const char msg_rfc2047[] =
    "From: =?ISO-8859-1?Q?J=F6rg_Reporter?= <dmarc@reporter.example>\n"
    "Subject: =?UTF-8?B?UmFwcG9ydCDDqXTDqQ==?= for\n"
    " receiver.example\n"
    "Message-ID:   <id-2047@reporter.example>  \n"
    "Content-Type: application/octet-stream;\n"
    " name=\"=?UTF-8?Q?r=C3=A9sum=C3=A9.xml.gz?=\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n" B64_GZ_XML;

static const char msg_tlsrpt[] =
    "From: noreply-smtp-tls-reporting@reporter.example\n"
    "Subject: Report Domain: receiver.example Submitter: reporter.example\n"
    " Report-ID: <2024.01.01T00.00.00Z+receiver.example@reporter.example>\n"
    "TLS-Report-Domain: receiver.example\n"
    "TLS-Report-Submitter: reporter.example\n"
    "Message-ID: <tls-1@reporter.example>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=\"tlsrpt\";\n"
    "    boundary=\"tls_b\"\n"
    "\n"
    TEXT_PART("tls_b", "This is an aggregate TLS report from reporter.example")
    "--tls_b\n"
    "Content-Type: application/tlsrpt+gzip\n"
    "Content-Transfer-Encoding: base64\n"
    "Content-Disposition: attachment;\n"
    "    filename=\"reporter.example!receiver.example!1704067200!"
    "1704153599!001.json.gz\"\n"
    "\n" B64_GZ_JSON
    "--tls_b--\n";

static const char msg_forwarded[] =
    "From: postmaster@receiver.example\n"
    "Subject: Fwd: Report Domain: receiver.example\n"
    "Message-ID: <fwd-1@receiver.example>\n"
    "Content-Type: multipart/mixed; boundary=outer\n"
    "\n"
    TEXT_PART("outer", "Forwarded report below.")
    "--outer\n"
    "Content-Type: message/rfc822\n"
    "Content-Disposition: attachment\n"
    "\n"
    HDR
    "Content-Type: multipart/mixed; boundary=inner\n"
    "\n"
    TEXT_PART("inner", "Aggregate report.")
    GZ_PART("inner", GOOGLE_NAME ".xml.gz")
    "--inner--\n"
    "\n"
    "--outer--\n";

/* an ARF failure report quoting a message that carries a report */
static const char msg_arf[] =
    "From: dmarc-failure@reporter.example\n"
    "Subject: DMARC Failure Report for receiver.example\n"
    "Message-ID: <ruf-1@reporter.example>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=feedback-report;\n"
    "    boundary=\"arf\"\n"
    "\n"
    TEXT_PART("arf", "This is an authentication failure report.")
    "--arf\n"
    "Content-Type: message/feedback-report\n"
    "\n"
    "Feedback-Type: auth-failure\n"
    "Version: 1\n"
    "Auth-Failure: dmarc\n"
    "\n"
    "--arf\n"
    "Content-Type: message/rfc822\n"
    "\n"
    HDR
    "Content-Type: application/gzip\n"
    "Content-Transfer-Encoding: base64\n"
    "\n" B64_GZ_XML
    "\n"
    "--arf--\n";

/* a message/feedback-report part without report-type on the multipart */
static const char msg_feedback_part[] =
    HDR
    "Content-Type: multipart/mixed; boundary=fb\n"
    "\n"
    GZ_PART("fb", "report.xml.gz")
    "--fb\n"
    "Content-Type: message/feedback-report\n"
    "\n"
    "Feedback-Type: abuse\n"
    "Version: 1\n"
    "\n"
    "--fb--\n";

static const char msg_plain[] =
    HDR
    "Content-Type: text/plain; charset=us-ascii\n"
    "\n"
    "Hello, no report here.\n";

static const char msg_alternative[] =
    HDR
    "Content-Type: multipart/alternative; boundary=alt\n"
    "\n"
    TEXT_PART("alt", "Hello.")
    "--alt\n"
    "Content-Type: text/html; charset=us-ascii\n"
    "\n"
    "<p>Hello.</p>\n"
    "--alt--\n";

/* a DSN-style multipart/report without report-type, text only */
static const char msg_report_text_only[] =
    HDR
    "Content-Type: multipart/report; boundary=r\n"
    "\n"
    TEXT_PART("r", "A message claiming to be from you failed DMARC.")
    "--r\n"
    "Content-Type: text/rfc822-headers\n"
    "\n"
    "From: someone@receiver.example\n"
    "Subject: hi\n"
    "\n"
    "--r--\n";

static const char msg_qp_xml[] =
    HDR
    "Content-Type: text/xml; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n" QP_XML;

static const char msg_json_body[] =
    HDR
    "Content-Type: application/tlsrpt+json\n"
    "\n" JSON_DOC;

static const char msg_other_named[] =
    HDR
    "Content-Type: multipart/mixed; boundary=o\n"
    "\n"
    TEXT_PART("o", "See attachment.")
    "--o\n"
    "Content-Type: application/x-gzip-compressed; name=\"report.xml.gz\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n" B64_GZ_XML
    "--o--\n";

static const char msg_ctype_case[] =
    HDR
    "Content-Type: Application/X-GZIP\n"
    "Content-Transfer-Encoding: BASE64\n"
    "\n" B64_GZ_XML;

static const char msg_empty_part[] =
    HDR
    "Content-Type: application/gzip; name=\"report.xml.gz\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n";

static const char msg_empty_and_good[] =
    HDR
    "Content-Type: multipart/mixed; boundary=e\n"
    "\n"
    "--e\n"
    "Content-Type: application/gzip; name=\"empty.xml.gz\"\n"
    "\n"
    "--e\n"
    "Content-Type: application/gzip; name=\"good.xml.gz\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n" B64_GZ_XML
    "--e--\n";

static const char msg_mbox_from[] =
    "From noreply-dmarc@reporter.example Mon Jan  1 00:00:00 2024\n"
    HDR
    "Content-Type: application/gzip\n"
    "Content-Transfer-Encoding: base64\n"
    "\n" B64_GZ_XML;

static const char msg_headers_only[] =
    "Subject: nothing else\n";

static const char msg_two_reports[] =
    HDR
    "Content-Type: multipart/mixed; boundary=two\n"
    "\n"
    GZ_PART("two", "a.xml.gz")
    GZ_PART("two", "b.xml.gz")
    "--two--\n";

/* ---- the table ---- */

struct want_part {
    const char *ctype;
    const char *name;      /* NULL: no file name */
    const char *gunzip;    /* the bytes gunzip to this, or NULL */
    const char *text;      /* the bytes are this (CRLF read as LF), or NULL */
    const char *prefix;    /* the bytes start with this, or NULL */
    size_t      len;       /* byte count when not 0 */
};

struct mime_case {
    const char      *name;
    const char      *msg;
    enum ruad_rc     want;
    const char      *err;      /* in diag.error ("" = must be empty) */
    const char      *warn;     /* in some warning, or NULL */
    bool             feedback;
    unsigned         n_parts;  /* info.n_parts */
    unsigned         n_reports;
    struct want_part parts[3];
    const char      *subject;  /* info fields to check, NULL = skip */
    const char      *from;
    const char      *msgid;
    const char      *tls_domain;
    const char      *tls_submitter;
};

static const struct mime_case cases[] = {
    { "single-part base64 gzip", msg_single_gzip, RUAD_OK, "", NULL,
      false, 1, 1,
      { { "application/gzip", GOOGLE_NAME ".xml.gz", XML_DOC, NULL, NULL,
          GZ_XML_LEN } },
      "Report Domain: receiver.example Submitter: reporter.example",
      "DMARC Reporter <noreply-dmarc@reporter.example>",
      "r-1@reporter.example", NULL, NULL },
    { "multipart text + zip", msg_text_zip, RUAD_OK, "", NULL, false, 3, 1,
      { { "application/zip", GOOGLE_NAME ".zip", NULL, NULL, "PK\003\004",
          ZIP_XML_LEN } },
      NULL, NULL, NULL, NULL, NULL },
    { "octet-stream named report.xml.gz", msg_octet_named, RUAD_OK, "",
      NULL, false, 4, 1,
      { { "application/octet-stream", "report.xml.gz", XML_DOC, NULL, NULL,
          0 } },
      NULL, NULL, NULL, NULL, NULL },
    { "RFC 2231 file names", msg_rfc2231, RUAD_OK, "", NULL, false, 3, 2,
      { { "application/gzip", "r\xc3\xa9port \xc3\xa9t\xc3\xa9.xml.gz",
          XML_DOC, NULL, NULL, 0 },
        { "application/octet-stream", "\xc3\xa9t\xc3\xa9-2.xml.gz",
          XML_DOC, NULL, NULL, 0 } },
      NULL, NULL, NULL, NULL, NULL },
    { "RFC 2047 subject, from, name", msg_rfc2047, RUAD_OK, "", NULL,
      false, 1, 1,
      { { "application/octet-stream", "r\xc3\xa9sum\xc3\xa9.xml.gz",
          XML_DOC, NULL, NULL, 0 } },
      "Rapport \xc3\xa9t\xc3\xa9 for receiver.example",
      "J\xc3\xb6rg Reporter <dmarc@reporter.example>",
      "id-2047@reporter.example", NULL, NULL },
    { "TLS report", msg_tlsrpt, RUAD_OK, "", NULL, false, 3, 1,
      { { "application/tlsrpt+gzip", "reporter.example!receiver.example!"
          "1704067200!1704153599!001.json.gz", JSON_DOC, NULL, NULL, 0 } },
      "Report Domain: receiver.example Submitter: reporter.example "
      "Report-ID: <2024.01.01T00.00.00Z+receiver.example@reporter.example>",
      "noreply-smtp-tls-reporting@reporter.example",
      "tls-1@reporter.example", "receiver.example", "reporter.example" },
    { "report inside message/rfc822", msg_forwarded, RUAD_OK, "", NULL,
      false, 6, 1,
      { { "application/gzip", GOOGLE_NAME ".xml.gz", XML_DOC, NULL, NULL,
          0 } },
      "Fwd: Report Domain: receiver.example", NULL,
      "fwd-1@receiver.example", NULL, NULL },
    { "ARF failure report", msg_arf, RUAD_UNSUPPORTED,
      "not a report: DMARC failure/ARF report", NULL, true, 1, 0, { { 0 } },
      "DMARC Failure Report for receiver.example", NULL, NULL, NULL, NULL },
    { "message/feedback-report part", msg_feedback_part, RUAD_UNSUPPORTED,
      "not a report: DMARC failure/ARF report", NULL, true, 3, 0, { { 0 } },
      NULL, NULL, NULL, NULL, NULL },
    { "plain text only", msg_plain, RUAD_UNSUPPORTED,
      "not a report: no report attachment", NULL, false, 1, 0, { { 0 } },
      NULL, NULL, NULL, NULL, NULL },
    { "text and html only", msg_alternative, RUAD_UNSUPPORTED,
      "not a report: no report attachment", NULL, false, 3, 0, { { 0 } },
      NULL, NULL, NULL, NULL, NULL },
    { "multipart/report without ARF part", msg_report_text_only,
      RUAD_UNSUPPORTED, "not a report: no report attachment", NULL, false,
      3, 0, { { 0 } }, NULL, NULL, NULL, NULL, NULL },
    { "quoted-printable text/xml body", msg_qp_xml, RUAD_OK, "", NULL,
      false, 1, 1, { { "text/xml", NULL, NULL, XML_DOC, NULL, 0 } },
      NULL, NULL, NULL, NULL, NULL },
    { "7bit tlsrpt+json body", msg_json_body, RUAD_OK, "", NULL, false, 1,
      1, { { "application/tlsrpt+json", NULL, NULL, JSON_DOC, NULL, 0 } },
      NULL, NULL, NULL, NULL, NULL },
    { "other type with a report name", msg_other_named, RUAD_OK, "",
      "part 3: application/x-gzip-compressed taken for its file name "
      "\"report.xml.gz\"", false, 3, 1,
      { { "application/x-gzip-compressed", "report.xml.gz", XML_DOC, NULL,
          NULL, 0 } },
      NULL, NULL, NULL, NULL, NULL },
    { "content type in upper case", msg_ctype_case, RUAD_OK, "", NULL,
      false, 1, 1, { { "application/x-gzip", NULL, XML_DOC, NULL, NULL, 0 } },
      NULL, NULL, NULL, NULL, NULL },
    { "empty report part", msg_empty_part, RUAD_MALFORMED,
      "report attachment is empty", "part 1: report part is empty", false,
      1, 0, { { 0 } }, NULL, NULL, NULL, NULL, NULL },
    { "empty part next to a good one", msg_empty_and_good, RUAD_OK, "",
      "part 2: report part is empty", false, 3, 1,
      { { "application/gzip", "good.xml.gz", XML_DOC, NULL, NULL, 0 } },
      NULL, NULL, NULL, NULL, NULL },
    { "mbox From_ line first", msg_mbox_from, RUAD_OK, "", NULL, false, 1,
      1, { { "application/gzip", NULL, XML_DOC, NULL, NULL, 0 } },
      NULL, NULL, "r-1@reporter.example", NULL, NULL },
    { "header fields only", msg_headers_only, RUAD_UNSUPPORTED,
      "not a report: no report attachment", NULL, false, 1, 0, { { 0 } },
      "nothing else", NULL, NULL, NULL, NULL },
    { "two reports", msg_two_reports, RUAD_OK, "", NULL, false, 3, 2,
      { { "application/gzip", "a.xml.gz", XML_DOC, NULL, NULL, 0 },
        { "application/gzip", "b.xml.gz", XML_DOC, NULL, NULL, 0 } },
      NULL, NULL, NULL, NULL, NULL },
};

/* ---- helpers ---- */

#define REC_MAX 8

/* what the callback saw */
struct rec_part {
    char   *ctype;
    char   *name;               /* NULL if none */
    char   *data;
    size_t  len;
};

struct rec {
    unsigned            n;
    struct rec_part     p[REC_MAX];
    unsigned            fail_at;   /* 1-based call that fails, 0 = never */
    enum ruad_rc        fail_rc;
    struct report_diag *diag;      /* set: record fail_msg as the error */
    const char         *fail_msg;
};

/* rec_cb - the mime_part_fn: copy everything, fail when told to */
static enum ruad_rc
rec_cb(void *ctx, const char *data, size_t len, const char *ctype,
    const char *name)
{
    struct rec      *r = ctx;
    struct rec_part *p;

    assert_non_null(data);
    assert_non_null(ctype);
    assert_true(r->n < REC_MAX);
    p = &r->p[r->n++];
    p->ctype = strdup(ctype);
    p->name = name != NULL ? strdup(name) : NULL;
    p->data = malloc(len + 1);
    assert_non_null(p->data);
    memcpy(p->data, data, len);
    p->data[len] = '\0';
    p->len = len;
    if (r->fail_at == r->n) {
        if (r->diag != NULL)
            report_diag_fail(r->diag, r->fail_rc, "%s", r->fail_msg);
        return r->fail_rc;
    }
    return RUAD_OK;
}

/* rec_free - free what rec_cb copied */
static void
rec_free(struct rec *r)
{
    unsigned i;

    for (i = 0; i < r->n; i++) {
        free(r->p[i].ctype);
        free(r->p[i].name);
        free(r->p[i].data);
    }
    memset(r, 0, sizeof(*r));
}

/* to_crlf - copy of the NUL-terminated s with every LF made CRLF */
static char *
to_crlf(const char *s, size_t *outlen)
{
    size_t i, j, n = strlen(s), nl = 0;
    char  *out;

    for (i = 0; i < n; i++)
        nl += s[i] == '\n';
    out = malloc(n + nl + 1);
    assert_non_null(out);
    for (i = j = 0; i < n; i++) {
        if (s[i] == '\n')
            out[j++] = '\r';
        out[j++] = s[i];
    }
    out[j] = '\0';
    *outlen = j;
    return out;
}

/* lf_only - drop every CR that comes before an LF, in place */
static size_t
lf_only(char *s, size_t n)
{
    size_t i, j;

    for (i = j = 0; i < n; i++)
        if (!(s[i] == '\r' && i + 1 < n && s[i + 1] == '\n'))
            s[j++] = s[i];
    s[j] = '\0';
    return j;
}

/* gunzip - inflate one gzip member; malloc'd, NUL-terminated, or NULL */
static char *
gunzip(const char *p, size_t n)
{
    z_stream zs;
    size_t   cap = 4096;
    char    *out = malloc(cap);
    int      zrc;

    if (out == NULL)
        return NULL;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 15 + 16) != Z_OK) {
        free(out);
        return NULL;
    }
    zs.next_in = (unsigned char *)(uintptr_t)p;
    zs.avail_in = (uInt)n;
    zs.next_out = (unsigned char *)out;
    zs.avail_out = (uInt)(cap - 1);
    zrc = inflate(&zs, Z_FINISH);
    inflateEnd(&zs);
    if (zrc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    out[zs.total_out] = '\0';
    return out;
}

/* has_warning - does some warning contain sub? */
static bool
has_warning(const struct report_diag *d, const char *sub)
{
    size_t i;

    for (i = 0; i < d->n_warnings; i++)
        if (strstr(d->warnings[i], sub) != NULL)
            return true;
    return false;
}

/* walk - mime_walk with a fresh diag and info */
static enum ruad_rc
walk(const char *msg, size_t len, const struct report_limits *lim,
    struct rec *r, struct report_diag *d, struct mime_info *info)
{
    report_diag_init(d);
    return mime_walk(msg, len, lim, rec_cb, r, d, info);
}

/* check_str - want NULL means "not checked" */
static void
check_str(const char *what, const char *got, const char *want)
{
    if (want == NULL)
        return;
    if (got == NULL || strcmp(got, want) != 0)
        print_error("%s: want \"%s\", got \"%s\"\n", what, want,
            got != NULL ? got : "(null)");
    assert_non_null(got);
    assert_string_equal(got, want);
}

/* check_part - one handed-on part against its expectation */
static void
check_part(struct rec_part *got, const struct want_part *w)
{
    char *plain;

    assert_string_equal(got->ctype, w->ctype);
    if (w->name == NULL)
        assert_null(got->name);
    else
        check_str("file name", got->name, w->name);
    if (w->len != 0)
        assert_int_equal(got->len, w->len);
    if (w->gunzip != NULL) {
        plain = gunzip(got->data, got->len);
        assert_non_null(plain);
        assert_string_equal(plain, w->gunzip);
        free(plain);
    }
    if (w->text != NULL) {
        got->len = lf_only(got->data, got->len);
        assert_int_equal(got->len, strlen(w->text));
        assert_memory_equal(got->data, w->text, got->len);
    }
    if (w->prefix != NULL)
        assert_memory_equal(got->data, w->prefix, strlen(w->prefix));
}

/* run_case - one table case with LF or CRLF line ends */
static void
run_case(const struct mime_case *tc, bool crlf)
{
    struct report_limits lim;
    struct report_diag   d;
    struct mime_info     info;
    struct rec           r;
    enum ruad_rc         rc;
    char                *msg;
    size_t               len, i;

    report_limits_default(&lim);
    memset(&r, 0, sizeof(r));
    if (crlf) {
        msg = to_crlf(tc->msg, &len);
    } else {
        msg = strdup(tc->msg);
        len = strlen(msg);
    }
    rc = walk(msg, len, &lim, &r, &d, &info);
    if (rc != tc->want || strstr(d.error, tc->err) == NULL ||
        (tc->err[0] == '\0' && d.error[0] != '\0'))
        print_error("%s (%s): want %s \"%s\", got %s \"%s\"\n", tc->name,
            crlf ? "CRLF" : "LF", ruad_rc_str(tc->want), tc->err,
            ruad_rc_str(rc), d.error);
    assert_int_equal(rc, tc->want);
    assert_non_null(strstr(d.error, tc->err));
    if (tc->err[0] == '\0')
        assert_string_equal(d.error, "");
    if (tc->warn != NULL && !has_warning(&d, tc->warn))
        print_error("%s: no warning \"%s\"\n", tc->name, tc->warn);
    if (tc->warn != NULL)
        assert_true(has_warning(&d, tc->warn));
    assert_int_equal(info.is_feedback, tc->feedback);
    assert_int_equal(info.n_parts, tc->n_parts);
    assert_int_equal(info.n_reports, tc->n_reports);
    assert_int_equal(r.n, tc->n_reports);
    for (i = 0; i < r.n && i < 3; i++)
        check_part(&r.p[i], &tc->parts[i]);
    check_str("subject", info.subject, tc->subject);
    check_str("from", info.from, tc->from);
    check_str("message-id", info.message_id, tc->msgid);
    check_str("TLS-Report-Domain", info.report_domain, tc->tls_domain);
    check_str("TLS-Report-Submitter", info.report_submitter,
        tc->tls_submitter);
    mime_info_clear(&info);
    report_diag_free(&d);
    rec_free(&r);
    free(msg);
}

/* ---- tests ---- */

/* test_table - every table case, LF then CRLF */
static void
test_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_case(&cases[i], false);
        run_case(&cases[i], true);
    }
}

/* test_info_absent - missing headers give NULL, not ""; no CR kept */
static void
test_info_absent(void **state)
{
    static const char msg[] =
        "Subject:   \n"
        "Content-Type: application/gzip\n"
        "Content-Transfer-Encoding: base64\n"
        "\n" B64_GZ_XML;
    static const char msg2[] = "Subject: one \rtwo\n\nbody\n";
    struct report_limits lim;
    struct report_diag   d;
    struct mime_info     info;
    struct rec           r;

    (void)state;
    report_limits_default(&lim);
    memset(&r, 0, sizeof(r));
    assert_int_equal(walk(msg, strlen(msg), &lim, &r, &d, &info), RUAD_OK);
    assert_null(info.from);
    assert_null(info.subject);
    assert_null(info.message_id);
    assert_null(info.report_domain);
    assert_null(info.report_submitter);
    mime_info_clear(&info);
    mime_info_clear(&info);            /* twice is fine */
    mime_info_clear(NULL);
    report_diag_free(&d);
    rec_free(&r);
    /* a bare CR inside a value never reaches the caller */
    assert_int_equal(walk(msg2, strlen(msg2), &lim, &r, &d, &info),
        RUAD_UNSUPPORTED);
    assert_string_equal(info.subject, "one two");
    mime_info_clear(&info);
    report_diag_free(&d);
}

/* test_info_null - info may be NULL */
static void
test_info_null(void **state)
{
    struct report_limits lim;
    struct report_diag   d;
    struct rec           r;

    (void)state;
    report_limits_default(&lim);
    memset(&r, 0, sizeof(r));
    assert_int_equal(walk(msg_text_zip, strlen(msg_text_zip), &lim, &r, &d,
        NULL), RUAD_OK);
    assert_int_equal(r.n, 1);
    report_diag_free(&d);
    rec_free(&r);
    assert_int_equal(walk(msg_arf, strlen(msg_arf), &lim, &r, &d, NULL),
        RUAD_UNSUPPORTED);
    report_diag_free(&d);
}

/*
 * test_not_a_message - empty input, junk and text without a header block
 * are RUAD_MALFORMED; junk that GMime reads as one well-formed header
 * field is a message without report parts.
 */
static void
test_not_a_message(void **state)
{
    static const struct {
        const char  *name;
        const char  *msg;
        size_t       len;
        enum ruad_rc want;
        const char  *err;
    } t[] = {
        { "empty", "", 0, RUAD_MALFORMED, "not a message: empty input" },
        { "one NUL", "\0", 1, RUAD_MALFORMED, "not a message" },
        { "text", "hello world\nthis is no mail\n", 28, RUAD_MALFORMED,
          "not a message: no header fields" },
        { "blank line first", "\nbody\n", 6, RUAD_MALFORMED,
          "not a message: no header fields" },
        { "8-bit field name", "\x8b\x1f\x08:\x00\x01\x02\n\n\xff\xfe", 11,
          RUAD_MALFORMED, "not a message: no header fields" },
        { "binary", "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\x00\n",
          13, RUAD_MALFORMED, "not a message" },
        { "field, then junk", "X-Junk: \x01\x02\x03\n\n\xff\xfe\x00\x01",
          16, RUAD_UNSUPPORTED, "not a report: no report attachment" },
    };
    struct report_limits lim;
    struct report_diag   d;
    struct mime_info     info;
    struct rec           r;
    enum ruad_rc         rc;
    size_t               i;

    (void)state;
    report_limits_default(&lim);
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        memset(&r, 0, sizeof(r));
        rc = walk(t[i].msg, t[i].len, &lim, &r, &d, &info);
        if (rc != t[i].want || strstr(d.error, t[i].err) == NULL)
            print_error("%s: want %s \"%s\", got %s \"%s\"\n", t[i].name,
                ruad_rc_str(t[i].want), t[i].err, ruad_rc_str(rc), d.error);
        assert_int_equal(rc, t[i].want);
        assert_non_null(strstr(d.error, t[i].err));
        assert_int_equal(r.n, 0);
        assert_int_equal(info.n_reports, 0);
        mime_info_clear(&info);
        report_diag_free(&d);
    }
}

/* test_bad_args - NULL limits, callback or diag are a caller bug */
static void
test_bad_args(void **state)
{
    struct report_limits lim;
    struct report_diag   d;
    struct mime_info     info;
    struct rec           r;

    (void)state;
    report_limits_default(&lim);
    memset(&r, 0, sizeof(r));
    report_diag_init(&d);
    assert_int_equal(mime_walk(msg_plain, strlen(msg_plain), NULL, rec_cb,
        &r, &d, &info), RUAD_INTERNAL);
    assert_int_equal(mime_walk(msg_plain, strlen(msg_plain), &lim, NULL,
        &r, &d, &info), RUAD_INTERNAL);
    assert_int_equal(mime_walk(NULL, 10, &lim, rec_cb, &r, &d, &info),
        RUAD_INTERNAL);
    assert_int_equal(mime_walk(msg_plain, strlen(msg_plain), &lim, rec_cb,
        &r, NULL, &info), RUAD_INTERNAL);
    assert_non_null(strstr(d.error, "bad arguments"));
    report_diag_free(&d);
}

/*
 * test_callback_rc - the first non-OK return of the callback ends the
 * walk and is returned; the callback's own error text wins, else the
 * part is named.
 */
static void
test_callback_rc(void **state)
{
    static const struct {
        unsigned     fail_at;
        enum ruad_rc rc;
        bool         own_msg;
        unsigned     calls;
        const char  *err;
    } t[] = {
        { 1, RUAD_TEMPFAIL, false, 1, "part 2: tempfail" },
        { 2, RUAD_MALFORMED, true, 2, "callback says no" },
        { 2, RUAD_LIMIT, false, 2, "part 3: limit" },
        { 1, RUAD_UNSUPPORTED, true, 1, "callback says no" },
        { 0, RUAD_OK, false, 2, "" },
    };
    struct report_limits lim;
    struct report_diag   d;
    struct mime_info     info;
    struct rec           r;
    enum ruad_rc         rc;
    size_t               i;

    (void)state;
    report_limits_default(&lim);
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        memset(&r, 0, sizeof(r));
        r.fail_at = t[i].fail_at;
        r.fail_rc = t[i].rc;
        r.diag = t[i].own_msg ? &d : NULL;
        r.fail_msg = "callback says no";
        rc = walk(msg_two_reports, strlen(msg_two_reports), &lim, &r, &d,
            &info);
        assert_int_equal(rc, t[i].rc);
        assert_int_equal(r.n, t[i].calls);
        assert_int_equal(info.n_reports, t[i].calls);
        if (t[i].err[0] == '\0')
            assert_string_equal(d.error, "");
        else
            assert_string_equal(d.error, t[i].err);
        mime_info_clear(&info);
        report_diag_free(&d);
        rec_free(&r);
    }
}

/* append - grow a malloc'd string (tests only; aborts the test on ENOMEM) */
static void
append(char **s, size_t *len, const char *add)
{
    size_t n = strlen(add);
    char  *p = realloc(*s, *len + n + 1);

    assert_non_null(p);
    memcpy(p + *len, add, n + 1);
    *s = p;
    *len += n;
}

/*
 * mk_nested - a message whose gzip report sits inside `levels` nested
 * multiparts (so at depth `levels`); rfc822 != 0 makes every other level
 * a message/rfc822 part instead.
 */
static char *
mk_nested(unsigned levels, bool rfc822, size_t *len)
{
    char     *s = NULL, line[128];
    unsigned  i;

    *len = 0;
    append(&s, len, "Subject: nested\n");
    for (i = 0; i < levels; i++) {
        if (rfc822 && i % 2 == 1) {
            append(&s, len, "Content-Type: message/rfc822\n\n");
            append(&s, len, "Subject: inner\n");
            continue;
        }
        snprintf(line, sizeof(line), "Content-Type: multipart/mixed; "
            "boundary=\"b%u\"\n\n--b%u\n", i, i);
        append(&s, len, line);
    }
    append(&s, len, "Content-Type: application/gzip\n"
        "Content-Transfer-Encoding: base64\n\n" B64_GZ_XML);
    for (i = levels; i-- > 0;) {
        if (rfc822 && i % 2 == 1)
            continue;
        snprintf(line, sizeof(line), "--b%u--\n", i);
        append(&s, len, line);
    }
    return s;
}

/* expect_rc - walk msg, want rc and an error containing err */
static void
expect_rc(const char *what, const char *msg, size_t len,
    const struct report_limits *lim, enum ruad_rc want, const char *err,
    unsigned want_reports)
{
    struct report_diag d;
    struct mime_info   info;
    struct rec         r;
    enum ruad_rc       rc;

    memset(&r, 0, sizeof(r));
    rc = walk(msg, len, lim, &r, &d, &info);
    if (rc != want || strstr(d.error, err) == NULL)
        print_error("%s: want %s \"%s\", got %s \"%s\"\n", what,
            ruad_rc_str(want), err, ruad_rc_str(rc), d.error);
    assert_int_equal(rc, want);
    assert_non_null(strstr(d.error, err));
    if (err[0] == '\0')
        assert_string_equal(d.error, "");
    assert_int_equal(r.n, want_reports);
    mime_info_clear(&info);
    report_diag_free(&d);
    rec_free(&r);
}

/* test_depth - nesting at lim->mime_depth_max is fine, one more is not */
static void
test_depth(void **state)
{
    struct report_limits lim;
    unsigned             caps[] = { 8, 3, 0 };
    char                *m;
    size_t               len, i;

    (void)state;
    report_limits_default(&lim);
    assert_int_equal(lim.mime_depth_max, 8);
    for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        lim.mime_depth_max = caps[i];
        m = mk_nested(caps[i], false, &len);
        expect_rc("depth at cap", m, len, &lim, RUAD_OK, "", 1);
        free(m);
        m = mk_nested(caps[i] + 1, false, &len);
        expect_rc("depth past cap", m, len, &lim, RUAD_LIMIT,
            "MIME parts nested deeper than", 0);
        free(m);
    }
    /* message/rfc822 counts as a level too */
    lim.mime_depth_max = 4;
    m = mk_nested(4, true, &len);
    expect_rc("rfc822 depth at cap", m, len, &lim, RUAD_OK, "", 1);
    free(m);
    m = mk_nested(5, true, &len);
    expect_rc("rfc822 depth past cap", m, len, &lim, RUAD_LIMIT,
        "nested deeper than 4", 0);
    free(m);
    /* very deep input: GMime stops at its own cap, ours comes first */
    report_limits_default(&lim);
    lim.mime_parts_max = 1000;      /* let the 6000 "--" lines through */
    m = mk_nested(3000, false, &len);
    expect_rc("3000 levels", m, len, &lim, RUAD_LIMIT,
        "nested deeper than 8", 0);
    free(m);
}

/*
 * mk_parts - a multipart with n_text text/plain children and one gzip
 * report: 2 + n_text MIME parts in all.
 */
static char *
mk_parts(unsigned n_text, bool crlf, size_t *len)
{
    char     *s = NULL, *c;
    unsigned  i;

    *len = 0;
    append(&s, len, "Subject: parts\n"
        "Content-Type: multipart/mixed; boundary=p\n\n");
    for (i = 0; i < n_text; i++)
        append(&s, len, "--p\nContent-Type: text/plain\n\nx\n");
    append(&s, len, GZ_PART("p", "r.xml.gz") "--p--\n");
    if (!crlf)
        return s;
    c = to_crlf(s, len);
    free(s);
    return c;
}

/* test_parts - lim->mime_parts_max parts are fine, one more is not */
static void
test_parts(void **state)
{
    struct report_limits lim;
    struct report_diag   d;
    struct mime_info     info;
    struct rec           r;
    unsigned             caps[] = { 64, 5, 2 };
    char                *m;
    size_t               len, i;
    int                  crlf;

    (void)state;
    report_limits_default(&lim);
    assert_int_equal(lim.mime_parts_max, 64);
    for (crlf = 0; crlf <= 1; crlf++) {
        for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
            lim.mime_parts_max = caps[i];
            m = mk_parts(caps[i] - 2, crlf, &len);
            memset(&r, 0, sizeof(r));
            assert_int_equal(walk(m, len, &lim, &r, &d, &info), RUAD_OK);
            assert_int_equal(info.n_parts, caps[i]);
            assert_int_equal(r.n, 1);
            mime_info_clear(&info);
            report_diag_free(&d);
            rec_free(&r);
            free(m);
            m = mk_parts(caps[i] - 1, crlf, &len);
            expect_rc("parts past cap", m, len, &lim, RUAD_LIMIT,
                "more than", 0);
            free(m);
        }
    }
}

/*
 * test_dash_lines - lines starting with "--" are capped before GMime runs
 * (16 per allowed part), even in a body that turns out to hold nothing.
 */
static void
test_dash_lines(void **state)
{
    struct report_limits lim;
    char                *m = NULL;
    size_t               len = 0, i;

    (void)state;
    report_limits_default(&lim);
    lim.mime_parts_max = 4;                 /* 64 "--" lines */
    append(&m, &len, "Subject: dashes\n\n");
    for (i = 0; i < 64; i++)
        append(&m, &len, "-- \n");
    expect_rc("64 dash lines", m, len, &lim, RUAD_UNSUPPORTED,
        "no report attachment", 0);
    append(&m, &len, "--\n");
    expect_rc("65 dash lines", m, len, &lim, RUAD_LIMIT,
        "more than 64 lines starting with \"--\"", 0);
    free(m);
}

/*
 * mk_top_header - a single-part gzip message whose top-level header block
 * (every byte before the empty line) is exactly hdr bytes long.
 */
static char *
mk_top_header(size_t hdr, const char *eol, size_t *len)
{
    char       *s, *p;
    size_t      e = strlen(eol), nfixed, pad, body;
    int         n;

    nfixed = strlen("Content-Type: application/gzip") +
        strlen("Content-Transfer-Encoding: base64") + 2 * e;
    pad = hdr - nfixed - strlen("X-Pad: ") - e;     /* X-Pad: aaa...<eol> */
    body = e + strlen(B64_GZ_XML) + 2 * e;
    s = malloc(hdr + body + 1);
    assert_non_null(s);
    n = snprintf(s, hdr + 1, "Content-Type: application/gzip%s"
        "Content-Transfer-Encoding: base64%s", eol, eol);
    assert_int_equal(n, (int)nfixed);
    p = s + n;
    memcpy(p, "X-Pad: ", 7);
    p += 7;
    memset(p, 'a', pad);
    p += pad;
    memcpy(p, eol, e);
    p += e;
    assert_int_equal((size_t)(p - s), hdr);
    memcpy(p, eol, e);                      /* the empty line */
    p += e;
    memcpy(p, B64_GZ_XML, strlen(B64_GZ_XML));   /* LF is fine in base64 */
    p += strlen(B64_GZ_XML);
    *p = '\0';
    *len = (size_t)(p - s);
    return s;
}

/* test_header_top - the top-level header block at the cap and past it */
static void
test_header_top(void **state)
{
    static const char *const eols[] = { "\n", "\r\n" };
    struct report_limits lim;
    size_t               caps[] = { 256u << 10, 1000 };
    char                *m;
    size_t               len, i, k;

    (void)state;
    report_limits_default(&lim);
    assert_int_equal(lim.mime_header_max, caps[0]);
    for (k = 0; k < 2; k++) {
        for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
            lim.mime_header_max = caps[i];
            m = mk_top_header(caps[i], eols[k], &len);
            expect_rc("header block at cap", m, len, &lim, RUAD_OK, "", 1);
            free(m);
            m = mk_top_header(caps[i] + 1, eols[k], &len);
            expect_rc("header block past cap", m, len, &lim, RUAD_LIMIT,
                "header block of more than", 0);
            free(m);
        }
    }
    /* no empty line at all: the whole input is the header block */
    lim.mime_header_max = 100;
    m = malloc(200);
    assert_non_null(m);
    memset(m, 'x', 200);
    memcpy(m, "Subject: ", 9);
    expect_rc("no end of headers", m, 200, &lim, RUAD_LIMIT,
        "header block of more than 100 bytes", 0);
    expect_rc("no end of headers, fits", m, 100, &lim, RUAD_UNSUPPORTED,
        "no report attachment", 0);
    free(m);
}

/*
 * mk_part_header - a multipart whose gzip part (or, with rfc822, the
 * message inside a message/rfc822 part) has a header block of exactly hdr
 * bytes.
 */
static char *
mk_part_header(size_t hdr, bool rfc822, size_t *len)
{
    const char *ph = "Content-Type: application/gzip\n"
        "Content-Transfer-Encoding: base64\n";
    char       *s = NULL, *pad;
    size_t      n;

    *len = 0;
    append(&s, len, "Subject: part header\n"
        "Content-Type: multipart/mixed; boundary=h\n\n--h\n");
    if (rfc822)
        append(&s, len, "Content-Type: message/rfc822\n\n");
    n = hdr - strlen(ph) - strlen("X-Pad: \n");
    pad = malloc(n + 1);
    assert_non_null(pad);
    memset(pad, 'b', n);
    pad[n] = '\0';
    append(&s, len, ph);
    append(&s, len, "X-Pad: ");
    append(&s, len, pad);
    append(&s, len, "\n\n" B64_GZ_XML "--h--\n");
    free(pad);
    return s;
}

/* test_header_nested - part and rfc822 header blocks at the cap and past */
static void
test_header_nested(void **state)
{
    struct report_limits lim;
    char                *m;
    size_t               len;
    int                  rfc822;

    (void)state;
    report_limits_default(&lim);
    lim.mime_header_max = 2000;
    for (rfc822 = 0; rfc822 <= 1; rfc822++) {
        m = mk_part_header(2000, rfc822, &len);
        expect_rc("part header at cap", m, len, &lim, RUAD_OK, "", 1);
        free(m);
        m = mk_part_header(2001, rfc822, &len);
        expect_rc("part header past cap", m, len, &lim, RUAD_LIMIT,
            rfc822 ? "part 3: header block of more than 2000 bytes" :
            "part 2: header block of more than 2000 bytes", 0);
        free(m);
    }
}

/*
 * test_header_totals - header fields and bytes summed over all blocks:
 * mime_header_max / 16 fields and 4 * mime_header_max bytes; GMime is
 * stopped once they are passed.
 */
static void
test_header_totals(void **state)
{
    struct report_limits lim;
    char                *m;
    size_t               len, i;
    unsigned             extra;

    (void)state;
    report_limits_default(&lim);
    lim.mime_header_max = 2048;             /* 128 fields, 8192 bytes */
    /* 1 top field + 2 part fields + extra "X-A: 1" fields */
    for (extra = 125; extra <= 126; extra++) {
        m = NULL;
        len = 0;
        append(&m, &len, "Content-Type: multipart/mixed; boundary=t\n\n"
            "--t\nContent-Type: application/gzip\n"
            "Content-Transfer-Encoding: base64\n");
        for (i = 0; i < extra; i++)
            append(&m, &len, "X-A: 1\n");
        append(&m, &len, "\n" B64_GZ_XML "--t--\n");
        if (extra == 125)
            expect_rc("128 fields", m, len, &lim, RUAD_OK, "", 1);
        else
            expect_rc("129 fields", m, len, &lim, RUAD_LIMIT,
                "more than 128 header fields", 0);
        free(m);
    }
    /* 1900-byte fields in parts of their own: 4 fit in 8192, 5 do not */
    for (extra = 4; extra <= 5; extra++) {
        char pad[1901];

        memset(pad, 'c', sizeof(pad) - 1);
        pad[sizeof(pad) - 1] = '\0';
        m = NULL;
        len = 0;
        append(&m, &len, "Content-Type: multipart/mixed; boundary=t\n\n");
        for (i = 0; i < extra; i++) {
            append(&m, &len, "--t\nX-B: ");
            append(&m, &len, pad);
            append(&m, &len, "\n\nx\n");
        }
        append(&m, &len, GZ_PART("t", "r.xml.gz") "--t--\n");
        if (extra == 4)
            expect_rc("4 big fields", m, len, &lim, RUAD_OK, "", 1);
        else
            expect_rc("5 big fields", m, len, &lim, RUAD_LIMIT,
                "more than 8192 bytes of header fields", 0);
        free(m);
    }
}

/* test_decoded_max - a part's decoded bytes against lim->decomp_out_max */
static void
test_decoded_max(void **state)
{
    struct report_limits lim;

    (void)state;
    report_limits_default(&lim);
    lim.decomp_out_max = GZ_XML_LEN;
    expect_rc("decoded at cap", msg_single_gzip, strlen(msg_single_gzip),
        &lim, RUAD_OK, "", 1);
    lim.decomp_out_max = GZ_XML_LEN - 1;
    expect_rc("decoded past cap", msg_single_gzip, strlen(msg_single_gzip),
        &lim, RUAD_LIMIT, "part 1: more than 113 bytes after transfer "
        "decoding", 0);
}

/* test_truncated - cut anywhere, a message never crashes or leaks */
static void
test_truncated(void **state)
{
    struct report_limits lim;
    struct report_diag   d;
    struct mime_info     info;
    struct rec           r;
    enum ruad_rc         rc;
    size_t               n, len = strlen(msg_forwarded);

    (void)state;
    report_limits_default(&lim);
    for (n = 0; n <= len; n++) {
        memset(&r, 0, sizeof(r));
        rc = walk(msg_forwarded, n, &lim, &r, &d, &info);
        assert_true(rc == RUAD_OK || rc == RUAD_UNSUPPORTED ||
            rc == RUAD_MALFORMED);
        assert_true(d.error[0] != '\0' || rc == RUAD_OK);
        assert_int_equal(r.n, info.n_reports);
        mime_info_clear(&info);
        report_diag_free(&d);
        rec_free(&r);
    }
}

/*
 * main - GLib reads G_SLICE in a library constructor, before main(), so
 * setenv() alone is too late: without G_SLICE=always-malloc GObjects come
 * from slice magazines and LeakSanitizer cannot see them leak.  So the
 * test re-executes itself once with the variable set.
 */
int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_info_absent),
        cmocka_unit_test(test_info_null),
        cmocka_unit_test(test_not_a_message),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_callback_rc),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_parts),
        cmocka_unit_test(test_dash_lines),
        cmocka_unit_test(test_header_top),
        cmocka_unit_test(test_header_nested),
        cmocka_unit_test(test_header_totals),
        cmocka_unit_test(test_decoded_max),
        cmocka_unit_test(test_truncated),
    };

    (void)argc;
    if (getenv("G_SLICE") == NULL) {
        setenv("G_SLICE", "always-malloc", 1);
        execv("/proc/self/exe", argv);
        /* exec failed: run anyway, leak checks of GObjects are weaker */
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
