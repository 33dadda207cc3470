/*  tsr_agent_work - the agent's attempts, from Assign to Result
    An Assign takes `threads` slots and gets DATA/work/slot-<first CPU>/ (the
    workspace in ws/, the command's output in output.log): the same path for
    every attempt on that slot, so caches keyed by path (Python bytecode,
    cargo fingerprints) hit, and unchanged files keep their times (tsr_stamps). Its tree is
   materialised (fetching what the cache lacks, asynchronously), then the command runs pinned to the
   slots' CPUs: Progress when it starts, Result when it ends, then the slots are freed and the
   directory removed. Cancel kills it with no Result. Processes are polled by a zloop timer while
   any run. A test job's attempt (Assign.framework other than "command", or kind LIST) runs its
   framework adapter on a worker thread instead (tsr_fwrun, with scratch/ in the attempt dir and a
   per-project cache in DATA/projects/<project>/<framework>); the loop reads the worker's outcome
   from its pipe and sends it as the Result. Work stealing (adapters with `steal`): Steal creates
   scratch/steal/request for the runner; a timer watches for its answer (scratch/steal/ack) and
    sends it as Stolen. Before a Result, an answer not sent yet goes first
    (Stolen, or Stolen without ids when the runner never answered), so the
    coordinator always sees Stolen before that attempt's Result.             */
