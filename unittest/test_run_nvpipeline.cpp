// run_style nvpipeline (single partition), loaded with the NVDYN plugin.
// Run by ctest on 1 and 2 MPI ranks.
#include "lammps_harness.h"
#include "nvdyn_lammps_compat.h"

#include "output.h"
#include "timer.h"
#include "update.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

using LAMMPS_NS::bigint;

namespace {

int mpi_rank()
{
  int me = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &me);
  return me;
}

// A log file of this test, distinct for each test and each number of ranks
// (ctest may run the np1 and np2 tests at the same time). Written by rank 0.
std::string log_path(const std::string &name)
{
  return "run_nvpipeline_" + name + "_np" + std::to_string(mpi_size()) + ".log";
}

std::string read_text(const std::string &path)
{
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The LJ liquid of lj_liquid(6, "bond"), 864 atoms, split into 4 molecules
// of 216 atoms (molecule IDs 1-4 in atom ID order).
std::vector<std::string> four_molecules()
{
  auto lines = lj_liquid(6, "bond");
  lines.insert(lines.end(), {"variable m atom 1+floor((id-1)/216)", "set group all mol v_m"});
  return lines;
}

struct RunResult {
  std::vector<double> x, v, f;
  double pe = 0.0, press = 0.0;
  bigint ntimestep = 0;
};

RunResult result_of(Lammps &l)
{
  RunResult r;
  r.x = l.gather3("x");
  r.v = l.gather3("v");
  r.f = l.gather3("f");
  r.pe = l.equal("pe");
  r.press = l.equal("press");
  r.ntimestep = l.lmp->update->ntimestep;
  return r;
}

// One row of a stage summary table
struct SummaryRow {
  int samples = -1;
  double mean_steps = -1.0;
  long max_steps = -1;
  int timeouts = -1, failures = -1;
  double seconds = -1.0, percent = -1.0;
};

// The rows of the last stage summary table of fix `id` in a log
std::map<std::string, SummaryRow> last_summary(const std::string &log, const std::string &id,
                                               int *nsamples)
{
  const std::string title = "Fix nvdyn " + id + " stage summary (";
  size_t at = log.rfind(title);
  std::map<std::string, SummaryRow> rows;
  if (at == std::string::npos) return rows;
  std::istringstream in(log.substr(at + title.size()));
  std::string line;
  std::getline(in, line);
  *nsamples = std::stoi(line);
  std::getline(in, line);    // column heads
  std::getline(in, line);    // dashes
  const std::regex row(R"(^(\S+) +\| +(\d+) \| +([0-9.]+) \| +(\d+) \| +(\d+) \| +(\d+) \| )"
                       R"( *([0-9.e+-]+) \| +([0-9.]+)$)");
  std::smatch m;
  while (std::getline(in, line) && std::regex_match(line, m, row)) {
    SummaryRow r;
    r.samples = std::stoi(m[2]);
    r.mean_steps = std::stod(m[3]);
    r.max_steps = std::stol(m[4]);
    r.timeouts = std::stoi(m[5]);
    r.failures = std::stoi(m[6]);
    r.seconds = std::stod(m[7]);
    r.percent = std::stod(m[8]);
    rows[m[1]] = r;
  }
  return rows;
}

}    // namespace

// With fix nvdyn, nvpipeline makes the same trajectory as verlet to the
// last bit, also across "run N pre no" (which skips the run style's setup).
TEST(RunNVPipeline, BitwiseSameAsVerletWithFixNVDyn)
{
  auto trajectory = [](const std::string &style) {
    Lammps l;    // one instance with the plugin at a time
    l.cmds(lj_liquid(5));
    l.cmds({"fix nv all nvdyn samples all stage md nve", "thermo 50", "run_style " + style,
            "run 150", "run 150 pre no"});
    // nvpipeline runs as "verlet/nvpipeline", so that LAMMPS fixes that
    // test for "^verlet" (addforce, setforce, ...) do not take it for respa
    EXPECT_STREQ(l.lmp->update->integrate_style,
                 style == "verlet" ? "verlet" : "verlet/nvpipeline");
    return result_of(l);
  };
  RunResult ref = trajectory("verlet"), pip = trajectory("nvpipeline");
  ASSERT_EQ(ref.x.size(), 3u * 500u);
  EXPECT_EQ(pip.ntimestep, 300);    // a stage without end: the run goes to N
  EXPECT_EQ(pip.x, ref.x);
  EXPECT_EQ(pip.v, ref.v);
  EXPECT_EQ(pip.f, ref.f);
  EXPECT_EQ(pip.pe, ref.pe);
  EXPECT_EQ(pip.press, ref.press);
}

