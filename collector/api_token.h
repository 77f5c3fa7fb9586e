/*
 * api_token.h - bearer tokens of the query API.
 *
 * The file named by api_tokens_file holds one token per line as
 * "SCOPE SHA256HEX [created-at]": the scope (read or write; write may
 * read too) and the SHA-256 of the token, never the token itself.  `ruad
 * token new` appends a line; a running server notices the file changed
 * (inode, size, mtime) on the next request and reads it again.
 */
#ifndef RUAD_API_TOKEN_H
#define RUAD_API_TOKEN_H

#include <stddef.h>

#include "result.h"

#define API_TOKEN_LEN       48        /* "ruad_" + 43 base64url chars */
#define API_TOKEN_TEXT_MAX  512       /* longer Authorization values: 401 */
#define API_TOKENS_MAX      10000     /* lines taken from the file */

enum api_scope { API_SCOPE_NONE = 0, API_SCOPE_READ = 1, API_SCOPE_WRITE = 2 };

struct api_tokens;

/* api_tokens_new - the token set of path ("" = no tokens); read lazily */
struct api_tokens *api_tokens_new(const char *path);
void api_tokens_free(struct api_tokens *t);

/*
 * api_tokens_scope - the scope of the presented token (API_SCOPE_NONE:
 * unknown).  Reads the file again when it changed; thread-safe.
 */
enum api_scope api_tokens_scope(struct api_tokens *t, const char *token,
    size_t len);

/* api_scope_parse - "read" or "write"; API_SCOPE_NONE otherwise */
enum api_scope api_scope_parse(const char *s);

/*
 * api_token_new - make a random token, append its hash with scope to
 * path (created 0600 if missing, fsynced) and put the token into out.
 */
enum ruad_rc api_token_new(const char *path, enum api_scope scope,
    char out[API_TOKEN_LEN + 1], char *err, size_t errlen);

#endif /* RUAD_API_TOKEN_H */
