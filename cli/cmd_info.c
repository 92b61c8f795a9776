/*
 * wisp info MODEL — everything a GGUF file says about itself: version, alignment, every metadata
 * key with its type and value (arrays: element type, length and the first few elements), the
 * tensor table (name, type, shape, offset, bytes) and totals. For checking converters and
 * quantizer output without Python.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define INFO_ARRAY_PREVIEW 8  /* array elements shown */
#define INFO_STRING_PREVIEW 80 /* bytes of a string shown */

static const char *info__type_name(wisp_gguf_type t) {
    static const char *names[] = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
                                  "bool", "string", "array", "uint64", "int64", "float64"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

/* Prints a file string quoted, with control bytes escaped and long strings cut. */
static void info__print_str(wisp_str s) {
    putchar('"');
    uint64_t n = s.len < INFO_STRING_PREVIEW ? s.len : INFO_STRING_PREVIEW;
    for (uint64_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c == '\n') printf("\\n");
        else if (c == '\t') printf("\\t");
        else if (c < 0x20 || c == 0x7f) printf("\\x%02x", c);
        else putchar(c);
    }
    putchar('"');
    if (s.len > n) printf("...(%" PRIu64 " bytes)", s.len);
}

static bool info__is_int(wisp_gguf_type t) {
    return t <= WISP_GGUF_INT32 || t == WISP_GGUF_UINT64 || t == WISP_GGUF_INT64;
}

/* Prints a number the way its type suggests (integers exactly, floats with %g). */
static void info__print_number(wisp_gguf_type t, double v) {
    if (t == WISP_GGUF_BOOL) printf("%s", v != 0 ? "true" : "false");
    else if (info__is_int(t)) printf("%.0f", v);
    else printf("%g", v);
}

/* The key of kv i as a C string for the by-name getters (malloc'd), or NULL when it holds a NUL
 * byte and so cannot be looked up by name. */
static char *info__key_cstr(wisp_str key) {
    if (memchr(key.ptr, 0, (size_t)key.len)) return NULL;
    char *k = malloc((size_t)key.len + 1);
    if (!k) return NULL;
    memcpy(k, key.ptr, (size_t)key.len);
    k[key.len] = 0;
    return k;
}

static void info__print_value(const wisp_gguf *g, int64_t i) {
    wisp_gguf_type t = wisp_gguf_kv_type(g, i);
    if (t != WISP_GGUF_ARRAY) {
        char *k = info__key_cstr(wisp_gguf_key(g, i));
        wisp_str s;
        int64_t iv;
        double v;
        if (!k) printf("(key holds a NUL byte)");
        else if (t == WISP_GGUF_STRING && wisp_gguf_get_str(g, k, &s)) info__print_str(s);
        else if ((t == WISP_GGUF_UINT64 || t == WISP_GGUF_INT64) && wisp_gguf_get_i64(g, k, &iv))
            printf("%" PRId64, iv); /* exact, beyond double's 2^53 */
        else if (wisp_gguf_scalar_f64(g, i, &v)) info__print_number(t, v);
        free(k);
        return;
    }
    wisp_gguf_type et = wisp_gguf_arr_type(g, i);
    uint64_t n = wisp_gguf_arr_len(g, i);
    printf("[");
    for (uint64_t j = 0; j < n && j < INFO_ARRAY_PREVIEW; j++) {
        if (j) printf(", ");
        wisp_str s;
        int64_t iv;
        double v;
        if (et == WISP_GGUF_STRING && wisp_gguf_arr_str(g, i, j, &s)) info__print_str(s);
        else if (info__is_int(et) && wisp_gguf_arr_i64(g, i, j, &iv)) printf("%" PRId64, iv);
        else if (wisp_gguf_arr_f64(g, i, j, &v)) info__print_number(et, v);
        else printf("[...]"); /* an array of arrays: validated, not shown */
    }
    if (n > INFO_ARRAY_PREVIEW) printf(", ...");
    printf("]");
}

int cmd_info(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: wisp info MODEL\n");
        return 2;
    }
    cli_file f;
    if (cli_file_read(argv[1], &f)) return 1;
    wisp_error err;
    wisp_gguf *g = wisp_gguf_open(f.data, f.size, &err);
    if (!g) {
        cli_fail(argv[1], &err);
        cli_file_free(&f);
        return 1;
    }
    int64_t n_kv = wisp_gguf_n_kv(g), n_t = wisp_gguf_n_tensors(g);
    printf("%s: GGUF v%u, %zu bytes, alignment %" PRIu64 ", %" PRId64 " keys, %" PRId64
           " tensors\n\nmetadata:\n",
           argv[1], wisp_gguf_version(g), f.size, wisp_gguf_alignment(g), n_kv, n_t);
    for (int64_t i = 0; i < n_kv; i++) {
        wisp_str key = wisp_gguf_key(g, i);
        wisp_gguf_type t = wisp_gguf_kv_type(g, i);
        char type[48];
        if (t == WISP_GGUF_ARRAY)
            snprintf(type, sizeof type, "%s[%" PRIu64 "]", info__type_name(wisp_gguf_arr_type(g, i)),
                     wisp_gguf_arr_len(g, i));
        else
            snprintf(type, sizeof type, "%s", info__type_name(t));
        printf("  %-40.*s %-16s ", (int)key.len, key.ptr, type);
        info__print_value(g, i);
        printf("\n");
    }

    printf("\ntensors:\n  %-40s %-6s %-24s %12s %12s\n", "name", "type", "shape", "offset", "bytes");
    uint64_t total_bytes = 0, total_elems = 0;
    uint64_t bytes_by_type[64] = {0}, count_by_type[64] = {0};
    for (int64_t i = 0; i < n_t; i++) {
        const wisp_gguf_tensor *t = wisp_gguf_tensor_at(g, i);
        char shape[96];
        int len = 0;
        uint64_t elems = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) {
            len += snprintf(shape + len, sizeof shape - (size_t)len, "%s%" PRIu64, d ? " x " : "",
                            t->ne[d]);
            elems *= t->ne[d];
        }
        printf("  %-40.*s %-6s %-24s %12" PRIu64 " %12" PRIu64 "\n", (int)t->name.len, t->name.ptr,
               wisp_dtype_name(t->type), shape, t->offset, t->size);
        total_bytes += t->size;
        total_elems += elems;
        if ((unsigned)t->type < 64) {
            bytes_by_type[t->type] += t->size;
            count_by_type[t->type]++;
        }
    }
    printf("\ntotals: %" PRId64 " tensors, %" PRIu64 " elements (%.2f M), %" PRIu64
           " bytes of tensor data (%.2f MiB)\n",
           n_t, total_elems, total_elems / 1e6, total_bytes, total_bytes / 1048576.0);
    for (unsigned ty = 0; ty < 64; ty++)
        if (count_by_type[ty])
            printf("  %-6s %4" PRIu64 " tensors %12" PRIu64 " bytes\n",
                   wisp_dtype_name((wisp_dtype)ty), count_by_type[ty], bytes_by_type[ty]);
    uint32_t ftype;
    if (wisp_gguf_get_u32(g, "general.file_type", &ftype)) printf("  general.file_type %u\n", ftype);
    wisp_gguf_free(g);
    cli_file_free(&f);
    return 0;
}
