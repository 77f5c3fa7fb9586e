/*
 * preflight.h - what `ruad serve --check-config` checks beyond the
 * settings' syntax (config_check): the files the service will open and
 * the settings that would lose reports.
 */
#ifndef RUAD_PREFLIGHT_H
#define RUAD_PREFLIGHT_H

#include <stdio.h>

#include "config.h"

#define PREFLIGHT_USER "ruad"     /* the package's service user */

/*
 * preflight_check - open every file the settings name as `ruad serve`
 * would (tls_cert with tls_key as a pair, tls_sni_certs, mta_sts_policy,
 * api_tokens_file, web_root, the IMAP secrets) and refuse an empty
 * smtp_accept while SMTP listens on port 25.  Each problem is one line
 * "ruad: check: ..." on out; returns their number (0: all is well).
 * Run as root, the files are opened as user (NULL: PREFLIGHT_USER when
 * that user exists, else root) in a child process; run as anyone else,
 * as that user (user, if given, must be the caller).
 */
unsigned preflight_check(const struct config *c, const char *user,
    FILE *out);

#endif /* RUAD_PREFLIGHT_H */
