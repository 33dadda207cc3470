/*  tsr_results - a run's report (common/tsr_report) from what the CLI knows
    A test job's RunSummary has one result per test with its job, group and
    every try (AttemptSummary: outcome, duration, agent, message), oldest
    first: they become the test's attempts, so a test that failed then
    passed is flaky and JUnit gets its flakyFailure / rerunFailure.
    A command job's result is one shard with its final outcome, duration,
    agent and number of attempts; what this client saw while following the
    run (tsr_progress) adds the attempts requeued before its last one and
    the reason and output tail of its end. Attempts of a shard the client did
    not see (status of a run it did not follow) count as CANCELLED: lost, not
    failed. The report then writes --json, --junit and the failure recap.
    Pure. Main thread.                                                      */
#ifndef TSR_RESULTS_H
#define TSR_RESULTS_H

#include "tessera.pb-c.h"
#include "tsr_common.h"
#include "tsr_progress.h"
#include "tsr_report.h"

//  A new report (caller destroys) of `summary`; `progress` may be NULL
//  (it is used for results without tries only).
tsr_report_t *tsr_results_report(const Tessera__RunSummary *summary, tsr_progress_t *progress);

//  The job of a result id when the client saw none of its events: the id up
//  to its last '/' ("test/3" -> "test"), else the id itself. Caller frees.
char *tsr_results_job_of(const char *id);

#endif
