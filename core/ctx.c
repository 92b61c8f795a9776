/*
 * The inference context: allocates the KV cache and every scratch buffer once, and keeps the
 * cache in step with the caller's token sequences, reusing the longest common prefix so that a
 * request which adds 3 tokens computes 3.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "error.h"
#include "kernels.h"

#define CTX_DEFAULT_N_CTX 2048
#define CTX_DEFAULT_N_BATCH 64
#define CTX_MAX_N_CTX (1u << 20)
#define CTX_MAX_N_BATCH 4096

/* The largest wisp_matmul scratch any of the model's matrices needs for n_tok tokens, and the
 * attention's scores (cache-typed keys of head_dim columns times att_rows query rows). */
static size_t ctx__mm_scratch_bytes(const wisp_model *m, size_t n_tok, size_t att_rows, wisp_dtype kv) {
    size_t best = wisp_matmul_scratch_bytes(m->output.type, m->output.n_cols, n_tok);
    size_t a = wisp_matmul_scratch_bytes(kv, m->info.head_dim, att_rows);
    if (a > best) best = a;
    for (uint32_t il = 0; il < m->info.n_layer; il++) {
        const wisp_layer *L = &m->layers[il];
        const wisp_mat *mats[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof mats / sizeof mats[0]; i++) {
            size_t b = wisp_matmul_scratch_bytes(mats[i]->type, mats[i]->n_cols, n_tok);
            if (b > best) best = b;
        }
    }
    return best;
}

/* Fills the rotary tables as HF computes them: inv_freq in f32, angle = f32(pos * inv_freq). */
static void ctx__rope_tables(wisp_ctx *self) {
    const wisp_model_info *I = &self->model->info;
    uint32_t half = I->head_dim / 2;
    for (uint32_t i = 0; i < half; i++) {
        float inv_freq = (float)(1.0 / pow((double)I->rope_theta, (double)(2 * i) / I->head_dim));
        for (uint32_t p = 0; p < self->n_ctx; p++) {
            float angle = (float)p * inv_freq;
            self->rope_cos[(size_t)p * half + i] = (float)cos((double)angle);
            self->rope_sin[(size_t)p * half + i] = (float)sin((double)angle);
        }
    }
}

