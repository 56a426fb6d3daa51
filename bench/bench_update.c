/* NVDYN benchmark: host integrator updates on many atoms, as a ratio to the
 * memory-copy bandwidth measured in the same run.
 *
 * Every round times one memcpy of a buffer the size of x+v+f, then one whole
 * step (begin_step, pre_update, begin_compute, end_compute, post_update,
 * end_step; no force evaluation: the forces stay as filled) of each engine,
 * every call timed on its own and started with the atom arrays evicted from
 * the caches; then plain C reference loops of the nve updates. Each figure
 * is the best over the rounds, so the baseline and the updates are sampled
 * over the same stretch of time.
 *
 * Effective bandwidth of an update = (bytes per atom of its byte model) *
 * natoms / time; the byte model counts what the update has to read and
 * write once (see doc/performance.md). Target: nve pre_update, nve
 * post_update and fire pre_update reach at least half of the memcpy
 * bandwidth. This is a benchmark, not a test: the exit code is 0 whether or
 * not the target is met, 1 if an engine call fails, 2 on bad arguments. */
#define _POSIX_C_SOURCE 200809L

#include "nvdyn.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TARGET_RATIO 0.5

/* ---- byte models (bytes per atom; doc/performance.md) ---------------- */
/* x, v, f: 24 B each; sample, type: 4 B each; index: 4 B; rmass: 8 B. With
 * per-atom masses, rmass (8 B) is read instead of type (4 B). */
#define B_VEC 24
#define B_INT 4

/* ---- timing ---------------------------------------------------------- */

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

/* ---- deterministic pseudo-random numbers (splitmix64) ----------------- */

static uint64_t rng_next(uint64_t *s)
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* uniform in [-0.5, 0.5) */
static double rng_uniform(uint64_t *s)
{
  return (double) (rng_next(s) >> 11) * (1.0 / 9007199254740992.0) - 0.5;
}

/* ---- engines --------------------------------------------------------- */

enum phase { P_BEGIN_STEP, P_PRE, P_BEGIN_COMPUTE, P_END_COMPUTE, P_POST, P_END_STEP, NPHASES };

typedef struct bench_engine {
  const char *label; /* row label */
  const char *style;
  int nan;
  nvdyn_engine *engine;
  double best[NPHASES]; /* best time of each call over the rounds, s */
  double best_step;     /* best time of a whole step, s */
} bench_engine;

static void die_engine(const bench_engine *b, const char *call, nvdyn_status st)
{
  fprintf(stderr, "bench_update: %s (%s engine) failed: %s: %s\n", call, b->label,
          nvdyn_status_string(st), b->engine ? nvdyn_engine_last_error(b->engine) : "");
  exit(1);
}

