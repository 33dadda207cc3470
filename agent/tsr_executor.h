/*  tsr_executor - the agent's running shard processes
    Starts each attempt's command with tsr_spawn (own process group, pinned
    CPUs, stdout and stderr into one log file, a timeout), polls them all
    from the agent's loop timer and reports each end once, with the tail of
    its log. A cancelled attempt is terminated and reported as cancelled.
    One owner; the agent's loop thread.                                     */
#ifndef TSR_EXECUTOR_H
#define TSR_EXECUTOR_H

#include "tsr_common.h"
#include "tsr_cpuset.h"
#include "tsr_spawn.h"

//  Bytes of the end of a log kept for the Result (output_tail).
#define TSR_EXEC_TAIL_BYTES 4096

typedef struct {
    uint64_t attempt_id;      //  key; not 0
    const char *const *argv;  //  NULL-terminated
    const char *const *envp;  //  NULL-terminated
    const char *cwd;          //  where it runs
    const char *log_path;     //  stdout and stderr, created
    const tsr_cpuset_t *cpus; //  pinned to these
    const char *run_as_user;  //  NULL = ourselves
    uint64_t timeout_ms;      //  0 = none
} tsr_exec_spec_t;

typedef struct {
    uint64_t attempt_id;               //  which
    bool cancelled;                    //  tsr_executor_cancel ended it
    tsr_proc_status_t status;          //  exit, signal, timeout, usage
    uint8_t tail[TSR_EXEC_TAIL_BYTES]; //  last bytes of the log
    size_t tail_bytes;                 //  used bytes of `tail`
} tsr_exec_end_t;

//  One process ended. `end` is borrowed for the call.
typedef void(tsr_exec_end_fn)(void *arg, const tsr_exec_end_t *end);

typedef struct _tsr_executor_t tsr_executor_t;

tsr_executor_t *tsr_executor_new(void);

//  NULL-safe; kills (SIGKILL) and reaps whatever still runs, unreported.
void tsr_executor_destroy(tsr_executor_t **self_p);

//  Start an attempt. Returns TSR_OK, TSR_EINVAL (id 0 or already running),
//  or tsr_spawn's error (TSR_ESPAWN, -ENOENT for an unknown command, -errno).
TSR_NODISCARD int tsr_executor_start(tsr_executor_t *self, const tsr_exec_spec_t *spec,
                                     int64_t now_ms);

//  A descriptor that becomes readable when the attempt's process exits (for
//  a zloop poller), or -1 (unknown attempt, or no pidfds: poll on a timer).
//  Borrowed: closed when the end is reported or the attempt killed.
int tsr_executor_fd(tsr_executor_t *self, uint64_t attempt_id);

//  Processes started and not yet reported.
size_t tsr_executor_running(tsr_executor_t *self);
bool tsr_executor_has(tsr_executor_t *self, uint64_t attempt_id);

//  SIGTERM the attempt's group now (SIGKILL after the grace, on later
//  polls); its end will be reported with `cancelled` set.
void tsr_executor_cancel(tsr_executor_t *self, uint64_t attempt_id, int64_t now_ms);

//  Kill (SIGKILL) and reap one attempt now, unreported. False if unknown.
bool tsr_executor_kill(tsr_executor_t *self, uint64_t attempt_id);

//  Reap what ended (enforcing timeouts against `now_ms`) and call `fn` for
//  each, once. Returns the number reported.
size_t tsr_executor_poll(tsr_executor_t *self, int64_t now_ms, tsr_exec_end_fn *fn, void *arg);

//  Read the last `size` bytes of the file at `path` into `buffer`;
//  *read_out gets the count (0 if the file is missing). TSR_OK or -errno.
TSR_NODISCARD int tsr_exec_tail(const char *path, void *buffer, size_t size, size_t *read_out);

#endif
