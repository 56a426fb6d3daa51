/* NVDYN: batched, multi-stage dynamics of many independent samples.
 *
 * The public C ABI of the NVDYN core (libnvdyn). C11, no global state, no
 * MPI or LAMMPS dependency. Every function returns an nvdyn_status; when a
 * call on an engine fails, nvdyn_engine_last_error() says why.
 *
 * Model. An engine holds an ordered list of stages (each with an integrator
 * style, parameters and exit criteria) and, per sample, the stage the sample
 * is in, its steps there, its outcome and its integrator state (FIRE time
 * step and mixing, thermostat variables). Per-sample state is small and is
 * held whole by every caller: every MPI rank of a LAMMPS run holds all of it
 * and updates it identically, so nothing depends on which rank owns which
 * atom. Sums and maxima over a sample's atoms go through a caller-supplied
 * reduction callback (LAMMPS passes one that calls MPI_Allreduce).
 *
 * Atoms are caller-owned: each call receives strided views of positions,
 * velocities and forces, masses, each atom's index within its sample, optional per-atom
 * potential energies and the per-atom sample index.
 *
 * A step is, in order (nvdyn_step() does all of it with a force callback):
 *   nvdyn_begin_step()     hooks BEFORE_STEP
 *   nvdyn_pre_update()     hooks BEFORE_PRE_UPDATE, first half of each
 *                          sample's integrator, hooks AFTER_PRE_UPDATE
 *   nvdyn_begin_compute()  hooks BEFORE_COMPUTE
 *   (the caller's force evaluation)
 *   nvdyn_end_compute()    hooks AFTER_COMPUTE
 *   nvdyn_post_update()    hooks BEFORE_POST_UPDATE, second half of each
 *                          sample's integrator, hooks AFTER_POST_UPDATE
 *   nvdyn_end_step()       safety checks, exit criteria, migration, hooks
 *                          ON_CONVERGE (if samples converged), AFTER_STEP
 * A sample that has left the last stage (done), timed out or failed is
 * frozen: its atoms' positions and velocities are never touched again.
 */
#ifndef NVDYN_H
#define NVDYN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Symbols exported from libnvdyn.so (built with hidden visibility). */
#if defined(__GNUC__)
#define NVDYN_API __attribute__((visibility("default")))
#else
#define NVDYN_API
#endif

/* Incremented on every incompatible change of this header. */
#define NVDYN_ABI_VERSION 4

typedef enum nvdyn_status {
  NVDYN_OK = 0,
  NVDYN_ERR_NULL = 1,    /* a required pointer argument is NULL */
  NVDYN_ERR_VALUE = 2,   /* a numeric argument is outside its valid range */
  NVDYN_ERR_UNKNOWN = 3, /* an unknown name (stage style, parameter, criterion) */
  NVDYN_ERR_STATE = 4,   /* the call is not valid in the engine's current state */
  NVDYN_ERR_NOMEM = 5,   /* memory allocation failed */
  NVDYN_ERR_ATOMS = 6,   /* per-atom input is inconsistent (strides, sample index) */
  NVDYN_ERR_CALLBACK = 7 /* a hook, force or reduction callback returned nonzero */
} nvdyn_status;

typedef struct nvdyn_engine nvdyn_engine;

/* Strided view of a per-atom 3-vector: component k of atom i is
 * data[i * atom_stride + k * comp_stride] (strides in elements, > 0).
 * LAMMPS host arrays and Kokkos LayoutRight views: atom_stride 3,
 * comp_stride 1. LayoutLeft views: atom_stride 1, comp_stride = extent(0). */
typedef struct nvdyn_view3 {
  double *data;
  ptrdiff_t atom_stride;
  ptrdiff_t comp_stride;
} nvdyn_view3;

/* The caller's atoms for one call. Atoms whose sample index is negative do
 * not belong to the engine and are left untouched. */
