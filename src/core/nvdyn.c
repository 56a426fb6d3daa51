/* NVDYN core engine: host backend. See nvdyn.h for the contract. */
#include "nvdyn.h"
#include "nvdyn_math.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- stage styles and their parameters -------------------------------- */

typedef enum style { FIRE, FIRE_ASE, NVE, LANGEVIN, CSVR, NHC, NSTYLES } style;

static const char *const style_names[NSTYLES] = {"fire",     "fire/ase", "nve",
                                                 "langevin", "csvr",     "nhc"};

#define BIT(s) (1u << (s))
#define ALL_STYLES (BIT(NSTYLES) - 1u)
#define MD_STYLES (BIT(NVE) | BIT(LANGEVIN) | BIT(CSVR) | BIT(NHC))
#define THERMOSTATS (BIT(LANGEVIN) | BIT(CSVR) | BIT(NHC))
#define MAX_CHAIN 8

typedef enum param {
  P_DT,
  P_EVERY,
  P_MAXSTEPS,
  P_VELOCITY,
  P_VSEED,
  P_EXTRA_DOF,
  P_DRIFT,
  P_TEMP,
  P_DAMP,
  P_SEED,
  P_CHAIN,
  P_TMAX,
  P_TMIN,
  P_DELAYSTEP,
  P_DTGROW,
  P_DTSHRINK,
  P_ALPHA0,
  P_ALPHASHRINK,
  P_VDFMAX,
  P_HALFSTEPBACK,
  P_INITIALDELAY,
  P_DMAX,
  P_MAXSTEP,
  P_DTMAX,
  P_NMIN,
  P_FINC,
  P_FDEC,
  P_ASTART,
  P_FA,
  NPARAMS
} param;

enum { INTEGER = 1, LO_OPEN = 2 }; /* LO_OPEN: value > lo, else >= lo */

typedef struct param_def {
  const char *name;
  unsigned styles; /* styles that accept it */
  unsigned flags;
  double lo, hi, def;
  unsigned required; /* styles that require it */
} param_def;

/* def of "dt" is resolved at use (engine dt, or 0.1 for fire/ase) */
static const param_def params[NPARAMS] = {
    [P_DT] = {"dt", ALL_STYLES, LO_OPEN, 0, HUGE_VAL, 0, 0},
    [P_EVERY] = {"every", ALL_STYLES, INTEGER, 1, 1e15, 1, 0},
    [P_MAXSTEPS] = {"maxsteps", ALL_STYLES, INTEGER, 0, 1e15, 0, 0},
    [P_VELOCITY] = {"velocity", MD_STYLES, LO_OPEN, 0, HUGE_VAL, 0, 0},
    [P_VSEED] = {"velocity_seed", MD_STYLES, INTEGER, 1, 1e15, 0, 0},
    [P_EXTRA_DOF] = {"extra_dof", MD_STYLES, INTEGER, 0, 1e9, 3, 0},
    [P_DRIFT] = {"drift", BIT(NVE), 0, 0, HUGE_VAL, 0, 0},
    [P_TEMP] = {"temp", THERMOSTATS, LO_OPEN, 0, HUGE_VAL, 0, THERMOSTATS},
    [P_DAMP] = {"damp", THERMOSTATS, LO_OPEN, 0, HUGE_VAL, 0, THERMOSTATS},
    [P_SEED] = {"seed", BIT(LANGEVIN) | BIT(CSVR), INTEGER, 1, 1e15, 0, BIT(LANGEVIN) | BIT(CSVR)},
    [P_CHAIN] = {"chain", BIT(NHC), INTEGER, 1, MAX_CHAIN, 3, 0},
    [P_TMAX] = {"tmax", BIT(FIRE), LO_OPEN, 0, HUGE_VAL, 10.0, 0},
    [P_TMIN] = {"tmin", BIT(FIRE), LO_OPEN, 0, HUGE_VAL, 0.02, 0},
    [P_DELAYSTEP] = {"delaystep", BIT(FIRE), INTEGER, 0, 1e15, 20, 0},
    [P_DTGROW] = {"dtgrow", BIT(FIRE), 0, 1, HUGE_VAL, 1.1, 0},
    [P_DTSHRINK] = {"dtshrink", BIT(FIRE), LO_OPEN, 0, 1, 0.5, 0},
    [P_ALPHA0] = {"alpha0", BIT(FIRE), 0, 0, 1, 0.25, 0},
    [P_ALPHASHRINK] = {"alphashrink", BIT(FIRE), LO_OPEN, 0, 1, 0.99, 0},
    [P_VDFMAX] = {"vdfmax", BIT(FIRE), INTEGER, 0, 1e15, 2000, 0},
    [P_HALFSTEPBACK] = {"halfstepback", BIT(FIRE), INTEGER, 0, 1, 1, 0},
    [P_INITIALDELAY] = {"initialdelay", BIT(FIRE), INTEGER, 0, 1, 1, 0},
    [P_DMAX] = {"dmax", BIT(FIRE), LO_OPEN, 0, HUGE_VAL, 0.1, 0},
    [P_MAXSTEP] = {"maxstep", BIT(FIRE_ASE), LO_OPEN, 0, HUGE_VAL, 0.2, 0},
    [P_DTMAX] = {"dtmax", BIT(FIRE_ASE), LO_OPEN, 0, HUGE_VAL, 1.0, 0},
    [P_NMIN] = {"nmin", BIT(FIRE_ASE), INTEGER, 0, 1e15, 5, 0},
    [P_FINC] = {"finc", BIT(FIRE_ASE), 0, 1, HUGE_VAL, 1.1, 0},
    [P_FDEC] = {"fdec", BIT(FIRE_ASE), LO_OPEN, 0, 1, 0.5, 0},
    [P_ASTART] = {"astart", BIT(FIRE_ASE), 0, 0, 1, 0.1, 0},
    [P_FA] = {"fa", BIT(FIRE_ASE), LO_OPEN, 0, 1, 0.99, 0},
};

typedef enum criterion { C_FMAX, C_DE, C_STEPS, NCRITERIA } criterion;
static const char *const criterion_names[NCRITERIA] = {"fmax", "de", "steps"};

typedef struct stage {
  style style;
  double p[NPARAMS];
  unsigned char set[NPARAMS];
  double until[NCRITERIA];
  unsigned char has[NCRITERIA];
} stage;

/* ---- per-sample state ------------------------------------------------- */

typedef struct sample_state {
  int stage;     /* stage index; nstages once done */
  int outcome;   /* nvdyn_outcome */
  int vinit;     /* velocities of a newly entered stage still to be set */
  int stuck;     /* fire: more than vdfmax consecutive uphill steps */
  int reason;    /* nvdyn_reason of a failed or timed-out sample */
  int64_t steps; /* steps in the current stage */
  double pe, fmax, ke, natoms, temp, drift; /* as of the last check */
  double pe_check, pe_prev, e0;             /* PE of the last and previous check; NVE reference */
  int pe_in_stage, has_pe_prev, has_e0;     /* pe, pe_prev, e0 are of this stage */
  double fdt, alpha, dtv;                   /* FIRE time step, mixing, last position step */
  int64_t last_negative, nneg; /* FIRE: iteration of the last uphill step, run of them */
  double reservoir;            /* thermostat energy */
  double eta[MAX_CHAIN], eta_dot[MAX_CHAIN];
} sample_state;

typedef struct hook {
  nvdyn_hook_point point;
  int64_t every;
  nvdyn_hook_fn fn;
  void *user;
} hook;

enum { NACC = 6 }; /* per-sample accumulators of one reduction */

struct nvdyn_engine {
  double dt, ftm2v, mvv2e, boltz, fclamp, maxmove;
  int nan_check;
  int pending; /* samples failed by pre_update since the last end_step */
  int flagged; /* post_update found an MD atom with a hazard (nvdyn_step_hazard) */
  int refresh; /* the next end_step refreshes the values of all active samples */
  nvdyn_reduce_fn reduce_fn;
  void *reduce_user;
  int64_t step;
  stage *stages;
  int nstages;
  int nsamples;
  sample_state *samples;
  int64_t *stage_steps; /* [nsamples][nstages] */
  int *converged, nconverged;
  double *acc, *acc2; /* [nsamples * NACC] reduction scratch */
  double *coef;       /* [nsamples * 4] per-sample coefficients of a pass */
  signed char *mode;  /* [nsamples] what a pass does to a sample's atoms */
  signed char *kind;  /* [nsamples] style of an active sample's stage, else -1 */
  double *sdt;        /* [nsamples] time step of an active sample's stage */
  hook *hooks;
  int nhooks;
  char error[256];
};

static void sync_all(nvdyn_engine *e);
static int safety_on(const nvdyn_engine *e);
static nvdyn_status fail_hazards(nvdyn_engine *e, const nvdyn_atoms *a, int scaled, int *nfailed);

/* Record the message of a failed call and return its status. Calls that
 * take a const engine use it too: the message buffer is the only thing they
 * write (engines are never defined const: they come from
 * nvdyn_engine_create). */
static nvdyn_status fail(const nvdyn_engine *e, nvdyn_status st, const char *fmt, ...)
{
  nvdyn_engine *w = (nvdyn_engine *) e;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(w->error, sizeof(w->error), fmt, ap);
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
    case NVDYN_ERR_CALLBACK:
      return "callback failed";
  }
  return "unknown status";
}

nvdyn_status nvdyn_engine_create(nvdyn_engine **out)
{
  if (!out) return NVDYN_ERR_NULL;
  *out = calloc(1, sizeof(nvdyn_engine));
  if (!*out) return NVDYN_ERR_NOMEM;
  (*out)->ftm2v = (*out)->mvv2e = (*out)->boltz = 1.0;
  (*out)->nan_check = 1;
  return NVDYN_OK;
}

