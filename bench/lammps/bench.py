#!/usr/bin/python3
"""NVDYN LAMMPS benchmarks: figures as ratios to a baseline run alongside.

  nve       (a) fix nvdyn with one nve stage vs fix nve on an LJ liquid:
                ratio of the medians of the Modify time and of the loop
                time over interleaved runs (targets: Modify <= 1.3, loop
                <= 1.02)
  clusters  (b) relaxing LJ clusters of mixed sizes to one fmax: fix nvdyn
                (one run), one minimize per cluster in a loop, one minimize
                of all clusters; wall time, force evaluations, energies
                (targets against the per-cluster loop: wall <= 0.9, loop
                time per atom-force evaluation <= 1.15)
  dimers    (c) many tiny samples: 20000 LJ dimers, one sample each, in one
                fire or one csvr stage of fix nvdyn vs fix nve on the same
                atoms: ratio of the medians of the Modify time per step
                (target: within 2x)
  threads   the relaxation of (b) by fix nvdyn/kk under -k on t N -sf kk
                against -k on t 1: ratio of the medians of the loop times
                (target: N = 2 threads at least 1.6x faster)

--kokkos N runs every LAMMPS of nve, clusters and dimers under -k on t N
-sf kk (fix nvdyn/kk against nve/kk; the targets of nve under KOKKOS:
--loop-target 1.03); --gpus G (a LAMMPS whose Kokkos has the CUDA backend)
under -k on g G t N -sf kk (N: --kokkos, at least 1).

Usually started by bench/lammps/run.sh, which builds everything and passes
--lmp and --plugin. Logs, data and dumps stay in --workdir.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
import clusters    # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FLOAT = r"([-+0-9.eE]+)"


# ---------------------------------------------------------------- LAMMPS

def kokkos_args(threads, gpus=0):
    """lmp's command-line switches for KOKKOS with that many threads (0: none)
    and GPUs"""
    if not threads:
        return []
    return ["-k", "on"] + (["g", str(gpus)] if gpus else []) + ["t", str(threads), "-sf", "kk"]


def run_lammps(args, name, inp, variables, threads=None):
    """Runs lmp on input inp (in this folder) with -var settings, under
    KOKKOS with `threads` threads (default: --kokkos; 0: without); returns
    (wall seconds, log text). The log is kept as WORKDIR/name.log."""
    log = os.path.join(args.workdir, name + ".log")
    cmd = [args.lmp, "-in", inp, "-log", log, "-screen", "none"]
    cmd += kokkos_args(args.kokkos if threads is None else threads, args.gpus)
    for key, val in variables.items():
        cmd += ["-var", key, str(val)]
    # (Kokkos's OpenMP backend warns without OMP_PROC_BIND)
    env = dict(os.environ, OMP_NUM_THREADS="1", OMP_PROC_BIND="false")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=HERE, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - t0
    text = open(log).read() if os.path.exists(log) else ""
    if proc.returncode != 0 or "ERROR" in text:
        err = [ln for ln in (text + proc.stdout).splitlines() if "ERROR" in ln]
        sys.exit(f"bench: {' '.join(cmd)} failed (exit {proc.returncode}): "
                 f"{err[0] if err else proc.stdout[-2000:]}\nlog: {log}")
    return wall, text


def loops(text):
    """[(loop seconds, steps, atoms)] of every run or minimize in a log."""
    pat = rf"Loop time of {FLOAT} on \d+ procs for (\d+) steps with (\d+) atoms"
    return [(float(t), int(s), int(n)) for t, s, n in re.findall(pat, text)]


def timer_sections(text):
    """{section: avg seconds} of the timer table after the last loop."""
    tail = text[text.rindex("Loop time of"):]
    out = {}
    for m in re.finditer(r"^(\w+)\s*\|[^|]*\|\s*([-+0-9.eE]+)\s*\|", tail, re.M):
        out.setdefault(m.group(1), float(m.group(2)))
    return out


def last_thermo_line(text):
    """The last thermo line before the last loop (step and values)."""
    head = text[:text.rindex("Loop time of")].rstrip().splitlines()
    return head[-1].split()


def median(values):
    return statistics.median(values)


def verdict(ok):
    return "MET" if ok else "MISSED"


def under_kokkos(args):
    """the header's words for --kokkos"""
    gpus = f"g {args.gpus} " if args.gpus else ""
    return (f", KOKKOS (-k on {gpus}t {args.kokkos} -sf kk: fix nvdyn/kk vs fix nve/kk)"
            if args.kokkos else "")


