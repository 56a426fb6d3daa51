# nvdyn_lammps_version(<src> <out>): sets <out> to the version of the LAMMPS
# source tree whose src/ folder is <src>, as YYYYMMDD (LAMMPS_VERSION_NUMBER),
# read from its version.h ("29 Sep 2021" -> 20210929). Used by the plugin
# build (NVDYNLammps.cmake) and by the in-tree package (NVDYN.cmake in the
# LAMMPS tree), so that both pass the compiler the same number.
function(nvdyn_lammps_version src out)
  file(STRINGS "${src}/version.h" _line REGEX "LAMMPS_VERSION ")
  if(NOT _line MATCHES "\"([0-9]+) ([A-Za-z]+) ([0-9][0-9][0-9][0-9])\"")
    message(FATAL_ERROR "Cannot read the LAMMPS version from ${src}/version.h")
  endif()
  set(_day ${CMAKE_MATCH_1})
  set(_year ${CMAKE_MATCH_3})
  string(SUBSTRING "${CMAKE_MATCH_2}" 0 3 _mon)
  set(_months Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec)
  list(FIND _months "${_mon}" _mon_index)
  if(_mon_index LESS 0)
    message(FATAL_ERROR "Unknown month '${CMAKE_MATCH_2}' in ${src}/version.h")
  endif()
  math(EXPR _number "${_year} * 10000 + (${_mon_index} + 1) * 100 + ${_day}")
  if(_number LESS 20210929)
    message(FATAL_ERROR "NVDYN needs LAMMPS 29Sep2021 or newer, found ${_number}")
  endif()
  set(${out} ${_number} PARENT_SCOPE)
endfunction()
