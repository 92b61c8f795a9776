/*
 * Progressive loading (issue 11, engine side): the early exit (wisp_ctx_set_depth, the
 * `wisp.early_exit.block_count` key), the cache's per-layer fill when the depth changes, a model
 * over a buffer that is still arriving (wisp_model_load_partial: bytes past n_avail are made
 * unreadable, so a read of one crashes the test), the same model and context running deeper as
 * parts land, the engine on top of it, and wisp_gguf_reorder (tensor data in arrival order, every
 * tensor's bytes kept, idempotent). Uses fixtures/reference/ (trained: 4 blocks, F16, GQA; llama;
 * qwen2 with biases) and, for the reorder, the shipped model.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctx.h"
#include "gguf.h"
#include "read_file.h"
#include "wisp_grammar.h"

#define TRAINED "fixtures/reference/trained.gguf"
static const char *PROMPT = "def fibonacci(n):\n    if n < 2:\n        return n\n    return fib";

/* ---- helpers ---------------------------------------------------------------------------------- */

static uint8_t *read_all(const char *path, size_t *size) {
    uint8_t *p = (uint8_t *)wisp_read_file(path, size);
    if (!p) fail_msg("cannot read %s", path);
    return p;
}

static wisp_model *load(const void *data, size_t size) {
    wisp_error err;
    wisp_model *m = wisp_model_load(data, size, &err);
    if (!m) fail_msg("load: %s", err.message);
    return m;
}

static wisp_ctx *new_ctx(const wisp_model *m) {
    wisp_ctx_params cp = {.n_ctx = 128, .n_batch = 16};
    wisp_error err;
    wisp_ctx *c = wisp_ctx_new(m, &cp, &err);
    if (!c) fail_msg("ctx: %s", err.message);
    return c;
}

static size_t tokenize(const wisp_model *m, const char *text, int32_t *out, size_t cap) {
    wisp_error err;
    int64_t n = wisp_tokenize(wisp_model_tokenizer(m), text, strlen(text), false, out, cap, &err);
    assert_true(n > 0 && (size_t)n <= cap);
    return (size_t)n;
}

/* Evaluates `toks` and returns a copy of the logits (caller frees). */
static float *eval_copy(wisp_ctx *c, const int32_t *toks, size_t n, size_t *reused) {
    wisp_error err;
    if (wisp_ctx_eval(c, toks, n, reused, &err) != WISP_OK) fail_msg("eval: %s", err.message);
    size_t nv = wisp_model_get_info(c->model)->n_vocab;
    float *l = malloc(nv * sizeof *l);
    memcpy(l, wisp_ctx_logits(c), nv * sizeof *l);
    return l;
}

static double max_rel(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(fabs((double)a[i] - b[i]) <= num)) num = fabs((double)a[i] - b[i]); /* NaN counts */
        if (fabs(b[i]) > den) den = fabs(b[i]);
    }
    return num / den;
}

/* Where the tensor table ends (the header and metadata and the table, unpadded). */
static size_t table_end(const wisp_gguf *g, const uint8_t *base) {
    const void *raw;
    uint64_t len;
    assert_true(wisp_gguf__kv_raw(g, wisp_gguf_n_kv(g) - 1, &raw, &len));
    size_t at = (size_t)((const uint8_t *)raw - base + len);
    for (int64_t i = 0; i < wisp_gguf_n_tensors(g); i++) {
        const wisp_gguf_tensor *t = wisp_gguf_tensor_at(g, i);
        at += 8 + t->name.len + 4 + 8 * t->n_dims + 4 + 8;
    }
    return at;
}

/* A copy of the GGUF file `in` with one more metadata record (key, type and value bytes) after
 * the others; the tensor table and data follow unchanged (offsets are relative to the data
 * section, which starts at the next multiple of the alignment). */
