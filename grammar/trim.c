/* Syntax-aware cutting of a model's answer: see trim.h for the rules and their order. */
#include "trim.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

#define TRIM__MAX_DEPTH 64
#define TRIM__SCAN_LINES 400 /* how far back the prefix is lexed for open brackets */
#define TRIM__MIN_REPEAT 6   /* a repeated line this long (stripped) ends a multi-line answer */
/* Loops further back (see trim__repeats): a line whitespace-equal to any earlier line of the answer,
 * or to one of the last TRIM__PREFIX_LINES lines before the cursor, when at least this long... */
#define TRIM__MIN_REPEAT_FAR 12
/* ...or nearly equal (edit similarity >= 0.9) to an earlier line of the answer when both are at
 * least this long; lines longer than TRIM__MAX_SIM_LEN are only compared for equality. */
#define TRIM__MIN_NEAR 20
#define TRIM__MAX_SIM_LEN 160
#define TRIM__PREFIX_LINES 3

/* ---------------------------------------------------------------------------------------------- */
/* A small lexer: brackets, quotes and comments, enough to know what is open at a position.      */
/* ---------------------------------------------------------------------------------------------- */

typedef struct trim__lex {
    wisp_lang lang;
    char stack[TRIM__MAX_DEPTH]; /* open brackets, innermost last */
    uint32_t depth;
    uint32_t overflow;           /* openers beyond TRIM__MAX_DEPTH, counted not stored */
    char quote;                  /* 0, or the quote of the open string */
    bool triple;                 /* Python triple-quoted string */
    bool escape;
    bool line_comment;
    bool block_comment;
} trim__lex;

typedef enum trim__ev {
    TRIM__EV_NONE = 0,
    TRIM__EV_OPEN,        /* a bracket was pushed */
    TRIM__EV_CLOSE,       /* a bracket was popped; lx->depth is now the popped index */
    TRIM__EV_CLOSE_BAD,   /* a closer that matches nothing open */
    TRIM__EV_QUOTE_OPEN,
    TRIM__EV_QUOTE_CLOSE,
    TRIM__EV_NEWLINE,
} trim__ev;

static bool trim__is_c_like(wisp_lang lang) { return lang != WISP_LANG_PYTHON; }

/* The opener a closer matches (0 for anything else), and the reverse. */
static char trim__opener_of(char c) {
    return c == ')' ? '(' : c == ']' ? '[' : c == '}' ? '{' : 0;
}

static char trim__closer_of(char c) {
    return c == '(' ? ')' : c == '[' ? ']' : c == '{' ? '}' : 0;
}

