/* ----------------------------------------------------------------------
   NVDYN: the sample table and the groups of fix nvdyn (nvdyn_samples.h).
------------------------------------------------------------------------- */

#include "nvdyn_samples.h"

#include "nvdyn.h"
#include "nvdyn_extxyz.h"

#include "atom.h"
#include "comm.h"
#include "compute_chunk_atom.h"
#include "domain.h"
#include "error.h"
#include "force.h"
#include "group.h"
#include "modify.h"
#include "utils.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

using namespace LAMMPS_NS;

NVDynSamples::NVDynSamples(LAMMPS *lmp, int ig) :
    Pointers(lmp), igroup(ig), groupbit(lmp->group->bitmask[ig])
{
}

/* ----------------------------------------------------------------------
   split the fix group into samples: ids, natoms, nsamples, and the sample
   index of each local atom (-1 outside the fix group)
------------------------------------------------------------------------- */

void NVDynSamples::assign(const NVDynConfig &config, std::vector<int> &index,
                          std::vector<int> &atom_index)
{
  const int nlocal = atom->nlocal;
  int *mask = atom->mask;
  index.assign(nlocal, -1);
  nstages = (int) config.stages.size();
  if (group->count(igroup) == 0 && !config.streaming())
    error->all(FLERR, "Fix nvdyn: fix group '{}' has no atoms", group->names[igroup]);
  const std::string &chunk_id = config.chunk_id;

  if (config.sample_mode == NVDynConfig::SAMPLES_ALL) {
    ids.assign(1, 1);
    for (int i = 0; i < nlocal; i++)
      if (mask[i] & groupbit) index[i] = 0;

  } else if (config.sample_mode == NVDynConfig::SAMPLES_CHUNK) {
    auto cchunk = dynamic_cast<ComputeChunkAtom *>(modify->compute[modify->find_compute(chunk_id)]);
    if (!cchunk) error->all(FLERR, "Fix nvdyn: compute '{}' is not chunk/atom", chunk_id);
    // init: it may not have been used yet; setup: the chunk IDs of its last
    // evaluation on this step are stale when atoms were added or deleted
    // since (setup() makes compute_ichunk() assign them afresh)
    cchunk->init();
    cchunk->setup();
    int nchunk = cchunk->setup_chunks();
    cchunk->compute_ichunk();
    int *ichunk = cchunk->ichunk;
    int unassigned = 0, all_unassigned = 0;
    for (int i = 0; i < nlocal; i++) {
      if (!(mask[i] & groupbit)) continue;
      if (ichunk[i] < 1 || ichunk[i] > nchunk)    // (nchunk is counted once per step)
        unassigned++;
      else
        index[i] = ichunk[i] - 1;
    }
    MPI_Allreduce(&unassigned, &all_unassigned, 1, MPI_INT, MPI_SUM, world);
    if (all_unassigned)
      error->all(FLERR, "Fix nvdyn: {} atoms of the fix group are in no chunk of compute '{}'",
                 all_unassigned, chunk_id);
    ids.resize(nchunk);
    for (int c = 0; c < nchunk; c++) ids[c] = c + 1;

  } else {
    // molecule IDs of the fix group, gathered from all ranks, sorted, unique
    tagint *molecule = atom->molecule;
    std::vector<tagint> mine;
    int zero = 0, all_zero = 0;
    for (int i = 0; i < nlocal; i++) {
      if (!(mask[i] & groupbit)) continue;
      if (molecule[i] == 0) zero++;
      mine.push_back(molecule[i]);
    }
    MPI_Allreduce(&zero, &all_zero, 1, MPI_INT, MPI_SUM, world);
    if (all_zero)
      error->all(FLERR, "Fix nvdyn: samples molecule: {} atoms of the fix group have molecule ID 0",
                 all_zero);
    std::sort(mine.begin(), mine.end());
    mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
    int n = (int) mine.size();
    std::vector<int> counts(comm->nprocs), displs(comm->nprocs, 0);
    MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, world);
    for (int p = 1; p < comm->nprocs; p++) displs[p] = displs[p - 1] + counts[p - 1];
    std::vector<tagint> all(displs.back() + counts.back());
    MPI_Allgatherv(mine.data(), n, MPI_LMP_TAGINT, all.data(), counts.data(), displs.data(),
                   MPI_LMP_TAGINT, world);
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    ids = all;
    for (int i = 0; i < nlocal; i++) {
      if (mask[i] & groupbit)
        index[i] = (int) (std::lower_bound(all.begin(), all.end(), molecule[i]) - all.begin());
    }
  }

  // chunks without atoms (chunk/atom molecule numbers chunks up to the
  // largest molecule ID) are no samples; unless samples come from a
  // source, the fix group is not empty and each of its atoms is in a
  // sample: nsamples >= 1
  std::vector<int> count = count_atoms(index.data(), (int) ids.size());
  std::vector<int> renumber(ids.size(), -1);
  nsamples = 0;
  for (size_t c = 0; c < ids.size(); c++)
    if (count[c] > 0) {
      renumber[c] = nsamples;
      ids[nsamples] = ids[c];
      count[nsamples++] = count[c];
    }
  ids.resize(nsamples);
  count.resize(nsamples);
  natoms = count;
  natoms0 = natoms;
  total_atoms = std::accumulate(natoms.begin(), natoms.end(), (bigint) 0);
  escape_radius.assign(nsamples, NAN);
  final_energy.assign(nsamples, NAN);
  source_index.assign(nsamples, -1);
  source_info.assign(nsamples, "");
  sphere.assign(nsamples, NVDynSphere{{0.0, 0.0, 0.0}, -1.0});
  tag0.assign(nsamples, 0);
  for (int i = 0; i < nlocal; i++)
    if (index[i] >= 0) index[i] = renumber[index[i]];

  // samples that are whole molecules, each its own, are isolated by a
  // molecule exclusion (see setup())
  isolate_molecules = config.streaming() && atom->molecule_flag;
  if (atom->molecule_flag && nsamples > 1) {
    std::vector<tagint> lo(nsamples, MAXTAGINT), hi(nsamples, -MAXTAGINT);
    for (int i = 0; i < nlocal; i++) {
      if (index[i] < 0) continue;
      lo[index[i]] = std::min(lo[index[i]], atom->molecule[i]);
      hi[index[i]] = std::max(hi[index[i]], atom->molecule[i]);
    }
    MPI_Allreduce(MPI_IN_PLACE, lo.data(), nsamples, MPI_LMP_TAGINT, MPI_MIN, world);
    MPI_Allreduce(MPI_IN_PLACE, hi.data(), nsamples, MPI_LMP_TAGINT, MPI_MAX, world);
    isolate_molecules = lo == hi;       // one molecule ID per sample ...
    std::sort(lo.begin(), lo.end());    // ... and no ID in two samples
    if (std::adjacent_find(lo.begin(), lo.end()) != lo.end()) isolate_molecules = false;
  }
  index_in_samples(index, atom_index);
}

