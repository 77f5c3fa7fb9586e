/*
 * test_smtp_session.c - the SMTP engine through dialogues: every verb,
 * pipelining, every limit one step past, the smuggling endings and the
 * STARTTLS injection.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "smtp_session.h"

struct rec {
    unsigned messages;
    char     last[8192];
    size_t   last_len;
    char     from[300], rcpt0[300];
    size_t   n_rcpt;
    enum ruad_rc answer;        /* what on_message returns */
};

static bool
rcpt_ok(void *ctx, const char *addr)
{
    (void)ctx;
    return strcmp(addr, "dmarc@rua.example") == 0 ||
        strcmp(addr, "tlsrpt@rua.example") == 0;
}

static enum ruad_rc
on_message(void *ctx, const struct smtp_envelope *env, const char *data,
    size_t len, char *id, size_t idlen)
{
    struct rec *r = ctx;

    r->messages++;
    r->last_len = len < sizeof(r->last) ? len : sizeof(r->last) - 1;
    memcpy(r->last, data, r->last_len);
    r->last[r->last_len] = '\0';
    snprintf(r->from, sizeof(r->from), "%s", env->mail_from);
    snprintf(r->rcpt0, sizeof(r->rcpt0), "%s", env->n_rcpt ? env->rcpt[0] :
        "");
    r->n_rcpt = env->n_rcpt;
    snprintf(id, idlen, "%u", r->messages);
    return r->answer;
}

static struct smtp_config
config(void)
{
    struct smtp_config c = {
        .hostname = "mx.test", .max_message = 4096, .max_line = 200,
        .max_rcpt = 3, .max_errors = 5, .tls_available = true,
        .require_tls = false, .reject_bare_lf = false,
    };

    return c;
}

/*
 * talk - greet, feed input in chunks of chunk bytes (0: all at once),
 * return everything the server said.  *used_all says whether every byte
 * was taken.
 */
static char *
talk(const struct smtp_config *cfg, struct rec *r, const char *in,
    size_t len, size_t chunk, bool greet, bool *used_all)
{
    struct smtp_hooks    hooks = { r, rcpt_ok, on_message, NULL };
    struct smtp_session *s = smtp_session_new(cfg, &hooks, "192.0.2.7", 42);
    static char          out[65536];
    size_t               o = 0, off = 0, used, n, olen;
    const char          *p;

    assert_non_null(s);
    if (greet)
        smtp_session_greet(s);
    *used_all = true;
    while (off < len) {
        n = chunk && chunk < len - off ? chunk : len - off;
        assert_int_equal(smtp_session_feed(s, in + off, n, &used), RUAD_OK);
        off += used;
        p = smtp_session_output(s, &olen);
        if (o + olen < sizeof(out)) {
            memcpy(out + o, p, olen);
            o += olen;
        }
        smtp_session_output_done(s, olen);
        if (used < n) {
            *used_all = false;
            break;
        }
    }
    p = smtp_session_output(s, &olen);
    if (o + olen < sizeof(out)) {
        memcpy(out + o, p, olen);
        o += olen;
    }
    out[o] = '\0';
    smtp_session_free(s);
    return out;
}

#define HELLO "EHLO client.example\r\n"
#define ENV   "MAIL FROM:<r@reporter.example>\r\nRCPT TO:<dmarc@rua.example>\r\n"

