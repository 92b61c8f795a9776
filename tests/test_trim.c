/* Trimming rules (grammar/trim.c), one small table per rule: each row is a cursor (prefix and
 * suffix), what the model said, and what must be inserted. No model, no parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trim.h"

typedef struct trim_case {
    const char *name;
    wisp_lang lang;
    trim_shape shape;
    const char *prefix, *suffix, *raw, *want;
    uint32_t max_lines;
} trim_case;

#define PY WISP_LANG_PYTHON
#define JS WISP_LANG_JAVASCRIPT
#define TS WISP_LANG_TYPESCRIPT
#define CC WISP_LANG_C
#define LINE TRIM_SHAPE_LINE
#define BLOCK TRIM_SHAPE_BLOCK
#define ARGS TRIM_SHAPE_ARGS

static char *run_case(const trim_case *c, bool syntax) {
    size_t np = strlen(c->prefix), ns = strlen(c->suffix);
    char *doc = malloc(np + ns + 1);
    memcpy(doc, c->prefix, np);
    memcpy(doc + np, c->suffix, ns + 1);
    trim_input in = {
        .lang = c->lang, .shape = c->shape, .prefix = c->prefix, .prefix_len = np,
        .suffix = c->suffix, .suffix_len = ns, .max_lines = c->max_lines,
        .style = trim_detect_style(doc, np + ns), .syntax = syntax, .repeat = syntax,
    };
    free(doc);
    char *out = NULL;
    size_t len = 0;
    wisp_error err;
    assert_int_equal(trim_completion(&in, c->raw, strlen(c->raw), &out, &len, &err), WISP_OK);
    assert_int_equal(strlen(out), len);
    return out;
}

static void run_table(const trim_case *cases, size_t n) {
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        char *got = run_case(&cases[i], true);
        if (strcmp(got, cases[i].want) != 0) {
            fprintf(stderr, "FAIL %s\n  raw:  [%s]\n  want: [%s]\n  got:  [%s]\n", cases[i].name,
                    cases[i].raw, cases[i].want, got);
            failed++;
        }
        free(got);
    }
    assert_int_equal(failed, 0);
}

#define RUN(table) run_table(table, sizeof table / sizeof table[0])

/* Single-line answers end at the first newline; trailing blanks at a line end go. */
static void test_line_stops(void **state) {
    (void)state;
    static const trim_case t[] = {
        {"newline", PY, LINE, "    x = ", "\n    return x\n", "compute(a)\n    y = 2\n", "compute(a)", 0},
        {"newline first", PY, LINE, "    x = ", "\n", "\nfoo()", "", 0},
        {"trailing spaces at eol", JS, LINE, "  const a = ", "\n", "b + c;   \nfoo", "b + c;", 0},
        {"whitespace only", CC, LINE, "  int a = ", "\n", "   \t ", "", 0},
        {"empty", CC, LINE, "  int a = ", "\n", "", "", 0},
        {"crlf in raw", CC, LINE, "  int a = ", "\n", "b;\r\nint c;", "b;", 0},
        {"cut utf-8 dropped", PY, LINE, "    s = ", "\n", "'caf\xC3\xA9' + '\xE2\x82", "'caf\xC3\xA9' + ''", 0},
        {"whole utf-8 kept", PY, LINE, "    s = ", "\n", "x  # \xE2\x82\xAC", "x  # \xE2\x82\xAC", 0},
    };
    RUN(t);
}

