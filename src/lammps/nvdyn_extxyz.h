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

  // A sample's frame: what its comment line says, the box (lattice and
  // periodicity), and its atoms (box and atoms on rank 0 only)
  struct Frame {
    NVDynFrameInfo info;
    std::string lattice, pbc;
    size_t natoms = 0;
    std::string atoms;
  };

  // Collective: the frames of the samples `finished` on this step, with
  // their state and values in `table`
  std::vector<Frame> collect(const NVDynSamples &table, const nvdyn_engine *, const int *sample,
                             const std::vector<int> &finished) const;

  // rank 0: the text of frames
  static std::string text(const std::vector<Frame> &);

 private:
  std::vector<std::string> elements;
  void gather(const int *sample, int nsamples, const std::vector<int> &which,
              std::vector<Frame> &frames) const;
};

// "active", "done", "timeout" or "failed"
const char *nvdyn_outcome_name(int outcome);

}    // namespace LAMMPS_NS

#endif
