/*
 * smtp_session.h - the RFC 5321 server engine: bytes in, replies out, no
 * sockets and no database.  smtp_server.c moves the bytes (and TLS);
 * hooks decide recipients and store messages.
 *
 * Usage by a server:
 *     s = smtp_session_new(&cfg, &hooks, peer, session_id);
 *     smtp_session_greet(s);                 (after the pregreet wait)
 *     loop: read -> smtp_session_feed(s, buf, n, &used) (keep the unused
 *           bytes for later), write smtp_session_output(), then
 *           smtp_session_output_done();
 *           if smtp_session_wants_tls(): drop unread plaintext, flush,
 *           handshake, smtp_session_tls_started();
 *           if smtp_session_busy(): a message is being stored; feed
 *           consumes nothing until smtp_session_stored() is called;
 *           if smtp_session_closing(): flush, then close.
 */
#ifndef RUAD_SMTP_SESSION_H
#define RUAD_SMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "result.h"

struct smtp_session;

/* Settings (borrowed for the session's life). */
struct smtp_config {
    const char *hostname;        /* banner, Received header */
    size_t      max_message;     /* bytes of one message (SIZE) */
    size_t      max_line;        /* bytes of one text line, hard cap */
    unsigned    max_rcpt;        /* recipients of one message */
    unsigned    max_errors;      /* then 421 and close */
    bool        tls_available;   /* advertise STARTTLS */
    bool        require_tls;     /* MAIL only after STARTTLS */
    bool        reject_bare_lf;  /* 550 5.5.2 for bare LF in DATA */
};

/* The envelope of a finished message (borrowed for the hook call). */
struct smtp_envelope {
    const char        *peer;      /* client address */
    const char        *helo;
    const char        *mail_from; /* without <>; "" for the null sender */
    const char *const *rcpt;      /* n_rcpt addresses without <> */
    size_t             n_rcpt;
    const char        *tls_version;  /* NULL when plaintext */
    const char        *tls_cipher;
    uint64_t           session_id;
    size_t             trace_len; /* bytes of our Received header, first
                                   * in data; the rest is the client's */
};

struct smtp_hooks {
    void *ctx;
    /* rcpt_ok - is this recipient ours?  (never relay) */
    bool (*rcpt_ok)(void *ctx, const char *addr);
    /*
     * on_message - the message (Received header first) is complete.
     * Return RUAD_DEFERRED when storing goes on elsewhere and
     * smtp_session_stored() will be called; or the result right away:
     * RUAD_OK (id set: 250 queued as ID), RUAD_TEMPFAIL (451 4.3.0),
     * anything else (451 4.3.0 too: never lose a report to a bug).
     * data is borrowed until the result is known.
     */
    enum ruad_rc (*on_message)(void *ctx, const struct smtp_envelope *env,
        const char *data, size_t len, char *id, size_t idlen);
    /*
     * admit - may this transaction go on?  Asked at its first recipient
     * that is ours (before DATA: a refused sender sends no message), at
     * each such RCPT until one is admitted.  0: yes; else no, and the
     * client is told 452 4.7.1 to try again in that many seconds (a
     * rate limit).  NULL: every transaction is admitted.
     */
    unsigned (*admit)(void *ctx, const char *mail_from);
};

struct smtp_session *smtp_session_new(const struct smtp_config *cfg,
    const struct smtp_hooks *hooks, const char *peer, uint64_t session_id);
void smtp_session_free(struct smtp_session *s);

/* smtp_session_greet - queue the 220 banner */
void smtp_session_greet(struct smtp_session *s);

/*
 * smtp_session_feed - take client bytes; *used says how many were taken
 * (fewer than len while storing a message or after STARTTLS or close:
 * keep the rest, or drop it for STARTTLS).  Replies accumulate in the
 * output.  Returns RUAD_OK; RUAD_NOMEM when the session must be dropped.
 */
enum ruad_rc smtp_session_feed(struct smtp_session *s, const char *buf,
    size_t len, size_t *used);

/* smtp_session_output - replies waiting to be written */
const char *smtp_session_output(const struct smtp_session *s, size_t *len);
/* smtp_session_output_done - n bytes of the output were written */
void smtp_session_output_done(struct smtp_session *s, size_t n);

bool smtp_session_wants_tls(const struct smtp_session *s);
/* smtp_session_tls_started - the handshake succeeded; the session is reset
 * (RFC 3207 4.2) and the client must EHLO again */
void smtp_session_tls_started(struct smtp_session *s, const char *version,
    const char *cipher);
bool smtp_session_busy(const struct smtp_session *s);
/* smtp_session_stored - the answer to an on_message that said RUAD_DEFERRED */
void smtp_session_stored(struct smtp_session *s, enum ruad_rc rc,
    const char *id);
/* smtp_session_closing - the session ends once the output is written */
bool smtp_session_closing(const struct smtp_session *s);
/* smtp_session_timeout - idle too long: 421 4.4.2 and close */
void smtp_session_timeout(struct smtp_session *s);
/* smtp_session_shutdown - the server is stopping: 421 4.3.2 and close,
 * unless a message is being stored (then after its answer) */
void smtp_session_shutdown(struct smtp_session *s);

/* smtp_session_in_data - a message is arriving (from 354 to its end) */
bool smtp_session_in_data(const struct smtp_session *s);
/* smtp_session_buffered - bytes of memory the message holds (arriving or
 * being stored); 0 between messages */
size_t smtp_session_buffered(const struct smtp_session *s);

/* Why the server cuts a session off (smtp_session_abort). */
enum smtp_abort {
    SMTP_ABORT_DATA_TIME,        /* DATA took longer than its deadline */
    SMTP_ABORT_SESSION_TIME,     /* the session outlived its deadline */
    SMTP_ABORT_MEMORY            /* too many bytes buffered server-wide */
};
/* smtp_session_abort - 421 and close, whatever the client is doing (RFC
 * 5321 3.8); nothing while a message is being stored or already closing */
void smtp_session_abort(struct smtp_session *s, enum smtp_abort why);

#endif /* RUAD_SMTP_SESSION_H */
