/* ----------------------------------------------------------------------
   NVDYN: tests of the extended-XYZ reader of fix nvdyn's sample source
   (src/lammps/nvdyn_xyz_reader.h), alone: no LAMMPS, no MPI.

   Frames written by ASE are read to the last bit of what ASE reads back;
   several files and a directory make one source; tell/seek/read_at go
   back to frames read before; every kind of error says where it is,
   whether reading can go on, and reading goes on after a non-fatal one;
   a source of 20000 frames is read frame by frame.
------------------------------------------------------------------------- */

#include "nvdyn_xyz_reader.h"

#include "gtest/gtest.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

using namespace LAMMPS_NS;
namespace fs = std::filesystem;

namespace {

// A fresh directory under /tmp, removed with what is in it
struct TempDir {
  std::string path;
  TempDir()
  {
    char name[] = "/tmp/nvdyn_xyz_reader_XXXXXX";
    if (!mkdtemp(name)) throw std::runtime_error("mkdtemp failed");
    path = name;
  }
  ~TempDir()
  {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string &name, const std::string &text) const
  {
    std::string p = path + "/" + name;
    std::ofstream out(p, std::ios::binary);
    out << text;
    return p;
  }
};

const std::vector<std::string> CHO = {"C", "H", "O"};

// the frames of a source, read to its end (no errors expected)
std::vector<NVDynXYZFrame> read_all(NVDynXYZReader &r)
{
  std::vector<NVDynXYZFrame> out;
  NVDynXYZFrame f;
  while (r.next(f)) out.push_back(f);
  return out;
}

// a frame of n atoms "C i 0.5*i -i" (type 1), with a comment line
std::string frame_text(int n, const std::string &comment = "", const std::string &eol = "\n")
{
  std::string s = std::to_string(n) + eol + comment + eol;
  for (int i = 0; i < n; i++)
    s += "C " + std::to_string(i) + " " + std::to_string(0.5 * i) + " " + std::to_string(-i) + eol;
  return s;
}

bool starts_with(const std::string &s, const std::string &prefix)
{
  return s.compare(0, prefix.size(), prefix) == 0;
}

// next() throws an NVDynXYZError whose message starts with `prefix`
void expect_error(NVDynXYZReader &r, NVDynXYZFrame &f, const std::string &prefix, bool fatal)
{
  try {
    r.next(f);
    ADD_FAILURE() << "no error, expected: " << prefix;
  } catch (const NVDynXYZError &e) {
    EXPECT_TRUE(starts_with(e.message(), prefix)) << e.message() << "\nexpected: " << prefix;
    EXPECT_EQ(e.fatal, fatal) << e.message();
  }
}

std::string info_value(const NVDynXYZFrame &f, const std::string &key)
{
  for (const auto &kv : f.info)
    if (kv.first == key) return kv.second;
  return "<none>";
}

bool has_key(const NVDynXYZFrame &f, const std::string &key)
{
  return info_value(f, key) != "<none>";
}

// one frame as ASE reads it (unittest/ase_write_frames.py)
struct AseFrame {
  int natoms = 0;
  std::vector<std::string> species, info;
  std::vector<double> x, v, mass;
};

std::vector<std::string> words_after(const std::string &line, const std::string &tag)
{
  std::istringstream in(line);
  std::string w;
  std::vector<std::string> out;
  in >> w;
  EXPECT_EQ(w, tag) << line;
  while (in >> w) out.push_back(w);
  return out;
}

std::vector<double> reals_after(const std::string &line, const std::string &tag)
{
  std::vector<double> out;
  for (const auto &w : words_after(line, tag)) out.push_back(strtod(w.c_str(), nullptr));
  return out;
}

}    // namespace

/* ---------------------------------------------------------------------- */

