/* Positions: the one place that converts UTF-8 byte offsets <-> UTF-16 code unit offsets <->
 * 0-based line/column, for raw buffers and (through a line index) for documents. */
#include "position.h"

#include <stdlib.h>

#include "error.h"
#include "utf8.h"

size_t wisp__char_len(const unsigned char *p, size_t n) {
    if (p[0] == '\r') return n >= 2 && p[1] == '\n' ? 2 : 1;
    size_t k = wisp__utf8_len(p, n);
    return k ? k : 1; /* a bad byte is a character of its own */
}

size_t wisp__char_u16(const unsigned char *p, size_t char_len) {
    if (char_len == 4) return 2;
    if (char_len == 2 && p[0] == '\r') return 2;
    return 1;
}

/* A scan in progress: where it is, in every unit at once. */
typedef struct pos__walk {
    size_t i, u16, line, line_u8, line_u16;
} pos__walk;

// Advances `w` one character at a time until the next character would pass stop_u8 or stop_u16,
// or a new line number stop_line is reached, or the text ends. Stopping inside a character
// therefore floors to its start.
static void pos__advance(const char *text, size_t len, pos__walk *w, size_t stop_u8,
                         size_t stop_u16, size_t stop_line) {
    const unsigned char *p = (const unsigned char *)text;
    while (w->i < len && w->i < stop_u8 && w->u16 < stop_u16 && w->line < stop_line) {
        size_t n = wisp__char_len(p + w->i, len - w->i);
        size_t u = wisp__char_u16(p + w->i, n);
        if (w->i + n > stop_u8 || w->u16 + u > stop_u16) break;
        w->i += n;
        w->u16 += u;
        if (p[w->i - 1] == '\n') {
            w->line++;
            w->line_u8 = w->i;
            w->line_u16 = w->u16;
        }
    }
}

static void pos__fill(const pos__walk *w, wisp_pos *out) {
    out->pos_u8 = w->i;
    out->off_u16 = w->u16;
    out->line = w->line;
    out->col_u8 = w->i - w->line_u8;
    out->col_u16 = w->u16 - w->line_u16;
}

// Starts a walk at the beginning of `line` (from the index) or of the text.
static pos__walk pos__at_line(const wisp__line_index *index, size_t line) {
    pos__walk w = {0, 0, 0, 0, 0};
    if (index && line < index->n_lines) {
        w.i = w.line_u8 = index->starts_u8[line];
        w.u16 = w.line_u16 = index->starts_u16[line];
        w.line = line;
    }
    return w;
}

