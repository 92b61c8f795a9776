/*
 * wisp_grammar.h — the public header of grammar/ (libwisp_grammar): code completion at a cursor
 * on top of the engine of wisp.h (included here). Read it as the manual.
 *
 * Sections:
 *   1. Languages, documents wisp_lang_*, wisp_doc_*, wisp_text_pos_*, wisp_context_*
 *                           (tree-sitter, incremental reparse, positions, context at a cursor)
 *   2. Completion           wisp_engine_*, wisp_complete  (context, prompt, decode, trim)
 *
 * One editor worker, from the model to a suggestion (errors unchecked):
 *
 *     wisp_error err;
 *     wisp_engine *eng = wisp_engine_new(model_bytes, model_size, NULL, &err);
 *     wisp_doc *doc = wisp_doc_open(wisp_engine_docs(eng), "file:///src/a.py", WISP_LANG_PYTHON,
 *                                   text, text_len, &err);          // copies the text
 *     wisp_doc_edit(doc, at, at, "x", 1, &err);                     // each keystroke
 *     wisp_complete_params p = wisp_complete_default_params();
 *     wisp_completion out;
 *     if (wisp_complete(eng, doc, cursor_u8, &p, &out, &err) == WISP_OK && out.n_candidates)
 *         show(out.candidates[0].text, out.candidates[0].text_len);
 *     wisp_engine_free(eng);                                        // closes doc as well
 *     free(model_bytes);
 *
 * The lifetime chain, stated once: the model's bytes (the caller's) outlive the engine, whose
 * weights point into them; the engine owns its document set, and the set its documents (closed
 * with wisp_doc_close or with the engine); what a document hands out (text, tree, line index)
 * lives until its next edit or close; a candidate lives until the engine's next wisp_complete;
 * a wisp_context (wisp_context_extract) owns copies of everything and lives until
 * wisp_context_free, whatever happens to the documents.
 */
#ifndef WISP_GRAMMAR_H
#define WISP_GRAMMAR_H

#include "wisp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================================================== */
/* 1. Languages and documents                                                                     */
/* ============================================================================================== */

typedef enum wisp_lang {
    WISP_LANG_NONE = 0,
    WISP_LANG_PYTHON,
    WISP_LANG_JAVASCRIPT,
    WISP_LANG_TYPESCRIPT,
    WISP_LANG_TSX,
    WISP_LANG_C,
    WISP_LANG_COUNT
} wisp_lang;

/* Language from a file name's extension ("x.py") or an editor language id ("typescriptreact");
 * WISP_LANG_NONE when unknown. Extensions: python .py .pyi; javascript .js .mjs .cjs .jsx;
 * typescript .ts .mts .cts; tsx .tsx; c .c .h. Matching is case-insensitive. */
wisp_lang wisp_lang_from_path(const char *path);
wisp_lang wisp_lang_from_id(const char *language_id);
const char *wisp_lang_name(wisp_lang lang); /* "python", ... ; static; "none" for unknown values */
/* Language from its wisp name ("python", "tsx", ...) or, failing that, an editor language id. */
wisp_lang wisp_lang_from_name(const char *name);

/* ---- Positions ------------------------------------------------------------------------------- */
/*
 * The one place that converts between UTF-8 byte offsets (the engine's unit), UTF-16 code unit
 * offsets (the editor's unit) and 0-based line/column. Lines end at "\n"; a "\r" before it belongs
 * to the line end, not to the line (so CRLF and LF files give the same columns); a lone "\r" is an
 * ordinary character. Invalid UTF-8 counts one UTF-16 unit per bad byte (a truncated or stray
 * byte); a 4-byte sequence counts 2 units (a surrogate pair). A position that falls inside a
 * character (a byte offset in the middle of a sequence, a UTF-16 offset between the halves of a
 * pair) resolves to the start of that character. Offsets past the end of the text, lines past the
 * last line and columns past the end of their line give WISP_ERR_RANGE.
 */
typedef struct wisp_pos {
    size_t pos_u8;   /* bytes from the start of the text */
    size_t off_u16;  /* UTF-16 code units from the start of the text */
    size_t line;     /* 0-based line */
    size_t col_u8;   /* bytes from the start of the line */
    size_t col_u16;  /* UTF-16 code units from the start of the line */
} wisp_pos;