// python3 and unittest/ase_write_frames.py (two definitions: see CMakeLists.txt)
TEST(XYZReader, FramesWrittenByASE)
{
  TempDir dir;
  std::string path = dir.path + "/ase.xyz";
  if (!fs::exists(NVDYN_XYZ_PYTHON)) GTEST_SKIP() << NVDYN_XYZ_PYTHON << " is missing";
  std::string cmd = std::string(NVDYN_XYZ_PYTHON) + " " + NVDYN_XYZ_SCRIPT + " " + path;
  FILE *p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string text;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0;) text.append(buf, n);
  int status = pclose(p);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 77) GTEST_SKIP() << "python3-ase is missing";
  ASSERT_EQ(status, 0) << cmd;

  std::vector<AseFrame> ase;
  std::istringstream out(text);
  std::string line;
  while (std::getline(out, line)) {
    if (starts_with(line, "frames ")) {
      EXPECT_EQ(std::stoul(line.substr(7)), ase.size());
      break;
    }
    AseFrame a;
    a.natoms = std::stoi(words_after(line, "frame").at(0));
    std::getline(out, line);
    a.species = words_after(line, "species");
    std::getline(out, line);
    a.x = reals_after(line, "pos");
    std::getline(out, line);
    a.v = reals_after(line, "vel");
    std::getline(out, line);
    a.mass = reals_after(line, "mass");
    std::getline(out, line);
    a.info = words_after(line, "info");
    ase.push_back(a);
  }
  ASSERT_EQ(ase.size(), 6u);

  NVDynXYZReader r({path}, CHO, 3);
  auto frames = read_all(r);
  ASSERT_EQ(frames.size(), ase.size());
  int64_t lineno = 1;
  for (size_t k = 0; k < frames.size(); k++) {
    const auto &f = frames[k];
    const auto &a = ase[k];
    SCOPED_TRACE("frame " + std::to_string(k + 1));
    EXPECT_EQ(f.index, (int64_t) k);
    EXPECT_EQ(f.file, 0);
    EXPECT_EQ(f.frame, (int64_t) k + 1);
    EXPECT_EQ(f.line, lineno);
    lineno += f.natoms + 2;
    ASSERT_EQ(f.natoms, a.natoms);
    ASSERT_EQ(f.type.size(), (size_t) a.natoms);
    for (int i = 0; i < a.natoms; i++)
      EXPECT_EQ(CHO.at(f.type[i] - 1), a.species[i]) << "atom " << i;
    // the same doubles as ASE's float(): to the last bit
    ASSERT_EQ(f.x.size(), a.x.size());
    for (size_t i = 0; i < a.x.size(); i++) EXPECT_EQ(f.x[i], a.x[i]) << "x " << i;
    EXPECT_EQ(f.v, a.v);
    EXPECT_EQ(f.mass, a.mass);
    // ASE's info keys (pbc is not one), all of them in the reader's info
    for (const auto &key : a.info) EXPECT_TRUE(has_key(f, key)) << key;
    EXPECT_FALSE(has_key(f, "pbc"));
    EXPECT_FALSE(has_key(f, "Properties"));
    EXPECT_FALSE(has_key(f, "Lattice"));
    EXPECT_EQ(info_value(f, "label"), "\"molecule number " + std::to_string(k) + "\"");
    EXPECT_EQ(info_value(f, "sample_id"), std::to_string(100 + k));
    EXPECT_EQ(info_value(f, "ok"), k % 2 == 0 ? "T" : "F");
    EXPECT_NE(info_value(f, "e_total"), "<none>");
  }
  // frames 2 and 5 have masses, 3 and 5 velocities, 4 momenta (skipped)
  EXPECT_EQ(frames[1].mass.size(), 3u);
  EXPECT_EQ(frames[2].v.size(), 3u * frames[2].natoms);
  EXPECT_TRUE(frames[3].v.empty());
  // ASE's writing order of the comment line, pbc and Properties left out
  ASSERT_EQ(frames[0].info.size(), 4u);
  EXPECT_EQ(frames[0].info[0].first, "sample_id");
  EXPECT_EQ(frames[0].info[3].first, "ok");
}

