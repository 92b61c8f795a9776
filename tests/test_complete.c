/* The completion engine end to end (grammar/complete.c) on the tiny random-weight reference
 * model: the pipeline runs and returns sane structures; comments give nothing; bad cursors give
 * WISP_ERR_RANGE; candidates, cancellation and budgets behave. What the random model says is
 * noise, so the checks are on structure, not on text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "complete.h"
#include "engine_fixture.h"
#include "read_file.h"
#include "wisp_grammar.h"

static int setup(void **state) { return engine_fixture_setup(state, "fixtures/reference/llama.gguf"); }

static int teardown(void **state) { return engine_fixture_teardown(state); }

static const char py_src[] =
    "import os\n"
    "\n"
    "def add(a, b):\n"
    "    # add two numbers\n"
    "    return a + b\n"
    "\n"
    "def main():\n"
    "    x = add(1, 2)\n"
    "    print(x)\n";

static wisp_doc *open_doc(fixture *fx, const char *uri, wisp_lang lang, const char *text) {
    wisp_error err;
    wisp_doc *d = wisp_doc_open(wisp_engine_docs(fx->engine), uri, lang, text, strlen(text), &err);
    if (!d) fprintf(stderr, "open %s: %s\n", uri, err.message);
    assert_non_null(d);
    return d;
}

static size_t offset_of(const char *text, const char *needle, size_t after) {
    const char *p = strstr(text, needle);
    assert_non_null(p);
    return (size_t)(p - text) + after;
}

/* A mid-line cursor: one candidate, an empty range at the cursor, timings that add up. */
static void test_runs(void **state) {
    fixture *fx = *state;
    wisp_doc *d = open_doc(fx, "a.py", WISP_LANG_PYTHON, py_src);
    size_t pos = offset_of(py_src, "x = add", 4);
    wisp_completion c;
    wisp_error err;
    assert_int_equal(wisp_complete(fx->engine, d, pos, NULL, &c, &err), WISP_OK);
    assert_int_equal(c.mode, WISP_MODE_MID_LINE);
    assert_int_equal(c.lang, WISP_LANG_PYTHON);
    assert_true(c.n_candidates <= 1);
    for (size_t i = 0; i < c.n_candidates; i++) {
        assert_int_equal(c.candidates[i].start_u8, pos);
        assert_int_equal(c.candidates[i].end_u8, pos);
        assert_int_equal(strlen(c.candidates[i].text), c.candidates[i].text_len);
        assert_null(memchr(c.candidates[i].text, '\n', c.candidates[i].text_len)); /* one line */
        assert_true(c.candidates[i].text_len > 0);
    }
    const wisp_complete_timings *t = &c.timings;
    assert_true(t->n_prompt > 3 && t->n_prompt <= 1024);
    assert_true(t->n_reused <= t->n_prompt);
    assert_true(t->context_ms >= 0 && t->prompt_ms >= 0 && t->prefill_ms >= 0 && t->decode_ms >= 0);
    assert_true(t->total_ms + 0.5 >= t->context_ms + t->prompt_ms + t->prefill_ms + t->decode_ms + t->trim_ms);
    size_t n;
    const char *last = wisp_engine_last_prompt(fx->engine, &n);
    assert_true(n > 0);
    assert_non_null(strstr(last, "=== prefix"));
    /* the same request again reuses the whole prompt from the cache */
    assert_int_equal(wisp_complete(fx->engine, d, pos, NULL, &c, &err), WISP_OK);
    assert_true(c.timings.n_reused + 1 >= c.timings.n_prompt);
    wisp_doc_close(d);
}