static void free_samples(nvdyn_engine *e)
{
  free(e->samples);
  free(e->stage_steps);
  free(e->converged);
  free(e->acc);
  free(e->acc2);
  free(e->coef);
  free(e->mode);
  free(e->kind);
  free(e->sdt);
  e->kind = NULL;
  e->sdt = NULL;
  e->samples = NULL;
  e->stage_steps = NULL;
  e->converged = NULL;
  e->acc = e->acc2 = e->coef = NULL;
  e->mode = NULL;
  e->nsamples = e->nconverged = 0;
}

void nvdyn_engine_destroy(nvdyn_engine *e)
{
  if (!e) return;
  free_samples(e);
  free(e->stages);
  free(e->hooks);
  free(e);
}

const char *nvdyn_engine_last_error(const nvdyn_engine *e)
{
  return e ? e->error : "NULL engine";
}

/* ---- engine settings ---------------------------------------------------- */

static const char *const engine_names[] = {"dt",     "ftm2v", "mvv2e",  "boltz",
                                           "fclamp", "nan",   "maxmove"};
#define NENGINE ((int) (sizeof(engine_names) / sizeof(engine_names[0])))

static int engine_index(const char *name)
{
  for (int k = 0; k < NENGINE; k++)
    if (strcmp(name, engine_names[k]) == 0) return k;
  return -1;
}

nvdyn_status nvdyn_engine_set(nvdyn_engine *e, const char *name, double value)
{
  if (!e) return NVDYN_ERR_NULL;
  if (!name) return fail(e, NVDYN_ERR_NULL, "engine setting name is NULL");
  int k = engine_index(name);
  if (k < 0) return fail(e, NVDYN_ERR_UNKNOWN, "unknown engine setting '%s'", name);
  if (!isfinite(value))
    return fail(e, NVDYN_ERR_VALUE, "engine setting %s must be finite, got %g", name, value);
  if (k <= 3 && !(value > 0.0))
    return fail(e, NVDYN_ERR_VALUE, "engine setting %s must be > 0, got %g", name, value);
  if ((k == 4 || k == 6) && value < 0.0)
    return fail(e, NVDYN_ERR_VALUE, "engine setting %s must be >= 0, got %g", name, value);
  if (k == 5 && value != 0.0 && value != 1.0)
    return fail(e, NVDYN_ERR_VALUE, "engine setting nan must be 0 or 1, got %g", value);
  double *slot[] = {&e->dt, &e->ftm2v, &e->mvv2e, &e->boltz, &e->fclamp, NULL, &e->maxmove};
  if (k == 5)
    e->nan_check = (int) value;
  else
    *slot[k] = value;
  if (k == 0) sync_all(e); /* stage time steps may follow the engine's */
  return ok(e);
}

nvdyn_status nvdyn_engine_get(const nvdyn_engine *e, const char *name, double *value)
{
  if (!e || !name || !value) return NVDYN_ERR_NULL;
  const double v[] = {e->dt, e->ftm2v, e->mvv2e, e->boltz, e->fclamp, e->nan_check, e->maxmove};
  int k = engine_index(name);
  if (k < 0) return fail(e, NVDYN_ERR_UNKNOWN, "unknown engine setting '%s'", name);
  *value = v[k];
  return NVDYN_OK;
}

nvdyn_status nvdyn_engine_set_reduce(nvdyn_engine *e, nvdyn_reduce_fn fn, void *user)
{
  if (!e) return NVDYN_ERR_NULL;
  e->reduce_fn = fn;
  e->reduce_user = user;
  return ok(e);
}

nvdyn_status nvdyn_engine_set_step(nvdyn_engine *e, int64_t step)
{
  if (!e) return NVDYN_ERR_NULL;
  if (step < 0) return fail(e, NVDYN_ERR_VALUE, "step must be >= 0, got %lld", (long long) step);
  e->step = step;
  return ok(e);
}

nvdyn_status nvdyn_engine_step(const nvdyn_engine *e, int64_t *step)
{
  if (!e || !step) return NVDYN_ERR_NULL;
  *step = e->step;
  return NVDYN_OK;
}

/* ---- stages ------------------------------------------------------------- */

nvdyn_status nvdyn_stage_add(nvdyn_engine *e, const char *name, int *index)
{
  if (!e) return NVDYN_ERR_NULL;
  if (!name) return fail(e, NVDYN_ERR_NULL, "stage style is NULL");
  if (e->nsamples > 0)
    return fail(e, NVDYN_ERR_STATE, "stages cannot be added once samples are set");
  int s = 0;
  while (s < NSTYLES && strcmp(name, style_names[s]) != 0) s++;
  if (s == NSTYLES) return fail(e, NVDYN_ERR_UNKNOWN, "unknown stage style '%s'", name);
  stage *grown = realloc(e->stages, (size_t) (e->nstages + 1) * sizeof(stage));
  if (!grown) return fail(e, NVDYN_ERR_NOMEM, "out of memory adding a stage");
  e->stages = grown;
  stage *sg = &e->stages[e->nstages];
  memset(sg, 0, sizeof(*sg));
  sg->style = (style) s;
  for (int p = 0; p < NPARAMS; p++) sg->p[p] = params[p].def;
  if (sg->style == FIRE_ASE) sg->p[P_DT] = 0.1;
  if (index) *index = e->nstages;
  e->nstages++;
  return ok(e);
}

static nvdyn_status check_stage(nvdyn_engine *e, int st)
{
  if (st < 0 || st >= e->nstages)
    return fail(e, NVDYN_ERR_VALUE, "stage index %d out of range [0, %d)", st, e->nstages);
  if (e->nsamples > 0)
    return fail(e, NVDYN_ERR_STATE, "stages cannot be changed once samples are set");
  return NVDYN_OK;
}

static int param_index(const char *name)
{
  for (int p = 0; p < NPARAMS; p++)
    if (strcmp(name, params[p].name) == 0) return p;
  return -1;
}

nvdyn_status nvdyn_stage_set(nvdyn_engine *e, int st, const char *name, double value)
{
  if (!e) return NVDYN_ERR_NULL;
  nvdyn_status rc = check_stage(e, st);
  if (rc != NVDYN_OK) return rc;
  if (!name) return fail(e, NVDYN_ERR_NULL, "stage parameter name is NULL");
  stage *sg = &e->stages[st];
  int p = param_index(name);
  if (p < 0 || !(params[p].styles & BIT(sg->style)))
    return fail(e, NVDYN_ERR_UNKNOWN, "stage %d (%s): unknown parameter '%s'", st,
                style_names[sg->style], name);
  const param_def *d = &params[p];
  int bad = !isfinite(value) || value > d->hi ||
      ((d->flags & LO_OPEN) ? !(value > d->lo) : !(value >= d->lo)) ||
      ((d->flags & INTEGER) && value != floor(value));
  if (bad) {
    char upper[32] = "";
    if (d->hi < 1e9) snprintf(upper, sizeof(upper), " and <= %g", d->hi);
    return fail(e, NVDYN_ERR_VALUE, "stage %d (%s): %s must be %s%s %g%s, got %g", st,
                style_names[sg->style], name, (d->flags & INTEGER) ? "an integer " : "",
                (d->flags & LO_OPEN) ? ">" : ">=", d->lo, upper, value);
  }
  sg->p[p] = value;
  sg->set[p] = 1;
  return ok(e);
}

nvdyn_status nvdyn_stage_get(const nvdyn_engine *e, int st, const char *name, double *value)
{
  if (!e || !name || !value) return NVDYN_ERR_NULL;
  if (st < 0 || st >= e->nstages)
    return fail(e, NVDYN_ERR_VALUE, "stage index %d out of range [0, %d)", st, e->nstages);
  int p = param_index(name);
  if (p < 0 || !(params[p].styles & BIT(e->stages[st].style)))
    return fail(e, NVDYN_ERR_UNKNOWN, "stage %d (%s): unknown parameter '%s'", st,
                style_names[e->stages[st].style], name);
  *value = (p == P_DT && e->stages[st].p[P_DT] == 0.0) ? e->dt : e->stages[st].p[p];
  return NVDYN_OK;
}

nvdyn_status nvdyn_stage_until(nvdyn_engine *e, int st, const char *name, double value)
{
  if (!e) return NVDYN_ERR_NULL;
  nvdyn_status rc = check_stage(e, st);
  if (rc != NVDYN_OK) return rc;
  if (!name) return fail(e, NVDYN_ERR_NULL, "criterion name is NULL");
  int c = 0;
  while (c < NCRITERIA && strcmp(name, criterion_names[c]) != 0) c++;
  if (c == NCRITERIA)
    return fail(e, NVDYN_ERR_UNKNOWN, "stage %d: unknown criterion '%s'", st, name);
  if (c == C_STEPS ? !(value >= 1.0 && value == floor(value) && value < 1e18)
                   : !(value > 0.0 && isfinite(value)))
    return fail(e, NVDYN_ERR_VALUE, "stage %d: criterion %s must be %s, got %g", st, name,
                c == C_STEPS ? "an integer >= 1" : "finite and > 0", value);
  e->stages[st].until[c] = value;
  e->stages[st].has[c] = 1;
  return ok(e);
}

nvdyn_status nvdyn_engine_nstages(const nvdyn_engine *e, int *nstages)
{
  if (!e || !nstages) return NVDYN_ERR_NULL;
  *nstages = e->nstages;
  return NVDYN_OK;
}

/* ---- samples ------------------------------------------------------------ */

static double stage_dt(const nvdyn_engine *e, const stage *sg)
{
  return sg->p[P_DT] > 0.0 ? sg->p[P_DT] : e->dt;
}

/* A sample enters stage st (or finishes when st == nstages): fresh
 * per-stage state; velocities are set on the next pre_update. */
