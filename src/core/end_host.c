/* NVDYN core: the end of a host step: safety checks, criteria, outcomes
 * and the migration of samples between stages. */
#include "host.h"

/* ---- the end of the step: checks, criteria, migration ---------------------- */

nvdyn_status nvdyn_checks_due(const nvdyn_engine *e, int *n)
{
  if (!e || !n) return NVDYN_ERR_NULL;
  *n = 0;
  for (int k = 0; k < e->nactive; k++) {
    const int s = e->active[k];
    *n += nvdyn_check_due(stage_of(e, s), &e->samples[s]);
  }
  return NVDYN_OK;
}

nvdyn_status nvdyn_refresh_values(nvdyn_engine *e)
{
  if (!e) return NVDYN_ERR_NULL;
  e->refresh = 1;
  return nvdyn_i_ok(e);
}

nvdyn_status nvdyn_need_energy(const nvdyn_engine *e, int *need)
{
  if (!e || !need) return NVDYN_ERR_NULL;
  *need = 0;
  for (int k = 0; k < e->nactive && !*need; k++) {
    const int s = e->active[k];
    const nvdyn_stage_params *sg = stage_of(e, s);
    *need = nvdyn_needs_energy(sg) && nvdyn_check_due(sg, &e->samples[s]);
  }
  return NVDYN_OK;
}

/* the sums and maxima; returns the flag of a bound of every atom's next
 * step (1: one may have a hazard) */
HOT_LOOP int stats_loop(const layout L, nvdyn_engine *e, const nvdyn_atoms *a)
{
  run r = run_start(e, 3);
  const int n = a->natoms;
  const double *pe = a->pe;
  nvdyn_step_bound b = {0.0, 0.0, 0.0, 0.0, 0};
  for (int i = 0; i < n; i++) {
    const int s = active_sample(e, a, i);
    if (s < 0) continue;
    const double *x = XI(L, a, i), *v = VI(L, a, i), *f = FI(L, a, i);
    const double m = MASS(L, a, i);
    run_at(e, &r, e->pos[s], 3);
    const double f2 = nvdyn_dot(f, L.fc, f, L.fc);
    r.sum[0] += nvdyn_mvv_term(v, L.vc, m);
    if (pe) {
      r.sum[1] += pe[i];
      r.max[2] = 1.0;
    }
    r.sum[2] += 1.0;
    r.max[0] = f2 > r.max[0] ? f2 : r.max[0]; /* a select, not a branch */
    nvdyn_bound_add_atom(&b, x, L.xc, v, L.vc, f, L.fc, CLAMP(L, e, f), m, e->kind[s], e->sdt[s],
                         &e->units);
  }
  run_end(e, &r, 3);
  return nvdyn_bound_flag(&b, e->units.maxmove);
}

/* Statistics of every active sample (selected, width 3): acc = (sum m v^2,
 * PE, natoms) summed, acc2 = (max |f|^2, largest atom hazard, PE given)
 * maximised; the hazards from a bound of all atoms' steps, then, when it
 * flags on some rank, exactly. */
static nvdyn_status sample_stats(nvdyn_engine *e, const nvdyn_atoms *a)
{
  nvdyn_i_select_styles(e, S_ALL);
  /* a bound that flags: every sample of the step is tested exactly */
  if (with_layout(e, a, stats_loop, e, a))
    for (int k = 0; k < e->nsel; k++) e->acc2[3 * k + 1] = 1.0;
  nvdyn_status rc = nvdyn_i_reduce_acc(e, e->acc, NVDYN_REDUCE_SUM);
  if (rc != NVDYN_OK) return rc;
  if ((rc = nvdyn_i_reduce_acc(e, e->acc2, NVDYN_REDUCE_MAX)) != NVDYN_OK) return rc;
  /* the exact hazards (1 unsafe step, 2 non-finite values) of the samples
   * whose atoms were flagged, the same on every rank */
  int flagged = 0;
  for (int k = 0; k < e->nsel; k++) {
    e->touched[k] = e->acc2[3 * k + 1] != 0.0;
    flagged |= e->touched[k];
    if (e->touched[k]) e->acc2[3 * k + 1] = 0.0;
  }
  if (!flagged) return NVDYN_OK;
  const layout L = layout_of(e, a);
  for (int i = 0; i < a->natoms; i++) {
    const int s = active_sample(e, a, i);
    if (s < 0 || !e->touched[e->pos[s]]) continue;
    const double h = atom_hazard(L, e, a, i, s, 1.0);
    double *mx = &e->acc2[3 * e->pos[s] + 1];
    if (h > *mx) *mx = h;
  }
  return nvdyn_i_reduce_acc(e, e->acc2, NVDYN_REDUCE_MAX);
}

/* 1 if an atom of an active sample whose style is in mask may have a
 * hazard (a bound of their steps; the exact per-sample test follows) */
