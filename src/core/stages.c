/* NVDYN core: the table of styles, parameters and criteria (params.def),
 * its introspection, and the stages of an engine. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const nvdyn_i_style_names[NVDYN_NSTYLES] = {
#define NVDYN_STYLE(id, name, kind, description) [NVDYN_STYLE_##id] = name,
#include "params.def"
};
static const char *const style_descriptions[NVDYN_NSTYLES] = {
#define NVDYN_STYLE(id, name, kind, description) [NVDYN_STYLE_##id] = description,
#include "params.def"
};
static const int style_kinds[NVDYN_NSTYLES] = {
#define NVDYN_STYLE(id, name, kind, description) [NVDYN_STYLE_##id] = kind,
#include "params.def"
};

const nvdyn_i_param nvdyn_i_params[NPARAMS] = {
#define NVDYN_PARAM(id, name, styles, type, lo, lo_open, hi, def, required, description)           \
  [P_##id] = {name, description, styles, required, type, lo_open, 0, lo, hi, def},
#include "params.def"
};
const nvdyn_i_param nvdyn_i_criteria[NCRITERIA] = {
#define NVDYN_CRITERION(id, name, type, lo, lo_open, hi, energy, description)                      \
  [C_##id] = {name, description, S_ALL, 0u, type, lo_open, energy, lo, hi, 0},
#include "params.def"
};

/* ---- introspection --------------------------------------------------------- */

int nvdyn_style_count(void)
{
  return NVDYN_NSTYLES;
}

int nvdyn_style_index(const char *name)
{
  for (int s = 0; name && s < NVDYN_NSTYLES; s++)
    if (strcmp(name, nvdyn_i_style_names[s]) == 0) return s;
  return -1;
}

nvdyn_status nvdyn_style_info(int style, nvdyn_style_desc *out)
{
  if (!out) return NVDYN_ERR_NULL;
  if (style < 0 || style >= NVDYN_NSTYLES) return NVDYN_ERR_VALUE;
  out->name = nvdyn_i_style_names[style];
  out->description = style_descriptions[style];
  out->kind = style_kinds[style];
  out->nparams = 0;
  for (int p = 0; p < NPARAMS; p++) out->nparams += (nvdyn_i_params[p].styles >> style) & 1u;
  return NVDYN_OK;
}

static void fill_info(const nvdyn_i_param *d, int style, nvdyn_param_desc *out)
{
  out->name = d->name;
  out->description = d->description;
  out->type = d->type;
  out->lo = d->lo;
  out->lo_open = d->lo_open;
  out->hi = d->hi;
  out->required = style >= 0 && ((d->required >> style) & 1u);
  out->needs_energy = d->energy;
  /* dt has no fixed default; required parameters and criteria have none */
  out->has_default = d != &nvdyn_i_params[P_DT] && !out->required && style >= 0;
  out->def = out->has_default ? d->def : 0.0;
}

nvdyn_status nvdyn_style_param(int style, int k, nvdyn_param_desc *out)
{
  if (!out) return NVDYN_ERR_NULL;
  if (style < 0 || style >= NVDYN_NSTYLES) return NVDYN_ERR_VALUE;
  for (int p = 0; p < NPARAMS; p++) {
    if (!((nvdyn_i_params[p].styles >> style) & 1u)) continue;
    if (k-- == 0) {
      fill_info(&nvdyn_i_params[p], style, out);
      return NVDYN_OK;
    }
  }
  return NVDYN_ERR_VALUE;
}

int nvdyn_criterion_count(void)
{
  return NCRITERIA;
}

nvdyn_status nvdyn_criterion_info(int k, nvdyn_param_desc *out)
{
  if (!out) return NVDYN_ERR_NULL;
  if (k < 0 || k >= NCRITERIA) return NVDYN_ERR_VALUE;
  fill_info(&nvdyn_i_criteria[k], -1, out);
  return NVDYN_OK;
}

/* ---- stages ---------------------------------------------------------------- */

