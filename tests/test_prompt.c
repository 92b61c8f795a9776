/* Prompt assembly (grammar/prompt.c): FIM ids for several spellings, section order, budget cuts
 * at line boundaries, the definitions block, and cache-friendliness across keystrokes. The
 * vocabularies are built in memory (a byte-level BPE with a few merges), plus the reference
 * fixture model's real one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gguf_builder.h"
#include "prompt.h"
#include "read_file.h"

/* GPT-2's byte -> printable code point table, as UTF-8 strings. */
static void byte_token(int b, char out[4]) {
    int cp;
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) {
        cp = b;
    } else {
        int n = 0;
        for (int x = 0; x < b; x++)
            if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) n++;
        cp = 256 + n;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = 0;
    } else {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        out[2] = 0;
    }
}

/* A tokenizer-only GGUF: 256 byte tokens, a few merges, then the given special tokens (control
 * type). With `keys`, the FIM ids are also written under tokenizer.ggml.fim_*_token_id. */
typedef struct vocab_spec {
    const char *pre, *suf, *mid, *sep; /* spellings; NULL = absent */
    bool keys;
} vocab_spec;

static wisp_tokenizer *make_tokenizer(const vocab_spec *v, gb *b) {
    static const char *const merges[] = {"Ġ Ġ", "ĠĠ ĠĠ", "d e", "r e", "t u", "r n", "de f", "Ġ x"};
    static const char *const merged[] = {"ĠĠ", "ĠĠĠĠ", "de", "re", "tu", "rn", "def", "Ġx"};
    const size_t n_m = sizeof merges / sizeof merges[0];
    char bytes[256][4];
    const char *toks[256 + 8 + 5];
    int32_t types[256 + 8 + 5];
    size_t n = 0;
    for (int i = 0; i < 256; i++) {
        byte_token(i, bytes[i]);
        types[n] = 1;
        toks[n++] = bytes[i];
    }
    for (size_t i = 0; i < n_m; i++) {
        types[n] = 1;
        toks[n++] = merged[i];
    }
    size_t eos = n;
    types[n] = 3;
    toks[n++] = "<|endoftext|>";
    const char *sp[4] = {v->pre, v->suf, v->mid, v->sep};
    int32_t ids[4] = {-1, -1, -1, -1};
    for (int i = 0; i < 4; i++)
        if (sp[i]) {
            ids[i] = (int32_t)n;
            types[n] = 3;
            toks[n++] = sp[i];
        }
    memset(b, 0, sizeof *b);
    int n_kv = 5 + (v->keys ? (ids[0] >= 0) + (ids[1] >= 0) + (ids[2] >= 0) + (ids[3] >= 0) : 0);
    gb_header(b, 3, 0, (uint64_t)n_kv);
    gb_kv_str(b, "tokenizer.ggml.model", "gpt2");
    gb_kv_str(b, "tokenizer.ggml.pre", "qwen2");
    gb_kv_strs(b, "tokenizer.ggml.tokens", toks, n);
    gb_key(b, "tokenizer.ggml.token_type", 9);
    gb_u32(b, 5);
    gb_u64(b, n);
    for (size_t i = 0; i < n; i++) gb_u32(b, (uint32_t)types[i]);
    gb_kv_strs(b, "tokenizer.ggml.merges", merges, n_m);
    static const char *const keys[4] = {"tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.fim_suf_token_id",
                                        "tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.fim_sep_token_id"};
    for (int i = 0; v->keys && i < 4; i++)
        if (ids[i] >= 0) gb_kv_u32(b, keys[i], (uint32_t)ids[i]);
    (void)eos;
    gb_pad(b, 32);
    wisp_error err;
    wisp_gguf *g = wisp_gguf_open(b->p, b->len, &err);
    if (!g) fprintf(stderr, "gguf: %s\n", err.message);
    assert_non_null(g);
    wisp_tokenizer *t = wisp_tokenizer_load(g, &err);
    if (!t) fprintf(stderr, "tokenizer: %s\n", err.message);
    assert_non_null(t);
    wisp_gguf_free(g);
    return t;
}

