/* NVDYN core engine: host backend. See nvdyn.h for the contract. */
#include "nvdyn.h"
#include "nvdyn_math.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum stage_style { STYLE_NVE = 0 } stage_style;

static const char *const style_names[] = {"nve"};
#define NSTYLES ((int) (sizeof(style_names) / sizeof(style_names[0])))

typedef struct stage {
  stage_style style;
  int64_t until_steps; /* 0: no "steps" criterion */
} stage;

struct nvdyn_engine {
  double dt, ftm2v;
  stage *stages;
  int nstages;
  int nsamples;
  int *sample_stage;     /* [nsamples] stage index, nstages = done */
  int64_t *sample_steps; /* [nsamples] steps spent in the current stage */
  char error[256];
};

static nvdyn_status fail(nvdyn_engine *e, nvdyn_status st, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->error, sizeof(e->error), fmt, ap);
  va_end(ap);
  return st;
}

static nvdyn_status ok(nvdyn_engine *e)
{
  e->error[0] = '\0';
  return NVDYN_OK;
}

int nvdyn_abi_version(void)
{
  return NVDYN_ABI_VERSION;
}

const char *nvdyn_status_string(nvdyn_status status)
{
  switch (status) {
    case NVDYN_OK:
      return "ok";
    case NVDYN_ERR_NULL:
      return "NULL argument";
    case NVDYN_ERR_VALUE:
      return "value out of range";
    case NVDYN_ERR_UNKNOWN:
      return "unknown name";
    case NVDYN_ERR_STATE:
      return "invalid engine state";
    case NVDYN_ERR_NOMEM:
      return "out of memory";
    case NVDYN_ERR_ATOMS:
      return "inconsistent per-atom input";
  }
  return "unknown status";
}

nvdyn_status nvdyn_engine_create(nvdyn_engine **out)
{
  if (!out) return NVDYN_ERR_NULL;
  *out = calloc(1, sizeof(nvdyn_engine));
  if (!*out) return NVDYN_ERR_NOMEM;
  (*out)->ftm2v = 1.0;
  return NVDYN_OK;
}

void nvdyn_engine_destroy(nvdyn_engine *e)
{
  if (!e) return;
  free(e->stages);
  free(e->sample_stage);
  free(e->sample_steps);
  free(e);
}

const char *nvdyn_engine_last_error(const nvdyn_engine *e)
{
  return e ? e->error : "NULL engine";
}

nvdyn_status nvdyn_engine_set_timestep(nvdyn_engine *e, double dt, double ftm2v)
{
  if (!e) return NVDYN_ERR_NULL;
  if (!(dt > 0.0) || !isfinite(dt))
    return fail(e, NVDYN_ERR_VALUE, "time step must be finite and > 0, got %g", dt);
  if (!(ftm2v > 0.0) || !isfinite(ftm2v))
    return fail(e, NVDYN_ERR_VALUE, "ftm2v must be finite and > 0, got %g", ftm2v);
  e->dt = dt;
  e->ftm2v = ftm2v;
  return ok(e);
}

nvdyn_status nvdyn_stage_add(nvdyn_engine *e, const char *style, int *index)
{
  if (!e) return NVDYN_ERR_NULL;
  if (!style) return fail(e, NVDYN_ERR_NULL, "stage style is NULL");
  if (e->nsamples > 0)
    return fail(e, NVDYN_ERR_STATE, "stages cannot be added once samples are set");
  int s = 0;
  while (s < NSTYLES && strcmp(style, style_names[s]) != 0) s++;
  if (s == NSTYLES) return fail(e, NVDYN_ERR_UNKNOWN, "unknown stage style '%s'", style);
  stage *grown = realloc(e->stages, (size_t) (e->nstages + 1) * sizeof(stage));
  if (!grown) return fail(e, NVDYN_ERR_NOMEM, "out of memory adding a stage");
  e->stages = grown;
  e->stages[e->nstages] = (stage){.style = (stage_style) s, .until_steps = 0};
  if (index) *index = e->nstages;
  e->nstages++;
  return ok(e);
}

