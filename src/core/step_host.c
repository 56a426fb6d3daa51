/* NVDYN core: the host step driver, the two halves of a step. Loops over
 * the caller's atoms call the per-atom kernels (kernels/atom.h); loops over
 * the active samples call the per-sample kernels (kernels/sample.h);
 * per-sample sums go through the reduction callback, packed over the
 * samples that take part (host.h). */
#include "host.h"

/* sum of m v^2 and number of atoms (acc[0, 1]) of the selected samples,
 * reduced (width 2) */
static nvdyn_status sum_mvv(nvdyn_engine *e, const nvdyn_atoms *a)
{
  const layout L = layout_of(e, a);
  run r = run_start(e, 2);
  for (int i = 0; i < a->natoms; i++) {
    const int p = selected(e, a, i);
    if (p < 0) continue;
    run_at(e, &r, p, 2);
    r.sum[0] += nvdyn_mvv_term(VI(L, a, i), L.vc, MASS(L, a, i));
    r.sum[1] += 1.0;
  }
  run_end(e, &r, 2);
  return nvdyn_i_reduce_acc(e, e->acc, NVDYN_REDUCE_SUM);
}

/* ---- velocity initialisation of samples entering a stage -------------------- */

static nvdyn_status init_velocities(nvdyn_engine *e, const nvdyn_atoms *a)
{
  if (!e->vinit_due) return NVDYN_OK;
  const int draw = nvdyn_i_select_vinit(e);
  if (e->nsel == 0) {
    e->vinit_due = 0;
    return NVDYN_OK;
  }
  const int nvinit = e->nsel;
  if (draw && a->natoms > 0 && !a->index)
    return nvdyn_i_fail(e, NVDYN_ERR_NULL,
                        "velocity initialisation needs each atom's index in its sample (index)");
  nvdyn_i_zero_acc(e, 5);
  const layout L = layout_of(e, a);
  /* draw (or zero), and sum momentum, mass and count per sample */
  for (int i = 0; i < a->natoms; i++) {
    const int s = active_sample(e, a, i);
    if (s < 0 || e->pos[s] < 0) continue;
    double *v = VI(L, a, i);
    const nvdyn_stage_params *sg = stage_of(e, s);
    if (!(sg->velocity > 0.0)) {
      nvdyn_zero(v, L.vc);
      continue;
    }
    const double m = MASS(L, a, i);
    const nvdyn_sample *ss = &e->samples[s];
    nvdyn_rng r = nvdyn_rng_make(sg->velocity_seed, ss->key, (uint64_t) a->index[i],
                                 (uint64_t) (ss->age + 1), NVDYN_PURPOSE_VELOCITY);
    double *acc = &e->acc[e->pos[s] * 5];
    nvdyn_draw_velocity(v, L.vc, m, sg->velocity, &e->units, &r, acc);
    acc[3] += m;
    acc[4] += 1.0;
  }
  if (draw) {
    nvdyn_status rc = nvdyn_i_reduce_acc(e, e->acc, NVDYN_REDUCE_SUM);
    if (rc != NVDYN_OK) return rc;
    /* remove the net momentum, then scale to exactly the temperature */
    for (int i = 0; i < a->natoms; i++) {
      const int s = active_sample(e, a, i);
      if (s < 0 || e->pos[s] < 0 || !(stage_of(e, s)->velocity > 0.0)) continue;
      double *v = VI(L, a, i);
      const double *acc = &e->acc[e->pos[s] * 5];
      nvdyn_remove_momentum(v, L.vc, acc, acc[3]);
      e->acc2[e->pos[s] * 5] += nvdyn_mvv_term(v, L.vc, MASS(L, a, i));
    }
    if ((rc = nvdyn_i_reduce_acc(e, e->acc2, NVDYN_REDUCE_SUM)) != NVDYN_OK) return rc;
    /* the drawn samples only: scaled, then checked before they move */
    nvdyn_i_keep_drawn(e);
    nvdyn_i_scale_velocities(e, a, 0);
    /* a sample whose drawn velocities would make an unsafe first step
     * fails before its atoms move */
    int nfailed = 0;
    if (nvdyn_i_safety_on(e) && (rc = nvdyn_i_fail_hazards(e, a, 0, &nfailed)) != NVDYN_OK)
      return rc;
    e->pending += nfailed;
  } else {
    for (int k = 0; k < nvinit; k++) e->samples[e->sel[k]].vinit = 0;
  }
  e->vinit_due = 0;
  return NVDYN_OK;
}