/* Consumes the lexeme at s[i] (i < n) and says what happened; returns the bytes consumed. */
static size_t trim__lex_step(trim__lex *lx, const char *s, size_t i, size_t n, trim__ev *ev) {
    char c = s[i];
    char c1 = i + 1 < n ? s[i + 1] : 0, c2 = i + 2 < n ? s[i + 2] : 0;
    *ev = TRIM__EV_NONE;
    if (lx->line_comment) {
        if (c == '\n') {
            lx->line_comment = false;
            *ev = TRIM__EV_NEWLINE;
        }
        return 1;
    }
    if (lx->block_comment) {
        if (c == '*' && c1 == '/') {
            lx->block_comment = false;
            return 2;
        }
        if (c == '\n') *ev = TRIM__EV_NEWLINE;
        return 1;
    }
    if (lx->quote) {
        if (lx->escape) {
            lx->escape = false;
            return 1;
        }
        if (c == '\\') {
            lx->escape = true;
            return 1;
        }
        if (lx->triple) {
            if (c == lx->quote && c1 == c && c2 == c) {
                lx->quote = 0;
                lx->triple = false;
                *ev = TRIM__EV_QUOTE_CLOSE;
                return 3;
            }
            if (c == '\n') *ev = TRIM__EV_NEWLINE;
            return 1;
        }
        if (c == lx->quote) {
            lx->quote = 0;
            *ev = TRIM__EV_QUOTE_CLOSE;
            return 1;
        }
        if (c == '\n') {
            if (lx->quote != '`') lx->quote = 0; /* an unterminated string ends with its line */
            *ev = TRIM__EV_NEWLINE;
        }
        return 1;
    }
    if (c == '\n') {
        *ev = TRIM__EV_NEWLINE;
        return 1;
    }
    if (lx->lang == WISP_LANG_PYTHON && c == '#') {
        lx->line_comment = true;
        return 1;
    }
    if (trim__is_c_like(lx->lang) && c == '/' && c1 == '/') {
        lx->line_comment = true;
        return 2;
    }
    if (trim__is_c_like(lx->lang) && c == '/' && c1 == '*') {
        lx->block_comment = true;
        return 2;
    }
    bool backtick = c == '`' && (lx->lang == WISP_LANG_JAVASCRIPT || lx->lang == WISP_LANG_TYPESCRIPT ||
                                 lx->lang == WISP_LANG_TSX);
    if (c == '"' || c == '\'' || backtick) {
        lx->quote = c;
        *ev = TRIM__EV_QUOTE_OPEN;
        if (lx->lang == WISP_LANG_PYTHON && c1 == c && c2 == c) {
            lx->triple = true;
            return 3;
        }
        return 1;
    }
    if (trim__closer_of(c)) {
        if (lx->depth < TRIM__MAX_DEPTH) lx->stack[lx->depth++] = c;
        else lx->overflow++;
        *ev = TRIM__EV_OPEN;
        return 1;
    }
    if (trim__opener_of(c)) {
        if (lx->overflow) {
            lx->overflow--;
            *ev = TRIM__EV_NONE;
        } else if (lx->depth > 0 && lx->stack[lx->depth - 1] == trim__opener_of(c)) {
            lx->depth--;
            *ev = TRIM__EV_CLOSE;
        } else {
            *ev = TRIM__EV_CLOSE_BAD;
        }
        return 1;
    }
    return 1;
}

/* The lexer state at the cursor: lexes the prefix from the last top-level line (one that starts
 * at column 0 with code), at most TRIM__SCAN_LINES lines back. Closers that match nothing are
 * ignored here: they close something opened before the scanned window. */
static trim__lex trim__lex_prefix(const trim_input *in) {
    trim__lex lx;
    memset(&lx, 0, sizeof lx);
    lx.lang = in->lang;
    const char *p = in->prefix;
    size_t n = in->prefix_len, start = 0, lines = 0;
    for (size_t i = n; i > 0; i--) {
        if (p[i - 1] != '\n') continue;
        char c = i < n ? p[i] : 0;
        bool top = c && c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '#' && c != '/' &&
                   c != '*' && c != ')' && c != ']';
        if (top || ++lines >= TRIM__SCAN_LINES) {
            start = i;
            break;
        }
    }
    for (size_t i = start; i < n;) {
        trim__ev ev;
        i += trim__lex_step(&lx, p, i, n, &ev);
    }
    lx.line_comment = false; /* a cursor inside a comment is mode NONE; don't carry it over */
    lx.escape = false;
    return lx;
}

/* ---------------------------------------------------------------------------------------------- */
/* Lines, indentation, the suffix                                                                 */
/* ---------------------------------------------------------------------------------------------- */

static bool trim__is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Width of the leading whitespace of s[0..n) (tabs to the next multiple of `tab`). */
static uint32_t trim__indent(const char *s, size_t n, uint32_t tab) {
    uint32_t w = 0;
    for (size_t i = 0; i < n && (s[i] == ' ' || s[i] == '\t'); i++)
        w = s[i] == '\t' ? (w / tab + 1) * tab : w + 1;
    return w;
}

/* Index of the \n ending the line that holds s[i], or n. */
static size_t trim__line_end(const char *s, size_t i, size_t n) {
    const char *nl = memchr(s + i, '\n', n - i);
    return nl ? (size_t)(nl - s) : n;
}

