/* NVDYN core: samples, one at a time (reset, retire, fail) and all of them
 * (set_nsamples, the per-sample getters); the active list. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void nvdyn_i_free_samples(nvdyn_engine *e)
{
  void *arrays[] = {e->samples, e->stage_steps, e->active,  e->due,    e->converged,
                    e->kind,    e->sdt,         e->coef,    e->sel,    e->pos,
                    e->acc,     e->acc2,        e->touched, e->kstages};
  for (size_t k = 0; k < sizeof(arrays) / sizeof(arrays[0]); k++) free(arrays[k]);
  e->samples = NULL;
  e->stage_steps = NULL;
  e->active = e->converged = e->sel = e->pos = NULL;
  e->kind = e->due = NULL;
  e->sdt = e->acc = e->acc2 = NULL;
  e->touched = NULL;
  e->coef = NULL;
  e->kstages = NULL;
  e->nsamples = e->nactive = e->nconverged = e->nsel = 0;
  e->sel_mask = 0;
}

nvdyn_status nvdyn_i_check_slot(const nvdyn_engine *e, int sample)
{
  if (sample < 0 || sample >= e->nsamples)
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "sample index %d out of range [0, %d)", sample,
                        e->nsamples);
  return NVDYN_OK;
}

void nvdyn_i_sync_slot(nvdyn_engine *e, int s)
{
  const nvdyn_sample *ss = &e->samples[s];
  const int active = ss->outcome == NVDYN_ACTIVE;
  const int was = e->kind[s] >= 0;
  e->kind[s] = (signed char) (active ? e->kstages[ss->stage].style : -1);
  e->sdt[s] = active ? (nvdyn_is_fire(e->kind[s]) ? ss->fdt : e->kstages[ss->stage].dt) : 0.0;
  if (active && !was)
    e->dirty |= 2;
  else if (active || was)
    e->dirty |= 1;
}

/* The active list: compacted when samples only left it (cost: the active
 * samples), rebuilt from every slot when one joined it. */
void nvdyn_i_sync_active(nvdyn_engine *e)
{
  if (!e->dirty) return;
  int n = 0;
  if (e->dirty & 2) {
    for (int s = 0; s < e->nsamples; s++)
      if (e->kind[s] >= 0) e->active[n++] = s;
  } else {
    for (int k = 0; k < e->nactive; k++)
      if (e->kind[e->active[k]] >= 0) e->active[n++] = e->active[k];
  }
  e->nactive = n;
  memset(e->nstyle, 0, sizeof(e->nstyle));
  for (int k = 0; k < n; k++) e->nstyle[(int) e->kind[e->active[k]]]++;
  e->dirty = 0;
  e->active_version++;
}

/* a fresh sample with key `key` entering stage st in slot s */
static void reset_slot(nvdyn_engine *e, int s, int st, uint64_t key)
{
  nvdyn_sample *ss = &e->samples[s];
  memset(ss, 0, sizeof(*ss));
  ss->key = key;
  ss->pe = ss->fmax = ss->ke = ss->natoms = ss->temp = ss->drift = NAN;
  memset(e->stage_steps + (size_t) s * (size_t) e->nstages, 0,
         (size_t) e->nstages * sizeof(int64_t));
  nvdyn_enter_stage(e->kstages, e->nstages, ss, st);
  e->vinit_due |= ss->vinit;
  nvdyn_i_sync_slot(e, s);
}

