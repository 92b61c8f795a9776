/* Context extraction at a cursor, as a sequence of named steps over one ctx__build: the cursor's
 * line, the mode (context_mode.c), the repair of a copy that does not parse yet, the scopes
 * (context_scopes.c), the block indentation, the names in scope and imports (names.c), and the
 * definitions of names used in a window around the cursor (defs.c). Everything is copied into the
 * context, so it outlives edits to the documents. */
#include "context.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

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

enum { CTX__MAX_SCOPES = 64 };

/* What the steps of one extraction share. */
typedef struct ctx__build {
    ctx__owned *o;
    wisp_context *c;
    ctx__pool *pool;
    const wisp_doc *doc;
    const char *text;          /* the document's */
    size_t len, pos;
    wisp_lang lang;
    wisp_pos p;
    wisp_context_params prm;
    ctx__line cur;             /* the cursor's line */
    size_t pos_in_line;        /* the cursor, clamped to the line's content */
    bool prefix_blank, suffix_blank;
    wisp_str unit;             /* one indentation level */
    ctx__view v;               /* the document, or its repaired copy after ctx__step_repair */
    ctx__line opener;          /* BLOCK mode: the line opening the empty block */
    char callee_buf[128];      /* ARGS mode: the function being called */
    size_t callee_len;
    char *repaired_text;
    TSTree *repaired_tree;
    ctx__scope_hit hits[CTX__MAX_SCOPES];
    size_t n_hits;
} ctx__build;

// The cursor's line: prefix, suffix, indentation, the document's indent unit, the node there.
static void ctx__step_cursor(ctx__build *b) {
    wisp_context *c = b->c;
    ctx__pool *pool = b->pool;
    const char *text = b->text;
    c->lang = b->lang;
    c->pos_u8 = b->pos;
    c->line = b->p.line;
    c->col_u8 = b->p.col_u8;
    ctx__line cur = b->cur = ctx__line_at(text, b->len, b->pos);
    size_t pos_in_line = b->pos_in_line = b->pos < cur.end ? b->pos : cur.end; /* between "\r" and "\n": the line end */
    c->line_prefix = ctx__pool_str(pool, text + cur.start, pos_in_line - cur.start);
    c->line_suffix = ctx__pool_str(pool, text + pos_in_line, cur.end - pos_in_line);
    c->line_indent = ctx__pool_str(pool, text + cur.start, cur.indent < pos_in_line - cur.start ? cur.indent : pos_in_line - cur.start);
    b->unit = ctx__indent_unit(text, b->len, b->lang);
    c->indent_unit = ctx__pool_str(pool, b->unit.ptr, b->unit.len);

    b->v = (ctx__view){b->doc, wisp_doc_set(b->doc), b->lang, text, b->len, wisp__doc_root(b->doc), 0, 0};
    TSNode at = ts_node_descendant_for_byte_range(b->v.root, (uint32_t)b->pos, (uint32_t)b->pos);
    c->node_type = ctx__pool_str(pool, ts_node_type(at), strlen(ts_node_type(at)));
    c->in_error = ctx__near_error(b->v.root, b->pos);
    b->prefix_blank = b->suffix_blank = true;
    for (size_t i = cur.start; i < pos_in_line; i++) b->prefix_blank &= ctx__is_blank(text[i]);
    for (size_t i = pos_in_line; i < cur.end; i++) b->suffix_blank &= ctx__is_blank(text[i]);
}

// The mode, from the document as it is. A broken query is a bug, reported.
static wisp_status ctx__step_mode(ctx__build *b, wisp_error *err) {
    wisp_str callee = {"", 0};
    b->opener = b->cur;
    b->c->mode = ctx__mode_at(&b->v, b->pos, b->cur, b->pos_in_line, b->c->in_error, b->prefix_blank,
                              b->suffix_blank, &callee, &b->opener, err);
    if (err && err->code != WISP_OK) return err->code;
    b->callee_len = callee.len < sizeof b->callee_buf ? callee.len : 0;
    if (b->callee_len) memcpy(b->callee_buf, callee.ptr, b->callee_len);
    return WISP_OK;
}

