/* Internal: pieces of context extraction shared between context.c (mode, scopes, names, imports)
 * and defs.c (the per-document definition index, references near the cursor, signatures). */
#ifndef WISP_CONTEXT_H
#define WISP_CONTEXT_H

#include <tree_sitter/api.h>

#include "doc.h"
#include "wisp.h"

/* Bytes owned by a context: a list of chunks, so that handed-out pointers never move. */
typedef struct ctx__chunk ctx__chunk;
typedef struct ctx__pool {
    ctx__chunk *head;
    bool failed;      /* an allocation failed; the pool returns "" from then on */
} ctx__pool;
void *ctx__pool_alloc(ctx__pool *pool, size_t n);              /* 8-byte aligned; NULL on failure */
wisp_str ctx__pool_str(ctx__pool *pool, const char *s, size_t n); /* NUL-terminated copy */
void ctx__pool_free(ctx__pool *pool);

/*
 * What extraction reads: a document's text and tree, or a repaired copy of them — while typing,
 * the code at the cursor is incomplete, so a placeholder ("_", "pass") may be inserted at the
 * cursor and the tree reparsed (incrementally) to let tree-sitter see the enclosing structure.
 * Offsets into the view map back to the document with ctx__unmap.
 */
typedef struct ctx__view {
    const wisp_doc *doc;
    wisp_docs *set;
    wisp_lang lang;
    const char *text;
    size_t len;
    TSNode root;
    size_t hole_at, hole_len; /* the placeholder's place and length (0: none) */
} ctx__view;
size_t ctx__unmap(const ctx__view *v, size_t x);

/* One enclosing scope as the scopes query found it. */
typedef struct ctx__scope_hit {
    TSNode node, body, name;
    wisp_scope_kind kind;
} ctx__scope_hit;

/* Names in scope, collected innermost first, each once. */
typedef struct ctx__names {
    wisp_name *items;
    size_t n, cap, max;
} ctx__names;

/* Parameters and locals of one function scope, or the members of a class scope (names.c). */
void ctx__scope_names(const ctx__view *v, const ctx__scope_hit *sc, size_t pos, ctx__names *out,
                      ctx__pool *pool);
/* Module-level names: top-level definitions and the names imports bind. */
void ctx__file_names(const ctx__view *v, ctx__names *out, ctx__pool *pool);
/* Import statements in document order, each once; malloc'd, strings in the pool. */
wisp_import *ctx__imports(const ctx__view *v, ctx__pool *pool, size_t *n_out);

/* Whether a query match passes its text predicates (#eq?, #not-eq?, #match? as a prefix test). */
bool ctx__match_ok(const TSQuery *q, const TSQueryMatch *m, const char *text, size_t len);

/* Which scopes a name may resolve through: the cursor's chain and the names visible in it. */
typedef struct ctx__lookup {
    const wisp_doc *doc;
    const ctx__view *view;       /* for references: the (possibly repaired) cursor document */
    size_t pos_u8;
    size_t line;                 /* cursor line */
    size_t win_start_u8, win_end_u8;  /* the reference window around the cursor */
    const wisp_scope *scopes;
    size_t n_scopes;
    const wisp_name *names;      /* names in scope (locals shadow definitions elsewhere) */
    size_t n_names;
    wisp_str callee;             /* in ARGS mode: the function being called (last identifier) */
    wisp_str word;               /* the identifier being typed before the cursor ("" if none) */
    const wisp_context_params *params;
} ctx__lookup;

/*
 * Finds the definitions of names referenced near the cursor in this document and (unless
 * params->this_doc_only) in the other documents of its set; fills *out with up to max_defs
 * entries whose strings live in `pool`; *out is malloc'd (caller frees). WISP_OK or NO_MEMORY.
 */
wisp_status wisp__defs_find(const ctx__lookup *lk, ctx__pool *pool, wisp_def **out, size_t *n_out,
                            wisp_error *err);

/* The top-level definitions of a document (cached per version; freed with the document). */
typedef struct wisp__def_index wisp__def_index;
void wisp__def_index_free(wisp__def_index *index);
/* Keeps an index valid across an edit that leaves the lines as they were (a keystroke within a
 * line) by shifting its offsets; entries whose names the edit touched are skipped until the next
 * rebuild. False when the index must be rebuilt instead (lines changed, or many edits since). */
bool wisp__def_index_shift(wisp__def_index *index, size_t start, size_t old_end, size_t new_len,
                           bool lines_changed);

#endif
