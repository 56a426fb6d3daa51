#!/usr/bin/python3
"""Write the sample source of in.stream: small Lennard-Jones clusters.

    /usr/bin/python3 make_clusters.py [--count 3000] [--seed 2024] [-o clusters.extxyz]

Each frame is one cluster of 4 to 20 atoms (sizes drawn uniformly), species
Ar, made of random points in a sphere of radius 0.8 n^(1/3) sigma, every two
at least 1.0 sigma apart, connected (each atom within 1.5 sigma of another
atom of its cluster, so that no atom or fragment is left beyond the cutoff
to drift away), centred at the origin. The comment line holds
`name=cluster<k>` and `natoms_in=<n>` (and `pbc="F F F"`, as ASE writes a
frame without a cell); the file is extended XYZ as ASE writes it. The same
--count and --seed give the same file, byte for byte.
"""

import argparse
import sys

import numpy as np

SMALLEST, LARGEST = 4, 20
MIN_DIST = 1.0     # sigma: no two atoms closer
BOND = 1.5         # sigma: connectivity threshold


def connected(x):
    """True if the graph of pairs closer than BOND is connected."""
    d = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=-1)
    adj = d < BOND
    seen = np.zeros(len(x), dtype=bool)
    seen[0] = True
    frontier = [0]
    while frontier:
        i = frontier.pop()
        new = np.flatnonzero(adj[i] & ~seen)
        seen[new] = True
        frontier.extend(new.tolist())
    return bool(seen.all())


def cluster(rng, n):
    """n random points in a sphere, at least MIN_DIST apart, connected."""
    radius = 0.8 * n ** (1.0 / 3.0)
    while True:
        x = np.empty((0, 3))
        tries = 0
        while len(x) < n and tries < 100000:
            tries += 1
            p = rng.uniform(-radius, radius, 3)
            if p @ p > radius * radius:
                continue
            if len(x) and np.min(np.sum((x - p) ** 2, axis=1)) < MIN_DIST ** 2:
                continue
            x = np.vstack([x, p])
        if len(x) == n and connected(x):
            return x - x.mean(axis=0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=3000, help="number of clusters (3000)")
    ap.add_argument("--seed", type=int, default=2024, help="random seed (2024)")
    ap.add_argument("-o", "--output", default="clusters.extxyz",
                    help="output file (clusters.extxyz)")
    args = ap.parse_args()
    if args.count < 1:
        sys.exit("make_clusters: --count must be at least 1")
    rng = np.random.default_rng(args.seed)
    total = 0
    with open(args.output, "w") as out:
        for k in range(args.count):
            n = int(rng.integers(SMALLEST, LARGEST + 1))
            x = cluster(rng, n)
            total += n
            out.write(f"{n}\n")
            out.write(f'Properties=species:S:1:pos:R:3 name=cluster{k} natoms_in={n} '
                      f'pbc="F F F"\n')
            for p in x:
                out.write(f"Ar {p[0]:.17g} {p[1]:.17g} {p[2]:.17g}\n")
    print(f"make_clusters: {args.count} clusters, {total} atoms "
          f"({SMALLEST} to {LARGEST} per cluster) -> {args.output}")


if __name__ == "__main__":
    main()
