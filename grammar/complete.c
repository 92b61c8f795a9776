/*
 * The completion engine (wisp_grammar.h section 2): one model, one KV cache, one document set, and the
 * pipeline context -> prompt -> prefill/decode -> trim -> checking reparse.
 */
#include "complete.h"

#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "error.h"
#include "prompt.h"
#include "trim.h"

/* Prompt tokens by default. Measured on the dev benchmark with the shipped model (bench/RESULTS.md):
 * 256 -> EM/ES 5.0/30.9, 384 -> 6.0/32.7, 512 -> 9.0/33.9, 768 -> 9.0/33.5, 1024 -> 6.0/30.2; 512
 * is also half the cold-start prefill of 1024. */
#define COMPLETE__DEFAULT_BUDGET 512
#define COMPLETE__MAX_SHORTEN 3 /* trailing lines a block may lose to parse cleanly */

struct wisp_engine {
    wisp_model *model;           /* owned */
    wisp_ctx *ctx;               /* owned */
    wisp_docs *docs;             /* owned */
    const wisp_tokenizer *tok;   /* the model's */
    prompt_fim fim;
    /* results of the last call, owned here until the next */
    wisp_candidate cands[WISP_MAX_CANDIDATES];
    char *texts[WISP_MAX_CANDIDATES];
    char *last_prompt;           /* labelled text of the last wisp_complete */
    size_t last_prompt_len;
    char *prompt_text;           /* result of wisp_engine_prompt_text */
    /* the window of the last prompt, kept while the user types in the same document with the
     * same prompt budget: the prefix start, and the suffix end as bytes before the end of the
     * document (the document remembered by serial: a closed document's address may come back
     * for another one) */
    uint64_t sticky_doc;
    uint32_t sticky_budget;
    size_t sticky_start_u8, sticky_suffix_tail;
    /* the last definitions block, reused while the cursor stays on the same line: typing an
     * identifier changes which names are near, and a changed head would cost a full prefill per
     * keystroke */
    char *frozen_defs;
    size_t frozen_defs_len, frozen_n_defs;
    size_t frozen_line;
    uint32_t frozen_sources;
};

wisp_complete_params wisp_complete_default_params(void) {
    wisp_complete_params p;
    memset(&p, 0, sizeof p);
    p.n_candidates = 1;
    p.sources = WISP_SOURCE_ALL;
    return p;
}

wisp_engine *wisp_engine_new(const void *model_data, size_t size, const wisp_engine_params *params,
                             wisp_error *err) {
    wisp__clear(err);
    wisp_engine *e = calloc(1, sizeof *e);
    if (!e) {
        wisp__fail(err, WISP_ERR_NO_MEMORY, "engine: %zu bytes", sizeof *e);
        return NULL;
    }
    e->sticky_start_u8 = e->sticky_suffix_tail = SIZE_MAX;
    size_t n_avail = params && params->n_avail ? params->n_avail : size;
    e->model = wisp_model_load_partial(model_data, size, n_avail, err);
    if (!e->model) goto fail;
    e->tok = wisp_model_tokenizer(e->model);
    if (prompt_fim_ids(e->tok, &e->fim, err) != WISP_OK) goto fail;
    wisp_ctx_params cp = {0};
    if (params) {
        cp.n_ctx = params->n_ctx;
        cp.n_batch = params->n_batch;
    }
    e->ctx = wisp_ctx_new(e->model, &cp, err);
    if (!e->ctx) goto fail;
    e->docs = wisp_docs_new();
    if (!e->docs) {
        wisp__fail(err, WISP_ERR_NO_MEMORY, "engine: document set");
        goto fail;
    }
    return e;
fail:
    wisp_engine_free(e);
    return NULL;
}

/* Frees the results of the previous call. */
static void complete__reset(wisp_engine *self) {
    for (size_t i = 0; i < WISP_MAX_CANDIDATES; i++) {
        free(self->texts[i]);
        self->texts[i] = NULL;
    }
    memset(self->cands, 0, sizeof self->cands);
}

void wisp_engine_free(wisp_engine *self) {
    if (!self) return;
    complete__reset(self);
    free(self->last_prompt);
    free(self->prompt_text);
    free(self->frozen_defs);
    wisp_docs_free(self->docs);
    wisp_ctx_free(self->ctx);
    wisp_model_free(self->model);
    free(self);
}

