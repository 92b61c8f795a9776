/* The engine's one clock (wisp.h, section 5): milliseconds from a monotonic clock, for the time
 * budgets of generation and completion and for their timings. Calls nothing else of wisp. */
#include <time.h>

#include "wisp.h"

double wisp_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