static const struct dialogue {
    const char *name;
    const char *in;
    const char *want[6];      /* substrings of the output, in order */
    unsigned    messages;
    const char *body;         /* substring of the stored message */
} dialogues[] = {
    { "delivery", HELLO ENV "DATA\r\nSubject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n",
      { "220 mx.test ESMTP", "250-SIZE 4096", "250-STARTTLS",
        "250 ENHANCEDSTATUSCODES", "250 2.0.0 Ok: queued as 1", "221 2.0.0" },
      1, "\r\nhello\r\n" },
    { "dot unstuffing", HELLO ENV "DATA\r\n..leading\r\n.\r\n",
      { "354", "queued as 1" }, 1, "\r\n.leading\r\n" },
    { "empty message", HELLO ENV "DATA\r\n.\r\n", { "354", "queued" }, 1,
      "Received: from client.example" },
    { "bare LF dot does not end", HELLO ENV
      "DATA\r\nline\n.\nMAIL FROM:<evil@x>\r\n.\r\n",
      { "354", "queued as 1" }, 1, "\n.\nMAIL FROM:<evil@x>" },
    { "CR dot CR does not end", HELLO ENV "DATA\r\na\r.\rb\r\n.\r\n",
      { "354", "queued as 1" }, 1, "a\r.\rb" },
    { "CRLF dot LF does not end", HELLO ENV "DATA\r\na\r\n.\nb\r\n.\r\n",
      { "354", "queued as 1" }, 1, "a\r\n\nb" },
    { "pipelined", "EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<dmarc@rua.example>\r\n"
      "RCPT TO:<tlsrpt@rua.example>\r\nDATA\r\nx\r\n.\r\nRSET\r\n"
      "NOOP\r\nQUIT\r\n",
      { "250 2.1.0", "250 2.1.5", "250 2.1.5", "354", "queued as 1",
        "221" }, 1, "x\r\n" },
    { "relay refused", HELLO "MAIL FROM:<a@b>\r\nRCPT TO:<x@elsewhere>\r\n"
      "DATA\r\n", { "550 5.1.1 <x@elsewhere>", "554 5.5.1 No valid" }, 0,
      NULL },
    { "out of sequence", "EHLO c\r\nRCPT TO:<dmarc@rua.example>\r\nDATA\r\n"
      "MAIL FROM:<a@b>\r\nMAIL FROM:<a@b>\r\n",
      { "503 5.5.1", "503 5.5.1", "250 2.1.0", "503 5.5.1" }, 0, NULL },
    { "before EHLO", "MAIL FROM:<a@b>\r\n", { "503 5.5.1" }, 0, NULL },
    { "unknown verb", "EHLO c\r\nFROB\r\n", { "500 5.5.1" }, 0, NULL },
    { "vrfy help noop", "VRFY x\r\nHELP\r\nNOOP\r\n",
      { "252 2.5.0", "214 2.0.0", "250 2.0.0" }, 0, NULL },
    { "helo", "HELO c\r\nMAIL FROM:<a@b>\r\n", { "250 mx.test", "250 2.1.0" },
      0, NULL },
    { "SIZE at the cap", "EHLO c\r\nMAIL FROM:<a@b> SIZE=4096 BODY=8BITMIME\r\n",
      { "250 2.1.0" }, 0, NULL },
    { "SIZE past the cap", "EHLO c\r\nMAIL FROM:<a@b> SIZE=4097\r\n",
      { "552 5.3.4" }, 0, NULL },
    { "unknown MAIL parameter", "EHLO c\r\nMAIL FROM:<a@b> XYZ=1\r\n",
      { "555 5.5.4" }, 0, NULL },
    { "recipients at the cap and past", HELLO "MAIL FROM:<a@b>\r\n"
      "RCPT TO:<dmarc@rua.example>\r\nRCPT TO:<dmarc@rua.example>\r\n"
      "RCPT TO:<dmarc@rua.example>\r\nRCPT TO:<dmarc@rua.example>\r\n",
      { "250 2.1.5", "250 2.1.5", "250 2.1.5", "452 4.5.3" }, 0, NULL },
    { "too many errors", "X\r\nX\r\nX\r\nX\r\nX\r\nNOOP\r\n",
      { "500", "500", "500", "500", "421 4.7.0" }, 0, NULL },
    { "STARTTLS", "EHLO c\r\nSTARTTLS\r\n", { "220 2.0.0 Ready" }, 0, NULL },
    { "STARTTLS with junk", "EHLO c\r\nSTARTTLS now\r\n", { "501 5.5.4" }, 0,
      NULL },
    { "QUIT ends", "QUIT\r\nNOOP\r\n", { "221" }, 0, NULL },
    { "NUL in command", "EHLO c\r\nNO\0OP\r\n", { "500 5.5.2 NUL" }, 0, NULL },
    /* the envelope is stored as text: only well-formed UTF-8 (RFC 3629) */
    { "UTF-8 at each boundary", "EHLO c\r\n"
      "MAIL FROM:<\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80"
      "\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf@b>\r\n",
      { "250 2.1.0" }, 0, NULL },
    { "EHLO not UTF-8", "EHLO \xff\r\nHELO c\xc3\r\nEHLO c\r\n",
      { "501 5.5.4 EHLO", "501 5.5.4 HELO", "250" }, 0, NULL },
    { "MAIL FROM not UTF-8", "EHLO c\r\n"
      "MAIL FROM:<\xc1\xbf@b>\r\n"          /* overlong 2-byte */
      "MAIL FROM:<\xe0\x9f\xbf@b>\r\n"      /* overlong 3-byte */
      "MAIL FROM:<\xed\xa0\x80@b>\r\n"      /* a surrogate */
      "MAIL FROM:<\xf0\x8f\xbf\xbf@b>\r\n"  /* overlong 4-byte */
      "MAIL FROM:<\xf4\x90\x80\x80@b>\r\n", /* above U+10FFFF */
      { "501 5.1.7", "501 5.1.7", "501 5.1.7", "501 5.1.7", "421 4.7.0" }, 0,
      NULL },
    /* RFC 5321 4.1.1.3: no extension we offer defines one */
    { "RCPT parameters", "EHLO c\r\nMAIL FROM:<a@b>\r\n"
      "RCPT TO:<dmarc@rua.example> NOTIFY=NEVER\r\n"
      "RCPT TO:<dmarc@rua.example> ORCPT=rfc822;x@y\r\n"
      "RCPT TO:<dmarc@rua.example>junk\r\n"
      "RCPT TO:<dmarc@rua.example>   \r\nDATA\r\n",
      { "555 5.5.4 Unsupported RCPT", "555 5.5.4 Unsupported RCPT",
        "501 5.5.4", "250 2.1.5", "354" }, 0, NULL },
    { "RCPT TO not UTF-8", "EHLO c\r\nMAIL FROM:<a@b>\r\n"
      "RCPT TO:<dmarc\x80@rua.example>\r\nRCPT TO:<a\xe2\x82@b>\r\n"
      "RCPT TO:<dmarc@rua.example>\r\n",
      { "501 5.1.3", "501 5.1.3", "250 2.1.5" }, 0, NULL },
};

