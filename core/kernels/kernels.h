/*
 * The hot operations of the forward pass. One name per kernel; `_ref` is the portable C
 * reference, and the unsuffixed name is the one the engine calls: kernels/avx2.c defines it under
 * __AVX2__, kernels/simd128.c under __wasm_simd128__, kernels/generic.c forwards to _ref
 * otherwise. No function pointers. Each is tested against _ref in tests/test_kernels.c with a
 * stated error bound.
 *
 * Matrices follow ggml: a weight W of type `wt` has n_rows rows of n_cols contiguous elements
 * (n_cols is ne[0]). Activations are float rows of n_cols.
 */
#ifndef WISP_KERNELS_H
#define WISP_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "quant.h"

/*
 * Y[t * n_rows + r] = sum_c W[r][c] * X[t * n_cols + c], for t < n_tok, r < n_rows.
 * n_tok == 1 is the decode (matrix-vector) path; n_tok > 1 is the prompt path, which runs a
 * blocked matrix-matrix kernel that reuses each loaded weight block across several tokens.
 * For Q8_0/Q4_0 weights the activations are first quantized to Q8_0 in `scratch` (as llama.cpp
 * does); `scratch` must hold wisp_matmul_scratch_bytes(wt, n_cols, n_tok) bytes.
 * For F16/BF16/Q4_K/Q6_K weights the kernels convert weights to float on the fly (F16/BF16
 * exactly, K-quants by their dequantization formula) and multiply in float. n_cols must be a multiple of 32 for Q8_0/Q4_0, of 256 for Q4_K/Q6_K.
 * `scratch` needs no particular alignment (kernels round it up to 64 bytes) and is only working
 * memory: its contents before and after the call mean nothing. Y must not overlap X or W.
 * Accuracy: quantized weights give exactly llama.cpp's int32 block sums; the float sums of
 * blocks (or of products, for float weights) may be added in a different order than _ref.
 * No kernel keeps state: calls on distinct threads need only distinct scratch.
 */
void wisp_matmul(wisp_dtype wt, const void *W, size_t n_rows, size_t n_cols, const float *X,
                 size_t n_tok, float *Y, void *scratch);
void wisp_matmul_ref(wisp_dtype wt, const void *W, size_t n_rows, size_t n_cols, const float *X,
                     size_t n_tok, float *Y, void *scratch);
size_t wisp_matmul_scratch_bytes(wisp_dtype wt, size_t n_cols, size_t n_tok);
/* True when wisp_matmul handles weights of this type. */
bool wisp_matmul_supports(wisp_dtype wt);

/*
 * The same product with the weights stored transposed: Y[t * n_rows + r] = sum_c Wt[c * n_rows + r]
 * * X[t * n_cols + c], Wt an (n_cols, n_rows) matrix of F32 or F16 (the attention's value cache:
 * one row per position, so O = P V needs no transposition). Rows run in vector lanes (no horizontal
 * sums, no scratch); float sums may be added in any order. Y must not overlap Wt or X.
 */
void wisp_matmul_t(wisp_dtype wt, const void *Wt, size_t n_rows, size_t n_cols, const float *X, size_t n_tok,
                   float *Y);
void wisp_matmul_t_ref(wisp_dtype wt, const void *Wt, size_t n_rows, size_t n_cols, const float *X,
                       size_t n_tok, float *Y);
/* The reference for output rows r_begin..n_rows and tokens t0..t0+n_t only: the vector versions'
 * last n_rows % (vector width) rows. */
void wisp__matmul_t_rows_ref(wisp_dtype wt, const void *Wt, size_t n_rows, size_t n_cols, size_t r_begin,
                             const float *X, size_t t0, size_t n_t, float *Y);

/* Sizes behind wisp_matmul_scratch_bytes: bytes per 32 activations per token (the largest of the
 * implementations' layouts: Q8_0 blocks, or int16 + a float scale), and how many weight rows the
 * float-weight kernels convert at once (K-quant rows; AVX2's float panels). */
#define WISP_SCRATCH_PER_BLOCK 72
/* The prompt kernels' panel of weight rows, bytes per 32 columns: the largest of vnni.c's
 * repacked int8 (640) and simd128.c's 16 rows widened to int16 with float scales (1088). */
#define WISP_SCRATCH_PANEL_PER_BLOCK 1088
#define WISP_MATMUL_ROWS_CONVERTED 16

/* Internal helpers shared by the kernel files: the scratch pointer rounded up to 64 bytes, and
 * the reference block dot products (nb blocks; int32 per block times d_w * d_x, summed in order). */
void *wisp__scratch_align(void *scratch);
float wisp_vec_dot_q8_0_q8_0_ref(const block_q8_0 *w, const block_q8_0 *x, size_t nb);
float wisp_vec_dot_q4_0_q8_0_ref(const block_q4_0 *w, const block_q8_0 *x, size_t nb);

/* kernels/relaxed.c (WebAssembly relaxed SIMD, built alone into the relaxed kernel module):
 * wisp_matmul for Q8_0 (q4 false) and Q4_0 (q4 true) weights, same contract and scratch. The
 * relaxed engine build (WISP_RELAXED_KERNELS) calls that module's export through
 * wasm/relaxed-kernels.js. */
void wisp_matmul_q_relaxed(bool q4, const void *W, size_t n_rows, size_t n_cols, const float *X, size_t n_tok,
                           float *Y, void *scratch);

/* kernels/vnni.c (x86-64 with AVX512-VNNI + VL): Q8_0/Q4_0 weights times n_tok tokens of Q8_0
 * activations stored as x + 128 (xq: (n_tok, n_cols) bytes, xd: (n_tok, n_cols / 32) scales).
 * `panel` is 64-byte aligned scratch of n_cols / 32 * WISP_SCRATCH_PANEL_PER_BLOCK bytes. */
#define WISP_VNNI_MIN_TOK 8
void wisp__matmul_q_vnni(bool q4, const void *W, size_t n_rows, size_t n_cols, size_t n_tok, const uint8_t *xq,
                         const float *xd, float *Y, void *panel);

/* Small vector operations of the forward pass (f32). rmsnorm may run in place (y == x), swiglu
 * runs in place on g. */
float wisp_dot_f32(const float *a, const float *b, size_t n);
float wisp_dot_f32_ref(const float *a, const float *b, size_t n);
/* y += a * x */
void wisp_axpy_f32(float a, const float *x, float *y, size_t n);
void wisp_axpy_f32_ref(float a, const float *x, float *y, size_t n);
/* y = x / rms(x) * w, rms with epsilon eps */
void wisp_rmsnorm_f32(float *y, const float *x, const float *w, size_t n, float eps);
void wisp_rmsnorm_f32_ref(float *y, const float *x, const float *w, size_t n, float eps);
/* In place: x = exp(scale * x - m) / sum, m the largest scale * x (the attention's softmax over
 * one row of scores; n >= 1). */
void wisp_softmax_f32(float *x, size_t n, float scale);
void wisp_softmax_f32_ref(float *x, size_t n, float scale);
/* g = silu(g) * u (SwiGLU) */
void wisp_swiglu_f32(float *g, const float *u, size_t n);
void wisp_swiglu_f32_ref(float *g, const float *u, size_t n);

#endif
