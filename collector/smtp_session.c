/*
 * smtp_session.c - RFC 5321 server engine (see smtp_session.h).
 *
 * Implements: EHLO/HELO, MAIL (SIZE=, BODY= of RFC 1870 and RFC 6152),
 * RCPT (no parameters: 555 5.5.4), DATA, RSET, NOOP, QUIT, VRFY (252),
 * HELP, STARTTLS (RFC 3207),
 * PIPELINING (RFC 2920), ENHANCEDSTATUSCODES (RFC 2034, codes of RFC
 * 3463) on every reply.  One function changes the state
 * (smtp_enter_state); a table says in which states a verb is legal.
 *
 * End of data is CRLF "." CRLF and nothing else: a bare LF or CR, and
 * "\n.\n", "\r.\r" or "\r\n.\n", never end the message (the SMTP
 * smuggling class, CVE-2023-51764); with reject_bare_lf such a message
 * is refused with 550 5.5.2.  Lines starting with "." are unstuffed.
 *
 * SECURITY: every byte is peer data.  A command line is at most
 * SMTP_CMD_LINE_MAX bytes (500 5.5.2), a text line at most max_line
 * (552), a message at most max_message counted while reading and not
 * buffered past it (552 5.3.4), at most max_rcpt recipients (452 4.5.3),
 * a transaction the admit hook refuses gets 452 4.7.1 at RCPT,
 * max_errors errors (421); replies waiting to be written are capped, and
 * a client that does not read them is not read either.  After STARTTLS
 * nothing more is taken from the plaintext stream: the server drops it
 * (CVE-2011-0411 class).  Peer strings are escaped before logging and
 * before they reach the Received header.
 */
#include "smtp_session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "limits.h"
#include "log.h"

#define SMTP_OUT_MAX      (256u << 10) /* replies waiting to be written */
#define SMTP_OUT_PAUSE    (64u << 10)  /* stop reading commands past this */
#define SMTP_ADDR_MAX     256          /* RFC 5321 4.5.3.1.3: 256 octets */
#define SMTP_HEADER_MAX   2048         /* our Received header */

enum smtp_state {
    SMTP_S_GREET,      /* connected, no banner yet */
    SMTP_S_READY,      /* banner sent, no EHLO */
    SMTP_S_HELO,       /* EHLO done, no transaction */
    SMTP_S_MAIL,       /* MAIL done */
    SMTP_S_RCPT,       /* a recipient accepted */
    SMTP_S_DATA,       /* reading the message */
    SMTP_S_STORING,    /* the message is being stored */
    SMTP_S_TLS,        /* 220 to STARTTLS sent, waiting for the handshake */
    SMTP_S_CLOSING,    /* last reply queued */
    SMTP_S_N
};

static const char *const state_names[SMTP_S_N] = {
    "GREET", "READY", "HELO", "MAIL", "RCPT", "DATA", "STORING", "TLS",
    "CLOSING"
};

/* Where end-of-data detection stands (see smtp_data_byte). */
enum data_state { D_LS, D_TEXT, D_CR, D_DOT, D_DOTCR };

struct smtp_session {
    const struct smtp_config *cfg;
    const struct smtp_hooks  *hooks;
    char                     *peer;        /* owned */
    uint64_t                  id;
    enum smtp_state           state;
    struct buf                out;
    struct buf                line;        /* a command being read */
    bool                      line_long;
    unsigned                  errors;
    bool                      tls;
    char                      tls_version[32], tls_cipher[64];
    bool                      esmtp;
    char                     *helo;        /* owned */
    char                     *mail_from;   /* owned */
    char                    **rcpt;        /* owned, n_rcpt */
    size_t                    n_rcpt;
    /* DATA */
    struct buf                msg;
    size_t                    trace_len;   /* our Received header in msg */
    enum data_state           ds;
    uint64_t                  msg_bytes;   /* counted even past the cap */
    size_t                    line_len;
    bool                      too_big, line_too_long, bare;
    bool                      shutdown;    /* close after the answer */
};

