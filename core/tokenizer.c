/*
 * tokenizer.c — text to token ids for the vocabularies GGUF code models ship (wisp.h section 4).
 *
 * Two algorithms, chosen by `tokenizer.ggml.model`:
 *   "gpt2"  byte-level BPE. The text is pre-tokenized (pretok.c) by `tokenizer.ggml.pre`:
 *           gpt-2 (also gpt2, mpt, olmo), llama3 (also llama-bpe, llama-v3, smaug-bpe, dbrx),
 *           qwen2 (also deepseek-r1-qwen), starcoder (also refact, smollm, codeshell, command-r),
 *           deepseek-coder. A file without the key is read as gpt-2 (old GGUFs predate it); any
 *           other value fails to load with WISP_ERR_UNSUPPORTED naming it: a silent fallback would
 *           give ids the model was never trained on. Each pre-token's bytes are merged by rank
 *           (`tokenizer.ggml.merges`), lowest rank first, leftmost first among equals; with llama3
 *           a pre-token that is itself in the vocabulary is taken whole (HF's ignore_merges).
 *   "llama" SentencePiece BPE as llama.cpp runs it: spaces become U+2581 (with one prepended to
 *           each run of text between special tokens when `tokenizer.ggml.add_space_prefix`,
 *           default true, as HF's legacy Llama tokenizer and llama.cpp do), code points are merged
 *           by the highest `tokenizer.ggml.scores` of the joined piece (leftmost first; only
 *           NORMAL tokens are merge results), and pieces not in the vocabulary fall back to
 *           <0xXX> byte tokens (or to the unknown token).
 * Control, user-defined and unknown token texts are split out first when parse_special is true
 * (leftmost, then longest). No Unicode normalization is applied (HF's Qwen2 tokenizer applies
 * NFC; callers feeding decomposed text get llama.cpp's ids, not HF's).
 * Special ids: BOS, EOS, PAD from their keys; EOT and the six FIM ids from their keys or, in files
 * without them, from a table of well-known spellings (the only token texts the engine knows).
 *
 * Everything the hot path needs is built once at load: a hash map piece -> id, a hash map
 * (left id, right id) -> (rank, merged id), byte -> token tables. A call allocates only scratch
 * proportional to its text and frees it before returning. The tokenizer is read-only after load,
 * so one tokenizer may be used from several threads at once.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tokenizer.h"

/* Adds token `id` to the piece map unless an earlier token holds the same key. */
static void tok__insert(wisp_tokenizer *t, uint32_t id) {
    uint32_t n;
    const char *s = tok__key(t, id, &n);
    uint64_t h = tok__hash(s, n);
    uint32_t i = (uint32_t)h & t->piece_mask, tag = (uint32_t)(h >> 32);
    for (;;) {
        tok_slot v = t->pieces[i];
        if (v.id1 == 0) {
            t->pieces[i] = (tok_slot){id + 1, tag};
            return;
        }
        if (v.tag == tag) {
            uint32_t klen;
            const char *k = tok__key(t, v.id1 - 1, &klen);
            if (klen == n && memcmp(k, s, n) == 0) return;
        }
        i = (i + 1) & t->piece_mask;
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* Loading                                                                                         */
/* ---------------------------------------------------------------------------------------------- */

/* GPT-2's byte-level alphabet, inverted: code point -> byte, or -1 (cp < 324). */
static void tok__byte_decoder(int16_t dec[324]) {
    for (int i = 0; i < 324; i++) dec[i] = -1;
    int n = 0;
    for (int b = 0; b < 256; b++) {
        bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        if (printable) dec[b] = (int16_t)b;
        else dec[256 + n++] = (int16_t)b;
    }
}

/* A token's detokenized bytes written at dst (room for 4x the text); returns their length. */
static uint32_t tok__decode_piece(const wisp_tokenizer *t, const int16_t dec[324], const char *s,
                                  uint32_t n, uint8_t type, char *dst) {
    if (type == TT_CONTROL || type == TT_USER || type == TT_UNKNOWN || type == TT_UNUSED) {
        memcpy(dst, s, n);
        return n;
    }
    if (t->kind == TOK_SPM) {
        if (type == TT_BYTE && n == 6 && memcmp(s, "<0x", 3) == 0) {
            dst[0] = (char)strtol((char[]){s[3], s[4], 0}, NULL, 16);
            return 1;
        }
        uint32_t o = 0;
        for (uint32_t i = 0; i < n;) {
            if (i + 3 <= n && memcmp(s + i, "\xE2\x96\x81", 3) == 0) {
                dst[o++] = ' ';
                i += 3;
            } else {
                dst[o++] = s[i++];
            }
        }
        return o;
    }
    uint32_t o = 0;
    for (size_t i = 0; i < n;) {
        int32_t cp;
        i += tok__utf8((const unsigned char *)s + i, n - i, &cp);
        if (cp < 0 || cp >= 324 || dec[cp] < 0) { /* not byte-level text: keep it as it is */
            memcpy(dst, s, n);
            return n;
        }
        dst[o++] = (char)dec[cp];
    }
    return o;
}

/* Reads an optional token-id key; an id outside the vocabulary is an error naming the key. */
static bool tok__id_key(wisp_tokenizer *t, const wisp_gguf *g, const char *key, int32_t *out,
                        wisp_error *err) {
    int64_t v;
    if (!wisp_gguf_get_i64(g, key, &v)) return true;
    if (v < 0 || v >= (int64_t)t->n_vocab) {
        if (v == -1 || v == 0xFFFFFFFFll) return true; /* some writers spell "none" this way */
        wisp__fail(err, WISP_ERR_TOKENIZER, "%s = %lld is outside the vocabulary of %u tokens", key,
                   (long long)v, t->n_vocab);
        return false;
    }
    *out = (int32_t)v;
    return true;
}

/* Well-known FIM spellings for files without tokenizer.ggml.fim_*_token_id (first found wins). */
static const char *const tok__fim_texts[6][7] = {
    {"<|fim_prefix|>", "<fim_prefix>", "<fim-prefix>", "<PRE>", "\xE2\x96\x81<PRE>",
     "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "begin\xEF\xBD\x9C>", NULL},
    {"<|fim_suffix|>", "<fim_suffix>", "<fim-suffix>", "<SUF>", "\xE2\x96\x81<SUF>",
     "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "hole\xEF\xBD\x9C>", NULL},
    {"<|fim_middle|>", "<fim_middle>", "<fim-middle>", "<MID>", "\xE2\x96\x81<MID>",
     "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "end\xEF\xBD\x9C>", NULL},
    {"<|fim_pad|>", "<fim_pad>", "<fim-pad>", "<PAD>", NULL},
    {"<|repo_name|>", "<repo_name>", "<reponame>", NULL},
    {"<|file_sep|>", "<file_sep>", "<filename>", NULL},
};

/* Well-known end-of-turn spellings, for files without tokenizer.ggml.eot_token_id (as llama.cpp
 * finds them); used only when the token found is not already EOS. */
static const char *const tok__eot_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>",
    "\xE2\x96\x81<EOT>", "<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>",
    NULL};

/* Id of the first token whose raw text is one of `texts`, or -1 (a scan: load time only). */
static int32_t tok__find_text(const wisp_tokenizer *t, const char *const *texts) {
    for (; *texts; texts++) {
        size_t n = strlen(*texts);
        for (uint32_t id = 0; id < t->n_vocab; id++) {
            if (t->text_len[id] == n && memcmp(t->arena + t->text_off[id], *texts, n) == 0)
                return (int32_t)id;
        }
    }
    return -1;
}

/* Special ids: BOS/EOS/PAD from keys; EOT and FIM from keys or, in older files, spellings. */
static bool tok__load_specials(wisp_tokenizer *t, const wisp_gguf *g, wisp_error *err) {
    static const char *const keys[WISP_SPECIAL_COUNT][2] = {
        {"tokenizer.ggml.bos_token_id", NULL},
        {"tokenizer.ggml.eos_token_id", NULL},
        {"tokenizer.ggml.eot_token_id", NULL},
        {"tokenizer.ggml.padding_token_id", NULL},
        {"tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.prefix_token_id"},
        {"tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.suffix_token_id"},
        {"tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.middle_token_id"},
        {"tokenizer.ggml.fim_pad_token_id", NULL},
        {"tokenizer.ggml.fim_rep_token_id", NULL},
        {"tokenizer.ggml.fim_sep_token_id", NULL},
    };
    for (int s = 0; s < WISP_SPECIAL_COUNT; s++) {
        t->special[s] = WISP_NO_TOKEN;
        for (int k = 1; k >= 0; k--) {
            if (keys[s][k] && !tok__id_key(t, g, keys[s][k], &t->special[s], err)) return false;
        }
        if (s >= WISP_SPECIAL_FIM_PRE && t->special[s] == WISP_NO_TOKEN)
            t->special[s] = tok__find_text(t, tok__fim_texts[s - WISP_SPECIAL_FIM_PRE]);
    }
    if (t->special[WISP_SPECIAL_EOT] == WISP_NO_TOKEN) {
        int32_t eot = tok__find_text(t, tok__eot_texts);
        if (eot != t->special[WISP_SPECIAL_EOS]) t->special[WISP_SPECIAL_EOT] = eot;
    }
    t->unk = WISP_NO_TOKEN;
    if (!tok__id_key(t, g, "tokenizer.ggml.unknown_token_id", &t->unk, err)) return false;
    return true;
}

/* Orders special tokens by first byte, then longest text first (leftmost-longest matching). */
typedef struct tok_spec_key {
    uint32_t first, len;
    int32_t id;
} tok_spec_key;

/* qsort order of tok_spec_key: first byte, then longest text, then id. */
static int tok__spec_cmp(const void *a, const void *b) {
    const tok_spec_key *x = a, *y = b;
    if (x->first != y->first) return x->first < y->first ? -1 : 1;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Builds the pair map from `tokenizer.ggml.merges` ("A B" in byte-level text, rank = index);
 * merges naming tokens the vocabulary lacks are skipped, as they can never apply. */
static bool tok__load_merges(wisp_tokenizer *t, const wisp_gguf *g, wisp_error *err) {
    int64_t mi = wisp_gguf_find(g, "tokenizer.ggml.merges");
    if (mi < 0 || wisp_gguf_arr_type(g, mi) != WISP_GGUF_STRING) {
        wisp__fail(err, WISP_ERR_TOKENIZER, "tokenizer.ggml.merges: missing or not strings");
        return false;
    }
    uint64_t n = wisp_gguf_arr_len(g, mi);
    if (n > (1u << 30)) {
        wisp__fail(err, WISP_ERR_TOKENIZER, "tokenizer.ggml.merges: %llu merges is absurd",
                   (unsigned long long)n);
        return false;
    }
    uint32_t cap = tok__pow2_at_least(n + n / 2 + 1);
    t->pair_mask = cap - 1;
    t->pairs = calloc(cap, sizeof *t->pairs);
    if (!t->pairs) {
        wisp__fail(err, WISP_ERR_NO_MEMORY, "tokenizer: no memory for %llu merges",
                   (unsigned long long)n);
        return false;
    }
    int16_t dec[324];
    tok__byte_decoder(dec);
    uint64_t longest = 0; /* decoded bytes are never longer than the merge text */
    for (uint64_t r = 0; r < n; r++) {
        wisp_str m;
        if (wisp_gguf_arr_str(g, mi, r, &m) && m.len > longest) longest = m.len;
    }
    char *buf = malloc(longest + 1);
    if (!buf) {
        wisp__fail(err, WISP_ERR_NO_MEMORY, "tokenizer: no memory for a %llu-byte merge",
                   (unsigned long long)longest);
        return false;
    }
    for (uint64_t r = 0; r < n; r++) {
        wisp_str m;
        if (!wisp_gguf_arr_str(g, mi, r, &m)) continue;
        const char *sp = memchr(m.ptr + (m.len > 0), ' ', m.len > 0 ? m.len - 1 : 0);
        if (!sp) continue; /* malformed: no pair */
        uint32_t la = (uint32_t)(sp - m.ptr), lb = (uint32_t)(m.len - la - 1);
        uint32_t na = tok__decode_piece(t, dec, m.ptr, la, TT_NORMAL, buf);
        uint32_t nb = tok__decode_piece(t, dec, sp + 1, lb, TT_NORMAL, buf + na);
        int32_t x = tok__find(t, buf, na), y = tok__find(t, buf + na, nb);
        int32_t xy = tok__find(t, buf, na + nb);
        if (x < 0 || y < 0 || xy < 0) continue; /* names a token the vocabulary lacks */
        tok_pair *slot = (tok_pair *)tok__pair(t, x, y);
        if (slot->rank1 != 0) continue; /* a repeated merge keeps its first rank */
        *slot = (tok_pair){(uint64_t)(uint32_t)x << 32 | (uint32_t)y, (uint32_t)r + 1, xy};
    }
    free(buf);
    return true;
}

/* Reads and checks the keys, copies every token, then builds the maps (see the top comment). */
wisp_tokenizer *wisp_tokenizer_load(const wisp_gguf *g, wisp_error *err) {
    wisp__clear(err);
    if (!g) {
        wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_tokenizer_load: gguf is NULL");
        return NULL;
    }
    wisp_str model;
    if (!wisp_gguf_get_str(g, "tokenizer.ggml.model", &model)) {
        wisp__fail(err, WISP_ERR_TOKENIZER, "tokenizer.ggml.model: missing");
        return NULL;
    }
    tok_kind kind;
    if (model.len == 4 && memcmp(model.ptr, "gpt2", 4) == 0) kind = TOK_BPE;
    else if (model.len == 5 && memcmp(model.ptr, "llama", 5) == 0) kind = TOK_SPM;
    else {
        wisp__fail(err, WISP_ERR_UNSUPPORTED, "tokenizer.ggml.model \"%.*s\": wisp reads gpt2 "
                   "(byte-level BPE) and llama (SentencePiece)", (int)(model.len > 64 ? 64 : model.len),
                   model.ptr);
        return NULL;
    }
    wisp_pretok pretok = WISP_PRETOK_GPT2;
    wisp_str pre;
    if (kind == TOK_BPE && wisp_gguf_get_str(g, "tokenizer.ggml.pre", &pre) &&
        !(pre.len == 7 && memcmp(pre.ptr, "default", 7) == 0) &&
        !wisp_pretok_from_name(pre.ptr, pre.len, &pretok)) {
        wisp__fail(err, WISP_ERR_UNSUPPORTED, "tokenizer.ggml.pre \"%.*s\": no such pre-tokenizer "
                   "in wisp (known: gpt-2, llama3/llama-bpe, qwen2, starcoder/refact, "
                   "deepseek-coder)", (int)(pre.len > 64 ? 64 : pre.len), pre.ptr);
        return NULL;
    }
    int64_t ti = wisp_gguf_find(g, "tokenizer.ggml.tokens");
    if (ti < 0 || wisp_gguf_kv_type(g, ti) != WISP_GGUF_ARRAY ||
        wisp_gguf_arr_type(g, ti) != WISP_GGUF_STRING || wisp_gguf_arr_len(g, ti) == 0) {
        wisp__fail(err, WISP_ERR_TOKENIZER, "tokenizer.ggml.tokens: missing, empty or not strings");
        return NULL;
    }
    uint64_t n = wisp_gguf_arr_len(g, ti);
    if (n >= (1u << 24)) {
        wisp__fail(err, WISP_ERR_TOKENIZER, "tokenizer.ggml.tokens: %llu tokens is absurd",
                   (unsigned long long)n);
        return NULL;
    }
    int64_t tyi = wisp_gguf_find(g, "tokenizer.ggml.token_type");
    if (tyi >= 0 && wisp_gguf_arr_len(g, tyi) != n) {
        wisp__fail(err, WISP_ERR_TOKENIZER, "tokenizer.ggml.token_type: %llu entries for %llu tokens",
                   (unsigned long long)wisp_gguf_arr_len(g, tyi), (unsigned long long)n);
        return NULL;
    }
    int64_t si = wisp_gguf_find(g, "tokenizer.ggml.scores");
    if (kind == TOK_SPM && (si < 0 || wisp_gguf_arr_len(g, si) != n)) {
        wisp__fail(err, WISP_ERR_TOKENIZER, "tokenizer.ggml.scores: missing or not one per token");
        return NULL;
    }

    wisp_tokenizer *t = calloc(1, sizeof *t);
    if (!t) {
        wisp__fail(err, WISP_ERR_NO_MEMORY, "tokenizer: no memory");
        return NULL;
    }
    t->kind = kind;
    t->pretok = pretok;
    t->ignore_merges = kind == TOK_BPE && pretok == WISP_PRETOK_LLAMA3;
    t->add_space_prefix = true;
    if (kind == TOK_SPM) wisp_gguf_get_bool(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix);
    t->n_vocab = (uint32_t)n;
    uint64_t text_bytes = 0;
    for (uint64_t i = 0; i < n; i++) {
        wisp_str s;
        if (!wisp_gguf_arr_str(g, ti, i, &s) || s.len > 65536) {
            wisp__fail(err, WISP_ERR_TOKENIZER, "tokenizer.ggml.tokens[%llu]: unreadable or over 64 KiB",
                       (unsigned long long)i);
            wisp_tokenizer_free(t);
            return NULL;
        }
        text_bytes += s.len;
    }
    t->arena = malloc(text_bytes * 2 + 16);
    t->text_off = malloc(n * sizeof(uint32_t));
    t->text_len = malloc(n * sizeof(uint32_t));
    t->bytes_off = malloc(n * sizeof(uint32_t));
    t->bytes_len = malloc(n * sizeof(uint32_t));
    t->key_span = malloc(n * 2 * sizeof(uint32_t));
    t->type = malloc(n);
    t->score = kind == TOK_SPM ? malloc(n * sizeof(float)) : NULL;
    uint32_t piece_cap = tok__pow2_at_least(n + n / 2 + 1);
    t->piece_mask = piece_cap - 1;
    t->pieces = calloc(piece_cap, sizeof *t->pieces);
    t->spec_ids = malloc(n * sizeof(int32_t));
    if (!t->arena || !t->text_off || !t->text_len || !t->bytes_off || !t->bytes_len || !t->key_span || !t->type ||
        (kind == TOK_SPM && !t->score) || !t->pieces || !t->spec_ids ||
        text_bytes * 2 + 16 > UINT32_MAX) {
        wisp__fail(err, WISP_ERR_NO_MEMORY, "tokenizer: no memory for %llu tokens",
                   (unsigned long long)n);
        wisp_tokenizer_free(t);
        return NULL;
    }
    int16_t dec[324];
    tok__byte_decoder(dec);
    uint32_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        wisp_str s;
        wisp_gguf_arr_str(g, ti, i, &s);
        int64_t ty = TT_NORMAL;
        if (tyi >= 0 && (!wisp_gguf_arr_i64(g, tyi, i, &ty) || ty < 1 || ty > 6)) ty = TT_NORMAL;
        t->type[i] = (uint8_t)ty;
        if (kind == TOK_SPM) {
            double sc = 0;
            wisp_gguf_arr_f64(g, si, i, &sc);
            t->score[i] = (float)sc;
            if (t->type[i] == TT_NORMAL && s.len == 6 && memcmp(s.ptr, "<0x", 3) == 0 && tyi < 0)
                t->type[i] = TT_BYTE;
        }
        t->text_off[i] = off;
        t->text_len[i] = (uint32_t)s.len;
        memcpy(t->arena + off, s.ptr, s.len);
        off += (uint32_t)s.len;
        t->bytes_off[i] = off;
        t->bytes_len[i] = tok__decode_piece(t, dec, s.ptr, (uint32_t)s.len, t->type[i], t->arena + off);
        off += t->bytes_len[i];
        t->key_span[2 * i] = kind == TOK_BPE ? t->bytes_off[i] : t->text_off[i];
        t->key_span[2 * i + 1] = kind == TOK_BPE ? t->bytes_len[i] : t->text_len[i];
    }
    for (int b = 0; b < 256; b++) t->byte_token[b] = -1;
    uint32_t n_spec = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t ty = t->type[i];
        if (kind == TOK_SPM || ty == TT_NORMAL) tok__insert(t, i);
        if (kind == TOK_SPM && ty == TT_BYTE && t->bytes_len[i] == 1 &&
            t->byte_token[(uint8_t)t->arena[t->bytes_off[i]]] < 0)
            t->byte_token[(uint8_t)t->arena[t->bytes_off[i]]] = (int32_t)i;
        if ((ty == TT_CONTROL || ty == TT_USER || ty == TT_UNKNOWN) && t->text_len[i] > 0)
            t->spec_ids[n_spec++] = (int32_t)i;
    }
    if (kind == TOK_BPE) {
        for (int b = 0; b < 256; b++) t->byte_token[b] = tok__find(t, (const char[]){(char)b}, 1);
        if (!tok__load_merges(t, g, err)) {
            wisp_tokenizer_free(t);
            return NULL;
        }
    }
    tok_spec_key *keys = malloc((n_spec + 1) * sizeof *keys);
    if (!keys) {
        wisp__fail(err, WISP_ERR_NO_MEMORY, "tokenizer: no memory");
        wisp_tokenizer_free(t);
        return NULL;
    }
    for (uint32_t i = 0; i < n_spec; i++) {
        int32_t id = t->spec_ids[i];
        keys[i] = (tok_spec_key){(uint8_t)t->arena[t->text_off[id]], t->text_len[id], id};
    }
    qsort(keys, n_spec, sizeof *keys, tok__spec_cmp);
    for (uint32_t i = 0; i < n_spec; i++) t->spec_ids[i] = keys[i].id;
    free(keys);
    uint32_t k = 0;
    for (int b = 0; b < 257; b++) {
        while (k < n_spec && (uint8_t)t->arena[t->text_off[t->spec_ids[k]]] < b) k++;
        t->spec_start[b] = k;
    }
    t->spec_start[256] = n_spec;
    if (!tok__load_specials(t, g, err)) {
        wisp_tokenizer_free(t);
        return NULL;
    }
    return t;
}

void wisp_tokenizer_free(wisp_tokenizer *self) {
    if (!self) return;
    free(self->arena);
    free(self->text_off);
    free(self->text_len);
    free(self->bytes_off);
    free(self->bytes_len);
    free(self->key_span);
    free(self->type);
    free(self->score);
    free(self->pieces);
    free(self->pairs);
    free(self->spec_ids);
    free(self);
}

uint32_t wisp_tokenizer_n_vocab(const wisp_tokenizer *self) { return self ? self->n_vocab : 0; }

int32_t wisp_tokenizer_special(const wisp_tokenizer *self, wisp_special which) {
    if (!self || (unsigned)which >= WISP_SPECIAL_COUNT) return WISP_NO_TOKEN;
    return self->special[which];
}

bool wisp_tokenizer_is_control(const wisp_tokenizer *self, int32_t id) {
    if (!self || id < 0 || (uint32_t)id >= self->n_vocab) return false;
    if (self->type[id] == TT_CONTROL) return true;
    for (int s = 0; s < WISP_SPECIAL_COUNT; s++) {
        if (self->special[s] == id) return true;
    }
    return false;
}

wisp_str wisp_token_bytes(const wisp_tokenizer *self, int32_t id) {
    if (!self || id < 0 || (uint32_t)id >= self->n_vocab) return (wisp_str){"", 0};
    return (wisp_str){self->arena + self->bytes_off[id], self->bytes_len[id]};
}

wisp_str wisp_token_text(const wisp_tokenizer *self, int32_t id) {
    if (!self || id < 0 || (uint32_t)id >= self->n_vocab) return (wisp_str){"", 0};
    return (wisp_str){self->arena + self->text_off[id], self->text_len[id]};
}