/* [*b, *e) := s[b0, e0) without leading and trailing whitespace. */
static void trim__strip(const char *s, size_t b0, size_t e0, size_t *b, size_t *e) {
    while (b0 < e0 && trim__is_space(s[b0])) b0++;
    while (e0 > b0 && trim__is_space(s[e0 - 1])) e0--;
    *b = b0;
    *e = e0;
}

/* True when s[b, e) is only whitespace. */
static bool trim__blank(const char *s, size_t b, size_t e) {
    size_t sb, se;
    trim__strip(s, b, e, &sb, &se);
    return sb == se;
}

/* Everything the cut needs to know about the text around the cursor. */
typedef struct trim__site {
    trim__lex lex;           /* state at the cursor */
    const char *rest;        /* the rest of the cursor line in the suffix, no line end */
    size_t rest_len;
    char rest_first;         /* its first non-space byte, or 0 */
    const char *next[2];     /* the suffix's next two non-blank lines, stripped */
    size_t next_len[2];
    const char *before[TRIM__PREFIX_LINES]; /* the last non-blank lines before the cursor line, stripped */
    size_t before_len[TRIM__PREFIX_LINES];
    bool before_lines;       /* trim_input.repeat_before */
    uint32_t block_indent;   /* lines of a block indented below this end it */
    bool line_blank;         /* the cursor line holds only whitespace before the cursor */
} trim__site;

/* Reads the cursor's surroundings once: lexer state, the rest of the line, the suffix's next
 * lines and the indentation that ends a block. */
static trim__site trim__site_of(const trim_input *in) {
    trim__site st;
    memset(&st, 0, sizeof st);
    st.lex = trim__lex_prefix(in);
    const char *s = in->suffix;
    size_t n = in->suffix_len, e = trim__line_end(s, 0, n);
    st.rest = s;
    st.rest_len = e;
    while (st.rest_len > 0 && (s[st.rest_len - 1] == '\r')) st.rest_len--;
    for (size_t i = 0; i < st.rest_len; i++)
        if (!trim__is_space(s[i])) {
            st.rest_first = s[i];
            break;
        }
    size_t k = 0, i = e < n ? e + 1 : n;
    while (i < n && k < 2) {
        size_t le = trim__line_end(s, i, n), b, t;
        trim__strip(s, i, le, &b, &t);
        if (b < t) {
            st.next[k] = s + b;
            st.next_len[k] = t - b;
            k++;
        }
        i = le + 1;
    }
    const char *p = in->prefix;
    size_t ls = in->prefix_len;
    while (ls > 0 && p[ls - 1] != '\n') ls--;
    uint32_t tab = in->style.indent_width ? in->style.indent_width : 4;
    st.line_blank = trim__blank(p, ls, in->prefix_len);
    st.before_lines = in->repeat_before;
    for (size_t e2 = ls, k2 = 0; e2 > 0 && k2 < TRIM__PREFIX_LINES;) {
        size_t b2 = e2 - 1; /* p[e2 - 1] is the \n ending the line before */
        while (b2 > 0 && p[b2 - 1] != '\n') b2--;
        size_t sb, se;
        trim__strip(p, b2, e2 - 1, &sb, &se);
        if (sb < se) {
            st.before[k2] = p + sb;
            st.before_len[k2] = se - sb;
            k2++;
        }
        e2 = b2;
    }
    st.block_indent = trim__indent(p + ls, in->prefix_len - ls, tab);
    if (!st.line_blank) st.block_indent += 1; /* a block opened on this line is deeper */
    return st;
}

/* Byte equality of two counted strings. */
static bool trim__eq(const char *a, size_t na, const char *b, size_t nb) {
    return na == nb && memcmp(a, b, na) == 0;
}

/* A C line that sits at column 0 inside a body without ending it: preprocessor, label. */
static bool trim__c_col0_ok(wisp_lang lang, const char *s, size_t b, size_t e) {
    if (lang != WISP_LANG_C) return false;
    if (s[b] == '#') return true;
    size_t i = b;
    while (i < e && (s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                     (s[i] >= '0' && s[i] <= '9')))
        i++;
    return i > b && i < e && s[i] == ':' && (i + 1 >= e || s[i + 1] != ':');
}

