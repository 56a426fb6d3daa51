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
  stream    (d) LJ clusters of 4..20 atoms streamed by fix nvdyn source
                through an atom budget into an empty box, against the same
                clusters as one static batch and a per-structure minimize
                loop: samples per second (targets: stream/static >= 0.9,
                stream/loop >= 10), peak RSS of N and 10 N frames (<= 1.1),
                every frame once, energies stream vs static (1e-6)
  pipeline  (e) a relax -> md workflow on LJ clusters streamed from a source,
                run_style nvpipeline split relax | md on 2 MPI ranks: one
                partition of 2 ranks (domain decomposition, every stage)
                against 2 partitions of 1 rank (the pipeline): samples per
                second and their ratio, each partition's busy and wait times
                (the universe log's Pipeline summary), every frame once and
                done in both sinks, the same steps per stage
  threads   the relaxation of (b) by fix nvdyn/kk under -k on t N -sf kk
                against -k on t 1: ratio of the medians of the loop times
                (target: N = 2 threads at least 1.6x faster)

--kokkos N runs every LAMMPS of nve, clusters, dimers and stream under -k on t N
-sf kk (fix nvdyn/kk against nve/kk; the targets of nve under KOKKOS:
--loop-target 1.03); --gpus G (a LAMMPS whose Kokkos has the CUDA backend)
under -k on g G t N -sf kk (N: --kokkos, at least 1).

Usually started by bench/lammps/run.sh, which builds everything and passes
--lmp and --plugin. Logs, data and dumps stay in --workdir.
"""

import argparse
import glob
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


TIME_V = "/usr/bin/time"    # GNU time: -v reports the child's peak RSS


# Open MPI refuses root without the first two; oversubscribe allows more
# ranks than cores; no CMA single-copy (ptrace is often not allowed in
# containers). Other MPIs ignore them.
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_rmaps_base_oversubscribe": "1",
           "OMPI_MCA_btl_vader_single_copy_mechanism": "none"}


def run_lammps(args, name, inp, variables, threads=None, rss=None, ranks=None, extra=()):
    """Runs lmp on input inp (in this folder) with -var settings, under
    KOKKOS with `threads` threads (default: --kokkos; 0: without); returns
    (wall seconds, log text). The log is kept as WORKDIR/name.log. With a
    dict `rss`, its "kb" is set to the peak resident set size of that lmp
    process (GNU time -v's "Maximum resident set size" where /usr/bin/time
    is installed, else the rusage of os.wait4 of that one child). With
    `ranks`, lmp runs under `--mpirun -np ranks` (the wall time is that of
    mpirun); `extra`: more lmp arguments (e.g. -partition 2x1)."""
    log = os.path.join(args.workdir, name + ".log")
    cmd = [args.lmp, "-in", inp, "-log", log, "-screen", "none"] + list(extra)
    cmd += kokkos_args(args.kokkos if threads is None else threads, args.gpus)
    for key, val in variables.items():
        cmd += ["-var", key, str(val)]
    if ranks:
        cmd = [args.mpirun, "-np", str(ranks)] + cmd
    timefile = os.path.join(args.workdir, name + ".time")
    gnu_time = rss is not None and os.access(TIME_V, os.X_OK)
    if gnu_time:
        cmd = [TIME_V, "-v", "-o", timefile] + cmd
    # (Kokkos's OpenMP backend warns without OMP_PROC_BIND)
    env = dict(os.environ, OMP_NUM_THREADS="1", OMP_PROC_BIND="false")
    if ranks:
        env = dict(MPI_ENV, **env)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=HERE, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = open(log).read() if os.path.exists(log) else ""
    if proc.returncode != 0 or "ERROR" in text:
        err = [ln for ln in (text + stdout).splitlines() if "ERROR" in ln]
        sys.exit(f"bench: {' '.join(cmd)} failed (exit {proc.returncode}): "
                 f"{err[0] if err else stdout[-2000:]}\nlog: {log}")
    if rss is not None:
        if gnu_time:
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(timefile).read())
            rss["kb"], rss["how"] = int(m.group(1)), "/usr/bin/time -v"
        else:    # Linux: ru_maxrss in kilobytes
            rss["kb"], rss["how"] = int(usage.ru_maxrss), "os.wait4 rusage"
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


# ---------------------------------------------------------------- (d)

def read_sink_keys(path):
    """The comment-line keys of every frame of an extended-XYZ sink, in the
    file's order (positions skipped)."""
    frames = []
    with open(path) as f:
        while True:
            head = f.readline()
            if not head.strip():
                break
            n = int(head)
            frames.append(dict(re.findall(r'(\w+)=("[^"]*"|\S+)', f.readline())))
            for _ in range(n):
                f.readline()
    return frames


def check_sink(path, nframes, key, first):
    """Every frame once and done: returns ({frame index: energy}, text of
    the problems found, '' if none). `key`: the key naming the frame
    (source_index, from 0; sample, the molecule ID, from 1 = `first`)."""
    frames = read_sink_keys(path)
    seen = {}
    repeats = 0
    notdone = 0
    for fr in frames:
        k = int(fr[key]) - first
        repeats += k in seen
        notdone += fr["outcome"] != "done"
        seen[k] = float(fr["energy"])
    missing = sum(k not in seen for k in range(nframes))
    extra = sum(not 0 <= k < nframes for k in seen)
    bad = [f"{what} {n}" for what, n in (("repeated", repeats), ("missing", missing),
                                         ("unknown", extra), ("not done", notdone)) if n]
    return seen, ", ".join(bad)


def stream_timers(text):
    """(loop s, steps, {section: s}, neighbor list builds) of the last run"""
    loop, steps, _ = loops(text)[-1]
    builds = int(re.findall(r"Neighbor list builds = (\d+)", text)[-1])
    return loop, steps, timer_sections(text), builds


def mean_live_atoms(text):
    """the mean of the Atoms column of the thermo output of the last run"""
    head = text[:text.rindex("Loop time of")]
    block = head[head.rindex("Step Atoms"):].splitlines()[1:]
    vals = [int(ln.split()[1]) for ln in block if ln.split() and ln.split()[0].isdigit()]
    return sum(vals) / len(vals) if vals else float("nan")


def bench_stream(args):
    datadir = os.path.join(args.workdir, "stream")
    os.makedirs(datadir, exist_ok=True)
    n = args.frames
    nloop = args.loop_frames or max(1, n // 10)
    shapes = clusters.make_shapes(n, args.min, args.max, args.seed, args.amp)
    sizes = [len(p) for p in shapes]
    natoms = sum(sizes)
    budget = args.budget or natoms // 10
    # the static batch and the per-structure loop: clusters.data (all, on a
    # grid) and cluster_K.data (the first nloop), the same clusters
    clusters.write_all(datadir, n, args.min, args.max, args.seed, args.amp, nsingle=nloop)
    src = os.path.join(datadir, "frames.extxyz")
    clusters.write_xyz(src, shapes)
    big = os.path.join(datadir, f"frames_x{args.big}.extxyz")
    big_shapes = clusters.make_shapes(args.big * n, args.min, args.max, args.seed, args.amp)
    clusters.write_xyz(big, big_shapes)
    # an empty box that holds the budget's samples with room to spare: the
    # placement keeps each sample's sphere (its extent + margin, the
    # neighbor cutoff 2.8) and the cutoff between two spheres, so a sample
    # takes a ball of radius extent + 4.2; the box holds such balls of the
    # largest cluster for twice the budget's mean number of samples at a
    # packing fraction of --packing
    reach = max(np.sqrt((p**2).sum(axis=1)).max() for p in shapes) + 2.8 + 1.4
    nlive = 2.0 * budget / (natoms / n)
    side = args.side or float(np.ceil((nlive * 4.0 / 3.0 * np.pi * reach**3 / args.packing)
                                      ** (1.0 / 3.0) + 2 * reach))
    common = {"fmax": args.fmax, "maxiter": args.maxiter, "dt": args.dt}
    print(f"NVDYN LAMMPS benchmark (d){under_kokkos(args)}: streaming {n} LJ clusters "
          f"({natoms} atoms, {min(sizes)}..{max(sizes)} per cluster, seed {args.seed}, "
          f"perturbation {args.amp})\n"
          f"relaxed with FIRE to a largest per-atom force below {args.fmax:g} (dt {args.dt:g}, "
          f"lj/cut 2.5 shifted, fixed boundaries), 1 MPI rank;\n"
          f"  stream: fix nvdyn source (one extxyz file), budget atoms {budget} "
          f"({budget / natoms:.3f} of all), refill every {args.refill}, into an empty "
          f"{side:g}^3 box, checks every {args.every}\n"
          f"  static: all {n} at once from one data file (grid), fix nvdyn samples molecule, "
          f"checks every {args.every}\n"
          f"  loop:   minimize per structure in an input-script loop, on the first {nloop} "
          f"(rates per structure)\n"
          f"both nvdyn runs under run_style nvpipeline; {args.reps} rounds, methods in "
          f"rotating order; peak RSS of the stream run\nfor {n} frames (the rounds) and "
          f"{args.big * n} frames (one run, the same budget)\n")

    def stream_run(name, source, nframes, out):
        if os.path.exists(out):
            os.remove(out)
        rss = {}
        wall, text = run_lammps(args, name, "in.stream",
                                dict(common, nvdyn_plugin=args.plugin, src=source, budget=budget,
                                     side=side, every=args.every, refill=args.refill, out=out),
                                rss=rss)
        energies, bad = check_sink(out, nframes, "source_index", 0)
        return dict(wall=wall, text=text, rss=rss, energies=energies, bad=bad)

    def run(method, rep):
        if method == "stream":
            return stream_run(f"stream_{rep}", src, n, os.path.join(args.workdir,
                                                                   "final_stream.extxyz"))
        if method == "static":
            out = os.path.join(args.workdir, "final_static.extxyz")
            if os.path.exists(out):
                os.remove(out)
            rss = {}
            wall, text = run_lammps(args, f"static_{rep}", "in.clusters_nvdyn",
                                    dict(common, nvdyn_plugin=args.plugin, dir=datadir,
                                         every=args.every, out=out), rss=rss)
            energies, bad = check_sink(out, n, "sample", 1)
            return dict(wall=wall, text=text, rss=rss, energies=energies, bad=bad)
        out = os.path.join(args.workdir, "final_loop.dump")
        rss = {}
        wall, text = run_lammps(args, f"loop_{rep}", "in.clusters_seq",
                                dict(common, dir=datadir, nclusters=nloop, out=out), rss=rss)
        stops = re.findall(r"Stopping criterion = (.*)", text)
        final = clusters.read_dump(out)
        energies = {k - 1: clusters.lj_energy_fmax(x)[0] for k, x in final.items()}
        conv = sum(st.strip() == "force tolerance" for st in stops)
        bad = "" if conv == nloop and len(final) == nloop else \
            f"converged {conv} of {nloop}, {len(final)} in the dump"
        return dict(wall=wall, text=text, rss=rss, energies=energies, bad=bad,
                    loop=sum(t for t, _, _ in loops(text)))

    methods = ("stream", "static", "loop")
    results = {m: [] for m in methods}
    empty = os.path.join(datadir, "in.empty")
    with open(empty, "w") as f:
        f.write("units lj\n")
    starts = []
    for rep in range(args.reps):
        k = rep % len(methods)
        for m in methods[k:] + methods[:k]:
            r = run(m, rep + 1)
            results[m].append(r)
            print(f"  round {rep + 1}: {m:<7} wall {r['wall']:8.3f} s, "
                  f"peak RSS {r['rss']['kb'] / 1024:7.1f} MiB"
                  + (f", {r['bad']}" if r["bad"] else ""), flush=True)
        # the start of lmp itself (an input of one command), for the loop's
        # rate per structure
        starts.append(run_lammps(args, f"empty_{rep + 1}", empty, {})[0])
    r_big = stream_run("stream_big", big, args.big * n,
                       os.path.join(args.workdir, "final_stream_big.extxyz"))
    print(f"  stream of {args.big * n} frames: wall {r_big['wall']:8.3f} s, peak RSS "
          f"{r_big['rss']['kb'] / 1024:7.1f} MiB" + (f", {r_big['bad']}" if r_big["bad"] else ""),
          flush=True)

    wall = {m: median([r["wall"] for r in results[m]]) for m in methods}
    count = {"stream": n, "static": n, "loop": nloop}
    rate = {m: count[m] / wall[m] for m in methods}
    # the loop over all n structures: one lmp start plus n times the time
    # per structure of the loop over nloop (its wall less the start)
    start = median(starts)
    per_structure = (wall["loop"] - start) / nloop
    rate["loop"] = n / (start + n * per_structure)
    labels = {"stream": "stream (source)", "static": "static batch",
              "loop": f"minimize x {nloop}"}
    print(f"\n{'method':<18} {'frames':>7} {'wall s':>8} {'loop s':>8} {'samples/s':>10} "
          f"{'steps':>7} {'Pair s':>7} {'Neigh s':>8} {'Modify s':>9} {'Other s':>8} "
          f"{'builds':>7} {'RSS MiB':>8}")
    for m in methods:
        r = results[m][-1]
        rss = median([x["rss"]["kb"] for x in results[m]]) / 1024
        if m == "loop":
            lp = median([x["loop"] for x in results[m]])
            print(f"{labels[m]:<18} {nloop:7d} {wall[m]:8.3f} {lp:8.3f} {rate[m]:10.1f} "
                  f"{'':>7} {'':>7} {'':>8} {'':>9} {'':>8} {'':>7} {rss:8.1f}")
            continue
        lp, steps, sec, builds = stream_timers(r["text"])
        lp = median([stream_timers(x["text"])[0] for x in results[m]])
        print(f"{labels[m]:<18} {n:7d} {wall[m]:8.3f} {lp:8.3f} {rate[m]:10.1f} {steps:7d} "
              f"{sec['Pair']:7.3f} {sec['Neigh']:8.3f} {sec['Modify']:9.3f} "
              f"{sec.get('Other', 0.0):8.3f} {builds:7d} {rss:8.1f}")
    live = mean_live_atoms(results["stream"][-1]["text"])
    print(f"wall: median over the rounds of the whole lmp process; samples/s: frames over it; "
          f"the loop's: {n} structures\nover one lmp start ({start:.3f} s, an input of one "
          f"command) plus {n} times the loop's time per structure\n(its wall less the start, "
          f"over {nloop}: {1e3 * per_structure:.2f} ms); loop: "
          f"median LAMMPS loop time (the loop: summed over the minimize commands);\nsteps, "
          f"timer sections, neighbor list builds: the last round's; RSS: median peak resident "
          f"set size ({results['stream'][-1]['rss']['how']})\n"
          f"stream: {live:.0f} atoms in the box on average (thermo every 100 steps), "
          f"{live / budget:.2f} of the budget")

    ok = True
    print("\noutcomes:")
    for m in methods:
        bads = [r["bad"] for r in results[m] if r["bad"]]
        ok = ok and not bads
        what = "every frame exactly once in the sink, all done" if m != "loop" else \
            f"all {nloop} converged (force tolerance)"
        print(f"  {labels[m]:<18} " + (what + " in every round" if not bads else
                                       "PROBLEMS: " + "; ".join(bads)))
    print(f"  stream of {args.big * n:<7} " +
          ("every frame exactly once in the sink, all done" if not r_big["bad"]
           else "PROBLEMS: " + r_big["bad"]))
    ok = ok and not r_big["bad"]
    es, et = results["stream"][-1]["energies"], results["static"][-1]["energies"]
    common_k = sorted(set(es) & set(et))
    de = np.array([abs(es[k] - et[k]) for k in common_k])
    worst = int(common_k[int(de.argmax())]) if len(de) else -1
    e_ok = len(common_k) == n and bool((de <= args.energy_tol).all())
    ok = ok and e_ok
    print(f"  energies, stream vs static, frame by frame (sinks): {int((de <= args.energy_tol).sum())}"
          f" of {n} within {args.energy_tol:g}; |dE| median {np.median(de):.1e}, max "
          f"{de.max():.1e} (frame {worst})   {'PASS' if e_ok else 'FAIL'}")
    el = results["loop"][-1]["energies"]
    dl = np.array([abs(el[k] - es[k]) for k in sorted(el) if k in es])
    print(f"  energies, loop vs stream (recomputed from the loop's dump; informative: "
          f"LAMMPS's FIRE differs): {int((dl <= args.energy_tol).sum())} of {len(dl)} "
          f"within {args.energy_tol:g}, {int((dl > 1e-3).sum())} differ by more than 1e-3")

    s_static = rate["stream"] / rate["static"]
    s_loop = rate["stream"] / rate["loop"]
    rss_n = median([x["rss"]["kb"] for x in results["stream"]])
    rss_ratio = r_big["rss"]["kb"] / rss_n
    print(f"\nsamples per second: stream {rate['stream']:.1f}, static {rate['static']:.1f}, "
          f"loop {rate['loop']:.1f} (estimated for {n} from the loop over {nloop}; "
          f"{nloop / wall['loop']:.1f} measured over {nloop}, one lmp start included)")
    rows = [(f"stream / static samples per second", s_static, s_static >= args.static_target,
             f">= {args.static_target:g}"),
            (f"stream / loop samples per second", s_loop, s_loop >= args.loop_target,
             f">= {args.loop_target:g}"),
            (f"peak RSS, stream of {args.big * n} / of {n} frames "
             f"({r_big['rss']['kb'] / 1024:.1f} / {rss_n / 1024:.1f} MiB)", rss_ratio,
             rss_ratio <= args.rss_target, f"<= {args.rss_target:g}")]
    for what, val, met, target in rows:
        print(f"{what:<62} {val:8.3f}   target {target:<6} {'PASS' if met else 'FAIL'}")
    print(f"outcomes and energies: {'PASS' if ok else 'FAIL'}")


# ---------------------------------------------------------------- (e)

def pipeline_summary(text):
    """The rows of the universe log's "Pipeline summary" table: [dict(part,
    ranks, nin, nout, busy, input, output, end, stepped, held)], [] without
    one (stepped, held: the mean atoms per step of active samples, and of
    finished ones held for room downstream)."""
    i = text.rfind("Pipeline summary")
    rows = []
    if i < 0:
        return rows
    for ln in text[i:].splitlines()[3:]:
        cols = [c.strip() for c in ln.split("|")]
        if len(cols) != 10 or not cols[0].isdigit():
            break
        rows.append(dict(part=int(cols[0]), ranks=int(cols[1]), nin=int(cols[2]),
                         nout=int(cols[3]), busy=float(cols[4]), input=float(cols[5]),
                         output=float(cols[6]), end=float(cols[7]), stepped=float(cols[8]),
                         held=float(cols[9])))
    return rows


def stage_summary(text):
    """{stage: (samples, mean steps, time s, %total)} of the last stage
    summary table of a log"""
    i = text.rindex("stage summary")
    rows = {}
    for ln in text[i:].splitlines()[3:]:
        cols = [c.strip() for c in ln.split("|")]
        if len(cols) != 8:
            break
        rows[cols[0]] = (int(cols[1]), float(cols[2]), float(cols[6]), float(cols[7]))
    return rows


def thermo_means(text):
    """the means of the columns Atoms, f_flow[1] (active in relax) and
    f_flow[2] (active in md) of the last run's thermo output"""
    head = text[:text.rindex("Loop time of")]
    block = head[head.rindex("Step Atoms"):].splitlines()[1:]
    vals = [[float(v) for v in ln.split()[1:4]] for ln in block
            if ln.split() and ln.split()[0].isdigit()]
    return [sum(c) / len(c) for c in zip(*vals)] if vals else [float("nan")] * 3


def sink_steps(path):
    """{source_index: stage_steps text} of a sink"""
    return {int(fr["source_index"]): fr["stage_steps"].strip('"')
            for fr in read_sink_keys(path)}


def bench_pipeline(args):
    datadir = os.path.join(args.workdir, "pipeline")
    os.makedirs(datadir, exist_ok=True)
    n = args.frames
    shapes = clusters.make_shapes(n, args.min, args.max, args.seed, args.amp)
    sizes = [len(p) for p in shapes]
    natoms = sum(sizes)
    budget = args.budget or natoms // 10
    src = os.path.join(datadir, "frames.extxyz")
    clusters.write_xyz(src, shapes)
    # the box of (d): balls of radius largest extent + 4.2 for twice the
    # budget's mean number of samples at a packing fraction of --packing
    reach = max(np.sqrt((p**2).sum(axis=1)).max() for p in shapes) + 2.8 + 1.4
    nlive = 2.0 * budget / (natoms / n)
    side = args.side or float(np.ceil((nlive * 4.0 / 3.0 * np.pi * reach**3 / args.packing)
                                      ** (1.0 / 3.0) + 2 * reach))
    variables = {"nvdyn_plugin": args.plugin, "src": src, "budget": budget, "side": side,
                 "fmax": args.fmax, "every": args.every, "maxiter": args.maxiter,
                 "dt": args.dt, "refill": args.refill, "temp": args.temp, "damp": args.damp,
                 "mdsteps": args.mdsteps, "buffer": args.buffer,
                 "binsize": args.binsize}
    methods = ["dd", "pipe"] + (["serial"] if args.serial else [])
    bins = f"{args.binsize:g} sigma" if args.binsize else "LAMMPS's default, 1.4 sigma"
    labels = {"dd": "(a) 1 x 2 ranks", "pipe": "(b) 2 x 1 rank", "serial": "1 x 1 rank"}
    print(f"NVDYN LAMMPS benchmark (e): the partition pipeline, relax | md, on 2 MPI ranks\n"
          f"{n} LJ clusters ({natoms} atoms, {min(sizes)}..{max(sizes)} per cluster, seed "
          f"{args.seed}, perturbation {args.amp}) streamed by fix nvdyn source (one extxyz "
          f"file),\nbudget atoms {budget} ({budget / natoms:.3f} of all), refill every "
          f"{args.refill}, into an empty {side:g}^3 box (lj/cut 2.5 shifted, fixed boundaries, "
          f"dt {args.dt:g}, neighbor bins {bins}):\n"
          f"  stage relax  FIRE until fmax {args.fmax:g} (checked every {args.every} steps)\n"
          f"  stage md     Langevin T {args.temp:g}, damping {args.damp:g}, velocities drawn "
          f"at T {args.temp:g}, until steps {args.mdsteps}\n"
          f"  run_style nvpipeline split relax | md buffer samples {args.buffer}\n"
          f"(a) {args.mpirun} -np 2 lmp -in in.pipeline                  one partition of 2 "
          f"ranks (domain decomposition), every stage\n"
          f"(b) {args.mpirun} -np 2 lmp -in in.pipeline -partition 2x1   partition 1 reads "
          f"the source and relaxes, partition 2 runs md, writes the sink\n" +
          (f"    {args.mpirun} -np 1 lmp -in in.pipeline                  1 rank, for "
           f"reference\n" if args.serial else "") +
          f"{args.reps} rounds, methods in rotating order\n", flush=True)

    def run(method, rep):
        name = f"pipeline_{method}_{rep}"
        out = os.path.join(args.workdir, f"final_pipeline_{method}.extxyz")
        if os.path.exists(out):
            os.remove(out)
        extra, plogs = [], []
        if method == "pipe":
            base = os.path.join(args.workdir, name + ".plog")
            for old in glob.glob(base + ".*"):
                os.remove(old)
            extra = ["-partition", "2x1", "-plog", base, "-pscreen", "none"]
        wall, text = run_lammps(args, name, "in.pipeline", dict(variables, out=out),
                                ranks=1 if method == "serial" else 2, extra=extra)
        r = dict(wall=wall, text=text)
        if method == "pipe":
            # the partitions' logs, base.0 and base.1 (LAMMPS numbers them from 0)
            plogs = sorted(glob.glob(base + ".*"), key=lambda f: int(f.rsplit(".", 1)[1]))
            texts = [open(f).read() for f in plogs]
            errs = [ln for t in texts for ln in t.splitlines() if "ERROR" in ln]
            if len(texts) != 2 or errs:
                sys.exit(f"bench: the partition logs {base}.* of {name}: "
                         + (errs[0] if errs else f"{len(texts)} of 2"))
            r["parts"] = pipeline_summary(text)
            r["logs"] = texts
        else:
            r["logs"] = [text]
        r["loops"] = [loops(t)[-1] for t in r["logs"]]
        r["means"] = [thermo_means(t) for t in r["logs"]]
        r["stages"] = [stage_summary(t) for t in r["logs"]]
        _, r["bad"] = check_sink(out, n, "source_index", 0)
        r["steps"] = sink_steps(out)
        if method == "pipe" and len(r["parts"]) != 2:
            r["bad"] = ", ".join(filter(None, [r["bad"], "no Pipeline summary of 2 partitions "
                                               "in the universe log"]))
        return r

    results = {m: [] for m in methods}
    for rep in range(args.reps):
        k = rep % len(methods)
        for m in methods[k:] + methods[:k]:
            r = run(m, rep + 1)
            results[m].append(r)
            line = f"  round {rep + 1}: {labels[m]:<16} wall {r['wall']:7.3f} s, " \
                   f"{n / r['wall']:7.1f} samples/s"
            if m == "pipe":
                line += "; " + "; ".join(
                    f"partition {p['part']}: busy {p['busy']:.3f}, input wait {p['input']:.3g}, "
                    f"output wait {p['output']:.3g}, end wait {p['end']:.3g} s"
                    for p in r["parts"])
            print(line + (f", {r['bad']}" if r["bad"] else ""), flush=True)

    wall = {m: median([r["wall"] for r in results[m]]) for m in methods}
    rate = {m: n / wall[m] for m in methods}
    print(f"\n{'run':<17} {'frames':>6} {'wall s':>7} {'samples/s':>10} {'partition':>9} "
          f"{'stages':>10} {'loop s':>7} {'steps':>6} {'Pair s':>6} {'Neigh s':>7} "
          f"{'Modify s':>8} {'builds':>6} {'atoms':>6} {'in relax':>8} {'in md':>6}")
    for m in methods:
        r = results[m][-1]
        stages = ["relax | md"] if m != "pipe" else ["relax", "md"]
        for i, ((lp, steps, _), means, text) in enumerate(zip(r["loops"], r["means"],
                                                              r["logs"])):
            lp = median([x["loops"][i][0] for x in results[m]])
            _, _, sec, builds = stream_timers(text)
            head = (f"{labels[m]:<17} {n:6d} {wall[m]:7.3f} {rate[m]:10.1f}" if i == 0
                    else f"{'':<17} {'':>6} {'':>7} {'':>10}")
            print(f"{head} {i + 1:>9} {stages[i]:>10} {lp:7.3f} {steps:6d} {sec['Pair']:6.3f} "
                  f"{sec['Neigh']:7.3f} {sec['Modify']:8.3f} {builds:6d} {means[0]:6.0f} "
                  f"{means[1]:8.1f} {means[2]:6.1f}")
    print("wall: median over the rounds of the whole mpirun process; samples/s: frames over "
          "it; loop s: median LAMMPS loop time\nof each partition; steps, timer sections "
          "(average over ranks) and neighbor list builds: the last round's;\natoms, in relax, "
          "in md: the means over the last round's thermo output (every 100 steps) of the "
          "atoms in\nthe box and of the samples active in each stage")
    st = results["dd"][-1]["stages"][0]
    print("stage time on one partition ((a), the last round's stage summary): "
          + ", ".join(f"{k} {v[2]:.3f} s ({v[3]:.1f} %, {v[1]:.1f} steps per sample)"
                      for k, v in st.items()))

    parts = list(zip(*[r["parts"] for r in results["pipe"]]))
    print(f"\n(b) per partition, medians over the rounds (universe log, \"Pipeline summary\"):\n"
          f"{'partition':>9} {'stages':>7} {'in':>6} {'out':>6} {'busy s':>8} "
          f"{'input wait s':>13} {'output wait s':>14} {'end wait s':>11} {'loop s':>7} "
          f"{'stepped':>8} {'held':>6}")
    for i, rows in enumerate(parts):
        lp = median([x["loops"][i][0] for x in results["pipe"]])
        med = {k: median([p[k] for p in rows])
               for k in ("busy", "input", "output", "end", "stepped", "held")}
        print(f"{rows[0]['part']:>9} {('relax', 'md')[i]:>7} {rows[-1]['nin']:6d} "
              f"{rows[-1]['nout']:6d} {med['busy']:8.3f} {med['input']:13.4g} "
              f"{med['output']:14.4g} {med['end']:11.4g} {lp:7.3f} {med['stepped']:8.1f} "
              f"{med['held']:6.1f}")
    print("busy: stepping samples; input wait: nothing to step, waiting for a sample from "
          "upstream; output wait: every\nsample held finished, waiting for room downstream; "
          "end wait: from its last sample to the end of the pipeline;\nstepped, held: atoms "
          "per step of active samples, and of finished ones held for room downstream "
          f"(budget {budget})")
    # a link's credit comes back when the partition downstream inserts the
    # sample, at its refills: at most `buffer` samples per `refill` steps
    # there, so at most buffer * mdsteps / refill samples in md at once
    m1, m2 = results["pipe"][-1]["means"]
    per = natoms / n
    cap = args.buffer * args.mdsteps / args.refill
    print(f"link bound: at most {args.buffer} samples (buffer) per {args.refill} steps (refill) "
          f"of partition 2, so at most {cap:.0f} samples in md\nat once ({cap * per:.0f} atoms "
          f"of {per:.1f} on average, budget {budget}); the last round: partition 2 held "
          f"{m2[2]:.1f} in md ({m2[0]:.0f} atoms in its box),\npartition 1 {m1[0]:.0f} atoms "
          f"(about {m1[0] / per:.0f} samples of {per:.1f} atoms) of which {m1[1]:.1f} samples "
          f"relaxing, the others finished,\nwaiting for the link (frozen; \"output wait\" "
          f"counts only the time when all of them are)")

    ok = True
    print("\noutcomes:")
    for m in methods:
        bads = [r["bad"] for r in results[m] if r["bad"]]
        ok = ok and not bads
        print(f"  {labels[m]:<17} " + ("every frame exactly once in the sink, all done, in "
                                      "every round" if not bads else
                                      "PROBLEMS: " + "; ".join(bads)))
    ref = results["dd"][-1]["steps"]
    for m in methods[1:]:
        other = results[m][-1]["steps"]
        same = sum(ref.get(k) == v for k, v in other.items())
        ok = ok and same == n and len(ref) == n
        print(f"  steps per stage (sink's stage_steps), {labels[m]} vs {labels['dd']}: "
              f"{same} of {n} frames the same   {'PASS' if same == n else 'FAIL'}")
    ratio = rate["pipe"] / rate["dd"]
    print(f"\nsamples per second: {labels['dd']} {rate['dd']:.1f}, {labels['pipe']} "
          f"{rate['pipe']:.1f}" + (f", {labels['serial']} {rate['serial']:.1f}"
                                   if "serial" in rate else ""))
    best = min(r["wall"] for r in results["dd"]) / min(r["wall"] for r in results["pipe"])
    paired = median([a["wall"] / b["wall"] for a, b in zip(results["dd"], results["pipe"])])
    print(f"samples per second, (b) 2 partitions of 1 rank / (a) 1 partition of 2 ranks: "
          f"{ratio:.3f} (ratio of the medians; paired {paired:.3f}, median of the rounds' "
          f"ratios; best {best:.3f},\nratio of the shortest walls)")
    if "serial" in rate:
        print(f"against 1 rank: (a) {rate['dd'] / rate['serial']:.3f}, "
              f"(b) {rate['pipe'] / rate['serial']:.3f}")
    print(f"outcomes and steps: {'PASS' if ok else 'FAIL'}")


# ---------------------------------------------------------------- main

MDSTEPS = 140    # (e): the md stage's steps: on one partition about the cost of relax


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


def source_args(p):
    """the options of the clusters that (d) and (e) stream from a source,
    and of the box and budget they go through"""
    p.add_argument("--frames", type=int, default=2000, help="frames (clusters) of the source")
    p.add_argument("--min", type=int, default=4)
    p.add_argument("--max", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--amp", type=float, default=0.1)
    p.add_argument("--fmax", type=float, default=1e-3)
    p.add_argument("--every", type=int, default=10, help="check period of fix nvdyn's fmax")
    p.add_argument("--maxiter", type=int, default=100000)
    p.add_argument("--dt", type=float, default=0.005)
    p.add_argument("--budget", type=int, default=0,
                   help="atoms in the box at most (default: a tenth of all frames' atoms)")
    p.add_argument("--refill", type=int, default=10, help="refill every N steps")
    p.add_argument("--side", type=float, default=0.0, help="the empty box's side (default: "
                   "from the budget and --packing)")
    p.add_argument("--packing", type=float, default=0.25,
                   help="packing fraction of the default box at twice the budget's samples")


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
    d = sub.add_parser("stream", help="(d) clusters streamed from a source vs static batch, loop")
    source_args(d)
    d.add_argument("--loop-frames", type=int, default=0,
                   help="structures of the minimize loop (default: a tenth of --frames)")
    d.add_argument("--big", type=int, default=10,
                   help="the memory run streams this many times --frames")
    d.add_argument("--reps", type=int, default=3)
    d.add_argument("--energy-tol", type=float, default=1e-6)
    d.add_argument("--static-target", type=float, default=0.9)
    d.add_argument("--loop-target", type=float, default=10.0)
    d.add_argument("--rss-target", type=float, default=1.1)
    e = sub.add_parser("pipeline", help="(e) relax | md across 2 partitions vs 1 partition "
                       "of 2 ranks")
    source_args(e)
    e.add_argument("--temp", type=float, default=0.1, help="the md stage's temperature")
    e.add_argument("--damp", type=float, default=0.5, help="the md stage's damping time")
    e.add_argument("--mdsteps", type=int, default=MDSTEPS, help="steps of the md stage")
    e.add_argument("--buffer", type=int, default=64,
                   help="buffer samples N of each link (64: run_style nvpipeline's default)")
    e.add_argument("--binsize", type=float, default=2.8, help="neigh_modify binsize (0: "
                   "LAMMPS's default, half the neighbor cutoff)")
    e.add_argument("--reps", type=int, default=5)
    e.add_argument("--serial", type=int, default=1,
                   help="1: also one partition of 1 rank, for reference (0: not)")
    e.add_argument("--mpirun", default="mpirun", help="the MPI launcher (-np N)")
    args = ap.parse_args()
    if args.gpus and not args.kokkos:
        args.kokkos = 1
    args.workdir = os.path.abspath(args.workdir)
    args.lmp = os.path.abspath(args.lmp)
    args.plugin = os.path.abspath(args.plugin)
    os.makedirs(args.workdir, exist_ok=True)
    {"nve": bench_nve, "clusters": bench_clusters, "dimers": bench_dimers,
     "threads": bench_threads, "stream": bench_stream, "pipeline": bench_pipeline}[args.what](args)


if __name__ == "__main__":
    main()
