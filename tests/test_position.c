/* Position conversions (grammar/position.c): UTF-8 byte offsets <-> UTF-16 offsets <-> line and
 * column, on raw buffers and on documents, for ASCII, 2/3/4-byte UTF-8, surrogate pairs, CRLF,
 * invalid bytes and positions past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wisp_grammar.h"

static void expect_pos(const wisp_pos *p, size_t u8, size_t u16, size_t line, size_t col_u8, size_t col_u16) {
    if (p->pos_u8 != u8 || p->off_u16 != u16 || p->line != line || p->col_u8 != col_u8 || p->col_u16 != col_u16)
        fail_msg("got u8 %zu u16 %zu line %zu col_u8 %zu col_u16 %zu; want %zu %zu %zu %zu %zu", p->pos_u8,
                 p->off_u16, p->line, p->col_u8, p->col_u16, u8, u16, line, col_u8, col_u16);
}

static void test_ascii(void **state) {
    (void)state;
    const char *t = "ab\ncd\n";
    wisp_pos p;
    assert_int_equal(wisp_text_pos_at_u8(t, 6, 0, &p, NULL), WISP_OK);
    expect_pos(&p, 0, 0, 0, 0, 0);
    assert_int_equal(wisp_text_pos_at_u8(t, 6, 4, &p, NULL), WISP_OK);
    expect_pos(&p, 4, 4, 1, 1, 1);
    assert_int_equal(wisp_text_pos_at_u8(t, 6, 6, &p, NULL), WISP_OK); /* the end: an empty last line */
    expect_pos(&p, 6, 6, 2, 0, 0);
    assert_int_equal(wisp_text_pos_at_u16(t, 6, 5, &p, NULL), WISP_OK);
    expect_pos(&p, 5, 5, 1, 2, 2);
    assert_int_equal(wisp_text_pos_at_line_col(t, 6, 1, 2, WISP_UNIT_U8, &p, NULL), WISP_OK);
    expect_pos(&p, 5, 5, 1, 2, 2);
    assert_int_equal(wisp_text_pos_at_line_col(t, 6, 2, 0, WISP_UNIT_U16, &p, NULL), WISP_OK);
    expect_pos(&p, 6, 6, 2, 0, 0);
}

// "é" is 2 bytes / 1 unit, "€" 3 bytes / 1 unit, "😀" 4 bytes / 2 units (a surrogate pair).
static void test_multibyte(void **state) {
    (void)state;
    const char *t = "a\xc3\xa9" "b\xe2\x82\xac" "c\xf0\x9f\x98\x80" "d"; /* a é b € c 😀 d */
    size_t n = strlen(t);
    assert_int_equal(n, 13);
    struct { size_t u8, u16; } map[] = {{0, 0}, {1, 1}, {3, 2}, {4, 3}, {7, 4}, {8, 5}, {12, 7}, {13, 8}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        wisp_pos p;
        assert_int_equal(wisp_text_pos_at_u8(t, n, map[i].u8, &p, NULL), WISP_OK);
        expect_pos(&p, map[i].u8, map[i].u16, 0, map[i].u8, map[i].u16);
        assert_int_equal(wisp_text_pos_at_u16(t, n, map[i].u16, &p, NULL), WISP_OK);
        expect_pos(&p, map[i].u8, map[i].u16, 0, map[i].u8, map[i].u16);
        assert_int_equal(wisp_text_pos_at_line_col(t, n, 0, map[i].u16, WISP_UNIT_U16, &p, NULL), WISP_OK);
        expect_pos(&p, map[i].u8, map[i].u16, 0, map[i].u8, map[i].u16);
        assert_int_equal(wisp_text_pos_at_line_col(t, n, 0, map[i].u8, WISP_UNIT_U8, &p, NULL), WISP_OK);
        expect_pos(&p, map[i].u8, map[i].u16, 0, map[i].u8, map[i].u16);
    }
    wisp_pos p;
    /* inside a character: the start of that character */
    assert_int_equal(wisp_text_pos_at_u8(t, n, 2, &p, NULL), WISP_OK);
    expect_pos(&p, 1, 1, 0, 1, 1);
    assert_int_equal(wisp_text_pos_at_u8(t, n, 10, &p, NULL), WISP_OK);
    expect_pos(&p, 8, 5, 0, 8, 5);
    /* between the halves of the surrogate pair */
    assert_int_equal(wisp_text_pos_at_u16(t, n, 6, &p, NULL), WISP_OK);
    expect_pos(&p, 8, 5, 0, 8, 5);
    /* the end */
    assert_int_equal(wisp_text_pos_at_u8(t, n, 14, &p, NULL), WISP_ERR_RANGE);
    assert_int_equal(wisp_text_pos_at_u16(t, n, 9, &p, NULL), WISP_ERR_RANGE);
}