wisp_ctx *wisp_ctx_new(const wisp_model *model, const wisp_ctx_params *params, wisp_error *err) {
    wisp__clear(err);
    if (!model) {
        wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_ctx_new: no model");
        return NULL;
    }
    const wisp_model_info *I = &model->info;
    uint32_t n_ctx = params && params->n_ctx ? params->n_ctx
                     : (I->n_ctx_train < CTX_DEFAULT_N_CTX ? I->n_ctx_train : CTX_DEFAULT_N_CTX);
    uint32_t n_batch = params && params->n_batch ? params->n_batch : CTX_DEFAULT_N_BATCH;
    if (n_ctx > CTX_MAX_N_CTX || n_batch > CTX_MAX_N_BATCH) {
        wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_ctx_new: n_ctx %u or n_batch %u too large (max %u, %u)",
                   n_ctx, n_batch, CTX_MAX_N_CTX, CTX_MAX_N_BATCH);
        return NULL;
    }
    if (n_batch > n_ctx) n_batch = n_ctx;

    wisp_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        wisp__fail(err, WISP_ERR_NO_MEMORY, "wisp_ctx_new: out of memory");
        return NULL;
    }
    c->model = model;
    c->n_ctx = n_ctx;
    c->n_batch = n_batch;
    c->n_q = I->n_head * I->head_dim;
    c->n_kv = I->n_head_kv * I->head_dim;
    size_t wide = I->n_embd > c->n_q ? I->n_embd : c->n_q;
    size_t ff = I->n_ff > I->n_embd ? I->n_ff : I->n_embd;
    c->n_ctx_pad = (n_ctx + 7) / 8 * 8;
    uint32_t group = I->n_head / I->n_head_kv;
    c->att_rows = group > WISP_ATT_ROWS ? group : WISP_ATT_ROWS;
    size_t cache = (size_t)I->n_layer * c->n_ctx_pad * c->n_kv;
    size_t half = I->head_dim / 2, rows = c->att_rows;

    c->kv_type = params && params->kv_f16 ? WISP_DTYPE_F16 : WISP_DTYPE_F32;
    size_t kv_elem = c->kv_type == WISP_DTYPE_F16 ? sizeof(uint16_t) : sizeof(float);
    c->k_cache = calloc(cache, kv_elem);
    c->v_cache = calloc(cache, kv_elem);
    c->tokens = malloc((size_t)n_ctx * sizeof(int32_t));
    c->x = malloc((size_t)n_batch * I->n_embd * sizeof(float));
    c->xb = malloc((size_t)n_batch * wide * sizeof(float));
    c->q = malloc((size_t)n_batch * c->n_q * sizeof(float));
    c->hb = malloc((size_t)n_batch * ff * sizeof(float));
    c->hb2 = malloc((size_t)n_batch * I->n_ff * sizeof(float));
    c->kb = malloc((size_t)n_batch * c->n_kv * sizeof(float));
    c->vb = malloc((size_t)n_batch * c->n_kv * sizeof(float));
    c->att = malloc(rows * c->n_ctx_pad * sizeof(float));
    c->att_q = malloc(rows * I->head_dim * sizeof(float));
    c->att_o = malloc(rows * I->head_dim * sizeof(float));
    c->rope_cos = malloc((size_t)n_ctx * half * sizeof(float));
    c->rope_sin = malloc((size_t)n_ctx * half * sizeof(float));
    c->logits = malloc((size_t)I->n_vocab * sizeof(float));
    c->mm_scratch = malloc(ctx__mm_scratch_bytes(model, n_batch, rows, c->kv_type) + 64);
    c->probs = malloc((size_t)I->n_vocab * sizeof(wisp_prob));
    c->gen_tokens = malloc((size_t)n_ctx * sizeof(int32_t));
    c->text_cap = 256;
    c->text = malloc(c->text_cap);
    c->kv_fill = calloc(I->n_layer, sizeof *c->kv_fill);
    c->spec_logits = malloc((size_t)(WISP_SPEC_MAX_DRAFT + 1) * I->n_vocab * sizeof(float));
    c->spec_x = malloc((size_t)(WISP_SPEC_MAX_DRAFT + 1) * I->n_embd * sizeof(float));
    if (!c->k_cache || !c->v_cache || !c->tokens || !c->x || !c->xb || !c->q || !c->hb || !c->hb2 ||
        !c->kb || !c->vb || !c->att || !c->att_q || !c->att_o || !c->rope_cos || !c->rope_sin || !c->logits || !c->mm_scratch || !c->probs ||
        !c->gen_tokens || !c->text || !c->kv_fill || !c->spec_logits || !c->spec_x) {
        wisp__fail(err, WISP_ERR_NO_MEMORY, "wisp_ctx_new: out of memory for a %u-token cache (%zu MB)",
                   n_ctx, 2 * cache * kv_elem >> 20);
        wisp_ctx_free(c);
        return NULL;
    }
    c->text[0] = '\0';
    ctx__rope_tables(c);
    return c;
}

void wisp_ctx_free(wisp_ctx *self) {
    if (!self) return;
    free(self->k_cache);
    free(self->v_cache);
    free(self->tokens);
    free(self->x);
    free(self->xb);
    free(self->q);
    free(self->hb);
    free(self->hb2);
    free(self->kb);
    free(self->vb);
    free(self->att);
    free(self->att_q);
    free(self->att_o);
    free(self->rope_cos);
    free(self->rope_sin);
    free(self->logits);
    free(self->mm_scratch);
    free(self->probs);
    free(self->gen_tokens);
    free(self->text);
    free(self->kv_fill);
    free(self->spec_logits);
    free(self->spec_x);
    free(self);
}

uint32_t wisp_ctx_n_ctx(const wisp_ctx *self) { return self ? self->n_ctx : 0; }

wisp_status wisp_ctx_set_depth(wisp_ctx *self, uint32_t n_layers, wisp_error *err) {
    wisp__clear(err);
    if (!self) return wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_ctx_set_depth: no context");
    if (n_layers > self->model->info.n_layer)
        return wisp__fail(err, WISP_ERR_RANGE, "depth %u: the model has %u blocks", n_layers,
                          self->model->info.n_layer);
    self->depth = n_layers;
    return WISP_OK;
}

/* The blocks a partial model with a trained exit must have before it answers: the exit, or a
 * depth set below it; 0 without a trained exit. */
static uint32_t ctx__exit_need(const wisp_ctx *self) {
    uint32_t exit = self->model->info.exit_layers;
    return self->depth && self->depth < exit ? self->depth : exit;
}

