// fix nvdyn/kk (the KOKKOS variant, picked by -sf kk) against fix nvdyn
// (the host fix, under "suffix off") in the same -k on t N -sf kk runs
// (N: NVDYN_TEST_KOKKOS_THREADS): the same pair style, so the same forces,
// and the device driver calls the kernels' functions in the host driver's
// order, each per-sample sum added by one thread: on any number of threads
// positions, velocities and every per-sample value are bitwise those of
// the host fix, for every stage style, with stage hand-overs, outcomes, a
// sample failing on an infinite force, hooks and restarts, on any number of
// MPI ranks. Skipped without KOKKOS.
#include "lammps_harness.h"

#include "nvdyn.h"
#include "update.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace {

// The commands of a batch, with the pair style on the host when Kokkos
// runs more than one thread (-k on t N, NVDYN_TEST_KOKKOS_THREADS): LAMMPS
// 29Sep2021's lj/cut/kk then adds its forces in another order from run to
// run (measured), while fix nvdyn/kk's results must not depend on the
// threads: with the host pair style, both fixes get the same forces. The
// same on a GPU (NVDYN_TEST_KOKKOS_GPUS, scripts/gpu-check.sh), whose
// neighbor lists are binned with atomics: their order, and so the order of
// the force sums, may change from run to run (not yet measured).
std::vector<std::string> potential(std::vector<std::string> cmds)
{
  if (kokkos_threads() == 1 && kokkos_gpus() == 0) return cmds;
  for (size_t k = 0; k < cmds.size(); k++)
    if (cmds[k].rfind("pair_style", 0) == 0) {
      cmds.insert(cmds.begin() + (long) k + 1, "suffix on");
      cmds.insert(cmds.begin() + (long) k, "suffix off");
      break;
    }
  return cmds;
}

std::vector<std::string> clusters(int n)
{
  return potential(lj_clusters(n));
}

enum { COL_STAGE = 1, COL_STEPS = 2, COL_OUTCOME = 5, COL_REASON = 8, NCOL = 9 };

struct Batch {
  std::string style;                  // the fix's style
  std::vector<double> x, v, table;    // by atom ID; per sample and column
  std::string sink, log, groups;      // the sink and log files; the groups' counts per step
  LAMMPS_NS::bigint step = 0, device = 0, host = 0;
};

// a file's text (rank 0 writes them); then the file is removed
std::string slurp(const std::string &path)
{
  MPI_Barrier(MPI_COMM_WORLD);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  MPI_Barrier(MPI_COMM_WORLD);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) std::remove(path.c_str());
  return text.str();
}

// a hook that counts the steps it sees
int count_steps(nvdyn_engine *, const nvdyn_hook_info *, void *user)
{
  ++*(int *) user;
  return 0;
}

