#!/usr/bin/env bash
# Sets up everything NVDYN needs on a Debian 12 machine:
#   1. the Debian packages (apt-get, as root; otherwise a message naming them),
#   2. the LAMMPS release named by NVDYN_LAMMPS, from a Debian source package,
#      cached under ${NVDYN_CACHE:-~/.cache/nvdyn}, keyed by version and options:
#        29Sep2021 (default) update 2, from bookworm: MPI, PLUGIN, KOKKOS,
#                  MOLECULE and ML-SNAP (examples/cu_snap; with KOKKOS also
#                  pair snap/kk), against Kokkos 3.4.01 with the OpenMP and
#                  Serial backends (run with -k on t N -sf kk), built from
#                  bookworm's trilinos source package and cached beside it in
#                  kokkos-3.4.01-<key>/ (its Kokkos_DIR is recorded in the
#                  LAMMPS build's CMakeCache.txt); about 15 s for Kokkos and
#                  5 minutes for LAMMPS on 2 cores, once;
#        4Feb2025  from trixie, 4Jul2026 from sid: MPI, PLUGIN, MOLECULE
#                  and ML-SNAP.
#      With NVDYN_KOKKOS_DEVICE=cuda (29Sep2021 only; default: openmp), the
#      Kokkos has the CUDA and Serial backends for sm_80 instead (nvcc 13 from
#      PATH or /usr/local/cuda/bin, cmake/kokkos-3.4.01-cuda13.patch applied;
#      30 seconds on 2 cores) and LAMMPS is compiled with its
#      nvcc_wrapper (15 minutes on 2 cores): run with -k on g 1 -sf kk
#      on a GPU machine (doc/install.md, "KOKKOS on an NVIDIA GPU").
# Prints, as its last line, the LAMMPS prefix (holding lammps/ and build/);
# with --kokkos-only, only the Kokkos is built (or found) and its prefix
# printed (29Sep2021 only; scripts/cuda-compile-check.sh uses it).
# Exit status 2: the source of a newer release could not be fetched.
set -euo pipefail

kokkos_only=0
case "${1:-}" in
  "") ;;
  --kokkos-only) kokkos_only=1 ;;
  *) echo "usage: $0 [--kokkos-only]" >&2; exit 1 ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${NVDYN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nvdyn}
jobs=${NVDYN_JOBS:-$(nproc)}

log() { echo "nvdyn-setup: $*" >&2; }

packages=(build-essential cmake ninja-build ccache dpkg-dev
          libopenmpi-dev openmpi-bin
          libgtest-dev pkgconf python3 python3-ase python3-numpy python3-matplotlib)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

srclist=/etc/apt/sources.list.d/nvdyn-deb-src.sources
need_src=0
if ! grep -rqs "^Types:.*deb-src" /etc/apt/sources.list.d/ && \
   ! grep -qs "^deb-src" /etc/apt/sources.list; then
  need_src=1
fi

# The archive of the machine's own binary entries for bookworm (deb822
# .sources files or one-line sources.list entries): the source entries come
# from the same place, so no archive host is written here.
bookworm_archive() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
      { t = u = s = "";
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^Types:/) t = $i; else if ($i ~ /^URIs:/) u = $i; else if ($i ~ /^Suites:/) s = $i
        }
        if (t ~ /[[:space:]]deb([[:space:]]|$)/ && s ~ /[[:space:]]bookworm([[:space:]]|$)/) {
          sub(/^URIs:[[:space:]]*/, "", u); split(u, w, /[[:space:]]+/); print w[1]; exit
        } }' "$f"
  done
  { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } | awk '
    $1 == "deb" { i = 2; if ($i ~ /^\[/) while ($i !~ /\]$/) i++; if ($i ~ /^\[/ || $i ~ /\]$/) i++;
                  if ($(i + 1) == "bookworm") { print $i; exit } }'
}

