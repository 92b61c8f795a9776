/*
 * Arrival order (wisp.h section 6): rewrites a GGUF file so that its tensor data comes in the
 * order a progressive download needs it (wisp_model_load_partial) — the embedding, the final norm
 * and the head first, then block after block — so that the first part of the file already
 * answers (early exit) and each later part adds a block. The tensor table is permuted with the
 * data: llama.cpp's reader (gguf.cpp) requires each tensor's offset to be the aligned end of the
 * previous entry's, so a table in the old order over data in the new one would not load there.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gguf.h"

/* One tensor's place in the new order: sorted by (rank, block, index). */
typedef struct reorder__key {
    uint32_t rank;   /* 0 embedding, 1 output norm, 2 head, 3 outside any block, 4 a block */
    uint32_t block;  /* blk.N: N */
    int64_t index;   /* in the tensor table: keeps the table's order within a block */
} reorder__key;

static bool reorder__is(wisp_str s, const char *name) {
    return s.len == strlen(name) && !memcmp(s.ptr, name, s.len);
}

/* N of a name "blk.N.*" (decimal, below 2^32), or false. */
static bool reorder__block(wisp_str s, uint32_t *n) {
    if (s.len < 6 || memcmp(s.ptr, "blk.", 4)) return false;
    uint64_t v = 0;
    uint64_t i = 4;
    for (; i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9' && v <= UINT32_MAX; i++) v = v * 10 + (uint64_t)(s.ptr[i] - '0');
    if (i == 4 || i >= s.len || s.ptr[i] != '.' || v > UINT32_MAX) return false;
    *n = (uint32_t)v;
    return true;
}

static reorder__key reorder__key_of(const wisp_gguf_tensor *t, int64_t index) {
    reorder__key k = {.rank = 3, .block = 0, .index = index};
    if (reorder__is(t->name, "token_embd.weight")) k.rank = 0;
    else if (reorder__is(t->name, "output_norm.weight")) k.rank = 1;
    else if (reorder__is(t->name, "output.weight")) k.rank = 2;
    else if (reorder__block(t->name, &k.block)) k.rank = 4;
    return k;
}

static int reorder__cmp(const void *pa, const void *pb) {
    const reorder__key *a = pa, *b = pb;
    if (a->rank != b->rank) return a->rank < b->rank ? -1 : 1;
    if (a->block != b->block) return a->block < b->block ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* Where the tensor table starts: right after the last metadata record. */
static uint64_t reorder__table_start(const wisp_gguf *g, const uint8_t *base) {
    int64_t n_kv = wisp_gguf_n_kv(g);
    if (n_kv == 0) return 4 + 4 + 8 + 8;
    const void *raw;
    uint64_t len;
    wisp_gguf__kv_raw(g, n_kv - 1, &raw, &len);
    return (uint64_t)((const uint8_t *)raw - base) + len;
}

void *wisp_gguf_reorder(const void *in, size_t in_size, size_t *out_size, wisp_error *err) {
    wisp__clear(err);
    if (!in || !out_size) {
        wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_gguf_reorder: NULL input or out_size");
        return NULL;
    }
    wisp_gguf *g = wisp_gguf_open(in, in_size, err);
    if (!g) return NULL;
    const int64_t n = wisp_gguf_n_tensors(g);
    const uint64_t align = wisp_gguf_alignment(g), data_start = wisp_gguf__data_offset(g);
    reorder__key *order = malloc(((size_t)n + 1) * sizeof *order);
    uint64_t *entry = malloc(((size_t)n + 1) * sizeof *entry); /* where table entry i starts */
    uint8_t *out = NULL;
    if (!order || !entry) goto no_memory;
    const uint8_t *base = in;
    uint64_t at = reorder__table_start(g, base);
    for (int64_t i = 0; i < n; i++) {
        const wisp_gguf_tensor *t = wisp_gguf_tensor_at(g, i);
        order[i] = reorder__key_of(t, i);
        entry[i] = at;
        at += 8 + t->name.len + 4 + 8 * (uint64_t)t->n_dims + 4 + 8;
    }
    qsort(order, (size_t)n, sizeof *order, reorder__cmp);

    /* every tensor at the next multiple of the alignment; the file ends at the last one's
     * aligned end (the sizes are the input's, so nothing overflows) */
    uint64_t data = 0;
    for (int64_t k = 0; k < n; k++) {
        const wisp_gguf_tensor *t = wisp_gguf_tensor_at(g, order[k].index);
        data += (t->size + align - 1) / align * align;
    }
    const uint64_t total = data_start + data;
    if (total > SIZE_MAX) goto no_memory;
    out = calloc(1, (size_t)total);
    if (!out) goto no_memory;

    /* header and metadata as they are; the table's entries in the new order, each with its
     * new offset; the data */
    uint64_t table = reorder__table_start(g, base), off = 0;
    memcpy(out, base, (size_t)table);
    for (int64_t k = 0; k < n; k++) {
        const wisp_gguf_tensor *t = wisp_gguf_tensor_at(g, order[k].index);
        uint64_t len = 8 + t->name.len + 4 + 8 * (uint64_t)t->n_dims + 4;
        memcpy(out + table, base + entry[order[k].index], (size_t)len);
        memcpy(out + table + len, &off, 8);
        memcpy(out + data_start + off, t->data, (size_t)t->size);
        table += len + 8;
        off += (t->size + align - 1) / align * align;
    }
    free(order);
    free(entry);
    wisp_gguf_free(g);
    *out_size = (size_t)total;
    return out;
no_memory:
    wisp__fail(err, WISP_ERR_NO_MEMORY, "no memory for the reordered file");
    free(order);
    free(entry);
    wisp_gguf_free(g);
    return NULL;
}
