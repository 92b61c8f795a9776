/* Documents: open files with their tree-sitter trees, kept current by incremental reparses, in a
 * set that context extraction searches for definitions. */
#include "doc.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

struct wisp_docs {
    wisp_doc **docs;  /* open documents, in opening order */
    size_t n_docs, cap;
    TSParser *parser; /* one per set: parsing is sequential within a worker */
    TSQuery *queries[WISP_LANG_COUNT][WISP_Q_COUNT]; /* compiled on first use */
    uint64_t next_serial;
};

struct wisp_doc {
    wisp_docs *set;
    char *uri;
    wisp_lang lang;
    char *text;       /* len bytes + a NUL */
    size_t len;
    TSTree *tree;
    wisp__line_index lines;
    uint64_t version;
    void *derived;    /* data derived from this version (wisp__doc_set_derived), or NULL */
    const wisp__doc_derived_ops *derived_ops;
    bool gave_up;     /* the parse ran over its budget: `tree` is that of an empty text */
    uint64_t serial;  /* unique in its set, never reused (unlike the document's address) */
};

// tree-sitter counts in uint32_t; keep one byte spare for the NUL we append.
#define DOC__MAX_LEN ((size_t)UINT32_MAX - 1)

wisp_docs *wisp_docs_new(void) {
    wisp_docs *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->parser = ts_parser_new();
    if (!self->parser) {
        free(self);
        return NULL;
    }
    return self;
}

// Drops the derived data of the version that ends.
static void doc__drop_derived(wisp_doc *doc) {
    if (doc->derived) doc->derived_ops->free(doc->derived);
    doc->derived = NULL;
    doc->derived_ops = NULL;
}

static void doc__destroy(wisp_doc *doc) {
    doc__drop_derived(doc);
    ts_tree_delete(doc->tree);
    wisp__line_index_free(&doc->lines);
    free(doc->text);
    free(doc->uri);
    free(doc);
}

void wisp_docs_free(wisp_docs *self) {
    if (!self) return;
    for (size_t i = 0; i < self->n_docs; i++) doc__destroy(self->docs[i]);
    free(self->docs);
    for (int l = 0; l < WISP_LANG_COUNT; l++)
        for (int k = 0; k < WISP_Q_COUNT; k++) ts_query_delete(self->queries[l][k]);
    ts_parser_delete(self->parser);
    free(self);
}

size_t wisp_docs_count(const wisp_docs *self) { return self ? self->n_docs : 0; }

wisp_doc *wisp_docs_at(const wisp_docs *self, size_t i) {
    return self && i < self->n_docs ? self->docs[i] : NULL;
}

wisp_doc *wisp_docs_find(const wisp_docs *self, const char *uri) {
    if (!self || !uri) return NULL;
    for (size_t i = 0; i < self->n_docs; i++)
        if (!strcmp(self->docs[i]->uri, uri)) return self->docs[i];
    return NULL;
}

const TSQuery *wisp__docs_query(wisp_docs *self, wisp_lang lang, wisp__query_kind kind,
                                wisp_error *err) {
    if (!self || lang <= WISP_LANG_NONE || lang >= WISP_LANG_COUNT || (unsigned)kind >= WISP_Q_COUNT) {
        wisp__fail(err, WISP_ERR_INVALID_ARG, "no query %d for language %d", (int)kind, (int)lang);
        return NULL;
    }
    if (!self->queries[lang][kind]) self->queries[lang][kind] = wisp__query_compile(lang, kind, err);
    return self->queries[lang][kind];
}

TSTree *wisp__docs_parse(wisp_docs *self, wisp_lang lang, const char *text, size_t len,
                         wisp_error *err) {
    return wisp__docs_reparse(self, lang, NULL, text, len, err);
}

TSTree *wisp__docs_reparse(wisp_docs *self, wisp_lang lang, const TSTree *old, const char *text,
                           size_t len, wisp_error *err) {
    const TSLanguage *ts = wisp__lang_ts(lang);
    if (!self || !ts) {
        wisp__fail(err, WISP_ERR_LANGUAGE, "no grammar for language %d", (int)lang);
        return NULL;
    }
    if (len > DOC__MAX_LEN) {
        wisp__fail(err, WISP_ERR_RANGE, "text of %zu bytes is over tree-sitter's 4 GiB limit", len);
        return NULL;
    }
    if (!ts_parser_set_language(self->parser, ts)) {
        wisp__fail(err, WISP_ERR_LANGUAGE, "grammar %s rejected by tree-sitter (ABI)", wisp_lang_name(lang));
        return NULL;
    }
    TSTree *tree = ts_parser_parse_string(self->parser, old, text ? text : "", (uint32_t)len);
    if (!tree) wisp__fail(err, WISP_ERR_NO_MEMORY, "tree-sitter could not parse %zu bytes", len);
    return tree;
}

