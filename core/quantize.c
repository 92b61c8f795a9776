/*
 * The quantizer (wisp.h section 6): rewrites a GGUF file with its weight matrices in another
 * type, using the reference row quantizers of core/quant.c, so that `wisp quantize` needs no
 * llama.cpp and the files it writes load in llama.cpp.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gguf.h"
#include "quant.h"

#define QUANTIZE__ALIGNMENT 32
#define QUANTIZE__PAD(n) (((n) + QUANTIZE__ALIGNMENT - 1) / QUANTIZE__ALIGNMENT * \
                          QUANTIZE__ALIGNMENT)

/* llama.cpp's LLAMA_FTYPE numbers for general.file_type. */
enum {
    QUANTIZE__FTYPE_ALL_F32 = 0,
    QUANTIZE__FTYPE_MOSTLY_F16 = 1,
    QUANTIZE__FTYPE_MOSTLY_Q4_0 = 2,
    QUANTIZE__FTYPE_MOSTLY_Q8_0 = 7,
};

/* What happens to one tensor: its output type and size, where its data goes. */
typedef struct quantize__plan {
    wisp_dtype out_type;
    uint64_t out_bytes;
    uint64_t out_offset; /* relative to the output's data section */
} quantize__plan;

static bool quantize__ends_with(wisp_str s, const char *suffix) {
    size_t n = strlen(suffix);
    return s.len >= n && !memcmp(s.ptr + s.len - n, suffix, n);
}

static bool quantize__contains(wisp_str s, const char *needle) {
    size_t n = strlen(needle);
    for (uint64_t i = 0; i + n <= s.len; i++)
        if (!memcmp(s.ptr + i, needle, n)) return true;
    return false;
}

static bool quantize__is_float(wisp_dtype t) {
    return t == WISP_DTYPE_F32 || t == WISP_DTYPE_F16 || t == WISP_DTYPE_BF16;
}

/* The output type of one tensor: 2-D float weight matrices (not norms) whose rows split into
 * whole blocks go to `target`; 1-D float tensors (norms, biases) become F32; quantized tensors
 * are dequantized when the target is a float type (`wisp quantize IN OUT f32` undoes a
 * quantization) and otherwise kept, never requantized (that would round twice); odd widths and
 * empty tensors are copied unchanged. */
static wisp_dtype quantize__choose(const wisp_gguf_tensor *t, wisp_dtype target) {
    if (t->size == 0) return t->type; /* empty: nothing to do */
    if (!quantize__is_float(t->type))
        return quantize__is_float(target) && wisp_row_bytes(t->type, t->ne[0]) ? target : t->type;
    if (t->n_dims == 1) return WISP_DTYPE_F32;
    if (t->n_dims != 2 || !quantize__ends_with(t->name, ".weight") ||
        quantize__contains(t->name, "norm"))
        return t->type;
    if (t->ne[0] % wisp_dtype_block_elems(target)) return t->type;
    return target;
}

static uint32_t quantize__ftype(wisp_dtype target) {
    switch (target) {
    case WISP_DTYPE_F16: return QUANTIZE__FTYPE_MOSTLY_F16;
    case WISP_DTYPE_Q4_0: return QUANTIZE__FTYPE_MOSTLY_Q4_0;
    case WISP_DTYPE_Q8_0: return QUANTIZE__FTYPE_MOSTLY_Q8_0;
    default: return QUANTIZE__FTYPE_ALL_F32;
    }
}

static uint8_t *quantize__put(uint8_t *p, const void *src, size_t n) {
    memcpy(p, src, n);
    return p + n;
}

/* Bytes of the general.file_type record we write: key string, type, uint32 value. */
static uint64_t quantize__ftype_record_bytes(void) {
    return 8 + strlen("general.file_type") + 4 + 4;
}

static uint8_t *quantize__put_ftype(uint8_t *p, uint32_t ftype) {
    uint64_t klen = strlen("general.file_type");
    uint32_t vtype = WISP_GGUF_UINT32;
    p = quantize__put(p, &klen, 8);
    p = quantize__put(p, "general.file_type", klen);
    p = quantize__put(p, &vtype, 4);
    return quantize__put(p, &ftype, 4);
}

