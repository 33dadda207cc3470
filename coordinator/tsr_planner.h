/*  tsr_planner - how a job becomes shards, and what each shard runs
    Command jobs run as `shards` shards (0 = auto = 1), each the job's argv
    with TSR_SHARD_INDEX/TSR_SHARD_COUNT set by the agent from Assign.
    Framework jobs (pytest, cargo, npm: listing, timing-based grouping) plug
    in here (TODO(#4)); until then every job is planned as a command job.
    Pure: no sockets, no clock. Loop thread of the coordinator.              */
#ifndef TSR_PLANNER_H
#define TSR_PLANNER_H

#include "tessera.pb-c.h"
#include "tsr_common.h"
#include "tsr_run.h"

//  Most jobs one run may have, most shards one job may have, and most slots
//  one attempt may ask for.
#define TSR_PLANNER_MAX_JOBS 1000
#define TSR_PLANNER_MAX_SHARDS 10000
#define TSR_PLANNER_MAX_THREADS 1024

//  Check a submitted job and decide its shard count. Returns TSR_OK with
//  *count_out >= 1, or TSR_EINVAL with a static reason in *reason_out.
TSR_NODISCARD int tsr_planner_plan(const Tessera__JobSpec *job, uint32_t *count_out,
                                   const char **reason_out);

//  Check a whole Submit: jobs present and not too many, names unique, each job
//  plannable (tsr_planner_plan), `needs` naming other existing jobs without a
//  cycle. Returns TSR_OK with shard_counts[i] (room for submit->n_jobs) for
//  each job, or TSR_EINVAL with *error_out (caller frees) naming the problem.
TSR_NODISCARD int tsr_planner_check(const Tessera__Submit *submit, uint32_t *shard_counts,
                                    char **error_out);

//  Fill the command of `shard`'s attempt into `assign`: argv, env, workdir,
//  timeout, threads, framework, kind, test ids. Pointers in `assign` borrow
//  from the shard's job spec (valid while the run lives; only pack reads them).
void tsr_planner_assign(const tsr_shard_t *shard, Tessera__Assign *assign);

#endif
