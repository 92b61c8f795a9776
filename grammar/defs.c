/* Definitions for the context: a per-document index of definitions (built once per document
 * version from definitions.scm), the names referenced near the cursor (references.scm), and the
 * ranked, deduplicated signatures of the ones defined in this or another open document. */
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "error.h"

typedef struct defs__entry {
    uint32_t name_start, name_len;
    uint32_t start, end;       /* the definition */
    uint32_t sig_end;          /* where the signature stops (the body), or end */
    int32_t owner;             /* for a field: the entry of its class, else -1 */
    wisp_def_kind kind;
    bool dead;                 /* an edit touched its name: skipped until the next rebuild */
} defs__entry;

/* The top-level definitions of a document, built once per document version and attached to the
 * document (doc.h, derived data), which frees it with the version. */
typedef struct wisp__def_index {
    defs__entry *items;        /* sorted by name, then start */
    size_t n;
    uint32_t n_shifted;        /* edits applied by shifting since the index was built */
} wisp__def_index;

// Keeps an index valid across an edit that leaves the lines as they were (a keystroke within a
// line) by shifting its offsets; entries whose names the edit touched are skipped until the next
// rebuild. False when the index must be rebuilt instead (lines changed, or many edits since).
static bool defs__index_shift(void *data, size_t start, size_t old_end, size_t new_len,
                              bool lines_changed) {
    wisp__def_index *ix = data;
    if (!ix || lines_changed || ++ix->n_shifted > 64) return false;
    int64_t delta = (int64_t)new_len - (int64_t)(old_end - start);
    for (size_t i = 0; i < ix->n; i++) {
        defs__entry *d = &ix->items[i];
        if (d->end < start) continue; /* before the edit (an edit touching its end extends it) */
        /* an edit touching a name changes the sort order the lookups rely on: rebuild */
        if (d->name_start <= old_end && d->name_start + d->name_len >= start) return false;
        if (start <= d->start && d->start <= old_end) return false; /* whose start is it? */
        if (d->start >= old_end) d->start = (uint32_t)((int64_t)d->start + delta);
        if (d->name_start >= old_end) d->name_start = (uint32_t)((int64_t)d->name_start + delta);
        if (d->sig_end >= old_end) d->sig_end = (uint32_t)((int64_t)d->sig_end + delta);
        else if (d->sig_end > start) d->sig_end = (uint32_t)start;
        if (d->end >= old_end) d->end = (uint32_t)((int64_t)d->end + delta);
        else d->end = (uint32_t)(start + new_len);
        if (d->start > d->end) d->dead = true;
    }
    return true;
}

static void defs__index_free(void *data) {
    wisp__def_index *index = data;
    if (!index) return;
    free(index->items);
    free(index);
}

// Order by name, then start. (No qsort: its comparator would need the text in a global, and
// distinct document sets may be used from distinct threads.)
static int defs__cmp(const char *text, const defs__entry *x, const defs__entry *y) {
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(text + x->name_start, text + y->name_start, n);
    if (c) return c;
    if (x->name_len != y->name_len) return x->name_len < y->name_len ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

// A bottom-up merge sort of the entries; false when out of memory (the order is then unchanged).
static bool defs__sort(const char *text, defs__entry *a, size_t n) {
    defs__entry *tmp = malloc(n * sizeof *tmp);
    if (!tmp) return false;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) tmp[k++] = defs__cmp(text, &a[j], &a[i]) < 0 ? a[j++] : a[i++];
            while (i < mid) tmp[k++] = a[i++];
            while (j < hi) tmp[k++] = a[j++];
        }
        memcpy(a, tmp, n * sizeof *a);
    }
    free(tmp);
    return true;
}

static wisp_def_kind defs__kind(const char *k) {
    if (!strcmp(k, "function")) return WISP_DEF_FUNCTION;
    if (!strcmp(k, "class")) return WISP_DEF_CLASS;
    if (!strcmp(k, "type")) return WISP_DEF_TYPE;
    if (!strcmp(k, "macro")) return WISP_DEF_MACRO;
    if (!strcmp(k, "field")) return WISP_DEF_FIELD;
    return WISP_DEF_VARIABLE;
}

static const wisp__doc_derived_ops defs__index_ops = {defs__index_free, defs__index_shift};

