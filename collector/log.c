/*
 * log.c - key=value log lines on stderr (see log.h).
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum log_level log_level_current = LOG_L_INFO;

static const char *const log_names[] = { "error", "warn", "info", "debug" };

void
log_set_level(enum log_level lvl)
{
    log_level_current = lvl;
}

int
log_parse_level(const char *s)
{
    size_t i;

    for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
        if (strcmp(s, log_names[i]) == 0)
            return (int)i;
    return -1;
}

void
log_emit(enum log_level lvl, const char *fmt, ...)
{
    char            line[2048], ts[32];
    struct timespec now;
    struct tm       tm;
    va_list         ap;
    int             n;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    n = snprintf(line, sizeof(line), "ts=%s.%03ldZ level=%s ", ts,
        now.tv_nsec / 1000000, log_names[lvl]);
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    /* one write per line so concurrent threads do not interleave */
    fprintf(stderr, "%s\n", line);
}

char *
log_escape(char *dst, size_t dstlen, const char *src, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t            i, o = 0;

    if (dstlen == 0)
        return dst;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        int           plain = c > 0x20 && c < 0x7f && c != '"' &&
            c != '\\' && c != '=';

        if (o + (plain ? 1 : 4) + 4 > dstlen) {
            if (o + 4 <= dstlen) {
                memcpy(dst + o, "...", 3);
                o += 3;
            }
            break;
        }
        if (plain) {
            dst[o++] = (char)c;
        } else {
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        }
    }
    dst[o] = '\0';
    return dst;
}
