/*
 * tokenize.c — the running half of the tokenizer (tokenizer.c builds the tables): special-token
 * splitting, pre-tokenization, byte-level BPE merges and SentencePiece merges. See the comment at
 * the top of tokenizer.c for what each algorithm reproduces.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tokenizer.h"

/* Where ids go: the caller's buffer up to cap, counting past it. */
typedef struct tok_out {
    int32_t *ids;
    size_t cap;
    size_t n;
} tok_out;

/* One merge candidate: key orders the heap (smallest first); right and size let a popped
 * candidate be checked against the symbols as they are now. */
typedef struct tok_cand {
    uint64_t key;
    uint32_t right, size; /* left is the low 32 bits of key */
} tok_cand;

/* Per-call scratch, grown (never shrunk) as segments and words need it and freed at the end of
 * the call: about 17 bytes per code point of the longest text segment plus 52 bytes per symbol of
 * the longest word (a BPE pre-token; for SentencePiece the whole segment). */
typedef struct tok_scratch {
    void *cp_block;    /* holds cp, cc, off, ends, tmp */
    size_t cp_cap;     /* code points the block holds */
    uint32_t *cp;      /* code points of a segment; invalid bytes as U+FFFD */
    uint8_t *cc;       /* their classes */
    uint32_t *off;     /* (cp_cap + 1) byte offset of each code point in the segment */
    uint32_t *ends;    /* pre-token ends */
    uint32_t *tmp;
    void *sym_block;   /* holds sym, start, len, prev, next, heap */
    size_t sym_cap;    /* symbols the block holds */
    int32_t *sym;      /* symbol ids (BPE) */
    uint32_t *start;   /* symbol byte starts (SPM) */
    uint32_t *len;     /* symbol byte lengths (SPM); 0 = merged away */
    int32_t *prev, *next;
    tok_cand *heap;    /* (2 * sym_cap): at most n - 1 initial candidates + one per merge */
    size_t n_heap;
    char *norm;        /* SPM: the segment with U+2581 for spaces */
    size_t norm_cap;
} tok_scratch;

/* Makes room for a segment of n code points. */
static bool tok__reserve_cp(tok_scratch *s, size_t n, wisp_error *err) {
    if (n <= s->cp_cap) return true;
    free(s->cp_block);
    s->cp_cap = 0;
    s->cp_block = malloc(n * (4 + 4 + 4 + 4 + 1) + 4);
    if (!s->cp_block) {
        wisp__fail(err, WISP_ERR_NO_MEMORY, "wisp_tokenize: no memory for %zu code points", n);
        return false;
    }
    char *p = s->cp_block;
    s->cp = (uint32_t *)p, p += n * 4;
    s->off = (uint32_t *)p, p += (n + 1) * 4;
    s->ends = (uint32_t *)p, p += n * 4;
    s->tmp = (uint32_t *)p, p += n * 4;
    s->cc = (uint8_t *)p;
    s->cp_cap = n;
    return true;
}

/* Makes room for a word of n symbols. */
static bool tok__reserve_sym(tok_scratch *s, size_t n, wisp_error *err) {
    if (n <= s->sym_cap) return true;
    free(s->sym_block);
    s->sym_cap = 0;
    s->sym_block = malloc(n * (2 * sizeof(tok_cand) + 5 * 4));
    if (!s->sym_block) {
        wisp__fail(err, WISP_ERR_NO_MEMORY, "wisp_tokenize: no memory for a %zu-symbol word", n);
        return false;
    }
    char *p = s->sym_block;
    s->heap = (tok_cand *)p, p += 2 * n * sizeof(tok_cand);
    s->sym = (int32_t *)p, p += n * 4;
    s->start = (uint32_t *)p, p += n * 4;
    s->len = (uint32_t *)p, p += n * 4;
    s->prev = (int32_t *)p, p += n * 4;
    s->next = (int32_t *)p;
    s->sym_cap = n;
    return true;
}

/* Appends one id, counting it even when the caller's buffer is full. */
static void tok__emit(tok_out *o, int32_t id) {
    if (o->n < o->cap) o->ids[o->n] = id;
    o->n++;
}

/* Binary min-heap of candidates; the per-word priority queue of both merge loops. */
static void tok__push(tok_scratch *s, tok_cand c) {
    size_t i = s->n_heap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (s->heap[p].key <= c.key) break;
        s->heap[i] = s->heap[p];
        i = p;
    }
    s->heap[i] = c;
}

/* Removes and returns the smallest candidate (the heap must not be empty). */
static tok_cand tok__pop(tok_scratch *s) {
    tok_cand top = s->heap[0], last = s->heap[--s->n_heap];
    size_t i = 0, n = s->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && s->heap[c + 1].key < s->heap[c].key) c++;
        if (last.key <= s->heap[c].key) break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n > 0) s->heap[i] = last;
    return top;
}

