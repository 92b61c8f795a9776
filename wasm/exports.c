/*
 * The engine's surface for JavaScript (wasm/src/engine.ts reads it). Handles are the C pointers
 * themselves (32-bit in wasm32); a failing call returns 0 / a status and leaves its explanation in
 * one static wisp_error the JS reads with wisp_js_error(). Positions crossing this boundary are
 * the editor's (line + UTF-16 column, UTF-16 offsets); they are converted with the position
 * functions of wisp_grammar.h (section 1), the one place that does it, and never in JS.
 *
 * Not re-entrant: one engine call at a time, as the worker makes them.
 */
#include <assert.h>
#include <emscripten.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wisp_grammar.h"

/* What the JS reads after wisp_js_complete. The layout is read field by field from the heap by
 * engine.ts (RESULT_* offsets there): keep both in step. */
typedef struct js_item {
    const char *text;        /* NUL-terminated, owned by the engine until its next call */
    uint32_t text_len;       /* bytes */
    uint32_t start_off_u16;  /* replace [start, end) of the document */
    uint32_t start_line;
    uint32_t start_col_u16;
    uint32_t end_off_u16;
    uint32_t end_line;
    uint32_t end_col_u16;
    uint32_t n_tokens;
    float mean_logprob;      /* the model's mean log-probability per token: its confidence */
} js_item;

typedef struct js_result {
    uint32_t n_items;
    int32_t mode;
    uint32_t n_prompt;
    uint32_t n_reused;
    uint32_t n_generated;
    uint32_t n_drafted;   /* self-speculative decoding (wisp_js_set_speculative): tokens drafted */
    uint32_t n_accepted;  /* and of them accepted by the whole model; both 0 when it is off */
    uint32_t pad;
    double context_ms, prompt_ms, prefill_ms, decode_ms, trim_ms, total_ms;
    js_item items[WISP_MAX_CANDIDATES];
} js_result;

/* Every offset engine.ts reads (its RESULT_TIMINGS, RESULT_ITEMS, ITEM_BYTES and the u32 / f64
 * indexes in Engine.complete and Engine.engineError): a change here fails the build. */
static_assert(sizeof(js_item) == 40, "engine.ts reads js_item as 9 x u32 + 1 f32 (ITEM_BYTES)");
static_assert(offsetof(js_item, text) == 0 && offsetof(js_item, text_len) == 4 &&
                  offsetof(js_item, start_off_u16) == 8 && offsetof(js_item, start_line) == 12 &&
                  offsetof(js_item, start_col_u16) == 16 && offsetof(js_item, end_off_u16) == 20 &&
                  offsetof(js_item, end_line) == 24 && offsetof(js_item, end_col_u16) == 28,
              "engine.ts reads js_item's fields as u32 0..7");
static_assert(offsetof(js_item, mean_logprob) == 36 && sizeof(float) == 4,
              "engine.ts reads js_item's mean_logprob as f32 9 (ITEM_LOGPROB)");
static_assert(offsetof(js_result, n_items) == 0 && offsetof(js_result, mode) == 4 &&
                  offsetof(js_result, n_prompt) == 8 && offsetof(js_result, n_reused) == 12 &&
                  offsetof(js_result, n_generated) == 16 && offsetof(js_result, n_drafted) == 20 &&
                  offsetof(js_result, n_accepted) == 24,
              "engine.ts reads js_result's counts as u32 0..6");
static_assert(offsetof(js_result, context_ms) == 32 && offsetof(js_result, prompt_ms) == 40 &&
                  offsetof(js_result, prefill_ms) == 48 && offsetof(js_result, decode_ms) == 56 &&
                  offsetof(js_result, trim_ms) == 64 && offsetof(js_result, total_ms) == 72,
              "engine.ts reads the timings as f64 0..5 from 32 (RESULT_TIMINGS)");
static_assert(offsetof(js_result, items) == 80, "engine.ts reads the items at 80 (RESULT_ITEMS)");
static_assert(offsetof(wisp_error, code) == 0 && sizeof(wisp_status) == 4 && offsetof(wisp_error, message) == 4,
              "engine.ts reads wisp_js_error() as an i32 code, then the message at 4");

