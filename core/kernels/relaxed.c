/*
 * The quantized matmul with WebAssembly's relaxed-SIMD int8 dot product
 * (i32x4.relaxed_dot_i8x16_i7x16_add_s: 16 int8 x 7-bit products summed into four int32 lanes plus
 * an accumulator; V8 lowers it to VPDPBUSD on CPUs with VNNI). Built alone, with clang-19, into
 * the relaxed kernel module (wisp-kernels-relaxed.wasm) that the relaxed engine build imports
 * (wasm/README.md): its only export is wisp_matmul_q_relaxed, and it uses no stack and no data of
 * its own in the memory it shares with the engine.
 *
 * The second operand must be 7-bit (0..127) for a defined result. Q4_0: the int8 activations
 * against the nibbles as they are (0..15), minus 8 * sum(x) per block. Q8_0 (any int8 weight,
 * -128 included): the weights against the activations split once per call into their positive
 * part and the magnitude of their negative part (both 0..127 as quantized here), the second dot
 * product subtracted. Either way the block's integer sum is the reference's, and the float steps
 * are simd128.c's (isum * (d_w * d_x), blocks in order): results equal wisp_matmul_ref's.
 * Only decode shapes come here (simd128.c keeps its widened panels for prompts: faster).
 */
#include "kernels.h"

#if defined(__wasm_relaxed_simd__)

#include "wasm_simd.h"

#define RELAXED__T 4 /* tokens per tile */

_Static_assert(2 * QK8_0 + 2 * 4 <= WISP_SCRATCH_PER_BLOCK, "xq, xn, xd and xs fit the scratch");

/* The activations as Q8_0, (n_tok, n_cols) int8: xq the values (Q4_0) or their positive parts
 * (Q8_0), xn the magnitudes of their negative parts (Q8_0); xd (n_tok, nb) the block scales, and
 * for Q4_0 xs (n_tok, nb) 8 * the sum of the block's values. */
static void relaxed__quantize_x(bool q4, const float *X, size_t n_tok, size_t n_cols, int8_t *xq, int8_t *xn,
                                float *xd, int32_t *xs) {
    const size_t nb = n_cols / QK8_0;
    for (size_t t = 0; t < n_tok; t++) {
        for (size_t b = 0; b < nb; b++) {
            v128_t q[8];
            xd[t * nb + b] = simd__quantize_block(X + t * n_cols + b * QK8_0, q);
            int8_t *dst = xq + t * n_cols + b * QK8_0;
            SIMD__UNROLL for (int h = 0; h < 2; h++) {
                const v128_t lo = wasm_i16x8_narrow_i32x4(q[4 * h], q[4 * h + 1]);
                const v128_t hi = wasm_i16x8_narrow_i32x4(q[4 * h + 2], q[4 * h + 3]);
                const v128_t v = wasm_i8x16_narrow_i16x8(lo, hi);
                if (q4) {
                    wasm_v128_store(dst + 16 * h, v);
                } else {
                    const v128_t zero = wasm_i8x16_splat(0);
                    wasm_v128_store(dst + 16 * h, wasm_i8x16_max(v, zero));
                    wasm_v128_store(xn + t * n_cols + b * QK8_0 + 16 * h, wasm_i8x16_sub(zero, wasm_i8x16_min(v, zero)));
                }
            }
            if (q4) {
                v128_t s = wasm_i32x4_add(wasm_i32x4_add(q[0], q[1]), wasm_i32x4_add(q[2], q[3]));
                s = wasm_i32x4_add(s, wasm_i32x4_add(wasm_i32x4_add(q[4], q[5]), wasm_i32x4_add(q[6], q[7])));
                s = wasm_i32x4_add(s, wasm_i32x4_shuffle(s, s, 2, 3, 0, 1));
                s = wasm_i32x4_add(s, wasm_i32x4_shuffle(s, s, 1, 0, 3, 2));
                xs[t * nb + b] = 8 * wasm_i32x4_extract_lane(s, 0);
            }
        }
    }
}

/* One tile: four weight rows (a short tile repeats its last row and stores only nr) times tokens
 * t0..t0+nt. Lane k of acc[t] is output row k of token t. */
