/*
 * wisp generate MODEL PROMPT — continues a prompt with the model and prints the continuation as
 * it is generated; timings go to stderr. For trying a model by hand and measuring prefill and
 * decode speed natively.
 *
 *   wisp generate MODEL PROMPT [--n N] [--temp T] [--top-k K] [--top-p P] [--seed S]
 *                 [--stop STR]... [--ctx N] [--batch N] [--time-ms MS] [--kv-f16] [--raw-ids]
 *                 [--exit-layers K] [--speculative D] [--draft-depth K]
 *     --n N        tokens to generate at most (default 64)
 *     --temp T     sampling temperature, 0 = greedy (default 0)
 *     --raw-ids    PROMPT is token ids ("1 2 3" or "1,2,3") and the output is ids, one line
 *     --exit-layers K  run only the first K blocks (early exit; wisp_ctx_set_depth)
 *     --speculative D  greedy: draft up to D tokens with --draft-depth K blocks (default the
 *                  model's exit), check them with the full model in one batch (same output)
 *   Control tokens written in PROMPT ("<|fim_prefix|>") become their ids. A BOS id is added when
 *   the file asks for one (tokenizer.ggml.add_bos_token).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int generate__usage(void) {
    fprintf(stderr, "usage: wisp generate MODEL PROMPT [--n N] [--temp T] [--top-k K] [--top-p P] "
                    "[--seed S] [--stop STR]... [--ctx N] [--batch N] [--time-ms MS] [--kv-f16] [--raw-ids]\n"
                    "       [--exit-layers K] [--speculative D] [--draft-depth K]\n");
    return 2;
}

/* Streams the text as it becomes final: on_token reports only what no stop string can take back. */
typedef struct generate__stream {
    size_t printed;
    bool raw_ids;
} generate__stream;

static bool generate__on_token(void *user, int32_t token, const char *text, size_t len) {
    generate__stream *s = user;
    if (s->raw_ids) {
        printf("%" PRId32 " ", token);
    } else if (len > s->printed) {
        fwrite(text + s->printed, 1, len - s->printed, stdout);
        s->printed = len;
    }
    fflush(stdout);
    return true;
}

/* Parses "1 2 3" / "1,2,3" into ids; returns the count or -1 on a bad number. */
static long generate__parse_ids(const char *s, int32_t *out, size_t cap) {
    size_t n = 0;
    while (*s) {
        if (*s == ' ' || *s == ',' || *s == '\n' || *s == '\t') {
            s++;
            continue;
        }
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < INT32_MIN || v > INT32_MAX || n == cap) return -1;
        out[n++] = (int32_t)v;
        s = end;
    }
    return (long)n;
}

static const char *generate__stop_name(wisp_stop_reason r) {
    switch (r) {
    case WISP_STOP_NONE: return "none";
    case WISP_STOP_TOKEN: return "end token";
    case WISP_STOP_STRING: return "stop string";
    case WISP_STOP_MAX_TOKENS: return "max tokens";
    case WISP_STOP_TIME: return "time budget";
    case WISP_STOP_CALLBACK: return "callback";
    case WISP_STOP_CONTEXT: return "context full";
    }
    return "?";
}

