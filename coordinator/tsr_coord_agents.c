/*  tsr_coord_agents - the coordinator's agent channel
    One dispatch table says which message is legal in which agent state:
    NEW (no Hello yet: only Hello), READY and DRAINING. The sender is its
    ZAP User-Id; any message pushes its liveness expiry. Sends Welcome,
    Heartbeat, Assign, Cancel and Drain. Loop thread of the coordinator.    */
#include "tsr_coord_internal.h"
#include "tsr_report.h"
#include "tsr_planner.h"
#include <inttypes.h>
#include <string.h>

static void
s_string_free(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
}

//  Send a message that is not a reply (req_id 0) to an agent
static int
s_send(tsr_coordinator_t *self, tsr_registry_agent_t *agent, Tessera__Envelope *env)
{
    int rc = tsr_msg_send(env, self->agents, agent->routing_id);
    if (rc != TSR_OK)
        tsr_log_debug("%s not delivered agent=%s: %s", tsr_msg_name(env->body_case), agent->id,
                      tsr_strerror(rc));
    return rc;
}

//  ---------------------------------------------------------------- handlers

static int
s_on_hello(void *server, void *peer, const Tessera__Envelope *env)
{
    tsr_coordinator_t *self = (tsr_coordinator_t *)server;
    tsr_coord_request_t *request = (tsr_coord_request_t *)peer;
    const Tessera__Hello *hello = env->hello;
    bool created = false;
    tsr_registry_agent_t *agent = tsr_registry_hello(
        self->registry, request->key, request->routing_id, hello, tsr_coord_now_mono(), &created);
    request->agent = agent;
    zlistx_t *cancel = tsr_lease_refs_new();
    tsr_sched_hello(self->sched, agent->key, hello->in_flight, hello->n_in_flight,
                    tsr_coord_now_wall(), cancel);

    Tessera__Envelope reply = TESSERA__ENVELOPE__INIT;
    Tessera__Welcome welcome = TESSERA__WELCOME__INIT;
    welcome.agent_id = agent->id;
    welcome.heartbeat_ivl_ms = self->config.heartbeat_ivl_ms;
    welcome.liveness = self->config.liveness;
    uint64_t *cancel_ids = (uint64_t *)zmalloc((zlistx_size(cancel) + 1) * sizeof(uint64_t));
    for (tsr_lease_ref_t *ref = (tsr_lease_ref_t *)zlistx_first(cancel); ref;
         ref = (tsr_lease_ref_t *)zlistx_next(cancel)) {
        cancel_ids[welcome.n_cancel++] = ref->attempt_id;
        tsr_log_info("cancelling stale attempt=%" PRIu64 " of agent=%s: lease not current, its "
                     "result will be ignored",
                     ref->attempt_id, agent->id);
    }
    welcome.cancel = cancel_ids;
    reply.body_case = TESSERA__ENVELOPE__BODY_WELCOME;
    reply.welcome = &welcome;
    (void)tsr_coord_reply(request, &reply);

    tsr_log_info("agent %s agent=%s name=%s version=%s slots=%u in_flight=%zu cancelled=%zu",
                 created ? "joined" : "re-registered", agent->id, agent->name, agent->version,
                 agent->slots, hello->n_in_flight, welcome.n_cancel);
    free(cancel_ids);
    zlistx_destroy(&cancel);
    return TSR_OK;
}

static int
s_on_heartbeat(void *server, void *peer, const Tessera__Envelope *env)
{
    tsr_coordinator_t *self = (tsr_coordinator_t *)server;
    tsr_coord_request_t *request = (tsr_coord_request_t *)peer;
    bool was_draining = tsr_registry_agent_is_draining(request->agent);
    tsr_registry_heartbeat(self->registry, request->agent, env->heartbeat);
    if (!was_draining && tsr_registry_agent_is_draining(request->agent))
        tsr_log_info("agent draining agent=%s name=%s running=%u", request->agent->id,
                     request->agent->name, request->agent->running);
    return TSR_OK;
}

