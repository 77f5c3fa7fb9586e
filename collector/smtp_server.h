/*
 * smtp_server.h - the SMTP listener of `ruad serve`: sockets, STARTTLS
 * (OpenSSL), connection caps and timeouts around the smtp_session engine;
 * received messages are stored as inbound rows through receipt.h.
 */
#ifndef RUAD_SMTP_SERVER_H
#define RUAD_SMTP_SERVER_H

#include <stddef.h>

#include "config.h"
#include "result.h"
#include "receipt.h"

struct smtp_server;

/*
 * smtp_server_start - listen on cfg->smtp_listen and serve in a thread of
 * its own; messages are stored through receipt, which must outlive the
 * server.  NULL with the reason in err.
 */
struct smtp_server *smtp_server_start(const struct config *cfg,
    struct receipt *receipt, char *err, size_t errlen);

/* smtp_server_reload_tls - read tls_cert and tls_key again (SIGHUP) */
enum ruad_rc smtp_server_reload_tls(struct smtp_server *s, char *err,
    size_t errlen);

/*
 * smtp_server_stop - stop accepting, tell idle sessions 421, let messages
 * being stored get their answer (up to drain_s seconds), then close
 * everything and free s.
 */
void smtp_server_stop(struct smtp_server *s, unsigned drain_s);

/* smtp_rcpt_allowed - does the smtp_accept list take addr?  (exported
 * for tests) */
bool smtp_rcpt_allowed(const char *accept, const char *addr);

#endif /* RUAD_SMTP_SERVER_H */
