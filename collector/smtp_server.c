/*
 * smtp_server.c - the SMTP listener (see smtp_server.h).
 *
 * One thread runs an epoll loop over every session (thousands of idle
 * sessions cost a few KB each); smtp_session.c speaks the protocol.  A
 * finished message goes to receipt.c's storing threads, which commit it as
 * an inbound row (channel smtp, envelope, TLS facts), together with
 * whatever else arrived meanwhile; the answer (250 queued as ID, or 451
 * 4.3.0) comes back through an eventfd, so the loop never waits for a
 * commit.
 *
 * STARTTLS (RFC 3207) uses OpenSSL, TLS 1.2 and up, on tls_cert/tls_key;
 * SIGHUP swaps the context for new handshakes.  Whatever plaintext the
 * client sent after STARTTLS is dropped unread (CVE-2011-0411 class).
 *
 * SECURITY: sockets carry peer data only to smtp_session_feed().  Caps:
 * sessions in all and per address, an IPv6 client counted by its /64
 * (421 at accept), the pregreet wait (554 for early input), idle time
 * (421 4.4.2), deadlines that no trickle of bytes moves (DATA, 354 to the
 * final dot, and the whole session: 421 4.4.2), bytes buffered per
 * session (SMTP_IN_MAX; beyond it the session is not read until the
 * engine takes them), the messages' bytes held by all sessions together
 * with HTTP's bodies (membudget.c: 421 4.3.1 for the session that goes
 * past it), transactions per address (IPv6: per /64) and per MAIL FROM
 * domain (ratelimit.c; 452 4.7.1 at RCPT, before any data), and every
 * protocol limit of smtp_session.c.  The same message again, byte for
 * byte (our Received header aside), is answered 250 and not stored again.
 */
#include "smtp_server.h"

#include <netinet/in.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "clock.h"
#include "receipt.h"
#include "limits.h"
#include "log.h"
#include "membudget.h"
#include "metrics.h"
#include "netaddr.h"
#include "ratelimit.h"
#include "smtp_session.h"

#define SMTP_IN_MAX     (64u << 10)   /* unconsumed input per session */
#define SMTP_TICK_MS    100           /* timer resolution */

struct smtp_conn;

/* A message on its way to the database, and back. */
struct smtp_job {
    struct receipt_job ij;             /* ij.raw: the session's buffer */
    struct smtp_conn *c;
    char             *peer, *helo, *mail_from, *tls_version, *tls_cipher;
    char            **rcpt;
    size_t            n_rcpt;
    char              id[32];
    struct smtp_job  *next;
};

struct smtp_conn {
    struct smtp_server  *srv;
    int                  fd;
    SSL                 *ssl;
    bool                 handshaking;
    bool                 hs_write;          /* the handshake waits to write */
    bool                 tls_after_flush;   /* 220 sent: handshake next */
    struct smtp_session *sess;
    struct smtp_hooks    hooks;
    char                 in[SMTP_IN_MAX];
    size_t               in_len;
    char                 peer[INET6_ADDRSTRLEN];
    struct netaddr_key   key;                 /* per-address cap */
    uint64_t             id;
    int64_t              greet_at, idle_at;   /* ms, monotonic */
    int64_t              data_at;   /* DATA deadline; 0: not in DATA */
    int64_t              end_at;    /* the session's deadline */
    size_t               charged;   /* message bytes counted (membudget) */
    bool                 greeted, storing, gone;
    bool                 dead;      /* closed: freed after the event batch */
    bool                 eof;       /* the client sent all it will send */
    uint32_t             events;              /* registered with epoll */
    struct smtp_conn    *prev, *next;
};

