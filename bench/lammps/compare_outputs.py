#!/usr/bin/python3
"""Runs the examples and the bench inputs with two builds of the plugin and
compares what they write: the sinks (every line bitwise, except the energy
of each frame, which may differ by round-off when a sample's energy is
summed on the step after it finished: to 1e-10 relative), the per-sample
logs and the thermo output (bitwise).

    compare_outputs.py --lmp LMP --base OLD/nvdynplugin.so --new NEW/nvdynplugin.so
                       [--workdir DIR]

The bench inputs need the cluster data of bench.py (written here with its
defaults). Exits nonzero if anything differs.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
import clusters    # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# name: (input, its folder, -var settings, files it writes there)
CASES = {
    "example_clusters": ("in.clusters", "examples/clusters", {}, ["clusters.extxyz", "samples.csv"]),
    "example_morse": ("in.morse", "examples/morse", {}, ["particles.extxyz"]),
    "clusters_every1": ("in.clusters_nvdyn", "bench/lammps", {"every": 1}, ["final.extxyz"]),
    "clusters_every10": ("in.clusters_nvdyn", "bench/lammps", {"every": 10}, ["final.extxyz"]),
    "lj_nve": ("in.lj_nve", "bench/lammps", {"integrator": "nvdyn", "nsteps": 200}, []),
    "dimers_fire": ("in.dimers", "bench/lammps", {"integrator": "fire"}, []),
    "dimers_csvr": ("in.dimers", "bench/lammps", {"integrator": "csvr"}, []),
}


def run(args, plugin, name, workdir):
    inp, folder, variables, files = CASES[name]
    out = os.path.join(workdir, name)
    os.makedirs(out, exist_ok=True)
    variables = dict(variables, nvdyn_plugin=plugin)
    if "clusters" in name and "example" not in name:
        variables.update(dir=args.data, out=os.path.join(out, "final.extxyz"))
    cmd = [args.lmp, "-in", os.path.join(ROOT, folder, inp), "-log", os.path.join(out, "log"),
           "-screen", "none"]
    for key, val in variables.items():
        cmd += ["-var", key, str(val)]
    # the examples write into the current folder, the bench inputs read theirs
    cwd = out if "example" in name else os.path.join(ROOT, folder)
    subprocess.run(cmd, cwd=cwd, check=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    return out, files


def thermo(log):
    """The thermo lines of a log (between a thermo header and its Loop time)."""
    rows, inside = [], False
    for line in open(log):
        if line.startswith("Loop time"):
            inside = False
        if inside and "|" not in line:    # not the stage summary's timing table
            rows.append(line)
        if re.match(r"\s*Step\s", line):
            inside = True
    return rows


def same_sink(a, b):
    la, lb = open(a).read().splitlines(), open(b).read().splitlines()
    if len(la) != len(lb):
        return f"{len(la)} lines against {len(lb)}"
    worst = 0.0
    for x, y in zip(la, lb):
        ex, ey = re.search(r" energy=(\S+)", x), re.search(r" energy=(\S+)", y)
        if ex and ey:
            e1, e2 = float(ex.group(1)), float(ey.group(1))
            worst = max(worst, abs(e1 - e2) / max(abs(e2), 1e-300))
            x, y = x.replace(ex.group(0), ""), y.replace(ey.group(0), "")
        if x != y:
            return f"differs: {x[:80]} | {y[:80]}"
    return "" if worst <= 1e-10 else f"energies differ by {worst:.2e} relative"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lmp", required=True)
    ap.add_argument("--base", required=True, help="the plugin to compare against")
    ap.add_argument("--new", required=True, help="the plugin to compare")
    ap.add_argument("--workdir", default="compare-outputs")
    args = ap.parse_args()
    args.workdir = os.path.abspath(args.workdir)
    args.data = os.path.join(args.workdir, "clusters")
    clusters.write_all(args.data, 256, 13, 60, 1, 0.1)
    bad = 0
    for name in CASES:
        outs = [run(args, os.path.abspath(p), name, os.path.join(args.workdir, side))
                for side, p in (("base", args.base), ("new", args.new))]
        (da, files), (db, _) = outs
        notes = []
        if thermo(os.path.join(da, "log")) != thermo(os.path.join(db, "log")):
            notes.append("thermo output differs")
        for f in files:
            fa, fb = os.path.join(da, f), os.path.join(db, f)
            why = same_sink(fa, fb) if f.endswith(".extxyz") else (
                "" if open(fa).read() == open(fb).read() else "differs")
            if why:
                notes.append(f"{f}: {why}")
        bad += bool(notes)
        print(f"{name:<18} " + ("; ".join(notes) if notes else
              "same (thermo, " + ", ".join(files or ["no files"]) + ")"), flush=True)
    shutil.rmtree(args.data)
    sys.exit(1 if bad else 0)


main()
