/*  tsr_coord_internal - the coordinator object's insides, for its own files
    tsr_coordinator.c (lifecycle, loop, timers), tsr_coord_agents.c (agent
    channel), tsr_coord_clients.c (client channel), tsr_coord_blobs.c (blob
    service of both channels) share this struct. Nothing outside
    coordinator/ includes it. Loop thread only.                              */
#ifndef TSR_COORD_INTERNAL_H
#define TSR_COORD_INTERNAL_H

#include "tsr_cas.h"
#include "tsr_common.h"
#include "tsr_config.h"
#include "tsr_handshake.h"
#include "tsr_coordinator.h"
#include "tsr_dispatch.h"
#include "tsr_history.h"
#include "tsr_listings.h"
#include "tsr_msg.h"
#include "tsr_registry.h"
#include "tsr_sched.h"
#include "tsr_store.h"
#include "tsr_zap.h"

//  Longest a Watch may be held, ms; and how many may be held at once.
#define TSR_COORD_WATCH_MAX_MS 60000
#define TSR_COORD_WATCH_MAX 10000
//  Events in one WatchReply.
#define TSR_COORD_WATCH_EVENTS 256
//  Digests in one BlobQuery.
#define TSR_COORD_QUERY_MAX 10000
//  An upload with no chunk for this long is dropped, ms.
#define TSR_COORD_UPLOAD_IDLE_MS 60000
//  Messages handled per reader wake-up before the store is written.
#define TSR_COORD_BATCH 64

struct _tsr_coordinator_t {
    tsr_config_t config;                 //  owned copy (strings owned)
    char *keys_path;                     //  owned; DATA/keys/coordinator
    char *allow_agents_dir;              //  owned; DATA/allow/agents
    char *allow_clients_dir;             //  owned; DATA/allow/clients
    char *store_dir;                     //  owned; DATA/store (LMDB: CAS + runs)
    char *tmp_dir;                       //  owned; DATA/tmp (large uploads in progress)
    zcert_t *cert;                       //  owned; our key pair; NULL until started
    tsr_cas_t *cas;                      //  owned; NULL until started
    tsr_store_t *store;                  //  owned; NULL until started
    tsr_history_t *history;              //  owned; timing history; NULL until started
    tsr_listings_t *listings;            //  owned; listing cache; NULL until started
    tsr_registry_t *registry;            //  owned
    tsr_sched_t *sched;                  //  owned
    tsr_zap_t *zap;                      //  owned; NULL until started
    zsock_t *agents;                     //  owned ROUTER; NULL until started
    zsock_t *clients;                    //  owned ROUTER; NULL until started
    tsr_handshake_t *agents_handshakes;  //  owned; refusals ZAP never sees (agents ROUTER)
    tsr_handshake_t *clients_handshakes; //  owned; same for the clients ROUTER
    char *agents_endpoint;               //  owned; bound endpoint with its real port
    char *clients_endpoint;              //  owned; bound endpoint with its real port
    zloop_t *loop;                       //  owned while tsr_coordinator_run runs, else NULL
    zlistx_t *watches;                   //  owned; parked Watch requests (tsr_coord_watch_t *)
    zhashx_t *uploads;                   //  owned; digest hex -> tsr_coord_upload_t * (owned)
    uint64_t ttl_ms;                     //  agent liveness period: heartbeat_ivl_ms * liveness
    bool store_failed;                   //  the last save failed (logged once until it works again)
};

//  The sender of the message being handled, and how to answer it.
typedef struct {
    tsr_coordinator_t *coordinator; //  borrowed
    zsock_t *socket;                //  borrowed; the ROUTER it came in on
    zframe_t *routing_id;           //  borrowed; the sender's routing id
    const char *key;                //  borrowed; the sender's ZAP User-Id (Z85 key)
    uint64_t req_id;                //  echoed in replies
    tsr_registry_agent_t *agent;    //  borrowed; agent channel: the sender's record or NULL
    bool replied;                   //  a reply was sent (or deliberately held back)
    char error_text[256];           //  text for the Error reply when a handler fails
} tsr_coord_request_t;

