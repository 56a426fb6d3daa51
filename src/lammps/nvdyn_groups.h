/* -*- c++ -*- ----------------------------------------------------------
   NVDYN: the LAMMPS groups of fix nvdyn (one per stage and outcome, and
   the frozen atoms, excluded from the neighbor lists) and the neighbor
   exclusions that keep frozen atoms and the molecules of samples apart.
   See doc/fix_nvdyn.md.
------------------------------------------------------------------------- */

#ifndef NVDYN_GROUPS_H
#define NVDYN_GROUPS_H

#include "nvdyn_args.h"

#include "pointers.h"

#include <string>
#include <utility>
#include <vector>

namespace LAMMPS_NS {

// The LAMMPS groups of a fix nvdyn: one per stage, then done, failed,
// timed out, and the internal group of all frozen atoms.
class NVDynGroups : protected Pointers {
 public:
  NVDynGroups(LAMMPS *, const std::string &fix_id, int igroup);

  // Collective. Checks the names: valid IDs, not 'all' nor the fix group
  // nor the frozen group, distinct, none in `taken` (name, fix ID: the
  // groups of other fix nvdyn instances); an existing group only if all
  // its atoms are in the fix group; the group limit. Creates nothing.
  void check(const NVDynConfig &, const std::vector<std::pair<std::string, std::string>> &taken);
  // creates the groups (existing ones are reused) and the exclusions: the
  // frozen atoms among themselves, the molecules of the fix group
  void create(bool exclude_frozen, bool isolate_molecules);
  // empties the groups (LAMMPS groups cannot be deleted) and removes the
  // exclusions, unless 'neigh_modify exclude none' removed them already
  void release(bool isolate_molecules);

  // the error message for a group deleted since create() ("" if none)
  std::string deleted() const;
  // the group bit of group k (stages, then done, failed, timed out)
  int bit(int k) const;
  // local atoms: mask bits of the groups set to bits[sample] (none for
  // sample < 0)
  void set_masks(const int *sample, const std::vector<int> &bits) const;

  std::vector<std::string> names;    // stages, outcomes, frozen
  int frozen_bit = 0;

 private:
  std::string fix_id;
  int igroup, groupbit;
  std::vector<int> index;
  int bits_all = 0;
};

}    // namespace LAMMPS_NS

#endif
