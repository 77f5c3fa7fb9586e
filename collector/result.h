/*
 * result.h - the one result code every module returns.
 *
 * Each code has one meaning.  The SMTP and HTTP front ends map a code to
 * their reply, and the worker to an inbound verdict, so modules never
 * invent their own codes.
 */
#ifndef RUAD_RESULT_H
#define RUAD_RESULT_H

enum ruad_rc {
    RUAD_OK = 0,
    RUAD_AGAIN,       /* need more input; not an error */
    RUAD_EOF,         /* nothing (more) there: no more parts, no row to
                         claim, no such name, row or message; not an
                         error */
    RUAD_DEFERRED,    /* taken; the result comes later, by a callback */
    RUAD_BUSY,        /* another holder has it (a row's lock): try again */
    RUAD_DUPLICATE,   /* already stored (by another instance); not an
                         error */
    RUAD_LIMIT,       /* a named limit was exceeded    -> 552 / 413 */
    RUAD_MALFORMED,   /* bad peer data, permanent      -> 554 / 400 */
    RUAD_UNSUPPORTED, /* valid, not a report we take   -> 250 + log */
    RUAD_NOMEM,       /* fail this request only        -> 451 / 503 */
    RUAD_TEMPFAIL,    /* DB down, DNS timeout          -> 451 / 503 */
    RUAD_IO,          /* local I/O error (file, pipe)  -> 451 / 500 */
    RUAD_INTERNAL,    /* bug; logged with context      -> 451 / 500 */
};

/* ruad_rc_str - stable lower-case name of a code, for logs and JSON */
const char *ruad_rc_str(enum ruad_rc rc);

#endif /* RUAD_RESULT_H */
