/* Internal: what the quantizer needs from the GGUF reader beyond wisp.h (raw key/value records). */
#ifndef WISP_GGUF_H
#define WISP_GGUF_H

#include "wisp.h"

#define WISP_GGUF_MAGIC 0x46554747u /* "GGUF" read as a little-endian uint32 */
#define WISP_GGUF_DEFAULT_ALIGNMENT 32

/* The bytes of kv record i exactly as stored in the file: key (length-prefixed), value type and
 * value. Borrowed from the buffer. Returns false for an index out of range. */
bool wisp_gguf__kv_raw(const wisp_gguf *self, int64_t i, const void **ptr, uint64_t *len);

#endif
