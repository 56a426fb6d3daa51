/* ----------------------------------------------------------------------
   NVDYN: fix nvdyn, batched multi-stage dynamics of independent samples.

   The atoms of the fix group are split into samples (all / molecule /
   compute chunk/atom). Each sample goes through the stages in order and
   leaves a stage on its own when the stage's criteria hold. Integration
   and per-sample bookkeeping are done by the NVDYN C core (nvdyn.h); this
   fix feeds it LAMMPS's arrays and mirrors each sample's stage in LAMMPS
   groups named after the stages.
------------------------------------------------------------------------- */

#include "fix_nvdyn.h"

#include "nvdyn.h"
#include "nvdyn_lammps_compat.h"

#include "atom.h"
#include "comm.h"
#include "compute.h"
#include "compute_chunk_atom.h"
#include "error.h"
#include "force.h"
#include "group.h"
#include "memory.h"
#include "modify.h"
#include "update.h"
#include "utils.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

using namespace LAMMPS_NS;
using namespace FixConst;

// MAX_GROUP of group.cpp, which no LAMMPS header exports
static constexpr int LAMMPS_MAX_GROUP = 32;

namespace {

// Parse a positive integer value of keyword `what`, naming both on error.
bigint parse_count(Error *error, const char *what, const char *str)
{
  char *end = nullptr;
  errno = 0;
  long long val = strtoll(str, &end, 10);
  if (end == str || *end != '\0' || errno == ERANGE)
    error->all(FLERR, "Fix nvdyn: {} expects an integer, got '{}'", what, str);
  if (val < 1) error->all(FLERR, "Fix nvdyn: {} must be >= 1, got {}", what, str);
  return (bigint) val;
}

// The engine's cross-rank reduction: an in-place MPI_Allreduce over world.
int reduce_over_ranks(double *data, int n, nvdyn_reduce_op op, void *user)
{
  MPI_Comm comm = *static_cast<MPI_Comm *>(user);
  return MPI_Allreduce(MPI_IN_PLACE, data, n, MPI_DOUBLE,
                       op == NVDYN_REDUCE_MAX ? MPI_MAX : MPI_SUM, comm) == MPI_SUCCESS
      ? 0
      : 1;
}

bool is_top_keyword(const char *arg)
{
  return strcmp(arg, "samples") == 0 || strcmp(arg, "stage") == 0 || strcmp(arg, "done") == 0;
}

}    // namespace

/* ---------------------------------------------------------------------- */