/* ---- replies and state ---- */

/* reply - queue one reply line (the caller adds CRLF-free text) */
static void
reply(struct smtp_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
reply(struct smtp_session *s, const char *fmt, ...)
{
    char    line[512];
    va_list ap;
    int     n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 3)
        n = (int)sizeof(line) - 3;
    line[n++] = '\r';
    line[n++] = '\n';
    /* past the cap the client is not reading: it loses replies, we don't
     * lose memory (and stop reading it, see smtp_session_feed) */
    (void)buf_append(&s->out, line, (size_t)n);
}

/* smtp_enter_state - the only writer of s->state */
static void
smtp_enter_state(struct smtp_session *s, enum smtp_state st)
{
    log_debug("sess=%016llx smtp state %s -> %s", (unsigned long long)s->id,
        state_names[s->state], state_names[st]);
    s->state = st;
}

/* smtp_reset - forget the transaction (RSET, after a message) */
static void
smtp_reset(struct smtp_session *s)
{
    size_t i;

    free(s->mail_from);
    s->mail_from = NULL;
    for (i = 0; i < s->n_rcpt; i++)
        free(s->rcpt[i]);
    free(s->rcpt);
    s->rcpt = NULL;
    s->n_rcpt = 0;
    buf_free(&s->msg);
}

/* smtp_error - a failed command: count it, close after too many */
static void
smtp_error(struct smtp_session *s)
{
    if (++s->errors >= s->cfg->max_errors) {
        reply(s, "421 4.7.0 %s Too many errors, closing", s->cfg->hostname);
        log_info("sess=%016llx smtp close reason=errors",
            (unsigned long long)s->id);
        smtp_enter_state(s, SMTP_S_CLOSING);
    }
}

/* ---- commands ---- */

/* skip_sp - past spaces */
static const char *
skip_sp(const char *p)
{
    while (*p == ' ')
        p++;
    return p;
}

/*
 * utf8_ok - is s well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF)?  What the envelope carries is
 * stored as text: bytes that are not would fail at every retry.
 */
static bool
utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned             n, c;

    while (*p != '\0') {
        if (*p < 0x80) {
            p++;
            continue;
        }
        if (*p >= 0xc2 && *p <= 0xdf) {
            n = 1;
            c = *p & 0x1f;
        } else if (*p >= 0xe0 && *p <= 0xef) {
            n = 2;
            c = *p & 0x0f;
        } else if (*p >= 0xf0 && *p <= 0xf4) {
            n = 3;
            c = *p & 0x07;
        } else {
            return false;
        }
        for (p++; n > 0; n--, p++) {
            if ((*p & 0xc0) != 0x80)
                return false;                   /* also the NUL */
            c = c << 6 | (*p & 0x3f);
            if ((n == 2 && c < 0x20) ||         /* overlong 3-byte form */
                (n == 3 && (c < 0x10 || c > 0x10f)))
                return false;                   /* overlong, > U+10FFFF */
        }
        if (c >= 0xd800 && c <= 0xdfff)
            return false;                       /* a surrogate */
    }
    return true;
}

/*
 * parse_path - "<local@domain>" (or "<>") at p into out, without the
 * brackets; *end is past it.  Source routes are not taken; no control
 * characters or spaces inside.
 */
static bool
parse_path(const char *p, char *out, size_t outlen, const char **end)
{
    const char *q;
    size_t      n;

    p = skip_sp(p);
    if (*p != '<' || (q = strchr(p, '>')) == NULL)
        return false;
    n = (size_t)(q - p - 1);
    if (n >= outlen || n > SMTP_ADDR_MAX)
        return false;
    for (const char *c = p + 1; c < q; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f || *c == '<')
            return false;
    if (n > 0 && p[1] == '@')
        return false;                       /* a source route */
    memcpy(out, p + 1, n);
    out[n] = '\0';
    *end = q + 1;
    return true;
}

