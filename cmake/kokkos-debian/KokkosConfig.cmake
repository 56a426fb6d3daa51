# Wrapper around Debian 12's Kokkos 3.4.01 CMake configuration
# (package libtrilinos-kokkos-dev, built as part of Trilinos 13.2).
#
# Debian's KokkosConfig.cmake computes its import prefix four directories
# above itself and so points target Kokkos::kokkos at /usr/lib/include,
# which does not exist; the headers live in /usr/include/trilinos. We define
# the target correctly first; Debian's file then leaves it alone
# (it only creates Kokkos::kokkos "IF (NOT TARGET Kokkos::kokkos)").
#
# Use: cmake -DKokkos_DIR=<nvdyn>/cmake/kokkos-debian ...
set(_nvdyn_debian_kokkos_dir "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/cmake/Kokkos")
if(NOT CMAKE_LIBRARY_ARCHITECTURE)
  file(GLOB _nvdyn_debian_kokkos_dir "/usr/lib/*/cmake/Kokkos")
endif()
if(NOT EXISTS "${_nvdyn_debian_kokkos_dir}/KokkosConfig.cmake")
  message(FATAL_ERROR "Debian's Kokkos CMake config was not found in "
    "'${_nvdyn_debian_kokkos_dir}': install libtrilinos-kokkos-dev")
endif()
if(NOT EXISTS "/usr/include/trilinos/Kokkos_Core.hpp")
  message(FATAL_ERROR "Kokkos headers not found in /usr/include/trilinos: "
    "install libtrilinos-kokkos-dev")
endif()

if(NOT TARGET Kokkos::kokkos)
  add_library(Kokkos::kokkos INTERFACE IMPORTED)
  set_target_properties(Kokkos::kokkos PROPERTIES
    INTERFACE_LINK_LIBRARIES "trilinos_kokkosalgorithms;trilinos_kokkoscontainers;trilinos_kokkoscore"
    INTERFACE_COMPILE_FEATURES "cxx_std_14"
    INTERFACE_INCLUDE_DIRECTORIES "/usr/include/trilinos")
endif()
include("${_nvdyn_debian_kokkos_dir}/KokkosConfig.cmake")
