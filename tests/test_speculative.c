/*
 * Self-speculative decoding (wisp_ctx_set_speculative): greedy generation that drafts with the
 * first blocks and checks with the full model must give plain greedy decoding's tokens, text,
 * stop reason and log-probabilities under every stop rule (max_tokens, stop strings and tokens,
 * healing, non_empty / not_first, the callback, a full context, the time budget), leave the cache
 * as plain decoding leaves it, and ignore sampled generation. Runs on the shipped model (12
 * blocks, exit trained after block 6; the drafts at depth 4 are rejected often, which makes
 * rollbacks frequent here) and on the reference fixtures (grouped-query attention; qwen2 biases). Prints
 * the acceptance rate.
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

#include "read_file.h"
#include "wisp.h"

#define SHIPPED "models/wisp-default.gguf"

/* Under a sanitizer (an -O0 build, 20-50 times slower) the shipped model gets fewer prompts and
 * settings; the reference fixtures, small, keep them all. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

typedef struct fixture {
    char *data;
    size_t size;
    wisp_model *model;
} fixture;

static void fixture_load(fixture *f, const char *path) {
    f->data = wisp_read_file(path, &f->size);
    if (!f->data) fail_msg("cannot read %s", path);
    wisp_error err;
    f->model = wisp_model_load(f->data, f->size, &err);
    if (!f->model) fail_msg("%s: %s", path, err.message);
}

static void fixture_free(fixture *f) {
    wisp_model_free(f->model);
    free(f->data);
}

static wisp_ctx *new_ctx(const fixture *f, uint32_t n_ctx, uint32_t draft, uint32_t depth) {
    wisp_ctx_params cp = {.n_ctx = n_ctx, .n_batch = 16};
    wisp_error err;
    wisp_ctx *c = wisp_ctx_new(f->model, &cp, &err);
    if (!c) fail_msg("ctx: %s", err.message);
    if (wisp_ctx_set_speculative(c, draft, depth, &err) != WISP_OK) fail_msg("spec: %s", err.message);
    return c;
}

static size_t tokenize(const fixture *f, const char *text, int32_t *out, size_t cap, bool special) {
    wisp_error err;
    int64_t n = wisp_tokenize(wisp_model_tokenizer(f->model), text, strlen(text), special, out, cap, &err);
    assert_true(n > 0 && (size_t)n <= cap);
    return (size_t)n;
}

/* What one generate call gave, copied out of the context. */
typedef struct outcome {
    wisp_status st;
    char text[16384];
    size_t text_len;
    int32_t tokens[512];
    size_t n_tokens, n_cached, n_drafted, n_accepted;
    wisp_stop_reason stop;
    double sum_logprob;
    float logprobs[256];
    float last_logit;  /* a logit after the cache's last token, when there are logits */
    bool has_logits;
} outcome;

static size_t calls_left;
static bool stop_after(void *user, int32_t token, const char *text, size_t len) {
    (void)user, (void)token, (void)text, (void)len;
    return --calls_left > 0;
}

static void run(wisp_ctx *c, const int32_t *prompt, size_t n, wisp_gen_params gp, size_t callback_stop,
                outcome *o) {
    memset(o, 0, sizeof *o);
    float lps[256];
    if (gp.max_tokens) gp.logprobs = lps;
    if (callback_stop) {
        calls_left = callback_stop;
        gp.on_token = stop_after;
    }
    wisp_gen_result r;
    wisp_error err;
    o->st = wisp_ctx_generate(c, prompt, n, &gp, &r, &err);
    if (o->st != WISP_OK) fail_msg("generate: %s", err.message);
    assert_true(r.text_len < sizeof o->text && r.n_tokens <= 512);
    memcpy(o->text, r.text, r.text_len + 1);
    o->text_len = r.text_len;
    memcpy(o->tokens, r.tokens, r.n_tokens * sizeof(int32_t));
    o->n_tokens = r.n_tokens;
    o->stop = r.stop;
    o->sum_logprob = r.sum_logprob;
    if (gp.max_tokens) memcpy(o->logprobs, lps, r.n_tokens * sizeof(float));
    o->n_drafted = r.n_drafted;
    o->n_accepted = r.n_accepted;
    wisp_ctx_tokens(c, &o->n_cached);
    const float *l = wisp_ctx_logits(c);
    o->has_logits = l != NULL;
    if (l) o->last_logit = l[7];
}

