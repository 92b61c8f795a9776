/*
 * Block layouts of the quantized tensor types, byte-compatible with llama.cpp (ggml-common.h),
 * and the conversions between them and float. Owned by the kernels work; used by the model,
 * the quantizer and the tests.
 */
#ifndef WISP_QUANT_H
#define WISP_QUANT_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "wisp.h"

#define QK8_0 32
#define QK4_0 32

typedef uint16_t wisp_f16;  /* IEEE half, as bits */
typedef uint16_t wisp_bf16; /* bfloat16, as bits */

/* 32 weights: x = d * q, q in [-127, 127]. 34 bytes. */
typedef struct block_q8_0 {
    wisp_f16 d;
    int8_t qs[QK8_0];
} block_q8_0;
static_assert(sizeof(block_q8_0) == 34, "block_q8_0 must match ggml");

/* 32 weights: x = d * (q - 8), q in [0, 15]; byte j holds weight j (low nibble) and j + 16
 * (high nibble). 18 bytes. */
typedef struct block_q4_0 {
    wisp_f16 d;
    uint8_t qs[QK4_0 / 2];
} block_q4_0;
static_assert(sizeof(block_q4_0) == 18, "block_q4_0 must match ggml");

/* K-quants: super-blocks of QK_K = 256 weights (read and dequantized; not produced by wisp). */
#define QK_K 256

/* 8 sub-blocks of 32: x = d * sc * q - dmin * m, q in [0, 15], 6-bit sc/m packed in scales[12].
 * 144 bytes. */
typedef struct block_q4_K {
    wisp_f16 d;
    wisp_f16 dmin;
    uint8_t scales[12];
    uint8_t qs[QK_K / 2];
} block_q4_K;
static_assert(sizeof(block_q4_K) == 144, "block_q4_K must match ggml");

/* 16 sub-blocks of 16: x = d * sc * (q - 32), q 6 bits (low 4 in ql, high 2 in qh). 210 bytes. */
typedef struct block_q6_K {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    wisp_f16 d;
} block_q6_K;
static_assert(sizeof(block_q6_K) == 210, "block_q6_K must match ggml");

/* Exact conversions (no hardware dependence): every f16/bf16 value maps to its float; float to
 * f16/bf16 rounds to nearest even, overflows to inf, keeps NaN a (quiet) NaN of the same sign. */
float wisp_f16_to_f32(wisp_f16 h);
wisp_f16 wisp_f32_to_f16(float f);   /* round to nearest even */
float wisp_bf16_to_f32(wisp_bf16 h);
wisp_bf16 wisp_f32_to_bf16(float f); /* round to nearest even */

/* Quantize / dequantize `n` values (n a multiple of the type's block size) of one row. These are
 * the reference definitions the kernels are tested against. */
void wisp_quantize_row_q8_0(const float *x, block_q8_0 *y, size_t n);
void wisp_quantize_row_q4_0(const float *x, block_q4_0 *y, size_t n);
/* Any supported type (F32, F16, BF16, Q8_0, Q4_0, and Q4_K/Q6_K where implemented) to float.
 * Returns false for a type it cannot convert. */
bool wisp_dequantize_row(wisp_dtype type, const void *src, float *dst, size_t n);
/* Bytes one row of `n` elements of `type` takes (n must be a multiple of the block size). */
size_t wisp_row_bytes(wisp_dtype type, size_t n);

#endif
