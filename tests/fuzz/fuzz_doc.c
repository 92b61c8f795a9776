/*
 * libFuzzer target for documents: a sequence of open / edit (bytes or UTF-16 units, as the
 * worker sends them) / set_text / close / context operations on three document slots, with text
 * from fuzz_input.h (invalid UTF-8, NULs, CRLF, huge lines, deep nesting) and positions at, inside
 * and past the ends. A shadow copy of every text is kept beside the documents. Checked after each
 * operation:
 *   - the document's text and version are the shadow's; a failing operation changed nothing and
 *     said why (WISP_ERR_RANGE for an edit outside the text, _INVALID_ARG for a uri already open,
 *     _LANGUAGE for a language without grammar);
 *   - the line index and the position conversions agree with a scan of the text
 *     (wisp_text_pos_*), which needs no index;
 *   - every node of the incrementally reparsed tree has start/end points that are the rows and
 *     byte columns of its start/end bytes (a wrong TSInputEdit shows here), and when a fresh parse
 *     of the same text has no error, the incremental tree is that tree;
 *   - when the trees agree, the context at a cursor (mode, scopes, names, imports, definitions
 *     through the document's shifted definition index) is the context of a freshly opened copy.
 */
#include <stdio.h>

#include "doc.h"
#include "fuzz_input.h"

enum { N_SLOTS = 3, MAX_NODES = 4096, MAX_SEXP_LEN = 4096 };

typedef struct slot {
    wisp_doc *doc;
    wisp_lang lang;
    fuzz_buf text;  /* the shadow: what the document must hold */
    uint64_t version;
} slot;

static const char *const uris[N_SLOTS] = {"file:///a.py", "file:///dir/b.c", "untitled:c"};

/* Row and byte column of `pos` in text[0..len) (rows end at "\n", as tree-sitter counts). */
static TSPoint point_of(const char *text, size_t pos) {
    TSPoint p = {0, 0};
    for (size_t i = 0; i < pos; i++) {
        if (text[i] == '\n') {
            p.row++;
            p.column = 0;
        } else {
            p.column++;
        }
    }
    return p;
}

/* Start of each line, for point checks in O(log n). */
typedef struct lines {
    size_t *start;
    size_t n;
} lines;

static lines lines_of(const char *text, size_t len) {
    lines l = {malloc(sizeof(size_t) * (len + 2)), 1};
    FUZZ_CHECK(l.start);
    l.start[0] = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n') l.start[l.n++] = i + 1;
    return l;
}

static TSPoint lines_point(const lines *l, size_t pos) {
    size_t lo = 0, hi = l->n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->start[mid] <= pos) lo = mid;
        else hi = mid;
    }
    return (TSPoint){(uint32_t)lo, (uint32_t)(pos - l->start[lo])};
}

static void check_pos_equal(wisp_status a, const wisp_pos *pa, wisp_status b, const wisp_pos *pb) {
    FUZZ_CHECK(a == b);
    if (a != WISP_OK) return;
    FUZZ_CHECK(pa->pos_u8 == pb->pos_u8 && pa->off_u16 == pb->off_u16 && pa->line == pb->line &&
               pa->col_u8 == pb->col_u8 && pa->col_u16 == pb->col_u16);
}

/* The document's indexed conversions against the index-free scan, at positions from the input. */
static void check_positions(fuzz_in *in, const slot *s) {
    const char *t = s->text.p ? s->text.p : "";
    size_t len = s->text.len;
    for (int k = 0; k < 3; k++) {
        wisp_pos a, b;
        wisp_error e1, e2;
        size_t pos = fuzz_pos(in, len);
        check_pos_equal(wisp_doc_pos_at_u8(s->doc, pos, &a, &e1), &a, wisp_text_pos_at_u8(t, len, pos, &b, &e2), &b);
        if (pos > len) FUZZ_CHECK(e1.code == WISP_ERR_RANGE);
        size_t off = fuzz_pos(in, len);
        wisp_status st = wisp_doc_pos_at_u16(s->doc, off, &a, &e1);
        check_pos_equal(st, &a, wisp_text_pos_at_u16(t, len, off, &b, &e2), &b);
        if (st == WISP_OK) { /* the UTF-16 offset of a position leads back to it */
            wisp_pos c;
            FUZZ_CHECK(wisp_doc_pos_at_u16(s->doc, a.off_u16, &c, NULL) == WISP_OK && c.pos_u8 == a.pos_u8);
            FUZZ_CHECK(wisp_doc_pos_at_line_col(s->doc, a.line, a.col_u16, WISP_UNIT_U16, &c, NULL) == WISP_OK &&
                       c.pos_u8 == a.pos_u8);
            FUZZ_CHECK(wisp_doc_pos_at_line_col(s->doc, a.line, a.col_u8, WISP_UNIT_U8, &c, NULL) == WISP_OK &&
                       c.pos_u8 == a.pos_u8);
        }
        size_t line = fuzz_u8(in) % (wisp_doc_line_count(s->doc) + 2), col = fuzz_pos(in, 80);
        wisp_unit unit = fuzz_u8(in) & 1 ? WISP_UNIT_U16 : WISP_UNIT_U8;
        check_pos_equal(wisp_doc_pos_at_line_col(s->doc, line, col, unit, &a, &e1), &a,
                        wisp_text_pos_at_line_col(t, len, line, col, unit, &b, &e2), &b);
    }
}

