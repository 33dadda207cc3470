/*  tsr_fwresult - which test a runner was in when it died
    An adapter's run returns the results of the tests that finished; when
    the runner was killed (the "no progress" timeout, a signal) or exited
    with an error before reporting every test, the test it was running is
    the first of the shard, in order, without a result. That one is marked
    TIMED_OUT or CRASHED here; the tests after it get no result (the
    coordinator runs them again in a new shard). Adapters leave this to
    their caller (tsr_framework.h), except those that know better and mark
    the test themselves (cargo: libtest runs tests in its own order, on
    threads; npm: its reporters say which test started last, and the rest
    of that file runs again). Pure; any thread.                            */
#ifndef TSR_FWRESULT_H
#define TSR_FWRESULT_H

#include "tsr_common.h"
#include "tsr_framework.h"

//  How the runner ended, as the agent saw it.
typedef struct {
    bool timed_out;          //  killed by the "no progress" timeout
    int exit_code;           //  the adapter's exit code (-1: killed by a signal)
    int term_signal;         //  the signal that ended the last command, 0 if none
    uint64_t silence_ms;     //  timed_out: how long it had written nothing
    const char *output_tail; //  the end of the shard log (NUL-terminated), or NULL
} tsr_fwresult_end_t;

//  The first id of `test_ids` (zlistx of char *, the shard in order) that no
//  result covers: no result has that id, nor a result whose group (per
//  `framework`->group) is that id (adapters that list files, like npm).
//  Borrowed from `test_ids`; NULL when every id is covered.
const char *tsr_fwresult_unfinished(const tsr_framework_t *framework, zlistx_t *test_ids,
                                    tsr_results_t *results);

//  Did the runner stop before finishing the shard? True when it timed out or
//  was killed by a signal, or exited non-zero with an id unfinished.
bool tsr_fwresult_interrupted(const tsr_fwresult_end_t *end, bool unfinished);

//  After an adapter's run: if the runner was interrupted and no result is
//  TIMED_OUT or CRASHED already (an adapter that marks it itself), add a
//  result for the first unfinished id: TIMED_OUT (duration = the silence)
//  or CRASHED, with a message saying why and the end of the output.
//  Adapters that list files (an id that is its own group: npm) report no
//  test start, so the running file is taken to be the one the last result
//  came from (the first unfinished one when there is none), marked under
//  its own id unless a result has that id already. Returns the id marked
//  (borrowed from `test_ids`), or NULL if none was.
const char *tsr_fwresult_mark(const tsr_framework_t *framework, zlistx_t *test_ids,
                              tsr_results_t *results, const tsr_fwresult_end_t *end);

#endif
