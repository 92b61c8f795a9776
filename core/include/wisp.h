/*
 * wisp.h — the one public header of the wisp engine. Read it as the manual.
 *
 * wisp completes code at a cursor with a small GGUF code model. The engine is C11 with no I/O of
 * its own: the caller hands it bytes (model files, documents) and gets bytes back. It never
 * exits, never prints, never touches the network; everything it cannot do comes back as a
 * wisp_error (code + message naming the offending thing).
 *
 * Sections:
 *   1. Errors
 *   2. GGUF files           wisp_gguf_*      (read-only view over a caller-owned buffer)
 *   3. Models               wisp_model_*     (llama / qwen2 weights borrowed from the buffer)
 *   4. Tokenizer            wisp_tokenizer_* (byte-level BPE and SentencePiece, from GGUF keys)
 *   5. Inference context    wisp_ctx_*       (KV cache with prefix reuse, sampling, budgets)
 *   6. Quantization         wisp_quantize_*  (F32/F16 -> Q8_0/Q4_0 GGUF, our own quantizer)
 *   7. Languages, documents wisp_lang_*, wisp_doc_*   (tree-sitter, incremental reparse)
 *   8. Completion           wisp_engine_*, wisp_complete  (context, prompt, decode, trim)
 *
 * Positions inside the engine are UTF-8 byte offsets (`pos_u8`); the JS layer converts to and from
 * the editor's UTF-16 units in one place (wasm/). Unless a function says otherwise, objects are not
 * thread-safe: use one engine per thread (per Web Worker). Distinct objects may be used from
 * distinct threads. `*_free(NULL)` is always a no-op.
 */
#ifndef WISP_H
#define WISP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================================================== */
/* 1. Errors                                                                                      */
/* ============================================================================================== */

typedef enum wisp_status {
    WISP_OK = 0,
    WISP_ERR_INVALID_ARG,  /* a NULL where one is not allowed, a bad enum value, an empty buffer */
    WISP_ERR_NO_MEMORY,    /* an allocation failed */
    WISP_ERR_BAD_MODEL,    /* the GGUF file is malformed: truncated, bad magic, offsets out of range */
    WISP_ERR_UNSUPPORTED,  /* well-formed but not something wisp runs: architecture, tensor type */
    WISP_ERR_TOKENIZER,    /* vocabulary missing or inconsistent, text that cannot be tokenized */
    WISP_ERR_RANGE,        /* a position, length or token id outside what the object holds */
    WISP_ERR_CONTEXT_FULL, /* the tokens do not fit in the context window */
    WISP_ERR_LANGUAGE,     /* no grammar for that language / extension */
    WISP_ERR_CANCELLED,    /* the caller's should_stop callback asked to stop */
} wisp_status;

/* Where a failing call explains itself. Callers may pass NULL when they only want the code. */
typedef struct wisp_error {
    wisp_status code;
    char message[256]; /* NUL-terminated, English, names the offending thing */
} wisp_error;

/* A short static name for a status code ("bad model"); never NULL. */
const char *wisp_status_name(wisp_status code);

/* ============================================================================================== */
/* 2. GGUF files                                                                                  */
/* ============================================================================================== */

/* GGUF metadata value types, numbered as in the file format. */
typedef enum wisp_gguf_type {
    WISP_GGUF_UINT8 = 0,
    WISP_GGUF_INT8 = 1,
    WISP_GGUF_UINT16 = 2,
    WISP_GGUF_INT16 = 3,
    WISP_GGUF_UINT32 = 4,
    WISP_GGUF_INT32 = 5,
    WISP_GGUF_FLOAT32 = 6,
    WISP_GGUF_BOOL = 7,
    WISP_GGUF_STRING = 8,
    WISP_GGUF_ARRAY = 9,
    WISP_GGUF_UINT64 = 10,
    WISP_GGUF_INT64 = 11,
    WISP_GGUF_FLOAT64 = 12,
} wisp_gguf_type;

