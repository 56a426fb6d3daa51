# Locate the LAMMPS that NVDYN's plugin is built against.
#
# Inputs (cache variables):
#   LAMMPS_SOURCE_DIR  the LAMMPS source tree's src/ folder (holds version.h, fix.h, ...)
#   LAMMPS_BUILD_DIR   the CMake build folder of that LAMMPS (holds CMakeCache.txt,
#                      liblammps.so and lmp); the plugin must be compiled with the same
#                      LAMMPS_SIZES, LAMMPS_EXCEPTIONS and MPI settings as liblammps.
# Outputs:
#   LAMMPS_VERSION_NUMBER   YYYYMMDD, from version.h
#   target nvdyn::lammps_headers  (INTERFACE: include dirs, compile definitions, MPI)
#   target nvdyn::liblammps       (IMPORTED: the shared library, for test programs)
#   LAMMPS_EXECUTABLE, LAMMPS_HAS_MPI, LAMMPS_HAS_KOKKOS
#   LAMMPS_HAS_ML_SNAP      the ML-SNAP package (pair snap; examples/cu_snap)
#   target nvdyn::lammps_kokkos   (INTERFACE, with KOKKOS: the KOKKOS package's headers
#                                  and the very Kokkos that LAMMPS was built against)

set(LAMMPS_SOURCE_DIR "" CACHE PATH "LAMMPS source tree's src/ folder")
set(LAMMPS_BUILD_DIR "" CACHE PATH "LAMMPS CMake build folder (with CMakeCache.txt)")

if(NOT EXISTS "${LAMMPS_SOURCE_DIR}/version.h" OR NOT EXISTS "${LAMMPS_SOURCE_DIR}/fix.h")
  message(FATAL_ERROR "LAMMPS_SOURCE_DIR='${LAMMPS_SOURCE_DIR}' is not a LAMMPS src/ folder "
    "(no version.h / fix.h). Point it at <lammps>/src, or run scripts/setup.sh.")
endif()
if(NOT EXISTS "${LAMMPS_BUILD_DIR}/CMakeCache.txt")
  message(FATAL_ERROR "LAMMPS_BUILD_DIR='${LAMMPS_BUILD_DIR}' holds no CMakeCache.txt: "
    "NVDYN needs the CMake build folder of the LAMMPS it is loaded into.")
endif()

# ---- version: "29 Sep 2021" -> 20210929
include(NVDYNLammpsVersion)
nvdyn_lammps_version("${LAMMPS_SOURCE_DIR}" LAMMPS_VERSION_NUMBER)
message(STATUS "NVDYN: LAMMPS ${LAMMPS_VERSION_NUMBER} from ${LAMMPS_SOURCE_DIR}")

# ---- settings of that LAMMPS build that change its headers' meaning
load_cache("${LAMMPS_BUILD_DIR}" READ_WITH_PREFIX _LMP_
  LAMMPS_SIZES LAMMPS_EXCEPTIONS BUILD_MPI PKG_KOKKOS PKG_PLUGIN BUILD_SHARED_LIBS Kokkos_DIR
  CMAKE_CXX_COMPILER PKG_ML-SNAP)
if(NOT _LMP_PKG_PLUGIN)
  message(FATAL_ERROR "The LAMMPS in ${LAMMPS_BUILD_DIR} was built without PKG_PLUGIN: "
    "it cannot load nvdynplugin.so. Rebuild it with -DPKG_PLUGIN=on.")
endif()
if(NOT _LMP_BUILD_SHARED_LIBS)
  message(FATAL_ERROR "The LAMMPS in ${LAMMPS_BUILD_DIR} was built without BUILD_SHARED_LIBS: "
    "plugins need -DBUILD_SHARED_LIBS=on.")
endif()
if(NOT _LMP_LAMMPS_SIZES)
  set(_LMP_LAMMPS_SIZES smallbig)
endif()
string(TOUPPER "${_LMP_LAMMPS_SIZES}" _sizes)
set(_defs LAMMPS_${_sizes} LAMMPS_VERSION_NUMBER=${LAMMPS_VERSION_NUMBER})
if(_LMP_LAMMPS_EXCEPTIONS OR NOT DEFINED _LMP_LAMMPS_EXCEPTIONS)
  # newer LAMMPS has no such option: its exceptions are always on
  list(APPEND _defs LAMMPS_EXCEPTIONS)
endif()
set(LAMMPS_HAS_MPI ${_LMP_BUILD_MPI})
set(LAMMPS_HAS_KOKKOS ${_LMP_PKG_KOKKOS})
if("${_LMP_PKG_ML-SNAP}")
  set(LAMMPS_HAS_ML_SNAP ON)
else()
  set(LAMMPS_HAS_ML_SNAP OFF)