static wisp_error js_err;
static js_result js_res;

// Fills js_err for a language id wisp has no grammar for.
static int wisp__js_fail_language(const char *language_id) {
    js_err.code = WISP_ERR_LANGUAGE;
    snprintf(js_err.message, sizeof js_err.message, "no grammar for language '%s'", language_id);
    return WISP_ERR_LANGUAGE;
}

/* The engine's version string; lets the JS layer check it loaded the module it expects. The
 * version comes from the file VERSION (CMake defines WISP_VERSION). */
EMSCRIPTEN_KEEPALIVE const char *wisp_wasm_version(void) { return "wisp " WISP_VERSION; }

/* A short name for a status code (wisp_status_name). */
EMSCRIPTEN_KEEPALIVE const char *wisp_js_status_name(int code) { return wisp_status_name((wisp_status)code); }

/* The error of the last failing call; its address is stable. */
EMSCRIPTEN_KEEPALIVE wisp_error *wisp_js_error(void) { return &js_err; }

/* The results of the last successful wisp_js_complete; its address is stable. */
EMSCRIPTEN_KEEPALIVE js_result *wisp_js_result(void) { return &js_res; }

/* Loads the model from `size` bytes at `model` (malloc'd by the JS, which keeps it alive until
 * wisp_js_engine_free). 0 on failure. */
EMSCRIPTEN_KEEPALIVE wisp_engine *wisp_js_engine_new(const void *model, size_t size, uint32_t n_ctx) {
    wisp_engine_params params = {.n_ctx = n_ctx, .n_batch = 0};
    return wisp_engine_new(model, size, &params, &js_err);
}

EMSCRIPTEN_KEEPALIVE void wisp_js_engine_free(wisp_engine *engine) { wisp_engine_free(engine); }

/* ---- progressive loading (wisp_model_load_partial; the download and storage are the worker's) ----
 * The JS allocates the whole file's `size` bytes in the heap at once (the engine keeps pointers
 * into it: it must never move or shrink), writes the parts in file order as they arrive, and
 * reports how many leading bytes are in place. A file laid out by `wisp gguf-order` answers once
 * its first part (header, embedding, norm, head) and the first blocks are there; its manifest
 * says which byte count completes which block. */

/* An engine over a model of which the first `n_avail` of `size` bytes have arrived. 0 on
 * failure; WISP_ERR_LOADING (wisp_js_error) when the header and tensor table have not all
 * arrived yet: call again with more. */
EMSCRIPTEN_KEEPALIVE wisp_engine *wisp_js_engine_new_partial(const void *model, size_t size, size_t n_avail,
                                                             uint32_t n_ctx) {
    if (n_avail == 0) { /* 0 means "all" to the engine; here it is nothing yet */
        js_err.code = WISP_ERR_LOADING;
        snprintf(js_err.message, sizeof js_err.message, "model still loading: no bytes have arrived");
        return NULL;
    }
    wisp_engine_params params = {.n_ctx = n_ctx, .n_batch = 0, .n_avail = n_avail};
    return wisp_engine_new(model, size, &params, &js_err);
}

/* The first `n_avail` bytes of the engine's model buffer now hold the file (never fewer than
 * before). Completions run deeper as blocks become ready; documents and settings stay. Returns a
 * wisp_status. */
EMSCRIPTEN_KEEPALIVE int wisp_js_set_available(wisp_engine *engine, size_t n_avail) {
    return wisp_engine_set_available(engine, n_avail, &js_err);
}

/* Leading blocks ready (0 until the embedding, norm and head are); the model's block count once
 * complete. */
EMSCRIPTEN_KEEPALIVE uint32_t wisp_js_layers_ready(wisp_engine *engine) {
    return wisp_model_layers_ready(wisp_engine_model(engine));
}

