/*
 * Generation: prefill the prompt (reusing the cache), then sample token after token until a stop
 * rule fires — an end token, a stop string (cut from the text, even when it spans tokens), the
 * token budget, the wall-clock budget, the caller's callback, or a full context. Greedy decoding
 * may run self-speculatively (wisp_ctx_set_speculative): the first blocks draft a few tokens, the
 * full model checks them in one batch, and every rule is applied to the full model's logits row
 * by row exactly as plain decoding applies it to its own.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "error.h"

/* Appends n bytes to the context's text buffer (kept NUL-terminated), growing it by doubling:
 * the only allocation of the decode loop, amortized to nothing. */
static bool gen__append(wisp_ctx *self, size_t *len, const char *bytes, size_t n) {
    if (*len + n + 1 > self->text_cap) {
        size_t cap = self->text_cap;
        while (*len + n + 1 > cap) cap *= 2;
        char *p = realloc(self->text, cap);
        if (!p) return false;
        self->text = p;
        self->text_cap = cap;
    }
    memcpy(self->text + *len, bytes, n);
    *len += n;
    self->text[*len] = '\0';
    return true;
}

/* True when `id` ends generation: EOS, EOT or one of the caller's stop ids. */
static bool gen__is_stop_token(const wisp_ctx *self, const wisp_gen_params *p, int32_t id) {
    const wisp_tokenizer *tok = self->model->tok;
    if (id == wisp_tokenizer_special(tok, WISP_SPECIAL_EOS) ||
        id == wisp_tokenizer_special(tok, WISP_SPECIAL_EOT))
        return true;
    for (size_t i = 0; i < p->n_stop_tokens; i++)
        if (p->stop_tokens && p->stop_tokens[i] == id) return true;
    return false;
}

/* Finds the earliest stop string that ends after byte `from` of text[0..len) (only new text can
 * complete one) and returns where it starts, or SIZE_MAX. */
static size_t gen__find_stop(const char *text, size_t len, size_t from, const wisp_gen_params *p) {
    size_t best = SIZE_MAX;
    for (size_t s = 0; s < p->n_stop_strings; s++) {
        const char *stop = p->stop_strings[s];
        size_t sl = stop ? strlen(stop) : 0;
        if (sl == 0 || sl > len) continue;
        size_t start = from + 1 > sl ? from + 1 - sl : 0;
        for (size_t i = start; i + sl <= len && i < best; i++)
            if (memcmp(text + i, stop, sl) == 0) {
                best = i;
                break;
            }
    }
    return best;
}

/* Length of the text that can be shown now: all of it minus the longest tail that is the start
 * of a stop string (it may still turn into one and be cut). */
static size_t gen__safe_len(const char *text, size_t len, const wisp_gen_params *p) {
    size_t hold = 0;
    for (size_t s = 0; s < p->n_stop_strings; s++) {
        const char *stop = p->stop_strings[s];
        size_t sl = stop ? strlen(stop) : 0;
        for (size_t m = sl > len + 1 ? len : (sl ? sl - 1 : 0); m > hold; m--)
            if (memcmp(text + len - m, stop, m) == 0) {
                hold = m;
                break;
            }
    }
    return len - hold;
}

/* True when the answer's first byte would be one of p->not_first. */
static bool gen__bad_first(const wisp_gen_params *p, unsigned char c) {
    return p->non_empty && p->not_first && c && strchr(p->not_first, c);
}

/* Token healing: while the first `heal_len` bytes of the answer are still owed, forbid every token
 * whose bytes disagree with what is owed (a token may end inside them or run past their end).
 * Masks `logits` in place. */
static void gen__mask_heal(const wisp_ctx *self, const wisp_gen_params *p, float *logits, const char *owed,
                           size_t n_owed) {
    const wisp_tokenizer *tok = self->model->tok;
    const uint32_t n_vocab = self->model->info.n_vocab;
    for (uint32_t id = 0; id < n_vocab; id++) {
        wisp_str b = wisp_token_bytes(tok, (int32_t)id);
        size_t n = b.len < n_owed ? (size_t)b.len : n_owed;
        if (b.len == 0 || wisp_tokenizer_is_control(tok, (int32_t)id) || memcmp(b.ptr, owed, n) != 0 ||
            ((size_t)b.len > n_owed && gen__bad_first(p, (unsigned char)b.ptr[n_owed])))
            logits[id] = -INFINITY;
    }
}