# ---------------------------------------------------------------- (a)

def bench_nve(args):
    variables = {"nvdyn_plugin": args.plugin, "n": args.n, "nsteps": args.nsteps,
                 "warmup": args.warmup}
    natoms = 4 * args.n**3
    print(f"NVDYN LAMMPS benchmark (a): fix nvdyn (one nve stage) vs fix nve"
          f"{under_kokkos(args)}\n"
          f"{natoms} atoms, LJ liquid (fcc 0.8442, lj/cut 2.5, T 3.0), 1 MPI rank; "
          f"{args.nsteps} timed steps per run after {args.warmup} warm-up steps;\n"
          f"{args.reps} runs of each, alternating (nve first in odd rounds, nvdyn first "
          f"in even ones)\n")
    rows = {"nve": [], "nvdyn": []}
    finals = set()
    print(f"{'run':>3}  {'integrator':<10} {'loop s':>9} {'Modify s':>9} {'Pair s':>9} "
          f"{'Neigh s':>9} {'Modify ns/atom-step':>20}")
    for rep in range(args.reps):
        order = ("nve", "nvdyn") if rep % 2 == 0 else ("nvdyn", "nve")
        for integ in order:
            _, text = run_lammps(args, f"nve_{integ}_{rep + 1}", "in.lj_nve",
                                 dict(variables, integrator=integ))
            loop, steps, _ = loops(text)[-1]
            sec = timer_sections(text)
            rows[integ].append((loop, sec["Modify"], sec["Neigh"], sec["Pair"]))
            finals.add(tuple(last_thermo_line(text)))
            print(f"{rep + 1:>3}  {integ:<10} {loop:9.4f} {sec['Modify']:9.4f} "
                  f"{sec['Pair']:9.4f} {sec['Neigh']:9.4f} "
                  f"{1e9 * sec['Modify'] / (steps * natoms):20.2f}", flush=True)

    target = {0: args.loop_target, 1: args.modify_target}
    print(f"\ntargets: loop <= {args.loop_target:g}, Modify <= {args.modify_target:g} "
          f"(nvdyn/nve)")
    print(f"{'':<16} {'median nve':>11} {'median nvdyn':>13} {'nvdyn/nve':>10}   "
          f"{'target':<15} {'paired':>7} {'best':>7}")
    for col, what in ((0, "loop time (s)"), (1, "Modify time (s)"), (2, "Neigh time (s)"),
                      (3, "Pair time (s)")):
        a = [r[col] for r in rows["nve"]]
        b = [r[col] for r in rows["nvdyn"]]
        ratio = median(b) / median(a)
        paired = median([y / x for x, y in zip(a, b)])
        print(f"{what:<16} {median(a):11.4f} {median(b):13.4f} {ratio:10.3f}   "
              f"{verdict(ratio <= target[col]) if col in target else '':<15} {paired:7.3f} "
              f"{min(b) / min(a):7.3f}")
    print("nvdyn/nve: ratio of the medians; paired: median of the ratios of the two runs "
          "of each round;\n"
          "best: ratio of the shortest times. Targets on the loop and Modify times; Pair "
          "does the same work\nin both (the same trajectory), so its ratio shows the noise")
    # Pair does the same work in both: the loop time without it is what the
    # integrator can change, free of most of the noise of a shared machine
    rest = {k: median([r[0] - r[3] for r in rows[k]]) for k in rows}
    est = 1 + (rest["nvdyn"] - rest["nve"]) / median([r[0] for r in rows["nve"]])
    print(f"loop time ratio with the Pair time taken out (1 + difference of the medians of "
          f"loop - Pair,\nover the median nve loop time): {est:.3f}   "
          f"{verdict(est <= args.loop_target)}")
    for col, what in ((1, "Modify (the integrator)"), (2, "Neigh")):
        extra = median([r[col] for r in rows["nvdyn"]]) - median([r[col] for r in rows["nve"]])
        print(f"extra {what} time of nvdyn: {1e9 * extra / (args.nsteps * natoms):.2f} "
              f"ns per atom-step, {100 * extra / median([r[0] for r in rows['nve']]):.1f} % "
              f"of the median nve loop time")
    print("trajectories: " + ("identical (same last thermo line in every run)"
                              if len(finals) == 1 else "DIFFER between runs"))