typedef enum wisp_unit {
    WISP_UNIT_U8 = 0,  /* UTF-8 bytes (the CLI's F:LINE:COL, the benchmark's columns) */
    WISP_UNIT_U16 = 1, /* UTF-16 code units (VS Code, Monaco, LSP) */
} wisp_unit;

/* Fill every field of *out from one given position in `len` bytes of `text`. Pure functions of
 * the buffer: O(n) scans, no allocation, thread-safe. */
wisp_status wisp_text_pos_at_u8(const char *text, size_t len, size_t pos_u8, wisp_pos *out,
                                wisp_error *err);
wisp_status wisp_text_pos_at_u16(const char *text, size_t len, size_t off_u16, wisp_pos *out,
                                 wisp_error *err);
/* `line` and `col` are 0-based; `col` is in `unit`. For 1-based input subtract 1 first. */
wisp_status wisp_text_pos_at_line_col(const char *text, size_t len, size_t line, size_t col,
                                      wisp_unit unit, wisp_pos *out, wisp_error *err);

/* ---- Documents ------------------------------------------------------------------------------- */
/*
 * A document is one open file: its text, its language and its tree-sitter tree, kept up to date
 * by incremental reparses as edits arrive. Documents live in a set (wisp_docs), one per engine /
 * worker, so that context extraction can look up definitions in the other open files. A set and
 * its documents are not thread-safe: use them from one thread.
 */
typedef struct wisp_docs wisp_docs;
typedef struct wisp_doc wisp_doc;

/* An empty set. NULL only when out of memory. wisp_docs_free closes every document still open. */
wisp_docs *wisp_docs_new(void);
void wisp_docs_free(wisp_docs *self);
size_t wisp_docs_count(const wisp_docs *self);
/* The i-th open document (0 .. count-1, in opening order) or NULL; borrowed from the set. */
wisp_doc *wisp_docs_at(const wisp_docs *self, size_t i);
/* The open document with this uri, or NULL; borrowed from the set. */
wisp_doc *wisp_docs_find(const wisp_docs *self, const char *uri);

/*
 * Opens a document: copies `uri` and `len` bytes of `text` (any bytes: NULs, invalid UTF-8, CRLF)
 * and parses them. The returned document belongs to the set; close it with wisp_doc_close or let
 * wisp_docs_free close it. Errors: WISP_ERR_INVALID_ARG (NULL set/uri, uri already open),
 * WISP_ERR_LANGUAGE (lang has no grammar), WISP_ERR_RANGE (text over 4 GiB - 1, tree-sitter's
 * limit), WISP_ERR_NO_MEMORY.
 */
wisp_doc *wisp_doc_open(wisp_docs *docs, const char *uri, wisp_lang lang, const char *text,
                        size_t len, wisp_error *err);
/* Removes the document from its set and frees it; every pointer it handed out dies with it. */
void wisp_doc_close(wisp_doc *self);

/*
 * Replaces bytes [start_u8, old_end_u8) with `len` bytes of `text` (an insertion when start ==
 * old_end, a deletion when len == 0) and reparses incrementally (ts_tree_edit with byte and
 * row/column positions, then a parse that reuses the old tree). WISP_ERR_RANGE when start >
 * old_end or old_end is past the end; the document is unchanged on any error.
 */
wisp_status wisp_doc_edit(wisp_doc *self, size_t start_u8, size_t old_end_u8, const char *text,
                          size_t len, wisp_error *err);
/* Replaces the whole text (a full-sync editor, a reload) and parses it afresh. */
wisp_status wisp_doc_set_text(wisp_doc *self, const char *text, size_t len, wisp_error *err);

/* The current text: `*len` bytes, followed by a NUL that is not part of it. Owned by the
 * document, valid until its next edit or close. */
