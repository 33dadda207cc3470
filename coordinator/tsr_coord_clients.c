/*  tsr_coord_clients - the coordinator's client channel
    One dispatch table; every request gets exactly one reply with its req_id
    (an Error{code, text} when a handler fails). Watch is a long poll: parked
    with the requester's routing id until its run has news or wait_ms passes.
    Loop thread of the coordinator.                                          */
#include "tsr_coord_internal.h"
#include "tsr_tree.h"
#include <inttypes.h>
#include <string.h>

//  A parked Watch
typedef struct {
    tsr_coordinator_t *coordinator; //  borrowed; for the timer handler
    zframe_t *routing_id;           //  owned; the requester's
    uint64_t req_id;                //  echoed in the reply
    char *run_id;                   //  owned
    uint64_t after_seq;             //  events after this one are news
    int timer_id;                   //  zloop timer answering it at wait_ms; -1 if none
    void *handle;                   //  its entry in self->watches
} tsr_coord_watch_t;

static void
s_watch_destroy(tsr_coord_watch_t **watch_p)
{
    tsr_coord_watch_t *watch = *watch_p;
    if (!watch)
        return;
    zframe_destroy(&watch->routing_id);
    free(watch->run_id);
    free(watch);
    *watch_p = NULL;
}

//  ---------------------------------------------------------------- watch

//  Reply with the run's events after `after_seq`, and its summary once done
static void
s_watch_reply(tsr_coord_request_t *request, tsr_run_t *run, uint64_t after_seq)
{
    zlistx_t *events = zlistx_new();
    tsr_run_events_after(run, after_seq, TSR_COORD_WATCH_EVENTS, events);
    Tessera__Envelope reply = TESSERA__ENVELOPE__INIT;
    Tessera__WatchReply watch_reply = TESSERA__WATCH_REPLY__INIT;
    Tessera__RunSummary summary;
    watch_reply.n_events = zlistx_size(events);
    watch_reply.events = (Tessera__Event **)zmalloc((watch_reply.n_events + 1) * sizeof(void *));
    size_t index = 0;
    uint64_t last_seq = after_seq;
    for (Tessera__Event *event = (Tessera__Event *)zlistx_first(events); event;
         event = (Tessera__Event *)zlistx_next(events)) {
        watch_reply.events[index++] = event; //  borrowed from the run
        last_seq = event->seq;
    }
    //  Done once the client has (or gets now) every event: the summary is final
    watch_reply.done = run->finished && (last_seq >= run->event_seq || index == 0);
    if (watch_reply.done) {
        tsr_run_summary(run, tsr_coord_now_wall(), true, &summary);
        watch_reply.summary = &summary;
    }
    reply.body_case = TESSERA__ENVELOPE__BODY_WATCH_REPLY;
    reply.watch_reply = &watch_reply;
    int rc = tsr_coord_reply(request, &reply);
    if (rc == TSR_ETOOBIG)
        tsr_coord_reply_error(request, rc, "watch reply too large");
    if (watch_reply.done)
        tsr_run_summary_clear(&summary);
    free(watch_reply.events);
    zlistx_destroy(&events);
}

//  Does the run have something for a watcher that has seen `after_seq`?
static bool
s_watch_ready(tsr_run_t *run, uint64_t after_seq)
{
    if (run->finished)
        return true;
    Tessera__Event *last = (Tessera__Event *)zlistx_last(run->events);
    return last && last->seq > after_seq;
}

//  Answer a parked watch now and forget it
static void
s_watch_answer(tsr_coordinator_t *self, tsr_coord_watch_t *watch)
{
    tsr_coord_request_t request = {.coordinator = self,
                                   .socket = self->clients,
                                   .routing_id = watch->routing_id,
                                   .req_id = watch->req_id};
    tsr_run_t *run = tsr_sched_run(self->sched, watch->run_id);
    if (run)
        s_watch_reply(&request, run, watch->after_seq);
    else
        tsr_coord_reply_error(&request, TSR_ENOTFOUND, "run no longer exists");
    if (watch->timer_id >= 0 && self->loop)
        zloop_timer_end(self->loop, watch->timer_id);
    zlistx_delete(self->watches, watch->handle);
    s_watch_destroy(&watch);
}

//  wait_ms passed without news: answer with what there is (maybe nothing)
static int
s_on_watch_timeout(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    tsr_coord_watch_t *watch = (tsr_coord_watch_t *)arg;
    watch->timer_id = -1; //  a one-shot timer: zloop forgets it after this call
    s_watch_answer(watch->coordinator, watch);
    return 0;
}

