/*
 * cmd_serve.c - `ruad serve`: the service.  Starts the receivers (HTTP(S),
 * SMTP, the IMAP pollers) and the worker pool, waits for signals (SIGHUP
 * reloads the TLS certificates, SIGTERM and SIGINT drain and stop), and
 * `--check-config` checks the settings and files without serving.
 */
#include "cmd.h"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "dns.h"
#include "http_server.h"
#include "imap.h"
#include "receipt.h"
#include "limits.h"
#include "log.h"
#include "membudget.h"
#include "metrics.h"
#include "preflight.h"
#include "smtp_server.h"

int
cmd_serve(struct config *cfg, const struct args *a)
{
    struct store_pool  *pool;
    struct http_server *http;
    struct smtp_server *smtp = NULL;
    struct imap_pollers *imap;
    struct receipt     *ing;
    struct rlimit       rl;
    sigset_t            sigs;
    char                err[600];
    int                 sig = 0;
    bool                check = args_value(a, "check-config") != NULL;

    if (args_no_operands(a) != 0)
        return 2;
    if (config_check(cfg, err, sizeof(err)) != RUAD_OK) {
        fprintf(stderr, "ruad: %s\n", err);
        return 2;
    }
    if (check) {
        unsigned n = preflight_check(cfg, args_value(a, "as-user"),
            stderr);

        if (n > 0) {
            fprintf(stderr, "ruad: %u problem%s in the configuration\n", n,
                n == 1 ? "" : "s");
            return 2;
        }
        printf("configuration OK\n");
        return 0;
    }
    metrics_init();
    imap_global_init();
    metrics_add_section(imap_metrics_render);
    /* glibc, before any thread: few arenas (8 per core by default, each
     * keeping what it once held), and big buffers (messages, bodies)
     * mmapped, so their pages go back to the system when freed */
    mallopt(M_ARENA_MAX, MALLOC_ARENAS_MAX);
    mallopt(M_MMAP_THRESHOLD, RECEIVE_TRIM_MIN);
    membudget_set(cfg->receive_max_bytes);
    /* thousands of idle SMTP sessions need descriptors */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    /* signals go to this thread alone (sigwait below) */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    if ((pool = store_pool_new(cfg->database_url, cfg->http_threads + 2)) ==
        NULL) {
        fprintf(stderr, "ruad: out of memory\n");
        return 1;
    }
    if ((ing = receipt_start(cfg->database_url, cfg->store_threads,
        worker_pool_kick)) == NULL) {
        fprintf(stderr, "ruad: out of memory\n");
        store_pool_free(pool);
        return 1;
    }
    if ((http = http_server_start(cfg, pool, ing, worker_pool_kick,
        err, sizeof(err))) == NULL) {
        fprintf(stderr, "ruad: %s\n", err);
        receipt_stop(ing);
        store_pool_free(pool);
        return 1;
    }
    if (cfg->smtp_listen[0] != '\0' &&
        (smtp = smtp_server_start(cfg, ing, err, sizeof(err))) ==
        NULL) {
        fprintf(stderr, "ruad: %s\n", err);
        http_server_stop(http, 0);
        receipt_stop(ing);
        store_pool_free(pool);
        return 1;
    }
    if (worker_pool_start(cfg, ing) != RUAD_OK)
        return 1;
    imap = imap_start(cfg, worker_pool_kick);
    log_info("serve started version=%s workers=%u pid=%d", RUAD_VERSION,
        cfg->workers, (int)getpid());

    for (;;) {
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            dns_cache_flush();           /* keys may have changed too */
            if (http_server_reload_tls(http, err, sizeof(err)) == RUAD_OK &&
                (smtp == NULL || smtp_server_reload_tls(smtp, err,
                sizeof(err)) == RUAD_OK))
                log_info("serve tls reloaded");
            else
                log_error("serve tls reload failed, old certificate kept "
                    "reason=\"%.300s\"", err);
            continue;
        }
        break;
    }
    /* drain: no new connections, requests in flight finish, each worker
     * finishes the row in hand */
    log_info("serve stopping signal=%d", sig);
    imap_stop(imap);
    smtp_server_stop(smtp, 10);
    http_server_stop(http, 10);
    worker_pool_stop();
    receipt_stop(ing);                /* all answered; the workers asked it */
    store_pool_free(pool);
    log_info("serve stopped");
    return 0;
}
