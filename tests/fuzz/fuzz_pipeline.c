/*
 * libFuzzer target for the completion pipeline without the model: wisp_complete (cursor checks,
 * context extraction, prompt assembly, heal, trim rules, candidates, the checking reparse, rank)
 * and wisp_engine_prompt_text at cursors chosen by the input, in documents the input writes and
 * edits between requests, with a second document open for definitions.
 *
 * The model is replaced by a deterministic token source: this file defines wisp_ctx_generate, so
 * the linker takes it instead of core/generate.c (nothing else lives in generate.o). The engine is
 * otherwise real: fixtures/reference/qwen2.gguf is loaded (its vocabulary has the FIM tokens), and
 * the "answer" the stub generates is text from the input, tokenized with that vocabulary and fed
 * token by token through the pipeline's on_token (so trimming's early stop, cancellation and the
 * budgets run as with a model). The stub checks what the pipeline hands the model: every id in
 * the vocabulary, exactly one of each FIM token with <fim_middle> last, a prompt that fits the
 * context. Checked on the answers: the status the cursor deserves (WISP_ERR_RANGE past the end or
 * inside a UTF-8 character, WISP_ERR_CANCELLED when the callback asked, WISP_ERR_UNSUPPORTED in
 * a document the parser gave up on), no candidate in mode
 * NONE, every candidate an insertion at the cursor, NUL-terminated, distinct, single-line for a
 * mid-line cursor, ranked by syntax errors; the streamed first line (on_partial) at most once,
 * never blank, never in mode NONE, for one line or after cancellation, and the start of a single
 * candidate's answer.
 * Fixture: $WISP_FUZZ_MODEL or fixtures/reference/qwen2.gguf (run from the repository root).
 */
#include <stdio.h>

#include "fuzz_input.h"

static wisp_engine *engine;
static const wisp_tokenizer *tok;
static int32_t fim_pre, fim_suf, fim_mid;

/* The answer the next generate call produces, set by the input. */
static struct {
    fuzz_buf text;          /* the answer's bytes */
    size_t stop_at_token;   /* emit a stop id after this many tokens (SIZE_MAX: never) */
    size_t time_out_at;     /* report WISP_STOP_TIME after this many tokens (SIZE_MAX: never) */
    unsigned calls;
} answer;

static char *gen_text;
static size_t gen_cap;
static int32_t gen_tokens[4096];

wisp_status wisp_ctx_generate(wisp_ctx *self, const int32_t *prompt, size_t n_prompt, const wisp_gen_params *p,
                              wisp_gen_result *out, wisp_error *err) {
    FUZZ_CHECK(self && prompt && p && out);
    /* what the pipeline sends the model */
    uint32_t n_vocab = wisp_tokenizer_n_vocab(tok);
    unsigned n_pre = 0, n_suf = 0, n_mid = 0;
    for (size_t i = 0; i < n_prompt; i++) {
        FUZZ_CHECK(prompt[i] >= 0 && (uint32_t)prompt[i] < n_vocab);
        n_pre += prompt[i] == fim_pre;
        n_suf += prompt[i] == fim_suf;
        n_mid += prompt[i] == fim_mid;
    }
    FUZZ_CHECK(n_prompt >= 3 && n_pre == 1 && n_suf == 1 && n_mid == 1 && prompt[n_prompt - 1] == fim_mid);
    FUZZ_CHECK(n_prompt + p->max_tokens <= wisp_ctx_n_ctx(self));
    FUZZ_CHECK(p->max_tokens > 0 && p->max_tokens <= sizeof gen_tokens / sizeof gen_tokens[0]);
    FUZZ_CHECK(!p->heal_len || p->heal);
    answer.calls++;

    /* the answer: the healed bytes re-spelled, then the input's text, as the vocabulary splits them */
    size_t base = p->heal_len, n_src = base + answer.text.len;
    char *src = malloc(n_src + 1);
    FUZZ_CHECK(src);
    if (base) memcpy(src, p->heal, base);
    if (answer.text.len) memcpy(src + base, answer.text.p, answer.text.len);
    int64_t n_ids = wisp_tokenize(tok, src, n_src, false, NULL, 0, NULL);
    FUZZ_CHECK(n_ids >= 0);
    int32_t *ids = malloc(sizeof *ids * ((size_t)n_ids + 1));
    FUZZ_CHECK(ids && wisp_tokenize(tok, src, n_src, false, ids, (size_t)n_ids, NULL) == n_ids);
    free(src);

    memset(out, 0, sizeof *out);
    size_t len = 0, n_gen = 0;
    wisp_stop_reason stop = WISP_STOP_NONE;
    for (int64_t i = 0; stop == WISP_STOP_NONE; i++) {
        if (i >= n_ids || (len >= base && n_gen == answer.stop_at_token && !(p->non_empty && len == base))) {
            stop = WISP_STOP_TOKEN;
            break;
        }
        wisp_str b = wisp_token_bytes(tok, ids[i]);
        if (len + b.len + 1 > gen_cap) {
            gen_cap = (len + b.len + 1) * 2;
            gen_text = realloc(gen_text, gen_cap);
            FUZZ_CHECK(gen_text);
        }
        memcpy(gen_text + len, b.ptr, b.len);
        len += b.len;
        gen_text[len] = '\0';
        if (p->logprobs) p->logprobs[n_gen] = -0.125f * (float)(n_gen % 8);
        gen_tokens[n_gen++] = ids[i];
        if (len >= base && p->on_token && !p->on_token(p->user, ids[i], gen_text + base, len - base))
            stop = WISP_STOP_CALLBACK;
        else if (n_gen >= p->max_tokens)
            stop = WISP_STOP_MAX_TOKENS;
        else if (n_gen >= answer.time_out_at)
            stop = WISP_STOP_TIME;
    }
    free(ids);
    if (!gen_text) {
        gen_text = malloc(1);
        FUZZ_CHECK(gen_text);
        gen_cap = 1;
    }
    len = len > base ? len - base : 0;
    memmove(gen_text, gen_text + base, len);
    gen_text[len] = '\0';
    out->text = gen_text;
    out->text_len = len;
    out->tokens = gen_tokens;
    out->n_tokens = n_gen;
    out->n_prompt = n_prompt;
    out->stop = stop;
    (void)err;
    return WISP_OK;
}

