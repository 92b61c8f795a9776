/*
 * wisp gguf-order IN OUT [--manifest FILE] [--blocks-per-part N] — rewrites a GGUF model with its
 * tensor data in the order a progressive download needs it (wisp_gguf_reorder: embedding, output
 * norm and head, then block after block) and writes the manifest of its parts as JSON (stdout, or
 * FILE): for each part its byte range, the blocks it completes, the blocks ready once it and every
 * part before it have arrived (wisp_model_layers_ready), and its SHA-256, which the editors check
 * each downloaded part against. Part 0 is the header, metadata, tensor table and the head; then
 * one part per N blocks (default 1); the last part runs to the end of the file. OUT is loaded
 * back before anything is written, and may be IN (the rewrite is idempotent).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int order__usage(void) {
    fprintf(stderr, "usage: wisp gguf-order IN OUT [--manifest FILE] [--blocks-per-part N]\n");
    return 2;
}

/* The last path component. */
static const char *order__base(const char *path) {
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* One part as a JSON object: bytes [from, to) of `data`, completing blocks [b0, b1). */
static void order__part(FILE *f, const unsigned char *data, size_t from, size_t to, uint32_t b0, uint32_t b1,
                        uint32_t ready, bool last) {
    char hex[65];
    cli_sha256_hex(data + from, to - from, hex);
    fprintf(f, "    {\"offset\": %zu, \"size\": %zu, \"blocks\": [", from, to - from);
    for (uint32_t b = b0; b < b1; b++) fprintf(f, "%s%u", b > b0 ? ", " : "", b);
    fprintf(f, "], \"layers_ready\": %u, \"sha256\": \"%s\"}%s\n", ready, hex, last ? "" : ",");
}

/* The manifest of a reordered file: part k (k >= 1) ends where blocks up to k * per are ready. */
static void order__manifest(FILE *f, const char *name, const unsigned char *data, size_t size,
                            const wisp_model *m, uint32_t per) {
    const wisp_model_info *I = wisp_model_get_info(m);
    char hex[65];
    cli_sha256_hex(data, size, hex);
    fprintf(f, "{\n  \"file\": \"%s\",\n  \"size\": %zu,\n  \"sha256\": \"%s\",\n  \"block_count\": %u,\n"
               "  \"exit_layers\": %u,\n  \"parts\": [\n",
            name, size, hex, I->n_layer, I->exit_layers);
    size_t from = 0, to = wisp_model_bytes_needed(m, 0);
    order__part(f, data, 0, I->n_layer ? to : size, 0, 0, 0, I->n_layer == 0);
    for (uint32_t b = 0; b < I->n_layer; b += per) {
        uint32_t b1 = b + per < I->n_layer ? b + per : I->n_layer;
        from = to;
        to = b1 == I->n_layer ? size : wisp_model_bytes_needed(m, b1);
        order__part(f, data, from, to, b, b1, b1, b1 == I->n_layer);
    }
    fprintf(f, "  ]\n}\n");
}

int cmd_gguf_order(int argc, char **argv) {
    const char *in_path = NULL, *out_path = NULL, *manifest = NULL;
    long long per = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--manifest") && i + 1 < argc) manifest = argv[++i];
        else if (!strcmp(a, "--blocks-per-part") && i + 1 < argc) {
            if (!cli_parse_count(argv[++i], &per) || per < 1) return order__usage();
        } else if (a[0] == '-' && a[1] == '-') return order__usage();
        else if (!in_path) in_path = a;
        else if (!out_path) out_path = a;
        else return order__usage();
    }
    if (!in_path || !out_path) return order__usage();
    cli_file in;
    if (cli_file_read(in_path, &in)) return 1;
    wisp_error err;
    size_t size = 0;
    unsigned char *out = wisp_gguf_reorder(in.data, in.size, &size, &err);
    cli_file_free(&in);
    if (!out) return cli_fail(in_path, &err);
    int rc = 1;
    wisp_model *m = wisp_model_load(out, size, &err);
    if (!m) {
        rc = cli_fail(out_path, &err);
        goto done;
    }
    if (cli_file_write(out_path, out, size)) goto done;
    FILE *f = manifest ? fopen(manifest, "w") : stdout;
    if (!f) {
        perror(manifest);
        goto done;
    }
    order__manifest(f, order__base(out_path), out, size, m, per > UINT32_MAX ? UINT32_MAX : (uint32_t)per);
    rc = (f == stdout ? fflush(f) : fclose(f)) != 0;
    fprintf(stderr, "%s: %zu bytes in arrival order; the head is ready after %zu bytes, all %u blocks after %zu\n",
            out_path, size, wisp_model_bytes_needed(m, 0), wisp_model_get_info(m)->n_layer,
            wisp_model_bytes_needed(m, wisp_model_get_info(m)->n_layer));
done:
    wisp_model_free(m);
    free(out);
    return rc;
}