uint32_t wisp_ctx_depth(const wisp_ctx *self) {
    if (!self) return 0;
    const wisp_model *m = self->model;
    const uint32_t n_layer = m->info.n_layer, ready = m->layers_ready;
    uint32_t depth = self->depth ? self->depth : n_layer;
    if (ready < n_layer) { /* still arriving */
        uint32_t need = ctx__exit_need(self);
        /* a trained exit: nothing until its blocks are in (the blocks before it were never
         * trained to answer: noise), then the exit, not a deeper untrained depth */
        if (need) return ready >= need ? need : 0;
        if (depth > ready) depth = ready; /* no exit: whatever has arrived */
    }
    return depth;
}

wisp_status wisp_ctx_set_speculative(wisp_ctx *self, uint32_t n_draft, uint32_t draft_depth,
                                     wisp_error *err) {
    wisp__clear(err);
    if (!self) return wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_ctx_set_speculative: no context");
    const wisp_model_info *I = &self->model->info;
    if (n_draft > WISP_SPEC_MAX_DRAFT)
        return wisp__fail(err, WISP_ERR_RANGE, "a draft of %u tokens: at most %d", n_draft, WISP_SPEC_MAX_DRAFT);
    if (draft_depth >= I->n_layer)
        return wisp__fail(err, WISP_ERR_RANGE, "draft depth %u: the model has %u blocks", draft_depth, I->n_layer);
    if (n_draft && !draft_depth && !I->exit_layers)
        return wisp__fail(err, WISP_ERR_INVALID_ARG,
                          "the model has no early exit (wisp.early_exit.block_count): name a draft depth");
    self->spec_n_draft = n_draft;
    self->spec_depth = draft_depth;
    return WISP_OK;
}

void wisp_ctx__truncate(wisp_ctx *self, size_t n) {
    if (n > self->n_past) n = self->n_past;
    self->n_past = n;
    for (uint32_t il = 0; il < self->model->info.n_layer; il++)
        if (self->kv_fill[il] > n) self->kv_fill[il] = n;
}

size_t wisp_ctx__filled(const wisp_ctx *self, uint32_t depth) {
    size_t n = self->n_past;
    for (uint32_t il = 0; il < depth; il++)
        if (self->kv_fill[il] < n) n = self->kv_fill[il];
    return n;
}

/* Checks a token sequence before anything in the cache changes. */
static wisp_status ctx__check(const wisp_ctx *self, const int32_t *tokens, size_t n_tokens,
                              wisp_error *err) {
    if (!self || (!tokens && n_tokens)) return wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_ctx_eval: NULL argument");
    if (n_tokens == 0) return wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_ctx_eval: no tokens");
    if (n_tokens > self->n_ctx)
        return wisp__fail(err, WISP_ERR_CONTEXT_FULL, "%zu tokens do not fit in the %u-token context",
                          n_tokens, self->n_ctx);
    if (wisp_ctx_depth(self) == 0) {
        const wisp_model *m = self->model;
        uint32_t need = ctx__exit_need(self);
        if (!need)
            return wisp__fail(err, WISP_ERR_LOADING,
                              "model still loading: the token embedding, output norm and head need the file's "
                              "first %zu bytes, %zu have arrived",
                              wisp_model_bytes_needed(m, 0), m->n_avail);
        return wisp__fail(err, WISP_ERR_LOADING,
                          "model still loading: the early exit answers from the first %u blocks, which need "
                          "the file's first %zu bytes, %zu have arrived",
                          need, wisp_model_bytes_needed(m, need), m->n_avail);
    }
    uint32_t n_vocab = self->model->info.n_vocab;
    for (size_t i = 0; i < n_tokens; i++)
        if (tokens[i] < 0 || (uint32_t)tokens[i] >= n_vocab)
            return wisp__fail(err, WISP_ERR_RANGE, "token %zu: id %d is outside the vocabulary (0..%u)", i,
                              tokens[i], n_vocab - 1);
    return WISP_OK;
}

