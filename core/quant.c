/*
 * Tensor element types: half/bfloat conversions, the Q8_0/Q4_0 quantizers and dequantizers for
 * every type wisp reads. The quantizers compute exactly what llama.cpp's reference
 * quantize_row_q8_0_ref / quantize_row_q4_0_ref compute, so files we write match its output bit for
 * bit, and so the activations quantized for a matmul match what llama.cpp would multiply.
 */
#include "quant.h"

#include <math.h>
#include <string.h>

/* Bit casts without aliasing trouble (memcpy compiles to a move). */
static uint32_t quant__f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float quant__bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Half to float is exact: every half is a float. Done in integers so that it does not depend on
 * the target having F16C (WASM does not). */
float wisp_f16_to_f32(wisp_f16 h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1f) return quant__bits_f32(sign | 0x7f800000u | (man << 13)); /* inf, nan */
    if (exp == 0) {
        /* zero or subnormal: man * 2^-24, exact in float */
        float f = (float)man * 0x1p-24f;
        return sign ? -f : f;
    }
    return quant__bits_f32(sign | ((exp + 112u) << 23) | (man << 13));
}

/* Float to half, round to nearest even, like F16C's _cvtss_sh(x, 0) and numpy's float16. */
wisp_f16 wisp_f32_to_f16(float f) {
    uint32_t x = quant__f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) /* nan: keep it quiet and keep the top payload bits */
        return (wisp_f16)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x477ff000u) return (wisp_f16)(sign | 0x7c00u); /* >= 65520 rounds to inf */
    if (ax < 0x38800000u) {
        /* below the smallest normal half (2^-14): count units of 2^-24 */
        uint32_t exp = ax >> 23;
        if (exp < 102) return sign; /* < 2^-25: rounds to zero (2^-25 itself ties to even 0) */
        uint32_t mant = (ax & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - exp; /* 14..24 */
        uint32_t r = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return (wisp_f16)(sign | r); /* r == 0x400 is the smallest normal, encoded right */
    }
    /* normal: round the 13 dropped bits to nearest even, then rebias the exponent 127 -> 15 */
    ax += 0xfffu + ((ax >> 13) & 1u);
    return (wisp_f16)(sign | ((ax - (112u << 23)) >> 13));
}

/* bfloat16 is the top half of a float: exact one way. */
float wisp_bf16_to_f32(wisp_bf16 h) {
    return quant__bits_f32((uint32_t)h << 16);
}

/* Round to nearest even by the carry trick; NaN must not carry into inf. */
wisp_bf16 wisp_f32_to_bf16(float f) {
    uint32_t x = quant__f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (wisp_bf16)((x >> 16) | 0x40u);
    x += 0x7fffu + ((x >> 16) & 1u);
    return (wisp_bf16)(x >> 16);
}

/* v as an integer in [lo, hi], NaN as `nan`: a float outside an integer type's range (an inf or
 * a NaN in a hostile or broken file's weights) must not reach a conversion, where it is
 * undefined behaviour. */
static int quant__to_int(float v, int lo, int hi, int nan) {
    if (v != v) return nan;
    if (v <= (float)lo) return lo;
    if (v >= (float)hi) return hi;
    return (int)v;
}

