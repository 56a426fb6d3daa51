// fix nvdyn in LAMMPS, loaded as a plugin. Run by ctest on 1 and 2 MPI ranks.
#include "lammps_harness.h"

#include <algorithm>
#include <cmath>
#include <set>

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
      {"samples all stage a nve extra_dof -1", "stage a extra_dof: "},
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
      {"samples all stage a nve sink f.xyz elements 1Ar", "elements: '1Ar' is not a species name"},
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
                .find("group 'a' belongs to fix nvdyn good"),
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
