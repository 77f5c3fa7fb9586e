/*
 * imap.c - pull report mail from an existing mailbox (see imap.h).
 *
 * libcurl speaks IMAP (RFC 3501) over TLS: imaps:// (implicit TLS) or
 * imap:// with STARTTLS required, the certificate always verified (the
 * system's CAs plus ca_file).  It logs in with SASL PLAIN or LOGIN, or
 * XOAUTH2 / OAUTHBEARER (RFC 7628) when a bearer token is configured.
 *
 * One poll: STATUS gives UIDVALIDITY and UIDNEXT (RFC 3501 6.3.10);
 * the database says which UIDs are stored (db/004_imap.sql).  New
 * messages are listed in bounded batches with `UID FETCH n:* (UID
 * RFC822.SIZE FLAGS)`, fetched one at a time with libcurl's `;UID=` URL
 * (into a buffer capped at max_message_size), committed with their UID
 * in one transaction, and only then flagged \Seen or moved (RFC 6851
 * UID MOVE).  A crash between the commit and the action leaves the
 * action due; the next poll does it, and never stores the message again.
 * With action = keep, fetching must not mark a message read: \Seen is
 * taken off again when it was not set before.
 *
 * SECURITY: the server is a peer.  Its STATUS and FETCH lines go through
 * imap_resp.c (bounded, fuzzed); a message is never bigger in memory
 * than max_message_size; every command has a timeout.  Secrets are read
 * at each poll (so a token refresher can rotate them), never logged, and
 * wiped after use.
 */
#include "imap.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "imap_resp.h"
#include "limits.h"
#include "log.h"
#include "metrics.h"
#include "receipt.h"

#define IMAP_RESP_MAX   (64u << 10)   /* a STATUS answer, a command's */

extern char **environ;

/* One logged-in session (one libcurl handle, its connection reused). */
struct imap_conn {
    const struct imap_source_cfg *src;
    CURL              *curl;
    const atomic_bool *stop;
    char               base[IMAP_PATH_MAX];       /* scheme://host:port/ */
    char               mbox_url[IMAP_PATH_MAX];   /* the url as given */
    char               mailbox[IMAP_PATH_MAX];    /* decoded */
    char               qmailbox[2 * IMAP_PATH_MAX + 3];
    char               errbuf[CURL_ERROR_SIZE];
    struct buf         body;          /* the message being fetched */
    struct buf         resp;          /* a command's untagged answers */
    struct imap_list  *list;
    bool               too_big;
};

/* Counters of one source for /metrics. */
static struct imap_stat {
    char          name[IMAP_NAME_MAX];
    atomic_llong  last_ok;           /* unix time of the last good poll */
    atomic_ullong fetched, errors;
} imap_stats[IMAP_SOURCES_MAX];
static atomic_size_t imap_n_stats;

static const char *const action_names[] = { "keep", "flag", "move" };

void
imap_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- secrets ---- */

/* trim - drop trailing blanks and line ends (a file or a command's
 * output ends with a newline) */
static void
trim(char *s, size_t *len)
{
    while (*len > 0 && (s[*len - 1] == '\n' || s[*len - 1] == '\r' ||
        s[*len - 1] == ' ' || s[*len - 1] == '\t'))
        s[--*len] = '\0';
}

/*
 * run_command - sh -c cmd; what it prints (up to outlen - 1 bytes) into
 * out.  It must exit 0 within timeout_s seconds, or it is killed.
 */