/* ---------------------------------------------------------------------------------------------- */
/* Repetition: a small model's loop                                                               */
/* ---------------------------------------------------------------------------------------------- */

/* a[0..na) with runs of whitespace as one space (the ends are already stripped) into out[0..cap);
 * returns the length written. */
static size_t trim__squeeze(const char *a, size_t na, char *out, size_t cap) {
    size_t k = 0;
    for (size_t i = 0; i < na && k < cap; i++) {
        if (trim__is_space(a[i])) {
            if (k > 0 && out[k - 1] == ' ') continue;
            out[k++] = ' ';
        } else {
            out[k++] = a[i];
        }
    }
    return k;
}

/* Equal once runs of whitespace count as one space (both stripped). */
static bool trim__eq_ws(const char *a, size_t na, const char *b, size_t nb) {
    size_t i = 0, j = 0;
    while (i < na && j < nb) {
        bool sa = trim__is_space(a[i]), sb = trim__is_space(b[j]);
        if (sa && sb) {
            while (i < na && trim__is_space(a[i])) i++;
            while (j < nb && trim__is_space(b[j])) j++;
            continue;
        }
        if (sa || sb || a[i] != b[j]) return false;
        i++;
        j++;
    }
    return i == na && j == nb;
}

/* Edit similarity 1 - levenshtein / max(len) of two whitespace-squeezed lines, >= 0.9? Short-cuts
 * on the length difference, which alone bounds the distance from below. */
bool trim_near_equal(const char *a, size_t na, const char *b, size_t nb) {
    char x[TRIM__MAX_SIM_LEN], y[TRIM__MAX_SIM_LEN];
    if (na > TRIM__MAX_SIM_LEN || nb > TRIM__MAX_SIM_LEN) return trim__eq_ws(a, na, b, nb);
    size_t n = trim__squeeze(a, na, x, sizeof x), m = trim__squeeze(b, nb, y, sizeof y);
    size_t mx = n > m ? n : m;
    if (mx == 0) return true;
    size_t allow = mx / 10; /* distance <= 10 % of the longer line */
    if ((n > m ? n - m : m - n) > allow) return false;
    uint16_t row[TRIM__MAX_SIM_LEN + 1];
    for (size_t j = 0; j <= m; j++) row[j] = (uint16_t)j;
    for (size_t i = 1; i <= n; i++) {
        uint16_t diag = row[0], lo;
        row[0] = (uint16_t)i;
        lo = row[0];
        for (size_t j = 1; j <= m; j++) {
            uint16_t up = row[j];
            uint16_t v = (uint16_t)(diag + (x[i - 1] != y[j - 1]));
            if (up + 1 < v) v = (uint16_t)(up + 1);
            if (row[j - 1] + 1 < v) v = (uint16_t)(row[j - 1] + 1);
            row[j] = v;
            diag = up;
            if (v < lo) lo = v;
        }
        if (lo > allow) return false; /* every path is already too far */
    }
    return row[m] <= allow;
}

/* True when the stripped line s[b, t) repeats what is already there: a line of the answer before
 * it (s[from, b)) that is whitespace-equal and long enough to be a statement rather than a brace
 * or a `break;` (TRIM__MIN_REPEAT_FAR), or nearly equal and long (TRIM__MIN_NEAR: a loop that
 * bumps an index or a name), or (repeat_before) one of the last lines right before the cursor
 * (the model re-emitting the code it was shown). Lines equal to the suffix's next line are
 * trim__cut_of's own rule. Legitimately repeated short lines (`return -1;`, `}`) stay. */
