#!/usr/bin/python3
"""Read the extended-XYZ sink of a fix nvdyn with ASE, for the tests of
test_fix_nvdyn_output.cpp.

    ase_frames.py SINK     prints, for each frame as ASE reads it,
                               frame SAMPLE OUTCOME STEP NATOMS
                               SPECIES ...
                               X1 Y1 Z1 X2 ... (the positions, to the last bit)
                           then "frames N"; exits nonzero, with ASE's error
                           on stderr, when ASE cannot read the file
    ase_frames.py --symbols    prints ASE's chemical symbols

Needs Debian's python3 with python3-ase (scripts/setup.sh installs it).
"""

import sys

import ase.data
import ase.io

if sys.argv[1] == "--symbols":
    print(" ".join(ase.data.chemical_symbols))
    sys.exit(0)

frames = ase.io.read(sys.argv[1], index=":", format="extxyz")
for atoms in frames:
    info = atoms.info
    print("frame", info["sample"], info["outcome"], info["step"], len(atoms))
    print(" ".join(atoms.get_chemical_symbols()))
    print(" ".join(repr(float(v)) for v in atoms.positions.ravel()))
print("frames", len(frames))