/* ---------------------------------------------------------------------------------------------- */
/* Byte-level BPE                                                                                 */
/* ---------------------------------------------------------------------------------------------- */

/* Queues the merge of symbols l and r (adjacent) if the vocabulary has one. */
static void tok__bpe_candidate(const wisp_tokenizer *t, tok_scratch *s, int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    const tok_pair *m = tok__pair(t, s->sym[l], s->sym[r]);
    if (m->rank1 == 0) return;
    tok__push(s, (tok_cand){(uint64_t)m->rank1 << 32 | (uint32_t)l,
                            (uint32_t)r, 0});
}

/* Merges the bytes of one pre-token, lowest rank first, and emits the resulting ids. */
static bool tok__bpe_word(const wisp_tokenizer *t, const char *b, size_t n, tok_scratch *s,
                          tok_out *o, wisp_error *err) {
    if (t->ignore_merges || n == 1) {
        int32_t id = tok__find(t, b, n);
        if (id >= 0) {
            tok__emit(o, id);
            return true;
        }
    }
    if (!tok__reserve_sym(s, n, err)) return false;
    for (size_t i = 0; i < n; i++) {
        s->sym[i] = t->byte_token[(uint8_t)b[i]];
        if (s->sym[i] < 0) {
            wisp__fail(err, WISP_ERR_TOKENIZER, "byte 0x%02X has no token in this vocabulary",
                       (uint8_t)b[i]);
            return false;
        }
        s->prev[i] = (int32_t)i - 1;
        s->next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    s->n_heap = 0;
    for (size_t i = 0; i + 1 < n; i++) tok__bpe_candidate(t, s, (int32_t)i, (int32_t)i + 1);
    while (s->n_heap > 0) {
        tok_cand c = tok__pop(s);
        int32_t l = (int32_t)(uint32_t)c.key, r = (int32_t)c.right;
        if (s->sym[l] < 0 || s->next[l] != r || s->sym[r] < 0) continue;
        const tok_pair *m = tok__pair(t, s->sym[l], s->sym[r]);
        if (m->rank1 != (uint32_t)(c.key >> 32)) continue; /* stale: the symbols changed */
        s->sym[l] = m->out;
        s->sym[r] = -1;
        s->next[l] = s->next[r];
        if (s->next[r] >= 0) s->prev[s->next[r]] = l;
        tok__bpe_candidate(t, s, s->prev[l], l);
        tok__bpe_candidate(t, s, l, s->next[l]);
    }
    for (int32_t i = 0; i >= 0; i = s->next[i]) tok__emit(o, s->sym[i]);
    return true;
}

/* Pre-tokenizes one run of text (no special tokens inside) and BPE-merges each pre-token. */
static bool tok__bpe_segment(const wisp_tokenizer *t, const char *text, size_t len, tok_scratch *s,
                             tok_out *o, wisp_error *err) {
    if (!tok__reserve_cp(s, len, err)) return false;
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        int32_t cp;
        size_t k = tok__utf8((const unsigned char *)text + i, len - i, &cp);
        s->cp[n] = cp < 0 ? 0xFFFD : (uint32_t)cp;
        s->cc[n] = wisp_cp_class(s->cp[n]);
        s->off[n++] = (uint32_t)i;
        i += k;
    }
    s->off[n] = (uint32_t)len;
    size_t n_words = wisp_pretok_split(t->pretok, s->cp, s->cc, n, s->ends, s->tmp);
    size_t begin = 0;
    for (size_t w = 0; w < n_words; w++) {
        size_t end = s->ends[w];
        if (!tok__bpe_word(t, text + s->off[begin], s->off[end] - s->off[begin], s, o, err))
            return false;
        begin = end;
    }
    return true;
}

/* ---------------------------------------------------------------------------------------------- */
/* SentencePiece                                                                                   */
/* ---------------------------------------------------------------------------------------------- */

/* A float as an unsigned integer with the same order. */
static uint32_t tok__float_order(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return (u & 0x80000000u) ? ~u : u | 0x80000000u;
}

/* Queues the merge of symbols l and r when the joined piece is a normal token. */
static void tok__spm_candidate(const wisp_tokenizer *t, tok_scratch *s, int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    uint32_t size = s->len[l] + s->len[r];
    int32_t id = tok__find(t, s->norm + s->start[l], size);
    if (id < 0 || t->type[id] != TT_NORMAL) return;
    uint64_t key = (uint64_t)(~tok__float_order(t->score[id])) << 32 | (uint32_t)l;
    tok__push(s, (tok_cand){key, (uint32_t)r, size});
}

