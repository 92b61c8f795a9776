/*
 * WebAssembly simd128 kernels: the browser build's hot paths (one thread, no FMA, no int8 dot
 * instruction). Quantized weights: the activations are quantized to Q8_0 and widened to int16 once
 * per call, each weight block is widened once per tile and multiplied with i32x4.dot_i16x8_s
 * against SIMD__T tokens; four rows are reduced into the four lanes of one vector, so a tile keeps
 * one float accumulator per token. Integer sums are exact and the float steps are the reference's
 * (isum * (d_w * d_x), blocks added in order), so these results equal wisp_matmul_ref's.
 */
#include "kernels.h"

#if defined(__wasm_simd128__)

#include <math.h>
#include <string.h>
#include <wasm_simd128.h>

#include "wasm_simd.h"

#define SIMD__T 4 /* tokens per tile for quantized weights */
#define SIMD__TF 2 /* tokens per tile for float weights (4x2 float accumulators) */
#define SIMD__QW_MIN_TOK 8 /* prompts from this many tokens take the widened panels */

/* Sum of the 4 lanes. */
static inline float simd__hsum(v128_t v) {
    v = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
    v = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
    return wasm_f32x4_extract_lane(v, 0);
}

/* ---- activations: Q8_0 widened to int16 ------------------------------------------------------- */

/* The n_tok activation rows as Q8_0 values (bit-identical to wisp_quantize_row_q8_0), stored
 * widened: xs (n_tok, n_cols) int16 and xd (n_tok, nb) float, the half-rounded block scale. */
static void simd__quantize_x(const float *X, size_t n_tok, size_t n_cols, int16_t *xs, float *xd) {
    const size_t nb = n_cols / QK8_0;
    for (size_t t = 0; t < n_tok; t++) {
        for (size_t b = 0; b < nb; b++) {
            v128_t q[8];
            xd[t * nb + b] = simd__quantize_block(X + t * n_cols + b * QK8_0, q);
            int16_t *dst = xs + t * n_cols + b * QK8_0;
            for (int i = 0; i < 8; i += 2) wasm_v128_store(dst + 4 * i, wasm_i16x8_narrow_i32x4(q[i], q[i + 1]));
        }
    }
}

/* ---- quantized tiles -------------------------------------------------------------------------- */

/* The 32 weights of one Q8_0 / Q4_0 block as four int16 vectors, in element order. (Tried:
 * Q4_0 nibbles used unsigned straight from 16-bit lanes, with the activations permuted to match
 * and 8 * sum(x) subtracted: fewer operations, but the 64-token prompt ran ~20% slower in V8.) */
static inline void simd__load_block(bool q4, const uint8_t *qs, v128_t w[4]) {
    if (q4) {
        const v128_t bytes = wasm_v128_load(qs);
        const v128_t eight = wasm_i8x16_splat(8);
        const v128_t lo = wasm_i8x16_sub(wasm_v128_and(bytes, wasm_i8x16_splat(0x0f)), eight);
        const v128_t hi = wasm_i8x16_sub(wasm_u8x16_shr(bytes, 4), eight);
        w[0] = wasm_i16x8_extend_low_i8x16(lo);
        w[1] = wasm_i16x8_extend_high_i8x16(lo);
        w[2] = wasm_i16x8_extend_low_i8x16(hi);
        w[3] = wasm_i16x8_extend_high_i8x16(hi);
    } else {
        w[0] = wasm_i16x8_load8x8(qs);
        w[1] = wasm_i16x8_load8x8(qs + 8);
        w[2] = wasm_i16x8_load8x8(qs + 16);
        w[3] = wasm_i16x8_load8x8(qs + 24);
    }
}

/* acc + the block's four rows' int32 sums (s[k]: lanes to add up for row k) times their scales
 * d_w (dwv) and the token's d_x: isum * (d_w * d_x), as the reference. */
static inline v128_t simd__add_block(v128_t acc, const v128_t s[SIMD__R], v128_t dwv, float dx) {
    const v128_t isum = simd__reduce4(wasm_i32x4_add, s[0], s[1], s[2], s[3]);
    const v128_t scale = wasm_f32x4_mul(dwv, wasm_f32x4_splat(dx));
    return wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(isum), scale));
}