/* Tensor element types, numbered as ggml numbers them (so files interoperate with llama.cpp). */
typedef enum wisp_dtype {
    WISP_DTYPE_F32 = 0,
    WISP_DTYPE_F16 = 1,
    WISP_DTYPE_Q4_0 = 2,
    WISP_DTYPE_Q8_0 = 8,
    WISP_DTYPE_Q4_K = 12,
    WISP_DTYPE_Q6_K = 14,
    WISP_DTYPE_BF16 = 30,
} wisp_dtype;

/* A string inside the file: not NUL-terminated, borrowed from the file buffer. */
typedef struct wisp_str {
    const char *ptr;
    uint64_t len;
} wisp_str;

/* One tensor of the file's tensor table. `data` points into the caller's buffer. */
typedef struct wisp_gguf_tensor {
    wisp_str name;
    wisp_dtype type;
    uint32_t n_dims;
    uint64_t ne[4];      /* elements per dimension, ne[0] fastest (ggml order); unused dims are 1 */
    uint64_t offset;     /* bytes from the start of the data section */
    uint64_t size;       /* bytes of data */
    const void *data;    /* borrowed; valid while the buffer lives */
} wisp_gguf_tensor;

typedef struct wisp_gguf wisp_gguf;

/*
 * Parses a GGUF v2 or v3 file held in memory. Every count, size and offset is checked against
 * `size` before use. The buffer is borrowed: it must outlive the returned object and stay
 * unchanged. Returns NULL and fills `err` on any problem: WISP_ERR_BAD_MODEL for a malformed file
 * (truncated, bad magic, absurd counts or lengths, duplicate keys or tensor names, a tensor whose
 * data is misaligned or runs past the end, more than 4 dims), WISP_ERR_UNSUPPORTED for GGUF v1,
 * big-endian files and tensor types wisp does not know (the message names the tensor),
 * WISP_ERR_NO_MEMORY. Nothing is copied (keys, strings and tensor data point into the buffer);
 * the object holds hash indexes for keys and tensor names and an offset index for string arrays.
 * general.alignment must be a power of two >= 8 (default 32), so every tensor's data starts at a
 * multiple of 8 from the start of the buffer: aligned for its element type when the buffer is
 * (malloc, mmap). It is immutable once opened: concurrent reads from several threads are safe.
 * Free with wisp_gguf_free.
 */
wisp_gguf *wisp_gguf_open(const void *data, size_t size, wisp_error *err);
void wisp_gguf_free(wisp_gguf *self);

uint32_t wisp_gguf_version(const wisp_gguf *self);
uint64_t wisp_gguf_alignment(const wisp_gguf *self);

/* Metadata, by index (0 .. n_kv-1, in file order) or by key (O(1)). wisp_gguf_find returns -1 when
 * the key is absent; for an index out of range wisp_gguf_key gives an empty string and the type
 * getters give (wisp_gguf_type)-1. */
int64_t wisp_gguf_n_kv(const wisp_gguf *self);
int64_t wisp_gguf_find(const wisp_gguf *self, const char *key);
wisp_str wisp_gguf_key(const wisp_gguf *self, int64_t i);
wisp_gguf_type wisp_gguf_kv_type(const wisp_gguf *self, int64_t i);
/* For arrays: element type and count. For other types the count is 1 and the type is the kv's. */
wisp_gguf_type wisp_gguf_arr_type(const wisp_gguf *self, int64_t i);
uint64_t wisp_gguf_arr_len(const wisp_gguf *self, int64_t i);

/*
 * Typed reads. Each returns false (leaving *out untouched) when the key is absent or its type
 * does not fit; integer getters accept any integer type whose value fits. `j` is the array index
 * for the _arr_ variants (bounds-checked, O(1) for every j, strings included). Arrays of arrays
 * are validated and counted but their elements are not readable through these getters.
 */
