/* -*- c++ -*- ----------------------------------------------------------
   NVDYN: what the global restart record of fix nvdyn holds, and how it is
   written, read and matched against the fix that continues from it (the
   record's byte layout: NVDynRestartRecord, nvdyn_output.h).
------------------------------------------------------------------------- */

#ifndef NVDYN_RESTART_H
#define NVDYN_RESTART_H

#include "nvdyn_output.h"

#include "lmptype.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace LAMMPS_NS {

class Error;

struct NVDynSaved {
  int64_t nstages = 0;
  std::vector<tagint> ids;                // per sample
  std::vector<double> stage_seconds;      // wall time per stage
  std::vector<char> state;                // the engine's state
  std::vector<double> final_energy;       // per sample (NVDynSamples::final_energy)
  NVDynOutput::Sizes sizes{};             // of the sink and the log
  std::vector<std::string> definition;    // group, samples, stages
  std::vector<uint64_t> membership;       // per sample, a hash of its atom IDs

  // with a source: per slot, the frame of its sample (NVDynSamples), the
  // stage summary of the samples retired so far, and the source's state
  // (NVDynSource::save)
  struct Stream {
    bool present = false;
    std::vector<int64_t> source_index, natoms0;
    std::vector<tagint> tag0;
    std::vector<double> spheres;    // centre and reach, 4 per slot
    std::vector<std::string> info;
    // per stage: samples, max steps, timeouts, failures, steps; then the
    // samples retired done, failed, timed out
    std::vector<int64_t> retired;
    std::vector<int64_t> source;    // NVDynSource::save()
  } stream;

  // rank 0: the record, as LAMMPS reads a fix's restart record
  void write(FILE *) const;
  // the record in buf; an error (naming fix `id`) if it is of another
  // layout version or corrupt
  void read(Error *, const std::string &id, const char *buf);
  // an error (naming fix `id`) unless this record was written by a fix
  // defined as `now` is (samples, stages, definition, atoms of each sample;
  // with a source, whose samples come and go: stages and definition)
  void match(Error *, const std::string &id, const NVDynSaved &now) const;
};

}    // namespace LAMMPS_NS

#endif
