/*  tsr_spawn - start and supervise a command (posix_spawn, never fork)
    The only place that starts processes (STYLE 5.8: no LMDB or ZeroMQ state
    may cross a fork). A tsr_proc_t owns one child, which leads its own
    process group, and the child's pidfd. Reaping is polled by the owner
    (zloop timer or pidfd), never done in a signal handler. Callers: the
    agent's executor. One owner; any thread.                               */
#define _GNU_SOURCE    //  cpu_set_t, addchdir_np, addclosefrom_np, pidfd_open
#include "tsr_spawn.h" //  own header first: proves it self-contained

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

//  Grace between SIGTERM and SIGKILL when the options give none.
#define S_DEFAULT_GRACE_MS 2000
//  Poll interval of tsr_proc_wait when the kernel has no pidfds.
#define S_FALLBACK_POLL_MS 5

struct _tsr_proc_t {
    pid_t pid;                //  the child, which is also its process group id
    int pidfd;                //  owned; readable once the child exits; -1 if none
    int64_t start_ms;         //  zclock_mono() just after the spawn
    uint64_t timeout_ms;      //  0 = none
    uint64_t kill_grace_ms;   //  SIGTERM to SIGKILL
    bool term_sent;           //  SIGTERM went to the group (timeout or terminate)
    int64_t kill_at_ms;       //  when SIGKILL follows, once term_sent (zclock_mono)
    bool kill_sent;           //  SIGKILL went to the group
    bool timed_out;           //  the SIGTERM was for the timeout
    bool reaped;              //  the child is gone; `status` is final
    tsr_proc_status_t status; //  valid once reaped
};

//  What running as another user adds: a setpriv prefix and, when we pass
//  our own environment on, that user's HOME, USER and LOGNAME.
typedef struct {
    const char **argv; //  owned array; strings borrowed except reuid/regid
    char **envp;       //  owned array or NULL; strings borrowed except the three below
    char *reuid;       //  owned "--reuid=NAME"
    char *regid;       //  owned "--regid=GID"
    char *home;        //  owned "HOME=..."
    char *user;        //  owned "USER=..."
    char *logname;     //  owned "LOGNAME=..."
} s_as_user_t;

static void
s_as_user_clear(s_as_user_t *as_user)
{
    free(as_user->argv);
    free(as_user->envp);
    free(as_user->reuid);
    free(as_user->regid);
    free(as_user->home);
    free(as_user->user);
    free(as_user->logname);
    memset(as_user, 0, sizeof *as_user);
}

static char *
s_concat(const char *prefix, const char *text)
{
    char *result = NULL;
    int length = asprintf(&result, "%s%s", prefix, text);
    assert(length >= 0);
    return result;
}