/* Natural log-probability of `id` under softmax(logits[0..n)) at temperature 1. */
static double gen__logprob(const float *logits, size_t n, int32_t id) {
    float max = logits[0];
    for (size_t i = 1; i < n; i++)
        if (logits[i] > max) max = logits[i];
    if (max == -INFINITY || logits[id] == -INFINITY) return 0.0;
    double z = 0.0;
    for (size_t i = 0; i < n; i++) z += exp((double)(logits[i] - max));
    return (double)(logits[id] - max) - log(z);
}

/* For non_empty: while the answer is still empty, forbid every end token (gen__is_stop_token),
 * every other control token (it adds no byte), and every token that begins with a byte of
 * not_first. Masks `logits` in place. */
static void gen__mask_stops(const wisp_ctx *self, const wisp_gen_params *p, float *logits) {
    const wisp_tokenizer *tok = self->model->tok;
    for (uint32_t id = 0; id < self->model->info.n_vocab; id++) {
        if (gen__is_stop_token(self, p, (int32_t)id) || wisp_tokenizer_is_control(tok, (int32_t)id)) {
            logits[id] = -INFINITY;
        } else if (p->not_first) {
            wisp_str b = wisp_token_bytes(tok, (int32_t)id);
            if (b.len > 0 && gen__bad_first(p, (unsigned char)b.ptr[0])) logits[id] = -INFINITY;
        }
    }
}

/* One generate call's decoding state, shared by the steps below. */
typedef struct gen__run {
    wisp_ctx *self;
    const wisp_gen_params *p;
    wisp_gen_result *out;
    wisp_rng rng;
    size_t n_gen;            /* tokens taken (healing ones included) */
    size_t len;              /* bytes of self->text */
    size_t base;             /* text before `base` is the healed prompt tail: generated, but not
                                part of the answer */
    double deadline;         /* wisp_now_ms() value, 0 = none */
    wisp_stop_reason stop;
    bool no_memory;
} gen__run;

/* Appends a taken token's bytes; false (and r->no_memory) when the text cannot grow. */
static bool gen__text(gen__run *r, int32_t id) {
    wisp_str b = wisp_token_bytes(r->self->model->tok, id);
    if (gen__append(r->self, &r->len, b.ptr, (size_t)b.len)) return true;
    r->no_memory = true;
    return false;
}

/* Cuts the text at the earliest stop string that the bytes from `from` on complete (positions
 * counted from the answer's start); true when one did. */
static bool gen__cut(gen__run *r, size_t from) {
    size_t cut = gen__find_stop(r->self->text + r->base, r->len - r->base, from, r->p);
    if (cut == SIZE_MAX) return false;
    r->len = r->base + cut;
    r->self->text[r->len] = '\0';
    r->stop = WISP_STOP_STRING;
    return true;
}

/* Records a taken token (and its log-probability) in the result. */
static void gen__record(gen__run *r, int32_t id, double lp) {
    if (r->p->logprobs && r->p->max_tokens) r->p->logprobs[r->n_gen] = (float)lp;
    r->self->gen_tokens[r->n_gen++] = id;
    r->out->sum_logprob += lp;
}

/* Takes the next token from the full model's `logits` (the row after the last token taken):
 * masks (healing, non-empty) in place, samples, and applies every stop rule but the context's
 * and the time's — an end token, a stop string, the callback, max_tokens — setting r->stop.
 * Returns the token; it has not been evaluated. */
static int32_t gen__take(gen__run *r, float *logits) {
    wisp_ctx *self = r->self;
    const wisp_gen_params *p = r->p;
    const size_t n_vocab = self->model->info.n_vocab;
    if (r->len < r->base) gen__mask_heal(self, p, logits, p->heal + r->len, r->base - r->len);
    else if (p->non_empty && r->len == r->base) gen__mask_stops(self, p, logits);
    int32_t id = wisp_sample(logits, n_vocab, &p->sampling, &r->rng, self->probs);
    double lp = gen__logprob(logits, n_vocab, id);
    if (r->len < r->base) { /* forced by the mask: never a stop token */
        gen__record(r, id, lp);
        if (!gen__text(r, id)) return id;
        /* a token that ran past the healed bytes: its tail is new text */
        if (r->len > r->base && gen__cut(r, 0)) return id;
    } else if (gen__is_stop_token(self, p, id)) {
        r->stop = WISP_STOP_TOKEN;
        return id;
    } else {
        gen__record(r, id, lp);
        if (!wisp_tokenizer_is_control(self->model->tok, id)) {
            size_t from = r->len;
            if (!gen__text(r, id) || gen__cut(r, from - r->base)) return id;
        }
    }
    if (p->on_token && r->len >= r->base &&
        !p->on_token(p->user, id, self->text + r->base, gen__safe_len(self->text + r->base, r->len - r->base, p)))
        r->stop = WISP_STOP_CALLBACK;
    else if (p->max_tokens && r->n_gen >= p->max_tokens)
        r->stop = WISP_STOP_MAX_TOKENS;
    return id;
}

