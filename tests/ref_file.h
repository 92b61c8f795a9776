/*
 * Test helper: reads the reference files of fixtures/reference/ (written on the GPU machine by
 * scripts/device/make_reference.py; the layout is described there). Header-only,
 * for cmocka tests (include <cmocka.h> first): failures are cmocka assertions. Used by
 * test_forward.c and test_ctx.c.
 */
#ifndef WISP_TEST_REF_FILE_H
#define WISP_TEST_REF_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "read_file.h"

/* One reference prompt (see make_reference.py for the file layout). */
typedef struct ref_prompt {
    uint32_t n_tok, n_gen, n_pos;
    const int32_t *tokens;
    const int32_t *gen;
    const uint32_t *pos;
    const float *logits; /* (n_pos, n_vocab) */
    double nll;          /* torch's summed NLL of tokens + gen, natural log */
} ref_prompt;

typedef struct ref_file {
    uint8_t *blob;
    uint32_t n_vocab, n_prompts;
    ref_prompt p[64];
} ref_file;

static inline void ref_load(const char *path, ref_file *r) {
    size_t size;
    r->blob = (uint8_t *)wisp_read_file(path, &size);
    assert_non_null(r->blob);
    const uint8_t *p = r->blob, *end = r->blob + size;
    assert_memory_equal(p, "WREF", 4);
    uint32_t version;
    memcpy(&version, p + 4, 4);
    memcpy(&r->n_vocab, p + 8, 4);
    memcpy(&r->n_prompts, p + 12, 4);
    assert_int_equal(version, 1);
    assert_true(r->n_prompts <= 64);
    p += 16;
    for (uint32_t i = 0; i < r->n_prompts; i++) {
        ref_prompt *q = &r->p[i];
        memcpy(&q->n_tok, p, 4);
        memcpy(&q->n_gen, p + 4, 4);
        memcpy(&q->n_pos, p + 8, 4);
        p += 12;
        q->tokens = (const int32_t *)p; /* the blob is malloc'd and every field is 4-aligned */
        p += 4 * q->n_tok;
        q->gen = (const int32_t *)p;
        p += 4 * q->n_gen;
        q->pos = (const uint32_t *)p;
        p += 4 * q->n_pos;
        q->logits = (const float *)p;
        p += 4 * (size_t)q->n_pos * r->n_vocab;
        memcpy(&q->nll, p, 8);
        p += 8;
        assert_true(p <= end);
    }
    assert_true(p == end);
}

#endif
