/*
 * What the libFuzzer targets share: reading an input as a stream of small decisions (a byte, a
 * number, a position relative to a length), and turning a few of its bytes into source text of
 * the shapes editors produce and parsers dislike: plain bytes (invalid UTF-8, NULs), CRLF line
 * ends, one huge line, deep nesting. Header-only; every helper is static.
 */
#ifndef WISP_FUZZ_INPUT_H
#define WISP_FUZZ_INPUT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "read_file.h"
#include "wisp_grammar.h"

#include <stdio.h>

/* A broken invariant: say which, then crash so that libFuzzer keeps the input. */
#define FUZZ_CHECK(cond)                                                                        \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);            \
            __builtin_trap();                                                                   \
        }                                                                                       \
    } while (0)

/* Texts a target generates stay under this (large enough for a huge line or deep nesting, small
 * enough to keep executions cheap); a target may lower it. */
#define FUZZ_MAX_TEXT (16 * 1024)
static size_t fuzz_max_text = FUZZ_MAX_TEXT;

/* A fixture the target cannot run without (its model or vocabulary): read, or exit saying which. */
static inline void *fuzz_fixture(const char *target, const char *path, size_t *size) {
    void *p = wisp_read_file(path, size);
    if (!p) {
        fprintf(stderr, "%s: cannot open %s (run from the repository root)\n", target, path);
        exit(1);
    }
    return p;
}

/* An engine on the model at $WISP_FUZZ_MODEL or fixtures/reference/qwen2.gguf (its vocabulary has
 * the FIM tokens), kept for the whole run, or exit saying why. */
static inline wisp_engine *fuzz_engine(const char *target, uint32_t n_ctx) {
    const char *path = getenv("WISP_FUZZ_MODEL");
    if (!path) path = "fixtures/reference/qwen2.gguf";
    size_t n;
    void *bytes = fuzz_fixture(target, path, &n); /* the engine's weights point into it: never freed */
    wisp_error err;
    wisp_engine_params ep = {.n_ctx = n_ctx};
    wisp_engine *e = wisp_engine_new(bytes, n, &ep, &err);
    if (!e) {
        fprintf(stderr, "%s: %s: %s\n", target, path, err.message);
        exit(1);
    }
    return e;
}

typedef struct fuzz_in {
    const uint8_t *p;
    size_t n;
} fuzz_in;

static inline bool fuzz_more(const fuzz_in *in) { return in->n > 0; }

static inline uint8_t fuzz_u8(fuzz_in *in) {
    if (!in->n) return 0;
    in->n--;
    return *in->p++;
}

static inline uint32_t fuzz_u16(fuzz_in *in) {
    uint32_t a = fuzz_u8(in);
    return a | (uint32_t)fuzz_u8(in) << 8;
}

/* Up to `want` bytes straight from the input; *got says how many. */
static inline const uint8_t *fuzz_bytes(fuzz_in *in, size_t want, size_t *got) {
    const uint8_t *p = in->p;
    *got = want < in->n ? want : in->n;
    in->p += *got;
    in->n -= *got;
    return p;
}

/* A position for a text of `len` bytes: mostly inside it, sometimes exactly at either end, just
 * past the end, or far past it (an editor's stale offset). */
static inline size_t fuzz_pos(fuzz_in *in, size_t len) {
    uint8_t k = fuzz_u8(in);
    switch (k % 8) {
    case 0: return 0;
    case 1: return len;
    case 2: return len + 1 + k / 8;
    case 3: return (size_t)-1 - k / 8;
    case 4: return (size_t)fuzz_u16(in);
    default: return len ? (size_t)(((uint64_t)fuzz_u16(in) * (len + 1)) >> 16) : 0;
    }
}

/* A growing byte buffer. */
typedef struct fuzz_buf {
    char *p;
    size_t len, cap;
} fuzz_buf;