bool wisp_gguf_get_u32(const wisp_gguf *self, const char *key, uint32_t *out);
bool wisp_gguf_get_i64(const wisp_gguf *self, const char *key, int64_t *out);
bool wisp_gguf_get_f32(const wisp_gguf *self, const char *key, float *out);
bool wisp_gguf_get_bool(const wisp_gguf *self, const char *key, bool *out);
bool wisp_gguf_get_str(const wisp_gguf *self, const char *key, wisp_str *out);
bool wisp_gguf_arr_str(const wisp_gguf *self, int64_t i, uint64_t j, wisp_str *out);
bool wisp_gguf_arr_i64(const wisp_gguf *self, int64_t i, uint64_t j, int64_t *out);
bool wisp_gguf_arr_f64(const wisp_gguf *self, int64_t i, uint64_t j, double *out);
/* Scalar value of kv i converted for printing (numbers, bools, strings); for `wisp info`. */
bool wisp_gguf_scalar_f64(const wisp_gguf *self, int64_t i, double *out);

/* Tensors, by index (0 .. n_tensors-1) or by name (NULL when absent). */
int64_t wisp_gguf_n_tensors(const wisp_gguf *self);
const wisp_gguf_tensor *wisp_gguf_tensor_at(const wisp_gguf *self, int64_t i);
const wisp_gguf_tensor *wisp_gguf_tensor_find(const wisp_gguf *self, const char *name);

/* Name of a dtype ("q8_0"), or NULL when wisp does not know it; bytes per block and elements per
 * block (1 for float types). */
const char *wisp_dtype_name(wisp_dtype type);
size_t wisp_dtype_block_bytes(wisp_dtype type);
size_t wisp_dtype_block_elems(wisp_dtype type);

/* ============================================================================================== */
/* 3. Models                                                                                      */
/* ============================================================================================== */

typedef enum wisp_arch {
    WISP_ARCH_LLAMA = 0, /* rope on adjacent pairs (llama.cpp's layout), no q/k/v bias */
    WISP_ARCH_QWEN2 = 1, /* rope on halves (NEOX), q/k/v biases */
} wisp_arch;

/* Hyper-parameters read from `<arch>.*` keys. */
typedef struct wisp_model_info {
    wisp_arch arch;
    uint32_t n_vocab;
    uint32_t n_ctx_train;  /* tokens */
    uint32_t n_embd;       /* width */
    uint32_t n_layer;
    uint32_t n_head;
    uint32_t n_head_kv;    /* < n_head for grouped-query attention */
    uint32_t n_ff;         /* SwiGLU hidden width */
    uint32_t head_dim;     /* n_embd / n_head unless the file says otherwise */
    float rope_theta;
    float norm_eps;        /* RMSNorm epsilon */
    bool tied_output;      /* output matrix is token_embd */
    uint64_t n_params;     /* elements over all weight tensors */
    uint64_t weight_bytes; /* bytes over all weight tensors */
    const char *name;      /* general.name or "" ; owned by the model */
} wisp_model_info;

typedef struct wisp_model wisp_model;
typedef struct wisp_tokenizer wisp_tokenizer;

/*
 * Loads a llama or qwen2 model (weights and tokenizer) from a GGUF file in memory. Weights are
 * borrowed from the buffer, which must outlive the model. Fails with WISP_ERR_BAD_MODEL for a
 * malformed file, WISP_ERR_UNSUPPORTED for an architecture or tensor type wisp does not run, and
 * names the missing key or the tensor whose shape or type is wrong.
 */
wisp_model *wisp_model_load(const void *data, size_t size, wisp_error *err);
void wisp_model_free(wisp_model *self);
const wisp_model_info *wisp_model_get_info(const wisp_model *self); /* owned by the model */
const wisp_tokenizer *wisp_model_tokenizer(const wisp_model *self); /* owned by the model */
const wisp_gguf *wisp_model_gguf(const wisp_model *self);           /* owned by the model */

/* ============================================================================================== */
/* 4. Tokenizer                                                                                   */
/* ============================================================================================== */