static bool
run_command(const char *cmd, unsigned timeout_s, char *out, size_t outlen,
    size_t *n, char *err, size_t errlen)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t          sa;
    struct timespec            start, now;
    struct pollfd              pfd;
    char *const                argv[] = { "sh", "-c", (char *)cmd, NULL };
    int                        p[2], status = 0, ms;
    pid_t                      pid;
    ssize_t                    r;
    bool                       timed_out = false, full = false;

    *n = 0;
    if (pipe2(p, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return false;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
    /* its own process group: a timeout kills what it started too */
    posix_spawnattr_init(&sa);
    posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&sa, 0);
    errno = posix_spawn(&pid, "/bin/sh", &fa, &sa, argv, environ);
    posix_spawnattr_destroy(&sa);
    if (errno != 0) {
        snprintf(err, errlen, "cannot run /bin/sh: %s", strerror(errno));
        posix_spawn_file_actions_destroy(&fa);
        close(p[0]);
        close(p[1]);
        return false;
    }
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    clock_gettime(CLOCK_MONOTONIC, &start);
    pfd.fd = p[0];
    pfd.events = POLLIN;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        ms = (int)timeout_s * 1000 - (int)((now.tv_sec - start.tv_sec) *
            1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
        if (ms <= 0) {
            timed_out = true;
            break;
        }
        if ((r = poll(&pfd, 1, ms)) < 0 && errno != EINTR)
            break;
        if (r <= 0)
            continue;                       /* the clock decides */
        if (*n + 1 >= outlen) {
            full = true;
            break;
        }
        if ((r = read(p[0], out + *n, outlen - 1 - *n)) < 0 &&
            errno != EINTR && errno != EAGAIN)
            break;
        if (r == 0)
            break;                          /* EOF */
        if (r > 0)
            *n += (size_t)r;
    }
    out[*n] = '\0';
    close(p[0]);
    if (timed_out || full)
        kill(-pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (timed_out)
        snprintf(err, errlen, "no answer within %u s (killed)", timeout_s);
    else if (full)
        snprintf(err, errlen, "longer than %zu bytes", outlen - 2);
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        snprintf(err, errlen, "exit status %d", WIFEXITED(status) ?
            WEXITSTATUS(status) : 128 + WTERMSIG(status));
    else
        return true;
    return false;
}

/*
 * read_secret - the password or token: the file's contents, or what the
 * command printed.  false with the reason in err.
 */
static bool
read_secret(const struct imap_source_cfg *s, char *out, size_t outlen,
    char *err, size_t errlen)
{
    const char *what;
    char        why[256];
    FILE       *f;
    size_t      n = 0;
    bool        ok = true;

    err[0] = '\0';
    why[0] = '\0';
    if (s->token_command[0] != '\0') {
        what = "token_command";
        ok = run_command(s->token_command, s->timeout, out, outlen, &n, why,
            sizeof(why));
    } else {
        what = s->token_file[0] != '\0' ? "token_file" : "password_file";
        if ((f = fopen(s->token_file[0] != '\0' ? s->token_file :
            s->password_file, "re")) == NULL) {
            snprintf(why, sizeof(why), "%s", strerror(errno));
            ok = false;
        } else {
            n = fread(out, 1, outlen - 1, f);
            if (n == outlen - 1 && fgetc(f) != EOF) {
                snprintf(why, sizeof(why), "longer than %zu bytes",
                    outlen - 2);
                ok = false;
            }
            fclose(f);
        }
    }
    if (ok) {
        out[n] = '\0';
        trim(out, &n);
        if (n == 0 || memchr(out, '\n', n) != NULL || strlen(out) != n) {
            snprintf(why, sizeof(why), "empty, or more than one line");
            ok = false;
        }
    }
    if (!ok) {
        explicit_bzero(out, outlen);
        snprintf(err, errlen, "imap.%s.%s: %s", s->name, what, why);
    }
    return ok;
}

/* ---- libcurl ---- */

static size_t
write_body(char *p, size_t size, size_t n, void *ud)
{
    struct imap_conn *c = ud;

    if (buf_append(&c->body, p, n) != RUAD_OK) {
        c->too_big = true;
        return 0;                      /* aborts the transfer */
    }
    (void)size;
    return n;
}

static size_t
write_resp(char *p, size_t size, size_t n, void *ud)
{
    struct imap_conn *c = ud;

    (void)size;
    return buf_append(&c->resp, p, n) == RUAD_OK ? n : 0;
}

static size_t
write_list(char *p, size_t size, size_t n, void *ud)
{
    struct imap_conn *c = ud;

    imap_list_feed(c->list, p, n);
    (void)size;
    return n;
}

static int
on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t d,
    curl_off_t e)
{
    struct imap_conn *c = ud;

    (void)a; (void)b; (void)d; (void)e;
    return atomic_load(c->stop) ? 1 : 0;
}

