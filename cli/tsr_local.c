/*  tsr_local - an in-process coordinator and agents for `tessera run`     */
#define _GNU_SOURCE //  cpu_set_t (tsr_cpuset.h), nftw
#include "tsr_local.h"
#include "tsr_agent.h"
#include "tsr_config.h"
#include "tsr_coordinator.h"
#include "tsr_cpuset.h"
#include "tsr_keys.h"
#include "tsr_local_plan.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <pwd.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

//  Embedded agents stop when `tessera run` ends (nothing runs then) or is
//  interrupted: running shards get this long before they are killed.
#define S_DRAIN_GRACE_MS 500

//  A core (coordinator or agent) on its own thread, driven like a zactor
//  (same body signature: signal, serve, stop on "$TERM") but joined when
//  stopped. A zactor's thread closes its end of the pipe only after
//  zactor_destroy returned, and czmq's atexit handler sleeps 200 ms whenever
//  a socket is still open: joining keeps `tessera run -- true` instant.
typedef struct {
    pthread_t thread; //  valid while started
    zsock_t *pipe;    //  owned; our end of the pipe
    zsock_t *child;   //  the thread's end; the thread destroys it
    zactor_fn *body;  //  borrowed
    void *args;       //  borrowed; outlives the thread
    bool started;     //  thread running or not yet joined
} s_thread_t;

static void *
s_thread_main(void *arg)
{
    s_thread_t *self = arg;
    self->body(self->child, self->args);
    zsock_destroy(&self->child);
    return NULL;
}

//  Start `body` and wait for its first signal. Returns TSR_OK or -errno.
static int
s_thread_start(s_thread_t *self, zactor_fn *body, void *args)
{
    self->body = body;
    self->args = args;
    self->pipe = zsys_create_pipe(&self->child);
    int rc = pthread_create(&self->thread, NULL, s_thread_main, self);
    if (rc != 0) {
        zsock_destroy(&self->child);
        zsock_destroy(&self->pipe);
        return -rc;
    }
    self->started = true;
    zsock_wait(self->pipe);
    return TSR_OK;
}

//  Send "$TERM" and join. No-op if not started.
static void
s_thread_stop(s_thread_t *self)
{
    if (!self->started)
        return;
    zsock_set_sndtimeo(self->pipe, 0); //  the thread may have ended already
    zstr_send(self->pipe, "$TERM");
    pthread_join(self->thread, NULL);
    zsock_destroy(&self->pipe);
    self->started = false;
}

//  One embedded agent.
typedef struct {
    tsr_agent_opts_t opts; //  strings borrowed from the fields below
    char *key_path;        //  owned; CACHE/keys/agent-<i>
    char *data_dir;        //  owned; INSTANCE/agent-<i>
    char *name;            //  owned; "local-<i>"
    char *cpus;            //  owned; cpulist of its slots
    s_thread_t thread;     //  runs s_agent_actor
    int start_rc;          //  TSR_OK, or why tsr_agent_start failed (once reported)
    bool failed;           //  the actor reported a failed start
} s_agent_t;

struct _tsr_local_t {
    char *cache_dir;      //  owned; CACHE
    char *instance_dir;   //  owned; CACHE, or CACHE/tmp/run-XXXXXX when busy
    bool throwaway;       //  instance_dir is removed at destroy
    int lock_fd;          //  owned; flock on local.lock or a throwaway instance.lock; -1 if none
    unsigned agent_count; //  agents requested
    uint32_t heartbeat_ivl_ms;
    tsr_config_t config;    //  coordinator configuration (owned strings)
    s_thread_t coordinator; //  runs s_coordinator_actor
    int coordinator_rc;     //  start result, written by the actor before it signals
    char *agents_endpoint;  //  owned; written by the coordinator actor before it signals
    char *clients_endpoint; //  owned; idem
    char *public_key;       //  owned; idem, Z85
    char *server_key_path;  //  owned; INSTANCE/local/keys/coordinator.pub
    zcert_t *client_cert;   //  owned
    s_agent_t *agents;      //  owned array of agent_count
};

tsr_local_t *
tsr_local_new(const tsr_local_opts_t *opts)
{
    assert(opts);
    assert(opts->agents >= 1);
    tsr_local_t *self = zmalloc(sizeof *self);
    if (opts->cache_dir)
        self->cache_dir = strdup(opts->cache_dir);
    else {
        const char *home = getenv("HOME");
        if (!home || !home[0]) {
            struct passwd *entry = getpwuid(getuid());
            home = entry ? entry->pw_dir : NULL;
        }
        self->cache_dir = tsr_local_plan_cache_dir(getenv("XDG_CACHE_HOME"), home);
    }
    self->lock_fd = -1;
    self->agent_count = opts->agents;
    self->heartbeat_ivl_ms = opts->heartbeat_ivl_ms ? opts->heartbeat_ivl_ms : 1000;
    tsr_config_init(&self->config);
    self->agents = zmalloc(opts->agents * sizeof *self->agents);
    return self;
}

