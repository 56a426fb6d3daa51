/* ----------------------------------------------------------------------
   NVDYN: fix nvdyn, batched multi-stage dynamics of independent samples.

   The atoms of the fix group are split into samples (all / molecule /
   compute chunk/atom). Each sample goes through the stages in order and
   leaves a stage on its own when the stage's criteria hold. Integration
   and per-sample bookkeeping are done by the NVDYN C core (nvdyn.h); this
   fix feeds it LAMMPS's arrays, mirrors each sample's stage or outcome in
   LAMMPS groups, keeps frozen samples out of the neighbor lists, and writes
   finished samples and per-sample logs.
------------------------------------------------------------------------- */

#include "fix_nvdyn.h"

#include "nvdyn.h"
#include "nvdyn_extxyz.h"
#include "nvdyn_groups.h"
#include "nvdyn_lammps_compat.h"
#include "nvdyn_output.h"
#include "nvdyn_restart.h"
#include "run_nvpipeline.h"

#include "atom.h"
#include "comm.h"
#include "compute.h"
#include "domain.h"
#include "error.h"
#include "force.h"
#include "group.h"
#include "memory.h"
#include "modify.h"
#include "neighbor.h"
#include "output.h"
#include "timer.h"
#include "universe.h"
#include "update.h"
#include "utils.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace LAMMPS_NS;
using namespace FixConst;

/* ---------------------------------------------------------------------- */

