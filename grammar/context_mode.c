/* The mode of a completion at a cursor (context.h, ctx__mode_at): nothing inside a comment, a
 * string of prose or in the middle of a word, else the arguments of a call, the body of an empty
 * block, the rest of a line (also in a code-like string: a key, a path), or a piece within a line. */
#include <stdlib.h>
#include <string.h>

#include "context.h"

/* ---- comments and strings ------------------------------------------------------------------- */

// What kind of literal holds the cursor. Prose gets no suggestion: comments, multi-line strings
// (docstrings, template literals over lines), regular expressions, JSX text, character literals,
// and strings with a blank before the cursor ("hello wor|"). A one-line string whose text before
// the cursor has no blank is code-like (a key, a path, a dotted name, a format: "origin_cache.|",
// './comp|', f("|") and is completed as code, through the end of its line.
typedef enum { CTX__LIT_NO, CTX__LIT_WORD, CTX__LIT_PROSE } ctx__lit;

// The literal that opens at `open` (its first byte, a prefix like Python's f or rb included)
// with the cursor at `pos` inside it, of the node type `type` (NULL: found by the lexical scan).
static ctx__lit ctx__string_kind(const ctx__view *v, size_t open, size_t pos, const char *type) {
    const char *text = v->text;
    if (type && (!strcmp(type, "regex") || !strcmp(type, "regex_pattern") || !strcmp(type, "jsx_text") ||
                 !strcmp(type, "char_literal")))
        return CTX__LIT_PROSE;
    while (open < pos && !(text[open] && strchr("\"'`<", text[open]))) open++; /* past f, rb, L, u8 ... */
    if (open >= pos) return CTX__LIT_PROSE;
    char q = text[open];
    if (q == '\'' && v->lang == WISP_LANG_C) return CTX__LIT_PROSE; /* a character literal */
    if (q != '`' && q != '<' && open + 2 < pos && text[open + 1] == q && text[open + 2] == q)
        return CTX__LIT_PROSE; /* """ or ''' */
    if (q != '`' && q != '<' && open >= 2 && text[open - 1] == q && text[open - 2] == q)
        return CTX__LIT_PROSE; /* the lexical scan stops at the third quote of """ */
    for (size_t i = open + 1; i < pos; i++)
        if (ctx__is_blank(text[i]) || text[i] == '\n') return CTX__LIT_PROSE;
    return CTX__LIT_WORD;
}

// A string or comment node that encloses the cursor, walking up from the node before it; code
// islands inside strings (f-string interpolations, template substitutions) end the search.
static ctx__lit ctx__in_literal(const ctx__view *v, size_t pos) {
    if (pos == 0) return CTX__LIT_NO;
    wisp_lang lang = v->lang;
    const char *text = v->text;
    TSNode root = v->root;
    TSNode n = ts_node_descendant_for_byte_range(root, (uint32_t)pos - 1, (uint32_t)pos);
    bool inside = false; /* strictly inside a string's content, found below its string node */
    for (; !ts_node_is_null(n); n = ts_node_parent(n)) {
        const char *t = ts_node_type(n);
        uint32_t s = ts_node_start_byte(n), e = ts_node_end_byte(n);
        if (!(s < pos && pos <= e)) continue;
        if (!strcmp(t, "interpolation") || !strcmp(t, "template_substitution")) {
            if (pos < e) return CTX__LIT_NO;
            continue;
        }
        if (wisp__lang_is_comment(lang, t)) {
            if (pos < e) return CTX__LIT_PROSE;
            /* at the end: still inside a line comment, outside a closed block comment */
            return e - s >= 4 && text[s] == '/' && text[s + 1] == '*' && text[e - 2] == '*' && text[e - 1] == '/'
                       ? CTX__LIT_NO
                       : CTX__LIT_PROSE;
        }
        if (!strcmp(t, "string_content") || !strcmp(t, "string_fragment") || !strcmp(t, "escape_sequence")) {
            inside |= pos < e;
            continue; /* the string node above says which kind */
        }
        if (wisp__lang_is_string(lang, t)) {
            bool in = inside || pos < e;
            if (!in) { /* at the end of an unterminated string (the closing quote is MISSING or absent) */
                uint32_t nc = ts_node_child_count(n);
                char open = text[s], close = text[e - 1];
                if (lang == WISP_LANG_PYTHON) {
                    while (open != '"' && open != '\'' && s + 1 < e) open = text[++s]; /* f"", rb'' */
                }
                in = (nc > 0 && ts_node_is_missing(ts_node_child(n, nc - 1))) || e - s < 2 || open != close;
            }
            return in ? ctx__string_kind(v, ts_node_start_byte(n), pos, t) : CTX__LIT_NO;
        }
        if (ts_node_is_error(n)) break; /* recovery: let the lexical scan decide */
    }
    return inside ? CTX__LIT_PROSE : CTX__LIT_NO;
}

