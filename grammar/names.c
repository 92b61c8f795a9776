/* Names for the context: the names in scope at the cursor (parameters, locals, members,
 * module-level definitions, imported names) and the import statements. */
#include <stdlib.h>
#include <string.h>

#include "context.h"

/* ---- names in scope ------------------------------------------------------------------------- */


static void ctx__names_add(ctx__names *v, ctx__pool *pool, const char *s, size_t n, wisp_def_kind kind,
                           size_t pos) {
    if (n == 0 || v->n >= v->max) return;
    for (size_t i = 0; i < v->n; i++)
        if (v->items[i].name.len == n && !memcmp(v->items[i].name.ptr, s, n)) return;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 32;
        wisp_name *a = realloc(v->items, cap * sizeof *a);
        if (!a) {
            pool->failed = true;
            return;
        }
        v->items = a;
        v->cap = cap;
    }
    v->items[v->n++] = (wisp_name){ctx__pool_str(pool, s, n), kind, pos};
}

// Parameters and locals of one function or class scope: names defined in it but not inside a
// function or class nested in it (a nested function's own name does belong to it).
void ctx__scope_names(const ctx__view *v, const ctx__scope_hit *sc, size_t pos,
                             ctx__names *out, ctx__pool *pool) {
    size_t len = v->len;
    const char *text = v->text;
    TSNode root = v->root;
    wisp_docs *set = v->set;
    const TSQuery *qd = wisp__docs_query(set, v->lang, WISP_Q_DEFINITIONS, NULL);
    const TSQuery *qs = wisp__docs_query(set, v->lang, WISP_Q_SCOPES, NULL);
    if (!qd || !qs) return;
    uint32_t s = ts_node_start_byte(sc->node), e = ts_node_end_byte(sc->node);
    /* the nested functions and classes, as (start, body start, end) */
    enum { MAX_INNER = 256 };
    uint32_t inner[MAX_INNER][3];
    size_t n_inner = 0;
    /* a class's names are its members, found near its top (class > body > member > name): no
     * need to walk a 2,000-line class, nor to exclude its methods' insides */
    bool cls = sc->kind == WISP_SCOPE_CLASS;
    TSQueryCursor *qc = ts_query_cursor_new();
    ts_query_cursor_set_byte_range(qc, s, e);
    ts_query_cursor_exec(qc, qs, sc->node);
    TSQueryMatch m;
    while (!cls && ts_query_cursor_next_match(qc, &m) && n_inner < MAX_INNER) {
        TSNode node = {0}, body = {0};
        bool fn = false;
        for (uint16_t k = 0; k < m.capture_count; k++) {
            uint32_t nl;
            const char *cn = ts_query_capture_name_for_id(qs, m.captures[k].index, &nl);
            if (!strcmp(cn, "scope.function") || !strcmp(cn, "scope.class")) node = m.captures[k].node, fn = true;
            else if (!strcmp(cn, "body")) body = m.captures[k].node;
        }
        if (!fn || ts_node_eq(node, sc->node)) continue;
        uint32_t ns = ts_node_start_byte(node), ne = ts_node_end_byte(node);
        inner[n_inner][0] = ns;
        inner[n_inner][1] = ts_node_is_null(body) ? ns : ts_node_start_byte(body);
        inner[n_inner][2] = ne;
        n_inner++;
    }
    /* parameters first, then the other names */
    if (cls) ts_query_cursor_set_max_start_depth(qc, 3);
    for (int pass = cls ? 1 : 0; pass < 2; pass++) {
        ts_query_cursor_set_byte_range(qc, s, e);
        ts_query_cursor_exec(qc, qd, sc->node);
        while (ts_query_cursor_next_match(qc, &m)) {
            for (uint16_t k = 0; k < m.capture_count; k++) {
                uint32_t nl;
                const char *cn = ts_query_capture_name_for_id(qd, m.captures[k].index, &nl);
                if (cls && !strcmp(cn, "name")) { /* a member: method or field */
                    const char *what = "local.variable";
                    for (uint16_t j = 0; j < m.capture_count; j++) {
                        const char *dn = ts_query_capture_name_for_id(qd, m.captures[j].index, &nl);
                        if (!strcmp(dn, "definition.function")) what = "local.function";
                    }
                    cn = what;
                }
                if (strncmp(cn, "local.", 6)) continue;
                bool param = !strcmp(cn, "local.parameter");
                if (cls && param) continue; /* a method's parameters are not the class's */
                if (param != (pass == 0)) continue;
                TSNode nn = m.captures[k].node;
                uint32_t a = ts_node_start_byte(nn), b = ts_node_end_byte(nn);
                if (b > len || a >= b) continue;
                if (!param && a > pos) continue; /* not defined yet at the cursor */
                if (!ts_node_is_null(sc->name) && ts_node_eq(nn, sc->name)) continue; /* its own name */
                if (param && !ts_node_is_null(sc->body) && a >= ts_node_start_byte(sc->body)) continue;
                bool nested = false;
                for (size_t i = 0; i < n_inner && !nested; i++) {
                    if (a >= inner[i][1] && b <= inner[i][2]) nested = true;        /* in its body */
                    else if (param && a >= inner[i][0] && b <= inner[i][1]) nested = true; /* its params */
                }
                if (nested) continue;
                wisp_def_kind kind = param ? WISP_DEF_PARAMETER
                                   : !strcmp(cn, "local.function") ? WISP_DEF_FUNCTION
                                   : !strcmp(cn, "local.class") ? WISP_DEF_CLASS
                                   : sc->kind == WISP_SCOPE_CLASS ? WISP_DEF_FIELD : WISP_DEF_LOCAL;
                ctx__names_add(out, pool, text + a, b - a, kind, a);
            }
        }
    }
    ts_query_cursor_delete(qc);
    (void)root;
}