static bool trim__repeats(const trim__site *st, const char *s, size_t from, size_t b, size_t t) {
    size_t len = t - b;
    if (len < TRIM__MIN_REPEAT_FAR) return false;
    for (size_t i = from; i < b;) {
        size_t le = trim__line_end(s, i, b), pb, pt;
        trim__strip(s, i, le, &pb, &pt);
        size_t pl = pt - pb;
        if (pl >= TRIM__MIN_REPEAT_FAR) {
            if (trim__eq_ws(s + pb, pl, s + b, len)) return true;
            if (pl >= TRIM__MIN_NEAR && len >= TRIM__MIN_NEAR && trim_near_equal(s + pb, pl, s + b, len))
                return true;
        }
        i = le + 1;
    }
    /* The lines right before the cursor: measured as a rule (bench/RESULTS.md, "Decoding
     * ablation"), it cut legitimate answers (a call's arguments spelled as the signature's
     * parameters, a call like the one above) more often than loops; only with before_lines. */
    for (int k = 0; st->before_lines && k < TRIM__PREFIX_LINES; k++)
        if (st->before_len[k] >= TRIM__MIN_REPEAT_FAR && trim__eq_ws(st->before[k], st->before_len[k], s + b, len))
            return true;
    return false;
}

/* ---------------------------------------------------------------------------------------------- */
/* The cut                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

typedef struct trim__cut {
    size_t begin, end;   /* the kept bytes of the answer */
    bool stopped;        /* a rule ended the answer (rather than the text running out) */
    trim__lex lex;       /* lexer state at `end` */
    uint32_t base;       /* brackets below this index were opened before the cursor */
} trim__cut;

/* Where the answer ends: walks the answer with the lexer started in the cursor's state and
 * stops at the first rule that fires. `final`: the text is complete (not a partial stream), so
 * its last line is whole. */