FixNVDyn::FixNVDyn(LAMMPS *lmp, int narg, char **arg) :
    Fix(lmp, narg, arg), external_compute_hooks(false), engine(nullptr), stage_bits_all(0),
    sample(nullptr), nsamples(0), step_start(0.0)
{
  if (narg < 4) error->all(FLERR, "Fix nvdyn: expected 'samples' and at least one 'stage'");

  // parse everything first, create groups and the engine last, so that a
  // bad argument leaves nothing behind

  struct StageArg {
    std::string name, style;
    bigint steps = 0;
  };
  std::vector<StageArg> stages;
  SampleMode sample_mode = SAMPLES_ALL;
  std::string chunk_id;    // compute chunk/atom ID for SAMPLES_CHUNK
  std::string done_name = "done";

  int iarg = 3;
  while (iarg < narg) {
    if (strcmp(arg[iarg], "samples") == 0) {
      if (iarg + 1 >= narg) error->all(FLERR, "Fix nvdyn: samples needs a value");
      const char *val = arg[iarg + 1];
      if (strcmp(val, "all") == 0) {
        sample_mode = SAMPLES_ALL;
      } else if (strcmp(val, "molecule") == 0) {
        if (!atom->molecule_flag)
          error->all(FLERR, "Fix nvdyn: samples molecule needs an atom style with molecule IDs");
        sample_mode = SAMPLES_MOLECULE;
      } else if (utils::strmatch(val, "^c_")) {
        chunk_id = val + 2;
        int icompute = modify->find_compute(chunk_id);
        if (icompute < 0)
          error->all(FLERR, "Fix nvdyn: samples compute ID '{}' does not exist", chunk_id);
        if (strcmp(modify->compute[icompute]->style, "chunk/atom") != 0)
          error->all(FLERR, "Fix nvdyn: samples compute '{}' is style '{}', not chunk/atom",
                     chunk_id, modify->compute[icompute]->style);
        sample_mode = SAMPLES_CHUNK;
      } else {
        error->all(FLERR, "Fix nvdyn: samples must be all, molecule or c_ID, got '{}'", val);
      }
      iarg += 2;
    } else if (strcmp(arg[iarg], "stage") == 0) {
      if (iarg + 2 >= narg) error->all(FLERR, "Fix nvdyn: stage needs a name and a style");
      StageArg st;
      st.name = arg[iarg + 1];
      st.style = arg[iarg + 2];
      iarg += 3;
      if (iarg < narg && strcmp(arg[iarg], "until") == 0) {
        iarg++;
        int ncrit = 0;
        while (iarg < narg && !is_top_keyword(arg[iarg])) {
          if (strcmp(arg[iarg], "steps") == 0) {
            if (iarg + 1 >= narg)
              error->all(FLERR, "Fix nvdyn: stage {} criterion steps needs a value", st.name);
            st.steps = parse_count(error, "criterion steps", arg[iarg + 1]);
            iarg += 2;
            ncrit++;
          } else {
            error->all(FLERR, "Fix nvdyn: stage {} has unknown criterion '{}'", st.name, arg[iarg]);
          }
        }
        if (ncrit == 0)
          error->all(FLERR, "Fix nvdyn: stage {} has 'until' without criteria", st.name);
      }
      stages.push_back(st);
    } else if (strcmp(arg[iarg], "done") == 0) {
      if (iarg + 1 >= narg) error->all(FLERR, "Fix nvdyn: done needs a group name");
      done_name = arg[iarg + 1];
      iarg += 2;
    } else {
      error->all(FLERR, "Fix nvdyn: unknown keyword '{}'", arg[iarg]);
    }
  }

  if (stages.empty()) error->all(FLERR, "Fix nvdyn: at least one stage is required");

  // group names: valid IDs, unused in LAMMPS and among themselves

  std::vector<std::string> names;
  for (const auto &st : stages) names.push_back(st.name);
  names.push_back(done_name);
  for (size_t i = 0; i < names.size(); i++) {
    const char *what = (i + 1 < names.size()) ? "stage name" : "done group";
    if (!utils::is_id(names[i]))
      error->all(FLERR, "Fix nvdyn: {} '{}' is not a valid group name", what, names[i]);
    if (group->find(names[i]) >= 0)
      error->all(FLERR, "Fix nvdyn: {} '{}' is a group that already exists", what, names[i]);
    for (size_t j = 0; j < i; j++)
      if (names[j] == names[i]) error->all(FLERR, "Fix nvdyn: name '{}' is used twice", names[i]);
  }
  if (group->ngroup + (int) names.size() > LAMMPS_MAX_GROUP)
    error->all(FLERR, "Fix nvdyn: {} more groups would exceed LAMMPS's limit of {} groups",
               names.size(), LAMMPS_MAX_GROUP);

  // samples: the molecules / chunks present now (this may end in an error,
  // so it comes before anything is created)

  std::vector<int> local_sample;
  assign_samples(sample_mode, chunk_id, local_sample);

  // the engine checks stage styles and criteria

  nvdyn_engine *eng = nullptr;
  if (nvdyn_engine_create(&eng) != NVDYN_OK) error->all(FLERR, "Fix nvdyn: out of memory");
  auto engine_failed = [&](const std::string &context) {
    std::string msg = nvdyn_engine_last_error(eng);
    nvdyn_engine_destroy(eng);
    error->all(FLERR, "Fix nvdyn: {}{}", context, msg);
  };
  for (const auto &st : stages) {
    int index = -1;
    int status = nvdyn_stage_add(eng, st.style.c_str(), &index);
    if (status == NVDYN_OK && st.steps > 0)
      status = nvdyn_stage_until(eng, index, "steps", (double) st.steps);
    if (status != NVDYN_OK) engine_failed("stage " + st.name + ": ");
  }
  // NaN/inf checks stay off while this fix has no failed outcome to report
  if (nvdyn_engine_set(eng, "dt", update->dt) != NVDYN_OK ||
      nvdyn_engine_set(eng, "nan", 0.0) != NVDYN_OK ||
      nvdyn_engine_set_reduce(eng, reduce_over_ranks, &world) != NVDYN_OK ||
      nvdyn_engine_set_nsamples(eng, nsamples) != NVDYN_OK)
    engine_failed("");
  engine = eng;

  for (const auto &st : stages) stage_names.push_back(st.name);
  stage_seconds.assign(stages.size(), 0.0);
  for (const auto &name : names) {
    group->assign(name + " empty");
    int bit = group->bitmask[group->find(name)];
    stage_bits.push_back(bit);
    stage_bits_all |= bit;
  }

  time_integrate = 1;
  nevery = 1;
  comm_forward = 1;
  create_attribute = 1;

  vector_flag = 1;
  size_vector = (int) stages.size() + 1;
  global_freq = 1;
  extvector = 0;
  array_flag = 1;
  size_array_rows = nsamples;
  size_array_cols = 4;
  extarray = 0;

  FixNVDyn::grow_arrays(atom->nmax);
  atom->add_callback(Atom::GROW);
  std::copy(local_sample.begin(), local_sample.end(), sample);
  refresh_state();
  set_stage_masks();    // ghost atoms get theirs at the next setup

  if (comm->me == 0)
    utils::logmesg(lmp, "Fix nvdyn {}: {} samples, {} stages\n", id, nsamples, stages.size());
}

