/* ----------------------------------------------------------------------
   NVDYN: the streaming extended-XYZ reader of fix nvdyn's sample source
   (nvdyn_xyz_reader.h). Plain C++17, no LAMMPS, no MPI.

   The format is extended XYZ as ASE 3.22 writes and reads it
   (ase/io/extxyz.py): an atom-count line, a comment line of key=value
   pairs (Properties=name:T:n:... names the columns), then one line per
   atom. What is accepted and refused: doc/source_format.md.
------------------------------------------------------------------------- */

#include "nvdyn_xyz_reader.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

using namespace LAMMPS_NS;
namespace fs = std::filesystem;

namespace {

bool is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

bool is_blank(const std::string &s)
{
  return std::all_of(s.begin(), s.end(), is_space);
}

// a piece of a file for a message: quoted elsewhere, so control and
// non-ASCII bytes (a binary file) are written as \xNN, and long pieces cut
std::string shown(const std::string &s)
{
  constexpr size_t MAXLEN = 40;
  std::string out;
  for (size_t i = 0; i < s.size() && i < MAXLEN; i++) {
    auto c = (unsigned char) s[i];
    if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += (char) c;
    }
  }
  if (s.size() > MAXLEN) out += "...";
  return out;
}

std::string count_mismatch(int natoms, int64_t lines)
{
  return "atom count mismatch: the count line says " + std::to_string(natoms) +
      " atoms, the file has " + std::to_string(lines) + " lines before its end";
}

// One key=value pair of a comment line: verbatim (quotes and escapes as
// written) and as ASE reads it (delimiters removed, escapes resolved)
struct KeyValue {
  std::string key_raw, value_raw, key, value;
  bool flag = false;    // a key without '='
};

// The comment line split into pairs the way ASE's key_val_str_to_dict
// does: whitespace separates pairs, '=' a key from its value (spaces
// around '=' allowed), "..." '...' {...} [...] delimit values with spaces,
// a backslash escapes the next character; an unclosed delimiter runs to
// the end of the line.
std::vector<KeyValue> split_comment(const std::string &line)
{
  struct Part {
    std::string raw, text;
  };
  std::vector<std::vector<Part>> pairs(1, std::vector<Part>(1));
  char closing = 0;
  bool escaped = false;
  size_t b = 0, e = line.size();
  while (b < e && is_space(line[b])) b++;
  while (e > b && is_space(line[e - 1])) e--;
  for (size_t i = b; i < e; i++) {
    char c = line[i];
    Part &cur = pairs.back().back();
    if (escaped) {
      cur.raw += c;
      cur.text += c;
      escaped = false;
    } else if (c == '\\') {
      cur.raw += c;
      escaped = true;
    } else if (closing) {
      cur.raw += c;
      if (c == closing)
        closing = 0;
      else
        cur.text += c;
    } else if (c == '"' || c == '\'' || c == '{' || c == '[') {
      cur.raw += c;
      closing = c == '{' ? '}' : c == '[' ? ']' : c;
    } else if (is_space(c)) {
      // a new pair, unless the last part is still empty ("key= value")
      if (!cur.raw.empty()) pairs.emplace_back(1);
    } else if (c == '=') {
      // "key = value": the space opened a new, still empty pair; '=' goes
      // back to the key before it
      if (pairs.size() > 1 && pairs.back().size() == 1 && pairs.back()[0].raw.empty())
        pairs.pop_back();
      pairs.back().emplace_back();
    } else {
      cur.raw += c;
      cur.text += c;
    }
  }
  std::vector<KeyValue> out;
  for (const auto &parts : pairs) {
    if (parts.size() == 1 && parts[0].raw.empty()) continue;
    KeyValue kv;
    kv.key_raw = parts[0].raw;
    kv.key = parts[0].text;
    kv.flag = parts.size() == 1;
    // more than one '=': the value is the rest, '=' kept (as ASE joins it)
    for (size_t k = 1; k < parts.size(); k++) {
      if (k > 1) {
        kv.value_raw += '=';
        kv.value += '=';
      }
      kv.value_raw += parts[k].raw;
      kv.value += parts[k].text;
    }
    out.push_back(kv);
  }
  return out;
}

