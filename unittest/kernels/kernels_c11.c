/* The kernel headers compile as C11 (-std=c11 -Wall -Wextra -Wpedantic
 * -Werror): this file is built by the test suite; it includes every kernel
 * header and takes the address of one function of each. */
#include "kernels/atom.h"
#include "kernels/rng.h"
#include "kernels/sample.h"

int nvdyn_kernels_c11_check(void);
int nvdyn_kernels_c11_check(void)
{
  void (*kick)(double *, ptrdiff_t, const double *, ptrdiff_t, double) = nvdyn_kick;
  double (*nhc)(const nvdyn_stage_params *, nvdyn_sample *, double, double, double) =
      nvdyn_nhc_half_step;
  uint64_t (*mix)(uint64_t) = nvdyn_mix64;
  return kick != 0 && nhc != 0 && mix != 0;
}