//  Wall clock (persisted times) and monotonic clock (liveness), ms.
uint64_t tsr_coord_now_wall(void);
uint64_t tsr_coord_now_mono(void);

//  Send `reply` to the requester with its req_id. TSR_OK or TSR_EUNREACHABLE.
int tsr_coord_reply(tsr_coord_request_t *request, Tessera__Envelope *reply);

//  Send Error{code, text} (text NULL: tsr_strerror(code)).
void tsr_coord_reply_error(tsr_coord_request_t *request, int code, const char *text);

//  Printf into request->error_text, for the Error reply of a failing handler.
void tsr_coord_set_error(tsr_coord_request_t *request, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

//  After any message or timer: give free slots work, tell agents about
//  cancels, save changed runs, answer parked watches.
void tsr_coord_after(tsr_coordinator_t *self);

//  ---- the reader both channels share (tsr_coord_channel.c)
//  What differs between the agent and the client channel.
typedef struct {
    const char *peer;               //  the sender's log key: "agent" or "client"
    const tsr_dispatch_row_t *rows; //  the channel's dispatch table
    size_t row_count;               //  rows in it
    //  For each decoded message, before dispatch: find the sender's record
    //  (request->agent) and return its tsr_peer_state_t bit
    unsigned (*admit)(tsr_coordinator_t *self, tsr_coord_request_t *request);
    //  Log a request that was refused or failed with `rc` (its Error reply follows)
    void (*failed)(const tsr_coord_request_t *request, const Tessera__Envelope *env, int rc);
} tsr_coord_channel_t;

//  Body of a channel's zloop reader: handle up to TSR_COORD_BATCH messages
//  waiting on `socket`, each dispatched through `channel` and answered with an
//  Error when it fails, then tsr_coord_after. Returns 0 (keep reading).
int tsr_coord_channel_read(tsr_coordinator_t *self, zsock_t *socket,
                           const tsr_coord_channel_t *channel);

//  ---- agent channel (tsr_coord_agents.c)
//  zloop reader of the agents ROUTER.
int tsr_coord_agents_readable(zloop_t *loop, zsock_t *socket, void *arg);
//  Heartbeat to every agent; expire the silent ones (their leases requeue).
void tsr_coord_agents_heartbeat(tsr_coordinator_t *self);
//  Fill free slots from the queue and send the Assigns.
void tsr_coord_agents_dispatch(tsr_coordinator_t *self);
//  Send Cancel for each lease ref (tsr_lease_ref_t *) to its agent.
void tsr_coord_agents_cancel(tsr_coordinator_t *self, zlistx_t *refs);
//  Send Drain{drain} to one agent.
void tsr_coord_agents_drain(tsr_coordinator_t *self, tsr_registry_agent_t *agent, bool drain);

//  ---- client channel (tsr_coord_clients.c)
int tsr_coord_clients_readable(zloop_t *loop, zsock_t *socket, void *arg);
//  Answer parked watches whose run has news, or is gone.
void tsr_coord_clients_flush_watches(tsr_coordinator_t *self);
//  Free the parked watches (shutdown).
void tsr_coord_clients_drop_watches(tsr_coordinator_t *self);

//  ---- blob service of both channels (tsr_coord_blobs.c)
//  Dispatch handlers (`peer` is the tsr_coord_request_t) for the rows of both tables.
int tsr_coord_blobs_on_query(void *server, void *peer, const Tessera__Envelope *env);
int tsr_coord_blobs_on_get(void *server, void *peer, const Tessera__Envelope *env);
int tsr_coord_blobs_on_chunk(void *server, void *peer, const Tessera__Envelope *env);
//  A new table for uploads in progress, and dropping the idle ones.
zhashx_t *tsr_coord_blobs_uploads_new(void);
void tsr_coord_blobs_sweep(tsr_coordinator_t *self, uint64_t now_mono_ms);

#endif