/* True once the call's wall-clock budget is spent. */
static bool gen__late(const gen__run *r) { return r->deadline > 0 && wisp_now_ms() >= r->deadline; }

/* Plain decoding: take a token, evaluate it, take the next. */
static void gen__plain(gen__run *r) {
    wisp_ctx *self = r->self;
    const uint32_t depth = wisp_ctx_depth(self);
    for (;;) {
        int32_t id = gen__take(r, self->logits);
        if (r->stop || r->no_memory) return;
        if (self->n_past >= self->n_ctx) {
            r->stop = WISP_STOP_CONTEXT;
            return;
        }
        wisp_forward__batch(self, &id, 1, depth, true, NULL);
        self->logits_valid = true;
        if (gen__late(r)) {
            r->stop = WISP_STOP_TIME;
            return;
        }
    }
}

/* The draft depth when this call decodes self-speculatively, else 0: greedy sampling, a draft
 * configured, and fewer blocks than the context runs now (not while a partial model runs at its
 * partial depth). */
static uint32_t gen__draft_depth(const wisp_ctx *self, const wisp_gen_params *p) {
    if (!self->spec_n_draft || p->sampling.temperature > 0) return 0;
    uint32_t k = self->spec_depth ? self->spec_depth : self->model->info.exit_layers;
    return k < wisp_ctx_depth(self) ? k : 0;
}

/*
 * The draft: batch[0] (taken, not evaluated) and then up to `room` tokens, each the argmax of the
 * first k blocks after the one before, one pass each at positions n_past..; every pass keeps its
 * token's residual stream after the k blocks in spec_x, where the check takes it up. A drafted
 * end token closes the draft unevaluated (nothing after it is wanted). Returns the tokens to
 * check (batch[0..n)), and in *n_drafted the tokens drafted (batch[1..]); r->stop is
 * WISP_STOP_TIME when the time ran out meanwhile.
 */
static size_t gen__draft(gen__run *r, uint32_t k, int32_t *batch, size_t room, size_t *n_drafted) {
    wisp_ctx *self = r->self;
    const size_t n_embd = self->model->info.n_embd, pos = self->n_past;
    for (size_t i = 0;; i++) {
        wisp_pass ps = {.tokens = batch + i, .n_tok = 1, .pos0 = pos + i, .l_begin = 0, .l_end = k,
                        .want_logits = i < room, .keep_x = true};
        wisp_forward__pass(self, &ps);
        memcpy(self->spec_x + i * n_embd, self->x, n_embd * sizeof(float));
        *n_drafted = i;
        if (gen__late(r)) r->stop = WISP_STOP_TIME;
        if (r->stop || i == room) return i + 1;
        batch[i + 1] = wisp_argmax(self->logits, self->model->info.n_vocab);
        if (gen__is_stop_token(self, r->p, batch[i + 1])) {
            *n_drafted = i + 1;
            return i + 1;
        }
    }
}

/* The check: blocks k.. of the full model over the drafted positions in one batch, from the
 * residual streams the draft left (its first k blocks computed exactly what the full model
 * computes there), every position's logits to spec_logits. */
static void gen__check(wisp_ctx *self, uint32_t k, const int32_t *batch, size_t n) {
    memcpy(self->x, self->spec_x, n * self->model->info.n_embd * sizeof(float));
    wisp_pass ps = {.tokens = batch, .n_tok = n, .pos0 = self->n_past - n, .l_begin = k,
                    .l_end = wisp_ctx_depth(self), .all_logits = self->spec_logits, .exact = true};
    wisp_forward__pass(self, &ps);
}

/*
 * Self-speculative decoding. Each round: the token taken last is drafted after (gen__draft), the
 * full model checks the batch (gen__check), and its rows are taken in order as plain decoding
 * would take them: while the full model's choice is the drafted next token, that token is
 * already evaluated and the next row follows; the first other choice (or a stop) ends the round,
 * and the cache forgets the positions after it. The batch stays within WISP_SPEC_MAX_DRAFT + 1
 * tokens and its attention runs token by token, so its rows are plain decoding's logits bit for
 * bit (wisp_pass.exact) and the output is plain greedy decoding's.
 */
