/*  tsr_report - the machine-readable documents of the CLI (cJSON)
    `tessera run --json FILE` and `tessera status RUN --json`: the DESIGN.md
    run summary {"run","status","tests":{"total","passed","failed",
    "skipped","flaky"},"shards","cached_shards","wall_s","uploaded_bytes",
    "results":[{"id","outcome","duration_s","attempts","agent"}]};
    `tessera status --json`: {"runs":[summary...]}; `tessera agents --json`:
    {"agents":[{"id","name","version","cpus":[..],"slots","free_slots",
    "labels":{k:v},"draining","running"}]}. Pure rendering plus one atomic
    file write. Main thread.                                                 */
#ifndef TSR_REPORT_H
#define TSR_REPORT_H

#include "tessera.pb-c.h"
#include "tsr_common.h"

//  The run summary document, pretty-printed, with a trailing newline. Caller frees.
char *tsr_report_summary_json(const Tessera__RunSummary *summary);

//  {"runs":[...]} of summaries. Caller frees.
char *tsr_report_runs_json(Tessera__RunSummary *const *runs, size_t count);

//  {"agents":[...]}. Caller frees.
char *tsr_report_agents_json(Tessera__AgentInfo *const *agents, size_t count);

//  Write `size` bytes to `path` through a temp file renamed into place, so a
//  reader never sees half a document. Returns TSR_OK or -errno.
TSR_NODISCARD int tsr_report_write_file(const char *path, const void *data, size_t size);

#endif
