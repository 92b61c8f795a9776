/*
 * Bad models at the model level: fixtures/gguf/tiny-llama.gguf loads; each
 * case rewrites it with one piece missing or wrong (a key, a tensor, a shape, the architecture,
 * the vocabulary's ids) and checks that wisp_model_load fails with the right code and a message
 * naming the problem. The file-format cases (truncation, offsets, counts...) are in test_gguf.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gguf.h"
#include "gguf_builder.h"
#include "quant.h"
#include "wisp.h"

#define BASE "fixtures/gguf/tiny-llama.gguf"

/* One change to the base file. Unset fields change nothing. */
typedef struct edit {
    const char *drop_key;
    const char *drop_tensor;
    const char *u32_key; /* set (or add) a uint32 key */
    uint32_t u32_val;
    const char *str_key; /* set (or add) a string key */
    const char *str_val;
    const char *shape_tensor; /* give this tensor 2-D shape (ne0, ne1), data zero-filled */
    uint64_t ne0, ne1;
    const char *type_tensor; /* retype this tensor (data re-sized, zero-filled) */
    wisp_dtype type;
} edit;

static uint8_t *base_data;
static size_t base_size;

static int setup(void **state) {
    FILE *f = fopen(BASE, "rb");
    if (!f) {
        print_error("cannot open %s (run from the repository root)\n", BASE);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    base_size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    base_data = malloc(base_size);
    size_t got = fread(base_data, 1, base_size, f);
    fclose(f);
    return got == base_size ? 0 : -1;
}

static int teardown(void **state) {
    free(base_data);
    return 0;
}

static bool str_is(wisp_str s, const char *c) {
    return c && s.len == strlen(c) && !memcmp(s.ptr, c, s.len);
}

/* Writes the base file again with `e` applied: kv records copied byte for byte (except the
 * dropped or overridden ones), tensors re-laid out at 32-byte alignment. */
static gb rewrite(const edit *e) {
    wisp_error err;
    wisp_gguf *g = wisp_gguf_open(base_data, base_size, &err);
    assert_non_null(g);
    int64_t n_kv = wisp_gguf_n_kv(g), n_t = wisp_gguf_n_tensors(g);
    uint64_t kv_out = 0, t_out = 0;
    bool u32_seen = false, str_seen = false;
    for (int64_t i = 0; i < n_kv; i++) {
        wisp_str k = wisp_gguf_key(g, i);
        u32_seen |= str_is(k, e->u32_key);
        str_seen |= str_is(k, e->str_key);
        kv_out += !str_is(k, e->drop_key);
    }
    kv_out += (e->u32_key && !u32_seen) + (e->str_key && !str_seen);
    for (int64_t i = 0; i < n_t; i++) t_out += !str_is(wisp_gguf_tensor_at(g, i)->name, e->drop_tensor);

    gb b = {0};
    gb_header(&b, 3, t_out, kv_out);
    for (int64_t i = 0; i < n_kv; i++) {
        wisp_str k = wisp_gguf_key(g, i);
        if (str_is(k, e->drop_key)) continue;
        if (str_is(k, e->u32_key)) gb_kv_u32(&b, e->u32_key, e->u32_val);
        else if (str_is(k, e->str_key)) gb_kv_str(&b, e->str_key, e->str_val);
        else {
            const void *raw;
            uint64_t len;
            assert_true(wisp_gguf__kv_raw(g, i, &raw, &len));
            gb_raw(&b, raw, (size_t)len);
        }
    }
    if (e->u32_key && !u32_seen) gb_kv_u32(&b, e->u32_key, e->u32_val);
    if (e->str_key && !str_seen) gb_kv_str(&b, e->str_key, e->str_val);

    uint64_t off = 0;
    size_t *new_size = calloc((size_t)n_t + 1, sizeof *new_size);
    for (int64_t i = 0; i < n_t; i++) {
        const wisp_gguf_tensor *t = wisp_gguf_tensor_at(g, i);
        if (str_is(t->name, e->drop_tensor)) continue;
        uint64_t ne[4] = {t->ne[0], t->ne[1], t->ne[2], t->ne[3]};
        uint32_t n_dims = t->n_dims, type = (uint32_t)t->type;
        if (str_is(t->name, e->shape_tensor)) {
            ne[0] = e->ne0;
            ne[1] = e->ne1;
            n_dims = 2;
        }
        if (str_is(t->name, e->type_tensor)) type = (uint32_t)e->type;
        new_size[i] = wisp_row_bytes((wisp_dtype)type, (size_t)ne[0]) * (size_t)(ne[1] * ne[2] * ne[3]);
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
        gb_tensor(&b, name, n_dims, ne, type, off);
        off += (new_size[i] + 31) / 32 * 32;
    }
    gb_pad(&b, 32);
    for (int64_t i = 0; i < n_t; i++) {
        const wisp_gguf_tensor *t = wisp_gguf_tensor_at(g, i);
        if (str_is(t->name, e->drop_tensor)) continue;
        bool same = !str_is(t->name, e->shape_tensor) && !str_is(t->name, e->type_tensor);
        size_t start = b.len;
        if (same) gb_raw(&b, t->data, (size_t)t->size);
        else
            while (b.len < start + new_size[i]) gb_u8(&b, 0);
        gb_pad(&b, 32);
    }
    free(new_size);
    wisp_gguf_free(g);
    return b;
}

/* Asserts that the base file with `e` applied fails to load with `code` and `needle`. */
static void expect_model_fail(const edit *e, wisp_status code, const char *needle) {
    gb b = rewrite(e);
    wisp_error err;
    wisp_model *m = wisp_model_load(b.p, b.len, &err);
    if (m || err.code != code || !strstr(err.message, needle))
        print_error("expected %s with \"%s\", got %s: \"%s\"\n", wisp_status_name(code), needle,
                    m ? "success" : wisp_status_name(err.code), m ? "" : err.message);
    else if (getenv("WISP_TEST_VERBOSE"))
        print_message("%s: %s\n", wisp_status_name(err.code), err.message);
    assert_null(m);
    assert_int_equal(err.code, code);
    assert_non_null(strstr(err.message, needle));
    free(b.p);
}

/* The control: the base file, and an unchanged rewrite of it, load. */
static void test_base_loads(void **state) {
    wisp_error err;
    wisp_model *m = wisp_model_load(base_data, base_size, &err);
    if (!m) print_error("%s\n", err.message);
    assert_non_null(m);
    assert_int_equal(wisp_model_get_info(m)->n_layer, 2);
    wisp_model_free(m);
    edit none = {0};
    gb b = rewrite(&none);
    m = wisp_model_load(b.p, b.len, &err);
    if (!m) print_error("%s\n", err.message);
    assert_non_null(m);
    wisp_model_free(m);
    free(b.p);
}

static void test_missing_architecture(void **state) {
    edit e = {.drop_key = "general.architecture"};
    expect_model_fail(&e, WISP_ERR_BAD_MODEL, "general.architecture");
}

static void test_unknown_architecture(void **state) {
    edit e = {.str_key = "general.architecture", .str_val = "gpt9"};
    expect_model_fail(&e, WISP_ERR_UNSUPPORTED, "gpt9");
}

static void test_missing_hparam(void **state) {
    edit e = {.drop_key = "llama.block_count"};
    expect_model_fail(&e, WISP_ERR_BAD_MODEL, "llama.block_count");
}

static void test_absurd_hparam(void **state) {
    edit e = {.u32_key = "llama.attention.head_count", .u32_val = 0};
    expect_model_fail(&e, WISP_ERR_BAD_MODEL, "heads 0");
}

static void test_missing_tensor(void **state) {
    edit e = {.drop_tensor = "blk.1.ffn_down.weight"};
    expect_model_fail(&e, WISP_ERR_BAD_MODEL, "blk.1.ffn_down.weight");
}

static void test_missing_norm(void **state) {
    edit e = {.drop_tensor = "output_norm.weight"};
    expect_model_fail(&e, WISP_ERR_BAD_MODEL, "output_norm.weight");
}

static void test_wrong_shape(void **state) {
    edit e = {.shape_tensor = "blk.0.attn_q.weight", .ne0 = 32, .ne1 = 16};
    expect_model_fail(&e, WISP_ERR_BAD_MODEL, "blk.0.attn_q.weight");
}

static void test_unsupported_weight_type(void **state) {
    edit e = {.type_tensor = "blk.0.ffn_gate.weight", .type = WISP_DTYPE_Q4_K};
    /* 32 columns cannot even hold one 256-wide Q4_K block: the reader rejects the row first */
    gb b = rewrite(&e);
    wisp_error err;
    assert_null(wisp_model_load(b.p, b.len, &err));
    if (getenv("WISP_TEST_VERBOSE")) print_message("%s: %s\n", wisp_status_name(err.code), err.message);
    assert_true(err.code == WISP_ERR_BAD_MODEL || err.code == WISP_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "blk.0.ffn_gate.weight"));
    free(b.p);
}