static uint8_t *with_key(const uint8_t *in, size_t size, const char *key, uint32_t type, const void *val,
                         size_t val_len, size_t *out_size) {
    wisp_error err;
    wisp_gguf *g = wisp_gguf_open(in, size, &err);
    assert_non_null(g);
    const void *raw;
    uint64_t len;
    wisp_gguf__kv_raw(g, wisp_gguf_n_kv(g) - 1, &raw, &len);
    size_t kv_end = (size_t)((const uint8_t *)raw - in + len), t_end = table_end(g, in);
    size_t data_off = (size_t)wisp_gguf__data_offset(g), align = (size_t)wisp_gguf_alignment(g);
    size_t rec = 8 + strlen(key) + 4 + val_len;
    size_t new_data = (t_end + rec + align - 1) / align * align;
    *out_size = new_data + (size - data_off);
    uint8_t *out = calloc(1, *out_size);
    memcpy(out, in, kv_end);
    uint64_t n_kv = (uint64_t)wisp_gguf_n_kv(g) + 1, klen = strlen(key);
    memcpy(out + 16, &n_kv, 8);
    memcpy(out + kv_end, &klen, 8);
    memcpy(out + kv_end + 8, key, klen);
    memcpy(out + kv_end + 8 + klen, &type, 4);
    memcpy(out + kv_end + 12 + klen, val, val_len);
    memcpy(out + kv_end + rec, in + kv_end, t_end - kv_end);
    memcpy(out + new_data, in + data_off, size - data_off);
    wisp_gguf_free(g);
    return out;
}

/* A buffer for a file that arrives piece by piece: `size` bytes in pages of their own; the
 * bytes past what has arrived hold 0xff (NaN in f16/f32) and every page wholly past it is
 * unreadable, so the engine reading a byte it must not crashes or poisons the logits. */
typedef struct arriving {
    uint8_t *buf;
    size_t size, cap, n_avail;
    const uint8_t *file;
} arriving;

static void arriving_set(arriving *a, size_t n_avail) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    assert_int_equal(mprotect(a->buf, a->cap, PROT_READ | PROT_WRITE), 0);
    memcpy(a->buf, a->file, n_avail);
    memset(a->buf + n_avail, 0xff, a->cap - n_avail);
    size_t from = (n_avail + page - 1) / page * page;
    if (from < a->cap) assert_int_equal(mprotect(a->buf + from, a->cap - from, PROT_NONE), 0);
    a->n_avail = n_avail;
}

static void arriving_new(arriving *a, const uint8_t *file, size_t size, size_t n_avail) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    a->file = file;
    a->size = size;
    a->cap = (size + page - 1) / page * page;
    a->buf = mmap(NULL, a->cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(a->buf != MAP_FAILED);
    arriving_set(a, n_avail);
}

static void arriving_free(arriving *a) { munmap(a->buf, a->cap); }

static uint8_t *reordered(const char *path, size_t *size) {
    size_t n;
    uint8_t *in = read_all(path, &n);
    wisp_error err;
    uint8_t *out = wisp_gguf_reorder(in, n, size, &err);
    if (!out) fail_msg("reorder %s: %s", path, err.message);
    free(in);
    return out;
}

/* ---- early exit ------------------------------------------------------------------------------- */

/* wisp.early_exit.block_count becomes exit_layers; absent is 0; a value not below the block
 * count, or not an integer, is a bad model. */
static void test_exit_key(void **state) {
    (void)state;
    size_t n, n2;
    uint8_t *in = read_all(TRAINED, &n);
    wisp_model *m = load(in, n);
    assert_int_equal(wisp_model_get_info(m)->exit_layers, 0);
    wisp_model_free(m);
    uint32_t k = 2;
    uint8_t *two = with_key(in, n, "wisp.early_exit.block_count", WISP_GGUF_UINT32, &k, 4, &n2);
    m = load(two, n2);
    assert_int_equal(wisp_model_get_info(m)->exit_layers, 2);
    wisp_model_free(m);
    free(two);
    k = 4;
    uint8_t *four = with_key(in, n, "wisp.early_exit.block_count", WISP_GGUF_UINT32, &k, 4, &n2);
    wisp_error err;
    assert_null(wisp_model_load(four, n2, &err));
    assert_int_equal(err.code, WISP_ERR_BAD_MODEL);
    assert_non_null(strstr(err.message, "wisp.early_exit.block_count"));
    free(four);
    uint8_t sval[9] = {1, 0, 0, 0, 0, 0, 0, 0, '2'};
    uint8_t *str = with_key(in, n, "wisp.early_exit.block_count", WISP_GGUF_STRING, sval, 9, &n2);
    assert_null(wisp_model_load(str, n2, &err));
    assert_int_equal(err.code, WISP_ERR_BAD_MODEL);
    free(str);
    free(in);
}

/* At depth K the logits are those of the first K blocks; going deeper recomputes what a
 * shallower pass left out (nothing is reused), going shallower reuses everything, and the full
 * depth after a shallow pass gives exactly a fresh context's logits. */