/* The model's block count and its trained early exit (0 = none), for a status bar's "6 of 12". */
EMSCRIPTEN_KEEPALIVE uint32_t wisp_js_model_layers(wisp_engine *engine) {
    const wisp_model_info *info = wisp_model_get_info(wisp_engine_model(engine));
    return info ? info->n_layer : 0;
}

EMSCRIPTEN_KEEPALIVE uint32_t wisp_js_model_exit_layers(wisp_engine *engine) {
    const wisp_model_info *info = wisp_model_get_info(wisp_engine_model(engine));
    return info ? info->exit_layers : 0;
}

/* Bytes from the file's start that must have arrived for the first `n_layers` blocks and the head
 * to be ready (0 asks for the head alone). */
EMSCRIPTEN_KEEPALIVE size_t wisp_js_bytes_needed(wisp_engine *engine, uint32_t n_layers) {
    return wisp_model_bytes_needed(wisp_engine_model(engine), n_layers);
}

/* Blocks to run (wisp_ctx_set_depth; 0 = all); returns a wisp_status. */
EMSCRIPTEN_KEEPALIVE int wisp_js_set_depth(wisp_engine *engine, uint32_t n_layers) {
    return wisp_ctx_set_depth(wisp_engine_ctx(engine), n_layers, &js_err);
}

/* Blocks the next completion runs: the setting, capped while the model is still arriving. */
EMSCRIPTEN_KEEPALIVE uint32_t wisp_js_depth(wisp_engine *engine) { return wisp_ctx_depth(wisp_engine_ctx(engine)); }

/* Self-speculative greedy decoding (wisp_ctx_set_speculative): drafts of `n_draft` tokens (0 =
 * off) by the first `draft_depth` blocks (0 = the model's exit). Returns a wisp_status. */
EMSCRIPTEN_KEEPALIVE int wisp_js_set_speculative(wisp_engine *engine, uint32_t n_draft, uint32_t draft_depth) {
    return wisp_ctx_set_speculative(wisp_engine_ctx(engine), n_draft, draft_depth, &js_err);
}

/* general.name of the model ("" when the file has none); static or owned by the engine. */
EMSCRIPTEN_KEEPALIVE const char *wisp_js_model_name(wisp_engine *engine) {
    const wisp_model_info *info = wisp_model_get_info(wisp_engine_model(engine));
    return info && info->name ? info->name : "";
}

/* Opens a document of the engine. The language comes from the editor's language id, else from
 * the uri's extension. `text` is `len` bytes of UTF-8 (copied). 0 on failure. */
EMSCRIPTEN_KEEPALIVE wisp_doc *wisp_js_doc_open(wisp_engine *engine, const char *uri,
                                                const char *language_id, const char *text,
                                                size_t len) {
    wisp_lang lang = wisp_lang_from_id(language_id);
    if (lang == WISP_LANG_NONE) lang = wisp_lang_from_path(uri);
    if (lang == WISP_LANG_NONE) {
        js_err.code = WISP_ERR_LANGUAGE;
        snprintf(js_err.message, sizeof js_err.message,
                 "no grammar for language '%.64s' (%.120s): wisp completes python, javascript, typescript, tsx and c",
                 language_id, uri);
        return NULL;
    }
    return wisp_doc_open(wisp_engine_docs(engine), uri, lang, text, len, &js_err);
}

EMSCRIPTEN_KEEPALIVE void wisp_js_doc_close(wisp_doc *doc) { wisp_doc_close(doc); }

/* Applies one editor change: replace `len_u16` UTF-16 units at UTF-16 offset `off_u16` by `len`
 * bytes of UTF-8 `text`. Returns a wisp_status: WISP_ERR_RANGE for a range past the end or one
 * whose ends fall inside a character (between the halves of a surrogate pair, between the \r
 * and \n of a line end), which the editor's text cannot have meant the same way: the worker
 * reopens the document rather than edit somewhere else. */
