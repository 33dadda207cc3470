/*  tsr_sched - the queue, and leases of shards on agents' slots
    Owns the runs and the attempts. Shards are queued by run, then job, then
    shard order; an agent's free slots are filled from the queue with shards
    whose labels it carries and whose threads fit (pull scheduling). An
    attempt is a lease: it is current while its agent lives and it has not
    ended. When the agent is lost the shard is requeued as a new attempt (at
    most max_infra_retries times, then ERROR); a result for an attempt that is
    not current is ignored. Failed commands are retried JobSpec.retries times;
    a job is queued once all its `needs` passed, and skipped if one did not.
    Test jobs (pytest, cargo, npm) first list their tests (a LIST shard, or
    the listing cache), are planned from the timing history (tsr_planner),
    and account every test's results (tsr_testrun): unreported tests and
    retries of failed ones become new shards; a retry prefers another agent
    than the one it failed on. Their history is written when they finish.
    Work stealing: when an agent has free slots nothing queued fits, a
    running shard of a test job whose adapter can steal (pytest) is asked
    (Steal) for its not-started tail; the tests its runner gives up
    (Stolen) leave that shard and form a new one, queued first in its job.
    Policy: no sockets; time is `now_ms`, wall clock (it is persisted). The
    history and the listing cache are LMDB stores the caller lends.
    Loop thread of the coordinator only.                                      */
#ifndef TSR_SCHED_H
#define TSR_SCHED_H

#include "tessera.pb-c.h"
#include "tsr_common.h"
#include "tsr_history.h"
#include "tsr_listings.h"
#include "tsr_registry.h"
#include "tsr_run.h"

//  How long a shard waits for an agent it prefers (a retry: another agent
//  than the one it failed on; a --repeat copy: another than its sibling's)
//  while that agent is busy, ms. An agent that is alone takes it at once.
#define TSR_SCHED_AVOID_WAIT_MS 10000

//  Work stealing: a running shard is split only once it ran this long, ms
//  (its start-up is behind it; also at least twice the job's learnt
//  start-up cost), had tests stolen fewer than TSR_SCHED_STEAL_MAX times,
//  and expects at least 2 results.
#define TSR_SCHED_STEAL_AFTER_MS 2000
#define TSR_SCHED_STEAL_MAX 3

//  Finished runs kept (memory and store) for `tessera status`.
#define TSR_SCHED_KEEP_RUNS 100
//  Finished runs that also keep their events in memory (for late watchers).
#define TSR_SCHED_KEEP_EVENTS 10

//  One attempt of a shard: a lease on `threads` slots of one agent.
typedef struct {
    uint64_t id;                 //  unique for the life of the store; never reused
    tsr_shard_t *shard;          //  borrowed (owner: its run; outlives the attempt)
    char *agent_key;             //  owned; Z85 key of the agent holding the lease
    uint32_t threads;            //  slots the lease takes
    uint64_t started_ms;         //  wall clock, when assigned
    uint64_t orphan_deadline_ms; //  restored after a restart and not yet re-attached:
                                 //  requeued at this time; 0 once attached
} tsr_attempt_t;

//  An attempt an agent must stop (Cancel, Welcome.cancel).
typedef struct {
    char agent_key[41];  //  Z85 key of the agent running it
    uint64_t attempt_id; //  the attempt to kill
} tsr_lease_ref_t;

typedef struct _tsr_sched_t tsr_sched_t;

//  `registry` (borrowed) is kept in step with the leases.
tsr_sched_t *tsr_sched_new(tsr_registry_t *registry, uint32_t max_infra_retries);
void tsr_sched_destroy(tsr_sched_t **self_p);

//  The timing history and the listing cache test jobs use (borrowed; each
//  may be NULL: no history, no cache). Set them before the first submit.
void tsr_sched_set_stores(tsr_sched_t *self, tsr_history_t *history, tsr_listings_t *listings);

//  Counters of the run store: next run sequence number and next attempt id.
void tsr_sched_counters(tsr_sched_t *self, uint64_t *next_run_out, uint64_t *next_attempt_out);
void tsr_sched_set_counters(tsr_sched_t *self, uint64_t next_run, uint64_t next_attempt);

//  Start a run from a Submit (validated; jobs planned by tsr_planner). A
//  client_uuid seen before returns that run again (idempotent). Returns
//  TSR_OK with *run_out (borrowed), or TSR_EINVAL with *error_out (caller
//  frees) naming the problem.
TSR_NODISCARD int tsr_sched_submit(tsr_sched_t *self, const Tessera__Submit *submit,
                                   uint64_t now_ms, tsr_run_t **run_out, char **error_out);

//  Adopt a run restored from the store (ownership moves in; *run_p = NULL).
//  Queued shards are queued again; running ones keep their attempt as an
//  orphan until `now_ms + grace_ms`, waiting for its agent's Hello.
void tsr_sched_adopt(tsr_sched_t *self, tsr_run_t **run_p, uint64_t now_ms, uint64_t grace_ms);

//  The run with this id, or NULL.
tsr_run_t *tsr_sched_run(tsr_sched_t *self, const char *run_id);

//  The run submitted with this client uuid, or NULL ("" never matches).
tsr_run_t *tsr_sched_run_by_uuid(tsr_sched_t *self, const char *client_uuid);

//  All runs (tsr_run_t *, borrowed), oldest first. Do not modify the list.
zlistx_t *tsr_sched_runs(tsr_sched_t *self);

//  Shards waiting for slots.
size_t tsr_sched_queued(tsr_sched_t *self);