static void
test_dialogues(void **state)
{
    struct smtp_config cfg = config();
    struct rec         r;
    size_t             i, k, chunk;
    bool               all;

    (void)state;
    for (i = 0; i < sizeof(dialogues) / sizeof(dialogues[0]); i++) {
        const struct dialogue *d = &dialogues[i];
        size_t len = strlen(d->in);

        if (strcmp(d->name, "NUL in command") == 0)
            len = sizeof("EHLO c\r\nNO\0OP\r\n") - 1;
        /* the same dialogue must not depend on how the bytes arrive */
        for (chunk = 0; chunk <= 7; chunk += 1) {
            const char *out, *at;

            memset(&r, 0, sizeof(r));
            r.answer = RUAD_OK;
            out = talk(&cfg, &r, d->in, len, chunk, true, &all);
            at = out;
            for (k = 0; k < 6 && d->want[k] != NULL; k++) {
                const char *f = strstr(at, d->want[k]);

                if (f == NULL)
                    fail_msg("%s (chunk %zu): no \"%s\" after \"%.60s\" in:"
                        "\n%s", d->name, chunk, d->want[k], at, out);
                at = f + strlen(d->want[k]);
            }
            if (r.messages != d->messages)
                fail_msg("%s (chunk %zu): %u messages", d->name, chunk,
                    r.messages);
            if (d->body != NULL && strstr(r.last, d->body) == NULL)
                fail_msg("%s: message lacks \"%s\":\n%s", d->name, d->body,
                    r.last);
        }
    }
}

