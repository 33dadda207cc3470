/*  tsr_recap - the end of `tessera run` and `tessera results RUN`
    One function prints what a finished run's RunSummary says and writes its
    files, for both commands: the first failed tests with their messages and
    the flaky ones (tsr_report_print_failures), the tests slower than the
    job's slow_s, the run's own messages (collection errors, no agent...),
    the summary line, then --json and --junit (tsr_report built by
    tsr_results). Returns the exit code: 0 passed, 1 failed or cancelled (or
    flaky with --fail-on-flaky), 3 infrastructure error, 2 if a file could
    not be written for a run that passed. Main thread.                      */
#ifndef TSR_RECAP_H
#define TSR_RECAP_H

#include "tessera.pb-c.h"
#include "tsr_common.h"
#include "tsr_progress.h"
#include "tsr_report.h"
#include <stdio.h>

//  Failed and flaky tests, and slow tests, listed at most.
#define TSR_RECAP_MAX_TESTS 10
//  Lines of each failure's text: a command shard's output tail was printed
//  already (one line), a test's assertion was not.
#define TSR_RECAP_COMMAND_LINES 1
#define TSR_RECAP_TEST_LINES 12

//  What to do with a finished run's summary.
typedef struct {
    const char *command;           //  "run" or "results", for messages
    const char *json_path;         //  borrowed; --json FILE or NULL
    const char *junit_path;        //  borrowed; --junit FILE or NULL
    bool fail_on_flaky;            //  a flaky test fails the run (exit 1)
    uint32_t slow_s;               //  slow threshold for jobs not in `jobs` (seconds; 0 = off)
    Tessera__JobSpec *const *jobs; //  borrowed; the jobs submitted (framework, slow_s), or NULL
    size_t n_jobs;                 //  entries in jobs
} tsr_recap_opts_t;

//  Exit code of a run that ended with `status` and `counts`: "passed" -> 0
//  unless a test failed (the counts disagree) or, with fail_on_flaky, one
//  was flaky; "failed", "cancelled", and "queued"/"running" (a run not
//  finished: not passed) -> 1; anything else ("error") -> 3.
int tsr_recap_exit_code(const char *status, const tsr_report_counts_t *counts, bool fail_on_flaky);

//  The slow threshold of `job` in seconds: its JobSpec's slow_s when the
//  job is in opts->jobs and sets one, else opts->slow_s. 0 = off.
uint32_t tsr_recap_slow_s(const tsr_recap_opts_t *opts, const char *job);

//  Print the tests whose final duration exceeds their job's threshold,
//  slowest first, at most `max`, as
//    SLOW id (job JOB, 12.34s, over 10s)
//  then "... and N more slow tests". Nothing if none. Returns TSR_OK or
//  -EIO if `out` reports a write error.
TSR_NODISCARD int tsr_recap_print_slow(tsr_report_t *report, const tsr_recap_opts_t *opts,
                                       FILE *out, size_t max);

//  Is this a test job (framework other than "command")? Results with tries
//  count as test results too. True if any job of the run is one.
bool tsr_recap_has_tests(const tsr_recap_opts_t *opts, const Tessera__RunSummary *summary);

//  Print the recap of `summary` to `out` and write opts' files; `progress`
//  (may be NULL) is what the client saw while following. Returns the exit
//  code (see the banner).
int tsr_recap_finish(const tsr_recap_opts_t *opts, const Tessera__RunSummary *summary,
                     tsr_progress_t *progress, FILE *out);

#endif