const char *wisp_doc_text(const wisp_doc *self, size_t *len);
wisp_lang wisp_doc_lang(const wisp_doc *self);
const char *wisp_doc_uri(const wisp_doc *self);        /* owned by the document */
uint64_t wisp_doc_version(const wisp_doc *self);       /* 0 when opened, +1 for every change */
wisp_docs *wisp_doc_set(const wisp_doc *self);          /* the set it belongs to (borrowed) */
size_t wisp_doc_line_count(const wisp_doc *self);      /* >= 1 ("" has one empty line) */
/* True when the tree holds ERROR or MISSING nodes (tree-sitter recovered from a syntax error),
 * or when the parse gave up. */
bool wisp_doc_has_error(const wisp_doc *self);
/* True when the current text was not parsed: it is over WISP_DOC_MAX_PARSE bytes, or parsing it
 * ran over its budget (about 16 parser operations a byte; code needs under one, but tree-sitter's
 * error recovery is super-linear on some broken text, such as many comment openers in an unclosed
 * C comment). The document then keeps its text and the tree of an empty text: contexts see no
 * syntax, wisp_complete answers WISP_ERR_UNSUPPORTED, and the next edit or wisp_doc_set_text
 * tries again. */
bool wisp_doc_parse_gave_up(const wisp_doc *self);
#define WISP_DOC_MAX_PARSE ((size_t)4 << 20) /* bytes: larger documents are kept, not parsed */
/* The syntax tree as an S-expression (ts_node_string), for tests and `wisp context --tree`;
 * the caller frees it with free(). NULL when out of memory. */
char *wisp_doc_tree_string(const wisp_doc *self);

/* Position conversions on a document: as wisp_text_pos_*, but O(log lines) thanks to the
 * document's line index (plus a scan of one line for UTF-16 columns). */
wisp_status wisp_doc_pos_at_u8(const wisp_doc *self, size_t pos_u8, wisp_pos *out,
                               wisp_error *err);
wisp_status wisp_doc_pos_at_u16(const wisp_doc *self, size_t off_u16, wisp_pos *out,
                                wisp_error *err);
wisp_status wisp_doc_pos_at_line_col(const wisp_doc *self, size_t line, size_t col, wisp_unit unit,
                                     wisp_pos *out, wisp_error *err);

/* ---- Context at a cursor --------------------------------------------------------------------- */

/* What kind of completion fits the cursor. */
typedef enum wisp_mode {
    WISP_MODE_NONE = 0,    /* inside a comment, a non-code string, or nowhere sensible: suggest nothing */
    WISP_MODE_MID_LINE,    /* code follows the cursor on its line: complete within the line */
    WISP_MODE_END_OF_LINE, /* nothing but closers/whitespace follow: complete the rest of the line */
    WISP_MODE_BLOCK,       /* first line of an empty block or function body: several lines expected */
    WISP_MODE_ARGS,        /* inside the argument list of a call: complete the arguments */
} wisp_mode;
const char *wisp_mode_name(wisp_mode mode); /* "none", "mid_line", "end_of_line", "block", "args" */

typedef enum wisp_scope_kind {
    WISP_SCOPE_FILE = 0,   /* the whole document (always last in the chain) */
    WISP_SCOPE_FUNCTION,   /* function, method, lambda / arrow function with a body */
    WISP_SCOPE_CLASS,      /* class, struct, union, enum, interface body */
    WISP_SCOPE_BLOCK,      /* if / for / while / try / with / switch / plain { } block */
    WISP_SCOPE_OTHER,      /* object literal, namespace, ... */
} wisp_scope_kind;
const char *wisp_scope_kind_name(wisp_scope_kind kind); /* "file", "function", ... */

/* Where a name comes from. */
typedef enum wisp_def_kind {
    WISP_DEF_FUNCTION = 0, /* function or method */
    WISP_DEF_CLASS,        /* class, struct, union, enum, interface */
    WISP_DEF_TYPE,         /* typedef, type alias */
    WISP_DEF_MACRO,        /* C #define */
    WISP_DEF_VARIABLE,     /* global / module-level variable or constant */
    WISP_DEF_FIELD,        /* class/struct member */
    WISP_DEF_PARAMETER,    /* parameter of an enclosing function */
    WISP_DEF_LOCAL,        /* local variable of an enclosing scope */
    WISP_DEF_IMPORT,       /* a name brought in by an import */
} wisp_def_kind;
const char *wisp_def_kind_name(wisp_def_kind kind); /* "function", "class", ... */

