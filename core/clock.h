/* Milliseconds from the monotonic and the wall clock, as every part (server, clients, tools, tests) counts time. */
#ifndef SM_CORE_CLOCK_H
#define SM_CORE_CLOCK_H

#include <stdint.h>

/* Monotonic time: for timeouts, intervals and rates (never jumps with the wall clock). */
int64_t sm_mono_ms(void);
/* Milliseconds since the epoch: for times shown to people or sent on the wire ($StartTime, "after"). */
int64_t sm_wall_ms(void);

#endif