static bool str_is(wisp_str s, const char *want) {
    return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

static const vocab_spec qwen = {"<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|file_sep|>", true};

/* Decodes tokens [b, e) to a malloc'd string, control tokens as their text. */
static char *decode(const wisp_tokenizer *t, const int32_t *ids, size_t b, size_t e) {
    size_t cap = 16, len = 0;
    char *s = malloc(cap);
    for (size_t i = b; i < e; i++) {
        wisp_str p = wisp_tokenizer_is_control(t, ids[i]) ? wisp_token_text(t, ids[i]) : wisp_token_bytes(t, ids[i]);
        while (len + p.len + 1 > cap) s = realloc(s, cap *= 2);
        memcpy(s + len, p.ptr, p.len);
        len += p.len;
    }
    s[len] = 0;
    return s;
}

/* The Qwen-style test vocabulary and its FIM ids, the set-up of most tests here. */
static wisp_tokenizer *qwen_tokenizer(gb *b, prompt_fim *fim) {
    wisp_tokenizer *t = make_tokenizer(&qwen, b);
    assert_int_equal(prompt_fim_ids(t, fim, NULL), WISP_OK);
    return t;
}

/* That set-up as a cmocka fixture, for the tests that need nothing else. */
typedef struct qwen_fx {
    gb b;
    prompt_fim fim;
    wisp_tokenizer *t;
} qwen_fx;

static int qwen_setup(void **state) {
    qwen_fx *q = calloc(1, sizeof *q);
    if (!q) return -1;
    q->t = qwen_tokenizer(&q->b, &q->fim);
    *state = q;
    return 0;
}

static int qwen_teardown(void **state) {
    qwen_fx *q = *state;
    wisp_tokenizer_free(q->t);
    free(q->b.p);
    free(q);
    return 0;
}

static prompt_input input_of(const char *text, size_t pos, uint32_t budget) {
    prompt_input in;
    memset(&in, 0, sizeof in);
    in.path = "src/app.py";
    in.lang = WISP_LANG_PYTHON;
    in.text = text;
    in.len = strlen(text);
    in.pos_u8 = pos;
    in.sources = WISP_SOURCE_ALL;
    in.budget = budget;
    in.sticky_start_u8 = SIZE_MAX;
    in.sticky_suffix_tail = SIZE_MAX;
    return in;
}

/* FIM ids come from the GGUF keys or, without them, from the well-known spellings. */
static void test_fim_spellings(void **state) {
    (void)state;
    const vocab_spec specs[] = {
        qwen,
        {"<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|file_sep|>", false},
        {"<fim_prefix>", "<fim_suffix>", "<fim_middle>", NULL, false},
        {"<PRE>", "<SUF>", "<MID>", NULL, false},
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        gb b;
        wisp_tokenizer *t = make_tokenizer(&specs[i], &b);
        prompt_fim fim;
        wisp_error err;
        assert_int_equal(prompt_fim_ids(t, &fim, &err), WISP_OK);
        assert_true(str_is(wisp_token_text(t, fim.pre), specs[i].pre));
        assert_true(str_is(wisp_token_text(t, fim.suf), specs[i].suf));
        assert_true(str_is(wisp_token_text(t, fim.mid), specs[i].mid));
        assert_int_equal(fim.sep == WISP_NO_TOKEN, specs[i].sep == NULL);
        assert_true(fim.n_stops >= 1); /* the end of text at least */
        wisp_tokenizer_free(t);
        free(b.p);
    }
    /* no FIM tokens at all: a clear error, not a broken prompt */
    vocab_spec none = {NULL, NULL, NULL, NULL, false};
    gb b;
    wisp_tokenizer *t = make_tokenizer(&none, &b);
    prompt_fim fim;
    wisp_error err;
    assert_int_equal(prompt_fim_ids(t, &fim, &err), WISP_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "fill-in-the-middle"));
    wisp_tokenizer_free(t);
    free(b.p);
}