wisp_docs *wisp_engine_docs(wisp_engine *self) { return self ? self->docs : NULL; }
const wisp_model *wisp_engine_model(const wisp_engine *self) { return self ? self->model : NULL; }
wisp_ctx *wisp_engine_ctx(wisp_engine *self) { return self ? self->ctx : NULL; }

wisp_status wisp_engine_set_available(wisp_engine *self, size_t n_avail, wisp_error *err) {
    return wisp_model_set_available(self ? self->model : NULL, n_avail, err);
}

const char *wisp_engine_last_prompt(const wisp_engine *self, size_t *len) {
    if (len) *len = self && self->last_prompt ? self->last_prompt_len : 0;
    return self && self->last_prompt ? self->last_prompt : "";
}

/* True when s[0..n) holds only blanks. */
static bool complete__blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return false;
    return true;
}

/* True when s[0..n) holds only blanks and line breaks. */
static bool complete__blank_line(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != '\n' && !complete__blank(s + i, 1)) return false;
    return true;
}

trim_shape complete_shape_of(wisp_mode mode, wisp_str line_prefix, wisp_str line_suffix) {
    bool rest_blank = complete__blank(line_suffix.ptr, (size_t)line_suffix.len);
    switch (mode) {
    case WISP_MODE_BLOCK: return TRIM_SHAPE_BLOCK;
    /* arguments up to the call's closer when the line goes on after the cursor; at the end of a
     * line, the rest of the line (the call and whatever follows it) */
    case WISP_MODE_ARGS: return rest_blank ? TRIM_SHAPE_LINE : TRIM_SHAPE_ARGS;
    /* an empty line in code invites statements, as the first line of an empty body does */
    case WISP_MODE_END_OF_LINE:
        return rest_blank && complete__blank(line_prefix.ptr, (size_t)line_prefix.len) ? TRIM_SHAPE_BLOCK
                                                                                       : TRIM_SHAPE_LINE;
    default: return TRIM_SHAPE_LINE;
    }
}

/* What the prompt shows as the file's name: a relative path as given, else the last component
 * (an absolute or temporary path says nothing useful). */
static const char *complete__display_path(const char *uri) {
    if (!uri) return "";
    const char *scheme = strstr(uri, "://");
    bool absolute = scheme || uri[0] == '/' || uri[0] == '\\' || (uri[0] && uri[1] == ':');
    if (!absolute) return uri;
    const char *b = uri;
    for (const char *p = uri; *p; p++)
        if (*p == '/' || *p == '\\') b = p + 1;
    return b;
}

/* Checks the arguments shared by wisp_complete and wisp_engine_prompt_text; fills the text. */
static wisp_status complete__check(wisp_engine *self, wisp_doc *doc, size_t pos_u8,
                                   const char **text, size_t *len, wisp_error *err) {
    if (!self || !doc) return wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_complete: NULL engine or document");
    if (wisp_doc_set(doc) != self->docs)
        return wisp__fail(err, WISP_ERR_INVALID_ARG, "document %s belongs to another engine", wisp_doc_uri(doc));
    *text = wisp_doc_text(doc, len);
    if (wisp_doc_parse_gave_up(doc) && *len > WISP_DOC_MAX_PARSE)
        return wisp__fail(err, WISP_ERR_UNSUPPORTED, "%s: %zu bytes is over the %zu that wisp parses for completion",
                          wisp_doc_uri(doc), *len, WISP_DOC_MAX_PARSE);
    if (wisp_doc_parse_gave_up(doc))
        return wisp__fail(err, WISP_ERR_UNSUPPORTED,
                          "%s: the parser gave up on this text (over %llu operations: error recovery on text "
                          "such as an unclosed comment full of comment openers); completion resumes once an "
                          "edit makes it parse", wisp_doc_uri(doc), (unsigned long long)wisp__doc_parse_budget(*len));
    if (pos_u8 > *len)
        return wisp__fail(err, WISP_ERR_RANGE, "cursor at byte %zu is past the end of %s (%zu bytes)", pos_u8,
                          wisp_doc_uri(doc), *len);
    if (pos_u8 < *len && ((unsigned char)(*text)[pos_u8] & 0xC0) == 0x80)
        return wisp__fail(err, WISP_ERR_RANGE, "cursor at byte %zu is inside a UTF-8 character", pos_u8);
    return WISP_OK;
}