static void enter_stage(nvdyn_engine *e, sample_state *ss, int st)
{
  ss->stage = st;
  ss->steps = 0;
  ss->pe_in_stage = ss->has_pe_prev = ss->has_e0 = 0;
  ss->stuck = 0;
  ss->reservoir = 0.0;
  memset(ss->eta, 0, sizeof(ss->eta));
  memset(ss->eta_dot, 0, sizeof(ss->eta_dot));
  if (st >= e->nstages) {
    ss->outcome = NVDYN_DONE;
    ss->vinit = 0;
    return;
  }
  const stage *sg = &e->stages[st];
  ss->fdt = stage_dt(e, sg);
  ss->alpha = sg->style == FIRE ? sg->p[P_ALPHA0] : sg->p[P_ASTART];
  ss->dtv = 0.0;
  ss->last_negative = ss->nneg = 0;
  ss->vinit = sg->style == FIRE || sg->style == FIRE_ASE || sg->set[P_VELOCITY];
}

/* An active sample stops with an outcome (FAILED or TIMEOUT) and why. */
static void finish_sample(sample_state *ss, int outcome, int reason)
{
  ss->outcome = outcome;
  ss->reason = reason;
}

/* The compact copies of a sample's state the atom loops read: its stage's
 * style (-1 when not active) and time step. */
static void sync_sample(nvdyn_engine *e, int s)
{
  const sample_state *ss = &e->samples[s];
  const int active = ss->outcome == NVDYN_ACTIVE;
  e->kind[s] = (signed char) (active ? (int) e->stages[ss->stage].style : -1);
  e->sdt[s] = active ? stage_dt(e, &e->stages[ss->stage]) : 0.0;
}

static void sync_all(nvdyn_engine *e)
{
  for (int s = 0; s < e->nsamples; s++) sync_sample(e, s);
}

nvdyn_status nvdyn_engine_set_nsamples(nvdyn_engine *e, int nsamples)
{
  if (!e) return NVDYN_ERR_NULL;
  if (e->nstages == 0) return fail(e, NVDYN_ERR_STATE, "an engine needs at least one stage");
  if (nsamples < 1)
    return fail(e, NVDYN_ERR_VALUE, "number of samples must be >= 1, got %d", nsamples);
  for (int st = 0; st < e->nstages; st++) {
    const stage *sg = &e->stages[st];
    for (int p = 0; p < NPARAMS; p++)
      if ((params[p].required & BIT(sg->style)) && !sg->set[p])
        return fail(e, NVDYN_ERR_STATE, "stage %d (%s): parameter %s is required", st,
                    style_names[sg->style], params[p].name);
    if (sg->set[P_VELOCITY] != sg->set[P_VSEED])
      return fail(e, NVDYN_ERR_STATE, "stage %d (%s): velocity and velocity_seed go together", st,
                  style_names[sg->style]);
    if (sg->style == FIRE && sg->p[P_TMAX] < sg->p[P_TMIN])
      return fail(e, NVDYN_ERR_STATE, "stage %d (fire): tmax (%g) must be >= tmin (%g)", st,
                  sg->p[P_TMAX], sg->p[P_TMIN]);
    if (sg->style != FIRE_ASE && stage_dt(e, sg) <= 0.0)
      return fail(e, NVDYN_ERR_STATE, "stage %d (%s): no time step (set the engine's dt)", st,
                  style_names[sg->style]);
  }
  size_t n = (size_t) nsamples;
  sample_state *samples = calloc(n, sizeof(sample_state));
  int64_t *stage_steps = calloc(n * (size_t) e->nstages, sizeof(int64_t));
  int *converged = calloc(n, sizeof(int));
  double *acc = calloc(n * NACC, sizeof(double));
  double *acc2 = calloc(n * NACC, sizeof(double));
  double *coef = calloc(n * 4, sizeof(double));
  signed char *mode = calloc(n, 1), *kind = calloc(n, 1);
  double *sdt = calloc(n, sizeof(double));
  free_samples(e);
  e->samples = samples;
  e->stage_steps = stage_steps;
  e->converged = converged;
  e->acc = acc;
  e->acc2 = acc2;
  e->coef = coef;
  e->mode = mode;
  e->kind = kind;
  e->sdt = sdt;
  if (!samples || !stage_steps || !converged || !acc || !acc2 || !coef || !mode || !kind || !sdt) {
    free_samples(e);
    return fail(e, NVDYN_ERR_NOMEM, "out of memory for %d samples", nsamples);
  }
  e->nsamples = nsamples;
  for (int s = 0; s < nsamples; s++) {
    sample_state *ss = &e->samples[s];
    ss->pe = ss->fmax = ss->ke = ss->natoms = ss->temp = ss->drift = NAN;
    enter_stage(e, ss, 0);
  }
  sync_all(e);
  return ok(e);
}

nvdyn_status nvdyn_engine_nsamples(const nvdyn_engine *e, int *nsamples)
{
  if (!e || !nsamples) return NVDYN_ERR_NULL;
  *nsamples = e->nsamples;
  return NVDYN_OK;
}

nvdyn_status nvdyn_get_sample_stages(const nvdyn_engine *e, int *out)
{
  if (!e || !out) return NVDYN_ERR_NULL;
  for (int s = 0; s < e->nsamples; s++) out[s] = e->samples[s].stage;
  return NVDYN_OK;
}

nvdyn_status nvdyn_get_sample_steps(const nvdyn_engine *e, int64_t *out)
{
  if (!e || !out) return NVDYN_ERR_NULL;
  for (int s = 0; s < e->nsamples; s++) out[s] = e->samples[s].steps;
  return NVDYN_OK;
}

nvdyn_status nvdyn_get_sample_outcomes(const nvdyn_engine *e, int *out)
{
  if (!e || !out) return NVDYN_ERR_NULL;
  for (int s = 0; s < e->nsamples; s++) out[s] = e->samples[s].outcome;
  return NVDYN_OK;
}

nvdyn_status nvdyn_get_sample_reasons(const nvdyn_engine *e, int *out)
{
  if (!e || !out) return NVDYN_ERR_NULL;
  for (int s = 0; s < e->nsamples; s++) out[s] = e->samples[s].reason;
  return NVDYN_OK;
}

static const char *const reason_names[NVDYN_NREASONS] = {"none",     "nan",    "unstable", "drift",
                                                         "maxsteps", "uphill", "escaped",  "lost"};

const char *nvdyn_reason_name(int reason)
{
  return reason >= 0 && reason < NVDYN_NREASONS ? reason_names[reason] : "unknown";
}

nvdyn_status nvdyn_sample_fail(nvdyn_engine *e, int sample, int reason)
{
  if (!e) return NVDYN_ERR_NULL;
  if (sample < 0 || sample >= e->nsamples)
    return fail(e, NVDYN_ERR_VALUE, "sample index %d out of range [0, %d)", sample, e->nsamples);
  if (reason != NVDYN_REASON_NAN && reason != NVDYN_REASON_UNSTABLE &&
      reason != NVDYN_REASON_DRIFT && reason != NVDYN_REASON_ESCAPED && reason != NVDYN_REASON_LOST)
    return fail(e, NVDYN_ERR_VALUE, "%d is not a reason for a sample to fail", reason);
  sample_state *ss = &e->samples[sample];
  if (ss->outcome != NVDYN_ACTIVE)
    return fail(e, NVDYN_ERR_STATE, "sample %d is not active (outcome %d)", sample, ss->outcome);
  finish_sample(ss, NVDYN_FAILED, reason);
  sync_sample(e, sample);
  return ok(e);
}

nvdyn_status nvdyn_get_sample_stage_steps(const nvdyn_engine *e, int sample, int64_t *out)
{
  if (!e || !out) return NVDYN_ERR_NULL;
  if (sample < 0 || sample >= e->nsamples)
    return fail(e, NVDYN_ERR_VALUE, "sample index %d out of range [0, %d)", sample, e->nsamples);
  memcpy(out, e->stage_steps + (size_t) sample * (size_t) e->nstages,
         (size_t) e->nstages * sizeof(int64_t));
  return NVDYN_OK;
}

/* degrees of freedom of a sample of n atoms in stage sg */
static double sample_dof(const stage *sg, double natoms)
{
  double p = (params[P_EXTRA_DOF].styles & BIT(sg->style)) ? sg->p[P_EXTRA_DOF] : 3.0;
  return 3.0 * natoms - p;
}

nvdyn_status nvdyn_get_sample_values(const nvdyn_engine *e, nvdyn_value which, double *out)
{
  if (!e || !out) return NVDYN_ERR_NULL;
  if ((int) which < 0 || which > NVDYN_VALUE_FIRE_ALPHA)
    return fail(e, NVDYN_ERR_VALUE, "unknown per-sample value %d", (int) which);
  for (int s = 0; s < e->nsamples; s++) {
    const sample_state *ss = &e->samples[s];
    const stage *sg = ss->stage < e->nstages ? &e->stages[ss->stage] : NULL;
    int fire = sg && (sg->style == FIRE || sg->style == FIRE_ASE);
    double v = NAN;
    switch (which) {
      case NVDYN_VALUE_ENERGY:
        v = ss->pe;
        break;
      case NVDYN_VALUE_FMAX:
        v = ss->fmax;
        break;
      case NVDYN_VALUE_KINETIC:
        v = ss->ke;
        break;
      case NVDYN_VALUE_NATOMS:
        v = ss->natoms;
        break;
      case NVDYN_VALUE_TEMPERATURE:
        v = ss->temp;
        break;
      case NVDYN_VALUE_DRIFT:
        v = ss->drift;
        break;
      case NVDYN_VALUE_THERMOSTAT:
        v = ss->reservoir;
        break;
      case NVDYN_VALUE_FIRE_DT:
        v = fire ? ss->fdt : NAN;
        break;
      case NVDYN_VALUE_FIRE_ALPHA:
        v = fire ? ss->alpha : NAN;
        break;
    }
    out[s] = v;
  }
  return NVDYN_OK;
}