#include "tsr_agent_internal.h"
#include "tsr_framework.h"
#include "tsr_fwrun.h"
#include "tsr_jobenv.h"
#include "tsr_msg.h"
#include "tsr_workdir.h"
#include "tsr_workspace.h"
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  Reaping period while processes run: without pidfds, and with them (then
//  the timer only enforces timeouts and kill grace; exits wake the poller).
#define S_POLL_MS 10
#define S_POLL_PIDFD_MS 100
//  Exit code reported when the command could not be started (as a shell).
#define S_EXIT_NOT_STARTED 127
//  How often a pending steal request's answer is looked for
#define S_STEAL_CHECK_MS 50

extern char **environ;

typedef struct {
    uint64_t id;                //  attempt id (the lease)
    char *run_id;               //  owned
    char *job;                  //  owned
    uint32_t shard_index;       //  0-based
    uint32_t threads;           //  slots held
    uint32_t *cpus;             //  owned; the slots' CPUs, `threads` entries
    tsr_cpuset_t cpuset;        //  the same, as a set
    char *dir;                  //  owned; DATA/work/slot-<first CPU>, once slots are taken
    char *tree_dir;             //  owned; dir/ws, the materialised workspace
    char *cwd;                  //  owned; tree_dir + Assign.workdir
    char *log_path;             //  owned; dir/output.log
    char **argv;                //  owned; NULL-terminated
    char **envp;                //  owned; tsr_jobenv_build
    uint64_t timeout_ms;        //  0 = none
    tsr_workspace_t *workspace; //  owned; while materialising
    bool running;               //  its process is in the executor
    tsr_exec_end_t *end;        //  owned; ended while we had no link: Result to send
    int proc_fd;                //  pidfd with a zloop poller while running, -1 if none
    int64_t assigned_ms;        //  zclock_mono at Assign
    //  Test jobs (framework != NULL) only
    char *framework;            //  owned; adapter name; NULL = a command job
    bool list;                  //  Assign.kind LIST
    char *project;              //  owned; Assign.project, names the cache dir
    char **test_ids;            //  owned; RUN: the shard's ids, NULL-terminated
    tsr_fwrun_t *fwrun;         //  owned; the worker while it runs
    Tessera__Result *fw_result; //  owned; ended while we had no link: to send
    bool cancelled;             //  Cancel asked the worker to stop: no Result
    char *steal_dir;            //  owned; RUN of an adapter that can steal: scratch/steal;
                                //  NULL = no stealing
    bool steal_pending;         //  a Steal's request awaits the runner's answer
} s_attempt_t;

static void
s_attempt_destroy(s_attempt_t **attempt_p)
{
    s_attempt_t *attempt = *attempt_p;
    if (!attempt)
        return;
    tsr_workspace_destroy(&attempt->workspace);
    tsr_fwrun_destroy(&attempt->fwrun);
    if (attempt->fw_result)
        tessera__result__free_unpacked(attempt->fw_result, NULL);
    free(attempt->framework);
    free(attempt->project);
    free(attempt->steal_dir);
    for (size_t index = 0; attempt->test_ids && attempt->test_ids[index]; index++)
        free(attempt->test_ids[index]);
    free(attempt->test_ids);
    free(attempt->end);
    free(attempt->run_id);
    free(attempt->job);
    free(attempt->cpus);
    free(attempt->dir);
    free(attempt->tree_dir);
    free(attempt->cwd);
    free(attempt->log_path);
    for (size_t index = 0; attempt->argv && attempt->argv[index]; index++)
        free(attempt->argv[index]);
    free(attempt->argv);
    tsr_jobenv_free(&attempt->envp);
    free(attempt);
    *attempt_p = NULL;
}

static void
s_key(uint64_t attempt_id, char *key, size_t size)
{
    snprintf(key, size, "%" PRIu64, attempt_id);
}

static s_attempt_t *
s_lookup(tsr_agent_t *self, uint64_t attempt_id)
{
    char key[24];
    s_key(attempt_id, key, sizeof key);
    return (s_attempt_t *)zhashx_lookup(self->attempts, key);
}

static void
s_free_id(void **item)
{
    free(*item);
    *item = NULL;
}

void
tsr_agent_work_init(tsr_agent_t *self)
{
    self->attempts = zhashx_new();
    zhashx_set_destructor(self->attempts, (zhashx_destructor_fn *)s_attempt_destroy);
    self->handed_back = zlistx_new();
    zlistx_set_destructor(self->handed_back, s_free_id);
    self->poll_timer = -1;
    self->steal_timer = -1;
}

//  Stop watching the attempt's pidfd (before or right after it closes).
static void
s_unwatch(tsr_agent_t *self, s_attempt_t *attempt)
{
    if (attempt->proc_fd >= 0 && self->loop) {
        zmq_pollitem_t item = {NULL, attempt->proc_fd, ZMQ_POLLIN, 0};
        zloop_poller_end(self->loop, &item);
    }
    attempt->proc_fd = -1;
}

//  Forget an attempt: its process (killed if alive), slots and directory.
static void
s_attempt_end(tsr_agent_t *self, s_attempt_t *attempt)
{
    s_unwatch(self, attempt);
    if (attempt->running && self->executor)
        tsr_executor_kill(self->executor, attempt->id);
    if (attempt->fwrun) {
        if (self->loop)
            zloop_reader_end(self->loop, tsr_fwrun_sock(attempt->fwrun));
        tsr_fwrun_destroy(&attempt->fwrun); //  kills its command, joins the thread
    }
    if (self->slots)
        tsr_slots_release(self->slots, attempt->id);
    if (attempt->dir) {
        int rc = tsr_workdir_remove(attempt->dir);
        if (rc != TSR_OK)
            tsr_log_warn("attempt=%" PRIu64 ": cannot remove %s: %s", attempt->id, attempt->dir,
                         tsr_strerror(rc));
    }
    char key[24];
    s_key(attempt->id, key, sizeof key);
    zhashx_delete(self->attempts, key);
}

void
tsr_agent_work_destroy(tsr_agent_t *self)
{
    if (!self->attempts)
        return;
    zlistx_t *keys = zhashx_keys(self->attempts);
    for (const char *key = (const char *)zlistx_first(keys); key;
         key = (const char *)zlistx_next(keys))
        s_attempt_end(self, (s_attempt_t *)zhashx_lookup(self->attempts, key));
    zlistx_destroy(&keys);
    if (self->poll_timer >= 0 && self->loop)
        zloop_timer_end(self->loop, self->poll_timer);
    self->poll_timer = -1;
    if (self->steal_timer >= 0 && self->loop)
        zloop_timer_end(self->loop, self->steal_timer);
    self->steal_timer = -1;
    zhashx_destroy(&self->attempts);
    zlistx_destroy(&self->handed_back);
}

//  ---------------------------------------------------------------- reporting

//  Send a Result for an attempt that never ran: `error` says why.
static void
s_send_failure(tsr_agent_t *self, uint64_t attempt_id, const uint32_t *cpus, size_t cpu_count,
               int exit_code, const char *error)
{
    tsr_log_warn("attempt=%" PRIu64 " failed before running: %s", attempt_id, error);
    Tessera__Result result = TESSERA__RESULT__INIT;
    result.attempt_id = attempt_id;
    result.exit_code = exit_code;
    result.error = (char *)error;
    result.n_cpus = cpu_count;
    result.cpus = (uint32_t *)cpus;
    Tessera__Envelope env = TESSERA__ENVELOPE__INIT;
    env.body_case = TESSERA__ENVELOPE__BODY_RESULT;
    env.result = &result;
    if (tsr_agent_send(self, &env) != TSR_OK)
        tsr_log_warn("attempt=%" PRIu64 ": result not sent (no link)", attempt_id);
}

static void
s_fail(tsr_agent_t *self, s_attempt_t *attempt, int exit_code, const char *error)
{
    s_send_failure(self, attempt->id, attempt->cpus, attempt->threads, exit_code, error);
    s_attempt_end(self, attempt);
    tsr_agent_heartbeat_now(self); //  slots are free again
}

//  Send the Result of an ended attempt and forget the attempt.
static void
s_report(tsr_agent_t *self, s_attempt_t *attempt, const tsr_exec_end_t *end)
{
    const tsr_proc_status_t *status = &end->status;
    Tessera__Usage usage = TESSERA__USAGE__INIT;
    usage.user_ms = status->user_ms;
    usage.sys_ms = status->sys_ms;
    usage.max_rss_kb = status->max_rss_kb;
    Tessera__Result result = TESSERA__RESULT__INIT;
    result.attempt_id = attempt->id;
    result.exit_code = status->exit_code;
    result.term_signal = status->term_signal;
    result.timed_out = status->timed_out;
    result.duration_ms = status->duration_ms;
    result.usage = &usage;
    result.output_tail.data = (uint8_t *)end->tail;
    result.output_tail.len = end->tail_bytes;
    result.n_cpus = attempt->threads;
    result.cpus = attempt->cpus;
    Tessera__Envelope env = TESSERA__ENVELOPE__INIT;
    env.body_case = TESSERA__ENVELOPE__BODY_RESULT;
    env.result = &result;
    if (tsr_agent_send(self, &env) != TSR_OK)
        tsr_log_warn("attempt=%" PRIu64 ": result not sent", attempt->id);
    s_attempt_end(self, attempt);
}

static void
s_on_end(void *arg, const tsr_exec_end_t *end)
{
    tsr_agent_t *self = (tsr_agent_t *)arg;
    s_attempt_t *attempt = s_lookup(self, end->attempt_id);
    if (!attempt)
        return;
    attempt->running = false; //  the executor has reaped it
    s_unwatch(self, attempt);
    if (end->cancelled) {
        tsr_log_info("attempt=%" PRIu64 " cancelled", attempt->id);
        s_attempt_end(self, attempt);
        return;
    }
    const tsr_proc_status_t *status = &end->status;
    tsr_log_info("attempt=%" PRIu64 " run=%s job=%s shard=%u exit=%d signal=%d%s "
                 "duration_ms=%" PRIu64,
                 attempt->id, attempt->run_id, attempt->job, attempt->shard_index,
                 status->exit_code, status->term_signal, status->timed_out ? " timed_out" : "",
                 status->duration_ms);
    if (!tsr_agent_link_is_fresh(self)) {
        //  Keep it (listed in Hello.in_flight); it goes after the Welcome, or
        //  with the next message from the coordinator if the link was fine
        attempt->end = (tsr_exec_end_t *)zmalloc(sizeof(tsr_exec_end_t));
        *attempt->end = *end;
        tsr_slots_release(self->slots, attempt->id);
        return;
    }
    s_report(self, attempt, end);
    tsr_agent_heartbeat_now(self);
}

//  ---------------------------------------------------------------- stealing

static void *
s_string_dup(const void *item)
{
    return strdup((const char *)item);
}

//  Send Stolen{attempt_id, ids} (ids: a string list, NULL = none)
static int
s_send_stolen(tsr_agent_t *self, uint64_t attempt_id, zlistx_t *ids)
{
    Tessera__Stolen stolen = TESSERA__STOLEN__INIT;
    stolen.attempt_id = attempt_id;
    size_t count = ids ? zlistx_size(ids) : 0;
    char **array = (char **)zmalloc((count + 1) * sizeof(char *));
    for (char *id = ids ? (char *)zlistx_first(ids) : NULL; id; id = (char *)zlistx_next(ids))
        array[stolen.n_ids++] = id;
    stolen.ids = array;
    Tessera__Envelope env = TESSERA__ENVELOPE__INIT;
    env.body_case = TESSERA__ENVELOPE__BODY_STOLEN;
    env.stolen = &stolen;
    int rc = tsr_agent_send(self, &env);
    free(array);
    return rc;
}

//  The runner's answer to a pending steal, if it is there: sent as Stolen
//  (kept for the next look if it cannot go out). With `ending` (its Result
//  goes next) a runner that never answered is reported as giving nothing.
static void
s_steal_check(tsr_agent_t *self, s_attempt_t *attempt, bool ending)
{
    if (!attempt->steal_pending)
        return;
    zlistx_t *ids = zlistx_new();
    zlistx_set_destructor(ids, s_free_id);
    zlistx_set_duplicator(ids, s_string_dup);
    int rc = attempt->steal_dir
                 ? tsr_framework_steal_read(attempt->steal_dir, TSR_FW_STEAL_ACK, ids)
                 : -ENOENT;
    if (rc == -ENOENT && !ending) {
        zlistx_destroy(&ids);
        return;
    }
    if (rc != TSR_OK) {
        //  Those tests get no result here: the coordinator runs them again
        if (rc != -ENOENT)
            tsr_log_warn("attempt=%" PRIu64 ": steal answer unreadable: %s", attempt->id,
                         tsr_strerror(rc));
        zlistx_purge(ids);
    }
    if (s_send_stolen(self, attempt->id, ids) == TSR_OK) {
        attempt->steal_pending = false;
        if (attempt->steal_dir) {
            char *ack = zsys_sprintf("%s/%s", attempt->steal_dir, TSR_FW_STEAL_ACK);
            unlink(ack);
            zstr_free(&ack);
        }
        tsr_log_info("attempt=%" PRIu64 " stolen: %zu tests given up", attempt->id,
                     zlistx_size(ids));
    }
    zlistx_destroy(&ids);
}

static int
s_on_steal_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void)timer_id;
    tsr_agent_t *self = (tsr_agent_t *)arg;
    bool pending = false;
    for (s_attempt_t *attempt = (s_attempt_t *)zhashx_first(self->attempts); attempt;
         attempt = (s_attempt_t *)zhashx_next(self->attempts)) {
        s_steal_check(self, attempt, false);
        pending = pending || attempt->steal_pending;
    }
    if (!pending && self->steal_timer >= 0) {
        zloop_timer_end(loop, self->steal_timer);
        self->steal_timer = -1;
    }
    return 0;
}