typedef struct nvdyn_atoms {
  int natoms;              /* number of atoms in the views (>= 0) */
  nvdyn_view3 x, v, f;     /* positions, velocities, forces */
  const double *rmass;     /* per-atom masses, or NULL: then type_mass[type[i]] */
  const double *type_mass; /* per-type masses, indexed by type (1..ntypes) */
  const int *type;         /* per-atom type in 1..ntypes */
  int ntypes;
  const int *sample;    /* per-atom sample index in [0, nsamples), or < 0 */
  const int32_t *index; /* per-atom index within its sample (0 .. n-1 for a
                          * sample of n atoms, the same however the caller
                          * numbers or orders its atoms): with the sample's
                          * key, the key of the atom's random numbers; needed
                          * by langevin stages and velocity draws, else NULL */
  const double *pe;     /* per-atom potential energy, or NULL; needed only on
                          * steps for which nvdyn_need_energy() says so */
  uint64_t generation;  /* 0, or the caller's mark of natoms, sample, type,
                          * rmass and ntypes: a call whose atoms carry the
                          * nonzero generation of the last call the engine
                          * validated, with the same counts and arrays, skips
                          * the per-atom scan of sample and type (the caller
                          * promises that their values are unchanged); with 0,
                          * every call scans them */
} nvdyn_atoms;

/* ---- engine ---------------------------------------------------------- */

/* Version of the ABI this library was built with (NVDYN_ABI_VERSION). */
NVDYN_API int nvdyn_abi_version(void);

/* A static, human-readable name of a status code. */
NVDYN_API const char *nvdyn_status_string(nvdyn_status status);

/* Create an empty engine (no stages, no samples). *out is NULL on failure. */
NVDYN_API nvdyn_status nvdyn_engine_create(nvdyn_engine **out);

/* Destroy an engine; NULL is accepted and ignored. */
NVDYN_API void nvdyn_engine_destroy(nvdyn_engine *engine);

/* Message of the engine's last failed call ("" if none). Never NULL. */
NVDYN_API const char *nvdyn_engine_last_error(const nvdyn_engine *engine);

/* Engine settings (name: meaning, default):
 *   "dt"     time step of the MD stages, > 0 (no default: must be set)
 *   "ftm2v"  force*time/mass -> velocity factor, > 0 (1)
 *   "mvv2e"  mass*velocity^2 -> energy factor, > 0 (1)
 *   "boltz"  Boltzmann constant in energy/temperature, > 0 (1)
 *   "fclamp" largest per-atom force norm the integrators use; a larger
 *            force is scaled down to it, the caller's array is untouched;
 *            0 = off (0)
 *   "nan"    1: check positions, velocities and forces for NaN/inf at
 *            the end of every step (before the atoms move again) and fail
 *            only the affected samples (reason NAN); 0: off (1)
 *   "maxmove" largest distance an atom of an MD stage may move in one
 *            step: at the end of every step (and on drawing velocities on
 *            entering a stage) a sample whose next velocity-Verlet step,
 *            dt |v + dt/2 ftm2v f/m| with the clamped force, would move an
 *            atom further fails before it moves (reason UNSTABLE); FIRE
 *            samples fail when |v|^2 or |f|^2 exceed DBL_MAX/1e16 (their
 *            steps are bounded by dmax / maxstep); 0 = off (0)
 * The unit factors are LAMMPS's force->ftm2v, mvv2e and boltz (1 in LJ
 * units). */
NVDYN_API nvdyn_status nvdyn_engine_set(nvdyn_engine *engine, const char *name, double value);

/* Current value of an engine setting. */
NVDYN_API nvdyn_status nvdyn_engine_get(const nvdyn_engine *engine, const char *name,
                                        double *value);

/* Cross-rank reduction: combine n values in data, in place, over every rank
 * of the caller (elementwise sum or max). Returns 0 on success. The engine
 * calls it with the same sequence of (n, op) on every rank. Without a
 * callback, the caller is a single process holding all atoms. */
typedef enum nvdyn_reduce_op { NVDYN_REDUCE_SUM = 0, NVDYN_REDUCE_MAX = 1 } nvdyn_reduce_op;
typedef int (*nvdyn_reduce_fn)(double *data, int n, nvdyn_reduce_op op, void *user);
NVDYN_API nvdyn_status nvdyn_engine_set_reduce(nvdyn_engine *engine, nvdyn_reduce_fn fn,
                                               void *user);

/* The engine's step counter: the number of the last completed step
 * (0 after creation). During a step the hooks see step + 1. A LAMMPS caller
 * sets it to update->ntimestep at setup. Random numbers do not use it: they
 * are keyed by each sample's own step count (see nvdyn_sample_reset). */
NVDYN_API nvdyn_status nvdyn_engine_set_step(nvdyn_engine *engine, int64_t step);
NVDYN_API nvdyn_status nvdyn_engine_step(const nvdyn_engine *engine, int64_t *step);

