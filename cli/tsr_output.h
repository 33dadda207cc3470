/*  tsr_output - what `tessera run` prints while it follows a run
    On a terminal: a live progress line redrawn in place
    (`\r[3/8 shards] 2 running, 0 failed, 1.2s`), cleared before any other
    line. Otherwise: one plain line per event. In both modes each finished
    shard prints a header (`── default/2 passed in 0.01s on NAME`) and, for
    a command job, its output tail (a test job's failures are recapped at
    the end instead; its header says the tests done so far), and the run
    ends with one summary line. Formatting functions
    are pure (they return text); the writer owns only its mode. Main thread. */
#ifndef TSR_OUTPUT_H
#define TSR_OUTPUT_H

#include "tessera.pb-c.h"
#include "tsr_common.h"
#include "tsr_progress.h"
#include "tsr_report.h"
#include <stdio.h>

//  "passed", "failed", "error", "skipped", "timed_out", "crashed",
//  "cancelled"; XFAILED counts as "skipped", XPASSED as "passed", anything
//  else is "unknown". Static string.
const char *tsr_output_outcome(Tessera__Outcome outcome);

//  "0.01s", "12.34s", "3m05s", "2h01m" into `buffer`.
void tsr_output_duration(uint64_t duration_ms, char *buffer, size_t size);

//  "── ID OUTCOME in DURATION on AGENT: REASON" (no newline; " on AGENT" left
//  out if the agent is unknown; ": REASON" only if the shard did not pass
//  and the coordinator said why in other words than the outcome). Caller frees.
char *tsr_output_header(const tsr_progress_shard_t *shard);

//  The plain line for an event other than SHARD_FINISHED, e.g.
//  "started default/2 on NAME", "requeued default/2: agent lost",
//  "job build passed"; NULL for events that print nothing. Caller frees.
char *tsr_output_event_line(const Tessera__Event *event);

//  "run ID passed in 1.23s: 4 tests, 4 passed, 0 failed, 0 skipped,
//  0 flaky; 4 shards, 0 cached; 0 bytes uploaded". The test counts come from
//  `counts` (the report's, so the line agrees with --json) or, if NULL, from
//  the summary. Caller frees.
char *tsr_output_summary_line(const Tessera__RunSummary *summary,
                              const tsr_report_counts_t *counts);

typedef struct _tsr_output_t tsr_output_t;

//  Write to `stream` (borrowed, e.g. stdout); `live` = redraw a progress line.
tsr_output_t *tsr_output_new(FILE *stream, bool live);
void tsr_output_destroy(tsr_output_t **self_p);

//  `job` is a test job: print no output tail for its shards (copied).
void tsr_output_test_job(tsr_output_t *self, const char *job);

//  Print what an event says: a plain line (not live), or for a finished
//  shard its header and, unless its job is a test job, its output tail
//  (both modes); a header of a test job's shard ends with
//  " [DONE/TOTAL tests, FAILED failed]" when the event carries test counts. `shard` is the record
//  tsr_progress_apply returned for a SHARD_FINISHED event, else NULL.
void tsr_output_event(tsr_output_t *self, const Tessera__Event *event,
                      const tsr_progress_shard_t *shard);

//  Draw `line` as the live progress line (no-op unless live).
void tsr_output_progress(tsr_output_t *self, const char *line);

//  Erase the live progress line if one is shown.
void tsr_output_clear(tsr_output_t *self);

//  Print a whole line (progress line erased first).
void tsr_output_line(tsr_output_t *self, const char *line);

#endif
