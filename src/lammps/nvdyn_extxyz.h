/* -*- c++ -*- ----------------------------------------------------------
   NVDYN: the extended-XYZ frames of fix nvdyn's sink: one frame per
   finished sample, its atoms ordered by atom ID, positions unwrapped by
   image flags. See doc/fix_nvdyn.md.
------------------------------------------------------------------------- */

#ifndef NVDYN_EXTXYZ_H
#define NVDYN_EXTXYZ_H

#include "pointers.h"

#include <cstdint>
#include <string>
#include <vector>

struct nvdyn_engine;

namespace LAMMPS_NS {

class NVDynSamples;

// What the comment line of a sample's frame says about it.
struct NVDynFrameInfo {
  tagint id;              // sample ID
  int outcome, reason;    // nvdyn_outcome, nvdyn_reason
  double energy, fmax;
  std::vector<int64_t> stage_steps;    // steps spent in each stage
  bigint step;                         // the step on which it finished
};

class NVDynExtXYZ : protected Pointers {
 public:
  // elements: species per atom type (empty: X)
  NVDynExtXYZ(LAMMPS *, const std::vector<std::string> &elements);

  // The atoms of one sample's frame: their number, and their lines.
  struct Atoms {
    size_t natoms = 0;
    std::string lines;
  };

  // Collective: the atoms of the samples `which` (per-atom sample index in
  // sample[0..nlocal)), gathered on rank 0, in the order of `which`
  // (empty on the other ranks).
  std::vector<Atoms> gather(const int *sample, int nsamples, const std::vector<int> &which) const;

  // rank 0: the text of a frame
  std::string frame(const NVDynFrameInfo &, const Atoms &) const;

  // Collective: on rank 0, the frames of the samples `finished` on this
  // step, with their state and values in `table` ("" on other ranks)
  std::string frames(const NVDynSamples &table, const nvdyn_engine *, const int *sample,
                     const std::vector<int> &finished) const;

 private:
  std::vector<std::string> elements;
};

// "active", "done", "timeout" or "failed"
const char *nvdyn_outcome_name(int outcome);

}    // namespace LAMMPS_NS

#endif
