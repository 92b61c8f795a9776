/*
 * wisp tokenize MODEL TEXT — the ids a model's tokenizer gives a text, one per line with the
 * piece each stands for, then the count. MODEL is any GGUF with tokenizer.ggml.* keys (a full
 * model or a vocabulary-only file from train/tokenizer_to_gguf.py). For checking prompts and
 * comparing against other tokenizers by eye.
 *
 *   wisp tokenize [--no-special] [--ids] [--file F] MODEL [TEXT]
 *     --no-special  texts of control tokens ("<|fim_prefix|>") are tokenized as plain text
 *     --ids         print only the ids, space-separated, on one line
 *     --file F      tokenize the contents of F instead of TEXT
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* Milliseconds, for the timing line (the CLI's own clock; the engine's is wisp_now_ms). */
static double tokenize__ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int tokenize__usage(void) {
    fprintf(stderr, "usage: wisp tokenize [--no-special] [--ids] [--file F] MODEL [TEXT]\n");
    return 2;
}

/* Prints a piece quoted, escaping what would not show (control bytes, quotes, invalid UTF-8
 * is left to the terminal). */
static void tokenize__print_piece(wisp_str s) {
    putchar('"');
    for (uint64_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c == '\n') printf("\\n");
        else if (c == '\t') printf("\\t");
        else if (c == '\r') printf("\\r");
        else if (c < 0x20 || c == 0x7f) printf("\\x%02x", c);
        else putchar(c);
    }
    putchar('"');
}

int cmd_tokenize(int argc, char **argv) {
    bool special = true, ids_only = false;
    const char *file = NULL, *model_path = NULL, *text = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-special") == 0) special = false;
        else if (strcmp(argv[i], "--ids") == 0) ids_only = true;
        else if (strcmp(argv[i], "--file") == 0 && i + 1 < argc) file = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1] == '-') return tokenize__usage();
        else if (!model_path) model_path = argv[i];
        else if (!text) text = argv[i];
        else return tokenize__usage();
    }
    if (!model_path || (!text && !file) || (text && file)) return tokenize__usage();

    cli_file model_file, text_file = {0};
    if (cli_file_read(model_path, &model_file)) return 1;
    int rc = 1;
    wisp_error err;
    wisp_gguf *g = NULL;
    wisp_tokenizer *tok = NULL;
    int32_t *ids = NULL;
    size_t len = text ? strlen(text) : 0;
    if (file) {
        if (cli_file_read(file, &text_file)) goto done;
        text = text_file.data;
        len = text_file.size;
    }
    g = wisp_gguf_open(model_file.data, model_file.size, &err);
    if (!g) {
        rc = cli_fail(model_path, &err);
        goto done;
    }
    tok = wisp_tokenizer_load(g, &err);
    if (!tok) {
        rc = cli_fail(model_path, &err);
        goto done;
    }
    double t0 = tokenize__ms();
    int64_t n = wisp_tokenize(tok, text, len, special, NULL, 0, &err);
    if (n < 0) {
        rc = cli_fail("tokenize", &err);
        goto done;
    }
    ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
    if (!ids) {
        fprintf(stderr, "wisp tokenize: out of memory\n");
        goto done;
    }
    wisp_tokenize(tok, text, len, special, ids, (size_t)n, &err);
    double ms = tokenize__ms() - t0;
    for (int64_t i = 0; i < n; i++) {
        if (ids_only) {
            printf(i ? " %" PRId32 : "%" PRId32, ids[i]);
            continue;
        }
        printf("%6" PRId32 " ", ids[i]);
        tokenize__print_piece(wisp_token_bytes(tok, ids[i]));
        if (wisp_tokenizer_is_control(tok, ids[i])) printf(" (control)");
        putchar('\n');
    }
    if (ids_only) putchar('\n');
    else
        printf("%" PRId64 " tokens from %zu bytes (%.3f ms, both passes)\n", n, len, ms);
    rc = 0;
done:
    free(ids);
    wisp_tokenizer_free(tok);
    wisp_gguf_free(g);
    if (file) cli_file_free(&text_file);
    cli_file_free(&model_file);
    return rc;
}
