/* ----------------------------------------------------------------------
   NVDYN: fix nvdyn in the partition pipeline (run_style nvpipeline split
   across -partition; the links: nvdyn_pipeline.h).

   Partition k runs a contiguous range of the stages (its engine's stage
   range). A sample that converges out of the range's last stage is done
   here: frozen, excluded from force work like every finished sample, and
   held until the link downstream has room. Then its atoms (unwrapped
   positions, velocities, types, masses in the sample's order) and its
   engine state go downstream as one message, and it is deleted at the
   next refill like a written sample. Downstream it is a frame of the
   source: placed (translated, its sphere and orientation kept) and
   created by the refill, it joins its slot at the end of that step with
   its state, and enters its stage as it would have in one partition
   (nvdyn_sample_resume). The first partition reads the source; samples
   that fail or time out on any partition go to the last one's sink.
------------------------------------------------------------------------- */

#include "fix_nvdyn.h"

#include "nvdyn.h"
#include "nvdyn_output.h"
#include "nvdyn_pipeline.h"

#include "atom.h"
#include "comm.h"
#include "domain.h"
#include "error.h"
#include "output.h"
#include "universe.h"
#include "update.h"

#include <algorithm>
#include <cstdio>

using namespace LAMMPS_NS;

/* ---------------------------------------------------------------------- */

void FixNVDyn::join_pipeline(const NVDynPipelineConfig &cfg)
{
  const int nparts = universe->nworlds;
  if (cfg.split.empty()) {
    if (nparts > 1)
      error->all(FLERR,
                 "Run style nvpipeline on {} partitions needs 'split': which stages of fix "
                 "nvdyn {} each partition runs",
                 nparts, id);
    return;
  }
  // the split: every stage once, in order
  std::vector<int> begin;
  int k = 0;
  for (size_t p = 0; p < cfg.split.size(); p++) {
    begin.push_back(k);
    for (const auto &name : cfg.split[p]) {
      if (k >= nstages || config.stages[k].name != name)
        error->all(FLERR,
                   "Run style nvpipeline split: '{}' (partition {}) is not stage {} of fix "
                   "nvdyn {}: name its stages in order, each once, partitions separated by |",
                   name, p + 1, k + 1, id);
      k++;
    }
  }
  if (k != nstages)
    error->all(FLERR,
               "Run style nvpipeline split names {} of the {} stages of fix nvdyn {}: every "
               "stage runs on a partition",
               k, nstages, id);
  if (nparts == 1) return;    // one partition runs every stage
  if ((int) cfg.split.size() != nparts)
    error->all(FLERR, "Run style nvpipeline split has {} partitions, LAMMPS runs {} (-partition)",
               cfg.split.size(), nparts);
  if (pipeline) return;    // joined in an earlier run
  if (!source)
    error->all(FLERR,
               "Run style nvpipeline across partitions: fix nvdyn {} needs a source (every "
               "sample of a pipeline comes from the source)",
               id);
  for (int s = 0; s < nsamples; s++)
    if (table->outcome[s] != NVDYN_EMPTY && table->source_index[s] < 0)
      error->all(FLERR,
                 "Run style nvpipeline across partitions: fix nvdyn {} has samples of the input "
                 "(sample {}); in a pipeline every sample comes from the source",
                 id, table->ids[s]);
  if (output->restart_flag)
    error->all(FLERR,
               "Run style nvpipeline across partitions: no restart files during the run (the "
               "samples between partitions would be lost); write_restart after it");
  const int me = universe->iworld;
  const int first = begin[me], end = me + 1 < nparts ? begin[me + 1] : nstages;
  check(nvdyn_engine_set_stage_range(engine, first, end), "pipeline");
  pipeline = std::make_unique<NVDynPipeline>(lmp, cfg, first, end);
  if (me > 0) source->set_link(pipeline.get());
}

void FixNVDyn::pipeline_error(const std::string &message)
{
  if (pipeline) pipeline->fail(message);
}

// a sample that finished this partition's stages, not the last stage
bool FixNVDyn::passes_on(int s) const
{
  return pipeline && table->outcome[s] == NVDYN_DONE && table->stage[s] < nstages;
}

// the sink's frames: on the last partition into the sink, elsewhere on
// their way to it
void FixNVDyn::write_sink(const std::string &text)
{
  if (pipeline && !pipeline->last_part())
    pipeline->send_frames(text);
  else
    outfiles->write(NVDynOutput::SINK, text);
}

