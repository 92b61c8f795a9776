/*
 * The transformer forward pass over a batch of tokens, llama2.c-style: embed, then per block
 * RMSNorm -> q/k/v (+ biases) -> rotary embedding -> causal attention over the KV cache (grouped
 * query heads) -> output projection -> residual, RMSNorm -> SwiGLU feed-forward -> residual;
 * final RMSNorm and the output matrix. Every matrix product goes through wisp_matmul with all the
 * batch's tokens at once (the blocked kernel); decode is the same code with one token.
 */
#include <math.h>
#include <string.h>

#include "ctx.h"
#include "kernels.h"
#include "quant.h"

/*
 * Rotates one head vector (head_dim floats) for position `pos`. llama.cpp's `llama` graph rotates
 * adjacent pairs (x[2i], x[2i+1]) — its converter permutes HF's q/k rows so that this equals HF's
 * rotate_half — while qwen2 (NEOX) rotates halves (x[i], x[i + head_dim/2]).
 */
static void forward__rope(const wisp_ctx *self, float *v, size_t pos, uint32_t head_dim, bool neox) {
    uint32_t half = head_dim / 2;
    const float *c = self->rope_cos + pos * half;
    const float *s = self->rope_sin + pos * half;
    if (neox) {
        for (uint32_t i = 0; i < half; i++) {
            float a = v[i], b = v[i + half];
            v[i] = a * c[i] - b * s[i];
            v[i + half] = a * s[i] + b * c[i];
        }
    } else {
        for (uint32_t i = 0; i < half; i++) {
            float a = v[2 * i], b = v[2 * i + 1];
            v[2 * i] = a * c[i] - b * s[i];
            v[2 * i + 1] = a * s[i] + b * c[i];
        }
    }
}

/* Adds a bias (n floats) to each of n_tok rows; no-op without one. */
static void forward__bias(float *y, const float *bias, size_t n_tok, size_t n) {
    if (!bias) return;
    for (size_t t = 0; t < n_tok; t++)
        for (size_t i = 0; i < n; i++) y[t * n + i] += bias[i];
}

/* One matrix product of the batch through the blocked kernel. */
static void forward__mm(wisp_ctx *self, const wisp_mat *w, const float *x, size_t n_tok, float *y) {
    wisp_matmul(w->type, w->data, w->n_rows, w->n_cols, x, n_tok, y, self->mm_scratch);
}

/* Element `i` of cache slab index `slab` (layer il, kv head g: il * n_head_kv + g), of either
 * cache (see ctx.h for the layouts); the element type is self->kv_type. */
static void *forward__kv_at(const wisp_ctx *self, void *cache, size_t slab, size_t i) {
    size_t elem = self->kv_type == WISP_DTYPE_F16 ? 2 : 4;
    return (uint8_t *)cache + (slab * self->n_ctx_pad * self->model->info.head_dim + i) * elem;
}

/* Writes one float into the cache at element `p`, converting to the cache's type. */
static void forward__kv_put(const wisp_ctx *self, void *p, float v) {
    if (self->kv_type == WISP_DTYPE_F16) *(wisp_f16 *)p = wisp_f32_to_f16(v);
    else *(float *)p = v;
}

/* Copies the batch's keys and values (kb, vb: (n_tok, n_kv)) into layer il's cache at positions
 * pos0... */
static void forward__store_kv(wisp_ctx *self, uint32_t il, size_t pos0, size_t n_tok) {
    const uint32_t hd = self->model->info.head_dim, n_kvh = self->model->info.n_head_kv;
    for (uint32_t g = 0; g < n_kvh; g++) {
        size_t slab = (size_t)il * n_kvh + g;
        for (size_t t = 0; t < n_tok; t++) {
            size_t pos = pos0 + t;
            const float *k = self->kb + t * self->n_kv + (size_t)g * hd;
            const float *v = self->vb + t * self->n_kv + (size_t)g * hd;
            if (self->kv_type == WISP_DTYPE_F32) {
                memcpy(forward__kv_at(self, self->k_cache, slab, pos * hd), k, hd * sizeof(float));
                memcpy(forward__kv_at(self, self->v_cache, slab, pos * hd), v, hd * sizeof(float));
                continue;
            }
            for (uint32_t d = 0; d < hd; d++) {
                forward__kv_put(self, forward__kv_at(self, self->k_cache, slab, pos * hd + d), k[d]);
                forward__kv_put(self, forward__kv_at(self, self->v_cache, slab, pos * hd + d), v[d]);
            }
        }
    }
}