/* Token budgets by shape, and the prompt budget that leaves room for them in the context; a
 * window kept from the previous prompt may run over it by an eighth, within that room. */
static void complete__budgets(const wisp_engine *self, const wisp_complete_params *p, trim_shape shape,
                              uint32_t *max_tokens, uint32_t *max_lines, uint32_t budget[2]) {
    *max_tokens = p->max_tokens ? p->max_tokens : shape == TRIM_SHAPE_BLOCK ? 160 : shape == TRIM_SHAPE_ARGS ? 64 : 48;
    *max_lines = p->max_lines ? p->max_lines : shape == TRIM_SHAPE_BLOCK ? 12 : shape == TRIM_SHAPE_ARGS ? 8 : 1;
    uint32_t n_ctx = wisp_ctx_n_ctx(self->ctx);
    if (*max_tokens > n_ctx / 2) *max_tokens = n_ctx / 2;
    uint32_t b = p->prompt_tokens ? p->prompt_tokens : COMPLETE__DEFAULT_BUDGET;
    uint32_t room = n_ctx > *max_tokens + 1 ? n_ctx - *max_tokens - 1 : 1;
    budget[0] = b < room ? b : room;
    budget[1] = budget[0] + budget[0] / 8 < room ? budget[0] + budget[0] / 8 : room;
}

/* Builds the prompt for one cursor: shared by wisp_complete and wisp_engine_prompt_text. */
static wisp_status complete__prompt(wisp_engine *self, wisp_doc *doc, const char *text, size_t len,
                                    size_t pos_u8, const wisp_context *ctx, const wisp_complete_params *p,
                                    const uint32_t budget[2], prompt_input *in, prompt *out, wisp_error *err) {
    memset(in, 0, sizeof *in);
    in->path = complete__display_path(wisp_doc_uri(doc));
    in->lang = p->lang != WISP_LANG_NONE ? p->lang : ctx->lang;
    in->text = text;
    in->len = len;
    in->pos_u8 = pos_u8;
    in->ctx = ctx;
    in->sources = p->sources;
    in->budget = budget[0];
    in->budget_max = budget[1];
    bool same = self->sticky_doc == wisp__doc_serial(doc) && self->sticky_budget == budget[0];
    in->sticky_start_u8 = same ? self->sticky_start_u8 : SIZE_MAX;
    in->sticky_suffix_tail = same ? self->sticky_suffix_tail : SIZE_MAX;
    if (self->frozen_defs && same && (self->frozen_line == ctx->line || p->speculative) &&
        self->frozen_sources == p->sources) {
        in->frozen_defs = self->frozen_defs;
        in->frozen_defs_len = self->frozen_defs_len;
        in->frozen_n_defs = self->frozen_n_defs;
    }
    return prompt_build(self->tok, &self->fim, in, out, err);
}

const char *wisp_engine_prompt_text(wisp_engine *self, wisp_doc *doc, size_t pos_u8,
                                    const wisp_complete_params *params, size_t *len, wisp_error *err) {
    wisp__clear(err);
    const char *text;
    size_t n;
    if (complete__check(self, doc, pos_u8, &text, &n, err) != WISP_OK) return NULL;
    wisp_complete_params p = params ? *params : wisp_complete_default_params();
    wisp_context *ctx = NULL;
    if (wisp_context_extract(doc, pos_u8, NULL, &ctx, err) != WISP_OK) return NULL;
    uint32_t max_tokens, max_lines, budget[2];
    complete__budgets(self, &p, complete_shape_of(ctx->mode, ctx->line_prefix, ctx->line_suffix), &max_tokens,
                      &max_lines, budget);
    prompt_input in;
    prompt pr;
    wisp_status st = complete__prompt(self, doc, text, n, pos_u8, ctx, &p, budget, &in, &pr, err);
    char *s = NULL;
    size_t sl = 0;
    if (st == WISP_OK) {
        s = prompt_describe(&pr, self->tok, &in, &sl);
        if (!s) wisp__fail(err, WISP_ERR_NO_MEMORY, "prompt text");
    }
    prompt_free(&pr);
    wisp_context_free(ctx);
    if (!s) return NULL;
    free(self->prompt_text);
    self->prompt_text = s;
    if (len) *len = sl;
    return s;
}

