/* Context extraction at a cursor: the mode, the indentation, the chain of enclosing scopes, the
 * names in scope and the imports; defs.c adds the definitions of names used near the cursor.
 * Everything is copied into the context, so it outlives edits to the documents. */
#include "context.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

/* ---- small text helpers ---------------------------------------------------------------------- */

static bool ctx__is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }
static bool ctx__is_word(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$' || (unsigned char)c >= 0x80;
}

typedef struct ctx__line {
    size_t start, end;  /* content, without "\r\n" / "\n" */
    size_t indent;      /* bytes of leading blanks */
    bool blank;
} ctx__line;

// The line containing byte `pos` (which may be a line's end).
static ctx__line ctx__line_at(const char *text, size_t len, size_t pos) {
    ctx__line l;
    size_t s = pos;
    while (s > 0 && text[s - 1] != '\n') s--;
    size_t e = pos;
    while (e < len && text[e] != '\n') e++;
    if (e > s && text[e - 1] == '\r') e--;
    size_t i = s;
    while (i < e && (text[i] == ' ' || text[i] == '\t')) i++;
    l.start = s;
    l.end = e;
    l.indent = i - s;
    l.blank = true;
    for (size_t k = i; k < e; k++)
        if (!ctx__is_blank(text[k])) l.blank = false;
    return l;
}

// The nearest non-blank line before (dir < 0) or after (dir > 0) the line `from`; found = false at
// the start / end of the text. Scans at most `max_lines`.
static ctx__line ctx__nonblank(const char *text, size_t len, ctx__line from, int dir, bool *found) {
    ctx__line l = from;
    *found = false;
    for (int n = 0; n < 10000; n++) {
        if (dir < 0) {
            if (l.start == 0) return l;
            l = ctx__line_at(text, len, l.start - 1);
        } else {
            size_t next = l.end;
            while (next < len && text[next] != '\n') next++;
            if (next >= len) return l;
            l = ctx__line_at(text, len, next + 1);
        }
        if (!l.blank) {
            *found = true;
            return l;
        }
    }
    return l;
}

// The last byte of a line's code, skipping trailing blanks and (roughly) a trailing comment.
static size_t ctx__code_end(const char *text, ctx__line l, wisp_lang lang) {
    size_t e = l.end;
    char q = 0;
    for (size_t i = l.start; i < l.end; i++) { /* cut a comment outside quotes */
        char c = text[i];
        if (q) {
            if (c == '\\') i++;
            else if (c == q) q = 0;
        } else if (c == '"' || c == '\'' || (c == '`' && lang != WISP_LANG_PYTHON && lang != WISP_LANG_C)) {
            q = c;
        } else if ((lang == WISP_LANG_PYTHON && c == '#') ||
                   (lang != WISP_LANG_PYTHON && c == '/' && i + 1 < l.end && text[i + 1] == '/')) {
            e = i;
            break;
        }
    }
    while (e > l.start && ctx__is_blank(text[e - 1])) e--;
    return e;
}

/* ---- comments and strings ------------------------------------------------------------------- */

// A string or comment node that encloses the cursor, walking up from the node before it; code
// islands inside strings (f-string interpolations, template substitutions) end the search.
static bool ctx__in_literal(const ctx__view *v, size_t pos) {
    if (pos == 0) return false;
    wisp_lang lang = v->lang;
    const char *text = v->text;
    TSNode root = v->root;
    TSNode n = ts_node_descendant_for_byte_range(root, (uint32_t)pos - 1, (uint32_t)pos);
    for (; !ts_node_is_null(n); n = ts_node_parent(n)) {
        const char *t = ts_node_type(n);
        uint32_t s = ts_node_start_byte(n), e = ts_node_end_byte(n);
        if (!(s < pos && pos <= e)) continue;
        if (!strcmp(t, "interpolation") || !strcmp(t, "template_substitution")) {
            if (pos < e) return false;
            continue;
        }
        if (wisp__lang_is_comment(lang, t)) {
            if (pos < e) return true;
            /* at the end: still inside a line comment, outside a closed block comment */
            return !(e - s >= 4 && text[s] == '/' && text[s + 1] == '*' && text[e - 2] == '*' &&
                     text[e - 1] == '/');
        }
        if (!strcmp(t, "string_content") || !strcmp(t, "string_fragment") || !strcmp(t, "escape_sequence")) {
            if (pos < e) return true;
            continue; /* at its end: the string node above decides */
        }
        if (wisp__lang_is_string(lang, t)) {
            if (pos < e) return true;
            /* at the end of an unterminated string (the closing quote is MISSING or absent) */
            uint32_t nc = ts_node_child_count(n);
            if (nc > 0 && ts_node_is_missing(ts_node_child(n, nc - 1))) return true;
            if (e - s < 2) return true;
            char open = text[s], close = text[e - 1];
            if (lang == WISP_LANG_PYTHON) {
                while (open != '"' && open != '\'' && s + 1 < e) open = text[++s]; /* f"", rb'' */
            }
            if (open != close) return true;
            return false;
        }
        if (ts_node_is_error(n)) break; /* recovery: let the lexical scan decide */
    }
    return false;
}