static nvdyn_status check_stage(nvdyn_engine *e, int st)
{
  if (st < 0 || st >= e->nstages)
    return fail(e, NVDYN_ERR_VALUE, "stage index %d out of range [0, %d)", st, e->nstages);
  return NVDYN_OK;
}

nvdyn_status nvdyn_stage_until_steps(nvdyn_engine *e, int st, int64_t nsteps)
{
  if (!e) return NVDYN_ERR_NULL;
  if (check_stage(e, st) != NVDYN_OK) return NVDYN_ERR_VALUE;
  if (nsteps < 1)
    return fail(e, NVDYN_ERR_VALUE, "steps criterion must be >= 1, got %lld", (long long) nsteps);
  e->stages[st].until_steps = nsteps;
  return ok(e);
}

nvdyn_status nvdyn_engine_nstages(const nvdyn_engine *e, int *nstages)
{
  if (!e || !nstages) return NVDYN_ERR_NULL;
  *nstages = e->nstages;
  return NVDYN_OK;
}

nvdyn_status nvdyn_engine_set_nsamples(nvdyn_engine *e, int nsamples)
{
  if (!e) return NVDYN_ERR_NULL;
  if (e->nstages == 0) return fail(e, NVDYN_ERR_STATE, "an engine needs at least one stage");
  if (nsamples < 1)
    return fail(e, NVDYN_ERR_VALUE, "number of samples must be >= 1, got %d", nsamples);
  int *st = calloc((size_t) nsamples, sizeof(int));
  int64_t *steps = calloc((size_t) nsamples, sizeof(int64_t));
  if (!st || !steps) {
    free(st);
    free(steps);
    return fail(e, NVDYN_ERR_NOMEM, "out of memory for %d samples", nsamples);
  }
  free(e->sample_stage);
  free(e->sample_steps);
  e->sample_stage = st;
  e->sample_steps = steps;
  e->nsamples = nsamples;
  return ok(e);
}

nvdyn_status nvdyn_engine_nsamples(const nvdyn_engine *e, int *nsamples)
{
  if (!e || !nsamples) return NVDYN_ERR_NULL;
  *nsamples = e->nsamples;
  return NVDYN_OK;
}

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
  if (!a) return fail(e, NVDYN_ERR_NULL, "atoms is NULL");
  if (e->nsamples == 0) return fail(e, NVDYN_ERR_STATE, "no samples set");
  if (e->dt <= 0.0) return fail(e, NVDYN_ERR_STATE, "no time step set");
  if (a->natoms < 0) return fail(e, NVDYN_ERR_ATOMS, "natoms is negative (%d)", a->natoms);
  if (a->natoms == 0) return NVDYN_OK;
  if (!a->sample) return fail(e, NVDYN_ERR_NULL, "per-atom sample index is NULL");
  const nvdyn_view3 *views[3] = {&a->x, &a->v, &a->f};
  const char *names[3] = {"x", "v", "f"};
  for (int k = 0; k < 3; k++)
    if (!view_ok(views[k], a->natoms))
      return fail(e, NVDYN_ERR_ATOMS,
                  "view %s: NULL data or mismatched strides (atom %td, component %td)", names[k],
                  views[k]->atom_stride, views[k]->comp_stride);
  if (!a->rmass && (!a->type_mass || !a->type))
    return fail(e, NVDYN_ERR_NULL, "no masses: give rmass or type_mass and type");
  for (int i = 0; i < a->natoms; i++) {
    int s = a->sample[i];
    if (s >= e->nsamples)
      return fail(e, NVDYN_ERR_ATOMS, "atom %d: sample index %d out of range [0, %d)", i, s,
                  e->nsamples);
    if (s >= 0 && !a->rmass && (a->type[i] < 1 || a->type[i] > a->ntypes))
      return fail(e, NVDYN_ERR_ATOMS, "atom %d: type %d out of range [1, %d]", i, a->type[i],
                  a->ntypes);
  }
  return NVDYN_OK;
}