int cmd_generate(int argc, char **argv) {
    const char *model_path = NULL, *prompt = NULL;
    const char *stops[16];
    size_t n_stops = 0;
    wisp_gen_params gp = {.max_tokens = 64};
    wisp_ctx_params cp = {0};
    bool raw_ids = false;
    long long exit_layers = 0, draft = 0, draft_depth = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(a, "--n") == 0 && has) gp.max_tokens = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(a, "--temp") == 0 && has) gp.sampling.temperature = strtof(argv[++i], NULL);
        else if (strcmp(a, "--top-k") == 0 && has) gp.sampling.top_k = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(a, "--top-p") == 0 && has) gp.sampling.top_p = strtof(argv[++i], NULL);
        else if (strcmp(a, "--seed") == 0 && has) gp.sampling.seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--ctx") == 0 && has) cp.n_ctx = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(a, "--batch") == 0 && has) cp.n_batch = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(a, "--time-ms") == 0 && has) gp.time_budget_ms = strtod(argv[++i], NULL);
        else if (strcmp(a, "--stop") == 0 && has && n_stops < 16) stops[n_stops++] = argv[++i];
        else if (strcmp(a, "--raw-ids") == 0) raw_ids = true;
        else if (strcmp(a, "--exit-layers") == 0 && has) exit_layers = strtoll(argv[++i], NULL, 10);
        else if (strcmp(a, "--speculative") == 0 && has) draft = strtoll(argv[++i], NULL, 10);
        else if (strcmp(a, "--draft-depth") == 0 && has) draft_depth = strtoll(argv[++i], NULL, 10);
        else if (strcmp(a, "--kv-f16") == 0) cp.kv_f16 = true;
        else if (a[0] == '-' && a[1] == '-') return generate__usage();
        else if (!model_path) model_path = a;
        else if (!prompt) prompt = a;
        else return generate__usage();
    }
    if (!model_path || !prompt) return generate__usage();

    cli_file file;
    wisp_model *model = cli_model_load(model_path, &file);
    if (!model) return 1;
    int rc = 1;
    wisp_error err;
    wisp_ctx *ctx = NULL;
    const wisp_tokenizer *tok = wisp_model_tokenizer(model);
    size_t cap = strlen(prompt) + 2;
    int32_t *ids = malloc(cap * sizeof(int32_t));
    if (!ids) goto done;
    size_t n = 0;
    bool add_bos = false;
    int32_t bos = wisp_tokenizer_special(tok, WISP_SPECIAL_BOS);
    if (!raw_ids && bos != WISP_NO_TOKEN && wisp_gguf_get_bool(wisp_model_gguf(model), "tokenizer.ggml.add_bos_token", &add_bos) &&
        add_bos)
        ids[n++] = bos;
    if (raw_ids) {
        long k = generate__parse_ids(prompt, ids, cap);
        if (k <= 0) {
            fprintf(stderr, "wisp generate: --raw-ids: \"%s\" is not a list of token ids\n", prompt);
            goto done;
        }
        n = (size_t)k;
    } else {
        int64_t k = wisp_tokenize(tok, prompt, strlen(prompt), true, ids + n, cap - n, &err);
        if (k < 0) {
            rc = cli_fail("tokenize", &err);
            goto done;
        }
        n += (size_t)k; /* never more ids than bytes */
    }
    ctx = wisp_ctx_new(model, &cp, &err);
    if (!ctx || cli_ctx_settings(ctx, exit_layers, draft, draft_depth, &err) != WISP_OK) {
        rc = cli_fail("context", &err);
        goto done;
    }
    generate__stream stream = {.raw_ids = raw_ids};
    gp.on_token = generate__on_token;
    gp.user = &stream;
    gp.stop_strings = stops;
    gp.n_stop_strings = n_stops;
    wisp_gen_result res;
    if (wisp_ctx_generate(ctx, ids, n, &gp, &res, &err) != WISP_OK) {
        rc = cli_fail("generate", &err);
        goto done;
    }
    if (!raw_ids && res.text_len > stream.printed)
        fwrite(res.text + stream.printed, 1, res.text_len - stream.printed, stdout);
    putchar('\n');
    fflush(stdout);
    size_t n_new = res.n_prompt - res.n_reused;
    fprintf(stderr,
            "prompt: %zu tokens, prefill %.2f ms (%.1f tok/s)\n"
            "generated: %zu tokens, decode %.2f ms (%.1f tok/s), stop: %s\n",
            res.n_prompt, res.prefill_ms, res.prefill_ms > 0 ? n_new * 1e3 / res.prefill_ms : 0.0,
            res.n_tokens, res.decode_ms, res.decode_ms > 0 ? res.n_tokens * 1e3 / res.decode_ms : 0.0,
            generate__stop_name(res.stop));
    if (res.n_drafted)
        fprintf(stderr, "speculative: %zu drafted, %zu accepted (%.1f%%)\n", res.n_drafted, res.n_accepted,
                100.0 * (double)res.n_accepted / (double)res.n_drafted);
    rc = 0;
done:
    free(ids);
    wisp_ctx_free(ctx);
    wisp_model_free(model);
    cli_file_free(&file);
    return rc;
}
