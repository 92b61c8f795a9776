/* Internal: what grammar/ modules (context, prompt, trim) need from documents beyond wisp.h —
 * the tree, the line index, the set's shared parser and compiled queries. */
#ifndef WISP_DOC_H
#define WISP_DOC_H

#include <tree_sitter/api.h>

#include "lang.h"
#include "position.h"
#include "wisp.h"

/* The document's current tree, owned by the document (valid until its next edit or close). */
const TSTree *wisp__doc_tree(const wisp_doc *self);
TSNode wisp__doc_root(const wisp_doc *self);
const wisp__line_index *wisp__doc_lines(const wisp_doc *self);

/* The cached definition index of the current version (NULL until built); the document owns what
 * is set and frees it on the next change. */
typedef struct wisp__def_index wisp__def_index;
wisp__def_index *wisp__doc_def_index(const wisp_doc *self);
void wisp__doc_set_def_index(const wisp_doc *self, wisp__def_index *index);

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