/* <sep>PATH\n <suf>SUFFIX <pre>[DEFS]PREFIX <mid>, each part decoding to its text. */
static void test_layout(void **state) {
    qwen_fx *q = *state;
    wisp_tokenizer *t = q->t;
    prompt_fim fim = q->fim;
    const char *doc = "def f(x):\n    return x + 1\n\nprint(f(2))\n";
    size_t pos = strlen("def f(x):\n    return x");
    prompt_input in = input_of(doc, pos, 1024);
    prompt p;
    wisp_error err;
    assert_int_equal(prompt_build(t, &fim, &in, &p, &err), WISP_OK);
    assert_int_equal(p.tokens[0], fim.sep);
    assert_int_equal(p.tokens[p.n_tokens - 1], fim.mid);
    assert_true(p.part_end[PROMPT_PART_PATH] <= p.part_begin[PROMPT_PART_SUFFIX]);
    /* <pre>, then the definitions (none here), then the prefix text */
    assert_int_equal(p.tokens[p.part_end[PROMPT_PART_SUFFIX]], fim.pre);
    assert_int_equal(p.part_begin[PROMPT_PART_DEFS], p.part_end[PROMPT_PART_SUFFIX] + 1);
    assert_int_equal(p.part_end[PROMPT_PART_DEFS], p.part_begin[PROMPT_PART_PREFIX]);
    char *s = decode(t, p.tokens, 0, p.n_tokens);
    assert_string_equal(s, "<|file_sep|>src/app.py\n<|fim_suffix|> + 1\n\nprint(f(2))\n"
                           "<|fim_prefix|>def f(x):\n    return x<|fim_middle|>");
    free(s);
    s = decode(t, p.tokens, p.part_begin[PROMPT_PART_SUFFIX], p.part_end[PROMPT_PART_SUFFIX]);
    assert_string_equal(s, "<|fim_suffix|> + 1\n\nprint(f(2))\n");
    free(s);
    char *text = prompt_describe(&p, t, &in, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "=== path: "));
    assert_non_null(strstr(text, "=== suffix: "));
    assert_non_null(strstr(text, "=== prefix: "));
    assert_non_null(strstr(text, "=== total: "));
    assert_true(strstr(text, "=== suffix") < strstr(text, "=== prefix"));
    free(text);
    prompt_free(&p);
    /* without the path source, or without a path, no path line: the separator still leads (the
     * model's attention sink), then the suffix */
    in.sources = WISP_SOURCE_ALL & ~(uint32_t)WISP_SOURCE_PATH;
    assert_int_equal(prompt_build(t, &fim, &in, &p, &err), WISP_OK);
    assert_int_equal(p.tokens[0], fim.sep);
    assert_int_equal(p.tokens[1], fim.suf);
    assert_int_equal(p.part_end[PROMPT_PART_PATH], 1);
    prompt_free(&p);
    in.sources = WISP_SOURCE_ALL;
    in.path = NULL;
    assert_int_equal(prompt_build(t, &fim, &in, &p, &err), WISP_OK);
    s = decode(t, p.tokens, 0, p.n_tokens);
    assert_string_equal(s, "<|file_sep|><|fim_suffix|> + 1\n\nprint(f(2))\n"
                           "<|fim_prefix|>def f(x):\n    return x<|fim_middle|>");
    free(s);
    prompt_free(&p);
    /* a model without a separator token: no lead at all */
    prompt_fim nosep = fim;
    nosep.sep = WISP_NO_TOKEN;
    in.path = "src/app.py";
    assert_int_equal(prompt_build(t, &nosep, &in, &p, &err), WISP_OK);
    assert_int_equal(p.tokens[0], fim.suf);
    prompt_free(&p);
    /* a cursor past the end */
    in.pos_u8 = strlen(doc) + 1;
    assert_int_equal(prompt_build(t, &fim, &in, &p, &err), WISP_ERR_RANGE);
    prompt_free(&p);
}

/* A long file: the prompt fits the budget, both cuts fall on line boundaries, and the suffix
 * takes about a quarter unless the prefix needs less. */
static void test_budget(void **state) {
    qwen_fx *q = *state;
    wisp_tokenizer *t = q->t;
    prompt_fim fim = q->fim;
    char *doc = malloc(200 * 40);
    size_t len = 0;
    for (int i = 0; i < 200; i++) len += (size_t)sprintf(doc + len, "    value_%03d = compute(%d)\n", i, i);
    uint32_t budgets[] = {64, 128, 300, 1024};
    size_t cursors[] = {len / 2 + 7, 40, len - 5};
    for (size_t bi = 0; bi < 4; bi++)
        for (size_t ci = 0; ci < 3; ci++) {
            prompt_input in = input_of(doc, cursors[ci], budgets[bi]);
            prompt p;
            assert_int_equal(prompt_build(t, &fim, &in, &p, NULL), WISP_OK);
            assert_true(p.n_tokens <= budgets[bi]);
            assert_true(p.prefix_start_u8 == 0 || doc[p.prefix_start_u8 - 1] == '\n');
            assert_true(p.suffix_end_u8 == len || p.suffix_end_u8 == cursors[ci] || doc[p.suffix_end_u8 - 1] == '\n');
            assert_true(p.prefix_start_u8 <= cursors[ci] && cursors[ci] <= p.suffix_end_u8);
            size_t n_suf = p.part_end[PROMPT_PART_SUFFIX] - p.part_begin[PROMPT_PART_SUFFIX];
            size_t n_pre = p.part_end[PROMPT_PART_PREFIX] - p.part_begin[PROMPT_PART_PREFIX];
            if (ci == 0 && budgets[bi] >= 128 && budgets[bi] < 1024) {
                assert_true(n_suf <= budgets[bi] / 4 + 2);
                assert_true(n_pre > n_suf);
                if (p.n_tokens <= budgets[bi] * 3 / 4) fprintf(stderr, "budget %u: %zu tokens (suffix %zu, prefix %zu)\n", budgets[bi], p.n_tokens, n_suf, n_pre);
                assert_true(p.n_tokens > budgets[bi] * 3 / 4); /* the budget is used */
            }
            if (ci == 1 && budgets[bi] >= 300) assert_true(n_suf > budgets[bi] / 2); /* short prefix */
            prompt_free(&p);
        }
    free(doc);
}