static void test_depth_and_cache(void **state) {
    (void)state;
    size_t n;
    uint8_t *data = read_all(TRAINED, &n);
    wisp_model *m = load(data, n);
    const size_t nv = wisp_model_get_info(m)->n_vocab;
    int32_t toks[128];
    size_t nt = tokenize(m, PROMPT, toks, 128);
    wisp_error err;
    wisp_ctx *c = new_ctx(m), *ref_full = new_ctx(m), *ref_2 = new_ctx(m);
    assert_int_equal(wisp_ctx_set_depth(c, 5, &err), WISP_ERR_RANGE);
    assert_int_equal(wisp_ctx_set_depth(ref_2, 2, &err), WISP_OK);
    assert_int_equal(wisp_ctx_depth(ref_2), 2);
    assert_int_equal(wisp_ctx_depth(ref_full), 4);
    float *full = eval_copy(ref_full, toks, nt, NULL), *d2 = eval_copy(ref_2, toks, nt, NULL);
    assert_true(max_rel(d2, full, nv) > 1e-2); /* two blocks are not four */

    size_t reused;
    assert_int_equal(wisp_ctx_set_depth(c, 2, &err), WISP_OK);
    float *a = eval_copy(c, toks, nt, &reused);
    assert_int_equal(reused, 0);
    assert_memory_equal(a, d2, nv * sizeof(float));
    assert_int_equal(c->kv_fill[1], nt);
    assert_int_equal(c->kv_fill[2], 0);
    assert_int_equal(wisp_ctx_set_depth(c, 0, &err), WISP_OK);
    float *b = eval_copy(c, toks, nt, &reused);
    assert_int_equal(reused, 0); /* blocks 2 and 3 held nothing */
    assert_memory_equal(b, full, nv * sizeof(float));
    assert_int_equal(wisp_ctx_set_depth(c, 2, &err), WISP_OK);
    float *d = eval_copy(c, toks, nt, &reused);
    assert_int_equal(reused, nt - 1); /* the first two blocks hold everything */
    assert_true(max_rel(d, d2, nv) < 1e-5);
    /* a shallow pass over the last token leaves the deeper layers one short */
    assert_int_equal(c->kv_fill[3], nt - 1);
    assert_int_equal(wisp_ctx_set_depth(c, 0, &err), WISP_OK);
    float *e = eval_copy(c, toks, nt, &reused);
    assert_int_equal(reused, nt - 1);
    assert_true(max_rel(e, full, nv) < 1e-5);
    free(a), free(b), free(d), free(e), free(full), free(d2);

    /* generation: plain greedy at full depth after a shallow generation is a fresh one's */
    wisp_gen_params gp = {.max_tokens = 16};
    wisp_gen_result r;
    char want[64];
    assert_int_equal(wisp_ctx_generate(ref_full, toks, nt, &gp, &r, &err), WISP_OK);
    memcpy(want, r.text, r.text_len + 1);
    assert_int_equal(wisp_ctx_set_depth(c, 1, &err), WISP_OK);
    assert_int_equal(wisp_ctx_generate(c, toks, nt, &gp, &r, &err), WISP_OK);
    assert_int_equal(wisp_ctx_set_depth(c, 0, &err), WISP_OK);
    assert_int_equal(wisp_ctx_generate(c, toks, nt, &gp, &r, &err), WISP_OK);
    assert_string_equal(r.text, want);
    wisp_ctx_free(c);
    wisp_ctx_free(ref_full);
    wisp_ctx_free(ref_2);
    wisp_model_free(m);
    free(data);
}

/* ---- partial models --------------------------------------------------------------------------- */

/* The model arrives part by part (a reordered file); one context sees it run deeper at each
 * part, with the logits of the complete model at that depth, and never reads a byte that has
 * not arrived. With an exit, the partial depth is the exit once that many blocks are ready. */