/* Every node's points are the rows/columns of its bytes; returns the tree's S-expression when
 * small enough to compare (caller frees), else NULL. */
static void check_tree_points(const wisp_doc *doc, const char *text, size_t len) {
    lines l = lines_of(text, len);
    TSTreeCursor cur = ts_tree_cursor_new(wisp__doc_root(doc));
    size_t visited = 0;
    for (;;) {
        TSNode n = ts_tree_cursor_current_node(&cur);
        uint32_t sb = ts_node_start_byte(n), eb = ts_node_end_byte(n);
        FUZZ_CHECK(sb <= eb && eb <= len);
        TSPoint sp = ts_node_start_point(n), ep = ts_node_end_point(n), want_s = lines_point(&l, sb),
                want_e = lines_point(&l, eb);
        FUZZ_CHECK(sp.row == want_s.row && sp.column == want_s.column);
        FUZZ_CHECK(ep.row == want_e.row && ep.column == want_e.column);
        if (++visited >= MAX_NODES) break;
        if (ts_tree_cursor_goto_first_child(&cur)) continue;
        bool next = false;
        while (!(next = ts_tree_cursor_goto_next_sibling(&cur)))
            if (!ts_tree_cursor_goto_parent(&cur)) break;
        if (!next) break;
    }
    ts_tree_cursor_delete(&cur);
    free(l.start);
}

static bool str_eq(wisp_str a, wisp_str b) { return a.len == b.len && (!a.len || !memcmp(a.ptr, b.ptr, a.len)); }

/* Two contexts of the same text and cursor, one through the edited document, one fresh. */
static void check_same_context(const wisp_context *a, const wisp_context *b) {
    FUZZ_CHECK(a->mode == b->mode && a->line == b->line && a->col_u8 == b->col_u8 && a->in_error == b->in_error);
    FUZZ_CHECK(str_eq(a->line_prefix, b->line_prefix) && str_eq(a->line_suffix, b->line_suffix) &&
               str_eq(a->block_indent, b->block_indent) && str_eq(a->indent_unit, b->indent_unit));
    FUZZ_CHECK(a->n_scopes == b->n_scopes && a->n_names == b->n_names && a->n_imports == b->n_imports &&
               a->n_defs == b->n_defs);
    for (size_t i = 0; i < a->n_scopes; i++)
        FUZZ_CHECK(a->scopes[i].kind == b->scopes[i].kind && a->scopes[i].start_u8 == b->scopes[i].start_u8 &&
                   a->scopes[i].end_u8 == b->scopes[i].end_u8 && str_eq(a->scopes[i].header, b->scopes[i].header));
    for (size_t i = 0; i < a->n_names; i++)
        FUZZ_CHECK(str_eq(a->names[i].name, b->names[i].name) && a->names[i].pos_u8 == b->names[i].pos_u8);
    for (size_t i = 0; i < a->n_defs; i++)
        FUZZ_CHECK(str_eq(a->defs[i].name, b->defs[i].name) && a->defs[i].start_u8 == b->defs[i].start_u8 &&
                   a->defs[i].end_u8 == b->defs[i].end_u8 && str_eq(a->defs[i].signature, b->defs[i].signature));
}

