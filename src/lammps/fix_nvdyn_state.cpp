/* ----------------------------------------------------------------------
   NVDYN: fix nvdyn, the callbacks that carry its state: per-atom arrays
   (sample index, index within the sample) across ranks and into restart
   files, the group masks to ghost atoms, and the global restart record.
------------------------------------------------------------------------- */

#include "fix_nvdyn.h"

#include "nvdyn.h"
#include "nvdyn_groups.h"
#include "nvdyn_restart.h"

#include "atom.h"
#include "comm.h"
#include "error.h"
#include "memory.h"
#include "modify.h"

#include <cmath>

using namespace LAMMPS_NS;

/* ----------------------------------------------------------------------
   restart: the global record (NVDynSaved) holds the samples, the engine's
   state, the sizes of the output files and the fingerprint of the
   definition; per atom, the sample index and the index within the sample
------------------------------------------------------------------------- */

NVDynSaved FixNVDyn::saved_now() const
{
  NVDynSaved now;
  now.nstages = nstages;
  now.ids = table->ids;
  now.definition = definition;
  now.membership = table->membership_hashes(sample);    // collective
  return now;
}

void FixNVDyn::write_restart(FILE *fp)
{
  NVDynSaved saved = saved_now();
  if (source) {
    // the slots, then the fix's and the source's counters
    table->save_slots(saved.stream);
    saved.stream.source = {id_offset, last_refill};
    const std::vector<int64_t> state = source->save();
    saved.stream.source.insert(saved.stream.source.end(), state.begin(), state.end());
  }
  size_t nstate = 0;
  check(nvdyn_state_size(engine, &nstate), "write_restart");
  saved.state.resize(nstate);
  check(nvdyn_state_save(engine, saved.state.data(), nstate), "write_restart");
  saved.stage_seconds = stage_seconds;
  saved.final_energy = table->final_energy;
  saved.sizes = outfiles->sizes();
  if (comm->me == 0) saved.write(fp);
}

void FixNVDyn::restart(char *buf)
{
  // an error below leaves this fix in Modify before Modify::add_fix() sets
  // its mask: the mask is set here, and the fix refuses to run until it
  // has continued from the restart file
  restart_failed = true;
  modify->fmask[modify->find_fix(id)] = setmask();
  NVDynSaved saved;
  saved.read(error, id, buf);
  NVDynSaved now = saved_now();
  now.stream.present = source != nullptr;
  saved.match(error, id, now);
  if (source) restart_stream(saved);
  if (nvdyn_state_load(engine, saved.state.data(), saved.state.size()) != NVDYN_OK)
    error->all(FLERR, "Fix nvdyn {}: cannot continue from the restart file: {}", id,
               nvdyn_engine_last_error(engine));
  stage_seconds = saved.stage_seconds;
  for (int s = 0; s < nsamples; s++)
    if (!std::isnan(saved.final_energy[s])) table->set_final_energy(s, saved.final_energy[s]);
  refresh_state();
  set_stage_masks();
  outfiles->resume(saved.sizes);
  restart_failed = false;
}

// a stream's slots as in the restart file (the atoms' sample indices
// follow, by unpack_restart), and the source where it was
void FixNVDyn::restart_stream(const NVDynSaved &saved)
{
  const int n = (int) saved.stream.source_index.size();
  if (saved.stream.source.size() < 2 || n < 1)
    error->all(FLERR, "Fix nvdyn {}: the fix's record in the restart file is corrupt", id);
  check(nvdyn_engine_set_nsamples(engine, n), "restart");
  table->restore_slots(saved.stream, saved.ids);
  nsamples = n;
  size_array_rows = n;
  for (int i = 0; i < atom->nlocal; i++) sample[i] = atom_index[i] = -1;
  id_offset = (tagint) saved.stream.source[0];
  last_refill = saved.stream.source[1];
  std::vector<std::pair<tagint, int>> live;
  for (int s = 0; s < n; s++)
    if (table->source_index[s] >= 0) live.emplace_back(table->tag0[s], table->natoms0[s]);
  source->restore(std::vector<int64_t>(saved.stream.source.begin() + 2, saved.stream.source.end()),
                  live);
}

int FixNVDyn::pack_restart(int i, double *buf)
{
  buf[0] = 3;
  buf[1] = ubuf(sample[i]).d;
  buf[2] = ubuf(atom_index[i]).d;
  return 3;
}

void FixNVDyn::unpack_restart(int nlocal, int nth)
{
  double **extra = atom->extra;
  int m = 0;
  for (int i = 0; i < nth; i++) m += static_cast<int>(extra[nlocal][m]);
  sample[nlocal] = (int) ubuf(extra[nlocal][m + 1]).i;
  atom_index[nlocal] = (int) ubuf(extra[nlocal][m + 2]).i;
}

int FixNVDyn::size_restart(int /*nlocal*/)
{
  return 3;
}

int FixNVDyn::maxsize_restart()
{
  return 3;
}

/* ----------------------------------------------------------------------
   per-atom sample index and index within the sample: follow their atom
   between ranks
------------------------------------------------------------------------- */

void FixNVDyn::grow_arrays(int nmax)
{
  memory->grow(sample, nmax, "nvdyn:sample");
  memory->grow(atom_index, nmax, "nvdyn:atom_index");
}

void FixNVDyn::copy_arrays(int i, int j, int /*delflag*/)
{
  sample[j] = sample[i];
  atom_index[j] = atom_index[i];
}

void FixNVDyn::set_arrays(int i)
{
  sample[i] = -1;
  atom_index[i] = -1;
}

int FixNVDyn::pack_exchange(int i, double *buf)
{
  buf[0] = ubuf(sample[i]).d;
  buf[1] = ubuf(atom_index[i]).d;
  return 2;
}

int FixNVDyn::unpack_exchange(int nlocal, double *buf)
{
  sample[nlocal] = (int) ubuf(buf[0]).i;
  atom_index[nlocal] = (int) ubuf(buf[1]).i;
  return 2;
}

/* ----------------------------------------------------------------------
   the group masks of ghost atoms (set_stage_masks() sets local ones)
------------------------------------------------------------------------- */

int FixNVDyn::pack_forward_comm(int n, int *list, double *buf, int /*pbc_flag*/, int * /*pbc*/)
{
  int *mask = atom->mask;
  for (int k = 0; k < n; k++) buf[k] = ubuf(mask[list[k]]).d;
  return n;
}

void FixNVDyn::unpack_forward_comm(int n, int first, double *buf)
{
  int *mask = atom->mask;
  for (int k = 0; k < n; k++) mask[first + k] = (int) ubuf(buf[k]).i;
}

// per-atom arrays, and the sample table: ID, atom counts (2), stage,
// outcome, reason, steps; energy, fmax, temperature, final energy, escape
// radius
double FixNVDyn::memory_usage()
{
  return (double) atom->nmax * 2 * sizeof(int) +
      (double) nsamples * (sizeof(tagint) + 5 * sizeof(int) + sizeof(int64_t) + 5 * sizeof(double));
}
