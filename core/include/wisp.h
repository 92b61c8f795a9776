/*
 * wisp.h — the public header of core/, the wisp engine (libwisp_core). Read it as the manual.
 *
 * wisp completes code at a cursor with a small GGUF code model. The engine is C11 with no I/O of
 * its own: the caller hands it bytes (model files, documents) and gets bytes back. It never
 * exits, never prints, never touches the network; everything it cannot do comes back as a
 * wisp_error (code + message naming the offending thing). Code completion on top of it
 * (languages, documents, context, prompt, trimming) is grammar/'s library, whose header
 * wisp_grammar.h includes this one.
 *
 * Sections:
 *   1. Errors
 *   2. GGUF files           wisp_gguf_*      (read-only view over a caller-owned buffer)
 *   3. Models               wisp_model_*     (llama / qwen2 weights borrowed from the buffer)
 *   4. Tokenizer            wisp_tokenizer_* (byte-level BPE and SentencePiece, from GGUF keys)
 *   5. Inference context    wisp_ctx_*       (KV cache with prefix reuse, sampling, budgets)
 *   6. Writing GGUF files   wisp_quantize_gguf (F32/F16 -> Q8_0/Q4_0, our own quantizer),
 *                           wisp_gguf_reorder (tensor data in the order a download needs it)
 *
 * The engine alone (errors unchecked): the model's bytes outlive the model, which outlives its
 * contexts (the whole chain, with documents and completion: wisp_grammar.h).
 *
 *     wisp_error err;
 *     wisp_model *m = wisp_model_load(bytes, size, &err);        // borrows bytes
 *     wisp_ctx *ctx = wisp_ctx_new(m, NULL, &err);                // borrows m
 *     int32_t ids[512];
 *     int64_t n = wisp_tokenize(wisp_model_tokenizer(m), "def f(", 6, false, ids, 512, &err);
 *     wisp_gen_params gp = {.max_tokens = 32};
 *     wisp_gen_result r;
 *     wisp_ctx_generate(ctx, ids, (size_t)n, &gp, &r, &err);     // r.text: owned by ctx
 *     wisp_ctx_free(ctx);
 *     wisp_model_free(m);
 *     free(bytes);
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
    WISP_ERR_LOADING,      /* the model is still arriving (wisp_model_load_partial): what the call
                              needs lies past the bytes available so far; retry when more came */
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
    uint32_t exit_layers;  /* early exit: the model was trained to answer after this many blocks
                              (then output_norm and the head, as after the last block); from
                              `wisp.early_exit.block_count`, 0 when the file has none */
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

/*
 * Progressive loading: a model over a file that is still arriving. `data` is the whole file's
 * buffer (`size` bytes, borrowed as for wisp_model_load), of which the first `n_avail` hold the
 * file's bytes so far; the rest is written later, in order, without moving the buffer. The
 * header, metadata and tensor table must have arrived (else NULL + WISP_ERR_LOADING: call again
 * with more); every shape, type and offset is checked against `size` as wisp_model_load does
 * (a hostile file fails the same way), and no byte at or past n_avail is ever read.
 * A block is ready once its tensors have arrived and the token embedding, output_norm and the
 * output head have too (wisp_model_layers_ready). A context on a partial model runs at the
 * partial depth: with a trained exit (wisp_model_info.exit_layers), the exit once that many
 * blocks are ready and nothing before (the blocks before an exit were never trained to answer;
 * a context's depth set below the exit runs once its own blocks are in); without one, every
 * ready block. As soon as every block is ready it runs the full model, without reloading (the
 * same model and contexts; a context's depth setting, wisp_ctx_set_depth, still applies on
 * top). While the partial depth is 0 (before the embedding, norm and head, or with an exit
 * before its blocks), evaluation fails with WISP_ERR_LOADING. A file laid out by wisp_gguf_reorder is ready part by
 * part; in another order a block may wait for the end of the file.
 */
wisp_model *wisp_model_load_partial(const void *data, size_t size, size_t n_avail, wisp_error *err);
/* The first `n_avail` bytes of the buffer now hold the file's (never fewer than before, at most
 * `size`): converts what arrived and updates the ready blocks. WISP_ERR_INVALID_ARG for a NULL
 * model or an n_avail that shrinks or passes `size`. Not while another thread uses the model or
 * one of its contexts. */
wisp_status wisp_model_set_available(wisp_model *self, size_t n_avail, wisp_error *err);
/* Leading blocks ready to run (0 while the embedding, output_norm or head are missing); n_layer
 * when the model is complete. */
uint32_t wisp_model_layers_ready(const wisp_model *self);
/* True once every tensor has arrived (always, for wisp_model_load). */
bool wisp_model_is_complete(const wisp_model *self);
/* Bytes from the start of the file that must have arrived for the first `n_layers` blocks and
 * the head to be ready (n_layers is capped at n_layer; 0 asks for the head alone). */
size_t wisp_model_bytes_needed(const wisp_model *self, uint32_t n_layers);
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

/* Length (1..4) of the well-formed UTF-8 sequence at s[0..n), or 0 when none starts there (a
 * stray or bad byte, a short sequence, an overlong form, a surrogate, past U+10FFFF; n == 0). The
 * engine's one UTF-8 validator: the tokenizer's and the positions' rule. */