/* ---- the step's first half -------------------------------------------------- */

/* The hook-only calls check the atoms only when hooks will see them. */
static nvdyn_status hook_call(nvdyn_engine *e, nvdyn_hook_point point, const nvdyn_atoms *a)
{
  if (!e) return NVDYN_ERR_NULL;
  int any = 0;
  for (int k = 0; k < e->nhooks; k++) any |= e->hooks[k].point == point;
  if (!any) return nvdyn_i_ok(e);
  nvdyn_status rc = nvdyn_i_check_atoms(e, a);
  if (rc != NVDYN_OK) return rc;
  rc = nvdyn_i_run_hooks(e, point, a, e->step + 1);
  return rc != NVDYN_OK ? rc : nvdyn_i_ok(e);
}

nvdyn_status nvdyn_begin_step(nvdyn_engine *e, const nvdyn_atoms *a)
{
  return hook_call(e, NVDYN_BEFORE_STEP, a);
}

nvdyn_status nvdyn_begin_compute(nvdyn_engine *e, const nvdyn_atoms *a)
{
  return hook_call(e, NVDYN_BEFORE_COMPUTE, a);
}

nvdyn_status nvdyn_end_compute(nvdyn_engine *e, const nvdyn_atoms *a)
{
  return hook_call(e, NVDYN_AFTER_COMPUTE, a);
}

/* Tight loops over the atoms for the common cases: every active sample in
 * a kick-drift stage (nve, csvr), or every active sample in a fire stage. */
HOT_LOOP int kick_drift_loop(const layout L, const nvdyn_engine *e, const nvdyn_atoms *a)
{
  const signed char *kind = e->kind;
  const double *sdt = e->sdt;
  const double ftm2v = e->units.ftm2v;
  const int n = a->natoms;
  const int *sample = a->sample;
  for (int i = 0; i < n; i++) {
    const int s = sample[i];
    if (s >= 0 && kind[s] >= 0) {
      const double *f = FI(L, a, i);
      nvdyn_kick_drift(XI(L, a, i), L.xc, VI(L, a, i), L.vc, f, L.fc, MASS(L, a, i), sdt[s], ftm2v,
                       CLAMP(L, e, f));
    }
  }
  return 0;
}

static void kick_drift(const nvdyn_engine *e, const nvdyn_atoms *a)
{
  with_layout(e, a, kick_drift_loop, e, a);
}

HOT_LOOP int fire_step_loop(const layout L, const nvdyn_engine *e, const nvdyn_atoms *a)
{
  const signed char *kind = e->kind;
  const nvdyn_step_coef *coef = e->coef;
  const double ftm2v = e->units.ftm2v;
  const int n = a->natoms;
  const int *sample = a->sample;
  for (int i = 0; i < n; i++) {
    const int s = sample[i];
    if (s >= 0 && kind[s] == NVDYN_STYLE_FIRE) {
      const double *f = FI(L, a, i);
      nvdyn_fire_atom(XI(L, a, i), L.xc, VI(L, a, i), L.vc, f, L.fc, MASS(L, a, i), CLAMP(L, e, f),
                      ftm2v, &coef[s].fire);
    }
  }
  return 0;
}

static void fire_step(const nvdyn_engine *e, const nvdyn_atoms *a)
{
  with_layout(e, a, fire_step_loop, e, a);
}

/* FIRE: per-sample sums v.f, v.v, f.f (acc) and max |v_k| (acc2) of the
 * selected samples, reduced, then each sample's decision */
HOT_LOOP int fire_sums_loop(const layout L, nvdyn_engine *e, const nvdyn_atoms *a)
{
  run r = run_start(e, 3);
  const int n = a->natoms;
  for (int i = 0; i < n; i++) {
    const int p = selected(e, a, i);
    if (p < 0) continue;
    const double *v = VI(L, a, i), *f = FI(L, a, i);
    run_at(e, &r, p, 3);
    const double vm = nvdyn_fire_terms(v, L.vc, f, L.fc, CLAMP(L, e, f), r.sum);
    r.max[0] = vm > r.max[0] ? vm : r.max[0]; /* a select, not a branch */
  }
  run_end(e, &r, 3);
  return 0;
}