static trim__cut trim__cut_of(const trim_input *in, const trim__site *st, const char *s, size_t n,
                              bool final) {
    trim__cut cut = {0, n, false, st->lex, st->lex.depth};
    uint32_t tab = in->style.indent_width ? in->style.indent_width : 4;
    bool prefix_quote = st->lex.quote != 0;
    size_t i = 0;
    /* A block answer that starts with blank lines starts at its first statement. */
    if (in->shape == TRIM_SHAPE_BLOCK && st->line_blank) {
        size_t j = 0;
        while (j < n) {
            size_t le = trim__line_end(s, j, n);
            if (le == n || !trim__blank(s, j, le)) break;
            j = le + 1;
        }
        if (j > 0 && j < n) {
            while (j < n && (s[j] == ' ' || s[j] == '\t')) j++;
            cut.begin = i = j;
        }
    }
    uint32_t line_no = 0;
    size_t line_start = i;
    size_t prev_b = 0, prev_e = 0; /* the last non-blank line, stripped */
    {
        size_t le = trim__line_end(s, i, n);
        trim__strip(s, i, le, &prev_b, &prev_e);
    }
    trim__lex *lx = &cut.lex;
    while (i < n) {
        /* At the start of every line after the first: line-level rules. */
        if (i == line_start && line_no > 0) {
            size_t le = trim__line_end(s, i, n), b, t;
            trim__strip(s, i, le, &b, &t);
            bool blank = b == t;
            if (in->max_lines && line_no >= in->max_lines) goto stop_at_line;
            if (in->shape == TRIM_SHAPE_LINE) goto stop_at_line;
            if (in->syntax && in->shape == TRIM_SHAPE_BLOCK && !blank && !lx->quote &&
                !lx->block_comment && lx->depth <= cut.base) {
                uint32_t ind = trim__indent(s + i, le - i, tab);
                if (ind < st->block_indent && !trim__c_col0_ok(in->lang, s, b, t)) goto stop_at_line;
            }
            if (in->syntax && !blank && (le < n || final) && !lx->quote && !lx->block_comment &&
                prev_e - prev_b >= TRIM__MIN_REPEAT && trim__eq(s + b, t - b, s + prev_b, prev_e - prev_b))
                goto stop_at_line; /* the same statement again: a small model's loop */
            if (in->syntax && in->repeat && in->shape != TRIM_SHAPE_LINE && !blank && (le < n || final) &&
                !lx->quote && !lx->block_comment && trim__repeats(st, s, cut.begin, b, t))
                goto stop_at_line; /* a line seen before: the loop began there */
            if (!blank) {
                prev_b = b;
                prev_e = t;
            }
            if (in->syntax && !blank && st->next_len[0] && (le < n || final) && !lx->quote &&
                !lx->block_comment && lx->depth <= cut.base &&
                trim__eq(s + b, t - b, st->next[0], st->next_len[0])) {
                /* a line the suffix holds next: stop, if it is more than a lone bracket or the
                 * following line agrees too */
                bool agree = t - b >= 4;
                if (!agree && st->next_len[1]) {
                    size_t j = le + 1;
                    while (j < n) {
                        size_t le2 = trim__line_end(s, j, n), b2, t2;
                        trim__strip(s, j, le2, &b2, &t2);
                        if (b2 < t2) {
                            agree = trim__eq(s + b2, t2 - b2, st->next[1], st->next_len[1]);
                            break;
                        }
                        j = le2 + 1;
                    }
                }
                if (agree) goto stop_at_line;
            }
        }
        size_t at = i;
        trim__ev ev;
        i += trim__lex_step(lx, s, i, n, &ev);
        if (ev == TRIM__EV_NEWLINE) {
            line_no++;
            line_start = i;
            if (in->shape == TRIM_SHAPE_LINE) {
                cut.end = at;
                cut.stopped = true;
                return cut;
            }
            continue;
        }
        if (!in->syntax) continue;
        if (ev == TRIM__EV_CLOSE_BAD || (ev == TRIM__EV_CLOSE && lx->depth < cut.base)) {
            char closer = s[at];
            if (in->shape == TRIM_SHAPE_BLOCK || ev == TRIM__EV_CLOSE_BAD) {
                /* the enclosing block (or something never opened) closes: end before it, and
                 * before its line when nothing else stands on that line */
                cut.end = trim__blank(s, line_start, at) && line_no > 0 ? line_start : at;
                cut.stopped = true;
                return cut;
            }
            if (st->rest_first == closer || in->shape == TRIM_SHAPE_ARGS) {
                /* the suffix already holds this closer (or the call ends here) */
                cut.end = st->rest_first == closer ? at : i;
                cut.stopped = true;
                return cut;
            }
            cut.base = lx->depth; /* the answer closed a bracket of the prefix itself */
        } else if (ev == TRIM__EV_QUOTE_CLOSE && prefix_quote) {
            prefix_quote = false;
            if (st->rest_first == s[at] && in->shape != TRIM_SHAPE_BLOCK) {
                cut.end = at;
                cut.stopped = true;
                return cut;
            }
        }
    }
    cut.end = n;
    return cut;
stop_at_line:
    cut.end = line_start > cut.begin && s[line_start - 1] == '\n' ? line_start - 1 : line_start;
    cut.stopped = true;
    return cut;
}

/* ---------------------------------------------------------------------------------------------- */
/* Output                                                                                         */
/* ---------------------------------------------------------------------------------------------- */

/* A growable output buffer; `p` is owned by whoever takes it. */
typedef struct trim__buf {
    char *p;
    size_t len, cap;
    bool failed;
} trim__buf;

