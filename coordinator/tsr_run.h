/*  tsr_run - a run as the coordinator holds it: jobs, shards, events
    The data model shared by the scheduler (which changes it), the run store
    (which saves and restores it) and the client channel (which reports it):
    a run has jobs (a copy of each JobSpec), a job has shards, a shard has an
    outcome once done. Events are numbered per run from 1 and kept in memory.
    Pure data and formatting: no sockets, no clock (times are wall-clock ms
    passed in, since they are persisted). Loop thread of the coordinator.     */
#ifndef TSR_RUN_H
#define TSR_RUN_H

#include "tessera.pb-c.h"
#include "tsr_common.h"
#include "tsr_digest.h"
#include "tsr_testrun.h"

//  Bytes of a shard's output tail kept per event.
#define TSR_RUN_TAIL_BYTES 4096

//  Failure texts one RunSummary carries at most, bytes, so that a suite
//  with thousands of failures still fits one message (tsr_msg's limit):
//  past it every try's message is cut to an equal share (at least 256).
#define TSR_RUN_SUMMARY_TEXT_BYTES (4u << 20)

typedef enum {
    TSR_SHARD_WAITING = 0, //  its job's needs have not all passed yet
    TSR_SHARD_QUEUED = 1,  //  waiting for free slots
    TSR_SHARD_RUNNING = 2, //  an attempt holds a lease on an agent
    TSR_SHARD_DONE = 3,    //  outcome is final
} tsr_shard_state_t;

typedef struct _tsr_run_t tsr_run_t;
typedef struct _tsr_job_t tsr_job_t;

typedef struct {
    tsr_job_t *job;             //  borrowed (owner: the job)
    uint32_t index;             //  0-based, TSR_SHARD_INDEX; a test job's LIST is 0
    Tessera__Assign__Kind kind; //  RUN, or LIST (a test job's listing)
    tsr_shard_state_t state;    //  see tsr_shard_state_t
    Tessera__Outcome outcome;   //  final outcome once DONE, else OUTCOME_UNKNOWN
    uint32_t attempts;          //  attempts started (assigned)
    uint32_t infra_failures;    //  requeues counted against max_infra_retries
    uint32_t command_failures;  //  failed runs that were retried (JobSpec.retries)
    bool flaky;                 //  passed after a failed run
    uint64_t attempt_id;        //  current attempt while RUNNING, else 0
    char *agent_key;            //  owned; agent of the current or last attempt; NULL if none
    char *agent_name;           //  owned; its display name; NULL if none
    uint64_t duration_ms;       //  of the attempt that decided the outcome
    char *text;                 //  owned; why it ended ERROR/SKIPPED/CANCELLED; NULL if none
    void *queue_handle;         //  the scheduler's queue entry while QUEUED, else NULL
    //  RUN shards of test jobs:
    char **units;            //  owned array of owned ids sent as Assign.test_ids
    size_t unit_count;       //  entries in units
    char **expect;           //  owned array of owned ids of tests awaiting a result
    size_t expect_count;     //  entries in expect
    char *avoid_agent;       //  owned; key of an agent it should not run on; NULL if any
    uint64_t avoid_until_ms; //  wall clock; the preference lapses then
    uint32_t sibling;        //  --repeat copies of one planned shard share it; 0 = none
    bool accounted;          //  its results are recorded in the job's tests
    bool startup_ok;         //  its runner exited on its own: a start-up cost sample
    uint64_t tests_ms;       //  sum of its tests' durations (start-up = duration - this)
    uint32_t steals;         //  times tests were stolen from it (work stealing)
    bool split;              //  made of tests stolen from another shard: queued first
    uint64_t steal_attempt;  //  the attempt last sent a Steal (one per attempt: its
                             //  runner gives tests up once); 0 = none; not persisted
    bool steal_pending;      //  that attempt's Stolen has not come yet
} tsr_shard_t;

struct _tsr_job_t {
    tsr_run_t *run;           //  borrowed (owner of this job)
    uint32_t index;           //  position in the run
    Tessera__JobSpec *spec;   //  owned; a copy of the submitted spec
    tsr_shard_t **shards;     //  owned array of shard_count owned shards
    uint32_t shard_count;     //  >= 1
    uint32_t shard_room;      //  allocated entries of shards
    tsr_testrun_t *tests;     //  owned; test jobs (framework not "command"), else NULL
    uint32_t threads;         //  slots per attempt: spec->threads, at least 1
    bool finished;            //  all shards DONE and JOB_FINISHED emitted
    Tessera__Outcome outcome; //  PASSED if every shard passed, once finished
};

