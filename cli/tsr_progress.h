/*  tsr_progress - what `tessera run` knows about a run while following it
    Fed the Watch events (SHARD_STARTED, SHARD_FINISHED, SHARD_REQUEUED...),
    it counts shards (expected, running, finished, failed) and, for test
    jobs, the tests done / failed / listed the coordinator last reported
    (Event.tests_*) for the progress line and keeps each shard it saw (agent, outcome, duration, the
   reason and output tail of its end, the attempts requeued before it, when the client saw it end)
   for --json, --junit and --trace. A shard is keyed by job and index: a shard that finishes again
   replaces its earlier end. Pure: time is an input. Main thread. */
#ifndef TSR_PROGRESS_H
#define TSR_PROGRESS_H

#include "tessera.pb-c.h"
#include "tsr_common.h"

//  An attempt of a shard that ended before its last one (SHARD_REQUEUED).
typedef struct {
    Tessera__Outcome outcome; //  FAILED, TIMED_OUT, CRASHED or ERROR when the event names the
                              //  failure of a retried run; else CANCELLED: lost or handed back
                              //  (infrastructure), which is not a test failure
    char *agent;              //  owned; where it ran, "" if unknown
    char *text;               //  owned; the coordinator's reason, "" if none
} tsr_progress_attempt_t;

//  A shard as the client saw it.
typedef struct {
    char *id;                 //  owned; "JOB" (one shard) or "JOB/I"
    char *job;                //  owned
    uint32_t index;           //  0-based shard index
    uint32_t count;           //  shards of the job
    char *agent;              //  owned; agent name, "" if unknown
    Tessera__Outcome outcome; //  of the last attempt
    uint64_t duration_ms;     //  as the agent measured it
    int64_t finished_at_ms;   //  client time it was seen to end, ms after tsr_progress_new
    char *tail;               //  owned; last output bytes (NUL-terminated copy)
    size_t tail_size;         //  bytes in tail, without the NUL
    char *text;               //  owned; why it ended so ("exit code 1"), "" if none
    zlistx_t *requeued;       //  owned; tsr_progress_attempt_t *, earlier attempts in order
    bool finished;            //  a SHARD_FINISHED was seen (else outcome..text are unset)
} tsr_progress_shard_t;

typedef struct _tsr_progress_t tsr_progress_t;

//  Start following at `now_ms` (zclock_mono).
tsr_progress_t *tsr_progress_new(int64_t now_ms);
void tsr_progress_destroy(tsr_progress_t **self_p);

//  Expect a job of `shards` shards before any of its events arrive (0 = not
//  known yet: counted as one until an event says how many).
void tsr_progress_expect(tsr_progress_t *self, const char *job, uint32_t shards);

//  Apply one event seen at `now_ms`. Returns the shard's record for a
//  SHARD_FINISHED event (borrowed until the next call), else NULL.
const tsr_progress_shard_t *tsr_progress_apply(tsr_progress_t *self, const Tessera__Event *event,
                                               int64_t now_ms);

uint32_t tsr_progress_total(tsr_progress_t *self);    //  shards expected in all jobs
uint32_t tsr_progress_finished(tsr_progress_t *self); //  distinct shards ended
uint32_t tsr_progress_running(tsr_progress_t *self);  //  started, not ended nor requeued
uint32_t tsr_progress_failed(tsr_progress_t *self);   //  ended not passed/skipped/cancelled

//  The test counts of the latest event that carried some (test jobs:
//  tests with a final result, of them failed, listed so far). Returns false,
//  with zeros, if no event did (command jobs only, or nothing ended yet).
bool tsr_progress_tests(tsr_progress_t *self, uint32_t *done_out, uint32_t *failed_out,
                        uint32_t *total_out);

//  "[3/8 shards] 2 running, 0 failed, 1.2s" into `buffer`; once test counts
//  are known "[120/500 tests] 3 failed; 3/8 shards, 2 running, 1.2s".
void tsr_progress_line(tsr_progress_t *self, int64_t now_ms, char *buffer, size_t size);

//  Finished shards in the order they first ended (zlistx of
//  tsr_progress_shard_t *, borrowed).
zlistx_t *tsr_progress_shards(tsr_progress_t *self);

//  The shard with this id ("JOB" or "JOB/I"), finished or not; NULL if no
//  event named it. Borrowed.
const tsr_progress_shard_t *tsr_progress_find(tsr_progress_t *self, const char *id);

//  "JOB" when `count` <= 1, else "JOB/INDEX". Caller frees.
char *tsr_progress_shard_id(const char *job, uint32_t index, uint32_t count);

#endif