/* ----------------------------------------------------------------------
   per local atom, the rank of its atom ID among the IDs of its sample:
   the (sample, ID) pairs of sample s go to rank s % nprocs, which sorts
   them and sends each pair's rank back
------------------------------------------------------------------------- */

void NVDynSamples::index_in_samples(const std::vector<int> &index,
                                    std::vector<int> &atom_index) const
{
  const int nprocs = comm->nprocs, nlocal = atom->nlocal;
  std::vector<int> nsend(nprocs, 0), nrecv(nprocs), sdispl(nprocs, 0), rdispl(nprocs, 0);
  for (int i = 0; i < nlocal; i++)
    if (index[i] >= 0) nsend[index[i] % nprocs]++;
  MPI_Alltoall(nsend.data(), 1, MPI_INT, nrecv.data(), 1, MPI_INT, world);
  for (int p = 1; p < nprocs; p++) {
    sdispl[p] = sdispl[p - 1] + nsend[p - 1];
    rdispl[p] = rdispl[p - 1] + nrecv[p - 1];
  }
  const int nout = sdispl.back() + nsend.back(), nin = rdispl.back() + nrecv.back();
  std::vector<int> slot(nlocal, -1), fill(sdispl);
  std::vector<int64_t> out(2 * (size_t) nout), in(2 * (size_t) nin);
  for (int i = 0; i < nlocal; i++) {
    if (index[i] < 0) continue;
    slot[i] = fill[index[i] % nprocs]++;
    out[2 * slot[i]] = index[i];
    out[2 * slot[i] + 1] = atom->tag[i];
  }
  auto twice = [](std::vector<int> v) {
    for (int &n : v) n *= 2;
    return v;
  };
  MPI_Alltoallv(out.data(), twice(nsend).data(), twice(sdispl).data(), MPI_INT64_T, in.data(),
                twice(nrecv).data(), twice(rdispl).data(), MPI_INT64_T, world);

  std::vector<int> order(nin), rank_in(nin), rank_out(nout);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return std::make_pair(in[2 * a], in[2 * a + 1]) < std::make_pair(in[2 * b], in[2 * b + 1]);
  });
  for (int k = 0, first = 0; k < nin; k++) {
    if (k > 0 && in[2 * order[k]] != in[2 * order[k - 1]]) first = k;
    rank_in[order[k]] = k - first;
  }
  MPI_Alltoallv(rank_in.data(), nrecv.data(), rdispl.data(), MPI_INT, rank_out.data(), nsend.data(),
                sdispl.data(), MPI_INT, world);
  atom_index.assign(nlocal, -1);
  for (int i = 0; i < nlocal; i++)
    if (slot[i] >= 0) atom_index[i] = rank_out[slot[i]];
}

