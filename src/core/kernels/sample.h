/* NVDYN kernels: per-sample decisions, criteria and outcomes. Each
 * function takes one sample's state and its stage's parameters (plain
 * data, types.h) and the sample's reduced sums; it never looks at another
 * sample. */
#ifndef NVDYN_KERNELS_SAMPLE_H
#define NVDYN_KERNELS_SAMPLE_H

#include "rng.h"
#include "types.h"

/* public enum values the kernels use (nvdyn.h has them for callers) */
enum { NVDYN_K_ACTIVE = 0, NVDYN_K_DONE = 1, NVDYN_K_TIMEOUT = 2, NVDYN_K_FAILED = 3 };
enum {
  NVDYN_K_REASON_NAN = 1,
  NVDYN_K_REASON_UNSTABLE = 2,
  NVDYN_K_REASON_DRIFT = 3,
  NVDYN_K_REASON_MAXSTEPS = 4,
  NVDYN_K_REASON_UPHILL = 5
};

NVDYN_FUNC int nvdyn_is_fire(int style)
{
  return style == NVDYN_STYLE_FIRE || style == NVDYN_STYLE_FIRE_ASE;
}

/* the smaller of a and b, b when a is not a number: fmin()'s value for a
 * number b (here a parameter), without a call to the library */
NVDYN_FUNC double nvdyn_min(double a, double b)
{
  return a < b ? a : b;
}

/* degrees of freedom of a sample of n atoms in stage sg */
NVDYN_FUNC double nvdyn_dof(const nvdyn_stage_params *sg, double natoms)
{
  return 3.0 * natoms - sg->extra_dof;
}

/* A sample enters stage st of stages[0..nstages) (finishes, outcome DONE,
 * when st == nstages): fresh per-stage state; velocities set on the next
 * step's first half where the stage says so. */
NVDYN_FUNC void nvdyn_enter_stage(const nvdyn_stage_params *stages, int nstages, nvdyn_sample *ss,
                                  int st)
{
  ss->stage = st;
  ss->steps = 0;
  ss->pe_in_stage = ss->has_pe_prev = ss->has_e0 = 0;
  ss->stuck = 0;
  ss->reservoir = 0.0;
  for (int k = 0; k < NVDYN_MAX_CHAIN; k++) ss->eta[k] = ss->eta_dot[k] = 0.0;
  if (st >= nstages) {
    ss->outcome = NVDYN_K_DONE;
    ss->vinit = 0;
    return;
  }
  const nvdyn_stage_params *sg = &stages[st];
  ss->fdt = sg->dt;
  ss->alpha = sg->style == NVDYN_STYLE_FIRE ? sg->c.fire.alpha0
      : sg->style == NVDYN_STYLE_FIRE_ASE   ? sg->c.fire_ase.astart
                                            : 0.0;
  ss->dtv = 0.0;
  ss->last_negative = ss->nneg = 0;
  ss->vinit = nvdyn_is_fire(sg->style) || sg->velocity > 0.0;
}

/* An active sample stops with an outcome (FAILED or TIMEOUT) and why. */
NVDYN_FUNC void nvdyn_finish(nvdyn_sample *ss, int outcome, int reason)
{
  ss->outcome = outcome;
  ss->reason = reason;
}

/* ---- FIRE -------------------------------------------------------------- */

/* LAMMPS min_style fire, one iteration's global part for a sample, from its
 * sums vf = v.f, vv = v.v, ff = f.f and vmax = max |v_k|. */
NVDYN_FUNC nvdyn_fire_step nvdyn_fire_decide(const nvdyn_stage_params *sg, nvdyn_sample *ss,
                                             double vf, double vv, double ff, double vmax)
{
  /* the two ways (downhill: mix, and after delaystep such steps grow dt
   * and shrink alpha; uphill: reset alpha and shrink dt, except in the
   * initial delay) as selected values, without branches on the sign of
   * the power, which is as likely either way near a minimum */
  const nvdyn_fire_coef *p = &sg->c.fire;
  const double dt0 = sg->dt, alpha = ss->alpha, fdt = ss->fdt;
  const int64_t it = ss->steps + 1; /* iteration number in the stage */
  const int down = vf > 0.0; /* (& and |, not && and ||: no branches) */
  const int grow = down & (it - ss->last_negative > p->delaystep);
  const int reset = !down & !(p->initialdelay & (it < p->delaystep));
  const double shrunk = fdt * p->dtshrink, grown = nvdyn_min(fdt * p->dtgrow, p->tmax * dt0);
  const double mix = ff <= 1e-20 ? 0.0 : alpha * sqrt(vv / ff);
  nvdyn_fire_step c;
  c.s1 = down ? 1.0 - alpha : 1.0;
  c.s2 = down ? mix : 0.0;
  c.dtv_back = down | p->halfstepback ? ss->dtv : 0.0;
  ss->fdt = grow ? grown : reset & (shrunk >= p->tmin * dt0) ? shrunk : fdt;
  ss->alpha = grow ? alpha * p->alphashrink : reset ? p->alpha0 : alpha;
  ss->last_negative = down ? ss->last_negative : it;
  ss->nneg = down ? 0 : ss->nneg + 1;
  if (!down && p->vdfmax > 0 && ss->nneg > p->vdfmax) {
    ss->stuck = 1;
    c.mode = NVDYN_FIRE_STUCK;
    c.s1 = 1.0;
    c.dtv_back = ss->dtv;
    c.dtv = 0.0;
    return c;
  }
  c.mode = down ? NVDYN_FIRE_DOWNHILL : NVDYN_FIRE_UPHILL;
  const double vm = down ? vmax : 0.0; /* uphill: velocities are zeroed before the step */
  const double dtv = ss->fdt * vm > p->dmax ? p->dmax / vm : ss->fdt;
  c.dtv = ss->dtv = dtv;
  return c;
}

