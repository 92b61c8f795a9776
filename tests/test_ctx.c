/*
 * The inference context: KV-cache prefix reuse (counted in tokens actually computed), argument
 * errors, and wisp_ctx_generate's stop rules and budgets. Uses the reference models of
 * fixtures/reference/: `trained` (a byte-level model of Python sources, so its output is text
 * with one byte per token) and the random `llama` (whose greedy output holds a control token).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctx.h"
#include "ref_file.h"
#include "wisp.h"

typedef struct fixture {
    uint8_t *data;
    size_t size;
    wisp_model *model;
    const wisp_tokenizer *tok;
} fixture;

static void fixture_load(fixture *f, const char *path) {
    f->data = (uint8_t *)wisp_read_file(path, &f->size);
    assert_non_null(f->data);
    wisp_error err;
    f->model = wisp_model_load(f->data, f->size, &err);
    if (!f->model) fail_msg("%s: %s", path, err.message);
    f->tok = wisp_model_tokenizer(f->model);
}

static void fixture_free(fixture *f) {
    wisp_model_free(f->model);
    free(f->data);
}

static wisp_ctx *new_ctx(const fixture *f, uint32_t n_ctx, uint32_t n_batch) {
    wisp_ctx_params cp = {.n_ctx = n_ctx, .n_batch = n_batch};
    wisp_error err;
    wisp_ctx *c = wisp_ctx_new(f->model, &cp, &err);
    if (!c) fail_msg("wisp_ctx_new: %s", err.message);
    return c;
}

/* Tokenizes a string with the model's vocabulary; returns the count. */
static size_t tokenize(const fixture *f, const char *text, int32_t *out, size_t cap) {
    wisp_error err;
    int64_t n = wisp_tokenize(f->tok, text, strlen(text), false, out, cap, &err);
    if (n < 0) fail_msg("tokenize: %s", err.message);
    assert_true((size_t)n <= cap);
    return (size_t)n;
}

static const char *PROMPT =
    "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    if n < 2:\n"
    "        return n\n    return fib";

static double rel_err(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs((double)a[i] - b[i]) > num) num = fabs((double)a[i] - b[i]);
        if (fabs(b[i]) > den) den = fabs(b[i]);
    }
    return num / den;
}

/* A request that adds 3 tokens computes 3; the logits equal a fresh evaluation's. */
static void test_prefix_reuse(void **state) {
    fixture f;
    fixture_load(&f, "fixtures/reference/trained.gguf");
    const size_t n_vocab = wisp_model_get_info(f.model)->n_vocab;
    int32_t toks[256];
    size_t n = tokenize(&f, PROMPT, toks, 256);
    assert_true(n > 40);
    wisp_ctx *c = new_ctx(&f, 256, 16);
    wisp_error err;
    size_t reused = 99;
    uint64_t before = wisp_ctx__n_computed(c);
    assert_int_equal(wisp_ctx_eval(c, toks, n - 3, &reused, &err), WISP_OK);
    assert_int_equal(reused, 0);
    assert_int_equal(wisp_ctx__n_computed(c) - before, n - 3);

    before = wisp_ctx__n_computed(c);
    assert_int_equal(wisp_ctx_eval(c, toks, n, &reused, &err), WISP_OK);
    assert_int_equal(reused, n - 3);
    assert_int_equal(wisp_ctx__n_computed(c) - before, 3);
    float *incremental = malloc(n_vocab * sizeof(float));
    memcpy(incremental, wisp_ctx_logits(c), n_vocab * sizeof(float));

    wisp_ctx *fresh = new_ctx(&f, 256, 16);
    assert_int_equal(wisp_ctx_eval(fresh, toks, n, NULL, &err), WISP_OK);
    double e = rel_err(incremental, wisp_ctx_logits(fresh), n_vocab);
    assert_true(e < 1e-5); /* batches split differently: the kernels may sum in another order */
    fprintf(stderr, "prefix reuse: relative difference to a fresh eval %.3g\n", e);
    wisp_ctx_free(fresh);

    /* the same request again recomputes only the last token */
    before = wisp_ctx__n_computed(c);
    assert_int_equal(wisp_ctx_eval(c, toks, n, &reused, &err), WISP_OK);
    assert_int_equal(reused, n - 1);
    assert_int_equal(wisp_ctx__n_computed(c) - before, 1);
    assert_true(rel_err(wisp_ctx_logits(c), incremental, n_vocab) < 1e-6);

    /* an edit at token 10 keeps 10 and recomputes the rest */
    toks[10] = toks[10] == 'x' ? 'y' : 'x';
    before = wisp_ctx__n_computed(c);
    assert_int_equal(wisp_ctx_eval(c, toks, n, &reused, &err), WISP_OK);
    assert_int_equal(reused, 10);
    assert_int_equal(wisp_ctx__n_computed(c) - before, n - 10);

    /* a shorter request (a deletion) drops the tail */
    before = wisp_ctx__n_computed(c);
    assert_int_equal(wisp_ctx_eval(c, toks, 20, &reused, &err), WISP_OK);
    assert_int_equal(reused, 19);
    assert_int_equal(wisp_ctx__n_computed(c) - before, 1);
    size_t n_cached;
    const int32_t *cached = wisp_ctx_tokens(c, &n_cached);
    assert_int_equal(n_cached, 20);
    assert_memory_equal(cached, toks, 20 * sizeof(int32_t));

    free(incremental);
    wisp_ctx_free(c);
    fixture_free(&f);
}

