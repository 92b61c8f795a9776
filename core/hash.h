/* Internal: the one string hash of core/'s hash tables (the GGUF reader's key and tensor indexes,
 * the tokenizer's piece map): 64-bit FNV-1a. */
#ifndef WISP_HASH_H
#define WISP_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t wisp__fnv1a(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
    return h;
}

#endif
