/*
 * Quantizer tests: a small F32/F16/BF16 model-shaped file is quantized to each target, reopened,
 * and checked: metadata copied (file_type rewritten, alignment normalized), which tensors were
 * converted, shapes, and dequantized values against the originals within each type's error
 * bound (Q8_0: one step amax/127 per block; Q4_0: one step amax/8; F16: 2^-11 relative).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gguf_builder.h"
#include "quant.h"
#include "wisp.h"

typedef struct src_tensor {
    const char *name;
    uint32_t n_dims;
    uint64_t ne[2];
    wisp_dtype type;
    float *values; /* ne0*ne1 originals (already rounded to the source type) */
} src_tensor;

enum { N_SRC = 7 };
static src_tensor srcs[N_SRC] = {
    {"token_embd.weight", 2, {64, 10}, WISP_DTYPE_F32, NULL},
    {"blk.0.attn_norm.weight", 1, {64, 1}, WISP_DTYPE_F32, NULL},
    {"blk.0.attn_q.weight", 2, {64, 64}, WISP_DTYPE_F32, NULL},
    {"blk.0.ffn_up.weight", 2, {64, 16}, WISP_DTYPE_F16, NULL},
    {"blk.0.attn_q.bias", 1, {64, 1}, WISP_DTYPE_F16, NULL},
    {"blk.0.odd.weight", 2, {40, 3}, WISP_DTYPE_F32, NULL}, /* 40 is not a multiple of 32 */
    {"output.weight", 2, {64, 10}, WISP_DTYPE_BF16, NULL},
};