/* Closers and quotes that the rest of the line already holds are not repeated. */
static void test_suffix_closers(void **state) {
    (void)state;
    static const trim_case t[] = {
        {"paren in suffix", PY, LINE, "    print(", ")\n", "x, y)\n", "x, y", 0},
        {"paren then more", PY, LINE, "    foo(bar(", "))\n", "x)) + 1\n", "x", 0},
        {"rest of line repeated", PY, LINE, "    if x ", ":\n        pass\n", "is None:\n", "is None", 0},
        {"rest repeated keeps space", PY, LINE, "    y = ", " else None\n", "x if x else None", "x if x", 0},
        {"quote in suffix", JS, LINE, "  const s = \"hel", "\";\n", "lo world\";", "lo world", 0},
        {"bracket closes prefix, none in suffix", JS, LINE, "  foo(a, ", "\n", "b);\n", "b);", 0},
        {"index closer", TS, LINE, "  const v = arr[", "];\n", "i + 1];", "i + 1", 0},
        {"whole rest repeated", CC, LINE, "  x = ", "y + 1;\n", "y + 1;", "", 0},
        {"unmatched closer dropped", CC, LINE, "  x = 1", "\n", ";)", ";", 0},
        {"semicolon tail", JS, LINE, "  let a = f(", ");\n", "1, 2);", "1, 2", 0},
    };
    RUN(t);
}

/* What the answer opens on its one line it closes, unless the line goes on below. */
static void test_balance(void **state) {
    (void)state;
    static const trim_case t[] = {
        {"unclosed paren closed", PY, LINE, "    x = ", "\n", "max(a, b", "max(a, b)", 0},
        {"unclosed nested", JS, LINE, "  const v = ", "\n", "f(g(a", "f(g(a))", 0},
        {"unclosed quote closed", PY, LINE, "    name = ", "\n", "\"hello", "\"hello\"", 0},
        {"single quote closed", JS, LINE, "  const a = ", "\n", "'abc", "'abc'", 0},
        {"open brace at eol stays", JS, LINE, "  if (x) ", "\n", "{\n    y();", "{", 0},
        {"trailing comma stays", PY, LINE, "    foo(", "\n", "a,\n", "a,", 0},
        {"open paren at eol stays", CC, LINE, "    call", "\n", "(\n", "(", 0},
        {"suffix closes it", PY, LINE, "    x = ", ")\n", "max(a, b", "max(a, b", 0},
        {"brackets inside string ignored", PY, LINE, "    s = ", "\n", "\"(\" + t", "\"(\" + t", 0},
        {"comment ignored", CC, LINE, "    x = 1;", "\n", " // (see above", " // (see above", 0},
    };
    RUN(t);
}

/* Call arguments end at the call's closer; they may span lines. */
static void test_args(void **state) {
    (void)state;
    static const trim_case t[] = {
        {"simple", PY, ARGS, "    foo(", ")\n", "a, b=2)\n    next()", "a, b=2", 0},
        {"nested call", JS, ARGS, "  run(", ");\n", "f(x), [1, 2]);\n", "f(x), [1, 2]", 0},
        {"multi-line", TS, ARGS, "  call(", ");\n", "{\n    a: 1,\n  });\n", "{\n    a: 1,\n  }", 0},
        {"no closer in suffix", CC, ARGS, "  printf(", "\n", "\"%d\\n\", x);\n", "\"%d\\n\", x)", 0},
        {"paren in string", CC, ARGS, "  puts(", ");\n", "\")\");", "\")\"", 0},
        {"max lines", JS, ARGS, "  f(", ");\n", "a,\nb,\nc,\nd)", "a,\nb,", 2},
        {"object arg with inner calls", JS, ARGS, "  } else {\n    menu.push(", ")\n  }\n}\n",
         "{\n      label: l('x'),\n      click: function () {\n        exit(id)\n      }\n    }",
         "{\n      label: l('x'),\n      click: function () {\n        exit(id)\n      }\n    }", 0},
        {"own closer is not the suffix's", PY, LINE, "    print(", ")\n", "len(x))", "len(x)", 0},
    };
    RUN(t);
}

