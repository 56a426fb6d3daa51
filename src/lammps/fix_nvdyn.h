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
#include "nvdyn_extxyz.h"
#include "nvdyn_pipeline.h"
#include "nvdyn_samples.h"
#include "nvdyn_source.h"

#include <deque>
#include <memory>
#include <string>
#include <vector>

struct nvdyn_engine;
struct nvdyn_atoms;

namespace LAMMPS_NS {

class NVDynOutput;
class NVDynGroups;

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
  void setup_pre_exchange() override;
  void post_neighbor() override;
  void post_run() override;

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
  // samples finished on this step without per-atom energies: they get
  // theirs on the next step, or from end_run()
  bool waits_for_energies() const { return !pending.empty(); }
  // at the end of a run that ends early, after the run style evaluated the
  // forces of the last step once more with every compute's tallies
  // (tallied) or could not: the energies and frames of those samples
  void end_run(bool tallied);
  // the BEFORE_COMPUTE / AFTER_COMPUTE hook points; a run style that calls
  // them itself around the force evaluation sets external_compute_hooks,
  // otherwise the fix calls them from pre_force / post_force
  void begin_compute();
  void end_compute();
  bool external_compute_hooks;
  // set by run_style nvpipeline/kk (which runs VerletKokkos's loop): the
  // fix nvdyn instances of the run. The last of them ends the run after
  // the step on which all are finished and none waits for energies (a
  // finished one with samples waiting tallies them on the next step), as
  // fix halt ends a run: timer->force_timeout()
  const std::vector<FixNVDyn *> *run_batches;
  bigint run_last_step;    // with run_batches: the run's last step, once all are finished

  // per stage, for the end-of-run summary
  using StageSummary = NVDynStageSummary;
  std::vector<StageSummary> stage_summary() const;
  // with a source: what it gave, after this partition's pipeline line in
  // a pipeline ("" without a source)
  std::string source_summary() const;

  // ---- run_style nvpipeline split, across partitions (fix_nvdyn_pipeline.cpp)

  // Collective over every partition when there are several: this
  // partition runs its part of the stages (split), samples come from the
  // partition upstream and leave for the one downstream. Checks the split
  // against the stages; with one partition, every stage runs here.
  void join_pipeline(const NVDynPipelineConfig &);
  // Collective: this partition stops with an error that every rank of it
  // raised (LAMMPS's Error::all): every other partition stops with it
  void pipeline_error(const std::string &message);

 protected:
  nvdyn_engine *engine;
  int nstages;
  NVDynConfig config;                     // the fix's arguments
  std::unique_ptr<NVDynSamples> table;    // samples: IDs, atom counts, state copies
  std::unique_ptr<NVDynGroups> groups;    // stage, outcome and frozen groups

  int *sample;        // per-atom sample index (-1: in no sample)
  int *atom_index;    // per-atom index within its sample (-1: in no sample)
  int nsamples;

  std::vector<double> stage_seconds;    // wall time per stage, shared by atoms
  double step_start;                    // wall time at the end of the last step

  std::string id_pe;    // compute pe/atom for the samples' energies
  class Compute *c_pe;
  bigint pe_step;                         // step on which per-atom energies are tallied
  bool exclude_frozen;                    // frozen atoms are excluded from the neighbor lists
  bool energy_stages;                     // some stage checks need per-atom energies
  bigint frozen_listed;                   // atoms frozen since the last neighbor list build
  bool isolation_said;                    // setup() has said how samples are isolated
  double escape_margin;                   // escape guard margin, 0 = off
  bool first_step;                        // the next initial_integrate is a run's first
  bool restart_failed;                    // restart() ended in an error
  bool in_step;                           // initial_integrate came, end_of_step not yet
  uint64_t atoms_generation;              // nvdyn_atoms.generation: new at setup and builds
  std::vector<std::string> definition;    // group, samples, stages: what a restart must match

  std::unique_ptr<NVDynOutput> outfiles;    // the sink and the log
  std::unique_ptr<NVDynExtXYZ> extxyz;      // the sink's frames
  // samples that finished on a step without per-atom energies, waiting
  // for those of a later step (their frames, if there is a sink): the next
  // one that tallies them anyway, at most ENERGY_WAIT steps after the first
  // of them (a large batch finishes samples on most steps: one step's wait
  // would tally energies on most steps)
  static constexpr int ENERGY_WAIT = 10;
  std::vector<int> pending;
  std::vector<NVDynExtXYZ::Frame> pending_frames;
  bigint pending_due;    // the step by which they get energies (ENERGY_WAIT after the first)

  // streaming (fix_nvdyn_stream.cpp): the source, the samples whose atoms
  // were created on this step (they join their slots at its end), the
  // step of the last refill, the offset of new samples' IDs (the largest
  // sample or molecule ID of the input)
  std::unique_ptr<NVDynSource> source;
  struct Entering {
    int slot;
    tagint id;
    int natoms;
    int64_t index;
    std::string info;
    NVDynSphere sphere;
    tagint tag0;
    std::string state;    // a sample handed on: its engine state
  };
  std::vector<Entering> entering;
  bigint last_refill;
  tagint id_offset;
  // a source frame's random numbers are keyed by its index in the source
  // (above the keys of the input's samples, their slots)
  static constexpr uint64_t SOURCE_KEY = 1ULL << 63;
  double placement_margin() const;
  std::vector<int> written_samples() const;
  bool refill_due(bigint step) const;
  void refill();
  void delete_samples(const std::vector<int> &);
  void create_samples(std::vector<NVDynSource::Insert> &);
  virtual void commit_entering();
  void grow_slots(int n);
  void add_topology(class Molecule *, int sign);
  void write_unplaced(const std::vector<NVDynSource::Frame> &);
  void restart_stream(const struct NVDynSaved &);

  // the partition pipeline: the links, the samples that finished this
  // partition's stages and wait for room downstream (frozen), in order
  std::unique_ptr<NVDynPipeline> pipeline;
  std::deque<int> held;
  bool passes_on(int s) const;
  void pipeline_step();
  bool pipeline_idle();
  void send_held();
  std::string pack_handover(int s);
  void write_sink(const std::string &text);
  virtual void host_atoms() {}    // the atoms' data on the host (fix nvdyn/kk syncs)

  void open_output();
  void fail_samples(const std::vector<int> &, int reason);
  void apply_changes(const std::vector<int> &before, bool ghosts, bool energies = true);
  void finish_pending(const double *pe);
  void refresh_state();
  void refresh_values();
  void plan_step(bigint);
  void end_run_if_finished();
  void write_log();
  virtual void set_stage_masks();    // local atoms; ghosts by forward comm
  virtual void fill_atoms(::nvdyn_atoms &);
  virtual int end_engine_step(::nvdyn_atoms &);
  virtual bool energy_due();
  void check(int status, const char *where);
  void check_unchecked(::nvdyn_atoms &, const char *where);
  struct NVDynSaved saved_now() const;    // collective: what a restart file must match
};

}    // namespace LAMMPS_NS

#endif
#endif
