/*
 * rng.c - xoshiro256** (Blackman and Vigna, public domain algorithm), seeded
 * with splitmix64, and delay distributions on top of it.
 */
#include "fakeresolver/rng.h"

#include <math.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static const char *const dist_names[] = { "constant", "uniform", "normal", "exponential",
					  "pareto" };

int rng_dist_parse(const char *name, enum rng_dist *out)
{
	for (int i = 0; i < (int)(sizeof dist_names / sizeof dist_names[0]); i++)
		if (strcmp(name, dist_names[i]) == 0) {
			*out = (enum rng_dist)i;
			return 0;
		}
	return -1;
}

const char *rng_dist_name(enum rng_dist d)
{
	return (unsigned)d < sizeof dist_names / sizeof dist_names[0] ? dist_names[d] : "?";
}

double rng_draw(struct rng *r, enum rng_dist d, double mean, double spread)
{
	double v = mean;
	switch (d) {
	case RNG_DIST_CONSTANT:
		break;
	case RNG_DIST_UNIFORM:
		v = mean + spread * (2.0 * rng_unit(r) - 1.0);
		break;
	case RNG_DIST_NORMAL: {
		/* Box-Muller; one draw per call keeps the sequence simple. */
		double u1 = 1.0 - rng_unit(r), u2 = rng_unit(r);
		v = mean + spread * sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
		break;
	}
	case RNG_DIST_EXPONENTIAL:
		v = mean - spread * log(1.0 - rng_unit(r));
		break;
	case RNG_DIST_PARETO:
		/* Pareto with x_m = spread, alpha = 1.5, shifted so the floor is mean. */
		v = mean + spread * (pow(1.0 - rng_unit(r), -1.0 / 1.5) - 1.0);
		break;
	}
	return v < 0 ? 0 : v;
}
