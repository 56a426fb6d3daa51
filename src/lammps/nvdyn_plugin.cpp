/* ----------------------------------------------------------------------
   NVDYN: LAMMPS plugin entry point; "plugin load nvdynplugin.so" registers
   the NVDYN styles with the running LAMMPS.
------------------------------------------------------------------------- */

#include "lammpsplugin.h"
#include "version.h"

#include "fix_nvdyn.h"

using namespace LAMMPS_NS;

static Fix *nvdyn_creator(LAMMPS *lmp, int argc, char **argv)
{
  return new FixNVDyn(lmp, argc, argv);
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
}
