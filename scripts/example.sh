#!/usr/bin/env bash
# Quick start 1: set up everything, build NVDYN, run the flagship example
# (examples/clusters). Any arguments are passed on to lmp (e.g. -k on -sf kk).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${NVDYN_BUILD_DIR:-$here/build}
prefix=$("$here/scripts/build.sh" | tail -n 1)
cd "$here/examples/clusters"
exec "$prefix/build/lmp" -in in.clusters -var nvdyn_plugin "$build/nvdynplugin.so" "$@"
