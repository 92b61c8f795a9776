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
};

/* Copies row `id` of the token embedding into x (n_embd floats). The id must be < n_vocab. */
void wisp_model__embed(const wisp_model *m, int32_t id, float *x);

#endif