/* The Received header names the peer, HELO and session. */
static void
test_received(void **state)
{
    struct smtp_config cfg = config();
    struct rec         r = { .answer = RUAD_OK };
    const char        *in = HELLO ENV "DATA\r\nx\r\n.\r\n";
    bool               all;

    (void)state;
    talk(&cfg, &r, in, strlen(in), 0, true, &all);
    assert_int_equal(r.messages, 1);
    assert_non_null(strstr(r.last, "Received: from client.example "
        "([192.0.2.7])\r\n\tby mx.test (ruad) with ESMTP id "
        "000000000000002a;\r\n"));
    assert_string_equal(r.from, "r@reporter.example");
    assert_string_equal(r.rcpt0, "dmarc@rua.example");
}

/* A command line of 512 bytes with CRLF passes, 513 gets 500 5.5.2. */
static void
test_command_line_limit(void **state)
{
    struct smtp_config cfg = config();
    struct rec         r = { .answer = RUAD_OK };
    char               in[2048];
    const char        *out;
    bool               all;
    int                n;

    (void)state;
    n = snprintf(in, sizeof(in), "NOOP %0*d\r\n", SMTP_CMD_LINE_MAX - 7, 0);
    assert_int_equal(n, SMTP_CMD_LINE_MAX);
    out = talk(&cfg, &r, in, (size_t)n, 0, true, &all);
    assert_non_null(strstr(out, "250 2.0.0"));
    n = snprintf(in, sizeof(in), "NOOP %0*d\r\nNOOP\r\n",
        SMTP_CMD_LINE_MAX - 6, 0);
    out = talk(&cfg, &r, in, (size_t)n, 3, true, &all);
    assert_non_null(strstr(out, "500 5.5.2 Line too long"));
    assert_non_null(strstr(out, "250 2.0.0"));   /* the next one works */
}

/* Message size: max_message bytes pass, one more is 552 and not kept. */
static void
test_message_limit(void **state)
{
    struct smtp_config cfg = config();
    struct rec         r = { .answer = RUAD_OK };
    char              *in, *body;
    const char        *out;
    size_t             hdr, n;
    bool               all;

    (void)state;
    cfg.max_line = 100000;
    body = malloc(cfg.max_message + 2);
    in = malloc(cfg.max_message + 256);
    /* the size counts the message as received, CRLFs included (the
     * Received header is ours and not counted) */
    for (size_t extra = 0; extra <= 1; extra++) {
        memset(&r, 0, sizeof(r));
        r.answer = RUAD_OK;
        n = cfg.max_message - 2 + extra;       /* + CRLF = max (+1) */
        memset(body, 'a', n);
        body[n] = '\0';
        hdr = (size_t)snprintf(in, 256, HELLO ENV "DATA\r\n");
        memcpy(in + hdr, body, n);
        memcpy(in + hdr + n, "\r\n.\r\nNOOP\r\n", 12);
        out = talk(&cfg, &r, in, hdr + n + 11, 1000, true, &all);
        if (extra == 0) {
            assert_int_equal(r.messages, 1);
            assert_non_null(strstr(out, "queued as 1"));
        } else {
            assert_int_equal(r.messages, 0);
            assert_non_null(strstr(out, "552 5.3.4"));
            assert_non_null(strstr(out, "250 2.0.0 Ok\r\n"));  /* NOOP */
        }
    }
    free(body);
    free(in);
}

