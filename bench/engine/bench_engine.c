/*
 * The engine benchmark's wisp side: prompt processing and greedy generation speed of one GGUF
 * model, one thread, through the public API (wisp_ctx_eval), the same work node-llama-cpp is timed
 * on by bench/peers/llamacpp_bench.mjs. Built natively by bench/engine/run.sh (and usable as the
 * core of a WASM driver). Prints one JSON line per model:
 *   {"file", "n_prompt", "pp_ms", "pp_tok_s", "n_gen", "tg_ms", "tg_tok_s", "pp_cpu_ms", "tg_cpu_ms"}
 * Times are the best of --reps runs, each from an empty cache (a fresh context). *_cpu_ms is this
 * thread's CPU time (CLOCK_THREAD_CPUTIME_ID), which a loaded machine inflates far less than wall.
 *
 *   bench_engine --prompt-file IDS.txt [--n 64] [--reps 3] [--batch B] MODEL.gguf...
 *
 * Built with emcc against build-wasm's libwisp_core.a (the browser build, -msimd128), main() gives
 * way to bench_wasm_run(), which bench/engine/page.js calls in headless Chromium.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../tests/read_file.h"
#include "wisp.h"

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#undef CLOCK_THREAD_CPUTIME_ID
#define CLOCK_THREAD_CPUTIME_ID CLOCK_MONOTONIC /* a page has no CPU clock: wall time twice */
#endif