/* ----------------------------------------------------------------------
   per sample, a hash of the IDs of its atoms (a sum of mixed IDs: the
   same on any number of ranks, in any order), over all ranks
------------------------------------------------------------------------- */

std::vector<uint64_t> NVDynSamples::membership_hashes(const int *sample) const
{
  std::vector<uint64_t> hash(nsamples, 0);
  for (int i = 0; i < atom->nlocal; i++) {
    if (sample[i] < 0) continue;
    uint64_t z = (uint64_t) atom->tag[i] + 0x9e3779b97f4a7c15ULL;    // SplitMix64 finaliser
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    hash[sample[i]] += z ^ (z >> 31);
  }
  MPI_Allreduce(MPI_IN_PLACE, hash.data(), nsamples, MPI_UINT64_T, MPI_SUM, world);
  return hash;
}

/* ----------------------------------------------------------------------
   atoms per sample (of n samples) over all ranks, from a per-atom index
------------------------------------------------------------------------- */

std::vector<int> NVDynSamples::count_atoms(const int *index, int n) const
{
  std::vector<int> mine(n, 0), all(n, 0);
  for (int i = 0; i < atom->nlocal; i++)
    if (index[i] >= 0) mine[index[i]]++;
  MPI_Allreduce(mine.data(), all.data(), n, MPI_INT, MPI_SUM, world);
  return all;
}

/* ----------------------------------------------------------------------
   the current atom count of each sample; the samples with fewer atoms
   than they were defined with. A full count only when the total is short.
------------------------------------------------------------------------- */

std::vector<int> NVDynSamples::short_samples(const int *sample)
{
  bigint mine = 0, all = 0, expected = 0;
  for (int i = 0; i < atom->nlocal; i++) mine += sample[i] >= 0;
  MPI_Allreduce(&mine, &all, 1, MPI_LMP_BIGINT, MPI_SUM, world);
  for (int n : natoms) expected += n;
  std::vector<int> lost;
  if (all == expected) return lost;
  natoms = count_atoms(sample, nsamples);
  for (int s = 0; s < nsamples; s++)
    if (natoms[s] < natoms0[s]) lost.push_back(s);
  return lost;
}

/* ----------------------------------------------------------------------
   escape guard: the distance of each atom from its sample's centre
   (unwrapped positions) may exceed the sample's extent at its first check
   by at most margin. Samples whose extent plus margin spans a periodic box
   length (a bulk sample) are not guarded.
------------------------------------------------------------------------- */

std::vector<int> NVDynSamples::escaped(const int *sample, double margin)
{
  std::vector<double> centre, count, r2;
  extents(
      sample, [&](int s) { return outcome[s] == NVDYN_ACTIVE && !(escape_radius[s] < 0.0); },
      centre, count, r2);
  const double *prd = domain->prd;
  const int *periodic = domain->periodicity;
  std::vector<int> escapes;
  for (int s = 0; s < nsamples; s++) {
    if (count[s] == 0.0) continue;
    const double r = sqrt(r2[s]);
    if (sphere[s].reach >= 0.0) {
      if (r > sphere[s].reach) escapes.push_back(s);
    } else if (std::isnan(escape_radius[s])) {
      escape_radius[s] = r;
      for (int k = 0; k < 3; k++)
        if (periodic[k] && 2.0 * (r + margin) >= prd[k]) escape_radius[s] = -1.0;
    } else if (r > escape_radius[s] + margin) {
      escapes.push_back(s);
    }
  }
  return escapes;
}