/* ASE FIRE, one step's global part for a sample (the position step, dtv,
 * follows from the updated velocities: nvdyn_fire_ase_limit). */
NVDYN_FUNC nvdyn_fire_ase_step nvdyn_fire_ase_decide(const nvdyn_stage_params *sg, nvdyn_sample *ss,
                                                     double vf, double vv, double ff)
{
  const nvdyn_fire_ase_coef *p = &sg->c.fire_ase;
  nvdyn_fire_ase_step c;
  c.s1 = 1.0;
  c.s2 = 0.0;
  c.dtv = 0.0;
  if (ss->steps == 0) {
    c.mode = NVDYN_ASE_FIRST;
  } else if (vf > 0.0) {
    c.s1 = 1.0 - ss->alpha;
    c.s2 = ff > 0.0 ? ss->alpha * sqrt(vv / ff) : 0.0;
    if (ss->nneg > p->nmin) {
      ss->fdt = nvdyn_min(ss->fdt * p->finc, p->dtmax);
      ss->alpha *= p->fa;
    }
    ss->nneg++; /* here: steps since the last uphill step (ASE's Nsteps) */
    c.mode = NVDYN_ASE_MIX;
  } else {
    ss->alpha = p->astart;
    ss->fdt *= p->fdec;
    ss->nneg = 0;
    c.mode = NVDYN_ASE_ZERO;
  }
  return c;
}

/* ASE FIRE: the position step x += dtv v, its length over the sample (vv =
 * sum of |v|^2 after the velocity update) limited to maxstep. */
NVDYN_FUNC double nvdyn_fire_ase_limit(const nvdyn_stage_params *sg, const nvdyn_sample *ss,
                                       double vv)
{
  const double norm = ss->fdt * sqrt(vv), maxstep = sg->c.fire_ase.maxstep;
  return norm > maxstep ? ss->fdt * maxstep / norm : ss->fdt;
}

/* ---- thermostats --------------------------------------------------------- */

/* One half step (dt/2) of a sample's Nose-Hoover chain, given 2 KE
 * (sum m v^2 mvv2e); returns the velocity scale factor. Trotter
 * factorisation as in LAMMPS fix nvt (one sub-step). */
NVDYN_FUNC double nvdyn_nhc_half_step(const nvdyn_stage_params *sg, nvdyn_sample *ss, double ke2,
                                      double natoms, double boltz)
{
  const nvdyn_thermostat_coef *p = &sg->c.thermostat;
  const int m = p->chain;
  const double dof = nvdyn_dof(sg, natoms);
  if (dof <= 0.0) return 1.0;
  const double dt = sg->dt, kt = boltz * p->temp;
  const double tdamp2 = p->damp * p->damp;
  double q[NVDYN_MAX_CHAIN], gdot;
  for (int k = 0; k < m; k++) q[k] = (k == 0 ? dof : 1.0) * kt * tdamp2;
  const double dt2 = 0.5 * dt, dt4 = 0.25 * dt, dt8 = 0.125 * dt;
  double *xi = ss->eta, *vxi = ss->eta_dot;
  /* thermostat velocities, from the end of the chain inwards */
  for (int k = m - 1; k >= 0; k--) {
    double ex = k + 1 < m ? exp(-dt8 * vxi[k + 1]) : 1.0;
    gdot = k == 0 ? (ke2 - dof * kt) / q[0] : (q[k - 1] * vxi[k - 1] * vxi[k - 1] - kt) / q[k];
    vxi[k] = (vxi[k] * ex + gdot * dt4) * ex;
  }
  const double factor = exp(-dt2 * vxi[0]);
  ke2 *= factor * factor;
  for (int k = 0; k < m; k++) xi[k] += dt2 * vxi[k];
  /* and back outwards */
  for (int k = 0; k < m; k++) {
    double ex = k + 1 < m ? exp(-dt8 * vxi[k + 1]) : 1.0;
    gdot = k == 0 ? (ke2 - dof * kt) / q[0] : (q[k - 1] * vxi[k - 1] * vxi[k - 1] - kt) / q[k];
    vxi[k] = (vxi[k] * ex + gdot * dt4) * ex;
  }
  /* the chain's energy */
  double energy = dof * kt * xi[0];
  for (int k = 0; k < m; k++) energy += 0.5 * q[k] * vxi[k] * vxi[k] + (k ? kt * xi[k] : 0.0);
  ss->reservoir = energy;
  return factor;
}

