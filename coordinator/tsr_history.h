/*  tsr_history - per-test timing history in LMDB, for the planner
    Keyed by (project, job, test id): a moving-average duration, runs,
    failures, flaky count, last outcome and when the test was last seen. Per
    (project, job) it also learns the start-up cost of one test process (a
    shard's wall time minus its tests' durations). Policy-side storage: every
    time is an input (`now_ms`, the caller's clock); no sockets, no clock.
    Lives in a named database "history" of an environment the caller owns
    (the coordinator passes tsr_cas_env()), with its own transactions.
    One object per thread (the environment is opened with MDB_NOTLS).       */
#ifndef TSR_HISTORY_H
#define TSR_HISTORY_H

#include "tessera.pb-c.h"
#include "tsr_common.h"
#include <lmdb.h>

typedef struct _tsr_history_t tsr_history_t;

//  Weight of a new sample in the moving averages (durations and start-up).
//  The first 1/TSR_HISTORY_EMA_WEIGHT samples are averaged plainly, so an
//  early outlier does not stick for long.
#define TSR_HISTORY_EMA_WEIGHT 0.25

//  What the history knows of one test.
typedef struct {
    double mean_ms;                //  moving average of the durations, ms (>= 0)
    uint64_t last_duration_ms;     //  duration at the last record, ms
    uint32_t runs;                 //  records counted (saturates at UINT32_MAX)
    uint32_t failures;             //  records with a failing outcome (see record)
    uint32_t flaky;                //  records flagged flaky (failed, then passed)
    Tessera__Outcome last_outcome; //  outcome at the last record
    uint64_t last_seen_ms;         //  caller's `now_ms` at the last record
} tsr_history_entry_t;

//  What the history knows of a (project, job)'s per-process start-up cost.
typedef struct {
    double startup_ms;     //  moving average of the start-up cost, ms (>= 0)
    uint32_t samples;      //  shards learnt from (saturates at UINT32_MAX)
    uint64_t last_seen_ms; //  caller's `now_ms` at the last update
} tsr_history_startup_t;

//  Create a history on `env` (borrowed: it must outlive the history and have
//  room for one more named database). Never fails.
tsr_history_t *tsr_history_new(MDB_env *env);

//  Open or create the "history" database. Returns TSR_OK, TSR_ESTORE or -errno.
TSR_NODISCARD int tsr_history_open(tsr_history_t *self);

//  NULL-safe; sets *self_p to NULL. Aborts an open batch.
void tsr_history_destroy(tsr_history_t **self_p);

//  Start a batch: the following calls share one transaction until commit or
//  abort, so thousands of records cost one disk sync. A `writable` batch
//  holds the environment's write lock (keep it within one handler, and make
//  no other write to the environment, e.g. tsr_cas_put, from this thread
//  until it ends: LMDB's writer lock is not recursive); a read
//  batch is a consistent snapshot for many lookups (record then fails with
//  TSR_ESTATE). Returns TSR_OK, TSR_ESTATE if a batch is already open,
//  TSR_ESTORE or -errno. Without a batch, each call has its own transaction.
TSR_NODISCARD int tsr_history_begin(tsr_history_t *self, bool writable);

//  End the batch, keeping its writes. On error nothing of the batch is kept.
//  Returns TSR_OK, TSR_ESTATE if no batch is open, TSR_EFULL (map full),
//  TSR_ESTORE or -errno. The batch is closed in every case.
TSR_NODISCARD int tsr_history_commit(tsr_history_t *self);

//  End the batch, dropping its writes. NULL-safe on a history without one.
void tsr_history_abort(tsr_history_t *self);

//  Whether a batch is open.
bool tsr_history_in_batch(tsr_history_t *self);

//  Record one result of a test. Every outcome counts a run and a duration
//  sample except OUTCOME_UNKNOWN and CANCELLED, which are ignored (TSR_OK,
//  nothing stored): the test did not finish. FAILED, ERROR, TIMED_OUT and
//  CRASHED count a failure. `flaky`: the test failed, then passed on retry
//  (`outcome` is the final one). Returns TSR_OK, TSR_EINVAL (an empty
//  project, job or test id), TSR_ESTATE (in a read batch), TSR_EFULL (map
//  full; in a batch the batch must then be aborted), TSR_ESTORE or -errno.
//  A stored record that cannot be read is replaced.
TSR_NODISCARD int tsr_history_record(tsr_history_t *self, const char *project, const char *job,
                                     const char *test_id, uint64_t duration_ms,
                                     Tessera__Outcome outcome, bool flaky, uint64_t now_ms);

//  Copy a test's entry into *entry_out. Returns TSR_OK, TSR_ENOTFOUND,
//  TSR_EINVAL (empty names), TSR_ESTORE (unreadable record) or -errno.
TSR_NODISCARD int tsr_history_lookup(tsr_history_t *self, const char *project, const char *job,
                                     const char *test_id, tsr_history_entry_t *entry_out);

//  Learn the start-up cost from a finished shard: `wall_ms` from process
//  start to exit, `tests_ms` the sum of its tests' durations; the sample is
//  wall_ms - tests_ms (0 if negative: tests ran in parallel inside). Feed
//  only shards whose process exited on its own (not killed, not crashed).
//  Returns as tsr_history_record.
TSR_NODISCARD int tsr_history_record_shard(tsr_history_t *self, const char *project,
                                           const char *job, uint64_t wall_ms, uint64_t tests_ms,
                                           uint64_t now_ms);

//  Copy the learnt start-up cost into *startup_out. Returns TSR_OK,
//  TSR_ENOTFOUND, TSR_EINVAL, TSR_ESTORE or -errno.
TSR_NODISCARD int tsr_history_startup(tsr_history_t *self, const char *project, const char *job,
                                      tsr_history_startup_t *startup_out);

//  Overwrite the start-up cost (one sample of `startup_ms`, finite, >= 0).
//  Returns as tsr_history_record (TSR_EINVAL for a bad value too).
TSR_NODISCARD int tsr_history_set_startup(tsr_history_t *self, const char *project, const char *job,
                                          double startup_ms, uint64_t now_ms);

//  Remove every record (tests and start-up costs, all projects) last seen
//  before `cutoff_ms`, and unreadable ones; *removed_out (may be NULL) gets
//  the count. Returns as tsr_history_record.
TSR_NODISCARD int tsr_history_prune(tsr_history_t *self, uint64_t cutoff_ms, size_t *removed_out);

#endif
