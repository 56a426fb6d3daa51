/* ----------------------------------------------------------------------
   NVDYN: fix nvdyn, streaming samples from a source (nvdyn_source.h).

   On refill steps (reneighbor steps at least `refill every` steps apart,
   or sooner when the freed budget passes `refill free` or no sample is
   active) the fix deletes the atoms of finished samples, whose frames the
   sink has, and creates those of new frames in free space, as fix
   evaporate and fix deposit do, in pre_exchange(). A new sample's atoms
   get their forces on that step and join their sample at its end, so
   that the sample's first step is the next one, as the first step of a
   run follows its setup: a sample's trajectory does not depend on the
   step it was inserted on.
------------------------------------------------------------------------- */

#include "fix_nvdyn.h"

#include "nvdyn.h"
#include "nvdyn_extxyz.h"
#include "nvdyn_lammps_compat.h"
#include "nvdyn_output.h"
#include "nvdyn_source.h"

#include "atom.h"
#include "atom_vec.h"
#include "comm.h"
#include "domain.h"
#include "error.h"
#include "group.h"
#include "modify.h"
#include "molecule.h"
#include "neighbor.h"
#include "update.h"

#include <algorithm>

using namespace LAMMPS_NS;

/* ----------------------------------------------------------------------
   the atoms of the samples in the input, and their spheres (the space
   that new samples keep clear of), before the first run's first refill
------------------------------------------------------------------------- */

void FixNVDyn::setup_pre_exchange()
{
  if (!source) return;
  table->set_spheres(sample, placement_margin(), id);
  // a refill due at a run's setup (not on a step that had one, as the
  // last step of the previous run or of a restart file's run: samples go in
  // on the same steps however a run is split); the new samples' atoms
  // join them at once (the setup computes their forces)
  if (update->ntimestep > last_refill && refill_due(update->ntimestep)) {
    refill();
    commit_entering();
  }
}

// the escape guard's margin beyond each sample's extent
double FixNVDyn::placement_margin() const
{
  return config.source.margin > 0.0 ? config.source.margin : neighbor->cutneighmax;
}

/* ----------------------------------------------------------------------
   finished samples whose frames are written (none waits for energies)
------------------------------------------------------------------------- */

std::vector<int> FixNVDyn::written_samples() const
{
  std::vector<int> which;
  for (int s = 0; s < nsamples; s++)
    if (table->outcome[s] != NVDYN_ACTIVE && table->outcome[s] != NVDYN_EMPTY &&
        std::find(pending.begin(), pending.end(), s) == pending.end() &&
        std::find(held.begin(), held.end(), s) == held.end())
      which.push_back(s);
  return which;
}

// whether step `step` refills (on every rank the same): when a frame still
// to come fits in the budget that a refill would free (a refill only to
// delete samples would cost a neighbor list build for nothing), at most
// every `refill every` steps, sooner when the free part of the budget
// passes `refill free` or no sample is active
bool FixNVDyn::refill_due(bigint step) const
{
  if (!source || !entering.empty() || source->exhausted()) return false;
  const std::vector<int> written = written_samples();
  bigint freed = 0;
  for (int s : written) freed += table->natoms0[s];
  const bigint atoms = config.source.atoms, samples = config.source.samples;
  const bigint free_atoms = atoms > 0 ? atoms - table->total_atoms + freed : MAXBIGINT;
  const bigint free_samples =
      samples > 0 ? samples - table->nlive + (bigint) written.size() : MAXBIGINT;
  if (free_samples < 1 || free_atoms < source->smallest_waiting()) return false;
  const double fraction =
      atoms > 0 ? (double) free_atoms / (double) atoms : (double) free_samples / (double) samples;
  return table->nactive == 0 || step - last_refill >= config.source.every ||
      (config.source.free > 0.0 && fraction >= config.source.free);
}

/* ----------------------------------------------------------------------
   a refill: finished samples deleted, new frames' atoms created
------------------------------------------------------------------------- */