/* ---------------------------------------------------------------------------------------------- */
/* Checking a candidate by reparsing                                                              */
/* ---------------------------------------------------------------------------------------------- */

/* ERROR and MISSING nodes of `node` that overlap bytes [b, e). */
static uint32_t complete__count_errors(TSNode node, uint32_t b, uint32_t e) {
    if (ts_node_end_byte(node) < b || ts_node_start_byte(node) > e) return 0;
    if (ts_node_is_missing(node) || ts_node_is_error(node)) return 1;
    if (!ts_node_has_error(node)) return 0;
    uint32_t n = 0, k = ts_node_child_count(node);
    for (uint32_t i = 0; i < k; i++) n += complete__count_errors(ts_node_child(node, i), b, e);
    return n;
}

/*
 * Reparses the region around the cursor with `ins` inserted and counts the syntax errors near the
 * insertion. The region is the outermost definition that holds the cursor (a top-level function
 * or class parses on its own), else the whole document. Returns UINT32_MAX when the parse fails
 * or runs over the parse budget.
 */
static uint32_t complete__errors_with(wisp_engine *self, const wisp_context *ctx, const char *text,
                                      size_t len, size_t pos, const char *ins, size_t ins_len) {
    size_t rb = 0, re = len;
    for (size_t s = ctx->n_scopes; s-- > 0;) {
        const wisp_scope *sp = &ctx->scopes[s];
        if (sp->kind == WISP_SCOPE_FILE) continue;
        if (sp->start_u8 <= pos && sp->end_u8 >= pos) {
            rb = sp->start_u8;
            while (rb > 0 && text[rb - 1] != '\n') rb--; /* from the start of its line */
            re = sp->end_u8;
            break;
        }
    }
    size_t n = (pos - rb) + ins_len + (re - pos);
    char *buf = malloc(n + 1);
    if (!buf) return UINT32_MAX;
    memcpy(buf, text + rb, pos - rb);
    memcpy(buf + (pos - rb), ins, ins_len);
    memcpy(buf + (pos - rb) + ins_len, text + pos, re - pos);
    buf[n] = '\0';
    TSTree *tree = wisp__docs_reparse_capped(self->docs, ctx->lang, NULL, buf, n, wisp__doc_parse_budget(n));
    uint32_t errors = UINT32_MAX;
    if (tree) {
        /* the edited lines: from the cursor's line start to the end of the insertion's last line */
        size_t b = pos - rb, e = b + ins_len;
        while (b > 0 && buf[b - 1] != '\n') b--;
        while (e < n && buf[e] != '\n') e++;
        errors = complete__count_errors(ts_tree_root_node(tree), (uint32_t)b, (uint32_t)e);
        ts_tree_delete(tree);
    }
    free(buf);
    return errors;
}

/* ---------------------------------------------------------------------------------------------- */
/* Decoding                                                                                       */
/* ---------------------------------------------------------------------------------------------- */

typedef struct complete__watch {
    const trim_cursor *trim;     /* may be NULL (out of memory): then `in` is used */
    const trim_input *in;
    wisp_should_stop_cb should_stop;
    wisp_partial_cb on_partial;  /* NULL when not wanted for this candidate, or already sent */
    void *user;
    bool cancelled;
} complete__watch;

/* Streaming: once `text` (decoded so far, healed bytes excluded) holds a line break after
 * non-blank text, its first line trimmed as a final answer would be goes to on_partial (when not
 * blank), and never again in this call. The cut is trim_completion's on the text up to that line
 * break: the rules of a line depend only on the bytes before its end, so what the final answer's
 * trimming keeps of that line is the same, or more (trailing blanks). */
