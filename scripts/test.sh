#!/usr/bin/env bash
# Quick start 2: set up everything, build NVDYN with its tests, run the whole
# test suite with ctest (C core, fix nvdyn on 1 and 2 MPI ranks, Kokkos).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${NVDYN_BUILD_DIR:-$here/build}
"$here/scripts/build.sh" -DNVDYN_BUILD_TESTS=ON >/dev/null
cd "$build"
exec ctest --output-on-failure "$@"
