/*
 * Model loading: reads a llama / qwen2 GGUF's hyper-parameters, binds every tensor to the
 * struct the forward pass reads (checking presence, shape and type, with messages naming the
 * tensor), converts the small vectors to f32 and loads the tokenizer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gguf.h"
#include "kernels.h"
#include "model.h"
#include "quant.h"

/* Limits that keep a malicious header from asking for absurd allocations; far above any model
 * wisp runs in a browser. */
#define MODEL_MAX_LAYERS 512
#define MODEL_MAX_WIDTH 65536
#define MODEL_MAX_HEADS 1024
#define MODEL_MAX_VOCAB (1u << 22)
#define MODEL_VECS_PER_LAYER 5 /* attn_norm, ffn_norm, q/k/v biases */
#define MODEL_EXIT_KEY "wisp.early_exit.block_count"

/* State while loading: the model being built and the f32 vector storage cursor. */
typedef struct model_loader {
    wisp_model *m;
    const char *arch;  /* "llama" / "qwen2" */
    size_t vec_used;   /* floats of m->vecs handed out */
    size_t vec_cap;
    size_t need;       /* end of the furthest tensor bound since the caller reset it */
} model_loader;

/* Bytes from the start of the file to the end of tensor t's data. */
static size_t model__end(const wisp_model *m, const wisp_gguf_tensor *t) {
    return (size_t)((const uint8_t *)t->data - m->base) + (size_t)t->size;
}

/* Records that what is being bound needs tensor t. */
static void model__needs(model_loader *L, const wisp_gguf_tensor *t) {
    size_t end = model__end(L->m, t);
    if (end > L->need) L->need = end;
}

/* Reads a required uint32 hyper-parameter `<arch>.<suffix>`. */
static bool model__key_u32(model_loader *L, const char *suffix, uint32_t *out, wisp_error *err) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", L->arch, suffix);
    if (!wisp_gguf_get_u32(L->m->gguf, key, out)) {
        wisp__fail(err, WISP_ERR_BAD_MODEL,
                   wisp_gguf_find(L->m->gguf, key) < 0 ? "missing key %s"
                                                       : "key %s is not an unsigned 32-bit integer",
                   key);
        return false;
    }
    return true;
}

/* Reads a required float hyper-parameter `<arch>.<suffix>`. */
static bool model__key_f32(model_loader *L, const char *suffix, float *out, wisp_error *err) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", L->arch, suffix);
    if (!wisp_gguf_get_f32(L->m->gguf, key, out)) {
        wisp__fail(err, WISP_ERR_BAD_MODEL,
                   wisp_gguf_find(L->m->gguf, key) < 0 ? "missing key %s" : "key %s is not a float",
                   key);
        return false;
    }
    return true;
}

/* Finds a tensor and checks that it is a matrix of n_rows x n_cols (ggml: ne[0] = n_cols) of a
 * type the matmul kernels run; fills *out. `what` names the expected shape in the message. */