static inline void fuzz_put(fuzz_buf *b, const void *s, size_t n) {
    if (b->len >= fuzz_max_text) return;
    if (b->len + n > fuzz_max_text) n = fuzz_max_text - b->len;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *q = realloc(b->p, cap);
        FUZZ_CHECK(q);
        b->p = q;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static inline void fuzz_puts(fuzz_buf *b, const char *s) { fuzz_put(b, s, strlen(s)); }

/*
 * Appends a piece of text chosen by the input to *b:
 *   literal bytes (any bytes, as read), the same with "\n" written "\r\n", a chunk repeated into
 *   one huge line or block, deep nesting in the language's syntax, or a line of code from a small
 *   table (so that short inputs already make parseable programs).
 */
static inline void fuzz_text(fuzz_in *in, wisp_lang lang, fuzz_buf *b) {
    static const char *const py[] = {"def f(a, b):\n", "    return a + b\n", "class C:\n", "    x = 1\n",
                                     "import os\n", "from m import n\n", "if x:\n", "    pass\n",
                                     "    def g(self):\n", "        self.", "print(", "'''doc\n", "x = [1, 2,\n",
                                     "#", "\t", "    "};
    static const char *const cl[] = {"int f(int a) {\n", "  return a;\n", "}\n", "struct S { int x; };\n",
                                     "#include <stdio.h>\n", "#define M(x) (x)\n", "typedef int T;\n",
                                     "static void g(void) {\n", "  if (a) {\n", "f(", "/*", "\"str", "  ",
                                     "function h(a) {\n", "const x = () => {\n", "class K { m() {} }\n"};
    uint8_t k = fuzz_u8(in);
    size_t got;
    const uint8_t *s;
    switch (k % 6) {
    case 0: /* literal bytes */
    case 1:
        s = fuzz_bytes(in, fuzz_u8(in), &got);
        fuzz_put(b, s, got);
        break;
    case 2: /* CRLF */
        s = fuzz_bytes(in, fuzz_u8(in), &got);
        for (size_t i = 0; i < got; i++) {
            if (s[i] == '\n') fuzz_put(b, "\r", 1);
            fuzz_put(b, s + i, 1);
        }
        break;
    case 3: { /* one chunk repeated: a huge line, a long file. Any bytes repeat at most 256 times:
               * tree-sitter's error recovery is super-linear on long runs of garbage (seconds for
               * 9 KB of control characters), which would starve the fuzzer */
        uint8_t how = fuzz_u8(in);
        size_t times = 1 + fuzz_u16(in) % 2048;
        if (how & 1) {
            s = fuzz_bytes(in, 1 + how / 2 % 8, &got);
            if (times > 256) times = 256;
        } else {
            s = (const uint8_t *)(lang == WISP_LANG_PYTHON ? py : cl)[how / 2 % 16];
            got = strlen((const char *)s);
        }
        for (size_t i = 0; i < times && got && b->len < fuzz_max_text; i++) fuzz_put(b, s, got);
        break;
    }
    case 4: { /* deep nesting */
        static const char *const open_py[] = {"(", "[", "{", "if x:\n", "def f():\n", "lambda: "};
        static const char *const open_c[] = {"(", "[", "{", "if (x) {\n", "f(", "/* "};
        uint8_t which = fuzz_u8(in) % 6;
        size_t depth = 1 + fuzz_u16(in) % 2048;
        for (size_t i = 0; i < depth && b->len < fuzz_max_text; i++) {
            if (lang == WISP_LANG_PYTHON && which >= 3)
                for (size_t j = 0; j < i % 64; j++) fuzz_put(b, " ", 1); /* indentation grows */
            fuzz_puts(b, lang == WISP_LANG_PYTHON ? open_py[which] : open_c[which]);
        }
        break;
    }
    default: { /* lines of code */
        size_t lines = 1 + fuzz_u8(in) % 8;
        for (size_t i = 0; i < lines; i++) {
            uint8_t w = fuzz_u8(in) % 16;
            fuzz_puts(b, lang == WISP_LANG_PYTHON ? py[w] : cl[w]);
        }
        break;
    }
    }
}

#endif