# ---------------------------------------------------------------- (b)

def run_method(args, method, datadir, rep):
    """Runs one relaxation method; returns a dict of its figures and
    {cluster: final positions}."""
    common = {"dir": datadir, "fmax": args.fmax, "maxiter": args.maxiter, "dt": args.dt}
    if method == "nvdyn":
        out = os.path.join(args.workdir, "final_nvdyn.extxyz")
        if os.path.exists(out):
            os.remove(out)
        wall, text = run_lammps(args, f"clusters_nvdyn_{rep}", "in.clusters_nvdyn",
                                dict(common, nvdyn_plugin=args.plugin, every=args.every, out=out))
        loop, steps, _ = loops(text)[-1]
        # the last match: the log also echoes the print command unsubstituted
        outcome = list(re.finditer(r"NVDYN outcome: done (\S+) failed (\S+) timed_out (\S+)",
                                   text))[-1]
        final, stage_steps = clusters.read_extxyz(out)
        per_sample = [v[0] for v in stage_steps.values()]
        # setup evaluates the forces once, then one evaluation per step; a
        # finished sample leaves the neighbor lists from the next step on
        atom_evals = sum(len(final[k]) * (stage_steps[k][0] + 1) for k in final)
        return dict(wall=wall, loop=loop, evals=steps + 1, atom_evals=atom_evals,
                    converged=int(float(outcome.group(1))), final=final,
                    notes=f"{steps} steps (per sample {min(per_sample)}..{max(per_sample)}, "
                    f"median {median(per_sample):g}); failed {outcome.group(2)}, "
                    f"timed out {outcome.group(3)}")
    out = os.path.join(args.workdir, f"final_{method}.dump")
    inp = "in.clusters_seq" if method == "sequential" else "in.clusters_global"
    wall, text = run_lammps(args, f"clusters_{method}_{rep}", inp,
                            dict(common, nclusters=args.nclusters, out=out))
    runs = loops(text)
    evals = [(int(i), int(e)) for i, e in
             re.findall(r"Iterations, force evaluations = (\d+) (\d+)", text)]
    stops = re.findall(r"Stopping criterion = (.*)", text)
    converged = sum(s.strip() == "force tolerance" for s in stops)
    if method == "global":
        converged = args.nclusters if converged == 1 else 0
    iters = [i for i, _ in evals]
    notes = (f"iterations per minimize {min(iters)}..{max(iters)}, "
             f"median {median(iters):g}" if method == "sequential"
             else f"{iters[0]} iterations")
    return dict(wall=wall, loop=sum(t for t, _, _ in runs), evals=sum(e for _, e in evals),
                atom_evals=sum(e * n for (_, e), (_, _, n) in zip(evals, runs)),
                converged=converged, notes=notes, final=clusters.read_dump(out))