/* One tile: four weight rows (rows[k]; a short tile repeats its last row and stores only nr) times
 * tokens t0..t0+nt. Lane k of acc[t] is output row k of token t. */
static inline __attribute__((always_inline)) void simd__tile_q(
    bool q4, const uint8_t *const rows[SIMD__R], int nr, size_t r0, size_t n_rows, const int16_t *xs,
    const float *xd, size_t n_cols, size_t t0, int nt, float *Y) {
    const size_t nb = n_cols / QK8_0;
    const size_t bs = q4 ? sizeof(block_q4_0) : sizeof(block_q8_0);
    v128_t acc[SIMD__T];
    for (int t = 0; t < nt; t++) acc[t] = wasm_f32x4_splat(0.0f);
    for (size_t b = 0; b < nb; b++) {
        v128_t w[SIMD__R][4];
        uint16_t dh[SIMD__R];
        SIMD__UNROLL for (int k = 0; k < SIMD__R; k++) {
            const uint8_t *blk = rows[k] + b * bs;
            memcpy(&dh[k], blk, 2);
            simd__load_block(q4, blk + 2, w[k]);
        }
        const v128_t dwv = simd__h2f(wasm_u32x4_make(dh[0], dh[1], dh[2], dh[3]));
        SIMD__UNROLL for (int t = 0; t < nt; t++) {
            const int16_t *x = xs + (t0 + t) * n_cols + b * QK8_0;
            const v128_t x0 = wasm_v128_load(x), x1 = wasm_v128_load(x + 8);
            const v128_t x2 = wasm_v128_load(x + 16), x3 = wasm_v128_load(x + 24);
            v128_t s[SIMD__R];
            SIMD__UNROLL for (int k = 0; k < SIMD__R; k++)
                s[k] = wasm_i32x4_add(wasm_i32x4_add(wasm_i32x4_dot_i16x8(w[k][0], x0), wasm_i32x4_dot_i16x8(w[k][1], x1)),
                                      wasm_i32x4_add(wasm_i32x4_dot_i16x8(w[k][2], x2), wasm_i32x4_dot_i16x8(w[k][3], x3)));
            acc[t] = simd__add_block(acc[t], s, dwv, xd[(t0 + t) * nb + b]);
        }
    }
    for (int t = 0; t < nt; t++) simd__store_rows(acc[t], nr, Y + (t0 + t) * n_rows + r0);
}

/* Rows per chunk: about 32 KB of weights stay in cache while every token tile passes over them. */
static size_t simd__chunk_rows(size_t row_bytes) {
    size_t n = (32768 / (row_bytes ? row_bytes : 1)) / SIMD__R * SIMD__R;
    return n < SIMD__R ? SIMD__R : n;
}

/* Whole matrix: chunks of rows that stay in cache, tiles of tokens over each chunk. */
static inline __attribute__((always_inline)) void simd__matmul_q(bool q4, const void *W, size_t n_rows,
                                                                  size_t n_cols, size_t n_tok,
                                                                  const int16_t *xs, const float *xd,
                                                                  float *Y) {
    const size_t row_bytes = n_cols / QK8_0 * (q4 ? sizeof(block_q4_0) : sizeof(block_q8_0));
    const size_t chunk = simd__chunk_rows(row_bytes);
    for (size_t rc = 0; rc < n_rows; rc += chunk) {
        const size_t r_end = n_rows - rc < chunk ? n_rows : rc + chunk;
        for (size_t t = 0; t < n_tok;) {
            const int nt = n_tok - t >= SIMD__T ? SIMD__T : (int)(n_tok - t);
            for (size_t r = rc; r < r_end; r += SIMD__R) {
                const int nr = r_end - r >= SIMD__R ? SIMD__R : (int)(r_end - r);
                const uint8_t *rows[SIMD__R];
                for (int k = 0; k < SIMD__R; k++)
                    rows[k] = (const uint8_t *)W + (r + (size_t)(k < nr ? k : nr - 1)) * row_bytes;
                switch (nt) {
                case 4: simd__tile_q(q4, rows, nr, r, n_rows, xs, xd, n_cols, t, 4, Y); break;
                case 3: simd__tile_q(q4, rows, nr, r, n_rows, xs, xd, n_cols, t, 3, Y); break;
                case 2: simd__tile_q(q4, rows, nr, r, n_rows, xs, xd, n_cols, t, 2, Y); break;
                default: simd__tile_q(q4, rows, nr, r, n_rows, xs, xd, n_cols, t, 1, Y); break;
                }
            }
            t += (size_t)nt;
        }
    }
}