/*
 * Causal attention of tokens t0..t0+n_t of the batch over layer il's cache, for the query heads
 * of kv head g (heads g*group .. g*group+group-1), as matrix products: scores S = Q K^T through
 * wisp_matmul (the key slab is a positions x head_dim matrix of the cache's type), a softmax per
 * row over the positions it may see, then O = P V through wisp_matmul_t over the value slab. Row r = t*group + i is token t0+t, head
 * g*group+i, which sees positions 0..pos0+t0+t. Writes those heads' columns of `out` (n_tok, n_q).
 */
static void forward__attend(wisp_ctx *self, uint32_t il, uint32_t g, size_t pos0, size_t t0, size_t n_t,
                            float *out) {
    const wisp_model_info *I = &self->model->info;
    const uint32_t hd = I->head_dim, group = I->n_head / I->n_head_kv;
    const size_t R = n_t * group, n_keys = pos0 + t0 + n_t;
    const float scale = 1.0f / sqrtf((float)hd);
    float *S = self->att, *Q = self->att_q, *O = self->att_o;

    for (size_t t = 0; t < n_t; t++)
        for (uint32_t i = 0; i < group; i++)
            memcpy(Q + (t * group + i) * hd, self->q + (t0 + t) * self->n_q + (size_t)(g * group + i) * hd,
                   hd * sizeof(float));
    const size_t slab = (size_t)il * I->n_head_kv + g;
    wisp_matmul(self->kv_type, forward__kv_at(self, self->k_cache, slab, 0), n_keys, hd, Q, R, S, self->mm_scratch);

    for (size_t r = 0; r < R; r++) {
        float *row = S + r * n_keys;
        const size_t n_seen = pos0 + t0 + r / group + 1;
        wisp_softmax_f32(row, n_seen, scale);
        memset(row + n_seen, 0, (n_keys - n_seen) * sizeof(float)); /* the causal mask */
    }

    wisp_matmul_t(self->kv_type, forward__kv_at(self, self->v_cache, slab, 0), hd, n_keys, S, R, O);
    for (size_t t = 0; t < n_t; t++)
        for (uint32_t i = 0; i < group; i++)
            memcpy(out + (t0 + t) * self->n_q + (size_t)(g * group + i) * hd, O + (t * group + i) * hd,
                   hd * sizeof(float));
}

/* Attention of the batch's tokens t_begin..n_tok (its keys/values already in the cache), att_rows
 * query rows at a time so the score scratch stays (att_rows, n_ctx). Output: rows t_begin.. of
 * (n_tok, n_q) in `out`. */
static void forward__attention(wisp_ctx *self, uint32_t il, size_t pos0, size_t t_begin, size_t n_tok,
                               bool exact, float *out) {
    const wisp_model_info *I = &self->model->info;
    const size_t tokens_per_pass = exact ? 1 : self->att_rows / (I->n_head / I->n_head_kv);
    for (uint32_t g = 0; g < I->n_head_kv; g++)
        for (size_t t0 = t_begin; t0 < n_tok; t0 += tokens_per_pass) {
            size_t n_t = n_tok - t0 < tokens_per_pass ? n_tok - t0 : tokens_per_pass;
            forward__attend(self, il, g, pos0, t0, n_t, out);
        }
}


/* Keeps the cache's books after a pass wrote positions pos0..pos0+n_tok in layers [l_begin,
 * l_end): the deeper layers hold nothing from pos0 on any more (those positions' tokens may
 * be new), the layers below l_begin were filled there before. */
static void forward__books(wisp_ctx *self, const wisp_pass *p) {
    const size_t end = p->pos0 + p->n_tok;
    for (size_t t = 0; t < p->n_tok; t++) self->tokens[p->pos0 + t] = p->tokens[t];
    self->n_past = end;
    for (uint32_t il = 0; il < self->model->info.n_layer; il++) {
        if (il >= p->l_begin && il < p->l_end) self->kv_fill[il] = end;
        else if (il >= p->l_end && self->kv_fill[il] > p->pos0) self->kv_fill[il] = p->pos0;
        else if (self->kv_fill[il] > end) self->kv_fill[il] = end;
    }
    self->n_computed += p->n_tok;
}

void wisp_forward__batch(wisp_ctx *self, const int32_t *tokens, size_t n_tok, uint32_t depth,
                         bool want_logits, float *all_logits) {
    wisp_pass p = {.tokens = tokens, .n_tok = n_tok, .pos0 = self->n_past, .l_begin = 0,
                   .l_end = depth, .want_logits = want_logits, .all_logits = all_logits};
    wisp_forward__pass(self, &p);
}