FixNVDyn::FixNVDyn(LAMMPS *lmp, int narg, char **arg) :
    Fix(lmp, narg, arg), external_compute_hooks(false), run_batches(nullptr), run_last_step(-1),
    engine(nullptr), nstages(0), sample(nullptr), atom_index(nullptr), nsamples(0), step_start(0.0),
    c_pe(nullptr), pe_step(-1), exclude_frozen(false), energy_stages(false), frozen_listed(0),
    isolation_said(false), escape_margin(0.0), first_step(false), restart_failed(false),
    in_step(false), atoms_generation(1), pending_due(0), last_refill(-1), id_offset(0)
{
  // parse and check everything first, create groups, computes, files and
  // the engine last, so that a bad argument leaves nothing behind

  config = parse_nvdyn_args(lmp, narg, arg);
  nstages = (int) config.stages.size();

  std::vector<std::pair<std::string, std::string>> taken;    // groups of other fix nvdyn
  for (int f = 0; f < modify->nfix; f++) {
    auto other = dynamic_cast<FixNVDyn *>(modify->fix[f]);
    if (other && strcmp(other->id, id) != 0)
      for (const auto &name : other->groups->names) taken.emplace_back(name, other->id);
  }
  groups = std::make_unique<NVDynGroups>(lmp, id, igroup);
  groups->check(config, taken);

  id_pe = std::string(id) + "_pe";
  if (modify->find_compute(id_pe) >= 0)
    error->all(FLERR, "Fix nvdyn {}: a compute with ID '{}' exists: the fix needs that ID", id,
               id_pe);

  // samples: the molecules / chunks present now (this may end in an error,
  // so it comes before anything is created)

  std::vector<int> local_sample, local_index;
  table = std::make_unique<NVDynSamples>(lmp, igroup);
  table->assign(config, local_sample, local_index);
  nsamples = table->nsamples;
  if (config.streaming()) {
    if (domain->triclinic)
      error->all(FLERR, "Fix nvdyn: source needs an orthogonal box (this one is triclinic)");
    if (!atom->tag_enable)
      error->all(FLERR, "Fix nvdyn: source needs atom IDs (atom_modify id yes)");
    source = std::make_unique<NVDynSource>(lmp, config.source, config.elements);
    // new samples' IDs (and molecule IDs) above those of the input, new
    // atom IDs above the input's
    for (tagint sid : table->ids) id_offset = std::max(id_offset, sid);
    tagint top[2] = {0, 0};    // largest molecule and atom IDs
    for (int i = 0; i < atom->nlocal; i++) {
      if (atom->molecule_flag) top[0] = std::max(top[0], atom->molecule[i]);
      top[1] = std::max(top[1], atom->tag[i]);
    }
    MPI_Allreduce(MPI_IN_PLACE, top, 2, MPI_LMP_TAGINT, MPI_MAX, world);
    id_offset = std::max(id_offset, top[0]);
    source->set_tag_base(top[1]);
  }

  // checks stage styles and values; a source may start with no sample:
  // then one empty slot
  engine = create_nvdyn_engine(lmp, config, std::max(nsamples, 1), &world);
  if (nsamples == 0) {
    table->grow(1);
    nsamples = 1;
    check(nvdyn_sample_retire(engine, 0), "source");
  }
  definition = config.definition(group->names[igroup]);

  // from here on nothing fails except file opening

  open_output();
  // samples finish through criteria, maxsteps, a drift monitor or FIRE's
  // uphill limit (the core's nvdyn_stage_can_finish); with none of those,
  // only a failed sample would be frozen and the exclusion would cost every
  // neighbor list build for nothing
  for (int k = 0; k < nstages; k++) {
    int can = 0, need = 0;
    check(nvdyn_stage_can_finish(engine, k, &can), "stages");
    check(nvdyn_stage_needs_energy(engine, k, &need), "stages");
    exclude_frozen = exclude_frozen || can;
    energy_stages = energy_stages || need;
  }
  groups->create(exclude_frozen, table->isolate_molecules);
  stage_seconds.assign(nstages, 0.0);
  c_pe = modify->add_compute(id_pe + " all pe/atom");

  time_integrate = 1;
  nevery = 1;
  comm_forward = 1;
  create_attribute = 1;
  restart_global = 1;
  restart_peratom = 1;
  force_reneighbor = 1;
  next_reneighbor = -1;

  vector_flag = 1;
  size_vector = nstages + 3;
  global_freq = 1;
  extvector = 0;
  array_flag = 1;
  size_array_rows = nsamples;
  size_array_cols = NVDynSamples::NCOLS;
  extarray = 0;

  FixNVDyn::grow_arrays(atom->nmax);
  atom->add_callback(Atom::GROW);
  atom->add_callback(Atom::RESTART);
  std::copy(local_sample.begin(), local_sample.end(), sample);
  std::copy(local_index.begin(), local_index.end(), atom_index);
  refresh_state();
  set_stage_masks();    // ghost atoms get theirs at the next setup

  if (comm->me == 0)
    utils::logmesg(lmp, "Fix nvdyn {}: {} samples{}, {} stages\n", id, table->nlive,
                   source ? " and a source" : "", nstages);
}

/* ----------------------------------------------------------------------
   the sink and the log; neither may be a file of another fix nvdyn
------------------------------------------------------------------------- */

void FixNVDyn::open_output()
{
  std::vector<const NVDynOutput *> others;
  for (int f = 0; f < modify->nfix; f++)
    if (auto other = dynamic_cast<FixNVDyn *>(modify->fix[f]))
      others.push_back(other->outfiles.get());
  outfiles = std::make_unique<NVDynOutput>(lmp, id);
  extxyz = std::make_unique<NVDynExtXYZ>(lmp, config.elements);
  // with several partitions, each writes its own log, FILE.K as LAMMPS
  // writes log.lammps.K
  std::string log_file = config.log_file;
  if (!log_file.empty() && universe->nworlds > 1)
    log_file += "." + std::to_string(universe->iworld);
  const std::string message =
      outfiles->open(config.sink_file, log_file, config.append, NVDynSamples::log_header, others);
  if (!message.empty()) {
    nvdyn_engine_destroy(engine);
    engine = nullptr;
    error->all(FLERR, message);
  }
}

/* ---------------------------------------------------------------------- */