static int
s_remove_entry(const char *path, const struct stat *info, int flag, struct FTW *walk)
{
    (void)info;
    (void)flag;
    (void)walk;
    if (remove(path) != 0)
        tsr_log_warn("cannot remove %s: %s", path, strerror(errno));
    return 0;
}

void
tsr_local_destroy(tsr_local_t **self_p)
{
    assert(self_p);
    tsr_local_t *self = *self_p;
    if (!self)
        return;
    //  agents first: they say Bye to a coordinator that is still there
    for (unsigned index = 0; index < self->agent_count; index++) {
        s_agent_t *agent = &self->agents[index];
        s_thread_stop(&agent->thread);
        free(agent->key_path);
        free(agent->data_dir);
        free(agent->name);
        free(agent->cpus);
    }
    free(self->agents);
    s_thread_stop(&self->coordinator);
    zcert_destroy(&self->client_cert);
    if (self->throwaway && self->instance_dir)
        nftw(self->instance_dir, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (self->lock_fd >= 0)
        close(self->lock_fd); //  releases the flock (after the removal: no sweeper races it)
    tsr_config_clear(&self->config);
    free(self->agents_endpoint);
    free(self->clients_endpoint);
    free(self->public_key);
    free(self->server_key_path);
    free(self->instance_dir);
    free(self->cache_dir);
    free(self);
    *self_p = NULL;
}

//  mkdir -p; returns TSR_OK or -errno.
static int
s_mkdirs(const char *path)
{
    if (zsys_dir_create("%s", path) != 0)
        return errno ? -errno : -EIO;
    return TSR_OK;
}

//  Read a small file whole. NULL if unreadable. Caller frees.
static char *
s_slurp(const char *path, size_t *size_out)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return NULL;
    char *content = zmalloc(8192);
    size_t size = fread(content, 1, 8191, file);
    fclose(file);
    *size_out = size;
    return content;
}

//  Copy the small file `from` to `to` unless `to` already has the same bytes.
static int
s_copy_if_changed(const char *from, const char *to)
{
    size_t from_size = 0, to_size = 0;
    char *source = s_slurp(from, &from_size);
    if (!source)
        return -errno;
    char *existing = s_slurp(to, &to_size);
    int rc = TSR_OK;
    if (!existing || to_size != from_size || memcmp(existing, source, from_size) != 0) {
        char *tmp_path = zsys_sprintf("%s.tmp.%d", to, (int)getpid());
        FILE *file = fopen(tmp_path, "wb");
        if (!file)
            rc = -errno;
        else {
            bool written = fwrite(source, 1, from_size, file) == from_size;
            if (fclose(file) != 0 || !written)
                rc = -EIO;
            else if (rename(tmp_path, to) != 0)
                rc = -errno;
        }
        if (rc != TSR_OK)
            unlink(tmp_path);
        free(tmp_path);
    }
    free(source);
    free(existing);
    return rc;
}

//  Remove the throwaway instances under `tmp_parent` whose `tessera run` is
//  gone (killed): nobody holds their instance.lock.
static void
s_sweep_throwaways(const char *tmp_parent)
{
    DIR *dir = opendir(tmp_parent);
    if (!dir)
        return;
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        if (strncmp(entry->d_name, "run-", 4) != 0)
            continue;
        char *instance = zsys_sprintf("%s/%s", tmp_parent, entry->d_name);
        char *lock_path = zsys_sprintf("%s/instance.lock", instance);
        int fd = open(lock_path, O_RDWR | O_CLOEXEC);
        if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
            tsr_log_info("removing %s, left by a tessera run that was killed", instance);
            nftw(instance, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        }
        if (fd >= 0)
            close(fd);
        free(lock_path);
        free(instance);
    }
    closedir(dir);
}

