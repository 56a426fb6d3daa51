/* NVDYN core internals: the engine's layout and the functions its source
 * files share (prefix nvdyn_i_). Not installed, not part of the ABI. */
#ifndef NVDYN_INTERNAL_H
#define NVDYN_INTERNAL_H

#include "kernels/atom.h"
#include "kernels/sample.h"
#include "nvdyn.h"

#include <stddef.h>
#include <stdint.h>

/* ---- the table (params.def) ---------------------------------------------- */

#define S(id) (1u << NVDYN_STYLE_##id)
#define S_ALL (S(FIRE) | S(FIRE_ASE) | S(NVE) | S(LANGEVIN) | S(CSVR) | S(NHC))
#define S_MD (S(NVE) | S(LANGEVIN) | S(CSVR) | S(NHC))
#define S_THERMOSTATS (S(LANGEVIN) | S(CSVR) | S(NHC))
#define S_STOCHASTIC (S(LANGEVIN) | S(CSVR))
#define S_FIRE_ANY (S(FIRE) | S(FIRE_ASE))

enum nvdyn_param_id {
#define NVDYN_PARAM(id, name, styles, type, lo, lo_open, hi, def, required, description) P_##id,
#include "params.def"
  NPARAMS
};
enum nvdyn_criterion_id {
#define NVDYN_CRITERION(id, name, type, lo, lo_open, hi, energy, description) C_##id,
#include "params.def"
  NCRITERIA
};

typedef struct nvdyn_i_param {
  const char *name, *description;
  unsigned styles, required;
  int type, lo_open, energy; /* energy: a criterion that needs per-atom energies */
  double lo, hi, def;
} nvdyn_i_param;
extern const nvdyn_i_param nvdyn_i_params[NPARAMS];
extern const nvdyn_i_param nvdyn_i_criteria[NCRITERIA];
extern const char *const nvdyn_i_style_names[NVDYN_NSTYLES];

/* A stage as configured: parameter values (with what was set) and
 * criteria; nvdyn_i_compile_stage() resolves it into the kernels' view. */
typedef struct nvdyn_i_stage {
  int style;
  double p[NPARAMS];
  unsigned char set[NPARAMS];
  double until[NCRITERIA];
  unsigned char has[NCRITERIA];
} nvdyn_i_stage;

typedef struct nvdyn_i_hook {
  nvdyn_hook_point point;
  int64_t every;
  nvdyn_hook_fn fn;
  void *user;
} nvdyn_i_hook;

enum { NACC = 6 }; /* largest number of per-sample values of one reduction */

struct nvdyn_engine {
  double dt;
  nvdyn_units units; /* ftm2v, mvv2e, boltz, fclamp, maxmove */
  int nan_check;
  int pending; /* samples failed by pre_update since the last end_step */
  int flagged; /* post_update found an MD atom with a hazard */
  int refresh; /* the next end_step refreshes the values of all active samples */
  nvdyn_reduce_fn reduce_fn;
  void *reduce_user;
  int64_t step;

  nvdyn_i_stage *stages;
  nvdyn_stage_params *kstages; /* [nstages] the kernels' view, once samples are set */
  int checks;                  /* some stage has checks (nvdyn_has_checks) */
  int nstages;
  int run_first, run_end; /* nvdyn_engine_set_stage_range (run_end 0: every stage) */

  int nsamples;
  nvdyn_sample *samples;
  int64_t *stage_steps;      /* [nsamples][nstages] steps in stages the sample has left (the
                         * current stage's are its steps) */
  int vinit_due;             /* a sample may have velocities to set */
  int *active, nactive;      /* slots of the active samples, increasing */
  signed char *due;          /* end_step: a check is due for active[k] */
  int nstyle[NVDYN_NSTYLES]; /* active samples per stage style */
  int dirty;                 /* a slot was reset or loaded: rebuild the active list */
  int *converged, nconverged;

  /* per-slot copies the atom loops read: the style of an active sample's
   * stage (-1 when not active), its time step (the stage's; a FIRE
   * sample's current FIRE step), this pass's coefficients */
  signed char *kind;
  double *sdt;
  nvdyn_step_coef *coef;

  /* a pass's selection: sel[0..nsel) the selected slots, pos[slot] their
   * position (-1 if not selected); acc (sums) and acc2 (maxima) hold
   * width values per selected sample */
  int *sel, nsel, *pos, width;
  unsigned sel_mask;       /* the styles nvdyn_i_select_styles() selected (0: another selection) */
  uint64_t sel_version;    /* ... with the active list of this version */
  uint64_t active_version; /* counts the changes of the active list */
  double *acc, *acc2;
  unsigned char *touched; /* [nsel] a run stored a sample's values this pass */

  /* the per-atom input the last scan found valid (nvdyn_atoms.generation) */
  struct {
    uint64_t generation;
    int natoms, ntypes;
    const int *sample, *type;
    const double *rmass;
  } checked;

  nvdyn_i_hook *hooks;
  int nhooks;
  char error[256];
};

#ifdef __cplusplus
extern "C" { /* for the Kokkos driver (kokkos/) */
#endif

/* ---- engine.c -------------------------------------------------------------- */
nvdyn_status nvdyn_i_fail(const nvdyn_engine *e, nvdyn_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
nvdyn_status nvdyn_i_ok(nvdyn_engine *e);
nvdyn_status nvdyn_i_reduce(nvdyn_engine *e, double *buf, int n, nvdyn_reduce_op op);
int nvdyn_i_safety_on(const nvdyn_engine *e);

/* ---- stages.c -------------------------------------------------------------- */
void nvdyn_i_compile_stages(nvdyn_engine *e);
nvdyn_status nvdyn_i_validate_stages(nvdyn_engine *e);

/* ---- samples.c ------------------------------------------------------------- */
/* a sample's steps in each stage (nstages values) */
void nvdyn_i_stage_steps(const nvdyn_engine *e, int s, int64_t *out);
nvdyn_status nvdyn_i_check_slot(const nvdyn_engine *e, int sample);
/* after a slot's outcome or stage changed: its per-slot copies */
void nvdyn_i_sync_slot(nvdyn_engine *e, int s);
/* the active list and per-style counts, after changes */
void nvdyn_i_sync_active(nvdyn_engine *e);
void nvdyn_i_free_samples(nvdyn_engine *e);

/* ---- hooks.c --------------------------------------------------------------- */
nvdyn_status nvdyn_i_run_hooks(nvdyn_engine *e, nvdyn_hook_point point, const nvdyn_atoms *a,
                               int64_t step);

#ifdef __cplusplus
}
#endif

#endif /* NVDYN_INTERNAL_H */
