/* Internal: the steps of context extraction, shared between context.c (which runs them in order)
 * and the files that implement them: context_mode.c (the mode), context_scopes.c (the enclosing
 * scopes), names.c (names in scope, imports) and defs.c (definitions of names used near the
 * cursor). What they all read is in context_view.h; the bytes they hand out live in pool.h. */
#ifndef WISP_CONTEXT_H
#define WISP_CONTEXT_H

#include <tree_sitter/api.h>

#include "context_view.h"
#include "doc.h"
#include "pool.h"
#include "wisp_grammar.h"

/* One enclosing scope as the scopes query found it. */
typedef struct ctx__scope_hit {
    TSNode node, body, name;
    wisp_scope_kind kind;
} ctx__scope_hit;

/* The mode at the cursor (context_mode.c), from the document as it is (the view unrepaired):
 * `cur` is the cursor's line, `pos_in_line` the cursor clamped to the line's content. In ARGS mode
 * *callee receives the function being called; in BLOCK mode *opener the line that opens the empty
 * block. A broken query fills err (a bug). */
wisp_mode ctx__mode_at(const ctx__view *v, size_t pos, ctx__line cur, size_t pos_in_line,
                       bool in_error, bool prefix_blank, bool suffix_blank, wisp_str *callee,
                       ctx__line *opener, wisp_error *err);
/* Whether the cursor sits inside or right next to an ERROR or MISSING node. */
bool ctx__near_error(TSNode root, size_t pos);

/* The scopes enclosing the cursor, innermost first, from the scopes query (context_scopes.c);
 * `hits` has room for `cap`; `col` is the cursor's column (Python blocks on blank lines). */
size_t ctx__find_scopes(const ctx__view *v, size_t pos, ctx__line cur, size_t col,
                        ctx__scope_hit *hits, size_t cap, wisp_error *err);
/* The context's scope chain from those hits: the empty block's `opener` first when no hit covers
 * it (NULL: not BLOCK mode), the hits, then the file; strings copied into `pool`. malloc'd (NULL
 * when out of memory); *n_out receives its length. */
wisp_scope *ctx__scopes_of(const ctx__view *v, const ctx__scope_hit *hits, size_t n_hits,
                           const ctx__line *opener, ctx__pool *pool, size_t *n_out);

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

#endif
