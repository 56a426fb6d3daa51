// Physics tests of the NVDYN C core through its public C ABI (nvdyn.h) only:
// energy conservation and its O(dt^2) error, canonical sampling of the
// thermostats, FIRE minima of Lennard-Jones clusters, per-sample independence,
// atom-order independence of the random numbers, velocity initialisation.
//
// Every test asserts a physical or contractual fact. Sizes and step counts are
// chosen so that the whole binary runs in a few seconds (well under a minute
// under AddressSanitizer); every random number is drawn from a fixed seed, so
// the tests are deterministic. Statistical tolerances are >= 4 standard
// errors of the estimate (given in the comments), so that they would hold for
// almost any seed, and are still tight enough to catch a wrong factor.
#include "lj_model.h"
#include "nvdyn.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <vector>

namespace {

#define ASSERT_OK(engine, call)                                                                    \
  ASSERT_EQ((call), NVDYN_OK) << #call << ": " << nvdyn_engine_last_error(engine)

struct Engine {
  nvdyn_engine *e = nullptr;
  Engine() { EXPECT_EQ(nvdyn_engine_create(&e), NVDYN_OK); }
  ~Engine() { nvdyn_engine_destroy(e); }
  Engine(const Engine &) = delete;
  Engine &operator=(const Engine &) = delete;
};

// Deterministic random numbers of the tests themselves (SplitMix64 and
// Box-Muller), independent of the C++ library's distributions.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed) {}
  uint64_t next()
  {
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return ((double) (next() >> 11) + 0.5) / 9007199254740992.0; }
  double gauss()
  {
    const double u1 = uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
};

// Atoms in interleaved layout (x0 y0 z0 x1 ...), ids 1..n; each atom's
// index in its sample is its rank by id among the sample's atoms.
struct System {
  int n;
  std::vector<double> x, v, f, pe, rmass;
  std::vector<double> type_mass{0.0, 1.0};    // index 0 unused
  std::vector<int> type, sample;
  std::vector<int64_t> id;
  std::vector<int32_t> index;
  bool use_rmass = false;

  explicit System(int natoms) :
      n(natoms), x(3 * natoms), v(3 * natoms), f(3 * natoms), pe(natoms), rmass(natoms, 1.0),
      type(natoms, 1), sample(natoms, 0), id(natoms), index(natoms)
  {
    for (int i = 0; i < n; i++) id[i] = i + 1;
  }
  double mass(int i) const { return use_rmass ? rmass[i] : type_mass[type[i]]; }
  nvdyn_atoms atoms()
  {
    nvdyn_atoms a{};
    a.natoms = n;
    a.x = nvdyn_view3{x.data(), 3, 1};
    a.v = nvdyn_view3{v.data(), 3, 1};
    a.f = nvdyn_view3{f.data(), 3, 1};
    a.rmass = use_rmass ? rmass.data() : nullptr;
    a.type_mass = type_mass.data();
    a.type = type.data();
    a.ntypes = (int) type_mass.size() - 1;
    a.sample = sample.data();
    std::vector<int> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [this](int i, int j) { return id[i] < id[j]; });
    std::map<int, int32_t> next;
    for (int i : order) index[i] = next[sample[i]]++;
    a.index = index.data();
    a.pe = pe.data();
    return a;
  }
  // kinetic energy mvv2e * sum m v^2 / 2 per sample
  std::vector<double> kinetic(int nsamples, double mvv2e) const
  {
    std::vector<double> ke(nsamples, 0.0);
    for (int i = 0; i < n; i++) {
      if (sample[i] < 0) continue;
      const double *vi = &v[3 * i];
      ke[sample[i]] += 0.5 * mvv2e * mass(i) * (vi[0] * vi[0] + vi[1] * vi[1] + vi[2] * vi[2]);
    }
    return ke;
  }
  std::vector<int> count(int nsamples) const
  {
    std::vector<int> c(nsamples, 0);
    for (int i = 0; i < n; i++)
      if (sample[i] >= 0) c[sample[i]]++;
    return c;
  }
};

inline double &comp(const nvdyn_view3 &w, int i, int k)
{
  return w.data[i * w.atom_stride + k * w.comp_stride];
}

// Independent 3D harmonic oscillators about the origin: f = -k_i x, pe = k_i x^2 / 2;
// k is indexed like the atom arrays.
struct Harmonic {
  std::vector<double> k;
};

int harmonic_forces(const nvdyn_atoms *a, void *user)
{
  const Harmonic *h = static_cast<const Harmonic *>(user);
  for (int i = 0; i < a->natoms; i++) {
    double r2 = 0.0;
    for (int c = 0; c < 3; c++) {
      double xc = comp(a->x, i, c);
      comp(a->f, i, c) = -h->k[i] * xc;
      r2 += xc * xc;
    }
    if (a->pe) const_cast<double *>(a->pe)[i] = 0.5 * h->k[i] * r2;
  }
  return 0;
}

double harmonic_energy(const System &s, const Harmonic &h, int sample)
{
  double e = 0.0;
  for (int i = 0; i < s.n; i++)
    if (s.sample[i] == sample)
      e += 0.5 * h.k[i] *
          (s.x[3 * i] * s.x[3 * i] + s.x[3 * i + 1] * s.x[3 * i + 1] +
           s.x[3 * i + 2] * s.x[3 * i + 2]);
  return e;
}

int zero_forces(const nvdyn_atoms *a, void *)
{
  for (int i = 0; i < a->natoms; i++) {
    for (int c = 0; c < 3; c++) comp(a->f, i, c) = 0.0;
    if (a->pe) const_cast<double *>(a->pe)[i] = 0.0;
  }
  return 0;
}

// n steps with a force callback
void run(nvdyn_engine *e, System &s, nvdyn_force_fn force, void *user, int nsteps)
{
  nvdyn_atoms a = s.atoms();
  for (int t = 0; t < nsteps; t++) ASSERT_OK(e, nvdyn_step(e, &a, force, user, nullptr));
}

