#!/usr/bin/python3
"""Check the sink of in.stream against its source, both read with ASE.

    check_stream.py SINK SOURCE [--cut 2.5] [--no-shift] [--tol 1e-8]

Asserts that every frame of SOURCE is in SINK exactly once (by its
`source_index`, 0-based over the source), with its `name` and `natoms_in`
info keys, species and number of atoms, outcome done and steps in every
stage, and that the energy and forces written with it are those of the
Lennard-Jones potential (epsilon = sigma = 1, cut at --cut, shifted to 0 there
as `pair_modify shift yes` does unless --no-shift) at the written positions,
to --tol (absolute, in epsilon and epsilon/sigma). Prints `check_stream: OK`;
exits nonzero with a message on the first failed check.

Needs Debian's python3 with python3-ase and python3-numpy.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "scripts"))
from source_sink import each_done_frame  # noqa: E402


def lj_energy_forces(pos, rc, shift):
    """Energy and forces of an isolated LJ cluster (epsilon = sigma = 1)."""
    d = pos[:, None, :] - pos[None, :, :]
    r = np.linalg.norm(d, axis=-1)
    i, j = np.triu_indices(len(pos), k=1)
    rij = r[i, j]
    inside = rij < rc
    i, j, rij = i[inside], j[inside], rij[inside]
    e = 4.0 * (rij**-12 - rij**-6)
    if shift:
        e -= 4.0 * (rc**-12 - rc**-6)
    de_dr = 4.0 * (-12.0 * rij**-13 + 6.0 * rij**-7)
    fij = (-de_dr / rij)[:, None] * d[i, j]    # force on i from j
    forces = np.zeros_like(pos)
    np.add.at(forces, i, fij)
    np.add.at(forces, j, -fij)
    return float(np.sum(e)), forces


def fail(msg):
    sys.exit(f"check_stream: FAILED: {msg}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sink")
    ap.add_argument("source")
    ap.add_argument("--cut", type=float, default=2.5)
    ap.add_argument("--no-shift", action="store_true")
    ap.add_argument("--tol", type=float, default=1e-8)
    args = ap.parse_args()

    frames = 0
    natoms = 0
    worst_e = worst_f = 0.0
    nstages = None
    for where, atoms, steps in each_done_frame(args.sink, args.source, fail):
        frames += 1
        natoms += len(atoms)
        if nstages is None:
            nstages = len(steps)
        if len(steps) != nstages or np.any(steps < 1):
            fail(f"{where}: stage_steps {steps}: a done sample has steps in every stage")
        energy, forces = lj_energy_forces(atoms.positions, args.cut, not args.no_shift)
        written_e = atoms.get_potential_energy()
        written_f = atoms.get_forces()
        err_e = abs(written_e - energy)
        err_f = float(np.max(np.abs(written_f - forces)))
        if not err_e <= args.tol:
            fail(f"{where}: energy {written_e!r}, LJ at the written positions {energy!r}")
        if not err_f <= args.tol:
            fail(f"{where}: forces differ from LJ's at the written positions by {err_f:.3g}")
        worst_e, worst_f = max(worst_e, err_e), max(worst_f, err_f)
    print(f"check_stream: {frames} frames, each source frame once, {natoms} atoms, "
          f"all done, {nstages} stages each; name and natoms_in kept; LJ (cut {args.cut}, "
          f"{'not ' if args.no_shift else ''}shifted) energies agree to {worst_e:.2g}, "
          f"forces to {worst_f:.2g}")
    print("check_stream: OK")


if __name__ == "__main__":
    main()