/* The stage of atom i, or -1 when it is outside the engine or done. */
static inline int atom_stage(const nvdyn_engine *e, const nvdyn_atoms *a, int i)
{
  int s = a->sample[i];
  if (s < 0) return -1;
  int st = e->sample_stage[s];
  return st < e->nstages ? st : -1;
}

static inline double atom_mass(const nvdyn_atoms *a, int i)
{
  return a->rmass ? a->rmass[i] : a->type_mass[a->type[i]];
}

#define AT(w, i) ((w).data + (ptrdiff_t) (i) * (w).atom_stride)

typedef enum half { FIRST_HALF, SECOND_HALF } half;

/* One half of a step for every atom of a sample that is in a stage. */
static nvdyn_status update(nvdyn_engine *e, const nvdyn_atoms *a, half h)
{
  if (!e) return NVDYN_ERR_NULL;
  nvdyn_status st = check_atoms(e, a);
  if (st != NVDYN_OK) return st;
  const double dtv = e->dt, dtf = 0.5 * e->dt * e->ftm2v;
  for (int i = 0; i < a->natoms; i++) {
    int sg = atom_stage(e, a, i);
    if (sg < 0) continue;
    switch (e->stages[sg].style) {
      case STYLE_NVE: {
        const double dtfm = dtf / atom_mass(a, i);
        nvdyn_kick(AT(a->v, i), a->v.comp_stride, AT(a->f, i), a->f.comp_stride, dtfm);
        if (h == FIRST_HALF)
          nvdyn_drift(AT(a->x, i), a->x.comp_stride, AT(a->v, i), a->v.comp_stride, dtv);
      } break;
    }
  }
  return ok(e);
}

nvdyn_status nvdyn_pre_update(nvdyn_engine *e, const nvdyn_atoms *a)
{
  return update(e, a, FIRST_HALF);
}

nvdyn_status nvdyn_post_update(nvdyn_engine *e, const nvdyn_atoms *a)
{
  return update(e, a, SECOND_HALF);
}

/* All criteria of stage st hold for a sample with the given steps in it.
 * A stage without criteria is never left. */
static int criteria_hold(const stage *sg, int64_t steps)
{
  if (sg->until_steps == 0) return 0;
  return steps >= sg->until_steps;
}

nvdyn_status nvdyn_end_step(nvdyn_engine *e, int *nmigrated)
{
  if (!e) return NVDYN_ERR_NULL;
  if (e->nsamples == 0) return fail(e, NVDYN_ERR_STATE, "no samples set");
  int moved = 0;
  for (int s = 0; s < e->nsamples; s++) {
    int st = e->sample_stage[s];
    if (st >= e->nstages) continue;
    e->sample_steps[s]++;
    if (criteria_hold(&e->stages[st], e->sample_steps[s])) {
      e->sample_stage[s] = st + 1;
      e->sample_steps[s] = 0;
      moved++;
    }
  }
  if (nmigrated) *nmigrated = moved;
  return ok(e);
}

nvdyn_status nvdyn_get_sample_stages(const nvdyn_engine *e, int *stage_out)
{
  if (!e || !stage_out) return NVDYN_ERR_NULL;
  if (e->nsamples > 0) memcpy(stage_out, e->sample_stage, (size_t) e->nsamples * sizeof(int));
  return NVDYN_OK;
}

nvdyn_status nvdyn_get_sample_steps(const nvdyn_engine *e, int64_t *steps_out)
{
  if (!e || !steps_out) return NVDYN_ERR_NULL;
  if (e->nsamples > 0) memcpy(steps_out, e->sample_steps, (size_t) e->nsamples * sizeof(int64_t));
  return NVDYN_OK;
}
