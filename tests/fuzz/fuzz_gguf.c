/*
 * libFuzzer target for the GGUF reader: any bytes -> wisp_gguf_open, then every key and tensor
 * is walked through every getter (ASan catches any read outside the buffer), lookups by name must
 * find what the index says, and a file that opens must quantize (or dequantize) to a file that
 * opens again, and reorder (wisp_gguf_reorder) to a file that reorders to itself. The first bytes,
 * as a model still arriving (wisp_model_load_partial, in a buffer of exactly their size), must
 * never be read past, evaluation included (seeds: a tiny llama model in arrival order, whole and
 * with 13/16 of it present).
 * Build with scripts/fuzz.sh; crashes and broken invariants abort (__builtin_trap).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wisp.h"

#define FUZZ_CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* A NUL-terminated copy of a file string, or NULL when it holds a NUL (not findable by name). */
static char *fuzz__cstr(wisp_str s) {
    if (memchr(s.ptr, 0, s.len)) return NULL;
    char *c = malloc(s.len + 1);
    FUZZ_CHECK(c);
    memcpy(c, s.ptr, s.len);
    c[s.len] = 0;
    return c;
}

static void fuzz__walk_kv(const wisp_gguf *g, int64_t i) {
    wisp_str key = wisp_gguf_key(g, i);
    char *k = fuzz__cstr(key);
    if (k) FUZZ_CHECK(wisp_gguf_find(g, k) == i); /* duplicates are rejected at open */
    wisp_gguf_type t = wisp_gguf_kv_type(g, i);
    uint64_t n = wisp_gguf_arr_len(g, i);
    volatile uint64_t sink = 0;
    if (t == WISP_GGUF_ARRAY) {
        uint64_t js[4] = {0, 1, n / 2, n ? n - 1 : 0};
        for (int m = 0; m < 4; m++) {
            wisp_str s;
            int64_t iv;
            double dv;
            if (wisp_gguf_arr_str(g, i, js[m], &s)) {
                FUZZ_CHECK(js[m] < n);
                for (uint64_t b = 0; b < s.len; b++) sink += (uint8_t)s.ptr[b];
            }
            if (wisp_gguf_arr_i64(g, i, js[m], &iv)) sink += (uint64_t)iv;
            if (wisp_gguf_arr_f64(g, i, js[m], &dv)) sink += dv == dv;
        }
        wisp_str s;
        FUZZ_CHECK(!wisp_gguf_arr_str(g, i, n, &s));
    } else if (k) {
        uint32_t u;
        int64_t iv;
        float f;
        bool bv;
        wisp_str s;
        double dv;
        if (wisp_gguf_get_u32(g, k, &u)) sink += u;
        if (wisp_gguf_get_i64(g, k, &iv)) sink += (uint64_t)iv;
        if (wisp_gguf_get_f32(g, k, &f)) sink += f == f;
        if (wisp_gguf_get_bool(g, k, &bv)) sink += bv;
        if (wisp_gguf_get_str(g, k, &s))
            for (uint64_t b = 0; b < s.len; b++) sink += (uint8_t)s.ptr[b];
        if (wisp_gguf_scalar_f64(g, i, &dv)) sink += dv == dv;
    }
    (void)sink;
    free(k);
}

static void fuzz__walk_tensor(const wisp_gguf *g, int64_t i, const uint8_t *data, size_t size) {
    const wisp_gguf_tensor *t = wisp_gguf_tensor_at(g, i);
    FUZZ_CHECK(t && wisp_dtype_name(t->type));
    FUZZ_CHECK(t->n_dims >= 1 && t->n_dims <= 4);
    if (t->size) {
        const uint8_t *p = t->data;
        FUZZ_CHECK(p >= data && p + t->size <= data + size);
        volatile uint8_t first = p[0], last = p[t->size - 1];
        (void)first, (void)last;
    }
    char *name = fuzz__cstr(t->name);
    if (name) FUZZ_CHECK(wisp_gguf_tensor_find(g, name) == t);
    free(name);
}

/* A file still arriving: only its first n bytes are present (n from 9/16 of the file to all of
 * it, by its last byte), in a buffer of exactly that size (ASan catches a read of any byte past
 * it); whatever loads never reads there, evaluating included. */
static void fuzz__partial(const uint8_t *data, size_t size) {
    if (size == 0) return;
    size_t n = size - size * (data[size - 1] % 8) / 16;
    uint8_t *half = malloc(n);
    FUZZ_CHECK(half);
    memcpy(half, data, n);
    wisp_error err;
    wisp_model *m = wisp_model_load_partial(half, size, n, &err);
    if (m) {
        FUZZ_CHECK(wisp_model_layers_ready(m) <= wisp_model_get_info(m)->n_layer);
        wisp_ctx_params cp = {.n_ctx = 8, .n_batch = 4};
        wisp_ctx *c = wisp_ctx_new(m, &cp, &err);
        int32_t toks[2] = {0, 0};
        if (c && wisp_ctx_depth(c) > 0) FUZZ_CHECK(wisp_ctx_eval(c, toks, 2, NULL, &err) == WISP_OK);
        else if (c) FUZZ_CHECK(wisp_ctx_eval(c, toks, 2, NULL, &err) == WISP_ERR_LOADING);
        wisp_ctx_free(c);
        wisp_model_free(m);
    } else {
        FUZZ_CHECK(err.code != WISP_OK && err.message[0]);
    }
    free(half);
}

/* Whatever opens reorders, and the result reorders to itself byte for byte. */
static void fuzz__reorder(const uint8_t *data, size_t size) {
    wisp_error err;
    size_t n1, n2;
    void *a = wisp_gguf_reorder(data, size, &n1, &err);
    if (!a) {
        FUZZ_CHECK(err.code == WISP_ERR_NO_MEMORY);
        return;
    }
    void *b = wisp_gguf_reorder(a, n1, &n2, &err);
    FUZZ_CHECK(b && n2 == n1 && !memcmp(a, b, n1));
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz__partial(data, size);
    wisp_error err;
    wisp_gguf *g = wisp_gguf_open(data, size, &err);
    if (!g) {
        FUZZ_CHECK(err.code != WISP_OK && err.message[0]);
        FUZZ_CHECK(memchr(err.message, 0, sizeof err.message));
        return 0;
    }
    for (int64_t i = 0; i < wisp_gguf_n_kv(g); i++) fuzz__walk_kv(g, i);
    for (int64_t i = 0; i < wisp_gguf_n_tensors(g); i++) fuzz__walk_tensor(g, i, data, size);
    FUZZ_CHECK(!wisp_gguf_tensor_at(g, wisp_gguf_n_tensors(g)));
    wisp_gguf_free(g);
    fuzz__reorder(data, size);

    /* whatever opens must quantize, and the result must open again */
    size_t out_size;
    static const wisp_dtype targets[] = {WISP_DTYPE_Q8_0, WISP_DTYPE_Q4_0, WISP_DTYPE_F32};
    wisp_dtype target = targets[size % 3]; /* F32 dequantizes (Q4_K / Q6_K included) */
    void *out = wisp_quantize_gguf(data, size, target, &out_size, &err);
    if (out) {
        wisp_gguf *q = wisp_gguf_open(out, out_size, &err);
        FUZZ_CHECK(q);
        wisp_gguf_free(q);
        free(out);
    } else {
        FUZZ_CHECK(err.code == WISP_ERR_NO_MEMORY);
    }
    return 0;
}