static size_t total_drafted, total_accepted;

/* Plain and speculative outcomes must agree on everything but the draft counts; `close` allows
 * the log-probabilities to differ by float rounding (see test_context_and_time). */
static void same_within(const outcome *plain, const outcome *spec, const char *what, double close) {
    if (plain->n_tokens != spec->n_tokens || memcmp(plain->tokens, spec->tokens, plain->n_tokens * 4) ||
        strcmp(plain->text, spec->text) || plain->stop != spec->stop)
        fail_msg("%s: plain gave %zu tokens \"%s\" (stop %d), speculative %zu \"%s\" (stop %d)", what, plain->n_tokens,
                 plain->text, plain->stop, spec->n_tokens, spec->text, spec->stop);
    assert_int_equal(plain->text_len, spec->text_len);
    size_t n_lp = plain->n_tokens < 256 ? plain->n_tokens : 256; /* recorded with max_tokens only */
    if (close == 0) {
        if (plain->sum_logprob != spec->sum_logprob)
            fail_msg("%s: sum of log-probabilities %.9g plain, %.9g speculative", what, plain->sum_logprob,
                     spec->sum_logprob);
        assert_memory_equal(plain->logprobs, spec->logprobs, n_lp * sizeof(float));
    } else {
        for (size_t i = 0; i < n_lp; i++)
            if (fabs((double)plain->logprobs[i] - spec->logprobs[i]) > close)
                fail_msg("%s: token %zu log-probability %.6f plain, %.6f speculative", what, i, plain->logprobs[i],
                         spec->logprobs[i]);
    }
    if (plain->n_cached != spec->n_cached)
        fail_msg("%s: the cache holds %zu tokens after plain decoding, %zu after speculative", what, plain->n_cached,
                 spec->n_cached);
    assert_int_equal(plain->has_logits, spec->has_logits);
    if (plain->has_logits && close == 0) assert_true(plain->last_logit == spec->last_logit);
    assert_int_equal(plain->n_drafted, 0);
    assert_true(spec->n_accepted <= spec->n_drafted);
    total_drafted += spec->n_drafted;
    total_accepted += spec->n_accepted;
}

static void same(const outcome *plain, const outcome *spec, const char *what) { same_within(plain, spec, what, 0); }

static const char *PROMPTS[] = {
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return ",
    "import os\nimport sys\n\n\ndef main(argv):\n    for arg in argv[1:]:\n        ",
    "function add(a, b) {\n  return a + b;\n}\n\nfunction mul(a, b) {\n  return ",
    "#include <stdio.h>\n\nint main(void) {\n    for (int i = 0; i < 10; i++) {\n        printf(",
    "<|fim_suffix|>\n    return total\n<|fim_prefix|>def total_price(items):\n    total = 0\n    for item in items:\n"
    "        <|fim_middle|>",
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n        self.",
};
#define N_PROMPTS (sizeof PROMPTS / sizeof PROMPTS[0])

/* One prompt under one rule set, plain against speculative; both contexts have decoded before
 * (the cache carries over), as the engine's does. */
static void compare(wisp_ctx *plain, wisp_ctx *spec, const int32_t *toks, size_t n, wisp_gen_params gp,
                    size_t callback_stop, const char *what) {
    outcome a, b;
    run(plain, toks, n, gp, callback_stop, &a);
    run(spec, toks, n, gp, callback_stop, &b);
    same(&a, &b, what);
}

/* Draft depth and length pairs a model is checked with. */
typedef struct spec_setting {
    uint32_t depth, draft;
} spec_setting;

/* Every prompt (up to n_prompts) under every rule set, plain against speculative, in two
 * contexts that carry their caches from call to call; `unbounded` adds a run without a token
 * budget (until an end token or the context). */