/* A text line of max_line bytes passes, one more is 552. */
static void
test_text_line_limit(void **state)
{
    struct smtp_config cfg = config();
    struct rec         r = { .answer = RUAD_OK };
    char               in[1024], line[300];
    const char        *out;
    bool               all;
    int                n;

    (void)state;
    memset(line, 'b', sizeof(line));
    line[cfg.max_line] = '\0';
    n = snprintf(in, sizeof(in), HELLO ENV "DATA\r\n%s\r\n.\r\n", line);
    out = talk(&cfg, &r, in, (size_t)n, 0, true, &all);
    assert_non_null(strstr(out, "queued as 1"));
    line[cfg.max_line] = 'b';
    line[cfg.max_line + 1] = '\0';
    memset(&r, 0, sizeof(r));
    n = snprintf(in, sizeof(in), HELLO ENV "DATA\r\n%s\r\n.\r\n", line);
    out = talk(&cfg, &r, in, (size_t)n, 0, true, &all);
    assert_non_null(strstr(out, "552 5.3.4 Line too long"));
    assert_int_equal(r.messages, 0);
}

/* reject_bare_lf: a message with a bare LF is refused with 550 5.5.2. */
static void
test_bare_lf_policy(void **state)
{
    struct smtp_config cfg = config();
    struct rec         r = { .answer = RUAD_OK };
    const char        *in = HELLO ENV "DATA\r\na\nb\r\n.\r\n";
    const char        *out;
    bool               all;

    (void)state;
    cfg.reject_bare_lf = true;
    out = talk(&cfg, &r, in, strlen(in), 0, true, &all);
    assert_non_null(strstr(out, "550 5.5.2"));
    assert_int_equal(r.messages, 0);
    cfg.reject_bare_lf = false;
    out = talk(&cfg, &r, in, strlen(in), 0, true, &all);
    assert_non_null(strstr(out, "queued"));
}

/* Storage trouble is a 451 (the reporter retries), never a 5xx. */
static void
test_tempfail(void **state)
{
    struct smtp_config cfg = config();
    struct rec         r = { .answer = RUAD_TEMPFAIL };
    const char        *in = HELLO ENV "DATA\r\nx\r\n.\r\n";
    const char        *out;
    bool               all;

    (void)state;
    out = talk(&cfg, &r, in, strlen(in), 0, true, &all);
    assert_non_null(strstr(out, "451 4.3.0"));
    r.answer = RUAD_INTERNAL;
    out = talk(&cfg, &r, in, strlen(in), 0, true, &all);
    assert_non_null(strstr(out, "451 4.3.0"));
}

/* The admit hook: refuses the first two tries of the session. */
static unsigned admit_refusals, admit_calls;
static char     admit_from[300];

static unsigned
admit_twice_no(void *ctx, const char *mail_from)
{
    (void)ctx;
    admit_calls++;
    snprintf(admit_from, sizeof(admit_from), "%s", mail_from);
    return admit_refusals > 0 ? (admit_refusals--, 7) : 0;
}

/*
 * A rate limit at RCPT: 452 4.7.1 with the wait, asked only for a
 * recipient of ours and only until one is admitted, not counted as an
 * error (max_errors is 5: six refusals do not end the session); the
 * envelope says where the client's bytes start.
 */