/* ---- stages ---------------------------------------------------------- */

/* Append a stage of the given style. Its index (0-based, in order of
 * addition) is stored in *index if index is not NULL. Stages can be added
 * and configured only before nvdyn_engine_set_nsamples(). Styles:
 *   "fire"      FIRE 2.0 minimisation with LAMMPS min_style fire semantics
 *               (integrator eulerimplicit), one FIRE state per sample
 *   "fire/ase"  FIRE as in ASE's FIRE optimizer, one state per sample
 *   "nve"       velocity Verlet
 *   "langevin"  Langevin dynamics, BAOAB splitting
 *   "csvr"      Bussi stochastic velocity rescaling, one thermostat per sample
 *   "nhc"       Nose-Hoover chain, one chain per sample */
NVDYN_API nvdyn_status nvdyn_stage_add(nvdyn_engine *engine, const char *style, int *index);

/* Set a stage parameter (name: meaning, default). Any style:
 *   "dt"        the stage's time step (fire: initial FIRE step) (engine dt;
 *               fire/ase: 0.1)
 *   "every"     check period of the exit criteria, in steps >= 1 (1); a
 *               stage without criteria, maxsteps or drift monitor makes no
 *               checks (its samples' values change only on the steps of
 *               nvdyn_refresh_values())
 *   "maxsteps"  a sample still in the stage after this many steps ends with
 *               outcome TIMEOUT; 0 = no limit (0)
 * MD styles (nve, langevin, csvr, nhc):
 *   "velocity"  on entering the stage, draw Maxwell-Boltzmann velocities at
 *               this temperature (> 0), zero each sample's net momentum and
 *               scale to exactly this temperature (off)
 *   "velocity_seed" seed of those velocities, integer >= 1 (needed with velocity)
 *   "extra_dof" degrees of freedom removed per sample when a temperature is
 *               computed: T = 2 KE / ((3N - extra_dof) boltz) (3)
 * nve:
 *   "drift"     energy-drift monitor: a sample whose |E - E0| / N exceeds
 *               this (E = PE + KE, E0 at the first check in the stage) fails;
 *               0 = off (0). Needs per-atom energies on check steps.
 * langevin, csvr, nhc: "temp" target temperature (> 0), "damp" relaxation
 *   time (> 0), both required;
 * langevin, csvr: "seed" integer >= 1, required;
 * nhc: "chain" chain length, 1..8 (3).
 * fire (LAMMPS min_modify names and defaults): "tmax" (10), "tmin" (0.02),
 *   "delaystep" (20), "dtgrow" (1.1), "dtshrink" (0.5), "alpha0" (0.25),
 *   "alphashrink" (0.99), "vdfmax" (2000: more consecutive uphill steps end
 *   the sample with outcome TIMEOUT), "halfstepback" (1), "initialdelay" (1),
 *   "dmax" (0.1).
 * fire/ase (ASE names and defaults): "maxstep" (0.2), "dtmax" (1.0),
 *   "nmin" (5), "finc" (1.1), "fdec" (0.5), "astart" (0.1), "fa" (0.99). */
NVDYN_API nvdyn_status nvdyn_stage_set(nvdyn_engine *engine, int stage, const char *name,
                                       double value);

/* Current value of a stage parameter. */
NVDYN_API nvdyn_status nvdyn_stage_get(const nvdyn_engine *engine, int stage, const char *name,
                                       double *value);

/* Add an exit criterion to a stage; a sample leaves the stage at the first
 * check at which all of the stage's criteria hold (AND). A stage without
 * criteria is never left (except by timeout or failure).
 *   "fmax"   largest per-atom force norm of the sample <= value (> 0)
 *   "de"     |PE - PE at the previous check| <= value (> 0); never holds at
 *            the first check in the stage; needs per-atom energies
 *   "steps"  steps spent in the stage >= value (integer >= 1)
 * Setting a criterion again replaces its value. */
NVDYN_API nvdyn_status nvdyn_stage_until(nvdyn_engine *engine, int stage, const char *criterion,
                                         double value);

/* Number of stages. */
NVDYN_API nvdyn_status nvdyn_engine_nstages(const nvdyn_engine *engine, int *nstages);

/* ---- the table of styles, parameters and criteria ------------------------
 * Every stage style, its parameters and the exit criteria, with their
 * types, ranges, defaults and descriptions, as the engine checks them: a
 * caller's parser and documentation follow from these calls. */