/* conn_urls - base URL, mailbox name (decoded and quoted) from the url */
static bool
conn_urls(struct imap_conn *c, char *err, size_t errlen)
{
    const struct imap_source_cfg *s = c->src;
    const char *path = strchr(s->url + (s->url[4] == 's' ? 8 : 7), '/');
    char       *dec;
    int         declen;
    size_t      n;

    n = (size_t)(path - s->url) + 1;
    memcpy(c->base, s->url, n);
    c->base[n] = '\0';
    snprintf(c->mbox_url, sizeof(c->mbox_url), "%s", s->url);
    n = strlen(c->mbox_url);
    while (n > 0 && c->mbox_url[n - 1] == '/')
        c->mbox_url[--n] = '\0';
    dec = curl_easy_unescape(NULL, path + 1, 0, &declen);
    if (dec == NULL || (size_t)declen >= sizeof(c->mailbox) ||
        memchr(dec, '\0', (size_t)declen) != NULL) {
        curl_free(dec);
        snprintf(err, errlen, "imap.%s.url: bad mailbox name", s->name);
        return false;
    }
    memcpy(c->mailbox, dec, (size_t)declen + 1);
    curl_free(dec);
    n = strlen(c->mailbox);
    while (n > 0 && c->mailbox[n - 1] == '/')
        c->mailbox[--n] = '\0';
    if (!imap_quote(c->mailbox, c->qmailbox, sizeof(c->qmailbox))) {
        snprintf(err, errlen, "imap.%s.url: the mailbox name must be "
            "ASCII (modified UTF-7, RFC 3501 5.1.3)", s->name);
        return false;
    }
    return true;
}

/* conn_open - a handle with the source's settings and credentials */
static bool
conn_open(struct imap_conn *c, const struct imap_source_cfg *s,
    const atomic_bool *stop, char *err, size_t errlen)
{
    char secret[IMAP_TOKEN_MAX + 1];
    bool ok;

    memset(c, 0, sizeof(*c));
    c->src = s;
    c->stop = stop;
    buf_init(&c->body, IMAP_RESP_MAX);
    buf_init(&c->resp, IMAP_RESP_MAX);
    if (!conn_urls(c, err, errlen))
        return false;
    if (!read_secret(s, secret, sizeof(secret), err, errlen))
        return false;
    if ((c->curl = curl_easy_init()) == NULL) {
        snprintf(err, errlen, "imap.%s: libcurl: out of memory", s->name);
        explicit_bzero(secret, sizeof(secret));
        return false;
    }
    /* libcurl copies the strings: the secret is wiped right after */
    ok = curl_easy_setopt(c->curl, CURLOPT_USERNAME, s->user) == CURLE_OK &&
        (s->password_file[0] != '\0' ?
        curl_easy_setopt(c->curl, CURLOPT_PASSWORD, secret) :
        curl_easy_setopt(c->curl, CURLOPT_XOAUTH2_BEARER, secret)) ==
        CURLE_OK;
    explicit_bzero(secret, sizeof(secret));
    ok = ok &&
        curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "imap,imaps") ==
            CURLE_OK &&
        curl_easy_setopt(c->curl, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL) ==
            CURLE_OK &&
        curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
        curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
        (s->ca_file[0] == '\0' ||
        curl_easy_setopt(c->curl, CURLOPT_CAINFO, s->ca_file) == CURLE_OK) &&
        curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
        curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT,
            (long)(s->timeout < 30 ? s->timeout : 30)) == CURLE_OK &&
        curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, (long)s->timeout) ==
            CURLE_OK &&
        curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->errbuf) ==
            CURLE_OK &&
        curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L) == CURLE_OK &&
        curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, on_progress) ==
            CURLE_OK &&
        curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, c) == CURLE_OK &&
        curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c) == CURLE_OK;
    if (!ok)
        snprintf(err, errlen, "imap.%s: libcurl refused an option (is it "
            "built with IMAP and TLS?)", s->name);
    return ok;
}

static void
conn_close(struct imap_conn *c)
{
    if (c->curl != NULL)
        curl_easy_cleanup(c->curl);
    c->curl = NULL;
    buf_free(&c->body);
    buf_free(&c->resp);
}

/*
 * conn_run - one libcurl request: url, and cmd as a custom command (NULL:
 * the URL's own FETCH).  RUAD_OK; RUAD_EOF: no such message (expunged
 * meanwhile); RUAD_LIMIT: the body outgrew its buffer; RUAD_TEMPFAIL:
 * anything else (login, network, TLS, a NO from the server), with the
 * reason in err.
 */
