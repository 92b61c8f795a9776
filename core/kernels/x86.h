/*
 * Inline helpers shared by the x86-64 kernel files (avx2.c, vnni.c); included only under
 * __AVX2__.
 */
#ifndef WISP_KERNELS_X86_H
#define WISP_KERNELS_X86_H

#include <immintrin.h>

/* 8 x 8 transpose of 32-bit elements (floats, or integers cast to __m256): element j of v[i]
 * moves to element i of v[j]. */
static inline void wisp__transpose8x32(__m256 v[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(v[2 * i], v[2 * i + 1]);     /* rows 2i, 2i+1: c0 c1 | c4 c5 */
        t[2 * i + 1] = _mm256_unpackhi_ps(v[2 * i], v[2 * i + 1]); /* c2 c3 | c6 c7 */
    }
    for (int h = 0; h < 2; h++) { /* rows 0-3, then 4-7 */
        const __m256 *a = t + 4 * h;
        __m256 *b = u + 4 * h;
        b[0] = _mm256_shuffle_ps(a[0], a[2], 0x44); /* c0 | c4 */
        b[1] = _mm256_shuffle_ps(a[0], a[2], 0xee); /* c1 | c5 */
        b[2] = _mm256_shuffle_ps(a[1], a[3], 0x44); /* c2 | c6 */
        b[3] = _mm256_shuffle_ps(a[1], a[3], 0xee); /* c3 | c7 */
    }
    for (int j = 0; j < 4; j++) {
        v[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
        v[j + 4] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
    }
}

#endif
