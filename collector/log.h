/*
 * log.h - one key=value line per event on stderr.
 *
 * The macros test the level first, so arguments of disabled levels are
 * never evaluated (Redis serverLog).  Peer strings must go through
 * log_escape() before they reach a format.
 */
#ifndef RUAD_LOG_H
#define RUAD_LOG_H

#include <stddef.h>

enum log_level { LOG_L_ERROR, LOG_L_WARN, LOG_L_INFO, LOG_L_DEBUG };

extern enum log_level log_level_current;

void log_set_level(enum log_level lvl);
/* log_parse_level - "error", "warn", "info", "debug"; -1 if unknown */
int  log_parse_level(const char *s);
void log_emit(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * log_escape - printable, quote-free rendering of peer bytes for a log
 * line: bytes outside 0x21..0x7e (and '"', '\\', '=') become \xNN, and the
 * result is cut (ending in "...") to fit dst.  Returns dst.
 */
char *log_escape(char *dst, size_t dstlen, const char *src, size_t len);

#define LOG_AT(lvl, ...) do { \
        if ((lvl) <= log_level_current) log_emit((lvl), __VA_ARGS__); \
    } while (0)
#define log_error(...) LOG_AT(LOG_L_ERROR, __VA_ARGS__)
#define log_warn(...)  LOG_AT(LOG_L_WARN, __VA_ARGS__)
#define log_info(...)  LOG_AT(LOG_L_INFO, __VA_ARGS__)
#define log_debug(...) LOG_AT(LOG_L_DEBUG, __VA_ARGS__)

#endif /* RUAD_LOG_H */
