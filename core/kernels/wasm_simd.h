/*
 * Helpers shared by the WebAssembly kernel files (simd128.c, relaxed.c): lane reductions, exact
 * half-to-float and roundf on four lanes, the store of a tile's rows. Static inline: each file
 * compiles its own copy into its own module.
 */
#ifndef WISP_KERNELS_WASM_SIMD_H
#define WISP_KERNELS_WASM_SIMD_H

#include <stdint.h>
#include <wasm_simd128.h>

#include "kernels.h"

#define SIMD__R 4 /* rows per tile: the four lanes of a vector */
/* Fully unrolled tile loops keep the weights of a tile in wasm locals (registers) instead of an
 * array on the C stack in linear memory. */
#define SIMD__UNROLL _Pragma("clang loop unroll(full)")

/* [sum a, sum b, sum c, sum d] of four vectors, `add` the lanes' addition (wasm_i32x4_add at the
 * end of a quantized block, wasm_f32x4_add at the end of a float tile): two rounds of shuffles and
 * adds. Inlined, the call through `add` is a direct one. */
static inline __attribute__((always_inline)) v128_t simd__reduce4(v128_t (*add)(v128_t, v128_t), v128_t a, v128_t b,
                                                                   v128_t c, v128_t d) {
    v128_t ab = add(wasm_i32x4_shuffle(a, b, 0, 4, 1, 5), wasm_i32x4_shuffle(a, b, 2, 6, 3, 7));
    v128_t cd = add(wasm_i32x4_shuffle(c, d, 0, 4, 1, 5), wasm_i32x4_shuffle(c, d, 2, 6, 3, 7));
    return add(wasm_i32x4_shuffle(ab, cd, 0, 1, 4, 5), wasm_i32x4_shuffle(ab, cd, 2, 3, 6, 7));
}

/* Largest of the 4 lanes. */
static inline float simd__hmax(v128_t v) {
    v = wasm_f32x4_max(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
    v = wasm_f32x4_max(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
    return wasm_f32x4_extract_lane(v, 0);
}

/* 4 halves (zero-extended to u32 lanes) to floats, exactly: normals by rebiasing the exponent,
 * subnormals as integer * 2^-24 (no subnormal float arithmetic), inf/nan by setting the exponent. */
static inline v128_t simd__h2f(v128_t u) {
    const v128_t sign = wasm_i32x4_shl(wasm_v128_and(u, wasm_i32x4_splat(0x8000)), 16);
    const v128_t em = wasm_v128_and(u, wasm_i32x4_splat(0x7fff));
    const v128_t normal = wasm_i32x4_add(wasm_i32x4_shl(em, 13), wasm_i32x4_splat(112 << 23));
    const v128_t sub = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(em), wasm_f32x4_splat(0x1p-24f));
    const v128_t special = wasm_v128_or(wasm_i32x4_shl(em, 13), wasm_i32x4_splat(0x7f800000));
    v128_t r = wasm_v128_bitselect(sub, normal, wasm_i32x4_lt(em, wasm_i32x4_splat(0x400)));
    r = wasm_v128_bitselect(special, r, wasm_i32x4_ge(em, wasm_i32x4_splat(0x7c00)));
    return wasm_v128_or(r, sign);
}

/* roundf on 4 floats (halves away from zero), exactly: trunc, then a step away from zero when the
 * dropped part is >= 0.5. */
static inline v128_t simd__roundf(v128_t v) {
    const v128_t sign = wasm_f32x4_splat(-0.0f);
    const v128_t t = wasm_f32x4_trunc(v);
    const v128_t frac = wasm_f32x4_abs(wasm_f32x4_sub(v, t));
    const v128_t step = wasm_v128_or(wasm_v128_and(v, sign), wasm_f32x4_splat(1.0f));
    return wasm_f32x4_add(t, wasm_v128_and(wasm_f32x4_ge(frac, wasm_f32x4_splat(0.5f)), step));
}

/* The first nr lanes of acc (one per row) to y[0..nr). Lane by lane, not through an array: a loop
 * over one compiles to a call of memcpy (~4% of a prefill's time in V8), and the relaxed kernel
 * module has no stack of its own in the memory it shares. */
static inline void simd__store_rows(v128_t acc, int nr, float *y) {
    if (nr == SIMD__R) {
        wasm_v128_store(y, acc);
        return;
    }
    y[0] = wasm_f32x4_extract_lane(acc, 0);
    if (nr > 1) y[1] = wasm_f32x4_extract_lane(acc, 1);
    if (nr > 2) y[2] = wasm_f32x4_extract_lane(acc, 2);
}

/* One block of 32 activations quantized as Q8_0 (bit-identical to wisp_quantize_row_q8_0): the
 * values in q[0..8) as int32 lanes, in order; returns the block scale rounded through a half. */
static inline __attribute__((always_inline)) float simd__quantize_block(const float *x, v128_t q[8]) {
    v128_t v[8], m = wasm_f32x4_splat(0.0f);
    SIMD__UNROLL for (int i = 0; i < 8; i++) {
        v[i] = wasm_v128_load(x + 4 * i);
        m = wasm_f32x4_max(m, wasm_f32x4_abs(v[i]));
    }
    const float amax = simd__hmax(m);
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const v128_t idv = wasm_f32x4_splat(id);
    SIMD__UNROLL for (int i = 0; i < 8; i++) q[i] = wasm_i32x4_trunc_sat_f32x4(simd__roundf(wasm_f32x4_mul(v[i], idv)));
    return wisp_f16_to_f32(wisp_f32_to_f16(d));
}

#endif
