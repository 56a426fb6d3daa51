/* NVDYN: batched, multi-stage dynamics of many independent samples.
 *
 * The public C ABI of the NVDYN core (libnvdyn). C11, no global state, no
 * MPI or LAMMPS dependency. Every function returns an nvdyn_status; when a
 * call on an engine fails, nvdyn_engine_last_error() says why.
 *
 * Model: an engine holds an ordered list of stages and, per sample, the index
 * of the stage the sample is in and the number of steps it has spent there.
 * Per-sample state is small and is held whole by every caller (every MPI rank
 * of a LAMMPS run holds all of it and updates it identically), so it never
 * depends on which rank owns which atoms. Atoms are caller-owned: each
 * integration call receives strided views of positions, velocities, forces,
 * masses and the per-atom sample index.
 *
 * A step is: nvdyn_pre_update() (first half of each sample's stage
 * integrator), force evaluation by the caller, nvdyn_post_update() (second
 * half), nvdyn_end_step() (count the step, evaluate each sample's exit
 * criteria, migrate samples to their next stage). A sample past the last
 * stage is done: its atoms are never touched again.
 */
#ifndef NVDYN_H
#define NVDYN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Incremented on every incompatible change of this header. */
#define NVDYN_ABI_VERSION 1

typedef enum nvdyn_status {
  NVDYN_OK = 0,
  NVDYN_ERR_NULL = 1,    /* a required pointer argument is NULL */
  NVDYN_ERR_VALUE = 2,   /* a numeric argument is outside its valid range */
  NVDYN_ERR_UNKNOWN = 3, /* an unknown name (e.g. a stage style) */
  NVDYN_ERR_STATE = 4,   /* the call is not valid in the engine's current state */
  NVDYN_ERR_NOMEM = 5,   /* memory allocation failed */
  NVDYN_ERR_ATOMS = 6    /* per-atom input is inconsistent (strides, sample index) */
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

/* The caller's atoms for one integration call. Atoms whose sample index is
 * negative do not belong to the engine and are left untouched. */
typedef struct nvdyn_atoms {
  int natoms;              /* number of atoms in the views (>= 0) */
  nvdyn_view3 x, v, f;     /* positions, velocities, forces */
  const double *rmass;     /* per-atom masses, or NULL: then type_mass[type[i]] */
  const double *type_mass; /* per-type masses, indexed by type (1..ntypes) */
  const int *type;         /* per-atom type in 1..ntypes */
  int ntypes;
  const int *sample; /* per-atom sample index in [0, nsamples), or < 0 */
} nvdyn_atoms;

/* Version of the ABI this library was built with (NVDYN_ABI_VERSION). */
int nvdyn_abi_version(void);

/* A static, human-readable name of a status code. */
const char *nvdyn_status_string(nvdyn_status status);

/* Create an empty engine (no stages, no samples). *out is NULL on failure. */
nvdyn_status nvdyn_engine_create(nvdyn_engine **out);

/* Destroy an engine; NULL is accepted and ignored. */
void nvdyn_engine_destroy(nvdyn_engine *engine);

/* Message of the engine's last failed call ("" if none). Never NULL. */
const char *nvdyn_engine_last_error(const nvdyn_engine *engine);

/* Time step and the force*time/mass -> velocity unit factor (LAMMPS's
 * force->ftm2v; 1 in reduced units). dt > 0, ftm2v > 0. Default: 0, 1. */
nvdyn_status nvdyn_engine_set_timestep(nvdyn_engine *engine, double dt, double ftm2v);

/* Append a stage of the given style ("nve": velocity Verlet). Its index
 * (0-based, in order of addition) is stored in *index if index is not NULL.
 * Stages can be added only before nvdyn_engine_set_nsamples(). */
nvdyn_status nvdyn_stage_add(nvdyn_engine *engine, const char *style, int *index);

/* Exit criterion "steps": a sample leaves the stage after nsteps steps in it
 * (nsteps >= 1). A stage without any criterion is never left. */
nvdyn_status nvdyn_stage_until_steps(nvdyn_engine *engine, int stage, int64_t nsteps);

/* Number of stages. */
nvdyn_status nvdyn_engine_nstages(const nvdyn_engine *engine, int *nstages);

/* Allocate per-sample state for nsamples >= 1 samples, all in stage 0 with
 * zero steps. Needs at least one stage; may be called again to start over. */
nvdyn_status nvdyn_engine_set_nsamples(nvdyn_engine *engine, int nsamples);

/* Number of samples (0 before nvdyn_engine_set_nsamples()). */
nvdyn_status nvdyn_engine_nsamples(const nvdyn_engine *engine, int *nsamples);

/* First half of a step for every atom of a sample that is in a stage:
 * nve: v += dt/2 * ftm2v * f / m; x += dt * v. */
nvdyn_status nvdyn_pre_update(nvdyn_engine *engine, const nvdyn_atoms *atoms);

/* Second half of a step (after the caller's force evaluation):
 * nve: v += dt/2 * ftm2v * f / m. */
nvdyn_status nvdyn_post_update(nvdyn_engine *engine, const nvdyn_atoms *atoms);

/* End of a step: every sample in a stage has spent one more step there;
 * samples whose stage criteria all hold move to the next stage (with zero
 * steps), past the last stage they are done. *nmigrated (if not NULL)
 * receives the number of samples that changed stage on this step. */
nvdyn_status nvdyn_end_step(nvdyn_engine *engine, int *nmigrated);

/* Per-sample state, nsamples entries each: the stage index of each sample
 * (nstages for a done sample) and the steps it has spent in that stage. */
nvdyn_status nvdyn_get_sample_stages(const nvdyn_engine *engine, int *stage);
nvdyn_status nvdyn_get_sample_steps(const nvdyn_engine *engine, int64_t *steps);

#ifdef __cplusplus
}
#endif

#endif /* NVDYN_H */
