/* ----------------------------------------------------------------------
   NVDYN: run_style nvpipeline on a single partition.

   The step loop of run_style verlet, with three additions:
   - the BEFORE_COMPUTE / AFTER_COMPUTE hook points of every fix nvdyn are
     called right around LAMMPS's force evaluation (after pre_force,
     before post_force) instead of from the fixes' pre_force / post_force;
   - the run ends after the step on which every sample of every fix nvdyn
     is finished (done, failed or timed out); `run N` is an upper bound;
   - a per-stage summary table of each fix nvdyn at the end of the run.
   With no fix nvdyn it runs exactly like run_style verlet.
------------------------------------------------------------------------- */

#include "run_nvpipeline.h"

#include "fix_nvdyn.h"
#include "nvdyn_lammps_compat.h"

#include "angle.h"
#include "atom.h"
#include "bond.h"
#include "comm.h"
#include "dihedral.h"
#include "domain.h"
#include "error.h"
#include "exceptions.h"
#include "force.h"
#include "improper.h"
#include "kspace.h"
#include "modify.h"
#include "neighbor.h"
#include "output.h"
#include "pair.h"
#include "timer.h"
#include "universe.h"
#include "update.h"
#include "utils.h"

#include <algorithm>
#include <cstring>
#include <string>

using namespace LAMMPS_NS;

/* ---------------------------------------------------------------------- */

RunNVPipeline::RunNVPipeline(LAMMPS *lmp, int narg, char **arg) :
    Verlet(lmp, narg, arg), args(arg, arg + narg), warned_no_batch(false), warned_no_tally(false)
{
  // no errors here: Update::create_integrate() has already deleted the
  // previous run style, so an error now would leave it dangling
}

/* ----------------------------------------------------------------------
   a run that ended in an error skipped cleanup(): hand the compute hooks
   back to the fixes, which may run under another run style next
------------------------------------------------------------------------- */

RunNVPipeline::~RunNVPipeline()
{
  find_batches();
  for (auto batch : batches) batch->external_compute_hooks = false;
}

/* ----------------------------------------------------------------------
   initialization before run
------------------------------------------------------------------------- */

void RunNVPipeline::init()
{
  if (lmp->kokkos)
    error->all(FLERR,
               "Run style nvpipeline is the host variant: under -k on use nvpipeline/kk "
               "(which -sf kk picks)");
  pipeline = NVDYN_NS::init_run_style(lmp, args, "nvpipeline");
  Verlet::init();
}

/* ----------------------------------------------------------------------
   setup before run: the fix nvdyn instances leave their compute hook
   points to this run style
------------------------------------------------------------------------- */

void RunNVPipeline::setup(int flag)
{
  find_batches();
  if (batches.empty() && !warned_no_batch) {
    if (comm->me == 0)
      error->warning(FLERR, "Run style nvpipeline: no fix nvdyn defined, running like verlet");
    warned_no_batch = true;
  }
  NVDYN_NS::guard_pipeline(lmp, batches, [&]() {
    NVDYN_NS::join_pipeline(lmp, batches, pipeline, "nvpipeline");
    Verlet::setup(flag);
  });
}

/* ----------------------------------------------------------------------
   the fix nvdyn instances now defined, with external compute hooks;
   called again from run() since "run N pre no" skips setup()
------------------------------------------------------------------------- */

void RunNVPipeline::find_batches()
{
  batches = NVDYN_NS::find_batches(modify);
  for (auto batch : batches) batch->external_compute_hooks = true;
}

bool RunNVPipeline::all_finished() const
{
  return NVDYN_NS::all_finished(batches);
}

/* ----------------------------------------------------------------------
   run for at most N steps
------------------------------------------------------------------------- */

void RunNVPipeline::run(int n)
{
  find_batches();
  NVDYN_NS::guard_pipeline(lmp, batches, [&]() { steps(n); });
}

