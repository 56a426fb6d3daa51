// Streaming samples (fix nvdyn source): frames of extended-XYZ files go
// into an empty box under an atom and sample budget, are relaxed, written
// to the sink and deleted, their space refilled. Every frame leaves exactly
// once with its outcome and info keys; the budget holds at every step; a
// sample's result does not depend on the batch it ran in nor on the number
// of ranks; an escaping or NaN sample fails alone and its space is
// refilled; malformed frames fail with the file, frame and line, or stop
// the run with an error naming them. Runs on any number of ranks (ctest:
// fix_nvdyn_stream_np1, _np2, and fix_nvdyn_stream_ranks on 3).
#include "source_frames.h"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <sstream>
#include <unistd.h>

namespace {

// the command line of the test's LAMMPS: with NVDYN_TEST_STREAM_KOKKOS
// set, -k on t N -sf kk (fix nvdyn/kk, run_style nvpipeline/kk; ctest
// fix_nvdyn_stream_kk_np*)
std::vector<std::string> run_args()
{
  return getenv("NVDYN_TEST_STREAM_KOKKOS") ? kokkos_args() : std::vector<std::string>{};
}

}    // namespace

// 2000 frames of 3 to 13 atoms through a budget of a tenth of them (200
// samples, a tenth of their atoms): the sink holds each frame exactly
// once, done, with its info keys; the system never holds more atoms than
// the budget (fix halt ends the run with an error if it does).
TEST(Stream, EveryFrameOnceUnderTheBudget)
{
  const std::string src = temp_name("mixed.xyz"), sink = temp_name("mixed_sink.xyz");
  const auto frames = clusters(2000, 7);
  int64_t total = 0;
  for (const auto &f : frames) total += (int64_t) f.species.size();
  const int64_t budget = total / 10;
  write_xyz(src, frames);
  Lammps l(run_args());
  l.cmds(empty_box(80.0));
  l.cmds({"fix nv all nvdyn source " + src + " elements Ar atoms " + std::to_string(budget) +
              " samples 200 stage relax fire until fmax 1e-2 every 5 maxsteps 5000 sink " + sink,
          "variable over equal atoms>" + std::to_string(budget),
          "fix cap all halt 1 v_over > 0 error hard", "run_style nvpipeline", "run 1000000"});
  EXPECT_LT(l.equal("step"), 1000000) << "the run ended when the source was exhausted";
  EXPECT_EQ(l.equal("f_nv[2]"), 2000.0) << "done: the global vector counts deleted samples too";
  EXPECT_EQ(l.equal("f_nv[3] + f_nv[4]"), 0.0);
  if (world_rank() != 0) return;
  int repeats = 0;
  auto out = read_sink(sink, &repeats);
  EXPECT_EQ(repeats, 0);
  ASSERT_EQ(out.size(), frames.size());
  long k = 0;
  for (const auto &[index, f] : out) {
    ASSERT_EQ(index, k++);
    EXPECT_EQ(f.keys.at("outcome"), "done") << "frame " << index;
    EXPECT_EQ(f.keys.at("name"), "c" + std::to_string(index));
    EXPECT_EQ(f.keys.at("label"), "\"cluster " + std::to_string(index) + "\"");
    EXPECT_EQ(f.x.size(), frames[index].x.size()) << "frame " << index;
  }
  remove(src.c_str());
  remove(sink.c_str());
}

// Each frame relaxed in a refilled batch (8 samples at a time) ends with
// the structure it has relaxed alone (samples 1: one at a time), to 1e-10
// in every interatomic distance. FIRE to fmax 1e-10: the structures are
// the minima, whatever the frames' placements (placed elsewhere, a frame's
// positions round differently: at fmax 1e-10, the forces' rounding level,
// it may take one check more or less).
TEST(Stream, BatchEqualsAlone)
{
  const std::string src = temp_name("alone.xyz");
  write_xyz(src, clusters(40, 11));
  std::map<long, Out> runs[2];
  for (int alone = 0; alone < 2; alone++) {
    const std::string sink = temp_name("alone_sink" + std::to_string(alone) + ".xyz");
    Lammps l(run_args());
    l.cmds(empty_box(40.0));
    l.cmds({"fix nv all nvdyn source " + src + " elements Ar samples " + (alone ? "1" : "8") +
                " stage relax fire until fmax 1e-10 every 5 maxsteps 20000 sink " + sink,
            "run_style nvpipeline", "run 1000000"});
    if (world_rank() == 0) {
      int repeats = 0;
      runs[alone] = read_sink(sink, &repeats);
      remove(sink.c_str());
    }
  }
  if (world_rank() != 0) return;
  ASSERT_EQ(runs[0].size(), 40u);
  ASSERT_EQ(runs[1].size(), 40u);
  for (const auto &[index, f] : runs[0]) {
    const Out &g = runs[1].at(index);
    EXPECT_EQ(f.keys.at("outcome"), "done");
    const auto a = distances(f.x), b = distances(g.x);
    double worst = 0.0;
    for (size_t k = 0; k < a.size(); k++) worst = std::max(worst, std::fabs(a[k] - b[k]));
    EXPECT_LE(worst, 1e-10) << "frame " << index;
  }
  remove(src.c_str());
}