/* ----------------------------------------------------------------------
   for the samples s with want(s): the centre (that of the sample's sphere,
   if it has one, else the mean of its atoms' unwrapped positions), the
   number of its atoms and the largest squared distance of one from the
   centre, over all ranks
------------------------------------------------------------------------- */

void NVDynSamples::extents(const int *sample, const std::function<bool(int)> &want,
                           std::vector<double> &centre, std::vector<double> &count,
                           std::vector<double> &r2) const
{
  const int nlocal = atom->nlocal;
  double **x = atom->x;
  centre.assign(3 * (size_t) nsamples, 0.0);
  count.assign(nsamples, 0.0);
  r2.assign(nsamples, 0.0);
  std::vector<char> in(nsamples);
  for (int s = 0; s < nsamples; s++) in[s] = want(s);
  double xu[3];
  for (int i = 0; i < nlocal; i++) {
    const int s = sample[i];
    if (s < 0 || !in[s]) continue;
    domain->unmap(x[i], atom->image[i], xu);
    for (int k = 0; k < 3; k++) centre[3 * s + k] += xu[k];
    count[s] += 1.0;
  }
  MPI_Allreduce(MPI_IN_PLACE, centre.data(), 3 * nsamples, MPI_DOUBLE, MPI_SUM, world);
  MPI_Allreduce(MPI_IN_PLACE, count.data(), nsamples, MPI_DOUBLE, MPI_SUM, world);
  for (int s = 0; s < nsamples; s++)
    for (int k = 0; k < 3; k++)
      centre[3 * s + k] = sphere[s].reach >= 0.0 ? sphere[s].center[k]
          : count[s] > 0.0                       ? centre[3 * s + k] / count[s]
                                                 : 0.0;
  for (int i = 0; i < nlocal; i++) {
    const int s = sample[i];
    if (s < 0 || !in[s]) continue;
    domain->unmap(x[i], atom->image[i], xu);
    double d2 = 0.0;
    for (int k = 0; k < 3; k++) d2 += (xu[k] - centre[3 * s + k]) * (xu[k] - centre[3 * s + k]);
    r2[s] = std::max(r2[s], d2);
  }
  MPI_Allreduce(MPI_IN_PLACE, r2.data(), nsamples, MPI_DOUBLE, MPI_MAX, world);
}

void NVDynSamples::warn_orphans(const int *sample) const
{
  int *mask = atom->mask;
  int orphans = 0, all_orphans = 0;
  for (int i = 0; i < atom->nlocal; i++)
    if ((mask[i] & groupbit) && sample[i] < 0) orphans++;
  MPI_Allreduce(&orphans, &all_orphans, 1, MPI_INT, MPI_SUM, world);
  if (all_orphans && comm->me == 0)
    error->warning(
        FLERR,
        "Fix nvdyn: {} atoms joined the fix group after the fix was defined; they belong "
        "to no sample and are not integrated",
        all_orphans);
}

/* ----------------------------------------------------------------------
   how the samples are kept apart (log), and what couples them (warnings)
------------------------------------------------------------------------- */

void NVDynSamples::say_isolation(const std::string &fix_id) const
{
  if (nsamples == 1) return;
  const bigint outside = atom->natoms - group->count(igroup);
  if (comm->me != 0) return;
  if (isolate_molecules)
    utils::logmesg(lmp,
                   "Fix nvdyn {}: samples are molecules: pairs of atoms of two samples are "
                   "excluded from the neighbor lists (neigh_modify exclude molecule/inter {})\n",
                   fix_id, group->names[igroup]);
  else
    utils::logmesg(lmp,
                   "Fix nvdyn {}: samples are not single molecules: only their distance keeps "
                   "them apart (atoms of two samples within the cutoff interact)\n",
                   fix_id);
  if (force->kspace)
    error->warning(FLERR, "Fix nvdyn {}: kspace style {} couples every sample with every other",
                   fix_id, force->kspace_style);
  if (outside > 0)
    error->warning(FLERR, "Fix nvdyn {}: atoms outside the fix group interact with every sample",
                   fix_id);
}

/* ----------------------------------------------------------------------
   the copies of the engine's per-sample state
------------------------------------------------------------------------- */