// Velocities of one sample with zero net momentum, scaled to exactly temperature T
// with nf degrees of freedom (our own drawing, not the engine's).
void set_temperature(System &s, int sample, double T, int nf, double boltz, double mvv2e, Rng &rng)
{
  double p[3] = {0, 0, 0}, m = 0.0;
  for (int i = 0; i < s.n; i++) {
    if (s.sample[i] != sample) continue;
    for (int c = 0; c < 3; c++) {
      s.v[3 * i + c] = rng.gauss() / std::sqrt(s.mass(i));
      p[c] += s.mass(i) * s.v[3 * i + c];
    }
    m += s.mass(i);
  }
  for (int i = 0; i < s.n; i++)
    if (s.sample[i] == sample)
      for (int c = 0; c < 3; c++) s.v[3 * i + c] -= p[c] / m;
  double ke = 0.0;
  for (int i = 0; i < s.n; i++)
    if (s.sample[i] == sample)
      for (int c = 0; c < 3; c++) ke += 0.5 * mvv2e * s.mass(i) * s.v[3 * i + c] * s.v[3 * i + c];
  double scale = std::sqrt(0.5 * nf * boltz * T / ke);
  for (int i = 0; i < s.n; i++)
    if (s.sample[i] == sample)
      for (int c = 0; c < 3; c++) s.v[3 * i + c] *= scale;
}

struct Stats {
  double n = 0, sum = 0, sum2 = 0;
  void add(double v)
  {
    n += 1;
    sum += v;
    sum2 += v * v;
  }
  double mean() const { return sum / n; }
  double var() const { return (sum2 - sum * sum / n) / (n - 1); }
};

}    // namespace

// ---------------------------------------------------------------------------
// 1. Velocity Verlet conserves the energy of a harmonic oscillator with an
// O(dt^2) error. With unit factors ftm2v = 1/4, mvv2e = 4 (any consistent unit
// system has ftm2v * mvv2e = 1) the energy mvv2e m v^2/2 + k x^2/2 is the
// conserved one, and omega^2 = k ftm2v / m = 1.
// Velocity Verlet on a harmonic oscillator conserves exactly the shadow energy
// mvv2e m v^2/2 + (k/2)(1 - (omega dt)^2/4) |x|^2, so E - E0 = c (|x|^2 - |x0|^2)
// with c = k (omega dt)^2 / 8: the largest error is c (|x0|^2 - min |x|^2) (the
// orbit x0 cos t + v0 sin t gives the minimum), and halving dt divides it by 4.

namespace {
double nve_max_energy_error(double dt, double t_total, double *e0)
{
  Engine en;
  nvdyn_engine *e = en.e;
  EXPECT_EQ(nvdyn_engine_set(e, "dt", dt), NVDYN_OK);
  EXPECT_EQ(nvdyn_engine_set(e, "ftm2v", 0.25), NVDYN_OK);
  EXPECT_EQ(nvdyn_engine_set(e, "mvv2e", 4.0), NVDYN_OK);
  EXPECT_EQ(nvdyn_stage_add(e, "nve", nullptr), NVDYN_OK);
  EXPECT_EQ(nvdyn_engine_set_nsamples(e, 1), NVDYN_OK) << nvdyn_engine_last_error(e);
  System s(1);
  s.type_mass = {0.0, 2.0};
  s.x = {1.0, -0.5, 0.3};
  s.v = {0.2, 0.4, -0.6};
  Harmonic h{{8.0}};
  nvdyn_atoms a = s.atoms();
  harmonic_forces(&a, &h);
  auto energy = [&]() { return s.kinetic(1, 4.0)[0] + harmonic_energy(s, h, 0); };
  *e0 = energy();
  const int nsteps = (int) std::lround(t_total / dt);
  double maxerr = 0.0;
  for (int t = 0; t < nsteps; t++) {
    nvdyn_status st = nvdyn_step(e, &a, harmonic_forces, &h, nullptr);
    EXPECT_EQ(st, NVDYN_OK) << nvdyn_engine_last_error(e);
    if (st != NVDYN_OK) return NAN;
    maxerr = std::max(maxerr, std::fabs(energy() - *e0));
  }
  // the trajectory is the analytic one to O(dt^2): x(t) = x0 cos t + v0 sin t (omega = 1)
  const double tt = nsteps * dt;
  const double x0[3] = {1.0, -0.5, 0.3}, v0[3] = {0.2, 0.4, -0.6};
  for (int c = 0; c < 3; c++)
    EXPECT_NEAR(s.x[c], x0[c] * std::cos(tt) + v0[c] * std::sin(tt), 0.1 * dt * dt * tt);
  return maxerr;
}
}    // namespace

TEST(CorePhysics, NveEnergyErrorIsSecondOrder)
{
  const double t_total = 20.0;    // about three periods
  double e0 = 0.0, e0b = 0.0;
  const double err1 = nve_max_energy_error(0.1, t_total, &e0);
  const double err2 = nve_max_energy_error(0.05, t_total, &e0b);
  ASSERT_EQ(e0, e0b);
  const double ratio = err1 / err2;
  RecordProperty("energy_error_dt", std::to_string(err1 / e0));
  RecordProperty("energy_error_ratio", std::to_string(ratio));
  std::printf("[ measure  ] nve max |E-E0|/E0: dt=0.1 %.4e, dt=0.05 %.4e, ratio %.4f\n", err1 / e0,
              err2 / e0, ratio);
  EXPECT_GT(ratio, 3.5);
  EXPECT_LT(ratio, 4.5);
  // and it is the velocity-Verlet error: c (|x0|^2 - min |x|^2), |x|^2 = A cos^2 +
  // B sin^2 + 2 C sin cos, to O(dt^2) of the trajectory (a few 0.1%)
  const double A = 1.34, B = 0.56, C = -0.18;    // |x0|^2, |v0|^2, x0.v0
  const double xmin2 = 0.5 * (A + B) - std::sqrt(0.25 * (A - B) * (A - B) + C * C);
  const double predicted = 8.0 * 0.1 * 0.1 / 8.0 * (A - xmin2);
  std::printf("[ measure  ] nve max |E-E0| at dt=0.1: %.6e, predicted %.6e\n", err1, predicted);
  EXPECT_NEAR(err1 / predicted, 1.0, 0.02);
  EXPECT_NEAR(err2 / (predicted / 4), 1.0, 0.02);
}

// ---------------------------------------------------------------------------
// 2. The Nose-Hoover chain conserves its extended energy PE + KE + THERMOSTAT,
// with an error that shrinks about 4x when dt halves, while it brings the
// system from T = 0.25 to the target T = 1. One sample of 64 independent 3D
// harmonic oscillators of different stiffness (extra_dof 0: particles in an
// external potential have 3N degrees of freedom).

