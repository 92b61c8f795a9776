/*
 * Generation: prefill the prompt (reusing the cache), then sample token after token until a stop
 * rule fires — an end token, a stop string (cut from the text, even when it spans tokens), the
 * token budget, the wall-clock budget, the caller's callback, or a full context.
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
 * Masks the context's logits in place; they are recomputed by the next forward step. */
static void gen__mask_heal(wisp_ctx *self, const wisp_gen_params *p, const char *owed, size_t n_owed) {
    const wisp_tokenizer *tok = self->model->tok;
    const uint32_t n_vocab = self->model->info.n_vocab;
    for (uint32_t id = 0; id < n_vocab; id++) {
        wisp_str b = wisp_token_bytes(tok, (int32_t)id);
        size_t n = b.len < n_owed ? (size_t)b.len : n_owed;
        if (b.len == 0 || wisp_tokenizer_is_control(tok, (int32_t)id) || memcmp(b.ptr, owed, n) != 0 ||
            ((size_t)b.len > n_owed && gen__bad_first(p, (unsigned char)b.ptr[n_owed])))
            self->logits[id] = -INFINITY;
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
 * not_first. */
static void gen__mask_stops(wisp_ctx *self, const wisp_gen_params *p) {
    const wisp_tokenizer *tok = self->model->tok;
    for (uint32_t id = 0; id < self->model->info.n_vocab; id++) {
        if (gen__is_stop_token(self, p, (int32_t)id) || wisp_tokenizer_is_control(tok, (int32_t)id)) {
            self->logits[id] = -INFINITY;
        } else if (p->not_first) {
            wisp_str b = wisp_token_bytes(tok, (int32_t)id);
            if (b.len > 0 && gen__bad_first(p, (unsigned char)b.ptr[0])) self->logits[id] = -INFINITY;
        }
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

    const wisp_tokenizer *tok = self->model->tok;
    const size_t n_vocab = self->model->info.n_vocab;
    wisp_rng rng;
    wisp_rng_seed(&rng, p->sampling.seed);
    size_t n_gen = 0, len = 0;
    wisp_stop_reason stop = WISP_STOP_NONE;
    /* Text before `base` is the healed prompt tail: generated, but not part of the answer. */
    const size_t base = p->heal ? p->heal_len : 0;
    while (stop == WISP_STOP_NONE) {
        if (len < base) gen__mask_heal(self, p, p->heal + len, base - len);
        else if (p->non_empty && len == base) gen__mask_stops(self, p);
        int32_t id = wisp_sample(self->logits, n_vocab, &p->sampling, &rng, self->probs);
        double lp = gen__logprob(self->logits, n_vocab, id);
        if (len < base) {
            if (p->logprobs && p->max_tokens) p->logprobs[n_gen] = (float)lp;
            self->gen_tokens[n_gen++] = id; /* forced by the mask: never a stop token */
            out->sum_logprob += lp;
            wisp_str b = wisp_token_bytes(tok, id);
            if (!gen__append(self, &len, b.ptr, (size_t)b.len)) {
                out->text = self->text;
                return wisp__fail(err, WISP_ERR_NO_MEMORY, "wisp_ctx_generate: out of memory for the text");
            }
            if (len > base) { /* the token ran past the healed bytes: its tail is new text */
                size_t cut = gen__find_stop(self->text + base, len - base, 0, p);
                if (cut != SIZE_MAX) {
                    len = base + cut;
                    self->text[len] = '\0';
                    stop = WISP_STOP_STRING;
                    break;
                }
            }
            goto next;
        }
        if (gen__is_stop_token(self, p, id)) {
            stop = WISP_STOP_TOKEN;
            break;
        }
        if (p->logprobs && p->max_tokens) p->logprobs[n_gen] = (float)lp;
        self->gen_tokens[n_gen++] = id;
        out->sum_logprob += lp;
        if (!wisp_tokenizer_is_control(tok, id)) {
            wisp_str b = wisp_token_bytes(tok, id);
            size_t from = len;
            if (!gen__append(self, &len, b.ptr, (size_t)b.len)) {
                out->text = self->text;
                return wisp__fail(err, WISP_ERR_NO_MEMORY, "wisp_ctx_generate: out of memory for the text");
            }
            size_t cut = gen__find_stop(self->text + base, len - base, from - base, p);
            if (cut != SIZE_MAX) {
                len = base + cut;
                self->text[len] = '\0';
                stop = WISP_STOP_STRING;
                break;
            }
        }
    next:
        if (p->on_token && len >= base &&
            !p->on_token(p->user, id, self->text + base, gen__safe_len(self->text + base, len - base, p))) {
            stop = WISP_STOP_CALLBACK;
        } else if (p->max_tokens && n_gen >= p->max_tokens) {
            stop = WISP_STOP_MAX_TOKENS;
        } else if (self->n_past >= self->n_ctx) {
            stop = WISP_STOP_CONTEXT;
        } else {
            wisp_forward__batch(self, &id, 1, wisp_ctx_depth(self), true, NULL);
            self->logits_valid = true;
            if (deadline > 0 && wisp_now_ms() >= deadline) stop = WISP_STOP_TIME;
        }
    }
    if (len > base) { /* the answer is what follows the healed bytes */
        memmove(self->text, self->text + base, len - base);
        len -= base;
    } else {
        len = 0;
    }
    self->text[len] = '\0';
    out->text = self->text;
    out->text_len = len;
    out->n_tokens = n_gen;
    out->stop = stop;
    out->decode_ms = wisp_now_ms() - t1;
    return WISP_OK;
}
