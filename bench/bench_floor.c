/* NVDYN benchmark: the floor of benchmark (c), the per-step cost of a fire
 * and a csvr stage on 20000 dimers against fix nve's.
 *
 * bench/lammps/run.sh dimers measures fix nvdyn inside LAMMPS. This program
 * measures the least that the same per-atom and per-sample math can cost,
 * whatever the driver around it: it calls the kernels' functions
 * (kernels/atom.h, kernels/sample.h) on dimers whose two atoms are
 * contiguous, in sample-major loops that keep a sample's sums in registers
 * and run its decision and its atom update while its atoms are in the
 * cache, with no selections, no reductions, no scatter of per-sample sums
 * and no per-sample bookkeeping beyond the kernels' own; masses are the
 * constant 1 (no per-atom mass lookup). The baseline, timed in the same
 * run on the same number of atoms, is fix nve's loop as LAMMPS runs it
 * (row pointers, a group mask test and per-type masses).
 *
 *   fire:  pass 1 per sample: FIRE sums, nvdyn_fire_decide, nvdyn_fire_atom;
 *          (forces); pass 2: the bound of every atom's next step;
 *          nvdyn_end_sample per sample
 *   csvr:  pass 1: nvdyn_kick_drift; (forces); pass 2 per sample: last half
 *          kick with the kinetic energy, nvdyn_csvr_factor, scaling with
 *          the bound of the next step; nvdyn_end_sample per sample
 *   nve:   fix nve's initial_integrate and final_integrate loops
 *
 * Forces (a harmonic bond per dimer) are computed between the passes and
 * not timed. Each figure is the median over the steps of rounds that
 * alternate the three integrators; then the two styles' per-sample
 * decisions alone, on fixed sums. A benchmark, not a test: exit code 0,
 * 1 if the engine cannot be set up, 2 on bad arguments. */
#define _POSIX_C_SOURCE 200809L

#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double) t.tv_sec + 1e-9 * (double) t.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
  const double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double median(double *t, int n)
{
  qsort(t, (size_t) n, sizeof(double), by_value);
  return t[n / 2];
}

/* one integrator's dimers: flat arrays, LAMMPS's row pointers into them,
 * and the samples' state */
typedef struct dimers {
  int n; /* atoms */
  double *x, *v, *f, **xr, **vr, **fr;
  int *mask, *type;
  nvdyn_sample *ss;
} dimers;

static void make_system(dimers *sy, int ndimers, const nvdyn_sample *proto)
{
  const int n = 2 * ndimers;
  sy->n = n;
  sy->x = malloc(sizeof(double) * 3 * (size_t) n);
  sy->v = malloc(sizeof(double) * 3 * (size_t) n);
  sy->f = calloc(3 * (size_t) n, sizeof(double));
  sy->xr = malloc(sizeof(double *) * (size_t) n);
  sy->vr = malloc(sizeof(double *) * (size_t) n);
  sy->fr = malloc(sizeof(double *) * (size_t) n);
  sy->mask = malloc(sizeof(int) * (size_t) n);
  sy->type = malloc(sizeof(int) * (size_t) n);
  sy->ss = malloc(sizeof(nvdyn_sample) * (size_t) ndimers);
  srand(1);
  for (int i = 0; i < n; i++) {
    for (int k = 0; k < 3; k++) {
      sy->x[3 * i + k] = 5.0 * (i / 2) + (k == 0 ? 1.1 * (i % 2) : 0.0) +
          0.05 * (rand() / (double) RAND_MAX - 0.5);
      sy->v[3 * i + k] = 0.5 * (rand() / (double) RAND_MAX - 0.5);
    }
    sy->xr[i] = &sy->x[3 * i];
    sy->vr[i] = &sy->v[3 * i];
    sy->fr[i] = &sy->f[3 * i];
    sy->mask[i] = 1;
    sy->type[i] = 1;
  }
  for (int s = 0; s < ndimers; s++) {
    sy->ss[s] = *proto;
    sy->ss[s].key = (uint64_t) s;
  }
}

/* a harmonic bond of rest length 1.1 in each dimer (not timed) */
static void forces(dimers *sy)
{
  for (int i = 0; i < sy->n; i += 2) {
    double d[3], r2 = 0.0;
    for (int k = 0; k < 3; k++) {
      d[k] = sy->x[3 * i + 3 + k] - sy->x[3 * i + k];
      r2 += d[k] * d[k];
    }
    const double r = sqrt(r2), c = -(r - 1.1) / r;
    for (int k = 0; k < 3; k++) {
      sy->f[3 * i + 3 + k] = c * d[k];
      sy->f[3 * i + k] = -c * d[k];
    }
  }
}

static const double type_mass[2] = {0.0, 1.0};