static nvdyn_status fire_decisions(nvdyn_engine *e, const nvdyn_atoms *a)
{
  with_layout(e, a, fire_sums_loop, e, a);
  nvdyn_status rc = nvdyn_i_reduce_acc(e, e->acc, NVDYN_REDUCE_SUM);
  if (rc != NVDYN_OK) return rc;
  if ((rc = nvdyn_i_reduce_acc(e, e->acc2, NVDYN_REDUCE_MAX)) != NVDYN_OK) return rc;
  for (int k = 0; k < e->nsel; k++) {
    const int s = e->sel[k];
    const double *sum = &e->acc[3 * k];
    nvdyn_sample *ss = &e->samples[s];
    if (e->kind[s] == NVDYN_STYLE_FIRE)
      e->coef[s].fire =
          nvdyn_fire_decide(stage_of(e, s), ss, sum[0], sum[1], sum[2], e->acc2[3 * k]);
    else
      e->coef[s].fire_ase = nvdyn_fire_ase_decide(stage_of(e, s), ss, sum[0], sum[1], sum[2]);
    e->sdt[s] = ss->fdt;
  }
  return NVDYN_OK;
}

/* every active sample's atoms, whatever their style */
HOT_LOOP int mixed_step_loop(const layout L, nvdyn_engine *e, const nvdyn_atoms *a)
{
  const nvdyn_units *u = &e->units;
  for (int i = 0; i < a->natoms; i++) {
    const int s = active_sample(e, a, i);
    if (s < 0) continue;
    double *x = XI(L, a, i), *v = VI(L, a, i);
    const double *f = FI(L, a, i);
    const double fc = CLAMP(L, e, f), m = MASS(L, a, i);
    const double dt = e->sdt[s];
    const nvdyn_step_coef *c = &e->coef[s];
    switch (e->kind[s]) {
      case NVDYN_STYLE_NHC:
        nvdyn_scale(v, L.vc, c->scale);
        /* fall through */
      case NVDYN_STYLE_NVE:
      case NVDYN_STYLE_CSVR:
        nvdyn_kick_drift(x, L.xc, v, L.vc, f, L.fc, m, dt, u->ftm2v, fc);
        break;
      case NVDYN_STYLE_LANGEVIN: {
        const nvdyn_sample *ss = &e->samples[s];
        nvdyn_rng r =
            nvdyn_rng_make(stage_of(e, s)->c.thermostat.seed, ss->key, (uint64_t) a->index[i],
                           (uint64_t) (ss->age + 1), NVDYN_PURPOSE_LANGEVIN);
        nvdyn_baoab_atom(x, L.xc, v, L.vc, f, L.fc, m, fc, dt, u->ftm2v, &c->langevin, &r);
      } break;
      case NVDYN_STYLE_FIRE:
        nvdyn_fire_atom(x, L.xc, v, L.vc, f, L.fc, m, fc, u->ftm2v, &c->fire);
        break;
      case NVDYN_STYLE_FIRE_ASE:
        e->acc[e->pos[s] * e->width] +=
            nvdyn_fire_ase_velocity(v, L.vc, f, L.fc, fc, e->sdt[s], &c->fire_ase);
        break;
    }
  }
  return 0;
}

static void mixed_step(nvdyn_engine *e, const nvdyn_atoms *a)
{
  with_layout(e, a, mixed_step_loop, e, a);
}

/* ASE FIRE: the step dr = dt v, limited to maxstep in norm over the sample
 * (acc: the sample's sum of |v|^2 after the velocity update) */
static nvdyn_status fire_ase_positions(nvdyn_engine *e, const nvdyn_atoms *a)
{
  nvdyn_status rc = nvdyn_i_reduce_acc(e, e->acc, NVDYN_REDUCE_SUM);
  if (rc != NVDYN_OK) return rc;
  for (int k = 0; k < e->nsel; k++) {
    const int s = e->sel[k];
    if (e->kind[s] == NVDYN_STYLE_FIRE_ASE)
      e->coef[s].fire_ase.dtv =
          nvdyn_fire_ase_limit(stage_of(e, s), &e->samples[s], e->acc[k * e->width]);
  }
  const layout L = layout_of(e, a);
  for (int i = 0; i < a->natoms; i++) {
    const int s = a->sample[i];
    if (s >= 0 && e->kind[s] == NVDYN_STYLE_FIRE_ASE)
      nvdyn_drift(XI(L, a, i), L.xc, VI(L, a, i), L.vc, e->coef[s].fire_ase.dtv);
  }
  return NVDYN_OK;
}

