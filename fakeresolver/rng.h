/*
 * rng.h - a small seeded generator (xoshiro256**, seeded by splitmix64) and
 * the latency distributions faults draw from. Same seed, same sequence, on
 * every machine: fault decisions are reproducible from a run's seed.
 */
#ifndef FAKERESOLVER_RNG_H
#define FAKERESOLVER_RNG_H

#include <stdint.h>

struct rng {
	uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);

/* Next 64 random bits. */
uint64_t rng_next(struct rng *r);

/* Uniform in [0, 1). */
double rng_unit(struct rng *r);

/* Named distributions for delays; all return a value >= 0. */
enum rng_dist {
	RNG_DIST_CONSTANT,    /* mean */
	RNG_DIST_UNIFORM,     /* mean +- spread */
	RNG_DIST_NORMAL,      /* mean, standard deviation spread, clipped at 0 */
	RNG_DIST_EXPONENTIAL, /* mean + Exp(spread): a long tail */
	RNG_DIST_PARETO,      /* mean + spread * (Pareto(1, 1.5) - 1): floor mean, heavy tail */
};

/* Parses "constant", "uniform", "normal", "exponential", "pareto"; -1 if unknown. */
int rng_dist_parse(const char *name, enum rng_dist *out);
const char *rng_dist_name(enum rng_dist d);

double rng_draw(struct rng *r, enum rng_dist d, double mean, double spread);

#endif
