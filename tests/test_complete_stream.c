/* Streaming the first line (wisp_complete_params.on_partial, grammar/complete.c) with the shipped
 * model (models/wisp-default.gguf), whose block answers have several lines where the reference
 * models' noise may have none: the first line comes once, while the greedy candidate is still
 * being decoded, trimmed as the final answer begins; never for a single-line shape, mode NONE or
 * after cancellation; and the final answers are those of a call without the callback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine_fixture.h"
#include "read_file.h"
#include "wisp_grammar.h"

#define MODEL_PATH "models/wisp-default.gguf"

static int setup(void **state) { return engine_fixture_setup(state, MODEL_PATH); }

static int teardown(void **state) { return engine_fixture_teardown(state); }

/* What the callbacks saw during one call. */
typedef struct seen {
    int partials;
    char text[512];
    size_t len;
    int tokens;          /* should_stop calls so far: one per generated token */
    int tokens_at_first; /* ... when the first line came */
    int cancel_at;       /* should_stop answers true from this call on (0 = never) */
    bool cancelled;
} seen;

static bool on_stop(void *user) {
    seen *s = user;
    s->tokens++;
    if (s->cancel_at && s->tokens >= s->cancel_at) s->cancelled = true;
    return s->cancelled;
}

static void on_partial(void *user, const char *text, size_t len) {
    seen *s = user;
    assert_false(s->cancelled);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    s->partials++;
    s->tokens_at_first = s->tokens;
    assert_true(len < sizeof s->text);
    memcpy(s->text, text, len + 1);
    s->len = len;
}

/* The document `src` with "@@" marking the cursor, opened; *pos gets the cursor. */
static wisp_doc *open_at(fixture *fx, const char *uri, wisp_lang lang, const char *src, size_t *pos,
                         char **text) {
    const char *m = strstr(src, "@@");
    assert_non_null(m);
    *pos = (size_t)(m - src);
    size_t n = strlen(src) - 2;
    *text = malloc(n + 1);
    memcpy(*text, src, *pos);
    memcpy(*text + *pos, m + 2, n - *pos + 1);
    wisp_error err;
    wisp_doc *d = wisp_doc_open(wisp_engine_docs(fx->engine), uri, lang, *text, n, &err);
    if (!d) fprintf(stderr, "open %s: %s\n", uri, err.message);
    assert_non_null(d);
    return d;
}

/* wisp_complete with the callbacks reporting to `s`. */
static wisp_status complete_watched(fixture *fx, wisp_doc *d, size_t pos, wisp_complete_params p, seen *s,
                                    wisp_completion *c) {
    p.on_partial = on_partial;
    p.user = s;
    wisp_error err;
    return wisp_complete(fx->engine, d, pos, &p, c, &err);
}

/* Empty bodies that the shipped model fills with several lines. */
static const struct {
    const char *uri;
    wisp_lang lang;
    const char *src;
} blocks[] = {
    {"stats.py", WISP_LANG_PYTHON,
     "def mean_and_max(values):\n    total = 0\n    largest = None\n    @@\n\n\nprint(mean_and_max([1, 2, 3]))\n"},
    {"sum.js", WISP_LANG_JAVASCRIPT,
     "function sumOfSquares(values) {\n  let total = 0;\n  @@\n}\n\nmodule.exports = { sumOfSquares };\n"},
    {"count.c", WISP_LANG_C, "#include <stdio.h>\n\nint count_lines(FILE *f) {\n    int n = 0, c;\n    @@\n}\n"},
    /* CRLF line ends: the answer's line ends follow the file, the streamed line has none */
    {"crlf.js", WISP_LANG_JAVASCRIPT,
     "function sumOfSquares(values) {\r\n  let total = 0;\r\n  @@\r\n}\r\n\r\nmodule.exports = { sumOfSquares };\r\n"},
};

/* A block: the first line once, before decoding ended, and the final answer begins with it and
 * goes on with a line break; the same answer as without the callback. */
static void test_block_streams_first_line(void **state) {
    fixture *fx = *state;
    for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
        size_t pos;
        char *text;
        wisp_doc *d = open_at(fx, blocks[b].uri, blocks[b].lang, blocks[b].src, &pos, &text);
        wisp_complete_params p = wisp_complete_default_params();
        wisp_completion c;
        wisp_error err;
        assert_int_equal(wisp_complete(fx->engine, d, pos, &p, &c, &err), WISP_OK);
        assert_int_equal(c.n_candidates, 1);
        char *plain = strdup(c.candidates[0].text);
        assert_non_null(memchr(plain, '\n', strlen(plain))); /* the fixture is a multi-line answer */

        seen s = {0};
        p.should_stop = on_stop;
        p.on_partial = on_partial;
        p.user = &s;
        assert_int_equal(wisp_complete(fx->engine, d, pos, &p, &c, &err), WISP_OK);
        assert_int_equal(c.n_candidates, 1);
        assert_string_equal(c.candidates[0].text, plain); /* the callback changes no answer */
        assert_int_equal(s.partials, 1);
        if (getenv("WISP_TEST_VERBOSE"))
            fprintf(stderr, "%s: first line after %d of %u tokens: [%s]\n", blocks[b].uri, s.tokens_at_first,
                    c.timings.n_generated, s.text);
        assert_true(s.len > 0);
        assert_null(memchr(s.text, '\n', s.len)); /* these answers start on the cursor's line */
        assert_null(memchr(s.text, '\r', s.len));
        assert_true(s.text[0] != ' ' && s.text[0] != '\t');
        /* a preview of the answer: its first line, then the rest after a line break */
        assert_memory_equal(c.candidates[0].text, s.text, s.len);
        const char *rest = c.candidates[0].text + s.len;
        while (*rest == ' ' || *rest == '\t') rest++; /* trailing blanks the final line keeps */
        assert_true(rest[0] == '\n' || (rest[0] == '\r' && rest[1] == '\n'));
        if (strstr(blocks[b].src, "\r\n")) assert_non_null(strstr(c.candidates[0].text, "\r\n"));
        /* while decoding was still going on */
        assert_true(s.tokens_at_first < (int)c.timings.n_generated);
        free(plain);
        free(text);
        wisp_doc_close(d);
    }
}