nvdyn_status nvdyn_engine_set_nsamples(nvdyn_engine *e, int nsamples)
{
  if (!e) return NVDYN_ERR_NULL;
  nvdyn_status rc = nvdyn_i_validate_stages(e);
  if (rc != NVDYN_OK) return rc;
  if (nsamples < 1)
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "number of samples must be >= 1, got %d", nsamples);
  nvdyn_i_free_samples(e);
  e->checked.generation = 0; /* sample indices are checked against nsamples */
  const size_t n = (size_t) nsamples;
  /* each sample's first 64 bytes (what every step touches) in one line */
  _Static_assert(sizeof(nvdyn_sample) % 64 == 0, "nvdyn_sample: a multiple of 64 bytes");
  e->samples = aligned_alloc(64, n * sizeof(nvdyn_sample));
  if (e->samples) memset(e->samples, 0, n * sizeof(nvdyn_sample));
  e->stage_steps = calloc(n * (size_t) e->nstages, sizeof(int64_t));
  e->active = calloc(n, sizeof(int));
  e->due = calloc(n, 1);
  e->converged = calloc(n, sizeof(int));
  e->kind = calloc(n, 1);
  e->sdt = calloc(n, sizeof(double));
  e->coef = calloc(n, sizeof(nvdyn_step_coef));
  e->sel = calloc(n, sizeof(int));
  e->pos = malloc(n * sizeof(int));
  e->acc = calloc(n * NACC, sizeof(double));
  e->acc2 = calloc(n * NACC, sizeof(double));
  e->touched = calloc(n, 1);
  e->kstages = calloc((size_t) e->nstages, sizeof(nvdyn_stage_params));
  if (!e->samples || !e->stage_steps || !e->active || !e->due || !e->converged || !e->kind ||
      !e->sdt || !e->coef || !e->sel || !e->pos || !e->acc || !e->acc2 || !e->touched ||
      !e->kstages) {
    nvdyn_i_free_samples(e);
    return nvdyn_i_fail(e, NVDYN_ERR_NOMEM, "out of memory for %d samples", nsamples);
  }
  e->nsamples = nsamples;
  for (int s = 0; s < nsamples; s++) {
    e->pos[s] = -1;
    e->kind[s] = -1;
  }
  nvdyn_i_compile_stages(e);
  for (int s = 0; s < nsamples; s++) reset_slot(e, s, 0, (uint64_t) s);
  nvdyn_i_sync_active(e);
  return nvdyn_i_ok(e);
}

/* a copy of `old` (n entries of `size` bytes) grown to m entries, the new
 * ones zero; NULL when out of memory (old is kept) */
static void *grown(void *old, size_t n, size_t m, size_t size)
{
  void *p = calloc(m, size);
  if (p && n) memcpy(p, old, n * size);
  return p;
}

nvdyn_status nvdyn_engine_grow(nvdyn_engine *e, int nsamples)
{
  if (!e) return NVDYN_ERR_NULL;
  if (e->nsamples == 0) return nvdyn_i_fail(e, NVDYN_ERR_STATE, "no samples set");
  if (nsamples <= e->nsamples) return nvdyn_i_ok(e);
  const size_t n = (size_t) e->nsamples, m = (size_t) nsamples;
  /* the per-slot arrays: the engine's pointer to each (read and set
   * through memcpy: pointers of other types), entries per slot, bytes per
   * entry */
  struct {
    void *field;
    size_t per, size;
  } const arrays[] = {{&e->stage_steps, (size_t) e->nstages, sizeof(int64_t)},
                      {&e->active, 1, sizeof(int)},
                      {&e->due, 1, 1},
                      {&e->converged, 1, sizeof(int)},
                      {&e->kind, 1, 1},
                      {&e->sdt, 1, sizeof(double)},
                      {&e->coef, 1, sizeof(nvdyn_step_coef)},
                      {&e->sel, 1, sizeof(int)},
                      {&e->pos, 1, sizeof(int)},
                      {&e->acc, NACC, sizeof(double)},
                      {&e->acc2, NACC, sizeof(double)},
                      {&e->touched, 1, 1}};
  enum { NARRAYS = sizeof(arrays) / sizeof(arrays[0]) };
  void *copies[NARRAYS], *old[NARRAYS];
  nvdyn_sample *samples = aligned_alloc(64, m * sizeof(nvdyn_sample));
  int ok = samples != NULL;
  if (samples) {
    memcpy(samples, e->samples, n * sizeof(nvdyn_sample));
    memset(samples + n, 0, (m - n) * sizeof(nvdyn_sample));
  }
  for (int k = 0; k < NARRAYS; k++) {
    memcpy(&old[k], arrays[k].field, sizeof(void *));
    copies[k] = grown(old[k], n * arrays[k].per, m * arrays[k].per, arrays[k].size);
    ok = ok && copies[k];
  }
  if (!ok) {
    free(samples);
    for (int k = 0; k < NARRAYS; k++) free(copies[k]);
    return nvdyn_i_fail(e, NVDYN_ERR_NOMEM, "out of memory for %d samples", nsamples);
  }
  free(e->samples);
  e->samples = samples;
  for (int k = 0; k < NARRAYS; k++) {
    free(old[k]);
    memcpy(arrays[k].field, &copies[k], sizeof(void *));
  }
  for (size_t s = n; s < m; s++) {
    e->samples[s].outcome = NVDYN_EMPTY;
    e->samples[s].stage = -1;
    e->kind[s] = -1;
    e->pos[s] = -1;
  }
  e->nsamples = nsamples;
  return nvdyn_i_ok(e);
}

