#!/usr/bin/env bash
# NVDYN's KOKKOS styles (fix nvdyn/kk, run_style nvpipeline/kk) on an NVIDIA
# GPU, in one command: LAMMPS 29Sep2021 with KOKKOS for CUDA plus NVDYN's
# plugin and tests, then the /kk tests, the examples and the benchmarks
# under -k on g 1 -sf kk, and a report.
#
# NOT YET RUN ON A GPU: written on machines without one. There, "build" and
# "build --pack" were run (nvcc 13 compiles and links without a GPU) and
# "run --dry-run" shows the steps; the run itself needs the GPU machine.
#
#   scripts/gpu-check.sh [all]   build, then run (a GPU machine that can
#                                build: the package archive reachable, or
#                                the NVDYN cache of the build already there)
#   scripts/gpu-check.sh build [--pack FILE]
#       Any machine with nvcc 13 (no GPU needed). NVDYN_KOKKOS_DEVICE=cuda
#       scripts/setup.sh: Kokkos 3.4.01 with CUDA + Serial for sm_80 (Hopper
#       runs its PTX; cmake/kokkos-3.4.01-cuda13.patch) and LAMMPS compiled by
#       its nvcc_wrapper, cached (about 15 minutes on 2 cores, once), then
#       NVDYN's plugin and its LAMMPS tests with the same nvcc_wrapper in
#       build-cuda/ (about 3 minutes on 2 cores). --pack FILE then writes
#       FILE (.tar.xz, 17 MB measured): lmp, liblammps, Kokkos's libraries, the
#       plugin and the test programs, for a GPU machine without network.
#   scripts/gpu-check.sh run [--bundle FILE]
#       On the GPU machine: the binaries of "build" (build-cuda/ and the
#       cache) or those of FILE (from "build --pack", unpacked into a
#       temporary folder). Runs, each a step of the report:
#         - nvidia-smi, lmp -h (KOKKOS package API: CUDA), ldd of the binaries
#         - test_fix_nvdyn_kokkos (fix nvdyn/kk against the host fix) on 1
#           rank, and on 2 ranks when mpiexec is there
#         - test_kokkos (without its OpenMP-only test), test_run_nvpipeline,
#           test_fix_nvdyn (the host fix in this CUDA build)
#         - examples/clusters and examples/morse under -k on g 1 -sf kk, their
#           sinks checked (check_sink.py) and compared with a run of the host
#           fix on the same binaries (compare_runs.py, as .ci/run does)
#         - bench/lammps/bench.py --gpus 1: nve, clusters, dimers
#           (--bench quick, the default: fewer repetitions; full; none)
#       Needs on the GPU machine: an NVIDIA driver for CUDA 13 (>= 580), the
#       CUDA 13 runtime library (libcudart.so.13), Debian 12's Open MPI 4.1
#       libraries (mpiexec for the 2-rank step) and /usr/bin/python3 with
#       python3-ase and python3-numpy (the sink checks, bench.py).
#
# Options: --report FILE (default build-cuda/gpu-check/report.txt; the
# steps' logs beside it in report.d/), --bench quick|full|none,
# --fmad true|false (build: nvcc's contraction of a*b+c into FMAs in NVDYN's
# sources; default false, so that the device driver rounds as the host
# driver does, which the tests' bitwise comparisons assume; the math
# library's exp/log/sqrt still may differ from glibc's), --jobs N, --dry-run
# (print the steps, run nothing; checkable on any machine).
# Exit status: 0 every step passed; 1 a step failed (the report says which);
# 2 no NVIDIA GPU (nothing run).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=all pack="" bundle="" report="" bench=quick fmad=false dry=0
jobs=${NVDYN_JOBS:-$(nproc)}
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit "${1:-0}"; }
case "${1:-}" in
  all|build|run) mode=$1; shift ;;
esac
while (( $# )); do
  case "$1" in
    --pack) pack=$(realpath -m "$2"); shift 2 ;;
    --bundle) bundle=$(realpath -m "$2"); shift 2 ;;
    --report) report=$(realpath -m "$2"); shift 2 ;;
    --bench) bench=$2; shift 2 ;;
    --fmad) fmad=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --dry-run) dry=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "gpu-check: unknown argument '$1'" >&2; usage 1 >&2 ;;
  esac