void RunNVPipeline::steps(int n)
{
  bigint ntimestep;
  int nflag, sortflag;

  // every sample finished in an earlier run: this run makes no step

  if (all_finished()) {
    update->nsteps = 0;
    update->laststep = update->ntimestep;
    return;
  }

  int n_post_integrate = modify->n_post_integrate;
  int n_pre_exchange = modify->n_pre_exchange;
  int n_pre_neighbor = modify->n_pre_neighbor;
  int n_post_neighbor = modify->n_post_neighbor;
  int n_pre_force = modify->n_pre_force;
  int n_post_force = NVDYN_NS::n_post_force(modify);
  int n_end_of_step = modify->n_end_of_step;

  if (atom->sortfreq > 0)
    sortflag = 1;
  else
    sortflag = 0;

  for (int i = 0; i < n; i++) {
    if (timer->check_timeout(i)) {
      update->nsteps = i;
      break;
    }

    ntimestep = ++update->ntimestep;
    ev_set(ntimestep);

    // initial time integration

    timer->stamp();
    modify->initial_integrate(vflag);
    if (n_post_integrate) modify->post_integrate();
    timer->stamp(Timer::MODIFY);

    // regular communication vs neighbor list rebuild

    nflag = neighbor->decide();

    if (nflag == 0) {
      timer->stamp();
      comm->forward_comm();
      timer->stamp(Timer::COMM);
    } else {
      if (n_pre_exchange) {
        timer->stamp();
        modify->pre_exchange();
        timer->stamp(Timer::MODIFY);
      }
      if (triclinic) domain->x2lamda(atom->nlocal);
      domain->pbc();
      if (domain->box_change) {
        domain->reset_box();
        comm->setup();
        if (neighbor->style) neighbor->setup_bins();
      }
      timer->stamp();
      comm->exchange();
      if (sortflag && ntimestep >= atom->nextsort) atom->sort();
      comm->borders();
      if (triclinic) domain->lamda2x(atom->nlocal + atom->nghost);
      timer->stamp(Timer::COMM);
      if (n_pre_neighbor) {
        modify->pre_neighbor();
        timer->stamp(Timer::MODIFY);
      }
      neighbor->build(1);
      timer->stamp(Timer::NEIGH);
      if (n_post_neighbor) {
        modify->post_neighbor();
        timer->stamp(Timer::MODIFY);
      }
    }

    // force computations, framed by the compute hook points of fix nvdyn:
    // BEFORE_COMPUTE after pre_force, AFTER_COMPUTE after the reverse
    // communication of forces and before post_force

    force_clear();

    timer->stamp();

    if (n_pre_force) modify->pre_force(vflag);
    for (auto batch : batches) batch->begin_compute();
    if (n_pre_force || !batches.empty()) timer->stamp(Timer::MODIFY);

    compute_forces();

    for (auto batch : batches) batch->end_compute();

    // force modifications, final time integration, diagnostics

    if (n_post_force) modify->post_force(vflag);
    modify->final_integrate();
    if (n_end_of_step) modify->end_of_step();
    timer->stamp(Timer::MODIFY);

    // the step on which the last sample finished is the last of the run

    const bool last = all_finished();
    if (last) {
      update->nsteps = i + 1;
      update->laststep = ntimestep;
      last_step_output();
    }

    // all output

    if (ntimestep == output->next) {
      timer->stamp();
      output->write(ntimestep);
      timer->stamp(Timer::OUTPUT);
    }

    if (last) break;
  }
}

/* ----------------------------------------------------------------------
   pair, bonded and kspace forces, then their reverse communication, as in
   Verlet::run() (pair before bonded: some bonded styles tally pairwise
   energy and virial)
------------------------------------------------------------------------- */

void RunNVPipeline::compute_forces()
{
  if (pair_compute_flag) {
    force->pair->compute(eflag, vflag);
    timer->stamp(Timer::PAIR);
  }

  if (atom->molecular != Atom::ATOMIC) {
    if (force->bond) force->bond->compute(eflag, vflag);
    if (force->angle) force->angle->compute(eflag, vflag);
    if (force->dihedral) force->dihedral->compute(eflag, vflag);
    if (force->improper) force->improper->compute(eflag, vflag);
    timer->stamp(Timer::BOND);
  }

  if (kspace_compute_flag) {
    force->kspace->compute(eflag, vflag);
    timer->stamp(Timer::KSPACE);
  }

  if (modify->n_pre_reverse) {
    modify->pre_reverse(eflag, vflag);
    timer->stamp(Timer::MODIFY);
  }

  if (force->newton) {
    comm->reverse_comm();
    timer->stamp(Timer::COMM);
  }
}

/* ----------------------------------------------------------------------
   make the output of this step, the last of the run, include thermo
   output, as LAMMPS does for the last step of a run that ends at N, and
   give the samples that finished on it without per-atom energies theirs
------------------------------------------------------------------------- */

void RunNVPipeline::last_step_output()
{
  const bigint ntimestep = update->ntimestep;
  const bool thermo = output->next_thermo != ntimestep;    // not planned
  // samples that finished on this step without per-atom energies
  const bool energies = std::any_of(batches.begin(), batches.end(),
                                    [](FixNVDyn *b) { return b->waits_for_energies(); });
  if (!thermo && !energies) return;
  const bool tallied = tally_last_step();
  for (auto batch : batches) batch->end_run(tallied);
  if (!tallied || !thermo) return;
  output->next_thermo = ntimestep;
  output->next = ntimestep;
}

