/* NVDYN stand-alone example: a batch of Lennard-Jones clusters of mixed sizes
 * driven by libnvdyn alone (no LAMMPS, no MPI).
 *
 * Every sample (one cluster) goes through three stages on its own clock:
 *   0 "fire"  FIRE relaxation until the largest force is <= 1e-4
 *   1 "csvr"  Bussi thermostat at T = 0.05 for 2000 steps
 *   2 "nve"   velocity Verlet for 2000 steps, with an energy-drift monitor
 * while one force evaluation per step serves all samples at once
 * (nvdyn_step() with lj_forces()). Hooks report convergence and progress.
 *
 * The program checks what the contract in nvdyn.h promises and exits with
 * status 1 if any check fails (or if any engine call fails):
 *   - every sample ends NVDYN_DONE;
 *   - the energy the engine reports when a sample leaves the fire stage is
 *     the LJ energy of its positions at that moment (1e-9 relative);
 *   - the LJ13 and LJ38 samples relax to the global minima of the Cambridge
 *     Cluster Database, -44.326801 and -173.928427 (to 1e-6);
 *   - the "steps" criteria end the MD stages after exactly 2000 steps, and
 *     the fire stage is left on a multiple of its check period;
 *   - done samples are frozen and atoms outside the engine are untouched.
 *
 * Usage: c_clusters [-q]   (-q: only the final table and the verdict) */
#include "lj_model.h"
#include "nvdyn.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the workflow (LJ reduced units, mass 1) ------------------------ */

enum { STAGE_FIRE = 0, STAGE_CSVR = 1, STAGE_NVE = 2, NSTAGES = 3 };
static const char *const stage_names[NSTAGES] = {"fire", "csvr", "nve"};

#define MD_DT 0.005         /* time step of the MD stages */
#define FIRE_FMAX 1e-4      /* fire: exit when the largest force is below this */
#define FIRE_EVERY 5        /* fire: check period of the criterion */
#define FIRE_MAXSTEPS 20000 /* fire: a sample still relaxing then times out */
#define TEMP 0.05           /* csvr: target temperature, and initial velocities */
#define DAMP 0.5            /* csvr: relaxation time of the thermostat */
#define MD_STEPS 2000       /* csvr and nve: steps in the stage */
#define DRIFT_MAX 1e-3      /* nve: largest |E - E0| per atom */
#define PROGRESS_EVERY 1000 /* period of the progress hook */

/* Reference energies of the global minima (Cambridge Cluster Database). */
#define E_LJ13 -44.326801
#define E_LJ38 -173.928427
#define E_REF_TOL 1e-6

/* ---- the samples ----------------------------------------------------- */

typedef enum shape { SHAPE_ICO13, SHAPE_TO38, SHAPE_FCC } shape;

typedef struct sample_spec {
  shape shape;
  int natoms;    /* atoms (fixed by the shape for ico13 and to38) */
  double amp;    /* amplitude of the random displacement of the start */
  uint64_t seed; /* seed of that displacement */
} sample_spec;

/* Mixed sizes, some repeated with other displacements. The fcc clusters
 * relax to whatever local minimum is nearest (fcc 13, a cuboctahedron,
 * usually turns into the icosahedron). */
static const sample_spec specs[] = {
    {SHAPE_ICO13, 13, 0.05, 101}, {SHAPE_TO38, 38, 0.02, 102},  {SHAPE_FCC, 7, 0.05, 103},
    {SHAPE_FCC, 19, 0.05, 104},   {SHAPE_ICO13, 13, 0.08, 105}, {SHAPE_FCC, 26, 0.05, 106},
    {SHAPE_FCC, 55, 0.03, 107},   {SHAPE_TO38, 38, 0.04, 108},  {SHAPE_FCC, 13, 0.05, 109},
    {SHAPE_FCC, 7, 0.05, 110},    {SHAPE_FCC, 19, 0.05, 111},   {SHAPE_ICO13, 13, 0.03, 112},
};
#define NSAMPLES ((int) (sizeof(specs) / sizeof(specs[0])))

static const char *shape_name(shape sh)
{
  switch (sh) {
    case SHAPE_ICO13:
      return "ico13";
    case SHAPE_TO38:
      return "to38";
    case SHAPE_FCC:
      return "fcc";
  }
  return "?";
}

