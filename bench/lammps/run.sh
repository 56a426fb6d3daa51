#!/usr/bin/env bash
# NVDYN LAMMPS benchmarks: builds everything (scripts/build.sh, as
# scripts/example.sh does), then runs bench.py with the lmp executable and
# the plugin just built. Logs, data and dumps go to $NVDYN_BUILD_DIR/bench-lammps.
#
#   bench/lammps/run.sh nve [--reps 5 --nsteps 300 --n 20]    (a) fix nvdyn vs fix nve
#   bench/lammps/run.sh clusters [--nclusters 256 --fmax 1e-4] (b) relaxing LJ clusters
#   bench/lammps/run.sh dimers [--reps 3 --nsteps 200]        (c) 20000 dimers, fire / csvr vs nve
#   bench/lammps/run.sh all                                   all three, with their defaults
#   bench/lammps/run.sh nve --help                            all options
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${NVDYN_BUILD_DIR:-$here/build}
prefix=$("$here/scripts/build.sh" | tail -n 1)
bench() {
  /usr/bin/python3 "$here/bench/lammps/bench.py" --lmp "$prefix/build/lmp" \
    --plugin "$build/nvdynplugin.so" --workdir "$build/bench-lammps" "$@"
}
if [ "${1:-}" = all ]; then
  bench nve
  echo
  bench clusters
  echo
  bench dimers
else
  bench "$@"
fi
