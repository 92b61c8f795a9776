/*
 * wisp complete / wisp prompt: the completion pipeline on a file at a cursor. `complete` prints
 * exactly the text to insert and nothing else (the CLI's contract, ARCHITECTURE.md; the benchmark
 * scorer relies on it); `--json` prints candidates, the mode and timings instead. `prompt` prints the
 * assembled FIM prompt with its sections labelled.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The CLI answers within this wall-clock time unless told otherwise (--time-ms, 0 = none): a
 * late answer is cut, not dropped, so a caller with a timeout (the benchmark scorer allows 10 s)
 * gets text even on a loaded machine. */
#define COMPLETE_DEFAULT_TIME_MS 8000
#define COMPLETE_DEFAULT_CANDIDATES 3

/* Everything both commands read from the command line. */
typedef struct complete_args {
    const char *file;
    long long line, col;    /* 1-based, col in UTF-8 bytes; 0 = not given */
    long long offset;       /* -1 = not given */
    const char *model;
    const char *lang;
    const char *open[16];   /* other documents to open beside the file */
    int n_open;
    bool json;
    long long repeat;       /* run the completion this many times (warm timings); >= 1 */
    long long exit_layers;  /* blocks to run (wisp_ctx_set_depth); 0 = all */
    long long draft;        /* self-speculative decoding: tokens per draft, 0 = off */
    long long draft_depth;  /* blocks the draft runs; 0 = the model's exit */
    wisp_complete_params params;
} complete_args;

static const char *const complete_usage =
    "usage: wisp complete FILE:LINE:COL | --file FILE --offset N [options]\n"
    "       wisp prompt   FILE:LINE:COL | --file FILE --offset N [options]\n"
    "  LINE and COL are 1-based, COL in UTF-8 bytes; N is a UTF-8 byte offset.\n"
    "options:\n"
    "  --json             candidates, mode and timings as JSON (complete)\n"
    "  --model PATH       GGUF model (default: $WISP_MODEL or models/wisp-default.gguf)\n"
    "  --lang L           python | javascript | typescript | tsx | c (default: from the extension)\n"
    "  --open FILE        also open FILE (definitions are looked up there); repeatable\n"
    "  --max-tokens N     tokens per candidate      --max-lines N   lines of a block\n"
    "  --candidates N     1 to 8 (default 3: the first greedy, the others sampled at\n"
    "                     --temperature T, default 0.5) --seed S\n"
    "  --budget N         prompt tokens (default 512)\n"
    "  --exit-layers K    run only the first K blocks, then the norm and head (early exit)\n"
    "  --speculative D    greedy decoding drafts up to D tokens (1..4) with the first blocks\n"
    "                     and checks them with the full model in one batch (same answer)\n"
    "  --draft-depth K    blocks the draft runs (default: the model's exit)\n"
    "  --time-ms MS       wall-clock budget of the call (default 8000, 0 = none)\n"
    "  --repeat N         complete N times at the cursor; --json then shows the last (warm)\n"
    "                     call's timings and the first call's under \"cold\"\n"
    "  --no-path --no-scopes --no-defs --no-trim --no-heal   switch a context source off (ablation)\n"
    "  --no-repeat        no stop at a repeated line (ablation); --repeat-before: also stop\n"
    "                     at a line equal to one of the 3 before the cursor\n"
    "  --defs-before-suffix  definitions between the path and the suffix, not at the top of\n"
    "                     the prefix (the layout before the v2 model; ablation)\n";

/* Splits FILE:LINE:COL at its last two colons (a file name may hold colons); FILE is s itself, cut
 * at the first of them (argv's bytes: nothing to free). */
static bool complete__parse_loc(char *s, complete_args *a) {
    char *c2 = strrchr(s, ':');
    if (!c2 || c2 == s) return false;
    char *c1 = c2 - 1;
    while (c1 > s && *c1 != ':') c1--;
    if (*c1 != ':' || c1 == s) return false;
    char num[32];
    size_t n1 = (size_t)(c2 - c1 - 1);
    if (n1 == 0 || n1 >= sizeof num) return false;
    memcpy(num, c1 + 1, n1);
    num[n1] = '\0';
    if (!cli_parse_count(num, &a->line) || !cli_parse_count(c2 + 1, &a->col) || a->line < 1 || a->col < 1)
        return false;
    *c1 = '\0';
    a->file = s;
    return true;
}

