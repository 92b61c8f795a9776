/*
 * GGUF reader tests: valid v2/v3 files with every value type, and bad models — every prefix of a
 * valid file, wrong magic, versions, absurd counts and lengths, tensors out of range, unknown
 * types, too many dims, misaligned offsets, duplicates. Each bad case checks the error code and
 * that the message names the problem. Files are built in memory by gguf_builder.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gguf.h"
#include "gguf_builder.h"
#include "read_file.h"
#include "wisp.h"

static const char *const vocab[] = {"<s>", "</s>", "hello", "", "w\xc3\xb6rld"};

/* A small valid file: one kv of every scalar type, arrays (numbers, strings, arrays of arrays),
 * an optional general.alignment, and three tensors (F32 matrix, F32 vector, Q8_0 matrix). The
 * data section ends exactly at the end of the last tensor, so every strict prefix is invalid. */
static gb build_valid(uint32_t version, uint32_t alignment) {
    gb b = {0};
    uint64_t n_kv = 19 + (alignment ? 1 : 0);
    gb_header(&b, version, 3, n_kv);
    gb_key(&b, "t.u8", 0); gb_u8(&b, 200);
    gb_key(&b, "t.i8", 1); gb_u8(&b, (uint8_t)-5);
    gb_key(&b, "t.u16", 2); gb_u16(&b, 60000);
    gb_key(&b, "t.i16", 3); gb_u16(&b, (uint16_t)-300);
    gb_kv_u32(&b, "t.u32", 4000000000u);
    gb_key(&b, "t.i32", 5); gb_u32(&b, (uint32_t)-70000);
    gb_kv_f32(&b, "t.f32", 0.5f);
    gb_key(&b, "t.bool", 7); gb_u8(&b, 1);
    gb_kv_str(&b, "general.name", "tiny");
    gb_key(&b, "t.u64", 10); gb_u64(&b, UINT64_MAX);
    gb_key(&b, "t.i64", 11); gb_u64(&b, (uint64_t)-5000000000ll);
    gb_key(&b, "t.f64", 12); gb_f64(&b, 2.25);
    gb_kv_strs(&b, "tokenizer.ggml.tokens", vocab, 5);
    gb_key(&b, "t.arr_i32", 9); gb_u32(&b, 5); gb_u64(&b, 3);
    gb_u32(&b, 1); gb_u32(&b, (uint32_t)-2); gb_u32(&b, 3);
    gb_key(&b, "t.arr_f32", 9); gb_u32(&b, 6); gb_u64(&b, 2); gb_f32(&b, 1.5f); gb_f32(&b, -4.0f);
    gb_key(&b, "t.arr_u64", 9); gb_u32(&b, 10); gb_u64(&b, 2); gb_u64(&b, 7); gb_u64(&b, UINT64_MAX);
    gb_key(&b, "t.arr_bool", 9); gb_u32(&b, 7); gb_u64(&b, 2); gb_u8(&b, 0); gb_u8(&b, 1);
    /* array of 2 arrays: [[1,2] as u16, ["x"] as strings] */
    gb_key(&b, "t.nested", 9); gb_u32(&b, 9); gb_u64(&b, 2);
    gb_u32(&b, 2); gb_u64(&b, 2); gb_u16(&b, 1); gb_u16(&b, 2);
    gb_u32(&b, 8); gb_u64(&b, 1); gb_str(&b, "x");
    gb_key(&b, "t.empty", 9); gb_u32(&b, 8); gb_u64(&b, 0);
    if (alignment) gb_kv_u32(&b, "general.alignment", alignment);
    size_t align = alignment ? alignment : 32;
    uint64_t ne_a[2] = {4, 2}, ne_b[1] = {8}, ne_c[2] = {32, 2};
    size_t off_b = (32 + align - 1) / align * align;
    size_t off_c = off_b + (32 + align - 1) / align * align;
    gb_tensor(&b, "a.weight", 2, ne_a, 0, 0);
    gb_tensor(&b, "b.norm", 1, ne_b, 0, off_b);
    gb_tensor(&b, "c.weight", 2, ne_c, 8, off_c);
    gb_pad(&b, align);
    size_t data0 = b.len;
    for (int i = 0; i < 8; i++) gb_f32(&b, (float)i);
    gb_pad(&b, align);
    for (int i = 0; i < 8; i++) gb_f32(&b, (float)-i);
    while (b.len < data0 + off_c) gb_u8(&b, 0);
    for (int r = 0; r < 2; r++) { /* two Q8_0 blocks: d = 1.0 (f16 0x3c00), q = r */
        gb_u16(&b, 0x3c00);
        for (int i = 0; i < 32; i++) gb_u8(&b, (uint8_t)r);
    }
    return b;
}

