/* NVDYN kernel headers: the one overridable function qualifier.
 *
 * Every function of the kernel headers (types.h, rng.h, atom.h, sample.h)
 * is declared NVDYN_FUNC. The headers compile as C11, as C++17 and as CUDA;
 * a driver may define NVDYN_FUNC before including them, for example the
 * Kokkos driver as KOKKOS_INLINE_FUNCTION. Internal headers: not part of
 * the public ABI (nvdyn.h). */
#ifndef NVDYN_KERNELS_FUNC_H
#define NVDYN_KERNELS_FUNC_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#ifndef NVDYN_FUNC
#if defined(__CUDACC__) || defined(__HIPCC__)
#define NVDYN_FUNC static inline __host__ __device__
#else
#define NVDYN_FUNC static inline
#endif
#endif

#endif /* NVDYN_KERNELS_FUNC_H */