static uint64_t rng = 88172645463325252ull;
static float rand_unit(void) { /* xorshift64, in [-1, 1) */
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)((rng >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
}

/* Builds the source file (alignment 64, file_type 0, a vocabulary) and records the values. */
static gb build_source(void) {
    static const char *const toks[] = {"a", "b", "<|fim_prefix|>"};
    gb b = {0};
    gb_header(&b, 3, N_SRC, 5);
    gb_kv_str(&b, "general.architecture", "llama");
    gb_kv_u32(&b, "general.alignment", 64);
    gb_kv_u32(&b, "general.file_type", 0);
    gb_kv_strs(&b, "tokenizer.ggml.tokens", toks, 3);
    gb_kv_f32(&b, "llama.rope.freq_base", 10000.0f);
    uint64_t off = 0, offs[N_SRC];
    for (int i = 0; i < N_SRC; i++) {
        src_tensor *s = &srcs[i];
        size_t n = s->ne[0] * s->ne[1];
        offs[i] = off;
        gb_tensor(&b, s->name, s->n_dims, s->ne, s->type, off);
        off += (wisp_row_bytes(s->type, n) + 63) / 64 * 64;
    }
    gb_pad(&b, 64);
    for (int i = 0; i < N_SRC; i++) {
        src_tensor *s = &srcs[i];
        size_t n = s->ne[0] * s->ne[1];
        free(s->values);
        s->values = malloc(n * sizeof(float));
        float scale = (i % 3) + 0.25f;
        for (size_t j = 0; j < n; j++) {
            float x = rand_unit() * scale;
            if (j % 97 == 5) x *= 8.0f; /* an outlier now and then */
            if (s->type == WISP_DTYPE_F32) {
                gb_f32(&b, x);
            } else if (s->type == WISP_DTYPE_F16) {
                wisp_f16 h = wisp_f32_to_f16(x);
                gb_u16(&b, h);
                x = wisp_f16_to_f32(h);
            } else {
                wisp_bf16 h = wisp_f32_to_bf16(x);
                gb_u16(&b, h);
                x = wisp_bf16_to_f32(h);
            }
            s->values[j] = x;
        }
        gb_pad(&b, 64);
        assert_int_equal(b.len % 64, 0);
        (void)offs;
    }
    return b;
}

/* The type the quantizer must give a source tensor for a target. */
static wisp_dtype expected_type(const src_tensor *s, wisp_dtype target) {
    if (s->n_dims == 1) return WISP_DTYPE_F32;
    if (s->ne[0] % wisp_dtype_block_elems(target)) return s->type;
    return target;
}

static void check_target(wisp_dtype target, uint32_t ftype) {
    gb b = build_source();
    wisp_error err;
    size_t out_size = 0;
    void *out = wisp_quantize_gguf(b.p, b.len, target, &out_size, &err);
    if (!out) print_error("%s\n", err.message);
    assert_non_null(out);
    wisp_gguf *g = wisp_gguf_open(out, out_size, &err);
    if (!g) print_error("%s\n", err.message);
    assert_non_null(g);
    assert_int_equal(wisp_gguf_version(g), 3);
    assert_int_equal(wisp_gguf_alignment(g), 32);
    assert_int_equal(wisp_gguf_find(g, "general.alignment"), -1);
    uint32_t u;
    assert_true(wisp_gguf_get_u32(g, "general.file_type", &u));
    assert_int_equal(u, ftype);
    wisp_str s;
    assert_true(wisp_gguf_get_str(g, "general.architecture", &s));
    assert_int_equal(s.len, 5);
    assert_memory_equal(s.ptr, "llama", 5);
    int64_t k = wisp_gguf_find(g, "tokenizer.ggml.tokens");
    assert_int_equal(wisp_gguf_arr_len(g, k), 3);
    assert_true(wisp_gguf_arr_str(g, k, 2, &s));
    assert_int_equal(s.len, 14);
    float f;
    assert_true(wisp_gguf_get_f32(g, "llama.rope.freq_base", &f));
    assert_true(f == 10000.0f);
    assert_int_equal(wisp_gguf_n_tensors(g), N_SRC);

    /* llama.cpp's loader insists that each tensor sits exactly where the previous one, padded to
     * the alignment, ends, and that the file ends with the last tensor's padded data */
    uint64_t expect_off = 0;
    for (int i = 0; i < N_SRC; i++) {
        const wisp_gguf_tensor *t = wisp_gguf_tensor_at(g, i);
        assert_int_equal(t->offset, expect_off);
        expect_off += (t->size + 31) / 32 * 32;
    }
    const wisp_gguf_tensor *t0 = wisp_gguf_tensor_at(g, 0);
    assert_int_equal(((const uint8_t *)t0->data - (const uint8_t *)out) % 32, 0);
    assert_int_equal((const uint8_t *)t0->data - (const uint8_t *)out + expect_off, out_size);

    for (int i = 0; i < N_SRC; i++) {
        const src_tensor *src = &srcs[i];
        const wisp_gguf_tensor *t = wisp_gguf_tensor_at(g, i);
        assert_int_equal(t->name.len, strlen(src->name));
        assert_memory_equal(t->name.ptr, src->name, t->name.len);
        assert_int_equal(t->n_dims, src->n_dims);
        assert_int_equal(t->ne[0], src->ne[0]);
        assert_int_equal(t->ne[1], src->ne[1]);
        wisp_dtype want = expected_type(src, target);
        if (t->type != want)
            print_error("%s: type %s, expected %s\n", src->name, wisp_dtype_name(t->type),
                        wisp_dtype_name(want));
        assert_int_equal(t->type, want);
        size_t n0 = src->ne[0], n1 = src->ne[1];
        float *row = malloc(n0 * sizeof(float));
        size_t row_bytes = wisp_row_bytes(t->type, n0);
        assert_int_equal(t->size, row_bytes * n1);
        for (size_t r = 0; r < n1; r++) {
            assert_true(wisp_dequantize_row(t->type, (const uint8_t *)t->data + r * row_bytes, row, n0));
            size_t be = wisp_dtype_block_elems(t->type);
            for (size_t b0 = 0; b0 < n0; b0 += be) {
                const float *x = src->values + r * n0 + b0;
                float amax = 0;
                for (size_t j = 0; j < be; j++) amax = fmaxf(amax, fabsf(x[j]));
                for (size_t j = 0; j < be; j++) {
                    float bound;
                    switch (t->type) {
                    case WISP_DTYPE_Q8_0: bound = amax / 127.0f * 1.01f; break;
                    case WISP_DTYPE_Q4_0: bound = amax / 8.0f * 1.01f; break;
                    case WISP_DTYPE_F16: bound = fabsf(x[j]) / 2048.0f + 1e-7f; break;
                    default: bound = 0; break; /* unchanged or widened: exact */
                    }
                    float e = fabsf(row[b0 + j] - x[j]);
                    if (e > bound)
                        print_error("%s[%zu,%zu]: %g vs %g (bound %g)\n", src->name, r, b0 + j,
                                    row[b0 + j], x[j], bound);
                    assert_true(e <= bound);
                }
            }
        }
        free(row);
    }
    wisp_gguf_free(g);
    free(out);
    free(b.p);
}

static void test_q8_0(void **state) { check_target(WISP_DTYPE_Q8_0, 7); }
static void test_q4_0(void **state) { check_target(WISP_DTYPE_Q4_0, 2); }
static void test_f16(void **state) { check_target(WISP_DTYPE_F16, 1); }
static void test_f32(void **state) { check_target(WISP_DTYPE_F32, 0); }

/* Quantizing a quantized file to another quantized type keeps its blocks (no double rounding). */
static void test_requantize_keeps_quantized(void **state) {
    gb b = build_source();
    wisp_error err;
    size_t n1, n2;
    void *q8 = wisp_quantize_gguf(b.p, b.len, WISP_DTYPE_Q8_0, &n1, &err);
    assert_non_null(q8);
    void *q4 = wisp_quantize_gguf(q8, n1, WISP_DTYPE_Q4_0, &n2, &err);
    assert_non_null(q4);
    wisp_gguf *g1 = wisp_gguf_open(q8, n1, &err), *g2 = wisp_gguf_open(q4, n2, &err);
    assert_non_null(g1);
    assert_non_null(g2);
    const wisp_gguf_tensor *a = wisp_gguf_tensor_find(g1, "blk.0.attn_q.weight");
    const wisp_gguf_tensor *c = wisp_gguf_tensor_find(g2, "blk.0.attn_q.weight");
    assert_int_equal(c->type, WISP_DTYPE_Q8_0);
    assert_int_equal(a->size, c->size);
    assert_memory_equal(a->data, c->data, a->size);
    uint32_t u;
    assert_true(wisp_gguf_get_u32(g2, "general.file_type", &u));
    assert_int_equal(u, 2);
    wisp_gguf_free(g1);
    wisp_gguf_free(g2);
    free(q8);
    free(q4);
    free(b.p);
}

/* quantize -> f32 -> quantize is lossless: the f32 file holds exactly the dequantized values, and
 * quantizing it again gives the same blocks byte for byte (the grid is a fixed point). */
static void check_roundtrip(wisp_dtype qtype) {
    gb b = build_source();
    wisp_error err;
    size_t na, nb, nc;
    void *a = wisp_quantize_gguf(b.p, b.len, qtype, &na, &err);
    assert_non_null(a);
    void *f = wisp_quantize_gguf(a, na, WISP_DTYPE_F32, &nb, &err);
    assert_non_null(f);
    void *c = wisp_quantize_gguf(f, nb, qtype, &nc, &err);
    assert_non_null(c);
    wisp_gguf *ga = wisp_gguf_open(a, na, &err), *gf = wisp_gguf_open(f, nb, &err);
    wisp_gguf *gc = wisp_gguf_open(c, nc, &err);
    assert_non_null(ga); assert_non_null(gf); assert_non_null(gc);
    uint32_t ft;
    assert_true(wisp_gguf_get_u32(gf, "general.file_type", &ft));
    assert_int_equal(ft, 0);
    int n_quantized = 0;
    for (int64_t i = 0; i < wisp_gguf_n_tensors(ga); i++) {
        const wisp_gguf_tensor *ta = wisp_gguf_tensor_at(ga, i);
        const wisp_gguf_tensor *tf = wisp_gguf_tensor_at(gf, i);
        const wisp_gguf_tensor *tc = wisp_gguf_tensor_at(gc, i);
        if (ta->type != qtype) continue;
        n_quantized++;
        assert_int_equal(tf->type, WISP_DTYPE_F32);
        size_t n = ta->ne[0] * ta->ne[1];
        float *x = malloc(n * sizeof(float));
        assert_true(wisp_dequantize_row(ta->type, ta->data, x, n));
        assert_memory_equal(tf->data, x, n * sizeof(float));
        assert_int_equal(tc->type, qtype);
        assert_int_equal(tc->size, ta->size);
        assert_memory_equal(tc->data, ta->data, ta->size);
        free(x);
    }
    assert_true(n_quantized >= 4);
    wisp_gguf_free(ga); wisp_gguf_free(gf); wisp_gguf_free(gc);
    free(a); free(f); free(c);
    free(b.p);
}

static void test_roundtrip_q8_0(void **state) { check_roundtrip(WISP_DTYPE_Q8_0); }
static void test_roundtrip_q4_0(void **state) { check_roundtrip(WISP_DTYPE_Q4_0); }

static void test_errors(void **state) {
    gb b = build_source();
    wisp_error err;
    size_t n = 123;
    assert_null(wisp_quantize_gguf(b.p, b.len, WISP_DTYPE_Q6_K, &n, &err));
    assert_int_equal(err.code, WISP_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "q6_K"));
    assert_null(wisp_quantize_gguf(b.p, b.len - 1, WISP_DTYPE_Q8_0, &n, &err));
    assert_int_equal(err.code, WISP_ERR_BAD_MODEL);
    assert_non_null(strstr(err.message, "output.weight"));
    assert_null(wisp_quantize_gguf(NULL, 10, WISP_DTYPE_Q8_0, &n, &err));
    assert_int_equal(err.code, WISP_ERR_INVALID_ARG);
    assert_int_equal(n, 123);
    free(b.p);
}