// A lexical scan of the cursor line up to the cursor: true inside a line comment, a block comment
// opened on this line, or an unclosed quote. Used where tree-sitter's recovery is unreliable.
static bool ctx__in_literal_lexical(const char *text, size_t line_start, size_t pos, wisp_lang lang) {
    char q = 0, saved_q = 0;
    bool block = false, fstr = false;
    int island = 0; /* brace depth inside an f-string / template substitution; 0: not in one */
    for (size_t i = line_start; i < pos; i++) {
        char c = text[i];
        if (block) {
            if (c == '*' && i + 1 < pos && text[i + 1] == '/') block = false, i++;
        } else if (q) {
            if (c == '\\') i++;
            else if (c == q) q = 0;
            else if (fstr && c == '{' && (lang == WISP_LANG_PYTHON || (i > 0 && text[i - 1] == '$'))) {
                if (lang == WISP_LANG_PYTHON && i + 1 < pos && text[i + 1] == '{') i++;
                else saved_q = q, q = 0, island = 1;
            }
        } else if (lang == WISP_LANG_PYTHON && c == '#') {
            return true;
        } else if (lang != WISP_LANG_PYTHON && c == '/' && i + 1 < pos && text[i + 1] == '/') {
            return true;
        } else if (lang != WISP_LANG_PYTHON && c == '/' && i + 1 < pos && text[i + 1] == '*') {
            block = true, i++;
        } else if (island && c == '{') {
            island++;
        } else if (island && c == '}') {
            if (--island == 0) q = saved_q;
        } else if (c == '"' || c == '\'' || (c == '`' && lang != WISP_LANG_C && lang != WISP_LANG_PYTHON)) {
            q = c;
            fstr = c == '`' || (lang == WISP_LANG_PYTHON && i > line_start &&
                                (text[i - 1] == 'f' || text[i - 1] == 'F'));
        }
    }
    return q || block;
}

/* ---- scopes --------------------------------------------------------------------------------- */


static wisp_scope_kind ctx__scope_kind(const char *capture) {
    if (!strcmp(capture, "scope.function")) return WISP_SCOPE_FUNCTION;
    if (!strcmp(capture, "scope.class")) return WISP_SCOPE_CLASS;
    if (!strcmp(capture, "scope.block")) return WISP_SCOPE_BLOCK;
    return WISP_SCOPE_OTHER;
}

// Whether scope node `n` encloses the cursor. C-like: strictly inside its brackets (or at the end
// of one whose closer is missing). Python: inside its range, or on a later line indented deeper
// than the scope's header with only blank lines since its end.
static bool ctx__scope_holds(const char *text, size_t len, wisp_lang lang, TSNode n, size_t pos,
                             size_t probe, size_t col, bool python_blank, ctx__line cur) {
    uint32_t s = ts_node_start_byte(n), e = ts_node_end_byte(n);
    if (!(s < pos)) return false;
    if (lang == WISP_LANG_PYTHON) {
        if (pos <= e && !(python_blank && e <= cur.start)) return true;
        if (!python_blank || !(s <= probe && probe < e)) return false;
        ctx__line head = ctx__line_at(text, len, s);
        return col > head.indent;
    }
    if (pos < e) return true;
    if (pos == e) {
        uint32_t nc = ts_node_child_count(n);
        if (nc > 0 && ts_node_is_missing(ts_node_child(n, nc - 1))) return true;
        return text[e - 1] != '}' && text[e - 1] != ')' && text[e - 1] != ']' && text[e - 1] != ';';
    }
    return false;
}