int NVDynSamples::refresh_state(const nvdyn_engine *engine)
{
  stage.resize(nsamples);
  outcome.resize(nsamples);
  reason.resize(nsamples);
  steps_step = values_step = -1;
  int status = nvdyn_get_sample_reasons(engine, reason.data());
  if (status == NVDYN_OK) status = nvdyn_get_sample_stages(engine, stage.data());
  if (status == NVDYN_OK) status = nvdyn_get_sample_outcomes(engine, outcome.data());
  stage_atoms.assign(nstages, 0.0);
  active_atoms = 0.0;
  group_count.assign(nstages + 3, 0);
  nactive = nlive = 0;
  for (int s = 0; s < nsamples; s++) {
    if (outcome[s] == NVDYN_EMPTY) continue;
    nlive++;
    group_count[group_of(s)]++;
    if (outcome[s] != NVDYN_ACTIVE) continue;
    nactive++;
    stage_atoms[stage[s]] += natoms[s];
    active_atoms += natoms[s];
  }
  return status;
}

int NVDynSamples::refresh_steps(const nvdyn_engine *engine, bigint step)
{
  if (steps_step == step) return NVDYN_OK;
  steps.resize(nsamples);
  steps_step = step;
  return nvdyn_get_sample_steps(engine, steps.data());
}

int NVDynSamples::refresh_values(const nvdyn_engine *engine, bigint step)
{
  if (values_step == step) return NVDYN_OK;
  energy.resize(nsamples);
  fmax.resize(nsamples);
  temp.resize(nsamples);
  int status = nvdyn_get_sample_values(engine, NVDYN_VALUE_ENERGY, energy.data());
  if (status == NVDYN_OK) status = nvdyn_get_sample_values(engine, NVDYN_VALUE_FMAX, fmax.data());
  if (status == NVDYN_OK)
    status = nvdyn_get_sample_values(engine, NVDYN_VALUE_TEMPERATURE, temp.data());
  for (int s : with_final_energy) energy[s] = final_energy[s];
  values_step = step;
  return status;
}

void NVDynSamples::set_final_energy(int s, double e)
{
  if (std::isnan(final_energy[s])) with_final_energy.push_back(s);
  final_energy[s] = e;
  values_step = -1;
}

/* ----------------------------------------------------------------------
   per sample of `which`, the sum of pe over its atoms, added up in the
   order of the engine's per-sample sums (runs of consecutive atoms of one
   sample among the atoms of active samples, each run's sum added to the
   sample's), over all ranks
------------------------------------------------------------------------- */

std::vector<double> NVDynSamples::sum_energy(const int *sample, const double *pe,
                                             const std::vector<int> &which) const
{
  std::vector<int> slot(nsamples, -1);
  for (size_t k = 0; k < which.size(); k++) slot[which[k]] = (int) k;
  std::vector<double> sum(which.size(), 0.0);
  int run = -1, run_slot = -1;
  double run_sum = 0.0;
  for (int i = 0; i < atom->nlocal; i++) {
    const int s = sample[i];
    if (s < 0 || (slot[s] < 0 && outcome[s] != NVDYN_ACTIVE)) continue;
    if (s != run) {
      if (run_slot >= 0) sum[run_slot] += run_sum;
      run = s;
      run_slot = slot[s];
      run_sum = 0.0;
    }
    if (run_slot >= 0) run_sum += pe[i];
  }
  if (run_slot >= 0) sum[run_slot] += run_sum;
  MPI_Allreduce(MPI_IN_PLACE, sum.data(), (int) sum.size(), MPI_DOUBLE, MPI_SUM, world);
  return sum;
}

int NVDynSamples::group_of(int s) const
{
  switch (outcome[s]) {
    case NVDYN_ACTIVE:
      return stage[s];
    case NVDYN_DONE:
      return nstages;
    case NVDYN_FAILED:
      return nstages + 1;
    case NVDYN_EMPTY:
      return -1;
    default:
      return nstages + 2;
  }
}

/* ----------------------------------------------------------------------
   per stage: samples that entered it, their steps in it, how many timed
   out or failed there, and its share of the wall time
------------------------------------------------------------------------- */

