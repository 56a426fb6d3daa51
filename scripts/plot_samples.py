#!/usr/bin/python3
"""Figures of a fix nvdyn run, from its per-sample CSV log and its extended-XYZ sink.

  plot_samples.py samples.csv done.extxyz [-o DIR] [--name NAME] [--dpi 100]

writes three PNG files into DIR (default: the current folder), each
WIDTH x HEIGHT = 9 x 5 inches times --dpi pixels (900 x 500 at 100 dpi):

  NAME_flow.png    samples per stage over the steps (active samples, stacked),
                   and the finished ones by outcome (done, timeout, failed)
  NAME_energy.png  the potential energy per atom of every sample over the
                   steps, coloured by the stage it is in
  NAME_steps.png   histograms of the steps each sample spent in each stage

The log is `fix nvdyn ... log FILE every N` (header
step,sample,stage,outcome,energy,fmax,temperature); the sink is
`fix nvdyn ... sink FILE` (one frame per finished sample, with sample,
outcome and stage_steps in its comment line). Stages are ordered by the
first step on which a sample is logged active in them. NAME defaults to the
log file's name without its extension. Needs Debian's python3-matplotlib.
"""

import argparse
import csv
import os
import shlex
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

WIDTH, HEIGHT = 9.0, 5.0    # inches
OUTCOME_COLOURS = {"done": "#2ca02c", "timeout": "#ff7f0e", "failed": "#d62728"}
LOG_HEADER = ["step", "sample", "stage", "outcome", "energy", "fmax", "temperature"]


def die(msg):
    sys.exit(f"plot_samples: {msg}")


