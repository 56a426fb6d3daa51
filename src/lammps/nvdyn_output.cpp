/* ----------------------------------------------------------------------
   NVDYN: the output files of fix nvdyn and its restart record layout.

   Rank 0 holds the files. Every call that can fail is collective: rank 0
   does the work and broadcasts its error message, so that every rank
   raises the same LAMMPS error. Frames and rows reach a file whole: each
   write is one unbuffered fwrite of the text of a whole call, and a failed
   write is cut back off the file.
------------------------------------------------------------------------- */

#include "nvdyn_output.h"

#include "comm.h"
#include "error.h"
#include "universe.h"
#include "utils.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

using namespace LAMMPS_NS;

namespace {

const char *const chemical_symbols[] = {
    "X",  "H",  "He", "Li", "Be", "B",  "C",  "N",  "O",  "F",  "Ne", "Na", "Mg", "Al", "Si",
    "P",  "S",  "Cl", "Ar", "K",  "Ca", "Sc", "Ti", "V",  "Cr", "Mn", "Fe", "Co", "Ni", "Cu",
    "Zn", "Ga", "Ge", "As", "Se", "Br", "Kr", "Rb", "Sr", "Y",  "Zr", "Nb", "Mo", "Tc", "Ru",
    "Rh", "Pd", "Ag", "Cd", "In", "Sn", "Sb", "Te", "I",  "Xe", "Cs", "Ba", "La", "Ce", "Pr",
    "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W",
    "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac",
    "Th", "Pa", "U",  "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf",
    "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og"};

constexpr char restart_magic[8] = {'N', 'V', 'D', 'Y', 'N', 'R', 'S', 'T'};

// device and inode of a regular file
using FileId = std::pair<dev_t, ino_t>;

std::optional<FileId> regular_file_id(const struct stat &st)
{
  if (!S_ISREG(st.st_mode)) return std::nullopt;
  return FileId(st.st_dev, st.st_ino);
}

std::optional<FileId> id_of_stream(FILE *fp)
{
  struct stat st;
  if (!fp || fstat(fileno(fp), &st) != 0) return std::nullopt;
  return regular_file_id(st);
}

// Whether two paths name one regular file: the same inode if both exist,
// the same canonical path if neither does yet.
bool same_file(const std::string &a, const std::string &b)
{
  struct stat sa, sb;
  const bool ea = stat(a.c_str(), &sa) == 0, eb = stat(b.c_str(), &sb) == 0;
  if (ea && eb) {
    auto ia = regular_file_id(sa);
    return ia && ia == regular_file_id(sb);
  }
  if (ea || eb) return false;
  namespace fs = std::filesystem;
  std::error_code eca, ecb;
  const auto ca = fs::weakly_canonical(fs::absolute(a, eca), eca);
  const auto cb = fs::weakly_canonical(fs::absolute(b, ecb), ecb);
  return !eca && !ecb && ca == cb;
}

// The bytes of `in` up to the end of its last whole record: a line of the
// log; a frame of the sink (a line with the atom count n, a comment line,
// n atom lines). bad_line: the number of a line where a frame should start
// and does not (0: none); the scan stops there.
int64_t whole_bytes(std::istream &in, bool frames, int64_t &bad_line)
{
  int64_t pos = 0, whole = 0, line_no = 0, left = 0;    // left: lines to come in the frame
  bad_line = 0;
  std::string line;
  while (std::getline(in, line) && !in.eof()) {    // eof: the last line is unterminated
    pos += (int64_t) line.size() + 1;
    line_no++;
    if (!frames) {
      whole = pos;
    } else if (left > 0) {
      if (--left == 0) whole = pos;
    } else {
      const std::string count = utils::trim(line);
      if (count.empty() || count.size() > 18 ||
          count.find_first_not_of("0123456789") != count.npos) {
        bad_line = line_no;
        break;
      }
      left = std::stoll(count) + 1;    // the comment line and the atom lines
    }
  }
  return whole;
}

}    // namespace

/* ---------------------------------------------------------------------- */

NVDynOutput::NVDynOutput(LAMMPS *lmp, const std::string &id) :
    Pointers(lmp), fix_id(id),
    append(false), files{{"sink", "", nullptr, false, 0}, {"log", "", nullptr, false, 0}}
{
}

NVDynOutput::~NVDynOutput()
{
  for (auto &f : files)
    if (f.fp) fclose(f.fp);
}