static enum ruad_rc
conn_run(struct imap_conn *c, const char *url, const char *cmd,
    curl_write_callback fn, char *err, size_t errlen)
{
    CURLcode res;

    c->errbuf[0] = '\0';
    c->too_big = false;
    if (curl_easy_setopt(c->curl, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, cmd) != CURLE_OK ||
        curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, fn) != CURLE_OK) {
        snprintf(err, errlen, "libcurl refused the URL");
        return RUAD_INTERNAL;
    }
    res = curl_easy_perform(c->curl);
    if (res == CURLE_OK)
        return RUAD_OK;
    if (res == CURLE_WRITE_ERROR && c->too_big)
        return RUAD_LIMIT;
    snprintf(err, errlen, "%s%s%s", curl_easy_strerror(res),
        c->errbuf[0] != '\0' ? ": " : "", c->errbuf);
    if (res == CURLE_ABORTED_BY_CALLBACK)
        snprintf(err, errlen, "stopping");
    else if (res == CURLE_LOGIN_DENIED)
        snprintf(err, errlen, "login denied for user \"%.100s\" (wrong "
            "password, or an expired token?)%s%.200s", c->src->user,
            c->errbuf[0] != '\0' ? ": " : "", c->errbuf);
    return res == CURLE_REMOTE_FILE_NOT_FOUND && cmd == NULL ? RUAD_EOF :
        RUAD_TEMPFAIL;
}

/* conn_cmd - a command on the selected mailbox, answer discarded */
static enum ruad_rc
conn_cmd(struct imap_conn *c, uint32_t uidvalidity, const char *cmd,
    char *err, size_t errlen)
{
    char url[IMAP_PATH_MAX + 64];

    snprintf(url, sizeof(url), "%s;UIDVALIDITY=%u", c->mbox_url,
        uidvalidity);
    buf_reset(&c->resp);
    return conn_run(c, url, cmd, write_resp, err, errlen);
}

/* ---- one poll ---- */

/*
 * move_by_copy - for a server without MOVE (RFC 6851): COPY, \Deleted,
 * then UID EXPUNGE of that message alone (RFC 4315).  Once copied and
 * flagged the move counts as done (a failed UID EXPUNGE is logged, never
 * retried, so the folder never gets a second copy); a plain EXPUNGE is
 * never sent, it would take the owner's other \Deleted messages too.
 */
static enum ruad_rc
move_by_copy(struct imap_conn *c, uint32_t uidvalidity, uint32_t uid,
    const char *qfolder, char *err, size_t errlen)
{
    char         cmd[2 * 256 + 64];
    enum ruad_rc rc;

    snprintf(cmd, sizeof(cmd), "UID COPY %u %s", uid, qfolder);
    if ((rc = conn_cmd(c, uidvalidity, cmd, err, errlen)) != RUAD_OK)
        return rc;
    snprintf(cmd, sizeof(cmd), "UID STORE %u +FLAGS.SILENT (\\Deleted)",
        uid);
    if ((rc = conn_cmd(c, uidvalidity, cmd, err, errlen)) != RUAD_OK)
        return rc;
    snprintf(cmd, sizeof(cmd), "UID EXPUNGE %u", uid);
    if (conn_cmd(c, uidvalidity, cmd, err, errlen) != RUAD_OK)
        log_warn("imap source=%s uid=%u copied and flagged \\Deleted, "
            "UID EXPUNGE failed error=\"%s\"", c->src->name, uid, err);
    err[0] = '\0';
    return RUAD_OK;
}

/* act - the source's action on a stored message */
static enum ruad_rc
act(struct imap_conn *c, uint32_t uidvalidity, uint32_t uid, char *err,
    size_t errlen)
{
    char cmd[2 * 256 + 64], q[2 * 256 + 3];

    switch (c->src->action) {
    case IMAP_ACT_FLAG:
        snprintf(cmd, sizeof(cmd), "UID STORE %u +FLAGS.SILENT (\\Seen)",
            uid);
        break;
    case IMAP_ACT_MOVE:
        if (!imap_quote(c->src->move_to, q, sizeof(q))) {
            snprintf(err, errlen, "imap.%s.move_to: must be ASCII "
                "(modified UTF-7)", c->src->name);
            return RUAD_MALFORMED;
        }
        snprintf(cmd, sizeof(cmd), "UID MOVE %u %s", uid, q);
        if (conn_cmd(c, uidvalidity, cmd, err, errlen) == RUAD_OK)
            return RUAD_OK;
        return move_by_copy(c, uidvalidity, uid, q, err, errlen);
    default:
        return RUAD_OK;
    }
    return conn_cmd(c, uidvalidity, cmd, err, errlen);
}