//  Can the attempt's runner give tests up (a RUN of an adapter with `steal`)?
static bool
s_can_steal(const s_attempt_t *attempt)
{
    if (!attempt->framework || attempt->list)
        return false;
    const tsr_framework_t *framework = tsr_framework_find(attempt->framework);
    return framework && framework->steal;
}

//  Put the pending steal's request where the runner looks (steal_dir exists)
//  and watch for the answer; if it cannot be put, answer "nothing given".
static void
s_steal_request(tsr_agent_t *self, s_attempt_t *attempt)
{
    char *request = zsys_sprintf("%s/%s", attempt->steal_dir, TSR_FW_STEAL_REQUEST);
    FILE *file = fopen(request, "w");
    if (!file || fclose(file) != 0) {
        tsr_log_warn("attempt=%" PRIu64 ": cannot create %s: %s", attempt->id, request,
                     strerror(errno));
        if (s_send_stolen(self, attempt->id, NULL) == TSR_OK)
            attempt->steal_pending = false;
        zstr_free(&request);
        return;
    }
    zstr_free(&request);
    tsr_log_debug("attempt=%" PRIu64 ": steal requested", attempt->id);
    if (self->steal_timer < 0 && self->loop)
        self->steal_timer = zloop_timer(self->loop, S_STEAL_CHECK_MS, 0, s_on_steal_timer, self);
}