FixNVDyn::~FixNVDyn()
{
  atom->delete_callback(id, Atom::GROW);
  atom->delete_callback(id, Atom::RESTART);
  memory->destroy(sample);
  memory->destroy(atom_index);
  nvdyn_engine_destroy(engine);
  if (modify->find_compute(id_pe) >= 0) modify->delete_compute(id_pe);
  // the groups stay (LAMMPS groups cannot be made to disappear), emptied,
  // so that a later fix nvdyn on other atoms may take them; the exclusions
  // go, unless 'neigh_modify exclude none' removed them already
  if (groups && table) groups->release(table->isolate_molecules);
}

/* ---------------------------------------------------------------------- */

int FixNVDyn::setmask()
{
  int mask = 0;
  mask |= INITIAL_INTEGRATE;
  mask |= PRE_FORCE;
  mask |= POST_FORCE;
  mask |= FINAL_INTEGRATE;
  mask |= END_OF_STEP;
  mask |= PRE_EXCHANGE;
  mask |= POST_NEIGHBOR;
  return mask;
}

/* ---------------------------------------------------------------------- */

void FixNVDyn::init()
{
  if (restart_failed)
    error->all(FLERR,
               "Fix nvdyn {} could not continue from the restart file (see its error when it was "
               "defined): unfix it and define it as in the restart file",
               id);
  if (utils::strmatch(update->integrate_style, "^respa"))
    error->all(FLERR, "Fix nvdyn does not support run_style respa");
  const std::string deleted = groups->deleted();
  if (!deleted.empty()) error->all(FLERR, deleted);
  c_pe = modify->compute[modify->find_compute(id_pe)];
  check(nvdyn_engine_set(engine, "dt", update->dt), "timestep");
  check(nvdyn_engine_set(engine, "ftm2v", force->ftm2v), "units");
  check(nvdyn_engine_set(engine, "mvv2e", force->mvv2e), "units");
  check(nvdyn_engine_set(engine, "boltz", force->boltz), "units");
  // an atom of an MD stage may move at most the neighbor skin in a step
  const double maxmove = config.maxmove >= 0.0
      ? config.maxmove
      : (config.nan_mode == NVDynConfig::NAN_OFF ? 0.0 : neighbor->skin);
  check(nvdyn_engine_set(engine, "maxmove", maxmove), "maxmove");
}

/* ----------------------------------------------------------------------
   groups of all atoms, ghosts included; warn about atoms that joined the
   fix group after the fix was defined; energies for the first step
------------------------------------------------------------------------- */

void FixNVDyn::setup(int /*vflag*/)
{
  atoms_generation++;    // anything may have changed between runs: checked again
  table->warn_orphans(sample);
  check(nvdyn_engine_set_step(engine, update->ntimestep), "setup");
  // say once, at the first setup, how the samples are kept apart
  if (!isolation_said) table->say_isolation(id);
  isolation_said = true;
  // an atom further than the neighbor cutoff (known once the neighbor
  // lists are initialised) from its sample's extent has escaped
  escape_margin = source ? placement_margin()
      : config.escape >= 0.0
      ? config.escape
      : (config.nan_mode == NVDynConfig::NAN_OFF ? 0.0 : neighbor->cutneighmax);

  // samples that lost atoms since the last run, escaped atoms (and the
  // samples' extents on their first check); the values are checked on the
  // first step, after every fix's setup has had its say on the forces
  refresh_state();
  const std::vector<int> before = table->outcome;
  fail_samples(table->short_samples(sample), NVDYN_REASON_LOST);
  if (escape_margin > 0.0)
    fail_samples(table->escaped(sample, escape_margin), NVDYN_REASON_ESCAPED);
  apply_changes(before, true);
  first_step = true;
  in_step = false;
  run_last_step = -1;
  plan_step(update->ntimestep + 1);
  step_start = MPI_Wtime();
  frozen_listed = 0;    // the setup has built the neighbor lists
}

void FixNVDyn::post_neighbor()
{
  // atoms exchanged or sorted (the only changes of nlocal, of the per-atom
  // arrays and of their sample indices during a run): the engine checks them again
  atoms_generation++;
  frozen_listed = 0;
  const std::vector<int> before = table->outcome;
  fail_samples(table->short_samples(sample), NVDYN_REASON_LOST);
  apply_changes(before, true);
}

