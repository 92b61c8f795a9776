/*
 * The context corpus: fixtures/context/<lang>.txt, in tree-sitter's corpus style. Each case is
 *
 *   ======================
 *   title
 *   ======================
 *   source with one cursor mark █            (several files: "@@ name.ext" lines start each one;
 *                                            the file holding the mark is the cursor's document)
 *   ----------------------
 *   mode: block                              the mode, exactly
 *   scope: function def area(r):             the scope chain without the file, innermost first,
 *   scope: class class Shape:                exactly (headers with whitespace runs collapsed)
 *   names: r, self        !names: x          names that must be / must not be in scope
 *   defs: distance        !defs: area        definitions that must be / must not be retrieved
 *   def: distance @ geom.py                  a definition from that document
 *   sig: distance: def distance(a, b)        text the definition's signature contains
 *   import: from geom import Point           an import, as written
 *   indent: "    "                           the block indentation
 *
 * Every case is checked; a failure prints what was expected and what was extracted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "read_file.h"
#include "wisp_grammar.h"

#define CURSOR "\xe2\x96\x88" /* █ */

typedef struct corpus_case {
    char title[256];
    char *source;   /* between the headers and the --- line */
    char *expect;   /* after the --- line */
    int line;       /* of the title in the corpus file */
} corpus_case;

static bool is_rule(const char *line, char c) {
    int n = 0;
    while (line[n] == c) n++;
    return n >= 3 && (line[n] == '\n' || line[n] == '\0' || line[n] == '\r');
}

// Splits the corpus text (modified in place) into cases.
static size_t parse_corpus(char *text, corpus_case *cases, size_t cap) {
    size_t n = 0;
    char *p = text;
    int line = 1;
    while (*p && n < cap) {
        if (!is_rule(p, '=')) { /* skip to the next header */
            char *nl = strchr(p, '\n');
            if (!nl) break;
            p = nl + 1;
            line++;
            continue;
        }
        corpus_case *c = &cases[n];
        char *t = strchr(p, '\n');
        if (!t) break;
        t++;
        char *te = strchr(t, '\n');
        if (!te) break;
        snprintf(c->title, sizeof c->title, "%.*s", (int)(te - t), t);
        c->line = line + 1;
        char *r2 = te + 1; /* the second ===== */
        char *src = strchr(r2, '\n');
        if (!src) break;
        src++;
        line += 3;
        /* the source runs to a line of dashes */
        char *q = src;
        while (*q && !is_rule(q, '-')) {
            char *nl = strchr(q, '\n');
            if (!nl) {
                q += strlen(q);
                break;
            }
            q = nl + 1;
            line++;
        }
        if (!*q) break;
        q[-1] = '\0'; /* the newline before the dashes ends the source */
        c->source = src;
        char *ex = strchr(q, '\n');
        if (!ex) break;
        ex++;
        line++;
        char *e = ex;
        while (*e && !is_rule(e, '=')) {
            char *nl = strchr(e, '\n');
            if (!nl) {
                e += strlen(e);
                break;
            }
            e = nl + 1;
            line++;
        }
        if (*e) e[-1] = '\0';
        c->expect = ex;
        p = e;
        n++;
    }
    return n;
}

// Whitespace runs become one space; leading and trailing whitespace go.
static void collapse(const char *s, size_t n, char *out, size_t cap) {
    size_t o = 0;
    bool space = false;
    for (size_t i = 0; i < n && o + 2 < cap; i++) {
        char ch = s[i];
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            space = o > 0;
            continue;
        }
        if (space) out[o++] = ' ';
        space = false;
        out[o++] = ch;
    }
    out[o] = '\0';
}

static bool has_name(const wisp_context *c, const char *name) {
    for (size_t i = 0; i < c->n_names; i++)
        if (c->names[i].name.len == strlen(name) && !memcmp(c->names[i].name.ptr, name, c->names[i].name.len))
            return true;
    return false;
}