wisp_status wisp_ctx__eval(wisp_ctx *self, const int32_t *tokens, size_t n_tokens, size_t *n_reused,
                           double deadline_ms, bool *timed_out, wisp_error *err) {
    wisp__clear(err);
    if (timed_out) *timed_out = false;
    wisp_status st = ctx__check(self, tokens, n_tokens, err);
    if (st != WISP_OK) return st;
    /* reusable: what matches and every layer of this depth holds (a shallower pass left the
     * deeper layers behind) */
    const uint32_t depth = wisp_ctx_depth(self);
    const size_t filled = wisp_ctx__filled(self, depth);
    size_t common = 0;
    while (common < filled && common < n_tokens && self->tokens[common] == tokens[common]) common++;
    if (common == n_tokens) common--; /* recompute the last token to get its logits back */
    wisp_ctx__truncate(self, common);
    self->logits_valid = false;
    if (n_reused) *n_reused = common;
    for (size_t i = common; i < n_tokens;) {
        size_t nb = n_tokens - i < self->n_batch ? n_tokens - i : self->n_batch;
        wisp_forward__batch(self, tokens + i, nb, depth, i + nb == n_tokens, NULL);
        i += nb;
        if (i < n_tokens && deadline_ms > 0 && wisp_now_ms() >= deadline_ms) {
            if (timed_out) *timed_out = true;
            return WISP_OK;
        }
    }
    self->logits_valid = true;
    return WISP_OK;
}

wisp_status wisp_ctx_eval(wisp_ctx *self, const int32_t *tokens, size_t n_tokens, size_t *n_reused,
                          wisp_error *err) {
    return wisp_ctx__eval(self, tokens, n_tokens, n_reused, 0, NULL, err);
}

// Computes `tokens` after the n_past the cache holds, every position's logits to `logits`.
static void ctx__eval_logits(wisp_ctx *self, const int32_t *tokens, size_t n_tokens, float *logits) {
    size_t n_vocab = self->model->info.n_vocab;
    const uint32_t depth = wisp_ctx_depth(self);
    self->logits_valid = false;
    for (size_t i = 0; i < n_tokens;) {
        size_t nb = n_tokens - i < self->n_batch ? n_tokens - i : self->n_batch;
        wisp_forward__batch(self, tokens + i, nb, depth, false, logits + i * n_vocab);
        i += nb;
    }
    memcpy(self->logits, logits + (n_tokens - 1) * n_vocab, n_vocab * sizeof(float));
    self->logits_valid = true;
}

wisp_status wisp_ctx_eval_all(wisp_ctx *self, const int32_t *tokens, size_t n_tokens, float *logits,
                              wisp_error *err) {
    wisp__clear(err);
    wisp_status st = ctx__check(self, tokens, n_tokens, err);
    if (st != WISP_OK) return st;
    if (!logits) return wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_ctx_eval_all: no logits buffer");
    wisp_ctx__truncate(self, 0);
    ctx__eval_logits(self, tokens, n_tokens, logits);
    return WISP_OK;
}

wisp_status wisp_ctx_eval_append(wisp_ctx *self, const int32_t *tokens, size_t n_tokens, float *logits,
                                 wisp_error *err) {
    wisp__clear(err);
    wisp_status st = ctx__check(self, tokens, n_tokens, err);
    if (st != WISP_OK) return st;
    if (!logits) return wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_ctx_eval_append: no logits buffer");
    if (n_tokens > self->n_ctx - self->n_past)
        return wisp__fail(err, WISP_ERR_CONTEXT_FULL, "%zu more tokens do not fit after the %zu of the %u-token context",
                          n_tokens, (size_t)self->n_past, self->n_ctx);
    if (wisp_ctx__filled(self, wisp_ctx_depth(self)) < self->n_past)
        return wisp__fail(err, WISP_ERR_INVALID_ARG,
                          "wisp_ctx_eval_append: the cache's last tokens were computed with fewer blocks than "
                          "the context runs now (wisp_ctx_set_depth): evaluate them again");
    ctx__eval_logits(self, tokens, n_tokens, logits);
    return WISP_OK;
}

uint32_t wisp_ctx_n_batch(const wisp_ctx *self) { return self ? (uint32_t)self->n_batch : 0; }

const float *wisp_ctx_logits(const wisp_ctx *self) {
    return self && self->logits_valid ? self->logits : NULL;
}

const int32_t *wisp_ctx_tokens(const wisp_ctx *self, size_t *n_tokens) {
    if (n_tokens) *n_tokens = self ? self->n_past : 0;
    return self ? self->tokens : NULL;
}

uint64_t wisp_ctx__n_computed(const wisp_ctx *self) { return self ? self->n_computed : 0; }