void
tsr_coord_clients_flush_watches(tsr_coordinator_t *self)
{
    assert(self);
    zlistx_t *ready = zlistx_new(); //  borrowed; answering changes the list being walked
    for (tsr_coord_watch_t *watch = (tsr_coord_watch_t *)zlistx_first(self->watches); watch;
         watch = (tsr_coord_watch_t *)zlistx_next(self->watches)) {
        tsr_run_t *run = tsr_sched_run(self->sched, watch->run_id);
        if (!run || s_watch_ready(run, watch->after_seq))
            zlistx_add_end(ready, watch);
    }
    for (tsr_coord_watch_t *watch = (tsr_coord_watch_t *)zlistx_first(ready); watch;
         watch = (tsr_coord_watch_t *)zlistx_next(ready))
        s_watch_answer(self, watch);
    zlistx_destroy(&ready);
}

void
tsr_coord_clients_drop_watches(tsr_coordinator_t *self)
{
    assert(self);
    if (!self->watches)
        return;
    for (tsr_coord_watch_t *watch = (tsr_coord_watch_t *)zlistx_first(self->watches); watch;
         watch = (tsr_coord_watch_t *)zlistx_next(self->watches)) {
        if (watch->timer_id >= 0 && self->loop)
            zloop_timer_end(self->loop, watch->timer_id);
        s_watch_destroy(&watch);
    }
    zlistx_purge(self->watches);
}

//  ---------------------------------------------------------------- handlers

static void
s_digest_free(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
}

static int
s_on_submit(void *server, void *peer, const Tessera__Envelope *env)
{
    tsr_coordinator_t *self = (tsr_coordinator_t *)server;
    tsr_coord_request_t *request = (tsr_coord_request_t *)peer;
    const Tessera__Submit *submit = env->submit;
    //  A retried Submit gets its run back without walking the workspace again
    tsr_run_t *run = tsr_sched_run_by_uuid(self->sched, submit->client_uuid);
    if (!run) {
        //  Every blob of the workspace must be here before agents ask for it
        tsr_digest_t workspace;
        if (tsr_msg_digest_get(submit->workspace, &workspace) != TSR_OK) {
            tsr_coord_set_error(request, "the workspace digest is missing or malformed");
            return TSR_EINVAL;
        }
        zlistx_t *missing = zlistx_new();
        zlistx_set_destructor(missing, s_digest_free);
        int rc = tsr_tree_missing(self->cas, &workspace, missing);
        size_t missing_count = zlistx_size(missing);
        zlistx_destroy(&missing);
        if (rc != TSR_OK || missing_count) {
            tsr_coord_set_error(request, "workspace incomplete: %s",
                                rc != TSR_OK ? tsr_strerror(rc) : "upload its blobs first");
            return rc != TSR_OK ? rc : TSR_ENOTFOUND;
        }
        char *error = NULL;
        rc = tsr_sched_submit(self->sched, submit, tsr_coord_now_wall(), &run, &error);
        if (rc != TSR_OK) {
            tsr_coord_set_error(request, "%s", error ? error : tsr_strerror(rc));
            free(error);
            return rc;
        }
        uint32_t shards = 0;
        for (uint32_t index = 0; index < run->job_count; index++)
            shards += run->jobs[index]->shard_count;
        tsr_log_info("run submitted run=%s project=%s jobs=%u shards=%u client=%.8s", run->id,
                     run->project, run->job_count, shards, request->key);
    }
    Tessera__Envelope reply = TESSERA__ENVELOPE__INIT;
    Tessera__Submitted submitted = TESSERA__SUBMITTED__INIT;
    submitted.run_id = run->id;
    reply.body_case = TESSERA__ENVELOPE__BODY_SUBMITTED;
    reply.submitted = &submitted;
    (void)tsr_coord_reply(request, &reply);
    return TSR_OK;
}

static int
s_on_watch(void *server, void *peer, const Tessera__Envelope *env)
{
    tsr_coordinator_t *self = (tsr_coordinator_t *)server;
    tsr_coord_request_t *request = (tsr_coord_request_t *)peer;
    const Tessera__Watch *watch_request = env->watch;
    tsr_run_t *run = tsr_sched_run(self->sched, watch_request->run_id);
    if (!run) {
        tsr_coord_set_error(request, "no run %s", watch_request->run_id);
        return TSR_ENOTFOUND;
    }
    if (s_watch_ready(run, watch_request->after_seq) || watch_request->wait_ms == 0 ||
        !self->loop || zlistx_size(self->watches) >= TSR_COORD_WATCH_MAX) {
        s_watch_reply(request, run, watch_request->after_seq);
        return TSR_OK;
    }
    tsr_coord_watch_t *watch = (tsr_coord_watch_t *)zmalloc(sizeof(tsr_coord_watch_t));
    watch->coordinator = self;
    watch->routing_id = zframe_dup(request->routing_id);
    watch->req_id = request->req_id;
    watch->run_id = strdup(run->id);
    watch->after_seq = watch_request->after_seq;
    uint32_t wait_ms = watch_request->wait_ms < TSR_COORD_WATCH_MAX_MS ? watch_request->wait_ms
                                                                       : TSR_COORD_WATCH_MAX_MS;
    watch->timer_id = zloop_timer(self->loop, wait_ms, 1, s_on_watch_timeout, watch);
    watch->handle = zlistx_add_end(self->watches, watch);
    request->replied = true; //  held: answered by s_watch_answer
    return TSR_OK;
}