static int
s_on_progress(void *server, void *peer, const Tessera__Envelope *env)
{
    tsr_coordinator_t *self = (tsr_coordinator_t *)server;
    tsr_coord_request_t *request = (tsr_coord_request_t *)peer;
    const Tessera__Progress *progress = env->progress;
    if (tsr_sched_progress(self->sched, request->key, progress, tsr_coord_now_wall()) != TSR_OK)
        tsr_log_info("ignoring progress of attempt=%" PRIu64 " agent=%s: lease not current",
                     progress->attempt_id, request->agent->id);
    else
        tsr_log_debug("attempt started attempt=%" PRIu64 " agent=%s cpus=%zu", progress->attempt_id,
                      request->agent->id, progress->n_cpus);
    return TSR_OK;
}

static int
s_on_result(void *server, void *peer, const Tessera__Envelope *env)
{
    tsr_coordinator_t *self = (tsr_coordinator_t *)server;
    tsr_coord_request_t *request = (tsr_coord_request_t *)peer;
    const Tessera__Result *result = env->result;
    tsr_attempt_t *attempt = tsr_sched_attempt(self->sched, result->attempt_id);
    char shard_id[512] = "?";
    if (attempt)
        tsr_shard_id(attempt->shard, shard_id, sizeof shard_id);
    if (tsr_sched_result(self->sched, request->key, result, tsr_coord_now_wall()) != TSR_OK) {
        //  Its lease expired and the shard moved on, or the run was cancelled
        tsr_log_info("ignoring result of attempt=%" PRIu64 " agent=%s: lease not current",
                     result->attempt_id, request->agent->id);
        return TSR_OK;
    }
    tsr_log_debug("result attempt=%" PRIu64 " shard=%s agent=%s outcome=%s exit=%d ms=%" PRIu64,
                  result->attempt_id, shard_id, request->agent->id,
                  tsr_report_outcome_name(tsr_sched_outcome(result)), result->exit_code,
                  result->duration_ms);
    return TSR_OK;
}

static int
s_on_bye(void *server, void *peer, const Tessera__Envelope *env)
{
    tsr_coordinator_t *self = (tsr_coordinator_t *)server;
    tsr_coord_request_t *request = (tsr_coord_request_t *)peer;
    const Tessera__Bye *bye = env->bye;
    tsr_registry_agent_t *agent = request->agent;
    uint64_t now_ms = tsr_coord_now_wall();
    tsr_sched_hand_back(self->sched, agent->key, bye->handed_back, bye->n_handed_back, now_ms);
    char reason[128];
    snprintf(reason, sizeof reason, "agent %s left", agent->name);
    size_t lost = tsr_sched_agent_lost(self->sched, agent->key, reason, now_ms);
    tsr_log_info("agent left agent=%s name=%s handed_back=%zu lost=%zu", agent->id, agent->name,
                 bye->n_handed_back, lost);
    tsr_registry_remove(self->registry, agent->key);
    request->agent = NULL;
    return TSR_OK;
}

#define TSR_WELCOMED (TSR_PEER_READY | TSR_PEER_DRAINING)

static const tsr_dispatch_row_t s_agent_rows[] = {
    {TESSERA__ENVELOPE__BODY_HELLO, TSR_PEER_ANY, s_on_hello},
    {TESSERA__ENVELOPE__BODY_HEARTBEAT, TSR_WELCOMED, s_on_heartbeat},
    {TESSERA__ENVELOPE__BODY_PROGRESS, TSR_WELCOMED, s_on_progress},
    {TESSERA__ENVELOPE__BODY_RESULT, TSR_WELCOMED, s_on_result},
    {TESSERA__ENVELOPE__BODY_BYE, TSR_WELCOMED, s_on_bye},
    {TESSERA__ENVELOPE__BODY_BLOB_QUERY, TSR_WELCOMED, tsr_coord_blobs_on_query},
    {TESSERA__ENVELOPE__BODY_BLOB_GET, TSR_WELCOMED, tsr_coord_blobs_on_get},
};

//  ---------------------------------------------------------------- reader