// on reneighbor steps, before atoms are wrapped and exchanged: the
// escape guard, then a refill if one is due
void FixNVDyn::pre_exchange()
{
  if (escape_margin > 0.0) {
    const std::vector<int> before = table->outcome;
    fail_samples(table->escaped(sample, escape_margin), NVDYN_REASON_ESCAPED);
    apply_changes(before, false);    // borders() takes the masks to the ghosts
  }
  if (refill_due(update->ntimestep)) refill();
}

/* ----------------------------------------------------------------------
   active samples that lost atoms (NVDynSamples::short_samples) or whose
   atoms escaped (NVDynSamples::escaped) fail before their atoms move again
------------------------------------------------------------------------- */

void FixNVDyn::fail_samples(const std::vector<int> &which, int reason)
{
  for (int s : which)
    if (table->outcome[s] == NVDYN_ACTIVE)
      check(nvdyn_sample_fail(engine, s, (nvdyn_reason) reason), nvdyn_reason_name(reason));
}

/* ----------------------------------------------------------------------
   after samples changed stage or outcome: groups (of ghosts too, by
   forward communication, if asked), and for the samples that finished
   since `before` (outcomes): neighbor list exclusion, sink, nan stop
------------------------------------------------------------------------- */

void FixNVDyn::apply_changes(const std::vector<int> &before, bool ghosts, bool energies)
{
  refresh_state();
  // (a sample that finished this partition's stages is held for the
  // partition downstream, frozen, with no sink frame)
  std::vector<int> finished;
  bigint frozen_now = 0;
  for (int s = 0; s < nsamples; s++)
    if (before[s] == NVDYN_ACTIVE && table->outcome[s] != NVDYN_ACTIVE) {
      frozen_now += table->natoms[s];
      if (passes_on(s))
        held.push_back(s);
      else
        finished.push_back(s);
    }
  const bool stop = config.nan_mode == NVDynConfig::NAN_STOP &&
      std::any_of(finished.begin(), finished.end(),
                  [&](int s) { return table->outcome[s] == NVDYN_FAILED; });
  // without per-atom energies on this step, finished samples wait for
  // those of a later one, in the neighbor lists (not frozen) until then:
  // the next step that tallies them anyway, at most ENERGY_WAIT steps on
  const bool wait = !energies && !stop;
  if (wait && pending.empty() && !finished.empty()) pending_due = update->ntimestep + ENERGY_WAIT;
  if (wait) pending.insert(pending.end(), finished.begin(), finished.end());
  set_stage_masks();
  if (ghosts) NVDYN_NS::forward_comm_fix(comm, this);
  // frozen atoms leave the neighbor lists at the next rebuild; one is
  // forced once they are 5% of the samples' atoms
  frozen_listed += frozen_now;
  if (frozen_now && exclude_frozen && frozen_listed >= 0.05 * table->total_atoms)
    next_reneighbor = update->ntimestep + 1;
  if (finished.empty()) return;
  if (outfiles->is_open(NVDynOutput::SINK)) {
    refresh_values();
    auto frames = extxyz->collect(*table, engine, sample, finished);
    if (wait)
      pending_frames.insert(pending_frames.end(), frames.begin(), frames.end());
    else
      write_sink(NVDynExtXYZ::text(frames));
  }
  if (stop)
    for (int s : finished)
      if (table->outcome[s] == NVDYN_FAILED)
        error->all(FLERR,
                   "Fix nvdyn {}: sample {} failed on step {} (reason {}) and 'nan stop' is set",
                   id, table->ids[s], update->ntimestep, nvdyn_reason_name(table->reason[s]));
}

