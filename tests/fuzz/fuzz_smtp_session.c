/*
 * fuzz_smtp_session.c - libFuzzer target for the SMTP engine.
 *
 * The first byte sets the options (TLS offered or required, bare LF
 * policy, how messages are stored: at once, later, or failing) and the
 * second the chunk size; the rest is the client's bytes.  The target
 * plays the server: drains the output, does the "handshake" when asked,
 * answers stored messages, and checks the engine's promises (nothing is
 * taken while busy, after STARTTLS or while closing; an abort by the
 * server leaves no message behind).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
    unsigned mode;
    unsigned pending;
    size_t   bytes;
};

static bool
fz_rcpt(void *ctx, const char *addr)
{
    (void)ctx;
    return addr[0] != 'x';
}

static enum ruad_rc
fz_message(void *ctx, const struct smtp_envelope *env, const char *data,
    size_t len, char *id, size_t idlen)
{
    struct fz *f = ctx;
    size_t     i;

    for (i = 0; i < len; i++)           /* touch every byte for ASan */
        f->bytes += (unsigned char)data[i];
    for (i = 0; i < env->n_rcpt; i++)
        f->bytes += strlen(env->rcpt[i]);
    f->bytes += strlen(env->mail_from);
    if (idlen > 0)
        id[0] = '\0';
    switch (f->mode & 3) {
    case 0:  return RUAD_OK;
    case 1:  f->pending++; return RUAD_DEFERRED;
    case 2:  return RUAD_TEMPFAIL;
    default: return RUAD_INTERNAL;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct smtp_config   cfg = {
        .hostname = "fuzz.test", .max_message = 2048, .max_line = 300,
        .max_rcpt = 5, .max_errors = 10,
    };
    struct fz            f = { 0 };
    struct smtp_hooks    hooks = { &f, fz_rcpt, fz_message, NULL };
    struct smtp_session *s;
    size_t               off = 2, chunk, used, olen, n;

    if (size < 2)
        return 0;
    f.mode = data[0];
    cfg.tls_available = data[0] & 4;
    cfg.require_tls = data[0] & 8;
    cfg.reject_bare_lf = data[0] & 16;
    chunk = data[1] ? data[1] : size;
    if ((s = smtp_session_new(&cfg, &hooks, "192.0.2.1", 1)) == NULL)
        return 0;
    if (!(data[0] & 32))
        smtp_session_greet(s);
    while (off < size) {
        n = size - off < chunk ? size - off : chunk;
        if (smtp_session_feed(s, (const char *)data + off, n, &used) !=
            RUAD_OK)
            break;
        if (used > n)
            abort();
        off += used;
        (void)smtp_session_output(s, &olen);
        smtp_session_output_done(s, olen);
        if (smtp_session_closing(s))
            break;
        if (smtp_session_wants_tls(s)) {
            off += n - used;            /* plaintext after STARTTLS: gone */
            smtp_session_tls_started(s, "TLSv1.3", "X");
        } else if (smtp_session_busy(s)) {
            if (f.pending == 0)
                abort();                /* busy without a pending store */
            f.pending--;
            smtp_session_stored(s, (data[0] & 64) ? RUAD_OK : RUAD_TEMPFAIL,
                "id");
        } else if (used < n && !smtp_session_closing(s)) {
            /* output back-pressure: drained above, so it must go on */
            if (used == 0 && olen == 0)
                abort();
        }
    }
    if (data[0] & 128) {
        /* a server deadline or the memory cap: the message is dropped */
        bool busy = smtp_session_busy(s);

        smtp_session_abort(s, (enum smtp_abort)(data[1] % 3));
        if (!busy && (smtp_session_in_data(s) ||
            smtp_session_buffered(s) != 0 || !smtp_session_closing(s)))
            abort();
    }
    smtp_session_timeout(s);
    smtp_session_free(s);
    return 0;
}
