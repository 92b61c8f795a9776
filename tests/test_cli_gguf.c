/*
 * `wisp info`, `quantize`, `gguf-order` and `complete --json` end to end: runs the built CLI
 * ($WISP_BUILD_DIR/wisp, set by ctest) on fixtures/gguf/tiny-f32.gguf, on broken files and on the
 * shipped model, checking exit codes, what is printed and the files written; `complete --json`
 * on fixtures/reference/trained.gguf.
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

#include "capture.h"
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

/* sha256sum's digest of `len` bytes of `path` from `off` (64 hex digits + NUL into hex). */
static void sha256_of(const char *path, size_t off, size_t len, char hex[65]) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "tail -c +%zu '%s' | head -c %zu | sha256sum", off + 1, path, len);
    size_t n;
    char *out = capture(cmd, &n);
    assert_non_null(out);
    assert_true(n >= 64);
    memcpy(hex, out, 64);
    hex[64] = 0;
    free(out);
}

/* The manifest's "block_count" (>= 1). */
static unsigned manifest_blocks(const char *manifest) {
    size_t n;
    char *m = read_all(manifest, &n);
    const char *at = strstr(m, "\"block_count\": ");
    assert_non_null(at);
    unsigned blocks = 0;
    assert_int_equal(sscanf(at, "\"block_count\": %u", &blocks), 1);
    assert_true(blocks >= 1);
    free(m);
    return blocks;
}

/* Checks a manifest against its file: the parts cover it in order, each part's digest is
 * sha256sum's, and the part that completes block k leaves k + 1 blocks ready. Returns the parts. */
static int check_manifest(const char *manifest, const char *file, size_t file_size) {
    size_t n;
    char *m = read_all(manifest, &n);
    char hex[65], want[65];
    const char *at = strstr(m, "\"sha256\": \"");
    assert_non_null(at);
    sha256_of(file, 0, file_size, hex);
    assert_memory_equal(at + 11, hex, 64); /* the whole file's */
    size_t next = 0;
    int parts = 0;
    for (at = strstr(m, "{\"offset\""); at; at = strstr(at + 1, "{\"offset\"")) {
        size_t off, size;
        unsigned ready;
        assert_int_equal(sscanf(at, "{\"offset\": %zu, \"size\": %zu", &off, &size), 2);
        assert_int_equal(off, next);
        const char *r = strstr(at, "\"layers_ready\": ");
        assert_int_equal(sscanf(r, "\"layers_ready\": %u, \"sha256\": \"%64[0-9a-f]\"", &ready, want), 2);
        assert_int_equal(ready, parts); /* part 0 the head, then one block each */
        sha256_of(file, off, size, hex);
        assert_string_equal(hex, want);
        next = off + size;
        parts++;
    }
    assert_int_equal(next, file_size);
    free(m);
    return parts;
}

/* wisp gguf-order: a fixture's manifest is right (digests, ranges, blocks); the shipped model is
 * in arrival order already (rewriting it gives it back byte for byte) and
 * models/wisp-default.parts.json is its manifest, to the byte. */
static void test_gguf_order(void **state) {
    char dir[] = "/tmp/wisp-test-order-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char args[2048], out_path[600], man[600], *out;
    snprintf(out_path, sizeof out_path, "%s/trained.gguf", dir);
    snprintf(man, sizeof man, "%s/trained.parts.json", dir);
    snprintf(args, sizeof args, "gguf-order fixtures/reference/trained.gguf %s --manifest %s", out_path, man);
    int rc = run_wisp(args, &out);
    if (rc) print_error("%s\n", out);
    assert_int_equal(rc, 0);
    free(out);
    size_t size;
    free(read_all(out_path, &size));
    assert_int_equal(check_manifest(man, out_path, size), 1 + 4);

    snprintf(out_path, sizeof out_path, "%s/wisp-default.gguf", dir);
    snprintf(man, sizeof man, "%s/wisp-default.parts.json", dir);
    snprintf(args, sizeof args, "gguf-order models/wisp-default.gguf %s --manifest %s", out_path, man);
    assert_int_equal(run_wisp(args, &out), 0);
    free(out);
    size_t n_a, n_b, n_c, n_d;
    char *a = read_all(out_path, &n_a), *b = read_all("models/wisp-default.gguf", &n_b);
    assert_int_equal(n_a, n_b);
    assert_true(memcmp(a, b, n_a) == 0);
    free(a), free(b);
    char *c = read_all(man, &n_c), *d = read_all("models/wisp-default.parts.json", &n_d);
    assert_string_equal(c, d);
    free(c), free(d);
    /* the head's part, then one a block */
    assert_int_equal(check_manifest("models/wisp-default.parts.json", "models/wisp-default.gguf", n_b),
                     (int)manifest_blocks("models/wisp-default.parts.json") + 1);

    assert_int_equal(run_wisp("gguf-order fixtures/reference/trained.gguf", &out), 2);
    assert_non_null(strstr(out, "usage"));
    free(out);
    snprintf(args, sizeof args, "rm -r '%s'", dir);
    assert_int_equal(system(args), 0);
}

/* `wisp complete --json` names each candidate's mean log-probability per token, the figure the
 * candidates are ranked by (after their syntax errors): in (-40, 0], and in the printed order
 * not rising among candidates with the same error count. */
static void test_complete_json(void **state) {
    (void)state;
    char *out;
    assert_int_equal(run_wisp("complete --json --model fixtures/reference/trained.gguf --candidates 3 "
                              "fixtures/samples/inventory.py:22:22", &out), 0);
    int n_text = 0, n_lp = 0;
    for (const char *at = strstr(out, "{\"text\":"); at; at = strstr(at + 1, "{\"text\":")) n_text++;
    double prev = 1.0;
    unsigned prev_err = 0;
    for (const char *at = strstr(out, "\"logprob\":"); at; at = strstr(at + 1, "\"logprob\":")) {
        double lp;
        unsigned err;
        assert_int_equal(sscanf(at, "\"logprob\":%lf", &lp), 1);
        const char *e = at;
        while (e > out && strncmp(e, "\"errors\":", 9)) e--;
        assert_int_equal(sscanf(e, "\"errors\":%u", &err), 1);
        assert_true(lp <= 0.0 && lp > -40.0);
        if (n_lp > 0 && err == prev_err) assert_true(lp <= prev);
        prev = lp;
        prev_err = err;
        n_lp++;
    }
    assert_true(n_text >= 1);
    assert_int_equal(n_lp, n_text);
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_quantize_roundtrip),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_gguf_order),
        cmocka_unit_test(test_complete_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
