/*
 * GGUF reader: a read-only view over a caller-owned buffer (wisp.h section 2).
 *
 * The whole file is validated once, in wisp_gguf_open: every count, length and offset is checked
 * against the bytes that remain before it is used or allocated for, so the getters afterwards
 * can trust what they read. Nothing is copied: keys, strings and tensor data point into the
 * buffer. Two hash tables (keys, tensor names) make lookups O(1), and string arrays get an
 * index of element offsets so that wisp_gguf_arr_str(…, j) is O(1) on 150k-token vocabularies.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gguf.h"
#include "hash.h"

#define GGUF__MAX_ARRAY_DEPTH 8   /* arrays of arrays nested deeper than this are rejected */
#define GGUF__MAX_DIMS 4
#define GGUF__MAX_ALIGNMENT (1u << 24)
#define GGUF__MAX_COUNT (1ull << 30) /* keeps hash-table indices in uint32 */

/* One metadata entry. For arrays, `val_off` is the offset of the first element. */
typedef struct gguf__kv {
    wisp_str key;
    wisp_gguf_type type;
    wisp_gguf_type arr_type; /* == type for scalars */
    uint64_t arr_len;        /* 1 for scalars */
    uint64_t rec_off;        /* offset of the record (key length prefix) */
    uint64_t rec_len;        /* bytes of the whole record */
    uint64_t val_off;        /* offset of the value (scalars) or of element 0 (arrays) */
    uint32_t *str_off;       /* string arrays: offset of each element's length prefix from
                                val_off (4 bytes an entry: 0.6 MiB for a 150k vocabulary); owned */
} gguf__kv;

struct wisp_gguf {
    const uint8_t *base;
    size_t size;
    uint32_t version;
    uint64_t alignment;
    int64_t n_kv;
    gguf__kv *kv;              /* n_kv, owned */
    int64_t n_tensors;
    wisp_gguf_tensor *tensors; /* n_tensors, owned */
    uint32_t *kv_hash;         /* kv_cap slots: index + 1, 0 = empty; owned */
    uint64_t kv_cap;
    uint32_t *tensor_hash;     /* tensor_cap slots, as kv_hash; owned */
    uint64_t tensor_cap;
    uint64_t data_off;         /* start of the aligned data section */
};

/* A bounds-checked reading position inside the buffer. Every count and length is judged against
 * `size` (the file: past it, the file is malformed); reads stop at `avail` (the bytes present,
 * == size unless the file is still arriving: past it, WISP_ERR_LOADING). */
typedef struct gguf__cursor {
    const uint8_t *base;
    size_t size;
    size_t avail;
    size_t pos;
    wisp_error *err;
} gguf__cursor;

static size_t gguf__type_size(wisp_gguf_type t) {
    switch (t) {
    case WISP_GGUF_UINT8: case WISP_GGUF_INT8: case WISP_GGUF_BOOL: return 1;
    case WISP_GGUF_UINT16: case WISP_GGUF_INT16: return 2;
    case WISP_GGUF_UINT32: case WISP_GGUF_INT32: case WISP_GGUF_FLOAT32: return 4;
    case WISP_GGUF_UINT64: case WISP_GGUF_INT64: case WISP_GGUF_FLOAT64: return 8;
    default: return 0; /* string, array: variable */
    }
}

