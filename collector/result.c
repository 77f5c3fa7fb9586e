/*
 * result.c - names of the result codes.
 */
#include "result.h"

const char *
ruad_rc_str(enum ruad_rc rc)
{
    switch (rc) {
    case RUAD_OK:          return "ok";
    case RUAD_AGAIN:       return "again";
    case RUAD_EOF:         return "eof";
    case RUAD_DEFERRED:    return "deferred";
    case RUAD_BUSY:        return "busy";
    case RUAD_DUPLICATE:   return "duplicate";
    case RUAD_LIMIT:       return "limit";
    case RUAD_MALFORMED:   return "malformed";
    case RUAD_UNSUPPORTED: return "unsupported";
    case RUAD_NOMEM:       return "nomem";
    case RUAD_TEMPFAIL:    return "tempfail";
    case RUAD_IO:          return "io";
    case RUAD_INTERNAL:    return "internal";
    }
    return "unknown";
}