static void
cmd_helo(struct smtp_session *s, const char *arg, bool ehlo)
{
    char esc[80];

    arg = skip_sp(arg);
    if (*arg == '\0') {
        reply(s, "501 5.5.4 %s needs a domain", ehlo ? "EHLO" : "HELO");
        smtp_error(s);
        return;
    }
    if (!utf8_ok(arg)) {
        reply(s, "501 5.5.4 %s domain is not valid UTF-8",
            ehlo ? "EHLO" : "HELO");
        smtp_error(s);
        return;
    }
    smtp_reset(s);
    free(s->helo);
    s->helo = strdup(arg);
    s->esmtp = ehlo;
    if (!ehlo) {
        reply(s, "250 %s", s->cfg->hostname);
    } else {
        reply(s, "250-%s greets %s", s->cfg->hostname,
            log_escape(esc, sizeof(esc), arg, strlen(arg)));
        reply(s, "250-SIZE %zu", s->cfg->max_message);
        reply(s, "250-PIPELINING");
        reply(s, "250-8BITMIME");
        if (s->cfg->tls_available && !s->tls)
            reply(s, "250-STARTTLS");
        reply(s, "250 ENHANCEDSTATUSCODES");
    }
    smtp_enter_state(s, SMTP_S_HELO);
}

static void
cmd_mail(struct smtp_session *s, const char *arg)
{
    char        addr[SMTP_ADDR_MAX + 1];
    const char *p, *e;
    char       *end;
    unsigned long long size;

    if (s->cfg->require_tls && !s->tls) {
        reply(s, "530 5.7.0 Must issue a STARTTLS command first");
        smtp_error(s);
        return;
    }
    if (strncasecmp(arg, " FROM:", 6) != 0 ||
        !parse_path(arg + 6, addr, sizeof(addr), &p)) {
        reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
        smtp_error(s);
        return;
    }
    if (!utf8_ok(addr)) {
        reply(s, "501 5.1.7 Sender address is not valid UTF-8");
        smtp_error(s);
        return;
    }
    /* parameters: SIZE=, BODY= (RFC 1870, RFC 6152) */
    for (p = skip_sp(p); *p != '\0'; p = skip_sp(e)) {
        e = strchr(p, ' ');
        if (e == NULL)
            e = p + strlen(p);
        if (strncasecmp(p, "SIZE=", 5) == 0) {
            size = strtoull(p + 5, &end, 10);
            if (end != e || end == p + 5) {
                reply(s, "501 5.5.4 Bad SIZE parameter");
                smtp_error(s);
                return;
            }
            if (size > s->cfg->max_message) {
                reply(s, "552 5.3.4 Message size exceeds fixed limit of %zu",
                    s->cfg->max_message);
                return;
            }
        } else if ((e - p == 9 && strncasecmp(p, "BODY=7BIT", 9) == 0) ||
            (e - p == 13 && strncasecmp(p, "BODY=8BITMIME", 13) == 0)) {
            ;                                 /* both are fine */
        } else {
            reply(s, "555 5.5.4 Unsupported MAIL parameter");
            smtp_error(s);
            return;
        }
    }
    s->mail_from = strdup(addr);
    reply(s, "250 2.1.0 Ok");
    smtp_enter_state(s, SMTP_S_MAIL);
}