/* The poll in hand. */
struct poll_ctx {
    const struct imap_source_cfg *s;
    struct imap_conn             *c;
    struct store                 *st;
    struct imap_stat             *stat;       /* NULL: not counted */
    imap_stored_fn                stored;
    void                         *ctx;
    struct imap_poll_result      *r;
    uint32_t                      uidvalidity;
};

/* one_message - fetch, commit with its UID, then act */
static enum ruad_rc
one_message(struct poll_ctx *pc, const struct imap_msg *msg)
{
    const struct imap_source_cfg *s = pc->s;
    struct imap_conn *c = pc->c;
    struct imap_poll_result *r = pc->r;
    char         name[IMAP_PATH_MAX + 64], url[IMAP_PATH_MAX + 64];
    char         limit[128], cmd[64];
    struct inbound_meta m = { .channel = "imap", .source_name = name,
        .content_type = "message/rfc822" };
    struct store_imap_uid u = { .source = s->name, .mailbox = c->mbox_url,
        .uidvalidity = pc->uidvalidity, .uid = msg->uid,
        .action = action_names[s->action],
        .acted = s->action == IMAP_ACT_KEEP };
    uint64_t     size = msg->size;
    int64_t      id = 0;
    bool         same = false, too_large;
    enum ruad_rc rc;

    snprintf(name, sizeof(name), "%s:%s;UIDVALIDITY=%u;UID=%u", s->name,
        c->mailbox, pc->uidvalidity, msg->uid);
    buf_free(&c->body);
    if (size <= s->max_message) {
        snprintf(url, sizeof(url), "%s;UIDVALIDITY=%u/;UID=%u", c->mbox_url,
            pc->uidvalidity, msg->uid);
        buf_init(&c->body, s->max_message);
        rc = conn_run(c, url, NULL, write_body, r->error, sizeof(r->error));
        if (rc == RUAD_EOF) {
            log_info("imap source=%s uid=%u gone before it was fetched",
                s->name, msg->uid);
            r->error[0] = '\0';
            return RUAD_OK;
        }
        if (rc == RUAD_LIMIT)     /* RFC822.SIZE said less than it sent */
            size = s->max_message + 1;
        else if (rc != RUAD_OK)
            return rc;
        if (s->action == IMAP_ACT_KEEP && !msg->seen) {
            /* FETCH BODY[] set \Seen (RFC 3501 6.4.5): keep means keep */
            snprintf(cmd, sizeof(cmd), "UID STORE %u -FLAGS.SILENT (\\Seen)",
                msg->uid);
            if (conn_cmd(c, pc->uidvalidity, cmd, r->error,
                sizeof(r->error)) != RUAD_OK)
                log_warn("imap source=%s uid=%u \\Seen not taken off "
                    "error=\"%s\"", s->name, msg->uid, r->error);
            r->error[0] = '\0';
        }
    }
    snprintf(limit, sizeof(limit), "imap.%s.max_message_size", s->name);
    rc = receipt_imap(pc->st, &m, buf_ptr(&c->body), buf_len(&c->body), size,
        s->max_message, limit, &u, &id, &too_large, &same);
    buf_free(&c->body);
    if (rc == RUAD_DUPLICATE)             /* another instance has it */
        return RUAD_OK;
    if (rc != RUAD_OK) {
        snprintf(r->error, sizeof(r->error), "database: %s",
            store_error(pc->st));
        return RUAD_TEMPFAIL;
    }
    if (same) {
        /* fetched again (or the same mail twice): the UID is recorded
         * against the kept row, and acted on as any other */
        r->identical++;
        metrics_identical("imap");
        log_info("imap source=%s uid=%u identical inbound=%lld size=%llu "
            "(byte-identical to a stored message; not stored again)",
            s->name, msg->uid, (long long)id, (unsigned long long)size);
    } else {
        r->stored++;
        if (too_large)
            r->too_large++;
        if (pc->stat != NULL)
            atomic_fetch_add(&pc->stat->fetched, 1);
        log_info("imap source=%s uid=%u stored inbound=%lld size=%llu%s",
            s->name, msg->uid, (long long)id, (unsigned long long)size,
            too_large ? " too_large" : "");
        if (pc->stored != NULL)
            pc->stored(pc->ctx, id);
    }
    if (s->action == IMAP_ACT_KEEP)
        return RUAD_OK;
    if ((rc = act(c, pc->uidvalidity, msg->uid, r->error,
        sizeof(r->error))) != RUAD_OK)
        return rc;
    if (store_imap_acted(pc->st, s->name, c->mbox_url, pc->uidvalidity,
        msg->uid) != RUAD_OK) {
        snprintf(r->error, sizeof(r->error), "database: %s",
            store_error(pc->st));
        return RUAD_TEMPFAIL;
    }
    r->acted++;
    return RUAD_OK;
}

