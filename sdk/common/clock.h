/*
 * Time sources. Pure modules never read the clock: they take `now` as an argument, so
 * tests can drive them without sleeping. Only I/O code calls these.
 */
#ifndef ARTEMIS_SDK_CLOCK_H
#define ARTEMIS_SDK_CLOCK_H

#include <stdint.h>

/* Wall-clock milliseconds since the epoch (for timestamps on the wire). MT-safe. */
int64_t artemisi_wall_ms(void);

/* Monotonic milliseconds (for timers, leases, rate windows). MT-safe. */
int64_t artemisi_mono_ms(void);

#endif
