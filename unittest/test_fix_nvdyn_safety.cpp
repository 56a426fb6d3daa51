// fix nvdyn: one bad sample never hurts another sample or the run.
// Each test runs a batch of Lennard-Jones clusters (molecules) with one bad
// sample, and the same batch without the fault; the other samples must end
// exactly as they do there (neighbor lists rebuilt on every step in both,
// so that the order of the force sums is the same), the bad one fails with
// its reason, and the run and the commands after it go on.
#include "lammps_harness.h"

#include "domain.h"
#include "update.h"

#include <fstream>
#include <map>
#include <memory>

namespace {

enum {
  COL_ID,
  COL_STAGE,
  COL_STEPS,
  COL_ENERGY,
  COL_FMAX,
  COL_OUTCOME,
  COL_ATOMS,
  COL_TEMP,
  COL_REASON
};
enum { ACTIVE = 0, DONE = 1, TIMEOUT = 2, FAILED = 3 };
enum { NAN_REASON = 1, UNSTABLE = 2, ESCAPED = 6, LOST = 7 };

std::string tagged(const std::string &name)
{
  return name + "_np" + std::to_string(mpi_size());
}

// clusters 14 sigma apart, neighbor lists built on every step
std::vector<std::string> batch(int n, const std::string &boundary = "p p p")
{
  std::vector<std::string> cmds = lj_clusters(n);
  cmds.insert(cmds.begin() + 2, "boundary " + boundary);
  cmds.push_back("neigh_modify every 1 delay 0 check no");
  return cmds;
}

// positions (x, y, z) of the atoms of molecule mol, in the order of atom IDs
std::vector<double> molecule_x(Lammps &l, int mol)
{
  const int natoms = (int) lammps_get_natoms(l.lmp);
  std::vector<double> x = l.gather3("x");
  std::vector<int> m(natoms);
  lammps_gather_atoms(l.lmp, const_cast<char *>("molecule"), 0, 1, m.data());
  std::vector<double> out;
  for (int i = 0; i < natoms; i++)
    if (m[i] == mol) out.insert(out.end(), &x[3 * i], &x[3 * i + 3]);
  return out;
}

// ID, x, y, z and unwrapped x of the atoms of molecule mol, by atom ID
std::vector<std::vector<double>> atoms_of(Lammps &l, int mol)
{
  const int natoms = (int) lammps_get_natoms(l.lmp);
  std::vector<double> x = l.gather3("x");
  std::vector<int> m(natoms), id(natoms), image(natoms);
  lammps_gather_atoms(l.lmp, const_cast<char *>("molecule"), 0, 1, m.data());
  lammps_gather_atoms(l.lmp, const_cast<char *>("id"), 0, 1, id.data());
  lammps_gather_atoms(l.lmp, const_cast<char *>("image"), 0, 1, image.data());
  const double xprd = l.lmp->domain->xprd;
  std::vector<std::vector<double>> out;
  for (int i = 0; i < natoms; i++) {
    const int ix = (image[i] & IMGMASK) - IMGMAX;
    if (m[i] == mol)
      out.push_back({(double) id[i], x[3 * i], x[3 * i + 1], x[3 * i + 2], x[3 * i] + ix * xprd});
  }
  return out;
}

std::vector<double> first_atom(Lammps &l, int mol)
{
  return atoms_of(l, mol).at(0);
}

// one more atom at (x, y, z), in molecule mol
std::vector<std::string> add_atom(double x, double y, double z, int mol)
{
  return {fmt::format("create_atoms 1 single {:.17g} {:.17g} {:.17g} units box", x, y, z),
          "variable m0 atom mol==0",
          "group new variable m0",
          "set group new mol " + std::to_string(mol),
          "group new delete",
          "variable m0 delete"};
}

double cell(Lammps &l, const std::string &fix, int sample, int col)
{
  return l.fix(fix)->compute_array(sample, col);
}

// the fate of every sample and the positions of every molecule
struct Result {
  std::vector<std::vector<double>> rows, x;
  LAMMPS_NS::bigint step;
};

Result result(Lammps &l, int n)
{
  Result r;
  for (int s = 0; s < n; s++) {
    std::vector<double> row;
    for (int c = 0; c <= COL_REASON; c++) row.push_back(cell(l, "nv", s, c));
    r.rows.push_back(row);
    r.x.push_back(molecule_x(l, s + 1));
  }
  r.step = l.lmp->update->ntimestep;
  return r;
}

// sample `bad` of `got` failed with `reason`; every other sample ended as
// in `ref`: the same outcome, stage and steps, and energy and positions to
// round-off (1e-10): a sample's sums over its atoms (energy; FIRE's v.f and
// norms) are added in the order of the atoms in LAMMPS's arrays, which
// LAMMPS's spatial sorting interleaves with other samples' atoms)
void expect_contained(const Result &got, const Result &ref, int bad, int reason)
{
  for (size_t s = 0; s < got.rows.size(); s++) {
    if ((int) s == bad) {
      EXPECT_EQ(got.rows[s][COL_OUTCOME], FAILED) << "sample " << s + 1;
      EXPECT_EQ(got.rows[s][COL_REASON], reason) << "sample " << s + 1;
      continue;
    }
    for (int c : {COL_OUTCOME, COL_STAGE, COL_STEPS, COL_ATOMS, COL_REASON})
      EXPECT_EQ(got.rows[s][c], ref.rows[s][c]) << "sample " << s + 1 << " column " << c;
    EXPECT_NEAR(got.rows[s][COL_ENERGY], ref.rows[s][COL_ENERGY],
                1e-10 * std::fabs(ref.rows[s][COL_ENERGY]))
        << "sample " << s + 1;
    ASSERT_EQ(got.x[s].size(), ref.x[s].size());
    EXPECT_LT(max_rel_diff(got.x[s], ref.x[s]), 1e-10) << "sample " << s + 1 << " moved otherwise";
  }
  for (const auto &x : got.x)
    for (double v : x) EXPECT_TRUE(std::isfinite(v));
}

const char *const relax = "fix nv all nvdyn samples molecule stage relax fire until fmax 1e-4 "
                          "maxsteps 4000 stage md nve until steps 50";

std::vector<std::string> read_lines(const std::string &path)
{
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}    // namespace

// A fragment of one sample flying at 20 sigma/tau through another cluster
// changes nothing there: pairs of two samples' atoms are not in the
// neighbor lists. With the escape guard off it crosses the box.
TEST(Isolation, AFastFragmentPassesThroughAnotherSampleUnfelt)
{
  const int n = 4;
  double xu = 0.0;    // unwrapped x of the fragment
  auto run = [&](bool hot) {
    Lammps l;
    l.cmds(batch(n));
    const std::vector<double> a = first_atom(l, 1);    // cluster 1 is at (7, 7, 7)
    // it starts 3.5 sigma from cluster 1, on the line to cluster 2 (21, 7, 7)
    l.cmd(fmt::format("set atom {} x {} y 7 z 7", (int) a[0], 7 + 3.5));
    if (hot) l.cmd(fmt::format("set atom {} vx 20", (int) a[0]));
    l.cmds({"fix nv all nvdyn samples molecule stage md nve escape off", "run 250"});
    xu = first_atom(l, 1)[4];
    return result(l, n);
  };
  const Result ref = run(false), got = run(true);
  for (int s = 1; s < n; s++) EXPECT_EQ(got.x[s], ref.x[s]) << "sample " << s + 1;
  // the fragment went through cluster 2 (x = 21) and on: from 10.5 by
  // about 20 * 250 * 0.005 = 25
  EXPECT_GT(xu, 24.0);
  EXPECT_EQ(got.rows[0][COL_OUTCOME], ACTIVE);
}

// With the escape guard (default margin: the neighbor cutoff), the sample
// whose atom leaves it fails (reason escaped) before the atom gets far;
// its frame says why; the others are untouched.
TEST(Containment, EscapedAtomFailsItsSample)
{
  const int n = 4;
  const std::string sink = tagged("nvdyn_escape") + ".extxyz";
  double xu = 0.0;
  auto run = [&](bool hot) {
    Lammps l;
    l.cmds(batch(n));
    const std::vector<double> a = first_atom(l, 1);
    if (hot) l.cmd(fmt::format("set atom {} vx 20", (int) a[0]));
    l.cmds({"fix nv all nvdyn samples molecule stage md nve until steps 300 sink " +
                (hot ? sink : tagged("nvdyn_escape_ref") + ".extxyz"),
            "run_style nvpipeline", "run 10000"});
    xu = first_atom(l, 1)[4];
    return result(l, n);
  };
  const Result ref = run(false), got = run(true);
  expect_contained(got, ref, 0, ESCAPED);
  EXPECT_LT(xu, 21.0 - 3.0) << "the atom stopped before it reached cluster 2";
  int frames = 0;
  for (const auto &line : read_lines(sink)) {
    if (line.find("sample=1 ") != std::string::npos) {
      EXPECT_NE(line.find("outcome=failed reason=escaped"), std::string::npos) << line;
      frames++;
    }
  }
  EXPECT_EQ(frames, 1);
}

// Non-finite forces at the start of a run (an atom duplicated in cluster 2:
// LJ at r = 0) fail that sample before its atoms move: LAMMPS never sees a
// NaN coordinate, and the others relax as they do without it.
TEST(Containment, NonFiniteForcesAtTheStartFailOnlyTheirSample)
{
  const int n = 4;
  std::vector<double> x2_start;
  std::string after;
  auto run = [&](bool bad) {
    Lammps l;
    l.cmds(batch(n));
    x2_start = molecule_x(l, 2);
    if (bad) {
      const std::vector<double> a = first_atom(l, 2);
      l.cmds(add_atom(a[1], a[2], a[3], 2));
    }
    l.cmds({relax, "run_style nvpipeline", "run 10000"});
    Result r = result(l, n);
    after = l.error_of("run 10");
    return r;
  };
  const Result ref = run(false), got = run(true);
  expect_contained(got, ref, 1, NAN_REASON);
  // cluster 2 did not move at all (the duplicate, with the highest ID, is last)
  EXPECT_EQ(std::vector<double>(got.x[1].begin(), got.x[1].end() - 3), x2_start);
  EXPECT_EQ(after, "") << "the rest of the input goes on";
}

// A NaN/inf force defined between runs (fix addforce with an infinite
// variable on one atom of cluster 3) fails that sample at the first step of
// the next run, before its atoms move.
TEST(Containment, InfiniteForceDefinedBetweenRunsFailsOnlyItsSample)
{
  const int n = 4;
  auto run = [&](bool bad) {
    Lammps l;
    l.cmds(batch(n));
    l.cmds({relax, "run 20"});
    if (bad) {
      const std::vector<double> a = first_atom(l, 3);
      l.cmds({fmt::format("group one id {}", (int) a[0]), "variable big equal 1e308*10",
              "fix push one addforce v_big 0 0"});
    }
    l.cmds({"run_style nvpipeline", "run 10000"});
    return result(l, n);
  };
  const Result ref = run(false), got = run(true);
  expect_contained(got, ref, 2, NAN_REASON);
  EXPECT_EQ(got.rows[2][COL_STEPS], 20) << "it stopped where the first run left it";
}

// An exploding sample (two atoms of cluster 4 0.05 sigma apart: forces of
// about 1e18) in an MD stage fails (reason unstable) before an atom flies
// out of the box, in periodic and fixed boxes, with or without fclamp; the
// others end as without it, and no atom is lost.
TEST(Containment, ExplodingSampleFailsAloneInPeriodicAndFixedBoxes)
{
  const int n = 4;
  for (const std::string boundary : {"p p p", "f f f"}) {
    for (const std::string clamp : {"", " fclamp 1e6"}) {
      SCOPED_TRACE("boundary " + boundary + clamp);
      double natoms = 0.0, counted = 0.0;
      auto run = [&](bool bad) {
        Lammps l;
        l.cmds(batch(n, boundary));
        if (bad) {
          const std::vector<double> a = first_atom(l, 4);
          l.cmds(add_atom(a[1] + 0.05, a[2], a[3], 4));
        }
        natoms = (double) lammps_get_natoms(l.lmp);
        l.cmds({"fix nv all nvdyn samples molecule stage md nve velocity 0.1 4711 until steps "
                "200" +
                    clamp,
                "run_style nvpipeline", "run 1000"});
        counted = l.equal("count(all)");
        return result(l, n);
      };
      const Result ref = run(false), got = run(true);
      expect_contained(got, ref, 3, UNSTABLE);
      EXPECT_EQ(counted, natoms) << "no atom lost";
    }
  }
}

// Velocities drawn at an absurd temperature on entering a stage fail the
// samples before they move: 1e300 makes steps far beyond the skin
// (unstable), 1e308 overflows the sum of m v^2 (nan). The run ends.
TEST(Containment, AbsurdVelocityFailsTheSamplesBeforeTheyMove)
{
  for (const auto &tr : {std::make_pair("1e300", UNSTABLE), std::make_pair("1e308", NAN_REASON)}) {
    Lammps l;
    l.cmds(batch(2));
    const std::vector<double> x0 = l.gather3("x");
    l.cmds({std::string("fix nv all nvdyn samples molecule stage md nve velocity ") + tr.first +
                " 5 until steps 10",
            "run_style nvpipeline", "run 100"});
    for (int s = 0; s < 2; s++) {
      EXPECT_EQ(cell(l, "nv", s, COL_OUTCOME), FAILED) << tr.first;
      EXPECT_EQ(cell(l, "nv", s, COL_REASON), tr.second) << tr.first;
    }
    EXPECT_EQ(l.gather3("x"), x0) << tr.first;
    EXPECT_EQ(l.lmp->update->ntimestep, 1);
  }
}

// Atoms deleted between runs: a sample with fewer atoms than it was
// defined with fails (reason lost), also one with none left; the atom count
// column and its sink frame show the atoms it has now.
TEST(Containment, SamplesThatLostAtomsFail)
{
  const int n = 4;
  const std::string sink = tagged("nvdyn_lost") + ".extxyz";
  Lammps l;
  l.cmds(batch(n));
  l.cmds({std::string(relax) + " sink " + sink, "run 5"});
  const double natoms2 = cell(l, "nv", 1, COL_ATOMS);
  const auto two = atoms_of(l, 2);
  l.cmds({fmt::format("group gone id {} {} {}", (int) two[0][0], (int) two[1][0], (int) two[2][0]),
          "group three molecule 3", "delete_atoms group gone", "delete_atoms group three",
          "run_style nvpipeline", "run 10000"});
  EXPECT_EQ(cell(l, "nv", 1, COL_OUTCOME), FAILED);
  EXPECT_EQ(cell(l, "nv", 1, COL_REASON), LOST);
  EXPECT_EQ(cell(l, "nv", 1, COL_ATOMS), natoms2 - 3);
  EXPECT_EQ(cell(l, "nv", 2, COL_OUTCOME), FAILED);
  EXPECT_EQ(cell(l, "nv", 2, COL_REASON), LOST);
  EXPECT_EQ(cell(l, "nv", 2, COL_ATOMS), 0);
  EXPECT_EQ(cell(l, "nv", 0, COL_OUTCOME), DONE);
  EXPECT_EQ(cell(l, "nv", 3, COL_OUTCOME), DONE);
  l.cmd("unfix nv");
  std::map<int, std::pair<int, std::string>> frames;    // sample -> atoms, comment
  const auto lines = read_lines(sink);
  for (size_t i = 0; i + 1 < lines.size(); i++) {
    const auto p = lines[i + 1].find("sample=");
    if (p == std::string::npos || lines[i + 1].find("Properties=") == std::string::npos) continue;
    const int s = std::stoi(lines[i + 1].substr(p + 7));
    EXPECT_EQ(frames.count(s), 0u) << "sample " << s << " written twice";
    frames[s] = {std::stoi(lines[i]), lines[i + 1]};
  }
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(frames[2].first, natoms2 - 3);
  EXPECT_NE(frames[2].second.find("outcome=failed reason=lost"), std::string::npos);
  EXPECT_EQ(frames[3].first, 0);
  EXPECT_NE(frames[1].second.find("outcome=done reason=none"), std::string::npos);
}

// compute chunk/atom molecule numbers chunks up to the largest molecule ID:
// with IDs 1, 2 and 100000 there are 3 samples, not 100000, and an energy
// criterion is met by each.
TEST(Definitions, ChunksWithoutAtomsAreNoSamples)
{
  Lammps l;
  l.cmds({"units lj",
          "atom_style bond",
          "region box block 0 30 0 10 0 10",
          "create_box 1 box",
          "mass 1 1.0",
          "pair_style lj/cut 2.5",
          "pair_coeff 1 1 1.0 1.0 2.5",
          "create_atoms 1 single 5 5 5",
          "create_atoms 1 single 6.2 5 5",
          "create_atoms 1 single 15 5 5",
          "create_atoms 1 single 16.3 5 5",
          "create_atoms 1 single 25 5 5",
          "create_atoms 1 single 26.1 5 5",
          "set atom 1*2 mol 1",
          "set atom 3*4 mol 2",
          "set atom 5*6 mol 100000",
          "compute mols all chunk/atom molecule",
          "fix nv all nvdyn samples c_mols stage relax fire until de 1e-10 fmax 1e-4",
          "run_style nvpipeline",
          "run 10000"});
  ASSERT_EQ(l.fix("nv")->size_array_rows, 3);
  const double ids[3] = {1, 2, 100000};
  for (int s = 0; s < 3; s++) {
    EXPECT_EQ(cell(l, "nv", s, COL_ID), ids[s]);
    EXPECT_EQ(cell(l, "nv", s, COL_OUTCOME), DONE);
  }
  EXPECT_LT(l.lmp->update->ntimestep, 10000);
}

// Reserved and foreign group names are errors that name the group.
TEST(Definitions, ReservedAndForeignGroupNamesAreErrors)
{
  Lammps l;
  l.cmds(batch(4));
  l.cmds({"group two molecule 2", "group one molecule 1", "group mix molecule 1 2",
          "group inner molecule 2"});
  EXPECT_NE(l.error_of("fix nv all nvdyn samples molecule stage nv_frozen nve")
                .find("stage name 'nv_frozen' is reserved for the frozen atoms of fix nv"),
            std::string::npos);
  EXPECT_NE(l.error_of("fix nv two nvdyn samples molecule stage one nve")
                .find("stage name 'one' is an existing group with"),
            std::string::npos);
  EXPECT_NE(l.error_of("fix nv two nvdyn samples molecule stage a nve done mix")
                .find("done group 'mix' is an existing group with"),
            std::string::npos);
  // one fix's stage group cannot be another fix's frozen group
  l.cmd("fix a one nvdyn samples molecule stage b_frozen nve done d1 failed f1 timeout t1");
  EXPECT_NE(l.error_of("fix b two nvdyn samples molecule stage x nve done d2 failed f2 timeout t2")
                .find("frozen group 'b_frozen' is a group of fix nvdyn a"),
            std::string::npos);
  // the compute the fix makes for its energies must not exist; nothing is left
  const int ngroup = l.lmp->group->ngroup;
  l.cmd("compute zz_pe all pe/atom");
  EXPECT_NE(l.error_of("fix zz all nvdyn samples molecule stage zz1 nve done d4 failed f4 "
                       "timeout t4")
                .find("a compute with ID 'zz_pe' exists"),
            std::string::npos);
  EXPECT_EQ(l.lmp->group->ngroup, ngroup);
  // a group wholly inside the fix group (as restart files leave them) is taken
  EXPECT_EQ(l.error_of("fix c two nvdyn samples molecule stage inner nve done d3 failed f3 "
                       "timeout t3"),
            "");
}

// Errors of the core that used to end in MPI_Abort without a message (here
// a time step of 0 between runs) are collective errors in log.lammps.
TEST(Messages, CoreErrorsReachTheLogFile)
{
  const std::string log = tagged("nvdyn_msg") + ".log";
  {
    Lammps l({"-log", log});
    l.cmds(batch(2));
    l.cmds({"fix nv all nvdyn samples molecule stage md nve", "run 2", "timestep 0"});
    const std::string msg = l.error_of("run 2");
    EXPECT_NE(msg.find("Fix nvdyn timestep"), std::string::npos) << msg;
  }
  MPI_Barrier(MPI_COMM_WORLD);    // rank 0 has closed the log
  bool found = false;
  for (const auto &line : read_lines(log))
    found |= line.find("ERROR: Fix nvdyn timestep") != std::string::npos;
  EXPECT_TRUE(found) << "the error is in " << log;
}

// A fix defined after read_restart must match the one that wrote the file:
// the same group, sample definition, stage styles and parameters, and the
// same atoms in every sample; a mismatch is an error naming what differs.
TEST(Definitions, RestartChecksTheFingerprintOfTheDefinition)
{
  const std::string file = tagged("nvdyn_fingerprint") + ".restart";
  const std::string fix = "fix nv all nvdyn samples molecule stage relax fire until fmax 1e-4 "
                          "stage md nve until steps 50";
  std::string id1;
  {
    Lammps l;
    l.cmds(batch(3));
    l.cmds({fix, "run 20", "write_restart " + file});
    id1 = std::to_string((int) first_atom(l, 1)[0]);
  }
  auto error_after_restart = [&](const std::vector<std::string> &cmds) {
    Lammps r;
    r.cmds({"read_restart " + file, "pair_style lj/cut 2.5", "pair_coeff 1 1 1.0 1.0 2.5"});
    r.cmds(std::vector<std::string>(cmds.begin(), cmds.end() - 1));
    const std::string msg = r.error_of(cmds.back());
    // a fix that did not continue (LAMMPS keeps it) refuses to run
    if (!msg.empty())
      EXPECT_NE(r.error_of("run 1").find("could not continue from the restart file"),
                std::string::npos);
    return msg;
  };
  EXPECT_EQ(error_after_restart({fix}), "");
  std::string msg = error_after_restart(
      {"fix nv all nvdyn samples molecule stage relax fire until fmax 1e-4 stage md langevin 0.1 "
       "1.0 5 until steps 50"});
  EXPECT_NE(msg.find("not defined as in the restart file: there 'stage md nve until steps 50', "
                     "here 'stage md langevin temp 0.10000000000000001 damp 1 seed 5 until "
                     "steps 50'"),
            std::string::npos)
      << msg;
  msg = error_after_restart({"fix nv all nvdyn samples molecule stage relax fire until fmax 1e-3 "
                             "stage md nve until steps 50"});
  EXPECT_NE(msg.find("there 'stage relax fire until fmax 0.0001', here 'stage relax fire until "
                     "fmax 0.001'"),
            std::string::npos)
      << msg;
  msg = error_after_restart({"group every union all",
                             "fix nv every nvdyn samples molecule stage "
                             "relax fire until fmax 1e-4 stage md nve until steps 50"});
  EXPECT_NE(msg.find("there 'fix group all', here 'fix group every'"), std::string::npos) << msg;
  msg = error_after_restart({"set atom " + id1 + " mol 2", fix});
  EXPECT_NE(msg.find("sample 1 holds other atoms than in the restart file"), std::string::npos)
      << msg;
}

// compute chunk/atom keeps the chunk IDs of its last evaluation on a step:
// a fix defined again on the same step after atoms were deleted or added
// gets fresh ones (found by the fuzz test: stale IDs wrote out of bounds).
TEST(Definitions, ChunkSamplesAreAssignedAfreshOnTheSameStep)
{
  Lammps l;
  l.cmds(batch(3));
  const double n2 = (double) atoms_of(l, 2).size(), n3 = (double) atoms_of(l, 3).size();
  const std::string fix = "fix nv all nvdyn samples c_mols stage a nve";
  l.cmds({"compute mols all chunk/atom molecule", "group m1 molecule 1", fix, "unfix nv",
          "delete_atoms group m1", fix});
  ASSERT_EQ(l.fix("nv")->size_array_rows, 2);
  EXPECT_EQ(cell(l, "nv", 0, COL_ID), 2);
  EXPECT_EQ(cell(l, "nv", 0, COL_ATOMS), n2);
  EXPECT_EQ(cell(l, "nv", 1, COL_ATOMS), n3);
  l.cmds({"unfix nv", "create_atoms 1 single 3 3 3"});
  EXPECT_NE(l.error_of(fix).find("1 atoms of the fix group are in no chunk of compute 'mols'"),
            std::string::npos);
  // a new molecule ID on the same step: beyond the chunks counted on it
  l.cmds({"variable m0 atom mol==0", "group new variable m0", "set group new mol 9"});
  EXPECT_NE(l.error_of(fix).find("1 atoms of the fix group are in no chunk of compute 'mols'"),
            std::string::npos);
  EXPECT_EQ(l.fix("nv"), nullptr);
}

// rerun calls the fix's end_of_step() on each snapshot without a step: the
// samples do not advance, and a criterion that needs energies is no error;
// a run after it goes on from where the samples were.
TEST(Definitions, RerunLeavesTheSamplesAlone)
{
  const std::string dump = tagged("nvdyn_rerun") + ".dump";
  Lammps l;
  l.cmds(batch(2));
  l.cmds({"fix nv all nvdyn samples molecule stage a fire until de 1e-12 every 3 maxsteps 500",
          "run 7", "write_dump all custom " + dump + " id type x y z modify sort id"});
  const double steps = cell(l, "nv", 0, COL_STEPS);
  EXPECT_EQ(l.error_of("rerun " + dump + " dump x y z"), "");
  EXPECT_EQ(cell(l, "nv", 0, COL_STEPS), steps);
  EXPECT_EQ(l.error_of("run 13"), "");
  EXPECT_EQ(cell(l, "nv", 0, COL_STEPS), steps + 13);
}