/* ----------------------------------------------------------------------
   energy and virial computes (thermo's pe and press among them) only have
   values for steps that were announced to them before the step began; the
   last step of an early-ending run was not. Evaluate the forces of this
   step once more, with energy and virial tallies, and put the per-atom
   forces back as they were: positions, velocities and forces stay those
   of run_style verlet. Returns false when that is not possible.
   The step is announced to every compute that stores invocation times:
   Modify::addstep_compute() would only reach those invoked since the last
   Modify::clearstep_compute(), which are the thermo computes only if no
   fix (halt, print, ave/time, addforce with variables, ...) evaluated
   computes or variables after the last thermo output.
------------------------------------------------------------------------- */

bool RunNVPipeline::tally_last_step()
{
  const bigint ntimestep = update->ntimestep;
  const int eflag_step = eflag, vflag_step = vflag;
  modify->addstep_compute_all(ntimestep);
  ev_set(ntimestep);
  if ((eflag & ~eflag_step) == 0 && (vflag & ~vflag_step) == 0) return true;

  // extra per-atom force arrays (atom styles spin, dpd, electron, ...) and
  // forces cleared by fix omp cannot be put back as they were
  if (extraflag || external_force_clear) {
    if (comm->me == 0 && !warned_no_tally)
      error->warning(FLERR,
                     "Run style nvpipeline: no thermo output on the last step {} with this "
                     "atom style or package",
                     ntimestep);
    warned_no_tally = true;
    return false;
  }

  const size_t nall = (size_t) atom->nlocal + atom->nghost;
  std::vector<double> f_kept, torque_kept;
  if (nall) {
    f_kept.assign(&atom->f[0][0], &atom->f[0][0] + 3 * nall);
    if (torqueflag) torque_kept.assign(&atom->torque[0][0], &atom->torque[0][0] + 3 * nall);
  }
  force_clear();
  timer->stamp();
  compute_forces();
  if (nall) {
    std::copy(f_kept.begin(), f_kept.end(), &atom->f[0][0]);
    if (torqueflag) std::copy(torque_kept.begin(), torque_kept.end(), &atom->torque[0][0]);
  }
  return true;
}

/* ---------------------------------------------------------------------- */

void RunNVPipeline::cleanup()
{
  Verlet::cleanup();
  // the fixes now defined: a run that ended in an error skipped cleanup(),
  // and a fix deleted since (unfix) may still be in the list of its setup,
  // when a command that calls cleanup() without setup() comes (rerun)
  find_batches();
  NVDYN_NS::print_stage_summaries(lmp, batches);
  for (auto batch : batches) batch->external_compute_hooks = false;
  batches.clear();
}

/* ----------------------------------------------------------------------
   what nvpipeline and nvpipeline/kk share
------------------------------------------------------------------------- */

