/* A small Lennard-Jones model for batches of clusters, used by the
 * stand-alone C example (c_clusters.c) and by the unit tests of libnvdyn.
 *
 * Reduced units: epsilon = sigma = 1, no cutoff. Positions are either
 * strided views (lj_forces) or interleaved arrays x[3 * i + k] (everything
 * else). No global state. */
#ifndef NVDYN_LJ_MODEL_H
#define NVDYN_LJ_MODEL_H

#include "nvdyn.h"
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Lennard-Jones, epsilon = sigma = 1, no cutoff, on a batch of clusters:
 * atoms i and j interact only when sample[i] == sample[j] >= 0; the atoms of
 * one sample must be contiguous in the arrays. Reads atoms->x (any strides
 * allowed by nvdyn_view3), overwrites atoms->f for every atom (0 for atoms
 * with sample < 0) and, if atoms->pe is not NULL, the per-atom energy (half of
 * each pair energy) -- pe is const in nvdyn_atoms, cast it. Returns 0. Usable
 * as an nvdyn_force_fn (user is ignored).
 * A NULL atoms->sample puts all atoms in one cluster; a NULL atoms returns -1. */
int lj_forces(const nvdyn_atoms *atoms, void *user);

/* Total LJ energy of one cluster of n atoms, x interleaved (3n). */
double lj_energy(int n, const double *x);

/* Start geometries, x interleaved (3n), centred at the origin: */

/* 13-atom icosahedron (LJ13 global minimum shape), near-equilibrium spacing */
void lj_cluster_ico13(double *x);

/* 38-atom truncated octahedron (LJ38 global minimum shape): fcc points with
 * odd coordinate sum (i+j+k odd) and i^2+j^2+k^2 <= 5 around an octahedral
 * hole: 6 + 8 + 24 = 38, scaled so the nearest-neighbour distance is 2^(1/6) */
void lj_cluster_to38(double *x);

/* The n fcc lattice points nearest the origin (an atom-centred lattice:
 * integer points with even coordinate sum; ties broken by increasing i, then
 * j, then k), nearest-neighbour distance 2^(1/6), shifted so that their
 * centroid is the origin (a no-op for closed shells: n = 1, 13, 19, 43, 55,
 * ...). */
void lj_cluster_fcc(int n, double *x);

/* Add to every coordinate a uniform displacement in [-amp, amp],
 * deterministic from seed (a splitmix64 generator local to the call). */
void lj_perturb(int n, double *x, double amp, uint64_t seed);

#ifdef __cplusplus
}
#endif

#endif /* NVDYN_LJ_MODEL_H */