/* Returns 0 on success, else the exit status (usage printed). */
static int complete__args(int argc, char **argv, complete_args *a) {
    memset(a, 0, sizeof *a);
    a->offset = -1;
    a->repeat = 1;
    a->params = wisp_complete_default_params();
    a->params.time_budget_ms = COMPLETE_DEFAULT_TIME_MS;
    /* as the editors (wasm/src/settings.ts): the greedy answer and two samples, the best of
     * them by parse and mean log-probability (bench/RESULTS.md "Dev benchmark: prompt layout,
     * prompt budget and sampled candidates") */
    a->params.n_candidates = COMPLETE_DEFAULT_CANDIDATES;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long long n;
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            fputs(complete_usage, stdout);
            return -1;
        } else if (!strcmp(s, "--json")) {
            a->json = true;
        } else if (!strcmp(s, "--no-path")) {
            a->params.sources &= ~(uint32_t)WISP_SOURCE_PATH;
        } else if (!strcmp(s, "--no-scopes")) {
            a->params.sources &= ~(uint32_t)WISP_SOURCE_SCOPES;
        } else if (!strcmp(s, "--no-defs")) {
            a->params.sources &= ~(uint32_t)WISP_SOURCE_DEFS;
        } else if (!strcmp(s, "--no-trim")) {
            a->params.sources &= ~(uint32_t)WISP_SOURCE_TRIM;
        } else if (!strcmp(s, "--no-heal")) {
            a->params.sources &= ~(uint32_t)WISP_SOURCE_HEAL;
        } else if (!strcmp(s, "--no-repeat")) {
            a->params.sources &= ~(uint32_t)WISP_SOURCE_REPEAT;
        } else if (!strcmp(s, "--repeat-before")) {
            a->params.sources |= WISP_SOURCE_REPEAT_BEFORE;
        } else if (!strcmp(s, "--defs-before-suffix")) {
            a->params.sources &= ~(uint32_t)WISP_SOURCE_DEFS_IN_PREFIX;
        } else if (s[0] == '-' && s[1] == '-' && v) {
            i++;
            if (!strcmp(s, "--file")) a->file = v;
            else if (!strcmp(s, "--model")) a->model = v;
            else if (!strcmp(s, "--lang")) a->lang = v;
            else if (!strcmp(s, "--open") && a->n_open < 16) a->open[a->n_open++] = v;
            else if (!strcmp(s, "--temperature")) a->params.temperature = strtof(v, NULL);
            else if (!cli_parse_count(v, &n)) {
                fprintf(stderr, "wisp: %s needs a number, not '%s'\n", s, v);
                return 2;
            } else if (!strcmp(s, "--offset")) a->offset = n;
            else if (!strcmp(s, "--max-tokens")) a->params.max_tokens = (uint32_t)n;
            else if (!strcmp(s, "--max-lines")) a->params.max_lines = (uint32_t)n;
            else if (!strcmp(s, "--candidates")) a->params.n_candidates = (uint32_t)n;
            else if (!strcmp(s, "--seed")) a->params.seed = (uint64_t)n;
            else if (!strcmp(s, "--budget")) a->params.prompt_tokens = (uint32_t)n;
            else if (!strcmp(s, "--time-ms")) a->params.time_budget_ms = (double)n;
            else if (!strcmp(s, "--repeat")) a->repeat = n < 1 ? 1 : n > 100 ? 100 : n;
            else if (!strcmp(s, "--exit-layers")) a->exit_layers = n;
            else if (!strcmp(s, "--speculative")) a->draft = n;
            else if (!strcmp(s, "--draft-depth")) a->draft_depth = n;
            else {
                fprintf(stderr, "wisp: unknown option %s\n%s", s, complete_usage);
                return 2;
            }
        } else if (s[0] != '-' && !a->file) {
            if (!complete__parse_loc(argv[i], a)) {
                fprintf(stderr, "wisp: '%s' is not FILE:LINE:COL (1-based)\n", s);
                return 2;
            }
        } else {
            fprintf(stderr, "wisp: unexpected argument '%s'\n%s", s, complete_usage);
            return 2;
        }
    }
    if (!a->file || (a->offset < 0 && a->line == 0)) {
        fputs(complete_usage, stderr);
        return 2;
    }
    return 0;
}

