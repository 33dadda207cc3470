/*  tsr_coordinator - the coordinator daemon as an object
    Owns the queue, the plan, the CAS and the run store (one LMDB environment
    under the data directory), the agent registry and both ROUTER endpoints
    (CURVE servers; a ZAP handler admits only keys in allow/agents/ resp.
    allow/clients/). `tessera-coordinator` runs one in its main thread; the
    CLI's embedded mode runs one in a zactor. All state lives in this object
    and is touched only by its zloop thread.                                 */
#ifndef TSR_COORDINATOR_H
#define TSR_COORDINATOR_H

#include "tsr_common.h"
#include "tsr_config.h"

typedef struct _tsr_coordinator_t tsr_coordinator_t;

//  Create from a configuration (copied). config->data_dir is required;
//  endpoints default to tcp://0.0.0.0:7400 (agents) and tcp://0.0.0.0:7401
//  (clients); "tcp://127.0.0.1:*" binds an ephemeral port.
tsr_coordinator_t *tsr_coordinator_new(const tsr_config_t *config);
void tsr_coordinator_destroy(tsr_coordinator_t **self_p);

//  Create data_dir/keys/coordinator (+.pub) if missing, open the store,
//  start the ZAP handler, then bind both endpoints; requeue work of runs that
//  were in progress. Returns TSR_OK, TSR_ECONFIG, TSR_ESTORE, TSR_EKEY or -errno.
TSR_NODISCARD int tsr_coordinator_start(tsr_coordinator_t *self);

//  Bound endpoints with real ports (borrowed), and our public key (Z85).
const char *tsr_coordinator_agents_endpoint(tsr_coordinator_t *self);
const char *tsr_coordinator_clients_endpoint(tsr_coordinator_t *self);
const char *tsr_coordinator_public_key(tsr_coordinator_t *self);

//  Re-read both allow-lists (SIGHUP). Loop thread only.
void tsr_coordinator_reload(tsr_coordinator_t *self);

//  Serve until zsys_interrupted, or until `pipe` (may be NULL) says "$TERM".
//  Also handles "RELOAD" on the pipe. Returns TSR_OK.
TSR_NODISCARD int tsr_coordinator_run(tsr_coordinator_t *self, zsock_t *pipe);

//  zactor body: `args` is a const tsr_config_t *. Signals 0 when serving or
//  a negative code if start failed. Pipe commands: "ENDPOINTS" -> replies
//  [agents endpoint][clients endpoint][public key]; "RELOAD"; "$TERM".
//  Also "STATUS" -> replies "i": TSR_OK, or why start failed (zactor_new
//  drops the signal's status; after a failed start ENDPOINTS replies three
//  empty strings and the actor waits for $TERM). "STATS" -> replies "88888":
//  handshakes accepted, refused for an unknown key, for a key of the other
//  endpoint, for not speaking CURVE, for another protocol failure.
void tsr_coordinator_actor(zsock_t *pipe, void *args);

#endif
