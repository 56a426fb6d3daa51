/* -*- c++ -*- ----------------------------------------------------------
   NVDYN: the sample table of fix nvdyn (which atoms form which sample, and
   the index of each atom within its sample) and its LAMMPS groups (one per
   stage and outcome, and the frozen atoms, excluded from the neighbor
   lists). Per-atom arrays belong to the fix; these functions read them.
   See doc/fix_nvdyn.md.
------------------------------------------------------------------------- */

#ifndef NVDYN_SAMPLES_H
#define NVDYN_SAMPLES_H

#include "nvdyn_args.h"
#include "nvdyn_restart.h"
#include "nvdyn_source.h"

#include "lmptype.h"

#include "pointers.h"

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace LAMMPS_NS {

// per stage, for the end-of-run summary
struct NVDynStageSummary {
  std::string name;
  int samples;          // samples that entered the stage
  double mean_steps;    // mean steps they spent in it (0 if none entered)
  bigint max_steps;     // most steps one of them spent in it
  int timeouts;         // samples that timed out in it
  int failures;         // samples that failed in it
  double seconds;       // wall time of the steps, shared among stages by atoms
};

class NVDynSamples : protected Pointers {
 public:
  NVDynSamples(LAMMPS *, int igroup);

  // Collective. Splits the fix group into samples (all / molecule / chunk):
  // sets the table below; per local atom, its sample index (-1 outside the
  // fix group) and its index within the sample (the rank of its atom ID
  // among those of its sample; -1 outside). Errors leave nothing created.
  void assign(const NVDynConfig &, std::vector<int> &sample, std::vector<int> &atom_index);

  int nsamples = 0;
  int nstages = 0;
  std::vector<tagint> ids;           // per sample: molecule ID, chunk ID or 1
  std::vector<int> natoms0;          // per sample: atoms when the fix was defined
  std::vector<int> natoms;           // per sample: atoms now (at the last count)
  bigint total_atoms = 0;            // atoms of the samples in slots, as defined or inserted
  bool isolate_molecules = false;    // samples are molecules: excluded from each other

  // Streaming (a source): slots emptied and filled one sample at a time.
  // Per slot: the source index of its frame (-1: a sample of the input or
  // an empty slot), its frame's info keys (the sink's text), its sphere
  // (reach < 0: none), the atom IDs of a frame's atoms (tag0 + 1 ...)
  std::vector<int64_t> source_index;
  std::vector<std::string> source_info;
  std::vector<NVDynSphere> sphere;
  std::vector<tagint> tag0;
  void grow(int nslots);    // new slots are empty
  // a frame's sample in empty slot s
  void insert(int s, tagint id, int natoms, int64_t index, std::string info,
              const NVDynSphere &sphere, tagint tag0);
  // empties slot s; what the sample did goes on in the stage summary
  void retire(int s, const nvdyn_engine *);
  // restart files: the slots of a stream, and the retired samples' summary
  void save_slots(NVDynSaved::Stream &) const;
  void restore_slots(const NVDynSaved::Stream &, const std::vector<tagint> &ids);
  // Collective: the spheres of the samples without one (those of the
  // input): their centres and extents now, plus margin (a sample spanning
  // a periodic box length is an error)
  void set_spheres(const int *sample, double margin, const std::string &fix_id);

  // Collective: per sample, a hash of the IDs of its atoms (the same on any
  // number of ranks, in any order)
  std::vector<uint64_t> membership_hashes(const int *sample) const;

  // Collective: the samples with fewer atoms than they were defined with;
  // recounts natoms only when the total is short
  std::vector<int> short_samples(const int *sample);

  // Collective escape guard of the active samples: those an
  // atom of which is further than `margin` beyond the sample's extent at
  // its first check (set then) from its centre (unwrapped positions), or,
  // for a sample with a sphere, further than its reach from its centre.
  // Samples whose extent plus margin spans a periodic box length are not
  // guarded (escape_radius -1).
  std::vector<int> escaped(const int *sample, double margin);
  std::vector<double> escape_radius;    // NaN before the first check

  // Collective: warns about atoms of the fix group in no sample (they
  // joined the group after the fix was defined)
  void warn_orphans(const int *sample) const;

  // rank 0 logs how the samples are kept apart, and warns about what
  // couples them (kspace, atoms outside the fix group)
  void say_isolation(const std::string &fix_id) const;

  // copies of the engine's per-sample state, refreshed by refresh_state()
  // when samples changed stage or outcome
  std::vector<int> stage, outcome, reason;    // nvdyn_outcome, nvdyn_reason
  int nactive = 0;                            // active samples
  int nlive = 0;                              // samples in slots (not empty)
  std::vector<int> group_count;               // samples per group (group_of())
  bigint retired_outcomes[3] = {0, 0, 0};     // samples retired done, failed, timed out
  std::vector<double> stage_atoms;            // atoms of the active samples per stage
  double active_atoms = 0.0;                  // their sum
  int refresh_state(const nvdyn_engine *);    // an nvdyn_status
  // steps in the stage, by refresh_steps(), and the values, by
  // refresh_values(), each at most once per step
  std::vector<int64_t> steps;
  std::vector<double> energy, fmax, temp;
  int refresh_steps(const nvdyn_engine *, bigint step);
  void stepped() { steps_step = values_step = -1; }    // the engine made a step
  int refresh_values(const nvdyn_engine *, bigint step);

  // Energies of finished samples that the engine has not: those of samples
  // that finished on a step without per-atom energies, summed on the next
  // step (their atoms do not move). refresh_values() puts them in energy.
  std::vector<double> final_energy;    // NaN: none
  void set_final_energy(int s, double energy);
  // Collective: per sample of `which`, the sum of pe over its atoms
  std::vector<double> sum_energy(const int *sample, const double *pe,
                                 const std::vector<int> &which) const;

  // the per-sample array of the fix: sample ID, stage (1..nstages,
  // nstages+1 = done), steps in the stage, energy, fmax, outcome, atoms,
  // temperature, reason
  enum Column {
    COL_ID,
    COL_STAGE,
    COL_STEPS,
    COL_ENERGY,
    COL_FMAX,
    COL_OUTCOME,
    COL_ATOMS,
    COL_TEMP,
    COL_REASON,
    NCOLS
  };
  double column(int s, int col) const;
  // the columns of the values (refresh_values() first)
  static bool is_value_column(int col);

  // the CSV log: its header, and one row per sample of the values
  static constexpr const char *log_header = "step,sample,stage,outcome,energy,fmax,temperature\n";
  std::string log_rows(bigint step, const std::vector<std::string> &group_names) const;

  // the group of a sample's atoms: its stage while active, else the group
  // of its outcome (nstages + 0, 1, 2: done, failed, timed out)
  int group_of(int s) const;
  std::vector<NVDynStageSummary> stage_summary(const nvdyn_engine *,
                                               const std::vector<std::string> &stage_names,
                                               const std::vector<double> &stage_seconds) const;

 private:
  int igroup, groupbit;
  bigint steps_step = -1, values_step = -1;    // the steps of the copies above
  std::vector<int> with_final_energy;          // the samples with a final_energy
  std::vector<NVDynStageSummary> retired;      // what the retired samples did (no names)
  std::vector<int64_t> retired_steps;          // their steps per stage, in all
  std::vector<int> count_atoms(const int *sample, int n) const;
  void extents(const int *sample, const std::function<bool(int)> &want, std::vector<double> &centre,
               std::vector<double> &count, std::vector<double> &r2) const;
  void add_to_summary(const nvdyn_engine *, int s, std::vector<NVDynStageSummary> &,
                      std::vector<double> &total) const;
  void index_in_samples(const std::vector<int> &sample, std::vector<int> &atom_index) const;
};

}    // namespace LAMMPS_NS

#endif
