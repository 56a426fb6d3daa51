#!/usr/bin/env bash
# NVDYN LAMMPS benchmarks: builds everything (scripts/build.sh, as
# scripts/example.sh does), then runs bench.py with the lmp executable and
# the plugin just built. Logs, data and dumps go to $NVDYN_BUILD_DIR/bench-lammps,
# and so do each benchmark's report (nve.txt, clusters.txt, stream.txt,
# pipeline.txt) and its plot (nve.png, clusters.png: ratios to the
# baseline, by bench/plot.py).
#
#   bench/lammps/run.sh nve [--reps 5 --nsteps 300 --n 20]    (a) fix nvdyn vs fix nve
#   bench/lammps/run.sh clusters [--nclusters 256 --fmax 1e-4] (b) relaxing LJ clusters
#   bench/lammps/run.sh dimers [--reps 3 --nsteps 200]        (c) 20000 dimers, fire / csvr vs nve
#   bench/lammps/run.sh stream [--frames 2000 --reps 3]       (d) clusters streamed from a source
#   bench/lammps/run.sh pipeline [--frames 2000 --mdsteps 140 --buffer 4]
#                                                             (e) relax | md on 2 partitions vs 2 ranks
#   bench/lammps/run.sh all                                   (a), (b), (c), with their defaults
#   bench/lammps/run.sh nve --help                            all options
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${NVDYN_BUILD_DIR:-$here/build}
work="$build/bench-lammps"
prefix=$("$here/scripts/build.sh" | tail -n 1)
bench() {
  /usr/bin/python3 "$here/bench/lammps/bench.py" --lmp "$prefix/build/lmp" \
    --plugin "$build/nvdynplugin.so" --workdir "$work" "$@"
}
report() {    # $1: nve or clusters, then its options; the report is saved and plotted
  mkdir -p "$work"
  bench "$@" | tee "$work/$1.txt"
  /usr/bin/python3 "$here/bench/plot.py" "$1" "$work/$1.txt" -o "$work/$1.png"
}
case " $* " in
  " all ") report nve; echo; report clusters; echo; bench dimers ;;
  *" -h "* | *" --help "*) bench "$@" ;;
  " nve "* | " clusters "*) report "$@" ;;
  " stream "* | " pipeline "*) mkdir -p "$work"; bench "$@" | tee "$work/$1.txt" ;;
  *) bench "$@" ;;
esac