std::vector<NVDynStageSummary> NVDynSamples::stage_summary(const nvdyn_engine *engine,
                                                           const std::vector<std::string> &names,
                                                           const std::vector<double> &seconds) const
{
  std::vector<NVDynStageSummary> table(nstages);
  std::vector<double> total(nstages, 0.0);
  for (int k = 0; k < nstages; k++) table[k] = {names[k], 0, 0.0, 0, 0, 0, seconds[k]};
  if (!retired.empty())
    for (int k = 0; k < nstages; k++) {
      table[k].samples = retired[k].samples;
      table[k].max_steps = retired[k].max_steps;
      table[k].timeouts = retired[k].timeouts;
      table[k].failures = retired[k].failures;
      total[k] = (double) retired_steps[k];
    }
  for (int s = 0; s < nsamples; s++) add_to_summary(engine, s, table, total);
  for (int k = 0; k < nstages; k++)
    if (table[k].samples) table[k].mean_steps = total[k] / table[k].samples;
  return table;
}

// sample s's part of the summary (total: steps per stage)
void NVDynSamples::add_to_summary(const nvdyn_engine *engine, int s,
                                  std::vector<NVDynStageSummary> &table,
                                  std::vector<double> &total) const
{
  if (outcome[s] == NVDYN_EMPTY) return;
  std::vector<int64_t> steps_in(nstages);
  nvdyn_get_sample_stage_steps(engine, s, steps_in.data());
  const int last = std::min(stage[s], nstages - 1);
  for (int k = 0; k <= last; k++) {
    // a sample in stage k has entered it, even before its first step there
    table[k].samples++;
    total[k] += (double) steps_in[k];
    table[k].max_steps = std::max(table[k].max_steps, (bigint) steps_in[k]);
  }
  if (outcome[s] == NVDYN_TIMEOUT) table[stage[s]].timeouts++;
  if (outcome[s] == NVDYN_FAILED) table[stage[s]].failures++;
}

/* ----------------------------------------------------------------------
   streaming: slots grown, filled with a frame's sample, emptied
------------------------------------------------------------------------- */

void NVDynSamples::grow(int n)
{
  if (n <= nsamples) return;
  ids.resize(n, 0);
  natoms0.resize(n, 0);
  natoms.resize(n, 0);
  escape_radius.resize(n, NAN);
  final_energy.resize(n, NAN);
  source_index.resize(n, -1);
  source_info.resize(n);
  sphere.resize(n, NVDynSphere{{0.0, 0.0, 0.0}, -1.0});
  tag0.resize(n, 0);
  stage.resize(n, -1);
  outcome.resize(n, NVDYN_EMPTY);
  reason.resize(n, NVDYN_REASON_NONE);
  nsamples = n;
  steps_step = values_step = -1;
}

void NVDynSamples::insert(int s, tagint id, int n, int64_t index, std::string info,
                          const NVDynSphere &where, tagint first_tag)
{
  ids[s] = id;
  natoms0[s] = natoms[s] = n;
  escape_radius[s] = NAN;
  final_energy[s] = NAN;
  source_index[s] = index;
  source_info[s] = std::move(info);
  sphere[s] = where;
  tag0[s] = first_tag;
  total_atoms += n;
}

void NVDynSamples::retire(int s, const nvdyn_engine *engine)
{
  if (retired.empty()) {
    retired.assign(nstages, NVDynStageSummary{"", 0, 0.0, 0, 0, 0, 0.0});
    retired_steps.assign(nstages, 0);
  }
  std::vector<double> total(nstages, 0.0);
  add_to_summary(engine, s, retired, total);
  const int g = group_of(s) - nstages;    // its outcome's group: done, failed, timeout
  if (g >= 0 && g < 3) retired_outcomes[g]++;
  for (int k = 0; k < nstages; k++) retired_steps[k] += (int64_t) total[k];
  total_atoms -= natoms0[s];
  ids[s] = 0;
  natoms0[s] = natoms[s] = 0;
  source_index[s] = -1;
  source_info[s].clear();
  sphere[s].reach = -1.0;
  if (!std::isnan(final_energy[s]))
    with_final_energy.erase(std::find(with_final_energy.begin(), with_final_energy.end(), s));
  final_energy[s] = NAN;
  outcome[s] = NVDYN_EMPTY;
  stage[s] = -1;
}

