#!/usr/bin/env bash
# Runs unittest/in.no_plugin_load (fix nvdyn and run_style nvpipeline, no
# "plugin load") with the lmp given, in a temporary folder, and checks what
# that input promises: the run ends with both samples done (none failed or
# timed out) and the stage summary of run_style nvpipeline. Prints lmp's
# output; on a failed check, its tail and a message, and exits 1.
# Used by unittest/test_autoload.sh and scripts/test-lammps-package.sh.
# Usage: run_no_plugin_load.sh LMP
set -euo pipefail
lmp=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nvdyn-noload.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "$out" | tail -n 20; echo "run_no_plugin_load: FAIL: $*"; exit 1; }
out=$(cd "$tmp" && "$lmp" -log none -in "$here/in.no_plugin_load" 2>&1) || fail "lmp exited with an error"
grep -q "^no_plugin_load: done 2 failed 0 timed_out 0$" <<<"$out" || fail "not every sample done"
grep -q "^Fix nvdyn batch stage summary (2 samples):" <<<"$out" \
  || fail "no stage summary of run_style nvpipeline"
printf '%s\n' "$out"
