/*  tsr_spawn - start and supervise a command (posix_spawn, never fork)
    The child gets its own process group, a working directory, an environment,
    a CPU affinity (the calling thread's mask is set around posix_spawn so the
    child inherits it), stdout/stderr to files. A timeout sends SIGTERM to the
    whole group, then SIGKILL after a grace period. Resource usage comes from
    wait4. Polled from the owner's loop, no signal handlers. One owner.      */
#ifndef TSR_SPAWN_H
#define TSR_SPAWN_H

#include "tsr_common.h"
#include "tsr_cpuset.h"
#include <sys/types.h>

typedef struct {
    const char *const *argv;  //  NULL-terminated; argv[0] searched in PATH
    const char *const *envp;  //  NULL-terminated; NULL = inherit ours
    const char *cwd;          //  NULL = ours
    const char *stdout_path;  //  created/truncated; NULL = /dev/null
    const char *stderr_path;  //  NULL = /dev/null; equal to stdout_path = one file
    const tsr_cpuset_t *cpus; //  NULL = inherit
    const char *run_as_user;  //  NULL = ourselves; else (root only) via setpriv
    uint64_t timeout_ms;      //  0 = none
    uint64_t kill_grace_ms;   //  SIGTERM -> SIGKILL; 0 = 2000
} tsr_spawn_opts_t;

typedef struct {
    int exit_code;        //  -1 if killed by a signal
    int term_signal;      //  0 if exited
    bool timed_out;       //  we killed it at its timeout
    uint64_t duration_ms; //  wall time, start to reap
    uint64_t user_ms;     //  rusage
    uint64_t sys_ms;
    uint64_t max_rss_kb;
} tsr_proc_status_t;

typedef struct _tsr_proc_t tsr_proc_t;

//  Start the command. Paths in `opts` are relative to our working
//  directory; all of `opts` is copied or used before returning. Returns
//  TSR_OK with *proc_out set, or TSR_EINVAL (no argv, unknown run_as_user),
//  TSR_ESPAWN / -errno (command not found gives -ENOENT, with no zombie
//  left). Running as another user goes through setpriv, which reports a
//  missing command as exit code 127 instead. Any thread: the affinity is set
//  on the calling thread only, around the spawn.
TSR_NODISCARD int tsr_spawn(const tsr_spawn_opts_t *opts, tsr_proc_t **proc_out);

pid_t tsr_proc_pid(tsr_proc_t *self);

//  A descriptor that becomes readable when the child exits (its pidfd), for
//  a zloop_poller that then calls tsr_proc_poll; -1 if the kernel has no
//  pidfds (poll on a timer instead). Borrowed: valid until destroy.
int tsr_proc_fd(tsr_proc_t *self);

//  Non-blocking: reap if exited (TSR_OK, *status_out filled), else enforce the
//  timeout against `now_ms` (zclock_mono) and return -EAGAIN. When the child
//  exits, whatever it left running in its process group is SIGKILLed. Once
//  reaped, every call returns the same status.
TSR_NODISCARD int tsr_proc_poll(tsr_proc_t *self, int64_t now_ms, tsr_proc_status_t *status_out);

//  Block until exit (enforcing the timeout). Returns TSR_OK.
TSR_NODISCARD int tsr_proc_wait(tsr_proc_t *self, tsr_proc_status_t *status_out);

//  SIGTERM the whole group now; SIGKILL after the grace period (on later polls).
void tsr_proc_terminate(tsr_proc_t *self, int64_t now_ms);

//  NULL-safe. A still-running group is killed (SIGKILL) and reaped.
void tsr_proc_destroy(tsr_proc_t **self_p);

#endif
