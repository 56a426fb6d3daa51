// The built LAMMPS runs under the KOKKOS package (-k on -sf kk): proof that the
// Kokkos path is available, and that fix nvdyn works beside /kk styles.
#include "force.h"
#include "lammps_harness.h"

#include <cmath>

TEST(Kokkos, LjMeltMatchesPlainLammps)
{
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
  Lammps ref({"-k", "on", "-sf", "kk"}, false), dyn({"-k", "on", "-sf", "kk"});
  ref.cmds(lj_liquid(4));
  dyn.cmds(lj_liquid(4));
  ref.cmd("fix 1 all nve");
  dyn.cmd("fix 1 all nvdyn samples all stage md nve");
  ref.cmd("run 300");
  dyn.cmd("run 300");
  auto a = ref.gather3("x"), b = dyn.gather3("x");
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); i++)
    worst = std::max(worst, std::fabs(a[i] - b[i]) / std::max(1.0, std::fabs(a[i])));
  EXPECT_LE(worst, 1e-12);
}
