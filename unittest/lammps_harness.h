// Test harness: one LAMMPS instance on MPI_COMM_WORLD, driven through the
// LAMMPS C++ and C library interfaces, with NVDYN loaded as a plugin.
#ifndef NVDYN_LAMMPS_HARNESS_H
#define NVDYN_LAMMPS_HARNESS_H

#include "atom.h"
#include "exceptions.h"
#include "fix.h"
#include "group.h"
#include "input.h"
#include "lammps.h"
#include "library.h"
#include "modify.h"
#include "variable.h"

#include <mpi.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

using LAMMPS_NS::Fix;

class Lammps {
 public:
  // extra: further command-line arguments, e.g. {"-k", "on", "-sf", "kk"};
  // comm: the ranks that run this instance
  explicit Lammps(std::vector<std::string> extra = {}, bool load_plugin = true,
                  MPI_Comm comm = MPI_COMM_WORLD)
  {
    std::vector<std::string> args = {"nvdyn_test", "-log", "none", "-echo", "none"};
    if (!verbose()) args.insert(args.end(), {"-screen", "none"});
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char *> argv;
    for (auto &a : args) argv.push_back(&a[0]);
    lmp = new LAMMPS_NS::LAMMPS((int) argv.size(), argv.data(), comm);
    if (load_plugin) cmd(std::string("plugin load ") + plugin_path());
  }
  // the plugin built with the tests, or NVDYN_TEST_PLUGIN (binaries moved
  // to another machine: scripts/gpu-check.sh)
  static std::string plugin_path()
  {
    const char *p = getenv("NVDYN_TEST_PLUGIN");
    return p && *p ? p : NVDYN_PLUGIN_PATH;
  }
  ~Lammps() { delete lmp; }
  Lammps(const Lammps &) = delete;
  Lammps &operator=(const Lammps &) = delete;

  void cmd(const std::string &line) { lmp->input->one(line); }
  void cmds(const std::vector<std::string> &lines)
  {
    for (const auto &l : lines) cmd(l);
  }

  // The error message a command raises ("" if it raises none).
  std::string error_of(const std::string &line)
  {
    try {
      cmd(line);
    } catch (LAMMPS_NS::LAMMPSException &e) {
      return e.what();
    }
    return "";
  }

  double equal(const std::string &formula) { return lmp->input->variable->compute_equal(formula); }

  LAMMPS_NS::Fix *fix(const std::string &id)
  {
    int ifix = lmp->modify->find_fix(id);
    return ifix < 0 ? nullptr : lmp->modify->fix[ifix];
  }

  // per-atom 3-vector property ("x", "v", "f") of all atoms, ordered by atom ID
  std::vector<double> gather3(const char *name)
  {
    int natoms = (int) lammps_get_natoms(lmp);
    std::vector<double> out(3 * (size_t) natoms);
    lammps_gather_atoms(lmp, const_cast<char *>(name), 1, 3, out.data());
    return out;
  }

  // IDs of the atoms this rank owns
  std::set<int> owned_ids()
  {
    std::set<int> ids;
    for (int i = 0; i < lmp->atom->nlocal; i++) ids.insert((int) lmp->atom->tag[i]);
    return ids;
  }

  static bool verbose() { return getenv("NVDYN_TEST_VERBOSE") != nullptr; }

  LAMMPS_NS::LAMMPS *lmp;
};

// Why a test that needs the KOKKOS package skips on a LAMMPS without it
inline const char *no_kokkos_reason()
{
  return "this LAMMPS has no KOKKOS package: scripts/setup.sh builds KOKKOS only into "
         "LAMMPS 29Sep2021 (against Kokkos 3.4.01, which fits no newer LAMMPS; the Debian "
         "sources of 4Feb2025 and 4Jul2026 lack lib/kokkos)";
}

// The Kokkos (OpenMP) threads of this process's KOKKOS tests:
// NVDYN_TEST_KOKKOS_THREADS, 1 if unset (ctest runs kokkos_t1 and kokkos_t2).
// Kokkos is initialised once per process, by the first LAMMPS made with
// -k on, so every instance of a process must ask for the same count.
inline int kokkos_threads()
{
  const char *s = getenv("NVDYN_TEST_KOKKOS_THREADS");
  const int n = s ? atoi(s) : 1;
  return n > 0 ? n : 1;
}

// The GPUs of this process's KOKKOS tests: NVDYN_TEST_KOKKOS_GPUS, 0 if
// unset (a LAMMPS whose Kokkos has the CUDA backend: scripts/gpu-check.sh).
inline int kokkos_gpus()
{
  const char *s = getenv("NVDYN_TEST_KOKKOS_GPUS");
  const int n = s ? atoi(s) : 0;
  return n > 0 ? n : 0;
}