/* One enclosing scope. Strings are owned by the wisp_context. */
typedef struct wisp_scope {
    wisp_scope_kind kind;
    wisp_str node_type;   /* tree-sitter node type: "function_definition", "if_statement", ... */
    wisp_str name;        /* "foo", "Point"; empty for anonymous scopes */
    wisp_str header;      /* source text from the scope start to its body, trailing blanks cut:
                             "def foo(a, b):", "class X:", "static int f(void)", "if (x > 0)" */
    wisp_str indent;      /* leading whitespace of the header's line */
    size_t start_u8, end_u8;   /* the whole scope */
    size_t body_start_u8;      /* where the body starts (== start_u8 when there is none) */
} wisp_scope;

/* A name defined in scope at the cursor (parameters, locals, module-level names). */
typedef struct wisp_name {
    wisp_str name;
    wisp_def_kind kind;
    size_t pos_u8;        /* where it is defined in the document */
} wisp_name;

/* One import / include statement of the document, as written. */
typedef struct wisp_import {
    wisp_str text;        /* "from os import path", "#include <stdio.h>", "import x from 'y'" */
    size_t start_u8, end_u8;
} wisp_import;

/* The definition of a name referenced near the cursor, found in this or another open document. */
typedef struct wisp_def {
    wisp_str name;
    wisp_def_kind kind;
    wisp_str signature;   /* what to show the model: the header of a function ("def f(a, b):",
                             "static int f(int a)"), a class/struct with its fields and method
                             headers (bodies elided), a typedef, a #define, a variable declaration;
                             at most ~40 lines */
    const char *uri;      /* the document it comes from (a NUL-terminated copy) */
    bool same_doc;        /* defined in the document of the cursor */
    size_t start_u8, end_u8;   /* the definition's range in that document */
    size_t line;          /* 0-based line of start_u8 there */
    uint32_t n_refs;      /* references to the name counted near the cursor */
    float score;          /* ranking, higher first: references, nearness to the cursor */
} wisp_def;

/*
 * Everything context extraction found at one cursor. All pointers (arrays and wisp_str bytes) are
 * owned by the context and stay valid until wisp_context_free, whatever happens to the documents
 * meanwhile. wisp_str bytes are not NUL-terminated (use .len).
 */
typedef struct wisp_context {
    wisp_lang lang;
    wisp_mode mode;
    size_t pos_u8;             /* the cursor */
    size_t line;               /* 0-based line of the cursor */
    size_t col_u8;             /* byte column of the cursor */
    wisp_str line_prefix;      /* the cursor line before the cursor */
    wisp_str line_suffix;      /* the cursor line after the cursor, without its line end */
    wisp_str line_indent;      /* leading whitespace of the cursor line */
    wisp_str block_indent;     /* indentation of the statements of the innermost block at the
                                  cursor (for BLOCK mode: what the new body lines should start with) */
    wisp_str indent_unit;      /* one level of indentation as the document uses it ("    ", "\t") */
    wisp_str node_type;        /* the smallest node at the cursor, for debugging */
    bool in_error;             /* the cursor is inside or next to an ERROR / MISSING node */
    const wisp_scope *scopes;  /* innermost first, WISP_SCOPE_FILE last; n_scopes >= 1 */
    size_t n_scopes;
    const wisp_name *names;    /* names visible at the cursor, innermost scope first, no duplicates */
    size_t n_names;
    const wisp_import *imports;   /* in document order */
    size_t n_imports;
    const wisp_def *defs;      /* ranked best first, one per (name, uri) */
    size_t n_defs;
} wisp_context;

typedef struct wisp_context_params {
    uint32_t ref_lines;   /* lines before the cursor searched for references (and a quarter as
                             many after); 0 = 40 */
    uint32_t max_defs;    /* 0 = 16 */
    uint32_t max_names;   /* 0 = 64 */
    bool this_doc_only;   /* do not look for definitions in the other documents of the set */
} wisp_context_params;