/* due_actions - the actions a crash (or a failed action) left undone */
static enum ruad_rc
due_actions(struct poll_ctx *pc, const atomic_bool *stop, uint32_t *uids,
    size_t max)
{
    size_t       i, n;
    enum ruad_rc rc;

    do {
        if (store_imap_due(pc->st, pc->s->name, pc->c->mbox_url,
            pc->uidvalidity, uids, max, &n) != RUAD_OK) {
            snprintf(pc->r->error, sizeof(pc->r->error), "database: %s",
                store_error(pc->st));
            return RUAD_TEMPFAIL;
        }
        for (i = 0; i < n && !atomic_load(stop); i++) {
            if ((rc = act(pc->c, pc->uidvalidity, uids[i], pc->r->error,
                sizeof(pc->r->error))) != RUAD_OK)
                return rc;
            if (store_imap_acted(pc->st, pc->s->name, pc->c->mbox_url,
                pc->uidvalidity, uids[i]) != RUAD_OK) {
                snprintf(pc->r->error, sizeof(pc->r->error), "database: %s",
                    store_error(pc->st));
                return RUAD_TEMPFAIL;
            }
            pc->r->acted++;
            log_info("imap source=%s uid=%u action=%s done (was due)",
                pc->s->name, uids[i], action_names[pc->s->action]);
        }
    } while (n == max && !atomic_load(stop));
    return RUAD_OK;
}

static enum ruad_rc
poll_source(struct poll_ctx *pc, const atomic_bool *stop)
{
    const struct imap_source_cfg *s = pc->s;
    struct imap_conn   *c = pc->c;
    struct imap_status  status;
    struct imap_list   *list = NULL;
    struct imap_msg    *msgs = NULL;
    uint32_t           *uids = NULL, last = 0;
    char                cmd[2 * IMAP_PATH_MAX + 64], url[IMAP_PATH_MAX + 64];
    size_t              i;
    bool                reset;
    enum ruad_rc        rc;

    snprintf(cmd, sizeof(cmd), "STATUS %s (UIDVALIDITY UIDNEXT MESSAGES)",
        c->qmailbox);
    buf_reset(&c->resp);
    if ((rc = conn_run(c, c->base, cmd, write_resp, pc->r->error,
        sizeof(pc->r->error))) != RUAD_OK)
        return rc;
    if (imap_resp_status(buf_ptr(&c->resp), buf_len(&c->resp), &status) !=
        RUAD_OK) {
        snprintf(pc->r->error, sizeof(pc->r->error), "no UIDVALIDITY in "
            "the server's STATUS answer");
        return RUAD_MALFORMED;
    }
    pc->uidvalidity = status.uidvalidity;
    if (store_imap_mailbox(pc->st, s->name, c->mbox_url, status.uidvalidity,
        &last, &reset) != RUAD_OK) {
        snprintf(pc->r->error, sizeof(pc->r->error), "database: %s",
            store_error(pc->st));
        return RUAD_TEMPFAIL;
    }
    if (reset)
        log_warn("imap source=%s mailbox UIDVALIDITY changed, now %u: "
            "reading it again from the start", s->name, status.uidvalidity);
    if ((list = malloc(sizeof(*list))) == NULL ||
        (msgs = calloc(s->batch, sizeof(*msgs))) == NULL ||
        (uids = calloc(s->batch, sizeof(*uids))) == NULL) {
        snprintf(pc->r->error, sizeof(pc->r->error), "out of memory");
        rc = RUAD_NOMEM;
        goto out;
    }
    if ((rc = due_actions(pc, stop, uids, s->batch)) != RUAD_OK)
        goto out;
    c->list = list;
    while (!atomic_load(stop)) {
        if ((status.uidnext != 0 && status.uidnext <= last + 1) ||
            (status.has_messages && status.messages == 0) ||
            last == UINT32_MAX)
            break;
        imap_list_init(list, msgs, s->batch, last + 1);
        snprintf(url, sizeof(url), "%s;UIDVALIDITY=%u", c->mbox_url,
            pc->uidvalidity);
        snprintf(cmd, sizeof(cmd), "UID FETCH %u:* (UID RFC822.SIZE FLAGS)",
            last + 1);
        if ((rc = conn_run(c, url, cmd, write_list, pc->r->error,
            sizeof(pc->r->error))) != RUAD_OK)
            goto out;
        imap_list_finish(list);
        if (list->bad > 0)
            log_warn("imap source=%s FETCH lines not understood=%u",
                s->name, list->bad);
        if (list->n == 0)
            break;
        pc->r->listed += (unsigned)list->n;
        for (i = 0; i < list->n && !atomic_load(stop); i++) {
            if ((rc = one_message(pc, &msgs[i])) != RUAD_OK)
                goto out;
            last = msgs[i].uid;
        }
        if (!list->more && list->n < s->batch)
            break;
    }
    rc = RUAD_OK;
out:
    c->list = NULL;
    free(list);
    free(msgs);
    free(uids);
    return rc;
}

