#!/usr/bin/python3
"""Check the sink of a fix nvdyn run: an extended-XYZ file with one frame per
finished sample, read with ASE.

    check_sink.py SINK SIZES [--outcome done] [--pair lj EPS SIGMA RC]
                                              [--pair morse D0 ALPHA R0 RC]

SIZES is the two-column file the example inputs write while they build their
samples ("sample atoms", '#' comments). Asserts that every sample of SIZES
appears exactly once, with its number of atoms, distinct atom IDs across the
whole file, the expected outcome, an energy and forces per frame, an fmax equal
to the largest force norm of the frame, and stage_steps for every stage. With
--pair, the energy and forces of every frame are computed again from its
(unwrapped) positions with a shifted, truncated pair potential and compared.
Exits nonzero with a message on the first failed check.

Needs Debian's python3 with python3-ase and python3-numpy (scripts/setup.sh
installs them).
"""

import argparse
import sys

import ase.io
import numpy as np


def pair_energy_forces(pos, kind, params):
    """Energy and forces of an isolated cluster, pair potential shifted to 0 at rc."""
    d = pos[:, None, :] - pos[None, :, :]
    r = np.linalg.norm(d, axis=-1)
    i, j = np.triu_indices(len(pos), k=1)
    rij = r[i, j]
    inside = rij < params[-1]
    i, j, rij = i[inside], j[inside], rij[inside]
    if kind == "lj":
        eps, sigma, rc = params

        def e_of(x):
            return 4 * eps * ((sigma / x) ** 12 - (sigma / x) ** 6)

        def de_dr(x):
            return 4 * eps * (-12 * sigma**12 / x**13 + 6 * sigma**6 / x**7)

    else:
        d0, alpha, r0, rc = params

        def e_of(x):
            return d0 * (np.exp(-2 * alpha * (x - r0)) - 2 * np.exp(-alpha * (x - r0)))

        def de_dr(x):
            return -2 * alpha * d0 * (np.exp(-2 * alpha * (x - r0)) - np.exp(-alpha * (x - r0)))

    energy = float(np.sum(e_of(rij) - e_of(rc)))
    fij = (-de_dr(rij) / rij)[:, None] * d[i, j]    # force on i from j
    forces = np.zeros_like(pos)
    np.add.at(forces, i, fij)
    np.add.at(forces, j, -fij)
    return energy, forces


def fail(msg):
    sys.exit(f"check_sink: FAILED: {msg}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sink")
    ap.add_argument("sizes")
    ap.add_argument("--outcome", default="done")
    ap.add_argument("--pair", nargs="+", metavar="ARG")
    args = ap.parse_args()

    sizes = {}
    with open(args.sizes) as fp:
        for line in fp:
            if line.strip() and not line.startswith("#"):
                sample, natoms = line.split()
                sizes[int(sample)] = int(natoms)
    pair = None
    if args.pair:
        kind, params = args.pair[0], [float(v) for v in args.pair[1:]]
        if (kind, len(params)) not in (("lj", 3), ("morse", 4)):
            ap.error("--pair lj EPS SIGMA RC | --pair morse D0 ALPHA R0 RC")
        pair = (kind, params)

    frames = ase.io.read(args.sink, index=":", format="extxyz")
    seen, ids, nstages, worst = {}, set(), None, (0.0, 0.0)
    for n, atoms in enumerate(frames):
        info = atoms.info
        where = f"frame {n}"
        for key in ("sample", "outcome", "fmax", "stage_steps", "step"):
            if key not in info:
                fail(f"{where}: no {key} in the comment line")
        s = int(info["sample"])
        where = f"frame {n} (sample {s})"
        if s in seen:
            fail(f"{where}: sample {s} is also frame {seen[s]}")
        seen[s] = n
        if s not in sizes:
            fail(f"{where}: sample {s} is not in {args.sizes}")
        if len(atoms) != sizes[s]:
            fail(f"{where}: {len(atoms)} atoms, {args.sizes} says {sizes[s]}")
        if info["outcome"] != args.outcome:
            fail(f"{where}: outcome {info['outcome']}, expected {args.outcome}")
        frame_ids = set(int(i) for i in atoms.arrays["id"])
        if len(frame_ids) != len(atoms) or ids & frame_ids:
            fail(f"{where}: atom IDs repeat")
        ids |= frame_ids
        steps = np.atleast_1d(info["stage_steps"])
        if nstages is None:
            nstages = len(steps)
        if len(steps) != nstages or np.any(steps < 1):
            fail(f"{where}: stage_steps {steps}: a done sample has steps in every stage")
        energy = atoms.get_potential_energy()
        forces = atoms.get_forces()
        if not np.isfinite(energy) or forces.shape != (len(atoms), 3):
            fail(f"{where}: energy {energy}, forces of shape {forces.shape}")
        fmax = np.linalg.norm(forces, axis=1).max()
        if not np.isclose(fmax, info["fmax"], rtol=1e-12, atol=0.0):
            fail(f"{where}: fmax {info['fmax']} but the largest force norm is {fmax}")
        if pair:
            e_ref, f_ref = pair_energy_forces(atoms.get_positions(), *pair)
            de = abs(energy - e_ref) / len(atoms)
            df = np.abs(forces - f_ref).max()
            if de > 1e-9 or df > 1e-9:
                fail(f"{where}: energy {energy} vs {e_ref}, forces differ by {df}")
            worst = (max(worst[0], de), max(worst[1], df))
    missing = sorted(set(sizes) - set(seen))
    if missing:
        fail(f"samples {missing} are not in {args.sink}")
    print(f"check_sink: {len(frames)} samples, {len(ids)} atoms, all {args.outcome}, "
          f"{nstages} stages each", end="")
    if pair:
        print(f"; {pair[0]} energies and forces agree to {worst[0]:.1e} per atom, {worst[1]:.1e}",
              end="")
    print("\ncheck_sink: OK")


if __name__ == "__main__":
    main()
