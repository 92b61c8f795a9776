/*
 * Targets with neither AVX2 nor WASM simd128: portable C behind the engine's kernel names (like
 * ggml's arch-fallback.h: one name per kernel, the build picks the file, no pointers). The vector
 * operations are the references; the quantized matmul is a blocked version of the reference.
 */
#include "kernels.h"

#if !defined(__AVX2__) && !defined(__wasm_simd128__)

#define GENERIC__R 4 /* rows per tile */
#define GENERIC__T 4 /* tokens per tile */

/* Weights of one block as ints (Q8_0 as is, Q4_0 unpacked and re-centred) and its scale. */
static float generic__block(wisp_dtype wt, const uint8_t *row, size_t b, int32_t q[32]) {
    if (wt == WISP_DTYPE_Q8_0) {
        const block_q8_0 *blk = (const block_q8_0 *)row + b;
        for (int j = 0; j < 32; j++) q[j] = blk->qs[j];
        return wisp_f16_to_f32(blk->d);
    }
    const block_q4_0 *blk = (const block_q4_0 *)row + b;
    for (int j = 0; j < 16; j++) {
        q[j] = (blk->qs[j] & 0x0f) - 8;
        q[j + 16] = (blk->qs[j] >> 4) - 8;
    }
    return wisp_f16_to_f32(blk->d);
}

/* Quantized weights in portable C, still blocked like the SIMD versions: each weight block is
 * unpacked once per tile of up to 4 tokens. The same arithmetic as _ref (int32 per block, times
 * d_w * d_x, blocks in order), so the results are identical. */
static void generic__matmul_q(wisp_dtype wt, const void *W, size_t n_rows, size_t n_cols,
                              const float *X, size_t n_tok, float *Y, void *scratch) {
    const size_t nb = n_cols / QK8_0, row_bytes = wisp_row_bytes(wt, n_cols);
    block_q8_0 *xq = wisp__scratch_align(scratch); /* (n_tok, nb) */
    for (size_t t = 0; t < n_tok; t++) wisp_quantize_row_q8_0(X + t * n_cols, xq + t * nb, n_cols);
    for (size_t t0 = 0; t0 < n_tok; t0 += GENERIC__T) {
        const size_t nt = n_tok - t0 < GENERIC__T ? n_tok - t0 : GENERIC__T;
        for (size_t r0 = 0; r0 < n_rows; r0 += GENERIC__R) {
            const size_t nr = n_rows - r0 < GENERIC__R ? n_rows - r0 : GENERIC__R;
            float acc[GENERIC__R][GENERIC__T] = {{0}};
            for (size_t b = 0; b < nb; b++) {
                for (size_t r = 0; r < nr; r++) {
                    int32_t q[32];
                    const float dw = generic__block(wt, (const uint8_t *)W + (r0 + r) * row_bytes, b, q);
                    for (size_t t = 0; t < nt; t++) {
                        const block_q8_0 *x = xq + (t0 + t) * nb + b;
                        int32_t isum = 0;
                        for (int j = 0; j < 32; j++) isum += q[j] * x->qs[j];
                        acc[r][t] += (float)isum * (dw * wisp_f16_to_f32(x->d));
                    }
                }
            }
            for (size_t t = 0; t < nt; t++)
                for (size_t r = 0; r < nr; r++) Y[(t0 + t) * n_rows + r0 + r] = acc[r][t];
        }
    }
}

/* Float weights: the reference already converts each row once and uses it for every token. */
void wisp_matmul(wisp_dtype wt, const void *W, size_t n_rows, size_t n_cols, const float *X,
                 size_t n_tok, float *Y, void *scratch) {
    if (wt == WISP_DTYPE_Q8_0 || wt == WISP_DTYPE_Q4_0)
        generic__matmul_q(wt, W, n_rows, n_cols, X, n_tok, Y, scratch);
    else
        wisp_matmul_ref(wt, W, n_rows, n_cols, X, n_tok, Y, scratch);
}

void wisp_matmul_t(wisp_dtype wt, const void *Wt, size_t n_rows, size_t n_cols, const float *X, size_t n_tok,
                   float *Y) {
    wisp_matmul_t_ref(wt, Wt, n_rows, n_cols, X, n_tok, Y);
}

/* Vector kernels: the references. */
void wisp_softmax_f32(float *x, size_t n, float scale) {
    wisp_softmax_f32_ref(x, n, scale);
}

float wisp_dot_f32(const float *a, const float *b, size_t n) {
    return wisp_dot_f32_ref(a, b, n);
}

void wisp_axpy_f32(float a, const float *x, float *y, size_t n) {
    wisp_axpy_f32_ref(a, x, y, n);
}

void wisp_rmsnorm_f32(float *y, const float *x, const float *w, size_t n, float eps) {
    wisp_rmsnorm_f32_ref(y, x, w, n, eps);
}

void wisp_swiglu_f32(float *g, const float *u, size_t n) {
    wisp_swiglu_f32_ref(g, u, n);
}

#endif
