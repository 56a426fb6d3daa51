/* NVDYN kernels: per-atom updates and the per-atom terms of every
 * reduction. Each function works on one atom through strided pointers
 * (p[k * s] is component k); the host driver's loops and device kernels
 * call the same functions. */
#ifndef NVDYN_KERNELS_ATOM_H
#define NVDYN_KERNELS_ATOM_H

#include "rng.h"
#include "types.h"

/* ---- vector pieces ---------------------------------------------------- */

/* v += dtfm * f  (dtfm = dt/2 * ftm2v / m: a velocity-Verlet half kick) */
NVDYN_FUNC void nvdyn_kick(double *v, ptrdiff_t vs, const double *f, ptrdiff_t fs, double dtfm)
{
  v[0] += dtfm * f[0];
  v[vs] += dtfm * f[fs];
  v[2 * vs] += dtfm * f[2 * fs];
}

/* x += dtv * v  (a drift) */
NVDYN_FUNC void nvdyn_drift(double *x, ptrdiff_t xs, const double *v, ptrdiff_t vs, double dtv)
{
  x[0] += dtv * v[0];
  x[xs] += dtv * v[vs];
  x[2 * xs] += dtv * v[2 * vs];
}

/* v *= c */
NVDYN_FUNC void nvdyn_scale(double *v, ptrdiff_t vs, double c)
{
  v[0] *= c;
  v[vs] *= c;
  v[2 * vs] *= c;
}

/* v = 0 */
NVDYN_FUNC void nvdyn_zero(double *v, ptrdiff_t vs)
{
  v[0] = v[vs] = v[2 * vs] = 0.0;
}

/* a . b */
NVDYN_FUNC double nvdyn_dot(const double *a, ptrdiff_t as, const double *b, ptrdiff_t bs)
{
  return a[0] * b[0] + a[as] * b[bs] + a[2 * as] * b[2 * bs];
}

/* largest absolute component */
NVDYN_FUNC double nvdyn_absmax(const double *a, ptrdiff_t as)
{
  double m = fabs(a[0]);
  if (fabs(a[as]) > m) m = fabs(a[as]);
  if (fabs(a[2 * as]) > m) m = fabs(a[2 * as]);
  return m;
}

/* 1 if the three components are finite (neither inf nor NaN) */
NVDYN_FUNC int nvdyn_finite3(const double *a, ptrdiff_t as)
{
  return fabs(a[0]) <= DBL_MAX && fabs(a[as]) <= DBL_MAX && fabs(a[2 * as]) <= DBL_MAX;
}

/* Force scale factor of the per-atom force clamp: 1, or fclamp / |f| when
 * fclamp > 0 and |f| exceeds it. */
NVDYN_FUNC double nvdyn_clamp_factor(const double *f, ptrdiff_t fs, double fclamp)
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

/* ---- safety ------------------------------------------------------------ */

/* Hazard of an atom's next step: 2 if a component of its velocity or force
 * is not finite; 1 if the step is unsafe: |v|^2, |fc f|^2 or the square
 * of the kicked velocity u = v + kick fc f above DBL_MAX / 1e16 (sums over
 * a sample would overflow), or, with maxmove > 0 and dt > 0, a step of
 * length dt |u| beyond maxmove; else 0. fc is the force clamp factor. */
