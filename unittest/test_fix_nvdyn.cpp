// fix nvdyn in LAMMPS, loaded as a plugin. Run by ctest on 1 and 2 MPI ranks.
#include "lammps_harness.h"

#include "nvdyn.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

// A single nve stage over all atoms reproduces fix nve.
TEST(FixNVDyn, ReproducesFixNve)
{
  NveVsNVDyn run({}, 5, 1000);
  Lammps &ref = run.ref, &dyn = run.dyn;

  auto x_ref = ref.gather3("x"), x_dyn = dyn.gather3("x");
  auto v_ref = ref.gather3("v"), v_dyn = dyn.gather3("v");
  ASSERT_EQ(x_ref.size(), 3u * 500u);
  EXPECT_LE(max_rel_diff(x_ref, x_dyn), 1e-12);
  EXPECT_LE(max_rel_diff(v_ref, v_dyn), 1e-12);
  // it is a liquid: atoms moved far from their lattice sites
  EXPECT_GT(ref.equal("ke"), 1.0);
  EXPECT_NEAR(ref.equal("pe"), dyn.equal("pe"), 1e-12 * std::fabs(ref.equal("pe")));
}

// Samples are molecules; two nve stages hand every sample over after exactly
// N steps; at every step the stage groups hold exactly the atoms of the
// samples that the per-sample array places in them; done atoms stay put.
TEST(FixNVDyn, TwoStagesHandOverAndGroupsMatchBookkeeping)
{
  const int N = 40, natoms = 864, nmol = 4;
  Lammps l;
  l.cmds(lj_liquid(6, "bond"));
  l.cmds({"variable m atom 1+floor((id-1)/216)", "set group all mol v_m",
          "fix nv all nvdyn samples molecule stage a nve until steps 40 "
          "stage b nve until steps 40 done fin",
          "thermo 10"});
  Fix *fix = l.fix("nv");
  ASSERT_NE(fix, nullptr);
  std::vector<double> x_at_done, v_at_done;
  const std::set<int> owned_at_start = l.owned_ids();
  for (int t = 1; t <= 2 * N + 10; t++) {
    l.cmd("run 1 post no");
    ASSERT_EQ(fix->size_array_rows, nmol);
    int expect_stage = t < N ? 1 : (t < 2 * N ? 2 : 3);
    int expect_steps = t < N ? t : (t < 2 * N ? t - N : 0);
    double in_stage[3] = {0, 0, 0};
    for (int s = 0; s < nmol; s++) {
      EXPECT_EQ(fix->compute_array(s, 0), s + 1) << "sample ID = molecule ID";
      EXPECT_EQ(fix->compute_array(s, 1), expect_stage) << "step " << t << " sample " << s;
      EXPECT_EQ(fix->compute_array(s, 2), expect_steps) << "step " << t << " sample " << s;
      EXPECT_EQ(fix->compute_array(s, 6), natoms / nmol);
      EXPECT_EQ(fix->compute_array(s, 5), t < 2 * N ? 0 : 1) << "outcome: active, then done";
      in_stage[(int) fix->compute_array(s, 1) - 1] += fix->compute_array(s, 6);
    }
    EXPECT_EQ(l.equal("count(a)"), in_stage[0]) << "step " << t;
    EXPECT_EQ(l.equal("count(b)"), in_stage[1]) << "step " << t;
    EXPECT_EQ(l.equal("count(fin)"), in_stage[2]) << "step " << t;
    EXPECT_EQ(l.equal("count(a)+count(b)+count(fin)"), natoms);
    for (int k = 0; k < 3; k++)
      EXPECT_EQ(fix->compute_vector(k), in_stage[k] / (natoms / nmol)) << "step " << t;
    if (t == 2 * N) {
      x_at_done = l.gather3("x");
      v_at_done = l.gather3("v");
    }
  }
  // on several ranks, atoms changed owners during the stages
  if (mpi_size() > 1) EXPECT_NE(l.owned_ids(), owned_at_start);
  // done samples are no longer integrated: v untouched, x untouched except
  // for the periodic re-wrapping that each run's setup does
  EXPECT_EQ(l.gather3("v"), v_at_done);
  auto x_end = l.gather3("x");
  const double box = l.equal("lx");
  for (size_t k = 0; k < x_end.size(); k++) {
    double d = x_end[k] - x_at_done[k];
    EXPECT_NEAR(d - box * std::round(d / box), 0.0, 1e-12) << "coordinate " << k;
  }
}

// Samples from a compute chunk/atom on a subset group; atoms outside the fix
// group are not touched by it.
TEST(FixNVDyn, ChunkSamplesOnSubsetGroup)
{
  Lammps l;
  l.cmds(lj_liquid(4, "bond"));
  l.cmds({"variable m atom 1+floor((id-1)/32)", "set group all mol v_m", "group half id <= 128",
          "group rest subtract all half", "compute mols half chunk/atom molecule",
          "fix nv half nvdyn samples c_mols stage md nve until steps 5"});
  // samples and stage groups exist as soon as the fix is defined
  Fix *fix = l.fix("nv");
  EXPECT_EQ(fix->size_array_rows, 4);    // molecules 1-4 hold atoms 1-128
  EXPECT_EQ(l.equal("count(md)"), 128);
  EXPECT_EQ(l.equal("f_nv[2][1]"), 2);    // sample ID of the second sample
  l.cmd("uncompute mols");                // samples are kept without it
  auto before = l.gather3("x");
  l.cmd("run 10");
  auto after = l.gather3("x");
  for (int i = 0; i < 256; i++) {
    bool moved = after[3 * i] != before[3 * i];
    EXPECT_EQ(moved, i < 128) << "atom ID " << i + 1;
  }
  EXPECT_EQ(l.equal("count(done)"), 128);
  EXPECT_EQ(fix->compute_vector(0), 0);
  EXPECT_EQ(fix->compute_vector(1), 4);
}