/* Special tokens the engine looks up; WISP_NO_TOKEN when the vocabulary has none. */
#define WISP_NO_TOKEN (-1)
typedef enum wisp_special {
    WISP_SPECIAL_BOS = 0,
    WISP_SPECIAL_EOS,
    WISP_SPECIAL_EOT,      /* end of turn / end of text, when distinct from EOS */
    WISP_SPECIAL_PAD,
    WISP_SPECIAL_FIM_PRE,  /* prefix */
    WISP_SPECIAL_FIM_SUF,  /* suffix */
    WISP_SPECIAL_FIM_MID,  /* middle */
    WISP_SPECIAL_FIM_PAD,
    WISP_SPECIAL_FIM_REP,  /* repository name */
    WISP_SPECIAL_FIM_SEP,  /* file separator */
    WISP_SPECIAL_COUNT
} wisp_special;

/*
 * Builds a tokenizer from `tokenizer.ggml.*` keys: `model` = "gpt2" (byte-level BPE, with the
 * pre-tokenizer named by `tokenizer.ggml.pre`: gpt-2, llama3/llama-bpe, qwen2, starcoder,
 * deepseek-coder, ...) or "llama" (SentencePiece). FIM ids come from
 * `tokenizer.ggml.fim_*_token_id` or, in older files, from well-known token texts. Strings are
 * copied: the gguf may be freed afterwards. NULL + WISP_ERR_TOKENIZER on inconsistent data.
 */
wisp_tokenizer *wisp_tokenizer_load(const wisp_gguf *gguf, wisp_error *err);
void wisp_tokenizer_free(wisp_tokenizer *self);

uint32_t wisp_tokenizer_n_vocab(const wisp_tokenizer *self);
int32_t wisp_tokenizer_special(const wisp_tokenizer *self, wisp_special which);
/* True for control/special tokens that must never appear in generated text (EOS, FIM, ...). */
bool wisp_tokenizer_is_control(const wisp_tokenizer *self, int32_t id);

/*
 * Tokenizes `len` bytes of UTF-8 `text` (invalid UTF-8 is tolerated: each bad byte becomes its
 * byte token). With `parse_special`, texts of control/user-defined (and the unknown) tokens in
 * `text` map to their ids, leftmost then longest first; otherwise they are tokenized as plain
 * text. No BOS is added. Thread-safe: the tokenizer is read-only. Writes at most `cap` ids to
 * `out` and returns the total number of ids the text needs (which may be > cap: call again with a
 * larger buffer), or -1 with `err` filled.
 */
int64_t wisp_tokenize(const wisp_tokenizer *self, const char *text, size_t len, bool parse_special,
                      int32_t *out, size_t cap, wisp_error *err);

/* The bytes a token stands for when detokenized (byte-level decoding already applied; for
 * SentencePiece, U+2581 becomes a space). Borrowed from the tokenizer. Control tokens give their
 * text. Returns an empty string for an out-of-range id. */
wisp_str wisp_token_bytes(const wisp_tokenizer *self, int32_t id);
/* The raw vocabulary entry (as stored in the GGUF), for display. */
wisp_str wisp_token_text(const wisp_tokenizer *self, int32_t id);

/* ============================================================================================== */
/* 5. Inference context                                                                           */
/* ============================================================================================== */

typedef struct wisp_ctx_params {
    uint32_t n_ctx;      /* KV cache size in tokens; 0 = min(model's n_ctx_train, 2048) */
    uint32_t n_batch;    /* prompt tokens processed per matrix-matrix pass; 0 = 64 */
    bool kv_f16;         /* store keys/values as f16: half the cache memory; logits within 5e-3
                            relative of PyTorch's on the reference models (5e-4 on the trained
                            one) where the default f32 cache is within 1e-4 */
} wisp_ctx_params;

typedef struct wisp_ctx wisp_ctx;

/* Allocates the KV cache and all scratch once; the per-token path allocates nothing. The model
 * must outlive the context. */
wisp_ctx *wisp_ctx_new(const wisp_model *model, const wisp_ctx_params *params, wisp_error *err);
void wisp_ctx_free(wisp_ctx *self);
uint32_t wisp_ctx_n_ctx(const wisp_ctx *self);

