#!/usr/bin/python3
"""Write the sample source of in.cu_snap: small fcc copper nanoparticles.

    /usr/bin/python3 make_particles.py [--count 100] [--seed 2020]
                                       [--smallest 13] [--largest 80]
                                       [-o particles.extxyz]

Each frame is one nanoparticle of n atoms (n drawn uniformly from
--smallest to --largest), species Cu: the n sites of an fcc lattice
(a = 3.615 Angstrom, copper's) nearest to a centre that is, for every
other particle, a lattice site (the n nearest sites then form a sphere cut
around an atom, e.g. the 13-atom cuboctahedron) and, for the others, a
random point of the unit cell, so that the cuts differ; ties in distance
are broken by the site's order, so that the cut is deterministic. Every
coordinate is then moved by a random amount drawn from a normal
distribution of standard deviation 0.05 Angstrom, and the particle is
centred at the origin. The comment line holds `name=np<k>` and
`natoms_in=<n>` (and `pbc="F F F"`, as ASE writes a frame without a cell);
the file is extended XYZ as ASE writes it. The same options give the same
file, byte for byte, and the first N frames of a larger --count are those
of --count N.
"""

import argparse
import sys

import numpy as np

A = 3.615          # Angstrom: fcc lattice constant of copper
SHAKE = 0.05       # Angstrom: standard deviation of the random displacements

# the fcc lattice sites within 5 cells of the origin (enough for the
# nearest few hundred sites to any centre in the unit cell)
_BASIS = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.5, 0.5]])
_CELLS = np.array([[i, j, k] for i in range(-5, 6) for j in range(-5, 6) for k in range(-5, 6)],
                  dtype=float)
SITES = A * (_CELLS[:, None, :] + _BASIS[None, :, :]).reshape(-1, 3)


def particle(rng, k, n):
    """The n fcc sites nearest to the centre of particle k, shaken, centred."""
    if k % 2 == 0:
        centre = np.zeros(3)                    # around an atom
    else:
        centre = rng.uniform(0.0, A, 3)         # around a random point of the cell
    d2 = np.sum((SITES - centre) ** 2, axis=1)
    # round so that sites at the same distance tie exactly, whatever the
    # round-off; the stable sort then keeps their order
    order = np.argsort(np.round(d2, 9), kind="stable")
    x = SITES[order[:n]] + rng.normal(0.0, SHAKE, (n, 3))
    return x - x.mean(axis=0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=100, help="number of particles (100)")
    ap.add_argument("--seed", type=int, default=2020, help="random seed (2020)")
    ap.add_argument("--smallest", type=int, default=13, help="fewest atoms (13)")
    ap.add_argument("--largest", type=int, default=80, help="most atoms (80)")
    ap.add_argument("-o", "--output", default="particles.extxyz",
                    help="output file (particles.extxyz)")
    args = ap.parse_args()
    if args.count < 1:
        sys.exit("make_particles: --count must be at least 1")
    if not 1 <= args.smallest <= args.largest <= 1000:
        sys.exit("make_particles: need 1 <= --smallest <= --largest <= 1000")
    rng = np.random.default_rng(args.seed)
    total = 0
    with open(args.output, "w") as out:
        for k in range(args.count):
            n = int(rng.integers(args.smallest, args.largest + 1))
            x = particle(rng, k, n)
            total += n
            out.write(f"{n}\n")
            out.write(f'Properties=species:S:1:pos:R:3 name=np{k} natoms_in={n} '
                      f'pbc="F F F"\n')
            for p in x:
                out.write(f"Cu {p[0]:.17g} {p[1]:.17g} {p[2]:.17g}\n")
    print(f"make_particles: {args.count} particles, {total} atoms "
          f"({args.smallest} to {args.largest} per particle) -> {args.output}")


if __name__ == "__main__":
    main()
