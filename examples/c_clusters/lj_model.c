/* Lennard-Jones model for batches of clusters. See lj_model.h. */
#include "lj_model.h"

#include <math.h>

/* Component k of atom i of a strided view. */
#define AT(w, i, k)                                                                                \
  ((w).data[(ptrdiff_t) (i) * (w).atom_stride + (ptrdiff_t) (k) * (w).comp_stride])

/* Centre-to-vertex distance of the LJ13 icosahedron at its energy minimum
 * (the Ih minimum has a single free parameter; this radius gives
 * -44.326801). */
#define ICO13_RADIUS 1.0818383

/* Pair energy and force factor of the LJ potential at squared distance r2:
 * e = 4 (r^-12 - r^-6); the force on atom i from atom j is fpair * (xi - xj). */
static inline void lj_pair(double r2, double *e, double *fpair)
{
  const double ir2 = 1.0 / r2;
  const double ir6 = ir2 * ir2 * ir2;
  *e = 4.0 * ir6 * (ir6 - 1.0);
  *fpair = 24.0 * ir6 * (2.0 * ir6 - 1.0) * ir2;
}

/* Forces (and per-atom energies if pe is not NULL) of the atoms
 * [begin, end), one cluster. f and pe must be zero on entry. */
static void cluster_forces(const nvdyn_atoms *a, double *pe, int begin, int end)
{
  for (int i = begin; i < end; i++) {
    const double xi = AT(a->x, i, 0), yi = AT(a->x, i, 1), zi = AT(a->x, i, 2);
    double fx = 0.0, fy = 0.0, fz = 0.0, ei = 0.0;
    for (int j = i + 1; j < end; j++) {
      const double dx = xi - AT(a->x, j, 0);
      const double dy = yi - AT(a->x, j, 1);
      const double dz = zi - AT(a->x, j, 2);
      double e, fpair;
      lj_pair(dx * dx + dy * dy + dz * dz, &e, &fpair);
      fx += fpair * dx;
      fy += fpair * dy;
      fz += fpair * dz;
      AT(a->f, j, 0) -= fpair * dx;
      AT(a->f, j, 1) -= fpair * dy;
      AT(a->f, j, 2) -= fpair * dz;
      ei += 0.5 * e;
      if (pe) pe[j] += 0.5 * e;
    }
    AT(a->f, i, 0) += fx;
    AT(a->f, i, 1) += fy;
    AT(a->f, i, 2) += fz;
    if (pe) pe[i] += ei;
  }
}

int lj_forces(const nvdyn_atoms *atoms, void *user)
{
  (void) user;
  if (!atoms) return -1;
  const int n = atoms->natoms;
  const int *sample = atoms->sample;
  double *pe = (double *) atoms->pe; /* const only towards the engine */
  for (int i = 0; i < n; i++) {
    AT(atoms->f, i, 0) = AT(atoms->f, i, 1) = AT(atoms->f, i, 2) = 0.0;
    if (pe) pe[i] = 0.0;
  }
  /* Walk the runs of equal sample index; each run of a sample >= 0 is one
   * cluster. */
  int begin = 0;
  while (begin < n) {
    const int s = sample ? sample[begin] : 0;
    int end = begin + 1;
    while (end < n && (sample ? sample[end] : 0) == s) end++;
    if (s >= 0) cluster_forces(atoms, pe, begin, end);
    begin = end;
  }
  return 0;
}

double lj_energy(int n, const double *x)
{
  double etot = 0.0;
  for (int i = 0; i < n; i++) {
    for (int j = i + 1; j < n; j++) {
      const double dx = x[3 * i] - x[3 * j];
      const double dy = x[3 * i + 1] - x[3 * j + 1];
      const double dz = x[3 * i + 2] - x[3 * j + 2];
      double e, fpair;
      lj_pair(dx * dx + dy * dy + dz * dz, &e, &fpair);
      etot += e;
    }
  }
  return etot;
}