nvdyn_status nvdyn_get_converged(const nvdyn_engine *e, int *n, int *samples)
{
  if (!e || !n) return NVDYN_ERR_NULL;
  *n = e->nconverged;
  if (samples && e->nconverged) memcpy(samples, e->converged, (size_t) e->nconverged * sizeof(int));
  return NVDYN_OK;
}

/* ---- state save / load -------------------------------------------------- */

typedef struct state_header {
  char magic[8];
  int32_t abi, nstages, nsamples, sample_bytes;
  int64_t step;
} state_header;

static size_t state_bytes(const nvdyn_engine *e)
{
  size_t n = (size_t) e->nsamples;
  return sizeof(state_header) + n * sizeof(sample_state) +
      n * (size_t) e->nstages * sizeof(int64_t);
}

nvdyn_status nvdyn_state_size(const nvdyn_engine *e, size_t *size)
{
  if (!e || !size) return NVDYN_ERR_NULL;
  *size = state_bytes(e);
  return NVDYN_OK;
}

nvdyn_status nvdyn_state_save(const nvdyn_engine *e, void *buffer, size_t size)
{
  if (!e || !buffer) return NVDYN_ERR_NULL;
  if (size < state_bytes(e)) return NVDYN_ERR_VALUE;
  state_header h = {
      "NVDYNST", NVDYN_ABI_VERSION, e->nstages, e->nsamples, (int32_t) sizeof(sample_state),
      e->step};
  char *p = buffer;
  memcpy(p, &h, sizeof(h));
  p += sizeof(h);
  size_t n = (size_t) e->nsamples;
  if (n) {
    memcpy(p, e->samples, n * sizeof(sample_state));
    p += n * sizeof(sample_state);
    memcpy(p, e->stage_steps, n * (size_t) e->nstages * sizeof(int64_t));
  }
  return NVDYN_OK;
}

nvdyn_status nvdyn_state_load(nvdyn_engine *e, const void *buffer, size_t size)
{
  if (!e) return NVDYN_ERR_NULL;
  if (!buffer) return fail(e, NVDYN_ERR_NULL, "state buffer is NULL");
  if (e->nsamples == 0) return fail(e, NVDYN_ERR_STATE, "no samples set");
  state_header h;
  if (size != state_bytes(e))
    return fail(e, NVDYN_ERR_VALUE, "state has %zu bytes, this engine's has %zu", size,
                state_bytes(e));
  memcpy(&h, buffer, sizeof(h));
  if (memcmp(h.magic, "NVDYNST", 8) != 0 || h.abi != NVDYN_ABI_VERSION ||
      h.sample_bytes != (int32_t) sizeof(sample_state))
    return fail(e, NVDYN_ERR_VALUE, "not an NVDYN state of this library version");
  if (h.nstages != e->nstages || h.nsamples != e->nsamples)
    return fail(e, NVDYN_ERR_VALUE,
                "state is for %d stages and %d samples, this engine has %d and %d", h.nstages,
                h.nsamples, e->nstages, e->nsamples);
  const char *p = (const char *) buffer + sizeof(h);
  size_t n = (size_t) e->nsamples;
  memcpy(e->samples, p, n * sizeof(sample_state));
  memcpy(e->stage_steps, p + n * sizeof(sample_state), n * (size_t) e->nstages * sizeof(int64_t));
  e->step = h.step;
  e->nconverged = 0;
  sync_all(e);
  return ok(e);
}

/* ---- hooks -------------------------------------------------------------- */

nvdyn_status nvdyn_hook_add(nvdyn_engine *e, nvdyn_hook_point point, int64_t every,
                            nvdyn_hook_fn fn, void *user)
{
  if (!e) return NVDYN_ERR_NULL;
  if (!fn) return fail(e, NVDYN_ERR_NULL, "hook function is NULL");
  if ((int) point < 0 || (int) point >= NVDYN_NHOOK_POINTS)
    return fail(e, NVDYN_ERR_VALUE, "hook point %d out of range [0, %d)", (int) point,
                NVDYN_NHOOK_POINTS);
  if (every < 1)
    return fail(e, NVDYN_ERR_VALUE, "hook frequency must be >= 1, got %lld", (long long) every);
  hook *grown = realloc(e->hooks, (size_t) (e->nhooks + 1) * sizeof(hook));
  if (!grown) return fail(e, NVDYN_ERR_NOMEM, "out of memory adding a hook");
  e->hooks = grown;
  e->hooks[e->nhooks++] = (hook){point, every, fn, user};
  return ok(e);
}

static const char *const point_names[NVDYN_NHOOK_POINTS] = {
    "BEFORE_STEP",       "BEFORE_PRE_UPDATE", "AFTER_PRE_UPDATE",
    "BEFORE_COMPUTE",    "AFTER_COMPUTE",     "BEFORE_POST_UPDATE",
    "AFTER_POST_UPDATE", "ON_CONVERGE",       "AFTER_STEP"};

/* Fire the hooks of a point for the step being executed (e->step + 1, or
 * e->step once end_step has advanced it: see the callers). */
static nvdyn_status run_hooks(nvdyn_engine *e, nvdyn_hook_point point, const nvdyn_atoms *a,
                              int64_t step)
{
  nvdyn_hook_info info = {point, step, a, 0, NULL};
  if (point == NVDYN_ON_CONVERGE) {
    info.nconverged = e->nconverged;
    info.converged = e->converged;
  }
  for (int k = 0; k < e->nhooks; k++) {
    const hook *h = &e->hooks[k];
    if (h->point != point || step % h->every != 0) continue;
    int rc = h->fn(e, &info, h->user);
    if (rc != 0)
      return fail(e, NVDYN_ERR_CALLBACK, "hook %d at %s returned %d on step %lld", k,
                  point_names[point], rc, (long long) step);
  }
  return NVDYN_OK;
}

/* ---- per-atom input ----------------------------------------------------- */

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
      return fail(e, NVDYN_ERR_ATOMS, "atom %d: sample index %d out of range [0, %d)", i, s,
                  e->nsamples);
    if (s >= 0 && !a->rmass && (a->type[i] < 1 || a->type[i] > a->ntypes))
      return fail(e, NVDYN_ERR_ATOMS, "atom %d: type %d out of range [1, %d]", i, a->type[i],
                  a->ntypes);
  }
  return NVDYN_OK;
}

static inline double atom_mass(const nvdyn_atoms *a, int i)
{
  return a->rmass ? a->rmass[i] : a->type_mass[a->type[i]];
}