void FixNVDyn::refill()
{
  last_refill = update->ntimestep;
  // as fix deposit: no ghosts and no map while atoms are deleted and added
  if (atom->map_style != Atom::MAP_NONE) atom->map_clear();
  atom->nghost = 0;
  delete_samples(written_samples());
  refresh_state();

  const int live = table->nlive;
  const bigint free_atoms = config.source.atoms > 0 ? config.source.atoms - table->total_atoms : -1;
  const int free_samples = config.source.samples > 0 ? config.source.samples - live : -1;
  std::vector<NVDynSphere> spheres;
  for (int s = 0; s < nsamples; s++)
    if (table->outcome[s] != NVDYN_EMPTY) spheres.push_back(table->sphere[s]);
  std::vector<NVDynSource::Frame> unplaced;
  std::vector<NVDynSource::Insert> inserts = source->take(
      free_atoms, free_samples, spheres, neighbor->cutneighmax, placement_margin(), unplaced);
  write_unplaced(unplaced);
  create_samples(inserts);
  if (pipeline) {
    int n = (int) inserts.size();
    bigint natoms = 0;
    for (const auto &ins : inserts) natoms += ins.frame.xyz.natoms;
    for (const auto &f : unplaced)
      if (f.handed) {
        n++;
        natoms += f.xyz.natoms;
      }
    pipeline->taken(n, natoms);
  }

  bigint nlocal = atom->nlocal;
  MPI_Allreduce(&nlocal, &atom->natoms, 1, MPI_LMP_BIGINT, MPI_SUM, world);
  if (atom->map_style != Atom::MAP_NONE) {
    atom->map_init();
    atom->map_set();
  }
  atoms_generation++;
  refresh_state();
}

/* ----------------------------------------------------------------------
   the atoms of samples `which` deleted (as fix evaporate does), their
   slots emptied, their atom IDs given back
------------------------------------------------------------------------- */

void FixNVDyn::delete_samples(const std::vector<int> &which)
{
  if (which.empty()) return;
  std::vector<char> gone(nsamples, 0);
  for (int s : which) gone[s] = 1;
  // (their atoms' topology goes with them: a template's samples all have it)
  Molecule *onemol = source->molecule();
  for (int s : which)
    if (onemol && table->source_index[s] >= 0) add_topology(onemol, -1);
  AtomVec *avec = atom->avec;
  int nlocal = atom->nlocal;
  for (int i = nlocal - 1; i >= 0; i--)
    if (sample[i] >= 0 && gone[sample[i]]) {
      avec->copy(nlocal - 1, i, 1);
      nlocal--;
    }
  atom->nlocal = nlocal;
  for (int s : which) {
    source->release(table->tag0[s], table->natoms0[s]);
    table->retire(s, engine);
    check(nvdyn_sample_retire(engine, s), "refill");
  }
}

/* ----------------------------------------------------------------------
   the atoms of new samples, created on the ranks that own their
   positions (inside the box: the placement keeps them there); they join
   their samples at the end of the step (commit_entering)
------------------------------------------------------------------------- */

void FixNVDyn::create_samples(std::vector<NVDynSource::Insert> &inserts)
{
  Molecule *onemol = source->molecule();
  const double *sublo = domain->sublo, *subhi = domain->subhi;
  const int groupbit_fix = group->bitmask[igroup];
  for (auto &ins : inserts) {
    // a slot: the first empty one not taken by a sample entering now
    int slot = -1;
    for (int s = 0; s < nsamples && slot < 0; s++)
      if (table->outcome[s] == NVDYN_EMPTY &&
          std::none_of(entering.begin(), entering.end(),
                       [&](const Entering &e) { return e.slot == s; }))
        slot = s;
    if (slot < 0) {
      slot = nsamples;
      grow_slots(std::max(nsamples + 1, 2 * nsamples));
    }
    const NVDynXYZFrame &f = ins.frame.xyz;
    const tagint sid = id_offset + (tagint) f.index + 1;
    for (int i = 0; i < f.natoms; i++) {
      const double *x = &ins.x[3 * i];
      if (x[0] < sublo[0] || x[0] >= subhi[0] || x[1] < sublo[1] || x[1] >= subhi[1] ||
          x[2] < sublo[2] || x[2] >= subhi[2])
        continue;
      atom->avec->create_atom(f.type[i], const_cast<double *>(x));
      const int n = atom->nlocal - 1;
      atom->tag[n] = ins.tag0 + i + 1;
      if (atom->molecule_flag) atom->molecule[n] = sid;
      atom->mask[n] = 1 | groupbit_fix;
      for (int k = 0; k < 3; k++) atom->v[n][k] = f.v.empty() ? 0.0 : f.v[3 * i + k];
      if (onemol) atom->add_molecule_atom(onemol, i, n, ins.tag0);
      if (atom->rmass_flag) atom->rmass[n] = f.mass.empty() ? atom->mass[f.type[i]] : f.mass[i];
      modify->create_attribute(n);
      sample[n] = -2 - slot;    // entering slot `slot` at the end of the step
      atom_index[n] = i;
    }
    if (onemol) add_topology(onemol, 1);
    const NVDynSource::Frame &fr = ins.frame;
    entering.push_back({slot, sid, f.natoms, f.index,
                        fr.handed ? fr.keys : NVDynExtXYZ::source_keys(f.info), ins.sphere,
                        ins.tag0, fr.state});
  }
}