// The same stream on 1, 2 and 3 ranks (run on 3 ranks: ctest
// fix_nvdyn_stream_ranks): the same outcomes and steps per frame, structures equal
// to 1e-10 (sums over ranks round differently).
TEST(Stream, SameOnOneTwoAndThreeRanks)
{
  if (mpi_size() < 3) GTEST_SKIP() << "needs 3 MPI ranks";
  const std::string src = temp_name("ranks.xyz");
  write_xyz(src, clusters(120, 5));
  std::vector<std::map<long, Out>> runs;
  for (int nranks = 1; nranks <= 3; nranks++) {
    const std::string sink = temp_name("ranks_sink" + std::to_string(nranks) + ".xyz");
    MPI_Comm comm;
    MPI_Comm_split(MPI_COMM_WORLD, world_rank() < nranks ? 0 : MPI_UNDEFINED, world_rank(), &comm);
    if (comm != MPI_COMM_NULL) {
      try {
        Lammps l(run_args(), true, comm);
        l.cmds(empty_box(30.0));
        l.cmds({"fix nv all nvdyn source " + src +
                    " elements Ar atoms 150 stage relax fire until fmax 1e-4 every 5 maxsteps "
                    "20000 stage md langevin 0.1 0.5 4242 until steps 100 sink " +
                    sink,
                "run_style nvpipeline", "run 1000000"});
      } catch (std::exception &e) {
        ADD_FAILURE() << nranks << " ranks: " << e.what();
      }
      MPI_Comm_free(&comm);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (world_rank() == 0) {
      int repeats = 0;
      runs.push_back(read_sink(sink, &repeats));
      EXPECT_EQ(repeats, 0);
      remove(sink.c_str());
    }
  }
  if (world_rank() != 0) return;
  remove(src.c_str());
  ASSERT_EQ(runs[0].size(), 120u);
  for (int r = 1; r < 3; r++) {
    ASSERT_EQ(runs[r].size(), 120u) << r + 1 << " ranks";
    for (const auto &[index, f] : runs[0]) {
      const Out &g = runs[r].at(index);
      EXPECT_EQ(g.keys.at("outcome"), f.keys.at("outcome")) << index;
      EXPECT_EQ(g.keys.at("stage_steps"), f.keys.at("stage_steps")) << index;
      EXPECT_LE(max_rel_diff(g.x, f.x), 1e-10) << r + 1 << " ranks, frame " << index;
    }
  }
}

// In a refilled batch, a frame whose atom is shot off (a velocity of 20)
// fails as escaped, one with two atoms on top of each other fails (its
// forces are not finite), alone; every other frame is done, and frames
// after them still go in (their space is refilled).
TEST(Stream, EscapeAndNaNFailAlone)
{
  const std::string src = temp_name("faults.xyz"), sink = temp_name("faults_sink.xyz");
  auto frames = clusters(30, 3, 4, 6);
  for (auto &f : frames) f.v.assign(f.x.size(), 0.0);
  frames[4].v[0] = 20.0;                                              // escapes
  for (int k = 0; k < 3; k++) frames[9].x[3 + k] = frames[9].x[k];    // atoms 1 and 2 coincide
  write_xyz(src, frames);
  Lammps l(run_args());
  l.cmds(empty_box(30.0));
  l.cmds({"fix nv all nvdyn source " + src +
              " elements Ar samples 4 stage md nve until steps 200 sink " + sink,
          "run_style nvpipeline", "run 1000000"});
  if (world_rank() != 0) return;
  int repeats = 0;
  auto out = read_sink(sink, &repeats);
  EXPECT_EQ(repeats, 0);
  ASSERT_EQ(out.size(), 30u);
  for (const auto &[index, f] : out) {
    const std::string expected = index == 4 ? "failed" : index == 9 ? "failed" : "done";
    EXPECT_EQ(f.keys.at("outcome"), expected) << "frame " << index;
  }
  EXPECT_EQ(out[4].keys.at("reason"), "escaped");
  EXPECT_TRUE(out[9].keys.at("reason") == "nan" || out[9].keys.at("reason") == "unstable")
      << out[9].keys.at("reason");
  remove(src.c_str());
  remove(sink.c_str());
}

// A stream split by restart files: the run continued from a periodic
// restart file written mid-stream (with samples in flight, frames waiting
// in the window, others not read yet) and 'append yes' writes the sink
// that the whole run writes: every frame once, with the same outcomes and
// stage steps, positions to 1e-10 (a restart file orders the atoms
// otherwise: per-sample sums add up in another order); also from an
// earlier one of the restart files, after the whole run went on past it.
TEST(Stream, RestartLosesAndRepeatsNothing)
{
  const std::string src = temp_name("restart.xyz"), sink = temp_name("restart_sink.xyz"),
                    base = temp_name("restart.");
  write_xyz(src, clusters(150, 13));
  const std::vector<std::string> fix = {
      "fix nv all nvdyn source " + src +
          " elements Ar atoms 200 window 8 stage relax fire until fmax 1e-3 every 10 maxsteps "
          "5000 stage md langevin 0.1 0.5 77 until steps 150 sink " +
          sink + " append yes",
      "restart 700 " + base + "*", "run_style nvpipeline"};
  std::string whole;
  {
    if (world_rank() == 0) remove(sink.c_str());
    Lammps l(run_args());
    l.cmds(empty_box(40.0));
    l.cmds(fix);
    l.cmd("run 1000000");
    EXPECT_GT(l.equal("step"), 2100) << "the run outlasts three restart files";
  }
  if (world_rank() == 0) {
    std::ifstream in(sink);
    whole.assign(std::istreambuf_iterator<char>(in), {});
  }
  int repeats = 0;
  const auto ref = world_rank() == 0 ? read_sink(sink, &repeats) : std::map<long, Out>();
  ASSERT_EQ(repeats, 0);
  for (const char *step : {"1400", "700"}) {
    write_text(sink, whole);    // as the whole run left it
    {
      Lammps l(run_args());
      l.cmds({"read_restart " + base + step});
      l.cmds(lj_cluster_potential());
      l.cmds({"bond_style zero", "bond_coeff 1"});
      l.cmds(fix);
      l.cmd("run 1000000");
    }
    if (world_rank() != 0) continue;
    auto out = read_sink(sink, &repeats);
    EXPECT_EQ(repeats, 0) << "from step " << step;
    ASSERT_EQ(out.size(), 150u) << "from step " << step;
    for (const auto &[index, f] : ref) {
      const Out &g = out.at(index);
      EXPECT_EQ(g.keys.at("outcome"), f.keys.at("outcome")) << index;
      EXPECT_EQ(g.keys.at("stage_steps"), f.keys.at("stage_steps")) << index;
      EXPECT_LE(max_rel_diff(g.x, f.x), 1e-10) << "from step " << step << ", frame " << index;
    }
  }
  if (world_rank() != 0) return;
  for (int step = 700; step <= 100 * 700; step += 700)
    remove((base + std::to_string(step)).c_str());
  remove(src.c_str());
  remove(sink.c_str());
}

// A molecule template as the source: 60 copies of a bonded triatomic
// (bonds, an angle, special neighbors), rotated at random, 8 at a time:
// each copy once in the sink (key template=tri), all at the same minimum
// (energy to 1e-10), and the system's bond and angle counts those of the
// copies in the box at every step (the thermo output would show a
// mismatch; here: at the end).
TEST(Stream, MoleculeTemplateCopies)
{
  const std::string mol = temp_name("tri.mol"), sink = temp_name("tri_sink.xyz");
  write_text(mol, triatomic_template());
  Lammps l(run_args());
  l.cmds(triatomic_box(mol));
  l.cmds({"fix nv all nvdyn source molecule tri 60 elements O H samples 8 rotate 5 stage relax "
          "fire until fmax 1e-6 every 5 maxsteps 20000 sink " +
              sink,
          "run_style nvpipeline", "run 1000000"});
  EXPECT_EQ(l.equal("f_nv[2]"), 60.0);
  const double live = l.equal("atoms") / 3.0;
  EXPECT_EQ(l.equal("bonds"), 2.0 * live);
  EXPECT_EQ(l.equal("angles"), live);
  if (world_rank() != 0) return;
  int repeats = 0;
  auto out = read_sink(sink, &repeats);
  EXPECT_EQ(repeats, 0);
  ASSERT_EQ(out.size(), 60u);
  const double e0 = std::stod(out.at(0).keys.at("energy"));
  for (const auto &[index, f] : out) {
    EXPECT_EQ(f.keys.at("outcome"), "done") << index;
    EXPECT_EQ(f.keys.at("template"), "tri") << index;
    EXPECT_NEAR(std::stod(f.keys.at("energy")), e0, 1e-10) << index;
  }
  remove(mol.c_str());
  remove(sink.c_str());
}

// Malformed frames the run can go past are in the sink as failed, with the
// file, frame and line of the problem; every good frame is done.
TEST(Stream, BadFramesFailWithFileFrameLine)
{
  const std::string src = temp_name("bad.xyz"), sink = temp_name("bad_sink.xyz");
  write_text(
      src,
      "2\nname=ok0\nAr 0 0 0\nAr 1.1 0 0\n"         // 0 good
      "2\nname=species\nAr 0 0 0\nXx 1.1 0 0\n"     // 1 unknown species
      "2\nname=number\nAr 0 0 0\nAr 1.1 abc 0\n"    // 2 not a number
      "2\nname=cell Lattice=\"9 0 0 0 9 0 0 0 9\" pbc=\"T T T\"\nAr 0 0 0\nAr 1.1 0 0\n"
      "40\nname=large\n" +
          [] {    // 4 beyond the budget
            std::string s;
            for (int i = 0; i < 40; i++) s += "Ar " + std::to_string(1.1 * i) + " 0 0\n";
            return s;
          }() +
          "2\nname=ok5\nAr 0 0 0\nAr 1.1 0 0\n");    // 5 good
  Lammps l(run_args());
  l.cmds(empty_box(30.0));
  l.cmds({"fix nv all nvdyn source " + src +
              " elements Ar atoms 20 stage relax fire until fmax 1e-3 sink " + sink,
          "run_style nvpipeline", "run 100000"});
  if (world_rank() != 0) return;
  int repeats = 0;
  auto out = read_sink(sink, &repeats);
  ASSERT_EQ(out.size(), 6u);
  const char *errors[6] = {nullptr,
                           "frame 2, line 8, column 1 (species): unknown species 'Xx'",
                           "frame 3, line 12, column 3 (pos): 'abc' is not a number",
                           "frame 4, line 14: a periodic cell",
                           "40 atoms: more than the atom budget (atoms 20)",
                           nullptr};
  for (int k = 0; k < 6; k++) {
    const Out &f = out.at(k);
    EXPECT_EQ(f.keys.at("outcome"), errors[k] ? "failed" : "done") << k;
    if (!errors[k]) continue;
    EXPECT_EQ(f.keys.at("reason"), "source");
    EXPECT_NE(f.keys.at("error").find(errors[k]), std::string::npos) << f.keys.at("error");
    if (k < 4)
      EXPECT_NE(f.keys.at("error").find("source file '" + src + "'"), std::string::npos)
          << f.keys.at("error");
  }
  remove(src.c_str());
  remove(sink.c_str());
}

// A source whose structure is broken stops the run with an error naming
// the file, frame and line; keywords out of place are errors that name
// them.
TEST(Stream, Errors)
{
  const std::string src = temp_name("broken.xyz");
  write_text(src, "2\nname=a\nAr 0 0 0\nAr 1.1 0 0\n3\nname=b\nAr 0 0 0\nAr 1.1 0 0\n");
  {
    Lammps l(run_args());
    l.cmds(empty_box(30.0));
    l.cmd("fix nv all nvdyn source " + src + " elements Ar atoms 20 stage relax fire");
    const std::string e = l.error_of("run 100");
    EXPECT_NE(e.find("source file '" + src + "', frame 2, line 5: atom count mismatch"),
              std::string::npos)
        << e;
  }
  Lammps l(run_args());
  l.cmds(empty_box(30.0));
  const std::string fix = "fix nv all nvdyn source " + src + " elements Ar stage relax fire";
  EXPECT_NE(l.error_of(fix).find("source needs a budget: atoms N and/or samples N"),
            std::string::npos);
  EXPECT_NE(l.error_of(fix + " atoms 10 escape 1.0").find("use margin instead of escape"),
            std::string::npos);
  EXPECT_NE(l.error_of("fix nv all nvdyn source missing.xyz elements Ar atoms 9 stage r fire")
                .find("missing.xyz"),
            std::string::npos);
  EXPECT_NE(l.error_of("fix nv all nvdyn samples all atoms 10 stage relax fire")
                .find("atoms is used only with source"),
            std::string::npos);
  remove(src.c_str());
}
