/* ----------------------------------------------------------------------
   NVDYN: the argument grammar of fix nvdyn (see nvdyn_args.h).
------------------------------------------------------------------------- */

#include "nvdyn_args.h"

#include "nvdyn.h"
#include "nvdyn_lammps_compat.h"
#include "nvdyn_output.h"

#include "atom.h"
#include "comm.h"
#include "compute.h"
#include "error.h"
#include "lammps.h"
#include "modify.h"
#include "update.h"
#include "utils.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>

using namespace LAMMPS_NS;

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

const char *const top_keywords[] = {"samples", "stage",    "done",    "failed", "timeout",
                                    "sink",    "elements", "log",     "nan",    "fclamp",
                                    "append",  "escape",   "maxmove", "source", "atoms",
                                    "margin",  "rotate",   "refill",  "window"};

bool is_top_keyword(const char *arg)
{
  for (const char *k : top_keywords)
    if (strcmp(arg, k) == 0) return true;
  return false;
}

// The stage styles, parameters and criteria come from the C core's table
// (nvdyn_style_*, nvdyn_criterion_*): a style's required parameters, in
// table order, are its positional arguments; every other parameter of any
// style is a keyword with one value, which the core checks against the
// stage's style; velocity takes a temperature and a seed.

// the parameter of some style named `name`, if any
bool find_param(const std::string &name, nvdyn_param_desc &out)
{
  for (int s = 0; s < nvdyn_style_count(); s++) {
    nvdyn_style_desc d;
    nvdyn_style_info(s, &d);
    for (int k = 0; k < d.nparams; k++)
      if (nvdyn_style_param(s, k, &out) == NVDYN_OK && name == out.name) return true;
  }
  return false;
}

// a parameter that some style takes as a positional argument
bool is_positional(const std::string &name)
{
  for (int s = 0; s < nvdyn_style_count(); s++) {
    nvdyn_style_desc d;
    nvdyn_style_info(s, &d);
    nvdyn_param_desc p;
    for (int k = 0; k < d.nparams; k++)
      if (nvdyn_style_param(s, k, &p) == NVDYN_OK && p.required && name == p.name) return true;
  }
  return false;
}

bool find_criterion(const std::string &name, nvdyn_param_desc &out)
{
  for (int k = 0; k < nvdyn_criterion_count(); k++)
    if (nvdyn_criterion_info(k, &out) == NVDYN_OK && name == out.name) return true;
  return false;
}

std::string criterion_names()
{
  std::string names;
  nvdyn_param_desc p;
  for (int k = 0; k < nvdyn_criterion_count(); k++)
    if (nvdyn_criterion_info(k, &p) == NVDYN_OK) names += std::string(k ? ", " : "") + p.name;
  return names;
}

// a value of parameter or criterion p; integers must be >= lo
double parse_value(Error *error, const std::string &what, const char *str,
                   const nvdyn_param_desc &p, bigint lo)
{
  if (p.type == NVDYN_TYPE_FLAG) return parse_yesno(error, what, str) ? 1.0 : 0.0;
  if (p.type == NVDYN_TYPE_INTEGER) return (double) parse_int(error, what, str, lo);
  return parse_real(error, what, str);
}