nvdyn_status nvdyn_stage_add(nvdyn_engine *e, const char *name, int *index)
{
  if (!e) return NVDYN_ERR_NULL;
  if (!name) return nvdyn_i_fail(e, NVDYN_ERR_NULL, "stage style is NULL");
  if (e->nsamples > 0)
    return nvdyn_i_fail(e, NVDYN_ERR_STATE, "stages cannot be added once samples are set");
  const int s = nvdyn_style_index(name);
  if (s < 0) return nvdyn_i_fail(e, NVDYN_ERR_UNKNOWN, "unknown stage style '%s'", name);
  nvdyn_i_stage *grown = realloc(e->stages, (size_t) (e->nstages + 1) * sizeof(nvdyn_i_stage));
  if (!grown) return nvdyn_i_fail(e, NVDYN_ERR_NOMEM, "out of memory adding a stage");
  e->stages = grown;
  nvdyn_i_stage *sg = &e->stages[e->nstages];
  memset(sg, 0, sizeof(*sg));
  sg->style = s;
  for (int p = 0; p < NPARAMS; p++) sg->p[p] = nvdyn_i_params[p].def;
  if (s == NVDYN_STYLE_FIRE_ASE) sg->p[P_DT] = 0.1;
  if (index) *index = e->nstages;
  e->nstages++;
  return nvdyn_i_ok(e);
}

static nvdyn_status check_stage(nvdyn_engine *e, int st)
{
  if (st < 0 || st >= e->nstages)
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "stage index %d out of range [0, %d)", st, e->nstages);
  if (e->nsamples > 0)
    return nvdyn_i_fail(e, NVDYN_ERR_STATE, "stages cannot be changed once samples are set");
  return NVDYN_OK;
}

static int param_index(const char *name, int style)
{
  for (int p = 0; p < NPARAMS; p++)
    if (strcmp(name, nvdyn_i_params[p].name) == 0)
      return ((nvdyn_i_params[p].styles >> style) & 1u) ? p : -1;
  return -1;
}

/* 1 if value is outside the range of d */
static int out_of_range(const nvdyn_i_param *d, double value)
{
  return !isfinite(value) || value > d->hi || (d->lo_open ? !(value > d->lo) : !(value >= d->lo)) ||
      (d->type != NVDYN_TYPE_REAL && value != floor(value));
}

nvdyn_status nvdyn_stage_set(nvdyn_engine *e, int st, const char *name, double value)
{
  if (!e) return NVDYN_ERR_NULL;
  nvdyn_status rc = check_stage(e, st);
  if (rc != NVDYN_OK) return rc;
  if (!name) return nvdyn_i_fail(e, NVDYN_ERR_NULL, "stage parameter name is NULL");
  nvdyn_i_stage *sg = &e->stages[st];
  const char *style = nvdyn_i_style_names[sg->style];
  const int p = param_index(name, sg->style);
  if (p < 0)
    return nvdyn_i_fail(e, NVDYN_ERR_UNKNOWN, "stage %d (%s): unknown parameter '%s'", st, style,
                        name);
  const nvdyn_i_param *d = &nvdyn_i_params[p];
  if (out_of_range(d, value)) {
    char upper[32] = "";
    if (d->hi < 1e9) snprintf(upper, sizeof(upper), " and <= %g", d->hi);
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "stage %d (%s): %s must be %s%s %g%s, got %g", st,
                        style, name, d->type != NVDYN_TYPE_REAL ? "an integer " : "",
                        d->lo_open ? ">" : ">=", d->lo, upper, value);
  }
  sg->p[p] = value;
  sg->set[p] = 1;
  return nvdyn_i_ok(e);
}

static double stage_dt(const nvdyn_engine *e, const nvdyn_i_stage *sg)
{
  return sg->p[P_DT] > 0.0 ? sg->p[P_DT] : e->dt;
}