namespace {
struct NhcResult {
  double max_dev = NAN;     // max |H - H0| / (Nf k T / 2)
  double t_first = NAN;     // time-averaged temperature, first tenth of the run
  double t_second = NAN;    // time-averaged temperature, second half of the run
  double t_engine = NAN;    // the engine's TEMPERATURE value at the end
  double t_mine = NAN;      // ours at the end
};

NhcResult run_nhc(double dt, double t_total)
{
  NhcResult r;
  const int n = 64, nf = 3 * n;
  const double T = 1.0, T0 = 0.25;
  Engine en;
  nvdyn_engine *e = en.e;
  int st = -1;
  EXPECT_EQ(nvdyn_engine_set(e, "dt", dt), NVDYN_OK);
  EXPECT_EQ(nvdyn_stage_add(e, "nhc", &st), NVDYN_OK);
  EXPECT_EQ(nvdyn_stage_set(e, st, "temp", T), NVDYN_OK);
  EXPECT_EQ(nvdyn_stage_set(e, st, "damp", 0.5), NVDYN_OK);
  EXPECT_EQ(nvdyn_stage_set(e, st, "extra_dof", 0), NVDYN_OK);
  EXPECT_EQ(nvdyn_stage_until(e, st, "steps", 1e9), NVDYN_OK);    // checks every step
  EXPECT_EQ(nvdyn_engine_set_nsamples(e, 1), NVDYN_OK) << nvdyn_engine_last_error(e);
  System s(n);
  Harmonic h;
  Rng rng(2024);
  for (int i = 0; i < n; i++) {
    h.k.push_back(0.5 + 1.5 * rng.uniform());
    for (int c = 0; c < 3; c++) s.x[3 * i + c] = std::sqrt(T0 / h.k[i]) * rng.gauss();
  }
  set_temperature(s, 0, T0, nf, 1.0, 1.0, rng);
  nvdyn_atoms a = s.atoms();
  harmonic_forces(&a, &h);
  double thermo = NAN;
  EXPECT_EQ(nvdyn_get_sample_values(e, NVDYN_VALUE_THERMOSTAT, &thermo), NVDYN_OK);
  const double h0 = s.kinetic(1, 1.0)[0] + harmonic_energy(s, h, 0) + thermo;
  const int nsteps = (int) std::lround(t_total / dt);
  Stats first, second;
  r.max_dev = 0.0;
  for (int t = 1; t <= nsteps; t++) {
    nvdyn_status stat = nvdyn_step(e, &a, harmonic_forces, &h, nullptr);
    EXPECT_EQ(stat, NVDYN_OK) << nvdyn_engine_last_error(e);
    if (stat != NVDYN_OK) return r;
    EXPECT_EQ(nvdyn_get_sample_values(e, NVDYN_VALUE_THERMOSTAT, &thermo), NVDYN_OK);
    const double ke = s.kinetic(1, 1.0)[0];
    const double hh = ke + harmonic_energy(s, h, 0) + thermo;
    r.max_dev = std::max(r.max_dev, std::fabs(hh - h0) / (0.5 * nf * T));
    const double temp = 2.0 * ke / nf;
    if (t <= nsteps / 10) first.add(temp);
    if (t > nsteps / 2) second.add(temp);
    if (t == nsteps) r.t_mine = temp;
  }
  r.t_first = first.mean();
  r.t_second = second.mean();
  EXPECT_EQ(nvdyn_get_sample_values(e, NVDYN_VALUE_TEMPERATURE, &r.t_engine), NVDYN_OK);
  return r;
}
}    // namespace

TEST(CorePhysics, NhcConservesExtendedEnergy)
{
  const double t_total = 100.0;    // 200 thermostat periods damp
  const NhcResult a = run_nhc(0.02, t_total);
  const NhcResult b = run_nhc(0.01, t_total);
  std::printf("[ measure  ] nhc max |H-H0|/(Nf kT/2): dt=0.02 %.4e, dt=0.01 %.4e, ratio %.4f\n",
              a.max_dev, b.max_dev, a.max_dev / b.max_dev);
  std::printf("[ measure  ] nhc <T>: first tenth %.4f, second half %.4f (dt=0.02), "
              "%.4f (dt=0.01); target 1, start 0.25\n",
              a.t_first, a.t_second, b.t_second);
  // the extended energy is conserved to a small fraction of the thermal energy
  EXPECT_LT(a.max_dev, 1e-3);
  EXPECT_LT(b.max_dev, 2.5e-4);
  // second order in dt
  EXPECT_GT(a.max_dev / b.max_dev, 3.5);
  EXPECT_LT(a.max_dev / b.max_dev, 4.5);
  // the thermostat works: from 0.25 to the target (T fluctuates by sqrt(2/192) = 10%
  // per sample; the average over 50 time units of 1/4-time-unit correlated values
  // has a standard error ~1.5%)
  EXPECT_NEAR(a.t_second, 1.0, 0.06);
  EXPECT_NEAR(b.t_second, 1.0, 0.06);
  // the engine's temperature uses Nf = 3N - extra_dof = 3N
  EXPECT_NEAR(a.t_engine, a.t_mine, 1e-12 * a.t_mine);
}

// ---------------------------------------------------------------------------
// 3. Canonical kinetic energy: mean (Nf/2) kT, variance (Nf/2) (kT)^2.
// Unit factors boltz = 2, mvv2e = 4, ftm2v = 1/4 and target T = 0.75 (kT = 1.5),
// masses 1 and 3, so that every factor matters.

namespace {
const double kBoltz = 2.0, kMvv2e = 4.0, kFtm2v = 0.25;

void set_units(nvdyn_engine *e, double dt)
{
  ASSERT_OK(e, nvdyn_engine_set(e, "dt", dt));
  ASSERT_OK(e, nvdyn_engine_set(e, "boltz", kBoltz));
  ASSERT_OK(e, nvdyn_engine_set(e, "mvv2e", kMvv2e));
  ASSERT_OK(e, nvdyn_engine_set(e, "ftm2v", kFtm2v));
}
}    // namespace