/* Opens exactly `len` bytes from a fresh allocation, so ASan sees any read past the end. */
static wisp_gguf *open_exact(const uint8_t *data, size_t len, wisp_error *err, uint8_t **copy) {
    *copy = malloc(len ? len : 1);
    if (len) memcpy(*copy, data, len);
    return wisp_gguf_open(*copy, len, err);
}

/* Asserts that `b` fails to open with `code` and a message containing `needle`. */
static void expect_fail(gb *b, wisp_status code, const char *needle) {
    wisp_error err;
    uint8_t *copy;
    wisp_gguf *g = open_exact(b->p, b->len, &err, &copy);
    if (g || err.code != code || !strstr(err.message, needle))
        print_error("expected %s with \"%s\", got %s: \"%s\"\n", wisp_status_name(code), needle,
                    g ? "success" : wisp_status_name(err.code), g ? "" : err.message);
    assert_null(g);
    assert_int_equal(err.code, code);
    assert_non_null(strstr(err.message, needle));
    free(copy);
    free(b->p);
}

static void check_valid(uint32_t version, uint32_t alignment) {
    gb b = build_valid(version, alignment);
    wisp_error err;
    uint8_t *copy;
    wisp_gguf *g = open_exact(b.p, b.len, &err, &copy);
    if (!g) print_error("%s\n", err.message);
    assert_non_null(g);
    assert_int_equal(err.code, WISP_OK);
    assert_int_equal(wisp_gguf_version(g), version);
    assert_int_equal(wisp_gguf_alignment(g), alignment ? alignment : 32);
    assert_int_equal(wisp_gguf_n_kv(g), 19 + (alignment ? 1 : 0));

    uint32_t u32;
    int64_t i64;
    float f32;
    bool bl;
    double f64;
    wisp_str s;
    assert_true(wisp_gguf_get_u32(g, "t.u8", &u32)); assert_int_equal(u32, 200);
    assert_false(wisp_gguf_get_u32(g, "t.i8", &u32));           /* -5 does not fit */
    assert_true(wisp_gguf_get_i64(g, "t.i8", &i64)); assert_int_equal(i64, -5);
    assert_true(wisp_gguf_get_u32(g, "t.u16", &u32)); assert_int_equal(u32, 60000);
    assert_true(wisp_gguf_get_i64(g, "t.i16", &i64)); assert_int_equal(i64, -300);
    assert_true(wisp_gguf_get_u32(g, "t.u32", &u32)); assert_int_equal(u32, 4000000000u);
    assert_true(wisp_gguf_get_i64(g, "t.i32", &i64)); assert_int_equal(i64, -70000);
    assert_true(wisp_gguf_get_f32(g, "t.f32", &f32)); assert_true(f32 == 0.5f);
    assert_true(wisp_gguf_get_bool(g, "t.bool", &bl)); assert_true(bl);
    assert_false(wisp_gguf_get_bool(g, "t.u8", &bl));           /* wrong type */
    assert_true(wisp_gguf_get_str(g, "general.name", &s));
    assert_int_equal(s.len, 4); assert_memory_equal(s.ptr, "tiny", 4);
    assert_false(wisp_gguf_get_i64(g, "t.u64", &i64));          /* UINT64_MAX does not fit */
    assert_false(wisp_gguf_get_u32(g, "t.u64", &u32));
    assert_true(wisp_gguf_get_i64(g, "t.i64", &i64)); assert_true(i64 == -5000000000ll);
    assert_false(wisp_gguf_get_u32(g, "t.i64", &u32));
    assert_true(wisp_gguf_get_f32(g, "t.f64", &f32)); assert_true(f32 == 2.25f);
    assert_false(wisp_gguf_get_str(g, "t.u8", &s));
    assert_false(wisp_gguf_get_u32(g, "no.such.key", &u32));
    assert_int_equal(wisp_gguf_find(g, "no.such.key"), -1);
    assert_true(wisp_gguf_scalar_f64(g, wisp_gguf_find(g, "t.i16"), &f64)); assert_true(f64 == -300);
    assert_true(wisp_gguf_scalar_f64(g, wisp_gguf_find(g, "t.bool"), &f64)); assert_true(f64 == 1);
    assert_false(wisp_gguf_scalar_f64(g, wisp_gguf_find(g, "general.name"), &f64));

    int64_t k = wisp_gguf_find(g, "tokenizer.ggml.tokens");
    assert_true(k >= 0);
    s = wisp_gguf_key(g, k);
    assert_int_equal(s.len, strlen("tokenizer.ggml.tokens"));
    assert_int_equal(wisp_gguf_kv_type(g, k), WISP_GGUF_ARRAY);
    assert_int_equal(wisp_gguf_arr_type(g, k), WISP_GGUF_STRING);
    assert_int_equal(wisp_gguf_arr_len(g, k), 5);
    for (int j = 4; j >= 0; j--) { /* random access, any order */
        assert_true(wisp_gguf_arr_str(g, k, (uint64_t)j, &s));
        assert_int_equal(s.len, strlen(vocab[j]));
        assert_memory_equal(s.ptr, vocab[j], s.len);
    }
    assert_false(wisp_gguf_arr_str(g, k, 5, &s));
    assert_false(wisp_gguf_arr_i64(g, k, 0, &i64));

    k = wisp_gguf_find(g, "t.arr_i32");
    assert_true(wisp_gguf_arr_i64(g, k, 1, &i64)); assert_int_equal(i64, -2);
    assert_true(wisp_gguf_arr_f64(g, k, 2, &f64)); assert_true(f64 == 3.0);
    assert_false(wisp_gguf_arr_i64(g, k, 3, &i64));
    assert_false(wisp_gguf_arr_str(g, k, 0, &s));
    k = wisp_gguf_find(g, "t.arr_f32");
    assert_true(wisp_gguf_arr_f64(g, k, 1, &f64)); assert_true(f64 == -4.0);
    assert_false(wisp_gguf_arr_i64(g, k, 1, &i64));
    k = wisp_gguf_find(g, "t.arr_u64");
    assert_true(wisp_gguf_arr_i64(g, k, 0, &i64)); assert_int_equal(i64, 7);
    assert_false(wisp_gguf_arr_i64(g, k, 1, &i64));
    k = wisp_gguf_find(g, "t.arr_bool");
    assert_true(wisp_gguf_arr_f64(g, k, 1, &f64)); assert_true(f64 == 1.0);
    k = wisp_gguf_find(g, "t.nested");
    assert_int_equal(wisp_gguf_arr_type(g, k), WISP_GGUF_ARRAY);
    assert_int_equal(wisp_gguf_arr_len(g, k), 2);
    assert_false(wisp_gguf_arr_i64(g, k, 0, &i64));
    assert_false(wisp_gguf_arr_str(g, k, 0, &s));
    k = wisp_gguf_find(g, "t.empty");
    assert_int_equal(wisp_gguf_arr_len(g, k), 0);
    assert_false(wisp_gguf_arr_str(g, k, 0, &s));

    assert_int_equal(wisp_gguf_n_tensors(g), 3);
    const wisp_gguf_tensor *a = wisp_gguf_tensor_find(g, "a.weight");
    const wisp_gguf_tensor *nb = wisp_gguf_tensor_find(g, "b.norm");
    const wisp_gguf_tensor *c = wisp_gguf_tensor_find(g, "c.weight");
    assert_non_null(a); assert_non_null(nb); assert_non_null(c);
    assert_ptr_equal(a, wisp_gguf_tensor_at(g, 0));
    assert_null(wisp_gguf_tensor_find(g, "a.weigh"));
    assert_null(wisp_gguf_tensor_at(g, 3));
    assert_int_equal(a->type, WISP_DTYPE_F32);
    assert_int_equal(a->n_dims, 2);
    assert_int_equal(a->ne[0], 4); assert_int_equal(a->ne[1], 2); assert_int_equal(a->ne[2], 1);
    assert_int_equal(a->size, 32);
    assert_int_equal(nb->ne[0], 8); assert_int_equal(nb->ne[1], 1);
    assert_int_equal(c->type, WISP_DTYPE_Q8_0);
    assert_int_equal(c->size, 68);
    assert_int_equal((uintptr_t)((const uint8_t *)a->data - copy) % wisp_gguf_alignment(g), 0);
    float v;
    memcpy(&v, (const float *)a->data + 7, 4); assert_true(v == 7.0f);
    memcpy(&v, (const float *)nb->data + 3, 4); assert_true(v == -3.0f);
    assert_int_equal(((const int8_t *)c->data)[34 + 2 + 5], 1);
    assert_ptr_equal((const uint8_t *)c->data + c->size, copy + b.len);

    const void *raw;
    uint64_t raw_len;
    assert_true(wisp_gguf__kv_raw(g, wisp_gguf_find(g, "t.u32"), &raw, &raw_len));
    assert_int_equal(raw_len, 8 + 5 + 4 + 4);
    wisp_gguf_free(g);
    free(copy);
    free(b.p);
}