/* ---------------------------------------------------------------------- */

TEST(XYZReader, CommentLine)
{
  TempDir dir;
  auto path = dir.file("c.xyz",
                       frame_text(1,
                                  "  name=\"two words\" flag  e = -1.5 arr={1 2 3} sq='a b' "
                                  "esc=a\\\"b Properties=species:S:1:pos:R:3 x=1=2 last"));
  NVDynXYZReader r({path}, CHO, 3);
  NVDynXYZFrame f;
  ASSERT_TRUE(r.next(f));
  std::vector<std::pair<std::string, std::string>> want = {
      {"name", "\"two words\""}, {"flag", ""},      {"e", "-1.5"}, {"arr", "{1 2 3}"},
      {"sq", "'a b'"},           {"esc", "a\\\"b"}, {"x", "1=2"},  {"last", ""}};
  EXPECT_EQ(f.info, want);
}

TEST(XYZReader, ColumnsTypesAndLineEnds)
{
  TempDir dir;
  // a type column (no species), masses and vel, forces and id skipped, CRLF,
  // and trailing blank lines
  std::string text = "2\r\nProperties=id:I:1:type:I:1:pos:R:3:forces:R:3:vel:R:3:mass:R:1\r\n"
                     "1 3 1.0 2.0 3.0 9 9 9 0.1 0.2 0.3 16.0\r\n"
                     "2 2 -1.0 -2.0 -3.0 9 9 9 -0.1 -0.2 -0.3 1.0\r\n"
                     "1\r\nProperties=species:S:1:type:I:1:pos:R:3\r\nO 3 4 5 6\r\n\r\n \r\n";
  auto path = dir.file("t.xyz", text);
  NVDynXYZReader r({path}, {}, 3);    // no elements: the type column gives types
  NVDynXYZFrame f;
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(f.type, (std::vector<int>{3, 2}));
  EXPECT_EQ(f.x, (std::vector<double>{1, 2, 3, -1, -2, -3}));
  EXPECT_EQ(f.v, (std::vector<double>{0.1, 0.2, 0.3, -0.1, -0.2, -0.3}));
  EXPECT_EQ(f.mass, (std::vector<double>{16.0, 1.0}));
  EXPECT_TRUE(f.info.empty());
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(f.line, 5);
  EXPECT_EQ(f.offset, (int64_t) text.find("1\r\nProp"));
  EXPECT_EQ(f.type, (std::vector<int>{3}));
  EXPECT_TRUE(f.v.empty());
  EXPECT_TRUE(f.mass.empty());
  EXPECT_FALSE(r.next(f));
  EXPECT_FALSE(r.next(f));

  // species and type both, checked against the elements
  NVDynXYZReader r2({path}, CHO, 3);
  ASSERT_TRUE(r2.next(f));    // no species column: only the type is used
  ASSERT_TRUE(r2.next(f));    // O is type 3
  EXPECT_EQ(f.type, (std::vector<int>{3}));

  // a Lattice with pbc="F F F": the cell is ignored
  auto lat = dir.file("l.xyz", frame_text(2, "Lattice=\"5 0 0 0 5 0 0 0 5\" pbc=\"F F F\" a=1"));
  NVDynXYZReader r3({lat}, CHO, 3);
  ASSERT_TRUE(r3.next(f));
  EXPECT_EQ(f.natoms, 2);
  EXPECT_EQ(f.info, (std::vector<std::pair<std::string, std::string>>{{"a", "1"}}));
}

/* ---------------------------------------------------------------------- */

