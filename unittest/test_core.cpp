// Tests of the NVDYN C core through its public C ABI only (no LAMMPS, no MPI).
#include "nvdyn.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
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
  ASSERT_EQ(nvdyn_engine_set_timestep(e, dt, ftm2v), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_nsamples(e, nsamples), NVDYN_OK);
}

void step(nvdyn_engine *e, Atoms &at, int *moved = nullptr)
{
  nvdyn_atoms a = at.atoms();
  ASSERT_EQ(nvdyn_pre_update(e, &a), NVDYN_OK) << nvdyn_engine_last_error(e);
  ASSERT_EQ(nvdyn_post_update(e, &a), NVDYN_OK) << nvdyn_engine_last_error(e);
  ASSERT_EQ(nvdyn_end_step(e, moved), NVDYN_OK) << nvdyn_engine_last_error(e);
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
  ASSERT_EQ(nvdyn_stage_until_steps(en.e, 0, 7), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until_steps(en.e, 1, 3), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_timestep(en.e, 0.1, 1.0), NVDYN_OK);
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
  ASSERT_EQ(nvdyn_stage_add(en.e, "nve", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_nsamples(en.e, 1), NVDYN_OK);
  for (int t = 0; t < 100; t++) ASSERT_EQ(nvdyn_end_step(en.e, nullptr), NVDYN_OK);
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
  EXPECT_EQ(nvdyn_engine_set_timestep(en.e, -0.1, 1.0), NVDYN_ERR_VALUE);
  EXPECT_NE(en.err().find("time step"), std::string::npos) << en.err();
  EXPECT_EQ(nvdyn_engine_set_timestep(en.e, NAN, 1.0), NVDYN_ERR_VALUE);
  EXPECT_EQ(nvdyn_engine_set_timestep(en.e, 0.1, 0.0), NVDYN_ERR_VALUE);
  EXPECT_EQ(nvdyn_stage_until_steps(en.e, 0, 0), NVDYN_ERR_VALUE);
  EXPECT_EQ(nvdyn_stage_until_steps(en.e, 1, 5), NVDYN_ERR_VALUE);
  EXPECT_NE(en.err().find("stage index 1"), std::string::npos) << en.err();
  EXPECT_EQ(nvdyn_engine_set_nsamples(en.e, 0), NVDYN_ERR_VALUE);
  EXPECT_NE(en.err().find("samples"), std::string::npos) << en.err();

  Atoms at(2, false);
  nvdyn_atoms a = at.atoms();
  EXPECT_EQ(nvdyn_pre_update(en.e, &a), NVDYN_ERR_STATE);    // no samples yet
  ASSERT_EQ(nvdyn_engine_set_nsamples(en.e, 2), NVDYN_OK);
  EXPECT_EQ(nvdyn_pre_update(en.e, &a), NVDYN_ERR_STATE);    // no time step yet
  ASSERT_EQ(nvdyn_engine_set_timestep(en.e, 0.1, 1.0), NVDYN_OK);
  EXPECT_EQ(nvdyn_stage_add(en.e, "nve", nullptr), NVDYN_ERR_STATE);
  EXPECT_EQ(nvdyn_pre_update(en.e, nullptr), NVDYN_ERR_NULL);

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
  EXPECT_EQ(nvdyn_engine_nstages(en.e, nullptr), NVDYN_ERR_NULL);
  EXPECT_EQ(nvdyn_engine_nsamples(nullptr, nullptr), NVDYN_ERR_NULL);
  EXPECT_EQ(nvdyn_end_step(nullptr, nullptr), NVDYN_ERR_NULL);
  a = at.atoms();
  EXPECT_EQ(nvdyn_post_update(en.e, &a), NVDYN_OK);
  EXPECT_STREQ(nvdyn_engine_last_error(en.e), "");    // cleared by a successful call
}