/* A file without general.file_type gets one; metadata-only files work. */
static void test_adds_file_type(void **state) {
    gb b = {0};
    gb_header(&b, 2, 0, 1);
    gb_kv_str(&b, "general.name", "x");
    wisp_error err;
    size_t n;
    void *out = wisp_quantize_gguf(b.p, b.len, WISP_DTYPE_Q4_0, &n, &err);
    assert_non_null(out);
    wisp_gguf *g = wisp_gguf_open(out, n, &err);
    assert_non_null(g);
    assert_int_equal(wisp_gguf_n_kv(g), 2);
    uint32_t u;
    assert_true(wisp_gguf_get_u32(g, "general.file_type", &u));
    assert_int_equal(u, 2);
    wisp_gguf_free(g);
    free(out);
    free(b.p);
}

/* A caller's buffer at an odd address puts tensor data at odd addresses: the quantizer must not
 * read F16/F32 through misaligned pointers (UBSan checks this in the sanitizer build) and must
 * still convert exactly. */
static void test_misaligned_source(void **state) {
    gb b = {0};
    uint64_t ne_a[2] = {32, 2}, ne_b[2] = {32, 1};
    gb_header(&b, 3, 2, 0);
    gb_tensor(&b, "a.weight", 2, ne_a, WISP_DTYPE_F16, 0);
    gb_tensor(&b, "b.weight", 2, ne_b, WISP_DTYPE_F32, 128);
    gb_pad(&b, 32);
    float xa[64], xb[32];
    for (int i = 0; i < 64; i++) {
        wisp_f16 h = wisp_f32_to_f16((float)(i - 32) / 8.0f);
        gb_u16(&b, h);
        xa[i] = wisp_f16_to_f32(h);
    }
    for (int i = 0; i < 32; i++) gb_f32(&b, xb[i] = (float)i * 0.25f);
    uint8_t *odd = malloc(b.len + 1);
    memcpy(odd + 1, b.p, b.len);
    wisp_error err;
    size_t n;
    void *out = wisp_quantize_gguf(odd + 1, b.len, WISP_DTYPE_F32, &n, &err);
    if (!out) print_error("%s\n", err.message);
    assert_non_null(out);
    wisp_gguf *g = wisp_gguf_open(out, n, &err);
    assert_non_null(g);
    const wisp_gguf_tensor *a = wisp_gguf_tensor_find(g, "a.weight");
    const wisp_gguf_tensor *c = wisp_gguf_tensor_find(g, "b.weight");
    assert_int_equal(a->type, WISP_DTYPE_F32);
    assert_memory_equal(a->data, xa, sizeof xa);
    assert_memory_equal(c->data, xb, sizeof xb);
    wisp_gguf_free(g);
    free(out);
    free(odd);
    free(b.p);
}

