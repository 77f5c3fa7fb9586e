/*
 * imap_config.h - IMAP sources as settings: `imap.NAME.KEY = value` lines
 * in the config file, `--imap-NAME-KEY=value` flags (dots and underscores
 * become dashes).  NAME is letters and digits; up to IMAP_SOURCES_MAX.
 */
#ifndef RUAD_IMAP_CONFIG_H
#define RUAD_IMAP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "result.h"

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

/* imap_config_is_key - does key (dashes already underscores) name an IMAP
 * source setting, i.e. start with "imap." or "imap_"? */
bool imap_config_is_key(const char *key);

/*
 * imap_config_set - set imap.NAME.KEY; the source NAME is created with
 * its defaults on first use.  RUAD_MALFORMED with a message in err.
 */
enum ruad_rc imap_config_set(struct imap_config *c, const char *key,
    const char *value, char *err, size_t errlen);

/* imap_config_check - every source complete and consistent */
enum ruad_rc imap_config_check(const struct imap_config *c, char *err,
    size_t errlen);

/* imap_config_usage - the keys of a source, for --help */
void imap_config_usage(FILE *f);
/* imap_config_reference - the same as a Markdown section, for
 * docs/configuration.md (`ruad config-reference`) */
void imap_config_reference(FILE *f);

#endif /* RUAD_IMAP_CONFIG_H */