static enum ruad_rc
poll_counted(const struct config *cfg, const struct imap_source_cfg *s,
    struct store *st, const atomic_bool *stop, imap_stored_fn stored,
    void *ctx, struct imap_poll_result *r, struct imap_stat *stat)
{
    struct imap_conn c;
    struct poll_ctx  pc = { .s = s, .c = &c, .st = st, .stat = stat,
        .stored = stored, .ctx = ctx, .r = r };
    enum ruad_rc     rc;

    (void)cfg;
    memset(r, 0, sizeof(*r));
    if (!conn_open(&c, s, stop, r->error, sizeof(r->error)))
        rc = RUAD_IO;
    else
        rc = poll_source(&pc, stop);
    conn_close(&c);
    if (rc != RUAD_OK && r->error[0] == '\0')
        snprintf(r->error, sizeof(r->error), "%s", ruad_rc_str(rc));
    return rc;
}

enum ruad_rc
imap_poll(const struct config *cfg, const struct imap_source_cfg *s,
    struct store *st, const atomic_bool *stop, imap_stored_fn stored,
    void *ctx, struct imap_poll_result *r)
{
    return poll_counted(cfg, s, st, stop, stored, ctx, r, NULL);
}

/* ---- pollers inside ruad serve ---- */

struct imap_pollers;

struct poller {
    struct imap_pollers          *p;
    const struct imap_source_cfg *s;
    struct imap_stat             *stat;
    pthread_t                     th;
};

struct imap_pollers {
    const struct config *cfg;
    void               (*kick)(void);
    pthread_mutex_t      mu;
    pthread_cond_t       cv;
    atomic_bool          stop;
    size_t               n;
    struct poller        pl[IMAP_SOURCES_MAX];
};

/* pollers_wait - sleep s seconds or until stopped; false: stop */
static bool
pollers_wait(struct imap_pollers *p, unsigned s)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += s;
    pthread_mutex_lock(&p->mu);
    while (!atomic_load(&p->stop) &&
        pthread_cond_timedwait(&p->cv, &p->mu, &until) == 0)
        ;
    pthread_mutex_unlock(&p->mu);
    return !atomic_load(&p->stop);
}

static void
poller_stored(void *ctx, int64_t id)
{
    struct imap_pollers *p = ctx;

    (void)id;
    if (p->kick != NULL)
        p->kick();
}

