#!/usr/bin/env bash
# Test of the in-tree mode (doc/install.md): NVDYN added as a package to a
# copy of the cached LAMMPS source (scripts/setup.sh), a minimal LAMMPS
# built from it (MPI, no other package, no PLUGIN, no KOKKOS), and
# unittest/in.no_plugin_load run with it: fix nvdyn and run_style
# nvpipeline without "plugin load".
#
# The copy and its build stay in ${NVDYN_CACHE:-~/.cache/nvdyn}/intree-<key>
# (key: the LAMMPS prefix), so only the first run compiles LAMMPS (about
# 5 minutes with one job on 2 cores; ccache if installed); later runs
# recompile only the NVDYN sources that changed (seconds). Builds with ${NVDYN_JOBS:-$(nproc)} jobs,
# at nice 10. Opt-in: run it by hand, from .ci/run, or as the ctest test
# lammps_package (configure with -DNVDYN_TEST_LAMMPS_PACKAGE=ON).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${NVDYN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nvdyn}
jobs=${NVDYN_JOBS:-$(nproc)}
log() { echo "lammps-package-test: $*" >&2; }

prefix=$("$here/scripts/setup.sh" | tail -n 1)
dest="$cache/intree-$(printf '%s' "$prefix" | sha256sum | cut -c1-12)"
exec 9>"$cache/.lock-intree"
flock 9

# the LAMMPS source, copied once: what its CMake build reads (not the
# examples, potentials, benchmarks or the documentation but its man page)
if [ ! -f "$dest/.copied" ]; then
  rm -rf "$dest"; mkdir -p "$dest/lammps/doc"
  for d in cmake src lib tools python fortran; do
    cp -a "$prefix/lammps/$d" "$dest/lammps/"
  done
  cp -a "$prefix/lammps/doc/lammps.1" "$dest/lammps/doc/"
  touch "$dest/.copied"
fi
"$here/scripts/lammps-package.sh" "$dest/lammps"

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
start=$(date +%s)
cmake -G Ninja -S "$dest/lammps/cmake" -B "$dest/build" -DCMAKE_BUILD_TYPE=Release \
  -DBUILD_MPI=on -DLAMMPS_EXCEPTIONS=on -DBUILD_OMP=off -DPKG_NVDYN=on "${launcher[@]}" > "$dest/configure.log"
nice -n 10 cmake --build "$dest/build" -j "$jobs" > "$dest/build.log" \
  || { tail -n 40 "$dest/build.log"; exit 1; }
log "LAMMPS with the NVDYN package built in $(( $(date +%s) - start )) s ($dest/build)"

lmp="$dest/build/lmp"
help=$("$lmp" -h)
# NVDYN among the installed packages, PLUGIN not: the styles cannot come
# from a plugin
packages=$(sed -n '/^Installed packages:/,/^List of/p' <<<"$help")
grep -qw NVDYN <<<"$packages" || { log "FAIL: lmp -h lists no package NVDYN"; exit 1; }
grep -qw PLUGIN <<<"$packages" \
  && { log "FAIL: this LAMMPS has the PLUGIN package: the test must run without it"; exit 1; }
# the styles of the package, in the lists of lmp -h
styles() { sed -n "/^\* $1 styles/,/^\* [A-Z]/p" <<<"$help" | tr -s ' ' '\n'; }
styles Fix | grep -qx nvdyn || { log "FAIL: lmp -h lists no fix style nvdyn"; exit 1; }
for style in nvpipeline verlet/nvpipeline; do
  styles Integrate | grep -qx "$style" || { log "FAIL: lmp -h lists no run style $style"; exit 1; }
done
"$here/unittest/run_no_plugin_load.sh" "$lmp" > "$dest/run.log" || { tail -n 25 "$dest/run.log"; exit 1; }
log "OK: fix nvdyn and run_style nvpipeline compiled into LAMMPS, no plugin load"