/* ---- quantized prompts: widened panels ------------------------------------------------------- */

/* Prompts (n_tok >= SIMD__T): SIMD__PR weight rows at a time are widened to int16 once per call
 * (into scratch), their block scales converted to floats and grouped by 4 rows; the tiles then read
 * them as they are. The unpacking (and Q4_0's nibble arithmetic) is paid once per row instead of
 * once per tile of tokens. Same integer sums, same float steps: results equal _ref's. */
#define SIMD__PR 16
#define SIMD__TQ 6 /* tokens per widened tile; simd__matmul_qw has a case for each width */
_Static_assert(SIMD__PR * (QK8_0 * 2 + 4) <= WISP_SCRATCH_PANEL_PER_BLOCK, "panel fits the scratch");
_Static_assert(SIMD__TQ == 6, "simd__matmul_qw's switch has a case per tile width");

/* Rows r0..r0+nr (nr <= 16; a short panel repeats its last row) into w16 (SIMD__PR, n_cols) and
 * ds (SIMD__PR / 4, nb, 4): the scales of 4 rows side by side. */
static void simd__widen(bool q4, const uint8_t *W, size_t row_bytes, size_t r0, size_t nr, size_t n_cols,
                        int16_t *w16, float *ds) {
    const size_t nb = n_cols / QK8_0, bs = q4 ? sizeof(block_q4_0) : sizeof(block_q8_0);
    for (size_t i = 0; i < SIMD__PR; i++) {
        const uint8_t *row = W + (r0 + (i < nr ? i : nr - 1)) * row_bytes;
        for (size_t b = 0; b < nb; b++) {
            const uint8_t *blk = row + b * bs;
            v128_t w[4];
            simd__load_block(q4, blk + 2, w);
            int16_t *dst = w16 + i * n_cols + b * QK8_0;
            for (int k = 0; k < 4; k++) wasm_v128_store(dst + 8 * k, w[k]);
            wisp_f16 d;
            memcpy(&d, blk, 2);
            ds[((i / 4) * nb + b) * 4 + i % 4] = wisp_f16_to_f32(d);
        }
    }
}

/* Four widened rows (w16, stride n_cols; scales ds[b][4]) times tokens t0..t0+nt. */
static inline __attribute__((always_inline)) void simd__tile_qw(
    const int16_t *w16, const float *ds, int nr, size_t r0, size_t n_rows, const int16_t *xs, const float *xd,
    size_t n_cols, size_t t0, int nt, float *Y) {
    const size_t nb = n_cols / QK8_0;
    v128_t acc[SIMD__TQ];
    for (int t = 0; t < nt; t++) acc[t] = wasm_f32x4_splat(0.0f);
    for (size_t b = 0; b < nb; b++) {
        const v128_t dwv = wasm_v128_load(ds + b * 4);
        SIMD__UNROLL for (int t = 0; t < nt; t++) {
            const int16_t *x = xs + (t0 + t) * n_cols + b * QK8_0;
            const v128_t x0 = wasm_v128_load(x), x1 = wasm_v128_load(x + 8);
            const v128_t x2 = wasm_v128_load(x + 16), x3 = wasm_v128_load(x + 24);
            v128_t s[SIMD__R];
            SIMD__UNROLL for (int k = 0; k < SIMD__R; k++) {
                const int16_t *w = w16 + (size_t)k * n_cols + b * QK8_0;
                s[k] = wasm_i32x4_add(
                    wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_v128_load(w), x0), wasm_i32x4_dot_i16x8(wasm_v128_load(w + 8), x1)),
                    wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_v128_load(w + 16), x2), wasm_i32x4_dot_i16x8(wasm_v128_load(w + 24), x3)));
            }
            acc[t] = simd__add_block(acc[t], s, dwv, xd[(t0 + t) * nb + b]);
        }
    }
    for (int t = 0; t < nt; t++) simd__store_rows(acc[t], nr, Y + (t0 + t) * n_rows + r0);
}

