/*
 * http_problem.c - the body of an RFC 9457 problem document
 * (application/problem+json): the one builder of every problem ruad's
 * HTTP side answers with (see http_problem.h).  Each sender keeps its
 * own headers; the bytes of the document are made here.
 *
 * SECURITY: title, detail and parameter may hold peer text (the name of
 * a refused parameter, a parser's reason): each byte outside printable
 * ASCII becomes '?' (a JSON string must be UTF-8, and a name may be any
 * bytes), and '"' and '\' are escaped, so the document is always JSON.
 */
#include "http_problem.h"

#include "buf.h"

#define HTTP_PROBLEM_MAX (64u << 10)   /* far above any problem we send */

/* problem_str - s as a JSON string (see SECURITY above) */
static enum ruad_rc
problem_str(struct buf *b, const char *s)
{
    enum ruad_rc rc = buf_append_byte(b, '"');

    for (; rc == RUAD_OK && *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;

        if (ch == '"' || ch == '\\')
            rc = buf_append_byte(b, '\\');
        if (rc == RUAD_OK)
            rc = buf_append_byte(b, ch >= 0x20 && ch < 0x7f ? ch : '?');
    }
    if (rc == RUAD_OK)
        rc = buf_append_byte(b, '"');
    return rc;
}

char *
http_problem_json(unsigned status, const char *title, const char *detail,
    const char *param, bool nl, size_t *len)
{
    struct buf   b;
    enum ruad_rc rc;

    buf_init(&b, HTTP_PROBLEM_MAX);
    rc = buf_append_str(&b, "{\"type\":\"about:blank\",\"title\":");
    if (rc == RUAD_OK)
        rc = problem_str(&b, title);
    if (rc == RUAD_OK)
        rc = buf_printf(&b, ",\"status\":%u,\"detail\":", status);
    if (rc == RUAD_OK)
        rc = problem_str(&b, detail);
    if (rc == RUAD_OK && param != NULL) {
        rc = buf_append_str(&b, ",\"parameter\":");
        if (rc == RUAD_OK)
            rc = problem_str(&b, param);
    }
    if (rc == RUAD_OK)
        rc = buf_append_str(&b, nl ? "}\n" : "}");
    if (rc != RUAD_OK) {
        buf_free(&b);
        return NULL;
    }
    *len = buf_len(&b);
    return buf_take(&b);
}