/* A string as tree-sitter input, and the operation budget of a capped parse. */
typedef struct doc__capped {
    const char *text;
    uint32_t len;
    uint64_t checks, max_checks;
} doc__capped;

static const char *doc__read(void *payload, uint32_t byte, TSPoint point, uint32_t *n) {
    (void)point;
    const doc__capped *c = payload;
    *n = byte < c->len ? c->len - byte : 0;
    return byte < c->len ? c->text + byte : "";
}

// tree-sitter calls this every ~100 operations; returning true cancels the parse.
static bool doc__progress(TSParseState *state) {
    doc__capped *c = state->payload;
    return ++c->checks > c->max_checks;
}

TSTree *wisp__docs_reparse_capped(wisp_docs *self, wisp_lang lang, const TSTree *old, const char *text,
                                  size_t len, uint64_t max_ops) {
    const TSLanguage *ts = wisp__lang_ts(lang);
    if (!self || !ts || len > DOC__MAX_LEN || !ts_parser_set_language(self->parser, ts)) return NULL;
    doc__capped c = {text ? text : "", (uint32_t)len, 0, max_ops / 100 + 1};
    TSInput input = {&c, doc__read, TSInputEncodingUTF8, NULL};
    TSParseOptions opt = {&c, doc__progress};
    TSTree *tree = ts_parser_parse_with_options(self->parser, old, input, opt);
    if (!tree) ts_parser_reset(self->parser); /* cancelled: do not resume this parse later */
    return tree;
}

uint64_t wisp__doc_parse_budget(size_t len) { return 50000 + 16 * (uint64_t)len; }

/*
 * The tree of a document's text, under the parse budget and up to WISP_DOC_MAX_PARSE bytes (past
 * that, context extraction, which is linear in the document, would take seconds a keystroke):
 * tree-sitter's error recovery is
 * super-linear on some broken text (6 KB of comment openers in an unclosed C comment: ~1 M
 * operations, 10 s), and a document must never hold its worker that long. Code needs under one
 * operation a byte; past the budget the document gets the tree of an empty text and *gave_up (so
 * no consumer sees nodes beyond its text) until an edit makes it parse again. `old`, when given, is the previous tree already
 * edited to match `text`. NULL + err only for a language without grammar, a text over 4 GiB or
 * no memory.
 */
static TSTree *doc__parse(wisp_docs *set, wisp_lang lang, const TSTree *old, const char *text, size_t len,
                          bool *gave_up, wisp_error *err) {
    const TSLanguage *ts = wisp__lang_ts(lang);
    if (!ts || !ts_parser_set_language(set->parser, ts)) {
        wisp__fail(err, WISP_ERR_LANGUAGE, "no grammar for language %d", (int)lang);
        return NULL;
    }
    if (len > DOC__MAX_LEN) {
        wisp__fail(err, WISP_ERR_RANGE, "text of %zu bytes is over tree-sitter's 4 GiB limit", len);
        return NULL;
    }
    TSTree *tree = len <= WISP_DOC_MAX_PARSE ? wisp__docs_reparse_capped(set, lang, old, text, len,
                                                                          wisp__doc_parse_budget(len))
                                             : NULL;
    *gave_up = tree == NULL;
    if (!tree) tree = wisp__docs_parse(set, lang, "", 0, err);
    return tree;
}

// Copies `len` bytes into a fresh NUL-terminated buffer; NULL when out of memory.
static char *doc__dup(const char *text, size_t len) {
    char *s = malloc(len + 1);
    if (!s) return NULL;
    if (len) memcpy(s, text, len);
    s[len] = '\0';
    return s;
}

wisp_doc *wisp_doc_open(wisp_docs *docs, const char *uri, wisp_lang lang, const char *text,
                        size_t len, wisp_error *err) {
    if (!docs || !uri || (!text && len)) {
        wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_doc_open: NULL set, uri or text");
        return NULL;
    }
    if (wisp_docs_find(docs, uri)) {
        wisp__fail(err, WISP_ERR_INVALID_ARG, "document %s is already open", uri);
        return NULL;
    }
    if (!wisp__lang_ts(lang)) {
        wisp__fail(err, WISP_ERR_LANGUAGE, "%s: no grammar for language %d", uri, (int)lang);
        return NULL;
    }
    if (len > DOC__MAX_LEN) {
        wisp__fail(err, WISP_ERR_RANGE, "%s: %zu bytes is over tree-sitter's 4 GiB limit", uri, len);
        return NULL;
    }
    if (docs->n_docs == docs->cap) {
        size_t cap = docs->cap ? docs->cap * 2 : 8;
        wisp_doc **a = realloc(docs->docs, cap * sizeof *a);
        if (!a) {
            wisp__fail(err, WISP_ERR_NO_MEMORY, "%s: out of memory", uri);
            return NULL;
        }
        docs->docs = a;
        docs->cap = cap;
    }
    wisp_doc *doc = calloc(1, sizeof *doc);
    if (!doc || !(doc->uri = doc__dup(uri, strlen(uri))) || !(doc->text = doc__dup(text, len)) ||
        wisp__line_index_build(&doc->lines, doc->text, len) != WISP_OK) {
        if (doc) doc__destroy(doc);
        wisp__fail(err, WISP_ERR_NO_MEMORY, "%s: out of memory", uri);
        return NULL;
    }
    doc->set = docs;
    doc->serial = ++docs->next_serial;
    doc->lang = lang;
    doc->len = len;
    doc->tree = doc__parse(docs, lang, NULL, doc->text, len, &doc->gave_up, err);
    if (!doc->tree) {
        doc__destroy(doc);
        return NULL;
    }
    docs->docs[docs->n_docs++] = doc;
    return doc;
}