void wisp_forward__pass(wisp_ctx *self, const wisp_pass *p) {
    const wisp_model *m = self->model;
    const wisp_model_info *I = &m->info;
    const size_t n_embd = I->n_embd, n_ff = I->n_ff, hd = I->head_dim;
    const size_t pos0 = p->pos0, n_tok = p->n_tok;
    const bool want_logits = p->want_logits, neox = I->arch == WISP_ARCH_QWEN2;
    float *all_logits = p->all_logits;
    float *x = self->x, *xb = self->xb, *q = self->q, *hb = self->hb, *hb2 = self->hb2;

    if (p->l_begin == 0)
        for (size_t t = 0; t < n_tok; t++) wisp_model__embed(m, p->tokens[t], x + t * n_embd);

    for (uint32_t il = p->l_begin; il < p->l_end; il++) {
        const wisp_layer *L = &m->layers[il];
        float *kc = self->kb, *vc = self->vb;
        /* Past the last layer's keys and values only the tokens whose logits are wanted matter:
         * every one for all_logits, the last for want_logits, none otherwise (as llama.cpp does);
         * rows t_out.. go on, the rest stop at the cache. */
        const size_t t_out = il + 1 < p->l_end || all_logits || p->keep_x ? 0 : want_logits ? n_tok - 1 : n_tok;
        const size_t n_out = n_tok - t_out;

        for (size_t t = 0; t < n_tok; t++)
            wisp_rmsnorm_f32(xb + t * n_embd, x + t * n_embd, L->attn_norm, n_embd, I->norm_eps);
        forward__mm(self, &L->wk, xb, n_tok, kc);
        forward__mm(self, &L->wv, xb, n_tok, vc);
        forward__bias(kc, L->bk, n_tok, self->n_kv);
        forward__bias(vc, L->bv, n_tok, self->n_kv);
        for (size_t t = 0; t < n_tok; t++)
            for (uint32_t h = 0; h < I->n_head_kv; h++)
                forward__rope(self, kc + t * self->n_kv + h * hd, pos0 + t, (uint32_t)hd, neox);
        forward__store_kv(self, il, pos0, n_tok);
        if (n_out == 0) continue;

        float *qo = q + t_out * self->n_q;
        forward__mm(self, &L->wq, xb + t_out * n_embd, n_out, qo);
        forward__bias(qo, L->bq, n_out, self->n_q);
        for (size_t t = t_out; t < n_tok; t++)
            for (uint32_t h = 0; h < I->n_head; h++)
                forward__rope(self, q + t * self->n_q + h * hd, pos0 + t, (uint32_t)hd, neox);
        forward__attention(self, il, pos0, t_out, n_tok, p->exact, xb); /* xb rows t_out..: (n_tok, n_q) */
        float *xo = x + t_out * n_embd, *ho = hb + t_out * n_embd;
        forward__mm(self, &L->wo, xb + t_out * self->n_q, n_out, ho);
        for (size_t i = 0; i < n_out * n_embd; i++) xo[i] += ho[i];

        for (size_t t = t_out; t < n_tok; t++)
            wisp_rmsnorm_f32(xb + t * n_embd, x + t * n_embd, L->ffn_norm, n_embd, I->norm_eps);
        float *go = hb + t_out * n_ff, *uo = hb2 + t_out * n_ff, *dn = xb + t_out * n_embd;
        forward__mm(self, &L->w_gate, dn, n_out, go);
        forward__mm(self, &L->w_up, dn, n_out, uo);
        for (size_t t = 0; t < n_out; t++) wisp_swiglu_f32(go + t * n_ff, uo + t * n_ff, n_ff);
        forward__mm(self, &L->w_down, go, n_out, dn); /* dn: rows t_out.. of (n_tok, n_embd) */
        for (size_t i = 0; i < n_out * n_embd; i++) xo[i] += dn[i];
    }

    forward__books(self, p);

    if (all_logits) {
        for (size_t t = 0; t < n_tok; t++)
            wisp_rmsnorm_f32(xb + t * n_embd, x + t * n_embd, m->output_norm, n_embd, I->norm_eps);
        forward__mm(self, &m->output, xb, n_tok, all_logits);
    } else if (want_logits) {
        const float *last = x + (n_tok - 1) * n_embd;
        wisp_rmsnorm_f32(xb, last, m->output_norm, n_embd, I->norm_eps);
        forward__mm(self, &m->output, xb, 1, self->logits);
    }
}
