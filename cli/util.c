/* Helpers shared by the subcommands: file reading, model lookup, error printing. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#ifndef WISP_SOURCE_DIR
#define WISP_SOURCE_DIR "."
#endif

int cli_file_read(const char *path, cli_file *out) {
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "wisp: %s: %s\n", path, strerror(errno));
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "wisp: %s: not a regular file\n", path);
        close(fd);
        return 1;
    }
    out->size = (size_t)st.st_size;
    if (out->size == 0) { /* mmap of 0 bytes fails; an empty buffer is still a valid answer */
        out->data = malloc(1);
        close(fd);
        return out->data ? 0 : 1;
    }
    void *p = mmap(NULL, out->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        fprintf(stderr, "wisp: %s: %s\n", path, strerror(errno));
        return 1;
    }
    out->data = p;
    out->mapped = 1;
    return 0;
}

void cli_file_free(cli_file *f) {
    if (!f || !f->data) return;
    if (f->mapped) munmap(f->data, f->size);
    else free(f->data);
    f->data = NULL;
}

int cli_file_write(const char *path, const void *data, size_t size) {
    size_t n = strlen(path) + 5;
    char *tmp = malloc(n);
    if (!tmp) return 1;
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(data, 1, size, f) == size;
    if (f && fclose(f) != 0) ok = 0;
    if (ok && rename(tmp, path) != 0) ok = 0;
    if (!ok) {
        int e = errno; /* before remove() can change it */
        fprintf(stderr, "wisp: %s: %s\n", path, strerror(e ? e : EIO));
        remove(tmp);
    }
    free(tmp);
    return !ok;
}

const char *cli_model_path(const char *flag_value) {
    if (flag_value && *flag_value) return flag_value;
    const char *env = getenv("WISP_MODEL");
    if (env && *env) return env;
    return WISP_SOURCE_DIR "/models/wisp-default.gguf";
}

wisp_model *cli_model_load(const char *path, cli_file *file) {
    if (cli_file_read(path, file)) return NULL;
    wisp_error err;
    wisp_model *m = wisp_model_load(file->data, file->size, &err);
    if (!m) {
        cli_fail(path, &err);
        cli_file_free(file);
    }
    return m;
}

bool cli_parse_count(const char *s, long long *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno || v < 0) return false;
    *out = v;
    return true;
}

/* An option's count for a uint32 setting; a number past the range stays out of range. */
static uint32_t cli__u32(long long v) { return v < 0 ? 0 : v > (long long)UINT32_MAX ? UINT32_MAX : (uint32_t)v; }

wisp_status cli_ctx_settings(wisp_ctx *ctx, long long exit_layers, long long draft, long long draft_depth,
                             wisp_error *err) {
    wisp_status st = wisp_ctx_set_depth(ctx, cli__u32(exit_layers), err);
    return st != WISP_OK ? st : wisp_ctx_set_speculative(ctx, cli__u32(draft), cli__u32(draft_depth), err);
}

int cli_fail(const char *what, const wisp_error *err) {
    fprintf(stderr, "wisp: %s: %s\n", what, err ? err->message : "failed");
    return 1;
}
