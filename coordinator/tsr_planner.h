/*  tsr_planner - how a job becomes shards, and what each shard runs
    Command jobs run as `shards` shards (0 = auto = 1), each the job's argv
    with TSR_SHARD_INDEX/TSR_SHARD_COUNT set by the agent from Assign.
    Test jobs (framework pytest, cargo, npm) start as one LIST shard; once
    their tests are known, tsr_planner_tests splits them by estimated time
    (tsr_testplan over the timing history, groups from the adapter) into
    RUN shards, longest first. No sockets, no clock; reads the history.
    Loop thread of the coordinator.                                          */
#ifndef TSR_PLANNER_H
#define TSR_PLANNER_H

#include "tessera.pb-c.h"
#include "tsr_common.h"
#include "tsr_history.h"
#include "tsr_run.h"

//  Most jobs one run may have, most shards one job may have, and most slots
//  one attempt may ask for.
#define TSR_PLANNER_MAX_JOBS 1000
#define TSR_PLANNER_MAX_SHARDS 10000
#define TSR_PLANNER_MAX_THREADS 1024
//  Most copies of a test job's plan (--repeat N).
#define TSR_PLANNER_MAX_REPEAT 1000
//  Start-up cost of one test process before the history has learnt it, ms.
#define TSR_PLANNER_DEFAULT_STARTUP_MS 300.0

//  One RUN shard of a test job's plan.
typedef struct {
    zlistx_t *units; //  owned strings: the ids it runs, in the listing's order
    double cost_ms;  //  estimated wall time, start-up included
} tsr_planner_shard_t;

//  Check a submitted job and decide its shard count (a test job: 1, its
//  LIST). Returns TSR_OK with *count_out >= 1, or TSR_EINVAL with a static
//  reason in *reason_out (also for an unknown framework).
TSR_NODISCARD int tsr_planner_plan(const Tessera__JobSpec *job, uint32_t *count_out,
                                   const char **reason_out);

//  Check a whole Submit: jobs present and not too many, names unique, each job
//  plannable (tsr_planner_plan), `needs` naming other existing jobs without a
//  cycle. Returns TSR_OK with shard_counts[i] (room for submit->n_jobs) for
//  each job, or TSR_EINVAL with *error_out (caller frees) naming the problem.
TSR_NODISCARD int tsr_planner_check(const Tessera__Submit *submit, uint32_t *shard_counts,
                                    char **error_out);

//  Fill the command of `shard`'s attempt into `assign`: argv, env, workdir,
//  timeout (a test job's is per test), threads (a LIST takes 1), framework,
//  kind, test ids, project. Pointers in `assign` borrow from the shard and
//  its run (valid while the run lives; only pack reads them).
void tsr_planner_assign(const tsr_shard_t *shard, Tessera__Assign *assign);

//  Slots one attempt of the shard takes: 1 for a LIST, else the job's threads.
uint32_t tsr_planner_threads(const tsr_shard_t *shard);

//  Plan a listed test job's RUN shards: its listed tests in listing order,
//  grouped by the adapter's group(), estimated from `history` (may be
//  NULL: no history) under (run project, job name), with the learnt
//  start-up cost (else TSR_PLANNER_DEFAULT_STARTUP_MS), split for `slots`
//  (0 counts as 1) or into JobSpec.shards. Shards (tsr_planner_shard_t *)
//  are appended to `shards_out` (from tsr_planner_shards_new) longest
//  first; none when there are no tests. Returns TSR_OK or TSR_EINVAL.
TSR_NODISCARD int tsr_planner_tests(tsr_job_t *job, tsr_history_t *history, uint32_t slots,
                                    zlistx_t *shards_out);

//  A list for tsr_planner_tests, with its destructor.
zlistx_t *tsr_planner_shards_new(void);

#endif
