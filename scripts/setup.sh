#!/usr/bin/env bash
# Sets up everything NVDYN needs on a Debian 12 machine:
#   1. the Debian packages (apt-get, as root; otherwise a message naming them),
#   2. LAMMPS 29Sep2021 (update 2) from Debian's source package, built with
#      MPI, PLUGIN, KOKKOS (Debian's Kokkos 3.4.01, Serial) and MOLECULE,
#      cached under ${NVDYN_CACHE:-~/.cache/nvdyn}, keyed by version and options.
# Prints, as its last line, the LAMMPS prefix (holding src/ and build/).
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

# ---- LAMMPS from Debian's source package, cached ----
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

# one build at a time per cache (concurrent CI jobs, a second terminal)
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

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

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -G Ninja -S "$prefix/lammps/cmake" -B "$prefix/build" \
  "${lmp_options[@]}" "${launcher[@]}" -DKokkos_DIR="$prefix/kokkos-debian" >&2
cmake --build "$prefix/build" -j "$jobs" >&2
touch "$prefix/.complete"
log "LAMMPS ready at $prefix"
echo "$prefix"