/* Bad ids, too many tokens, no tokens: errors, and the cache is left as it was. */
static void test_eval_errors(void **state) {
    fixture f;
    fixture_load(&f, "fixtures/reference/trained.gguf");
    wisp_ctx *c = new_ctx(&f, 32, 8);
    wisp_error err;
    int32_t toks[40];
    for (int i = 0; i < 40; i++) toks[i] = 'a' + i % 26;
    assert_int_equal(wisp_ctx_eval(c, toks, 10, NULL, &err), WISP_OK);

    toks[5] = 600; /* n_vocab */
    assert_int_equal(wisp_ctx_eval(c, toks, 10, NULL, &err), WISP_ERR_RANGE);
    assert_non_null(strstr(err.message, "token 5: id 600"));
    toks[5] = -1;
    assert_int_equal(wisp_ctx_eval(c, toks, 10, NULL, &err), WISP_ERR_RANGE);
    toks[5] = 'f';
    assert_int_equal(wisp_ctx_eval(c, toks, 33, NULL, &err), WISP_ERR_CONTEXT_FULL);
    assert_non_null(strstr(err.message, "33 tokens do not fit in the 32-token context"));
    assert_int_equal(wisp_ctx_eval(c, toks, 0, NULL, &err), WISP_ERR_INVALID_ARG);
    assert_int_equal(wisp_ctx_eval(NULL, toks, 3, NULL, &err), WISP_ERR_INVALID_ARG);
    size_t n_cached;
    wisp_ctx_tokens(c, &n_cached);
    assert_int_equal(n_cached, 10);
    assert_non_null(wisp_ctx_logits(c));

    wisp_gen_result res;
    toks[0] = 1000;
    assert_int_equal(wisp_ctx_generate(c, toks, 3, NULL, &res, &err), WISP_ERR_RANGE);
    assert_int_equal(wisp_ctx_generate(c, toks, 0, NULL, &res, &err), WISP_ERR_INVALID_ARG);

    wisp_ctx_params big = {.n_ctx = 1u << 30};
    assert_null(wisp_ctx_new(f.model, &big, &err));
    assert_int_equal(err.code, WISP_ERR_INVALID_ARG);
    assert_null(wisp_ctx_new(NULL, NULL, &err));
    wisp_ctx *dflt = wisp_ctx_new(f.model, NULL, &err);
    assert_int_equal(wisp_ctx_n_ctx(dflt), 512); /* min(n_ctx_train = 512, 2048) */
    wisp_ctx_free(dflt);
    wisp_ctx_free(NULL);
    wisp_ctx_free(c);
    fixture_free(&f);
}