//  Fill the agent's free slots from the queue. New attempts (borrowed) are
//  appended to `attempts_out`; send each one an Assign. Returns their count.
//  A shard that prefers another agent is left for it while another agent
//  that fits exists and its preference has not lapsed. Walks the registry:
//  do not call it while iterating the registry.
size_t tsr_sched_fill(tsr_sched_t *self, tsr_registry_agent_t *agent, uint64_t now_ms,
                      zlistx_t *attempts_out);

//  Work stealing, after tsr_sched_fill left `agent` with free slots: for
//  each test job the agent could run (labels, threads) whose adapter can
//  steal and which has no shard queued, pick its running RUN shard that ran
//  longest (then: expects the most results) among those that qualify (see
//  TSR_SCHED_STEAL_AFTER_MS) and whose attempt was not asked yet (its runner
//  gives tests up once; a split is a new shard that may be asked); at most one per job
//  per call, and no more pending Steals per job than the free slots of
//  the agents that could run it. Appends a lease ref per Steal to send
//  (tsr_lease_ref_t *, owned by the list) to `steals_out` and marks them
//  pending. Returns their count. Walks the registry.
size_t tsr_sched_steal(tsr_sched_t *self, tsr_registry_agent_t *agent, uint64_t now_ms,
                       zlistx_t *steals_out);

//  Stolen from `agent_key`: its runner will not run these ids. Clears the
//  pending Steal. With ids, each must be a unit of the attempt's RUN shard
//  still awaiting its result (else the whole message is refused, nothing
//  changes: the runner skipped them, so its Result lacks them and they are
//  requeued as unreported); they leave the shard (units and expected
//  results) and form a new RUN shard, queued first in the job, with a
//  SHARD_REQUEUED event "split: N tests of JOB/I moved". TSR_OK,
//  TSR_ENOTFOUND (the attempt is not current on that agent: ignore; its
//  Result already requeued what it lacked), or TSR_EINVAL (refused).
TSR_NODISCARD int tsr_sched_stolen(tsr_sched_t *self, const char *agent_key,
                                   const Tessera__Stolen *stolen, uint64_t now_ms);

//  The attempt with this id, or NULL (ended, or never existed).
tsr_attempt_t *tsr_sched_attempt(tsr_sched_t *self, uint64_t attempt_id);

//  Progress from `agent_key`. TSR_OK, or TSR_ENOTFOUND if the attempt is not
//  current on that agent (ignore it).
TSR_NODISCARD int tsr_sched_progress(tsr_sched_t *self, const char *agent_key,
                                     const Tessera__Progress *progress, uint64_t now_ms);

//  A Result from `agent_key`: ends the lease and records the outcome, or
//  requeues the shard (Result.error: an infrastructure failure; a failed
//  command with retries left). A test job's LIST result plans the job; a
//  RUN result is accounted per test (tsr_testrun_account) and may queue
//  new shards. May write the history and the listing cache. TSR_OK, or
//  TSR_ENOTFOUND if the attempt is not current on that agent (a stale
//  result: nothing changes).
TSR_NODISCARD int tsr_sched_result(tsr_sched_t *self, const char *agent_key,
                                   const Tessera__Result *result, uint64_t now_ms);

//  The agent is gone (expired, unreachable): every lease it held ends and its
//  shards are requeued, counted against max_infra_retries. `reason` goes
//  into the SHARD_REQUEUED events. Returns the number of attempts requeued.
size_t tsr_sched_agent_lost(tsr_sched_t *self, const char *agent_key, const char *reason,
                            uint64_t now_ms);

//  Bye.handed_back: those attempts of the agent are requeued at once, not
//  counted against retries. Ids not current on that agent are ignored.
void tsr_sched_hand_back(tsr_sched_t *self, const char *agent_key, const uint64_t *attempt_ids,
                         size_t count, uint64_t now_ms);

//  Hello from `agent_key` listing what it still runs. Attempts current on it
//  and listed are (re-)attached; attempts current on it but not listed are
//  lost (requeued, counted); listed ids that are not current on it are
//  appended to `cancel_out` (tsr_lease_ref_t *, owned by the list) for
//  Welcome.cancel. Call after tsr_registry_hello.
void tsr_sched_hello(tsr_sched_t *self, const char *agent_key, const uint64_t *in_flight,
                     size_t count, uint64_t now_ms, zlistx_t *cancel_out);

//  Cancel a run: waiting and queued shards end CANCELLED; running attempts
//  end too and are appended to `cancel_out` (tsr_lease_ref_t *, owned by the
//  list) so their agents get a Cancel. TSR_OK (also if already finished) or
//  TSR_ENOTFOUND.
TSR_NODISCARD int tsr_sched_cancel(tsr_sched_t *self, const char *run_id, uint64_t now_ms,
                                   zlistx_t *cancel_out);

//  Periodic work: orphaned attempts past their deadline are requeued.
void tsr_sched_tick(tsr_sched_t *self, uint64_t now_ms);

//  Runs changed since the last call (tsr_run_t *, borrowed) are appended to
//  `runs_out` and marked clean; the caller saves them.
void tsr_sched_take_dirty(tsr_sched_t *self, zlistx_t *runs_out);

//  Forget finished runs beyond the newest TSR_SCHED_KEEP_RUNS; their ids
//  (char *, owned by the list) are appended to `pruned_out` to delete them
//  from the store. Old finished runs also drop their in-memory events.
void tsr_sched_prune(tsr_sched_t *self, zlistx_t *pruned_out);

//  A lease ref list with the right destructor, for the calls above.
zlistx_t *tsr_lease_refs_new(void);

//  The outcome a Result reports (error, timeout, signal, exit code).
Tessera__Outcome tsr_sched_outcome(const Tessera__Result *result);

#endif
