/* NVDYN per-atom update math: the one source shared by every backend.
 *
 * Each function updates one atom through strided pointers (p[k * stride] is
 * component k). Under a CUDA compiler the functions are __host__ __device__,
 * so the host loops in nvdyn.c and device kernels call the same code.
 * Internal header: not part of the public ABI. */
#ifndef NVDYN_MATH_H
#define NVDYN_MATH_H

#include <stddef.h>

#if defined(__CUDACC__)
#define NVDYN_INLINE static inline __host__ __device__
#else
#define NVDYN_INLINE static inline
#endif

/* v += dtfm * f  (dtfm = dt/2 * ftm2v / m: a velocity-Verlet half kick) */
NVDYN_INLINE void nvdyn_kick(double *v, ptrdiff_t vs, const double *f, ptrdiff_t fs, double dtfm)
{
  v[0] += dtfm * f[0];
  v[vs] += dtfm * f[fs];
  v[2 * vs] += dtfm * f[2 * fs];
}

/* x += dtv * v  (a drift over the full time step) */
NVDYN_INLINE void nvdyn_drift(double *x, ptrdiff_t xs, const double *v, ptrdiff_t vs, double dtv)
{
  x[0] += dtv * v[0];
  x[xs] += dtv * v[vs];
  x[2 * xs] += dtv * v[2 * vs];
}

#endif /* NVDYN_MATH_H */