// a batch of n LJ clusters under the given stages, run to the end (at most
// maxsteps), by fix nvdyn/kk (kk) or the host fix; bad: an infinite force
// on one atom of cluster 3 from step 40 on; hooked: a C hook at the end of
// every step
Batch run(bool kk, int n, const std::string &stages, bool bad = false, bool hooked = false)
{
  int hooked_steps = 0;
  Lammps l(kokkos_args());
  l.cmds(clusters(n));
  const std::string files = std::string("nvdyn_kk_") + (kk ? "kk" : "host") + "_np" +
      std::to_string(mpi_size()) + "_t" + std::to_string(kokkos_threads());
  if (!kk) l.cmd("suffix off");
  l.cmd("fix nv all nvdyn samples molecule " + stages + " sink " + files + ".extxyz log " + files +
        ".csv every 10");
  if (!kk) l.cmd("suffix on");
  // the atoms of each stage and outcome group, at the end of every step
  std::string counts = "$(step)";
  for (size_t at = stages.find("stage "); at != std::string::npos;
       at = stages.find("stage ", at + 1))
    counts += " $(count(" + stages.substr(at + 6, stages.find(' ', at + 6) - at - 6) + "))";
  counts += " $(count(done)) $(count(failed)) $(count(timeout))";
  l.cmd("fix groups all print 1 \"" + counts + "\" file " + files + ".groups screen no");
  if (bad) {
    l.cmds({"group one molecule 3", "variable first equal count(one)",
            "variable push atom \"(step>=40)*(mol==3)*1e308*10\"",
            "fix push one addforce v_push 0 0"});
  }
  if (hooked) {
    int dim = 0;
    auto *engine = (nvdyn_engine *) l.fix("nv")->extract("engine", dim);
    EXPECT_EQ(nvdyn_hook_add(engine, NVDYN_AFTER_STEP, 1, count_steps, &hooked_steps), NVDYN_OK);
  }
  // f_nv: the active samples of each stage, then done, failed, timed out
  int nstages = 0;
  for (size_t at = stages.find("stage "); at != std::string::npos;
       at = stages.find("stage ", at + 1))
    nstages++;
  std::string left = "0";
  for (int k = 1; k <= nstages; k++) left += "+f_nv[" + std::to_string(k) + "]";
  l.cmds({"variable left equal " + left, "fix stop all halt 1 v_left == 0 error continue",
          "run 3000"});
  Batch r;
  r.style = l.fix("nv")->style;
  r.x = l.gather3("x");
  r.v = l.gather3("v");
  for (int s = 1; s <= n; s++)
    for (int c = 1; c <= NCOL; c++)
      r.table.push_back(l.equal("f_nv[" + std::to_string(s) + "][" + std::to_string(c) + "]"));
  r.step = l.lmp->update->ntimestep;
  if (hooked) EXPECT_EQ(hooked_steps, r.step) << "the hook saw every step";
  int dim = 0;
  if (kk) {
    auto *counts = (LAMMPS_NS::bigint *) l.fix("nv")->extract("kokkos_steps", dim);
    r.device = counts[0];
    r.host = counts[1];
  }
  l.cmds({"unfix groups", "unfix nv"});    // (closes the files)
  r.sink = slurp(files + ".extxyz");
  r.log = slurp(files + ".csv");
  r.groups = slurp(files + ".groups");
  return r;
}

// every value equal, NaN to NaN
bool same(const std::vector<double> &a, const std::vector<double> &b)
{
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  return true;
}

void expect_same(const std::string &stages, int n, bool bad = false, bool hooked = false)
{
  SCOPED_TRACE(stages);
  const Batch host = run(false, n, stages, bad, hooked), kk = run(true, n, stages, bad, hooked);
  EXPECT_EQ(host.style, "nvdyn");
  EXPECT_EQ(kk.style, "nvdyn/kk");
  EXPECT_EQ(kk.step, host.step);
  EXPECT_LT(host.step, 3000) << "ended by fix halt when no sample was active";
  EXPECT_TRUE(same(kk.table, host.table)) << "per-sample values";
  EXPECT_TRUE(same(kk.x, host.x)) << "positions";
  EXPECT_TRUE(same(kk.v, host.v)) << "velocities";
  EXPECT_FALSE(host.sink.empty());
  EXPECT_NE(host.groups.find("\n"), std::string::npos);
  EXPECT_EQ(kk.sink, host.sink) << "the sink's text";
  EXPECT_EQ(kk.log, host.log) << "the log's text";
  EXPECT_EQ(kk.groups, host.groups) << "the groups' atoms at every step";
  if (hooked) {
    EXPECT_EQ(kk.device, 0) << "steps with hooks: in the host core";
    EXPECT_EQ(kk.host, 3 * kk.step) << "both halves and the end of every step";
  } else {
    EXPECT_EQ(kk.device, 3 * kk.step) << "both halves and the end of every step on the device";
    EXPECT_EQ(kk.host, 0) << "none handed to the host core";
  }
  // every sample went through every stage (or failed, if bad)
  for (size_t s = 0; s < kk.table.size() / NCOL; s++)
    if (!(bad && s == 2)) EXPECT_EQ(kk.table[s * NCOL + COL_OUTCOME], 1) << "sample " << s + 1;
}

const char *const relax = "stage relax fire until fmax 1e-3 every 10 maxsteps 2000 ";

}    // namespace