static const char *gguf__type_name(wisp_gguf_type t) {
    static const char *names[] = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
                                  "bool", "string", "array", "uint64", "int64", "float64"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

/* FNV-1a over the bytes of a name (hash.h); the hash tables are small and keys are short. */
static uint64_t gguf__hash(const char *s, uint64_t len) { return wisp__fnv1a(s, (size_t)len); }

static size_t gguf__remaining(const gguf__cursor *c) { return c->size - c->pos; }

/* For `n` bytes at the cursor that lie inside the file: false (WISP_ERR_LOADING) when they have
 * not all arrived yet. */
static bool gguf__arrived(gguf__cursor *c, size_t n, const char *what) {
    if (n <= c->avail - c->pos) return true;
    wisp__fail(c->err, WISP_ERR_LOADING,
               "model still loading: %s at byte %zu needs %zu bytes, %zu of the file's %zu have arrived",
               what, c->pos, n, c->avail, c->size);
    return false;
}

/* Reads `n` bytes into `out` or fails naming `what`. */
static bool gguf__read(gguf__cursor *c, void *out, size_t n, const char *what) {
    if (n > gguf__remaining(c)) {
        wisp__fail(c->err, WISP_ERR_BAD_MODEL,
                   "truncated file: %s at byte %zu needs %zu bytes, the file has %zu", what, c->pos,
                   n, c->size);
        return false;
    }
    if (!gguf__arrived(c, n, what)) return false;
    memcpy(out, c->base + c->pos, n);
    c->pos += n;
    return true;
}

static bool gguf__u32(gguf__cursor *c, uint32_t *out, const char *what) {
    return gguf__read(c, out, 4, what);
}

static bool gguf__u64(gguf__cursor *c, uint64_t *out, const char *what) {
    return gguf__read(c, out, 8, what);
}

/* Reads a length-prefixed string, checking the length against the bytes left. */
static bool gguf__str(gguf__cursor *c, wisp_str *out, const char *what) {
    uint64_t len;
    if (!gguf__u64(c, &len, what)) return false;
    if (len > gguf__remaining(c)) {
        wisp__fail(c->err, WISP_ERR_BAD_MODEL,
                   "%s at byte %zu: string length %llu runs past the end of the file "
                   "(%zu bytes left)",
                   what, c->pos - 8, (unsigned long long)len, gguf__remaining(c));
        return false;
    }
    if (!gguf__arrived(c, (size_t)len, what)) return false;
    out->ptr = (const char *)c->base + c->pos;
    out->len = len;
    c->pos += (size_t)len;
    return true;
}

/* Skips (validating) `count` values of type `t`; for a top-level string array records each
 * element's offset from the array's start in `str_off` when given. `key` names the entry in
 * messages. */
static bool gguf__skip_values(gguf__cursor *c, wisp_gguf_type t, uint64_t count, int depth,
                              const wisp_str *key, uint32_t *str_off) {
    size_t fixed = gguf__type_size(t);
    if (fixed) {
        if (count > gguf__remaining(c) / fixed) {
            wisp__fail(c->err, WISP_ERR_BAD_MODEL,
                       "key %.*s: array of %llu %s values runs past the end of the file "
                       "(%zu bytes left)",
                       (int)key->len, key->ptr, (unsigned long long)count, gguf__type_name(t),
                       gguf__remaining(c));
            return false;
        }
        if (!gguf__arrived(c, (size_t)(count * fixed), "array values")) return false;
        c->pos += (size_t)(count * fixed);
        return true;
    }
    if (t == WISP_GGUF_STRING) {
        size_t start = c->pos;
        for (uint64_t j = 0; j < count; j++) {
            if (str_off) {
                if (c->pos - start > UINT32_MAX) {
                    wisp__fail(c->err, WISP_ERR_UNSUPPORTED,
                               "key %.*s: string array larger than 4 GiB", (int)key->len, key->ptr);
                    return false;
                }
                str_off[j] = (uint32_t)(c->pos - start);
            }
            wisp_str s;
            if (!gguf__str(c, &s, "string array element")) return false;
        }
        return true;
    }
    if (t == WISP_GGUF_ARRAY) {
        if (depth >= GGUF__MAX_ARRAY_DEPTH) {
            wisp__fail(c->err, WISP_ERR_BAD_MODEL, "key %.*s: arrays nested more than %d deep",
                       (int)key->len, key->ptr, GGUF__MAX_ARRAY_DEPTH);
            return false;
        }
        for (uint64_t j = 0; j < count; j++) {
            uint32_t et;
            uint64_t n;
            if (!gguf__u32(c, &et, "nested array type") || !gguf__u64(c, &n, "nested array length"))
                return false;
            if (et > WISP_GGUF_FLOAT64) {
                wisp__fail(c->err, WISP_ERR_BAD_MODEL, "key %.*s: unknown nested array type %u",
                           (int)key->len, key->ptr, et);
                return false;
            }
            if (!gguf__skip_values(c, (wisp_gguf_type)et, n, depth + 1, key, NULL)) return false;
        }
        return true;
    }
    wisp__fail(c->err, WISP_ERR_BAD_MODEL, "key %.*s: unknown value type %u", (int)key->len,
               key->ptr, (unsigned)t);
    return false;
}

/* Inserts name i into an open-addressing table; false when the name is already there. */
static bool gguf__hash_insert(uint32_t *table, uint64_t cap, const wisp_str *names, size_t stride,
                              uint32_t i) {
    const wisp_str *name = (const wisp_str *)((const char *)names + stride * i);
    uint64_t h = gguf__hash(name->ptr, name->len) & (cap - 1);
    for (;;) {
        uint32_t slot = table[h];
        if (!slot) {
            table[h] = i + 1;
            return true;
        }
        const wisp_str *other = (const wisp_str *)((const char *)names + stride * (slot - 1));
        if (other->len == name->len && !memcmp(other->ptr, name->ptr, name->len)) return false;
        h = (h + 1) & (cap - 1);
    }
}

static int64_t gguf__hash_find(const uint32_t *table, uint64_t cap, const wisp_str *names,
                               size_t stride, const char *key) {
    if (!table || !key) return -1;
    size_t len = strlen(key);
    uint64_t h = gguf__hash(key, len) & (cap - 1);
    for (;;) {
        uint32_t slot = table[h];
        if (!slot) return -1;
        const wisp_str *other = (const wisp_str *)((const char *)names + stride * (slot - 1));
        if (other->len == len && !memcmp(other->ptr, key, len)) return (int64_t)slot - 1;
        h = (h + 1) & (cap - 1);
    }
}

/* Smallest power of two >= 2n (and >= 8), for a load factor of at most 1/2. */
static uint64_t gguf__table_cap(uint64_t n) {
    uint64_t cap = 8;
    while (cap < 2 * n) cap <<= 1;
    return cap;
}

/* Reads the kv section: one record per key, nested arrays validated and skipped. */
static bool gguf__parse_kv(wisp_gguf *g, gguf__cursor *c, wisp_error *err) {
    for (int64_t i = 0; i < g->n_kv; i++) {
        gguf__kv *kv = &g->kv[i];
        kv->rec_off = c->pos;
        if (!gguf__str(c, &kv->key, "metadata key")) return false;
        uint32_t t;
        if (!gguf__u32(c, &t, "metadata value type")) return false;
        if (t > WISP_GGUF_FLOAT64) {
            wisp__fail(err, WISP_ERR_BAD_MODEL, "key %.*s: unknown value type %u",
                       (int)kv->key.len, kv->key.ptr, t);
            return false;
        }
        kv->type = kv->arr_type = (wisp_gguf_type)t;
        kv->arr_len = 1;
        if (kv->type == WISP_GGUF_ARRAY) {
            uint32_t et;
            if (!gguf__u32(c, &et, "array element type") ||
                !gguf__u64(c, &kv->arr_len, "array length"))
                return false;
            if (et > WISP_GGUF_FLOAT64) {
                wisp__fail(err, WISP_ERR_BAD_MODEL, "key %.*s: unknown array element type %u",
                           (int)kv->key.len, kv->key.ptr, et);
                return false;
            }
            kv->arr_type = (wisp_gguf_type)et;
            kv->val_off = c->pos;
            if (kv->arr_type == WISP_GGUF_STRING) {
                /* each element takes at least its 8-byte length: bound the count before
                 * allocating the index */
                if (kv->arr_len > gguf__remaining(c) / 8) {
                    wisp__fail(err, WISP_ERR_BAD_MODEL,
                               "key %.*s: array of %llu strings runs past the end of the file "
                               "(%zu bytes left)",
                               (int)kv->key.len, kv->key.ptr, (unsigned long long)kv->arr_len,
                               gguf__remaining(c));
                    return false;
                }
                kv->str_off = malloc((size_t)(kv->arr_len ? kv->arr_len : 1) * sizeof(uint32_t));
                if (!kv->str_off) {
                    wisp__fail(err, WISP_ERR_NO_MEMORY, "key %.*s: no memory for %llu strings",
                               (int)kv->key.len, kv->key.ptr, (unsigned long long)kv->arr_len);
                    return false;
                }
            }
            if (!gguf__skip_values(c, kv->arr_type, kv->arr_len, 1, &kv->key, kv->str_off))
                return false;
        } else {
            kv->val_off = c->pos;
            if (!gguf__skip_values(c, kv->type, 1, 0, &kv->key, NULL)) return false;
        }
        kv->rec_len = c->pos - kv->rec_off;
        if (!gguf__hash_insert(g->kv_hash, g->kv_cap, &g->kv[0].key, sizeof(gguf__kv),
                               (uint32_t)i)) {
            wisp__fail(err, WISP_ERR_BAD_MODEL, "duplicate key %.*s", (int)kv->key.len,
                       kv->key.ptr);
            return false;
        }
    }
    return true;
}

/* Reads the tensor table (names, shapes, types, offsets) without looking at the data yet. */
static bool gguf__parse_tensor_infos(wisp_gguf *g, gguf__cursor *c, wisp_error *err) {
    for (int64_t i = 0; i < g->n_tensors; i++) {
        wisp_gguf_tensor *t = &g->tensors[i];
        if (!gguf__str(c, &t->name, "tensor name")) return false;
        if (!gguf__u32(c, &t->n_dims, "tensor dimension count")) return false;
        if (t->n_dims == 0 || t->n_dims > GGUF__MAX_DIMS) {
            wisp__fail(err, WISP_ERR_BAD_MODEL, "tensor %.*s: n_dims %u is not in 1..%d",
                       (int)t->name.len, t->name.ptr, t->n_dims, GGUF__MAX_DIMS);
            return false;
        }
        for (int d = 0; d < GGUF__MAX_DIMS; d++) t->ne[d] = 1;
        for (uint32_t d = 0; d < t->n_dims; d++)
            if (!gguf__u64(c, &t->ne[d], "tensor dimension")) return false;
        uint32_t type;
        if (!gguf__u32(c, &type, "tensor type") || !gguf__u64(c, &t->offset, "tensor offset"))
            return false;
        t->type = (wisp_dtype)type;
        if (!gguf__hash_insert(g->tensor_hash, g->tensor_cap, &g->tensors[0].name,
                               sizeof(wisp_gguf_tensor), (uint32_t)i)) {
            wisp__fail(err, WISP_ERR_BAD_MODEL, "duplicate tensor name %.*s", (int)t->name.len,
                       t->name.ptr);
            return false;
        }
    }
    return true;
}

/* Computes each tensor's byte size and checks that its data lies inside the buffer. */
static bool gguf__check_tensor_data(wisp_gguf *g, wisp_error *err) {
    for (int64_t i = 0; i < g->n_tensors; i++) {
        wisp_gguf_tensor *t = &g->tensors[i];
        int nl = (int)t->name.len;
        const char *np = t->name.ptr;
        size_t be = wisp_dtype_block_elems(t->type), bb = wisp_dtype_block_bytes(t->type);
        if (!wisp_dtype_name(t->type) || !be || !bb) {
            wisp__fail(err, WISP_ERR_UNSUPPORTED, "tensor %.*s: unsupported tensor type %u", nl, np,
                       (unsigned)t->type);
            return false;
        }
        if (t->ne[0] % be) {
            wisp__fail(err, WISP_ERR_BAD_MODEL,
                       "tensor %.*s: row of %llu elements is not a multiple of the %s block (%zu)",
                       nl, np, (unsigned long long)t->ne[0], wisp_dtype_name(t->type), be);
            return false;
        }
        /* bytes = ne0/be*bb * ne1 * ne2 * ne3, every product checked */
        uint64_t bytes = t->ne[0] / be, prod;
        if (__builtin_mul_overflow(bytes, (uint64_t)bb, &prod)) goto overflow;
        bytes = prod;
        for (int d = 1; d < GGUF__MAX_DIMS; d++) {
            if (__builtin_mul_overflow(bytes, t->ne[d], &prod)) goto overflow;
            bytes = prod;
        }
        for (int d = 0; d < GGUF__MAX_DIMS; d++)
            if (t->ne[d] > (uint64_t)INT64_MAX) goto overflow;
        t->size = bytes;
        if (t->offset % g->alignment) {
            wisp__fail(err, WISP_ERR_BAD_MODEL,
                       "tensor %.*s: offset %llu is not a multiple of the alignment %llu", nl, np,
                       (unsigned long long)t->offset, (unsigned long long)g->alignment);
            return false;
        }
        uint64_t start, end;
        if (__builtin_add_overflow(g->data_off, t->offset, &start) ||
            __builtin_add_overflow(start, bytes, &end)) {
            wisp__fail(err, WISP_ERR_BAD_MODEL,
                       "tensor %.*s: offset %llu + %llu bytes overflows", nl, np,
                       (unsigned long long)t->offset, (unsigned long long)bytes);
            return false;
        }
        if (end > g->size) {
            wisp__fail(err, WISP_ERR_BAD_MODEL,
                       "tensor %.*s: data ends %llu bytes past the end of the file", nl, np,
                       (unsigned long long)(end - g->size));
            return false;
        }
        t->data = g->base + start;
        continue;
    overflow:
        wisp__fail(err, WISP_ERR_BAD_MODEL, "tensor %.*s: shape %llux%llux%llux%llu is too large",
                   nl, np, (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
                   (unsigned long long)t->ne[2], (unsigned long long)t->ne[3]);
        return false;
    }
    return true;
}

/* Applies general.alignment when present: an integer, a power of two >= 8, not absurd. */
static bool gguf__read_alignment(wisp_gguf *g, wisp_error *err) {
    g->alignment = WISP_GGUF_DEFAULT_ALIGNMENT;
    int64_t i = wisp_gguf_find(g, "general.alignment");
    if (i < 0) return true;
    uint32_t a;
    if (!wisp_gguf_get_u32(g, "general.alignment", &a)) {
        wisp__fail(err, WISP_ERR_BAD_MODEL, "general.alignment has type %s, expected uint32",
                   gguf__type_name(g->kv[i].type));
        return false;
    }
    /* the spec asks for a multiple of 8; with the buffer 8-aligned that keeps every tensor's
     * data aligned for its element type */
    if (a < 8 || (a & (a - 1)) || a > GGUF__MAX_ALIGNMENT) {
        wisp__fail(err, WISP_ERR_BAD_MODEL,
                   "general.alignment %u is not a power of two from 8 to %u", a,
                   GGUF__MAX_ALIGNMENT);
        return false;
    }
    g->alignment = a;
    return true;
}

/* Reads magic, version and the two counts, rejecting counts the file cannot possibly hold. */
static bool gguf__parse_header(wisp_gguf *g, gguf__cursor *c, wisp_error *err) {
    uint32_t magic, version;
    uint64_t n_tensors, n_kv;
    if (!gguf__u32(c, &magic, "magic")) return false;
    if (magic != WISP_GGUF_MAGIC) {
        const uint8_t *m = c->base;
        wisp__fail(err, WISP_ERR_BAD_MODEL,
                   "not a GGUF file: magic is %02x %02x %02x %02x, expected \"GGUF\"", m[0], m[1],
                   m[2], m[3]);
        return false;
    }
    if (!gguf__u32(c, &version, "version")) return false;
    if (version == 1) {
        wisp__fail(err, WISP_ERR_UNSUPPORTED, "GGUF version 1 is not supported (only 2 and 3)");
        return false;
    }
    if (version != 2 && version != 3) {
        bool swapped = (version & 0xffff) == 0 && (version >> 16) != 0;
        wisp__fail(err, WISP_ERR_UNSUPPORTED, "GGUF version %u is not supported (only 2 and 3)%s",
                   version, swapped ? "; the file looks big-endian" : "");
        return false;
    }
    if (!gguf__u64(c, &n_tensors, "tensor count") || !gguf__u64(c, &n_kv, "metadata key count"))
        return false;
    /* a kv record takes >= 13 bytes (key length, type, 1-byte value); a tensor info >= 32 */
    size_t left = gguf__remaining(c);
    if (n_kv > left / 13 || n_kv > GGUF__MAX_COUNT) {
        wisp__fail(err, WISP_ERR_BAD_MODEL,
                   "absurd metadata key count %llu: %zu bytes left (truncated or corrupt file)",
                   (unsigned long long)n_kv, left);
        return false;
    }
    if (n_tensors > (left - n_kv * 13) / 32 || n_tensors > GGUF__MAX_COUNT) {
        wisp__fail(err, WISP_ERR_BAD_MODEL,
                   "absurd tensor count %llu: %zu bytes left (truncated or corrupt file)",
                   (unsigned long long)n_tensors, left);
        return false;
    }
    g->version = version;
    g->n_kv = (int64_t)n_kv;
    g->n_tensors = (int64_t)n_tensors;
    return true;
}

wisp_gguf *wisp_gguf_open(const void *data, size_t size, wisp_error *err) {
    return wisp_gguf__open_partial(data, size, size, err);
}

wisp_gguf *wisp_gguf__open_partial(const void *data, size_t size, size_t n_avail, wisp_error *err) {
    wisp__clear(err);
    if (!data || n_avail > size) {
        wisp__fail(err, WISP_ERR_INVALID_ARG, data ? "wisp_gguf_open: %zu bytes available of a %zu-byte file"
                                                   : "wisp_gguf_open: data is NULL", n_avail, size);
        return NULL;
    }
    wisp_gguf *g = calloc(1, sizeof *g);
    if (!g) {
        wisp__fail(err, WISP_ERR_NO_MEMORY, "no memory for the GGUF reader");
        return NULL;
    }
    g->base = data;
    g->size = size;
    gguf__cursor c = {data, size, n_avail, 0, err};
    if (!gguf__parse_header(g, &c, err)) goto fail;
    g->kv = calloc((size_t)g->n_kv + 1, sizeof *g->kv);
    g->tensors = calloc((size_t)g->n_tensors + 1, sizeof *g->tensors);
    g->kv_cap = gguf__table_cap((uint64_t)g->n_kv);
    g->tensor_cap = gguf__table_cap((uint64_t)g->n_tensors);
    g->kv_hash = calloc((size_t)g->kv_cap, sizeof *g->kv_hash);
    g->tensor_hash = calloc((size_t)g->tensor_cap, sizeof *g->tensor_hash);
    if (!g->kv || !g->tensors || !g->kv_hash || !g->tensor_hash) {
        wisp__fail(err, WISP_ERR_NO_MEMORY, "no memory for %lld keys and %lld tensors",
                   (long long)g->n_kv, (long long)g->n_tensors);
        goto fail;
    }
    if (!gguf__parse_kv(g, &c, err)) goto fail;
    if (!gguf__read_alignment(g, err)) goto fail;
    if (!gguf__parse_tensor_infos(g, &c, err)) goto fail;
    /* the data section starts at the next multiple of the alignment (it may be past the end of
     * a file without tensors; only tensors' data is checked against the size) */
    g->data_off = c.pos + (g->alignment - c.pos % g->alignment) % g->alignment;
    if (!gguf__check_tensor_data(g, err)) goto fail;
    return g;
fail:
    wisp_gguf_free(g);
    return NULL;
}

void wisp_gguf_free(wisp_gguf *self) {
    if (!self) return;
    if (self->kv)
        for (int64_t i = 0; i < self->n_kv; i++) free(self->kv[i].str_off);
    free(self->kv);
    free(self->tensors);
    free(self->kv_hash);
    free(self->tensor_hash);
    free(self);
}

uint32_t wisp_gguf_version(const wisp_gguf *self) { return self ? self->version : 0; }
uint64_t wisp_gguf_alignment(const wisp_gguf *self) { return self ? self->alignment : 0; }
uint64_t wisp_gguf__data_offset(const wisp_gguf *self) { return self ? self->data_off : 0; }
int64_t wisp_gguf_n_kv(const wisp_gguf *self) { return self ? self->n_kv : 0; }

int64_t wisp_gguf_find(const wisp_gguf *self, const char *key) {
    if (!self) return -1;
    return gguf__hash_find(self->kv_hash, self->kv_cap, &self->kv[0].key, sizeof(gguf__kv), key);
}

static const gguf__kv *gguf__kv_at(const wisp_gguf *self, int64_t i) {
    return self && i >= 0 && i < self->n_kv ? &self->kv[i] : NULL;
}

wisp_str wisp_gguf_key(const wisp_gguf *self, int64_t i) {
    const gguf__kv *kv = gguf__kv_at(self, i);
    return kv ? kv->key : (wisp_str){"", 0};
}

wisp_gguf_type wisp_gguf_kv_type(const wisp_gguf *self, int64_t i) {
    const gguf__kv *kv = gguf__kv_at(self, i);
    return kv ? kv->type : (wisp_gguf_type)-1;
}

wisp_gguf_type wisp_gguf_arr_type(const wisp_gguf *self, int64_t i) {
    const gguf__kv *kv = gguf__kv_at(self, i);
    return kv ? kv->arr_type : (wisp_gguf_type)-1;
}

uint64_t wisp_gguf_arr_len(const wisp_gguf *self, int64_t i) {
    const gguf__kv *kv = gguf__kv_at(self, i);
    return kv ? kv->arr_len : 0;
}

bool wisp_gguf__kv_raw(const wisp_gguf *self, int64_t i, const void **ptr, uint64_t *len) {
    const gguf__kv *kv = gguf__kv_at(self, i);
    if (!kv) return false;
    *ptr = self->base + kv->rec_off;
    *len = kv->rec_len;
    return true;
}

/* One numeric value of type t at p as an exact integer (false for floats, strings, arrays). */
static bool gguf__load_int(wisp_gguf_type t, const uint8_t *p, int64_t *i_out, uint64_t *u_out,
                           bool *is_unsigned) {
    union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32;
            uint64_t u64; int64_t i64; } v;
    size_t n = gguf__type_size(t);
    if (!n || t == WISP_GGUF_FLOAT32 || t == WISP_GGUF_FLOAT64 || t == WISP_GGUF_BOOL) return false;
    memcpy(&v, p, n);
    *is_unsigned = false;
    switch (t) {
    case WISP_GGUF_UINT8: *i_out = v.u8; break;
    case WISP_GGUF_INT8: *i_out = v.i8; break;
    case WISP_GGUF_UINT16: *i_out = v.u16; break;
    case WISP_GGUF_INT16: *i_out = v.i16; break;
    case WISP_GGUF_UINT32: *i_out = v.u32; break;
    case WISP_GGUF_INT32: *i_out = v.i32; break;
    case WISP_GGUF_INT64: *i_out = v.i64; break;
    case WISP_GGUF_UINT64: *u_out = v.u64; *is_unsigned = true; return true;
    default: return false;
    }
    return true;
}

/* Reads a signed 64-bit integer when the value is an integer type that fits. */
static bool gguf__as_i64(wisp_gguf_type t, const uint8_t *p, int64_t *out) {
    int64_t i;
    uint64_t u;
    bool uns;
    if (!gguf__load_int(t, p, &i, &u, &uns)) return false;
    if (uns) {
        if (u > (uint64_t)INT64_MAX) return false;
        i = (int64_t)u;
    }
    *out = i;
    return true;
}

/* Any numeric or bool value as a double. */
static bool gguf__as_f64(wisp_gguf_type t, const uint8_t *p, double *out) {
    if (t == WISP_GGUF_FLOAT32) {
        float f;
        memcpy(&f, p, 4);
        *out = f;
        return true;
    }
    if (t == WISP_GGUF_FLOAT64) {
        memcpy(out, p, 8);
        return true;
    }
    if (t == WISP_GGUF_BOOL) {
        *out = p[0] ? 1.0 : 0.0;
        return true;
    }
    int64_t i;
    uint64_t u;
    bool uns;
    if (!gguf__load_int(t, p, &i, &u, &uns)) return false;
    *out = uns ? (double)u : (double)i;
    return true;
}

static const gguf__kv *gguf__scalar(const wisp_gguf *self, const char *key) {
    const gguf__kv *kv = gguf__kv_at(self, wisp_gguf_find(self, key));
    return kv && kv->type != WISP_GGUF_ARRAY ? kv : NULL;
}

bool wisp_gguf_get_u32(const wisp_gguf *self, const char *key, uint32_t *out) {
    const gguf__kv *kv = gguf__scalar(self, key);
    int64_t v;
    if (!kv || !gguf__as_i64(kv->type, self->base + kv->val_off, &v)) return false;
    if (v < 0 || v > (int64_t)UINT32_MAX) return false;
    *out = (uint32_t)v;
    return true;
}

bool wisp_gguf_get_i64(const wisp_gguf *self, const char *key, int64_t *out) {
    const gguf__kv *kv = gguf__scalar(self, key);
    return kv && gguf__as_i64(kv->type, self->base + kv->val_off, out);
}

bool wisp_gguf_get_f32(const wisp_gguf *self, const char *key, float *out) {
    const gguf__kv *kv = gguf__scalar(self, key);
    double d;
    if (!kv || kv->type == WISP_GGUF_BOOL || !gguf__as_f64(kv->type, self->base + kv->val_off, &d))
        return false;
    *out = (float)d;
    return true;
}

bool wisp_gguf_get_bool(const wisp_gguf *self, const char *key, bool *out) {
    const gguf__kv *kv = gguf__scalar(self, key);
    if (!kv || kv->type != WISP_GGUF_BOOL) return false;
    *out = self->base[kv->val_off] != 0;
    return true;
}

bool wisp_gguf_get_str(const wisp_gguf *self, const char *key, wisp_str *out) {
    const gguf__kv *kv = gguf__scalar(self, key);
    if (!kv || kv->type != WISP_GGUF_STRING) return false;
    uint64_t len;
    memcpy(&len, self->base + kv->val_off, 8);
    out->ptr = (const char *)self->base + kv->val_off + 8;
    out->len = len;
    return true;
}

bool wisp_gguf_arr_str(const wisp_gguf *self, int64_t i, uint64_t j, wisp_str *out) {
    const gguf__kv *kv = gguf__kv_at(self, i);
    if (!kv || kv->type != WISP_GGUF_ARRAY || kv->arr_type != WISP_GGUF_STRING || j >= kv->arr_len)
        return false;
    uint64_t off = kv->val_off + kv->str_off[j], len;
    memcpy(&len, self->base + off, 8);
    out->ptr = (const char *)self->base + off + 8;
    out->len = len;
    return true;
}

/* Address of element j of a fixed-size numeric array, or NULL. */
static const uint8_t *gguf__arr_elem(const wisp_gguf *self, int64_t i, uint64_t j,
                                     wisp_gguf_type *t) {
    const gguf__kv *kv = gguf__kv_at(self, i);
    if (!kv || kv->type != WISP_GGUF_ARRAY || j >= kv->arr_len) return NULL;
    size_t n = gguf__type_size(kv->arr_type);
    if (!n) return NULL;
    *t = kv->arr_type;
    return self->base + kv->val_off + j * n;
}

bool wisp_gguf_arr_i64(const wisp_gguf *self, int64_t i, uint64_t j, int64_t *out) {
    wisp_gguf_type t;
    const uint8_t *p = gguf__arr_elem(self, i, j, &t);
    return p && gguf__as_i64(t, p, out);
}

bool wisp_gguf_arr_f64(const wisp_gguf *self, int64_t i, uint64_t j, double *out) {
    wisp_gguf_type t;
    const uint8_t *p = gguf__arr_elem(self, i, j, &t);
    return p && gguf__as_f64(t, p, out);
}

bool wisp_gguf_scalar_f64(const wisp_gguf *self, int64_t i, double *out) {
    const gguf__kv *kv = gguf__kv_at(self, i);
    if (!kv || kv->type == WISP_GGUF_ARRAY || kv->type == WISP_GGUF_STRING) return false;
    return gguf__as_f64(kv->type, self->base + kv->val_off, out);
}

int64_t wisp_gguf_n_tensors(const wisp_gguf *self) { return self ? self->n_tensors : 0; }

const wisp_gguf_tensor *wisp_gguf_tensor_at(const wisp_gguf *self, int64_t i) {
    return self && i >= 0 && i < self->n_tensors ? &self->tensors[i] : NULL;
}

const wisp_gguf_tensor *wisp_gguf_tensor_find(const wisp_gguf *self, const char *name) {
    if (!self) return NULL;
    int64_t i = gguf__hash_find(self->tensor_hash, self->tensor_cap, &self->tensors[0].name,
                                sizeof(wisp_gguf_tensor), name);
    return i < 0 ? NULL : &self->tensors[i];
}