static void check_arrival(const uint8_t *file, size_t size, uint32_t exit) {
    wisp_model *whole = load(file, size);
    const wisp_model_info *I = wisp_model_get_info(whole);
    assert_int_equal(I->exit_layers, exit);
    const size_t nv = I->n_vocab;
    int32_t toks[128];
    size_t nt = tokenize(whole, PROMPT, toks, 128);
    wisp_error err;

    arriving a;
    arriving_new(&a, file, size, 24);
    assert_null(wisp_model_load_partial(a.buf, size, 24, &err));
    assert_int_equal(err.code, WISP_ERR_LOADING); /* the header has not arrived */
    assert_non_null(strstr(err.message, "still loading"));
    size_t head = wisp_model_bytes_needed(whole, 0);
    arriving_set(&a, head - 1);
    wisp_model *m = wisp_model_load_partial(a.buf, size, a.n_avail, &err);
    if (!m) fail_msg("partial load: %s", err.message);
    assert_int_equal(wisp_model_layers_ready(m), 0);
    assert_false(wisp_model_is_complete(m));
    wisp_ctx *c = new_ctx(m);
    assert_int_equal(wisp_ctx_depth(c), 0);
    assert_int_equal(wisp_ctx_eval(c, toks, nt, NULL, &err), WISP_ERR_LOADING);
    assert_non_null(strstr(err.message, "model still loading"));
    assert_int_equal(wisp_model_set_available(m, a.n_avail - 1, &err), WISP_ERR_INVALID_ARG);
    assert_int_equal(wisp_model_set_available(m, size + 1, &err), WISP_ERR_INVALID_ARG);

    for (uint32_t k = 0; k <= I->n_layer; k++) {
        size_t need = k == I->n_layer ? size : wisp_model_bytes_needed(whole, k);
        arriving_set(&a, need);
        assert_int_equal(wisp_model_set_available(m, need, &err), WISP_OK);
        assert_int_equal(wisp_model_layers_ready(m), k);
        /* with a trained exit, nothing before its blocks are in, then the exit */
        uint32_t depth = k == 0 ? 0 : k == I->n_layer ? k : !exit ? k : exit <= k ? exit : 0;
        if (depth == 0 && k > 0) {
            assert_int_equal(wisp_ctx_eval(c, toks, nt, NULL, &err), WISP_ERR_LOADING);
            assert_non_null(strstr(err.message, "the early exit answers from the first"));
        }
        assert_int_equal(wisp_ctx_depth(c), depth);
        if (depth == 0) continue;
        wisp_ctx *ref = new_ctx(whole);
        assert_int_equal(wisp_ctx_set_depth(ref, depth, &err), WISP_OK);
        float *want = eval_copy(ref, toks, nt, NULL), *got = eval_copy(c, toks, nt, NULL);
        assert_true(max_rel(got, want, nv) < 1e-5);
        free(want);
        free(got);
        wisp_ctx_free(ref);
    }
    assert_true(wisp_model_is_complete(m));
    wisp_ctx_free(c);
    wisp_model_free(m);
    wisp_model_free(whole);
    arriving_free(&a);
}

static void test_partial_model(void **state) {
    (void)state;
    const char *paths[] = {TRAINED, "fixtures/reference/llama.gguf", "fixtures/reference/qwen2.gguf"};
    for (size_t i = 0; i < 3; i++) {
        size_t n;
        uint8_t *file = reordered(paths[i], &n);
        check_arrival(file, n, 0);
        free(file);
    }
    size_t n, n2;
    uint8_t *file = reordered(TRAINED, &n);
    uint32_t k = 2;
    uint8_t *with_exit = with_key(file, n, "wisp.early_exit.block_count", WISP_GGUF_UINT32, &k, 4, &n2);
    check_arrival(with_exit, n2, 2);
    free(with_exit);
    free(file);
}

/* In the file's own order (output_norm last), nothing is ready before the end; a hostile file is
 * as bad partial as whole. */
static void test_partial_bounds(void **state) {
    (void)state;
    size_t n;
    uint8_t *file = read_all(TRAINED, &n);
    wisp_error err;
    assert_null(wisp_model_load_partial(file, n, n + 1, &err));
    assert_int_equal(err.code, WISP_ERR_INVALID_ARG);
    wisp_model *m = wisp_model_load_partial(file, n, n - 1, &err);
    assert_non_null(m);
    assert_int_equal(wisp_model_layers_ready(m), 0);
    assert_int_equal(wisp_model_set_available(m, n, &err), WISP_OK);
    assert_int_equal(wisp_model_layers_ready(m), 4);
    assert_true(wisp_model_is_complete(m));
    wisp_model_free(m);
    /* a tensor whose data runs past the file: the file is bad whatever has arrived */
    wisp_gguf *g = wisp_gguf_open(file, n, &err);
    size_t t_end = table_end(g, file);
    wisp_gguf_free(g);
    uint64_t far = (uint64_t)1 << 40;
    memcpy(file + t_end - 8, &far, 8); /* the last tensor's offset */
    assert_null(wisp_model_load_partial(file, n, t_end, &err));
    assert_int_equal(err.code, WISP_ERR_BAD_MODEL);
    /* a string length past the file is bad too, not "still loading" */
    uint64_t huge = (uint64_t)n;
    memcpy(file + 24, &huge, 8); /* the first key's length */
    assert_null(wisp_model_load_partial(file, n, 64, &err));
    assert_int_equal(err.code, WISP_ERR_BAD_MODEL);
    free(file);
}

