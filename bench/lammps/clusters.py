#!/usr/bin/python3
"""Lennard-Jones clusters for NVDYN benchmark (b), and their energies.

Generates, deterministically from a seed, NCLUSTERS clusters of mixed sizes
(uniform in MIN..MAX atoms): each is the N sites of an fcc lattice (nearest-
neighbour distance 2^(1/6), the LJ pair minimum) closest to a lattice site,
every coordinate then perturbed by a uniform random amount in [-AMP, AMP].
The clusters sit at the centres of the cells of a grid whose spacing exceeds
the largest cluster diameter plus the pair cutoff plus the neighbour skin,
so no two clusters ever interact.

Writes, into OUTDIR:
  clusters.data        all clusters in one box, molecule ID k = cluster k
  cluster_K.data       cluster K alone, in a box that is its grid cell
                       (K = 1..NCLUSTERS, same coordinates as in clusters.data)
LAMMPS data files for atom_style bond (no bonds), lj units, one atom type.

Also evaluates the energy and the largest per-atom force norm of each
cluster of a LAMMPS dump (columns id mol x y z) or of the extended-XYZ sink
of fix nvdyn, for lj/cut with the energy
shifted to zero at the cutoff, so the three relaxation methods of the
benchmark are compared by one independent calculation.

Standalone: clusters.py OUTDIR [-n 256] [--min 13] [--max 60] [--seed 1] [--amp 0.1]
"""

import argparse
import os
import re

import numpy as np

RMIN = 2.0 ** (1.0 / 6.0)    # LJ pair minimum, sigma = 1


def fcc_ball(natoms):
    """The natoms fcc sites (nearest-neighbour distance RMIN) closest to the
    origin, a lattice site; ties broken by a fixed order, so deterministic."""
    a = RMIN * np.sqrt(2.0)    # cubic lattice constant
    m = int(np.ceil((natoms / 4.0) ** (1.0 / 3.0))) + 2
    r = np.arange(-m, m + 1)
    cells = np.array(np.meshgrid(r, r, r, indexing="ij")).reshape(3, -1).T
    basis = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    sites = (cells[:, None, :] + basis[None, :, :]).reshape(-1, 3) * a
    d2 = np.round((sites**2).sum(axis=1), 9)
    order = np.lexsort((sites[:, 2], sites[:, 1], sites[:, 0], d2))
    return sites[order[:natoms]]


