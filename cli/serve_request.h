/*
 * wisp serve's request handling without sockets or threads: the JSON body of POST /infill or
 * POST /v1/completions to a checked request (or a 400 with its message), the request's language,
 * its document set (prefix + suffix with the cursor between, input_extra beside it), the plain
 * FIM prompt of a request without a language, and the JSON text of an answer. cmd_serve.c puts
 * HTTP, the worker pool and generation around it; tests/fuzz/fuzz_serve.c drives it directly.
 */
#ifndef WISP_SERVE_REQUEST_H
#define WISP_SERVE_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "wisp_grammar.h"

#define SERVE_MAX_STOP 16   /* stop strings per request */
#define SERVE_MAX_EXTRA 64  /* input_extra chunks per request */

/* What one completion request asks for, whichever endpoint it came through. Strings point into
 * the parsed JSON (serve_request_parse's *root), which must outlive the request. */
typedef struct serve_req {
    const char *prefix, *suffix, *filename, *language;
    size_t prefix_len, suffix_len;
    const char *extra_name[SERVE_MAX_EXTRA], *extra_text[SERVE_MAX_EXTRA];
    size_t extra_len[SERVE_MAX_EXTRA];
    size_t n_extra;
    long long n_predict;    /* -1 = not given */
    double temperature, top_p;
    long long top_k, seed;
    double time_ms;         /* 0 = the server's cap */
    const char *stop[SERVE_MAX_STOP];
    size_t n_stop;
} serve_req;

/*
 * Parses `len` bytes of `body` for POST /infill (`infill`) or POST /v1/completions. On success
 * returns 200 with *root the parsed JSON (the caller json_decref's it after the last use of *q);
 * else returns 400 with the reason in msg (malformed JSON with line and column, not an object,
 * duplicate keys, a missing or mistyped field, unsupported options) and *root NULL.
 */
unsigned serve_request_parse(const char *body, size_t len, bool infill, json_t **root, serve_req *q, char *msg,
                             size_t cap);

/* The request's language: "language", else "filename"'s extension, else the first input_extra
 * chunk with a known extension; WISP_LANG_NONE when none says. */
wisp_lang serve_request_lang(const serve_req *q);

/* Opens the request's documents in `docs` (an engine's, empty): prefix + suffix as `filename`
 * (or untitled.EXT) in `lang`, and every input_extra chunk with a known extension beside it (best
 * effort). Returns the main document, or NULL + err. The caller closes them all. */
wisp_doc *serve_request_open(wisp_docs *docs, const serve_req *q, wisp_lang lang, wisp_error *err);

/*
 * The plain FIM prompt (train/FORMAT.md's SPM layout) for a context of `n_ctx` tokens and a prompt
 * budget: input_extra chunks as <|file_sep|>NAME documents first (newest kept), a path line when
 * `filename` is given, the suffix's start and the prefix's end within the budget. Sets *ids
 * (malloc'd, caller frees), *n_ids, *max_tokens (what the answer may take: n_predict or 128, at
 * most half the context) and *truncated (text left out). The prompt plus *max_tokens fit n_ctx.
 */
wisp_status serve_request_fim_prompt(const wisp_tokenizer *tok, const serve_req *q, size_t n_ctx, size_t budget,
                                     int32_t **ids, size_t *n_ids, size_t *max_tokens, bool *truncated,
                                     wisp_error *err);

/* The HTTP status for an engine error on a request: 400 when the request's content caused it, else
 * 500 (499, client gone, is the caller's). */
unsigned serve_status_of(wisp_status st);

/* A JSON string of `n` bytes, bad UTF-8 bytes replaced by U+FFFD (jansson takes only UTF-8). */
json_t *serve_jstr(const char *s, size_t n);

#endif
