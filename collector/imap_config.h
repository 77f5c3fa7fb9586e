/*
 * imap_config.h - IMAP sources as settings: `imap.NAME.KEY = value` lines
 * in the config file, `--imap-NAME-KEY=value` flags (dots and underscores
 * become dashes).  NAME is letters and digits; up to IMAP_SOURCES_MAX.
 * The sources' data is struct config's (config.h); the keys reach
 * config.c through the hooks imap_config_register() gives it.
 */
#ifndef RUAD_IMAP_CONFIG_H
#define RUAD_IMAP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "result.h"

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

/*
 * imap_config_register - hand config.c the imap.NAME.* keys (is_key,
 * set, check, usage, reference below), once at start-up, before any
 * setting is read or --help printed
 */
void imap_config_register(void);

/* imap_config_usage - the keys of a source, for --help */
void imap_config_usage(FILE *f);
/* imap_config_reference - the same as a Markdown section, for
 * docs/configuration.md (`ruad config-reference`) */
void imap_config_reference(FILE *f);

#endif /* RUAD_IMAP_CONFIG_H */