static void test_valid_v3(void **state) { check_valid(3, 0); }
static void test_valid_v2(void **state) { check_valid(2, 0); }
static void test_valid_alignment_64(void **state) { check_valid(3, 64); }
static void test_valid_alignment_8(void **state) { check_valid(3, 8); }

static void test_dtype_table(void **state) {
    assert_string_equal(wisp_dtype_name(WISP_DTYPE_Q8_0), "q8_0");
    assert_string_equal(wisp_dtype_name(WISP_DTYPE_BF16), "bf16");
    assert_int_equal(wisp_dtype_block_bytes(WISP_DTYPE_Q4_0), 18);
    assert_int_equal(wisp_dtype_block_elems(WISP_DTYPE_Q4_0), 32);
    assert_int_equal(wisp_dtype_block_bytes(WISP_DTYPE_F16), 2);
    assert_int_equal(wisp_dtype_block_elems(WISP_DTYPE_F32), 1);
    assert_int_equal(wisp_dtype_block_bytes(WISP_DTYPE_Q6_K), 210);
    assert_null(wisp_dtype_name((wisp_dtype)3));
    assert_int_equal(wisp_dtype_block_bytes((wisp_dtype)99), 0);
}

/* Every strict prefix of a valid file is an error, never a crash or a success. */
static void test_truncated_every_byte(void **state) {
    gb b = build_valid(3, 0);
    for (size_t n = 0; n < b.len; n++) {
        wisp_error err;
        uint8_t *copy;
        wisp_gguf *g = open_exact(b.p, n, &err, &copy);
        if (g || !(strstr(err.message, "truncated") || strstr(err.message, "past the end")))
            print_error("prefix of %zu of %zu bytes: %s\n", n, b.len, g ? "opened" : err.message);
        assert_null(g);
        assert_int_equal(err.code, WISP_ERR_BAD_MODEL);
        assert_true(strstr(err.message, "truncated") || strstr(err.message, "past the end"));
        free(copy);
    }
    free(b.p);
}