/* What a command works on: the model buffer, the engine, the document and the cursor. */
typedef struct complete_session {
    cli_file model_file, src_file;
    wisp_engine *engine;
    wisp_doc *doc;
    size_t pos_u8;
    double load_ms, parse_ms;
} complete_session;

/* Frees what complete__open set up (safe on a half-opened session). */
static void complete__close(complete_session *s) {
    wisp_engine_free(s->engine);
    cli_file_free(&s->model_file);
    cli_file_free(&s->src_file);
}

/* Loads the model, opens the file (and --open files) and resolves the cursor; prints the error
 * and returns nonzero on failure. */
static int complete__open(const complete_args *a, complete_session *s) {
    memset(s, 0, sizeof *s);
    wisp_error err;
    if (cli_file_read(a->file, &s->src_file)) return 1;
    wisp_lang lang = a->lang ? wisp_lang_from_name(a->lang) : wisp_lang_from_path(a->file);
    if (lang == WISP_LANG_NONE) {
        fprintf(stderr, "wisp: %s: unknown language (use --lang python|javascript|typescript|tsx|c)\n",
                a->lang ? a->lang : a->file);
        return 1;
    }
    const char *model_path = cli_model_path(a->model);
    if (cli_file_read(model_path, &s->model_file)) return 1;
    double t0 = wisp_now_ms();
    s->engine = wisp_engine_new(s->model_file.data, s->model_file.size, NULL, &err);
    if (!s->engine) return cli_fail(model_path, &err);
    if (cli_ctx_settings(wisp_engine_ctx(s->engine), a->exit_layers, a->draft, a->draft_depth, &err) != WISP_OK)
        return cli_fail(model_path, &err);
    double t1 = wisp_now_ms();
    s->load_ms = t1 - t0;
    wisp_docs *docs = wisp_engine_docs(s->engine);
    s->doc = wisp_doc_open(docs, a->file, lang, s->src_file.data, s->src_file.size, &err);
    if (!s->doc) return cli_fail(a->file, &err);
    s->parse_ms = wisp_now_ms() - t1;
    for (int i = 0; i < a->n_open; i++) {
        cli_file f;
        if (cli_file_read(a->open[i], &f)) return 1;
        wisp_lang ol = wisp_lang_from_path(a->open[i]);
        wisp_doc *d = wisp_doc_open(docs, a->open[i], ol != WISP_LANG_NONE ? ol : lang, f.data, f.size, &err);
        cli_file_free(&f);
        if (!d) return cli_fail(a->open[i], &err);
    }
    if (a->offset >= 0) {
        size_t len;
        wisp_doc_text(s->doc, &len);
        if ((size_t)a->offset > len) {
            fprintf(stderr, "wisp: %s: offset %lld is past the end (%zu bytes)\n", a->file, a->offset, len);
            return 1;
        }
        s->pos_u8 = (size_t)a->offset;
    } else {
        wisp_pos p;
        if (wisp_doc_pos_at_line_col(s->doc, (size_t)a->line - 1, (size_t)a->col - 1, WISP_UNIT_U8, &p,
                                     &err) != WISP_OK) {
            size_t lines = wisp_doc_line_count(s->doc);
            if (err.code == WISP_ERR_RANGE && (size_t)a->line > lines)
                fprintf(stderr, "wisp: %s: line %lld is past the end (the file has %zu lines)\n", a->file, a->line,
                        lines);
            else if (err.code == WISP_ERR_RANGE)
                fprintf(stderr, "wisp: %s: column %lld is past the end of line %lld\n", a->file, a->col, a->line);
            else
                return cli_fail(a->file, &err);
            return 1;
        }
        s->pos_u8 = p.pos_u8;
    }
    return 0;
}

/* Writes `n` bytes as a JSON string: escapes, and U+FFFD for bytes that are not UTF-8. */
static void complete__json_str(FILE *f, const char *s, size_t n) {
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else if (c < 0x80) fputc(c, f);
        else {
            size_t k = wisp_utf8_len(s + i, n - i);
            if (k) {
                fwrite(s + i, 1, k, f);
                i += k - 1;
            } else {
                fputs("\\ufffd", f);
            }
        }
    }
    fputc('"', f);
}

