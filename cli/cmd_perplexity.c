/*
 * wisp perplexity MODEL FILE — how well the model predicts a text: the text is tokenized and cut
 * into windows of N tokens, each evaluated from an empty cache; every token but a window's first
 * is scored. Prints each window's perplexity and the total. For comparing quantizations of one
 * model (Q8_0 / Q4_0 against F32) on real code, and for comparing checkpoints.
 *
 *   wisp perplexity MODEL FILE [--ctx N] [--batch N] [--kv-f16] [--exit-layers K] [--lead T]
 *     --ctx N     window in tokens (default 512, at most n_ctx_train)
 *     --lead T    each window starts with token T, not scored, then N-1 text tokens, all scored:
 *                 `file_sep` (the vocabulary's file separator: every wisp prompt and every
 *                 training document starts with it), `bos`, or an id. A model trained only on
 *                 windows that start with a special token may use it as an attention sink, and
 *                 then predicts text badly without one (models/README.md): compare checkpoints
 *                 with --lead file_sep
 *     --kv-f16    f16 KV cache (see wisp_ctx_params.kv_f16)
 *     --exit-layers K  only the first K blocks, then the norm and head (early exit)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int perplexity__usage(void) {
    fprintf(stderr, "usage: wisp perplexity MODEL FILE [--ctx N] [--batch N] [--kv-f16] [--exit-layers K] "
                    "[--lead file_sep|bos|ID]\n");
    return 2;
}

/* -log p(next) from one row of logits, in double. */
static double perplexity__nll(const float *logits, size_t n_vocab, int32_t next) {
    float max = logits[0];
    for (size_t i = 1; i < n_vocab; i++)
        if (logits[i] > max) max = logits[i];
    double sum = 0;
    for (size_t i = 0; i < n_vocab; i++) sum += exp((double)logits[i] - max);
    return log(sum) - ((double)logits[next] - max);
}