size_t wisp_utf8_len(const char *s, size_t n);

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
 * Early exit: run only the first `n_layers` blocks, then output_norm and the head as after the
 * last one (0 = every block, the default). Meant for models trained with an exit
 * (wisp_model_info.exit_layers); any depth runs, but an untrained exit answers poorly. The cache
 * remembers how far each layer's keys and values are filled: positions computed at a smaller
 * depth lack the deeper layers' keys and values, so a later call at a greater depth recomputes
 * them (its reusable prefix ends where the deeper layers' does); going shallower reuses all.
 * WISP_ERR_RANGE when n_layers > n_layer. On a partial model the depth is also capped by what has
 * arrived (wisp_model_load_partial).
 */
wisp_status wisp_ctx_set_depth(wisp_ctx *self, uint32_t n_layers, wisp_error *err);
/* Blocks the next evaluation runs: the depth setting, capped by a partial model's ready blocks
 * and its exit (wisp_model_load_partial); 0 while the model cannot answer yet. */
uint32_t wisp_ctx_depth(const wisp_ctx *self);

/* Longest draft of self-speculative decoding. The check of a draft of D tokens is one batch of
 * D + 1 tokens; up to 5, the kernels add every product in the order a single token's step does
 * (and the check's attention runs token by token), so its logits equal plain decoding's bit for
 * bit. */
#define WISP_SPEC_MAX_DRAFT 4

/*
 * Self-speculative decoding for greedy generation (temperature <= 0): up to `n_draft` tokens
 * (1..WISP_SPEC_MAX_DRAFT; 0 = off, the default) are drafted one by one by the first
 * `draft_depth` blocks (0 = the model's exit_layers), then checked by the full model (the
 * context's depth) in one batch. The longest run the full model agrees with is kept, plus the
 * full model's own next token, and the cache forgets the rest. The full model's logits are the
 * ones plain decoding computes, and every rule (masks, healing, stop tokens and strings,
 * max_tokens, the callback) applies to them exactly as in plain decoding: the tokens and text
 * are plain greedy decoding's. What changes is only the time: faster when the draft is often
 * right and a batch of tokens costs little more than one (bench/RESULTS.md, "Self-speculative";
 * slower with an untrained exit). The time budget is checked after each drafted token and each
 * check; a time stop while drafting leaves the last token taken to be recomputed by the next
 * call (wisp_ctx_logits is NULL then). Sampled generation, and a draft not shallower than the
 * context's depth (a partial model), decode plainly. WISP_ERR_RANGE for n_draft > WISP_SPEC_MAX_DRAFT or a draft depth not
 * below n_layer; WISP_ERR_INVALID_ARG for draft_depth 0 on a model without an exit.
 */
wisp_status wisp_ctx_set_speculative(wisp_ctx *self, uint32_t n_draft, uint32_t draft_depth,
                                     wisp_error *err);

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
/* As wisp_ctx_eval_all, but `tokens` follow what the cache holds (nothing is recomputed): for
 * scoring a long text one batch of logits at a time. WISP_ERR_CONTEXT_FULL when they do not fit
 * after it; other errors as wisp_ctx_eval_all. */
wisp_status wisp_ctx_eval_append(wisp_ctx *self, const int32_t *tokens, size_t n_tokens, float *logits,
                                 wisp_error *err);
/* Prompt tokens per matrix-matrix pass (wisp_ctx_params.n_batch, resolved). */
uint32_t wisp_ctx_n_batch(const wisp_ctx *self);
/* Logits after the last evaluated token, n_vocab floats, owned by the context, valid until the
 * next call that changes the context; NULL when there are none (nothing evaluated yet, or a
 * generate call ran out of time during the prompt or, self-speculative, while drafting). */
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
    /* When true, end tokens (EOS, EOT, stop_tokens) and other control tokens are masked until the
     * answer holds at least one byte: for callers to whom an empty answer is worthless (a
     * completion that was asked for). */
    bool non_empty;
    /* With non_empty: bytes the answer may not begin with either (NUL-terminated; NULL = none),
     * for an answer that such a byte would end at once, e.g. the closer of a call's arguments. */
    const char *not_first;
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
    size_t n_drafted;        /* self-speculative decoding: tokens the draft proposed and the full
                                model checked */
    size_t n_accepted;       /* of which the full model agreed with (n_accepted / n_drafted is
                                the acceptance rate); both 0 without wisp_ctx_set_speculative */
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
/* 6. Writing GGUF files                                                                          */
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

/*
 * Writes a copy of the GGUF file `in` whose tensor data comes in the order a progressive download
 * needs it (wisp_model_load_partial): token_embd.weight, output_norm.weight, output.weight (when
 * the head is untied), any tensor that belongs to no block, then blk.0.*, blk.1.*, ... (a
 * block's tensors in their table order). The tensor table lists them in that order too (llama.cpp
 * reads a tensor's offset as the aligned end of the previous entry's); each entry is the input's
 * but for its offset. Everything else is the input's: header and metadata byte for byte, the
 * alignment, every tensor's bytes; padding is zeros and the file ends at its last tensor's
 * aligned end. Reordering a reordered file gives it back unchanged. `out_size` receives the
 * size; the buffer is owned by the caller and freed with free(). NULL + err on failure (the
 * reader's errors for a bad input, WISP_ERR_NO_MEMORY). Thread-safe: touches nothing but its
 * arguments. `wisp gguf-order` writes it with the manifest of its parts.
 */
void *wisp_gguf_reorder(const void *in, size_t in_size, size_t *out_size, wisp_error *err);

#ifdef __cplusplus
}
#endif
#endif /* WISP_H */
