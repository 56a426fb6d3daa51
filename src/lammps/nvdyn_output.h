/* -*- c++ -*- ----------------------------------------------------------
   NVDYN: the output files of fix nvdyn (the extended-XYZ sink and the
   CSV log) and the byte layout of its global restart record (its
   contents: nvdyn_restart.h).
   See doc/fix_nvdyn.md.
------------------------------------------------------------------------- */

#ifndef NVDYN_OUTPUT_H
#define NVDYN_OUTPUT_H

#include "pointers.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace LAMMPS_NS {

// The sink and the log of one fix nvdyn. Rank 0 opens and writes them; all
// other ranks take part in every call that can fail, so that a failure is a
// LAMMPS error on every rank, naming the file and the system error.
class NVDynOutput : protected Pointers {
 public:
  enum Kind { SINK, LOG, NKINDS };
  using Sizes = std::array<int64_t, NKINDS>;

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

  // The size in bytes of each file, for a restart file (-1: no file, or not
  // a regular file); valid on rank 0. Writes are unbuffered and flushed, so
  // this is the size on disk.
  Sizes sizes() const;

  // Collective: with append, cuts each file back to the size that sizes()
  // gave when the restart file was written; a file shorter than that is an
  // error.
  void resume(const Sizes &recorded);

  // the species names the sink accepts: the chemical symbols H to Og, and X
  // (ASE's dummy atom)
  static bool is_chemical_symbol(const std::string &);

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

// The global restart record of fix nvdyn: a header (magic string, layout
// version, length of the data), then the data, values put one after the
// other and got back in the same order (VERSION changes with that order).
// get() and take() never read past the recorded length; a reader that
// wants more than the record holds, or leaves some of it, finds a corrupt
// record. (The recorded length itself is trusted: LAMMPS does not pass the
// size of the record it read.)
class NVDynRestartRecord {
 public:
  static constexpr int64_t VERSION = 6;

  template <typename T> void put(const T *values, size_t n)
  {
    const char *p = reinterpret_cast<const char *>(values);
    data.insert(data.end(), p, p + n * sizeof(T));
  }
  template <typename T> void put(T value) { put(&value, 1); }
  // as LAMMPS reads a fix's restart record: an int length, then the record
  void write(FILE *) const;

  // false when buf holds no record of this layout version
  bool read(const char *buf);
  // the next n bytes, or nullptr (taking nothing) when fewer are left
  const char *take(size_t n);
  template <typename T> bool get(T *values, size_t n)
  {
    if (n > data.size() / sizeof(T)) return false;
    const char *p = take(n * sizeof(T));
    if (p) memcpy(values, p, n * sizeof(T));
    return p != nullptr;
  }
  bool at_end() const { return pos == data.size(); }
  size_t left() const { return data.size() - pos; }

 private:
  std::vector<char> data;
  size_t pos = 0;
};

}    // namespace LAMMPS_NS

#endif
