#!/usr/bin/env bash
# Quick start 1: set up everything, build NVDYN, run the flagship example
# (examples/clusters), with the LAMMPS release NVDYN_LAMMPS names (see
# scripts/build.sh). Any arguments are passed on to lmp (e.g. -k on -sf kk).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# build/ for the default LAMMPS (29Sep2021), build-<release> for another NVDYN_LAMMPS
lmp_release=${NVDYN_LAMMPS:-29Sep2021}
build=${NVDYN_BUILD_DIR:-$here/build$([ "$lmp_release" = 29Sep2021 ] || echo "-$lmp_release")}
prefix=$("$here/scripts/build.sh" | tail -n 1)
cd "$here/examples/clusters"
# (Kokkos's OpenMP backend warns without it, under -k on)
export OMP_PROC_BIND=${OMP_PROC_BIND:-false}
exec "$prefix/build/lmp" -in in.clusters -var nvdyn_plugin "$build/nvdynplugin.so" "$@"
