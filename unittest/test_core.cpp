// Tests of the NVDYN C core through its public C ABI only (no LAMMPS, no MPI).
#include "nvdyn.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Engine {
  nvdyn_engine *e = nullptr;
  Engine() { EXPECT_EQ(nvdyn_engine_create(&e), NVDYN_OK); }
  ~Engine() { nvdyn_engine_destroy(e); }
  std::string err() const { return nvdyn_engine_last_error(e); }
};

// natoms atoms in interleaved (x0 y0 z0 x1 ...) or blocked (x0 x1 ... y0 ...) layout
struct Atoms {
  int n;
  bool blocked;
  std::vector<double> x, v, f, mass;
  std::vector<int> type, sample;
  Atoms(int natoms, bool blocked_layout) :
      n(natoms), blocked(blocked_layout), x(3 * natoms), v(3 * natoms),
      f(3 * natoms), mass{0.0, 2.0}, type(natoms, 1), sample(natoms, 0)
  {
  }
  double &at(std::vector<double> &a, int i, int k) { return blocked ? a[k * n + i] : a[3 * i + k]; }
  nvdyn_view3 view(std::vector<double> &a)
  {
    return blocked ? nvdyn_view3{a.data(), 1, n} : nvdyn_view3{a.data(), 3, 1};
  }
  nvdyn_atoms atoms()
  {
    nvdyn_atoms a{};
    a.natoms = n;
    a.x = view(x);
    a.v = view(v);
    a.f = view(f);
    a.rmass = nullptr;
    a.type_mass = mass.data();
    a.type = type.data();
    a.ntypes = 1;
    a.sample = sample.data();
    return a;
  }
};

// one nve stage without criteria, a time step, samples
void setup_nve(nvdyn_engine *e, double dt, double ftm2v, int nsamples)
{
  ASSERT_EQ(nvdyn_stage_add(e, "nve", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set(e, "dt", dt), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set(e, "ftm2v", ftm2v), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_nsamples(e, nsamples), NVDYN_OK);
}

void step(nvdyn_engine *e, Atoms &at, int *moved = nullptr)
{
  nvdyn_atoms a = at.atoms();
  ASSERT_EQ(nvdyn_pre_update(e, &a), NVDYN_OK) << nvdyn_engine_last_error(e);
  ASSERT_EQ(nvdyn_post_update(e, &a), NVDYN_OK) << nvdyn_engine_last_error(e);
  ASSERT_EQ(nvdyn_end_step(e, &a, moved), NVDYN_OK) << nvdyn_engine_last_error(e);
}

}    // namespace

TEST(Core, AbiVersion)
{
  EXPECT_EQ(nvdyn_abi_version(), NVDYN_ABI_VERSION);
}

// Velocity Verlet is exact for a constant force: x(t) = x0 + v0 t + a t^2 / 2.
TEST(Core, NveExactUnderConstantForce)
{
  for (bool blocked : {false, true}) {
    Engine en;
    setup_nve(en.e, 0.01, 1.0, 1);
    Atoms at(3, blocked);
    for (int i = 0; i < 3; i++)
      for (int k = 0; k < 3; k++) {
        at.at(at.x, i, k) = i + 0.1 * k;
        at.at(at.v, i, k) = 0.5 - 0.2 * k;
        at.at(at.f, i, k) = 1.0 + i - k;    // mass 2
      }
    const int nsteps = 1000;
    for (int s = 0; s < nsteps; s++) step(en.e, at);
    const double t = 0.01 * nsteps;
    for (int i = 0; i < 3; i++)
      for (int k = 0; k < 3; k++) {
        double a = (1.0 + i - k) / 2.0;
        double expect = i + 0.1 * k + (0.5 - 0.2 * k) * t + 0.5 * a * t * t;
        EXPECT_NEAR(at.at(at.x, i, k), expect, 1e-10 * std::max(1.0, std::fabs(expect)));
        EXPECT_NEAR(at.at(at.v, i, k), 0.5 - 0.2 * k + a * t, 1e-11);
      }
  }
}

// ftm2v scales the kick exactly like LAMMPS's force->ftm2v does in fix nve.
TEST(Core, UnitFactorScalesKick)
{
  Engine en;
  setup_nve(en.e, 0.5, 4.0, 1);
  Atoms at(1, false);
  at.f = {2.0, 0.0, 0.0};
  nvdyn_atoms a = at.atoms();
  ASSERT_EQ(nvdyn_pre_update(en.e, &a), NVDYN_OK);
  EXPECT_DOUBLE_EQ(at.v[0], 0.5 * 0.5 * 4.0 * 2.0 / 2.0);    // dt/2 * ftm2v * f / m
  EXPECT_DOUBLE_EQ(at.x[0], 0.5 * at.v[0]);
}

// Per-atom masses (rmass) take precedence over per-type masses.
TEST(Core, PerAtomMass)
{
  Engine en;
  setup_nve(en.e, 1.0, 1.0, 1);
  Atoms at(2, false);
  at.f = {1.0, 0, 0, 1.0, 0, 0};
  std::vector<double> rmass = {0.5, 4.0};
  nvdyn_atoms a = at.atoms();
  a.rmass = rmass.data();
  ASSERT_EQ(nvdyn_post_update(en.e, &a), NVDYN_OK);
  EXPECT_DOUBLE_EQ(at.v[0], 1.0);
  EXPECT_DOUBLE_EQ(at.v[3], 0.125);
}

// Samples leave each stage after exactly its step count; done samples and
// atoms outside the engine are never touched.
TEST(Core, StagesHandOverAfterExactSteps)
{
  Engine en;
  int s0 = -1, s1 = -1;
  ASSERT_EQ(nvdyn_stage_add(en.e, "nve", &s0), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_add(en.e, "nve", &s1), NVDYN_OK);
  EXPECT_EQ(s0, 0);
  EXPECT_EQ(s1, 1);
  ASSERT_EQ(nvdyn_stage_until(en.e, 0, "steps", 7), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until(en.e, 1, "steps", 3), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set(en.e, "dt", 0.1), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_nsamples(en.e, 2), NVDYN_OK);
  int nstages = 0, nsamples = 0;
  ASSERT_EQ(nvdyn_engine_nstages(en.e, &nstages), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_nsamples(en.e, &nsamples), NVDYN_OK);
  EXPECT_EQ(nstages, 2);
  EXPECT_EQ(nsamples, 2);
  Atoms at(3, false);
  at.sample = {0, 1, -1};
  at.v = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  std::vector<int> stages(2);
  std::vector<int64_t> steps(2);
  double x_done = 0.0;
  for (int t = 1; t <= 12; t++) {
    int moved = -1;
    step(en.e, at, &moved);
    ASSERT_EQ(nvdyn_get_sample_stages(en.e, stages.data()), NVDYN_OK);
    ASSERT_EQ(nvdyn_get_sample_steps(en.e, steps.data()), NVDYN_OK);
    int expect_stage = t < 7 ? 0 : (t < 10 ? 1 : 2);
    int64_t expect_steps = t < 7 ? t : (t < 10 ? t - 7 : 0);
    EXPECT_EQ(moved, (t == 7 || t == 10) ? 2 : 0) << "step " << t;
    for (int s = 0; s < 2; s++) {
      EXPECT_EQ(stages[s], expect_stage) << "step " << t;
      EXPECT_EQ(steps[s], expect_steps) << "step " << t;
    }
    if (t == 10) {
      EXPECT_NEAR(at.x[0], 1.0, 1e-12);    // ten drifts of 0.1 at v = 1
      x_done = at.x[0];
    }
  }
  // done since step 10: untouched afterwards; atom 2 never moved
  EXPECT_EQ(at.x[0], x_done);
  EXPECT_EQ(at.x[6], 0.0);
}

TEST(Core, StageWithoutCriteriaIsNeverLeft)
{
  Engine en;
  setup_nve(en.e, 0.1, 1.0, 1);
  Atoms at(1, false);
  for (int t = 0; t < 100; t++) step(en.e, at);
  int stage = -1;
  int64_t steps = -1;
  ASSERT_EQ(nvdyn_get_sample_stages(en.e, &stage), NVDYN_OK);
  ASSERT_EQ(nvdyn_get_sample_steps(en.e, &steps), NVDYN_OK);
  EXPECT_EQ(stage, 0);
  EXPECT_EQ(steps, 100);
}

TEST(Core, StatusStringsAreDistinct)
{
  const nvdyn_status all[] = {NVDYN_OK,        NVDYN_ERR_NULL,  NVDYN_ERR_VALUE, NVDYN_ERR_UNKNOWN,
                              NVDYN_ERR_STATE, NVDYN_ERR_NOMEM, NVDYN_ERR_ATOMS};
  for (auto a : all)
    for (auto b : all)
      if (a != b) EXPECT_STRNE(nvdyn_status_string(a), nvdyn_status_string(b));
  EXPECT_STREQ(nvdyn_status_string(NVDYN_OK), "ok");
}

