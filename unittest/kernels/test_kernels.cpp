// The per-sample decision functions of the kernel headers, called from C++
// (C++17) on plain data: the facts each one owes its callers, host and
// Kokkos drivers alike.
#include "kernels/atom.h"
#include "kernels/sample.h"

#include <gtest/gtest.h>

#include <cmath>

namespace {

nvdyn_stage_params fire_stage()
{
  nvdyn_stage_params sg{};
  sg.style = NVDYN_STYLE_FIRE;
  sg.dt = 0.01;
  sg.every = 1;
  sg.extra_dof = 3.0;
  sg.c.fire = {10.0, 0.02, 1.1, 0.5, 0.25, 0.99, 0.1, 20, 2000, 1, 1};
  return sg;
}

nvdyn_sample entered(const nvdyn_stage_params &sg)
{
  nvdyn_sample ss{};
  nvdyn_enter_stage(&sg, 1, &ss, 0);
  return ss;
}

}    // namespace

// LAMMPS min_style fire: downhill steps mix v with f and, after delaystep
// of them, grow dt and shrink alpha; an uphill step resets alpha, shrinks
// dt and steps back half the last move; more than vdfmax in a row: stuck.
TEST(Kernels, FireDecisions)
{
  const nvdyn_stage_params sg = fire_stage();
  nvdyn_sample ss = entered(sg);
  EXPECT_EQ(ss.fdt, 0.01);
  EXPECT_EQ(ss.alpha, 0.25);
  EXPECT_EQ(ss.vinit, 1);    // FIRE starts from rest

  ss.steps = 30;    // past delaystep since the last uphill step
  nvdyn_fire_step c = nvdyn_fire_decide(&sg, &ss, 1.0, 4.0, 16.0, 0.0);
  EXPECT_EQ(c.mode, NVDYN_FIRE_DOWNHILL);
  EXPECT_DOUBLE_EQ(c.s1, 0.75);
  EXPECT_DOUBLE_EQ(c.s2, 0.25 * std::sqrt(4.0 / 16.0));
  EXPECT_DOUBLE_EQ(ss.fdt, 0.011);
  EXPECT_DOUBLE_EQ(ss.alpha, 0.25 * 0.99);
  EXPECT_DOUBLE_EQ(c.dtv, 0.011);

  // dmax bounds the move: vmax dtv <= dmax
  c = nvdyn_fire_decide(&sg, &ss, 1.0, 4.0, 16.0, 100.0);
  EXPECT_DOUBLE_EQ(c.dtv, 0.1 / 100.0);

  const double last = ss.dtv;
  c = nvdyn_fire_decide(&sg, &ss, -1.0, 4.0, 16.0, 1.0);
  EXPECT_EQ(c.mode, NVDYN_FIRE_UPHILL);
  EXPECT_EQ(c.dtv_back, last);
  EXPECT_EQ(ss.alpha, 0.25);
  EXPECT_DOUBLE_EQ(ss.fdt, 0.0121 * 0.5);
  EXPECT_EQ(ss.last_negative, 31);

  ss.nneg = 2000;
  c = nvdyn_fire_decide(&sg, &ss, -1.0, 4.0, 16.0, 1.0);
  EXPECT_EQ(c.mode, NVDYN_FIRE_STUCK);
  EXPECT_EQ(ss.stuck, 1);
  EXPECT_EQ(nvdyn_end_sample(&sg, &ss, nullptr, 0, 0, 1, nullptr), NVDYN_EVENT_FINISHED);
  EXPECT_EQ(ss.outcome, NVDYN_K_TIMEOUT);
  EXPECT_EQ(ss.reason, NVDYN_K_REASON_UPHILL);
}

// A Nose-Hoover chain at rest with the kinetic energy at its target does
// not scale the velocities; a hot sample is cooled (factor < 1).
TEST(Kernels, NoseHooverHalfStep)
{
  nvdyn_stage_params sg{};
  sg.style = NVDYN_STYLE_NHC;
  sg.dt = 0.005;
  sg.extra_dof = 3.0;
  sg.c.thermostat = {0.5, 0.1, std::exp(-0.005 / 0.1), 0, 3};
  nvdyn_sample ss = entered(sg);
  const double natoms = 10.0, dof = 3.0 * natoms - 3.0, kt = 0.5;
  EXPECT_EQ(nvdyn_nhc_half_step(&sg, &ss, dof * kt, natoms, 1.0), 1.0);
  EXPECT_EQ(ss.eta_dot[0], 0.0);
  EXPECT_LT(nvdyn_nhc_half_step(&sg, &ss, 4.0 * dof * kt, natoms, 1.0), 1.0);
  EXPECT_GT(ss.eta_dot[0], 0.0);
}

