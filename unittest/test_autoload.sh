#!/usr/bin/env bash
# ctest "plugin_autoload": LAMMPS loads nvdynplugin.so by itself from a
# folder named in LAMMPS_PLUGIN_PATH (it loads every *plugin.so there at
# start-up), and unittest/in.no_plugin_load, which has no "plugin load",
# runs fix nvdyn and run_style nvpipeline to the end: both samples done.
# LAMMPS versions without that feature (29Sep2021 has none; it is in the
# PLUGIN package's plugin.cpp of later ones) are detected from the LAMMPS
# source, and the test is skipped (exit code 77) saying so.
# Usage: test_autoload.sh LMP PLUGIN LAMMPS_SOURCE_DIR INPUT
set -euo pipefail
lmp=$1 plugin=$2 src=$3 input=$4
if ! grep -qs LAMMPS_PLUGIN_PATH "$src/PLUGIN/plugin.cpp"; then
  echo "test_autoload: skipped: the LAMMPS in $src has no LAMMPS_PLUGIN_PATH" \
    "(not in PLUGIN/plugin.cpp): it cannot load plugins automatically; use plugin load"
  exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nvdyn-autoload.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/plugins" "$tmp/run"
cp "$plugin" "$tmp/plugins/"
out=$(cd "$tmp/run" && LAMMPS_PLUGIN_PATH="$tmp/plugins" "$lmp" -log none -in "$input" 2>&1) \
  || { echo "$out" | tail -n 20; echo "test_autoload: FAIL: lmp exited with an error"; exit 1; }
grep -q "Loaded 1 plugins from $tmp/plugins" <<<"$out" \
  || { echo "$out" | head -n 20; echo "test_autoload: FAIL: the plugin was not loaded from LAMMPS_PLUGIN_PATH"; exit 1; }
grep -q "^no_plugin_load: done 2 failed 0 timed_out 0$" <<<"$out" \
  || { echo "$out" | tail -n 20; echo "test_autoload: FAIL: not every sample done"; exit 1; }
echo "test_autoload: OK: nvdynplugin.so loaded from LAMMPS_PLUGIN_PATH, fix nvdyn ran"
