/*
 * The one whole-file reader of tests/ and bench/ (the CLI's is cli_file_read, which maps the file):
 * a malloc'd copy of the file with a NUL after it (not counted in *len), freed by the caller;
 * NULL with *len = 0 when the file cannot be read. Header-only.
 */
#ifndef WISP_TEST_READ_FILE_H
#define WISP_TEST_READ_FILE_H

#include <stdio.h>
#include <stdlib.h>

static inline char *wisp_read_file(const char *path, size_t *len) {
    size_t dummy;
    if (!len) len = &dummy;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *p = NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) != NULL) {
        if (fread(p, 1, (size_t)n, f) == (size_t)n) {
            p[n] = '\0';
            *len = (size_t)n;
        } else {
            free(p);
            p = NULL;
        }
    }
    fclose(f);
    return p;
}

#endif
