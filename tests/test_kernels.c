/*
 * Tensor types and kernels: half/bfloat conversions on every special case, Q8_0/Q4_0 round-trip
 * error bounds and bit layouts, K-quant dequantization, and every kernel of kernels.h against its
 * _ref on random data of many shapes, each comparison with a stated error bound. The same source
 * builds under Emscripten with tests/wasm/mini_cmocka.h (scripts/test-wasm-kernels.sh), so the
 * simd128 kernels are checked by exactly these cases too.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef WISP_MINI_CMOCKA
#include "wasm/mini_cmocka.h"
#else
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#endif

#include "kernels.h"
#include "quant.h"

#if defined(__F16C__)
#include <immintrin.h>
#endif

/* ---- helpers ---------------------------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd_u32(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* uniform in [-1, 1) */
static float rnd_f(void) {
    return (float)(rnd_u32() & 0xffffff) / 8388608.0f - 1.0f;
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    assert_true(p != NULL);
    return p;
}

/* Unit roundoff of float and the classic bound on a sum of n products in any order:
 * |computed - exact| <= gamma(n) * sum |terms|, gamma(n) = n u / (1 - n u). Two computations
 * that each obey it differ by at most 2 gamma(n) sum |terms|. */
#define U_F32 (1.0 / 16777216.0)
static double gamma_n(double n) {
    return n * U_F32 / (1.0 - n * U_F32);
}

/* ---- f16 / bf16 ------------------------------------------------------------------------------- */

/* Every half converts to float and back to itself; NaNs stay NaNs; on x86 every half matches the
 * F16C instruction. */
static void test_f16_roundtrip_all(void **state) {
    for (uint32_t h = 0; h < 65536; h++) {
        float f = wisp_f16_to_f32((wisp_f16)h);
        bool is_nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        if (is_nan) {
            assert_true(isnan(f));
            assert_true(isnan(wisp_f16_to_f32(wisp_f32_to_f16(f))));
            assert_int_equal(wisp_f32_to_f16(f) & 0x8000, h & 0x8000);
        } else {
            if (wisp_f32_to_f16(f) != h) fail_msg("half 0x%04x -> %g -> 0x%04x", h, f, wisp_f32_to_f16(f));
        }
#if defined(__F16C__)
        if (!is_nan && f32_bits(f) != f32_bits(_cvtsh_ss((unsigned short)h)))
            fail_msg("half 0x%04x: %g, F16C says %g", h, f, _cvtsh_ss((unsigned short)h));
#endif
    }
}

static void test_f16_specials(void **state) {
    struct { float f; uint16_t h; } cases[] = {
        {0.0f, 0x0000}, {-0.0f, 0x8000}, {1.0f, 0x3c00}, {-2.0f, 0xc000},
        {65504.0f, 0x7bff},                 /* largest half */
        {65519.99f, 0x7bff},                /* just below the rounding midpoint to inf */
        {65520.0f, 0x7c00},                 /* midpoint: ties to even = inf */
        {1e10f, 0x7c00}, {-1e10f, 0xfc00},
        {INFINITY, 0x7c00}, {-INFINITY, 0xfc00},
        {0x1p-14f, 0x0400},                 /* smallest normal */
        {0x1p-24f, 0x0001},                 /* smallest subnormal */
        {0x1p-25f, 0x0000},                 /* half of it: tie to even (0) */
        {0x1.8p-25f, 0x0001},               /* 0.75 unit rounds up */
        {0x1.8p-24f, 0x0002},               /* 1.5 units: tie to even (2) */
        {0x1.4p-23f, 0x0002},               /* 2.5 units: tie to even (2) */
        {0x1p-26f, 0x0000},
        {0x1.ff8p-15f, 0x03ff},             /* largest subnormal */
        {0x1.ffcp-15f, 0x0400},             /* + half a unit: tie to even = smallest normal */
        {1.0f + 0x1p-11f, 0x3c00},          /* tie between 1 and 1+2^-10: even (1) */
        {1.0f + 0x1.8p-10f, 0x3c02},        /* tie between 1+2^-10 and 1+2^-9: even */
        {1.0f + 0x1.001p-11f, 0x3c01},      /* just above the tie */
        {0.1f, 0x2e66},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t got = wisp_f32_to_f16(cases[i].f);
        if (got != cases[i].h) fail_msg("f32 %a -> f16 0x%04x, want 0x%04x", cases[i].f, got, cases[i].h);
    }
    wisp_f16 n = wisp_f32_to_f16(NAN);
    assert_true((n & 0x7c00) == 0x7c00 && (n & 0x3ff) != 0);
    n = wisp_f32_to_f16(bits_f32(0x7f800001u)); /* a NaN whose payload sits below the kept bits */
    assert_true((n & 0x7c00) == 0x7c00 && (n & 0x3ff) != 0);
}

/* Float to half is the nearest half (ties to even), checked by its neighbours on random floats
 * of every magnitude; on x86 also bit-equal to F16C. */
