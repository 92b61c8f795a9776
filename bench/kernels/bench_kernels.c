/*
 * Kernel microbenchmark: G multiply-adds per second of wisp_matmul for each weight type, on the
 * decode path (n_tok = 1) and the prompt path (n_tok = 64), with the shapes of small code models
 * (attention 1024x1024, FFN 2816x1024, a 32768x512 vocabulary head), one thread. The same source
 * runs natively (AVX2) and as WebAssembly under node (simd128): bench/kernels/run.sh.
 *
 *   bench_kernels [--quick] [--ref] [--only TYPE]
 *     --quick: 0.05 s per figure instead of 0.3; --ref adds the portable reference on the first
 *     shape; --only q8_0 (etc.) runs one type.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"
#include "quant.h"

#if defined(__EMSCRIPTEN__)
#include <emscripten.h>
/* Under node, CPU seconds of the process (user + system): V8's compiler threads are idle once the
 * module is compiled (run.sh passes --no-liftoff), so this is the benchmark thread's time. In a
 * browser, which has no such clock, wall seconds (the best sample is the least disturbed one). */
EM_JS(double, bench__cpu_js, (void), {
    if (typeof process !== 'undefined' && process.cpuUsage) {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1e6;
    }
    return performance.now() / 1e3;
});
static double bench__now_s(void) {
    return bench__cpu_js();
}
#else
/* CPU seconds of this thread: on a machine shared with other jobs, wall time would count the
 * time slices given to them. */
static double bench__now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
#endif

static uint32_t bench__rng = 12345;
static float bench__rand(void) {
    bench__rng = bench__rng * 1664525u + 1013904223u;
    return (float)(bench__rng >> 8) / 8388608.0f - 1.0f;
}

static const char *bench__name(wisp_dtype t) {
    switch (t) {
    case WISP_DTYPE_F32: return "f32";
    case WISP_DTYPE_F16: return "f16";
    case WISP_DTYPE_BF16: return "bf16";
    case WISP_DTYPE_Q8_0: return "q8_0";
    case WISP_DTYPE_Q4_0: return "q4_0";
    case WISP_DTYPE_Q4_K: return "q4_K";
    case WISP_DTYPE_Q6_K: return "q6_K";
    }
    return "?";
}

/* A weight matrix of `type` from random floats (K-quants: random bytes with a small scale). */
static void *bench__weights(wisp_dtype type, size_t n_rows, size_t n_cols) {
    size_t row_bytes = wisp_row_bytes(type, n_cols);
    uint8_t *w = malloc(n_rows * row_bytes);
    float *row = malloc(n_cols * sizeof(float));
    if (!w || !row) return NULL;
    for (size_t r = 0; r < n_rows; r++) {
        uint8_t *dst = w + r * row_bytes;
        for (size_t c = 0; c < n_cols; c++) row[c] = bench__rand();
        switch (type) {
        case WISP_DTYPE_F32: memcpy(dst, row, n_cols * 4); break;
        case WISP_DTYPE_F16:
            for (size_t c = 0; c < n_cols; c++) ((wisp_f16 *)dst)[c] = wisp_f32_to_f16(row[c]);
            break;
        case WISP_DTYPE_BF16:
            for (size_t c = 0; c < n_cols; c++) ((wisp_bf16 *)dst)[c] = wisp_f32_to_bf16(row[c]);
            break;
        case WISP_DTYPE_Q8_0: wisp_quantize_row_q8_0(row, (block_q8_0 *)dst, n_cols); break;
        case WISP_DTYPE_Q4_0: wisp_quantize_row_q4_0(row, (block_q4_0 *)dst, n_cols); break;
        default:
            for (size_t i = 0; i < row_bytes; i++) dst[i] = (uint8_t)(bench__rand() * 127 + 128);
            for (size_t i = 0; i < row_bytes; i += wisp_row_bytes(type, QK_K)) {
                wisp_f16 d = wisp_f32_to_f16(0.01f);
                memcpy(dst + i + (type == WISP_DTYPE_Q6_K ? 208 : 0), &d, 2);
            }
        }
    }
    free(row);
    return w;
}

typedef void (*bench__mm)(wisp_dtype, const void *, size_t, size_t, const float *, size_t, float *, void *);

