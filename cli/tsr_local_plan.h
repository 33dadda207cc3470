/*  tsr_local_plan - where and on which CPUs the embedded local cluster runs
    Pure decisions for tsr_local: the cache directory ($XDG_CACHE_HOME/tessera
    or ~/.cache/tessera) and how the CPUs this process may use are split
    among --local-agents agents. Any thread.                                */
#ifndef TSR_LOCAL_PLAN_H
#define TSR_LOCAL_PLAN_H

#include "tsr_common.h"
#include "tsr_cpuset.h"

//  "$XDG_CACHE_HOME/tessera" if `xdg_cache_home` is an absolute path (the XDG
//  spec ignores relative ones), else "$HOME/.cache/tessera"; NULL if `home`
//  is NULL or empty too. Caller frees.
char *tsr_local_plan_cache_dir(const char *xdg_cache_home, const char *home);

//  The CPUs of agent `index` (0-based) of `count` agents sharing `allowed`:
//  contiguous runs whose sizes differ by at most one. With more agents than
//  CPUs, agent i gets the (i mod n)-th CPU. `allowed` must not be empty.
void tsr_local_plan_cpus(const tsr_cpuset_t *allowed, unsigned count, unsigned index,
                         tsr_cpuset_t *cpus_out);

#endif
