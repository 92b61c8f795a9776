/*
 * pretok.c — the pre-tokenizers of byte-level BPE vocabularies, as hand-written matchers over
 * code points (no regex library). Each one reproduces a regex (or a sequence of regexes) that the
 * vocabulary's tokenizer.json / llama.cpp uses, with regex search semantics: alternatives tried in
 * order at each position, the first that matches wins, greedy quantifiers with backtracking worked
 * out by hand for the few places it matters (\s*[\r\n]+ and \s+(?!\S)).
 *
 *   gpt-2      's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *   llama3     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}
 *              | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *   qwen2      llama3 with \p{N} (one digit) instead of \p{N}{1,3}
 *   starcoder  \p{N} (each digit alone), then gpt-2 on the rest
 *   deepseek-coder  [\r\n], then \s?\p{L}+, then \s?\p{P}+, then [一-龥ࠀ-一가-퟿]+, then \p{N}
 *
 * A sequence applies each regex to every piece the previous one left ("Isolated" splitting: the
 * matches and the text between them both become pieces), as HF tokenizers and llama.cpp do; a
 * regex sees one piece as its whole input (so (?!\S) and the end of input stop at its end).
 * \s is Unicode White_Space (as Rust's regex in HF tokenizers; JavaScript's \s differs on U+0085
 * and U+FEFF). Case-insensitive contractions fold ASCII only. Categories come from utf8proc.
 */
#include <string.h>
#include <utf8proc.h>

#include "tokenizer.h"

/* One regex of a pre-tokenizer. */
typedef enum pretok_rule {
    RULE_GPT2,
    RULE_LLAMA3, /* \p{N}{1,3} */
    RULE_QWEN2,  /* \p{N} */
    RULE_DIGIT,  /* \p{N} */
    RULE_NEWLINE,
    RULE_DS_LETTERS,
    RULE_DS_PUNCT,
    RULE_DS_CJK,
} pretok_rule;

static const struct {
    const char *name;
    wisp_pretok kind;
} pretok__names[] = {
    {"gpt-2", WISP_PRETOK_GPT2},
    {"gpt2", WISP_PRETOK_GPT2},
    {"mpt", WISP_PRETOK_GPT2},
    {"olmo", WISP_PRETOK_GPT2},
    {"llama3", WISP_PRETOK_LLAMA3},
    {"llama-bpe", WISP_PRETOK_LLAMA3},
    {"llama-v3", WISP_PRETOK_LLAMA3},
    {"smaug-bpe", WISP_PRETOK_LLAMA3},
    {"dbrx", WISP_PRETOK_LLAMA3},
    {"qwen2", WISP_PRETOK_QWEN2},
    {"deepseek-r1-qwen", WISP_PRETOK_QWEN2},
    {"starcoder", WISP_PRETOK_STARCODER},
    {"refact", WISP_PRETOK_STARCODER},
    {"smollm", WISP_PRETOK_STARCODER},
    {"codeshell", WISP_PRETOK_STARCODER},
    {"command-r", WISP_PRETOK_STARCODER},
    {"deepseek-coder", WISP_PRETOK_DEEPSEEK_CODER},
};

/* Maps the GGUF `pre` string to a splitter; unknown names are the caller's error to report. */
bool wisp_pretok_from_name(const char *name, size_t len, wisp_pretok *out) {
    for (size_t i = 0; i < sizeof(pretok__names) / sizeof(pretok__names[0]); i++) {
        if (strlen(pretok__names[i].name) == len && memcmp(pretok__names[i].name, name, len) == 0) {
            *out = pretok__names[i].kind;
            return true;
        }
    }
    return false;
}

/* For `wisp tokenize` and error messages. */
const char *wisp_pretok_name(wisp_pretok kind) {
    switch (kind) {
    case WISP_PRETOK_GPT2: return "gpt-2";
    case WISP_PRETOK_LLAMA3: return "llama3";
    case WISP_PRETOK_QWEN2: return "qwen2";
    case WISP_PRETOK_STARCODER: return "starcoder";
    case WISP_PRETOK_DEEPSEEK_CODER: return "deepseek-coder";
    }
    return "?";
}