static inline __attribute__((always_inline)) void relaxed__tile(
    bool q4, const uint8_t *r0p, const uint8_t *r1p, const uint8_t *r2p, const uint8_t *r3p, int nr, size_t r0,
    size_t n_rows, const int8_t *xq, const int8_t *xn, const float *xd, const int32_t *xs, size_t n_cols,
    size_t t0, int nt, float *Y) {
    const size_t nb = n_cols / QK8_0;
    const size_t bs = q4 ? sizeof(block_q4_0) : sizeof(block_q8_0);
    const uint8_t *const rows[SIMD__R] = {r0p, r1p, r2p, r3p};
    v128_t acc[RELAXED__T];
    SIMD__UNROLL for (int t = 0; t < RELAXED__T; t++) acc[t] = wasm_f32x4_splat(0.0f);
    for (size_t b = 0; b < nb; b++) {
        v128_t w[SIMD__R][2];
        uint32_t dh[SIMD__R];
        SIMD__UNROLL for (int k = 0; k < SIMD__R; k++) {
            const uint8_t *blk = rows[k] + b * bs;
            dh[k] = (uint32_t)blk[0] | (uint32_t)blk[1] << 8;
            if (q4) {
                const v128_t bytes = wasm_v128_load(blk + 2);
                w[k][0] = wasm_v128_and(bytes, wasm_i8x16_splat(0x0f));
                w[k][1] = wasm_u8x16_shr(bytes, 4);
            } else {
                w[k][0] = wasm_v128_load(blk + 2);
                w[k][1] = wasm_v128_load(blk + 18);
            }
        }
        const v128_t dwv = simd__h2f(wasm_u32x4_make(dh[0], dh[1], dh[2], dh[3]));
        SIMD__UNROLL for (int t = 0; t < RELAXED__T; t++) {
            if (t >= nt) break;
            const size_t xo = (t0 + t) * n_cols + b * QK8_0;
            const v128_t x0 = wasm_v128_load(xq + xo), x1 = wasm_v128_load(xq + xo + 16);
            v128_t s[SIMD__R];
            if (q4) {
                SIMD__UNROLL for (int k = 0; k < SIMD__R; k++)
                    s[k] = wasm_i32x4_relaxed_dot_i8x16_i7x16_add(x1, w[k][1],
                           wasm_i32x4_relaxed_dot_i8x16_i7x16_add(x0, w[k][0], wasm_i32x4_splat(0)));
            } else {
                const v128_t n0 = wasm_v128_load(xn + xo), n1 = wasm_v128_load(xn + xo + 16);
                SIMD__UNROLL for (int k = 0; k < SIMD__R; k++) {
                    const v128_t pos = wasm_i32x4_relaxed_dot_i8x16_i7x16_add(w[k][1], x1,
                                       wasm_i32x4_relaxed_dot_i8x16_i7x16_add(w[k][0], x0, wasm_i32x4_splat(0)));
                    const v128_t neg = wasm_i32x4_relaxed_dot_i8x16_i7x16_add(w[k][1], n1,
                                       wasm_i32x4_relaxed_dot_i8x16_i7x16_add(w[k][0], n0, wasm_i32x4_splat(0)));
                    s[k] = wasm_i32x4_sub(pos, neg);
                }
            }
            v128_t isum = simd__reduce4(wasm_i32x4_add, s[0], s[1], s[2], s[3]);
            if (q4) isum = wasm_i32x4_sub(isum, wasm_i32x4_splat(xs[(t0 + t) * nb + b]));
            const v128_t scale = wasm_f32x4_mul(dwv, wasm_f32x4_splat(xd[(t0 + t) * nb + b]));
            acc[t] = wasm_f32x4_add(acc[t], wasm_f32x4_mul(wasm_f32x4_convert_i32x4(isum), scale));
        }
    }
    SIMD__UNROLL for (int t = 0; t < RELAXED__T; t++)
        if (t < nt) simd__store_rows(acc[t], nr, Y + (t0 + t) * n_rows + r0);
}

/* Rows in chunks of about 32 KB of weights that stay in cache while every token tile passes over
 * them (simd128.c's arrangement). */
static void relaxed__matmul(bool q4, const void *W, size_t n_rows, size_t n_cols, size_t n_tok, const int8_t *xq,
                            const int8_t *xn, const float *xd, const int32_t *xs, float *Y) {
    const size_t row_bytes = n_cols / QK8_0 * (q4 ? sizeof(block_q4_0) : sizeof(block_q8_0));
    size_t chunk = (32768 / row_bytes) / SIMD__R * SIMD__R;
    if (chunk < SIMD__R) chunk = SIMD__R;
    for (size_t rc = 0; rc < n_rows; rc += chunk) {
        const size_t r_end = n_rows - rc < chunk ? n_rows : rc + chunk;
        for (size_t t = 0; t < n_tok; t += RELAXED__T) {
            const int nt = n_tok - t >= RELAXED__T ? RELAXED__T : (int)(n_tok - t);
            for (size_t r = rc; r < r_end; r += SIMD__R) {
                const int nr = r_end - r >= SIMD__R ? SIMD__R : (int)(r_end - r);
                const uint8_t *p = (const uint8_t *)W + r * row_bytes;
                const uint8_t *p1 = p + (nr > 1 ? 1 : 0) * row_bytes;
                const uint8_t *p2 = p + (nr > 2 ? 2 : nr - 1) * row_bytes;
                const uint8_t *p3 = p + (size_t)(nr - 1) * row_bytes;
                if (q4) relaxed__tile(true, p, p1, p2, p3, nr, r, n_rows, xq, xn, xd, xs, n_cols, t, nt, Y);
                else relaxed__tile(false, p, p1, p2, p3, nr, r, n_rows, xq, xn, xd, xs, n_cols, t, nt, Y);
            }
        }
    }
}

void wisp_matmul_q_relaxed(bool q4, const void *W, size_t n_rows, size_t n_cols, const float *X, size_t n_tok,
                           float *Y, void *scratch) {
    const size_t nb = n_cols / QK8_0;
    int8_t *xq = wisp__scratch_align(scratch);     /* (n_tok, n_cols) */
    int8_t *xn = xq + n_tok * n_cols;              /* (n_tok, n_cols), Q8_0 */
    float *xd = (float *)(xn + n_tok * n_cols);    /* (n_tok, nb) */
    int32_t *xs = (int32_t *)(xd + n_tok * nb);    /* (n_tok, nb), Q4_0 */
    relaxed__quantize_x(q4, X, n_tok, n_cols, xq, xn, xd, xs);
    relaxed__matmul(q4, W, n_rows, n_cols, n_tok, xq, xn, xd, xs, Y);
}

#endif
