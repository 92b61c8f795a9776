/*
 * An engine over a model file as a cmocka group fixture, for the tests that drive wisp_complete:
 * `engine_fixture_setup(state, path)` reads the file and builds the engine (-1, with a message on
 * stderr, when either fails), `engine_fixture_teardown` frees both. Tests read `fixture->engine`.
 * Header-only.
 */
#ifndef WISP_TEST_ENGINE_FIXTURE_H
#define WISP_TEST_ENGINE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "read_file.h"
#include "wisp_grammar.h"

typedef struct fixture {
    char *model;
    size_t size;
    wisp_engine *engine;
} fixture;

static inline int engine_fixture_setup(void **state, const char *path) {
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx) return -1;
    fx->model = wisp_read_file(path, &fx->size);
    if (!fx->model) {
        fprintf(stderr, "%s missing\n", path);
        free(fx);
        return -1;
    }
    wisp_error err;
    fx->engine = wisp_engine_new(fx->model, fx->size, NULL, &err);
    if (!fx->engine) {
        fprintf(stderr, "engine: %s\n", err.message);
        free(fx->model);
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static inline int engine_fixture_teardown(void **state) {
    fixture *fx = *state;
    wisp_engine_free(fx->engine);
    free(fx->model);
    free(fx);
    return 0;
}

#endif