/* Greedy generation of `max` tokens with no stop rule but the budget: the reference text. */
static void generate_plain(wisp_ctx *c, const int32_t *p, size_t n, uint32_t max, char *text, size_t *len) {
    wisp_gen_params gp = {.max_tokens = max};
    wisp_gen_result res;
    wisp_error err;
    assert_int_equal(wisp_ctx_generate(c, p, n, &gp, &res, &err), WISP_OK);
    assert_int_equal(res.n_tokens, max);
    assert_int_equal(res.stop, WISP_STOP_MAX_TOKENS);
    assert_int_equal(strlen(res.text), res.text_len);
    memcpy(text, res.text, res.text_len + 1);
    *len = res.text_len;
}

/* Token healing: with bytes owed, the first tokens spell them out (possibly running past them),
 * and the answer is only what follows. Uses the shipped model: a real BPE vocabulary. */
static void test_token_healing(void **state) {
    fixture f;
    fixture_load(&f, "models/wisp-default.gguf");
    wisp_ctx *c = new_ctx(&f, 256, 16);
    static const char *prompt = "def fibonacci(n):\n    if n < 2:\n        return n\n    return ";
    static const char *owed[] = {"fib", "f", "fibonacci(n - ", " "};
    int32_t toks[256];
    size_t n = tokenize(&f, prompt, toks, 256);
    for (size_t k = 0; k < sizeof owed / sizeof owed[0]; k++) {
        /* every healing token spells at least one owed byte (empty and control tokens are masked),
         * so 20 tokens always pay the longest debt (14 bytes) and leave some answer */
        wisp_gen_params gp = {.max_tokens = 20, .heal = owed[k], .heal_len = strlen(owed[k])};
        wisp_gen_result res;
        wisp_error err;
        assert_int_equal(wisp_ctx_generate(c, toks, n, &gp, &res, &err), WISP_OK);
        char spelled[512] = {0};
        size_t sl = 0;
        for (size_t i = 0; i < res.n_tokens; i++) { /* the text leaves out control tokens */
            if (wisp_tokenizer_is_control(f.tok, res.tokens[i])) continue;
            wisp_str b = wisp_token_bytes(f.tok, res.tokens[i]);
            assert_true(sl + b.len < sizeof spelled);
            memcpy(spelled + sl, b.ptr, b.len);
            sl += b.len;
        }
        size_t hl = strlen(owed[k]);
        assert_true(sl >= hl);
        assert_memory_equal(spelled, owed[k], hl);
        assert_int_equal(res.text_len, strlen(res.text));
        if (res.stop == WISP_STOP_MAX_TOKENS) { /* no stop rule cut anything: exact split */
            assert_int_equal(res.text_len, sl - hl);
            assert_memory_equal(res.text, spelled + hl, res.text_len);
        }
    }
    wisp_ctx_free(c);
    fixture_free(&f);
}

/* non_empty with not_first: the answer never begins with a forbidden byte, with or without
 * healing, even where the model's own first choice is one. Shipped model: a real vocabulary. */