static void gen__speculative(gen__run *r, uint32_t k) {
    wisp_ctx *self = r->self;
    const size_t n_vocab = self->model->info.n_vocab;
    int32_t batch[WISP_SPEC_MAX_DRAFT + 1];
    batch[0] = gen__take(r, self->logits);
    while (!r->stop && !r->no_memory) {
        const size_t pos = self->n_past;
        if (pos >= self->n_ctx) {
            r->stop = WISP_STOP_CONTEXT;
            return;
        }
        size_t room = self->spec_n_draft;
        if (room > self->n_batch - 1) room = self->n_batch - 1;
        if (room > self->n_ctx - pos - 1) room = self->n_ctx - pos - 1;
        size_t n_drafted, n = gen__draft(r, k, batch, room, &n_drafted);
        if (r->stop) { /* out of time while drafting: the deeper layers never saw batch[0] */
            wisp_ctx__truncate(self, pos + 1);
            self->logits_valid = false;
            return;
        }
        gen__check(self, k, batch, n);
        size_t i = 0;
        int32_t next;
        for (;; i++) {
            next = gen__take(r, self->spec_logits + i * n_vocab);
            if (i < n_drafted && next == batch[i + 1]) r->out->n_accepted++;
            if (!r->stop && !r->no_memory && pos + i + 1 >= self->n_ctx) r->stop = WISP_STOP_CONTEXT;
            if (r->stop || r->no_memory || i + 1 >= n || next != batch[i + 1]) break;
        }
        r->out->n_drafted += n_drafted;
        wisp_ctx__truncate(self, pos + i + 1); /* batch[0..i]: `next` is not evaluated yet */
        memcpy(self->logits, self->spec_logits + i * n_vocab, n_vocab * sizeof(float));
        self->logits_valid = true;
        batch[0] = next;
        if (!r->stop && gen__late(r)) r->stop = WISP_STOP_TIME;
    }
}

wisp_status wisp_ctx_generate(wisp_ctx *self, const int32_t *prompt, size_t n_prompt,
                              const wisp_gen_params *params, wisp_gen_result *out, wisp_error *err) {
    wisp__clear(err);
    if (!self || !out) return wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_ctx_generate: NULL argument");
    static const wisp_gen_params defaults;
    const wisp_gen_params *p = params ? params : &defaults;
    if ((p->n_stop_strings && !p->stop_strings) || (p->n_stop_tokens && !p->stop_tokens))
        return wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_ctx_generate: stop list count without a list");
    memset(out, 0, sizeof *out);
    self->text[0] = '\0';
    out->text = self->text;
    out->tokens = self->gen_tokens;
    out->n_prompt = n_prompt;

    double t0 = wisp_now_ms();
    double deadline = p->time_budget_ms > 0 ? t0 + p->time_budget_ms : 0;
    bool timed_out = false;
    wisp_status st = wisp_ctx__eval(self, prompt, n_prompt, &out->n_reused, deadline, &timed_out, err);
    if (st != WISP_OK) return st;
    double t1 = wisp_now_ms();
    out->prefill_ms = t1 - t0;
    if (timed_out || (deadline > 0 && t1 >= deadline)) {
        out->stop = WISP_STOP_TIME;
        return WISP_OK;
    }

    gen__run r = {.self = self, .p = p, .out = out, .base = p->heal ? p->heal_len : 0, .deadline = deadline};
    wisp_rng_seed(&r.rng, p->sampling.seed);
    uint32_t k = gen__draft_depth(self, p);
    if (k) gen__speculative(&r, k);
    else gen__plain(&r);
    if (r.no_memory) {
        out->text = self->text;
        return wisp__fail(err, WISP_ERR_NO_MEMORY, "wisp_ctx_generate: out of memory for the text");
    }
    size_t len = r.len, base = r.base;
    if (len > base) { /* the answer is what follows the healed bytes */
        memmove(self->text, self->text + base, len - base);
        len -= base;
    } else {
        len = 0;
    }
    self->text[len] = '\0';
    out->text = self->text;
    out->text_len = len;
    out->n_tokens = r.n_gen;
    out->stop = r.stop;
    out->decode_ms = wisp_now_ms() - t1;
    return WISP_OK;
}