struct smtp_server {
    const struct config *cfg;
    struct receipt      *receipt;
    struct smtp_config   scfg;
    int                  lfd, epfd, evfd;
    pthread_mutex_t      ctx_mu;
    SSL_CTX             *ctx;
    pthread_t            loop;
    pthread_mutex_t      q_mu;
    struct smtp_job     *done;             /* stored, to be answered */
    atomic_bool          stopping;
    int64_t              drain_until;
    struct smtp_conn    *conns;
    struct smtp_conn    *dead;             /* closed, to be freed */
    unsigned             n_conns;
    uint64_t             next_id;
    struct ratelimit    *rl_ip;            /* transactions per address */
    struct ratelimit    *rl_sender;        /* per MAIL FROM domain */
};

/* epoll tags for the two non-session descriptors */
static char tag_listen, tag_event;

/* ---- recipients ---- */

bool
smtp_rcpt_allowed(const char *accept, const char *addr)
{
    const char *p = accept, *e, *at = strrchr(addr, '@');
    size_t      n, alen = strlen(addr);

    if (at == NULL)
        return false;
    while (config_list_next(&p, &e, &n)) {
        if (e[0] == '@') {
            /* @domain: any local part there */
            if (strlen(at) == n && strncasecmp(at, e, n) == 0)
                return true;
        } else if (alen == n && strncasecmp(addr, e, n) == 0) {
            return true;
        }
    }
    return false;
}

/* ---- TLS ---- */

static SSL_CTX *
tls_ctx_new(const struct config *cfg, char *err, size_t errlen)
{
    SSL_CTX      *ctx = SSL_CTX_new(TLS_server_method());
    unsigned long e;

    if (ctx == NULL)
        goto fail;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
        SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
        SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) !=
        1 || SSL_CTX_check_private_key(ctx) != 1)
        goto fail;
    return ctx;
fail:
    e = ERR_get_error();
    snprintf(err, errlen, "TLS: %s", e ? ERR_reason_error_string(e) :
        "cannot create context");
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return NULL;
}

enum ruad_rc
smtp_server_reload_tls(struct smtp_server *s, char *err, size_t errlen)
{
    SSL_CTX *ctx, *old;

    if (s->ctx == NULL)
        return RUAD_OK;
    if ((ctx = tls_ctx_new(s->cfg, err, errlen)) == NULL)
        return RUAD_MALFORMED;
    pthread_mutex_lock(&s->ctx_mu);
    old = s->ctx;
    s->ctx = ctx;
    pthread_mutex_unlock(&s->ctx_mu);
    SSL_CTX_free(old);             /* sessions keep their own reference */
    return RUAD_OK;
}

/* ---- storing threads ---- */

static void
job_free(struct smtp_job *j)
{
    size_t i;

    free(j->peer);
    free(j->helo);
    free(j->mail_from);
    free(j->tls_version);
    free(j->tls_cipher);
    for (i = 0; i < j->n_rcpt; i++)
        free(j->rcpt[i]);
    free(j->rcpt);
    free(j);
}

/* job_done - from a storing thread: the loop answers the session */
static void
job_done(struct receipt_job *ij)
{
    struct smtp_job    *j = ij->ctx;
    struct smtp_server *s = j->c->srv;
    uint64_t            one = 1;

    if (ij->rc == RUAD_OK && ij->identical)
        snprintf(j->id, sizeof(j->id), "already-stored");
    else if (ij->rc == RUAD_OK)
        snprintf(j->id, sizeof(j->id), "%lld", (long long)ij->id);
    pthread_mutex_lock(&s->q_mu);
    j->next = s->done;
    s->done = j;
    pthread_mutex_unlock(&s->q_mu);
    if (write(s->evfd, &one, sizeof(one)) < 0)
        log_warn("smtp eventfd write failed");
}

/* ---- sessions ---- */

static bool
rcpt_ok(void *ctx, const char *addr)
{
    struct smtp_conn *c = ctx;

    return smtp_rcpt_allowed(c->srv->cfg->smtp_accept, addr);
}

/*
 * admit - the transaction's first recipient of ours: one from the
 * client's rate limit (its /64 for IPv6) and one from its sender
 * domain's.  0, or the seconds to wait; each refusal is counted, and
 * logged at most once a second per limit.
 */
