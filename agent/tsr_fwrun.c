/*  tsr_fwrun - a framework attempt's worker thread and its ctx->run
    The worker owns an s_job_t (the copied spec) and runs the adapter's list
    or run with a tsr_fw_ctx_t whose handle is the job. ctx->run spawns one
    command, then waits on the command's pidfd and the actor pipe together
    (zmq_poll), feeding the watchdog with the output sizes at every wake-up:
    "CANCEL" terminates the group (SIGKILL after the grace), "$TERM" kills it
    at once. tsr_spawn truncates the files it opens, so each command writes
    into a command log of its own, appended to the shard log when it ends:
    the shard log holds every command's output in order. The outcome goes to
    the owner as ["RESULT", packed Tessera.Result] or ["CANCELLED"]; then the
    worker waits for "$TERM" (zactor_destroy), so the pipe never carries
    anything else the owner could misread.                                  */
#include "tsr_fwrun.h"
#include "tsr_cpuset.h"
#include "tsr_executor.h"
#include "tsr_framework.h"
#include "tsr_fwresult.h"
#include "tsr_jobenv.h"
#include "tsr_spawn.h"
#include "tsr_watchdog.h"
#include <dirent.h>
#include <strings.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  How often a running command's output sizes are checked (and, without
//  pidfds, its exit): the watchdog's resolution.
#define S_CHECK_MS 100
#define S_CHECK_NO_PIDFD_MS 10
//  Exit code reported when a command could not be started (as a shell).
#define S_EXIT_NOT_STARTED 127

typedef struct {
    //  The spec, copied (tsr_fwrun_spec_t says what each is); all owned
    uint64_t attempt_id;    //  for the Result and logs
    char *framework;        //  adapter name
    bool list;              //  LIST, else RUN
    char **argv;            //  the user's command, NULL-terminated
    char **envp;            //  the job's environment, NULL-terminated
    char **test_ids;        //  RUN: the shard's ids, NULL-terminated (maybe empty)
    char *workdir;          //  absolute; the adapter's default cwd
    char *scratch_dir;      //  the attempt's private directory
    char *cache_dir;        //  per project and framework
    char *log_path;         //  the shard log
    char *command_log_path; //  the running command's stdout/stderr, then appended
    uint32_t *cpus;         //  the attempt's CPUs, `cpu_count` of them
    size_t cpu_count;       //  0 = not pinned
    tsr_cpuset_t cpuset;    //  the same CPUs, as a set
    char *run_as_user;      //  NULL = ourselves
    uint64_t timeout_ms;    //  the watchdog's limit; 0 = none
    uint64_t kill_grace_ms; //  SIGTERM to SIGKILL; 0 = tsr_spawn's default

    //  The worker's state (its thread only)
    zsock_t *pipe;       //  borrowed: the actor's end of the pipe
    bool cancelled;      //  "CANCEL" received: stop, post "CANCELLED"
    bool terminated;     //  "$TERM" received: stop, post nothing
    bool timed_out;      //  a command was killed by the watchdog
    uint64_t silence_ms; //  then: how long it had been silent
    int last_exit_code;  //  of the last command (-1: signal, 127: not started)
    int term_signal;     //  the last signal that ended a command, 0 if none
    uint64_t user_ms;    //  summed over the commands
    uint64_t sys_ms;     //  summed over the commands
    uint64_t max_rss_kb; //  the largest of the commands
} s_job_t;

struct _tsr_fwrun_t {
    zactor_t *actor; //  owned; the worker
};

//  ---------------------------------------------------------------- copies

static char **
s_strv_copy(const char *const *strings)
{
    size_t count = 0;
    while (strings && strings[count])
        count++;
    char **copy = (char **)zmalloc((count + 1) * sizeof(char *));
    for (size_t index = 0; index < count; index++)
        copy[index] = strdup(strings[index]);
    return copy;
}

static void
s_strv_free(char ***strings_p)
{
    char **strings = *strings_p;
    for (size_t index = 0; strings && strings[index]; index++)
        free(strings[index]);
    free(strings);
    *strings_p = NULL;
}

static char *
s_strdup_or_null(const char *text)
{
    return text ? strdup(text) : NULL;
}