/* ----------------------------------------------------------------------
   the samples created on this step join their slots: fresh samples of
   stage 0, keyed by their source index, with their groups
------------------------------------------------------------------------- */

void FixNVDyn::commit_entering()
{
  if (entering.empty()) return;
  for (auto &e : entering) {
    table->insert(e.slot, e.id, e.natoms, e.index, std::move(e.info), e.sphere, e.tag0);
    if (e.state.empty()) {
      check(nvdyn_sample_reset(engine, e.slot, 0, SOURCE_KEY + (uint64_t) e.index), "refill");
    } else {
      // a sample handed on: its state, entering its stage here
      check(nvdyn_sample_load(engine, e.slot, e.state.data(), e.state.size()), "pipeline");
      check(nvdyn_sample_resume(engine, e.slot), "pipeline");
    }
  }
  entering.clear();
  for (int i = 0; i < atom->nlocal; i++)
    if (sample[i] <= -2) sample[i] = -2 - sample[i];
  atoms_generation++;
  refresh_state();
  set_stage_masks();
  NVDYN_NS::forward_comm_fix(comm, this);
}

// the system's counts of bonds, angles, dihedrals and impropers with a
// copy of the template added (sign 1) or deleted (-1)
void FixNVDyn::add_topology(Molecule *onemol, int sign)
{
  atom->nbonds += sign * onemol->nbonds;
  atom->nangles += sign * onemol->nangles;
  atom->ndihedrals += sign * onemol->ndihedrals;
  atom->nimpropers += sign * onemol->nimpropers;
}

void FixNVDyn::grow_slots(int n)
{
  check(nvdyn_engine_grow(engine, n), "refill");
  table->grow(n);
  nsamples = n;
  size_array_rows = n;
}

/* ----------------------------------------------------------------------
   frames that never go in (malformed, too large for the budget or the
   box): in the sink as failed, with what kept them out
------------------------------------------------------------------------- */

void FixNVDyn::write_unplaced(const std::vector<NVDynSource::Frame> &frames)
{
  if (frames.empty()) return;
  source->failed_before += (bigint) frames.size();
  if (!outfiles->is_open(NVDynOutput::SINK)) {
    if (comm->me == 0)
      for (const auto &f : frames)
        error->warning(FLERR, "Fix nvdyn {}: source frame {} failed and there is no sink: {}", id,
                       f.xyz.index, f.error);
    return;
  }
  std::vector<NVDynExtXYZ::Frame> out;
  for (const auto &f : frames)
    out.push_back(extxyz->unplaced(id_offset + (tagint) f.xyz.index + 1, f.xyz, f.error, nstages));
  write_sink(NVDynExtXYZ::text(out));
}

std::string FixNVDyn::source_summary() const
{
  if (!source) return "";
  std::string text;
  if (pipeline) {
    std::string names;
    for (int k = pipeline->first_stage; k < pipeline->end_stage; k++)
      names += (names.empty() ? "" : " ") + config.stages[k].name;
    text = pipeline->summary(names);
    if (!pipeline->first_part()) return text;
  }
  return text +
      fmt::format("Source: {} frames read{}, {} failed before going in\n", source->frames_read(),
                  source->exhausted() ? " (all)" : "", source->failed_before);
}
