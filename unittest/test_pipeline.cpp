// The partition pipeline (run_style nvpipeline split across -partition):
// one input for every partition; the first reads the source and relaxes,
// the others run the MD stages of the samples handed on to them, the last
// writes the sink. The sink holds what a single-partition run of the same
// input writes; a one-sample link makes upstream wait, losing nothing; an
// error on one partition stops every partition with it.
// ctest: pipeline_np1 (one partition: split runs every stage; the errors
// of the arguments), pipeline_np2 (2 partitions of 1 rank), pipeline_np4
// (3 partitions: 1, 2 and 1 ranks); pipeline_kk_np2 and _np4 with fix
// nvdyn/kk and run_style nvpipeline/kk.
#include "source_frames.h"

#include "universe.h"

#include <fstream>
#include <iterator>

namespace {

// with NVDYN_TEST_PIPELINE_KOKKOS set, -k on t N -sf kk (fix nvdyn/kk,
// run_style nvpipeline/kk; ctest pipeline_kk_np*)
std::vector<std::string> run_args()
{
  return getenv("NVDYN_TEST_PIPELINE_KOKKOS") ? kokkos_args() : std::vector<std::string>{};
}

// the partitions of this MPI run: 2 ranks: 2 of 1; 4 ranks: 1, 2 and 1
// (LAMMPS wants an input file with partitions: the test gives its
// commands one by one)
std::vector<std::string> partition_args()
{
  std::vector<std::string> args = run_args();
  const int n = mpi_size();
  if (n == 2) args.insert(args.end(), {"-in", "/dev/null", "-partition", "2x1"});
  if (n == 4) args.insert(args.end(), {"-in", "/dev/null", "-partition", "1", "2", "1"});
  return args;
}

int nparts()
{
  const int n = mpi_size();
  return n == 2 ? 2 : n == 4 ? 3 : 1;
}

// the split of relax | heat prod over this run's partitions
std::string split()
{
  return nparts() == 3 ? "split relax | heat | prod" : "split relax | heat prod";
}

// rank 0 of the whole MPI run holds the sink's frames when the run is over
// (the last partition wrote it)
std::map<long, Out> sink_frames(const std::string &path, int *repeats)
{
  MPI_Barrier(MPI_COMM_WORLD);
  std::map<long, Out> out;
  *repeats = 0;
  if (world_rank() == 0) out = read_sink(path, repeats);
  return out;
}

std::string slurp(const std::string &path)
{
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// the input: mixed LJ clusters relaxed, heated (Langevin, velocities drawn
// on entry), then NVE for `prod` steps; `extra`: run_style arguments
std::vector<std::string> workflow(const std::string &src, const std::string &sink,
                                  const std::string &budget, const std::string &extra,
                                  int prod = 150)
{
  std::vector<std::string> cmds = empty_box(60.0, "atomic");
  cmds.insert(cmds.end(),
              {"fix nv all nvdyn source " + src + " elements Ar " + budget +
                   " stage relax fire until fmax 1e-4 every 5 maxsteps 20000"
                   " stage heat langevin 0.1 0.5 4928 velocity 0.1 77 until steps 100"
                   " stage prod nve until steps " +
                   std::to_string(prod) + " sink " + sink,
               "run_style nvpipeline " + extra, "run 10000000"});
  return cmds;
}

// positions relative to the first atom's (a handed-on sample is translated)
std::vector<double> relative(const std::vector<double> &x)
{
  std::vector<double> r(x.size());
  for (size_t i = 0; i < x.size(); i++) r[i] = x[i] - x[i % 3];
  return r;
}

// the sinks of a single-partition run and of a pipeline (rank 0): the same
// n frames, each once, with the same outcomes, names and steps per stage,
// and the same structures to 1e-10 (positions relative to the first atom)
void expect_same_sinks(const std::string &one, const std::string &many, size_t n)
{
  int r1 = 0, r2 = 0;
  const auto a = sink_frames(one, &r1), b = sink_frames(many, &r2);
  if (world_rank() != 0) return;
  EXPECT_EQ(r1, 0);
  EXPECT_EQ(r2, 0);
  ASSERT_EQ(a.size(), n);
  ASSERT_EQ(b.size(), n);
  double worst = 0.0;
  for (const auto &[index, f] : a) {
    const Out &g = b.at(index);
    for (const char *key : {"outcome", "reason", "stage_steps", "name", "template"})
      if (f.keys.count(key))
        EXPECT_EQ(g.keys.at(key), f.keys.at(key)) << key << ", frame " << index;
    ASSERT_EQ(g.x.size(), f.x.size()) << index;
    const double d = max_rel_diff(relative(g.x), relative(f.x));
    worst = std::max(worst, d);
    EXPECT_LE(d, 1e-10) << "frame " << index;
  }
  EXPECT_EQ(a.begin()->second.keys.at("outcome"), "done");
  std::cout << "[          ] largest difference of relative positions: " << worst << "\n";
}

}    // namespace

// 300 clusters of 3 to 13 atoms through relax | heat prod on the
// partitions of this run and on one partition (every rank): the same
// frames, outcomes and steps per stage, structures equal to 1e-10; a frame
// that fails in relax and one that never goes in are in the last
// partition's sink as failed.
TEST(Pipeline, SameAsOnePartition)
{
  if (nparts() < 2) GTEST_SKIP() << "needs 2 or 4 MPI ranks (2 or 3 partitions)";
  const std::string src = temp_name("pipe.xyz");
  const std::string one = temp_name("pipe_one.xyz"), many = temp_name("pipe_many.xyz");
  auto frames = clusters(300, 17);
  for (int k = 0; k < 3; k++) frames[5].x[3 + k] = frames[5].x[k];    // fails (nan) in relax
  frames[9].species[0] = "Xx";                                        // never goes in
  write_xyz(src, frames);
  {
    Lammps l(run_args());
    l.cmds(workflow(src, one, "atoms 500", split()));
  }
  {
    Lammps l(partition_args());
    l.cmds(workflow(src, many, "atoms 500", split()));
  }
  expect_same_sinks(one, many, 300);
  if (world_rank() == 0) {
    // the frames that failed on the first partition reached the last one's sink
    int repeats = 0;
    const auto out = read_sink(many, &repeats);
    EXPECT_EQ(out.at(5).keys.at("outcome"), "failed");
    EXPECT_EQ(out.at(9).keys.at("outcome"), "failed");
    EXPECT_EQ(out.at(9).keys.at("reason"), "source");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == 0)
    for (const auto &f : {src, one, many}) remove(f.c_str());
}

// Copies of a bonded molecule template through relax | md: downstream
// creates each copy with the template's bonds and angles (the system's
// counts follow the copies in the box on every partition), and the sink is
// that of one partition.
TEST(Pipeline, MoleculeTemplateCarriesTopology)
{
  if (nparts() < 2) GTEST_SKIP() << "needs 2 or 4 MPI ranks (2 or 3 partitions)";
  const std::string mol = temp_name("ptri.mol");
  const std::string one = temp_name("ptri_one.xyz"), many = temp_name("ptri_many.xyz");
  write_text(mol, triatomic_template());
  const std::string stages =
      nparts() == 3 ? "split relax | heat | prod" : "split relax | heat prod";
  for (const std::string &sink : {one, many}) {
    Lammps l(sink == one ? run_args() : partition_args());
    l.cmds(triatomic_box(mol));
    l.cmds({"timestep 0.002",
            "fix nv all nvdyn source molecule tri 40 elements O H samples 6 rotate 5"
            " stage relax fire until fmax 1e-6 every 5 maxsteps 20000"
            " stage heat langevin 0.2 0.5 991 velocity 0.2 13 until steps 100"
            " stage prod nve until steps 100 sink " +
                sink,
            "variable wrong equal (bonds!=2*atoms/3)||(angles!=atoms/3)",
            "fix check all halt 1 v_wrong > 0 error hard", "run_style nvpipeline " + stages,
            "run 1000000"});
  }
  expect_same_sinks(one, many, 40);
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == 0)
    for (const auto &f : {mol, one, many}) remove(f.c_str());
}