// The structure is read from a repaired copy when the code at the cursor does not parse yet: a
// placeholder at the cursor ("_", or a statement at the body's indentation in BLOCK mode).
static void ctx__step_repair(ctx__build *b) {
    wisp_context *c = b->c;
    if (c->mode == WISP_MODE_NONE ||
        !(c->in_error || (c->mode == WISP_MODE_BLOCK && ts_node_has_error(b->v.root))))
        return;
    char hole[160] = "_";
    if (c->mode == WISP_MODE_BLOCK) { /* a statement at the body's indentation */
        const ctx__line cur = b->cur, opener = b->opener;
        size_t have = b->pos_in_line - cur.start, want = opener.indent + b->unit.len;
        size_t n = want > have && want - have < 120 ? want - have : 0;
        if (have == 0 && n == want) { /* the opener's own indentation, then one unit */
            memcpy(hole, b->text + opener.start, opener.indent);
            memcpy(hole + opener.indent, b->unit.ptr, b->unit.len);
        } else {
            memset(hole, ' ', n);
        }
        strcpy(hole + n, b->lang == WISP_LANG_PYTHON ? "pass" : "_;");
    }
    ctx__view r = b->v;
    if (ctx__repair(b->doc, b->pos, hole, &r, &b->repaired_text, &b->repaired_tree)) b->v = r;
}

// The scopes, innermost first.
static wisp_status ctx__step_scopes(ctx__build *b, wisp_error *err) {
    wisp_context *c = b->c;
    /* on a blank line the cursor's column says which Python blocks it is in; in BLOCK mode the
     * column the body will have */
    size_t col = b->pos_in_line - b->cur.start;
    if (c->mode == WISP_MODE_BLOCK && col < b->opener.indent + 1) col = b->opener.indent + 1;
    b->n_hits = ctx__find_scopes(&b->v, b->pos, b->cur, col, b->hits, CTX__MAX_SCOPES, err);
    size_t ns = 0;
    b->o->scopes = ctx__scopes_of(&b->v, b->hits, b->n_hits, c->mode == WISP_MODE_BLOCK ? &b->opener : NULL,
                                  b->pool, &ns);
    if (!b->o->scopes) return wisp__fail(err, WISP_ERR_NO_MEMORY, "out of memory");
    c->scopes = b->o->scopes;
    c->n_scopes = ns;
    return WISP_OK;
}

// One indentation level deeper than the line starting at `line_start` (indent bytes kept, at most
// 128), into the pool.
static wisp_str ctx__indent_deeper(const ctx__build *b, size_t line_start, size_t indent) {
    char buf[256];
    size_t n = indent < 128 ? indent : 128;
    memcpy(buf, b->text + line_start, n);
    memcpy(buf + n, b->unit.ptr, b->unit.len);
    return ctx__pool_str(b->pool, buf, n + b->unit.len);
}

// The indentation of the statements of the innermost block.
static void ctx__step_block_indent(ctx__build *b) {
    wisp_context *c = b->c;
    ctx__pool *pool = b->pool;
    const char *text = b->text;
    size_t len = b->len;
    const wisp_scope *inner = &b->o->scopes[0];
    if (c->mode == WISP_MODE_BLOCK) {
        size_t oi = b->opener.indent;
        if (b->prefix_blank && b->pos_in_line - b->cur.start > oi)
            c->block_indent = ctx__pool_str(pool, text + b->cur.start, b->pos_in_line - b->cur.start);
        else
            c->block_indent = ctx__indent_deeper(b, b->opener.start, oi);
    } else if (inner->kind == WISP_SCOPE_FILE) {
        c->block_indent = ctx__pool_str(pool, "", 0);
    } else {
        ctx__line hl = ctx__line_at(text, len, inner->start_u8);
        size_t from = inner->body_start_u8 > hl.end ? inner->body_start_u8 : hl.end;
        ctx__line first = ctx__line_at(text, len, from < len ? from : len);
        bool found = true;
        if (first.blank || first.start <= hl.start) first = ctx__nonblank(text, len, hl, +1, &found);
        if (found && first.indent > hl.indent && first.start < inner->end_u8)
            c->block_indent = ctx__pool_str(pool, text + first.start, first.indent);
        else
            c->block_indent = ctx__indent_deeper(b, hl.start, hl.indent);
    }
}

