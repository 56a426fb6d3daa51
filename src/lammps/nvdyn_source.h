/* -*- c++ -*- ----------------------------------------------------------
   NVDYN: the sample source of fix nvdyn (streaming). Rank 0 reads frames
   of extended-XYZ files as they are needed (NVDynXYZReader) and sends
   them to every rank, so that every rank takes the same decisions: which
   frames of a window read ahead go in next (largest first, under the atom
   and sample budget), where each one is placed (a sphere of free space far
   enough from every other sample's), and its atom IDs. The fix creates
   and deletes the atoms. See doc/fix_nvdyn.md, "Streaming samples".
------------------------------------------------------------------------- */

#ifndef NVDYN_SOURCE_H
#define NVDYN_SOURCE_H

#include "nvdyn_args.h"
#include "nvdyn_xyz_reader.h"

#include "pointers.h"

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace LAMMPS_NS {

// The sphere a sample may use: its atoms stay within `reach` of `center`
// (the escape guard fails it otherwise).
struct NVDynSphere {
  double center[3];
  double reach;
};

class NVDynSource : protected Pointers {
 public:
  // A frame read from the source, with what went wrong with it ("": none).
  // A sample handed on by the partition upstream (run_style nvpipeline
  // split) is a frame too: its atoms as they are (unwrapped positions,
  // velocities, in the sample's order), its engine state, its frame's
  // keys as the sink writes them, and its sphere (it keeps its reach and
  // orientation; only its centre moves).
  struct Frame {
    NVDynXYZFrame xyz;
    std::string error;
    bool handed = false;
    std::string state, keys;
    NVDynSphere sphere{{0.0, 0.0, 0.0}, -1.0};
  };
  // a frame as bytes, for the partition downstream (rank 0)
  static std::string bytes_of(const Frame &);
  // A frame that goes in: its atoms' positions (placed), atom IDs
  // tag0 + 1 ... tag0 + natoms in the frame's order
  struct Insert {
    Frame frame;
    std::vector<double> x;    // 3 natoms, placed
    NVDynSphere sphere;
    tagint tag0;
  };

  // Collective. Opens the source (errors name the file).
  NVDynSource(LAMMPS *, const NVDynConfig::Source &, const std::vector<std::string> &elements);
  ~NVDynSource() override;

  // Collective. The frames that go in now: at most `free_atoms` atoms and
  // `free_samples` samples (< 0: no limit) in all, each placed in the box
  // away from `live` and from each other: each frame's sphere (its extent
  // + margin) `gap` (the neighbor cutoff) away from every other sphere and
  // gap / 2 from the box's faces. Frames that can never go in
  // (malformed, larger than the budget, no room in an empty box) are
  // appended to `failed`.
  std::vector<Insert> take(bigint free_atoms, int free_samples,
                           const std::vector<NVDynSphere> &live, double gap, double margin,
                           std::vector<Frame> &failed);

  // a source of copies of a molecule template (source molecule ID N):
  // the template, whose topology the new samples' atoms get; else nullptr
  class Molecule *molecule() const { return onemol; }

  // no frame left to read nor waiting
  bool exhausted() const { return at_end && window.empty(); }
  // the frames come from the partition upstream (rank 0 takes them from
  // `link`), not from the files or template
  void set_link(class NVDynPipeline *p) { link = p; }
  // Collective: frames read (or taken from the link) into the window, as
  // far as it has room; frames that cannot go in are appended to failed
  void top_up(std::vector<Frame> &failed);
  // the atoms of the smallest frame waiting in the window (1 when none
  // waits: the next frames are not read yet; from a link, MAXBIGINT: none
  // has arrived)
  bigint smallest_waiting() const;
  // frames read so far (their indices are 0 .. read-1)
  bigint frames_read() const { return nread; }

  // for restart files: the counters, the reader's position and where the
  // frames waiting in the window start (save: rank 0's is complete);
  // restore() reads those frames again, and takes the atom IDs of the
  // samples in the box (first ID - 1, count) as in use. Collective.
  std::vector<int64_t> save() const;
  void restore(const std::vector<int64_t> &, const std::vector<std::pair<tagint, int>> &live_tags);
  bigint failed_before = 0;    // frames that failed before going in

  // atom IDs: those of the samples already in the box are below `base`;
  // release() gives back a deleted sample's range
  void set_tag_base(tagint base);
  void release(tagint tag0, int natoms);

 private:
  NVDynConfig::Source config;
  std::unique_ptr<NVDynXYZReader> reader;    // rank 0, for files
  class Molecule *onemol = nullptr;          // for a molecule template ...
  bigint copies = 0, next_copy = 0;          // ... its copies, the next one
  std::vector<std::string> files;            // its files (every rank)
  std::deque<Frame> window;                  // read, waiting to go in (every rank)
  bool at_end = false;
  bigint nread = 0;
  class NVDynPipeline *link = nullptr;
  int ntypes;
  std::map<tagint, tagint> free_tags;    // first ID of a free range -> its length
  tagint tag_base = 0;                   // IDs up to this are the input's
  tagint tag_top = 0;                    // IDs above this are free

  enum Read { READ_END, READ_FRAME, READ_NONE_NOW };
  Read read_one(Frame &);
  std::string check_frame(const NVDynXYZFrame &) const;
  NVDynXYZFrame template_frame(bigint copy) const;
  std::string where(const NVDynXYZFrame &) const;
  tagint allocate_tags(int n);
};

}    // namespace LAMMPS_NS

#endif
