/* ----------------------------------------------------------------------
   NVDYN: fix nvdyn/kk. The halves of a step (the core's pre_update and
   post_update) run as Kokkos kernels on the device views of the atoms,
   with the per-sample decisions (FIRE, thermostats) on the device too
   (kokkos/nvdyn_device.h); the rest of the step, and the halves the device
   driver does not do yet, run in the host core as in fix nvdyn, on host
   data synced for them. Masks of the KOKKOS package: the fix syncs and
   marks what each part reads and writes, where it runs (datamask_read and
   datamask_modify are empty, so ModifyKokkos adds nothing).
------------------------------------------------------------------------- */

#include "fix_nvdyn_kokkos.h"

#include "atom_kokkos.h"
#include "atom_masks.h"
#include "error.h"
#include "kokkos.h"
#include "update.h"

#include <cstring>

using namespace LAMMPS_NS;

namespace {
// what the halves of a step read (x, v, f, masses, types) and write (x, v)
constexpr unsigned STEP_READ = X_MASK | V_MASK | F_MASK | TYPE_MASK | RMASS_MASK;
constexpr unsigned STEP_MODIFY = X_MASK | V_MASK;
// what the host parts of the fix read besides: groups, images (the sink's
// unwrapped positions)
constexpr unsigned HOST_READ = STEP_READ | MASK_MASK | IMAGE_MASK;
}    // namespace

template <class DeviceType>
FixNVDynKokkos<DeviceType>::FixNVDynKokkos(LAMMPS *lmp, int narg, char **arg) :
    FixNVDyn(lmp, narg, arg), syncs{0, 0, 0}, host_synced(false), d_generation(0)
{
  if (!lmp->kokkos)
    error->all(FLERR, "Fix {} needs the KOKKOS package enabled (command-line switch -k on)", style);
  kokkosable = 1;
  atomKK = (AtomKokkos *) atom;
  execution_space = ExecutionSpaceFromDevice<DeviceType>::space;
  datamask_read = EMPTY_MASK;
  datamask_modify = EMPTY_MASK;
  dev = std::make_unique<Device>(engine);
}

template <class DeviceType> void FixNVDynKokkos<DeviceType>::to_host(unsigned mask)
{
  atomKK->sync(Host, mask);
  dev->to_host();
  syncs.host_callbacks++;
}

template <class DeviceType> void FixNVDynKokkos<DeviceType>::host_changed(unsigned mask)
{
  dev->host_changed();
  if (mask) atomKK->modified(Host, mask);
}

template <class DeviceType> void FixNVDynKokkos<DeviceType>::init()
{
  FixNVDyn::init();
  atomKK->k_mass.modify<LMPHostType>();
  atomKK->k_mass.sync<DeviceType>();
}

template <class DeviceType> void FixNVDynKokkos<DeviceType>::setup(int vflag)
{
  to_host(HOST_READ);
  FixNVDyn::setup(vflag);
  host_changed(MASK_MASK);
}

// the escape guard, and with a source refills: these delete and create
// atoms on the host (all their data), as LAMMPS's fix deposit and fix
// evaporate do (a refill, due after the guard's failures, costs no more:
// LAMMPS 29Sep2021 exchanges atoms on the host on these steps anyway)
template <class DeviceType> void FixNVDynKokkos<DeviceType>::pre_exchange()
{
  to_host(source ? ALL_MASK : HOST_READ);
  FixNVDyn::pre_exchange();
  host_changed(source ? ALL_MASK : MASK_MASK);
}

template <class DeviceType> void FixNVDynKokkos<DeviceType>::setup_pre_exchange()
{
  if (!source) return;
  to_host(ALL_MASK);
  FixNVDyn::setup_pre_exchange();
  host_changed(ALL_MASK);
}

// new samples join their slots: in the engine on the host
template <class DeviceType> void FixNVDynKokkos<DeviceType>::commit_entering()
{
  if (entering.empty()) return;
  to_host(HOST_READ);
  FixNVDyn::commit_entering();
  host_changed(MASK_MASK);
}

// a sample handed on downstream: its atoms read on the host
template <class DeviceType> void FixNVDynKokkos<DeviceType>::host_atoms()
{
  to_host(HOST_READ);
  host_synced = true;
}

template <class DeviceType> void FixNVDynKokkos<DeviceType>::post_neighbor()
{
  to_host(HOST_READ);
  FixNVDyn::post_neighbor();
  host_changed(MASK_MASK);
}

template <class DeviceType> void FixNVDynKokkos<DeviceType>::post_run()
{
  to_host(HOST_READ);
  FixNVDyn::post_run();
  host_changed(MASK_MASK);
}

// the atoms of this rank on the device; the sample indices copied, and
// the samples' lists of atoms made, when atoms were exchanged or sorted (or
// a run set up) since the last copy
template <class DeviceType> NVDYN_NS::DeviceAtoms FixNVDynKokkos<DeviceType>::device_atoms()
{
  const int nlocal = atom->nlocal;
  if (d_generation != atoms_generation) {
    d_sample.bind(sample, (size_t) atom->nmax, Device::separate_copies(), "nvdyn:sample");
    d_index.bind(atom_index, (size_t) atom->nmax, Device::separate_copies(), "nvdyn:atom_index");
    d_sample.to_device((size_t) nlocal);
    d_index.to_device((size_t) nlocal);
    dev->index_atoms(sample, nlocal);
    d_generation = atoms_generation;
  }
  auto x = atomKK->k_x.view<DeviceType>();
  auto v = atomKK->k_v.view<DeviceType>();
  auto f = atomKK->k_f.view<DeviceType>();
  NVDYN_NS::DeviceAtoms a;
  a.natoms = nlocal;
  a.x = x.data();
  a.v = v.data();
  a.f = f.data();
  a.xa = (ptrdiff_t) x.stride_0();
  a.xc = (ptrdiff_t) x.stride_1();
  a.va = (ptrdiff_t) v.stride_0();
  a.vc = (ptrdiff_t) v.stride_1();
  a.fa = (ptrdiff_t) f.stride_0();
  a.fc = (ptrdiff_t) f.stride_1();
  a.rmass = atom->rmass_flag ? atomKK->k_rmass.view<DeviceType>().data() : nullptr;
  a.type_mass = atomKK->k_mass.view<DeviceType>().data();
  a.type = atomKK->k_type.view<DeviceType>().data();
  a.sample = d_sample.d.data();
  a.index = d_index.d.data();
  a.pe = nullptr;
  return a;
}