// A lexical scan of the cursor line up to the cursor: inside a line comment, a block comment
// opened on this line, or an unclosed quote. Used where tree-sitter's recovery is unreliable.
static ctx__lit ctx__in_literal_lexical(const ctx__view *v, size_t line_start, size_t pos) {
    bool open;
    size_t at;
    if (ctx__scan_line(v->text, line_start, pos, v->lang, true, &open, &at) < pos) return CTX__LIT_PROSE;
    if (!open) return CTX__LIT_NO;
    if (v->text[at] == '/') return CTX__LIT_PROSE; /* a block comment */
    return ctx__string_kind(v, at, pos, NULL);
}

/* ---- modes ---------------------------------------------------------------------------------- */

// Whether the cursor is inside the argument list of a call: from the calls query when the tree is
// sound there, else from an unmatched "(" after a callee-like word on the text before the cursor.
static bool ctx__in_args(const ctx__view *v, size_t pos, bool in_error,
                         wisp_str *callee, wisp_error *err) {
    const char *text = v->text;
    TSNode root = v->root;
    wisp_lang lang = v->lang;
    const TSQuery *q = wisp__docs_query(v->set, lang, WISP_Q_CALLS, err);
    if (!q) return false;
    TSQueryCursor *qc = ts_query_cursor_new();
    ts_query_cursor_set_byte_range(qc, pos ? (uint32_t)pos - 1 : 0, (uint32_t)pos);
    ts_query_cursor_exec(qc, q, root);
    TSQueryMatch m;
    TSNode best = {0}, best_fn = {0};
    bool found = false;
    while (ts_query_cursor_next_match(qc, &m)) {
        TSNode args = {0}, fn = {0};
        bool have = false;
        for (uint16_t k = 0; k < m.capture_count; k++) {
            uint32_t nl;
            const char *cname = ts_query_capture_name_for_id(q, m.captures[k].index, &nl);
            if (!strcmp(cname, "call.arguments")) args = m.captures[k].node, have = true;
            else if (!strcmp(cname, "call.function")) fn = m.captures[k].node;
        }
        if (!have) continue;
        uint32_t s = ts_node_start_byte(args), e = ts_node_end_byte(args);
        bool inside = s < pos && (pos < e || (pos == e && text[e - 1] != ')'));
        if (!inside) {
            uint32_t nc = ts_node_child_count(args);
            inside = s < pos && pos == e && nc > 0 && ts_node_is_missing(ts_node_child(args, nc - 1));
        }
        if (inside && (!found || s >= ts_node_start_byte(best))) {
            best = args;
            best_fn = fn;
            found = true;
        }
    }
    ts_query_cursor_delete(qc);
    if (found) { /* a function body or block between the cursor and the arguments ends them */
        TSNode n = ts_node_descendant_for_byte_range(root, pos ? (uint32_t)pos - 1 : 0, (uint32_t)pos);
        for (; !ts_node_is_null(n) && !ts_node_eq(n, best); n = ts_node_parent(n)) {
            const char *t = ts_node_type(n);
            if (!strcmp(t, "block") || !strcmp(t, "statement_block") || !strcmp(t, "compound_statement") ||
                !strcmp(t, "class_body")) {
                found = false;
                break;
            }
        }
        if (found && !ts_node_is_null(best_fn)) {
            uint32_t fs = ts_node_start_byte(best_fn), fe = ts_node_end_byte(best_fn);
            uint32_t ws = fe;
            while (ws > fs && ctx__is_word(text[ws - 1])) ws--;
            *callee = (wisp_str){text + ws, fe - ws};
        }
        return found;
    }
    if (!in_error) return false;
    /* lexical fallback: an unmatched "(" within the last few lines, not behind a block opener */
    int depth = 0;
    size_t lines = 0;
    for (size_t i = pos; i > 0 && lines < 8; i--) {
        char c = text[i - 1];
        if (c == '\n') lines++;
        if (c == ')' || c == ']') depth++;
        else if (c == '[') depth--;
        else if (c == '{' || c == '}' || c == ';') {
            if (depth <= 0) return false;
        } else if (c == '(') {
            if (depth > 0) {
                depth--;
                continue;
            }
            size_t e = i - 1;
            while (e > 0 && ctx__is_blank(text[e - 1])) e--;
            size_t s = e;
            while (s > 0 && ctx__is_word(text[s - 1])) s--;
            if (s == e) return e > 0 && (text[e - 1] == ')' || text[e - 1] == ']');
            for (int k = 0; ctx__not_callees[k]; k++)
                if (strlen(ctx__not_callees[k]) == e - s && !memcmp(ctx__not_callees[k], text + s, e - s))
                    return false;
            /* "def f(" / "function f(" / "int f(" declare, they do not call */
            size_t b = s;
            while (b > 0 && ctx__is_blank(text[b - 1])) b--;
            size_t bs = b;
            while (bs > 0 && ctx__is_word(text[bs - 1])) bs--;
            if (b > bs) {
                size_t wl = b - bs;
                const char *wd = text + bs;
                if ((wl == 3 && !memcmp(wd, "def", 3)) || (wl == 8 && !memcmp(wd, "function", 8)))
                    return false;
                if (lang == WISP_LANG_C && (bs == 0 || text[bs - 1] == '\n')) return false;
            }
            *callee = (wisp_str){text + s, e - s};
            return true;
        }
    }
    return false;
}