TEST(Core, RejectsBadInput)
{
  EXPECT_EQ(nvdyn_engine_create(nullptr), NVDYN_ERR_NULL);
  EXPECT_EQ(nvdyn_stage_add(nullptr, "nve", nullptr), NVDYN_ERR_NULL);
  nvdyn_engine_destroy(nullptr);
  EXPECT_STRNE(nvdyn_engine_last_error(nullptr), "");

  Engine en;
  EXPECT_EQ(nvdyn_stage_add(en.e, nullptr, nullptr), NVDYN_ERR_NULL);
  EXPECT_EQ(nvdyn_stage_add(en.e, "langevn", nullptr), NVDYN_ERR_UNKNOWN);
  EXPECT_NE(en.err().find("unknown stage style 'langevn'"), std::string::npos) << en.err();
  EXPECT_EQ(nvdyn_engine_set_nsamples(en.e, 1), NVDYN_ERR_STATE);    // no stage yet
  EXPECT_NE(en.err().find("at least one stage"), std::string::npos) << en.err();
  ASSERT_EQ(nvdyn_stage_add(en.e, "nve", nullptr), NVDYN_OK);
  EXPECT_EQ(nvdyn_engine_set_nsamples(en.e, 1), NVDYN_ERR_STATE);    // no time step yet
  EXPECT_NE(en.err().find("no time step"), std::string::npos) << en.err();
  EXPECT_EQ(nvdyn_engine_set(en.e, "dt", -0.1), NVDYN_ERR_VALUE);
  EXPECT_NE(en.err().find("dt must be > 0"), std::string::npos) << en.err();
  EXPECT_EQ(nvdyn_engine_set(en.e, "dt", NAN), NVDYN_ERR_VALUE);
  EXPECT_EQ(nvdyn_engine_set(en.e, "ftm2v", 0.0), NVDYN_ERR_VALUE);
  EXPECT_EQ(nvdyn_engine_set(en.e, "fclamp", -1.0), NVDYN_ERR_VALUE);
  EXPECT_EQ(nvdyn_engine_set(en.e, "nan", 2.0), NVDYN_ERR_VALUE);
  EXPECT_EQ(nvdyn_engine_set(en.e, "temperature", 1.0), NVDYN_ERR_UNKNOWN);
  EXPECT_NE(en.err().find("unknown engine setting 'temperature'"), std::string::npos);
  EXPECT_EQ(nvdyn_engine_set(en.e, nullptr, 1.0), NVDYN_ERR_NULL);
  EXPECT_EQ(nvdyn_engine_set_step(en.e, -1), NVDYN_ERR_VALUE);
  EXPECT_EQ(nvdyn_stage_until(en.e, 0, "steps", 0), NVDYN_ERR_VALUE);
  EXPECT_EQ(nvdyn_stage_until(en.e, 0, "steps", 2.5), NVDYN_ERR_VALUE);
  EXPECT_EQ(nvdyn_stage_until(en.e, 0, "fmax", -1e-3), NVDYN_ERR_VALUE);
  EXPECT_NE(en.err().find("criterion fmax must be finite and > 0, got -0.001"), std::string::npos)
      << en.err();
  EXPECT_EQ(nvdyn_stage_until(en.e, 0, "de", INFINITY), NVDYN_ERR_VALUE);
  EXPECT_EQ(nvdyn_stage_until(en.e, 0, "energy", 1.0), NVDYN_ERR_UNKNOWN);
  EXPECT_NE(en.err().find("unknown criterion 'energy'"), std::string::npos) << en.err();
  EXPECT_EQ(nvdyn_stage_until(en.e, 1, "steps", 5), NVDYN_ERR_VALUE);
  EXPECT_NE(en.err().find("stage index 1"), std::string::npos) << en.err();
  EXPECT_EQ(nvdyn_stage_until(en.e, 0, nullptr, 5), NVDYN_ERR_NULL);
  // parameters: unknown for the style, out of range, not an integer
  EXPECT_EQ(nvdyn_stage_set(en.e, 0, "temp", 1.0), NVDYN_ERR_UNKNOWN);
  EXPECT_NE(en.err().find("stage 0 (nve): unknown parameter 'temp'"), std::string::npos);
  EXPECT_EQ(nvdyn_stage_set(en.e, 0, "every", 0), NVDYN_ERR_VALUE);
  EXPECT_NE(en.err().find("every must be an integer >= 1"), std::string::npos) << en.err();
  EXPECT_EQ(nvdyn_stage_set(en.e, 0, "every", 1.5), NVDYN_ERR_VALUE);
  EXPECT_EQ(nvdyn_stage_set(en.e, 0, "dt", 0.0), NVDYN_ERR_VALUE);
  EXPECT_EQ(nvdyn_stage_set(en.e, 0, "drift", -1.0), NVDYN_ERR_VALUE);
  EXPECT_EQ(nvdyn_stage_set(en.e, 0, "velocity", NAN), NVDYN_ERR_VALUE);
  EXPECT_EQ(nvdyn_stage_set(en.e, 3, "every", 2), NVDYN_ERR_VALUE);
  EXPECT_EQ(nvdyn_stage_set(en.e, 0, nullptr, 2), NVDYN_ERR_NULL);
  double value = 0.0;
  EXPECT_EQ(nvdyn_stage_get(en.e, 0, "every", &value), NVDYN_OK);
  EXPECT_EQ(value, 1.0);    // unchanged by the rejected calls
  EXPECT_EQ(nvdyn_stage_get(en.e, 0, "dmax", &value), NVDYN_ERR_UNKNOWN);
  EXPECT_EQ(nvdyn_engine_set(en.e, "dt", 0.1), NVDYN_OK);
  // velocity without its seed
  ASSERT_EQ(nvdyn_stage_set(en.e, 0, "velocity", 1.0), NVDYN_OK);
  EXPECT_EQ(nvdyn_engine_set_nsamples(en.e, 1), NVDYN_ERR_STATE);
  EXPECT_NE(en.err().find("velocity and velocity_seed go together"), std::string::npos);
  ASSERT_EQ(nvdyn_stage_set(en.e, 0, "velocity_seed", 5), NVDYN_OK);
  EXPECT_EQ(nvdyn_engine_set_nsamples(en.e, 0), NVDYN_ERR_VALUE);
  EXPECT_NE(en.err().find("samples"), std::string::npos) << en.err();

  Atoms at(2, false);
  nvdyn_atoms a = at.atoms();
  EXPECT_EQ(nvdyn_pre_update(en.e, &a), NVDYN_ERR_STATE);    // no samples yet
  EXPECT_EQ(nvdyn_end_step(en.e, &a, nullptr), NVDYN_ERR_STATE);
  ASSERT_EQ(nvdyn_engine_set_nsamples(en.e, 2), NVDYN_OK);
  EXPECT_EQ(nvdyn_stage_add(en.e, "nve", nullptr), NVDYN_ERR_STATE);
  EXPECT_EQ(nvdyn_stage_set(en.e, 0, "every", 2), NVDYN_ERR_STATE);
  EXPECT_EQ(nvdyn_stage_until(en.e, 0, "steps", 2), NVDYN_ERR_STATE);
  EXPECT_EQ(nvdyn_pre_update(en.e, nullptr), NVDYN_ERR_NULL);
  EXPECT_EQ(nvdyn_pre_update(en.e, &a), NVDYN_ERR_NULL);    // velocity init needs indices
  EXPECT_NE(en.err().find("index in its sample"), std::string::npos) << en.err();

  at.sample = {0, 2};
  a = at.atoms();
  at.x = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(nvdyn_pre_update(en.e, &a), NVDYN_ERR_ATOMS);
  EXPECT_NE(en.err().find("sample index 2 out of range"), std::string::npos) << en.err();
  EXPECT_EQ(at.x, (std::vector<double>{1, 2, 3, 4, 5, 6}));    // nothing was changed

  at.sample = {0, 1};
  a = at.atoms();
  a.v.atom_stride = 2;    // components of one atom overlap the next atom's
  EXPECT_EQ(nvdyn_post_update(en.e, &a), NVDYN_ERR_ATOMS);
  EXPECT_NE(en.err().find("view v"), std::string::npos) << en.err();
  a = at.atoms();
  a.f.comp_stride = 0;
  EXPECT_EQ(nvdyn_post_update(en.e, &a), NVDYN_ERR_ATOMS);
  a = at.atoms();
  a.x.data = nullptr;
  EXPECT_EQ(nvdyn_end_step(en.e, &a, nullptr), NVDYN_ERR_ATOMS);
  a = at.atoms();
  a.sample = nullptr;
  EXPECT_EQ(nvdyn_pre_update(en.e, &a), NVDYN_ERR_NULL);
  a = at.atoms();
  a.type_mass = nullptr;
  EXPECT_EQ(nvdyn_post_update(en.e, &a), NVDYN_ERR_NULL);
  a = at.atoms();
  at.type[1] = 5;
  EXPECT_EQ(nvdyn_post_update(en.e, &a), NVDYN_ERR_ATOMS);
  EXPECT_NE(en.err().find("type 5"), std::string::npos) << en.err();
  at.type[1] = 1;
  a.natoms = -1;
  EXPECT_EQ(nvdyn_post_update(en.e, &a), NVDYN_ERR_ATOMS);

  EXPECT_EQ(nvdyn_get_sample_stages(en.e, nullptr), NVDYN_ERR_NULL);
  EXPECT_EQ(nvdyn_get_sample_steps(en.e, nullptr), NVDYN_ERR_NULL);
  EXPECT_EQ(nvdyn_get_sample_outcomes(en.e, nullptr), NVDYN_ERR_NULL);
  EXPECT_EQ(nvdyn_get_sample_values(en.e, NVDYN_VALUE_FMAX, nullptr), NVDYN_ERR_NULL);
  std::vector<double> values(2);
  EXPECT_EQ(nvdyn_get_sample_values(en.e, (nvdyn_value) 42, values.data()), NVDYN_ERR_VALUE);
  std::vector<int64_t> steps(1);
  EXPECT_EQ(nvdyn_get_sample_stage_steps(en.e, 2, steps.data()), NVDYN_ERR_VALUE);
  EXPECT_EQ(nvdyn_get_sample_stage_steps(en.e, -1, steps.data()), NVDYN_ERR_VALUE);
  EXPECT_EQ(nvdyn_get_converged(en.e, nullptr, nullptr), NVDYN_ERR_NULL);
  EXPECT_EQ(nvdyn_engine_nstages(en.e, nullptr), NVDYN_ERR_NULL);
  EXPECT_EQ(nvdyn_engine_nsamples(nullptr, nullptr), NVDYN_ERR_NULL);
  EXPECT_EQ(nvdyn_end_step(nullptr, nullptr, nullptr), NVDYN_ERR_NULL);
  EXPECT_EQ(nvdyn_step(en.e, &a, nullptr, nullptr, nullptr), NVDYN_ERR_NULL);
  EXPECT_NE(en.err().find("force callback is NULL"), std::string::npos) << en.err();
  EXPECT_EQ(nvdyn_hook_add(
                en.e, NVDYN_AFTER_STEP, 0,
                [](nvdyn_engine *, const nvdyn_hook_info *, void *) { return 0; }, nullptr),
            NVDYN_ERR_VALUE);
  EXPECT_EQ(nvdyn_hook_add(
                en.e, (nvdyn_hook_point) 9, 1,
                [](nvdyn_engine *, const nvdyn_hook_info *, void *) { return 0; }, nullptr),
            NVDYN_ERR_VALUE);
  EXPECT_EQ(nvdyn_hook_add(en.e, NVDYN_AFTER_STEP, 1, nullptr, nullptr), NVDYN_ERR_NULL);
  std::vector<int32_t> index = {0, 1};
  a = at.atoms();
  a.index = index.data();
  EXPECT_EQ(nvdyn_post_update(en.e, &a), NVDYN_OK);
  EXPECT_STREQ(nvdyn_engine_last_error(en.e), "");    // cleared by a successful call
}