/* Inside a comment or a string: no candidate, no model call, WISP_OK. */
static void test_mode_none(void **state) {
    fixture *fx = *state;
    wisp_doc *d = open_doc(fx, "b.py", WISP_LANG_PYTHON, py_src);
    wisp_completion c;
    wisp_error err;
    size_t pos = offset_of(py_src, "# add two", 5);
    assert_int_equal(wisp_complete(fx->engine, d, pos, NULL, &c, &err), WISP_OK);
    assert_int_equal(c.mode, WISP_MODE_NONE);
    assert_int_equal(c.n_candidates, 0);
    assert_int_equal(c.timings.n_generated, 0);
    wisp_doc_close(d);
    const char *js = "function f() {\n  const s = \"a string here\";\n}\n";
    d = open_doc(fx, "c.js", WISP_LANG_JAVASCRIPT, js);
    assert_int_equal(wisp_complete(fx->engine, d, offset_of(js, "string here", 3), NULL, &c, &err), WISP_OK);
    assert_int_equal(c.mode, WISP_MODE_NONE);
    assert_int_equal(c.n_candidates, 0);
    wisp_doc_close(d);
}

/* Cursors past the end or inside a UTF-8 character, NULLs, a foreign document. */
static void test_bad_input(void **state) {
    fixture *fx = *state;
    const char *src = "x = 'h\xC3\xA9llo'\ny = \n";
    wisp_doc *d = open_doc(fx, "u.py", WISP_LANG_PYTHON, src);
    wisp_completion c;
    wisp_error err;
    assert_int_equal(wisp_complete(fx->engine, d, strlen(src) + 1, NULL, &c, &err), WISP_ERR_RANGE);
    assert_int_equal(err.code, WISP_ERR_RANGE);
    assert_int_equal(c.n_candidates, 0);
    assert_int_equal(wisp_complete(fx->engine, d, offset_of(src, "\xA9", 0), NULL, &c, &err), WISP_ERR_RANGE);
    assert_int_equal(wisp_complete(NULL, d, 0, NULL, &c, &err), WISP_ERR_INVALID_ARG);
    assert_int_equal(wisp_complete(fx->engine, NULL, 0, NULL, &c, &err), WISP_ERR_INVALID_ARG);
    assert_int_equal(wisp_complete(fx->engine, d, 0, NULL, NULL, &err), WISP_ERR_INVALID_ARG);
    /* the end of the text is a valid cursor; so is the very start */
    assert_int_equal(wisp_complete(fx->engine, d, strlen(src), NULL, &c, &err), WISP_OK);
    assert_int_equal(wisp_complete(fx->engine, d, 0, NULL, &c, &err), WISP_OK);
    /* a document of another engine */
    wisp_engine *other = wisp_engine_new(fx->model, fx->size, NULL, &err);
    assert_non_null(other);
    wisp_doc *od = wisp_doc_open(wisp_engine_docs(other), "o.py", WISP_LANG_PYTHON, src, strlen(src), &err);
    assert_non_null(od);
    assert_int_equal(wisp_complete(fx->engine, od, 0, NULL, &c, &err), WISP_ERR_INVALID_ARG);
    wisp_engine_free(other); /* closes od too */
    /* an empty document */
    wisp_doc *e = open_doc(fx, "e.c", WISP_LANG_C, "");
    assert_int_equal(wisp_complete(fx->engine, e, 0, NULL, &c, &err), WISP_OK);
    wisp_doc_close(e);
    wisp_doc_close(d);
    assert_null(wisp_engine_new(NULL, 0, NULL, &err));
    assert_int_not_equal(err.code, WISP_OK);
    wisp_engine_free(NULL);
}

