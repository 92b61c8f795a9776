/* Documents (grammar/doc.c): open / edit / close in a set, errors as values, and incremental
 * reparses that give the same tree as a fresh parse after random edit sequences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "doc.h"
#include "wisp_grammar.h"

static void test_open_find_close(void **state) {
    (void)state;
    wisp_docs *docs = wisp_docs_new();
    assert_non_null(docs);
    wisp_error err = {0};
    wisp_doc *a = wisp_doc_open(docs, "file:///a.py", WISP_LANG_PYTHON, "x = 1\n", 6, &err);
    wisp_doc *b = wisp_doc_open(docs, "file:///b.c", WISP_LANG_C, "int y;\n", 7, &err);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(wisp_docs_count(docs), 2);
    assert_ptr_equal(wisp_docs_find(docs, "file:///b.c"), b);
    assert_ptr_equal(wisp_docs_at(docs, 0), a);
    assert_null(wisp_docs_at(docs, 2));
    assert_null(wisp_docs_find(docs, "nope"));
    assert_string_equal(wisp_doc_uri(a), "file:///a.py");
    assert_int_equal(wisp_doc_lang(b), WISP_LANG_C);
    assert_ptr_equal(wisp_doc_set(a), docs);
    size_t len;
    assert_string_equal(wisp_doc_text(a, &len), "x = 1\n");
    assert_int_equal(len, 6);
    assert_int_equal(wisp_doc_line_count(a), 2);
    assert_false(wisp_doc_has_error(a));

    /* the same uri twice, no grammar, NULLs */
    assert_null(wisp_doc_open(docs, "file:///a.py", WISP_LANG_PYTHON, "", 0, &err));
    assert_int_equal(err.code, WISP_ERR_INVALID_ARG);
    assert_null(wisp_doc_open(docs, "x.txt", WISP_LANG_NONE, "", 0, &err));
    assert_int_equal(err.code, WISP_ERR_LANGUAGE);
    assert_null(wisp_doc_open(docs, "x.py", (wisp_lang)42, "", 0, &err));
    assert_int_equal(err.code, WISP_ERR_LANGUAGE);
    assert_null(wisp_doc_open(NULL, "x.py", WISP_LANG_PYTHON, "", 0, &err));
    assert_null(wisp_doc_open(docs, NULL, WISP_LANG_PYTHON, "", 0, &err));
    assert_null(wisp_doc_open(docs, "x.py", WISP_LANG_PYTHON, NULL, 3, &err));
    assert_int_equal(wisp_docs_count(docs), 2);

    wisp_doc_close(a);
    assert_int_equal(wisp_docs_count(docs), 1);
    assert_ptr_equal(wisp_docs_at(docs, 0), b);
    /* reopening after close works */
    a = wisp_doc_open(docs, "file:///a.py", WISP_LANG_PYTHON, NULL, 0, &err);
    assert_non_null(a);
    assert_int_equal(wisp_doc_line_count(a), 1);
    wisp_doc_close(NULL);
    wisp_docs_free(docs); /* closes b and a */
    wisp_docs_free(NULL);
}

static void test_edit_basics(void **state) {
    (void)state;
    wisp_docs *docs = wisp_docs_new();
    wisp_error err = {0};
    wisp_doc *d = wisp_doc_open(docs, "m.js", WISP_LANG_JAVASCRIPT, "let a = 1;\n", 11, &err);
    assert_non_null(d);
    assert_int_equal(wisp_doc_version(d), 0);
    assert_int_equal(wisp_doc_edit(d, 8, 9, "42", 2, &err), WISP_OK); /* replace */
    assert_string_equal(wisp_doc_text(d, NULL), "let a = 42;\n");
    assert_int_equal(wisp_doc_edit(d, 12, 12, "let b = a;\n", 11, &err), WISP_OK); /* append */
    assert_int_equal(wisp_doc_edit(d, 0, 4, NULL, 0, &err), WISP_OK); /* delete */
    assert_string_equal(wisp_doc_text(d, NULL), "a = 42;\nlet b = a;\n");
    assert_int_equal(wisp_doc_version(d), 3);
    assert_int_equal(wisp_doc_line_count(d), 3);
    /* bad ranges leave the document as it was */
    assert_int_equal(wisp_doc_edit(d, 5, 4, "x", 1, &err), WISP_ERR_RANGE);
    assert_int_equal(wisp_doc_edit(d, 0, 100, "x", 1, &err), WISP_ERR_RANGE);
    assert_non_null(strstr(err.message, "m.js"));
    assert_int_equal(wisp_doc_edit(d, 0, 0, NULL, 1, &err), WISP_ERR_INVALID_ARG);
    assert_int_equal(wisp_doc_edit(NULL, 0, 0, "x", 1, &err), WISP_ERR_INVALID_ARG);
    assert_string_equal(wisp_doc_text(d, NULL), "a = 42;\nlet b = a;\n");
    assert_int_equal(wisp_doc_version(d), 3);
    /* a syntax error appears and goes away */
    assert_int_equal(wisp_doc_edit(d, 0, 0, "((", 2, &err), WISP_OK);
    assert_true(wisp_doc_has_error(d));
    assert_int_equal(wisp_doc_edit(d, 0, 2, "", 0, &err), WISP_OK);
    assert_false(wisp_doc_has_error(d));
    /* full replacement */
    assert_int_equal(wisp_doc_set_text(d, "x\r\ny", 4, &err), WISP_OK);
    assert_int_equal(wisp_doc_line_count(d), 2);
    char *tree = wisp_doc_tree_string(d);
    assert_non_null(tree);
    assert_non_null(strstr(tree, "program"));
    free(tree);
    wisp_docs_free(docs);
}

