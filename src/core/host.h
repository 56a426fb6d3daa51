/* NVDYN core: what the host driver's sources share (host.c, step_host.c,
 * end_host.c): per-atom access, the selection of the samples of a pass and
 * their packed per-sample sums ("runs"). Internal. */
#ifndef NVDYN_HOST_H
#define NVDYN_HOST_H

#include "internal.h"

#include <string.h>

/* The hot loops take the atoms' layout as a value, so that in the common
 * case (LAMMPS's arrays: interleaved, atom stride 3 and component stride 1;
 * no force clamp) it is a compile-time constant: with_layout(e, a, loop,
 * args) calls the always-inlined loop(layout, args) with such a constant
 * (per-atom or per-type masses) or with the layout of the call. Loops
 * that are not hot take layout_of() as it is. */
typedef struct layout {
  ptrdiff_t xa, xc, va, vc, fa, fc; /* the views' atom and component strides */
  int rmass;                        /* per-atom masses (else per-type ones) */
  int clamp;                        /* a force clamp is set (units.fclamp > 0) */
} layout;

static inline layout layout_of(const nvdyn_engine *e, const nvdyn_atoms *a)
{
  const layout L = {a->x.atom_stride, a->x.comp_stride, a->v.atom_stride, a->v.comp_stride,
                    a->f.atom_stride, a->f.comp_stride, a->rmass != NULL, e->units.fclamp > 0.0};
  return L;
}

/* the common case: interleaved views, no force clamp */
static inline int plain_layout(const nvdyn_engine *e, const nvdyn_atoms *a)
{
  const layout L = layout_of(e, a);
  return L.xa == 3 && L.va == 3 && L.fa == 3 && L.xc == 1 && L.vc == 1 && L.fc == 1 && !L.clamp;
}

#if defined(__GNUC__)
#define HOT_LOOP static inline __attribute__((always_inline))
#else
#define HOT_LOOP static inline
#endif
#define with_layout(e, a, loop, ...)                                                               \
  (!plain_layout(e, a) ? loop(layout_of(e, a), __VA_ARGS__)                                        \
       : (a)->rmass    ? loop((layout){3, 1, 3, 1, 3, 1, 1, 0}, __VA_ARGS__)                       \
                       : loop((layout){3, 1, 3, 1, 3, 1, 0, 0}, __VA_ARGS__))
/* atom i's x, v, f, mass and force clamp factor under layout L */
#define XI(L, a, i) ((a)->x.data + (ptrdiff_t) (i) * (L).xa)
#define VI(L, a, i) ((a)->v.data + (ptrdiff_t) (i) * (L).va)
#define FI(L, a, i) ((a)->f.data + (ptrdiff_t) (i) * (L).fa)
#define MASS(L, a, i) ((L).rmass ? (a)->rmass[i] : (a)->type_mass[(a)->type[i]])
#define CLAMP(L, e, f) ((L).clamp ? nvdyn_clamp_factor(f, (L).fc, (e)->units.fclamp) : 1.0)

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
static inline int any_active(const nvdyn_engine *e, unsigned mask)
{
  for (int k = 0; k < NVDYN_NSTYLES; k++)
    if (((mask >> k) & 1u) && e->nstyle[k]) return 1;
  return 0;
}

/* nvdyn_atom_hazard() of atom i of active sample s under layout L, its
 * velocity scaled by vscale */
static inline int atom_hazard(const layout L, const nvdyn_engine *e, const nvdyn_atoms *a, int i,
                              int s, double vscale)
{
  return nvdyn_atom_hazard(XI(L, a, i), L.xc, VI(L, a, i), L.vc, FI(L, a, i), L.fc, MASS(L, a, i),
                           vscale, e->kind[s], e->sdt[s], &e->units);
}