/* Typing at the cursor changes only the last few tokens of the prompt. */
static void test_cache_friendly(void **state) {
    qwen_fx *q = *state;
    wisp_tokenizer *t = q->t;
    prompt_fim fim = q->fim;
    char doc[16384];
    size_t len = 0;
    for (int i = 0; i < 120; i++) len += (size_t)sprintf(doc + len, "def fn_%d(x):\n    return x * %d\n\n", i, i);
    size_t pos = len / 2;
    while (doc[pos - 1] != '\n') pos++;
    const char *typed = "    def tuned(self, depth):\n        return re";
    prompt prev = {0};
    size_t sticky = SIZE_MAX;
    for (size_t k = 0; typed[k]; k++) {
        memmove(doc + pos + 1, doc + pos, len - pos + 1);
        doc[pos] = typed[k];
        len++;
        pos++;
        prompt_input in = input_of(doc, pos, 256);
        in.sticky_start_u8 = sticky;
        prompt p;
        assert_int_equal(prompt_build(t, &fim, &in, &p, NULL), WISP_OK);
        sticky = p.prefix_start_u8;
        if (prev.tokens) {
            size_t common = 0;
            while (common < p.n_tokens && common < prev.n_tokens && p.tokens[common] == prev.tokens[common]) common++;
            /* all but the last few tokens (the cursor line's last pre-token and <mid>) survive,
             * except when the budget moves the prefix start: then the head before it survives */
            if (p.prefix_start_u8 == prev.prefix_start_u8) {
                if (common + 4 < prev.n_tokens)
                    fprintf(stderr, "keystroke %zu ('%c'): %zu of %zu tokens shared\n", k, typed[k], common, prev.n_tokens);
                assert_true(common + 4 >= prev.n_tokens);
            } else {
                assert_true(common >= prev.part_begin[PROMPT_PART_PREFIX]);
            }
        }
        prompt_free(&prev);
        prev = p;
    }
    prompt_free(&prev);
}

/* The sticky start holds while it fits, so the top of the prefix does not slide per keystroke. */
static void test_sticky_start(void **state) {
    qwen_fx *q = *state;
    wisp_tokenizer *t = q->t;
    prompt_fim fim = q->fim;
    char doc[8192];
    size_t len = 0;
    for (int i = 0; i < 150; i++) len += (size_t)sprintf(doc + len, "x%d = %d\n", i, i);
    size_t pos = len / 2;
    while (doc[pos] != '\n') pos++;
    prompt_input in = input_of(doc, pos, 128);
    prompt p1, p2;
    assert_int_equal(prompt_build(t, &fim, &in, &p1, NULL), WISP_OK);
    /* one line further down, with the previous start given: the start stays */
    pos += 1;
    while (doc[pos] != '\n') pos++;
    in.pos_u8 = pos;
    in.sticky_start_u8 = p1.prefix_start_u8;
    assert_int_equal(prompt_build(t, &fim, &in, &p2, NULL), WISP_OK);
    assert_int_equal(p2.prefix_start_u8, p1.prefix_start_u8);
    prompt_free(&p2);
    /* far down, it no longer fits and moves */
    in.pos_u8 = len;
    assert_int_equal(prompt_build(t, &fim, &in, &p2, NULL), WISP_OK);
    assert_true(p2.prefix_start_u8 > p1.prefix_start_u8);
    prompt_free(&p2);
    /* typing on the first cursor's line: the start moves once the budget is full, unless the
     * prompt may run over it (budget_max), and then only by as much as allowed */
    pos = len / 2;
    while (doc[pos] != '\n') pos++;
    size_t moved = 0;
    for (size_t k = 1; k < 200 && !moved; k++) {
        memmove(doc + pos + 2, doc + pos, len - pos + 1);
        memcpy(doc + pos, " y", 2);
        len += 2;
        pos += 2;
        in = input_of(doc, pos, 128);
        in.sticky_start_u8 = p1.prefix_start_u8;
        assert_int_equal(prompt_build(t, &fim, &in, &p2, NULL), WISP_OK);
        if (p2.prefix_start_u8 != p1.prefix_start_u8) moved = k;
        prompt_free(&p2);
    }
    assert_true(moved > 0);
    in.budget_max = 128 + 16;
    assert_int_equal(prompt_build(t, &fim, &in, &p2, NULL), WISP_OK);
    assert_int_equal(p2.prefix_start_u8, p1.prefix_start_u8);
    assert_true(p2.n_tokens > 128 && p2.n_tokens <= 128 + 16);
    prompt_free(&p1);
    prompt_free(&p2);
}