/* Python blocks end where indentation returns to the block's level or below. */
static void test_python_blocks(void **state) {
    (void)state;
    static const trim_case t[] = {
        {"dedent ends", PY, BLOCK, "def f(x):\n    ", "\n\n\ndef g():\n    pass\n",
         "y = x + 1\n    return y\n\ndef h():\n    pass\n", "y = x + 1\n    return y", 0},
        {"nested keeps inner", PY, BLOCK, "def f(x):\n    ", "\n",
         "if x:\n        return 1\n    return 2\nprint(f)", "if x:\n        return 1\n    return 2", 0},
        {"method", PY, BLOCK, "class A:\n    def m(self):\n        ", "\n\n    def n(self):\n        pass\n",
         "self.x = 1\n        return self\n\n    def other(self):\n", "self.x = 1\n        return self", 0},
        {"suffix line not repeated", PY, BLOCK, "def f(x):\n    ", "\n    return total\n",
         "total = sum(x)\n    return total\n", "total = sum(x)", 0},
        {"continuation lines kept", PY, BLOCK, "def f(x):\n    ", "\n",
         "y = foo(\n1, 2)\n    return y\nz", "y = foo(\n1, 2)\n    return y", 0},
        {"leading blank lines", PY, BLOCK, "def f():\n    ", "\n", "\n\n    return 1\n", "return 1", 0},
        {"max lines", PY, BLOCK, "def f():\n    ", "\n", "a = 1\n    b = 2\n    c = 3\n", "a = 1\n    b = 2", 2},
        {"triple quoted text at col 0", PY, BLOCK, "def f():\n    ", "\n",
         "s = \"\"\"\nraw\n\"\"\"\n    return s\nx = 1", "s = \"\"\"\nraw\n\"\"\"\n    return s", 0},
    };
    RUN(t);
}

/* C/JS/TS blocks end at the line whose closer closes the enclosing brace. */
static void test_brace_blocks(void **state) {
    (void)state;
    static const trim_case t[] = {
        {"c body", CC, BLOCK, "int f(int x) {\n    ", "\n}\n",
         "int y = x * 2;\n    return y;\n}\n\nint g(void) {\n", "int y = x * 2;\n    return y;", 0},
        {"inner braces kept", CC, BLOCK, "void f(void) {\n    ", "\n}\n",
         "if (a) {\n        b();\n    }\n    c();\n}\n", "if (a) {\n        b();\n    }\n    c();", 0},
        {"closer mid-line", JS, BLOCK, "function f() {\n  ", "\n}\n", "return 1; }", "return 1;", 0},
        {"arrow in call", JS, BLOCK, "useEffect(() => {\n  ", "\n}, []);\n",
         "load();\n  return () => stop();\n}, []);\n", "load();\n  return () => stop();", 0},
        {"ts method", TS, BLOCK, "class A {\n  m(): number {\n    ", "\n  }\n}\n",
         "const v = this.x;\n    return v;\n  }\n\n  n() {}\n", "const v = this.x;\n    return v;", 0},
        {"preprocessor at col 0 kept", CC, BLOCK, "void f(void) {\n    ", "\n}\n",
         "a();\n#ifdef X\n    b();\n#endif\n}\n", "a();\n#ifdef X\n    b();\n#endif", 0},
        {"label at col 0 kept", CC, BLOCK, "int f(void) {\n    ", "\n}\n",
         "goto out;\nout:\n    return 0;\n}", "goto out;\nout:\n    return 0;", 0},
        {"braces in strings ignored", CC, BLOCK, "void f(void) {\n    ", "\n}\n",
         "puts(\"}\");\n    x = '}';\n}", "puts(\"}\");\n    x = '}';", 0},
        {"braces in comments ignored", JS, BLOCK, "function f() {\n  ", "\n}\n",
         "// } not this\n  a(); /* } */\n}", "// } not this\n  a(); /* } */", 0},
        {"dedent without brace", TS, BLOCK, "function f() {\n  ", "\n}\n", "a();\nexport const b = 1;", "a();", 0},
        {"next suffix lines repeated", JS, BLOCK, "function f() {\n  ", "\n  return x;\n}\n",
         "const x = 1;\n  return x;\n}", "const x = 1;", 0},
        {"repeated statement ends the block", CC, BLOCK, "void f(void) {\n    ", "\n}\n",
         "free(a);\n    free(ctx);\n    free(ctx);\n    free(ctx);", "free(a);\n    free(ctx);", 0},
        {"repeated short lines stay", JS, BLOCK, "function f() {\n  ", "\n}\n",
         "if (a) {\n    b();\n  }\n  if (c) {\n    d();\n  }", "if (a) {\n    b();\n  }\n  if (c) {\n    d();\n  }", 0},
        {"lone brace line needs agreement", CC, BLOCK, "void f(void) {\n    ", "\n    }\n    z();\n}\n",
         "if (a) {\n        b();\n    }\n    c();", "if (a) {\n        b();\n    }\n    c();", 0},
    };
    RUN(t);
}