// The last line whose start (in bytes, or in UTF-16 units when by_u16) is <= target.
static size_t pos__bsearch(const wisp__line_index *index, size_t target, int by_u16) {
    const size_t *a = by_u16 ? index->starts_u16 : index->starts_u8;
    size_t lo = 0, hi = index->n_lines; /* answer in [lo, hi) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] <= target) lo = mid;
        else hi = mid;
    }
    return lo;
}

wisp_status wisp__line_index_build(wisp__line_index *index, const char *text, size_t len) {
    size_t n = 1;
    for (size_t i = 0; i < len; i++) n += text[i] == '\n';
    if (n > index->cap) {
        size_t *a = realloc(index->starts_u8, n * sizeof *a);
        if (!a) return WISP_ERR_NO_MEMORY;
        index->starts_u8 = a;
        size_t *b = realloc(index->starts_u16, n * sizeof *b);
        if (!b) return WISP_ERR_NO_MEMORY;
        index->starts_u16 = b;
        index->cap = n;
    }
    const unsigned char *p = (const unsigned char *)text;
    size_t line = 0, u16 = 0, i = 0;
    index->starts_u8[0] = index->starts_u16[0] = 0;
    while (i < len) {
        size_t c;
        if (p[i] < 0x80 && p[i] != '\r') c = 1;
        else c = wisp__char_len(p + i, len - i);
        u16 += c == 1 ? 1 : wisp__char_u16(p + i, c);
        i += c;
        if (p[i - 1] == '\n') {
            line++;
            index->starts_u8[line] = i;
            index->starts_u16[line] = u16;
        }
    }
    index->n_lines = n;
    return WISP_OK;
}

void wisp__line_index_free(wisp__line_index *index) {
    free(index->starts_u8);
    free(index->starts_u16);
    index->starts_u8 = index->starts_u16 = NULL;
    index->n_lines = index->cap = 0;
}

wisp_status wisp__pos_at_u8(const char *text, size_t len, const wisp__line_index *index,
                            size_t pos_u8, wisp_pos *out, wisp_error *err) {
    if (!out || (!text && len)) return wisp__fail(err, WISP_ERR_INVALID_ARG, "NULL text or output");
    if (pos_u8 > len)
        return wisp__fail(err, WISP_ERR_RANGE, "byte offset %zu is past the end of the text (%zu bytes)",
                          pos_u8, len);
    pos__walk w = pos__at_line(index, index ? pos__bsearch(index, pos_u8, 0) : 0);
    pos__advance(text, len, &w, pos_u8, SIZE_MAX, SIZE_MAX);
    pos__fill(&w, out);
    return WISP_OK;
}

wisp_status wisp__pos_at_u16(const char *text, size_t len, const wisp__line_index *index,
                             size_t off_u16, wisp_pos *out, wisp_error *err) {
    if (!out || (!text && len)) return wisp__fail(err, WISP_ERR_INVALID_ARG, "NULL text or output");
    pos__walk w = pos__at_line(index, index ? pos__bsearch(index, off_u16, 1) : 0);
    pos__advance(text, len, &w, SIZE_MAX, off_u16, SIZE_MAX);
    if (w.u16 < off_u16 && w.i >= len)
        return wisp__fail(err, WISP_ERR_RANGE,
                          "UTF-16 offset %zu is past the end of the text (%zu units)", off_u16, w.u16);
    pos__fill(&w, out);
    return WISP_OK;
}

wisp_status wisp__pos_at_line_col(const char *text, size_t len, const wisp__line_index *index,
                                  size_t line, size_t col, wisp_unit unit, wisp_pos *out,
                                  wisp_error *err) {
    if (!out || (!text && len)) return wisp__fail(err, WISP_ERR_INVALID_ARG, "NULL text or output");
    if (unit != WISP_UNIT_U8 && unit != WISP_UNIT_U16)
        return wisp__fail(err, WISP_ERR_INVALID_ARG, "unknown column unit %d", (int)unit);
    pos__walk w;
    if (index) {
        if (line >= index->n_lines)
            return wisp__fail(err, WISP_ERR_RANGE, "line %zu is past the last line (%zu lines)",
                              line, index->n_lines);
        w = pos__at_line(index, line);
    } else {
        w = pos__at_line(NULL, 0);
        pos__advance(text, len, &w, SIZE_MAX, SIZE_MAX, line);
        if (w.line < line)
            return wisp__fail(err, WISP_ERR_RANGE, "line %zu is past the last line (%zu lines)",
                              line, w.line + 1);
    }
    size_t end = w.i; /* the end of the line's content: before "\n" or "\r\n" */
    while (end < len && text[end] != '\n') end++;
    if (end > w.i && end < len && text[end - 1] == '\r') end--; /* a final lone "\r" is content */
    if (unit == WISP_UNIT_U8) {
        if (col > end - w.i)
            return wisp__fail(err, WISP_ERR_RANGE, "column %zu is past the end of line %zu (%zu bytes)",
                              col, line, end - w.i);
        pos__advance(text, end, &w, w.i + col, SIZE_MAX, SIZE_MAX);
    } else {
        size_t target = w.u16 + col;
        pos__advance(text, end, &w, SIZE_MAX, target, SIZE_MAX);
        if (w.u16 < target && w.i >= end)
            return wisp__fail(err, WISP_ERR_RANGE,
                              "UTF-16 column %zu is past the end of line %zu (%zu units)", col, line,
                              w.u16 - w.line_u16);
    }
    pos__fill(&w, out);
    return WISP_OK;
}

wisp_status wisp_text_pos_at_u8(const char *text, size_t len, size_t pos_u8, wisp_pos *out,
                                wisp_error *err) {
    return wisp__pos_at_u8(text, len, NULL, pos_u8, out, err);
}

wisp_status wisp_text_pos_at_u16(const char *text, size_t len, size_t off_u16, wisp_pos *out,
                                 wisp_error *err) {
    return wisp__pos_at_u16(text, len, NULL, off_u16, out, err);
}

wisp_status wisp_text_pos_at_line_col(const char *text, size_t len, size_t line, size_t col,
                                      wisp_unit unit, wisp_pos *out, wisp_error *err) {
    return wisp__pos_at_line_col(text, len, NULL, line, col, unit, out, err);
}
