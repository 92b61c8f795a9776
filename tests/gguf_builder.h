/*
 * Test helper: writes GGUF files into memory byte by byte, so tests can build valid files and
 * precisely broken ones without fixture files. Header-only; used by test_gguf.c, test_quantize.c
 * and the fuzz corpus generator. Aborts on out-of-memory (tests only, never the engine).
 */
#ifndef WISP_GGUF_BUILDER_H
#define WISP_GGUF_BUILDER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing byte buffer; `p` is owned, free it with free(). */
typedef struct gb {
    uint8_t *p;
    size_t len, cap;
} gb;

static inline void gb_raw(gb *b, const void *data, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) abort();
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
}

static inline void gb_u8(gb *b, uint8_t v) { gb_raw(b, &v, 1); }
static inline void gb_u16(gb *b, uint16_t v) { gb_raw(b, &v, 2); }
static inline void gb_u32(gb *b, uint32_t v) { gb_raw(b, &v, 4); }
static inline void gb_u64(gb *b, uint64_t v) { gb_raw(b, &v, 8); }
static inline void gb_f32(gb *b, float v) { gb_raw(b, &v, 4); }
static inline void gb_f64(gb *b, double v) { gb_raw(b, &v, 8); }

/* A length-prefixed string. */
static inline void gb_str(gb *b, const char *s) {
    gb_u64(b, strlen(s));
    gb_raw(b, s, strlen(s));
}

/* Magic, version, tensor count, kv count. */
static inline void gb_header(gb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    gb_raw(b, "GGUF", 4);
    gb_u32(b, version);
    gb_u64(b, n_tensors);
    gb_u64(b, n_kv);
}

/* Key and type of one kv record; the caller appends the value. */
static inline void gb_key(gb *b, const char *key, uint32_t type) {
    gb_str(b, key);
    gb_u32(b, type);
}

static inline void gb_kv_u32(gb *b, const char *key, uint32_t v) {
    gb_key(b, key, 4);
    gb_u32(b, v);
}

static inline void gb_kv_f32(gb *b, const char *key, float v) {
    gb_key(b, key, 6);
    gb_f32(b, v);
}

static inline void gb_kv_str(gb *b, const char *key, const char *v) {
    gb_key(b, key, 8);
    gb_str(b, v);
}

/* An array of strings. */
static inline void gb_kv_strs(gb *b, const char *key, const char *const *v, size_t n) {
    gb_key(b, key, 9);
    gb_u32(b, 8);
    gb_u64(b, n);
    for (size_t i = 0; i < n; i++) gb_str(b, v[i]);
}

/* One tensor info: name, dims (ggml order), type, offset into the data section. */
static inline void gb_tensor(gb *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                      uint64_t offset) {
    gb_str(b, name);
    gb_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++) gb_u64(b, ne[d]);
    gb_u32(b, type);
    gb_u64(b, offset);
}

/* Zero bytes up to the next multiple of `align`. */
static inline void gb_pad(gb *b, size_t align) {
    static const uint8_t zeros[64];
    while (b->len % align) gb_raw(b, zeros, align - b->len % align > 64 ? 64 : align - b->len % align);
}

#endif
