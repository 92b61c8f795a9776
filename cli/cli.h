/* The `wisp` command: one file per subcommand (cmd_*.c), shared helpers in util.c. */
#ifndef WISP_CLI_H
#define WISP_CLI_H

#include <stddef.h>
#include "wisp_grammar.h"

/* A whole file in memory (mmap'd when possible). Free with cli_file_free. */
typedef struct cli_file {
    void *data;
    size_t size;
    int mapped;
} cli_file;

/* Reads `path`; on failure prints "wisp: <path>: <reason>" to stderr and returns nonzero. */
int cli_file_read(const char *path, cli_file *out);
void cli_file_free(cli_file *f);
/* Writes `size` bytes to `path` via `path.tmp` + rename, so a failed run never leaves half a
 * file (and `path` may be a file that is mapped as input); prints the reason and returns nonzero
 * on failure. */
int cli_file_write(const char *path, const void *data, size_t size);

/* The SHA-256 of n bytes as 64 lowercase hex digits and a NUL (cli/sha256.c). */
void cli_sha256_hex(const void *data, size_t n, char hex[65]);

/* The model to use: `--model` if given, else $WISP_MODEL, else the shipped default
 * (models/ beside the executable's source tree, see cli/util.c). Never NULL. */
const char *cli_model_path(const char *flag_value);

/* Loads a model file into `file` and the model; prints the error and returns NULL on failure. */
wisp_model *cli_model_load(const char *path, cli_file *file);

/* A non-negative decimal number, all of `s` (an option's value). */
bool cli_parse_count(const char *s, long long *out);

/* The context settings the model-running commands share: --exit-layers (wisp_ctx_set_depth),
 * --speculative and --draft-depth (wisp_ctx_set_speculative); 0 = the default of each. */
wisp_status cli_ctx_settings(wisp_ctx *ctx, long long exit_layers, long long draft, long long draft_depth,
                             wisp_error *err);

/* Prints "wisp: <what>: <message>" to stderr and returns 1, for `return cli_fail(...)`. */
int cli_fail(const char *what, const wisp_error *err);

int cmd_info(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_complete(int argc, char **argv);
int cmd_prompt(int argc, char **argv);
int cmd_context(int argc, char **argv);
int cmd_perplexity(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_gguf_order(int argc, char **argv);

#endif
