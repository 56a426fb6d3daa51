/* NVDYN core: engines, their settings, errors and the reduction callback. */
#include "internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Record the message of a failed call and return its status. Calls that
 * take a const engine use it too: the message buffer is the only thing they
 * write (engines are never defined const: they come from
 * nvdyn_engine_create). */
nvdyn_status nvdyn_i_fail(const nvdyn_engine *e, nvdyn_status st, const char *fmt, ...)
{
  nvdyn_engine *w = (nvdyn_engine *) e;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(w->error, sizeof(w->error), fmt, ap);
  va_end(ap);
  return st;
}

nvdyn_status nvdyn_i_ok(nvdyn_engine *e)
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
  (*out)->units.ftm2v = (*out)->units.mvv2e = (*out)->units.boltz = 1.0;
  (*out)->nan_check = 1;
  return NVDYN_OK;
}

void nvdyn_engine_destroy(nvdyn_engine *e)
{
  if (!e) return;
  nvdyn_i_free_samples(e);
  free(e->stages);
  free(e->hooks);
  free(e);
}

const char *nvdyn_engine_last_error(const nvdyn_engine *e)
{
  return e ? e->error : "NULL engine";
}

/* ---- settings ------------------------------------------------------------ */

enum { E_DT, E_FTM2V, E_MVV2E, E_BOLTZ, E_FCLAMP, E_NAN, E_MAXMOVE, NENGINE };
static const char *const engine_names[NENGINE] = {"dt",     "ftm2v", "mvv2e",  "boltz",
                                                  "fclamp", "nan",   "maxmove"};

static int engine_index(const char *name)
{
  for (int k = 0; k < NENGINE; k++)
    if (strcmp(name, engine_names[k]) == 0) return k;
  return -1;
}

nvdyn_status nvdyn_engine_set(nvdyn_engine *e, const char *name, double value)
{
  if (!e) return NVDYN_ERR_NULL;
  if (!name) return nvdyn_i_fail(e, NVDYN_ERR_NULL, "engine setting name is NULL");
  int k = engine_index(name);
  if (k < 0) return nvdyn_i_fail(e, NVDYN_ERR_UNKNOWN, "unknown engine setting '%s'", name);
  if (!isfinite(value))
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "engine setting %s must be finite, got %g", name,
                        value);
  if (k <= E_BOLTZ && !(value > 0.0))
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "engine setting %s must be > 0, got %g", name, value);
  if ((k == E_FCLAMP || k == E_MAXMOVE) && value < 0.0)
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "engine setting %s must be >= 0, got %g", name, value);
  if (k == E_NAN && value != 0.0 && value != 1.0)
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "engine setting nan must be 0 or 1, got %g", value);
  double *slot[NENGINE] = {&e->dt,           &e->units.ftm2v,  &e->units.mvv2e,
                           &e->units.boltz,  &e->units.fclamp, NULL,
                           &e->units.maxmove};
  if (k == E_NAN)
    e->nan_check = (int) value;
  else
    *slot[k] = value;
  if (k == E_DT) nvdyn_i_compile_stages(e); /* stage time steps may follow the engine's */
  return nvdyn_i_ok(e);
}

nvdyn_status nvdyn_engine_get(const nvdyn_engine *e, const char *name, double *value)
{
  if (!e || !name || !value) return NVDYN_ERR_NULL;
  const nvdyn_units *u = &e->units;
  const double v[NENGINE] = {e->dt,     u->ftm2v,     u->mvv2e,  u->boltz,
                             u->fclamp, e->nan_check, u->maxmove};
  int k = engine_index(name);
  if (k < 0) return nvdyn_i_fail(e, NVDYN_ERR_UNKNOWN, "unknown engine setting '%s'", name);
  *value = v[k];
  return NVDYN_OK;
}

nvdyn_status nvdyn_engine_set_reduce(nvdyn_engine *e, nvdyn_reduce_fn fn, void *user)
{
  if (!e) return NVDYN_ERR_NULL;
  e->reduce_fn = fn;
  e->reduce_user = user;
  return nvdyn_i_ok(e);
}

nvdyn_status nvdyn_i_reduce(nvdyn_engine *e, double *buf, int n, nvdyn_reduce_op op)
{
  if (!e->reduce_fn || n == 0) return NVDYN_OK;
  int rc = e->reduce_fn(buf, n, op, e->reduce_user);
  if (rc != 0) return nvdyn_i_fail(e, NVDYN_ERR_CALLBACK, "reduction callback returned %d", rc);
  return NVDYN_OK;
}

/* The safety checks run: non-finite values (nan) or unsafe steps (maxmove) */
int nvdyn_i_safety_on(const nvdyn_engine *e)
{
  return e->nan_check || e->units.maxmove > 0.0;
}

nvdyn_status nvdyn_engine_set_step(nvdyn_engine *e, int64_t step)
{
  if (!e) return NVDYN_ERR_NULL;
  if (step < 0)
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "step must be >= 0, got %lld", (long long) step);
  e->step = step;
  return nvdyn_i_ok(e);
}

nvdyn_status nvdyn_engine_step(const nvdyn_engine *e, int64_t *step)
{
  if (!e || !step) return NVDYN_ERR_NULL;
  *step = e->step;
  return NVDYN_OK;
}