// Without fix nvdyn, nvpipeline is verlet: plain fix nve, the same trajectory
// to the last bit.
TEST(RunNVPipeline, BitwiseSameAsVerletWithFixNve)
{
  Lammps ref({}, false), pip;
  for (Lammps *l : {&ref, &pip}) {
    l->cmds(lj_liquid(5));
    l->cmds({"fix 1 all nve", "thermo 100"});
  }
  pip.cmd("run_style nvpipeline");
  for (Lammps *l : {&ref, &pip}) l->cmd("run 400");
  RunResult r = result_of(ref), p = result_of(pip);
  EXPECT_EQ(p.ntimestep, 400);
  EXPECT_EQ(p.x, r.x);
  EXPECT_EQ(p.v, r.v);
  EXPECT_EQ(p.pe, r.pe);
  EXPECT_GT(ref.equal("ke"), 1.0);    // a liquid, not a frozen lattice
}

// run 1000 on a batch whose samples are all done at step 40 + 50 = 90 ends
// at step 90 after 90 steps, with a thermo line for step 90 whose pe and press
// are those of a verlet run of exactly 90 steps (thermo every 1000 did not plan
// one there); a following run makes no step and does not fail.
TEST(RunNVPipeline, EndsOnTheStepTheLastSampleIsDone)
{
  const std::string fix = "fix nv all nvdyn samples molecule stage a nve until steps 40 "
                          "stage b nve until steps 50 done fin";
  const std::string thermo = "thermo_style custom step pe press f_nv[1] f_nv[2] f_nv[3]";
  RunResult ref;
  {
    Lammps l;
    l.cmds(four_molecules());
    l.cmds({fix, thermo, "thermo 1000", "run 90"});
    ref = result_of(l);
  }
  const std::string log = log_path("ends");
  RunResult pip;
  {
    Lammps l;
    l.cmds(four_molecules());
    l.cmds({fix, thermo, "thermo 1000", "log " + log, "run_style nvpipeline", "run 1000"});
    EXPECT_EQ(l.lmp->update->ntimestep, 90);
    EXPECT_EQ(l.lmp->update->nsteps, 90);
    EXPECT_EQ(l.equal("f_nv[3]"), 4);    // all 4 samples done
    EXPECT_EQ(l.equal("count(fin)"), 864);
    pip = result_of(l);
    l.cmd("run 1000");
    EXPECT_EQ(l.lmp->update->ntimestep, 90);
    EXPECT_EQ(l.lmp->update->nsteps, 0);
    l.cmd("run 1000 post no");
    EXPECT_EQ(l.lmp->update->ntimestep, 90);
  }
  EXPECT_EQ(pip.x, ref.x);
  EXPECT_EQ(pip.v, ref.v);
  EXPECT_EQ(pip.f, ref.f);    // forces are put back after the extra tally
  EXPECT_EQ(pip.pe, ref.pe);
  EXPECT_EQ(pip.press, ref.press);

  if (mpi_rank() != 0) return;
  const std::string text = read_text(log);
  // thermo lines: step 0, step 90 of the first run, step 90 of each later run
  const std::regex line90(R"(\n +90 +(-?[0-9.e+-]+) +(-?[0-9.e+-]+) +0 +0 +4 *\n)");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, line90)) << text;
  EXPECT_NEAR(std::stod(m[1]), ref.pe, 1e-6 * std::fabs(ref.pe));
  EXPECT_NEAR(std::stod(m[2]), ref.press, 1e-6 * std::fabs(ref.press));
  EXPECT_NE(text.find(" for 90 steps with 864 atoms"), std::string::npos);
  EXPECT_NE(text.find(" for 0 steps with 864 atoms"), std::string::npos);
  std::remove(log.c_str());
}