// Names in scope (innermost function/class first, then the file) and the imports.
static void ctx__step_names(ctx__build *b) {
    wisp_context *c = b->c;
    ctx__view *v = &b->v;
    ctx__names names = {.max = b->prm.max_names};
    for (size_t i = 0; i < b->n_hits; i++)
        if (b->hits[i].kind == WISP_SCOPE_FUNCTION || b->hits[i].kind == WISP_SCOPE_CLASS)
            ctx__scope_names(v, &b->hits[i], b->pos, &names, b->pool);
    ctx__file_names(v, &names, b->pool);
    for (size_t i = 0; i < names.n; i++) names.items[i].pos_u8 = ctx__unmap(v, names.items[i].pos_u8);
    b->o->names = names.items;
    c->names = names.items;
    c->n_names = names.n;

    b->o->imports = ctx__imports(v, b->pool, &c->n_imports);
    for (size_t i = 0; i < c->n_imports; i++) {
        b->o->imports[i].start_u8 = ctx__unmap(v, b->o->imports[i].start_u8);
        b->o->imports[i].end_u8 = ctx__unmap(v, b->o->imports[i].end_u8);
    }
    c->imports = b->o->imports;
}

// Definitions of the names used in a window of lines around the cursor.
static wisp_status ctx__step_defs(ctx__build *b, wisp_error *err) {
    wisp_context *c = b->c;
    const wisp_context_params *prm = &b->prm;
    size_t line = b->p.line;
    ctx__lookup lk = {.doc = b->doc, .view = &b->v, .pos_u8 = b->pos, .line = line, .scopes = c->scopes,
                      .n_scopes = c->n_scopes, .names = c->names, .n_names = c->n_names,
                      .callee = {b->callee_buf, b->callee_len}, .params = prm};
    const wisp__line_index *ix = wisp__doc_lines(b->doc);
    size_t l0 = line > prm->ref_lines ? line - prm->ref_lines : 0;
    size_t l1 = line + prm->ref_lines / 4 + 1;
    lk.win_start_u8 = ix->starts_u8[l0];
    lk.win_end_u8 = l1 < ix->n_lines ? ix->starts_u8[l1] : b->len;
    size_t ws = b->pos;
    while (ws > b->cur.start && ctx__is_word(b->text[ws - 1])) ws--;
    lk.word = (wisp_str){b->text + ws, b->pos - ws};
    wisp_status st = wisp__defs_find(&lk, b->pool, &b->o->defs, &c->n_defs, err);
    c->defs = b->o->defs;
    if (st == WISP_OK && b->pool->failed) st = wisp__fail(err, WISP_ERR_NO_MEMORY, "out of memory");
    return st;
}

wisp_status wisp_context_extract(const wisp_doc *doc, size_t pos_u8, const wisp_context_params *params,
                                 wisp_context **out, wisp_error *err) {
    if (!doc || !out) return wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_context_extract: NULL document or output");
    *out = NULL;
    wisp__clear(err);
    wisp_pos p;
    wisp_status st = wisp_doc_pos_at_u8(doc, pos_u8, &p, err);
    if (st != WISP_OK) return st;
    ctx__build *b = calloc(1, sizeof *b);
    ctx__owned *o = calloc(1, sizeof *o);
    if (!b || !o) {
        free(b);
        free(o);
        return wisp__fail(err, WISP_ERR_NO_MEMORY, "out of memory");
    }
    b->o = o;
    b->c = &o->pub;
    b->pool = &o->pool;
    b->doc = doc;
    b->p = p;
    b->pos = p.pos_u8;
    b->text = wisp_doc_text(doc, &b->len);
    b->lang = wisp_doc_lang(doc);
    b->prm = params ? *params : (wisp_context_params){0};
    if (!b->prm.ref_lines) b->prm.ref_lines = 40;
    if (!b->prm.max_defs) b->prm.max_defs = 16;
    if (!b->prm.max_names) b->prm.max_names = 64;

    ctx__step_cursor(b);
    st = ctx__step_mode(b, err);
    if (st == WISP_OK) {
        ctx__step_repair(b);
        st = ctx__step_scopes(b, err);
    }
    if (st == WISP_OK) {
        ctx__step_block_indent(b);
        ctx__step_names(b);
        st = ctx__step_defs(b, err);
    }
    ts_tree_delete(b->repaired_tree);
    free(b->repaired_text);
    free(b);
    if (st != WISP_OK) {
        wisp_context_free(&o->pub);
        return st;
    }
    *out = &o->pub;
    return WISP_OK;
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