/* The engine on a partial model: a completion fails with "still loading" until the trained exit's
 * blocks are in, then answers from the exit, then from the whole model as a fresh engine does;
 * the document stays open. */
static void test_engine_partial(void **state) {
    (void)state;
    size_t n;
    uint8_t *file = reordered("models/wisp-default.gguf", &n);
    wisp_model *whole = load(file, n);
    const uint32_t n_layer = wisp_model_get_info(whole)->n_layer, exit = wisp_model_get_info(whole)->exit_layers;
    assert_true(exit >= 2 && exit < n_layer); /* the shipped model has a trained exit */
    const size_t head = wisp_model_bytes_needed(whole, 0), two = wisp_model_bytes_needed(whole, 2),
                 at_exit = wisp_model_bytes_needed(whole, exit);
    wisp_model_free(whole);
    static const char src[] = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return ";
    wisp_error err;
    arriving a;
    arriving_new(&a, file, n, head);
    wisp_engine_params ep = {.n_ctx = 512, .n_avail = head};
    wisp_engine *e = wisp_engine_new(a.buf, n, &ep, &err);
    if (!e) fail_msg("engine: %s", err.message);
    wisp_doc *doc = wisp_doc_open(wisp_engine_docs(e), "a.py", WISP_LANG_PYTHON, src, sizeof src - 1, &err);
    assert_non_null(doc);
    wisp_complete_params p = wisp_complete_default_params();
    p.max_tokens = 8;
    wisp_completion out;
    assert_int_equal(wisp_complete(e, doc, sizeof src - 1, &p, &out, &err), WISP_ERR_LOADING);
    /* two blocks are in, but the exit is deeper: still loading (untrained depths answer noise) */
    arriving_set(&a, two);
    assert_int_equal(wisp_engine_set_available(e, two, &err), WISP_OK);
    assert_int_equal(wisp_ctx_depth(wisp_engine_ctx(e)), 0);
    assert_int_equal(wisp_complete(e, doc, sizeof src - 1, &p, &out, &err), WISP_ERR_LOADING);
    assert_non_null(strstr(err.message, "early exit"));
    arriving_set(&a, at_exit);
    assert_int_equal(wisp_engine_set_available(e, at_exit, &err), WISP_OK);
    assert_int_equal(wisp_ctx_depth(wisp_engine_ctx(e)), exit);
    assert_int_equal(wisp_complete(e, doc, sizeof src - 1, &p, &out, &err), WISP_OK);
    arriving_set(&a, n);
    assert_int_equal(wisp_engine_set_available(e, n, &err), WISP_OK);
    assert_int_equal(wisp_ctx_depth(wisp_engine_ctx(e)), n_layer);
    assert_int_equal(wisp_complete(e, doc, sizeof src - 1, &p, &out, &err), WISP_OK);
    char *got = out.n_candidates ? strdup(out.candidates[0].text) : strdup("");

    wisp_engine *fresh = wisp_engine_new(file, n, &(wisp_engine_params){.n_ctx = 512}, &err);
    wisp_doc *d2 = wisp_doc_open(wisp_engine_docs(fresh), "a.py", WISP_LANG_PYTHON, src, sizeof src - 1, &err);
    assert_int_equal(wisp_complete(fresh, d2, sizeof src - 1, &p, &out, &err), WISP_OK);
    assert_string_equal(got, out.n_candidates ? out.candidates[0].text : "");
    free(got);
    wisp_engine_free(fresh);
    wisp_engine_free(e);
    arriving_free(&a);
    free(file);
}

/* ---- arrival order ---------------------------------------------------------------------------- */

/* Rank of a tensor name in arrival order (as wisp_gguf_reorder documents it). */
static long arrival_rank(wisp_str s) {
    if (s.len == 17 && !memcmp(s.ptr, "token_embd.weight", 17)) return 0;
    if (s.len == 18 && !memcmp(s.ptr, "output_norm.weight", 18)) return 1;
    if (s.len == 13 && !memcmp(s.ptr, "output.weight", 13)) return 2;
    if (s.len > 4 && !memcmp(s.ptr, "blk.", 4)) return 4 + strtol(s.ptr + 4, NULL, 10);
    return 3;
}