// Two batches in one run: the run ends when the slower one is done (step 70),
// not the first (step 50). Each batch's summary table agrees with what its
// per-sample array said at every step: samples that entered each stage, and
// their steps there (the steps column is the count in the current stage; a
// sample leaving a stage at its last step shows the next stage at 0).
TEST(RunNVPipeline, SummaryMatchesPerSampleArray)
{
  const std::string log = log_path("summary");
  Lammps l;
  l.cmds(four_molecules());
  l.cmds({"group g12 molecule 1 2", "group g34 molecule 3 4",
          "fix A g12 nvdyn samples molecule stage a nve until steps 30 "
          "stage b nve until steps 20 done doneA",
          "fix B g34 nvdyn samples molecule stage c nve until steps 70 done doneB failed failB "
          "timeout toB",
          "thermo 0", "log " + log, "run_style nvpipeline"});
  struct Batch {
    Fix *fix;
    int nstages;
    std::vector<std::vector<double>> spent;    // [sample][stage] steps spent
    std::vector<int> last_stage;               // stage seen last (1-based)
    std::vector<double> last_steps;
  };
  std::map<std::string, Batch> batches = {{"A", {l.fix("A"), 2, {}, {}, {}}},
                                          {"B", {l.fix("B"), 1, {}, {}, {}}}};
  auto observe = [&](Batch &b, bool first) {
    for (int s = 0; s < 2; s++) {
      const int stage = (int) b.fix->compute_array(s, 1);
      const double steps = b.fix->compute_array(s, 2);
      if (first) {
        b.spent.assign(2, std::vector<double>(b.nstages, -1.0));
        b.last_stage.assign(2, stage);
        b.last_steps.assign(2, steps);
      }
      const int was = b.last_stage[s];
      if (stage != was) b.spent[s][was - 1] = b.last_steps[s] + 1;    // left on this step
      if (stage <= b.nstages) b.spent[s][stage - 1] = steps;
      b.last_stage[s] = stage;
      b.last_steps[s] = steps;
    }
  };
  for (auto &b : batches) observe(b.second, true);
  int t = 0;
  while (t < 200 && l.equal("f_B[2]") < 2) {
    l.cmd("run 1");
    t++;
    ASSERT_EQ(l.lmp->update->ntimestep, t);
    for (auto &b : batches) observe(b.second, false);
  }
  EXPECT_EQ(t, 70);
  EXPECT_EQ(l.equal("count(doneA)"), 432);
  EXPECT_EQ(l.equal("count(doneB)"), 432);
  l.cmd("run 1000");
  EXPECT_EQ(l.lmp->update->ntimestep, 70);

  if (mpi_rank() != 0) return;
  const std::string text = read_text(log);
  const std::vector<std::string> stage_names = {"a", "b", "c"};
  for (auto &item : batches) {
    Batch &b = item.second;
    int nsamples = 0;
    auto rows = last_summary(text, item.first, &nsamples);
    EXPECT_EQ(nsamples, 2);
    ASSERT_EQ((int) rows.size(), b.nstages) << "fix " << item.first << "\n" << text;
    double percent = 0.0;
    for (int k = 0; k < b.nstages; k++) {
      const std::string name = stage_names[item.first == "A" ? k : 2];
      const SummaryRow &row = rows[name];
      int entered = 0;
      double total = 0.0, most = 0.0;
      for (int s = 0; s < 2; s++) {
        if (b.spent[s][k] < 0) continue;
        entered++;
        total += b.spent[s][k];
        most = std::max(most, b.spent[s][k]);
      }
      EXPECT_EQ(row.samples, entered) << "stage " << name;
      EXPECT_DOUBLE_EQ(row.mean_steps, total / entered) << "stage " << name;
      EXPECT_EQ(row.max_steps, (long) most) << "stage " << name;
      EXPECT_EQ(row.timeouts, 0);
      EXPECT_EQ(row.failures, 0);
      EXPECT_GT(row.seconds, 0.0);
      percent += row.percent;
    }
    EXPECT_NEAR(percent, 100.0, 0.02 * b.nstages);
  }
  // the values themselves: stage a 30, b 20, c 70 steps for both samples
  EXPECT_EQ(batches["A"].spent[0][0], 30);
  EXPECT_EQ(batches["A"].spent[1][1], 20);
  EXPECT_EQ(batches["B"].spent[0][0], 70);
  std::remove(log.c_str());
}

