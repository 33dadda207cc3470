/*  tsr_slots - slots pinned to hardware threads: allocation and release
    A sorted array of CPUs and, per slot, the attempt holding it (0 = free).
    Allocation takes the lowest free CPUs, so a multi-thread attempt tends to
    get neighbouring hardware threads.                                       */
#include "tsr_slots.h"
#include <stdlib.h>

struct _tsr_slots_t {
    unsigned *cpus;    //  owned; ascending, distinct; `count` entries
    uint64_t *holders; //  owned; attempt id holding slot i, 0 = free
    size_t count;      //  number of slots
    size_t free_count; //  slots with holder 0
};

static int
s_cpu_compare(const void *left, const void *right)
{
    unsigned left_cpu = *(const unsigned *)left;
    unsigned right_cpu = *(const unsigned *)right;
    return (left_cpu > right_cpu) - (left_cpu < right_cpu);
}

tsr_slots_t *
tsr_slots_new(const unsigned *cpus, size_t count)
{
    assert(cpus || count == 0);
    tsr_slots_t *self = (tsr_slots_t *)zmalloc(sizeof(tsr_slots_t));
    self->cpus = (unsigned *)zmalloc((count ? count : 1) * sizeof(unsigned));
    self->holders = (uint64_t *)zmalloc((count ? count : 1) * sizeof(uint64_t));
    for (size_t index = 0; index < count; index++)
        self->cpus[index] = cpus[index];
    qsort(self->cpus, count, sizeof(unsigned), s_cpu_compare);
    size_t distinct = 0;
    for (size_t index = 0; index < count; index++)
        if (distinct == 0 || self->cpus[distinct - 1] != self->cpus[index])
            self->cpus[distinct++] = self->cpus[index];
    self->count = distinct;
    self->free_count = distinct;
    return self;
}

void
tsr_slots_destroy(tsr_slots_t **self_p)
{
    assert(self_p);
    tsr_slots_t *self = *self_p;
    if (!self)
        return;
    free(self->cpus);
    free(self->holders);
    free(self);
    *self_p = NULL;
}

size_t
tsr_slots_count(tsr_slots_t *self)
{
    assert(self);
    return self->count;
}

size_t
tsr_slots_free(tsr_slots_t *self)
{
    assert(self);
    return self->free_count;
}

unsigned
tsr_slots_cpu(tsr_slots_t *self, size_t index)
{
    assert(self);
    assert(index < self->count);
    return self->cpus[index];
}

int
tsr_slots_take(tsr_slots_t *self, uint64_t attempt_id, uint32_t threads, unsigned *cpus_out)
{
    assert(self);
    assert(cpus_out || threads == 0);
    if (threads == 0 || attempt_id == 0 || tsr_slots_held(self, attempt_id) > 0)
        return TSR_EINVAL;
    if (threads > self->free_count)
        return TSR_EFULL;
    size_t taken = 0;
    for (size_t index = 0; index < self->count && taken < threads; index++) {
        if (self->holders[index] != 0)
            continue;
        self->holders[index] = attempt_id;
        cpus_out[taken++] = self->cpus[index];
    }
    assert(taken == threads);
    self->free_count -= taken;
    return TSR_OK;
}

size_t
tsr_slots_release(tsr_slots_t *self, uint64_t attempt_id)
{
    assert(self);
    if (attempt_id == 0)
        return 0;
    size_t freed = 0;
    for (size_t index = 0; index < self->count; index++)
        if (self->holders[index] == attempt_id) {
            self->holders[index] = 0;
            freed++;
        }
    self->free_count += freed;
    return freed;
}

size_t
tsr_slots_held(tsr_slots_t *self, uint64_t attempt_id)
{
    assert(self);
    size_t held = 0;
    for (size_t index = 0; index < self->count; index++)
        if (attempt_id != 0 && self->holders[index] == attempt_id)
            held++;
    return held;
}