/* ----------------------------------------------------------------------
   at the end of every step: messages in, sink frames on, arrived samples
   into the source's window, held samples out while the link has room;
   with nothing to step, the wait for what would give something to do,
   or the end
------------------------------------------------------------------------- */

void FixNVDyn::pipeline_step()
{
  if (!pipeline || pipeline->ended()) return;
  bigint held_atoms = 0;
  for (int s : held) held_atoms += table->natoms[s];
  pipeline->count_step(table->active_atoms, (double) held_atoms);
  while (true) {
    const std::string frames = pipeline->poll();
    if (!frames.empty()) write_sink(frames);
    if (source && !pipeline->first_part() &&
        (pipeline->arrived() > 0 || (pipeline->upstream_done() && !source->exhausted()))) {
      std::vector<NVDynSource::Frame> failed;
      source->top_up(failed);
      write_unplaced(failed);
    }
    send_held();
    if (!pipeline_idle()) return;
  }
}

// held samples sent, in the order they finished, while the link takes them
void FixNVDyn::send_held()
{
  while (!held.empty() && pipeline->can_send(table->natoms[held.front()])) {
    const int s = held.front();
    pipeline->send_sample(pack_handover(s), table->natoms[s]);
    held.pop_front();
  }
}

// with nothing to step (no active sample, and no refill on the next step
// to give one): waits (true: look again), or the end (false)
bool FixNVDyn::pipeline_idle()
{
  if (table->nactive > 0 || !entering.empty() || !pending.empty()) return false;
  if (refill_due(update->ntimestep + 1)) return false;
  if (!held.empty()) {
    // the budget is held for room downstream
    pipeline->wait(NVDynPipeline::OUTPUT);
    return true;
  }
  if (!source->exhausted()) {
    // (the first partition's source always has its next frames)
    if (pipeline->first_part()) return false;
    pipeline->wait(NVDynPipeline::INPUT);
    return true;
  }
  const std::string table_text = pipeline->finish();
  if (!table_text.empty()) {
    if (universe->uscreen) fputs(table_text.c_str(), universe->uscreen);
    if (universe->ulogfile) fputs(table_text.c_str(), universe->ulogfile);
  }
  return false;
}

/* ----------------------------------------------------------------------
   collective: sample s as a frame for the partition downstream (rank 0's
   bytes): its atoms in the sample's order, unwrapped, with velocities and
   per-atom masses; its engine state, keys and sphere
------------------------------------------------------------------------- */

std::string FixNVDyn::pack_handover(int s)
{
  host_atoms();
  constexpr int PER = 9;    // index, type, x, v, mass
  std::vector<double> mine;
  for (int i = 0; i < atom->nlocal; i++) {
    if (sample[i] != s) continue;
    double xu[3];
    domain->unmap(atom->x[i], atom->image[i], xu);
    const double *v = atom->v[i];
    mine.insert(mine.end(),
                {(double) atom_index[i], (double) atom->type[i], xu[0], xu[1], xu[2], v[0], v[1],
                 v[2], atom->rmass_flag ? atom->rmass[i] : 0.0});
  }
  const std::vector<double> all = nvdyn_gather_to_root(mine, world, comm->me, comm->nprocs);
  size_t size = 0;
  check(nvdyn_sample_state_size(engine, &size), "pipeline");
  std::string state(size, '\0');
  check(nvdyn_sample_save(engine, s, &state[0], size), "pipeline");
  if (comm->me != 0) return "";

  NVDynSource::Frame f;
  NVDynXYZFrame &x = f.xyz;
  const int natoms = (int) (all.size() / PER);
  x.index = table->source_index[s];
  x.frame = x.index + 1;
  x.natoms = natoms;
  x.type.resize(natoms);
  x.x.resize(3 * (size_t) natoms);
  x.v.resize(3 * (size_t) natoms);
  if (atom->rmass_flag) x.mass.resize(natoms);
  for (int r = 0; r < natoms; r++) {
    const double *a = &all[(size_t) PER * r];
    const int i = (int) a[0];
    x.type[i] = (int) a[1];
    std::copy(a + 2, a + 5, &x.x[3 * (size_t) i]);
    std::copy(a + 5, a + 8, &x.v[3 * (size_t) i]);
    if (atom->rmass_flag) x.mass[i] = a[8];
  }
  f.state = std::move(state);
  f.handed = true;
  f.keys = table->source_info[s];
  f.sphere = table->sphere[s];
  return NVDynSource::bytes_of(f);
}