static void simd__matmul_qw(bool q4, const void *W, size_t n_rows, size_t n_cols, size_t n_tok, const int16_t *xs,
                            const float *xd, float *Y, void *panel) {
    const size_t nb = n_cols / QK8_0;
    const size_t row_bytes = nb * (q4 ? sizeof(block_q4_0) : sizeof(block_q8_0));
    int16_t *w16 = panel;                          /* (SIMD__PR, n_cols) */
    float *ds = (float *)(w16 + SIMD__PR * n_cols); /* (SIMD__PR / 4, nb, 4) */
    for (size_t r0 = 0; r0 < n_rows; r0 += SIMD__PR) {
        const size_t nr = n_rows - r0 < SIMD__PR ? n_rows - r0 : SIMD__PR;
        simd__widen(q4, W, row_bytes, r0, nr, n_cols, w16, ds);
        for (size_t g = 0; g * 4 < nr; g++) {
            const int16_t *wg = w16 + g * 4 * n_cols;
            const float *dg = ds + g * nb * 4;
            const int gr = nr - g * 4 >= 4 ? 4 : (int)(nr - g * 4);
            for (size_t t = 0; t < n_tok;) {
                const int nt = n_tok - t >= SIMD__TQ ? SIMD__TQ : (int)(n_tok - t);
                switch (nt) {
                case 6: simd__tile_qw(wg, dg, gr, r0 + g * 4, n_rows, xs, xd, n_cols, t, 6, Y); break;
                case 5: simd__tile_qw(wg, dg, gr, r0 + g * 4, n_rows, xs, xd, n_cols, t, 5, Y); break;
                case 4: simd__tile_qw(wg, dg, gr, r0 + g * 4, n_rows, xs, xd, n_cols, t, 4, Y); break;
                case 3: simd__tile_qw(wg, dg, gr, r0 + g * 4, n_rows, xs, xd, n_cols, t, 3, Y); break;
                case 2: simd__tile_qw(wg, dg, gr, r0 + g * 4, n_rows, xs, xd, n_cols, t, 2, Y); break;
                default: simd__tile_qw(wg, dg, gr, r0 + g * 4, n_rows, xs, xd, n_cols, t, 1, Y); break;
                }
                t += (size_t)nt;
            }
        }
    }
}

/* ---- float tiles ------------------------------------------------------------------------------ */

/* Four float rows (a short tile repeats its last row) times tokens t0..t0+nt, 4 columns a step, the
 * n_cols % 4 tail in scalar. */
static inline __attribute__((always_inline)) void simd__tile_f(
    const float *const rows[SIMD__R], int nr, size_t r0, size_t n_rows, const float *X, size_t n_cols,
    size_t t0, int nt, float *Y) {
    v128_t acc[SIMD__R][SIMD__TF];
    SIMD__UNROLL for (int k = 0; k < SIMD__R; k++)
        for (int t = 0; t < nt; t++) acc[k][t] = wasm_f32x4_splat(0.0f);
    size_t c = 0;
    for (; c + 4 <= n_cols; c += 4) {
        v128_t w[SIMD__R];
        SIMD__UNROLL for (int k = 0; k < SIMD__R; k++) w[k] = wasm_v128_load(rows[k] + c);
        SIMD__UNROLL for (int t = 0; t < nt; t++) {
            const v128_t x = wasm_v128_load(X + (t0 + t) * n_cols + c);
            SIMD__UNROLL for (int k = 0; k < SIMD__R; k++) acc[k][t] = wasm_f32x4_add(acc[k][t], wasm_f32x4_mul(w[k], x));
        }
    }
    for (int t = 0; t < nt; t++) {
        const v128_t sums = simd__reduce4(wasm_f32x4_add, acc[0][t], acc[1][t], acc[2][t], acc[3][t]);
        if (c == n_cols) {
            simd__store_rows(sums, nr, Y + (t0 + t) * n_rows + r0);
            continue;
        }
        float out[SIMD__R];
        wasm_v128_store(out, sums);
        for (int k = 0; k < nr; k++) {
            float s = out[k];
            for (size_t j = c; j < n_cols; j++) s += rows[k][j] * X[(t0 + t) * n_cols + j];
            Y[(t0 + t) * n_rows + r0 + k] = s;
        }
    }
}