//  The sender's record and state; any message pushes its liveness expiry
static unsigned
s_admit(tsr_coordinator_t *self, tsr_coord_request_t *request)
{
    request->agent = tsr_registry_lookup(self->registry, request->key);
    if (!request->agent)
        return TSR_PEER_NEW;
    tsr_registry_touch(self->registry, request->agent, request->routing_id, tsr_coord_now_mono());
    return tsr_registry_agent_is_draining(request->agent) ? TSR_PEER_DRAINING : TSR_PEER_READY;
}

static void
s_failed(const tsr_coord_request_t *request, const Tessera__Envelope *env, int rc)
{
    if (rc == TSR_ESTATE && !request->agent && env->body_case == TESSERA__ENVELOPE__BODY_RESULT)
        //  An agent we forgot (its leases expired): whatever it ran is not current
        tsr_log_info("ignoring result of attempt=%" PRIu64 " from unknown agent=%.8s: lease not "
                     "current; asking for Hello",
                     env->result->attempt_id, request->key);
    else if (rc == TSR_ESTATE && !request->agent)
        //  Usually after our restart: the agent answers with Hello
        tsr_log_info("%s from unknown agent=%.8s: asking for Hello", tsr_msg_name(env->body_case),
                     request->key);
    else
        tsr_log_warn("refused %s from agent=%.8s: %s", tsr_msg_name(env->body_case), request->key,
                     tsr_strerror(rc));
}

static const tsr_coord_channel_t s_agent_channel = {
    .peer = "agent",
    .rows = s_agent_rows,
    .row_count = TSR_DISPATCH_ROWS(s_agent_rows),
    .admit = s_admit,
    .failed = s_failed,
};

int
tsr_coord_agents_readable(zloop_t *loop, zsock_t *socket, void *arg)
{
    (void)loop;
    return tsr_coord_channel_read((tsr_coordinator_t *)arg, socket, &s_agent_channel);
}

//  ---------------------------------------------------------------- sending

void
tsr_coord_agents_heartbeat(tsr_coordinator_t *self)
{
    assert(self);
    uint64_t now_mono = tsr_coord_now_mono();
    uint64_t now_wall = tsr_coord_now_wall();
    zlistx_t *expired = zlistx_new();
    zlistx_set_destructor(expired, s_string_free);
    tsr_registry_expired(self->registry, now_mono, expired);
    for (const char *key = (const char *)zlistx_first(expired); key;
         key = (const char *)zlistx_next(expired)) {
        tsr_registry_agent_t *agent = tsr_registry_lookup(self->registry, key);
        char reason[256];
        snprintf(reason, sizeof reason, "agent %s lost: silent for %" PRIu64 " ms", agent->name,
                 now_mono - agent->last_seen_ms);
        size_t requeued = tsr_sched_agent_lost(self->sched, key, reason, now_wall);
        tsr_log_warn("agent lost agent=%s name=%s silent_ms=%" PRIu64 " requeued=%zu", agent->id,
                     agent->name, now_mono - agent->last_seen_ms, requeued);
        tsr_registry_remove(self->registry, key);
    }
    zlistx_destroy(&expired);

    Tessera__Envelope env = TESSERA__ENVELOPE__INIT;
    Tessera__Heartbeat heartbeat = TESSERA__HEARTBEAT__INIT;
    env.body_case = TESSERA__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &heartbeat;
    for (tsr_registry_agent_t *agent = tsr_registry_first(self->registry); agent;
         agent = tsr_registry_next(self->registry))
        (void)s_send(self, agent, &env); //  an agent we cannot reach expires on its own
}

//  Send one Assign; false if the agent cannot be reached
static bool
s_assign(tsr_coordinator_t *self, tsr_registry_agent_t *agent, const tsr_attempt_t *attempt)
{
    const tsr_shard_t *shard = attempt->shard;
    const tsr_run_t *run = shard->job->run;
    Tessera__Envelope env = TESSERA__ENVELOPE__INIT;
    Tessera__Assign assign = TESSERA__ASSIGN__INIT;
    Tessera__Digest workspace = TESSERA__DIGEST__INIT;
    tsr_planner_assign(shard, &assign);
    assign.attempt_id = attempt->id;
    assign.run_id = run->id;
    tsr_msg_digest_set(&workspace, &run->workspace);
    assign.workspace = &workspace;
    env.body_case = TESSERA__ENVELOPE__BODY_ASSIGN;
    env.assign = &assign;
    char shard_id[512];
    tsr_shard_id(shard, shard_id, sizeof shard_id);
    tsr_log_debug("assign attempt=%" PRIu64 " run=%s shard=%s agent=%s threads=%u", attempt->id,
                  run->id, shard_id, agent->id, attempt->threads);
    return s_send(self, agent, &env) == TSR_OK;
}