/* Several candidates: distinct, non-empty, best (fewest syntax errors) first. */
static void test_candidates(void **state) {
    fixture *fx = *state;
    const char *src = "int add(int a, int b) {\n    \n}\n";
    wisp_doc *d = open_doc(fx, "k.c", WISP_LANG_C, src);
    wisp_complete_params p = wisp_complete_default_params();
    p.n_candidates = 4;
    p.temperature = 1.0f;
    p.seed = 7;
    p.max_tokens = 24;
    wisp_completion c;
    wisp_error err;
    size_t pos = offset_of(src, "{\n    ", 6);
    assert_int_equal(wisp_complete(fx->engine, d, pos, &p, &c, &err), WISP_OK);
    assert_int_equal(c.mode, WISP_MODE_BLOCK);
    assert_true(c.n_candidates <= 4);
    for (size_t i = 0; i < c.n_candidates; i++) {
        assert_true(c.candidates[i].text_len > 0);
        assert_true(c.candidates[i].parses == (c.candidates[i].n_errors == 0));
        if (i) assert_true(c.candidates[i - 1].n_errors <= c.candidates[i].n_errors);
        if (i && c.candidates[i - 1].n_errors == c.candidates[i].n_errors)
            assert_true(c.candidates[i - 1].mean_logprob >= c.candidates[i].mean_logprob);
        /* a log-probability: negative (a token the model is sure of comes close to 0) */
        assert_true(c.candidates[i].mean_logprob <= 0.0f && c.candidates[i].mean_logprob > -40.0f);
        assert_true(c.candidates[i].mean_logprob < 0.0f || c.candidates[i].n_tokens == 0);
        for (size_t j = 0; j < i; j++) assert_string_not_equal(c.candidates[i].text, c.candidates[j].text);
    }
    assert_true(c.timings.n_generated <= 4 * 24);
    wisp_doc_close(d);
}

static int stop_calls;
static bool stop_now(void *user) {
    (void)user;
    return ++stop_calls >= 2;
}

/* The caller's callback cancels; a tiny token budget is honoured. */
static void test_cancel_and_budgets(void **state) {
    fixture *fx = *state;
    wisp_doc *d = open_doc(fx, "m.py", WISP_LANG_PYTHON, py_src);
    size_t pos = offset_of(py_src, "def main():\n    ", 16);
    wisp_complete_params p = wisp_complete_default_params();
    p.should_stop = stop_now;
    p.max_tokens = 50;
    p.max_lines = 50;
    wisp_completion c;
    wisp_error err;
    stop_calls = 0;
    wisp_status st = wisp_complete(fx->engine, d, pos, &p, &c, &err);
    /* the random model may end by itself before the second token: then it is simply done */
    if (st != WISP_OK) {
        assert_int_equal(st, WISP_ERR_CANCELLED);
        assert_int_equal(c.n_candidates, 0);
    }
    p = wisp_complete_default_params();
    p.max_tokens = 2;
    assert_int_equal(wisp_complete(fx->engine, d, pos, &p, &c, &err), WISP_OK);
    assert_true(c.timings.n_generated <= 2);
    /* the ablation switches run too */
    p.sources = 0;
    assert_int_equal(wisp_complete(fx->engine, d, pos, &p, &c, &err), WISP_OK);
    wisp_doc_close(d);
}

/* wisp_engine_prompt_text: the labelled prompt without running the model. */
static void test_prompt_text(void **state) {
    fixture *fx = *state;
    wisp_doc *d = open_doc(fx, "p.py", WISP_LANG_PYTHON, py_src);
    wisp_error err;
    size_t n = 0;
    const char *s = wisp_engine_prompt_text(fx->engine, d, offset_of(py_src, "print(", 6), NULL, &n, &err);
    assert_non_null(s);
    assert_int_equal(strlen(s), n);
    assert_non_null(strstr(s, "=== suffix"));
    assert_non_null(strstr(s, "<|fim_middle|>"));
    assert_null(wisp_engine_prompt_text(fx->engine, d, 100000, NULL, &n, &err));
    assert_int_equal(err.code, WISP_ERR_RANGE);
    wisp_doc_close(d);
}

/* Typing at the cursor: each keystroke's prompt reuses all but a few tokens of the KV cache
 * (the definitions block and the prefix start stay put while the cursor stays on its line). */