// Malformed fix nvdyn commands end in a LAMMPS error that names the problem,
// and leave no group or fix behind.
TEST(FixNVDyn, MalformedArgumentsAreErrors)
{
  Lammps l;
  l.cmds(lj_liquid(2));
  l.cmds({"compute t all temp", "group g1 id 1"});
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "expected 'samples' and at least one 'stage'"},
      {"samples", "samples needs 1 value"},
      {"samples all", "at least one stage is required"},
      {"samples all done", "done needs 1 value"},
      {"samples all failed", "failed needs 1 value"},
      {"samples all timeout", "timeout needs 1 value"},
      {"samples bogus stage a nve", "samples must be all, molecule or c_ID, got 'bogus'"},
      {"samples molecule stage a nve", "samples molecule needs an atom style with molecule IDs"},
      {"samples c_nope stage a nve", "samples compute ID 'nope' does not exist"},
      {"samples c_t stage a nve", "samples compute 't' is style 'temp', not chunk/atom"},
      {"samples all stage a", "stage needs a name and a style"},
      {"samples all stage a langevn", "stage a: unknown stage style 'langevn'"},
      {"samples all stage a csvr 1.0 0.1", "stage a: style csvr needs 3 values (temp damp seed)"},
      {"samples all stage a nhc 1.0", "stage a: style nhc needs 2 values (temp damp)"},
      {"samples all stage a langevin x 0.1 5", "stage a langevin temp expects a number, got 'x'"},
      {"samples all stage a langevin 1.0 0.1 0", "stage a langevin seed must be >= 1, got 0"},
      {"samples all stage a csvr -1.0 0.1 5", "stage a temp: "},
      {"samples all stage a nhc 1.0 0.0", "stage a damp: "},
      {"samples all stage a nve until", "stage a has 'until' without criteria (fmax, de, steps)"},
      {"samples all stage a nve until steps", "stage a criterion steps needs a value"},
      {"samples all stage a nve until steps 0", "criterion steps must be >= 1, got 0"},
      {"samples all stage a nve until steps 1.5", "criterion steps expects an integer, got '1.5'"},
      {"samples all stage a nve until fmax x", "stage a criterion fmax expects a number, got 'x'"},
      {"samples all stage a nve until fmax -1", "stage a criterion fmax: "},
      {"samples all stage a nve until de 0", "stage a criterion de: "},
      {"samples all stage a nve fmax 0.1", "stage a: criterion 'fmax' must follow 'until'"},
      {"samples all stage a nve bogus 1", "stage a has unknown keyword 'bogus'"},
      {"samples all stage a nve every", "stage a every needs a value"},
      {"samples all stage a nve every 0", "stage a every: "},
      {"samples all stage a nve every 2.5", "stage a every expects an integer, got '2.5'"},
      {"samples all stage a nve maxsteps -1", "stage a maxsteps must be >= 0, got -1"},
      {"samples all stage a nve dt 0", "stage a dt: "},
      {"samples all stage a nve dt abc", "stage a dt expects a number, got 'abc'"},
      {"samples all stage a nve velocity 1.0", "stage a velocity needs a temperature and a seed"},
      {"samples all stage a nve velocity 0 5", "stage a velocity: "},
      {"samples all stage a nve velocity 1.0 0", "stage a velocity seed must be >= 1, got 0"},
      {"samples all stage a fire velocity 1.0 5", "stage a velocity: "},
      {"samples all stage a nve extra_dof -1", "stage a extra_dof must be >= 0, got -1"},
      {"samples all stage a nve extra_dof 2.5", "stage a extra_dof expects an integer, got '2.5'"},
      {"samples all stage a nve drift -1", "stage a drift: "},
      {"samples all stage a fire drift 0.1", "stage a drift: "},
      {"samples all stage a nhc 1.0 0.1 chain 9", "stage a chain: "},
      {"samples all stage a nve chain 3", "stage a chain: "},
      {"samples all stage a fire tmax 0", "stage a tmax: "},
      {"samples all stage a fire halfstepback maybe",
       "stage a halfstepback expects yes or no, got 'maybe'"},
      {"samples all stage a fire initialdelay 1",
       "stage a initialdelay expects yes or no, got '1'"},
      {"samples all stage a nve dmax 0.1", "stage a dmax: "},
      {"samples all stage a fire/ase fa 2", "stage a fa: "},
      {"samples all stage a fire/ase tmax 2", "stage a tmax: "},
      {"samples all stage a nve nan maybe", "nan must be fail, stop or off, got 'maybe'"},
      {"samples all stage a nve fclamp -1", "fclamp: "},
      {"samples all stage a nve fclamp x", "fclamp expects a number, got 'x'"},
      {"samples all stage a nve append 1", "append expects yes or no, got '1'"},
      {"samples all stage a nve log", "log needs 3 values"},
      {"samples all stage a nve log f.csv each 10",
       "log f.csv must be followed by 'every N', got 'each'"},
      {"samples all stage a nve log f.csv every 0", "log every must be >= 1, got 0"},
      {"samples all stage a nve sink", "sink needs 1 value"},
      {"samples all stage a nve sink /nonexistent/dir/f.xyz",
       "cannot open sink file '/nonexistent/dir/f.xyz'"},
      {"samples all stage a nve log /nonexistent/f.csv every 5",
       "cannot open log file '/nonexistent/f.csv'"},
      {"samples all stage a nve elements", "elements needs 1 value"},
      {"samples all stage a nve sink f.xyz elements 1Ar",
       "elements: '1Ar' is not a chemical symbol"},
      {"samples all stage a nve elements Ar", "elements is used only with sink"},
      {"samples all stage a nve bogus", "stage a has unknown keyword 'bogus'"},
      {"samples all stage a nve done g1 bogus", "unknown keyword 'bogus'"},
      {"samples all stage all nve", "stage name 'all' would replace group 'all'"},
      {"samples all stage a nve done all", "done group 'all' would replace group 'all'"},
      {"samples all stage a nve stage a nve", "name 'a' is used twice"},
      {"samples all stage a nve done a", "name 'a' is used twice"},
      {"samples all stage a nve failed done", "name 'done' is used twice"},
      {"samples all stage a-b nve", "stage name 'a-b' is not a valid group name"},
      {"samples all stage a nve timeout t-o", "timeout group 't-o' is not a valid group name"},
  };
  const int ngroup = l.lmp->group->ngroup;
  for (const auto &c : cases) {
    std::string msg = l.error_of("fix bad all nvdyn " + c.first);
    EXPECT_NE(msg.find(c.second), std::string::npos)
        << "fix nvdyn " << c.first << "\n  expected: " << c.second << "\n  got: " << msg;
    EXPECT_EQ(l.fix("bad"), nullptr);
    EXPECT_EQ(l.lmp->group->ngroup, ngroup) << "a group was left behind by: " << c.first;
  }
  // after all that, a good command still works, and another fix nvdyn
  // cannot take its groups
  EXPECT_EQ(l.error_of("fix good all nvdyn samples all stage a nve"), "");
  EXPECT_NE(l.error_of("fix bad all nvdyn samples all stage b nve done d3 failed a timeout t3")
                .find("failed group 'a' is a group of fix nvdyn good"),
            std::string::npos);
  // an existing group is reused as a stage group
  EXPECT_EQ(l.error_of("fix good2 all nvdyn samples all stage g1 nve done d2 failed f2 timeout t2"),
            "");
  EXPECT_EQ(l.equal("count(g1)"), 32);
}

