/* NVDYN core: the host step driver. Loops over the caller's atoms call the
 * per-atom kernels (kernels/atom.h); loops over the active samples call the
 * per-sample kernels (kernels/sample.h); per-sample sums go through the
 * reduction callback, packed over the samples that take part. */
#include "internal.h"

#include <string.h>

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

static nvdyn_status check_atoms(nvdyn_engine *e, const nvdyn_atoms *a)
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
  return NVDYN_OK;
}

static inline double atom_mass(const nvdyn_atoms *a, int i)
{
  return a->rmass ? a->rmass[i] : a->type_mass[a->type[i]];
}

#define AT(w, i) ((w).data + (ptrdiff_t) (i) * (w).atom_stride)
#define XS(a) (a)->x.comp_stride
#define VS(a) (a)->v.comp_stride
#define FS(a) (a)->f.comp_stride

/* The sample of atom i if it is active (in a stage), else -1. */
static inline int active_sample(const nvdyn_engine *e, const nvdyn_atoms *a, int i)
{
  int s = a->sample[i];
  return (s >= 0 && e->kind[s] >= 0) ? s : -1;
}

static inline const nvdyn_stage_params *stage_of(const nvdyn_engine *e, int s)
{
  return &e->kstages[e->samples[s].stage];
}

/* 1 if some active sample's stage style is in mask */
static int any_active(const nvdyn_engine *e, unsigned mask)
{
  for (int k = 0; k < NVDYN_NSTYLES; k++)
    if (((mask >> k) & 1u) && e->nstyle[k]) return 1;
  return 0;
}

/* nvdyn_atom_hazard() of atom i of active sample s, its velocity scaled by
 * vscale */
static inline int atom_hazard(const nvdyn_engine *e, const nvdyn_atoms *a, int i, int s,
                              double vscale)
{
  return nvdyn_atom_hazard(AT(a->x, i), XS(a), AT(a->v, i), VS(a), AT(a->f, i), FS(a),
                           atom_mass(a, i), vscale, e->kind[s], e->sdt[s], e->samples[s].fdt,
                           &e->units);
}

/* ---- selections: the samples of a pass, and their packed sums --------------- */

static void clear_selection(nvdyn_engine *e)
{
  for (int k = 0; k < e->nsel; k++) e->pos[e->sel[k]] = -1;
  e->nsel = 0;
}

static void select_slot(nvdyn_engine *e, int s)
{
  e->pos[s] = e->nsel;
  e->sel[e->nsel++] = s;
}

/* zeroed accumulators of width values per selected sample */
static void zero_acc(nvdyn_engine *e, int width)
{
  e->width = width;
  memset(e->acc, 0, (size_t) e->nsel * (size_t) width * sizeof(double));
  memset(e->acc2, 0, (size_t) e->nsel * (size_t) width * sizeof(double));
}

/* Select the active samples whose stage style is in mask; returns their
 * number. */
static int select_styles(nvdyn_engine *e, unsigned mask)
{
  clear_selection(e);
  if (any_active(e, mask))
    for (int k = 0; k < e->nactive; k++) {
      const int s = e->active[k];
      if ((mask >> e->kind[s]) & 1u) select_slot(e, s);
    }
  return e->nsel;
}

static nvdyn_status reduce_acc(nvdyn_engine *e, double *acc, nvdyn_reduce_op op)
{
  return nvdyn_i_reduce(e, acc, e->nsel * e->width, op);
}

/* Per-sample sums and maxima of one pass over the atoms, kept in locals
 * while consecutive atoms belong to the same sample (the common case: a
 * sample's atoms are mostly contiguous) and stored into acc (sums) and acc2
 * (maxima, all >= 0) when the sample changes, so the loop carries no
 * dependency through memory. p is the sample's position in the selection;
 * a sample's first store writes its values (no pass zeroes the
 * accumulators first), run_end() zeroes those of samples without atoms
 * here. W, the number of values, is a constant at every call. */
typedef struct run {
  int p;
  double sum[NACC], max[NACC];
} run;

static inline run run_start(nvdyn_engine *e, int w)
{
  run r;
  memset(&r, 0, sizeof(r));
  r.p = -1;
  e->width = w;
  memset(e->touched, 0, (size_t) e->nsel);
  return r;
}

