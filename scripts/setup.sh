#!/usr/bin/env bash
# Sets up everything NVDYN needs on a Debian 12 machine:
#   1. the Debian packages (apt-get, as root; otherwise a message naming them),
#   2. the LAMMPS release named by NVDYN_LAMMPS, from a Debian source package,
#      cached under ${NVDYN_CACHE:-~/.cache/nvdyn}, keyed by version and options:
#        29Sep2021 (default) update 2, from bookworm: MPI, PLUGIN, KOKKOS
#                  (Debian's Kokkos 3.4.01, Serial) and MOLECULE;
#        4Feb2025  from trixie, 4Jul2026 from sid: MPI, PLUGIN and MOLECULE.
# Prints, as its last line, the LAMMPS prefix (holding lammps/ and build/).
# Exit status 2: the source of a newer release could not be fetched.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${NVDYN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nvdyn}
jobs=${NVDYN_JOBS:-$(nproc)}

log() { echo "nvdyn-setup: $*" >&2; }

packages=(build-essential cmake ninja-build ccache dpkg-dev
          libopenmpi-dev openmpi-bin libtrilinos-kokkos-dev
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

# one build of a release at a time per cache (concurrent CI jobs, a second terminal)
mkdir -p "$cache"
exec 9>"$cache/.lock-$lmp_release"
flock 9

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

if [ "$lmp_release" = 29Sep2021 ]; then
  # ---- LAMMPS 29Sep2021 from bookworm's source package (the machine's deb-src entries)
  lmp_version=$(apt-cache showsrc lammps 2>/dev/null | awk '/^Version:/{print $2; exit}')
  [ -n "$lmp_version" ] || { log "apt-cache showsrc lammps found nothing: are deb-src lines configured?"; exit 1; }

  kokkos_dir="$here/cmake/kokkos-debian"
  lmp_options=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=on -DBUILD_MPI=on
    -DLAMMPS_EXCEPTIONS=on -DPKG_PLUGIN=on -DPKG_MOLECULE=on
    -DPKG_KOKKOS=on -DEXTERNAL_KOKKOS=on -DBUILD_OMP=off)
  # the key covers the version, the options and the Kokkos wrapper's contents
  # (not its path: clones in other folders share the cache)
  key=$( { printf '%s\n' "$lmp_version" "${lmp_options[@]}"; cat "$kokkos_dir"/*.cmake; } \
        | sha256sum | cut -c1-12)
  prefix="$cache/lammps-${lmp_version//[^A-Za-z0-9._-]/_}-$key"
  if [ -f "$prefix/.complete" ]; then
    log "LAMMPS cached at $prefix"
    echo "$prefix"; exit 0
  fi

  log "building LAMMPS $lmp_version into $prefix (about 10-15 minutes on 2 cores, once)"
  rm -rf "$prefix"; mkdir -p "$prefix/dl"
  ( cd "$prefix/dl" && apt-get source -qq lammps >&2 )
  srcdir=$(find "$prefix/dl" -mindepth 1 -maxdepth 1 -type d -name 'lammps*' | head -n1)
  mv "$srcdir" "$prefix/lammps"; rm -rf "$prefix/dl"
  # the cached build must not depend on this clone: it gets its own wrapper copy
  cp -r "$kokkos_dir" "$prefix/kokkos-debian"
  lmp_options+=(-DKokkos_DIR="$prefix/kokkos-debian")
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
    -DPKG_PLUGIN=on -DPKG_MOLECULE=on -DPKG_KOKKOS=off -DBUILD_OMP=off)

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
log "LAMMPS ready at $prefix (built in $(( seconds / 60 )) min $(( seconds % 60 )) s)"
echo "$prefix"