// Sample definitions that cannot work are errors when the fix is defined.
TEST(FixNVDyn, UnusableSamplesAreErrors)
{
  Lammps l;
  l.cmds(lj_liquid(2, "bond"));    // 32 atoms, all with molecule ID 0
  l.cmds({"group one id 1", "group none empty", "compute one one chunk/atom molecule",
          "set group one mol 7"});
  const int ngroup = l.lmp->group->ngroup;
  EXPECT_NE(l.error_of("fix bad all nvdyn samples molecule stage a nve")
                .find("samples molecule: 31 atoms of the fix group have molecule ID 0"),
            std::string::npos);
  EXPECT_NE(l.error_of("fix bad all nvdyn samples c_one stage a nve")
                .find("31 atoms of the fix group are in no chunk of compute 'one'"),
            std::string::npos);
  EXPECT_NE(l.error_of("fix bad none nvdyn samples all stage a nve")
                .find("fix group 'none' has no atoms"),
            std::string::npos);
  EXPECT_EQ(l.lmp->group->ngroup, ngroup);
  // molecule 7 alone is a valid batch of one sample
  l.cmd("fix good one nvdyn samples molecule stage a nve");
  EXPECT_EQ(l.equal("f_good[1][1]"), 7);
  EXPECT_EQ(l.equal("f_good[1][7]"), 1);
}

// ---------------------------------------------------------------------------
// Workflows on batches of Lennard-Jones clusters

namespace {

// per-sample array of fix `id` as rows of 8 columns
std::vector<std::vector<double>> sample_table(Lammps &l, const std::string &id)
{
  Fix *fix = l.fix(id);
  std::vector<std::vector<double>> rows(fix->size_array_rows);
  for (int i = 0; i < fix->size_array_rows; i++)
    for (int j = 0; j < fix->size_array_cols; j++) rows[i].push_back(fix->compute_array(i, j));
  return rows;
}

std::vector<std::string> read_lines(const std::string &path)
{
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

int world_rank()
{
  int me = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &me);
  return me;
}

const char *const workflow = "fix nv all nvdyn samples molecule "
                             "stage relax fire until fmax 1e-4 every 5 maxsteps 5000 "
                             "stage heat langevin 0.2 0.5 977 velocity 0.2 31 until steps 100 "
                             "stage cool csvr 0.05 0.2 5151 dt 0.004 until steps 60 "
                             "stage prod nve until steps 80";

}    // namespace

// Per-sample FIRE brings every cluster of a mixed batch to the minimum that
// min_style fire with min_modify norm max reaches on that cluster alone,
// from the same start.
TEST(FixNVDynWorkflow, FireMatchesMinStyleFirePerCluster)
{
  const int ncluster = 6;
  std::vector<double> energy(ncluster);
  std::vector<int> natoms(ncluster);
  {
    Lammps l;
    l.cmds(lj_clusters(ncluster));
    l.cmds({"fix nv all nvdyn samples molecule stage relax fire until fmax 1e-8 maxsteps 50000",
            "run_style nvpipeline", "run 50000"});
    auto table = sample_table(l, "nv");
    for (int k = 0; k < ncluster; k++) {
      EXPECT_EQ(table[k][5], 1) << "cluster " << k + 1 << " is done";
      EXPECT_LE(table[k][4], 1e-8);
      energy[k] = table[k][3];
      natoms[k] = (int) table[k][6];
    }
    // the last clusters leave the neighbor lists at the next rebuild
    l.cmd("run 0 post no");
    EXPECT_EQ(l.equal("pe"), 0.0) << "done clusters cost no pair work";
  }
  for (int k = 0; k < ncluster; k++) {
    Lammps ref({}, false);
    ref.cmds(lj_clusters(ncluster));
    const std::string mol = std::to_string(k + 1);
    ref.cmds({"group keep molecule " + mol, "group other subtract all keep",
              "delete_atoms group other", "min_style fire", "min_modify norm max",
              "minimize 0.0 1e-8 100000 100000"});
    EXPECT_EQ(ref.equal("atoms"), natoms[k]);
    const double e_ref = ref.equal("pe");
    EXPECT_NEAR(energy[k], e_ref, 1e-8 * std::fabs(e_ref)) << "cluster " << mol;
  }
  // sizes and minima differ: a mixed batch
  EXPECT_NE(natoms.front(), natoms.back());
}