/* ---- state shared with the hooks -------------------------------------- */

typedef struct run_state {
  int first[NSAMPLES];         /* index of each sample's first atom */
  int stage[NSAMPLES];         /* each sample's stage as last seen by the hooks */
  double relaxed[NSAMPLES];    /* ENERGY when the sample left the fire stage */
  double relaxed_lj[NSAMPLES]; /* lj_energy() of its positions at that moment */
  double final_temp[NSAMPLES]; /* TEMPERATURE when it left the last stage */
  double drift[NSAMPLES];      /* DRIFT when it left the last stage */
  double *frozen;              /* [3 natoms] positions of done samples when they finished */
  double *xbuf;                /* [3 natoms] gather buffer for lj_energy() */
  int quiet;                   /* no hook output */
  int nfailed;                 /* failed self-checks */
} run_state;

/* Record a failed self-check (the run goes on, the exit status is 1). */
static void check_failed(run_state *rs, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  printf("SELF-CHECK FAILED: ");
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
  rs->nfailed++;
}

/* Gather the positions of sample s (x interleaved) into rs->xbuf. */
static void gather_sample(run_state *rs, const nvdyn_atoms *atoms, int s)
{
  const nvdyn_view3 *x = &atoms->x;
  for (int m = 0; m < specs[s].natoms; m++) {
    const ptrdiff_t i = rs->first[s] + m;
    for (int k = 0; k < 3; k++)
      rs->xbuf[3 * m + k] = x->data[i * x->atom_stride + k * x->comp_stride];
  }
}

/* Report a failed engine call from inside a hook; the hook then returns
 * nonzero, which makes the engine call fail with NVDYN_ERR_CALLBACK. */
static int hook_error(const nvdyn_engine *engine, const char *call, nvdyn_status st)
{
  fprintf(stderr, "error in a hook: %s: %s: %s\n", call, nvdyn_status_string(st),
          nvdyn_engine_last_error(engine));
  return 1;
}

/* ON_CONVERGE: the samples in info->converged met all criteria of their
 * stage on this step and have already moved on. Record the relaxed energy
 * of those that left the fire stage (and check it against the model), and
 * the final temperature and drift of those that are done. */
static int on_converge(nvdyn_engine *engine, const nvdyn_hook_info *info, void *user)
{
  run_state *rs = user;
  int now[NSAMPLES];
  double energy[NSAMPLES], temp[NSAMPLES], drift[NSAMPLES];
  nvdyn_status st;
  if ((st = nvdyn_get_sample_stages(engine, now)) != NVDYN_OK)
    return hook_error(engine, "nvdyn_get_sample_stages", st);
  if ((st = nvdyn_get_sample_values(engine, NVDYN_VALUE_ENERGY, energy)) != NVDYN_OK ||
      (st = nvdyn_get_sample_values(engine, NVDYN_VALUE_TEMPERATURE, temp)) != NVDYN_OK ||
      (st = nvdyn_get_sample_values(engine, NVDYN_VALUE_DRIFT, drift)) != NVDYN_OK)
    return hook_error(engine, "nvdyn_get_sample_values", st);

  /* One line per stage the samples came from. */
  for (int from = 0; from < NSTAGES; from++) {
    int nfrom = 0;
    for (int c = 0; c < info->nconverged; c++) {
      const int s = info->converged[c];
      if (rs->stage[s] != from) continue;
      if (nfrom++ == 0 && !rs->quiet)
        printf("step %6lld  %-4s -> %-4s:", (long long) info->step, stage_names[from],
               from + 1 < NSTAGES ? stage_names[from + 1] : "done");
      if (!rs->quiet) printf(" %d", s);
      if (from == STAGE_FIRE) {
        gather_sample(rs, info->atoms, s);
        rs->relaxed[s] = energy[s];
        rs->relaxed_lj[s] = lj_energy(specs[s].natoms, rs->xbuf);
      }
      if (now[s] == NSTAGES) {
        rs->final_temp[s] = temp[s];
        rs->drift[s] = drift[s];
        gather_sample(rs, info->atoms, s);
        memcpy(rs->frozen + 3 * rs->first[s], rs->xbuf,
               3 * (size_t) specs[s].natoms * sizeof(double));
      }
    }
    if (nfrom > 0 && !rs->quiet) printf("\n");
  }
  for (int c = 0; c < info->nconverged; c++)
    rs->stage[info->converged[c]] = now[info->converged[c]];
  return 0;
}