if (( ${#missing[@]} )) || (( need_src )); then
  if [ "$(id -u)" != 0 ]; then
    log "missing Debian packages: ${missing[*]:-none}; deb-src lines needed: $need_src"
    log "run this script once as root (it calls apt-get), or install them yourself:"
    log "  apt-get install ${missing[*]:-} ; add a deb-src line for bookworm"
    exit 1
  fi
  if (( need_src )); then
    archive=$(bookworm_archive | head -n 1 || true)
    [ -n "$archive" ] || { log "no apt entry for Debian bookworm found to take the source archive from"; exit 1; }
    log "adding Debian bookworm deb-src entries from $archive ($srclist)"
    cat > "$srclist" <<SRC
Types: deb-src
URIs: $archive
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  fi
  log "installing: ${missing[*]:-nothing new}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  (( ${#missing[@]} )) && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# ---- which LAMMPS: NVDYN_LAMMPS names a release; each comes from a Debian suite
lmp_release=${NVDYN_LAMMPS:-29Sep2021}
case "$lmp_release" in
  29Sep2021) ;;                           # bookworm's, update 2, with KOKKOS
  4Feb2025)  suite=trixie upstream=20250204 ;;
  4Jul2026)  suite=sid upstream=20260704 ;;
  *) log "NVDYN_LAMMPS='$lmp_release' is not a LAMMPS release NVDYN builds:" \
         "use 29Sep2021 (the default), 4Feb2025 or 4Jul2026"
     exit 1 ;;
esac

mkdir -p "$cache"

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

# ---- Kokkos 3.4.01 (the version LAMMPS 29Sep2021's EXTERNAL_KOKKOS requires),
# built from packages/kokkos (a stand-alone CMake project) of bookworm's
# trilinos source package, of whose 166 MB .orig.tar.gz (checked by apt) only
# that folder is unpacked, and installed into $cache/kokkos-3.4.01-<key>
# (key: the trilinos source version and the options), once, under its own
# lock. build_kokkos VARIANT:
#   openmp  the OpenMP and Serial backends, g++: Debian's own
#           libtrilinos-kokkos-dev has the Serial backend only, which hides
#           every race;
#   cuda    the CUDA and Serial backends for sm_80 (Kokkos_ARCH_AMPERE80; on
#           Hopper the driver compiles its PTX), CUDA lambdas, compiled with
#           its own bin/nvcc_wrapper, after cmake/kokkos-3.4.01-cuda13.patch
#           (nvcc 13; the patch's hash and nvcc's version are in the key), in
#           kokkos-3.4.01-cuda-<key>/.
# Both shared and position-independent, as LAMMPS's shared library needs.
# Sets kokkos_key and kokkos_prefix; its CMake config is
# $kokkos_prefix/lib/cmake/Kokkos (with cuda, its compiler
# $kokkos_prefix/bin/nvcc_wrapper).
kokkos_version=3.4.01
kokkos_patch="$here/cmake/kokkos-$kokkos_version-cuda13.patch"

# nvcc for the cuda variant (nvcc_wrapper calls the nvcc of PATH)
need_nvcc() {
  if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
    export PATH="/usr/local/cuda/bin:$PATH"
  fi
  command -v nvcc >/dev/null ||
    { log "NVDYN_KOKKOS_DEVICE=cuda needs nvcc (a CUDA toolkit) in PATH or /usr/local/cuda/bin"; exit 1; }
}