static void
test_admit(void **state)
{
    struct smtp_config   cfg = config();
    struct rec           r = { .answer = RUAD_OK };
    struct smtp_hooks    hooks = { &r, rcpt_ok, on_message, admit_twice_no };
    struct smtp_session *s;
    const char          *in = HELLO "MAIL FROM:<a@Reporter.example>\r\n"
        "RCPT TO:<x@elsewhere>\r\n"
        "RCPT TO:<dmarc@rua.example>\r\nRCPT TO:<dmarc@rua.example>\r\n"
        "DATA\r\n"
        "RCPT TO:<dmarc@rua.example>\r\nRCPT TO:<dmarc@rua.example>\r\n"
        "RCPT TO:<tlsrpt@rua.example>\r\nDATA\r\nbody\r\n.\r\n";
    const char          *out, *p;
    size_t               used, olen;
    int                  i;

    (void)state;
    admit_refusals = 3;
    admit_calls = 0;
    s = smtp_session_new(&cfg, &hooks, "192.0.2.7", 1);
    smtp_session_greet(s);
    assert_int_equal(smtp_session_feed(s, in, strlen(in), &used), RUAD_OK);
    out = smtp_session_output(s, &olen);
    p = strstr(out, "550 5.1.1 <x@elsewhere>");
    assert_non_null(p);
    assert_non_null(p = strstr(p, "452 4.7.1 Too many reports from you; "
        "try again in 7 seconds"));
    assert_non_null(p = strstr(p + 1, "452 4.7.1"));
    assert_non_null(p = strstr(p, "554 5.5.1 No valid recipients"));
    assert_non_null(p = strstr(p, "452 4.7.1"));
    assert_non_null(p = strstr(p + 1, "250 2.1.5"));  /* admitted */
    assert_non_null(p = strstr(p + 1, "250 2.1.5"));  /* not asked again */
    assert_non_null(strstr(p, "queued as 1"));
    assert_int_equal(admit_refusals, 0);
    assert_int_equal(admit_calls, 4);
    assert_string_equal(admit_from, "a@Reporter.example");
    assert_int_equal(r.messages, 1);
    smtp_session_output_done(s, olen);
    /* refusals are no errors: six more, and the session goes on */
    admit_refusals = 6;
    for (i = 0; i < 6; i++) {
        const char *m = "MAIL FROM:<>\r\nRCPT TO:<dmarc@rua.example>\r\n"
            "RSET\r\n";

        assert_int_equal(smtp_session_feed(s, m, strlen(m), &used), RUAD_OK);
    }
    out = smtp_session_output(s, &olen);
    assert_null(strstr(out, "421"));
    assert_false(smtp_session_closing(s));
    assert_string_equal(admit_from, "");
    smtp_session_free(s);
}

/* The envelope's trace_len: the Received header, and nothing else. */
static size_t trace_seen;

static enum ruad_rc
on_message_trace(void *ctx, const struct smtp_envelope *env,
    const char *data, size_t len, char *id, size_t idlen)
{
    (void)ctx, (void)id, (void)idlen;
    assert_true(env->trace_len <= len);
    trace_seen = env->trace_len;
    assert_memory_equal(data, "Received: ", 10);
    assert_memory_equal(data + env->trace_len, "Subject: s\r\n", 12);
    return RUAD_OK;
}

static void
test_trace_len(void **state)
{
    struct smtp_config   cfg = config();
    struct rec           r = { .answer = RUAD_OK };
    struct smtp_hooks    hooks = { &r, rcpt_ok, on_message_trace, NULL };
    struct smtp_session *s;
    const char          *in = HELLO ENV "DATA\r\nSubject: s\r\n\r\nx\r\n"
        ".\r\n";
    size_t               used;

    (void)state;
    trace_seen = 0;
    s = smtp_session_new(&cfg, &hooks, "192.0.2.7", 1);
    smtp_session_greet(s);
    assert_int_equal(smtp_session_feed(s, in, strlen(in), &used), RUAD_OK);
    assert_true(trace_seen > 20);
    smtp_session_free(s);
}

/* Input before the banner: 554 and close. */
static void
test_pregreet(void **state)
{
    struct smtp_config cfg = config();
    struct rec         r = { .answer = RUAD_OK };
    const char        *out;
    bool               all;

    (void)state;
    out = talk(&cfg, &r, "EHLO x\r\n", 8, 0, false, &all);
    assert_non_null(strstr(out, "554 5.5.0"));
}

/*
 * STARTTLS: the engine takes nothing after the STARTTLS line (the server
 * drops that plaintext), and after the handshake the client starts over.
 */
