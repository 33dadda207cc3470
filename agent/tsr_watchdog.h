/*  tsr_watchdog - the "no progress" limit of a test runner
    A test job's timeout is per test (JobSpec.timeout_s): a runner that has
    written nothing (its stdout file, the shard log, its report files) for
    that long is taken to be stuck in a test and is killed. The watchdog is
    a plain value fed with the bytes written so far and the time; it never
    reads a clock or a file itself. Pure; any thread.                       */
#ifndef TSR_WATCHDOG_H
#define TSR_WATCHDOG_H

#include "tsr_common.h"

typedef struct {
    uint64_t limit_ms;  //  no progress for this long is a timeout; 0 = none
    uint64_t bytes;     //  output size last seen
    int64_t changed_ms; //  when `bytes` last changed (or the start)
} tsr_watchdog_t;

//  Start watching at `now_ms` with `bytes` already written and a limit of
//  `limit_ms` (0 = never expires).
void tsr_watchdog_start(tsr_watchdog_t *self, uint64_t limit_ms, uint64_t bytes, int64_t now_ms);

//  The output is `bytes` long at `now_ms`: any change (growth, or a file
//  replaced by a shorter one) counts as progress. Returns true when nothing
//  changed for `limit_ms` or longer: the runner is stuck.
bool tsr_watchdog_update(tsr_watchdog_t *self, uint64_t bytes, int64_t now_ms);

//  Milliseconds from `now_ms` until it would expire without progress (0 if
//  it has), or -1 without a limit. For poll timeouts.
int64_t tsr_watchdog_remaining_ms(const tsr_watchdog_t *self, int64_t now_ms);

#endif
