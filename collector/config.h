/*
 * config.h - ruad's settings: one table row per key, a file of
 * `key = value` lines (# starts a comment), and the same keys as flags
 * (`--decompress-max-bytes=...`).  Values are range-checked; after start-up
 * the config is read-only and passed as `const struct config *`.
 *
 * List settings (smtp_accept, trusted_reporters, mta_sts_policy,
 * tls_sni_certs) are comma lists of any length, kept on the heap: a key
 * repeated in the file appends to its list.  Any other key given twice in
 * one file is an error naming both lines.  config_free releases the lists.
 */
#ifndef RUAD_CONFIG_H
#define RUAD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report.h"
#include "result.h"

#define CONFIG_STRING_MAX 1024
#define CONFIG_LIST_MAX   (1u << 20)   /* bytes of one list setting */
#define CONFIG_KEYS_MAX   4            /* families of config_register_keys */

/* The IMAP sources' settings (imap.NAME.KEY), as data; imap_config.c
 * reads and checks them. */
#define IMAP_SOURCES_MAX   8
#define IMAP_NAME_MAX      32
#define IMAP_PATH_MAX      512

enum imap_action { IMAP_ACT_KEEP, IMAP_ACT_FLAG, IMAP_ACT_MOVE };

struct imap_source_cfg {
    char     name[IMAP_NAME_MAX];
    char     url[IMAP_PATH_MAX];       /* imaps://host[:port]/MAILBOX */
    char     user[256];
    char     password_file[IMAP_PATH_MAX];
    char     token_file[IMAP_PATH_MAX];      /* OAuth2 bearer (XOAUTH2) */
    char     token_command[IMAP_PATH_MAX];   /* prints the bearer token */
    char     ca_file[IMAP_PATH_MAX];         /* PEM CAs trusted as well */
    char     move_to[256];                   /* folder for action=move */
    int      action;                         /* enum imap_action */
    uint32_t poll_interval;                  /* seconds */
    uint32_t batch;                          /* messages per listing */
    uint64_t max_message;                    /* bytes; bigger: too_large */
    uint32_t timeout;                        /* seconds per transfer */
};

struct imap_config {
    size_t                 n;
    struct imap_source_cfg src[IMAP_SOURCES_MAX];
};

struct config {
    struct report_limits limits;
    int                  log_level;    /* enum log_level */
    char                 database_url[CONFIG_STRING_MAX];
    uint64_t             import_max;   /* bytes of one imported file */
    /* ruad serve */
    char                 http_listen[CONFIG_STRING_MAX];  /* host:port */
    char                 http_prefix[CONFIG_STRING_MAX];  /* e.g. /rua */
    char                 tls_cert[CONFIG_STRING_MAX];     /* PEM path */
    char                 tls_key[CONFIG_STRING_MAX];      /* PEM path */
    uint64_t             http_max_body;
    uint32_t             http_timeout;                    /* seconds */
    uint32_t             http_header_timeout;             /* seconds */
    uint32_t             http_body_timeout;               /* seconds */
    uint32_t             http_max_connections;
    uint32_t             http_max_per_ip;
    uint32_t             http_threads;
    uint32_t             workers;
    char                 web_root[CONFIG_STRING_MAX];     /* "" = default */
    uint32_t             store_threads;   /* committing HTTP and SMTP */
    /* SMTP */
    char                 smtp_listen[CONFIG_STRING_MAX];  /* "" = off */
    char                 smtp_hostname[256];
    char                *smtp_accept;     /* list: a@d,@d,... */
    uint64_t             smtp_max_message;
    uint32_t             smtp_max_recipients;
    uint32_t             smtp_timeout;                    /* seconds */
    uint32_t             smtp_data_timeout;               /* seconds */
    uint32_t             smtp_session_timeout;            /* seconds */
    uint64_t             receive_max_bytes;   /* buffered, SMTP + HTTP */
    uint32_t             smtp_max_connections;
    uint32_t             smtp_max_per_ip;
    uint32_t             smtp_greet_delay_ms;
    uint32_t             smtp_require_tls;                /* bool */
    uint32_t             smtp_reject_bare_lf;             /* bool */
    /* rate limits (ratelimit.c), per instance */
    uint32_t             rate_limit_per_ip;     /* 0 = off */
    uint32_t             rate_limit_per_sender; /* 0 = off */
    uint32_t             rate_limit_window;     /* seconds */
    /* DKIM */
    char                 dns_server[256];       /* "" = resolv.conf */
    uint32_t             dns_timeout_ms;
    uint32_t             dkim_dns_budget_ms;    /* a mail's lookups */
    uint32_t             dkim_temperror_giveup; /* seconds after receipt */
    uint32_t             tlsrpt_require_dkim;   /* bool */
    uint32_t             dmarc_require_dkim;    /* bool */
    char                *trusted_reporters;     /* list */
    /* publishing: dns-records, MTA-STS */
    char                 public_url[CONFIG_STRING_MAX];  /* https://... */
    char                *mta_sts_policy;    /* list: D:FILE,... */
    char                *tls_sni_certs;     /* list: C:K,... */
    struct imap_config   imap;                  /* imap.NAME.KEY sources */
    /* query API */
    char                 api_tokens_file[CONFIG_STRING_MAX]; /* "" = none */
    uint32_t             metrics_require_token;  /* bool */
    uint32_t             http_ops_cache_ms;      /* /metrics, /readyz */
};

