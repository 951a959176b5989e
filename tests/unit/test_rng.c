/*
 * test_rng.c - the seeded generator (xoshiro256** seeded by splitmix64) and
 * the delay distributions drawn from it. Every sample is from a fixed seed,
 * so the statistical checks are deterministic: they cannot flake, and their
 * bounds are wide enough that a correct generator passes with any seed.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fakeresolver/rng.h"

#define SAMPLES 100000

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y ? 1 : 0;
}

/* Draws SAMPLES values into a sorted array (caller frees) and their mean. */
static double *sample(uint64_t seed, enum rng_dist d, double mean, double spread, double *avg)
{
	struct rng r;
	double *v = malloc(SAMPLES * sizeof *v);
	double sum = 0;
	assert_non_null(v);
	rng_seed(&r, seed);
	for (size_t i = 0; i < SAMPLES; i++) {
		v[i] = rng_draw(&r, d, mean, spread);
		sum += v[i];
	}
	qsort(v, SAMPLES, sizeof *v, cmp_double);
	*avg = sum / SAMPLES;
	return v;
}

/* ---- bad parameters ---- */

static void test_dist_parse_rejects_unknown_names(void **state)
{
	(void)state;
	static const char *const bad[] = { "", "unif", "uniformly", "gaussian", "constant ",
					   " normal", "pareto2" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		enum rng_dist d = RNG_DIST_PARETO;
		assert_int_equal(rng_dist_parse(bad[i], &d), -1);
		assert_int_equal(d, RNG_DIST_PARETO); /* untouched on failure */
	}
}

static void test_draw_never_negative(void **state)
{
	(void)state;
	struct rng r;
	rng_seed(&r, 7);
	/* A negative mean is clipped for every distribution. */
	for (int d = RNG_DIST_CONSTANT; d <= RNG_DIST_PARETO; d++)
		for (int i = 0; i < 1000; i++)
			assert_true(rng_draw(&r, (enum rng_dist)d, -5.0, 1.0) >= 0.0);
	assert_true(rng_draw(&r, RNG_DIST_CONSTANT, -1.0, 0.0) == 0.0);
	/* A spread larger than the mean would go below zero without the clip. */
	for (int i = 0; i < 1000; i++) {
		assert_true(rng_draw(&r, RNG_DIST_UNIFORM, 0.1, 1.0) >= 0.0);
		assert_true(rng_draw(&r, RNG_DIST_NORMAL, 0.1, 1.0) >= 0.0);
	}
}

/* ---- the generator ---- */

static void test_known_sequence(void **state)
{
	(void)state;
	/* Computed with an independent transcription of the reference algorithms
	 * (splitmix64 for the state, then xoshiro256**). */
	static const uint64_t seed0[] = { 0x99ec5f36cb75f2b4ull, 0xbf6e1f784956452aull,
					  0x1a5f849d4933e6e0ull, 0x6aa594f1262d2d2cull,
					  0xbba5ad4a1f842e59ull };
	static const uint64_t seed1[] = { 0xa2c2a42038d4ec3dull, 0x5fc25d0738e7b0full,
					  0x625e7bff938e701eull, 0x1ba4ddc6fe2b5726ull,
					  0xdf0a2482ac9254cfull };
	struct rng r;
	rng_seed(&r, 0);
	/* splitmix64(0): the published first four outputs. */
	assert_true(r.s[0] == 0xe220a8397b1dcdafull);
	assert_true(r.s[1] == 0x6e789e6aa1b965f4ull);
	assert_true(r.s[2] == 0x06c45d188009454full);
	assert_true(r.s[3] == 0xf88bb8a8724c81ecull);
	for (size_t i = 0; i < 5; i++)
		assert_true(rng_next(&r) == seed0[i]);
	rng_seed(&r, 0x0123456789abcdefull);
	for (size_t i = 0; i < 5; i++)
		assert_true(rng_next(&r) == seed1[i]);
}

static void test_same_seed_same_sequence(void **state)
{
	(void)state;
	struct rng a, b, c;
	rng_seed(&a, 42);
	rng_seed(&b, 42);
	rng_seed(&c, 43);
	unsigned differ = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t x = rng_next(&a), y = rng_next(&b), z = rng_next(&c);
		assert_true(x == y);
		differ += x != z;
	}
	assert_true(differ > 990);
	/* Re-seeding restarts the sequence. */
	rng_seed(&a, 42);
	rng_seed(&b, 42);
	(void)rng_next(&b);
	rng_seed(&b, 42);
	assert_true(rng_next(&a) == rng_next(&b));
}

static void test_unit_interval(void **state)
{
	(void)state;
	struct rng r;
	double lo = 1, hi = 0, sum = 0;
	unsigned below_half = 0;
	rng_seed(&r, 12345);
	for (int i = 0; i < SAMPLES; i++) {
		double u = rng_unit(&r);
		assert_true(u >= 0.0 && u < 1.0);
		/* 53 bits of precision: u * 2^53 is a whole number. */
		double scaled = u * 9007199254740992.0;
		assert_true(scaled == floor(scaled));
		lo = u < lo ? u : lo;
		hi = u > hi ? u : hi;
		sum += u;
		below_half += u < 0.5;
	}
	assert_true(lo < 0.001);
	assert_true(hi > 0.999);
	assert_true(fabs(sum / SAMPLES - 0.5) < 0.01);
	assert_in_range(below_half, SAMPLES / 2 - 1000, SAMPLES / 2 + 1000);
}

/* ---- distributions ---- */