//  A fresh throwaway instance under `tmp_parent`, locked: the lock file is
//  locked under a temp name and then renamed into place, so a sweeper never
//  sees it unlocked. Sets instance_dir, lock_fd, throwaway.
static int
s_make_throwaway(tsr_local_t *self, const char *tmp_parent)
{
    char *instance = zsys_sprintf("%s/run-XXXXXX", tmp_parent);
    if (!mkdtemp(instance)) {
        int rc = -errno;
        free(instance);
        return rc;
    }
    char *tmp_lock = zsys_sprintf("%s/instance.lock.tmp", instance);
    char *lock_path = zsys_sprintf("%s/instance.lock", instance);
    int rc = TSR_OK;
    int fd = open(tmp_lock, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || flock(fd, LOCK_EX) != 0 || rename(tmp_lock, lock_path) != 0)
        rc = -errno;
    if (rc == TSR_OK) {
        self->instance_dir = instance;
        self->lock_fd = fd;
        self->throwaway = true;
    } else {
        if (fd >= 0)
            close(fd);
        nftw(instance, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(instance);
    }
    free(lock_path);
    free(tmp_lock);
    return rc;
}

//  Pick the instance directory: the cache itself if we get its lock, else a
//  throwaway one (another `tessera run` is using the cache).
static int
s_claim_instance(tsr_local_t *self, char **error_out)
{
    char *lock_path = zsys_sprintf("%s/local.lock", self->cache_dir);
    char *tmp_parent = zsys_sprintf("%s/tmp", self->cache_dir);
    int rc = TSR_OK;
    int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        *error_out = zsys_sprintf("cannot open %s: %s", lock_path, strerror(errno));
        goto out;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        self->lock_fd = fd;
        self->instance_dir = strdup(self->cache_dir);
        s_sweep_throwaways(tmp_parent);
        goto out;
    }
    close(fd);
    if ((rc = s_mkdirs(tmp_parent)) == TSR_OK)
        rc = s_make_throwaway(self, tmp_parent);
    if (rc != TSR_OK)
        *error_out =
            zsys_sprintf("cannot create a directory under %s: %s", tmp_parent, tsr_strerror(rc));
    else
        tsr_log_info("local cache busy (another tessera run): using %s", self->instance_dir);
out:
    free(tmp_parent);
    free(lock_path);
    return rc;
}

//  Generate the client and agent key pairs on first use (under a lock, as two
//  first runs may race) and copy their public halves into the coordinator's
//  allow-lists.
static int
s_prepare_keys(tsr_local_t *self, char **error_out)
{
    int rc = TSR_OK;
    char *keys_dir = zsys_sprintf("%s/keys", self->cache_dir);
    char *lock_path = zsys_sprintf("%s/.lock", keys_dir);
    char *clients_allow = zsys_sprintf("%s/local/allow/clients", self->instance_dir);
    char *agents_allow = zsys_sprintf("%s/local/allow/agents", self->instance_dir);
    char *path = NULL;
    int lock_fd = -1;
    if ((rc = s_mkdirs(keys_dir)) != TSR_OK || (rc = s_mkdirs(clients_allow)) != TSR_OK ||
        (rc = s_mkdirs(agents_allow)) != TSR_OK) {
        *error_out = zsys_sprintf("cannot create %s: %s", self->instance_dir, tsr_strerror(rc));
        goto out;
    }
    chmod(keys_dir, 0700);
    lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd >= 0)
        flock(lock_fd, LOCK_EX);

    path = zsys_sprintf("%s/client", keys_dir);
    if ((rc = tsr_keys_ensure(path, &self->client_cert)) != TSR_OK) {
        *error_out = zsys_sprintf("cannot load or create key %s: %s", path, tsr_strerror(rc));
        goto out;
    }
    char *public_path = zsys_sprintf("%s.pub", path);
    char *allowed_path = zsys_sprintf("%s/client.pub", clients_allow);
    rc = s_copy_if_changed(public_path, allowed_path);
    if (rc != TSR_OK)
        *error_out =
            zsys_sprintf("cannot copy %s to %s: %s", public_path, allowed_path, tsr_strerror(rc));
    free(public_path);
    free(allowed_path);
    if (rc != TSR_OK)
        goto out;

    for (unsigned index = 0; index < self->agent_count; index++) {
        s_agent_t *agent = &self->agents[index];
        agent->key_path = zsys_sprintf("%s/agent-%u", keys_dir, index);
        zcert_t *cert = NULL;
        if ((rc = tsr_keys_ensure(agent->key_path, &cert)) != TSR_OK) {
            *error_out =
                zsys_sprintf("cannot load or create key %s: %s", agent->key_path, tsr_strerror(rc));
            goto out;
        }
        zcert_destroy(&cert);
        public_path = zsys_sprintf("%s.pub", agent->key_path);
        allowed_path = zsys_sprintf("%s/agent-%u.pub", agents_allow, index);
        rc = s_copy_if_changed(public_path, allowed_path);
        if (rc != TSR_OK)
            *error_out = zsys_sprintf("cannot copy %s to %s: %s", public_path, allowed_path,
                                      tsr_strerror(rc));
        free(public_path);
        free(allowed_path);
        if (rc != TSR_OK)
            goto out;
    }