static void complete__partial(complete__watch *w, const char *text, size_t len) {
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) i++;
    const char *nl = i < len ? memchr(text + i, '\n', len - i) : NULL;
    if (!nl) return;
    wisp_partial_cb cb = w->on_partial;
    w->on_partial = NULL; /* once, whatever the line gives */
    char *line;
    size_t line_len;
    if (trim_completion(w->in, text, (size_t)(nl - text), &line, &line_len, NULL) != WISP_OK) return;
    if (!complete__blank_line(line, line_len)) cb(w->user, line, line_len);
    free(line);
}

/* After every token: stop once the answer is complete, or when the caller cancels; stream the
 * first line when decoding goes on after it. */
static bool complete__on_token(void *user, int32_t token, const char *text, size_t len) {
    complete__watch *w = user;
    if (w->should_stop && w->should_stop(w->user)) {
        w->cancelled = true;
        return false;
    }
    bool done = w->trim ? trim_cursor_done(w->trim, text, len) : trim_is_done(w->in, text, len);
    if (!done && w->on_partial) complete__partial(w, text, len);
    return !done;
}

void complete_rank(wisp_candidate *cands, char **texts, size_t n) {
    /* insertion sort: stable, so equal keys keep the order they came in (greedy first) */
    for (size_t i = 1; i < n; i++) {
        wisp_candidate c = cands[i];
        char *t = texts ? texts[i] : NULL;
        size_t j = i;
        while (j > 0 && (cands[j - 1].n_errors > c.n_errors ||
                         (cands[j - 1].n_errors == c.n_errors && cands[j - 1].mean_logprob < c.mean_logprob))) {
            cands[j] = cands[j - 1];
            if (texts) texts[j] = texts[j - 1];
            j--;
        }
        cands[j] = c;
        if (texts) texts[j] = t;
    }
}

float complete_mean_logprob(const wisp_tokenizer *tok, const int32_t *tokens, const float *logprobs, size_t n,
                            size_t heal_len, size_t keep_len) {
    if (!tokens || !logprobs || n == 0) return 0.0f;
    double sum = 0.0;
    size_t k = 0, at = 0; /* bytes before token i, counted from the start of the healed bytes */
    for (size_t i = 0; i < n; i++) {
        if (at >= heal_len + keep_len && k > 0) break; /* the cut dropped this token */
        sum += logprobs[i];
        k++;
        at += tok ? (size_t)wisp_token_bytes(tok, tokens[i]).len : 1;
    }
    return (float)(sum / (double)k);
}

/* One call's state, shared by the steps of wisp_complete below. */
typedef struct complete__call {
    wisp_engine *self;
    wisp_doc *doc;
    const char *text;        /* the document */
    size_t len, pos_u8;
    wisp_complete_params p;
    wisp_completion *out;
    double t0, deadline;
    wisp_context *ctx;
    trim_shape shape;
    uint32_t max_tokens, max_lines, budget[2];
    prompt_input in;
    prompt pr;
    trim_input ti;
    trim_cursor *tc;
    const char *heal;        /* healed bytes (the prompt's last text token), or NULL */
    size_t heal_len, n_prompt;
    float *lps;              /* per-token log-probabilities of the candidate being decoded */
    size_t n_out;
    char not_first[2];       /* what an answer may not begin with (the call's closer), or "" */
} complete__call;

/* Step: the prompt for the cursor, and what the next keystrokes may reuse (the prefix start, the
 * definitions block). */
static wisp_status complete__step_prompt(complete__call *c, wisp_error *err) {
    wisp_engine *self = c->self;
    complete__budgets(self, &c->p, c->shape, &c->max_tokens, &c->max_lines, c->budget);
    wisp_status st = complete__prompt(self, c->doc, c->text, c->len, c->pos_u8, c->ctx, &c->p, c->budget, &c->in,
                                      &c->pr, err);
    if (st != WISP_OK) return st;
    self->sticky_doc = wisp__doc_serial(c->doc);
    self->sticky_budget = c->budget[0];
    self->sticky_start_u8 = c->pr.prefix_start_u8;
    self->sticky_suffix_tail = c->len - c->pr.suffix_end_u8;
    if (!c->in.frozen_defs && !c->p.speculative) { /* remember this head for the next keystrokes on this line */
        char *copy = malloc(c->pr.defs_len + 1);
        if (copy) {
            memcpy(copy, c->pr.defs, c->pr.defs_len + 1);
            free(self->frozen_defs);
            self->frozen_defs = copy;
            self->frozen_defs_len = c->pr.defs_len;
            self->frozen_n_defs = c->pr.n_defs;
            self->frozen_line = c->ctx->line;
            self->frozen_sources = c->p.sources;
        }
    }
    free(self->last_prompt);
    self->last_prompt = prompt_describe(&c->pr, self->tok, &c->in, &self->last_prompt_len);
    return WISP_OK;
}