/* The suffix end is sticky too: when the whole prefix fits, the suffix takes the rest of the
 * budget, and text added at the cursor (typing, or a suggestion applied for a speculative
 * request) would otherwise shorten it, and with it change every token after the head. */
static void test_sticky_suffix(void **state) {
    qwen_fx *q = *state;
    wisp_tokenizer *t = q->t;
    prompt_fim fim = q->fim;
    char doc[16384];
    size_t len = 0;
    for (int i = 0; i < 8; i++) len += (size_t)sprintf(doc + len, "a%d = %d\n", i, i);
    len += (size_t)sprintf(doc + len, "total = ");
    size_t pos = len;
    len += (size_t)sprintf(doc + len, "\n");
    for (int i = 0; i < 100; i++) len += (size_t)sprintf(doc + len, "print(total + %d)\n", i);
    prompt_input in = input_of(doc, pos, 256);
    prompt p1, p2, p3;
    assert_int_equal(prompt_build(t, &fim, &in, &p1, NULL), WISP_OK);
    assert_int_equal(p1.prefix_start_u8, 0); /* the whole prefix fits: the suffix takes the rest */
    size_t tail = len - p1.suffix_end_u8;
    /* a suggestion applied at the cursor */
    const char *ins = "a0 + a1 + a2 + a3 + a4 + a5";
    size_t n = strlen(ins);
    memmove(doc + pos + n, doc + pos, len - pos + 1);
    memcpy(doc + pos, ins, n);
    len += n;
    in = input_of(doc, pos + n, 256);
    assert_int_equal(prompt_build(t, &fim, &in, &p2, NULL), WISP_OK);
    assert_true(len - p2.suffix_end_u8 != tail); /* without the sticky end the suffix moves */
    in.sticky_start_u8 = p1.prefix_start_u8;
    in.sticky_suffix_tail = tail;
    assert_int_equal(prompt_build(t, &fim, &in, &p3, NULL), WISP_OK);
    assert_int_equal(len - p3.suffix_end_u8, tail);
    /* so everything before the prefix's first line is shared with the first prompt */
    size_t head = p1.part_begin[PROMPT_PART_PREFIX] + 1;
    assert_true(p3.n_tokens > head);
    assert_memory_equal(p1.tokens, p3.tokens, head * sizeof(int32_t));
    assert_true(p3.n_tokens <= 256);
    prompt_free(&p1);
    prompt_free(&p2);
    prompt_free(&p3);
    /* a sticky end that no longer fits its share is not kept: the prefix comes first */
    in = input_of(doc, pos + n, 64);
    in.sticky_suffix_tail = tail;
    assert_int_equal(prompt_build(t, &fim, &in, &p1, NULL), WISP_OK);
    assert_true(len - p1.suffix_end_u8 > tail);
    prompt_free(&p1);
    /* whatever line end below the cursor is kept, the prompt fits its budget: with a short
     * prefix the suffix's share is nearly all the room, and an eighth more ran it over (found by
     * fuzz_prompt) */
    const char *small = "x = ";
    len = (size_t)sprintf(doc, "%s\n", small);
    for (int i = 0; i < 100; i++) len += (size_t)sprintf(doc + len, "print(x + %d)\n", i);
    for (size_t end = strlen(small); end <= len; end++) {
        if (end != strlen(small) && doc[end - 1] != '\n') continue;
        in = input_of(doc, strlen(small), 128);
        in.sticky_suffix_tail = len - end;
        assert_int_equal(prompt_build(t, &fim, &in, &p1, NULL), WISP_OK);
        if (p1.n_tokens > 128) fprintf(stderr, "suffix end kept at %zu: %zu tokens\n", end, p1.n_tokens);
        assert_true(p1.n_tokens <= 128);
        prompt_free(&p1);
    }
}