static inline void run_flush(nvdyn_engine *e, run *r, const int w)
{
  const int p = r->p;
  if (p >= 0) {
    double *acc = &e->acc[p * w], *mx = &e->acc2[p * w];
    if (!e->touched[p]) {
      e->touched[p] = 1;
      for (int k = 0; k < w; k++) {
        acc[k] = 0.0 + r->sum[k];
        mx[k] = r->max[k];
      }
    } else {
      for (int k = 0; k < w; k++) {
        acc[k] += r->sum[k];
        if (r->max[k] > mx[k]) mx[k] = r->max[k];
      }
    }
  }
  for (int k = 0; k < w; k++) r->sum[k] = r->max[k] = 0.0;
}

static inline void run_at(nvdyn_engine *e, run *r, int p, const int w)
{
  if (p != r->p) {
    run_flush(e, r, w);
    r->p = p;
  }
}

static inline void run_end(nvdyn_engine *e, run *r, const int w)
{
  run_flush(e, r, w);
  for (int p = 0; p < e->nsel; p++)
    if (!e->touched[p])
      for (int k = 0; k < w; k++) e->acc[p * w + k] = e->acc2[p * w + k] = 0.0;
}

/* the selected sample of atom i (its position in the selection), or -1 */
static inline int selected(const nvdyn_engine *e, const nvdyn_atoms *a, int i)
{
  const int s = a->sample[i];
  return s >= 0 ? e->pos[s] : -1;
}

/* sum of m v^2 and number of atoms (acc[0, 1]) of the selected samples,
 * reduced (width 2) */
static nvdyn_status sum_mvv(nvdyn_engine *e, const nvdyn_atoms *a)
{
  run r = run_start(e, 2);
  for (int i = 0; i < a->natoms; i++) {
    const int p = selected(e, a, i);
    if (p < 0) continue;
    run_at(e, &r, p, 2);
    r.sum[0] += nvdyn_mvv_term(AT(a->v, i), VS(a), atom_mass(a, i));
    r.sum[1] += 1.0;
  }
  run_end(e, &r, 2);
  return reduce_acc(e, e->acc, NVDYN_REDUCE_SUM);
}

/* v *= coef.scale for the atoms of the selected samples; with check,
 * returns 1 if a scaled atom's next step has a hazard */
static int scale_velocities(nvdyn_engine *e, const nvdyn_atoms *a, int check)
{
  int flagged = 0;
  for (int i = 0; i < a->natoms; i++) {
    const int s = active_sample(e, a, i);
    if (s < 0 || e->pos[s] < 0) continue;
    nvdyn_scale(AT(a->v, i), VS(a), e->coef[s].scale);
    if (check) flagged |= atom_hazard(e, a, i, s, 1.0);
  }
  return flagged;
}

/* Fail every selected sample one of whose atoms has a hazard, before its
 * atoms move, their velocities scaled by coef.scale if scaled; *nfailed
 * (if not NULL) receives their number. */
static nvdyn_status fail_hazards(nvdyn_engine *e, const nvdyn_atoms *a, int scaled, int *nfailed)
{
  zero_acc(e, 1);
  for (int i = 0; i < a->natoms; i++) {
    const int s = active_sample(e, a, i);
    if (s < 0 || e->pos[s] < 0) continue;
    const double h = atom_hazard(e, a, i, s, scaled ? e->coef[s].scale : 1.0);
    if (h > e->acc2[e->pos[s]]) e->acc2[e->pos[s]] = h;
  }
  nvdyn_status rc = reduce_acc(e, e->acc2, NVDYN_REDUCE_MAX);
  if (rc != NVDYN_OK) return rc;
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
  if (nfailed) *nfailed = n;
  return NVDYN_OK;
}

/* ---- velocity initialisation of samples entering a stage -------------------- */