static unsigned cancel_after, stop_calls;
static bool should_stop(void *user) {
    (void)user;
    return cancel_after && ++stop_calls >= cancel_after;
}

/* The first line streamed during the call (on_partial): at most once, never blank, never once
 * should_stop has said true. */
static struct {
    unsigned calls;
    char *text;
    size_t len;
} partial;
static void on_partial(void *user, const char *text, size_t len) {
    (void)user;
    FUZZ_CHECK(text && text[len] == '\0' && len > 0 && partial.calls == 0);
    FUZZ_CHECK(!(cancel_after && stop_calls >= cancel_after));
    bool blank = true;
    for (size_t i = 0; i < len; i++) blank &= text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n';
    FUZZ_CHECK(!blank);
    partial.calls++;
    partial.text = realloc(partial.text, len + 1);
    FUZZ_CHECK(partial.text);
    memcpy(partial.text, text, len + 1);
    partial.len = len;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_max_text = 4 * 1024; /* every request walks the document several times: keep it small */
    engine = fuzz_engine("fuzz_pipeline", 1024);
    tok = wisp_model_tokenizer(wisp_engine_model(engine));
    fim_pre = wisp_tokenizer_special(tok, WISP_SPECIAL_FIM_PRE);
    fim_suf = wisp_tokenizer_special(tok, WISP_SPECIAL_FIM_SUF);
    fim_mid = wisp_tokenizer_special(tok, WISP_SPECIAL_FIM_MID);
    return 0;
}

