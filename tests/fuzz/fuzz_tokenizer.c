/*
 * libFuzzer target for the tokenizer: the vocabularies of fixtures/gguf/ (byte-level BPE under
 * each pre-tokenizer, and SentencePiece) are loaded once; each input picks one by its first byte
 * and whether special tokens are parsed by its second, and the rest is tokenized. Checked: no
 * crash, ids in range,
 * the count is the same whatever the output capacity, and for byte-level BPE without special
 * parsing, the tokens' bytes concatenate back to the input exactly.
 * Fixture directory: $WISP_FUZZ_FIXTURES or fixtures/gguf (run from the repository root).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wisp.h"

#define FUZZ_CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

typedef struct fuzz__vocab {
    const char *file;
    bool byte_level; /* decode(encode(x)) == x holds for every x */
    void *data;
    wisp_gguf *gguf;
    wisp_tokenizer *tok;
} fuzz__vocab;

static fuzz__vocab vocabs[] = {
    {"tiny-bpe.gguf", true, NULL, NULL, NULL}, /* pre-tokenizer gpt-2 */
    {"tiny-spm.gguf", false, NULL, NULL, NULL},
    {"tiny-bpe-llama3.gguf", true, NULL, NULL, NULL},
    {"tiny-bpe-qwen2.gguf", true, NULL, NULL, NULL},
    {"tiny-bpe-starcoder.gguf", true, NULL, NULL, NULL},
    {"tiny-bpe-deepseek-coder.gguf", true, NULL, NULL, NULL},
};
enum { N_VOCABS = sizeof vocabs / sizeof vocabs[0] };

/* Reads a whole file; the fuzzer cannot run without its vocabularies, so failure is fatal. */
static void *fuzz__read(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_tokenizer: cannot open %s (run from the repository root or set "
                        "WISP_FUZZ_FIXTURES)\n", path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc(n > 0 ? (size_t)n : 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) exit(1);
    fclose(f);
    *size = (size_t)n;
    return p;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *dir = getenv("WISP_FUZZ_FIXTURES");
    if (!dir) dir = "fixtures/gguf";
    for (int v = 0; v < N_VOCABS; v++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, vocabs[v].file);
        size_t size;
        vocabs[v].data = fuzz__read(path, &size);
        wisp_error err;
        vocabs[v].gguf = wisp_gguf_open(vocabs[v].data, size, &err);
        if (vocabs[v].gguf) vocabs[v].tok = wisp_tokenizer_load(vocabs[v].gguf, &err);
        if (!vocabs[v].tok) {
            fprintf(stderr, "fuzz_tokenizer: %s: %s\n", path, err.message);
            exit(1);
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    fuzz__vocab *v = &vocabs[data[0] % N_VOCABS];
    bool parse_special = data[1] & 1;
    const char *text = (const char *)data + 2;
    size_t len = size - 2;
    wisp_error err;
    int32_t small[4];
    int64_t n = wisp_tokenize(v->tok, text, len, parse_special, small, 4, &err);
    if (n < 0) {
        FUZZ_CHECK(err.code != WISP_OK);
        return 0;
    }
    FUZZ_CHECK((size_t)n <= len * 4 + 4); /* never more than a few tokens per byte */
    int32_t *ids = malloc(((size_t)n + 1) * sizeof *ids);
    FUZZ_CHECK(ids);
    int64_t n2 = wisp_tokenize(v->tok, text, len, parse_special, ids, (size_t)n, &err);
    FUZZ_CHECK(n2 == n);
    for (int64_t i = 0; i < n && i < 4; i++) FUZZ_CHECK(ids[i] == small[i]);
    uint32_t n_vocab = wisp_tokenizer_n_vocab(v->tok);
    size_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        FUZZ_CHECK(ids[i] >= 0 && (uint32_t)ids[i] < n_vocab);
        wisp_str b = wisp_token_bytes(v->tok, ids[i]);
        wisp_str t = wisp_token_text(v->tok, ids[i]);
        (void)t;
        total += b.len;
    }
    if (v->byte_level && !parse_special) {
        /* byte-level BPE loses nothing: the pieces spell the input */
        FUZZ_CHECK(total == len);
        size_t at = 0;
        for (int64_t i = 0; i < n; i++) {
            wisp_str b = wisp_token_bytes(v->tok, ids[i]);
            FUZZ_CHECK(!memcmp(text + at, b.ptr, b.len));
            at += b.len;
        }
    }
    free(ids);
    return 0;
}