TEST(XYZReader, FilesAndDirectories)
{
  TempDir dir;
  fs::create_directory(dir.path + "/d");
  dir.file("d/b.xyz", frame_text(2, "f=b1") + frame_text(3, "f=b2"));
  dir.file("d/a.extxyz", frame_text(1, "f=a1"));
  dir.file("d/notes.txt", frame_text(1, "f=txt"));    // not a source file
  dir.file("d/c.xyz.bak", frame_text(1, "f=bak"));
  fs::create_directory(dir.path + "/d/sub.xyz");    // a directory: not a file
  auto other = dir.file("other.data", frame_text(4, "f=o1"));

  NVDynXYZReader r({dir.path + "/d", other}, CHO, 3);
  std::vector<std::string> want = {dir.path + "/d/a.extxyz", dir.path + "/d/b.xyz", other};
  EXPECT_EQ(r.files(), want);
  auto frames = read_all(r);
  ASSERT_EQ(frames.size(), 4u);
  const char *names[] = {"a1", "b1", "b2", "o1"};
  const int files[] = {0, 1, 1, 2}, numbers[] = {1, 1, 2, 1}, lines[] = {1, 1, 5, 1};
  for (int k = 0; k < 4; k++) {
    EXPECT_EQ(frames[k].index, k);
    EXPECT_EQ(info_value(frames[k], "f"), names[k]);
    EXPECT_EQ(frames[k].file, files[k]);
    EXPECT_EQ(frames[k].frame, numbers[k]);
    EXPECT_EQ(frames[k].line, lines[k]);
  }
  EXPECT_EQ(frames[2].offset, (int64_t) frame_text(2, "f=b1").size());

  // paths that are not a source
  auto refused = [&](const std::vector<std::string> &paths, const std::string &prefix) {
    try {
      NVDynXYZReader bad(paths, CHO, 3);
      ADD_FAILURE() << "accepted, expected: " << prefix;
    } catch (const NVDynXYZError &e) {
      EXPECT_TRUE(starts_with(e.message(), prefix)) << e.message();
      EXPECT_TRUE(e.fatal);
    }
  };
  refused({dir.path + "/none.xyz"}, "source path '" + dir.path + "/none.xyz': does not exist");
  fs::create_directory(dir.path + "/empty");
  dir.file("empty/x.txt", "");
  refused({dir.path + "/empty"},
          "source path '" + dir.path + "/empty': a directory without files named *.xyz");
  if (geteuid() != 0) {    // root reads any file
    auto locked = dir.file("locked.xyz", frame_text(1));
    fs::permissions(locked, fs::perms::none);
    refused({locked}, "source path '" + locked + "': cannot be read");
  }
}

/* ---------------------------------------------------------------------- */

TEST(XYZReader, TellSeekReadAt)
{
  TempDir dir;
  std::string a, b;
  for (int k = 0; k < 7; k++) a += frame_text(1 + k % 4, "k=" + std::to_string(k));
  for (int k = 7; k < 12; k++) b += frame_text(1 + k % 3, "k=" + std::to_string(k));
  auto pa = dir.file("a.xyz", a), pb = dir.file("b.xyz", b);
  NVDynXYZReader r({pa, pb}, CHO, 3);
  NVDynXYZFrame f;
  for (int k = 0; k < 5; k++) ASSERT_TRUE(r.next(f));
  auto p = r.tell();
  EXPECT_EQ(p.file, 0);
  EXPECT_EQ(p.index, 5);
  EXPECT_EQ(p.frame, 6);
  std::vector<NVDynXYZFrame> three;
  for (int k = 0; k < 3; k++) {    // frames 5, 6 of a.xyz, 7 (the first of b.xyz)
    ASSERT_TRUE(r.next(f));
    three.push_back(f);
  }
  EXPECT_EQ(three[2].file, 1);
  EXPECT_EQ(three[2].index, 7);
  EXPECT_EQ(info_value(three[2], "k"), "7");
  auto after = r.tell();
  EXPECT_EQ(after.file, 1);
  EXPECT_EQ(after.index, 8);

  // read_at: that frame, and next() goes on where it was
  NVDynXYZFrame g = r.read_at(p);
  EXPECT_EQ(g.index, 5);
  EXPECT_EQ(g.offset, three[0].offset);
  EXPECT_EQ(g.line, three[0].line);
  EXPECT_EQ(g.x, three[0].x);
  EXPECT_EQ(info_value(g, "k"), "5");
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(f.index, 8);
  EXPECT_EQ(info_value(f, "k"), "8");

  // seek back: the same three frames again
  r.seek(p);
  for (int k = 0; k < 3; k++) {
    ASSERT_TRUE(r.next(f));
    EXPECT_EQ(f.index, three[k].index);
    EXPECT_EQ(f.file, three[k].file);
    EXPECT_EQ(f.frame, three[k].frame);
    EXPECT_EQ(f.line, three[k].line);
    EXPECT_EQ(f.offset, three[k].offset);
    EXPECT_EQ(f.x, three[k].x);
    EXPECT_EQ(f.info, three[k].info);
  }
  // a position in another file than the open one, and the end
  r.seek(after);
  auto rest = read_all(r);
  ASSERT_EQ(rest.size(), 4u);
  EXPECT_EQ(rest.back().index, 11);
  auto end = r.tell();
  EXPECT_THROW(r.read_at(end), NVDynXYZError);
  EXPECT_EQ(r.read_at(p).index, 5);
  EXPECT_FALSE(r.next(f));

  NVDynXYZReader::Position bad;
  bad.file = 5;
  EXPECT_THROW(r.seek(bad), NVDynXYZError);
  bad.file = 0;
  bad.offset = (int64_t) a.size() + 10;
  EXPECT_THROW(r.seek(bad), NVDynXYZError);
}