EMSCRIPTEN_KEEPALIVE int wisp_js_doc_edit_u16(wisp_doc *doc, size_t off_u16, size_t len_u16,
                                              const char *text, size_t len) {
    wisp_pos start, end;
    if (off_u16 + len_u16 < off_u16) {
        js_err.code = WISP_ERR_RANGE;
        snprintf(js_err.message, sizeof js_err.message, "edit range overflows");
        return WISP_ERR_RANGE;
    }
    wisp_status st = wisp_doc_pos_at_u16(doc, off_u16, &start, &js_err);
    if (st != WISP_OK) return st;
    st = wisp_doc_pos_at_u16(doc, off_u16 + len_u16, &end, &js_err);
    if (st != WISP_OK) return st;
    if (start.off_u16 != off_u16 || end.off_u16 != off_u16 + len_u16) {
        js_err.code = WISP_ERR_RANGE;
        snprintf(js_err.message, sizeof js_err.message, "edit [%zu, %zu) splits a character of %s",
                 off_u16, off_u16 + len_u16, wisp_doc_uri(doc));
        return WISP_ERR_RANGE;
    }
    return wisp_doc_edit(doc, start.pos_u8, end.pos_u8, text, len, &js_err);
}

/* The document's text (its bytes, wisp_js_doc_text_len of them; owned by the document), for the
 * worker's sync check. */
EMSCRIPTEN_KEEPALIVE const char *wisp_js_doc_text(wisp_doc *doc) { return wisp_doc_text(doc, NULL); }
EMSCRIPTEN_KEEPALIVE uint32_t wisp_js_doc_text_len(wisp_doc *doc) {
    size_t len = 0;
    wisp_doc_text(doc, &len);
    return (uint32_t)len;
}

/* Bytes of the WebAssembly heap in use by malloc (the heap itself only ever grows): what a soak
 * test watches for leaks. */
EMSCRIPTEN_KEEPALIVE uint32_t wisp_js_heap_used(void) { return (uint32_t)mallinfo().uordblks; }

/* Replaces the whole text of a document. Returns a wisp_status. */
EMSCRIPTEN_KEEPALIVE int wisp_js_doc_set_text(wisp_doc *doc, const char *text, size_t len) {
    return wisp_doc_set_text(doc, text, len, &js_err);
}

/* Streaming: the first line of a block while wisp_js_complete still decodes (text, its length in
 * bytes, and the cursor in the editor's units: it is inserted there), handed to the module's
 * `wispPartial` (src/engine.ts) synchronously; the worker posts it at once. */
EM_JS(void, wisp_js_partial_out, (const char *text, uint32_t len, uint32_t off_u16, uint32_t line, uint32_t col_u16), {
    if (Module['wispPartial']) Module['wispPartial'](text, len, off_u16, line, col_u16);
});

/* wisp_complete_params.on_partial of wisp_js_complete; `user` is the cursor. */
static void wisp__js_partial(void *user, const char *text, size_t len) {
    const wisp_pos *at = user;
    wisp_js_partial_out(text, (uint32_t)len, (uint32_t)at->off_u16, (uint32_t)at->line, (uint32_t)at->col_u16);
}

/* Completes at 0-based `line`, UTF-16 column `col_u16`; on WISP_OK the results are in
 * wisp_js_result(), ranges converted back to the editor's units. `prompt_tokens`: the prompt
 * budget (0 = the engine's default); `speculative`: the document holds a suggestion applied for
 * the time of this call (wisp_complete_params.speculative); `partial`: stream the first line of a
 * block through wisp_js_partial_out (wisp_complete_params.on_partial). Returns a wisp_status. */
