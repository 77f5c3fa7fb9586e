/*
 * fuzz_api_params.c - libFuzzer target for the query API's request
 * parsing: api_route(), api_query_parse() (percent-decoding and every
 * parameter's value parser) and api_cursor_decode().
 *
 * The first byte picks the endpoint whose parameters are parsed; the rest
 * is a raw query string, and also a path and a cursor.  A cursor that
 * decodes must encode to one that decodes to the same fields, and a
 * report cursor's time must be one PostgreSQL can compute with.
 *
 * SECURITY: these parsers see the path, query string and cursor of every
 * API request before anything else; a crash here is a remote bug.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct api_query  q;
    struct api_cursor c, c2;
    char              err[300], badkey[64], enc[API_CURSOR_MAX];
    const char       *s = (const char *)data + 1, *allow;
    size_t            n = size > 0 ? size - 1 : 0;
    int64_t           id;
    bool              ok;
    enum api_ep       ep;

    if (size == 0)
        return 0;
    ep = (enum api_ep)(data[0] % (API_EP_OPENAPI + 1));
    api_query_init(&q, ep, 1);
    if (api_query_parse(&q, s, n, badkey, sizeof(badkey), err,
        sizeof(err)) == RUAD_OK) {
        if (q.limit < 1 || q.limit > API_LIMIT_MAX)
            abort();
        if (q.has_since && q.has_until && q.until <= q.since)
            abort();
    } else if (err[0] == '\0') {
        abort();                       /* an error always says why */
    }
    api_route(s, n, "GET", &id, &ok, &allow);
    if (api_cursor_decode(s, n, &c)) {
        if ((c.kind == 'd' || c.kind == 't') && (c.a < API_CURSOR_TIME_MIN ||
            c.a > API_CURSOR_TIME_MAX))
            abort();
        api_cursor_encode(&c, enc);
        if (!api_cursor_decode(enc, strlen(enc), &c2) || c.kind != c2.kind ||
            c.a != c2.a || c.id != c2.id || strcmp(c.text, c2.text) != 0)
            abort();
    }
    return 0;
}