static void check_completion(const wisp_completion *c, size_t pos, const wisp_complete_params *p) {
    FUZZ_CHECK(c->n_candidates <= (p->n_candidates ? p->n_candidates : 1));
    if (c->mode == WISP_MODE_NONE) FUZZ_CHECK(c->n_candidates == 0);
    for (size_t i = 0; i < c->n_candidates; i++) {
        const wisp_candidate *k = &c->candidates[i];
        FUZZ_CHECK(k->start_u8 == pos && k->end_u8 == pos && k->text && k->text[k->text_len] == '\0');
        FUZZ_CHECK(k->text_len > 0 && k->parses == (k->n_errors == 0));
        if (c->mode == WISP_MODE_MID_LINE && !p->max_lines) FUZZ_CHECK(!memchr(k->text, '\n', k->text_len));
        if (i > 0) FUZZ_CHECK(c->candidates[i - 1].n_errors <= k->n_errors);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(c->candidates[j].text_len != k->text_len || memcmp(c->candidates[j].text, k->text, k->text_len));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_in in = {data, size};
    wisp_lang lang = (wisp_lang)(1 + fuzz_u8(&in) % (WISP_LANG_COUNT - 1));
    uint8_t flags = fuzz_u8(&in);
    static const char *const names[] = {"", "src/app.py", "src/app.js", "src/app.ts", "src/app.tsx", "src/app.c"};
    static const char *const others[] = {"", "lib/util.py", "lib/util.js", "lib/util.ts", "lib/util.tsx", "lib/util.h"};
    wisp_docs *docs = wisp_engine_docs(engine);
    fuzz_buf text = {0};
    for (int i = 0, n = 1 + fuzz_u8(&in) % 4; i < n; i++) fuzz_text(&in, lang, &text);
    wisp_error err;
    wisp_doc *doc = wisp_doc_open(docs, names[lang], lang, text.p, text.len, &err);
    FUZZ_CHECK(doc);
    wisp_doc *other = NULL;
    if (flags & 1) { /* a second file, for definitions */
        fuzz_buf o = {0};
        fuzz_text(&in, lang, &o);
        other = wisp_doc_open(docs, others[lang], lang, o.p, o.len, &err);
        FUZZ_CHECK(other);
        free(o.p);
    }
    for (int round = 0; round < 4 && fuzz_more(&in); round++) {
        uint8_t r = fuzz_u8(&in);
        size_t len;
        const char *t = wisp_doc_text(doc, &len);
        if (r & 1) { /* an edit before the request, as typing does */
            size_t a = fuzz_pos(&in, len);
            a = a > len ? len : a;
            size_t b = a + fuzz_u8(&in) % 4;
            b = b > len ? len : b;
            fuzz_buf ins = {0};
            fuzz_text(&in, lang, &ins);
            FUZZ_CHECK(wisp_doc_edit(doc, a, b, ins.p, ins.len, &err) == WISP_OK);
            free(ins.p);
            t = wisp_doc_text(doc, &len);
        }
        size_t pos = fuzz_pos(&in, len);
        if (r & 2 && pos < len) /* keep the cursor off continuation bytes, mostly */
            while (pos > 0 && ((unsigned char)t[pos] & 0xC0) == 0x80) pos--;
        answer.text.len = 0;
        fuzz_text(&in, lang, &answer.text);
        uint8_t s = fuzz_u8(&in);
        answer.stop_at_token = s & 0x80 ? s & 0x7F : SIZE_MAX;
        answer.time_out_at = r & 4 ? 1 + fuzz_u8(&in) % 16 : SIZE_MAX;
        wisp_complete_params p = wisp_complete_default_params();
        p.n_candidates = 1 + (r >> 3) % 3;
        if (r & 0x20) p.sources = fuzz_u8(&in); /* any mix of sources (0: the plain prompt) */
        if (r & 0x40) p.max_lines = fuzz_u8(&in) % 4;
        if (flags & 2) p.prompt_tokens = 32 + fuzz_u16(&in) % 1200;
        if (flags & 4) p.max_tokens = 1 + fuzz_u8(&in);
        cancel_after = r & 0x80 ? 1 + fuzz_u8(&in) % 8 : 0;
        stop_calls = 0;
        p.should_stop = should_stop;
        p.on_partial = on_partial;
        partial.calls = 0;
        wisp_completion c;
        wisp_status st = wisp_complete(engine, doc, pos, &p, &c, &err);
        if (p.max_lines == 1 || (st == WISP_OK && c.mode == WISP_MODE_NONE)) FUZZ_CHECK(partial.calls == 0);
        /* one candidate: the answer begins with the streamed line (or a block lost every line to
         * parse, which leaves it empty) */
        if (st == WISP_OK && partial.calls && p.n_candidates == 1 && c.n_candidates == 1)
            FUZZ_CHECK(c.candidates[0].text_len == 0 ||
                       (c.candidates[0].text_len >= partial.len &&
                        memcmp(c.candidates[0].text, partial.text, partial.len) == 0));
        bool inside = pos < len && ((unsigned char)t[pos] & 0xC0) == 0x80;
        if (wisp_doc_parse_gave_up(doc)) { /* text the parser gave up on: a clear refusal */
            FUZZ_CHECK(st == WISP_ERR_UNSUPPORTED && err.message[0]);
            continue;
        }
        if (pos > len || inside) {
            FUZZ_CHECK(st == WISP_ERR_RANGE && err.code == WISP_ERR_RANGE && err.message[0]);
            continue;
        }
        if (st == WISP_ERR_CANCELLED) {
            FUZZ_CHECK(cancel_after && c.n_candidates == 0);
            continue;
        }
        FUZZ_CHECK(st == WISP_OK);
        check_completion(&c, pos, &p);
        size_t pl = 0;
        cancel_after = 0;
        const char *pt = wisp_engine_prompt_text(engine, doc, pos, &p, &pl, &err);
        FUZZ_CHECK(pt && pt[pl] == '\0');
        FUZZ_CHECK(wisp_engine_last_prompt(engine, &pl) != NULL);
    }
    wisp_doc_close(doc);
    wisp_doc_close(other);
    FUZZ_CHECK(wisp_docs_count(docs) == 0);
    free(text.p);
    return 0;
}