static bool model__mat(model_loader *L, const char *name, uint32_t n_rows, uint32_t n_cols,
                       const char *what, wisp_mat *out, wisp_error *err) {
    const wisp_gguf_tensor *t = wisp_gguf_tensor_find(L->m->gguf, name);
    if (!t) {
        wisp__fail(err, WISP_ERR_BAD_MODEL, "tensor %s is missing", name);
        return false;
    }
    if (t->n_dims != 2 || t->ne[0] != n_cols || t->ne[1] != n_rows || t->ne[2] != 1 ||
        t->ne[3] != 1) {
        wisp__fail(err, WISP_ERR_BAD_MODEL,
                   "tensor %s: shape [%llu, %llu, %llu, %llu] (%u dims), expected [%u, %u] (%s)",
                   name, (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
                   (unsigned long long)t->ne[2], (unsigned long long)t->ne[3], t->n_dims, n_cols,
                   n_rows, what);
        return false;
    }
    const char *tn = wisp_dtype_name(t->type);
    if (!tn || !wisp_matmul_supports(t->type)) {
        wisp__fail(err, WISP_ERR_UNSUPPORTED, "tensor %s: type %s (%d) is not supported for weights",
                   name, tn ? tn : "unknown", (int)t->type);
        return false;
    }
    size_t per = wisp_dtype_block_elems(t->type);
    if (per == 0 || n_cols % per != 0) {
        wisp__fail(err, WISP_ERR_BAD_MODEL, "tensor %s: %u columns is not a multiple of %s's block of %zu",
                   name, n_cols, tn, per);
        return false;
    }
    out->type = t->type;
    out->data = t->data;
    out->n_rows = n_rows;
    out->n_cols = n_cols;
    L->m->info.n_params += (uint64_t)n_rows * n_cols;
    L->m->info.weight_bytes += t->size;
    model__needs(L, t);
    return true;
}

/* Finds a 1-D tensor of n elements (a norm weight or a bias) and gives it room in the model's f32
 * vector storage, where it is converted once its bytes have arrived (model__convert). With
 * `optional`, a missing tensor gives *out = NULL and succeeds. */
static bool model__vec(model_loader *L, const char *name, uint32_t n, bool optional,
                       const float **out, wisp_error *err) {
    *out = NULL;
    const wisp_gguf_tensor *t = wisp_gguf_tensor_find(L->m->gguf, name);
    if (!t) {
        if (optional) return true;
        wisp__fail(err, WISP_ERR_BAD_MODEL, "tensor %s is missing", name);
        return false;
    }
    if (t->ne[0] != n || t->ne[1] != 1 || t->ne[2] != 1 || t->ne[3] != 1) {
        wisp__fail(err, WISP_ERR_BAD_MODEL, "tensor %s: shape [%llu, %llu], expected [%u]", name,
                   (unsigned long long)t->ne[0], (unsigned long long)t->ne[1], n);
        return false;
    }
    if (t->type != WISP_DTYPE_F32 && t->type != WISP_DTYPE_F16 && t->type != WISP_DTYPE_BF16) {
        const char *tn = wisp_dtype_name(t->type);
        wisp__fail(err, WISP_ERR_UNSUPPORTED, "tensor %s: type %s, expected f32, f16 or bf16", name,
                   tn ? tn : "unknown");
        return false;
    }
    wisp_model *m = L->m;
    if (L->vec_used + n > L->vec_cap || m->n_vec == (size_t)m->info.n_layer * MODEL_VECS_PER_LAYER + 1) {
        /* our own sizing bug, but fail cleanly */
        wisp__fail(err, WISP_ERR_BAD_MODEL, "tensor %s: vector storage exhausted", name);
        return false;
    }
    float *dst = m->vecs + L->vec_used;
    m->vec_src[m->n_vec++] = (wisp_model_vec){.t = t, .dst = dst, .n = n};
    L->vec_used += n;
    m->info.n_params += n;
    m->info.weight_bytes += t->size;
    model__needs(L, t);
    *out = dst;
    return true;
}

/* Converts every vector whose bytes have arrived and that is not converted yet, and counts the
 * leading blocks that are ready. */
static void model__convert(wisp_model *m) {
    for (size_t i = 0; i < m->n_vec; i++) {
        wisp_model_vec *v = &m->vec_src[i];
        if (v->done || model__end(m, v->t) > m->n_avail) continue;
        wisp_dequantize_row(v->t->type, v->t->data, v->dst, v->n);
        v->done = true;
    }
    uint32_t ready = 0;
    if (m->head_end <= m->n_avail)
        while (ready < m->info.n_layer && m->layer_end[ready] <= m->n_avail) ready++;
    m->layers_ready = ready;
}

/* Reads and checks the hyper-parameters; n_vocab comes from token_embd's rows. */
static bool model__hparams(model_loader *L, wisp_error *err) {
    wisp_model_info *I = &L->m->info;
    if (!model__key_u32(L, "context_length", &I->n_ctx_train, err) ||
        !model__key_u32(L, "embedding_length", &I->n_embd, err) ||
        !model__key_u32(L, "block_count", &I->n_layer, err) ||
        !model__key_u32(L, "feed_forward_length", &I->n_ff, err) ||
        !model__key_u32(L, "attention.head_count", &I->n_head, err) ||
        !model__key_u32(L, "attention.head_count_kv", &I->n_head_kv, err) ||
        !model__key_f32(L, "rope.freq_base", &I->rope_theta, err) ||
        !model__key_f32(L, "attention.layer_norm_rms_epsilon", &I->norm_eps, err))
        return false;
    if (I->n_layer == 0 || I->n_layer > MODEL_MAX_LAYERS || I->n_embd == 0 ||
        I->n_embd > MODEL_MAX_WIDTH || I->n_ff == 0 || I->n_ff > 16 * MODEL_MAX_WIDTH ||
        I->n_head == 0 || I->n_head > MODEL_MAX_HEADS || I->n_head_kv == 0 || I->n_ctx_train == 0) {
        wisp__fail(err, WISP_ERR_BAD_MODEL,
                   "%s hyper-parameters out of range: layers %u, width %u, ffn %u, heads %u/%u, "
                   "context %u",
                   L->arch, I->n_layer, I->n_embd, I->n_ff, I->n_head, I->n_head_kv, I->n_ctx_train);
        return false;
    }
    if (I->n_head % I->n_head_kv != 0) {
        wisp__fail(err, WISP_ERR_BAD_MODEL, "%s.attention.head_count %u is not a multiple of head_count_kv %u",
                   L->arch, I->n_head, I->n_head_kv);
        return false;
    }
    char key[128];
    snprintf(key, sizeof key, "%s.attention.key_length", L->arch);
    if (wisp_gguf_find(L->m->gguf, key) >= 0) {
        if (!model__key_u32(L, "attention.key_length", &I->head_dim, err)) return false;
    } else {
        if (I->n_embd % I->n_head != 0) {
            wisp__fail(err, WISP_ERR_BAD_MODEL, "%s.embedding_length %u is not a multiple of the %u heads",
                       L->arch, I->n_embd, I->n_head);
            return false;
        }
        I->head_dim = I->n_embd / I->n_head;
    }
    uint32_t v_len = I->head_dim;
    snprintf(key, sizeof key, "%s.attention.value_length", L->arch);
    if (wisp_gguf_find(L->m->gguf, key) >= 0 &&
        !model__key_u32(L, "attention.value_length", &v_len, err))
        return false;
    if (I->head_dim == 0 || I->head_dim % 2 != 0 || I->head_dim > 1024 || v_len != I->head_dim) {
        wisp__fail(err, WISP_ERR_UNSUPPORTED, "%s: head dimension %u (values %u): wisp needs an even key "
                   "length equal to the value length", L->arch, I->head_dim, v_len);
        return false;
    }
    if (!(I->norm_eps >= 0.0f && I->norm_eps < 1.0f) || !(I->rope_theta > 0.0f)) {
        wisp__fail(err, WISP_ERR_BAD_MODEL, "%s: rms epsilon %g or rope base %g out of range", L->arch,
                   (double)I->norm_eps, (double)I->rope_theta);
        return false;
    }
    const wisp_gguf_tensor *te = wisp_gguf_tensor_find(L->m->gguf, "token_embd.weight");
    if (!te) {
        wisp__fail(err, WISP_ERR_BAD_MODEL, "tensor token_embd.weight is missing");
        return false;
    }
    if (te->ne[1] == 0 || te->ne[1] > MODEL_MAX_VOCAB) {
        wisp__fail(err, WISP_ERR_BAD_MODEL, "tensor token_embd.weight: %llu rows is not a vocabulary size",
                   (unsigned long long)te->ne[1]);
        return false;
    }
    I->n_vocab = (uint32_t)te->ne[1];
    uint32_t v_key;
    snprintf(key, sizeof key, "%s.vocab_size", L->arch);
    if (wisp_gguf_get_u32(L->m->gguf, key, &v_key) && v_key != I->n_vocab) {
        wisp__fail(err, WISP_ERR_BAD_MODEL, "%s = %u but token_embd.weight has %u rows", key, v_key,
                   I->n_vocab);
        return false;
    }
    return true;
}

/* Binds the tensors of block `il`. */
static bool model__layer(model_loader *L, uint32_t il, wisp_error *err) {
    const wisp_model_info *I = &L->m->info;
    wisp_layer *ly = &L->m->layers[il];
    uint32_t n_q = I->n_head * I->head_dim, n_kv = I->n_head_kv * I->head_dim;
    char name[96];
    L->need = 0;
#define MODEL_NAME(suffix) (snprintf(name, sizeof name, "blk.%u." suffix, il), name)
    if (!model__vec(L, MODEL_NAME("attn_norm.weight"), I->n_embd, false, &ly->attn_norm, err) ||
        !model__mat(L, MODEL_NAME("attn_q.weight"), n_q, I->n_embd, "n_embd, n_head * head_dim", &ly->wq, err) ||
        !model__mat(L, MODEL_NAME("attn_k.weight"), n_kv, I->n_embd, "n_embd, n_head_kv * head_dim", &ly->wk, err) ||
        !model__mat(L, MODEL_NAME("attn_v.weight"), n_kv, I->n_embd, "n_embd, n_head_kv * head_dim", &ly->wv, err) ||
        !model__mat(L, MODEL_NAME("attn_output.weight"), I->n_embd, n_q, "n_head * head_dim, n_embd", &ly->wo, err) ||
        !model__vec(L, MODEL_NAME("ffn_norm.weight"), I->n_embd, false, &ly->ffn_norm, err) ||
        !model__mat(L, MODEL_NAME("ffn_gate.weight"), I->n_ff, I->n_embd, "n_embd, n_ff", &ly->w_gate, err) ||
        !model__mat(L, MODEL_NAME("ffn_up.weight"), I->n_ff, I->n_embd, "n_embd, n_ff", &ly->w_up, err) ||
        !model__mat(L, MODEL_NAME("ffn_down.weight"), I->n_embd, I->n_ff, "n_ff, n_embd", &ly->w_down, err))
        return false;
    /* qwen2 requires its q/k/v biases; llama files have none (and we would ignore none). */
    bool need_bias = I->arch == WISP_ARCH_QWEN2;
    if (!model__vec(L, MODEL_NAME("attn_q.bias"), n_q, !need_bias, &ly->bq, err) ||
        !model__vec(L, MODEL_NAME("attn_k.bias"), n_kv, !need_bias, &ly->bk, err) ||
        !model__vec(L, MODEL_NAME("attn_v.bias"), n_kv, !need_bias, &ly->bv, err))
        return false;
#undef MODEL_NAME
    L->m->layer_end[il] = L->need;
    return true;
}

/* The early exit the model was trained with (train/export.py): `wisp.early_exit.block_count`,
 * a number of blocks below n_layer; 0 when the key is absent. */
static bool model__exit(model_loader *L, wisp_error *err) {
    wisp_model *m = L->m;
    if (wisp_gguf_find(m->gguf, MODEL_EXIT_KEY) < 0) return true;
    uint32_t k;
    if (!wisp_gguf_get_u32(m->gguf, MODEL_EXIT_KEY, &k) || k >= m->info.n_layer) {
        wisp__fail(err, WISP_ERR_BAD_MODEL, "key " MODEL_EXIT_KEY " is not a block count below the %u blocks",
                   m->info.n_layer);
        return false;
    }
    m->info.exit_layers = k;
    return true;
}

/* Loads the tokenizer and checks it covers exactly the model's vocabulary and has an end id. */
static bool model__tokenizer(model_loader *L, wisp_error *err) {
    wisp_model *m = L->m;
    m->tok = wisp_tokenizer_load(m->gguf, err);
    if (!m->tok) return false;
    uint32_t nv = wisp_tokenizer_n_vocab(m->tok);
    if (nv != m->info.n_vocab) {
        wisp__fail(err, WISP_ERR_TOKENIZER,
                   "the vocabulary has %u tokens but the model's token_embd.weight has %u rows%s", nv,
                   m->info.n_vocab, nv < m->info.n_vocab ? " (the model can produce ids the vocabulary lacks)" : "");
        return false;
    }
    if (wisp_tokenizer_special(m->tok, WISP_SPECIAL_EOS) == WISP_NO_TOKEN &&
        wisp_tokenizer_special(m->tok, WISP_SPECIAL_EOT) == WISP_NO_TOKEN) {
        wisp__fail(err, WISP_ERR_TOKENIZER,
                   "the vocabulary has no end-of-sequence token (tokenizer.ggml.eos_token_id): "
                   "generation could never stop on its own");
        return false;
    }
    return true;
}

wisp_model *wisp_model_load(const void *data, size_t size, wisp_error *err) {
    return wisp_model_load_partial(data, size, size, err);
}

wisp_model *wisp_model_load_partial(const void *data, size_t size, size_t n_avail, wisp_error *err) {
    wisp__clear(err);
    if (!data || size == 0 || n_avail > size) {
        wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_model_load: empty buffer, or %zu bytes available of %zu",
                   n_avail, size);
        return NULL;
    }
    wisp_model *m = calloc(1, sizeof *m);
    if (!m) {
        wisp__fail(err, WISP_ERR_NO_MEMORY, "wisp_model_load: out of memory");
        return NULL;
    }
    model_loader L = {.m = m};
    m->base = data;
    m->size = size;
    m->n_avail = n_avail;
    m->gguf = wisp_gguf__open_partial(data, size, n_avail, err);
    if (!m->gguf) goto fail;

    wisp_str arch;
    if (!wisp_gguf_get_str(m->gguf, "general.architecture", &arch)) {
        wisp__fail(err, WISP_ERR_BAD_MODEL, "missing key general.architecture");
        goto fail;
    }
    if (arch.len == 5 && memcmp(arch.ptr, "llama", 5) == 0) {
        m->info.arch = WISP_ARCH_LLAMA;
        L.arch = "llama";
    } else if (arch.len == 5 && memcmp(arch.ptr, "qwen2", 5) == 0) {
        m->info.arch = WISP_ARCH_QWEN2;
        L.arch = "qwen2";
    } else {
        wisp__fail(err, WISP_ERR_UNSUPPORTED, "architecture \"%.*s\" is not supported (llama, qwen2)",
                   (int)(arch.len > 64 ? 64 : arch.len), arch.ptr);
        goto fail;
    }
    if (!model__hparams(&L, err) || !model__exit(&L, err)) goto fail;
    const wisp_model_info *I = &m->info;

    wisp_str name = {"", 0};
    wisp_gguf_get_str(m->gguf, "general.name", &name);
    m->name = malloc(name.len + 1);
    m->layers = calloc(I->n_layer, sizeof *m->layers);
    uint32_t n_q = I->n_head * I->head_dim, n_kv = I->n_head_kv * I->head_dim;
    L.vec_cap = (size_t)I->n_embd + (size_t)I->n_layer * (2 * (size_t)I->n_embd + n_q + 2 * (size_t)n_kv);
    m->vecs = malloc(L.vec_cap * sizeof(float));
    m->layer_end = calloc(I->n_layer, sizeof *m->layer_end);
    m->vec_src = calloc((size_t)I->n_layer * MODEL_VECS_PER_LAYER + 1, sizeof *m->vec_src);
    if (!m->name || !m->layers || !m->vecs || !m->layer_end || !m->vec_src) {
        wisp__fail(err, WISP_ERR_NO_MEMORY, "wisp_model_load: out of memory for %u layers", I->n_layer);
        goto fail;
    }
    memcpy(m->name, name.ptr, name.len);
    m->name[name.len] = '\0';
    m->info.name = m->name;

    L.need = 0;
    if (!model__mat(&L, "token_embd.weight", I->n_vocab, I->n_embd, "n_embd, n_vocab", &m->token_embd, err))
        goto fail;
    if (!wisp_dequantize_row(m->token_embd.type, m->token_embd.data, m->vecs, 0)) {
        wisp__fail(err, WISP_ERR_UNSUPPORTED, "tensor token_embd.weight: type %s cannot be looked up",
                   wisp_dtype_name(m->token_embd.type));
        goto fail;
    }
    if (!model__vec(&L, "output_norm.weight", I->n_embd, false, &m->output_norm, err)) goto fail;
    if (wisp_gguf_tensor_find(m->gguf, "output.weight")) {
        if (!model__mat(&L, "output.weight", I->n_vocab, I->n_embd, "n_embd, n_vocab", &m->output, err))
            goto fail;
    } else {
        m->output = m->token_embd;
        m->info.tied_output = true;
    }
    m->head_end = L.need;
    for (uint32_t il = 0; il < I->n_layer; il++)
        if (!model__layer(&L, il, err)) goto fail;
    if (!model__tokenizer(&L, err)) goto fail;
    model__convert(m);
    return m;
fail:
    wisp_model_free(m);
    return NULL;
}

