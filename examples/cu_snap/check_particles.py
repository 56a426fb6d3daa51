#!/usr/bin/python3
"""Check the sink of in.cu_snap against its source, both read with ASE.

    check_particles.py SINK SOURCE [--heat 200] [--maxsteps 2000]

Asserts that every frame of SOURCE is in SINK exactly once (by its
`source_index`, 0-based over the source), with its `name` and `natoms_in`
info keys, species and number of atoms, outcome done, between 1 and
--maxsteps steps in `relax` and exactly --heat in `heat`, a finite energy
and finite forces, and that each particle is still one piece of copper: no
two atoms closer than 1.8 Angstrom and each atom within 3.3 Angstrom of
another (fcc copper's nearest neighbours are 2.56 Angstrom apart; at
300 K none has evaporated). Prints `check_particles: OK`; exits nonzero
with a message on the first failed check. SNAP itself is not evaluated
here: the energies are those LAMMPS wrote.

Needs Debian's python3 with python3-ase and python3-numpy.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "scripts"))
from source_sink import each_done_frame  # noqa: E402

CLOSEST = 1.8      # Angstrom: no two atoms closer
BOND = 3.3         # Angstrom: every atom has a neighbour within this


def fail(msg):
    sys.exit(f"check_particles: FAILED: {msg}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sink")
    ap.add_argument("source")
    ap.add_argument("--heat", type=int, default=200, help="steps of the heat stage (200)")
    ap.add_argument("--maxsteps", type=int, default=2000, help="maxsteps of relax (2000)")
    args = ap.parse_args()

    frames = 0
    natoms = 0
    relax_steps = []
    per_atom = {}
    for where, atoms, steps in each_done_frame(args.sink, args.source, fail):
        frames += 1
        natoms += len(atoms)
        if len(steps) != 2:
            fail(f"{where}: stage_steps {steps}: expected two stages (relax, heat)")
        if not 1 <= steps[0] <= args.maxsteps:
            fail(f"{where}: {steps[0]} steps in relax, expected 1 to {args.maxsteps}")
        if steps[1] != args.heat:
            fail(f"{where}: {steps[1]} steps in heat, expected {args.heat}")
        relax_steps.append(int(steps[0]))
        energy = atoms.get_potential_energy()
        forces = atoms.get_forces()
        if not np.isfinite(energy) or not np.all(np.isfinite(forces)):
            fail(f"{where}: energy or forces not finite")
        x = atoms.positions
        d = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=-1)
        np.fill_diagonal(d, np.inf)
        if d.min() < CLOSEST:
            fail(f"{where}: two atoms {d.min():.3f} A apart")
        if np.any(d.min(axis=1) > BOND):
            fail(f"{where}: an atom has no neighbour within {BOND} A")
        per_atom.setdefault(len(atoms), []).append(energy / len(atoms))
    sizes = sorted(per_atom)
    print(f"check_particles: {frames} frames, each source frame once, {natoms} atoms, "
          f"all done; name and natoms_in kept; relax {min(relax_steps)} to "
          f"{max(relax_steps)} steps (mean {np.mean(relax_steps):.1f}), heat {args.heat}; "
          f"energy per atom {np.mean(per_atom[sizes[0]]):.4f} eV ({sizes[0]} atoms) to "
          f"{np.mean(per_atom[sizes[-1]]):.4f} eV ({sizes[-1]} atoms)")
    print("check_particles: OK")


if __name__ == "__main__":
    main()