static const wisp_def *find_def(const wisp_context *c, const char *name) {
    for (size_t i = 0; i < c->n_defs; i++)
        if (c->defs[i].name.len == strlen(name) && !memcmp(c->defs[i].name.ptr, name, c->defs[i].name.len))
            return &c->defs[i];
    return NULL;
}

static void trim(char *s) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\r' || s[n - 1] == '\t')) s[--n] = '\0';
    size_t i = 0;
    while (s[i] == ' ' || s[i] == '\t') i++;
    memmove(s, s + i, n - i + 1);
}

// Appends to the report of a failing case.
static void report(char *buf, size_t cap, const char *fmt, ...) {
    size_t n = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
}

// What was extracted, in the corpus's own words, for the failure report.
static void describe(const wisp_context *c, char *buf, size_t cap) {
    report(buf, cap, "  got mode: %s\n", wisp_mode_name(c->mode));
    char tmp[512];
    for (size_t i = 0; i + 1 < c->n_scopes; i++) {
        collapse(c->scopes[i].header.ptr, c->scopes[i].header.len, tmp, sizeof tmp);
        report(buf, cap, "  got scope: %s %s\n", wisp_scope_kind_name(c->scopes[i].kind), tmp);
    }
    report(buf, cap, "  got names:");
    for (size_t i = 0; i < c->n_names; i++)
        report(buf, cap, "%s %.*s", i ? "," : "", (int)c->names[i].name.len, c->names[i].name.ptr);
    report(buf, cap, "\n  got defs:");
    for (size_t i = 0; i < c->n_defs; i++)
        report(buf, cap, "%s %.*s @ %s", i ? "," : "", (int)c->defs[i].name.len, c->defs[i].name.ptr, c->defs[i].uri);
    report(buf, cap, "\n  got indent: \"%.*s\"\n", (int)c->block_indent.len, c->block_indent.ptr);
    for (size_t i = 0; i < c->n_imports; i++)
        report(buf, cap, "  got import: %.*s\n", (int)c->imports[i].text.len, c->imports[i].text.ptr);
}

// Runs one case; returns true when every expectation holds, else fills `why`.
// Closes every document of the set (the set, with its compiled queries, is reused across cases).
static void close_all(wisp_docs *docs) {
    while (wisp_docs_count(docs)) wisp_doc_close(wisp_docs_at(docs, 0));
}

