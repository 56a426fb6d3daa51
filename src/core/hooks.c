/* NVDYN core: hooks. */
#include "internal.h"

#include <stdlib.h>

nvdyn_status nvdyn_hook_add(nvdyn_engine *e, nvdyn_hook_point point, int64_t every,
                            nvdyn_hook_fn fn, void *user)
{
  if (!e) return NVDYN_ERR_NULL;
  if (!fn) return nvdyn_i_fail(e, NVDYN_ERR_NULL, "hook function is NULL");
  if ((int) point < 0 || (int) point >= NVDYN_NHOOK_POINTS)
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "hook point %d out of range [0, %d)", (int) point,
                        NVDYN_NHOOK_POINTS);
  if (every < 1)
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "hook frequency must be >= 1, got %lld",
                        (long long) every);
  nvdyn_i_hook *grown = realloc(e->hooks, (size_t) (e->nhooks + 1) * sizeof(nvdyn_i_hook));
  if (!grown) return nvdyn_i_fail(e, NVDYN_ERR_NOMEM, "out of memory adding a hook");
  e->hooks = grown;
  e->hooks[e->nhooks++] = (nvdyn_i_hook){point, every, fn, user};
  return nvdyn_i_ok(e);
}

static const char *const point_names[NVDYN_NHOOK_POINTS] = {
    "BEFORE_STEP",       "BEFORE_PRE_UPDATE", "AFTER_PRE_UPDATE",
    "BEFORE_COMPUTE",    "AFTER_COMPUTE",     "BEFORE_POST_UPDATE",
    "AFTER_POST_UPDATE", "ON_CONVERGE",       "AFTER_STEP"};

/* Fire the hooks of a point for the step being executed (e->step + 1, or
 * e->step once end_step has advanced it: see the callers). */
nvdyn_status nvdyn_i_run_hooks(nvdyn_engine *e, nvdyn_hook_point point, const nvdyn_atoms *a,
                               int64_t step)
{
  nvdyn_hook_info info = {point, step, a, 0, NULL};
  if (point == NVDYN_ON_CONVERGE) {
    info.nconverged = e->nconverged;
    info.converged = e->converged;
  }
  for (int k = 0; k < e->nhooks; k++) {
    const nvdyn_i_hook *h = &e->hooks[k];
    if (h->point != point || step % h->every != 0) continue;
    int rc = h->fn(e, &info, h->user);
    if (rc != 0)
      return nvdyn_i_fail(e, NVDYN_ERR_CALLBACK, "hook %d at %s returned %d on step %lld", k,
                          point_names[point], rc, (long long) step);
  }
  return NVDYN_OK;
}