int
tsr_agent_on_steal(void *server, void *peer, const Tessera__Envelope *env)
{
    (void)peer;
    tsr_agent_t *self = (tsr_agent_t *)server;
    uint64_t attempt_id = env->steal->attempt_id;
    s_attempt_t *attempt = s_lookup(self, attempt_id);
    if (attempt && attempt->steal_pending)
        return TSR_OK; //  asked already: one answer comes
    if (!attempt || attempt->cancelled || attempt->fw_result || !s_can_steal(attempt)) {
        //  Unknown, ended, or not a runner that can give tests up
        if (s_send_stolen(self, attempt_id, NULL) != TSR_OK)
            tsr_log_debug("attempt=%" PRIu64 ": stolen not sent", attempt_id);
        return TSR_OK;
    }
    attempt->steal_pending = true;
    if (attempt->steal_dir)
        s_steal_request(self, attempt);
    //  else still materialising: the request goes in with its directory (s_execute)
    return TSR_OK;
}

//  ---------------------------------------------------------------- reporting tests

//  Send a test job's Result (attempt->fw_result, which it consumes) and
//  forget the attempt. A steal answer not sent yet goes first.
static void
s_report_framework(tsr_agent_t *self, s_attempt_t *attempt)
{
    s_steal_check(self, attempt, true);
    Tessera__Result *result = attempt->fw_result;
    attempt->fw_result = NULL;
    Tessera__Envelope env = TESSERA__ENVELOPE__INIT;
    env.body_case = TESSERA__ENVELOPE__BODY_RESULT;
    env.result = result;
    int rc = tsr_agent_send(self, &env);
    if (rc == TSR_ETOOBIG) {
        //  More ids or results than one message holds: say so, without them
        char error[256];
        snprintf(error, sizeof error,
                 "%s %s: %zu ids and %zu results exceed the %u-byte message limit",
                 attempt->framework, attempt->list ? "listing" : "run", result->n_listed,
                 result->n_tests, TSR_MSG_MAX_BYTES);
        Tessera__Result failure = *result;
        failure.n_listed = failure.n_list_errors = failure.n_tests = 0;
        failure.error = error;
        if (failure.exit_code == 0)
            failure.exit_code = 1;
        env.result = &failure;
        env.req_id = 0;
        rc = tsr_agent_send(self, &env);
    }
    if (rc != TSR_OK)
        tsr_log_warn("attempt=%" PRIu64 ": result not sent: %s", attempt->id, tsr_strerror(rc));
    tessera__result__free_unpacked(result, NULL);
    s_attempt_end(self, attempt);
}

//  A framework worker posted its outcome.
static int
s_on_fwrun(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    tsr_agent_t *self = (tsr_agent_t *)arg;
    s_attempt_t *attempt = NULL;
    for (s_attempt_t *each = (s_attempt_t *)zhashx_first(self->attempts); each && !attempt;
         each = (s_attempt_t *)zhashx_next(self->attempts))
        if (each->fwrun && tsr_fwrun_sock(each->fwrun) == reader)
            attempt = each;
    if (!attempt) {
        //  Cannot happen: the reader ends with its attempt
        zloop_reader_end(self->loop, reader);
        return 0;
    }
    Tessera__Result *result = NULL;
    int rc = tsr_fwrun_recv(attempt->fwrun, &result);
    zloop_reader_end(self->loop, reader);
    tsr_fwrun_destroy(&attempt->fwrun); //  it is done: joins at once
    if (rc == TSR_ECANCELLED || attempt->cancelled) {
        tsr_log_info("attempt=%" PRIu64 " cancelled", attempt->id);
        if (result)
            tessera__result__free_unpacked(result, NULL);
        s_attempt_end(self, attempt);
        return 0;
    }
    if (rc != TSR_OK) {
        s_fail(self, attempt, -1, "the test framework worker sent no result");
        return 0;
    }
    tsr_log_info("attempt=%" PRIu64 " run=%s job=%s shard=%u framework=%s %s exit=%d signal=%d%s "
                 "tests=%zu listed=%zu duration_ms=%" PRIu64 "%s%s",
                 attempt->id, attempt->run_id, attempt->job, attempt->shard_index,
                 attempt->framework, attempt->list ? "list" : "run", result->exit_code,
                 result->term_signal, result->timed_out ? " timed_out" : "", result->n_tests,
                 result->n_listed, result->duration_ms, *result->error ? " error=" : "",
                 result->error);
    attempt->fw_result = result;
    if (!tsr_agent_link_is_fresh(self)) {
        //  Keep it (listed in Hello.in_flight); it goes after the Welcome, or
        //  with the next message from the coordinator if the link was fine
        tsr_slots_release(self->slots, attempt->id);
        return 0;
    }
    s_report_framework(self, attempt);
    tsr_agent_heartbeat_now(self);
    return 0;
}