namespace NVDYN_NS {

NVDynPipelineConfig init_run_style(LAMMPS *lmp, const std::vector<std::string> &args,
                                   const std::string &name)
{
  NVDynPipelineConfig config;
  bool buffer_given = false;
  for (size_t i = 0; i < args.size();) {
    if (args[i] == "split") {
      if (!config.split.empty())
        lmp->error->all(FLERR, "Illegal run_style {} command: split given twice", name);
      config.split.emplace_back();
      for (i++; i < args.size() && args[i] != "buffer"; i++) {
        if (args[i] == "|")
          config.split.emplace_back();
        else
          config.split.back().push_back(args[i]);
      }
      for (size_t p = 0; p < config.split.size(); p++)
        if (config.split[p].empty())
          lmp->error->all(FLERR,
                          "Illegal run_style {} command: split: partition {} has no stage "
                          "(stage names, partitions separated by |)",
                          name, p + 1);
    } else if (args[i] == "buffer") {
      if (buffer_given)
        lmp->error->all(FLERR, "Illegal run_style {} command: buffer given twice", name);
      buffer_given = true;
      size_t j = i + 1;
      for (; j + 1 < args.size() && (args[j] == "samples" || args[j] == "atoms"); j += 2) {
        const bigint v = utils::bnumeric(FLERR, args[j + 1].c_str(), false, lmp);
        if (args[j] == "samples" && (v < 1 || v > MAXSMALLINT))
          lmp->error->all(FLERR, "Illegal run_style {} command: buffer samples {}: must be >= 1",
                          name, args[j + 1]);
        if (args[j] == "atoms" && v < 0)
          lmp->error->all(FLERR, "Illegal run_style {} command: buffer atoms {}: must be >= 0",
                          name, args[j + 1]);
        if (args[j] == "samples")
          config.samples = (int) v;
        else
          config.atoms = v;
      }
      if (j == i + 1)
        lmp->error->all(
            FLERR, "Illegal run_style {} command: buffer needs 'samples N' and/or 'atoms M'", name);
      i = j;
    } else {
      lmp->error->all(FLERR, "Illegal run_style {} command: unknown keyword '{}'", name, args[i]);
    }
  }
  if (lmp->universe->nworlds > 1 && config.split.empty())
    lmp->error->all(FLERR,
                    "Run style {} on {} partitions needs split: which stages each partition "
                    "runs (split STAGE ... | STAGE ...)",
                    name, lmp->universe->nworlds);
  // LAMMPS fixes (addforce, setforce, ...) take any run style whose name
  // does not start with "verlet" for respa; this is a Verlet loop
  const std::string runs_as = "verlet/" + name;
  if (runs_as != lmp->update->integrate_style) {
    delete[] lmp->update->integrate_style;
    lmp->update->integrate_style = utils::strdup(runs_as);
  }
  return config;
}

void join_pipeline(LAMMPS *lmp, const std::vector<FixNVDyn *> &batches,
                   const NVDynPipelineConfig &config, const std::string &name)
{
  if (config.split.empty()) return;
  if (batches.size() != 1)
    lmp->error->all(FLERR, "Run style {} split: needs exactly one fix nvdyn, found {}", name,
                    batches.size());
  batches[0]->join_pipeline(config);
}

void guard_pipeline(LAMMPS *lmp, const std::vector<FixNVDyn *> &batches,
                    const std::function<void()> &f)
{
#ifdef NVDYN_LAMMPS_EXCEPTIONS
  try {
    f();
  } catch (LAMMPSAbortException &e) {
    if (abort_communicator(e, 0) == lmp->universe->uworld)
      for (auto batch : batches) batch->pipeline_error(e.what());
    throw;
  } catch (LAMMPSException &e) {
    for (auto batch : batches) batch->pipeline_error(e.what());
    throw;
  }
#else
  (void) lmp;
  (void) batches;
  f();
#endif
}

std::vector<FixNVDyn *> find_batches(Modify *modify)
{
  std::vector<FixNVDyn *> batches;
  for (int i = 0; i < modify->nfix; i++) {
    auto batch = dynamic_cast<FixNVDyn *>(modify->fix[i]);
    if (batch) batches.push_back(batch);
  }
  return batches;
}

// true when every fix nvdyn has no active sample left; the same on all
// ranks, since each rank's engine holds the state of every sample
bool all_finished(const std::vector<FixNVDyn *> &batches)
{
  return !batches.empty() &&
      std::all_of(batches.begin(), batches.end(), [](FixNVDyn *b) { return b->finished(); });
}

// one table per fix nvdyn, in the layout of LAMMPS's timing breakdown;
// counts since the fix was defined, times are wall times on rank 0
void print_stage_summaries(LAMMPS *lmp, const std::vector<FixNVDyn *> &batches)
{
  if (lmp->comm->me != 0) return;
  for (auto batch : batches) {
    const auto table = batch->stage_summary();
    size_t width = 5;
    double total = 0.0;
    for (const auto &row : table) {
      width = std::max(width, row.name.size());
      total += row.seconds;
    }
    std::string mesg = fmt::format("\nFix nvdyn {} stage summary ({} samples):\n", batch->id,
                                   table.empty() ? 0 : table[0].samples);
    std::string head = fmt::format("{:<{}} | Samples | Mean steps | Max steps | Timeouts | "
                                   "Failures |  Time (s)  | %total\n",
                                   "Stage", width);
    mesg += head + std::string(head.size() - 1, '-') + "\n";
    for (const auto &row : table)
      mesg +=
          fmt::format("{:<{}} | {:7d} | {:10.2f} | {:9d} | {:8d} | {:8d} | {:10.4g} | {:6.2f}\n",
                      row.name, width, row.samples, row.mean_steps, row.max_steps, row.timeouts,
                      row.failures, row.seconds, total > 0.0 ? 100.0 * row.seconds / total : 0.0);
    mesg += batch->source_summary();
    utils::logmesg(lmp, mesg + "\n");
  }
}

}    // namespace NVDYN_NS
