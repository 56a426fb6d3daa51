# NVDYN as a LAMMPS package (in-tree mode), for LAMMPS's own CMake build.
#
# NVDYN's scripts/lammps-package.sh puts this file into a LAMMPS source tree
# as cmake/Modules/Packages/NVDYN.cmake, next to NVDYN's sources in
# src/NVDYN (the LAMMPS styles, without the plugin entry point) and
# src/NVDYN/core (the C core), and adds the option PKG_NVDYN to
# cmake/CMakeLists.txt, just before LAMMPS writes its style headers; with
# -D PKG_NVDYN=on that block includes this file. The styles then register
# through their FixStyle/IntegrateStyle macros, as those of every LAMMPS
# package do: no `plugin load`, no PLUGIN package needed.

if(NOT COMMAND RegisterStyles)
  message(FATAL_ERROR "NVDYN: this LAMMPS's CMake has no RegisterStyles() (StyleHeaderUtils); "
    "the in-tree mode supports LAMMPS versions with style macros. Use the plugin instead.")
endif()
if(NOT TARGET lammps)
  message(FATAL_ERROR "NVDYN: include Packages/NVDYN after the lammps target is defined, "
    "before GenerateStyleHeaders() in LAMMPS's cmake/CMakeLists.txt "
    "(scripts/lammps-package.sh of NVDYN puts it there)")
endif()

set(NVDYN_SOURCES_DIR ${LAMMPS_SOURCE_DIR}/NVDYN)
include(NVDYNLammpsVersion)
nvdyn_lammps_version("${LAMMPS_SOURCE_DIR}" NVDYN_LAMMPS_VERSION_NUMBER)
message(STATUS "NVDYN: in-tree package for LAMMPS ${NVDYN_LAMMPS_VERSION_NUMBER}")

# the C core (C11, no LAMMPS, no MPI) and the styles, compiled into
# liblammps like the sources of any package. The styles need C++17: older
# LAMMPS, such as 29Sep2021, compiles as C++11, and its sources accept 17.
enable_language(C)
file(GLOB_RECURSE NVDYN_CORE_SOURCES CONFIGURE_DEPENDS ${NVDYN_SOURCES_DIR}/core/*.c)
file(GLOB NVDYN_SOURCES CONFIGURE_DEPENDS ${NVDYN_SOURCES_DIR}/[^.]*.cpp)
target_sources(lammps PRIVATE ${NVDYN_CORE_SOURCES} ${NVDYN_SOURCES})
target_include_directories(lammps PRIVATE ${NVDYN_SOURCES_DIR} ${NVDYN_SOURCES_DIR}/core)
set_property(SOURCE ${NVDYN_SOURCES} APPEND PROPERTY COMPILE_DEFINITIONS
  LAMMPS_VERSION_NUMBER=${NVDYN_LAMMPS_VERSION_NUMBER})
set_target_properties(lammps PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
target_compile_features(lammps PUBLIC cxx_std_17)

RegisterStyles(${NVDYN_SOURCES_DIR})
# listed by lmp -h among the installed packages, and in CMake's summary
list(APPEND STANDARD_PACKAGES NVDYN)
