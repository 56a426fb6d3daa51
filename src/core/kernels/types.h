/* NVDYN kernels: plain-data types of stages, samples and the per-sample
 * coefficients of a step. The host driver and the Kokkos driver hold these
 * in arrays (host memory or device views); the functions of atom.h and
 * sample.h take them by pointer. */
#ifndef NVDYN_KERNELS_TYPES_H
#define NVDYN_KERNELS_TYPES_H

#include "func.h"

/* stage styles, in the order of params.def: the FIRE styles first, then
 * the MD styles (a style >= NVDYN_STYLE_NVE is an MD style) */
enum {
  NVDYN_STYLE_FIRE = 0,
  NVDYN_STYLE_FIRE_ASE = 1,
  NVDYN_STYLE_NVE = 2,
  NVDYN_STYLE_LANGEVIN = 3,
  NVDYN_STYLE_CSVR = 4,
  NVDYN_STYLE_NHC = 5,
  NVDYN_NSTYLES = 6
};
#define NVDYN_MAX_CHAIN 8

/* criteria a stage has (bits of nvdyn_stage_params.criteria) */
enum { NVDYN_CRIT_FMAX = 1, NVDYN_CRIT_DE = 2, NVDYN_CRIT_STEPS = 4 };

/* fire: LAMMPS min_style fire parameters */
typedef struct nvdyn_fire_coef {
  double tmax, tmin, dtgrow, dtshrink, alpha0, alphashrink, dmax;
  int64_t delaystep, vdfmax;
  int halfstepback, initialdelay;
} nvdyn_fire_coef;

/* fire/ase: ASE FIRE parameters */
typedef struct nvdyn_fire_ase_coef {
  double maxstep, dtmax, finc, fdec, astart, fa;
  int64_t nmin;
} nvdyn_fire_ase_coef;

/* langevin, csvr, nhc */
typedef struct nvdyn_thermostat_coef {
  double temp, damp;
  double decay;  /* exp(-dt / damp) */
  uint64_t seed; /* langevin, csvr */
  int chain;     /* nhc */
} nvdyn_thermostat_coef;

/* A stage as the kernels see it: every parameter resolved. */
typedef struct nvdyn_stage_params {
  int style;
  double dt; /* MD: the time step; fire: the initial and reference FIRE step;
              * fire/ase: the initial FIRE step */
  int64_t every, maxsteps;
  unsigned criteria; /* NVDYN_CRIT_* */
  double fmax, de;
  int64_t steps;
  double extra_dof;       /* degrees of freedom removed per sample (3 for FIRE) */
  double velocity;        /* MD: temperature drawn on entry; 0 = off */
  uint64_t velocity_seed; /* with velocity */
  double drift;           /* nve: energy-drift limit; 0 = off */
  union {
    nvdyn_fire_coef fire;
    nvdyn_fire_ase_coef fire_ase;
    nvdyn_thermostat_coef thermostat;
  } c;
} nvdyn_stage_params;

/* One sample's state: everything a step changes. Replicated on every rank
 * of a run (all ranks update it identically). The fields every step of a
 * FIRE or MD stage reads or writes come first, in one 64-byte line (the
 * host allocates the samples 64-byte aligned; the struct is a multiple of
 * 64 bytes). */
typedef struct nvdyn_sample {
  /* every step: the first 64 bytes */
  int stage;                   /* stage index; nstages once done */
  int stuck;                   /* fire: more than vdfmax consecutive uphill steps */
  int64_t steps;               /* steps in the current stage */
  int64_t age;                 /* steps taken in every stage: the step number of the
                  * sample's random numbers (step age + 1), so that they do
                  * not depend on when the sample was inserted */
  double fdt, alpha;           /* FIRE time step and mixing */
  double dtv;                  /* FIRE: last position step */
  int64_t last_negative, nneg; /* FIRE: iteration of the last uphill step, run of them */
  /* what changes with stages and outcomes; the random numbers' key */
  uint64_t key;                /* the sample's own key of its random numbers */
  int outcome;                 /* nvdyn_outcome */
  int reason;                  /* nvdyn_reason of a failed or timed-out sample */
  int vinit;                   /* velocities of a newly entered stage still to be set */
  /* checks */
  int pe_in_stage, has_pe_prev, has_e0;     /* pe_check, pe_prev, e0 are of this stage */
  double pe, fmax, ke, natoms, temp, drift; /* as of the last check */
  double pe_check, pe_prev, e0;             /* PE of the last and previous check; NVE reference */
  /* thermostats */
  double reservoir; /* thermostat energy */
  double eta[NVDYN_MAX_CHAIN], eta_dot[NVDYN_MAX_CHAIN];
  double pad[2]; /* to a multiple of 64 bytes */
} nvdyn_sample;

/* ---- what a sample's atoms do in one pass (decided per sample) ---------- */

/* fire: mode 1 downhill (mix), 2 uphill (step back, zero v), 0 stuck (no
 * move); s1, s2 the mixing v = s1 v + s2 f; dtv the position step; dtv_back
 * the last position step, undone by half when uphill */
enum { NVDYN_FIRE_STUCK = 0, NVDYN_FIRE_DOWNHILL = 1, NVDYN_FIRE_UPHILL = 2 };
typedef struct nvdyn_fire_step {
  int mode;
  double s1, s2, dtv, dtv_back;
} nvdyn_fire_step;

/* fire/ase: mode 1 zero v, 2 mix, 3 first step (no mixing); then the
 * position step, limited to maxstep over the sample */
enum { NVDYN_ASE_ZERO = 1, NVDYN_ASE_MIX = 2, NVDYN_ASE_FIRST = 3 };
typedef struct nvdyn_fire_ase_step {
  int mode;
  double s1, s2, dtv;
} nvdyn_fire_ase_step;

/* langevin: the O step v = c1 v + sqrt(sigma2m / m) xi */
typedef struct nvdyn_langevin_step {
  double c1, sigma2m;
} nvdyn_langevin_step;

typedef union nvdyn_step_coef {
  nvdyn_fire_step fire;
  nvdyn_fire_ase_step fire_ase;
  nvdyn_langevin_step langevin;
  double scale; /* nhc, csvr, velocity initialisation: v *= scale */
} nvdyn_step_coef;

/* The engine-wide constants the kernels need. */
typedef struct nvdyn_units {
  double ftm2v, mvv2e, boltz;
  double fclamp, maxmove;
} nvdyn_units;

/* A sample's statistics on a check step, reduced over its atoms. */
typedef struct nvdyn_stats {
  double mvv;    /* sum of m v^2 */
  double pe;     /* sum of per-atom energies (when has_pe) */
  double natoms; /* number of atoms */
  double f2max;  /* largest |f|^2 */
  double hazard; /* largest atom hazard (nvdyn_atom_hazard) */
  double has_pe; /* 1 when per-atom energies were given */
} nvdyn_stats;

#endif /* NVDYN_KERNELS_TYPES_H */