build_kokkos() {
  local variant=$1 tri_version options extra=() label name tarball src v start seconds
  local compiler=g++ launch=("${launcher[@]}")
  # awk reads to the end: an early exit would kill apt-cache (SIGPIPE, and
  # pipefail with set -e ends this script with status 141) when its output
  # comes in more than one write, as trilinos's does
  tri_version=$(apt-cache showsrc trilinos 2>/dev/null | awk '/^Version:/ && v == "" {v = $2} END {print v}')
  [ -n "$tri_version" ] || { log "apt-cache showsrc trilinos found nothing: are deb-src lines configured?"; exit 1; }
  case "$variant" in
    openmp)
      label="OpenMP, Serial" name=kokkos-$kokkos_version
      options=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ -DBUILD_SHARED_LIBS=ON
        -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DKokkos_ENABLE_OPENMP=ON -DKokkos_ENABLE_SERIAL=ON
        -DCMAKE_INSTALL_LIBDIR=lib) ;;
    cuda)
      need_nvcc
      [ -f "$kokkos_patch" ] || { log "no $kokkos_patch"; exit 1; }
      label="CUDA sm_80, Serial" name=kokkos-$kokkos_version-cuda
      options=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON
        -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DKokkos_ENABLE_CUDA=ON -DKokkos_ENABLE_SERIAL=ON
        -DKokkos_ARCH_AMPERE80=ON -DKokkos_ENABLE_CUDA_LAMBDA=ON -DCMAKE_INSTALL_LIBDIR=lib)
      # (the compiler, bin/nvcc_wrapper in the prefix, is set below)
      extra=("patch $(sha256sum < "$kokkos_patch" | cut -c1-16)" "$(nvcc --version | tail -n 1)") ;;
    *) log "build_kokkos: unknown variant '$variant' (openmp or cuda)"; exit 1 ;;
  esac
  kokkos_key=$(printf '%s\n' "$tri_version" "${options[@]}" "${extra[@]}" | sha256sum | cut -c1-12)
  kokkos_prefix="$cache/$name-$kokkos_key"
  exec 8>"$cache/.lock-$name"
  flock 8
  if [ -f "$kokkos_prefix/.complete" ]; then
    log "Kokkos $kokkos_version ($label) cached at $kokkos_prefix"
    exec 8>&-; return
  fi

  log "building Kokkos $kokkos_version ($label) from trilinos $tri_version into $kokkos_prefix" \
      "(about $([ "$variant" = cuda ] && echo "30 seconds" || echo "15 seconds") on 2 cores, once)"
  rm -rf "$kokkos_prefix"; mkdir -p "$kokkos_prefix/dl"
  ( cd "$kokkos_prefix/dl" && apt-get source -qq --download-only "trilinos=$tri_version" >&2 ) ||
    { log "could not download the trilinos $tri_version source package"; exit 1; }
  tarball=$(find "$kokkos_prefix/dl" -maxdepth 1 -name 'trilinos_*.orig.tar.*' | head -n 1)
  [ -n "$tarball" ] || { log "the trilinos source package holds no .orig.tar"; exit 1; }
  tar -xf "$tarball" -C "$kokkos_prefix/dl" --no-same-owner --wildcards '*/packages/kokkos/*' ||
    { log "$tarball holds no packages/kokkos"; exit 1; }
  src=$(find "$kokkos_prefix/dl" -mindepth 3 -maxdepth 3 -type d -path '*/packages/kokkos' | head -n 1)
  [ -n "$src" ] && [ -f "$src/CMakeLists.txt" ] || { log "no packages/kokkos/CMakeLists.txt in $tarball"; exit 1; }
  v=$(awk -F'[ )]' '/^set\(Kokkos_VERSION_(MAJOR|MINOR|PATCH) /{printf "%s%s", sep, $2; sep = "."}' "$src/CMakeLists.txt")
  [ "$v" = "$kokkos_version" ] ||
    { log "trilinos $tri_version holds Kokkos '$v', not $kokkos_version (which LAMMPS 29Sep2021 needs)"; exit 1; }
  if [ "$variant" = cuda ]; then
    # checked first: a patch that does not apply in full changes nothing
    ( cd "$src" && patch -p1 --forward --batch --dry-run < "$kokkos_patch" >/dev/null &&
      patch -p1 --forward --batch < "$kokkos_patch" >&2 ) ||
      { log "$kokkos_patch does not apply to the Kokkos of trilinos $tri_version"; exit 1; }
    # the compiler is the wrapper where it is installed (the CMake config
    # of the installed Kokkos names it)
    mkdir -p "$kokkos_prefix/bin"
    cp "$src/bin/nvcc_wrapper" "$kokkos_prefix/bin/nvcc_wrapper"
    compiler="$kokkos_prefix/bin/nvcc_wrapper"
    launch=()    # (ccache: not for nvcc_wrapper)
  fi

  start=$(date +%s)
  cmake -G Ninja -S "$src" -B "$kokkos_prefix/dl/build" -DCMAKE_INSTALL_PREFIX="$kokkos_prefix" \
    "${options[@]}" -DCMAKE_CXX_COMPILER="$compiler" "${launch[@]}" >&2
  cmake --build "$kokkos_prefix/dl/build" -j "$jobs" >&2
  cmake --install "$kokkos_prefix/dl/build" >/dev/null
  [ -f "$kokkos_prefix/lib/cmake/Kokkos/KokkosConfig.cmake" ] ||
    { log "the Kokkos install in $kokkos_prefix has no lib/cmake/Kokkos/KokkosConfig.cmake"; exit 1; }
  rm -rf "$kokkos_prefix/dl"
  touch "$kokkos_prefix/.complete"
  seconds=$(( $(date +%s) - start ))
  log "Kokkos ready at $kokkos_prefix (built in $seconds s)"
  exec 8>&-
}

