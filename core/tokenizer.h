/* Internal: the tokenizer's pieces shared between tokenizer.c and pretok.c (the pre-tokenizer
 * split rules), and the few internals its tests look at. */
#ifndef WISP_TOKENIZER_H
#define WISP_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "hash.h"
#include "utf8.h"
#include "wisp.h"

/* Pre-tokenizers of byte-level BPE vocabularies, by `tokenizer.ggml.pre`. */
typedef enum wisp_pretok {
    WISP_PRETOK_GPT2 = 0,       /* "gpt-2" (+ "default", "mpt", "olmo", "jais"): the GPT-2 regex */
    WISP_PRETOK_LLAMA3,         /* "llama3", "llama-bpe", "smaug-bpe", "dbrx": \p{N}{1,3} */
    WISP_PRETOK_QWEN2,          /* "qwen2": the Llama-3 regex with single \p{N} */
    WISP_PRETOK_STARCODER,      /* "starcoder", "refact", "smollm", ...: digits alone, then GPT-2 */
    WISP_PRETOK_DEEPSEEK_CODER, /* "deepseek-coder": its sequence of five regexes */
} wisp_pretok;

/* The pre-tokenizer for a `tokenizer.ggml.pre` value; false when wisp does not know it. */
bool wisp_pretok_from_name(const char *name, size_t len, wisp_pretok *out);
const char *wisp_pretok_name(wisp_pretok kind);

/* Character classes the split rules test, one byte per code point. */
enum {
    WISP_CC_L = 1,   /* \p{L} letter */
    WISP_CC_N = 2,   /* \p{N} number */
    WISP_CC_P = 4,   /* \p{P} punctuation */
    WISP_CC_WS = 8,  /* \s: Unicode White_Space */
    WISP_CC_CJK = 16 /* deepseek-coder's [一-龥ࠀ-一가-퟿] */
};
uint8_t wisp_cp_class(uint32_t cp);

/*
 * Splits code points cp[0..n) (with their classes cc[0..n)) into pre-tokens as `kind` does.
 * Writes the end index of each pre-token, in order, to ends[] (room for n entries; pre-tokens are
 * never empty, so there are at most n) and returns their count. `tmp` is scratch for n entries.
 */
size_t wisp_pretok_split(wisp_pretok kind, const uint32_t *cp, const uint8_t *cc, size_t n,
                         uint32_t *ends, uint32_t *tmp);

/* ---- the tokenizer object, shared by tokenizer.c (loading) and tokenize.c (running) ---- */

/* llama.cpp token types (tokenizer.ggml.token_type). */
enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER = 4, TT_UNUSED = 5, TT_BYTE = 6 };

typedef enum tok_kind { TOK_BPE, TOK_SPM } tok_kind;

/* A piece-map slot: id + 1 (0 = empty) and the high half of the key's hash, so that a probe
 * touches the token's text only when it is very likely the one. */
typedef struct tok_slot {
    uint32_t id1;
    uint32_t tag;
} tok_slot;

/* A merge: the pair (left << 32 | right), its rank + 1 (0: empty slot, so a calloc'd table is
 * empty) and the merged token. One 16-byte record, so a lookup costs one cache miss. */
typedef struct tok_pair {
    uint64_t key;
    uint32_t rank1;
    int32_t out;
} tok_pair;

struct wisp_tokenizer {
    tok_kind kind;
    wisp_pretok pretok;    /* BPE only */
    bool ignore_merges;    /* BPE: take a pre-token whole when it is a token (llama3) */
    bool add_space_prefix; /* SPM */
    uint32_t n_vocab;
    char *arena;           /* every token's raw text and decoded bytes */
    uint32_t *text_off, *text_len;   /* (n_vocab) raw vocabulary entry */
    uint32_t *bytes_off, *bytes_len; /* (n_vocab) what the token detokenizes to */
    uint32_t *key_span;              /* (n_vocab, 2) offset and length of the piece-map key:
                                        the bytes (BPE) or the text (SPM), side by side so a probe
                                        reads one cache line */
    uint8_t *type;                   /* (n_vocab) TT_* */
    float *score;                    /* (n_vocab) SPM merge priority; NULL for BPE */
    /* piece -> id: key is the decoded bytes of NORMAL tokens (BPE) or the raw text of every
     * token (SPM). Open addressing with linear probing. */
    tok_slot *pieces;
    uint32_t piece_mask;
    /* (left, right) -> merge, BPE only. */
    tok_pair *pairs;
    uint32_t pair_mask;
    int32_t byte_token[256]; /* BPE: the token of a lone byte; SPM: <0xXX>; -1 when absent */
    int32_t unk;
    int32_t special[WISP_SPECIAL_COUNT];
    /* parse_special: control/user-defined ids grouped by first byte, longest text first;
     * bucket b is spec_ids[spec_start[b] .. spec_start[b + 1]). */
    int32_t *spec_ids;
    uint32_t spec_start[257];
};

/* ---------------------------------------------------------------------------------------------- */
/* Hash maps                                                                                       */
/* ---------------------------------------------------------------------------------------------- */

static inline uint64_t tok__hash(const char *s, size_t n) {
    uint64_t h = wisp__fnv1a(s, n);
    return h ^ (h >> 29);
}

static inline uint64_t tok__mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

static inline uint32_t tok__pow2_at_least(uint64_t n) {
    uint32_t c = 16;
    while (c < n) c <<= 1;
    return c;
}

/* The key a token has in the piece map. */
static inline const char *tok__key(const wisp_tokenizer *t, uint32_t id, uint32_t *len) {
    *len = t->key_span[2 * id + 1];
    return t->arena + t->key_span[2 * id];
}

/* Id of the piece s[0..n) in the piece map, or -1. */
static inline int32_t tok__find(const wisp_tokenizer *t, const char *s, size_t n) {
    uint64_t h = tok__hash(s, n);
    uint32_t i = (uint32_t)h & t->piece_mask, tag = (uint32_t)(h >> 32);
    for (;;) {
        tok_slot v = t->pieces[i];
        if (v.id1 == 0) return -1;
        if (v.tag == tag) {
            uint32_t klen;
            const char *k = tok__key(t, v.id1 - 1, &klen);
            if (klen == n && memcmp(k, s, n) == 0) return (int32_t)(v.id1 - 1);
        }
        i = (i + 1) & t->piece_mask;
    }
}

/* The merge of (l, r): its slot, which is empty (rank1 == 0) when the vocabulary has none. */
static inline const tok_pair *tok__pair(const wisp_tokenizer *t, int32_t l, int32_t r) {
    uint64_t key = (uint64_t)(uint32_t)l << 32 | (uint32_t)r;
    uint32_t i = (uint32_t)tok__mix(key) & t->pair_mask;
    while (t->pairs[i].rank1 != 0 && t->pairs[i].key != key) i = (i + 1) & t->pair_mask;
    return &t->pairs[i];
}

/* Decodes one UTF-8 sequence at s[0..n); returns its length (>= 1) and the code point, or
 * length 1 and cp = -1 for a byte that does not start a valid sequence (utf8.h). */
static inline size_t tok__utf8(const unsigned char *s, size_t n, int32_t *cp) {
    size_t len = wisp__utf8_len(s, n);
    if (len == 0) {
        *cp = -1;
        return 1;
    }
    static const uint8_t lead_mask[5] = {0, 0x7F, 0x1F, 0x0F, 0x07};
    uint32_t v = s[0] & lead_mask[len];
    for (size_t i = 1; i < len; i++) v = v << 6 | (s[i] & 0x3F);
    *cp = (int32_t)v;
    return len;
}

#endif