/* The reordered file has the input's metadata and tensors (names, types, shapes, bytes), its data
 * in arrival order at aligned offsets, the same logits, and reorders to itself. */
static void check_reorder(const char *path) {
    size_t n, n2, n3;
    uint8_t *in = read_all(path, &n);
    wisp_error err;
    uint8_t *out = wisp_gguf_reorder(in, n, &n2, &err);
    if (!out) fail_msg("%s: %s", path, err.message);
    wisp_gguf *a = wisp_gguf_open(in, n, &err), *b = wisp_gguf_open(out, n2, &err);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(wisp_gguf_n_kv(a), wisp_gguf_n_kv(b));
    assert_int_equal(wisp_gguf_alignment(a), wisp_gguf_alignment(b));
    for (int64_t i = 0; i < wisp_gguf_n_kv(a); i++) {
        const void *ra, *rb;
        uint64_t la, lb;
        wisp_gguf__kv_raw(a, i, &ra, &la);
        wisp_gguf__kv_raw(b, i, &rb, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(ra, rb, la);
    }
    assert_int_equal(wisp_gguf_n_tensors(a), wisp_gguf_n_tensors(b));
    int64_t nt = wisp_gguf_n_tensors(a);
    for (int64_t i = 0; i < nt; i++) {
        const wisp_gguf_tensor *ta = wisp_gguf_tensor_at(a, i);
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)ta->name.len, ta->name.ptr);
        const wisp_gguf_tensor *tb = wisp_gguf_tensor_find(b, name);
        assert_non_null(tb);
        assert_int_equal(ta->type, tb->type);
        assert_int_equal(ta->n_dims, tb->n_dims);
        assert_memory_equal(ta->ne, tb->ne, sizeof ta->ne);
        assert_int_equal(ta->size, tb->size);
        assert_memory_equal(ta->data, tb->data, ta->size);
        assert_int_equal(tb->offset % wisp_gguf_alignment(b), 0);
        for (int64_t j = 0; j < nt; j++) { /* arrival order: a lower rank never comes later */
            const wisp_gguf_tensor *tj = wisp_gguf_tensor_at(b, j);
            if (arrival_rank(tj->name) < arrival_rank(tb->name)) assert_true(tj->offset < tb->offset);
        }
        if (i > 0) { /* the table in data order, each at the previous one's aligned end */
            const wisp_gguf_tensor *prev = wisp_gguf_tensor_at(b, i - 1), *cur = wisp_gguf_tensor_at(b, i);
            uint64_t al = wisp_gguf_alignment(b);
            assert_int_equal(cur->offset, prev->offset + (prev->size + al - 1) / al * al);
        }
    }
    uint8_t *again = wisp_gguf_reorder(out, n2, &n3, &err);
    assert_int_equal(n3, n2);
    assert_memory_equal(again, out, n2);

    wisp_model *ma = load(in, n), *mb = load(out, n2);
    wisp_ctx *ca = new_ctx(ma), *cb = new_ctx(mb);
    int32_t toks[128];
    size_t k = tokenize(ma, PROMPT, toks, 128);
    float *la = eval_copy(ca, toks, k, NULL), *lb = eval_copy(cb, toks, k, NULL);
    assert_memory_equal(la, lb, wisp_model_get_info(ma)->n_vocab * sizeof(float));
    free(la), free(lb);
    wisp_ctx_free(ca), wisp_ctx_free(cb);
    wisp_model_free(ma), wisp_model_free(mb);
    wisp_gguf_free(a), wisp_gguf_free(b);
    free(again), free(out), free(in);
}

static void test_reorder(void **state) {
    (void)state;
    check_reorder(TRAINED);
    check_reorder("fixtures/reference/llama.gguf");
    check_reorder("fixtures/reference/qwen2.gguf");
    check_reorder("models/wisp-default.gguf");
    wisp_error err;
    size_t n;
    static const uint8_t junk[32] = "GGUF";
    assert_null(wisp_gguf_reorder(junk, sizeof junk, &n, &err));
    assert_int_equal(err.code, WISP_ERR_UNSUPPORTED); /* version 0 */
    assert_null(wisp_gguf_reorder(NULL, 0, &n, &err));
    assert_int_equal(err.code, WISP_ERR_INVALID_ARG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_key),
        cmocka_unit_test(test_depth_and_cache),
        cmocka_unit_test(test_partial_model),
        cmocka_unit_test(test_partial_bounds),
        cmocka_unit_test(test_engine_partial),
        cmocka_unit_test(test_reorder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
