/*  tsr_agent - the agent object: start-up and the link to the coordinator
    Start-up loads keys, claims the data dir, opens the cache, picks the
    slots' CPUs and the labels. The link is a CURVE DEALER: Hello after
    every (re)connect, Welcome sets the heartbeat interval and liveness, a
    Heartbeat every interval; each interval without a coordinator message
    costs one liveness, at 0 the DEALER is destroyed and recreated after a
    back-off (Paranoid Pirate). Stopping (SIGTERM, "$TERM") drains, lets
    running work finish within the grace period, hands back the rest (Bye).
    Attempts live in tsr_agent_work.c. The loop thread only.               */
#include "tsr_agent.h"
#include "tsr_list.h"
#include "tsr_agent_internal.h"
#include "tsr_backoff.h"
#include "tsr_detect.h"
#include "tsr_dispatch.h"
#include "tsr_keys.h"
#include "tsr_labels.h"
#include "tsr_msg.h"
#include "tsr_workdir.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <sodium.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define S_DEFAULT_HEARTBEAT_IVL_MS 1000
#define S_DEFAULT_LIVENESS 3
#define S_DEFAULT_CACHE_BYTES ((uint64_t)4 << 30)
#define S_DEFAULT_DRAIN_GRACE_MS 30000
//  How often a stopping agent checks whether its work is done.
#define S_STOP_CHECK_MS 20
//  How long the final Bye may take to leave when we exit.
#define S_BYE_LINGER_MS 1000

static char *
s_strdup_or_null(const char *text)
{
    return text ? strdup(text) : NULL;
}

tsr_agent_t *
tsr_agent_new(const tsr_agent_opts_t *opts)
{
    assert(opts);
    tsr_agent_t *self = (tsr_agent_t *)zmalloc(sizeof(tsr_agent_t));
    self->coordinator = s_strdup_or_null(opts->coordinator);
    self->server_key_path = s_strdup_or_null(opts->server_key);
    self->key_path = s_strdup_or_null(opts->key);
    self->cpus_text = s_strdup_or_null(opts->cpus);
    self->labels_text = s_strdup_or_null(opts->labels);
    self->data_dir = s_strdup_or_null(opts->data_dir);
    self->user = s_strdup_or_null(opts->user);
    self->ready_file = s_strdup_or_null(opts->ready_file);
    if (opts->name && *opts->name)
        self->name = strdup(opts->name);
    else {
        char host[256] = "agent";
        if (gethostname(host, sizeof host) != 0)
            strcpy(host, "agent");
        host[sizeof host - 1] = 0;
        self->name = strdup(host);
    }
    self->heartbeat_ivl_ms =
        opts->heartbeat_ivl_ms ? opts->heartbeat_ivl_ms : S_DEFAULT_HEARTBEAT_IVL_MS;
    self->cache_max_bytes = opts->cache_max_bytes ? opts->cache_max_bytes : S_DEFAULT_CACHE_BYTES;
    self->drain_grace_ms = opts->drain_grace_ms ? opts->drain_grace_ms : S_DEFAULT_DRAIN_GRACE_MS;
    self->lock_fd = -1;
    self->liveness_max = S_DEFAULT_LIVENESS;
    self->heartbeat_timer = -1;
    self->reconnect_timer = -1;
    self->next_req_id = 1;
    self->labels = tsr_labels_new();
    tsr_agent_work_init(self);
    return self;
}

static void
s_disconnect(tsr_agent_t *self)
{
    if (self->dealer) {
        if (self->loop)
            zloop_reader_end(self->loop, self->dealer);
        zsock_destroy(&self->dealer);
    }
    self->link = TSR_LINK_DOWN;
    if (self->fetcher)
        tsr_fetcher_pause(self->fetcher);
}