// Collects the scopes enclosing the cursor, innermost first (hits has room for cap entries).
static size_t ctx__find_scopes(const ctx__view *v, size_t pos, ctx__line cur, size_t col,
                               ctx__scope_hit *hits, size_t cap, wisp_error *err) {
    size_t len = v->len;
    const char *text = v->text;
    TSNode root = v->root;
    wisp_lang lang = v->lang;
    const TSQuery *q = wisp__docs_query(v->set, lang, WISP_Q_SCOPES, err);
    if (!q) return 0;
    bool python_blank = false;
    size_t probe = pos ? pos - 1 : 0;
    if (lang == WISP_LANG_PYTHON) {
        bool prefix_blank = true;
        for (size_t i = cur.start; i < pos; i++)
            if (!ctx__is_blank(text[i])) prefix_blank = false;
        if (prefix_blank) { /* probe the last code before the cursor line */
            python_blank = true;
            size_t p = cur.start;
            while (p > 0 && (ctx__is_blank(text[p - 1]) || text[p - 1] == '\n')) p--;
            probe = p ? p - 1 : 0;
        }
    }
    TSQueryCursor *qc = ts_query_cursor_new();
    size_t lo = probe < pos ? probe : pos;
    ts_query_cursor_set_byte_range(qc, (uint32_t)lo, (uint32_t)(pos + 1 < len ? pos + 1 : len));
    ts_query_cursor_exec(qc, q, root);
    TSQueryMatch m;
    size_t n = 0;
    while (ts_query_cursor_next_match(qc, &m)) {
        ctx__scope_hit h = {.kind = WISP_SCOPE_OTHER};
        bool have = false;
        for (uint16_t k = 0; k < m.capture_count; k++) {
            uint32_t nl;
            const char *cname = ts_query_capture_name_for_id(q, m.captures[k].index, &nl);
            if (!strncmp(cname, "scope.", 6)) {
                h.node = m.captures[k].node;
                h.kind = ctx__scope_kind(cname);
                have = true;
            } else if (!strcmp(cname, "body")) {
                h.body = m.captures[k].node;
            } else if (!strcmp(cname, "name")) {
                h.name = m.captures[k].node;
            }
        }
        if (!have || !ctx__scope_holds(text, len, lang, h.node, pos, probe, col, python_blank, cur)) continue;
        bool dup = false; /* several patterns may match one node: keep the richest */
        for (size_t i = 0; i < n; i++) {
            if (ts_node_eq(hits[i].node, h.node)) {
                if (ts_node_is_null(hits[i].name) && !ts_node_is_null(h.name)) hits[i] = h;
                dup = true;
            }
        }
        if (!dup && n < cap) hits[n++] = h;
    }
    ts_query_cursor_delete(qc);
    /* innermost first: later start first; for equal starts the smaller range first */
    for (size_t i = 1; i < n; i++) {
        ctx__scope_hit h = hits[i];
        size_t j = i;
        while (j > 0) {
            uint32_t a = ts_node_start_byte(hits[j - 1].node), b = ts_node_start_byte(h.node);
            bool before = a < b || (a == b && ts_node_end_byte(hits[j - 1].node) > ts_node_end_byte(h.node));
            if (!before) break;
            hits[j] = hits[j - 1];
            j--;
        }
        hits[j] = h;
    }
    /* a bare block that is the body of an enclosing scope adds nothing: drop it */
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        bool is_body = false;
        if (i + 1 < n && !ts_node_is_null(hits[i + 1].body) && ts_node_eq(hits[i + 1].body, hits[i].node))
            is_body = true;
        if (!is_body) hits[w++] = hits[i];
    }
    return w;
}

/* ---- modes ---------------------------------------------------------------------------------- */

static const char *const ctx__not_callees[] = {
    "if", "for", "while", "switch", "return", "catch", "with", "elif", "and", "or", "not", "in",
    "def", "class", "function", "async", "await", "yield", "typeof", "else", "do", "case", NULL,
};

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

/* ---- indentation ---------------------------------------------------------------------------- */