// CSVR's noise belongs to the sample: the same key and age give the same
// factor in any slot; another key another one. Velocity draws scale to
// exactly the stage's temperature.
TEST(Kernels, StochasticFactorsBelongToTheSample)
{
  nvdyn_stage_params sg{};
  sg.style = NVDYN_STYLE_CSVR;
  sg.dt = 0.005;
  sg.extra_dof = 3.0;
  sg.velocity = 0.8;
  sg.c.thermostat = {0.5, 0.1, std::exp(-0.005 / 0.1), 1234, 0};
  nvdyn_sample a = entered(sg), b = entered(sg), c = entered(sg);
  a.key = b.key = 7;
  c.key = 8;
  a.age = b.age = c.age = 41;
  const double fa = nvdyn_csvr_factor(&sg, &a, 3.0, 10.0, 1.0);
  EXPECT_EQ(fa, nvdyn_csvr_factor(&sg, &b, 3.0, 10.0, 1.0));
  EXPECT_NE(fa, nvdyn_csvr_factor(&sg, &c, 3.0, 10.0, 1.0));
  EXPECT_NEAR(a.reservoir, -(3.0 * fa * fa - 3.0), 1e-12);

  const nvdyn_units u = {1.0, 2.0, 0.5, 0.0, 0.0};
  const double scale = nvdyn_velocity_scale(&sg, 10.0, 3.0, &u);
  // T = mvv2e sum m v^2 / (dof boltz) after scaling
  EXPECT_NEAR(u.mvv2e * 3.0 * scale * scale / (27.0 * u.boltz), 0.8, 1e-15);
  EXPECT_TRUE(std::isnan(nvdyn_velocity_scale(&sg, 10.0, HUGE_VAL, &u)));
}

// End of a step: values from the reduced statistics; criteria (AND) make a
// sample converge, maxsteps time it out, a hazard fail it.
TEST(Kernels, EndOfStepOutcomes)
{
  nvdyn_stage_params sg = fire_stage();
  sg.criteria = NVDYN_CRIT_FMAX | NVDYN_CRIT_STEPS;
  sg.fmax = 1e-3;
  sg.steps = 5;
  sg.maxsteps = 8;
  const nvdyn_units u = {1.0, 1.0, 1.0, 0.0, 0.0};
  nvdyn_sample ss = entered(sg);
  nvdyn_stats st = {2.0, 0.0, 4.0, 1e-8, 0.0, 0.0};
  ss.steps = 4;
  EXPECT_TRUE(nvdyn_check_due(&sg, &ss));
  EXPECT_EQ(nvdyn_end_sample(&sg, &ss, &st, 1, 0, 1, &u), NVDYN_EVENT_NONE);    // steps < 5
  EXPECT_DOUBLE_EQ(ss.fmax, 1e-4);
  EXPECT_DOUBLE_EQ(ss.ke, 1.0);
  EXPECT_DOUBLE_EQ(ss.temp, 2.0 * 1.0 / 9.0);
  ss.steps = 5;
  EXPECT_EQ(nvdyn_end_sample(&sg, &ss, &st, 1, 0, 1, &u), NVDYN_EVENT_CONVERGED);

  st.f2max = 1.0;
  ss.steps = 8;
  EXPECT_EQ(nvdyn_end_sample(&sg, &ss, &st, 1, 0, 1, &u), NVDYN_EVENT_FINISHED);
  EXPECT_EQ(ss.outcome, NVDYN_K_TIMEOUT);
  EXPECT_EQ(ss.reason, NVDYN_K_REASON_MAXSTEPS);

  nvdyn_sample bad = entered(sg);
  st.hazard = 2.0;
  EXPECT_EQ(nvdyn_end_sample(&sg, &bad, &st, 0, 0, 1, &u), NVDYN_EVENT_FINISHED);
  EXPECT_EQ(bad.outcome, NVDYN_K_FAILED);
  EXPECT_EQ(bad.reason, NVDYN_K_REASON_NAN);
}

// ASE FIRE bounds the length of a sample's step by maxstep.
TEST(Kernels, FireAseStepLimit)
{
  nvdyn_stage_params sg{};
  sg.style = NVDYN_STYLE_FIRE_ASE;
  sg.dt = 0.1;
  sg.c.fire_ase = {0.2, 1.0, 1.1, 0.5, 0.1, 0.99, 5};
  nvdyn_sample ss = entered(sg);
  EXPECT_EQ(nvdyn_fire_ase_decide(&sg, &ss, 1.0, 1.0, 1.0).mode, NVDYN_ASE_FIRST);
  EXPECT_DOUBLE_EQ(nvdyn_fire_ase_limit(&sg, &ss, 1.0), 0.1);            // |dr| = 0.1 < 0.2
  EXPECT_DOUBLE_EQ(nvdyn_fire_ase_limit(&sg, &ss, 100.0), 0.1 * 0.2);    // |dr| = 1 -> 0.2
}

