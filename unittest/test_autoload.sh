#!/usr/bin/env bash
# ctest "plugin_autoload": LAMMPS loads nvdynplugin.so by itself from a
# folder named in LAMMPS_PLUGIN_PATH (it loads every *plugin.so there at
# start-up), and unittest/in.no_plugin_load, which has no "plugin load",
# runs fix nvdyn and run_style nvpipeline to the end (run_no_plugin_load.sh).
# LAMMPS versions without that feature (29Sep2021 has none; it is in the
# PLUGIN package's plugin.cpp of later ones) are detected from the LAMMPS
# source, and the test is skipped (exit code 77) saying so.
# Usage: test_autoload.sh LMP PLUGIN LAMMPS_SOURCE_DIR
set -euo pipefail
lmp=$1 plugin=$2 src=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if ! grep -qs LAMMPS_PLUGIN_PATH "$src/PLUGIN/plugin.cpp"; then
  echo "test_autoload: skipped: the LAMMPS in $src has no LAMMPS_PLUGIN_PATH" \
    "(not in PLUGIN/plugin.cpp): it cannot load plugins automatically; use plugin load"
  exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nvdyn-autoload.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp "$plugin" "$tmp/"
out=$(LAMMPS_PLUGIN_PATH="$tmp" "$here/run_no_plugin_load.sh" "$lmp") || { echo "$out"; exit 1; }
grep -q "Loaded 1 plugins from $tmp" <<<"$out" \
  || { echo "$out" | head -n 20; echo "test_autoload: FAIL: the plugin was not loaded from LAMMPS_PLUGIN_PATH"; exit 1; }
echo "test_autoload: OK: nvdynplugin.so loaded from LAMMPS_PLUGIN_PATH, fix nvdyn ran"