/* Per-sample sums and maxima of one pass over the atoms, kept in locals
 * while consecutive atoms belong to the same sample (the common case: a
 * sample's atoms are mostly contiguous), so the loop carries no dependency
 * through memory: a run loads the sample's values of acc (sums) and acc2
 * (maxima, all >= 0) when it starts and stores them when the sample
 * changes. Each sum is thus added up atom by atom in the order of the
 * atoms, however they fall into runs: the order in which the device
 * driver (kokkos/) adds them, one thread per sample. p is the sample's
 * position in the selection; a sample's first run starts from zero (no
 * pass zeroes the accumulators first), run_end() zeroes those of samples
 * without atoms here. W, the number of values, is a constant at every
 * call. */
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
  if (p < 0) return;
  for (int k = 0; k < w; k++) {
    e->acc[p * w + k] = r->sum[k];
    e->acc2[p * w + k] = r->max[k];
  }
}

static inline void run_at(nvdyn_engine *e, run *r, int p, const int w)
{
  if (p == r->p) return;
  run_flush(e, r, w);
  r->p = p;
  const int seen = e->touched[p];
  e->touched[p] = 1;
  for (int k = 0; k < w; k++) {
    r->sum[k] = seen ? e->acc[p * w + k] : 0.0;
    r->max[k] = seen ? e->acc2[p * w + k] : 0.0;
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

#ifdef __cplusplus
extern "C" { /* for the Kokkos driver (kokkos/) */
#endif

/* ---- host.c ------------------------------------------------------------------ */

/* per-atom input valid for the engine (the message names the bad atom) */
nvdyn_status nvdyn_i_check_atoms(nvdyn_engine *e, const nvdyn_atoms *a);
nvdyn_status nvdyn_i_begin_call(nvdyn_engine *e, const nvdyn_atoms *a);
/* selections: clear, add a slot, zero width accumulators, select the active
 * samples of some styles (returns their number); reduce nsel * width values */
void nvdyn_i_clear_selection(nvdyn_engine *e);
void nvdyn_i_select_slot(nvdyn_engine *e, int s);
void nvdyn_i_zero_acc(nvdyn_engine *e, int width);
int nvdyn_i_select_styles(nvdyn_engine *e, unsigned mask);
nvdyn_status nvdyn_i_reduce_acc(nvdyn_engine *e, double *acc, nvdyn_reduce_op op);
/* v *= coef.scale for the selected samples' atoms; with check, 1 if a scaled
 * atom's next step has a hazard */
int nvdyn_i_scale_velocities(nvdyn_engine *e, const nvdyn_atoms *a, int check);
/* fail the selected samples with a hazard before their atoms move */
nvdyn_status nvdyn_i_fail_hazards(nvdyn_engine *e, const nvdyn_atoms *a, int scaled, int *nfailed);

/* The engine's bookkeeping, which the host driver and the device driver
 * (kokkos/) share:
 * the per-atom energies a step's checks need (energy) are given (pe) */
nvdyn_status nvdyn_i_energies_given(const nvdyn_engine *e, int energy, int natoms,
                                    const double *pe);
/*
 * fail the selected active samples whose hazard (acc2, width 1, reduced)
 * is nonzero; returns their number */
int nvdyn_i_fail_flagged(nvdyn_engine *e);
/* select the active samples with velocities to set on entering a stage;
 * returns 1 if one of them draws them */
int nvdyn_i_select_vinit(nvdyn_engine *e);
/* after the draws' sums (acc: momentum, mass, count; acc2: m v^2, width
 * 5, reduced): each selected sample's velocity scale, its velocities set;
 * then only the drawing samples stay selected */
void nvdyn_i_keep_drawn(nvdyn_engine *e);
/* what the end of a step did to sample s (nvdyn_end_sample's event, not
 * NONE): its stage entered (CONVERGED) and its per-slot copies; returns 1
 * if it entered a stage */
int nvdyn_i_end_event(nvdyn_engine *e, int s, int event);
/* select the samples that converged on this step into an MD stage keeping
 * their velocities (checked with its time step before they move) */
void nvdyn_i_select_entered_md(nvdyn_engine *e);

#ifdef __cplusplus
}
#endif

#endif /* NVDYN_HOST_H */