static bool run_case(wisp_docs *docs, const corpus_case *cc, wisp_lang lang, const char *default_name, char *why,
                     size_t cap) {
    wisp_doc *cursor_doc = NULL;
    size_t cursor = 0;
    bool ok = true;
    wisp_error err = {0};
    /* files */
    const char *p = cc->source;
    char name[128];
    snprintf(name, sizeof name, "%s", default_name);
    if (!strncmp(p, "@@ ", 3)) {
        const char *nl = strchr(p, '\n');
        snprintf(name, sizeof name, "%.*s", (int)(nl ? nl - p - 3 : (long)strlen(p) - 3), p + 3);
        p = nl ? nl + 1 : p + strlen(p);
    }
    while (true) {
        const char *next = strstr(p, "\n@@ ");
        size_t n = next ? (size_t)(next - p) + 1 : strlen(p);
        char *body = malloc(n + 2);
        memcpy(body, p, n);
        if (!next) body[n++] = '\n'; /* files end with a newline; the corpus drops the last one */
        body[n] = '\0';
        char *mark = strstr(body, CURSOR);
        size_t blen = n;
        if (mark) {
            cursor = (size_t)(mark - body);
            memmove(mark, mark + 3, strlen(mark + 3) + 1);
            blen -= 3;
        }
        wisp_lang fl = wisp_lang_from_path(name);
        if (fl == WISP_LANG_NONE) fl = lang;
        wisp_doc *d = wisp_doc_open(docs, name, fl, body, blen, &err);
        free(body);
        if (!d) {
            report(why, cap, "  cannot open %s: %s\n", name, err.message);
            close_all(docs);
            return false;
        }
        if (mark) cursor_doc = d;
        if (!next) break;
        const char *nl = strchr(next + 1, '\n');
        snprintf(name, sizeof name, "%.*s", (int)(nl ? nl - next - 4 : (long)strlen(next + 4)), next + 4);
        p = nl ? nl + 1 : next + strlen(next);
    }
    if (!cursor_doc) {
        report(why, cap, "  no cursor mark in the source\n");
        close_all(docs);
        return false;
    }
    wisp_context *c = NULL;
    if (wisp_context_extract(cursor_doc, cursor, NULL, &c, &err) != WISP_OK) {
        report(why, cap, "  extract failed: %s\n", err.message);
        close_all(docs);
        return false;
    }
    /* expectations */
    char *ex = strdup(cc->expect);
    size_t want_scopes = 0;
    bool scopes_given = false;
    for (char *line = strtok(ex, "\n"); line; line = strtok(NULL, "\n")) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        *colon = '\0';
        char *key = line, *val = colon + 1;
        trim(key);
        trim(val);
        if (!strcmp(key, "mode")) {
            if (strcmp(val, wisp_mode_name(c->mode))) ok = false, report(why, cap, "  want mode: %s\n", val);
        } else if (!strcmp(key, "scope")) {
            scopes_given = true;
            char want[512], got[512];
            collapse(val, strlen(val), want, sizeof want);
            if (want_scopes + 1 >= c->n_scopes) {
                ok = false;
                report(why, cap, "  want scope #%zu: %s (missing)\n", want_scopes + 1, want);
            } else {
                const wisp_scope *s = &c->scopes[want_scopes];
                char hdr[480];
                collapse(s->header.ptr, s->header.len, hdr, sizeof hdr);
                snprintf(got, sizeof got, "%s %s", wisp_scope_kind_name(s->kind), hdr);
                if (strcmp(want, got)) ok = false, report(why, cap, "  want scope #%zu: %s\n", want_scopes + 1, want);
            }
            want_scopes++;
        } else if (!strcmp(key, "names") || !strcmp(key, "!names") || !strcmp(key, "defs") || !strcmp(key, "!defs")) {
            bool neg = key[0] == '!', defs = strstr(key, "defs") != NULL;
            char *save;
            for (char *w = strtok_r(val, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                trim(w);
                bool present = defs ? find_def(c, w) != NULL : has_name(c, w);
                if (present == neg) ok = false, report(why, cap, "  want %s%s %s\n", neg ? "no " : "", defs ? "def" : "name", w);
            }
        } else if (!strcmp(key, "def")) {
            char *at = strstr(val, " @ ");
            if (!at) continue;
            *at = '\0';
            const wisp_def *d = find_def(c, val);
            size_t ul = d ? strlen(d->uri) : 0, fl = strlen(at + 3);
            if (!d || ul < fl || strcmp(d->uri + ul - fl, at + 3)) ok = false, report(why, cap, "  want def %s @ %s\n", val, at + 3);
        } else if (!strcmp(key, "sig")) {
            char *sep = strchr(val, ':');
            if (!sep) continue;
            *sep = '\0';
            char want[512], got[4096];
            collapse(sep + 1, strlen(sep + 1), want, sizeof want);
            const wisp_def *d = find_def(c, val);
            if (d) collapse(d->signature.ptr, d->signature.len, got, sizeof got);
            if (!d || !strstr(got, want)) {
                ok = false;
                report(why, cap, "  want sig %s containing: %s\n  got sig: %s\n", val, want, d ? got : "(no such def)");
            }
        } else if (!strcmp(key, "import")) {
            bool found = false;
            for (size_t i = 0; i < c->n_imports; i++)
                found |= c->imports[i].text.len == strlen(val) && !memcmp(c->imports[i].text.ptr, val, strlen(val));
            if (!found) ok = false, report(why, cap, "  want import: %s\n", val);
        } else if (!strcmp(key, "indent")) {
            char want[64] = "";
            size_t vl = strlen(val);
            if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') snprintf(want, sizeof want, "%.*s", (int)vl - 2, val + 1);
            for (char *t = strstr(want, "\\t"); t; t = strstr(want, "\\t")) t[0] = '\t', memmove(t + 1, t + 2, strlen(t + 2) + 1);
            if (strlen(want) != c->block_indent.len || memcmp(want, c->block_indent.ptr, c->block_indent.len))
                ok = false, report(why, cap, "  want indent: \"%s\"\n", want);
        } else {
            ok = false;
            report(why, cap, "  unknown key '%s'\n", key);
        }
    }
    if (scopes_given && want_scopes + 1 != c->n_scopes) {
        ok = false;
        report(why, cap, "  want %zu scopes besides the file, got %zu\n", want_scopes, c->n_scopes - 1);
    }
    free(ex);
    if (!ok) describe(c, why, cap);
    wisp_context_free(c);
    close_all(docs);
    return ok;
}

