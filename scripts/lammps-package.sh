#!/usr/bin/env bash
# Adds NVDYN to a LAMMPS source tree as a package (in-tree mode), for users
# who build LAMMPS themselves and want NVDYN compiled in instead of loaded
# as a plugin:
#
#   scripts/lammps-package.sh /path/to/lammps
#   cmake -S /path/to/lammps/cmake -B build -D PKG_NVDYN=on [other options]
#
# It copies NVDYN's LAMMPS styles (not the plugin entry point
# nvdyn_plugin.cpp) to <lammps>/src/NVDYN and the C core to
# <lammps>/src/NVDYN/core, cmake/lammps-package/NVDYN.cmake and
# cmake/NVDYNLammpsVersion.cmake to <lammps>/cmake/Modules, and adds the
# option PKG_NVDYN to <lammps>/cmake/CMakeLists.txt, before the line on
# which LAMMPS writes its style headers. Running it again replaces that
# block and src/NVDYN with the current ones (file times kept, so a build
# only recompiles what changed). See doc/install.md.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# = 1 ] || { echo "usage: $0 /path/to/lammps (the top of a LAMMPS source tree)" >&2; exit 2; }
lmp=$(cd "$1" && pwd)
for f in src/version.h src/fix.h cmake/CMakeLists.txt cmake/Modules/StyleHeaderUtils.cmake; do
  [ -f "$lmp/$f" ] || { echo "$0: $lmp/$f not found: not the top of a LAMMPS source tree with CMake support" >&2; exit 1; }
done

pkg="$lmp/src/NVDYN"
rm -rf "$pkg"
mkdir -p "$pkg"
shopt -s nullglob
for f in "$here"/src/lammps/*.cpp "$here"/src/lammps/*.h; do
  [ "$(basename "$f")" = nvdyn_plugin.cpp ] || cp -p "$f" "$pkg/"
done
cp -pr "$here/src/core" "$pkg/core"
cp -p "$here/cmake/lammps-package/NVDYN.cmake" "$lmp/cmake/Modules/Packages/NVDYN.cmake"
cp -p "$here/cmake/NVDYNLammpsVersion.cmake" "$lmp/cmake/Modules/NVDYNLammpsVersion.cmake"

# the option, just before LAMMPS writes its style headers (after the lammps
# target and the packages' sources are defined); a block of an earlier run
# (from the marker to its endif) is replaced
marker="# ---- NVDYN package (added by NVDYN's scripts/lammps-package.sh)"
cmakelists="$lmp/cmake/CMakeLists.txt"
grep -q "^GenerateStyleHeaders(" "$cmakelists" || {
  echo "$0: no line 'GenerateStyleHeaders(...)' in $cmakelists: this LAMMPS's CMake build" \
    "is not supported by the in-tree mode; use the plugin" >&2; exit 1; }
awk -v marker="$marker" '
  $0 == marker { skip = 1; next }
  skip { if ($0 == "endif()") skip = 0; next }
  /^GenerateStyleHeaders\(/ && !done {
    print marker
    print "option(PKG_NVDYN \"Build the NVDYN package (batched multi-stage dynamics)\" OFF)"
    print "if(PKG_NVDYN)"
    print "  include(Packages/NVDYN)"
    print "endif()"
    done = 1
  }
  { print }' "$cmakelists" > "$cmakelists.nvdyn"
cmp -s "$cmakelists.nvdyn" "$cmakelists" && rm "$cmakelists.nvdyn" || mv "$cmakelists.nvdyn" "$cmakelists"
echo "NVDYN added to $lmp: configure it with -D PKG_NVDYN=on" >&2
