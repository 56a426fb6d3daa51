/* NVDYN core: the host driver's shared passes: validation of per-atom
 * input, selections of samples and their reductions, velocity scaling and
 * the failing of samples with a hazard. */
#include "host.h"

/* ---- per-atom input ------------------------------------------------------- */

/* A view is valid when its three components of one atom never alias another
 * atom's: either interleaved (3 * comp_stride <= atom_stride) or blocked
 * (natoms * atom_stride <= comp_stride). */
static int view_ok(const nvdyn_view3 *w, int natoms)
{
  if (!w->data || w->atom_stride < 1 || w->comp_stride < 1) return 0;
  return 3 * w->comp_stride <= w->atom_stride ||
      (ptrdiff_t) natoms * w->atom_stride <= w->comp_stride;
}

nvdyn_status nvdyn_i_check_atoms(nvdyn_engine *e, const nvdyn_atoms *a)
{
  if (!a) return nvdyn_i_fail(e, NVDYN_ERR_NULL, "atoms is NULL");
  if (e->nsamples == 0) return nvdyn_i_fail(e, NVDYN_ERR_STATE, "no samples set");
  if (a->natoms < 0) return nvdyn_i_fail(e, NVDYN_ERR_ATOMS, "natoms is negative (%d)", a->natoms);
  if (a->natoms == 0) return NVDYN_OK;
  if (!a->sample) return nvdyn_i_fail(e, NVDYN_ERR_NULL, "per-atom sample index is NULL");
  const nvdyn_view3 *views[3] = {&a->x, &a->v, &a->f};
  const char *names[3] = {"x", "v", "f"};
  for (int k = 0; k < 3; k++)
    if (!view_ok(views[k], a->natoms))
      return nvdyn_i_fail(e, NVDYN_ERR_ATOMS,
                          "view %s: NULL data or mismatched strides (atom %td, component %td)",
                          names[k], views[k]->atom_stride, views[k]->comp_stride);
  if (!a->rmass && (!a->type_mass || !a->type))
    return nvdyn_i_fail(e, NVDYN_ERR_NULL, "no masses: give rmass or type_mass and type");
  if (a->generation != 0 && a->generation == e->checked.generation &&
      a->natoms == e->checked.natoms && a->ntypes == e->checked.ntypes &&
      a->sample == e->checked.sample && a->type == e->checked.type && a->rmass == e->checked.rmass)
    return NVDYN_OK;
  e->checked.generation = 0;
  /* a branch-free (vectorisable) scan first; the slow one names the atom */
  const int ns = e->nsamples, nt = a->ntypes;
  int bad = 0;
  if (a->rmass)
    for (int i = 0; i < a->natoms; i++) bad |= a->sample[i] >= ns;
  else
    for (int i = 0; i < a->natoms; i++) {
      const int s = a->sample[i], t = a->type[i];
      bad |= (s >= ns) | ((s >= 0) & ((t < 1) | (t > nt)));
    }
  for (int i = 0; bad && i < a->natoms; i++) {
    int s = a->sample[i];
    if (s >= e->nsamples)
      return nvdyn_i_fail(e, NVDYN_ERR_ATOMS, "atom %d: sample index %d out of range [0, %d)", i, s,
                          e->nsamples);
    if (s >= 0 && !a->rmass && (a->type[i] < 1 || a->type[i] > a->ntypes))
      return nvdyn_i_fail(e, NVDYN_ERR_ATOMS, "atom %d: type %d out of range [1, %d]", i,
                          a->type[i], a->ntypes);
  }
  e->checked.generation = a->generation;
  e->checked.natoms = a->natoms;
  e->checked.ntypes = a->ntypes;
  e->checked.sample = a->sample;
  e->checked.type = a->type;
  e->checked.rmass = a->rmass;
  return NVDYN_OK;
}

nvdyn_status nvdyn_i_begin_call(nvdyn_engine *e, const nvdyn_atoms *a)
{
  if (!e) return NVDYN_ERR_NULL;
  return nvdyn_i_check_atoms(e, a);
}