/* Step: how the answer will be cut (trim rules for the cursor's shape). */
static void complete__step_trim_rules(complete__call *c) {
    const wisp_complete_params *p = &c->p;
    trim_input ti = {
        .lang = c->in.lang, .shape = c->shape, .prefix = c->text, .prefix_len = c->pos_u8,
        .suffix = c->text + c->pos_u8, .suffix_len = c->len - c->pos_u8, .max_lines = c->max_lines,
        .style = trim_detect_style(c->text, c->len < 65536 ? c->len : 65536),
        .syntax = (p->sources & WISP_SOURCE_TRIM) != 0,
        .repeat = (p->sources & WISP_SOURCE_REPEAT) != 0,
        .repeat_before = (p->sources & WISP_SOURCE_REPEAT_BEFORE) != 0,
    };
    c->ti = ti;
    c->tc = trim_cursor_new(&c->ti);
}

/* Step: token healing. The cursor often sits inside a word ("self.ite|"), where the prompt's last
 * token is a boundary the model rarely saw in training. Drop that token from the prompt and let
 * the first generated tokens re-spell its bytes (wisp_gen_params.heal). A cursor in the
 * indentation at the start of a line is left alone: the boundary there is the usual one, and
 * re-spelling the indentation invites a token that runs on into a wrong indent. */
static void complete__step_heal(complete__call *c) {
    prompt *pr = &c->pr;
    const wisp_context *ctx = c->ctx;
    c->heal = NULL;
    c->heal_len = 0;
    c->n_prompt = pr->n_tokens;
    if ((c->p.sources & WISP_SOURCE_HEAL) && pr->n_tokens >= 2 && pr->tail_begin < pr->n_tokens - 1) {
        int32_t last = pr->tokens[pr->n_tokens - 2]; /* the token before <fim_middle> */
        wisp_str b = wisp_token_bytes(c->self->tok, last);
        bool blank = true; /* only indentation between the line start and the cursor */
        for (uint64_t i = 0; i < ctx->line_prefix.len && blank; i++)
            blank = ctx->line_prefix.ptr[i] == ' ' || ctx->line_prefix.ptr[i] == '\t';
        if (!blank && !wisp_tokenizer_is_control(c->self->tok, last) && b.len <= c->pos_u8 &&
            memcmp(c->text + c->pos_u8 - b.len, b.ptr, b.len) == 0) {
            pr->tokens[pr->n_tokens - 2] = pr->tokens[pr->n_tokens - 1];
            c->n_prompt = pr->n_tokens - 1;
            c->heal = b.ptr;
            c->heal_len = (size_t)b.len;
        }
    }
}

/* A block that does not parse loses trailing lines (up to COMPLETE__MAX_SHORTEN) until it does;
 * updates *cand_len (and cuts cand) and returns the errors left. */
static uint32_t complete__shorten(complete__call *c, char *cand, size_t *cand_len, uint32_t errors) {
    size_t keep = *cand_len;
    for (int k = 0; k < COMPLETE__MAX_SHORTEN; k++) {
        while (keep > 0 && cand[keep - 1] != '\n') keep--;
        if (keep == 0) break;
        keep--; /* drop the \n (and a \r before it) too */
        size_t kl = keep > 0 && cand[keep - 1] == '\r' ? keep - 1 : keep;
        uint32_t e2 = complete__errors_with(c->self, c->ctx, c->text, c->len, c->pos_u8, cand, kl);
        if (e2 == 0) {
            *cand_len = kl;
            cand[kl] = '\0';
            return 0;
        }
    }
    return errors;
}

/* True when an earlier candidate has this text. */
static bool complete__seen(const complete__call *c, const char *cand, size_t cand_len) {
    for (size_t j = 0; j < c->n_out; j++)
        if (c->self->cands[j].text_len == cand_len && memcmp(c->self->texts[j], cand, cand_len) == 0) return true;
    return false;
}

