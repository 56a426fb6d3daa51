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
#include <utility>
#include <vector>

struct nvdyn_engine;

namespace LAMMPS_NS {
struct NVDynXYZFrame;
}

namespace LAMMPS_NS {

class NVDynSamples;

// What the comment line of a sample's frame says about it.
struct NVDynFrameInfo {
  tagint id;              // sample ID
  int outcome, reason;    // nvdyn_outcome, nvdyn_reason
  double energy, fmax;
  std::vector<int64_t> stage_steps;    // steps spent in each stage
  bigint step;                         // the step on which it finished
  int64_t source_index = -1;           // its frame's index in the source (-1: none)
  std::string source_keys;             // its frame's info keys (source_keys())
  std::string error;                   // a frame that never went in: why
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

  // A source frame's info keys as the sink writes them: key=value in the
  // frame's order, values as written; a key that the sink writes itself
  // gets the prefix source_
  static std::string source_keys(const std::vector<std::pair<std::string, std::string>> &info);

  // the frame of a source frame that never went in (failed, no atoms)
  Frame unplaced(tagint id, const NVDynXYZFrame &, const std::string &error, int nstages) const;

 private:
  std::vector<std::string> elements;
  std::string box_lattice() const;
  std::string box_pbc() const;
  static std::string quoted(const std::string &);
  void gather(const int *sample, int nsamples, const std::vector<int> &which,
              std::vector<Frame> &frames) const;
};

// "active", "done", "timeout" or "failed"
const char *nvdyn_outcome_name(int outcome);

// Collective: every rank's values, in rank order, on rank 0 (empty elsewhere)
std::vector<double> nvdyn_gather_to_root(const std::vector<double> &mine, MPI_Comm world, int me,
                                         int nprocs);

}    // namespace LAMMPS_NS

#endif
