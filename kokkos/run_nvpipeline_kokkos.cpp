/* ----------------------------------------------------------------------
   NVDYN: run_style nvpipeline/kk. The step loop is VerletKokkos's; the
   fix nvdyn instances end it (FixNVDyn::run_batches): the last of them
   calls timer->force_timeout() at the end of the step on which every
   sample of every batch is finished, and the loop stops before the next
   step. Unlike run_style nvpipeline, the fixes call their BEFORE_COMPUTE
   and AFTER_COMPUTE hook points from pre_force and post_force, and the
   last step has thermo output only where the thermo settings give it.
------------------------------------------------------------------------- */

#include "run_nvpipeline_kokkos.h"

#include "fix_nvdyn.h"
#include "run_nvpipeline.h"

#include "comm.h"
#include "error.h"
#include "modify.h"
#include "timer.h"
#include "update.h"

using namespace LAMMPS_NS;

RunNVPipelineKokkos::RunNVPipelineKokkos(LAMMPS *lmp, int narg, char **arg) :
    VerletKokkos(lmp, narg, arg), args(arg, arg + narg)
{
}

// a run that ended in an error skipped cleanup(): the fixes forget the run
RunNVPipelineKokkos::~RunNVPipelineKokkos()
{
  for (auto batch : NVDYN_NS::find_batches(modify)) batch->run_batches = nullptr;
}

void RunNVPipelineKokkos::init()
{
  if (!lmp->kokkos)
    error->all(FLERR,
               "Run style nvpipeline/kk needs the KOKKOS package enabled "
               "(command-line switch -k on): use run_style nvpipeline");
  pipeline = NVDYN_NS::init_run_style(lmp, args, "nvpipeline/kk");
  VerletKokkos::init();
}

void RunNVPipelineKokkos::find_batches()
{
  batches = NVDYN_NS::find_batches(modify);
  for (auto batch : batches) batch->run_batches = &batches;
}

void RunNVPipelineKokkos::setup(int flag)
{
  find_batches();
  if (batches.empty() && comm->me == 0)
    error->warning(FLERR, "Run style nvpipeline/kk: no fix nvdyn defined, running like verlet/kk");
  NVDYN_NS::guard_pipeline(lmp, batches, [&]() {
    NVDYN_NS::join_pipeline(lmp, batches, pipeline, "nvpipeline/kk");
    VerletKokkos::setup(flag);
  });
}

// every sample finished in an earlier run: this run makes no step
void RunNVPipelineKokkos::run(int n)
{
  find_batches();
  if (NVDYN_NS::all_finished(batches)) {
    update->nsteps = 0;
    update->laststep = update->ntimestep;
    return;
  }
  NVDYN_NS::guard_pipeline(lmp, batches, [&]() { VerletKokkos::run(n); });
}

void RunNVPipelineKokkos::cleanup()
{
  VerletKokkos::cleanup();
  find_batches();
  // the run ended by the batches, not by a timeout: the timeout setting
  // holds again for the next run
  if (NVDYN_NS::all_finished(batches)) timer->reset_timeout();
  NVDYN_NS::print_stage_summaries(lmp, batches);
  for (auto batch : batches) batch->run_batches = nullptr;
  batches.clear();
}
