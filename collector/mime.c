/*
 * mime.c - find the report parts of an email with GMime (see mime.h).
 *
 * Implements the receiving side of RFC 7489 7.2.1.1 (aggregate reports
 * by mail: gzip or zip attachment, or the XML itself) and RFC 8460 5.3
 * (TLS reports by mail: multipart/report; report-type=tlsrpt with an
 * application/tlsrpt+gzip or +json part, TLS-Report-Domain and
 * TLS-Report-Submitter headers), over RFC 5322 messages with RFC 2045-2049
 * MIME, RFC 2231 and RFC 2047 encoded names.  DMARC failure reports
 * (RFC 6591) and other ARF reports (RFC 5965) are recognised and refused.
 * GMime is used here and nowhere else; no GMime or GLib object leaves this
 * file.
 *
 * Decisions:
 *
 * - Report parts: application/gzip, application/x-gzip, application/zip,
 *   application/x-zip-compressed, application/x-zip,
 *   application/tlsrpt+gzip, application/tlsrpt+json, text/xml,
 *   application/xml and application/json are taken whatever their name.
 *   application/octet-stream is taken when its file name ends in .xml,
 *   .xml.gz, .gz, .zip, .json or .json.gz.  Any other leaf whose file name
 *   ends so is taken too, with a warning (senders label zips text/plain or
 *   application/x-gzip-compressed).  Everything else is skipped, so is
 *   every text/plain or text/html body without such a name.  The file
 *   name is the Content-Disposition filename, else the Content-Type name
 *   (g_mime_part_get_filename(), which undoes RFC 2231 and RFC 2047).
 * - multipart/report; report-type=feedback-report, or a
 *   message/feedback-report part anywhere, makes the whole message a
 *   failure/ARF report: RUAD_UNSUPPORTED, info->is_feedback, and no part is
 *   handed on, not even a report inside the quoted original message.  The
 *   parts are therefore collected in one walk and handed on only after it.
 * - message/rfc822 (and rfc2822, global, news; multipart/digest children)
 *   is walked into; a forwarded report is still a report.
 * - Counting: every MIME entity walked is one part (the message body,
 *   each multipart, each child, each message/rfc822 part and the body of
 *   the message inside it).  Depth is the number of multiparts and
 *   message/rfc822 parts around an entity: 0 for the message body.
 * - Not a message (RUAD_MALFORMED): empty input, input GMime cannot read
 *   as a header block, or a message none of whose top-level field names
 *   is RFC 5322 ftext (junk bytes usually end here).  A message without
 *   report parts is RUAD_UNSUPPORTED "no report attachment"; so is junk
 *   that happens to start with a valid "name:" line.
 * - A report part that decodes to nothing is skipped with a warning; if
 *   nothing else is found the result is RUAD_MALFORMED.  After transfer
 *   decoding (base64, quoted-printable, uuencode) the bytes are not
 *   touched: no charset or line-end conversion.
 *
 * SECURITY: the whole message comes from the peer (SMTP DATA).  GMime
 * spends far more memory than the input on some shapes (measured with
 * GMime 3.2.13: ~1.3 KB per empty part "--b\n\n", ~400 bytes per header
 * field "a:b\n", so a 25 MB message could cost GBs), so before and while
 * GMime parses:
 *   - the top-level header block (every byte before the first empty line)
 *     must fit lim->mime_header_max, checked on the raw bytes first;
 *   - lines starting with "--" (every MIME part starts after one) are
 *     counted on the raw bytes and capped at MIME_DASH_LINES_PER_PART
 *     times lim->mime_parts_max, bounding the parts GMime builds;
 *   - a GMime header callback counts header fields and bytes in all
 *     header blocks as they are parsed; past lim->mime_header_max /
 *     MIME_FIELD_BYTES_MIN fields or MIME_HEADER_TOTAL_BLOCKS *
 *     lim->mime_header_max bytes the input stream is cut off, GMime runs
 *     out of input within a few KB and the walk fails with RUAD_LIMIT.
 * After the parse, each nested header block (part headers, and the
 * headers of a message inside message/rfc822) must fit
 * lim->mime_header_max, entities are capped at lim->mime_parts_max and
 * nesting at lim->mime_depth_max (RUAD_LIMIT); GMime bounds its own
 * recursion (GMIME_CRIT_NESTING_OVERFLOW).  A part's decoded size is at
 * most its encoded size, so at most the message size, and is checked
 * against lim->decomp_out_max.  File names and header values are peer
 * text: made valid UTF-8, reach diagnostics only through log_escape(), and
 * a file name must never be used as a path.  GLib aborts when malloc
 * fails; the caps above keep GMime's allocations proportional to limits
 * the operator sets.
 *
 * Leak checking: g_mime_init() runs once per process (pthread_once) and
 * its global tables stay reachable.  Under LeakSanitizer set
 * G_SLICE=always-malloc in the environment before the first GLib call
 * (the unit tests and the fuzz target do), so GLib's slice allocator does
 * not hide blocks from it.
 */