/* ---- selections: the samples of a pass, and their packed sums --------------- */

void nvdyn_i_clear_selection(nvdyn_engine *e)
{
  for (int k = 0; k < e->nsel; k++) e->pos[e->sel[k]] = -1;
  e->nsel = 0;
  e->sel_mask = 0;
}

void nvdyn_i_select_slot(nvdyn_engine *e, int s)
{
  e->pos[s] = e->nsel;
  e->sel[e->nsel++] = s;
  e->sel_mask = 0;
}

/* zeroed accumulators of width values per selected sample */
void nvdyn_i_zero_acc(nvdyn_engine *e, int width)
{
  e->width = width;
  memset(e->acc, 0, (size_t) e->nsel * (size_t) width * sizeof(double));
  memset(e->acc2, 0, (size_t) e->nsel * (size_t) width * sizeof(double));
}

/* Select the active samples whose stage style is in mask; returns their
 * number. The selection of the same styles of active samples, made since
 * the active list last changed, is kept as it is. */
int nvdyn_i_select_styles(nvdyn_engine *e, unsigned mask)
{
  unsigned present = 0;
  for (int k = 0; k < NVDYN_NSTYLES; k++) present |= (e->nstyle[k] > 0 ? 1u : 0u) << k;
  mask &= present;
  if (mask && mask == e->sel_mask && e->sel_version == e->active_version) return e->nsel;
  nvdyn_i_clear_selection(e);
  if (mask)
    for (int k = 0; k < e->nactive; k++) {
      const int s = e->active[k];
      if ((mask >> e->kind[s]) & 1u) nvdyn_i_select_slot(e, s);
    }
  e->sel_mask = mask;
  e->sel_version = e->active_version;
  return e->nsel;
}

nvdyn_status nvdyn_i_reduce_acc(nvdyn_engine *e, double *acc, nvdyn_reduce_op op)
{
  return nvdyn_i_reduce(e, acc, e->nsel * e->width, op);
}

/* v *= coef.scale for the atoms of the selected samples; with check,
 * returns 1 if a scaled atom's next step has a hazard */
HOT_LOOP int scale_loop(const layout L, nvdyn_engine *e, const nvdyn_atoms *a, int check)
{
  const int n = a->natoms;
  nvdyn_step_bound b = {0.0, 0.0, 0.0, 0.0, 0};
  for (int i = 0; i < n; i++) {
    const int s = active_sample(e, a, i);
    if (s < 0 || e->pos[s] < 0) continue;
    double *v = VI(L, a, i);
    const double *f = FI(L, a, i);
    nvdyn_scale(v, L.vc, e->coef[s].scale);
    if (check)
      nvdyn_bound_add_atom(&b, XI(L, a, i), L.xc, v, L.vc, f, L.fc, CLAMP(L, e, f), MASS(L, a, i),
                           e->kind[s], e->sdt[s], &e->units);
  }
  return check && nvdyn_bound_flag(&b, e->units.maxmove);
}

int nvdyn_i_scale_velocities(nvdyn_engine *e, const nvdyn_atoms *a, int check)
{
  return with_layout(e, a, scale_loop, e, a, check);
}

/* Fail every selected sample one of whose atoms has a hazard, before its
 * atoms move, their velocities scaled by coef.scale if scaled; *nfailed
 * (if not NULL) receives their number. */
nvdyn_status nvdyn_i_fail_hazards(nvdyn_engine *e, const nvdyn_atoms *a, int scaled, int *nfailed)
{
  if (nfailed) *nfailed = 0;
  if (e->nsel == 0) return NVDYN_OK;
  nvdyn_i_zero_acc(e, 1);
  const layout L = layout_of(e, a);
  for (int i = 0; i < a->natoms; i++) {
    const int s = active_sample(e, a, i);
    if (s < 0 || e->pos[s] < 0) continue;
    const double h = atom_hazard(L, e, a, i, s, scaled ? e->coef[s].scale : 1.0);
    if (h > e->acc2[e->pos[s]]) e->acc2[e->pos[s]] = h;
  }
  nvdyn_status rc = nvdyn_i_reduce_acc(e, e->acc2, NVDYN_REDUCE_MAX);
  if (rc != NVDYN_OK) return rc;
  const int n = nvdyn_i_fail_flagged(e);
  if (nfailed) *nfailed = n;
  return NVDYN_OK;
}

