// The sink and the log of fix nvdyn: write errors, files in use, whole
// frames, append after a partial frame or from a restart file, species
// names. Sinks are read back with ASE (ase_frames.py). Run by ctest on 1
// and 2 MPI ranks.
#include "lammps_harness.h"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <sys/resource.h>
#include <tuple>

namespace {

bool rank0()
{
  int me = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &me);
  return me == 0;
}

// a file name of this test run (np1 and np2 may run at the same time)
std::string tmp(const std::string &name)
{
  return "nvdyn_out_np" + std::to_string(mpi_size()) + "_" + name;
}

std::string slurp(const std::string &path)
{
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void spit(const std::string &path, const std::string &text)
{
  std::ofstream(path, std::ios::binary) << text;
}

bool exists(const std::string &path)
{
  return std::ifstream(path).good();
}

bool contains(const std::string &text, const std::string &part)
{
  return text.find(part) != std::string::npos;
}

// the output of a shell command, and whether it exited with status 0
std::pair<std::string, bool> run_command(const std::string &command)
{
  FILE *p = popen(command.c_str(), "r");
  if (!p) return {"", false};
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0;) out.append(buf, n);
  return {out, pclose(p) == 0};
}

struct Frame {
  int sample;
  std::string outcome;
  long step;
  std::vector<std::string> species;
  std::vector<double> x;
};

// python3 and unittest/ase_frames.py (two definitions: see CMakeLists.txt)
#define NVDYN_ASE_FRAMES NVDYN_ASE_PYTHON " " NVDYN_ASE_SCRIPT

// The frames of a sink as ASE reads them; false when ASE cannot read it.
bool read_with_ase(const std::string &path, std::vector<Frame> &frames)
{
  auto result = run_command(std::string(NVDYN_ASE_FRAMES) + " " + path);
  frames.clear();
  std::istringstream out(result.first);
  std::string word;
  size_t nframes = 0;
  while (out >> word) {
    if (word == "frames") {
      out >> nframes;
      break;
    }
    Frame f;
    size_t natoms = 0;
    out >> f.sample >> f.outcome >> f.step >> natoms;
    f.species.resize(natoms);
    f.x.resize(3 * natoms);
    for (auto &s : f.species) out >> s;
    for (auto &v : f.x) out >> v;
    frames.push_back(f);
  }
  return result.second && nframes == frames.size();
}

// sample -> how many frames of the sink hold it
std::map<int, int> frame_counts(const std::vector<Frame> &frames)
{
  std::map<int, int> counts;
  for (const auto &f : frames) counts[f.sample]++;
  return counts;
}

// every line ends in a newline and has the 7 fields of a log row
bool whole_rows(const std::string &log)
{
  if (log.empty() || log.back() != '\n') return false;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);)
    if (std::count(line.begin(), line.end(), ',') != 6) return false;
  return true;
}

std::string nve_fix(const std::string &id, const std::string &group, const std::string &files)
{
  return "fix " + id + " " + group + " nvdyn samples molecule stage a nve until steps 5 " + files;
}

}    // namespace

// ---------------------------------------------------------------------------
// Write errors

// A sink write that fails (disk full) is a LAMMPS error naming the file, on
// every rank, not an abort.
TEST(FixNVDynOutput, SinkWriteFailureIsAnError)
{
  Lammps l;
  l.cmds(lj_clusters(2));
  l.cmd(nve_fix("nv", "all", "sink /dev/full"));
  const std::string msg = l.error_of("run 10");
  EXPECT_TRUE(contains(msg,
                       "Fix nvdyn nv: cannot write sink file '/dev/full': No space left on "
                       "device"))
      << msg;
}

// A log whose header cannot be written is an error of the fix command,
// which leaves no fix or group behind.
TEST(FixNVDynOutput, LogWriteFailureIsAnError)
{
  Lammps l;
  l.cmds(lj_clusters(2));
  const int ngroup = l.lmp->group->ngroup;
  const std::string msg = l.error_of(nve_fix("nv", "all", "log /dev/full every 1"));
  EXPECT_TRUE(contains(msg,
                       "Fix nvdyn nv: cannot write log file '/dev/full': No space left on "
                       "device"))
      << msg;
  EXPECT_EQ(l.fix("nv"), nullptr);
  EXPECT_EQ(l.lmp->group->ngroup, ngroup);
}