#include "mime.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "log.h"

#define MIME_SHOW_MAX            80  /* escaped peer text in a message */
#define MIME_DASH_LINES_PER_PART 16  /* "--" lines per allowed part */
#define MIME_HEADER_TOTAL_BLOCKS 4   /* header bytes in all blocks, in
                                        units of mime_header_max */
#define MIME_FIELD_BYTES_MIN     16  /* fields <= mime_header_max / this:
                                        real fields average far more */

/* one report part found by the walk, handed on after it */
struct mime_cand {
    GMimePart *part;                 /* borrowed from the message tree */
    unsigned   idx;                  /* 1-based walk position */
};

/* one mime_walk() call */
struct mime_ctx {
    const struct report_limits *lim;
    struct report_diag         *diag;
    GMimeStream                *stream;    /* the message bytes */
    struct mime_cand           *cands;     /* owned (malloc) */
    size_t                      n_cands, cap_cands;
    unsigned                    n_parts;
    bool                        feedback;
    /* counted by mime_header_cb while GMime parses */
    uint64_t                    hdr_fields, hdr_bytes;
    bool                        cut;       /* stream cut off at a cap */
};

/* media types that are reports whatever their name */
static const char *const mime_report_types[] = {
    "application/gzip", "application/x-gzip", "application/zip",
    "application/x-zip-compressed", "application/x-zip",
    "application/tlsrpt+gzip", "application/tlsrpt+json", "text/xml",
    "application/xml", "application/json", NULL
};

/* file name endings that mark a report (longer ones first, for clarity) */
static const char *const mime_report_exts[] = {
    ".xml.gz", ".json.gz", ".xml", ".gz", ".zip", ".json", NULL
};

static pthread_once_t mime_once = PTHREAD_ONCE_INIT;

static void mime_init_once(void);
static bool mime_is_blank(const char *p, size_t n);
static enum ruad_rc mime_prescan(struct mime_ctx *c, const char *msg,
    size_t len);
static void mime_header_cb(GMimeParser *parser, const char *name,
    const char *value, gint64 offset, gpointer user_data);
static void mime_warning_cb(gint64 offset, GMimeParserWarning code,
    const gchar *item, gpointer user_data);
static bool mime_is_ftext_name(const char *name);
static bool mime_has_field(GMimeObject *obj);
static char *mime_dup_value(const char *v);
static void mime_info_fill(GMimeMessage *m, struct mime_info *info);
static char *mime_type_str(GMimeObject *obj);
static bool mime_in_list(const char *s, const char *const *list);
static bool mime_name_is_report(const char *name);
static size_t mime_headers_size(GMimeObject *obj);
static bool mime_is_feedback(GMimeObject *obj);
static enum ruad_rc mime_take(struct mime_ctx *c, GMimePart *part);
static enum ruad_rc mime_leaf(struct mime_ctx *c, GMimePart *part);
static enum ruad_rc mime_visit(struct mime_ctx *c, GMimeObject *obj,
    unsigned depth, GMimeMessage *owner);
static enum ruad_rc mime_deliver(struct mime_ctx *c,
    const struct mime_cand *cand, mime_part_fn fn, void *fnctx,
    struct mime_info *info, bool *empty);