// Langevin (BAOAB) on 64 samples of 8 harmonic oscillators each (Nf = 24 per
// sample: every degree of freedom is thermostatted, extra_dof 0), omega in
// [0.7, 1], damp 1 (underdamped). Each sample's kinetic and potential energy is
// taken every 100 steps (2 time units: correlation of successive kinetic
// energies ~e^-2, of potential energies <~ e^-1) for 100 times: 6400 values.
// Standard errors: mean KE sqrt(2/24)/80 = 0.4%, variance sqrt(2.5/6400) = 2%,
// mean PE ~0.6%. The BAOAB kinetic bias at omega dt <= 0.02 is < 0.01%.
TEST(CorePhysics, LangevinKineticEnergyIsCanonical)
{
  const int nsamples = 64, per = 8, n = nsamples * per, nf = 3 * per;
  const double T = 0.75, kT = kBoltz * T, dt = 0.02;
  Engine en;
  nvdyn_engine *e = en.e;
  ASSERT_NO_FATAL_FAILURE(set_units(e, dt));
  int st = -1;
  ASSERT_OK(e, nvdyn_stage_add(e, "langevin", &st));
  ASSERT_OK(e, nvdyn_stage_set(e, st, "temp", T));
  ASSERT_OK(e, nvdyn_stage_set(e, st, "damp", 1.0));
  ASSERT_OK(e, nvdyn_stage_set(e, st, "seed", 4242));
  ASSERT_OK(e, nvdyn_stage_set(e, st, "extra_dof", 0));
  ASSERT_OK(e, nvdyn_stage_set(e, st, "velocity", T));
  ASSERT_OK(e, nvdyn_stage_set(e, st, "velocity_seed", 77));
  ASSERT_OK(e, nvdyn_engine_set_nsamples(e, nsamples));
  System s(n);
  s.type_mass = {0.0, 1.0, 3.0};
  Harmonic h;
  Rng rng(99);
  for (int i = 0; i < n; i++) {
    s.sample[i] = i / per;
    s.type[i] = 1 + i % 2;
    // omega^2 = k ftm2v / m in [0.5, 1]
    h.k.push_back(s.mass(i) / kFtm2v * (0.5 + 0.5 * rng.uniform()));
    for (int c = 0; c < 3; c++) s.x[3 * i + c] = std::sqrt(kT / h.k[i]) * rng.gauss();
  }
  nvdyn_atoms a = s.atoms();
  harmonic_forces(&a, &h);
  ASSERT_NO_FATAL_FAILURE(run(e, s, harmonic_forces, &h, 250));    // 5 time units
  Stats ke, pe;
  for (int m = 0; m < 100; m++) {
    ASSERT_NO_FATAL_FAILURE(run(e, s, harmonic_forces, &h, 100));
    std::vector<double> k = s.kinetic(nsamples, kMvv2e);
    for (int j = 0; j < nsamples; j++) {
      ke.add(k[j]);
      pe.add(harmonic_energy(s, h, j));
    }
  }
  const double mean = 0.5 * nf * kT, var = 0.5 * nf * kT * kT;
  std::printf("[ measure  ] langevin KE mean %.4f (expect %.4f, %+.2f%%), var %.4f (expect "
              "%.4f, %+.2f%%), PE mean %.4f (%+.2f%%)\n",
              ke.mean(), mean, 100 * (ke.mean() / mean - 1), ke.var(), var,
              100 * (ke.var() / var - 1), pe.mean(), 100 * (pe.mean() / mean - 1));
  EXPECT_NEAR(ke.mean() / mean, 1.0, 0.02);
  EXPECT_NEAR(ke.var() / var, 1.0, 0.10);
  // equipartition in the positions too (BAOAB samples a harmonic potential exactly)
  EXPECT_NEAR(pe.mean() / mean, 1.0, 0.03);
}

// CSVR (Bussi) on 64 samples of 8 free particles each (forces 0), started with
// the stage's velocity initialisation (zero net momentum) and extra_dof 3:
// Nf = 21 per sample and the kinetic energy is exactly Gamma(Nf/2, kT).
// Values every 10 steps (2 damp: correlation e^-2), 150 per sample: 9600 values.
// Standard errors: mean sqrt(2/21)/98 = 0.31%, variance sqrt((2 + 6/10.5)/9600) = 1.6%.
TEST(CorePhysics, CsvrKineticEnergyIsCanonical)
{
  const int nsamples = 64, per = 8, n = nsamples * per, nf = 3 * per - 3;
  const double T = 0.75, kT = kBoltz * T, dt = 0.05;
  Engine en;
  nvdyn_engine *e = en.e;
  ASSERT_NO_FATAL_FAILURE(set_units(e, dt));
  int st = -1;
  ASSERT_OK(e, nvdyn_stage_add(e, "csvr", &st));
  ASSERT_OK(e, nvdyn_stage_set(e, st, "temp", T));
  ASSERT_OK(e, nvdyn_stage_set(e, st, "damp", 0.25));
  ASSERT_OK(e, nvdyn_stage_set(e, st, "seed", 31337));
  ASSERT_OK(e, nvdyn_stage_set(e, st, "velocity", 3.0 * T));    // start far from T
  ASSERT_OK(e, nvdyn_stage_set(e, st, "velocity_seed", 5));
  ASSERT_OK(e, nvdyn_engine_set_nsamples(e, nsamples));
  System s(n);
  s.type_mass = {0.0, 1.0, 3.0};
  for (int i = 0; i < n; i++) {
    s.sample[i] = i % nsamples;    // samples interleaved
    s.type[i] = 1 + (i / nsamples) % 2;
    s.x[3 * i] = i;
  }
  ASSERT_NO_FATAL_FAILURE(run(e, s, zero_forces, nullptr, 100));    // 20 damp
  Stats ke;
  for (int m = 0; m < 150; m++) {
    ASSERT_NO_FATAL_FAILURE(run(e, s, zero_forces, nullptr, 10));
    for (double k : s.kinetic(nsamples, kMvv2e)) ke.add(k);
  }
  const double mean = 0.5 * nf * kT, var = 0.5 * nf * kT * kT;
  std::printf("[ measure  ] csvr KE mean %.4f (expect %.4f, %+.2f%%), var %.4f (expect %.4f, "
              "%+.2f%%)\n",
              ke.mean(), mean, 100 * (ke.mean() / mean - 1), ke.var(), var,
              100 * (ke.var() / var - 1));
  EXPECT_NEAR(ke.mean() / mean, 1.0, 0.02);
  EXPECT_NEAR(ke.var() / var, 1.0, 0.10);
  // CSVR only rescales: each sample's net momentum stays zero
  std::vector<double> p(3 * nsamples, 0.0), pabs(nsamples, 0.0);
  for (int i = 0; i < n; i++)
    for (int c = 0; c < 3; c++) {
      p[3 * s.sample[i] + c] += s.mass(i) * s.v[3 * i + c];
      pabs[s.sample[i]] += s.mass(i) * std::fabs(s.v[3 * i + c]);
    }
  for (int j = 0; j < nsamples; j++)
    for (int c = 0; c < 3; c++) EXPECT_LT(std::fabs(p[3 * j + c]), 1e-12 * pabs[j]);
}

