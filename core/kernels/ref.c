/*
 * The portable reference of every kernel in kernels.h: plain loops, written to be obviously
 * right. The AVX2 and simd128 versions are tested against these; on a target with neither,
 * generic.c makes them the kernels the engine runs.
 */
#include "kernels.h"

#include <math.h>
#include <string.h>

/* Scratch is the caller's bytes with no alignment promise; every user rounds up to 64. */
void *wisp__scratch_align(void *scratch) {
    return (void *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
}

/* One scratch size for all implementations, so the engine sizes its buffer once whatever the
 * build: the largest layout any of ref / avx2 / simd128 uses. Quantized weights: the activations
 * as Q8_0 (34 bytes per 32) or widened to int16 plus a float scale (68 bytes per 32), rounded to
 * WISP_SCRATCH_PER_BLOCK, then the VNNI kernel's panel of 16 repacked rows. Float and K-quant weights: WISP_MATMUL_ROWS_CONVERTED rows converted to
 * float. */
size_t wisp_matmul_scratch_bytes(wisp_dtype wt, size_t n_cols, size_t n_tok) {
    switch (wt) {
    case WISP_DTYPE_Q8_0:
    case WISP_DTYPE_Q4_0:
        return n_tok * (n_cols / QK8_0) * WISP_SCRATCH_PER_BLOCK + (n_cols / QK8_0) * WISP_SCRATCH_PANEL_PER_BLOCK + 128;
    case WISP_DTYPE_F32:
    case WISP_DTYPE_F16:
    case WISP_DTYPE_BF16:
    case WISP_DTYPE_Q4_K:
    case WISP_DTYPE_Q6_K: return WISP_MATMUL_ROWS_CONVERTED * n_cols * sizeof(float) + 64;
    }
    return 0;
}

/* The model loader asks before it accepts a tensor type for a matrix. */
bool wisp_matmul_supports(wisp_dtype wt) {
    switch (wt) {
    case WISP_DTYPE_F32:
    case WISP_DTYPE_F16:
    case WISP_DTYPE_BF16:
    case WISP_DTYPE_Q8_0:
    case WISP_DTYPE_Q4_0:
    case WISP_DTYPE_Q4_K:
    case WISP_DTYPE_Q6_K: return true;
    }
    return false;
}

/* Q8_0 weights x Q8_0 activations: exact int32 per block, then scaled by d_w * d_x in float,
 * blocks summed in order (llama.cpp's generic ggml_vec_dot_q8_0_q8_0). */
float wisp_vec_dot_q8_0_q8_0_ref(const block_q8_0 *w, const block_q8_0 *x, size_t nb) {
    float sum = 0.0f;
    for (size_t b = 0; b < nb; b++) {
        int32_t isum = 0;
        for (int j = 0; j < QK8_0; j++) isum += (int32_t)w[b].qs[j] * (int32_t)x[b].qs[j];
        sum += (float)isum * (wisp_f16_to_f32(w[b].d) * wisp_f16_to_f32(x[b].d));
    }
    return sum;
}

/* Q4_0 weights x Q8_0 activations, the same way (ggml_vec_dot_q4_0_q8_0). */
float wisp_vec_dot_q4_0_q8_0_ref(const block_q4_0 *w, const block_q8_0 *x, size_t nb) {
    float sum = 0.0f;
    for (size_t b = 0; b < nb; b++) {
        int32_t isum = 0;
        for (int j = 0; j < QK4_0 / 2; j++) {
            isum += ((w[b].qs[j] & 0x0f) - 8) * (int32_t)x[b].qs[j];
            isum += ((w[b].qs[j] >> 4) - 8) * (int32_t)x[b].qs[j + QK4_0 / 2];
        }
        sum += (float)isum * (wisp_f16_to_f32(w[b].d) * wisp_f16_to_f32(x[b].d));
    }
    return sum;
}

/* Quantized weights: activations to Q8_0 once per call (scratch), then one int8 dot product per
 * (token, row). */
static void ref__matmul_q(wisp_dtype wt, const void *W, size_t n_rows, size_t n_cols,
                          const float *X, size_t n_tok, float *Y, void *scratch) {
    const size_t nb = n_cols / QK8_0;
    block_q8_0 *xq = wisp__scratch_align(scratch); /* (n_tok, nb) */
    for (size_t t = 0; t < n_tok; t++) wisp_quantize_row_q8_0(X + t * n_cols, xq + t * nb, n_cols);
    const size_t row_bytes = wisp_row_bytes(wt, n_cols);
    for (size_t t = 0; t < n_tok; t++) {
        for (size_t r = 0; r < n_rows; r++) {
            const void *w = (const uint8_t *)W + r * row_bytes;
            Y[t * n_rows + r] = wt == WISP_DTYPE_Q8_0
                                    ? wisp_vec_dot_q8_0_q8_0_ref(w, xq + t * nb, nb)
                                    : wisp_vec_dot_q4_0_q8_0_ref(w, xq + t * nb, nb);
        }
    }
}

/* Everything else: each weight row converted to float in scratch (exact for F16/BF16), then a
 * float dot product with every token, summed in column order. */
static void ref__matmul_f(wisp_dtype wt, const void *W, size_t n_rows, size_t n_cols,
                          const float *X, size_t n_tok, float *Y, void *scratch) {
    float *wrow = wisp__scratch_align(scratch); /* (n_cols) */
    const size_t row_bytes = wisp_row_bytes(wt, n_cols);
    for (size_t r = 0; r < n_rows; r++) {
        const void *w = (const uint8_t *)W + r * row_bytes;
        const float *wf = w;
        if (wt != WISP_DTYPE_F32) {
            wisp_dequantize_row(wt, w, wrow, n_cols);
            wf = wrow;
        }
        for (size_t t = 0; t < n_tok; t++) Y[t * n_rows + r] = wisp_dot_f32_ref(wf, X + t * n_cols, n_cols);
    }
}

/* The definition of wisp_matmul (see kernels.h); the other versions must match it within the
 * bounds tests/test_kernels.c states. */
void wisp_matmul_ref(wisp_dtype wt, const void *W, size_t n_rows, size_t n_cols, const float *X,
                     size_t n_tok, float *Y, void *scratch) {
    if (wt == WISP_DTYPE_Q8_0 || wt == WISP_DTYPE_Q4_0)
        ref__matmul_q(wt, W, n_rows, n_cols, X, n_tok, Y, scratch);
    else
        ref__matmul_f(wt, W, n_rows, n_cols, X, n_tok, Y, scratch);
}

/* Vector references: sums in index order, no FMA contraction assumed. */
float wisp_dot_f32_ref(const float *a, const float *b, size_t n) {
    float sum = 0.0f;
    for (size_t i = 0; i < n; i++) sum += a[i] * b[i];
    return sum;
}

void wisp_axpy_f32_ref(float a, const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}

/* Mean of squares in float, as llama.cpp's ggml_rms_norm sums (it uses a double sum; so do we, so
 * that long rows lose nothing). */
void wisp_rmsnorm_f32_ref(float *y, const float *x, const float *w, size_t n, float eps) {
    double ss = 0.0;
    for (size_t i = 0; i < n; i++) ss += (double)x[i] * (double)x[i];
    const float scale = 1.0f / sqrtf((float)(ss / (double)n) + eps);
    for (size_t i = 0; i < n; i++) y[i] = x[i] * scale * w[i];
}

void wisp_swiglu_f32_ref(float *g, const float *u, size_t n) {
    for (size_t i = 0; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

void wisp_softmax_f32_ref(float *x, size_t n, float scale) {
    float max = -INFINITY;
    for (size_t j = 0; j < n; j++) {
        x[j] *= scale;
        if (x[j] > max) max = x[j];
    }
    float sum = 0.0f;
    for (size_t j = 0; j < n; j++) {
        x[j] = expf(x[j] - max);
        sum += x[j];
    }
    const float inv = 1.0f / sum;
    for (size_t j = 0; j < n; j++) x[j] *= inv;
}

/* Transposed float weights: each output summed in column order. */
void wisp_matmul_t_ref(wisp_dtype wt, const void *Wt, size_t n_rows, size_t n_cols, const float *X,
                       size_t n_tok, float *Y) {
    wisp__matmul_t_rows_ref(wt, Wt, n_rows, n_cols, 0, X, 0, n_tok, Y);
}

void wisp__matmul_t_rows_ref(wisp_dtype wt, const void *Wt, size_t n_rows, size_t n_cols, size_t r_begin,
                             const float *X, size_t t0, size_t n_t, float *Y) {
    for (size_t t = t0; t < t0 + n_t; t++)
        for (size_t r = r_begin; r < n_rows; r++) {
            float s = 0.0f;
            for (size_t c = 0; c < n_cols; c++) {
                const size_t i = c * n_rows + r;
                const float w = wt == WISP_DTYPE_F16 ? wisp_f16_to_f32(((const wisp_f16 *)Wt)[i]) : ((const float *)Wt)[i];
                s += w * X[t * n_cols + c];
            }
            Y[t * n_rows + r] = s;
        }
}