/* Step: trims one generated answer, drops it when empty or a duplicate, else checks it by
 * reparsing and adds it to the candidates. */
static wisp_status complete__step_add(complete__call *c, const wisp_gen_result *gr, wisp_error *err) {
    wisp_engine *self = c->self;
    char *cand;
    size_t cand_len;
    wisp_status st = trim_completion(&c->ti, gr->text, gr->text_len, &cand, &cand_len, err);
    if (st != WISP_OK) return st;
    if (cand_len == 0 || complete__seen(c, cand, cand_len)) {
        free(cand);
        return WISP_OK;
    }
    uint32_t errors = complete__errors_with(self, c->ctx, c->text, c->len, c->pos_u8, cand, cand_len);
    if (c->shape == TRIM_SHAPE_BLOCK && (c->p.sources & WISP_SOURCE_TRIM) && errors && errors != UINT32_MAX) {
        errors = complete__shorten(c, cand, &cand_len, errors);
        if (complete__seen(c, cand, cand_len)) { /* shortened, it may equal an earlier one (fuzz_pipeline) */
            free(cand);
            return WISP_OK;
        }
    }
    self->texts[c->n_out] = cand;
    wisp_candidate *wc = &self->cands[c->n_out++];
    wc->text = cand;
    wc->text_len = cand_len;
    wc->start_u8 = wc->end_u8 = c->pos_u8;
    wc->n_errors = errors == UINT32_MAX ? 0 : errors;
    wc->parses = errors == 0;
    wc->n_tokens = (uint32_t)gr->n_tokens;
    wc->stop = gr->stop;
    wc->mean_logprob = c->lps ? complete_mean_logprob(self->tok, gr->tokens, c->lps, gr->n_tokens, c->heal_len,
                                                      cand_len)
                              : 0.0f;
    return WISP_OK;
}

/* Step: the candidates. The first is greedy, the others sampled; each is decoded (stopping early
 * once trimming says it is complete), trimmed, checked and added. */
static wisp_status complete__step_candidates(complete__call *c, wisp_error *err) {
    wisp_engine *self = c->self;
    wisp_completion *out = c->out;
    const wisp_complete_params *p = &c->p;
    complete__watch watch = {c->tc, &c->ti, p->should_stop, NULL, p->user, false};
    /* a first line worth streaming only where the answer may go on after it */
    bool stream = p->on_partial && c->shape != TRIM_SHAPE_LINE && c->max_lines > 1;
    /* arguments: an answer that begins with the call's closer is empty once trimmed */
    if (c->shape == TRIM_SHAPE_ARGS) {
        wisp_str rest = c->ctx->line_suffix;
        size_t i = 0;
        while (i < (size_t)rest.len && (rest.ptr[i] == ' ' || rest.ptr[i] == '\t')) i++;
        if (i < (size_t)rest.len && strchr(")]}", rest.ptr[i])) c->not_first[0] = rest.ptr[i];
    }
    c->lps = malloc(sizeof *c->lps * (c->max_tokens ? c->max_tokens : 1));
    for (uint32_t k = 0; k < p->n_candidates; k++) {
        double now = wisp_now_ms();
        if (k > 0 && c->deadline > 0 && now >= c->deadline) break;
        wisp_gen_params gp;
        memset(&gp, 0, sizeof gp);
        gp.sampling.temperature = k == 0 ? 0.0f : (p->temperature > 0 ? p->temperature : 0.5f);
        gp.sampling.top_p = 0.95f;
        gp.sampling.seed = p->seed + k;
        gp.max_tokens = c->max_tokens;
        gp.time_budget_ms = c->deadline > 0 ? (c->deadline - now > 1 ? c->deadline - now : 1) : 0;
        gp.stop_tokens = self->fim.stops;
        gp.n_stop_tokens = self->fim.n_stops;
        gp.on_token = complete__on_token;
        watch.on_partial = k == 0 && stream ? p->on_partial : NULL; /* the greedy candidate only */
        gp.user = &watch;
        gp.heal = c->heal;
        gp.heal_len = c->heal_len;
        gp.non_empty = true; /* an empty answer shows nothing: take the model's best non-empty one */
        gp.not_first = c->not_first;
        gp.logprobs = c->lps;
        wisp_gen_result gr;
        wisp_status st = wisp_ctx_generate(self->ctx, c->pr.tokens, c->n_prompt, &gp, &gr, err);
        if (st != WISP_OK) return st;
        out->timings.prefill_ms += gr.prefill_ms;
        out->timings.decode_ms += gr.decode_ms;
        out->timings.n_generated += (uint32_t)gr.n_tokens;
        out->timings.n_drafted += (uint32_t)gr.n_drafted;
        out->timings.n_accepted += (uint32_t)gr.n_accepted;
        if (k == 0) out->timings.n_reused = (uint32_t)gr.n_reused;
        if (watch.cancelled) return wisp__fail(err, WISP_ERR_CANCELLED, "completion cancelled by the caller");
        double tt = wisp_now_ms();
        st = complete__step_add(c, &gr, err);
        if (st != WISP_OK) return st;
        out->timings.trim_ms += wisp_now_ms() - tt;
        if (gr.stop == WISP_STOP_TIME) break;
    }
    return WISP_OK;
}