// stage NAME STYLE [style args] [keyword value ...] [until criterion value ...]
NVDynConfig::Stage parse_stage(Error *error, int narg, char **arg, int &iarg)
{
  if (iarg + 2 >= narg) error->all(FLERR, "Fix nvdyn: stage needs a name and a style");
  NVDynConfig::Stage st;
  st.name = arg[iarg + 1];
  st.style = arg[iarg + 2];
  iarg += 3;
  const int style = nvdyn_style_index(st.style.c_str());
  if (style < 0)
    error->all(FLERR, "Fix nvdyn: stage {}: unknown stage style '{}'", st.name, st.style);
  nvdyn_style_desc sd;
  nvdyn_style_info(style, &sd);
  std::vector<nvdyn_param_desc> positional;
  std::vector<std::string> names;
  for (int k = 0; k < sd.nparams; k++) {
    nvdyn_param_desc p;
    if (nvdyn_style_param(style, k, &p) == NVDYN_OK && p.required) {
      positional.push_back(p);
      names.emplace_back(p.name);
    }
  }
  if (iarg + (int) positional.size() > narg)
    error->all(FLERR, "Fix nvdyn: stage {}: style {} needs {} values ({})", st.name, st.style,
               positional.size(), fmt::join(names, " "));
  for (const auto &p : positional) {
    const std::string what = fmt::format("stage {} {} {}", st.name, st.style, p.name);
    st.params.emplace_back(p.name, parse_value(error, what, arg[iarg], p, (bigint) p.lo));
    iarg++;
  }

  while (iarg < narg && !is_top_keyword(arg[iarg])) {
    const std::string key = arg[iarg];
    const std::string what = fmt::format("stage {} {}", st.name, key);
    if (key == "until") {
      iarg++;
      int ncrit = 0;
      nvdyn_param_desc c;
      while (iarg < narg && find_criterion(arg[iarg], c)) {
        const std::string crit = arg[iarg];
        if (iarg + 1 >= narg)
          error->all(FLERR, "Fix nvdyn: stage {} criterion {} needs a value", st.name, crit);
        const std::string cwhat = fmt::format("stage {} criterion {}", st.name, crit);
        st.until.emplace_back(crit, parse_value(error, cwhat, arg[iarg + 1], c, (bigint) c.lo));
        iarg += 2;
        ncrit++;
      }
      if (ncrit == 0)
        error->all(FLERR, "Fix nvdyn: stage {} has 'until' without criteria ({})", st.name,
                   criterion_names());
    } else if (key == "velocity") {
      if (iarg + 2 >= narg)
        error->all(FLERR, "Fix nvdyn: stage {} velocity needs a temperature and a seed", st.name);
      st.params.emplace_back("velocity", parse_real(error, what, arg[iarg + 1]));
      st.params.emplace_back("velocity_seed",
                             (double) parse_int(error, what + " seed", arg[iarg + 2], 1));
      iarg += 3;
    } else if (nvdyn_param_desc p;
               key != "velocity_seed" && !is_positional(key) && find_param(key, p)) {
      if (iarg + 1 >= narg) error->all(FLERR, "Fix nvdyn: stage {} {} needs a value", st.name, key);
      st.params.emplace_back(key, parse_value(error, what, arg[iarg + 1], p, 0));
      iarg += 2;
    } else if (nvdyn_param_desc c; find_criterion(key, c)) {
      error->all(FLERR, "Fix nvdyn: stage {}: criterion '{}' must follow 'until'", st.name, key);
    } else {
      error->all(FLERR, "Fix nvdyn: stage {} has unknown keyword '{}'", st.name, key);
    }
  }
  return st;
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

}    // namespace