/* ---------------------------------------------------------------------- */

// each fatal error: where it is, and that it is fatal
TEST(XYZReader, FatalErrors)
{
  TempDir dir;
  struct Case {
    std::string name, text, message;
  };
  const std::string good = frame_text(2);    // lines 1-4
  std::vector<Case> cases = {
      {"word.xyz", good + "abc\n\nC 0 0 0\n",
       "frame 2, line 5: the count line 'abc' is not a non-negative integer"},
      {"negative.xyz", good + "-1\n\n",
       "frame 2, line 5: the count line '-1' is not a non-negative"},
      {"real.xyz", good + "2.0\n\n", "frame 2, line 5: the count line '2.0' is not a non-negative"},
      {"binary.xyz", good + "\xff\xfe\x01z\n",
       "frame 2, line 5: the count line '\\xff\\xfe\\x01z' is not a non-negative integer"},
      {"huge.xyz", "99999999999999999999\n\n", "frame 1, line 1: the atom count 9999"},
      {"short.xyz", good + "3\n\nH 0 0 0\n",
       "frame 2, line 5: atom count mismatch: the count line says 3 atoms, the file has 1 lines "
       "before its end"},
      {"short_blank.xyz", good + "3\r\n\r\nH 0 0 0\r\n\r\n\r\n",
       "frame 2, line 5: atom count mismatch: the count line says 3 atoms, the file has 1 lines "
       "before its end"},
      {"nocomment.xyz", good + "3\n",
       "frame 2, line 5: atom count mismatch: the count line says 3 atoms, the file ends before "
       "the comment line"},
      {"blank.xyz", good + "\n" + good,
       "frame 2, line 5: a blank line where an atom count is expected"},
  };
  for (const auto &c : cases) {
    SCOPED_TRACE(c.name);
    auto path = dir.file(c.name, c.text);
    NVDynXYZReader r({path}, CHO, 3);
    NVDynXYZFrame f;
    if (c.name != "huge.xyz") { ASSERT_TRUE(r.next(f)); }
    try {
      r.next(f);
      ADD_FAILURE() << "no error";
    } catch (const NVDynXYZError &e) {
      EXPECT_EQ(e.message().substr(0, path.size() + 16 + c.message.size()),
                "source file '" + path + "', " + c.message);
      EXPECT_TRUE(e.fatal);
      EXPECT_EQ(e.file, path);
      EXPECT_EQ(e.frame, c.name == "huge.xyz" ? 1 : 2);
      EXPECT_EQ(e.line, c.name == "huge.xyz" ? 1 : 5);
    }
    // the reader does not go on
    EXPECT_THROW(r.next(f), NVDynXYZError);
  }
}