typedef enum nvdyn_style_kind {
  NVDYN_KIND_MIN = 0, /* a minimiser (fire, fire/ase) */
  NVDYN_KIND_MD = 1   /* dynamics */
} nvdyn_style_kind;

typedef enum nvdyn_param_type {
  NVDYN_TYPE_REAL = 0,
  NVDYN_TYPE_INTEGER = 1,
  NVDYN_TYPE_FLAG = 2 /* 0 or 1 */
} nvdyn_param_type;

typedef struct nvdyn_style_desc {
  const char *name;        /* as nvdyn_stage_add() takes it */
  const char *description; /* one sentence */
  int kind;                /* nvdyn_style_kind */
  int nparams;             /* parameters the style accepts */
} nvdyn_style_desc;

/* A parameter or criterion: valid values v are lo < v (lo_open) or
 * lo <= v, and v <= hi (HUGE_VAL: no bound), integers for INTEGER and FLAG
 * types. Strings are static. */
typedef struct nvdyn_param_desc {
  const char *name, *description;
  int type; /* nvdyn_param_type */
  double lo, hi;
  int lo_open;
  int required;    /* parameters: the style needs it set (no default);
                     * required parameters come first in table order */
  int has_default; /* def is the default ("dt": none, the engine's dt) */
  double def;
  int needs_energy; /* criteria: checking it needs per-atom energies */
} nvdyn_param_desc;

/* Number of stage styles; style indices are 0 .. count-1. */
NVDYN_API int nvdyn_style_count(void);
/* Index of a style name, or -1. */
NVDYN_API int nvdyn_style_index(const char *name);
NVDYN_API nvdyn_status nvdyn_style_info(int style, nvdyn_style_desc *info);
/* Parameter k (0 .. nparams-1) of a style, in table order. */
NVDYN_API nvdyn_status nvdyn_style_param(int style, int k, nvdyn_param_desc *info);
/* Number of criteria, and criterion k. */
NVDYN_API int nvdyn_criterion_count(void);
NVDYN_API nvdyn_status nvdyn_criterion_info(int k, nvdyn_param_desc *info);

/* *can = 1 if the stage as configured can finish a sample by itself
 * (criteria, maxsteps, a drift monitor or fire's vdfmax); failures aside,
 * samples of a stage that cannot never leave it. */
NVDYN_API nvdyn_status nvdyn_stage_can_finish(const nvdyn_engine *engine, int stage, int *can);

/* *need = 1 if the stage's checks need per-atom energies (a "de" criterion
 * or a drift monitor). */
NVDYN_API nvdyn_status nvdyn_stage_needs_energy(const nvdyn_engine *engine, int stage, int *need);

/* ---- samples --------------------------------------------------------- */

/* Validate the stages (required parameters present) and allocate per-sample
 * state for nsamples >= 1 samples, all entering stage 0. May be called again
 * to start over. */
NVDYN_API nvdyn_status nvdyn_engine_set_nsamples(nvdyn_engine *engine, int nsamples);

/* Add empty slots (outcome EMPTY, stage -1; see nvdyn_sample_reset) up to
 * nsamples slots in all, keeping every sample's state (refill of a growing
 * batch). Nothing happens when the engine has nsamples slots or more. */
NVDYN_API nvdyn_status nvdyn_engine_grow(nvdyn_engine *engine, int nsamples);

/* Number of samples (0 before nvdyn_engine_set_nsamples()). */
NVDYN_API nvdyn_status nvdyn_engine_nsamples(const nvdyn_engine *engine, int *nsamples);

typedef enum nvdyn_outcome {
  NVDYN_ACTIVE = 0,  /* in a stage */
  NVDYN_DONE = 1,    /* converged through every stage */
  NVDYN_TIMEOUT = 2, /* stopped in a stage without converging (maxsteps, vdfmax) */
  NVDYN_FAILED = 3,  /* NaN/inf values, an unsafe step, energy drift, or the
                      * caller's checks (see nvdyn_reason) */
  NVDYN_EMPTY = 4    /* a slot without a sample (nvdyn_sample_retire) */
} nvdyn_outcome;

/* Per-sample state, nsamples entries each:
 *   stages:   stage index (for a done sample: nstages; for a timed-out or
 *             failed sample: the stage in which it stopped; an empty slot:
 *             -1)
 *   steps:    steps spent in that stage
 *   outcomes: nvdyn_outcome values */
