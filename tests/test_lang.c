/* The language registry: extensions and editor ids map to the right grammar, every grammar loads,
 * and every embedded query compiles against its grammar. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "doc.h"
#include "lang.h"
#include "wisp_grammar.h"

static void test_from_path(void **state) {
    (void)state;
    struct { const char *path; wisp_lang lang; } cases[] = {
        {"a.py", WISP_LANG_PYTHON}, {"dir/stub.pyi", WISP_LANG_PYTHON}, {"X.PY", WISP_LANG_PYTHON},
        {"a.js", WISP_LANG_JAVASCRIPT}, {"a.mjs", WISP_LANG_JAVASCRIPT}, {"a.cjs", WISP_LANG_JAVASCRIPT},
        {"a.jsx", WISP_LANG_JAVASCRIPT}, {"a.ts", WISP_LANG_TYPESCRIPT}, {"a.mts", WISP_LANG_TYPESCRIPT},
        {"a.cts", WISP_LANG_TYPESCRIPT}, {"src/App.tsx", WISP_LANG_TSX}, {"main.c", WISP_LANG_C},
        {"include/wisp.h", WISP_LANG_C}, {"a.d.ts", WISP_LANG_TYPESCRIPT},
        {"Makefile", WISP_LANG_NONE}, {"a.rs", WISP_LANG_NONE}, {".py", WISP_LANG_NONE},
        {"dir.py/file", WISP_LANG_NONE}, {"a.", WISP_LANG_NONE}, {"", WISP_LANG_NONE},
        {"a.pyx", WISP_LANG_NONE}, {"a.tsxx", WISP_LANG_NONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wisp_lang got = wisp_lang_from_path(cases[i].path);
        if (got != cases[i].lang) fail_msg("%s: got %s, want %s", cases[i].path, wisp_lang_name(got), wisp_lang_name(cases[i].lang));
    }
    assert_int_equal(wisp_lang_from_path(NULL), WISP_LANG_NONE);
}

static void test_from_id_and_name(void **state) {
    (void)state;
    assert_int_equal(wisp_lang_from_id("python"), WISP_LANG_PYTHON);
    assert_int_equal(wisp_lang_from_id("javascript"), WISP_LANG_JAVASCRIPT);
    assert_int_equal(wisp_lang_from_id("javascriptreact"), WISP_LANG_JAVASCRIPT);
    assert_int_equal(wisp_lang_from_id("typescript"), WISP_LANG_TYPESCRIPT);
    assert_int_equal(wisp_lang_from_id("typescriptreact"), WISP_LANG_TSX);
    assert_int_equal(wisp_lang_from_id("c"), WISP_LANG_C);
    assert_int_equal(wisp_lang_from_id("cpp"), WISP_LANG_NONE);
    assert_int_equal(wisp_lang_from_id(""), WISP_LANG_NONE);
    assert_int_equal(wisp_lang_from_id(NULL), WISP_LANG_NONE);
    for (int l = WISP_LANG_NONE + 1; l < WISP_LANG_COUNT; l++)
        assert_int_equal(wisp_lang_from_name(wisp_lang_name((wisp_lang)l)), l);
    assert_string_equal(wisp_lang_name(WISP_LANG_NONE), "none");
    assert_string_equal(wisp_lang_name((wisp_lang)99), "none");
    assert_string_equal(wisp_lang_name(WISP_LANG_TSX), "tsx");
}

// Every grammar is accepted by the tree-sitter core we link (ABI 13..15).
static void test_grammars_load(void **state) {
    (void)state;
    TSParser *p = ts_parser_new();
    for (int l = WISP_LANG_NONE + 1; l < WISP_LANG_COUNT; l++) {
        const TSLanguage *ts = wisp__lang_ts((wisp_lang)l);
        assert_non_null(ts);
        assert_true(ts_parser_set_language(p, ts));
    }
    assert_null(wisp__lang_ts(WISP_LANG_NONE));
    ts_parser_delete(p);
}

// Every (language, kind) has an embedded query that compiles; a broken .scm names itself.
static void test_queries_compile(void **state) {
    (void)state;
    for (int l = WISP_LANG_NONE + 1; l < WISP_LANG_COUNT; l++) {
        for (int k = 0; k < WISP_Q_COUNT; k++) {
            size_t len = 0;
            const char *src = wisp__query_source((wisp_lang)l, (wisp__query_kind)k, &len);
            if (!src || len == 0) fail_msg("no query %s for %s", wisp__query_kind_name(k), wisp_lang_name(l));
            wisp_error err = {0};
            TSQuery *q = wisp__query_compile((wisp_lang)l, (wisp__query_kind)k, &err);
            if (!q) fail_msg("%s", err.message);
            assert_true(ts_query_pattern_count(q) > 0);
            ts_query_delete(q);
        }
    }
    wisp_error err = {0};
    assert_null(wisp__query_compile(WISP_LANG_NONE, WISP_Q_SCOPES, &err));
    assert_int_equal(err.code, WISP_ERR_LANGUAGE);
}

// The set compiles each query once and hands the same object back.
static void test_queries_cached_per_set(void **state) {
    (void)state;
    wisp_docs *docs = wisp_docs_new();
    assert_non_null(docs);
    const TSQuery *a = wisp__docs_query(docs, WISP_LANG_C, WISP_Q_DEFINITIONS, NULL);
    const TSQuery *b = wisp__docs_query(docs, WISP_LANG_C, WISP_Q_DEFINITIONS, NULL);
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_null(wisp__docs_query(docs, WISP_LANG_NONE, WISP_Q_DEFINITIONS, NULL));
    wisp_docs_free(docs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_path),
        cmocka_unit_test(test_from_id_and_name),
        cmocka_unit_test(test_grammars_load),
        cmocka_unit_test(test_queries_compile),
        cmocka_unit_test(test_queries_cached_per_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
