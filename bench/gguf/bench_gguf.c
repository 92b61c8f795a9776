/*
 * GGUF reader and quantizer benchmark (one thread): how long wisp_gguf_open takes on a file with
 * a Qwen2.5-sized vocabulary (151,643 tokens + 151,387 merges, held as string arrays), what one
 * random wisp_gguf_arr_str costs, and the quantizer's throughput F32 -> Q8_0 / Q4_0 / F16 on 64 MiB
 * of weights. Synthetic files built in memory; prints one line per measurement (median of runs;
 * native figures are thread CPU time, WebAssembly ones wall-clock).
 * Built and run by bench/gguf/run.sh natively and as WebAssembly under node.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../tests/gguf_builder.h"
#include "../bench.h"
#include "wisp.h"

/* A vocabulary-only file shaped like Qwen2.5's: tokens, token types, merges. */
static gb build_vocab(int n_tokens, int n_merges) {
    gb b = {0};
    gb_header(&b, 3, 0, 4);
    gb_kv_str(&b, "tokenizer.ggml.model", "gpt2");
    gb_key(&b, "tokenizer.ggml.tokens", 9); gb_u32(&b, 8); gb_u64(&b, (uint64_t)n_tokens);
    char buf[64];
    for (int i = 0; i < n_tokens; i++) {
        snprintf(buf, sizeof buf, "\xc4\xa0tok%dx%d", i, i * 7919 % 1000);
        gb_str(&b, buf);
    }
    gb_key(&b, "tokenizer.ggml.token_type", 9); gb_u32(&b, 5); gb_u64(&b, (uint64_t)n_tokens);
    for (int i = 0; i < n_tokens; i++) gb_u32(&b, 1);
    gb_key(&b, "tokenizer.ggml.merges", 9); gb_u32(&b, 8); gb_u64(&b, (uint64_t)n_merges);
    for (int i = 0; i < n_merges; i++) {
        snprintf(buf, sizeof buf, "t%d m%d", i, i / 3);
        gb_str(&b, buf);
    }
    return b;
}

/* `n_mat` F32 matrices of `rows` x `cols` plus a norm each, deterministic values. */
static gb build_weights(int n_mat, int rows, int cols) {
    gb b = {0};
    gb_header(&b, 3, (uint64_t)n_mat * 2, 1);
    gb_kv_str(&b, "general.architecture", "llama");
    uint64_t off = 0, mat = (uint64_t)rows * cols * 4, norm = (uint64_t)cols * 4;
    char name[64];
    for (int m = 0; m < n_mat; m++) {
        uint64_t ne[2] = {(uint64_t)cols, (uint64_t)rows};
        snprintf(name, sizeof name, "blk.%d.ffn_up.weight", m);
        gb_tensor(&b, name, 2, ne, 0, off);
        off += mat;
        snprintf(name, sizeof name, "blk.%d.ffn_norm.weight", m);
        gb_tensor(&b, name, 1, ne, 0, off);
        off += (norm + 31) / 32 * 32;
    }
    gb_pad(&b, 32);
    uint32_t x = 1;
    for (int m = 0; m < n_mat; m++) {
        for (uint64_t i = 0; i < (uint64_t)rows * cols; i++) {
            x = x * 1664525u + 1013904223u;
            gb_f32(&b, (float)(int32_t)x / 2147483648.0f);
        }
        for (int i = 0; i < cols; i++) gb_f32(&b, 1.0f);
        gb_pad(&b, 32);
    }
    return b;
}

int main(int argc, char **argv) {
    int quick = argc > 1 && !strcmp(argv[1], "--quick");
    enum { RUNS = 9 };
    double t[RUNS];
    wisp_error err;

    gb v = build_vocab(151643, 151387);
    for (int r = 0; r < RUNS; r++) {
        double t0 = bench_cpu_ms();
        wisp_gguf *g = wisp_gguf_open(v.p, v.len, &err);
        t[r] = bench_cpu_ms() - t0;
        if (!g) { fprintf(stderr, "%s\n", err.message); return 1; }
        wisp_gguf_free(g);
    }
    printf("gguf_open vocab 151643 tokens + 151387 merges (%.1f MiB): %.2f ms\n",
           v.len / 1048576.0, bench_median(t, RUNS));

    wisp_gguf *g = wisp_gguf_open(v.p, v.len, &err);
    int64_t k = wisp_gguf_find(g, "tokenizer.ggml.tokens");
    uint64_t n = wisp_gguf_arr_len(g, k), sum = 0, calls = 2000000, j = 12345;
    for (int r = 0; r < RUNS; r++) {
        double t0 = bench_cpu_ms();
        for (uint64_t c = 0; c < calls; c++) {
            wisp_str s;
            j = (j * 6364136223846793005ull + 1442695040888963407ull);
            wisp_gguf_arr_str(g, k, (j >> 33) % n, &s);
            sum += s.len;
        }
        t[r] = (bench_cpu_ms() - t0) * 1e6 / calls;
    }
    printf("gguf_arr_str random index into 151643 strings: %.1f ns/call (checksum %llu)\n",
           bench_median(t, RUNS), (unsigned long long)(sum % 1000));
    for (int r = 0; r < RUNS; r++) {
        double t0 = bench_cpu_ms();
        for (int c = 0; c < 100000; c++) sum += (uint64_t)wisp_gguf_find(g, "tokenizer.ggml.merges");
        t[r] = (bench_cpu_ms() - t0) * 1e6 / 100000;
    }
    printf("gguf_find by key: %.1f ns/call\n", bench_median(t, RUNS));
    wisp_gguf_free(g);
    free(v.p);

    int n_mat = quick ? 2 : 8;
    gb w = build_weights(n_mat, 1024, 2048); /* 8 MiB per matrix */
    double mib = n_mat * 1024.0 * 2048 * 4 / 1048576.0;
    wisp_dtype types[] = {WISP_DTYPE_Q8_0, WISP_DTYPE_Q4_0, WISP_DTYPE_F16};
    for (int ti = 0; ti < 3; ti++) {
        int runs = quick ? 1 : 3;
        for (int r = 0; r < runs; r++) {
            size_t out_size;
            double t0 = bench_cpu_ms();
            void *out = wisp_quantize_gguf(w.p, w.len, types[ti], &out_size, &err);
            t[r] = bench_cpu_ms() - t0;
            if (!out) { fprintf(stderr, "%s\n", err.message); return 1; }
            free(out);
        }
        double ms = bench_median(t, runs);
        printf("quantize %.0f MiB F32 -> %s: %.1f ms (%.0f MiB/s of input)\n", mib,
               wisp_dtype_name(types[ti]), ms, mib / (ms / 1e3));
    }
    free(w.p);
    return 0;
}
