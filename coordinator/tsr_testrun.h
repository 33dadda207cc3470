/*  tsr_testrun - the tests of one test job and their accounting
    A test job (JobSpec.framework pytest, cargo, npm) lists its tests, runs
    them in shards, and reports every test exactly once. This module keeps
    one record per test (listed, or added when a shard reported a test
    nobody listed) with every try, and decides, from a shard's Result, what
    must run again:
      - a test the shard expected but that got no result never ran: it is
        requeued in a new shard (not a try), at most TSR_TESTRUN_MAX_NOT_RUN
        times, then it ends ERROR "not run" (when the runner reported no
        test at all, the new shard prefers another agent);
      - a result for a test nobody listed is added as a test of its own;
      - a failed try (FAILED, ERROR, TIMED_OUT, CRASHED) with retries left
        (JobSpec.retries) is re-run in a new shard that prefers another
        agent;
      - with --repeat N every listed test is expected N times (N copies of
        the plan), each copy a try.
    A test's outcome comes from its tries: all passed (or skipped) -> the
    last try's; all failed -> the last try's; mixed -> PASSED and flaky.
    Units: what a shard sends to the agent (Assign.test_ids) are listed ids.
    An adapter that lists groups (npm lists files) reports the tests inside
    them: a listed id is then covered by the results whose group() is that
    id, those results become tests of their own whose unit is the listed
    id, and the listed id itself is no test in the report unless it got a
    result of its own (a file that failed to load).
    Pure: no sockets, no clock, no store. Loop thread of the coordinator.   */
#ifndef TSR_TESTRUN_H
#define TSR_TESTRUN_H

#include "tessera.pb-c.h"
#include "tsr_common.h"

//  Rounds a test may go unreported (its shard crashed before it, or timed
//  out) and be requeued; the next time it ends as ERROR "not run".
#define TSR_TESTRUN_MAX_NOT_RUN 3

//  Longest failure text kept per try, bytes.
#define TSR_TESTRUN_MESSAGE_MAX 4096

//  What a try records.
typedef enum {
    TSR_TRY_RESULT = 0,    //  a result the runner reported
    TSR_TRY_COVERED = 1,   //  a listed group covered by its tests' results (npm file)
    TSR_TRY_NEVER_RAN = 2, //  why the test never ran (not run, infrastructure): no timing
} tsr_try_kind_t;

//  One try of a test.
typedef struct {
    Tessera__Outcome outcome; //  what this try ended with
    uint64_t duration_ms;     //  the test's own time in this try
    char *agent_key;          //  owned; Z85 key of the agent; NULL if none
    char *agent_name;         //  owned; its display name; NULL if none
    char *message;            //  owned; failure text, bounded; NULL if none
    bool covered;             //  not a result: a listed group covered by its tests' results
    bool never_ran;           //  not a result: the test never ran, the message says why
} tsr_test_try_t;

//  One test. Fields are read freely; change them through tsr_testrun_* only.
typedef struct {
    char *id;              //  owned; the framework's test id
    char *group;           //  owned; adapter group (file, module, binary); NULL if none
    char *unit;            //  owned; the listed id that runs it; NULL: it cannot be re-run
    bool listed;           //  in the listing (else added from a result)
    uint32_t pending;      //  unfinished shards expecting a result for it
    uint32_t retries_used; //  re-runs of failed tries so far
    uint32_t not_run;      //  times it was expected but got no result
    zlistx_t *tries;       //  owned; tsr_test_try_t * (owned), oldest first
} tsr_test_t;

//  Work the accounting asks for: a new shard.
typedef struct {
    zlistx_t *units;   //  owned strings: ids to send (Assign.test_ids), in order
    zlistx_t *expect;  //  owned strings: tests awaiting a result from it
    bool retry;        //  re-runs failed tries (else: tests that got no result)
    char *avoid_agent; //  owned; prefer another agent than this one (the failed tries
                       //  ran on it, or its runner reported nothing); NULL if any
} tsr_testrun_work_t;

//  What one shard's result did, for the event and the start-up learning.
typedef struct {
    uint32_t tries;    //  tries recorded
    uint32_t passed;   //  of which did not fail
    uint32_t failed;   //  of which failed
    uint32_t added;    //  tests added (not listed)
    uint32_t requeued; //  tests requeued unreported
    uint32_t retried;  //  tests queued for a retry
    uint32_t not_run;  //  tests that ended ERROR "not run"
    uint64_t tests_ms; //  sum of the durations of the results it reported
} tsr_testrun_stats_t;

//  Progress of a job's tests (Event.tests_*; counts as tsr_report does).
typedef struct {
    uint32_t total;   //  tests known (listed, not covered by their own tests; added)
    uint32_t done;    //  of which have a final outcome
    uint32_t failed;  //  of which failed
    uint32_t passed;  //  of which passed (PASSED, XPASSED; flaky ones too)
    uint32_t skipped; //  of which skipped (SKIPPED, XFAILED, CANCELLED)
    uint32_t flaky;   //  of which flaky
} tsr_testrun_counts_t;

typedef struct _tsr_testrun_t tsr_testrun_t;

//  Create the tests of a job whose adapter is `framework` (its group()
//  groups ids; an unknown one groups nothing). `repeat` (0 counts as 1)
//  copies of each listed test; `retries` re-runs of a failed test.
tsr_testrun_t *tsr_testrun_new(const char *framework, uint32_t repeat, uint32_t retries);
void tsr_testrun_destroy(tsr_testrun_t **self_p);

//  Options as given.
uint32_t tsr_testrun_repeat(const tsr_testrun_t *self);
uint32_t tsr_testrun_retries(const tsr_testrun_t *self);