void wisp_model_free(wisp_model *self) {
    if (!self) return;
    wisp_tokenizer_free(self->tok);
    wisp_gguf_free(self->gguf);
    free(self->layers);
    free(self->vecs);
    free(self->name);
    free(self->layer_end);
    free(self->vec_src);
    free(self);
}

wisp_status wisp_model_set_available(wisp_model *self, size_t n_avail, wisp_error *err) {
    wisp__clear(err);
    if (!self) return wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_model_set_available: no model");
    if (n_avail < self->n_avail || n_avail > self->size)
        return wisp__fail(err, WISP_ERR_INVALID_ARG,
                          "wisp_model_set_available: %zu bytes, but %zu had arrived of the file's %zu", n_avail,
                          self->n_avail, self->size);
    self->n_avail = n_avail;
    model__convert(self);
    return WISP_OK;
}

uint32_t wisp_model_layers_ready(const wisp_model *self) { return self ? self->layers_ready : 0; }

bool wisp_model_is_complete(const wisp_model *self) {
    return self && self->layers_ready == self->info.n_layer;
}

size_t wisp_model_bytes_needed(const wisp_model *self, uint32_t n_layers) {
    if (!self) return 0;
    size_t need = self->head_end;
    for (uint32_t il = 0; il < n_layers && il < self->info.n_layer; il++)
        if (self->layer_end[il] > need) need = self->layer_end[il];
    return need;
}

const wisp_model_info *wisp_model_get_info(const wisp_model *self) { return self ? &self->info : NULL; }
const wisp_tokenizer *wisp_model_tokenizer(const wisp_model *self) { return self ? self->tok : NULL; }
const wisp_gguf *wisp_model_gguf(const wisp_model *self) { return self ? self->gguf : NULL; }

void wisp_model__embed(const wisp_model *m, int32_t id, float *x) {
    const wisp_mat *e = &m->token_embd;
    size_t row_bytes = wisp_row_bytes(e->type, e->n_cols);
    wisp_dequantize_row(e->type, (const char *)e->data + (size_t)id * row_bytes, x, e->n_cols);
}
