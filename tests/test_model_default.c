/*
 * The shipped default model (models/wisp-default.gguf, trained by train/) against what training
 * measured:
 *  - wisp's tokenizer gives the ids of the training tokenizer (HF `tokenizers`) on validation
 *    strings (fixtures/tokenizer/wisp-default-val.{strings.txt,vectors}.xz, written by
 *    train/tokenizer.py on the GPU machine), and the ids give the bytes back;
 *  - the FIM special tokens sit where train/FORMAT.md says, under the GGUF keys;
 *  - `wisp perplexity --lead file_sep` on train/eval/ppl_text.txt (each window led by the token
 *    every prompt starts with) is within the stated tolerance of PyTorch's figure for the
 *    unquantized weights, for each shipped file (models/wisp-default.ppl, from export.py's or
 *    train/ppl_torch.py's measurement; the bound of a shipped quantization, 3% for this Q8_0).
 * Run from the repository root (ctest does); WISP_BUILD_DIR names the build with the CLI.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "wisp.h"
#include "capture.h"

#define MODEL_PATH "models/wisp-default.gguf"

/* The model file, loaded; the buffer (owned by the caller) must outlive the model. */
static wisp_model *load_default(char **data) {
    size_t n;
    *data = capture("cat " MODEL_PATH, &n);
    assert_non_null(*data);
    wisp_error err;
    wisp_model *m = wisp_model_load(*data, n, &err);
    if (!m) fprintf(stderr, "%s: %s\n", MODEL_PATH, err.message);
    assert_non_null(m);
    return m;
}

static void test_fim_specials(void **state) {
    (void)state;
    char *data;
    wisp_model *m = load_default(&data);
    const wisp_tokenizer *t = wisp_model_tokenizer(m);
    static const struct { wisp_special which; const char *text; } want[] = {
        {WISP_SPECIAL_EOS, "<|endoftext|>"},     {WISP_SPECIAL_FIM_PRE, "<|fim_prefix|>"},
        {WISP_SPECIAL_FIM_SUF, "<|fim_suffix|>"}, {WISP_SPECIAL_FIM_MID, "<|fim_middle|>"},
        {WISP_SPECIAL_FIM_PAD, "<|fim_pad|>"},    {WISP_SPECIAL_FIM_SEP, "<|file_sep|>"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int32_t id = wisp_tokenizer_special(t, want[i].which);
        assert_true(id >= 0);
        assert_true(wisp_tokenizer_is_control(t, id));
        wisp_str s = wisp_token_bytes(t, id);
        assert_int_equal(s.len, strlen(want[i].text));
        assert_memory_equal(s.ptr, want[i].text, s.len);
    }
    assert_int_equal(wisp_tokenizer_n_vocab(t), 16384);
    wisp_model_free(m);
    free(data);
}

/* Every validation string through wisp_tokenize (parse_special on: the training tokenizer splits
 * special-token texts out of the text) against the HF ids, and the ids' bytes against the text. */
static void test_val_vectors(void **state) {
    (void)state;
    size_t n_s, n_v;
    char *sbuf = capture("xz -dc fixtures/tokenizer/wisp-default-val.strings.txt.xz", &n_s);
    char *vbuf = capture("xz -dc fixtures/tokenizer/wisp-default-val.vectors.xz", &n_v);
    assert_non_null(sbuf);
    assert_non_null(vbuf);
    size_t n_str, n_vec;
    assert_int_equal(sscanf(sbuf, "wisp-tokenizer-strings %zu", &n_str), 1);
    assert_int_equal(sscanf(vbuf, "wisp-tokenizer-vectors %*s %zu", &n_vec), 1);
    assert_int_equal(n_str, n_vec);
    assert_true(n_str >= 200);
    char *data;
    wisp_model *m = load_default(&data);
    const wisp_tokenizer *t = wisp_model_tokenizer(m);
    enum { CAP = 1 << 16 };
    int32_t *got = malloc(CAP * sizeof *got), *want = malloc(CAP * sizeof *want);
    char *back = malloc(1 << 20);
    char *sp = strchr(sbuf, '\n') + 1, *vp = strchr(vbuf, '\n') + 1;
    size_t n_bad = 0;
    for (size_t i = 0; i < n_str; i++) {
        char *nl;
        size_t len = strtoull(sp, &nl, 10);
        assert_true(*nl == '\n' && nl + 1 + len < sbuf + n_s);
        const char *text = nl + 1;
        sp = nl + 1 + len + 1;
        size_t n_want = 0;
        while (*vp != '\n') {
            char *q;
            long v = strtol(vp, &q, 10);
            if (q == vp) break;
            assert_true(n_want < CAP);
            want[n_want++] = (int32_t)v;
            vp = q;
            while (*vp == ' ') vp++;
        }
        vp++;
        wisp_error err;
        int64_t n = wisp_tokenize(t, text, len, true, got, CAP, &err);
        assert_true(n >= 0 && n <= CAP);
        bool same = (size_t)n == n_want && memcmp(got, want, n_want * sizeof *got) == 0;
        size_t o = 0;
        for (int64_t k = 0; same && k < n; k++) {
            wisp_str b = wisp_token_bytes(t, got[k]);
            memcpy(back + o, b.ptr, b.len);
            o += b.len;
        }
        if (same && (o != len || memcmp(back, text, len) != 0)) same = false;
        if (!same && n_bad++ < 3)
            fprintf(stderr, "string %zu (%zu bytes): wisp gives %lld ids, training tokenizer %zu\n",
                    i, len, (long long)n, n_want);
    }
    fprintf(stderr, "%zu/%zu validation strings give the training tokenizer's ids\n",
            n_str - n_bad, n_str);
    assert_int_equal(n_bad, 0);
    free(got);
    free(want);
    free(back);
    free(sbuf);
    free(vbuf);
    wisp_model_free(m);
    free(data);
}

/* wisp's perplexity of the fixed validation text against PyTorch's for the same weights, for
 * every shipped file listed in models/wisp-default.ppl ("FILE PYTORCH_PPL TOLERANCE_PERCENT"). */
static void test_perplexity_matches_pytorch(void **state) {
    (void)state;
    size_t n;
    char *ref = capture("grep -v '^#' models/wisp-default.ppl", &n);
    assert_non_null(ref);
    const char *build = getenv("WISP_BUILD_DIR") ? getenv("WISP_BUILD_DIR") : "build";
    int n_checked = 0;
    for (char *line = strtok(ref, "\n"); line; line = strtok(NULL, "\n")) {
        char file[256];
        double want, tol_pct;
        if (sscanf(line, "%255s %lf %lf", file, &want, &tol_pct) != 3) continue;
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "%s/wisp perplexity models/%s train/eval/ppl_text.txt --ctx 1024 --lead file_sep 2>&1",
                 build, file);
        size_t n_out;
        char *out = capture(cmd, &n_out);
        assert_non_null(out);
        char *at = strstr(out, "perplexity: ");
        assert_non_null(at);
        double got = strtod(at + strlen("perplexity: "), NULL);
        fprintf(stderr, "%s: wisp perplexity %.4f, PyTorch %.4f (%+.2f%%, allowed %.0f%%)\n", file, got,
                want, 100 * (got / want - 1), tol_pct);
        assert_true(got < want * (1 + tol_pct / 100) && got > want * (1 - tol_pct / 100));
        free(out);
        n_checked++;
    }
    assert_true(n_checked >= 1);
    free(ref);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fim_specials),
        cmocka_unit_test(test_val_vectors),
        cmocka_unit_test(test_perplexity_matches_pytorch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
