/* NVDYN kernels: counter-based random numbers.
 *
 * A stream is keyed by (seed, sample key, atom index within the sample,
 * the sample's own step number, purpose): nothing is carried from one step or atom to the next, so
 * the numbers an atom gets depend neither on the number of ranks, nor on
 * the order of the atoms, nor on their IDs, nor on the slot the sample
 * holds, nor on the step on which it was inserted. Mixing function: the SplitMix64 finaliser (Steele, Lea and Flood
 * 2014). */
#ifndef NVDYN_KERNELS_RNG_H
#define NVDYN_KERNELS_RNG_H

#include "func.h"

/* what the numbers are for (part of the key) */
enum { NVDYN_PURPOSE_VELOCITY = 1, NVDYN_PURPOSE_LANGEVIN = 2, NVDYN_PURPOSE_CSVR = 3 };

typedef struct nvdyn_rng {
  uint64_t key;
  uint64_t counter;
} nvdyn_rng;

NVDYN_FUNC uint64_t nvdyn_mix64(uint64_t z)
{
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* the stream of atom `index` of the sample with key `sample` (per-sample
 * streams use index 0 and their own purpose) */
NVDYN_FUNC nvdyn_rng nvdyn_rng_make(uint64_t seed, uint64_t sample, uint64_t index, uint64_t step,
                                    uint64_t purpose)
{
  nvdyn_rng r;
  uint64_t k = nvdyn_mix64(nvdyn_mix64(seed) ^ sample);
  k = nvdyn_mix64(nvdyn_mix64(nvdyn_mix64(k ^ index) ^ step) ^ purpose);
  r.key = k;
  r.counter = 0;
  return r;
}

/* uniform in (0, 1) */
NVDYN_FUNC double nvdyn_rng_uniform(nvdyn_rng *r)
{
  uint64_t z = nvdyn_mix64(r->key ^ nvdyn_mix64(r->counter++));
  return ((double) (z >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* two independent standard normal numbers (Marsaglia's polar method: no
 * trigonometric functions; a pair of uniform numbers is accepted with
 * probability pi/4) */
NVDYN_FUNC void nvdyn_rng_normal2(nvdyn_rng *r, double *a, double *b)
{
  double u, v, q;
  do {
    u = 2.0 * nvdyn_rng_uniform(r) - 1.0;
    v = 2.0 * nvdyn_rng_uniform(r) - 1.0;
    q = u * u + v * v;
  } while (q >= 1.0 || q == 0.0);
  const double w = sqrt(-2.0 * log(q) / q);
  *a = u * w;
  *b = v * w;
}

NVDYN_FUNC void nvdyn_rng_normal3(nvdyn_rng *r, double xi[3])
{
  double spare;
  nvdyn_rng_normal2(r, &xi[0], &xi[1]);
  nvdyn_rng_normal2(r, &xi[2], &spare);
}

NVDYN_FUNC double nvdyn_rng_normal(nvdyn_rng *r)
{
  double a, b;
  nvdyn_rng_normal2(r, &a, &b);
  return a;
}

/* Gamma(shape, 1) deviate, shape > 0 (Marsaglia and Tsang 2000). */
NVDYN_FUNC double nvdyn_rng_gamma(nvdyn_rng *r, double shape)
{
  double boost = 1.0;
  if (shape < 1.0) {
    boost = pow(nvdyn_rng_uniform(r), 1.0 / shape);
    shape += 1.0;
  }
  const double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
  for (;;) {
    double x = nvdyn_rng_normal(r), t = 1.0 + c * x;
    if (t <= 0.0) continue;
    t = t * t * t;
    double u = nvdyn_rng_uniform(r);
    if (u < 1.0 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1.0 - t + log(t)))
      return boost * d * t;
  }
}

/* Sum of n squared standard normal numbers (chi-squared with n degrees of
 * freedom), n >= 0: for n <= 16 as -2 ln of the product of n/2 uniform
 * numbers (chi-squared with 2 degrees of freedom is exponential), plus one
 * squared normal number for odd n; for larger n from a gamma deviate. */
NVDYN_FUNC double nvdyn_rng_chi2(nvdyn_rng *r, int n)
{
  if (n <= 0) return 0.0;
  if (n > 16) return 2.0 * nvdyn_rng_gamma(r, 0.5 * n);
  double sum = 0.0;
  if (n & 1) {
    const double g = nvdyn_rng_normal(r);
    sum = g * g;
  }
  if (n >= 2) {
    double prod = 1.0;
    for (int k = 0; k < n / 2; k++) prod *= nvdyn_rng_uniform(r);
    sum -= 2.0 * log(prod);
  }
  return sum;
}

#endif /* NVDYN_KERNELS_RNG_H */