// ---------------------------------------------------------------------------
// 4. CSVR thermostats each sample on its own: two samples of 128 free particles
// in one csvr stage, started at T = 0.1 and T = 5 (our velocities, zero net
// momentum), both reach the target T = 1. A single thermostat for both would
// keep the ratio of their kinetic energies (1:50) forever.
// Time average over 400 damp after 20 damp: T per value fluctuates by
// sqrt(2/381) = 7.2%, standard error of the average 7.2%/sqrt(200) = 0.5%.
TEST(CorePhysics, CsvrThermostatsEachSample)
{
  const int per = 128, n = 2 * per, nf = 3 * per - 3;
  const double T = 1.0, damp = 0.25, dt = 0.05;
  Engine en;
  nvdyn_engine *e = en.e;
  ASSERT_OK(e, nvdyn_engine_set(e, "dt", dt));
  int st = -1;
  ASSERT_OK(e, nvdyn_stage_add(e, "csvr", &st));
  ASSERT_OK(e, nvdyn_stage_set(e, st, "temp", T));
  ASSERT_OK(e, nvdyn_stage_set(e, st, "damp", damp));
  ASSERT_OK(e, nvdyn_stage_set(e, st, "seed", 8));
  ASSERT_OK(e, nvdyn_stage_until(e, st, "steps", 1e9));    // checks every step
  ASSERT_OK(e, nvdyn_engine_set_nsamples(e, 2));
  System s(n);
  for (int i = 0; i < n; i++) s.sample[i] = i < per ? 0 : 1;
  Rng rng(3);
  set_temperature(s, 0, 0.1, nf, 1.0, 1.0, rng);
  set_temperature(s, 1, 5.0, nf, 1.0, 1.0, rng);
  ASSERT_NO_FATAL_FAILURE(run(e, s, zero_forces, nullptr, 100));
  Stats t0, t1;
  double tv[2] = {NAN, NAN};
  for (int t = 0; t < 2000; t++) {
    ASSERT_NO_FATAL_FAILURE(run(e, s, zero_forces, nullptr, 1));
    std::vector<double> k = s.kinetic(2, 1.0);
    t0.add(2 * k[0] / nf);
    t1.add(2 * k[1] / nf);
    if (t == 1999) {
      // the engine's temperature of the last check is ours (Nf = 3N - 3)
      ASSERT_OK(e, nvdyn_get_sample_values(e, NVDYN_VALUE_TEMPERATURE, tv));
      EXPECT_NEAR(tv[0], 2 * k[0] / nf, 1e-12 * tv[0]);
      EXPECT_NEAR(tv[1], 2 * k[1] / nf, 1e-12 * tv[1]);
    }
  }
  std::printf("[ measure  ] csvr per sample <T>: %.4f (from 0.1), %.4f (from 5), target 1\n",
              t0.mean(), t1.mean());
  EXPECT_NEAR(t0.mean(), T, 0.03 * T);
  EXPECT_NEAR(t1.mean(), T, 0.03 * T);
}

// ---------------------------------------------------------------------------
// 5. FIRE takes perturbed LJ13 and LJ38 global minima back to the published
// energies (Cambridge Cluster Database): -44.326801 and -173.928427.

namespace {
// relax the clusters (one sample each, atoms of a sample contiguous) in one
// stage of the given style until fmax; returns false on an engine error
struct Relaxed {
  std::vector<int> outcome;
  std::vector<int64_t> steps;    // steps in stage 0
  std::vector<double> fmax;      // the engine's FMAX value at the end
  std::vector<double> energy;    // the engine's ENERGY value at the end
};

void relax(const char *style, const std::vector<std::vector<double>> &clusters, double fmax,
           System &s, Relaxed &r)
{
  const int ns = (int) clusters.size();
  Engine en;
  nvdyn_engine *e = en.e;
  int st = -1;
  ASSERT_OK(e, nvdyn_engine_set(e, "dt", 0.01));
  ASSERT_OK(e, nvdyn_stage_add(e, style, &st));
  ASSERT_OK(e, nvdyn_stage_until(e, st, "fmax", fmax));
  ASSERT_OK(e, nvdyn_stage_set(e, st, "maxsteps", 20000));
  ASSERT_OK(e, nvdyn_engine_set_nsamples(e, ns));
  int n = 0;
  for (auto &c : clusters) n += (int) c.size() / 3;
  s = System(n);
  int i = 0;
  for (int j = 0; j < ns; j++)
    for (size_t k = 0; k < clusters[j].size() / 3; k++, i++) {
      s.sample[i] = j;
      for (int c = 0; c < 3; c++) s.x[3 * i + c] = clusters[j][3 * k + c];
    }
  nvdyn_atoms a = s.atoms();
  ASSERT_EQ(lj_forces(&a, nullptr), 0);
  r.outcome.assign(ns, -1);
  int nactive = ns;
  for (int t = 0; t < 25000 && nactive > 0; t++) {
    int nchanged = 0;
    ASSERT_OK(e, nvdyn_step(e, &a, lj_forces, nullptr, &nchanged));
    if (nchanged) {
      ASSERT_OK(e, nvdyn_get_sample_outcomes(e, r.outcome.data()));
      nactive = (int) std::count(r.outcome.begin(), r.outcome.end(), (int) NVDYN_ACTIVE);
    }
  }
  ASSERT_OK(e, nvdyn_get_sample_outcomes(e, r.outcome.data()));
  r.steps.assign(ns, -1);
  std::vector<int64_t> per_stage(1);
  for (int j = 0; j < ns; j++) {
    ASSERT_OK(e, nvdyn_get_sample_stage_steps(e, j, per_stage.data()));
    r.steps[j] = per_stage[0];
  }
  r.fmax.assign(ns, NAN);
  ASSERT_OK(e, nvdyn_get_sample_values(e, NVDYN_VALUE_FMAX, r.fmax.data()));
  r.energy.assign(ns, NAN);
  ASSERT_OK(e, nvdyn_get_sample_values(e, NVDYN_VALUE_ENERGY, r.energy.data()));
}

std::vector<double> cluster_atoms(const System &s, int sample)
{
  std::vector<double> x;
  for (int i = 0; i < s.n; i++)
    if (s.sample[i] == sample) x.insert(x.end(), &s.x[3 * i], &s.x[3 * i + 3]);
  return x;
}

// largest per-atom force norm of each sample, recomputed by the model
std::vector<double> fmax_of(System &s, int nsamples)
{
  std::vector<double> fm(nsamples, 0.0);
  nvdyn_atoms a = s.atoms();
  lj_forces(&a, nullptr);
  for (int i = 0; i < s.n; i++) {
    const double *fi = &s.f[3 * i];
    fm[s.sample[i]] =
        std::max(fm[s.sample[i]], std::sqrt(fi[0] * fi[0] + fi[1] * fi[1] + fi[2] * fi[2]));
  }
  return fm;
}

const double kLJ13 = -44.326801, kLJ38 = -173.928427;
}    // namespace

