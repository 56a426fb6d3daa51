#!/usr/bin/env bash
# Checksums of the deterministic stage styles' trajectories (in.digest) on 1
# and 2 MPI ranks, for comparing builds bit for bit:
#   bench/lammps/digest.sh [LMP PLUGIN]     (defaults: the cached LAMMPS, build/)
# prints one "sha256  file" line per run (positions, velocities, forces of
# every atom at the end, and the per-sample log).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
lmp=${1:-$("$here/scripts/setup.sh" | tail -n 1)/build/lmp}
plugin=${2:-${NVDYN_BUILD_DIR:-$here/build}/nvdynplugin.so}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
  OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
cd "$work"
for np in 1 2; do
  mpirun -np $np "$lmp" -in "$here/bench/lammps/in.digest" -var nvdyn_plugin "$plugin" \
    -var out "np$np.xyz" -log none -screen none
  sed -i '/^ITEM: TIMESTEP/,+1d' "np$np.xyz"
done
sha256sum np1.xyz np1.xyz.csv np2.xyz np2.xyz.csv