/* Definitions go in a commented block before the suffix; those already in view are left out. */
static void test_defs_block(void **state) {
    qwen_fx *q = *state;
    wisp_tokenizer *t = q->t;
    prompt_fim fim = q->fim;
    const char *doc = "import util\n\ndef main():\n    y = helper(1, 2)\n    return y\n";
    size_t pos = strlen("import util\n\ndef main():\n    y = ");
    wisp_def defs[2];
    memset(defs, 0, sizeof defs);
    defs[0].name = (wisp_str){"helper", 6};
    defs[0].kind = WISP_DEF_FUNCTION;
    defs[0].signature = (wisp_str){"def helper(a, b):", 17};
    defs[0].uri = "/home/me/proj/util.py";
    defs[1].name = (wisp_str){"main", 4};
    defs[1].kind = WISP_DEF_FUNCTION;
    defs[1].signature = (wisp_str){"def main():", 11};
    defs[1].uri = "src/app.py";
    defs[1].same_doc = true;
    defs[1].start_u8 = 13;
    defs[1].end_u8 = strlen(doc);
    wisp_scope file_scope;
    memset(&file_scope, 0, sizeof file_scope);
    file_scope.kind = WISP_SCOPE_FILE;
    file_scope.end_u8 = strlen(doc);
    wisp_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.lang = WISP_LANG_PYTHON;
    ctx.mode = WISP_MODE_MID_LINE;
    ctx.scopes = &file_scope;
    ctx.n_scopes = 1;
    ctx.defs = defs;
    ctx.n_defs = 2;
    prompt_input in = input_of(doc, pos, 1024);
    in.ctx = &ctx;
    prompt p;
    assert_int_equal(prompt_build(t, &fim, &in, &p, NULL), WISP_OK);
    assert_int_equal(p.n_defs, 1);
    char *s = decode(t, p.tokens, p.part_begin[PROMPT_PART_DEFS], p.part_end[PROMPT_PART_DEFS]);
    assert_string_equal(s, "# Definitions used near the cursor:\n# from util.py:\n# def helper(a, b):\n");
    free(s);
    /* the default layout: <suf>SUFFIX<pre>DEFS PREFIX<mid> (train/FORMAT.md) */
    assert_int_equal(p.tokens[p.part_end[PROMPT_PART_SUFFIX]], fim.pre);
    assert_int_equal(p.part_begin[PROMPT_PART_DEFS], p.part_end[PROMPT_PART_SUFFIX] + 1);
    s = decode(t, p.tokens, p.part_end[PROMPT_PART_SUFFIX], p.n_tokens);
    assert_string_equal(s, "<|fim_prefix|># Definitions used near the cursor:\n# from util.py:\n# def helper(a, b):\n"
                           "import util\n\ndef main():\n    y = <|fim_middle|>");
    free(s);
    char *text = prompt_describe(&p, t, &in, NULL);
    assert_true(strstr(text, "=== suffix") < strstr(text, "=== definitions"));
    free(text);
    prompt_free(&p);
    /* C-like languages comment with // ; the DEFS source off leaves the block out */
    in.lang = WISP_LANG_C;
    assert_int_equal(prompt_build(t, &fim, &in, &p, NULL), WISP_OK);
    s = decode(t, p.tokens, p.part_begin[PROMPT_PART_DEFS], p.part_end[PROMPT_PART_DEFS]);
    assert_non_null(strstr(s, "// def helper(a, b):\n"));
    free(s);
    prompt_free(&p);
    /* the older layout (ablation): <sep>PATH DEFS <suf>SUFFIX<pre>PREFIX<mid> */
    in.lang = WISP_LANG_PYTHON;
    in.sources &= ~(uint32_t)WISP_SOURCE_DEFS_IN_PREFIX;
    assert_int_equal(prompt_build(t, &fim, &in, &p, NULL), WISP_OK);
    assert_true(p.part_end[PROMPT_PART_DEFS] <= p.part_begin[PROMPT_PART_SUFFIX]);
    assert_int_equal(p.part_begin[PROMPT_PART_DEFS], p.part_end[PROMPT_PART_PATH]);
    assert_int_equal(p.tokens[p.part_end[PROMPT_PART_DEFS]], fim.suf);
    text = prompt_describe(&p, t, &in, NULL);
    assert_true(strstr(text, "=== definitions") < strstr(text, "=== suffix"));
    free(text);
    prompt_free(&p);
    in.sources &= ~(uint32_t)(WISP_SOURCE_DEFS | WISP_SOURCE_DEFS_IN_PREFIX);
    assert_int_equal(prompt_build(t, &fim, &in, &p, NULL), WISP_OK);
    assert_int_equal(p.part_end[PROMPT_PART_DEFS], p.part_begin[PROMPT_PART_DEFS]);
    prompt_free(&p);
}

/* The headers of enclosing scopes cut off by the window take at most a quarter of a small budget:
 * with the smallest budget (32) the prompt still fits (before, the headers were allowed 48 tokens
 * whatever the budget; found by fuzz_prompt). */