// A link of one sample: the relaxing partition is much faster than the MD
// downstream (3000 steps), fills the link and its budget of 4 samples
// with samples that wait for room, and waits (its summary shows time
// blocked on output); every frame still reaches the sink exactly once.
// Each partition writes its own CSV log (FILE.K).
TEST(Pipeline, BackPressureLosesNothing)
{
  if (nparts() < 2) GTEST_SKIP() << "needs 2 or 4 MPI ranks (2 or 3 partitions)";
  const std::string src = temp_name("bp.xyz"), sink = temp_name("bp_sink.xyz");
  const std::string logs = temp_name("bp_log");
  write_xyz(src, clusters(60, 23, 3, 6));
  {
    std::vector<std::string> args = partition_args();
    args.insert(args.end(), {"-plog", logs});
    Lammps l(args);
    auto cmds = workflow(src, sink, "samples 4", split() + " buffer samples 1", 3000);
    for (auto &c : cmds)
      if (c.rfind("fix nv ", 0) == 0) c += " log " + logs + ".csv every 500";
    l.cmds(cmds);
  }
  int repeats = 0;
  const auto out = sink_frames(sink, &repeats);
  if (world_rank() != 0) return;
  EXPECT_EQ(repeats, 0);
  EXPECT_EQ(out.size(), 60u);
  const std::string log0 = slurp(logs + ".0");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(log0, m, std::regex("blocked on output ([0-9.e+-]+) s"))) << log0;
  EXPECT_GT(std::stod(m[1]), 0.0) << "the first partition waited for room downstream";
  EXPECT_NE(log0.find("Pipeline: partition 1 of " + std::to_string(nparts()) +
                      " (relax): 60 "
                      "samples in, 60 handed on"),
            std::string::npos)
      << log0;
  // each partition wrote its own CSV log, FILE.K
  EXPECT_FALSE(std::ifstream(logs + ".csv").good());
  for (int k = 0; k < nparts(); k++) {
    const std::string csv = slurp(logs + ".csv." + std::to_string(k));
    EXPECT_EQ(csv.rfind("step,sample,stage,outcome", 0), 0u) << "partition " << k;
    EXPECT_GT(std::count(csv.begin(), csv.end(), '\n'), 1) << "partition " << k;
  }
  remove(src.c_str());
  remove(sink.c_str());
  for (int k = 0; k < nparts(); k++)
    for (const auto &f : {logs + "." + std::to_string(k), logs + ".csv." + std::to_string(k)})
      remove(f.c_str());
}

