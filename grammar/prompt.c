/* FIM prompt assembly: the layout, the budget and the cache-friendly tokenization (prompt.h). */
#include "prompt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define PROMPT__DEFS_MAX_TOKENS 256   /* the definitions block never takes more than this */
#define PROMPT__SCOPES_MAX_TOKENS 48  /* the cut-off enclosing headers, likewise */
#define PROMPT__MAX_LINES 8192        /* lines examined on each side of the cursor */

wisp_status prompt_fim_ids(const wisp_tokenizer *tok, prompt_fim *out, wisp_error *err) {
    if (!tok || !out) return wisp__fail(err, WISP_ERR_INVALID_ARG, "prompt_fim_ids: NULL argument");
    memset(out, 0, sizeof *out);
    out->pre = wisp_tokenizer_special(tok, WISP_SPECIAL_FIM_PRE);
    out->suf = wisp_tokenizer_special(tok, WISP_SPECIAL_FIM_SUF);
    out->mid = wisp_tokenizer_special(tok, WISP_SPECIAL_FIM_MID);
    out->sep = wisp_tokenizer_special(tok, WISP_SPECIAL_FIM_SEP);
    if (out->pre == WISP_NO_TOKEN || out->suf == WISP_NO_TOKEN || out->mid == WISP_NO_TOKEN)
        return wisp__fail(err, WISP_ERR_UNSUPPORTED,
                          "the model's vocabulary has no fill-in-the-middle tokens (missing:%s%s%s); "
                          "wisp needs a FIM code model",
                          out->pre == WISP_NO_TOKEN ? " prefix" : "",
                          out->suf == WISP_NO_TOKEN ? " suffix" : "",
                          out->mid == WISP_NO_TOKEN ? " middle" : "");
    static const wisp_special stops[] = {WISP_SPECIAL_EOS,     WISP_SPECIAL_EOT,     WISP_SPECIAL_FIM_SEP,
                                         WISP_SPECIAL_FIM_PAD, WISP_SPECIAL_FIM_PRE, WISP_SPECIAL_FIM_SUF,
                                         WISP_SPECIAL_FIM_MID, WISP_SPECIAL_FIM_REP};
    for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
        int32_t id = wisp_tokenizer_special(tok, stops[i]);
        bool seen = id == WISP_NO_TOKEN;
        for (size_t j = 0; j < out->n_stops && !seen; j++) seen = out->stops[j] == id;
        if (!seen) out->stops[out->n_stops++] = id;
    }
    return WISP_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* Tokenizing pieces                                                                              */
/* ---------------------------------------------------------------------------------------------- */

/* Scratch shared by one prompt_build: a text buffer (for \r\n -> \n) and a token buffer. */
typedef struct prompt__scratch {
    const wisp_tokenizer *tok;
    char *text;
    size_t text_cap;
    int32_t *ids;
    size_t ids_cap;
} prompt__scratch;

/* Grows *p (of *cap elements of `elem` bytes) by doubling to hold `need`; false when out of memory. */
static bool prompt__grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return false;
    *p = q;
    *cap = c;
    return true;
}