static void
cmd_rcpt(struct smtp_session *s, const char *arg)
{
    char        addr[SMTP_ADDR_MAX + 1], esc[80];
    const char *p;
    char      **nr;
    unsigned    wait;

    if (strncasecmp(arg, " TO:", 4) != 0 ||
        !parse_path(arg + 4, addr, sizeof(addr), &p) || addr[0] == '\0' ||
        (*p != '\0' && *p != ' ')) {
        reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
        smtp_error(s);
        return;
    }
    /* no extension we offer defines a RCPT parameter (RFC 5321 4.1.1.3;
     * NOTIFY= and ORCPT= are DSN's, RFC 3461, which we do not offer) */
    if (*skip_sp(p) != '\0') {
        reply(s, "555 5.5.4 Unsupported RCPT parameter");
        smtp_error(s);
        return;
    }
    if (!utf8_ok(addr)) {
        reply(s, "501 5.1.3 Recipient address is not valid UTF-8");
        smtp_error(s);
        return;
    }
    if (s->n_rcpt >= s->cfg->max_rcpt) {
        reply(s, "452 4.5.3 Too many recipients");
        return;
    }
    if (s->hooks->rcpt_ok == NULL || !s->hooks->rcpt_ok(s->hooks->ctx,
        addr)) {
        reply(s, "550 5.1.1 <%s>: Recipient address rejected",
            log_escape(esc, sizeof(esc), addr, strlen(addr)));
        log_info("sess=%016llx smtp rcpt refused to=%s",
            (unsigned long long)s->id, esc);
        smtp_error(s);
        return;
    }
    if (s->n_rcpt == 0 && s->hooks->admit != NULL && (wait =
        s->hooks->admit(s->hooks->ctx, s->mail_from ? s->mail_from : "")) >
        0) {
        /* not an error of the client's: no smtp_error() */
        reply(s, "452 4.7.1 Too many reports from you; try again in %u "
            "seconds", wait);
        return;
    }
    if ((nr = realloc(s->rcpt, (s->n_rcpt + 1) * sizeof(*nr))) == NULL ||
        (nr[s->n_rcpt] = strdup(addr)) == NULL) {
        if (nr != NULL)
            s->rcpt = nr;
        reply(s, "452 4.3.1 Insufficient system storage");
        return;
    }
    s->rcpt = nr;
    s->n_rcpt++;
    reply(s, "250 2.1.5 Ok");
    smtp_enter_state(s, SMTP_S_RCPT);
}

/* received_header - our trace header (RFC 5321 4.4), first in msg */
static void
received_header(struct smtp_session *s)
{
    char      helo[80], date[64];
    time_t    now = time(NULL);
    struct tm tm;

    log_escape(helo, sizeof(helo), s->helo ? s->helo : "unknown",
        strlen(s->helo ? s->helo : "unknown"));
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    buf_printf(&s->msg, "Received: from %s ([%s])\r\n\tby %s (ruad) with "
        "%s id %016llx", helo, s->peer, s->cfg->hostname,
        s->tls ? "ESMTPS" : "ESMTP", (unsigned long long)s->id);
    if (s->tls)
        buf_printf(&s->msg, "\r\n\t(using %s with cipher %s)",
            s->tls_version, s->tls_cipher);
    buf_printf(&s->msg, ";\r\n\t%s\r\n", date);
}

static void
cmd_data(struct smtp_session *s, const char *arg)
{
    (void)arg;
    if (s->state == SMTP_S_MAIL) {
        reply(s, "554 5.5.1 No valid recipients");
        smtp_error(s);
        return;
    }
    buf_init(&s->msg, s->cfg->max_message + SMTP_HEADER_MAX);
    received_header(s);
    s->trace_len = buf_len(&s->msg);
    s->ds = D_LS;
    s->msg_bytes = 0;
    s->line_len = 0;
    s->too_big = s->line_too_long = s->bare = false;
    reply(s, "354 End data with <CR><LF>.<CR><LF>");
    smtp_enter_state(s, SMTP_S_DATA);
}

static void
cmd_rset(struct smtp_session *s, const char *arg)
{
    (void)arg;
    smtp_reset(s);
    reply(s, "250 2.0.0 Ok");
    if (s->state != SMTP_S_READY)
        smtp_enter_state(s, SMTP_S_HELO);
}

static void
cmd_noop(struct smtp_session *s, const char *arg)
{
    (void)arg;
    reply(s, "250 2.0.0 Ok");
}

static void
cmd_quit(struct smtp_session *s, const char *arg)
{
    (void)arg;
    reply(s, "221 2.0.0 Bye");
    smtp_enter_state(s, SMTP_S_CLOSING);
}

static void
cmd_vrfy(struct smtp_session *s, const char *arg)
{
    (void)arg;
    reply(s, "252 2.5.0 Cannot VRFY, but will take a message for a "
        "configured address");
}