/* Several candidates: only the greedy one streams, once. */
static void test_once_per_call(void **state) {
    fixture *fx = *state;
    size_t pos;
    char *text;
    wisp_doc *d = open_at(fx, blocks[1].uri, blocks[1].lang, blocks[1].src, &pos, &text);
    seen s = {0};
    wisp_complete_params p = wisp_complete_default_params();
    p.n_candidates = 3;
    p.seed = 11;
    wisp_completion c;
    assert_int_equal(complete_watched(fx, d, pos, p, &s, &c), WISP_OK);
    assert_int_equal(s.partials, 1);
    /* the greedy answer begins with it (it may rank after a sampled one) */
    bool found = false;
    for (size_t i = 0; i < c.n_candidates; i++)
        found |= strncmp(c.candidates[i].text, s.text, s.len) == 0 && c.candidates[i].text_len > s.len;
    assert_true(found);
    free(text);
    wisp_doc_close(d);
}

/* One-line shapes (mid-line, the end of a line with code, call arguments that end the line) and
 * a maxLines of 1: the answer is whole at its first line break, nothing streams. */
static void test_never_single_line(void **state) {
    fixture *fx = *state;
    static const struct {
        const char *uri;
        wisp_lang lang;
        const char *src;
        uint32_t max_lines;
    } cases[] = {
        {"m.py", WISP_LANG_PYTHON, "def area(w, h):\n    return w@@ * h\n", 0},
        {"e.py", WISP_LANG_PYTHON, "import os\n\ndef home():\n    path = os.path.@@\n", 0},
        {"a.js", WISP_LANG_JAVASCRIPT, "const total = values.reduce(@@\n", 0},
        {"one.js", WISP_LANG_JAVASCRIPT,
         "function sumOfSquares(values) {\n  let total = 0;\n  @@\n}\n\nmodule.exports = { sumOfSquares };\n", 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t pos;
        char *text;
        wisp_doc *d = open_at(fx, cases[k].uri, cases[k].lang, cases[k].src, &pos, &text);
        seen s = {0};
        wisp_complete_params p = wisp_complete_default_params();
        p.max_lines = cases[k].max_lines;
        p.max_tokens = 48;
        wisp_completion c;
        assert_int_equal(complete_watched(fx, d, pos, p, &s, &c), WISP_OK);
        assert_int_equal(s.partials, 0);
        free(text);
        wisp_doc_close(d);
    }
}

/* Mode NONE (a comment, a string) never runs the model, and never streams. */
static void test_never_mode_none(void **state) {
    fixture *fx = *state;
    size_t pos;
    char *text;
    wisp_doc *d = open_at(fx, "none.py", WISP_LANG_PYTHON, "def f():\n    # compute the @@\n    pass\n", &pos, &text);
    seen s = {0};
    wisp_complete_params p = wisp_complete_default_params();
    wisp_completion c;
    assert_int_equal(complete_watched(fx, d, pos, p, &s, &c), WISP_OK);
    assert_int_equal(c.mode, WISP_MODE_NONE);
    assert_int_equal(s.partials, 0);
    free(text);
    wisp_doc_close(d);
}

/* Cancelled before the first line is complete: WISP_ERR_CANCELLED and no first line (on_partial
 * also fails the test if it comes once should_stop has said true). */
static void test_never_after_cancel(void **state) {
    fixture *fx = *state;
    for (int at = 1; at <= 3; at++) {
        size_t pos;
        char *text;
        wisp_doc *d = open_at(fx, blocks[1].uri, blocks[1].lang, blocks[1].src, &pos, &text);
        seen s = {.cancel_at = at};
        wisp_complete_params p = wisp_complete_default_params();
        p.should_stop = on_stop;
        wisp_completion c;
        assert_int_equal(complete_watched(fx, d, pos, p, &s, &c), WISP_ERR_CANCELLED);
        assert_int_equal(c.n_candidates, 0);
        assert_int_equal(s.partials, 0);
        free(text);
        wisp_doc_close(d);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_streams_first_line),
        cmocka_unit_test(test_once_per_call),
        cmocka_unit_test(test_never_single_line),
        cmocka_unit_test(test_never_mode_none),
        cmocka_unit_test(test_never_after_cancel),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
