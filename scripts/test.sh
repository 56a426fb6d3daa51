#!/usr/bin/env bash
# Quick start 2: set up everything, build NVDYN with its tests, run the whole
# test suite with ctest (C core, fix nvdyn on 1 and 2 MPI ranks, Kokkos),
# against the LAMMPS release NVDYN_LAMMPS names (see scripts/build.sh).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# build/ for the default LAMMPS (29Sep2021), build-<release> for another NVDYN_LAMMPS
lmp_release=${NVDYN_LAMMPS:-29Sep2021}
build=${NVDYN_BUILD_DIR:-$here/build$([ "$lmp_release" = 29Sep2021 ] || echo "-$lmp_release")}
"$here/scripts/build.sh" -DNVDYN_BUILD_TESTS=ON >/dev/null
cd "$build"
exec ctest --output-on-failure "$@"