/* Everything of pre_update between its hooks. */
static nvdyn_status pre_update_atoms(nvdyn_engine *e, const nvdyn_atoms *a)
{
  nvdyn_status rc = init_velocities(e, a);
  if (rc != NVDYN_OK) return rc;
  if (a->natoms > 0 && !a->index && any_active(e, S(LANGEVIN)))
    return nvdyn_i_fail(e, NVDYN_ERR_NULL,
                        "langevin stages need each atom's index in its sample (index)");

  /* Nose-Hoover chains scale v before the drift: a sample whose scaled
   * step has a hazard fails before it moves */
  /* (selections only where their styles are active: the FIRE selection
   * stays from step to step) */
  if (any_active(e, S(NHC)) && nvdyn_i_select_styles(e, S(NHC))) {
    if ((rc = sum_mvv(e, a)) != NVDYN_OK) return rc;
    for (int k = 0; k < e->nsel; k++) {
      const int s = e->sel[k];
      e->coef[s].scale =
          nvdyn_nhc_half_step(stage_of(e, s), &e->samples[s], e->acc[2 * k] * e->units.mvv2e,
                              e->acc[2 * k + 1], e->units.boltz);
    }
    if (nvdyn_i_safety_on(e)) {
      int nfailed = 0;
      if ((rc = nvdyn_i_fail_hazards(e, a, 1, &nfailed)) != NVDYN_OK) return rc;
      e->pending += nfailed;
    }
  }
  const int nfire = nvdyn_i_select_styles(e, S_FIRE_ANY);
  if (nfire && (rc = fire_decisions(e, a)) != NVDYN_OK) return rc;
  for (int k = 0; e->nstyle[NVDYN_STYLE_LANGEVIN] && k < e->nactive; k++) {
    const int s = e->active[k];
    if (e->kind[s] == NVDYN_STYLE_LANGEVIN)
      e->coef[s].langevin = nvdyn_langevin_coef(stage_of(e, s), &e->units);
  }

  /* the atom pass: tight loops in the common cases, else one loop over
   * every style */
  if (!any_active(e, S_ALL & ~(S(NVE) | S(CSVR)))) {
    kick_drift(e, a);
    return NVDYN_OK;
  }
  if (!any_active(e, S_ALL & ~S(FIRE))) {
    fire_step(e, a);
    return NVDYN_OK;
  }
  const int ase = any_active(e, S(FIRE_ASE));
  if (ase) /* the selection is still FIRE's: its sums make way for |v|^2 */
    nvdyn_i_zero_acc(e, 1);
  mixed_step(e, a);
  return ase ? fire_ase_positions(e, a) : NVDYN_OK;
}

/* a half of the step between the hooks of its two points */
static nvdyn_status hooked(nvdyn_engine *e, const nvdyn_atoms *a, nvdyn_hook_point before,
                           nvdyn_status (*half)(nvdyn_engine *, const nvdyn_atoms *),
                           nvdyn_hook_point after)
{
  nvdyn_status rc = nvdyn_i_begin_call(e, a);
  if (rc != NVDYN_OK) return rc;
  if ((rc = nvdyn_i_run_hooks(e, before, a, e->step + 1)) != NVDYN_OK) return rc;
  if ((rc = half(e, a)) != NVDYN_OK) return rc;
  if ((rc = nvdyn_i_run_hooks(e, after, a, e->step + 1)) != NVDYN_OK) return rc;
  return nvdyn_i_ok(e);
}

nvdyn_status nvdyn_pre_update(nvdyn_engine *e, const nvdyn_atoms *a)
{
  return hooked(e, a, NVDYN_BEFORE_PRE_UPDATE, pre_update_atoms, NVDYN_AFTER_PRE_UPDATE);
}

/* ---- the step's second half ------------------------------------------------- */

/* The last half kick of every MD atom; with sums, the kinetic energy sums
 * (acc, width 2: m v^2 and the number of atoms) of the selected samples
 * (the thermostats'). Returns the bound flag of the next steps of the other
 * atoms (the thermostats' are checked after their scaling). sums is a
 * constant at each call. */