// the words of a value, split at whitespace and commas as ASE splits them
std::vector<std::string> words(const std::string &s)
{
  std::vector<std::string> out;
  std::string w;
  for (char c : s) {
    if (is_space(c) || c == ',') {
      if (!w.empty()) out.push_back(w);
      w.clear();
    } else {
      w += c;
    }
  }
  if (!w.empty()) out.push_back(w);
  return out;
}

// One property of a frame's Properties, placed on the atom lines
struct Column {
  std::string name;
  char type;
  int ncols;
  int first;    // 0-based token of its first column
};

// The first non-fatal problem of a frame, thrown once the frame is consumed
struct Problem {
  bool set = false;
  int64_t line = 0;
  int column = 0;
  std::string name, reason;
  void add(int64_t l, int col, const std::string &n, const std::string &r)
  {
    if (set) return;
    set = true;
    line = l;
    column = col;
    name = n;
    reason = r;
  }
};

// How a frame's atom lines are read: the columns fix nvdyn uses (token
// indices, -1: absent) out of all the frame's columns
struct Layout {
  int ntokens = 0;
  int species = -1, type = -1, pos = -1, vel = -1, mass = -1;
  std::string vel_name, mass_name;
};

// Properties (or ASE's default) into a layout; false, with the reason, when
// the frame cannot be read by fix nvdyn
bool parse_properties(const std::string &props, Layout &lay, std::string &why)
{
  std::vector<std::string> fields;
  size_t start = 0;
  while (true) {
    size_t colon = props.find(':', start);
    fields.push_back(props.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (fields.size() % 3 != 0) {
    why = "Properties '" + shown(props) + "' is not name:type:count triples";
    return false;
  }
  std::vector<Column> cols;
  int ntokens = 0;
  for (size_t k = 0; k < fields.size(); k += 3) {
    const std::string &name = fields[k], &type = fields[k + 1], &count = fields[k + 2];
    if (name.empty() || type.size() != 1 ||
        std::string("RISL").find(type[0]) == std::string::npos) {
      why = "Properties '" + shown(props) + "': property '" + shown(name) + "' has type '" +
          shown(type) + "' (one of R I S L expected)";
      return false;
    }
    char *end = nullptr;
    errno = 0;
    long n = count.empty() ? 0 : strtol(count.c_str(), &end, 10);
    if (count.empty() || *end || errno || n < 1 || n > 1000) {
      why = "Properties '" + shown(props) + "': property '" + shown(name) + "' has count '" +
          shown(count) + "' (a positive integer expected)";
      return false;
    }
    for (const auto &c : cols) {
      if (c.name == name) {
        why = "Properties '" + shown(props) + "': property '" + shown(name) + "' appears twice";
        return false;
      }
    }
    cols.push_back({name, type[0], (int) n, ntokens});
    ntokens += (int) n;
  }
  lay = Layout();
  lay.ntokens = ntokens;
  // the columns fix nvdyn uses, and the type and count each must have
  for (const auto &c : cols) {
    int *role = nullptr;
    char want = 0;
    int wantn = 0;
    if (c.name == "species") {
      role = &lay.species, want = 'S', wantn = 1;
    } else if (c.name == "type") {
      role = &lay.type, want = 'I', wantn = 1;
    } else if (c.name == "pos") {
      role = &lay.pos, want = 'R', wantn = 3;
    } else if (c.name == "velocities" || c.name == "vel" || c.name == "velo") {
      if (lay.vel >= 0) {
        why = "Properties has two velocity columns ('" + lay.vel_name + "' and '" + c.name + "')";
        return false;
      }
      lay.vel_name = c.name;
      role = &lay.vel, want = 'R', wantn = 3;
    } else if (c.name == "masses" || c.name == "mass") {
      if (lay.mass >= 0) {
        why = "Properties has two mass columns ('" + lay.mass_name + "' and '" + c.name + "')";
        return false;
      }
      lay.mass_name = c.name;
      role = &lay.mass, want = 'R', wantn = 1;
    }
    if (!role) continue;    // forces, id, momenta, ...: columns to skip
    if (c.type != want || c.ncols != wantn) {
      why = "Properties: column '" + c.name + "' is " + c.type + ":" + std::to_string(c.ncols) +
          ", fix nvdyn reads it as " + want + ":" + std::to_string(wantn);
      return false;
    }
    *role = c.first;
  }
  if (lay.pos < 0) {
    why = "Properties '" + shown(props) + "' has no pos column";
    return false;
  }
  if (lay.species < 0 && lay.type < 0) {
    why = "Properties '" + shown(props) + "' has neither a species nor a type column";
    return false;
  }
  return true;
}

// One atom line into f (type, x, v, mass), or the problem it has. tok:
// room for the line's tokens, kept from line to line
void read_atom(const std::string &line, int64_t lineno, const Layout &lay,
               const std::vector<std::string> &elements, int ntypes, NVDynXYZFrame &f,
               Problem &problem, std::vector<std::pair<size_t, size_t>> &tok)
{
  tok.clear();
  for (size_t i = 0; i < line.size();) {
    while (i < line.size() && is_space(line[i])) i++;
    if (i == line.size()) break;
    size_t s = i;
    while (i < line.size() && !is_space(line[i])) i++;
    tok.emplace_back(s, i);
  }
  if ((int) tok.size() != lay.ntokens) {
    problem.add(lineno, 0, "",
                std::to_string(tok.size()) + " columns, Properties says " +
                    std::to_string(lay.ntokens));
    return;
  }
  auto text = [&](int k) { return line.substr(tok[k].first, tok[k].second - tok[k].first); };
  // a real of the line; strtod stops at the whitespace ending the token
  auto real = [&](int k, const std::string &name, double &value) {
    const char *s = line.c_str() + tok[k].first;
    char *end = nullptr;
    value = strtod(s, &end);
    if (end != line.c_str() + tok[k].second) {
      problem.add(lineno, k + 1, name, "'" + shown(text(k)) + "' is not a number");
      return false;
    }
    if (!std::isfinite(value)) {
      problem.add(lineno, k + 1, name, "'" + shown(text(k)) + "' is not a finite number");
      return false;
    }
    return true;
  };
  int type = 0;
  if (lay.type >= 0) {
    const char *s = line.c_str() + tok[lay.type].first;
    char *end = nullptr;
    errno = 0;
    long t = strtol(s, &end, 10);
    if (end != line.c_str() + tok[lay.type].second || errno) {
      problem.add(lineno, lay.type + 1, "type",
                  "'" + shown(text(lay.type)) + "' is not an integer");
      return;
    }
    if (t < 1 || t > ntypes) {
      problem.add(lineno, lay.type + 1, "type",
                  "type " + std::to_string(t) + " is out of range 1.." + std::to_string(ntypes));
      return;
    }
    type = (int) t;
    // the species, when given both ways, must be the type's element
    if (lay.species >= 0 && type <= (int) elements.size() && !elements[type - 1].empty() &&
        text(lay.species) != elements[type - 1]) {
      problem.add(lineno, lay.species + 1, "species",
                  "species '" + shown(text(lay.species)) + "' does not match type " +
                      std::to_string(type) + " (element " + elements[type - 1] + ")");
      return;
    }
  } else {
    std::string species = text(lay.species);
    auto it = std::find(elements.begin(), elements.end(), species);
    if (it == elements.end()) {
      std::string known;
      for (const auto &el : elements) known += (known.empty() ? "" : " ") + el;
      problem.add(lineno, lay.species + 1, "species",
                  "unknown species '" + shown(species) + "' (elements: " + known + ")");
      return;
    }
    // the first type with this element, when several have it
    type = (int) (it - elements.begin()) + 1;
    if (type > ntypes) {
      problem.add(lineno, lay.species + 1, "species",
                  "species '" + species + "' is type " + std::to_string(type) +
                      ", out of range 1.." + std::to_string(ntypes));
      return;
    }
  }
  double x[3], v[3], m = 0.0;
  for (int d = 0; d < 3; d++)
    if (!real(lay.pos + d, "pos", x[d])) return;
  if (lay.vel >= 0)
    for (int d = 0; d < 3; d++)
      if (!real(lay.vel + d, lay.vel_name, v[d])) return;
  if (lay.mass >= 0) {
    if (!real(lay.mass, lay.mass_name, m)) return;
    if (m <= 0.0) {
      problem.add(lineno, lay.mass + 1, lay.mass_name,
                  "'" + shown(text(lay.mass)) + "' is not a positive mass");
      return;
    }
  }
  f.type.push_back(type);
  f.x.insert(f.x.end(), x, x + 3);
  if (lay.vel >= 0) f.v.insert(f.v.end(), v, v + 3);
  if (lay.mass >= 0) f.mass.push_back(m);
}

}    // namespace

/* ---------------------------------------------------------------------- */

NVDynXYZError::NVDynXYZError(const std::string &file_, int64_t frame_, int64_t line_, int column_,
                             const std::string &column_name, const std::string &reason_,
                             bool fatal_) :
    std::runtime_error([&] {
      // "source path" for a problem of a path as a whole, "source file" in a file
      std::string s =
          std::string(frame_ || line_ ? "source file '" : "source path '") + file_ + "'";
      if (frame_) s += ", frame " + std::to_string(frame_);
      if (line_) s += ", line " + std::to_string(line_);
      if (column_) s += ", column " + std::to_string(column_) + " (" + column_name + ")";
      return s + ": " + reason_;
    }()),
    file(file_), frame(frame_), line(line_), column(column_), reason(reason_), fatal(fatal_)
{
}

/* ---------------------------------------------------------------------- */

NVDynXYZReader::NVDynXYZReader(const std::vector<std::string> &paths,
                               const std::vector<std::string> &elements, int ntypes) :
    elements_(elements),
    ntypes_(ntypes)
{
  auto refuse = [](const std::string &path, const std::string &why) {
    return NVDynXYZError(path, 0, 0, 0, "", why, true);
  };
  for (const auto &path : paths) {
    std::error_code ec;
    auto st = fs::status(path, ec);
    if (ec || !fs::exists(st)) {
      if (ec && ec != std::errc::no_such_file_or_directory)
        throw refuse(path, "cannot be read: " + ec.message());
      throw refuse(path, "does not exist");
    }
    std::vector<std::string> found;
    if (fs::is_directory(st)) {
      fs::directory_iterator it(path, ec), end;
      if (ec) throw refuse(path, "cannot be read: " + ec.message());
      std::vector<std::string> names;
      for (; it != end; it.increment(ec)) {
        if (ec) throw refuse(path, "cannot be read: " + ec.message());
        std::string name = it->path().filename().string();
        auto ends_with = [&](const std::string &suffix) {
          return name.size() > suffix.size() &&
              name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
        };
        std::error_code ec2;
        if ((ends_with(".xyz") || ends_with(".extxyz")) && fs::is_regular_file(it->path(), ec2))
          names.push_back(name);
      }
      if (ec) throw refuse(path, "cannot be read: " + ec.message());
      if (names.empty()) throw refuse(path, "a directory without files named *.xyz or *.extxyz");
      std::sort(names.begin(), names.end());
      for (const auto &name : names) found.push_back((fs::path(path) / name).string());
    } else if (fs::is_regular_file(st)) {
      found.push_back(path);
    } else {
      throw refuse(path, "is neither a regular file nor a directory");
    }
    // readable now: a source that cannot be read is refused before any step
    for (const auto &file : found) {
      std::ifstream probe(file, std::ios::binary);
      if (!probe) throw refuse(file, std::string("cannot be read: ") + strerror(errno));
      paths_.push_back(file);
    }
  }
}

/* ---------------------------------------------------------------------- */

[[noreturn]] void NVDynXYZReader::fail(int64_t frame, int64_t line, const std::string &reason)
{
  broken_ = true;
  throw NVDynXYZError(pos_.file < (int) paths_.size() ? paths_[pos_.file] : "", frame, line, 0, "",
                      reason, true);
}

void NVDynXYZReader::open(int file)
{
  in_.close();
  in_.clear();
  open_ = -1;
  in_.open(paths_[file], std::ios::binary);
  if (!in_) {
    broken_ = true;
    throw NVDynXYZError(paths_[file], 0, 0, 0, "",
                        std::string("cannot be opened: ") + strerror(errno), true);
  }
  open_ = file;
}

// The next line of the open file, without its line end (LF or CRLF); false
// at the end of the file. Counts the bytes and lines read (off_, line_).
bool NVDynXYZReader::getline(std::string &line)
{
  if (!std::getline(in_, line)) {
    if (in_.bad()) fail(0, line_, "read error");
    return false;
  }
  // binary mode: the offset counts every byte, the LF too unless the file
  // ends without one
  off_ += (int64_t) line.size() + (in_.eof() ? 0 : 1);
  line_++;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return true;
}

// whether the open file has nothing but blank lines left (reads them)
bool NVDynXYZReader::rest_is_blank()
{
  std::string line;
  while (getline(line))
    if (!is_blank(line)) return false;
  return true;
}

/* ---------------------------------------------------------------------- */

bool NVDynXYZReader::next(NVDynXYZFrame &f)
{
  if (broken_)
    throw NVDynXYZError(pos_.file < (int) paths_.size() ? paths_[pos_.file] : "", 0, 0, 0, "",
                        "the source cannot be read on after an earlier error", true);
  std::string line;
  int64_t count_off = 0, count_line = 0;
  while (true) {
    if (pos_.file >= (int) paths_.size()) return false;
    if (open_ != pos_.file) {
      open(pos_.file);
      in_.seekg(pos_.offset);
      if (!in_) fail(0, 0, "cannot go to byte " + std::to_string(pos_.offset));
      off_ = pos_.offset;
      line_ = pos_.line - 1;
    }
    count_off = off_;
    count_line = line_ + 1;
    bool more = getline(line);
    // trailing blank lines end a file; a blank line before another frame
    // is not a count line
    if (more && is_blank(line)) {
      if (!rest_is_blank())
        fail(pos_.frame, count_line, "a blank line where an atom count is expected");
      more = false;
    }
    if (more) break;
    in_.close();
    in_.clear();
    open_ = -1;
    pos_.file++;
    pos_.offset = 0;
    pos_.frame = 1;
    pos_.line = 1;
  }

  // the count line: digits, maybe with spaces around them
  size_t b = 0, e = line.size();
  while (b < e && is_space(line[b])) b++;
  while (e > b && is_space(line[e - 1])) e--;
  int64_t natoms = 0;
  for (size_t i = b; i < e; i++) {
    if (line[i] < '0' || line[i] > '9')
      fail(pos_.frame, count_line,
           "the count line '" + shown(line) + "' is not a non-negative integer");
    natoms = 10 * natoms + (line[i] - '0');
    if (natoms > INT_MAX / 3)
      fail(pos_.frame, count_line, "the atom count " + line.substr(b, e - b) + " is too large");
  }

  f.index = pos_.index;
  f.file = pos_.file;
  f.frame = pos_.frame;
  f.line = count_line;
  f.offset = count_off;
  f.natoms = (int) natoms;
  f.type.clear();
  f.x.clear();
  f.v.clear();
  f.mass.clear();
  f.info.clear();

  Problem problem;
  if (natoms == 0) problem.add(count_line, 0, "", "a frame of zero atoms");

  // the comment line
  if (!getline(line))
    fail(f.frame, count_line,
         "atom count mismatch: the count line says " + std::to_string(natoms) +
             " atoms, the file ends before the comment line");
  const int64_t comment_line = line_;
  std::string props = "species:S:1:pos:R:3";    // ASE's default
  const KeyValue *pbc = nullptr, *lattice = nullptr;
  auto pairs = split_comment(line);
  for (const auto &kv : pairs) {
    // the last of a repeated key counts, as in ASE's dict
    if (kv.key == "Properties")
      props = kv.value;
    else if (kv.key == "pbc")
      pbc = &kv;
    else if (kv.key == "Lattice")
      lattice = &kv;
    else
      f.info.emplace_back(kv.key_raw, kv.value_raw);
  }
  const char *periodic = "a periodic cell: samples share one box, frames must not be periodic";
  if (pbc) {
    auto flags = words(pbc->value);
    bool bad = flags.empty(), any = false;
    for (const auto &w : flags) {
      if (w == "T" || w == "True" || w == "true")
        any = true;
      else if (!(w == "F" || w == "False" || w == "false"))
        bad = true;
    }
    if (bad)
      problem.add(comment_line, 0, "", "pbc '" + shown(pbc->value) + "' is not T/F flags");
    else if (any)
      problem.add(comment_line, 0, "", periodic);
  } else if (lattice) {
    // ASE: a Lattice without pbc is periodic in all three directions
    problem.add(comment_line, 0, "", periodic);
  }
  Layout lay;
  std::string why;
  if (!parse_properties(props, lay, why)) problem.add(comment_line, 0, "", why);
  if (!problem.set && lay.type < 0 && elements_.empty())
    problem.add(comment_line, 0, "", "no type column, and no elements to map species to types");

  // the atom lines: all natoms of them are consumed, whatever their content
  int trailing_blank = 0;
  for (int64_t i = 0; i < natoms; i++) {
    if (!getline(line)) fail(f.frame, count_line, count_mismatch(f.natoms, i));
    trailing_blank = is_blank(line) ? trailing_blank + 1 : 0;
    if (!problem.set) read_atom(line, line_, lay, elements_, ntypes_, f, problem, tokens_);
  }
  // blank lines closing a frame at the end of the file: a short frame
  // followed by the file's trailing blank lines, not atom lines
  if (trailing_blank > 0) {
    auto at = in_.tellg();
    int64_t off = off_, ln = line_;
    if (rest_is_blank())
      fail(f.frame, count_line, count_mismatch(f.natoms, natoms - trailing_blank));
    in_.clear();
    in_.seekg(at);
    off_ = off;
    line_ = ln;
  }

  pos_.index++;
  pos_.frame++;
  pos_.offset = off_;
  pos_.line = line_ + 1;
  if (problem.set) {
    f.type.clear();
    f.x.clear();
    f.v.clear();
    f.mass.clear();
    throw NVDynXYZError(paths_[f.file], f.frame, problem.line, problem.column, problem.name,
                        problem.reason, false);
  }
  return true;
}

/* ---------------------------------------------------------------------- */

void NVDynXYZReader::seek(const Position &p)
{
  if (p.file < 0 || p.file > (int) paths_.size() || p.offset < 0 || p.index < 0 || p.frame < 1 ||
      p.line < 1)
    throw NVDynXYZError(p.file >= 0 && p.file < (int) paths_.size() ? paths_[p.file] : "", 0, 0, 0,
                        "",
                        "no such position (file " + std::to_string(p.file) + ", byte " +
                            std::to_string(p.offset) + ")",
                        true);
  broken_ = false;
  pos_ = p;
  if (p.file == (int) paths_.size()) {
    // the end of the source
    in_.close();
    in_.clear();
    open_ = -1;
    return;
  }
  if (open_ != p.file) open(p.file);
  in_.clear();
  in_.seekg(0, std::ios::end);
  auto size = (int64_t) in_.tellg();
  if (!in_ || p.offset > size)
    fail(0, 0,
         "byte " + std::to_string(p.offset) + " is past the end of the file (" +
             std::to_string(size) + " bytes)");
  in_.seekg(p.offset);
  if (!in_) fail(0, 0, "cannot go to byte " + std::to_string(p.offset));
  off_ = p.offset;
  line_ = p.line - 1;
}

NVDynXYZFrame NVDynXYZReader::read_at(const Position &p)
{
  const Position back = pos_;
  const bool was_broken = broken_;
  NVDynXYZFrame f;
  bool found = false;
  try {
    seek(p);
    found = next(f);
  } catch (...) {
    // the position of next() as it was, then the error
    try {
      seek(back);
    } catch (...) {
    }
    broken_ = was_broken;
    throw;
  }
  seek(back);
  broken_ = was_broken;
  if (!found)
    throw NVDynXYZError(p.file < (int) paths_.size() ? paths_[p.file] : "", 0, 0, 0, "",
                        "no frame at byte " + std::to_string(p.offset) + ": the end of the source",
                        true);
  return f;
}