template <class DeviceType> void FixNVDynKokkos<DeviceType>::initial_integrate(int vflag)
{
  if (first_step || !dev->can_step()) {
    // the first step's checks of the values no step has checked yet, and
    // what the device driver does not do, in the host core
    to_host(HOST_READ);
    const bool here = dev->can_step();
    if (here) {
      nvdyn_atoms a;
      fill_atoms(a);
      first_step = false;
      check_unchecked(a, "first step");
      host_changed(MASK_MASK);
    } else {
      FixNVDyn::initial_integrate(vflag);
      host_changed(STEP_MODIFY | MASK_MASK);
      syncs.host_steps++;
      return;
    }
  }
  in_step = true;
  atomKK->sync(execution_space, STEP_READ);
  nvdyn_atoms a;
  fill_atoms(a);
  check(nvdyn_i_check_atoms(engine, &a), "initial_integrate");    // the sample indices (host)
  check(dev->pre_update(device_atoms()), "initial_integrate");
  atomKK->modified(execution_space, STEP_MODIFY);
  syncs.device_steps++;
}

template <class DeviceType> void FixNVDynKokkos<DeviceType>::final_integrate()
{
  if (!dev->can_step()) {
    to_host(HOST_READ);
    FixNVDyn::final_integrate();
    host_changed(V_MASK);
    syncs.host_steps++;
    return;
  }
  atomKK->sync(execution_space, STEP_READ);
  check(dev->post_update(device_atoms()), "final_integrate");
  atomKK->modified(execution_space, V_MASK);
  syncs.device_steps++;
}

// checks, criteria and outcomes on the device; the host sees the atoms
// (and the samples' state) only when samples changed, wait for their
// energies (the sink's frames), or the log is due
template <class DeviceType> void FixNVDynKokkos<DeviceType>::end_of_step()
{
  host_synced = false;
  FixNVDyn::end_of_step();
  if (host_synced) host_changed(MASK_MASK);
}

template <class DeviceType> int FixNVDynKokkos<DeviceType>::end_engine_step(nvdyn_atoms &a)
{
  if (!dev->can_step()) {
    to_host(HOST_READ);
    host_synced = true;
    syncs.host_steps++;
    return FixNVDyn::end_engine_step(a);
  }
  atomKK->sync(execution_space, STEP_READ);
  check(nvdyn_i_check_atoms(engine, &a), "end_of_step");
  NVDYN_NS::DeviceAtoms d = device_atoms();
  if (a.pe) {
    d_pe.bind(const_cast<double *>(a.pe), (size_t) atom->nmax, Device::separate_copies(),
              "nvdyn:pe");
    d_pe.to_device((size_t) atom->nlocal);
    d.pe = d_pe.d.data();
  }
  int changed = 0;
  check(dev->end_step(d, &changed), "end_of_step");
  syncs.device_steps++;
  const bigint step = update->ntimestep;
  if (changed || !pending.empty() || (config.log_every > 0 && step % config.log_every == 0)) {
    to_host(HOST_READ);
    host_synced = true;
  }
  return changed;
}

template <class DeviceType> bool FixNVDynKokkos<DeviceType>::energy_due()
{
  if (!dev->on_device()) return FixNVDyn::energy_due();
  return dev->need_energy() != 0;
}

template <class DeviceType> double FixNVDynKokkos<DeviceType>::compute_vector(int n)
{
  dev->to_host();
  return FixNVDyn::compute_vector(n);
}

template <class DeviceType> double FixNVDynKokkos<DeviceType>::compute_array(int i, int j)
{
  dev->to_host();
  return FixNVDyn::compute_array(i, j);
}

// "engine": the per-sample state is made current in it first (a caller
// that changes it must do so between steps); "kokkos_steps": Syncs, three
// bigints
template <class DeviceType> void *FixNVDynKokkos<DeviceType>::extract(const char *name, int &dim)
{
  if (strcmp(name, "kokkos_steps") == 0) {
    dim = 1;
    return &syncs;
  }
  dev->to_host();
  dev->host_changed();
  return FixNVDyn::extract(name, dim);
}

template <class DeviceType> void FixNVDynKokkos<DeviceType>::write_restart(FILE *fp)
{
  dev->to_host();
  FixNVDyn::write_restart(fp);
}

// the samples' state from a restart file: in the engine
template <class DeviceType> void FixNVDynKokkos<DeviceType>::restart(char *buf)
{
  FixNVDyn::restart(buf);
  dev->host_changed();
}

namespace LAMMPS_NS {
template class FixNVDynKokkos<LMPDeviceType>;
#ifdef LMP_KOKKOS_GPU
template class FixNVDynKokkos<LMPHostType>;
#endif
}    // namespace LAMMPS_NS
