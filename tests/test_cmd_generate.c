/*
 * The `wisp generate` and `wisp perplexity` commands, run as a user would ($WISP_BUILD_DIR/wisp),
 * on the trained reference model: greedy ids equal torch's, and the perplexity of a reference
 * sequence written to a file equals torch's. Skips itself when the CLI was not built.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ref_file.h"

static char wisp_bin[1024];

/* Runs a shell command and returns its stdout (malloc'd) and exit status. */
static char *run(const char *cmd, int *status) {
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    size_t n;
    while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (len + 1 == cap) out = realloc(out, cap *= 2);
    }
    out[len] = '\0';
    *status = pclose(p);
    return out;
}

static int setup(void **state) {
    const char *dir = getenv("WISP_BUILD_DIR");
    snprintf(wisp_bin, sizeof wisp_bin, "%s/wisp", dir ? dir : "build");
    return 0;
}

static void test_generate_greedy_ids(void **state) {
    if (access(wisp_bin, X_OK) != 0) skip();
    ref_file r;
    ref_load("fixtures/reference/trained.ref", &r);
    for (uint32_t i = 5; i < r.n_prompts; i += 7) {
        const ref_prompt *q = &r.p[i];
        char cmd[4096];
        int at = snprintf(cmd, sizeof cmd, "%s generate fixtures/reference/trained.gguf '", wisp_bin);
        for (uint32_t k = 0; k < q->n_tok; k++) at += snprintf(cmd + at, sizeof cmd - at, "%d ", q->tokens[k]);
        snprintf(cmd + at, sizeof cmd - at, "' --raw-ids --n %u 2>/dev/null", q->n_gen);
        int status;
        char *out = run(cmd, &status);
        assert_int_equal(status, 0);
        char *p = out;
        for (uint32_t k = 0; k < q->n_gen; k++) {
            char *end;
            long id = strtol(p, &end, 10);
            assert_true(end != p);
            assert_int_equal(id, q->gen[k]);
            p = end;
        }
        free(out);
    }
    free(r.blob);
}

/* The reference sequence (prompt then greedy answer) from token `from` on, as a text file at
 * `path` (a mkstemp template): the model was trained on bytes and its vocabulary has no merges,
 * so text bytes are its ids. */
static void ref_text_file(const ref_prompt *q, uint32_t from, char *path) {
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    for (uint32_t k = from; k < q->n_tok + q->n_gen; k++) {
        int32_t id = k < q->n_tok ? q->tokens[k] : q->gen[k - q->n_tok];
        assert_true(id >= 0 && id < 256);
        unsigned char b = (unsigned char)id;
        assert_int_equal(write(fd, &b, 1), 1);
    }
    close(fd);
}

/* `wisp perplexity` of the reference model on a file, windows of 128, with `extra` options. */
static double perplexity_of(const char *path, const char *extra) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s perplexity fixtures/reference/trained.gguf %s --ctx 128 %s 2>/dev/null", wisp_bin,
             path, extra);
    int status;
    char *out = run(cmd, &status);
    assert_int_equal(status, 0);
    const char *line = strstr(out, "perplexity: ");
    assert_non_null(line);
    double ppl = strtod(line + strlen("perplexity: "), NULL);
    free(out);
    return ppl;
}

static void test_perplexity_matches_torch(void **state) {
    if (access(wisp_bin, X_OK) != 0) skip();
    ref_file r;
    ref_load("fixtures/reference/trained.ref", &r);
    const ref_prompt *q = &r.p[r.n_prompts - 1];
    char path[] = "/tmp/wisp_ppl_XXXXXX";
    ref_text_file(q, 0, path);
    double ppl = perplexity_of(path, "");
    unlink(path);
    double want = exp(q->nll / (double)(q->n_tok + q->n_gen - 1));
    if (fabs(ppl - want) / want > 1e-3) fail_msg("wisp perplexity %.6f, torch %.6f", ppl, want);
    free(r.blob);
}

/* --lead T: the window starts with token T, unscored, and every text token after it is scored.
 * The reference sequence's first token given as the lead, and the rest as the text, scores the
 * same tokens in the same positions as the whole sequence without a lead: torch's figure. */
static void test_perplexity_lead_token(void **state) {
    if (access(wisp_bin, X_OK) != 0) skip();
    ref_file r;
    ref_load("fixtures/reference/trained.ref", &r);
    const ref_prompt *q = &r.p[r.n_prompts - 1];
    char path[] = "/tmp/wisp_ppl_XXXXXX";
    ref_text_file(q, 1, path);
    char lead[32];
    snprintf(lead, sizeof lead, "--lead %d", (int)q->tokens[0]);
    double ppl = perplexity_of(path, lead);
    double want = exp(q->nll / (double)(q->n_tok + q->n_gen - 1));
    if (fabs(ppl - want) / want > 1e-3) fail_msg("wisp perplexity --lead %.6f, torch %.6f", ppl, want);
    char cmd[2048];
    int status;
    char *out;
    /* a lead the vocabulary lacks, or that is not a token, is an error that says so */
    snprintf(cmd, sizeof cmd, "%s perplexity fixtures/reference/trained.gguf %s --lead file_sep 2>&1", wisp_bin, path);
    out = run(cmd, &status);
    assert_int_not_equal(status, 0);
    assert_non_null(strstr(out, "has no such token"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s perplexity fixtures/reference/trained.gguf %s --lead 99999 2>&1", wisp_bin, path);
    out = run(cmd, &status);
    assert_int_not_equal(status, 0);
    assert_non_null(strstr(out, "not file_sep, bos or a token id"));
    free(out);
    unlink(path);
    free(r.blob);
}

static void test_usage_errors(void **state) {
    if (access(wisp_bin, X_OK) != 0) skip();
    char cmd[1200];
    int status;
    snprintf(cmd, sizeof cmd, "%s generate 2>/dev/null", wisp_bin);
    free(run(cmd, &status));
    assert_int_not_equal(status, 0);
    snprintf(cmd, sizeof cmd, "%s generate fixtures/reference/trained.gguf '1 x' --raw-ids 2>/dev/null", wisp_bin);
    free(run(cmd, &status));
    assert_int_not_equal(status, 0);
    snprintf(cmd, sizeof cmd, "%s generate fixtures/reference/trained.gguf '1 9999' --raw-ids 2>&1", wisp_bin);
    char *out = run(cmd, &status);
    assert_int_not_equal(status, 0);
    assert_non_null(strstr(out, "outside the vocabulary"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s perplexity fixtures/reference/trained.gguf /nonexistent 2>/dev/null", wisp_bin);
    free(run(cmd, &status));
    assert_int_not_equal(status, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_greedy_ids),
        cmocka_unit_test(test_perplexity_matches_torch),
        cmocka_unit_test(test_perplexity_lead_token),
        cmocka_unit_test(test_usage_errors),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