/* ---- what the host and device drivers share: the engine's bookkeeping ---- */

nvdyn_status nvdyn_i_energies_given(const nvdyn_engine *e, int energy, int natoms, const double *pe)
{
  if (energy && natoms > 0 && !pe)
    return nvdyn_i_fail(e, NVDYN_ERR_NULL,
                        "an energy criterion or drift monitor is due on step %lld: "
                        "per-atom energies (pe) are needed",
                        (long long) (e->step + 1));
  return NVDYN_OK;
}

int nvdyn_i_fail_flagged(nvdyn_engine *e)
{
  int n = 0;
  for (int k = 0; k < e->nsel; k++) {
    const int s = e->sel[k];
    const double h = e->acc2[k];
    if (h == 0.0 || e->samples[s].outcome != NVDYN_ACTIVE) continue;
    nvdyn_finish(&e->samples[s], NVDYN_FAILED, h >= 2.0 ? NVDYN_REASON_NAN : NVDYN_REASON_UNSTABLE);
    nvdyn_i_sync_slot(e, s);
    n++;
  }
  if (n) nvdyn_i_sync_active(e);
  return n;
}

int nvdyn_i_select_vinit(nvdyn_engine *e)
{
  nvdyn_i_clear_selection(e);
  int draw = 0;
  for (int k = 0; k < e->nactive; k++) {
    const int s = e->active[k];
    if (!e->samples[s].vinit) continue;
    nvdyn_i_select_slot(e, s);
    draw |= stage_of(e, s)->velocity > 0.0;
  }
  return draw;
}

void nvdyn_i_keep_drawn(nvdyn_engine *e)
{
  for (int k = 0; k < e->nsel; k++) {
    const int s = e->sel[k];
    e->samples[s].vinit = 0;
    e->coef[s].scale =
        nvdyn_velocity_scale(stage_of(e, s), e->acc[k * 5 + 4], e->acc2[k * 5], &e->units);
  }
  const int n = e->nsel;
  int keep = 0;
  for (int k = 0; k < n; k++) {
    const int s = e->sel[k];
    e->pos[s] = -1;
    if (stage_of(e, s)->velocity > 0.0) e->sel[keep++] = s;
  }
  e->nsel = 0;
  for (int k = 0; k < keep; k++) nvdyn_i_select_slot(e, e->sel[k]);
}

int nvdyn_i_end_event(nvdyn_engine *e, int s, int event)
{
  nvdyn_sample *ss = &e->samples[s];
  int entered = 0;
  if (event == NVDYN_EVENT_CONVERGED) {
    e->converged[e->nconverged++] = s;
    e->stage_steps[(size_t) s * (size_t) e->nstages + (size_t) ss->stage] = ss->steps;
    /* past the stages this engine runs: done here, for another to resume */
    nvdyn_enter_stage(e->kstages, e->run_end ? e->run_end : e->nstages, ss, ss->stage + 1);
    e->vinit_due |= ss->vinit;
    entered = 1;
  }
  nvdyn_i_sync_slot(e, s);
  return entered;
}

void nvdyn_i_select_entered_md(nvdyn_engine *e)
{
  nvdyn_i_clear_selection(e);
  for (int k = 0; k < e->nconverged; k++) {
    const int s = e->converged[k];
    if (e->kind[s] >= 0 && ((S_MD >> e->kind[s]) & 1u) && !e->samples[s].vinit)
      nvdyn_i_select_slot(e, s);
  }
}
