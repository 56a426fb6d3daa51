/* -*- c++ -*- ----------------------------------------------------------
   NVDYN: the output files of fix nvdyn: the extended-XYZ sink and the
   CSV log. See doc/fix_nvdyn.md.
------------------------------------------------------------------------- */

#ifndef NVDYN_OUTPUT_H
#define NVDYN_OUTPUT_H

#include "pointers.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace LAMMPS_NS {

// The sink and the log of one fix nvdyn. Rank 0 opens and writes them; all
// other ranks take part in every call that can fail, so that a failure is a
// LAMMPS error on every rank, naming the file and the system error.
class NVDynOutput : protected Pointers {
 public:
  enum Kind { SINK, LOG, NKINDS };

  NVDynOutput(LAMMPS *, const std::string &fix_id);
  ~NVDynOutput() override;

  // Collective. Opens the sink and the log (an empty path: none) for
  // writing, or with `append` for appending after dropping a partial last
  // frame or row; writes `log_header` to an empty log. First checks that
  // neither file is one that LAMMPS (log, screen, input script) or one of
  // `others` uses, nor the sink the log: if one is, nothing is opened or
  // truncated. Returns an error message, the same on every rank ("": none).
  std::string open(const std::string &sink, const std::string &log, bool append,
                   const std::string &log_header, const std::vector<const NVDynOutput *> &others);

  bool is_open(Kind kind) const { return !files[kind].path.empty(); }

  // Collective: writes `text` (that of rank 0) to the file in one piece and
  // flushes it; after a failed write the file is cut back to its size before.
  void write(Kind, const std::string &text);

 private:
  struct File {
    const char *what;    // "sink" or "log"
    std::string path;    // empty: no such file
    FILE *fp;            // rank 0 only
    bool regular;        // a regular file (not a device or a pipe): truncated on failures
    int64_t bytes;       // its size after the last successful write
  };
  std::string fix_id;
  bool append;
  File files[NKINDS];

  std::string check_collisions(const std::vector<const NVDynOutput *> &others) const;
  std::string open_file(File &);
  std::string drop_partial_tail(const File &) const;
  std::string put(File &, const std::string &text);
  std::string of_rank0(std::string message) const;
  void raise(const std::string &message) const;
};

}    // namespace LAMMPS_NS

#endif