static unsigned
admit(void *ctx, const char *mail_from)
{
    struct smtp_conn   *c = ctx;
    struct smtp_server *s = c->srv;
    struct ratelimit   *rl = s->rl_ip;
    char                key[300];
    const char         *what = "ip";
    int64_t             now = ratelimit_now_us(), retry_us;
    unsigned long       skipped;
    unsigned            wait, limit = s->cfg->rate_limit_per_ip;

    ratelimit_addr_key(c->peer, key, sizeof(key));
    if (ratelimit_take(rl, key, now, &retry_us)) {
        rl = s->rl_sender;
        what = "sender";
        limit = s->cfg->rate_limit_per_sender;
        ratelimit_sender_key(mail_from, key, sizeof(key));
        if (ratelimit_take(rl, key, now, &retry_us))
            return 0;
    }
    wait = (unsigned)((retry_us + 999999) / 1000000);
    wait = wait > 0 ? wait : 1;
    metrics_rate_limited("smtp", what);
    if (ratelimit_log_due(rl, now, &skipped)) {
        char esc[160];

        log_warn("sess=%016llx smtp rate limited peer=%s by=%s key=%s "
            "limit=%u/%us retry_after=%u refused_unlogged=%lu",
            (unsigned long long)c->id, c->peer, what, log_escape(esc,
            sizeof(esc), key, strlen(key)), limit,
            s->cfg->rate_limit_window, wait, skipped);
    }
    return wait;
}

static char *
dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* on_message - hand the message to a storing thread */
static enum ruad_rc
on_message(void *ctx, const struct smtp_envelope *env, const char *data,
    size_t len, char *id, size_t idlen)
{
    struct smtp_conn   *c = ctx;
    struct smtp_server *s = c->srv;
    struct smtp_job    *j = calloc(1, sizeof(*j));
    size_t              i;

    (void)id, (void)idlen;
    if (j == NULL)
        return RUAD_NOMEM;
    j->c = c;
    j->peer = dup_or_null(env->peer);
    j->helo = dup_or_null(env->helo);
    j->mail_from = dup_or_null(env->mail_from);
    j->tls_version = dup_or_null(env->tls_version);
    j->tls_cipher = dup_or_null(env->tls_cipher);
    if (env->n_rcpt > 0 &&
        (j->rcpt = calloc(env->n_rcpt, sizeof(*j->rcpt))) != NULL) {
        for (i = 0; i < env->n_rcpt; i++)
            if ((j->rcpt[i] = strdup(env->rcpt[i])) != NULL)
                j->n_rcpt++;
    }
    j->ij.meta.channel = "smtp";
    j->ij.meta.peer_addr = j->peer;
    j->ij.meta.smtp_helo = j->helo;
    j->ij.meta.smtp_mail_from = j->mail_from;
    j->ij.meta.smtp_rcpt_to = (const char **)j->rcpt;
    j->ij.meta.n_rcpt_to = j->n_rcpt;
    j->ij.meta.tls_version = j->tls_version;
    j->ij.meta.tls_cipher = j->tls_cipher;
    j->ij.meta.content_type = "message/rfc822";
    j->ij.raw = data;
    j->ij.len = len;
    j->ij.skip = env->trace_len;     /* the same mail again is the same */
    j->ij.done = job_done;
    j->ij.ctx = j;
    c->storing = true;
    receipt_submit(s->receipt, &j->ij);
    return RUAD_DEFERRED;
}

/* conn_room - bytes to read now; over TLS a whole record (16 KiB) or none,
 * so that no part of one waits inside OpenSSL, where epoll cannot see it
 * (SSL_read returns at most one record) */
static size_t
conn_room(const struct smtp_conn *c)
{
    size_t room = SMTP_IN_MAX - c->in_len;

    return c->ssl != NULL && room < SSL3_RT_MAX_PLAIN_LENGTH ? 0 : room;
}