static void run_corpus(const char *lang_name, const char *default_name, size_t min_cases) {
    char path[256];
    snprintf(path, sizeof path, "fixtures/context/%s.txt", lang_name);
    char *text = wisp_read_file(path, NULL);
    if (!text) fail_msg("cannot read %s (run from the repository root)", path);
    static corpus_case cases[256];
    size_t n = parse_corpus(text, cases, 256);
    size_t failed = 0;
    wisp_docs *docs = wisp_docs_new();
    for (size_t i = 0; i < n; i++) {
        char why[8192] = "";
        if (!run_case(docs, &cases[i], wisp_lang_from_name(lang_name), default_name, why, sizeof why)) {
            failed++;
            fprintf(stderr, "FAIL %s:%d: %s\n%s\n", path, cases[i].line, cases[i].title, why);
        }
    }
    wisp_docs_free(docs);
    fprintf(stderr, "%s: %zu cases, %zu failed\n", path, n, failed);
    free(text);
    if (n < min_cases) fail_msg("%s has %zu cases, want at least %zu", path, n, min_cases);
    if (failed) fail_msg("%zu of %zu cases failed in %s", failed, n, path);
}

static void test_python(void **state) { (void)state; run_corpus("python", "main.py", 15); }
static void test_javascript(void **state) { (void)state; run_corpus("javascript", "main.js", 15); }
static void test_typescript(void **state) { (void)state; run_corpus("typescript", "main.ts", 15); }
static void test_tsx(void **state) { (void)state; run_corpus("tsx", "main.tsx", 5); }
static void test_c(void **state) { (void)state; run_corpus("c", "main.c", 15); }