/* Bussi-Donadio-Parrinello: the new kinetic energy of a sample over one
 * step (Bussi et al., J. Chem. Phys. 126, 014101, 2007, appendix), its
 * noise keyed by the sample's key and its step (age + 1); returns the
 * velocity scale factor. */
NVDYN_FUNC double nvdyn_csvr_factor(const nvdyn_stage_params *sg, nvdyn_sample *ss, double ke,
                                    double natoms, double boltz)
{
  const nvdyn_thermostat_coef *p = &sg->c.thermostat;
  const double dof = nvdyn_dof(sg, natoms);
  if (dof <= 0.0 || ke <= 0.0) return 1.0;
  const double c = p->decay;
  const double target = 0.5 * dof * boltz * p->temp;
  nvdyn_rng r = nvdyn_rng_make(p->seed, ss->key, 0, (uint64_t) (ss->age + 1), NVDYN_PURPOSE_CSVR);
  /* R1 and the sum of dof - 1 more squared normal numbers; the odd one of
   * those is R1's partner of the same polar pair */
  double r1, r2;
  nvdyn_rng_normal2(&r, &r1, &r2);
  const int n = (int) dof - 1;
  const double sum =
      (n & 1) && n <= 16 ? r2 * r2 + nvdyn_rng_chi2(&r, n - 1) : nvdyn_rng_chi2(&r, n);
  double knew = ke + (1.0 - c) * (target * (sum + r1 * r1) / dof - ke) +
      2.0 * r1 * sqrt(ke * target / dof * (1.0 - c) * c);
  if (knew < 0.0) knew = 0.0;
  ss->reservoir -= knew - ke;
  return sqrt(knew / ke);
}

/* Langevin: the O-step coefficients c1 = exp(-dt/damp) and sigma^2 m */
NVDYN_FUNC nvdyn_langevin_step nvdyn_langevin_coef(const nvdyn_stage_params *sg,
                                                   const nvdyn_units *u)
{
  nvdyn_langevin_step c;
  c.c1 = sg->c.thermostat.decay;
  c.sigma2m = (1.0 - c.c1 * c.c1) * u->boltz * sg->c.thermostat.temp / u->mvv2e;
  return c;
}

/* Drawn velocities (momentum removed; their sum of m v^2 is mvv over
 * natoms atoms): the factor that scales them to exactly the stage's
 * velocity temperature. Velocities whose sum of squares overflows get
 * NaN: the sample then fails (reason nan) instead of starting at rest. */
NVDYN_FUNC double nvdyn_velocity_scale(const nvdyn_stage_params *sg, double natoms, double mvv,
                                       const nvdyn_units *u)
{
  const double dof = nvdyn_dof(sg, natoms);
  if (!(mvv <= DBL_MAX)) return NAN;
  return (dof > 0.0 && mvv > 0.0) ? sqrt(dof * u->boltz * sg->velocity / (u->mvv2e * mvv)) : 0.0;
}

/* ---- checks, criteria, outcomes ----------------------------------------- */

/* the stage has an energy-drift monitor */
NVDYN_FUNC int nvdyn_has_drift(const nvdyn_stage_params *sg)
{
  return sg->style == NVDYN_STYLE_NVE && sg->drift > 0.0;
}

/* the stage checks its samples: criteria, maxsteps or a drift monitor */
NVDYN_FUNC int nvdyn_has_checks(const nvdyn_stage_params *sg)
{
  return sg->criteria != 0 || sg->maxsteps > 0 || nvdyn_has_drift(sg);
}

/* The stage can finish a sample: criteria, maxsteps, a drift monitor or
 * FIRE's uphill limit (failures aside). */
NVDYN_FUNC int nvdyn_can_finish(const nvdyn_stage_params *sg)
{
  return nvdyn_has_checks(sg) || (sg->style == NVDYN_STYLE_FIRE && sg->c.fire.vdfmax > 0);
}