// Module-level names: top-level definitions and the names imports bind.
void ctx__file_names(const ctx__view *v, ctx__names *out, ctx__pool *pool) {
    size_t len = v->len;
    const char *text = v->text;
    TSNode root = v->root;
    const TSQuery *qd = wisp__docs_query(v->set, v->lang, WISP_Q_DEFINITIONS, NULL);
    if (!qd) return;
    TSQueryCursor *qc = ts_query_cursor_new();
    ts_query_cursor_set_max_start_depth(qc, 3);
    ts_query_cursor_exec(qc, qd, root);
    TSQueryMatch m;
    while (ts_query_cursor_next_match(qc, &m)) {
        TSNode def = {0}, name = {0};
        wisp_def_kind kind = WISP_DEF_VARIABLE;
        bool have = false;
        for (uint16_t k = 0; k < m.capture_count; k++) {
            uint32_t nl;
            const char *cn = ts_query_capture_name_for_id(qd, m.captures[k].index, &nl);
            if (!strcmp(cn, "name")) name = m.captures[k].node;
            else if (!strncmp(cn, "definition.", 11)) {
                def = m.captures[k].node;
                have = true;
                const char *kn = cn + 11;
                kind = !strcmp(kn, "function") ? WISP_DEF_FUNCTION : !strcmp(kn, "class") ? WISP_DEF_CLASS
                     : !strcmp(kn, "type") ? WISP_DEF_TYPE : !strcmp(kn, "macro") ? WISP_DEF_MACRO
                     : !strcmp(kn, "field") ? WISP_DEF_FIELD : WISP_DEF_VARIABLE;
            }
        }
        if (!have || ts_node_is_null(name) || kind == WISP_DEF_FIELD) continue;
        /* only definitions directly at the top (their parent chain reaches the root quickly) */
        TSNode p = ts_node_parent(def);
        int depth = 0;
        while (!ts_node_is_null(p) && !ts_node_eq(p, root) && depth < 3) {
            const char *t = ts_node_type(p);
            if (strcmp(t, "export_statement") && strcmp(t, "decorated_definition") &&
                strcmp(t, "expression_statement") && strcmp(t, "lexical_declaration") &&
                strcmp(t, "type_definition") && strcmp(t, "declaration") && strncmp(t, "preproc_", 8))
                break;
            p = ts_node_parent(p);
            depth++;
        }
        if (!ts_node_eq(p, root)) continue;
        uint32_t a = ts_node_start_byte(name), b = ts_node_end_byte(name);
        if (b <= len && a < b) ctx__names_add(out, pool, text + a, b - a, kind, a);
    }
    const TSQuery *qi = wisp__docs_query(v->set, v->lang, WISP_Q_IMPORTS, NULL);
    if (qi) {
        ts_query_cursor_exec(qc, qi, root);
        while (ts_query_cursor_next_match(qc, &m)) {
            if (!ctx__match_ok(qi, &m, text, len)) continue;
            for (uint16_t k = 0; k < m.capture_count; k++) {
                uint32_t nl;
                const char *cn = ts_query_capture_name_for_id(qi, m.captures[k].index, &nl);
                if (strcmp(cn, "import.name")) continue;
                uint32_t a = ts_node_start_byte(m.captures[k].node), b = ts_node_end_byte(m.captures[k].node);
                if (b <= len && a < b) ctx__names_add(out, pool, text + a, b - a, WISP_DEF_IMPORT, a);
            }
        }
    }
    ts_query_cursor_delete(qc);
}

// Import statements in document order, each once.
wisp_import *ctx__imports(const ctx__view *v, ctx__pool *pool, size_t *n_out) {
    size_t len = v->len;
    const char *text = v->text;
    TSNode root = v->root;
    *n_out = 0;
    const TSQuery *q = wisp__docs_query(v->set, v->lang, WISP_Q_IMPORTS, NULL);
    if (!q) return NULL;
    wisp_import *items = NULL;
    size_t n = 0, cap = 0;
    TSQueryCursor *qc = ts_query_cursor_new();
    ts_query_cursor_set_max_start_depth(qc, 4);
    ts_query_cursor_exec(qc, q, root);
    TSQueryMatch m;
    while (ts_query_cursor_next_match(qc, &m) && n < 256) {
        if (!ctx__match_ok(q, &m, text, len)) continue;
        for (uint16_t k = 0; k < m.capture_count; k++) {
            uint32_t nl;
            const char *cn = ts_query_capture_name_for_id(q, m.captures[k].index, &nl);
            if (strcmp(cn, "import")) continue;
            uint32_t a = ts_node_start_byte(m.captures[k].node), b = ts_node_end_byte(m.captures[k].node);
            while (b > a && (ctx__is_blank(text[b - 1]) || text[b - 1] == '\n')) b--;
            bool dup = false;
            for (size_t i = 0; i < n; i++) dup |= items[i].start_u8 == a;
            if (dup || b > len) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                wisp_import *t = realloc(items, cap * sizeof *t);
                if (!t) {
                    pool->failed = true;
                    break;
                }
                items = t;
            }
            items[n++] = (wisp_import){ctx__pool_str(pool, text + a, b - a), a, b};
        }
    }
    ts_query_cursor_delete(qc);
    for (size_t i = 1; i < n; i++) { /* document order */
        wisp_import t = items[i];
        size_t j = i;
        while (j > 0 && items[j - 1].start_u8 > t.start_u8) items[j] = items[j - 1], j--;
        items[j] = t;
    }
    *n_out = n;
    return items;
}