// The relax -> heat -> cool -> prod workflow gives the same outcomes,
// stages, steps and energies on 1, 2 and 3 ranks (run on 3 ranks: ctest
// fix_nvdyn_ranks).
TEST(FixNVDynWorkflow, SameOnOneTwoAndThreeRanks)
{
  if (mpi_size() < 3) GTEST_SKIP() << "needs 3 MPI ranks";
  // create_atoms numbers atoms by rank: the clusters are made on one rank and
  // read by all three runs, so that the three start from the same data
  const std::string data = "nvdyn_ranks.data";
  MPI_Comm one;
  MPI_Comm_split(MPI_COMM_WORLD, world_rank() == 0 ? 0 : MPI_UNDEFINED, 0, &one);
  if (one != MPI_COMM_NULL) {
    {
      Lammps l({}, false, one);
      l.cmds(lj_clusters(8));
      l.cmd("write_data " + data + " nocoeff");
    }
    MPI_Comm_free(&one);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  std::vector<std::vector<std::vector<double>>> tables;
  std::vector<std::vector<double>> positions;
  std::vector<double> steps;
  for (int nranks = 1; nranks <= 3; nranks++) {
    MPI_Comm comm;
    MPI_Comm_split(MPI_COMM_WORLD, world_rank() < nranks ? 0 : MPI_UNDEFINED, world_rank(), &comm);
    if (comm != MPI_COMM_NULL) {
      // a LAMMPS error ends this run on its ranks only: reported here, so
      // that every rank still meets the barrier below
      try {
        Lammps l({}, true, comm);
        l.cmds({"units lj", "atom_style bond", "read_data " + data, "pair_style lj/cut 2.5",
                "pair_coeff 1 1 1.0 1.0 2.5", "pair_modify shift yes", "neighbor 0.3 bin",
                "neigh_modify every 1 delay 0 check yes", "thermo_modify norm no",
                "timestep 0.005"});
        l.cmds({workflow, "run_style nvpipeline", "run 20000"});
        tables.push_back(sample_table(l, "nv"));
        positions.push_back(l.gather3("x"));
        steps.push_back(l.equal("step"));
      } catch (std::exception &e) {
        ADD_FAILURE() << nranks << " ranks: " << e.what();
      }
      MPI_Comm_free(&comm);
    }
    MPI_Barrier(MPI_COMM_WORLD);
  }
  if (world_rank() != 0) return;
  remove(data.c_str());
  ASSERT_EQ(tables.size(), 3u);
  for (int r = 1; r < 3; r++) {
    EXPECT_EQ(steps[r], steps[0]) << r + 1 << " ranks";
    for (size_t s = 0; s < tables[0].size(); s++) {
      for (int col : {0, 1, 2, 5, 6})
        EXPECT_EQ(tables[r][s][col], tables[0][s][col]) << r + 1 << " ranks, sample " << s;
      EXPECT_NEAR(tables[r][s][3], tables[0][s][3], 1e-9 * std::fabs(tables[0][s][3]));
    }
    EXPECT_LE(max_rel_diff(positions[r], positions[0]), 1e-8) << r + 1 << " ranks";
  }
  for (const auto &row : tables[0]) EXPECT_EQ(row[5], 1) << "every sample done";
}

// The stochastic stages' random numbers belong to the samples, not to
// LAMMPS atom IDs: the same clusters with other atom IDs (1000 + 7 id, the
// same order within each cluster) end bit for bit alike, and with their
// atoms listed in reverse order (other local order, other owners) alike
// to round-off.
TEST(FixNVDynWorkflow, StochasticStagesDoNotDependOnAtomIds)
{
  const std::string data = "nvdyn_ids.data", other = "nvdyn_ids_other.data",
                    reversed = "nvdyn_ids_reversed.data";
  if (world_rank() == 0) {
    {
      MPI_Comm self;
      MPI_Comm_split(MPI_COMM_WORLD, 0, 0, &self);
      {
        Lammps l({}, false, self);
        l.cmds(lj_clusters(6));
        l.cmd("write_data " + data + " nocoeff");
      }
      MPI_Comm_free(&self);
    }
    // the Atoms and Velocities sections: remap IDs, or reverse the lines
    std::ofstream out_other(other), out_rev(reversed);
    std::string section;
    std::vector<std::string> block;
    auto flush = [&]() {
      for (auto it = block.rbegin(); it != block.rend(); ++it) out_rev << *it << "\n";
      block.clear();
    };
    for (const auto &line : read_lines(data)) {
      if (!line.empty() && std::isalpha((unsigned char) line[0])) {
        flush();
        section = line.substr(0, line.find(' '));
      }
      std::istringstream words(line);
      long id = 0;
      const bool row = (section == "Atoms" || section == "Velocities") && (words >> id);
      if (row) {
        std::string rest;
        std::getline(words, rest);
        out_other << 1000 + 7 * id << rest << "\n";
        block.push_back(line);
      } else {
        flush();
        out_other << line << "\n";
        out_rev << line << "\n";
      }
    }
    flush();
  } else {
    MPI_Comm self;
    MPI_Comm_split(MPI_COMM_WORLD, MPI_UNDEFINED, 0, &self);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  std::vector<std::vector<std::vector<double>>> tables;
  for (const auto &file : {data, other, reversed}) {
    Lammps l;
    l.cmds({"units lj", "atom_style bond", "atom_modify map array", "read_data " + file,
            "pair_style lj/cut 2.5", "pair_coeff 1 1 1.0 1.0 2.5", "pair_modify shift yes",
            "neighbor 0.3 bin", "neigh_modify every 1 delay 0 check yes", "timestep 0.005"});
    l.cmds({workflow, "run_style nvpipeline", "run 20000"});
    tables.push_back(sample_table(l, "nv"));
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == 0)
    for (const auto &f : {data, other, reversed}) remove(f.c_str());
  for (size_t s = 0; s < tables[0].size(); s++) {
    EXPECT_EQ(tables[0][s][5], 1) << "sample " << s << " done";
    if (mpi_size() == 1) EXPECT_EQ(tables[1][s], tables[0][s]) << "other IDs, sample " << s;
    for (int t : {1, 2})
      for (int col : {0, 1, 2, 5, 6}) EXPECT_EQ(tables[t][s][col], tables[0][s][col]);
    for (int t : {1, 2})
      for (int col : {3, 7})    // energy, temperature after the stochastic stages
        EXPECT_NEAR(tables[t][s][col], tables[0][s][col], 1e-9 * std::fabs(tables[0][s][col]))
            << (t == 1 ? "other IDs" : "reversed") << ", column " << col;
  }
}

// A run split by write_restart / read_restart, in the middle of the
// workflow, ends exactly like the uninterrupted run.
TEST(FixNVDynWorkflow, RestartSplitEndsLikeUninterruptedRun)
{
  const std::string file = "nvdyn_split_np" + std::to_string(mpi_size()) + ".restart";
  std::vector<std::vector<double>> table_whole, table_split;
  std::vector<double> x_whole, v_whole, x_split, v_split;
  double step_whole = 0, step_split = 0;
  {
    Lammps l;
    l.cmds(lj_clusters(6));
    l.cmds({workflow, "run_style nvpipeline", "run 20000"});
    table_whole = sample_table(l, "nv");
    x_whole = l.gather3("x");
    v_whole = l.gather3("v");
    step_whole = l.equal("step");
  }
  {
    Lammps l;
    l.cmds(lj_clusters(6));
    l.cmds({workflow, "run 260"});
    // samples are spread over stages at the split
    auto mid = sample_table(l, "nv");
    std::set<double> stages;
    for (const auto &row : mid) stages.insert(row[1]);
    EXPECT_GE(stages.size(), 2u);
    l.cmd("write_restart " + file);
  }
  {
    Lammps l;
    l.cmds({"read_restart " + file, "pair_style lj/cut 2.5", "pair_coeff 1 1 1.0 1.0 2.5",
            "pair_modify shift yes", "neighbor 0.3 bin", "neigh_modify every 1 delay 0 check yes"});
    EXPECT_GE(l.equal("count(heat)") + l.equal("count(relax)"), 1) << "groups are in the file";
    l.cmds({workflow, "run_style nvpipeline", "run 20000 upto"});
    table_split = sample_table(l, "nv");
    x_split = l.gather3("x");
    v_split = l.gather3("v");
    step_split = l.equal("step");
  }
  EXPECT_EQ(step_split, step_whole);
  ASSERT_EQ(table_split.size(), table_whole.size());
  for (size_t s = 0; s < table_whole.size(); s++) {
    for (int col : {0, 1, 2, 5, 6}) EXPECT_EQ(table_split[s][col], table_whole[s][col]) << s;
    EXPECT_NEAR(table_split[s][3], table_whole[s][3], 1e-9 * std::fabs(table_whole[s][3]));
  }
  EXPECT_LE(max_rel_diff(x_split, x_whole), 1e-9);
  EXPECT_LE(max_rel_diff(v_split, v_whole), 1e-9);
  if (world_rank() == 0) remove(file.c_str());
}

// A restart file holding finished samples (timed out, frozen in the stage
// where they stopped) is read back with their outcomes and reasons, and a
// run from it leaves them frozen.
TEST(FixNVDynWorkflow, RestartKeepsFinishedSamples)
{
  const std::string file = "nvdyn_finished_np" + std::to_string(mpi_size()) + ".restart";
  const std::string fix = "fix nv all nvdyn samples molecule "
                          "stage relax fire until fmax 1e-14 every 5 maxsteps 30 "
                          "stage prod nve until steps 10";
  std::vector<std::vector<double>> before;
  std::vector<double> x_before;
  {
    Lammps l;
    l.cmds(lj_clusters(3));
    l.cmds({fix, "run 40"});
    before = sample_table(l, "nv");
    x_before = l.gather3("x");
    l.cmd("write_restart " + file);
  }
  for (const auto &row : before) EXPECT_EQ(row[5], 2) << "timed out in relax";
  Lammps l;
  l.cmds({"read_restart " + file, "pair_style lj/cut 2.5", "pair_coeff 1 1 1.0 1.0 2.5",
          "pair_modify shift yes", "neighbor 0.3 bin", "neigh_modify every 1 delay 0 check yes"});
  l.cmds({fix, "run 20"});
  const auto after = sample_table(l, "nv");
  ASSERT_EQ(after.size(), before.size());
  for (size_t s = 0; s < before.size(); s++)
    for (int col : {0, 1, 2, 5, 8}) EXPECT_EQ(after[s][col], before[s][col]) << s << ", " << col;
  EXPECT_EQ(l.gather3("x"), x_before) << "frozen";
  if (world_rank() == 0) remove(file.c_str());
}

// The per-atom index within the sample (extract "atom_index") is the rank
// of the atom's ID among the IDs of its sample, on any number of ranks:
// when the fix is defined, after atoms migrated between ranks, and after a
// restart (it is in the per-atom restart data).
TEST(FixNVDyn, AtomIndexIsTheRankOfTheIdInItsSample)
{
  const std::string file = "nvdyn_index_np" + std::to_string(mpi_size()) + ".restart";
  auto check_index = [](Lammps &l, const std::string &when) {
    int dim = -1;
    auto *sample = static_cast<int *>(l.fix("nv")->extract("sample", dim));
    EXPECT_EQ(dim, 1);
    auto *index = static_cast<int *>(l.fix("nv")->extract("atom_index", dim));
    EXPECT_EQ(dim, 1);
    ASSERT_TRUE(sample && index);
    // (sample, ID, index) of every atom, on every rank
    std::vector<long> mine;
    for (int i = 0; i < l.lmp->atom->nlocal; i++)
      mine.insert(mine.end(), {sample[i], (long) l.lmp->atom->tag[i], index[i]});
    int n = (int) mine.size(), size = mpi_size();
    std::vector<int> counts(size), displs(size, 0);
    MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
    for (int p = 1; p < size; p++) displs[p] = displs[p - 1] + counts[p - 1];
    std::vector<long> all(displs.back() + counts.back());
    MPI_Allgatherv(mine.data(), n, MPI_LONG, all.data(), counts.data(), displs.data(), MPI_LONG,
                   MPI_COMM_WORLD);
    std::map<long, std::vector<long>> ids;    // per sample, its IDs in increasing order
    for (size_t k = 0; k < all.size(); k += 3) ids[all[k]].push_back(all[k + 1]);
    for (auto &entry : ids) std::sort(entry.second.begin(), entry.second.end());
    EXPECT_EQ(ids.size(), 6u) << when;
    for (size_t k = 0; k < all.size(); k += 3) {
      const auto &list = ids[all[k]];
      const long rank = std::lower_bound(list.begin(), list.end(), all[k + 1]) - list.begin();
      EXPECT_EQ(all[k + 2], rank) << when << ": atom " << all[k + 1];
    }
  };
  {
    Lammps l;
    l.cmds(lj_clusters(6));
    // atom IDs in the order of spatial bins, not of the samples
    l.cmd("reset_atom_ids sort yes");
    l.cmds({"fix nv all nvdyn samples molecule stage md nve velocity 0.5 77 until steps 100000"});
    check_index(l, "defined");
    l.cmds({"run 200", "write_restart " + file});
    check_index(l, "after a run");
  }
  {
    Lammps l;
    l.cmds({"read_restart " + file});
    l.cmds(lj_cluster_potential());
    l.cmds({"fix nv all nvdyn samples molecule stage md nve velocity 0.5 77 until steps 100000"});
    check_index(l, "after read_restart");
  }
  if (world_rank() == 0) remove(file.c_str());
}

// Five two-atom samples with known fates: stage a (nve, 10 steps), then
// stage b (nve until fmax 1e-3, maxsteps 30). Molecules 1 and 2 rest in
// their minimum (done at the first check of b), 3 and 5 vibrate (time out
// in b), 4 gets an infinite force at step 5 (failed in a). At every step
// the stage and outcome groups hold exactly the atoms that the per-sample
// array places there; each finished sample is written to the sink once;
// the log has one row per sample every 5 steps with the array's values.
TEST(FixNVDynWorkflow, GroupsOutcomesSinkAndLog)
{
  const std::string tag = "_np" + std::to_string(mpi_size());
  const std::string sink = "nvdyn_fates" + tag + ".extxyz", log = "nvdyn_fates" + tag + ".csv";
  Lammps l;
  const double r0 = std::pow(2.0, 1.0 / 6.0);
  const double sep[5] = {r0, r0, 1.0, 1.1, 1.2};
  l.cmds({"units lj", "atom_style bond", "region box block 0 50 0 10 0 10", "create_box 1 box",
          "mass 1 1.0", "pair_style lj/cut 2.5", "pair_coeff 1 1 1.0 1.0 2.5", "neighbor 0.3 bin",
          "thermo_modify norm no", "timestep 0.002"});
  for (int k = 0; k < 5; k++) {
    const double x0 = 5 + 10 * k;
    l.cmd("create_atoms 1 single " + std::to_string(x0) + " 5 5");
    l.cmd("create_atoms 1 single " + std::to_string(x0 + sep[k]) + " 5 5");
  }
  l.cmds({"variable m atom 1+floor((id-1)/2)", "set group all mol v_m",
          "variable fx atom (mol==4)*(step>=5)*1e300*1e300",
          "fix nv all nvdyn samples molecule stage a nve until steps 10 "
          "stage b nve until fmax 1e-3 maxsteps 30 done fin failed bad timeout slow "
          "sink " +
              sink + " elements Ar log " + log + " every 5",
          "fix boom all addforce v_fx 0.0 0.0", "compute chunks all chunk/atom molecule",
          "compute pea all pe/atom", "compute pes all reduce/chunk chunks sum c_pea",
          "fix pes all ave/time 5 1 5 c_pes mode vector"});
  Fix *fix = l.fix("nv");
  const char *groups[] = {"a", "b", "fin", "bad", "slow"};
  std::map<int, std::vector<double>> logged;    // step -> energies of samples 1..5
  for (int t = 1; t <= 45; t++) {
    l.cmd("run 1 post no");
    double count[5] = {0, 0, 0, 0, 0};
    for (int s = 0; s < 5; s++) {
      int outcome = (int) fix->compute_array(s, 5), stage = (int) fix->compute_array(s, 1);
      int g = outcome == 0 ? stage - 1 : (outcome == 1 ? 2 : (outcome == 3 ? 3 : 4));
      count[g] += fix->compute_array(s, 6);
    }
    for (int g = 0; g < 5; g++)
      EXPECT_EQ(l.equal(std::string("count(") + groups[g] + ")"), count[g])
          << "step " << t << " group " << groups[g];
    for (int g = 0; g < 5; g++) EXPECT_EQ(fix->compute_vector(g) * 2, count[g]) << "step " << t;
    if (t % 5 == 0) {
      // energies of active samples on log steps: those of compute pe/atom,
      // summed per molecule by c_pes, which fix pes has computed on this
      // step (f_pes itself reads 0 past its first row in LAMMPS 4Feb2025:
      // fix ave/time keeps one row of a variable-length vector there)
      for (int s = 0; s < 5; s++) {
        logged[t].push_back(fix->compute_array(s, 3));
        if (fix->compute_array(s, 5) == 0)
          EXPECT_NEAR(fix->compute_array(s, 3), l.equal("c_pes[" + std::to_string(s + 1) + "]"),
                      1e-12)
              << "step " << t << " sample " << s + 1;
      }
    }
  }
  // fates
  const int expect_outcome[5] = {1, 1, 2, 3, 2};
  for (int s = 0; s < 5; s++) EXPECT_EQ(fix->compute_array(s, 5), expect_outcome[s]) << s + 1;
  EXPECT_EQ(fix->compute_array(3, 1), 1) << "failed in stage a";
  EXPECT_EQ(fix->compute_array(2, 2), 30) << "timed out after 30 steps in b";
  EXPECT_EQ(l.equal("pe"), 0.0) << "finished samples cost no pair work";
  l.cmd("unfix nv");    // closes the files
  if (world_rank() != 0) return;

  // sink: one frame per sample, each once
  auto lines = read_lines(sink);
  std::map<int, int> frames;
  for (size_t i = 0; i < lines.size();) {
    const int n = std::stoi(lines[i]);
    const std::string &head = lines[i + 1];
    ASSERT_EQ(n, 2);
    EXPECT_NE(head.find("Properties=species:S:1:pos:R:3:velocities:R:3:forces:R:3:id:I:1:type:I:1"),
              std::string::npos);
    const int sample = std::stoi(head.substr(head.find("sample=") + 7));
    frames[sample]++;
    const char *names[] = {"", "done", "timeout", "failed"};
    EXPECT_NE(head.find(std::string("outcome=") + names[expect_outcome[sample - 1]]),
              std::string::npos)
        << head;
    EXPECT_EQ(lines[i + 2].substr(0, 3), "Ar ");
    std::istringstream atom(lines[i + 2]);
    std::string species;
    double x, y, z;
    atom >> species >> x >> y >> z;
    EXPECT_NEAR(x, 5 + 10 * (sample - 1), 0.1) << "positions of sample " << sample;
    i += 2 + n;
  }
  EXPECT_EQ(frames, (std::map<int, int>{{1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}}));

  // log: a header, then 5 rows every 5 steps, energies as in the array
  lines = read_lines(log);
  ASSERT_EQ(lines.size(), 1u + 9 * 5);
  EXPECT_EQ(lines[0], "step,sample,stage,outcome,energy,fmax,temperature");
  for (size_t r = 1; r < lines.size(); r++) {
    std::istringstream row(lines[r]);
    std::string field[7];
    for (auto &f : field) std::getline(row, f, ',');
    const int step = std::stoi(field[0]), sample = std::stoi(field[1]);
    EXPECT_EQ(step, 5 * (int) ((r + 4) / 5));
    EXPECT_DOUBLE_EQ(std::stod(field[4]), logged[step][sample - 1]) << lines[r];
  }
  remove(sink.c_str());
  remove(log.c_str());
}

// 'nan stop' ends the run with an error naming the failed sample, after
// writing it to the sink.
TEST(FixNVDynWorkflow, NanStopIsAnErrorNamingTheSample)
{
  Lammps l;
  l.cmds(lj_clusters(2));
  l.cmds({"variable fx atom (mol==2)*(step>=3)*1e300*1e300",
          "fix nv all nvdyn samples molecule stage a nve nan stop",
          "fix boom all addforce v_fx 0.0 0.0"});
  std::string msg = l.error_of("run 10");
  EXPECT_NE(msg.find("sample 2 failed on step 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'nan stop'"), std::string::npos) << msg;
}

// Every stage keyword and style argument reaches the C core with its value
// (read back through extract("engine")), and the global keywords set the
// engine's settings.
TEST(FixNVDyn, EveryStageKeywordReachesTheEngine)
{
  Lammps l;
  l.cmds(lj_liquid(2));
  l.cmd("fix nv all nvdyn samples all "
        "stage f fire dt 0.004 every 3 maxsteps 900 tmax 8 tmin 0.03 delaystep 15 dtgrow 1.2 "
        "dtshrink 0.4 alpha0 0.2 alphashrink 0.98 vdfmax 1500 halfstepback no initialdelay no "
        "dmax 0.05 until fmax 0.01 de 1e-6 "
        "stage a fire/ase dt 0.05 maxstep 0.1 dtmax 0.8 nmin 4 finc 1.2 fdec 0.4 astart 0.2 "
        "fa 0.95 until fmax 0.02 "
        "stage l langevin 1.5 0.7 11 velocity 1.4 12 extra_dof 6 until steps 7 "
        "stage c csvr 1.6 0.8 13 until steps 8 "
        "stage n nhc 1.7 0.9 chain 5 until steps 9 "
        "stage v nve drift 0.01 until steps 10 "
        "fclamp 50 nan off");
  int dim = -1;
  auto *engine = static_cast<nvdyn_engine *>(l.fix("nv")->extract("engine", dim));
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(dim, 0);
  const std::vector<std::tuple<int, const char *, double>> params = {
      {0, "dt", 0.004},         {0, "every", 3},      {0, "maxsteps", 900},
      {0, "tmax", 8},           {0, "tmin", 0.03},    {0, "delaystep", 15},
      {0, "dtgrow", 1.2},       {0, "dtshrink", 0.4}, {0, "alpha0", 0.2},
      {0, "alphashrink", 0.98}, {0, "vdfmax", 1500},  {0, "halfstepback", 0},
      {0, "initialdelay", 0},   {0, "dmax", 0.05},    {1, "dt", 0.05},
      {1, "maxstep", 0.1},      {1, "dtmax", 0.8},    {1, "nmin", 4},
      {1, "finc", 1.2},         {1, "fdec", 0.4},     {1, "astart", 0.2},
      {1, "fa", 0.95},          {2, "temp", 1.5},     {2, "damp", 0.7},
      {2, "seed", 11},          {2, "velocity", 1.4}, {2, "velocity_seed", 12},
      {2, "extra_dof", 6},      {3, "temp", 1.6},     {3, "damp", 0.8},
      {3, "seed", 13},          {4, "temp", 1.7},     {4, "damp", 0.9},
      {4, "chain", 5},          {5, "drift", 0.01}};
  for (const auto &p : params) {
    double value = -1;
    ASSERT_EQ(nvdyn_stage_get(engine, std::get<0>(p), std::get<1>(p), &value), NVDYN_OK)
        << std::get<1>(p);
    EXPECT_DOUBLE_EQ(value, std::get<2>(p)) << "stage " << std::get<0>(p) << " " << std::get<1>(p);
  }
  double value = -1;
  ASSERT_EQ(nvdyn_engine_get(engine, "fclamp", &value), NVDYN_OK);
  EXPECT_EQ(value, 50);
  ASSERT_EQ(nvdyn_engine_get(engine, "nan", &value), NVDYN_OK);
  EXPECT_EQ(value, 0);
  int nstages = 0;
  ASSERT_EQ(nvdyn_engine_nstages(engine, &nstages), NVDYN_OK);
  EXPECT_EQ(nstages, 6);
}

// 'append yes' continues a log (and sink) file, with one header; without it
// the file starts over.
TEST(FixNVDyn, AppendContinuesTheLog)
{
  const std::string log = "nvdyn_append_np" + std::to_string(mpi_size()) + ".csv";
  Lammps l;
  l.cmds(lj_clusters(2));
  l.cmds({"fix nv all nvdyn samples molecule stage a nve log " + log + " every 2", "run 4",
          "unfix nv",
          "fix nv all nvdyn samples molecule stage a nve log " + log + " every 2 append yes",
          "run 4", "unfix nv"});
  if (world_rank() == 0) {
    auto lines = read_lines(log);
    ASSERT_EQ(lines.size(), 1u + 2 * 2 + 2 * 2);    // header, 2 samples at steps 2 4 6 8
    EXPECT_EQ(std::count(lines.begin(), lines.end(), lines[0]), 1);
    EXPECT_EQ(lines.back().substr(0, 2), "8,");
  }
  l.cmds({"fix nv all nvdyn samples molecule stage a nve log " + log + " every 2", "run 2",
          "unfix nv"});
  if (world_rank() == 0) {
    EXPECT_EQ(read_lines(log).size(), 1u + 2) << "without append the log starts over";
    remove(log.c_str());
  }
}

namespace {
struct HookTrace {
  std::vector<std::string> events;
  std::vector<double> fsum;    // sum of |f| over local atoms, per event
};
int trace_hook(nvdyn_engine *, const nvdyn_hook_info *info, void *user)
{
  static const char *const names[] = {"before_step",    "before_pre",    "after_pre",
                                      "before_compute", "after_compute", "before_post",
                                      "after_post",     "on_converge",   "after_step"};
  auto *trace = static_cast<HookTrace *>(user);
  trace->events.push_back(std::to_string(info->step) + ":" + names[info->point]);
  double sum = 0.0;
  const nvdyn_atoms *a = info->atoms;
  for (int i = 0; i < a->natoms; i++)
    for (int k = 0; k < 3; k++)
      sum += std::fabs(a->f.data[i * a->f.atom_stride + k * a->f.comp_stride]);
  trace->fsum.push_back(sum);
  return 0;
}
}    // namespace

// C hooks added through extract("engine") fire at the nine points in step
// order. BEFORE_COMPUTE sees the cleared forces, AFTER_COMPUTE the pair
// forces: under nvpipeline before the post_force of a fix addforce defined
// earlier, under verlet after it (fix order).
TEST(FixNVDyn, HookPointsAroundTheForceEvaluation)
{
  for (const std::string style : {"nvpipeline", "verlet"}) {
    Lammps l;
    l.cmds(lj_liquid(2));
    l.cmds({"fix push all addforce 1000.0 0.0 0.0",
            "fix nv all nvdyn samples all stage a nve until steps 2", "run_style " + style,
            "run 0 post no"});
    int dim = 0;
    auto *engine = static_cast<nvdyn_engine *>(l.fix("nv")->extract("engine", dim));
    HookTrace trace;
    for (int p = 0; p < NVDYN_NHOOK_POINTS; p++)
      ASSERT_EQ(nvdyn_hook_add(engine, (nvdyn_hook_point) p, 1, trace_hook, &trace), NVDYN_OK);
    l.cmd("run 2 post no");
    std::vector<std::string> expect;
    for (const char *step : {"1:", "2:"})
      for (const char *p : {"before_step", "before_pre", "after_pre", "before_compute",
                            "after_compute", "before_post", "after_post"})
        expect.push_back(std::string(step) + p);
    expect.insert(expect.begin() + 7, "1:after_step");
    expect.push_back("2:on_converge");
    expect.push_back("2:after_step");
    EXPECT_EQ(trace.events, expect) << style;
    const double natoms_local = l.lmp->atom->nlocal;
    EXPECT_EQ(trace.fsum[3], 0.0) << style << ": forces are cleared before the computation";
    if (natoms_local > 0) {
      // the added force is 1000 per atom in x; LJ forces in this liquid are far smaller
      const bool with_push = trace.fsum[4] > 500.0 * natoms_local;
      EXPECT_EQ(with_push, style == "verlet") << style << ": " << trace.fsum[4];
      EXPECT_GT(trace.fsum[5], 500.0 * natoms_local) << "post_update sees all forces";
    }
  }
}

// Per-atom energies are tallied only on the steps that need them: the end
// of each step passes them to the engine (atoms->pe of its AFTER_STEP hooks)
// on the first and last step of a run, on check steps of a stage with an
// energy criterion, on log steps, and on a fix halt's steps; an fmax-only
// stage whose samples do not finish needs none in between.
TEST(FixNVDyn, EnergiesOnlyOnTheStepsThatNeedThem)
{
  struct Case {
    std::string fix_args, extra;
    std::vector<int64_t> steps;
    int nsteps;
  };
  // samples that finish without energies (fmax 1e9 holds at the check of
  // step 3) get them at most ENERGY_WAIT (10) steps later, or at the end
  const std::vector<Case> cases = {
      {"stage relax fire until fmax 1e-12", "", {1, 12}, 12},
      {"stage relax fire until fmax 1e-12 de 1e-30 every 4", "", {1, 4, 8, 12}, 12},
      {"stage relax fire until fmax 1e-12 log /dev/null every 5", "", {1, 5, 10, 12}, 12},
      {"stage relax fire until fmax 1e-12", "fix stop all halt 6 v_zero == 1", {1, 6, 12}, 12},
      {"stage relax fire until fmax 1e9 every 3", "", {1, 13, 20}, 20},
      {"stage relax fire until fmax 1e9 every 3", "", {1, 12}, 12},
      {"stage relax fire until fmax 1e9 every 3 log /dev/null every 8", "", {1, 8, 16, 20}, 20}};
  for (const auto &c : cases) {
    Lammps l;
    l.cmds(lj_clusters(2));
    l.cmds({"variable zero equal 0", "fix nv all nvdyn samples molecule " + c.fix_args});
    if (!c.extra.empty()) l.cmd(c.extra);
    int dim = 0;
    auto *engine = static_cast<nvdyn_engine *>(l.fix("nv")->extract("engine", dim));
    std::vector<int64_t> steps;
    auto hook = [](nvdyn_engine *, const nvdyn_hook_info *info, void *user) {
      if (info->atoms->pe) static_cast<std::vector<int64_t> *>(user)->push_back(info->step);
      return 0;
    };
    ASSERT_EQ(nvdyn_hook_add(engine, NVDYN_AFTER_STEP, 1, hook, &steps), NVDYN_OK);
    l.cmd("run " + std::to_string(c.nsteps));
    EXPECT_EQ(steps, c.steps) << c.fix_args << " " << c.extra;
  }
}