static void test_not_first(void **state) {
    fixture f;
    fixture_load(&f, "models/wisp-default.gguf");
    wisp_ctx *c = new_ctx(&f, 256, 16);
    static const char *prompts[] = {"int main(void) {\n    printf(\"%d\\n\", add(", "x = foo(", "items = ["};
    for (size_t k = 0; k < 2 * sizeof prompts / sizeof prompts[0]; k++) {
        int32_t toks[256];
        size_t n = tokenize(&f, prompts[k / 2], toks, 256);
        wisp_gen_params gp = {.max_tokens = 4, .non_empty = true};
        wisp_gen_result res;
        wisp_error err;
        assert_int_equal(wisp_ctx_generate(c, toks, n, &gp, &res, &err), WISP_OK);
        assert_true(res.text_len > 0);
        char banned[4] = {res.text[0], ')', ']', 0}; /* the model's own first byte among them */
        gp.not_first = banned;
        if (k % 2) { /* the prompt's last token re-spelled by the model, as wisp_complete heals */
            assert_true(n > 1);
            wisp_str last = wisp_token_bytes(f.tok, toks[--n]);
            gp.heal = last.ptr;
            gp.heal_len = (size_t)last.len;
        }
        assert_int_equal(wisp_ctx_generate(c, toks, n, &gp, &res, &err), WISP_OK);
        assert_true(res.text_len > 0);
        assert_null(strchr(banned, res.text[0]));
    }
    wisp_ctx_free(c);
    fixture_free(&f);
}

static void test_max_tokens(void **state) {
    fixture f;
    fixture_load(&f, "fixtures/reference/trained.gguf");
    wisp_ctx *c = new_ctx(&f, 256, 16);
    int32_t toks[256];
    size_t n = tokenize(&f, PROMPT, toks, 256);
    char text[256];
    size_t len;
    generate_plain(c, toks, n, 5, text, &len);
    assert_int_equal(len, 5); /* the trained model speaks in single bytes */
    generate_plain(c, toks, n, 1, text, &len);
    assert_int_equal(len, 1);
    /* the cache holds the prompt and the generated tokens but the last */
    size_t n_cached;
    wisp_ctx_tokens(c, &n_cached);
    assert_int_equal(n_cached, n);
    wisp_ctx_free(c);
    fixture_free(&f);
}

/* A stop string made of the last byte of one token and the first of the next is found and cut. */
static void test_stop_string_across_tokens(void **state) {
    fixture f;
    fixture_load(&f, "fixtures/reference/trained.gguf");
    wisp_ctx *c = new_ctx(&f, 256, 16);
    int32_t toks[256];
    size_t n = tokenize(&f, PROMPT, toks, 256);
    char full[256];
    size_t len;
    generate_plain(c, toks, n, 24, full, &len);
    assert_int_equal(len, 24);
    int tested = 0;
    for (size_t k = 1; k + 2 <= len && tested < 3; k++) {
        char stop[3] = {full[k], full[k + 1], 0};
        if (strstr(full, stop) != full + k) continue; /* its first occurrence must be here */
        const char *stops[1] = {stop};
        wisp_gen_params gp = {.max_tokens = 24, .stop_strings = stops, .n_stop_strings = 1};
        wisp_gen_result res;
        wisp_error err;
        assert_int_equal(wisp_ctx_generate(c, toks, n, &gp, &res, &err), WISP_OK);
        assert_int_equal(res.stop, WISP_STOP_STRING);
        assert_int_equal(res.text_len, k);
        assert_memory_equal(res.text, full, k);
        assert_int_equal(res.text[k], '\0');
        assert_int_equal(res.n_tokens, k + 2); /* the token that completed it was generated */
        tested++;
    }
    assert_int_equal(tested, 3);
    wisp_ctx_free(c);
    fixture_free(&f);
}

/* on_token: can stop generation, and never shows a tail that may still become a stop string. */
typedef struct cb_state {
    size_t calls, stop_after;
    size_t shown[64];
} cb_state;

static bool on_token(void *user, int32_t token, const char *text, size_t len) {
    cb_state *s = user;
    s->shown[s->calls++] = len;
    return s->calls < s->stop_after;
}