static void test_f16_nearest_random(void **state) {
    for (int i = 0; i < 400000; i++) {
        uint32_t u = rnd_u32();
        u = (u & 0x807fffffu) | ((100u + (u >> 24) % 45u) << 23); /* 2^-27 .. 2^17 */
        float f = bits_f32(u);
        wisp_f16 h = wisp_f32_to_f16(f);
#if defined(__F16C__)
        if (h != _cvtss_sh(f, 0)) fail_msg("%a: 0x%04x, F16C 0x%04x", f, h, _cvtss_sh(f, 0));
#endif
        if ((h & 0x7fff) == 0x7c00) {
            assert_true(fabs((double)f) >= 65520.0);
            continue;
        }
        double e = fabs((double)f - wisp_f16_to_f32(h));
        wisp_f16 up = (wisp_f16)(h + 1), down = (wisp_f16)(h - 1);
        if ((up & 0x7fff) <= 0x7c00) {
            double eu = fabs((double)f - wisp_f16_to_f32(up));
            assert_true(e < eu || (e == eu && (h & 1) == 0));
        }
        if ((h & 0x7fff) != 0) {
            double ed = fabs((double)f - wisp_f16_to_f32(down));
            assert_true(e < ed || (e == ed && (h & 1) == 0));
        }
    }
}

static void test_bf16_specials(void **state) {
    struct { uint32_t f; uint16_t h; } cases[] = {
        {0x3f800000u, 0x3f80},              /* 1 */
        {0x3f808000u, 0x3f80},              /* tie: even */
        {0x3f818000u, 0x3f82},              /* tie: even (up) */
        {0x3f808001u, 0x3f81},              /* above the tie */
        {0x7f7fffffu, 0x7f80},              /* FLT_MAX rounds to inf */
        {0x7f800000u, 0x7f80}, {0xff800000u, 0xff80},
        {0x00008000u, 0x0000},              /* subnormal tie: even */
        {0x00018000u, 0x0002},
        {0x80000000u, 0x8000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t got = wisp_f32_to_bf16(bits_f32(cases[i].f));
        if (got != cases[i].h) fail_msg("f32 0x%08x -> bf16 0x%04x, want 0x%04x", cases[i].f, got, cases[i].h);
    }
    /* NaNs with any payload stay NaN (the rounding carry must not turn 0x7f80ffff into inf) */
    uint32_t nans[] = {0x7f800001u, 0x7fc00000u, 0xffffffffu, 0x7f80ffffu};
    for (size_t i = 0; i < 4; i++) assert_true(isnan(wisp_bf16_to_f32(wisp_f32_to_bf16(bits_f32(nans[i])))));
    for (uint32_t h = 0; h < 65536; h++) {
        float f = wisp_bf16_to_f32((wisp_bf16)h);
        assert_int_equal(f32_bits(f), h << 16);
        if (!isnan(f)) assert_int_equal(wisp_f32_to_bf16(f), h);
    }
}

/* ---- Q8_0 / Q4_0 ------------------------------------------------------------------------------ */

/* Rows with awkward blocks: zeros, one spike, a negative maximum, tiny values, huge values. */
static void fill_row(float *x, size_t n, int kind) {
    for (size_t i = 0; i < n; i++) x[i] = rnd_f() * (kind == 3 ? 1e-6f : kind == 4 ? 3e4f : 1.0f);
    if (kind == 1) memset(x, 0, 32 * sizeof(float));
    if (kind == 2) x[5] = 50.0f, x[40] = -50.0f;
}

/* Q8_0: x*id rounds to q, so |x - q d| <= d/2 with the float d; the stored half d16 adds at most
 * 127 |d - d16|. */
static void test_q8_0_roundtrip(void **state) {
    enum { N = 1024 };
    float x[N], y[N];
    block_q8_0 q[N / QK8_0];
    for (int kind = 0; kind < 5; kind++) {
        fill_row(x, N, kind);
        wisp_quantize_row_q8_0(x, q, N);
        assert_true(wisp_dequantize_row(WISP_DTYPE_Q8_0, q, y, N));
        for (size_t b = 0; b < N / QK8_0; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[b * 32 + j]));
            double d = amax / 127.0f, d16 = wisp_f16_to_f32(q[b].d);
            double bound = d / 2 + 127 * fabs(d - d16) + 1e-30;
            for (int j = 0; j < 32; j++) {
                assert_true(q[b].qs[j] >= -127);
                double e = fabs((double)x[b * 32 + j] - y[b * 32 + j]);
                if (e > bound * (1 + 1e-6)) fail_msg("kind %d block %zu: err %g > %g", kind, b, e, bound);
            }
        }
    }
    /* exact layout: d = 1 when max|x| = 127, and integers come back unchanged */
    for (int j = 0; j < 32; j++) x[j] = (float)(j * 8 - 127 + (j == 31 ? 6 : 0));
    wisp_quantize_row_q8_0(x, q, 32);
    assert_int_equal(q[0].d, 0x3c00);
    for (int j = 0; j < 32; j++) assert_int_equal(q[0].qs[j], (int)x[j]);
    /* roundf: halves go away from zero */
    x[0] = 127.0f, x[1] = 2.5f, x[2] = -2.5f;
    for (int j = 3; j < 32; j++) x[j] = 0;
    wisp_quantize_row_q8_0(x, q, 32);
    assert_int_equal(q[0].qs[1], 3);
    assert_int_equal(q[0].qs[2], -3);
}

