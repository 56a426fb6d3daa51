// The built LAMMPS runs under the KOKKOS package (-k on t N -sf kk, N from
// NVDYN_TEST_KOKKOS_THREADS: ctest runs this suite as kokkos_t1 and
// kokkos_t2): proof that the Kokkos path is available, that its OpenMP
// backend really runs N threads (a Serial-only Kokkos fails here), and that
// fix nvdyn (as fix nvdyn/kk under -sf kk) works beside /kk styles.
// Skipped, with the reason, on a LAMMPS built without KOKKOS.
#include "force.h"
#include "lammps_harness.h"

#include <cmath>
#include <type_traits>

#ifdef NVDYN_TEST_KOKKOS
// built with the Kokkos of this LAMMPS (nvdyn::lammps_kokkos: Kokkos_DIR from
// its CMakeCache.txt)
#include "kokkos.h"

#include <Kokkos_Core.hpp>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

TEST(Kokkos, OpenMPBackendRunsTheRequestedThreads)
{
  if (!lammps_config_has_package("KOKKOS")) GTEST_SKIP() << no_kokkos_reason();
  const int n = kokkos_threads();
  Lammps kk(kokkos_args(), false);
  EXPECT_TRUE(lammps_config_accelerator("KOKKOS", "api", "openmp"))
      << "this LAMMPS's Kokkos has no OpenMP backend";
#if !defined(NVDYN_TEST_KOKKOS)
  FAIL() << "test_kokkos was built without the Kokkos of this LAMMPS (nvdyn::lammps_kokkos): "
            "the Kokkos threads cannot be checked";
#elif !defined(KOKKOS_ENABLE_OPENMP) || !defined(_OPENMP)
  FAIL() << "this LAMMPS's Kokkos has no OpenMP backend (Serial only?): -k on t " << n
         << " would run one thread";
#else
  ASSERT_NE(kk.lmp->kokkos, nullptr);
  EXPECT_EQ(kk.lmp->kokkos->nthreads, n);
  ASSERT_TRUE(Kokkos::is_initialized());
  // LAMMPS's /kk styles run on the default execution space: OpenMP
  EXPECT_TRUE((std::is_same<LMPDeviceType, Kokkos::OpenMP>::value));
  EXPECT_EQ(Kokkos::OpenMP::concurrency(), n);
  // the threads that take part in a parallel loop on that space (each
  // writes only its own entry)
  constexpr int most = 256;
  Kokkos::View<int[most], Kokkos::HostSpace> ran("ran");
  Kokkos::parallel_for(
      Kokkos::RangePolicy<LMPDeviceType>(0, 100000), KOKKOS_LAMBDA(int) {
        const int t = omp_get_thread_num();
        if (t < most) ran(t) = 1;
      });
  Kokkos::fence();
  int threads = 0;
  for (int t = 0; t < most; t++) threads += ran(t);
  EXPECT_EQ(threads, n);
#endif
}

TEST(Kokkos, LjMeltMatchesPlainLammps)
{
  if (!lammps_config_has_package("KOKKOS")) GTEST_SKIP() << no_kokkos_reason();
  Lammps plain({}, false), kk(kokkos_args(), false);
  for (Lammps *l : {&plain, &kk}) {
    l->cmds(lj_liquid(5));
    l->cmd("fix 1 all nve");
    l->cmd("run 200");
  }
  EXPECT_STREQ(kk.lmp->force->pair_style, "lj/cut/kk");
  EXPECT_STREQ(plain.lmp->force->pair_style, "lj/cut");
  EXPECT_STREQ(kk.fix("1")->style, "nve/kk");
  // same physics on the Kokkos backend (OpenMP with N threads), up to
  // round-off: measured 5e-15 (t 1) and 7e-15 (t 2) relative in pe, 1.6e-14
  // in etotal
  EXPECT_NEAR(kk.equal("pe"), plain.equal("pe"), 1e-9 * std::fabs(plain.equal("pe")));
  EXPECT_NEAR(kk.equal("etotal"), plain.equal("etotal"), 1e-9 * std::fabs(plain.equal("etotal")));
}

// fix nvdyn under -k on t N -sf kk (fix nvdyn/kk) reproduces fix nve/kk:
// measured bitwise on t 1 and t 2 (150 runs on t 2). Bitwise is not assumed:
// LAMMPS's own KOKKOS runs on 2 threads are not always bitwise reproducible
// (measured: lj/cut/kk + nve/kk on LJ clusters, rebuilding the neighbor
// lists every step, end differently in every run, t 1 always alike).
TEST(Kokkos, FixNVDynBesideKokkosStyles)
{
  if (!lammps_config_has_package("KOKKOS")) GTEST_SKIP() << no_kokkos_reason();
  NveVsNVDyn run(kokkos_args(), 4, 300);
  EXPECT_STREQ(run.ref.fix("1")->style, "nve/kk");
  EXPECT_LE(max_rel_diff(run.ref.gather3("x"), run.dyn.gather3("x")), 1e-12);
  EXPECT_LE(max_rel_diff(run.ref.gather3("v"), run.dyn.gather3("v")), 1e-12);
}