namespace {
// Runs `command` with the files of rank 0 limited to `limit` bytes (a write
// past it fails with EFBIG); the error message of the run.
std::string error_with_file_limit(Lammps &l, const std::string &command, rlim_t limit)
{
  rlimit old;
  getrlimit(RLIMIT_FSIZE, &old);
  auto old_handler = signal(SIGXFSZ, SIG_IGN);
  if (rank0()) {
    rlimit lim = old;
    lim.rlim_cur = limit;
    setrlimit(RLIMIT_FSIZE, &lim);
  }
  const std::string msg = l.error_of(command);
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, old_handler);
  return msg;
}
}    // namespace

// A write that fails in the middle of a frame or row (the file reached its
// size limit) is an error during the run, and the file is cut back to the
// frames and rows before it: ASE reads every frame written before.
TEST(FixNVDynOutput, FailedWritesLeaveOnlyWholeFramesAndRows)
{
  const std::string sink = tmp("limit.extxyz"), log = tmp("limit.csv");
  {
    Lammps l;
    l.cmds(lj_clusters(6));
    l.cmd("fix nv all nvdyn samples molecule stage relax fire until fmax 1e-3 sink " + sink);
    Fix *fix = l.fix("nv");
    while (fix->compute_vector(1) == 0) l.cmd("run 1 post no");
    const double done = fix->compute_vector(1);
    ASSERT_LT(done, 6) << "some samples are still to be written";
    const size_t size = rank0() ? slurp(sink).size() : 0;
    const std::string msg = error_with_file_limit(l, "run 5000", size + 100);
    EXPECT_TRUE(
        contains(msg, "Fix nvdyn nv: cannot write sink file '" + sink + "': File too large"))
        << msg;
    if (rank0()) {
      EXPECT_EQ(slurp(sink).size(), size) << "the partial frame is cut off";
      std::vector<Frame> frames;
      EXPECT_TRUE(read_with_ase(sink, frames));
      EXPECT_EQ(frames.size(), done);
    }
  }
  {
    Lammps l;
    l.cmds(lj_clusters(6));
    l.cmd(nve_fix("nv", "all", "log " + log + " every 1"));
    l.cmd("run 2");
    const size_t size = rank0() ? slurp(log).size() : 0;
    const std::string msg = error_with_file_limit(l, "run 10", size + 50);
    EXPECT_TRUE(contains(msg, "Fix nvdyn nv: cannot write log file '" + log + "': File too large"))
        << msg;
    if (rank0()) {
      const std::string text = slurp(log);
      EXPECT_EQ(text.size(), size) << "the rows of the failed step are cut off";
      EXPECT_TRUE(whole_rows(text.substr(text.find('\n') + 1))) << text;
    }
  }
  if (rank0()) {
    remove(sink.c_str());
    remove(log.c_str());
  }
}

// ---------------------------------------------------------------------------
// Files in use

