/*  tsr_local - the embedded local cluster of `tessera run`
    With no coordinator given, `tessera run` starts a coordinator and N agents
    in this process, each core on its own thread driven like a zactor (a
    pipe, "$TERM"; joined at stop), and then talks to them through
    tsr_client exactly as to a remote cluster. Layout under the cache
    directory ($XDG_CACHE_HOME/tessera or ~/.cache/tessera):
        keys/client, keys/agent-<i>   key pairs, generated on first use
        local/                        the coordinator's data directory; the
                                      public keys are copied into its
                                      allow/clients/ and allow/agents/
        agent-<i>/                    agent i's data directory (cache, work)
    One `tessera run` at a time owns this layout (flock on local.lock); a
    concurrent one runs in a throwaway instance tmp/run-XXXXXX, removed at
    exit (or, if it was killed, by the next run that owns the layout).
    Agents start in the background (label detection does not delay the
    submit); tsr_local_check reports one that failed. Destroy stops the
    agents first, then the coordinator. Main thread.                       */
#ifndef TSR_LOCAL_H
#define TSR_LOCAL_H

#include "tsr_common.h"

typedef struct _tsr_local_t tsr_local_t;

//  Parameters of the embedded cluster.
typedef struct {
    const char *cache_dir;     //  borrowed; NULL = $XDG_CACHE_HOME/tessera or ~/.cache/tessera
    unsigned agents;           //  >= 1
    uint32_t heartbeat_ivl_ms; //  0 = 1000
} tsr_local_opts_t;

tsr_local_t *tsr_local_new(const tsr_local_opts_t *opts);

//  Stop the agents (they drain: nothing runs at the end of a run), then the
//  coordinator; remove a throwaway instance. NULL-safe; sets *self_p to NULL.
void tsr_local_destroy(tsr_local_t **self_p);

//  Create the directories and keys and start the coordinator. Returns
//  TSR_OK, or a negative code with *error_out (caller frees) saying what
//  failed.
TSR_NODISCARD int tsr_local_start(tsr_local_t *self, char **error_out);

//  Then start the agents, in the background (the caller may first tidy the
//  coordinator's store: runs left unfinished by an interrupted `tessera
//  run` would otherwise be resumed on these agents). Returns TSR_OK or a
//  negative code with *error_out (caller frees).
TSR_NODISCARD int tsr_local_start_agents(tsr_local_t *self, char **error_out);

//  After a successful start: the coordinator's clients endpoint and public
//  key (borrowed), and the client key pair to use (borrowed).
const char *tsr_local_clients_endpoint(tsr_local_t *self);
const char *tsr_local_server_key(tsr_local_t *self);
zcert_t *tsr_local_client_cert(tsr_local_t *self);

//  The cache directory (borrowed): `tessera run` keeps it out of the
//  workspace it hashes when the workspace contains it.
const char *tsr_local_cache_dir(tsr_local_t *self);

//  Non-blocking: collect start failures of the agents. Returns TSR_OK while
//  at least one agent may serve, else the start error of the last agent with
//  *error_out (caller frees) naming it.
TSR_NODISCARD int tsr_local_check(tsr_local_t *self, char **error_out);

#endif