static void test_null_and_free_null(void **state) {
    wisp_error err;
    assert_null(wisp_gguf_open(NULL, 10, &err));
    assert_int_equal(err.code, WISP_ERR_INVALID_ARG);
    wisp_gguf_free(NULL);
    assert_int_equal(wisp_gguf_n_kv(NULL), 0);
    assert_int_equal(wisp_gguf_find(NULL, "x"), -1);
    assert_null(wisp_gguf_tensor_find(NULL, "x"));
}

static void test_bad_magic(void **state) {
    gb b = build_valid(3, 0);
    memcpy(b.p, "GGML", 4);
    expect_fail(&b, WISP_ERR_BAD_MODEL, "not a GGUF file");
}

static void test_version_1(void **state) {
    gb b = {0};
    gb_header(&b, 1, 0, 0);
    expect_fail(&b, WISP_ERR_UNSUPPORTED, "version 1");
}

static void test_version_4(void **state) {
    gb b = {0};
    gb_header(&b, 4, 0, 0);
    expect_fail(&b, WISP_ERR_UNSUPPORTED, "version 4");
}

static void test_big_endian(void **state) {
    gb b = {0};
    gb_header(&b, 3u << 24, 0, 0);
    expect_fail(&b, WISP_ERR_UNSUPPORTED, "big-endian");
}

