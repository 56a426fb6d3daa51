/* ----------------------------------------------------------------------
   NVDYN: the global restart record of fix nvdyn (nvdyn_restart.h): block
   after block, the samples, the engine's state and the final energies the
   fix holds, the sizes of the output files, and the fingerprint of the
   definition.
------------------------------------------------------------------------- */

#include "nvdyn_restart.h"

#include "error.h"
#include "fmt/format.h"

#include <algorithm>

using namespace LAMMPS_NS;

void NVDynSaved::write(FILE *fp) const
{
  NVDynRestartRecord record;

  // samples, stages, wall time per stage, the engine's state
  record.put<int64_t>((int64_t) ids.size());
  record.put<int64_t>(nstages);
  record.put<int64_t>((int64_t) state.size());
  record.put(ids.data(), ids.size());
  record.put(stage_seconds.data(), stage_seconds.size());
  record.put(state.data(), state.size());
  record.put(final_energy.data(), final_energy.size());

  // output: the sizes of the sink and the log
  record.put(sizes.data(), sizes.size());

  // the fingerprint of the definition: its text, and the atoms of each sample
  record.put<int64_t>((int64_t) definition.size());
  for (const auto &text : definition) {
    record.put<int64_t>((int64_t) text.size());
    record.put(text.data(), text.size());
  }
  record.put(membership.data(), membership.size());

  // the stream: per slot, then the retired samples and the source
  record.put<int64_t>(stream.present ? (int64_t) stream.source_index.size() : -1);
  if (stream.present) {
    record.put(stream.source_index.data(), stream.source_index.size());
    record.put(stream.natoms0.data(), stream.natoms0.size());
    record.put(stream.tag0.data(), stream.tag0.size());
    record.put(stream.spheres.data(), stream.spheres.size());
    for (const auto &text : stream.info) {
      record.put<int64_t>((int64_t) text.size());
      record.put(text.data(), text.size());
    }
    record.put<int64_t>((int64_t) stream.retired.size());
    record.put(stream.retired.data(), stream.retired.size());
    record.put<int64_t>((int64_t) stream.source.size());
    record.put(stream.source.data(), stream.source.size());
  }

  record.write(fp);
}

void NVDynSaved::read(Error *error, const std::string &id, const char *buf)
{
  NVDynRestartRecord record;
  if (!record.read(buf))
    error->all(FLERR,
               "Fix nvdyn {}: the restart file holds no fix nvdyn record of layout version {} "
               "(it was written by another version of NVDYN)",
               id, NVDynRestartRecord::VERSION);
  auto corrupt = [&]() {
    error->all(FLERR, "Fix nvdyn {}: the fix's record in the restart file is corrupt", id);
  };

  // samples, stages, wall time per stage, the engine's state
  int64_t header[3];
  if (!record.get(header, 3) || header[0] < 0 || header[1] < 0 ||
      (uint64_t) header[0] + (uint64_t) header[1] > record.left())
    corrupt();
  nstages = header[1];
  ids.resize(header[0]);
  stage_seconds.resize(nstages);
  if (!record.get(ids.data(), ids.size()) ||
      !record.get(stage_seconds.data(), stage_seconds.size()))
    corrupt();
  const char *saved_state = record.take((size_t) header[2]);    // nullptr if negative or too long
  if (!saved_state) corrupt();
  state.assign(saved_state, saved_state + header[2]);
  final_energy.resize(ids.size());
  if (!record.get(final_energy.data(), final_energy.size())) corrupt();

  // output: the sizes of the sink and the log
  if (!record.get(sizes.data(), sizes.size())) corrupt();

  // the fingerprint
  int64_t nitems = 0;
  if (!record.get(&nitems, 1) || nitems < 0) corrupt();
  definition.clear();
  for (int64_t k = 0; k < nitems; k++) {
    int64_t len = 0;
    const char *text = record.get(&len, 1) && len >= 0 ? record.take((size_t) len) : nullptr;
    if (!text) corrupt();
    definition.emplace_back(text, (size_t) len);
  }
  membership.resize(ids.size());
  if (!record.get(membership.data(), membership.size())) corrupt();

  // the stream
  int64_t nslots = 0;
  if (!record.get(&nslots, 1) || nslots < -1 || nslots > (int64_t) record.left()) corrupt();
  stream.present = nslots >= 0;
  if (stream.present) {
    const size_t n = (size_t) nslots;
    stream.source_index.resize(n);
    stream.natoms0.resize(n);
    stream.tag0.resize(n);
    stream.spheres.resize(4 * n);
    if (!record.get(stream.source_index.data(), n) || !record.get(stream.natoms0.data(), n) ||
        !record.get(stream.tag0.data(), n) || !record.get(stream.spheres.data(), 4 * n))
      corrupt();
    stream.info.clear();
    for (size_t k = 0; k < n; k++) {
      int64_t len = 0;
      const char *text = record.get(&len, 1) && len >= 0 ? record.take((size_t) len) : nullptr;
      if (!text) corrupt();
      stream.info.emplace_back(text, (size_t) len);
    }
    for (auto *block : {&stream.retired, &stream.source}) {
      int64_t len = 0;
      if (!record.get(&len, 1) || len < 0 || len > (int64_t) record.left()) corrupt();
      block->resize((size_t) len);
      if (!record.get(block->data(), block->size())) corrupt();
    }
  }
  if (!record.at_end()) corrupt();
}

void NVDynSaved::match(Error *error, const std::string &id, const NVDynSaved &now) const
{
  if (stream.present != now.stream.present)
    error->all(FLERR, "Fix nvdyn {}: the fix {} a source, the fix in the restart file {}", id,
               now.stream.present ? "has" : "has no", stream.present ? "had one" : "had none");
  if (stream.present && nstages != now.nstages)
    error->all(FLERR, "Fix nvdyn {}: the restart file holds {} stages, the fix has {}", id, nstages,
               now.nstages);
  if (!stream.present && (ids.size() != now.ids.size() || nstages != now.nstages))
    error->all(FLERR,
               "Fix nvdyn {}: the restart file holds {} samples in {} stages, the fix has {} in {}",
               id, ids.size(), nstages, now.ids.size(), now.nstages);
  if (!stream.present && ids != now.ids)
    error->all(FLERR, "Fix nvdyn {}: the restart file holds other sample IDs than the fix", id);

  // the same definition (group, samples, stage styles and parameters) and
  // the same atoms in each sample
  for (size_t k = 0; k < std::max(definition.size(), now.definition.size()); k++) {
    const std::string was = k < definition.size() ? definition[k] : "nothing";
    const std::string is = k < now.definition.size() ? now.definition[k] : "nothing";
    if (was != is)
      error->all(FLERR,
                 "Fix nvdyn {}: the fix is not defined as in the restart file: there '{}', "
                 "here '{}'",
                 id, was, is);
  }
  // (a source's samples: their atoms are checked as the run starts,
  // NVDynSamples::short_samples)
  for (size_t s = 0; s < ids.size() && !stream.present; s++)
    if (now.membership[s] != membership[s])
      error->all(FLERR,
                 "Fix nvdyn {}: sample {} holds other atoms than in the restart file (atoms "
                 "reassigned to molecules or chunks, or added or deleted since)",
                 id, ids[s]);
}