/* Line ends and indentation follow the file. */
static void test_style(void **state) {
    (void)state;
    static const trim_case t[] = {
        {"crlf file", CC, BLOCK, "int f(void) {\r\n    int a = 0;\r\n    ", "\r\n}\r\n",
         "a++;\n    return a;\n}", "a++;\r\n    return a;", 0},
        {"crlf line", PY, LINE, "def f():\r\n    x = ", "\r\n", "1\r\n", "1", 0},
        {"crlf rest of line", PY, LINE, "def f():\r\n    print(", ")\r\n", "x)", "x", 0},
        {"tabs file, spaces answer", CC, BLOCK, "int f(void) {\n\tint a;\n\tif (a) {\n\t\tb();\n\t}\n\t", "\n}\n",
         "a = 1;\n    if (a) {\n        c();\n    }", "a = 1;\n\tif (a) {\n\t\tc();\n\t}", 0},
        {"spaces file, tab answer", PY, BLOCK, "def f():\n    a = 1\n    if a:\n        pass\n    ", "\n",
         "if b:\n\t\treturn 1", "if b:\n        return 1", 0},
        {"two-space file", JS, BLOCK, "function f() {\n  if (a) {\n    b();\n  }\n  ", "\n}\n",
         "c();\n\td();", "c();\n  d();", 0},
    };
    RUN(t);
}

/* Without syntax rules only the raw stops apply: the ablation's "no trimming" row. */
static void test_raw_mode(void **state) {
    (void)state;
    trim_case c = {"raw", PY, LINE, "    print(", ")\n", "x, y)\nz", "x, y)", 0};
    char *got = run_case(&c, false);
    assert_string_equal(got, "x, y)");
    free(got);
    trim_case b = {"raw block", CC, BLOCK, "int f(void) {\n  ", "\n}\n", "a();\n}\nint g;", "", 0};
    got = run_case(&b, false);
    assert_string_equal(got, "a();\n}\nint g;");
    free(got);
}

/* Early stop while decoding agrees with the final cut. */
/* A multi-line answer stops before a line that repeats an earlier line of it (whitespace-equal,
 * or nearly equal when long) or one of the lines before the cursor; short repeats stay. */
