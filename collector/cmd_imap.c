/*
 * cmd_imap.c - `ruad imap-fetch`: poll the IMAP sources once (from cron),
 * then process what each poll stored and print the verdicts.
 */
#include "cmd.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap.h"

/* The rows one poll stored, processed after it. */
struct fetch_ids {
    int64_t *ids;
    size_t   n, cap;
    bool     nomem;
};

static void
fetch_stored(void *ctx, int64_t id)
{
    struct fetch_ids *f = ctx;
    int64_t          *p;

    if (f->n == f->cap) {
        if ((p = realloc(f->ids, (f->cap * 2 + 64) * sizeof(*p))) == NULL) {
            f->nomem = true;              /* a serve worker takes it */
            return;
        }
        f->ids = p;
        f->cap = f->cap * 2 + 64;
    }
    f->ids[f->n++] = id;
}

int
cmd_imap_fetch(struct config *cfg, const struct args *a)
{
    struct store           *st;
    struct imap_poll_result r;
    struct worker_result    w;
    struct fetch_ids        f = { 0 };
    atomic_bool             stop = false;
    const char             *only = args_value(a, "source");
    char                    err[600];
    int                     failed = 0, i;
    size_t                  k, j;

    if (args_no_operands(a) != 0)
        return 2;
    if (config_check(cfg, err, sizeof(err)) != RUAD_OK) {
        fprintf(stderr, "ruad: %s\n", err);
        return 2;
    }
    for (k = 0, i = 0; k < cfg->imap.n; k++)
        i += only == NULL || strcmp(cfg->imap.src[k].name, only) == 0;
    if (i == 0) {
        fprintf(stderr, "ruad: imap-fetch: %s\n", only != NULL ?
            "no such IMAP source" : "no IMAP source configured "
            "(imap.NAME.url ...)");
        return 2;
    }
    imap_global_init();
    if ((st = cmd_open_store(cfg)) == NULL)
        return 3;
    for (k = 0; k < cfg->imap.n; k++) {
        const struct imap_source_cfg *s = &cfg->imap.src[k];

        if (only != NULL && strcmp(s->name, only) != 0)
            continue;
        f.n = 0;
        if (imap_poll(cfg, s, st, &stop, fetch_stored, &f, &r) !=
            RUAD_OK) {
            fprintf(stderr, "ruad: imap.%s: %s\n", s->name, r.error);
            failed++;
        }
        for (j = 0; j < f.n; j++) {
            enum ruad_rc rc = worker_process(st, cfg, f.ids[j], &w);

            if (rc == RUAD_OK)
                cmd_print_verdict(s->name, &w);
            else
                printf("%s: queued [inbound %lld]\n", s->name,
                    (long long)f.ids[j]);
        }
        printf("%s: listed %u, stored %u, too_large %u, identical %u, "
            "acted %u%s\n", s->name, r.listed, r.stored, r.too_large,
            r.identical, r.acted,
            r.error[0] != '\0' ? " (failed)" : "");
        fflush(stdout);
    }
    free(f.ids);
    store_close(st);
    return failed ? 1 : 0;
}