NVDYN_API nvdyn_status nvdyn_get_sample_stages(const nvdyn_engine *engine, int *stage);
NVDYN_API nvdyn_status nvdyn_get_sample_steps(const nvdyn_engine *engine, int64_t *steps);
NVDYN_API nvdyn_status nvdyn_get_sample_outcomes(const nvdyn_engine *engine, int *outcome);

/* Why a sample failed or timed out (NONE while active and when done). */
typedef enum nvdyn_reason {
  NVDYN_REASON_NONE = 0,
  NVDYN_REASON_NAN = 1,      /* failed: a non-finite position, velocity or force */
  NVDYN_REASON_UNSTABLE = 2, /* failed: its next step would move an atom further than
                              * maxmove (or overflow the FIRE sums) */
  NVDYN_REASON_DRIFT = 3,    /* failed: energy drift beyond the stage's drift */
  NVDYN_REASON_MAXSTEPS = 4, /* timed out: maxsteps steps in the stage */
  NVDYN_REASON_UPHILL = 5,   /* timed out: more than vdfmax consecutive FIRE uphill steps */
  NVDYN_REASON_ESCAPED = 6,  /* failed (set by the caller): atoms left the sample */
  NVDYN_REASON_LOST = 7      /* failed (set by the caller): atoms of the sample were lost */
} nvdyn_reason;
#define NVDYN_NREASONS 8

/* Per-sample nvdyn_reason values (nsamples entries). */
NVDYN_API nvdyn_status nvdyn_get_sample_reasons(const nvdyn_engine *engine, int *reason);

/* A static lower-case name of a reason ("none", "nan", "unstable", "drift",
 * "maxsteps", "uphill", "escaped", "lost"; "unknown" out of range). */
NVDYN_API const char *nvdyn_reason_name(int reason);

/* Fail an active sample for a reason of the caller's own checks (NAN,
 * UNSTABLE, DRIFT, ESCAPED or LOST): it is frozen at once; its atoms are not
 * moved again. NVDYN_ERR_STATE if the sample is not active. */
NVDYN_API nvdyn_status nvdyn_sample_fail(nvdyn_engine *engine, int sample, int reason);

/* Steps one sample spent in each stage (nstages entries). */
NVDYN_API nvdyn_status nvdyn_get_sample_stage_steps(const nvdyn_engine *engine, int sample,
                                                    int64_t *steps);

/* Per-sample values (nsamples entries), as of the sample's last check or
 * nvdyn_refresh_values() step (in any stage; a finished sample keeps those
 * of its final check; NaN before its first check):
 *   ENERGY      potential energy (of the last check with per-atom energies)
 *   FMAX        largest per-atom force norm
 *   KINETIC     kinetic energy
 *   NATOMS      number of atoms
 *   TEMPERATURE 2 KE / ((3N - extra_dof) boltz)
 *   DRIFT       |E - E0| / N of an nve stage with a drift monitor
 * and as of now:
 *   THERMOSTAT  energy taken out by the thermostat (nhc: the chain's energy;
 *               csvr: minus the energy it put in), 0 for other styles
 *   FIRE_DT     current FIRE time step (fire, fire/ase)
 *   FIRE_ALPHA  current FIRE mixing parameter (fire, fire/ase) */
typedef enum nvdyn_value {
  NVDYN_VALUE_ENERGY = 0,
  NVDYN_VALUE_FMAX = 1,
  NVDYN_VALUE_KINETIC = 2,
  NVDYN_VALUE_NATOMS = 3,
  NVDYN_VALUE_TEMPERATURE = 4,
  NVDYN_VALUE_DRIFT = 5,
  NVDYN_VALUE_THERMOSTAT = 6,
  NVDYN_VALUE_FIRE_DT = 7,
  NVDYN_VALUE_FIRE_ALPHA = 8
} nvdyn_value;
NVDYN_API nvdyn_status nvdyn_get_sample_values(const nvdyn_engine *engine, nvdyn_value which,
                                               double *values);

/* Samples that met all criteria of their stage on the last completed step
 * (in increasing order): *n receives their number and, if samples is not
 * NULL, samples[0..n) their indices (room for nsamples entries needed). */
NVDYN_API nvdyn_status nvdyn_get_converged(const nvdyn_engine *engine, int *n, int *samples);