// One level of indentation as the document uses it: the most common increase between
// consecutive non-blank lines (a tab if tabs win), else the language's habit.
static wisp_str ctx__indent_unit(const char *text, size_t len, wisp_lang lang) {
    static const char spaces[] = "        ";
    size_t votes[9] = {0}, tabs = 0, prev_indent = 0;
    bool have_prev = false;
    size_t i = 0, n_lines = 0;
    while (i < len && n_lines < 4000) {
        ctx__line l = ctx__line_at(text, len, i);
        n_lines++;
        if (!l.blank) {
            if (have_prev && l.indent > prev_indent) {
                if (text[l.start] == '\t') tabs++;
                else if (l.indent - prev_indent <= 8) votes[l.indent - prev_indent]++;
            }
            prev_indent = l.indent;
            have_prev = true;
        }
        i = l.end;
        while (i < len && text[i] != '\n') i++;
        i++;
    }
    size_t best = 0;
    for (size_t k = 1; k <= 8; k++)
        if (votes[k] > votes[best] || (best == 0 && votes[k])) best = k;
    if (tabs > votes[best]) return (wisp_str){"\t", 1};
    if (best == 0 || votes[best] == 0)
        best = (lang == WISP_LANG_JAVASCRIPT || lang == WISP_LANG_TYPESCRIPT || lang == WISP_LANG_TSX) ? 2 : 4;
    return (wisp_str){spaces, best};
}

/* ---- the context ---------------------------------------------------------------------------- */

/* The public struct plus what it owns. */
typedef struct ctx__owned {
    wisp_context pub;
    ctx__pool pool;
    wisp_scope *scopes;
    wisp_name *names;
    wisp_import *imports;
    wisp_def *defs;
} ctx__owned;

void wisp_context_free(wisp_context *self) {
    if (!self) return;
    ctx__owned *o = (ctx__owned *)self;
    free(o->scopes);
    free(o->names);
    free(o->imports);
    free(o->defs);
    ctx__pool_free(&o->pool);
    free(o);
}

// A scope's header: its text up to the body, trailing blanks cut, at most ~8 lines.
static wisp_str ctx__header(const char *text, size_t len, uint32_t s, uint32_t body_start, uint32_t e) {
    uint32_t end = body_start > s ? body_start : e;
    if (body_start <= s) { /* no body: the first line */
        end = s;
        while (end < e && text[end] != '\n') end++;
    }
    uint32_t lines = 0;
    for (uint32_t i = s; i < end; i++)
        if (text[i] == '\n' && ++lines == 8) {
            end = i;
            break;
        }
    while (end > s && (ctx__is_blank(text[end - 1]) || text[end - 1] == '\n')) end--;
    (void)len;
    return (wisp_str){text + s, end - s};
}

// A scope made from an opener line when tree-sitter could not build the node (the body is empty,
// so the code around the cursor does not parse yet): kind and name guessed from its first word.
static wisp_scope ctx__scope_from_line(const char *text, ctx__line l, wisp_lang lang, size_t len) {
    wisp_scope sc = {.kind = WISP_SCOPE_BLOCK};
    size_t s = l.start + l.indent, e = ctx__code_end(text, l, lang);
    if (lang != WISP_LANG_PYTHON && e > s && text[e - 1] == '{') e--;
    while (e > s && ctx__is_blank(text[e - 1])) e--;
    size_t w = s;
    while (w < e && ctx__is_word(text[w])) w++;
    const char *kw = text + s;
    size_t kl = w - s;
    bool is_class = (kl == 5 && !memcmp(kw, "class", 5)) || (kl == 6 && !memcmp(kw, "struct", 6)) ||
                    (kl == 9 && !memcmp(kw, "interface", 9));
    bool is_def = (kl == 3 && !memcmp(kw, "def", 3)) || (kl == 8 && !memcmp(kw, "function", 8)) ||
                  (kl == 5 && !memcmp(kw, "async", 5));
    bool is_ctrl = false;
    for (int k = 0; ctx__not_callees[k]; k++)
        if (strlen(ctx__not_callees[k]) == kl && !memcmp(ctx__not_callees[k], kw, kl)) is_ctrl = true;
    if (is_class) sc.kind = WISP_SCOPE_CLASS;
    else if (is_def || (!is_ctrl && memchr(text + s, '(', e - s) && lang != WISP_LANG_PYTHON))
        sc.kind = WISP_SCOPE_FUNCTION;
    /* the name: the word before "(" for functions, after the keyword for classes */
    const char *paren = memchr(text + s, '(', e - s);
    size_t ne = paren ? (size_t)(paren - text) : e, ns;
    if (sc.kind == WISP_SCOPE_CLASS || (is_def && !paren)) {
        ns = w;
        while (ns < e && ctx__is_blank(text[ns])) ns++;
        ne = ns;
        while (ne < e && ctx__is_word(text[ne])) ne++;
    } else {
        while (ne > s && ctx__is_blank(text[ne - 1])) ne--;
        ns = ne;
        while (ns > s && ctx__is_word(text[ns - 1])) ns--;
    }
    if (sc.kind != WISP_SCOPE_BLOCK) sc.name = (wisp_str){text + ns, ne - ns};
    sc.node_type = (wisp_str){"ERROR", 5};
    sc.header = (wisp_str){text + s, e - s};
    sc.indent = (wisp_str){text + l.start, l.indent};
    sc.start_u8 = s;
    sc.end_u8 = len;
    sc.body_start_u8 = l.end;
    return sc;
}