// each non-fatal error: where it is, what of the frame is filled, and the
// next frame read after it, with the next index
TEST(XYZReader, NonFatalErrors)
{
  TempDir dir;
  struct Case {
    std::string name, bad, message;
    std::vector<std::string> elements;
  };
  const std::string P = "Properties=species:S:1:pos:R:3";
  std::vector<Case> cases = {
      {"species", "2\nk=v\nC 0 0 0\nXx 1 1 1\n",
       "line 7, column 1 (species): unknown species 'Xx' (elements: C H O)", CHO},
      {"type_range", "1\nProperties=type:I:1:pos:R:3 k=v\n4 0 0 0\n",
       "line 6, column 1 (type): type 4 is out of range 1..3", CHO},
      {"type_word", "1\nProperties=type:I:1:pos:R:3 k=v\n1.5 0 0 0\n",
       "line 6, column 1 (type): '1.5' is not an integer", CHO},
      {"mismatch", "1\nProperties=species:S:1:type:I:1:pos:R:3 k=v\nO 2 0 0 0\n",
       "line 6, column 1 (species): species 'O' does not match type 2 (element H)", CHO},
      {"number", "2\nk=v\nC 0 0 0\nC 0 abc 0\n", "line 7, column 3 (pos): 'abc' is not a number",
       CHO},
      {"suffix", "1\nk=v\nC 0 0 1.5x\n", "line 6, column 4 (pos): '1.5x' is not a number", CHO},
      {"infinite", "1\nk=v\nC 0 inf 0\n", "line 6, column 3 (pos): 'inf' is not a finite number",
       CHO},
      {"nan_vel", "1\nProperties=species:S:1:pos:R:3:velocities:R:3 k=v\nC 0 0 0 nan 0 0\n",
       "line 6, column 5 (velocities): 'nan' is not a finite number", CHO},
      {"mass", "1\nProperties=species:S:1:pos:R:3:masses:R:1 k=v\nC 0 0 0 0\n",
       "line 6, column 5 (masses): '0' is not a positive mass", CHO},
      {"columns", "2\nk=v\nC 0 0 0\nC 0 0\n", "line 7: 3 columns, Properties says 4", CHO},
      {"extra", "1\nk=v\nC 0 0 0 7\n", "line 6: 5 columns, Properties says 4", CHO},
      {"blank_atom", "2\nk=v\n\nC 0 0 0\n", "line 6: 0 columns, Properties says 4", CHO},
      {"pbc", "1\npbc=\"T T F\" k=v\nC 0 0 0\n",
       "line 5: a periodic cell: samples share one box, frames must not be periodic", CHO},
      {"lattice", "1\nLattice=\"5 0 0 0 5 0 0 0 5\" k=v\nC 0 0 0\n",
       "line 5: a periodic cell: samples share one box, frames must not be periodic", CHO},
      {"nopos", "1\nProperties=species:S:1:positions:R:3 k=v\nC 0 0 0\n",
       "line 5: Properties 'species:S:1:positions:R:3' has no pos column", CHO},
      {"pos2", "1\nProperties=species:S:1:pos:R:2 k=v\nC 0 0\n",
       "line 5: Properties: column 'pos' is R:2, fix nvdyn reads it as R:3", CHO},
      {"props", "1\nProperties=species:S:1:pos:Q:3 k=v\nC 0 0 0\n",
       "line 5: Properties 'species:S:1:pos:Q:3': property 'pos' has type 'Q' (one of R I S L "
       "expected)",
       CHO},
      {"zero", "0\nk=v\n", "line 4: a frame of zero atoms", CHO},
      {"noelements",
       "1\nk=v\nC 0 0 0\n",
       "line 5: no type column, and no elements to map species to types",
       {}},
  };
  for (const auto &c : cases) {
    SCOPED_TRACE(c.name);
    const std::string first = frame_text(1, P);    // lines 1-3
    const std::string after = frame_text(3, "after=1");
    auto path = dir.file(c.name + ".xyz", first + c.bad + after);
    NVDynXYZReader r({path}, c.elements, 3);
    NVDynXYZFrame f;
    if (c.name == "noelements") {
      expect_error(r, f, "source file '" + path + "', frame 1, line 2: no type column", false);
    } else {
      ASSERT_TRUE(r.next(f));
    }
    try {
      r.next(f);
      ADD_FAILURE() << "no error";
    } catch (const NVDynXYZError &e) {
      EXPECT_EQ(e.message(), "source file '" + path + "', frame 2, " + c.message);
      EXPECT_FALSE(e.fatal);
      EXPECT_EQ(e.frame, 2);
      // what of the frame is filled: where it is, its count and its info
      EXPECT_EQ(f.index, 1);
      EXPECT_EQ(f.file, 0);
      EXPECT_EQ(f.frame, 2);
      EXPECT_EQ(f.line, 4);
      EXPECT_EQ(f.offset, (int64_t) first.size());
      EXPECT_EQ(f.natoms, std::stoi(c.bad));
      EXPECT_EQ(info_value(f, "k"), "v");
      EXPECT_TRUE(f.type.empty() && f.x.empty() && f.v.empty() && f.mass.empty());
    }
    if (c.name == "noelements") continue;
    // reading goes on: the next frame, whole, with the next index
    ASSERT_TRUE(r.next(f));
    EXPECT_EQ(f.index, 2);
    EXPECT_EQ(f.frame, 3);
    EXPECT_EQ(f.offset, (int64_t) (first + c.bad).size());
    EXPECT_EQ(f.natoms, 3);
    EXPECT_EQ(f.type, (std::vector<int>{1, 1, 1}));
    EXPECT_EQ(f.x, (std::vector<double>{0, 0, 0, 1, 0.5, -1, 2, 1, -2}));
    EXPECT_EQ(info_value(f, "after"), "1");
    EXPECT_FALSE(r.next(f));
  }
}

