// The built LAMMPS runs under the KOKKOS package (-k on -sf kk): proof that the
// Kokkos path is available, and that fix nvdyn works beside /kk styles.
// Skipped, with the reason, on a LAMMPS built without KOKKOS.
#include "force.h"
#include "lammps_harness.h"

#include <cmath>

TEST(Kokkos, LjMeltMatchesPlainLammps)
{
  if (!lammps_config_has_package("KOKKOS")) GTEST_SKIP() << no_kokkos_reason();
  Lammps plain({}, false), kk({"-k", "on", "-sf", "kk"}, false);
  for (Lammps *l : {&plain, &kk}) {
    l->cmds(lj_liquid(5));
    l->cmd("fix 1 all nve");
    l->cmd("run 200");
  }
  EXPECT_STREQ(kk.lmp->force->pair_style, "lj/cut/kk");
  EXPECT_STREQ(plain.lmp->force->pair_style, "lj/cut");
  EXPECT_STREQ(kk.fix("1")->style, "nve/kk");
  // same physics on the Kokkos (Serial) backend, up to round-off
  EXPECT_NEAR(kk.equal("pe"), plain.equal("pe"), 1e-9 * std::fabs(plain.equal("pe")));
  EXPECT_NEAR(kk.equal("etotal"), plain.equal("etotal"), 1e-9 * std::fabs(plain.equal("etotal")));
}

// fix nvdyn (host style) under -k on -sf kk reproduces fix nve/kk.
TEST(Kokkos, FixNVDynBesideKokkosStyles)
{
  if (!lammps_config_has_package("KOKKOS")) GTEST_SKIP() << no_kokkos_reason();
  NveVsNVDyn run({"-k", "on", "-sf", "kk"}, 4, 300);
  EXPECT_STREQ(run.ref.fix("1")->style, "nve/kk");
  EXPECT_LE(max_rel_diff(run.ref.gather3("x"), run.dyn.gather3("x")), 1e-12);
  EXPECT_LE(max_rel_diff(run.ref.gather3("v"), run.dyn.gather3("v")), 1e-12);
}
