/*  tsr_testplan - split a test suite into shards by estimated time
    Policy only: a pure function of the tests (ids, group keys, history
    estimates) and the options; no sockets, no clock, no store. The caller
    (the coordinator's planner) adds the suite's tests in the framework's
    order with the history's mean (tsr_history_lookup) when there is one,
    builds, and turns each shard into work for agents, longest first.

    Rules: groups (file, module, binary: the framework adapter's group())
    stay in one shard, except a group bigger than the target shard size,
    which is cut into contiguous pieces. Tests without history are
    estimated from their neighbours: the mean of the known tests of their
    group, else of the suite, else a default. Every shard pays the
    per-process start-up cost once. Shards come out longest first, as
    agents should pull them; inside a shard tests keep the order they were
    added in.

    Shape (automatic count): one core shard per slot, packed
    longest-processing-time first from the biggest groups and pieces, so
    the slots would finish together if the estimates were exact; then, when
    start-up is cheap against the imbalance the estimates' error leaves,
    small tail shards of the smallest groups, which the slots that finish
    first pull to even out the end. With --shards N: N shards packed LPT,
    no tail. bench/plan_sim measures both against the count-based split.

    Values and one owner; any thread.                                      */
#ifndef TSR_TESTPLAN_H
#define TSR_TESTPLAN_H

#include "tsr_common.h"

typedef struct _tsr_testplan_t tsr_testplan_t;

//  Estimate of a test when no test of the suite has history, ms
#define TSR_TESTPLAN_DEFAULT_MS 100.0

//  Automatic split: the relative error assumed of a test's estimate, with
//  history and without (estimated from its neighbours)
#define TSR_TESTPLAN_KNOWN_ERROR 0.2
#define TSR_TESTPLAN_UNKNOWN_ERROR 1.0

//  Tail shards per slot: at most this many...
#define TSR_TESTPLAN_MAX_TAIL_PER_SLOT 3

//  ...and sqrt(imbalance / (TSR_TESTPLAN_TAIL_COST * start-up)), rounded
//  down: a start-up counts this many times its cost against the imbalance a
//  tail shard removes (tuned with bench/plan_sim)
#define TSR_TESTPLAN_TAIL_COST 4.0

//  The automatic split's shape
typedef struct {
    uint32_t core;  //  big shards, about a slot's share of the work each
    uint32_t tail;  //  small shards after them (0: none)
    double tail_ms; //  work packed into the tail shards, ms
} tsr_testplan_split_t;

//  How to split.
typedef struct {
    uint32_t shards;   //  wanted shard count (--shards N); 0: automatic
    uint32_t slots;    //  slots the job can use at once (automatic count); 0 counts as 1
    double startup_ms; //  per-process start-up cost, ms, finite and >= 0; once per shard
    double default_ms; //  estimate when no test is known, ms; 0: TSR_TESTPLAN_DEFAULT_MS
} tsr_testplan_opts_t;

//  Create an empty plan. Never fails (aborts on OOM).
tsr_testplan_t *tsr_testplan_new(void);

//  NULL-safe; sets *self_p to NULL.
void tsr_testplan_destroy(tsr_testplan_t **self_p);

//  Add a test (`test_id` and `group` copied), after those added before it:
//  add in the framework's order. `group` NULL: the test is a group alone.
//  `known`: `mean_ms` is the history's mean; a negative or non-finite one
//  counts as unknown. Drops the shards of an earlier build.
void tsr_testplan_add(tsr_testplan_t *self, const char *test_id, const char *group, bool known,
                      double mean_ms);

//  Tests added.
size_t tsr_testplan_size(tsr_testplan_t *self);

//  The automatic split of `work_ms` of tests (start-up excluded) whose
//  estimate is expected to be off by `error_ms` in total, over `tests`
//  tests: one core shard per slot (0 slots count as 1), fewer if a shard
//  would not carry its start-up cost in work. Then, for the imbalance the
//  error leaves at the end (the worst of the slots), up to
//  TSR_TESTPLAN_MAX_TAIL_PER_SLOT small tail shards per core shard, when
//  start-up is cheap enough against it (TSR_TESTPLAN_TAIL_COST); the tail
//  holds that imbalance per core shard, at most half the work. Never more
//  shards than tests; all zero for no tests.
tsr_testplan_split_t tsr_testplan_auto_split(double work_ms, double error_ms, double startup_ms,
                                             uint32_t slots, size_t tests);

//  Estimate every test and pack the shards (see banner): opts->shards of
//  them, or the automatic split for opts->slots. Fewer when there are fewer
//  tests, or when single tests too big to share a shard leave nothing for
//  the rest (an empty shard is never made). No tests: no shards. Returns
//  TSR_OK or TSR_EINVAL (a bad start-up or default estimate).
TSR_NODISCARD int tsr_testplan_build(tsr_testplan_t *self, const tsr_testplan_opts_t *opts);

//  The count-based split of jest --shard and nextest --partition, for
//  comparison: opts->shards (0: opts->slots, 0 counts as 1) contiguous
//  chunks of equal test count in the order added, groups and times
//  ignored; shards in that order. Returns as tsr_testplan_build.
TSR_NODISCARD int tsr_testplan_build_by_count(tsr_testplan_t *self,
                                              const tsr_testplan_opts_t *opts);

//  Shards of the last build (0 before one).
size_t tsr_testplan_shard_count(tsr_testplan_t *self);

//  Tests in a shard; shard < shard_count.
size_t tsr_testplan_shard_size(tsr_testplan_t *self, size_t shard);

//  Estimated cost of a shard, ms: its tests' estimates plus the start-up.
double tsr_testplan_shard_cost_ms(tsr_testplan_t *self, size_t shard);

//  The index-th test of a shard (borrowed until the plan changes or dies);
//  index < shard_size.
const char *tsr_testplan_shard_test(tsr_testplan_t *self, size_t shard, size_t index);

//  Position of that test in the order of tsr_testplan_add (0-based).
size_t tsr_testplan_shard_test_at(tsr_testplan_t *self, size_t shard, size_t index);

//  The ids of a shard in order, as a new zlistx of copies (caller destroys;
//  destructor set), as tsr_framework_t.run takes them.
zlistx_t *tsr_testplan_shard_ids(tsr_testplan_t *self, size_t shard);

//  Estimate used for the test added at `position` by the last build, ms;
//  position < size, after a build.
double tsr_testplan_estimate_ms(tsr_testplan_t *self, size_t position);

#endif