void NVDynSamples::save_slots(NVDynSaved::Stream &out) const
{
  out.present = true;
  out.source_index = source_index;
  out.natoms0.assign(natoms0.begin(), natoms0.end());
  out.tag0 = tag0;
  out.spheres.clear();
  for (const auto &sp : sphere)
    out.spheres.insert(out.spheres.end(), {sp.center[0], sp.center[1], sp.center[2], sp.reach});
  out.info = source_info;
  out.retired.clear();
  for (size_t k = 0; k < retired.size(); k++)
    out.retired.insert(out.retired.end(),
                       {retired[k].samples, retired[k].max_steps, retired[k].timeouts,
                        retired[k].failures, retired_steps[k]});
  out.retired.insert(out.retired.end(), retired_outcomes, retired_outcomes + 3);
}

void NVDynSamples::restore_slots(const NVDynSaved::Stream &in, const std::vector<tagint> &saved_ids)
{
  const int n = (int) in.source_index.size();
  nsamples = 0;
  grow(n);
  ids = saved_ids;
  natoms0.assign(in.natoms0.begin(), in.natoms0.end());
  natoms = natoms0;
  total_atoms = std::accumulate(natoms0.begin(), natoms0.end(), (bigint) 0);
  escape_radius.assign(n, NAN);
  final_energy.assign(n, NAN);
  with_final_energy.clear();
  source_index = in.source_index;
  source_info = in.info;
  tag0 = in.tag0;
  for (int s = 0; s < n; s++) {
    for (int k = 0; k < 3; k++) sphere[s].center[k] = in.spheres[4 * s + k];
    sphere[s].reach = in.spheres[4 * s + 3];
  }
  retired.clear();
  retired_steps.clear();
  const size_t nblocks = in.retired.size() >= 3 ? in.retired.size() - 3 : 0;
  for (int k = 0; k < 3 && nblocks; k++) retired_outcomes[k] = in.retired[nblocks + k];
  for (size_t k = 0; k + 5 <= nblocks; k += 5) {
    retired.push_back({"", (int) in.retired[k], 0.0, in.retired[k + 1], (int) in.retired[k + 2],
                       (int) in.retired[k + 3], 0.0});
    retired_steps.push_back(in.retired[k + 4]);
  }
}

void NVDynSamples::set_spheres(const int *sample, double margin, const std::string &fix_id)
{
  std::vector<double> centre, count, r2;
  extents(
      sample, [&](int s) { return outcome[s] != NVDYN_EMPTY && sphere[s].reach < 0.0; }, centre,
      count, r2);
  for (int s = 0; s < nsamples; s++) {
    if (count[s] == 0.0) continue;
    for (int k = 0; k < 3; k++) sphere[s].center[k] = centre[3 * s + k];
    sphere[s].reach = sqrt(r2[s]) + margin;
    for (int k = 0; k < 3; k++)
      if (domain->periodicity[k] && 2.0 * sphere[s].reach >= domain->prd[k])
        error->all(FLERR,
                   "Fix nvdyn {}: sample {} of the input spans the periodic box (its extent "
                   "plus margin is {}): a source places samples apart, which this one prevents",
                   fix_id, ids[s], sphere[s].reach);
  }
}

/* ----------------------------------------------------------------------
   the per-sample array and the log rows
------------------------------------------------------------------------- */

bool NVDynSamples::is_value_column(int col)
{
  return col == COL_ENERGY || col == COL_FMAX || col == COL_TEMP;
}

double NVDynSamples::column(int s, int col) const
{
  switch (col) {
    case COL_ID:
      return (double) ids[s];
    case COL_STAGE:
      return (double) stage[s] + 1.0;
    case COL_STEPS:
      return (double) steps[s];
    case COL_ENERGY:
      return energy[s];
    case COL_FMAX:
      return fmax[s];
    case COL_OUTCOME:
      return (double) outcome[s];
    case COL_ATOMS:
      return (double) natoms[s];
    case COL_REASON:
      return (double) reason[s];
    default:
      return temp[s];
  }
}

std::string NVDynSamples::log_rows(bigint step, const std::vector<std::string> &group_names) const
{
  std::string text;
  for (int s = 0; s < nsamples; s++)
    if (outcome[s] != NVDYN_EMPTY)
      fmt::format_to(std::back_inserter(text), "{},{},{},{},{:.16g},{:.16g},{:.16g}\n", step,
                     ids[s], group_names[std::min(stage[s], nstages)],
                     nvdyn_outcome_name(outcome[s]), energy[s], fmax[s], temp[s]);
  return text;
}