void
tsr_agent_destroy(tsr_agent_t **self_p)
{
    assert(self_p);
    tsr_agent_t *self = *self_p;
    if (!self)
        return;
    tsr_agent_work_destroy(self);
    s_disconnect(self);
    zloop_destroy(&self->loop);
    tsr_executor_destroy(&self->executor);
    tsr_fetcher_destroy(&self->fetcher);
    tsr_slots_destroy(&self->slots);
    tsr_cas_destroy(&self->cas);
    tsr_stamps_destroy(&self->stamps);
    zhashx_destroy(&self->labels);
    zcert_destroy(&self->cert);
    if (self->lock_fd >= 0)
        close(self->lock_fd);
    free(self->server_public);
    free(self->run_home);
    free(self->work_dir);
    free(self->tmp_dir);
    free(self->coordinator);
    free(self->server_key_path);
    free(self->key_path);
    free(self->cpus_text);
    free(self->labels_text);
    free(self->data_dir);
    free(self->name);
    free(self->user);
    free(self->ready_file);
    free(self);
    *self_p = NULL;
}

//  ---------------------------------------------------------------- start-up

//  Take DATA/agent.lock: one agent per data dir (it wipes DATA/work).
static int
s_lock_data_dir(tsr_agent_t *self)
{
    char *path = zsys_sprintf("%s/agent.lock", self->data_dir);
    int rc = TSR_OK;
    self->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (self->lock_fd < 0) {
        rc = -errno;
        tsr_log_error("cannot open %s: %s", path, strerror(errno));
    } else if (flock(self->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = TSR_ECONFIG;
        tsr_log_error("data dir %s is in use by another agent", self->data_dir);
    }
    free(path);
    return rc;
}

static int
s_prepare_dirs(tsr_agent_t *self)
{
    int rc = tsr_workdir_create(self->data_dir, 0755);
    if (rc != TSR_OK) {
        tsr_log_error("cannot create data dir %s: %s", self->data_dir, tsr_strerror(rc));
        return rc;
    }
    rc = s_lock_data_dir(self);
    if (rc != TSR_OK)
        return rc;
    self->work_dir = zsys_sprintf("%s/work", self->data_dir);
    self->tmp_dir = zsys_sprintf("%s/tmp", self->data_dir);
    //  Whatever is left there belongs to attempts of an agent that died
    if ((rc = tsr_workdir_remove(self->work_dir)) != TSR_OK ||
        (rc = tsr_workdir_remove(self->tmp_dir)) != TSR_OK ||
        (rc = tsr_workdir_create(self->work_dir, 0755)) != TSR_OK ||
        (rc = tsr_workdir_create(self->tmp_dir, 0700)) != TSR_OK) {
        tsr_log_error("cannot prepare %s/work and tmp: %s", self->data_dir, tsr_strerror(rc));
        return rc;
    }
    return TSR_OK;
}

static int
s_load_keys(tsr_agent_t *self)
{
    int rc = tsr_keys_load_secret(self->key_path, &self->cert);
    if (rc != TSR_OK) {
        tsr_log_error("cannot load our key %s: %s", self->key_path, tsr_strerror(rc));
        return rc == TSR_EPERM ? rc : TSR_EKEY;
    }
    zcert_t *server = NULL;
    rc = tsr_keys_load_public(self->server_key_path, &server);
    if (rc != TSR_OK) {
        tsr_log_error("cannot load the coordinator's key %s: %s", self->server_key_path,
                      tsr_strerror(rc));
        return TSR_EKEY;
    }
    self->server_public = strdup(zcert_public_txt(server));
    zcert_destroy(&server);
    return TSR_OK;
}

static int
s_resolve_user(tsr_agent_t *self)
{
    if (!self->user || !*self->user)
        return TSR_OK;
    struct passwd *entry = getpwnam(self->user);
    if (!entry) {
        tsr_log_error("--user %s: no such user", self->user);
        return TSR_EINVAL;
    }
    if (entry->pw_uid == geteuid())
        return TSR_OK; //  that is us already
    if (geteuid() != 0) {
        tsr_log_error("--user %s needs the agent to run as root", self->user);
        return TSR_EINVAL;
    }
    self->run_as_other = true;
    self->run_uid = entry->pw_uid;
    self->run_gid = entry->pw_gid;
    self->run_home = strdup(entry->pw_dir ? entry->pw_dir : "/");
    return TSR_OK;
}

static int
s_pick_cpus(tsr_agent_t *self)
{
    tsr_cpuset_t allowed;
    int rc = tsr_cpuset_self(&allowed);
    if (rc != TSR_OK) {
        tsr_log_error("cannot read our CPU affinity: %s", tsr_strerror(rc));
        return rc;
    }
    if (!self->cpus_text || !*self->cpus_text)
        self->cpus = allowed;
    else if (tsr_cpuset_parse(self->cpus_text, &self->cpus) != TSR_OK) {
        tsr_log_error("--cpus '%s' is not a CPU list like 0-3,8", self->cpus_text);
        return TSR_EINVAL;
    }
    size_t count = tsr_cpuset_count(&self->cpus);
    if (count == 0) {
        tsr_log_error("--cpus '%s' names no CPU", self->cpus_text);
        return TSR_EINVAL;
    }
    unsigned *list = (unsigned *)zmalloc(count * sizeof(unsigned));
    for (size_t index = 0; index < count; index++) {
        list[index] = (unsigned)tsr_cpuset_nth(&self->cpus, index);
        if (!tsr_cpuset_has(&allowed, list[index])) {
            tsr_log_error("--cpus: CPU %u is not available to this process", list[index]);
            free(list);
            return TSR_EINVAL;
        }
    }
    self->slots = tsr_slots_new(list, count);
    free(list);
    return TSR_OK;
}

static int
s_collect_labels(tsr_agent_t *self)
{
    zhashx_t *given = tsr_labels_new();
    char error[256];
    int rc = tsr_labels_parse(self->labels_text, given, error, sizeof error);
    if (rc != TSR_OK) {
        tsr_log_error("--labels: %s", error);
        goto out;
    }
    rc = tsr_labels_add_platform(self->labels);
    if (rc != TSR_OK)
        tsr_log_warn("cannot read os and arch: %s", tsr_strerror(rc));
    char *cache_path = zsys_sprintf("%s/labels.json", self->data_dir);
    rc = tsr_detect_tools(self->labels, cache_path, self->tmp_dir, 0);
    free(cache_path);
    for (const char *value = (const char *)zhashx_first(given); value;
         value = (const char *)zhashx_next(given))
        zhashx_update(self->labels, zhashx_cursor(given), (void *)value);
out:
    zhashx_destroy(&given);
    return rc;
}

static int
s_open_cache(tsr_agent_t *self)
{
    char *path = zsys_sprintf("%s/cache", self->data_dir);
    self->cas = tsr_cas_new();
    //  The map holds the budget plus LMDB's own pages and room to evict into
    size_t map_bytes = (size_t)(self->cache_max_bytes + self->cache_max_bytes / 4 + (64u << 20));
    int rc = tsr_cas_open(self->cas, path, map_bytes);
    if (rc != TSR_OK)
        tsr_log_error("cannot open the cache %s: %s", path, tsr_strerror(rc));
    else
        tsr_cas_set_limit(self->cas, self->cache_max_bytes);
    free(path);
    return rc == TSR_OK ? TSR_OK : TSR_ESTORE;
}

static int s_connect(tsr_agent_t *self);

int
tsr_agent_start(tsr_agent_t *self)
{
    assert(self);
    assert(!self->started);
    if (!self->coordinator || !self->server_key_path || !self->key_path || !self->data_dir) {
        tsr_log_error("the agent needs a coordinator, a server key, a key and a data dir");
        return TSR_EINVAL;
    }
    if (sodium_init() < 0)
        return TSR_ECONFIG;
    int rc;
    if ((rc = s_resolve_user(self)) != TSR_OK || (rc = s_pick_cpus(self)) != TSR_OK ||
        (rc = s_load_keys(self)) != TSR_OK || (rc = s_prepare_dirs(self)) != TSR_OK ||
        (rc = s_collect_labels(self)) != TSR_OK || (rc = s_open_cache(self)) != TSR_OK)
        return rc;
    self->fetcher = tsr_fetcher_new(self->cas, self->tmp_dir, self->cache_max_bytes / 2,
                                    tsr_agent_work_fetch_send, tsr_agent_work_fetch_done, self);
    self->executor = tsr_executor_new();
    self->stamps = tsr_stamps_new(0);
    self->loop = zloop_new();
    rc = s_connect(self);
    if (rc != TSR_OK)
        return rc;
    self->started = true;
    return TSR_OK;
}

//  ---------------------------------------------------------------- the link

int
tsr_agent_send(tsr_agent_t *self, Tessera__Envelope *env)
{
    assert(self && env);
    if (!self->dealer)
        return TSR_EUNREACHABLE;
    if (env->req_id == 0)
        env->req_id = self->next_req_id++;
    int rc = tsr_msg_send(env, self->dealer, NULL);
    if (rc != TSR_OK)
        tsr_log_debug("cannot send %s: %s", tsr_msg_name(env->body_case), tsr_strerror(rc));
    return rc;
}

static void
s_send_hello(tsr_agent_t *self)
{
    size_t slot_count = tsr_slots_count(self->slots);
    uint32_t *cpus = (uint32_t *)zmalloc(slot_count * sizeof(uint32_t));
    for (size_t index = 0; index < slot_count; index++)
        cpus[index] = tsr_slots_cpu(self->slots, index);
    zlistx_t *keys = zhashx_keys(self->labels);
    tsr_list_sort_strings(keys);
    size_t label_count = zlistx_size(keys);
    Tessera__Label *labels = (Tessera__Label *)zmalloc((label_count + 1) * sizeof(Tessera__Label));
    Tessera__Label **label_ptrs =
        (Tessera__Label **)zmalloc((label_count + 1) * sizeof(Tessera__Label *));
    size_t label_index = 0;
    for (char *key = (char *)zlistx_first(keys); key; key = (char *)zlistx_next(keys)) {
        tessera__label__init(&labels[label_index]);
        labels[label_index].key = key;
        labels[label_index].value = (char *)zhashx_lookup(self->labels, key);
        label_ptrs[label_index] = &labels[label_index];
        label_index++;
    }
    uint64_t *in_flight = NULL;
    size_t in_flight_count = tsr_agent_work_ids(self, &in_flight);

    Tessera__Hello hello = TESSERA__HELLO__INIT;
    hello.name = self->name;
    hello.version = (char *)TSR_VERSION;
    hello.n_cpus = slot_count;
    hello.cpus = cpus;
    hello.n_labels = label_count;
    hello.labels = label_ptrs;
    hello.n_in_flight = in_flight_count;
    hello.in_flight = in_flight;
    Tessera__Envelope env = TESSERA__ENVELOPE__INIT;
    env.body_case = TESSERA__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    if (tsr_agent_send(self, &env) == TSR_OK)
        tsr_log_debug("hello sent name=%s slots=%zu in_flight=%zu", self->name, slot_count,
                      in_flight_count);
    self->link = TSR_LINK_HELLO;
    self->hello_sent_ms = zclock_mono();
    self->liveness = self->liveness_max;
    tsr_fetcher_pause(self->fetcher); //  until the Welcome

    free(in_flight);
    free(label_ptrs);
    free(labels);
    zlistx_destroy(&keys);
    free(cpus);
}

void
tsr_agent_heartbeat_now(tsr_agent_t *self)
{
    assert(self);
    if (self->link != TSR_LINK_READY)
        return;
    uint64_t *running = NULL;
    size_t running_count = tsr_agent_work_ids(self, &running);
    Tessera__Heartbeat heartbeat = TESSERA__HEARTBEAT__INIT;
    heartbeat.free_slots = (uint32_t)tsr_slots_free(self->slots);
    heartbeat.n_running = running_count;
    heartbeat.running = running;
    heartbeat.draining = self->draining || self->stopping;
    Tessera__Envelope env = TESSERA__ENVELOPE__INIT;
    env.body_case = TESSERA__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &heartbeat;
    if (tsr_agent_send(self, &env) != TSR_OK)
        tsr_log_debug("heartbeat not sent");
    free(running);
}

static int s_on_dealer(zloop_t *loop, zsock_t *reader, void *arg);

//  Create the DEALER, connect it and say Hello.
static int
s_connect(tsr_agent_t *self)
{
    assert(!self->dealer);
    self->last_tick_ms = zclock_mono(); //  a fresh link: freeze detection starts now
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    assert(dealer);
    zcert_apply(self->cert, dealer);
    zsock_set_curve_serverkey(dealer, self->server_public);
    //  ZMTP heartbeats close a dead TCP connection (zmq then reconnects)
    zsock_set_heartbeat_ivl(dealer, (int)self->heartbeat_ivl_ms);
    zsock_set_heartbeat_timeout(dealer, (int)(self->heartbeat_ivl_ms * self->liveness_max));
    zsock_set_sndtimeo(dealer, 0); //  a full queue fails the send, never blocks the loop
    zsock_set_linger(dealer, 0);
    if (zsock_connect(dealer, "%s", self->coordinator) != 0) {
        tsr_log_error("cannot connect to %s: %s", self->coordinator, zmq_strerror(zmq_errno()));
        zsock_destroy(&dealer);
        return TSR_EINVAL;
    }
    self->dealer = dealer;
    zloop_reader(self->loop, dealer, s_on_dealer, self);
    zloop_reader_set_tolerant(self->loop, dealer);
    s_send_hello(self);
    return TSR_OK;
}

static int
s_on_reconnect(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    tsr_agent_t *self = (tsr_agent_t *)arg;
    self->reconnect_timer = -1;
    tsr_log_info("reconnecting to %s", self->coordinator);
    if (s_connect(self) != TSR_OK)
        return -1; //  the endpoint worked before; something is badly wrong
    return 0;
}

//  The coordinator went silent: drop the DEALER, reconnect after a back-off.
static void
s_lose_link(tsr_agent_t *self)
{
    self->failures++;
    uint64_t delay_ms = tsr_backoff_delay_ms(self->failures, randombytes_random());
    tsr_log_warn("coordinator %s silent for %u heartbeats; reconnecting in %" PRIu64 " ms",
                 self->coordinator, self->liveness_max, delay_ms);
    s_disconnect(self);
    self->reconnect_timer = zloop_timer(self->loop, (size_t)delay_ms, 1, s_on_reconnect, self);
}

//  Were we frozen (SIGSTOP, a stalled VM) for longer than the coordinator waits?
//  Then it has dropped us, and whatever sits in our socket's queues is stale:
//  heartbeats it sent before, Results we would send now into a dead lease.
static bool
s_was_frozen(tsr_agent_t *self)
{
    return self->link != TSR_LINK_DOWN && self->last_tick_ms &&
           zclock_mono() - self->last_tick_ms >
               (int64_t)self->heartbeat_ivl_ms * (int64_t)self->liveness_max;
}

static void
s_lose_link_if_frozen(tsr_agent_t *self)
{
    if (!s_was_frozen(self))
        return;
    tsr_log_warn("agent was frozen for %" PRId64 " ms; re-registering",
                 zclock_mono() - self->last_tick_ms);
    s_lose_link(self);
}

static int
s_on_heartbeat_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    tsr_agent_t *self = (tsr_agent_t *)arg;
    if (self->link == TSR_LINK_DOWN)
        return 0;
    if (s_was_frozen(self)) {
        s_lose_link_if_frozen(self);
        return 0;
    }
    self->last_tick_ms = zclock_mono();
    if (self->liveness > 0)
        self->liveness--;
    if (self->liveness == 0)
        s_lose_link(self);
    else
        tsr_agent_heartbeat_now(self);
    return 0;
}