NVDYN_FUNC int nvdyn_step_hazard(const double *v, ptrdiff_t vs, const double *f, ptrdiff_t fs,
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

/* A bound of the next steps of many atoms, for scans that only flag a
 * hazard: nvdyn_bound_add() takes each atom's cheap part (its |v|^2 and
 * |fc f|^2, non-finite or too large ones noted, and the largest of them,
 * of the kicks and of the drift times), nvdyn_bound_flag() then tests once
 * whether some atom's kicked velocity u = v + kick fc f could be too large
 * (|u| <= |v| + kick |fc f|). It is 1 whenever nvdyn_step_hazard() is
 * nonzero for one of the atoms, and may be 1 when none is: the exact test
 * then decides. A zero-initialised bound holds no atom. */
typedef struct nvdyn_step_bound {
  double vv, ff, kick, dt;
  int bad;
} nvdyn_step_bound;

NVDYN_FUNC void nvdyn_bound_add(nvdyn_step_bound *b, const double *v, ptrdiff_t vs, const double *f,
                                ptrdiff_t fs, double fc, double kick, double dt)
{
  const double vv = nvdyn_dot(v, vs, v, vs), ff = fc * fc * nvdyn_dot(f, fs, f, fs);
  b->bad |= !(vv + ff <= 1.0e-16 * DBL_MAX);
  b->vv = vv > b->vv ? vv : b->vv;
  b->ff = ff > b->ff ? ff : b->ff;
  b->kick = kick > b->kick ? kick : b->kick;
  b->dt = dt > b->dt ? dt : b->dt;
}

NVDYN_FUNC int nvdyn_bound_flag(const nvdyn_step_bound *b, double maxmove)
{
  const double lim = 1.0e-16 * DBL_MAX, margin = 1.0 - 1.0e-12; /* for the exact test's rounding */
  const double u = sqrt(b->vv) + b->kick * sqrt(b->ff);
  return b->bad || !(u * u <= margin * lim) ||
      (maxmove > 0.0 && b->dt > 0.0 && !(b->dt * u <= margin * maxmove));
}

/* The next step of an atom of mass m in a sample of the given style, whose
 * time step is dt (an MD stage's step; a FIRE sample's current FIRE step):
 * its kick factor, and its drift time in *drift. Velocity Verlet: the half
 * kick and the drift; FIRE: the kick and the drift with its current time
 * step (dmax limits it only by the velocity before the kick); ASE FIRE: the
 * kick v += dt f, drift 0 (its step is bounded by maxstep). */
NVDYN_FUNC double nvdyn_next_kick(int style, double dt, double ftm2v, double m, double *drift)
{
  *drift = style == NVDYN_STYLE_FIRE_ASE ? 0.0 : dt;
  return style == NVDYN_STYLE_FIRE_ASE ? dt
      : style == NVDYN_STYLE_FIRE      ? dt * ftm2v / m
                                       : 0.5 * dt * ftm2v / m;
}

/* The hazard of that next step, the velocity scaled by vscale first (a
 * thermostat's, before it moves): 2 also if the position is not finite. */
NVDYN_FUNC int nvdyn_atom_hazard(const double *x, ptrdiff_t xs, const double *v, ptrdiff_t vs,
                                 const double *f, ptrdiff_t fs, double m, double vscale, int style,
                                 double dt, const nvdyn_units *u)
{
  if (!nvdyn_finite3(x, xs)) return 2;
  double drift;
  const double kick = nvdyn_next_kick(style, dt, u->ftm2v, m, &drift);
  const double w[3] = {vscale * v[0], vscale * v[vs], vscale * v[2 * vs]};
  return nvdyn_step_hazard(w, 1, f, fs, nvdyn_clamp_factor(f, fs, u->fclamp), kick, drift,
                           u->maxmove);
}

/* nvdyn_bound_add() of an atom's next step as nvdyn_atom_hazard() sees it
 * (velocity unscaled): its kick and drift from its style and time step, and
 * a position beyond 1e154 (or not finite) noted; fc is its force clamp
 * factor. */
NVDYN_FUNC void nvdyn_bound_add_atom(nvdyn_step_bound *b, const double *x, ptrdiff_t xs,
                                     const double *v, ptrdiff_t vs, const double *f, ptrdiff_t fs,
                                     double fc, double m, int style, double dt,
                                     const nvdyn_units *u)
{
  double drift;
  const double kick = nvdyn_next_kick(style, dt, u->ftm2v, m, &drift);
  b->bad |= !(nvdyn_dot(x, xs, x, xs) <= DBL_MAX);
  nvdyn_bound_add(b, v, vs, f, fs, fc, kick, drift);
}

/* ---- stage integrators, per atom -------------------------------------- */

/* Velocity Verlet's first half: v += (ftm2v / 2 fc) dt / m f, x += dt v
 * (fc: the force clamp factor). */
NVDYN_FUNC void nvdyn_kick_drift(double *x, ptrdiff_t xs, double *v, ptrdiff_t vs, const double *f,
                                 ptrdiff_t fs, double m, double dt, double ftm2v, double fc)
{
  nvdyn_kick(v, vs, f, fs, 0.5 * ftm2v * fc * dt / m);
  nvdyn_drift(x, xs, v, vs, dt);
}

/* Velocity Verlet's second half: v += dt/2 ftm2v / m fc f. Returns the
 * half-kick factor dt/2 ftm2v / m (that of the next step's first half, for
 * its safety check). */
NVDYN_FUNC double nvdyn_kick_last(double *v, ptrdiff_t vs, const double *f, ptrdiff_t fs, double m,
                                  double dt, double ftm2v, double fc)
{
  const double hdt = 0.5 * dt * ftm2v / m;
  nvdyn_kick(v, vs, f, fs, hdt * fc);
  return hdt;
}

/* Drawn velocities of a sample lose its net momentum p (total mass mtot). */
NVDYN_FUNC void nvdyn_remove_momentum(double *v, ptrdiff_t vs, const double p[3], double mtot)
{
  for (int k = 0; k < 3; k++) v[k * vs] -= p[k] / mtot;
}

/* FIRE 2.0, semi-implicit Euler (LAMMPS min_style fire, integrator
 * eulerimplicit), after the sample's decision c: if its power was not
 * positive, step back half a step (x -= 0.5 dtv_back v) and zero v; then
 * v += dtv ftm2v / m fc f, mix v = s1 v + s2 fc f when the power was
 * positive, and x += dtv v. A stuck sample's atoms do not move. The two
 * ways are one sequence of operations with selected factors (no branch
 * per atom on the sample's decision): the step back is 0 and the mixing
 * s1 = 1, s2 = 0 when they do not apply, which leave finite values
 * exactly as they are. */
NVDYN_FUNC void nvdyn_fire_atom(double *x, ptrdiff_t xs, double *v, ptrdiff_t vs, const double *f,
                                ptrdiff_t fs, double m, double fc, double ftm2v,
                                const nvdyn_fire_step *c)
{
  if (c->mode == NVDYN_FIRE_STUCK) return;
  const int uphill = c->mode == NVDYN_FIRE_UPHILL;
  const double back = uphill ? -0.5 * c->dtv_back : 0.0;
  const double s1 = uphill ? 1.0 : c->s1, s2fc = (uphill ? 0.0 : c->s2) * fc;
  const double kick = c->dtv * ftm2v / m * fc;
  for (int k = 0; k < 3; k++) {
    const double fk = f[k * fs];
    double vk = v[k * vs];
    double xk = x[k * xs] + back * vk;
    vk = uphill ? 0.0 : vk;
    vk += kick * fk;
    vk = s1 * vk + s2fc * fk;
    xk += c->dtv * vk;
    v[k * vs] = vk;
    x[k * xs] = xk;
  }
}

/* ASE FIRE, velocity part: v = 0 (uphill) or s1 v + s2 fc f (mixing), then
 * v += fdt fc f. Returns |v|^2 after the update (the term of the sample's
 * step length). */
NVDYN_FUNC double nvdyn_fire_ase_velocity(double *v, ptrdiff_t vs, const double *f, ptrdiff_t fs,
                                          double fc, double fdt, const nvdyn_fire_ase_step *c)
{
  if (c->mode == NVDYN_ASE_ZERO)
    nvdyn_zero(v, vs);
  else if (c->mode == NVDYN_ASE_MIX)
    for (int k = 0; k < 3; k++) v[k * vs] = c->s1 * v[k * vs] + c->s2 * fc * f[k * fs];
  nvdyn_kick(v, vs, f, fs, fdt * fc);
  return nvdyn_dot(v, vs, v, vs);
}

/* Langevin, BAOAB's first half and O step for one atom (the second B comes
 * with the next forces): v += dt/2 ftm2v fc f / m, x += dt/2 v,
 * v = c1 v + sqrt(sigma2m / m) xi with xi ~ N(0,1)^3 from the atom's
 * stream, x += dt/2 v. */
NVDYN_FUNC void nvdyn_baoab_atom(double *x, ptrdiff_t xs, double *v, ptrdiff_t vs, const double *f,
                                 ptrdiff_t fs, double m, double fc, double dt, double ftm2v,
                                 const nvdyn_langevin_step *c, nvdyn_rng *r)
{
  const double sigma = sqrt(c->sigma2m / m);
  double xi[3];
  nvdyn_rng_normal3(r, xi);
  nvdyn_kick(v, vs, f, fs, 0.5 * dt * ftm2v * fc / m);
  nvdyn_drift(x, xs, v, vs, 0.5 * dt);
  for (int k = 0; k < 3; k++) v[k * vs] = c->c1 * v[k * vs] + sigma * xi[k];
  nvdyn_drift(x, xs, v, vs, 0.5 * dt);
}

/* A Maxwell-Boltzmann velocity at temperature temp for an atom of mass m,
 * from the atom's stream; adds its momentum to p[0..2]. */
NVDYN_FUNC void nvdyn_draw_velocity(double *v, ptrdiff_t vs, double m, double temp,
                                    const nvdyn_units *u, nvdyn_rng *r, double p[3])
{
  double xi[3];
  nvdyn_rng_normal3(r, xi);
  const double sigma = sqrt(u->boltz * temp / (m * u->mvv2e));
  for (int k = 0; k < 3; k++) {
    v[k * vs] = sigma * xi[k];
    p[k] += m * v[k * vs];
  }
}

/* ---- per-atom terms of the per-sample reductions ----------------------- */

/* FIRE: adds fc v.f, v.v and fc^2 f.f to sum[0..2]; returns max |v_k| */
NVDYN_FUNC double nvdyn_fire_terms(const double *v, ptrdiff_t vs, const double *f, ptrdiff_t fs,
                                   double fc, double sum[3])
{
  sum[0] += fc * nvdyn_dot(v, vs, f, fs);
  sum[1] += nvdyn_dot(v, vs, v, vs);
  sum[2] += fc * fc * nvdyn_dot(f, fs, f, fs);
  return nvdyn_absmax(v, vs);
}

/* m v.v (twice the kinetic energy in mass-velocity units) */
NVDYN_FUNC double nvdyn_mvv_term(const double *v, ptrdiff_t vs, double m)
{
  return m * nvdyn_dot(v, vs, v, vs);
}

#endif /* NVDYN_KERNELS_ATOM_H */