#define CHECK(b, call)                                                                             \
  do {                                                                                             \
    nvdyn_status st_ = (call);                                                                     \
    if (st_ != NVDYN_OK) die_engine((b), #call, st_);                                              \
  } while (0)

static void engine_setup(bench_engine *b, int nsamples, double dt)
{
  nvdyn_engine *e = NULL;
  int stage = -1;
  CHECK(b, nvdyn_engine_create(&e));
  b->engine = e;
  CHECK(b, nvdyn_engine_set(e, "dt", dt));
  CHECK(b, nvdyn_engine_set(e, "nan", b->nan));
  CHECK(b, nvdyn_stage_add(e, b->style, &stage));
  if (!strcmp(b->style, "langevin") || !strcmp(b->style, "csvr") || !strcmp(b->style, "nhc")) {
    CHECK(b, nvdyn_stage_set(e, stage, "temp", 1.0));
    CHECK(b, nvdyn_stage_set(e, stage, "damp", 1.0));
  }
  if (!strcmp(b->style, "langevin") || !strcmp(b->style, "csvr"))
    CHECK(b, nvdyn_stage_set(e, stage, "seed", 12345));
  CHECK(b, nvdyn_engine_set_nsamples(e, nsamples));
  for (int p = 0; p < NPHASES; ++p) b->best[p] = INFINITY;
  b->best_step = INFINITY;
}

/* ---- cache flushing -------------------------------------------------- */
/* Every timed call starts with the caches holding none of the atom arrays:
 * before it, a buffer several times the last-level cache is read (read,
 * not written, so no dirty lines of it are written back during the timed
 * call). With --flush 0, no flushing: a call finds in the caches what the
 * previous one left there. */

static const uint64_t *flush_buf;
static size_t flush_words;
static volatile uint64_t flush_sink;

static void flush_caches(void)
{
  uint64_t acc = 0;
  for (size_t k = 0; k < flush_words; ++k) acc ^= flush_buf[k];
  flush_sink ^= acc;
}

#define TIMED(slot, call)                                                                          \
  do {                                                                                             \
    flush_caches();                                                                                \
    const double t0_ = now();                                                                      \
    CHECK(b, call);                                                                                \
    (slot) = now() - t0_;                                                                          \
  } while (0)

/* One step of b's engine, every call timed on its own; keep the best times
 * of each call and of their sum. */
static void engine_step(bench_engine *b, const nvdyn_atoms *atoms)
{
  nvdyn_engine *e = b->engine;
  double t[NPHASES], sum = 0.0;
  int nchanged = 0;
  TIMED(t[P_BEGIN_STEP], nvdyn_begin_step(e, atoms));
  TIMED(t[P_PRE], nvdyn_pre_update(e, atoms));
  TIMED(t[P_BEGIN_COMPUTE], nvdyn_begin_compute(e, atoms));
  TIMED(t[P_END_COMPUTE], nvdyn_end_compute(e, atoms));
  TIMED(t[P_POST], nvdyn_post_update(e, atoms));
  TIMED(t[P_END_STEP], nvdyn_end_step(e, atoms, &nchanged));
  for (int p = 0; p < NPHASES; ++p) {
    if (t[p] < b->best[p]) b->best[p] = t[p];
    sum += t[p];
  }
  if (sum < b->best_step) b->best_step = sum;
}

/* Number of samples still active (a frozen sample would make the updates
 * cheaper than they are). */
static int engine_nactive(bench_engine *b, int nsamples)
{
  int *outcome = malloc((size_t) nsamples * sizeof(int));
  int nactive = 0;
  if (!outcome) {
    fprintf(stderr, "bench_update: out of memory\n");
    exit(1);
  }
  CHECK(b, nvdyn_get_sample_outcomes(b->engine, outcome));
  for (int s = 0; s < nsamples; ++s) nactive += outcome[s] == NVDYN_ACTIVE;
  free(outcome);
  return nactive;
}

/* ---- reference loops ------------------------------------------------- */
/* Plain C loops doing the nve updates on the same arrays, without the
 * engine: what a simple compiled loop reaches on this machine, so the gap
 * between it and the engine is the engine's own overhead. Informational. */

static double atom_mass(const nvdyn_atoms *a, int i)
{
  return a->rmass ? a->rmass[i] : a->type_mass[a->type[i]];
}

static void ref_nve_pre(const nvdyn_atoms *a, double dt)
{
  double *x = a->x.data, *v = a->v.data;
  const double *f = a->f.data;
  const ptrdiff_t xa = a->x.atom_stride, xc = a->x.comp_stride;
  const ptrdiff_t va = a->v.atom_stride, vc = a->v.comp_stride;
  const ptrdiff_t fa = a->f.atom_stride, fc = a->f.comp_stride;
  for (int i = 0; i < a->natoms; ++i) {
    if (a->sample[i] < 0) continue;
    const double dtfm = 0.5 * dt / atom_mass(a, i);
    for (int k = 0; k < 3; ++k) {
      v[i * va + k * vc] += dtfm * f[i * fa + k * fc];
      x[i * xa + k * xc] += dt * v[i * va + k * vc];
    }
  }
}

static void ref_nve_post(const nvdyn_atoms *a, double dt)
{
  double *v = a->v.data;
  const double *f = a->f.data;
  const ptrdiff_t va = a->v.atom_stride, vc = a->v.comp_stride;
  const ptrdiff_t fa = a->f.atom_stride, fc = a->f.comp_stride;
  for (int i = 0; i < a->natoms; ++i) {
    if (a->sample[i] < 0) continue;
    const double dtfm = 0.5 * dt / atom_mass(a, i);
    for (int k = 0; k < 3; ++k) v[i * va + k * vc] += dtfm * f[i * fa + k * fc];
  }
}

/* ---- output ---------------------------------------------------------- */

static double memcpy_bw; /* bytes/s, read + write */
static int64_t natoms_total;

/* One table row. bytes <= 0: no byte model (no GB/s, no ratio).
 * target: 1 if the row is checked against TARGET_RATIO. Returns 1 if a
 * checked row misses the target. */
static int row(const char *label, double seconds, double bytes, int target)
{
  const double n = (double) natoms_total;
  if (bytes > 0)
    printf("%-30s %7.0f", label, bytes);
  else
    printf("%-30s %7s", label, "-");
  printf(" %9.3f %12.1f", 1e9 * seconds / n, 1e-6 * n / seconds);
  if (bytes > 0) {
    const double bw = bytes * n / seconds;
    printf(" %8.2f %6.3f", 1e-9 * bw, bw / memcpy_bw);
    if (target) printf("  %s", bw / memcpy_bw >= TARGET_RATIO ? "PASS" : "FAIL");
    printf("\n");
    return target && bw / memcpy_bw < TARGET_RATIO;
  }
  printf(" %8s %6s\n", "-", "-");
  return 0;
}

static void usage(FILE *out)
{
  fprintf(out,
          "usage: bench_update [-n NATOMS] [-s NSAMPLES] [-r ROUNDS] [--rmass] [--flush MB]\n"
          "  -n NATOMS    number of atoms (default 1048576)\n"
          "  -s NSAMPLES  number of samples of contiguous atoms (default 1024)\n"
          "  -r ROUNDS    rounds; each figure is the best over them (default 20)\n"
          "  --rmass      per-atom masses (rmass) instead of per-type masses\n"
          "  --flush MB   size of the buffer read before every timed call to evict the\n"
          "               atom arrays from the caches (default 128; 0: no flushing)\n");
}

static long parse_long(const char *opt, const char *arg, long min, long max)
{
  char *end = NULL;
  long value;
  if (!arg) {
    fprintf(stderr, "bench_update: %s needs a value\n", opt);
    exit(2);
  }
  value = strtol(arg, &end, 10);
  if (!*arg || *end || value < min || value > max) {
    fprintf(stderr, "bench_update: %s: expected an integer in [%ld, %ld], got '%s'\n", opt, min,
            max, arg);
    exit(2);
  }
  return value;
}

int main(int argc, char **argv)
{
  long natoms = 1L << 20, nsamples = 1024, rounds = 20;
  long flush_mb = 128;
  int use_rmass = 0;
  const double dt = 1e-6;

  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "-n"))
      natoms = parse_long("-n", i + 1 < argc ? argv[++i] : NULL, 1, 200000000L);
    else if (!strcmp(argv[i], "-s"))
      nsamples = parse_long("-s", i + 1 < argc ? argv[++i] : NULL, 1, 100000000L);
    else if (!strcmp(argv[i], "-r"))
      rounds = parse_long("-r", i + 1 < argc ? argv[++i] : NULL, 1, 1000000L);
    else if (!strcmp(argv[i], "--flush"))
      flush_mb = parse_long("--flush", i + 1 < argc ? argv[++i] : NULL, 0, 65536L);
    else if (!strcmp(argv[i], "--rmass"))
      use_rmass = 1;
    else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (nsamples > natoms) {
    fprintf(stderr, "bench_update: more samples (%ld) than atoms (%ld)\n", nsamples, natoms);
    return 2;
  }
  natoms_total = natoms;

  /* ---- atoms: interleaved x/v/f, contiguous samples, one type */
  const size_t n = (size_t) natoms;
  const size_t vec_bytes = 3 * n * sizeof(double);
  double *x = malloc(vec_bytes), *v = malloc(vec_bytes), *f = malloc(vec_bytes);
  double *rmass = malloc(n * sizeof(double));
  int *type = malloc(n * sizeof(int)), *sample = malloc(n * sizeof(int));
  int32_t *index = malloc(n * sizeof(int32_t));
  /* memcpy baseline: a buffer the size of x + v + f */
  const size_t copy_bytes = 3 * vec_bytes;
  char *src = malloc(copy_bytes), *dst = malloc(copy_bytes);
  flush_words = (size_t) flush_mb * (1u << 20) / sizeof(uint64_t);
  uint64_t *flush_mem = flush_words ? malloc(flush_words * sizeof(uint64_t)) : NULL;
  if (flush_words && !flush_mem) {
    fprintf(stderr, "bench_update: out of memory\n");
    return 1;
  }
  for (size_t k = 0; k < flush_words; ++k) flush_mem[k] = k;
  flush_buf = flush_mem;
  if (!x || !v || !f || !rmass || !type || !sample || !index || !src || !dst) {
    fprintf(stderr, "bench_update: out of memory\n");
    return 1;
  }
  const double type_mass[2] = {0.0, 1.0};
  long side = 1;
  while ((double) side * side * side < (double) natoms) ++side;
  uint64_t seed = 20240501;
  for (size_t i = 0; i < n; ++i) {
    const double a = 1.1; /* simple cubic lattice */
    x[3 * i + 0] = a * (double) (i % (size_t) side);
    x[3 * i + 1] = a * (double) ((i / (size_t) side) % (size_t) side);
    x[3 * i + 2] = a * (double) (i / ((size_t) side * (size_t) side));
    for (int k = 0; k < 3; ++k) {
      v[3 * i + k] = 0.1 * rng_uniform(&seed);
      f[3 * i + k] = rng_uniform(&seed);
    }
    rmass[i] = 1.0 + 0.5 * rng_uniform(&seed);
    type[i] = 1;
    sample[i] = (int) ((int64_t) i * nsamples / natoms);
    index[i] = (int32_t) (i - (int64_t) sample[i] * natoms / nsamples);
  }
  memset(src, 1, copy_bytes); /* touch both buffers: no page faults timed */
  memset(dst, 2, copy_bytes);

  nvdyn_atoms atoms;
  memset(&atoms, 0, sizeof(atoms));
  atoms.natoms = (int) natoms;
  atoms.x = (nvdyn_view3){x, 3, 1};
  atoms.v = (nvdyn_view3){v, 3, 1};
  atoms.f = (nvdyn_view3){f, 3, 1};
  atoms.rmass = use_rmass ? rmass : NULL;
  atoms.type_mass = type_mass;
  atoms.type = type;
  atoms.ntypes = 1;
  atoms.sample = sample;
  atoms.index = index;
  atoms.pe = NULL;

  bench_engine engines[] = {
      {"nve", "nve", 1, NULL, {0}, 0},   {"nve nan=0", "nve", 0, NULL, {0}, 0},
      {"fire", "fire", 1, NULL, {0}, 0}, {"langevin", "langevin", 1, NULL, {0}, 0},
      {"csvr", "csvr", 1, NULL, {0}, 0}, {"nhc", "nhc", 1, NULL, {0}, 0},
  };
  enum { E_NVE, E_NVE_NONAN, E_FIRE, E_LANGEVIN, E_CSVR, E_NHC, NENGINES };
  for (int k = 0; k < NENGINES; ++k) engine_setup(&engines[k], (int) nsamples, dt);

  /* ---- rounds: warm-up first (not timed), then the timed ones */
  double best_copy = INFINITY, best_ref_pre = INFINITY, best_ref_post = INFINITY;
  for (int k = 0; k < NENGINES; ++k) engine_step(&engines[k], &atoms);
  memcpy(dst, src, copy_bytes);
  for (int k = 0; k < NENGINES; ++k) {
    for (int p = 0; p < NPHASES; ++p) engines[k].best[p] = INFINITY;
    engines[k].best_step = INFINITY;
  }
  for (long r = 0; r < rounds; ++r) {
    flush_caches();
    double t0 = now();
    memcpy(dst, src, copy_bytes);
    double t1 = now();
    flush_sink ^= (unsigned char) dst[(size_t) r % copy_bytes]; /* keep the copy observable */
    if (t1 - t0 < best_copy) best_copy = t1 - t0;
    for (int k = 0; k < NENGINES; ++k) engine_step(&engines[k], &atoms);
    flush_caches();
    t0 = now();
    ref_nve_pre(&atoms, dt);
    t1 = now();
    if (t1 - t0 < best_ref_pre) best_ref_pre = t1 - t0;
    flush_caches();
    t0 = now();
    ref_nve_post(&atoms, dt);
    t1 = now();
    if (t1 - t0 < best_ref_post) best_ref_post = t1 - t0;
  }
  memcpy_bw = 2.0 * (double) copy_bytes / best_copy;

  /* ---- report */
  /* Byte models: what each update has to read and write once per atom, as
   * src/core/nvdyn.c does it (doc/performance.md). M: the mass, type (4 B)
   * or rmass (8 B); S: the sample index (4 B). Not counted: the validation
   * pass every call makes over S and type (b_check). */
  const double M = use_rmass ? 8 : B_INT, S = B_INT;
  const double b_check = S + (use_rmass ? 0 : B_INT);        /* r S, type */
  const double b_kick = S + M + 2 * B_VEC + B_VEC;           /* r S,M,v,f; w v */
  const double b_kick_drift = S + M + 3 * B_VEC + 2 * B_VEC; /* r S,M,x,v,f; w x,v */
  const double b_stats = S + M + 3 * B_VEC;                  /* r S,M,x,v,f */
  const double b_ke = S + M + B_VEC;                         /* r S,M,v */
  const double b_scale = S + 2 * B_VEC;                      /* r S,v; w v */
  const double b_fire_sums = S + 2 * B_VEC;                  /* r S,v,f */
  const double b_nve_pre = b_kick_drift, b_nve_post = b_kick;
  const double b_fire_pre = b_fire_sums + b_kick_drift;
  const double b_langevin_pre = b_kick_drift + B_INT; /* + the index in the sample, key of the noise */

  printf("NVDYN bench_update: %ld atoms in %ld samples, %ld rounds (best of), %s masses,\n"
         "interleaved x/v/f (atom_stride 3, comp_stride 1), dt %g, no force evaluation\n",
         natoms, nsamples, rounds, use_rmass ? "per-atom (rmass)" : "per-type", dt);
  if (natoms < (1L << 20))
    printf("note: fewer than 2^20 atoms: the arrays may fit in the caches; the target is\n"
           "defined for >= 2^20 atoms\n");
  if (flush_mb)
    printf("caches flushed before every timed call (%ld MiB read)\n", flush_mb);
  else
    printf("caches not flushed between calls (--flush 0)\n");
  printf("memcpy baseline: %.1f MB copied, %.2f GB/s (read + write)\n\n",
         1e-6 * (double) copy_bytes, 1e-9 * memcpy_bw);
  printf("%-30s %7s %9s %12s %8s %6s  %s\n", "update", "B/atom", "ns/atom", "Matom-steps/s", "GB/s",
         "ratio", "target >= 0.5");
  printf("%-30s %7d %9.3f %12.1f %8.2f %6.3f\n", "memcpy (x+v+f size)", 3 * 2 * B_VEC,
         1e9 * best_copy / (double) natoms, 1e-6 * (double) natoms / best_copy, 1e-9 * memcpy_bw,
         1.0);

  int missed = 0;
  const bench_engine *nve = &engines[E_NVE], *nve0 = &engines[E_NVE_NONAN];
  const bench_engine *fire = &engines[E_FIRE], *lgv = &engines[E_LANGEVIN];
  const bench_engine *csvr = &engines[E_CSVR], *nhc = &engines[E_NHC];
  missed += row("nve pre_update", nve->best[P_PRE], b_nve_pre, 1);
  missed += row("nve post_update", nve->best[P_POST], b_nve_post, 1);
  missed += row("fire pre_update", fire->best[P_PRE], b_fire_pre, 1);
  printf("-- informational (no target)\n");
  row("nve end_step nan=1", nve->best[P_END_STEP], b_stats, 0);
  row("nve end_step nan=0", nve0->best[P_END_STEP], b_stats, 0);
  row("nve begin_step", nve->best[P_BEGIN_STEP], b_check, 0);
  row("nve begin_compute", nve->best[P_BEGIN_COMPUTE], b_check, 0);
  row("nve end_compute", nve->best[P_END_COMPUTE], b_check, 0);
  row("nve whole step nan=1", nve->best_step, b_nve_pre + b_nve_post + b_stats, 0);
  row("nve whole step nan=0", nve0->best_step, b_nve_pre + b_nve_post + b_stats, 0);
  row("reference loop: nve pre", best_ref_pre, b_nve_pre, 0);
  row("reference loop: nve post", best_ref_post, b_nve_post, 0);
  row("fire post_update", fire->best[P_POST], 0, 0);
  row("fire end_step", fire->best[P_END_STEP], b_stats, 0);
  row("fire whole step", fire->best_step, b_fire_pre + b_stats, 0);
  row("langevin pre_update", lgv->best[P_PRE], b_langevin_pre, 0);
  row("langevin post_update", lgv->best[P_POST], b_kick, 0);
  row("csvr pre_update", csvr->best[P_PRE], b_kick_drift, 0);
  row("csvr post_update", csvr->best[P_POST], b_kick + b_scale, 0);
  row("nhc pre_update", nhc->best[P_PRE], b_ke + b_kick_drift, 0);
  row("nhc post_update", nhc->best[P_POST], b_kick + b_scale, 0);

  printf("\nB/atom: byte model (doc/performance.md); GB/s = B/atom * atoms / time;\n"
         "ratio = GB/s / memcpy GB/s.\n");
  for (int k = 0; k < NENGINES; ++k) {
    const int nactive = engine_nactive(&engines[k], (int) nsamples);
    if (nactive != nsamples)
      printf("warning: %s engine: only %d of %ld samples still active\n", engines[k].label, nactive,
             nsamples);
  }
  printf("target (nve pre/post, fire pre >= %.1f of memcpy): %s\n", TARGET_RATIO,
         missed ? "NOT MET" : "MET");

  for (int k = 0; k < NENGINES; ++k) nvdyn_engine_destroy(engines[k].engine);
  free(x);
  free(v);
  free(f);
  free(rmass);
  free(type);
  free(sample);
  free(index);
  free(src);
  free(dst);
  free(flush_mem);
  return 0;
}