static nvdyn_status init_velocities(nvdyn_engine *e, const nvdyn_atoms *a)
{
  if (!e->vinit_due) return NVDYN_OK;
  clear_selection(e);
  int draw = 0;
  for (int k = 0; k < e->nactive; k++) {
    const int s = e->active[k];
    if (!e->samples[s].vinit) continue;
    select_slot(e, s);
    draw |= stage_of(e, s)->velocity > 0.0;
  }
  if (e->nsel == 0) {
    e->vinit_due = 0;
    return NVDYN_OK;
  }
  const int nvinit = e->nsel;
  if (draw && a->natoms > 0 && !a->index)
    return nvdyn_i_fail(e, NVDYN_ERR_NULL,
                        "velocity initialisation needs each atom's index in its sample (index)");
  zero_acc(e, 5);
  /* draw (or zero), and sum momentum, mass and count per sample */
  for (int i = 0; i < a->natoms; i++) {
    const int s = active_sample(e, a, i);
    if (s < 0 || e->pos[s] < 0) continue;
    double *v = AT(a->v, i);
    const nvdyn_stage_params *sg = stage_of(e, s);
    if (!(sg->velocity > 0.0)) {
      nvdyn_zero(v, VS(a));
      continue;
    }
    const double m = atom_mass(a, i);
    const nvdyn_sample *ss = &e->samples[s];
    nvdyn_rng r = nvdyn_rng_make(sg->velocity_seed, ss->key, (uint64_t) a->index[i],
                                 (uint64_t) (ss->age + 1), NVDYN_PURPOSE_VELOCITY);
    double *acc = &e->acc[e->pos[s] * 5];
    nvdyn_draw_velocity(v, VS(a), m, sg->velocity, &e->units, &r, acc);
    acc[3] += m;
    acc[4] += 1.0;
  }
  if (draw) {
    nvdyn_status rc = reduce_acc(e, e->acc, NVDYN_REDUCE_SUM);
    if (rc != NVDYN_OK) return rc;
    /* remove the net momentum, then scale to exactly the temperature */
    for (int i = 0; i < a->natoms; i++) {
      const int s = active_sample(e, a, i);
      if (s < 0 || e->pos[s] < 0 || !(stage_of(e, s)->velocity > 0.0)) continue;
      double *v = AT(a->v, i);
      const double *acc = &e->acc[e->pos[s] * 5];
      nvdyn_remove_momentum(v, VS(a), acc, acc[3]);
      e->acc2[e->pos[s] * 5] += nvdyn_mvv_term(v, VS(a), atom_mass(a, i));
    }
    if ((rc = reduce_acc(e, e->acc2, NVDYN_REDUCE_SUM)) != NVDYN_OK) return rc;
    for (int k = 0; k < e->nsel; k++) {
      const int s = e->sel[k];
      e->samples[s].vinit = 0;
      e->coef[s].scale =
          nvdyn_velocity_scale(stage_of(e, s), e->acc[k * 5 + 4], e->acc2[k * 5], &e->units);
    }
    /* the drawn samples only: scaled, then checked before they move */
    const int n = e->nsel;
    int keep = 0;
    for (int k = 0; k < n; k++) {
      const int s = e->sel[k];
      e->pos[s] = -1;
      if (stage_of(e, s)->velocity > 0.0) e->sel[keep++] = s;
    }
    e->nsel = 0;
    for (int k = 0; k < keep; k++) select_slot(e, e->sel[k]);
    scale_velocities(e, a, 0);
    /* a sample whose drawn velocities would make an unsafe first step
     * fails before its atoms move */
    int nfailed = 0;
    if (nvdyn_i_safety_on(e) && (rc = fail_hazards(e, a, 0, &nfailed)) != NVDYN_OK) return rc;
    e->pending += nfailed;
  } else {
    for (int k = 0; k < nvinit; k++) e->samples[e->sel[k]].vinit = 0;
  }
  e->vinit_due = 0;
  return NVDYN_OK;
}

/* ---- the step's first half -------------------------------------------------- */

static nvdyn_status begin_call(nvdyn_engine *e, const nvdyn_atoms *a)
{
  if (!e) return NVDYN_ERR_NULL;
  return check_atoms(e, a);
}

