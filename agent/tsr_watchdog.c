/*  tsr_watchdog - "no progress" detection: remember when the output size
    last changed, compare the silence with the limit.                      */
#include "tsr_watchdog.h"

void
tsr_watchdog_start(tsr_watchdog_t *self, uint64_t limit_ms, uint64_t bytes, int64_t now_ms)
{
    assert(self);
    self->limit_ms = limit_ms;
    self->bytes = bytes;
    self->changed_ms = now_ms;
}

bool
tsr_watchdog_update(tsr_watchdog_t *self, uint64_t bytes, int64_t now_ms)
{
    assert(self);
    if (bytes != self->bytes) {
        self->bytes = bytes;
        self->changed_ms = now_ms;
        return false;
    }
    return tsr_watchdog_remaining_ms(self, now_ms) == 0;
}

int64_t
tsr_watchdog_remaining_ms(const tsr_watchdog_t *self, int64_t now_ms)
{
    assert(self);
    if (self->limit_ms == 0 || self->limit_ms > INT64_MAX)
        return -1;
    int64_t silent_ms = now_ms - self->changed_ms;
    if (silent_ms < 0)
        silent_ms = 0; //  a clock that went back: no silence yet
    int64_t limit_ms = (int64_t)self->limit_ms;
    return silent_ms >= limit_ms ? 0 : limit_ms - silent_ms;
}