/* Q4_0: the signed maximum maps to -8, so d = max/-8; q = trunc(x/d + 8.5) clamped at 15: error
 * <= d/2 except at the clamp (x/d in (7.5, 8]) where it is <= d; the stored half adds 8|d - d16|. */
static void test_q4_0_roundtrip(void **state) {
    enum { N = 1024 };
    float x[N], y[N];
    block_q4_0 q[N / QK4_0];
    for (int kind = 0; kind < 5; kind++) {
        fill_row(x, N, kind);
        wisp_quantize_row_q4_0(x, q, N);
        assert_true(wisp_dequantize_row(WISP_DTYPE_Q4_0, q, y, N));
        for (size_t b = 0; b < N / QK4_0; b++) {
            float amax = 0, max = 0;
            for (int j = 0; j < 32; j++)
                if (amax < fabsf(x[b * 32 + j])) amax = fabsf(x[b * 32 + j]), max = x[b * 32 + j];
            double d = fabs(max / -8.0f), d16 = fabs(wisp_f16_to_f32(q[b].d));
            double bound = d + 8 * fabs(d - d16) + 1e-30;
            for (int j = 0; j < 32; j++) {
                double e = fabs((double)x[b * 32 + j] - y[b * 32 + j]);
                if (e > bound * (1 + 1e-6)) fail_msg("kind %d block %zu: err %g > %g", kind, b, e, bound);
            }
        }
    }
    /* layout: byte j holds weight j (low nibble) and j + 16 (high); max -8 gives d = 1 */
    for (int j = 0; j < 32; j++) x[j] = (float)((j % 16) - 8);
    x[20] = 7.0f;
    wisp_quantize_row_q4_0(x, q, 32);
    assert_int_equal(q[0].d, 0x3c00);
    for (int j = 0; j < 16; j++) {
        assert_int_equal(q[0].qs[j] & 0x0f, (int)x[j] + 8);
        assert_int_equal(q[0].qs[j] >> 4, (int)x[j + 16] + 8);
    }
    assert_true(wisp_dequantize_row(WISP_DTYPE_Q4_0, q, y, 32));
    for (int j = 0; j < 32; j++) assert_true(y[j] == x[j]);
}

/* K-quants: pack known scales, mins and quants by the documented layout (written here from the
 * layout, not from quant.c) and check every dequantized weight. */
static void test_kquants_dequant(void **state) {
    block_q4_K b4;
    uint8_t sc[8], m[8], q4[256];
    memset(&b4, 0, sizeof b4);
    b4.d = wisp_f32_to_f16(0.5f);
    b4.dmin = wisp_f32_to_f16(0.25f);
    for (int j = 0; j < 8; j++) {
        sc[j] = (uint8_t)(rnd_u32() & 63), m[j] = (uint8_t)(rnd_u32() & 63);
        if (j < 4) {
            b4.scales[j] |= sc[j];
            b4.scales[j + 4] |= m[j];
        } else {
            b4.scales[j + 4] = (uint8_t)((sc[j] & 15) | ((m[j] & 15) << 4));
            b4.scales[j - 4] |= (uint8_t)((sc[j] >> 4) << 6);
            b4.scales[j] |= (uint8_t)((m[j] >> 4) << 6);
        }
    }
    for (int i = 0; i < 256; i++) {
        q4[i] = (uint8_t)(rnd_u32() & 15);
        int chunk = i / 64, l = i % 32, hi = (i % 64) >= 32;
        b4.qs[chunk * 32 + l] |= (uint8_t)(q4[i] << (hi ? 4 : 0));
    }
    float y[256];
    assert_true(wisp_dequantize_row(WISP_DTYPE_Q4_K, &b4, y, 256));
    for (int i = 0; i < 256; i++) {
        float want = 0.5f * sc[i / 32] * q4[i] - 0.25f * m[i / 32];
        if (fabsf(y[i] - want) > 1e-4f) fail_msg("q4_K %d: %g want %g", i, y[i], want);
    }

    block_q6_K b6;
    int q6[256];
    memset(&b6, 0, sizeof b6);
    b6.d = wisp_f32_to_f16(0.125f);
    for (int j = 0; j < 16; j++) b6.scales[j] = (int8_t)((int)(rnd_u32() % 255) - 127);
    for (int i = 0; i < 256; i++) {
        q6[i] = (int)(rnd_u32() & 63);
        int half = i / 128, e = i % 128, l = e % 32, quarter = e / 32;
        /* quarters 0,1 use low nibbles of ql[l], ql[l+32]; quarters 2,3 the high nibbles */
        uint8_t *ql = b6.ql + half * 64 + l + (quarter & 1) * 32;
        *ql |= (uint8_t)((q6[i] & 15) << (quarter >= 2 ? 4 : 0));
        b6.qh[half * 32 + l] |= (uint8_t)((q6[i] >> 4) << (2 * quarter));
    }
    assert_true(wisp_dequantize_row(WISP_DTYPE_Q6_K, &b6, y, 256));
    for (int i = 0; i < 256; i++) {
        float want = 0.125f * b6.scales[i / 16] * (q6[i] - 32);
        if (fabsf(y[i] - want) > 1e-4f) fail_msg("q6_K %d: %g want %g", i, y[i], want);
    }
    assert_false(wisp_dequantize_row(WISP_DTYPE_Q4_K, &b4, y, 100));
    assert_false(wisp_dequantize_row((wisp_dtype)99, &b4, y, 32));
    assert_int_equal(wisp_row_bytes(WISP_DTYPE_Q6_K, 512), 420);
    assert_int_equal(wisp_row_bytes(WISP_DTYPE_Q8_0, 33), 0);
    assert_int_equal(wisp_row_bytes(WISP_DTYPE_Q4_0, 64), 36);
}