done
case "$bench" in quick|full|none) ;; *) echo "gpu-check: --bench quick, full or none" >&2; exit 1 ;; esac
case "$fmad" in true|false) ;; *) echo "gpu-check: --fmad true or false" >&2; exit 1 ;; esac
[ -z "$pack" ] || [ "$mode" = build ] || { echo "gpu-check: --pack goes with build" >&2; exit 1; }
[ -z "$bundle" ] || [ "$mode" = run ] || { echo "gpu-check: --bundle goes with run" >&2; exit 1; }

build=${NVDYN_GPU_BUILD_DIR:-$here/build-cuda}
report=${report:-$build/gpu-check/report.txt}
log() { echo "gpu-check: $*" >&2; }
# a command, or with --dry-run its words
x() {
  if (( dry )); then printf '  + %s\n' "$*"; else "$@"; fi
}
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi

# the /kk test programs and what else "run" uses of the build
kk_targets=(nvdynplugin test_fix_nvdyn_kokkos test_kokkos test_run_nvpipeline test_fix_nvdyn)

# ---------------------------------------------------------------- build
do_build() {
  local prefix compiler
  log "build: LAMMPS 29Sep2021 + KOKKOS for CUDA (scripts/setup.sh, NVDYN_KOKKOS_DEVICE=cuda)"
  if (( dry )); then
    x env NVDYN_LAMMPS=29Sep2021 NVDYN_KOKKOS_DEVICE=cuda NVDYN_JOBS="$jobs" "$here/scripts/setup.sh"
    prefix='$prefix' compiler='$prefix/build:CMAKE_CXX_COMPILER (Kokkos bin/nvcc_wrapper)'
  else
    prefix=$(NVDYN_LAMMPS=29Sep2021 NVDYN_KOKKOS_DEVICE=cuda NVDYN_JOBS="$jobs" "$here/scripts/setup.sh" | tail -n 1)
    compiler=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$prefix/build/CMakeCache.txt")
    [[ "$compiler" == */nvcc_wrapper ]] ||
      { log "the LAMMPS in $prefix was not compiled by nvcc_wrapper ('$compiler')"; exit 1; }
  fi
  log "build: NVDYN's plugin and tests in $build (CXX: nvcc_wrapper, --fmad=$fmad)"
  x cmake -G Ninja -S "$here" -B "$build" -DLAMMPS_SOURCE_DIR="$prefix/lammps/src" \
    -DLAMMPS_BUILD_DIR="$prefix/build" -DCMAKE_CXX_COMPILER="$compiler" \
    -DCMAKE_CXX_FLAGS="--fmad=$fmad" -DNVDYN_BUILD_TESTS=ON -DNVDYN_BUILD_BENCH=OFF
  x cmake --build "$build" -j "$jobs" --target "${kk_targets[@]}"
  [ -z "$pack" ] || do_pack "$prefix"
}

# the binaries that "run" needs, with their libraries, in one .tar.xz
do_pack() {
  local prefix=$1 kokkos stage
  if (( dry )); then
    log "pack: $pack (bin/lmp, lib/ liblammps and Kokkos, nvdyn/ the plugin and the tests)"
    x tar -cJf "$pack" -C '$stage' nvdyn-gpu
    return
  fi
  kokkos=$(sed -n 's/^Kokkos_DIR:[A-Z]*=//p' "$prefix/build/CMakeCache.txt")
  kokkos=${kokkos%/lib/cmake/Kokkos}
  stage=$(mktemp -d)
  mkdir -p "$stage/nvdyn-gpu/bin" "$stage/nvdyn-gpu/lib" "$stage/nvdyn-gpu/nvdyn"
  cp -L "$prefix/build/lmp" "$stage/nvdyn-gpu/bin/"
  cp -a "$prefix/build"/liblammps.so* "$kokkos/lib"/libkokkos*.so* "$stage/nvdyn-gpu/lib/"
  cp "$build/nvdynplugin.so" "$stage/nvdyn-gpu/nvdyn/"
  for t in "${kk_targets[@]:1}"; do cp "$build/unittest/$t" "$stage/nvdyn-gpu/nvdyn/"; done
  {
    echo "NVDYN gpu-check bundle, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "source: $(git -C "$here" rev-parse HEAD 2>/dev/null || echo unknown)$(git -C "$here" diff --quiet 2>/dev/null || echo ' (with local changes)')"
    echo "LAMMPS: $prefix"
    echo "Kokkos: $kokkos"
    echo "nvcc: $(nvcc --version | tail -n 1); NVDYN --fmad=$fmad"
  } > "$stage/nvdyn-gpu/MANIFEST"
  log "pack: writing $pack"
  mkdir -p "$(dirname "$pack")"
  tar -cf - -C "$stage" nvdyn-gpu | xz -T "$jobs" -6 > "$pack"
  rm -rf "$stage"
  log "pack: $pack ($(du -h "$pack" | cut -f1))"
}