static void
cmd_help(struct smtp_session *s, const char *arg)
{
    (void)arg;
    reply(s, "214 2.0.0 ruad takes DMARC and TLS reports; see RFC 5321");
}

static void
cmd_starttls(struct smtp_session *s, const char *arg)
{
    if (s->tls) {
        reply(s, "554 5.5.1 TLS already active");
        smtp_error(s);
        return;
    }
    if (!s->cfg->tls_available) {
        reply(s, "502 5.5.1 STARTTLS not available");
        smtp_error(s);
        return;
    }
    if (*arg != '\0') {
        reply(s, "501 5.5.4 STARTTLS takes no parameters");
        smtp_error(s);
        return;
    }
    reply(s, "220 2.0.0 Ready to start TLS");
    smtp_enter_state(s, SMTP_S_TLS);
}

static void
cmd_unimpl(struct smtp_session *s, const char *arg)
{
    (void)arg;
    reply(s, "502 5.5.1 Command not implemented");
    smtp_error(s);
}

#define IN(st) (1u << SMTP_S_##st)
#define AFTER_HELO (IN(HELO) | IN(MAIL) | IN(RCPT))

static const struct smtp_cmd {
    const char *name;
    unsigned    allowed;           /* states in which the verb is legal */
    void      (*run)(struct smtp_session *, const char *arg);
} smtp_cmds[] = {
    { "EHLO",     IN(READY) | AFTER_HELO, NULL },   /* cmd_helo(.., true) */
    { "HELO",     IN(READY) | AFTER_HELO, NULL },
    { "MAIL",     IN(HELO),              cmd_mail },
    { "RCPT",     IN(MAIL) | IN(RCPT),   cmd_rcpt },
    { "DATA",     IN(MAIL) | IN(RCPT),   cmd_data },
    { "RSET",     IN(READY) | AFTER_HELO, cmd_rset },
    { "NOOP",     IN(READY) | AFTER_HELO, cmd_noop },
    { "QUIT",     IN(READY) | AFTER_HELO, cmd_quit },
    { "VRFY",     IN(READY) | AFTER_HELO, cmd_vrfy },
    { "HELP",     IN(READY) | AFTER_HELO, cmd_help },
    { "STARTTLS", IN(HELO),              cmd_starttls },
    { "EXPN",     IN(READY) | AFTER_HELO, cmd_unimpl },
    { "AUTH",     IN(READY) | AFTER_HELO, cmd_unimpl },
    { "BDAT",     IN(READY) | AFTER_HELO, cmd_unimpl },
    { "ETRN",     IN(READY) | AFTER_HELO, cmd_unimpl },
    { "TURN",     IN(READY) | AFTER_HELO, cmd_unimpl },
};

/* smtp_command - one complete command line (CRLF removed) */
static void
smtp_command(struct smtp_session *s, const char *line)
{
    size_t i, n;

    for (n = 0; line[n] != '\0' && line[n] != ' '; n++)
        ;
    for (i = 0; i < sizeof(smtp_cmds) / sizeof(smtp_cmds[0]); i++) {
        const struct smtp_cmd *c = &smtp_cmds[i];

        if (strlen(c->name) != n || strncasecmp(line, c->name, n) != 0)
            continue;
        if (!(c->allowed & (1u << s->state))) {
            reply(s, "503 5.5.1 Bad sequence of commands");
            smtp_error(s);
            return;
        }
        if (c->run == NULL)                  /* EHLO, HELO */
            cmd_helo(s, line + n, c->name[0] == 'E');
        else
            c->run(s, line + n);
        return;
    }
    reply(s, "500 5.5.1 Command unrecognized");
    smtp_error(s);
}

/* ---- DATA ---- */