/* ----------------------------------------------------------------------
   the samples that finished on the last step without per-atom energies:
   their energies from this step's (pe; their atoms have not moved since),
   then their frames. Without pe (a run cut short) the frames keep the
   energies of the samples' last checks with energies. The caller updates
   the masks (the samples join the frozen group).
------------------------------------------------------------------------- */

void FixNVDyn::finish_pending(const double *pe)
{
  if (pe) {
    const std::vector<double> energy = table->sum_energy(sample, pe, pending);
    for (size_t k = 0; k < pending.size(); k++) table->set_final_energy(pending[k], energy[k]);
    for (size_t k = 0; k < pending_frames.size(); k++) pending_frames[k].info.energy = energy[k];
  }
  if (!pending_frames.empty()) write_sink(NVDynExtXYZ::text(pending_frames));
  pending.clear();
  pending_frames.clear();
}

// a run that ended early (a timeout) on a step on which samples finished
// without per-atom energies
void FixNVDyn::post_run()
{
  end_run(false);
}

/* ----------------------------------------------------------------------
   what step `step` needs: per-atom energies when it checks samples or
   writes the log, refreshed values when it writes the log
------------------------------------------------------------------------- */

void FixNVDyn::plan_step(bigint step)
{
  const bool log_due = config.log_every > 0 && step % config.log_every == 0;
  if (log_due) check(nvdyn_refresh_values(engine), "log");
  const bool need = energy_stages && energy_due();
  // the first and last step of a run, a step on which a fix halt may end
  // it, and a step that writes a restart file leave no sample waiting for
  // its energy
  if (need || log_due || (!pending.empty() && step >= pending_due) || first_step ||
      step == run_last_step || step == update->laststep || step == output->next_restart ||
      NVDYN_NS::halt_may_end_run(modify, step)) {
    pe_step = step;
    c_pe->addstep(step);
  }
}

/* ---------------------------------------------------------------------- */

void FixNVDyn::fill_atoms(nvdyn_atoms &a)
{
  a = nvdyn_atoms{};
  a.natoms = atom->nlocal;
  a.x = {atom->nlocal ? atom->x[0] : nullptr, 3, 1};
  a.v = {atom->nlocal ? atom->v[0] : nullptr, 3, 1};
  a.f = {atom->nlocal ? atom->f[0] : nullptr, 3, 1};
  a.rmass = atom->rmass;
  a.type_mass = atom->mass;
  a.type = atom->type;
  a.ntypes = atom->ntypes;
  a.sample = sample;
  a.index = atom_index;
  a.generation = atoms_generation;
}

void FixNVDyn::initial_integrate(int /*vflag*/)
{
  in_step = true;
  nvdyn_atoms a;
  fill_atoms(a);
  if (first_step) {
    // non-finite or unsafe values that no step has checked yet (those of
    // the setup's forces, or set between runs): the samples fail before
    // their atoms move
    first_step = false;
    check_unchecked(a, "first step");
  }
  check(nvdyn_begin_step(engine, &a), "initial_integrate");
  check(nvdyn_pre_update(engine, &a), "initial_integrate");
}

void FixNVDyn::pre_force(int /*vflag*/)
{
  if (!external_compute_hooks) begin_compute();
}

void FixNVDyn::post_force(int /*vflag*/)
{
  if (!external_compute_hooks) end_compute();
}

// the samples with non-finite or unsafe values that no step has checked
// (a run's setup, new samples' first forces) fail before their atoms move
void FixNVDyn::check_unchecked(nvdyn_atoms &a, const char *where)
{
  int nfailed = 0;
  const std::vector<int> before = table->outcome;
  check(nvdyn_check_atoms(engine, &a, &nfailed), where);
  if (nfailed) apply_changes(before, true);
}

void FixNVDyn::begin_compute()
{
  nvdyn_atoms a;
  fill_atoms(a);
  check(nvdyn_begin_compute(engine, &a), "begin_compute");
}

void FixNVDyn::end_compute()
{
  nvdyn_atoms a;
  fill_atoms(a);
  check(nvdyn_end_compute(engine, &a), "end_compute");
}