void
tsr_agent_work_flush_results(tsr_agent_t *self)
{
    zlistx_t *keys = zhashx_keys(self->attempts);
    for (const char *key = (const char *)zlistx_first(keys); key;
         key = (const char *)zlistx_next(keys)) {
        s_attempt_t *attempt = (s_attempt_t *)zhashx_lookup(self->attempts, key);
        if (attempt && attempt->end) {
            tsr_exec_end_t *end = attempt->end;
            attempt->end = NULL;
            s_report(self, attempt, end);
            free(end);
        } else if (attempt && attempt->fw_result)
            s_report_framework(self, attempt);
    }
    zlistx_destroy(&keys);
}

static int
s_on_poll(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    tsr_agent_t *self = (tsr_agent_t *)arg;
    tsr_executor_poll(self->executor, zclock_mono(), s_on_end, self);
    if (tsr_executor_running(self->executor) == 0 && self->poll_timer >= 0) {
        zloop_timer_end(self->loop, self->poll_timer);
        self->poll_timer = -1;
    }
    return 0;
}

//  A process exited (its pidfd is readable): reap now, not at the next tick.
static int
s_on_proc_fd(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)item;
    return s_on_poll(loop, -1, arg);
}

//  ---------------------------------------------------------------- running

static void
s_send_progress(tsr_agent_t *self, s_attempt_t *attempt)
{
    Tessera__Progress progress = TESSERA__PROGRESS__INIT;
    progress.attempt_id = attempt->id;
    progress.n_cpus = attempt->threads;
    progress.cpus = attempt->cpus;
    Tessera__Envelope env = TESSERA__ENVELOPE__INIT;
    env.body_case = TESSERA__ENVELOPE__BODY_PROGRESS;
    env.progress = &progress;
    if (tsr_agent_send(self, &env) != TSR_OK)
        tsr_log_debug("attempt=%" PRIu64 ": progress not sent", attempt->id);
    tsr_log_debug("attempt=%" PRIu64 " started after %" PRId64 " ms", attempt->id,
                  zclock_mono() - attempt->assigned_ms);
}

//  `path` made absolute (it exists), for paths handed to a job's tools,
//  which run elsewhere. A new string.
static char *
s_absolute(const char *path)
{
    char resolved[PATH_MAX];
    return realpath(path, resolved) ? strdup(resolved) : strdup(path);
}

//  DATA/projects/<project>/<framework>, created (and given to the job's
//  user when new): a cache kept across attempts (cargo's target dir,
//  Python's bytecode). Returns TSR_OK with *dir_out (a new string) or -errno.
static int
s_cache_dir(tsr_agent_t *self, s_attempt_t *attempt, char **dir_out)
{
    *dir_out = NULL;
    char *project = tsr_workdir_safe_name(attempt->project, "default");
    char *framework = tsr_workdir_safe_name(attempt->framework, "unknown");
    char *dir = zsys_sprintf("%s/projects/%s/%s", self->data_dir, project, framework);
    free(project);
    free(framework);
    struct stat info;
    bool is_new = stat(dir, &info) != 0;
    int rc = tsr_workdir_create(dir, 0755);
    if (rc == TSR_OK && is_new && self->run_as_other)
        rc = tsr_workdir_chown(dir, self->run_uid, self->run_gid);
    if (rc != TSR_OK) {
        free(dir);
        return rc;
    }
    *dir_out = s_absolute(dir);
    free(dir);
    return TSR_OK;
}

//  Start a test job's attempt on a worker thread (the workspace is in place).
static void
s_execute_framework(tsr_agent_t *self, s_attempt_t *attempt)
{
    char *cache_dir = NULL;
    int rc = s_cache_dir(self, attempt, &cache_dir);
    if (rc != TSR_OK) {
        char error[512];
        snprintf(error, sizeof error, "cannot create the cache %s/projects: %s", self->data_dir,
                 tsr_strerror(rc));
        s_fail(self, attempt, -1, error);
        return;
    }
    char *dir = s_absolute(attempt->dir);
    char *scratch_dir = zsys_sprintf("%s/scratch", dir);
    char *log_path = zsys_sprintf("%s/output.log", dir);
    char *workdir = s_absolute(attempt->cwd);
    tsr_fwrun_spec_t spec = {
        .attempt_id = attempt->id,
        .framework = attempt->framework,
        .list = attempt->list,
        .argv = (const char *const *)attempt->argv,
        .envp = (const char *const *)attempt->envp,
        .test_ids = (const char *const *)attempt->test_ids,
        .workdir = workdir,
        .scratch_dir = scratch_dir,
        .cache_dir = cache_dir,
        .log_path = log_path,
        .cpus = attempt->cpus,
        .cpu_count = attempt->threads,
        .run_as_user = self->run_as_other ? self->user : NULL,
        .timeout_ms = attempt->timeout_ms,
        .steal_dir = attempt->steal_dir,
    };
    attempt->fwrun = tsr_fwrun_new(&spec);
    free(workdir);
    free(log_path);
    free(scratch_dir);
    free(dir);
    free(cache_dir);
    if (zloop_reader(self->loop, tsr_fwrun_sock(attempt->fwrun), s_on_fwrun, self) != 0) {
        s_fail(self, attempt, -1, "cannot watch the test framework worker");
        return;
    }
    s_send_progress(self, attempt);
}

