#!/usr/bin/env bash
# Sets up everything (scripts/setup.sh: Debian packages, cached LAMMPS build
# of the release NVDYN_LAMMPS names) and builds NVDYN against that LAMMPS in
# ${NVDYN_BUILD_DIR:-build} for 29Sep2021 (the default), build-<release>
# otherwise (build-4Feb2025, build-4Jul2026), so that versions do not share
# a build folder. Extra arguments go to NVDYN's cmake configure step.
# Prints, as its last line, the LAMMPS prefix.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prefix=$("$here/scripts/setup.sh" | tail -n 1)
lmp_release=${NVDYN_LAMMPS:-29Sep2021}
build=${NVDYN_BUILD_DIR:-$here/build$([ "$lmp_release" = 29Sep2021 ] || echo "-$lmp_release")}
cmake -G Ninja -S "$here" -B "$build" \
  -DLAMMPS_SOURCE_DIR="$prefix/lammps/src" -DLAMMPS_BUILD_DIR="$prefix/build" "$@" >&2
cmake --build "$build" -j "${NVDYN_JOBS:-$(nproc)}" >&2
echo "$prefix"
