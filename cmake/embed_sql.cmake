# embed_sql.cmake - turn db/NNN_name.sql files (the numbered migrations,
# applied once each) and db/functions/*.sql (re-applied on every migrate)
# into C tables that `ruad migrate` applies, so the binary carries its own
# schema; each row carries the SHA-256 of its file.
#
#   cmake -DOUT=migrations.c -DDIR=db -P embed_sql.cmake
set(body "")
set(i 0)

# embed(FILE VERSION ROWS) - a row for FILE appended to the list ROWS
macro(embed f ver rows)
    get_filename_component(name ${f} NAME_WE)
    file(READ ${f} hex HEX)
    file(SHA256 ${f} sha)
    string(REGEX REPLACE "(..)" "0x\\1," hex "${hex}")
    string(APPEND body "static const char sql_${i}[] = {${hex}0x00};\n")
    string(APPEND ${rows} "    { ${ver}, \"${name}\", sql_${i}, \"${sha}\" },\n")
    math(EXPR i "${i} + 1")
endmacro()

set(rows "")
file(GLOB files "${DIR}/[0-9][0-9][0-9]_*.sql")
list(SORT files)
foreach(f ${files})
    get_filename_component(name ${f} NAME_WE)
    string(SUBSTRING ${name} 0 3 num)
    math(EXPR ver "${num}")
    embed(${f} ${ver} rows)
endforeach()

set(fn_rows "")
file(GLOB files "${DIR}/functions/*.sql")
list(SORT files)
foreach(f ${files})
    embed(${f} 0 fn_rows)
endforeach()

file(WRITE ${OUT}.tmp "/* generated from the db migrations by cmake/embed_sql.cmake */
#include \"store_migrate.h\"

${body}
const struct store_migration store_migrations[] = {
${rows}    { 0, NULL, NULL, NULL },
};

const struct store_migration store_functions[] = {
${fn_rows}    { 0, NULL, NULL, NULL },
};
")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