static void
conn_interest(struct smtp_conn *c)
{
    struct epoll_event ev;
    size_t             olen;
    uint32_t           want = 0;

    (void)smtp_session_output(c->sess, &olen);
    if (olen > 0 || (c->handshaking && c->hs_write))
        want |= EPOLLOUT;
    if (!c->storing && !c->eof && conn_room(c) > 0)
        want |= EPOLLIN;
    if (c->handshaking)
        want |= EPOLLIN;
    if (want == c->events)
        return;
    ev.events = want;
    ev.data.ptr = c;
    epoll_ctl(c->srv->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->events = want;
}

/*
 * conn_close - end a session.  The connection is taken out of epoll and
 * the session list at once, but its memory lives until conn_reap(): one
 * epoll_wait() batch may hold several events for it (a stored message's
 * answer and the peer's reset, say), and each must find it marked dead
 * rather than freed.  While a storing thread still reads the message
 * (c->storing), the close waits for that thread's answer (c->gone).
 */
static void
conn_close(struct smtp_conn *c)
{
    struct smtp_server *s = c->srv;

    if (c->dead)
        return;
    if (c->storing) {           /* the storing thread still has its data */
        if (!c->gone)
            epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        c->gone = true;
        return;
    }
    if (!c->gone)
        epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    if (c->ssl != NULL) {
        SSL_shutdown(c->ssl);
        ERR_clear_error();      /* else the next session's SSL_get_error */
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    close(c->fd);
    c->fd = -1;
    smtp_session_free(c->sess);
    c->sess = NULL;
    if (c->charged > 0) {
        membudget_give(c->charged);
        c->charged = 0;
    }
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    s->n_conns--;
    log_debug("sess=%016llx smtp disconnected", (unsigned long long)c->id);
    c->dead = true;
    c->prev = NULL;
    c->next = s->dead;
    s->dead = c;
}

/* conn_reap - free the sessions closed during the last event batch */
static void
conn_reap(struct smtp_server *s)
{
    struct smtp_conn *c;

    while ((c = s->dead) != NULL) {
        s->dead = c->next;
        free(c);
    }
}

/* conn_flush - write the replies; false when the connection is done for */
static bool
conn_flush(struct smtp_conn *c)
{
    const char *p;
    size_t      len;
    ssize_t     n;

    for (;;) {
        p = smtp_session_output(c->sess, &len);
        if (len == 0)
            break;
        if (c->ssl != NULL) {
            int r = SSL_write(c->ssl, p, (int)(len > (1u << 30) ? 1u << 30 :
                len));

            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);

                ERR_clear_error();
                if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
                    return true;
                return false;
            }
            n = r;
        } else {
            n = send(c->fd, p, len, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    return true;
                return false;
            }
        }
        smtp_session_output_done(c->sess, (size_t)n);
    }
    if (c->tls_after_flush) {
        /* the 220 is out: from here on only TLS */
        pthread_mutex_lock(&c->srv->ctx_mu);
        c->ssl = SSL_new(c->srv->ctx);
        pthread_mutex_unlock(&c->srv->ctx_mu);
        if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
            return false;
        SSL_set_accept_state(c->ssl);
        c->tls_after_flush = false;
        c->handshaking = true;
    }
    return !smtp_session_closing(c->sess);
}

/* conn_handshake - go on with the TLS handshake */
static bool
conn_handshake(struct smtp_conn *c)
{
    int r = SSL_do_handshake(c->ssl), e;

    if (r == 1) {
        c->handshaking = false;
        smtp_session_tls_started(c->sess, SSL_get_version(c->ssl),
            SSL_get_cipher_name(c->ssl));
        log_info("sess=%016llx smtp starttls version=%s cipher=%s",
            (unsigned long long)c->id, SSL_get_version(c->ssl),
            SSL_get_cipher_name(c->ssl));
        return true;
    }
    e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        c->hs_write = e == SSL_ERROR_WANT_WRITE;
        ERR_clear_error();
        return true;
    }
    log_info("sess=%016llx smtp starttls failed peer=%s",
        (unsigned long long)c->id, c->peer);
    ERR_clear_error();
    return false;
}