/*
 * Extracts the context at byte offset `pos_u8` of `doc` (0 .. text length). `params` may be NULL
 * for the defaults. On success *out holds a new context, freed with wisp_context_free. Errors:
 * WISP_ERR_INVALID_ARG, WISP_ERR_RANGE (pos past the end), WISP_ERR_NO_MEMORY. Any text gives a
 * context: syntax errors only make the tree less informative, never an error.
 */
wisp_status wisp_context_extract(const wisp_doc *doc, size_t pos_u8,
                                 const wisp_context_params *params, wisp_context **out,
                                 wisp_error *err);
void wisp_context_free(wisp_context *self);

/* ============================================================================================== */
/* 2. Completion                                                                                  */
/* ============================================================================================== */
/*
 * An engine bundles what one editor worker needs: the model (weights borrowed from the caller's
 * buffer), one inference context whose KV cache survives between requests, and a set of open
 * documents (section 1). wisp_complete runs the whole pipeline at a cursor: context extraction,
 * FIM prompt (suffix-first, stable parts first, so typing only appends tokens), prefill with
 * cache reuse, decoding under token/line/time budgets, and syntax-aware trimming.
 */
typedef struct wisp_engine wisp_engine;

typedef struct wisp_engine_params {
    uint32_t n_ctx;   /* KV cache tokens; 0 = min(model's n_ctx_train, 2048) */
    uint32_t n_batch; /* prompt tokens per matrix pass; 0 = the context's default */
    size_t n_avail;   /* progressive loading: bytes of the model file that have arrived so far
                         (wisp_model_load_partial); 0 = all `size` */
} wisp_engine_params;

/*
 * Loads the model from `size` bytes at `model_data` (borrowed: the buffer must outlive the
 * engine), allocates the context and an empty document set. `params` may be NULL (defaults).
 * Fails (NULL + err) like wisp_model_load (or wisp_model_load_partial with params->n_avail),
 * and with WISP_ERR_UNSUPPORTED when the vocabulary has no fill-in-the-middle tokens (prefix,
 * suffix, middle). Free with wisp_engine_free, which also closes every document of the engine.
 */
wisp_engine *wisp_engine_new(const void *model_data, size_t size, const wisp_engine_params *params,
                             wisp_error *err);
void wisp_engine_free(wisp_engine *self);
/* The engine's documents: open, edit and close them with the section 1 calls. Owned by the
 * engine. */
wisp_docs *wisp_engine_docs(wisp_engine *self);
const wisp_model *wisp_engine_model(const wisp_engine *self); /* owned by the engine */
/* The engine's inference context (owned by the engine), for its settings: the depth
 * (wisp_ctx_set_depth, early exit) and self-speculative decoding (wisp_ctx_set_speculative).
 * Its KV cache is the one wisp_complete reuses. */
wisp_ctx *wisp_engine_ctx(wisp_engine *self);
/* Progressive loading: the first `n_avail` bytes of the engine's model buffer now hold the file
 * (wisp_model_set_available). Documents, the cache and every setting stay; completions run
 * deeper as blocks become ready, and at full depth once all have. Errors as
 * wisp_model_set_available. */
wisp_status wisp_engine_set_available(wisp_engine *self, size_t n_avail, wisp_error *err);