nvdyn_status nvdyn_stage_get(const nvdyn_engine *e, int st, const char *name, double *value)
{
  if (!e || !name || !value) return NVDYN_ERR_NULL;
  if (st < 0 || st >= e->nstages)
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "stage index %d out of range [0, %d)", st, e->nstages);
  const nvdyn_i_stage *sg = &e->stages[st];
  const int p = param_index(name, sg->style);
  if (p < 0)
    return nvdyn_i_fail(e, NVDYN_ERR_UNKNOWN, "stage %d (%s): unknown parameter '%s'", st,
                        nvdyn_i_style_names[sg->style], name);
  *value = p == P_DT ? stage_dt(e, sg) : sg->p[p];
  return NVDYN_OK;
}

nvdyn_status nvdyn_stage_until(nvdyn_engine *e, int st, const char *name, double value)
{
  if (!e) return NVDYN_ERR_NULL;
  nvdyn_status rc = check_stage(e, st);
  if (rc != NVDYN_OK) return rc;
  if (!name) return nvdyn_i_fail(e, NVDYN_ERR_NULL, "criterion name is NULL");
  int c = 0;
  while (c < NCRITERIA && strcmp(name, nvdyn_i_criteria[c].name) != 0) c++;
  if (c == NCRITERIA)
    return nvdyn_i_fail(e, NVDYN_ERR_UNKNOWN, "stage %d: unknown criterion '%s'", st, name);
  const nvdyn_i_param *d = &nvdyn_i_criteria[c];
  if (out_of_range(d, value))
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "stage %d: criterion %s must be %s, got %g", st, name,
                        d->type != NVDYN_TYPE_REAL ? "an integer >= 1" : "finite and > 0", value);
  e->stages[st].until[c] = value;
  e->stages[st].has[c] = 1;
  return nvdyn_i_ok(e);
}

nvdyn_status nvdyn_engine_nstages(const nvdyn_engine *e, int *nstages)
{
  if (!e || !nstages) return NVDYN_ERR_NULL;
  *nstages = e->nstages;
  return NVDYN_OK;
}

/* ---- the kernels' view ------------------------------------------------------- */

static nvdyn_stage_params compile_stage(const nvdyn_engine *e, const nvdyn_i_stage *sg)
{
  const double *p = sg->p;
  nvdyn_stage_params k;
  memset(&k, 0, sizeof(k));
  k.style = sg->style;
  k.dt = stage_dt(e, sg);
  k.every = (int64_t) p[P_EVERY];
  k.maxsteps = (int64_t) p[P_MAXSTEPS];
  k.criteria = (sg->has[C_FMAX] ? NVDYN_CRIT_FMAX : 0u) | (sg->has[C_DE] ? NVDYN_CRIT_DE : 0u) |
      (sg->has[C_STEPS] ? NVDYN_CRIT_STEPS : 0u);
  k.fmax = sg->until[C_FMAX];
  k.de = sg->until[C_DE];
  k.steps = (int64_t) sg->until[C_STEPS];
  const int md = (S_MD >> sg->style) & 1u;
  k.extra_dof = md ? p[P_EXTRA_DOF] : 3.0;
  k.velocity = md && sg->set[P_VELOCITY] ? p[P_VELOCITY] : 0.0;
  k.velocity_seed = (uint64_t) p[P_VSEED];
  k.drift = sg->style == NVDYN_STYLE_NVE ? p[P_DRIFT] : 0.0;
  if (sg->style == NVDYN_STYLE_FIRE) {
    nvdyn_fire_coef *c = &k.c.fire;
    c->tmax = p[P_TMAX];
    c->tmin = p[P_TMIN];
    c->dtgrow = p[P_DTGROW];
    c->dtshrink = p[P_DTSHRINK];
    c->alpha0 = p[P_ALPHA0];
    c->alphashrink = p[P_ALPHASHRINK];
    c->dmax = p[P_DMAX];
    c->delaystep = (int64_t) p[P_DELAYSTEP];
    c->vdfmax = (int64_t) p[P_VDFMAX];
    c->halfstepback = p[P_HALFSTEPBACK] != 0.0;
    c->initialdelay = p[P_INITIALDELAY] != 0.0;
  } else if (sg->style == NVDYN_STYLE_FIRE_ASE) {
    nvdyn_fire_ase_coef *c = &k.c.fire_ase;
    c->maxstep = p[P_MAXSTEP];
    c->dtmax = p[P_DTMAX];
    c->finc = p[P_FINC];
    c->fdec = p[P_FDEC];
    c->astart = p[P_ASTART];
    c->fa = p[P_FA];
    c->nmin = (int64_t) p[P_NMIN];
  } else if (sg->style != NVDYN_STYLE_NVE) {
    nvdyn_thermostat_coef *c = &k.c.thermostat;
    c->temp = p[P_TEMP];
    c->damp = p[P_DAMP];
    c->decay = exp(-k.dt / c->damp);
    c->seed = (uint64_t) p[P_SEED];
    c->chain = (int) p[P_CHAIN];
  }
  return k;
}