// The opener that starts an empty block right above a blank cursor line, if there is one: Python
// "...:" with nothing indented below; C-like "{" with "}" (or nothing) next.
static bool ctx__empty_block(const ctx__view *v, ctx__line cur, ctx__line *opener) {
    size_t len = v->len;
    const char *text = v->text;
    wisp_lang lang = v->lang;
    bool has_prev, has_next;
    ctx__line prev = ctx__nonblank(text, len, cur, -1, &has_prev);
    ctx__line next = ctx__nonblank(text, len, cur, +1, &has_next);
    if (!has_prev) return false;
    size_t e = ctx__code_end(text, prev, lang);
    if (e == prev.start) return false;
    char last = text[e - 1];
    *opener = prev;
    if (lang == WISP_LANG_PYTHON) {
        if (last != ':') return false;
        return !has_next || next.indent <= prev.indent;
    }
    if (last != '{') return false;
    if (has_next && text[next.start + next.indent] != '}') return false;
    /* a block follows ")", "=>", "else", "try", a class or struct name; an object literal or an
     * initializer follows "=", "(", ",", ":", "[", "return" */
    size_t b = e - 1;
    while (b > prev.start && ctx__is_blank(text[b - 1])) b--;
    if (b == prev.start) return true; /* a "{" alone on its line (Allman style) */
    char before = text[b - 1];
    if (before == ')' || before == '>') return true;
    if (!ctx__is_word(before)) return false;
    size_t ws = b;
    while (ws > prev.start && ctx__is_word(text[ws - 1])) ws--;
    return !((b - ws == 6 && !memcmp(text + ws, "return", 6)) || (b - ws == 5 && !memcmp(text + ws, "yield", 5)));
}

static bool ctx__only_closers(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strchr(")]}\"'`;,: \t\r", s[i])) return false;
    return true;
}

// Whether the cursor sits inside or right next to an ERROR or MISSING node.
bool ctx__near_error(TSNode root, size_t pos) {
    for (int side = 0; side < 2; side++) {
        uint32_t a = side ? (uint32_t)pos : (pos ? (uint32_t)pos - 1 : 0);
        TSNode n = ts_node_descendant_for_byte_range(root, a, side ? (uint32_t)pos : a + (pos > 0));
        for (; !ts_node_is_null(n); n = ts_node_parent(n))
            if (ts_node_is_error(n) || ts_node_is_missing(n)) return true;
    }
    if (ts_node_has_error(root)) { /* a MISSING node just before the cursor */
        TSNode n = ts_node_descendant_for_byte_range(root, pos ? (uint32_t)pos - 1 : 0, (uint32_t)pos);
        return ts_node_is_missing(n) || ts_node_has_error(n);
    }
    return false;
}

wisp_mode ctx__mode_at(const ctx__view *v, size_t pos, ctx__line cur, size_t pos_in_line,
                       bool in_error, bool prefix_blank, bool suffix_blank, wisp_str *callee,
                       ctx__line *opener, wisp_error *err) {
    const char *text = v->text;
    ctx__lit lit = ctx__in_literal(v, pos);
    if (lit == CTX__LIT_NO && in_error) lit = ctx__in_literal_lexical(v, cur.start, pos_in_line);
    if (lit == CTX__LIT_PROSE) return WISP_MODE_NONE;
    if (pos_in_line > cur.start && pos_in_line < cur.end && ctx__is_word(text[pos_in_line - 1]) &&
        ctx__is_word(text[pos_in_line]))
        return WISP_MODE_NONE; /* in the middle of a word */
    if (lit == CTX__LIT_WORD) /* a code-like string: the rest of its line */
        return ctx__only_closers(text + pos_in_line, cur.end - pos_in_line) ? WISP_MODE_END_OF_LINE
                                                                               : WISP_MODE_MID_LINE;
    if (ctx__in_args(v, pos, in_error, callee, err)) return WISP_MODE_ARGS;
    if (prefix_blank && suffix_blank && ctx__empty_block(v, cur, opener)) return WISP_MODE_BLOCK;
    if (ctx__only_closers(text + pos_in_line, cur.end - pos_in_line)) return WISP_MODE_END_OF_LINE;
    return WISP_MODE_MID_LINE;
}
