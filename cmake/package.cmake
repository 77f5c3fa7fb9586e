# package.cmake - `cmake --build build --target package` makes a .deb
# (CPack) that installs ruad as a Debian service:
#   /usr/bin/ruad                          the binary
#   /usr/share/ruad/web/                   the dashboard's static files
#   /usr/share/ruad/migrations/            the SQL migrations (also embedded)
#   /lib/systemd/system/ruad.service       the hardened unit (not started)
#   /etc/ruad/ruad.conf                    the annotated example (conffile)
#   /usr/share/man/man8/ruad.8.gz          ruad(8)
#   /usr/share/doc/ruad/                   README, SECURITY, changelog.gz,
#                                          copyright, docs, Postfix snippet
# postinst creates the system user ruad; nothing starts until the admin
# has filled in ruad.conf and runs `systemctl enable --now ruad`.

include(GNUInstallDirs)

# web/ (the dashboard with its npm packages) is installed from the build
# tree by CMakeLists.txt
install(DIRECTORY ${CMAKE_SOURCE_DIR}/db/ DESTINATION share/ruad/migrations
    FILES_MATCHING PATTERN "*.sql")
install(FILES ${CMAKE_SOURCE_DIR}/deploy/systemd/ruad.service
    DESTINATION /lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/ruad.conf DESTINATION /etc/ruad
    PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/ruad.conf
    DESTINATION share/doc/ruad/examples)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/postfix/README.md
    ${CMAKE_SOURCE_DIR}/deploy/postfix/transport
    DESTINATION share/doc/ruad/examples/postfix)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/SECURITY.md
    ${CMAKE_SOURCE_DIR}/deploy/debian/copyright DESTINATION share/doc/ruad)
# Debian wants the changelog as changelog.gz (Policy 12.7)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/changelog.gz
    COMMAND gzip -9n -c ${CMAKE_SOURCE_DIR}/CHANGELOG.md >
        ${CMAKE_BINARY_DIR}/changelog.gz
    DEPENDS ${CMAKE_SOURCE_DIR}/CHANGELOG.md
    COMMENT "Compressing CHANGELOG.md")
add_custom_target(changelog ALL DEPENDS ${CMAKE_BINARY_DIR}/changelog.gz)
install(FILES ${CMAKE_BINARY_DIR}/changelog.gz DESTINATION share/doc/ruad)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION share/doc/ruad/docs
    FILES_MATCHING PATTERN "*.md")

# the man page, compressed as Debian policy wants it
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/ruad.8.gz
    COMMAND gzip -9n -c ${CMAKE_SOURCE_DIR}/deploy/ruad.8 >
        ${CMAKE_BINARY_DIR}/ruad.8.gz
    DEPENDS ${CMAKE_SOURCE_DIR}/deploy/ruad.8
    COMMENT "Compressing ruad.8")
add_custom_target(manpage ALL DEPENDS ${CMAKE_BINARY_DIR}/ruad.8.gz)
install(FILES ${CMAKE_BINARY_DIR}/ruad.8.gz DESTINATION share/man/man8)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ruad)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# no mail address: the maintainers are reached through the project's
# issue tracker (SECURITY.md for vulnerabilities)
set(CPACK_PACKAGE_CONTACT "ruad maintainers")
set(CPACK_PACKAGE_VENDOR "the ruad project")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "DMARC and SMTP TLS report collector (rua endpoint)")
set(CPACK_PACKAGE_DESCRIPTION
    "ruad receives DMARC aggregate reports (RFC 7489, RFC 9990) and SMTP TLS
reports (RFC 8460) over its own SMTP listener and HTTPS, verifies DKIM,
and keeps the reports in PostgreSQL.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql (>= 15)")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/deploy/debian/conffiles
    ${CMAKE_SOURCE_DIR}/deploy/debian/postinst
    ${CMAKE_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
