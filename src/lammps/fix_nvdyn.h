/* -*- c++ -*- ----------------------------------------------------------
   NVDYN: fix nvdyn, batched multi-stage dynamics of independent samples.
   See doc/fix_nvdyn.md.
------------------------------------------------------------------------- */

#ifdef FIX_CLASS
// clang-format off
FixStyle(nvdyn,FixNVDyn);
// clang-format on
#else

#ifndef NVDYN_FIX_NVDYN_H
#define NVDYN_FIX_NVDYN_H

#include "fix.h"

#include <memory>
#include <string>
#include <vector>

struct nvdyn_engine;
struct nvdyn_atoms;

namespace LAMMPS_NS {

class NVDynOutput;

class FixNVDyn : public Fix {
 public:
  FixNVDyn(class LAMMPS *, int, char **);
  ~FixNVDyn() override;
  int setmask() override;
  void init() override;
  void setup(int) override;
  void initial_integrate(int) override;
  void pre_force(int) override;
  void post_force(int) override;
  void final_integrate() override;
  void end_of_step() override;
  void pre_exchange() override;
  void post_neighbor() override;

  double compute_vector(int) override;
  double compute_array(int, int) override;
  void *extract(const char *, int &) override;

  void grow_arrays(int) override;
  void copy_arrays(int, int, int) override;
  void set_arrays(int) override;
  int pack_exchange(int, double *) override;
  int unpack_exchange(int, double *) override;
  int pack_forward_comm(int, int *, double *, int, int *) override;
  void unpack_forward_comm(int, int, double *) override;
  void write_restart(FILE *) override;
  void restart(char *) override;
  int pack_restart(int, double *) override;
  void unpack_restart(int, int) override;
  int size_restart(int) override;
  int maxsize_restart() override;
  double memory_usage() override;

  // ---- for run_style nvpipeline

  // true when no sample is active any more (all done, failed or timed out)
  bool finished() const;
  // the BEFORE_COMPUTE / AFTER_COMPUTE hook points; a run style that calls
  // them itself around the force evaluation sets external_compute_hooks,
  // otherwise the fix calls them from pre_force / post_force
  void begin_compute();
  void end_compute();
  bool external_compute_hooks;

  // per stage, for the end-of-run summary
  struct StageSummary {
    std::string name;
    int samples;          // samples that entered the stage
    double mean_steps;    // mean steps they spent in it (0 if none entered)
    bigint max_steps;     // most steps one of them spent in it
    int timeouts;         // samples that timed out in it
    int failures;         // samples that failed in it
    double seconds;       // wall time of the steps, shared among stages by atoms
  };
  std::vector<StageSummary> stage_summary() const;

 private:
  enum SampleMode { SAMPLES_ALL, SAMPLES_MOLECULE, SAMPLES_CHUNK };
  enum NanMode { NAN_FAIL, NAN_STOP, NAN_OFF };
  struct StageArg;

  nvdyn_engine *engine;
  int nstages;
  // LAMMPS groups: one per stage, then done, failed, timed out, and the
  // internal group of all frozen atoms (excluded from neighbor lists)
  std::vector<std::string> group_names;
  std::vector<int> group_index;
  int group_bits_all;
  int frozen_bit;

  int *sample;    // per-atom sample index (-1: in no sample)
  int nsamples;
  std::vector<tagint> sample_ids;       // per sample: molecule ID, chunk ID or 1
  std::vector<int> sample_natoms0;      // per sample: atoms when the fix was defined
  std::vector<int> sample_natoms;       // per sample: atoms now (at the last count)
  std::vector<int> sample_reason;       // per sample: nvdyn_reason of its outcome
  std::vector<int> sample_stage;        // copies of the engine's per-sample state,
  std::vector<int64_t> sample_steps;    // refreshed at the end of each step
  std::vector<int> sample_outcome;
  std::vector<double> sample_energy, sample_fmax, sample_temp;
  bigint values_step;    // the step of which the three above are copies

  std::vector<double> stage_seconds;    // wall time per stage, shared by atoms
  std::vector<double> stage_atoms;      // scratch: active atoms per stage
  double step_start;                    // wall time at the end of the last step

  std::string id_pe;    // compute pe/atom for the samples' energies
  class Compute *c_pe;
  bigint pe_step;    // step on which per-atom energies are tallied
  int nan_mode;
  bool sink_flag;                         // finished samples are written to a sink
  bigint log_every;                       // 0: no log
  std::vector<std::string> elements;      // species per atom type (sink)
  bool exclude_frozen;                    // frozen atoms are excluded from the neighbor lists
  bigint total_atoms;                     // atoms of all samples
  bigint frozen_listed;                   // atoms frozen since the last neighbor list build
  bool isolate_molecules;                 // samples are molecules: excluded from each other
  bool isolation_said;                    // setup() has said how samples are isolated
  double escape_arg, maxmove_arg;         // keyword values: -1 default, 0 off
  double escape_margin;                   // escape guard margin, 0 = off
  bool first_step;                        // the next initial_integrate is a run's first
  bool restart_failed;                    // restart() ended in an error
  bool in_step;                           // initial_integrate came, end_of_step not yet
  std::vector<std::string> definition;    // group, samples, stages: what a restart must match
  std::vector<double> escape_radius;      // per sample: extent at the first check,
                                          // NaN before it, -1 unguarded (spans the box)

  std::unique_ptr<NVDynOutput> outfiles;    // the sink and the log

  void parse_stage(int, char **, int &, std::vector<StageArg> &);
  nvdyn_engine *create_engine(const std::vector<StageArg> &, double fclamp);
  void create_groups();
  void assign_samples(SampleMode, const std::string &, std::vector<int> &);
  std::vector<int> count_sample_atoms(const int *, int);
  std::vector<uint64_t> membership_hashes();
  void check_lost();
  void check_escape();
  void apply_changes(const std::vector<int> &before, bool ghosts);
  void say_isolation();
  void open_output(const std::string &sink, const std::string &log, bool append);
  void refresh_state();
  void refresh_values();
  void plan_step(bigint);
  void write_sink(const std::vector<int> &);
  void write_log();
  int group_of_sample(int) const;
  void set_stage_masks();    // local atoms; ghosts by forward comm
  void fill_atoms(::nvdyn_atoms &);
  void check(int status, const char *where);
};

}    // namespace LAMMPS_NS

#endif
#endif