/* mime_init_once - g_mime_init() for the process (pthread_once) */
static void
mime_init_once(void)
{
    g_mime_init();
}

/* mime_is_blank - is the line (without its LF) empty or a lone CR? */
static bool
mime_is_blank(const char *p, size_t n)
{
    return n == 0 || (n == 1 && p[0] == '\r');
}

/*
 * mime_prescan - checks on the raw bytes before GMime sees them: the
 * top-level header block (every byte before the first empty line, the
 * last field's line end included; all of the input if there is no empty
 * line) against lim->mime_header_max, and the lines starting with "--"
 * against MIME_DASH_LINES_PER_PART * lim->mime_parts_max.
 */
static enum ruad_rc
mime_prescan(struct mime_ctx *c, const char *msg, size_t len)
{
    const char *nl;
    uint64_t    dashes = 0, dash_max;
    size_t      pos = 0, n, hdr_len = len;
    bool        in_top = true;

    dash_max = (uint64_t)c->lim->mime_parts_max * MIME_DASH_LINES_PER_PART;
    while (pos < len) {
        nl = memchr(msg + pos, '\n', len - pos);
        n = nl != NULL ? (size_t)(nl - (msg + pos)) : len - pos;
        if (in_top) {
            if (mime_is_blank(msg + pos, n)) {
                hdr_len = pos;
                in_top = false;
            } else if (pos + n > c->lim->mime_header_max) {
                break;              /* over the cap: no need to go on */
            }
        } else if (n >= 2 && msg[pos] == '-' && msg[pos + 1] == '-' &&
            ++dashes > dash_max) {
            return report_diag_fail(c->diag, RUAD_LIMIT,
                "more than %llu lines starting with \"--\" (%u MIME parts "
                "allowed)", (unsigned long long)dash_max,
                c->lim->mime_parts_max);
        }
        pos += n + (nl != NULL);
    }
    if (hdr_len > c->lim->mime_header_max)
        return report_diag_fail(c->diag, RUAD_LIMIT,
            "header block of more than %zu bytes", c->lim->mime_header_max);
    return RUAD_OK;
}

/*
 * mime_header_cb - GMime calls this for every header field it parses, in
 * every header block.  Past the field or byte cap the message stream is
 * cut off at the parser's read position, so GMime finds its end within
 * one read buffer and returns; mime_walk() then fails with RUAD_LIMIT.
 */
static void
mime_header_cb(GMimeParser *parser, const char *name, const char *value,
    gint64 offset, gpointer user_data)
{
    struct mime_ctx *c = user_data;
    uint64_t         fields_max, bytes_max;

    (void)parser;
    (void)offset;
    if (c->cut)
        return;
    fields_max = c->lim->mime_header_max / MIME_FIELD_BYTES_MIN;
    bytes_max = (uint64_t)c->lim->mime_header_max * MIME_HEADER_TOTAL_BLOCKS;
    c->hdr_fields++;
    c->hdr_bytes += strlen(name) + 1 + (value != NULL ? strlen(value) : 0);
    if (c->hdr_fields > fields_max)
        report_diag_fail(c->diag, RUAD_LIMIT,
            "more than %llu header fields in the message",
            (unsigned long long)fields_max);
    else if (c->hdr_bytes > bytes_max)
        report_diag_fail(c->diag, RUAD_LIMIT,
            "more than %llu bytes of header fields in the message",
            (unsigned long long)bytes_max);
    else
        return;
    c->cut = true;
    g_mime_stream_set_bounds(c->stream, 0, g_mime_stream_tell(c->stream));
}

/*
 * mime_warning_cb - GMime's complaints about the structure become
 * warnings (the critical ones and truncation; duplicates are noise).
 */