static void test_typing_reuses_cache(void **state) {
    fixture *fx = *state;
    char src[4096];
    size_t len = 0;
    for (int i = 0; i < 12; i++)
        len += (size_t)sprintf(src + len, "def helper_%d(value):\n    return value * %d\n\n", i, i);
    len += (size_t)sprintf(src + len, "def main():\n    total = \n    return total\n");
    wisp_doc *d = open_doc(fx, "t.py", WISP_LANG_PYTHON, src);
    size_t pos = offset_of(src, "total = ", 8);
    const char *typed = "helper_3(total";
    wisp_complete_params p = wisp_complete_default_params();
    p.max_tokens = 4;
    wisp_completion c;
    wisp_error err;
    for (size_t k = 0; typed[k]; k++) {
        assert_int_equal(wisp_doc_edit(d, pos, pos, typed + k, 1, &err), WISP_OK);
        pos++;
        assert_int_equal(wisp_complete(fx->engine, d, pos, &p, &c, &err), WISP_OK);
        assert_int_not_equal(c.mode, WISP_MODE_NONE);
        if (k > 0) {
            if (getenv("WISP_TEST_VERBOSE") || c.timings.n_reused + 6 < c.timings.n_prompt)
                fprintf(stderr, "keystroke %zu: %u of %u prompt tokens reused\n", k, c.timings.n_reused,
                        c.timings.n_prompt);
            assert_true(c.timings.n_reused + 6 >= c.timings.n_prompt);
        }
    }
    wisp_doc_close(d);
}

/* The part of a labelled prompt (wisp_engine_last_prompt) from the line starting with `label` to
 * the next label, malloc'd. */
static char *section(const char *prompt, const char *label) {
    const char *b = strstr(prompt, label);
    assert_non_null(b);
    const char *e = strstr(b + 1, "\n===");
    size_t n = e ? (size_t)(e - b) : strlen(b);
    char *s = malloc(n + 1);
    memcpy(s, b, n);
    s[n] = 0;
    return s;
}

/* A speculative request (a suggestion applied at the cursor: another line, other names near the
 * cursor) keeps the keystrokes' definitions block and window, so that the KV cache serves both
 * it and the keystroke after it. */
static void test_speculative_keeps_head(void **state) {
    fixture *fx = *state;
    char util[4096];
    size_t ul = 0;
    for (int i = 0; i < 12; i++)
        ul += (size_t)sprintf(util + ul, "def helper_%d(value):\n    return value * %d\n\n", i, i);
    wisp_doc *u = open_doc(fx, "util.py", WISP_LANG_PYTHON, util);
    const char *src = "from util import *\n\ndef main():\n    total = helper_1(2)\n    total = \n    return total\n";
    wisp_doc *d = open_doc(fx, "main.py", WISP_LANG_PYTHON, src);
    size_t pos = offset_of(src, "total = \n", 8);
    wisp_complete_params p = wisp_complete_default_params();
    p.max_tokens = 4;
    wisp_completion c;
    wisp_error err;
    assert_int_equal(wisp_complete(fx->engine, d, pos, &p, &c, &err), WISP_OK);
    char *before = strdup(wisp_engine_last_prompt(fx->engine, NULL));
    /* the suggestion after this one, as if accepted: two more lines naming other helpers */
    const char *ins = "helper_3(total)\n    total = helper_7(total) + helper_9(total)\n    total = ";
    size_t n = strlen(ins);
    assert_int_equal(wisp_doc_edit(d, pos, pos, ins, n, &err), WISP_OK);
    p.speculative = true;
    assert_int_equal(wisp_complete(fx->engine, d, pos + n, &p, &c, &err), WISP_OK);
    char *defs = section(before, "=== definitions"), *spec = section(wisp_engine_last_prompt(fx->engine, NULL), "=== definitions");
    assert_non_null(strstr(defs, "helper_1"));
    assert_string_equal(spec, defs); /* the head was kept (else it would name helper_7) */
    free(defs);
    free(spec);
    assert_int_equal(wisp_doc_edit(d, pos, pos + n, "", 0, &err), WISP_OK);
    p.speculative = false;
    assert_int_equal(wisp_complete(fx->engine, d, pos, &p, &c, &err), WISP_OK);
    if (c.timings.n_reused + 6 < c.timings.n_prompt)
        fprintf(stderr, "after the speculation: %u of %u prompt tokens reused\n", c.timings.n_reused, c.timings.n_prompt);
    assert_true(c.timings.n_reused + 6 >= c.timings.n_prompt);
    /* a suggestion cut inside a string: the speculative request goes on where a keystroke's
     * would not */
    const char *cut = "helper_3(\"a st";
    assert_int_equal(wisp_doc_edit(d, pos, pos, cut, strlen(cut), &err), WISP_OK);
    p.speculative = true;
    assert_int_equal(wisp_complete(fx->engine, d, pos + strlen(cut), &p, &c, &err), WISP_OK);
    assert_int_equal(c.mode, WISP_MODE_END_OF_LINE);
    p.speculative = false;
    assert_int_equal(wisp_complete(fx->engine, d, pos + strlen(cut), &p, &c, &err), WISP_OK);
    assert_int_equal(c.mode, WISP_MODE_NONE);
    free(before);
    wisp_doc_close(d);
    wisp_doc_close(u);
}

