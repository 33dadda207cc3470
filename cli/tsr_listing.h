/*  tsr_listing - the --json documents of the listing commands (cJSON)
    `tessera agents --json`: {"agents":[{"id","name","version","cpus":[..],
    "slots","free_slots","labels":{k:v},"draining","running"}]};
    `tessera status --json`: {"runs":[summary...]}, each run the DESIGN.md
    summary that `tessera run --json` writes (tsr_report_json). Pure. Main
    thread.                                                                 */
#ifndef TSR_LISTING_H
#define TSR_LISTING_H

#include "tessera.pb-c.h"
#include "tsr_common.h"

//  {"agents":[...]}, pretty-printed with a trailing newline. Caller frees.
char *tsr_listing_agents_json(Tessera__AgentInfo *const *agents, size_t count);

//  {"runs":[...]}, pretty-printed with a trailing newline. Caller frees.
char *tsr_listing_runs_json(Tessera__RunSummary *const *runs, size_t count);

#endif
