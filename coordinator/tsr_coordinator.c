/*  tsr_coordinator - the coordinator daemon as an object
    Lifecycle (new, start, run, destroy), the zloop with its readers and
    timers, persistence after each batch of messages, and the zactor body for
    the embedded mode. The channels live in tsr_coord_agents.c and
    tsr_coord_clients.c. Loop thread only, except new/destroy.              */
#include "tsr_coordinator.h"
#include "tsr_coord_internal.h"
#include "tsr_keys.h"
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#define TSR_COORD_DEFAULT_AGENTS "tcp://0.0.0.0:7400"
#define TSR_COORD_DEFAULT_CLIENTS "tcp://0.0.0.0:7401"
#define TSR_COORD_DEFAULT_IVL_MS 1000
//  Time, on top of two liveness periods, that a restarted coordinator waits for
//  agents to re-report running attempts (covers the agents' first back-off).
#define TSR_COORD_ADOPT_SLACK_MS 2000
#define TSR_COORD_DEFAULT_LIVENESS 3
#define TSR_COORD_DEFAULT_CACHE_BYTES (8ull << 30)
//  LMDB map beyond the CAS budget: room for the run store and eviction work
#define TSR_COORD_MAP_HEADROOM_BYTES (256ull << 20)
//  How often idle uploads are swept, ms
#define TSR_COORD_SWEEP_MS 5000
//  History and cached listings unused this long are dropped at start, ms
#define TSR_COORD_HISTORY_KEEP_MS (90ull * 24 * 3600 * 1000)
#define TSR_COORD_LISTINGS_KEEP_MS (30ull * 24 * 3600 * 1000)

static char *
s_strdup_or(const char *value, const char *fallback)
{
    return value ? strdup(value) : fallback ? strdup(fallback) : NULL;
}

tsr_coordinator_t *
tsr_coordinator_new(const tsr_config_t *config)
{
    assert(config);
    tsr_coordinator_t *self = (tsr_coordinator_t *)zmalloc(sizeof(tsr_coordinator_t));
    self->config = *config;
    self->config.data_dir = s_strdup_or(config->data_dir, NULL);
    self->config.agents_endpoint = s_strdup_or(config->agents_endpoint, TSR_COORD_DEFAULT_AGENTS);
    self->config.clients_endpoint =
        s_strdup_or(config->clients_endpoint, TSR_COORD_DEFAULT_CLIENTS);
    self->config.http = s_strdup_or(config->http, NULL);
    self->config.log_level = s_strdup_or(config->log_level, NULL);
    if (!self->config.heartbeat_ivl_ms)
        self->config.heartbeat_ivl_ms = TSR_COORD_DEFAULT_IVL_MS;
    if (!self->config.liveness)
        self->config.liveness = TSR_COORD_DEFAULT_LIVENESS;
    if (!self->config.cache_max_bytes)
        self->config.cache_max_bytes = TSR_COORD_DEFAULT_CACHE_BYTES;
    self->ttl_ms = (uint64_t)self->config.heartbeat_ivl_ms * self->config.liveness;
    self->registry = tsr_registry_new(self->ttl_ms);
    self->sched = tsr_sched_new(self->registry, self->config.max_retries);
    self->watches = zlistx_new();
    self->uploads = tsr_coord_blobs_uploads_new();
    return self;
}

void
tsr_coordinator_destroy(tsr_coordinator_t **self_p)
{
    assert(self_p);
    tsr_coordinator_t *self = *self_p;
    if (!self)
        return;
    tsr_coord_clients_drop_watches(self);
    zlistx_destroy(&self->watches);
    zhashx_destroy(&self->uploads); //  before the CAS the transfers borrow
    //  Monitors stop before their sockets; sockets close before the ZAP handler
    tsr_handshake_destroy(&self->agents_handshakes);
    tsr_handshake_destroy(&self->clients_handshakes);
    zsock_destroy(&self->agents);
    zsock_destroy(&self->clients);
    tsr_zap_destroy(&self->zap);
    tsr_sched_destroy(&self->sched);
    tsr_registry_destroy(&self->registry);
    tsr_store_destroy(&self->store);
    tsr_history_destroy(&self->history);
    tsr_listings_destroy(&self->listings);
    tsr_cas_destroy(&self->cas);
    zcert_destroy(&self->cert);
    free(self->agents_endpoint);
    free(self->clients_endpoint);
    free(self->keys_path);
    free(self->allow_agents_dir);
    free(self->allow_clients_dir);
    free(self->store_dir);
    free(self->tmp_dir);
    free(self->config.data_dir);
    free(self->config.agents_endpoint);
    free(self->config.clients_endpoint);
    free(self->config.http);
    free(self->config.log_level);
    free(self);
    *self_p = NULL;
}