// fix halt (which ends a run through the LAMMPS timer) still stops a run of
// unfinished samples; "error continue" lets the next run go on.
TEST(RunNVPipeline, FixHaltStopsTheRun)
{
  Lammps l;
  l.cmds(lj_liquid(3));
  l.cmds({"fix nv all nvdyn samples all stage md nve until steps 500", "variable s equal step",
          "fix h all halt 10 v_s >= 40 error continue message no", "run_style nvpipeline",
          "run 1000"});
  EXPECT_EQ(l.lmp->update->ntimestep, 40);
  EXPECT_EQ(l.lmp->update->nsteps, 40);
  EXPECT_EQ(l.equal("f_nv[1]"), 1);    // the sample is still in its stage
  EXPECT_EQ(l.equal("f_nv[1][3]"), 40);
  l.cmd("run 1000");
  EXPECT_EQ(l.lmp->update->ntimestep, 50);    // next check of the halt condition
}

// The LAMMPS timer timeout ends a run of unfinished samples.
TEST(RunNVPipeline, TimerTimeoutEndsTheRun)
{
  Lammps l;
  l.cmds(lj_liquid(2));
  l.cmds({"fix nv all nvdyn samples all stage md nve until steps 1000000000",
          "timer timeout 1 every 20", "run_style nvpipeline"});
  const double start = MPI_Wtime();
  l.cmd("run 100000000");
  const double seconds = MPI_Wtime() - start;
  const bigint steps = l.lmp->update->ntimestep;
  EXPECT_GT(steps, 0);
  EXPECT_LT(steps, 100000000);
  EXPECT_EQ(l.lmp->update->nsteps, steps);
  EXPECT_EQ(steps % 20, 0);    // stopped on a check of the timeout
  EXPECT_LT(seconds, 30.0);
  EXPECT_EQ(l.equal("f_nv[1]"), 1);
}

// Under the KOKKOS package, "run_style nvpipeline" is nvpipeline/kk (with
// no fix nvdyn it runs like verlet/kk); the host variant, named without
// the suffix, is refused with an error that names the way out.
TEST(RunNVPipeline, KokkosTakesTheKokkosVariant)
{
  if (!lammps_config_has_package("KOKKOS")) GTEST_SKIP() << no_kokkos_reason();
  Lammps l(kokkos_args());
  l.cmds(lj_liquid(3));
  l.cmds({"fix 1 all nve", "run_style nvpipeline"});
  EXPECT_STREQ(l.lmp->update->integrate_style, "nvpipeline/kk");
  EXPECT_EQ(l.error_of("run 10"), "");
  EXPECT_STREQ(l.lmp->update->integrate_style, "verlet/nvpipeline/kk");
  EXPECT_EQ(l.lmp->update->ntimestep, 10);
  l.cmds({"suffix off", "run_style nvpipeline"});
  const std::string msg = l.error_of("run 10");
  EXPECT_NE(msg.find("Run style nvpipeline is the host variant"), std::string::npos) << msg;
  EXPECT_NE(msg.find("nvpipeline/kk"), std::string::npos) << msg;
  EXPECT_EQ(l.lmp->update->ntimestep, 10);
}

// Other run styles are untouched by the plugin; nvpipeline names an unknown
// argument.
TEST(RunNVPipeline, RespaAndArguments)
{
  Lammps l;
  l.cmds(lj_liquid(3));
  l.cmds({"fix 1 all nve", "run_style respa 2 2", "run 10"});
  EXPECT_STREQ(l.lmp->update->integrate_style, "respa");
  EXPECT_EQ(l.lmp->update->ntimestep, 10);
  l.cmd("run_style nvpipeline extra");
  EXPECT_NE(l.error_of("run 10").find("run_style nvpipeline command: unknown keyword 'extra'"),
            std::string::npos);
  l.cmds({"run_style nvpipeline", "run 10"});
  EXPECT_EQ(l.lmp->update->ntimestep, 20);
}

