/*  tsr_slots - the agent's slots, one per pinned hardware thread
    A slot is a CPU number; an attempt that asks for `threads` N takes N free
    slots (lowest CPUs first) and is pinned to exactly those CPUs. Pure state,
    no clock, no I/O. Owned by the agent; its loop thread only.              */
#ifndef TSR_SLOTS_H
#define TSR_SLOTS_H

#include "tsr_common.h"

typedef struct _tsr_slots_t tsr_slots_t;

//  One slot per entry of `cpus` (`count` entries, duplicates ignored, kept in
//  ascending order). Never fails (aborts on OOM).
tsr_slots_t *tsr_slots_new(const unsigned *cpus, size_t count);

//  NULL-safe; sets *self_p to NULL.
void tsr_slots_destroy(tsr_slots_t **self_p);

//  Number of slots, and of slots not held by any attempt.
size_t tsr_slots_count(tsr_slots_t *self);
size_t tsr_slots_free(tsr_slots_t *self);

//  CPU of slot `index` (0 .. count-1, ascending CPU order).
unsigned tsr_slots_cpu(tsr_slots_t *self, size_t index);

//  Give `threads` free slots to `attempt_id` and write their CPUs (ascending)
//  to `cpus_out` (room for `threads` entries). Returns TSR_OK, TSR_EINVAL
//  (threads 0, attempt id 0, or the attempt already holds slots) or
//  TSR_EFULL (not enough free slots; nothing taken).
TSR_NODISCARD int tsr_slots_take(tsr_slots_t *self, uint64_t attempt_id, uint32_t threads,
                                 unsigned *cpus_out);

//  Free every slot `attempt_id` holds. Returns how many were freed.
size_t tsr_slots_release(tsr_slots_t *self, uint64_t attempt_id);

//  Number of slots `attempt_id` holds (0 if none).
size_t tsr_slots_held(tsr_slots_t *self, uint64_t attempt_id);

#endif