uint64_t
tsr_coord_now_wall(void)
{
    return (uint64_t)zclock_time();
}

uint64_t
tsr_coord_now_mono(void)
{
    return (uint64_t)zclock_mono();
}

//  ---------------------------------------------------------------- start

//  Load the runs of the previous life and queue their work again
static int
s_resume(tsr_coordinator_t *self)
{
    zlistx_t *runs = zlistx_new();
    uint64_t next_run = 1, next_attempt = 1;
    int rc = tsr_store_load(self->store, runs, &next_run, &next_attempt);
    if (rc != TSR_OK) {
        zlistx_destroy(&runs);
        return rc;
    }
    tsr_sched_set_counters(self->sched, next_run, next_attempt);
    size_t resumed = 0;
    uint64_t now_ms = tsr_coord_now_wall();
    for (tsr_run_t *run = (tsr_run_t *)zlistx_first(runs); run;
         run = (tsr_run_t *)zlistx_next(runs)) {
        resumed += !run->finished;
        //  Agents notice our absence after their own liveness period, then back off up
        //  to ~1.5 s before their first reconnect: wait for both before giving up
        tsr_sched_adopt(self->sched, &run, now_ms, 2 * self->ttl_ms + TSR_COORD_ADOPT_SLACK_MS);
    }
    zlistx_destroy(&runs);
    if (resumed)
        tsr_log_info("resumed runs=%zu queued_shards=%zu (running attempts wait %" PRIu64
                     " ms for their agents)",
                     resumed, tsr_sched_queued(self->sched),
                     2 * self->ttl_ms + TSR_COORD_ADOPT_SLACK_MS);
    return TSR_OK;
}

//  The timing history and the listing cache test jobs are planned from
static int
s_open_planning(tsr_coordinator_t *self)
{
    MDB_env *env = tsr_cas_env(self->cas);
    self->history = tsr_history_new(env);
    self->listings = tsr_listings_new(env);
    int rc = tsr_history_open(self->history);
    if (rc == TSR_OK)
        rc = tsr_listings_open(self->listings);
    if (rc != TSR_OK) {
        tsr_log_error("cannot open the timing history or the listing cache: %s", tsr_strerror(rc));
        return rc;
    }
    uint64_t now_ms = tsr_coord_now_wall();
    size_t history_removed = 0, listings_removed = 0;
    if (now_ms > TSR_COORD_HISTORY_KEEP_MS &&
        tsr_history_prune(self->history, now_ms - TSR_COORD_HISTORY_KEEP_MS, &history_removed) !=
            TSR_OK)
        tsr_log_warn("cannot prune the timing history");
    if (now_ms > TSR_COORD_LISTINGS_KEEP_MS &&
        tsr_listings_prune(self->listings, now_ms - TSR_COORD_LISTINGS_KEEP_MS,
                           &listings_removed) != TSR_OK)
        tsr_log_warn("cannot prune the listing cache");
    if (history_removed || listings_removed)
        tsr_log_info("pruned history_records=%zu cached_listings=%zu", history_removed,
                     listings_removed);
    tsr_sched_set_stores(self->sched, self->history, self->listings);
    return TSR_OK;
}

static int
s_open_store(tsr_coordinator_t *self)
{
    self->cas = tsr_cas_new();
    uint64_t map_bytes = self->config.cache_max_bytes + self->config.cache_max_bytes / 8 +
                         TSR_COORD_MAP_HEADROOM_BYTES;
    int rc = tsr_cas_open(self->cas, self->store_dir, (size_t)map_bytes);
    if (rc != TSR_OK) {
        tsr_log_error("cannot open the store dir=%s: %s", self->store_dir, tsr_strerror(rc));
        return TSR_ESTORE;
    }
    tsr_cas_set_limit(self->cas, self->config.cache_max_bytes);
    self->store = tsr_store_new();
    rc = tsr_store_open(self->store, tsr_cas_env(self->cas));
    if (rc == TSR_OK)
        rc = s_open_planning(self);
    if (rc == TSR_OK)
        rc = s_resume(self);
    return rc == TSR_OK ? TSR_OK : TSR_ESTORE;
}