static void
s_execute(tsr_agent_t *self, s_attempt_t *attempt)
{
    tsr_workspace_destroy(&attempt->workspace);
    if (attempt->framework) {
        //  Before the hand-over to the job's user below
        char *scratch_dir = zsys_sprintf("%s/scratch", attempt->dir);
        int rc = tsr_workdir_create(scratch_dir, 0755);
        if (rc == TSR_OK && s_can_steal(attempt)) {
            char *steal_dir = zsys_sprintf("%s/steal", scratch_dir);
            rc = tsr_workdir_create(steal_dir, 0755);
            if (rc == TSR_OK)
                attempt->steal_dir = s_absolute(steal_dir);
            free(steal_dir);
            if (rc == TSR_OK && attempt->steal_pending)
                s_steal_request(self, attempt); //  asked while materialising
        }
        free(scratch_dir);
        if (rc != TSR_OK) {
            char error[256];
            snprintf(error, sizeof error, "cannot create %s/scratch: %s", attempt->dir,
                     tsr_strerror(rc));
            s_fail(self, attempt, -1, error);
            return;
        }
    }
    if (self->run_as_other) {
        int rc = tsr_workdir_chown(attempt->dir, self->run_uid, self->run_gid);
        if (rc != TSR_OK) {
            char error[256];
            snprintf(error, sizeof error, "cannot give %s to user %s: %s", attempt->dir, self->user,
                     tsr_strerror(rc));
            s_fail(self, attempt, -1, error);
            return;
        }
    }
    if (attempt->framework) {
        s_execute_framework(self, attempt);
        return;
    }
    tsr_exec_spec_t spec = {
        .attempt_id = attempt->id,
        .argv = (const char *const *)attempt->argv,
        .envp = (const char *const *)attempt->envp,
        .cwd = attempt->cwd,
        .log_path = attempt->log_path,
        .cpus = &attempt->cpuset,
        .run_as_user = self->run_as_other ? self->user : NULL,
        .timeout_ms = attempt->timeout_ms,
    };
    int rc = tsr_executor_start(self->executor, &spec, zclock_mono());
    if (rc != TSR_OK) {
        char error[512];
        snprintf(error, sizeof error, "cannot start '%s' in %s: %s", attempt->argv[0], attempt->cwd,
                 tsr_strerror(rc));
        s_fail(self, attempt, S_EXIT_NOT_STARTED, error);
        return;
    }
    attempt->running = true;
    int proc_fd = tsr_executor_fd(self->executor, attempt->id);
    if (proc_fd >= 0) {
        zmq_pollitem_t item = {NULL, proc_fd, ZMQ_POLLIN, 0};
        if (zloop_poller(self->loop, &item, s_on_proc_fd, self) == 0) {
            zloop_poller_set_tolerant(self->loop, &item);
            attempt->proc_fd = proc_fd;
        }
    }
    if (self->poll_timer < 0)
        self->poll_timer = zloop_timer(
            self->loop, attempt->proc_fd >= 0 ? S_POLL_PIDFD_MS : S_POLL_MS, 0, s_on_poll, self);
    s_send_progress(self, attempt);
}

//  Advance the materialisation; run the command once it is done.
static void
s_step(tsr_agent_t *self, s_attempt_t *attempt)
{
    int rc = tsr_workspace_step(attempt->workspace);
    if (rc == -EAGAIN)
        return;
    if (rc == TSR_OK) {
        s_execute(self, attempt);
        return;
    }
    char error[256];
    snprintf(error, sizeof error, "cannot materialise the workspace: %s", tsr_strerror(rc));
    s_fail(self, attempt, -1, error);
}

void
tsr_agent_work_fetch_done(void *arg, const tsr_digest_t *digest, int rc)
{
    tsr_agent_t *self = (tsr_agent_t *)arg;
    zlistx_t *keys = zhashx_keys(self->attempts);
    for (const char *key = (const char *)zlistx_first(keys); key;
         key = (const char *)zlistx_next(keys)) {
        s_attempt_t *attempt = (s_attempt_t *)zhashx_lookup(self->attempts, key);
        if (!attempt || !attempt->workspace)
            continue;
        if (tsr_workspace_on_blob(attempt->workspace, digest, rc) &&
            (rc != TSR_OK || !tsr_workspace_is_waiting(attempt->workspace)))
            s_step(self, attempt);
    }
    zlistx_destroy(&keys);
}

int
tsr_agent_work_fetch_send(void *arg, Tessera__Envelope *request)
{
    return tsr_agent_send((tsr_agent_t *)arg, request);
}

//  ---------------------------------------------------------------- assign

//  A relative path without "..", "." or empty components ("" is fine).
static bool
s_workdir_is_safe(const char *workdir)
{
    if (!workdir || !*workdir)
        return true;
    if (workdir[0] == '/')
        return false;
    char *copy = strdup(workdir);
    bool safe = true;
    char *saveptr = NULL;
    for (char *part = strtok_r(copy, "/", &saveptr); part; part = strtok_r(NULL, "/", &saveptr))
        if (streq(part, "..") || streq(part, "."))
            safe = false;
    free(copy);
    return safe;
}

