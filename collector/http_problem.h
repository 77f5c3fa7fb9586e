/*
 * http_problem.h - the body of an RFC 9457 problem document
 * (application/problem+json), built in one place for every HTTP error
 * ruad sends (http_server.c and its files, http_api.c, http_static.c).
 */
#ifndef RUAD_HTTP_PROBLEM_H
#define RUAD_HTTP_PROBLEM_H

#include <stdbool.h>
#include <stddef.h>

/*
 * http_problem_json - {"type":"about:blank","title":T,"status":N,
 * "detail":D} with "parameter":P after them when param is not NULL, and a
 * newline after the document when nl; *len its length.  The caller frees
 * the (NUL-terminated) result; NULL when out of memory.
 */
char *http_problem_json(unsigned status, const char *title,
    const char *detail, const char *param, bool nl, size_t *len);

#endif