out:
    if (lock_fd >= 0)
        close(lock_fd);
    free(path);
    free(agents_allow);
    free(clients_allow);
    free(lock_path);
    free(keys_dir);
    return rc;
}

//  After a failed start: wait for the $TERM of s_thread_stop (or an interrupt).
static void
s_wait_term(zsock_t *pipe)
{
    while (!zsys_interrupted) {
        char *command = zstr_recv(pipe);
        bool term = !command || strcmp(command, "$TERM") == 0;
        zstr_free(&command);
        if (term)
            break;
    }
}

//  The coordinator's thread: start it, publish its endpoints and key, signal,
//  serve until $TERM. Written here rather than with tsr_coordinator_actor so
//  the start error reaches the caller (a zactor's signal carries no status
//  to zactor_new's caller).
static void
s_coordinator_actor(zsock_t *pipe, void *args)
{
    tsr_local_t *self = args;
    tsr_coordinator_t *coordinator = tsr_coordinator_new(&self->config);
    int rc = tsr_coordinator_start(coordinator);
    if (rc == TSR_OK) {
        self->agents_endpoint = strdup(tsr_coordinator_agents_endpoint(coordinator));
        self->clients_endpoint = strdup(tsr_coordinator_clients_endpoint(coordinator));
        self->public_key = strdup(tsr_coordinator_public_key(coordinator));
    }
    self->coordinator_rc = rc;
    zsock_signal(pipe, 0);
    if (rc == TSR_OK)
        rc = tsr_coordinator_run(coordinator, pipe);
    else
        s_wait_term(pipe);
    tsr_coordinator_destroy(&coordinator);
}

//  An agent's thread: signal at once (so the CLI goes on hashing and
//  uploading while the agent detects its labels), then start and serve. A
//  failed start is reported on the pipe as ["FAILED", rc].
static void
s_agent_actor(zsock_t *pipe, void *args)
{
    s_agent_t *slot = args;
    zsock_signal(pipe, 0);
    tsr_agent_t *agent = tsr_agent_new(&slot->opts);
    int rc = tsr_agent_start(agent);
    if (rc == TSR_OK)
        rc = tsr_agent_run(agent, pipe);
    else {
        zsock_send(pipe, "si", "FAILED", rc);
        s_wait_term(pipe);
    }
    tsr_agent_destroy(&agent);
}

//  Fill each agent's options: data dir, CPUs, name.
static int
s_plan_agents(tsr_local_t *self, char **error_out)
{
    tsr_cpuset_t allowed;
    int rc = tsr_cpuset_self(&allowed);
    if (rc != TSR_OK || tsr_cpuset_count(&allowed) == 0) {
        *error_out =
            zsys_sprintf("cannot read the CPUs this process may use: %s", tsr_strerror(rc));
        return rc != TSR_OK ? rc : TSR_ENOAGENT;
    }
    for (unsigned index = 0; index < self->agent_count; index++) {
        s_agent_t *agent = &self->agents[index];
        tsr_cpuset_t cpus;
        tsr_local_plan_cpus(&allowed, self->agent_count, index, &cpus);
        char cpulist[1024];
        if (tsr_cpuset_format(&cpus, cpulist, sizeof cpulist) != TSR_OK) {
            *error_out = strdup("CPU list too long");
            return TSR_ETOOBIG;
        }
        agent->cpus = strdup(cpulist);
        agent->data_dir = zsys_sprintf("%s/agent-%u", self->instance_dir, index);
        agent->name = zsys_sprintf("local-%u", index);
        if ((rc = s_mkdirs(agent->data_dir)) != TSR_OK) {
            *error_out = zsys_sprintf("cannot create %s: %s", agent->data_dir, tsr_strerror(rc));
            return rc;
        }
        agent->opts = (tsr_agent_opts_t){
            .coordinator = self->agents_endpoint,
            .server_key = self->server_key_path,
            .key = agent->key_path,
            .cpus = agent->cpus,
            .labels = NULL,
            .data_dir = agent->data_dir,
            .name = agent->name,
            .user = NULL,
            .heartbeat_ivl_ms = self->heartbeat_ivl_ms,
            .cache_max_bytes = 0,
            .ready_file = NULL,
            .drain_grace_ms = S_DRAIN_GRACE_MS,
        };
    }
    return TSR_OK;
}