/* Converts one tensor row by row: source floats -> f32 scratch -> target encoding. `scratch`
 * holds 2 * ne[0] floats: the converted row, then an aligned copy of a source row that sits at a
 * misaligned address (a file with general.alignment 1 or 2). */
static bool quantize__convert(const wisp_gguf_tensor *t, wisp_dtype out_type, uint8_t *dst,
                              float *scratch, wisp_error *err) {
    float *row_f32 = scratch, *row_in = scratch + t->ne[0];
    uint64_t n0 = t->ne[0], n_rows = t->ne[1] * t->ne[2] * t->ne[3];
    size_t in_row = wisp_row_bytes(t->type, n0), out_row = wisp_row_bytes(out_type, n0);
    const uint8_t *src = t->data;
    for (uint64_t r = 0; r < n_rows; r++, src += in_row, dst += out_row) {
        const void *row_src = src;
        if ((uintptr_t)src % sizeof(float)) {
            memcpy(row_in, src, in_row);
            row_src = row_in;
        }
        if (!wisp_dequantize_row(t->type, row_src, row_f32, n0)) {
            wisp__fail(err, WISP_ERR_UNSUPPORTED, "tensor %.*s: cannot convert from %s",
                       (int)t->name.len, t->name.ptr, wisp_dtype_name(t->type));
            return false;
        }
        switch (out_type) {
        case WISP_DTYPE_F32: memcpy(dst, row_f32, n0 * sizeof(float)); break;
        case WISP_DTYPE_F16:
            for (uint64_t i = 0; i < n0; i++) {
                wisp_f16 h = wisp_f32_to_f16(row_f32[i]);
                memcpy(dst + 2 * i, &h, 2);
            }
            break;
        case WISP_DTYPE_Q8_0: wisp_quantize_row_q8_0(row_f32, (block_q8_0 *)dst, n0); break;
        case WISP_DTYPE_Q4_0: wisp_quantize_row_q4_0(row_f32, (block_q4_0 *)dst, n0); break;
        default:
            wisp__fail(err, WISP_ERR_UNSUPPORTED, "tensor %.*s: cannot convert to %s",
                       (int)t->name.len, t->name.ptr, wisp_dtype_name(out_type));
            return false;
        }
    }
    return true;
}

/*
 * Layout of the output: GGUF v3; the input's metadata records copied byte for byte except
 * general.alignment (dropped: the output uses the default 32) and general.file_type (rewritten,
 * or appended when absent); the tensor table in the input's order; each tensor's data at the
 * next multiple of 32. token_embd.weight and output.weight are converted to the target like any
 * other matrix: llama.cpp reads Q8_0/Q4_0 embeddings (get_rows) and outputs, and one type per
 * file keeps the size and the kernels simple. Writing blocks through block_q8_0 / block_q4_0
 * pointers is safe: every tensor starts at a multiple of 32 inside a malloc'd buffer.
 * Owns nothing of the input; the returned buffer is the caller's (free()).
 */
