/*  tsr_cpuset - CPU lists ("0-15,32") and this process's allowed CPUs.
    Values; any thread.                                                      */
#ifndef TSR_CPUSET_H
#define TSR_CPUSET_H

#include "tsr_common.h"
#include <sched.h>

#ifndef CPU_SETSIZE
#error "tsr_cpuset.h needs _GNU_SOURCE (cpu_set_t), defined before the first #include"
#endif

typedef struct {
    cpu_set_t set;
} tsr_cpuset_t;

void tsr_cpuset_clear(tsr_cpuset_t *self);
void tsr_cpuset_add(tsr_cpuset_t *self, unsigned cpu);
bool tsr_cpuset_has(const tsr_cpuset_t *self, unsigned cpu);
size_t tsr_cpuset_count(const tsr_cpuset_t *self);
//  The n-th CPU (0-based) in ascending order, or -1 past the end.
int tsr_cpuset_nth(const tsr_cpuset_t *self, size_t n);

//  Parse "0-3,8,10-11" (Linux cpulist). TSR_EINVAL on bad syntax, reversed
//  ranges or CPUs >= CPU_SETSIZE; *out unchanged then.
TSR_NODISCARD int tsr_cpuset_parse(const char *text, tsr_cpuset_t *out);

//  Format as a Linux cpulist ("0-3,8") into `buffer`. Returns TSR_OK or
//  TSR_ETOOBIG if it does not fit.
TSR_NODISCARD int tsr_cpuset_format(const tsr_cpuset_t *self, char *buffer, size_t size);

//  The CPUs this process may run on (sched_getaffinity). Returns TSR_OK or -errno.
TSR_NODISCARD int tsr_cpuset_self(tsr_cpuset_t *out);

#endif
