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

int cli_fail(const char *what, const wisp_error *err) {
    fprintf(stderr, "wisp: %s: %s\n", what, err ? err->message : "failed");
    return 1;
}
