/* NVDYN per-atom update math and random numbers: the one source shared by
 * every backend.
 *
 * Each update function works on one atom through strided pointers (p[k * s]
 * is component k). Under a CUDA compiler the functions are __host__
 * __device__, so the host loops in nvdyn.c and device kernels call the same
 * code. Internal header: not part of the public ABI. */
#ifndef NVDYN_MATH_H
#define NVDYN_MATH_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__CUDACC__)
#define NVDYN_INLINE static inline __host__ __device__
#else
#define NVDYN_INLINE static inline
#endif

/* ---- vector pieces ---------------------------------------------------- */

/* v += dtfm * f  (dtfm = dt/2 * ftm2v / m: a velocity-Verlet half kick) */
NVDYN_INLINE void nvdyn_kick(double *v, ptrdiff_t vs, const double *f, ptrdiff_t fs, double dtfm)
{
  v[0] += dtfm * f[0];
  v[vs] += dtfm * f[fs];
  v[2 * vs] += dtfm * f[2 * fs];
}

/* x += dtv * v  (a drift) */
NVDYN_INLINE void nvdyn_drift(double *x, ptrdiff_t xs, const double *v, ptrdiff_t vs, double dtv)
{
  x[0] += dtv * v[0];
  x[xs] += dtv * v[vs];
  x[2 * xs] += dtv * v[2 * vs];
}

/* v *= c */
NVDYN_INLINE void nvdyn_scale(double *v, ptrdiff_t vs, double c)
{
  v[0] *= c;
  v[vs] *= c;
  v[2 * vs] *= c;
}

/* v = 0 */
NVDYN_INLINE void nvdyn_zero(double *v, ptrdiff_t vs)
{
  v[0] = v[vs] = v[2 * vs] = 0.0;
}

/* a . b */
NVDYN_INLINE double nvdyn_dot(const double *a, ptrdiff_t as, const double *b, ptrdiff_t bs)
{
  return a[0] * b[0] + a[as] * b[bs] + a[2 * as] * b[2 * bs];
}

/* largest absolute component */
NVDYN_INLINE double nvdyn_absmax(const double *a, ptrdiff_t as)
{
  double m = fabs(a[0]);
  if (fabs(a[as]) > m) m = fabs(a[as]);
  if (fabs(a[2 * as]) > m) m = fabs(a[2 * as]);
  return m;
}

/* 1 if the three components are finite (neither inf nor NaN) */
NVDYN_INLINE int nvdyn_finite3(const double *a, ptrdiff_t as)
{
  return fabs(a[0]) <= DBL_MAX && fabs(a[as]) <= DBL_MAX && fabs(a[2 * as]) <= DBL_MAX;
}

/* Force scale factor of the per-atom force clamp: 1, or fclamp / |f| when
 * fclamp > 0 and |f| exceeds it. */
NVDYN_INLINE double nvdyn_clamp_factor(const double *f, ptrdiff_t fs, double fclamp)
{
  if (fclamp <= 0.0) return 1.0;
  double f2 = nvdyn_dot(f, fs, f, fs);
  if (f2 <= fclamp * fclamp) return 1.0;
  if (f2 <= DBL_MAX) return fclamp / sqrt(f2);
  /* |f|^2 overflows: the norm of f / max|f_k| (in [1, sqrt 3]) is finite;
   * a non-finite force gets 0 (the safety checks fail its sample) */
  if (!nvdyn_finite3(f, fs)) return 0.0;
  const double m = nvdyn_absmax(f, fs);
  const double g[3] = {f[0] / m, f[fs] / m, f[2 * fs] / m};
  return fclamp / m / sqrt(nvdyn_dot(g, 1, g, 1));
}

/* Hazard of an atom's next step: 2 if a component of its velocity or force
 * is not finite; 1 if the step is unsafe: |v|^2, |fc f|^2 or the square
 * of the kicked velocity u = v + kick fc f above DBL_MAX / 1e16 (sums over
 * a sample would overflow), or, with maxmove > 0 and dt > 0, a step of
 * length dt |u| beyond maxmove (velocity Verlet: kick = dt/2 ftm2v / m;
 * FIRE: kick = dt ftm2v / m with its current dt; ASE FIRE: kick = its dt,
 * and dt = 0: its step is bounded by maxstep); else 0. fc is the force
 * clamp factor. */
NVDYN_INLINE int nvdyn_step_hazard(const double *v, ptrdiff_t vs, const double *f, ptrdiff_t fs,
                                   double fc, double kick, double dt, double maxmove)
{
  if (!(nvdyn_finite3(v, vs) && nvdyn_finite3(f, fs))) return 2;
  const double lim = 1.0e-16 * DBL_MAX;
  double u2 = 0.0;
  for (int k = 0; k < 3; k++) {
    const double u = v[k * vs] + kick * fc * f[k * fs];
    u2 += u * u;
  }
  if (!(nvdyn_dot(v, vs, v, vs) <= lim && fc * fc * nvdyn_dot(f, fs, f, fs) <= lim && u2 <= lim))
    return 1;
  return maxmove > 0.0 && dt > 0.0 && !(dt * dt * u2 <= maxmove * maxmove);
}

