/* ----------------------------------------------------------------------
   NVDYN: extended-XYZ frames of the sink of fix nvdyn (nvdyn_extxyz.h).
------------------------------------------------------------------------- */

#include "nvdyn_extxyz.h"

#include "nvdyn.h"
#include "nvdyn_lammps_compat.h"
#include "nvdyn_samples.h"
#include "nvdyn_xyz_reader.h"

#include "atom.h"
#include "comm.h"
#include "domain.h"
#include "fmt/compile.h"
#include "fmt/format.h"
#include "update.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace LAMMPS_NS;

const char *LAMMPS_NS::nvdyn_outcome_name(int outcome)
{
  switch (outcome) {
    case NVDYN_ACTIVE:
      return "active";
    case NVDYN_DONE:
      return "done";
    case NVDYN_TIMEOUT:
      return "timeout";
    default:
      return "failed";
  }
}

NVDynExtXYZ::NVDynExtXYZ(LAMMPS *lmp, const std::vector<std::string> &species) :
    Pointers(lmp), elements(species)
{
}

// the atoms of the samples `which` gathered on rank 0, ordered by ID,
// into frames[k] for which[k]
void NVDynExtXYZ::gather(const int *sample, int nsamples, const std::vector<int> &which,
                         std::vector<Frame> &frames) const
{
  constexpr int NREC = 12;    // sample, tag, type, x[3], v[3], f[3]
  std::vector<int> order(nsamples, -1);
  for (size_t k = 0; k < which.size(); k++) order[which[k]] = (int) k;
  std::vector<double> mine;
  double **x = atom->x, **v = atom->v, **f = atom->f;
  for (int i = 0; i < atom->nlocal; i++) {
    if (sample[i] < 0 || order[sample[i]] < 0) continue;
    double xu[3];
    domain->unmap(x[i], atom->image[i], xu);
    const double rec[NREC] = {(double) order[sample[i]],
                              (double) atom->tag[i],
                              (double) atom->type[i],
                              xu[0],
                              xu[1],
                              xu[2],
                              v[i][0],
                              v[i][1],
                              v[i][2],
                              f[i][0],
                              f[i][1],
                              f[i][2]};
    mine.insert(mine.end(), rec, rec + NREC);
  }
  const std::vector<double> all = nvdyn_gather_to_root(mine, world, comm->me, comm->nprocs);

  // the atoms of each sample, ordered by ID (rank 0)
  if (comm->me != 0) return;
  const size_t nrec = all.size() / NREC;
  std::vector<size_t> idx(nrec);
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    return std::make_pair(all[a * NREC], all[a * NREC + 1]) <
        std::make_pair(all[b * NREC], all[b * NREC + 1]);
  });
  for (size_t r : idx) {
    const double *rec = &all[r * NREC];
    const int type = (int) rec[2];
    Frame &frame = frames[(size_t) rec[0]];
    frame.natoms++;
    // (a format compiled once: formatting the atoms is the sink's cost)
    fmt::format_to(
        std::back_inserter(frame.atoms),
        NVDYN_FMT_COMPILE(
            "{} {:.16g} {:.16g} {:.16g} {:.16g} {:.16g} {:.16g} {:.16g} {:.16g} {:.16g} {} {}\n"),
        elements.empty() ? std::string("X") : elements[type - 1], rec[3], rec[4], rec[5], rec[6],
        rec[7], rec[8], rec[9], rec[10], rec[11], (tagint) rec[1], type);
  }
}

// the box as a frame's Lattice and pbc keys
std::string NVDynExtXYZ::box_lattice() const
{
  return fmt::format("Lattice=\"{:.10g} 0 0 {:.10g} {:.10g} 0 {:.10g} {:.10g} {:.10g}\"",
                     domain->xprd, domain->xy, domain->yprd, domain->xz, domain->yz, domain->zprd);
}

std::string NVDynExtXYZ::box_pbc() const
{
  return fmt::format("pbc=\"{} {} {}\"", domain->xperiodic ? 'T' : 'F',
                     domain->yperiodic ? 'T' : 'F', domain->zperiodic ? 'T' : 'F');
}