size_t ctx__unmap(const ctx__view *v, size_t x) {
    if (x <= v->hole_at) return x;
    if (x < v->hole_at + v->hole_len) return v->hole_at;
    return x - v->hole_len;
}

// The document with `hole` inserted at the cursor, reparsed incrementally from its tree. The
// caller frees *buf and *tree. False (view untouched) when out of memory.
static bool ctx__repair(const wisp_doc *doc, size_t pos, const char *hole, ctx__view *v, char **buf,
                        TSTree **tree) {
    size_t len, k = strlen(hole);
    const char *text = wisp_doc_text(doc, &len);
    wisp_pos p;
    if (len + k > UINT32_MAX - 1 || wisp_doc_pos_at_u8(doc, pos, &p, NULL) != WISP_OK) return false;
    char *b = malloc(len + k + 1);
    if (!b) return false;
    memcpy(b, text, pos);
    memcpy(b + pos, hole, k);
    memcpy(b + pos + k, text + pos, len - pos);
    b[len + k] = '\0';
    TSTree *old = ts_tree_copy(wisp__doc_tree(doc));
    TSPoint at = {(uint32_t)p.line, (uint32_t)p.col_u8};
    TSInputEdit e = {(uint32_t)pos, (uint32_t)pos, (uint32_t)(pos + k), at, at, {at.row, at.column + (uint32_t)k}};
    ts_tree_edit(old, &e);
    /* a budget: error recovery on badly broken text can be slow, and the repair is optional */
    uint64_t max_ops = 50000 + 4 * (uint64_t)len;
    TSTree *t = wisp__docs_reparse_capped(wisp_doc_set(doc), wisp_doc_lang(doc), old, b, len + k, max_ops);
    ts_tree_delete(old);
    if (!t) {
        free(b);
        return false;
    }
    *buf = b;
    *tree = t;
    v->text = b;
    v->len = len + k;
    v->root = ts_tree_root_node(t);
    v->hole_at = pos;
    v->hole_len = k;
    return true;
}

