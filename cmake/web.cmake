# web.cmake - the dashboard's files as ruad serves them: web/'s own files
# and the pinned npm packages it uses, copied into one directory (the
# build tree's web/, installed as share/ruad/web).  Works offline once
# `npm ci --prefix web` has run; nothing is fetched at build or run time.
#
#   cmake -DSRC=web -DOUT=build/web -DSTAMP=build/web.stamp -P web.cmake
set(chart ${SRC}/node_modules/chart.js)
if(NOT EXISTS ${chart}/dist/chart.umd.min.js)
    message(FATAL_ERROR "web: ${chart} is missing: run `npm ci --prefix "
        "${SRC}` once (it needs the npm registry; web/package-lock.json "
        "pins every version)")
endif()
# start afresh, so a file removed from web/ is gone from the served tree;
# file(COPY) keeps modification times, and with them the ETags
file(REMOVE_RECURSE ${OUT})
file(COPY ${SRC}/index.html ${SRC}/app.css ${SRC}/favicon.svg ${SRC}/js
    DESTINATION ${OUT})
file(COPY ${chart}/dist/chart.umd.min.js DESTINATION ${OUT}/vendor)
file(COPY_FILE ${chart}/LICENSE.md ${OUT}/vendor/chart.js-LICENSE.md
    ONLY_IF_DIFFERENT)
file(TOUCH ${STAMP})
