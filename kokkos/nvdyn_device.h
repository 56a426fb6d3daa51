/* NVDYN: the device driver of fix nvdyn/kk. A step (the core's
 * nvdyn_pre_update, nvdyn_post_update and nvdyn_end_step, without hooks)
 * as Kokkos kernels over the atoms' views and over the samples, calling
 * the kernels' functions (src/core/kernels/) as the host driver
 * (src/core/step_host.c, end_host.c) does, in the same order. Each
 * per-sample sum is added up by one thread over the sample's atoms in the
 * order of the atoms (a per-sample list of them, made when atoms are
 * exchanged or sorted), the order in which the host driver adds them
 * (host.h, "runs"): on any number of threads every value is the host's,
 * bit for bit. Maxima and the safety bound are exact in any order.
 *
 * The engine (host memory) stays the owner of every per-sample array. The
 * driver works on device copies of them; where the device can read host
 * memory (Serial, OpenMP) the copies are the engine's arrays themselves
 * and no copy is made (unless NVDYN_KOKKOS_COPIES=1). The samples' state
 * is copied back (to_host) before the host works on it: the engine's
 * bookkeeping of samples that change stage or outcome (the active list,
 * migration), velocity initialisation, and the steps with hooks
 * (can_step), which the fix hands to the host core. Not a LAMMPS file:
 * the fix gives it raw device pointers. */
#ifndef NVDYN_DEVICE_H
#define NVDYN_DEVICE_H

#include <Kokkos_Core.hpp>

#define NVDYN_FUNC KOKKOS_INLINE_FUNCTION
#include "host.h"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace NVDYN_NS {

// The caller's atoms as device pointers with the strides of nvdyn_view3
struct DeviceAtoms {
  int natoms;
  double *x, *v;
  const double *f;
  ptrdiff_t xa, xc, va, vc, fa, fc;
  const double *rmass;    // per-atom masses, or nullptr: type_mass[type[i]]
  const double *type_mass;
  const int *type;
  const int *sample, *index;    // per-atom sample and index within it (device)
  const double *pe;             // per-atom energies, or nullptr (end of the step only)

  // atom i's x, v, f, mass and force clamp factor (host.h's XI .. CLAMP)
  KOKKOS_INLINE_FUNCTION double *xi(int i) const { return x + (ptrdiff_t) i * xa; }
  KOKKOS_INLINE_FUNCTION double *vi(int i) const { return v + (ptrdiff_t) i * va; }
  KOKKOS_INLINE_FUNCTION const double *fi(int i) const { return f + (ptrdiff_t) i * fa; }
  KOKKOS_INLINE_FUNCTION double mass(int i) const { return rmass ? rmass[i] : type_mass[type[i]]; }
  KOKKOS_INLINE_FUNCTION double clamp(const double *fv, double fclamp) const
  {
    return fclamp > 0.0 ? nvdyn_clamp_factor(fv, fc, fclamp) : 1.0;
  }
};

// DeviceAtoms in LAMMPS's layout (x, v, f interleaved: atom stride 3,
// component stride 1), with per-atom (RMass) or per-type masses and no
// force clamp, as constants the compiler sees (host.h, with_layout): the
// step's hot kernels take these where they apply (NVDynDevice::packed)
template <int RMass> struct PackedAtoms : DeviceAtoms {
  static constexpr ptrdiff_t xc = 1, vc = 1, fc = 1;
  explicit PackedAtoms(const DeviceAtoms &a) : DeviceAtoms(a) {}
  KOKKOS_INLINE_FUNCTION double *xi(int i) const { return x + 3 * (ptrdiff_t) i; }
  KOKKOS_INLINE_FUNCTION double *vi(int i) const { return v + 3 * (ptrdiff_t) i; }
  KOKKOS_INLINE_FUNCTION const double *fi(int i) const { return f + 3 * (ptrdiff_t) i; }
  KOKKOS_INLINE_FUNCTION double mass(int i) const { return RMass ? rmass[i] : type_mass[type[i]]; }
  KOKKOS_INLINE_FUNCTION double clamp(const double *, double) const { return 1.0; }
};

