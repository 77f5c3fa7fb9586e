/*
 * imap_resp.c - STATUS and FETCH responses as libcurl passes them on (see
 * imap_resp.h).  RFC 3501 7.2.4 (STATUS), 7.4.2 (FETCH), 4.3 (strings).
 *
 * SECURITY: every byte here comes from the IMAP server.  Lines are cut
 * at IMAP_RESP_LINE_MAX, numbers are range-checked, a listing keeps at
 * most max entries, and parenthesised values nest at most
 * IMAP_RESP_DEPTH_MAX deep; anything else is skipped and counted.
 */
#include "imap_resp.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IMAP_RESP_DEPTH_MAX 8

/* A cursor over one line. */
struct cur {
    const char *p, *end;
};

static bool
cur_lit(struct cur *c, const char *s)
{
    size_t n = strlen(s);

    if ((size_t)(c->end - c->p) < n || strncasecmp(c->p, s, n) != 0)
        return false;
    c->p += n;
    return true;
}

/* cur_num - decimal digits up to max; false if none or too big */
static bool
cur_num(struct cur *c, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    const char *start = c->p;

    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (v > (max - (uint64_t)(*c->p - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(*c->p - '0');
        c->p++;
    }
    if (c->p == start)
        return false;
    *out = v;
    return true;
}

static bool
is_atom_char(char ch)
{
    /* RFC 3501 ATOM-CHAR, plus ']' and '[' as in BODY[...] item names */
    return (unsigned char)ch > 0x20 && (unsigned char)ch < 0x7f &&
        ch != '(' && ch != ')' && ch != '{' && ch != '"' && ch != '%' &&
        ch != '*' && ch != '\\';
}

/* cur_atom - an atom (flags may start with a backslash); its length */
static size_t
cur_atom(struct cur *c)
{
    const char *start = c->p;

    if (c->p < c->end && *c->p == '\\')
        c->p++;
    while (c->p < c->end && (is_atom_char(*c->p) || *c->p == '*'))
        c->p++;
    return (size_t)(c->p - start);
}

/* cur_quoted - skip a quoted string; false if it does not end */
static bool
cur_quoted(struct cur *c)
{
    if (c->p >= c->end || *c->p != '"')
        return false;
    for (c->p++; c->p < c->end; c->p++) {
        if (*c->p == '\\') {
            if (++c->p >= c->end)
                return false;
        } else if (*c->p == '"') {
            c->p++;
            return true;
        }
    }
    return false;
}

/*
 * cur_item - in a parenthesised list: 1 at its next item, 0 past its
 * ')', -1 at the end of the input
 */
static int
cur_item(struct cur *c)
{
    while (c->p < c->end && *c->p == ' ')
        c->p++;
    if (c->p >= c->end)
        return -1;
    if (*c->p == ')') {
        c->p++;
        return 0;
    }
    return 1;
}

/* cur_value - skip one value: atom, number, quoted string or a list */
static bool
cur_value(struct cur *c, int depth)
{
    int i;

    if (c->p >= c->end)
        return false;
    if (*c->p == '"')
        return cur_quoted(c);
    if (*c->p == '(') {
        if (depth >= IMAP_RESP_DEPTH_MAX)
            return false;
        c->p++;
        while ((i = cur_item(c)) > 0)
            if (!cur_value(c, depth + 1))
                return false;
        return i == 0;
    }
    return cur_atom(c) > 0;   /* a literal ({n}) is not taken */
}

enum ruad_rc
imap_resp_status(const char *buf, size_t len, struct imap_status *out)
{
    const char *p = buf, *end = buf + len, *nl;

    memset(out, 0, sizeof(*out));
    for (; p < end; p = nl + 1) {
        struct cur c;
        uint64_t   v;
        bool       ok = true;

        if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
            nl = end;
        c.p = p;
        c.end = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
        if (!cur_lit(&c, "* STATUS "))
            continue;
        if (c.p < c.end && *c.p == '"' ? !cur_quoted(&c) : cur_atom(&c) == 0)
            continue;
        if (!cur_lit(&c, " ("))
            continue;
        while (ok && c.p < c.end && *c.p != ')') {
            const char *name = c.p;
            size_t      n = cur_atom(&c);

            if (n == 0 || !cur_lit(&c, " ") ||
                !cur_num(&c, UINT32_MAX, &v)) {
                ok = false;
                break;
            }
            if (n == 11 && strncasecmp(name, "UIDVALIDITY", n) == 0)
                out->uidvalidity = (uint32_t)v;
            else if (n == 7 && strncasecmp(name, "UIDNEXT", n) == 0)
                out->uidnext = (uint32_t)v;
            else if (n == 8 && strncasecmp(name, "MESSAGES", n) == 0) {
                out->messages = (uint32_t)v;
                out->has_messages = true;
            }
            if (c.p < c.end && *c.p == ' ')
                c.p++;
        }
        if (ok && c.p < c.end && *c.p == ')' && out->uidvalidity != 0)
            return RUAD_OK;
        memset(out, 0, sizeof(*out));
    }
    return RUAD_MALFORMED;
}

void
imap_list_init(struct imap_list *l, struct imap_msg *msgs, size_t max,
    uint32_t min_uid)
{
    l->msgs = msgs;
    l->n = 0;
    l->max = max;
    l->min_uid = min_uid;
    l->more = false;
    l->bad = 0;
    l->line_len = 0;
    l->overlong = false;
}

/* list_flags - a FLAGS list; sets *seen if \Seen is in it */
static bool
list_flags(struct cur *c, bool *seen)
{
    const char *f;
    size_t      n;
    int         i;

    if (!cur_lit(c, "("))
        return false;
    while ((i = cur_item(c)) > 0) {
        f = c->p;
        if ((n = cur_atom(c)) == 0)
            return false;
        if (n == 5 && strncasecmp(f, "\\Seen", 5) == 0)
            *seen = true;
    }
    return i == 0;
}

/* list_keep - take m if it is wanted and among the max smallest */
static void
list_keep(struct imap_list *l, const struct imap_msg *m)
{
    size_t i, hi = 0;

    if (m->uid < l->min_uid || l->max == 0)
        return;
    for (i = 0; i < l->n; i++) {
        if (l->msgs[i].uid == m->uid)
            return;                       /* said twice */
        if (l->msgs[i].uid > l->msgs[hi].uid)
            hi = i;
    }
    if (l->n < l->max) {
        l->msgs[l->n++] = *m;
        return;
    }
    l->more = true;
    if (m->uid < l->msgs[hi].uid)
        l->msgs[hi] = *m;
}

/* list_line - one untagged line: `* SEQ FETCH (ITEM VALUE ...)` */
static void
list_line(struct imap_list *l, const char *s, size_t len)
{
    struct cur      c = { s, s + len };
    struct imap_msg m = { 0 };
    uint64_t        v;
    bool            has_uid = false, has_size = false;

    if (len > 0 && s[len - 1] == '\r')
        c.end--;
    if (!cur_lit(&c, "* ") || !cur_num(&c, UINT32_MAX, &v) ||
        !cur_lit(&c, " FETCH ("))
        return;                 /* not a FETCH line: not ours to judge */
    for (;;) {
        const char *name;
        size_t      n;

        while (c.p < c.end && *c.p == ' ')
            c.p++;
        if (c.p < c.end && *c.p == ')')
            break;
        name = c.p;
        if ((n = cur_atom(&c)) == 0 || !cur_lit(&c, " "))
            goto bad;
        if (n == 3 && strncasecmp(name, "UID", 3) == 0) {
            if (!cur_num(&c, UINT32_MAX, &v) || v == 0)
                goto bad;
            m.uid = (uint32_t)v;
            has_uid = true;
        } else if (n == 11 && strncasecmp(name, "RFC822.SIZE", 11) == 0) {
            if (!cur_num(&c, UINT64_MAX, &v))
                goto bad;
            m.size = v;
            has_size = true;
        } else if (n == 5 && strncasecmp(name, "FLAGS", 5) == 0) {
            if (!list_flags(&c, &m.seen))
                goto bad;
        } else if (!cur_value(&c, 0)) {
            goto bad;
        }
    }
    if (!has_uid || !has_size)
        goto bad;
    list_keep(l, &m);
    return;
bad:
    l->bad++;
}

void
imap_list_feed(struct imap_list *l, const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len, *nl;

    while (p < end) {
        size_t n;

        nl = memchr(p, '\n', (size_t)(end - p));
        n = (size_t)((nl != NULL ? nl : end) - p);
        if (!l->overlong) {
            /* the limit counts the line's CRLF */
            if (l->line_len + n + (nl != NULL) > sizeof(l->line)) {
                l->overlong = true;
                l->bad++;
            } else {
                memcpy(l->line + l->line_len, p, n);
                l->line_len += n;
            }
        }
        if (nl == NULL)
            break;
        if (!l->overlong)
            list_line(l, l->line, l->line_len);
        l->line_len = 0;
        l->overlong = false;
        p = nl + 1;
    }
}

static int
msg_cmp(const void *a, const void *b)
{
    uint32_t x = ((const struct imap_msg *)a)->uid;
    uint32_t y = ((const struct imap_msg *)b)->uid;

    return x < y ? -1 : x > y;
}

void
imap_list_finish(struct imap_list *l)
{
    if (l->line_len > 0 && !l->overlong)
        list_line(l, l->line, l->line_len);
    l->line_len = 0;
    l->overlong = false;
    if (l->n > 1)
        qsort(l->msgs, l->n, sizeof(*l->msgs), msg_cmp);
}

bool
imap_quote(const char *s, char *dst, size_t dstlen)
{
    size_t o = 0;

    if (dstlen < 3)
        return false;
    dst[o++] = '"';
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;

        if (ch == '\r' || ch == '\n' || ch >= 0x80)
            return false;
        if (o + 4 > dstlen)
            return false;
        if (ch == '"' || ch == '\\')
            dst[o++] = '\\';
        dst[o++] = (char)ch;
    }
    dst[o++] = '"';
    dst[o] = '\0';
    return true;
}