/* Runs the matmul for at least min_s CPU seconds (after one warm-up call, which pays first-use
 * costs: page faults, a JIT's baseline tier) in samples of as many calls as last >= 5 ms (clocks
 * are coarse for one 30 us call: a browser's to 0.1 ms), and returns G multiply-adds per CPU second
 * of the fastest sample: the machine is shared, and the best sample is the one least disturbed
 * by other processes (cache and memory-bandwidth contention). */
static double bench__run(bench__mm mm, wisp_dtype type, const void *w, size_t n_rows, size_t n_cols,
                         const float *x, size_t n_tok, float *y, void *scratch, double min_s) {
    mm(type, w, n_rows, n_cols, x, n_tok, y, scratch);
    double best = 1e30, start = bench__now_s(), t1;
    do {
        size_t calls = 0;
        const double t0 = bench__now_s();
        do {
            mm(type, w, n_rows, n_cols, x, n_tok, y, scratch);
            calls++;
            t1 = bench__now_s();
        } while (t1 - t0 < 0.005);
        if ((t1 - t0) / (double)calls < best) best = (t1 - t0) / (double)calls;
    } while (t1 - start < min_s);
    return (double)n_rows * (double)n_cols * (double)n_tok / best / 1e9;
}

int main(int argc, char **argv) {
    int quick = 0, with_ref = 0;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--ref")) with_ref = 1;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else {
            fprintf(stderr, "usage: bench_kernels [--quick] [--ref] [--only TYPE]\n");
            return 2;
        }
    }
    const double min_s = quick ? 0.05 : 0.3;
    static const size_t shapes[][2] = {{1024, 1024}, {2816, 1024}, {32768, 512}};
    static const wisp_dtype types[] = {WISP_DTYPE_Q8_0, WISP_DTYPE_Q4_0, WISP_DTYPE_F16,
                                       WISP_DTYPE_BF16, WISP_DTYPE_F32, WISP_DTYPE_Q4_K,
                                       WISP_DTYPE_Q6_K};
    const size_t n_prompt = 64;
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
    const char *impl = "avx2 + avx512-vnni (prompt panels, decode dot)";
#elif defined(__AVX2__)
    const char *impl = "avx2";
#elif defined(__wasm_simd128__) && defined(WISP_RELAXED_KERNELS)
    const char *impl = "simd128, Q8_0/Q4_0 from the relaxed-SIMD kernel module";
#elif defined(__wasm_simd128__)
    const char *impl = "simd128";
#else
    const char *impl = "generic";
#endif
    printf("kernels: %s, one thread, GMAC/s = n_rows*n_cols*n_tok / s (best sample; CPU s natively and under node, wall s in a browser) / 1e9\n", impl);
    printf("%-5s %13s %12s %12s%s\n", "type", "rows x cols", "decode(1)", "prompt(64)",
           with_ref ? "   ref decode ref prompt(8)" : "");
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const wisp_dtype type = types[ti];
            if (only && strcmp(only, bench__name(type))) continue;
            const size_t n_rows = shapes[s][0], n_cols = shapes[s][1];
            void *w = bench__weights(type, n_rows, n_cols);
            float *x = malloc(n_prompt * n_cols * sizeof(float));
            float *y = malloc(n_prompt * n_rows * sizeof(float));
            void *scratch = malloc(wisp_matmul_scratch_bytes(type, n_cols, n_prompt));
            if (!w || !x || !y || !scratch) {
                fprintf(stderr, "out of memory\n");
                return 1;
            }
            for (size_t i = 0; i < n_prompt * n_cols; i++) x[i] = bench__rand();
            double dec = bench__run(wisp_matmul, type, w, n_rows, n_cols, x, 1, y, scratch, min_s);
            double pp = bench__run(wisp_matmul, type, w, n_rows, n_cols, x, n_prompt, y, scratch, min_s);
            printf("%-5s %6zu x %-5zu %12.2f %12.2f", bench__name(type), n_rows, n_cols, dec, pp);
            if (with_ref && s == 0) {
                double rd = bench__run(wisp_matmul_ref, type, w, n_rows, n_cols, x, 1, y, scratch, min_s);
                double rp = bench__run(wisp_matmul_ref, type, w, n_rows, n_cols, x, 8, y, scratch, min_s);
                printf(" %12.2f %11.2f", rd, rp);
            }
            printf("\n");
            fflush(stdout);
            free(w), free(x), free(y), free(scratch);
        }
    }
    return 0;
}