static void
s_arm_heartbeat(tsr_agent_t *self)
{
    if (self->heartbeat_timer >= 0)
        zloop_timer_end(self->loop, self->heartbeat_timer);
    self->heartbeat_timer =
        zloop_timer(self->loop, self->heartbeat_ivl_ms, 0, s_on_heartbeat_timer, self);
}

//  Written once, atomically, when we are first welcomed: `name=NAME`.
static void
s_write_ready_file(tsr_agent_t *self)
{
    if (!self->ready_file)
        return;
    char *tmp_path = zsys_sprintf("%s.tmp", self->ready_file);
    FILE *file = fopen(tmp_path, "w");
    bool written = file && fprintf(file, "name=%s\n", self->name) > 0;
    if (file && fclose(file) != 0)
        written = false;
    if (!written || rename(tmp_path, self->ready_file) != 0) {
        tsr_log_error("cannot write the ready file %s: %s", self->ready_file, strerror(errno));
        unlink(tmp_path);
    }
    free(tmp_path);
}

static int
s_on_welcome(void *server, void *peer, const Tessera__Envelope *env)
{
    (void)peer;
    tsr_agent_t *self = (tsr_agent_t *)server;
    const Tessera__Welcome *welcome = env->welcome;
    uint32_t ivl_ms =
        welcome->heartbeat_ivl_ms ? welcome->heartbeat_ivl_ms : self->heartbeat_ivl_ms;
    self->liveness_max = welcome->liveness ? welcome->liveness : S_DEFAULT_LIVENESS;
    self->liveness = self->liveness_max;
    self->link = TSR_LINK_READY;
    self->failures = 0;
    if (ivl_ms != self->heartbeat_ivl_ms || self->heartbeat_timer < 0) {
        self->heartbeat_ivl_ms = ivl_ms;
        s_arm_heartbeat(self);
    }
    if (welcome->n_cancel > 0)
        tsr_agent_work_cancel(self, welcome->cancel, welcome->n_cancel);
    tsr_agent_work_flush_results(self);
    tsr_fetcher_resume(self->fetcher);
    if (!self->welcomed_once) {
        self->welcomed_once = true;
        char cpus[512];
        if (tsr_cpuset_format(&self->cpus, cpus, sizeof cpus) != TSR_OK)
            strcpy(cpus, "...");
        char *labels = tsr_labels_format(self->labels);
        tsr_log_info("agent ready name=%s slots=%zu cpus=%s id=%s labels=%s", self->name,
                     tsr_slots_count(self->slots), cpus, welcome->agent_id ? welcome->agent_id : "",
                     labels);
        free(labels);
        s_write_ready_file(self);
    } else
        tsr_log_info("agent registered again name=%s id=%s in_flight=%zu", self->name,
                     welcome->agent_id ? welcome->agent_id : "", tsr_agent_work_count(self));
    tsr_agent_heartbeat_now(self);
    return TSR_OK;
}

