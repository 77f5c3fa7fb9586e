/*
 * config.h - ruad's settings: one table row per key, a file of
 * `key = value` lines (# starts a comment), and the same keys as flags
 * (`--decompress-max-bytes=...`).  Values are range-checked; after start-up
 * the config is read-only and passed as `const struct config *`.
 */
#ifndef RUAD_CONFIG_H
#define RUAD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report.h"
#include "result.h"

#define CONFIG_STRING_MAX 1024

struct config {
    struct report_limits limits;
    int                  log_level;    /* enum log_level */
    char                 database_url[CONFIG_STRING_MAX];
    uint64_t             import_max;   /* bytes of one imported file */
};

/*
 * config_init - every key at its default (limits.h); database_url from
 * the environment (RUAD_DATABASE_URL) when it is set.
 */
void config_init(struct config *c);

/*
 * config_set - set key (underscores or dashes) from its text value.
 * On error returns RUAD_MALFORMED with a message in err.
 */
enum ruad_rc config_set(struct config *c, const char *key, const char *value,
    char *err, size_t errlen);

/*
 * config_load_file - read `key = value` lines.  The first error is
 * returned with "PATH:LINE: message" in err.
 */
enum ruad_rc config_load_file(struct config *c, const char *path, char *err,
    size_t errlen);

/* config_usage - one line per key: name, range, default, meaning */
void config_usage(FILE *f);

#endif /* RUAD_CONFIG_H */