// The index of a document, built on first use for its current version.
static const wisp__def_index *defs__index(const wisp_doc *doc) {
    wisp__def_index *ix = wisp__doc_derived(doc, &defs__index_ops);
    if (ix) return ix;
    size_t len;
    const char *text = wisp_doc_text(doc, &len);
    const TSQuery *q = wisp__docs_query(wisp_doc_set(doc), wisp_doc_lang(doc), WISP_Q_DEFINITIONS, NULL);
    ix = calloc(1, sizeof *ix);
    if (!ix || !q) {
        free(ix);
        return NULL;
    }
    size_t cap = 0;
    TSQueryCursor *qc = ts_query_cursor_new();
    ts_query_cursor_exec(qc, q, wisp__doc_root(doc));
    TSQueryMatch m;
    while (ts_query_cursor_next_match(qc, &m)) {
        TSNode def = {0}, name = {0}, body = {0};
        const char *kind = NULL;
        for (uint16_t k = 0; k < m.capture_count; k++) {
            uint32_t nl;
            const char *cn = ts_query_capture_name_for_id(q, m.captures[k].index, &nl);
            if (!strncmp(cn, "definition.", 11)) def = m.captures[k].node, kind = cn + 11;
            else if (!strcmp(cn, "name")) name = m.captures[k].node;
            else if (!strcmp(cn, "body")) body = m.captures[k].node;
        }
        if (!kind || ts_node_is_null(name)) continue;
        uint32_t ns = ts_node_start_byte(name), ne = ts_node_end_byte(name);
        if (ne > len || ns >= ne) continue;
        if (ix->n == cap) {
            cap = cap ? cap * 2 : 64;
            defs__entry *a = realloc(ix->items, cap * sizeof *a);
            if (!a) break;
            ix->items = a;
        }
        defs__entry *d = &ix->items[ix->n++];
        d->name_start = ns;
        d->name_len = ne - ns;
        d->kind = defs__kind(kind);
        /* a decorated Python definition starts at its decorators */
        TSNode parent = ts_node_parent(def);
        if (!ts_node_is_null(parent) && (!strcmp(ts_node_type(parent), "decorated_definition") ||
                                         !strcmp(ts_node_type(parent), "export_statement")))
            def = parent;
        d->start = ts_node_start_byte(def);
        d->end = ts_node_end_byte(def);
        d->sig_end = ts_node_is_null(body) ? d->end : ts_node_start_byte(body);
        d->owner = -1;
        d->dead = false;
    }
    ts_query_cursor_delete(qc);
    /* a field belongs to the smallest class around it */
    for (size_t i = 0; i < ix->n; i++) {
        if (ix->items[i].kind != WISP_DEF_FIELD) continue;
        uint32_t best_len = UINT32_MAX;
        for (size_t j = 0; j < ix->n; j++) {
            const defs__entry *c = &ix->items[j];
            if (c->kind == WISP_DEF_CLASS && c->start <= ix->items[i].start && ix->items[i].end <= c->end &&
                c->end - c->start < best_len) {
                best_len = c->end - c->start;
                ix->items[i].owner = (int32_t)j;
            }
        }
    }
    /* sort by name; owners are indices, so remember them by start and fix them up after */
    for (size_t i = 0; i < ix->n; i++)
        if (ix->items[i].owner >= 0) ix->items[i].owner = (int32_t)ix->items[ix->items[i].owner].start;
    if (ix->n && !defs__sort(text, ix->items, ix->n)) ix->n = 0; /* unsorted is unusable */
    for (size_t i = 0; i < ix->n; i++) {
        if (ix->items[i].owner < 0) continue;
        uint32_t start = (uint32_t)ix->items[i].owner;
        ix->items[i].owner = -1;
        for (size_t j = 0; j < ix->n; j++)
            if (ix->items[j].kind == WISP_DEF_CLASS && ix->items[j].start == start) ix->items[i].owner = (int32_t)j;
    }
    wisp__doc_set_derived(doc, &defs__index_ops, ix);
    return ix;
}