/* Unicode White_Space (what \s means in the Rust regex crate). */
static bool pretok__white_space(uint32_t cp) {
    if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* The class bits of one code point; ASCII answered without a utf8proc lookup. */
uint8_t wisp_cp_class(uint32_t cp) {
    uint8_t c = 0;
    if (cp < 0x80) {
        if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') return WISP_CC_L;
        if (cp >= '0' && cp <= '9') return WISP_CC_N;
        if (pretok__white_space(cp)) return WISP_CC_WS;
        if (cp > 0x20 && cp < 0x7F && strchr("!\"#%&'()*,-./:;?@[\\]_{}", (int)cp)) return WISP_CC_P;
        return 0;
    }
    if (pretok__white_space(cp)) c |= WISP_CC_WS;
    if ((cp >= 0x4E00 && cp <= 0x9FA5) || (cp >= 0x0800 && cp <= 0x4E00) ||
        (cp >= 0xAC00 && cp <= 0xD7FF))
        c |= WISP_CC_CJK;
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
        c |= WISP_CC_L;
        break;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        c |= WISP_CC_N;
        break;
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
        c |= WISP_CC_P;
        break;
    default:
        break;
    }
    return c;
}

/* Length of the run of code points in [i, end) having any bit of `bits`. */
static size_t pretok__run(const uint8_t *cc, size_t i, size_t end, uint8_t bits) {
    size_t k = i;
    while (k < end && (cc[k] & bits)) k++;
    return k;
}

/* Is cc "other": not \s, not \p{L}, not \p{N} (the [^\s\p{L}\p{N}] class). */
static bool pretok__other(uint8_t cc) {
    return (cc & (WISP_CC_WS | WISP_CC_L | WISP_CC_N)) == 0;
}

/* 's 't 're 've 'm 'll 'd at i (ASCII case folded when `fold`); returns the end or i. */
static size_t pretok__contraction(const uint32_t *cp, size_t i, size_t end, bool fold) {
    if (cp[i] != '\'' || i + 1 >= end) return i;
    uint32_t a = cp[i + 1], b = i + 2 < end ? cp[i + 2] : 0;
    if (fold) {
        if (a < 0x80) a |= (a >= 'A' && a <= 'Z') ? 0x20 : 0;
        if (b < 0x80) b |= (b >= 'A' && b <= 'Z') ? 0x20 : 0;
    }
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
    return i;
}

/* \s+(?!\S)|\s+ at i (i is white space): the run, less its last code point when a non-space
 * follows and the run is longer than one (the lookahead's backtracking). */
static size_t pretok__spaces(const uint8_t *cc, size_t i, size_t end) {
    size_t k = pretok__run(cc, i, end, WISP_CC_WS);
    if (k < end && k - i >= 2) return k - 1;
    return k;
}

/* The GPT-2 regex at i. */
static size_t pretok__match_gpt2(const uint32_t *cp, const uint8_t *cc, size_t i, size_t end) {
    size_t m = pretok__contraction(cp, i, end, false);
    if (m > i) return m;
    size_t j = (cp[i] == ' ' && i + 1 < end) ? i + 1 : i;
    for (int pass = 0; pass < 2; pass++, j = i) { /* with the optional space, then without */
        if (cc[j] & WISP_CC_L) return pretok__run(cc, j, end, WISP_CC_L);
        if (cc[j] & WISP_CC_N) return pretok__run(cc, j, end, WISP_CC_N);
        if (pretok__other(cc[j])) {
            size_t k = j;
            while (k < end && pretok__other(cc[k])) k++;
            return k;
        }
        if (j == i) break;
    }
    if (cc[i] & WISP_CC_WS) return pretok__spaces(cc, i, end);
    return i;
}

/* The Llama-3 regex at i; Qwen2's with max_digits = 1. */
static size_t pretok__match_llama3(const uint32_t *cp, const uint8_t *cc, size_t i, size_t end,
                                   size_t max_digits) {
    size_t m = pretok__contraction(cp, i, end, true);
    if (m > i) return m;
    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    if (cc[i] & WISP_CC_L) return pretok__run(cc, i, end, WISP_CC_L);
    if (cp[i] != '\r' && cp[i] != '\n' && !(cc[i] & WISP_CC_N) && i + 1 < end &&
        (cc[i + 1] & WISP_CC_L))
        return pretok__run(cc, i + 1, end, WISP_CC_L);
    /* \p{N}{1,max} */
    if (cc[i] & WISP_CC_N) {
        size_t k = i;
        while (k < end && k - i < max_digits && (cc[k] & WISP_CC_N)) k++;
        return k;
    }
    /*  ?[^\s\p{L}\p{N}]+[\r\n]* */
    size_t j = (cp[i] == ' ' && i + 1 < end && pretok__other(cc[i + 1])) ? i + 1 : i;
    if (pretok__other(cc[j])) {
        size_t k = j;
        while (k < end && pretok__other(cc[k])) k++;
        while (k < end && (cp[k] == '\r' || cp[k] == '\n')) k++;
        return k;
    }
    if (!(cc[i] & WISP_CC_WS)) return i;
    /* \s*[\r\n]+ : up to the last newline of the white-space run */
    size_t k = pretok__run(cc, i, end, WISP_CC_WS);
    for (size_t p = k; p > i; p--) {
        if (cp[p - 1] == '\r' || cp[p - 1] == '\n') return p;
    }
    return pretok__spaces(cc, i, end);
}