/* fix nve: initial_integrate (drift 1), final_integrate (drift 0) */
static inline void nve_half(dimers *sy, double dt, const int drift)
{
  const double dtv = dt, dtf = 0.5 * dt; /* ftm2v = 1 (lj) */
  double **x = sy->xr, **v = sy->vr, **f = sy->fr;
  for (int i = 0; i < sy->n; i++)
    if (sy->mask[i] & 1) {
      const double dtfm = dtf / type_mass[sy->type[i]];
      v[i][0] += dtfm * f[i][0];
      v[i][1] += dtfm * f[i][1];
      v[i][2] += dtfm * f[i][2];
      if (drift) {
        x[i][0] += dtv * v[i][0];
        x[i][1] += dtv * v[i][1];
        x[i][2] += dtv * v[i][2];
      }
    }
}

static int end_samples(dimers *sy, const nvdyn_stage_params *sg, const nvdyn_units *u)
{
  int events = 0;
  for (int s = 0; s < sy->n / 2; s++) {
    nvdyn_sample *ss = &sy->ss[s];
    ss->steps++;
    ss->age++;
    events += nvdyn_end_sample(sg, ss, NULL, 0, 0, 1, u) != NVDYN_EVENT_NONE;
  }
  return events;
}

static void fire_pre(dimers *sy, const nvdyn_stage_params *sg, const nvdyn_units *u)
{
  for (int s = 0; s < sy->n / 2; s++) {
    double sum[3] = {0.0, 0.0, 0.0}, vmax = 0.0;
    for (int i = 2 * s; i < 2 * s + 2; i++) {
      const double vm = nvdyn_fire_terms(&sy->v[3 * i], 1, &sy->f[3 * i], 1, 1.0, sum);
      vmax = vm > vmax ? vm : vmax;
    }
    const nvdyn_fire_step c = nvdyn_fire_decide(sg, &sy->ss[s], sum[0], sum[1], sum[2], vmax);
    for (int i = 2 * s; i < 2 * s + 2; i++)
      nvdyn_fire_atom(&sy->x[3 * i], 1, &sy->v[3 * i], 1, &sy->f[3 * i], 1, 1.0, 1.0, u->ftm2v, &c);
  }
}

static int fire_end(dimers *sy, const nvdyn_stage_params *sg, const nvdyn_units *u)
{
  nvdyn_step_bound b = {0.0, 0.0, 0.0, 0.0, 0};
  for (int s = 0; s < sy->n / 2; s++) {
    const double dt = sy->ss[s].fdt, kick = dt * u->ftm2v; /* mass 1 */
    for (int i = 2 * s; i < 2 * s + 2; i++)
      nvdyn_bound_add(&b, &sy->v[3 * i], 1, &sy->f[3 * i], 1, 1.0, kick, dt);
  }
  return nvdyn_bound_flag(&b, u->maxmove) + end_samples(sy, sg, u);
}

static void csvr_pre(dimers *sy, double dt, const nvdyn_units *u)
{
  for (int i = 0; i < sy->n; i++)
    nvdyn_kick_drift(&sy->x[3 * i], 1, &sy->v[3 * i], 1, &sy->f[3 * i], 1, 1.0, dt, u->ftm2v, 1.0);
}

static int csvr_post(dimers *sy, const nvdyn_stage_params *sg, const nvdyn_units *u)
{
  nvdyn_step_bound b = {0.0, 0.0, 0.0, 0.0, 0};
  for (int s = 0; s < sy->n / 2; s++) {
    double mvv = 0.0, hdt = 0.0;
    for (int i = 2 * s; i < 2 * s + 2; i++) {
      hdt = nvdyn_kick_last(&sy->v[3 * i], 1, &sy->f[3 * i], 1, 1.0, sg->dt, u->ftm2v, 1.0);
      mvv += nvdyn_mvv_term(&sy->v[3 * i], 1, 1.0);
    }
    const double scale = nvdyn_csvr_factor(sg, &sy->ss[s], 0.5 * mvv * u->mvv2e, 2.0, u->boltz);
    for (int i = 2 * s; i < 2 * s + 2; i++) {
      nvdyn_scale(&sy->v[3 * i], 1, scale);
      nvdyn_bound_add(&b, &sy->v[3 * i], 1, &sy->f[3 * i], 1, 1.0, hdt, sg->dt);
    }
  }
  return nvdyn_bound_flag(&b, u->maxmove) + end_samples(sy, sg, u);
}

/* the compiled stage and a fresh sample of a one-stage engine of the style */
static int stage_of_style(const char *style, nvdyn_stage_params *sg, nvdyn_sample *ss,
                          nvdyn_units *u)
{
  nvdyn_engine *e;
  int st;
  if (nvdyn_engine_create(&e) != NVDYN_OK) return 1;
  int bad = nvdyn_engine_set(e, "dt", 0.005) || nvdyn_engine_set(e, "maxmove", 0.3) ||
      nvdyn_stage_add(e, style, &st);
  if (!bad && !strcmp(style, "csvr"))
    bad = nvdyn_stage_set(e, st, "temp", 0.5) || nvdyn_stage_set(e, st, "damp", 0.1) ||
        nvdyn_stage_set(e, st, "seed", 48213);
  bad = bad || nvdyn_engine_set_nsamples(e, 1);
  if (bad) {
    fprintf(stderr, "bench_floor: %s\n", nvdyn_engine_last_error(e));
  } else {
    *sg = e->kstages[0];
    *ss = e->samples[0];
    ss->vinit = 0;
    *u = e->units;
  }
  nvdyn_engine_destroy(e);
  return bad;
}