void FixNVDyn::final_integrate()
{
  nvdyn_atoms a;
  fill_atoms(a);
  check(nvdyn_post_update(engine, &a), "final_integrate");
}

/* ----------------------------------------------------------------------
   checks and migrations; finished samples are frozen, written to the
   sink, and leave the neighbor lists at the next step
------------------------------------------------------------------------- */

void FixNVDyn::end_of_step()
{
  const bigint ntimestep = update->ntimestep;
  // rerun calls end_of_step() on each snapshot, with no step integrated:
  // the samples do not advance
  if (!in_step) return;
  in_step = false;

  // the step's wall time, shared among the stages by their atoms
  const double now = MPI_Wtime();
  if (table->active_atoms > 0.0)
    for (int k = 0; k < nstages; k++)
      stage_seconds[k] += (now - step_start) * table->stage_atoms[k] / table->active_atoms;
  step_start = now;

  nvdyn_atoms a;
  fill_atoms(a);
  const bool energies = pe_step == ntimestep;
  if (energies) {
    if (c_pe->invoked_peratom != ntimestep) c_pe->compute_peratom();
    a.pe = c_pe->vector_atom;
  }
  const int changed = end_engine_step(a);
  table->stepped();
  const bool waited = !pending.empty() && energies;
  if (waited) finish_pending(a.pe);
  if (changed) {
    apply_changes(std::vector<int>(table->outcome), true, energies);    // outcomes before the step
  } else if (waited) {
    set_stage_masks();
    NVDYN_NS::forward_comm_fix(comm, this);
  }
  // the samples created on this step join their slots; a refill on the
  // next step is a reneighbor step
  if (!entering.empty()) {
    commit_entering();
    fill_atoms(a);
    check_unchecked(a, "refill");
  }
  pipeline_step();
  if (refill_due(ntimestep + 1)) next_reneighbor = ntimestep + 1;
  if (config.log_every > 0 && ntimestep % config.log_every == 0) write_log();
  plan_step(ntimestep + 1);
  if (run_batches && !run_batches->empty() && run_batches->back() == this) end_run_if_finished();
}

/* ----------------------------------------------------------------------
   run_style nvpipeline/kk: the last fix nvdyn of the run ends it once
   every sample of every batch is finished. The step after that is the
   run's last: it has thermo output and per-atom energy tallies (for the
   samples that wait for theirs), and no neighbor list build; the frozen
   samples do not move. At its end the fix ends the run as fix halt does.
------------------------------------------------------------------------- */

void FixNVDyn::end_run_if_finished()
{
  if (!NVDYN_NS::all_finished(*run_batches)) return;
  const bigint ntimestep = update->ntimestep;
  if (run_last_step < 0) {
    const bigint last = ntimestep + 1;
    output->next_thermo = last;
    output->next = std::min(output->next, last);
    modify->addstep_compute_all(last);
    for (auto batch : *run_batches) {
      batch->run_last_step = last;
      batch->plan_step(last);
      // frozen atoms stay in the neighbor lists for this last step: its
      // thermo output sees the energies that nvpipeline's last step sees
      if (batch->next_reneighbor == last) batch->next_reneighbor = -1;
    }
  } else if (ntimestep >= run_last_step) {
    timer->force_timeout();
  }
}

// the engine's end of the step; returns the number of samples that changed
int FixNVDyn::end_engine_step(nvdyn_atoms &a)
{
  int changed = 0;
  check(nvdyn_end_step(engine, &a, &changed), "end_of_step");
  return changed;
}

// the next step checks a sample with an energy criterion or drift monitor
bool FixNVDyn::energy_due()
{
  int need = 0;
  check(nvdyn_need_energy(engine, &need), "checks");
  return need != 0;
}

void FixNVDyn::refresh_state()
{
  check(table->refresh_state(engine), "state");
}

// the per-sample values, fetched from the engine at most once per step
void FixNVDyn::refresh_values()
{
  check(table->refresh_values(engine, update->ntimestep), "values");
}