static void test_absurd_kv_count(void **state) {
    gb b = {0};
    gb_header(&b, 3, 0, UINT64_MAX / 2);
    gb_kv_u32(&b, "a", 1);
    expect_fail(&b, WISP_ERR_BAD_MODEL, "absurd metadata key count");
}

static void test_absurd_tensor_count(void **state) {
    gb b = {0};
    gb_header(&b, 3, 1000000000000ull, 1);
    gb_kv_u32(&b, "a", 1);
    expect_fail(&b, WISP_ERR_BAD_MODEL, "absurd tensor count");
}

static void test_absurd_string_length(void **state) {
    gb b = {0};
    gb_header(&b, 3, 0, 1);
    gb_u64(&b, UINT64_MAX - 3); /* key length */
    gb_raw(&b, "abcdefgh", 8);
    expect_fail(&b, WISP_ERR_BAD_MODEL, "string length 18446744073709551612");
}

static void test_absurd_value_string_length(void **state) {
    gb b = {0};
    gb_header(&b, 3, 0, 1);
    gb_key(&b, "general.name", 8);
    gb_u64(&b, 1ull << 40);
    gb_raw(&b, "abcdefgh", 8);
    expect_fail(&b, WISP_ERR_BAD_MODEL, "string length 1099511627776");
}

/* count * element size would wrap around 2^64: must be caught before multiplying */
static void test_array_length_overflow(void **state) {
    gb b = {0};
    gb_header(&b, 3, 0, 1);
    gb_key(&b, "t.big", 9); gb_u32(&b, 10); gb_u64(&b, (1ull << 61) + 1);
    gb_u64(&b, 1); gb_u64(&b, 2);
    expect_fail(&b, WISP_ERR_BAD_MODEL, "key t.big: array of 2305843009213693953 uint64");
}

static void test_string_array_count_absurd(void **state) {
    gb b = {0};
    gb_header(&b, 3, 0, 1);
    gb_key(&b, "tokenizer.ggml.tokens", 9); gb_u32(&b, 8); gb_u64(&b, 1ull << 50);
    gb_str(&b, "a");
    expect_fail(&b, WISP_ERR_BAD_MODEL, "tokenizer.ggml.tokens: array of 1125899906842624 strings");
}

static void test_nested_array_too_deep(void **state) {
    gb b = {0};
    gb_header(&b, 3, 0, 1);
    gb_key(&b, "t.deep", 9);
    for (int d = 0; d < 20; d++) { gb_u32(&b, 9); gb_u64(&b, 1); }
    gb_u32(&b, 0); gb_u64(&b, 0);
    expect_fail(&b, WISP_ERR_BAD_MODEL, "t.deep: arrays nested more than");
}