static s_job_t *
s_job_new(const tsr_fwrun_spec_t *spec)
{
    assert(spec && spec->framework && spec->argv && spec->workdir && spec->scratch_dir &&
           spec->cache_dir && spec->log_path);
    s_job_t *job = (s_job_t *)zmalloc(sizeof(s_job_t));
    job->attempt_id = spec->attempt_id;
    job->framework = strdup(spec->framework);
    job->list = spec->list;
    job->argv = s_strv_copy(spec->argv);
    job->envp = s_strv_copy(spec->envp);
    job->test_ids = s_strv_copy(spec->test_ids);
    job->workdir = strdup(spec->workdir);
    job->scratch_dir = strdup(spec->scratch_dir);
    job->cache_dir = strdup(spec->cache_dir);
    job->log_path = strdup(spec->log_path);
    job->command_log_path = zsys_sprintf("%s.command", spec->log_path);
    job->cpu_count = spec->cpu_count;
    job->cpus = (uint32_t *)zmalloc((spec->cpu_count + 1) * sizeof(uint32_t));
    tsr_cpuset_clear(&job->cpuset);
    for (size_t index = 0; index < spec->cpu_count; index++) {
        job->cpus[index] = spec->cpus[index];
        tsr_cpuset_add(&job->cpuset, spec->cpus[index]);
    }
    job->run_as_user = s_strdup_or_null(spec->run_as_user);
    job->timeout_ms = spec->timeout_ms;
    job->kill_grace_ms = spec->kill_grace_ms;
    return job;
}

static void
s_job_destroy(s_job_t **job_p)
{
    s_job_t *job = *job_p;
    if (!job)
        return;
    free(job->framework);
    s_strv_free(&job->argv);
    s_strv_free(&job->envp);
    s_strv_free(&job->test_ids);
    free(job->workdir);
    free(job->scratch_dir);
    free(job->cache_dir);
    free(job->log_path);
    free(job->command_log_path);
    free(job->cpus);
    free(job->run_as_user);
    free(job);
    *job_p = NULL;
}

//  ---------------------------------------------------------------- logs

//  Append a line of ours to the shard log (why a command did not start).
static void
s_log_note(s_job_t *job, const char *format, ...)
{
    FILE *log = fopen(job->log_path, "a");
    if (!log)
        return;
    va_list args;
    va_start(args, format);
    vfprintf(log, format, args);
    va_end(args);
    fclose(log);
}