/* Appends n bytes, keeping the buffer NUL-terminated; a failed allocation sticks in `failed`. */
static void trim__put(trim__buf *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Appends the answer's lines with the file's indentation and line ends. */
static void trim__put_styled(trim__buf *out, const trim_input *in, const char *s, size_t n) {
    uint32_t w = in->style.indent_width ? in->style.indent_width : 4;
    for (size_t i = 0; i < n;) {
        size_t le = trim__line_end(s, i, n);
        if (i > 0) {
            /* leading whitespace of a continuation line, re-spelled */
            size_t j = i;
            uint32_t width = 0;
            while (j < le && (s[j] == ' ' || s[j] == '\t')) {
                width = s[j] == '\t' ? (width / w + 1) * w : width + 1;
                j++;
            }
            bool mixed = false;
            for (size_t k = i; k < j; k++) mixed |= (s[k] == '\t') != in->style.tabs;
            if (mixed) {
                for (uint32_t k = 0; in->style.tabs && k < width / w; k++) trim__put(out, "\t", 1);
                for (uint32_t k = 0; k < (in->style.tabs ? width % w : width); k++) trim__put(out, " ", 1);
            } else {
                trim__put(out, s + i, j - i);
            }
            i = j;
        }
        trim__put(out, s + i, le - i);
        if (le < n) trim__put(out, in->style.crlf ? "\r\n" : "\n", in->style.crlf ? 2 : 1);
        i = le + 1;
    }
}

/* True when s[b, e) leaves open nothing of its own (brackets, strings): then a tail equal to the
 * rest of the line repeats the suffix rather than closing what the answer opened. */
static bool trim__balanced_before(const trim_input *in, const trim__site *st, const char *s, size_t b,
                                  size_t e) {
    trim__lex lx = st->lex;
    uint32_t base = lx.depth;
    bool quote = lx.quote != 0;
    for (size_t i = b; i < e;) {
        trim__ev ev;
        i += trim__lex_step(&lx, s, i, e, &ev);
        if (ev == TRIM__EV_CLOSE && lx.depth < base) base = lx.depth;
    }
    (void)in;
    return lx.depth <= base && (!lx.quote || quote);
}

/* The end of s[b, e) without a UTF-8 sequence that the end cuts short. */
static size_t trim__utf8_whole(const char *s, size_t b, size_t e) {
    size_t i = e, k = 0;
    while (i > b && k < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) {
        i--;
        k++;
    }
    if (i == b) return e;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead >= 0xF0 && lead < 0xF8 ? 3 : lead >= 0xE0 && lead < 0xF0 ? 2 : lead >= 0xC0 && lead < 0xE0 ? 1 : 0;
    if (lead >= 0xC0 && k < need) return i - 1; /* an incomplete sequence: drop it */
    return e;
}

wisp_status trim_completion(const trim_input *in, const char *raw, size_t raw_len, char **out,
                            size_t *out_len, wisp_error *err) {
    if (!in || !out || !out_len || (!raw && raw_len))
        return wisp__fail(err, WISP_ERR_INVALID_ARG, "trim_completion: NULL argument");
    *out = NULL;
    *out_len = 0;
    /* work on a copy without \r: the model may echo the file's line ends */
    char *s = malloc(raw_len + 1);
    if (!s) return wisp__fail(err, WISP_ERR_NO_MEMORY, "trim: %zu bytes", raw_len);
    size_t n = 0;
    for (size_t i = 0; i < raw_len; i++)
        if (raw[i] != '\r') s[n++] = raw[i];
    trim__site st = trim__site_of(in);
    trim__cut cut = trim__cut_of(in, &st, s, n, true);
    size_t b = cut.begin, e = cut.end;
    trim__buf buf = {0};
    char close[TRIM__MAX_DEPTH + 3];
    size_t n_close = 0;
    if (in->syntax && in->shape != TRIM_SHAPE_BLOCK) {
        /* the rest of the line repeated at the end of the answer */
        size_t rb, re;
        trim__strip(st.rest, 0, st.rest_len, &rb, &re);
        size_t eb, ee;
        trim__strip(s, b, e, &eb, &ee);
        size_t m = re - rb;
        if (m > 0 && ee - eb >= m && memcmp(s + ee - m, st.rest + rb, m) == 0 &&
            trim__balanced_before(in, &st, s, b, ee - m)) {
            e = ee - m;
            if (rb > 0) /* the rest starts with its own whitespace */
                while (e > b && trim__is_space(s[e - 1])) e--;
            cut.stopped = true;
        }
    }
    if (in->syntax && in->shape == TRIM_SHAPE_LINE && e == cut.end) {
        /* balance what the answer opened and left open on its one line */
        trim__lex lx = cut.lex;
        if (lx.quote && lx.quote != st.lex.quote && st.rest_first != lx.quote) {
            for (int k = 0; k < (lx.triple ? 3 : 1); k++) close[n_close++] = lx.quote;
        } else if (!lx.quote && !lx.block_comment && !lx.line_comment && lx.depth > cut.base) {
            size_t last = e;
            while (last > b && trim__is_space(s[last - 1])) last--;
            char lc = last > b ? s[last - 1] : 0;
            bool continues = trim__closer_of(lc) || strchr(",=+-*/%&|\\:?<>!.", lc);
            if (!continues && st.rest_first != trim__closer_of(lx.stack[lx.depth - 1]))
                for (uint32_t k = lx.depth; k > cut.base; k--) close[n_close++] = trim__closer_of(lx.stack[k - 1]);
        }
    }
    /* a character cut in half by the token budget goes */
    e = trim__utf8_whole(s, b, e);
    /* trailing whitespace is noise at the end of a line or a block */
    bool at_line_end = st.rest_len == 0 || trim__blank(st.rest, 0, st.rest_len);
    if (in->shape == TRIM_SHAPE_BLOCK || at_line_end || n_close)
        while (e > b && (trim__is_space(s[e - 1]) || s[e - 1] == '\n')) e--;
    if (!trim__blank(s, b, e) || n_close) {
        trim__put_styled(&buf, in, s + b, e - b);
        trim__put(&buf, close, n_close);
    }
    free(s);
    if (buf.failed) {
        free(buf.p);
        return wisp__fail(err, WISP_ERR_NO_MEMORY, "trim: output buffer");
    }
    if (!buf.p) {
        buf.p = malloc(1);
        if (!buf.p) return wisp__fail(err, WISP_ERR_NO_MEMORY, "trim: output buffer");
        buf.p[0] = '\0';
    }
    *out = buf.p;
    *out_len = buf.len;
    return WISP_OK;
}

bool trim_is_done(const trim_input *in, const char *text, size_t len) {
    if (!in || !text) return false;
    if (in->shape == TRIM_SHAPE_LINE && memchr(text, '\n', len)) return true;
    if (!in->syntax && in->max_lines == 0) return false;
    trim__site st = trim__site_of(in);
    return trim__cut_of(in, &st, text, len, false).stopped;
}

struct trim_cursor {
    const trim_input *in;
    trim__site site;
};

trim_cursor *trim_cursor_new(const trim_input *in) {
    if (!in) return NULL;
    trim_cursor *c = malloc(sizeof *c);
    if (!c) return NULL;
    c->in = in;
    c->site = trim__site_of(in);
    return c;
}

void trim_cursor_free(trim_cursor *self) { free(self); }

bool trim_cursor_done(const trim_cursor *self, const char *text, size_t len) {
    if (!self || !text) return false;
    const trim_input *in = self->in;
    if (in->shape == TRIM_SHAPE_LINE && memchr(text, '\n', len)) return true;
    if (!in->syntax && in->max_lines == 0) return false;
    return trim__cut_of(in, &self->site, text, len, false).stopped;
}

trim_style trim_detect_style(const char *text, size_t len) {
    trim_style style = {false, false, 4};
    size_t crlf = 0, lf = 0, tabs = 0, spaces = 0;
    size_t hist[9] = {0}; /* indentation steps between consecutive space-indented lines */
    uint32_t prev = 0;
    for (size_t i = 0; i < len;) {
        size_t le = trim__line_end(text, i, len);
        if (le < len) {
            if (le > i && text[le - 1] == '\r') crlf++;
            else lf++;
        }
        if (le > i && !trim__blank(text, i, le)) {
            if (text[i] == '\t') tabs++;
            else if (text[i] == ' ') spaces++;
            if (text[i] != '\t') {
                uint32_t ind = 0;
                while (i + ind < le && text[i + ind] == ' ') ind++;
                if (ind > prev && ind - prev >= 2 && ind - prev <= 8) hist[ind - prev]++;
                prev = ind;
            }
        }
        i = le + 1;
    }
    style.crlf = crlf > lf;
    style.tabs = tabs > spaces;
    size_t best = 0;
    for (uint32_t w = 2; w <= 8; w++)
        if (hist[w] > best) {
            best = hist[w];
            style.indent_width = w;
        }
    return style;
}
