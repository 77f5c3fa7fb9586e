/*
 * result.h - the one result code every module returns.
 *
 * The category of a code picks the protocol reply in one place (later:
 * SMTP and HTTP front ends), so modules never invent their own codes.
 */
#ifndef RUAD_RESULT_H
#define RUAD_RESULT_H

enum ruad_rc {
    RUAD_OK = 0,
    RUAD_AGAIN,       /* need more input; not an error */
    RUAD_EOF,         /* no more parts or data; not an error */
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