bool NVDynOutput::is_chemical_symbol(const std::string &name)
{
  return std::any_of(std::begin(chemical_symbols), std::end(chemical_symbols),
                     [&](const char *s) { return name == s; });
}

/* ----------------------------------------------------------------------
   collective; on rank 0: the checks, then the files, then the log header
------------------------------------------------------------------------- */

std::string NVDynOutput::open(const std::string &sink, const std::string &log, bool append_yes,
                              const std::string &log_header,
                              const std::vector<const NVDynOutput *> &others)
{
  append = append_yes;
  files[SINK].path = sink;
  files[LOG].path = log;
  std::string message;
  if (comm->me == 0) {
    message = check_collisions(others);
    for (auto &f : files)
      if (message.empty() && !f.path.empty()) message = open_file(f);
    if (message.empty() && files[LOG].fp && files[LOG].bytes == 0)
      message = put(files[LOG], log_header);
  }
  message = of_rank0(message);
  if (!message.empty()) files[SINK].path = files[LOG].path = "";
  return message;
}

// on rank 0: the partial tail dropped (append), the file opened, unbuffered:
// each write is one fwrite of whole frames or rows
std::string NVDynOutput::open_file(File &f)
{
  if (append) {
    const std::string message = drop_partial_tail(f);
    if (!message.empty()) return message;
  }
  f.fp = fopen(f.path.c_str(), append ? "a" : "w");
  struct stat st;
  if (!f.fp || fstat(fileno(f.fp), &st) != 0)
    return fmt::format("Fix nvdyn {}: cannot open {} file '{}': {}", fix_id, f.what, f.path,
                       utils::getsyserror());
  setvbuf(f.fp, nullptr, _IONBF, 0);
  f.regular = S_ISREG(st.st_mode);
  f.bytes = f.regular ? (int64_t) st.st_size : 0;
  return "";
}

/* ----------------------------------------------------------------------
   on rank 0: neither file may be one that LAMMPS or another fix nvdyn
   writes or reads, nor may the sink be the log
------------------------------------------------------------------------- */

std::string NVDynOutput::check_collisions(const std::vector<const NVDynOutput *> &others) const
{
  std::vector<std::pair<std::string, FILE *>> in_use = {
      {"the LAMMPS log file", logfile},
      {"the LAMMPS screen output", screen},
      {"the input script being read", infile},
      {"the universe log file", universe->ulogfile},
      {"the universe screen output", universe->uscreen}};
  for (const NVDynOutput *other : others)
    for (const auto &f : other->files)
      in_use.emplace_back(fmt::format("the {} file of fix nvdyn {}", f.what, other->fix_id), f.fp);

  for (const auto &f : files) {
    struct stat st;
    if (f.path.empty() || stat(f.path.c_str(), &st) != 0) continue;
    const auto id = regular_file_id(st);
    if (!id) continue;
    for (const auto &use : in_use)
      if (id_of_stream(use.second) == id)
        return fmt::format("Fix nvdyn {}: {} file '{}' is {}", fix_id, f.what, f.path, use.first);
  }
  const File &sink = files[SINK], &log = files[LOG];
  if (!sink.path.empty() && !log.path.empty() && same_file(sink.path, log.path))
    return fmt::format("Fix nvdyn {}: sink file '{}' and log file '{}' are the same file", fix_id,
                       sink.path, log.path);
  return "";
}

/* ----------------------------------------------------------------------
   on rank 0, before appending to an existing regular file: cut off a
   partial last frame or row, which a run that stopped while writing it
   may have left (ASE reads no frame of a sink that ends in one)
------------------------------------------------------------------------- */