EMSCRIPTEN_KEEPALIVE int wisp_js_complete(wisp_engine *engine, wisp_doc *doc, uint32_t line,
                                          uint32_t col_u16, uint32_t max_lines, uint32_t max_tokens,
                                          double time_budget_ms, uint32_t n_candidates,
                                          uint32_t prompt_tokens, int speculative, int partial) {
    wisp_pos cur;
    wisp_status st = wisp_doc_pos_at_line_col(doc, line, col_u16, WISP_UNIT_U16, &cur, &js_err);
    if (st != WISP_OK) return st;
    wisp_complete_params params = wisp_complete_default_params();
    params.max_lines = max_lines;
    params.max_tokens = max_tokens;
    params.time_budget_ms = time_budget_ms;
    params.n_candidates = n_candidates;
    params.prompt_tokens = prompt_tokens;
    params.speculative = speculative != 0;
    if (partial) {
        params.on_partial = wisp__js_partial;
        params.user = &cur;
    }
    wisp_completion out;
    st = wisp_complete(engine, doc, cur.pos_u8, &params, &out, &js_err);
    if (st != WISP_OK) return st;
    memset(&js_res, 0, sizeof js_res);
    js_res.mode = out.mode;
    js_res.n_prompt = out.timings.n_prompt;
    js_res.n_reused = out.timings.n_reused;
    js_res.n_generated = out.timings.n_generated;
    js_res.n_drafted = out.timings.n_drafted;
    js_res.n_accepted = out.timings.n_accepted;
    js_res.context_ms = out.timings.context_ms;
    js_res.prompt_ms = out.timings.prompt_ms;
    js_res.prefill_ms = out.timings.prefill_ms;
    js_res.decode_ms = out.timings.decode_ms;
    js_res.trim_ms = out.timings.trim_ms;
    js_res.total_ms = out.timings.total_ms;
    size_t n = out.n_candidates < WISP_MAX_CANDIDATES ? out.n_candidates : WISP_MAX_CANDIDATES;
    for (size_t i = 0; i < n; i++) {
        const wisp_candidate *c = &out.candidates[i];
        wisp_pos a, b;
        if (wisp_doc_pos_at_u8(doc, c->start_u8, &a, &js_err) != WISP_OK) return js_err.code;
        if (wisp_doc_pos_at_u8(doc, c->end_u8, &b, &js_err) != WISP_OK) return js_err.code;
        js_item *it = &js_res.items[js_res.n_items++];
        it->text = c->text;
        it->text_len = (uint32_t)c->text_len;
        it->start_off_u16 = (uint32_t)a.off_u16;
        it->start_line = (uint32_t)a.line;
        it->start_col_u16 = (uint32_t)a.col_u16;
        it->end_off_u16 = (uint32_t)b.off_u16;
        it->end_line = (uint32_t)b.line;
        it->end_col_u16 = (uint32_t)b.col_u16;
        it->n_tokens = c->n_tokens;
        it->mean_logprob = c->mean_logprob;
    }
    return WISP_OK;
}

/* Prepares what the first completion in a language would otherwise pay for (the language's
 * tree-sitter queries are compiled on first use) by extracting a context from a scratch document.
 * Returns a wisp_status. */
EMSCRIPTEN_KEEPALIVE int wisp_js_warm(wisp_engine *engine, const char *language_id) {
    wisp_lang lang = wisp_lang_from_id(language_id);
    if (lang == WISP_LANG_NONE) lang = wisp_lang_from_name(language_id);
    if (lang == WISP_LANG_NONE) return wisp__js_fail_language(language_id);
    static const char text[] = "x\n";
    wisp_doc *doc = wisp_doc_open(wisp_engine_docs(engine), "wisp:warm", lang, text, sizeof text - 1,
                                  &js_err);
    if (!doc) return js_err.code;
    wisp_context *ctx = NULL;
    wisp_context_params params = {.this_doc_only = true};
    wisp_status st = wisp_context_extract(doc, 1, &params, &ctx, &js_err);
    wisp_context_free(ctx);
    wisp_doc_close(doc);
    return st;
}

/* The labelled prompt of the last completion; owned by the engine. */
EMSCRIPTEN_KEEPALIVE const char *wisp_js_last_prompt(wisp_engine *engine) {
    size_t len = 0;
    const char *p = wisp_engine_last_prompt(engine, &len);
    return p ? p : "";
}

EMSCRIPTEN_KEEPALIVE const char *wisp_js_mode_name(int mode) { return wisp_mode_name((wisp_mode)mode); }