// The sink and the log of one fix, or files of two fixes, are never the
// same file, and the checks come before any file is opened or truncated.
TEST(FixNVDynOutput, SinkAndLogOfFixesAreDistinctFiles)
{
  const std::string s1 = tmp("s1.extxyz"), l1 = tmp("l1.csv"), kept = tmp("kept.txt");
  if (rank0()) {
    remove(s1.c_str());
    spit(kept, "keep me\n");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  Lammps l;
  l.cmds(lj_clusters(2));
  const int ngroup = l.lmp->group->ngroup;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"sink " + s1 + " log " + s1 + " every 1", "sink file '" + s1 + "' and log file '" + s1},
      {"sink " + s1 + " log ./" + s1 + " every 1", "sink file '" + s1 + "' and log file './" + s1},
      {"sink " + kept + " log " + kept + " every 1 append yes",
       "sink file '" + kept + "' and log file '" + kept + "' are the same file"},
      {"sink " + kept + " log " + kept + " every 1",
       "sink file '" + kept + "' and log file '" + kept + "' are the same file"}};
  for (const auto &c : cases) {
    const std::string msg = l.error_of(nve_fix("bad", "all", c.first));
    EXPECT_TRUE(contains(msg, "Fix nvdyn bad: " + c.second)) << c.first << "\n  got: " << msg;
    EXPECT_EQ(l.fix("bad"), nullptr);
  }
  EXPECT_EQ(l.lmp->group->ngroup, ngroup);
  if (rank0()) {
    EXPECT_FALSE(exists(s1)) << "no file was created";
    EXPECT_EQ(slurp(kept), "keep me\n") << "no file was truncated";
  }

  // devices are no files in that sense
  EXPECT_EQ(l.error_of(nve_fix("null", "all", "sink /dev/null log /dev/null every 1")), "");
  l.cmds({"run 6", "unfix null"});

  // two fixes
  l.cmd("group one molecule 1");
  l.cmd("group two molecule 2");
  l.cmd(nve_fix("a", "one", "sink " + s1 + " log " + l1 + " every 1"));
  const std::vector<std::pair<std::string, std::string>> shared = {
      {"sink " + s1, "sink file '" + s1 + "' is the sink file of fix nvdyn a"},
      {"log " + s1 + " every 1", "log file '" + s1 + "' is the sink file of fix nvdyn a"},
      {"sink " + l1, "sink file '" + l1 + "' is the log file of fix nvdyn a"},
      {"sink " + kept + " log " + l1 + " every 1",
       "log file '" + l1 + "' is the log file of fix nvdyn a"}};
  for (const auto &c : shared) {
    const std::string msg = l.error_of(
        "fix b two nvdyn samples molecule stage b nve done d2 failed f2 timeout t2 " + c.first);
    EXPECT_TRUE(contains(msg, "Fix nvdyn b: " + c.second)) << c.first << "\n  got: " << msg;
  }
  // a fix that replaces fix a (same ID) takes over its files
  EXPECT_EQ(l.error_of(nve_fix("a", "one", "sink " + s1 + " log " + l1 + " every 1")), "");
  l.cmds({"run 6", "unfix a"});
  if (rank0()) {
    EXPECT_EQ(slurp(kept), "keep me\n");
    std::vector<Frame> frames;
    EXPECT_TRUE(read_with_ase(s1, frames));
    EXPECT_EQ(frame_counts(frames), (std::map<int, int>{{1, 1}}));
    remove(s1.c_str());
    remove(l1.c_str());
    remove(kept.c_str());
  }
}

// Neither file may be the LAMMPS log file or screen output: that file is
// neither truncated nor written to.
TEST(FixNVDynOutput, LammpsLogAndScreenAreNoOutputFiles)
{
  const std::string log = tmp("log.lammps"), screen = tmp("screen.txt");
  for (const auto &use : {std::make_pair(log, "-log"), std::make_pair(screen, "-screen")}) {
    const bool is_log = use.first == log;
    {
      Lammps l({use.second, use.first});
      l.cmds(lj_clusters(2));
      for (const std::string &what : {"sink " + use.first, "log " + use.first + " every 1"}) {
        const std::string msg = l.error_of(nve_fix("nv", "all", what));
        EXPECT_TRUE(contains(msg,
                             "Fix nvdyn nv: " + what.substr(0, what.find(' ')) + " file '" +
                                 use.first + "' is the LAMMPS " +
                                 (is_log ? "log file" : "screen output")))
            << msg;
      }
    }
    if (rank0()) {
      const std::string text = slurp(use.first);
      EXPECT_EQ(text.substr(0, 8), "LAMMPS (") << "not truncated";
      EXPECT_TRUE(contains(text, "is the LAMMPS")) << "the error message came after";
      EXPECT_FALSE(contains(text, "step,sample")) << "no log header in it";
      remove(use.first.c_str());
    }
  }
}