# ---------------------------------------------------------------- run
results=() failed=0
# step NAME COMMAND...: its output to report.d/NAME.log, PASS or FAIL
step() {
  local name=$1 t0 rc=0; shift
  if (( dry )); then echo "[$name]"; x "$@"; return 0; fi
  log "$name ..."
  t0=$(date +%s)
  ( cd "$work" && "$@" ) > "$steps/$name.log" 2>&1 || rc=$?    # (tests write files in the folder)
  local line
  line=$(printf '%-4s %-26s %4d s' "$([ $rc = 0 ] && echo PASS || echo FAIL)" "$name" $(( $(date +%s) - t0 )))
  (( rc == 0 )) || { failed=1; line+="  (exit $rc; report.d/$name.log)"; }
  results+=("$line")
  log "$line"
}

# an example under KOKKOS on the GPU and with the host fix, in folders of
# its own: the sink checked, both runs' outputs compared (as .ci/run does).
# (Each command checked: set -e does not hold in a function whose status is
# tested.)
example() {
  local name=$1 input=$2 sink=$3 sizes=$4 csv=$5; shift 5
  local kk="$work/example_${name}_gpu" host="$work/example_${name}_host"
  rm -rf "$kk" "$host"; mkdir -p "$kk" "$host"
  (cd "$kk" && "$lmp" -log none -in "$here/examples/$name/$input" -var nvdyn_plugin "$plugin" \
     -k on g 1 -sf kk > out.txt 2>&1) || { tail -n 30 "$kk/out.txt"; return 1; }
  grep -A 6 "stage summary" "$kk/out.txt" || { echo "no stage summary"; tail -n 30 "$kk/out.txt"; return 1; }
  ! grep -E "ERROR|WARNING" "$kk/out.txt" || return 1
  (cd "$kk" && /usr/bin/python3 "$here/examples/clusters/check_sink.py" "$sink" "$sizes" --pair "$@") ||
    return 1
  (cd "$host" && "$lmp" -log none -in "$here/examples/$name/$input" -var nvdyn_plugin "$plugin" \
     > out.txt 2>&1) || { tail -n 30 "$host/out.txt"; return 1; }
  if [ -n "$csv" ]; then
    /usr/bin/python3 "$here/examples/clusters/compare_runs.py" "$host/$csv" "$kk/$csv" 1e-10 ||
      return 1
  fi
  /usr/bin/python3 "$here/examples/clusters/compare_runs.py" "$host/$sink" "$kk/$sink" 1e-3 ||
    return 1
  echo "loop times: GPU  $(grep -h '^Loop time' "$kk/out.txt" | tail -n 1)"
  echo "            host $(grep -h '^Loop time' "$host/out.txt" | tail -n 1)"
}

# the binaries' libraries all found
libraries() {
  local missing
  missing=$(ldd "$lmp" "$plugin" "$tests"/test_fix_nvdyn_kokkos | grep 'not found' | sort -u || true)
  ldd "$plugin" | grep -E 'cudart|kokkos|mpi' || true
  [ -z "$missing" ] || { echo "libraries not found:"; echo "$missing"; return 1; }
}

