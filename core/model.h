/*
 * Internal: the model's weights as the forward pass sees them. Written by model.c (loading and
 * checking), read by forward.c. Matrices are borrowed from the GGUF buffer; the small vectors
 * (norm weights, biases) are converted to f32 once at load time and owned by the model.
 */
#ifndef WISP_MODEL_H
#define WISP_MODEL_H

#include <stdint.h>

#include "wisp.h"

/* One weight matrix in ggml order: n_rows rows (output features) of n_cols contiguous elements
 * (input features), of type `type`. `data` is borrowed from the file buffer. */
typedef struct wisp_mat {
    wisp_dtype type;
    const void *data;
    uint32_t n_rows;
    uint32_t n_cols;
} wisp_mat;

/* One transformer block. n_q = n_head * head_dim, n_kv = n_head_kv * head_dim. */
typedef struct wisp_layer {
    const float *attn_norm;  /* (n_embd) */
    wisp_mat wq;             /* (n_q rows, n_embd cols) */
    wisp_mat wk;             /* (n_kv, n_embd) */
    wisp_mat wv;             /* (n_kv, n_embd) */
    const float *bq;         /* (n_q) qwen2 only, else NULL */
    const float *bk;         /* (n_kv) */
    const float *bv;         /* (n_kv) */
    wisp_mat wo;             /* (n_embd, n_q) */
    const float *ffn_norm;   /* (n_embd) */
    wisp_mat w_gate;         /* (n_ff, n_embd) */
    wisp_mat w_up;           /* (n_ff, n_embd) */
    wisp_mat w_down;         /* (n_embd, n_ff) */
} wisp_layer;

/* A norm weight or bias in the file, converted to f32 into `dst` once its bytes have arrived. */
typedef struct wisp_model_vec {
    const wisp_gguf_tensor *t;
    float *dst;               /* (n) inside wisp_model.vecs */
    uint32_t n;
    bool done;
} wisp_model_vec;

struct wisp_model {
    wisp_model_info info;
    wisp_gguf *gguf;          /* owned; borrows the caller's buffer */
    wisp_tokenizer *tok;      /* owned */
    wisp_mat token_embd;      /* (n_vocab rows, n_embd cols): rows are looked up, not multiplied */
    wisp_mat output;          /* (n_vocab, n_embd); the same matrix as token_embd when tied */
    const float *output_norm; /* (n_embd) */
    wisp_layer *layers;       /* (n_layer), owned */
    float *vecs;              /* owned storage behind every f32 vector above */
    char *name;               /* owned copy of general.name */

    /* Progressive loading (wisp_model_load_partial): the file has `size` bytes at `base`, of
     * which the first n_avail have arrived; a tensor is read only once it lies within them. */
    const uint8_t *base;
    size_t size, n_avail;
    size_t head_end;          /* bytes token_embd, output_norm and output need */
    size_t *layer_end;        /* (n_layer) bytes block il needs: the end of its last tensor; owned */
    uint32_t layers_ready;    /* leading blocks within n_avail, 0 until the head is */
    wisp_model_vec *vec_src;  /* (n_vec) where each f32 vector comes from; owned */
    size_t n_vec;
};

/* Copies row `id` of the token embedding into x (n_embd floats). The id must be < n_vocab. */
void wisp_model__embed(const wisp_model *m, int32_t id, float *x);

#endif