/* What every context must satisfy, whatever the tree. */
static void check_context(const wisp_context *c, size_t pos, const char *text, size_t len) {
    FUZZ_CHECK(c->pos_u8 == pos && c->n_scopes >= 1 && c->scopes[c->n_scopes - 1].kind == WISP_SCOPE_FILE);
    /* the line before the cursor ends at the cursor (between "\r" and "\n", at the "\r") */
    size_t end = pos > 0 && pos < len && text[pos - 1] == '\r' && text[pos] == '\n' ? pos - 1 : pos;
    FUZZ_CHECK(c->line_prefix.len <= end && (!c->line_prefix.len ||
               !memcmp(c->line_prefix.ptr, text + end - c->line_prefix.len, c->line_prefix.len)));
    FUZZ_CHECK(pos + c->line_suffix.len <= len);
    for (size_t i = 0; i < c->n_scopes; i++) FUZZ_CHECK(c->scopes[i].start_u8 <= c->scopes[i].end_u8);
    for (size_t i = 0; i < c->n_names; i++) FUZZ_CHECK(c->names[i].pos_u8 <= len);
    for (size_t i = 0; i < c->n_defs; i++)
        FUZZ_CHECK(c->defs[i].start_u8 <= c->defs[i].end_u8 && c->defs[i].uri && c->defs[i].name.len > 0);
}

/* Compares the document with the shadow and with a fresh parse; extracts a context when asked. */
static void check_slot(fuzz_in *in, slot *s, wisp_docs *fresh_set, bool context) {
    size_t len;
    const char *text = wisp_doc_text(s->doc, &len);
    FUZZ_CHECK(len == s->text.len && (!len || !memcmp(text, s->text.p, len)) && text[len] == '\0');
    FUZZ_CHECK(wisp_doc_version(s->doc) == s->version && wisp_doc_lang(s->doc) == s->lang);
    size_t nl = 1;
    for (size_t i = 0; i < len; i++) nl += text[i] == '\n';
    FUZZ_CHECK(wisp_doc_line_count(s->doc) == nl);
    check_positions(in, s);
    check_tree_points(s->doc, text, len);

    wisp_error err;
    /* a fresh copy to compare with (small texts: the comparisons cost a parse and a walk) */
    wisp_doc *fresh = len <= MAX_SEXP_LEN ? wisp_doc_open(fresh_set, "fresh", s->lang, text, len, &err) : NULL;
    FUZZ_CHECK(fresh || len > MAX_SEXP_LEN);
    bool same = false;
    if (fresh && !wisp_doc_has_error(fresh)) {
        char *a = wisp_doc_tree_string(s->doc), *b = wisp_doc_tree_string(fresh);
        FUZZ_CHECK(a && b);
        if (strcmp(a, b) != 0) {
            fprintf(stderr, "incremental tree:\n%s\nfresh tree:\n%s\n", a, b);
            FUZZ_CHECK(!"the incremental tree differs from a fresh parse");
        }
        same = true;
        free(a);
        free(b);
    }
    if (context) {
        size_t pos = fuzz_pos(in, len);
        while (pos < len && ((unsigned char)text[pos] & 0xC0) == 0x80) pos--; /* not inside a character */
        wisp_context_params prm = {.this_doc_only = true};
        wisp_context *c1 = NULL, *c2 = NULL;
        wisp_status st = wisp_context_extract(s->doc, pos, &prm, &c1, &err);
        if (pos > len) {
            FUZZ_CHECK(st == WISP_ERR_RANGE);
        } else {
            FUZZ_CHECK(st == WISP_OK);
            check_context(c1, pos, text, len);
            if (same) {
                FUZZ_CHECK(wisp_context_extract(fresh, pos, &prm, &c2, &err) == WISP_OK);
                check_same_context(c1, c2);
            }
            /* and once across the whole set: definitions in the other documents */
            wisp_context *c3 = NULL;
            FUZZ_CHECK(wisp_context_extract(s->doc, pos, NULL, &c3, &err) == WISP_OK);
            check_context(c3, pos, text, len);
            wisp_context_free(c3);
        }
        wisp_context_free(c1);
        wisp_context_free(c2);
    }
    wisp_doc_close(fresh);
}