std::string NVDynOutput::drop_partial_tail(const File &f) const
{
  struct stat st;
  if (stat(f.path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  std::ifstream in(f.path, std::ios::binary);
  int64_t bad_line = 0;
  const int64_t whole = whole_bytes(in, &f == &files[SINK], bad_line);
  if (bad_line)
    return fmt::format("Fix nvdyn {}: cannot append to sink file '{}': its line {} should hold "
                       "the atom count of an extended-XYZ frame",
                       fix_id, f.path, bad_line);
  if (in.bad() || !in.eof())
    return fmt::format("Fix nvdyn {}: cannot read {} file '{}' to append to it: {}", fix_id, f.what,
                       f.path, utils::getsyserror());
  const int64_t dropped = (int64_t) st.st_size - whole;
  if (dropped == 0) return "";
  if (truncate(f.path.c_str(), (off_t) whole) != 0)
    return fmt::format("Fix nvdyn {}: cannot cut the partial end off {} file '{}': {}", fix_id,
                       f.what, f.path, utils::getsyserror());
  error->warning(FLERR, "Fix nvdyn {}: {} file '{}' ended in a partial {}: dropped {} bytes",
                 fix_id, f.what, f.path, &f == &files[SINK] ? "frame" : "row", dropped);
  return "";
}

/* ----------------------------------------------------------------------
   on rank 0: one fwrite (unbuffered, so nothing stays behind in a buffer)
   and a flush; a failed write is cut back off a regular file
------------------------------------------------------------------------- */

std::string NVDynOutput::put(File &f, const std::string &text)
{
  errno = 0;
  if (fwrite(text.data(), 1, text.size(), f.fp) == text.size() && fflush(f.fp) == 0) {
    f.bytes += (int64_t) text.size();
    return "";
  }
  const std::string why = utils::getsyserror();
  if (f.regular && ftruncate(fileno(f.fp), (off_t) f.bytes) == 0) clearerr(f.fp);
  return fmt::format("Fix nvdyn {}: cannot write {} file '{}': {}", fix_id, f.what, f.path, why);
}

void NVDynOutput::write(Kind kind, const std::string &text)
{
  raise(comm->me == 0 ? put(files[kind], text) : "");
}

// collective: rank 0's message, on every rank
std::string NVDynOutput::of_rank0(std::string message) const
{
  int n = (int) message.size();
  MPI_Bcast(&n, 1, MPI_INT, 0, world);
  message.resize(n);
  if (n) MPI_Bcast(&message[0], n, MPI_CHAR, 0, world);
  return message;
}

// collective: rank 0's error message, if any, is an error on every rank
void NVDynOutput::raise(const std::string &message) const
{
  const std::string all = of_rank0(message);
  if (!all.empty()) error->all(FLERR, all);
}

/* ----------------------------------------------------------------------
   restart: the file sizes when the restart file is written, and back to
   them when a run continues from it with append
------------------------------------------------------------------------- */

NVDynOutput::Sizes NVDynOutput::sizes() const
{
  Sizes out;
  for (int k = 0; k < NKINDS; k++) out[k] = files[k].fp && files[k].regular ? files[k].bytes : -1;
  return out;
}

void NVDynOutput::resume(const Sizes &recorded)
{
  std::string message;
  if (comm->me == 0 && append) {
    for (int k = 0; k < NKINDS && message.empty(); k++) {
      File &f = files[k];
      if (!f.fp || !f.regular || recorded[k] < 0 || f.bytes == recorded[k]) continue;
      if (f.bytes < recorded[k]) {
        message =
            fmt::format("Fix nvdyn {}: {} file '{}' holds {} bytes, fewer than the {} it held "
                        "when the restart file was written",
                        fix_id, f.what, f.path, f.bytes, recorded[k]);
      } else if (ftruncate(fileno(f.fp), (off_t) recorded[k]) != 0) {
        message = fmt::format("Fix nvdyn {}: cannot truncate {} file '{}': {}", fix_id, f.what,
                              f.path, utils::getsyserror());
      } else {
        utils::logmesg(lmp,
                       "Fix nvdyn {}: {} file '{}' cut from {} to {} bytes, its size when the "
                       "restart file was written\n",
                       fix_id, f.what, f.path, f.bytes, recorded[k]);
        f.bytes = recorded[k];
      }
    }
  }
  raise(message);
}

/* ---------------------------------------------------------------------- */

void NVDynRestartRecord::write(FILE *fp) const
{
  const int64_t header[2] = {VERSION, (int64_t) data.size()};
  const int n = (int) (sizeof(restart_magic) + sizeof(header) + data.size());
  fwrite(&n, sizeof(int), 1, fp);
  fwrite(restart_magic, 1, sizeof(restart_magic), fp);
  fwrite(header, sizeof(header), 1, fp);
  fwrite(data.data(), 1, data.size(), fp);
}

bool NVDynRestartRecord::read(const char *buf)
{
  int64_t header[2];
  memcpy(header, buf + sizeof(restart_magic), sizeof(header));
  if (memcmp(buf, restart_magic, sizeof(restart_magic)) != 0 || header[0] != VERSION ||
      header[1] < 0)
    return false;
  const char *begin = buf + sizeof(restart_magic) + sizeof(header);
  data.assign(begin, begin + header[1]);
  pos = 0;
  return true;
}

const char *NVDynRestartRecord::take(size_t n)
{
  if (n > data.size() - pos) return nullptr;
  pos += n;
  return data.data() + pos - n;
}
