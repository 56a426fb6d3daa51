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
#include "nvdyn_lammps_compat.h"
#include "nvdyn_output.h"

#include "atom.h"
#include "comm.h"
#include "compute.h"
#include "compute_chunk_atom.h"
#include "domain.h"
#include "error.h"
#include "force.h"
#include "group.h"
#include "memory.h"
#include "modify.h"
#include "neighbor.h"
#include "update.h"
#include "utils.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>

using namespace LAMMPS_NS;
using namespace FixConst;

// MAX_GROUP of group.cpp, which no LAMMPS header exports
static constexpr int LAMMPS_MAX_GROUP = 32;

// columns of the per-sample array
enum {
  COL_ID,
  COL_STAGE,
  COL_STEPS,
  COL_ENERGY,
  COL_FMAX,
  COL_OUTCOME,
  COL_ATOMS,
  COL_TEMP,
  COL_REASON,
  NCOLS
};

namespace {

// Parse an integer value of keyword `what` (>= lo), naming both on error.
bigint parse_int(Error *error, const std::string &what, const char *str, bigint lo)
{
  char *end = nullptr;
  errno = 0;
  long long val = strtoll(str, &end, 10);
  if (end == str || *end != '\0' || errno == ERANGE)
    error->all(FLERR, "Fix nvdyn: {} expects an integer, got '{}'", what, str);
  if (val < lo) error->all(FLERR, "Fix nvdyn: {} must be >= {}, got {}", what, lo, str);
  return (bigint) val;
}

// Parse a finite real value of keyword `what`, naming both on error; the
// C core checks the ranges.
double parse_real(Error *error, const std::string &what, const char *str)
{
  char *end = nullptr;
  errno = 0;
  double val = strtod(str, &end);
  if (end == str || *end != '\0' || errno == ERANGE || !std::isfinite(val))
    error->all(FLERR, "Fix nvdyn: {} expects a number, got '{}'", what, str);
  return val;
}

bool parse_yesno(Error *error, const std::string &what, const char *str)
{
  if (strcmp(str, "yes") == 0) return true;
  if (strcmp(str, "no") == 0) return false;
  error->all(FLERR, "Fix nvdyn: {} expects yes or no, got '{}'", what, str);
  return false;
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

const char *const top_keywords[] = {"samples", "stage",    "done",   "failed", "timeout",
                                    "sink",    "elements", "log",    "nan",    "fclamp",
                                    "append",  "escape",   "maxmove"};

bool is_top_keyword(const char *arg)
{
  for (const char *k : top_keywords)
    if (strcmp(arg, k) == 0) return true;
  return false;
}

// Arguments after a stage's style, in order (style -> C core parameters).
const std::map<std::string, std::vector<std::string>> style_args = {
    {"fire", {}},
    {"fire/ase", {}},
    {"nve", {}},
    {"langevin", {"temp", "damp", "seed"}},
    {"csvr", {"temp", "damp", "seed"}},
    {"nhc", {"temp", "damp"}}};

// Stage keywords with one value, passed to the C core under the same name,
// which checks ranges and whether the keyword applies to the style.
enum ValueKind { REAL, INTEGER, YESNO };
const std::map<std::string, ValueKind> stage_keywords = {
    {"dt", REAL},           {"every", INTEGER},  {"maxsteps", INTEGER},   {"extra_dof", INTEGER},
    {"drift", REAL},        {"chain", INTEGER},  {"tmax", REAL},          {"tmin", REAL},
    {"delaystep", INTEGER}, {"dtgrow", REAL},    {"dtshrink", REAL},      {"alpha0", REAL},
    {"alphashrink", REAL},  {"vdfmax", INTEGER}, {"halfstepback", YESNO}, {"initialdelay", YESNO},
    {"dmax", REAL},         {"maxstep", REAL},   {"dtmax", REAL},         {"nmin", INTEGER},
    {"finc", REAL},         {"fdec", REAL},      {"astart", REAL},        {"fa", REAL}};

const char *outcome_name(int outcome)
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

}    // namespace

struct FixNVDyn::StageArg {
  std::string name, style;
  std::vector<std::pair<std::string, double>> params, until;
};

/* ---------------------------------------------------------------------- */

FixNVDyn::FixNVDyn(LAMMPS *lmp, int narg, char **arg) :
    Fix(lmp, narg, arg), external_compute_hooks(false), engine(nullptr), nstages(0),
    group_bits_all(0), frozen_bit(0), sample(nullptr), nsamples(0), values_step(-1),
    step_start(0.0), c_pe(nullptr), pe_step(-1), nan_mode(NAN_FAIL), sink_flag(false), log_every(0),
    exclude_frozen(false), total_atoms(0), frozen_listed(0), isolate_molecules(false),
    isolation_said(false), escape_arg(-1.0), maxmove_arg(-1.0), escape_margin(0.0),
    first_step(false), restart_failed(false), in_step(false)
{
  if (narg < 4) error->all(FLERR, "Fix nvdyn: expected 'samples' and at least one 'stage'");

  // parse everything first, create groups, computes, files and the engine
  // last, so that a bad argument leaves nothing behind

  std::vector<StageArg> stages;
  SampleMode sample_mode = SAMPLES_ALL;
  std::string chunk_id;    // compute chunk/atom ID for SAMPLES_CHUNK
  std::string outcome_groups[3] = {"done", "failed", "timeout"};
  std::string sink_file, log_file;
  double fclamp = 0.0;
  bool append = false;

  int iarg = 3;
  auto need = [&](int n) {
    if (iarg + n >= narg)
      error->all(FLERR, "Fix nvdyn: {} needs {} value{}", arg[iarg], n, n > 1 ? "s" : "");
  };
  while (iarg < narg) {
    if (strcmp(arg[iarg], "samples") == 0) {
      need(1);
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
      parse_stage(narg, arg, iarg, stages);
    } else if (strcmp(arg[iarg], "done") == 0 || strcmp(arg[iarg], "failed") == 0 ||
               strcmp(arg[iarg], "timeout") == 0) {
      need(1);
      const int k = arg[iarg][0] == 'd' ? 0 : (arg[iarg][0] == 'f' ? 1 : 2);
      outcome_groups[k] = arg[iarg + 1];
      iarg += 2;
    } else if (strcmp(arg[iarg], "sink") == 0) {
      need(1);
      sink_file = arg[iarg + 1];
      iarg += 2;
    } else if (strcmp(arg[iarg], "elements") == 0) {
      need(atom->ntypes);
      elements.assign(arg + iarg + 1, arg + iarg + 1 + atom->ntypes);
      iarg += 1 + atom->ntypes;
      for (const auto &e : elements)
        if (!NVDynOutput::is_chemical_symbol(e))
          error->all(FLERR, "Fix nvdyn: elements: '{}' is not a chemical symbol (H to Og, or X)",
                     e);
    } else if (strcmp(arg[iarg], "log") == 0) {
      need(3);
      log_file = arg[iarg + 1];
      if (strcmp(arg[iarg + 2], "every") != 0)
        error->all(FLERR, "Fix nvdyn: log {} must be followed by 'every N', got '{}'", log_file,
                   arg[iarg + 2]);
      log_every = parse_int(error, "log every", arg[iarg + 3], 1);
      iarg += 4;
    } else if (strcmp(arg[iarg], "nan") == 0) {
      need(1);
      const char *val = arg[iarg + 1];
      if (strcmp(val, "fail") == 0)
        nan_mode = NAN_FAIL;
      else if (strcmp(val, "stop") == 0)
        nan_mode = NAN_STOP;
      else if (strcmp(val, "off") == 0)
        nan_mode = NAN_OFF;
      else
        error->all(FLERR, "Fix nvdyn: nan must be fail, stop or off, got '{}'", val);
      iarg += 2;
    } else if (strcmp(arg[iarg], "fclamp") == 0) {
      need(1);
      fclamp = parse_real(error, "fclamp", arg[iarg + 1]);
      iarg += 2;
    } else if (strcmp(arg[iarg], "append") == 0) {
      need(1);
      append = parse_yesno(error, "append", arg[iarg + 1]);
      iarg += 2;
    } else if (strcmp(arg[iarg], "escape") == 0 || strcmp(arg[iarg], "maxmove") == 0) {
      need(1);
      double &val = arg[iarg][0] == 'e' ? escape_arg : maxmove_arg;
      if (strcmp(arg[iarg + 1], "off") == 0) {
        val = 0.0;
      } else {
        val = parse_real(error, arg[iarg], arg[iarg + 1]);
        if (val <= 0.0)
          error->all(FLERR, "Fix nvdyn: {} must be a distance > 0 or off, got {}", arg[iarg],
                     arg[iarg + 1]);
      }
      iarg += 2;
    } else {
      error->all(FLERR, "Fix nvdyn: unknown keyword '{}'", arg[iarg]);
    }
  }

  if (stages.empty()) error->all(FLERR, "Fix nvdyn: at least one stage is required");
  if (!elements.empty() && sink_file.empty())
    error->all(FLERR, "Fix nvdyn: elements is used only with sink");
  nstages = (int) stages.size();

  // group names: valid IDs, not 'all' nor the fix group nor the reserved
  // frozen group, distinct, not used by another fix nvdyn. An existing
  // group (from a restart file, or an earlier fix nvdyn) is taken only if
  // all its atoms are in the fix group: the fix sets the membership of its
  // atoms only, and another atom in a stage or the frozen group would stay
  // there (frozen: without pair forces)

  const std::string frozen_name = std::string(id) + "_frozen";
  for (const auto &st : stages) group_names.push_back(st.name);
  for (const auto &g : outcome_groups) group_names.push_back(g);
  group_names.push_back(frozen_name);
  int ncreate = 0;
  for (size_t i = 0; i < group_names.size(); i++) {
    const std::string &name = group_names[i];
    const char *what = i < (size_t) nstages ? "stage name"
        : i == (size_t) nstages             ? "done group"
        : i == (size_t) nstages + 1         ? "failed group"
        : i == (size_t) nstages + 2         ? "timeout group"
                                            : "frozen group";
    if (!utils::is_id(name))
      error->all(FLERR, "Fix nvdyn: {} '{}' is not a valid group name", what, name);
    if (name == "all" || name == group->names[igroup])
      error->all(FLERR, "Fix nvdyn: {} '{}' would replace group '{}'", what, name, name);
    if (name == frozen_name && i + 1 < group_names.size())
      error->all(FLERR, "Fix nvdyn: {} '{}' is reserved for the frozen atoms of fix {}", what, name,
                 id);
    for (size_t j = 0; j < i; j++)
      if (group_names[j] == name) error->all(FLERR, "Fix nvdyn: name '{}' is used twice", name);
    for (int f = 0; f < modify->nfix; f++) {
      auto other = dynamic_cast<FixNVDyn *>(modify->fix[f]);
      if (other && strcmp(other->id, id) != 0 &&
          std::count(other->group_names.begin(), other->group_names.end(), name))
        error->all(FLERR, "Fix nvdyn: {} '{}' is a group of fix nvdyn {}", what, name, other->id);
    }
    const int g = group->find(name);
    if (g < 0) {
      ncreate++;
      continue;
    }
    bigint mine = 0, outside = 0;
    for (int i = 0; i < atom->nlocal; i++)
      mine += (atom->mask[i] & group->bitmask[g]) && !(atom->mask[i] & groupbit);
    MPI_Allreduce(&mine, &outside, 1, MPI_LMP_BIGINT, MPI_SUM, world);
    if (outside)
      error->all(FLERR,
                 "Fix nvdyn: {} '{}' is an existing group with {} atoms outside the fix group "
                 "'{}': choose another name",
                 what, name, outside, group->names[igroup]);
  }
  if (group->ngroup + ncreate > LAMMPS_MAX_GROUP)
    error->all(FLERR, "Fix nvdyn: {} more groups would exceed LAMMPS's limit of {} groups", ncreate,
               LAMMPS_MAX_GROUP);

  id_pe = std::string(id) + "_pe";
  if (modify->find_compute(id_pe) >= 0)
    error->all(FLERR, "Fix nvdyn {}: a compute with ID '{}' exists: the fix needs that ID", id,
               id_pe);

  // samples: the molecules / chunks present now (this may end in an error,
  // so it comes before anything is created)

  std::vector<int> local_sample;
  assign_samples(sample_mode, chunk_id, local_sample);
  for (int n : sample_natoms) total_atoms += n;
  sample_natoms0 = sample_natoms;
  escape_radius.assign(nsamples, NAN);

  engine = create_engine(stages, fclamp);    // checks stage styles and values

  // what a restart file must match (see restart())
  definition.push_back(fmt::format("fix group {}", group->names[igroup]));
  definition.push_back(sample_mode == SAMPLES_ALL            ? "samples all"
                           : sample_mode == SAMPLES_MOLECULE ? "samples molecule"
                                                             : "samples c_" + chunk_id);
  for (const auto &st : stages) {
    std::string text = "stage " + st.name + " " + st.style;
    for (const auto &p : st.params) text += fmt::format(" {} {:.17g}", p.first, p.second);
    if (!st.until.empty()) text += " until";
    for (const auto &c : st.until) text += fmt::format(" {} {:.17g}", c.first, c.second);
    definition.push_back(text);
  }

  // from here on nothing fails except file opening

  sink_flag = !sink_file.empty();
  open_output(sink_file, log_file, append);

  // samples finish through criteria, maxsteps, a drift monitor or FIRE's
  // uphill limit; with none of those, only a failed sample would be frozen
  // and the exclusion would cost every neighbor list build for nothing
  for (const auto &st : stages) {
    if (!st.until.empty() || st.style == "fire" || st.style == "fire/ase") exclude_frozen = true;
    for (const auto &p : st.params)
      if ((p.first == "maxsteps" || p.first == "drift") && p.second > 0.0) exclude_frozen = true;
  }
  create_groups();
  stage_seconds.assign(nstages, 0.0);
  stage_atoms.assign(nstages, 0.0);
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
  size_array_cols = NCOLS;
  extarray = 0;

  FixNVDyn::grow_arrays(atom->nmax);
  atom->add_callback(Atom::GROW);
  atom->add_callback(Atom::RESTART);
  std::copy(local_sample.begin(), local_sample.end(), sample);
  refresh_state();
  set_stage_masks();    // ghost atoms get theirs at the next setup

  if (comm->me == 0)
    utils::logmesg(lmp, "Fix nvdyn {}: {} samples, {} stages\n", id, nsamples, nstages);
}

/* ----------------------------------------------------------------------
   stage NAME STYLE [style args] [keyword value ...] [until criterion value ...]
------------------------------------------------------------------------- */

void FixNVDyn::parse_stage(int narg, char **arg, int &iarg, std::vector<StageArg> &stages)
{
  if (iarg + 2 >= narg) error->all(FLERR, "Fix nvdyn: stage needs a name and a style");
  StageArg st;
  st.name = arg[iarg + 1];
  st.style = arg[iarg + 2];
  iarg += 3;
  auto sa = style_args.find(st.style);
  if (sa == style_args.end())
    error->all(FLERR, "Fix nvdyn: stage {}: unknown stage style '{}'", st.name, st.style);
  const auto &names = sa->second;
  if (iarg + (int) names.size() > narg)
    error->all(FLERR, "Fix nvdyn: stage {}: style {} needs {} values ({})", st.name, st.style,
               names.size(), fmt::join(names, " "));
  for (const auto &name : names) {
    const std::string what = fmt::format("stage {} {} {}", st.name, st.style, name);
    double val = name == "seed" ? (double) parse_int(error, what, arg[iarg], 1)
                                : parse_real(error, what, arg[iarg]);
    st.params.emplace_back(name, val);
    iarg++;
  }

  while (iarg < narg && !is_top_keyword(arg[iarg])) {
    const std::string key = arg[iarg];
    const std::string what = fmt::format("stage {} {}", st.name, key);
    if (key == "until") {
      iarg++;
      int ncrit = 0;
      while (iarg < narg) {
        const std::string crit = arg[iarg];
        if (crit != "fmax" && crit != "de" && crit != "steps") break;
        if (iarg + 1 >= narg)
          error->all(FLERR, "Fix nvdyn: stage {} criterion {} needs a value", st.name, crit);
        const std::string cwhat = fmt::format("stage {} criterion {}", st.name, crit);
        double val = crit == "steps" ? (double) parse_int(error, cwhat, arg[iarg + 1], 1)
                                     : parse_real(error, cwhat, arg[iarg + 1]);
        st.until.emplace_back(crit, val);
        iarg += 2;
        ncrit++;
      }
      if (ncrit == 0)
        error->all(FLERR, "Fix nvdyn: stage {} has 'until' without criteria (fmax, de, steps)",
                   st.name);
    } else if (key == "velocity") {
      if (iarg + 2 >= narg)
        error->all(FLERR, "Fix nvdyn: stage {} velocity needs a temperature and a seed", st.name);
      st.params.emplace_back("velocity", parse_real(error, what, arg[iarg + 1]));
      st.params.emplace_back("velocity_seed",
                             (double) parse_int(error, what + " seed", arg[iarg + 2], 1));
      iarg += 3;
    } else if (stage_keywords.count(key)) {
      if (iarg + 1 >= narg) error->all(FLERR, "Fix nvdyn: stage {} {} needs a value", st.name, key);
      const ValueKind kind = stage_keywords.at(key);
      double val = kind == REAL ? parse_real(error, what, arg[iarg + 1])
          : kind == INTEGER     ? (double) parse_int(error, what, arg[iarg + 1], 0)
                                : (parse_yesno(error, what, arg[iarg + 1]) ? 1.0 : 0.0);
      st.params.emplace_back(key, val);
      iarg += 2;
    } else if (key == "fmax" || key == "de" || key == "steps") {
      error->all(FLERR, "Fix nvdyn: stage {}: criterion '{}' must follow 'until'", st.name, key);
    } else {
      error->all(FLERR, "Fix nvdyn: stage {} has unknown keyword '{}'", st.name, key);
    }
  }
  stages.push_back(st);
}

/* ----------------------------------------------------------------------
   the C core engine; it checks styles, parameter ranges and which
   parameters apply to which style
------------------------------------------------------------------------- */

nvdyn_engine *FixNVDyn::create_engine(const std::vector<StageArg> &stages, double fclamp)
{
  nvdyn_engine *eng = nullptr;
  if (nvdyn_engine_create(&eng) != NVDYN_OK) error->all(FLERR, "Fix nvdyn: out of memory");
  auto failed = [&](const std::string &context) {
    std::string msg = nvdyn_engine_last_error(eng);
    nvdyn_engine_destroy(eng);
    error->all(FLERR, "Fix nvdyn: {}{}", context, msg);
  };
  for (const auto &st : stages) {
    int index = -1;
    if (nvdyn_stage_add(eng, st.style.c_str(), &index) != NVDYN_OK)
      failed("stage " + st.name + ": ");
    for (const auto &p : st.params)
      if (nvdyn_stage_set(eng, index, p.first.c_str(), p.second) != NVDYN_OK)
        failed("stage " + st.name + " " + p.first + ": ");
    for (const auto &c : st.until)
      if (nvdyn_stage_until(eng, index, c.first.c_str(), c.second) != NVDYN_OK)
        failed("stage " + st.name + " criterion " + c.first + ": ");
  }
  if (nvdyn_engine_set(eng, "fclamp", fclamp) != NVDYN_OK) failed("fclamp: ");
  if (nvdyn_engine_set(eng, "dt", update->dt) != NVDYN_OK ||
      nvdyn_engine_set(eng, "nan", nan_mode == NAN_OFF ? 0.0 : 1.0) != NVDYN_OK ||
      nvdyn_engine_set_reduce(eng, reduce_over_ranks, &world) != NVDYN_OK)
    failed("");
  if (nvdyn_engine_set_nsamples(eng, nsamples) != NVDYN_OK) failed("");
  return eng;
}

/* ----------------------------------------------------------------------
   stage, outcome and frozen groups (existing ones are reused); the frozen
   atoms do not interact with each other: a neighbor exclusion
------------------------------------------------------------------------- */

void FixNVDyn::create_groups()
{
  for (const auto &name : group_names) {
    int g = group->find(name);
    if (g < 0) {
      group->assign(name + " empty");
      g = group->find(name);
    }
    group_index.push_back(g);
    group_bits_all |= group->bitmask[g];
  }
  frozen_bit = group->bitmask[group_index.back()];
  const std::string &frozen = group_names.back();
  if (exclude_frozen) neighbor->modify_params("exclude group " + frozen + " " + frozen);
  if (isolate_molecules)
    neighbor->modify_params(std::string("exclude molecule/inter ") + group->names[igroup]);
}

/* ----------------------------------------------------------------------
   the sink and the log; neither may be a file of another fix nvdyn
------------------------------------------------------------------------- */

void FixNVDyn::open_output(const std::string &sink_file, const std::string &log_file, bool append)
{
  std::vector<const NVDynOutput *> others;
  for (int f = 0; f < modify->nfix; f++)
    if (auto other = dynamic_cast<FixNVDyn *>(modify->fix[f]))
      others.push_back(other->outfiles.get());
  outfiles = std::make_unique<NVDynOutput>(lmp, id);
  const std::string message = outfiles->open(
      sink_file, log_file, append, "step,sample,stage,outcome,energy,fmax,temperature\n", others);
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
  nvdyn_engine_destroy(engine);
  if (modify->find_compute(id_pe) >= 0) modify->delete_compute(id_pe);
  // the groups stay (LAMMPS groups cannot be made to disappear), emptied,
  // so that a later fix nvdyn on other atoms may take them; the exclusions
  // go, unless 'neigh_modify exclude none' removed them already
  if (neighbor && !group_index.empty()) {    // neighbor is gone when LAMMPS is deleted
    const int g = group_index.back();
    int *mask = atom->mask;
    for (int i = 0; i < atom->nlocal + atom->nghost; i++) mask[i] &= ~group_bits_all;
    NVDYN_NS::remove_group_exclusion(neighbor, g, g);
    if (isolate_molecules) NVDYN_NS::remove_molecule_exclusion(neighbor, igroup);
  }
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

  // chunks without atoms (chunk/atom molecule numbers chunks up to the
  // largest molecule ID) are no samples; the fix group is not empty and
  // each of its atoms is in a sample: nsamples >= 1
  std::vector<int> count = count_sample_atoms(index.data(), (int) sample_ids.size());
  std::vector<int> renumber(sample_ids.size(), -1);
  nsamples = 0;
  for (size_t c = 0; c < sample_ids.size(); c++)
    if (count[c] > 0) {
      renumber[c] = nsamples;
      sample_ids[nsamples] = sample_ids[c];
      count[nsamples++] = count[c];
    }
  sample_ids.resize(nsamples);
  count.resize(nsamples);
  sample_natoms = count;
  for (int i = 0; i < nlocal; i++)
    if (index[i] >= 0) index[i] = renumber[index[i]];

  // samples that are whole molecules, each its own, are isolated by a
  // molecule exclusion (see setup())
  isolate_molecules = false;
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
}

/* ----------------------------------------------------------------------
   per sample, a hash of the IDs of its atoms (a sum of mixed IDs: the
   same on any number of ranks, in any order), over all ranks
------------------------------------------------------------------------- */

std::vector<uint64_t> FixNVDyn::membership_hashes()
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

std::vector<int> FixNVDyn::count_sample_atoms(const int *index, int n)
{
  std::vector<int> mine(n, 0), all(n, 0);
  for (int i = 0; i < atom->nlocal; i++)
    if (index[i] >= 0) mine[index[i]]++;
  MPI_Allreduce(mine.data(), all.data(), n, MPI_INT, MPI_SUM, world);
  return all;
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
  for (size_t k = 0; k < group_names.size(); k++)
    if (group->find(group_names[k]) != group_index[k])
      error->all(FLERR, "Fix nvdyn {}: its group '{}' was deleted", id, group_names[k]);
  c_pe = modify->compute[modify->find_compute(id_pe)];
  check(nvdyn_engine_set(engine, "dt", update->dt), "timestep");
  check(nvdyn_engine_set(engine, "ftm2v", force->ftm2v), "units");
  check(nvdyn_engine_set(engine, "mvv2e", force->mvv2e), "units");
  check(nvdyn_engine_set(engine, "boltz", force->boltz), "units");
  // an atom of an MD stage may move at most the neighbor skin in a step
  const double maxmove =
      maxmove_arg >= 0.0 ? maxmove_arg : (nan_mode == NAN_OFF ? 0.0 : neighbor->skin);
  check(nvdyn_engine_set(engine, "maxmove", maxmove), "maxmove");
}

/* ----------------------------------------------------------------------
   groups of all atoms, ghosts included; warn about atoms that joined the
   fix group after the fix was defined; energies for the first step
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
  check(nvdyn_engine_set_step(engine, update->ntimestep), "setup");
  say_isolation();
  // an atom further than the neighbor cutoff (known once the neighbor
  // lists are initialised) from its sample's extent has escaped
  escape_margin =
      escape_arg >= 0.0 ? escape_arg : (nan_mode == NAN_OFF ? 0.0 : neighbor->cutneighmax);

  // samples that lost atoms since the last run, escaped atoms (and the
  // samples' extents on their first check); the values are checked on the
  // first step, after every fix's setup has had its say on the forces
  refresh_state();
  const std::vector<int> before = sample_outcome;
  check_lost();
  check_escape();
  apply_changes(before, true);
  first_step = true;
  in_step = false;
  plan_step(update->ntimestep + 1);
  step_start = MPI_Wtime();
  frozen_listed = 0;    // the setup has built the neighbor lists
}

void FixNVDyn::post_neighbor()
{
  frozen_listed = 0;
  const std::vector<int> before = sample_outcome;
  check_lost();
  apply_changes(before, true);
}

// on reneighbor steps, before atoms are wrapped and exchanged
void FixNVDyn::pre_exchange()
{
  if (escape_margin <= 0.0) return;
  const std::vector<int> before = sample_outcome;
  check_escape();
  apply_changes(before, false);    // borders() takes the masks to the ghosts
}

/* ----------------------------------------------------------------------
   the current atom count of each sample; an active sample with fewer
   atoms than it was defined with fails (reason lost). A full count only
   when the total is short.
------------------------------------------------------------------------- */

void FixNVDyn::check_lost()
{
  bigint mine = 0, all = 0, expected = 0;
  for (int i = 0; i < atom->nlocal; i++) mine += sample[i] >= 0;
  MPI_Allreduce(&mine, &all, 1, MPI_LMP_BIGINT, MPI_SUM, world);
  for (int n : sample_natoms) expected += n;
  if (all == expected) return;
  sample_natoms = count_sample_atoms(sample, nsamples);
  for (int s = 0; s < nsamples; s++)
    if (sample_natoms[s] < sample_natoms0[s] && sample_outcome[s] == NVDYN_ACTIVE)
      check(nvdyn_sample_fail(engine, s, NVDYN_REASON_LOST), "lost atoms");
}

/* ----------------------------------------------------------------------
   escape guard: the distance of each atom from its sample's centre
   (unwrapped positions) may exceed the sample's extent at its first check
   by at most escape_margin; else the sample fails (reason escaped) before
   its atoms move again. Samples whose extent plus margin spans a periodic
   box length (a bulk sample) are not guarded.
------------------------------------------------------------------------- */

void FixNVDyn::check_escape()
{
  if (escape_margin <= 0.0) return;
  auto guarded = [&](int s) {
    return s >= 0 && sample_outcome[s] == NVDYN_ACTIVE && !(escape_radius[s] < 0.0);
  };
  const int nlocal = atom->nlocal;
  double **x = atom->x;
  std::vector<double> sum(4 * (size_t) nsamples, 0.0), r2(nsamples, 0.0);
  double xu[3];
  for (int i = 0; i < nlocal; i++) {
    if (!guarded(sample[i])) continue;
    domain->unmap(x[i], atom->image[i], xu);
    double *c = &sum[4 * sample[i]];
    for (int k = 0; k < 3; k++) c[k] += xu[k];
    c[3] += 1.0;
  }
  MPI_Allreduce(MPI_IN_PLACE, sum.data(), 4 * nsamples, MPI_DOUBLE, MPI_SUM, world);
  for (int i = 0; i < nlocal; i++) {
    if (!guarded(sample[i])) continue;
    domain->unmap(x[i], atom->image[i], xu);
    const double *c = &sum[4 * sample[i]];
    double d2 = 0.0;
    for (int k = 0; k < 3; k++) d2 += (xu[k] - c[k] / c[3]) * (xu[k] - c[k] / c[3]);
    r2[sample[i]] = std::max(r2[sample[i]], d2);
  }
  MPI_Allreduce(MPI_IN_PLACE, r2.data(), nsamples, MPI_DOUBLE, MPI_MAX, world);
  const double *prd = domain->prd;
  const int *periodic = domain->periodicity;
  for (int s = 0; s < nsamples; s++) {
    if (!guarded(s) || sum[4 * s + 3] == 0.0) continue;
    const double r = sqrt(r2[s]);
    if (std::isnan(escape_radius[s])) {
      escape_radius[s] = r;
      for (int k = 0; k < 3; k++)
        if (periodic[k] && 2.0 * (r + escape_margin) >= prd[k]) escape_radius[s] = -1.0;
    } else if (r > escape_radius[s] + escape_margin) {
      check(nvdyn_sample_fail(engine, s, NVDYN_REASON_ESCAPED), "escape guard");
    }
  }
}

/* ----------------------------------------------------------------------
   after samples changed stage or outcome: groups (of ghosts too, by
   forward communication, if asked), and for the samples that finished
   since `before` (outcomes): neighbor list exclusion, sink, nan stop
------------------------------------------------------------------------- */

void FixNVDyn::apply_changes(const std::vector<int> &before, bool ghosts)
{
  refresh_state();
  set_stage_masks();
  if (ghosts) NVDYN_NS::forward_comm_fix(comm, this);
  std::vector<int> finished;
  for (int s = 0; s < nsamples; s++)
    if (before[s] == NVDYN_ACTIVE && sample_outcome[s] != NVDYN_ACTIVE) finished.push_back(s);
  if (finished.empty()) return;
  // frozen atoms leave the neighbor lists at the next rebuild; one is
  // forced once they are 5% of the samples' atoms
  for (int s : finished) frozen_listed += sample_natoms[s];
  if (exclude_frozen && frozen_listed >= 0.05 * total_atoms)
    next_reneighbor = update->ntimestep + 1;
  if (sink_flag) write_sink(finished);
  if (nan_mode == NAN_STOP)
    for (int s : finished)
      if (sample_outcome[s] == NVDYN_FAILED)
        error->all(FLERR,
                   "Fix nvdyn {}: sample {} failed on step {} (reason {}) and 'nan stop' is set",
                   id, sample_ids[s], update->ntimestep, nvdyn_reason_name(sample_reason[s]));
}

/* ----------------------------------------------------------------------
   say once, at the first setup, how the samples are kept apart
------------------------------------------------------------------------- */

void FixNVDyn::say_isolation()
{
  if (isolation_said || nsamples == 1) return;
  isolation_said = true;
  const bigint outside = atom->natoms - group->count(igroup);
  if (comm->me != 0) return;
  if (isolate_molecules)
    utils::logmesg(lmp,
                   "Fix nvdyn {}: samples are molecules: pairs of atoms of two samples are "
                   "excluded from the neighbor lists (neigh_modify exclude molecule/inter {})\n",
                   id, group->names[igroup]);
  else
    utils::logmesg(lmp,
                   "Fix nvdyn {}: samples are not single molecules: only their distance keeps "
                   "them apart (atoms of two samples within the cutoff interact)\n",
                   id);
  if (force->kspace)
    error->warning(FLERR, "Fix nvdyn {}: kspace style {} couples every sample with every other", id,
                   force->kspace_style);
  if (outside > 0)
    error->warning(FLERR, "Fix nvdyn {}: atoms outside the fix group interact with every sample",
                   id);
}

/* ----------------------------------------------------------------------
   what step `step` needs: per-atom energies when it checks samples or
   writes the log, refreshed values when it writes the log
------------------------------------------------------------------------- */

void FixNVDyn::plan_step(bigint step)
{
  int due = 0;
  check(nvdyn_checks_due(engine, &due), "checks");
  const bool log_due = log_every > 0 && step % log_every == 0;
  if (log_due) check(nvdyn_refresh_values(engine), "log");
  if (due || log_due) {
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
  if constexpr (sizeof(tagint) == sizeof(int64_t))
    a.id = reinterpret_cast<const int64_t *>(atom->tag);
  else
    a.id32 = reinterpret_cast<const int32_t *>(atom->tag);
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
    int nfailed = 0;
    const std::vector<int> before = sample_outcome;
    check(nvdyn_check_atoms(engine, &a, &nfailed), "first step");
    if (nfailed) apply_changes(before, true);
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
  std::fill(stage_atoms.begin(), stage_atoms.end(), 0.0);
  double active_atoms = 0.0;
  for (int s = 0; s < nsamples; s++)
    if (sample_outcome[s] == NVDYN_ACTIVE) {
      stage_atoms[sample_stage[s]] += sample_natoms[s];
      active_atoms += sample_natoms[s];
    }
  const double now = MPI_Wtime();
  if (active_atoms > 0.0)
    for (int k = 0; k < nstages; k++)
      stage_seconds[k] += (now - step_start) * stage_atoms[k] / active_atoms;
  step_start = now;

  nvdyn_atoms a;
  fill_atoms(a);
  if (pe_step == ntimestep) {
    if (c_pe->invoked_peratom != ntimestep) c_pe->compute_peratom();
    a.pe = c_pe->vector_atom;
  }
  int changed = 0;
  check(nvdyn_end_step(engine, &a, &changed), "end_of_step");
  if (changed)
    apply_changes(std::vector<int>(sample_outcome), true);    // outcomes before the step
  else
    refresh_state();
  if (log_every > 0 && ntimestep % log_every == 0) write_log();
  plan_step(ntimestep + 1);
}

void FixNVDyn::refresh_state()
{
  sample_stage.resize(nsamples);
  sample_steps.resize(nsamples);
  sample_outcome.resize(nsamples);
  sample_reason.resize(nsamples);
  check(nvdyn_get_sample_reasons(engine, sample_reason.data()), "reasons");
  check(nvdyn_get_sample_stages(engine, sample_stage.data()), "stages");
  check(nvdyn_get_sample_steps(engine, sample_steps.data()), "steps");
  check(nvdyn_get_sample_outcomes(engine, sample_outcome.data()), "outcomes");
  values_step = -1;
}

// the per-sample values, fetched from the engine at most once per step
void FixNVDyn::refresh_values()
{
  if (values_step == update->ntimestep && !sample_energy.empty()) return;
  sample_energy.resize(nsamples);
  sample_fmax.resize(nsamples);
  sample_temp.resize(nsamples);
  check(nvdyn_get_sample_values(engine, NVDYN_VALUE_ENERGY, sample_energy.data()), "values");
  check(nvdyn_get_sample_values(engine, NVDYN_VALUE_FMAX, sample_fmax.data()), "values");
  check(nvdyn_get_sample_values(engine, NVDYN_VALUE_TEMPERATURE, sample_temp.data()), "values");
  values_step = update->ntimestep;
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
  std::vector<StageSummary> table(nstages);
  std::vector<int64_t> steps(nstages);
  std::vector<double> total(nstages, 0.0);
  for (int k = 0; k < nstages; k++) table[k] = {group_names[k], 0, 0.0, 0, 0, 0, stage_seconds[k]};
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
   the group of a sample's atoms: its stage while active, else the group
   of its outcome
------------------------------------------------------------------------- */

int FixNVDyn::group_of_sample(int s) const
{
  switch (sample_outcome[s]) {
    case NVDYN_ACTIVE:
      return sample_stage[s];
    case NVDYN_DONE:
      return nstages;
    case NVDYN_FAILED:
      return nstages + 1;
    default:
      return nstages + 2;
  }
}

void FixNVDyn::set_stage_masks()
{
  int *mask = atom->mask;
  std::vector<int> bits(nsamples);
  for (int s = 0; s < nsamples; s++) {
    bits[s] = group->bitmask[group_index[group_of_sample(s)]];
    if (sample_outcome[s] != NVDYN_ACTIVE) bits[s] |= frozen_bit;
  }
  for (int i = 0; i < atom->nlocal; i++) {
    if (sample[i] < 0) {
      mask[i] &= ~group_bits_all;
      continue;
    }
    mask[i] = (mask[i] & ~group_bits_all) | bits[sample[i]];
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
   sink: one extended-XYZ frame per finished sample, atoms gathered on
   rank 0 and ordered by atom ID; positions unwrapped by image flags
------------------------------------------------------------------------- */

void FixNVDyn::write_sink(const std::vector<int> &finished)
{
  constexpr int NREC = 12;    // sample, tag, type, x[3], v[3], f[3]
  std::vector<int> order(nsamples, -1);
  for (size_t k = 0; k < finished.size(); k++) order[finished[k]] = (int) k;
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
  refresh_values();

  // the text of all frames, written at once (rank 0)
  std::string text;
  if (comm->me == 0) {
    const size_t nrec = all.size() / NREC;
    std::vector<size_t> idx(nrec);
    for (size_t r = 0; r < nrec; r++) idx[r] = r;
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
      return std::make_pair(all[a * NREC], all[a * NREC + 1]) <
          std::make_pair(all[b * NREC], all[b * NREC + 1]);
    });
    const std::string lattice =
        fmt::format("Lattice=\"{:.10g} 0 0 {:.10g} {:.10g} 0 {:.10g} {:.10g} {:.10g}\"",
                    domain->xprd, domain->xy, domain->yprd, domain->xz, domain->yz, domain->zprd);
    const std::string pbc =
        fmt::format("pbc=\"{} {} {}\"", domain->xperiodic ? 'T' : 'F',
                    domain->yperiodic ? 'T' : 'F', domain->zperiodic ? 'T' : 'F');
    auto out = std::back_inserter(text);
    std::vector<int64_t> steps(nstages);
    size_t r = 0;
    for (size_t k = 0; k < finished.size(); k++) {
      const int s = finished[k];
      size_t end = r;
      while (end < nrec && all[idx[end] * NREC] == (double) k) end++;
      nvdyn_get_sample_stage_steps(engine, s, steps.data());
      fmt::format_to(
          out,
          "{}\n{} Properties=species:S:1:pos:R:3:velocities:R:3:forces:R:3:id:I:1:type:I:1 "
          "sample={} outcome={} reason={} energy={:.16g} fmax={:.16g} stage_steps=\"{}\" "
          "step={} {}\n",
          end - r, lattice, sample_ids[s], outcome_name(sample_outcome[s]),
          nvdyn_reason_name(sample_reason[s]), sample_energy[s], sample_fmax[s],
          fmt::join(steps, " "), update->ntimestep, pbc);
      for (; r < end; r++) {
        const double *rec = &all[idx[r] * NREC];
        const int type = (int) rec[2];
        fmt::format_to(
            out,
            "{} {:.16g} {:.16g} {:.16g} {:.16g} {:.16g} {:.16g} {:.16g} {:.16g} {:.16g} {} {}\n",
            elements.empty() ? std::string("X") : elements[type - 1], rec[3], rec[4], rec[5],
            rec[6], rec[7], rec[8], rec[9], rec[10], rec[11], (tagint) rec[1], type);
      }
    }
  }
  outfiles->write(NVDynOutput::SINK, text);
}

/* ----------------------------------------------------------------------
   log: one CSV row per sample
------------------------------------------------------------------------- */

void FixNVDyn::write_log()
{
  refresh_values();
  if (!outfiles->is_open(NVDynOutput::LOG)) return;
  std::string text;
  if (comm->me == 0)
    for (int s = 0; s < nsamples; s++) {
      const std::string &stage = group_names[std::min(sample_stage[s], nstages)];
      fmt::format_to(std::back_inserter(text), "{},{},{},{},{:.16g},{:.16g},{:.16g}\n",
                     update->ntimestep, sample_ids[s], stage, outcome_name(sample_outcome[s]),
                     sample_energy[s], sample_fmax[s], sample_temp[s]);
    }
  outfiles->write(NVDynOutput::LOG, text);
}

/* ----------------------------------------------------------------------
   global vector: active samples in each stage, then done, failed, timed out
------------------------------------------------------------------------- */

double FixNVDyn::compute_vector(int n)
{
  int count = 0;
  for (int s = 0; s < nsamples; s++) count += group_of_sample(s) == n;
  return (double) count;
}

/* ----------------------------------------------------------------------
   per-sample array: sample ID, stage (1..nstages, nstages+1 = done),
   steps in the stage, energy, fmax, outcome, atoms, temperature, reason
------------------------------------------------------------------------- */

double FixNVDyn::compute_array(int i, int j)
{
  if (i < 0 || i >= nsamples) return 0.0;
  switch (j) {
    case COL_ID:
      return (double) sample_ids[i];
    case COL_STAGE:
      return (double) sample_stage[i] + 1.0;
    case COL_STEPS:
      return (double) sample_steps[i];
    case COL_ENERGY:
      refresh_values();
      return sample_energy[i];
    case COL_FMAX:
      refresh_values();
      return sample_fmax[i];
    case COL_OUTCOME:
      return (double) sample_outcome[i];
    case COL_ATOMS:
      return (double) sample_natoms[i];
    case COL_REASON:
      return (double) sample_reason[i];
    default:
      refresh_values();
      return sample_temp[i];
  }
}

/* ----------------------------------------------------------------------
   "engine": the nvdyn_engine of this fix, for library callers that add C
   hooks (nvdyn_hook_add) or read per-sample state
------------------------------------------------------------------------- */

void *FixNVDyn::extract(const char *name, int &dim)
{
  if (strcmp(name, "engine") == 0) {
    dim = 0;
    return engine;
  }
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

/* ----------------------------------------------------------------------
   restart: the global record (NVDynRestartRecord) holds, block after
   block, the samples and the engine's state, then the sizes of the output
   files; per atom, the sample index
------------------------------------------------------------------------- */

void FixNVDyn::write_restart(FILE *fp)
{
  const std::vector<uint64_t> membership = membership_hashes();    // collective
  size_t nstate = 0;
  check(nvdyn_state_size(engine, &nstate), "write_restart");
  std::vector<char> state(nstate);
  check(nvdyn_state_save(engine, state.data(), nstate), "write_restart");
  if (comm->me != 0) return;
  NVDynRestartRecord record;

  // samples, stages, wall time per stage, the engine's state
  record.put<int64_t>(nsamples);
  record.put<int64_t>(nstages);
  record.put<int64_t>((int64_t) nstate);
  record.put(sample_ids.data(), nsamples);
  record.put(stage_seconds.data(), nstages);
  record.put(state.data(), nstate);

  // output: the sizes of the sink and the log
  const NVDynOutput::Sizes sizes = outfiles->sizes();
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

void FixNVDyn::restart(char *buf)
{
  // an error below leaves this fix in Modify before Modify::add_fix() sets
  // its mask: the mask is set here, and the fix refuses to run until it
  // has continued from the restart file
  restart_failed = true;
  modify->fmask[modify->find_fix(id)] = setmask();
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
  if (!record.get(header, 3)) corrupt();
  if (header[0] != nsamples || header[1] != nstages)
    error->all(FLERR,
               "Fix nvdyn {}: the restart file holds {} samples in {} stages, the fix has {} in {}",
               id, header[0], header[1], nsamples, nstages);
  std::vector<tagint> ids(nsamples);
  if (!record.get(ids.data(), nsamples)) corrupt();
  if (ids != sample_ids)
    error->all(FLERR, "Fix nvdyn {}: the restart file holds other sample IDs than the fix", id);
  if (!record.get(stage_seconds.data(), nstages)) corrupt();
  const char *state = record.take((size_t) header[2]);    // nullptr if negative or too long
  if (!state) corrupt();

  // output: the sizes of the sink and the log
  NVDynOutput::Sizes sizes;
  if (!record.get(sizes.data(), sizes.size())) corrupt();

  // the fingerprint: the same definition (group, samples, stage styles and
  // parameters) and the same atoms in each sample
  int64_t nitems = 0;
  if (!record.get(&nitems, 1) || nitems < 0) corrupt();
  std::vector<std::string> saved;
  for (int64_t k = 0; k < nitems; k++) {
    int64_t len = 0;
    const char *text = record.get(&len, 1) && len >= 0 ? record.take((size_t) len) : nullptr;
    if (!text) corrupt();
    saved.emplace_back(text, (size_t) len);
  }
  std::vector<uint64_t> membership(nsamples);
  if (!record.get(membership.data(), membership.size()) || !record.at_end()) corrupt();
  for (size_t k = 0; k < std::max(saved.size(), definition.size()); k++) {
    const std::string was = k < saved.size() ? saved[k] : "nothing";
    const std::string is = k < definition.size() ? definition[k] : "nothing";
    if (was != is)
      error->all(FLERR,
                 "Fix nvdyn {}: the fix is not defined as in the restart file: there '{}', "
                 "here '{}'",
                 id, was, is);
  }
  const std::vector<uint64_t> now = membership_hashes();
  for (int s = 0; s < nsamples; s++)
    if (now[s] != membership[s])
      error->all(FLERR,
                 "Fix nvdyn {}: sample {} holds other atoms than in the restart file (atoms "
                 "reassigned to molecules or chunks, or added or deleted since)",
                 id, sample_ids[s]);

  if (nvdyn_state_load(engine, state, (size_t) header[2]) != NVDYN_OK)
    error->all(FLERR, "Fix nvdyn {}: cannot continue from the restart file: {}", id,
               nvdyn_engine_last_error(engine));
  refresh_state();
  set_stage_masks();
  outfiles->resume(sizes);
  restart_failed = false;
}

int FixNVDyn::pack_restart(int i, double *buf)
{
  buf[0] = 2;
  buf[1] = ubuf(sample[i]).d;
  return 2;
}

void FixNVDyn::unpack_restart(int nlocal, int nth)
{
  double **extra = atom->extra;
  int m = 0;
  for (int i = 0; i < nth; i++) m += static_cast<int>(extra[nlocal][m]);
  sample[nlocal] = (int) ubuf(extra[nlocal][m + 1]).i;
}

int FixNVDyn::size_restart(int /*nlocal*/)
{
  return 2;
}

int FixNVDyn::maxsize_restart()
{
  return 2;
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
      (double) nsamples * (sizeof(tagint) + 3 * sizeof(int) + sizeof(int64_t) + 3 * sizeof(double));
}