def read_log(path):
    """Rows of the CSV log as dicts with typed step, sample and energy."""
    try:
        with open(path, newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header != LOG_HEADER:
                die(f"{path}: not a fix nvdyn log (header {header}, expected {','.join(LOG_HEADER)})")
            rows = []
            for n, rec in enumerate(reader, start=2):
                if len(rec) != len(LOG_HEADER):
                    die(f"{path}:{n}: {len(rec)} fields, expected {len(LOG_HEADER)}")
                row = dict(zip(LOG_HEADER, rec))
                try:
                    row["step"], row["sample"] = int(row["step"]), int(row["sample"])
                    row["energy"] = float(row["energy"])
                except ValueError as e:
                    die(f"{path}:{n}: {e}")
                rows.append(row)
    except OSError as e:
        die(f"cannot read the log: {e}")
    if not rows:
        die(f"{path}: no rows after the header")
    return rows


def read_sink(path):
    """{sample: (natoms, outcome, [steps per stage], step it finished)} from
    the sink's frames."""
    samples = {}
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as e:
        die(f"cannot read the sink: {e}")
    i = 0
    while i < len(lines):
        try:
            natoms = int(lines[i])
            info = dict(kv.split("=", 1) for kv in shlex.split(lines[i + 1]) if "=" in kv)
            sample = int(info["sample"])
            samples[sample] = (natoms, info["outcome"], [int(s) for s in info["stage_steps"].split()],
                               int(info["step"]))
        except (ValueError, IndexError, KeyError) as e:
            die(f"{path}: line {i + 1}: not a fix nvdyn sink frame ({e!r})")
        i += natoms + 2
    if not samples:
        die(f"{path}: no frames")
    return samples


def stage_order(rows):
    first = {}
    for r in rows:
        if r["outcome"] == "active":
            first.setdefault(r["stage"], r["step"])
            first[r["stage"]] = min(first[r["stage"]], r["step"])
    return sorted(first, key=first.get)


def new_figure():
    return plt.subplots(figsize=(WIDTH, HEIGHT))


def plot_flow(rows, stages, sink, out, dpi, title):
    # the log's steps, then the step on which the last sample finished (from
    # the sink), where every sample counts by its outcome
    last = max(v[3] for v in sink.values())
    rows = rows + [dict(step=last, stage="", outcome=v[1]) for v in sink.values()
                   if last > max(r["step"] for r in rows)]
    steps = sorted({r["step"] for r in rows})
    index = {s: k for k, s in enumerate(steps)}
    layers = stages + [o for o in OUTCOME_COLOURS]
    counts = {name: [0] * len(steps) for name in layers}
    for r in rows:
        name = r["stage"] if r["outcome"] == "active" else r["outcome"]
        if name not in counts:
            die(f"unknown outcome {r['outcome']!r} in the log")
        counts[name][index[r["step"]]] += 1
    fig, ax = new_figure()
    cmap = plt.get_cmap("Blues")
    colours = [cmap(0.35 + 0.55 * k / max(1, len(stages) - 1)) for k in range(len(stages))]
    colours += [OUTCOME_COLOURS[o] for o in OUTCOME_COLOURS]
    labels = [f"in {s}" for s in stages] + list(OUTCOME_COLOURS)
    ax.stackplot(steps, [counts[n] for n in layers], labels=labels, colors=colours, step="post")
    ax.set_xlabel("step")
    ax.set_ylabel("samples")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(steps[0], steps[-1])
    ax.set_title(f"{title}: samples per stage and finished samples by outcome")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(out, dpi=dpi)
    plt.close(fig)


def plot_energy(rows, stages, sink, out, dpi, title):
    colour = {s: plt.get_cmap("tab10")(k % 10) for k, s in enumerate(stages)}
    series = defaultdict(list)    # sample -> [(step, stage, energy per atom)]
    for r in rows:
        if r["outcome"] == "active":
            if r["sample"] not in sink:
                die(f"sample {r['sample']} of the log has no frame in the sink")
            series[r["sample"]].append((r["step"], r["stage"], r["energy"] / sink[r["sample"]][0]))
    fig, ax = new_figure()
    for pts in series.values():
        pts.sort()
        # one segment per stage visit, each joined to the point before it
        start = 0
        for k in range(1, len(pts) + 1):
            if k == len(pts) or pts[k][1] != pts[start][1]:
                seg = pts[max(0, start - 1):k]
                ax.plot([p[0] for p in seg], [p[2] for p in seg], color=colour[pts[start][1]],
                        lw=1.0, alpha=0.8)
                start = k
    for s in stages:
        ax.plot([], [], color=colour[s], label=s)
    ax.set_xlabel("step")
    ax.set_ylabel("potential energy per atom")
    ax.set_title(f"{title}: energy of each sample across its stages")
    ax.legend(title="stage", loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(out, dpi=dpi)
    plt.close(fig)


def plot_steps(sink, stages, out, dpi, title):
    nstages = max(len(v[2]) for v in sink.values())
    names = stages + [f"stage {k + 1}" for k in range(len(stages), nstages)]
    fig, axes = plt.subplots(1, nstages, figsize=(WIDTH, HEIGHT), squeeze=False)
    for k, ax in enumerate(axes[0]):
        steps = [v[2][k] for v in sink.values() if len(v[2]) > k]
        lo, hi = min(steps), max(steps)
        ax.hist(steps, bins=min(20, max(1, hi - lo + 1)),
                range=(lo - 0.5, hi + 0.5) if hi - lo < 20 else None, color="#4c72b0")
        ax.set_title(names[k])
        ax.set_xlabel("steps in stage")
        distinct = sorted(set(steps))
        if len(distinct) <= 5:    # e.g. a "steps" criterion: every sample alike
            ax.set_xticks(distinct)
            ax.set_xlim(lo - max(1, hi - lo), hi + max(1, hi - lo))
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        ax.xaxis.get_major_formatter().set_useOffset(False)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if k == 0:
            ax.set_ylabel("samples")
    fig.suptitle(f"{title}: steps spent per stage ({len(sink)} finished samples)")
    fig.tight_layout()
    fig.savefig(out, dpi=dpi)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("log", help="the per-sample CSV log of fix nvdyn")
    ap.add_argument("sink", help="the extended-XYZ sink of the same run")
    ap.add_argument("-o", "--outdir", default=".", help="folder for the PNG files")
    ap.add_argument("--name", help="file name prefix (default: the log's name)")
    ap.add_argument("--dpi", type=int, default=100, help="pixels per inch (figures are 9 x 5 in)")
    args = ap.parse_args()
    name = args.name or os.path.splitext(os.path.basename(args.log))[0]
    rows = read_log(args.log)
    sink = read_sink(args.sink)
    stages = stage_order(rows)
    os.makedirs(args.outdir, exist_ok=True)
    outs = [os.path.join(args.outdir, f"{name}_{what}.png") for what in ("flow", "energy", "steps")]
    plot_flow(rows, stages, sink, outs[0], args.dpi, name)
    plot_energy(rows, stages, sink, outs[1], args.dpi, name)
    plot_steps(sink, stages, outs[2], args.dpi, name)
    for out in outs:
        print(f"plot_samples: wrote {out}")


if __name__ == "__main__":
    main()
