// Helpers of the tests that stream samples from a source (fix nvdyn
// source): LJ clusters as extended-XYZ frames, the sink's frames read
// back by source index, file names of a test run.
#ifndef NVDYN_TEST_SOURCE_FRAMES_H
#define NVDYN_TEST_SOURCE_FRAMES_H

#include "lammps_harness.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <unistd.h>

inline int world_rank()
{
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

// a file name of this test, the same on every rank and another in each
// run (ctest -j runs the _np1, _np2, _kk variants at once in one folder):
// with rank 0's process ID. Collective on its first call.
inline std::string temp_name(const std::string &what)
{
  static const long pid = [] {
    long p = (long) getpid();
    MPI_Bcast(&p, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    return p;
  }();
  return "nvdyn_stream_" + std::to_string(pid) + "_" + what;
}

// A frame: its species and positions, optional velocities, its comment
struct XYZ {
  std::vector<std::string> species;
  std::vector<double> x, v;
  std::string comment;
};

// Lennard-Jones clusters of 3 to 13 atoms (mixed sizes, by a seed):
// random points in a sphere at least 1.0 sigma apart, named c<k>
inline std::vector<XYZ> clusters(int n, unsigned seed, int smallest = 3, int largest = 13)
{
  uint64_t state = seed * 0x9e3779b97f4a7c15ULL + 1;
  auto uniform = [&]() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double) (state >> 11) * 0x1.0p-53;
  };
  std::vector<XYZ> out(n);
  for (int k = 0; k < n; k++) {
    const int na = smallest + (int) (uniform() * (largest - smallest + 1));
    XYZ &f = out[k];
    f.comment = "name=c" + std::to_string(k) + " label=\"cluster " + std::to_string(k) + "\"";
    while ((int) f.species.size() < na) {
      double p[3];
      for (double &c : p) c = -1.5 + 3.0 * uniform();
      bool ok = true;
      for (size_t j = 0; j < f.species.size() && ok; j++) {
        double d2 = 0.0;
        for (int c = 0; c < 3; c++) d2 += (p[c] - f.x[3 * j + c]) * (p[c] - f.x[3 * j + c]);
        ok = d2 > 1.0;
      }
      if (!ok) continue;
      f.species.push_back("Ar");
      f.x.insert(f.x.end(), p, p + 3);
    }
  }
  return out;
}

// rank 0 writes the frames (one file), every rank waits for it
inline void write_xyz(const std::string &path, const std::vector<XYZ> &frames)
{
  if (world_rank() == 0) {
    std::ofstream out(path);
    char line[256];
    for (const XYZ &f : frames) {
      out << f.species.size() << "\n";
      const bool vel = !f.v.empty();
      out << (vel ? "Properties=species:S:1:pos:R:3:velocities:R:3 " : "") << f.comment << "\n";
      for (size_t i = 0; i < f.species.size(); i++) {
        snprintf(line, sizeof(line), "%s %.17g %.17g %.17g", f.species[i].c_str(), f.x[3 * i],
                 f.x[3 * i + 1], f.x[3 * i + 2]);
        out << line;
        if (vel) {
          snprintf(line, sizeof(line), " %.17g %.17g %.17g", f.v[3 * i], f.v[3 * i + 1],
                   f.v[3 * i + 2]);
          out << line;
        }
        out << "\n";
      }
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

inline void write_text(const std::string &path, const std::string &text)
{
  if (world_rank() == 0) std::ofstream(path) << text;
  MPI_Barrier(MPI_COMM_WORLD);
}

// A frame of the sink: its comment's keys, its positions
struct Out {
  std::map<std::string, std::string> keys;
  std::vector<double> x;
};

// the sink's frames by source index (a frame written twice: an error)
inline std::map<long, Out> read_sink(const std::string &path, int *repeats)
{
  std::map<long, Out> frames;
  std::ifstream in(path);
  std::string line;
  *repeats = 0;
  const std::regex kv("([A-Za-z_]+)=(\"[^\"]*\"|[^ ]+)");
  while (std::getline(in, line)) {
    const int n = std::stoi(line);
    Out f;
    std::getline(in, line);
    for (std::sregex_iterator it(line.begin(), line.end(), kv), end; it != end; ++it)
      f.keys[(*it)[1]] = (*it)[2];
    for (int i = 0; i < n; i++) {
      std::getline(in, line);
      std::istringstream words(line);
      std::string species;
      double p[3];
      words >> species >> p[0] >> p[1] >> p[2];
      f.x.insert(f.x.end(), p, p + 3);
    }
    const long index = std::stol(f.keys["source_index"]);
    if (frames.count(index)) ++*repeats;
    frames[index] = f;
  }
  return frames;
}

// the distances between every two atoms of a frame (a structure, whatever
// its position and orientation)
inline std::vector<double> distances(const std::vector<double> &x)
{
  std::vector<double> d;
  const size_t n = x.size() / 3;
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++) {
      double d2 = 0.0;
      for (int k = 0; k < 3; k++)
        d2 += (x[3 * i + k] - x[3 * j + k]) * (x[3 * i + k] - x[3 * j + k]);
      d.push_back(sqrt(d2));
    }
  return d;
}

// an empty periodic box for LJ clusters (molecule IDs: atom_style bond)
inline std::vector<std::string> empty_box(double side, const std::string &style = "bond")
{
  const std::string s = std::to_string(side);
  std::vector<std::string> cmds = {
      "units lj", "atom_style " + style, "region box block 0 " + s + " 0 " + s + " 0 " + s,
      style == "bond" ? "create_box 1 box bond/types 1" : "create_box 1 box", "mass 1 1.0"};
  for (const auto &c : lj_cluster_potential()) cmds.push_back(c);
  if (style == "bond") cmds.insert(cmds.end(), {"bond_style zero", "bond_coeff 1"});
  return cmds;
}

// a bent triatomic molecule template (types 1 2 2, two bonds, one angle)
inline const char *triatomic_template()
{
  return "# bent triatomic\n3 atoms\n2 bonds\n1 angles\n\nCoords\n\n1 0 0 0\n"
         "2 1.0 0.1 0\n3 -0.2 1.05 0\n\nTypes\n\n1 1\n2 2\n3 2\n\nBonds\n\n"
         "1 1 1 2\n2 1 1 3\n\nAngles\n\n1 1 2 1 3\n";
}

// an empty box for copies of it (atom style full, harmonic bonds and
// angles, LJ between all atoms), the template read from `mol` as "tri"
inline std::vector<std::string> triatomic_box(const std::string &mol)
{
  return {"units lj",
          "atom_style full",
          "region box block 0 40 0 40 0 40",
          "create_box 2 box bond/types 1 angle/types 1 extra/bond/per/atom 2 "
          "extra/angle/per/atom 1 extra/special/per/atom 2",
          "mass * 1.0",
          "pair_style lj/cut 2.5",
          "pair_coeff * * 1.0 1.0 2.5",
          "bond_style harmonic",
          "bond_coeff 1 100.0 1.0",
          "angle_style harmonic",
          "angle_coeff 1 50.0 100.0",
          "special_bonds lj 0 0 0",
          "molecule tri " + mol};
}

#endif