// Extraction at every offset of every corpus file, and of random byte soup, succeeds with a
// sensible result: robustness against whatever an editor holds mid-keystroke.
static void test_every_position(void **state) {
    (void)state;
    const char *langs[] = {"python", "javascript", "typescript", "tsx", "c"};
    size_t total = 0;
    for (size_t li = 0; li < 5; li++) {
        char path[128];
        snprintf(path, sizeof path, "fixtures/context/%s.txt", langs[li]);
        size_t len;
        char *text = wisp_read_file(path, &len);
        assert_non_null(text);
        wisp_lang lang = wisp_lang_from_name(langs[li]);
        wisp_docs *docs = wisp_docs_new();
        /* the corpus file itself, as one big document of that language, plus a second doc */
        wisp_doc *d = wisp_doc_open(docs, "whole", lang, text, len, NULL);
        wisp_doc *other = wisp_doc_open(docs, "other", lang, text, len / 2, NULL);
        assert_non_null(d);
        assert_non_null(other);
        size_t stride = len / 150 + 1; /* ~150 cursors per file, odd offsets included */
        for (size_t pos = 0; pos <= len; pos += stride + pos % 3) {
            wisp_context *c = NULL;
            wisp_error err = {0};
            if (wisp_context_extract(d, pos, NULL, &c, &err) != WISP_OK) fail_msg("%s @%zu: %s", path, pos, err.message);
            assert_true(c->n_scopes >= 1);
            assert_int_equal(c->scopes[c->n_scopes - 1].kind, WISP_SCOPE_FILE);
            for (size_t i = 0; i < c->n_scopes; i++) assert_true(c->scopes[i].start_u8 <= c->scopes[i].end_u8 && c->scopes[i].end_u8 <= len);
            for (size_t i = 0; i < c->n_defs; i++) assert_non_null(c->defs[i].uri);
            assert_true(c->mode <= WISP_MODE_ARGS);
            wisp_context_free(c);
            total++;
        }
        wisp_context *c = NULL;
        assert_int_equal(wisp_context_extract(d, len + 1, NULL, &c, NULL), WISP_ERR_RANGE);
        assert_null(c);
        assert_int_equal(wisp_context_extract(NULL, 0, NULL, &c, NULL), WISP_ERR_INVALID_ARG);
        wisp_docs_free(docs);
        free(text);
    }
    unsigned r = 99;
    wisp_docs *docs = wisp_docs_new(); /* one set: queries are compiled once */
    for (int round = 0; round < 15; round++) {
        char soup[700];
        static const char alphabet[] = "(){}[]:;,.'\"`#/*\n\r\t =<>abcdefxyz_0123\xc3\xa9\xff";
        for (size_t i = 0; i < sizeof soup; i++) {
            r = r * 1103515245u + 12345u;
            soup[i] = alphabet[(r >> 16) % (sizeof alphabet - 1)];
        }
        wisp_doc *d = wisp_doc_open(docs, "soup", (wisp_lang)(1 + round % 5), soup, sizeof soup, NULL);
        for (size_t pos = 0; pos <= sizeof soup; pos += 7) {
            wisp_context *c = NULL;
            assert_int_equal(wisp_context_extract(d, pos, NULL, &c, NULL), WISP_OK);
            wisp_context_free(c);
            total++;
        }
        wisp_doc_close(d);
    }
    wisp_docs_free(docs);
    fprintf(stderr, "%zu extractions\n", total);
}

/* The line before the cursor ends at the cursor, except between the "\r" and "\n" of a line end;
 * a lone "\r" at the end of the text is text, as positions count it (found by fuzz_doc: it was
 * dropped from line_prefix). */
