/*
 * `wisp info` and `wisp quantize` end to end: runs the built CLI ($WISP_BUILD_DIR/wisp, set by
 * ctest) on fixtures/gguf/tiny-f32.gguf and on broken files, checking exit codes, what is printed
 * and the file that quantize writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "read_file.h"
#include "wisp.h"

#define FIXTURE "fixtures/gguf/tiny-f32.gguf"

/* Runs `wisp ARGS` (stderr folded into stdout); returns the exit status and the output in *out
 * (malloc'd, NUL-terminated). */
static int run_wisp(const char *args, char **out) {
    const char *dir = getenv("WISP_BUILD_DIR");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s/wisp' %s 2>&1", dir ? dir : "build", args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, len = 0, n;
    char *buf = malloc(cap);
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (len + 1 == cap) buf = realloc(buf, cap *= 2);
    }
    buf[len] = 0;
    int st = pclose(p);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void *read_all(const char *path, size_t *size) {
    void *p = wisp_read_file(path, size);
    assert_non_null(p);
    return p;
}

static void test_info(void **state) {
    char *out;
    int rc = run_wisp("info " FIXTURE, &out);
    if (rc) print_error("%s\n", out);
    assert_int_equal(rc, 0);
    const char *want[] = {"GGUF v3", "alignment 32", "17 keys", "20 tensors",
                          "llama.block_count", "uint32", "2\n", "t.i64", "-1099511627776",
                          "uint64[3]", "[1, 2, 9223372036854775808]", "string[0]", "[]",
                          "blk.1.ffn_up.weight", "f16", "32 x 64", "totals: 20 tensors"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (!strstr(out, want[i])) print_error("missing \"%s\" in:\n%s\n", want[i], out);
        assert_non_null(strstr(out, want[i]));
    }
    free(out);
}

static void test_quantize_roundtrip(void **state) {
    char path[] = "/tmp/wisp-test-quantize-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char args[512], *out;
    snprintf(args, sizeof args, "quantize %s %s Q4_0", FIXTURE, path);
    int rc = run_wisp(args, &out);
    if (rc) print_error("%s\n", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "q4_0"));
    free(out);
    size_t size;
    void *data = read_all(path, &size);
    wisp_error err;
    wisp_gguf *g = wisp_gguf_open(data, size, &err);
    assert_non_null(g);
    uint32_t ft;
    assert_true(wisp_gguf_get_u32(g, "general.file_type", &ft));
    assert_int_equal(ft, 2);
    assert_int_equal(wisp_gguf_tensor_find(g, "blk.0.attn_q.weight")->type, WISP_DTYPE_Q4_0);
    assert_int_equal(wisp_gguf_tensor_find(g, "blk.0.ffn_up.weight")->type, WISP_DTYPE_Q4_0);
    assert_int_equal(wisp_gguf_tensor_find(g, "blk.0.attn_norm.weight")->type, WISP_DTYPE_F32);
    wisp_gguf_free(g);
    free(data);
    /* info reads what quantize wrote */
    snprintf(args, sizeof args, "info %s", path);
    assert_int_equal(run_wisp(args, &out), 0);
    assert_non_null(strstr(out, "q4_0"));
    free(out);
    remove(path);
}

static void test_errors(void **state) {
    char *out;
    assert_int_equal(run_wisp("info /nonexistent/model.gguf", &out), 1);
    assert_non_null(strstr(out, "/nonexistent/model.gguf"));
    free(out);
    assert_int_equal(run_wisp("info", &out), 2);
    assert_non_null(strstr(out, "usage"));
    free(out);
    assert_int_equal(run_wisp("quantize " FIXTURE " /tmp/x.gguf q5_1", &out), 2);
    assert_non_null(strstr(out, "unknown type 'q5_1'"));
    free(out);

    /* a truncated model: clear message, non-zero exit, no output file left behind */
    size_t size;
    char *data = read_all(FIXTURE, &size);
    char path[] = "/tmp/wisp-test-trunc-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, size - 100), (ssize_t)(size - 100));
    close(fd);
    free(data);
    char args[1400], outpath[600];
    snprintf(args, sizeof args, "info %s", path);
    assert_int_equal(run_wisp(args, &out), 1);
    assert_non_null(strstr(out, "output_norm.weight: data ends 100 bytes past the end of the file"));
    free(out);
    snprintf(outpath, sizeof outpath, "%s.out", path);
    snprintf(args, sizeof args, "quantize %s %s q8_0", path, outpath);
    assert_int_equal(run_wisp(args, &out), 1);
    assert_non_null(strstr(out, "past the end"));
    assert_int_not_equal(access(outpath, F_OK), 0);
    free(out);
    remove(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_quantize_roundtrip),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