static void test_repeats(void **state) {
    (void)state;
    static const trim_case t[] = {
        {"loop of an if block", CC, BLOCK, "int f(struct dev *dev) {\n    ", "\n}\n",
         "if (dev->pin == NULL) {\n        return -1;\n    }\n    if (dev->pin == NULL) {\n        return -1;\n    }",
         "if (dev->pin == NULL) {\n        return -1;\n    }", 0},
        {"whitespace differs", JS, BLOCK, "function f() {\n  ", "\n}\n",
         "const a = load(x);\n  b();\n  const a  =  load(x);\n  c();", "const a = load(x);\n  b();", 0},
        {"nearly equal long line", PY, BLOCK, "def f(self):\n    ", "\n",
         "self.items_0 = compute(self.a)\n    x = 1\n    self.items_1 = compute(self.a)\n",
         "self.items_0 = compute(self.a)\n    x = 1", 0},
        {"different long lines stay", PY, BLOCK, "def f(self):\n    ", "\n",
         "self.width = compute(self.a)\n    self.height = other(self.b)\n",
         "self.width = compute(self.a)\n    self.height = other(self.b)", 0},
        {"short repeats stay", CC, BLOCK, "int f(int a, int b) {\n    ", "\n}\n",
         "if (a) {\n        return -1;\n    }\n    if (b) {\n        return -1;\n    }",
         "if (a) {\n        return -1;\n    }\n    if (b) {\n        return -1;\n    }", 0},
        {"line before the cursor may come again", JS, BLOCK, "function f() {\n  const data = read(path);\n  ", "\n}\n",
         "check(data);\n  const data = read(path);\n  use(data);", "check(data);\n  const data = read(path);\n  use(data);", 0},
        {"args loop", PY, ARGS, "    g(", ")\n", "alpha_value=one,\n      beta=2,\n      alpha_value=one,\n",
         "alpha_value=one,\n      beta=2,", 0},
    };
    RUN(t);
    /* with the rule off, the loop stays: the rule above is what cut it */
    char *got = NULL;
    size_t len = 0;
    wisp_error err;
    const char *pre = "int f(struct dev *dev) {\n    ", *suf = "\n}\n";
    trim_input in = {.lang = CC, .shape = BLOCK, .prefix = pre, .prefix_len = strlen(pre), .suffix = suf,
                     .suffix_len = strlen(suf), .style = {false, false, 4}, .syntax = true, .repeat = false};
    const char *raw = "if (dev->pin == NULL) {\n        return -1;\n    }\n    if (dev->pin == NULL) {";
    assert_int_equal(trim_completion(&in, raw, strlen(raw), &got, &len, &err), WISP_OK);
    assert_string_equal(got, raw);
    free(got);
    /* while decoding: done once the repeated line is whole, not before */
    in.repeat = true;
    trim_cursor *c = trim_cursor_new(&in);
    assert_non_null(c);
    assert_false(trim_cursor_done(c, raw, strlen(raw)));
    char buf[256];
    snprintf(buf, sizeof buf, "%s\n", raw);
    assert_true(trim_cursor_done(c, buf, strlen(buf)));
    trim_cursor_free(c);
    /* repeat_before: a line right before the cursor re-emitted ends the answer */
    const char *pre2 = "function f() {\n  const data = read(path);\n  ", *raw2 = "check(data);\n  const data = read(path);\n  use(data);";
    trim_input in2 = {.lang = JS, .shape = BLOCK, .prefix = pre2, .prefix_len = strlen(pre2), .suffix = suf,
                      .suffix_len = strlen(suf), .style = {false, false, 2}, .syntax = true, .repeat = true,
                      .repeat_before = true};
    assert_int_equal(trim_completion(&in2, raw2, strlen(raw2), &got, &len, &err), WISP_OK);
    assert_string_equal(got, "check(data);");
    free(got);
}

static void test_near_equal(void **state) {
    (void)state;
    const char *a = "self.items_0 = compute(self.a)", *b = "self.items_1 = compute(self.a)";
    assert_true(trim_near_equal(a, strlen(a), b, strlen(b)));
    assert_true(trim_near_equal(a, strlen(a), a, strlen(a)));
    const char *c = "self.width = compute(self.a)", *d = "self.height = other(self.b)";
    assert_false(trim_near_equal(c, strlen(c), d, strlen(d)));
    const char *e = "x  =   1 + compute(y, z)", *f = "x = 1 + compute(y, z)";
    assert_true(trim_near_equal(e, strlen(e), f, strlen(f)));
    /* 3 edits in 20 bytes is 0.85: not near */
    const char *g = "abcdefghijklmnopqrst", *h = "abcdefghijklmnopqXYZ";
    assert_false(trim_near_equal(g, strlen(g), h, strlen(h)));
    /* 2 edits in 20 bytes is 0.9: near */
    const char *i = "abcdefghijklmnopqrYZ";
    assert_true(trim_near_equal(g, strlen(g), i, strlen(i)));
    /* lengths too far apart */
    assert_false(trim_near_equal(g, strlen(g), g, 15));
}