static int teardown(void **state) {
    for (int i = 0; i < N_SRC; i++) {
        free(srcs[i].values);
        srcs[i].values = NULL;
    }
    return 0;
}

/* Weights that are inf or NaN (a broken or hostile file) quantize to defined values: a NaN to
 * zero, a block holding an inf to zeros (its scale is inf); the rest of the row as usual. Before,
 * the float-to-int conversion of such values was undefined behaviour (UBSan, fuzz_gguf). */
static void test_non_finite_weights(void **state) {
    (void)state;
    float x[64];
    for (int i = 0; i < 64; i++) x[i] = (float)(i % 7) - 3.0f;
    x[5] = NAN;
    x[40] = INFINITY;
    x[41] = -INFINITY;
    block_q8_0 q8[2];
    wisp_quantize_row_q8_0(x, q8, 64);
    assert_int_equal(q8[0].qs[5], 0);
    assert_int_equal(q8[0].qs[6], (int8_t)roundf(x[6] / 3.0f * 127.0f));
    for (int j = 0; j < 32; j++) assert_int_equal(q8[1].qs[j], 0);
    block_q4_0 q4[2];
    wisp_quantize_row_q4_0(x, q4, 64);
    assert_int_equal(q4[0].qs[5] & 0x0f, 8);
    for (int j = 0; j < 16; j++) assert_int_equal(q4[1].qs[j], 0x88);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_q8_0),
        cmocka_unit_test(test_q4_0),
        cmocka_unit_test(test_f16),
        cmocka_unit_test(test_f32),
        cmocka_unit_test(test_requantize_keeps_quantized),
        cmocka_unit_test(test_roundtrip_q8_0),
        cmocka_unit_test(test_roundtrip_q4_0),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_adds_file_type),
        cmocka_unit_test(test_misaligned_source),
        cmocka_unit_test(test_non_finite_weights),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