void wisp_doc_close(wisp_doc *self) {
    if (!self) return;
    wisp_docs *set = self->set;
    for (size_t i = 0; i < set->n_docs; i++) {
        if (set->docs[i] == self) {
            memmove(set->docs + i, set->docs + i + 1, (set->n_docs - i - 1) * sizeof *set->docs);
            set->n_docs--;
            break;
        }
    }
    doc__destroy(self);
}

// The tree-sitter point (row, byte column) of a byte offset, from the line index.
static TSPoint doc__point(const wisp_doc *self, size_t pos_u8) {
    const wisp__line_index *ix = &self->lines;
    size_t lo = 0, hi = ix->n_lines;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->starts_u8[mid] <= pos_u8) lo = mid;
        else hi = mid;
    }
    return (TSPoint){(uint32_t)lo, (uint32_t)(pos_u8 - ix->starts_u8[lo])};
}

wisp_status wisp_doc_edit(wisp_doc *self, size_t start_u8, size_t old_end_u8, const char *text,
                          size_t len, wisp_error *err) {
    if (!self || (!text && len)) return wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_doc_edit: NULL document or text");
    if (start_u8 > old_end_u8 || old_end_u8 > self->len)
        return wisp__fail(err, WISP_ERR_RANGE, "%s: edit [%zu, %zu) outside the text (%zu bytes)",
                          self->uri, start_u8, old_end_u8, self->len);
    size_t new_len = self->len - (old_end_u8 - start_u8);
    if (len > DOC__MAX_LEN - new_len)
        return wisp__fail(err, WISP_ERR_RANGE, "%s: the edit makes the text over 4 GiB", self->uri);
    new_len += len;

    char *buf = malloc(new_len + 1);
    if (!buf) return wisp__fail(err, WISP_ERR_NO_MEMORY, "%s: out of memory", self->uri);
    memcpy(buf, self->text, start_u8);
    if (len) memcpy(buf + start_u8, text, len);
    memcpy(buf + start_u8 + len, self->text + old_end_u8, self->len - old_end_u8);
    buf[new_len] = '\0';

    TSInputEdit edit;
    edit.start_byte = (uint32_t)start_u8;
    edit.old_end_byte = (uint32_t)old_end_u8;
    edit.new_end_byte = (uint32_t)(start_u8 + len);
    edit.start_point = doc__point(self, start_u8);
    edit.old_end_point = doc__point(self, old_end_u8);
    edit.new_end_point = edit.start_point;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n') {
            edit.new_end_point.row++;
            edit.new_end_point.column = 0;
        } else {
            edit.new_end_point.column++;
        }
    }

    wisp__line_index lines = {0};
    if (wisp__line_index_build(&lines, buf, new_len) != WISP_OK) {
        free(buf);
        return wisp__fail(err, WISP_ERR_NO_MEMORY, "%s: out of memory", self->uri);
    }
    /* incremental from the edited tree; from nothing when the last parse gave up (its tree is
     * that of an empty text, which this edit does not describe) */
    TSTree *edited = self->gave_up ? NULL : ts_tree_copy(self->tree);
    if (edited) ts_tree_edit(edited, &edit);
    bool gave_up = false;
    TSTree *tree = doc__parse(self->set, self->lang, edited, buf, new_len, &gave_up, err);
    ts_tree_delete(edited);
    if (!tree) {
        free(buf);
        wisp__line_index_free(&lines);
        return err ? err->code : WISP_ERR_NO_MEMORY;
    }
    self->gave_up = gave_up;
    ts_tree_delete(self->tree);
    self->tree = tree;
    free(self->text);
    self->text = buf;
    self->len = new_len;
    bool lines_changed = self->lines.n_lines != lines.n_lines || (len && memchr(text, '\n', len));
    wisp__line_index_free(&self->lines);
    self->lines = lines;
    self->version++;
    /* derived data may follow the edit (the definition index follows a keystroke within a line) */
    if (self->derived && !self->derived_ops->shift(self->derived, start_u8, old_end_u8, len, lines_changed))
        doc__drop_derived(self);
    return WISP_OK;
}