/* data_put - one byte of message content */
static void
data_put(struct smtp_session *s, char c)
{
    s->msg_bytes++;
    if (c == '\n') {
        s->line_len = 0;
    } else if (c != '\r' && ++s->line_len > s->cfg->max_line) {
        s->line_too_long = true;
    }
    if (s->too_big || s->line_too_long)
        return;
    if (s->msg_bytes > s->cfg->max_message) {
        s->too_big = true;                  /* counted, not kept */
        buf_free(&s->msg);
        return;
    }
    if (buf_append_byte(&s->msg, (unsigned char)c) != RUAD_OK) {
        s->too_big = true;
        buf_free(&s->msg);
    }
}

/* data_end - CRLF.CRLF seen: answer, or hand the message on */
static void
data_end(struct smtp_session *s)
{
    struct smtp_envelope env;
    char                 id[64];
    enum ruad_rc         rc;

    if (s->too_big) {
        reply(s, "552 5.3.4 Message size exceeds fixed limit of %zu",
            s->cfg->max_message);
        log_info("sess=%016llx smtp refused reason=size bytes=%llu",
            (unsigned long long)s->id, (unsigned long long)s->msg_bytes);
        goto done;
    }
    if (s->line_too_long) {
        reply(s, "552 5.3.4 Line too long (more than %zu bytes)",
            s->cfg->max_line);
        log_info("sess=%016llx smtp refused reason=line",
            (unsigned long long)s->id);
        goto done;
    }
    if (s->bare && s->cfg->reject_bare_lf) {
        reply(s, "550 5.5.2 Bare LF or CR in message; use CRLF");
        log_info("sess=%016llx smtp refused reason=bare-lf",
            (unsigned long long)s->id);
        goto done;
    }
    memset(&env, 0, sizeof(env));
    env.peer = s->peer;
    env.helo = s->helo;
    env.mail_from = s->mail_from ? s->mail_from : "";
    env.rcpt = (const char *const *)s->rcpt;
    env.n_rcpt = s->n_rcpt;
    env.tls_version = s->tls ? s->tls_version : NULL;
    env.tls_cipher = s->tls ? s->tls_cipher : NULL;
    env.session_id = s->id;
    env.trace_len = s->trace_len;
    id[0] = '\0';
    smtp_enter_state(s, SMTP_S_STORING);
    rc = s->hooks->on_message ? s->hooks->on_message(s->hooks->ctx, &env,
        buf_ptr(&s->msg), buf_len(&s->msg), id, sizeof(id)) : RUAD_INTERNAL;
    if (rc == RUAD_DEFERRED)
        return;                 /* smtp_session_stored() answers */
    smtp_session_stored(s, rc, id);
    return;
done:
    smtp_reset(s);
    smtp_enter_state(s, SMTP_S_HELO);
}

/*
 * smtp_data - message bytes; returns how many were taken (stops after
 * the end of data).  States: D_LS at a line start after CRLF, D_TEXT in
 * a line, D_CR after a CR, D_DOT after a "." at a line start, D_DOTCR
 * after ".\r" there.  Only CRLF "." CRLF ends; a "." that starts a line
 * is dropped (RFC 5321 4.5.2).
 */
static size_t
smtp_data(struct smtp_session *s, const char *buf, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        char c = buf[i];

    again:
        switch (s->ds) {
        case D_LS:
            if (c == '.') {
                s->ds = D_DOT;
                break;
            }
            s->ds = D_TEXT;
            goto again;
        case D_TEXT:
            if (c == '\r') {
                s->ds = D_CR;
            } else {
                if (c == '\n')
                    s->bare = true;         /* LF without CR */
                data_put(s, c);
            }
            break;
        case D_CR:
            if (c == '\n') {
                data_put(s, '\r');
                data_put(s, '\n');
                s->ds = D_LS;
            } else {
                s->bare = true;             /* CR without LF */
                data_put(s, '\r');
                if (c != '\r')
                    s->ds = D_TEXT;
                if (c != '\r')
                    goto again;
            }
            break;
        case D_DOT:
            if (c == '\r') {
                s->ds = D_DOTCR;
                break;
            }
            s->ds = D_TEXT;                 /* the stuffed dot is dropped */
            goto again;
        case D_DOTCR:
            if (c == '\n') {
                data_end(s);
                return i + 1;
            }
            s->bare = true;                 /* ".\r" then not LF */
            data_put(s, '\r');
            s->ds = D_TEXT;
            goto again;
        }
    }
    return len;
}