// NUL bytes, invalid UTF-8 and CRLF are just bytes to a document.
static void test_odd_bytes(void **state) {
    (void)state;
    wisp_docs *docs = wisp_docs_new();
    const char t[] = "int a;\0\xff\xfe\r\nint b;\r\n";
    wisp_doc *d = wisp_doc_open(docs, "odd.c", WISP_LANG_C, t, sizeof t - 1, NULL);
    assert_non_null(d);
    size_t len;
    const char *s = wisp_doc_text(d, &len);
    assert_int_equal(len, sizeof t - 1);
    assert_memory_equal(s, t, len);
    assert_int_equal(wisp_doc_edit(d, 6, 7, "\0\0", 2, NULL), WISP_OK);
    assert_int_equal(wisp_doc_text(d, &len)[7], '\0');
    assert_int_equal(len, sizeof t);
    wisp_docs_free(docs);
}

/* ---- random edits: incremental == fresh ---------------------------------------------------- */

static const char *const seeds[WISP_LANG_COUNT] = {
    [WISP_LANG_PYTHON] = "import os\n\nclass A:\n    def f(self, x):\n        if x:\n            return [x, {'k': 1}]\n        return None\n\n\ndef g(a, b=2):\n    s = \"h\xc3\xa9llo\"\n    return a + b  # comment\n",
    [WISP_LANG_JAVASCRIPT] = "import x from 'y';\nclass A {\n  f(a) {\n    if (a) { return [a, {k: 1}]; }\n    return `t ${a}`;\n  }\n}\nconst g = (a, b = 2) => a + b; // c\n",
    [WISP_LANG_TYPESCRIPT] = "interface P { x: number; y?: string }\nfunction f<T>(a: T[]): T | undefined {\n  for (const v of a) { if (v) return v; }\n  return undefined;\n}\nexport type Q = P & { z: boolean };\n",
    [WISP_LANG_TSX] = "export function C({ n }: { n: number }) {\n  const [s, set] = useState(n);\n  return <div onClick={() => set(s + 1)}>{s} items</div>;\n}\n",
    [WISP_LANG_C] = "#include <stdio.h>\n#define N 10\ntypedef struct p { int x, y; } p;\nint f(const p *a, int n) {\n  int s = 0;\n  for (int i = 0; i < n; i++) { s += a[i].x; }\n  /* done */\n  return s;\n}\n",
};

static const char *const snippets[] = {
    "", "x", "(", ")", "{", "}", "[", "]", "\n", "\r\n", "  ", "\t", ":", ";", ",", "\"", "'", "`", "#", "//",
    "/*", "*/", "if", "def ", "return ", "int ", "=", "+", "\xc3\xa9", "\xf0\x9f\x98\x80", "\xff", "\0",
    "foo(a, b)", "{ x: 1 }", "\n    pass\n", "<div>", "${", "f\"{a}\"", "class X:\n",
};

