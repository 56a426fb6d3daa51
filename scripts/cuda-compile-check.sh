#!/usr/bin/env bash
# Compile-only check of NVDYN's KOKKOS styles for CUDA, on a machine without
# a GPU: kokkos/fix_nvdyn_kokkos.cpp, kokkos/run_nvpipeline_kokkos.cpp and
# src/lammps/nvdyn_plugin.cpp (with NVDYN_KOKKOS) compiled by the
# nvcc_wrapper of a CUDA Kokkos 3.4.01 (CUDA + Serial, sm_80; built once by
# scripts/setup.sh, NVDYN_KOKKOS_DEVICE=cuda --kokkos-only, about 30 s on 2
# cores) against the headers of LAMMPS 29Sep2021 and its KOKKOS package
# (the source tree of scripts/setup.sh's cached build), with LMP_KOKKOS as
# LAMMPS's CUDA build has it (kokkos_type.h then defines LMP_KOKKOS_GPU:
# fix nvdyn/kk/host is compiled too). The device lambdas are compiled for
# sm_80 for real: device-lambda rules, host calls in device code and the like
# are compile errors here. Nothing is linked or run (see scripts/gpu-check.sh
# for that, on a GPU machine). The CMake project is cmake/cuda-check/.
#
# Usage: scripts/cuda-compile-check.sh [--all]
#   --all  also every other source of the plugin (host code, which a CUDA
#          build compiles with nvcc_wrapper too) and the KOKKOS tests'
#          sources (unittest/test_kokkos.cpp, test_fix_nvdyn_kokkos.cpp)
# Environment: NVDYN_CUDA_CHECK_DIR (build folder, default build-cuda-check),
# NVDYN_JOBS, and scripts/setup.sh's (NVDYN_CACHE). nvcc: from PATH or
# /usr/local/cuda/bin.
# Prints what it compiled, the compiler's warnings and errors; exit status 0
# when every source compiled (with device code for sm_80), 1 on a compile
# error or a failed setup, 77 when there is no nvcc (nothing checked).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
all=OFF
case "${1:-}" in
  "") ;;
  --all) all=ON ;;
  *) echo "usage: $0 [--all]" >&2; exit 1 ;;
esac
log() { echo "cuda-check: $*"; }

if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
if ! command -v nvcc >/dev/null; then
  log "no nvcc in PATH or /usr/local/cuda/bin: nothing checked"
  exit 77
fi
log "$(nvcc --version | tail -n 1)"

start=$(date +%s)
# the LAMMPS 29Sep2021 source (its headers) and the CUDA Kokkos
prefix=$(NVDYN_LAMMPS=29Sep2021 NVDYN_KOKKOS_DEVICE=openmp "$here/scripts/setup.sh" | tail -n 1)
kokkos=$(NVDYN_LAMMPS=29Sep2021 NVDYN_KOKKOS_DEVICE=cuda "$here/scripts/setup.sh" --kokkos-only | tail -n 1)
lmpsrc="$prefix/lammps/src"
log "LAMMPS headers: $lmpsrc (and KOKKOS/)"
log "Kokkos: $kokkos (compiler: bin/nvcc_wrapper)"

build=${NVDYN_CUDA_CHECK_DIR:-$here/build-cuda-check}
jobs=${NVDYN_JOBS:-$(nproc)}
mkdir -p "$build"
cmake -G Ninja -S "$here/cmake/cuda-check" -B "$build" \
  -DCMAKE_CXX_COMPILER="$kokkos/bin/nvcc_wrapper" -DKokkos_DIR="$kokkos/lib/cmake/Kokkos" \
  -DLAMMPS_SOURCE_DIR="$lmpsrc" -DNVDYN_SOURCE_DIR="$here" -DNVDYN_CUDA_CHECK_ALL=$all \
  > "$build/configure.log" 2>&1 || { cat "$build/configure.log"; log "FAILED: cmake could not configure $build"; exit 1; }
# every object compiled again: the check's verdict is about the sources of now
cmake --build "$build" --target clean > /dev/null
rc=0
compile_start=$(date +%s)
cmake --build "$build" -j "$jobs" -- -k 0 > "$build/compile.log" 2>&1 || rc=$?
compile_seconds=$(( $(date +%s) - compile_start ))

# what was compiled (ninja's lines), then the compiler's own messages
grep -o 'Building CXX object .*' "$build/compile.log" | sed 's|.*\.dir/||; s|\.o$||' |
  sed "s|^${here#/}/||; s|^|cuda-check: compiling |" || true
grep -v '^\[[0-9]*/[0-9]*\] \|^ninja: ' "$build/compile.log" > "$build/messages.log" || true
nwarn=$(grep -cE 'warning( #[0-9A-Z-]+)?:' "$build/messages.log" || true)
nerr=$(grep -cE 'error( #[0-9A-Z-]+)?:' "$build/messages.log" || true)
if [ -s "$build/messages.log" ]; then
  log "the compiler's messages ($nwarn warnings, $nerr errors; all in $build/compile.log):"
  cat "$build/messages.log"
fi
if (( rc )); then
  grep '^FAILED: ' "$build/compile.log" | sed 's|.*\.dir/||; s|\.o *$||' | sed "s|^${here#/}/||" |
    sed 's|^|cuda-check: FAILED to compile |' || true
  log "FAILED: a compile error for CUDA (above), in $compile_seconds s"
  exit 1
fi

# device code for sm_80 is in the fix's object: one kernel registered per
# parallel_for/parallel_reduce of the device driver (nvdyn_device_impl.h)
fix_o=$(find "$build" -name fix_nvdyn_kokkos.cpp.o | head -n 1)
[ -n "$fix_o" ] || { log "FAILED: no object of kokkos/fix_nvdyn_kokkos.cpp"; exit 1; }
if ! readelf -S "$fix_o" | grep '\.nv_fatbin' > /dev/null; then    # (not -q: pipefail)
  log "FAILED: $fix_o holds no device code (.nv_fatbin)"; exit 1
fi
nkernels=$(strings "$fix_o" | grep '^_ZN6Kokkos4Impl.*cuda_parallel_launch' |
  grep -E 'NVDynDeviceI(NS_|N6Kokkos)4CudaE' | sort -u | wc -l)
(( nkernels > 0 )) || { log "FAILED: no NVDynDevice<Kokkos::Cuda> kernel in $fix_o"; exit 1; }
log "OK: every source compiled for CUDA (sm_80) in $compile_seconds s;" \
    "fix_nvdyn_kokkos.cpp holds $nkernels NVDynDevice<Kokkos::Cuda> kernels" \
    "(total $(( $(date +%s) - start )) s)"
