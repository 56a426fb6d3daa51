/* -*- c++ -*- ----------------------------------------------------------
   NVDYN: a streaming reader of multi-frame extended-XYZ files, the
   sample source of fix nvdyn. Plain C++17: no LAMMPS and no MPI (it is
   unit-tested alone, unittest/test_xyz_reader.cpp); what it accepts is
   described in doc/source_format.md.

   The reader holds at most one open file and one frame: memory does not
   depend on the number of frames of a source.
------------------------------------------------------------------------- */

#ifndef NVDYN_XYZ_READER_H
#define NVDYN_XYZ_READER_H

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace LAMMPS_NS {

// One frame of a source, as read
struct NVDynXYZFrame {
  int64_t index = -1;    // 0-based index of the frame in the whole source (over all its files)
  int file = -1;         // index of its file in NVDynXYZReader::files()
  int64_t frame = 0;     // 1-based number of the frame within its file
  int64_t line = 0;      // 1-based line number of its atom-count line in that file
  int64_t offset = 0;    // byte offset of its atom-count line in that file
  int natoms = 0;
  std::vector<int> type;       // per atom: LAMMPS atom type 1..ntypes
  std::vector<double> x;       // 3*natoms positions, as in the file
  std::vector<double> v;       // 3*natoms velocities, or empty when the frame has none
  std::vector<double> mass;    // natoms per-atom masses, or empty when the frame has none
  // the comment line's other key=value pairs, in file order, keys and values
  // verbatim (quotes kept as written); a flag (a key without '=') has an empty value
  std::vector<std::pair<std::string, std::string>> info;
};

// What a malformed frame or file is. what() (and message()) names the file,
// the frame number in the file and the line, e.g.
//   source file 'mols.xyz', frame 3, line 17: unknown species 'Xx' (elements: C H O)
//   source file 'mols.xyz', frame 3, line 17, column 3 (pos): 'abc' is not a number
// fatal: the file's structure is broken and reading cannot go on; not fatal:
// the frame was consumed whole and next() goes on with the next frame.
struct NVDynXYZError : std::runtime_error {
  NVDynXYZError(const std::string &file, int64_t frame, int64_t line, int column,
                const std::string &column_name, const std::string &reason, bool fatal);
  std::string message() const { return what(); }
  std::string file;      // the file as in NVDynXYZReader::files() (or the path given)
  int64_t frame = 0;     // 1-based frame number in the file; 0: not in a frame
  int64_t line = 0;      // 1-based line of the problem; 0: not at a line
  int column = 0;        // 1-based column of an atom line; 0: the whole line
  std::string reason;    // the message without its "source file ...: " prefix
  bool fatal = true;
};

class NVDynXYZReader {
 public:
  // paths: files, or directories (a directory stands for its regular files
  // whose names end in .xyz or .extxyz, sorted by name; an empty directory
  // is an error). elements[t-1] is the species of LAMMPS type t (may be
  // empty: then frames need a type column). ntypes: the LAMMPS number of
  // atom types. Throws NVDynXYZError (fatal) for a path that does not exist
  // or cannot be read. A species maps to the first type t with
  // elements[t-1] equal to it (case-sensitive); an empty elements[t-1] is
  // not checked against a frame's species for type t.
  NVDynXYZReader(const std::vector<std::string> &paths, const std::vector<std::string> &elements,
                 int ntypes);
  const std::vector<std::string> &files() const { return paths_; }

  // Reads the next frame into `f`; false at the end of the last file. Never
  // reads ahead more than one frame. Throws NVDynXYZError: fatal (after
  // which only seek() makes the reader usable again), or not fatal: the
  // frame was consumed and the reader stands at the next one; then `f` has
  // index, file, frame, line, offset, natoms and info filled (info: all the
  // pairs of the comment line when it was parsed, else empty) and type, x,
  // v, mass empty. After a fatal error `f` and tell() are unspecified.
  // Every frame consumed, good or bad, takes the next index.
  bool next(NVDynXYZFrame &f);

  // Where the next frame starts, and going there (restart files): file
  // index, byte offset, the index of the next frame in the source, its frame
  // number in its file and its line number. At the end of a file, tell()
  // may point at that end: next() then goes on with the next file.
  struct Position {
    int file = 0;
    int64_t offset = 0;
    int64_t index = 0;
    int64_t frame = 1;
    int64_t line = 1;
  };
  Position tell() const { return pos_; }
  // Throws NVDynXYZError (fatal) for a file index out of range or a file
  // that cannot be opened or positioned.
  void seek(const Position &);

  // Reads the one frame that starts at `p` (a frame read earlier, for a
  // restart): what next() would return after seek(p), without changing the
  // position of next(). Throws as next() does, and NVDynXYZError (fatal)
  // when there is no frame at `p` (the end of the source).
  NVDynXYZFrame read_at(const Position &p);

 private:
  std::vector<std::string> paths_;
  std::vector<std::string> elements_;
  int ntypes_;
  std::ifstream in_;
  int open_ = -1;          // the index of the file open in in_, -1: none
  Position pos_;           // where the next frame starts
  bool broken_ = false;    // a fatal error happened: next() refuses to go on
  int64_t off_ = 0;        // the byte offset of the next line of in_
  int64_t line_ = 0;       // the number of the last line read from in_
  std::vector<std::pair<size_t, size_t>> tokens_;    // of an atom line

  bool getline(std::string &line);
  bool rest_is_blank();
  void open(int file);
  [[noreturn]] void fail(int64_t frame, int64_t line, const std::string &reason);
};

}    // namespace LAMMPS_NS

#endif