static int
s_on_heartbeat(void *server, void *peer, const Tessera__Envelope *env)
{
    (void)server;
    (void)peer;
    (void)env;
    return TSR_OK; //  liveness was reset on arrival
}

static int
s_on_drain(void *server, void *peer, const Tessera__Envelope *env)
{
    (void)peer;
    tsr_agent_t *self = (tsr_agent_t *)server;
    if (self->draining != env->drain->drain)
        tsr_log_info("agent %s name=%s", env->drain->drain ? "draining" : "undrained", self->name);
    self->draining = env->drain->drain;
    tsr_agent_heartbeat_now(self);
    return TSR_OK;
}

static int
s_on_error(void *server, void *peer, const Tessera__Envelope *env)
{
    (void)peer;
    tsr_agent_t *self = (tsr_agent_t *)server;
    int code = env->error->code;
    const char *text = env->error->text ? env->error->text : "";
    if (code == TSR_ESTATE) {
        //  The coordinator does not know us (it restarted, or expired us)
        int64_t now_ms = zclock_mono();
        if (self->link == TSR_LINK_HELLO &&
            now_ms - self->hello_sent_ms < (int64_t)self->heartbeat_ivl_ms)
            return TSR_OK; //  answers to what we sent before our Hello
        tsr_log_info("coordinator does not know us (%s); saying hello again", text);
        s_send_hello(self);
        return TSR_OK;
    }
    if (tsr_fetcher_on_error(self->fetcher, env->req_id, code))
        return TSR_OK;
    tsr_log_warn("coordinator error req=%" PRIu64 ": %s (%s)", env->req_id, tsr_strerror(code),
                 text);
    return TSR_OK;
}