/* ---------------------------------------------------------------------- */

FixNVDyn::~FixNVDyn()
{
  atom->delete_callback(id, Atom::GROW);
  memory->destroy(sample);
  nvdyn_engine_destroy(engine);
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
  return mask;
}

/* ---------------------------------------------------------------------- */

void FixNVDyn::init()
{
  if (utils::strmatch(update->integrate_style, "^respa"))
    error->all(FLERR, "Fix nvdyn does not support run_style respa");
  check(nvdyn_engine_set(engine, "dt", update->dt), "timestep");
  check(nvdyn_engine_set(engine, "ftm2v", force->ftm2v), "units");
  check(nvdyn_engine_set(engine, "mvv2e", force->mvv2e), "units");
  check(nvdyn_engine_set(engine, "boltz", force->boltz), "units");
}

/* ----------------------------------------------------------------------
   warn about atoms that joined the fix group after the fix was defined
------------------------------------------------------------------------- */

void FixNVDyn::setup(int /*vflag*/)
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
  step_start = MPI_Wtime();
}

/* ----------------------------------------------------------------------
   split the fix group into samples: sample_ids, sample_natoms, nsamples,
   and the sample index of each local atom (-1 outside the fix group)
------------------------------------------------------------------------- */

void FixNVDyn::assign_samples(SampleMode sample_mode, const std::string &chunk_id,
                              std::vector<int> &index)
{
  const int nlocal = atom->nlocal;
  int *mask = atom->mask;
  index.assign(nlocal, -1);
  if (group->count(igroup) == 0)
    error->all(FLERR, "Fix nvdyn: fix group '{}' has no atoms", group->names[igroup]);

  if (sample_mode == SAMPLES_ALL) {
    sample_ids.assign(1, 1);
    for (int i = 0; i < nlocal; i++)
      if (mask[i] & groupbit) index[i] = 0;

  } else if (sample_mode == SAMPLES_CHUNK) {
    auto cchunk = dynamic_cast<ComputeChunkAtom *>(modify->compute[modify->find_compute(chunk_id)]);
    if (!cchunk) error->all(FLERR, "Fix nvdyn: compute '{}' is not chunk/atom", chunk_id);
    cchunk->init();    // it may not have been used yet
    int nchunk = cchunk->setup_chunks();
    cchunk->compute_ichunk();
    int *ichunk = cchunk->ichunk;
    int unassigned = 0, all_unassigned = 0;
    for (int i = 0; i < nlocal; i++) {
      if (!(mask[i] & groupbit)) continue;
      if (ichunk[i] < 1)
        unassigned++;
      else
        index[i] = ichunk[i] - 1;
    }
    MPI_Allreduce(&unassigned, &all_unassigned, 1, MPI_INT, MPI_SUM, world);
    if (all_unassigned)
      error->all(FLERR, "Fix nvdyn: {} atoms of the fix group are in no chunk of compute '{}'",
                 all_unassigned, chunk_id);
    sample_ids.resize(nchunk);
    for (int c = 0; c < nchunk; c++) sample_ids[c] = c + 1;

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
    sample_ids = all;
    for (int i = 0; i < nlocal; i++) {
      if (mask[i] & groupbit)
        index[i] = (int) (std::lower_bound(all.begin(), all.end(), molecule[i]) - all.begin());
    }
  }

  // the fix group is not empty and each of its atoms is in a sample: nsamples >= 1
  nsamples = (int) sample_ids.size();

  std::vector<int> mine(nsamples, 0);
  for (int i = 0; i < nlocal; i++)
    if (index[i] >= 0) mine[index[i]]++;
  sample_natoms.assign(nsamples, 0);
  MPI_Allreduce(mine.data(), sample_natoms.data(), nsamples, MPI_INT, MPI_SUM, world);
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
  if constexpr (sizeof(tagint) == sizeof(int64_t))
    a.id = reinterpret_cast<const int64_t *>(atom->tag);
  else
    a.id32 = reinterpret_cast<const int32_t *>(atom->tag);
}