// The first entry named exactly `name` (or, with prefix, starting with it), or n.
static size_t defs__lower(const wisp__def_index *ix, const char *text, const char *name, size_t n) {
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const defs__entry *d = &ix->items[mid];
        size_t k = d->name_len < n ? d->name_len : n;
        int c = memcmp(text + d->name_start, name, k);
        if (c < 0 || (c == 0 && d->name_len < n)) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* ---- signatures ----------------------------------------------------------------------------- */

typedef struct defs__buf {
    char *p;
    size_t n, cap, lines;
    bool full;
} defs__buf;

enum { DEFS_MAX_LINES = 40, DEFS_MAX_BYTES = 2400 };

static void defs__put(defs__buf *b, const char *s, size_t n) {
    if (b->full) return;
    for (size_t i = 0; i < n; i++) b->lines += s[i] == '\n';
    if (b->n + n > DEFS_MAX_BYTES || b->lines >= DEFS_MAX_LINES) {
        b->full = true;
        return;
    }
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->full = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

// [s, e) with trailing blanks and newlines cut.
static size_t defs__rtrim(const char *text, size_t s, size_t e) {
    while (e > s && (text[e - 1] == ' ' || text[e - 1] == '\t' || text[e - 1] == '\r' || text[e - 1] == '\n')) e--;
    return e;
}

// The leading blanks of the line holding byte s, so that a slice starts as the line did.
static void defs__put_indent(defs__buf *b, const char *text, size_t s) {
    size_t ls = s;
    while (ls > 0 && text[ls - 1] != '\n') ls--;
    size_t i = ls;
    while (i < s && (text[i] == ' ' || text[i] == '\t')) i++;
    if (i == s) defs__put(b, text + ls, s - ls);
}

static size_t defs__count_lines(const char *text, size_t s, size_t e) {
    size_t n = 1;
    for (size_t i = s; i < e; i++) n += text[i] == '\n';
    return n;
}

// A class too long to show whole: its header, then one line per member, bodies elided.
static void defs__outline(defs__buf *b, const wisp_doc *doc, const defs__entry *d) {
    size_t len;
    const char *text = wisp_doc_text(doc, &len);
    wisp_lang lang = wisp_doc_lang(doc);
    defs__put(b, text + d->start, defs__rtrim(text, d->start, d->sig_end) - d->start);
    if (lang != WISP_LANG_PYTHON) defs__put(b, " {", 2);
    TSNode node = ts_node_descendant_for_byte_range(wisp__doc_root(doc), d->sig_end, d->sig_end);
    while (!ts_node_is_null(node) && ts_node_start_byte(node) == d->sig_end && ts_node_end_byte(node) < d->end &&
           !ts_node_is_null(ts_node_parent(node)) && ts_node_start_byte(ts_node_parent(node)) == d->sig_end)
        node = ts_node_parent(node);
    uint32_t nc = ts_node_named_child_count(node);
    for (uint32_t i = 0; i < nc && !b->full; i++) {
        TSNode ch = ts_node_named_child(node, i);
        const char *t = ts_node_type(ch);
        if (!strcmp(t, "comment")) continue;
        if (!strcmp(t, "expression_statement") && ts_node_named_child_count(ch) == 1 &&
            !strcmp(ts_node_type(ts_node_named_child(ch, 0)), "string"))
            continue; /* a docstring */
        TSNode inner = ch;
        if (!strcmp(t, "decorated_definition")) inner = ts_node_child_by_field_name(ch, "definition", 10);
        TSNode body = ts_node_child_by_field_name(inner, "body", 4);
        uint32_t s = ts_node_start_byte(ch), e;
        defs__put(b, "\n", 1);
        defs__put_indent(b, text, s);
        if (!ts_node_is_null(body)) {
            e = (uint32_t)defs__rtrim(text, s, ts_node_start_byte(body));
            defs__put(b, text + s, e - s);
            defs__put(b, lang == WISP_LANG_PYTHON ? " ..." : " { ... }", lang == WISP_LANG_PYTHON ? 4 : 8);
        } else {
            e = s;
            while (e < ts_node_end_byte(ch) && text[e] != '\n') e++;
            defs__put(b, text + s, defs__rtrim(text, s, e) - s);
        }
    }
    if (lang != WISP_LANG_PYTHON) {
        defs__put(b, "\n", 1);
        size_t ls = d->end;
        while (ls > d->start && text[ls - 1] != '\n') ls--;
        defs__put(b, text + ls, d->end - ls);
    }
}

// What the model sees of a definition (see wisp_def.signature).
static wisp_str defs__signature(const wisp_doc *doc, const defs__entry *d, ctx__pool *pool) {
    size_t len;
    const char *text = wisp_doc_text(doc, &len);
    defs__buf b = {0};
    defs__put_indent(&b, text, d->start);
    switch (d->kind) {
    case WISP_DEF_FUNCTION:
        defs__put(&b, text + d->start, defs__rtrim(text, d->start, d->sig_end) - d->start);
        break;
    case WISP_DEF_CLASS:
        if (defs__count_lines(text, d->start, d->end) <= 12) defs__put(&b, text + d->start, defs__rtrim(text, d->start, d->end) - d->start);
        else defs__outline(&b, doc, d);
        break;
    case WISP_DEF_VARIABLE:
    case WISP_DEF_FIELD: {
        size_t e = d->start;
        while (e < d->end && text[e] != '\n') e++;
        e = defs__rtrim(text, d->start, e);
        if (e - d->start > 200) e = d->start + 200;
        defs__put(&b, text + d->start, e - d->start);
        if (e < defs__rtrim(text, d->start, d->end)) defs__put(&b, " ...", 4);
        break;
    }
    default: /* types, macros: whole, up to the limits */
        defs__put(&b, text + d->start, defs__rtrim(text, d->start, d->end) - d->start);
        break;
    }
    if (b.full && b.n < DEFS_MAX_BYTES - 4) {
        b.full = false;
        b.lines = 0;
        defs__put(&b, "\n...", 4);
    }
    wisp_str s = ctx__pool_str(pool, b.p ? b.p : "", b.n);
    free(b.p);
    return s;
}

/* ---- references near the cursor ------------------------------------------------------------- */

typedef struct defs__ref {
    const char *name;
    size_t len;
    uint32_t count;
    float weight;
    bool member;
} defs__ref;

typedef struct defs__refs {
    defs__ref *items;
    size_t n, cap;
} defs__refs;

static void defs__ref_add(defs__refs *v, const char *s, size_t n, float w, bool member) {
    for (size_t i = 0; i < v->n; i++) {
        if (v->items[i].len == n && !memcmp(v->items[i].name, s, n)) {
            v->items[i].count++;
            v->items[i].weight += w;
            v->items[i].member &= member;
            return;
        }
    }
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        defs__ref *a = realloc(v->items, cap * sizeof *a);
        if (!a) return;
        v->items = a;
        v->cap = cap;
    }
    v->items[v->n++] = (defs__ref){s, n, 1, w, member};
}

// Identifiers used in [start, end) of the cursor's document, weighted by nearness to the cursor.
static void defs__collect(const ctx__lookup *lk, uint32_t start, uint32_t end, defs__refs *out) {
    const ctx__view *v = lk->view;
    size_t len = v->len;
    const char *text = v->text;
    const TSQuery *q = wisp__docs_query(v->set, v->lang, WISP_Q_REFERENCES, NULL);
    if (!q || start >= end) return;
    const wisp__line_index *ix = wisp__doc_lines(lk->doc);
    TSQueryCursor *qc = ts_query_cursor_new();
    /* doc offsets to view offsets: past the placeholder they move by its length */
    if (start > v->hole_at) start += (uint32_t)v->hole_len;
    if (end > v->hole_at) end += (uint32_t)v->hole_len;
    ts_query_cursor_set_byte_range(qc, start, end);
    ts_query_cursor_exec(qc, q, v->root);
    TSQueryMatch m;
    size_t line = 0;
    while (ts_query_cursor_next_match(qc, &m)) {
        for (uint16_t k = 0; k < m.capture_count; k++) {
            uint32_t nl;
            const char *cn = ts_query_capture_name_for_id(q, m.captures[k].index, &nl);
            TSNode n = m.captures[k].node;
            uint32_t a = ts_node_start_byte(n), b = ts_node_end_byte(n);
            if (b > len || a >= b || b - a > 128) continue;
            if (a <= lk->pos_u8 && lk->pos_u8 <= b) continue; /* the word being typed */
            if (v->hole_len && a >= v->hole_at && a < v->hole_at + v->hole_len) continue; /* placeholder */
            a = (uint32_t)ctx__unmap(v, a);
            while (line + 1 < ix->n_lines && ix->starts_u8[line + 1] <= a) line++;
            while (line > 0 && ix->starts_u8[line] > a) line--;
            size_t dist = line > lk->line ? line - lk->line : lk->line - line;
            defs__ref_add(out, text + a, b - a, 1.0f / (1.0f + (float)dist / 8.0f), !strcmp(cn, "reference.member"));
        }
    }
    ts_query_cursor_delete(qc);
}

/* ---- lookup and ranking --------------------------------------------------------------------- */

#define DEFS__MAX_PER_NAME 8 /* definitions of one name looked at in one document */

typedef struct defs__cand {
    const wisp_doc *doc;
    const defs__entry *e;
    uint32_t n_refs;
    float score;
} defs__cand;

static bool defs__family(wisp_lang a, wisp_lang b) {
    bool ja = a == WISP_LANG_JAVASCRIPT || a == WISP_LANG_TYPESCRIPT || a == WISP_LANG_TSX;
    bool jb = b == WISP_LANG_JAVASCRIPT || b == WISP_LANG_TYPESCRIPT || b == WISP_LANG_TSX;
    return a == b || (ja && jb);
}

static int defs__by_score(const void *a, const void *b) {
    const defs__cand *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->e->start < y->e->start ? -1 : x->e->start > y->e->start;
}

// Adds the definitions of `name` in `doc` to the candidates, with the reference's score. A field
// resolves to its class; definitions around the cursor or inside the window are left out (the
// prompt shows them as they are).
static void defs__lookup(const ctx__lookup *lk, const wisp_doc *doc, const char *name, size_t n,
                         uint32_t n_refs, float score, bool member, defs__cand **cands, size_t *n_cands,
                         size_t *cap) {
    const wisp__def_index *ix = defs__index(doc);
    if (!ix) return;
    const char *text = wisp_doc_text(doc, NULL);
    bool same = doc == lk->doc;
    /* a name defined again and again (a variable reassigned at the top level of a long file) gives
     * the prompt one definition at most: its first few are plenty, and looking at all of them made
     * a keystroke quadratic in their number (seconds for 50,000 lines of "x = 1") */
    size_t seen = 0;
    for (size_t i = defs__lower(ix, text, name, n); i < ix->n && seen < DEFS__MAX_PER_NAME; i++, seen++) {
        const defs__entry *e = &ix->items[i];
        if (e->name_len != n || memcmp(text + e->name_start, name, n)) break;
        if (e->dead) continue;
        if (e->kind == WISP_DEF_FIELD) {
            if (e->owner < 0 || ix->items[e->owner].dead) continue;
            e = &ix->items[e->owner];
        } else if (member && e->kind != WISP_DEF_FUNCTION) {
            continue;
        }
        if (same && e->start <= lk->pos_u8 && lk->pos_u8 <= e->end) continue;
        if (same && e->start >= lk->win_start_u8 && e->start < lk->win_end_u8) continue;
        bool dup = false;
        for (size_t j = 0; j < *n_cands; j++) {
            if ((*cands)[j].e == e && (*cands)[j].doc == doc) {
                (*cands)[j].score += score;
                (*cands)[j].n_refs += n_refs;
                dup = true;
            }
        }
        if (dup) continue;
        if (*n_cands == *cap) {
            *cap = *cap ? *cap * 2 : 32;
            defs__cand *a = realloc(*cands, *cap * sizeof *a);
            if (!a) return;
            *cands = a;
        }
        (*cands)[(*n_cands)++] = (defs__cand){doc, e, n_refs, score * (same ? 1.0f : 1.25f)};
    }
}

// Definitions whose names start with the word being typed (completing a name defined elsewhere).
static void defs__by_prefix(const ctx__lookup *lk, const wisp_doc *doc, defs__cand **cands,
                            size_t *n_cands, size_t *cap) {
    const wisp__def_index *ix = defs__index(doc);
    if (!ix || lk->word.len < 2) return;
    const char *text = wisp_doc_text(doc, NULL);
    size_t added = 0;
    for (size_t i = defs__lower(ix, text, lk->word.ptr, lk->word.len); i < ix->n && added < 4; i++) {
        const defs__entry *e = &ix->items[i];
        if (e->name_len < lk->word.len || memcmp(text + e->name_start, lk->word.ptr, lk->word.len)) break;
        if (e->dead || e->kind == WISP_DEF_FIELD || e->name_len == lk->word.len) continue;
        defs__lookup(lk, doc, text + e->name_start, e->name_len, 0, 1.5f, false, cands, n_cands, cap);
        added++;
    }
}

wisp_status wisp__defs_find(const ctx__lookup *lk, ctx__pool *pool, wisp_def **out, size_t *n_out,
                            wisp_error *err) {
    *out = NULL;
    *n_out = 0;
    defs__refs refs = {0};
    defs__collect(lk, (uint32_t)lk->win_start_u8, (uint32_t)lk->win_end_u8, &refs);
    for (size_t i = 0; i < lk->n_scopes; i++) { /* the headers of the enclosing scopes (types of params) */
        const wisp_scope *s = &lk->scopes[i];
        if (s->kind == WISP_SCOPE_FUNCTION && s->start_u8 < lk->win_start_u8)
            defs__collect(lk, (uint32_t)s->start_u8, (uint32_t)s->body_start_u8, &refs);
    }
    if (lk->callee.len) defs__ref_add(&refs, lk->callee.ptr, lk->callee.len, 6.0f, false);

    defs__cand *cands = NULL;
    size_t n_cands = 0, cap = 0;
    wisp_docs *set = wisp_doc_set(lk->doc);
    size_t n_docs = lk->params->this_doc_only ? 1 : wisp_docs_count(set);
    for (size_t r = 0; r < refs.n; r++) {
        const defs__ref *ref = &refs.items[r];
        bool local = false; /* a parameter or local shadows the definitions elsewhere */
        for (size_t i = 0; i < lk->n_names && !ref->member; i++) {
            const wisp_name *nm = &lk->names[i];
            if ((nm->kind == WISP_DEF_PARAMETER || nm->kind == WISP_DEF_LOCAL) &&
                nm->name.len == ref->len && !memcmp(nm->name.ptr, ref->name, ref->len))
                local = true;
        }
        if (local) continue;
        defs__lookup(lk, lk->doc, ref->name, ref->len, ref->count, ref->weight, ref->member, &cands, &n_cands, &cap);
        for (size_t d = 0; d < n_docs; d++) {
            const wisp_doc *other = wisp_docs_at(set, d);
            if (lk->params->this_doc_only || other == lk->doc ||
                !defs__family(wisp_doc_lang(other), wisp_doc_lang(lk->doc)))
                continue;
            defs__lookup(lk, other, ref->name, ref->len, ref->count, ref->weight, ref->member, &cands, &n_cands, &cap);
        }
    }
    defs__by_prefix(lk, lk->doc, &cands, &n_cands, &cap);
    for (size_t d = 0; d < n_docs && !lk->params->this_doc_only; d++) {
        const wisp_doc *other = wisp_docs_at(set, d);
        if (other != lk->doc && defs__family(wisp_doc_lang(other), wisp_doc_lang(lk->doc)))
            defs__by_prefix(lk, other, &cands, &n_cands, &cap);
    }
    free(refs.items);
    if (n_cands) qsort(cands, n_cands, sizeof *cands, defs__by_score);

    /* one per (name, uri): the best-scored one (a C prototype and its definition are one) */
    wisp_def *defs = calloc(lk->params->max_defs ? lk->params->max_defs : 1, sizeof *defs);
    if (!defs) {
        free(cands);
        return wisp__fail(err, WISP_ERR_NO_MEMORY, "out of memory");
    }
    size_t n = 0;
    for (size_t i = 0; i < n_cands && n < lk->params->max_defs; i++) {
        const defs__cand *c = &cands[i];
        const char *text = wisp_doc_text(c->doc, NULL);
        const char *nm = text + c->e->name_start;
        bool dup = false;
        for (size_t j = 0; j < n && !dup; j++)
            dup = defs[j].name.len == c->e->name_len && !memcmp(defs[j].name.ptr, nm, c->e->name_len) &&
                  !strcmp(defs[j].uri, wisp_doc_uri(c->doc));
        if (dup) continue;
        wisp_def *d = &defs[n++];
        d->name = ctx__pool_str(pool, nm, c->e->name_len);
        d->kind = c->e->kind;
        d->signature = defs__signature(c->doc, c->e, pool);
        d->uri = ctx__pool_str(pool, wisp_doc_uri(c->doc), strlen(wisp_doc_uri(c->doc))).ptr;
        d->same_doc = c->doc == lk->doc;
        d->start_u8 = c->e->start;
        d->end_u8 = c->e->end;
        wisp_pos p;
        d->line = wisp_doc_pos_at_u8(c->doc, c->e->start, &p, NULL) == WISP_OK ? p.line : 0;
        d->n_refs = c->n_refs;
        d->score = c->score;
    }
    free(cands);
    *out = defs;
    *n_out = n;
    return WISP_OK;
}