// Whether the cursor sits inside or right next to an ERROR or MISSING node.
static bool ctx__near_error(TSNode root, size_t pos) {
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

wisp_status wisp_context_extract(const wisp_doc *doc, size_t pos_u8, const wisp_context_params *params,
                                 wisp_context **out, wisp_error *err) {
    if (!doc || !out) return wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_context_extract: NULL document or output");
    *out = NULL;
    wisp__clear(err);
    wisp_pos p;
    wisp_status st = wisp_doc_pos_at_u8(doc, pos_u8, &p, err);
    if (st != WISP_OK) return st;
    size_t pos = p.pos_u8, len;
    const char *text = wisp_doc_text(doc, &len);
    wisp_lang lang = wisp_doc_lang(doc);
    wisp_context_params prm = params ? *params : (wisp_context_params){0};
    if (!prm.ref_lines) prm.ref_lines = 40;
    if (!prm.max_defs) prm.max_defs = 16;
    if (!prm.max_names) prm.max_names = 64;

    ctx__owned *o = calloc(1, sizeof *o);
    if (!o) return wisp__fail(err, WISP_ERR_NO_MEMORY, "out of memory");
    wisp_context *c = &o->pub;
    ctx__pool *pool = &o->pool;
    c->lang = lang;
    c->pos_u8 = pos;
    c->line = p.line;
    c->col_u8 = p.col_u8;
    ctx__line cur = ctx__line_at(text, len, pos);
    size_t pos_in_line = pos < cur.end ? pos : cur.end; /* between "\r" and "\n": the line end */
    c->line_prefix = ctx__pool_str(pool, text + cur.start, pos_in_line - cur.start);
    c->line_suffix = ctx__pool_str(pool, text + pos_in_line, cur.end - pos_in_line);
    c->line_indent = ctx__pool_str(pool, text + cur.start, cur.indent < pos_in_line - cur.start ? cur.indent : pos_in_line - cur.start);
    wisp_str unit = ctx__indent_unit(text, len, lang);
    c->indent_unit = ctx__pool_str(pool, unit.ptr, unit.len);

    ctx__view v = {doc, wisp_doc_set(doc), lang, text, len, wisp__doc_root(doc), 0, 0};
    TSNode at = ts_node_descendant_for_byte_range(v.root, (uint32_t)pos, (uint32_t)pos);
    c->node_type = ctx__pool_str(pool, ts_node_type(at), strlen(ts_node_type(at)));
    bool in_error = ctx__near_error(v.root, pos);
    c->in_error = in_error;

    /* the mode, from the document as it is */
    wisp_str callee = {"", 0};
    ctx__line opener = cur;
    bool prefix_blank = true, suffix_blank = true;
    for (size_t i = cur.start; i < pos_in_line; i++) prefix_blank &= ctx__is_blank(text[i]);
    for (size_t i = pos_in_line; i < cur.end; i++) suffix_blank &= ctx__is_blank(text[i]);
    if (ctx__in_literal(&v, pos) || (in_error && ctx__in_literal_lexical(text, cur.start, pos_in_line, lang))) {
        c->mode = WISP_MODE_NONE;
    } else if (pos_in_line > cur.start && pos_in_line < cur.end && ctx__is_word(text[pos_in_line - 1]) &&
               ctx__is_word(text[pos_in_line])) {
        c->mode = WISP_MODE_NONE; /* in the middle of a word */
    } else if (ctx__in_args(&v, pos, in_error, &callee, err)) {
        c->mode = WISP_MODE_ARGS;
    } else if (prefix_blank && suffix_blank && ctx__empty_block(&v, cur, &opener)) {
        c->mode = WISP_MODE_BLOCK;
    } else if (ctx__only_closers(text + pos_in_line, cur.end - pos_in_line)) {
        c->mode = WISP_MODE_END_OF_LINE;
    } else {
        c->mode = WISP_MODE_MID_LINE;
    }
    if (err && err->code != WISP_OK) { /* a broken query: a bug, reported */
        wisp_context_free(c);
        return err->code;
    }
    char callee_buf[128];
    size_t callee_len = callee.len < sizeof callee_buf ? callee.len : 0;
    if (callee_len) memcpy(callee_buf, callee.ptr, callee_len);

    /* the structure, from a repaired copy when the code at the cursor does not parse yet */
    char *repaired_text = NULL;
    TSTree *repaired_tree = NULL;
    if (c->mode != WISP_MODE_NONE &&
        (in_error || (c->mode == WISP_MODE_BLOCK && ts_node_has_error(v.root)))) {
        char hole[160] = "_";
        if (c->mode == WISP_MODE_BLOCK) { /* a statement at the body's indentation */
            size_t have = pos_in_line - cur.start, want = opener.indent + unit.len;
            size_t n = want > have && want - have < 120 ? want - have : 0;
            if (have == 0 && n == want) { /* the opener's own indentation, then one unit */
                memcpy(hole, text + opener.start, opener.indent);
                memcpy(hole + opener.indent, unit.ptr, unit.len);
            } else {
                memset(hole, ' ', n);
            }
            strcpy(hole + n, lang == WISP_LANG_PYTHON ? "pass" : "_;");
        }
        ctx__view r = v;
        if (ctx__repair(doc, pos, hole, &r, &repaired_text, &repaired_tree)) v = r;
    }

    /* scopes, innermost first */
    enum { MAX_SCOPES = 64 };
    ctx__scope_hit hits[MAX_SCOPES];
    /* on a blank line the cursor's column says which Python blocks it is in; in BLOCK mode the
     * column the body will have */
    size_t col = pos_in_line - cur.start;
    if (c->mode == WISP_MODE_BLOCK && col < opener.indent + 1) col = opener.indent + 1;
    size_t n_hits = ctx__find_scopes(&v, pos, cur, col, hits, MAX_SCOPES, err);
    o->scopes = calloc(n_hits + 2, sizeof *o->scopes);
    if (!o->scopes) {
        st = wisp__fail(err, WISP_ERR_NO_MEMORY, "out of memory");
        goto fail;
    }
    size_t ns = 0;
    if (c->mode == WISP_MODE_BLOCK) { /* the opener of the empty block, unless a scope has it */
        bool covered = false;
        size_t oe = ctx__code_end(text, opener, lang);
        for (size_t i = 0; i < n_hits && !covered; i++) {
            size_t hs = ctx__unmap(&v, ts_node_start_byte(hits[i].node));
            size_t bs = ts_node_is_null(hits[i].body) ? hs : ctx__unmap(&v, ts_node_start_byte(hits[i].body));
            covered = (hs >= opener.start && hs < oe) || (bs >= opener.start && bs < oe);
        }
        if (!covered) o->scopes[ns++] = ctx__scope_from_line(text, opener, lang, len);
    }
    for (size_t i = 0; i < n_hits; i++) {
        const ctx__scope_hit *h = &hits[i];
        wisp_scope *sc = &o->scopes[ns++];
        uint32_t s = ts_node_start_byte(h->node), e = ts_node_end_byte(h->node);
        uint32_t bs = ts_node_is_null(h->body) ? s : ts_node_start_byte(h->body);
        for (uint32_t k = 0, nc = ts_node_child_count(h->node); k < nc; k++) { /* recovery debris */
            TSNode ch = ts_node_child(h->node, k);
            if (ts_node_is_error(ch) && ts_node_start_byte(ch) < bs && ts_node_start_byte(ch) > s) {
                bs = ts_node_start_byte(ch);
                break;
            }
        }
        sc->kind = h->kind;
        sc->node_type = (wisp_str){ts_node_type(h->node), strlen(ts_node_type(h->node))};
        if (!ts_node_is_null(h->name)) {
            uint32_t a = ts_node_start_byte(h->name), b = ts_node_end_byte(h->name);
            sc->name = (wisp_str){v.text + a, b - a};
        }
        sc->header = ctx__header(v.text, v.len, s, bs, e);
        if (v.hole_len && v.hole_at >= s && v.hole_at < s + sc->header.len) { /* cut the placeholder out */
            size_t a = v.hole_at - s, rest = sc->header.len - a;
            size_t cut = v.hole_len < rest ? v.hole_len : rest;
            char *h = ctx__pool_alloc(pool, sc->header.len + 1);
            if (h) {
                memcpy(h, sc->header.ptr, a);
                memcpy(h + a, sc->header.ptr + a + cut, rest - cut);
                sc->header = (wisp_str){h, sc->header.len - cut};
            }
        }
        ctx__line hl = ctx__line_at(v.text, v.len, s);
        sc->indent = (wisp_str){v.text + hl.start, hl.indent < s - hl.start ? hl.indent : s - hl.start};
        sc->start_u8 = ctx__unmap(&v, s);
        sc->end_u8 = ctx__unmap(&v, e);
        sc->body_start_u8 = ctx__unmap(&v, bs);
    }
    wisp_scope *file = &o->scopes[ns++];
    file->kind = WISP_SCOPE_FILE;
    file->node_type = (wisp_str){ts_node_type(v.root), strlen(ts_node_type(v.root))};
    file->name = file->header = file->indent = (wisp_str){"", 0};
    file->start_u8 = file->body_start_u8 = 0;
    file->end_u8 = len;
    for (size_t i = 0; i < ns; i++) { /* copy strings into the context */
        wisp_scope *sc = &o->scopes[i];
        sc->node_type = ctx__pool_str(pool, sc->node_type.ptr, sc->node_type.len);
        sc->name = ctx__pool_str(pool, sc->name.ptr, sc->name.len);
        sc->header = ctx__pool_str(pool, sc->header.ptr, sc->header.len);
        sc->indent = ctx__pool_str(pool, sc->indent.ptr, sc->indent.len);
    }
    c->scopes = o->scopes;
    c->n_scopes = ns;

    /* the indentation of the innermost block's statements */
    const wisp_scope *inner = &o->scopes[0];
    if (c->mode == WISP_MODE_BLOCK) {
        size_t oi = opener.indent;
        if (prefix_blank && pos_in_line - cur.start > oi) {
            c->block_indent = ctx__pool_str(pool, text + cur.start, pos_in_line - cur.start);
        } else {
            char buf[256];
            size_t n = oi < 128 ? oi : 128;
            memcpy(buf, text + opener.start, n);
            memcpy(buf + n, unit.ptr, unit.len);
            c->block_indent = ctx__pool_str(pool, buf, n + unit.len);
        }
    } else if (inner->kind == WISP_SCOPE_FILE) {
        c->block_indent = ctx__pool_str(pool, "", 0);
    } else {
        ctx__line hl = ctx__line_at(text, len, inner->start_u8);
        size_t from = inner->body_start_u8 > hl.end ? inner->body_start_u8 : hl.end;
        ctx__line first = ctx__line_at(text, len, from < len ? from : len);
        bool found = true;
        if (first.blank || first.start <= hl.start) first = ctx__nonblank(text, len, hl, +1, &found);
        if (found && first.indent > hl.indent && first.start < inner->end_u8) {
            c->block_indent = ctx__pool_str(pool, text + first.start, first.indent);
        } else {
            char buf[256];
            size_t n = hl.indent < 128 ? hl.indent : 128;
            memcpy(buf, text + hl.start, n);
            memcpy(buf + n, unit.ptr, unit.len);
            c->block_indent = ctx__pool_str(pool, buf, n + unit.len);
        }
    }

    /* names in scope: innermost function/class first, then the file */
    ctx__names names = {.max = prm.max_names};
    for (size_t i = 0; i < n_hits; i++)
        if (hits[i].kind == WISP_SCOPE_FUNCTION || hits[i].kind == WISP_SCOPE_CLASS)
            ctx__scope_names(&v, &hits[i], pos, &names, pool);
    ctx__file_names(&v, &names, pool);
    for (size_t i = 0; i < names.n; i++) names.items[i].pos_u8 = ctx__unmap(&v, names.items[i].pos_u8);
    o->names = names.items;
    c->names = names.items;
    c->n_names = names.n;

    o->imports = ctx__imports(&v, pool, &c->n_imports);
    for (size_t i = 0; i < c->n_imports; i++) {
        o->imports[i].start_u8 = ctx__unmap(&v, o->imports[i].start_u8);
        o->imports[i].end_u8 = ctx__unmap(&v, o->imports[i].end_u8);
    }
    c->imports = o->imports;

    /* definitions of names used near the cursor */
    ctx__lookup lk = {.doc = doc, .view = &v, .pos_u8 = pos, .line = p.line, .scopes = c->scopes,
                      .n_scopes = c->n_scopes, .names = c->names, .n_names = c->n_names,
                      .callee = {callee_buf, callee_len}, .params = &prm};
    const wisp__line_index *ix = wisp__doc_lines(doc);
    size_t l0 = p.line > prm.ref_lines ? p.line - prm.ref_lines : 0;
    size_t l1 = p.line + prm.ref_lines / 4 + 1;
    lk.win_start_u8 = ix->starts_u8[l0];
    lk.win_end_u8 = l1 < ix->n_lines ? ix->starts_u8[l1] : len;
    size_t ws = pos;
    while (ws > cur.start && ctx__is_word(text[ws - 1])) ws--;
    lk.word = (wisp_str){text + ws, pos - ws};
    st = wisp__defs_find(&lk, pool, &o->defs, &c->n_defs, err);
    c->defs = o->defs;
    if (st == WISP_OK && pool->failed) st = wisp__fail(err, WISP_ERR_NO_MEMORY, "out of memory");
    if (st != WISP_OK) goto fail;
    ts_tree_delete(repaired_tree);
    free(repaired_text);
    *out = c;
    return WISP_OK;
fail:
    ts_tree_delete(repaired_tree);
    free(repaired_text);
    wisp_context_free(c);
    return st;
}

const char *wisp_mode_name(wisp_mode mode) {
    switch (mode) {
    case WISP_MODE_NONE: return "none";
    case WISP_MODE_MID_LINE: return "mid_line";
    case WISP_MODE_END_OF_LINE: return "end_of_line";
    case WISP_MODE_BLOCK: return "block";
    case WISP_MODE_ARGS: return "args";
    }
    return "?";
}

const char *wisp_scope_kind_name(wisp_scope_kind kind) {
    switch (kind) {
    case WISP_SCOPE_FILE: return "file";
    case WISP_SCOPE_FUNCTION: return "function";
    case WISP_SCOPE_CLASS: return "class";
    case WISP_SCOPE_BLOCK: return "block";
    case WISP_SCOPE_OTHER: return "other";
    }
    return "?";
}

const char *wisp_def_kind_name(wisp_def_kind kind) {
    switch (kind) {
    case WISP_DEF_FUNCTION: return "function";
    case WISP_DEF_CLASS: return "class";
    case WISP_DEF_TYPE: return "type";
    case WISP_DEF_MACRO: return "macro";
    case WISP_DEF_VARIABLE: return "variable";
    case WISP_DEF_FIELD: return "field";
    case WISP_DEF_PARAMETER: return "parameter";
    case WISP_DEF_LOCAL: return "local";
    case WISP_DEF_IMPORT: return "import";
    }
    return "?";
}
