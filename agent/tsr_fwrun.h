/*  tsr_fwrun - one framework attempt (list or run a shard) on a worker thread
    Framework adapters block (their commands run to completion), so each
    attempt of a test job runs its adapter in a zactor of its own, never on
    the agent's loop. The worker gets copies of all it needs (the workspace
    is materialised before it starts; it never touches the agent's cache or
    sockets) and lends the adapter a tsr_fw_ctx_t whose `run` spawns through
    tsr_spawn with the attempt's CPUs, user, environment and shard log, and
    kills the command's process group when it writes nothing for the
    per-test limit. It posts one message on its pipe when done: the whole
    Result, or "cancelled". The owner (the agent's loop) reads it with
    tsr_fwrun_recv when tsr_fwrun_sock is readable. One owner thread.      */
#ifndef TSR_FWRUN_H
#define TSR_FWRUN_H

#include "tessera.pb-c.h"
#include "tsr_common.h"

//  What the worker needs; tsr_fwrun_new copies all of it.
typedef struct {
    uint64_t attempt_id;         //  for the Result and logs
    const char *framework;       //  adapter name (tsr_framework_find)
    bool list;                   //  Assign.kind LIST; else RUN
    const char *const *argv;     //  the user's command, NULL-terminated
    const char *const *envp;     //  the job's environment (tsr_jobenv_build)
    const char *const *test_ids; //  RUN: the shard's ids in order, NULL-terminated
    const char *workdir;         //  where the command runs (workspace + Assign.workdir)
    const char *scratch_dir;     //  the attempt's private directory (exists)
    const char *cache_dir;       //  per project and framework, kept (exists)
    const char *log_path;        //  the shard log: every command's output, appended
    const uint32_t *cpus;        //  the attempt's CPUs (pinning and Result.cpus)
    size_t cpu_count;            //  entries of `cpus`
    const char *run_as_user;     //  NULL = ourselves
    uint64_t timeout_ms;         //  per test: kill after this long without output; 0 = none
    uint64_t kill_grace_ms;      //  SIGTERM to SIGKILL; 0 = tsr_spawn's default
    const char *steal_dir;       //  RUN of an adapter that can steal: ctx->steal_dir (the
                                 //  owner writes requests there); NULL = no stealing
} tsr_fwrun_spec_t;

typedef struct _tsr_fwrun_t tsr_fwrun_t;

//  Start the worker (copies `spec`). Never fails (aborts on OOM); an
//  unknown framework is reported in the Result's error.
tsr_fwrun_t *tsr_fwrun_new(const tsr_fwrun_spec_t *spec);

//  NULL-safe. A worker still running has its command's process group
//  SIGKILLed and is joined (promptly: the adapter's next command is not
//  started). Sets *self_p to NULL.
void tsr_fwrun_destroy(tsr_fwrun_t **self_p);

//  Readable when the worker has posted its outcome (for zloop_reader).
//  Borrowed; valid until destroy.
zsock_t *tsr_fwrun_sock(tsr_fwrun_t *self);

//  Ask the worker to stop: its command's group gets SIGTERM (SIGKILL after
//  the grace), no further command starts, and it posts "cancelled".
void tsr_fwrun_cancel(tsr_fwrun_t *self);

//  Read the worker's outcome (call when tsr_fwrun_sock is readable).
//  Returns TSR_OK with *result_out (the caller's: free it with
//  tessera__result__free_unpacked(result, NULL)), TSR_ECANCELLED (it was
//  cancelled: no Result), or TSR_EPROTO (an unexpected message).
TSR_NODISCARD int tsr_fwrun_recv(tsr_fwrun_t *self, Tessera__Result **result_out);

#endif
