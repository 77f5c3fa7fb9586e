/*
 * preflight.c - `ruad serve --check-config`: open what the service will
 * open, and say what is wrong (see preflight.h).
 *
 * config_check has judged the settings' syntax; here every file they
 * name is opened (certificates and keys loaded as a pair, the MTA-STS
 * policies validated, the tokens file and the IMAP secrets read), and
 * settings that would lose reports are refused.  Every problem is
 * printed, not only the first.  Run as root, the files are opened as the
 * service user (a child that drops to it), since that is who must read
 * them.
 */
#include "preflight.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mta_sts.h"
#include "tls_creds.h"

struct preflight {
    FILE     *out;
    unsigned  problems;
    char      who[80];       /* " (as user ruad)" or "" */
};

static void pf_problem(struct preflight *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
pf_problem(struct preflight *p, const char *fmt, ...)
{
    va_list ap;

    fputs("ruad: check: ", p->out);
    va_start(ap, fmt);
    vfprintf(p->out, fmt, ap);
    va_end(ap);
    fputc('\n', p->out);
    p->problems++;
}

/* pf_readable - can the file be opened for reading?  Says why not. */
static bool
pf_readable(struct preflight *p, const char *key, const char *path)
{
    struct stat sb;
    int         fd;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
        pf_problem(p, "%s: %s: %s%s", key, path, strerror(errno), p->who);
        return false;
    }
    if (fstat(fd, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        pf_problem(p, "%s: %s: not a regular file", key, path);
        close(fd);
        return false;
    }
    close(fd);
    return true;
}

/* pf_pair - a PEM certificate chain and its key, loaded as serve loads
 * them (tls_creds.c), then: is the key the certificate's, is it valid? */
static void
pf_pair(struct preflight *p, const char *ckey, const char *cert,
    const char *kkey, const char *key)
{
    struct tls_creds *c;
    char              err[512];
    const char       *why, *path;
    size_t            n;
    bool              key_bad;
    bool              ok_c = pf_readable(p, ckey, cert);
    bool              ok_k = pf_readable(p, kkey, key);

    if (!ok_c || !ok_k)
        return;
    if ((c = tls_creds_load(cert, key, err, sizeof(err), &key_bad)) ==
        NULL) {
        /* the loader's "PATH: why": the why, after the file's name */
        path = key_bad ? key : cert;
        n = strlen(path);
        why = strncmp(err, path, n) == 0 && strncmp(err + n, ": ", 2) == 0 ?
            err + n + 2 : err;
        if (key_bad)
            pf_problem(p, "%s: %s: not a PEM private key: %s", kkey, key,
                why);
        else
            pf_problem(p, "%s: %s: not a PEM certificate chain: %s", ckey,
                cert, why);
    } else if (!tls_creds_key_matches(c)) {
        pf_problem(p, "%s and %s: %s and %s are not a pair (the key "
            "is not the certificate's)", ckey, kkey, cert, key);
    } else if (tls_creds_not_after(c) <= (long long)time(NULL)) {
        pf_problem(p, "%s: %s has expired", ckey, cert);
    }
    tls_creds_free(c);
}

/* pf_sni - each CERT:KEY of tls_sni_certs */
static void
pf_sni(struct preflight *p, const char *spec)
{
    struct tls_sni_entry en;
    const char          *s = spec;

    while (tls_creds_sni_next(&s, &en)) {
        if (!en.ok)
            pf_problem(p, "tls_sni_certs: \"%.*s\" is not CERT:KEY",
                en.len, en.text);
        else
            pf_pair(p, "tls_sni_certs", en.cert, "tls_sni_certs", en.key);
    }
}

/* pf_port - the port of a host:port setting, 0 if none */
static unsigned
pf_port(const char *listen)
{
    char     host[256];
    unsigned port = 0;

    if (listen[0] == '\0' ||
        !config_split_listen(listen, host, sizeof(host), &port))
        return 0;
    return port;
}

/* pf_run - every check, in this process */
static void
pf_run(struct preflight *p, const struct config *c)
{
    struct mta_sts_set *sts;
    char                err[1200];
    size_t              i;
    DIR                *d;

    if (c->tls_cert[0] != '\0')
        pf_pair(p, "tls_cert", c->tls_cert, "tls_key", c->tls_key);
    if (c->tls_sni_certs[0] != '\0')
        pf_sni(p, c->tls_sni_certs);
    if (mta_sts_load(c->mta_sts_policy, &sts, err, sizeof(err)) !=
        RUAD_OK)
        pf_problem(p, "%s%s", err, p->who);
    else
        mta_sts_free(sts);
    if (c->api_tokens_file[0] != '\0' &&
        access(c->api_tokens_file, F_OK) != 0 && errno == ENOENT)
        pf_problem(p, "api_tokens_file: %s: no such file (`ruad token new "
            "--scope read` makes it; without it the API refuses every "
            "request)", c->api_tokens_file);
    else if (c->api_tokens_file[0] != '\0')
        pf_readable(p, "api_tokens_file", c->api_tokens_file);
    if (c->web_root[0] != '\0') {
        if ((d = opendir(c->web_root)) == NULL)
            pf_problem(p, "web_root: %s: %s%s", c->web_root,
                strerror(errno), p->who);
        else
            closedir(d);
    }
    if (c->smtp_listen[0] != '\0' && c->smtp_accept[0] == '\0') {
        if (pf_port(c->smtp_listen) == 25)
            pf_problem(p, "smtp_accept is empty while SMTP listens on port "
                "25 (%s): every report would get 550 and be lost; list the "
                "rua addresses (smtp_accept = dmarc@rua.example.net)",
                c->smtp_listen);
        else
            fprintf(p->out, "ruad: check: warning: smtp_accept is empty: "
                "SMTP on %s refuses every recipient (550)\n",
                c->smtp_listen);
    }
    for (i = 0; i < c->imap.n; i++) {
        const struct imap_source_cfg *s = &c->imap.src[i];
        char                          key[128];

        if (s->password_file[0] != '\0') {
            snprintf(key, sizeof(key), "imap.%s.password_file", s->name);
            pf_readable(p, key, s->password_file);
        }
        if (s->token_file[0] != '\0') {
            snprintf(key, sizeof(key), "imap.%s.token_file", s->name);
            pf_readable(p, key, s->token_file);
        }
        if (s->ca_file[0] != '\0') {
            snprintf(key, sizeof(key), "imap.%s.ca_file", s->name);
            pf_readable(p, key, s->ca_file);
        }
    }
}

/* pf_drop - become user pw in this (child) process */
static bool
pf_drop(const struct passwd *pw)
{
    return initgroups(pw->pw_name, pw->pw_gid) == 0 &&
        setgid(pw->pw_gid) == 0 && setuid(pw->pw_uid) == 0 &&
        setuid(0) != 0;                  /* and there is no way back */
}

unsigned
preflight_check(const struct config *c, const char *user, FILE *out)
{
    struct preflight p = { .out = out };
    struct passwd   *pw = NULL;
    pid_t            pid;
    int              status;

    if (geteuid() == 0) {
        if (user == NULL)
            user = PREFLIGHT_USER;
        if ((pw = getpwnam(user)) == NULL && strcmp(user,
            PREFLIGHT_USER) != 0) {
            fprintf(out, "ruad: check: no user \"%s\"\n", user);
            return 1;
        }
    } else if (user != NULL) {
        struct passwd *me = getpwuid(geteuid());

        if (me == NULL || strcmp(me->pw_name, user) != 0) {
            fprintf(out, "ruad: check: only root can check as user "
                "\"%s\"\n", user);
            return 1;
        }
    }
    if (pw == NULL || pw->pw_uid == 0) {
        pf_run(&p, c);
        return p.problems;
    }
    /* as the service user: a child drops to it and reports its count */
    fflush(out);
    if ((pid = fork()) < 0) {
        fprintf(out, "ruad: check: fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        if (!pf_drop(pw)) {
            fprintf(out, "ruad: check: cannot become user %s: %s\n",
                pw->pw_name, strerror(errno));
            fflush(out);
            _exit(1);
        }
        snprintf(p.who, sizeof(p.who), " (as user %s)", pw->pw_name);
        pf_run(&p, c);
        fflush(out);
        _exit(p.problems > 100 ? 100 : (int)p.problems);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status))
        return 1;
    return (unsigned)WEXITSTATUS(status);
}
