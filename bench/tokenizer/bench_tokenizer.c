/*
 * Tokenizer benchmark: what a vocabulary costs to load (wisp_gguf_open + wisp_tokenizer_load) and
 * to tokenize, one thread. Three figures per vocabulary, each the median of several runs:
 *   load      open + load of the vocabulary GGUF, ms
 *   keystroke one 2,000-byte window of the corpus (the size of a prompt's prefix), µs
 *   corpus    the whole corpus file in one call, MB/s and tokens/s
 * Natively the clock is the thread's CPU time (waiting for a core on a loaded machine excluded);
 * in WebAssembly it is the wall clock. Run by bench/tokenizer/run.sh.
 *   bench_tokenizer CORPUS VOCAB.gguf...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../tests/read_file.h"
#include "../bench.h"
#include "wisp.h"

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_tokenizer CORPUS VOCAB.gguf...\n");
        return 2;
    }
    size_t corpus_len;
    char *corpus = wisp_read_file(argv[1], &corpus_len);
    if (!corpus || corpus_len < 4096) {
        fprintf(stderr, "bench_tokenizer: cannot read a corpus of >= 4 KiB from %s\n", argv[1]);
        return 1;
    }
    printf("%-14s %10s %14s %12s %14s\n", "vocabulary", "load ms", "2000 B call µs", "corpus MB/s",
           "corpus tok/s");
    for (int v = 2; v < argc; v++) {
        size_t size;
        char *data = wisp_read_file(argv[v], &size);
        if (!data) {
            fprintf(stderr, "bench_tokenizer: cannot read %s\n", argv[v]);
            return 1;
        }
        wisp_error err;
        double load[5];
        wisp_tokenizer *tok = NULL;
        for (int r = 0; r < 5; r++) {
            double t0 = bench_cpu_ms();
            wisp_gguf *g = wisp_gguf_open(data, size, &err);
            wisp_tokenizer *t = g ? wisp_tokenizer_load(g, &err) : NULL;
            load[r] = bench_cpu_ms() - t0;
            wisp_gguf_free(g);
            if (!t) {
                fprintf(stderr, "bench_tokenizer: %s: %s\n", argv[v], err.message);
                return 1;
            }
            wisp_tokenizer_free(tok);
            tok = t;
        }
        int32_t *ids = malloc(corpus_len * sizeof *ids);
        double key[201];
        for (int r = 0; r < 201; r++) {
            size_t at = (size_t)r * 4099 % (corpus_len - 2000);
            double t0 = bench_cpu_ms();
            wisp_tokenize(tok, corpus + at, 2000, false, ids, 2000, &err);
            key[r] = (bench_cpu_ms() - t0) * 1e3;
        }
        double whole[3];
        int64_t n = 0;
        for (int r = 0; r < 3; r++) {
            double t0 = bench_cpu_ms();
            n = wisp_tokenize(tok, corpus, corpus_len, false, ids, corpus_len, &err);
            whole[r] = bench_cpu_ms() - t0;
        }
        double ms = bench_median(whole, 3);
        const char *name = strrchr(argv[v], '/') ? strrchr(argv[v], '/') + 1 : argv[v];
        printf("%-14s %10.1f %14.1f %12.1f %14.0f\n", name, bench_median(load, 5),
               bench_median(key, 201), corpus_len / 1e3 / ms, n / (ms / 1e3));
        free(ids);
        wisp_tokenizer_free(tok);
        free(data);
    }
    free(corpus);
    return 0;
}