def bench_clusters(args):
    datadir = os.path.join(args.workdir, "clusters")
    sizes = clusters.write_all(datadir, args.nclusters, args.min, args.max, args.seed, args.amp)
    methods = args.methods.split(",")
    if not methods or any(m not in ("nvdyn", "sequential", "global") for m in methods):
        sys.exit(f"bench: --methods takes nvdyn, sequential, global; not {args.methods}")
    base = methods[0]
    print(f"NVDYN LAMMPS benchmark (b){under_kokkos(args)}: relaxing {args.nclusters} LJ clusters "
          f"({sum(sizes)} atoms, {min(sizes)}..{max(sizes)} per cluster, seed {args.seed}, "
          f"perturbation {args.amp})\n"
          f"to a largest per-atom force below {args.fmax:g} (FIRE, dt {args.dt:g}, "
          f"lj/cut 2.5 shifted, fixed boundaries), 1 MPI rank; nvdyn checks every "
          f"{args.every} step(s); {args.reps} rounds, "
          f"methods in rotating order\n")
    results = {m: [] for m in methods}
    for rep in range(args.reps):
        k = rep % len(methods)
        for m in methods[k:] + methods[:k]:
            r = run_method(args, m, datadir, rep + 1)
            results[m].append(r)
            print(f"  round {rep + 1}: {m:<10} wall {r['wall']:8.3f} s, "
                  f"loop {r['loop']:8.3f} s", flush=True)

    labels = {"nvdyn": "nvdyn (one run)",
              "sequential": f"minimize x {args.nclusters}",
              "global": "one minimize"}
    finals = {m: {k: clusters.lj_energy_fmax(x) for k, x in results[m][-1]["final"].items()}
              for m in methods}
    wall = {m: median([r["wall"] for r in results[m]]) for m in methods}
    loop = {m: median([r["loop"] for r in results[m]]) for m in methods}
    print(f"\n{'method':<18} {'wall s':>8} {'loop s':>8} {'wall/' + base:>16} {'force evals':>11} "
          f"{'atom-evals':>11} {'converged':>9} {'max fmax':>9}  notes")
    for m in methods:
        r = results[m][-1]
        e = finals[m]
        fmax = max(f for _, f in e.values())
        print(f"{labels[m]:<18} {wall[m]:8.3f} "
              f"{loop[m]:8.3f} {wall[m] / wall[base]:16.2f} "
              f"{r['evals']:11d} {r['atom_evals']:11.3e} {r['converged']:>5}/{len(e):<3} "
              f"{fmax:9.2e}  {r['notes']}")
    print("wall: median over the rounds of the whole lmp process (start, reading the data, "
          "setup, relaxation);\nloop: median of the LAMMPS loop times (summed over the "
          "minimize commands); atom-evals: force evaluations times atoms;\nmax fmax: "
          "largest per-atom force of the final structures, recomputed from the dumps")

    print(f"\nfinal structures and energies per cluster against those of {labels[base]} "
          f"(energies recomputed from the dumps;\nsame minimum: no atom more than "
          f"{args.same:g} sigma away from its place in the other structure):")
    ref = finals[base]
    xref = results[base][-1]["final"]
    for m in methods[1:]:
        x = results[m][-1]["final"]
        same = np.array([np.abs(x[k] - xref[k]).max() < args.same for k in sorted(ref)])
        d = np.array([finals[m][k][0] - ref[k][0] for k in sorted(ref)])
        print(f"  {labels[m]:<18} same minimum: {int(same.sum())} clusters, |dE| there "
              f"median {np.median(np.abs(d[same])):.1e}, max {np.abs(d[same]).max():.1e};"
              f" another minimum: {int((~same).sum())} (lower {int((d[~same] < 0).sum())}, "
              f"higher {int((d[~same] > 0).sum())}); sum of dE {d.sum():.4f}")
    fastest = min(methods, key=lambda m: wall[m])
    print(f"\nfastest (wall): {labels[fastest]}")
    if "nvdyn" in methods and "sequential" in methods:
        per_eval = {m: loop[m] / results[m][-1]["atom_evals"] for m in ("nvdyn", "sequential")}
        w = wall["nvdyn"] / wall["sequential"]
        e = per_eval["nvdyn"] / per_eval["sequential"]
        print(f"wall, nvdyn / {labels['sequential']}: {w:.3f}   target <= "
              f"{args.wall_target:g}: {verdict(w <= args.wall_target)}")
        print(f"loop time per atom-force evaluation, nvdyn / {labels['sequential']}: {e:.3f}   "
              f"target <= {args.eval_target:g}: {verdict(e <= args.eval_target)}")


