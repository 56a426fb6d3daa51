/* ----------------------------------------------------------------------
   NVDYN: LAMMPS plugin entry point; "plugin load nvdynplugin.so" registers
   the NVDYN styles with the running LAMMPS.
------------------------------------------------------------------------- */

#include "lammpsplugin.h"
#include "version.h"

#include "fix_nvdyn.h"
#include "nvdyn_lammps_compat.h"
#include "run_nvpipeline.h"
#ifdef NVDYN_KOKKOS
#include "fix_nvdyn_kokkos.h"
#include "run_nvpipeline_kokkos.h"
#endif

using namespace LAMMPS_NS;

static Fix *nvdyn_creator(LAMMPS *lmp, int argc, char **argv)
{
  return new FixNVDyn(lmp, argc, argv);
}

#ifdef NVDYN_KOKKOS
static Fix *nvdyn_kk_creator(LAMMPS *lmp, int argc, char **argv)
{
  return new FixNVDynKokkos<LMPDeviceType>(lmp, argc, argv);
}

static Fix *nvdyn_kk_host_creator(LAMMPS *lmp, int argc, char **argv)
{
  return new FixNVDynKokkos<LMPHostType>(lmp, argc, argv);
}

static Integrate *nvpipeline_kk_creator(LAMMPS *lmp, int argc, char **argv)
{
  return new RunNVPipelineKokkos(lmp, argc, argv);
}
#endif

static Integrate *nvpipeline_creator(LAMMPS *lmp, int argc, char **argv)
{
  return new RunNVPipeline(lmp, argc, argv);
}

extern "C" void lammpsplugin_init(void *lmp, void *handle, void *regfunc)
{
  lammpsplugin_t plugin;
  auto register_plugin = (lammpsplugin_regfunc) regfunc;

  plugin.version = LAMMPS_VERSION;
  plugin.style = "fix";
  plugin.name = "nvdyn";
  plugin.info = "NVDYN batched multi-stage dynamics";
  plugin.author = "NVDYN developers";
  plugin.creator.v2 = (lammpsplugin_factory2 *) &nvdyn_creator;
  plugin.handle = handle;
  (*register_plugin)(&plugin, lmp);
#ifdef NVDYN_KOKKOS
  // the KOKKOS variants, which -sf kk picks (this plugin was built against
  // the KOKKOS package and the Kokkos of this LAMMPS)
  plugin.info = "NVDYN batched multi-stage dynamics, KOKKOS";
  for (const char *name : {"nvdyn/kk", "nvdyn/kk/device"}) {
    plugin.name = name;
    plugin.creator.v2 = (lammpsplugin_factory2 *) &nvdyn_kk_creator;
    (*register_plugin)(&plugin, lmp);
  }
  plugin.name = "nvdyn/kk/host";
  plugin.creator.v2 = (lammpsplugin_factory2 *) &nvdyn_kk_host_creator;
  (*register_plugin)(&plugin, lmp);
#endif

  // LAMMPS before 12Jun2025 has no "run" plugin style: see nvdyn_lammps_compat.h
  plugin.style = "run";
  plugin.name = "nvpipeline";
  plugin.info = "NVDYN run style nvpipeline (single partition)";
  plugin.creator.v2 = (lammpsplugin_factory2 *) &nvpipeline_creator;
  NVDYN_NS::register_run_style((LAMMPS *) lmp, &plugin, regfunc);
  // the name the run style gives itself at init (see RunNVPipeline::init),
  // which restart files record
  plugin.name = "verlet/nvpipeline";
  plugin.info = "NVDYN run style nvpipeline, under the name it runs with";
  NVDYN_NS::register_run_style((LAMMPS *) lmp, &plugin, regfunc);
#ifdef NVDYN_KOKKOS
  plugin.info = "NVDYN run style nvpipeline, KOKKOS";
  plugin.creator.v2 = (lammpsplugin_factory2 *) &nvpipeline_kk_creator;
  for (const char *name :
       {"nvpipeline/kk", "nvpipeline/kk/device", "nvpipeline/kk/host", "verlet/nvpipeline/kk"}) {
    plugin.name = name;
    NVDYN_NS::register_run_style((LAMMPS *) lmp, &plugin, regfunc);
  }
#endif
}
