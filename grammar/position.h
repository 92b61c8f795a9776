/* Internal: UTF-8 / UTF-16 / line-column conversions shared by the text and document variants.
 * The public entry points are wisp_text_pos_* and wisp_doc_pos_* in wisp_grammar.h. */
#ifndef WISP_POSITION_H
#define WISP_POSITION_H

#include <stddef.h>

#include "wisp_grammar.h"

/* Length in bytes of the character starting at p (n bytes left, n >= 1): 1..4 for a valid UTF-8
 * sequence, 1 for a byte that does not start one; "\r\n" counts as one 2-byte character. */
size_t wisp__char_len(const unsigned char *p, size_t n);
/* UTF-16 code units of a character of `char_len` bytes starting at p (2 for a 4-byte sequence). */
size_t wisp__char_u16(const unsigned char *p, size_t char_len);

/* Where each line starts: starts_u8[i] and starts_u16[i] for lines 0..n_lines-1. */
typedef struct wisp__line_index {
    size_t *starts_u8;
    size_t *starts_u16;
    size_t n_lines;  /* >= 1 */
    size_t cap;
} wisp__line_index;

/* Rebuilds `index` for the text (reusing its arrays). WISP_ERR_NO_MEMORY on failure, in which
 * case the index is left as it was. */
wisp_status wisp__line_index_build(wisp__line_index *index, const char *text, size_t len);
void wisp__line_index_free(wisp__line_index *index);

/* The conversions over an index (NULL index: computed by scanning the text from its start). */
wisp_status wisp__pos_at_u8(const char *text, size_t len, const wisp__line_index *index,
                            size_t pos_u8, wisp_pos *out, wisp_error *err);
wisp_status wisp__pos_at_u16(const char *text, size_t len, const wisp__line_index *index,
                             size_t off_u16, wisp_pos *out, wisp_error *err);
wisp_status wisp__pos_at_line_col(const char *text, size_t len, const wisp__line_index *index,
                                  size_t line, size_t col, wisp_unit unit, wisp_pos *out,
                                  wisp_error *err);

#endif