/* The hook-only calls check the atoms only when hooks will see them. */
static nvdyn_status hook_call(nvdyn_engine *e, nvdyn_hook_point point, const nvdyn_atoms *a)
{
  if (!e) return NVDYN_ERR_NULL;
  int any = 0;
  for (int k = 0; k < e->nhooks; k++) any |= e->hooks[k].point == point;
  if (!any) return nvdyn_i_ok(e);
  nvdyn_status rc = check_atoms(e, a);
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
static void kick_drift(const nvdyn_engine *e, const nvdyn_atoms *a)
{
  const signed char *kind = e->kind;
  const double *sdt = e->sdt;
  const double ftm2v = e->units.ftm2v, fclamp = e->units.fclamp;
  for (int i = 0; i < a->natoms; i++) {
    const int s = a->sample[i];
    if (s >= 0 && kind[s] >= 0) {
      const double *f = AT(a->f, i);
      nvdyn_kick_drift(AT(a->x, i), XS(a), AT(a->v, i), VS(a), f, FS(a), atom_mass(a, i), sdt[s],
                       ftm2v, nvdyn_clamp_factor(f, FS(a), fclamp));
    }
  }
}

static void fire_step(const nvdyn_engine *e, const nvdyn_atoms *a)
{
  const signed char *kind = e->kind;
  const nvdyn_step_coef *coef = e->coef;
  const double ftm2v = e->units.ftm2v, fclamp = e->units.fclamp;
  for (int i = 0; i < a->natoms; i++) {
    const int s = a->sample[i];
    if (s >= 0 && kind[s] == NVDYN_STYLE_FIRE) {
      const double *f = AT(a->f, i);
      nvdyn_fire_atom(AT(a->x, i), XS(a), AT(a->v, i), VS(a), f, FS(a), atom_mass(a, i),
                      nvdyn_clamp_factor(f, FS(a), fclamp), ftm2v, &coef[s].fire);
    }
  }
}

/* FIRE: per-sample sums v.f, v.v, f.f (acc) and max |v_k| (acc2) of the
 * selected samples, reduced, then each sample's decision */
static nvdyn_status fire_decisions(nvdyn_engine *e, const nvdyn_atoms *a)
{
  run r = run_start(e, 3);
  for (int i = 0; i < a->natoms; i++) {
    const int p = selected(e, a, i);
    if (p < 0) continue;
    const double *v = AT(a->v, i), *f = AT(a->f, i);
    run_at(e, &r, p, 3);
    const double vm =
        nvdyn_fire_terms(v, VS(a), f, FS(a), nvdyn_clamp_factor(f, FS(a), e->units.fclamp), r.sum);
    if (vm > r.max[0]) r.max[0] = vm;
  }
  run_end(e, &r, 3);
  nvdyn_status rc = reduce_acc(e, e->acc, NVDYN_REDUCE_SUM);
  if (rc != NVDYN_OK) return rc;
  if ((rc = reduce_acc(e, e->acc2, NVDYN_REDUCE_MAX)) != NVDYN_OK) return rc;
  for (int k = 0; k < e->nsel; k++) {
    const int s = e->sel[k];
    const double *sum = &e->acc[3 * k];
    nvdyn_sample *ss = &e->samples[s];
    if (e->kind[s] == NVDYN_STYLE_FIRE)
      e->coef[s].fire =
          nvdyn_fire_decide(stage_of(e, s), ss, sum[0], sum[1], sum[2], e->acc2[3 * k]);
    else
      e->coef[s].fire_ase = nvdyn_fire_ase_decide(stage_of(e, s), ss, sum[0], sum[1], sum[2]);
  }
  return NVDYN_OK;
}

/* every active sample's atoms, whatever their style */
static void mixed_step(nvdyn_engine *e, const nvdyn_atoms *a)
{
  const nvdyn_units *u = &e->units;
  for (int i = 0; i < a->natoms; i++) {
    const int s = active_sample(e, a, i);
    if (s < 0) continue;
    double *x = AT(a->x, i), *v = AT(a->v, i);
    const double *f = AT(a->f, i);
    const double fc = nvdyn_clamp_factor(f, FS(a), u->fclamp), m = atom_mass(a, i);
    const double dt = e->sdt[s];
    const nvdyn_step_coef *c = &e->coef[s];
    switch (e->kind[s]) {
      case NVDYN_STYLE_NHC:
        nvdyn_scale(v, VS(a), c->scale);
        /* fall through */
      case NVDYN_STYLE_NVE:
      case NVDYN_STYLE_CSVR:
        nvdyn_kick_drift(x, XS(a), v, VS(a), f, FS(a), m, dt, u->ftm2v, fc);
        break;
      case NVDYN_STYLE_LANGEVIN: {
        const nvdyn_sample *ss = &e->samples[s];
        nvdyn_rng r =
            nvdyn_rng_make(stage_of(e, s)->c.thermostat.seed, ss->key, (uint64_t) a->index[i],
                           (uint64_t) (ss->age + 1), NVDYN_PURPOSE_LANGEVIN);
        nvdyn_baoab_atom(x, XS(a), v, VS(a), f, FS(a), m, fc, dt, u->ftm2v, &c->langevin, &r);
      } break;
      case NVDYN_STYLE_FIRE:
        nvdyn_fire_atom(x, XS(a), v, VS(a), f, FS(a), m, fc, u->ftm2v, &c->fire);
        break;
      case NVDYN_STYLE_FIRE_ASE:
        e->acc[e->pos[s] * e->width] +=
            nvdyn_fire_ase_velocity(v, VS(a), f, FS(a), fc, e->samples[s].fdt, &c->fire_ase);
        break;
    }
  }
}

/* ASE FIRE: the step dr = dt v, limited to maxstep in norm over the sample
 * (acc: the sample's sum of |v|^2 after the velocity update) */
static nvdyn_status fire_ase_positions(nvdyn_engine *e, const nvdyn_atoms *a)
{
  nvdyn_status rc = reduce_acc(e, e->acc, NVDYN_REDUCE_SUM);
  if (rc != NVDYN_OK) return rc;
  for (int k = 0; k < e->nsel; k++) {
    const int s = e->sel[k];
    if (e->kind[s] == NVDYN_STYLE_FIRE_ASE)
      e->coef[s].fire_ase.dtv =
          nvdyn_fire_ase_limit(stage_of(e, s), &e->samples[s], e->acc[k * e->width]);
  }
  for (int i = 0; i < a->natoms; i++) {
    const int s = a->sample[i];
    if (s >= 0 && e->kind[s] == NVDYN_STYLE_FIRE_ASE)
      nvdyn_drift(AT(a->x, i), XS(a), AT(a->v, i), VS(a), e->coef[s].fire_ase.dtv);
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
  if (select_styles(e, S(NHC))) {
    if ((rc = sum_mvv(e, a)) != NVDYN_OK) return rc;
    for (int k = 0; k < e->nsel; k++) {
      const int s = e->sel[k];
      e->coef[s].scale =
          nvdyn_nhc_half_step(stage_of(e, s), &e->samples[s], e->acc[2 * k] * e->units.mvv2e,
                              e->acc[2 * k + 1], e->units.boltz);
    }
    if (nvdyn_i_safety_on(e)) {
      int nfailed = 0;
      if ((rc = fail_hazards(e, a, 1, &nfailed)) != NVDYN_OK) return rc;
      e->pending += nfailed;
    }
  }
  const int nfire = select_styles(e, S_FIRE_ANY);
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
    zero_acc(e, 1);
  mixed_step(e, a);
  return ase ? fire_ase_positions(e, a) : NVDYN_OK;
}

nvdyn_status nvdyn_pre_update(nvdyn_engine *e, const nvdyn_atoms *a)
{
  nvdyn_status rc = begin_call(e, a);
  if (rc != NVDYN_OK) return rc;
  if ((rc = nvdyn_i_run_hooks(e, NVDYN_BEFORE_PRE_UPDATE, a, e->step + 1)) != NVDYN_OK) return rc;
  if ((rc = pre_update_atoms(e, a)) != NVDYN_OK) return rc;
  if ((rc = nvdyn_i_run_hooks(e, NVDYN_AFTER_PRE_UPDATE, a, e->step + 1)) != NVDYN_OK) return rc;
  return nvdyn_i_ok(e);
}

/* ---- the step's second half ------------------------------------------------- */

/* Everything of post_update between its hooks. */
static nvdyn_status post_update_atoms(nvdyn_engine *e, const nvdyn_atoms *a)
{
  const int nthermo = select_styles(e, S(CSVR) | S(NHC));
  if (!any_active(e, S_MD)) return NVDYN_OK; /* FIRE works in pre_update only */
  const int safety = nvdyn_i_safety_on(e);
  const nvdyn_units *u = &e->units;
  int flagged = 0;
  run r = run_start(e, 2);
  for (int i = 0; i < a->natoms; i++) {
    const int s = active_sample(e, a, i);
    if (s < 0 || nvdyn_is_fire(e->kind[s])) continue;
    double *v = AT(a->v, i);
    const double *f = AT(a->f, i);
    const double m = atom_mass(a, i);
    const double dt = e->sdt[s], fc = nvdyn_clamp_factor(f, FS(a), u->fclamp);
    const double hdt = nvdyn_kick_last(v, VS(a), f, FS(a), m, dt, u->ftm2v, fc);
    const int p = e->pos[s];
    /* the safety check of the next step, while v and f are at hand (the
     * thermostats' samples are checked after their scaling) */
    if (p < 0) {
      if (safety) flagged |= nvdyn_step_flag(v, VS(a), f, FS(a), fc, hdt, dt, u->maxmove);
    } else {
      run_at(e, &r, p, 2);
      r.sum[0] += nvdyn_mvv_term(v, VS(a), m);
      r.sum[1] += 1.0;
    }
  }
  run_end(e, &r, 2);
  e->flagged |= flagged;
  if (!nthermo) return NVDYN_OK;
  nvdyn_status rc = reduce_acc(e, e->acc, NVDYN_REDUCE_SUM);
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
  e->flagged |= scale_velocities(e, a, safety);
  return NVDYN_OK;
}

nvdyn_status nvdyn_post_update(nvdyn_engine *e, const nvdyn_atoms *a)
{
  nvdyn_status rc = begin_call(e, a);
  if (rc != NVDYN_OK) return rc;
  if ((rc = nvdyn_i_run_hooks(e, NVDYN_BEFORE_POST_UPDATE, a, e->step + 1)) != NVDYN_OK) return rc;
  if ((rc = post_update_atoms(e, a)) != NVDYN_OK) return rc;
  if ((rc = nvdyn_i_run_hooks(e, NVDYN_AFTER_POST_UPDATE, a, e->step + 1)) != NVDYN_OK) return rc;
  return nvdyn_i_ok(e);
}

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

/* Statistics of every active sample (selected, width 3): acc = (sum m v^2,
 * PE, natoms) summed, acc2 = (max |f|^2, largest atom hazard, PE given)
 * maximised. */
static nvdyn_status sample_stats(nvdyn_engine *e, const nvdyn_atoms *a)
{
  select_styles(e, S_ALL);
  run r = run_start(e, 3);
  for (int i = 0; i < a->natoms; i++) {
    const int s = active_sample(e, a, i);
    if (s < 0) continue;
    const double *v = AT(a->v, i), *f = AT(a->f, i);
    run_at(e, &r, e->pos[s], 3);
    const double f2 = nvdyn_dot(f, FS(a), f, FS(a));
    r.sum[0] += nvdyn_mvv_term(v, VS(a), atom_mass(a, i));
    if (a->pe) {
      r.sum[1] += a->pe[i];
      r.max[2] = 1.0;
    }
    r.sum[2] += 1.0;
    if (f2 > r.max[0]) r.max[0] = f2;
    const double h = atom_hazard(e, a, i, s, 1.0);
    if (h > r.max[1]) r.max[1] = h;
  }
  run_end(e, &r, 3);
  nvdyn_status rc = reduce_acc(e, e->acc, NVDYN_REDUCE_SUM);
  if (rc != NVDYN_OK) return rc;
  return reduce_acc(e, e->acc2, NVDYN_REDUCE_MAX);
}

/* 1 if an atom of an active sample whose style is in mask may have a
 * hazard (the exact per-sample test follows) */
static int any_hazard(const nvdyn_engine *e, const nvdyn_atoms *a, unsigned mask)
{
  int bad = 0;
  for (int i = 0; i < a->natoms; i++) {
    const int s = a->sample[i];
    if (s >= 0 && e->kind[s] >= 0 && ((mask >> e->kind[s]) & 1u))
      bad |= nvdyn_atom_flag(AT(a->x, i), XS(a), AT(a->v, i), VS(a), AT(a->f, i), FS(a),
                             atom_mass(a, i), e->kind[s], e->sdt[s], e->samples[s].fdt, &e->units);
  }
  return bad;
}

nvdyn_status nvdyn_check_atoms(nvdyn_engine *e, const nvdyn_atoms *a, int *nfailed)
{
  nvdyn_status rc = begin_call(e, a);
  if (rc != NVDYN_OK) return rc;
  if (nfailed) *nfailed = 0;
  if (!nvdyn_i_safety_on(e)) return nvdyn_i_ok(e);
  double bad = any_hazard(e, a, S_ALL);
  if ((rc = nvdyn_i_reduce(e, &bad, 1, NVDYN_REDUCE_MAX)) != NVDYN_OK) return rc;
  if (bad == 0.0) return nvdyn_i_ok(e);
  select_styles(e, S_ALL);
  rc = fail_hazards(e, a, 0, nfailed);
  return rc != NVDYN_OK ? rc : nvdyn_i_ok(e);
}

nvdyn_status nvdyn_end_step(nvdyn_engine *e, const nvdyn_atoms *a, int *nchanged)
{
  nvdyn_status rc = begin_call(e, a);
  if (rc != NVDYN_OK) return rc;
  int any_check = 0, energy = 0;
  for (int k = 0; k < e->nactive; k++) {
    const int s = e->active[k];
    const nvdyn_stage_params *sg = stage_of(e, s);
    const int due = nvdyn_check_due(sg, &e->samples[s]);
    e->due[k] = (signed char) due;
    any_check |= due;
    energy |= due && nvdyn_needs_energy(sg);
  }
  if (energy && a->natoms > 0 && !a->pe)
    return nvdyn_i_fail(e, NVDYN_ERR_NULL,
                        "an energy criterion or drift monitor is due on step %lld: "
                        "per-atom energies (pe) are needed",
                        (long long) (e->step + 1));
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
    const int due = e->due[k];
    ss->steps++;
    ss->age++;
    nvdyn_stats st;
    if (stats) {
      const double *acc = &e->acc[3 * k], *mx = &e->acc2[3 * k];
      st = (nvdyn_stats){acc[0], acc[1], acc[2], mx[0], mx[1], mx[2]};
    }
    const int event = nvdyn_end_sample(sg, ss, stats ? &st : NULL, due, refresh, safety, &e->units);
    if (event == NVDYN_EVENT_NONE) continue;
    if (event == NVDYN_EVENT_CONVERGED) {
      e->converged[e->nconverged++] = s;
      e->stage_steps[(size_t) s * (size_t) e->nstages + (size_t) ss->stage] = ss->steps;
      nvdyn_enter_stage(e->kstages, e->nstages, ss, ss->stage + 1);
      e->vinit_due |= ss->vinit;
      entered++;
    }
    changed++;
    nvdyn_i_sync_slot(e, s);
  }
  changed += e->pending;
  e->pending = 0;
  nvdyn_i_sync_active(e);
  /* samples that entered an MD stage keeping their velocities take its
   * time step from the next step on: checked with it before they move */
  if (entered && safety) {
    clear_selection(e);
    for (int k = 0; k < e->nconverged; k++) {
      const int s = e->converged[k];
      if (e->kind[s] >= 0 && ((S_MD >> e->kind[s]) & 1u) && !e->samples[s].vinit) select_slot(e, s);
    }
    if ((rc = fail_hazards(e, a, 0, NULL)) != NVDYN_OK) return rc; /* counted already */
  }
  e->step++;
  if (e->nconverged && (rc = nvdyn_i_run_hooks(e, NVDYN_ON_CONVERGE, a, e->step)) != NVDYN_OK)
    return rc;
  if ((rc = nvdyn_i_run_hooks(e, NVDYN_AFTER_STEP, a, e->step)) != NVDYN_OK) return rc;
  if (nchanged) *nchanged = changed;
  return nvdyn_i_ok(e);
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
