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
  if (!record.get(membership.data(), membership.size()) || !record.at_end()) corrupt();
}

void NVDynSaved::match(Error *error, const std::string &id, const NVDynSaved &now) const
{
  if (ids.size() != now.ids.size() || nstages != now.nstages)
    error->all(FLERR,
               "Fix nvdyn {}: the restart file holds {} samples in {} stages, the fix has {} in {}",
               id, ids.size(), nstages, now.ids.size(), now.nstages);
  if (ids != now.ids)
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
  for (size_t s = 0; s < ids.size(); s++)
    if (now.membership[s] != membership[s])
      error->all(FLERR,
                 "Fix nvdyn {}: sample {} holds other atoms than in the restart file (atoms "
                 "reassigned to molecules or chunks, or added or deleted since)",
                 id, ids[s]);
}