bool FixNVDyn::finished() const
{
  return table->nactive == 0 && entering.empty() && (!source || source->exhausted()) &&
      (!pipeline || pipeline->ended());
}

void FixNVDyn::end_run(bool tallied)
{
  if (pending.empty()) return;
  const bigint ntimestep = update->ntimestep;
  if (tallied && c_pe->invoked_peratom != ntimestep) c_pe->compute_peratom();
  finish_pending(tallied ? c_pe->vector_atom : nullptr);
  set_stage_masks();
  NVDYN_NS::forward_comm_fix(comm, this);
}

std::vector<FixNVDyn::StageSummary> FixNVDyn::stage_summary() const
{
  auto rows = table->stage_summary(engine, groups->names, stage_seconds);
  // in a pipeline, this partition's stages
  if (pipeline) {
    rows.erase(rows.begin() + pipeline->end_stage, rows.end());
    rows.erase(rows.begin(), rows.begin() + pipeline->first_stage);
  }
  return rows;
}

void FixNVDyn::set_stage_masks()
{
  std::vector<int> bits(nsamples);
  for (int s = 0; s < nsamples; s++) {
    bits[s] = groups->bit(table->group_of(s));
    if (table->outcome[s] != NVDYN_ACTIVE) bits[s] |= groups->frozen_bit;
  }
  for (int s : pending) bits[s] &= ~groups->frozen_bit;
  groups->set_masks(sample, bits);
}

/* ----------------------------------------------------------------------
   log: one CSV row per sample
------------------------------------------------------------------------- */

void FixNVDyn::write_log()
{
  refresh_values();
  if (!outfiles->is_open(NVDynOutput::LOG)) return;
  outfiles->write(NVDynOutput::LOG,
                  comm->me == 0 ? table->log_rows(update->ntimestep, groups->names) : "");
}

/* ----------------------------------------------------------------------
   global vector: active samples in each stage, then done, failed, timed out
------------------------------------------------------------------------- */

double FixNVDyn::compute_vector(int n)
{
  // (done, failed and timed out: also those a refill deleted)
  const bigint retired = n >= nstages ? table->retired_outcomes[n - nstages] : 0;
  return (double) (table->group_count[n] + retired);
}

/* ----------------------------------------------------------------------
   per-sample array: sample ID, stage (1..nstages, nstages+1 = done),
   steps in the stage, energy, fmax, outcome, atoms, temperature, reason
------------------------------------------------------------------------- */

double FixNVDyn::compute_array(int i, int j)
{
  if (i < 0 || i >= nsamples) return 0.0;
  if (NVDynSamples::is_value_column(j)) refresh_values();
  if (j == NVDynSamples::COL_STEPS) check(table->refresh_steps(engine, update->ntimestep), "steps");
  return table->column(i, j);
}

/* ----------------------------------------------------------------------
   "engine": the nvdyn_engine of this fix, for library callers that add C
   hooks (nvdyn_hook_add) or read per-sample state; "sample", "atom_index":
   the per-atom sample index and index within the sample (int, local atoms)
------------------------------------------------------------------------- */

void *FixNVDyn::extract(const char *name, int &dim)
{
  dim = strcmp(name, "engine") == 0 ? 0 : 1;
  if (strcmp(name, "engine") == 0) return engine;
  if (strcmp(name, "sample") == 0) return sample;
  if (strcmp(name, "atom_index") == 0) return atom_index;
  return nullptr;
}

/* ---------------------------------------------------------------------- */

// The engine's state, and so its errors, are the same on every rank: the
// fix validates its per-atom input, and the core's per-atom checks only
// guard against the fix's own mistakes. error->all reaches log.lammps.
void FixNVDyn::check(int status, const char *where)
{
  if (status != NVDYN_OK)
    error->all(FLERR, "Fix nvdyn {} ({}): {}", where, nvdyn_status_string((nvdyn_status) status),
               nvdyn_engine_last_error(engine));
}