/* Rows r_begin..r_end of the output from float rows at Wf (row i at Wf + (i - r_begin) * n_cols). */
static void simd__rows_f(const float *Wf, size_t r_begin, size_t r_end, size_t n_rows, const float *X,
                         size_t n_cols, size_t n_tok, float *Y) {
    for (size_t t = 0; t < n_tok;) {
        const int nt = n_tok - t >= SIMD__TF ? SIMD__TF : (int)(n_tok - t);
        for (size_t r = r_begin; r < r_end; r += SIMD__R) {
            const int nr = r_end - r >= SIMD__R ? SIMD__R : (int)(r_end - r);
            const float *rows[SIMD__R];
            for (int k = 0; k < SIMD__R; k++) rows[k] = Wf + (r - r_begin + (size_t)(k < nr ? k : nr - 1)) * n_cols;
            if (nt == 2) simd__tile_f(rows, nr, r, n_rows, X, n_cols, t, 2, Y);
            else simd__tile_f(rows, nr, r, n_rows, X, n_cols, t, 1, Y);
        }
        t += (size_t)nt;
    }
}

/* 4 halves placed in the top 16 bits of each lane (h << 16) to floats, exactly, in few operations
 * for the F16 weight path: exponent and mantissa shifted into a float's place give h's value times
 * 2^-112 (normals and subnormals alike), one multiply rescales, inf/nan get their exponent back. A
 * subnormal half becomes a subnormal float operand here, which is right but may be slow on some
 * CPUs; trained weights rarely have them. */
static inline v128_t simd__h16_to_f32(v128_t x) {
    const v128_t em = wasm_u32x4_shr(wasm_v128_and(x, wasm_i32x4_splat(0x7fff0000)), 3);
    v128_t r = wasm_f32x4_mul(em, wasm_f32x4_splat(0x1p112f));
    r = wasm_v128_or(r, wasm_v128_and(wasm_i32x4_ge(em, wasm_i32x4_splat(0x0f800000)), wasm_i32x4_splat(0x7f800000)));
    return wasm_v128_or(r, wasm_v128_and(x, wasm_i32x4_splat((int32_t)0x80000000u)));
}

/* One weight row of any non-Q8_0/Q4_0 type to floats (exact). */
static void simd__row_to_f32(wisp_dtype wt, const void *w, float *y, size_t n) {
    size_t i = 0;
    if (wt == WISP_DTYPE_F16) {
        const wisp_f16 *h = w;
        for (; i + 8 <= n; i += 8) {
            const v128_t v = wasm_v128_load(h + i);
            const v128_t zero = wasm_i32x4_splat(0);
            wasm_v128_store(y + i, simd__h16_to_f32(wasm_i16x8_shuffle(zero, v, 0, 8, 1, 9, 2, 10, 3, 11)));
            wasm_v128_store(y + i + 4, simd__h16_to_f32(wasm_i16x8_shuffle(zero, v, 4, 12, 5, 13, 6, 14, 7, 15)));
        }
        for (; i < n; i++) y[i] = wisp_f16_to_f32(h[i]);
    } else if (wt == WISP_DTYPE_BF16) {
        const wisp_bf16 *h = w;
        for (; i + 8 <= n; i += 8) {
            const v128_t v = wasm_v128_load(h + i);
            wasm_v128_store(y + i, wasm_i32x4_shl(wasm_u32x4_extend_low_u16x8(v), 16));
            wasm_v128_store(y + i + 4, wasm_i32x4_shl(wasm_u32x4_extend_high_u16x8(v), 16));
        }
        for (; i < n; i++) y[i] = wisp_bf16_to_f32(h[i]);
    } else {
        wisp_dequantize_row(wt, w, y, n);
    }
}

