/*
 * store_api.h - the query API's reads and the one write (reprocess) on
 * the store.  JSON comes out of the database whole (db/003_api.sql).
 */
#ifndef RUAD_STORE_API_H
#define RUAD_STORE_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api_params.h"
#include "inbound_state.h"
#include "result.h"
#include "store_pg.h"

/*
 * store_api_get - the JSON answer of a GET endpoint for q into *json
 * (caller frees).  *found false: the item of a detail path does not
 * exist (404).
 */
enum ruad_rc store_api_get(struct store *st, const struct api_query *q,
    char **json, size_t *len, bool *found);

/* store_api_raw - the received bytes of inbound row id (caller frees) */
enum ruad_rc store_api_raw(struct store *st, int64_t id, char **raw,
    size_t *len, bool *found);

/* store_api_inbound_state - the state of inbound row id */
enum ruad_rc store_api_inbound_state(struct store *st, int64_t id,
    enum inbound_state *state, bool *found);

#endif /* RUAD_STORE_API_H */
