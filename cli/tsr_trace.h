/*  tsr_trace - a Chrome trace (chrome://tracing, Perfetto) of a run
    For `tessera run --trace FILE`: one complete ("X") event per finished
    shard on a track per agent; a shard made of tests stolen from another
    (work stealing) carries the coordinator's "split: ..." text in its args. Times are as the client
   observed them: a shard ends when its SHARD_FINISHED event arrived and starts its agent- measured
   duration earlier. Main thread.                                 */
#ifndef TSR_TRACE_H
#define TSR_TRACE_H

#include "tsr_common.h"
#include "tsr_progress.h"

//  {"traceEvents":[...],"displayTimeUnit":"ms"}. Caller frees.
char *tsr_trace_render(tsr_progress_t *progress);

//  Render and write to `path` through a temp file renamed into place.
//  Returns TSR_OK or -errno.
TSR_NODISCARD int tsr_trace_write(tsr_progress_t *progress, const char *path);

#endif
