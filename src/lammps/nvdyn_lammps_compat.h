/* -*- c++ -*- ----------------------------------------------------------
   NVDYN: the one place where differences between LAMMPS versions are
   handled. LAMMPS_VERSION_NUMBER (YYYYMMDD) is derived from the LAMMPS
   source's version.h by NVDYN's CMake and passed to the compiler.
------------------------------------------------------------------------- */
#ifndef NVDYN_LAMMPS_COMPAT_H
#define NVDYN_LAMMPS_COMPAT_H

#ifndef LAMMPS_VERSION_NUMBER
#error "LAMMPS_VERSION_NUMBER is not defined: build NVDYN through its CMakeLists.txt"
#endif

#if LAMMPS_VERSION_NUMBER < 20210929
#error "NVDYN needs LAMMPS 29Sep2021 or newer"
#endif

#include "comm.h"
#include "fix.h"
#include "lammps.h"
#include "lammpsplugin.h"
#include "modify.h"
#include "neighbor.h"
#include "update.h"
#include "utils.h"

#include <cstring>

// fmt::join() of a container is in fmt/format.h of the fmt 7.1.3 bundled
// with LAMMPS 29Sep2021, in fmt/ranges.h of the fmt 10.2.0 bundled with
// 4Feb2025 and 4Jul2026; all three have fmt/ranges.h
#include "fmt/ranges.h"

// A format string compiled once by fmt (fmt/compile.h). nvcc's front end
// (a CUDA build of LAMMPS compiles every source with its nvcc_wrapper)
// rejects FMT_COMPILE of the fmt 7.1.3 bundled with 29Sep2021 ("expression
// must have a constant value"): there the string is parsed at run time.
#ifdef __CUDACC__
#define NVDYN_FMT_COMPILE(s) s
#else
#define NVDYN_FMT_COMPILE(s) FMT_COMPILE(s)
#endif

#if LAMMPS_VERSION_NUMBER < 20250612
#include <dlfcn.h>
#endif

namespace NVDYN_NS {

// Forward communication of a fix's per-atom data to ghost atoms:
// Comm::forward_comm_fix(Fix *) became Comm::forward_comm(Fix *) in LAMMPS
// PR #3148 (merged 22 Feb 2022), first released in 17Mar2022.
inline void forward_comm_fix(LAMMPS_NS::Comm *comm, LAMMPS_NS::Fix *fix)
{
#if LAMMPS_VERSION_NUMBER >= 20220317
  comm->forward_comm(fix);
#else
  comm->forward_comm_fix(fix);
#endif
}

// Whether Modify::post_force() has fixes to call: since dynamic groups are
// updated in post_force (LAMMPS PR #3224, April 2022, first released in
// 4May2022), Modify keeps those fixes in a list of their own, n_post_force
// is protected and n_post_force_any counts both lists.
inline int n_post_force(LAMMPS_NS::Modify *modify)
{
#if LAMMPS_VERSION_NUMBER >= 20220504
  return modify->n_post_force_any;
#else
  return modify->n_post_force;
#endif
}

// Remove the neighbor exclusion of group pair (g1, g2) if there is one.
// Neighbor::exclusion_group_group_delete() errors when there is none and
// shifts ex1_bit / ex2_bit, which Neighbor::init() allocates with the
// number of exclusions it saw (null before the first run, too short for
// exclusions added since): they are left alone, the next init makes them
// anew from the group lists.
inline void remove_group_exclusion(LAMMPS_NS::Neighbor *neighbor, int g1, int g2)
{
  int n = neighbor->nex_group, m = 0;
  while (m < n && !(neighbor->ex1_group[m] == g1 && neighbor->ex2_group[m] == g2)) m++;
  if (m == n) return;
  for (int k = m + 1; k < n; k++) {
    neighbor->ex1_group[k - 1] = neighbor->ex1_group[k];
    neighbor->ex2_group[k - 1] = neighbor->ex2_group[k];
  }
  neighbor->nex_group = n - 1;
}

// Remove the 'exclude molecule/inter' (intra = 0) neighbor exclusion of
// group g if there is one; ex_mol_bit is left to the next Neighbor::init(),
// as above.
inline void remove_molecule_exclusion(LAMMPS_NS::Neighbor *neighbor, int g)
{
  int n = neighbor->nex_mol, m = 0;
  while (m < n && !(neighbor->ex_mol_group[m] == g && neighbor->ex_mol_intra[m] == 0)) m++;
  if (m == n) return;
  for (int k = m + 1; k < n; k++) {
    neighbor->ex_mol_group[k - 1] = neighbor->ex_mol_group[k];
    neighbor->ex_mol_intra[k - 1] = neighbor->ex_mol_intra[k];
  }
  neighbor->nex_mol = n - 1;
}

// LAMMPS 12Jun2025 added the "run" (and "min") plugin styles: the plugin
// loader registers them, and "plugin unload" removes them, putting back
// run_style verlet if the style is in use. 4Jul2026 keeps them, still in
// Update::integrate_map.
constexpr bool run_style_plugins = LAMMPS_VERSION_NUMBER >= 20250612;

// Register a run style (a class derived from Integrate) from a plugin's
// lammpsplugin_init(); plugin->style is "run", plugin->creator.v2 makes the
// Integrate, through the plugin API where LAMMPS has run-style plugins.
// Before that, Update::integrate_map is public and takes the
// creator directly; "plugin unload" and "clear" do not know the style then,
// so the plugin's shared object is pinned in memory (one more dlopen
// reference, never released): the Integrate made from it may outlive the
// plugin's registered styles, and is deleted after plugin_clear().
inline void register_run_style(LAMMPS_NS::LAMMPS *lmp, lammpsplugin_t *plugin, void *regfunc)
{
#if LAMMPS_VERSION_NUMBER >= 20250612
  (*(lammpsplugin_regfunc) regfunc)(plugin, lmp);
#else
  (void) regfunc;
  (*lmp->update->integrate_map)[plugin->name] =
      (LAMMPS_NS::Update::IntegrateCreator) plugin->creator.v2;
  Dl_info self;
  if (dladdr(reinterpret_cast<void *>(plugin->creator.v2), &self) && self.dli_fname)
    dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD);
  if (lmp->comm->me == 0)
    LAMMPS_NS::utils::logmesg(lmp, "Loading plugin: {} by {}\n", plugin->info, plugin->author);
#endif
}

}    // namespace NVDYN_NS