/* The window kept from one prompt to the next is kept at the same prompt budget only: a quick
 * answer from a small prompt leaves the next full-budget prompt as it would be without it. */
static void test_window_per_budget(void **state) {
    fixture *fx = *state;
    char src[8192];
    size_t len = 0;
    for (int i = 0; i < 40; i++)
        len += (size_t)sprintf(src + len, "def helper_%d(value):\n    return value * %d\n\n", i, i);
    size_t pos = len;
    len += (size_t)sprintf(src + len, "x = \n");
    for (int i = 0; i < 40; i++) len += (size_t)sprintf(src + len, "print(helper_%d(x))\n", i);
    pos += 4;
    wisp_doc *d = open_doc(fx, "w.py", WISP_LANG_PYTHON, src);
    wisp_complete_params p = wisp_complete_default_params();
    p.max_tokens = 2;
    wisp_completion c;
    wisp_error err;
    assert_int_equal(wisp_complete(fx->engine, d, pos, &p, &c, &err), WISP_OK);
    char *full = strdup(wisp_engine_last_prompt(fx->engine, NULL));
    p.prompt_tokens = 96;
    assert_int_equal(wisp_complete(fx->engine, d, pos, &p, &c, &err), WISP_OK);
    assert_true(c.timings.n_prompt <= 96);
    p.prompt_tokens = 0;
    assert_int_equal(wisp_complete(fx->engine, d, pos, &p, &c, &err), WISP_OK);
    assert_string_equal(wisp_engine_last_prompt(fx->engine, NULL), full);
    free(full);
    wisp_doc_close(d);
}

/* What the engine keeps between keystrokes for one document (the prefix start, the definitions
 * block) never carries over to another document, not even one that a reused allocation puts at
 * the same address: in `wisp serve` every request's document is opened and closed, and one
 * client's definitions showed up in the next client's prompt. */
static void test_no_state_across_documents(void **state) {
    fixture *fx = *state;
    const char *lib = "def secret_helper(value):\n    return value * 7\n";
    const char *a = "import lib\n\ndef main():\n    x = secret_helper(1)\n    y = \n";
    const char *b = "import os\n\ndef other():\n    z = os.getcwd()\n    w = \n";
    wisp_complete_params p = wisp_complete_default_params();
    p.max_tokens = 2;
    wisp_completion c;
    wisp_error err;
    size_t len;
    for (int round = 0; round < 2; round++) {
        wisp_doc *l = open_doc(fx, "lib.py", WISP_LANG_PYTHON, lib);
        wisp_doc *da = open_doc(fx, "a.py", WISP_LANG_PYTHON, a);
        assert_int_equal(wisp_complete(fx->engine, da, offset_of(a, "y = ", 4), &p, &c, &err), WISP_OK);
        assert_non_null(strstr(wisp_engine_last_prompt(fx->engine, &len), "secret_helper(value)"));
        const void *was = da;
        wisp_doc_close(l);
        wisp_doc_close(da); /* the last freed: what the next open gets from a LIFO allocator */
        wisp_doc *db = open_doc(fx, "b.py", WISP_LANG_PYTHON, b); /* same line and size as a.py */
        if (round == 1) assert_ptr_equal(db, was); /* the allocation is reused (not under ASan) */
        assert_int_equal(wisp_complete(fx->engine, db, offset_of(b, "w = ", 4), &p, &c, &err), WISP_OK);
        assert_null(strstr(wisp_engine_last_prompt(fx->engine, &len), "secret_helper"));
        wisp_doc_close(db);
        if (round == 0 && db != was) break; /* the allocator did not reuse it: nothing more to see */
    }
}