int main(int argc, char **argv)
{
  int ndimers = 20000, rounds = 20, steps = 20;
  for (int k = 1; k < argc; k++) {
    if (!strcmp(argv[k], "-n") && k + 1 < argc) {
      ndimers = atoi(argv[++k]);
    } else if (!strcmp(argv[k], "-r") && k + 1 < argc) {
      rounds = atoi(argv[++k]);
    } else {
      fprintf(stderr, "usage: bench_floor [-n NDIMERS (20000)] [-r ROUNDS (20)]\n");
      return 2;
    }
  }
  if (ndimers < 1 || rounds < 1) {
    fprintf(stderr, "bench_floor: -n and -r must be positive\n");
    return 2;
  }
  nvdyn_stage_params fire, csvr;
  nvdyn_sample fire0, csvr0;
  nvdyn_units u;
  if (stage_of_style("fire", &fire, &fire0, &u) || stage_of_style("csvr", &csvr, &csvr0, &u))
    return 1;
  const double dt = csvr.dt;
  dimers sn, sf, sc;
  make_system(&sn, ndimers, &fire0);
  make_system(&sf, ndimers, &fire0);
  make_system(&sc, ndimers, &csvr0);
  forces(&sn);
  forces(&sf);
  forces(&sc);
  const int total = rounds * steps;
  double *tn = malloc(sizeof(double) * (size_t) total),
         *tf = malloc(sizeof(double) * (size_t) total),
         *tc = malloc(sizeof(double) * (size_t) total);
  int flags = 0;
  for (int r = -1; r < rounds; r++) /* round -1: warm-up, not counted */
    for (int q = 0; q < 3; q++)
      for (int k = 0; k < steps; k++) {
        const int at = r * steps + k;
        double t0, t1, t2, t3;
        dimers *sy = q == 0 ? &sn : q == 1 ? &sf : &sc;
        t0 = now();
        if (q == 0)
          nve_half(sy, dt, 1);
        else if (q == 1)
          fire_pre(sy, &fire, &u);
        else
          csvr_pre(sy, dt, &u);
        t1 = now();
        forces(sy);
        t2 = now();
        if (q == 0)
          nve_half(sy, dt, 0);
        else if (q == 1)
          flags += fire_end(sy, &fire, &u);
        else
          flags += csvr_post(sy, &csvr, &u);
        t3 = now();
        if (r >= 0) (q == 0 ? tn : q == 1 ? tf : tc)[at] = t1 - t0 + t3 - t2;
      }
  /* the per-sample decisions alone, on the sums of a dimer at rest */
  double *df = malloc(sizeof(double) * (size_t) rounds),
         *dc = malloc(sizeof(double) * (size_t) rounds);
  double fsum = 0.0;
  for (int r = 0; r < rounds; r++) {
    const double t0 = now();
    for (int s = 0; s < ndimers; s++)
      fsum += nvdyn_fire_decide(&fire, &sf.ss[s], 1e-3, 0.1, 0.2, 0.2).s2;
    const double t1 = now();
    for (int s = 0; s < ndimers; s++)
      fsum += nvdyn_csvr_factor(&csvr, &sc.ss[s], 0.7, 2.0, u.boltz);
    df[r] = t1 - t0;
    dc[r] = now() - t1;
  }
  const double n = median(tn, total), f = median(tf, total), c = median(tc, total);
  const double per = 1e9 / ndimers;
  printf("%d dimers, median of %d steps each (flags %d, checksum %g)\n", ndimers, total, flags,
         fsum);
  printf("%-40s %14s %10s\n", "per step", "ns/sample-step", "/fix nve");
  printf("%-40s %14.2f %10.2f\n", "fix nve (LAMMPS's loops)", n * per, 1.0);
  printf("%-40s %14.2f %10.2f\n", "fire: floor of the kernels' math", f * per, f / n);
  printf("%-40s %14.2f %10.2f\n", "csvr: floor of the kernels' math", c * per, c / n);
  printf("%-40s %14.2f %10.2f\n", "fire: nvdyn_fire_decide alone", median(df, rounds) * per,
         median(df, rounds) / n);
  printf("%-40s %14.2f %10.2f\n", "csvr: nvdyn_csvr_factor alone", median(dc, rounds) * per,
         median(dc, rounds) / n);
  free(df);
  free(dc);
  free(tn);
  free(tf);
  free(tc);
  return 0;
}