static void test_vocab_size_mismatch(void **state) {
    edit e = {.u32_key = "llama.vocab_size", .u32_val = 999};
    expect_model_fail(&e, WISP_ERR_BAD_MODEL, "llama.vocab_size = 999");
}

static void test_embedding_rows_vs_vocabulary(void **state) {
    edit e = {.shape_tensor = "token_embd.weight", .ne0 = 32, .ne1 = 40};
    expect_model_fail(&e, WISP_ERR_TOKENIZER, "token_embd.weight has 40 rows");
}

static void test_missing_tokens(void **state) {
    edit e = {.drop_key = "tokenizer.ggml.tokens"};
    expect_model_fail(&e, WISP_ERR_TOKENIZER, "tokenizer.ggml.tokens");
}

static void test_missing_tokenizer_model(void **state) {
    edit e = {.drop_key = "tokenizer.ggml.model"};
    expect_model_fail(&e, WISP_ERR_TOKENIZER, "tokenizer.ggml.model");
}

static void test_unknown_tokenizer_model(void **state) {
    edit e = {.str_key = "tokenizer.ggml.model", .str_val = "wordpiece"};
    expect_model_fail(&e, WISP_ERR_UNSUPPORTED, "wordpiece");
}

static void test_eos_outside_vocabulary(void **state) {
    edit e = {.u32_key = "tokenizer.ggml.eos_token_id", .u32_val = 100000};
    expect_model_fail(&e, WISP_ERR_TOKENIZER, "tokenizer.ggml.eos_token_id");
}