/* F32 weights are used in place (in chunks that stay in cache); other types are converted
 * WISP_MATMUL_ROWS_CONVERTED rows at a time into scratch, once per call, and shared by all tokens. */
static void simd__matmul_f(wisp_dtype wt, const void *W, size_t n_rows, size_t n_cols, const float *X,
                           size_t n_tok, float *Y, void *scratch) {
    const size_t row_bytes = wisp_row_bytes(wt, n_cols);
    if (wt == WISP_DTYPE_F32) {
        const size_t chunk = simd__chunk_rows(row_bytes);
        for (size_t rc = 0; rc < n_rows; rc += chunk) {
            const size_t r_end = n_rows - rc < chunk ? n_rows : rc + chunk;
            simd__rows_f((const float *)W + rc * n_cols, rc, r_end, n_rows, X, n_cols, n_tok, Y);
        }
        return;
    }
    float *wf = wisp__scratch_align(scratch); /* (WISP_MATMUL_ROWS_CONVERTED, n_cols) */
    for (size_t rc = 0; rc < n_rows; rc += WISP_MATMUL_ROWS_CONVERTED) {
        const size_t nr = n_rows - rc < WISP_MATMUL_ROWS_CONVERTED ? n_rows - rc : WISP_MATMUL_ROWS_CONVERTED;
        for (size_t i = 0; i < nr; i++)
            simd__row_to_f32(wt, (const uint8_t *)W + (rc + i) * row_bytes, wf + i * n_cols, n_cols);
        simd__rows_f(wf, rc, rc + nr, n_rows, X, n_cols, n_tok, Y);
    }
}

/* ---- transposed float weights ------------------------------------------------------------------ */

/* Rows per step (4 vectors of 4) and tokens per tile of wisp_matmul_t. */
#define SIMD__TV 4
#define SIMD__TT 2

/* 4 weights Wt[i..i+4) as floats (F16: exact conversion). */
static inline v128_t simd__load_t4(wisp_dtype wt, const void *Wt, size_t i) {
    if (wt != WISP_DTYPE_F16) return wasm_v128_load((const float *)Wt + i);
    const v128_t h = wasm_v128_load64_zero((const wisp_f16 *)Wt + i);
    return simd__h16_to_f32(wasm_i16x8_shuffle(wasm_i32x4_splat(0), h, 0, 8, 1, 9, 2, 10, 3, 11));
}

/* Rows r0..r0+4*nv of Y for tokens t0..t0+nt: column c adds Wt[c][r0..] * X[t][c]. */
static inline __attribute__((always_inline)) void simd__tile_t(wisp_dtype wt, const void *Wt, size_t n_rows,
                                                               size_t n_cols, size_t r0, int nv, const float *X,
                                                               size_t t0, int nt, float *Y) {
    v128_t acc[SIMD__TV][SIMD__TT];
    SIMD__UNROLL for (int v = 0; v < nv; v++)
        SIMD__UNROLL for (int t = 0; t < nt; t++) acc[v][t] = wasm_f32x4_splat(0.0f);
    for (size_t c = 0; c < n_cols; c++) {
        v128_t w[SIMD__TV];
        SIMD__UNROLL for (int v = 0; v < nv; v++) w[v] = simd__load_t4(wt, Wt, c * n_rows + r0 + 4 * (size_t)v);
        SIMD__UNROLL for (int t = 0; t < nt; t++) {
            const v128_t x = wasm_v128_load32_splat(X + (t0 + t) * n_cols + c);
            SIMD__UNROLL for (int v = 0; v < nv; v++) acc[v][t] = wasm_f32x4_add(acc[v][t], wasm_f32x4_mul(w[v], x));
        }
    }
    SIMD__UNROLL for (int t = 0; t < nt; t++)
        SIMD__UNROLL for (int v = 0; v < nv; v++) wasm_v128_store(Y + (t0 + t) * n_rows + r0 + 4 * (size_t)v, acc[v][t]);
}

