/*
 * libFuzzer target for the prompt-to-token path with real vocabularies: prompt_build (window,
 * cut lines, definitions block, sticky start and suffix end, frozen definitions, path line) over a document and
 * its context, tokenized with one of fixtures/gguf/tiny-bpe*.gguf (byte-level BPE, Qwen FIM tokens
 * and file separator, one per pre-tokenizer), tiny-spm.gguf (SentencePiece, CodeLlama FIM tokens)
 * or fixtures/reference/qwen2.gguf (the converter's byte vocabulary). Checked:
 *   - the cursor past the end is WISP_ERR_RANGE; anything else builds;
 *   - every id is in the vocabulary, each FIM token appears once, <fim_middle> last, the parts are
 *     in order, and the prompt fits its budget (unless the caller froze a definitions block made
 *     under a smaller budget);
 *   - the window holds the cursor ([prefix_start, pos] and [pos, suffix_end] inside the text) and,
 *     for byte-level vocabularies, the prefix and suffix parts spell exactly those bytes of the
 *     document (with "\r\n" read as "\n"), and the path part the path's first line;
 *   - prompt_describe gives the labelled text.
 * Fixture directory: $WISP_FUZZ_FIXTURES or the repository root.
 */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <string.h>

#include "fuzz_input.h"
#include "prompt.h"

typedef struct vocab {
    const char *file;
    bool byte_level;
    void *data;
    wisp_gguf *gguf;
    wisp_tokenizer *tok;
    prompt_fim fim;
} vocab;

static vocab vocabs[] = {
    {"fixtures/gguf/tiny-bpe.gguf", true, NULL, NULL, NULL, {0}},
    {"fixtures/gguf/tiny-bpe-llama3.gguf", true, NULL, NULL, NULL, {0}},
    {"fixtures/gguf/tiny-bpe-starcoder.gguf", true, NULL, NULL, NULL, {0}},
    {"fixtures/gguf/tiny-spm.gguf", false, NULL, NULL, NULL, {0}},
    {"fixtures/reference/qwen2.gguf", true, NULL, NULL, NULL, {0}},
};
enum { N_VOCABS = sizeof vocabs / sizeof vocabs[0] };

static wisp_docs *docs;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_max_text = 8 * 1024; /* every request walks the document several times: keep it small */
    const char *dir = getenv("WISP_FUZZ_FIXTURES");
    for (int v = 0; v < N_VOCABS; v++) {
        char path[1024];
        snprintf(path, sizeof path, "%s%s%s", dir ? dir : "", dir ? "/" : "", vocabs[v].file);
        size_t n;
        vocabs[v].data = fuzz_fixture("fuzz_prompt", path, &n);
        wisp_error err;
        vocabs[v].gguf = wisp_gguf_open(vocabs[v].data, n, &err);
        if (vocabs[v].gguf) vocabs[v].tok = wisp_tokenizer_load(vocabs[v].gguf, &err);
        if (!vocabs[v].tok || prompt_fim_ids(vocabs[v].tok, &vocabs[v].fim, &err) != WISP_OK) {
            fprintf(stderr, "fuzz_prompt: %s: %s\n", path, err.message);
            exit(1);
        }
    }
    docs = wisp_docs_new();
    return 0;
}

/* text[b..e) with "\r\n" read as "\n", as the prompt tokenizes it. */
static void normalized(const char *text, size_t b, size_t e, fuzz_buf *out) {
    out->len = 0;
    for (size_t i = b; i < e; i++)
        if (!(text[i] == '\r' && i + 1 < e && text[i + 1] == '\n')) fuzz_put(out, text + i, 1);
}

/* The bytes of tokens [b, e) (no control token among them). */
static void spelled(const vocab *v, const int32_t *ids, size_t b, size_t e, fuzz_buf *out) {
    out->len = 0;
    for (size_t i = b; i < e; i++) {
        FUZZ_CHECK(!wisp_tokenizer_is_control(v->tok, ids[i]));
        wisp_str s = wisp_token_bytes(v->tok, ids[i]);
        fuzz_put(out, s.ptr, s.len);
    }
}