// ---- LAMMPS-internal knowledge used by fix nvdyn's sample table and
// groups (nvdyn_samples.cpp); kept together here, apart from the version
// differences above.
namespace NVDYN_NS {

// MAX_GROUP of group.cpp, which no LAMMPS header exports
constexpr int max_groups = 32;

// Exclude the pairs of atoms both in group `name` from the neighbor lists
// (undone by remove_group_exclusion()).
inline void exclude_group_pair(LAMMPS_NS::Neighbor *neighbor, const std::string &name)
{
  neighbor->modify_params("exclude group " + name + " " + name);
}

// Exclude the pairs of atoms of group `name` in different molecules from
// the neighbor lists (undone by remove_molecule_exclusion()).
inline void exclude_molecules_of(LAMMPS_NS::Neighbor *neighbor, const std::string &name)
{
  neighbor->modify_params("exclude molecule/inter " + name);
}

// Whether a fix halt may end the run on step `step`: fix halt checks its
// condition on the multiples of its nevery and ends the run at that step.
inline bool halt_may_end_run(LAMMPS_NS::Modify *modify, LAMMPS_NS::bigint step)
{
  for (int i = 0; i < modify->nfix; i++) {
    const LAMMPS_NS::Fix *fix = modify->fix[i];
    if (strcmp(fix->style, "halt") == 0 && fix->nevery > 0 && step % fix->nevery == 0) return true;
  }
  return false;
}

}    // namespace NVDYN_NS

// LAMMPS errors are C++ exceptions (LAMMPSException in exceptions.h):
// always since 2Aug2023, before with -DLAMMPS_EXCEPTIONS=on (setup.sh's build)
#if defined(LAMMPS_EXCEPTIONS) || LAMMPS_VERSION_NUMBER >= 20230802
#define NVDYN_LAMMPS_EXCEPTIONS 1
#endif

#ifdef NVDYN_LAMMPS_EXCEPTIONS
namespace NVDYN_NS {
// the communicator a LAMMPSAbortException aborts: the universe's when all
// ranks of a partition raised it (Error::all with partitions), the world's
// for one rank (Error::one); a member `universe` before, get_universe() since
template <class E> auto abort_communicator(const E &e, int) -> decltype(e.get_universe())
{
  return e.get_universe();
}
template <class E> auto abort_communicator(const E &e, long) -> decltype(e.universe)
{
  return e.universe;
}
}    // namespace NVDYN_NS
#endif

#endif