/* Kept across inputs, as a worker keeps its set: queries are compiled once. */
static wisp_docs *docs, *fresh_set;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!docs) {
        docs = wisp_docs_new();
        fresh_set = wisp_docs_new();
        FUZZ_CHECK(docs && fresh_set);
    }
    fuzz_in in = {data, size};
    slot slots[N_SLOTS];
    memset(slots, 0, sizeof slots);
    fuzz_buf piece = {0};
    for (int step = 0; step < 16 && fuzz_more(&in); step++) {
        uint8_t op = fuzz_u8(&in);
        slot *s = &slots[(op >> 4) % N_SLOTS];
        wisp_error err = {0};
        piece.len = 0;
        switch (op % 8) {
        case 0: { /* open (again: refused) */
            uint8_t l = fuzz_u8(&in);
            wisp_lang lang = l < 250 ? (wisp_lang)(1 + l % (WISP_LANG_COUNT - 1)) : (wisp_lang)(l - 250 + WISP_LANG_COUNT - 1);
            fuzz_text(&in, lang == WISP_LANG_PYTHON ? lang : WISP_LANG_C, &piece);
            wisp_doc *d = wisp_doc_open(docs, uris[s - slots], lang, piece.p, piece.len, &err);
            if (s->doc) {
                FUZZ_CHECK(!d && err.code == WISP_ERR_INVALID_ARG);
            } else if (lang <= WISP_LANG_NONE || lang >= WISP_LANG_COUNT) {
                FUZZ_CHECK(!d && err.code == WISP_ERR_LANGUAGE);
            } else {
                FUZZ_CHECK(d);
                s->doc = d;
                s->lang = lang;
                s->version = 0;
                s->text.len = 0;
                fuzz_put(&s->text, piece.p, piece.len);
            }
            break;
        }
        case 1:
        case 2:
        case 3: { /* an edit in bytes, or in UTF-16 units as wasm/exports.c applies the editor's */
            if (!s->doc) break;
            size_t len = s->text.len, a, b;
            bool u16 = op % 8 == 3;
            if (u16) {
                size_t off = fuzz_pos(&in, len), n = fuzz_u8(&in) % 16 ? fuzz_u8(&in) % 32 : fuzz_pos(&in, len);
                wisp_pos pa, pb;
                fuzz_text(&in, s->lang, &piece);
                if (wisp_doc_pos_at_u16(s->doc, off, &pa, &err) != WISP_OK ||
                    off + n < off || wisp_doc_pos_at_u16(s->doc, off + n, &pb, &err) != WISP_OK) {
                    FUZZ_CHECK(err.code == WISP_ERR_RANGE);
                    break;
                }
                a = pa.pos_u8;
                b = pb.pos_u8;
            } else {
                a = fuzz_pos(&in, len);
                b = fuzz_u8(&in) & 1 ? a + fuzz_u8(&in) % 8 : fuzz_pos(&in, len);
                if (b < a && fuzz_u8(&in) & 1) { size_t t = a; a = b; b = t; }
                fuzz_text(&in, s->lang, &piece);
            }
            wisp_status st = wisp_doc_edit(s->doc, a, b, piece.p, piece.len, &err);
            if (a > b || b > len) {
                FUZZ_CHECK(st == WISP_ERR_RANGE && err.code == WISP_ERR_RANGE && err.message[0]);
            } else {
                FUZZ_CHECK(st == WISP_OK);
                s->version++;
                fuzz_buf t = {0};
                fuzz_put(&t, s->text.p, a);
                fuzz_put(&t, piece.p, piece.len);
                fuzz_put(&t, s->text.p + b, len - b);
                if (t.len != len - (b - a) + piece.len) { /* over the shadow's cap: start over */
                    free(t.p);
                    wisp_doc_close(s->doc);
                    s->doc = NULL;
                    break;
                }
                free(s->text.p);
                s->text = t;
            }
            break;
        }
        case 4: /* set_text */
            if (!s->doc) break;
            fuzz_text(&in, s->lang, &piece);
            FUZZ_CHECK(wisp_doc_set_text(s->doc, piece.p, piece.len, &err) == WISP_OK);
            s->version++;
            s->text.len = 0;
            fuzz_put(&s->text, piece.p, piece.len);
            break;
        case 5: /* close */
            if (!s->doc) break;
            wisp_doc_close(s->doc);
            s->doc = NULL;
            FUZZ_CHECK(!wisp_docs_find(docs, uris[s - slots]));
            break;
        default: /* check with a context */
            break;
        }
        if (s->doc) check_slot(&in, s, fresh_set, op % 8 >= 6);
        size_t open = 0;
        for (int i = 0; i < N_SLOTS; i++) open += slots[i].doc != NULL;
        FUZZ_CHECK(wisp_docs_count(docs) == open);
    }
    for (int i = 0; i < N_SLOTS; i++) wisp_doc_close(slots[i].doc);
    FUZZ_CHECK(wisp_docs_count(docs) == 0);
    for (int i = 0; i < N_SLOTS; i++) free(slots[i].text.p);
    free(piece.p);
    return 0;
}