int cmd_perplexity(int argc, char **argv) {
    const char *model_path = NULL, *text_path = NULL;
    uint32_t n_win = 0, n_batch = 0;
    bool kv_f16 = false;
    long long exit_layers = 0;
    const char *lead_arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--ctx") == 0 && i + 1 < argc) n_win = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) n_batch = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--kv-f16") == 0) kv_f16 = true;
        else if (strcmp(argv[i], "--exit-layers") == 0 && i + 1 < argc) exit_layers = strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--lead") == 0 && i + 1 < argc) lead_arg = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1] == '-') return perplexity__usage();
        else if (!model_path) model_path = argv[i];
        else if (!text_path) text_path = argv[i];
        else return perplexity__usage();
    }
    if (!model_path || !text_path) return perplexity__usage();

    cli_file mfile, tfile = {0};
    wisp_model *model = cli_model_load(model_path, &mfile);
    if (!model) return 1;
    int rc = 1;
    wisp_error err;
    wisp_ctx *ctx = NULL;
    int32_t *ids = NULL;
    float *logits = NULL;
    if (cli_file_read(text_path, &tfile)) goto done;
    const wisp_model_info *I = wisp_model_get_info(model);
    if (n_win == 0) n_win = I->n_ctx_train < 512 ? I->n_ctx_train : 512;
    if (n_win < 2) {
        fprintf(stderr, "wisp perplexity: --ctx must be at least 2\n");
        goto done;
    }
    const wisp_tokenizer *tok = wisp_model_tokenizer(model);
    int32_t lead = WISP_NO_TOKEN;
    if (lead_arg) {
        char *end;
        long v = strtol(lead_arg, &end, 10);
        if (strcmp(lead_arg, "file_sep") == 0) lead = wisp_tokenizer_special(tok, WISP_SPECIAL_FIM_SEP);
        else if (strcmp(lead_arg, "bos") == 0) lead = wisp_tokenizer_special(tok, WISP_SPECIAL_BOS);
        else if (end != lead_arg && *end == 0 && v >= 0 && v < (long)wisp_tokenizer_n_vocab(tok)) lead = (int32_t)v;
        else {
            fprintf(stderr, "wisp perplexity: --lead %s: not file_sep, bos or a token id below %u\n", lead_arg,
                    wisp_tokenizer_n_vocab(tok));
            goto done;
        }
        if (lead == WISP_NO_TOKEN) {
            fprintf(stderr, "wisp perplexity: --lead %s: %s has no such token\n", lead_arg, model_path);
            goto done;
        }
    }
    /* one slot before the text for the lead token of the first window */
    ids = malloc((tfile.size + 2) * sizeof(int32_t));
    if (!ids) goto done;
    int64_t n = wisp_tokenize(tok, tfile.data, tfile.size, false, ids + 1, tfile.size + 1, &err);
    if (n > (int64_t)tfile.size + 1) { /* more ids than bytes: make room and tokenize again */
        int32_t *more = realloc(ids, ((size_t)n + 1) * sizeof(int32_t));
        if (!more) goto done;
        ids = more;
        n = wisp_tokenize(tok, tfile.data, tfile.size, false, ids + 1, (size_t)n, &err);
    }
    if (n < 0) {
        rc = cli_fail("tokenize", &err);
        goto done;
    }
    if (n < (lead_arg ? 1 : 2)) {
        fprintf(stderr, "wisp perplexity: %s: fewer than %d tokens\n", text_path, lead_arg ? 1 : 2);
        goto done;
    }
    wisp_ctx_params cp = {.n_ctx = n_win, .n_batch = n_batch, .kv_f16 = kv_f16};
    ctx = wisp_ctx_new(model, &cp, &err);
    if (!ctx || cli_ctx_settings(ctx, exit_layers, 0, 0, &err) != WISP_OK) {
        rc = cli_fail("context", &err);
        goto done;
    }
    /* Logits for one batch at a time: a window's worth of a 150k vocabulary would not fit. The
     * first batch starts the window from an empty cache (wisp_ctx_eval_all), the rest extend it
     * (wisp_ctx_eval_append). */
    size_t n_vocab = I->n_vocab, nb_max = wisp_ctx_n_batch(ctx);
    logits = malloc(nb_max * n_vocab * sizeof(float));
    if (!logits) goto done;
    double total = 0, t0 = wisp_now_ms();
    size_t n_scored = 0, n_windows = 0;
    /* the text is ids[1..n]; with a lead token a window is the lead then n_win - 1 text tokens
     * (the lead is written over the slot before them, which the previous window has used) */
    size_t step = lead_arg ? n_win - 1 : n_win, n_text = (size_t)n;
    for (size_t t0 = 0; lead_arg ? t0 < n_text : t0 + 1 < n_text; t0 += step) {
        size_t w_text = n_text - t0 < step ? n_text - t0 : step;
        size_t w_len = w_text + (lead_arg ? 1 : 0);
        if (w_len < 2) break;
        int32_t *win = ids + 1 + t0 - (lead_arg ? 1 : 0);
        if (lead_arg) win[0] = lead;
        double w_nll = 0;
        for (size_t b0 = 0; b0 < w_len; b0 += nb_max) {
            size_t nb = w_len - b0 < nb_max ? w_len - b0 : nb_max;
            const int32_t *chunk = win + b0;
            if (b0 == 0) {
                if (wisp_ctx_eval_all(ctx, chunk, nb, logits, &err) != WISP_OK) {
                    rc = cli_fail("eval", &err);
                    goto done;
                }
            } else if (wisp_ctx_eval_append(ctx, chunk, nb, logits, &err) != WISP_OK) {
                rc = cli_fail("eval", &err);
                goto done;
            }
            for (size_t t = 0; t < nb; t++) /* logits after token b0+t predict token b0+t+1 */
                if (b0 + t + 1 < w_len) w_nll += perplexity__nll(logits + t * n_vocab, n_vocab, chunk[t + 1]);
        }
        total += w_nll;
        n_scored += w_len - 1;
        n_windows++;
        printf("window %zu: %zu tokens, perplexity %.4f\n", n_windows, w_len, exp(w_nll / (double)(w_len - 1)));
    }
    double ms = wisp_now_ms() - t0;
    printf("perplexity: %.4f over %zu scored tokens (%zu windows of up to %u)\n", exp(total / (double)n_scored),
           n_scored, n_windows, n_win);
    fprintf(stderr, "%.0f ms, %.1f tok/s\n", ms, ms > 0 ? (n_scored + n_windows) * 1e3 / ms : 0.0);
    rc = 0;
done:
    free(logits);
    free(ids);
    wisp_ctx_free(ctx);
    wisp_model_free(model);
    cli_file_free(&mfile);
    cli_file_free(&tfile);
    return rc;
}