kokkos_device=${NVDYN_KOKKOS_DEVICE:-openmp}
case "$kokkos_device" in
  openmp|cuda) ;;
  *) log "NVDYN_KOKKOS_DEVICE='$kokkos_device': use openmp (the default) or cuda"; exit 1 ;;
esac
if [ "$lmp_release" != 29Sep2021 ] && { [ "$kokkos_device" != openmp ] || (( kokkos_only )); }; then
  log "NVDYN_KOKKOS_DEVICE and --kokkos-only are for LAMMPS 29Sep2021 (the one built with KOKKOS)"
  exit 1
fi
if (( kokkos_only )); then
  build_kokkos "$kokkos_device"    # (under the Kokkos build's own lock)
  echo "$kokkos_prefix"; exit 0
fi

# one build of a release at a time per cache (concurrent CI jobs, a second
# terminal); the CUDA variant's 20 minutes do not hold up the other
if [ "$kokkos_device" = cuda ]; then
  exec 9>"$cache/.lock-$lmp_release-cuda"
else
  exec 9>"$cache/.lock-$lmp_release"
fi
flock 9

if [ "$lmp_release" = 29Sep2021 ]; then
  # ---- LAMMPS 29Sep2021 from bookworm's source package (the machine's deb-src entries)
  lmp_version=$(apt-cache showsrc lammps 2>/dev/null | awk '/^Version:/ && v == "" {v = $2} END {print v}')
  [ -n "$lmp_version" ] || { log "apt-cache showsrc lammps found nothing: are deb-src lines configured?"; exit 1; }

  build_kokkos "$kokkos_device"
  lmp_options=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=on -DBUILD_MPI=on
    -DLAMMPS_EXCEPTIONS=on -DPKG_PLUGIN=on -DPKG_MOLECULE=on -DPKG_ML-SNAP=on
    -DPKG_KOKKOS=on -DEXTERNAL_KOKKOS=on)
  if [ "$kokkos_device" = cuda ]; then
    lmp_options+=(-DBUILD_OMP=off)
  else
    lmp_options+=(-DBUILD_OMP=on)
  fi
  # the key covers the version, the options and the Kokkos build's key (not
  # the cache's path: clones in other folders share the cache)
  key=$(printf '%s\n' "$lmp_version" "${lmp_options[@]}" "kokkos-$kokkos_version-$kokkos_key" \
        | sha256sum | cut -c1-12)
  prefix="$cache/lammps-${lmp_version//[^A-Za-z0-9._-]/_}-$key"
  if [ -f "$prefix/.complete" ]; then
    log "LAMMPS cached at $prefix (Kokkos: $kokkos_prefix)"
    echo "$prefix"; exit 0
  fi

  log "building LAMMPS $lmp_version into $prefix" \
      "(about $([ "$kokkos_device" = cuda ] && echo 15 || echo 5) minutes on 2 cores, once)"
  rm -rf "$prefix"; mkdir -p "$prefix/dl"
  ( cd "$prefix/dl" && apt-get source -qq lammps >&2 )
  srcdir=$(find "$prefix/dl" -mindepth 1 -maxdepth 1 -type d -name 'lammps*' | head -n1)
  mv "$srcdir" "$prefix/lammps"; rm -rf "$prefix/dl"
  # recorded in the build's CMakeCache.txt: consumers (NVDYN's /kk code)
  # find exactly this Kokkos there
  lmp_options+=(-DKokkos_DIR="$kokkos_prefix/lib/cmake/Kokkos")
  if [ "$kokkos_device" = cuda ]; then
    # every LAMMPS source through Kokkos's wrapper of nvcc (no ccache)
    lmp_options+=(-DCMAKE_CXX_COMPILER="$kokkos_prefix/bin/nvcc_wrapper")
    launcher=()
  fi