// Neither file may be the input script being read (include, or
// Input::file): LAMMPS would read the frames as commands; the script is
// left as it was.
TEST(FixNVDynOutput, InputScriptIsNoOutputFile)
{
  const std::string script = tmp("in.self");
  const std::string text = "fix nv all nvdyn samples all stage a nve sink " + script + "\n";
  if (rank0()) spit(script, text);
  MPI_Barrier(MPI_COMM_WORLD);
  Lammps l;
  l.cmds(lj_clusters(2));
  std::string msg;
  try {
    l.lmp->input->file(script.c_str());
  } catch (LAMMPS_NS::LAMMPSException &e) {
    msg = e.what();
  }
  EXPECT_TRUE(
      contains(msg, "Fix nvdyn nv: sink file '" + script + "' is the input script being read"))
      << msg;
  msg = l.error_of("include " + script);
  EXPECT_TRUE(contains(msg, "is the input script being read")) << msg;
  EXPECT_EQ(l.fix("nv"), nullptr);
  if (rank0()) {
    EXPECT_EQ(slurp(script), text);
    remove(script.c_str());
  }
}

// ---------------------------------------------------------------------------
// Appending

// A sink and a log cut in the middle of their last frame and row (a run
// killed while writing them) are continued with 'append yes': the partial
// frame and row are dropped with a warning, and ASE reads every frame,
// each sample once. A file that is no sink is not appended to.
TEST(FixNVDynOutput, AppendDropsAPartialLastFrameAndRow)
{
  const std::string sink = tmp("cut.extxyz"), log = tmp("cut.csv"), lmplog = tmp("cut.lammps");
  const std::string notes = tmp("notes.txt");
  size_t partial = 0;    // bytes of the partial frame
  {
    Lammps l({"-log", lmplog});
    l.cmds(lj_clusters(6));
    l.cmds({"group b1 molecule <> 1 3",
            nve_fix("f1", "b1", "sink " + sink + " log " + log + " every 1"), "run 5", "unfix f1"});
    if (rank0()) {
      // cut the sink in the middle of the frame of sample 3 (the last of
      // step 5), and the last row of the log
      const std::string text = slurp(sink);
      const size_t last = text.rfind('\n', text.find("sample=3")) + 1;    // its comment line
      const size_t start = text.rfind('\n', last - 2) + 1;                // its count line
      partial = (text.size() - start) / 2;
      spit(sink, text.substr(0, start + partial));
      const std::string rows = slurp(log);
      spit(log, rows.substr(0, rows.size() - 5));
      std::vector<Frame> frames;
      EXPECT_FALSE(read_with_ase(sink, frames)) << "ASE reads no frame of a cut sink";
      spit(notes, "not a sink\n");
    }
    MPI_Barrier(MPI_COMM_WORLD);
    l.cmds({"group b2 molecule <> 3 6",
            nve_fix("f2", "b2", "sink " + sink + " log " + log + " every 1 append yes"), "run 5",
            "unfix f2"});
    const std::string msg = l.error_of(nve_fix("f3", "b2", "sink " + notes + " append yes"));
    EXPECT_TRUE(contains(msg,
                         "Fix nvdyn f3: cannot append to sink file '" + notes +
                             "': its line 1 should hold the atom count of an extended-XYZ "
                             "frame"))
        << msg;
  }
  if (!rank0()) return;
  std::vector<Frame> frames;
  ASSERT_TRUE(read_with_ase(sink, frames));
  EXPECT_EQ(frame_counts(frames),
            (std::map<int, int>{{1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}, {6, 1}}));
  const std::string rows = slurp(log);
  EXPECT_TRUE(whole_rows(rows.substr(rows.find('\n') + 1))) << rows;
  // a header, 3 samples on steps 1-5 less the cut row, 4 samples on steps 6-10
  EXPECT_EQ(std::count(rows.begin(), rows.end(), '\n'), 1 + 3 * 5 - 1 + 4 * 5);
  const std::string lammps_log = slurp(lmplog);
  EXPECT_TRUE(contains(lammps_log,
                       "Fix nvdyn f2: sink file '" + sink + "' ended in a partial frame: dropped " +
                           std::to_string(partial) + " bytes"))
      << lammps_log;
  EXPECT_TRUE(
      contains(lammps_log, "Fix nvdyn f2: log file '" + log + "' ended in a partial row: dropped "))
      << lammps_log;
  EXPECT_EQ(slurp(notes), "not a sink\n");
  for (const auto &f : {sink, log, lmplog, notes}) remove(f.c_str());
}

