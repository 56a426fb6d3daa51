#!/bin/sh
# ctest kernels_nvcc: compile kernels_cuda.cu with nvcc (sm_90, C++17,
# warnings as errors). Usage: nvcc_check.sh NVCC SOURCE INCLUDE OUTPUT.
# Exit code 77 (ctest: skipped) where no nvcc was found.
nvcc=$1
case "$nvcc" in
  "" | *NOTFOUND) echo "kernels_nvcc: no nvcc found (PATH, /usr/local/cuda/bin): skipped"; exit 77 ;;
esac
"$nvcc" -std=c++17 -arch=sm_90 -Werror all-warnings -I"$3" -c "$2" -o "$4" || exit 1
echo "kernels_nvcc: $2 compiled with $nvcc"