static void test_fim_id_outside_vocabulary(void **state) {
    edit e = {.u32_key = "tokenizer.ggml.fim_mid_token_id", .u32_val = 70000};
    expect_model_fail(&e, WISP_ERR_TOKENIZER, "tokenizer.ggml.fim_mid_token_id");
}

static void test_no_end_token(void **state) {
    edit e = {.drop_key = "tokenizer.ggml.eos_token_id"};
    gb b = rewrite(&e);
    wisp_error err;
    wisp_model *m = wisp_model_load(b.p, b.len, &err);
    /* a vocabulary may still name its end token by text (<|endoftext|>); either it is found, or
     * the load fails saying there is no end-of-sequence token */
    if (!m) {
        assert_int_equal(err.code, WISP_ERR_TOKENIZER);
        assert_non_null(strstr(err.message, "end-of-sequence"));
    } else {
        assert_true(wisp_tokenizer_special(wisp_model_tokenizer(m), WISP_SPECIAL_EOS) != WISP_NO_TOKEN ||
                    wisp_tokenizer_special(wisp_model_tokenizer(m), WISP_SPECIAL_EOT) != WISP_NO_TOKEN);
        wisp_model_free(m);
    }
    free(b.p);
}

static void test_unknown_pretokenizer(void **state) {
    edit e = {.str_key = "tokenizer.ggml.pre", .str_val = "klingon"};
    expect_model_fail(&e, WISP_ERR_UNSUPPORTED, "klingon");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_loads),
        cmocka_unit_test(test_missing_architecture),
        cmocka_unit_test(test_unknown_architecture),
        cmocka_unit_test(test_missing_hparam),
        cmocka_unit_test(test_absurd_hparam),
        cmocka_unit_test(test_missing_tensor),
        cmocka_unit_test(test_missing_norm),
        cmocka_unit_test(test_wrong_shape),
        cmocka_unit_test(test_unsupported_weight_type),
        cmocka_unit_test(test_vocab_size_mismatch),
        cmocka_unit_test(test_embedding_rows_vs_vocabulary),
        cmocka_unit_test(test_missing_tokens),
        cmocka_unit_test(test_missing_tokenizer_model),
        cmocka_unit_test(test_unknown_tokenizer_model),
        cmocka_unit_test(test_eos_outside_vocabulary),
        cmocka_unit_test(test_fim_id_outside_vocabulary),
        cmocka_unit_test(test_no_end_token),
        cmocka_unit_test(test_unknown_pretokenizer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