/* Tokenizes text[0..len) with \r\n read as \n into sc->ids; returns the count or -1. */
static int64_t prompt__tokenize(prompt__scratch *sc, const char *text, size_t len, wisp_error *err) {
    if (!prompt__grow((void **)&sc->text, &sc->text_cap, len + 1, 1)) {
        wisp__fail(err, WISP_ERR_NO_MEMORY, "prompt: %zu bytes of text", len);
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (!(text[i] == '\r' && i + 1 < len && text[i + 1] == '\n')) sc->text[n++] = text[i];
    if (n == 0) return 0;
    for (;;) {
        int64_t k = wisp_tokenize(sc->tok, sc->text, n, false, sc->ids, sc->ids_cap, err);
        if (k < 0) return -1;
        if ((size_t)k <= sc->ids_cap) return k;
        if (!prompt__grow((void **)&sc->ids, &sc->ids_cap, (size_t)k, sizeof(int32_t))) {
            wisp__fail(err, WISP_ERR_NO_MEMORY, "prompt: %lld tokens", (long long)k);
            return -1;
        }
    }
}

/* Appends ids to the prompt. */
static bool prompt__push(prompt *p, size_t *cap, const int32_t *ids, size_t n) {
    if (!prompt__grow((void **)&p->tokens, cap, p->n_tokens + n + 1, sizeof(int32_t))) return false;
    if (n) memcpy(p->tokens + p->n_tokens, ids, n * sizeof(int32_t)); /* ids may be NULL when n == 0 */
    p->n_tokens += n;
    return true;
}

/* ---------------------------------------------------------------------------------------------- */
/* The window: how much prefix and suffix fit                                                     */
/* ---------------------------------------------------------------------------------------------- */

/* Token counts of whole lines on each side of the cursor, nearest first. */
typedef struct prompt__lines {
    size_t *start;     /* prefix: line starts going up; suffix: line ends going down */
    uint32_t *cum;     /* tokens from the cursor to that line, inclusive */
    size_t n;
} prompt__lines;

/* The line table's two arrays are owned by it. */
static void prompt__lines_free(prompt__lines *l) {
    free(l->start);
    free(l->cum);
}

/* Appends one line (its boundary and the running token count); false when out of memory. */
static bool prompt__lines_push(prompt__lines *l, size_t *cap, size_t at, uint32_t cum) {
    if (l->n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        size_t *s = realloc(l->start, c * sizeof *s);
        if (!s) return false;
        l->start = s;
        uint32_t *k = realloc(l->cum, c * sizeof *k);
        if (!k) return false;
        l->cum = k;
        *cap = c;
    }
    l->start[l->n] = at;
    l->cum[l->n] = cum;
    l->n++;
    return true;
}

/* Prefix lines above the cursor line, counted until `limit` tokens: start[i] is where the i-th
 * line up begins, cum[i] the tokens of [start[i], line_start). */
static wisp_status prompt__prefix_lines(prompt__scratch *sc, const char *text, size_t line_start,
                                        uint32_t limit, prompt__lines *out, wisp_error *err) {
    size_t cap = 0, end = line_start;
    uint32_t cum = 0;
    memset(out, 0, sizeof *out);
    while (end > 0 && out->n < PROMPT__MAX_LINES && cum <= limit) {
        size_t b = end - 1; /* end - 1 is the previous line's \n */
        while (b > 0 && text[b - 1] != '\n') b--;
        int64_t k = prompt__tokenize(sc, text + b, end - b, err);
        if (k < 0) return err ? err->code : WISP_ERR_TOKENIZER;
        cum += (uint32_t)k;
        if (!prompt__lines_push(out, &cap, b, cum))
            return wisp__fail(err, WISP_ERR_NO_MEMORY, "prompt: line table");
        end = b;
    }
    return WISP_OK;
}

/* Suffix lines from the cursor down: start[i] is the end of the i-th line (after its \n),
 * cum[i] the tokens of [pos, start[i]). */
static wisp_status prompt__suffix_lines(prompt__scratch *sc, const char *text, size_t len,
                                        size_t pos, uint32_t limit, prompt__lines *out,
                                        wisp_error *err) {
    size_t cap = 0, b = pos;
    uint32_t cum = 0;
    memset(out, 0, sizeof *out);
    while (b < len && out->n < PROMPT__MAX_LINES && cum <= limit) {
        const char *nl = memchr(text + b, '\n', len - b);
        size_t e = nl ? (size_t)(nl - text) + 1 : len;
        int64_t k = prompt__tokenize(sc, text + b, e - b, err);
        if (k < 0) return err ? err->code : WISP_ERR_TOKENIZER;
        cum += (uint32_t)k;
        if (!prompt__lines_push(out, &cap, e, cum))
            return wisp__fail(err, WISP_ERR_NO_MEMORY, "prompt: line table");
        b = e;
    }
    return WISP_OK;
}

/* Width of a line's leading whitespace, a tab counting 4. */
static uint32_t prompt__indent(const char *s, size_t n) {
    uint32_t w = 0;
    for (size_t i = 0; i < n && (s[i] == ' ' || s[i] == '\t'); i++) w += s[i] == '\t' ? 4 : 1;
    return w;
}

/* A line where a prefix may well begin: code at or outside the level of the cursor's innermost
 * function or class (a sibling definition, the scope's own header), not a closer or a blank. */
static bool prompt__good_start(const char *text, size_t len, size_t at, uint32_t level) {
    const char *nl = memchr(text + at, '\n', len - at);
    size_t e = nl ? (size_t)(nl - text) : len;
    size_t i = at;
    while (i < e && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r')) i++;
    if (i == e) return false;
    char c = text[i];
    if (c == ')' || c == ']' || c == '}' || c == '@' || c == '.' || c == ',') return false;
    return prompt__indent(text + at, e - at) <= level;
}

typedef struct prompt__window {
    size_t prefix_start, suffix_end;
    uint32_t prefix_tokens, suffix_tokens; /* estimates from the line counts */
} prompt__window;

/* Where the cursor line's part of the prompt starts when the line before the cursor alone is
 * over `limit` tokens (a minified file, a long data line): the latest start at or after `ls`, on
 * a multiple of 64 bytes from it (so that typing at the end keeps it for a while) and a character
 * boundary, whose text to the cursor fits in 3/4 of `limit`. Sets *tokens to that text's count. */
static wisp_status prompt__cut_line(prompt__scratch *sc, const char *text, size_t ls, size_t pos, uint32_t limit,
                                    size_t *start, int64_t *tokens, wisp_error *err) {
    uint32_t target = limit - limit / 4;
    size_t lo = 0, hi = (pos - ls) / 64 + 1; /* start = ls + 64 * step; the last step is the cursor */
    while (hi - lo > 1) { /* invariant: step lo is over the target, step hi fits (or is the cursor) */
        size_t mid = lo + (hi - lo) / 2, at = ls + 64 * mid;
        while (at < pos && ((unsigned char)text[at] & 0xC0) == 0x80) at++;
        int64_t k = prompt__tokenize(sc, text + at, pos - at, err);
        if (k < 0) return err ? err->code : WISP_ERR_TOKENIZER;
        if ((uint64_t)k > target) lo = mid;
        else hi = mid;
    }
    size_t at = ls + 64 * hi;
    if (at > pos) at = pos;
    while (at < pos && ((unsigned char)text[at] & 0xC0) == 0x80) at++;
    *start = at;
    *tokens = prompt__tokenize(sc, text + at, pos - at, err);
    return *tokens < 0 ? (err ? err->code : WISP_ERR_TOKENIZER) : WISP_OK;
}

/* Splits `avail` tokens between prefix and suffix (suffix ~1/4 unless the prefix needs less),
 * then picks the line boundaries. A cursor line over the budget is cut from its start
 * (prompt__cut_line), and the window starts there. */
static wisp_status prompt__window_of(prompt__scratch *sc, const prompt_input *in, uint32_t avail,
                                     prompt__window *w, wisp_error *err) {
    const char *text = in->text;
    size_t pos = in->pos_u8, ls = pos;
    while (ls > 0 && text[ls - 1] != '\n') ls--;
    int64_t tail = prompt__tokenize(sc, text + ls, pos - ls, err);
    if (tail < 0) return err ? err->code : WISP_ERR_TOKENIZER;
    bool cut = (uint64_t)tail > avail;
    if (cut) {
        wisp_status st = prompt__cut_line(sc, text, ls, pos, avail, &ls, &tail, err);
        if (st != WISP_OK) return st;
    }
    uint32_t room = avail > (uint32_t)tail ? avail - (uint32_t)tail : 0;
    prompt__lines pl, sl;
    wisp_status st = cut ? WISP_OK : prompt__prefix_lines(sc, text, ls, room, &pl, err);
    if (cut) memset(&pl, 0, sizeof pl); /* nothing above a cut line */
    if (st != WISP_OK) return st;
    st = prompt__suffix_lines(sc, text, in->len, pos, room, &sl, err);
    if (st != WISP_OK) {
        prompt__lines_free(&pl);
        return st;
    }
    uint32_t p_need = pl.n ? pl.cum[pl.n - 1] : 0, s_need = sl.n ? sl.cum[sl.n - 1] : 0;
    uint32_t s_take = room / 4;
    if (p_need < room - s_take) s_take = room - p_need;
    if (s_take > s_need) s_take = s_need;
    if (sl.n && sl.cum[0] > s_take && sl.cum[0] <= room / 2) s_take = sl.cum[0]; /* the rest of the line */
    /* the sticky end while it is still a line end below the cursor and leaves the prefix at most
     * an eighth of the room short of its share: the suffix comes before the prefix in the prompt,
     * so a suffix that changes costs the prefill of both */
    if (in->sticky_suffix_tail <= in->len - pos) {
        size_t end = in->len - in->sticky_suffix_tail;
        if (end == pos) s_take = 0;
        for (size_t i = 0; i < sl.n && sl.cum[i] <= s_take + room / 8 && sl.cum[i] <= room; i++)
            if (sl.start[i] == end) s_take = sl.cum[i];
    }
    uint32_t p_take = room - s_take;

    /* suffix: whole lines down to the budget */
    w->suffix_end = pos;
    w->suffix_tokens = 0;
    for (size_t i = 0; i < sl.n && sl.cum[i] <= s_take; i++) {
        w->suffix_end = sl.start[i];
        w->suffix_tokens = sl.cum[i];
    }
    /* prefix: the sticky start while it fits, else the furthest line with some slack for typing,
     * moved down to a scope boundary when there is one close by */
    size_t far = 0; /* lines[0..far) fit */
    while (far < pl.n && pl.cum[far] <= p_take) far++;
    w->prefix_start = ls;
    w->prefix_tokens = 0;
    bool sticky = false;
    /* a start kept from the previous prompt may run the prompt over its budget, up to budget_max:
     * typing on (or a suggestion applied for a speculative request) then moves neither end */
    uint32_t over = in->budget_max > in->budget ? in->budget_max - in->budget : 0;
    for (size_t i = 0; i < pl.n && pl.cum[i] <= p_take + over; i++)
        if (pl.start[i] == in->sticky_start_u8) {
            w->prefix_start = pl.start[i];
            w->prefix_tokens = pl.cum[i];
            sticky = true;
        }
    if (in->sticky_start_u8 == ls && ls <= pos) sticky = true;
    if (!sticky && far > 0) {
        size_t pick = far;
        if (far < pl.n) { /* the budget cuts: leave slack so the next keystrokes keep this start */
            uint32_t target = p_take - p_take / 8;
            while (pick > 0 && pl.cum[pick - 1] > target) pick--;
        }
        if (pick > 0) {
            size_t best = pick - 1;
            if (far < pl.n && (in->sources & WISP_SOURCE_SCOPES) && in->ctx) {
                uint32_t level = 0;
                for (size_t s = 0; s < in->ctx->n_scopes; s++) {
                    const wisp_scope *sc2 = &in->ctx->scopes[s];
                    if (sc2->kind == WISP_SCOPE_FUNCTION || sc2->kind == WISP_SCOPE_CLASS) {
                        level = prompt__indent(sc2->indent.ptr, sc2->indent.len);
                        break;
                    }
                }
                /* look at the top quarter of the window (furthest lines) for a boundary */
                size_t lo = best - best / 4;
                for (size_t i = best + 1; i-- > lo;)
                    if (prompt__good_start(text, in->len, pl.start[i], level)) {
                        best = i;
                        break;
                    }
            }
            w->prefix_start = pl.start[best];
            w->prefix_tokens = pl.cum[best];
        }
    }
    w->prefix_tokens += (uint32_t)tail;
    prompt__lines_free(&pl);
    prompt__lines_free(&sl);
    return WISP_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* The head: path line, definitions, cut-off scope headers                                        */
/* ---------------------------------------------------------------------------------------------- */

typedef struct prompt__text {
    char *p;
    size_t len, cap;
    bool failed;
} prompt__text;

/* Appends bytes to a text being built; a failed allocation sticks in `failed`. */
static void prompt__put(prompt__text *t, const char *s, size_t n) {
    if (t->failed || !prompt__grow((void **)&t->p, &t->cap, t->len + n + 1, 1)) {
        t->failed = true;
        return;
    }
    if (n) memcpy(t->p + t->len, s, n); /* an empty wisp_str may hold NULL */
    t->len += n;
    t->p[t->len] = '\0';
}

static void prompt__puts(prompt__text *t, const char *s) { prompt__put(t, s, strlen(s)); }

/* Appends `s` as comment lines in the language's syntax. */
static void prompt__put_comment(prompt__text *t, wisp_lang lang, const char *s, size_t n) {
    const char *mark = lang == WISP_LANG_PYTHON ? "# " : "// ";
    for (size_t i = 0; i < n;) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t e = nl ? (size_t)(nl - s) : n, ce = e;
        if (ce > i && s[ce - 1] == '\r') ce--;
        prompt__puts(t, mark);
        prompt__put(t, s + i, ce - i);
        prompt__put(t, "\n", 1);
        i = e + 1;
    }
}

/* The last component of a path or uri, for the "from FILE:" lines of the definitions block. */
static const char *prompt__basename(const char *uri) {
    const char *b = uri;
    for (const char *p = uri; *p; p++)
        if (*p == '/' || *p == '\\') b = p + 1;
    return b;
}

/* The definitions block: ranked definitions not already visible in the window, each as comment
 * lines, grouped under the file they come from; then the headers of enclosing scopes that the
 * window cut off. Kept under `limit` tokens, `scope_limit` more with the headers. */
static wisp_status prompt__defs(prompt__scratch *sc, const prompt_input *in,
                                const prompt__window *w, uint32_t limit, uint32_t scope_limit,
                                prompt__text *out, size_t *n_defs, wisp_error *err) {
    const wisp_context *ctx = in->ctx;
    *n_defs = 0;
    if (!ctx) return WISP_OK;
    if ((in->sources & WISP_SOURCE_DEFS) && ctx->n_defs) {
        const char *last_uri = NULL;
        for (size_t i = 0; i < ctx->n_defs; i++) {
            const wisp_def *d = &ctx->defs[i];
            if (d->same_doc && d->start_u8 < w->suffix_end && d->end_u8 > w->prefix_start) continue;
            if (d->kind == WISP_DEF_PARAMETER || d->kind == WISP_DEF_LOCAL || d->kind == WISP_DEF_IMPORT)
                continue;
            size_t mark = out->len;
            if (out->len == 0) prompt__put_comment(out, in->lang, "Definitions used near the cursor:", 33);
            if (!d->same_doc && (!last_uri || strcmp(last_uri, d->uri) != 0)) {
                char line[300];
                int k = snprintf(line, sizeof line, "from %s:", prompt__basename(d->uri));
                prompt__put_comment(out, in->lang, line, (size_t)(k < (int)sizeof line ? k : (int)sizeof line - 1));
            }
            prompt__put_comment(out, in->lang, d->signature.ptr, d->signature.len);
            if (out->failed) return wisp__fail(err, WISP_ERR_NO_MEMORY, "prompt: definitions");
            int64_t k = prompt__tokenize(sc, out->p, out->len, err);
            if (k < 0) return err ? err->code : WISP_ERR_TOKENIZER;
            if ((uint32_t)k > limit) { /* does not fit: take it back and stop */
                out->len = mark;
                if (out->p) out->p[mark] = '\0';
                break;
            }
            if (!d->same_doc) last_uri = d->uri;
            (*n_defs)++;
        }
    }
    if ((in->sources & WISP_SOURCE_SCOPES) && ctx->n_scopes > 1) {
        /* enclosing headers above the window, outermost first */
        size_t mark = out->len;
        bool any = false;
        for (size_t s = ctx->n_scopes; s-- > 0;) {
            const wisp_scope *sp = &ctx->scopes[s];
            if (sp->kind == WISP_SCOPE_FILE || sp->kind == WISP_SCOPE_BLOCK) continue;
            if (sp->start_u8 >= w->prefix_start || sp->header.len == 0) continue;
            if (!any) prompt__put_comment(out, in->lang, "The cursor is inside:", 21);
            any = true;
            prompt__text line = {0};
            prompt__put(&line, sp->indent.ptr, sp->indent.len);
            size_t hl = 0; /* first line of the header is enough */
            while (hl < sp->header.len && sp->header.ptr[hl] != '\n') hl++;
            prompt__put(&line, sp->header.ptr, hl);
            if (line.failed) {
                free(line.p);
                return wisp__fail(err, WISP_ERR_NO_MEMORY, "prompt: scope headers");
            }
            prompt__put_comment(out, in->lang, line.p ? line.p : "", line.len);
            free(line.p);
        }
        if (out->failed) return wisp__fail(err, WISP_ERR_NO_MEMORY, "prompt: scope headers");
        if (any) {
            int64_t k = prompt__tokenize(sc, out->p, out->len, err);
            if (k < 0) return err ? err->code : WISP_ERR_TOKENIZER;
            if ((uint32_t)k > limit + scope_limit) {
                out->len = mark;
                if (out->p) out->p[mark] = '\0';
            }
        }
    }
    return WISP_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* Assembly                                                                                       */
/* ---------------------------------------------------------------------------------------------- */

void prompt_free(prompt *p) {
    if (!p) return;
    free(p->tokens);
    free(p->defs);
    memset(p, 0, sizeof *p);
}

wisp_status prompt_build(const wisp_tokenizer *tok, const prompt_fim *fim, const prompt_input *in,
                         prompt *out, wisp_error *err) {
    if (!out) return wisp__fail(err, WISP_ERR_INVALID_ARG, "prompt_build: NULL output");
    memset(out, 0, sizeof *out);
    if (!tok || !fim || !in || (!in->text && in->len))
        return wisp__fail(err, WISP_ERR_INVALID_ARG, "prompt_build: NULL argument");
    if (in->pos_u8 > in->len)
        return wisp__fail(err, WISP_ERR_RANGE, "cursor at byte %zu is past the end (%zu bytes)",
                          in->pos_u8, in->len);
    uint32_t budget = in->budget < 32 ? 32 : in->budget;
    prompt__scratch sc = {.tok = tok};
    prompt__text head = {0}, defs = {0};
    size_t cap = 0;
    wisp_status st = WISP_OK;
    int64_t k;

    /* The lead: every prompt starts with the file separator where the model has one, with the
     * path line after it when there is a path. The default model saw every training document start
     * with `<|file_sep|>` and uses that first position as an attention sink: without it (an
     * unnamed buffer, a server request without "filename") it answers empty or wrong
     * (models/README.md, "A perplexity protocol that misled"; bench/RESULTS.md, "An unnamed
     * buffer's prompt"). */
    bool lead = fim->sep != WISP_NO_TOKEN;
    bool path = lead && (in->sources & WISP_SOURCE_PATH) && in->path && *in->path;
    if (path) {
        prompt__put(&head, in->path, strcspn(in->path, "\r\n")); /* one line, whatever the name holds */
        prompt__put(&head, "\n", 1);
        if (head.failed) {
            st = wisp__fail(err, WISP_ERR_NO_MEMORY, "prompt: path");
            goto done;
        }
    }
    k = path ? prompt__tokenize(&sc, head.p, head.len, err) : 0;
    if (k < 0) {
        st = err ? err->code : WISP_ERR_TOKENIZER;
        goto done;
    }
    if (path && (uint64_t)k + 1 > budget / 8) { /* a path longer than code deserves: none */
        path = false;
        k = 0;
    }
    uint32_t n_path = (uint32_t)k + (lead ? 1 : 0);
    uint32_t defs_cap = 0;
    if (in->ctx && (in->sources & (WISP_SOURCE_DEFS | WISP_SOURCE_SCOPES))) {
        defs_cap = budget / 4 < PROMPT__DEFS_MAX_TOKENS ? budget / 4 : PROMPT__DEFS_MAX_TOKENS;
        if (!(in->sources & WISP_SOURCE_DEFS)) defs_cap = 0;
    }
    uint32_t scope_cap = (in->ctx && (in->sources & WISP_SOURCE_SCOPES)) ? PROMPT__SCOPES_MAX_TOKENS : 0;
    if (scope_cap > budget / 4) scope_cap = budget / 4; /* a small budget: the headers fit in it */
    uint32_t fixed = n_path + 3;
    uint32_t avail = budget > fixed + defs_cap + scope_cap ? budget - fixed - defs_cap - scope_cap : 0;

    /* a first window with room reserved for the head, then the head, then the final window */
    prompt__window w;
    st = prompt__window_of(&sc, in, avail, &w, err);
    if (st != WISP_OK) goto done;
    if (in->frozen_defs) { /* the caller keeps the head stable while the user types on one line */
        prompt__put(&defs, in->frozen_defs, in->frozen_defs_len);
        if (defs.failed) {
            st = wisp__fail(err, WISP_ERR_NO_MEMORY, "prompt: definitions");
            goto done;
        }
        out->n_defs = in->frozen_n_defs;
    } else {
        st = prompt__defs(&sc, in, &w, defs_cap, scope_cap, &defs, &out->n_defs, err);
        if (st != WISP_OK) goto done;
    }
    k = defs.len ? prompt__tokenize(&sc, defs.p, defs.len, err) : 0;
    if (k < 0) {
        st = err ? err->code : WISP_ERR_TOKENIZER;
        goto done;
    }
    uint32_t n_defs_tok = (uint32_t)k;
    avail = budget > fixed + n_defs_tok ? budget - fixed - n_defs_tok : 0;
    /* The window counts its lines' tokens one line at a time, and a span of lines may tokenize
     * into a few more (a pre-tokenizer split that crosses a line end): a prompt that comes out
     * over its limit is made again with a smaller window (found by fuzz_prompt: 19 tokens over a
     * budget of 1585, on text whose lines counted 12 % fewer tokens one by one than together). */
    uint32_t limit = in->budget_max > budget ? in->budget_max : budget;
    for (int attempt = 0;; attempt++) {
        st = prompt__window_of(&sc, in, avail, &w, err);
        if (st != WISP_OK) goto done;
        out->n_tokens = 0;

        /* tokens: [sep [PATH\n]] [defs] <suf> SUFFIX <pre> PREFIX-above-the-line PREFIX-line <mid> */
        out->part_begin[PROMPT_PART_PATH] = 0;
        if (lead && !prompt__push(out, &cap, &fim->sep, 1)) goto oom;
        if (path) {
            k = prompt__tokenize(&sc, head.p, head.len, err);
            if (k < 0 || !prompt__push(out, &cap, sc.ids, (size_t)k)) goto tok_fail;
        }
        out->part_end[PROMPT_PART_PATH] = out->n_tokens;
        bool defs_in_prefix = (in->sources & WISP_SOURCE_DEFS_IN_PREFIX) != 0;
        if (!defs_in_prefix) {
            out->part_begin[PROMPT_PART_DEFS] = out->n_tokens;
            k = defs.len ? prompt__tokenize(&sc, defs.p, defs.len, err) : 0;
            if (k < 0 || !prompt__push(out, &cap, sc.ids, (size_t)k)) goto tok_fail;
            out->part_end[PROMPT_PART_DEFS] = out->n_tokens;
        }
        out->part_begin[PROMPT_PART_SUFFIX] = out->n_tokens;
        if (!prompt__push(out, &cap, &fim->suf, 1)) goto oom;
        k = prompt__tokenize(&sc, in->text + in->pos_u8, w.suffix_end - in->pos_u8, err);
        if (k < 0 || !prompt__push(out, &cap, sc.ids, (size_t)k)) goto tok_fail;
        out->part_end[PROMPT_PART_SUFFIX] = out->n_tokens;
        if (defs_in_prefix) { /* <pre> DEFS PREFIX: the definitions are part of the prefix text */
            if (!prompt__push(out, &cap, &fim->pre, 1)) goto oom;
            out->part_begin[PROMPT_PART_DEFS] = out->n_tokens;
            k = defs.len ? prompt__tokenize(&sc, defs.p, defs.len, err) : 0;
            if (k < 0 || !prompt__push(out, &cap, sc.ids, (size_t)k)) goto tok_fail;
            out->part_end[PROMPT_PART_DEFS] = out->part_begin[PROMPT_PART_PREFIX] = out->n_tokens;
        } else {
            out->part_begin[PROMPT_PART_PREFIX] = out->n_tokens;
            if (!prompt__push(out, &cap, &fim->pre, 1)) goto oom;
        }
        size_t ls = in->pos_u8;
        while (ls > w.prefix_start && in->text[ls - 1] != '\n') ls--;
        k = prompt__tokenize(&sc, in->text + w.prefix_start, ls - w.prefix_start, err);
        if (k < 0 || !prompt__push(out, &cap, sc.ids, (size_t)k)) goto tok_fail;
        out->tail_begin = out->n_tokens;
        k = prompt__tokenize(&sc, in->text + ls, in->pos_u8 - ls, err);
        if (k < 0 || !prompt__push(out, &cap, sc.ids, (size_t)k)) goto tok_fail;
        if (!prompt__push(out, &cap, &fim->mid, 1)) goto oom;
        out->part_end[PROMPT_PART_PREFIX] = out->n_tokens;
        if (out->n_tokens <= limit || attempt == 6 || avail == 0) break;
        /* the excess, and from the second try a sixteenth more: the window moves by whole lines */
        uint32_t cut = (uint32_t)(out->n_tokens - limit) + 1 + (attempt ? avail / 16 : 0);
        avail = avail > cut ? avail - cut : 0;
    }
    out->prefix_start_u8 = w.prefix_start;
    out->suffix_end_u8 = w.suffix_end;
    out->defs = defs.p;
    out->defs_len = defs.len;
    defs.p = NULL;
    if (!out->defs) {
        out->defs = calloc(1, 1);
        if (!out->defs) goto oom;
    }
    goto done;
oom:
    st = wisp__fail(err, WISP_ERR_NO_MEMORY, "prompt: %zu tokens", out->n_tokens);
    goto done;
tok_fail:
    st = k < 0 ? (err ? err->code : WISP_ERR_TOKENIZER)
               : wisp__fail(err, WISP_ERR_NO_MEMORY, "prompt: %zu tokens", out->n_tokens);
done:
    free(sc.text);
    free(sc.ids);
    free(head.p);
    free(defs.p);
    return st;
}

/* Appends the bytes of tokens [b, e) to t, control tokens spelled as their text. */
static void prompt__put_tokens(prompt__text *t, const wisp_tokenizer *tok, const int32_t *ids,
                               size_t b, size_t e) {
    for (size_t i = b; i < e; i++) {
        wisp_str s = wisp_tokenizer_is_control(tok, ids[i]) ? wisp_token_text(tok, ids[i])
                                                           : wisp_token_bytes(tok, ids[i]);
        prompt__put(t, s.ptr, (size_t)s.len);
    }
}

char *prompt_describe(const prompt *p, const wisp_tokenizer *tok, const prompt_input *in,
                      size_t *len) {
    static const char *const names[PROMPT_PART_COUNT] = {"path", "definitions", "suffix", "prefix"};
    prompt__text t = {0};
    char line[256];
    int order[PROMPT_PART_COUNT] = {PROMPT_PART_PATH, PROMPT_PART_DEFS, PROMPT_PART_SUFFIX, PROMPT_PART_PREFIX};
    if (p->part_begin[PROMPT_PART_DEFS] > p->part_begin[PROMPT_PART_SUFFIX]) { /* defs inside the prefix */
        order[1] = PROMPT_PART_SUFFIX;
        order[2] = PROMPT_PART_DEFS;
    }
    for (int oi = 0; oi < PROMPT_PART_COUNT; oi++) {
        int part = order[oi];
        size_t b = p->part_begin[part], e = p->part_end[part];
        int n;
        if (part == PROMPT_PART_SUFFIX)
            n = snprintf(line, sizeof line, "=== suffix: %zu tokens (bytes %zu..%zu)\n", e - b,
                         in ? in->pos_u8 : 0, p->suffix_end_u8);
        else if (part == PROMPT_PART_PREFIX)
            n = snprintf(line, sizeof line,
                         "=== prefix: %zu tokens (bytes %zu..%zu; the cursor line %zu tokens)\n", e - b,
                         p->prefix_start_u8, in ? in->pos_u8 : 0, e > p->tail_begin + 1 ? e - 1 - p->tail_begin : 0);
        else if (part == PROMPT_PART_DEFS)
            n = snprintf(line, sizeof line, "=== definitions: %zu tokens (%zu kept)\n", e - b, p->n_defs);
        else
            n = snprintf(line, sizeof line, "=== %s: %zu tokens\n", names[part], e - b);
        prompt__put(&t, line, (size_t)n);
        /* defs inside the prefix: <pre> sits between the suffix part and the definitions */
        if (part == PROMPT_PART_DEFS && order[2] == PROMPT_PART_DEFS) b = p->part_end[PROMPT_PART_SUFFIX];
        prompt__put_tokens(&t, tok, p->tokens, b, e);
        if (t.len && t.p[t.len - 1] != '\n') prompt__put(&t, "\n", 1);
    }
    int n = snprintf(line, sizeof line, "=== total: %zu tokens (budget %u)\n", p->n_tokens,
                     in ? in->budget : 0);
    prompt__put(&t, line, (size_t)n);
    if (t.failed) {
        free(t.p);
        return NULL;
    }
    if (len) *len = t.len;
    return t.p;
}
