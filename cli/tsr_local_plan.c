/*  tsr_local_plan - cache directory and CPU split of the local cluster     */
#define _GNU_SOURCE //  cpu_set_t (tsr_cpuset.h)
#include "tsr_local_plan.h"

char *
tsr_local_plan_cache_dir(const char *xdg_cache_home, const char *home)
{
    if (xdg_cache_home && xdg_cache_home[0] == '/')
        return zsys_sprintf("%s/tessera", xdg_cache_home);
    if (home && home[0])
        return zsys_sprintf("%s/.cache/tessera", home);
    return NULL;
}

void
tsr_local_plan_cpus(const tsr_cpuset_t *allowed, unsigned count, unsigned index,
                    tsr_cpuset_t *cpus_out)
{
    assert(allowed);
    assert(cpus_out);
    assert(count > 0 && index < count);
    size_t total = tsr_cpuset_count(allowed);
    assert(total > 0);
    tsr_cpuset_clear(cpus_out);
    if (count >= total) {
        tsr_cpuset_add(cpus_out, (unsigned)tsr_cpuset_nth(allowed, index % total));
        return;
    }
    //  the first `extra` agents get one CPU more than the others
    size_t base = total / count;
    size_t extra = total % count;
    size_t first = index * base + (index < extra ? index : extra);
    size_t size = base + (index < extra ? 1 : 0);
    for (size_t nth = first; nth < first + size; nth++)
        tsr_cpuset_add(cpus_out, (unsigned)tsr_cpuset_nth(allowed, nth));
}
