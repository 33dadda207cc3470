/*  tsr_agent - the agent daemon as an object
    Connects to a coordinator (CURVE client), advertises one slot per CPU it
    is pinned to, heartbeats, reconnects with back-off, materialises inputs
    from its local CAS, runs shards pinned to their slots' CPUs, reports
    results. `tessera-agent` runs one in its main thread; the CLI's embedded
    mode runs some in zactors. All state is touched only by its zloop thread. */
#ifndef TSR_AGENT_H
#define TSR_AGENT_H

#include "tsr_common.h"

typedef struct {
    const char *coordinator;   //  tcp://HOST:PORT of the agents endpoint
    const char *server_key;    //  path to the coordinator's public certificate
    const char *key;           //  path to our secret certificate (0600)
    const char *cpus;          //  cpulist "0-15"; NULL = every CPU we may use
    const char *labels;        //  "k=v,k=v" added to the detected ones; NULL = none
    const char *data_dir;      //  cache (LMDB) and work directories; required
    const char *name;          //  NULL = host name
    const char *user;          //  run jobs as this user (root only); NULL = ourselves
    uint32_t heartbeat_ivl_ms; //  until the coordinator's Welcome says; 0 = 1000
    uint64_t cache_max_bytes;  //  0 = 4 GiB
    const char *ready_file;    //  written ("name=NAME") at the first Welcome; NULL = none
    uint32_t drain_grace_ms;   //  SIGTERM: running work may finish this long; 0 = 30000
} tsr_agent_opts_t;

typedef struct _tsr_agent_t tsr_agent_t;

//  Copies the options. Never fails.
tsr_agent_t *tsr_agent_new(const tsr_agent_opts_t *opts);
void tsr_agent_destroy(tsr_agent_t **self_p);

//  Load keys, open the cache, detect labels, connect and say Hello.
//  Returns TSR_OK, TSR_EKEY, TSR_EPERM, TSR_EINVAL (bad cpus/labels), TSR_ESTORE.
TSR_NODISCARD int tsr_agent_start(tsr_agent_t *self);

//  Serve until zsys_interrupted or "$TERM" on `pipe` (may be NULL): then drain
//  (running work finishes within the grace period, the rest is handed back
//  with Bye) and return TSR_OK.
TSR_NODISCARD int tsr_agent_run(tsr_agent_t *self, zsock_t *pipe);

bool tsr_agent_is_draining(tsr_agent_t *self);

//  Number of slots (one per pinned CPU), known after a successful start.
size_t tsr_agent_slots(tsr_agent_t *self);

//  zactor body: `args` is a const tsr_agent_opts_t *. Signals 0 once started,
//  or 1 if start failed and then sends ["FAILED", rc] (a negative TSR_E*
//  code, picture "si") on the pipe; "$TERM" stops it (after the drain).
void tsr_agent_actor(zsock_t *pipe, void *args);

#endif
