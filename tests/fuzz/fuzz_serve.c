/*
 * libFuzzer target for wisp serve's request handling, without sockets (cli/serve_request.c):
 * bit 0 of the first byte picks the endpoint (POST /infill or POST /v1/completions), bit 1 the
 * vocabulary of the plain FIM prompt, the rest the prompt budget; the other bytes are the body.
 * A body that parses is taken as far as the model: its language decides the path, and either its
 * documents are opened in an engine (fixtures/reference/qwen2.gguf) and the pipeline's prompt is
 * assembled at the cursor (wisp_engine_prompt_text: context extraction, prompt, tokenization), or
 * the plain FIM prompt is built (with that model's vocabulary, which has no file separator, or
 * fixtures/gguf/tiny-bpe.gguf's, which has one). Checked:
 *   - a 400 always comes with a message, a 200 with a request whose counts are in range, whose
 *     strings are the JSON's, with no negative n_predict / top_k, and a known language if named;
 *   - the document is prefix + suffix and the cursor sits between them; the prompt assembles (or,
 *     for text the parser gave up on, the refusal is WISP_ERR_UNSUPPORTED, which answers 400);
 *   - the plain FIM prompt has ids in the vocabulary, ends with <fim_middle>, and fits the context
 *     with its answer;
 *   - an answer's JSON text of any bytes (serve_jstr) is a valid JSON string.
 * Fixture: $WISP_FUZZ_MODEL or fixtures/reference/qwen2.gguf (run from the repository root).
 */
#include <stdio.h>

#include "fuzz_input.h"
#include "serve_request.h"

static void *bpe_bytes;
static wisp_engine *engine;
static const wisp_tokenizer *tok;  /* the engine's: FIM tokens, no file separator */
static wisp_tokenizer *bpe;        /* fixtures/gguf/tiny-bpe.gguf: FIM tokens and a file separator */


int LLVMFuzzerInitialize(int *argc, char ***argv) {
    engine = fuzz_engine("fuzz_serve", 512);
    size_t nb;
    wisp_error err;
    tok = wisp_model_tokenizer(wisp_engine_model(engine));
    bpe_bytes = fuzz_fixture("fuzz_serve", "fixtures/gguf/tiny-bpe.gguf", &nb);
    wisp_gguf *g = wisp_gguf_open(bpe_bytes, nb, &err);
    bpe = g ? wisp_tokenizer_load(g, &err) : NULL;
    wisp_gguf_free(g); /* the tokenizer keeps what it needs */
    if (!bpe) {
        fprintf(stderr, "fuzz_serve: tiny-bpe.gguf: %s\n", err.message);
        exit(1);
    }
    return 0;
}

/* serve_jstr of any bytes dumps to JSON that parses back to a string. */
static void check_jstr(const char *s, size_t n) {
    json_t *j = serve_jstr(s, n);
    FUZZ_CHECK(j && json_is_string(j) && json_string_length(j) >= n);
    char *text = json_dumps(j, JSON_ENCODE_ANY);
    FUZZ_CHECK(text);
    json_t *back = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    FUZZ_CHECK(back && json_equal(j, back));
    json_decref(back);
    free(text);
    json_decref(j);
}

static void check_pipeline(const serve_req *q, wisp_lang lang) {
    wisp_docs *docs = wisp_engine_docs(engine);
    wisp_error err;
    wisp_doc *doc = serve_request_open(docs, q, lang, &err);
    if (!doc) { /* only a language without grammar could refuse, and serve_request_lang names none */
        FUZZ_CHECK(!"the request's document did not open");
    }
    size_t len;
    const char *text = wisp_doc_text(doc, &len);
    FUZZ_CHECK(len == q->prefix_len + q->suffix_len && !memcmp(text, q->prefix, q->prefix_len) &&
               (!q->suffix_len || !memcmp(text + q->prefix_len, q->suffix, q->suffix_len)));
    wisp_complete_params p = wisp_complete_default_params();
    if (q->n_predict > 0) p.max_tokens = (uint32_t)q->n_predict;
    size_t pl = 0;
    const char *prompt = wisp_engine_prompt_text(engine, doc, q->prefix_len, &p, &pl, &err);
    if (wisp_doc_parse_gave_up(doc)) {
        FUZZ_CHECK(!prompt && err.code == WISP_ERR_UNSUPPORTED && serve_status_of(err.code) == 400);
    } else {
        if (!prompt) fprintf(stderr, "prompt: %s\n", err.message);
        FUZZ_CHECK(prompt && prompt[pl] == '\0');
    }
    while (wisp_docs_count(docs)) wisp_doc_close(wisp_docs_at(docs, 0));
}

static void check_fim(const wisp_tokenizer *t, const serve_req *q, size_t budget) {
    int32_t *ids = NULL;
    size_t n = 0, max_tokens = 0, n_ctx = 512;
    bool truncated = false;
    wisp_error err;
    wisp_status st = serve_request_fim_prompt(t, q, n_ctx, budget, &ids, &n, &max_tokens, &truncated, &err);
    FUZZ_CHECK(st == WISP_OK);
    uint32_t n_vocab = wisp_tokenizer_n_vocab(t);
    for (size_t i = 0; i < n; i++) FUZZ_CHECK(ids[i] >= 0 && (uint32_t)ids[i] < n_vocab);
    FUZZ_CHECK(n >= 3 && ids[n - 1] == wisp_tokenizer_special(t, WISP_SPECIAL_FIM_MID));
    FUZZ_CHECK(max_tokens >= 1 && n + max_tokens <= n_ctx);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    bool infill = !(data[0] & 1);
    const wisp_tokenizer *fim_tok = data[0] & 2 ? bpe : tok;
    size_t budget = 16 + (size_t)(data[0] >> 2) * 16;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    json_t *root = NULL;
    serve_req q;
    char msg[256] = "";
    unsigned status = serve_request_parse(body, len, infill, &root, &q, msg, sizeof msg);
    if (status != 200) {
        FUZZ_CHECK(status == 400 && msg[0] && !root);
        check_jstr(body, len);
        return 0;
    }
    FUZZ_CHECK(root && json_is_object(root) && q.prefix && q.n_extra <= SERVE_MAX_EXTRA && q.n_stop <= SERVE_MAX_STOP);
    FUZZ_CHECK(q.n_predict >= -1 && q.top_k >= 0 && q.time_ms >= 0);
    for (size_t i = 0; i < q.n_extra; i++) FUZZ_CHECK(q.extra_name[i] && q.extra_text[i]);
    for (size_t i = 0; i < q.n_stop; i++) FUZZ_CHECK(q.stop[i] && q.stop[i][0]);
    wisp_lang lang = serve_request_lang(&q);
    if (q.language && *q.language) FUZZ_CHECK(lang != WISP_LANG_NONE);
    if (lang != WISP_LANG_NONE) check_pipeline(&q, lang);
    else check_fim(fim_tok, &q, budget);
    check_jstr(q.prefix, q.prefix_len);
    json_decref(root);
    return 0;
}
