/*  tsr_submit - the Submit request of `tessera run`
    Turns the spec's jobs (tsr_job_spec_t, from tessera.yml or `-- CMD`) and
    the command-line overrides (--job, --shards, --retries, --repeat,
    --slow, --timeout, --no-cache, --fail-on-flaky) into a Tessera__Submit.
    Pure: no files, no sockets. The built message owns its strings and
    arrays, except `workspace`, which the caller points at a Digest it
    owns. Main thread.                                                       */
#ifndef TSR_SUBMIT_H
#define TSR_SUBMIT_H

#include "tessera.pb-c.h"
#include "tsr_common.h"
#include "tsr_run_opts.h"
#include "tsr_spec.h"

//  Build a Submit from `jobs` (zlistx of tsr_job_spec_t *, borrowed), keeping
//  only the --job names in `opts` and, transitively, the jobs they need (all
//  jobs if none named), in spec order. `project` and `client_uuid` are
//  copied. Returns TSR_OK with *submit_out (free with tsr_submit_destroy), or
//  TSR_EINVAL with *error_out (caller frees): an unknown --job name, a
//  `needs` naming no job, or no jobs at all.
TSR_NODISCARD int tsr_submit_build(zlistx_t *jobs, const tsr_run_opts_t *opts, const char *project,
                                   const char *client_uuid, Tessera__Submit **submit_out,
                                   char **error_out);

//  Build one JobSpec from a spec job with the overrides in `opts` (may be
//  NULL). "NAME=VALUE" env and "key=value" labels are split at the first '='.
//  Free with tsr_submit_jobspec_destroy.
Tessera__JobSpec *tsr_submit_jobspec_new(const tsr_job_spec_t *job, const tsr_run_opts_t *opts);
void tsr_submit_jobspec_destroy(Tessera__JobSpec **jobspec_p);

//  Frees everything the Submit owns; not `workspace` (the caller's).
//  NULL-safe; sets *submit_p to NULL.
void tsr_submit_destroy(Tessera__Submit **submit_p);

#endif