// The bound of many atoms' next steps flags whenever the exact test finds a
// hazard in one of them: atoms drawn over many magnitudes (and some
// non-finite), in groups; a group of safe atoms well inside the limits is
// not flagged.
TEST(Kernels, StepBoundCoversEveryHazard)
{
  nvdyn_rng r = nvdyn_rng_make(1, 2, 3, 4, 5);
  const double special[] = {0.0, 1e-300, 1e140, 1e146, 1e150, 1e154, 1e200, DBL_MAX, INFINITY, NAN};
  int flagged = 0, hazards = 0;
  for (int group = 0; group < 4000; group++) {
    nvdyn_step_bound b{};
    int any = 0;
    const double maxmove = group % 3 == 0 ? 0.0 : 0.3, dt = group % 5 == 0 ? 0.0 : 0.005;
    for (int atom = 0; atom < 5; atom++) {
      double v[3], f[3];
      for (int k = 0; k < 3; k++) {
        const double u = nvdyn_rng_uniform(&r);
        const double mag = u < 0.05 ? special[(int) (200 * u)] : std::pow(10.0, 8 * u - 2);
        v[k] = (nvdyn_rng_uniform(&r) < 0.5 ? -1 : 1) * mag * nvdyn_rng_uniform(&r);
        const double w = nvdyn_rng_uniform(&r);
        f[k] = (w < 0.02 ? special[(int) (500 * w)] : std::pow(10.0, 6 * w)) *
            (nvdyn_rng_uniform(&r) - 0.5);
      }
      const double fc = group % 7 == 0 ? 0.5 : 1.0, kick = 0.5 * dt / (1.0 + atom);
      any |= nvdyn_step_hazard(v, 1, f, 1, fc, kick, dt, maxmove) != 0;
      nvdyn_bound_add(&b, v, 1, f, 1, fc, kick, dt);
    }
    const int flag = nvdyn_bound_flag(&b, maxmove);
    if (any) { EXPECT_EQ(flag, 1) << "group " << group; }
    hazards += any;
    flagged += flag;
  }
  EXPECT_GT(hazards, 100);     // the draw reaches the hazards
  EXPECT_LT(flagged, 4000);    // and some groups pass

  // and through an atom's style, mass and position, as the exact test of
  // the atom sees its next step
  const nvdyn_units u = {1.0, 1.0, 1.0, 0.0, 0.3};
  const int styles[] = {NVDYN_STYLE_FIRE, NVDYN_STYLE_FIRE_ASE, NVDYN_STYLE_NVE};
  for (int group = 0; group < 3000; group++) {
    nvdyn_step_bound b{};
    int any = 0;
    for (int atom = 0; atom < 4; atom++) {
      double x[3], v[3], f[3];
      for (int k = 0; k < 3; k++) {
        const double w = nvdyn_rng_uniform(&r);
        x[k] = w < 0.01 ? special[(int) (1000 * w)] : 10.0 * (w - 0.5);
        v[k] = std::pow(10.0, 6 * nvdyn_rng_uniform(&r) - 3) * (nvdyn_rng_uniform(&r) - 0.5);
        f[k] = std::pow(10.0, 8 * nvdyn_rng_uniform(&r) - 2) * (nvdyn_rng_uniform(&r) - 0.5);
      }
      const int style = styles[(group + atom) % 3];
      const double m = 0.5 + atom, dt = 0.002 * (1 + group % 4);
      any |= nvdyn_atom_hazard(x, 1, v, 1, f, 1, m, 1.0, style, dt, &u) != 0;
      nvdyn_bound_add_atom(&b, x, 1, v, 1, f, 1, 1.0, m, style, dt, &u);
    }
    if (any) { EXPECT_EQ(nvdyn_bound_flag(&b, u.maxmove), 1) << "group " << group; }
  }

  nvdyn_step_bound b{};
  const double v[3] = {1.0, -2.0, 0.5}, f[3] = {30.0, 0.0, -10.0};
  nvdyn_bound_add(&b, v, 1, f, 1, 1.0, 0.0025, 0.005);
  EXPECT_EQ(nvdyn_bound_flag(&b, 0.3), 0);
  EXPECT_EQ(nvdyn_bound_flag(&b, 0.01), 1);    // 0.005 |v + 0.0025 f| is about 0.011
}