// ---------------------------------------------------------------------------
// Restart

namespace {
const char *const workflow = "fix nv all nvdyn samples molecule "
                             "stage relax fire until fmax 1e-4 every 5 maxsteps 5000 "
                             "stage heat langevin 0.2 0.5 977 velocity 0.2 31 until steps 100 "
                             "stage prod nve until steps 80";

const std::vector<std::string> lj_pair = {"pair_style lj/cut 2.5", "pair_coeff 1 1 1.0 1.0 2.5",
                                          "pair_modify shift yes", "neighbor 0.3 bin",
                                          "neigh_modify every 1 delay 0 check yes"};

// rows of a log, minus the header
std::vector<std::string> log_rows(const std::string &path)
{
  std::istringstream in(slurp(path));
  std::vector<std::string> rows;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) rows.push_back(line);
  return rows;
}

// the "step,sample" of each row
std::vector<std::string> row_keys(const std::vector<std::string> &rows)
{
  std::vector<std::string> keys;
  for (const auto &r : rows) keys.push_back(r.substr(0, r.find(',', r.find(',') + 1)));
  return keys;
}
}    // namespace

// A run continued from a periodic restart file with 'append yes' continues
// the sink and the log from where they were when the restart file was
// written: in the end they hold every sample once, as the uninterrupted
// run's do. A sink that has become shorter than it was then is an error.
TEST(FixNVDynOutput, RestartWithAppendContinuesTheSinkOnce)
{
  const int every = 300;    // the restart period
  const std::string sink_ref = tmp("ref.extxyz"), log_ref = tmp("ref.csv");
  const std::string sink = tmp("split.extxyz"), log = tmp("split.csv"), base = tmp("split.");
  const std::string files = " sink " + sink + " log " + log + " every 50";
  double last_step = 0;
  {
    Lammps l;
    l.cmds(lj_clusters(6));
    l.cmds({std::string(workflow) + " sink " + sink_ref + " log " + log_ref + " every 50",
            "run_style nvpipeline", "run 20000"});
  }
  {
    Lammps l;
    l.cmds(lj_clusters(6));
    l.cmds({workflow + files, "restart " + std::to_string(every) + " " + base + "*",
            "run_style nvpipeline", "run 20000"});
    last_step = l.equal("step");
  }
  {
    Lammps l;
    l.cmd("read_restart " + base + std::to_string(every));
    l.cmds(lj_pair);
    l.cmds({workflow + files + " append yes", "run_style nvpipeline", "run 20000 upto"});
    EXPECT_EQ(l.equal("step"), last_step);
  }
  if (rank0()) {
    std::vector<Frame> ref, split;
    ASSERT_TRUE(read_with_ase(sink_ref, ref));
    ASSERT_TRUE(read_with_ase(sink, split));
    EXPECT_EQ(frame_counts(split), frame_counts(ref));
    EXPECT_EQ(frame_counts(ref).size(), 6u);
    std::map<int, Frame> by_sample;
    for (const auto &f : ref) by_sample[f.sample] = f;
    int before = 0;
    for (const auto &f : split) {
      const Frame &r = by_sample[f.sample];
      EXPECT_EQ(f.outcome, r.outcome) << "sample " << f.sample;
      EXPECT_EQ(f.step, r.step) << "sample " << f.sample;
      EXPECT_LE(max_rel_diff(f.x, r.x), 1e-9) << "sample " << f.sample;
      before += f.step <= every;
    }
    EXPECT_GT(before, 0) << "some frames were written before the restart file";
    EXPECT_LT(before, 6) << "some frames were written after it";
    const auto rows_ref = log_rows(log_ref), rows = log_rows(log);
    EXPECT_EQ(row_keys(rows), row_keys(rows_ref));
    EXPECT_EQ(rows.size(), 6u * (size_t) (last_step / 50));
    spit(sink, "");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  {
    Lammps l;
    l.cmd("read_restart " + base + std::to_string(every));
    l.cmds(lj_pair);
    const std::string msg = l.error_of(workflow + files + " append yes");
    EXPECT_TRUE(contains(msg, "Fix nvdyn nv: sink file '" + sink + "' holds 0 bytes, fewer than "))
        << msg;
    EXPECT_TRUE(contains(msg, "when the restart file was written")) << msg;
  }
  if (rank0()) {
    for (const auto &f : {sink_ref, log_ref, sink, log}) remove(f.c_str());
    for (int step = every; step <= last_step; step += every)
      remove((base + std::to_string(step)).c_str());
  }
}

// The fix's record in a restart file is checked: another layout version,
// or lengths that do not match, are errors.
TEST(FixNVDynOutput, CorruptRestartRecordIsAnError)
{
  const std::string good = tmp("good.restart"), bad = tmp("bad.restart");
  {
    Lammps l;
    l.cmds(lj_clusters(2));
    l.cmds({nve_fix("nv", "all", ""), "run 2", "write_restart " + good});
  }
  // offsets from the magic string: version, length of the data, then the
  // data: samples, stages, engine state size, ...
  const std::vector<std::tuple<size_t, int64_t, std::string>> patches = {
      {8, 1, "the restart file holds no fix nvdyn record of layout version 6"},
      {16, -8, "the fix's record in the restart file is corrupt"},
      {40, 1000, "the fix's record in the restart file is corrupt"},
      {40, -1000, "the fix's record in the restart file is corrupt"}};
  for (const auto &p : patches) {
    if (rank0()) {
      std::string bytes = slurp(good);
      const size_t at = bytes.find("NVDYNRST") + std::get<0>(p);
      ASSERT_NE(at, std::string::npos + std::get<0>(p));
      int64_t value;
      memcpy(&value, &bytes[at], sizeof(value));
      value += std::get<1>(p);
      memcpy(&bytes[at], &value, sizeof(value));
      spit(bad, bytes);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    Lammps l;
    l.cmd("read_restart " + bad);
    const std::string msg = l.error_of(nve_fix("nv", "all", ""));
    EXPECT_TRUE(contains(msg, "Fix nvdyn nv: " + std::get<2>(p)))
        << "patch at " << std::get<0>(p) << ": " << msg;
  }
  if (rank0()) {
    remove(good.c_str());
    remove(bad.c_str());
  }
}

// ---------------------------------------------------------------------------
// Species

// elements takes chemical symbols (as ASE writes them) and X, and nothing
// else: a sink with every one of them is read by ASE with those species.
TEST(FixNVDynOutput, ElementsAreChemicalSymbols)
{
  {
    Lammps l;
    l.cmds({"units lj", "region box block 0 10 0 10 0 10", "create_box 2 box", "mass * 1.0",
            "create_atoms 1 single 5 5 5", "create_atoms 2 single 6 5 5"});
    for (const std::string bad : {"CA", "CB", "ca", "Xx", "Ar1", "A", "Uue", "D", "x", "He-"}) {
      for (const std::string &list : {bad + " Ar", "Ar " + bad}) {
        const std::string msg =
            l.error_of("fix bad all nvdyn samples all stage a nve sink /dev/null elements " + list);
        EXPECT_TRUE(contains(msg, "elements: '" + bad + "' is not a chemical symbol")) << msg;
      }
    }
  }
  std::string symbols;
  if (rank0()) {
    auto result = run_command(std::string(NVDYN_ASE_FRAMES) + " --symbols");
    ASSERT_TRUE(result.second);
    symbols = result.first.substr(0, result.first.find('\n'));
  }
  int n = (int) symbols.size();
  MPI_Bcast(&n, 1, MPI_INT, 0, MPI_COMM_WORLD);
  symbols.resize(n);
  MPI_Bcast(&symbols[0], n, MPI_CHAR, 0, MPI_COMM_WORLD);
  std::vector<std::string> names;
  std::istringstream in(symbols);
  for (std::string s; in >> s;) names.push_back(s);
  ASSERT_EQ(names.size(), 119u) << "X and H to Og";

  const std::string sink = tmp("species.extxyz");
  {
    Lammps l;
    l.cmds({"units lj", "region box block 0 240 0 10 0 10", "create_box 119 box", "mass * 1.0",
            "pair_style zero 1.0", "pair_coeff * *"});
    for (int t = 1; t <= 119; t++)
      l.cmd("create_atoms " + std::to_string(t) + " single " + std::to_string(2 * t) + " 5 5");
    l.cmds({"fix nv all nvdyn samples all stage a nve until steps 1 sink " + sink + " elements " +
                symbols,
            "run 1"});
  }
  if (rank0()) {
    std::vector<Frame> frames;
    ASSERT_TRUE(read_with_ase(sink, frames));
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].species, names);
    remove(sink.c_str());
  }
}

