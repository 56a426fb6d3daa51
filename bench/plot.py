#!/usr/bin/python3
"""Plots of NVDYN benchmark results, as ratios to their baselines.

A separate step from running the benchmarks: it reads the reports they
print (saved to a file), or the reports recorded in doc/performance.md.

  plot.py update REPORT -o OUT.png      bench_update: each update's bandwidth over
                                        that of memcpy (target 0.5 for the rows
                                        marked PASS/FAIL)
  plot.py nve REPORT -o OUT.png         bench/lammps nve: fix nvdyn over fix nve,
                                        per timer section (targets: loop 1.02,
                                        Modify 1.3)
  plot.py clusters REPORT... -o OUT.png bench/lammps clusters: wall time of each
                                        method over that of the first one, one
                                        group of bars per report (--labels)
  plot.py doc doc/performance.md -o DIR the three, from the reports recorded in
                                        that file: DIR/perf_update.png,
                                        perf_nve.png, perf_clusters.png

bench/lammps/run.sh saves its reports and plots them this way. Needs
Debian's python3-matplotlib.
"""

import argparse
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

NUM = r"([0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)"


def die(msg):
    sys.exit(f"plot: {msg}")


# ---------------------------------------------------------------- parsing

def parse_update(text):
    """[(update, ratio, targeted)] of a bench_update report."""
    rows, informational, inside = [], False, False
    for line in text.splitlines():
        if line.startswith("update ") and "B/atom" in line:
            inside = True
            continue
        if not inside:
            continue
        if not line.strip():
            break
        if line.startswith("-- informational"):
            informational = True
            continue
        fields = line[30:].split()
        if len(fields) < 5:
            die(f"bench_update row not understood: {line!r}")
        if fields[4] != "-":
            rows.append((line[:30].strip(), float(fields[4]),
                         not informational and fields[-1] in ("PASS", "FAIL")))
    if not rows:
        die("no bench_update table found")
    return rows


def parse_nve(text):
    """({section: (median ratio, paired, best)}, Pair-free loop ratio,
    {section: target}), the targets as the report states them: a line
    'targets: loop <= L, Modify <= M', or in older reports one target of
    both in the table's header ('target <= T')."""
    sections = {}
    for m in re.finditer(rf"^(loop|Modify|Neigh|Pair) time \(s\) +{NUM} +{NUM} +{NUM} +"
                         rf"(?:MET +|MISSED +)?{NUM} +{NUM} *$", text, re.M):
        sections[m.group(1)] = (float(m.group(4)), float(m.group(5)), float(m.group(6)))
    free = re.search(rf"Pair time taken out[^:]*(?:\n[^:\n]*)?: {NUM}", text)
    if len(sections) != 4 or not free:
        die("no complete fix nvdyn vs fix nve summary found (loop, Modify, Neigh, Pair rows "
            "and the loop ratio with the Pair time taken out)")
    both = re.search(rf"^targets: loop <= {NUM}, Modify <= {NUM}", text, re.M)
    one = re.search(rf"nvdyn/nve +target <= {NUM}", text)
    if not both and not one:
        die("no targets found in the fix nvdyn vs fix nve summary")
    loop, modify = (both.group(1), both.group(2)) if both else (one.group(1), one.group(1))
    return sections, float(free.group(1)), {"loop": float(loop), "Modify": float(modify)}


def parse_clusters(text):
    """[(method, wall s, wall ratio)] of a clusters report's summary table."""
    rows = [(m.group(1).strip(), float(m.group(2)), float(m.group(4)))
            for m in re.finditer(rf"^(nvdyn \(one run\)|minimize x \d+|one minimize) +{NUM} +{NUM}"
                                 rf" +{NUM} +\d+ ", text, re.M)]
    if not rows:
        die("no clusters summary table found")
    return rows


def doc_blocks(text):
    """[(text before the block, block)] of the fenced code blocks of a file."""
    parts = re.split(r"^```[^\n]*\n", text, flags=re.M)
    return [(parts[k - 1], parts[k]) for k in range(1, len(parts), 2)]


# ---------------------------------------------------------------- plots

def finish(fig, ax, out, title, ylabel=None, xlabel=None):
    ax.set_title(title)
    if ylabel:
        ax.set_ylabel(ylabel)
    if xlabel:
        ax.set_xlabel(xlabel)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    print(f"plot: wrote {out}")


def plot_update(rows, out):
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(rows) + 1.6))
    names = [r[0] for r in rows][::-1]
    ratios = [r[1] for r in rows][::-1]
    colours = ["#4c72b0" if r[2] else "#a6b8d6" for r in rows][::-1]
    ax.barh(names, ratios, color=colours)
    ax.axvline(1.0, color="black", lw=0.8)
    ax.axvline(0.5, color="#d62728", ls="--", lw=1.0, label="target 0.5 (dark bars)")
    for y, r in enumerate(ratios):
        ax.text(r + 0.01, y, f"{r:.2f}", va="center", fontsize=8)
    ax.legend(loc="lower right")
    finish(fig, ax, out, "bench_update: bandwidth of each update over that of memcpy",
           xlabel="effective bandwidth / memcpy bandwidth")


