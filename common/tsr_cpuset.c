/*  tsr_cpuset - CPU lists ("0-15,32") and this process's allowed CPUs
    A thin value type over cpu_set_t; the agent parses --cpus with it and pins
    slots to it. Any thread; no state.                                       */
#define _GNU_SOURCE //  cpu_set_t, CPU_SET, sched_getaffinity
#include "tsr_cpuset.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

void
tsr_cpuset_clear(tsr_cpuset_t *self)
{
    assert(self);
    CPU_ZERO(&self->set);
}

void
tsr_cpuset_add(tsr_cpuset_t *self, unsigned cpu)
{
    assert(self);
    assert(cpu < CPU_SETSIZE);
    CPU_SET(cpu, &self->set);
}

bool
tsr_cpuset_has(const tsr_cpuset_t *self, unsigned cpu)
{
    assert(self);
    return cpu < CPU_SETSIZE && CPU_ISSET(cpu, &self->set);
}

size_t
tsr_cpuset_count(const tsr_cpuset_t *self)
{
    assert(self);
    return (size_t)CPU_COUNT(&self->set);
}

int
tsr_cpuset_nth(const tsr_cpuset_t *self, size_t n)
{
    assert(self);
    size_t seen = 0;
    for (unsigned cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &self->set))
            continue;
        if (seen == n)
            return (int)cpu;
        seen++;
    }
    return -1;
}

//  Read a CPU number (decimal digits only, < CPU_SETSIZE) at *cursor and
//  advance past it. Returns TSR_OK or TSR_EINVAL.
static int
s_parse_cpu(const char **cursor, const char *end, unsigned *cpu_out)
{
    const char *scan = *cursor;
    unsigned value = 0;
    if (scan == end || !isdigit((unsigned char)*scan))
        return TSR_EINVAL;
    while (scan < end && isdigit((unsigned char)*scan)) {
        value = value * 10 + (unsigned)(*scan - '0');
        if (value >= CPU_SETSIZE) //  also stops the value from overflowing
            return TSR_EINVAL;
        scan++;
    }
    *cursor = scan;
    *cpu_out = value;
    return TSR_OK;
}

int
tsr_cpuset_parse(const char *text, tsr_cpuset_t *out)
{
    assert(text);
    assert(out);
    //  Tolerate the newline of /sys/.../cpulist and blanks around the list
    const char *scan = text;
    const char *end = text + strlen(text);
    while (scan < end && isspace((unsigned char)*scan))
        scan++;
    while (end > scan && isspace((unsigned char)end[-1]))
        end--;
    if (scan == end)
        return TSR_EINVAL;

    tsr_cpuset_t parsed;
    tsr_cpuset_clear(&parsed);
    while (true) {
        unsigned first = 0;
        unsigned last = 0;
        if (s_parse_cpu(&scan, end, &first) != TSR_OK)
            return TSR_EINVAL;
        last = first;
        if (scan < end && *scan == '-') {
            scan++;
            if (s_parse_cpu(&scan, end, &last) != TSR_OK || last < first)
                return TSR_EINVAL;
        }
        for (unsigned cpu = first; cpu <= last; cpu++)
            tsr_cpuset_add(&parsed, cpu);
        if (scan == end)
            break;
        if (*scan != ',')
            return TSR_EINVAL;
        scan++; //  a trailing ',' fails at the next number
    }
    *out = parsed;
    return TSR_OK;
}

int
tsr_cpuset_format(const tsr_cpuset_t *self, char *buffer, size_t size)
{
    assert(self);
    assert(buffer || size == 0);
    if (size == 0)
        return TSR_ETOOBIG;
    buffer[0] = '\0';
    size_t used = 0;
    unsigned cpu = 0;
    while (cpu < CPU_SETSIZE) {
        if (!CPU_ISSET(cpu, &self->set)) {
            cpu++;
            continue;
        }
        unsigned last = cpu;
        while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &self->set))
            last++;
        int written =
            last == cpu
                ? snprintf(buffer + used, size - used, "%s%u", used ? "," : "", cpu)
                : snprintf(buffer + used, size - used, "%s%u-%u", used ? "," : "", cpu, last);
        if (written < 0 || (size_t)written >= size - used) {
            buffer[0] = '\0'; //  never leave a truncated list behind
            return TSR_ETOOBIG;
        }
        used += (size_t)written;
        cpu = last + 1;
    }
    return TSR_OK;
}

int
tsr_cpuset_self(tsr_cpuset_t *out)
{
    assert(out);
    tsr_cpuset_t allowed;
    if (sched_getaffinity(0, sizeof allowed.set, &allowed.set) != 0)
        return -errno;
    *out = allowed;
    return TSR_OK;
}