std::vector<NVDynExtXYZ::Frame> NVDynExtXYZ::collect(const NVDynSamples &table,
                                                     const nvdyn_engine *engine, const int *sample,
                                                     const std::vector<int> &finished) const
{
  std::vector<Frame> frames(finished.size());
  const std::string lattice = box_lattice(), pbc = box_pbc();
  for (size_t k = 0; k < finished.size(); k++) {
    const int s = finished[k];
    NVDynFrameInfo &info = frames[k].info;
    info.id = table.ids[s];
    info.outcome = table.outcome[s];
    info.reason = table.reason[s];
    info.energy = table.energy[s];
    info.fmax = table.fmax[s];
    info.stage_steps.resize(table.nstages);
    info.step = update->ntimestep;
    nvdyn_get_sample_stage_steps(engine, s, info.stage_steps.data());
    info.source_index = table.source_index[s];
    info.source_keys = table.source_info[s];
    if (comm->me == 0) {
      frames[k].lattice = lattice;
      frames[k].pbc = pbc;
    }
  }
  gather(sample, table.nsamples, finished, frames);
  return frames;
}

std::string NVDynExtXYZ::text(const std::vector<Frame> &frames)
{
  std::string text;
  for (const Frame &f : frames) {
    const NVDynFrameInfo &info = f.info;
    fmt::format_to(
        std::back_inserter(text),
        "{}\n{} Properties=species:S:1:pos:R:3:velocities:R:3:forces:R:3:id:I:1:type:I:1 "
        "sample={} outcome={} reason={} energy={:.16g} fmax={:.16g} stage_steps=\"{}\" "
        "step={} {}",
        f.natoms, f.lattice, info.id, nvdyn_outcome_name(info.outcome),
        info.error.empty() ? nvdyn_reason_name(info.reason) : "source", info.energy, info.fmax,
        fmt::join(info.stage_steps, " "), info.step, f.pbc);
    if (info.source_index >= 0)
      fmt::format_to(std::back_inserter(text), " source_index={}", info.source_index);
    if (!info.error.empty())
      fmt::format_to(std::back_inserter(text), " error={}", quoted(info.error));
    if (!info.source_keys.empty()) text += " " + info.source_keys;
    text += "\n";
    text += f.atoms;
  }
  return text;
}

// the keys the sink writes itself
static const char *const sink_keys[] = {"Lattice", "Properties", "sample",       "outcome",
                                        "reason",  "energy",     "fmax",         "stage_steps",
                                        "step",    "pbc",        "source_index", "error"};

std::string NVDynExtXYZ::source_keys(const std::vector<std::pair<std::string, std::string>> &info)
{
  std::string text;
  for (const auto &kv : info) {
    if (!text.empty()) text += ' ';
    const bool taken = std::any_of(std::begin(sink_keys), std::end(sink_keys),
                                   [&](const char *k) { return kv.first == k; });
    text += (taken ? "source_" : "") + kv.first;
    if (!kv.second.empty()) text += "=" + kv.second;
  }
  return text;
}

// a value in double quotes, with its quotes and backslashes escaped
std::string NVDynExtXYZ::quoted(const std::string &value)
{
  std::string q = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + '"';
}

NVDynExtXYZ::Frame NVDynExtXYZ::unplaced(tagint id, const NVDynXYZFrame &xyz,
                                         const std::string &why, int nstages) const
{
  Frame f;
  f.info.id = id;
  f.info.outcome = NVDYN_FAILED;
  f.info.reason = NVDYN_REASON_NONE;
  f.info.energy = f.info.fmax = NAN;
  f.info.stage_steps.assign(nstages, 0);
  f.info.step = update->ntimestep;
  f.info.source_index = xyz.index;
  f.info.source_keys = source_keys(xyz.info);
  f.info.error = why;
  f.lattice = box_lattice();
  f.pbc = box_pbc();
  return f;
}

std::vector<double> LAMMPS_NS::nvdyn_gather_to_root(const std::vector<double> &mine, MPI_Comm world,
                                                    int me, int nprocs)
{
  int n = (int) mine.size();
  std::vector<int> counts(nprocs), displs(nprocs, 0);
  MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, world);
  std::vector<double> all;
  if (me == 0) {
    for (int p = 1; p < nprocs; p++) displs[p] = displs[p - 1] + counts[p - 1];
    all.resize(displs.back() + counts.back());
  }
  MPI_Gatherv(mine.data(), n, MPI_DOUBLE, all.data(), counts.data(), displs.data(), MPI_DOUBLE, 0,
              world);
  return all;
}