def plot_nve(sections, free, targets, out):
    fig, ax = plt.subplots(figsize=(9, 5))
    names = list(sections)
    width = 0.27
    for k, (what, colour) in enumerate((("median", "#4c72b0"), ("paired", "#55a868"),
                                        ("best", "#c44e52"))):
        xs = [i + (k - 1) * width for i in range(len(names))]
        ax.bar(xs, [sections[n][k] for n in names], width, label=what, color=colour)
    ax.bar([len(names)], [free], width, color="#8172b2", label="loop, Pair taken out")
    for i, n in enumerate(names):
        ax.text(i - width, sections[n][0], f"{sections[n][0]:.3f}", ha="center",
                va="bottom", fontsize=8)
    ax.text(len(names), free, f"{free:.3f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(names) + 1))
    ax.set_xticklabels([f"{n} time" for n in names] + ["loop time\n(Pair taken out)"])
    ax.axhline(1.0, color="black", lw=0.8)
    # the targets of the loop (also of its Pair-free ratio) and Modify rows
    marks = [(i, targets[n]) for i, n in enumerate(names) if n in targets]
    marks.append((len(names), targets["loop"]))
    label = (f"target {targets['loop']:g}" if targets["loop"] == targets["Modify"] else
             f"targets (loop {targets['loop']:g}, Modify {targets['Modify']:g})")
    for k, (i, t) in enumerate(marks):
        ax.hlines(t, i - 1.5 * width, i + 1.5 * width, colors="#d62728", linestyles="--", lw=1.0,
                  label=None if k else label)
    top = max(max(v) for v in sections.values()) * 1.08
    ax.set_ylim(min(0.9, min(min(v) for v in sections.values()) - 0.02),
                max(top, max(targets.values()) + 0.05))
    ax.legend(loc="upper right")
    finish(fig, ax, out, "fix nvdyn (one nve stage) over fix nve, 32000-atom LJ liquid",
           ylabel="time ratio nvdyn / nve")


def plot_clusters(tables, labels, out):
    methods = [m for m, _, _ in tables[0]]
    fig, ax = plt.subplots(figsize=(9, 5))
    width = 0.8 / len(tables)
    for k, (rows, label) in enumerate(zip(tables, labels)):
        ratio = {m: r for m, _, r in rows}
        xs = [i + (k - (len(tables) - 1) / 2) * width for i in range(len(methods))]
        ys = [ratio.get(m, float("nan")) for m in methods]
        ax.bar(xs, ys, width, label=label)
        for x, y in zip(xs, ys):
            ax.text(x, y, f"{y:.2f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(methods)))
    ax.set_xticklabels(methods)
    ax.axhline(1.0, color="black", lw=0.8)
    ax.legend(loc="upper left")
    finish(fig, ax, out, f"relaxing LJ clusters: wall time over that of {methods[0]}",
           ylabel="wall time ratio")


def from_doc(path, outdir):
    text = open(path).read()
    blocks = doc_blocks(text)
    update = [b for _, b in blocks if "NVDYN bench_update:" in b]
    nve = [b for _, b in blocks if re.search(r"^Modify time \(s\)", b, re.M)]
    clusters = [(before, b) for before, b in blocks if re.search(r"^nvdyn \(one run\)", b, re.M)]
    if not (update and nve and clusters):
        die(f"{path}: expected the reports of bench_update, of the nve and of the clusters "
            "benchmarks in fenced code blocks")
    plot_update(parse_update(update[0]), os.path.join(outdir, "perf_update.png"))
    plot_nve(*parse_nve(nve[0]), os.path.join(outdir, "perf_nve.png"))
    # each clusters block is labelled by the last check period named before it
    labels = []
    for before, _ in clusters:
        every = re.findall(r"`every (\d+)`", before)
        labels.append(f"nvdyn checks every {every[-1]}" if every else f"report {len(labels) + 1}")
    plot_clusters([parse_clusters(b) for _, b in clusters], labels,
                  os.path.join(outdir, "perf_clusters.png"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("what", choices=("update", "nve", "clusters", "doc"))
    ap.add_argument("reports", nargs="+", help="report files (doc: doc/performance.md)")
    ap.add_argument("-o", "--out", required=True, help="PNG file (doc: folder)")
    ap.add_argument("--labels", nargs="+", help="clusters: one label per report")
    args = ap.parse_args()
    if args.what == "doc":
        return from_doc(args.reports[0], args.out)
    texts = []
    for path in args.reports:
        try:
            texts.append(open(path).read())
        except OSError as e:
            die(f"cannot read the report: {e}")
    if args.what == "update":
        plot_update(parse_update(texts[0]), args.out)
    elif args.what == "nve":
        plot_nve(*parse_nve(texts[0]), args.out)
    else:
        labels = args.labels or [os.path.splitext(os.path.basename(p))[0] for p in args.reports]
        if len(labels) != len(texts):
            die(f"{len(texts)} reports but {len(labels)} labels")
        plot_clusters([parse_clusters(t) for t in texts], labels, args.out)


if __name__ == "__main__":
    main()