// the command-line arguments of a LAMMPS under KOKKOS: -k on t N -sf kk,
// with GPUs -k on g G t N -sf kk
inline std::vector<std::string> kokkos_args()
{
  std::vector<std::string> args = {"-k", "on"};
  if (kokkos_gpus() > 0) args.insert(args.end(), {"g", std::to_string(kokkos_gpus())});
  args.insert(args.end(), {"t", std::to_string(kokkos_threads()), "-sf", "kk"});
  return args;
}

// largest relative difference, with an absolute floor of 1 for values near zero
inline double max_rel_diff(const std::vector<double> &a, const std::vector<double> &b)
{
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); i++)
    worst = std::max(worst, std::fabs(a[i] - b[i]) / std::max(1.0, std::fabs(a[i])));
  return worst;
}

inline int mpi_size()
{
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

// A Lennard-Jones liquid (in.melt of the LAMMPS examples), 4 * n^3 atoms.
inline std::vector<std::string> lj_liquid(int n, const std::string &atom_style = "atomic")
{
  std::string box = std::to_string(n);
  return {"units lj",
          "atom_style " + atom_style,
          "lattice fcc 0.8442",
          "region box block 0 " + box + " 0 " + box + " 0 " + box,
          "create_box 1 box",
          "create_atoms 1 box",
          "mass 1 1.0",
          "velocity all create 3.0 87287 loop geom",
          "pair_style lj/cut 2.5",
          "pair_coeff 1 1 1.0 1.0 2.5",
          "neighbor 0.3 bin",
          "neigh_modify every 20 delay 0 check no"};
}

// the potential, neighbor and thermo settings of lj_clusters() (also after
// a read_restart, which does not keep them)
inline const std::vector<std::string> &lj_cluster_potential()
{
  static const std::vector<std::string> cmds = {"pair_style lj/cut 2.5",
                                                "pair_coeff 1 1 1.0 1.0 2.5",
                                                "pair_modify shift yes",
                                                "neighbor 0.3 bin",
                                                "neigh_modify every 1 delay 0 check yes",
                                                "thermo_modify norm no",
                                                "timestep 0.005"};
  return cmds;
}

// ncluster Lennard-Jones clusters of different sizes (about 13 to 80 atoms,
// cut from an fcc lattice by spheres of growing radius), 14 sigma apart in
// a periodic box, each one molecule, randomly displaced by up to 0.05
inline std::vector<std::string> lj_clusters(int ncluster)
{
  const int side = (int) std::ceil(std::sqrt((double) ncluster));
  std::vector<std::string> cmds = {"units lj",
                                   "atom_style bond",
                                   "lattice fcc 1.0",
                                   "region box block 0 " + std::to_string(14 * side) + " 0 " +
                                       std::to_string(14 * side) + " 0 14 units box",
                                   "create_box 1 box",
                                   "mass 1 1.0"};
  for (const auto &c : lj_cluster_potential()) cmds.push_back(c);
  for (int k = 0; k < ncluster; k++) {
    const double cx = 7 + 14 * (k % side), cy = 7 + 14 * (k / side);
    const double r = 1.3 + 0.25 * (k % 6);
    const std::string mol = std::to_string(k + 1);
    cmds.push_back("region c" + mol + " sphere " + std::to_string(cx) + " " + std::to_string(cy) +
                   " 7 " + std::to_string(r) + " units box");
    cmds.push_back("create_atoms 1 region c" + mol);
    cmds.push_back("group g" + mol + " region c" + mol);
    cmds.push_back("set group g" + mol + " mol " + mol);
    cmds.push_back("group g" + mol + " delete");
    cmds.push_back("region c" + mol + " delete");
  }
  cmds.push_back("displace_atoms all random 0.05 0.05 0.05 4711 units box");
  return cmds;
}

// The same LJ liquid of 4 * n^3 atoms run for nsteps in two LAMMPS instances
// made with the given command-line arguments: under fix nve in ref (which
// does not load the plugin: one plugin load per process at a time) and under
// one nvdyn nve stage over all atoms in dyn.
struct NveVsNVDyn {
  Lammps ref, dyn;
  NveVsNVDyn(const std::vector<std::string> &args, int n, int nsteps) : ref(args, false), dyn(args)
  {
    ref.cmds(lj_liquid(n));
    dyn.cmds(lj_liquid(n));
    ref.cmd("fix 1 all nve");
    dyn.cmd("fix 1 all nvdyn samples all stage md nve");
    ref.cmd("run " + std::to_string(nsteps));
    dyn.cmd("run " + std::to_string(nsteps));
  }
};

#endif