/* Context sources and post-processing steps, as bit flags so the ablation can switch each off. */
typedef enum wisp_source {
    WISP_SOURCE_PATH = 1u << 0,   /* the file's name after the leading `<|file_sep|>` (`<|file_sep|>src/x.py`);
                                   * the separator leads every prompt, with or without it */
    WISP_SOURCE_SCOPES = 1u << 1, /* trim the prefix at scope boundaries, keep enclosing headers */
    WISP_SOURCE_DEFS = 1u << 2,   /* definitions of nearby names, as a commented block */
    WISP_SOURCE_TRIM = 1u << 3,   /* syntax-aware cutting of the answer (off: raw stop rules) */
    WISP_SOURCE_HEAL = 1u << 5,   /* token healing: the prompt ends one text token early and the
                                     answer must re-spell it (a cursor inside a word) */
    WISP_SOURCE_REPEAT = 1u << 6, /* with TRIM: a multi-line answer stops before a line that repeats
                                     an earlier one of it (a small model's loop), also while
                                     decoding (trim.h, trim_input.repeat) */
    /* Not a source but a layout choice, on in WISP_SOURCE_ALL: put the definitions block at the
     * top of the prefix (the layout train/FORMAT.md gives for extra context; the v2 model scores
     * EM +1.0 / ES +1.3 on the dev set with it, bench/RESULTS.md "Dev benchmark: prompt layout,
     * prompt budget and sampled candidates") instead of
     * between the path and the suffix, a layout no training document has. A change of the
     * definitions while typing then keeps the suffix in the KV cache. */
    WISP_SOURCE_DEFS_IN_PREFIX = 1u << 4,
    WISP_SOURCE_ALL = 0xFu | (1u << 4) | (1u << 5) | (1u << 6),
    /* Off in WISP_SOURCE_ALL (it cost ES on the dev set): with REPEAT, also stop before a line equal
     * to one of the 3 lines right before the cursor. */
    WISP_SOURCE_REPEAT_BEFORE = 1u << 7,
} wisp_source;

/* Called between tokens; return true to abandon the request (WISP_ERR_CANCELLED). */
typedef bool (*wisp_should_stop_cb)(void *user);

/*
 * Streaming (wisp_complete_params.on_partial): called from inside wisp_complete, while the greedy
 * candidate is still being decoded, with the first line of its answer as soon as that line is
 * complete, so that an editor can show it before the rest of a block is decoded. `text` (`len`
 * bytes, NUL-terminated, never empty or blank) is what the final answer would begin with: the
 * same trimming as the final answer (healed bytes removed, the file's indentation and line
 * ends, the rules of trim.h up to that line), up to the end of the answer's first line with
 * non-blank text (an answer that starts on the next line keeps its leading line break), without
 * the line break after it. It is borrowed for the time of the call only. Insert it at the
 * cursor, as a candidate with start_u8 == end_u8 == the cursor.
 */
typedef void (*wisp_partial_cb)(void *user, const char *text, size_t len);

typedef struct wisp_complete_params {
    uint32_t max_tokens;     /* generated tokens per candidate; 0 = by shape (48 line, 64 args, 160 block) */
    uint32_t max_lines;      /* lines of a multi-line answer; 0 = by shape (1 line, 8 args, 12 block) */
    double time_budget_ms;   /* wall clock for the whole call, 0 = none; a late answer is cut,
                                not dropped */
    uint32_t n_candidates;   /* 1..WISP_MAX_CANDIDATES; 0 = 1. The first is greedy. */
    float temperature;       /* sampling temperature for candidates after the first (0 = 0.5:
                                bench/RESULTS.md "Dev benchmark: prompt layout, prompt
                                budget and sampled candidates") */
    uint64_t seed;
    uint32_t prompt_tokens;  /* prompt budget in tokens; 0 = 512 (never above n_ctx - max_tokens).
                                The engine keeps a prompt's window (where the prefix starts, the
                                suffix ends) and definitions block for the next requests in the
                                same document at the same budget, so that the KV cache serves them */
    uint32_t sources;        /* wisp_source flags; 0 = the plain prompt, no trimming. Start from
                                wisp_complete_default_params(), which sets WISP_SOURCE_ALL */
    wisp_lang lang;          /* comment syntax and trimming rules; WISP_LANG_NONE = the document's */
    bool speculative;        /* idle-time work at a hypothetical cursor (a suggestion accepted):
                                the definitions block of the last prompt for this document is
                                used wherever the cursor is and kept for the next keystrokes, so
                                that the KV cache serves both; and inside a string or a comment,
                                where a suggestion that was cut short may end, the answer goes on
                                (WISP_MODE_NONE is for what the user types there) */
    wisp_should_stop_cb should_stop; /* may be NULL */
    /* may be NULL. Called at most once per call, with the first line of the greedy candidate
       (wisp_partial_cb), when the answer may have more than one line (a block, multi-line call
       arguments: max_lines > 1 once resolved, never for a single-line shape, whose answer is
       complete at that moment anyway) and decoding goes on after that line. Never in mode NONE,
       never for a blank line, never once should_stop has asked to stop. Once per call rather
       than once per line: the editors show it by resolving the request early and replace it
       with the whole answer when the call returns; more lines would each cost them a re-render
       for what the final answer brings a few tokens later. It changes no answer. It is a
       preview, not a promise: the call may still fail or be cancelled, and the final answer may
       differ (a sampled candidate ranked first, a block shortened to parse, which may leave it
       empty) */
    wisp_partial_cb on_partial;
    void *user;                      /* for should_stop and on_partial */
} wisp_complete_params;
#define WISP_MAX_CANDIDATES 8