nvdyn_status nvdyn_engine_nsamples(const nvdyn_engine *e, int *nsamples)
{
  if (!e || !nsamples) return NVDYN_ERR_NULL;
  *nsamples = e->nsamples;
  return NVDYN_OK;
}

/* ---- one sample ------------------------------------------------------------ */

nvdyn_status nvdyn_sample_reset(nvdyn_engine *e, int sample, int stage, uint64_t key)
{
  if (!e) return NVDYN_ERR_NULL;
  nvdyn_status rc = nvdyn_i_check_slot(e, sample);
  if (rc != NVDYN_OK) return rc;
  if (stage < 0 || stage >= e->nstages)
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "stage index %d out of range [0, %d)", stage,
                        e->nstages);
  reset_slot(e, sample, stage, key);
  nvdyn_i_sync_active(e);
  return nvdyn_i_ok(e);
}

nvdyn_status nvdyn_engine_set_stage_range(nvdyn_engine *e, int first, int end)
{
  if (!e) return NVDYN_ERR_NULL;
  if (first < 0 || end <= first || end > e->nstages)
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE,
                        "stage range [%d, %d) is not a non-empty range of the %d stages", first,
                        end, e->nstages);
  e->run_first = first;
  e->run_end = end;
  return nvdyn_i_ok(e);
}

nvdyn_status nvdyn_sample_resume(nvdyn_engine *e, int sample)
{
  if (!e) return NVDYN_ERR_NULL;
  nvdyn_status rc = nvdyn_i_check_slot(e, sample);
  if (rc != NVDYN_OK) return rc;
  nvdyn_sample *ss = &e->samples[sample];
  const int end = e->run_end ? e->run_end : e->nstages;
  if (ss->outcome != NVDYN_DONE || ss->stage >= e->nstages)
    return nvdyn_i_fail(e, NVDYN_ERR_STATE,
                        "sample %d did not finish a range of the stages before stage %d", sample,
                        e->nstages);
  if (ss->stage < e->run_first || ss->stage >= end)
    return nvdyn_i_fail(e, NVDYN_ERR_STATE,
                        "sample %d resumes in stage %d, this engine runs stages [%d, %d)", sample,
                        ss->stage, e->run_first, end);
  ss->outcome = NVDYN_ACTIVE;
  nvdyn_enter_stage(e->kstages, e->nstages, ss, ss->stage);
  e->vinit_due |= ss->vinit;
  nvdyn_i_sync_slot(e, sample);
  nvdyn_i_sync_active(e);
  return nvdyn_i_ok(e);
}

nvdyn_status nvdyn_sample_retire(nvdyn_engine *e, int sample)
{
  if (!e) return NVDYN_ERR_NULL;
  nvdyn_status rc = nvdyn_i_check_slot(e, sample);
  if (rc != NVDYN_OK) return rc;
  nvdyn_sample *ss = &e->samples[sample];
  ss->outcome = NVDYN_EMPTY;
  ss->stage = -1;
  ss->steps = 0;
  ss->reason = NVDYN_REASON_NONE;
  nvdyn_i_sync_slot(e, sample);
  nvdyn_i_sync_active(e);
  return nvdyn_i_ok(e);
}