# ---------------------------------------------------------------- (c)

def bench_dimers(args):
    variables = {"nvdyn_plugin": args.plugin, "nx": args.nx, "ny": args.ny, "nz": args.nz,
                 "nsteps": args.nsteps, "warmup": args.warmup}
    ndimers = args.nx * args.ny * args.nz
    integrators = ("nve", "fire", "csvr")
    print(f"NVDYN LAMMPS benchmark (c){under_kokkos(args)}: many tiny samples\n"
          f"{ndimers} LJ dimers ({2 * ndimers} atoms, one molecule and one sample each, 5 sigma "
          f"apart), 1 MPI rank; {args.nsteps} timed steps\nper run after {args.warmup} warm-up "
          f"steps; fix nve, and fix nvdyn with one fire stage or one csvr stage (no criteria);\n"
          f"{args.reps} runs of each, in rotating order\n")
    rows = {k: [] for k in integrators}
    print(f"{'run':>3}  {'integrator':<10} {'loop s':>9} {'Modify s':>9} {'Pair s':>9} "
          f"{'Modify ms/step':>15}")
    for rep in range(args.reps):
        k = rep % len(integrators)
        for integ in integrators[k:] + integrators[:k]:
            _, text = run_lammps(args, f"dimers_{integ}_{rep + 1}", "in.dimers",
                                 dict(variables, integrator=integ))
            loop, steps, _ = loops(text)[-1]
            sec = timer_sections(text)
            rows[integ].append(1e3 * sec["Modify"] / steps)
            print(f"{rep + 1:>3}  {integ:<10} {loop:9.4f} {sec['Modify']:9.4f} {sec['Pair']:9.4f} "
                  f"{rows[integ][-1]:15.4f}", flush=True)
    base = median(rows["nve"])
    print(f"\n{'integrator':<22} {'median Modify ms/step':>22} {'ns/sample-step':>15} "
          f"{'/fix nve':>9}   target <= {args.target:g}")
    for integ in integrators:
        m = median(rows[integ])
        label = "fix nve" if integ == "nve" else f"fix nvdyn {integ} stage"
        print(f"{label:<22} {m:22.4f} {1e6 * m / ndimers:15.2f} {m / base:9.2f}   " +
              ("" if integ == "nve" else verdict(m / base <= args.target)))
    print("Modify: the time in the fixes (here only the integrator), from the timer table of "
          "the timed run")


# ---------------------------------------------------------------- threads

def bench_threads(args):
    datadir = os.path.join(args.workdir, "clusters")
    sizes = clusters.write_all(datadir, args.nclusters, args.min, args.max, args.seed, args.amp)
    print(f"NVDYN LAMMPS benchmark (threads): fix nvdyn/kk relaxing {args.nclusters} LJ "
          f"clusters ({sum(sizes)} atoms, seed {args.seed}) to fmax {args.fmax:g},\n"
          f"under -k on t {args.threads} -sf kk against -k on t 1; 1 MPI rank, "
          f"{args.reps} rounds, alternating\n")
    common = {"dir": datadir, "fmax": args.fmax, "maxiter": args.maxiter, "dt": args.dt,
              "nvdyn_plugin": args.plugin, "every": 1}
    loops_of = {1: [], args.threads: []}
    outcomes = set()
    for rep in range(args.reps):
        for t in ((1, args.threads) if rep % 2 == 0 else (args.threads, 1)):
            out = os.path.join(args.workdir, f"final_threads_t{t}.extxyz")
            if os.path.exists(out):
                os.remove(out)
            _, text = run_lammps(args, f"threads_t{t}_{rep + 1}", "in.clusters_nvdyn",
                                 dict(common, out=out), threads=t)
            loop, steps, _ = loops(text)[-1]
            outcome = list(re.finditer(r"NVDYN outcome: (.*)", text))[-1].group(1)
            outcomes.add((t, outcome, steps))
            loops_of[t].append(loop)
            print(f"  round {rep + 1}: t {t}  loop {loop:8.3f} s, {steps} steps, {outcome}",
                  flush=True)
    one, many = median(loops_of[1]), median(loops_of[args.threads])
    speedup = one / many
    print(f"\nmedian loop time: t 1 {one:.3f} s, t {args.threads} {many:.3f} s; speedup "
          f"{speedup:.2f}   target >= {args.target:g}: {verdict(speedup >= args.target)}")
    same = len({(o, n) for _, o, n in outcomes}) == 1
    print("outcomes and steps: " + ("the same on every run and thread count" if same
                                     else f"DIFFER: {sorted(outcomes)}"))


