/* Internal: what grammar/ modules (context, prompt, trim) need from documents beyond wisp_grammar.h —
 * the tree, the line index, the set's shared parser and compiled queries. */
#ifndef WISP_DOC_H
#define WISP_DOC_H

#include <tree_sitter/api.h>

#include "lang.h"
#include "position.h"
#include "wisp_grammar.h"

/* The document's current tree, owned by the document (valid until its next edit or close). */
const TSTree *wisp__doc_tree(const wisp_doc *self);
TSNode wisp__doc_root(const wisp_doc *self);
const wisp__line_index *wisp__doc_lines(const wisp_doc *self);
/* A number that identifies the document within its set for as long as the set lives (1, 2, ...;
 * 0 for NULL): what to remember a document by, where its address may be reused after a close. */
uint64_t wisp__doc_serial(const wisp_doc *self);

/*
 * Data derived from the current version of a document (defs.c keeps its definition index here),
 * attached by whoever builds it; the document knows nothing of what it holds. On an edit the
 * document asks `shift` whether the data can follow it (false: dropped); on any other change, and
 * on close, it calls `free`. One slot per document, tagged by its ops: wisp__doc_derived returns
 * NULL when nothing is attached or what is attached has other ops.
 */
typedef struct wisp__doc_derived_ops {
    void (*free)(void *data);
    /* the edit replaced [start, old_end) with new_len bytes; lines_changed: lines were added or
     * removed, or a line end typed */
    bool (*shift)(void *data, size_t start, size_t old_end, size_t new_len, bool lines_changed);
} wisp__doc_derived_ops;
void *wisp__doc_derived(const wisp_doc *self, const wisp__doc_derived_ops *ops);
/* Attaches `data` (owned by the document from now on), freeing what was attached. */
void wisp__doc_set_derived(const wisp_doc *self, const wisp__doc_derived_ops *ops, void *data);

/*
 * One query of one language, compiled on first use and cached in the set (so it is compiled
 * once per worker, not per keystroke). Owned by the set. NULL + err if the .scm is broken.
 */
const TSQuery *wisp__docs_query(wisp_docs *self, wisp_lang lang, wisp__query_kind kind,
                                wisp_error *err);

/*
 * Parses a scratch text (e.g. prefix + completion + suffix, to check that a candidate fits) with
 * the set's parser. The caller owns the tree (ts_tree_delete) and must keep `text` alive while
 * using it. NULL + err on failure (WISP_ERR_LANGUAGE, WISP_ERR_RANGE for > 4 GiB, NO_MEMORY).
 */
TSTree *wisp__docs_parse(wisp_docs *self, wisp_lang lang, const char *text, size_t len,
                         wisp_error *err);
/* The parser operations a text of `len` bytes may take before its parse gives up
 * (wisp_doc_parse_gave_up). */
uint64_t wisp__doc_parse_budget(size_t len);

/* As wisp__docs_reparse, but gives up (NULL, no error filled) after about `max_ops` parser
 * operations: a deterministic budget for speculative parses such as context repairs, where error
 * recovery on badly broken text could otherwise take long. */
TSTree *wisp__docs_reparse_capped(wisp_docs *self, wisp_lang lang, const TSTree *old, const char *text,
                                  size_t len, uint64_t max_ops);

/* The same, reusing `old` (already edited with ts_tree_edit to match `text`); `old` stays the
 * caller's. */
TSTree *wisp__docs_reparse(wisp_docs *self, wisp_lang lang, const TSTree *old, const char *text,
                           size_t len, wisp_error *err);

#endif