// Walks two trees in step and compares every node's type, byte range and row/column range
// (ts_node_string shows neither bytes nor points, and a wrong edit point shows only there).
static void same_nodes(TSNode a, TSNode b, const char *what) {
    TSPoint as = ts_node_start_point(a), bs = ts_node_start_point(b);
    TSPoint ae = ts_node_end_point(a), be = ts_node_end_point(b);
    if (strcmp(ts_node_type(a), ts_node_type(b)) || ts_node_start_byte(a) != ts_node_start_byte(b) ||
        ts_node_end_byte(a) != ts_node_end_byte(b) || as.row != bs.row || as.column != bs.column ||
        ae.row != be.row || ae.column != be.column || ts_node_child_count(a) != ts_node_child_count(b))
        fail_msg("%s: node %s [%u, %u) (%u:%u-%u:%u) vs fresh %s [%u, %u) (%u:%u-%u:%u)", what, ts_node_type(a),
                 ts_node_start_byte(a), ts_node_end_byte(a), as.row, as.column, ae.row, ae.column, ts_node_type(b),
                 ts_node_start_byte(b), ts_node_end_byte(b), bs.row, bs.column, be.row, be.column);
    for (uint32_t i = 0; i < ts_node_child_count(a); i++) same_nodes(ts_node_child(a, i), ts_node_child(b, i), what);
}

static unsigned rng_state = 7;
static unsigned rng(void) {
    rng_state = rng_state * 1103515245u + 12345u;
    return (rng_state >> 16) & 0x7fff;
}

static void check_random_edits(wisp_lang lang, int n_edits) {
    wisp_docs *docs = wisp_docs_new();
    wisp_docs *fresh_docs = wisp_docs_new();
    const char *seed = seeds[lang];
    wisp_doc *d = wisp_doc_open(docs, "r", lang, seed, strlen(seed), NULL);
    assert_non_null(d);
    for (int i = 0; i < n_edits; i++) {
        size_t len;
        wisp_doc_text(d, &len);
        size_t start = len ? rng() % (len + 1) : 0;
        size_t old_end = start + (rng() % 4 == 0 ? 0 : rng() % 6);
        if (old_end > len) old_end = len;
        const char *ins = snippets[rng() % (sizeof snippets / sizeof snippets[0])];
        size_t ins_len = ins[0] ? strlen(ins) : (rng() % 2); /* "" or one NUL byte */
        assert_int_equal(wisp_doc_edit(d, start, old_end, ins, ins_len, NULL), WISP_OK);

        const char *text = wisp_doc_text(d, &len);
        wisp_doc *f = wisp_doc_open(fresh_docs, "f", lang, text, len, NULL);
        assert_non_null(f);
        char *a = wisp_doc_tree_string(d), *b = wisp_doc_tree_string(f);
        if (strcmp(a, b))
            fail_msg("%s, edit %d ([%zu, %zu) <- %zu bytes): incremental tree differs from a fresh parse\n"
                     "incremental: %s\nfresh:       %s", wisp_lang_name(lang), i, start, old_end, ins_len, a, b);
        free(a);
        free(b);
        same_nodes(wisp__doc_root(d), wisp__doc_root(f), wisp_lang_name(lang));
        /* positions stay consistent with the new text */
        wisp_pos p;
        assert_int_equal(wisp_doc_pos_at_u8(d, len, &p, NULL), WISP_OK);
        assert_int_equal(p.line + 1, wisp_doc_line_count(d));
        wisp_doc_close(f);
    }
    wisp_docs_free(fresh_docs);
    wisp_docs_free(docs);
}

static void test_random_edits_python(void **state) { (void)state; check_random_edits(WISP_LANG_PYTHON, 300); }
static void test_random_edits_javascript(void **state) { (void)state; check_random_edits(WISP_LANG_JAVASCRIPT, 300); }
static void test_random_edits_typescript(void **state) { (void)state; check_random_edits(WISP_LANG_TYPESCRIPT, 300); }
static void test_random_edits_tsx(void **state) { (void)state; check_random_edits(WISP_LANG_TSX, 200); }
static void test_random_edits_c(void **state) { (void)state; check_random_edits(WISP_LANG_C, 300); }

