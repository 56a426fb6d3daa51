/* -*- c++ -*- ----------------------------------------------------------
   NVDYN: fix nvdyn/kk, fix nvdyn with the halves of its step on Kokkos
   views (kokkos/nvdyn_device.h). See doc/fix_nvdyn.md, "KOKKOS".
------------------------------------------------------------------------- */

#ifdef FIX_CLASS
// clang-format off
FixStyle(nvdyn/kk,FixNVDynKokkos<LMPDeviceType>);
FixStyle(nvdyn/kk/device,FixNVDynKokkos<LMPDeviceType>);
FixStyle(nvdyn/kk/host,FixNVDynKokkos<LMPHostType>);
// clang-format on
#else

#ifndef NVDYN_FIX_NVDYN_KOKKOS_H
#define NVDYN_FIX_NVDYN_KOKKOS_H

#include "fix_nvdyn.h"
#include "kokkos_type.h"
#include "nvdyn_device.h"

#include <memory>

namespace LAMMPS_NS {

template <class DeviceType> class FixNVDynKokkos : public FixNVDyn {
 public:
  FixNVDynKokkos(class LAMMPS *, int, char **);

  void init() override;
  void setup(int) override;
  void initial_integrate(int) override;
  void final_integrate() override;
  void end_of_step() override;
  void pre_exchange() override;
  void setup_pre_exchange() override;
  void post_neighbor() override;
  void post_run() override;
  double compute_vector(int) override;
  double compute_array(int, int) override;
  void *extract(const char *, int &) override;
  void write_restart(FILE *) override;
  void restart(char *) override;

 protected:
  int end_engine_step(::nvdyn_atoms &) override;
  void commit_entering() override;
  void host_atoms() override;
  bool energy_due() override;

 public:
  // the per-atom data the fix read and wrote on the device, and on the
  // host, since its creation (a test's proof of where a step ran)
  struct Syncs {
    bigint device_steps;      // halves of steps run on the device
    bigint host_steps;        // ... handed to the host core
    bigint host_callbacks;    // callbacks that synced per-atom data to the host
  } syncs;

 private:
  using Device = NVDYN_NS::NVDynDevice<DeviceType>;
  std::unique_ptr<Device> dev;
  typename Device::template Copy<int> d_sample, d_index;
  typename Device::template Copy<double> d_pe;    // per-atom energies on the device
  bool host_synced;                               // this end of a step synced to the host
  uint64_t d_generation;                          // atoms_generation of d_sample and d_index

  NVDYN_NS::DeviceAtoms device_atoms();
  // per-atom data the host core reads (mask: what else the host part
  // needs), and the per-sample state, current on the host
  void to_host(unsigned mask);
  // after host code: the per-sample state and the given per-atom data
  // changed there
  void host_changed(unsigned mask);
};

}    // namespace LAMMPS_NS

#endif
#endif