static void test_line_prefix_ends(void **state) {
    (void)state;
    wisp_docs *docs = wisp_docs_new();
    const char *text = "x = 1\r\ny = \r";
    wisp_doc *d = wisp_doc_open(docs, "t.py", WISP_LANG_PYTHON, text, strlen(text), NULL);
    struct { size_t pos; const char *prefix; } cases[] = {{5, "x = 1"}, {6, "x = 1"}, {7, ""}, {11, "y = "},
                                                          {12, "y = \r"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wisp_context *c = NULL;
        assert_int_equal(wisp_context_extract(d, cases[i].pos, NULL, &c, NULL), WISP_OK);
        assert_int_equal(c->line_prefix.len, strlen(cases[i].prefix));
        assert_memory_equal(c->line_prefix.ptr, cases[i].prefix, c->line_prefix.len);
        wisp_context_free(c);
    }
    wisp_docs_free(docs);
}

// The definition index is shifted, not rebuilt, across keystrokes within a line: after such
// edits anywhere (inside definitions too) the retrieved definitions equal a fresh document's.
static void test_index_survives_edits(void **state) {
    (void)state;
    const char *src =
        "def alpha(a, b):\n    return a + b\n\n\nclass Beta:\n    size = 3\n\n    def grow(self, n):\n"
        "        self.size += n\n\n\ndef gamma(x):\n    return alpha(x, x)\n"
        "#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n#\n"
        "def main():\n    b = Beta()\n    b.grow(alpha(1, 2))\n    print(gamma(b.size), alp)\n";
    wisp_docs *docs = wisp_docs_new(), *fresh = wisp_docs_new();
    wisp_doc *d = wisp_doc_open(docs, "m.py", WISP_LANG_PYTHON, src, strlen(src), NULL);
    unsigned r = 5;
    int compared = 0;
    for (int i = 0; i < 150; i++) {
        size_t len;
        const char *t = wisp_doc_text(d, &len);
        r = r * 1103515245u + 12345u;
        size_t at = (r >> 8) % len;
        if (t[at] == '\n') continue;
        char was = t[at];
        bool del = i % 3 == 2;
        if (del) wisp_doc_edit(d, at, at + 1, NULL, 0, NULL); /* delete a non-newline byte */
        else wisp_doc_edit(d, at, at, i % 2 ? "z" : " ", 1, NULL);
        t = wisp_doc_text(d, &len);
        wisp_doc *f = wisp_doc_open(fresh, "m.py", WISP_LANG_PYTHON, t, len, NULL);
        wisp_context *a = NULL, *b = NULL;
        size_t pos = len - 2;
        assert_int_equal(wisp_context_extract(d, pos, NULL, &a, NULL), WISP_OK);
        assert_int_equal(wisp_context_extract(f, pos, NULL, &b, NULL), WISP_OK);
        /* A shifted index may be stale for a few keystrokes (a definition a syntax error hid or
         * created lingers until the next rebuild), but it never points at the wrong text: each
         * definition's first line is in the document at its offset, and while the text parses,
         * what a fresh document retrieves is retrieved too. */
        for (size_t k = 0; k < a->n_defs; k++) {
            const wisp_def *x = &a->defs[k];
            assert_true(x->start_u8 <= x->end_u8 && x->end_u8 <= len);
            size_t le = x->start_u8;
            while (le < len && t[le] != '\n') le++;
            bool named = false; /* the name is on the definition's first line(s) */
            for (size_t q = x->start_u8; q + x->name.len <= len && q < le + 200 && !named; q++)
                named = !memcmp(t + q, x->name.ptr, x->name.len);
            if (!named)
                fail_msg("edit %d at %zu: def %.*s at %zu does not match the text there", i, at,
                         (int)x->name.len, x->name.ptr, x->start_u8);
        }
        size_t hit = 0;
        for (size_t j = 0; j < b->n_defs; j++)
            for (size_t k = 0; k < a->n_defs; k++)
                hit += a->defs[k].start_u8 == b->defs[j].start_u8 && a->defs[k].name.len == b->defs[j].name.len &&
                       !memcmp(a->defs[k].name.ptr, b->defs[j].name.ptr, b->defs[j].name.len);
        if (!wisp_doc_has_error(f) && 2 * hit < b->n_defs)
            fail_msg("edit %d at %zu: the shifted index found %zu of %zu fresh definitions", i, at, hit, b->n_defs);
        compared += !wisp_doc_has_error(f);
        wisp_context_free(a);
        wisp_context_free(b);
        wisp_doc_close(f);
        { /* undo the keystroke, as typing and deleting do: errors do not pile up */
            if (del) wisp_doc_edit(d, at, at, &was, 1, NULL);
            else wisp_doc_edit(d, at, at + 1, NULL, 0, NULL);
        }
    }
    fprintf(stderr, "%d of 150 edits compared\n", compared);
    assert_true(compared > 20);
    wisp_docs_free(docs);
    wisp_docs_free(fresh);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_python),
        cmocka_unit_test(test_javascript),
        cmocka_unit_test(test_typescript),
        cmocka_unit_test(test_tsx),
        cmocka_unit_test(test_c),
        cmocka_unit_test(test_every_position),
        cmocka_unit_test(test_index_survives_edits),
        cmocka_unit_test(test_line_prefix_ends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