/* The defaults: every source on, one greedy candidate, model-driven budgets. */
wisp_complete_params wisp_complete_default_params(void);

/* One suggestion. Replace bytes [start_u8, end_u8) of the document with `text` (usually an empty
 * range at the cursor). */
typedef struct wisp_candidate {
    const char *text;    /* NUL-terminated, owned by the engine until its next wisp_complete */
    size_t text_len;
    size_t start_u8;
    size_t end_u8;
    bool parses;         /* reparsing the document with `text` adds no ERROR/MISSING node near it */
    uint32_t n_errors;   /* ERROR/MISSING nodes in the edited region after the reparse */
    uint32_t n_tokens;   /* tokens generated for it */
    wisp_stop_reason stop;
    float mean_logprob;  /* the model's mean log-probability per generated token (0 when none) */
} wisp_candidate;

typedef struct wisp_complete_timings {
    double context_ms;   /* reparse of the document + context extraction */
    double prompt_ms;    /* prompt assembly and tokenization */
    double prefill_ms;   /* model: prompt tokens not reused from the cache */
    double decode_ms;    /* model: generation, all candidates */
    double trim_ms;      /* post-processing and the checking reparses */
    double total_ms;
    uint32_t n_prompt;   /* prompt tokens */
    uint32_t n_reused;   /* of which came from the KV cache */
    uint32_t n_generated;/* tokens generated over all candidates */
    uint32_t n_drafted;  /* self-speculative decoding (wisp_ctx_set_speculative): tokens drafted */
    uint32_t n_accepted; /* and of them accepted by the full model */
} wisp_complete_timings;

typedef struct wisp_completion {
    const wisp_candidate *candidates; /* best first; owned by the engine until its next call */
    size_t n_candidates;              /* 0 when there is nothing to suggest (mode NONE, empty) */
    wisp_mode mode;
    wisp_lang lang;
    wisp_complete_timings timings;
} wisp_completion;

/*
 * Completes `doc` (a document of this engine) at byte offset `pos_u8`. `params` may be NULL
 * (wisp_complete_default_params()). In mode NONE (inside a comment, a plain string) it returns
 * WISP_OK with no candidate and never runs the model. Errors: WISP_ERR_RANGE when pos_u8 is past
 * the end or inside a UTF-8 sequence, WISP_ERR_INVALID_ARG for a NULL engine/doc/out,
 * WISP_ERR_CANCELLED when should_stop asked, or any error of the model. Not thread-safe: one
 * call at a time per engine.
 */
wisp_status wisp_complete(wisp_engine *self, wisp_doc *doc, size_t pos_u8,
                          const wisp_complete_params *params, wisp_completion *out,
                          wisp_error *err);

/*
 * Assembles the prompt wisp_complete would send at this cursor, without running the model, and
 * returns it as labelled text: each section (path, definitions, suffix, prefix) with its token
 * count, the FIM tokens spelled out. NUL-terminated, owned by the engine until its next call;
 * NULL + err on failure. For `wisp prompt`.
 */
const char *wisp_engine_prompt_text(wisp_engine *self, wisp_doc *doc, size_t pos_u8,
                                    const wisp_complete_params *params, size_t *len,
                                    wisp_error *err);
/* The labelled prompt of the last wisp_complete ("" before the first); owned by the engine until
 * its next call. For the editor's "show last prompt" command. */
const char *wisp_engine_last_prompt(const wisp_engine *self, size_t *len);

#ifdef __cplusplus
}
#endif
#endif /* WISP_GRAMMAR_H */
