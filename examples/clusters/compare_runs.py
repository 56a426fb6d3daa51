#!/usr/bin/python3
"""Compare the outputs of two runs of the same fix nvdyn input (for example
made with two LAMMPS versions): two sinks, read with ASE, or two logs.

    compare_runs.py SINK_A SINK_B [RTOL]     (extended XYZ)
    compare_runs.py LOG_A.csv LOG_B.csv [RTOL]

Sinks: both hold the same samples, each with the same outcome, reason,
stage_steps, step and number of atoms, and energies equal to RTOL relative
(default 1e-10). Logs: the same rows (step, sample), each with the same stage
and outcome, and the energies of the rows of the first stage (a relaxation
in the examples) equal to RTOL relative. Prints the largest relative energy
difference compared. Exits nonzero with a message on the first failed check.

Needs Debian's python3 with python3-ase and python3-numpy (scripts/setup.sh
installs them).
"""

import csv
import sys

import ase.io


def fail(msg):
    sys.exit(f"compare_runs: FAILED: {msg}")


def frames_by_sample(path):
    frames = {}
    for atoms in ase.io.read(path, index=":", format="extxyz"):
        sample = int(atoms.info["sample"])
        if sample in frames:
            fail(f"{path}: sample {sample} appears twice")
        frames[sample] = atoms
    return frames


def relative(ea, eb):
    return abs(ea - eb) / max(1.0, abs(ea))


def energy_diff(what, ea, eb, rtol):
    """the relative difference of two energies; fails beyond rtol"""
    if relative(ea, eb) > rtol:
        fail(f"{what}: energy {ea!r} != {eb!r} (relative {relative(ea, eb):.3g} > {rtol:g})")
    return relative(ea, eb)


def compare_runs(path_a, path_b, rtol):
    a, b = frames_by_sample(path_a), frames_by_sample(path_b)
    if sorted(a) != sorted(b):
        fail(f"samples differ: {sorted(set(a) ^ set(b))} are in only one sink")
    worst = 0.0
    for sample in sorted(a):
        fa, fb = a[sample], b[sample]
        for key in ("outcome", "reason", "stage_steps", "step"):
            if str(fa.info.get(key)) != str(fb.info.get(key)):
                fail(f"sample {sample}: {key} {fa.info.get(key)} != {fb.info.get(key)}")
        if len(fa) != len(fb):
            fail(f"sample {sample}: {len(fa)} != {len(fb)} atoms")
        worst = max(worst, energy_diff(f"sample {sample}", float(fa.info["energy"]),
                                       float(fb.info["energy"]), rtol))
    print(f"compare_runs: OK: {len(a)} samples alike, energies to {worst:.3g} relative "
          f"(at most {rtol:g})")


def rows_by_step_sample(path):
    with open(path) as fp:
        rows = list(csv.DictReader(fp))
    if not rows:
        fail(f"{path}: no rows")
    return rows[0]["stage"], {(int(r["step"]), int(r["sample"])): r for r in rows}


def compare_logs(path_a, path_b, rtol):
    first, a = rows_by_step_sample(path_a)
    _, b = rows_by_step_sample(path_b)
    if sorted(a) != sorted(b):
        fail(f"rows (step, sample) differ: {sorted(set(a) ^ set(b))[:5]} ...")
    worst = 0.0
    for key in sorted(a):
        ra, rb = a[key], b[key]
        for col in ("stage", "outcome"):
            if ra[col] != rb[col]:
                fail(f"step {key[0]} sample {key[1]}: {col} {ra[col]} != {rb[col]}")
        if ra["stage"] == first:
            worst = max(worst, energy_diff(f"step {key[0]} sample {key[1]}",
                                           float(ra["energy"]), float(rb["energy"]), rtol))
    print(f"compare_runs: OK: {len(a)} log rows alike, energies of stage {first} to "
          f"{worst:.3g} relative (at most {rtol:g})")


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    rtol = float(sys.argv[3]) if len(sys.argv) == 4 else 1e-10
    if sys.argv[1].endswith(".csv"):
        compare_logs(sys.argv[1], sys.argv[2], rtol)
    else:
        compare_runs(sys.argv[1], sys.argv[2], rtol)


if __name__ == "__main__":
    main()