wisp_status wisp_doc_set_text(wisp_doc *self, const char *text, size_t len, wisp_error *err) {
    if (!self || (!text && len)) return wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_doc_set_text: NULL document or text");
    if (len > DOC__MAX_LEN)
        return wisp__fail(err, WISP_ERR_RANGE, "%s: %zu bytes is over tree-sitter's 4 GiB limit", self->uri, len);
    char *buf = doc__dup(text, len);
    wisp__line_index lines = {0};
    if (!buf || wisp__line_index_build(&lines, buf, len) != WISP_OK) {
        free(buf);
        return wisp__fail(err, WISP_ERR_NO_MEMORY, "%s: out of memory", self->uri);
    }
    bool gave_up = false;
    TSTree *tree = doc__parse(self->set, self->lang, NULL, buf, len, &gave_up, err);
    if (!tree) {
        free(buf);
        wisp__line_index_free(&lines);
        return err ? err->code : WISP_ERR_NO_MEMORY;
    }
    self->gave_up = gave_up;
    ts_tree_delete(self->tree);
    self->tree = tree;
    free(self->text);
    self->text = buf;
    self->len = len;
    wisp__line_index_free(&self->lines);
    self->lines = lines;
    self->version++;
    doc__drop_derived(self);
    return WISP_OK;
}

const char *wisp_doc_text(const wisp_doc *self, size_t *len) {
    if (len) *len = self ? self->len : 0;
    return self ? self->text : NULL;
}
wisp_lang wisp_doc_lang(const wisp_doc *self) { return self ? self->lang : WISP_LANG_NONE; }
const char *wisp_doc_uri(const wisp_doc *self) { return self ? self->uri : NULL; }
uint64_t wisp_doc_version(const wisp_doc *self) { return self ? self->version : 0; }
wisp_docs *wisp_doc_set(const wisp_doc *self) { return self ? self->set : NULL; }
size_t wisp_doc_line_count(const wisp_doc *self) { return self ? self->lines.n_lines : 0; }
bool wisp_doc_has_error(const wisp_doc *self) {
    return self && (self->gave_up || ts_node_has_error(ts_tree_root_node(self->tree)));
}
bool wisp_doc_parse_gave_up(const wisp_doc *self) { return self && self->gave_up; }
char *wisp_doc_tree_string(const wisp_doc *self) {
    return self ? ts_node_string(ts_tree_root_node(self->tree)) : NULL;
}

const TSTree *wisp__doc_tree(const wisp_doc *self) { return self->tree; }
uint64_t wisp__doc_serial(const wisp_doc *self) { return self ? self->serial : 0; }
TSNode wisp__doc_root(const wisp_doc *self) { return ts_tree_root_node(self->tree); }
const wisp__line_index *wisp__doc_lines(const wisp_doc *self) { return &self->lines; }
void *wisp__doc_derived(const wisp_doc *self, const wisp__doc_derived_ops *ops) {
    return self->derived_ops == ops ? self->derived : NULL;
}
void wisp__doc_set_derived(const wisp_doc *self, const wisp__doc_derived_ops *ops, void *data) {
    wisp_doc *doc = (wisp_doc *)self; /* a cache: logically const */
    doc__drop_derived(doc);
    doc->derived = data;
    doc->derived_ops = data ? ops : NULL;
}

wisp_status wisp_doc_pos_at_u8(const wisp_doc *self, size_t pos_u8, wisp_pos *out, wisp_error *err) {
    if (!self) return wisp__fail(err, WISP_ERR_INVALID_ARG, "NULL document");
    return wisp__pos_at_u8(self->text, self->len, &self->lines, pos_u8, out, err);
}
wisp_status wisp_doc_pos_at_u16(const wisp_doc *self, size_t off_u16, wisp_pos *out, wisp_error *err) {
    if (!self) return wisp__fail(err, WISP_ERR_INVALID_ARG, "NULL document");
    return wisp__pos_at_u16(self->text, self->len, &self->lines, off_u16, out, err);
}
wisp_status wisp_doc_pos_at_line_col(const wisp_doc *self, size_t line, size_t col, wisp_unit unit,
                                     wisp_pos *out, wisp_error *err) {
    if (!self) return wisp__fail(err, WISP_ERR_INVALID_ARG, "NULL document");
    return wisp__pos_at_line_col(self->text, self->len, &self->lines, line, col, unit, out, err);
}