// "clear" deletes the run style after the plugin's styles are unloaded; the
// run style's code must still be there, and a reloaded plugin works again.
TEST(RunNVPipeline, ClearWhileActiveAndReload)
{
  Lammps l;
  l.cmds(lj_liquid(2));
  l.cmds({"fix nv all nvdyn samples all stage md nve until steps 5", "run_style nvpipeline",
          "run 100"});
  EXPECT_EQ(l.lmp->update->ntimestep, 5);
  l.cmd("clear");
  l.cmd(std::string("plugin load ") + Lammps::plugin_path());
  l.cmds(lj_liquid(2));
  l.cmds({"fix nv all nvdyn samples all stage md nve until steps 7", "run_style nvpipeline",
          "run 100"});
  EXPECT_EQ(l.lmp->update->ntimestep, 7);
}

// "plugin unload" of every NVDYN style: where LAMMPS has run-style plugins,
// the run style in use goes back to verlet and nvpipeline is unknown; before
// that, LAMMPS ignores the unload of a run style, which stays usable. Then
// runs go on without the plugin.
TEST(RunNVPipeline, PluginUnload)
{
  Lammps l;
  l.cmds(lj_liquid(2));
  l.cmds({"fix nv all nvdyn samples all stage md nve until steps 5", "run_style nvpipeline",
          "run 100"});
  EXPECT_EQ(l.lmp->update->ntimestep, 5);
  EXPECT_STREQ(l.lmp->update->integrate_style, "verlet/nvpipeline");
  l.cmds({"plugin unload run nvpipeline", "plugin unload run verlet/nvpipeline"});
  if (NVDYN_NS::run_style_plugins) {
    EXPECT_STREQ(l.lmp->update->integrate_style, "verlet");
    const std::string msg = l.error_of("run_style nvpipeline");
    EXPECT_NE(msg.find("integrate style"), std::string::npos) << msg;
    EXPECT_NE(msg.find("nvpipeline"), std::string::npos) << msg;
    l.cmd("run_style verlet");
  } else {
    // still nvpipeline: every sample is done, the run ends at once
    EXPECT_STREQ(l.lmp->update->integrate_style, "verlet/nvpipeline");
    l.cmd("run 3");
    EXPECT_EQ(l.lmp->update->ntimestep, 5);
  }
  const bigint before = l.lmp->update->ntimestep;
  l.cmds({"plugin unload fix nvdyn", "fix 1 all nve", "run 10"});
  EXPECT_EQ(l.fix("nv"), nullptr);
  EXPECT_EQ(l.lmp->update->ntimestep, before + 10);
  EXPECT_NE(l.error_of("fix nv all nvdyn samples all stage md nve").find("nvdyn"),
            std::string::npos);
}