static void test_unknown_value_type(void **state) {
    gb b = {0};
    gb_header(&b, 3, 0, 1);
    gb_key(&b, "t.weird", 13); gb_u64(&b, 0);
    expect_fail(&b, WISP_ERR_BAD_MODEL, "key t.weird: unknown value type 13");
}

static void test_unknown_array_type(void **state) {
    gb b = {0};
    gb_header(&b, 3, 0, 1);
    gb_key(&b, "t.weird", 9); gb_u32(&b, 77); gb_u64(&b, 0);
    expect_fail(&b, WISP_ERR_BAD_MODEL, "key t.weird: unknown array element type 77");
}

static void test_duplicate_key(void **state) {
    gb b = {0};
    gb_header(&b, 3, 0, 3);
    gb_kv_u32(&b, "a.b", 1);
    gb_kv_u32(&b, "c", 1);
    gb_kv_str(&b, "a.b", "again");
    expect_fail(&b, WISP_ERR_BAD_MODEL, "duplicate key a.b");
}

/* One-tensor file: header, optional alignment kv, tensor info, padding, `data_bytes` of data. */
static gb one_tensor(uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t offset,
                     size_t data_bytes) {
    gb b = {0};
    gb_header(&b, 3, 1, 0);
    gb_tensor(&b, "blk.3.attn_q.weight", n_dims, ne, type, offset);
    gb_pad(&b, 32);
    for (size_t i = 0; i < data_bytes; i++) gb_u8(&b, 0);
    return b;
}

static void test_tensor_one_ok(void **state) {
    uint64_t ne[2] = {8, 4};
    gb b = one_tensor(2, ne, 0, 0, 128);
    wisp_error err;
    wisp_gguf *g = wisp_gguf_open(b.p, b.len, &err);
    assert_non_null(g);
    wisp_gguf_free(g);
    free(b.p);
}

static void test_tensor_data_past_end(void **state) {
    uint64_t ne[2] = {8, 4}; /* 128 bytes, only 100 present */
    gb b = one_tensor(2, ne, 0, 0, 100);
    expect_fail(&b, WISP_ERR_BAD_MODEL,
                "tensor blk.3.attn_q.weight: data ends 28 bytes past the end of the file");
}

static void test_tensor_offset_out_of_range(void **state) {
    uint64_t ne[2] = {8, 4};
    gb b = one_tensor(2, ne, 0, 1ull << 40, 128);
    expect_fail(&b, WISP_ERR_BAD_MODEL, "tensor blk.3.attn_q.weight: data ends");
}

static void test_tensor_offset_overflow(void **state) {
    uint64_t ne[2] = {8, 4};
    gb b = one_tensor(2, ne, 0, UINT64_MAX - 31, 128);
    expect_fail(&b, WISP_ERR_BAD_MODEL, "tensor blk.3.attn_q.weight: offset");
}

static void test_tensor_size_overflow(void **state) {
    uint64_t ne[4] = {1ull << 20, 1ull << 20, 1ull << 20, 1ull << 20};
    gb b = one_tensor(4, ne, 0, 0, 128);
    expect_fail(&b, WISP_ERR_BAD_MODEL, "tensor blk.3.attn_q.weight: shape");
}

static void test_tensor_unknown_type(void **state) {
    uint64_t ne[2] = {32, 4};
    gb b = one_tensor(2, ne, 6 /* ggml Q5_0 */, 0, 4096);
    expect_fail(&b, WISP_ERR_UNSUPPORTED, "tensor blk.3.attn_q.weight: unsupported tensor type 6");
}

static void test_tensor_too_many_dims(void **state) {
    uint64_t ne[5] = {2, 2, 2, 2, 2};
    gb b = one_tensor(5, ne, 0, 0, 256);
    expect_fail(&b, WISP_ERR_BAD_MODEL, "tensor blk.3.attn_q.weight: n_dims 5");
}

static void test_tensor_zero_dims(void **state) {
    gb b = one_tensor(0, NULL, 0, 0, 32);
    expect_fail(&b, WISP_ERR_BAD_MODEL, "tensor blk.3.attn_q.weight: n_dims 0");
}