// ---------------------------------------------------------------------------
// Energies of samples that finish on steps without per-atom energies

namespace {

// the lines of a sink, the energy of each comment line taken out into
// `energies` (frame by frame)
std::vector<std::string> sink_lines(const std::string &path, std::vector<double> &energies)
{
  std::vector<std::string> lines;
  std::istringstream in(slurp(path));
  for (std::string line; std::getline(in, line);) {
    const size_t at = line.find(" energy=");
    if (at != std::string::npos) {
      const size_t end = line.find(' ', at + 1);
      energies.push_back(std::stod(line.substr(at + 8, end - at - 8)));
      line.erase(at, end - at);
    }
    lines.push_back(line);
  }
  return lines;
}

}    // namespace

// An fmax-only stage asks LAMMPS for no per-atom energies on its check
// steps: a sample finishing there gets its energy on the next step (its
// atoms have not moved), or, when the run ends with it, from the run
// style's final tally. Its frame and the per-sample array then hold the
// energy that a run tallying energies on every step (a log every step)
// writes, to 1e-10, and everything else bitwise; under run_style
// nvpipeline (early end), verlet (several runs, samples finishing on
// their last steps) and verlet ended by fix halt when no sample is active.
TEST(FixNVDynOutput, SinkEnergiesWithoutTallyOnEveryStep)
{
  for (const std::string style : {"nvpipeline", "verlet", "halt"}) {
    std::vector<std::string> lines[2];
    std::vector<double> energies[2], array[2];
    for (int tally = 0; tally < 2; tally++) {
      const std::string sink = tmp("lazy_" + std::to_string(tally) + ".extxyz");
      const std::string log = tmp("lazy.csv");
      {
        Lammps l;
        l.cmds(lj_clusters(6));
        l.cmd("fix nv all nvdyn samples molecule stage relax fire until fmax 1e-3 maxsteps "
              "5000 sink " +
              sink + (tally ? " log " + log + " every 1" : ""));
        if (style == "nvpipeline") {
          l.cmds({"run_style nvpipeline", "run 100000"});
        } else if (style == "halt") {
          l.cmds({"variable active equal f_nv[1]",
                  "fix stop all halt 3 v_active == 0 error continue", "run 100000"});
        } else {
          // the samples finish between step 100 and 400: some on the last
          // step of a run
          for (int k = 0; k < 40 && l.equal("f_nv[1]") > 0; k++) l.cmd("run 10");
        }
        EXPECT_EQ(l.equal("f_nv[2]"), 6) << style;
        for (int s = 1; s <= 6; s++)
          array[tally].push_back(l.equal("f_nv[" + std::to_string(s) + "][4]"));
      }
      if (rank0()) lines[tally] = sink_lines(sink, energies[tally]);
      if (rank0()) {
        remove(sink.c_str());
        remove(log.c_str());
      }
    }
    for (int s = 0; s < 6; s++)
      EXPECT_NEAR(array[0][s], array[1][s], 1e-10 * std::fabs(array[1][s])) << style << s;
    if (!rank0()) continue;
    EXPECT_EQ(lines[0], lines[1]) << style;
    ASSERT_EQ(energies[0].size(), 6u) << style;
    ASSERT_EQ(energies[1].size(), 6u) << style;
    for (size_t k = 0; k < 6; k++) {
      EXPECT_TRUE(std::isfinite(energies[0][k])) << style << k;
      EXPECT_NEAR(energies[0][k], energies[1][k], 1e-10 * std::fabs(energies[1][k])) << style;
    }
  }
}