TEST(FixNVDynKokkos, FireCsvrNveAsTheHostFix)
{
  if (!lammps_config_has_package("KOKKOS")) GTEST_SKIP() << no_kokkos_reason();
  expect_same(std::string(relax) +
                  "stage heat csvr 0.1 0.5 48213 until steps 200 every 50 "
                  "stage prod nve until steps 200 every 50",
              6);
}

TEST(FixNVDynKokkos, LangevinAndForceClampAsTheHostFix)
{
  if (!lammps_config_has_package("KOKKOS")) GTEST_SKIP() << no_kokkos_reason();
  expect_same(std::string(relax) + "stage md langevin 0.1 0.5 7391 until steps 300 fclamp 50", 5);
}

TEST(FixNVDynKokkos, FireAseVelocitiesAndNhcAsTheHostFix)
{
  if (!lammps_config_has_package("KOKKOS")) GTEST_SKIP() << no_kokkos_reason();
  expect_same("stage relax fire/ase until fmax 1e-3 maxsteps 2000 "
              "stage heat csvr 0.1 0.5 48213 velocity 0.1 4928 until steps 150 every 50 "
              "stage cool nhc 0.05 0.5 until steps 150",
              5);
}

// with a C hook (nvdyn_hook_add on the fix's engine) the steps run in the
// host core, on host atoms
TEST(FixNVDynKokkos, HookedStepsInTheHostCoreAsTheHostFix)
{
  if (!lammps_config_has_package("KOKKOS")) GTEST_SKIP() << no_kokkos_reason();
  expect_same(std::string(relax) + "stage md nve velocity 0.1 77 until steps 100", 4, false, true);
}

TEST(FixNVDynKokkos, InfiniteForceFailsItsSampleAsInTheHostFix)
{
  if (!lammps_config_has_package("KOKKOS")) GTEST_SKIP() << no_kokkos_reason();
  const std::string stages = std::string(relax) + "stage md nve until steps 100";
  expect_same(stages, 5, true);
  const Batch kk = run(true, 5, stages, true);
  EXPECT_EQ(kk.table[2 * NCOL + COL_OUTCOME], 3) << "cluster 3 failed";
  EXPECT_EQ(kk.table[2 * NCOL + COL_REASON], 1) << "reason nan";
  for (int s : {0, 1, 3, 4}) EXPECT_EQ(kk.table[s * NCOL + COL_OUTCOME], 1) << s;
}

// On steps with no check due (and no neighbor list build, no log, no
// sample changing), the fix syncs no per-atom array to the host: a run
// syncs at its setup, its first step (the values no step checked yet) and
// its end, however long it is.
TEST(FixNVDynKokkos, NoHostSyncOnStepsWithoutChecks)
{
  if (!lammps_config_has_package("KOKKOS")) GTEST_SKIP() << no_kokkos_reason();
  Lammps l(kokkos_args());
  l.cmds(clusters(4));
  l.cmds({"neigh_modify every 1000 delay 0 check no",
          "fix nv all nvdyn samples molecule stage md nve until steps 5000 every 1000"});
  int dim = 0;
  auto *counts = (LAMMPS_NS::bigint *) l.fix("nv")->extract("kokkos_steps", dim);
  l.cmd("run 50");
  const LAMMPS_NS::bigint short_run = counts[2], device = counts[0];
  l.cmd("run 150");
  EXPECT_EQ(short_run, 3) << "setup, first step, end of the run";
  EXPECT_EQ(counts[2] - short_run, 3) << "the same for a run three times as long";
  EXPECT_EQ(counts[0] - device, 3 * 150) << "every half step and end of step on the device";
  EXPECT_EQ(counts[1], 0) << "none handed to the host core";
}

