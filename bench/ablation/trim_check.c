/*
 * Measures the trimming rules alone, without a model: for each dev case the "model" answers with
 * the expected middle followed by the file's own continuation (what a model that runs on past the
 * middle would say), and trim_completion must cut it back to the middle. Reads records from stdin
 * (see trim_check.py, which drives it and scores the aggregate) and writes the cut texts.
 *
 * record in:  u32 lang, u32 shape, then prefix, suffix, raw as (u32 length, bytes)
 * record out: u32 length, bytes
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trim.h"

static int read_u32(uint32_t *v) { return fread(v, 4, 1, stdin) == 1; }

static char *read_blob(uint32_t *n) {
    if (!read_u32(n)) return NULL;
    char *p = malloc(*n + 1);
    if (!p || fread(p, 1, *n, stdin) != *n) exit(2);
    p[*n] = 0;
    return p;
}

int main(void) {
    uint32_t lang, shape;
    while (read_u32(&lang) && read_u32(&shape)) {
        uint32_t np, ns, nr;
        char *prefix = read_blob(&np), *suffix = read_blob(&ns), *raw = read_blob(&nr);
        if (!prefix || !suffix || !raw) return 2;
        char *doc = malloc(np + ns + 1);
        memcpy(doc, prefix, np);
        memcpy(doc + np, suffix, ns);
        trim_input in = {(wisp_lang)lang, (trim_shape)shape, prefix, np, suffix, ns, shape == TRIM_SHAPE_BLOCK ? 12 : shape == TRIM_SHAPE_ARGS ? 8 : 1,
                         trim_detect_style(doc, np + ns), true};
        char *out;
        size_t len;
        if (trim_completion(&in, raw, nr, &out, &len, NULL) != WISP_OK) return 3;
        uint32_t n = (uint32_t)len;
        fwrite(&n, 4, 1, stdout);
        fwrite(out, 1, len, stdout);
        free(out);
        free(doc);
        free(prefix);
        free(suffix);
        free(raw);
    }
    return 0;
}
