/*  tsr_backoff - reconnect delays: 1 s doubling to 32 s, with jitter
    Pure (the random number is an input); any thread.                        */
#ifndef TSR_BACKOFF_H
#define TSR_BACKOFF_H

#include "tsr_common.h"

#define TSR_BACKOFF_MIN_MS 1000
#define TSR_BACKOFF_MAX_MS 32000

//  Delay before reconnecting after `failures` consecutive losses (1 = the
//  first): 1 s * 2^(failures-1), at most 32 s, spread by +-25% using
//  `random` (any 32-bit value, e.g. randombytes_random()). 0 failures = 0.
uint64_t tsr_backoff_delay_ms(unsigned failures, uint32_t random);

#endif