TEST(CorePhysics, FireFindsLJ13AndLJ38Minima)
{
  for (const char *style : {"fire", "fire/ase"}) {
    SCOPED_TRACE(style);
    std::vector<double> x13(3 * 13), x38(3 * 38);
    lj_cluster_ico13(x13.data());
    lj_cluster_to38(x38.data());
    lj_perturb(13, x13.data(), 0.1, 13);
    lj_perturb(38, x38.data(), 0.1, 38);
    EXPECT_GT(lj_energy(13, x13.data()) - kLJ13, 0.1);    // really perturbed
    EXPECT_GT(lj_energy(38, x38.data()) - kLJ38, 0.1);
    System s(0);
    Relaxed r;
    ASSERT_NO_FATAL_FAILURE(relax(style, {x13, x38}, 1e-6, s, r));
    const double e13 = lj_energy(13, cluster_atoms(s, 0).data());
    const double e38 = lj_energy(38, cluster_atoms(s, 1).data());
    std::printf("[ measure  ] %s: LJ13 %.7f in %lld steps, LJ38 %.7f in %lld steps\n", style, e13,
                (long long) r.steps[0], e38, (long long) r.steps[1]);
    EXPECT_EQ(r.outcome[0], NVDYN_DONE);
    EXPECT_EQ(r.outcome[1], NVDYN_DONE);
    EXPECT_NEAR(e13, kLJ13, 1e-6);
    EXPECT_NEAR(e38, kLJ38, 1e-6);
    // the engine's ENERGY "as of the sample's last check" (nvdyn.h: the converging
    // check, per-atom energies were given) is the final energy
    EXPECT_NEAR(r.energy[0], e13, 1e-10) << "ENERGY of a done sample";
    EXPECT_NEAR(r.energy[1], e38, 1e-10) << "ENERGY of a done sample";
    std::vector<double> fm = fmax_of(s, 2);
    EXPECT_LE(fm[0], 1e-6);
    EXPECT_LE(fm[1], 1e-6);
  }
}

// ---------------------------------------------------------------------------
// 6. FIRE converges a batch of clusters of different sizes, each sample on its
// own: they leave the stage at different steps, each reaches fmax, and each
// sample's final positions are those of relaxing its cluster alone in its own
// engine (per-sample FIRE state, nothing shared between samples).
TEST(CorePhysics, FireBatchSamplesAreIndependent)
{
  std::vector<std::vector<double>> clusters;
  for (int n : {7, 13, 19, 26}) {
    std::vector<double> x(3 * n);
    lj_cluster_fcc(n, x.data());
    lj_perturb(n, x.data(), 0.05, 100 + n);
    clusters.push_back(x);
  }
  std::vector<double> ico(3 * 13), to(3 * 38);
  lj_cluster_ico13(ico.data());
  lj_perturb(13, ico.data(), 0.08, 5);
  lj_cluster_to38(to.data());
  lj_perturb(38, to.data(), 0.08, 6);
  clusters.push_back(ico);
  clusters.push_back(to);
  const int ns = (int) clusters.size();
  const double fmax = 1e-6;

  for (const char *style : {"fire", "fire/ase"}) {
    SCOPED_TRACE(style);
    System batch(0);
    Relaxed rb;
    ASSERT_NO_FATAL_FAILURE(relax(style, clusters, fmax, batch, rb));
    std::vector<double> fm = fmax_of(batch, ns);
    std::printf("[ measure  ] %s batch steps:", style);
    for (int j = 0; j < ns; j++) std::printf(" %lld", (long long) rb.steps[j]);
    std::printf("\n");
    // the samples leave the stage at different steps (the batch does not move in
    // lock step); that each stops exactly when it would alone is checked below
    std::set<int64_t> distinct(rb.steps.begin(), rb.steps.end());
    EXPECT_GE((int) distinct.size(), ns / 2 + 1) << "samples should stop on their own";
    int bitwise = 0;
    for (int j = 0; j < ns; j++) {
      SCOPED_TRACE("sample " + std::to_string(j));
      EXPECT_EQ(rb.outcome[j], NVDYN_DONE);
      EXPECT_LE(fm[j], fmax);
      // the engine's FMAX "as of the sample's last check" (nvdyn.h) is that of the
      // converging check, the final forces
      EXPECT_LE(rb.fmax[j], fmax) << "FMAX of a done sample";
      EXPECT_NEAR(rb.fmax[j], fm[j], 1e-15) << "FMAX of a done sample";
      System alone(0);
      Relaxed ra;
      ASSERT_NO_FATAL_FAILURE(relax(style, {clusters[j]}, fmax, alone, ra));
      EXPECT_EQ(ra.steps[0], rb.steps[j]);
      const std::vector<double> xb = cluster_atoms(batch, j), xa = cluster_atoms(alone, 0);
      ASSERT_EQ(xb.size(), xa.size());
      double maxdiff = 0.0;
      for (size_t k = 0; k < xa.size(); k++) maxdiff = std::max(maxdiff, std::fabs(xb[k] - xa[k]));
      EXPECT_LE(maxdiff, 1e-12);
      const int na = (int) xa.size() / 3;
      EXPECT_NEAR(lj_energy(na, xb.data()), lj_energy(na, xa.data()), 1e-12);
      if (xa == xb) bitwise++;
    }
    std::printf("[ measure  ] %s: %d of %d samples bitwise identical to the lone run\n", style,
                bitwise, ns);
  }
}