//  Take the listing: test ids in the framework's order (duplicates kept
//  once) and collection errors. Marks the job listed. Call once.
void tsr_testrun_set_listing(tsr_testrun_t *self, const char *const *ids, size_t id_count,
                             const char *const *errors, size_t error_count);

//  The listing is known.
bool tsr_testrun_is_listed(const tsr_testrun_t *self);

//  Collection errors, in order (borrowed strings).
size_t tsr_testrun_error_count(const tsr_testrun_t *self);
const char *tsr_testrun_error(const tsr_testrun_t *self, size_t index);

//  Why the job could not run at all (listing failed); NULL if it could.
const char *tsr_testrun_failure(const tsr_testrun_t *self);
void tsr_testrun_set_failure(tsr_testrun_t *self, const char *text);

//  The run was cancelled: tests without a try count as CANCELLED.
void tsr_testrun_cancel(tsr_testrun_t *self);
bool tsr_testrun_is_cancelled(const tsr_testrun_t *self);

//  Add a test (restore: listing order first, then as added). Returns it
//  (borrowed), or NULL if the id is known already.
tsr_test_t *tsr_testrun_add(tsr_testrun_t *self, const char *id, const char *group,
                            const char *unit, bool listed);

//  Mark the listing known without adding tests (restore).
void tsr_testrun_set_listed(tsr_testrun_t *self);

//  Add a collection error (restore).
void tsr_testrun_add_error(tsr_testrun_t *self, const char *text);

//  Append a try of `kind` to a test (restore). Strings copied; NULL for none.
void tsr_testrun_add_try(tsr_test_t *test, Tessera__Outcome outcome, uint64_t duration_ms,
                         const char *agent_key, const char *agent_name, const char *message,
                         tsr_try_kind_t kind);

//  The test with this id, or NULL.
tsr_test_t *tsr_testrun_find(tsr_testrun_t *self, const char *id);

//  Tests in order (listed, then added); NULL at the end. One cursor per
//  object, which tsr_testrun_account, _counts, _job_outcome and _summaries
//  move too.
tsr_test_t *tsr_testrun_first(tsr_testrun_t *self);
tsr_test_t *tsr_testrun_next(tsr_testrun_t *self);
size_t tsr_testrun_size(const tsr_testrun_t *self);

//  A new shard expects a result for these tests (pending + 1 each).
//  Unknown ids are ignored.
void tsr_testrun_expect(tsr_testrun_t *self, char *const *ids, size_t count);

//  A shard no longer expects a result for these tests (pending - 1 each):
//  they moved to another shard (work stealing). Unknown ids are ignored.
void tsr_testrun_unexpect(tsr_testrun_t *self, char *const *ids, size_t count);

//  Account a RUN shard's Result (no Result.error): `units` were sent,
//  `expect` awaited, on the agent `agent_key`/`agent_name`. Records the
//  tries, releases the expectations, and appends new work
//  (tsr_testrun_work_t *, owned by the list: tsr_testrun_work_list_new)
//  to `work_out`; the caller turns each into a shard and calls
//  tsr_testrun_expect for it. Fills *stats_out.
void tsr_testrun_account(tsr_testrun_t *self, char *const *units, size_t unit_count,
                         char *const *expect, size_t expect_count, const Tessera__Result *result,
                         const char *agent_key, const char *agent_name, zlistx_t *work_out,
                         tsr_testrun_stats_t *stats_out);

//  A RUN shard ended without results (gave up after infrastructure
//  failures: `outcome` ERROR with `text`; skipped or cancelled: no try).
//  Releases the expectations; ERROR adds a try to each expected test.
void tsr_testrun_abandon(tsr_testrun_t *self, char *const *expect, size_t expect_count,
                         Tessera__Outcome outcome, const char *text, const char *agent_key,
                         const char *agent_name);

//  A list for tsr_testrun_account's work, with its destructor.
zlistx_t *tsr_testrun_work_list_new(void);

//  Is this test's outcome final (nothing pending for it or for its unit)?
bool tsr_testrun_is_final(tsr_testrun_t *self, const tsr_test_t *test);

//  Is it a test of the report? False for a listed group whose every try
//  is `covered` (the tests inside it report instead).
bool tsr_testrun_is_visible(const tsr_test_t *test);

//  The outcome from its tries (see banner); OUTCOME_UNKNOWN without a try
//  (CANCELLED once the run is cancelled). *flaky_out (may be NULL).
Tessera__Outcome tsr_testrun_outcome(const tsr_testrun_t *self, const tsr_test_t *test,
                                     bool *flaky_out);

//  The last try that is not `covered`, or NULL.
const tsr_test_try_t *tsr_testrun_last_try(const tsr_test_t *test);

//  Counts over the visible tests.
void tsr_testrun_counts(tsr_testrun_t *self, tsr_testrun_counts_t *counts_out);

//  The job's outcome once nothing is pending: ERROR if it could not run,
//  CANCELLED if cancelled, FAILED if a collection error, a failed test, or
//  (fail_on_flaky) a flaky test; else PASSED.
Tessera__Outcome tsr_testrun_job_outcome(tsr_testrun_t *self, bool fail_on_flaky);

//  One ShardSummary per visible test, appended to results[*count] (room
//  for tsr_testrun_size entries); members allocated, free each with
//  tsr_testrun_summary_free. `job` names the job.
void tsr_testrun_summaries(tsr_testrun_t *self, const char *job, Tessera__ShardSummary **results,
                           size_t *count);
void tsr_testrun_summary_free(Tessera__ShardSummary *summary);

#endif
