/*
 * cmd.h - the verbs of the ruad command line and what they share.
 *
 * main.c parses the command line (args_parse) into struct args and calls
 * one verb; each verb lives in a cmd_*.c file by concern:
 *
 *   cmd_report.c  parse, import, reprocess, dkim-verify (the pipeline)
 *   cmd_serve.c   serve (the service)
 *   cmd_imap.c    imap-fetch
 *   cmd_admin.c   migrate, dns-records, config-reference, token
 *
 * A verb returns the exit status: 0 done, 1 failed, 2 usage, 3 no
 * database.
 */
#ifndef RUAD_CMD_H
#define RUAD_CMD_H

#include <stddef.h>

#include "config.h"
#include "store_pg.h"
#include "worker.h"

/*
 * The command line: `ruad VERB [OPTION|ARG]...`.  One parser serves every
 * verb (args_parse, getopt_long-like): options and arguments may come in
 * any order until `--`; an option's value is `--key=value` or the next
 * word (`--key value`); every verb takes -h/--help (its own help),
 * --config FILE and every setting as --KEY VALUE, besides its own
 * options (struct verb_opt).  An unknown option or a missing value is an
 * error naming the option (exit 2).
 */
struct verb_opt {
    const char *name;        /* without the dashes */
    const char *arg;         /* its value's name; NULL: a switch */
    const char *help;
};

#define ARGS_GIVEN_MAX 512       /* verb options on one command line */

struct verb;

struct args {
    const struct verb *verb;
    char             **operands;   /* the FILEs, ... (into argv) */
    int                n_operands;
    struct {
        const struct verb_opt *opt;
        const char            *value;   /* "" for a switch */
    }                  given[ARGS_GIVEN_MAX];
    size_t             n_given;
};

/* ---- main.c: shared by the verbs ---- */

/* args_value - the last value given for the verb option, or NULL */
const char *args_value(const struct args *a, const char *name);
/* args_no_operands - for verbs that take none: 0, or -1 (reported) */
int args_no_operands(const struct args *a);
/* cmd_open_store - connect, or say why not (exit status 3) */
struct store *cmd_open_store(const struct config *cfg);

/* ---- the verbs ---- */

int cmd_parse(struct config *, const struct args *);
int cmd_dkim_verify(struct config *, const struct args *);
int cmd_import(struct config *, const struct args *);
int cmd_reprocess(struct config *, const struct args *);
int cmd_serve(struct config *, const struct args *);
int cmd_imap_fetch(struct config *, const struct args *);
int cmd_migrate(struct config *, const struct args *);
int cmd_dns_records(struct config *, const struct args *);
int cmd_config_reference(struct config *, const struct args *);
int cmd_token(struct config *, const struct args *);

/* cmd_print_verdict - the line of one processed row (import, reprocess,
 * imap-fetch): "NAME: STATE [KEYS] [dkim ...] [(reason)] [inbound ID]" */
void cmd_print_verdict(const char *name, const struct worker_result *r);

#endif /* RUAD_CMD_H */