nvdyn_status nvdyn_sample_key(const nvdyn_engine *e, int sample, uint64_t *key)
{
  if (!e || !key) return NVDYN_ERR_NULL;
  nvdyn_status rc = nvdyn_i_check_slot(e, sample);
  if (rc != NVDYN_OK) return rc;
  *key = e->samples[sample].key;
  return NVDYN_OK;
}

nvdyn_status nvdyn_sample_fail(nvdyn_engine *e, int sample, int reason)
{
  if (!e) return NVDYN_ERR_NULL;
  nvdyn_status rc = nvdyn_i_check_slot(e, sample);
  if (rc != NVDYN_OK) return rc;
  if (reason != NVDYN_REASON_NAN && reason != NVDYN_REASON_UNSTABLE &&
      reason != NVDYN_REASON_DRIFT && reason != NVDYN_REASON_ESCAPED && reason != NVDYN_REASON_LOST)
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "%d is not a reason for a sample to fail", reason);
  nvdyn_sample *ss = &e->samples[sample];
  if (ss->outcome != NVDYN_ACTIVE)
    return nvdyn_i_fail(e, NVDYN_ERR_STATE, "sample %d is not active (outcome %d)", sample,
                        ss->outcome);
  nvdyn_finish(ss, NVDYN_FAILED, reason);
  nvdyn_i_sync_slot(e, sample);
  nvdyn_i_sync_active(e);
  return nvdyn_i_ok(e);
}

/* ---- getters ----------------------------------------------------------------- */

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

nvdyn_status nvdyn_get_sample_stage_steps(const nvdyn_engine *e, int sample, int64_t *out)
{
  if (!e || !out) return NVDYN_ERR_NULL;
  nvdyn_status rc = nvdyn_i_check_slot(e, sample);
  if (rc != NVDYN_OK) return rc;
  nvdyn_i_stage_steps(e, sample, out);
  return NVDYN_OK;
}

void nvdyn_i_stage_steps(const nvdyn_engine *e, int s, int64_t *out)
{
  const nvdyn_sample *ss = &e->samples[s];
  memcpy(out, e->stage_steps + (size_t) s * (size_t) e->nstages,
         (size_t) e->nstages * sizeof(int64_t));
  if (ss->stage >= 0 && ss->stage < e->nstages) out[ss->stage] += ss->steps;
}

static double sample_value(const nvdyn_engine *e, const nvdyn_sample *ss, nvdyn_value which)
{
  const int fire =
      ss->stage >= 0 && ss->stage < e->nstages && nvdyn_is_fire(e->kstages[ss->stage].style);
  switch (which) {
    case NVDYN_VALUE_ENERGY:
      return ss->pe;
    case NVDYN_VALUE_FMAX:
      return ss->fmax;
    case NVDYN_VALUE_KINETIC:
      return ss->ke;
    case NVDYN_VALUE_NATOMS:
      return ss->natoms;
    case NVDYN_VALUE_TEMPERATURE:
      return ss->temp;
    case NVDYN_VALUE_DRIFT:
      return ss->drift;
    case NVDYN_VALUE_THERMOSTAT:
      return ss->reservoir;
    case NVDYN_VALUE_FIRE_DT:
      return fire ? ss->fdt : NAN;
    case NVDYN_VALUE_FIRE_ALPHA:
      return fire ? ss->alpha : NAN;
  }
  return NAN;
}

nvdyn_status nvdyn_get_sample_values(const nvdyn_engine *e, nvdyn_value which, double *out)
{
  if (!e || !out) return NVDYN_ERR_NULL;
  if ((int) which < 0 || which > NVDYN_VALUE_FIRE_ALPHA)
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "unknown per-sample value %d", (int) which);
  for (int s = 0; s < e->nsamples; s++) out[s] = sample_value(e, &e->samples[s], which);
  return NVDYN_OK;
}

nvdyn_status nvdyn_get_converged(const nvdyn_engine *e, int *n, int *samples)
{
  if (!e || !n) return NVDYN_ERR_NULL;
  *n = e->nconverged;
  if (samples && e->nconverged) memcpy(samples, e->converged, (size_t) e->nconverged * sizeof(int));
  return NVDYN_OK;
}