void wisp_matmul_t(wisp_dtype wt, const void *Wt, size_t n_rows, size_t n_cols, const float *X, size_t n_tok,
                   float *Y) {
    const size_t full = n_rows / 4 * 4;
    for (size_t t = 0; t < n_tok; t += SIMD__TT) {
        const int nt = n_tok - t >= SIMD__TT ? SIMD__TT : 1;
        size_t r = 0;
        for (; r + 4 * SIMD__TV <= full; r += 4 * SIMD__TV) {
            if (nt == 2) simd__tile_t(wt, Wt, n_rows, n_cols, r, SIMD__TV, X, t, 2, Y);
            else simd__tile_t(wt, Wt, n_rows, n_cols, r, SIMD__TV, X, t, 1, Y);
        }
        for (; r < full; r += 4) {
            if (nt == 2) simd__tile_t(wt, Wt, n_rows, n_cols, r, 1, X, t, 2, Y);
            else simd__tile_t(wt, Wt, n_rows, n_cols, r, 1, X, t, 1, Y);
        }
        wisp__matmul_t_rows_ref(wt, Wt, n_rows, n_cols, full, X, t, (size_t)nt, Y); /* n_rows % 4 */
    }
}

/* The engine's matmul in WebAssembly: Q8_0/Q4_0 through int16 dot tiles, the rest through
 * float tiles (converted rows in scratch for F16/BF16/K-quants). */
void wisp_matmul(wisp_dtype wt, const void *W, size_t n_rows, size_t n_cols, const float *X,
                 size_t n_tok, float *Y, void *scratch) {
    if (wt == WISP_DTYPE_Q8_0 || wt == WISP_DTYPE_Q4_0) {
#if defined(WISP_RELAXED_KERNELS)
        /* Decode shapes through the relaxed-SIMD int8 dot (the kernel module); prompts keep the
         * widened panels below, which are faster (bench/RESULTS.md, "Kernels"). */
        if (n_tok < SIMD__QW_MIN_TOK) {
            wisp_matmul_q_relaxed(wt == WISP_DTYPE_Q4_0, W, n_rows, n_cols, X, n_tok, Y, scratch);
            return;
        }
#endif
        int16_t *xs = wisp__scratch_align(scratch);  /* (n_tok, n_cols) */
        float *xd = (float *)(xs + n_tok * n_cols); /* (n_tok, n_cols / 32) */
        simd__quantize_x(X, n_tok, n_cols, xs, xd);
        if (n_tok >= SIMD__QW_MIN_TOK) {
            void *panel = wisp__scratch_align(xd + n_tok * (n_cols / QK8_0));
            simd__matmul_qw(wt == WISP_DTYPE_Q4_0, W, n_rows, n_cols, n_tok, xs, xd, Y, panel);
            return;
        }
        if (wt == WISP_DTYPE_Q4_0) simd__matmul_q(true, W, n_rows, n_cols, n_tok, xs, xd, Y);
        else simd__matmul_q(false, W, n_rows, n_cols, n_tok, xs, xd, Y);
        return;
    }
    simd__matmul_f(wt, W, n_rows, n_cols, X, n_tok, Y, scratch);
}

/* ---- vector kernels --------------------------------------------------------------------------- */

/* Vector kernels: mul + add (no FMA in simd128), tails in scalar. */
float wisp_dot_f32(const float *a, const float *b, size_t n) {
    v128_t s0 = wasm_f32x4_splat(0.0f), s1 = wasm_f32x4_splat(0.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
        s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(wasm_v128_load(a + i + 4), wasm_v128_load(b + i + 4)));
    }
    float s = simd__hsum(wasm_f32x4_add(s0, s1));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

