#!/usr/bin/python3
"""Frames written by ASE for the tests of test_xyz_reader.cpp (the sample
source of fix nvdyn).

    ase_write_frames.py FILE   writes a fixed set of extended-XYZ frames to
                               FILE with ase.io.write, reads FILE back with
                               ase.io.read and prints, for each frame as ASE
                               reads it,
                                   frame NATOMS
                                   species S1 S2 ...
                                   pos X1 Y1 Z1 X2 ...  (repr: to the last bit)
                                   vel VX1 VY1 ...      (or "vel" alone: none)
                                   mass M1 M2 ...       (or "mass" alone: none)
                                   info KEY1 KEY2 ...   (the keys of atoms.info)
                               then "frames N". Exits 77 when ASE is missing.

Needs Debian's python3 with python3-ase (scripts/setup.sh installs it).
"""

import sys

try:
    import numpy as np
    import ase
    import ase.io
except ImportError as e:
    print("ase_write_frames.py:", e, file=sys.stderr)
    sys.exit(77)

rng = np.random.default_rng(20240611)
images = []
for k, n in enumerate([1, 3, 8, 2, 17, 5]):
    symbols = [["C", "H", "O"][i] for i in rng.integers(0, 3, size=n)]
    atoms = ase.Atoms(symbols, positions=rng.normal(scale=4.0, size=(n, 3)))
    atoms.info["sample_id"] = 100 + k
    atoms.info["e_total"] = float(rng.normal())
    atoms.info["label"] = "molecule number %d" % k     # a quoted value with spaces
    atoms.info["ok"] = k % 2 == 0                     # a bool: T or F
    if k in (1, 4):
        atoms.set_masses(rng.uniform(1.0, 20.0, size=n))
    if k in (2, 4):
        atoms.new_array("velocities", rng.normal(scale=0.1, size=(n, 3)))
    if k == 3:
        atoms.set_velocities(rng.normal(size=(n, 3)))  # momenta: a column to skip
    if k == 5:
        atoms.cell = [10.0, 11.0, 12.0]               # Lattice with pbc="F F F"
    images.append(atoms)
ase.io.write(sys.argv[1], images, format="extxyz")


def reals(values):
    return " ".join(repr(float(v)) for v in np.ravel(values))


frames = ase.io.read(sys.argv[1], index=":", format="extxyz")
for atoms in frames:
    print("frame", len(atoms))
    print("species", " ".join(atoms.get_chemical_symbols()))
    print("pos", reals(atoms.positions))
    print("vel", reals(atoms.arrays["velocities"]) if "velocities" in atoms.arrays else "")
    print("mass", reals(atoms.arrays["masses"]) if "masses" in atoms.arrays else "")
    print("info", " ".join(atoms.info.keys()))
print("frames", len(frames))