static void *
poller_main(void *arg)
{
    struct poller          *pl = arg;
    struct imap_pollers    *p = pl->p;
    const struct imap_source_cfg *s = pl->s;
    struct imap_poll_result r;
    struct store           *st = NULL;
    unsigned                backoff = 0, wait;
    char                    err[600];
    enum ruad_rc            rc;

    while (!atomic_load(&p->stop)) {
        if (st == NULL &&
            (st = store_open(p->cfg->database_url, err, sizeof(err))) ==
            NULL) {
            snprintf(r.error, sizeof(r.error), "database: %.480s", err);
            rc = RUAD_TEMPFAIL;
        } else {
            rc = poll_counted(p->cfg, s, st, &p->stop, poller_stored, p,
                &r, pl->stat);
        }
        if (rc == RUAD_OK) {
            atomic_store(&pl->stat->last_ok, (long long)time(NULL));
            if (r.listed > 0 || r.acted > 0)
                log_info("imap source=%s polled listed=%u stored=%u "
                    "too_large=%u identical=%u acted=%u", s->name, r.listed,
                    r.stored, r.too_large, r.identical, r.acted);
            backoff = 0;
            wait = s->poll_interval;
        } else if (atomic_load(&p->stop)) {
            break;
        } else {
            atomic_fetch_add(&pl->stat->errors, 1);
            backoff = backoff == 0 ? IMAP_BACKOFF_MIN_S :
                backoff >= IMAP_BACKOFF_MAX_S / 2 ? IMAP_BACKOFF_MAX_S :
                backoff * 2;
            wait = backoff;
            log_warn("imap source=%s poll failed error=\"%s\" retry_in=%us",
                s->name, r.error, wait);
            if (st != NULL && !store_healthy(st)) {
                store_close(st);
                st = NULL;
            }
        }
        if (!pollers_wait(p, wait))
            break;
    }
    store_close(st);
    return NULL;
}

struct imap_pollers *
imap_start(const struct config *cfg, void (*kick)(void))
{
    struct imap_pollers *p;
    size_t               i;

    if (cfg->imap.n == 0 || (p = calloc(1, sizeof(*p))) == NULL)
        return NULL;
    p->cfg = cfg;
    p->kick = kick;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    atomic_store(&p->stop, false);
    for (i = 0; i < cfg->imap.n; i++) {
        struct imap_stat *stat = &imap_stats[i];

        snprintf(stat->name, sizeof(stat->name), "%s",
            cfg->imap.src[i].name);
        atomic_store(&stat->last_ok, 0);
        atomic_store(&stat->fetched, 0);
        atomic_store(&stat->errors, 0);
    }
    atomic_store(&imap_n_stats, cfg->imap.n);
    for (i = 0; i < cfg->imap.n; i++) {
        p->pl[i].p = p;
        p->pl[i].s = &cfg->imap.src[i];
        p->pl[i].stat = &imap_stats[i];
        if (pthread_create(&p->pl[i].th, NULL, poller_main, &p->pl[i]) != 0)
            break;
        p->n++;
        log_info("imap source=%s polling url=%s every=%us action=%s",
            cfg->imap.src[i].name, cfg->imap.src[i].url,
            cfg->imap.src[i].poll_interval,
            action_names[cfg->imap.src[i].action]);
    }
    return p;
}

void
imap_stop(struct imap_pollers *p)
{
    size_t i;

    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (i = 0; i < p->n; i++)
        pthread_join(p->pl[i].th, NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

enum ruad_rc
imap_metrics_render(struct buf *b)
{
    size_t       i, n = atomic_load(&imap_n_stats);
    enum ruad_rc rc = RUAD_OK;

    if (n == 0)
        return RUAD_OK;
#define OUT(...) do { if (rc == RUAD_OK) rc = buf_printf(b, __VA_ARGS__); \
    } while (0)
    OUT("# HELP ruad_imap_last_success_timestamp_seconds Unix time of the "
        "last complete poll of an IMAP source (0: none yet).\n"
        "# TYPE ruad_imap_last_success_timestamp_seconds gauge\n");
    for (i = 0; i < n; i++)
        OUT("ruad_imap_last_success_timestamp_seconds{source=\"%s\"} %lld\n",
            imap_stats[i].name, (long long)atomic_load(&imap_stats[i].last_ok));
    OUT("# HELP ruad_imap_messages_fetched_total Messages stored from an "
        "IMAP source.\n# TYPE ruad_imap_messages_fetched_total counter\n");
    for (i = 0; i < n; i++)
        OUT("ruad_imap_messages_fetched_total{source=\"%s\"} %llu\n",
            imap_stats[i].name,
            (unsigned long long)atomic_load(&imap_stats[i].fetched));
    OUT("# HELP ruad_imap_errors_total Failed polls of an IMAP source.\n"
        "# TYPE ruad_imap_errors_total counter\n");
    for (i = 0; i < n; i++)
        OUT("ruad_imap_errors_total{source=\"%s\"} %llu\n",
            imap_stats[i].name,
            (unsigned long long)atomic_load(&imap_stats[i].errors));
#undef OUT
    return rc;
}