static void test_small_budget_scopes(void **state) {
    qwen_fx *q = *state;
    wisp_tokenizer *t = q->t;
    prompt_fim fim = q->fim;
    char doc[4096];
    size_t n = (size_t)sprintf(doc, "class A:\n    def f(self):\n");
    for (int i = 0; i < 40; i++) n += (size_t)sprintf(doc + n, "        value_%d = first + second * %d\n", i, i);
    n += (size_t)sprintf(doc + n, "        return ");
    wisp_scope scopes[3];
    memset(scopes, 0, sizeof scopes);
    scopes[0].kind = WISP_SCOPE_FUNCTION;
    scopes[0].header = (wisp_str){doc + 13, 12};
    scopes[0].indent = (wisp_str){"    ", 4};
    scopes[0].start_u8 = 13;
    scopes[0].end_u8 = n;
    scopes[1].kind = WISP_SCOPE_CLASS;
    scopes[1].header = (wisp_str){doc, 8};
    scopes[1].end_u8 = n;
    scopes[2].kind = WISP_SCOPE_FILE;
    scopes[2].end_u8 = n;
    wisp_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.lang = WISP_LANG_PYTHON;
    ctx.mode = WISP_MODE_END_OF_LINE;
    ctx.scopes = scopes;
    ctx.n_scopes = 3;
    for (uint32_t budget = 32; budget <= 1024; budget *= 2) {
        prompt_input in = input_of(doc, n, budget);
        in.ctx = &ctx;
        in.path = NULL;
        prompt p;
        assert_int_equal(prompt_build(t, &fim, &in, &p, NULL), WISP_OK);
        assert_true(p.n_tokens <= budget);
        if (budget == 1024) { /* room enough: the headers are there */
            char *s = decode(t, p.tokens, 0, p.n_tokens);
            assert_non_null(strstr(s, "The cursor is inside:"));
            free(s);
        }
        prompt_free(&p);
    }
}

/* \r\n in the document reaches the model as \n (the layout it was trained on). */
static void test_crlf(void **state) {
    qwen_fx *q = *state;
    wisp_tokenizer *t = q->t;
    prompt_fim fim = q->fim;
    const char *doc = "int f(void) {\r\n    return 1;\r\n}\r\n";
    prompt_input in = input_of(doc, strlen("int f(void) {\r\n    return"), 1024);
    in.lang = WISP_LANG_C;
    prompt p;
    assert_int_equal(prompt_build(t, &fim, &in, &p, NULL), WISP_OK);
    char *s = decode(t, p.tokens, p.part_begin[PROMPT_PART_SUFFIX], p.n_tokens);
    assert_string_equal(s, "<|fim_suffix|> 1;\n}\n<|fim_prefix|>int f(void) {\n    return<|fim_middle|>");
    free(s);
    prompt_free(&p);
}

