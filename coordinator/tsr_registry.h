/*  tsr_registry - the coordinator's agents, keyed by their ZAP User-Id
    An agent is its CURVE public key (Z85), never the name it sends. The
    registry keeps what each agent advertised (name, CPUs, slots, labels), its
    routing id on the agents ROUTER, the slots its current leases use, its
    drain flags and its liveness expiry. Pure: no sockets, no clock (time is
    `now_ms`, monotonic). Loop thread of the coordinator only.                */
#ifndef TSR_REGISTRY_H
#define TSR_REGISTRY_H

#include "tessera.pb-c.h"
#include "tsr_common.h"

//  One agent. Owned by the registry; borrowed by callers until it is removed.
//  Fields are read freely; change them only through tsr_registry_* calls.
typedef struct {
    char *key;              //  owned; Z85 public key, 40 chars (the identity)
    char id[9];             //  first 8 chars of key, for logs and `tessera agents`
    zframe_t *routing_id;   //  owned; its current routing id on the agents ROUTER
    char *name;             //  owned; display name from Hello (a label only)
    char *version;          //  owned; tessera version from Hello
    uint32_t *cpus;         //  owned; pinned CPUs from Hello, one slot each
    size_t cpu_count;       //  entries in cpus
    uint32_t slots;         //  slots = cpu_count
    uint32_t used_slots;    //  slots held by current leases (threads of each)
    uint32_t running;       //  current leases (attempts)
    uint32_t reported_free; //  free_slots of its last Heartbeat (informative)
    zhashx_t *labels;       //  owned; label key -> value (char *)
    bool drain_requested;   //  `tessera drain` (a client) asked it to drain
    bool self_draining;     //  the agent says it drains (SIGTERM)
    uint64_t expiry_ms;     //  dead when now_ms passes this
    uint64_t last_seen_ms;  //  last message from it
} tsr_registry_agent_t;

typedef struct _tsr_registry_t tsr_registry_t;

//  Agents expire `ttl_ms` after their last message (heartbeat_ivl_ms * liveness).
tsr_registry_t *tsr_registry_new(uint64_t ttl_ms);
void tsr_registry_destroy(tsr_registry_t **self_p);

//  Record a Hello from `key` (Z85, 40 chars) arriving on `routing_id` (copied).
//  Creates the agent or refreshes a known one (name, version, CPUs, slots,
//  labels, routing id, expiry; drain_requested and leases are kept).
//  Returns the agent (borrowed). *created_out (may be NULL) tells which.
tsr_registry_agent_t *tsr_registry_hello(tsr_registry_t *self, const char *key,
                                         zframe_t *routing_id, const Tessera__Hello *hello,
                                         uint64_t now_ms, bool *created_out);

//  The agent with this key, or NULL.
tsr_registry_agent_t *tsr_registry_lookup(tsr_registry_t *self, const char *key);

//  Find by full key, by short id (key prefix of at least 8 chars), or by name.
//  NULL if none matches, or if a name matches several agents.
tsr_registry_agent_t *tsr_registry_find(tsr_registry_t *self, const char *name_or_id);

//  Any message from the agent: push its expiry to now + ttl, remember the
//  routing id it came from (copied; NULL keeps the old one).
void tsr_registry_touch(tsr_registry_t *self, tsr_registry_agent_t *agent, zframe_t *routing_id,
                        uint64_t now_ms);

//  Apply a Heartbeat's slot state (reported free slots, self draining).
void tsr_registry_heartbeat(tsr_registry_t *self, tsr_registry_agent_t *agent,
                            const Tessera__Heartbeat *heartbeat);

//  `tessera drain` / `undrain`.
void tsr_registry_set_drain(tsr_registry_t *self, tsr_registry_agent_t *agent, bool drain);

//  A lease of `threads` slots starts (+1) or ends (-1) on the agent.
void tsr_registry_lease(tsr_registry_t *self, tsr_registry_agent_t *agent, uint32_t threads,
                        int delta);

//  Keys (char *, owned by the list) of the agents expired at now_ms, appended
//  to `keys_out`. The agents stay until tsr_registry_remove.
void tsr_registry_expired(tsr_registry_t *self, uint64_t now_ms, zlistx_t *keys_out);

//  Forget the agent (NULL-safe on unknown keys). Pointers to it die.
void tsr_registry_remove(tsr_registry_t *self, const char *key);

//  Iterate agents in no particular order; NULL at the end. Do not add or
//  remove agents while iterating.
tsr_registry_agent_t *tsr_registry_first(tsr_registry_t *self);
tsr_registry_agent_t *tsr_registry_next(tsr_registry_t *self);

size_t tsr_registry_size(tsr_registry_t *self);

//  Slots a new lease may take now: 0 while draining.
uint32_t tsr_registry_agent_free_slots(const tsr_registry_agent_t *agent);

bool tsr_registry_agent_is_draining(const tsr_registry_agent_t *agent);

//  Does the agent carry every label (key = value) in `labels`?
bool tsr_registry_agent_has_labels(const tsr_registry_agent_t *agent, Tessera__Label *const *labels,
                                   size_t label_count);

//  Describe the agent for AgentsReply. Strings and arrays in *info are
//  allocated; free them with tsr_registry_agent_info_clear.
void tsr_registry_agent_info(const tsr_registry_agent_t *agent, uint64_t now_ms,
                             Tessera__AgentInfo *info);
void tsr_registry_agent_info_clear(Tessera__AgentInfo *info);

#endif