/* ---- one sample at a time ------------------------------------------------
 * A slot holds one sample. Its key (set_nsamples gives slot s the key s)
 * keys the sample's random numbers with the atoms' index within the sample:
 * a sample moved to another slot, engine or partition with its key and its
 * state continues exactly as it would have where it was. */

/* Put a new sample with the given key into a slot (empty or not), entering
 * stage `stage` as a sample entering it from the previous stage does:
 * fresh per-stage state, velocities set on the next step where the stage
 * says so; per-stage step counts zero, values NaN. */
NVDYN_API nvdyn_status nvdyn_sample_reset(nvdyn_engine *engine, int sample, int stage,
                                          uint64_t key);

/* Empty a slot (outcome EMPTY, stage -1): its atoms (if any remain) are left
 * untouched, and no loop or reduction of a step visits it. */
NVDYN_API nvdyn_status nvdyn_sample_retire(nvdyn_engine *engine, int sample);

/* A range of the stages (the partition pipeline): this engine runs stages
 * first .. end-1 of its stages (0 <= first < end <= nstages; default:
 * every stage). A sample that converges out of stage end-1 finishes here:
 * outcome DONE at stage `end` (below nstages when end < nstages), frozen
 * as a done sample, for the caller to move with nvdyn_sample_save() to an
 * engine that runs stage `end`. Call after the stages are added. */
NVDYN_API nvdyn_status nvdyn_engine_set_stage_range(nvdyn_engine *engine, int first, int end);

/* A sample loaded with nvdyn_sample_load() that finished the stage range
 * of another engine (outcome DONE at a stage below nstages) enters that
 * stage here, as it would have on converging in one engine: the same
 * per-stage state, velocities set on the next step where the stage says
 * so. NVDYN_ERR_STATE if it did not finish so, or if this engine does not
 * run that stage. */
NVDYN_API nvdyn_status nvdyn_sample_resume(nvdyn_engine *engine, int sample);

/* The key of the sample in a slot. */
NVDYN_API nvdyn_status nvdyn_sample_key(const nvdyn_engine *engine, int sample, uint64_t *key);

/* One sample's state (its key, stage, outcome, steps, values, integrator
 * and thermostat state, per-stage step counts) as a byte string of
 * nvdyn_sample_state_size() bytes, field by field, with a format version
 * and the byte order: nvdyn_sample_load() accepts it into any slot of an
 * engine with the same number of stages, of this format version. */
NVDYN_API nvdyn_status nvdyn_sample_state_size(const nvdyn_engine *engine, size_t *size);
NVDYN_API nvdyn_status nvdyn_sample_save(const nvdyn_engine *engine, int sample, void *buffer,
                                         size_t size);
NVDYN_API nvdyn_status nvdyn_sample_load(nvdyn_engine *engine, int sample, const void *buffer,
                                         size_t size);

/* The whole engine state that changes during a run (the step counter and
 * every slot's sample state, as nvdyn_sample_save writes it), for restart
 * files: nvdyn_state_size() gives its length; nvdyn_state_load() accepts it
 * only into an engine with the same number of stages and samples, of this
 * format version, and leaves the engine unchanged when it refuses. */
NVDYN_API nvdyn_status nvdyn_state_size(const nvdyn_engine *engine, size_t *size);
NVDYN_API nvdyn_status nvdyn_state_save(const nvdyn_engine *engine, void *buffer, size_t size);
NVDYN_API nvdyn_status nvdyn_state_load(nvdyn_engine *engine, const void *buffer, size_t size);

/* ---- hooks ----------------------------------------------------------- */

typedef enum nvdyn_hook_point {
  NVDYN_BEFORE_STEP = 0,
  NVDYN_BEFORE_PRE_UPDATE = 1,
  NVDYN_AFTER_PRE_UPDATE = 2,
  NVDYN_BEFORE_COMPUTE = 3,
  NVDYN_AFTER_COMPUTE = 4,
  NVDYN_BEFORE_POST_UPDATE = 5,
  NVDYN_AFTER_POST_UPDATE = 6,
  NVDYN_ON_CONVERGE = 7,
  NVDYN_AFTER_STEP = 8
} nvdyn_hook_point;
#define NVDYN_NHOOK_POINTS 9

typedef struct nvdyn_hook_info {
  nvdyn_hook_point point;
  int64_t step;             /* the step being executed */
  const nvdyn_atoms *atoms; /* the atoms of the call that fired the hook */
  int nconverged;           /* ON_CONVERGE: number of converged samples */
  const int *converged;     /* ON_CONVERGE: their indices, increasing */
} nvdyn_hook_info;

