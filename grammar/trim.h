/*
 * Cutting a model's raw answer so that it fits the code at the cursor. Pure functions over byte
 * strings: no model, no tree-sitter, so every rule is unit-tested on small tables
 * (tests/test_trim.c). The checking reparse that confirms a cut lives in complete.c.
 *
 * The rules, in the order trim_completion applies them:
 *   - single-line answers stop at the first newline; blocks stop where the block ends (Python:
 *     a line indented below the block; C/JS/TS: the line whose closer pops the block's brace);
 *     call arguments stop at the closer of the call's parenthesis;
 *   - nothing the suffix already holds is repeated: the closers/quotes the rest of the line
 *     starts with, the rest of the line itself, lines equal to the suffix's next lines;
 *   - brackets and quotes are balanced: unmatched closers end the answer, a string or bracket
 *     opened by the answer and left open at the end of a single line is closed;
 *   - whitespace-only answers become empty; indentation follows the file (tabs or spaces),
 *     line ends follow the file (\r\n or \n).
 */
#ifndef WISP_TRIM_H
#define WISP_TRIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wisp_grammar.h"

/* The shape of answer the cursor asks for; complete.c maps the context's mode onto it. */
typedef enum trim_shape {
    TRIM_SHAPE_LINE = 0, /* the rest of one line */
    TRIM_SHAPE_BLOCK,    /* one or more statements, ending with the enclosing block */
    TRIM_SHAPE_ARGS,     /* call arguments, up to the call's closing parenthesis */
} trim_shape;

/* How the document writes line ends and indentation. */
typedef struct trim_style {
    bool crlf;             /* most line ends are \r\n */
    bool tabs;             /* most indented lines start with a tab */
    uint32_t indent_width; /* spaces per indentation level (also the tab width); 2..8 */
} trim_style;

/* Guesses the style from (a sample of) the document's text. Never fails; defaults to \n, spaces
 * and 4. */
trim_style trim_detect_style(const char *text, size_t len);

typedef struct trim_input {
    wisp_lang lang;
    trim_shape shape;
    const char *prefix;    /* the document before the cursor (borrowed) */
    size_t prefix_len;
    const char *suffix;    /* the document after the cursor (borrowed) */
    size_t suffix_len;
    uint32_t max_lines;    /* 0 = no limit */
    trim_style style;
    bool syntax;           /* false: only the raw stop rules (shape, max_lines), for the ablation */
    bool repeat;           /* with syntax: a multi-line answer also stops before a line that repeats
                              an earlier line of it (whitespace-equal and >= 12 bytes, or edit
                              similarity >= 0.9 and >= 20 bytes) */
    bool repeat_before;    /* with repeat: also before a line whitespace-equal to one of the 3
                              lines before the cursor (>= 12 bytes); off by default (measured) */
} trim_input;

/*
 * Cuts `raw` (the model's text, \n line ends) into what to insert at the cursor. Writes the
 * result to *out, a malloc'd NUL-terminated buffer owned by the caller (free()), and its length to
 * *out_len; an answer with nothing useful gives an empty string. Returns WISP_OK, or
 * WISP_ERR_NO_MEMORY / WISP_ERR_INVALID_ARG with err filled.
 */
wisp_status trim_completion(const trim_input *in, const char *raw, size_t raw_len, char **out,
                            size_t *out_len, wisp_error *err);

/*
 * True once `text` (generated so far, \n line ends) already holds a complete answer for `in`,
 * so decoding can stop early: a newline after content for a line, the end of the block, the
 * closer of the call. Cheap enough to call after every token.
 */
bool trim_is_done(const trim_input *in, const char *text, size_t len);

/* trim_is_done with the cursor's lexical state (open brackets, the suffix's next lines) computed
 * once: for the decode loop, which asks after every token. `in` and the text it points to are
 * borrowed and must outlive the object. NULL when out of memory. */
typedef struct trim_cursor trim_cursor;
trim_cursor *trim_cursor_new(const trim_input *in);
void trim_cursor_free(trim_cursor *self);
bool trim_cursor_done(const trim_cursor *self, const char *text, size_t len);

/* Edit similarity (1 - Levenshtein / longer length) of two stripped lines, with runs of whitespace
 * as one space, at least 0.9. Lines over 160 bytes: whitespace-equal only. */
bool trim_near_equal(const char *a, size_t na, const char *b, size_t nb);

#endif