/* Tokenizes one run of text the way llama.cpp's SPM tokenizer does (see tokenizer.c). */
static bool tok__spm_segment(const wisp_tokenizer *t, const char *text, size_t len, tok_scratch *s,
                             tok_out *o, wisp_error *err) {
    if (3 * len + 3 > s->norm_cap) {
        free(s->norm);
        s->norm_cap = 0;
        s->norm = malloc(3 * len + 3);
        if (!s->norm) {
            wisp__fail(err, WISP_ERR_NO_MEMORY, "wisp_tokenize: no memory for %zu bytes", len);
            return false;
        }
        s->norm_cap = 3 * len + 3;
    }
    if (!tok__reserve_sym(s, len + 1, err)) return false; /* one symbol per code point */
    size_t m = 0;
    if (t->add_space_prefix) {
        memcpy(s->norm, "\xE2\x96\x81", 3);
        m = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(s->norm + m, "\xE2\x96\x81", 3);
            m += 3;
        } else {
            s->norm[m++] = text[i];
        }
    }
    size_t n = 0;
    for (size_t i = 0; i < m;) {
        int32_t cp;
        size_t k = tok__utf8((const unsigned char *)s->norm + i, m - i, &cp);
        s->start[n] = (uint32_t)i;
        s->len[n] = (uint32_t)k;
        s->prev[n] = (int32_t)n - 1;
        s->next[n] = i + k < m ? (int32_t)n + 1 : -1;
        n++;
        i += k;
    }
    s->n_heap = 0;
    for (size_t i = 0; i + 1 < n; i++) tok__spm_candidate(t, s, (int32_t)i, (int32_t)i + 1);
    while (s->n_heap > 0) {
        tok_cand c = tok__pop(s);
        int32_t l = (int32_t)(uint32_t)c.key, r = (int32_t)c.right;
        if (s->len[l] == 0 || s->len[r] == 0 || s->len[l] + s->len[r] != c.size) continue;
        s->len[l] += s->len[r];
        s->len[r] = 0;
        s->next[l] = s->next[r];
        if (s->next[r] >= 0) s->prev[s->next[r]] = l;
        tok__spm_candidate(t, s, s->prev[l], l);
        tok__spm_candidate(t, s, l, s->next[l]);
    }
    for (int32_t i = n ? 0 : -1; i >= 0; i = s->next[i]) {
        int32_t id = tok__find(t, s->norm + s->start[i], s->len[i]);
        if (id >= 0) {
            tok__emit(o, id);
            continue;
        }
        for (uint32_t k = 0; k < s->len[i]; k++) { /* byte fallback */
            int32_t b = t->byte_token[(uint8_t)s->norm[s->start[i] + k]];
            if (b < 0) b = t->unk;
            if (b < 0) {
                wisp__fail(err, WISP_ERR_TOKENIZER, "byte 0x%02X has no token and there is no "
                           "unknown token", (uint8_t)s->norm[s->start[i] + k]);
                return false;
            }
            tok__emit(o, b);
        }
    }
    return true;
}

/* ---------------------------------------------------------------------------------------------- */
/* Entry point                                                                                     */
/* ---------------------------------------------------------------------------------------------- */

/* Tokenizes a run of text that holds no special token. */
static bool tok__segment(const wisp_tokenizer *t, const char *text, size_t len, tok_scratch *s,
                         tok_out *o, wisp_error *err) {
    if (len == 0) return true;
    if (t->kind == TOK_BPE) return tok__bpe_segment(t, text, len, s, o, err);
    return tok__spm_segment(t, text, len, s, o, err);
}

/* Splits special tokens out (when asked), tokenizes the runs between them; see wisp.h. */
int64_t wisp_tokenize(const wisp_tokenizer *self, const char *text, size_t len, bool parse_special,
                      int32_t *out, size_t cap, wisp_error *err) {
    wisp__clear(err);
    if (!self || (!text && len > 0) || (!out && cap > 0)) {
        wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_tokenize: NULL tokenizer, text or output");
        return -1;
    }
    if (len > (size_t)1 << 30) {
        wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_tokenize: %zu bytes of text is over 1 GiB", len);
        return -1;
    }
    tok_scratch s = {0};
    tok_out o = {out, cap, 0};
    bool ok = true;
    size_t seg = 0;
    for (size_t i = 0; ok && parse_special && i < len;) {
        uint8_t b = (uint8_t)text[i];
        int32_t hit = -1;
        for (uint32_t k = self->spec_start[b]; k < self->spec_start[b + 1]; k++) {
            int32_t id = self->spec_ids[k];
            uint32_t n = self->text_len[id];
            if (n <= len - i && memcmp(text + i, self->arena + self->text_off[id], n) == 0) {
                hit = id;
                break;
            }
        }
        if (hit < 0) {
            i++;
            continue;
        }
        ok = tok__segment(self, text + seg, i - seg, &s, &o, err);
        tok__emit(&o, hit);
        i += self->text_len[hit];
        seg = i;
    }
    if (ok) ok = tok__segment(self, text + seg, len - seg, &s, &o, err);
    free(s.cp_block);
    free(s.sym_block);
    free(s.norm);
    return ok ? (int64_t)o.n : -1;
}