//  Does the Assign go to a framework adapter (a test job, or a listing)?
//  Plain commands keep the executor path of issue 3.
static bool
s_is_test_job(const Tessera__Assign *assign)
{
    if (assign->kind == TESSERA__ASSIGN__KIND__LIST)
        return true;
    return assign->framework && *assign->framework && !streq(assign->framework, "command");
}

//  Check what cannot be run at all. Returns NULL or why not (static text).
static const char *
s_assign_problem(const Tessera__Assign *assign, tsr_digest_t *root)
{
    if (assign->attempt_id == 0)
        return "attempt id 0";
    if (assign->n_argv == 0 || !assign->argv[0] || !*assign->argv[0])
        return "empty command";
    if (tsr_msg_digest_get(assign->workspace, root) != TSR_OK)
        return "no valid workspace digest";
    if (!s_workdir_is_safe(assign->workdir))
        return "workdir must be relative, without '..'";
    if (s_is_test_job(assign) && assign->framework && *assign->framework &&
        !tsr_framework_find(assign->framework))
        return "unknown test framework";
    return NULL;
}

//  Our environment, as the job's user when jobs run as --user (HOME, USER
//  and LOGNAME of that user: tools keep their caches under HOME).
static char **
s_base_env(tsr_agent_t *self)
{
    size_t count = 0;
    while (environ[count])
        count++;
    char **base = (char **)zmalloc((count + 4) * sizeof(char *));
    for (size_t index = 0; index < count; index++)
        base[index] = strdup(environ[index]);
    if (self->run_as_other) {
        base[count++] = zsys_sprintf("HOME=%s", self->run_home);
        base[count++] = zsys_sprintf("USER=%s", self->user);
        base[count++] = zsys_sprintf("LOGNAME=%s", self->user);
    }
    base[count] = NULL;
    return base;
}

static s_attempt_t *
s_attempt_new(const Tessera__Assign *assign, uint32_t threads)
{
    s_attempt_t *attempt = (s_attempt_t *)zmalloc(sizeof(s_attempt_t));
    attempt->id = assign->attempt_id;
    attempt->run_id = strdup(assign->run_id ? assign->run_id : "");
    attempt->job = strdup(assign->job ? assign->job : "");
    attempt->shard_index = assign->shard_index;
    attempt->threads = threads;
    attempt->cpus = (uint32_t *)zmalloc(threads * sizeof(uint32_t));
    attempt->argv = (char **)zmalloc((assign->n_argv + 1) * sizeof(char *));
    for (size_t index = 0; index < assign->n_argv; index++)
        attempt->argv[index] = strdup(assign->argv[index] ? assign->argv[index] : "");
    attempt->timeout_ms = assign->timeout_ms;
    attempt->assigned_ms = zclock_mono();
    attempt->proc_fd = -1;
    if (s_is_test_job(assign)) {
        attempt->framework =
            strdup(assign->framework && *assign->framework ? assign->framework : "command");
        attempt->list = assign->kind == TESSERA__ASSIGN__KIND__LIST;
        attempt->project = strdup(assign->project ? assign->project : "");
        attempt->test_ids = (char **)zmalloc((assign->n_test_ids + 1) * sizeof(char *));
        for (size_t index = 0; index < assign->n_test_ids; index++)
            attempt->test_ids[index] =
                strdup(assign->test_ids[index] ? assign->test_ids[index] : "");
    }
    return attempt;
}