// An error on the last partition (fix halt ... error hard, on that
// partition only: a world-style variable) ends the run on every partition:
// each raises it, the others naming the partition it came from.
TEST(Pipeline, ErrorDownstreamStopsAll)
{
  if (nparts() < 2) GTEST_SKIP() << "needs 2 or 4 MPI ranks (2 or 3 partitions)";
  const std::string src = temp_name("err.xyz"), sink = temp_name("err_sink.xyz");
  write_xyz(src, clusters(100, 29));
  std::string message;
  int part = 0;
  {
    Lammps l(partition_args());
    part = l.lmp->universe->iworld;
    std::string limits = nparts() == 3 ? "1000000000 1000000000 40" : "1000000000 40";
    auto cmds = workflow(src, sink, "atoms 300", split());
    cmds.insert(cmds.end() - 2,
                {"variable limit world " + limits, "variable now equal step",
                 "fix stop all halt 1 v_now > ${limit} error hard"});
    try {
      l.cmds(cmds);
    } catch (LAMMPS_NS::LAMMPSException &e) {
      message = e.what();
    }
  }
  if (part == nparts() - 1) {
    EXPECT_NE(message.find("Fix halt condition"), std::string::npos) << message;
  } else {
    EXPECT_NE(message.find("partition " + std::to_string(nparts()) +
                           " of the pipeline stopped with an error: Fix halt condition"),
              std::string::npos)
        << message;
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == 0) {
    remove(src.c_str());
    remove(sink.c_str());
  }
}