static void test_crlf(void **state) {
    (void)state;
    const char *t = "ab\r\nc\xc3\xa9\r\n\r\nx"; /* "ab" CRLF "cé" CRLF "" CRLF "x" */
    size_t n = strlen(t);
    wisp_pos p;
    assert_int_equal(wisp_text_pos_at_u8(t, n, 4, &p, NULL), WISP_OK);
    expect_pos(&p, 4, 4, 1, 0, 0);
    assert_int_equal(wisp_text_pos_at_u8(t, n, 2, &p, NULL), WISP_OK); /* before "\r": line end */
    expect_pos(&p, 2, 2, 0, 2, 2);
    assert_int_equal(wisp_text_pos_at_u8(t, n, 3, &p, NULL), WISP_OK); /* between "\r" and "\n" */
    expect_pos(&p, 2, 2, 0, 2, 2);
    assert_int_equal(wisp_text_pos_at_line_col(t, n, 1, 2, WISP_UNIT_U16, &p, NULL), WISP_OK);
    expect_pos(&p, 7, 6, 1, 3, 2);
    assert_int_equal(wisp_text_pos_at_line_col(t, n, 2, 0, WISP_UNIT_U8, &p, NULL), WISP_OK);
    expect_pos(&p, 9, 8, 2, 0, 0);
    assert_int_equal(wisp_text_pos_at_line_col(t, n, 3, 1, WISP_UNIT_U8, &p, NULL), WISP_OK);
    expect_pos(&p, 12, 11, 3, 1, 1);
    /* the "\r" is not part of the line: column 3 of "ab\r\n" is out of range */
    wisp_error err = {0};
    assert_int_equal(wisp_text_pos_at_line_col(t, n, 0, 3, WISP_UNIT_U8, &p, &err), WISP_ERR_RANGE);
    /* a lone "\r" is an ordinary character */
    assert_int_equal(wisp_text_pos_at_line_col("a\rb", 3, 0, 3, WISP_UNIT_U8, &p, NULL), WISP_OK);
    expect_pos(&p, 3, 3, 0, 3, 3);
}

// Each invalid byte counts one UTF-16 unit: a stray continuation, a truncated sequence, an
// overlong form, an encoded surrogate, a byte that never starts a sequence, a NUL.
static void test_invalid_utf8(void **state) {
    (void)state;
    const char t[] = "\x80" "\xe2\x82" "\xc0\xaf" "\xed\xa0\x80" "\xff" "\0" "z";
    size_t n = sizeof t - 1; /* 12 bytes, each its own unit */
    wisp_pos p;
    for (size_t i = 0; i <= n; i++) {
        assert_int_equal(wisp_text_pos_at_u8(t, n, i, &p, NULL), WISP_OK);
        expect_pos(&p, i, i, 0, i, i);
        assert_int_equal(wisp_text_pos_at_u16(t, n, i, &p, NULL), WISP_OK);
        expect_pos(&p, i, i, 0, i, i);
    }
    /* a 4-byte sequence cut short at the end of the buffer */
    assert_int_equal(wisp_text_pos_at_u16("\xf0\x9f\x98", 3, 3, &p, NULL), WISP_OK);
    expect_pos(&p, 3, 3, 0, 3, 3);
}

