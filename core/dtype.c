/* Tensor element types: names and block geometry, the one table the reader, the model loader,
 * the quantizer and `wisp info` share. Numbers and layouts follow ggml so files interoperate. */
#include "wisp.h"

typedef struct dtype__info {
    wisp_dtype type;
    const char *name;
    size_t block_elems;
    size_t block_bytes;
} dtype__info;

static const dtype__info dtype__table[] = {
    {WISP_DTYPE_F32, "f32", 1, 4},
    {WISP_DTYPE_F16, "f16", 1, 2},
    {WISP_DTYPE_Q4_0, "q4_0", 32, 18},
    {WISP_DTYPE_Q8_0, "q8_0", 32, 34},
    {WISP_DTYPE_Q4_K, "q4_K", 256, 144},
    {WISP_DTYPE_Q6_K, "q6_K", 256, 210},
    {WISP_DTYPE_BF16, "bf16", 1, 2},
};

static const dtype__info *dtype__find(wisp_dtype type) {
    for (size_t i = 0; i < sizeof dtype__table / sizeof dtype__table[0]; i++)
        if (dtype__table[i].type == type) return &dtype__table[i];
    return NULL;
}

const char *wisp_dtype_name(wisp_dtype type) {
    const dtype__info *d = dtype__find(type);
    return d ? d->name : NULL;
}

size_t wisp_dtype_block_bytes(wisp_dtype type) {
    const dtype__info *d = dtype__find(type);
    return d ? d->block_bytes : 0;
}

size_t wisp_dtype_block_elems(wisp_dtype type) {
    const dtype__info *d = dtype__find(type);
    return d ? d->block_elems : 0;
}
