# embed_file.cmake - one file as a C byte array and its length, so the
# binary carries it (docs/openapi.json for GET /api/v1/openapi.json).
#
#   cmake -DIN=docs/openapi.json -DOUT=openapi_json.c -DNAME=api_openapi_json
#         -P embed_file.cmake
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR n "${n} / 2")
string(REGEX REPLACE "(..)" "0x\\1," hex "${hex}")
file(WRITE ${OUT}.tmp "/* generated from ${IN} by cmake/embed_file.cmake */
#include <stddef.h>

extern const char ${NAME}[];
extern const size_t ${NAME}_len;
const char ${NAME}[] = {${hex}0x00};
const size_t ${NAME}_len = ${n};
")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