/* The pipeline: check -> context -> prompt -> trim rules -> heal -> candidates -> rank. */
wisp_status wisp_complete(wisp_engine *self, wisp_doc *doc, size_t pos_u8,
                          const wisp_complete_params *params, wisp_completion *out, wisp_error *err) {
    wisp__clear(err);
    if (!out) return wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_complete: NULL output");
    memset(out, 0, sizeof *out);
    complete__call c;
    memset(&c, 0, sizeof c);
    c.self = self;
    c.doc = doc;
    c.pos_u8 = pos_u8;
    c.out = out;
    wisp_status st = complete__check(self, doc, pos_u8, &c.text, &c.len, err);
    if (st != WISP_OK) return st;
    complete__reset(self);
    out->candidates = self->cands;
    c.p = params ? *params : wisp_complete_default_params();
    if (c.p.n_candidates == 0) c.p.n_candidates = 1;
    if (c.p.n_candidates > WISP_MAX_CANDIDATES) c.p.n_candidates = WISP_MAX_CANDIDATES;
    c.t0 = wisp_now_ms();
    c.deadline = c.p.time_budget_ms > 0 ? c.t0 + c.p.time_budget_ms : 0;

    st = wisp_context_extract(doc, pos_u8, NULL, &c.ctx, err);
    if (st != WISP_OK) return st;
    double t1 = wisp_now_ms();
    out->timings.context_ms = t1 - c.t0;
    if (c.ctx->mode == WISP_MODE_NONE && c.p.speculative) /* a suggestion cut inside a string or a comment */
        c.ctx->mode = complete__blank(c.ctx->line_suffix.ptr, (size_t)c.ctx->line_suffix.len) ? WISP_MODE_END_OF_LINE
                                                                                              : WISP_MODE_MID_LINE;
    out->mode = c.ctx->mode;
    out->lang = c.ctx->lang;
    if (c.ctx->mode == WISP_MODE_NONE) {
        wisp_context_free(c.ctx);
        out->timings.total_ms = wisp_now_ms() - c.t0;
        return WISP_OK;
    }
    c.shape = complete_shape_of(c.ctx->mode, c.ctx->line_prefix, c.ctx->line_suffix);
    st = complete__step_prompt(&c, err);
    if (st == WISP_OK) {
        out->timings.prompt_ms = wisp_now_ms() - t1;
        complete__step_trim_rules(&c);
        complete__step_heal(&c);
        out->timings.n_prompt = (uint32_t)c.n_prompt; /* what the model is fed */
        st = complete__step_candidates(&c, err);
    }
    if (st == WISP_OK) {
        complete_rank(self->cands, self->texts, c.n_out);
        out->n_candidates = c.n_out;
    }
    free(c.lps);
    trim_cursor_free(c.tc);
    if (st != WISP_OK) out->n_candidates = 0;
    prompt_free(&c.pr);
    wisp_context_free(c.ctx);
    out->timings.total_ms = wisp_now_ms() - c.t0;
    return st;
}