/* AFTER_STEP, every PROGRESS_EVERY steps: how many samples are where. */
static int progress(nvdyn_engine *engine, const nvdyn_hook_info *info, void *user)
{
  const run_state *rs = user;
  int stages[NSAMPLES], outcomes[NSAMPLES];
  nvdyn_status st;
  if ((st = nvdyn_get_sample_stages(engine, stages)) != NVDYN_OK)
    return hook_error(engine, "nvdyn_get_sample_stages", st);
  if ((st = nvdyn_get_sample_outcomes(engine, outcomes)) != NVDYN_OK)
    return hook_error(engine, "nvdyn_get_sample_outcomes", st);
  int count[NSTAGES] = {0}, ndone = 0, nstopped = 0;
  for (int s = 0; s < NSAMPLES; s++) {
    if (outcomes[s] == NVDYN_ACTIVE)
      count[stages[s]]++;
    else if (outcomes[s] == NVDYN_DONE)
      ndone++;
    else
      nstopped++;
  }
  if (!rs->quiet)
    printf("step %6lld  samples in fire %2d  csvr %2d  nve %2d  done %2d  timed out/failed %d\n",
           (long long) info->step, count[STAGE_FIRE], count[STAGE_CSVR], count[STAGE_NVE], ndone,
           nstopped);
  return 0;
}

/* ---- main ------------------------------------------------------------ */