/*
 * conn_account - count the memory the session's message holds in the
 * server-wide budget; past it (receive_max_bytes) the session that grew
 * is told 421 4.3.1 and its message dropped, unless it is complete and
 * being stored already.  Also notes when DATA began, for its deadline.
 */
static void
conn_account(struct smtp_conn *c)
{
    size_t now = smtp_session_buffered(c->sess);

    if (now > c->charged) {
        bool ok = membudget_charge(now - c->charged);

        c->charged = now;
        if (!ok && !smtp_session_busy(c->sess)) {
            smtp_session_abort(c->sess, SMTP_ABORT_MEMORY);
            now = smtp_session_buffered(c->sess);
        }
    }
    if (now < c->charged) {
        membudget_give(c->charged - now);
        c->charged = now;
    }
    if (!smtp_session_in_data(c->sess))
        c->data_at = 0;
    else if (c->data_at == 0)
        c->data_at = clock_now_ms() +
            (int64_t)c->srv->cfg->smtp_data_timeout * 1000;
}

/* conn_process - let the engine take what was read; false: close */
static bool
conn_process(struct smtp_conn *c)
{
    size_t used;

    while (c->in_len > 0 && !c->storing && !c->handshaking &&
        !c->tls_after_flush && !smtp_session_closing(c->sess)) {
        if (smtp_session_feed(c->sess, c->in, c->in_len, &used) != RUAD_OK)
            return false;
        if (used < c->in_len)
            memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
        conn_account(c);
        if (smtp_session_wants_tls(c->sess)) {
            /* anything sent after STARTTLS in the clear is dropped */
            if (c->in_len > 0)
                log_info("sess=%016llx smtp dropped %zu plaintext bytes "
                    "after STARTTLS", (unsigned long long)c->id, c->in_len);
            c->in_len = 0;
            c->tls_after_flush = true;
            break;
        }
        if (used == 0)
            break;              /* output back-pressure */
    }
    conn_account(c);            /* also after an answer or an abort */
    if (!conn_flush(c))
        return false;           /* closing done, or an error */
    /* the client has closed its side: once every command it sent is
     * answered and the answers are out, so do we */
    if (c->eof && !c->storing && (c->in_len == 0 ||
        smtp_session_closing(c->sess))) {
        size_t olen;

        (void)smtp_session_output(c->sess, &olen);
        return olen > 0;
    }
    return true;
}

/* conn_read - bytes from the socket (or TLS) */
static bool
conn_read(struct smtp_conn *c)
{
    ssize_t n;

    if (c->handshaking)
        return conn_handshake(c) && conn_flush(c);
    while (conn_room(c) > 0 && !c->storing) {
        if (c->ssl != NULL) {
            int r = SSL_read(c->ssl, c->in + c->in_len,
                (int)(SMTP_IN_MAX - c->in_len));

            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);

                ERR_clear_error();
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                    break;
                if (e != SSL_ERROR_ZERO_RETURN && e != SSL_ERROR_SYSCALL)
                    return false;
                c->eof = true;      /* answer what came first */
                break;
            }
            n = r;
        } else {
            n = recv(c->fd, c->in + c->in_len, SMTP_IN_MAX - c->in_len, 0);
            if (n == 0) {
                c->eof = true;      /* answer what came first */
                break;
            }
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    break;
                return false;
            }
        }
        c->in_len += (size_t)n;
        c->idle_at = clock_now_ms() + (int64_t)c->srv->cfg->smtp_timeout * 1000;
        if (!c->greeted) {
            /* input before the banner: the engine says 554 */
            break;
        }
    }
    return conn_process(c);
}

