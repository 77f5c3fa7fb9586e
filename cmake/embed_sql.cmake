# embed_sql.cmake - turn db/NNN_name.sql files into a C table that
# `ruad migrate` applies, so the binary carries its own schema.
#
#   cmake -DOUT=migrations.c -DDIR=db -P embed_sql.cmake
file(GLOB files "${DIR}/[0-9][0-9][0-9]_*.sql")
list(SORT files)
set(body "")
set(rows "")
set(i 0)
foreach(f ${files})
    get_filename_component(name ${f} NAME_WE)
    string(SUBSTRING ${name} 0 3 num)
    math(EXPR ver "${num}")
    file(READ ${f} hex HEX)
    string(REGEX REPLACE "(..)" "0x\\1," hex "${hex}")
    string(APPEND body "static const char sql_${i}[] = {${hex}0x00};\n")
    string(APPEND rows "    { ${ver}, \"${name}\", sql_${i} },\n")
    math(EXPR i "${i} + 1")
endforeach()
file(WRITE ${OUT}.tmp "/* generated from the db migrations by cmake/embed_sql.cmake */
#include \"store_migrate.h\"

${body}
const struct store_migration store_migrations[] = {
${rows}    { 0, NULL, NULL },
};
")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
