// Fuzz test of fix nvdyn and run_style nvpipeline (ctest "fuzz", one rank).
//
// For a bounded wall time (NVDYN_FUZZ_SECONDS, default 120) it runs cases
// 0, 1, 2, ... of seed NVDYN_FUZZ_SEED (default 1). Case k is a function of
// (seed, k) only, so any case is reproduced on its own with NVDYN_FUZZ_CASE=k
// (NVDYN_FUZZ_FIRST=k starts there, NVDYN_FUZZ_CASES=n stops after n cases
// instead of after the time budget). Each case is one fresh LAMMPS instance
// with the plugin loaded, one of a few small systems of Lennard-Jones
// clusters (setups, printed once at the start), then a command sequence:
//  (a) a fix nvdyn command from a corpus of valid commands covering every
//      keyword, with random token mutations, then runs under verlet or
//      nvpipeline, a second run, unfix, re-definition, restart cycles;
//  (b) misuse sequences: mutated run_style nvpipeline, two fix nvdyn, unfix
//      between runs, deleted stage groups, timestep 0, rerun, minimize,
//      delete_atoms, overlapping atoms, huge velocities and forces, lost
//      atoms ignored, neighbor exclusions removed, output fixes, ...
// A case passes when every command succeeds or raises a LAMMPS error whose
// message says what is wrong, and every successful run that starts with
// finite coordinates ends with finite coordinates (unless a fix nvdyn has
// 'nan off' or another fix integrates atoms). It fails on a crash, a hang
// (a per-case watchdog, NVDYN_FUZZ_CASE_SECONDS, default 20), a non-LAMMPS
// C++ exception, an error without a message, or non-finite coordinates.
// Every case is printed to stderr before it runs (about 25 MB in 120 s;
// NVDYN_FUZZ_QUIET=1 leaves that out); a failure, crash or hang prints the
// whole input that reproduces it, and crashes and hangs a backtrace (for
// lmp -in, or for NVDYN_FUZZ_REPLAY=file, which runs the commands of a file
// as one case). Known crashes and hangs of LAMMPS 29Sep2021 itself are
// avoided (see avoid_lammps_crashes, repair_lammps, atoms_far_away).
// NVDYN_FUZZ_MESSAGES=1 also prints every distinct error message seen, and
// NVDYN_FUZZ_FIND=text prints the input of each case with an error
// message that contains text.
#include "lammps_harness.h"

#include "nvdyn.h"

#include "domain.h"
#include "output.h"
#include "thermo.h"
#include "update.h"

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <typeinfo>

#include <execinfo.h>
#include <unistd.h>

