/* -*- c++ -*- ----------------------------------------------------------
   NVDYN: run_style nvpipeline/kk, the KOKKOS variant of run_style
   nvpipeline: LAMMPS's verlet/kk step loop (VerletKokkos::run, not a copy
   of it), ended by the fix nvdyn instances through the timer, as fix halt
   ends a run, after the step on which every sample is finished; the
   per-stage summary at the end of each run. See doc/run_nvpipeline.md.
------------------------------------------------------------------------- */
#ifdef INTEGRATE_CLASS
// clang-format off
IntegrateStyle(nvpipeline/kk,RunNVPipelineKokkos);
IntegrateStyle(nvpipeline/kk/device,RunNVPipelineKokkos);
IntegrateStyle(nvpipeline/kk/host,RunNVPipelineKokkos);
IntegrateStyle(verlet/nvpipeline/kk,RunNVPipelineKokkos);
// clang-format on
#else

#ifndef NVDYN_RUN_NVPIPELINE_KOKKOS_H
#define NVDYN_RUN_NVPIPELINE_KOKKOS_H

#include "nvdyn_pipeline.h"
#include "verlet_kokkos.h"

#include <string>
#include <vector>

namespace LAMMPS_NS {

class FixNVDyn;

class RunNVPipelineKokkos : public VerletKokkos {
 public:
  RunNVPipelineKokkos(class LAMMPS *, int, char **);
  ~RunNVPipelineKokkos() override;
  void init() override;
  void setup(int) override;
  void run(int) override;
  void cleanup() override;

 private:
  std::vector<std::string> args;      // run_style arguments
  NVDynPipelineConfig pipeline;       // what they say
  std::vector<FixNVDyn *> batches;    // the fix nvdyn instances of this run
  void find_batches();
};

}    // namespace LAMMPS_NS

#endif
#endif