/* Q8_0: d = max|x| / 127, q = round(x / d) (half away from zero, as roundf). */
void wisp_quantize_row_q8_0(const float *x, block_q8_0 *y, size_t n) {
    assert(n % QK8_0 == 0);
    for (size_t i = 0; i < n / QK8_0; i++) {
        const float *xb = x + i * QK8_0;
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; j++) amax = fmaxf(amax, fabsf(xb[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = wisp_f32_to_f16(d);
        for (int j = 0; j < QK8_0; j++) y[i].qs[j] = (int8_t)quant__to_int(roundf(xb[j] * id), -127, 127, 0);
    }
}

/* Q4_0: the value of largest magnitude (with its sign) maps to -8, so d = max / -8;
 * q = min(15, trunc(x / d + 8.5)). */
void wisp_quantize_row_q4_0(const float *x, block_q4_0 *y, size_t n) {
    assert(n % QK4_0 == 0);
    for (size_t i = 0; i < n / QK4_0; i++) {
        const float *xb = x + i * QK4_0;
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK4_0; j++) {
            if (amax < fabsf(xb[j])) {
                amax = fabsf(xb[j]);
                max = xb[j];
            }
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = wisp_f32_to_f16(d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            int q0 = quant__to_int(xb[j] * id + 8.5f, 0, 15, 8);
            int q1 = quant__to_int(xb[j + QK4_0 / 2] * id + 8.5f, 0, 15, 8);
            y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

/* Block by block: x = d * q, with d the block's half-precision scale. */
static void quant__dequant_q8_0(const block_q8_0 *restrict x, float *restrict y, size_t n) {
    for (size_t i = 0; i < n / QK8_0; i++) {
        const float d = wisp_f16_to_f32(x[i].d);
        for (int j = 0; j < QK8_0; j++) y[i * QK8_0 + j] = d * (float)x[i].qs[j];
    }
}

/* x = d * (q - 8); byte j gives weight j (low nibble) and j + 16 (high nibble). */
static void quant__dequant_q4_0(const block_q4_0 *restrict x, float *restrict y, size_t n) {
    for (size_t i = 0; i < n / QK4_0; i++) {
        const float d = wisp_f16_to_f32(x[i].d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            y[i * QK4_0 + j] = d * (float)((x[i].qs[j] & 0x0f) - 8);
            y[i * QK4_0 + j + QK4_0 / 2] = d * (float)((x[i].qs[j] >> 4) - 8);
        }
    }
}

/* Q4_K packs eight 6-bit scales and eight 6-bit mins in 12 bytes: the first four of each in the
 * low 6 bits of bytes 0-3 / 4-7, the last four split over bytes 8-11 (low 4 bits) and the top 2
 * bits of bytes 0-7. */
static void quant__q4_K_scale_min(int j, const uint8_t *s, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (uint8_t)((s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4));
        *m = (uint8_t)((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
    }
}

/* x = d * sc * q - dmin * m per sub-block of 32 (llama.cpp's dequantize_row_q4_K layout). */
static void quant__dequant_q4_K(const block_q4_K *restrict x, float *restrict y, size_t n) {
    for (size_t i = 0; i < n / QK_K; i++) {
        const float d = wisp_f16_to_f32(x[i].d);
        const float dmin = wisp_f16_to_f32(x[i].dmin);
        const uint8_t *q = x[i].qs;
        /* each 64 weights: 32 bytes, low nibbles are sub-block 2k, high nibbles sub-block 2k+1 */
        for (int k = 0; k < 4; k++) {
            uint8_t sc0, m0, sc1, m1;
            quant__q4_K_scale_min(2 * k, x[i].scales, &sc0, &m0);
            quant__q4_K_scale_min(2 * k + 1, x[i].scales, &sc1, &m1);
            const float d0 = d * sc0, dm0 = dmin * m0, d1 = d * sc1, dm1 = dmin * m1;
            for (int l = 0; l < 32; l++) *y++ = d0 * (float)(q[l] & 0x0f) - dm0;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)(q[l] >> 4) - dm1;
            q += 32;
        }
    }
}

/* x = d * sc * (q - 32) per sub-block of 16 (llama.cpp's dequantize_row_q6_K layout). */
static void quant__dequant_q6_K(const block_q6_K *restrict x, float *restrict y, size_t n) {
    for (size_t i = 0; i < n / QK_K; i++) {
        const float d = wisp_f16_to_f32(x[i].d);
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        /* each 128 weights: 64 bytes of low nibbles, 32 bytes of 2-bit high parts, 8 scales */
        for (int half = 0; half < 2; half++) {
            /* four weights at a time: q = low nibble | 2 high bits << 4, in 0..63, straight to
             * floats (no byte array in between: reading it back wide stalls store forwarding) */
            const int8_t *sc = x[i].scales + half * 8;
            for (int l = 0; l < 32; l += 4) {
                uint32_t a, b, h;
                memcpy(&a, ql + l, 4);
                memcpy(&b, ql + l + 32, 4);
                memcpy(&h, qh + l, 4);
                const uint32_t lo4 = 0x0f0f0f0fu, lo2 = 0x03030303u;
                const uint32_t q[4] = {(a & lo4) | ((h & lo2) << 4), (b & lo4) | (((h >> 2) & lo2) << 4),
                                       ((a >> 4) & lo4) | (((h >> 4) & lo2) << 4),
                                       ((b >> 4) & lo4) | (((h >> 6) & lo2) << 4)};
                for (int k = 0; k < 4; k++) {
                    /* quarter k holds weights 32k + l .. 32k + l + 3, sub-block 2k + l / 16 */
                    const float dk = d * (float)sc[2 * k + l / 16];
                    for (int e = 0; e < 4; e++)
                        y[32 * k + l + e] = dk * (float)((int)((q[k] >> (8 * e)) & 0xff) - 32);
                }
            }
            y += 128;
            ql += 64;
            qh += 32;
        }
    }
}

/* The one row-to-float conversion every non-hot path uses (embeddings lookup, quantizer input,
 * tests). */
bool wisp_dequantize_row(wisp_dtype type, const void *src, float *dst, size_t n) {
    switch (type) {
    case WISP_DTYPE_F32:
        if (n) memcpy(dst, src, n * sizeof(float)); /* n == 0 asks only whether the type is known */
        return true;
    case WISP_DTYPE_F16: {
        const wisp_f16 *h = src;
        for (size_t i = 0; i < n; i++) dst[i] = wisp_f16_to_f32(h[i]);
        return true;
    }
    case WISP_DTYPE_BF16: {
        const wisp_bf16 *h = src;
        for (size_t i = 0; i < n; i++) dst[i] = wisp_bf16_to_f32(h[i]);
        return true;
    }
    case WISP_DTYPE_Q8_0:
        if (n % QK8_0) return false;
        quant__dequant_q8_0(src, dst, n);
        return true;
    case WISP_DTYPE_Q4_0:
        if (n % QK4_0) return false;
        quant__dequant_q4_0(src, dst, n);
        return true;
    case WISP_DTYPE_Q4_K:
        if (n % QK_K) return false;
        quant__dequant_q4_K(src, dst, n);
        return true;
    case WISP_DTYPE_Q6_K:
        if (n % QK_K) return false;
        quant__dequant_q6_K(src, dst, n);
        return true;
    }
    return false;
}

/* Row sizes in bytes; 0 for an unknown type or a width that is not whole blocks. */
size_t wisp_row_bytes(wisp_dtype type, size_t n) {
    switch (type) {
    case WISP_DTYPE_F32: return n * 4;
    case WISP_DTYPE_F16:
    case WISP_DTYPE_BF16: return n * 2;
    case WISP_DTYPE_Q8_0: return n % QK8_0 ? 0 : n / QK8_0 * sizeof(block_q8_0);
    case WISP_DTYPE_Q4_0: return n % QK4_0 ? 0 : n / QK4_0 * sizeof(block_q4_0);
    case WISP_DTYPE_Q4_K: return n % QK_K ? 0 : n / QK_K * sizeof(block_q4_K);
    case WISP_DTYPE_Q6_K: return n % QK_K ? 0 : n / QK_K * sizeof(block_q6_K);
    }
    return 0;
}