namespace {

// ---------------------------------------------------------------------------
// deterministic random numbers (splitmix64): the same cases on every platform

struct Rng {
  uint64_t s;
  Rng(uint64_t seed, uint64_t stream) :
      s(seed * 0x9E3779B97F4A7C15ull + stream * 0xD1B54A32D192ED03ull)
  {
    next();
  }
  uint64_t next()
  {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  int below(int n) { return (int) (next() % (uint64_t) n); }
  bool chance(double p) { return (double) (next() >> 11) * (1.0 / 9007199254740992.0) < p; }
  template <class T> const T &pick(const std::vector<T> &v) { return v[below((int) v.size())]; }
};

long env_long(const char *name, long dflt)
{
  const char *v = getenv(name);
  return v && *v ? strtol(v, nullptr, 10) : dflt;
}

// ---------------------------------------------------------------------------
// systems

// computes and variables the commands use; groups g1, g2 (molecules 1, 2)
std::vector<std::string> extras(bool with_groups)
{
  std::vector<std::string> cmds;
  if (with_groups) cmds = {"group g1 molecule 1", "group g2 molecule 2"};
  cmds.insert(cmds.end(),
              {"compute mols all chunk/atom molecule",
               "compute bins all chunk/atom bin/1d x lower 14.0 units box",
               "variable inf atom (mol==1)*1e300*1e300", "variable big atom (mol==1)*1e30",
               "variable stp equal step", "variable ox atom x[1]", "variable oy atom y[1]",
               "variable oz atom z[1]", "thermo 10"});
  return cmds;
}

struct Setup {
  std::string name;
  std::vector<std::string> cmds;
};

const std::vector<Setup> &setups()
{
  static std::vector<Setup> all;
  if (all.empty()) {
    const std::pair<int, const char *> kinds[] = {
        {2, "bond"}, {3, "full"}, {4, "bond"}, {5, "full"}};
    for (const auto &k : kinds) {
      Setup s;
      s.name = std::to_string(k.first) + " clusters, atom_style " + k.second;
      s.cmds = lj_clusters(k.first);
      for (auto &c : s.cmds)
        if (c == "atom_style bond") c = std::string("atom_style ") + k.second;
      auto ex = extras(true);
      s.cmds.insert(s.cmds.end(), ex.begin(), ex.end());
      all.push_back(s);
    }
  }
  return all;
}

// ---------------------------------------------------------------------------
// the corpus of valid fix nvdyn commands: every keyword, every style

const std::vector<std::string> &corpus()
{
  static const std::vector<std::string> c = {
      "fix nv all nvdyn samples molecule stage relax fire until fmax 1e-3 every 5 maxsteps 200",
      "fix nv all nvdyn samples molecule stage relax fire dt 0.002 tmax 8 tmin 0.03 delaystep 15 "
      "dtgrow 1.2 dtshrink 0.4 alpha0 0.2 alphashrink 0.98 vdfmax 100 halfstepback no "
      "initialdelay no dmax 0.05 until fmax 0.01 de 1e-6 maxsteps 40",
      "fix nv all nvdyn samples c_mols stage a fire/ase dt 0.05 maxstep 0.1 dtmax 0.8 nmin 4 "
      "finc 1.2 fdec 0.4 astart 0.2 fa 0.95 until fmax 0.02 maxsteps 30",
      "fix nv all nvdyn samples c_mols stage heat langevin 0.2 0.5 977 velocity 0.2 31 extra_dof 6 "
      "until steps 10 stage prod nve until steps 10",
      "fix nv all nvdyn samples molecule stage cool csvr 0.05 0.2 5151 dt 0.004 until steps 7 "
      "every 2 stage md nhc 0.1 0.3 chain 5 until steps 5",
      "fix nv all nvdyn samples all stage md nve drift 0.01 until steps 8 every 4 done fin failed "
      "bad timeout slow",
      "fix nv all nvdyn samples molecule stage a nve until steps 3 sink s.extxyz elements Ar "
      "log l.csv every 3",
      "fix nv all nvdyn samples molecule stage a nve velocity 0.5 7 until de 1e-3 every 2 "
      "maxsteps 20 nan stop",
      "fix nv all nvdyn samples molecule stage a nve nan off fclamp 10",
      "fix nv all nvdyn samples molecule stage relax fire until fmax 1e-4 every 5 maxsteps 5000 "
      "stage heat langevin 0.2 0.5 977 velocity 0.2 31 until steps 10 stage cool csvr 0.05 0.2 "
      "5151 dt 0.004 until steps 6 stage prod nve until steps 8 sink s.extxyz log l.csv every 4 "
      "append yes",
      "fix nv all nvdyn samples c_bins stage a langevin 1.0 0.1 5 until steps 4 stage b fire "
      "until fmax 1e-2 maxsteps 20 fclamp 100",
      "fix nv all nvdyn samples molecule stage a nhc 0.5 0.2 velocity 0.5 3 until steps 6 de 0.1 "
      "stage b csvr 0.3 0.1 9 extra_dof 0 until steps 3",
      "fix nv all nvdyn samples molecule stage a nve",
      "fix nv all nvdyn samples all stage a fire until fmax 1e-8 stage b nve drift 0 until steps 2 "
      "timeout t append no",
      "fix nv all nvdyn samples molecule stage q fire/ase until de 1e-9 every 3 maxsteps 12 "
      "sink s.extxyz append yes",
      "fix nv all nvdyn samples molecule stage a nve dt 0.001 until steps 2 stage b nve dt 0.01 "
      "until steps 2 stage c nve until steps 2 stage d nve until steps 2 stage e nve until steps "
      "2 log l.csv every 1",
      "fix nv all nvdyn samples c_mols stage relax fire until fmax 1e-2 de 1e-4 steps 5 stage md "
      "langevin 0.1 0.2 42 until steps 4 done ok failed ko timeout late sink s.extxyz elements Ar "
      "log l.csv every 2 nan fail fclamp 50 append no",
      "fix nv all nvdyn samples molecule stage a fire halfstepback yes initialdelay yes vdfmax 5 "
      "until fmax 1e-3 maxsteps 0",
      "fix nv all nvdyn samples molecule stage a nve velocity 1e3 11 until steps 5 nan stop "
      "fclamp 0",
      "fix nv all nvdyn samples all stage m nhc 1.0 1.0 chain 1 velocity 1.0 2 extra_dof 3 until "
      "steps 5",
      "fix nv g1 nvdyn samples molecule stage a fire until fmax 1e-3 stage b nve until steps 3",
      "fix nv g2 nvdyn samples all stage a csvr 0.1 0.1 3 velocity 0.1 4 until steps 4 de 1e-2 "
      "every 2 sink s.extxyz elements Ar"};
  return c;
}

const std::vector<std::string> special_numbers = {"0",
                                                  "-1",
                                                  "1e308",
                                                  "-1e308",
                                                  "nan",
                                                  "inf",
                                                  "1e-308",
                                                  "2147483648",
                                                  "99999999999999999999",
                                                  "",
                                                  "x",
                                                  "-0",
                                                  "4294967297",
                                                  "9223372036854775808",
                                                  "1.5",
                                                  "-inf",
                                                  "1e5",
                                                  "0x10"};

const std::vector<std::string> keywords = {
    "samples",     "stage",    "done",          "failed",       "timeout",  "sink",      "elements",
    "log",         "nan",      "fclamp",        "append",       "until",    "fmax",      "de",
    "steps",       "every",    "maxsteps",      "dt",           "velocity", "extra_dof", "drift",
    "chain",       "tmax",     "tmin",          "delaystep",    "dtgrow",   "dtshrink",  "alpha0",
    "alphashrink", "vdfmax",   "halfstepback",  "initialdelay", "dmax",     "maxstep",   "dtmax",
    "nmin",        "finc",     "fdec",          "astart",       "fa",       "fire",      "fire/ase",
    "nve",         "langevin", "csvr",          "nhc",          "all",      "molecule",  "c_mols",
    "c_bins",      "c_nope",   "c_thermo_temp", "yes",          "no",       "fail",      "stop",
    "off"};

const std::vector<std::string> group_names = {
    "all", "nv_frozen", "g1",   "g2",   "done", "failed", "relax",      "a",   "md",  "heat",
    "nv",  "thermo",    "mols", "1abc", "a-b",  "nv_pe",  "nv2_frozen", "fin", "none"};

const std::vector<std::string> bad_files = {"/nonexistent/f", ".",     "",         "/dev/full",
                                            "s.extxyz",       "l.csv", "r.restart"};

bool is_number(const std::string &t)
{
  if (t.empty()) return false;
  char *end = nullptr;
  strtod(t.c_str(), &end);
  return *end == '\0';
}

std::vector<std::string> split(const std::string &line)
{
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string t; in >> t;) out.push_back(t);
  return out;
}

std::string join(const std::vector<std::string> &tokens)
{
  std::string out;
  for (const auto &t : tokens) {
    if (!out.empty()) out += ' ';
    out += t.empty() ? std::string("\"\"") : t;
  }
  return out;
}

// 1 to 3 random token mutations of a command (never its first word)
std::string mutate(Rng &r, const std::string &line)
{
  auto t = split(line);
  const int nmut = 1 + r.below(3);
  for (int m = 0; m < nmut; m++) {
    const size_t lo = r.chance(0.1) ? 1 : 2;
    if (t.size() <= lo) break;
    const size_t pos = lo + r.below((int) (t.size() - lo));
    switch (r.below(11)) {
      case 0:
        t.erase(t.begin() + pos);
        break;
      case 1:
        t.insert(t.begin() + pos, t[pos]);
        break;
      case 2:
        std::swap(t[pos], t[lo + r.below((int) (t.size() - lo))]);
        break;
      case 3:
        t.resize(pos);
        break;
      case 4:
      case 5: {
        std::vector<size_t> nums;
        for (size_t k = lo; k < t.size(); k++)
          if (is_number(t[k])) nums.push_back(k);
        t[nums.empty() ? pos : r.pick(nums)] = r.pick(special_numbers);
        break;
      }
      case 6:
        t[pos] = r.chance(0.5) ? "" : "x";
        break;
      case 7:
        t[pos] = r.pick(keywords);
        break;
      case 8:
        t.insert(t.begin() + pos, r.pick(keywords));
        break;
      case 9: {
        // a group name: the fix group or the value of done / failed / timeout / stage
        std::vector<size_t> names = {2};
        for (size_t k = 3; k + 1 < t.size(); k++)
          if (t[k] == "done" || t[k] == "failed" || t[k] == "timeout" || t[k] == "stage")
            names.push_back(k + 1);
        const size_t k = r.pick(names);
        if (k < t.size()) t[k] = r.pick(group_names);
        break;
      }
      default: {
        std::vector<size_t> files;
        for (size_t k = 3; k + 1 < t.size(); k++)
          if (t[k] == "sink" || t[k] == "log") files.push_back(k + 1);
        t[files.empty() ? pos : r.pick(files)] = r.pick(bad_files);
        break;
      }
    }
  }
  return join(t);
}

// ---------------------------------------------------------------------------
// command sequences

std::string run_cmd(Rng &r)
{
  static const std::vector<int> steps = {0, 1, 2, 3, 5, 8, 13, 20, 30, 50};
  const std::string n = std::to_string(r.pick(steps));
  switch (r.below(8)) {
    case 0:
      return "run " + n + " pre no post no";
    case 1:
      return "run " + n + " upto";
    case 2:
      return "run " + n + " post no";
    default:
      return "run " + n;
  }
}

std::string run_style_cmd(Rng &r)
{
  if (r.chance(0.4)) return "run_style nvpipeline";
  if (r.chance(0.4)) return "run_style verlet";
  static const std::vector<std::string> odd = {
      "run_style nvpipeline x",          "run_style nvpipeline 1 2 3",
      "run_style verlet/nvpipeline",     "run_style verlet/nvpipeline extra",
      "run_style nvpipeline \"\"",       "run_style nvpipeline/kk",
      "run_style nvpipeline nvpipeline", "run_style respa 2 2"};
  return r.pick(odd);
}

std::vector<std::string> restart_cycle(Rng &r, const std::string &fixcmd)
{
  std::vector<std::string> c = {"write_restart r.restart", "clear",
                                std::string("plugin load ") + NVDYN_PLUGIN_PATH,
                                "read_restart r.restart"};
  c.insert(c.end(), lj_cluster_potential().begin(), lj_cluster_potential().end());
  auto ex = extras(r.chance(0.3));
  c.insert(c.end(), ex.begin(), ex.end());
  if (r.chance(0.5)) c.push_back(run_style_cmd(r));
  c.push_back(r.chance(0.85) ? fixcmd : mutate(r, fixcmd));
  c.push_back(run_cmd(r));
  return c;
}

// one misuse step
std::vector<std::string> misuse(Rng &r, const std::string &fixcmd)
{
  switch (r.below(22)) {
    case 0:
      return {r.chance(0.5) ? r.pick(corpus()) : mutate(r, r.pick(corpus()))};
    case 1: {
      static const std::vector<std::string> second = {
          "fix nv2 all nvdyn samples molecule stage b nve until steps 5 done d2 failed f2 timeout "
          "t2",
          "fix nv2 all nvdyn samples all stage relax fire",
          "fix nv2 g1 nvdyn samples molecule stage b2 nve done d2 failed f2 timeout t2",
          "fix nv2 all nvdyn samples c_mols stage b3 fire until fmax 1e-3 done d3 failed f3 "
          "timeout t3 sink s.extxyz"};
      return {r.pick(second)};
    }
    case 2:
      return {run_style_cmd(r)};
    case 3:
    case 4:
      return {run_cmd(r)};
    case 5:
      return {r.chance(0.8) ? "unfix nv" : "unfix nv2"};
    case 6:
      return {"group " + r.pick(group_names) + " delete"};
    case 7: {
      static const std::vector<std::string> ts = {"timestep 0", "timestep 1e-300", "timestep 10",
                                                  "timestep -0.005", "timestep 0.005"};
      return {r.pick(ts)};
    }
    case 8:
      if (r.chance(0.5))
        return {"write_dump all custom d.dump id type x y z modify sort id",
                "rerun d.dump dump x y z"};
      return {"dump dd all custom 5 d.dump id type x y z", run_cmd(r), "undump dd",
              "rerun d.dump every 5 dump x y z"};
    case 9:
      if (r.chance(0.5)) return {"min_style fire", "minimize 0 0 20 200"};
      return {"minimize 1e-6 1e-6 20 200"};
    case 10: {
      static const std::vector<std::string> del = {
          "delete_atoms group g1", "delete_atoms group g2 compress no", "delete_atoms group all"};
      return {r.pick(del)};
    }
    case 11:
      switch (r.below(3)) {
        case 0:
          return {"set atom 2 x v_ox y v_oy z v_oz"};
        case 1:
          return {"group one id 2", "set atom 2 x v_ox y v_oy z v_oz",
                  "displace_atoms one move 1e-6 0 0 units box"};
        default:
          return {"group one id 1", "displace_atoms one move 0.9 0.0 0.0 units box"};
      }
    case 12: {
      static const std::vector<std::string> vel = {
          "velocity all create 1e300 4711", "velocity all set 1e300 0 0",
          "velocity g1 create 1e20 5",      "velocity all create 1e-300 5",
          "velocity all scale 0.0",         "velocity all zero linear"};
      return {r.pick(vel)};
    }
    case 13: {
      static const std::vector<std::string> th = {
          "thermo_modify lost warn",
          "thermo_modify lost ignore",
          "thermo 1",
          "thermo_style custom step atoms pe ke f_nv[1] f_nv[2] f_nv[1][4] f_nv[1][5] f_nv[1][8]",
          "thermo_style custom step f_nv[9] f_nv[9][9]",
          "variable q equal f_nv[1][4]",
          "thermo_style custom step v_q"};
      return {r.pick(th)};
    }
    case 14: {
      static const std::vector<std::string> nm = {
          "neigh_modify exclude none", "neigh_modify exclude group nv_frozen all",
          "neigh_modify every 1 delay 0 check no", "neigh_modify every 10 delay 10 check yes"};
      return {r.pick(nm)};
    }
    case 15: {
      static const std::vector<std::string> af = {
          "fix push all addforce 1e300 0 0", "fix push all addforce v_inf 0 0",
          "fix push g1 addforce v_big v_big 0", "fix push all addforce 1e308 -1e308 1e308",
          "unfix push"};
      return {r.pick(af)};
    }
    case 16:
      return restart_cycle(r, fixcmd);
    case 17: {
      static const std::vector<std::string> outfix = {
          "fix h all halt 3 v_stp > 1 error continue", "fix h all halt 2 v_stp > 1 error hard",
          "fix pr all print 3 \"step $(step)\" screen no", "fix at all ave/time 2 1 2 c_thermo_pe",
          "fix at2 all ave/time 1 1 1 f_nv[1][4] f_nv[1][5] mode scalar"};
      return {r.pick(outfix)};
    }
    case 18:
      return {"unfix nv", r.chance(0.5) ? fixcmd : r.pick(corpus())};
    case 19:
      return {fixcmd};    // re-definition of the same fix without unfix
    default: {
      static const std::vector<std::string> misc = {"reset_atom_ids",
                                                    "create_atoms 1 single 3.0 3.0 3.0",
                                                    "change_box all x final 0 60 remap",
                                                    "compute_modify thermo_temp dynamic/dof yes",
                                                    "atom_modify sort 1 2.0",
                                                    "write_data d.data",
                                                    "timer timeout 0",
                                                    "plugin unload fix nvdyn",
                                                    "compute nv_pe all pe/atom",
                                                    "fix nve1 all nve",
                                                    "dump d1 all atom 2 d.atom",
                                                    "dump d2 relax xyz 1 d.xyz",
                                                    "clear",
                                                    "pair_style zero 2.5",
                                                    "group relax clear",
                                                    "group done include molecule",
                                                    "set group all mol 0",
                                                    "fix_modify nv energy yes",
                                                    "write_restart r.restart"};
      return {r.pick(misc)};
    }
  }
}

// "run N pre no" skips the initialization and setup of the run: LAMMPS
// crashes when anything changed since the last run (a new fix, dump or run
// style, a failed run). It is kept only right after a run, and at run time
// only after a run that succeeded (see run_case).
void drop_pre_no(std::string &cmd)
{
  const size_t pre = cmd.find(" pre no");
  if (pre != std::string::npos) cmd.erase(pre, 7);
}

void avoid_lammps_crashes(std::vector<std::string> &cmds)
{
  for (size_t k = 0; k < cmds.size(); k++)
    if (cmds[k].rfind("run ", 0) == 0 && (k == 0 || cmds[k - 1].rfind("run ", 0) != 0))
      drop_pre_no(cmds[k]);
}

struct Case {
  int index = -1;
  int setup = -1;    // index into setups(), -1: none (replay)
  std::vector<std::string> cmds;
};

Case make_case(uint64_t seed, int index)
{
  Rng r(seed, (uint64_t) index);
  Case c;
  c.index = index;
  c.setup = r.below((int) setups().size());
  auto add = [&](const std::vector<std::string> &v) {
    c.cmds.insert(c.cmds.end(), v.begin(), v.end());
  };
  const std::string base = r.pick(corpus());
  if (r.chance(0.6)) {
    // (a) a mutated fix nvdyn command, runs and follow-ups
    if (r.chance(0.85)) c.cmds.push_back(run_style_cmd(r));
    const std::string fixcmd = r.chance(0.9) ? mutate(r, base) : base;
    c.cmds.push_back(fixcmd);
    c.cmds.push_back(run_cmd(r));
    const int nfollow = r.below(4);
    for (int k = 0; k < nfollow; k++) {
      switch (r.below(6)) {
        case 0:
          c.cmds.push_back(run_cmd(r));
          break;
        case 1:
          add({"unfix nv", run_cmd(r)});
          break;
        case 2:
          add({"unfix nv", fixcmd, run_cmd(r)});
          break;
        case 3:
          add({fixcmd, run_cmd(r)});
          break;
        case 4:
          add(restart_cycle(r, fixcmd));
          break;
        default:
          add({run_style_cmd(r), run_cmd(r)});
          break;
      }
    }
  } else {
    // (b) misuse sequences around a (mostly valid) fix nvdyn
    const std::string fixcmd = r.chance(0.8) ? base : mutate(r, base);
    if (r.chance(0.5)) c.cmds.push_back(run_style_cmd(r));
    if (r.chance(0.8)) c.cmds.push_back(fixcmd);
    if (r.chance(0.4)) c.cmds.push_back(run_cmd(r));
    const int nsteps = 1 + r.below(5);
    for (int k = 0; k < nsteps; k++) {
      add(misuse(r, fixcmd));
      if (r.chance(0.6)) c.cmds.push_back(run_cmd(r));
    }
    if (c.cmds.back().rfind("run ", 0) != 0) c.cmds.push_back(run_cmd(r));
  }
  avoid_lammps_crashes(c.cmds);
  return c;
}

// ---------------------------------------------------------------------------
// crash and hang reports: the text is prepared before the case runs, the
// signal handlers only write it

std::string g_repro;                 // the whole input of the running case
std::vector<std::string> g_lines;    // its commands
volatile sig_atomic_t g_cmd = -1;    // the command now running (-1: none)
volatile sig_atomic_t g_in_case = 0;
const bool g_quiet = getenv("NVDYN_FUZZ_QUIET") != nullptr;
const char *g_find = getenv("NVDYN_FUZZ_FIND");    // report cases whose errors contain this
char g_altstack[1 << 16];

void write_str(const char *s)
{
  size_t n = strlen(s);
  while (n > 0) {
    ssize_t w = write(2, s, n);
    if (w <= 0) return;
    s += w;
    n -= (size_t) w;
  }
}

void report_current(const char *what)
{
  write_str("\nfuzz: ");
  write_str(what);
  const int k = g_cmd;
  if (k >= 0 && k < (int) g_lines.size()) {
    write_str(" in command: ");
    write_str(g_lines[k].c_str());
  } else if (g_in_case) {
    write_str(" (while creating or deleting the LAMMPS instance)");
  }
  write_str("\nfuzz: reproducer:\n");
  write_str(g_repro.c_str());
  write_str("fuzz: end of reproducer\n");
}

void write_backtrace()
{
  void *frames[32];
  const int n = backtrace(frames, 32);
  write_str("fuzz: backtrace:\n");
  backtrace_symbols_fd(frames, n, 2);
}

void on_crash(int sig)
{
  if (g_in_case) {
    // no snprintf or strsignal: the heap may be corrupt
    char buf[48] = "CRASH: signal ";
    size_t n = strlen(buf);
    if (sig >= 10) buf[n++] = (char) ('0' + sig / 10);
    buf[n++] = (char) ('0' + sig % 10);
    buf[n] = '\0';
    report_current(buf);
    write_backtrace();
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

void on_alarm(int)
{
  report_current("HANG: the case ran past its time limit (NVDYN_FUZZ_CASE_SECONDS)");
  write_backtrace();
  signal(SIGABRT, SIG_DFL);
  abort();
}

void on_exit_during_case()
{
  if (g_in_case) report_current("EXIT: the process exited during the case");
}

void install_handlers()
{
  stack_t ss{};
  ss.ss_sp = g_altstack;
  ss.ss_size = sizeof g_altstack;
  sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_handler = on_crash;
  sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) sigaction(sig, &sa, nullptr);
  struct sigaction al {};
  al.sa_handler = on_alarm;
  sigemptyset(&al.sa_mask);
  sigaction(SIGALRM, &al, nullptr);
  atexit(on_exit_during_case);
  void *frame[1];
  backtrace(frame, 1);    // loads libgcc now: backtrace() in a handler must not allocate
}

// ---------------------------------------------------------------------------
// checks

// "ERROR: text (file:line)\nLast command: ..." -> "text"
std::string error_text(const std::string &msg)
{
  std::string s = msg;
  const size_t last = s.find("\nLast command:");
  if (last != std::string::npos) s.resize(last);
  if (s.rfind("ERROR on proc ", 0) == 0) {
    const size_t colon = s.find(": ");
    s = colon == std::string::npos ? std::string() : s.substr(colon + 2);
  } else if (s.rfind("ERROR: ", 0) == 0) {
    s = s.substr(7);
  } else if (s == "ERROR:") {
    s.clear();
  }
  while (!s.empty() && isspace((unsigned char) s.back())) s.pop_back();
  // the source location LAMMPS appends
  if (!s.empty() && s.back() == ')') {
    const size_t open = s.rfind(" (");
    if (open != std::string::npos && s.find(':', open) != std::string::npos) s.resize(open);
  }
  while (!s.empty() && isspace((unsigned char) s.back())) s.pop_back();
  return s;
}

// why an error message does not say what is wrong ("" when it does)
std::string bad_message(const std::string &msg)
{
  const std::string s = error_text(msg);
  if (s.empty()) return "empty error message";
  if (std::none_of(s.begin(), s.end(), [](char ch) { return isalpha((unsigned char) ch); }))
    return "error message without words";
  if (s.back() == ':') return "error message ends after a colon, without the reason";
  return "";
}

// message with numbers, quoted words and paths blurred, for grouping
std::string normalized(const std::string &msg)
{
  std::string s = error_text(msg), out;
  bool quote = false;
  for (size_t i = 0; i < s.size(); i++) {
    const char ch = s[i];
    if (ch == '\'') {
      quote = !quote;
      out += quote ? "'..." : "'";
      continue;
    }
    if (quote) continue;
    if (isdigit((unsigned char) ch)) {
      if (out.empty() || out.back() != '#') out += '#';
      continue;
    }
    out += ch;
  }
  return out;
}

// LAMMPS 29Sep2021 hangs in Domain::remap (one box length per iteration)
// on atoms very far outside a periodic box, as huge velocities leave them:
// the case ends when an atom is more than 1e6 box lengths away
bool atoms_far_away(Lammps &l)
{
  LAMMPS_NS::Atom *atom = l.lmp->atom;
  LAMMPS_NS::Domain *domain = l.lmp->domain;
  if (!atom || !atom->x || !domain || !domain->box_exist) return false;
  for (int i = 0; i < atom->nlocal; i++)
    for (int k = 0; k < 3; k++) {
      const double mid = 0.5 * (domain->boxlo[k] + domain->boxhi[k]);
      if (std::fabs(atom->x[i][k] - mid) > 1e6 * domain->prd[k]) return true;
    }
  return false;
}

bool coordinates_finite(Lammps &l)
{
  LAMMPS_NS::Atom *atom = l.lmp->atom;
  if (!atom || !atom->x) return true;
  for (int i = 0; i < atom->nlocal; i++)
    for (int k = 0; k < 3; k++)
      if (!std::isfinite(atom->x[i][k])) return false;
  return true;
}

// non-finite coordinates are allowed: a fix nvdyn has 'nan off', or a fix
// other than fix nvdyn integrates atoms
bool nonfinite_allowed(Lammps &l)
{
  LAMMPS_NS::Modify *modify = l.lmp->modify;
  if (!modify) return true;
  for (int i = 0; i < modify->nfix; i++) {
    Fix *f = modify->fix[i];
    if (!f) return true;
    if (strcmp(f->style, "nvdyn") == 0) {
      int dim = 0;
      auto *engine = static_cast<nvdyn_engine *>(f->extract("engine", dim));
      double nan = 1.0;
      if (engine && nvdyn_engine_get(engine, "nan", &nan) == NVDYN_OK && nan == 0.0) return true;
    } else if (f->time_integrate) {
      return true;
    }
  }
  return false;
}

// Some LAMMPS 29Sep2021 errors leave LAMMPS in a state in which later
// commands, even deleting LAMMPS, crash in LAMMPS. The fuzzer repairs them
// as unfix, thermo_style and run_style would, and counts the repairs:
// - a failed fix replacement leaves a null fix (Modify::add_fix deletes the
//   old fix before it constructs the new one): the slot is removed;
// - a failed thermo_style command leaves no thermo (Output::create_thermo):
//   a new thermo style one;
// - a failed run_style command (an unknown style, bad respa arguments)
//   leaves dangling pointers to the deleted run style (Update::
//   create_integrate deletes it first): they are dropped and run_style
//   verlet is set.
int repair_lammps(Lammps &l, const std::string &failed_cmd)
{
  int repairs = 0;
  if (failed_cmd.rfind("run_style", 0) == 0 && l.lmp->update) {
    l.lmp->update->integrate = nullptr;
    l.lmp->update->integrate_style = nullptr;
    char verlet[] = "verlet";
    char *args[] = {verlet};
    l.lmp->update->create_integrate(1, args, 0);
    repairs++;
  }
  LAMMPS_NS::Modify *modify = l.lmp->modify;
  for (int i = modify ? modify->nfix - 1 : -1; i >= 0; i--)
    if (!modify->fix[i]) {
      modify->delete_fix(i);
      repairs++;
    }
  if (l.lmp->output && !l.lmp->output->thermo) {
    char one[] = "one";
    char *args[] = {one};
    l.lmp->output->thermo = new LAMMPS_NS::Thermo(l.lmp, 1, args);
    repairs++;
  }
  return repairs;
}

// ---------------------------------------------------------------------------

struct Failure {
  std::string kind, detail, repro;
  int first_case = -1, count = 0;
};

struct Stats {
  long commands = 0, cases = 0, errors = 0, abort_errors = 0, repairs = 0, far_away = 0;
  std::map<std::string, long> messages;
  std::map<std::string, Failure> failures;    // by signature
};

std::string reproducer(const Case &c, const std::vector<std::string> &lines, uint64_t seed)
{
  std::string out = c.index >= 0
      ? "# seed " + std::to_string(seed) + ", case " + std::to_string(c.index) + "\n"
      : std::string("# replayed\n");
  out += std::string("plugin load ") + NVDYN_PLUGIN_PATH + "\n";
  for (const auto &l : lines) out += l + "\n";
  return out;
}

void fail(Stats &st, const Case &c, const std::string &kind, const std::string &detail)
{
  const std::string sig = kind + ": " + normalized(detail);
  Failure &f = st.failures[sig];
  if (f.count++ == 0) {
    f.kind = kind;
    f.detail = detail;
    f.repro = g_repro;
    f.first_case = c.index;
  }
  std::string cmd = g_cmd >= 0 && g_cmd < (int) g_lines.size() ? g_lines[g_cmd] : std::string("-");
  fprintf(
      stderr,
      "\nfuzz: FAIL: %s: %s\nfuzz: in command: %s\nfuzz: reproducer:\n%sfuzz: end of reproducer\n",
      kind.c_str(), detail.c_str(), cmd.c_str(), g_repro.c_str());
}

void run_case(const Case &c, uint64_t seed, int case_seconds, Stats &st)
{
  std::vector<std::string> lines;
  if (c.setup >= 0) lines = setups()[c.setup].cmds;
  lines.insert(lines.end(), c.cmds.begin(), c.cmds.end());

  // a fresh directory for the files of the case
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::remove_all("work", ec);
  fs::create_directory("work");
  chdir("work");

  if (!g_quiet) {
    fprintf(stderr, "fuzz case %d (setup %d):\n", c.index, c.setup);
    for (const auto &l : c.cmds) fprintf(stderr, "  %s\n", l.c_str());
  }

  g_repro = reproducer(c, lines, seed);
  g_lines = lines;
  g_cmd = -1;
  g_in_case = 1;
  alarm((unsigned) case_seconds);
  const auto t0 = std::chrono::steady_clock::now();
  st.cases++;
  {
    std::unique_ptr<Lammps> l;
    try {
      l = std::make_unique<Lammps>();
    } catch (LAMMPS_NS::LAMMPSException &e) {
      fail(st, c, "error when creating LAMMPS", e.what());
    }
    bool last_run_ok = false;
    for (size_t k = 0; l && k < lines.size(); k++) {
      g_cmd = (int) k;
      const bool is_run = lines[k].rfind("run ", 0) == 0;
      if (is_run && lines[k].find(" pre no") != std::string::npos && !last_run_ok) {
        drop_pre_no(lines[k]);
        g_lines[k] = lines[k];
        g_repro = reproducer(c, lines, seed);
      }
      const std::string &line = lines[k];
      last_run_ok = false;
      const bool check_x = is_run && coordinates_finite(*l) && !nonfinite_allowed(*l);
      st.commands++;
      std::string failed_cmd;
      try {
        l->cmd(line);
        last_run_ok = is_run;
        if (check_x && !coordinates_finite(*l))
          fail(st, c, "non-finite coordinates after a run", line);
      } catch (LAMMPS_NS::LAMMPSException &e) {
        failed_cmd = line;
        if (dynamic_cast<LAMMPS_NS::LAMMPSAbortException *>(&e)) st.abort_errors++;
        st.messages[normalized(e.what())]++;
        if (g_find && strstr(e.what(), g_find))
          fprintf(
              stderr,
              "\nfuzz: FOUND '%s' in command: %s\nfuzz: reproducer:\n%sfuzz: end of reproducer\n",
              g_find, line.c_str(), g_repro.c_str());
        const std::string why = bad_message(e.what());
        if (why.empty())
          st.errors++;
        else
          fail(st, c, why, e.what());
      } catch (std::exception &e) {
        fail(st, c, std::string("non-LAMMPS exception ") + typeid(e).name(), e.what());
        break;
      } catch (...) {
        fail(st, c, "unknown exception", "(not a std::exception)");
        break;
      }
      try {
        st.repairs += repair_lammps(*l, failed_cmd);
      } catch (std::exception &e) {
        fail(st, c, "the fuzzer's repair of LAMMPS failed", e.what());
        break;
      }
      if (atoms_far_away(*l)) {
        st.far_away++;
        break;
      }
    }
    g_cmd = -1;
    try {
      l.reset();
    } catch (std::exception &e) {
      fail(st, c, "exception when deleting LAMMPS", e.what());
    }
  }
  alarm(0);
  g_in_case = 0;
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (t > 2.0) fprintf(stderr, "fuzz case %d took %.1f s\n", c.index, t);
  chdir("..");
}

}    // namespace

TEST(Fuzz, CommandsSucceedOrFailWithAMessage)
{
  install_handlers();
  const uint64_t seed = (uint64_t) env_long("NVDYN_FUZZ_SEED", 1);
  const double seconds = (double) env_long("NVDYN_FUZZ_SECONDS", 120);
  const int case_seconds = (int) env_long("NVDYN_FUZZ_CASE_SECONDS", 20);
  const long only = env_long("NVDYN_FUZZ_CASE", -1);
  const long first = only >= 0 ? only : env_long("NVDYN_FUZZ_FIRST", 0);
  const long max_cases = only >= 0 ? 1 : env_long("NVDYN_FUZZ_CASES", -1);
  const char *replay = getenv("NVDYN_FUZZ_REPLAY");

  // the cases run in a temporary directory of their own
  namespace fs = std::filesystem;
  const fs::path start_dir = fs::current_path();
  std::string tmpl = (fs::temp_directory_path() / "nvdyn_fuzz_XXXXXX").string();
  ASSERT_NE(mkdtemp(&tmpl[0]), nullptr);
  std::vector<std::string> replay_lines;
  if (replay) {
    std::ifstream in(replay);
    ASSERT_TRUE(in) << "cannot read " << replay;
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == '#') continue;
      if (replay_lines.empty() && line.rfind("plugin load ", 0) == 0) continue;
      replay_lines.push_back(line);
    }
  }
  fs::current_path(tmpl);

  fprintf(stderr, "fuzz: seed %llu, %g s, cases run in %s\n", (unsigned long long) seed, seconds,
          tmpl.c_str());
  if (!replay)
    for (size_t s = 0; s < setups().size(); s++) {
      fprintf(stderr, "fuzz setup %zu (%s):\n", s, setups()[s].name.c_str());
      for (const auto &l : setups()[s].cmds) fprintf(stderr, "  %s\n", l.c_str());
    }

  Stats st;
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  if (replay) {
    Case c;
    c.cmds = replay_lines;
    run_case(c, seed, case_seconds, st);
  } else {
    for (long k = first; max_cases < 0 ? elapsed() < seconds : k < first + max_cases; k++)
      run_case(make_case(seed, (int) k), seed, case_seconds, st);
  }
  const double t = elapsed();
  fs::current_path(start_dir);
  std::error_code ec;
  fs::remove_all(tmpl, ec);

  if (getenv("NVDYN_FUZZ_MESSAGES")) {
    fprintf(stderr, "fuzz: distinct error messages (count, message):\n");
    for (const auto &m : st.messages) fprintf(stderr, "%8ld  %s\n", m.second, m.first.c_str());
  }
  if (st.repairs)
    fprintf(stderr,
            "fuzz: %ld repairs of LAMMPS after failed fix, thermo_style or run_style commands\n",
            st.repairs);
  if (st.far_away)
    fprintf(stderr, "fuzz: %ld cases ended with atoms more than 1e6 box lengths away\n",
            st.far_away);
  for (const auto &f : st.failures) {
    ADD_FAILURE() << f.second.kind << " (" << f.second.count << " times, first in case "
                  << f.second.first_case << "): " << f.second.detail << "\nreproducer:\n"
                  << f.second.repro;
  }
  printf("fuzz: %ld commands in %ld cases, %ld errors with messages, %.0f seconds\n", st.commands,
         st.cases, st.errors, t);
  fflush(stdout);
}