static void
test_starttls_injection(void **state)
{
    struct smtp_config   cfg = config();
    struct rec           r = { .answer = RUAD_OK };
    struct smtp_hooks    hooks = { &r, rcpt_ok, on_message, NULL };
    struct smtp_session *s = smtp_session_new(&cfg, &hooks, "192.0.2.7", 1);
    const char          *in = "EHLO c\r\nSTARTTLS\r\nMAIL FROM:<evil@x>\r\n";
    const char          *out;
    size_t               used, olen;

    (void)state;
    smtp_session_greet(s);
    assert_int_equal(smtp_session_feed(s, in, strlen(in), &used), RUAD_OK);
    assert_int_equal(used, strlen("EHLO c\r\nSTARTTLS\r\n"));
    assert_true(smtp_session_wants_tls(s));
    out = smtp_session_output(s, &olen);
    assert_null(strstr(out, "2.1.0"));
    smtp_session_output_done(s, olen);
    smtp_session_tls_started(s, "TLSv1.3", "TLS_AES_128_GCM_SHA256");
    /* MAIL before a new EHLO is out of sequence */
    in = "MAIL FROM:<a@b>\r\nEHLO c\r\nSTARTTLS\r\n";
    assert_int_equal(smtp_session_feed(s, in, strlen(in), &used), RUAD_OK);
    out = smtp_session_output(s, &olen);
    assert_non_null(strstr(out, "503 5.5.1"));
    assert_null(strstr(out, "250-STARTTLS"));   /* not offered again */
    assert_non_null(strstr(out, "554 5.5.1 TLS already active"));
    smtp_session_free(s);
}

/* require_tls: MAIL before STARTTLS gets 530. */
static void
test_require_tls(void **state)
{
    struct smtp_config cfg = config();
    struct rec         r = { .answer = RUAD_OK };
    const char        *out;
    bool               all;

    (void)state;
    cfg.require_tls = true;
    out = talk(&cfg, &r, "EHLO c\r\nMAIL FROM:<a@b>\r\n", 25, 0, true, &all);
    assert_non_null(strstr(out, "530 5.7.0"));
}

/* Storing elsewhere: nothing more is taken until the answer comes. */
static void
test_async_store(void **state)
{
    struct smtp_config   cfg = config();
    struct rec           r = { .answer = RUAD_DEFERRED };
    struct smtp_hooks    hooks = { &r, rcpt_ok, on_message, NULL };
    struct smtp_session *s = smtp_session_new(&cfg, &hooks, "192.0.2.7", 1);
    const char          *in = HELLO ENV "DATA\r\nx\r\n.\r\nQUIT\r\n";
    const char          *out;
    size_t               used, olen;

    (void)state;
    smtp_session_greet(s);
    assert_int_equal(smtp_session_feed(s, in, strlen(in), &used), RUAD_OK);
    assert_int_equal(used, strlen(in) - strlen("QUIT\r\n"));
    assert_true(smtp_session_busy(s));
    smtp_session_stored(s, RUAD_OK, "77");
    assert_false(smtp_session_busy(s));
    assert_int_equal(smtp_session_feed(s, "QUIT\r\n", 6, &used), RUAD_OK);
    out = smtp_session_output(s, &olen);
    assert_non_null(strstr(out, "250 2.0.0 Ok: queued as 77\r\n221"));
    assert_true(smtp_session_closing(s));
    smtp_session_free(s);
}

/* Timeout and shutdown say 421 and close. */
static void
test_timeout_shutdown(void **state)
{
    struct smtp_config   cfg = config();
    struct rec           r = { .answer = RUAD_OK };
    struct smtp_hooks    hooks = { &r, rcpt_ok, on_message, NULL };
    struct smtp_session *s = smtp_session_new(&cfg, &hooks, "x", 1);
    const char          *out;
    size_t               olen;

    (void)state;
    smtp_session_greet(s);
    smtp_session_timeout(s);
    out = smtp_session_output(s, &olen);
    assert_non_null(strstr(out, "421 4.4.2"));
    assert_true(smtp_session_closing(s));
    smtp_session_free(s);
    s = smtp_session_new(&cfg, &hooks, "x", 2);
    smtp_session_greet(s);
    smtp_session_shutdown(s);
    out = smtp_session_output(s, &olen);
    assert_non_null(strstr(out, "421 4.3.2"));
    smtp_session_free(s);
}