/* ---- matmul ----------------------------------------------------------------------------------- */

/* A weight matrix of `type` from random floats (or, with ints, small integers whose products and
 * sums every implementation computes exactly). Caller frees. */
static void *make_weights(wisp_dtype type, size_t n_rows, size_t n_cols, bool ints) {
    size_t row_bytes = wisp_row_bytes(type, n_cols);
    uint8_t *w = xmalloc(n_rows * row_bytes);
    float *row = xmalloc(n_cols * sizeof(float));
    for (size_t r = 0; r < n_rows; r++) {
        uint8_t *dst = w + r * row_bytes;
        for (size_t c = 0; c < n_cols; c++) row[c] = ints ? (float)((int)(rnd_u32() % 15) - 7) : rnd_f();
        if (ints && n_cols >= 32) /* one anchor per block makes the block scale exactly 1 */
            for (size_t c = 0; c < n_cols; c += 32) row[c] = type == WISP_DTYPE_Q4_0 ? -8.0f : 127.0f;
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
        case WISP_DTYPE_Q4_K:
            for (size_t b = 0; b < n_cols / QK_K; b++) {
                block_q4_K *k = (block_q4_K *)dst + b;
                for (size_t i = 0; i < sizeof *k; i++) ((uint8_t *)k)[i] = (uint8_t)rnd_u32();
                k->d = wisp_f32_to_f16(0.01f * rnd_f());
                k->dmin = wisp_f32_to_f16(0.01f * rnd_f());
            }
            break;
        case WISP_DTYPE_Q6_K:
            for (size_t b = 0; b < n_cols / QK_K; b++) {
                block_q6_K *k = (block_q6_K *)dst + b;
                for (size_t i = 0; i < sizeof *k; i++) ((uint8_t *)k)[i] = (uint8_t)rnd_u32();
                k->d = wisp_f32_to_f16(0.001f * rnd_f());
            }
            break;
        }
    }
    free(row);
    return w;
}

