/*  tsr_sched_internal - the scheduler's insides, for its own files
    tsr_sched.c (queue, leases, results), tsr_sched_runs.c (submit,
    restore, needs, cancel, pruning) and tsr_sched_tests.c (test jobs:
    listing, planning, per-test accounting, history) share this struct and
    these state changes. Nothing outside coordinator/tsr_sched*.c includes
    it. Loop thread of the coordinator only.                               */
#ifndef TSR_SCHED_INTERNAL_H
#define TSR_SCHED_INTERNAL_H

#include "tsr_history.h"
#include "tsr_listings.h"
#include "tsr_sched.h"

struct _tsr_sched_t {
    tsr_registry_t *registry;   //  borrowed (owner: the coordinator)
    uint32_t max_infra_retries; //  requeues of one shard after infrastructure failures
    zlistx_t *runs;             //  owned; tsr_run_t *, seq ascending
    zhashx_t *runs_by_id;       //  run id -> tsr_run_t * (borrowed from runs)
    zhashx_t *runs_by_uuid;     //  client uuid -> tsr_run_t * (borrowed from runs)
    zlistx_t *queue;            //  tsr_shard_t * (borrowed), sorted by run, job, shard
    zhashx_t *attempts;         //  uint64_t id -> tsr_attempt_t * (owned)
    uint64_t next_run;          //  sequence number of the next run
    uint64_t next_attempt;      //  id of the next attempt
    tsr_history_t *history;     //  borrowed; timing history; NULL: none
    tsr_listings_t *listings;   //  borrowed; listing cache; NULL: none
    uint64_t avoid_wait_ms;     //  how long a shard waits for an agent it prefers
};

//  ---- state changes (tsr_sched.c)

//  The lease ends: slots go back to the agent, the attempt is forgotten.
void tsr_sched_attempt_end(tsr_sched_t *self, tsr_attempt_t *attempt);

//  Append a lease ref (an attempt its agent must stop) to `refs`.
void tsr_sched_lease_ref_add(zlistx_t *refs, const char *agent_key, uint64_t attempt_id);

//  Put a shard in the queue (state QUEUED).
void tsr_sched_enqueue(tsr_sched_t *self, tsr_shard_t *shard);

//  End a shard with its final outcome: SHARD_FINISHED, then the job check.
//  A test job's RUN shard that ends without its results accounted
//  releases its tests (ERROR: a try each); a LIST that ends ERROR makes
//  the job fail with `text`.
void tsr_sched_shard_done(tsr_sched_t *self, tsr_shard_t *shard, Tessera__Outcome outcome,
                          uint64_t duration_ms, const uint8_t *tail, size_t tail_bytes,
                          const char *text, uint64_t now_ms);

//  ---- runs and jobs (tsr_sched_runs.c)

//  Queue the job's WAITING shards (a test job: its listing, from the cache
//  when it can).
void tsr_sched_job_queue(tsr_sched_t *self, tsr_job_t *job, uint64_t now_ms);

//  A shard ended: if it was the job's last, the job ends, which queues or
//  skips the jobs that need it, and may end the run.
void tsr_sched_job_check(tsr_sched_t *self, tsr_job_t *job, uint64_t now_ms);

//  ---- test jobs (tsr_sched_tests.c)

//  Queue a test job's LIST shard, or, when the listing is cached, take it
//  and plan at once.
void tsr_sched_tests_queue(tsr_sched_t *self, tsr_job_t *job, uint64_t now_ms);

//  A LIST or RUN shard's Result without Result.error: record, plan or
//  account, queue what must run next, end the shard.
void tsr_sched_tests_result(tsr_sched_t *self, tsr_shard_t *shard, const Tessera__Result *result,
                            uint64_t now_ms);

//  A test job's shard ends through tsr_sched_shard_done (see there).
void tsr_sched_tests_shard_done(tsr_sched_t *self, tsr_shard_t *shard, Tessera__Outcome outcome,
                                const char *text);

//  Stolen ids (checked: units of the RUNNING shard awaiting results) leave
//  the shard and become a new RUN shard queued first in its job.
void tsr_sched_tests_split(tsr_sched_t *self, tsr_shard_t *shard, char *const *ids, size_t count,
                           uint64_t now_ms);

//  A test job finished: record its tries and start-up samples in the
//  history, in one write batch.
void tsr_sched_tests_finish(tsr_sched_t *self, tsr_job_t *job, uint64_t now_ms);

//  A restored test job: its unfinished shards expect their tests again.
void tsr_sched_tests_restore(tsr_sched_t *self, tsr_job_t *job);

//  Slots the job can use at once: per eligible agent (labels, not
//  draining), its slots / the job's threads; at least 1.
uint32_t tsr_sched_job_slots(tsr_sched_t *self, const tsr_job_t *job);

#endif