NVDynConfig LAMMPS_NS::parse_nvdyn_args(LAMMPS *lmp, int narg, char **arg)
{
  Error *error = lmp->error;
  Atom *atom = lmp->atom;
  Modify *modify = lmp->modify;
  if (narg < 4) error->all(FLERR, "Fix nvdyn: expected 'samples' and at least one 'stage'");
  NVDynConfig c;
  int iarg = 3;
  bool samples_mode = false, samples_budget = false;
  auto need = [&](int n) {
    if (iarg + n >= narg)
      error->all(FLERR, "Fix nvdyn: {} needs {} value{}", arg[iarg], n, n > 1 ? "s" : "");
  };
  while (iarg < narg) {
    if (strcmp(arg[iarg], "samples") == 0) {
      need(1);
      const char *val = arg[iarg + 1];
      if (isdigit((unsigned char) val[0])) {
        // a sample budget (with a source)
        c.source.samples = (int) parse_int(error, "samples", val, 1);
        samples_budget = true;
      } else if (strcmp(val, "all") == 0) {
        c.sample_mode = NVDynConfig::SAMPLES_ALL;
      } else if (strcmp(val, "molecule") == 0) {
        if (!atom->molecule_flag)
          error->all(FLERR, "Fix nvdyn: samples molecule needs an atom style with molecule IDs");
        c.sample_mode = NVDynConfig::SAMPLES_MOLECULE;
      } else if (utils::strmatch(val, "^c_")) {
        c.chunk_id = val + 2;
        int icompute = modify->find_compute(c.chunk_id);
        if (icompute < 0)
          error->all(FLERR, "Fix nvdyn: samples compute ID '{}' does not exist", c.chunk_id);
        if (strcmp(modify->compute[icompute]->style, "chunk/atom") != 0)
          error->all(FLERR, "Fix nvdyn: samples compute '{}' is style '{}', not chunk/atom",
                     c.chunk_id, modify->compute[icompute]->style);
        c.sample_mode = NVDynConfig::SAMPLES_CHUNK;
      } else {
        error->all(FLERR, "Fix nvdyn: samples must be all, molecule or c_ID, got '{}'", val);
      }
      if (!isdigit((unsigned char) val[0])) samples_mode = true;
      iarg += 2;
    } else if (strcmp(arg[iarg], "stage") == 0) {
      c.stages.push_back(parse_stage(error, narg, arg, iarg));
    } else if (strcmp(arg[iarg], "done") == 0 || strcmp(arg[iarg], "failed") == 0 ||
               strcmp(arg[iarg], "timeout") == 0) {
      need(1);
      const int k = arg[iarg][0] == 'd' ? 0 : (arg[iarg][0] == 'f' ? 1 : 2);
      c.outcome_groups[k] = arg[iarg + 1];
      iarg += 2;
    } else if (strcmp(arg[iarg], "sink") == 0) {
      need(1);
      c.sink_file = arg[iarg + 1];
      iarg += 2;
    } else if (strcmp(arg[iarg], "elements") == 0) {
      need(atom->ntypes);
      c.elements.assign(arg + iarg + 1, arg + iarg + 1 + atom->ntypes);
      iarg += 1 + atom->ntypes;
      for (const auto &e : c.elements)
        if (!NVDynOutput::is_chemical_symbol(e))
          error->all(FLERR, "Fix nvdyn: elements: '{}' is not a chemical symbol (H to Og, or X)",
                     e);
    } else if (strcmp(arg[iarg], "log") == 0) {
      need(3);
      c.log_file = arg[iarg + 1];
      if (strcmp(arg[iarg + 2], "every") != 0)
        error->all(FLERR, "Fix nvdyn: log {} must be followed by 'every N', got '{}'", c.log_file,
                   arg[iarg + 2]);
      c.log_every = parse_int(error, "log every", arg[iarg + 3], 1);
      iarg += 4;
    } else if (strcmp(arg[iarg], "nan") == 0) {
      need(1);
      const char *val = arg[iarg + 1];
      if (strcmp(val, "fail") == 0)
        c.nan_mode = NVDynConfig::NAN_FAIL;
      else if (strcmp(val, "stop") == 0)
        c.nan_mode = NVDynConfig::NAN_STOP;
      else if (strcmp(val, "off") == 0)
        c.nan_mode = NVDynConfig::NAN_OFF;
      else
        error->all(FLERR, "Fix nvdyn: nan must be fail, stop or off, got '{}'", val);
      iarg += 2;
    } else if (strcmp(arg[iarg], "fclamp") == 0) {
      need(1);
      c.fclamp = parse_real(error, "fclamp", arg[iarg + 1]);
      iarg += 2;
    } else if (strcmp(arg[iarg], "append") == 0) {
      need(1);
      c.append = parse_yesno(error, "append", arg[iarg + 1]);
      iarg += 2;
    } else if (strcmp(arg[iarg], "escape") == 0 || strcmp(arg[iarg], "maxmove") == 0) {
      need(1);
      double &val = arg[iarg][0] == 'e' ? c.escape : c.maxmove;
      if (strcmp(arg[iarg + 1], "off") == 0) {
        val = 0.0;
      } else {
        val = parse_real(error, arg[iarg], arg[iarg + 1]);
        if (val <= 0.0)
          error->all(FLERR, "Fix nvdyn: {} must be a distance > 0 or off, got {}", arg[iarg],
                     arg[iarg + 1]);
      }
      iarg += 2;
    } else if (strcmp(arg[iarg], "source") == 0) {
      need(1);
      for (iarg++; iarg < narg && !is_top_keyword(arg[iarg]); iarg++)
        c.source.paths.emplace_back(arg[iarg]);
    } else if (strcmp(arg[iarg], "atoms") == 0) {
      need(1);
      c.source.atoms = parse_int(error, "atoms", arg[iarg + 1], 1);
      iarg += 2;
    } else if (strcmp(arg[iarg], "margin") == 0) {
      need(1);
      c.source.margin = parse_real(error, "margin", arg[iarg + 1]);
      if (c.source.margin <= 0.0)
        error->all(FLERR, "Fix nvdyn: margin must be a distance > 0, got {}", arg[iarg + 1]);
      iarg += 2;
    } else if (strcmp(arg[iarg], "rotate") == 0) {
      need(1);
      c.source.rotate_seed = strcmp(arg[iarg + 1], "no") == 0
          ? 0
          : (int) parse_int(error, "rotate (a seed or no)", arg[iarg + 1], 1);
      iarg += 2;
    } else if (strcmp(arg[iarg], "refill") == 0) {
      need(2);
      if (strcmp(arg[iarg + 1], "every") != 0)
        error->all(FLERR, "Fix nvdyn: refill must be followed by 'every N', got '{}'",
                   arg[iarg + 1]);
      c.source.every = parse_int(error, "refill every", arg[iarg + 2], 1);
      iarg += 3;
      if (iarg + 1 < narg && strcmp(arg[iarg], "free") == 0) {
        c.source.free = parse_real(error, "refill free", arg[iarg + 1]);
        if (c.source.free <= 0.0 || c.source.free > 1.0)
          error->all(FLERR, "Fix nvdyn: refill free must be a fraction in (0, 1], got {}",
                     arg[iarg + 1]);
        iarg += 2;
      }
    } else if (strcmp(arg[iarg], "window") == 0) {
      need(1);
      c.source.window = (int) parse_int(error, "window", arg[iarg + 1], 1);
      iarg += 2;
    } else {
      error->all(FLERR, "Fix nvdyn: unknown keyword '{}'", arg[iarg]);
    }
  }

  if (c.stages.empty()) error->all(FLERR, "Fix nvdyn: at least one stage is required");
  if (!c.elements.empty() && c.sink_file.empty() && !c.streaming())
    error->all(FLERR, "Fix nvdyn: elements is used only with sink or source");
  if (c.streaming()) {
    if (c.source.atoms == 0 && c.source.samples == 0)
      error->all(FLERR, "Fix nvdyn: source needs a budget: atoms N and/or samples N");
    if (c.escape >= 0.0)
      error->all(FLERR,
                 "Fix nvdyn: with a source, the escape guard's margin is the placement margin: "
                 "use margin instead of escape");
    const auto &paths = c.source.paths;
    if (std::find(paths.begin(), paths.end(), "molecule") != paths.end()) {
      // source molecule ID N: N copies of a molecule template
      if (paths.size() != 3 || paths[0] != "molecule")
        error->all(FLERR,
                   "Fix nvdyn: source molecule must be followed by a template ID and a "
                   "count, and nothing else");
      if (lmp->atom->find_molecule(const_cast<char *>(paths[1].c_str())) < 0)
        error->all(FLERR, "Fix nvdyn: source molecule: no molecule template '{}'", paths[1]);
      parse_int(error, "source molecule " + paths[1], paths[2].c_str(), 1);
    }
    // the samples already in the input: molecules where atoms have molecule IDs
    if (!samples_mode && atom->molecule_flag) c.sample_mode = NVDynConfig::SAMPLES_MOLECULE;
  } else {
    const char *unused = samples_budget               ? "samples N"
        : c.source.atoms                              ? "atoms"
        : c.source.margin > 0.0                       ? "margin"
        : c.source.rotate_seed                        ? "rotate"
        : c.source.window != 64                       ? "window"
        : c.source.every != 10 || c.source.free > 0.0 ? "refill"
                                                      : nullptr;
    if (unused) error->all(FLERR, "Fix nvdyn: {} is used only with source", unused);
  }
  return c;
}

