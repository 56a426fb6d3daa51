# Forwards the version check to Debian's Kokkos (see KokkosConfig.cmake here).
file(GLOB _nvdyn_debian_kokkos_version "/usr/lib/*/cmake/Kokkos/KokkosConfigVersion.cmake")
list(GET _nvdyn_debian_kokkos_version 0 _nvdyn_debian_kokkos_version)
include("${_nvdyn_debian_kokkos_version}")
