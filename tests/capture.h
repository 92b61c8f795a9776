/*
 * Test helper: the whole standard output of a shell command (for `xz -dc`, `cat`, the built
 * `wisp`). Header-only. Used by test_tokenizer.c and test_model_default.c.
 */
#ifndef WISP_TEST_CAPTURE_H
#define WISP_TEST_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>

/* NUL-terminated output in a malloc'd buffer (caller frees), its length in *len; NULL when the
 * command cannot start, exits non-zero, or memory runs out. */
static char *capture(const char *cmd, size_t *len) {
    FILE *f = popen(cmd, "r");
    if (!f) return NULL;
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            char *grown = realloc(buf, (cap *= 2) + 1);
            if (!grown) free(buf);
            buf = grown;
        }
    }
    if (pclose(f) != 0 || !buf) {
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

#endif