//  What the coordinator may send us, and when (STYLE 9).
static const tsr_dispatch_row_t s_coordinator_rows[] = {
    {TESSERA__ENVELOPE__BODY_WELCOME, TSR_PEER_ANY, s_on_welcome},
    {TESSERA__ENVELOPE__BODY_HEARTBEAT, TSR_PEER_ANY, s_on_heartbeat},
    {TESSERA__ENVELOPE__BODY_ASSIGN, TSR_PEER_ANY, tsr_agent_on_assign},
    {TESSERA__ENVELOPE__BODY_CANCEL, TSR_PEER_ANY, tsr_agent_on_cancel},
    {TESSERA__ENVELOPE__BODY_DRAIN, TSR_PEER_READY | TSR_PEER_DRAINING, s_on_drain},
    {TESSERA__ENVELOPE__BODY_BLOB_CHUNK, TSR_PEER_ANY, tsr_agent_on_blob_chunk},
    {TESSERA__ENVELOPE__BODY_STEAL, TSR_PEER_ANY, tsr_agent_on_steal},
    {TESSERA__ENVELOPE__BODY_ERROR, TSR_PEER_ANY, s_on_error},
};

static int
s_on_dealer(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    tsr_agent_t *self = (tsr_agent_t *)arg;
    s_lose_link_if_frozen(self);
    if (self->link == TSR_LINK_DOWN)
        return 0; //  the socket is gone, and with it what it held
    Tessera__Envelope *env = NULL;
    int rc = tsr_msg_recv(reader, NULL, NULL, &env);
    self->liveness = self->liveness_max; //  any message proves the coordinator lives
    self->last_heard_ms = zclock_mono();
    if (rc != TSR_OK) {
        tsr_log_warn("bad message from the coordinator: %s", tsr_strerror(rc));
        return 0;
    }
    tsr_log_debug("received %s req=%" PRIu64, tsr_msg_name(env->body_case), env->req_id);
    unsigned state = self->link == TSR_LINK_READY
                         ? (self->draining || self->stopping ? TSR_PEER_DRAINING : TSR_PEER_READY)
                         : TSR_PEER_NEW;
    rc = tsr_dispatch(s_coordinator_rows, TSR_DISPATCH_ROWS(s_coordinator_rows), state, self, NULL,
                      env);
    if (rc != TSR_OK)
        tsr_log_warn("coordinator sent %s we cannot take: %s", tsr_msg_name(env->body_case),
                     tsr_strerror(rc));
    tsr_msg_destroy(&env);
    if (self->link == TSR_LINK_READY)
        tsr_agent_work_flush_results(self); //  Results kept while the link looked stale
    return 0;
}

