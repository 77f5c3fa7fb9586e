# Tests (included from the top-level CMakeLists.txt).
#
#   ctest -L unit         table-driven C unit tests (cmocka), no network
#   ctest -L samples      every file under ../shared/samples (RUAD_SAMPLES)
#   ctest -L hostile      bombs, entity attacks and junk made by the tests
#   ctest -L imap         IMAP sources against a private Dovecot (loopback)
#
# Unit tests: tests/unit/test_<module>.c links ruad_<module> when such a
# library exists (so one module's tests build on their own), else all of
# the parsing code.

pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)

file(GLOB RUAD_UNIT_TESTS CONFIGURE_DEPENDS
    ${CMAKE_SOURCE_DIR}/tests/unit/test_*.c)
foreach(src ${RUAD_UNIT_TESTS})
    get_filename_component(name ${src} NAME_WE)
    string(REGEX REPLACE "^test_" "" module ${name})
    add_executable(${name} ${src} tests/unit/testutil.c)
    target_compile_options(${name} PRIVATE
        "SHELL:-iquote ${CMAKE_SOURCE_DIR}/tests/unit")
    if(TARGET ruad_${module})
        target_link_libraries(${name} PRIVATE ruad_${module})
    else()
        target_link_libraries(${name} PRIVATE ruad_parse)
    endif()
    target_link_libraries(${name} PRIVATE PkgConfig::CMOCKA
        PkgConfig::ZLIB)
    add_test(NAME unit_${module} COMMAND ${name})
    set_tests_properties(unit_${module} PROPERTIES LABELS unit
        ENVIRONMENT "RUAD_TEST_TMP=${CMAKE_BINARY_DIR}/tmp")
endforeach()

# store_api.c's SQL builders are static: its test includes the file and
# links what it calls (the store, the parameter names), never PostgreSQL
target_link_libraries(test_store_api PRIVATE ruad_store ruad_api_params)

# dkim*.c again with dkim_canon.c's portable block scan (what builds
# without SSE2 use)
add_executable(test_dkim_portable tests/unit/test_dkim.c
    tests/unit/testutil.c collector/dkim.c collector/dkim_canon.c
    collector/dkim_sig.c collector/dkim_key.c)
target_compile_definitions(test_dkim_portable PRIVATE RUAD_NO_SIMD)
target_compile_options(test_dkim_portable PRIVATE
    "SHELL:-iquote ${CMAKE_SOURCE_DIR}/tests/unit")
target_link_libraries(test_dkim_portable PRIVATE ruad_base Threads::Threads
    PkgConfig::OPENSSL PkgConfig::LIBPSL PkgConfig::CMOCKA PkgConfig::ZLIB)
add_test(NAME unit_dkim_portable COMMAND test_dkim_portable)
set_tests_properties(unit_dkim_portable PROPERTIES LABELS unit)

# Generator of hostile and odd inputs (bombs, entity attacks, big reports)
add_executable(mkinput tests/tools/mkinput.c)
target_link_libraries(mkinput PRIVATE PkgConfig::ZLIB)
# A month of demo reports (quickstart, and tests that need many reports)
add_executable(mkdemo tests/tools/mkdemo.c)
target_link_libraries(mkdemo PRIVATE PkgConfig::ZLIB)
# Runs a command and reports its wall time and peak RSS (wait4), from a
# process small enough not to lend the command its own (see runrss.c):
# test_imap's bounded-memory check, bench_import
add_executable(runrss tests/bench/runrss.c)

set(RUAD_SAMPLES_DEFAULT ${CMAKE_SOURCE_DIR}/../shared/samples)
set(RUAD_PY /usr/bin/python3)
set(RUAD_TEST_ENV
    "RUAD_BIN=$<TARGET_FILE:ruad>"
    "RUAD_MKINPUT=$<TARGET_FILE:mkinput>"
    "RUAD_MKDEMO=$<TARGET_FILE:mkdemo>"
    "RUAD_RUNRSS=$<TARGET_FILE:runrss>"
    "RUAD_SRC=${CMAKE_SOURCE_DIR}"
    "RUAD_TEST_TMP=${CMAKE_BINARY_DIR}/tmp")

file(GLOB RUAD_PY_TESTS CONFIGURE_DEPENDS
    ${CMAKE_SOURCE_DIR}/tests/integration/test_*.py)
foreach(src ${RUAD_PY_TESTS})
    get_filename_component(name ${src} NAME_WE)
    string(REGEX REPLACE "^test_" "" tname ${name})
    add_test(NAME ${tname} COMMAND ${RUAD_PY} ${src})
    # label = the word after "test_" up to the next "_" (samples, hostile...)
    string(REGEX REPLACE "_.*$" "" label ${tname})
    set_tests_properties(${tname} PROPERTIES LABELS "${label}"
        ENVIRONMENT "${RUAD_TEST_ENV}" SKIP_RETURN_CODE 77 TIMEOUT 600)
endforeach()