static void test_callback(void **state) {
    fixture f;
    fixture_load(&f, "fixtures/reference/trained.gguf");
    wisp_ctx *c = new_ctx(&f, 256, 16);
    int32_t toks[256];
    size_t n = tokenize(&f, PROMPT, toks, 256);
    char full[256];
    size_t len;
    generate_plain(c, toks, n, 12, full, &len);

    cb_state s = {.stop_after = 3};
    wisp_gen_params gp = {.max_tokens = 12, .on_token = on_token, .user = &s};
    wisp_gen_result res;
    wisp_error err;
    assert_int_equal(wisp_ctx_generate(c, toks, n, &gp, &res, &err), WISP_OK);
    assert_int_equal(res.stop, WISP_STOP_CALLBACK);
    assert_int_equal(res.n_tokens, 3);
    assert_int_equal(s.calls, 3);

    /* a stop string that starts like bytes 4..5 of the text but never completes: while the text
     * ends with those bytes, they are held back; then released */
    char stop[4] = {full[4], full[5], '\x01', 0};
    const char *stops[1] = {stop};
    memset(&s, 0, sizeof s);
    s.stop_after = 100;
    gp.stop_strings = stops;
    gp.n_stop_strings = 1;
    assert_int_equal(wisp_ctx_generate(c, toks, n, &gp, &res, &err), WISP_OK);
    assert_int_equal(res.stop, WISP_STOP_MAX_TOKENS);
    assert_int_equal(res.text_len, 12);
    assert_int_equal(s.shown[5], 4); /* 6 bytes, the last 2 held back */
    size_t hold = full[10] == full[4] && full[11] == full[5] ? 2 : full[11] == full[4] ? 1 : 0;
    assert_int_equal(s.shown[11], 12 - hold); /* released, unless the tail starts the stop again */
    wisp_ctx_free(c);
    fixture_free(&f);
}

/* A 0.001 ms budget stops after the first prefill batch; the cache keeps that batch. */
static void test_time_budget(void **state) {
    fixture f;
    fixture_load(&f, "fixtures/reference/trained.gguf");
    wisp_ctx *c = new_ctx(&f, 256, 16);
    int32_t toks[256];
    size_t n = tokenize(&f, PROMPT, toks, 256);
    assert_true(n > 32);
    wisp_gen_params gp = {.max_tokens = 8, .time_budget_ms = 0.001};
    wisp_gen_result res;
    wisp_error err;
    assert_int_equal(wisp_ctx_generate(c, toks, n, &gp, &res, &err), WISP_OK);
    assert_int_equal(res.stop, WISP_STOP_TIME);
    assert_int_equal(res.n_tokens, 0);
    assert_int_equal(res.text_len, 0);
    size_t n_cached;
    wisp_ctx_tokens(c, &n_cached);
    assert_int_equal(n_cached, 16);
    assert_null(wisp_ctx_logits(c));
    /* the next call picks up where it stopped */
    gp.time_budget_ms = 0;
    assert_int_equal(wisp_ctx_generate(c, toks, n, &gp, &res, &err), WISP_OK);
    assert_int_equal(res.n_reused, 16);
    assert_int_equal(res.n_prompt, n);
    assert_int_equal(res.n_tokens, 8);
    assert_true(res.prefill_ms >= 0 && res.decode_ms >= 0);
    /* a budget that ends during decoding: stops with what it has, at most one token late */
    gp.time_budget_ms = 0.001;
    gp.max_tokens = 0;
    assert_int_equal(wisp_ctx_generate(c, toks, n, &gp, &res, &err), WISP_OK);
    assert_int_equal(res.stop, WISP_STOP_TIME);
    assert_true(res.n_tokens <= 1);
    wisp_ctx_free(c);
    fixture_free(&f);
}

/* Generation stops when the context is full: n_ctx - n_prompt + 1 tokens (the last one sampled
 * is not evaluated). */
static void test_context_full(void **state) {
    fixture f;
    fixture_load(&f, "fixtures/reference/trained.gguf");
    wisp_ctx *c = new_ctx(&f, 32, 16);
    int32_t toks[256];
    tokenize(&f, PROMPT, toks, 256);
    wisp_gen_result res;
    wisp_error err;
    assert_int_equal(wisp_ctx_generate(c, toks, 30, NULL, &res, &err), WISP_OK);
    assert_int_equal(res.stop, WISP_STOP_CONTEXT);
    assert_int_equal(res.n_tokens, 3);
    wisp_ctx_free(c);
    fixture_free(&f);
}

