// The kernel headers compile with nvcc as __host__ __device__ functions:
// a device kernel calls the per-atom update and the per-sample decisions.
// Compile-only (ctest kernels_nvcc); no GPU needed.
#include "kernels/atom.h"
#include "kernels/sample.h"

__global__ void nvdyn_kernels_cuda_check(double *x, double *v, const double *f, int n,
                                         const nvdyn_stage_params *stages, nvdyn_sample *samples,
                                         nvdyn_units u)
{
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  nvdyn_fire_step c = nvdyn_fire_decide(&stages[0], &samples[i], 1.0, 1.0, 1.0, 0.1);
  nvdyn_fire_atom(x + 3 * i, 1, v + 3 * i, 1, f + 3 * i, 1, 1.0, 1.0, u.ftm2v, &c);
  nvdyn_rng r = nvdyn_rng_make(1, samples[i].key, 0, 1, NVDYN_PURPOSE_LANGEVIN);
  nvdyn_langevin_step l = nvdyn_langevin_coef(&stages[0], &u);
  nvdyn_baoab_atom(x + 3 * i, 1, v + 3 * i, 1, f + 3 * i, 1, 1.0, 1.0, 0.01, u.ftm2v, &l, &r);
  samples[i].reservoir += nvdyn_csvr_factor(&stages[0], &samples[i], 1.0, 10.0, u.boltz);
}
