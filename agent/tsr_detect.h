/*  tsr_detect - detect the versions of the tools jobs select on
    python3, pytest, cargo, rustc, node and npm: each is run with --version
    (concurrently, through tsr_spawn, each with a timeout) and the version
    number of its output becomes a label. A tool that is absent, fails or
    times out gives no label. Answers are cached in a JSON file keyed by the
    tool's resolved path, size and mtime, for an hour, so restarts are
    instant. Blocking (start-up only); the calling thread.                  */
#ifndef TSR_DETECT_H
#define TSR_DETECT_H

#include "tsr_common.h"

//  Tool version probes that did not finish in time are killed after this.
#define TSR_DETECT_TIMEOUT_MS 5000

//  Add the detected tool versions to `labels` (tsr_labels_new). `cache_path`
//  (may be NULL: no cache) is read and rewritten; `tmp_dir` (must exist)
//  holds the probes' output files while they run. `timeout_ms` 0 =
//  TSR_DETECT_TIMEOUT_MS. Returns TSR_OK; a tool that cannot be probed is
//  skipped, never an error.
TSR_NODISCARD int tsr_detect_tools(zhashx_t *labels, const char *cache_path, const char *tmp_dir,
                                   uint64_t timeout_ms);

#endif