static void test_out_of_range(void **state) {
    (void)state;
    const char *t = "ab\n\xf0\x9f\x98\x80\n"; /* units: a b \n (pair) \n = 6 */
    size_t n = strlen(t);
    wisp_pos p;
    wisp_error err = {0};
    assert_int_equal(wisp_text_pos_at_u8(t, n, n + 1, &p, &err), WISP_ERR_RANGE);
    assert_non_null(strstr(err.message, "past the end"));
    assert_int_equal(wisp_text_pos_at_u16(t, n, 6, &p, NULL), WISP_OK);
    assert_int_equal(wisp_text_pos_at_u16(t, n, 7, &p, NULL), WISP_ERR_RANGE);
    assert_int_equal(wisp_text_pos_at_line_col(t, n, 3, 0, WISP_UNIT_U8, &p, NULL), WISP_ERR_RANGE);
    assert_int_equal(wisp_text_pos_at_line_col(t, n, 2, 0, WISP_UNIT_U8, &p, NULL), WISP_OK);
    assert_int_equal(wisp_text_pos_at_line_col(t, n, 2, 1, WISP_UNIT_U8, &p, NULL), WISP_ERR_RANGE);
    assert_int_equal(wisp_text_pos_at_line_col(t, n, 1, 4, WISP_UNIT_U8, &p, NULL), WISP_OK);
    assert_int_equal(wisp_text_pos_at_line_col(t, n, 1, 5, WISP_UNIT_U8, &p, NULL), WISP_ERR_RANGE);
    assert_int_equal(wisp_text_pos_at_line_col(t, n, 1, 2, WISP_UNIT_U16, &p, NULL), WISP_OK);
    assert_int_equal(wisp_text_pos_at_line_col(t, n, 1, 3, WISP_UNIT_U16, &p, NULL), WISP_ERR_RANGE);
    assert_int_equal(wisp_text_pos_at_line_col(t, n, 0, 0, (wisp_unit)7, &p, NULL), WISP_ERR_INVALID_ARG);
    assert_int_equal(wisp_text_pos_at_u8(t, n, 0, NULL, NULL), WISP_ERR_INVALID_ARG);
    /* the empty text has one empty line */
    assert_int_equal(wisp_text_pos_at_u8("", 0, 0, &p, NULL), WISP_OK);
    expect_pos(&p, 0, 0, 0, 0, 0);
    assert_int_equal(wisp_text_pos_at_line_col(NULL, 0, 0, 0, WISP_UNIT_U16, &p, NULL), WISP_OK);
    assert_int_equal(wisp_text_pos_at_u16("", 0, 1, &p, NULL), WISP_ERR_RANGE);
}

// Random texts: the document (line index) and raw-buffer paths agree everywhere, and every
// conversion round-trips.
static void test_random_agree(void **state) {
    (void)state;
    static const char *const pieces[] = {"a", "b", " ", "\n", "\r\n", "\r", "\t", "\xc3\xa9", "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80", "\x80", "\xe2\x82", "\0"};
    srand(1234);
    wisp_docs *docs = wisp_docs_new();
    for (int round = 0; round < 60; round++) {
        char buf[512];
        size_t n = 0;
        int k = rand() % 80;
        for (int i = 0; i < k; i++) {
            const char *pc = pieces[rand() % (sizeof pieces / sizeof pieces[0])];
            size_t pl = pc[0] ? strlen(pc) : 1;
            memcpy(buf + n, pc, pl);
            n += pl;
        }
        char uri[32];
        snprintf(uri, sizeof uri, "r%d.py", round);
        wisp_doc *doc = wisp_doc_open(docs, uri, WISP_LANG_PYTHON, buf, n, NULL);
        assert_non_null(doc);
        size_t last_u16 = 0;
        for (size_t i = 0; i <= n; i++) {
            wisp_pos a, b, c, d;
            assert_int_equal(wisp_text_pos_at_u8(buf, n, i, &a, NULL), WISP_OK);
            assert_int_equal(wisp_doc_pos_at_u8(doc, i, &b, NULL), WISP_OK);
            assert_memory_equal(&a, &b, sizeof a);
            assert_int_equal(wisp_doc_pos_at_u16(doc, a.off_u16, &c, NULL), WISP_OK);
            assert_memory_equal(&a, &c, sizeof a);
            assert_int_equal(wisp_doc_pos_at_line_col(doc, a.line, a.col_u8, WISP_UNIT_U8, &d, NULL), WISP_OK);
            assert_memory_equal(&a, &d, sizeof a);
            assert_int_equal(wisp_text_pos_at_line_col(buf, n, a.line, a.col_u16, WISP_UNIT_U16, &d, NULL), WISP_OK);
            assert_memory_equal(&a, &d, sizeof a);
            assert_true(a.off_u16 >= last_u16);
            last_u16 = a.off_u16;
        }
        wisp_pos e;
        assert_int_equal(wisp_doc_pos_at_u8(doc, n + 1, &e, NULL), WISP_ERR_RANGE);
        assert_int_equal(wisp_doc_pos_at_u16(doc, last_u16 + 1, &e, NULL), WISP_ERR_RANGE);
        wisp_doc_close(doc);
    }
    wisp_docs_free(docs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascii),
        cmocka_unit_test(test_multibyte),
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_random_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
