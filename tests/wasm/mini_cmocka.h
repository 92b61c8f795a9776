/*
 * The few cmocka entry points tests/test_kernels.c uses, for builds where cmocka is not available
 * (Emscripten: scripts/test-wasm-kernels.sh compiles the same test source with -DWISP_MINI_CMOCKA
 * and runs it under node). Same output conventions: "[  PASSED  ] N test(s)." on success, a
 * non-zero exit status when any test fails.
 */
#ifndef WISP_MINI_CMOCKA_H
#define WISP_MINI_CMOCKA_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

struct CMUnitTest {
    const char *name;
    void (*fn)(void **state);
};

static jmp_buf mini__jmp;

static void mini__fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[   ERROR  ] ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n%s:%d: failure\n", file, line);
    va_end(ap);
    longjmp(mini__jmp, 1);
}

#define cmocka_unit_test(f) {#f, f}
#define print_message(...) fprintf(stderr, __VA_ARGS__)
#define fail_msg(...) mini__fail(__FILE__, __LINE__, __VA_ARGS__)
#define assert_true(c) \
    do { if (!(c)) mini__fail(__FILE__, __LINE__, "%s", #c); } while (0)
#define assert_false(c) assert_true(!(c))
#define assert_int_equal(a, b)                                                               \
    do {                                                                                     \
        long long mini_a = (long long)(a), mini_b = (long long)(b);                          \
        if (mini_a != mini_b)                                                                \
            mini__fail(__FILE__, __LINE__, "%lld != %lld (%s, %s)", mini_a, mini_b, #a, #b); \
    } while (0)

static int mini__run(const struct CMUnitTest *tests, size_t n) {
    int failed = 0;
    fprintf(stderr, "[==========] Running %zu test(s).\n", n);
    for (size_t i = 0; i < n; i++) {
        fprintf(stderr, "[ RUN      ] %s\n", tests[i].name);
        if (setjmp(mini__jmp) == 0) {
            tests[i].fn(NULL);
            fprintf(stderr, "[       OK ] %s\n", tests[i].name);
        } else {
            fprintf(stderr, "[  FAILED  ] %s\n", tests[i].name);
            failed++;
        }
    }
    if (failed) fprintf(stderr, "[  FAILED  ] %d test(s).\n", failed);
    else fprintf(stderr, "[  PASSED  ] %zu test(s).\n", n);
    return failed;
}

#define cmocka_run_group_tests(tests, setup, teardown) \
    mini__run(tests, sizeof(tests) / sizeof((tests)[0]))

#endif