// run_style nvpipeline under -sf kk is nvpipeline/kk: VerletKokkos's loop,
// ended by the fix on the step after the one on which the last sample
// finished (a step with thermo output and energy tallies, on which the
// frozen samples do not move); then it makes no step, and a later run
// without a fix nvdyn runs in full (the timeout is reset)
TEST(FixNVDynKokkos, NvpipelineKkEndsTheRunWhenAllAreFinished)
{
  if (!lammps_config_has_package("KOKKOS")) GTEST_SKIP() << no_kokkos_reason();
  const std::string stages = std::string(relax) + "stage md nve until steps 100";
  const Batch halted = run(true, 4, stages);
  Lammps l(kokkos_args());
  l.cmds(clusters(4));
  l.cmds({"fix nv all nvdyn samples molecule " + stages, "run_style nvpipeline", "run 100000"});
  EXPECT_STREQ(l.lmp->update->integrate_style, "verlet/nvpipeline/kk");
  EXPECT_STREQ(l.fix("nv")->style, "nvdyn/kk");
  const LAMMPS_NS::bigint end = l.lmp->update->ntimestep;
  EXPECT_EQ(end, halted.step + 1) << "the step after the last sample finished";
  for (int s = 1; s <= 4; s++) {
    const std::string row = "f_nv[" + std::to_string(s) + "]";
    EXPECT_EQ(l.equal(row + "[6]"), 1) << "sample " << s << " done";
    EXPECT_TRUE(std::isfinite(l.equal(row + "[4]"))) << "sample " << s << ": its energy";
  }
  l.cmd("run 100");
  EXPECT_EQ(l.lmp->update->ntimestep, end) << "nothing left to run";
  l.cmds({"unfix nv", "fix 1 all nve", "run 10"});
  EXPECT_EQ(l.lmp->update->ntimestep, end + 10);
}

// A run split by write_restart / read_restart in the middle of the
// workflow (samples in several stages) ends with fix nvdyn/kk as with the
// host fix, bit for bit, and like the uninterrupted run of fix nvdyn/kk
// (to 1e-9: the restarted run sorts its atoms otherwise)
TEST(FixNVDynKokkos, RestartSplitAsTheHostFix)
{
  if (!lammps_config_has_package("KOKKOS")) GTEST_SKIP() << no_kokkos_reason();
  const std::string stages = std::string(relax) +
      "stage heat csvr 0.1 0.5 48213 velocity 0.1 4928 until steps 200 every 50 "
      "stage prod nve until steps 200 every 50";
  const std::string fix = "fix nv all nvdyn samples molecule " + stages;
  const std::string file = "nvdyn_kk_split_np" + std::to_string(mpi_size()) + ".restart";
  auto split = [&](bool kk) {
    {
      Lammps l(kokkos_args());
      l.cmds(clusters(6));
      if (!kk) l.cmd("suffix off");
      l.cmd(fix);
      l.cmds({"suffix on", "run 150", "write_restart " + file});
    }
    Lammps l(kokkos_args());
    l.cmd("read_restart " + file);
    l.cmds(potential(lj_cluster_potential()));
    if (!kk) l.cmd("suffix off");
    l.cmd(fix);
    l.cmds({"suffix on", "run_style nvpipeline", "run 3000 upto"});
    Batch r;
    r.style = l.fix("nv")->style;
    r.x = l.gather3("x");
    r.v = l.gather3("v");
    for (int s = 1; s <= 6; s++)
      for (int c = 1; c <= NCOL; c++)
        r.table.push_back(l.equal("f_nv[" + std::to_string(s) + "][" + std::to_string(c) + "]"));
    return r;
  };
  const Batch host = split(false), kk = split(true);
  EXPECT_EQ(host.style, "nvdyn");
  EXPECT_EQ(kk.style, "nvdyn/kk");
  EXPECT_TRUE(same(kk.table, host.table)) << "per-sample values";
  EXPECT_TRUE(same(kk.x, host.x)) << "positions";
  EXPECT_TRUE(same(kk.v, host.v)) << "velocities";
  for (int s = 0; s < 6; s++) EXPECT_EQ(kk.table[s * NCOL + COL_OUTCOME], 1) << "sample " << s + 1;
  Lammps l(kokkos_args());
  l.cmds(clusters(6));
  l.cmds({fix, "run_style nvpipeline", "run 3000"});
  EXPECT_LE(max_rel_diff(l.gather3("x"), kk.x), 1e-9) << "as the uninterrupted run";
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) remove(file.c_str());
}