HOT_LOOP int any_hazard_loop(const layout L, const nvdyn_engine *e, const nvdyn_atoms *a,
                             unsigned mask)
{
  const signed char *kind = e->kind;
  const double *sdt = e->sdt;
  const int n = a->natoms;
  const int *sample = a->sample;
  nvdyn_step_bound b = {0.0, 0.0, 0.0, 0.0, 0};
  for (int i = 0; i < n; i++) {
    const int s = sample[i];
    if (s >= 0 && kind[s] >= 0 && ((mask >> kind[s]) & 1u)) {
      const double *f = FI(L, a, i);
      nvdyn_bound_add_atom(&b, XI(L, a, i), L.xc, VI(L, a, i), L.vc, f, L.fc, CLAMP(L, e, f),
                           MASS(L, a, i), kind[s], sdt[s], &e->units);
    }
  }
  return nvdyn_bound_flag(&b, e->units.maxmove);
}

static int any_hazard(const nvdyn_engine *e, const nvdyn_atoms *a, unsigned mask)
{
  return with_layout(e, a, any_hazard_loop, e, a, mask);
}

nvdyn_status nvdyn_check_atoms(nvdyn_engine *e, const nvdyn_atoms *a, int *nfailed)
{
  nvdyn_status rc = nvdyn_i_begin_call(e, a);
  if (rc != NVDYN_OK) return rc;
  if (nfailed) *nfailed = 0;
  if (!nvdyn_i_safety_on(e)) return nvdyn_i_ok(e);
  double bad = any_hazard(e, a, S_ALL);
  if ((rc = nvdyn_i_reduce(e, &bad, 1, NVDYN_REDUCE_MAX)) != NVDYN_OK) return rc;
  if (bad == 0.0) return nvdyn_i_ok(e);
  nvdyn_i_select_styles(e, S_ALL);
  rc = nvdyn_i_fail_hazards(e, a, 0, nfailed);
  return rc != NVDYN_OK ? rc : nvdyn_i_ok(e);
}

nvdyn_status nvdyn_end_step(nvdyn_engine *e, const nvdyn_atoms *a, int *nchanged)
{
  nvdyn_status rc = nvdyn_i_begin_call(e, a);
  if (rc != NVDYN_OK) return rc;
  int any_check = 0, energy = 0;
  for (int k = 0; e->checks && k < e->nactive; k++) {
    const int s = e->active[k];
    const nvdyn_stage_params *sg = stage_of(e, s);
    const int due = nvdyn_check_due(sg, &e->samples[s]);
    e->due[k] = (signed char) due;
    any_check |= due;
    energy |= due && nvdyn_needs_energy(sg);
  }
  if ((rc = nvdyn_i_energies_given(e, energy, a->natoms, a->pe)) != NVDYN_OK) return rc;
  const int refresh = e->refresh;
  e->refresh = 0;
  /* without checks, the safety checks need the statistics pass only when
   * post_update flagged an MD atom (positions follow from checked
   * velocities and forces) or a scan of the FIRE atoms finds a hazard */
  const int safety = nvdyn_i_safety_on(e);
  int stats = any_check || refresh;
  const int flagged = e->flagged;
  e->flagged = 0;
  if (!stats && safety) {
    double bad = flagged || (any_active(e, S_FIRE_ANY) && any_hazard(e, a, S_FIRE_ANY));
    if ((rc = nvdyn_i_reduce(e, &bad, 1, NVDYN_REDUCE_MAX)) != NVDYN_OK) return rc;
    stats = bad != 0.0;
  }
  if (stats && (rc = sample_stats(e, a)) != NVDYN_OK) return rc;
  int changed = 0, entered = 0;
  e->nconverged = 0;
  for (int k = 0; k < e->nactive; k++) {
    const int s = e->active[k];
    nvdyn_sample *ss = &e->samples[s];
    const nvdyn_stage_params *sg = stage_of(e, s);
    const int due = e->checks && e->due[k];
    ss->steps++;
    ss->age++;
    nvdyn_stats st;
    if (stats) {
      const double *acc = &e->acc[3 * k], *mx = &e->acc2[3 * k];
      st = (nvdyn_stats){acc[0], acc[1], acc[2], mx[0], mx[1], mx[2]};
    }
    const int event = nvdyn_end_sample(sg, ss, stats ? &st : NULL, due, refresh, safety, &e->units);
    if (event == NVDYN_EVENT_NONE) continue;
    entered += nvdyn_i_end_event(e, s, event);
    changed++;
  }
  changed += e->pending;
  e->pending = 0;
  nvdyn_i_sync_active(e);
  /* samples that entered an MD stage keeping their velocities take its
   * time step from the next step on: checked with it before they move */
  if (entered && safety) {
    nvdyn_i_select_entered_md(e);
    if ((rc = nvdyn_i_fail_hazards(e, a, 0, NULL)) != NVDYN_OK) return rc; /* counted already */
  }
  e->step++;
  if (e->nconverged && (rc = nvdyn_i_run_hooks(e, NVDYN_ON_CONVERGE, a, e->step)) != NVDYN_OK)
    return rc;
  if ((rc = nvdyn_i_run_hooks(e, NVDYN_AFTER_STEP, a, e->step)) != NVDYN_OK) return rc;
  if (nchanged) *nchanged = changed;
  return nvdyn_i_ok(e);
}