/*
 * Makes the cache hold exactly `tokens`: keeps the longest common prefix with what the cache held,
 * drops the rest and computes only the new tokens (a request that adds 3 tokens computes 3;
 * an identical request recomputes the last one to refresh its logits). Afterwards
 * wisp_ctx_logits gives the next-token logits after the last token. Returns WISP_OK or an error
 * (WISP_ERR_CONTEXT_FULL, WISP_ERR_RANGE for a bad id). `n_reused` (optional) receives the number
 * of tokens kept from the cache.
 */
wisp_status wisp_ctx_eval(wisp_ctx *self, const int32_t *tokens, size_t n_tokens, size_t *n_reused,
                          wisp_error *err);
/*
 * Evaluates `tokens` from an empty cache (nothing is reused) and writes the next-token logits
 * after every position to `logits` (n_tokens x n_vocab floats, caller-owned), for perplexity and
 * reference checks. Afterwards the cache holds `tokens`, as after wisp_ctx_eval. Same errors.
 */
wisp_status wisp_ctx_eval_all(wisp_ctx *self, const int32_t *tokens, size_t n_tokens, float *logits,
                              wisp_error *err);
/* Logits after the last evaluated token, n_vocab floats, owned by the context, valid until the
 * next call that changes the context; NULL when there are none (nothing evaluated yet, or a
 * generate call ran out of time during the prompt). */
const float *wisp_ctx_logits(const wisp_ctx *self);
/* The tokens the cache holds now (owned by the context). */
const int32_t *wisp_ctx_tokens(const wisp_ctx *self, size_t *n_tokens);

typedef struct wisp_sampling {
    float temperature;   /* <= 0: greedy */
    uint32_t top_k;      /* 0 = off */
    float top_p;         /* >= 1 or <= 0: off */
    uint64_t seed;
} wisp_sampling;

typedef enum wisp_stop_reason {
    WISP_STOP_NONE = 0,
    WISP_STOP_TOKEN,       /* EOS/EOT/one of the stop ids was sampled */
    WISP_STOP_STRING,      /* a stop string appeared; it is cut from the text */
    WISP_STOP_MAX_TOKENS,
    WISP_STOP_TIME,        /* the wall-clock budget ran out */
    WISP_STOP_CALLBACK,    /* on_token asked to stop */
    WISP_STOP_CONTEXT,     /* the context window is full */
} wisp_stop_reason;

/* Called after each generated token with the text so far; return false to stop. */
typedef bool (*wisp_token_cb)(void *user, int32_t token, const char *text, size_t text_len);

typedef struct wisp_gen_params {
    wisp_sampling sampling;
    uint32_t max_tokens;          /* 0 = until a stop rule or the context is full */
    double time_budget_ms;        /* 0 = none; checked after every token, prefill included */
    const int32_t *stop_tokens;   /* extra stop ids besides EOS/EOT; may be NULL */
    size_t n_stop_tokens;
    const char *const *stop_strings; /* NUL-terminated; may be NULL */
    size_t n_stop_strings;
    wisp_token_cb on_token;       /* may be NULL */
    void *user;
    /* Token healing: bytes the caller cut off the end of the prompt (usually the bytes of its last
     * text token, so that a cursor inside a word does not force an odd token boundary). The first
     * generated tokens are restricted to ones consistent with these bytes, and the bytes are not
     * part of the result's text (nor of what on_token sees). NULL/0 = off. */
    const char *heal;
    size_t heal_len;
    /* When true, end tokens (EOS, EOT, stop_tokens) are masked until the answer holds at least one
     * byte: for callers to whom an empty answer is worthless (a completion that was asked for). */
    bool non_empty;
    /* When not NULL, receives the log-probability of each generated token (as sum_logprob):
     * room for max_tokens entries (max_tokens must then be > 0). */
    float *logprobs;
} wisp_gen_params;