//  A CURVE-server ROUTER in a ZAP domain, bound; *bound_out gets the endpoint
static int
s_bind_router(tsr_coordinator_t *self, const char *domain, const char *endpoint,
              zsock_t **socket_out, char **bound_out)
{
    zsock_t *socket = zsock_new(ZMQ_ROUTER);
    assert(socket);
    zsock_set_zap_domain(socket, domain);
    zcert_apply(self->cert, socket);
    zsock_set_curve_server(socket, 1);
    zsock_set_router_mandatory(socket, 1);
    //  ZMTP heartbeats close dead TCP connections; Heartbeat messages catch hung agents
    zsock_set_heartbeat_ivl(socket, (int)self->config.heartbeat_ivl_ms);
    zsock_set_heartbeat_timeout(socket, (int)self->ttl_ms);
    zsock_set_heartbeat_ttl(socket, (int)self->ttl_ms);
    zsock_set_maxmsgsize(socket, TSR_MSG_MAX_BYTES + 4096);
    zsock_set_linger(socket, 0);
    if (zsock_bind(socket, "%s", endpoint) < 0) {
        int error = zmq_errno();
        tsr_log_error("cannot bind %s endpoint %s: %s", domain, endpoint, zmq_strerror(error));
        zsock_destroy(&socket);
        return error ? -error : TSR_ECONFIG;
    }
    *socket_out = socket;
    *bound_out = zsock_last_endpoint(socket);
    return TSR_OK;
}

int
tsr_coordinator_start(tsr_coordinator_t *self)
{
    assert(self);
    assert(!self->zap);
    const char *data = self->config.data_dir;
    if (!data || !*data) {
        tsr_log_error("the coordinator needs a data directory");
        return TSR_ECONFIG;
    }
    self->keys_path = zsys_sprintf("%s/keys/coordinator", data);
    self->allow_agents_dir = zsys_sprintf("%s/allow/agents", data);
    self->allow_clients_dir = zsys_sprintf("%s/allow/clients", data);
    self->store_dir = zsys_sprintf("%s/store", data);
    self->tmp_dir = zsys_sprintf("%s/tmp", data);
    if (zsys_dir_create("%s/keys", data) != 0 || zsys_dir_create("%s", self->tmp_dir) != 0) {
        int error = errno;
        tsr_log_error("cannot create the data directory dir=%s: %s", data, strerror(error));
        return error ? -error : TSR_ECONFIG;
    }
    int rc = tsr_keys_ensure(self->keys_path, &self->cert);
    if (rc != TSR_OK) {
        tsr_log_error("cannot load or create the coordinator key path=%s: %s", self->keys_path,
                      tsr_strerror(rc));
        return rc == TSR_EPERM ? TSR_EKEY : rc;
    }
    rc = s_open_store(self);
    if (rc != TSR_OK)
        return rc;
    //  Before any CURVE socket binds: without a handler, CURVE admits every key
    self->zap = tsr_zap_new(self->allow_agents_dir, self->allow_clients_dir);
    if (!self->zap)
        return TSR_ECONFIG;
    rc = s_bind_router(self, TSR_ZAP_DOMAIN_AGENTS, self->config.agents_endpoint, &self->agents,
                       &self->agents_endpoint);
    if (rc == TSR_OK)
        rc = s_bind_router(self, TSR_ZAP_DOMAIN_CLIENTS, self->config.clients_endpoint,
                           &self->clients, &self->clients_endpoint);
    if (rc != TSR_OK)
        return rc;
    self->agents_handshakes = tsr_handshake_new(self->agents, TSR_ZAP_DOMAIN_AGENTS);
    self->clients_handshakes = tsr_handshake_new(self->clients, TSR_ZAP_DOMAIN_CLIENTS);
    if (self->config.http)
        tsr_log_info("http=%s requested: not served yet", self->config.http); //  TODO(#6)
    tsr_log_info("coordinator ready agents=%s clients=%s key=%s", self->agents_endpoint,
                 self->clients_endpoint, zcert_public_txt(self->cert));
    return TSR_OK;
}

const char *
tsr_coordinator_agents_endpoint(tsr_coordinator_t *self)
{
    assert(self);
    return self->agents_endpoint;
}

const char *
tsr_coordinator_clients_endpoint(tsr_coordinator_t *self)
{
    assert(self);
    return self->clients_endpoint;
}

const char *
tsr_coordinator_public_key(tsr_coordinator_t *self)
{
    assert(self);
    return self->cert ? zcert_public_txt(self->cert) : NULL;
}

