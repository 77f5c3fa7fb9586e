/*
 * imap_config.c - IMAP source settings (see imap_config.h).
 *
 * SECURITY: the config is the admin's, but values end up in IMAP
 * commands (move_to) and URLs, so CR, LF and NUL are refused and every
 * number is range-checked.
 */
#include "imap_config.h"

#include <stdlib.h>
#include <string.h>

#include "limits.h"

enum imap_kind { IK_STRING, IK_UINT, IK_SIZE, IK_ACTION };

static const struct imap_key {
    const char    *name;
    enum imap_kind kind;
    size_t         off, width;
    uint64_t       min, max;
    const char    *help;
} imap_keys[] = {
#define OFF(f) offsetof(struct imap_source_cfg, f), \
    sizeof(((struct imap_source_cfg *)0)->f)
    { "url", IK_STRING, OFF(url), 0, 0,
      "imaps://host[:port]/MAILBOX, or imap://... (STARTTLS required)" },
    { "user", IK_STRING, OFF(user), 0, 0, "login name" },
    { "password_file", IK_STRING, OFF(password_file), 0, 0,
      "file holding the password (LOGIN or SASL PLAIN)" },
    { "token_file", IK_STRING, OFF(token_file), 0, 0,
      "file holding an OAuth2 access token (XOAUTH2), read at each poll" },
    { "token_command", IK_STRING, OFF(token_command), 0, 0,
      "command (sh -c) printing an OAuth2 access token, run at each poll" },
    { "ca_file", IK_STRING, OFF(ca_file), 0, 0,
      "PEM file of CAs to trust besides the system's" },
    { "action", IK_ACTION, OFF(action), 0, 0,
      "after storing: keep, flag (\\Seen) or move (to move_to)" },
    { "move_to", IK_STRING, OFF(move_to), 0, 0,
      "folder for action = move" },
    { "poll_interval", IK_UINT, OFF(poll_interval), 1, 86400,
      "seconds between polls" },
    { "batch", IK_UINT, OFF(batch), 1, IMAP_BATCH_MAX,
      "messages listed and fetched per round" },
    { "max_message_size", IK_SIZE, OFF(max_message), 1024, 1u << 30,
      "bytes of one message; bigger ones are kept as too_large" },
    { "timeout", IK_UINT, OFF(timeout), 5, 3600,
      "seconds one IMAP command may take" },
#undef OFF
};

#define N_KEYS (sizeof(imap_keys) / sizeof(imap_keys[0]))

bool
imap_config_is_key(const char *key)
{
    return strncmp(key, "imap.", 5) == 0 || strncmp(key, "imap_", 5) == 0;
}

static void
source_defaults(struct imap_source_cfg *s, const char *name, size_t len)
{
    memset(s, 0, sizeof(*s));
    memcpy(s->name, name, len);
    s->name[len] = '\0';
    s->action = IMAP_ACT_KEEP;
    s->poll_interval = IMAP_POLL_S;
    s->batch = IMAP_BATCH;
    s->max_message = IMAP_MSG_MAX;
    s->timeout = IMAP_TIMEOUT_S;
}