typedef struct wisp_gen_result {
    const char *text;        /* generated bytes, NUL-terminated, owned by the context, valid until
                                the next generate on it */
    size_t text_len;
    const int32_t *tokens;   /* generated ids (a stop token is not included), owned by the
                                context */
    size_t n_tokens;
    size_t n_prompt;         /* prompt tokens */
    size_t n_reused;         /* of which came from the cache */
    wisp_stop_reason stop;
    double prefill_ms;
    double decode_ms;
    double sum_logprob;      /* natural log-probability of the generated tokens under the model
                                (temperature 1, after the healing/non-empty masks), summed */
} wisp_gen_result;

/*
 * Evaluates `prompt` (reusing the cache as wisp_ctx_eval does) and generates under the params'
 * budgets. Control tokens never reach the text. The time budget is checked after every prefill
 * batch and every token: running out is not an error (WISP_OK, stop = WISP_STOP_TIME) and the
 * cache keeps what was computed, so the next call reuses it. `on_token` receives the text so far
 * minus any tail that could still become a stop string. Afterwards the cache holds the prompt and
 * the generated tokens (the last one sampled may be missing: it is only evaluated when another
 * token is wanted). Errors as wisp_ctx_eval.
 */
wisp_status wisp_ctx_generate(wisp_ctx *self, const int32_t *prompt, size_t n_prompt,
                              const wisp_gen_params *params, wisp_gen_result *out, wisp_error *err);

/* Milliseconds from a monotonic clock; the engine's only clock. */
double wisp_now_ms(void);

/* ============================================================================================== */
/* 6. Quantization                                                                                */
/* ============================================================================================== */

/*
 * Writes a copy of the GGUF file `in` in which every 2-D weight matrix (not norms, not biases)
 * is converted to `type` (WISP_DTYPE_Q8_0, WISP_DTYPE_Q4_0, WISP_DTYPE_F16 or WISP_DTYPE_F32);
 * rows whose width is not a multiple of the block size stay as they are. Sources are F32, F16 or
 * BF16; 1-D tensors become F32. Tensors already quantized are kept as they are for a quantized
 * `type` (never rounded twice) and dequantized for F32/F16 (so F32 undoes a quantization; the
 * result then carries exactly the quantized values). token_embd.weight
 * and output.weight are converted like any other matrix (llama.cpp loads such files). The
 * metadata is copied with general.file_type set (llama.cpp's numbers: 0 f32, 1 f16, 2 q4_0,
 * 7 q8_0) and general.alignment dropped: the output is GGUF v3 with 32-byte alignment, tensors in
 * the input's order. `out_size` receives the size; the returned buffer is owned by the caller and
 * freed with free(). NULL + err on failure (WISP_ERR_INVALID_ARG for another `type`, the reader's
 * errors for a bad input, WISP_ERR_NO_MEMORY). Thread-safe: touches nothing but its arguments.
 */
void *wisp_quantize_gguf(const void *in, size_t in_size, wisp_dtype type, size_t *out_size,
                         wisp_error *err);

/* ============================================================================================== */
/* 7. Languages and documents                                                                     */
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
/* True when the tree holds ERROR or MISSING nodes (tree-sitter recovered from a syntax error). */
bool wisp_doc_has_error(const wisp_doc *self);
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
/* 8. Completion                                                                                  */
/* ============================================================================================== */
/*
 * An engine bundles what one editor worker needs: the model (weights borrowed from the caller's
 * buffer), one inference context whose KV cache survives between requests, and a set of open
 * documents (section 7). wisp_complete runs the whole pipeline at a cursor: context extraction,
 * FIM prompt (suffix-first, stable parts first, so typing only appends tokens), prefill with
 * cache reuse, decoding under token/line/time budgets, and syntax-aware trimming.
 */
typedef struct wisp_engine wisp_engine;

typedef struct wisp_engine_params {
    uint32_t n_ctx;   /* KV cache tokens; 0 = min(model's n_ctx_train, 2048) */
    uint32_t n_batch; /* prompt tokens per matrix pass; 0 = the context's default */
} wisp_engine_params;

