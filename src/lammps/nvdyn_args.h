/* -*- c++ -*- ----------------------------------------------------------
   NVDYN: the argument grammar of fix nvdyn. parse_nvdyn_args() reads every
   keyword into a plain configuration and checks it completely (LAMMPS
   errors) before the fix creates anything; create_nvdyn_engine() makes the
   C core's engine of it, whose errors name the stage and keyword.
   See doc/fix_nvdyn.md.
------------------------------------------------------------------------- */

#ifndef NVDYN_ARGS_H
#define NVDYN_ARGS_H

#include "lmptype.h"

#include <mpi.h>
#include <string>
#include <utility>
#include <vector>

struct nvdyn_engine;

namespace LAMMPS_NS {

class LAMMPS;

struct NVDynConfig {
  enum SampleMode { SAMPLES_ALL, SAMPLES_MOLECULE, SAMPLES_CHUNK };
  enum NanMode { NAN_FAIL, NAN_STOP, NAN_OFF };

  // stage NAME STYLE [style args] [keyword value ...] [until criterion value ...]
  struct Stage {
    std::string name, style;
    std::vector<std::pair<std::string, double>> params, until;
  };

  SampleMode sample_mode = SAMPLES_ALL;
  std::string chunk_id;    // compute chunk/atom ID for SAMPLES_CHUNK
  std::vector<Stage> stages;
  std::string outcome_groups[3] = {"done", "failed", "timeout"};
  std::string sink_file, log_file;
  std::vector<std::string> elements;    // species per atom type (sink)
  bigint log_every = 0;                 // 0: no log
  NanMode nan_mode = NAN_FAIL;
  double fclamp = 0.0;
  bool append = false;
  double escape = -1.0, maxmove = -1.0;    // -1 default, 0 off

  // a sample source (streaming): frames read as needed, placed into free
  // space under a budget; finished samples are deleted and refilled
  struct Source {
    std::vector<std::string> paths;    // extended-XYZ files or directories, in order
    bigint atoms = 0;                  // atom budget (0: none)
    int samples = 0;                   // sample budget (0: none)
    double margin = -1.0;              // placement and escape margin (-1: neighbor cutoff)
    int rotate_seed = 0;               // random rotations keyed by this seed (0: none)
    bigint every = 10;                 // refill at most every N steps ...
    double free = 0.0;                 // ... or once this fraction of the budget is free
    int window = 64;                   // frames read ahead (largest first)
  } source;
  bool streaming() const { return !source.paths.empty(); }

  // what a restart file must match: fix group, samples, stage definitions
  std::vector<std::string> definition(const std::string &fix_group) const;
};

// fix ID group nvdyn args...: arg[3..narg) parsed and checked (errors via
// error->all with the messages of doc/fix_nvdyn.md)
NVDynConfig parse_nvdyn_args(LAMMPS *, int narg, char **arg);

// The C core engine of the stages, with nsamples samples; the core checks
// styles, parameter ranges and which parameters apply to which style (an
// error->all naming stage and keyword). Reductions go over *world.
nvdyn_engine *create_nvdyn_engine(LAMMPS *, const NVDynConfig &, int nsamples, MPI_Comm *world);

}    // namespace LAMMPS_NS

#endif
