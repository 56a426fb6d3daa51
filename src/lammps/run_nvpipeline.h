/* -*- c++ -*- ----------------------------------------------------------
   NVDYN: run_style nvpipeline, the velocity-Verlet step loop of LAMMPS
   with the compute hook points of fix nvdyn around the force evaluation,
   early termination when every sample is finished, and a per-stage
   summary at the end of each run. Single partition. See
   doc/run_nvpipeline.md.
------------------------------------------------------------------------- */

#ifdef INTEGRATE_CLASS
// clang-format off
IntegrateStyle(nvpipeline,RunNVPipeline);
// the name it gives itself at init, which restart files record (for the
// in-tree package; the plugin registers both names in nvdyn_plugin.cpp)
IntegrateStyle(verlet/nvpipeline,RunNVPipeline);
// clang-format on
#else

#ifndef NVDYN_RUN_NVPIPELINE_H
#define NVDYN_RUN_NVPIPELINE_H

#include "verlet.h"

#include <vector>

namespace LAMMPS_NS {

class FixNVDyn;

class RunNVPipeline : public Verlet {
 public:
  RunNVPipeline(class LAMMPS *, int, char **);
  ~RunNVPipeline() override;
  void init() override;
  void setup(int) override;
  void run(int) override;
  void cleanup() override;

 private:
  int nargs;                          // run_style arguments (none are accepted)
  bool warned_no_batch;               // "no fix nvdyn" said once per instance
  bool warned_no_tally;               // "no thermo on the last step" said once
  std::vector<FixNVDyn *> batches;    // the fix nvdyn instances of this run

  void find_batches();
  bool all_finished() const;
  void compute_forces();
  void last_step_output();
  bool tally_last_step();
  void print_summary();
};

}    // namespace LAMMPS_NS

#endif
#endif