/* The next step's end checks the sample (its steps in the stage will be
 * steps + 1). A stage without criteria, maxsteps or drift monitor has
 * nothing to check. */
NVDYN_FUNC int nvdyn_check_due(const nvdyn_stage_params *sg, const nvdyn_sample *ss)
{
  const int64_t n = ss->steps + 1;
  if (!nvdyn_has_checks(sg)) return 0;
  return sg->every == 1 || n % sg->every == 0 || (sg->maxsteps > 0 && n >= sg->maxsteps);
}

/* checks of the stage need per-atom energies */
NVDYN_FUNC int nvdyn_needs_energy(const nvdyn_stage_params *sg)
{
  return (sg->criteria & NVDYN_CRIT_DE) || nvdyn_has_drift(sg);
}

/* criteria of a checked sample, all of which must hold */
NVDYN_FUNC int nvdyn_criteria_hold(const nvdyn_stage_params *sg, const nvdyn_sample *ss)
{
  if (sg->criteria == 0) return 0;
  if ((sg->criteria & NVDYN_CRIT_FMAX) && !(ss->fmax <= sg->fmax)) return 0;
  if ((sg->criteria & NVDYN_CRIT_DE) &&
      !(ss->has_pe_prev && fabs(ss->pe_check - ss->pe_prev) <= sg->de))
    return 0;
  if ((sg->criteria & NVDYN_CRIT_STEPS) && ss->steps < sg->steps) return 0;
  return 1;
}

/* what the end of a step did to a sample */
enum { NVDYN_EVENT_NONE = 0, NVDYN_EVENT_FINISHED = 1, NVDYN_EVENT_CONVERGED = 2 };

/* The end of a step for an active sample (its step already counted in
 * ss->steps and ss->age): with statistics st (NULL when none were reduced), fail it on
 * a hazard (when safety), time it out when stuck; on a check (due) or a
 * refresh, update its values from st; on a check, record its energy, fail
 * it on drift, and return CONVERGED when its criteria hold (the caller
 * moves it to the next stage) or time it out after maxsteps. */
NVDYN_FUNC int nvdyn_end_sample(const nvdyn_stage_params *sg, nvdyn_sample *ss,
                                const nvdyn_stats *st, int due, int refresh, int safety,
                                const nvdyn_units *u)
{
  if (st && safety && st->hazard != 0.0) {
    nvdyn_finish(ss, NVDYN_K_FAILED,
                 st->hazard >= 2.0 ? NVDYN_K_REASON_NAN : NVDYN_K_REASON_UNSTABLE);
    return NVDYN_EVENT_FINISHED;
  }
  if (ss->stuck) {
    nvdyn_finish(ss, NVDYN_K_TIMEOUT, NVDYN_K_REASON_UPHILL);
    return NVDYN_EVENT_FINISHED;
  }
  if ((!due && !refresh) || !st) return NVDYN_EVENT_NONE;
  ss->natoms = st->natoms;
  ss->ke = 0.5 * u->mvv2e * st->mvv;
  ss->fmax = sqrt(st->f2max);
  const double dof = nvdyn_dof(sg, ss->natoms);
  ss->temp = dof > 0.0 ? 2.0 * ss->ke / (dof * u->boltz) : 0.0;
  if (st->has_pe != 0.0) ss->pe = st->pe;
  if (!due) return NVDYN_EVENT_NONE;
  if (st->has_pe != 0.0) {
    if (ss->pe_in_stage) {
      ss->pe_prev = ss->pe_check;
      ss->has_pe_prev = 1;
    }
    ss->pe_check = st->pe;
    ss->pe_in_stage = 1;
    if (nvdyn_has_drift(sg)) {
      const double etot = ss->pe + ss->ke;
      if (!ss->has_e0) {
        ss->e0 = etot;
        ss->has_e0 = 1;
      }
      ss->drift = fabs(etot - ss->e0) / ss->natoms;
      if (!(ss->drift <= sg->drift)) {
        nvdyn_finish(ss, NVDYN_K_FAILED, NVDYN_K_REASON_DRIFT);
        return NVDYN_EVENT_FINISHED;
      }
    }
  }
  if (nvdyn_criteria_hold(sg, ss)) return NVDYN_EVENT_CONVERGED;
  if (sg->maxsteps > 0 && ss->steps >= sg->maxsteps) {
    nvdyn_finish(ss, NVDYN_K_TIMEOUT, NVDYN_K_REASON_MAXSTEPS);
    return NVDYN_EVENT_FINISHED;
  }
  return NVDYN_EVENT_NONE;
}

#endif /* NVDYN_KERNELS_SAMPLE_H */
