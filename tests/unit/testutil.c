/*
 * testutil.c - helpers shared by the unit tests.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

char *
tu_gzip(const void *p, size_t n, int level, size_t *outlen)
{
    z_stream zs;
    size_t   cap = n + n / 100 + 1024;
    char    *out = malloc(cap);

    if (out == NULL)
        return NULL;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8,
            Z_DEFAULT_STRATEGY) != Z_OK) {
        free(out);
        return NULL;
    }
    zs.next_in = (unsigned char *)(uintptr_t)p;
    zs.avail_in = (uInt)n;
    zs.next_out = (unsigned char *)out;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
        deflateEnd(&zs);
        free(out);
        return NULL;
    }
    *outlen = zs.total_out;
    deflateEnd(&zs);
    return out;
}

char *
tu_read_file(const char *path, size_t *len)
{
    FILE  *f = fopen(path, "rb");
    char  *p = NULL;
    long   sz;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)sz + 1)) != NULL) {
        if (fread(p, 1, (size_t)sz, f) != (size_t)sz) {
            free(p);
            p = NULL;
        } else {
            p[sz] = '\0';
            *len = (size_t)sz;
        }
    }
    fclose(f);
    return p;
}

const char *
tu_tmpdir(void)
{
    const char *d = getenv("RUAD_TEST_TMP");

    if (d == NULL || *d == '\0')
        d = "/tmp";
    mkdir(d, 0700);
    return d;
}
