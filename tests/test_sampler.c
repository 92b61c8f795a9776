/*
 * The sampler: argmax ties, the seeded generator, and that temperature / top-k / top-p sample
 * from the distribution they promise (frequencies over many draws within a stated tolerance).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sampler.h"

#define N_DRAWS 40000
/* 4 standard deviations of a frequency estimate over N_DRAWS draws (sd <= 0.5 / sqrt(N)). */
#define FREQ_TOL 0.01

static void test_argmax(void **state) {
    float l[5] = {1, 3, 2, 3, -1};
    assert_int_equal(wisp_argmax(l, 5), 1); /* first of the tied maxima, as torch */
    float neg[3] = {-5, -4, -4.5f};
    assert_int_equal(wisp_argmax(neg, 3), 1);
    assert_int_equal(wisp_argmax(neg, 1), 0);
}

static void test_rng(void **state) {
    wisp_rng a, b;
    wisp_rng_seed(&a, 42);
    wisp_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++) assert_true(wisp_rng_u64(&a) == wisp_rng_u64(&b));
    wisp_rng_seed(&b, 43);
    assert_true(wisp_rng_u64(&a) != wisp_rng_u64(&b));
    wisp_rng_seed(&a, 0); /* seed 0 is fine */
    double sum = 0;
    for (int i = 0; i < N_DRAWS; i++) {
        float u = wisp_rng_f32(&a);
        assert_true(u >= 0.0f && u < 1.0f);
        sum += u;
    }
    assert_true(fabs(sum / N_DRAWS - 0.5) < FREQ_TOL);
}

/* Frequencies of ids 0..3 over N_DRAWS samples. */
static void draw(const float *logits, const wisp_sampling *s, double freq[4]) {
    wisp_rng rng;
    wisp_rng_seed(&rng, s->seed);
    wisp_prob scratch[4];
    int count[4] = {0};
    for (int i = 0; i < N_DRAWS; i++) {
        int32_t id = wisp_sample(logits, 4, s, &rng, scratch);
        assert_true(id >= 0 && id < 4);
        count[id]++;
    }
    for (int i = 0; i < 4; i++) freq[i] = (double)count[i] / N_DRAWS;
}

static void test_distributions(void **state) {
    /* probabilities 0.5, 0.3, 0.15, 0.05 at temperature 1 */
    float l[4] = {logf(0.5f), logf(0.3f), logf(0.15f), logf(0.05f)};
    double f[4];

    wisp_sampling greedy = {.temperature = 0};
    draw(l, &greedy, f);
    assert_true(f[0] == 1.0);

    wisp_sampling plain = {.temperature = 1.0f, .seed = 1};
    draw(l, &plain, f);
    const double p[4] = {0.5, 0.3, 0.15, 0.05};
    for (int i = 0; i < 4; i++) assert_true(fabs(f[i] - p[i]) < FREQ_TOL);

    /* temperature 0.5 squares the odds: 0.25 : 0.09 : 0.0225 : 0.0025 */
    wisp_sampling cold = {.temperature = 0.5f, .seed = 2};
    draw(l, &cold, f);
    double z = 0.25 + 0.09 + 0.0225 + 0.0025;
    assert_true(fabs(f[0] - 0.25 / z) < FREQ_TOL);
    assert_true(fabs(f[1] - 0.09 / z) < FREQ_TOL);

    /* top-k 2 renormalizes over the two best: 0.625 / 0.375 */
    wisp_sampling k2 = {.temperature = 1.0f, .top_k = 2, .seed = 3};
    draw(l, &k2, f);
    assert_true(fabs(f[0] - 0.625) < FREQ_TOL);
    assert_true(f[2] == 0 && f[3] == 0);

    /* top-p 0.7: the smallest set reaching 70% is {0, 1} (80%) */
    wisp_sampling p7 = {.temperature = 1.0f, .top_p = 0.7f, .seed = 4};
    draw(l, &p7, f);
    assert_true(fabs(f[0] - 0.625) < FREQ_TOL);
    assert_true(f[2] == 0 && f[3] == 0);

    /* top-p 0.9 keeps three: 0.5 / 0.95 ... */
    wisp_sampling p9 = {.temperature = 1.0f, .top_p = 0.9f, .seed = 5};
    draw(l, &p9, f);
    assert_true(fabs(f[2] - 0.15 / 0.95) < FREQ_TOL);
    assert_true(f[3] == 0);

    /* top-k 1 and a tiny top-p are greedy */
    wisp_sampling k1 = {.temperature = 2.0f, .top_k = 1, .seed = 6};
    draw(l, &k1, f);
    assert_true(f[0] == 1.0);
    wisp_sampling p0 = {.temperature = 2.0f, .top_p = 0.01f, .seed = 7};
    draw(l, &p0, f);
    assert_true(f[0] == 1.0);

    /* top-k 3 then top-p 0.8 of what is left: 0.5 + 0.3 >= 0.8 * 0.95 -> {0, 1} */
    wisp_sampling both = {.temperature = 1.0f, .top_k = 3, .top_p = 0.8f, .seed = 8};
    draw(l, &both, f);
    assert_true(f[2] == 0 && f[3] == 0);
    assert_true(fabs(f[1] - 0.375) < FREQ_TOL);
}

/* Top-k over a large vocabulary keeps exactly the k largest (the heap selection). */
static void test_top_k_large(void **state) {
    enum { N = 5000 };
    static float l[N];
    static wisp_prob scratch[N];
    wisp_rng rng;
    wisp_rng_seed(&rng, 9);
    for (int i = 0; i < N; i++) l[i] = (float)((i * 7919) % N) / 500.0f; /* a permutation */
    wisp_sampling s = {.temperature = 100.0f, .top_k = 10, .seed = 9};
    int seen[10] = {0};
    for (int i = 0; i < 20000; i++) {
        int32_t id = wisp_sample(l, N, &s, &rng, scratch);
        int rank = N - 1 - (int)lroundf(l[id] * 500.0f); /* 0 = the largest logit */
        assert_true(rank >= 0 && rank < 10);
        seen[rank]++;
    }
    for (int r = 0; r < 10; r++) assert_true(seen[r] > 1500); /* ~2000 each at this temperature */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argmax),
        cmocka_unit_test(test_rng),
        cmocka_unit_test(test_distributions),
        cmocka_unit_test(test_top_k_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
