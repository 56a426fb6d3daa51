/* ----------------------------------------------------------------------
   NVDYN: extended-XYZ frames of the sink of fix nvdyn (nvdyn_extxyz.h).
------------------------------------------------------------------------- */

#include "nvdyn_extxyz.h"

#include "nvdyn.h"
#include "nvdyn_lammps_compat.h"
#include "nvdyn_samples.h"

#include "atom.h"
#include "comm.h"
#include "domain.h"
#include "fmt/compile.h"
#include "fmt/format.h"
#include "update.h"

#include <algorithm>
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
  int n = (int) mine.size();
  std::vector<int> counts(comm->nprocs), displs(comm->nprocs, 0);
  MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, world);
  std::vector<double> all;
  if (comm->me == 0) {
    for (int p = 1; p < comm->nprocs; p++) displs[p] = displs[p - 1] + counts[p - 1];
    all.resize(displs.back() + counts.back());
  }
  MPI_Gatherv(mine.data(), n, MPI_DOUBLE, all.data(), counts.data(), displs.data(), MPI_DOUBLE, 0,
              world);

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

std::vector<NVDynExtXYZ::Frame> NVDynExtXYZ::collect(const NVDynSamples &table,
                                                     const nvdyn_engine *engine, const int *sample,
                                                     const std::vector<int> &finished) const
{
  std::vector<Frame> frames(finished.size());
  const std::string lattice =
      fmt::format("Lattice=\"{:.10g} 0 0 {:.10g} {:.10g} 0 {:.10g} {:.10g} {:.10g}\"", domain->xprd,
                  domain->xy, domain->yprd, domain->xz, domain->yz, domain->zprd);
  const std::string pbc = fmt::format("pbc=\"{} {} {}\"", domain->xperiodic ? 'T' : 'F',
                                      domain->yperiodic ? 'T' : 'F', domain->zperiodic ? 'T' : 'F');
  for (size_t k = 0; k < finished.size(); k++) {
    const int s = finished[k];
    frames[k].info = {table.ids[s],     table.outcome[s], table.reason[s],
                      table.energy[s],  table.fmax[s],    std::vector<int64_t>(table.nstages),
                      update->ntimestep};
    nvdyn_get_sample_stage_steps(engine, s, frames[k].info.stage_steps.data());
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
        "step={} {}\n",
        f.natoms, f.lattice, info.id, nvdyn_outcome_name(info.outcome),
        nvdyn_reason_name(info.reason), info.energy, info.fmax, fmt::join(info.stage_steps, " "),
        info.step, f.pbc);
    text += f.atoms;
  }
  return text;
}
