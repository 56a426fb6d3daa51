#!/usr/bin/env bash
# ctest "install": `cmake --install` of this build into a temporary prefix,
# then the stand-alone C example (examples/c_clusters, copied out of the
# source tree) built against the installed files only, twice:
#   1. through CMake: find_package(NVDYN) and NVDYN::nvdyn (libnvdyn.a);
#   2. through pkg-config: cc $(pkg-config --cflags --libs nvdyn) (libnvdyn.so);
# each run must pass its self-checks and reach the LJ38 global minimum.
# Usage: test_install.sh BUILD_DIR SOURCE_DIR C_COMPILER WITH_PLUGIN(ON/OFF)
set -euo pipefail
build=$1 src=$2 cc=$3 with_plugin=$4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nvdyn-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test_install: FAIL: $*" >&2; exit 1; }
prefix="$tmp/prefix"

cmake --install "$build" --prefix "$prefix" > "$tmp/install.log"
libdir=$(sed -n 's/^libdir=\${prefix}\///p' "$build/nvdyn.pc")
[ -n "$libdir" ] || fail "no libdir in $build/nvdyn.pc"

# what is installed: the public header only, both libraries, the package
# files, and the plugin in the LAMMPS plugin folder
expect=(include/nvdyn.h "$libdir/libnvdyn.a" "$libdir/libnvdyn.so" "$libdir/pkgconfig/nvdyn.pc"
        "$libdir/cmake/NVDYN/NVDYNConfig.cmake" "$libdir/cmake/NVDYN/NVDYNConfigVersion.cmake"
        "$libdir/cmake/NVDYN/NVDYNTargets.cmake")
[ "$with_plugin" = ON ] && expect+=("$libdir/lammps/plugins/nvdynplugin.so")
for f in "${expect[@]}"; do [ -e "$prefix/$f" ] || fail "not installed: $f"; done
headers=$(cd "$prefix" && find . -name '*.h' | sort)
[ "$headers" = "./include/nvdyn.h" ] || fail "headers installed besides include/nvdyn.h: $headers"

# the example, away from the source tree: nothing but the prefix to find NVDYN in
cp -r "$src/examples/c_clusters" "$tmp/example"
check_run() {    # $1: the program, $2: what it was built with
  local out
  out=$("$1") || fail "$2: c_clusters exited with an error"
  grep -q "all self-checks passed$" <<<"$out" || fail "$2: no 'all self-checks passed'"
  grep -Eq "^ +[0-9]+ +to38 +38 +done +-173\.928427 " <<<"$out" \
    || fail "$2: the LJ38 sample did not end done at the global minimum -173.928427"
  echo "test_install: $2: OK"
}

cmake -S "$tmp/example" -B "$tmp/build-cmake" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF > "$tmp/cmake.log" \
  || { cat "$tmp/cmake.log"; fail "configuring the example with find_package(NVDYN)"; }
grep -q "$prefix/$libdir/cmake/NVDYN" "$tmp/build-cmake/CMakeCache.txt" \
  || fail "find_package(NVDYN) did not find the installed package"
cmake --build "$tmp/build-cmake" > "$tmp/build.log" || { cat "$tmp/build.log"; fail "building it"; }
check_run "$tmp/build-cmake/c_clusters" "CMake, NVDYN::nvdyn"

export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
flags=$(pkg-config --cflags --libs nvdyn) || fail "pkg-config nvdyn"
"$cc" -std=c11 -O2 -o "$tmp/c_clusters_pc" "$tmp/example/c_clusters.c" "$tmp/example/lj_model.c" \
  -I"$tmp/example" $flags -lm -Wl,-rpath,"$(pkg-config --variable=libdir nvdyn)" \
  || fail "building it with pkg-config's flags ($flags)"
used=$(ldd "$tmp/c_clusters_pc" | awk '$1 == "libnvdyn.so.0" { print $3 }')
[ -n "$used" ] && [ "$(readlink -f "$used")" = "$(readlink -f "$prefix/$libdir/libnvdyn.so.0")" ] \
  || fail "the pkg-config build does not use the installed libnvdyn.so.0: $(ldd "$tmp/c_clusters_pc")"
check_run "$tmp/c_clusters_pc" "pkg-config, libnvdyn.so"