void FixNVDyn::initial_integrate(int /*vflag*/)
{
  nvdyn_atoms a;
  fill_atoms(a);
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
   count the step per sample, migrate samples whose criteria hold
------------------------------------------------------------------------- */

void FixNVDyn::end_of_step()
{
  // the step's wall time, shared among the stages by their atoms
  const int nstages = (int) stage_names.size();
  std::vector<double> atoms_in(nstages, 0.0);
  double active_atoms = 0.0;
  for (int s = 0; s < nsamples; s++)
    if (sample_outcome[s] == NVDYN_ACTIVE) {
      atoms_in[sample_stage[s]] += sample_natoms[s];
      active_atoms += sample_natoms[s];
    }
  const double now = MPI_Wtime();
  if (active_atoms > 0.0)
    for (int k = 0; k < nstages; k++)
      stage_seconds[k] += (now - step_start) * atoms_in[k] / active_atoms;
  step_start = now;

  int moved = 0;
  nvdyn_atoms a;
  fill_atoms(a);
  check(nvdyn_end_step(engine, &a, &moved), "end_of_step");
  refresh_state();
  if (moved) {
    set_stage_masks();
    NVDYN_NS::forward_comm_fix(comm, this);
  }
}

void FixNVDyn::refresh_state()
{
  sample_stage.resize(nsamples);
  sample_steps.resize(nsamples);
  check(nvdyn_get_sample_stages(engine, sample_stage.data()), "stages");
  check(nvdyn_get_sample_steps(engine, sample_steps.data()), "steps");
  sample_outcome.resize(nsamples);
  check(nvdyn_get_sample_outcomes(engine, sample_outcome.data()), "outcomes");
}

bool FixNVDyn::finished() const
{
  return std::none_of(sample_outcome.begin(), sample_outcome.end(),
                      [](int o) { return o == NVDYN_ACTIVE; });
}

/* ----------------------------------------------------------------------
   per stage: samples that entered it, their steps in it, how many timed
   out or failed there, and its share of the wall time
------------------------------------------------------------------------- */

std::vector<FixNVDyn::StageSummary> FixNVDyn::stage_summary() const
{
  const int nstages = (int) stage_names.size();
  std::vector<StageSummary> table(nstages);
  std::vector<int64_t> steps(nstages);
  std::vector<double> total(nstages, 0.0);
  for (int k = 0; k < nstages; k++) table[k] = {stage_names[k], 0, 0.0, 0, 0, 0, stage_seconds[k]};
  for (int s = 0; s < nsamples; s++) {
    nvdyn_get_sample_stage_steps(engine, s, steps.data());
    const int last = std::min(sample_stage[s], nstages - 1);
    for (int k = 0; k <= last; k++) {
      // a sample in stage k has entered it, even before its first step there
      table[k].samples++;
      total[k] += (double) steps[k];
      table[k].max_steps = std::max(table[k].max_steps, (bigint) steps[k]);
    }
    if (sample_outcome[s] == NVDYN_TIMEOUT) table[sample_stage[s]].timeouts++;
    if (sample_outcome[s] == NVDYN_FAILED) table[sample_stage[s]].failures++;
  }
  for (int k = 0; k < nstages; k++)
    if (table[k].samples) table[k].mean_steps = total[k] / table[k].samples;
  return table;
}

/* ----------------------------------------------------------------------
   each atom of a sample in exactly one of the stage groups or done group
------------------------------------------------------------------------- */

void FixNVDyn::set_stage_masks()
{
  int *mask = atom->mask;
  for (int i = 0; i < atom->nlocal; i++) {
    mask[i] &= ~stage_bits_all;
    if (sample[i] >= 0) mask[i] |= stage_bits[sample_stage[sample[i]]];
  }
}

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

/* ----------------------------------------------------------------------
   global vector: samples in each stage, then done samples
------------------------------------------------------------------------- */

double FixNVDyn::compute_vector(int n)
{
  return (double) std::count(sample_stage.begin(), sample_stage.end(), n);
}

/* ----------------------------------------------------------------------
   per-sample array: sample ID, stage (1..nstages, nstages+1 = done),
   steps in the stage, atoms in the sample
------------------------------------------------------------------------- */

double FixNVDyn::compute_array(int i, int j)
{
  if (i < 0 || i >= nsamples) return 0.0;
  switch (j) {
    case 0:
      return (double) sample_ids[i];
    case 1:
      return (double) sample_stage[i] + 1.0;
    case 2:
      return (double) sample_steps[i];
    default:
      return (double) sample_natoms[i];
  }
}

/* ---------------------------------------------------------------------- */

void FixNVDyn::check(int status, const char *where)
{
  if (status != NVDYN_OK)
    error->one(FLERR, "Fix nvdyn {} ({}): {}", where, nvdyn_status_string((nvdyn_status) status),
               nvdyn_engine_last_error(engine));
}

/* ----------------------------------------------------------------------
   per-atom sample index: follows its atom between ranks
------------------------------------------------------------------------- */

void FixNVDyn::grow_arrays(int nmax)
{
  memory->grow(sample, nmax, "nvdyn:sample");
}

void FixNVDyn::copy_arrays(int i, int j, int /*delflag*/)
{
  sample[j] = sample[i];
}

void FixNVDyn::set_arrays(int i)
{
  sample[i] = -1;
}

int FixNVDyn::pack_exchange(int i, double *buf)
{
  buf[0] = ubuf(sample[i]).d;
  return 1;
}

int FixNVDyn::unpack_exchange(int nlocal, double *buf)
{
  sample[nlocal] = (int) ubuf(buf[0]).i;
  return 1;
}

double FixNVDyn::memory_usage()
{
  return (double) atom->nmax * sizeof(int) +
      (double) nsamples * (sizeof(tagint) + 2 * sizeof(int) + sizeof(int64_t));
}