static void
mime_warning_cb(gint64 offset, GMimeParserWarning code, const gchar *item,
    gpointer user_data)
{
    struct mime_ctx *c = user_data;
    const char      *what;
    char             esc[MIME_SHOW_MAX];

    if (c->cut)                 /* truncation we caused */
        return;
    switch (code) {
    case GMIME_WARN_MALFORMED_MULTIPART:
        what = "multipart without parts";
        break;
    case GMIME_WARN_TRUNCATED_MESSAGE:
        what = "message truncated";
        break;
    case GMIME_WARN_MALFORMED_MESSAGE:
        what = "malformed message";
        break;
    case GMIME_CRIT_INVALID_HEADER_NAME:
        what = "invalid header line ignored";
        break;
    case GMIME_CRIT_CONFLICTING_HEADER:
        what = "conflicting repeated header";
        break;
    case GMIME_CRIT_CONFLICTING_PARAMETER:
        what = "conflicting repeated parameter";
        break;
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
        what = "multipart without boundary";
        break;
    case GMIME_CRIT_NESTING_OVERFLOW:
        what = "GMime nesting limit reached";
        break;
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
        what = "part without headers or content";
        break;
    default:
        return;
    }
    if (item != NULL)
        log_escape(esc, sizeof(esc), item, strlen(item));
    else
        esc[0] = '\0';
    if (offset >= 0)
        report_diag_warn(c->diag, "mime: %s at byte %lld%s%s", what,
            (long long)offset, esc[0] != '\0' ? ": " : "", esc);
    else
        report_diag_warn(c->diag, "mime: %s%s%s", what,
            esc[0] != '\0' ? ": " : "", esc);
}

/* mime_is_ftext_name - RFC 5322 2.2 field name: 1*(%d33-57 / %d59-126) */
static bool
mime_is_ftext_name(const char *name)
{
    const unsigned char *p = (const unsigned char *)name;

    if (*p == '\0')
        return false;
    for (; *p != '\0'; p++)
        if (*p < 33 || *p > 126 || *p == ':')
            return false;
    return true;
}

/* mime_has_field - does obj carry at least one well-formed header? */
static bool
mime_has_field(GMimeObject *obj)
{
    GMimeHeaderList *hl;
    int              i, n;

    if (obj == NULL || (hl = g_mime_object_get_header_list(obj)) == NULL)
        return false;
    n = g_mime_header_list_get_count(hl);
    for (i = 0; i < n; i++)
        if (mime_is_ftext_name(g_mime_header_get_name(
                g_mime_header_list_get_header_at(hl, i))))
            return true;
    return false;
}

/*
 * mime_dup_value - malloc'd copy of a decoded header value, line breaks
 * dropped, outer white space trimmed, made valid UTF-8; NULL if v is NULL,
 * empty after trimming, or memory ran out.
 */
static char *
mime_dup_value(const char *v)
{
    const char *end;
    char       *tmp, *out;
    size_t      i, j, n;

    if (v == NULL)
        return NULL;
    while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
        v++;
    end = v + strlen(v);
    while (end > v && (end[-1] == ' ' || end[-1] == '\t' ||
        end[-1] == '\r' || end[-1] == '\n'))
        end--;
    n = (size_t)(end - v);
    if (n == 0)
        return NULL;
    tmp = g_utf8_make_valid(v, (gssize)n);   /* copies even if valid */
    n = strlen(tmp);
    out = malloc(n + 1);
    if (out != NULL) {
        for (i = j = 0; i < n; i++)
            if (tmp[i] != '\r' && tmp[i] != '\n')
                out[j++] = tmp[i];
        out[j] = '\0';
    }
    g_free(tmp);
    return out;
}

/* mime_info_fill - the top-level facts of message m into info */
static void
mime_info_fill(GMimeMessage *m, struct mime_info *info)
{
    GMimeObject *o = GMIME_OBJECT(m);

    info->from = mime_dup_value(g_mime_object_get_header(o, "From"));
    info->subject = mime_dup_value(g_mime_message_get_subject(m));
    info->message_id = mime_dup_value(g_mime_message_get_message_id(m));
    info->report_domain = mime_dup_value(g_mime_object_get_header(o,
        "TLS-Report-Domain"));
    info->report_submitter = mime_dup_value(g_mime_object_get_header(o,
        "TLS-Report-Submitter"));
}

/* mime_type_str - "type/subtype" of obj in lower case (g_free it) */
static char *
mime_type_str(GMimeObject *obj)
{
    char *s, *p;

    s = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(
        obj));
    for (p = s; *p != '\0'; p++)
        *p = g_ascii_tolower(*p);
    return s;
}