void
tsr_coordinator_reload(tsr_coordinator_t *self)
{
    assert(self);
    if (!self->zap)
        return;
    int rc = tsr_zap_reload(self->zap);
    if (rc != TSR_OK)
        tsr_log_warn("allow-list reload incomplete: %s (previous lists stay)", tsr_strerror(rc));
}

//  ---------------------------------------------------------------- replies

int
tsr_coord_reply(tsr_coord_request_t *request, Tessera__Envelope *reply)
{
    assert(request);
    assert(reply);
    reply->req_id = request->req_id;
    request->replied = true;
    int rc = tsr_msg_send(reply, request->socket, request->routing_id);
    if (rc != TSR_OK)
        tsr_log_debug("reply %s not delivered: %s", tsr_msg_name(reply->body_case),
                      tsr_strerror(rc));
    return rc;
}

void
tsr_coord_reply_error(tsr_coord_request_t *request, int code, const char *text)
{
    Tessera__Envelope reply = TESSERA__ENVELOPE__INIT;
    Tessera__Error error = TESSERA__ERROR__INIT;
    error.code = code;
    error.text = (char *)(text && *text ? text : tsr_strerror(code));
    reply.body_case = TESSERA__ENVELOPE__BODY_ERROR;
    reply.error = &error;
    (void)tsr_coord_reply(request, &reply); //  a vanished requester needs no answer
}

void
tsr_coord_set_error(tsr_coord_request_t *request, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(request->error_text, sizeof request->error_text, format, args);
    va_end(args);
}

//  ---------------------------------------------------------------- loop

static void
s_string_free(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
}

static void
s_save(tsr_coordinator_t *self)
{
    zlistx_t *dirty = zlistx_new();
    zlistx_t *pruned = zlistx_new();
    zlistx_set_destructor(pruned, s_string_free);
    tsr_sched_take_dirty(self->sched, dirty);
    tsr_sched_prune(self->sched, pruned);
    if (zlistx_size(dirty) || zlistx_size(pruned)) {
        uint64_t next_run = 0, next_attempt = 0;
        tsr_sched_counters(self->sched, &next_run, &next_attempt);
        int rc = tsr_store_save(self->store, dirty, pruned, next_run, next_attempt);
        if (rc != TSR_OK) {
            //  Keep them dirty: the next save tries again
            for (tsr_run_t *run = (tsr_run_t *)zlistx_first(dirty); run;
                 run = (tsr_run_t *)zlistx_next(dirty))
                run->dirty = true;
            if (!self->store_failed)
                tsr_log_error("cannot save runs: %s (retrying after each message)",
                              tsr_strerror(rc));
            self->store_failed = true;
        } else if (self->store_failed) {
            tsr_log_info("runs saved again");
            self->store_failed = false;
        }
    }
    zlistx_destroy(&dirty);
    zlistx_destroy(&pruned);
}

void
tsr_coord_after(tsr_coordinator_t *self)
{
    assert(self);
    tsr_coord_agents_dispatch(self);
    s_save(self);
    tsr_coord_clients_flush_watches(self);
}

static int
s_on_heartbeat(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    tsr_coordinator_t *self = (tsr_coordinator_t *)arg;
    tsr_coord_agents_heartbeat(self);
    tsr_sched_tick(self->sched, tsr_coord_now_wall());
    tsr_coord_after(self);
    return 0;
}

static int
s_on_sweep(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    tsr_coord_blobs_sweep((tsr_coordinator_t *)arg, tsr_coord_now_mono());
    return 0;
}

static int
s_on_handshake(zloop_t *loop, zsock_t *events, void *arg)
{
    (void)loop;
    tsr_coordinator_t *self = (tsr_coordinator_t *)arg;
    if (self->agents_handshakes && events == tsr_handshake_events(self->agents_handshakes))
        tsr_handshake_read(self->agents_handshakes);
    else if (self->clients_handshakes)
        tsr_handshake_read(self->clients_handshakes);
    return 0;
}

//  Refused handshakes so far, from ZAP and from the socket monitors
static void
s_refusals(tsr_coordinator_t *self, tsr_zap_stats_t *stats, uint64_t *bad_handshake_out)
{
    tsr_zap_stats(self->zap, stats);
    *bad_handshake_out = 0;
    tsr_handshake_t *monitors[2] = {self->agents_handshakes, self->clients_handshakes};
    for (int index = 0; index < 2; index++)
        if (monitors[index]) {
            stats->not_curve += tsr_handshake_not_curve(monitors[index]);
            *bad_handshake_out += tsr_handshake_failed(monitors[index]);
        }
}