/* Control tokens are generated (and returned) but never reach the text; stop ids stop. */
static void test_control_tokens(void **state) {
    fixture f;
    fixture_load(&f, "fixtures/reference/llama.gguf");
    ref_file r;
    ref_load("fixtures/reference/llama.ref", &r);
    const ref_prompt *q = &r.p[3]; /* its greedy continuation holds <|fim_suffix|> (598) */
    wisp_ctx *c = new_ctx(&f, 128, 16);
    wisp_gen_params gp = {.max_tokens = q->n_gen};
    wisp_gen_result res;
    wisp_error err;
    assert_int_equal(wisp_ctx_generate(c, q->tokens, q->n_tok, &gp, &res, &err), WISP_OK);
    assert_int_equal(res.n_tokens, q->n_gen);
    size_t want = 0, n_control = 0;
    for (uint32_t i = 0; i < q->n_gen; i++) {
        if (wisp_tokenizer_is_control(f.tok, q->gen[i])) n_control++;
        else want += wisp_token_bytes(f.tok, q->gen[i]).len;
    }
    assert_int_equal(n_control, 1);
    assert_int_equal(res.text_len, want);
    assert_null(strstr(res.text, "<|fim"));

    /* the same id as an extra stop token ends generation just before it */
    uint32_t at = 0;
    while (q->gen[at] != 598) at++;
    int32_t stop_ids[1] = {598};
    gp.stop_tokens = stop_ids;
    gp.n_stop_tokens = 1;
    assert_int_equal(wisp_ctx_generate(c, q->tokens, q->n_tok, &gp, &res, &err), WISP_OK);
    assert_int_equal(res.stop, WISP_STOP_TOKEN);
    assert_int_equal(res.n_tokens, at);
    free(r.blob);
    wisp_ctx_free(c);
    fixture_free(&f);
}

/* Seeded sampling repeats itself; another seed goes elsewhere. */
static void test_seeded_sampling(void **state) {
    fixture f;
    fixture_load(&f, "fixtures/reference/trained.gguf");
    wisp_ctx *c = new_ctx(&f, 256, 16);
    int32_t toks[256];
    size_t n = tokenize(&f, PROMPT, toks, 256);
    wisp_gen_params gp = {.max_tokens = 32, .sampling = {.temperature = 1.5f, .top_k = 50, .top_p = 0.98f, .seed = 1}};
    wisp_gen_result res;
    wisp_error err;
    int32_t first[32];
    assert_int_equal(wisp_ctx_generate(c, toks, n, &gp, &res, &err), WISP_OK);
    assert_int_equal(res.n_tokens, 32);
    memcpy(first, res.tokens, sizeof first);
    assert_int_equal(wisp_ctx_generate(c, toks, n, &gp, &res, &err), WISP_OK);
    assert_memory_equal(first, res.tokens, sizeof first);
    gp.sampling.seed = 2;
    assert_int_equal(wisp_ctx_generate(c, toks, n, &gp, &res, &err), WISP_OK);
    assert_memory_not_equal(first, res.tokens, sizeof first);
    wisp_ctx_free(c);
    fixture_free(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_reuse),
        cmocka_unit_test(test_eval_errors),
        cmocka_unit_test(test_max_tokens),
        cmocka_unit_test(test_token_healing),
        cmocka_unit_test(test_not_first),
        cmocka_unit_test(test_stop_string_across_tokens),
        cmocka_unit_test(test_callback),
        cmocka_unit_test(test_time_budget),
        cmocka_unit_test(test_context_full),
        cmocka_unit_test(test_control_tokens),
        cmocka_unit_test(test_seeded_sampling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