/* Milliseconds on the given clock. */
static double bench__ms(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

#ifndef __EMSCRIPTEN__
#endif

/* Index of the largest logit: greedy decoding without the sampler's bookkeeping. */
static int32_t bench__argmax(const float *logits, uint32_t n_vocab) {
    int32_t best = 0;
    for (uint32_t i = 1; i < n_vocab; i++)
        if (logits[i] > logits[best]) best = (int32_t)i;
    return best;
}

typedef struct bench__times {
    double pp_ms, tg_ms, pp_cpu_ms, tg_cpu_ms;
} bench__times;

/* One run from an empty cache: the prompt in one eval, then n_gen single-token evals. */
static int bench__run(const wisp_model *model, const wisp_ctx_params *cp, int32_t *tokens, size_t n_prompt,
                      size_t n_gen, bench__times *t) {
    wisp_error err;
    wisp_ctx *ctx = wisp_ctx_new(model, cp, &err);
    if (!ctx) {
        fprintf(stderr, "bench_engine: context: %s\n", err.message);
        return -1;
    }
    uint32_t n_vocab = wisp_tokenizer_n_vocab(wisp_model_tokenizer(model));
    double w0 = bench__ms(CLOCK_MONOTONIC), c0 = bench__ms(CLOCK_THREAD_CPUTIME_ID);
    if (wisp_ctx_eval(ctx, tokens, n_prompt, NULL, &err) != WISP_OK) goto fail;
    t->pp_ms = bench__ms(CLOCK_MONOTONIC) - w0;
    t->pp_cpu_ms = bench__ms(CLOCK_THREAD_CPUTIME_ID) - c0;
    w0 = bench__ms(CLOCK_MONOTONIC), c0 = bench__ms(CLOCK_THREAD_CPUTIME_ID);
    for (size_t i = 0; i < n_gen; i++) {
        tokens[n_prompt + i] = bench__argmax(wisp_ctx_logits(ctx), n_vocab);
        if (wisp_ctx_eval(ctx, tokens, n_prompt + i + 1, NULL, &err) != WISP_OK) goto fail;
    }
    t->tg_ms = bench__ms(CLOCK_MONOTONIC) - w0;
    t->tg_cpu_ms = bench__ms(CLOCK_THREAD_CPUTIME_ID) - c0;
    wisp_ctx_free(ctx);
    return 0;
fail:
    fprintf(stderr, "bench_engine: eval: %s\n", err.message);
    wisp_ctx_free(ctx);
    return -1;
}

#ifdef __EMSCRIPTEN__
/* The page's entry point: one model (the GGUF bytes at data, owned by the caller), the prompt
 * ids, n_gen; best of `reps` runs. Writes {pp_ms, tg_ms} to out_ms[2]; returns 0, or -1 with the
 * error in the console. tokens must have room for n_prompt + n_gen ids. */
EMSCRIPTEN_KEEPALIVE int bench_wasm_run(const void *data, size_t size, int32_t *tokens, size_t n_prompt,
                                        size_t n_gen, size_t reps, double *out_ms) {
    wisp_error err;
    wisp_model *model = wisp_model_load(data, size, &err);
    if (!model) {
        fprintf(stderr, "bench_wasm_run: %s\n", err.message);
        return -1;
    }
    wisp_ctx_params cp = {.n_ctx = (uint32_t)(n_prompt + n_gen + 8)};
    bench__times best = {1e30, 1e30, 1e30, 1e30}, t;
    int rc = 0;
    for (size_t r = 0; r < reps && rc == 0; r++) {
        rc = bench__run(model, &cp, tokens, n_prompt, n_gen, &t);
        if (t.pp_ms < best.pp_ms) best.pp_ms = t.pp_ms;
        if (t.tg_ms < best.tg_ms) best.tg_ms = t.tg_ms;
    }
    out_ms[0] = best.pp_ms;
    out_ms[1] = best.tg_ms;
    wisp_model_free(model);
    return rc;
}
#else
int main(int argc, char **argv) {
    const char *prompt_file = NULL;
    size_t n_gen = 64, reps = 3;
    uint32_t batch = 0;
    int first_model = argc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--prompt-file") && i + 1 < argc) prompt_file = argv[++i];
        else if (!strcmp(argv[i], "--n") && i + 1 < argc) n_gen = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = (uint32_t)strtoul(argv[++i], NULL, 10);
        else { first_model = i; break; }
    }
    if (!prompt_file || first_model >= argc || reps == 0) {
        fprintf(stderr, "usage: bench_engine --prompt-file IDS.txt [--n 64] [--reps 3] [--batch B] MODEL.gguf...\n");
        return 2;
    }
    FILE *pf = fopen(prompt_file, "r");
    if (!pf) {
        fprintf(stderr, "bench_engine: cannot open %s\n", prompt_file);
        return 1;
    }
    size_t cap = 4096, n_prompt = 0;
    int32_t *tokens = malloc((cap + n_gen) * sizeof(int32_t));
    long v;
    while (n_prompt < cap && fscanf(pf, "%ld", &v) == 1) tokens[n_prompt++] = (int32_t)v;
    fclose(pf);
    wisp_ctx_params cp = {.n_ctx = (uint32_t)(n_prompt + n_gen + 8), .n_batch = batch};
    int rc = 0;
    for (int m = first_model; m < argc; m++) {
        size_t size;
        void *data = wisp_read_file(argv[m], &size);
        wisp_error err;
        wisp_model *model = data ? wisp_model_load(data, size, &err) : NULL;
        if (!model) {
            fprintf(stderr, "bench_engine: %s: %s\n", argv[m], data ? err.message : "cannot read");
            free(data);
            rc = 1;
            continue;
        }
        bench__times best = {1e30, 1e30, 1e30, 1e30}, t;
        for (size_t r = 0; r < reps; r++) {
            if (bench__run(model, &cp, tokens, n_prompt, n_gen, &t) != 0) { rc = 1; break; }
            if (t.pp_ms < best.pp_ms) best.pp_ms = t.pp_ms;
            if (t.tg_ms < best.tg_ms) best.tg_ms = t.tg_ms;
            if (t.pp_cpu_ms < best.pp_cpu_ms) best.pp_cpu_ms = t.pp_cpu_ms;
            if (t.tg_cpu_ms < best.tg_cpu_ms) best.tg_cpu_ms = t.tg_cpu_ms;
        }
        const char *base = strrchr(argv[m], '/');
        printf("{\"file\":\"%s\",\"n_prompt\":%zu,\"pp_ms\":%.2f,\"pp_tok_s\":%.1f,\"n_gen\":%zu,\"tg_ms\":%.2f,"
               "\"tg_tok_s\":%.1f,\"pp_cpu_ms\":%.2f,\"tg_cpu_ms\":%.2f}\n",
               base ? base + 1 : argv[m], n_prompt, best.pp_ms, n_prompt * 1e3 / best.pp_ms, n_gen, best.tg_ms,
               n_gen * 1e3 / best.tg_ms, best.pp_cpu_ms, best.tg_cpu_ms);
        fflush(stdout);
        wisp_model_free(model);
        free(data);
    }
    free(tokens);
    return rc;
}
#endif