static int
s_on_pipe(zloop_t *loop, zsock_t *pipe, void *arg)
{
    (void)loop;
    tsr_coordinator_t *self = (tsr_coordinator_t *)arg;
    char *command = zstr_recv(pipe);
    if (!command)
        return -1; //  interrupted
    int rc = 0;
    if (streq(command, "$TERM"))
        rc = -1;
    else if (streq(command, "RELOAD"))
        tsr_coordinator_reload(self);
    else if (streq(command, "ENDPOINTS"))
        zsock_send(pipe, "sss", self->agents_endpoint, self->clients_endpoint,
                   tsr_coordinator_public_key(self));
    else if (streq(command, "STATUS"))
        zsock_send(pipe, "i", TSR_OK);
    else if (streq(command, "STATS")) {
        tsr_zap_stats_t stats;
        uint64_t bad_handshake = 0;
        s_refusals(self, &stats, &bad_handshake);
        zsock_send(pipe, "88888", stats.accepted, stats.unknown_key, stats.wrong_domain,
                   stats.not_curve, bad_handshake);
    } else
        tsr_log_error("coordinator: unknown pipe command %s", command);
    zstr_free(&command);
    return rc;
}

int
tsr_coordinator_run(tsr_coordinator_t *self, zsock_t *pipe)
{
    assert(self);
    assert(self->agents && self->clients); //  started
    self->loop = zloop_new();
    assert(self->loop);
    zloop_reader(self->loop, self->agents, tsr_coord_agents_readable, self);
    zloop_reader_set_tolerant(self->loop, self->agents);
    zloop_reader(self->loop, self->clients, tsr_coord_clients_readable, self);
    zloop_reader_set_tolerant(self->loop, self->clients);
    if (pipe)
        zloop_reader(self->loop, pipe, s_on_pipe, self);
    tsr_handshake_t *monitors[2] = {self->agents_handshakes, self->clients_handshakes};
    for (int index = 0; index < 2; index++)
        if (monitors[index])
            zloop_reader(self->loop, tsr_handshake_events(monitors[index]), s_on_handshake, self);
    zloop_timer(self->loop, self->config.heartbeat_ivl_ms, 0, s_on_heartbeat, self);
    zloop_timer(self->loop, TSR_COORD_SWEEP_MS, 0, s_on_sweep, self);
    tsr_coord_after(self); //  resumed runs may have work for nobody yet; save the counters
    zloop_start(self->loop);
    tsr_coord_clients_drop_watches(self);
    s_save(self);
    zloop_destroy(&self->loop);
    tsr_zap_stats_t stats;
    uint64_t bad_handshake = 0;
    s_refusals(self, &stats, &bad_handshake);
    tsr_log_info("coordinator stopped handshakes_accepted=%" PRIu64 " refused_unknown_key=%" PRIu64
                 " refused_wrong_endpoint=%" PRIu64 " refused_not_curve=%" PRIu64
                 " refused_bad_handshake=%" PRIu64,
                 stats.accepted, stats.unknown_key, stats.wrong_domain, stats.not_curve,
                 bad_handshake);
    return TSR_OK;
}

//  ---------------------------------------------------------------- actor

//  Start failed: stay until $TERM so the parent can ask what happened
static void
s_failed_actor(zsock_t *pipe, int start_rc)
{
    while (true) {
        char *command = zstr_recv(pipe);
        if (!command)
            break;
        bool term = streq(command, "$TERM");
        if (streq(command, "ENDPOINTS"))
            zsock_send(pipe, "sss", "", "", "");
        else if (streq(command, "STATUS"))
            zsock_send(pipe, "i", start_rc);
        zstr_free(&command);
        if (term)
            break;
    }
}

void
tsr_coordinator_actor(zsock_t *pipe, void *args)
{
    const tsr_config_t *config = (const tsr_config_t *)args;
    tsr_coordinator_t *self = tsr_coordinator_new(config);
    int rc = tsr_coordinator_start(self);
    zsock_signal(pipe, rc == TSR_OK ? 0 : 1);
    if (rc == TSR_OK) {
        rc = tsr_coordinator_run(self, pipe);
        assert(rc == TSR_OK);
    } else
        s_failed_actor(pipe, rc);
    tsr_coordinator_destroy(&self);
}