/* The reference fixture model's real BPE vocabulary (no file separator: no path line). */
static void test_reference_vocab(void **state) {
    (void)state;
    FILE *f = fopen("fixtures/reference/llama.gguf", "rb");
    if (!f) {
        skip();
        return;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *data = malloc((size_t)size);
    assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    wisp_error err;
    wisp_gguf *g = wisp_gguf_open(data, (size_t)size, &err);
    assert_non_null(g);
    wisp_tokenizer *t = wisp_tokenizer_load(g, &err);
    assert_non_null(t);
    prompt_fim fim;
    assert_int_equal(prompt_fim_ids(t, &fim, &err), WISP_OK);
    assert_int_equal(fim.sep, WISP_NO_TOKEN);
    const char *doc = "the quick brown fox\njumps over the lazy dog\nand then some\n";
    prompt_input in = input_of(doc, 25, 1024);
    prompt p;
    assert_int_equal(prompt_build(t, &fim, &in, &p, &err), WISP_OK);
    assert_int_equal(p.tokens[0], fim.suf);
    char *s = decode(t, p.tokens, 0, p.n_tokens);
    assert_string_equal(s, "<|fim_suffix|> over the lazy dog\nand then some\n"
                           "<|fim_prefix|>the quick brown fox\njumps<|fim_middle|>");
    free(s);
    prompt_free(&p);
    wisp_tokenizer_free(t);
    wisp_gguf_free(g);
    free(data);
}

/* A SentencePiece vocabulary counts a span of lines as more tokens than its lines one by one (each
 * line alone gets the leading "▁" that its first word's token wants; after a line end the word
 * splits): the window, made from per-line counts, came out over the budget (19 tokens over 1585
 * in fuzz_prompt). The prompt is made again smaller until it fits. */
static void test_spm_lines_together(void **state) {
    (void)state;
    size_t size;
    char *data = wisp_read_file("fixtures/gguf/tiny-spm.gguf", &size);
    assert_non_null(data);
    wisp_error err;
    wisp_gguf *g = wisp_gguf_open(data, size, &err);
    assert_non_null(g);
    wisp_tokenizer *t = wisp_tokenizer_load(g, &err);
    assert_non_null(t);
    prompt_fim fim;
    assert_int_equal(prompt_fim_ids(t, &fim, &err), WISP_OK);
    size_t n = 0;
    char *doc = malloc(900 * 9 + 1);
    for (int i = 0; i < 900; i++) n += (size_t)sprintf(doc + n, "if (x) {\n");
    for (uint32_t budget = 128; budget <= 2048; budget *= 2)
        for (size_t line = 100; line < 900; line += 350) {
            prompt_input in = input_of(doc, line * 9 + 4, budget);
            prompt p;
            assert_int_equal(prompt_build(t, &fim, &in, &p, &err), WISP_OK);
            if (p.n_tokens > budget) fprintf(stderr, "budget %u, line %zu: %zu tokens\n", budget, line, p.n_tokens);
            assert_true(p.n_tokens <= budget);
            assert_true(p.n_tokens >= budget / 2); /* made smaller, not emptied */
            prompt_free(&p);
        }
    free(doc);
    wisp_tokenizer_free(t);
    wisp_gguf_free(g);
    free(data);
}

/* A cursor line longer than the whole budget (a minified file, a data line) is cut from its start:
 * the prompt stays within the budget, ends with the text just before the cursor, and a long path
 * is dropped rather than eating the budget. Before, the line went in whole and the prompt did not
 * fit the context (found by fuzz_pipeline). */
static void test_long_line(void **state) {
    qwen_fx *q = *state;
    wisp_tokenizer *t = q->t;
    prompt_fim fim = q->fim;
    size_t n = 20000;
    char *doc = malloc(n + 32);
    strcpy(doc, "x = [");
    for (size_t i = 5; i < n; i += 4) memcpy(doc + i, "12, ", 4);
    strcpy(doc + n, "]\nprint(x)\n");
    size_t pos = n - 1;
    while (doc[pos] != ' ') pos--; /* inside the line, at a space */
    for (uint32_t budget = 64; budget <= 1024; budget *= 4) {
        prompt_input in = input_of(doc, pos, budget);
        char path[2048];
        memset(path, 'p', sizeof path - 1);
        path[sizeof path - 1] = 0;
        if (budget == 256) in.path = path;
        prompt p;
        wisp_error err;
        assert_int_equal(prompt_build(t, &fim, &in, &p, &err), WISP_OK);
        assert_true(p.n_tokens <= budget);
        assert_true(p.prefix_start_u8 > 0 && p.prefix_start_u8 < pos);
        char *s = decode(t, p.tokens, p.tail_begin, p.n_tokens - 1);
        assert_int_equal(strlen(s), pos - p.prefix_start_u8);
        assert_memory_equal(s, doc + p.prefix_start_u8, pos - p.prefix_start_u8);
        free(s);
        if (budget == 256) { /* the separator leads, the path after it is dropped */
            assert_int_equal(p.tokens[0], fim.sep);
            assert_int_equal(p.tokens[1], fim.suf);
        }
        prompt_free(&p);
    }
    /* a name with a line break in it: the path line holds its first line only (found by
     * fuzz_prompt; the rest spilled into the prompt as a line of its own) */
    prompt_input in = input_of("x = 1\n", 6, 256);
    in.path = "src/a.py\r\nmore";
    prompt p;
    assert_int_equal(prompt_build(t, &fim, &in, &p, NULL), WISP_OK);
    char *s = decode(t, p.tokens, 0, p.part_end[PROMPT_PART_PATH]);
    assert_string_equal(s, "<|file_sep|>src/a.py\n");
    free(s);
    prompt_free(&p);
    free(doc);
}

int main(void) {
#define QWEN_TEST(f) cmocka_unit_test_setup_teardown(f, qwen_setup, qwen_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fim_spellings),   QWEN_TEST(test_layout),
        QWEN_TEST(test_budget),                 QWEN_TEST(test_cache_friendly),
        QWEN_TEST(test_sticky_start),           QWEN_TEST(test_sticky_suffix),
        QWEN_TEST(test_defs_block),             QWEN_TEST(test_crlf),
        cmocka_unit_test(test_reference_vocab), QWEN_TEST(test_long_line),
        cmocka_unit_test(test_spm_lines_together), QWEN_TEST(test_small_budget_scopes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
