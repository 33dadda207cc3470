/*  tsr_results - a run's report (common/tsr_report) from what the CLI knows
    The coordinator's RunSummary lists each shard's final outcome, duration,
    agent and number of attempts; what this client saw while following the
    run (tsr_progress) adds each shard's job, the attempts requeued before
    its last one and the reason and output tail of its end. For a command
    job each shard is one test. Attempts the client did not see (status of
    a run it did not follow) count as CANCELLED: lost, not failed. The report
    then writes --json, --junit and the failure recap. Pure. Main thread.   */
#ifndef TSR_RESULTS_H
#define TSR_RESULTS_H

#include "tessera.pb-c.h"
#include "tsr_common.h"
#include "tsr_progress.h"
#include "tsr_report.h"

//  A new report (caller destroys) of `summary`; `progress` may be NULL.
tsr_report_t *tsr_results_report(const Tessera__RunSummary *summary, tsr_progress_t *progress);

//  The job of a result id when the client saw none of its events: the id up
//  to its last '/' ("test/3" -> "test"), else the id itself. Caller frees.
char *tsr_results_job_of(const char *id);

#endif
