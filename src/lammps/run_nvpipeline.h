/* -*- c++ -*- ----------------------------------------------------------
   NVDYN: run_style nvpipeline, the velocity-Verlet step loop of LAMMPS
   with the compute hook points of fix nvdyn around the force evaluation,
   early termination when every sample is finished, and a per-stage
   summary at the end of each run; across partitions, the pipeline of
   their stages (split). See doc/run_nvpipeline.md.
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

#include "nvdyn_pipeline.h"
#include "verlet.h"

#include <functional>
#include <string>
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
  std::vector<std::string> args;      // run_style arguments
  NVDynPipelineConfig pipeline;       // what they say
  bool warned_no_batch;               // "no fix nvdyn" said once per instance
  bool warned_no_tally;               // "no thermo on the last step" said once
  std::vector<FixNVDyn *> batches;    // the fix nvdyn instances of this run

  void find_batches();
  void steps(int n);
  bool all_finished() const;
  void compute_forces();
  void last_step_output();
  bool tally_last_step();
};

}    // namespace LAMMPS_NS

// what run_style nvpipeline and nvpipeline/kk share
namespace NVDYN_NS {
// the run style's arguments (split, buffer) checked at init, and the
// name "verlet/<name>" it runs under
LAMMPS_NS::NVDynPipelineConfig
init_run_style(LAMMPS_NS::LAMMPS *, const std::vector<std::string> &args, const std::string &name);
// Collective over every partition: the fix nvdyn of the run joins the
// pipeline that the arguments describe (nothing without split on one
// partition)
void join_pipeline(LAMMPS_NS::LAMMPS *, const std::vector<LAMMPS_NS::FixNVDyn *> &,
                   const LAMMPS_NS::NVDynPipelineConfig &, const std::string &name);
// f() run; an error that every rank of this partition raises in it
// (Error::all) stops the other partitions of a pipeline too, then goes on
// (an error of one rank, Error::one, goes on at once: LAMMPS aborts)
void guard_pipeline(LAMMPS_NS::LAMMPS *, const std::vector<LAMMPS_NS::FixNVDyn *> &,
                    const std::function<void()> &f);
// the fix nvdyn instances now defined
std::vector<LAMMPS_NS::FixNVDyn *> find_batches(LAMMPS_NS::Modify *);
bool all_finished(const std::vector<LAMMPS_NS::FixNVDyn *> &);
// the per-stage summary of each, on rank 0
void print_stage_summaries(LAMMPS_NS::LAMMPS *, const std::vector<LAMMPS_NS::FixNVDyn *> &);
}    // namespace NVDYN_NS

#endif
#endif