/* Abort on a failed engine call. */
#define CHECK(call)                                                                                \
  do {                                                                                             \
    nvdyn_status check_st_ = (call);                                                               \
    if (check_st_ != NVDYN_OK) {                                                                   \
      fprintf(stderr, "%s:%d: %s failed: %s: %s\n", __FILE__, __LINE__, #call,                     \
              nvdyn_status_string(check_st_), nvdyn_engine_last_error(engine));                    \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

static double wall_seconds(void)
{
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

/* Build the engine: three stages, their criteria, two hooks. */
static void setup_engine(nvdyn_engine *engine, run_state *rs)
{
  CHECK(nvdyn_engine_set(engine, "dt", MD_DT));

  int fire, csvr, nve;
  CHECK(nvdyn_stage_add(engine, "fire", &fire));
  CHECK(nvdyn_stage_set(engine, fire, "every", FIRE_EVERY));
  CHECK(nvdyn_stage_set(engine, fire, "maxsteps", FIRE_MAXSTEPS));
  CHECK(nvdyn_stage_until(engine, fire, "fmax", FIRE_FMAX));

  CHECK(nvdyn_stage_add(engine, "csvr", &csvr));
  CHECK(nvdyn_stage_set(engine, csvr, "temp", TEMP));
  CHECK(nvdyn_stage_set(engine, csvr, "damp", DAMP));
  CHECK(nvdyn_stage_set(engine, csvr, "seed", 20240611));
  CHECK(nvdyn_stage_set(engine, csvr, "velocity", TEMP));
  CHECK(nvdyn_stage_set(engine, csvr, "velocity_seed", 4711));
  CHECK(nvdyn_stage_until(engine, csvr, "steps", MD_STEPS));

  CHECK(nvdyn_stage_add(engine, "nve", &nve));
  CHECK(nvdyn_stage_set(engine, nve, "drift", DRIFT_MAX));
  CHECK(nvdyn_stage_until(engine, nve, "steps", MD_STEPS));
  if (fire != STAGE_FIRE || csvr != STAGE_CSVR || nve != STAGE_NVE) {
    fprintf(stderr, "unexpected stage indices %d %d %d\n", fire, csvr, nve);
    exit(1);
  }

  CHECK(nvdyn_hook_add(engine, NVDYN_ON_CONVERGE, 1, on_converge, rs));
  CHECK(nvdyn_hook_add(engine, NVDYN_AFTER_STEP, PROGRESS_EVERY, progress, rs));
  CHECK(nvdyn_engine_set_nsamples(engine, NSAMPLES));
}

int main(int argc, char **argv)
{
  run_state rs;
  memset(&rs, 0, sizeof(rs));
  if (argc > 2 || (argc == 2 && strcmp(argv[1], "-q") != 0)) {
    fprintf(stderr, "usage: %s [-q]\n", argv[0]);
    return 2;
  }
  rs.quiet = argc == 2;
  if (nvdyn_abi_version() != NVDYN_ABI_VERSION) {
    fprintf(stderr, "libnvdyn ABI %d, header %d\n", nvdyn_abi_version(), NVDYN_ABI_VERSION);
    return 1;
  }

  /* Atoms: the samples one after the other, then one spectator atom that
   * does not belong to the engine (sample -1). */
  int natoms = 1;
  for (int s = 0; s < NSAMPLES; s++) {
    rs.first[s] = natoms - 1;
    natoms += specs[s].natoms;
    rs.stage[s] = STAGE_FIRE;
    rs.relaxed[s] = rs.relaxed_lj[s] = rs.final_temp[s] = rs.drift[s] = NAN;
  }
  const int spectator = natoms - 1;
  double *x = calloc(3 * (size_t) natoms, sizeof(double));
  double *v = calloc(3 * (size_t) natoms, sizeof(double));
  double *f = calloc(3 * (size_t) natoms, sizeof(double));
  double *pe = calloc((size_t) natoms, sizeof(double));
  double *mass = calloc((size_t) natoms, sizeof(double));
  int *sample = calloc((size_t) natoms, sizeof(int));
  int32_t *index = calloc((size_t) natoms, sizeof(int32_t));
  rs.frozen = calloc(3 * (size_t) natoms, sizeof(double));
  rs.xbuf = calloc(3 * (size_t) natoms, sizeof(double));
  if (!x || !v || !f || !pe || !mass || !sample || !index || !rs.frozen || !rs.xbuf) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }

  /* Positions interleaved (x[3 i + k], as LAMMPS holds them); velocities
   * blocked (v[k natoms + i], like a Kokkos LayoutLeft view) to show that
   * the engine takes any strides. */
  for (int s = 0; s < NSAMPLES; s++) {
    double *xs = x + 3 * rs.first[s];
    switch (specs[s].shape) {
      case SHAPE_ICO13:
        lj_cluster_ico13(xs);
        break;
      case SHAPE_TO38:
        lj_cluster_to38(xs);
        break;
      case SHAPE_FCC:
        lj_cluster_fcc(specs[s].natoms, xs);
        break;
    }
    lj_perturb(specs[s].natoms, xs, specs[s].amp, specs[s].seed);
    for (int m = 0; m < specs[s].natoms; m++) {
      sample[rs.first[s] + m] = s;
      index[rs.first[s] + m] = m; /* the atom's index in its sample */
    }
  }
  for (int i = 0; i < natoms; i++) {
    mass[i] = 1.0;
  }
  sample[spectator] = -1;
  const double spectator_x[3] = {100.0, 0.0, 0.0}, spectator_v[3] = {0.5, -0.25, 0.125};
  for (int k = 0; k < 3; k++) {
    x[3 * spectator + k] = spectator_x[k];
    v[k * natoms + spectator] = spectator_v[k];
  }

  nvdyn_atoms atoms;
  memset(&atoms, 0, sizeof(atoms));
  atoms.natoms = natoms;
  atoms.x = (nvdyn_view3){x, 3, 1};
  atoms.v = (nvdyn_view3){v, 1, natoms};
  atoms.f = (nvdyn_view3){f, 3, 1};
  atoms.rmass = mass;
  atoms.sample = sample;
  atoms.index = index;
  atoms.pe = pe; /* always given: the drift monitor and ENERGY need it */

  nvdyn_engine *engine = NULL;
  if (nvdyn_engine_create(&engine) != NVDYN_OK) {
    fprintf(stderr, "nvdyn_engine_create failed\n");
    return 1;
  }
  setup_engine(engine, &rs);
  printf("NVDYN c_clusters: %d LJ clusters, %d atoms; stages fire (fmax %g) -> csvr (T %g, %d "
         "steps) -> nve (%d steps)\n",
         NSAMPLES, natoms - 1, FIRE_FMAX, TEMP, MD_STEPS, MD_STEPS);

  /* The run: forces of the start positions once, then whole steps until
   * no sample is active (bounded: every stage ends by its own limit). */
  const double t0 = wall_seconds();
  if (lj_forces(&atoms, NULL) != 0) {
    fprintf(stderr, "lj_forces failed\n");
    return 1;
  }
  const int64_t max_steps = FIRE_MAXSTEPS + 2 * MD_STEPS + 10;
  int outcomes[NSAMPLES];
  int64_t step = 0;
  for (;;) {
    CHECK(nvdyn_get_sample_outcomes(engine, outcomes));
    int nactive = 0;
    for (int s = 0; s < NSAMPLES; s++) nactive += outcomes[s] == NVDYN_ACTIVE;
    if (nactive == 0) break;
    if (step == max_steps) {
      fprintf(stderr, "%d samples still active after %lld steps\n", nactive, (long long) step);
      return 1;
    }
    CHECK(nvdyn_step(engine, &atoms, lj_forces, NULL, NULL));
    step++;
  }
  const double elapsed = wall_seconds() - t0;

  /* The table: steps spent in each stage, the energy on leaving the fire
   * stage, temperature and energy drift at the last check of the nve stage. */
  static const char *const outcome_names[] = {"active", "done", "timeout", "failed"};
  printf("\n%6s %5s %5s %7s %14s %6s %6s %6s %8s %9s\n", "sample", "shape", "atoms", "outcome",
         "E_relaxed", "fire", "csvr", "nve", "T_final", "drift");
  for (int s = 0; s < NSAMPLES; s++) {
    int64_t ss[NSTAGES];
    CHECK(nvdyn_get_sample_stage_steps(engine, s, ss));
    printf("%6d %5s %5d %7s %14.6f %6lld %6lld %6lld %8.4f %9.2e\n", s, shape_name(specs[s].shape),
           specs[s].natoms, outcomes[s] >= 0 && outcomes[s] <= 3 ? outcome_names[outcomes[s]] : "?",
           rs.relaxed[s], (long long) ss[STAGE_FIRE], (long long) ss[STAGE_CSVR],
           (long long) ss[STAGE_NVE], rs.final_temp[s], rs.drift[s]);

    /* Self-checks of this sample. */
    if (outcomes[s] != NVDYN_DONE) {
      check_failed(&rs, "sample %d: outcome %d, expected done", s, outcomes[s]);
      continue;
    }
    const double rel = fabs(rs.relaxed[s] - rs.relaxed_lj[s]) / fabs(rs.relaxed_lj[s]);
    if (!(rel <= 1e-9))
      check_failed(&rs, "sample %d: relaxed energy %.12g, lj_energy of its positions %.12g", s,
                   rs.relaxed[s], rs.relaxed_lj[s]);
    const double ref = specs[s].shape == SHAPE_ICO13 ? E_LJ13 : E_LJ38;
    if (specs[s].shape != SHAPE_FCC && !(fabs(rs.relaxed[s] - ref) <= E_REF_TOL))
      check_failed(&rs, "sample %d: relaxed energy %.9f, global minimum %.6f", s, rs.relaxed[s],
                   ref);
    if (ss[STAGE_FIRE] % FIRE_EVERY != 0)
      check_failed(&rs, "sample %d: fire stage left after %lld steps, not a multiple of %d", s,
                   (long long) ss[STAGE_FIRE], FIRE_EVERY);
    if (ss[STAGE_CSVR] != MD_STEPS || ss[STAGE_NVE] != MD_STEPS)
      check_failed(&rs, "sample %d: MD stages took %lld and %lld steps, expected %d", s,
                   (long long) ss[STAGE_CSVR], (long long) ss[STAGE_NVE], MD_STEPS);
    if (memcmp(x + 3 * rs.first[s], rs.frozen + 3 * rs.first[s],
               3 * (size_t) specs[s].natoms * sizeof(double)) != 0)
      check_failed(&rs, "sample %d: moved after it was done", s);
  }
  for (int k = 0; k < 3; k++)
    if (x[3 * spectator + k] != spectator_x[k] || v[k * natoms + spectator] != spectator_v[k])
      check_failed(&rs, "the atom outside the engine moved (component %d)", k);

  printf("\n%lld steps (one force evaluation each) in %.2f s; %s\n", (long long) step, elapsed,
         rs.nfailed ? "SELF-CHECKS FAILED" : "all self-checks passed");

  nvdyn_engine_destroy(engine);
  free(x);
  free(v);
  free(f);
  free(pe);
  free(mass);
  free(sample);
  free(index);
  free(rs.frozen);
  free(rs.xbuf);
  return rs.nfailed ? 1 : 0;
}
