#!/usr/bin/env bash
# Sets up everything (scripts/setup.sh: Debian packages, cached LAMMPS build)
# and builds NVDYN against that LAMMPS in ${NVDYN_BUILD_DIR:-build}.
# Extra arguments go to NVDYN's cmake configure step.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prefix=$("$here/scripts/setup.sh" | tail -n 1)
build=${NVDYN_BUILD_DIR:-$here/build}
cmake -G Ninja -S "$here" -B "$build" \
  -DLAMMPS_SOURCE_DIR="$prefix/lammps/src" -DLAMMPS_BUILD_DIR="$prefix/build" "$@" >&2
cmake --build "$build" -j "${NVDYN_JOBS:-$(nproc)}" >&2
echo "$prefix"