//  Append the command log to the shard log and remove it.
static void
s_append_command_log(s_job_t *job)
{
    int source = open(job->command_log_path, O_RDONLY | O_CLOEXEC);
    if (source < 0)
        return; //  stdout went elsewhere and stderr was never opened: nothing
    int target = open(job->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (target < 0)
        tsr_log_warn("attempt=%" PRIu64 ": cannot open %s: %s", job->attempt_id, job->log_path,
                     strerror(errno));
    char buffer[65536];
    ssize_t got;
    while (target >= 0 && (got = read(source, buffer, sizeof buffer)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            break;
        for (ssize_t done = 0; done < got;) {
            ssize_t put = write(target, buffer + done, (size_t)(got - done));
            if (put < 0 && errno == EINTR)
                continue;
            if (put < 0) {
                tsr_log_warn("attempt=%" PRIu64 ": cannot write %s: %s", job->attempt_id,
                             job->log_path, strerror(errno));
                got = 0;
                break;
            }
            done += put;
        }
    }
    if (target >= 0)
        close(target);
    close(source);
    unlink(job->command_log_path);
}

static uint64_t
s_file_bytes(const char *path)
{
    struct stat info;
    return path && stat(path, &info) == 0 ? (uint64_t)info.st_size : 0;
}

//  What the runner has written so far: its stdout file, the command log and
//  the files in the scratch directory (reports, progress lines). A runner
//  that buffers its console output still moves one of them per test.
static uint64_t
s_output_bytes(s_job_t *job, const char *stdout_path)
{
    uint64_t bytes = s_file_bytes(stdout_path) + s_file_bytes(job->command_log_path);
    DIR *dir = opendir(job->scratch_dir);
    if (!dir)
        return bytes;
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        struct stat info;
        if (fstatat(dirfd(dir), entry->d_name, &info, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(info.st_mode))
            bytes += (uint64_t)info.st_size;
    }
    closedir(dir);
    return bytes;
}

//  ---------------------------------------------------------------- ctx->run

//  Take what the owner sent: "CANCEL" or "$TERM". Never blocks.
static void
s_read_pipe(s_job_t *job)
{
    while (zsock_events(job->pipe) & ZMQ_POLLIN) {
        char *command = zstr_recv(job->pipe);
        if (!command || streq(command, "$TERM"))
            job->terminated = true;
        else if (streq(command, "CANCEL"))
            job->cancelled = true;
        zstr_free(&command);
        if (job->terminated)
            break;
    }
}

//  Wait for the command to end, enforcing the watchdog and what the owner
//  says. Returns TSR_OK with *status (timed out: job->timed_out is set),
//  or TSR_ECANCELLED ("$TERM": killed and reaped, no status).
static int
s_supervise(s_job_t *job, tsr_proc_t **proc_p, const char *stdout_path, tsr_proc_status_t *status,
            bool *timed_out)
{
    tsr_proc_t *proc = *proc_p;
    tsr_watchdog_t watchdog;
    tsr_watchdog_start(&watchdog, job->timeout_ms, s_output_bytes(job, stdout_path), zclock_mono());
    bool stopping = false; //  SIGTERM sent (SIGKILL follows in tsr_proc_poll)
    *timed_out = false;
    int pidfd = tsr_proc_fd(proc);
    while (true) {
        int64_t now_ms = zclock_mono();
        if (tsr_proc_poll(proc, now_ms, status) == TSR_OK)
            return TSR_OK;
        s_read_pipe(job);
        if (job->terminated) {
            tsr_proc_destroy(proc_p); //  SIGKILL to the group, reaped
            return TSR_ECANCELLED;
        }
        if (!stopping && job->cancelled) {
            tsr_log_debug("attempt=%" PRIu64 ": cancelled, terminating pid=%d", job->attempt_id,
                          (int)tsr_proc_pid(proc));
            tsr_proc_terminate(proc, now_ms);
            stopping = true;
        } else if (!stopping &&
                   tsr_watchdog_update(&watchdog, s_output_bytes(job, stdout_path), now_ms)) {
            job->silence_ms = (uint64_t)(now_ms - watchdog.changed_ms);
            tsr_log_info("attempt=%" PRIu64 ": no output for %" PRIu64 " ms, killing pid=%d",
                         job->attempt_id, job->silence_ms, (int)tsr_proc_pid(proc));
            tsr_proc_terminate(proc, now_ms);
            stopping = true;
            *timed_out = true;
        }
        zmq_pollitem_t items[2] = {{zsock_resolve(job->pipe), 0, ZMQ_POLLIN, 0},
                                   {NULL, pidfd, ZMQ_POLLIN, 0}};
        long wait_ms = pidfd >= 0 ? S_CHECK_MS : S_CHECK_NO_PIDFD_MS;
        int64_t remaining_ms = tsr_watchdog_remaining_ms(&watchdog, now_ms);
        if (!stopping && remaining_ms >= 0 && remaining_ms < wait_ms)
            wait_ms = (long)remaining_ms + 1;
        if (zmq_poll(items, pidfd >= 0 ? 2 : 1, wait_ms) < 0 && zmq_errno() != EINTR)
            tsr_log_warn("attempt=%" PRIu64 ": poll: %s", job->attempt_id,
                         zmq_strerror(zmq_errno()));
    }
}

//  tsr_fw_ctx_t.run: see tsr_framework.h.
static int
s_ctx_run(tsr_fw_ctx_t *ctx, const char *const *argv, const char *cwd, const char *stdout_path,
          const char *const *env, int *exit_code, int *term_signal)
{
    s_job_t *job = (s_job_t *)ctx->handle;
    assert(job && argv && argv[0] && exit_code && term_signal);
    *exit_code = -1;
    *term_signal = 0;
    s_read_pipe(job);
    if (job->cancelled || job->terminated)
        return TSR_ECANCELLED;
    char **envp = NULL;
    int rc = tsr_jobenv_overlay((const char *const *)job->envp, env, &envp);
    if (rc != TSR_OK) {
        s_log_note(job, "tessera: invalid environment for '%s'\n", argv[0]);
        return rc;
    }
    tsr_spawn_opts_t opts = {
        .argv = argv,
        .envp = (const char *const *)envp,
        .cwd = cwd ? cwd : job->workdir,
        .stdout_path = stdout_path ? stdout_path : job->command_log_path,
        .stderr_path = job->command_log_path,
        .cpus = job->cpu_count ? &job->cpuset : NULL,
        .run_as_user = job->run_as_user,
        .kill_grace_ms = job->kill_grace_ms,
    };
    tsr_proc_t *proc = NULL;
    rc = tsr_spawn(&opts, &proc);
    tsr_jobenv_free(&envp);
    if (rc != TSR_OK) {
        job->last_exit_code = S_EXIT_NOT_STARTED;
        s_log_note(job, "tessera: cannot start '%s' in %s: %s\n", argv[0], opts.cwd,
                   tsr_strerror(rc));
        return rc;
    }
    tsr_proc_status_t status;
    memset(&status, 0, sizeof status);
    bool timed_out = false;
    rc = s_supervise(job, &proc, stdout_path, &status, &timed_out);
    tsr_proc_destroy(&proc);
    s_append_command_log(job);
    if (timed_out)
        s_log_note(job, "\ntessera: no output for %.1f s (the per-test limit): killed\n",
                   (double)job->silence_ms / 1000.0);
    if (rc != TSR_OK)
        return rc;
    job->user_ms += status.user_ms;
    job->sys_ms += status.sys_ms;
    if (status.max_rss_kb > job->max_rss_kb)
        job->max_rss_kb = status.max_rss_kb;
    job->last_exit_code = status.exit_code;
    if (status.term_signal != 0)
        job->term_signal = status.term_signal;
    *exit_code = status.exit_code;
    *term_signal = status.term_signal;
    tsr_log_debug("attempt=%" PRIu64 " command=%s exit=%d signal=%d duration_ms=%" PRIu64,
                  job->attempt_id, argv[0], status.exit_code, status.term_signal,
                  status.duration_ms);
    if (timed_out) {
        job->timed_out = true;
        return TSR_ETIMEOUT;
    }
    if (job->cancelled)
        return TSR_ECANCELLED; //  ended by our SIGTERM: not the runner's verdict
    return TSR_OK;
}

//  ---------------------------------------------------------------- the worker

static void *
s_string_dup(const void *item)
{
    return strdup((const char *)item);
}

static void
s_string_free(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
}

//  A string list as the adapters expect: adding copies, destroying frees.
static zlistx_t *
s_strlist_new(void)
{
    zlistx_t *list = zlistx_new();
    zlistx_set_duplicator(list, s_string_dup);
    zlistx_set_destructor(list, s_string_free);
    return list;
}

//  The list's strings as an array (borrowed strings); caller frees the array.
static char **
s_strlist_array(zlistx_t *list, size_t *count_out)
{
    *count_out = zlistx_size(list);
    char **array = (char **)zmalloc((*count_out + 1) * sizeof(char *));
    size_t index = 0;
    for (char *item = (char *)zlistx_first(list); item; item = (char *)zlistx_next(list))
        array[index++] = item;
    return array;
}

//  Whether a line says "error:" (any case; not Rust's "error::" paths)
static bool
s_says_error(const char *text)
{
    for (const char *at = strcasestr(text, "error:"); at; at = strcasestr(at + 6, "error:"))
        if (at[6] != ':')
            return true;
    return false;
}

//  The tool's own complaint from the end of the attempt's log, in `line`
//  ("" if none): the last line saying "error:" (a backtrace or a hint may
//  follow it, as after rustup's "error: rustup could not choose a version
//  of cargo"), else the last non-blank line.
static void
s_log_complaint(s_job_t *job, char *line, size_t size)
{
    char tail[4096];
    size_t length = 0;
    line[0] = '\0';
    if (tsr_exec_tail(job->log_path, tail, sizeof tail - 1, &length) != TSR_OK)
        return;
    tail[length] = '\0';
    const char *chosen = NULL;
    bool chosen_error = false;
    for (char *start = tail, *end; *start; start = end) {
        end = start + strcspn(start, "\n");
        if (*end)
            *end++ = '\0';
        const char *text = start;
        while (isspace((unsigned char)*text))
            text++;
        if (!*text)
            continue;
        bool error = s_says_error(text);
        if (error || !chosen_error) {
            chosen = text;
            chosen_error = error;
        }
    }
    if (chosen)
        snprintf(line, size, "%.*s", (int)(size - 1), chosen);
}

//  What a failing adapter leaves as the Result's error and exit code: the
//  reason, and for a tool whose output made no sense its exit code and the
//  last line it printed.
static void
s_failure(s_job_t *job, const char *what, int rc, char *error, size_t size, int *exit_code)
{
    if (rc == TSR_ETIMEOUT)
        snprintf(error, size, "%s %s failed: no output for %.1f s (the per-test limit)",
                 job->framework, what, (double)job->silence_ms / 1000.0);
    else if (rc == -ENOENT && job->last_exit_code == S_EXIT_NOT_STARTED)
        snprintf(error, size, "%s %s failed: command not found: %s", job->framework, what,
                 job->argv[0]);
    else {
        char line[240];
        s_log_complaint(job, line, sizeof line);
        snprintf(error, size, "%s %s failed: %s (%s exited %d%s%s)", job->framework, what,
                 tsr_strerror(rc), job->argv[0], job->last_exit_code, *line ? ": " : "", line);
    }
    *exit_code = job->last_exit_code != 0 ? job->last_exit_code : 1;
}

//  Build, pack and post the Result; the strings stay borrowed from the lists.
static void
s_post_result(s_job_t *job, Tessera__Result *result, zlistx_t *listed, zlistx_t *list_errors,
              tsr_results_t *results)
{
    char **listed_array = NULL;
    char **errors_array = NULL;
    Tessera__TestResult *tests = NULL;
    Tessera__TestResult **test_ptrs = NULL;
    if (listed) {
        listed_array = s_strlist_array(listed, &result->n_listed);
        result->listed = listed_array;
    }
    if (list_errors) {
        errors_array = s_strlist_array(list_errors, &result->n_list_errors);
        result->list_errors = errors_array;
    }
    if (results) {
        size_t count = tsr_results_size(results);
        tests = (Tessera__TestResult *)zmalloc((count + 1) * sizeof(Tessera__TestResult));
        test_ptrs = (Tessera__TestResult **)zmalloc((count + 1) * sizeof(Tessera__TestResult *));
        for (size_t index = 0; index < count; index++) {
            const tsr_test_result_t *test = tsr_results_at(results, index);
            tessera__test_result__init(&tests[index]);
            tests[index].id = test->id;
            tests[index].outcome = test->outcome;
            tests[index].duration_ms = test->duration_ms;
            tests[index].message = test->message ? test->message : (char *)"";
            test_ptrs[index] = &tests[index];
        }
        result->n_tests = count;
        result->tests = test_ptrs;
    }
    size_t packed_size = tessera__result__get_packed_size(result);
    zframe_t *frame = zframe_new(NULL, packed_size);
    tessera__result__pack(result, zframe_data(frame));
    zmsg_t *message = zmsg_new();
    zmsg_addstr(message, "RESULT");
    zmsg_append(message, &frame);
    if (zmsg_send(&message, job->pipe) != 0)
        zmsg_destroy(&message);
    free(test_ptrs);
    free(tests);
    free(errors_array);
    free(listed_array);
}

static void
s_worker(zsock_t *pipe, void *args)
{
    s_job_t *job = (s_job_t *)args;
    job->pipe = pipe;
    zsock_signal(pipe, 0);
    int64_t started_ms = zclock_mono();
    const tsr_framework_t *framework = tsr_framework_find(job->framework);
    tsr_fw_ctx_t ctx = {
        .workdir = job->workdir,
        .scratch_dir = job->scratch_dir,
        .cache_dir = job->cache_dir,
        .argv = (const char *const *)job->argv,
        .run = s_ctx_run,
        .handle = job,
    };
    Tessera__Usage usage = TESSERA__USAGE__INIT;
    Tessera__Result result = TESSERA__RESULT__INIT;
    result.attempt_id = job->attempt_id;
    result.n_cpus = job->cpu_count;
    result.cpus = job->cpus;
    result.usage = &usage;
    char error[512] = "";
    zlistx_t *listed = NULL;
    zlistx_t *list_errors = NULL;
    zlistx_t *test_ids = NULL;
    tsr_results_t *results = NULL;
    int rc = TSR_OK;
    if (!framework) {
        snprintf(error, sizeof error, "unknown test framework '%s'", job->framework);
        result.exit_code = S_EXIT_NOT_STARTED;
        s_log_note(job, "tessera: %s\n", error);
    } else if (job->list) {
        listed = s_strlist_new();
        list_errors = s_strlist_new();
        rc = framework->list(&ctx, listed, list_errors);
        if (rc == TSR_OK)
            result.exit_code = 0;
        else {
            zlistx_purge(listed);
            zlistx_purge(list_errors);
            s_failure(job, "listing", rc, error, sizeof error, &result.exit_code);
        }
    } else {
        test_ids = zlistx_new(); //  borrowed strings (owner: job)
        for (size_t index = 0; job->test_ids[index]; index++)
            zlistx_add_end(test_ids, job->test_ids[index]);
        results = tsr_results_new();
        int exit_code = -1;
        rc = framework->run(&ctx, test_ids, results, &exit_code);
        result.exit_code = exit_code;
        if (rc != TSR_OK && rc != TSR_ECANCELLED)
            s_failure(job, "run", rc, error, sizeof error, &result.exit_code);
    }
    s_read_pipe(job);
    if (job->terminated)
        goto out; //  zactor_destroy is waiting for us: post nothing
    if (job->cancelled) {
        zstr_send(pipe, "CANCELLED");
        goto wait;
    }
    result.duration_ms = (uint64_t)(zclock_mono() - started_ms);
    result.timed_out = job->timed_out;
    result.term_signal = job->term_signal;
    usage.user_ms = job->user_ms;
    usage.sys_ms = job->sys_ms;
    usage.max_rss_kb = job->max_rss_kb;
    //  NUL-terminated for the marking's quote
    char tail[TSR_EXEC_TAIL_BYTES + 1];
    size_t tail_bytes = 0;
    if (tsr_exec_tail(job->log_path, tail, TSR_EXEC_TAIL_BYTES, &tail_bytes) != TSR_OK)
        tail_bytes = 0;
    tail[tail_bytes] = 0;
    result.output_tail.data = (uint8_t *)tail;
    result.output_tail.len = tail_bytes;
    if (results && rc == TSR_OK) {
        tsr_fwresult_end_t end = {
            .timed_out = job->timed_out,
            .exit_code = result.exit_code,
            .term_signal = job->term_signal,
            .silence_ms = job->silence_ms,
            .output_tail = tail,
        };
        const char *marked = tsr_fwresult_mark(framework, test_ids, results, &end);
        if (marked)
            tsr_log_info("attempt=%" PRIu64 " test=%s %s", job->attempt_id, marked,
                         job->timed_out ? "timed out" : "crashed");
    }
    if (*error)
        result.error = error;
    s_post_result(job, &result, listed, list_errors, results);
wait:
    //  The owner reads the outcome, then destroys us
    while (!job->terminated) {
        char *command = zstr_recv(pipe);
        if (!command || streq(command, "$TERM"))
            job->terminated = true;
        zstr_free(&command);
    }
out:
    tsr_results_destroy(&results);
    zlistx_destroy(&test_ids);
    zlistx_destroy(&listed);
    zlistx_destroy(&list_errors);
    s_job_destroy(&job);
}

//  ---------------------------------------------------------------- the owner's side

tsr_fwrun_t *
tsr_fwrun_new(const tsr_fwrun_spec_t *spec)
{
    assert(spec);
    tsr_fwrun_t *self = (tsr_fwrun_t *)zmalloc(sizeof(tsr_fwrun_t));
    self->actor = zactor_new(s_worker, s_job_new(spec));
    assert(self->actor);
    return self;
}

void
tsr_fwrun_destroy(tsr_fwrun_t **self_p)
{
    assert(self_p);
    tsr_fwrun_t *self = *self_p;
    if (!self)
        return;
    zactor_destroy(&self->actor);
    free(self);
    *self_p = NULL;
}

zsock_t *
tsr_fwrun_sock(tsr_fwrun_t *self)
{
    assert(self);
    return zactor_sock(self->actor);
}

void
tsr_fwrun_cancel(tsr_fwrun_t *self)
{
    assert(self);
    if (zstr_send(self->actor, "CANCEL") != 0)
        tsr_log_debug("cannot ask a framework worker to cancel");
}

int
tsr_fwrun_recv(tsr_fwrun_t *self, Tessera__Result **result_out)
{
    assert(self && result_out);
    *result_out = NULL;
    zmsg_t *message = zmsg_recv(self->actor);
    if (!message)
        return TSR_EPROTO;
    int rc = TSR_EPROTO;
    char *kind = zmsg_popstr(message);
    if (kind && streq(kind, "CANCELLED"))
        rc = TSR_ECANCELLED;
    else if (kind && streq(kind, "RESULT") && zmsg_size(message) == 1) {
        zframe_t *frame = zmsg_first(message);
        *result_out = tessera__result__unpack(NULL, zframe_size(frame), zframe_data(frame));
        rc = *result_out ? TSR_OK : TSR_EPROTO;
    }
    zstr_free(&kind);
    zmsg_destroy(&message);
    return rc;
}
