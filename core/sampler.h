/*
 * Internal: picking the next token from logits — greedy, or temperature + top-k + top-p with a
 * seeded generator of our own (so a seed gives the same tokens on every platform).
 */
#ifndef WISP_SAMPLER_H
#define WISP_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "wisp.h"

/* xorshift64* state; never zero. */
typedef struct wisp_rng {
    uint64_t s;
} wisp_rng;

/* A candidate token and its (unnormalized) probability. */
typedef struct wisp_prob {
    int32_t id;
    float p;
} wisp_prob;

void wisp_rng_seed(wisp_rng *rng, uint64_t seed);
uint64_t wisp_rng_u64(wisp_rng *rng);
/* Uniform in [0, 1), 24 bits of resolution. */
float wisp_rng_f32(wisp_rng *rng);

/* Index of the largest logit; the first one on ties (as torch.argmax). */
int32_t wisp_argmax(const float *logits, size_t n);

/*
 * Samples a token from n logits under `s`: temperature <= 0 is greedy; otherwise softmax at that
 * temperature, restricted to the top_k most likely (0 = all), then to the smallest set whose
 * probability reaches top_p (>= 1 or <= 0 = off). `scratch` holds n entries. Deterministic for a
 * given rng state.
 */
int32_t wisp_sample(const float *logits, size_t n, const wisp_sampling *s, wisp_rng *rng,
                    wisp_prob *scratch);

#endif