static void test_tensor_misaligned(void **state) {
    uint64_t ne[1] = {8};
    gb b = one_tensor(1, ne, 0, 4, 64);
    expect_fail(&b, WISP_ERR_BAD_MODEL, "offset 4 is not a multiple of the alignment 32");
}

static void test_tensor_row_not_block_multiple(void **state) {
    uint64_t ne[2] = {33, 2};
    gb b = one_tensor(2, ne, 8, 0, 256);
    expect_fail(&b, WISP_ERR_BAD_MODEL, "row of 33 elements is not a multiple of the q8_0 block");
}

static void test_duplicate_tensor(void **state) {
    gb b = {0};
    uint64_t ne[1] = {8};
    gb_header(&b, 3, 2, 0);
    gb_tensor(&b, "x.weight", 1, ne, 0, 0);
    gb_tensor(&b, "x.weight", 1, ne, 0, 32);
    gb_pad(&b, 32);
    for (int i = 0; i < 64; i++) gb_u8(&b, 0);
    expect_fail(&b, WISP_ERR_BAD_MODEL, "duplicate tensor name x.weight");
}

static void test_bad_alignment(void **state) {
    gb b = {0};
    gb_header(&b, 3, 0, 1);
    gb_kv_u32(&b, "general.alignment", 24);
    expect_fail(&b, WISP_ERR_BAD_MODEL, "general.alignment 24 is not a power of two");
    b = (gb){0};
    gb_header(&b, 3, 0, 1);
    gb_kv_u32(&b, "general.alignment", 4); /* the spec asks for a multiple of 8 */
    expect_fail(&b, WISP_ERR_BAD_MODEL, "general.alignment 4 is not a power of two from 8");
    b = (gb){0};
    gb_header(&b, 3, 0, 1);
    gb_kv_u32(&b, "general.alignment", 0);
    expect_fail(&b, WISP_ERR_BAD_MODEL, "general.alignment 0");
    b = (gb){0};
    gb_header(&b, 3, 0, 1);
    gb_kv_str(&b, "general.alignment", "32");
    expect_fail(&b, WISP_ERR_BAD_MODEL, "general.alignment has type string");
}

/* A 150k-entry vocabulary: random access by index must not walk the array (this is a
 * correctness check of the index at scale, not a timing test). */
static void test_large_string_array(void **state) {
    enum { N = 150000 };
    gb b = {0};
    gb_header(&b, 3, 0, 1);
    gb_key(&b, "tokenizer.ggml.tokens", 9); gb_u32(&b, 8); gb_u64(&b, N);
    char buf[32];
    for (int i = 0; i < N; i++) {
        snprintf(buf, sizeof buf, "tok%d", i);
        gb_str(&b, buf);
    }
    wisp_error err;
    wisp_gguf *g = wisp_gguf_open(b.p, b.len, &err);
    assert_non_null(g);
    int64_t k = wisp_gguf_find(g, "tokenizer.ggml.tokens");
    for (int i = N - 1; i >= 0; i -= 997) {
        wisp_str s;
        assert_true(wisp_gguf_arr_str(g, k, (uint64_t)i, &s));
        snprintf(buf, sizeof buf, "tok%d", i);
        assert_int_equal(s.len, strlen(buf));
        assert_memory_equal(s.ptr, buf, s.len);
    }
    wisp_gguf_free(g);
    free(b.p);
}

/* Many keys: every one found by name through the hash table. */
static void test_many_keys(void **state) {
    enum { N = 3000 };
    gb b = {0};
    gb_header(&b, 3, 0, N);
    char key[32];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "k.%d", i);
        gb_kv_u32(&b, key, (uint32_t)i * 7);
    }
    wisp_error err;
    wisp_gguf *g = wisp_gguf_open(b.p, b.len, &err);
    assert_non_null(g);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "k.%d", i);
        uint32_t v;
        assert_int_equal(wisp_gguf_find(g, key), i);
        assert_true(wisp_gguf_get_u32(g, key, &v));
        assert_int_equal(v, (uint32_t)i * 7);
    }
    wisp_gguf_free(g);
    free(b.p);
}