static void test_dist_names_round_trip(void **state)
{
	(void)state;
	static const char *const names[] = { "constant", "uniform", "normal", "exponential",
					      "pareto" };
	for (int d = RNG_DIST_CONSTANT; d <= RNG_DIST_PARETO; d++) {
		enum rng_dist got = RNG_DIST_CONSTANT;
		assert_string_equal(rng_dist_name((enum rng_dist)d), names[d]);
		assert_int_equal(rng_dist_parse(names[d], &got), 0);
		assert_int_equal(got, d);
	}
}

static void test_constant_is_the_mean(void **state)
{
	(void)state;
	struct rng r;
	rng_seed(&r, 1);
	for (int i = 0; i < 100; i++)
		assert_true(rng_draw(&r, RNG_DIST_CONSTANT, 0.25, 10.0) == 0.25);
}

static void test_uniform_stays_in_bounds(void **state)
{
	(void)state;
	double avg;
	double *v = sample(2, RNG_DIST_UNIFORM, 0.2, 0.05, &avg);
	assert_true(v[0] >= 0.15);
	assert_true(v[SAMPLES - 1] <= 0.25);
	/* It fills the interval: both ends are reached, the middle is the mean. */
	assert_true(v[0] < 0.1501);
	assert_true(v[SAMPLES - 1] > 0.2499);
	assert_true(fabs(avg - 0.2) < 0.001);
	assert_true(fabs(v[SAMPLES / 4] - 0.175) < 0.002);
	assert_true(fabs(v[3 * SAMPLES / 4] - 0.225) < 0.002);
	free(v);
}

static void test_normal_mean_and_deviation(void **state)
{
	(void)state;
	double avg, var = 0;
	double *v = sample(3, RNG_DIST_NORMAL, 10.0, 2.0, &avg);
	for (size_t i = 0; i < SAMPLES; i++)
		var += (v[i] - avg) * (v[i] - avg);
	double sd = sqrt(var / (SAMPLES - 1));
	assert_true(fabs(avg - 10.0) < 0.05);
	assert_true(fabs(sd - 2.0) < 0.05);
	/* About 68% within one deviation. */
	size_t within = 0;
	for (size_t i = 0; i < SAMPLES; i++)
		within += fabs(v[i] - 10.0) <= 2.0;
	assert_in_range(within, (size_t)(0.67 * SAMPLES), (size_t)(0.69 * SAMPLES));
	free(v);
}

static void test_normal_clipped_at_zero(void **state)
{
	(void)state;
	double avg;
	double *v = sample(4, RNG_DIST_NORMAL, 0.0, 1.0, &avg);
	size_t zeros = 0;
	for (size_t i = 0; i < SAMPLES; i++)
		zeros += v[i] == 0.0;
	assert_true(v[0] == 0.0);
	/* Half of a centred normal is negative, and each of those becomes 0. */
	assert_in_range(zeros, SAMPLES / 2 - 1000, SAMPLES / 2 + 1000);
	free(v);
}

static void test_exponential_tail_above_the_mean(void **state)
{
	(void)state;
	double avg;
	double *v = sample(5, RNG_DIST_EXPONENTIAL, 0.1, 0.05, &avg);
	assert_true(v[0] >= 0.1);
	assert_true(v[0] < 0.1001);
	/* mean + Exp(spread): the sample mean is mean + spread, the median mean + spread ln 2. */
	assert_true(fabs(avg - 0.15) < 0.002);
	assert_true(fabs(v[SAMPLES / 2] - (0.1 + 0.05 * log(2.0))) < 0.002);
	/* A long tail: P(X > mean + 5 spread) = e^-5, about 0.67%. */
	assert_true(v[SAMPLES - 1] > 0.1 + 0.05 * 5);
	free(v);
}

static void test_pareto_heavy_tail(void **state)
{
	(void)state;
	double avg;
	double *v = sample(6, RNG_DIST_PARETO, 0.1, 0.05, &avg);
	/* The floor is the mean (rng.c: shifted so the floor is mean). */
	assert_true(v[0] >= 0.1);
	assert_true(v[0] < 0.1001);
	/* Shape 1.5: the median is mean + spread (2^(1/1.5) - 1). */
	double median = 0.1 + 0.05 * (pow(2.0, 1.0 / 1.5) - 1.0);
	assert_true(fabs(v[SAMPLES / 2] - median) < 0.002);
	/* Heavier than exponential: P(X > mean + 20 spread) = 21^-1.5, about 1%. */
	size_t far = 0;
	for (size_t i = 0; i < SAMPLES; i++)
		far += v[i] > 0.1 + 20 * 0.05;
	assert_in_range(far, (size_t)(0.008 * SAMPLES), (size_t)(0.013 * SAMPLES));
	free(v);
}

static void test_draws_reproducible(void **state)
{
	(void)state;
	struct rng a, b;
	rng_seed(&a, 99);
	rng_seed(&b, 99);
	for (int i = 0; i < 1000; i++) {
		enum rng_dist d = (enum rng_dist)(i % 5);
		assert_true(rng_draw(&a, d, 0.1, 0.05) == rng_draw(&b, d, 0.1, 0.05));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dist_parse_rejects_unknown_names),
		cmocka_unit_test(test_draw_never_negative),
		cmocka_unit_test(test_known_sequence),
		cmocka_unit_test(test_same_seed_same_sequence),
		cmocka_unit_test(test_unit_interval),
		cmocka_unit_test(test_dist_names_round_trip),
		cmocka_unit_test(test_constant_is_the_mean),
		cmocka_unit_test(test_uniform_stays_in_bounds),
		cmocka_unit_test(test_normal_mean_and_deviation),
		cmocka_unit_test(test_normal_clipped_at_zero),
		cmocka_unit_test(test_exponential_tail_above_the_mean),
		cmocka_unit_test(test_pareto_heavy_tail),
		cmocka_unit_test(test_draws_reproducible),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