static int
s_on_status(void *server, void *peer, const Tessera__Envelope *env)
{
    tsr_coordinator_t *self = (tsr_coordinator_t *)server;
    tsr_coord_request_t *request = (tsr_coord_request_t *)peer;
    const char *run_id = env->status_request->run_id;
    zlistx_t *runs = tsr_sched_runs(self->sched);
    Tessera__Envelope reply = TESSERA__ENVELOPE__INIT;
    Tessera__StatusReply status = TESSERA__STATUS_REPLY__INIT;
    Tessera__RunSummary *summaries =
        (Tessera__RunSummary *)zmalloc((zlistx_size(runs) + 1) * sizeof(Tessera__RunSummary));
    status.runs = (Tessera__RunSummary **)zmalloc((zlistx_size(runs) + 1) * sizeof(void *));
    uint64_t now_ms = tsr_coord_now_wall();
    if (*run_id) {
        tsr_run_t *run = tsr_sched_run(self->sched, run_id);
        if (run) {
            tsr_run_summary(run, now_ms, true, &summaries[0]);
            status.runs[status.n_runs++] = &summaries[0];
        }
    } else
        //  Recent runs, newest first, without their per-shard results
        for (tsr_run_t *run = (tsr_run_t *)zlistx_last(runs); run;
             run = (tsr_run_t *)zlistx_prev(runs)) {
            tsr_run_summary(run, now_ms, false, &summaries[status.n_runs]);
            status.runs[status.n_runs] = &summaries[status.n_runs];
            status.n_runs++;
        }
    int rc = TSR_OK;
    if (*run_id && status.n_runs == 0) {
        tsr_coord_set_error(request, "no run %s", run_id);
        rc = TSR_ENOTFOUND;
    } else {
        reply.body_case = TESSERA__ENVELOPE__BODY_STATUS_REPLY;
        reply.status_reply = &status;
        (void)tsr_coord_reply(request, &reply);
    }
    for (size_t index = 0; index < status.n_runs; index++)
        tsr_run_summary_clear(&summaries[index]);
    free(summaries);
    free(status.runs);
    return rc;
}

static int
s_info_compare(const void *left, const void *right)
{
    const Tessera__AgentInfo *first = *(Tessera__AgentInfo *const *)left;
    const Tessera__AgentInfo *second = *(Tessera__AgentInfo *const *)right;
    int by_name = strcmp(first->name, second->name);
    return by_name ? by_name : strcmp(first->id, second->id);
}

static int
s_on_agents(void *server, void *peer, const Tessera__Envelope *env)
{
    (void)env;
    tsr_coordinator_t *self = (tsr_coordinator_t *)server;
    tsr_coord_request_t *request = (tsr_coord_request_t *)peer;
    size_t count = tsr_registry_size(self->registry);
    Tessera__Envelope reply = TESSERA__ENVELOPE__INIT;
    Tessera__AgentsReply agents = TESSERA__AGENTS_REPLY__INIT;
    Tessera__AgentInfo *infos = (Tessera__AgentInfo *)zmalloc((count + 1) * sizeof(*infos));
    agents.agents = (Tessera__AgentInfo **)zmalloc((count + 1) * sizeof(void *));
    uint64_t now_ms = tsr_coord_now_mono();
    for (tsr_registry_agent_t *agent = tsr_registry_first(self->registry); agent;
         agent = tsr_registry_next(self->registry)) {
        tsr_registry_agent_info(agent, now_ms, &infos[agents.n_agents]);
        agents.agents[agents.n_agents] = &infos[agents.n_agents];
        agents.n_agents++;
    }
    qsort(agents.agents, agents.n_agents, sizeof(void *), s_info_compare);
    reply.body_case = TESSERA__ENVELOPE__BODY_AGENTS_REPLY;
    reply.agents_reply = &agents;
    (void)tsr_coord_reply(request, &reply);
    for (size_t index = 0; index < agents.n_agents; index++)
        tsr_registry_agent_info_clear(&infos[index]);
    free(infos);
    free(agents.agents);
    return TSR_OK;
}

