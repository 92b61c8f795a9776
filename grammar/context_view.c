/* The view context extraction reads (context_view.h): the repaired copy of a document, offsets
 * mapped back, query predicates, and the line helpers. */
#include "context_view.h"

#include <stdlib.h>
#include <string.h>

const char *const ctx__not_callees[] = {
    "if", "for", "while", "switch", "return", "catch", "with", "elif", "and", "or", "not", "in",
    "def", "class", "function", "async", "await", "yield", "typeof", "else", "do", "case", NULL,
};

// The line containing byte `pos` (which may be a line's end).
ctx__line ctx__line_at(const char *text, size_t len, size_t pos) {
    ctx__line l;
    size_t s = pos;
    while (s > 0 && text[s - 1] != '\n') s--;
    size_t e = pos;
    while (e < len && text[e] != '\n') e++;
    if (e > s && e < len && text[e - 1] == '\r') e--; /* a \r before the \n; a lone one at the end is text */
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
ctx__line ctx__nonblank(const char *text, size_t len, ctx__line from, int dir, bool *found) {
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
size_t ctx__scan_line(const char *text, size_t from, size_t to, wisp_lang lang, bool full, bool *open,
                      size_t *open_at) {
    char q = 0, saved_q = 0;
    bool block = false, fstr = false;
    size_t at = to, saved_at = to; /* where the string or block comment open at `to` began */
    int island = 0; /* brace depth inside an f-string / template substitution; 0: not in one */
    for (size_t i = from; i < to; i++) {
        char c = text[i];
        if (block) {
            if (c == '*' && i + 1 < to && text[i + 1] == '/') block = false, i++;
        } else if (q) {
            if (c == '\\') i++;
            else if (c == q) q = 0;
            else if (full && fstr && c == '{' && (lang == WISP_LANG_PYTHON || (i > 0 && text[i - 1] == '$'))) {
                if (lang == WISP_LANG_PYTHON && i + 1 < to && text[i + 1] == '{') i++;
                else saved_q = q, saved_at = at, q = 0, island = 1;
            }
        } else if ((lang == WISP_LANG_PYTHON && c == '#') ||
                   (lang != WISP_LANG_PYTHON && c == '/' && i + 1 < to && text[i + 1] == '/')) {
            if (open) *open = false;
            if (open_at) *open_at = to;
            return i;
        } else if (full && lang != WISP_LANG_PYTHON && c == '/' && i + 1 < to && text[i + 1] == '*') {
            block = true, at = i, i++;
        } else if (island && c == '{') {
            island++;
        } else if (island && c == '}') {
            if (--island == 0) q = saved_q, at = saved_at;
        } else if (c == '"' || c == '\'' || (c == '`' && lang != WISP_LANG_C && lang != WISP_LANG_PYTHON)) {
            q = c;
            at = i;
            fstr = c == '`' || (lang == WISP_LANG_PYTHON && i > from && (text[i - 1] == 'f' || text[i - 1] == 'F'));
        }
    }
    if (open) *open = q || block;
    if (open_at) *open_at = q || block ? at : to;
    return to;
}

size_t ctx__code_end(const char *text, ctx__line l, wisp_lang lang) {
    size_t e = ctx__scan_line(text, l.start, l.end, lang, false, NULL, NULL); /* cut a comment outside quotes */
    while (e > l.start && ctx__is_blank(text[e - 1])) e--;
    return e;
}

// One level of indentation as the document uses it: the most common increase between
// consecutive non-blank lines (a tab if tabs win), else the language's habit.
wisp_str ctx__indent_unit(const char *text, size_t len, wisp_lang lang) {
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

size_t ctx__unmap(const ctx__view *v, size_t x) {
    if (x <= v->hole_at) return x;
    if (x < v->hole_at + v->hole_len) return v->hole_at;
    return x - v->hole_len;
}

// The document with `hole` inserted at the cursor, reparsed incrementally from its tree. The
// caller frees *buf and *tree. False (view untouched) when out of memory.
bool ctx__repair(const wisp_doc *doc, size_t pos, const char *hole, ctx__view *v, char **buf,
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

bool ctx__match_ok(const TSQuery *q, const TSQueryMatch *m, const char *text, size_t len) {
    uint32_t n_steps = 0;
    const TSQueryPredicateStep *st = ts_query_predicates_for_pattern(q, m->pattern_index, &n_steps);
    for (uint32_t i = 0; i < n_steps;) { /* each predicate: operator, arguments..., done */
        uint32_t j = i;
        while (j < n_steps && st[j].type != TSQueryPredicateStepTypeDone) j++;
        if (j - i == 3 && st[i].type == TSQueryPredicateStepTypeString &&
            st[i + 1].type == TSQueryPredicateStepTypeCapture) {
            uint32_t nlen;
            const char *op = ts_query_string_value_for_id(q, st[i].value_id, &nlen);
            const char *cap_text = NULL;
            uint32_t cap_len = 0;
            for (uint16_t k = 0; k < m->capture_count; k++) {
                if (m->captures[k].index == st[i + 1].value_id) {
                    uint32_t s = ts_node_start_byte(m->captures[k].node);
                    uint32_t e = ts_node_end_byte(m->captures[k].node);
                    if (e <= len && s <= e) {
                        cap_text = text + s;
                        cap_len = e - s;
                    }
                }
            }
            if (cap_text && st[i + 2].type == TSQueryPredicateStepTypeString) {
                uint32_t vlen;
                const char *v = ts_query_string_value_for_id(q, st[i + 2].value_id, &vlen);
                bool eq = vlen == cap_len && !memcmp(v, cap_text, vlen);
                if (!strcmp(op, "eq?") && !eq) return false;
                if (!strcmp(op, "not-eq?") && eq) return false;
            }
        }
        i = j + 1;
    }
    return true;
}
