/* ----------------------------------------------------------------------
   NVDYN: the groups of fix nvdyn (nvdyn_groups.h).
------------------------------------------------------------------------- */

#include "nvdyn_groups.h"

#include "nvdyn_lammps_compat.h"

#include "atom.h"
#include "error.h"
#include "group.h"
#include "neighbor.h"
#include "utils.h"

using namespace LAMMPS_NS;

NVDynGroups::NVDynGroups(LAMMPS *lmp, const std::string &id, int ig) :
    Pointers(lmp), fix_id(id), igroup(ig), groupbit(lmp->group->bitmask[ig])
{
}

/* ----------------------------------------------------------------------
   group names: valid IDs, not 'all' nor the fix group nor the reserved
   frozen group, distinct, not used by another fix nvdyn. An existing
   group (from a restart file, or an earlier fix nvdyn) is taken only if
   all its atoms are in the fix group: the fix sets the membership of its
   atoms only, and another atom in a stage or the frozen group would stay
   there (frozen: without pair forces)
------------------------------------------------------------------------- */

void NVDynGroups::check(const NVDynConfig &config,
                        const std::vector<std::pair<std::string, std::string>> &taken)
{
  const int nstages = (int) config.stages.size();
  const std::string frozen_name = fix_id + "_frozen";
  for (const auto &st : config.stages) names.push_back(st.name);
  for (const auto &g : config.outcome_groups) names.push_back(g);
  names.push_back(frozen_name);
  int ncreate = 0;
  for (size_t i = 0; i < names.size(); i++) {
    const std::string &name = names[i];
    const char *what = i < (size_t) nstages ? "stage name"
        : i == (size_t) nstages             ? "done group"
        : i == (size_t) nstages + 1         ? "failed group"
        : i == (size_t) nstages + 2         ? "timeout group"
                                            : "frozen group";
    if (!utils::is_id(name))
      error->all(FLERR, "Fix nvdyn: {} '{}' is not a valid group name", what, name);
    if (name == "all" || name == group->names[igroup])
      error->all(FLERR, "Fix nvdyn: {} '{}' would replace group '{}'", what, name, name);
    if (name == frozen_name && i + 1 < names.size())
      error->all(FLERR, "Fix nvdyn: {} '{}' is reserved for the frozen atoms of fix {}", what, name,
                 fix_id);
    for (size_t j = 0; j < i; j++)
      if (names[j] == name) error->all(FLERR, "Fix nvdyn: name '{}' is used twice", name);
    for (const auto &other : taken)
      if (other.first == name)
        error->all(FLERR, "Fix nvdyn: {} '{}' is a group of fix nvdyn {}", what, name,
                   other.second);
    const int g = group->find(name);
    if (g < 0) {
      ncreate++;
      continue;
    }
    bigint mine = 0, outside = 0;
    for (int i = 0; i < atom->nlocal; i++)
      mine += (atom->mask[i] & group->bitmask[g]) && !(atom->mask[i] & groupbit);
    MPI_Allreduce(&mine, &outside, 1, MPI_LMP_BIGINT, MPI_SUM, world);
    if (outside)
      error->all(FLERR,
                 "Fix nvdyn: {} '{}' is an existing group with {} atoms outside the fix group "
                 "'{}': choose another name",
                 what, name, outside, group->names[igroup]);
  }
  if (group->ngroup + ncreate > NVDYN_NS::max_groups)
    error->all(FLERR, "Fix nvdyn: {} more groups would exceed LAMMPS's limit of {} groups", ncreate,
               NVDYN_NS::max_groups);
}

void NVDynGroups::create(bool exclude_frozen, bool isolate_molecules)
{
  for (const auto &name : names) {
    int g = group->find(name);
    if (g < 0) {
      group->assign(name + " empty");
      g = group->find(name);
    }
    index.push_back(g);
    bits_all |= group->bitmask[g];
  }
  frozen_bit = group->bitmask[index.back()];
  if (exclude_frozen) NVDYN_NS::exclude_group_pair(neighbor, names.back());
  if (isolate_molecules) NVDYN_NS::exclude_molecules_of(neighbor, group->names[igroup]);
}

void NVDynGroups::release(bool isolate_molecules)
{
  if (!neighbor || index.empty()) return;    // neighbor is gone when LAMMPS is deleted
  const int g = index.back();
  int *mask = atom->mask;
  for (int i = 0; i < atom->nlocal + atom->nghost; i++) mask[i] &= ~bits_all;
  NVDYN_NS::remove_group_exclusion(neighbor, g, g);
  if (isolate_molecules) NVDYN_NS::remove_molecule_exclusion(neighbor, igroup);
}

std::string NVDynGroups::deleted() const
{
  for (size_t k = 0; k < names.size(); k++)
    if (group->find(names[k]) != index[k])
      return fmt::format("Fix nvdyn {}: its group '{}' was deleted", fix_id, names[k]);
  return "";
}

int NVDynGroups::bit(int k) const
{
  return group->bitmask[index[k]];
}

void NVDynGroups::set_masks(const int *sample, const std::vector<int> &bits) const
{
  int *mask = atom->mask;
  for (int i = 0; i < atom->nlocal; i++) {
    if (sample[i] < 0) {
      mask[i] &= ~bits_all;
      continue;
    }
    mask[i] = (mask[i] & ~bits_all) | bits[sample[i]];
  }
}