static const char *type_name(wisp_dtype t) {
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

static bool is_q(wisp_dtype t) {
    return t == WISP_DTYPE_Q8_0 || t == WISP_DTYPE_Q4_0;
}

/* wisp_matmul vs wisp_matmul_ref. Both sum the same terms (weights converted exactly, or the same
 * int32 block sums times the same d_w*d_x) in different orders, with or without FMA, so they differ
 * by at most 2 gamma(k) S where S = sum |terms| computed here in double from the dequantized
 * operands, and k is the number of float additions per output (n_cols, +2 for the scale
 * multiply). With integer data every term and partial sum is exact: results must be identical. */
static void check_matmul(wisp_dtype type, size_t n_rows, size_t n_cols, size_t n_tok, bool ints) {
    void *w = make_weights(type, n_rows, n_cols, ints);
    float *x = xmalloc(n_tok * n_cols * sizeof(float));
    for (size_t i = 0; i < n_tok * n_cols; i++)
        x[i] = ints ? (float)((int)(rnd_u32() % 255) - 127) : rnd_f() * 2.0f;
    if (ints) /* max|x| = 127 in every block: Q8_0 activations get d = 1 exactly */
        for (size_t t = 0; t < n_tok; t++)
            for (size_t c = 0; c < n_cols; c += 32) x[t * n_cols + c] = 127.0f;
    size_t sb = wisp_matmul_scratch_bytes(type, n_cols, n_tok);
    void *scratch = xmalloc(sb + 1);
    float *y = xmalloc(n_tok * n_rows * sizeof(float)), *y_ref = xmalloc(n_tok * n_rows * sizeof(float));
    /* an odd scratch address: kernels must not assume alignment */
    wisp_matmul(type, w, n_rows, n_cols, x, n_tok, y, (uint8_t *)scratch + 1);
    wisp_matmul_ref(type, w, n_rows, n_cols, x, n_tok, y_ref, scratch);

    float *wd = xmalloc(n_cols * sizeof(float)), *xd = xmalloc(n_cols * sizeof(float));
    block_q8_0 *xq = xmalloc((n_cols / 32 + 1) * sizeof(block_q8_0));
    size_t row_bytes = wisp_row_bytes(type, n_cols);
    const double g = 2.0 * gamma_n((double)n_cols + 2.0);
    for (size_t t = 0; t < n_tok; t++) {
        if (is_q(type)) {
            wisp_quantize_row_q8_0(x + t * n_cols, xq, n_cols);
            wisp_dequantize_row(WISP_DTYPE_Q8_0, xq, xd, n_cols);
        } else {
            memcpy(xd, x + t * n_cols, n_cols * sizeof(float));
        }
        for (size_t r = 0; r < n_rows; r++) {
            wisp_dequantize_row(type, (uint8_t *)w + r * row_bytes, wd, n_cols);
            double s = 0;
            for (size_t c = 0; c < n_cols; c++) s += fabs((double)wd[c] * xd[c]);
            double got = y[t * n_rows + r], want = y_ref[t * n_rows + r];
            double tol = ints ? 0.0 : g * s + 1e-30;
            if (!(fabs(got - want) <= tol))
                fail_msg("%s %zux%zu n_tok %zu%s: y[t=%zu][r=%zu] = %.9g, ref %.9g, |diff| %.3g > %.3g",
                         type_name(type), n_rows, n_cols, n_tok, ints ? " ints" : "", t, r, got,
                         want, fabs(got - want), tol);
        }
    }
    free(w), free(x), free(scratch), free(y), free(y_ref), free(wd), free(xd), free(xq);
}

static const wisp_dtype all_types[] = {WISP_DTYPE_F32, WISP_DTYPE_F16, WISP_DTYPE_BF16,
                                       WISP_DTYPE_Q8_0, WISP_DTYPE_Q4_0, WISP_DTYPE_Q4_K,
                                       WISP_DTYPE_Q6_K};

static void test_matmul_shapes(void **state) {
    /* n_rows, n_cols, n_tok: rows not multiples of any tile, tokens 1..37 */
    static const size_t shapes[][3] = {
        {1, 256, 1}, {3, 256, 2}, {7, 512, 3}, {13, 256, 5}, {33, 768, 37}, {5, 4096, 2},
        {67, 256, 17}, {4, 512, 4}, {130, 1024, 9}, {2, 256, 8}, {9, 256, 6}, {16, 2048, 1},
    };
    for (size_t ti = 0; ti < sizeof all_types / sizeof all_types[0]; ti++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            check_matmul(all_types[ti], shapes[s][0], shapes[s][1], shapes[s][2], false);
}

static void test_matmul_small_cols(void **state) {
    /* widths of whole 32-blocks (and any width for float weights) */
    static const size_t shapes[][3] = {{1, 32, 1}, {7, 64, 3}, {13, 96, 5}, {5, 160, 37}, {6, 224, 4}};
    static const size_t odd[][3] = {{3, 1, 2}, {9, 7, 3}, {17, 33, 6}, {5, 100, 5}, {4, 8, 1}, {2, 15, 9}};
    wisp_dtype q[] = {WISP_DTYPE_F32, WISP_DTYPE_F16, WISP_DTYPE_BF16, WISP_DTYPE_Q8_0, WISP_DTYPE_Q4_0};
    wisp_dtype f[] = {WISP_DTYPE_F32, WISP_DTYPE_F16, WISP_DTYPE_BF16};
    for (size_t ti = 0; ti < 5; ti++)
        for (size_t s = 0; s < 5; s++) check_matmul(q[ti], shapes[s][0], shapes[s][1], shapes[s][2], false);
    for (size_t ti = 0; ti < 3; ti++)
        for (size_t s = 0; s < 6; s++) check_matmul(f[ti], odd[s][0], odd[s][1], odd[s][2], false);
}

/* Every n_tok from 1 to 37 (all tile remainders) on a small shape, and integer data that makes
 * any misplaced or dropped term show as an exact mismatch. */
static void test_matmul_all_tok_counts(void **state) {
    wisp_dtype q[] = {WISP_DTYPE_F32, WISP_DTYPE_F16, WISP_DTYPE_BF16, WISP_DTYPE_Q8_0, WISP_DTYPE_Q4_0};
    for (size_t ti = 0; ti < 5; ti++)
        for (size_t n_tok = 1; n_tok <= 37; n_tok++) {
            check_matmul(q[ti], 11, 128, n_tok, false);
            check_matmul(q[ti], 10, 256, n_tok, true);
        }
}

/* Every finite half (and a spread of bfloats) as an F16 / BF16 weight, read back through one-hot
 * activations: Y[t][r] = W[r][t] exactly, so the vector conversions in the kernels (which have no
 * hardware half support in WASM) must agree with wisp_f16_to_f32 on subnormals, zeros and the
 * largest values. 63,488 finite halves = 62 rows of 1024. */
static void test_matmul_half_values_exact(void **state) {
    enum { ROWS = 62, COLS = 1024 };
    uint16_t *w = xmalloc(ROWS * COLS * 2);
    float *x = xmalloc((size_t)COLS * COLS * 4), *y = xmalloc((size_t)COLS * ROWS * 4);
    void *scratch = xmalloc(wisp_matmul_scratch_bytes(WISP_DTYPE_F16, COLS, COLS));
    memset(x, 0, (size_t)COLS * COLS * 4);
    for (size_t t = 0; t < COLS; t++) x[t * COLS + t] = 1.0f;
    for (int pass = 0; pass < 2; pass++) {
        const wisp_dtype type = pass ? WISP_DTYPE_BF16 : WISP_DTYPE_F16;
        size_t i = 0;
        for (uint32_t h = 0; h < 65536 && i < ROWS * COLS; h++) {
            uint32_t bits = pass ? (h * 0x9e37u) & 0xffff : h; /* bf16: a spread of patterns */
            bool finite = pass ? (bits & 0x7f80) != 0x7f80 : (bits & 0x7c00) != 0x7c00;
            if (finite) w[i++] = (uint16_t)bits;
        }
        for (; i < ROWS * COLS; i++) w[i] = 0;
        wisp_matmul(type, w, ROWS, COLS, x, COLS, y, scratch);
        for (size_t t = 0; t < COLS; t++)
            for (size_t r = 0; r < ROWS; r++) {
                uint16_t h = w[r * COLS + t];
                float want = pass ? wisp_bf16_to_f32(h) : wisp_f16_to_f32(h);
                if (y[t * ROWS + r] != want)
                    fail_msg("%s 0x%04x: got %a want %a", pass ? "bf16" : "f16", h, y[t * ROWS + r], want);
            }
    }
    free(w), free(x), free(y), free(scratch);
}

/* Q8_0 weights written by other quantizers may use -128, which ours never produces: the int8
 * kernels must still be exact (AVX2's maddubs takes |w| = 128 as unsigned, 2 * 128 * 127 does not
 * saturate int16). Small integer activations make every sum exact, so results must be equal. */
static void check_q8_0_full_range(size_t TOK) {
    enum { ROWS = 19, COLS = 256, MAX_TOK = 24 };
    block_q8_0 w[ROWS * COLS / 32];
    for (size_t b = 0; b < ROWS * COLS / 32; b++) {
        w[b].d = 0x3c00; /* 1.0 */
        for (int j = 0; j < 32; j++) w[b].qs[j] = (int8_t)(j % 3 ? (int)(rnd_u32() % 256) - 128 : -128);
    }
    float x[MAX_TOK * COLS], y[MAX_TOK * ROWS], y_ref[MAX_TOK * ROWS];
    for (size_t i = 0; i < TOK * COLS; i++) x[i] = (float)((int)(rnd_u32() % 255) - 127);
    for (size_t t = 0; t < TOK; t++) /* d_x = 1: one 127 or -127 per block */
        for (size_t c = 0; c < COLS; c += 32) x[t * COLS + c] = t % 2 ? 127.0f : -127.0f;
    void *scratch = xmalloc(wisp_matmul_scratch_bytes(WISP_DTYPE_Q8_0, COLS, TOK));
    wisp_matmul(WISP_DTYPE_Q8_0, w, ROWS, COLS, x, TOK, y, scratch);
    wisp_matmul_ref(WISP_DTYPE_Q8_0, w, ROWS, COLS, x, TOK, y_ref, scratch);
    for (size_t i = 0; i < TOK * ROWS; i++)
        if (y[i] != y_ref[i]) fail_msg("n_tok %zu: y[%zu] = %g, ref %g", TOK, i, y[i], y_ref[i]);
    free(scratch);
}

/* Row tiles (5 tokens) and, where built, the VNNI panels (24 tokens: activations as x + 128). */
static void test_matmul_q8_0_full_range(void **state) {
    check_q8_0_full_range(5);
    check_q8_0_full_range(24);
}

/* wisp_matmul_t vs its reference: W (n_rows x n_cols) stored transposed, F32 or F16. The same
 * terms in another order: within 2 gamma(n_cols) sum |terms|; integer data must match exactly. */
static void check_matmul_t(wisp_dtype type, size_t n_rows, size_t n_cols, size_t n_tok, bool ints) {
    const size_t elem = type == WISP_DTYPE_F16 ? 2 : 4;
    uint8_t *wt = xmalloc(n_rows * n_cols * elem);
    float *wf = xmalloc(n_rows * n_cols * sizeof(float)), *x = xmalloc(n_tok * n_cols * sizeof(float));
    for (size_t i = 0; i < n_rows * n_cols; i++) {
        float v = ints ? (float)((int)(rnd_u32() % 33) - 16) : rnd_f();
        if (type == WISP_DTYPE_F16) {
            ((wisp_f16 *)wt)[i] = wisp_f32_to_f16(v);
            v = wisp_f16_to_f32(((wisp_f16 *)wt)[i]);
        } else {
            ((float *)wt)[i] = v;
        }
        wf[i] = v;
    }
    for (size_t i = 0; i < n_tok * n_cols; i++) x[i] = ints ? (float)((int)(rnd_u32() % 255) - 127) : rnd_f() * 2.0f;
    float *y = xmalloc(n_tok * n_rows * sizeof(float)), *y_ref = xmalloc(n_tok * n_rows * sizeof(float));
    wisp_matmul_t(type, wt, n_rows, n_cols, x, n_tok, y);
    wisp_matmul_t_ref(type, wt, n_rows, n_cols, x, n_tok, y_ref);
    const double g = 2.0 * gamma_n((double)n_cols);
    for (size_t t = 0; t < n_tok; t++)
        for (size_t r = 0; r < n_rows; r++) {
            double s = 0;
            for (size_t c = 0; c < n_cols; c++) s += fabs((double)wf[c * n_rows + r] * x[t * n_cols + c]);
            double got = y[t * n_rows + r], want = y_ref[t * n_rows + r];
            double tol = ints ? 0.0 : g * s + 1e-30;
            if (!(fabs(got - want) <= tol))
                fail_msg("matmul_t %s %zux%zu n_tok %zu%s: y[t=%zu][r=%zu] = %.9g, ref %.9g, |diff| %.3g > %.3g",
                         type_name(type), n_rows, n_cols, n_tok, ints ? " ints" : "", t, r, got, want,
                         fabs(got - want), tol);
        }
    free(wt), free(wf), free(x), free(y), free(y_ref);
}

/* Rows that are and are not multiples of the vector widths (4, 8) and of the 32-row steps; the
 * attention's shapes (head_dim 64 / 128 rows, hundreds of positions as columns); tokens 1..7. */
static void test_matmul_t(void **state) {
    static const size_t shapes[][2] = {{1, 1}, {3, 5}, {4, 7}, {8, 1}, {13, 33}, {31, 17}, {32, 64},
                                       {64, 300}, {67, 40}, {128, 129}, {100, 3}};
    const wisp_dtype types[] = {WISP_DTYPE_F32, WISP_DTYPE_F16};
    for (size_t ti = 0; ti < 2; ti++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (size_t n_tok = 1; n_tok <= 7; n_tok++) {
                check_matmul_t(types[ti], shapes[s][0], shapes[s][1], n_tok, false);
                check_matmul_t(types[ti], shapes[s][0], shapes[s][1], n_tok, true);
            }
}

static void test_matmul_meta(void **state) {
    for (size_t ti = 0; ti < sizeof all_types / sizeof all_types[0]; ti++)
        assert_true(wisp_matmul_supports(all_types[ti]));
    assert_false(wisp_matmul_supports((wisp_dtype)3));
    /* room for the activations of every token as int16 + scale, whatever the build */
    assert_true(wisp_matmul_scratch_bytes(WISP_DTYPE_Q8_0, 1024, 64) >= 64 * 32 * (64 + 4));
    assert_true(wisp_matmul_scratch_bytes(WISP_DTYPE_F16, 1024, 64) >= 1024 * 4);
}

/* ---- vector kernels --------------------------------------------------------------------------- */

static const size_t vec_ns[] = {1, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 63, 100, 1024, 4097};

/* dot: any summation order, FMA or not: 2 gamma(n) sum|a b|. */
static void test_dot(void **state) {
    for (size_t i = 0; i < sizeof vec_ns / sizeof vec_ns[0]; i++) {
        size_t n = vec_ns[i];
        float *a = xmalloc(n * 4), *b = xmalloc(n * 4);
        double s = 0;
        for (size_t j = 0; j < n; j++) a[j] = rnd_f(), b[j] = rnd_f(), s += fabs((double)a[j] * b[j]);
        double got = wisp_dot_f32(a, b, n), want = wisp_dot_f32_ref(a, b, n);
        if (fabs(got - want) > 2 * gamma_n((double)n) * s) fail_msg("dot n=%zu: %g vs %g", n, got, want);
        free(a), free(b);
    }
}

/* axpy: one multiply-add per element, fused or not: 2u(|y| + |a x|) per element. */
static void test_axpy(void **state) {
    for (size_t i = 0; i < sizeof vec_ns / sizeof vec_ns[0]; i++) {
        size_t n = vec_ns[i];
        float *x = xmalloc(n * 4), *y = xmalloc(n * 4), *y2 = xmalloc(n * 4);
        for (size_t j = 0; j < n; j++) x[j] = rnd_f(), y[j] = y2[j] = rnd_f();
        float a = rnd_f() * 3;
        wisp_axpy_f32(a, x, y, n);
        wisp_axpy_f32_ref(a, x, y2, n);
        for (size_t j = 0; j < n; j++) {
            double tol = 2 * U_F32 * 2 * (fabs((double)y2[j]) + fabs((double)a * x[j])) + 1e-38;
            if (fabs((double)y[j] - y2[j]) > tol) fail_msg("axpy n=%zu j=%zu: %g vs %g", n, j, y[j], y2[j]);
        }
        free(x), free(y), free(y2);
    }
}

/* rmsnorm: the mean of squares may be summed in float (gamma(n) relative: all terms positive),
 * then sqrt, divide and two multiplies: relative 0.5 gamma(n) + 8u per element. Also in place. */
static void test_rmsnorm(void **state) {
    for (size_t i = 0; i < sizeof vec_ns / sizeof vec_ns[0]; i++) {
        size_t n = vec_ns[i];
        float *x = xmalloc(n * 4), *w = xmalloc(n * 4), *y = xmalloc(n * 4), *y2 = xmalloc(n * 4);
        for (size_t j = 0; j < n; j++) x[j] = rnd_f() * 10, w[j] = rnd_f();
        wisp_rmsnorm_f32(y, x, w, n, 1e-6f);
        wisp_rmsnorm_f32_ref(y2, x, w, n, 1e-6f);
        double rel = 0.5 * gamma_n((double)n) + 8 * U_F32;
        for (size_t j = 0; j < n; j++)
            if (fabs((double)y[j] - y2[j]) > rel * fabs((double)y2[j]) + 1e-38)
                fail_msg("rmsnorm n=%zu j=%zu: %g vs %g", n, j, y[j], y2[j]);
        wisp_rmsnorm_f32(x, x, w, n, 1e-6f); /* in place */
        for (size_t j = 0; j < n; j++)
            if (fabs((double)x[j] - y2[j]) > rel * fabs((double)y2[j]) + 1e-38)
                fail_msg("rmsnorm in place n=%zu j=%zu: %g vs %g", n, j, x[j], y2[j]);
        free(x), free(w), free(y), free(y2);
    }
}

/* swiglu: the SIMD versions use a polynomial exp (relative error < 2e-7 over the range used)
 * instead of libm's expf, so silu differs by a few ulp: 1e-6 relative to |silu(g) u| plus the
 * absolute 1e-30 where the result underflows. Extreme inputs must stay finite and right. */
static void test_swiglu(void **state) {
    for (size_t i = 0; i < sizeof vec_ns / sizeof vec_ns[0]; i++) {
        size_t n = vec_ns[i];
        float *g = xmalloc(n * 4), *g2 = xmalloc(n * 4), *u = xmalloc(n * 4);
        for (size_t j = 0; j < n; j++) g[j] = g2[j] = rnd_f() * 12, u[j] = rnd_f();
        if (n > 4) g[0] = g2[0] = -100.0f, g[1] = g2[1] = 100.0f, g[2] = g2[2] = -88.5f, g[3] = g2[3] = 0;
        wisp_swiglu_f32(g, u, n);
        wisp_swiglu_f32_ref(g2, u, n);
        for (size_t j = 0; j < n; j++)
            if (!(fabs((double)g[j] - g2[j]) <= 1e-6 * fabs((double)g2[j]) + 1e-30))
                fail_msg("swiglu n=%zu j=%zu: %g vs %g", n, j, g[j], g2[j]);
        free(g), free(g2), free(u);
    }
}

/* softmax: exp within 2e-7 relative of expf (the vector exp's bound), the sum in another order:
 * within (1e-6 + 2 gamma(n)) relative per element, plus 1e-37 absolute where the vector exp clamps
 * at -87 what expf takes to a subnormal or zero. Scores spread over +-1000 hit that clamp. */
static void test_softmax(void **state) {
    for (size_t i = 0; i < sizeof vec_ns / sizeof vec_ns[0]; i++) {
        for (int spread = 0; spread < 2; spread++) {
            size_t n = vec_ns[i];
            float *x = xmalloc(n * 4), *x2 = xmalloc(n * 4);
            for (size_t j = 0; j < n; j++) x[j] = x2[j] = rnd_f() * (spread ? 1000.0f : 8.0f);
            wisp_softmax_f32(x, n, 0.125f);
            wisp_softmax_f32_ref(x2, n, 0.125f);
            const double rel = 1e-6 + 2.0 * gamma_n((double)n);
            double total = 0;
            for (size_t j = 0; j < n; j++) {
                total += x[j];
                if (!(fabs((double)x[j] - x2[j]) <= rel * fabs((double)x2[j]) + 1e-37))
                    fail_msg("softmax n=%zu spread %d j=%zu: %g vs %g", n, spread, j, x[j], x2[j]);
            }
            assert_true(fabs(total - 1.0) <= 1e-5);
            free(x), free(x2);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f16_roundtrip_all),
        cmocka_unit_test(test_f16_specials),
        cmocka_unit_test(test_f16_nearest_random),
        cmocka_unit_test(test_bf16_specials),
        cmocka_unit_test(test_q8_0_roundtrip),
        cmocka_unit_test(test_q4_0_roundtrip),
        cmocka_unit_test(test_kquants_dequant),
        cmocka_unit_test(test_matmul_meta),
        cmocka_unit_test(test_matmul_shapes),
        cmocka_unit_test(test_matmul_small_cols),
        cmocka_unit_test(test_matmul_all_tok_counts),
        cmocka_unit_test(test_matmul_half_values_exact),
        cmocka_unit_test(test_matmul_q8_0_full_range),
        cmocka_unit_test(test_matmul_t),
        cmocka_unit_test(test_dot),
        cmocka_unit_test(test_axpy),
        cmocka_unit_test(test_rmsnorm),
        cmocka_unit_test(test_swiglu),
        cmocka_unit_test(test_softmax),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