namespace {

// Six LJ clusters, each relaxed with FIRE and then run for 33 steps of NVE,
// on its own clock: the samples finish on different steps.
const int NCLUSTER = 6;
const std::vector<std::string> cluster_batch = {
    "compute mols all chunk/atom molecule",
    "fix nv all nvdyn samples c_mols stage relax fire until fmax 1e-3 every 5 maxsteps 20000 "
    "stage md nve until steps 33",
    "thermo_style custom step pe press", "thermo 1000", "run_style nvpipeline"};

int done_samples(Lammps &l)
{
  int done = 0;
  for (int s = 1; s <= NCLUSTER; s++)
    if (l.equal("f_nv[" + std::to_string(s) + "][6]") == 1) done++;
  return done;
}

// With a companion fix that evaluates computes or variables between thermo
// steps, "run 100000" ends without error on the step on which the last
// cluster is done (one step earlier, a cluster is still active), with a
// thermo line there; pe can be evaluated after the run, a following run makes
// no step, and a new fix nvdyn with new samples runs.
void expect_early_end_with(const std::vector<std::string> &companion, const std::string &name)
{
  const std::string log = log_path(name);
  bigint last = 0;
  {
    Lammps l;
    l.cmds(lj_clusters(NCLUSTER));
    l.cmds(cluster_batch);
    l.cmds(companion);
    l.cmd("log " + log);
    EXPECT_EQ(l.error_of("run 100000"), "");
    last = l.lmp->update->ntimestep;
    EXPECT_LT(last, 1000);    // no thermo output planned on the last step
    EXPECT_EQ(l.lmp->update->nsteps, last);
    EXPECT_EQ(done_samples(l), NCLUSTER);
    EXPECT_EQ(l.error_of("variable e_after equal pe"), "");
    EXPECT_EQ(l.error_of("print \"pe after the run: ${e_after}\""), "");
    EXPECT_EQ(l.error_of("run 10"), "");
    EXPECT_EQ(l.lmp->update->ntimestep, last);
    EXPECT_EQ(l.lmp->update->nsteps, 0);
    EXPECT_EQ(l.error_of("unfix nv"), "");
    EXPECT_EQ(l.error_of("fix nv2 all nvdyn samples c_mols stage md nve until steps 20"), "");
    EXPECT_EQ(l.error_of("run 100"), "");
    EXPECT_EQ(l.lmp->update->ntimestep, last + 20);
  }
  {
    Lammps l;
    l.cmds(lj_clusters(NCLUSTER));
    l.cmds(cluster_batch);
    l.cmds(companion);
    l.cmd("run " + std::to_string(last - 1));
    EXPECT_EQ(l.lmp->update->ntimestep, last - 1);
    EXPECT_LT(done_samples(l), NCLUSTER);
  }

  if (mpi_rank() != 0) return;
  const std::string text = read_text(log);
  const std::regex line_last("\n +" + std::to_string(last) + R"( +-?[0-9.e+-]+ +-?[0-9.e+-]+ *\n)");
  EXPECT_TRUE(std::regex_search(text, line_last)) << text;
  EXPECT_NE(text.find(" for " + std::to_string(last) + " steps with "), std::string::npos);
  std::remove(log.c_str());
}

}    // namespace

// fix halt evaluating pe every 10 steps (never met): the run ends when the
// last sample is done, not with "Energy was not tallied on needed timestep".
TEST(RunNVPipeline, EarlyEndWithFixHaltOnPe)
{
  expect_early_end_with({"variable pe equal pe", "fix h all halt 10 v_pe < -1e9"}, "halt");
}

// fix addforce with an equal-style variable of pe, evaluated every step
TEST(RunNVPipeline, EarlyEndWithFixAddforceVariable)
{
  expect_early_end_with({"variable fx equal 1.0e-6*pe", "fix af all addforce v_fx 0.0 0.0"},
                        "addforce");
}

// fix ave/time of thermo's pe every 3 steps
TEST(RunNVPipeline, EarlyEndWithFixAveTime)
{
  expect_early_end_with({"fix at all ave/time 3 1 3 c_thermo_pe"}, "avetime");
}

// fix print of a variable of pe every 7 steps
TEST(RunNVPipeline, EarlyEndWithFixPrint)
{
  expect_early_end_with({"variable e equal pe", "fix p all print 7 \"pe ${e}\" screen no"},
                        "print");
}

// A run that ends in an error skips cleanup(); after 'unfix' of its fix
// nvdyn, rerun (which calls cleanup() without setup()) summarises the
// fixes defined then, not the deleted one (found by the fuzz test: a use
// after free).
TEST(RunNVPipeline, RerunAfterARunEndedInAnErrorAndUnfix)
{
  const std::string dump = "nvdyn_rerun_np" + std::to_string(mpi_size()) + ".dump";
  Lammps l;
  l.cmds(lj_clusters(2));
  l.cmds({"run_style nvpipeline",
          "fix nv all nvdyn samples molecule stage a nve velocity 1e300 5 until steps 5 nan stop"});
  EXPECT_NE(l.error_of("run 10").find("'nan stop' is set"), std::string::npos);
  l.cmds({"unfix nv", "write_dump all custom " + dump + " id type x y z modify sort id"});
  EXPECT_EQ(l.error_of("rerun " + dump + " dump x y z"), "");
  EXPECT_EQ(l.error_of("run 3"), "");
}
