/*  tsr_jobenv - the environment a shard runs with
    Built from the agent's own environment, then the thread hints
    (TSR_THREADS, CARGO_BUILD_JOBS, MAKEFLAGS = the attempt's slot count),
    then the job's `env` (Assign.env, which may override the hints), then the
    shard's identity (TSR_SHARD_INDEX, TSR_SHARD_COUNT, TSR_RUN_ID,
    TSR_ATTEMPT_ID), which a job cannot override. Sorted by name. Pure; any
    thread.                                                                 */
#ifndef TSR_JOBENV_H
#define TSR_JOBENV_H

#include "tessera.pb-c.h"
#include "tsr_common.h"

//  Build the environment for `assign` on `threads` slots on top of `base`
//  (NULL-terminated "NAME=VALUE" strings, e.g. environ; NULL = empty).
//  *envp_out gets a NULL-terminated array; free it with tsr_jobenv_free.
//  Returns TSR_OK, or TSR_EINVAL if a job variable has an empty name or a
//  name with '=' (nothing allocated then).
TSR_NODISCARD int tsr_jobenv_build(const char *const *base, const Tessera__Assign *assign,
                                   uint32_t threads, char ***envp_out);

//  `envp` with `extra` over it ("NAME=VALUE" each, NULL-terminated; either
//  may be NULL): a variable of `extra` replaces the one of the same name in
//  `envp`, the others are added. Sorted by name, like tsr_jobenv_build; a
//  framework adapter's extra variables for one command (tsr_fw_ctx_t.run).
//  *envp_out gets a new array (free with tsr_jobenv_free). Returns TSR_OK, or
//  TSR_EINVAL if an entry of `extra` is not NAME=VALUE (nothing allocated).
TSR_NODISCARD int tsr_jobenv_overlay(const char *const *envp, const char *const *extra,
                                     char ***envp_out);

//  The value of `name` in a NULL-terminated environment, or NULL. Borrowed.
const char *tsr_jobenv_get(const char *const *envp, const char *name);

//  NULL-safe; frees the array and its strings, sets *envp_p to NULL.
void tsr_jobenv_free(char ***envp_p);

#endif