int
tsr_local_start(tsr_local_t *self, char **error_out)
{
    assert(self);
    assert(error_out);
    *error_out = NULL;
    int rc = TSR_OK;
    if (!self->cache_dir) {
        *error_out = strdup("no cache directory: set HOME or XDG_CACHE_HOME");
        return TSR_ECONFIG;
    }
    if ((rc = s_mkdirs(self->cache_dir)) != TSR_OK) {
        *error_out = zsys_sprintf("cannot create %s: %s", self->cache_dir, tsr_strerror(rc));
        return rc;
    }
    if ((rc = s_claim_instance(self, error_out)) != TSR_OK)
        return rc;
    if ((rc = s_prepare_keys(self, error_out)) != TSR_OK)
        return rc;

    self->config.data_dir = zsys_sprintf("%s/local", self->instance_dir);
    self->config.agents_endpoint = strdup("tcp://127.0.0.1:*");
    self->config.clients_endpoint = strdup("tcp://127.0.0.1:*");
    self->config.heartbeat_ivl_ms = self->heartbeat_ivl_ms;
    self->server_key_path = zsys_sprintf("%s/keys/coordinator.pub", self->config.data_dir);
    self->coordinator_rc = TSR_ESTATE;
    if ((rc = s_thread_start(&self->coordinator, s_coordinator_actor, self)) != TSR_OK) {
        *error_out = zsys_sprintf("cannot start a thread: %s", tsr_strerror(rc));
        return rc;
    }
    if (self->coordinator_rc != TSR_OK) {
        *error_out = zsys_sprintf("the embedded coordinator (data %s) did not start: %s",
                                  self->config.data_dir, tsr_strerror(self->coordinator_rc));
        return self->coordinator_rc;
    }
    tsr_log_debug("local coordinator clients=%s agents=%s", self->clients_endpoint,
                  self->agents_endpoint);
    return TSR_OK;
}

int
tsr_local_start_agents(tsr_local_t *self, char **error_out)
{
    assert(self);
    assert(error_out);
    assert(self->coordinator.started);
    *error_out = NULL;
    int rc = s_plan_agents(self, error_out);
    if (rc != TSR_OK)
        return rc;
    for (unsigned index = 0; index < self->agent_count; index++)
        if ((rc = s_thread_start(&self->agents[index].thread, s_agent_actor,
                                 &self->agents[index])) != TSR_OK) {
            *error_out = zsys_sprintf("cannot start a thread: %s", tsr_strerror(rc));
            return rc;
        }
    return TSR_OK;
}

const char *
tsr_local_clients_endpoint(tsr_local_t *self)
{
    assert(self);
    return self->clients_endpoint;
}

const char *
tsr_local_server_key(tsr_local_t *self)
{
    assert(self);
    return self->public_key;
}

zcert_t *
tsr_local_client_cert(tsr_local_t *self)
{
    assert(self);
    return self->client_cert;
}

const char *
tsr_local_cache_dir(tsr_local_t *self)
{
    assert(self);
    return self->cache_dir;
}

int
tsr_local_check(tsr_local_t *self, char **error_out)
{
    assert(self);
    assert(error_out);
    *error_out = NULL;
    unsigned failed = 0;
    int last_rc = TSR_OK;
    const char *last_name = "";
    for (unsigned index = 0; index < self->agent_count; index++) {
        s_agent_t *agent = &self->agents[index];
        if (agent->thread.started && !agent->failed &&
            (zsock_events(agent->thread.pipe) & ZMQ_POLLIN)) {
            char *report = NULL;
            int code = 0;
            if (zsock_recv(agent->thread.pipe, "si", &report, &code) == 0 && report &&
                strcmp(report, "FAILED") == 0) {
                agent->failed = true;
                agent->start_rc = code;
                tsr_log_warn("embedded agent %s did not start: %s", agent->name,
                             tsr_strerror(code));
            }
            zstr_free(&report);
        }
        if (agent->failed) {
            failed++;
            last_rc = agent->start_rc;
            last_name = agent->name;
        }
    }
    if (failed < self->agent_count)
        return TSR_OK;
    *error_out = zsys_sprintf("embedded agent %s (data %s/agent-*) did not start: %s", last_name,
                              self->instance_dir, tsr_strerror(last_rc));
    return last_rc ? last_rc : TSR_ENOAGENT;
}