// Typing a file one character at a time from empty gives the fresh tree at the end (the common
// editor pattern: many one-byte insertions, each reusing the previous tree).
static void test_typing(void **state) {
    (void)state;
    for (int l = WISP_LANG_NONE + 1; l < WISP_LANG_COUNT; l++) {
        wisp_docs *docs = wisp_docs_new();
        wisp_doc *d = wisp_doc_open(docs, "t", (wisp_lang)l, "", 0, NULL);
        const char *s = seeds[l];
        for (size_t i = 0; s[i]; i++) assert_int_equal(wisp_doc_edit(d, i, i, s + i, 1, NULL), WISP_OK);
        wisp_doc *f = wisp_doc_open(docs, "f", (wisp_lang)l, s, strlen(s), NULL);
        char *a = wisp_doc_tree_string(d), *b = wisp_doc_tree_string(f);
        assert_string_equal(a, b);
        free(a);
        free(b);
        same_nodes(wisp__doc_root(d), wisp__doc_root(f), "typing");
        assert_int_equal(wisp_doc_version(d), strlen(s));
        wisp_docs_free(docs);
    }
}

/* Text on which tree-sitter's error recovery is super-linear (an unclosed C comment full of
 * comment openers: ~1 M operations, seconds, for 6 KB) opens, edits and closes in bounded work:
 * the parse gives up at its budget, the document keeps its text and the tree of an empty text,
 * and the edit that closes the comment makes it parse again. Found by fuzz_doc / fuzz_pipeline. */
static void test_parse_budget(void **state) {
    (void)state;
    size_t n = 3 * 2000;
    char *text = malloc(n + 3);
    for (size_t i = 0; i < n; i += 3) memcpy(text + i, "/* ", 3);
    wisp_docs *docs = wisp_docs_new();
    wisp_error err = {0};
    wisp_doc *d = wisp_doc_open(docs, "file:///x.c", WISP_LANG_C, text, n, &err);
    assert_non_null(d);
    assert_true(wisp_doc_parse_gave_up(d));
    assert_true(wisp_doc_has_error(d));
    size_t len;
    assert_memory_equal(wisp_doc_text(d, &len), text, n);
    assert_int_equal(ts_node_end_byte(wisp__doc_root(d)), 0); /* no node past the text */
    /* a context still comes (no syntax in it) */
    wisp_context *ctx = NULL;
    assert_int_equal(wisp_context_extract(d, n / 2, NULL, &ctx, &err), WISP_OK);
    wisp_context_free(ctx);
    /* an edit that keeps the comment open: still over the budget, the text follows the edit */
    assert_int_equal(wisp_doc_edit(d, 0, 0, "x", 1, &err), WISP_OK);
    assert_true(wisp_doc_parse_gave_up(d));
    assert_int_equal(wisp_doc_edit(d, 0, 1, "", 0, &err), WISP_OK);
    /* closing the comment: one comment, parsed */
    assert_int_equal(wisp_doc_edit(d, n, n, "*/", 2, &err), WISP_OK);
    assert_false(wisp_doc_parse_gave_up(d));
    assert_false(wisp_doc_has_error(d));
    char *tree = wisp_doc_tree_string(d);
    assert_string_equal(tree, "(translation_unit (comment))");
    free(tree);
    /* and back */
    assert_int_equal(wisp_doc_set_text(d, text, n, &err), WISP_OK);
    assert_true(wisp_doc_parse_gave_up(d));
    /* ordinary code is far below the budget */
    assert_int_equal(wisp_doc_set_text(d, "int f(void) { return 1; }\n", 26, &err), WISP_OK);
    assert_false(wisp_doc_parse_gave_up(d));
    /* a document over WISP_DOC_MAX_PARSE is kept and edited, not parsed */
    size_t big = WISP_DOC_MAX_PARSE + 1;
    char *huge = malloc(big);
    for (size_t i = 0; i < big; i++) huge[i] = i % 16 == 15 ? '\n' : i % 16 ? ' ' : ';';
    assert_int_equal(wisp_doc_set_text(d, huge, big, &err), WISP_OK);
    assert_true(wisp_doc_parse_gave_up(d));
    assert_int_equal(wisp_doc_edit(d, 1024, big, "", 0, &err), WISP_OK); /* back under: parsed */
    assert_false(wisp_doc_parse_gave_up(d));
    assert_int_equal(wisp_doc_text(d, &len)[0], ';');
    assert_int_equal(len, 1024);
    free(huge);
    wisp_docs_free(docs);
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_find_close),
        cmocka_unit_test(test_edit_basics),
        cmocka_unit_test(test_odd_bytes),
        cmocka_unit_test(test_random_edits_python),
        cmocka_unit_test(test_random_edits_javascript),
        cmocka_unit_test(test_random_edits_typescript),
        cmocka_unit_test(test_random_edits_tsx),
        cmocka_unit_test(test_random_edits_c),
        cmocka_unit_test(test_typing),
        cmocka_unit_test(test_parse_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