/* Reads a fixture written by fixtures/gguf/make_fixtures.py (train/gguf_writer.py). */
static uint8_t *read_fixture(const char *path, size_t *size) {
    uint8_t *p = (uint8_t *)wisp_read_file(path, size);
    if (!p) print_error("cannot open %s (run from the repository root)\n", path);
    assert_non_null(p);
    return p;
}

/* The Python writer's files open, and their prefixes fail cleanly: every prefix of the vocabulary
 * fixture, the first 4096 prefixes of the others (their headers and tables) and a sample after. */
static void test_fixture_files(void **state) {
    static const struct { const char *path; size_t stride; int64_t n_tensors; } fx[] = {
        {"fixtures/gguf/tiny-bpe.gguf", 1, 0},
        {"fixtures/gguf/tiny-spm.gguf", 7, 0},
        {"fixtures/gguf/tiny-f32.gguf", 61, 20},
    };
    for (size_t f = 0; f < sizeof fx / sizeof fx[0]; f++) {
        size_t size;
        uint8_t *data = read_fixture(fx[f].path, &size);
        wisp_error err;
        wisp_gguf *g = wisp_gguf_open(data, size, &err);
        if (!g) print_error("%s: %s\n", fx[f].path, err.message);
        assert_non_null(g);
        assert_int_equal(wisp_gguf_n_tensors(g), fx[f].n_tensors);
        wisp_gguf_free(g);
        for (size_t n = 0; n < size; n += n < 4096 ? 1 : fx[f].stride) {
            uint8_t *copy;
            g = open_exact(data, n, &err, &copy);
            if (g && fx[f].n_tensors == 0) { /* a metadata-only file may end in padding */
                wisp_gguf_free(g);
                free(copy);
                continue;
            }
            if (g) print_error("%s: prefix of %zu bytes opened\n", fx[f].path, n);
            assert_null(g);
            assert_int_equal(err.code, WISP_ERR_BAD_MODEL);
            free(copy);
        }
        free(data);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_v3),
        cmocka_unit_test(test_valid_v2),
        cmocka_unit_test(test_valid_alignment_64),
        cmocka_unit_test(test_valid_alignment_8),
        cmocka_unit_test(test_dtype_table),
        cmocka_unit_test(test_truncated_every_byte),
        cmocka_unit_test(test_null_and_free_null),
        cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_version_1),
        cmocka_unit_test(test_version_4),
        cmocka_unit_test(test_big_endian),
        cmocka_unit_test(test_absurd_kv_count),
        cmocka_unit_test(test_absurd_tensor_count),
        cmocka_unit_test(test_absurd_string_length),
        cmocka_unit_test(test_absurd_value_string_length),
        cmocka_unit_test(test_array_length_overflow),
        cmocka_unit_test(test_string_array_count_absurd),
        cmocka_unit_test(test_nested_array_too_deep),
        cmocka_unit_test(test_unknown_value_type),
        cmocka_unit_test(test_unknown_array_type),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_tensor_one_ok),
        cmocka_unit_test(test_tensor_data_past_end),
        cmocka_unit_test(test_tensor_offset_out_of_range),
        cmocka_unit_test(test_tensor_offset_overflow),
        cmocka_unit_test(test_tensor_size_overflow),
        cmocka_unit_test(test_tensor_unknown_type),
        cmocka_unit_test(test_tensor_too_many_dims),
        cmocka_unit_test(test_tensor_zero_dims),
        cmocka_unit_test(test_tensor_misaligned),
        cmocka_unit_test(test_tensor_row_not_block_multiple),
        cmocka_unit_test(test_duplicate_tensor),
        cmocka_unit_test(test_bad_alignment),
        cmocka_unit_test(test_large_string_array),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_fixture_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