bool
tsr_agent_link_is_fresh(tsr_agent_t *self)
{
    assert(self);
    return self->link == TSR_LINK_READY && !s_was_frozen(self) &&
           zclock_mono() - self->last_heard_ms <= 2 * (int64_t)self->heartbeat_ivl_ms;
}

//  ---------------------------------------------------------------- run and stop

static int
s_on_pipe(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    tsr_agent_t *self = (tsr_agent_t *)arg;
    char *command = zstr_recv(reader);
    bool terminate = !command || streq(command, "$TERM");
    if (!terminate)
        tsr_log_warn("agent %s: unknown pipe command '%s'", self->name, command);
    zstr_free(&command);
    return terminate && !self->stopping ? -1 : 0;
}

static int
s_on_stop_check(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    tsr_agent_t *self = (tsr_agent_t *)arg;
    if (tsr_agent_work_count(self) == 0)
        return -1;
    if (zclock_mono() >= self->stop_deadline_ms)
        return -1;
    return 0;
}

//  Say Bye with what we hand back, and give it a moment to leave.
static void
s_say_bye(tsr_agent_t *self)
{
    uint64_t *handed_back = NULL;
    size_t count = tsr_agent_work_hand_back(self, &handed_back);
    if (count > 0)
        tsr_log_warn("agent %s: grace period over, handing back %zu attempts", self->name, count);
    Tessera__Bye bye = TESSERA__BYE__INIT;
    bye.n_handed_back = count;
    bye.handed_back = handed_back;
    Tessera__Envelope env = TESSERA__ENVELOPE__INIT;
    env.body_case = TESSERA__ENVELOPE__BODY_BYE;
    env.bye = &bye;
    if (self->dealer && tsr_agent_send(self, &env) == TSR_OK)
        zsock_set_linger(self->dealer, S_BYE_LINGER_MS);
    free(handed_back);
}

