/*  tsr_junit - JUnit XML of a run for `tessera run --junit FILE` (libxml2)
    One <testcase> per result of the RunSummary (for command jobs: one per
    shard), with <failure>, <error> or <skipped> by outcome and the shard's
    output tail, when the client saw it, as <system-out>. Main thread.      */
#ifndef TSR_JUNIT_H
#define TSR_JUNIT_H

#include "tessera.pb-c.h"
#include "tsr_common.h"
#include "tsr_progress.h"

//  Render the document; `progress` (may be NULL) supplies job names and output
//  tails by shard id. Returns TSR_OK with *xml_out (caller frees with free),
//  *size_out its length, or TSR_EINVAL if libxml2 fails.
TSR_NODISCARD int tsr_junit_render(const Tessera__RunSummary *summary, tsr_progress_t *progress,
                                   char **xml_out, size_t *size_out);

#endif
