/* Helpers the C benchmarks share, header-only: the clock they time with and the median. */
#ifndef WISP_BENCH_H
#define WISP_BENCH_H

#include <stdlib.h>
#include <time.h>

/* Natively the thread's CPU time, so that a shared, loaded machine does not inflate the figures
 * with time spent waiting for a core; under Emscripten (no such clock) the monotonic clock. */
static inline double bench_cpu_ms(void) {
    struct timespec ts;
#if defined(__EMSCRIPTEN__)
    clock_gettime(CLOCK_MONOTONIC, &ts);
#else
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
#endif
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline int bench__cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of v[0..n) (sorts v). */
static inline double bench_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, bench__cmp_double);
    return v[n / 2];
}

#endif