/*
 * Loads the model from `size` bytes at `model_data` (borrowed: the buffer must outlive the
 * engine), allocates the context and an empty document set. `params` may be NULL (defaults).
 * Fails (NULL + err) like wisp_model_load, and with WISP_ERR_UNSUPPORTED when the vocabulary has
 * no fill-in-the-middle tokens (prefix, suffix, middle). Free with wisp_engine_free, which also
 * closes every document of the engine.
 */
wisp_engine *wisp_engine_new(const void *model_data, size_t size, const wisp_engine_params *params,
                             wisp_error *err);
void wisp_engine_free(wisp_engine *self);
/* The engine's documents: open, edit and close them with the section 7 calls. Owned by the
 * engine. */
wisp_docs *wisp_engine_docs(wisp_engine *self);
const wisp_model *wisp_engine_model(const wisp_engine *self); /* owned by the engine */

/* Context sources and post-processing steps, as bit flags so the ablation can switch each off. */
typedef enum wisp_source {
    WISP_SOURCE_PATH = 1u << 0,   /* a first line naming the file (`<|file_sep|>src/x.py`) */
    WISP_SOURCE_SCOPES = 1u << 1, /* trim the prefix at scope boundaries, keep enclosing headers */
    WISP_SOURCE_DEFS = 1u << 2,   /* definitions of nearby names, as a commented block */
    WISP_SOURCE_TRIM = 1u << 3,   /* syntax-aware cutting of the answer (off: raw stop rules) */
    WISP_SOURCE_HEAL = 1u << 5,   /* token healing: the prompt ends one text token early and the
                                     answer must re-spell it (a cursor inside a word) */
    WISP_SOURCE_REPEAT = 1u << 6, /* with TRIM: a multi-line answer stops before a line that repeats
                                     an earlier one of it (a small model's loop), also while
                                     decoding (trim.h, trim_input.repeat) */
    WISP_SOURCE_ALL = 0xFu | (1u << 5) | (1u << 6),
    /* Off in WISP_SOURCE_ALL (it cost ES on the dev set): with REPEAT, also stop before a line equal
     * to one of the 3 lines right before the cursor. */
    WISP_SOURCE_REPEAT_BEFORE = 1u << 7,
    /* Not a source but a layout choice, off in WISP_SOURCE_ALL: put the definitions block at the
     * top of the prefix (the layout train/FORMAT.md suggests) instead of before the suffix (where
     * it survives in the KV cache while the cursor moves). */
    WISP_SOURCE_DEFS_IN_PREFIX = 1u << 4,
} wisp_source;

/* Called between tokens; return true to abandon the request (WISP_ERR_CANCELLED). */
typedef bool (*wisp_should_stop_cb)(void *user);

typedef struct wisp_complete_params {
    uint32_t max_tokens;     /* generated tokens per candidate; 0 = by shape (48 line, 64 args, 160 block) */
    uint32_t max_lines;      /* lines of a multi-line answer; 0 = by shape (1 line, 8 args, 12 block) */
    double time_budget_ms;   /* wall clock for the whole call, 0 = none; a late answer is cut,
                                not dropped */
    uint32_t n_candidates;   /* 1..WISP_MAX_CANDIDATES; 0 = 1. The first is greedy. */
    float temperature;       /* sampling temperature for candidates after the first (0 = 0.7) */
    uint64_t seed;
    uint32_t prompt_tokens;  /* prompt budget in tokens; 0 = 512 (never above n_ctx - max_tokens) */
    uint32_t sources;        /* wisp_source flags; 0 = the plain prompt, no trimming. Start from
                                wisp_complete_default_params(), which sets WISP_SOURCE_ALL */
    wisp_lang lang;          /* comment syntax and trimming rules; WISP_LANG_NONE = the document's */
    wisp_should_stop_cb should_stop; /* may be NULL */
    void *user;
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
#endif /* WISP_H */