/*
 * A family of keys that another module owns and config.c only hands on
 * (imap.NAME.KEY: imap_config.c), registered at start-up, before any
 * setting is read.  The keys given are normalised (dashes as
 * underscores).
 */
struct config_keys {
    bool         (*is_key)(const char *key);
    enum ruad_rc (*set)(struct config *c, const char *key,
                     const char *value, char *err, size_t errlen);
    enum ruad_rc (*check)(const struct config *c, char *err,
                     size_t errlen);        /* after the table's checks */
    void         (*usage)(FILE *f);         /* after the table, --help */
    void         (*reference)(FILE *f);     /* after the table's section */
};

/* config_register_keys - add a family (borrowed; again: no-op); at most
 * CONFIG_KEYS_MAX */
void config_register_keys(const struct config_keys *k);

/*
 * config_init - every key at its default (limits.h); database_url from
 * the environment (RUAD_DATABASE_URL) when it is set.
 */
void config_init(struct config *c);

/* config_free - release the lists; c is config_init'ed again */
void config_free(struct config *c);

/*
 * config_set - set key (underscores or dashes) from its text value; a
 * list is replaced.  On error returns RUAD_MALFORMED with a message in err.
 */
enum ruad_rc config_set(struct config *c, const char *key, const char *value,
    char *err, size_t errlen);

/* config_add - as config_set, but a list key appends value to its list */
enum ruad_rc config_add(struct config *c, const char *key, const char *value,
    char *err, size_t errlen);

/* config_has_key - is key (underscores or dashes) a setting? */
bool config_has_key(const char *key);

/* config_is_list - is key a list setting (repeats append)? */
bool config_is_list(const char *key);

/*
 * config_list_next - the next item of a comma list at *p (a list
 * setting's value): *item and its length *n, blanks around it left out,
 * *p moved past it.  false at the end.
 */
bool config_list_next(const char **p, const char **item, size_t *n);

/*
 * config_load_file - read `key = value` lines; a list key may repeat
 * (its values append), any other key may not.  The first error is
 * returned with "PATH:LINE: message" in err.
 */
enum ruad_rc config_load_file(struct config *c, const char *path, char *err,
    size_t errlen);

/*
 * config_check - the settings as a whole: http_listen parses, tls_cert
 * and tls_key come together.  RUAD_MALFORMED with the reason in err.
 */
enum ruad_rc config_check(const struct config *c, char *err, size_t errlen);

/*
 * config_split_listen - "host:port" or "[v6]:port" into host (no
 * brackets) and port; false if it does not parse.
 */
bool config_split_listen(const char *s, char *host, size_t hostlen,
    unsigned *port);

/* config_usage - one line per key: name, range, default, meaning */
void config_usage(FILE *f);

/*
 * config_reference - every key as Markdown (docs/configuration.md is
 * this output): name, kind, default, range and meaning.
 */
void config_reference(FILE *f);

/* config_parse_number - decimal with an optional K, M or G suffix (when
 * suffix) into *out; false when it is not one or overflows */
bool config_parse_number(const char *s, bool suffix, uint64_t *out);

#endif /* RUAD_CONFIG_H */