else
  # ---- a newer LAMMPS from the .orig.tar of a newer suite's source package.
  # Its .dsc cannot be fetched here, so 'apt-get source' fails: the index is
  # read with a private apt configuration under the cache (the machine's own
  # sources stay as they are), 'apt-get source --print-uris' names the
  # tarball and apt-helper downloads it, checked against the index's SHA256.
  # lib/kokkos is stripped from these tarballs and 4Jul2026's KOKKOS needs
  # Kokkos >= 5.1, which Debian does not offer: built without KOKKOS.
  # Exit status 2: the source could not be fetched.
  aptdir="$cache/apt-$suite"
  sandbox=()
  [ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)    # files under root's cache
  apt_opts=("${sandbox[@]}" -o Dir::Etc::SourceList="$aptdir/sources.list"
    -o Dir::Etc::SourceParts="$aptdir/sources.list.d" -o Dir::State::Lists="$aptdir/lists"
    -o Dir::Cache="$aptdir/cache")
  lmp_options=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=on -DBUILD_MPI=on
    -DPKG_PLUGIN=on -DPKG_MOLECULE=on -DPKG_ML-SNAP=on -DPKG_KOKKOS=off -DBUILD_OMP=off)

  # sets lmp_version and prefix from the private index ('' if it has no lammps)
  read_index() {
    lmp_version=$(apt-cache "${apt_opts[@]}" showsrc lammps 2>/dev/null | awk '/^Version:/{print $2; exit}')
    key=$(printf '%s\n' "$lmp_version" "${lmp_options[@]}" | sha256sum | cut -c1-12)
    prefix="$cache/lammps-${lmp_version//[^A-Za-z0-9._-]/_}-$key"
  }
  cached() {
    [ -n "$lmp_version" ] && [ -f "$prefix/.complete" ] && { log "LAMMPS cached at $prefix"; echo "$prefix"; }
  }
  if [ -d "$aptdir/lists" ]; then read_index; cached && exit 0; fi

  archive=$(bookworm_archive | head -n 1 || true)
  [ -n "$archive" ] || { log "no apt entry for Debian bookworm found to take the $suite archive from"; exit 1; }
  mkdir -p "$aptdir/sources.list.d" "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $archive $suite main" \
    > "$aptdir/sources.list"
  log "reading the Debian $suite source index from $archive (private apt state in $aptdir)"
  apt-get "${apt_opts[@]}" update -qq >&2 ||
    { log "could not read the Debian $suite source index: LAMMPS $lmp_release is not available"; exit 2; }
  read_index
  [ -n "$lmp_version" ] || { log "Debian $suite has no lammps source package"; exit 2; }
  case "$lmp_version" in
    "$upstream"*) ;;
    *) log "Debian $suite now has LAMMPS $lmp_version, no longer $lmp_release ($upstream)"; exit 2 ;;
  esac
  cached && exit 0

  log "building LAMMPS $lmp_version into $prefix (about 3 minutes on 2 cores, once)"
  rm -rf "$prefix"; mkdir -p "$prefix/dl"
  # print-uris lines: 'URI' FILE SIZE SHA256:HASH
  read -r uri file _ hash < <(apt-get "${apt_opts[@]}" source --print-uris "lammps=$lmp_version" 2>/dev/null |
    awk '$2 ~ /\.orig\.tar\./ { gsub(/\047/, "", $1); print $1, $2, $3, $4; exit }') || true
  [ -n "${uri:-}" ] || { log "the $suite index lists no .orig.tar for lammps $lmp_version"; exit 2; }
  [[ "$hash" == SHA256:* ]] || { log "no SHA256 for $file in the $suite index"; exit 1; }
  log "downloading $file (checked against its SHA256 in the index)"
  /usr/lib/apt/apt-helper "${sandbox[@]}" download-file "$uri" "$prefix/dl/$file" "$hash" >&2 ||
    { log "could not download $file: LAMMPS $lmp_release is not available"; rm -rf "$prefix"; exit 2; }
  # 4Feb2025's tarball has a top folder, 4Jul2026's has none
  mkdir "$prefix/dl/x"
  tar -xf "$prefix/dl/$file" -C "$prefix/dl/x" --no-same-owner
  srcdir="$prefix/dl/x"
  [ -f "$srcdir/src/version.h" ] || srcdir=$(find "$srcdir" -mindepth 1 -maxdepth 1 -type d | head -n 1)
  [ -f "$srcdir/src/version.h" ] || { log "$file holds no LAMMPS source tree"; exit 1; }
  mv "$srcdir" "$prefix/lammps"; rm -rf "$prefix/dl"
fi

start=$(date +%s)
cmake -G Ninja -S "$prefix/lammps/cmake" -B "$prefix/build" \
  "${lmp_options[@]}" "${launcher[@]}" >&2
cmake --build "$prefix/build" -j "$jobs" >&2
touch "$prefix/.complete"
seconds=$(( $(date +%s) - start ))
log "LAMMPS ready at $prefix (built in $(( seconds / 60 )) min $(( seconds % 60 )) s)" \
    "${kokkos_prefix:+with Kokkos $kokkos_prefix}"
echo "$prefix"
