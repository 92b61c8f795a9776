/* Internal: what context extraction reads (a document or a repaired copy of it) and the small
 * lexical helpers over its lines that the extraction steps share (context*.c, names.c, defs.c). */
#ifndef WISP_CONTEXT_VIEW_H
#define WISP_CONTEXT_VIEW_H

#include <tree_sitter/api.h>

#include "doc.h"
#include "wisp_grammar.h"

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

/* The document with `hole` inserted at the cursor, reparsed incrementally from its tree. The
 * caller frees *buf and *tree. False (view untouched) when out of memory. */
bool ctx__repair(const wisp_doc *doc, size_t pos, const char *hole, ctx__view *v, char **buf,
                 TSTree **tree);

/* Whether a query match passes its text predicates (#eq?, #not-eq?, #match? as a prefix test). */
bool ctx__match_ok(const TSQuery *q, const TSQueryMatch *m, const char *text, size_t len);

/* ---- lines ----------------------------------------------------------------------------------- */

static inline bool ctx__is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }
static inline bool ctx__is_word(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$' || (unsigned char)c >= 0x80;
}

typedef struct ctx__line {
    size_t start, end;  /* content, without "\r\n" / "\n" */
    size_t indent;      /* bytes of leading blanks */
    bool blank;
} ctx__line;

/* The line containing byte `pos` (which may be a line's end). */
ctx__line ctx__line_at(const char *text, size_t len, size_t pos);
/* The nearest non-blank line before (dir < 0) or after (dir > 0) the line `from`; found = false
 * at the start / end of the text. */
ctx__line ctx__nonblank(const char *text, size_t len, ctx__line from, int dir, bool *found);
/* The one lexer of context extraction: scans text[from, to) of a line for quotes and comments.
 * Returns where a line comment starts (`#`, `//`, outside quotes), or `to`; *open (may be NULL)
 * receives whether a string or a block comment is still open at `to`, and *open_at (may be NULL)
 * where it began (its quote, or the slash that opens the block comment; `to` when none is open).
 * Without `full` it sees quotes and line comments only (a rough cut of a line's code); with it, also block comments and
 * the code islands of f-strings / template substitutions. (trim.c keeps its own lexer: it also
 * tracks brackets and Python's triple quotes across lines, which the answer's trimming needs.) */
size_t ctx__scan_line(const char *text, size_t from, size_t to, wisp_lang lang, bool full, bool *open,
                      size_t *open_at);
/* The last byte of a line's code, skipping trailing blanks and (roughly) a trailing comment. */
size_t ctx__code_end(const char *text, ctx__line l, wisp_lang lang);
/* One level of indentation as the document uses it: the most common increase between
 * consecutive non-blank lines (a tab if tabs win), else the language's habit. */
wisp_str ctx__indent_unit(const char *text, size_t len, wisp_lang lang);

/* Keywords that may stand before "(" without being a callee ("if (", "return (", "def f("). */
extern const char *const ctx__not_callees[];

#endif