/* A hook may read the engine's state and modify the atoms' arrays. A
 * nonzero return value makes the engine call fail with NVDYN_ERR_CALLBACK. */
typedef int (*nvdyn_hook_fn)(nvdyn_engine *engine, const nvdyn_hook_info *info, void *user);

/* Register a hook at a point, fired on steps that are multiples of every
 * (>= 1); ON_CONVERGE hooks fire only on steps on which samples converged.
 * Hooks of one point fire in registration order. */
NVDYN_API nvdyn_status nvdyn_hook_add(nvdyn_engine *engine, nvdyn_hook_point point, int64_t every,
                                      nvdyn_hook_fn fn, void *user);

/* ---- stepping -------------------------------------------------------- */

/* The safety checks of nvdyn_end_step() ("nan", "maxmove") on the atoms as
 * they are, without counting a step: for the start of a run, whose forces
 * no end_step has seen. Samples with a hazard fail before they move;
 * *nfailed (if not NULL) receives their number. */
NVDYN_API nvdyn_status nvdyn_check_atoms(nvdyn_engine *engine, const nvdyn_atoms *atoms,
                                         int *nfailed);

/* *need = 1 when the next nvdyn_end_step() evaluates an energy criterion or
 * an energy-drift monitor for some sample, so atoms->pe must be given. */
NVDYN_API nvdyn_status nvdyn_need_energy(const nvdyn_engine *engine, int *need);

/* *n = number of active samples whose exit criteria the next
 * nvdyn_end_step() checks (a caller computes per-atom energies for those
 * steps when it wants every check to carry the samples' energies). */
NVDYN_API nvdyn_status nvdyn_checks_due(const nvdyn_engine *engine, int *n);

/* The next nvdyn_end_step() refreshes the values (ENERGY if atoms->pe is
 * given, FMAX, KINETIC, NATOMS, TEMPERATURE) of every active sample, check
 * due or not; for output on steps of the caller's choosing. Exit criteria
 * are unaffected: "de" still compares the energies of consecutive checks. */
NVDYN_API nvdyn_status nvdyn_refresh_values(nvdyn_engine *engine);

/* nvdyn_begin_step(), nvdyn_begin_compute() and nvdyn_end_compute() only
 * fire hooks: they check the atoms only when hooks are registered at their
 * point, so they cost nothing without hooks. */
NVDYN_API nvdyn_status nvdyn_begin_step(nvdyn_engine *engine, const nvdyn_atoms *atoms);
NVDYN_API nvdyn_status nvdyn_pre_update(nvdyn_engine *engine, const nvdyn_atoms *atoms);
NVDYN_API nvdyn_status nvdyn_begin_compute(nvdyn_engine *engine, const nvdyn_atoms *atoms);
NVDYN_API nvdyn_status nvdyn_end_compute(nvdyn_engine *engine, const nvdyn_atoms *atoms);
NVDYN_API nvdyn_status nvdyn_post_update(nvdyn_engine *engine, const nvdyn_atoms *atoms);

/* End of a step: count the step for every active sample; fail samples with
 * a hazard ("nan", "maxmove") before their atoms move again; on check steps
 * evaluate the criteria and move converged samples to their next stage
 * (velocities initialised on the next nvdyn_pre_update() where the stage
 * says so), or time them out; advance the step counter. *nchanged (if not
 * NULL) receives the number of samples whose stage or outcome changed since
 * the last end_step, those failed by nvdyn_pre_update() on drawing unsafe
 * velocities included. */
NVDYN_API nvdyn_status nvdyn_end_step(nvdyn_engine *engine, const nvdyn_atoms *atoms,
                                      int *nchanged);

/* Force callback of nvdyn_step(): fill atoms->f (and atoms->pe, if not NULL)
 * for the current positions. Returns 0 on success. */
typedef int (*nvdyn_force_fn)(const nvdyn_atoms *atoms, void *user);

/* One whole step, in the order given at the top of this header. The forces
 * in atoms->f must be those of the current positions on entry (call the
 * force callback once before the first step). */
NVDYN_API nvdyn_status nvdyn_step(nvdyn_engine *engine, const nvdyn_atoms *atoms,
                                  nvdyn_force_fn force, void *user, int *nchanged);

#ifdef __cplusplus
}
#endif

#endif /* NVDYN_H */