void wisp_axpy_f32(float a, const float *x, float *y, size_t n) {
    const v128_t av = wasm_f32x4_splat(a);
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        wasm_v128_store(y + i, wasm_f32x4_add(wasm_v128_load(y + i), wasm_f32x4_mul(av, wasm_v128_load(x + i))));
    for (; i < n; i++) y[i] += a * x[i];
}

void wisp_rmsnorm_f32(float *y, const float *x, const float *w, size_t n, float eps) {
    v128_t s0 = wasm_f32x4_splat(0.0f), s1 = wasm_f32x4_splat(0.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const v128_t a = wasm_v128_load(x + i), b = wasm_v128_load(x + i + 4);
        s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(a, a));
        s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(b, b));
    }
    float ss = simd__hsum(wasm_f32x4_add(s0, s1));
    for (; i < n; i++) ss += x[i] * x[i];
    const float scale = 1.0f / sqrtf(ss / (float)n + eps);
    const v128_t sv = wasm_f32x4_splat(scale);
    for (i = 0; i + 4 <= n; i += 4)
        wasm_v128_store(y + i, wasm_f32x4_mul(wasm_f32x4_mul(wasm_v128_load(x + i), sv), wasm_v128_load(w + i)));
    for (; i < n; i++) y[i] = x[i] * scale * w[i];
}

/* exp(x) for x in [-87, 88] (clamped outside): 2^k p(r), r = x - k ln2 with ln2 in two parts,
 * p the degree-6 Taylor polynomial (relative error < 2e-7). */
static inline v128_t simd__exp(v128_t x) {
    x = wasm_f32x4_min(wasm_f32x4_max(x, wasm_f32x4_splat(-87.0f)), wasm_f32x4_splat(88.0f));
    const v128_t k = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504f)));
    v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(k, wasm_f32x4_splat(0.693145751953125f)));
    r = wasm_f32x4_sub(r, wasm_f32x4_mul(k, wasm_f32x4_splat(1.428606765330187e-06f)));
    v128_t p = wasm_f32x4_splat(1.0f / 720);
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 120));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 24));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 6));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(0.5f));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
    const v128_t e = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(k), wasm_i32x4_splat(127)), 23);
    return wasm_f32x4_mul(p, e);
}

void wisp_softmax_f32(float *x, size_t n, float scale) {
    const v128_t sv = wasm_f32x4_splat(scale);
    v128_t mv = wasm_f32x4_splat(-INFINITY);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const v128_t v = wasm_f32x4_mul(wasm_v128_load(x + i), sv);
        wasm_v128_store(x + i, v);
        mv = wasm_f32x4_max(mv, v);
    }
    float max = simd__hmax(mv);
    for (size_t j = i; j < n; j++) {
        x[j] *= scale;
        if (x[j] > max) max = x[j];
    }
    const v128_t maxv = wasm_f32x4_splat(max);
    v128_t sum4 = wasm_f32x4_splat(0.0f);
    for (i = 0; i + 4 <= n; i += 4) {
        const v128_t e = simd__exp(wasm_f32x4_sub(wasm_v128_load(x + i), maxv));
        wasm_v128_store(x + i, e);
        sum4 = wasm_f32x4_add(sum4, e);
    }
    float sum = simd__hsum(sum4);
    for (size_t j = i; j < n; j++) sum += x[j] = expf(x[j] - max);
    const v128_t inv = wasm_f32x4_splat(1.0f / sum);
    for (i = 0; i + 4 <= n; i += 4) wasm_v128_store(x + i, wasm_f32x4_mul(wasm_v128_load(x + i), inv));
    for (; i < n; i++) x[i] *= 1.0f / sum;
}

void wisp_swiglu_f32(float *g, const float *u, size_t n) {
    const v128_t one = wasm_f32x4_splat(1.0f);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const v128_t x = wasm_v128_load(g + i);
        const v128_t silu = wasm_f32x4_div(x, wasm_f32x4_add(one, simd__exp(wasm_f32x4_neg(x))));
        wasm_v128_store(g + i, wasm_f32x4_mul(silu, wasm_v128_load(u + i)));
    }
    for (; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

#endif