int
tsr_agent_run(tsr_agent_t *self, zsock_t *pipe)
{
    assert(self && self->started);
    if (self->heartbeat_timer < 0)
        s_arm_heartbeat(self);
    if (pipe)
        zloop_reader(self->loop, pipe, s_on_pipe, self);
    //  Serve until SIGTERM/SIGINT (zsys_interrupted) or "$TERM"
    int rc = zloop_start(self->loop);
    (void)rc;

    //  Drain: no new work, running work may finish within the grace period
    self->stopping = true;
    self->stop_deadline_ms = zclock_mono() + (int64_t)self->drain_grace_ms;
    tsr_log_info("agent stopping name=%s running=%zu grace_ms=%u", self->name,
                 tsr_agent_work_count(self), self->drain_grace_ms);
    tsr_agent_heartbeat_now(self);
    if (tsr_agent_work_count(self) > 0) {
        zloop_set_nonstop(self->loop, true); //  a second signal must not cut the drain short
        int stop_timer = zloop_timer(self->loop, S_STOP_CHECK_MS, 0, s_on_stop_check, self);
        rc = zloop_start(self->loop);
        zloop_timer_end(self->loop, stop_timer);
    }
    s_say_bye(self);
    if (pipe)
        zloop_reader_end(self->loop, pipe);
    tsr_log_info("agent stopped name=%s", self->name);
    return TSR_OK;
}

bool
tsr_agent_is_draining(tsr_agent_t *self)
{
    assert(self);
    return self->draining || self->stopping;
}

size_t
tsr_agent_slots(tsr_agent_t *self)
{
    assert(self);
    return self->slots ? tsr_slots_count(self->slots) : 0;
}

void
tsr_agent_actor(zsock_t *pipe, void *args)
{
    const tsr_agent_opts_t *opts = (const tsr_agent_opts_t *)args;
    tsr_agent_t *self = tsr_agent_new(opts);
    int rc = tsr_agent_start(self);
    //  A signal byte cannot carry a negative code, and zactor_new swallows
    //  it: a failure is also sent as ["FAILED", rc]
    zsock_signal(pipe, (byte)(rc == TSR_OK ? 0 : 1));
    if (rc == TSR_OK)
        rc = tsr_agent_run(self, pipe);
    else {
        zsock_send(pipe, "si", "FAILED", rc);
        //  zactor_destroy still sends "$TERM": wait for it
        char *command = zstr_recv(pipe);
        zstr_free(&command);
    }
    tsr_agent_destroy(&self);
}
