// scripts/cuda-compile-check.sh: the LAMMPS headers see the CUDA Kokkos as
// LAMMPS's own CUDA build does (kokkos_type.h defines LMP_KOKKOS_GPU), so
// fix nvdyn/kk's /kk/host variant (FixNVDynKokkos<LMPHostType>) is compiled
#include "kokkos_type.h"

#include <type_traits>

#ifndef LMP_KOKKOS_GPU
#error "LMP_KOKKOS_GPU is not defined: this Kokkos has no GPU backend"
#endif
static_assert(std::is_same<LMPDeviceType, Kokkos::Cuda>::value,
              "LMPDeviceType is not Kokkos::Cuda");
static_assert(!std::is_same<LMPHostType, LMPDeviceType>::value,
              "LMPHostType is LMPDeviceType");