HOT_LOOP int last_kick_loop(const layout L, nvdyn_engine *e, const nvdyn_atoms *a, const int sums)
{
  const signed char *kind = e->kind;
  const double *sdt = e->sdt;
  const double ftm2v = e->units.ftm2v;
  const int n = a->natoms;
  const int *sample = a->sample;
  nvdyn_step_bound b = {0.0, 0.0, 0.0, 0.0, 0};
  run r = {.p = -1};
  if (sums) r = run_start(e, 2); /* (without, the selection is another pass's) */
  for (int i = 0; i < n; i++) {
    const int s = sample[i];
    if (s < 0 || kind[s] < NVDYN_STYLE_NVE) continue; /* not active, or FIRE */
    double *v = VI(L, a, i);
    const double *f = FI(L, a, i);
    const double m = MASS(L, a, i), dt = sdt[s], fc = CLAMP(L, e, f);
    const double hdt = nvdyn_kick_last(v, L.vc, f, L.fc, m, dt, ftm2v, fc);
    const int p = sums ? e->pos[s] : -1;
    if (p < 0) {
      nvdyn_bound_add(&b, v, L.vc, f, L.fc, fc, hdt, dt);
    } else {
      run_at(e, &r, p, 2);
      r.sum[0] += nvdyn_mvv_term(v, L.vc, m);
      r.sum[1] += 1.0;
    }
  }
  if (sums) run_end(e, &r, 2);
  return nvdyn_bound_flag(&b, e->units.maxmove);
}

/* Everything of post_update between its hooks. */
static nvdyn_status post_update_atoms(nvdyn_engine *e, const nvdyn_atoms *a)
{
  const unsigned thermo = S(CSVR) | S(NHC);
  const int nthermo = any_active(e, thermo) ? nvdyn_i_select_styles(e, thermo) : 0;
  if (!any_active(e, S_MD)) return NVDYN_OK; /* FIRE works in pre_update only */
  const int safety = nvdyn_i_safety_on(e);
  if (!nthermo) {
    e->flagged |= with_layout(e, a, last_kick_loop, e, a, 0) && safety;
    return NVDYN_OK;
  }
  e->flagged |= with_layout(e, a, last_kick_loop, e, a, 1) && safety;
  const nvdyn_units *u = &e->units;
  nvdyn_status rc = nvdyn_i_reduce_acc(e, e->acc, NVDYN_REDUCE_SUM);
  if (rc != NVDYN_OK) return rc;
  for (int k = 0; k < e->nsel; k++) {
    const int s = e->sel[k];
    nvdyn_sample *ss = &e->samples[s];
    const nvdyn_stage_params *sg = stage_of(e, s);
    const double mvv = e->acc[2 * k] * u->mvv2e, natoms = e->acc[2 * k + 1];
    e->coef[s].scale = sg->style == NVDYN_STYLE_NHC
        ? nvdyn_nhc_half_step(sg, ss, mvv, natoms, u->boltz)
        : nvdyn_csvr_factor(sg, ss, 0.5 * mvv, natoms, u->boltz);
  }
  e->flagged |= nvdyn_i_scale_velocities(e, a, safety);
  return NVDYN_OK;
}

nvdyn_status nvdyn_post_update(nvdyn_engine *e, const nvdyn_atoms *a)
{
  return hooked(e, a, NVDYN_BEFORE_POST_UPDATE, post_update_atoms, NVDYN_AFTER_POST_UPDATE);
}

nvdyn_status nvdyn_step(nvdyn_engine *e, const nvdyn_atoms *a, nvdyn_force_fn force, void *user,
                        int *nchanged)
{
  if (!e) return NVDYN_ERR_NULL;
  if (!force) return nvdyn_i_fail(e, NVDYN_ERR_NULL, "force callback is NULL");
  nvdyn_status rc;
  if ((rc = nvdyn_begin_step(e, a)) != NVDYN_OK) return rc;
  if ((rc = nvdyn_pre_update(e, a)) != NVDYN_OK) return rc;
  if ((rc = nvdyn_begin_compute(e, a)) != NVDYN_OK) return rc;
  int frc = force(a, user);
  if (frc != 0)
    return nvdyn_i_fail(e, NVDYN_ERR_CALLBACK, "force callback returned %d on step %lld", frc,
                        (long long) (e->step + 1));
  if ((rc = nvdyn_end_compute(e, a)) != NVDYN_OK) return rc;
  if ((rc = nvdyn_post_update(e, a)) != NVDYN_OK) return rc;
  return nvdyn_end_step(e, a, nchanged);
}
