/*
 * Token sampling: argmax, and temperature + top-k + top-p over a softmax, driven by our own
 * xorshift64* generator so that a seed means the same thing natively and in WebAssembly.
 */
#include <math.h>
#include <stdlib.h>

#include "sampler.h"

/* splitmix64 spreads any seed (0 included) over the state; xorshift64* must not start at 0. */
void wisp_rng_seed(wisp_rng *rng, uint64_t seed) {
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    rng->s = z ? z : 0x2545F4914F6CDD1Dull;
}

uint64_t wisp_rng_u64(wisp_rng *rng) {
    uint64_t x = rng->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

float wisp_rng_f32(wisp_rng *rng) { return (float)(wisp_rng_u64(rng) >> 40) / 16777216.0f; }

int32_t wisp_argmax(const float *logits, size_t n) {
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (logits[i] > logits[best]) best = i;
    return (int32_t)best;
}

/* Descending by probability, then ascending id, so equal probabilities order deterministically. */
static int sampler__cmp(const void *a, const void *b) {
    const wisp_prob *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Restores the heap below node i: a min-heap by likelihood, the least likely at the root. */
static void sampler__sift(wisp_prob *h, size_t k, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < k && sampler__cmp(&h[l], &h[w]) > 0) w = l;
        if (r < k && sampler__cmp(&h[r], &h[w]) > 0) w = r;
        if (w == i) return;
        wisp_prob t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

/* Moves the k most likely of c[0..n) to c[0..k) (in heap order): O(n log k). */
static void sampler__select_top(wisp_prob *c, size_t n, size_t k) {
    for (size_t i = k / 2; i-- > 0;) sampler__sift(c, k, i);
    for (size_t i = k; i < n; i++) {
        if (sampler__cmp(&c[i], &c[0]) < 0) { /* more likely than the least likely kept */
            c[0] = c[i];
            sampler__sift(c, k, 0);
        }
    }
}

int32_t wisp_sample(const float *logits, size_t n, const wisp_sampling *s, wisp_rng *rng,
                    wisp_prob *c) {
    if (!s || s->temperature <= 0.0f || n <= 1) return wisp_argmax(logits, n);
    float max = logits[wisp_argmax(logits, n)];
    float inv_t = 1.0f / s->temperature;
    bool use_p = s->top_p > 0.0f && s->top_p < 1.0f;
    size_t k = s->top_k > 0 && s->top_k < n ? s->top_k : n;

    double total = 0.0;
    for (size_t i = 0; i < n; i++) total += expf((logits[i] - max) * inv_t);
    /* Tokens below (1 - top_p) / (n - 1) of the mass can never be inside the nucleus unless it
     * needs all of them (llama2.c's trick), so a top-p-only call sorts a short list. */
    float cutoff = use_p && k == n ? (float)((1.0 - s->top_p) / (double)(n - 1) * total) : 0.0f;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        float p = expf((logits[i] - max) * inv_t);
        if (p >= cutoff) c[m++] = (wisp_prob){(int32_t)i, p};
    }
    if (k < m) {
        sampler__select_top(c, m, k);
        m = k;
    }
    double mass = 0.0;
    for (size_t i = 0; i < m; i++) mass += c[i].p;
    if (use_p) {
        qsort(c, m, sizeof *c, sampler__cmp);
        double want = s->top_p * mass, cum = 0.0;
        size_t keep = m;
        for (size_t i = 0; i < m; i++) {
            cum += c[i].p;
            if (cum >= want) {
                keep = i + 1;
                break;
            }
        }
        m = keep;
        mass = cum < want ? mass : cum;
    }
    double r = (double)wisp_rng_f32(rng) * mass, acc = 0.0;
    for (size_t i = 0; i < m; i++) {
        acc += c[i].p;
        if (r < acc) return c[i].id;
    }
    return c[m - 1].id; /* rounding: r fell on the total */
}
