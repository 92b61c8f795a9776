/*
 * Fill-in-the-middle prompt assembly. The layout is the model's own training layout
 * (train/FORMAT.md), suffix first (SPM), with the stable parts first so the KV cache survives
 * typing:
 *
 *   <|file_sep|>PATH\n  DEFINITIONS-AS-COMMENTS  <|fim_suffix|>SUFFIX<|fim_prefix|>PREFIX<|fim_middle|>
 *   `---- head: changes when the cursor moves to another scope ----'      `- tail: the cursor's line
 *
 * Each part is tokenized on its own; the prefix is tokenized as two chunks split at the start of
 * the cursor line, so a keystroke at the cursor changes only the last chunk's few tokens. The
 * prefix is cut from the top and the suffix from the bottom at line boundaries to fit a token
 * budget; the prefix's first line and the suffix's last are sticky (kept while they still fit)
 * so that neither end slides with every keystroke or with a speculative request after a
 * suggestion.
 */
#ifndef WISP_PROMPT_H
#define WISP_PROMPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wisp_grammar.h"

/* The special ids a FIM prompt needs, read from the model's vocabulary. */
typedef struct prompt_fim {
    int32_t pre, suf, mid; /* required */
    int32_t sep;           /* file separator, or WISP_NO_TOKEN: no path line then */
    int32_t stops[8];      /* ids that end an answer: EOS, EOT, file separator, FIM pad/tokens */
    size_t n_stops;
} prompt_fim;

/* Reads the FIM ids of `tok`; WISP_ERR_UNSUPPORTED naming the missing ones when the vocabulary
 * has no prefix/suffix/middle tokens. */
wisp_status prompt_fim_ids(const wisp_tokenizer *tok, prompt_fim *out, wisp_error *err);

/* What a prompt is made of. All pointers are borrowed for the duration of prompt_build. */
typedef struct prompt_input {
    const char *path;          /* shown on the file line; NULL or "" = none */
    wisp_lang lang;
    const char *text;          /* the document */
    size_t len;
    size_t pos_u8;             /* the cursor */
    const wisp_context *ctx;   /* scopes and definitions; may be NULL */
    uint32_t sources;          /* wisp_source flags */
    uint32_t budget;           /* tokens for the whole prompt, >= 32 */
    uint32_t budget_max;       /* a window kept from the previous prompt (the sticky ends) may run
                                  over `budget` up to this; 0 = never */
    size_t sticky_start_u8;    /* the previous prompt's prefix start for this document, or SIZE_MAX */
    size_t sticky_suffix_tail; /* the previous prompt's suffix end as bytes before the end of the
                                  document (typing before it does not move it), or SIZE_MAX */
    const char *frozen_defs;   /* when not NULL: the definitions block to use as is (a previous
                                  prompt's `defs`), so the head stays the same across keystrokes */
    size_t frozen_defs_len;
    size_t frozen_n_defs;
} prompt_input;

typedef enum prompt_part {
    PROMPT_PART_PATH = 0,
    PROMPT_PART_DEFS,
    PROMPT_PART_SUFFIX,
    PROMPT_PART_PREFIX,
    PROMPT_PART_COUNT
} prompt_part;

/* An assembled prompt. Owns its buffers; free with prompt_free. */
typedef struct prompt {
    int32_t *tokens;             /* the whole prompt, FIM ids included */
    size_t n_tokens;
    size_t part_begin[PROMPT_PART_COUNT]; /* token range of each part (FIM id before it included) */
    size_t part_end[PROMPT_PART_COUNT];
    char *defs;                  /* the definitions block as text ("" when none), owned */
    size_t defs_len;
    size_t n_defs;               /* definitions kept in the block */
    size_t prefix_start_u8;      /* the document bytes the prompt shows: [prefix_start, pos) */
    size_t suffix_end_u8;        /*                               and [pos, suffix_end) */
    size_t tail_begin;           /* first token of the cursor line's chunk */
} prompt;

/*
 * Assembles the prompt for `in` into *out (zeroed first; free with prompt_free even on error).
 * WISP_ERR_RANGE for a cursor past the end, WISP_ERR_TOKENIZER / _NO_MEMORY from tokenization.
 */
wisp_status prompt_build(const wisp_tokenizer *tok, const prompt_fim *fim, const prompt_input *in,
                         prompt *out, wisp_error *err);
void prompt_free(prompt *p);

/*
 * The prompt as labelled text for people: each part under a "=== name (N tokens)" line, FIM ids
 * spelled as their token text. Returns a malloc'd NUL-terminated string (caller frees) and its
 * length in *len, or NULL when out of memory.
 */
char *prompt_describe(const prompt *p, const wisp_tokenizer *tok, const prompt_input *in,
                      size_t *len);

#endif
