/*
 * Targets with neither AVX2 nor WASM simd128: the engine's kernel names are the references.
 * (Like ggml's arch-fallback.h: one name per kernel, the build picks the file, no pointers.)
 */
#include "kernels.h"

#if !defined(__AVX2__) && !defined(__wasm_simd128__)

void wisp_matmul(wisp_dtype wt, const void *W, size_t n_rows, size_t n_cols, const float *X,
                 size_t n_tok, float *Y, void *scratch) {
    wisp_matmul_ref(wt, W, n_rows, n_cols, X, n_tok, Y, scratch);
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