bundle_tmp=""
do_run() {
  local tmp="" mpiexec
  if [ -n "$bundle" ]; then
    if (( dry )); then
      x tar -xJf "$bundle" -C '$tmp'
      tmp='$tmp'
    else
      [ -f "$bundle" ] || { log "no bundle $bundle"; exit 1; }
      tmp=$(mktemp -d); bundle_tmp=$tmp; trap 'rm -rf "$bundle_tmp"' EXIT
      tar -xJf "$bundle" -C "$tmp"
    fi
    lmp="$tmp/nvdyn-gpu/bin/lmp" plugin="$tmp/nvdyn-gpu/nvdyn/nvdynplugin.so"
    tests="$tmp/nvdyn-gpu/nvdyn"
    export LD_LIBRARY_PATH="$tmp/nvdyn-gpu/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  else
    local lmpbuild
    lmpbuild=$(sed -n 's/^LAMMPS_BUILD_DIR:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
    if [ -z "$lmpbuild" ]; then
      (( dry )) || { log "no $build/CMakeCache.txt: run 'scripts/gpu-check.sh build' first, or give --bundle"; exit 1; }
      lmpbuild='$prefix/build'
    fi
    lmp="$lmpbuild/lmp" plugin="$build/nvdynplugin.so" tests="$build/unittest"
  fi
  work=$(dirname "$report")/work
  steps="${report%.txt}.d"
  if (( ! dry )); then
    if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L > /dev/null 2>&1; then
      log "no NVIDIA GPU here (nvidia-smi -L fails): nothing run"
      exit 2
    fi
    mkdir -p "$work" "$steps"
  fi
  # Open MPI as root in containers, the plugin the tests load, the GPU
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
  export NVDYN_TEST_PLUGIN="$plugin" NVDYN_TEST_KOKKOS_GPUS=1 NVDYN_TEST_KOKKOS_THREADS=1
  export OMP_PROC_BIND=false
  mpiexec=$(command -v mpiexec || true)

  step gpu nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv
  step libraries libraries
  step lmp_kokkos_cuda bash -c '"$1" -h | grep "KOKKOS package API: CUDA"' _ "$lmp"
  step fix_nvdyn_kokkos_np1 "$tests/test_fix_nvdyn_kokkos"
  if [ -n "$mpiexec" ] || (( dry )); then
    step fix_nvdyn_kokkos_np2 "${mpiexec:-mpiexec}" -n 2 "$tests/test_fix_nvdyn_kokkos"
  else
    results+=("SKIP fix_nvdyn_kokkos_np2          (no mpiexec)")
  fi
  step kokkos "$tests/test_kokkos" --gtest_filter=-Kokkos.OpenMPBackendRunsTheRequestedThreads
  step run_nvpipeline "$tests/test_run_nvpipeline"
  step fix_nvdyn_host "$tests/test_fix_nvdyn"
  step example_clusters example clusters in.clusters clusters.extxyz clusters.txt samples.csv lj 1.0 1.0 2.5
  step example_morse example morse in.morse particles.extxyz particles.txt "" morse 0.3429 1.3588 2.866 7.0
  local b=(/usr/bin/python3 "$here/bench/lammps/bench.py" --lmp "$lmp" --plugin "$plugin"
           --workdir "$work/bench" --gpus 1)
  case "$bench" in
    quick)
      step bench_nve "${b[@]}" nve --reps 3
      step bench_clusters "${b[@]}" clusters --reps 1 --methods nvdyn,global
      step bench_dimers "${b[@]}" dimers --reps 1 ;;
    full)
      step bench_nve "${b[@]}" nve
      step bench_clusters "${b[@]}" clusters
      step bench_dimers "${b[@]}" dimers ;;
  esac
  (( dry )) && return 0
  {
    echo "NVDYN gpu-check, $(date -u '+%Y-%m-%d %H:%M UTC'), $(hostname)"
    echo "source: $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    [ -z "$bundle" ] || { echo "bundle: $bundle"; sed 's/^/  /' "$tmp/nvdyn-gpu/MANIFEST"; }
    echo "lmp: $lmp"; echo "plugin: $plugin"; echo
    printf '%s\n' "${results[@]}"; echo
    for f in "$steps"/*.log; do
      echo "==== $(basename "$f" .log)"
      tail -n 60 "$f"
      echo
    done
  } > "$report"
  log "report: $report"
  printf '%s\n' "${results[@]}"
  return $failed
}

case "$mode" in
  build) do_build ;;
  run) do_run ;;
  all) do_build; do_run ;;
esac