/* ---------------------------------------------------------------------- */

// 20000 frames read one at a time: the reader keeps no per-frame record,
// so the last frame is as reachable as the first, by next() and read_at()
TEST(XYZReader, ManyFrames)
{
  TempDir dir;
  constexpr int N = 20000;
  std::string path = dir.path + "/many.xyz";
  {
    std::ofstream out(path, std::ios::binary);
    for (int k = 0; k < N; k++)
      out << 1 + k % 3 << "\nid=" << k << "\n"
          << "C " << k << " 0.25 -1\n"
          << (k % 3 >= 1 ? "H 1 2 3\n" : "") << (k % 3 == 2 ? "O 4 5 6\n" : "");
  }
  NVDynXYZReader r({path}, CHO, 3);
  NVDynXYZFrame f;
  NVDynXYZReader::Position last;
  int n = 0;
  int64_t line = 1;
  while (true) {
    auto p = r.tell();
    if (!r.next(f)) break;
    ASSERT_EQ(f.index, n);
    ASSERT_EQ(f.line, line);
    ASSERT_EQ(f.natoms, 1 + n % 3);
    ASSERT_EQ(f.x[0], (double) n);
    line += f.natoms + 2;
    if (n == N - 1) last = p;
    n++;
  }
  EXPECT_EQ(n, N);
  EXPECT_EQ(last.index, N - 1);
  auto g = r.read_at(last);
  EXPECT_EQ(g.index, N - 1);
  EXPECT_EQ(info_value(g, "id"), std::to_string(N - 1));
  EXPECT_EQ(g.x, f.x);
  r.seek(last);
  ASSERT_TRUE(r.next(f));
  EXPECT_EQ(f.index, N - 1);
  EXPECT_FALSE(r.next(f));
}
