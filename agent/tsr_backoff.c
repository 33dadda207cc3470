/*  tsr_backoff - exponential reconnect back-off with jitter (Paranoid Pirate) */
#include "tsr_backoff.h"

uint64_t
tsr_backoff_delay_ms(unsigned failures, uint32_t random)
{
    if (failures == 0)
        return 0;
    uint64_t delay_ms = TSR_BACKOFF_MIN_MS;
    for (unsigned step = 1; step < failures && delay_ms < TSR_BACKOFF_MAX_MS; step++)
        delay_ms *= 2;
    if (delay_ms > TSR_BACKOFF_MAX_MS)
        delay_ms = TSR_BACKOFF_MAX_MS;
    //  Jitter in [-25%, +25%): agents that lost the same coordinator spread out
    uint64_t spread_ms = delay_ms / 2;
    return delay_ms - delay_ms / 4 + (spread_ms * (uint64_t)random) / ((uint64_t)UINT32_MAX + 1);
}
