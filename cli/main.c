/* wisp — the native command line: inspect models, tokenize, generate, quantize, complete. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
} command;

static const command commands[] = {
    {"info", cmd_info, "info MODEL                      metadata and tensor table of a GGUF file"},
    {"tokenize", cmd_tokenize, "tokenize MODEL TEXT             token ids and pieces"},
    {"generate", cmd_generate, "generate MODEL PROMPT [opts]    continue a prompt, with timings"},
    {"quantize", cmd_quantize, "quantize IN OUT TYPE            F32/F16 -> q8_0 | q4_0 | f16"},
    {"gguf-order", cmd_gguf_order, "gguf-order IN OUT [--manifest F] tensor data in download order, parts + SHA-256"},
    {"perplexity", cmd_perplexity, "perplexity MODEL FILE           perplexity of a text file"},
    {"complete", cmd_complete, "complete F:LINE:COL | --file F --offset N [--json] [--model M]"},
    {"prompt", cmd_prompt, "prompt F:LINE:COL               the assembled FIM prompt, labelled"},
    {"context", cmd_context, "context F:LINE:COL              what context extraction found"},
    {"serve", cmd_serve, "serve [--port N] [--threads N]   HTTP server: /infill, /v1/completions"},
};

static void usage(FILE *to) {
    fprintf(to, "usage: wisp COMMAND ...\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(to, "  wisp %s\n", commands[i].usage);
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "wisp: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