static bool
s_starts_with(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

//  Wrap `argv` in setpriv for `name`. Returns TSR_OK, TSR_EINVAL for an
//  unknown user, or -errno.
static int
s_as_user_prepare(s_as_user_t *as_user, const char *name, const char *const *argv,
                  bool own_environment)
{
    long suggested = sysconf(_SC_GETPW_R_SIZE_MAX);
    size_t buffer_size = suggested > 0 ? (size_t)suggested : 16384;
    char *buffer = NULL;
    struct passwd entry;
    struct passwd *found = NULL;
    int rc;
    while (true) {
        buffer = realloc(buffer, buffer_size);
        assert(buffer);
        rc = getpwnam_r(name, &entry, buffer, buffer_size, &found);
        if (rc != ERANGE)
            break;
        buffer_size *= 2;
    }
    if (rc != 0) {
        rc = -rc;
        goto out;
    }
    if (!found) {
        rc = TSR_EINVAL;
        goto out;
    }
    char gid_text[32];
    snprintf(gid_text, sizeof gid_text, "%lu", (unsigned long)entry.pw_gid);
    as_user->reuid = s_concat("--reuid=", name);
    as_user->regid = s_concat("--regid=", gid_text);

    size_t argc = 0;
    while (argv[argc])
        argc++;
    as_user->argv = calloc(argc + 6, sizeof *as_user->argv);
    assert(as_user->argv);
    as_user->argv[0] = "setpriv";
    as_user->argv[1] = as_user->reuid;
    as_user->argv[2] = as_user->regid;
    as_user->argv[3] = "--init-groups";
    as_user->argv[4] = "--";
    for (size_t index = 0; index < argc; index++)
        as_user->argv[5 + index] = argv[index];

    if (own_environment) {
        as_user->home = s_concat("HOME=", entry.pw_dir);
        as_user->user = s_concat("USER=", entry.pw_name);
        as_user->logname = s_concat("LOGNAME=", entry.pw_name);
        size_t count = 0;
        while (environ[count])
            count++;
        as_user->envp = calloc(count + 4, sizeof *as_user->envp);
        assert(as_user->envp);
        size_t kept = 0;
        for (size_t index = 0; index < count; index++)
            if (!s_starts_with(environ[index], "HOME=") &&
                !s_starts_with(environ[index], "USER=") &&
                !s_starts_with(environ[index], "LOGNAME="))
                as_user->envp[kept++] = environ[index];
        as_user->envp[kept++] = as_user->home;
        as_user->envp[kept++] = as_user->user;
        as_user->envp[kept++] = as_user->logname;
    }
    rc = TSR_OK;
out:
    free(buffer);
    return rc;
}

//  Signals a daemon may ignore or handle, back to their defaults in the child.
static const int s_default_signals[] = {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD};

static int
s_attr_init(posix_spawnattr_t *attr)
{
    int rc = posix_spawnattr_init(attr);
    if (rc != 0)
        return -rc;
    sigset_t empty;
    sigemptyset(&empty);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (size_t index = 0; index < sizeof s_default_signals / sizeof s_default_signals[0]; index++)
        sigaddset(&defaults, s_default_signals[index]);
    //  Its own group (pgroup 0: the child's pid), so signals reach all it starts
    short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    rc = posix_spawnattr_setflags(attr, flags);
    if (rc == 0)
        rc = posix_spawnattr_setpgroup(attr, 0);
    if (rc == 0)
        rc = posix_spawnattr_setsigmask(attr, &empty);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(attr, &defaults);
    return -rc;
}

static int
s_actions_init(posix_spawn_file_actions_t *actions, const tsr_spawn_opts_t *opts)
{
    int rc = posix_spawn_file_actions_init(actions);
    if (rc != 0)
        return -rc;
    const int out_flags = O_WRONLY | O_CREAT | O_TRUNC;
    const char *out_path = opts->stdout_path ? opts->stdout_path : "/dev/null";
    bool shared = (!opts->stdout_path && !opts->stderr_path) ||
                  (opts->stdout_path && opts->stderr_path &&
                   strcmp(opts->stdout_path, opts->stderr_path) == 0);
    //  Opened in the child, at fds 0-2 and without O_CLOEXEC: only it holds them
    rc = posix_spawn_file_actions_addopen(actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    if (rc == 0)
        rc = posix_spawn_file_actions_addopen(actions, STDOUT_FILENO, out_path, out_flags, 0644);
    if (rc == 0 && shared)
        rc = posix_spawn_file_actions_adddup2(actions, STDOUT_FILENO, STDERR_FILENO);
    else if (rc == 0)
        rc = posix_spawn_file_actions_addopen(actions, STDERR_FILENO,
                                              opts->stderr_path ? opts->stderr_path : "/dev/null",
                                              out_flags, 0644);
    //  After the opens, so their relative paths mean what the caller meant
    if (rc == 0 && opts->cwd)
        rc = posix_spawn_file_actions_addchdir_np(actions, opts->cwd);
    //  No descriptor of ours leaks into a job (LMDB's are not close-on-exec)
    if (rc == 0)
        rc = posix_spawn_file_actions_addclosefrom_np(actions, STDERR_FILENO + 1);
    return -rc;
}

int
tsr_spawn(const tsr_spawn_opts_t *opts, tsr_proc_t **proc_out)
{
    assert(opts);
    assert(proc_out);
    *proc_out = NULL;
    if (!opts->argv || !opts->argv[0] || opts->argv[0][0] == '\0')
        return TSR_EINVAL;

    const char *const *argv = opts->argv;
    char *const *envp = opts->envp ? (char *const *)opts->envp : environ;
    s_as_user_t as_user = {0};
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    bool attr_ready = false;
    bool actions_ready = false;
    int rc = TSR_OK;

    if (opts->run_as_user && geteuid() == 0) {
        rc = s_as_user_prepare(&as_user, opts->run_as_user, opts->argv, !opts->envp);
        if (rc != TSR_OK)
            goto out;
        argv = as_user.argv;
        if (as_user.envp)
            envp = as_user.envp;
    }
    rc = s_attr_init(&attr);
    attr_ready = rc == TSR_OK;
    if (rc != TSR_OK)
        goto out;
    rc = s_actions_init(&actions, opts);
    actions_ready = rc == TSR_OK;
    if (rc != TSR_OK)
        goto out;

    //  posix_spawn has no affinity attribute, and a child inherits the mask
    //  of the thread that spawns it: so this thread takes the job's mask for
    //  the duration of the call, then gets its own back.
    cpu_set_t own_cpus;
    if (opts->cpus) {
        if (sched_getaffinity(0, sizeof own_cpus, &own_cpus) < 0 ||
            sched_setaffinity(0, sizeof opts->cpus->set, &opts->cpus->set) < 0) {
            rc = -errno;
            goto out;
        }
    }
    pid_t pid = 0;
    int spawn_rc = posix_spawnp(&pid, argv[0], &actions, &attr, (char *const *)argv, envp);
    if (opts->cpus && sched_setaffinity(0, sizeof own_cpus, &own_cpus) < 0)
        tsr_log_warn("could not restore this thread's CPU affinity: %s", strerror(errno));
    if (spawn_rc != 0) {
        //  glibc reaps a child whose exec failed: nothing is left behind
        rc = -spawn_rc;
        goto out;
    }

    tsr_proc_t *self = (tsr_proc_t *)zmalloc(sizeof *self);
    self->pid = pid;
    self->pidfd = pidfd_open(pid, 0); //  -1 on kernels without pidfds: wait polls then
    self->start_ms = zclock_mono();
    self->timeout_ms = opts->timeout_ms;
    self->kill_grace_ms = opts->kill_grace_ms ? opts->kill_grace_ms : S_DEFAULT_GRACE_MS;
    *proc_out = self;
out:
    if (actions_ready)
        posix_spawn_file_actions_destroy(&actions);
    if (attr_ready)
        posix_spawnattr_destroy(&attr);
    s_as_user_clear(&as_user);
    return rc;
}

pid_t
tsr_proc_pid(tsr_proc_t *self)
{
    assert(self);
    return self->pid;
}

int
tsr_proc_fd(tsr_proc_t *self)
{
    assert(self);
    return self->pidfd;
}

//  Signal the whole group; best effort (it may be gone already).
static void
s_signal_group(tsr_proc_t *self, int signal_number)
{
    if (kill(-self->pid, signal_number) < 0 && errno != ESRCH)
        tsr_log_warn("kill group=%d signal=%d: %s", (int)self->pid, signal_number, strerror(errno));
}

static uint64_t
s_timeval_ms(struct timeval value)
{
    return (uint64_t)value.tv_sec * 1000 + (uint64_t)value.tv_usec / 1000;
}

//  Reap the child if it has exited (or, when `block`, once it does).
//  Returns TSR_OK with self->status final, or -EAGAIN.
static int
s_reap(tsr_proc_t *self, bool block)
{
    //  First look without reaping: while the leader is an unreaped zombie
    //  its pid, the group id, cannot be reused, so the SIGKILL below can
    //  only reach what the job left running in the background.
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int flags = WEXITED | WNOWAIT | (block ? 0 : WNOHANG);
    int rc;
    while ((rc = waitid(P_PID, (id_t)self->pid, &info, flags)) < 0 && errno == EINTR)
        ;
    if (rc < 0) {
        //  Someone else reaped our child (SIGCHLD ignored?): no status to report
        tsr_log_warn("waitid pid=%d: %s", (int)self->pid, strerror(errno));
        self->status.exit_code = -1;
        self->status.term_signal = 0;
        self->status.timed_out = self->timed_out;
        self->status.duration_ms = (uint64_t)(zclock_mono() - self->start_ms);
        self->reaped = true;
        return TSR_OK;
    }
    if (info.si_pid == 0)
        return -EAGAIN;
    s_signal_group(self, SIGKILL);

    int wait_status = 0;
    struct rusage usage;
    memset(&usage, 0, sizeof usage);
    while (wait4(self->pid, &wait_status, 0, &usage) < 0 && errno == EINTR)
        ;
    tsr_proc_status_t *status = &self->status;
    status->exit_code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
    status->term_signal = WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : 0;
    status->timed_out = self->timed_out;
    status->duration_ms = (uint64_t)(zclock_mono() - self->start_ms);
    status->user_ms = s_timeval_ms(usage.ru_utime);
    status->sys_ms = s_timeval_ms(usage.ru_stime);
    status->max_rss_kb = (uint64_t)usage.ru_maxrss; //  kilobytes on Linux
    self->reaped = true;
    return TSR_OK;
}

//  SIGTERM at the timeout, SIGKILL when the grace after any SIGTERM ends.
static void
s_enforce_deadlines(tsr_proc_t *self, int64_t now_ms)
{
    if (!self->term_sent && self->timeout_ms > 0 && self->timeout_ms <= INT64_MAX &&
        now_ms - self->start_ms >= (int64_t)self->timeout_ms) {
        self->timed_out = true;
        tsr_proc_terminate(self, now_ms);
    } else if (self->term_sent && !self->kill_sent && now_ms >= self->kill_at_ms) {
        s_signal_group(self, SIGKILL);
        self->kill_sent = true;
    }
}

//  Milliseconds from `now_ms` to the next deadline, or -1 if none is left.
static int64_t
s_next_deadline_ms(const tsr_proc_t *self, int64_t now_ms)
{
    int64_t deadline_ms;
    if (!self->term_sent && self->timeout_ms > 0 && self->timeout_ms <= INT64_MAX)
        deadline_ms = self->start_ms + (int64_t)self->timeout_ms;
    else if (self->term_sent && !self->kill_sent)
        deadline_ms = self->kill_at_ms;
    else
        return -1;
    return deadline_ms > now_ms ? deadline_ms - now_ms : 0;
}

int
tsr_proc_poll(tsr_proc_t *self, int64_t now_ms, tsr_proc_status_t *status_out)
{
    assert(self);
    assert(status_out);
    if (!self->reaped && s_reap(self, false) != TSR_OK) {
        s_enforce_deadlines(self, now_ms);
        return -EAGAIN;
    }
    *status_out = self->status;
    return TSR_OK;
}

int
tsr_proc_wait(tsr_proc_t *self, tsr_proc_status_t *status_out)
{
    assert(self);
    assert(status_out);
    while (true) {
        int64_t now_ms = zclock_mono();
        int rc = tsr_proc_poll(self, now_ms, status_out);
        if (rc != -EAGAIN)
            return rc;
        int64_t wait_ms = s_next_deadline_ms(self, now_ms);
        if (self->pidfd >= 0) {
            //  Sleep until the child exits or the next deadline, whichever first
            struct pollfd entry = {.fd = self->pidfd, .events = POLLIN};
            int timeout = wait_ms < 0 ? -1 : wait_ms > INT_MAX ? INT_MAX : (int)wait_ms;
            if (poll(&entry, 1, timeout) < 0 && errno != EINTR)
                tsr_log_warn("poll pidfd pid=%d: %s", (int)self->pid, strerror(errno));
        } else {
            struct timespec pause = {0, S_FALLBACK_POLL_MS * 1000000L};
            nanosleep(&pause, NULL);
        }
    }
}

void
tsr_proc_terminate(tsr_proc_t *self, int64_t now_ms)
{
    assert(self);
    if (self->reaped || self->term_sent)
        return;
    s_signal_group(self, SIGTERM);
    self->term_sent = true;
    self->kill_at_ms = now_ms + (int64_t)self->kill_grace_ms;
}

void
tsr_proc_destroy(tsr_proc_t **self_p)
{
    assert(self_p);
    tsr_proc_t *self = *self_p;
    if (!self)
        return;
    if (!self->reaped) {
        s_signal_group(self, SIGKILL);
        int rc = s_reap(self, true);
        assert(rc == TSR_OK);
    }
    if (self->pidfd >= 0)
        close(self->pidfd);
    free(self);
    *self_p = NULL;
}