static void check_model(const char *path, const spec_setting *settings, size_t n_settings, size_t n_prompts,
                        bool special, bool unbounded) {
    fixture f;
    fixture_load(&f, path);
    static const char *const stop_nl[] = {"\n"};
    static const char *const stop_paren[] = {")", "\n\n"};
    int32_t eos = wisp_tokenizer_special(wisp_model_tokenizer(f.model), WISP_SPECIAL_EOS);
    for (size_t si = 0; si < n_settings; si++) {
        const uint32_t k = settings[si].depth, d = settings[si].draft;
        wisp_ctx *plain = new_ctx(&f, 512, 0, 0), *spec = new_ctx(&f, 512, d, k);
        for (size_t pi = 0; pi < n_prompts && pi < N_PROMPTS; pi++) {
            int32_t toks[512];
            size_t n = tokenize(&f, PROMPTS[pi], toks, 512, special);
            char what[96];
            snprintf(what, sizeof what, "%s k=%u d=%u prompt %zu", path, k, d, pi);
            compare(plain, spec, toks, n, (wisp_gen_params){.max_tokens = 48}, 0, what);
            compare(plain, spec, toks, n, (wisp_gen_params){.max_tokens = 7}, 0, what);
            compare(plain, spec, toks, n,
                    (wisp_gen_params){.max_tokens = 64, .stop_strings = stop_nl, .n_stop_strings = 1}, 0, what);
            compare(plain, spec, toks, n,
                    (wisp_gen_params){.max_tokens = 64, .stop_strings = stop_paren, .n_stop_strings = 2}, 0, what);
            compare(plain, spec, toks, n, (wisp_gen_params){.max_tokens = 64}, 5, what); /* callback */
            /* healing with non_empty and not_first: the prompt's last token re-spelled */
            wisp_str last = wisp_token_bytes(wisp_model_tokenizer(f.model), toks[n - 1]);
            if (!wisp_tokenizer_is_control(wisp_model_tokenizer(f.model), toks[n - 1]))
                compare(plain, spec, toks, n - 1,
                        (wisp_gen_params){.max_tokens = 32, .heal = last.ptr, .heal_len = (size_t)last.len,
                                          .non_empty = true, .not_first = ")"}, 0, what);
            compare(plain, spec, toks, n,
                    (wisp_gen_params){.max_tokens = 32, .non_empty = true, .stop_tokens = &eos, .n_stop_tokens = 1},
                    0, what);
            if (unbounded) /* until an end token or the context: no token budget */
                compare(plain, spec, toks, n, (wisp_gen_params){.max_tokens = 0, .stop_strings = stop_paren,
                                                                .n_stop_strings = 2}, 0, what);
        }
        wisp_ctx_free(plain);
        wisp_ctx_free(spec);
    }
    fixture_free(&f);
}

static void test_shipped_model(void **state) {
    (void)state;
    total_drafted = total_accepted = 0;
    static const spec_setting settings[] = {{4, 4}, {6, 1}};
    check_model(SHIPPED, settings, SANITIZED ? 1 : 2, SANITIZED ? 2 : N_PROMPTS, true, false);
    fprintf(stderr, "shipped model: %zu drafted, %zu accepted (%.1f%%)\n", total_drafted, total_accepted,
            total_drafted ? 100.0 * total_accepted / total_drafted : 0.0);
    assert_true(total_drafted > (SANITIZED ? 50 : 1000));
}

/* Grouped-query attention (trained: 2 query heads a key head) and qwen2's biases. */
static void test_reference_models(void **state) {
    (void)state;
    static const spec_setting trained[] = {{1, 4}, {2, 3}, {3, 2}}, qwen2[] = {{1, 4}};
    total_drafted = total_accepted = 0;
    check_model("fixtures/reference/trained.gguf", trained, 3, N_PROMPTS, false, true);
    fprintf(stderr, "trained: %zu drafted, %zu accepted (%.1f%%)\n", total_drafted, total_accepted,
            total_drafted ? 100.0 * total_accepted / total_drafted : 0.0);
    check_model("fixtures/reference/qwen2.gguf", qwen2, 1, N_PROMPTS, false, true);
}

/* A context too small for the answer: both stop at the same token with the context full; then
 * a short budget: the speculative answer is a start of the plain one. */