static inline uint64_t atom_id(const nvdyn_atoms *a, int i)
{
  return a->id ? (uint64_t) a->id[i] : (uint64_t) (int64_t) a->id32[i];
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

static inline const stage *stage_of(const nvdyn_engine *e, int s)
{
  return &e->stages[e->samples[s].stage];
}

/* nvdyn_atom_hazard() of atom i of active sample s, with its stage's style
 * and time step and the engine's force clamp and maxmove; the velocity as
 * it will be after a scaling by vscale (a thermostat's, before it moves) */
static inline int atom_hazard(const nvdyn_engine *e, const nvdyn_atoms *a, int i, int s,
                              double vscale)
{
  const double *f = AT(a->f, i), *v = AT(a->v, i);
  /* the next step: velocity Verlet's half kick and drift; FIRE's kick and
   * drift with its current time step (dmax limits it only by the velocity
   * before the kick); ASE FIRE's kick (v += dt f), whose step is bounded by
   * maxstep */
  const int kind = e->kind[s];
  const double fdt = e->samples[s].fdt;
  const double dt = kind == FIRE ? fdt : kind == FIRE_ASE ? 0.0 : e->sdt[s];
  const double kick = kind == FIRE_ASE ? fdt
      : kind == FIRE                   ? fdt * e->ftm2v / atom_mass(a, i)
                                       : 0.5 * dt * e->ftm2v / atom_mass(a, i);
  const double vs[3] = {vscale * v[0], vscale * v[VS(a)], vscale * v[2 * VS(a)]};
  return nvdyn_atom_hazard(AT(a->x, i), XS(a), vs, 1, f, FS(a),
                           nvdyn_clamp_factor(f, FS(a), e->fclamp), kick, dt, e->maxmove);
}

static nvdyn_status reduce(nvdyn_engine *e, double *buf, int n, nvdyn_reduce_op op)
{
  if (!e->reduce_fn || n == 0) return NVDYN_OK;
  int rc = e->reduce_fn(buf, n, op, e->reduce_user);
  if (rc != 0) return fail(e, NVDYN_ERR_CALLBACK, "reduction callback returned %d", rc);
  return NVDYN_OK;
}

/* Set mode[s] = 1 for active samples whose stage style is in mask and
 * clear the accumulators; returns the number of such samples. */
static int select_samples(nvdyn_engine *e, unsigned mask)
{
  int n = 0;
  memset(e->acc, 0, (size_t) e->nsamples * NACC * sizeof(double));
  memset(e->acc2, 0, (size_t) e->nsamples * NACC * sizeof(double));
  for (int s = 0; s < e->nsamples; s++) {
    const int on = e->kind[s] >= 0 && (BIT(e->kind[s]) & mask);
    e->mode[s] = (signed char) on;
    n += on;
  }
  return n;
}

/* Per-sample sums and maxima of one pass over the atoms, kept in locals
 * while consecutive atoms belong to the same sample (the common case: a
 * sample's atoms are mostly contiguous) and added into acc (sums) and acc2
 * (maxima, all >= 0) when the sample changes, so the loop carries no
 * dependency through memory. */
typedef struct run {
  int s;
  double sum[NACC], max[NACC];
} run;

static inline void run_flush(nvdyn_engine *e, run *r)
{
  if (r->s >= 0) {
    double *acc = &e->acc[r->s * NACC], *mx = &e->acc2[r->s * NACC];
    for (int k = 0; k < NACC; k++) {
      acc[k] += r->sum[k];
      if (r->max[k] > mx[k]) mx[k] = r->max[k];
    }
  }
  memset(r, 0, sizeof(*r));
  r->s = -1;
}

/* the run's locals for an atom of sample s */
static inline run *run_at(nvdyn_engine *e, run *r, int s)
{
  if (s != r->s) {
    run_flush(e, r);
    r->s = s;
  }
  return r;
}

static inline run run_start(void)
{
  run r;
  memset(&r, 0, sizeof(r));
  r.s = -1;
  return r;
}

/* Sum of m v^2 and number of atoms per sample (acc[s * NACC + 0, 1]) over
 * samples with mode[s] != 0, reduced. */
static nvdyn_status sum_mvv(nvdyn_engine *e, const nvdyn_atoms *a)
{
  run r = run_start();
  for (int i = 0; i < a->natoms; i++) {
    int s = active_sample(e, a, i);
    if (s < 0 || !e->mode[s]) continue;
    const double *v = AT(a->v, i);
    run_at(e, &r, s);
    r.sum[0] += atom_mass(a, i) * nvdyn_dot(v, VS(a), v, VS(a));
    r.sum[1] += 1.0;
  }
  run_flush(e, &r);
  return reduce(e, e->acc, e->nsamples * NACC, NVDYN_REDUCE_SUM);
}

/* v *= coef[4 s] for the atoms of samples with mode[s] != 0; with check,
 * returns 1 if a scaled atom's next step has a hazard (nvdyn_atom_hazard) */
static int scale_velocities(nvdyn_engine *e, const nvdyn_atoms *a, int check)
{
  int flagged = 0;
  for (int i = 0; i < a->natoms; i++) {
    int s = active_sample(e, a, i);
    if (s < 0 || !e->mode[s]) continue;
    nvdyn_scale(AT(a->v, i), VS(a), e->coef[4 * s]);
    if (check) flagged |= atom_hazard(e, a, i, s, 1.0);
  }
  return flagged;
}

/* ---- velocity initialisation of samples entering a stage ---------------- */

enum { PURPOSE_VELOCITY = 1, PURPOSE_LANGEVIN = 2, PURPOSE_CSVR = 3 };

static nvdyn_status init_velocities(nvdyn_engine *e, const nvdyn_atoms *a, int64_t step)
{
  int any = 0, draw = 0;
  for (int s = 0; s < e->nsamples; s++) {
    sample_state *ss = &e->samples[s];
    e->mode[s] = 0;
    if (ss->outcome != NVDYN_ACTIVE || !ss->vinit) continue;
    any = 1;
    e->mode[s] = stage_of(e, s)->set[P_VELOCITY] ? 2 : 1; /* 1: zero, 2: draw */
    draw |= e->mode[s] == 2;
  }
  if (!any) return NVDYN_OK;
  if (draw && a->natoms > 0 && !a->id && !a->id32)
    return fail(e, NVDYN_ERR_NULL, "velocity initialisation needs atom IDs (id or id32)");
  memset(e->acc, 0, (size_t) e->nsamples * NACC * sizeof(double));
  /* draw, and sum momentum, mass and count per sample */
  for (int i = 0; i < a->natoms; i++) {
    int s = active_sample(e, a, i);
    if (s < 0 || !e->mode[s]) continue;
    double *v = AT(a->v, i);
    if (e->mode[s] == 1) {
      nvdyn_zero(v, VS(a));
      continue;
    }
    const stage *sg = stage_of(e, s);
    const double m = atom_mass(a, i);
    nvdyn_rng r =
        nvdyn_rng_make((uint64_t) sg->p[P_VSEED], atom_id(a, i), (uint64_t) step, PURPOSE_VELOCITY);
    double xi[3];
    nvdyn_rng_normal3(&r, xi);
    const double sigma = sqrt(e->boltz * sg->p[P_VELOCITY] / (m * e->mvv2e));
    double *acc = &e->acc[s * NACC];
    for (int k = 0; k < 3; k++) {
      v[k * VS(a)] = sigma * xi[k];
      acc[k] += m * v[k * VS(a)];
    }
    acc[3] += m;
    acc[4] += 1.0;
  }
  if (draw) {
    nvdyn_status rc = reduce(e, e->acc, e->nsamples * NACC, NVDYN_REDUCE_SUM);
    if (rc != NVDYN_OK) return rc;
    /* remove the net momentum, then scale to exactly the temperature */
    memset(e->acc2, 0, (size_t) e->nsamples * NACC * sizeof(double));
    for (int i = 0; i < a->natoms; i++) {
      int s = active_sample(e, a, i);
      if (s < 0 || e->mode[s] != 2) continue;
      double *v = AT(a->v, i);
      const double *acc = &e->acc[s * NACC];
      for (int k = 0; k < 3; k++) v[k * VS(a)] -= acc[k] / acc[3];
      e->acc2[s * NACC] += atom_mass(a, i) * nvdyn_dot(v, VS(a), v, VS(a));
    }
    rc = reduce(e, e->acc2, e->nsamples * NACC, NVDYN_REDUCE_SUM);
    if (rc != NVDYN_OK) return rc;
    for (int s = 0; s < e->nsamples; s++) {
      if (e->mode[s] != 2) continue;
      const stage *sg = stage_of(e, s);
      const double dof = sample_dof(sg, e->acc[s * NACC + 4]), mvv = e->acc2[s * NACC];
      /* velocities whose sum of squares overflows become NaN: the
       * sample then fails (reason nan) instead of starting at rest */
      e->coef[4 * s] = !(mvv <= DBL_MAX) ? NAN
          : (dof > 0.0 && mvv > 0.0) ? sqrt(dof * e->boltz * sg->p[P_VELOCITY] / (e->mvv2e * mvv))
                                     : 0.0;
    }
    for (int s = 0; s < e->nsamples; s++) e->mode[s] = e->mode[s] == 2;
    scale_velocities(e, a, 0);
    /* a sample whose drawn velocities would make an unsafe first step
     * fails before its atoms move */
    int nfailed = 0;
    if (safety_on(e) && (rc = fail_hazards(e, a, 0, &nfailed)) != NVDYN_OK) return rc;
    e->pending += nfailed;
  }
  for (int s = 0; s < e->nsamples; s++) e->samples[s].vinit = 0;
  return NVDYN_OK;
}

/* ---- thermostats (per sample) ------------------------------------------- */

/* One half step (dt/2) of a sample's Nose-Hoover chain, given 2 KE
 * (sum m v^2 mvv2e); returns the velocity scale factor. Trotter
 * factorisation as in LAMMPS fix nvt (one sub-step). */
static double nhc_half_step(const nvdyn_engine *e, const stage *sg, sample_state *ss, double ke2,
                            double natoms)
{
  const int m = (int) sg->p[P_CHAIN];
  const double dof = sample_dof(sg, natoms);
  if (dof <= 0.0) return 1.0;
  const double dt = stage_dt(e, sg), kt = e->boltz * sg->p[P_TEMP];
  const double tdamp2 = sg->p[P_DAMP] * sg->p[P_DAMP];
  double q[MAX_CHAIN], gdot;
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
 * step (Bussi et al., J. Chem. Phys. 126, 014101, 2007, appendix);
 * returns the velocity scale factor. */
static double csvr_factor(const nvdyn_engine *e, const stage *sg, sample_state *ss, int s,
                          double ke, double natoms, int64_t step)
{
  const double dof = sample_dof(sg, natoms);
  if (dof <= 0.0 || ke <= 0.0) return 1.0;
  const double c = exp(-stage_dt(e, sg) / sg->p[P_DAMP]);
  const double target = 0.5 * dof * e->boltz * sg->p[P_TEMP];
  nvdyn_rng r =
      nvdyn_rng_make((uint64_t) sg->p[P_SEED], (uint64_t) s, (uint64_t) step, PURPOSE_CSVR);
  const double r1 = nvdyn_rng_normal(&r);
  const double sum = nvdyn_rng_chi2(&r, (int) dof - 1);
  double knew = ke + (1.0 - c) * (target * (sum + r1 * r1) / dof - ke) +
      2.0 * r1 * sqrt(ke * target / dof * (1.0 - c) * c);
  if (knew < 0.0) knew = 0.0;
  ss->reservoir -= knew - ke;
  return sqrt(knew / ke);
}

/* ---- FIRE decisions (per sample) ---------------------------------------- */

/* LAMMPS min_style fire, one iteration's global part for a sample, from its
 * sums v.f, v.v, f.f and max |v_k|. Sets coef (s1, s2, dtv, dtv_back) and
 * mode (1 downhill, 2 uphill, 0 stuck). */
static void fire_decide(nvdyn_engine *e, int s, const double *sums, double vmax)
{
  sample_state *ss = &e->samples[s];
  const stage *sg = stage_of(e, s);
  const double dt0 = stage_dt(e, sg);
  const int64_t it = ss->steps + 1; /* iteration number in the stage */
  double *c = &e->coef[4 * s];
  const double vf = sums[0], vv = sums[1], ff = sums[2];
  c[0] = 1.0;
  c[1] = 0.0;
  c[3] = ss->dtv;
  if (vf > 0.0) {
    ss->nneg = 0;
    c[0] = 1.0 - ss->alpha;
    c[1] = ff <= 1e-20 ? 0.0 : ss->alpha * sqrt(vv / ff);
    if (it - ss->last_negative > (int64_t) sg->p[P_DELAYSTEP]) {
      ss->fdt = fmin(ss->fdt * sg->p[P_DTGROW], sg->p[P_TMAX] * dt0);
      ss->alpha *= sg->p[P_ALPHASHRINK];
    }
    e->mode[s] = 1;
  } else {
    ss->last_negative = it;
    if (!(sg->p[P_INITIALDELAY] != 0.0 && it < (int64_t) sg->p[P_DELAYSTEP])) {
      ss->alpha = sg->p[P_ALPHA0];
      if (ss->fdt * sg->p[P_DTSHRINK] >= sg->p[P_TMIN] * dt0) ss->fdt *= sg->p[P_DTSHRINK];
    }
    ss->nneg++;
    if (sg->p[P_VDFMAX] > 0 && ss->nneg > (int64_t) sg->p[P_VDFMAX]) {
      ss->stuck = 1;
      e->mode[s] = 0;
      return;
    }
    if (sg->p[P_HALFSTEPBACK] == 0.0) c[3] = 0.0;
    e->mode[s] = 2;
    vmax = 0.0; /* velocities are zeroed before the step */
  }
  double dtv = ss->fdt;
  if (dtv * vmax > sg->p[P_DMAX]) dtv = sg->p[P_DMAX] / vmax;
  c[2] = ss->dtv = dtv;
}

/* ASE FIRE, one step's global part for a sample. mode: 1 zero v, 2 mix, 3
 * first step (no mixing); coef: s1, s2. */
static void fire_ase_decide(nvdyn_engine *e, int s, const double *sums)
{
  sample_state *ss = &e->samples[s];
  const stage *sg = stage_of(e, s);
  double *c = &e->coef[4 * s];
  const double vf = sums[0], vv = sums[1], ff = sums[2];
  c[0] = 1.0;
  c[1] = 0.0;
  if (ss->steps == 0) {
    e->mode[s] = 3;
  } else if (vf > 0.0) {
    c[0] = 1.0 - ss->alpha;
    c[1] = ff > 0.0 ? ss->alpha * sqrt(vv / ff) : 0.0;
    if (ss->nneg > (int64_t) sg->p[P_NMIN]) {
      ss->fdt = fmin(ss->fdt * sg->p[P_FINC], sg->p[P_DTMAX]);
      ss->alpha *= sg->p[P_FA];
    }
    ss->nneg++; /* here: steps since the last uphill step (ASE's Nsteps) */
    e->mode[s] = 2;
  } else {
    ss->alpha = sg->p[P_ASTART];
    ss->fdt *= sg->p[P_FDEC];
    ss->nneg = 0;
    e->mode[s] = 1;
  }
}

/* Per-sample sums v.f, v.v, f.f (acc, reduced by sum) and max |v_k| (acc2,
 * reduced by max) over the atoms of FIRE samples (mode != 0). */
static nvdyn_status fire_sums(nvdyn_engine *e, const nvdyn_atoms *a)
{
  run r = run_start();
  for (int i = 0; i < a->natoms; i++) {
    int s = active_sample(e, a, i);
    if (s < 0 || !e->mode[s]) continue;
    const double *v = AT(a->v, i), *f = AT(a->f, i);
    const double fc = nvdyn_clamp_factor(f, FS(a), e->fclamp);
    run_at(e, &r, s);
    r.sum[0] += fc * nvdyn_dot(v, VS(a), f, FS(a));
    r.sum[1] += nvdyn_dot(v, VS(a), v, VS(a));
    r.sum[2] += fc * fc * nvdyn_dot(f, FS(a), f, FS(a));
    const double vm = nvdyn_absmax(v, VS(a));
    if (vm > r.max[0]) r.max[0] = vm;
  }
  run_flush(e, &r);
  nvdyn_status rc = reduce(e, e->acc, e->nsamples * NACC, NVDYN_REDUCE_SUM);
  if (rc != NVDYN_OK) return rc;
  return reduce(e, e->acc2, e->nsamples * NACC, NVDYN_REDUCE_MAX);
}

/* ---- the step ----------------------------------------------------------- */

static nvdyn_status begin_call(nvdyn_engine *e, const nvdyn_atoms *a)
{
  if (!e) return NVDYN_ERR_NULL;
  return check_atoms(e, a);
}

static int any_active(const nvdyn_engine *e, unsigned mask)
{
  for (int s = 0; s < e->nsamples; s++)
    if (e->kind[s] >= 0 && (BIT(e->kind[s]) & mask)) return 1;
  return 0;
}

/* The hook-only calls check the atoms only when hooks will see them. */
static nvdyn_status hook_call(nvdyn_engine *e, nvdyn_hook_point point, const nvdyn_atoms *a)
{
  if (!e) return NVDYN_ERR_NULL;
  int any = 0;
  for (int k = 0; k < e->nhooks; k++) any |= e->hooks[k].point == point;
  if (!any) return ok(e);
  nvdyn_status rc = check_atoms(e, a);
  if (rc != NVDYN_OK) return rc;
  rc = run_hooks(e, point, a, e->step + 1);
  return rc != NVDYN_OK ? rc : ok(e);
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

/* Velocity Verlet's first half for atom i: v += hf dt f/m, x += dt v
 * (hf = ftm2v / 2 times the force clamp factor). */
static inline void atom_kick_drift(const nvdyn_atoms *a, int i, double dt, double hf)
{
  double *v = AT(a->v, i);
  nvdyn_kick(v, VS(a), AT(a->f, i), FS(a), hf * dt / atom_mass(a, i));
  nvdyn_drift(AT(a->x, i), XS(a), v, VS(a), dt);
}

/* The FIRE update of atom i with its sample's mode and coefficients from
 * fire_decide() (mode 0: the sample is stuck and not moved). */
static inline void atom_fire(const nvdyn_atoms *a, int i, int mode, const double *c, double ftm2v,
                             double fc)
{
  if (mode)
    nvdyn_fire_update(AT(a->x, i), XS(a), AT(a->v, i), VS(a), AT(a->f, i), FS(a), fc, mode == 2,
                      c[3], c[2] * ftm2v / atom_mass(a, i), c[0], c[1], c[2]);
}

/* Tight loops over the atoms for the common cases: every active sample in
 * a kick-drift stage (nve, csvr), or every active sample in a fire stage. */
static void kick_drift(const nvdyn_engine *e, const nvdyn_atoms *a)
{
  const signed char *kind = e->kind;
  const double *sdt = e->sdt;
  const double hf = 0.5 * e->ftm2v, fclamp = e->fclamp;
  for (int i = 0; i < a->natoms; i++) {
    const int s = a->sample[i];
    if (s >= 0 && kind[s] >= 0)
      atom_kick_drift(a, i, sdt[s], hf * nvdyn_clamp_factor(AT(a->f, i), FS(a), fclamp));
  }
}

static void fire_step(const nvdyn_engine *e, const nvdyn_atoms *a)
{
  const signed char *mode = e->mode;
  const double *coef = e->coef;
  const double ftm2v = e->ftm2v, fclamp = e->fclamp;
  for (int i = 0; i < a->natoms; i++) {
    const int s = a->sample[i];
    if (s >= 0 && mode[s]) /* mode: set for active fire samples only */
      atom_fire(a, i, mode[s], &coef[4 * s], ftm2v, nvdyn_clamp_factor(AT(a->f, i), FS(a), fclamp));
  }
}

/* Everything of pre_update between its hooks. */
static nvdyn_status pre_update_atoms(nvdyn_engine *e, const nvdyn_atoms *a)
{
  const int64_t step = e->step + 1;
  nvdyn_status rc = init_velocities(e, a, step);
  if (rc != NVDYN_OK) return rc;
  if (a->natoms > 0 && !a->id && !a->id32 && any_active(e, BIT(LANGEVIN)))
    return fail(e, NVDYN_ERR_NULL, "langevin stages need atom IDs (id or id32)");

  /* per-sample global parts, needing reductions: coef[4 s] and mode[s] */
  if (select_samples(e, BIT(NHC)) && (rc = sum_mvv(e, a)) != NVDYN_OK) return rc;
  int nnhc = 0;
  for (int s = 0; s < e->nsamples; s++)
    if (e->mode[s]) {
      e->coef[4 * s] = nhc_half_step(e, stage_of(e, s), &e->samples[s], e->acc[s * NACC] * e->mvv2e,
                                     e->acc[s * NACC + 1]);
      nnhc++;
    }
  /* the chain scales v before the drift: a sample whose scaled step has a
   * hazard fails before it moves */
  if (nnhc && safety_on(e)) {
    int nfailed = 0;
    if ((rc = fail_hazards(e, a, 1, &nfailed)) != NVDYN_OK) return rc;
    e->pending += nfailed;
  }
  int nfire = select_samples(e, BIT(FIRE) | BIT(FIRE_ASE));
  if (nfire) {
    if ((rc = fire_sums(e, a)) != NVDYN_OK) return rc;
    for (int s = 0; s < e->nsamples; s++) {
      if (!e->mode[s]) continue;
      if (stage_of(e, s)->style == FIRE)
        fire_decide(e, s, &e->acc[s * NACC], e->acc2[s * NACC]);
      else
        fire_ase_decide(e, s, &e->acc[s * NACC]);
    }
  }

  /* Langevin: O-step coefficients c1 = exp(-dt/damp) and sigma^2 m */
  for (int s = 0; s < e->nsamples; s++) {
    if (e->kind[s] != LANGEVIN) continue;
    const stage *sg = stage_of(e, s);
    const double c1 = exp(-stage_dt(e, sg) / sg->p[P_DAMP]);
    e->coef[4 * s] = c1;
    e->coef[4 * s + 1] = (1.0 - c1 * c1) * e->boltz * sg->p[P_TEMP] / e->mvv2e;
  }

  /* the atom pass: a tight loop in the common case of MD stages without
   * thermostat work here, else one loop over every style */
  if (!any_active(e, ALL_STYLES & ~(BIT(NVE) | BIT(CSVR)))) {
    kick_drift(e, a);
    return NVDYN_OK;
  }
  if (!any_active(e, ALL_STYLES & ~BIT(FIRE))) {
    fire_step(e, a);
    return NVDYN_OK;
  }
  const double fclamp = e->fclamp;
  memset(e->acc, 0, (size_t) e->nsamples * NACC * sizeof(double));
  for (int i = 0; i < a->natoms; i++) {
    const int s = active_sample(e, a, i);
    if (s < 0) continue;
    double *x = AT(a->x, i), *v = AT(a->v, i);
    const double *f = AT(a->f, i);
    const double fc = nvdyn_clamp_factor(f, FS(a), fclamp);
    const double dt = e->sdt[s];
    const double *c = &e->coef[4 * s];
    switch ((style) e->kind[s]) {
      case NHC:
        nvdyn_scale(v, VS(a), c[0]);
        /* fall through */
      case NVE:
      case CSVR:
        atom_kick_drift(a, i, dt, 0.5 * e->ftm2v * fc);
        break;
      case LANGEVIN: {
        const double m = atom_mass(a, i), c1 = c[0], sigma = sqrt(c[1] / m);
        nvdyn_rng r = nvdyn_rng_make((uint64_t) stage_of(e, s)->p[P_SEED], atom_id(a, i),
                                     (uint64_t) step, PURPOSE_LANGEVIN);
        double xi[3];
        nvdyn_rng_normal3(&r, xi);
        nvdyn_kick(v, VS(a), f, FS(a), 0.5 * dt * e->ftm2v * fc / m);
        nvdyn_drift(x, XS(a), v, VS(a), 0.5 * dt);
        nvdyn_ornstein_uhlenbeck(v, VS(a), c1, sigma, xi);
        nvdyn_drift(x, XS(a), v, VS(a), 0.5 * dt);
      } break;
      case FIRE:
        atom_fire(a, i, e->mode[s], c, e->ftm2v, fc);
        break;
      case FIRE_ASE:
        e->acc[s * NACC] += nvdyn_fire_ase_velocity(v, VS(a), f, FS(a), fc, e->mode[s], c[0], c[1],
                                                    e->samples[s].fdt);
        break;
      case NSTYLES:
        break;
    }
  }

  /* ASE FIRE: the step dr = dt v, limited to maxstep in norm over the sample */
  if (nfire && any_active(e, BIT(FIRE_ASE))) {
    if ((rc = reduce(e, e->acc, e->nsamples * NACC, NVDYN_REDUCE_SUM)) != NVDYN_OK) return rc;
    for (int s = 0; s < e->nsamples; s++) {
      const sample_state *ss = &e->samples[s];
      if (e->kind[s] != FIRE_ASE) continue;
      const double norm = ss->fdt * sqrt(e->acc[s * NACC]), maxstep = stage_of(e, s)->p[P_MAXSTEP];
      e->coef[4 * s] = norm > maxstep ? ss->fdt * maxstep / norm : ss->fdt;
    }
    for (int i = 0; i < a->natoms; i++) {
      const int s = a->sample[i];
      if (s >= 0 && e->kind[s] == FIRE_ASE)
        nvdyn_drift(AT(a->x, i), XS(a), AT(a->v, i), VS(a), e->coef[4 * s]);
    }
  }
  return NVDYN_OK;
}

nvdyn_status nvdyn_pre_update(nvdyn_engine *e, const nvdyn_atoms *a)
{
  nvdyn_status rc = begin_call(e, a);
  if (rc != NVDYN_OK) return rc;
  if ((rc = run_hooks(e, NVDYN_BEFORE_PRE_UPDATE, a, e->step + 1)) != NVDYN_OK) return rc;
  if ((rc = pre_update_atoms(e, a)) != NVDYN_OK) return rc;
  if ((rc = run_hooks(e, NVDYN_AFTER_PRE_UPDATE, a, e->step + 1)) != NVDYN_OK) return rc;
  return ok(e);
}

/* Everything of post_update between its hooks. */
static nvdyn_status post_update_atoms(nvdyn_engine *e, const nvdyn_atoms *a)
{
  const int64_t step = e->step + 1;
  const int nthermo = select_samples(e, BIT(CSVR) | BIT(NHC));
  if (!any_active(e, MD_STYLES)) return NVDYN_OK; /* FIRE works in pre_update only */
  const int safety = safety_on(e);
  int flagged = 0;
  run r = run_start();
  for (int i = 0; i < a->natoms; i++) {
    const int s = active_sample(e, a, i);
    if (s < 0 || e->kind[s] == FIRE || e->kind[s] == FIRE_ASE) continue;
    double *v = AT(a->v, i);
    const double *f = AT(a->f, i);
    const double m = atom_mass(a, i);
    const double dt = e->sdt[s], hdt = 0.5 * dt * e->ftm2v / m;
    const double fc = nvdyn_clamp_factor(f, FS(a), e->fclamp);
    nvdyn_kick(v, VS(a), f, FS(a), hdt * fc);
    /* the safety check of the next step, while v and f are at hand */
    if (safety && !e->mode[s])
      flagged |= nvdyn_step_hazard(v, VS(a), f, FS(a), fc, hdt, dt, e->maxmove);
    if (e->mode[s]) {
      run_at(e, &r, s);
      r.sum[0] += m * nvdyn_dot(v, VS(a), v, VS(a));
      r.sum[1] += 1.0;
    }
  }
  run_flush(e, &r);
  e->flagged |= flagged;
  if (!nthermo) return NVDYN_OK;
  nvdyn_status rc = reduce(e, e->acc, e->nsamples * NACC, NVDYN_REDUCE_SUM);
  if (rc != NVDYN_OK) return rc;
  for (int s = 0; s < e->nsamples; s++) {
    if (!e->mode[s]) continue;
    sample_state *ss = &e->samples[s];
    const stage *sg = stage_of(e, s);
    const double mvv = e->acc[s * NACC] * e->mvv2e, natoms = e->acc[s * NACC + 1];
    e->coef[4 * s] = sg->style == NHC ? nhc_half_step(e, sg, ss, mvv, natoms)
                                      : csvr_factor(e, sg, ss, s, 0.5 * mvv, natoms, step);
  }
  /* the thermostats' samples are checked after their scaling */
  e->flagged |= scale_velocities(e, a, safety);
  return NVDYN_OK;
}

nvdyn_status nvdyn_post_update(nvdyn_engine *e, const nvdyn_atoms *a)
{
  nvdyn_status rc = begin_call(e, a);
  if (rc != NVDYN_OK) return rc;
  if ((rc = run_hooks(e, NVDYN_BEFORE_POST_UPDATE, a, e->step + 1)) != NVDYN_OK) return rc;
  if ((rc = post_update_atoms(e, a)) != NVDYN_OK) return rc;
  if ((rc = run_hooks(e, NVDYN_AFTER_POST_UPDATE, a, e->step + 1)) != NVDYN_OK) return rc;
  return ok(e);
}

/* the stage has exit criteria / an energy-drift monitor */
static int has_criteria(const stage *sg)
{
  return sg->has[C_FMAX] || sg->has[C_DE] || sg->has[C_STEPS];
}

static int has_drift(const stage *sg)
{
  return sg->style == NVE && sg->p[P_DRIFT] > 0.0;
}

/* The next end_step checks sample s (its steps in the stage will be
 * steps + 1). A stage without criteria, maxsteps or drift monitor has
 * nothing to check. */
static int check_due(const nvdyn_engine *e, int s)
{
  const sample_state *ss = &e->samples[s];
  const stage *sg = &e->stages[ss->stage];
  const int64_t n = ss->steps + 1, every = (int64_t) sg->p[P_EVERY];
  const int64_t maxsteps = (int64_t) sg->p[P_MAXSTEPS];
  if (!has_criteria(sg) && maxsteps <= 0 && !has_drift(sg)) return 0;
  return n % every == 0 || (maxsteps > 0 && n >= maxsteps);
}

static int needs_energy(const nvdyn_engine *e, int s)
{
  const stage *sg = stage_of(e, s);
  return sg->has[C_DE] || has_drift(sg);
}

nvdyn_status nvdyn_checks_due(const nvdyn_engine *e, int *n)
{
  if (!e || !n) return NVDYN_ERR_NULL;
  *n = 0;
  for (int s = 0; s < e->nsamples; s++)
    if (e->samples[s].outcome == NVDYN_ACTIVE && check_due(e, s)) (*n)++;
  return NVDYN_OK;
}

nvdyn_status nvdyn_refresh_values(nvdyn_engine *e)
{
  if (!e) return NVDYN_ERR_NULL;
  e->refresh = 1;
  return ok(e);
}

nvdyn_status nvdyn_need_energy(const nvdyn_engine *e, int *need)
{
  if (!e || !need) return NVDYN_ERR_NULL;
  *need = 0;
  for (int s = 0; s < e->nsamples; s++)
    if (e->samples[s].outcome == NVDYN_ACTIVE && needs_energy(e, s) && check_due(e, s)) *need = 1;
  return NVDYN_OK;
}

/* criteria of a checked sample, all of which must hold */
static int criteria_hold(const stage *sg, const sample_state *ss)
{
  if (!has_criteria(sg)) return 0;
  if (sg->has[C_FMAX] && !(ss->fmax <= sg->until[C_FMAX])) return 0;
  if (sg->has[C_DE] && !(ss->has_pe_prev && fabs(ss->pe_check - ss->pe_prev) <= sg->until[C_DE]))
    return 0;
  if (sg->has[C_STEPS] && ss->steps < (int64_t) sg->until[C_STEPS]) return 0;
  return 1;
}

/* Statistics of active samples: acc[s] = (sum m v^2, PE, natoms) summed,
 * acc2[s] = (max |f|^2, largest atom hazard, PE given) maximised. */
static nvdyn_status sample_stats(nvdyn_engine *e, const nvdyn_atoms *a)
{
  memset(e->acc, 0, (size_t) e->nsamples * NACC * sizeof(double));
  memset(e->acc2, 0, (size_t) e->nsamples * NACC * sizeof(double));
  run r = run_start();
  for (int i = 0; i < a->natoms; i++) {
    const int s = active_sample(e, a, i);
    if (s < 0) continue;
    const double *v = AT(a->v, i), *f = AT(a->f, i);
    run_at(e, &r, s);
    const double f2 = nvdyn_dot(f, FS(a), f, FS(a));
    r.sum[0] += atom_mass(a, i) * nvdyn_dot(v, VS(a), v, VS(a));
    if (a->pe) {
      r.sum[1] += a->pe[i];
      r.max[2] = 1.0;
    }
    r.sum[2] += 1.0;
    if (f2 > r.max[0]) r.max[0] = f2;
    const double h = atom_hazard(e, a, i, s, 1.0);
    if (h > r.max[1]) r.max[1] = h;
  }
  run_flush(e, &r);
  nvdyn_status rc = reduce(e, e->acc, e->nsamples * NACC, NVDYN_REDUCE_SUM);
  if (rc != NVDYN_OK) return rc;
  return reduce(e, e->acc2, e->nsamples * NACC, NVDYN_REDUCE_MAX);
}

/* 1 if an atom of an active sample whose style is in mask has a hazard
 * (sample_stats() then finds which samples) */
static int any_hazard(const nvdyn_engine *e, const nvdyn_atoms *a, unsigned mask)
{
  int bad = 0;
  for (int i = 0; i < a->natoms; i++) {
    const int s = a->sample[i];
    if (s >= 0 && e->kind[s] >= 0 && (BIT(e->kind[s]) & mask)) bad |= atom_hazard(e, a, i, s, 1.0);
  }
  return bad;
}

/* The safety checks run: non-finite values (nan) or unsafe steps (maxmove) */
static int safety_on(const nvdyn_engine *e)
{
  return e->nan_check || e->maxmove > 0.0;
}

/* Fail every active sample with mode[s] != 0 one of whose atoms has a
 * hazard, before its atoms move, their velocities scaled by coef[4 s] if
 * scaled; *nfailed (if not NULL) receives their number. */
static nvdyn_status fail_hazards(nvdyn_engine *e, const nvdyn_atoms *a, int scaled, int *nfailed)
{
  memset(e->acc2, 0, (size_t) e->nsamples * NACC * sizeof(double));
  for (int i = 0; i < a->natoms; i++) {
    const int s = active_sample(e, a, i);
    if (s < 0 || !e->mode[s]) continue;
    const double h = atom_hazard(e, a, i, s, scaled ? e->coef[4 * s] : 1.0);
    if (h > e->acc2[s * NACC]) e->acc2[s * NACC] = h;
  }
  nvdyn_status rc = reduce(e, e->acc2, e->nsamples * NACC, NVDYN_REDUCE_MAX);
  if (rc != NVDYN_OK) return rc;
  int n = 0;
  for (int s = 0; s < e->nsamples; s++) {
    const double h = e->acc2[s * NACC];
    if (!e->mode[s] || h == 0.0 || e->samples[s].outcome != NVDYN_ACTIVE) continue;
    finish_sample(&e->samples[s], NVDYN_FAILED,
                  h >= 2.0 ? NVDYN_REASON_NAN : NVDYN_REASON_UNSTABLE);
    sync_sample(e, s);
    n++;
  }
  if (nfailed) *nfailed = n;
  return NVDYN_OK;
}

nvdyn_status nvdyn_check_atoms(nvdyn_engine *e, const nvdyn_atoms *a, int *nfailed)
{
  nvdyn_status rc = begin_call(e, a);
  if (rc != NVDYN_OK) return rc;
  if (nfailed) *nfailed = 0;
  if (!safety_on(e)) return ok(e);
  double bad = any_hazard(e, a, ALL_STYLES);
  if ((rc = reduce(e, &bad, 1, NVDYN_REDUCE_MAX)) != NVDYN_OK) return rc;
  if (bad == 0.0) return ok(e);
  for (int s = 0; s < e->nsamples; s++) e->mode[s] = e->kind[s] >= 0;
  rc = fail_hazards(e, a, 0, nfailed);
  return rc != NVDYN_OK ? rc : ok(e);
}

nvdyn_status nvdyn_end_step(nvdyn_engine *e, const nvdyn_atoms *a, int *nchanged)
{
  nvdyn_status rc = begin_call(e, a);
  if (rc != NVDYN_OK) return rc;
  int any_check = 0, energy = 0;
  for (int s = 0; s < e->nsamples; s++) {
    if (e->samples[s].outcome != NVDYN_ACTIVE) continue;
    if (check_due(e, s)) {
      any_check = 1;
      energy |= needs_energy(e, s);
    }
  }
  if (energy && a->natoms > 0 && !a->pe)
    return fail(e, NVDYN_ERR_NULL,
                "an energy criterion or drift monitor is due on step %lld: "
                "per-atom energies (pe) are needed",
                (long long) (e->step + 1));
  const int refresh = e->refresh;
  e->refresh = 0;
  /* without checks, the safety checks need the statistics pass only when
   * post_update flagged an MD atom (positions follow from checked
   * velocities and forces) or a scan of the FIRE atoms finds a hazard */
  const int safety = safety_on(e);
  int stats = any_check || refresh;
  const int flagged = e->flagged;
  e->flagged = 0;
  if (!stats && safety) {
    const unsigned fire = BIT(FIRE) | BIT(FIRE_ASE);
    double bad = flagged || (any_active(e, fire) && any_hazard(e, a, fire));
    if ((rc = reduce(e, &bad, 1, NVDYN_REDUCE_MAX)) != NVDYN_OK) return rc;
    stats = bad != 0.0;
  }
  if (stats && (rc = sample_stats(e, a)) != NVDYN_OK) return rc;
  int changed = 0, entered = 0;
  e->nconverged = 0;
  for (int s = 0; s < e->nsamples; s++) {
    sample_state *ss = &e->samples[s];
    if (ss->outcome != NVDYN_ACTIVE) continue;
    const stage *sg = &e->stages[ss->stage];
    const int due = check_due(e, s);
    ss->steps++;
    e->stage_steps[(size_t) s * (size_t) e->nstages + (size_t) ss->stage]++;
    const double *acc = &e->acc[s * NACC], *mx = &e->acc2[s * NACC];
    if (stats && safety && mx[1] != 0.0) {
      finish_sample(ss, NVDYN_FAILED, mx[1] >= 2.0 ? NVDYN_REASON_NAN : NVDYN_REASON_UNSTABLE);
      changed++;
      continue;
    }
    if (ss->stuck) {
      finish_sample(ss, NVDYN_TIMEOUT, NVDYN_REASON_UPHILL);
      changed++;
      continue;
    }
    if (!due && !refresh) continue;
    ss->natoms = acc[2];
    ss->ke = 0.5 * e->mvv2e * acc[0];
    ss->fmax = sqrt(mx[0]);
    const double dof = sample_dof(sg, ss->natoms);
    ss->temp = dof > 0.0 ? 2.0 * ss->ke / (dof * e->boltz) : 0.0;
    if (mx[2] != 0.0) ss->pe = acc[1];
    if (!due) continue;
    if (mx[2] != 0.0) {
      if (ss->pe_in_stage) {
        ss->pe_prev = ss->pe_check;
        ss->has_pe_prev = 1;
      }
      ss->pe_check = acc[1];
      ss->pe_in_stage = 1;
      if (has_drift(sg)) {
        const double etot = ss->pe + ss->ke;
        if (!ss->has_e0) {
          ss->e0 = etot;
          ss->has_e0 = 1;
        }
        ss->drift = fabs(etot - ss->e0) / ss->natoms;
        if (!(ss->drift <= sg->p[P_DRIFT])) {
          finish_sample(ss, NVDYN_FAILED, NVDYN_REASON_DRIFT);
          changed++;
          continue;
        }
      }
    }
    if (criteria_hold(sg, ss)) {
      e->converged[e->nconverged++] = s;
      enter_stage(e, ss, ss->stage + 1);
      changed++;
      entered++;
    } else if (sg->p[P_MAXSTEPS] > 0 && ss->steps >= (int64_t) sg->p[P_MAXSTEPS]) {
      finish_sample(ss, NVDYN_TIMEOUT, NVDYN_REASON_MAXSTEPS);
      changed++;
    }
  }
  changed += e->pending;
  e->pending = 0;
  sync_all(e);
  /* samples that entered an MD stage keeping their velocities take its
   * time step from the next step on: checked with it before they move */
  if (entered && safety) {
    for (int s = 0; s < e->nsamples; s++) e->mode[s] = 0;
    for (int k = 0; k < e->nconverged; k++) {
      const int s = e->converged[k];
      e->mode[s] = e->kind[s] >= 0 && (BIT(e->kind[s]) & MD_STYLES) && !e->samples[s].vinit;
    }
    if ((rc = fail_hazards(e, a, 0, NULL)) != NVDYN_OK) return rc; /* counted already */
  }
  e->step++;
  if (e->nconverged && (rc = run_hooks(e, NVDYN_ON_CONVERGE, a, e->step)) != NVDYN_OK) return rc;
  if ((rc = run_hooks(e, NVDYN_AFTER_STEP, a, e->step)) != NVDYN_OK) return rc;
  if (nchanged) *nchanged = changed;
  return ok(e);
}

nvdyn_status nvdyn_step(nvdyn_engine *e, const nvdyn_atoms *a, nvdyn_force_fn force, void *user,
                        int *nchanged)
{
  if (!e) return NVDYN_ERR_NULL;
  if (!force) return fail(e, NVDYN_ERR_NULL, "force callback is NULL");
  nvdyn_status rc;
  if ((rc = nvdyn_begin_step(e, a)) != NVDYN_OK) return rc;
  if ((rc = nvdyn_pre_update(e, a)) != NVDYN_OK) return rc;
  if ((rc = nvdyn_begin_compute(e, a)) != NVDYN_OK) return rc;
  int frc = force(a, user);
  if (frc != 0)
    return fail(e, NVDYN_ERR_CALLBACK, "force callback returned %d on step %lld", frc,
                (long long) (e->step + 1));
  if ((rc = nvdyn_end_compute(e, a)) != NVDYN_OK) return rc;
  if ((rc = nvdyn_post_update(e, a)) != NVDYN_OK) return rc;
  return nvdyn_end_step(e, a, nchanged);
}