// On one partition, split runs every stage: the sink is that of the same
// input without split.
TEST(Pipeline, OnePartitionRunsEveryStage)
{
  if (nparts() > 1) GTEST_SKIP() << "a single-partition run";
  const std::string src = temp_name("single.xyz");
  const std::string a = temp_name("single_a.xyz"), b = temp_name("single_b.xyz");
  write_xyz(src, clusters(40, 31));
  {
    Lammps l(run_args());
    l.cmds(workflow(src, a, "atoms 200", split() + " buffer samples 2 atoms 30"));
  }
  {
    Lammps l(run_args());
    l.cmds(workflow(src, b, "atoms 200", ""));
  }
  if (world_rank() == 0) {
    EXPECT_EQ(slurp(a), slurp(b));
    EXPECT_FALSE(slurp(a).empty());
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == 0)
    for (const auto &f : {src, a, b}) remove(f.c_str());
}

// The error of `run 100` after the workflow's definitions (no sink) and
// `before`, `style` ("" if none)
std::string run_error(const std::vector<std::string> &args, const std::string &src,
                      const std::string &style, const std::string &before = "")
{
  Lammps l(args);
  auto cmds = workflow(src, "", "atoms 100", "");
  cmds.pop_back();
  cmds.pop_back();
  cmds.back().erase(cmds.back().find(" sink "));
  if (!before.empty()) cmds.push_back(before);
  l.cmds(cmds);
  l.cmd(style);
  return l.error_of("run 100");
}

// each run_style command's error holds its message
void expect_errors(const std::vector<std::string> &args,
                   const std::vector<std::pair<std::string, std::string>> &cases,
                   const std::string &before = "")
{
  const std::string src = temp_name("errors.xyz");
  write_xyz(src, clusters(4, 3));
  for (const auto &[style, message] : cases) {
    const std::string got = run_error(args, src, style, before);
    EXPECT_NE(got.find(message), std::string::npos) << style << ": " << got;
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == 0) remove(src.c_str());
}

// The arguments' errors name what is wrong.
TEST(Pipeline, Errors)
{
  if (nparts() > 1) GTEST_SKIP() << "a single-partition run";
  expect_errors(
      {},
      {{"run_style nvpipeline split relax | prod heat",
        "'prod' (partition 2) is not stage 2 of fix nvdyn nv"},
       {"run_style nvpipeline split relax | heat", "split names 2 of the 3 stages of fix nvdyn nv"},
       {"run_style nvpipeline split relax | | heat prod", "split: partition 2 has no stage"},
       {"run_style nvpipeline split relax heat prod buffer samples 0",
        "buffer samples 0: must be >= 1"},
       {"run_style nvpipeline split relax heat prod buffer",
        "buffer needs 'samples N' and/or 'atoms M'"},
       {"run_style nvpipeline splitt relax", "unknown keyword 'splitt'"}});
}

// Across partitions: the errors of a split that does not fit them, of a
// missing split, and of restart files during the run, on every partition.
TEST(Pipeline, ErrorsAcrossPartitions)
{
  if (nparts() < 2) GTEST_SKIP() << "needs 2 or 4 MPI ranks (2 or 3 partitions)";
  const std::string n = std::to_string(nparts());
  const std::string other = nparts() == 3 ? "split relax | heat prod" : "split relax | heat | prod";
  expect_errors(partition_args(),
                {{"run_style nvpipeline", "on " + n + " partitions needs split"},
                 {"run_style nvpipeline " + other,
                  "split has " + std::to_string(5 - nparts()) + " partitions, LAMMPS runs " + n}});
  expect_errors(partition_args(),
                {{"run_style nvpipeline " + split(), "no restart files during the run"}},
                "restart 50 " + temp_name("r"));
}
