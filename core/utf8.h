/* Internal: the one UTF-8 validator, inline for the tokenizer's and the positions' inner loops
 * (grammar/position.c includes it too); wisp_utf8_len (wisp.h, core/utf8.c) is the same for
 * callers outside the libraries. */
#ifndef WISP_UTF8_H
#define WISP_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length (1..4) of the well-formed UTF-8 sequence at s[0..n), n > 0, or 0 when there is none
 * there: a stray continuation byte, a bad lead, a short sequence, an overlong form, a surrogate,
 * a code point past U+10FFFF. */
static inline size_t wisp__utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t k = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (k == 0 || k > n) return 0;
    for (size_t j = 1; j < k; j++)
        if ((s[j] & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && s[1] < 0xA0) return 0;  /* overlong */
    if (c == 0xED && s[1] >= 0xA0) return 0; /* an encoded surrogate */
    if (c == 0xF0 && s[1] < 0x90) return 0;  /* overlong */
    if (c == 0xF4 && s[1] >= 0x90) return 0; /* past U+10FFFF */
    return k;
}

#endif