static void
conn_accept(struct smtp_server *s)
{
    struct sockaddr_storage sa;
    socklen_t               salen;
    struct smtp_conn       *c, *o;
    struct epoll_event      ev;
    const char             *why = NULL;
    unsigned                same = 0;
    char                    peer[INET6_ADDRSTRLEN] = "unknown";
    char                    ktext[NETADDR_TEXT_MAX];
    struct netaddr_key      key;
    int                     fd;

    for (;;) {
        salen = sizeof(sa);
        fd = accept4(s->lfd, (struct sockaddr *)&sa, &salen,
            SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        /* an IPv4 client of [::] as a.b.c.d, not ::ffff:a.b.c.d */
        (void)netaddr_peer_text((struct sockaddr *)&sa, peer, sizeof(peer));
        same = 0;               /* both are per connection */
        why = NULL;
        (void)netaddr_key((struct sockaddr *)&sa, &key);
        for (o = s->conns; o != NULL; o = o->next)
            if (!o->gone && netaddr_key_equal(&o->key, &key))
                same++;
        if (atomic_load(&s->stopping))
            why = "421 4.3.2 Service shutting down, try again later\r\n";
        else if (s->n_conns >= s->cfg->smtp_max_connections)
            why = "421 4.3.2 Too many connections, try again later\r\n";
        else if (same >= s->cfg->smtp_max_per_ip)
            why = "421 4.7.0 Too many connections from your address\r\n";
        if (why != NULL ||
            (c = calloc(1, sizeof(*c))) == NULL) {
            if (why == NULL)
                why = "421 4.3.2 Out of memory, try again later\r\n";
            (void)!send(fd, why, strlen(why), MSG_NOSIGNAL);
            log_info("smtp refused peer=%s client=%s reply=\"%.9s\"", peer,
                netaddr_key_text(&key, ktext, sizeof(ktext)), why);
            close(fd);
            continue;
        }
        c->srv = s;
        c->fd = fd;
        c->id = ++s->next_id;
        snprintf(c->peer, sizeof(c->peer), "%s", peer);
        c->key = key;
        c->hooks.ctx = c;
        c->hooks.rcpt_ok = rcpt_ok;
        c->hooks.admit = admit;
        c->hooks.on_message = on_message;
        c->sess = smtp_session_new(&s->scfg, &c->hooks, peer, c->id);
        if (c->sess == NULL) {
            close(fd);
            free(c);
            continue;
        }
        c->greet_at = clock_now_ms() + s->cfg->smtp_greet_delay_ms;
        c->idle_at = clock_now_ms() + (int64_t)s->cfg->smtp_timeout * 1000;
        c->end_at = clock_now_ms() + (int64_t)s->cfg->smtp_session_timeout * 1000;
        c->next = s->conns;
        if (s->conns != NULL)
            s->conns->prev = c;
        s->conns = c;
        s->n_conns++;
        ev.events = c->events = EPOLLIN;
        ev.data.ptr = c;
        epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
        log_debug("sess=%016llx smtp connected peer=%s",
            (unsigned long long)c->id, peer);
    }
}

/* smtp_done_jobs - answers from the storing threads */
static void
smtp_done_jobs(struct smtp_server *s)
{
    struct smtp_job *j, *next;
    uint64_t         v;

    if (read(s->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        log_warn("smtp eventfd read failed");
    pthread_mutex_lock(&s->q_mu);
    j = s->done;
    s->done = NULL;
    pthread_mutex_unlock(&s->q_mu);
    for (; j != NULL; j = next) {
        struct smtp_conn *c = j->c;

        next = j->next;
        c->storing = false;
        smtp_session_stored(c->sess, j->ij.rc, j->id);
        if (j->ij.rc == RUAD_OK && j->ij.identical)
            metrics_identical("smtp");
        log_info("sess=%016llx smtp message %s id=%s peer=%s bytes=%zu",
            (unsigned long long)c->id, j->ij.rc != RUAD_OK ? "tempfail" :
            j->ij.identical ? "identical" : "queued", j->id[0] ? j->id : "-",
            c->peer, j->ij.len);
        job_free(j);
        if (c->gone) {
            conn_close(c);
            continue;
        }
        if (!conn_process(c))
            conn_close(c);
        else
            conn_interest(c);
    }
}

/* smtp_timers - banners due, sessions idle or busy too long, shutdown */
static void
smtp_timers(struct smtp_server *s)
{
    struct smtp_conn *c, *next;
    int64_t           now = clock_now_ms();
    bool              stopping = atomic_load(&s->stopping);

    for (c = s->conns; c != NULL; c = next) {
        next = c->next;
        if (c->gone)
            continue;
        if (!c->greeted && now >= c->greet_at) {
            c->greeted = true;
            if (c->in_len == 0)
                smtp_session_greet(c->sess);
            /* else: input came first; the engine refuses it below */
        }
        if (stopping) {
            smtp_session_shutdown(c->sess);
        } else if (!c->storing && ((c->data_at != 0 && now >= c->data_at) ||
            now >= c->end_at)) {
            /* a deadline: no trickle of bytes moves it */
            if (smtp_session_closing(c->sess)) {
                conn_close(c);  /* told already, and still not gone */
                continue;
            }
            smtp_session_abort(c->sess, c->data_at != 0 &&
                now >= c->data_at ? SMTP_ABORT_DATA_TIME :
                SMTP_ABORT_SESSION_TIME);
        } else if (now >= c->idle_at && !c->storing) {
            if (smtp_session_closing(c->sess)) {
                /* its last reply could not be written: the peer reads
                 * nothing, or never finishes the TLS handshake */
                conn_close(c);
                continue;
            }
            smtp_session_timeout(c->sess);
        }
        if (!conn_process(c))
            conn_close(c);
        else
            conn_interest(c);
    }
}

static void *
smtp_loop(void *arg)
{
    struct smtp_server *s = arg;
    struct epoll_event  evs[64];
    int                 n, i;

    for (;;) {
        if (atomic_load(&s->stopping) &&
            (s->conns == NULL || clock_now_ms() > s->drain_until))
            break;
        n = epoll_wait(s->epfd, evs, 64, SMTP_TICK_MS);
        for (i = 0; i < n; i++) {
            void             *tag = evs[i].data.ptr;
            struct smtp_conn *c;

            if (tag == &tag_listen) {
                conn_accept(s);
                continue;
            }
            if (tag == &tag_event) {
                smtp_done_jobs(s);
                continue;
            }
            c = tag;
            if (c->dead || c->gone)
                continue;
            if ((evs[i].events & (EPOLLERR | EPOLLHUP)) &&
                !(evs[i].events & EPOLLIN)) {
                conn_close(c);
                continue;
            }
            if ((evs[i].events & EPOLLIN) && !conn_read(c)) {
                conn_close(c);
                continue;
            }
            if ((evs[i].events & EPOLLOUT) && !(c->handshaking ?
                conn_handshake(c) && conn_flush(c) : conn_flush(c))) {
                conn_close(c);
                continue;
            }
            conn_interest(c);
        }
        smtp_timers(s);
        conn_reap(s);           /* no event of this batch is left */
    }
    /* what is left after the drain time is cut off */
    while (s->conns != NULL) {
        struct smtp_conn *c = s->conns;

        if (c->storing) {
            /* wait for its answer rather than free what a thread reads */
            smtp_done_jobs(s);
            usleep(10000);
            continue;
        }
        conn_close(c);
        conn_reap(s);
    }
    conn_reap(s);
    return NULL;
}

struct smtp_server *
smtp_server_start(const struct config *cfg, struct receipt *receipt,
    char *err, size_t errlen)
{
    struct smtp_server *s;
    struct addrinfo     hints, *ai = NULL;
    struct epoll_event  ev;
    char                host[256], port_s[8];
    unsigned            port;
    int                 one = 1, zero = 0, r;

    if (!config_split_listen(cfg->smtp_listen, host, sizeof(host), &port)) {
        snprintf(err, errlen, "smtp_listen: \"%s\" is not host:port",
            cfg->smtp_listen);
        return NULL;
    }
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = cfg;
    s->receipt = receipt;
    s->lfd = s->epfd = s->evfd = -1;
    if ((s->rl_ip = ratelimit_new(cfg->rate_limit_per_ip,
        cfg->rate_limit_window)) == NULL ||
        (s->rl_sender = ratelimit_new(cfg->rate_limit_per_sender,
        cfg->rate_limit_window)) == NULL) {
        snprintf(err, errlen, "out of memory");
        ratelimit_free(s->rl_ip);
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->ctx_mu, NULL);
    pthread_mutex_init(&s->q_mu, NULL);
    s->scfg.hostname = cfg->smtp_hostname;
    s->scfg.max_message = cfg->smtp_max_message;
    s->scfg.max_line = SMTP_TEXT_LINE_MAX;
    s->scfg.max_rcpt = cfg->smtp_max_recipients;
    s->scfg.max_errors = SMTP_ERRORS_MAX;
    s->scfg.require_tls = cfg->smtp_require_tls;
    s->scfg.reject_bare_lf = cfg->smtp_reject_bare_lf;
    if (cfg->tls_cert[0] != '\0') {
        if ((s->ctx = tls_ctx_new(cfg, err, errlen)) == NULL)
            goto fail;
        s->scfg.tls_available = true;
    }

    memset(&hints, 0, sizeof(hints));
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port_s, sizeof(port_s), "%u", port);
    if ((r = getaddrinfo(host, port_s, &hints, &ai)) != 0) {
        snprintf(err, errlen, "smtp_listen: %s: %s", cfg->smtp_listen,
            gai_strerror(r));
        goto fail;
    }
    s->lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
        SOCK_CLOEXEC, 0);
    /* [::] takes IPv4 clients too, whatever net.ipv6.bindv6only says */
    if (s->lfd >= 0 && ai->ai_family == AF_INET6)
        setsockopt(s->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    if (s->lfd < 0 || setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one,
        sizeof(one)) != 0 || bind(s->lfd, ai->ai_addr, ai->ai_addrlen) != 0 ||
        listen(s->lfd, 512) != 0) {
        snprintf(err, errlen, "smtp_listen: %s: %s", cfg->smtp_listen,
            strerror(errno));
        freeaddrinfo(ai);
        goto fail;
    }
    freeaddrinfo(ai);
    if ((s->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
        (s->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        snprintf(err, errlen, "epoll: %s", strerror(errno));
        goto fail;
    }
    ev.events = EPOLLIN;
    ev.data.ptr = &tag_listen;
    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev);
    ev.data.ptr = &tag_event;
    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->evfd, &ev);

    pthread_create(&s->loop, NULL, smtp_loop, s);
    log_info("smtp listening addr=%s hostname=%s starttls=%s",
        cfg->smtp_listen, cfg->smtp_hostname, s->ctx ? "on" : "off");
    return s;
fail:
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->epfd >= 0)
        close(s->epfd);
    if (s->evfd >= 0)
        close(s->evfd);
    SSL_CTX_free(s->ctx);
    ratelimit_free(s->rl_ip);
    ratelimit_free(s->rl_sender);
    free(s);
    return NULL;
}

void
smtp_server_stop(struct smtp_server *s, unsigned drain_s)
{
    if (s == NULL)
        return;
    s->drain_until = clock_now_ms() + (int64_t)drain_s * 1000;
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->lfd, NULL);
    close(s->lfd);                     /* no new sessions */
    atomic_store(&s->stopping, true);
    pthread_join(s->loop, NULL);
    close(s->epfd);
    close(s->evfd);
    SSL_CTX_free(s->ctx);
    pthread_mutex_destroy(&s->ctx_mu);
    pthread_mutex_destroy(&s->q_mu);
    ratelimit_free(s->rl_ip);
    ratelimit_free(s->rl_sender);
    free(s);
}