static void
s_reply_ok(tsr_coord_request_t *request)
{
    Tessera__Envelope reply = TESSERA__ENVELOPE__INIT;
    Tessera__Ok ok = TESSERA__OK__INIT;
    reply.body_case = TESSERA__ENVELOPE__BODY_OK;
    reply.ok = &ok;
    (void)tsr_coord_reply(request, &reply);
}

static int
s_on_drain(void *server, void *peer, const Tessera__Envelope *env)
{
    tsr_coordinator_t *self = (tsr_coordinator_t *)server;
    tsr_coord_request_t *request = (tsr_coord_request_t *)peer;
    const Tessera__DrainAgent *drain = env->drain_agent;
    tsr_registry_agent_t *agent = tsr_registry_find(self->registry, drain->agent);
    if (!agent) {
        tsr_coord_set_error(request, "no agent '%s' (or the name is ambiguous)", drain->agent);
        return TSR_ENOTFOUND;
    }
    tsr_registry_set_drain(self->registry, agent, drain->drain);
    tsr_coord_agents_drain(self, agent, drain->drain);
    tsr_log_info("agent %s agent=%s name=%s running=%u client=%.8s",
                 drain->drain ? "drained" : "undrained", agent->id, agent->name, agent->running,
                 request->key);
    s_reply_ok(request);
    return TSR_OK;
}

static int
s_on_cancel(void *server, void *peer, const Tessera__Envelope *env)
{
    tsr_coordinator_t *self = (tsr_coordinator_t *)server;
    tsr_coord_request_t *request = (tsr_coord_request_t *)peer;
    const char *run_id = env->cancel_run->run_id;
    zlistx_t *refs = tsr_lease_refs_new();
    int rc = tsr_sched_cancel(self->sched, run_id, tsr_coord_now_wall(), refs);
    if (rc == TSR_OK) {
        tsr_coord_agents_cancel(self, refs);
        tsr_log_info("run cancelled run=%s attempts_cancelled=%zu client=%.8s", run_id,
                     zlistx_size(refs), request->key);
        s_reply_ok(request);
    } else
        tsr_coord_set_error(request, "no run %s", run_id);
    zlistx_destroy(&refs);
    return rc;
}

//  Clients have no session: every request is legal from any authenticated client
static const tsr_dispatch_row_t s_client_rows[] = {
    {TESSERA__ENVELOPE__BODY_BLOB_QUERY, TSR_PEER_ANY, tsr_coord_blobs_on_query},
    {TESSERA__ENVELOPE__BODY_BLOB_CHUNK, TSR_PEER_ANY, tsr_coord_blobs_on_chunk},
    {TESSERA__ENVELOPE__BODY_BLOB_GET, TSR_PEER_ANY, tsr_coord_blobs_on_get},
    {TESSERA__ENVELOPE__BODY_SUBMIT, TSR_PEER_ANY, s_on_submit},
    {TESSERA__ENVELOPE__BODY_WATCH, TSR_PEER_ANY, s_on_watch},
    {TESSERA__ENVELOPE__BODY_STATUS_REQUEST, TSR_PEER_ANY, s_on_status},
    {TESSERA__ENVELOPE__BODY_AGENTS_REQUEST, TSR_PEER_ANY, s_on_agents},
    {TESSERA__ENVELOPE__BODY_DRAIN_AGENT, TSR_PEER_ANY, s_on_drain},
    {TESSERA__ENVELOPE__BODY_CANCEL_RUN, TSR_PEER_ANY, s_on_cancel},
};

//  ---------------------------------------------------------------- reader

//  No session: every authenticated client is READY
static unsigned
s_admit(tsr_coordinator_t *self, tsr_coord_request_t *request)
{
    (void)self;
    (void)request;
    return TSR_PEER_READY;
}

static void
s_failed(const tsr_coord_request_t *request, const Tessera__Envelope *env, int rc)
{
    tsr_log_debug("request %s from client=%.8s failed: %s %s", tsr_msg_name(env->body_case),
                  request->key, tsr_strerror(rc), request->error_text);
}

static const tsr_coord_channel_t s_client_channel = {
    .peer = "client",
    .rows = s_client_rows,
    .row_count = TSR_DISPATCH_ROWS(s_client_rows),
    .admit = s_admit,
    .failed = s_failed,
};

int
tsr_coord_clients_readable(zloop_t *loop, zsock_t *socket, void *arg)
{
    (void)loop;
    return tsr_coord_channel_read((tsr_coordinator_t *)arg, socket, &s_client_channel);
}
