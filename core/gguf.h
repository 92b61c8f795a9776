/* Internal: what the quantizer and the model loader need from the GGUF reader beyond wisp.h (raw
 * key/value records, files still arriving). */
#ifndef WISP_GGUF_H
#define WISP_GGUF_H

#include "wisp.h"

#define WISP_GGUF_MAGIC 0x46554747u /* "GGUF" read as a little-endian uint32 */
#define WISP_GGUF_DEFAULT_ALIGNMENT 32

/* The bytes of kv record i exactly as stored in the file: key (length-prefixed), value type and
 * value. Borrowed from the buffer. Returns false for an index out of range. */
bool wisp_gguf__kv_raw(const wisp_gguf *self, int64_t i, const void **ptr, uint64_t *len);

/*
 * wisp_gguf_open over a file of which only the first `n_avail` of `size` bytes have arrived (a
 * download in progress): the header, metadata and tensor table must lie within them, else
 * NULL + WISP_ERR_LOADING (a malformed file is still WISP_ERR_BAD_MODEL: counts, lengths and
 * tensor data are checked against `size`). No byte at or past n_avail is read; tensor data
 * pointers may point there, and the caller reads a tensor only once its bytes have arrived.
 */
wisp_gguf *wisp_gguf__open_partial(const void *data, size_t size, size_t n_avail, wisp_error *err);

/* Where the aligned data section starts, in bytes from the start of the file. */
uint64_t wisp_gguf__data_offset(const wisp_gguf *self);

#endif
