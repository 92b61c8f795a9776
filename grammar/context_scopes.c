/* The chain of scopes enclosing the cursor (context.h, ctx__find_scopes and ctx__scopes_of):
 * from the scopes query over the (possibly repaired) view, plus the opener of an empty block that
 * tree-sitter could not build yet, plus the file. */
#include <stdlib.h>
#include <string.h>

#include "context.h"


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
size_t ctx__find_scopes(const ctx__view *v, size_t pos, ctx__line cur, size_t col,
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

wisp_scope *ctx__scopes_of(const ctx__view *v, const ctx__scope_hit *hits, size_t n_hits,
                           const ctx__line *opener, ctx__pool *pool, size_t *n_out) {
    size_t len;
    const char *text = wisp_doc_text(v->doc, &len);
    wisp_lang lang = v->lang;
    wisp_scope *scopes = calloc(n_hits + 2, sizeof *scopes);
    if (!scopes) return NULL;
    size_t ns = 0;
    if (opener) { /* the opener of the empty block, unless a scope has it */
        bool covered = false;
        size_t oe = ctx__code_end(text, *opener, lang);
        for (size_t i = 0; i < n_hits && !covered; i++) {
            size_t hs = ctx__unmap(v, ts_node_start_byte(hits[i].node));
            size_t bs = ts_node_is_null(hits[i].body) ? hs : ctx__unmap(v, ts_node_start_byte(hits[i].body));
            covered = (hs >= opener->start && hs < oe) || (bs >= opener->start && bs < oe);
        }
        if (!covered) scopes[ns++] = ctx__scope_from_line(text, *opener, lang, len);
    }
    for (size_t i = 0; i < n_hits; i++) {
        const ctx__scope_hit *h = &hits[i];
        wisp_scope *sc = &scopes[ns++];
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
            sc->name = (wisp_str){v->text + a, b - a};
        }
        sc->header = ctx__header(v->text, v->len, s, bs, e);
        if (v->hole_len && v->hole_at >= s && v->hole_at < s + sc->header.len) { /* cut the placeholder out */
            size_t a = v->hole_at - s, rest = sc->header.len - a;
            size_t cut = v->hole_len < rest ? v->hole_len : rest;
            char *h = ctx__pool_alloc(pool, sc->header.len + 1);
            if (h) {
                memcpy(h, sc->header.ptr, a);
                memcpy(h + a, sc->header.ptr + a + cut, rest - cut);
                sc->header = (wisp_str){h, sc->header.len - cut};
            }
        }
        ctx__line hl = ctx__line_at(v->text, v->len, s);
        sc->indent = (wisp_str){v->text + hl.start, hl.indent < s - hl.start ? hl.indent : s - hl.start};
        sc->start_u8 = ctx__unmap(v, s);
        sc->end_u8 = ctx__unmap(v, e);
        sc->body_start_u8 = ctx__unmap(v, bs);
    }
    wisp_scope *file = &scopes[ns++];
    file->kind = WISP_SCOPE_FILE;
    file->node_type = (wisp_str){ts_node_type(v->root), strlen(ts_node_type(v->root))};
    file->name = file->header = file->indent = (wisp_str){"", 0};
    file->start_u8 = file->body_start_u8 = 0;
    file->end_u8 = len;
    for (size_t i = 0; i < ns; i++) { /* copy strings into the context */
        wisp_scope *sc = &scopes[i];
        sc->node_type = ctx__pool_str(pool, sc->node_type.ptr, sc->node_type.len);
        sc->name = ctx__pool_str(pool, sc->name.ptr, sc->name.len);
        sc->header = ctx__pool_str(pool, sc->header.ptr, sc->header.len);
        sc->indent = ctx__pool_str(pool, sc->indent.ptr, sc->indent.len);
    }
    *n_out = ns;
    return scopes;
}