int
tsr_agent_on_assign(void *server, void *peer, const Tessera__Envelope *env)
{
    (void)peer;
    tsr_agent_t *self = (tsr_agent_t *)server;
    const Tessera__Assign *assign = env->assign;
    if (s_lookup(self, assign->attempt_id))
        return TSR_OK; //  a repeated Assign: we run it already
    if (self->stopping) {
        //  Leaving: hand it back with Bye, not counted against its retries
        uint64_t *attempt_id = (uint64_t *)zmalloc(sizeof(uint64_t));
        *attempt_id = assign->attempt_id;
        zlistx_add_end(self->handed_back, attempt_id);
        return TSR_OK;
    }
    tsr_digest_t root;
    const char *problem = s_assign_problem(assign, &root);
    if (problem) {
        s_send_failure(self, assign->attempt_id, NULL, 0, -1, problem);
        return TSR_OK;
    }
    uint32_t threads = assign->threads ? assign->threads : 1;
    s_attempt_t *attempt = s_attempt_new(assign, threads);
    char key[24];
    s_key(attempt->id, key, sizeof key);
    unsigned *cpus = (unsigned *)zmalloc(threads * sizeof(unsigned));
    int rc = tsr_slots_take(self->slots, attempt->id, threads, cpus);
    if (rc != TSR_OK) {
        char error[128];
        snprintf(error, sizeof error, "needs %u slots, %zu of %zu free", threads,
                 tsr_slots_free(self->slots), tsr_slots_count(self->slots));
        s_send_failure(self, attempt->id, NULL, 0, -1, error);
        free(cpus);
        s_attempt_destroy(&attempt);
        return TSR_OK;
    }
    tsr_cpuset_clear(&attempt->cpuset);
    for (uint32_t index = 0; index < threads; index++) {
        attempt->cpus[index] = cpus[index];
        tsr_cpuset_add(&attempt->cpuset, cpus[index]);
    }
    //  The attempt's files go where this slot's attempts always put them:
    //  tools that key caches on paths (Python's bytecode under
    //  PYTHONPYCACHEPREFIX, cargo's fingerprints) then find theirs again;
    //  the slot is ours alone until the attempt ends and its dir is removed
    attempt->dir = zsys_sprintf("%s/slot-%u", self->work_dir, cpus[0]);
    attempt->log_path = zsys_sprintf("%s/output.log", attempt->dir);
    attempt->tree_dir = zsys_sprintf("%s/ws", attempt->dir);
    attempt->cwd = assign->workdir && *assign->workdir
                       ? zsys_sprintf("%s/%s", attempt->tree_dir, assign->workdir)
                       : strdup(attempt->tree_dir);
    free(cpus);
    zhashx_insert(self->attempts, key, attempt);
    tsr_log_debug("attempt=%" PRIu64 " assigned run=%s job=%s shard=%u/%u threads=%u", attempt->id,
                  attempt->run_id, attempt->job, assign->shard_index, assign->shard_count, threads);

    char **base = s_base_env(self);
    rc = tsr_jobenv_build((const char *const *)base, assign, threads, &attempt->envp);
    tsr_jobenv_free(&base);
    if (rc != TSR_OK) {
        s_fail(self, attempt, -1, "invalid environment variable name in the job");
        return TSR_OK;
    }
    rc = tsr_workdir_remove(attempt->dir);
    if (rc == TSR_OK)
        rc = tsr_workdir_create(attempt->dir, 0755);
    if (rc != TSR_OK) {
        char error[256];
        snprintf(error, sizeof error, "cannot create %s: %s", attempt->dir, tsr_strerror(rc));
        s_fail(self, attempt, -1, error);
        return TSR_OK;
    }
    attempt->workspace = tsr_workspace_new(self->cas, self->fetcher, &root, attempt->tree_dir);
    //  Keyed by project: a project's copies on every slot share their times
    tsr_workspace_set_stamps(attempt->workspace, self->stamps,
                             assign->project && *assign->project ? assign->project : "");
    s_step(self, attempt); //  everything cached: runs now, no round trip
    return TSR_OK;
}

//  ---------------------------------------------------------------- cancel, chunks

void
tsr_agent_work_cancel(tsr_agent_t *self, const uint64_t *attempt_ids, size_t count)
{
    for (size_t index = 0; index < count; index++) {
        s_attempt_t *attempt = s_lookup(self, attempt_ids[index]);
        if (!attempt)
            continue;
        tsr_log_info("attempt=%" PRIu64 " cancelled by the coordinator", attempt->id);
        if (attempt->fwrun) {
            //  The worker kills its command and says so; s_on_fwrun cleans up
            attempt->cancelled = true;
            tsr_fwrun_cancel(attempt->fwrun);
        } else if (attempt->running && !attempt->end)
            //  The group gets SIGTERM, then SIGKILL; s_on_end cleans up
            tsr_executor_cancel(self->executor, attempt->id, zclock_mono());
        else
            s_attempt_end(self, attempt);
    }
}

int
tsr_agent_on_cancel(void *server, void *peer, const Tessera__Envelope *env)
{
    (void)peer;
    tsr_agent_t *self = (tsr_agent_t *)server;
    tsr_agent_work_cancel(self, env->cancel->attempt_ids, env->cancel->n_attempt_ids);
    tsr_agent_heartbeat_now(self);
    return TSR_OK;
}

int
tsr_agent_on_blob_chunk(void *server, void *peer, const Tessera__Envelope *env)
{
    (void)peer;
    tsr_agent_t *self = (tsr_agent_t *)server;
    tsr_fetcher_on_chunk(self->fetcher, env->req_id, env->blob_chunk);
    return TSR_OK;
}

//  ---------------------------------------------------------------- accounting

size_t
tsr_agent_work_ids(tsr_agent_t *self, uint64_t **ids_out)
{
    size_t count = zhashx_size(self->attempts);
    *ids_out = count ? (uint64_t *)zmalloc(count * sizeof(uint64_t)) : NULL;
    size_t index = 0;
    for (s_attempt_t *attempt = (s_attempt_t *)zhashx_first(self->attempts); attempt;
         attempt = (s_attempt_t *)zhashx_next(self->attempts))
        (*ids_out)[index++] = attempt->id;
    return count;
}

size_t
tsr_agent_work_count(tsr_agent_t *self)
{
    return zhashx_size(self->attempts);
}

size_t
tsr_agent_work_hand_back(tsr_agent_t *self, uint64_t **ids_out)
{
    uint64_t *held = NULL;
    size_t held_count = tsr_agent_work_ids(self, &held);
    size_t count = held_count + zlistx_size(self->handed_back);
    *ids_out = count ? (uint64_t *)zmalloc(count * sizeof(uint64_t)) : NULL;
    for (size_t index = 0; index < held_count; index++) {
        (*ids_out)[index] = held[index];
        s_attempt_t *attempt = s_lookup(self, held[index]);
        tsr_log_warn("attempt=%" PRIu64 " handed back", attempt->id);
        s_attempt_end(self, attempt);
    }
    size_t index = held_count;
    for (uint64_t *attempt_id = (uint64_t *)zlistx_first(self->handed_back); attempt_id;
         attempt_id = (uint64_t *)zlistx_next(self->handed_back))
        (*ids_out)[index++] = *attempt_id;
    zlistx_purge(self->handed_back);
    free(held);
    return count;
}