void lj_cluster_ico13(double *x)
{
  /* Vertices of an icosahedron: the cyclic permutations of (0, +-1, +-phi),
   * at distance sqrt(1 + phi^2) from the centre; atom 0 is the centre. */
  const double phi = 0.5 * (1.0 + sqrt(5.0));
  const double scale = ICO13_RADIUS / sqrt(1.0 + phi * phi);
  x[0] = x[1] = x[2] = 0.0;
  int m = 1;
  for (int a = -1; a <= 1; a += 2) {
    for (int b = -1; b <= 1; b += 2) {
      const double v[3] = {0.0, a, b * phi};
      for (int c = 0; c < 3; c++, m++)
        for (int k = 0; k < 3; k++) x[3 * m + k] = scale * v[(k + 3 - c) % 3];
    }
  }
}

void lj_cluster_to38(double *x)
{
  /* On the simple-cubic grid, points with odd i+j+k form an fcc lattice of
   * nearest-neighbour distance sqrt(2) whose octahedral hole is the origin. */
  const double scale = pow(2.0, 1.0 / 6.0) / sqrt(2.0);
  int m = 0;
  for (int i = -2; i <= 2; i++)
    for (int j = -2; j <= 2; j++)
      for (int k = -2; k <= 2; k++) {
        if (((i + j + k) & 1) == 0 || i * i + j * j + k * k > 5) continue;
        x[3 * m] = scale * i;
        x[3 * m + 1] = scale * j;
        x[3 * m + 2] = scale * k;
        m++;
      }
}

/* floor(sqrt(k2)) of an integer k2 >= 0, exact. */
static int isqrt_floor(int k2)
{
  int s = (int) sqrt((double) k2);
  while (s * s > k2) s--;
  while ((s + 1) * (s + 1) <= k2) s++;
  return s;
}

/* Store grid point (i, j, k) as atom m of x, unscaled. */
static inline void store_point(double *x, int m, int i, int j, int k)
{
  x[3 * m] = i;
  x[3 * m + 1] = j;
  x[3 * m + 2] = k;
}

void lj_cluster_fcc(int n, double *x)
{
  if (n <= 0) return;
  /* Points with even i+j+k form an fcc lattice (nearest-neighbour distance
   * sqrt(2)) with an atom at the origin; since i+j+k and i^2+j^2+k^2 have
   * the same parity, its shells are the even values of r2 = i^2+j^2+k^2.
   * Walk the shells outwards, each in increasing (i, j, k) order, until n
   * points are stored (unscaled for now): no memory, O(n^(4/3)) time. */
  int m = 0;
  for (int r2 = 0; m < n; r2 += 2) {
    const int rmax = isqrt_floor(r2);
    for (int i = -rmax; i <= rmax && m < n; i++)
      for (int j = -rmax; j <= rmax && m < n; j++) {
        const int k2 = r2 - i * i - j * j;
        if (k2 < 0) continue;
        const int s = isqrt_floor(k2);
        if (s * s != k2) continue;
        store_point(x, m++, i, j, -s);
        if (s > 0 && m < n) store_point(x, m++, i, j, s);
      }
  }
  /* Move the centroid to the origin (the sums of small integers are exact,
   * so closed shells stay exactly centred) and scale to nearest-neighbour
   * distance 2^(1/6). */
  const double scale = pow(2.0, 1.0 / 6.0) / sqrt(2.0);
  double sum[3] = {0.0, 0.0, 0.0};
  for (m = 0; m < n; m++)
    for (int k = 0; k < 3; k++) sum[k] += x[3 * m + k];
  for (m = 0; m < n; m++)
    for (int k = 0; k < 3; k++) x[3 * m + k] = scale * (x[3 * m + k] - sum[k] / n);
}

/* splitmix64: one 64-bit output per call, the state advanced in place. */
static inline uint64_t splitmix64(uint64_t *state)
{
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void lj_perturb(int n, double *x, double amp, uint64_t seed)
{
  uint64_t state = seed;
  for (int m = 0; m < 3 * n; m++) {
    /* 53 random bits -> u in [0, 1) -> [-amp, amp) */
    const double u = (double) (splitmix64(&state) >> 11) * 0x1.0p-53;
    x[m] += amp * (2.0 * u - 1.0);
  }
}