/* The end of rule's match starting exactly at i, or i when it does not match there. */
static size_t pretok__match(pretok_rule rule, const uint32_t *cp, const uint8_t *cc, size_t i,
                            size_t end) {
    switch (rule) {
    case RULE_GPT2: return pretok__match_gpt2(cp, cc, i, end);
    case RULE_LLAMA3: return pretok__match_llama3(cp, cc, i, end, 3);
    case RULE_QWEN2: return pretok__match_llama3(cp, cc, i, end, 1);
    case RULE_DIGIT: return (cc[i] & WISP_CC_N) ? i + 1 : i;
    case RULE_NEWLINE: return (cp[i] == '\r' || cp[i] == '\n') ? i + 1 : i;
    case RULE_DS_LETTERS:
    case RULE_DS_PUNCT: {
        uint8_t bit = rule == RULE_DS_LETTERS ? WISP_CC_L : WISP_CC_P;
        if (cc[i] & bit) return pretok__run(cc, i, end, bit);
        if ((cc[i] & WISP_CC_WS) && i + 1 < end && (cc[i + 1] & bit))
            return pretok__run(cc, i + 1, end, bit);
        return i;
    }
    case RULE_DS_CJK: return pretok__run(cc, i, end, WISP_CC_CJK);
    }
    return i;
}

/* Applies one rule to every piece in in[0..n_in) (piece ends), writing the new ends to out. */
static size_t pretok__stage(pretok_rule rule, const uint32_t *cp, const uint8_t *cc,
                            const uint32_t *in, size_t n_in, uint32_t *out) {
    size_t n_out = 0, start = 0;
    for (size_t p = 0; p < n_in; p++) {
        size_t end = in[p], gap = start, i = start;
        while (i < end) {
            size_t m = pretok__match(rule, cp, cc, i, end);
            if (m > i) {
                if (gap < i) out[n_out++] = (uint32_t)i;
                out[n_out++] = (uint32_t)m;
                i = gap = m;
            } else {
                i++;
            }
        }
        if (gap < end) out[n_out++] = (uint32_t)end;
        start = end;
    }
    return n_out;
}

/* Runs the kind's rules in sequence, ping-ponging between ends and tmp. */
size_t wisp_pretok_split(wisp_pretok kind, const uint32_t *cp, const uint8_t *cc, size_t n,
                         uint32_t *ends, uint32_t *tmp) {
    pretok_rule rules[5];
    size_t n_rules = 0;
    switch (kind) {
    case WISP_PRETOK_GPT2: rules[n_rules++] = RULE_GPT2; break;
    case WISP_PRETOK_LLAMA3: rules[n_rules++] = RULE_LLAMA3; break;
    case WISP_PRETOK_QWEN2: rules[n_rules++] = RULE_QWEN2; break;
    case WISP_PRETOK_STARCODER:
        rules[n_rules++] = RULE_DIGIT;
        rules[n_rules++] = RULE_GPT2;
        break;
    case WISP_PRETOK_DEEPSEEK_CODER:
        rules[n_rules++] = RULE_NEWLINE;
        rules[n_rules++] = RULE_DS_LETTERS;
        rules[n_rules++] = RULE_DS_PUNCT;
        rules[n_rules++] = RULE_DS_CJK;
        rules[n_rules++] = RULE_DIGIT;
        break;
    }
    if (n == 0) return 0;
    uint32_t *cur = (n_rules % 2) ? tmp : ends, *next = (n_rules % 2) ? ends : tmp;
    cur[0] = (uint32_t)n;
    size_t count = 1;
    for (size_t r = 0; r < n_rules; r++) {
        count = pretok__stage(rules[r], cp, cc, cur, count, next);
        uint32_t *t = cur;
        cur = next;
        next = t;
    }
    return count; /* after an odd/even number of swaps the result sits in `ends` */
}