def make_shapes(nclusters=256, nmin=13, nmax=60, seed=1, amp=0.1):
    """The clusters before placement: a list of (natoms, 3) arrays, each
    centred on the origin before its perturbation."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(nmin, nmax + 1, size=nclusters)
    shapes = []
    for n in sizes:
        p = fcc_ball(int(n))
        p = p - p.mean(axis=0)
        shapes.append(p + rng.uniform(-amp, amp, size=p.shape))
    return shapes


def generate(nclusters=256, nmin=13, nmax=60, seed=1, amp=0.1, cutoff=2.5, skin=0.3):
    """Returns (clusters, spacing, grid): a list of (natoms, 3) arrays placed
    on the grid, the grid spacing and the number of cells per direction."""
    shapes = make_shapes(nclusters, nmin, nmax, seed, amp)
    diameter = max(2.0 * np.sqrt((p**2).sum(axis=1)).max() for p in shapes)
    spacing = float(np.ceil(diameter + cutoff + skin + 2.0))
    nx = int(np.ceil(nclusters ** (1.0 / 3.0)))
    ny = nx
    nz = int(np.ceil(nclusters / (nx * ny)))
    clusters = []
    for k, p in enumerate(shapes):
        i, j, l = k % nx, (k // nx) % ny, k // (nx * ny)
        clusters.append(p + spacing * (np.array([i, j, l]) + 0.5))
    return clusters, spacing, (nx, ny, nz)


def write_data(path, title, blocks, lo, hi):
    """blocks: list of (molecule ID, positions). Atom IDs are consecutive."""
    natoms = sum(len(p) for _, p in blocks)
    with open(path, "w") as out:
        out.write(f"# {title}\n\n{natoms} atoms\n1 atom types\n\n")
        for d, name in enumerate("xyz"):
            out.write(f"{lo[d]:.6f} {hi[d]:.6f} {name}lo {name}hi\n")
        out.write("\nMasses\n\n1 1.0\n\nAtoms # bond\n\n")
        tag = 0
        for mol, p in blocks:
            for x in p:
                tag += 1
                out.write(f"{tag} {mol} 1 {x[0]:.12f} {x[1]:.12f} {x[2]:.12f}\n")


def write_all(outdir, nclusters=256, nmin=13, nmax=60, seed=1, amp=0.1, nsingle=None):
    """Writes clusters.data and cluster_K.data (K = 1..nsingle, default all);
    returns the cluster sizes."""
    os.makedirs(outdir, exist_ok=True)
    clusters, spacing, grid = generate(nclusters, nmin, nmax, seed, amp)
    what = f"{nclusters} LJ clusters of {nmin}..{nmax} atoms, seed {seed}, perturbation {amp}"
    write_data(os.path.join(outdir, "clusters.data"), what + f", grid {grid}, spacing {spacing}",
               list(enumerate(clusters, start=1)), [0.0] * 3, [spacing * g for g in grid])
    for k, p in enumerate(clusters[:nsingle], start=1):
        cell = np.floor(p.mean(axis=0) / spacing)
        write_data(os.path.join(outdir, f"cluster_{k}.data"), f"cluster {k} of: " + what,
                   [(k, p)], spacing * cell, spacing * (cell + 1))
    return [len(p) for p in clusters]


def write_xyz(path, shapes):
    """Writes the clusters as one multi-frame extended-XYZ file of argon
    atoms (17 digits), frame k (from 0) named c<k>."""
    with open(path, "w") as out:
        for k, p in enumerate(shapes):
            out.write(f"{len(p)}\nname=c{k} pbc=\"F F F\"\n")
            out.write("".join(f"Ar {x[0]:.17g} {x[1]:.17g} {x[2]:.17g}\n" for x in p))


def read_dump(path):
    """Reads a LAMMPS custom dump with columns id mol x y z (all snapshots,
    e.g. one per cluster appended); returns {molecule ID: positions}."""
    mols = {}
    with open(path) as f:
        lines = f.read().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("ITEM: NUMBER OF ATOMS"):
            n = int(lines[i + 1])
        elif lines[i].startswith("ITEM: ATOMS"):
            cols = lines[i].split()[2:]
            rows = np.array([ln.split() for ln in lines[i + 1:i + 1 + n]], dtype=float)
            ids, mol = rows[:, cols.index("id")], rows[:, cols.index("mol")]
            x = rows[:, [cols.index(c) for c in ("x", "y", "z")]]
            order = np.argsort(ids)
            for m in np.unique(mol):
                sel = order[mol[order] == m]
                mols[int(m)] = x[sel]
            i += n
        i += 1
    return mols


def read_extxyz(path):
    """Reads the extended-XYZ sink of fix nvdyn (one frame per sample, the
    sample ID and stage_steps in the comment line); returns
    ({sample ID: positions}, {sample ID: steps in its stages})."""
    mols, steps = {}, {}
    with open(path) as f:
        lines = f.read().splitlines()
    i = 0
    while i < len(lines):
        n = int(lines[i])
        info = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', lines[i + 1]))
        rows = [ln.split() for ln in lines[i + 2:i + 2 + n]]
        sample = int(info["sample"])
        x = np.array([r[1:4] for r in rows], dtype=float)
        mols[sample] = x[np.argsort([int(r[10]) for r in rows])]
        steps[sample] = [int(v) for v in info["stage_steps"].strip('"').split()]
        i += n + 2
    return mols, steps


def lj_energy_fmax(x, cutoff=2.5):
    """Energy (LJ, epsilon = sigma = 1, shifted to 0 at the cutoff) and the
    largest per-atom force norm of one cluster (all pairs; no periodicity)."""
    d = x[:, None, :] - x[None, :, :]
    r2 = (d**2).sum(axis=2)
    np.fill_diagonal(r2, np.inf)
    inside = r2 < cutoff * cutoff
    ir6 = np.where(inside, 1.0 / r2**3, 0.0)
    ec = 4.0 * (cutoff**-12 - cutoff**-6)
    e = 0.5 * np.sum(np.where(inside, 4.0 * (ir6 * ir6 - ir6) - ec, 0.0))
    fpair = np.where(inside, 24.0 * (2.0 * ir6 * ir6 - ir6) / r2, 0.0)
    f = (fpair[:, :, None] * d).sum(axis=1)
    return e, float(np.sqrt((f**2).sum(axis=1)).max())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("-n", "--nclusters", type=int, default=256)
    ap.add_argument("--min", type=int, default=13)
    ap.add_argument("--max", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--amp", type=float, default=0.1)
    a = ap.parse_args()
    sizes = write_all(a.outdir, a.nclusters, a.min, a.max, a.seed, a.amp)
    print(f"{len(sizes)} clusters, {sum(sizes)} atoms, sizes {min(sizes)}..{max(sizes)}")


if __name__ == "__main__":
    main()