void
tsr_coord_agents_dispatch(tsr_coordinator_t *self)
{
    assert(self);
    if (tsr_sched_queued(self->sched) == 0)
        return;
    uint64_t now_ms = tsr_coord_now_wall();
    zlistx_t *attempts = zlistx_new();
    zlistx_t *unreachable = zlistx_new();
    zlistx_set_destructor(unreachable, s_string_free);
    //  Agents with free slots, collected first: filling walks the registry too
    zlistx_t *ready = zlistx_new();
    for (tsr_registry_agent_t *agent = tsr_registry_first(self->registry); agent;
         agent = tsr_registry_next(self->registry))
        if (tsr_registry_agent_free_slots(agent) > 0)
            zlistx_add_end(ready, agent);
    for (tsr_registry_agent_t *agent = (tsr_registry_agent_t *)zlistx_first(ready); agent;
         agent = (tsr_registry_agent_t *)zlistx_next(ready)) {
        zlistx_purge(attempts);
        tsr_sched_fill(self->sched, agent, now_ms, attempts);
        for (tsr_attempt_t *attempt = (tsr_attempt_t *)zlistx_first(attempts); attempt;
             attempt = (tsr_attempt_t *)zlistx_next(attempts))
            if (!s_assign(self, agent, attempt)) {
                zlistx_add_end(unreachable, strdup(agent->key));
                break;
            }
    }
    //  The Assign did not leave: the agent's connection is gone, so its leases are too
    for (const char *key = (const char *)zlistx_first(unreachable); key;
         key = (const char *)zlistx_next(unreachable)) {
        tsr_registry_agent_t *agent = tsr_registry_lookup(self->registry, key);
        char reason[256];
        snprintf(reason, sizeof reason, "agent %s unreachable", agent->name);
        size_t requeued = tsr_sched_agent_lost(self->sched, key, reason, now_ms);
        tsr_log_warn("agent unreachable agent=%s name=%s requeued=%zu", agent->id, agent->name,
                     requeued);
        tsr_registry_remove(self->registry, key);
    }
    zlistx_destroy(&ready);
    zlistx_destroy(&attempts);
    zlistx_destroy(&unreachable);
}

void
tsr_coord_agents_cancel(tsr_coordinator_t *self, zlistx_t *refs)
{
    assert(self);
    assert(refs);
    for (tsr_lease_ref_t *ref = (tsr_lease_ref_t *)zlistx_first(refs); ref;
         ref = (tsr_lease_ref_t *)zlistx_next(refs)) {
        tsr_registry_agent_t *agent = tsr_registry_lookup(self->registry, ref->agent_key);
        if (!agent)
            continue; //  it lists the attempt in its next Hello and is told to cancel then
        Tessera__Envelope env = TESSERA__ENVELOPE__INIT;
        Tessera__Cancel cancel = TESSERA__CANCEL__INIT;
        uint64_t attempt_id = ref->attempt_id;
        cancel.attempt_ids = &attempt_id;
        cancel.n_attempt_ids = 1;
        env.body_case = TESSERA__ENVELOPE__BODY_CANCEL;
        env.cancel = &cancel;
        tsr_log_debug("cancel attempt=%" PRIu64 " agent=%s", attempt_id, agent->id);
        (void)s_send(self, agent, &env);
    }
}

void
tsr_coord_agents_drain(tsr_coordinator_t *self, tsr_registry_agent_t *agent, bool drain)
{
    assert(self);
    assert(agent);
    Tessera__Envelope env = TESSERA__ENVELOPE__INIT;
    Tessera__Drain message = TESSERA__DRAIN__INIT;
    message.drain = drain;
    env.body_case = TESSERA__ENVELOPE__BODY_DRAIN;
    env.drain = &message;
    (void)s_send(self, agent, &env);
}