/* mime_in_list - is s one of the NULL-terminated list? */
static bool
mime_in_list(const char *s, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

/* mime_name_is_report - does the file name end like a report's? */
static bool
mime_name_is_report(const char *name)
{
    const char *const *e;
    size_t             n, k;

    if (name == NULL)
        return false;
    n = strlen(name);
    for (e = mime_report_exts; *e != NULL; e++) {
        k = strlen(*e);
        if (n > k && g_ascii_strcasecmp(name + n - k, *e) == 0)
            return true;
    }
    return false;
}

/* mime_headers_size - bytes of obj's header block as parsed */
static size_t
mime_headers_size(GMimeObject *obj)
{
    GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
    GMimeHeader     *h;
    const char      *v;
    size_t           sum = 0;
    int              i, n;

    if (hl == NULL)
        return 0;
    n = g_mime_header_list_get_count(hl);
    for (i = 0; i < n; i++) {
        h = g_mime_header_list_get_header_at(hl, i);
        v = g_mime_header_get_raw_value(h);
        sum += strlen(g_mime_header_get_raw_name(h)) + 1 +
            (v != NULL ? strlen(v) : 0);
    }
    return sum;
}

/*
 * mime_is_feedback - multipart/report; report-type=feedback-report
 * (RFC 6591, RFC 5965), or a message/feedback-report part?
 */
static bool
mime_is_feedback(GMimeObject *obj)
{
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    const char       *rt;

    if (g_mime_content_type_is_type(ct, "message", "feedback-report"))
        return true;
    if (!g_mime_content_type_is_type(ct, "multipart", "report"))
        return false;
    rt = g_mime_content_type_get_parameter(ct, "report-type");
    return rt != NULL && g_ascii_strcasecmp(rt, "feedback-report") == 0;
}

/* mime_take - remember part as a report part, handed on after the walk */
static enum ruad_rc
mime_take(struct mime_ctx *c, GMimePart *part)
{
    struct mime_cand *nc;
    size_t            ncap;

    if (c->n_cands == c->cap_cands) {
        ncap = c->cap_cands != 0 ? c->cap_cands * 2 : 4;
        nc = realloc(c->cands, ncap * sizeof(*nc));
        if (nc == NULL)
            return report_diag_fail(c->diag, RUAD_NOMEM, "out of memory");
        c->cands = nc;
        c->cap_cands = ncap;
    }
    c->cands[c->n_cands].part = part;
    c->cands[c->n_cands].idx = c->n_parts;
    c->n_cands++;
    return RUAD_OK;
}

/* mime_leaf - decide whether a leaf part holds a report */
static enum ruad_rc
mime_leaf(struct mime_ctx *c, GMimePart *part)
{
    const char *name = g_mime_part_get_filename(part);
    char       *type = mime_type_str(GMIME_OBJECT(part));
    char        et[MIME_SHOW_MAX], en[MIME_SHOW_MAX];
    bool        take = false;

    if (mime_in_list(type, mime_report_types)) {
        take = true;
    } else if (mime_name_is_report(name)) {
        take = true;
        if (strcmp(type, "application/octet-stream") != 0)
            report_diag_warn(c->diag, "part %u: %s taken for its file "
                "name \"%s\"", c->n_parts,
                log_escape(et, sizeof(et), type, strlen(type)),
                log_escape(en, sizeof(en), name, strlen(name)));
    }
    log_debug("mime part=%u type=%s name=%s %s", c->n_parts,
        log_escape(et, sizeof(et), type, strlen(type)),
        name != NULL ? log_escape(en, sizeof(en), name, strlen(name)) : "-",
        take ? "taken" : "skipped");
    g_free(type);
    return take ? mime_take(c, part) : RUAD_OK;
}

/*
 * mime_visit - walk obj (at depth) and what it holds.  owner is the
 * message whose body obj is (its header block is obj's plus owner's), or
 * NULL for a child of a multipart; the top-level block is not measured
 * here (mime_prescan did it on the raw bytes).
 */
static enum ruad_rc
mime_visit(struct mime_ctx *c, GMimeObject *obj, unsigned depth,
    GMimeMessage *owner)
{
    const struct report_limits *lim = c->lim;
    GMimeMultipart *mp;
    GMimeMessage   *inner;
    enum ruad_rc    rc;
    size_t          hsize;
    int             i, n;

    if (c->n_parts >= lim->mime_parts_max)
        return report_diag_fail(c->diag, RUAD_LIMIT,
            "more than %u MIME parts", lim->mime_parts_max);
    c->n_parts++;
    if (depth > lim->mime_depth_max)
        return report_diag_fail(c->diag, RUAD_LIMIT,
            "MIME parts nested deeper than %u", lim->mime_depth_max);
    if (depth > 0) {
        hsize = mime_headers_size(obj);
        if (owner != NULL)
            hsize += mime_headers_size(GMIME_OBJECT(owner));
        if (hsize > lim->mime_header_max)
            return report_diag_fail(c->diag, RUAD_LIMIT,
                "part %u: header block of more than %zu bytes", c->n_parts,
                lim->mime_header_max);
    }
    if (mime_is_feedback(obj)) {
        c->feedback = true;
        return RUAD_UNSUPPORTED;    /* caller records why */
    }
    if (GMIME_IS_MULTIPART(obj)) {
        mp = GMIME_MULTIPART(obj);
        n = g_mime_multipart_get_count(mp);
        for (i = 0; i < n; i++) {
            rc = mime_visit(c, g_mime_multipart_get_part(mp, i), depth + 1,
                NULL);
            if (rc != RUAD_OK)
                return rc;
        }
        return RUAD_OK;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {
        inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        if (inner == NULL || g_mime_message_get_mime_part(inner) == NULL)
            return RUAD_OK;
        return mime_visit(c, g_mime_message_get_mime_part(inner),
            depth + 1, inner);
    }
    if (GMIME_IS_PART(obj))
        return mime_leaf(c, GMIME_PART(obj));
    return RUAD_OK;
}

/*
 * mime_deliver - transfer-decode one report part into memory and hand it
 * to fn.  *empty is set (and fn not called) when it decodes to nothing.
 */
static enum ruad_rc
mime_deliver(struct mime_ctx *c, const struct mime_cand *cand,
    mime_part_fn fn, void *fnctx, struct mime_info *info, bool *empty)
{
    GMimeDataWrapper *dw = g_mime_part_get_content(cand->part);
    GMimeStream      *out;
    GByteArray       *ba;
    const char       *name;
    char             *type, *vname = NULL;
    enum ruad_rc      rc;

    *empty = false;
    if (dw == NULL) {
        *empty = true;
        return RUAD_OK;
    }
    out = g_mime_stream_mem_new();
    if (g_mime_data_wrapper_write_to_stream(dw, out) < 0) {
        g_object_unref(out);
        return report_diag_fail(c->diag, RUAD_MALFORMED,
            "part %u: cannot undo its transfer encoding", cand->idx);
    }
    ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
    if (ba == NULL || ba->len == 0) {
        g_object_unref(out);
        *empty = true;
        return RUAD_OK;
    }
    if ((uint64_t)ba->len > c->lim->decomp_out_max) {
        g_object_unref(out);
        return report_diag_fail(c->diag, RUAD_LIMIT,
            "part %u: more than %llu bytes after transfer decoding",
            cand->idx, (unsigned long long)c->lim->decomp_out_max);
    }
    name = g_mime_part_get_filename(cand->part);
    if (name != NULL && !g_utf8_validate(name, -1, NULL))
        name = vname = g_utf8_make_valid(name, -1);
    type = mime_type_str(GMIME_OBJECT(cand->part));
    if (info != NULL)
        info->n_reports++;
    rc = fn(fnctx, (const char *)ba->data, ba->len, type, name);
    if (rc != RUAD_OK)
        report_diag_fail(c->diag, rc, "part %u: %s", cand->idx,
            ruad_rc_str(rc));
    g_free(type);
    g_free(vname);
    g_object_unref(out);
    return rc;
}

/* mime_info_clear - see mime.h */
void
mime_info_clear(struct mime_info *info)
{
    if (info == NULL)
        return;
    free(info->from);
    free(info->subject);
    free(info->message_id);
    free(info->report_domain);
    free(info->report_submitter);
    memset(info, 0, sizeof(*info));
}

/* mime_walk - see mime.h */
enum ruad_rc
mime_walk(const char *msg, size_t len, const struct report_limits *lim,
    mime_part_fn fn, void *ctx, struct report_diag *diag,
    struct mime_info *info)
{
    struct mime_ctx     c;
    GMimeParserOptions *opts = NULL;
    GMimeParser        *parser = NULL;
    GMimeMessage       *m = NULL;
    GMimeObject        *body;
    enum ruad_rc        rc;
    size_t              i, n_empty = 0;
    bool                empty;

    if (info != NULL)
        memset(info, 0, sizeof(*info));
    if (lim == NULL || fn == NULL || diag == NULL ||
        (msg == NULL && len != 0))
        return diag != NULL ? report_diag_fail(diag, RUAD_INTERNAL,
            "mime_walk: bad arguments") : RUAD_INTERNAL;
    if (len == 0)
        return report_diag_fail(diag, RUAD_MALFORMED,
            "not a message: empty input");
    if (len > (size_t)G_MAXINT) /* GByteArray lengths are guint */
        return report_diag_fail(diag, RUAD_LIMIT,
            "message of more than %d bytes", G_MAXINT);
    memset(&c, 0, sizeof(c));
    c.lim = lim;
    c.diag = diag;
    rc = mime_prescan(&c, msg, len);
    if (rc != RUAD_OK)
        return rc;

    pthread_once(&mime_once, mime_init_once);
    c.stream = g_mime_stream_mem_new_with_buffer(msg, len);
    parser = g_mime_parser_new_with_stream(c.stream);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    g_mime_parser_set_header_regex(parser, "^", mime_header_cb, &c);
    opts = g_mime_parser_options_new();
    g_mime_parser_options_set_warning_callback(opts, mime_warning_cb, &c);
    m = g_mime_parser_construct_message(parser, opts);
    if (c.cut) {
        rc = RUAD_LIMIT;        /* mime_header_cb recorded why */
        goto out;
    }
    if (m == NULL || (!mime_has_field(GMIME_OBJECT(m)) &&
        !mime_has_field(g_mime_message_get_mime_part(m)))) {
        rc = report_diag_fail(diag, RUAD_MALFORMED,
            "not a message: no header fields");
        goto out;
    }
    if (info != NULL)
        mime_info_fill(m, info);

    body = g_mime_message_get_mime_part(m);
    rc = body != NULL ? mime_visit(&c, body, 0, m) : RUAD_OK;
    if (info != NULL) {
        info->n_parts = c.n_parts;
        info->is_feedback = c.feedback;
    }
    if (c.feedback) {
        rc = report_diag_fail(diag, RUAD_UNSUPPORTED,
            "not a report: DMARC failure/ARF report");
        goto out;
    }
    if (rc != RUAD_OK)
        goto out;
    if (c.n_cands == 0) {
        rc = report_diag_fail(diag, RUAD_UNSUPPORTED,
            "not a report: no report attachment");
        goto out;
    }
    for (i = 0; i < c.n_cands; i++) {
        rc = mime_deliver(&c, &c.cands[i], fn, ctx, info, &empty);
        if (rc != RUAD_OK)
            goto out;
        if (empty) {
            n_empty++;
            report_diag_warn(diag, "part %u: report part is empty, skipped",
                c.cands[i].idx);
        }
    }
    if (n_empty == c.n_cands)
        rc = report_diag_fail(diag, RUAD_MALFORMED,
            "report attachment is empty");
out:
    if (m != NULL)
        g_object_unref(m);
    if (parser != NULL)
        g_object_unref(parser);
    if (c.stream != NULL)
        g_object_unref(c.stream);
    if (opts != NULL)
        g_mime_parser_options_free(opts);
    free(c.cands);
    return rc;
}