// ---- criteria, outcomes, hooks, safety ----------------------------------

namespace {

// Independent 3D harmonic oscillators around the origin (k = 1): f = -x,
// pe = x^2 / 2 per atom. An nvdyn_force_fn.
int harmonic(const nvdyn_atoms *a, void *)
{
  for (int i = 0; i < a->natoms; i++) {
    double pe = 0.0;
    for (int k = 0; k < 3; k++) {
      double x = a->x.data[i * a->x.atom_stride + k * a->x.comp_stride];
      a->f.data[i * a->f.atom_stride + k * a->f.comp_stride] = -x;
      pe += 0.5 * x * x;
    }
    if (a->pe) const_cast<double *>(a->pe)[i] = pe;
  }
  return 0;
}

// nsamples samples of `per` atoms each, contiguous, with their indices in
// the samples and energies
struct Batch : Atoms {
  std::vector<int32_t> index;
  std::vector<double> pe;
  Batch(int nsamples, int per) : Atoms(nsamples * per, false), index(n), pe(n)
  {
    for (int i = 0; i < n; i++) {
      sample[i] = i / per;
      index[i] = i % per;
      for (int k = 0; k < 3; k++) x[3 * i + k] = 0.1 * (1 + i % 5) * (k + 1);
    }
  }
  nvdyn_atoms atoms()
  {
    nvdyn_atoms a = Atoms::atoms();
    a.index = index.data();
    a.pe = pe.data();
    return a;
  }
};

// a per-sample int state of n samples (outcomes, reasons, ...)
std::vector<int> per_sample(nvdyn_status (*get)(const nvdyn_engine *, int *), nvdyn_engine *e,
                            int n)
{
  std::vector<int> out(n);
  EXPECT_EQ(get(e, out.data()), NVDYN_OK);
  return out;
}

std::vector<int> outcomes(nvdyn_engine *e, int n)
{
  return per_sample(nvdyn_get_sample_outcomes, e, n);
}

std::vector<int> reasons(nvdyn_engine *e, int n)
{
  return per_sample(nvdyn_get_sample_reasons, e, n);
}

}    // namespace