/* Modes map to answer shapes. */
static wisp_str S(const char *s) { return (wisp_str){s, strlen(s)}; }

static void test_shapes(void **state) {
    (void)state;
    assert_int_equal(complete_shape_of(WISP_MODE_MID_LINE, S("  f("), S("x)")), TRIM_SHAPE_LINE);
    assert_int_equal(complete_shape_of(WISP_MODE_END_OF_LINE, S("  x = "), S("")), TRIM_SHAPE_LINE);
    assert_int_equal(complete_shape_of(WISP_MODE_END_OF_LINE, S("    "), S(" \r")), TRIM_SHAPE_BLOCK); /* empty line */
    assert_int_equal(complete_shape_of(WISP_MODE_BLOCK, S("    "), S("")), TRIM_SHAPE_BLOCK);
    assert_int_equal(complete_shape_of(WISP_MODE_ARGS, S("  f("), S(")")), TRIM_SHAPE_ARGS);
    assert_int_equal(complete_shape_of(WISP_MODE_ARGS, S("  f("), S(" \r")), TRIM_SHAPE_LINE); /* at the line end */
}

/* Ranking: fewer syntax errors first, then higher mean log-probability, then arrival order. */
static void test_rank(void **state) {
    (void)state;
    wisp_candidate c[4];
    memset(c, 0, sizeof c);
    char a[] = "a", b[] = "b", d[] = "d", e[] = "e";
    char *texts[4] = {a, b, d, e};
    c[0].text = a; c[0].n_errors = 1; c[0].mean_logprob = -0.1f; /* greedy, does not parse */
    c[1].text = b; c[1].n_errors = 0; c[1].mean_logprob = -0.9f;
    c[2].text = d; c[2].n_errors = 0; c[2].mean_logprob = -0.3f;
    c[3].text = e; c[3].n_errors = 0; c[3].mean_logprob = -0.3f; /* ties with d: d came first */
    complete_rank(c, texts, 4);
    assert_string_equal(c[0].text, "d");
    assert_string_equal(c[1].text, "e");
    assert_string_equal(c[2].text, "b");
    assert_string_equal(c[3].text, "a");
    for (int i = 0; i < 4; i++) assert_ptr_equal(texts[i], c[i].text);
    complete_rank(c, NULL, 0); /* nothing to do, no crash */
}

/* The mean covers the tokens the cut kept (here one byte per token: tok == NULL). */
static void test_mean_logprob(void **state) {
    (void)state;
    const int32_t ids[4] = {1, 2, 3, 4};
    const float lp[4] = {-1.0f, -2.0f, -3.0f, -6.0f};
    assert_float_equal(complete_mean_logprob(NULL, ids, lp, 4, 0, 4), -3.0f, 1e-6);
    assert_float_equal(complete_mean_logprob(NULL, ids, lp, 4, 0, 2), -1.5f, 1e-6);
    assert_float_equal(complete_mean_logprob(NULL, ids, lp, 4, 1, 2), -2.0f, 1e-6); /* 1 healed byte */
    assert_float_equal(complete_mean_logprob(NULL, ids, lp, 4, 0, 0), -1.0f, 1e-6); /* at least one */
    assert_float_equal(complete_mean_logprob(NULL, ids, lp, 0, 0, 4), 0.0f, 1e-6);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs),        cmocka_unit_test(test_mode_none),
        cmocka_unit_test(test_bad_input),   cmocka_unit_test(test_candidates),
        cmocka_unit_test(test_cancel_and_budgets), cmocka_unit_test(test_prompt_text),
        cmocka_unit_test(test_typing_reuses_cache), cmocka_unit_test(test_speculative_keeps_head),
        cmocka_unit_test(test_window_per_budget),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_rank),        cmocka_unit_test(test_mean_logprob),
        cmocka_unit_test(test_no_state_across_documents),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