/* ---- the public face ---- */

struct smtp_session *
smtp_session_new(const struct smtp_config *cfg,
    const struct smtp_hooks *hooks, const char *peer, uint64_t id)
{
    struct smtp_session *s = calloc(1, sizeof(*s));

    if (s == NULL || (s->peer = strdup(peer ? peer : "unknown")) == NULL) {
        free(s);
        return NULL;
    }
    s->cfg = cfg;
    s->hooks = hooks;
    s->id = id;
    s->state = SMTP_S_GREET;
    buf_init(&s->out, SMTP_OUT_MAX);
    buf_init(&s->line, SMTP_CMD_LINE_MAX);
    buf_init(&s->msg, 0);
    return s;
}

void
smtp_session_free(struct smtp_session *s)
{
    if (s == NULL)
        return;
    smtp_reset(s);
    buf_free(&s->out);
    buf_free(&s->line);
    free(s->helo);
    free(s->peer);
    free(s);
}

void
smtp_session_greet(struct smtp_session *s)
{
    if (s->state != SMTP_S_GREET)
        return;
    reply(s, "220 %s ESMTP ruad", s->cfg->hostname);
    smtp_enter_state(s, SMTP_S_READY);
}

enum ruad_rc
smtp_session_feed(struct smtp_session *s, const char *buf, size_t len,
    size_t *used)
{
    size_t i = 0;

    *used = 0;
    if (s->state == SMTP_S_GREET && len > 0) {
        /* RFC 5321 4.3.1: the client waits for the banner */
        reply(s, "554 5.5.0 %s Input before the banner, closing",
            s->cfg->hostname);
        log_info("sess=%016llx smtp close reason=pregreet",
            (unsigned long long)s->id);
        smtp_enter_state(s, SMTP_S_CLOSING);
        *used = len;
        return RUAD_OK;
    }
    while (i < len) {
        const char *nl;
        size_t      n;

        switch (s->state) {
        case SMTP_S_STORING:
        case SMTP_S_TLS:
        case SMTP_S_CLOSING:
        case SMTP_S_GREET:
            *used = i;
            return RUAD_OK;
        case SMTP_S_DATA:
            i += smtp_data(s, buf + i, len - i);
            continue;
        default:
            break;
        }
        if (buf_len(&s->out) > SMTP_OUT_PAUSE)
            break;                  /* the client is not reading replies */
        nl = memchr(buf + i, '\n', len - i);
        n = nl ? (size_t)(nl - (buf + i)) + 1 : len - i;
        if (!s->line_long && buf_append(&s->line, buf + i, n) != RUAD_OK)
            s->line_long = true;    /* RFC 5321 4.5.3.1.4 */
        i += n;
        if (nl == NULL)
            break;
        if (s->line_long) {
            reply(s, "500 5.5.2 Line too long (more than %d bytes)",
                SMTP_CMD_LINE_MAX);
            smtp_error(s);
        } else {
            size_t l = buf_len(&s->line);
            char  *line = s->line.data;

            /* CRLF (or a bare LF: commands are not where smuggling is) */
            line[--l] = '\0';
            if (l > 0 && line[l - 1] == '\r')
                line[--l] = '\0';
            if (memchr(line, '\0', l) != NULL) {
                reply(s, "500 5.5.2 NUL in command");
                smtp_error(s);
            } else {
                smtp_command(s, line);
            }
        }
        buf_reset(&s->line);
        s->line_long = false;
    }
    *used = i;
    return RUAD_OK;
}

const char *
smtp_session_output(const struct smtp_session *s, size_t *len)
{
    *len = buf_len(&s->out);
    return buf_ptr(&s->out);
}

