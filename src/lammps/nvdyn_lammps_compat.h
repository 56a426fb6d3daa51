/* -*- c++ -*- ----------------------------------------------------------
   NVDYN: the one place where differences between LAMMPS versions are
   handled. LAMMPS_VERSION_NUMBER (YYYYMMDD) is derived from the LAMMPS
   source's version.h by NVDYN's CMake and passed to the compiler.
------------------------------------------------------------------------- */
#ifndef NVDYN_LAMMPS_COMPAT_H
#define NVDYN_LAMMPS_COMPAT_H

#ifndef LAMMPS_VERSION_NUMBER
#error "LAMMPS_VERSION_NUMBER is not defined: build NVDYN through its CMakeLists.txt"
#endif

#if LAMMPS_VERSION_NUMBER < 20210929
#error "NVDYN needs LAMMPS 29Sep2021 or newer"
#endif

#include "comm.h"
#include "fix.h"

namespace NVDYN_NS {

// Forward communication of a fix's per-atom data to ghost atoms:
// Comm::forward_comm_fix(Fix *) became Comm::forward_comm(Fix *) in LAMMPS
// PR #3148 (merged 22 Feb 2022), first released in 17Mar2022.
inline void forward_comm_fix(LAMMPS_NS::Comm *comm, LAMMPS_NS::Fix *fix)
{
#if LAMMPS_VERSION_NUMBER >= 20220317
  comm->forward_comm(fix);
#else
  comm->forward_comm_fix(fix);
#endif
}

}    // namespace NVDYN_NS

#endif