# ---------------------------------------------------------------- main

def cluster_args(p):
    """the options of the clusters that (b) and threads relax"""
    p.add_argument("--nclusters", type=int, default=256)
    p.add_argument("--min", type=int, default=13)
    p.add_argument("--max", type=int, default=60)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--amp", type=float, default=0.1)
    p.add_argument("--fmax", type=float, default=1e-4)
    p.add_argument("--maxiter", type=int, default=100000)
    p.add_argument("--dt", type=float, default=0.005)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lmp", required=True, help="the LAMMPS executable")
    ap.add_argument("--plugin", required=True, help="nvdynplugin.so")
    ap.add_argument("--workdir", default="bench-lammps", help="for logs, data and dumps")
    ap.add_argument("--kokkos", type=int, default=0, metavar="N",
                    help="run under -k on t N -sf kk (0: without KOKKOS)")
    ap.add_argument("--gpus", type=int, default=0, metavar="G",
                    help="run under -k on g G t N -sf kk (N: --kokkos, at least 1)")
    sub = ap.add_subparsers(dest="what", required=True)
    a = sub.add_parser("nve", help="(a) fix nvdyn nve stage vs fix nve")
    a.add_argument("--n", type=int, default=20, help="fcc cells per side (4 n^3 atoms)")
    a.add_argument("--nsteps", type=int, default=300)
    a.add_argument("--warmup", type=int, default=50)
    a.add_argument("--reps", type=int, default=5)
    a.add_argument("--loop-target", type=float, default=1.02)
    a.add_argument("--modify-target", type=float, default=1.3)
    b = sub.add_parser("clusters", help="(b) relaxing LJ clusters, three ways")
    cluster_args(b)
    b.add_argument("--every", type=int, default=1, help="check period of fix nvdyn's fmax")
    b.add_argument("--reps", type=int, default=3)
    b.add_argument("--methods", default="nvdyn,sequential,global",
                   help="comma-separated, the first is the reference of the ratios")
    b.add_argument("--same", type=float, default=0.05,
                   help="largest displacement (sigma) between two structures of one minimum")
    b.add_argument("--wall-target", type=float, default=0.9)
    b.add_argument("--eval-target", type=float, default=1.15)
    c = sub.add_parser("dimers", help="(c) 20000 dimers: fix nvdyn fire / csvr vs fix nve")
    c.add_argument("--nx", type=int, default=40, help="dimers along x (nx * ny * nz dimers)")
    c.add_argument("--ny", type=int, default=25)
    c.add_argument("--nz", type=int, default=20)
    c.add_argument("--nsteps", type=int, default=200)
    c.add_argument("--warmup", type=int, default=20)
    c.add_argument("--reps", type=int, default=3)
    c.add_argument("--target", type=float, default=2.0)
    t = sub.add_parser("threads", help="fix nvdyn/kk relaxing clusters, t N vs t 1")
    t.add_argument("--threads", type=int, default=2)
    cluster_args(t)
    t.add_argument("--reps", type=int, default=5)
    t.add_argument("--target", type=float, default=1.6)
    args = ap.parse_args()
    if args.gpus and not args.kokkos:
        args.kokkos = 1
    args.workdir = os.path.abspath(args.workdir)
    args.lmp = os.path.abspath(args.lmp)
    args.plugin = os.path.abspath(args.plugin)
    os.makedirs(args.workdir, exist_ok=True)
    {"nve": bench_nve, "clusters": bench_clusters, "dimers": bench_dimers,
     "threads": bench_threads}[args.what](args)


if __name__ == "__main__":
    main()