static void test_is_done(void **state) {
    (void)state;
    trim_input in = {.lang = PY, .shape = BLOCK, .prefix = "def f():\n    ", .prefix_len = 13,
                     .suffix = "\n", .suffix_len = 1, .style = {false, false, 4}, .syntax = true};
    assert_false(trim_is_done(&in, "a = 1\n    b", 11));
    assert_false(trim_is_done(&in, "a = 1\n", 6));
    assert_false(trim_is_done(&in, "a = 1\n  ", 8));
    assert_true(trim_is_done(&in, "a = 1\nd", 7));
    in.lang = CC;
    in.prefix = "int f(void) {\n  ";
    in.prefix_len = strlen(in.prefix);
    assert_false(trim_is_done(&in, "a();\n  b();", 11));
    assert_true(trim_is_done(&in, "a();\n}", 6));
    in.shape = LINE;
    in.prefix = "  x = ";
    in.prefix_len = 6;
    in.suffix = ")\n";
    in.suffix_len = 2;
    assert_false(trim_is_done(&in, "f(a", 3));
    assert_false(trim_is_done(&in, "f(a)", 4));
    assert_true(trim_is_done(&in, "f(a))", 5));
    assert_true(trim_is_done(&in, "f(a\n", 4));
    in.shape = ARGS;
    in.prefix = "  g(";
    in.prefix_len = 4;
    assert_false(trim_is_done(&in, "a,\n b", 5));
    assert_true(trim_is_done(&in, "a,\n b)", 6));
    /* the cached cursor agrees */
    trim_cursor *c = trim_cursor_new(&in);
    assert_non_null(c);
    assert_false(trim_cursor_done(c, "a,\n b", 5));
    assert_true(trim_cursor_done(c, "a,\n b)", 6));
    trim_cursor_free(c);
    trim_cursor_free(NULL);
}

static void test_detect_style(void **state) {
    (void)state;
    const char *a = "int f(void) {\r\n\tint a;\r\n\treturn a;\r\n}\r\n";
    trim_style s = trim_detect_style(a, strlen(a));
    assert_true(s.crlf);
    assert_true(s.tabs);
    const char *b = "function f() {\n  if (a) {\n    b();\n  }\n}\n";
    s = trim_detect_style(b, strlen(b));
    assert_false(s.crlf);
    assert_false(s.tabs);
    assert_int_equal(s.indent_width, 2);
    s = trim_detect_style("", 0);
    assert_int_equal(s.indent_width, 4);
    assert_false(s.tabs);
}

static void test_bad_args(void **state) {
    (void)state;
    char *out;
    size_t len;
    wisp_error err;
    assert_int_equal(trim_completion(NULL, "x", 1, &out, &len, &err), WISP_ERR_INVALID_ARG);
    trim_input in = {.lang = CC, .prefix = "", .suffix = ""};
    assert_int_equal(trim_completion(&in, NULL, 3, &out, &len, &err), WISP_ERR_INVALID_ARG);
    /* NUL bytes and odd bytes in the answer pass through without harm */
    assert_int_equal(trim_completion(&in, "a\0b\xff", 4, &out, &len, &err), WISP_OK);
    assert_int_equal(len, 4);
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_stops),   cmocka_unit_test(test_suffix_closers),
        cmocka_unit_test(test_balance),      cmocka_unit_test(test_args),
        cmocka_unit_test(test_python_blocks), cmocka_unit_test(test_brace_blocks),
        cmocka_unit_test(test_style),        cmocka_unit_test(test_raw_mode),
        cmocka_unit_test(test_is_done),      cmocka_unit_test(test_detect_style),
        cmocka_unit_test(test_bad_args),     cmocka_unit_test(test_repeats),
        cmocka_unit_test(test_near_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
