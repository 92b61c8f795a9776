/* Internal: the tree-sitter side of the language registry (grammars, node-type classes, queries).
 * Public names (wisp_lang_*) are in wisp_grammar.h; this header is for grammar/ and tests only. */
#ifndef WISP_LANG_H
#define WISP_LANG_H

#include <stddef.h>
#include <tree_sitter/api.h>

#include "wisp_grammar.h"

/* One embedded .scm file (grammar/queries/<lang>/<kind>.scm), generated into queries_data.c. */
typedef struct wisp__query_blob {
    const char *lang;  /* "python", ... (wisp_lang_name) */
    const char *kind;  /* "scopes", "definitions", "references", "imports", "calls" */
    const char *text;
    size_t len;
} wisp__query_blob;
extern const wisp__query_blob wisp__query_blobs[];
extern const size_t wisp__n_query_blobs;

/* The query kinds every language has, one .scm file each. */
typedef enum wisp__query_kind {
    WISP_Q_SCOPES = 0,
    WISP_Q_DEFINITIONS,
    WISP_Q_REFERENCES,
    WISP_Q_IMPORTS,
    WISP_Q_CALLS,
    WISP_Q_COUNT
} wisp__query_kind;
const char *wisp__query_kind_name(wisp__query_kind kind);

/* The grammar of a language (static, from the linked ts_<lang> library); NULL for NONE. */
const TSLanguage *wisp__lang_ts(wisp_lang lang);

/* The embedded source of one query; NULL when the language has no such file. */
const char *wisp__query_source(wisp_lang lang, wisp__query_kind kind, size_t *len);

/*
 * Compiles one query of one language. The caller owns the result (ts_query_delete). NULL with
 * `err` filled (naming the file, the offset and tree-sitter's error kind) when the .scm does not
 * compile against the grammar — a bug that the tests catch.
 */
TSQuery *wisp__query_compile(wisp_lang lang, wisp__query_kind kind, wisp_error *err);

/* Node-type classes used by context extraction, per language. */
bool wisp__lang_is_comment(wisp_lang lang, const char *type);
/* Strings whose inside is not code (template substitutions and f-string interpolations are
 * separate child nodes, so they are not covered by this). */
bool wisp__lang_is_string(wisp_lang lang, const char *type);

#endif