static void test_context_and_time(void **state) {
    (void)state;
    fixture f;
    fixture_load(&f, SHIPPED);
    int32_t toks[512];
    /* led by <|file_sep|> as the engine's prompts are: the shipped model then goes on for more
     * than 12 tokens (without it, it may end its answer at once) */
    size_t n = tokenize(&f, "<|file_sep|>fib.py\ndef fibonacci(n):\n    if n < 2:\n        return n\n    return ", toks,
                        512, true);
    for (uint32_t n_ctx = (uint32_t)n + 1; n_ctx < n + (SANITIZED ? 4 : 12); n_ctx++) {
        wisp_ctx *plain = new_ctx(&f, n_ctx, 0, 0), *spec = new_ctx(&f, n_ctx, 4, 4);
        outcome a, b;
        run(plain, toks, n, (wisp_gen_params){0}, 0, &a);
        run(spec, toks, n, (wisp_gen_params){0}, 0, &b);
        assert_int_equal(a.stop, WISP_STOP_CONTEXT);
        same(&a, &b, "context");
        wisp_ctx_free(plain);
        wisp_ctx_free(spec);
    }
    wisp_ctx *plain = new_ctx(&f, 512, 0, 0), *spec = new_ctx(&f, 512, 4, 6);
    outcome a, b;
    run(plain, toks, n, (wisp_gen_params){.max_tokens = 64}, 0, &a);
    for (double ms = 0.5; ms < (SANITIZED ? 4 : 40); ms *= 2) {
        run(spec, toks, n, (wisp_gen_params){.max_tokens = 64, .time_budget_ms = ms}, 0, &b);
        assert_true(b.n_tokens <= a.n_tokens);
        assert_memory_equal(b.tokens, a.tokens, b.n_tokens * sizeof(int32_t));
        assert_true(b.stop == WISP_STOP_TIME || b.stop == WISP_STOP_MAX_TOKENS);
        /* and the next call without a budget is plain decoding's again. When the cut call had
         * the whole prompt in the cache, this one recomputes the prompt's last token alone (to
         * get its logits back), in the one-token kernels, where the fresh plain call computed it
         * in a batch: the same tokens, log-probabilities equal up to that rounding */
        run(spec, toks, n, (wisp_gen_params){.max_tokens = 64}, 0, &b);
        same_within(&a, &b, "after a time stop", 0.05);
    }
    wisp_ctx_free(plain);
    wisp_ctx_free(spec);
    fixture_free(&f);
}

/* Settings: bounds, a model without an exit needs a depth, sampling ignores the setting. */
static void test_settings(void **state) {
    (void)state;
    fixture f;
    fixture_load(&f, SHIPPED);
    wisp_error err;
    wisp_ctx *c = new_ctx(&f, 256, 0, 0);
    assert_int_equal(wisp_ctx_set_speculative(c, WISP_SPEC_MAX_DRAFT + 1, 4, &err), WISP_ERR_RANGE);
    uint32_t n_layer = wisp_model_get_info(f.model)->n_layer; /* a draft depth must be below it */
    assert_int_equal(wisp_ctx_set_speculative(c, 4, n_layer, &err), WISP_ERR_RANGE);
    assert_int_equal(wisp_ctx_set_speculative(c, 4, n_layer - 1, &err), WISP_OK);
    /* the shipped model records its exit (wisp.early_exit.block_count): depth 0 drafts with it */
    assert_int_equal(wisp_ctx_set_speculative(c, 4, 0, &err), WISP_OK);
    assert_int_equal(wisp_ctx_set_speculative(c, 0, 0, &err), WISP_OK);
    {   /* a model without one needs a depth */
        fixture r;
        fixture_load(&r, "fixtures/reference/trained.gguf");
        wisp_ctx_params cp = {.n_ctx = 64};
        wisp_ctx *rc = wisp_ctx_new(r.model, &cp, &err);
        assert_non_null(rc);
        assert_int_equal(wisp_ctx_set_speculative(rc, 4, 0, &err), WISP_ERR_INVALID_ARG);
        assert_non_null(strstr(err.message, "early exit"));
        wisp_ctx_free(rc);
        fixture_free(&r);
    }
    int32_t toks[512];
    size_t n = tokenize(&f, PROMPTS[1], toks, 512, true);
    wisp_gen_params gp = {.max_tokens = 24, .sampling = {.temperature = 0.8f, .seed = 7}};
    outcome a, b;
    run(c, toks, n, gp, 0, &a);
    wisp_ctx *s = new_ctx(&f, 256, 4, 4);
    run(s, toks, n, gp, 0, &b);
    same(&a, &b, "sampled");
    assert_int_equal(b.n_drafted, 0);
    /* a draft as deep as the context runs is no draft: plain decoding */
    assert_int_equal(wisp_ctx_set_depth(s, 4, &err), WISP_OK);
    run(s, toks, n, (wisp_gen_params){.max_tokens = 8}, 0, &b);
    assert_int_equal(b.n_drafted, 0);
    wisp_ctx_free(c);
    wisp_ctx_free(s);
    fixture_free(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_shipped_model),
        cmocka_unit_test(test_reference_models),
        cmocka_unit_test(test_context_and_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