// ---------------------------------------------------------------------------
// 7. The random numbers are keyed by the global atom id, not by the position
// of the atom in the arrays: a langevin run with the atoms stored in another
// order (two samples, interleaved) gives the same trajectory per atom id.
namespace {
struct Trajectory {
  std::vector<double> x, v;    // by id - 1, at the end
  std::vector<double> mid;     // x by id - 1 after half the run
};

// other_ids: the atoms get other IDs, in the same order (1000 + 7 id)
void langevin_permuted(const std::vector<int> &perm, bool other_ids, bool velocity_init,
                       double seed, Trajectory &tr)
{
  const int n = (int) perm.size();
  // the reference system, atom i has id i + 1
  System ref(n);
  ref.type_mass = {0.0, 1.0, 2.5};
  Harmonic href;
  Rng rng(17);
  for (int i = 0; i < n; i++) {
    ref.sample[i] = i % 2;
    ref.type[i] = 1 + (i % 3 == 0);
    href.k.push_back(0.5 + rng.uniform());
    for (int c = 0; c < 3; c++) {
      ref.x[3 * i + c] = rng.gauss();
      ref.v[3 * i + c] = rng.gauss();
    }
  }
  // stored in the order perm: slot j holds reference atom perm[j]
  System s(n);
  s.type_mass = ref.type_mass;
  Harmonic h;
  for (int j = 0; j < n; j++) {
    const int i = perm[j];
    s.sample[j] = ref.sample[i];
    s.type[j] = ref.type[i];
    s.id[j] = other_ids ? 1000 + 7 * ref.id[i] : ref.id[i];
    h.k.push_back(href.k[i]);
    for (int c = 0; c < 3; c++) {
      s.x[3 * j + c] = ref.x[3 * i + c];
      s.v[3 * j + c] = ref.v[3 * i + c];
    }
  }
  Engine en;
  nvdyn_engine *e = en.e;
  int st = -1;
  ASSERT_OK(e, nvdyn_engine_set(e, "dt", 0.02));
  ASSERT_OK(e, nvdyn_stage_add(e, "langevin", &st));
  ASSERT_OK(e, nvdyn_stage_set(e, st, "temp", 1.3));
  ASSERT_OK(e, nvdyn_stage_set(e, st, "damp", 0.3));
  ASSERT_OK(e, nvdyn_stage_set(e, st, "seed", seed));
  if (velocity_init) {
    ASSERT_OK(e, nvdyn_stage_set(e, st, "velocity", 0.7));
    ASSERT_OK(e, nvdyn_stage_set(e, st, "velocity_seed", 99));
  }
  ASSERT_OK(e, nvdyn_engine_set_nsamples(e, 2));
  nvdyn_atoms a = s.atoms();
  harmonic_forces(&a, &h);
  tr.x.assign(3 * n, 0.0);
  tr.v.assign(3 * n, 0.0);
  tr.mid.assign(3 * n, 0.0);
  ASSERT_NO_FATAL_FAILURE(run(e, s, harmonic_forces, &h, 150));
  for (int j = 0; j < n; j++)
    for (int c = 0; c < 3; c++) tr.mid[3 * perm[j] + c] = s.x[3 * j + c];
  ASSERT_NO_FATAL_FAILURE(run(e, s, harmonic_forces, &h, 150));
  for (int j = 0; j < n; j++)
    for (int c = 0; c < 3; c++) {
      tr.x[3 * perm[j] + c] = s.x[3 * j + c];
      tr.v[3 * perm[j] + c] = s.v[3 * j + c];
    }
}

double maxdiff(const std::vector<double> &a, const std::vector<double> &b)
{
  double m = 0.0;
  for (size_t k = 0; k < a.size(); k++) m = std::max(m, std::fabs(a[k] - b[k]));
  return m;
}
}    // namespace

TEST(CorePhysics, LangevinDoesNotDependOnAtomOrder)
{
  const int n = 24;
  std::vector<int> ident(n), perm(n);
  std::iota(ident.begin(), ident.end(), 0);
  perm = ident;
  Rng rng(5);
  for (int i = n - 1; i > 0; i--) std::swap(perm[i], perm[rng.next() % (i + 1)]);
  ASSERT_NE(perm, ident);
  for (bool velocity_init : {false, true}) {
    SCOPED_TRACE(velocity_init ? "with the stage's velocity initialisation" : "own velocities");
    Trajectory t0, t1, t2, tseed;
    ASSERT_NO_FATAL_FAILURE(langevin_permuted(ident, false, velocity_init, 123456, t0));
    ASSERT_NO_FATAL_FAILURE(langevin_permuted(perm, false, velocity_init, 123456, t1));
    ASSERT_NO_FATAL_FAILURE(langevin_permuted(perm, true, velocity_init, 123456, t2));    // IDs
    ASSERT_NO_FATAL_FAILURE(langevin_permuted(ident, false, velocity_init, 654321, tseed));
    std::printf("[ measure  ] langevin permuted vs ordered (%s): max |dx| %.3e, |dv| %.3e; "
                "other IDs %.3e\n",
                velocity_init ? "velocity init" : "own v", maxdiff(t0.x, t1.x), maxdiff(t0.v, t1.v),
                maxdiff(t0.x, t2.x));
    EXPECT_LE(maxdiff(t0.mid, t1.mid), 1e-10);
    EXPECT_LE(maxdiff(t0.x, t1.x), 1e-10);
    EXPECT_LE(maxdiff(t0.v, t1.v), 1e-10);
    EXPECT_LE(maxdiff(t0.x, t2.x), 1e-10);
    EXPECT_LE(maxdiff(t0.v, t2.v), 1e-10);
    // and the random force is really there: another seed gives another trajectory
    EXPECT_GT(maxdiff(t0.x, tseed.x), 0.1);
  }
}