/* The same with the position: 2 also if it is not finite. */
NVDYN_INLINE int nvdyn_atom_hazard(const double *x, ptrdiff_t xs, const double *v, ptrdiff_t vs,
                                   const double *f, ptrdiff_t fs, double fc, double kick, double dt,
                                   double maxmove)
{
  if (!nvdyn_finite3(x, xs)) return 2;
  return nvdyn_step_hazard(v, vs, f, fs, fc, kick, dt, maxmove);
}

/* ---- stage integrators, per atom -------------------------------------- */

/* FIRE 2.0, semi-implicit Euler (LAMMPS min_style fire, integrator
 * eulerimplicit), after the per-sample decisions: if the sample's power
 * was not positive, step back half a step (x -= 0.5 dtv_back v) and zero v;
 * then v += dtfm f, mix v = s1 v + s2 f when the power was positive, and
 * x += dtv v. dtfm = dtv * ftm2v / m (force already clamped into fc). */
NVDYN_INLINE void nvdyn_fire_update(double *x, ptrdiff_t xs, double *v, ptrdiff_t vs,
                                    const double *f, ptrdiff_t fs, double fc, int uphill,
                                    double dtv_back, double dtfm, double s1, double s2, double dtv)
{
  if (uphill) {
    if (dtv_back != 0.0) nvdyn_drift(x, xs, v, vs, -0.5 * dtv_back);
    nvdyn_zero(v, vs);
  }
  nvdyn_kick(v, vs, f, fs, dtfm * fc);
  if (!uphill) {
    for (int k = 0; k < 3; k++) v[k * vs] = s1 * v[k * vs] + s2 * fc * f[k * fs];
  }
  nvdyn_drift(x, xs, v, vs, dtv);
}

/* ASE FIRE, velocity part: v = zero (uphill) or s1 v + s2 f (mixing), then
 * v += dt f. Returns |v|^2 after the update. */
NVDYN_INLINE double nvdyn_fire_ase_velocity(double *v, ptrdiff_t vs, const double *f, ptrdiff_t fs,
                                            double fc, int mode, double s1, double s2, double dt)
{
  if (mode == 1)
    nvdyn_zero(v, vs);
  else if (mode == 2)
    for (int k = 0; k < 3; k++) v[k * vs] = s1 * v[k * vs] + s2 * fc * f[k * fs];
  nvdyn_kick(v, vs, f, fs, dt * fc);
  return nvdyn_dot(v, vs, v, vs);
}

/* Langevin, the O part of BAOAB: v = c1 v + sigma xi, xi ~ N(0,1)^3. */
NVDYN_INLINE void nvdyn_ornstein_uhlenbeck(double *v, ptrdiff_t vs, double c1, double sigma,
                                           const double xi[3])
{
  for (int k = 0; k < 3; k++) v[k * vs] = c1 * v[k * vs] + sigma * xi[k];
}

/* ---- counter-based random numbers --------------------------------------
 * A stream is keyed by (seed, id, step, purpose): no state is carried from
 * one step or atom to the next, so the numbers an atom gets do not depend on
 * the number of ranks or on the order of the atoms. Mixing function: the
 * SplitMix64 finaliser (Steele, Lea and Flood 2014). */

typedef struct nvdyn_rng {
  uint64_t key;
  uint64_t counter;
} nvdyn_rng;

NVDYN_INLINE uint64_t nvdyn_mix64(uint64_t z)
{
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

NVDYN_INLINE nvdyn_rng nvdyn_rng_make(uint64_t seed, uint64_t id, uint64_t step, uint64_t purpose)
{
  nvdyn_rng r;
  r.key = nvdyn_mix64(nvdyn_mix64(nvdyn_mix64(nvdyn_mix64(seed) ^ id) ^ step) ^ purpose);
  r.counter = 0;
  return r;
}

/* uniform in (0, 1) */
NVDYN_INLINE double nvdyn_rng_uniform(nvdyn_rng *r)
{
  uint64_t z = nvdyn_mix64(r->key ^ nvdyn_mix64(r->counter++));
  return ((double) (z >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* two independent standard normal numbers (Box-Muller) */
NVDYN_INLINE void nvdyn_rng_normal2(nvdyn_rng *r, double *a, double *b)
{
  double u1 = nvdyn_rng_uniform(r), u2 = nvdyn_rng_uniform(r);
  double rad = sqrt(-2.0 * log(u1)), phi = 6.283185307179586 * u2;
  *a = rad * cos(phi);
  *b = rad * sin(phi);
}

NVDYN_INLINE void nvdyn_rng_normal3(nvdyn_rng *r, double xi[3])
{
  double spare;
  nvdyn_rng_normal2(r, &xi[0], &xi[1]);
  nvdyn_rng_normal2(r, &xi[2], &spare);
}

NVDYN_INLINE double nvdyn_rng_normal(nvdyn_rng *r)
{
  double a, b;
  nvdyn_rng_normal2(r, &a, &b);
  return a;
}

/* Gamma(shape, 1) deviate, shape > 0 (Marsaglia and Tsang 2000). */
NVDYN_INLINE double nvdyn_rng_gamma(nvdyn_rng *r, double shape)
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
 * freedom), n >= 0. */
NVDYN_INLINE double nvdyn_rng_chi2(nvdyn_rng *r, int n)
{
  if (n <= 0) return 0.0;
  if (n == 1) {
    double g = nvdyn_rng_normal(r);
    return g * g;
  }
  return 2.0 * nvdyn_rng_gamma(r, 0.5 * n);
}

#endif /* NVDYN_MATH_H */