/* The server's deadlines and memory cap: 421, the message forgotten. */
static void
test_abort(void **state)
{
    static const struct {
        enum smtp_abort why;
        const char     *want;
    } cases[] = {
        { SMTP_ABORT_DATA_TIME, "421 4.4.2 mx.test Message took too long" },
        { SMTP_ABORT_SESSION_TIME, "421 4.4.2 mx.test Session lasted" },
        { SMTP_ABORT_MEMORY, "421 4.3.1 mx.test Too much mail" },
    };
    struct smtp_config   cfg = config();
    struct rec           r = { .answer = RUAD_DEFERRED };
    struct smtp_hooks    hooks = { &r, rcpt_ok, on_message, NULL };
    const char          *in = HELLO ENV "DATA\r\nSubject: x\r\n\r\nhal";
    const char          *out;
    size_t               i, used, olen;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct smtp_session *s = smtp_session_new(&cfg, &hooks, "x", i);

        smtp_session_greet(s);
        assert_false(smtp_session_in_data(s));
        assert_int_equal(smtp_session_buffered(s), 0);
        assert_int_equal(smtp_session_feed(s, in, strlen(in), &used),
            RUAD_OK);
        assert_int_equal(used, strlen(in));
        assert_true(smtp_session_in_data(s));
        assert_true(smtp_session_buffered(s) > strlen("Subject: x"));
        smtp_session_abort(s, cases[i].why);
        out = smtp_session_output(s, &olen);
        assert_non_null(strstr(out, cases[i].want));
        assert_true(smtp_session_closing(s));
        assert_false(smtp_session_in_data(s));
        assert_int_equal(smtp_session_buffered(s), 0);
        /* the rest of the message is not taken, nor stored */
        assert_int_equal(smtp_session_feed(s, "\r\n.\r\n", 5, &used),
            RUAD_OK);
        assert_int_equal(used, 0);
        assert_int_equal(r.messages, 0);
        smtp_session_free(s);
    }
    /* while a message is being stored, its answer comes first */
    {
        struct smtp_session *s = smtp_session_new(&cfg, &hooks, "x", 9);
        const char          *full = HELLO ENV "DATA\r\nx\r\n.\r\n";

        smtp_session_greet(s);
        assert_int_equal(smtp_session_feed(s, full, strlen(full), &used),
            RUAD_OK);
        assert_true(smtp_session_busy(s));
        assert_true(smtp_session_buffered(s) > 0);
        smtp_session_abort(s, SMTP_ABORT_MEMORY);
        assert_false(smtp_session_closing(s));
        smtp_session_stored(s, RUAD_OK, "5");
        assert_int_equal(smtp_session_buffered(s), 0);
        out = smtp_session_output(s, &olen);
        assert_null(strstr(out, "421"));
        assert_non_null(strstr(out, "queued as 5"));
        smtp_session_free(s);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dialogues),
        cmocka_unit_test(test_received),
        cmocka_unit_test(test_command_line_limit),
        cmocka_unit_test(test_message_limit),
        cmocka_unit_test(test_text_line_limit),
        cmocka_unit_test(test_bare_lf_policy),
        cmocka_unit_test(test_tempfail),
        cmocka_unit_test(test_admit),
        cmocka_unit_test(test_trace_len),
        cmocka_unit_test(test_pregreet),
        cmocka_unit_test(test_starttls_injection),
        cmocka_unit_test(test_require_tls),
        cmocka_unit_test(test_async_store),
        cmocka_unit_test(test_timeout_shutdown),
        cmocka_unit_test(test_abort),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