// A stage is left only at a check at which every criterion holds: the
// steps criterion alone would allow leaving at step 3, the fmax criterion
// (a FIRE relaxation of a harmonic well) only much later, and checks come
// every 4 steps.
TEST(Core, CriteriaCombineWithAndAtCheckSteps)
{
  Engine en;
  ASSERT_EQ(nvdyn_stage_add(en.e, "fire", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until(en.e, 0, "fmax", 1e-3), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until(en.e, 0, "steps", 3), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_set(en.e, 0, "every", 4), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set(en.e, "dt", 0.05), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_nsamples(en.e, 2), NVDYN_OK);
  Batch b(2, 3);
  nvdyn_atoms a = b.atoms();
  harmonic(&a, nullptr);
  int64_t left = 0;
  int first = -1;
  std::vector<double> fmax(2);
  for (int t = 1; t <= 2000 && !left; t++) {
    ASSERT_EQ(nvdyn_step(en.e, &a, harmonic, nullptr, nullptr), NVDYN_OK) << en.err();
    int n = 0, conv[2];
    ASSERT_EQ(nvdyn_get_converged(en.e, &n, conv), NVDYN_OK);
    if (t % 4) {
      EXPECT_EQ(n, 0) << "converged off a check step " << t;
      continue;
    }
    if (n) {
      left = t;
      first = conv[0];
    } else {
      ASSERT_EQ(nvdyn_get_sample_values(en.e, NVDYN_VALUE_FMAX, fmax.data()), NVDYN_OK);
      EXPECT_GT(std::max(fmax[0], fmax[1]), 1e-3) << "criteria held but no sample left";
    }
  }
  EXPECT_GT(left, 3);
  EXPECT_EQ(left % 4, 0);
  // the largest per-atom force of the converged sample, recomputed here, is
  // below the threshold
  double f2 = 0.0;
  for (int i = 3 * first; i < 3 * first + 3; i++)
    f2 = std::max(f2,
                  b.f[3 * i] * b.f[3 * i] + b.f[3 * i + 1] * b.f[3 * i + 1] +
                      b.f[3 * i + 2] * b.f[3 * i + 2]);
  EXPECT_LE(std::sqrt(f2), 1e-3);
}

// maxsteps ends a sample that never converges with outcome TIMEOUT: it is
// never listed as converged and never moves on; a converging sample in the
// same stage is unaffected.
TEST(Core, MaxstepsTimesOutWithoutConverging)
{
  Engine en;
  ASSERT_EQ(nvdyn_stage_add(en.e, "nve", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_add(en.e, "nve", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until(en.e, 0, "fmax", 0.05), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_set(en.e, 0, "maxsteps", 10), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_set(en.e, 0, "every", 3), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until(en.e, 1, "steps", 5), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set(en.e, "dt", 0.01), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_nsamples(en.e, 2), NVDYN_OK);
  Batch b(2, 1);
  b.x = {0.01, 0, 0, 5.0, 0, 0};    // sample 0: |f| 0.01 converges; sample 1: |f| ~5 never
  nvdyn_atoms a = b.atoms();
  harmonic(&a, nullptr);
  std::vector<int> seen;
  for (int t = 1; t <= 30; t++) {
    ASSERT_EQ(nvdyn_step(en.e, &a, harmonic, nullptr, nullptr), NVDYN_OK) << en.err();
    int n = 0, conv[2];
    ASSERT_EQ(nvdyn_get_converged(en.e, &n, conv), NVDYN_OK);
    for (int k = 0; k < n; k++) seen.push_back(conv[k] * 1000 + t);
    auto out = outcomes(en.e, 2);
    EXPECT_EQ(out[1], t < 10 ? NVDYN_ACTIVE : NVDYN_TIMEOUT) << "step " << t;
  }
  EXPECT_EQ(seen, (std::vector<int>{3, 8}));    // sample 0: stage 0 at step 3, stage 1 at 3+5
  int stage[2];
  ASSERT_EQ(nvdyn_get_sample_stages(en.e, stage), NVDYN_OK);
  EXPECT_EQ(stage[0], 2);    // done
  EXPECT_EQ(stage[1], 0);    // timed out in stage 0
  int64_t steps[2];
  ASSERT_EQ(nvdyn_get_sample_stage_steps(en.e, 1, steps), NVDYN_OK);
  EXPECT_EQ(steps[0], 10);
  EXPECT_EQ(steps[1], 0);
  EXPECT_EQ(outcomes(en.e, 2), (std::vector<int>{NVDYN_DONE, NVDYN_TIMEOUT}));
}

// The de criterion compares the energy at a check with that of the previous
// check in the stage; it never holds at the first check. Energies are
// requested (nvdyn_need_energy) exactly on the steps that check them.
TEST(Core, EnergyCriterionBetweenChecks)
{
  Engine en;
  ASSERT_EQ(nvdyn_stage_add(en.e, "nve", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until(en.e, 0, "de", 1e-9), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_set(en.e, 0, "every", 5), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set(en.e, "dt", 0.01), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_nsamples(en.e, 1), NVDYN_OK);
  Batch b(1, 2);
  std::fill(b.x.begin(), b.x.end(), 0.0);    // at rest in the minimum: PE constant (0)
  nvdyn_atoms a = b.atoms();
  for (int t = 1; t <= 10; t++) {
    int need = -1;
    ASSERT_EQ(nvdyn_need_energy(en.e, &need), NVDYN_OK);
    EXPECT_EQ(need, t % 5 == 0) << "step " << t;
    ASSERT_EQ(nvdyn_step(en.e, &a, harmonic, nullptr, nullptr), NVDYN_OK) << en.err();
    EXPECT_EQ(outcomes(en.e, 1)[0], t < 10 ? NVDYN_ACTIVE : NVDYN_DONE) << "step " << t;
  }
  // without per-atom energies a due check is an error, before anything changes
  Engine en2;
  ASSERT_EQ(nvdyn_stage_add(en2.e, "nve", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until(en2.e, 0, "de", 1e-9), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set(en2.e, "dt", 0.01), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_nsamples(en2.e, 1), NVDYN_OK);
  a.pe = nullptr;
  EXPECT_EQ(nvdyn_end_step(en2.e, &a, nullptr), NVDYN_ERR_NULL);
  EXPECT_NE(en2.err().find("per-atom energies"), std::string::npos) << en2.err();
  int64_t step = -1;
  ASSERT_EQ(nvdyn_engine_step(en2.e, &step), NVDYN_OK);
  EXPECT_EQ(step, 0);
}

// nvdyn_checks_due counts the samples the next end_step checks;
// nvdyn_refresh_values gives current values on a step without a check and
// leaves the de criterion comparing check with check.
TEST(Core, RefreshValuesBetweenChecks)
{
  Engine plain, refreshed;
  for (Engine *en : {&plain, &refreshed}) {
    ASSERT_EQ(nvdyn_stage_add(en->e, "nve", nullptr), NVDYN_OK);
    ASSERT_EQ(nvdyn_stage_until(en->e, 0, "de", 3e-3), NVDYN_OK);
    ASSERT_EQ(nvdyn_stage_set(en->e, 0, "every", 4), NVDYN_OK);
    ASSERT_EQ(nvdyn_engine_set(en->e, "dt", 0.01), NVDYN_OK);
    ASSERT_EQ(nvdyn_engine_set_nsamples(en->e, 2), NVDYN_OK);
  }
  Batch b1(2, 3), b2(2, 3);
  nvdyn_atoms a1 = b1.atoms(), a2 = b2.atoms();
  harmonic(&a1, nullptr);
  harmonic(&a2, nullptr);
  for (int t = 1; t <= 330; t++) {
    int due = -1;
    ASSERT_EQ(nvdyn_checks_due(refreshed.e, &due), NVDYN_OK);
    auto out = outcomes(refreshed.e, 2);
    int active = (int) std::count(out.begin(), out.end(), NVDYN_ACTIVE);
    EXPECT_EQ(due, t % 4 == 0 ? active : 0) << "step " << t;
    ASSERT_EQ(nvdyn_refresh_values(refreshed.e), NVDYN_OK);
    ASSERT_EQ(nvdyn_step(plain.e, &a1, harmonic, nullptr, nullptr), NVDYN_OK) << plain.err();
    ASSERT_EQ(nvdyn_step(refreshed.e, &a2, harmonic, nullptr, nullptr), NVDYN_OK);
    EXPECT_EQ(outcomes(plain.e, 2), outcomes(refreshed.e, 2)) << "step " << t;
    // the PE of sample 1 changes by 7e-3 between the checks at steps 4 and
    // 8 (by 2.2e-3 from step 7 to 8): only sample 0 leaves at step 8
    if (t == 8) EXPECT_EQ(outcomes(refreshed.e, 2), (std::vector<int>{NVDYN_DONE, NVDYN_ACTIVE}));
    std::vector<double> pe(2), fmax(2);
    ASSERT_EQ(nvdyn_get_sample_values(refreshed.e, NVDYN_VALUE_ENERGY, pe.data()), NVDYN_OK);
    ASSERT_EQ(nvdyn_get_sample_values(refreshed.e, NVDYN_VALUE_FMAX, fmax.data()), NVDYN_OK);
    for (int s = 0; s < 2; s++) {
      if (outcomes(refreshed.e, 2)[s] != NVDYN_ACTIVE) continue;
      double sum = 0.0, f2 = 0.0;
      for (int i = 3 * s; i < 3 * s + 3; i++) {
        sum += b2.pe[i];
        f2 = std::max(f2,
                      b2.f[3 * i] * b2.f[3 * i] + b2.f[3 * i + 1] * b2.f[3 * i + 1] +
                          b2.f[3 * i + 2] * b2.f[3 * i + 2]);
      }
      EXPECT_DOUBLE_EQ(pe[s], sum) << "step " << t;
      EXPECT_DOUBLE_EQ(fmax[s], std::sqrt(f2)) << "step " << t;
    }
  }
  // both samples left the stage through de (at the turning points of their
  // energies), at the same steps in both engines
  EXPECT_EQ(outcomes(plain.e, 2), (std::vector<int>{NVDYN_DONE, NVDYN_DONE}));
}

namespace {
struct HookLog {
  std::vector<std::string> events;
};
const char *const point_name[] = {"before_step",    "before_pre",    "after_pre",
                                  "before_compute", "after_compute", "before_post",
                                  "after_post",     "on_converge",   "after_step"};
int log_hook(nvdyn_engine *, const nvdyn_hook_info *info, void *user)
{
  auto *log = static_cast<HookLog *>(user);
  std::string ev = std::to_string(info->step) + ":" + point_name[info->point];
  if (info->point == NVDYN_ON_CONVERGE)
    for (int k = 0; k < info->nconverged; k++) ev += " " + std::to_string(info->converged[k]);
  log->events.push_back(ev);
  return 0;
}
int force_logged(const nvdyn_atoms *a, void *user)
{
  static_cast<HookLog *>(user)->events.push_back("force");
  return harmonic(a, nullptr);
}
}    // namespace

// All nine hook points fire in the documented order, hooks of one point in
// registration order, each only on multiples of its frequency; ON_CONVERGE
// lists the samples that converged on that step.
TEST(Core, HookPointsFireInOrder)
{
  Engine en;
  ASSERT_EQ(nvdyn_stage_add(en.e, "nve", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until(en.e, 0, "steps", 2), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set(en.e, "dt", 0.01), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_nsamples(en.e, 3), NVDYN_OK);
  HookLog log, second;
  // registered in reverse order of the points: order of firing is by point
  for (int p = NVDYN_NHOOK_POINTS - 1; p >= 0; p--)
    ASSERT_EQ(nvdyn_hook_add(en.e, (nvdyn_hook_point) p, 1, log_hook, &log), NVDYN_OK);
  ASSERT_EQ(nvdyn_hook_add(en.e, NVDYN_AFTER_STEP, 2, log_hook, &log), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_step(en.e, 100), NVDYN_OK);
  Batch b(3, 1);
  b.sample = {0, 2, 1};
  nvdyn_atoms a = b.atoms();
  harmonic(&a, nullptr);
  for (int t = 0; t < 3; t++)
    ASSERT_EQ(nvdyn_step(en.e, &a, force_logged, &log, nullptr), NVDYN_OK) << en.err();
  const std::vector<std::string> one_step = {"before_step",    "before_pre", "after_pre",
                                             "before_compute", "force",      "after_compute",
                                             "before_post",    "after_post"};
  std::vector<std::string> expect;
  for (int step = 101; step <= 103; step++) {
    for (const auto &p : one_step)
      expect.push_back(p == "force" ? p : std::to_string(step) + ":" + p);
    if (step == 102) expect.push_back("102:on_converge 0 1 2");
    expect.push_back(std::to_string(step) + ":after_step");
    if (step == 102) expect.push_back("102:after_step");    // the every-2 hook, registered last
  }
  EXPECT_EQ(log.events, expect);
  int64_t step = 0;
  ASSERT_EQ(nvdyn_engine_step(en.e, &step), NVDYN_OK);
  EXPECT_EQ(step, 103);
}

// A hook that returns nonzero fails the call with NVDYN_ERR_CALLBACK naming
// the point.
TEST(Core, FailingHookStopsTheStep)
{
  Engine en;
  setup_nve(en.e, 0.01, 1.0, 1);
  ASSERT_EQ(nvdyn_hook_add(
                en.e, NVDYN_AFTER_COMPUTE, 1,
                [](nvdyn_engine *, const nvdyn_hook_info *, void *) { return 7; }, nullptr),
            NVDYN_OK);
  Batch b(1, 1);
  nvdyn_atoms a = b.atoms();
  EXPECT_EQ(nvdyn_step(en.e, &a, harmonic, nullptr, nullptr), NVDYN_ERR_CALLBACK);
  EXPECT_NE(en.err().find("AFTER_COMPUTE returned 7"), std::string::npos) << en.err();
  EXPECT_EQ(nvdyn_step(
                en.e, &a, [](const nvdyn_atoms *, void *) { return 3; }, nullptr, nullptr),
            NVDYN_ERR_CALLBACK);
  EXPECT_NE(en.err().find("force callback returned 3"), std::string::npos) << en.err();
}

// A NaN force in one sample fails that sample only, at the step it appears;
// its atoms are frozen from then on and the others finish normally.
TEST(Core, NanFailsOnlyItsSample)
{
  Engine en;
  ASSERT_EQ(nvdyn_stage_add(en.e, "fire", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until(en.e, 0, "fmax", 1e-6), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_add(en.e, "nve", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until(en.e, 1, "steps", 20), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set(en.e, "dt", 0.05), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_nsamples(en.e, 3), NVDYN_OK);
  Batch b(3, 4);
  nvdyn_atoms a = b.atoms();
  struct Poison {
    int step = 0;
  } poison;
  auto force = [](const nvdyn_atoms *at, void *user) {
    harmonic(at, nullptr);
    if (++static_cast<Poison *>(user)->step == 7)
      at->f.data[3 * 5 + 1] = NAN;    // atom 5: sample 1
    return 0;
  };
  force(&a, &poison);
  std::vector<double> x_failed;
  for (int t = 1; t <= 3000; t++) {
    int changed = 0;
    ASSERT_EQ(nvdyn_step(en.e, &a, force, &poison, &changed), NVDYN_OK) << en.err();
    auto out = outcomes(en.e, 3);
    if (t == 6) {
      EXPECT_EQ(out[1], NVDYN_FAILED);    // force call 7 is the one of step 6
      EXPECT_EQ(changed, 1);
      x_failed.assign(b.x.begin() + 12, b.x.begin() + 24);
    }
    if (out[0] != NVDYN_ACTIVE && out[2] != NVDYN_ACTIVE) break;
  }
  EXPECT_EQ(outcomes(en.e, 3), (std::vector<int>{NVDYN_DONE, NVDYN_FAILED, NVDYN_DONE}));
  EXPECT_EQ(std::vector<double>(b.x.begin() + 12, b.x.begin() + 24), x_failed);
  for (int i : {0, 1, 2, 3, 8, 9, 10, 11})
    for (int k = 0; k < 3; k++) EXPECT_TRUE(std::isfinite(b.x[3 * i + k]));
}

// The energy-drift monitor of an nve stage fails a sample whose total
// energy per atom moves more than the threshold (here: a time step far too
// large for the oscillator), and not one integrated accurately.
TEST(Core, DriftMonitorFailsInaccurateSample)
{
  Engine en;
  ASSERT_EQ(nvdyn_stage_add(en.e, "nve", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_set(en.e, 0, "drift", 1e-3), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_add(en.e, "nve", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_set(en.e, 1, "dt", 1.9), NVDYN_OK);    // near the stability limit
  ASSERT_EQ(nvdyn_stage_set(en.e, 1, "drift", 1e-3), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until(en.e, 0, "steps", 1), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set(en.e, "dt", 0.001), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_nsamples(en.e, 1), NVDYN_OK);
  Batch b(1, 2);
  nvdyn_atoms a = b.atoms();
  harmonic(&a, nullptr);
  ASSERT_EQ(nvdyn_step(en.e, &a, harmonic, nullptr, nullptr), NVDYN_OK);
  int stage = -1;
  ASSERT_EQ(nvdyn_get_sample_stages(en.e, &stage), NVDYN_OK);
  ASSERT_EQ(stage, 1);
  for (int t = 0; t < 50 && outcomes(en.e, 1)[0] == NVDYN_ACTIVE; t++)
    ASSERT_EQ(nvdyn_step(en.e, &a, harmonic, nullptr, nullptr), NVDYN_OK);
  EXPECT_EQ(outcomes(en.e, 1)[0], NVDYN_FAILED);
  double drift = 0.0;
  ASSERT_EQ(nvdyn_get_sample_values(en.e, NVDYN_VALUE_DRIFT, &drift), NVDYN_OK);
  EXPECT_GT(drift, 1e-3);

  Engine ok_en;    // the same with the small step passes 1000 steps
  ASSERT_EQ(nvdyn_stage_add(ok_en.e, "nve", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_set(ok_en.e, 0, "drift", 1e-3), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set(ok_en.e, "dt", 0.01), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_nsamples(ok_en.e, 1), NVDYN_OK);
  Batch c(1, 2);
  nvdyn_atoms ca = c.atoms();
  harmonic(&ca, nullptr);
  for (int t = 0; t < 1000; t++)
    ASSERT_EQ(nvdyn_step(ok_en.e, &ca, harmonic, nullptr, nullptr), NVDYN_OK);
  EXPECT_EQ(outcomes(ok_en.e, 1)[0], NVDYN_ACTIVE);
  ASSERT_EQ(nvdyn_get_sample_values(ok_en.e, NVDYN_VALUE_DRIFT, &drift), NVDYN_OK);
  EXPECT_LT(drift, 1e-4);
}

// The force clamp limits the force the integrator uses (not the caller's
// array): one kick of dt/2 * fclamp / m along the force.
TEST(Core, ForceClampLimitsTheKick)
{
  Engine en;
  setup_nve(en.e, 0.1, 1.0, 1);
  ASSERT_EQ(nvdyn_engine_set(en.e, "fclamp", 2.0), NVDYN_OK);
  Atoms at(2, false);
  at.f = {30.0, 40.0, 0.0, 1.0, 0.0, 0.0};    // |f| = 50 is clamped to 2; 1 is not
  nvdyn_atoms a = at.atoms();
  ASSERT_EQ(nvdyn_post_update(en.e, &a), NVDYN_OK);
  EXPECT_DOUBLE_EQ(at.v[0], 0.05 * 2.0 * 0.6 / 2.0);
  EXPECT_DOUBLE_EQ(at.v[1], 0.05 * 2.0 * 0.8 / 2.0);
  EXPECT_DOUBLE_EQ(at.v[3], 0.05 * 1.0 / 2.0);
  EXPECT_EQ(at.f[0], 30.0);
}

// A force too large to square (1e200) is clamped to fclamp too, not to 0.
TEST(Core, ForceClampOfForcesThatOverflowTheirSquare)
{
  Engine en;
  setup_nve(en.e, 0.1, 1.0, 1);
  ASSERT_EQ(nvdyn_engine_set(en.e, "fclamp", 2.0), NVDYN_OK);
  Atoms at(1, false);
  at.f = {3e200, -4e200, 0.0};
  nvdyn_atoms a = at.atoms();
  ASSERT_EQ(nvdyn_post_update(en.e, &a), NVDYN_OK);
  EXPECT_DOUBLE_EQ(at.v[0], 0.05 * 2.0 * 0.6 / 2.0);
  EXPECT_DOUBLE_EQ(at.v[1], -0.05 * 2.0 * 0.8 / 2.0);
}

// With maxmove, a sample whose next step would move an atom further (a
// huge but finite force) fails at the end of the step that produced the
// force, before its atoms move: its positions stay those of that step. A
// NaN force fails its sample with reason nan; the others go on unchanged.
TEST(Core, UnsafeStepsFailTheirSampleBeforeTheAtomsMove)
{
  Engine en, ref;    // ref: the same batch without faults
  setup_nve(en.e, 0.05, 1.0, 3);
  setup_nve(ref.e, 0.05, 1.0, 3);
  ASSERT_EQ(nvdyn_engine_set(en.e, "maxmove", 0.3), NVDYN_OK);
  Batch b(3, 4), alone(3, 4);
  nvdyn_atoms a = b.atoms(), a_alone = alone.atoms();
  struct Poison {
    int step = 0;
  } poison;
  auto force = [](const nvdyn_atoms *at, void *user) {
    harmonic(at, nullptr);
    const int step = ++static_cast<Poison *>(user)->step;
    if (step == 5) at->f.data[3 * 5 + 1] = 1e30;    // atom 5: sample 1
    if (step == 9) at->f.data[3 * 9 + 2] = NAN;     // atom 9: sample 2
    return 0;
  };
  force(&a, &poison);
  harmonic(&a_alone, nullptr);
  std::vector<double> x1, x2;
  for (int t = 1; t <= 20; t++) {
    int changed = 0;
    ASSERT_EQ(nvdyn_step(en.e, &a, force, &poison, &changed), NVDYN_OK) << en.err();
    ASSERT_EQ(nvdyn_step(ref.e, &a_alone, harmonic, nullptr, nullptr), NVDYN_OK);
    if (t == 4) {
      EXPECT_EQ(changed, 1);
      x1.assign(b.x.begin() + 12, b.x.begin() + 24);
    }
    if (t == 8) x2.assign(b.x.begin() + 24, b.x.begin() + 36);
  }
  EXPECT_EQ(outcomes(en.e, 3), (std::vector<int>{NVDYN_ACTIVE, NVDYN_FAILED, NVDYN_FAILED}));
  EXPECT_EQ(reasons(en.e, 3),
            (std::vector<int>{NVDYN_REASON_NONE, NVDYN_REASON_UNSTABLE, NVDYN_REASON_NAN}));
  EXPECT_EQ(std::vector<double>(b.x.begin() + 12, b.x.begin() + 24), x1);
  EXPECT_EQ(std::vector<double>(b.x.begin() + 24, b.x.begin() + 36), x2);
  for (double x : b.x) EXPECT_TRUE(std::isfinite(x));
  EXPECT_EQ(std::vector<double>(b.x.begin(), b.x.begin() + 12),
            std::vector<double>(alone.x.begin(), alone.x.begin() + 12));
  EXPECT_STREQ(nvdyn_reason_name(NVDYN_REASON_UNSTABLE), "unstable");
  EXPECT_STREQ(nvdyn_reason_name(99), "unknown");
}

// nvdyn_check_atoms fails samples whose forces are not finite at the start
// (no end_step has seen them yet), so their atoms never move.
TEST(Core, CheckAtomsAtTheStartFailsNonFiniteSamples)
{
  Engine en;
  setup_nve(en.e, 0.05, 1.0, 2);
  Batch b(2, 3);
  nvdyn_atoms a = b.atoms();
  harmonic(&a, nullptr);
  b.f[3 * 4] = INFINITY;    // sample 1
  const std::vector<double> x0 = b.x;
  int nfailed = -1;
  ASSERT_EQ(nvdyn_check_atoms(en.e, &a, &nfailed), NVDYN_OK) << en.err();
  EXPECT_EQ(nfailed, 1);
  EXPECT_EQ(reasons(en.e, 2), (std::vector<int>{NVDYN_REASON_NONE, NVDYN_REASON_NAN}));
  auto force = [](const nvdyn_atoms *at, void *) {
    harmonic(at, nullptr);
    at->f.data[3 * 4] = INFINITY;
    return 0;
  };
  for (int t = 0; t < 5; t++) ASSERT_EQ(nvdyn_step(en.e, &a, force, nullptr, nullptr), NVDYN_OK);
  EXPECT_EQ(std::vector<double>(b.x.begin() + 9, b.x.end()),
            std::vector<double>(x0.begin() + 9, x0.end()));
  EXPECT_NE(b.x[0], x0[0]);
}

// Velocities drawn on entering a stage at an absurd temperature fail the
// sample in that pre_update, before it moves; end_step reports the change.
TEST(Core, AbsurdVelocityDrawFailsBeforeMoving)
{
  Engine en;
  ASSERT_EQ(nvdyn_stage_add(en.e, "nve", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_set(en.e, 0, "velocity", 1e300), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_set(en.e, 0, "velocity_seed", 7), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set(en.e, "dt", 0.01), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set(en.e, "maxmove", 0.5), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_nsamples(en.e, 1), NVDYN_OK);
  Batch b(1, 4);
  nvdyn_atoms a = b.atoms();
  harmonic(&a, nullptr);
  const std::vector<double> x0 = b.x;
  int changed = 0;
  ASSERT_EQ(nvdyn_step(en.e, &a, harmonic, nullptr, &changed), NVDYN_OK) << en.err();
  EXPECT_EQ(changed, 1);
  EXPECT_EQ(outcomes(en.e, 1)[0], NVDYN_FAILED);
  EXPECT_EQ(reasons(en.e, 1)[0], NVDYN_REASON_UNSTABLE);
  EXPECT_EQ(b.x, x0);
}

// A sample entering a stage with a longer time step keeps its velocities:
// it is checked with the new step when it migrates, and fails before it
// moves; a Nose-Hoover chain whose first half step would scale v into an
// unsafe (or non-finite) step fails before the drift.
TEST(Core, UnsafeStepsAfterMigrationOrThermostatScalingFail)
{
  Engine en;
  ASSERT_EQ(nvdyn_stage_add(en.e, "nve", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until(en.e, 0, "steps", 2), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_add(en.e, "nve", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_set(en.e, 1, "dt", 100.0), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set(en.e, "dt", 0.001), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set(en.e, "maxmove", 0.1), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_nsamples(en.e, 1), NVDYN_OK);
  Batch b(1, 2);
  b.v = {1.0, 0.0, 0.0, -1.0, 0.0, 0.0};
  nvdyn_atoms a = b.atoms();
  harmonic(&a, nullptr);
  std::vector<double> x2;
  for (int t = 1; t <= 4; t++) {
    int changed = 0;
    ASSERT_EQ(nvdyn_step(en.e, &a, harmonic, nullptr, &changed), NVDYN_OK) << en.err();
    if (t == 2) {
      EXPECT_EQ(changed, 1);
      x2 = b.x;
    }
  }
  EXPECT_EQ(outcomes(en.e, 1)[0], NVDYN_FAILED);
  EXPECT_EQ(reasons(en.e, 1)[0], NVDYN_REASON_UNSTABLE);
  EXPECT_EQ(b.x, x2);

  Engine nhc;    // a chain far too stiff for its time step
  ASSERT_EQ(nvdyn_stage_add(nhc.e, "nhc", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_set(nhc.e, 0, "temp", 1e6), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_set(nhc.e, 0, "damp", 1e-3), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set(nhc.e, "dt", 0.05), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set(nhc.e, "maxmove", 0.3), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_nsamples(nhc.e, 1), NVDYN_OK);
  Batch c(1, 4);
  for (int i = 0; i < 12; i++) c.v[i] = 0.1 * ((i % 3) - 1);
  nvdyn_atoms ca = c.atoms();
  harmonic(&ca, nullptr);
  std::vector<double> x_last = c.x;
  for (int t = 0; t < 200 && outcomes(nhc.e, 1)[0] == NVDYN_ACTIVE; t++) {
    x_last = c.x;
    ASSERT_EQ(nvdyn_step(nhc.e, &ca, harmonic, nullptr, nullptr), NVDYN_OK) << nhc.err();
  }
  EXPECT_EQ(outcomes(nhc.e, 1)[0], NVDYN_FAILED);
  const int why = reasons(nhc.e, 1)[0];    // a step too long, or a scale factor overflowed
  EXPECT_TRUE(why == NVDYN_REASON_UNSTABLE || why == NVDYN_REASON_NAN) << why;
  for (double x : c.x) EXPECT_TRUE(std::isfinite(x));
  for (int i = 0; i < 12; i++) EXPECT_LT(std::fabs(c.x[i] - x_last[i]), 0.3 + 1e-12);
}

// A FIRE step is limited by dmax only through the velocity before its kick:
// a huge force would move an atom far in one step. With maxmove the sample
// fails first; the other sample relaxes on.
TEST(Core, HugeForceFailsAFireSampleBeforeItsStep)
{
  Engine en;
  ASSERT_EQ(nvdyn_stage_add(en.e, "fire", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until(en.e, 0, "fmax", 1e-6), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set(en.e, "dt", 0.01), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set(en.e, "maxmove", 0.3), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_nsamples(en.e, 2), NVDYN_OK);
  Batch b(2, 3);
  nvdyn_atoms a = b.atoms();
  auto force = [](const nvdyn_atoms *at, void *) {
    harmonic(at, nullptr);
    at->f.data[3 * 4] = 1e30;    // sample 1
    return 0;
  };
  force(&a, nullptr);
  const std::vector<double> x0 = b.x;
  int nfailed = 0;
  ASSERT_EQ(nvdyn_check_atoms(en.e, &a, &nfailed), NVDYN_OK);
  EXPECT_EQ(nfailed, 1);
  for (int t = 0; t < 3000 && outcomes(en.e, 2)[0] == NVDYN_ACTIVE; t++)
    ASSERT_EQ(nvdyn_step(en.e, &a, force, nullptr, nullptr), NVDYN_OK) << en.err();
  EXPECT_EQ(outcomes(en.e, 2), (std::vector<int>{NVDYN_DONE, NVDYN_FAILED}));
  EXPECT_EQ(reasons(en.e, 2)[1], NVDYN_REASON_UNSTABLE);
  EXPECT_EQ(std::vector<double>(b.x.begin() + 9, b.x.end()),
            std::vector<double>(x0.begin() + 9, x0.end()));
}

// Timeouts carry their reason; a caller fails a sample for its own reasons.
TEST(Core, ReasonsOfTimeoutsAndCallerFailures)
{
  Engine en;
  ASSERT_EQ(nvdyn_stage_add(en.e, "nve", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until(en.e, 0, "fmax", 1e-12), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_set(en.e, 0, "maxsteps", 3), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set(en.e, "dt", 0.01), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_nsamples(en.e, 2), NVDYN_OK);
  Batch b(2, 2);
  nvdyn_atoms a = b.atoms();
  harmonic(&a, nullptr);
  ASSERT_EQ(nvdyn_sample_fail(en.e, 1, NVDYN_REASON_ESCAPED), NVDYN_OK);
  const std::vector<double> x1(b.x.begin() + 6, b.x.end());
  for (int t = 0; t < 3; t++) ASSERT_EQ(nvdyn_step(en.e, &a, harmonic, nullptr, nullptr), NVDYN_OK);
  EXPECT_EQ(outcomes(en.e, 2), (std::vector<int>{NVDYN_TIMEOUT, NVDYN_FAILED}));
  EXPECT_EQ(reasons(en.e, 2), (std::vector<int>{NVDYN_REASON_MAXSTEPS, NVDYN_REASON_ESCAPED}));
  EXPECT_EQ(std::vector<double>(b.x.begin() + 6, b.x.end()), x1);
  EXPECT_EQ(nvdyn_sample_fail(en.e, 1, NVDYN_REASON_LOST), NVDYN_ERR_STATE);
  EXPECT_NE(en.err().find("sample 1 is not active"), std::string::npos);
  EXPECT_EQ(nvdyn_sample_fail(en.e, 0, NVDYN_REASON_MAXSTEPS), NVDYN_ERR_VALUE);
  EXPECT_EQ(nvdyn_sample_fail(en.e, 2, NVDYN_REASON_LOST), NVDYN_ERR_VALUE);
}

// Saving the state and loading it into a fresh engine with the same stages
// continues the run exactly (FIRE state, thermostat state, counters, RNG).
TEST(Core, StateRoundTripContinuesExactly)
{
  auto make = [](Engine &en) {
    ASSERT_EQ(nvdyn_stage_add(en.e, "fire", nullptr), NVDYN_OK);
    ASSERT_EQ(nvdyn_stage_until(en.e, 0, "fmax", 1e-2), NVDYN_OK);
    ASSERT_EQ(nvdyn_stage_add(en.e, "nhc", nullptr), NVDYN_OK);
    ASSERT_EQ(nvdyn_stage_set(en.e, 1, "temp", 0.5), NVDYN_OK);
    ASSERT_EQ(nvdyn_stage_set(en.e, 1, "damp", 0.5), NVDYN_OK);
    ASSERT_EQ(nvdyn_stage_set(en.e, 1, "velocity", 0.5), NVDYN_OK);
    ASSERT_EQ(nvdyn_stage_set(en.e, 1, "velocity_seed", 11), NVDYN_OK);
    ASSERT_EQ(nvdyn_stage_until(en.e, 1, "steps", 50), NVDYN_OK);
    ASSERT_EQ(nvdyn_stage_add(en.e, "langevin", nullptr), NVDYN_OK);
    ASSERT_EQ(nvdyn_stage_set(en.e, 2, "temp", 0.5), NVDYN_OK);
    ASSERT_EQ(nvdyn_stage_set(en.e, 2, "damp", 0.5), NVDYN_OK);
    ASSERT_EQ(nvdyn_stage_set(en.e, 2, "seed", 3), NVDYN_OK);
    ASSERT_EQ(nvdyn_engine_set(en.e, "dt", 0.02), NVDYN_OK);
    ASSERT_EQ(nvdyn_engine_set_nsamples(en.e, 2), NVDYN_OK);
  };
  Engine ref, first, second;
  make(ref);
  make(first);
  make(second);
  Batch bref(2, 5);
  nvdyn_atoms a = bref.atoms();
  harmonic(&a, nullptr);
  Batch b = bref;
  nvdyn_atoms ba = b.atoms();
  for (int t = 0; t < 300; t++)
    ASSERT_EQ(nvdyn_step(ref.e, &a, harmonic, nullptr, nullptr), NVDYN_OK);
  for (int t = 0; t < 170; t++)
    ASSERT_EQ(nvdyn_step(first.e, &ba, harmonic, nullptr, nullptr), NVDYN_OK);
  size_t size = 0;
  ASSERT_EQ(nvdyn_state_size(first.e, &size), NVDYN_OK);
  std::vector<char> buf(size);
  ASSERT_EQ(nvdyn_state_save(first.e, buf.data(), size), NVDYN_OK);
  EXPECT_EQ(nvdyn_state_load(second.e, buf.data(), size - 1), NVDYN_ERR_VALUE);
  ASSERT_EQ(nvdyn_state_load(second.e, buf.data(), size), NVDYN_OK) << second.err();
  for (int t = 170; t < 300; t++)
    ASSERT_EQ(nvdyn_step(second.e, &ba, harmonic, nullptr, nullptr), NVDYN_OK);
  EXPECT_EQ(b.x, bref.x);
  EXPECT_EQ(b.v, bref.v);
  int stages[2];
  ASSERT_EQ(nvdyn_get_sample_stages(second.e, stages), NVDYN_OK);
  EXPECT_EQ(stages[0], 2);    // the run got through all three stages
  Engine other;
  ASSERT_EQ(nvdyn_stage_add(other.e, "nve", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set(other.e, "dt", 0.02), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_nsamples(other.e, 2), NVDYN_OK);
  EXPECT_EQ(nvdyn_state_load(other.e, buf.data(), size), NVDYN_ERR_VALUE);
}

// ---- several ranks through the reduction callback -------------------------

namespace {

// An in-process stand-in for MPI_Allreduce between threads, each thread one
// "rank" with its own engine and its own share of the atoms.
struct ThreadReduce {
  std::mutex m;
  std::condition_variable cv;
  int nranks, arrived = 0, left = 0;
  int64_t round = 0;
  std::vector<double> buf;
  explicit ThreadReduce(int n) : nranks(n) {}
  static int fn(double *d, int n, nvdyn_reduce_op op, void *user)
  {
    auto *r = static_cast<ThreadReduce *>(user);
    std::unique_lock<std::mutex> lk(r->m);
    r->cv.wait(lk, [r] { return r->left == 0; });    // the previous round is consumed
    if (r->arrived == 0)
      r->buf.assign(d, d + n);
    else
      for (int k = 0; k < n; k++)
        r->buf[k] = op == NVDYN_REDUCE_SUM ? r->buf[k] + d[k] : std::max(r->buf[k], d[k]);
    const int64_t mine = r->round;
    if (++r->arrived == r->nranks) {
      r->arrived = 0;
      r->left = r->nranks;
      r->round++;
      r->cv.notify_all();
    } else {
      r->cv.wait(lk, [r, mine] { return r->round != mine; });
    }
    std::copy(r->buf.begin(), r->buf.begin() + n, d);
    if (--r->left == 0) r->cv.notify_all();
    return 0;
  }
};

// fire -> csvr (velocities drawn on entry) -> nhc -> langevin
void workflow(nvdyn_engine *e)
{
  ASSERT_EQ(nvdyn_stage_add(e, "fire", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until(e, 0, "fmax", 1e-3), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_add(e, "csvr", nullptr), NVDYN_OK);
  for (auto [k, v] : {std::pair{"temp", 0.3},
                      {"damp", 0.2},
                      {"seed", 9.0},
                      {"velocity", 0.3},
                      {"velocity_seed", 4.0}})
    ASSERT_EQ(nvdyn_stage_set(e, 1, k, v), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until(e, 1, "steps", 40), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_add(e, "nhc", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_set(e, 2, "temp", 0.6), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_set(e, 2, "damp", 0.3), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until(e, 2, "steps", 40), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_add(e, "langevin", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_set(e, 3, "temp", 0.4), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_set(e, 3, "damp", 0.3), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_set(e, 3, "seed", 5), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until(e, 3, "steps", 40), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set(e, "dt", 0.02), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_nsamples(e, 3), NVDYN_OK);
}

}    // namespace

// The same workflow on one "rank" and on two (atoms dealt out alternately,
// per-sample sums through the reduction callback) gives the same per-atom
// trajectory, stages and outcomes: nothing depends on which rank holds an
// atom, random numbers included.
TEST(Core, TwoRanksMatchOneRank)
{
  Batch all(3, 7);
  for (int i = 0; i < all.n; i++)
    for (int k = 0; k < 3; k++) all.x[3 * i + k] = std::sin(1.0 + i + 0.7 * k);
  // the two ranks' shares, keeping the atoms' indices in their samples
  Batch part[2] = {Batch(1, 0), Batch(1, 0)};
  std::vector<int> owner(all.n);
  for (int r = 0; r < 2; r++) {
    Batch &p = part[r];
    p.x.clear(), p.v.clear(), p.f.clear(), p.type.clear(), p.sample.clear(), p.index.clear();
    for (int i = r; i < all.n; i += 2) {
      for (int k = 0; k < 3; k++) p.x.push_back(all.x[3 * i + k]);
      p.type.push_back(1), p.sample.push_back(all.sample[i]), p.index.push_back(all.index[i]);
    }
    p.n = (int) p.sample.size();
    p.v.assign(3 * p.n, 0.0), p.f.assign(3 * p.n, 0.0), p.pe.assign(p.n, 0.0);
  }
  const int nsteps = 400;
  Engine one;
  workflow(one.e);
  nvdyn_atoms a = all.atoms();
  harmonic(&a, nullptr);
  for (int t = 0; t < nsteps; t++)
    ASSERT_EQ(nvdyn_step(one.e, &a, harmonic, nullptr, nullptr), NVDYN_OK) << one.err();

  ThreadReduce red(2);
  Engine two[2];
  std::vector<nvdyn_status> status(2, NVDYN_OK);
  auto run_rank = [&](int r) {
    workflow(two[r].e);
    nvdyn_engine_set_reduce(two[r].e, ThreadReduce::fn, &red);
    nvdyn_atoms pa = part[r].atoms();
    harmonic(&pa, nullptr);
    for (int t = 0; t < nsteps && status[r] == NVDYN_OK; t++)
      status[r] = nvdyn_step(two[r].e, &pa, harmonic, nullptr, nullptr);
  };
  std::thread rank1(run_rank, 1);
  run_rank(0);
  rank1.join();
  ASSERT_EQ(status, (std::vector<nvdyn_status>{NVDYN_OK, NVDYN_OK}));

  std::vector<int> st1(3), st2(3);
  ASSERT_EQ(nvdyn_get_sample_stages(one.e, st1.data()), NVDYN_OK);
  for (int r = 0; r < 2; r++) {
    ASSERT_EQ(nvdyn_get_sample_stages(two[r].e, st2.data()), NVDYN_OK);
    EXPECT_EQ(st1, st2);
    EXPECT_EQ(outcomes(one.e, 3), outcomes(two[r].e, 3));
  }
  EXPECT_EQ(st1, (std::vector<int>{4, 4, 4}));    // every sample went through every stage
  double dmax = 0.0;
  for (int r = 0; r < 2; r++)
    for (int j = 0; j < part[r].n; j++) {
      int i = 7 * part[r].sample[j] + part[r].index[j];
      for (int k = 0; k < 3; k++) {
        dmax = std::max(dmax, std::fabs(part[r].x[3 * j + k] - all.x[3 * i + k]));
        dmax = std::max(dmax, std::fabs(part[r].v[3 * j + k] - all.v[3 * i + k]));
      }
    }
  EXPECT_LT(dmax, 1e-10);
}

// Per-sample values are NaN before the first check; a finished sample keeps
// those of its final check, temperature with its last stage's extra_dof.
TEST(Core, FinishedSampleKeepsItsLastCheck)
{
  Engine en;
  ASSERT_EQ(nvdyn_stage_add(en.e, "nve", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_set(en.e, 0, "extra_dof", 0), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until(en.e, 0, "steps", 3), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set(en.e, "dt", 0.01), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_nsamples(en.e, 1), NVDYN_OK);
  const nvdyn_value all[] = {NVDYN_VALUE_ENERGY, NVDYN_VALUE_FMAX, NVDYN_VALUE_KINETIC,
                             NVDYN_VALUE_NATOMS, NVDYN_VALUE_TEMPERATURE};
  double value = 0.0;
  for (auto w : all) {
    ASSERT_EQ(nvdyn_get_sample_values(en.e, w, &value), NVDYN_OK);
    EXPECT_TRUE(std::isnan(value)) << "value " << w;
  }
  Batch b(1, 4);
  b.v = {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1};
  nvdyn_atoms a = b.atoms();
  harmonic(&a, nullptr);
  for (int t = 0; t < 3; t++) ASSERT_EQ(nvdyn_step(en.e, &a, harmonic, nullptr, nullptr), NVDYN_OK);
  ASSERT_EQ(outcomes(en.e, 1)[0], NVDYN_DONE);
  double mv2 = 0.0, pe = 0.0, f2 = 0.0;
  for (int i = 0; i < 4; i++) {
    pe += b.pe[i];
    f2 = std::max(f2,
                  b.f[3 * i] * b.f[3 * i] + b.f[3 * i + 1] * b.f[3 * i + 1] +
                      b.f[3 * i + 2] * b.f[3 * i + 2]);
    for (int k = 0; k < 3; k++) mv2 += 2.0 * b.v[3 * i + k] * b.v[3 * i + k];    // mass 2
  }
  const double expect[] = {pe, std::sqrt(f2), 0.5 * mv2, 4.0, mv2 / 12.0};    // 3N - 0 dof
  for (int k = 0; k < 5; k++) {
    ASSERT_EQ(nvdyn_get_sample_values(en.e, all[k], &value), NVDYN_OK);
    EXPECT_NEAR(value, expect[k], 1e-12 * std::fabs(expect[k])) << "value " << all[k];
  }
}

// Range errors name the parameter, its bounds and the value.
TEST(Core, ParameterErrorsNameTheBounds)
{
  Engine en;
  ASSERT_EQ(nvdyn_stage_add(en.e, "nhc", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_add(en.e, "fire", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_add(en.e, "fire/ase", nullptr), NVDYN_OK);
  EXPECT_EQ(nvdyn_stage_set(en.e, 0, "chain", 9), NVDYN_ERR_VALUE);
  EXPECT_EQ(en.err(), "stage 0 (nhc): chain must be an integer >= 1 and <= 8, got 9");
  EXPECT_EQ(nvdyn_stage_set(en.e, 1, "alpha0", 1.5), NVDYN_ERR_VALUE);
  EXPECT_EQ(en.err(), "stage 1 (fire): alpha0 must be >= 0 and <= 1, got 1.5");
  EXPECT_EQ(nvdyn_stage_set(en.e, 1, "dtshrink", 0.0), NVDYN_ERR_VALUE);
  EXPECT_EQ(en.err(), "stage 1 (fire): dtshrink must be > 0 and <= 1, got 0");
  EXPECT_EQ(nvdyn_stage_set(en.e, 2, "finc", 0.9), NVDYN_ERR_VALUE);
  EXPECT_EQ(en.err(), "stage 2 (fire/ase): finc must be >= 1, got 0.9");
  EXPECT_EQ(nvdyn_stage_set(en.e, 1, "maxstep", 0.1), NVDYN_ERR_UNKNOWN);    // a fire/ase name
  // required parameters and tmax >= tmin are checked when samples are set
  ASSERT_EQ(nvdyn_engine_set(en.e, "dt", 0.01), NVDYN_OK);
  EXPECT_EQ(nvdyn_engine_set_nsamples(en.e, 1), NVDYN_ERR_STATE);
  EXPECT_EQ(en.err(), "stage 0 (nhc): parameter temp is required");
  ASSERT_EQ(nvdyn_stage_set(en.e, 0, "temp", 1.0), NVDYN_OK);
  EXPECT_EQ(nvdyn_engine_set_nsamples(en.e, 1), NVDYN_ERR_STATE);
  EXPECT_EQ(en.err(), "stage 0 (nhc): parameter damp is required");
  ASSERT_EQ(nvdyn_stage_set(en.e, 0, "damp", 1.0), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_set(en.e, 1, "tmin", 20.0), NVDYN_OK);
  EXPECT_EQ(nvdyn_engine_set_nsamples(en.e, 1), NVDYN_ERR_STATE);
  EXPECT_EQ(en.err(), "stage 1 (fire): tmax (10) must be >= tmin (20)");
  ASSERT_EQ(nvdyn_stage_set(en.e, 1, "tmin", 0.02), NVDYN_OK);
  EXPECT_EQ(nvdyn_engine_set_nsamples(en.e, 1), NVDYN_OK) << en.err();
  double v = 0.0;
  ASSERT_EQ(nvdyn_stage_get(en.e, 2, "dt", &v), NVDYN_OK);
  EXPECT_EQ(v, 0.1);    // ASE's default, not the engine's dt
  ASSERT_EQ(nvdyn_stage_get(en.e, 1, "dt", &v), NVDYN_OK);
  EXPECT_EQ(v, 0.01);
  ASSERT_EQ(nvdyn_engine_get(en.e, "boltz", &v), NVDYN_OK);
  EXPECT_EQ(v, 1.0);
  EXPECT_EQ(nvdyn_engine_get(en.e, "kB", &v), NVDYN_ERR_UNKNOWN);
  EXPECT_EQ(en.err(), "unknown engine setting 'kB'");
}

// nvdyn_atoms.generation: 0 scans the per-atom indices on every call; a
// nonzero generation skips the scan only after a valid call with that same
// generation, counts and arrays, and not after the samples were set again
TEST(Core, GenerationSkipsOnlyTheScanOfUnchangedAtoms)
{
  Engine en;
  setup_nve(en.e, 0.1, 1.0, 2);
  Atoms at(2, false);
  at.sample = {0, 1};
  nvdyn_atoms a = at.atoms();
  auto rejected = [&](nvdyn_atoms b) {
    const nvdyn_status rc = nvdyn_post_update(en.e, &b);
    return rc == NVDYN_ERR_ATOMS &&
        en.err().find("sample index 2 out of range") != std::string::npos;
  };
  ASSERT_EQ(nvdyn_post_update(en.e, &a), NVDYN_OK);
  at.sample[1] = 2;
  EXPECT_TRUE(rejected(a));    // generation 0: scanned again

  at.sample[1] = 1;
  a.generation = 7;
  ASSERT_EQ(nvdyn_post_update(en.e, &a), NVDYN_OK);
  at.sample[1] = 2;
  a.generation = 8;    // a new generation is scanned
  EXPECT_TRUE(rejected(a));
  at.sample[1] = 1;
  ASSERT_EQ(nvdyn_post_update(en.e, &a), NVDYN_OK);
  nvdyn_atoms fewer = a;    // the same generation with other counts or arrays is scanned
  fewer.natoms = 1;
  ASSERT_EQ(nvdyn_post_update(en.e, &fewer), NVDYN_OK);
  std::vector<int> other = {0, 2};
  nvdyn_atoms moved = a;
  moved.sample = other.data();
  EXPECT_TRUE(rejected(moved));
  at.sample[1] = 2;    // after a failed scan, that generation is scanned again
  EXPECT_TRUE(rejected(a));

  // the caller's promise: an unchanged generation after a valid call is
  // not scanned
  at.sample[1] = 1;
  a.generation = 9;
  ASSERT_EQ(nvdyn_post_update(en.e, &a), NVDYN_OK);
  at.sample[0] = 0;
  EXPECT_EQ(nvdyn_post_update(en.e, &a), NVDYN_OK);
  // samples set again: every generation is scanned again
  ASSERT_EQ(nvdyn_engine_set_nsamples(en.e, 1), NVDYN_OK);
  EXPECT_EQ(nvdyn_post_update(en.e, &a), NVDYN_ERR_ATOMS);
  EXPECT_NE(en.err().find("sample index 1 out of range"), std::string::npos) << en.err();
}