void *wisp_quantize_gguf(const void *in, size_t in_size, wisp_dtype type, size_t *out_size,
                         wisp_error *err) {
    wisp__clear(err);
    if (!in || !out_size) {
        wisp__fail(err, WISP_ERR_INVALID_ARG, "wisp_quantize_gguf: NULL input or out_size");
        return NULL;
    }
    if (type != WISP_DTYPE_Q8_0 && type != WISP_DTYPE_Q4_0 && type != WISP_DTYPE_F16 &&
        type != WISP_DTYPE_F32) {
        wisp__fail(err, WISP_ERR_INVALID_ARG,
                   "cannot quantize to %s (type %d): only q8_0, q4_0, f16 and f32",
                   wisp_dtype_name(type) ? wisp_dtype_name(type) : "unknown", (int)type);
        return NULL;
    }
    wisp_gguf *g = wisp_gguf_open(in, in_size, err);
    if (!g) return NULL;
    int64_t n_kv = wisp_gguf_n_kv(g), n_tensors = wisp_gguf_n_tensors(g);
    int64_t i_align = wisp_gguf_find(g, "general.alignment");
    int64_t i_ftype = wisp_gguf_find(g, "general.file_type");
    quantize__plan *plan = calloc((size_t)n_tensors + 1, sizeof *plan);
    uint8_t *out = NULL;
    float *row_f32 = NULL;
    if (!plan) goto no_memory;

    /* sizes first: header, kv records, tensor infos, padding, data */
    uint64_t n_kv_out = (uint64_t)n_kv - (i_align >= 0) + (i_ftype < 0);
    uint64_t meta = 4 + 4 + 8 + 8, data = 0, max_row = 0;
    for (int64_t i = 0; i < n_kv; i++) {
        const void *raw;
        uint64_t len;
        wisp_gguf__kv_raw(g, i, &raw, &len);
        if (i == i_align) continue;
        meta += i == i_ftype ? quantize__ftype_record_bytes() : len;
    }
    if (i_ftype < 0) meta += quantize__ftype_record_bytes();
    for (int64_t i = 0; i < n_tensors; i++) {
        const wisp_gguf_tensor *t = wisp_gguf_tensor_at(g, i);
        quantize__plan *p = &plan[i];
        p->out_type = quantize__choose(t, type);
        uint64_t n_rows = t->ne[1] * t->ne[2] * t->ne[3]; /* no overflow: the input holds them */
        p->out_bytes = p->out_type == t->type ? t->size
                                              : wisp_row_bytes(p->out_type, t->ne[0]) * n_rows;
        p->out_offset = data;
        data += QUANTIZE__PAD(p->out_bytes);
        if (p->out_type != t->type && t->ne[0] > max_row) max_row = t->ne[0];
        meta += 8 + t->name.len + 4 + 8 * (uint64_t)t->n_dims + 4 + 8;
    }
    uint64_t data_start = QUANTIZE__PAD(meta);
    uint64_t total = data_start + data;
    if (total > SIZE_MAX || max_row > SIZE_MAX / (2 * sizeof(float))) goto no_memory;
    out = calloc(1, (size_t)total);
    row_f32 = malloc((size_t)(max_row ? max_row : 1) * 2 * sizeof(float));
    if (!out || !row_f32) goto no_memory;

    /* header and metadata */
    uint8_t *p = out;
    uint32_t version = 3;
    uint64_t nt = (uint64_t)n_tensors;
    p = quantize__put(p, "GGUF", 4);
    p = quantize__put(p, &version, 4);
    p = quantize__put(p, &nt, 8);
    p = quantize__put(p, &n_kv_out, 8);
    for (int64_t i = 0; i < n_kv; i++) {
        const void *raw;
        uint64_t len;
        wisp_gguf__kv_raw(g, i, &raw, &len);
        if (i == i_align) continue;
        p = i == i_ftype ? quantize__put_ftype(p, quantize__ftype(type))
                         : quantize__put(p, raw, (size_t)len);
    }
    if (i_ftype < 0) p = quantize__put_ftype(p, quantize__ftype(type));
    /* tensor table */
    for (int64_t i = 0; i < n_tensors; i++) {
        const wisp_gguf_tensor *t = wisp_gguf_tensor_at(g, i);
        uint32_t n_dims = t->n_dims, ot = (uint32_t)plan[i].out_type;
        p = quantize__put(p, &t->name.len, 8);
        p = quantize__put(p, t->name.ptr, (size_t)t->name.len);
        p = quantize__put(p, &n_dims, 4);
        p = quantize__put(p, t->ne, 8 * (size_t)n_dims);
        p = quantize__put(p, &ot, 4);
        p = quantize__put(p, &plan[i].out_offset, 8);
    }
    /* data */
    for (int64_t i = 0; i < n_tensors; i++) {
        const wisp_gguf_tensor *t = wisp_gguf_tensor_at(g, i);
        uint8_t *dst = out + data_start + plan[i].out_offset;
        if (plan[i].out_type == t->type) memcpy(dst, t->data, (size_t)t->size);
        else if (!quantize__convert(t, plan[i].out_type, dst, row_f32, err)) goto fail;
    }
    free(row_f32);
    free(plan);
    wisp_gguf_free(g);
    *out_size = (size_t)total;
    return out;
no_memory:
    wisp__fail(err, WISP_ERR_NO_MEMORY, "no memory for the quantized file");
fail:
    free(row_f32);
    free(out);
    free(plan);
    wisp_gguf_free(g);
    return NULL;
}
