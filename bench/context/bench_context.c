/*
 * Context extraction per keystroke on real files: for each file, at 200 cursor positions (line
 * ends, spread over the file), type one character (wisp_doc_edit: incremental reparse), extract
 * the context (wisp_context_extract), then undo the keystroke. Reports p50 / p95 / max thread CPU
 * time of the edit and of the extraction separately, with the share of extractions that needed a
 * repair reparse (cursor next to a syntax error). A second document (another file of the same
 * language) is open so that cross-document lookup is part of the cost.
 *   bench_context FILE [OTHER_FILE]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../tests/read_file.h"
#include "wisp_grammar.h"

static double cpu_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void stats(const char *what, double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp);
    printf("  %-26s p50 %7.3f ms   p95 %7.3f ms   max %7.3f ms\n", what, v[n / 2], v[n * 95 / 100], v[n - 1]);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_context FILE [OTHER_FILE]\n");
        return 2;
    }
    size_t len, olen = 0;
    char *text = wisp_read_file(argv[1], &len), *other = argc > 2 ? wisp_read_file(argv[2], &olen) : NULL;
    wisp_lang lang = wisp_lang_from_path(argv[1]);
    if (!text || lang == WISP_LANG_NONE) {
        fprintf(stderr, "bench_context: cannot read %s or unknown language\n", argv[1]);
        return 1;
    }
    wisp_docs *docs = wisp_docs_new();
    wisp_error err;
    double t0 = cpu_ms();
    wisp_doc *doc = wisp_doc_open(docs, argv[1], lang, text, len, &err);
    double open_ms = cpu_ms() - t0;
    if (!doc) {
        fprintf(stderr, "bench_context: %s\n", err.message);
        return 1;
    }
    if (other) wisp_doc_open(docs, argv[2], wisp_lang_from_path(argv[2]), other, olen, NULL);
    t0 = cpu_ms();
    wisp_context *warm = NULL;
    wisp_context_extract(doc, 0, NULL, &warm, NULL); /* compiles the queries once per set */
    double first_ms = cpu_ms() - t0;
    wisp_context_free(warm);

    enum { N = 200 };
    double edit_ms[N], ctx_ms[N];
    int n = 0, in_error = 0;
    size_t n_lines = wisp_doc_line_count(doc);
    int modes[5] = {0};
    for (int i = 0; i < N; i++) {
        size_t line = (size_t)i * (n_lines - 1) / N;
        wisp_pos p;
        if (wisp_doc_pos_at_line_col(doc, line, 0, WISP_UNIT_U8, &p, NULL) != WISP_OK) continue;
        size_t end = p.pos_u8;
        const char *t = wisp_doc_text(doc, NULL);
        while (end < len && t[end] != '\n' && t[end] != '\r') end++;
        const char *key = i % 2 ? "(" : "x"; /* an identifier char, or an opening bracket */
        double a = cpu_ms();
        if (wisp_doc_edit(doc, end, end, key, 1, &err) != WISP_OK) return 1;
        double b = cpu_ms();
        wisp_context *c = NULL;
        if (wisp_context_extract(doc, end + 1, NULL, &c, &err) != WISP_OK) {
            fprintf(stderr, "extract: %s\n", err.message);
            return 1;
        }
        double e = cpu_ms();
        in_error += c->in_error;
        modes[c->mode]++;
        wisp_context_free(c);
        wisp_doc_edit(doc, end, end + 1, NULL, 0, NULL);
        edit_ms[n] = b - a;
        ctx_ms[n] = e - b;
        n++;
    }
    printf("%s (%s, %zu lines, %zu bytes)\n", argv[1], wisp_lang_name(lang), n_lines, len);
    printf("  open (fresh parse)          %7.3f ms\n", open_ms);
    printf("  first extraction (queries)  %7.3f ms\n", first_ms);
    stats("keystroke edit + reparse", edit_ms, n);
    stats("context extraction", ctx_ms, n);
    printf("  %d keystrokes, %d next to a syntax error; modes none/mid/eol/block/args %d/%d/%d/%d/%d\n", n,
           in_error, modes[0], modes[1], modes[2], modes[3], modes[4]);
    wisp_docs_free(docs);
    free(text);
    free(other);
    return 0;
}