static bool same(const fuzz_buf *a, const fuzz_buf *b) {
    return a->len == b->len && (!a->len || !memcmp(a->p, b->p, a->len));
}

static void check(const vocab *v, const prompt_input *in, const prompt *p, bool exact_budget) {
    const prompt_fim *fim = &v->fim;
    uint32_t n_vocab = wisp_tokenizer_n_vocab(v->tok);
    unsigned pre = 0, suf = 0, mid = 0;
    for (size_t i = 0; i < p->n_tokens; i++) {
        FUZZ_CHECK(p->tokens[i] >= 0 && (uint32_t)p->tokens[i] < n_vocab);
        pre += p->tokens[i] == fim->pre;
        suf += p->tokens[i] == fim->suf;
        mid += p->tokens[i] == fim->mid;
    }
    FUZZ_CHECK(pre == 1 && suf == 1 && mid == 1 && p->tokens[p->n_tokens - 1] == fim->mid);
    uint32_t budget = in->budget < 32 ? 32 : in->budget;
    if (in->budget_max > budget) budget = in->budget_max; /* a kept window may run over, so far */
    if (exact_budget) FUZZ_CHECK(p->n_tokens <= budget);
    for (int k = 0; k < PROMPT_PART_COUNT; k++)
        FUZZ_CHECK(p->part_begin[k] <= p->part_end[k] && p->part_end[k] <= p->n_tokens);
    FUZZ_CHECK(p->part_end[PROMPT_PART_SUFFIX] <= p->part_begin[PROMPT_PART_PREFIX]);
    FUZZ_CHECK(p->tail_begin >= p->part_begin[PROMPT_PART_PREFIX] && p->tail_begin < p->n_tokens);
    FUZZ_CHECK(p->prefix_start_u8 <= in->pos_u8 && in->pos_u8 <= p->suffix_end_u8 && p->suffix_end_u8 <= in->len);
    FUZZ_CHECK(p->defs && p->defs[p->defs_len] == '\0');
    if (!v->byte_level) return;
    /* the parts spell the document's window exactly */
    fuzz_buf want = {0}, got = {0};
    size_t sb = p->part_begin[PROMPT_PART_SUFFIX];
    FUZZ_CHECK(p->tokens[sb] == fim->suf);
    normalized(in->text, in->pos_u8, p->suffix_end_u8, &want);
    spelled(v, p->tokens, sb + 1, p->part_end[PROMPT_PART_SUFFIX], &got);
    FUZZ_CHECK(same(&want, &got));
    bool defs_in_prefix = p->part_begin[PROMPT_PART_DEFS] > p->part_begin[PROMPT_PART_SUFFIX];
    size_t pb = p->part_begin[PROMPT_PART_PREFIX] + (defs_in_prefix ? 0 : 1); /* after <fim_prefix> */
    normalized(in->text, p->prefix_start_u8, in->pos_u8, &want);
    spelled(v, p->tokens, pb, p->n_tokens - 1, &got);
    FUZZ_CHECK(same(&want, &got));
    /* the separator leads every prompt where the vocabulary has one, the path line after it */
    if (fim->sep == WISP_NO_TOKEN) FUZZ_CHECK(p->part_end[PROMPT_PART_PATH] == 0);
    else FUZZ_CHECK(p->part_end[PROMPT_PART_PATH] >= 1 && p->tokens[0] == fim->sep);
    if (p->part_end[PROMPT_PART_PATH] > 1) { /* <sep> PATH "\n" */
        FUZZ_CHECK(in->path && *in->path);
        spelled(v, p->tokens, 1, p->part_end[PROMPT_PART_PATH], &got);
        size_t pl = strcspn(in->path, "\r\n"); /* the path line holds the name's first line */
        FUZZ_CHECK(got.len == pl + 1 && !memcmp(got.p, in->path, pl) && got.p[pl] == '\n');
    }
    free(want.p);
    free(got.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_in in = {data, size};
    const vocab *v = &vocabs[fuzz_u8(&in) % N_VOCABS];
    wisp_lang lang = (wisp_lang)(1 + fuzz_u8(&in) % (WISP_LANG_COUNT - 1));
    uint8_t flags = fuzz_u8(&in);
    fuzz_buf text = {0}, path = {0};
    for (int i = 0, n = 1 + fuzz_u8(&in) % 4; i < n; i++) fuzz_text(&in, lang, &text);
    if (flags & 1) { /* any path, even one with bytes a file name should not have */
        size_t got;
        const uint8_t *s = fuzz_bytes(&in, fuzz_u8(&in) % 64, &got);
        fuzz_put(&path, s, got);
        for (size_t i = 0; i < path.len; i++)
            if (!path.p[i]) path.p[i] = '_'; /* a C string */
    } else {
        fuzz_puts(&path, "src/app.py");
    }
    wisp_error err;
    wisp_doc *doc = wisp_doc_open(docs, "file:///src/app", lang, text.p, text.len, &err);
    FUZZ_CHECK(doc);
    size_t len;
    const char *t = wisp_doc_text(doc, &len);
    prompt last = {0};
    uint32_t last_budget = 0;
    for (int round = 0; round < 3 && fuzz_more(&in); round++) {
        size_t pos = fuzz_pos(&in, len);
        wisp_context *ctx = NULL;
        if (pos <= len && (flags & 2)) FUZZ_CHECK(wisp_context_extract(doc, pos, NULL, &ctx, &err) == WISP_OK);
        prompt_input pi;
        memset(&pi, 0, sizeof pi);
        pi.path = path.p;
        pi.lang = lang;
        pi.text = t;
        pi.len = len;
        pi.pos_u8 = pos;
        pi.ctx = ctx;
        pi.sources = flags & 4 ? fuzz_u8(&in) : WISP_SOURCE_ALL;
        pi.budget = fuzz_u16(&in) % 2048;
        pi.budget_max = flags & 64 ? pi.budget + pi.budget / 8 : 0; /* as complete.c allows */
        pi.sticky_start_u8 = flags & 8 ? fuzz_pos(&in, len) : last.prefix_start_u8 ? last.prefix_start_u8 : SIZE_MAX;
        /* the suffix end kept as bytes before the document's end: anywhere, or the last round's */
        pi.sticky_suffix_tail = flags & 32 ? fuzz_pos(&in, len) : last.n_tokens ? len - last.suffix_end_u8 : SIZE_MAX;
        bool frozen = (flags & 16) && last.defs;
        if (frozen) { /* the previous round's definitions, as the engine reuses them on one line */
            pi.frozen_defs = last.defs;
            pi.frozen_defs_len = last.defs_len;
            pi.frozen_n_defs = last.n_defs;
        }
        prompt p;
        wisp_status st = prompt_build(v->tok, &v->fim, &pi, &p, &err);
        if (pos > len) {
            FUZZ_CHECK(st == WISP_ERR_RANGE);
        } else {
            FUZZ_CHECK(st == WISP_OK);
            check(v, &pi, &p, !frozen || last_budget <= (pi.budget < 32 ? 32 : pi.budget));
            size_t dl = 0;
            char *d = prompt_describe(&p, v->tok, &pi, &dl);
            FUZZ_CHECK(d && d[dl] == '\0' && memmem(d, dl, "=== total: ", 11)); /* the text may hold NULs */
            free(d);
        }
        wisp_context_free(ctx);
        if (st == WISP_OK) {
            prompt_free(&last);
            last = p;
            last_budget = pi.budget < 32 ? 32 : pi.budget;
        } else {
            prompt_free(&p);
        }
    }
    prompt_free(&last);
    wisp_doc_close(doc);
    free(text.p);
    free(path.p);
    return 0;
}