static bool
valid_name(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len >= IMAP_NAME_MAX)
        return false;
    for (i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
            (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

enum ruad_rc
imap_config_set(struct imap_config *c, const char *key, const char *value,
    char *err, size_t errlen)
{
    const char             *rest = key + 5, *name = NULL;
    const struct imap_key  *k = NULL;
    struct imap_source_cfg *s = NULL;
    size_t                  i, rlen = strlen(rest), nlen = 0;
    uint64_t                v;

    /* NAME has no dots or underscores, so the key is what follows the
     * last separator that leaves a known key name */
    for (i = 0; i < N_KEYS; i++) {
        size_t kl = strlen(imap_keys[i].name);

        if (rlen > kl + 1 && strcmp(rest + rlen - kl, imap_keys[i].name)
            == 0 && (rest[rlen - kl - 1] == '.' || rest[rlen - kl - 1] ==
            '_') && valid_name(rest, rlen - kl - 1)) {
            k = &imap_keys[i];
            name = rest;
            nlen = rlen - kl - 1;
            break;
        }
    }
    if (k == NULL) {
        snprintf(err, errlen, "unknown key \"%s\" (imap.NAME.KEY, NAME of "
            "letters and digits, KEY one of url, user, password_file, "
            "token_file, token_command, ca_file, action, move_to, "
            "poll_interval, batch, max_message_size, timeout)", key);
        return RUAD_MALFORMED;
    }
    for (i = 0; i < c->n; i++)
        if (strlen(c->src[i].name) == nlen &&
            memcmp(c->src[i].name, name, nlen) == 0)
            s = &c->src[i];
    if (s == NULL) {
        if (c->n == IMAP_SOURCES_MAX) {
            snprintf(err, errlen, "more than %d IMAP sources",
                IMAP_SOURCES_MAX);
            return RUAD_MALFORMED;
        }
        s = &c->src[c->n++];
        source_defaults(s, name, nlen);
    }
    if (strpbrk(value, "\r\n") != NULL) {
        snprintf(err, errlen, "%s: line breaks are not allowed", key);
        return RUAD_MALFORMED;
    }
    switch (k->kind) {
    case IK_STRING:
        if (strlen(value) >= k->width) {
            snprintf(err, errlen, "%s: longer than %zu bytes", key,
                k->width - 1);
            return RUAD_MALFORMED;
        }
        memcpy((char *)s + k->off, value, strlen(value) + 1);
        return RUAD_OK;
    case IK_ACTION:
        if (strcmp(value, "keep") == 0)
            s->action = IMAP_ACT_KEEP;
        else if (strcmp(value, "flag") == 0)
            s->action = IMAP_ACT_FLAG;
        else if (strcmp(value, "move") == 0)
            s->action = IMAP_ACT_MOVE;
        else {
            snprintf(err, errlen, "%s: \"%s\" is not keep, flag or move",
                key, value);
            return RUAD_MALFORMED;
        }
        return RUAD_OK;
    case IK_UINT:
    case IK_SIZE:
        if (!config_parse_number(value, k->kind == IK_SIZE, &v) || v < k->min ||
            v > k->max) {
            snprintf(err, errlen, "%s: \"%s\" is not a number in "
                "%llu..%llu", key, value, (unsigned long long)k->min,
                (unsigned long long)k->max);
            return RUAD_MALFORMED;
        }
        if (k->width == sizeof(uint64_t)) {
            uint64_t x = v;
            memcpy((char *)s + k->off, &x, sizeof(x));
        } else {
            uint32_t x = (uint32_t)v;
            memcpy((char *)s + k->off, &x, sizeof(x));
        }
        return RUAD_OK;
    }
    return RUAD_INTERNAL;
}

enum ruad_rc
imap_config_check(const struct imap_config *c, char *err, size_t errlen)
{
    size_t i;
    int    n;

    for (i = 0; i < c->n; i++) {
        const struct imap_source_cfg *s = &c->src[i];
        const char *path;

        if (strncmp(s->url, "imaps://", 8) != 0 &&
            strncmp(s->url, "imap://", 7) != 0) {
            snprintf(err, errlen, "imap.%s.url: \"%s\" is not imaps://HOST/"
                "MAILBOX or imap://HOST/MAILBOX", s->name, s->url);
            return RUAD_MALFORMED;
        }
        path = strchr(s->url + (s->url[4] == 's' ? 8 : 7), '/');
        if (path == NULL || path[1] == '\0' || strpbrk(path, ";?#") != NULL
            || strchr(s->url, '@') != NULL) {
            snprintf(err, errlen, "imap.%s.url: \"%s\" needs a mailbox "
                "(imaps://HOST/INBOX), and no ;options, query or user@",
                s->name, s->url);
            return RUAD_MALFORMED;
        }
        if (s->user[0] == '\0') {
            snprintf(err, errlen, "imap.%s.user is not set", s->name);
            return RUAD_MALFORMED;
        }
        n = (s->password_file[0] != '\0') + (s->token_file[0] != '\0') +
            (s->token_command[0] != '\0');
        if (n != 1) {
            snprintf(err, errlen, "imap.%s: set one of password_file, "
                "token_file and token_command", s->name);
            return RUAD_MALFORMED;
        }
        if ((s->action == IMAP_ACT_MOVE) != (s->move_to[0] != '\0')) {
            snprintf(err, errlen, "imap.%s: move_to goes with action = "
                "move", s->name);
            return RUAD_MALFORMED;
        }
    }
    return RUAD_OK;
}

void
imap_config_usage(FILE *f)
{
    size_t i;

    fprintf(f, "\nIMAP sources (imap.NAME.KEY = value, or "
        "--imap-NAME-KEY=value):\n");
    for (i = 0; i < N_KEYS; i++)
        fprintf(f, "  imap.NAME.%-17s %s\n", imap_keys[i].name,
            imap_keys[i].help);
    fprintf(f, "  (defaults: action keep, poll_interval %u, batch %u, "
        "max_message_size %u, timeout %u)\n", IMAP_POLL_S, IMAP_BATCH,
        (unsigned)IMAP_MSG_MAX, IMAP_TIMEOUT_S);
}

void
imap_config_reference(FILE *f)
{
    static const char *const kinds[] = { "text", "number", "size",
        "keep/flag/move" };
    struct imap_source_cfg d;
    size_t                 i;

    source_defaults(&d, "", 0);
    fputs("\n## IMAP sources\n\n"
        "Each source is a group of `imap.NAME.KEY = value` lines (NAME:\n"
        "letters and digits, up to " , f);
    fprintf(f, "%d sources), or `--imap-NAME-KEY=value` flags.\n"
        "`url` and `user` are required, and exactly one of `password_file`,"
        "\n`token_file` and `token_command`.\n\n"
        "| key | kind | default | range | meaning |\n"
        "|---|---|---|---|---|\n", IMAP_SOURCES_MAX);
    for (i = 0; i < N_KEYS; i++) {
        const struct imap_key *k = &imap_keys[i];
        uint64_t               v = 0;
        uint32_t               v32;

        fprintf(f, "| `imap.NAME.%s` | %s | ", k->name, kinds[k->kind]);
        if (k->kind == IK_ACTION)
            fputs("`keep` |  | ", f);
        else if (k->kind == IK_STRING)
            fputs(" |  | ", f);
        else {
            if (k->width == sizeof(uint64_t))
                memcpy(&v, (char *)&d + k->off, sizeof(v));
            else {
                memcpy(&v32, (char *)&d + k->off, sizeof(v32));
                v = v32;
            }
            fprintf(f, "`%llu` | %llu..%llu", (unsigned long long)v,
                (unsigned long long)k->min, (unsigned long long)k->max);
            fputs(" | ", f);
        }
        fprintf(f, "%s |\n", k->help);
    }
}

/* the hooks config.c calls for imap.* keys */

static enum ruad_rc
imap_keys_set(struct config *c, const char *key, const char *value,
    char *err, size_t errlen)
{
    return imap_config_set(&c->imap, key, value, err, errlen);
}

static enum ruad_rc
imap_keys_check(const struct config *c, char *err, size_t errlen)
{
    return imap_config_check(&c->imap, err, errlen);
}

static const struct config_keys imap_config_keys = {
    imap_config_is_key, imap_keys_set, imap_keys_check, imap_config_usage,
    imap_config_reference
};

void
imap_config_register(void)
{
    config_register_keys(&imap_config_keys);
}