/* The JSON name of a stop reason. */
static const char *complete__stop_name(wisp_stop_reason r) {
    static const char *const names[] = {"none", "token", "string", "max_tokens", "time", "callback", "context"};
    return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "?";
}

/* The --json output: candidates, mode, timings (the last call's, the first's under "cold"). */
static void complete__print_json(const complete_session *s, const wisp_completion *c,
                                 const wisp_complete_timings *cold) {
    const wisp_complete_timings *t = &c->timings;
    printf("{\"mode\":\"%s\",\"lang\":\"%s\",\"offset\":%zu,\"candidates\":[", wisp_mode_name(c->mode),
           wisp_lang_name(c->lang), s->pos_u8);
    for (size_t i = 0; i < c->n_candidates; i++) {
        const wisp_candidate *k = &c->candidates[i];
        printf("%s{\"text\":", i ? "," : "");
        complete__json_str(stdout, k->text, k->text_len);
        printf(",\"start\":%zu,\"end\":%zu,\"parses\":%s,\"errors\":%u,\"tokens\":%u,\"logprob\":%.4f,\"stop\":\"%s\"}",
               k->start_u8, k->end_u8, k->parses ? "true" : "false", k->n_errors, k->n_tokens, (double)k->mean_logprob,
               complete__stop_name(k->stop));
    }
    double outside = s->parse_ms + t->context_ms + t->prompt_ms + t->trim_ms;
    printf("],\"timings\":{\"load_ms\":%.3f,\"parse_ms\":%.3f,\"context_ms\":%.3f,\"prompt_ms\":%.3f,"
           "\"prefill_ms\":%.3f,\"decode_ms\":%.3f,\"trim_ms\":%.3f,\"total_ms\":%.3f,\"outside_model_ms\":%.3f},"
           "\"tokens\":{\"prompt\":%u,\"reused\":%u,\"generated\":%u,\"drafted\":%u,\"accepted\":%u}",
           s->load_ms, s->parse_ms, t->context_ms, t->prompt_ms, t->prefill_ms, t->decode_ms, t->trim_ms,
           t->total_ms, outside, t->n_prompt, t->n_reused, t->n_generated, t->n_drafted, t->n_accepted);
    if (cold)
        printf(",\"cold\":{\"context_ms\":%.3f,\"prompt_ms\":%.3f,\"prefill_ms\":%.3f,\"decode_ms\":%.3f,"
               "\"trim_ms\":%.3f,\"total_ms\":%.3f,\"reused\":%u}",
               cold->context_ms, cold->prompt_ms, cold->prefill_ms, cold->decode_ms, cold->trim_ms, cold->total_ms,
               cold->n_reused);
    printf("}\n");
}

int cmd_complete(int argc, char **argv) {
    complete_args a;
    int rc = complete__args(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    complete_session s;
    if (complete__open(&a, &s)) {
        complete__close(&s);
        return 1;
    }
    wisp_completion c;
    wisp_error err;
    wisp_complete_timings cold;
    wisp_status st = WISP_OK;
    for (long long i = 0; i < a.repeat && st == WISP_OK; i++) {
        st = wisp_complete(s.engine, s.doc, s.pos_u8, &a.params, &c, &err);
        if (i == 0) cold = c.timings;
    }
    if (st != WISP_OK) {
        rc = cli_fail(a.file, &err);
    } else if (a.json) {
        complete__print_json(&s, &c, a.repeat > 1 ? &cold : NULL);
    } else if (c.n_candidates > 0) {
        fwrite(c.candidates[0].text, 1, c.candidates[0].text_len, stdout);
    }
    if (fflush(stdout) != 0) rc = 1;
    complete__close(&s);
    return rc;
}

int cmd_prompt(int argc, char **argv) {
    complete_args a;
    int rc = complete__args(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    complete_session s;
    if (complete__open(&a, &s)) {
        complete__close(&s);
        return 1;
    }
    wisp_error err;
    size_t len = 0;
    const char *text = wisp_engine_prompt_text(s.engine, s.doc, s.pos_u8, &a.params, &len, &err);
    if (!text) rc = cli_fail(a.file, &err);
    else fwrite(text, 1, len, stdout);
    complete__close(&s);
    return rc;
}