void nvdyn_i_compile_stages(nvdyn_engine *e)
{
  if (!e->kstages) return; /* compiled when samples are set */
  e->checks = 0;
  for (int st = 0; st < e->nstages; st++) {
    e->kstages[st] = compile_stage(e, &e->stages[st]);
    e->checks |= nvdyn_has_checks(&e->kstages[st]);
  }
  for (int s = 0; s < e->nsamples; s++) nvdyn_i_sync_slot(e, s);
}

/* Checks of nvdyn_engine_set_nsamples(): required parameters present. */
nvdyn_status nvdyn_i_validate_stages(nvdyn_engine *e)
{
  if (e->nstages == 0)
    return nvdyn_i_fail(e, NVDYN_ERR_STATE, "an engine needs at least one stage");
  for (int st = 0; st < e->nstages; st++) {
    const nvdyn_i_stage *sg = &e->stages[st];
    const char *style = nvdyn_i_style_names[sg->style];
    for (int p = 0; p < NPARAMS; p++)
      if (((nvdyn_i_params[p].required >> sg->style) & 1u) && !sg->set[p])
        return nvdyn_i_fail(e, NVDYN_ERR_STATE, "stage %d (%s): parameter %s is required", st,
                            style, nvdyn_i_params[p].name);
    if (sg->set[P_VELOCITY] != sg->set[P_VSEED])
      return nvdyn_i_fail(e, NVDYN_ERR_STATE,
                          "stage %d (%s): velocity and velocity_seed go together", st, style);
    if (sg->style == NVDYN_STYLE_FIRE && sg->p[P_TMAX] < sg->p[P_TMIN])
      return nvdyn_i_fail(e, NVDYN_ERR_STATE, "stage %d (fire): tmax (%g) must be >= tmin (%g)", st,
                          sg->p[P_TMAX], sg->p[P_TMIN]);
    if (sg->style != NVDYN_STYLE_FIRE_ASE && stage_dt(e, sg) <= 0.0)
      return nvdyn_i_fail(e, NVDYN_ERR_STATE, "stage %d (%s): no time step (set the engine's dt)",
                          st, style);
  }
  return NVDYN_OK;
}

/* a property of a stage's kernel view, for the ABI's queries */
static nvdyn_status stage_property(const nvdyn_engine *e, int st, int *out,
                                   int (*property)(const nvdyn_stage_params *))
{
  if (!e || !out) return NVDYN_ERR_NULL;
  if (st < 0 || st >= e->nstages)
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "stage index %d out of range [0, %d)", st, e->nstages);
  const nvdyn_stage_params k = compile_stage(e, &e->stages[st]);
  *out = property(&k);
  return NVDYN_OK;
}

nvdyn_status nvdyn_stage_can_finish(const nvdyn_engine *e, int st, int *can)
{
  return stage_property(e, st, can, nvdyn_can_finish);
}

nvdyn_status nvdyn_stage_needs_energy(const nvdyn_engine *e, int st, int *need)
{
  return stage_property(e, st, need, nvdyn_needs_energy);
}