// ---------------------------------------------------------------------------
// 8. Velocity initialisation: on entering the stage each sample gets zero net
// momentum and exactly the temperature T (Nf = 3N - extra_dof), Maxwell-
// Boltzmann distributed (Gaussian components, variance kT/m per mass), and
// the same seed gives the same velocities, another seed other velocities.
// Stage 0 (nve, 2 steps) initialises at T = 1.5 with extra_dof 3, stage 1 at
// T = 0.6 with extra_dof 0, on the step the samples enter it. Forces are zero,
// so a step does not change the velocities.
namespace {
struct VelInit {
  System s{0};
  std::vector<double> v_stage0;
};

void velocity_init_run(uint64_t seed0, VelInit &out)
{
  // sample 0: 4000 atoms (masses 1 and 4), sample 1: 5 atoms, sample 2: 50 atoms,
  // interleaved; one atom outside the engine
  const int big = 4000, n = big + 5 + 50 + 1;
  System s(n);
  s.type_mass = {0.0, 1.0, 4.0};
  for (int i = 0; i < n; i++) {
    s.sample[i] = i % 11 == 3 && i < 11 * 5 ? 1 : (i % 11 == 5 && i < 11 * 50 ? 2 : 0);
    s.type[i] = 1 + (i % 2);
  }
  s.sample[n - 1] = -1;
  s.v[3 * (n - 1)] = 7.0;
  Engine en;
  nvdyn_engine *e = en.e;
  ASSERT_NO_FATAL_FAILURE(set_units(e, 0.01));
  int s0 = -1, s1 = -1;
  ASSERT_OK(e, nvdyn_stage_add(e, "nve", &s0));
  ASSERT_OK(e, nvdyn_stage_set(e, s0, "velocity", 1.5));
  ASSERT_OK(e, nvdyn_stage_set(e, s0, "velocity_seed", (double) seed0));
  ASSERT_OK(e, nvdyn_stage_until(e, s0, "steps", 2));
  ASSERT_OK(e, nvdyn_stage_add(e, "nve", &s1));
  ASSERT_OK(e, nvdyn_stage_set(e, s1, "velocity", 0.6));
  ASSERT_OK(e, nvdyn_stage_set(e, s1, "velocity_seed", 1000));
  ASSERT_OK(e, nvdyn_stage_set(e, s1, "extra_dof", 0));
  ASSERT_OK(e, nvdyn_engine_set_nsamples(e, 3));
  nvdyn_atoms a = s.atoms();
  zero_forces(&a, nullptr);
  ASSERT_NO_FATAL_FAILURE(run(e, s, zero_forces, nullptr, 1));
  out.v_stage0 = s.v;
  ASSERT_NO_FATAL_FAILURE(run(e, s, zero_forces, nullptr, 1));
  EXPECT_EQ(s.v, out.v_stage0) << "velocities changed within the stage";
  std::vector<int> stage(3);
  ASSERT_OK(e, nvdyn_get_sample_stages(e, stage.data()));
  EXPECT_EQ(stage, (std::vector<int>{1, 1, 1}));
  ASSERT_NO_FATAL_FAILURE(run(e, s, zero_forces, nullptr, 1));    // enters stage 1
  out.s = s;
}

// zero net momentum and exact temperature of each sample
void check_samples(const System &s, const std::vector<double> &v, double T, int extra_dof)
{
  System c = s;
  c.v = v;
  std::vector<double> ke = c.kinetic(3, kMvv2e);
  std::vector<int> cnt = c.count(3);
  for (int j = 0; j < 3; j++) {
    SCOPED_TRACE("sample " + std::to_string(j));
    double p[3] = {0, 0, 0}, pabs = 0.0;
    for (int i = 0; i < c.n; i++)
      if (c.sample[i] == j)
        for (int k = 0; k < 3; k++) {
          p[k] += c.mass(i) * v[3 * i + k];
          pabs += c.mass(i) * std::fabs(v[3 * i + k]);
        }
    for (int k = 0; k < 3; k++) EXPECT_LT(std::fabs(p[k]), 1e-13 * pabs);
    const double temp = 2.0 * ke[j] / ((3.0 * cnt[j] - extra_dof) * kBoltz);
    EXPECT_NEAR(temp, T, 1e-12 * T);
  }
  EXPECT_EQ(v[3 * (c.n - 1)], 7.0);    // the atom outside the engine is untouched
}
}    // namespace

TEST(CorePhysics, VelocityInitialisation)
{
  VelInit r1, r2, r3;
  ASSERT_NO_FATAL_FAILURE(velocity_init_run(42, r1));
  {
    SCOPED_TRACE("stage 0: T 1.5, extra_dof 3");
    check_samples(r1.s, r1.v_stage0, 1.5, 3);
  }
  {
    SCOPED_TRACE("stage 1: T 0.6, extra_dof 0");
    check_samples(r1.s, r1.s.v, 0.6, 0);
  }
  // Maxwell-Boltzmann: in the big sample, m v^2 / (kT/mvv2e) per component has
  // mean 1 for both masses (equipartition; standard error of each mean
  // sqrt(2/6000) = 1.8%) and v / sigma has kurtosis 3 (a Gaussian; standard
  // error sqrt(24/12000) = 0.045)
  const System &s = r1.s;
  const std::vector<double> &v = r1.v_stage0;
  const double kT = kBoltz * 1.5;
  Stats u[3];
  double m4 = 0.0, m2 = 0.0;
  for (int i = 0; i < s.n; i++) {
    if (s.sample[i] != 0) continue;
    for (int c = 0; c < 3; c++) {
      const double q = s.mass(i) * kMvv2e * v[3 * i + c] * v[3 * i + c] / kT;
      u[s.type[i]].add(q);
      m2 += q;
      m4 += q * q;
    }
  }
  const double nc = u[1].n + u[2].n;
  const double kurt = (m4 / nc) / ((m2 / nc) * (m2 / nc));
  std::printf("[ measure  ] velocity init: <m v^2/kT> mass 1 %.4f, mass 4 %.4f, kurtosis %.4f\n",
              u[1].mean(), u[2].mean(), kurt);
  EXPECT_NEAR(u[1].mean(), 1.0, 0.08);
  EXPECT_NEAR(u[2].mean(), 1.0, 0.08);
  EXPECT_NEAR(kurt, 3.0, 0.25);
  // reproducible with the same seed, different with another one
  ASSERT_NO_FATAL_FAILURE(velocity_init_run(42, r2));
  EXPECT_EQ(r2.v_stage0, r1.v_stage0);
  EXPECT_EQ(r2.s.v, r1.s.v);
  ASSERT_NO_FATAL_FAILURE(velocity_init_run(43, r3));
  EXPECT_GT(maxdiff(r3.v_stage0, r1.v_stage0), 0.5);
  // the velocity seed of stage 1 is the same (1000) in both runs
  EXPECT_EQ(r3.s.v, r1.s.v);
}