struct _tsr_run_t {
    char *id;                //  owned; "run-<seq>"
    uint64_t seq;            //  creation order, from 1 (queue order across runs)
    char *client_uuid;       //  owned; Submit.client_uuid ("" if none)
    char *project;           //  owned; Submit.project
    tsr_digest_t workspace;  //  root tree of the uploaded workspace
    bool no_cache;           //  Submit.no_cache
    bool fail_on_flaky;      //  Submit.fail_on_flaky
    uint64_t uploaded_bytes; //  what the client uploaded, for the summary
    tsr_job_t **jobs;        //  owned array of job_count owned jobs
    uint32_t job_count;      //  jobs in submit order
    uint64_t created_ms;     //  wall clock
    uint64_t finished_ms;    //  wall clock; 0 while not finished
    bool cancelled;          //  CancelRun received
    bool finished;           //  every shard DONE, RUN_FINISHED emitted
    zlistx_t *events;        //  owned; Tessera__Event * (owned), seq ascending
    uint64_t event_seq;      //  last event number given out
    bool dirty;              //  changed since the store last saved it
};

//  Create an empty run (no jobs). Strings are copied; NULL counts as "".
tsr_run_t *tsr_run_new(const char *id, uint64_t seq, const char *client_uuid, const char *project,
                       const tsr_digest_t *workspace, uint64_t created_ms);
void tsr_run_destroy(tsr_run_t **self_p);

//  Append a job: copies `spec`, creates `shard_count` (>= 1) shards in state
//  WAITING. A test job (tsr_run_spec_is_tests) gets its tests object and
//  its first shard is its LIST. Returns the job (borrowed).
tsr_job_t *tsr_run_add_job(tsr_run_t *self, const Tessera__JobSpec *spec, uint32_t shard_count);

//  Append a WAITING shard of `kind` to the job (index = the old count).
//  Returns it (borrowed; lives as long as the job).
tsr_shard_t *tsr_run_add_shard(tsr_job_t *job, Tessera__Assign__Kind kind);

//  Set a shard's units or expected tests (copies; replaces the old ones).
void tsr_shard_set_units(tsr_shard_t *shard, char *const *ids, size_t count);
void tsr_shard_set_expect(tsr_shard_t *shard, char *const *ids, size_t count);

//  Does this spec run a test framework (framework set and not "command")?
bool tsr_run_spec_is_tests(const Tessera__JobSpec *spec);

//  The job with this name, or NULL.
tsr_job_t *tsr_run_job(tsr_run_t *self, const char *name);

//  Append an event; `shard` (may be NULL) sets job/shard_index/shard_count,
//  `agent`, `text` and `tail` may be NULL. The tail is cut to its last
//  TSR_RUN_TAIL_BYTES. SHARD_FINISHED, JOB_FINISHED and RUN_FINISHED of a
//  run with test jobs carry its test progress (tsr_run_test_counts).
//  Returns the event's seq. Marks the run dirty.
uint64_t tsr_run_event(tsr_run_t *self, Tessera__Event__Kind kind, const tsr_shard_t *shard,
                       Tessera__Outcome outcome, uint64_t duration_ms, const char *agent,
                       const uint8_t *tail, size_t tail_bytes, const char *text);

//  Like tsr_run_event for a job-level event (JOB_FINISHED).
uint64_t tsr_run_job_event(tsr_run_t *self, Tessera__Event__Kind kind, const tsr_job_t *job,
                           Tessera__Outcome outcome, const char *text);

//  Events with seq > after_seq still in memory, at most `max`, into
//  `events_out` (borrowed pointers, appended; the list must have no destructor).
void tsr_run_events_after(tsr_run_t *self, uint64_t after_seq, size_t max, zlistx_t *events_out);

//  Drop the events kept in memory (old finished runs); numbering continues.
void tsr_run_forget_events(tsr_run_t *self);

//  Every shard of the job is DONE.
bool tsr_job_is_done(const tsr_job_t *job);

//  A finished job's outcome. Command jobs: PASSED if every shard passed,
//  else FAILED (a shard failed, timed out or crashed), ERROR, CANCELLED or
//  SKIPPED. Test jobs: SKIPPED if its listing was skipped (a need did not
//  pass), else tsr_testrun_job_outcome (with the run's fail_on_flaky).
Tessera__Outcome tsr_job_outcome(const tsr_job_t *job);

//  Test progress over the run's test jobs, summed.
void tsr_run_test_counts(const tsr_run_t *self, tsr_testrun_counts_t *counts_out);

//  "queued", "running", "passed", "failed", "cancelled" or "error".
const char *tsr_run_status(const tsr_run_t *self);

//  Shard id in results: "JOB" for a one-shard command job, else "JOB/I"; a
//  test job's listing is "JOB/list". Into `id`.
void tsr_shard_id(const tsr_shard_t *shard, char *id, size_t size);

//  Fill `summary` (allocated members; free with tsr_run_summary_clear). With
//  `with_results` every shard of a command job and every test of a test
//  job gets a ShardSummary. Counts follow tsr_report (a command shard is
//  one test); `shards` counts command and RUN shards; collection errors
//  and jobs that could not run are `errors` with a line each in `messages`.
//  `now_ms` (wall) measures a run still in progress.
void tsr_run_summary(const tsr_run_t *self, uint64_t now_ms, bool with_results,
                     Tessera__RunSummary *summary);
void tsr_run_summary_clear(Tessera__RunSummary *summary);

//  Deep copy of a JobSpec (free with tessera__job_spec__free_unpacked(copy, NULL)).
Tessera__JobSpec *tsr_run_spec_copy(const Tessera__JobSpec *spec);

#endif