// The bound of many atoms' next steps (nvdyn_step_bound) as a Kokkos
// reduction over atoms: op(i, b) adds atom i to b. Exact in any order
// (maxima and an "or").
template <class Op> struct BoundReduce {
  using value_type = nvdyn_step_bound;
  Op op;
  KOKKOS_INLINE_FUNCTION void operator()(const int i, value_type &b) const { op(i, b); }
  KOKKOS_INLINE_FUNCTION void init(value_type &b) const
  {
    b.vv = b.ff = b.kick = b.dt = 0.0;
    b.bad = 0;
  }
#if KOKKOS_VERSION < 40000
  KOKKOS_INLINE_FUNCTION void join(volatile value_type &b, const volatile value_type &c) const
#else
  KOKKOS_INLINE_FUNCTION void join(value_type &b, const value_type &c) const
#endif
  {
    if (c.vv > b.vv) b.vv = c.vv;
    if (c.ff > b.ff) b.ff = c.ff;
    if (c.kick > b.kick) b.kick = c.kick;
    if (c.dt > b.dt) b.dt = c.dt;
    b.bad |= c.bad;
  }
};

template <class DeviceType> class NVDynDevice {
 public:
  using exec_space = typename DeviceType::execution_space;
  using memory_space = typename DeviceType::memory_space;
  // the device can read and write host memory: the copies can be the
  // engine's arrays
  static constexpr bool reaches_host =
      Kokkos::SpaceAccessibility<exec_space, Kokkos::HostSpace>::accessible;

  // A device copy of one engine array: the array itself where the device
  // reaches host memory, unless separate copies are asked for (as a GPU has
  // them: NVDYN_KOKKOS_COPIES=1 in the environment, for the tests).
  template <class T> struct Copy {
    using HostView = Kokkos::View<T *, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
    Kokkos::View<T *, DeviceType> d;
    T *h = nullptr;
    size_t n = 0;
    bool shared = false;
    // returns true when it is a new copy (its contents not yet copied)
    bool bind(T *host, size_t count, bool separate, const char *name)
    {
      if (host == h && count == n) return false;
      h = host;
      n = count;
      shared = false;
      if constexpr (reaches_host) {
        if (!separate) {
          d = Kokkos::View<T *, DeviceType>(host, count);
          shared = true;
          return true;
        }
      }
      d = Kokkos::View<T *, DeviceType>(
          Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(name)), count);
      return true;
    }
    HostView host() const { return HostView(h, n); }
    void to_device(size_t count)
    {
      if (!shared && count)
        Kokkos::deep_copy(Kokkos::subview(d, std::make_pair((size_t) 0, count)),
                          Kokkos::subview(host(), std::make_pair((size_t) 0, count)));
    }
    void to_host(size_t count)
    {
      if (!shared && count)
        Kokkos::deep_copy(Kokkos::subview(host(), std::make_pair((size_t) 0, count)),
                          Kokkos::subview(d, std::make_pair((size_t) 0, count)));
    }
  };

  explicit NVDynDevice(nvdyn_engine *engine) : e(engine), separate(separate_copies()) {}

  // separate device copies of host arrays (always on a device that does
  // not reach host memory)
  static bool separate_copies()
  {
    const char *env = std::getenv("NVDYN_KOKKOS_COPIES");
    return !reaches_host || (env && std::strcmp(env, "1") == 0);
  }

  // Whether the step can run here: not with hooks (C callbacks of library
  // callers, which take host atoms at their hook points); the fix then
  // hands the step to the host core.
  bool can_step() const { return e->nhooks == 0; }

  // The per-sample arrays of the engine, current on the device (after the
  // host core changed them).
  void to_device()
  {
    bind();
    if (where == DEVICE) return;
    const size_t n = (size_t) e->nsamples;
    stages.to_device((size_t) e->nstages);
    samples.to_device(n);
    kind.to_device(n);
    sdt.to_device(n);
    active.to_device((size_t) e->nactive);
    sel_mask = 0;    // the selection is copied when it is used
    where = DEVICE;
  }

  // ... and current in the engine (before the host core works on them).
  void to_host()
  {
    if (where != DEVICE) return;
    const size_t n = (size_t) e->nsamples;
    samples.to_host(n);
    sdt.to_host(n);
    coef.to_host(n);
    where = HOST;
  }

  // the engine's arrays were changed by the host core
  void host_changed() { where = HOST; }

  // the per-sample lists of the atoms (sample[0..natoms) on the host: each
  // sample's atoms in their order), after atoms were exchanged or sorted
  void index_atoms(const int *sample, int natoms)
  {
    const int ns = e->nsamples;
    h_start.assign((size_t) ns + 1, 0);
    for (int i = 0; i < natoms; i++)
      if (sample[i] >= 0) h_start[(size_t) sample[i] + 1]++;
    for (int s = 0; s < ns; s++) h_start[(size_t) s + 1] += h_start[(size_t) s];
    h_order.resize((size_t) h_start[(size_t) ns]);
    std::vector<int> next(h_start.begin(), h_start.end() - 1);
    for (int i = 0; i < natoms; i++)
      if (sample[i] >= 0) h_order[(size_t) next[(size_t) sample[i]]++] = i;
    start.bind(h_start.data(), h_start.size(), separate, "nvdyn:start");
    order.bind(h_order.data(), h_order.size(), separate, "nvdyn:order");
    start.to_device(h_start.size());
    order.to_device(h_order.size());
  }
  bool on_device() const { return where == DEVICE; }

  // nvdyn_pre_update() without its hooks
  nvdyn_status pre_update(const DeviceAtoms &a);
  // nvdyn_post_update() without its hooks
  nvdyn_status post_update(const DeviceAtoms &a);
  // nvdyn_end_step() without its hooks: the checks,
  // criteria and outcomes on the device; what changed for the samples
  // whose outcome or stage changed (migration, the active list) in the
  // engine, whose state is then current on the host
  nvdyn_status end_step(const DeviceAtoms &a, int *nchanged);
  // nvdyn_need_energy()
  int need_energy();

  // the passes (public: nvcc takes no device lambdas in private members)
  int select(unsigned mask);
  void zero_acc(int width);
  nvdyn_status reduce(Copy<double> &values, int width, nvdyn_reduce_op op);
  // op(i, s) for every atom i of an active sample s (a kernel over atoms)
  template <class Op> void for_atoms(const char *name, int natoms, const int *sample, const Op &op);
  // the same with op(i, s, b) adding atoms to a bound of their next steps;
  // returns the bound's flag (nvdyn_bound_flag)
  template <class Op>
  int bound_atoms(const char *name, int natoms, const int *sample, const Op &op);
  // op(k, s) for every selected sample s = sel[k]
  template <class Op> void for_selected(const char *name, const Op &op);
  // a selection the host made, to the device
  void selection_to_device()
  {
    sel.to_device((size_t) e->nsel);
    pos.to_device((size_t) e->nsamples);
    sel_mask = 0;
  }
  // per selected sample k, over its atoms i in their order:
  // term(i, sum, max) adds atom i to sum[0..width) and max[0..width),
  // which then go to sums[width k ..] and, if given, maxima[width k ..]
  template <class Term>
  void sample_sums(int width, Copy<double> &sums, Copy<double> *maxima, const Term &term);
  // the same, and bound(i, b) adds atom i to a bound of the selected
  // samples' atoms, which it returns
  template <class Term, class Bound>
  nvdyn_step_bound sample_sums(int width, Copy<double> &sums, Copy<double> *maxima,
                               const Term &term, const Bound &bound);
  nvdyn_status init_velocities(const DeviceAtoms &a);
  nvdyn_status fire_decisions(const DeviceAtoms &a);
  nvdyn_status fire_ase_positions(const DeviceAtoms &a);
  nvdyn_status sum_mvv(const DeviceAtoms &a);
  void langevin_coefs();
  void atom_pass(const DeviceAtoms &a);
  template <class Atoms> void kick_drift(const Atoms &a);
  template <class Atoms> void fire_step(const Atoms &a);
  void atom_mixed(const DeviceAtoms &a);
  int last_kick(const DeviceAtoms &a, int sums);
  template <class Atoms> int last_kick_kernel(const Atoms &a, int sums);
  template <class Atoms> void fire_sums(const Atoms &a);
  // op(atoms): atoms as PackedAtoms where they are such, else as they are
  template <class Op> auto packed(const DeviceAtoms &a, const Op &op)
  {
    const bool plain = a.xa == 3 && a.va == 3 && a.fa == 3 && a.xc == 1 && a.vc == 1 && a.fc == 1 &&
        !(e->units.fclamp > 0.0);
    if (!plain) return op(a);
    return a.rmass ? op(PackedAtoms<1>(a)) : op(PackedAtoms<0>(a));
  }
  void thermostat_factors();
  int scale_velocities(const DeviceAtoms &a, int check);
  int checks_due(int *energy);
  template <class Op> int active_or(const char *name, const Op &op);
  int any_hazard(const DeviceAtoms &a, unsigned mask);
  nvdyn_status sample_stats(const DeviceAtoms &a);
  template <class Atoms> int stats_kernel(const Atoms &a);
  int end_samples(int stats, int refresh, int safety);
  nvdyn_status fail_hazards(const DeviceAtoms &a, int scaled, int *nfailed);

 private:
  nvdyn_engine *e;
  const bool separate;
  enum { HOST, DEVICE } where = HOST;
  Copy<nvdyn_stage_params> stages;
  Copy<nvdyn_sample> samples;
  Copy<signed char> kind;
  Copy<double> sdt, acc, acc2;
  Copy<nvdyn_step_coef> coef;
  Copy<int> active, sel, pos;
  Copy<signed char> due;
  Copy<unsigned char> touched;
  std::vector<int> h_start, h_order;    // each sample's atoms: order[start[s] .. start[s + 1])
  Copy<int> start, order;
  Kokkos::View<int *, DeviceType> events;    // what the end of the step did to active[k]
  unsigned sel_mask = 0;                     // the selection on the device: its styles and version
  uint64_t sel_version = 0;

  // the copies of the engine's arrays (new ones: the host's state is the
  // one to copy)
  void bind()
  {
    bool fresh = false;
    const size_t n = (size_t) e->nsamples;
    fresh |= stages.bind(e->kstages, (size_t) e->nstages, separate, "nvdyn:stages");
    fresh |= samples.bind(e->samples, n, separate, "nvdyn:samples");
    fresh |= kind.bind(e->kind, n, separate, "nvdyn:kind");
    fresh |= sdt.bind(e->sdt, n, separate, "nvdyn:sdt");
    fresh |= coef.bind(e->coef, n, separate, "nvdyn:coef");
    fresh |= active.bind(e->active, n, separate, "nvdyn:active");
    fresh |= sel.bind(e->sel, n, separate, "nvdyn:sel");
    fresh |= pos.bind(e->pos, n, separate, "nvdyn:pos");
    fresh |= acc.bind(e->acc, n * NACC, separate, "nvdyn:acc");
    fresh |= acc2.bind(e->acc2, n * NACC, separate, "nvdyn:acc2");
    fresh |= due.bind(e->due, n, separate, "nvdyn:due");
    fresh |= touched.bind(e->touched, n, separate, "nvdyn:touched");
    if (fresh) where = HOST;
    if (events.extent(0) != n) events = Kokkos::View<int *, DeviceType>("nvdyn:events", n);
  }
};

}    // namespace NVDYN_NS

#include "nvdyn_device_impl.h"

#endif
