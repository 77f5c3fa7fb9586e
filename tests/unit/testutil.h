/*
 * testutil.h - small helpers shared by the unit tests (cmocka).
 */
#ifndef RUAD_TESTUTIL_H
#define RUAD_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* tu_gzip - one gzip member holding (p, n); *outlen set; caller frees */
char *tu_gzip(const void *p, size_t n, int level, size_t *outlen);
/* tu_read_file - whole file, NUL-terminated; NULL if unreadable */
char *tu_read_file(const char *path, size_t *len);
/* tu_tmpdir - RUAD_TEST_TMP or /tmp, created if needed */
const char *tu_tmpdir(void);

#endif /* RUAD_TESTUTIL_H */