std::vector<std::string> NVDynConfig::definition(const std::string &fix_group) const
{
  std::vector<std::string> definition;
  definition.push_back("fix group " + fix_group);
  definition.push_back(sample_mode == SAMPLES_ALL            ? "samples all"
                           : sample_mode == SAMPLES_MOLECULE ? "samples molecule"
                                                             : "samples c_" + chunk_id);
  if (streaming()) {
    std::string text = "source";
    for (const auto &path : source.paths) text += " " + path;
    definition.push_back(text);
  }
  for (const auto &st : stages) {
    std::string text = "stage " + st.name + " " + st.style;
    for (const auto &p : st.params) text += fmt::format(" {} {:.17g}", p.first, p.second);
    if (!st.until.empty()) text += " until";
    for (const auto &c : st.until) text += fmt::format(" {} {:.17g}", c.first, c.second);
    definition.push_back(text);
  }
  return definition;
}

nvdyn_engine *LAMMPS_NS::create_nvdyn_engine(LAMMPS *lmp, const NVDynConfig &c, int nsamples,
                                             MPI_Comm *world)
{
  Error *error = lmp->error;
  nvdyn_engine *eng = nullptr;
  if (nvdyn_engine_create(&eng) != NVDYN_OK) error->all(FLERR, "Fix nvdyn: out of memory");
  auto failed = [&](const std::string &context) {
    std::string msg = nvdyn_engine_last_error(eng);
    nvdyn_engine_destroy(eng);
    error->all(FLERR, "Fix nvdyn: {}{}", context, msg);
  };
  for (const auto &st : c.stages) {
    int index = -1;
    if (nvdyn_stage_add(eng, st.style.c_str(), &index) != NVDYN_OK)
      failed("stage " + st.name + ": ");
    for (const auto &p : st.params)
      if (nvdyn_stage_set(eng, index, p.first.c_str(), p.second) != NVDYN_OK)
        failed("stage " + st.name + " " + p.first + ": ");
    for (const auto &u : st.until)
      if (nvdyn_stage_until(eng, index, u.first.c_str(), u.second) != NVDYN_OK)
        failed("stage " + st.name + " criterion " + u.first + ": ");
  }
  if (nvdyn_engine_set(eng, "fclamp", c.fclamp) != NVDYN_OK) failed("fclamp: ");
  if (nvdyn_engine_set(eng, "dt", lmp->update->dt) != NVDYN_OK ||
      nvdyn_engine_set(eng, "nan", c.nan_mode == NVDynConfig::NAN_OFF ? 0.0 : 1.0) != NVDYN_OK ||
      nvdyn_engine_set_reduce(eng, lmp->comm->nprocs > 1 ? reduce_over_ranks : nullptr, world) !=
          NVDYN_OK)
    failed("");    // (on one rank the sums are complete: no reduction)
  if (nvdyn_engine_set_nsamples(eng, nsamples) != NVDYN_OK) failed("");
  return eng;
}