endif()

add_library(nvdyn_lammps_headers INTERFACE)
add_library(nvdyn::lammps_headers ALIAS nvdyn_lammps_headers)
target_include_directories(nvdyn_lammps_headers INTERFACE "${LAMMPS_SOURCE_DIR}")
target_compile_definitions(nvdyn_lammps_headers INTERFACE ${_defs})
target_compile_features(nvdyn_lammps_headers INTERFACE cxx_std_17)
if(LAMMPS_HAS_MPI)
  find_package(MPI REQUIRED COMPONENTS C)
  target_link_libraries(nvdyn_lammps_headers INTERFACE MPI::MPI_C)
  target_compile_definitions(nvdyn_lammps_headers INTERFACE OMPI_SKIP_MPICXX MPICH_SKIP_MPICXX)
else()
  target_include_directories(nvdyn_lammps_headers INTERFACE "${LAMMPS_SOURCE_DIR}/STUBS")
endif()

# find_library() and find_program() keep what they found in the cache: look
# again when this build folder is pointed at another LAMMPS
if(NOT "${LAMMPS_BUILD_DIR}" STREQUAL "${_NVDYN_LAMMPS_FOUND_IN}")
  unset(LAMMPS_LIBRARY CACHE)
  unset(LAMMPS_EXECUTABLE CACHE)
endif()
set(_NVDYN_LAMMPS_FOUND_IN "${LAMMPS_BUILD_DIR}" CACHE INTERNAL "LAMMPS_BUILD_DIR of LAMMPS_LIBRARY")
find_library(LAMMPS_LIBRARY NAMES lammps PATHS "${LAMMPS_BUILD_DIR}" NO_DEFAULT_PATH REQUIRED)
add_library(nvdyn::liblammps SHARED IMPORTED)
set_target_properties(nvdyn::liblammps PROPERTIES IMPORTED_LOCATION "${LAMMPS_LIBRARY}")
target_link_libraries(nvdyn::liblammps INTERFACE nvdyn::lammps_headers)
find_program(LAMMPS_EXECUTABLE NAMES lmp PATHS "${LAMMPS_BUILD_DIR}" NO_DEFAULT_PATH)

# ---- KOKKOS: styles /kk must be compiled against exactly the Kokkos of
# liblammps (version, backends, architecture): a mismatch links and then
# fails at run time. Its CMake package is the one LAMMPS's build used.
if(LAMMPS_HAS_KOKKOS)
  if(NOT _LMP_Kokkos_DIR)
    message(FATAL_ERROR "The LAMMPS in ${LAMMPS_BUILD_DIR} has KOKKOS but its CMakeCache.txt "
      "names no Kokkos_DIR: NVDYN's /kk styles need the Kokkos it was built against "
      "(an external Kokkos, -DEXTERNAL_KOKKOS=on -DKokkos_DIR=...).")
  endif()
  # (forced: a build folder pointed at another LAMMPS takes that one's Kokkos)
  set(Kokkos_DIR "${_LMP_Kokkos_DIR}" CACHE PATH "The Kokkos of the LAMMPS build" FORCE)
  find_package(Kokkos CONFIG REQUIRED PATHS "${_LMP_Kokkos_DIR}" NO_DEFAULT_PATH)
  message(STATUS "NVDYN: Kokkos ${Kokkos_VERSION} from ${_LMP_Kokkos_DIR} for the /kk styles")
  # a CUDA Kokkos: Kokkos::kokkos adds nvcc's flags, so the plugin (every
  # C++ source, as in that LAMMPS) is compiled by its nvcc_wrapper
  if("CUDA" IN_LIST Kokkos_DEVICES AND NOT CMAKE_CXX_COMPILER MATCHES "nvcc_wrapper$")
    message(FATAL_ERROR "The Kokkos of the LAMMPS in ${LAMMPS_BUILD_DIR} has the CUDA backend: "
      "configure NVDYN with -DCMAKE_CXX_COMPILER=${_LMP_CMAKE_CXX_COMPILER} (the compiler of "
      "that LAMMPS), in a new build folder; see doc/install.md, \"KOKKOS on an NVIDIA GPU\".")
  endif()
  add_library(nvdyn_lammps_kokkos INTERFACE)
  add_library(nvdyn::lammps_kokkos ALIAS nvdyn_lammps_kokkos)
  target_include_directories(nvdyn_lammps_kokkos INTERFACE "${LAMMPS_SOURCE_DIR}/KOKKOS")
  target_compile_definitions(nvdyn_lammps_kokkos INTERFACE LMP_KOKKOS)
  target_link_libraries(nvdyn_lammps_kokkos INTERFACE Kokkos::kokkos)
endif()
