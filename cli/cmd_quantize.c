/*
 * wisp quantize IN OUT TYPE — writes a copy of a GGUF model with its weight matrices in TYPE
 * (q8_0, q4_0, f16, f32) using the engine's own quantizer, and prints the sizes. OUT is written
 * to a temporary file and renamed, so a failed run never leaves half a model (and IN == OUT is
 * safe even though IN is memory-mapped).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The target type named on the command line, or -1. */
static int quantize__parse_type(const char *s) {
    static const struct { const char *name; wisp_dtype type; } types[] = {
        {"q8_0", WISP_DTYPE_Q8_0}, {"q4_0", WISP_DTYPE_Q4_0},
        {"f16", WISP_DTYPE_F16},   {"f32", WISP_DTYPE_F32},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        const char *a = types[i].name, *b = s;
        while (*a && (*a == *b || *a == (*b | 0x20))) a++, b++; /* case-insensitive: Q8_0 */
        if (!*a && !*b) return (int)types[i].type;
    }
    return -1;
}

int cmd_quantize(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: wisp quantize IN OUT TYPE   (TYPE: q8_0, q4_0, f16, f32)\n");
        return 2;
    }
    int type = quantize__parse_type(argv[3]);
    if (type < 0) {
        fprintf(stderr, "wisp quantize: unknown type '%s' (expected q8_0, q4_0, f16 or f32)\n",
                argv[3]);
        return 2;
    }
    cli_file in;
    if (cli_file_read(argv[1], &in)) return 1;
    wisp_error err;
    size_t out_size = 0;
    void *out = wisp_quantize_gguf(in.data, in.size, (wisp_dtype)type, &out_size, &err);
    size_t in_size = in.size;
    cli_file_free(&in);
    if (!out) return cli_fail(argv[1], &err);
    int rc = cli_file_write(argv[2], out, out_size);
    free(out);
    if (rc) return 1;
    printf("%s: %zu bytes (%.2f MiB) -> %s: %zu bytes (%.2f MiB), %s, %.1f%% of the input\n",
           argv[1], in_size, in_size / 1048576.0, argv[2], out_size, out_size / 1048576.0,
           wisp_dtype_name((wisp_dtype)type), in_size ? 100.0 * out_size / in_size : 0.0);
    return 0;
}