void
smtp_session_output_done(struct smtp_session *s, size_t n)
{
    if (n >= s->out.len) {
        buf_reset(&s->out);
        return;
    }
    memmove(s->out.data, s->out.data + n, s->out.len - n);
    s->out.len -= n;
    s->out.data[s->out.len] = '\0';
}

bool
smtp_session_wants_tls(const struct smtp_session *s)
{
    return s->state == SMTP_S_TLS;
}

void
smtp_session_tls_started(struct smtp_session *s, const char *version,
    const char *cipher)
{
    s->tls = true;
    snprintf(s->tls_version, sizeof(s->tls_version), "%s",
        version ? version : "TLS");
    snprintf(s->tls_cipher, sizeof(s->tls_cipher), "%s",
        cipher ? cipher : "unknown");
    /* RFC 3207 4.2: forget everything the client said before */
    smtp_reset(s);
    free(s->helo);
    s->helo = NULL;
    buf_reset(&s->line);
    smtp_enter_state(s, SMTP_S_READY);
}

bool
smtp_session_busy(const struct smtp_session *s)
{
    return s->state == SMTP_S_STORING;
}

void
smtp_session_stored(struct smtp_session *s, enum ruad_rc rc, const char *id)
{
    if (s->state != SMTP_S_STORING)
        return;
    if (rc == RUAD_OK) {
        reply(s, "250 2.0.0 Ok: queued as %s", id && *id ? id : "?");
    } else {
        /* the reporter retries: never lose a report to our trouble */
        reply(s, "451 4.3.0 Cannot store the message now, try again later");
    }
    smtp_reset(s);
    smtp_enter_state(s, SMTP_S_HELO);
    if (s->shutdown)
        smtp_session_shutdown(s);
}

bool
smtp_session_closing(const struct smtp_session *s)
{
    return s->state == SMTP_S_CLOSING;
}

void
smtp_session_timeout(struct smtp_session *s)
{
    if (s->state == SMTP_S_CLOSING || s->state == SMTP_S_STORING)
        return;
    reply(s, "421 4.4.2 %s Idle too long, closing", s->cfg->hostname);
    log_info("sess=%016llx smtp close reason=timeout",
        (unsigned long long)s->id);
    smtp_enter_state(s, SMTP_S_CLOSING);
}

void
smtp_session_shutdown(struct smtp_session *s)
{
    if (s->state == SMTP_S_STORING) {
        s->shutdown = true;                 /* answer first */
        return;
    }
    if (s->state == SMTP_S_CLOSING)
        return;
    reply(s, "421 4.3.2 %s Service shutting down, try again later",
        s->cfg->hostname);
    smtp_enter_state(s, SMTP_S_CLOSING);
}

bool
smtp_session_in_data(const struct smtp_session *s)
{
    return s->state == SMTP_S_DATA;
}

size_t
smtp_session_buffered(const struct smtp_session *s)
{
    return s->msg.data != NULL ? s->msg.cap + 1 : 0;
}

void
smtp_session_abort(struct smtp_session *s, enum smtp_abort why)
{
    static const char *const reason[] = { "data-deadline",
        "session-deadline", "memory" };

    if (s->state == SMTP_S_CLOSING || s->state == SMTP_S_STORING)
        return;
    switch (why) {
    case SMTP_ABORT_DATA_TIME:
        reply(s, "421 4.4.2 %s Message took too long to arrive, closing",
            s->cfg->hostname);
        break;
    case SMTP_ABORT_SESSION_TIME:
        reply(s, "421 4.4.2 %s Session lasted too long, closing",
            s->cfg->hostname);
        break;
    case SMTP_ABORT_MEMORY:
        reply(s, "421 4.3.1 %s Too much mail arriving at once, try again "
            "later", s->cfg->hostname);
        break;
    }
    log_info("sess=%016llx smtp close reason=%s peer=%s",
        (unsigned long long)s->id, reason[why], s->peer);
    /* the message is lost to us: its sender keeps it and retries */
    smtp_reset(s);
    smtp_enter_state(s, SMTP_S_CLOSING);
}
