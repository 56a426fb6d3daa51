/* ----------------------------------------------------------------------
   NVDYN: the sample source of fix nvdyn (nvdyn_source.h).
------------------------------------------------------------------------- */

#include "nvdyn_source.h"

#include "nvdyn_pipeline.h"

#include "atom.h"
#include "comm.h"
#include "domain.h"
#include "error.h"
#include "molecule.h"
#include "utils.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

using namespace LAMMPS_NS;

namespace {

// ---- the frames rank 0 read, as bytes for every rank

struct Packer {
  std::string bytes;
  template <class T> void put(const T &v) { bytes.append((const char *) &v, sizeof(T)); }
  template <class T> void put(const std::vector<T> &v)
  {
    put((int64_t) v.size());
    bytes.append((const char *) v.data(), v.size() * sizeof(T));
  }
  void put(const std::string &s)
  {
    put((int64_t) s.size());
    bytes += s;
  }
};

struct Unpacker {
  const char *p;
  template <class T> void get(T &v)
  {
    memcpy(&v, p, sizeof(T));
    p += sizeof(T);
  }
  template <class T> void get(std::vector<T> &v)
  {
    int64_t n = 0;
    get(n);
    v.resize(n);
    memcpy(v.data(), p, n * sizeof(T));
    p += n * sizeof(T);
  }
  void get(std::string &s)
  {
    int64_t n = 0;
    get(n);
    s.assign(p, n);
    p += n;
  }
};

// rank 0's bytes, on every rank
void broadcast(std::string &bytes, MPI_Comm world)
{
  int64_t n = (int64_t) bytes.size();
  MPI_Bcast(&n, 1, MPI_INT64_T, 0, world);
  bytes.resize(n);
  MPI_Bcast(&bytes[0], (int) n, MPI_CHAR, 0, world);
}

void pack(Packer &out, const NVDynSource::Frame &f)
{
  const NVDynXYZFrame &x = f.xyz;
  out.put(x.index);
  out.put(x.file);
  out.put(x.frame);
  out.put(x.line);
  out.put(x.offset);
  out.put(x.natoms);
  out.put(x.type);
  out.put(x.x);
  out.put(x.v);
  out.put(x.mass);
  out.put((int64_t) x.info.size());
  for (const auto &kv : x.info) {
    out.put(kv.first);
    out.put(kv.second);
  }
  out.put(f.error);
  out.put((int) f.handed);
  if (!f.handed) return;
  out.put(f.state);
  out.put(f.keys);
  out.put(f.sphere);
}

void unpack(Unpacker &in, NVDynSource::Frame &f)
{
  NVDynXYZFrame &x = f.xyz;
  in.get(x.index);
  in.get(x.file);
  in.get(x.frame);
  in.get(x.line);
  in.get(x.offset);
  in.get(x.natoms);
  in.get(x.type);
  in.get(x.x);
  in.get(x.v);
  in.get(x.mass);
  int64_t n = 0;
  in.get(n);
  x.info.resize(n);
  for (auto &kv : x.info) {
    in.get(kv.first);
    in.get(kv.second);
  }
  in.get(f.error);
  int handed = 0;
  in.get(handed);
  f.handed = handed != 0;
  if (!f.handed) return;
  in.get(f.state);
  in.get(f.keys);
  in.get(f.sphere);
}

// ---- random numbers keyed by (frame, trial, k): the same on every rank

uint64_t mix(uint64_t z)
{
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double uniform(uint64_t seed, int64_t index, int64_t trial, int k)
{
  uint64_t z = mix(seed + 0x9e3779b97f4a7c15ULL * (uint64_t) (index + 1));
  z = mix(z + 0x9e3779b97f4a7c15ULL * (uint64_t) (trial + 1));
  z = mix(z + (uint64_t) k);
  return (double) (z >> 11) * 0x1.0p-53;
}

// a uniformly distributed rotation (a random unit quaternion, Shoemake)
void rotation(uint64_t seed, int64_t index, double r[9])
{
  const double u1 = uniform(seed, index, -1, 0), u2 = 2.0 * M_PI * uniform(seed, index, -1, 1),
               u3 = 2.0 * M_PI * uniform(seed, index, -1, 2);
  const double a = sqrt(1.0 - u1), b = sqrt(u1);
  const double w = a * sin(u2), x = a * cos(u2), y = b * sin(u3), z = b * cos(u3);
  const double m[9] = {1 - 2 * (y * y + z * z), 2 * (x * y - z * w),     2 * (x * z + y * w),
                       2 * (x * y + z * w),     1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
                       2 * (x * z - y * w),     2 * (y * z + x * w),     1 - 2 * (x * x + y * y)};
  memcpy(r, m, sizeof(m));
}

// the frame's centre (the mean of its positions) and extent (the largest
// distance of an atom from it)
void extent(const NVDynXYZFrame &f, double c[3], double &r)
{
  c[0] = c[1] = c[2] = 0.0;
  for (int i = 0; i < f.natoms; i++)
    for (int k = 0; k < 3; k++) c[k] += f.x[3 * i + k];
  for (int k = 0; k < 3; k++) c[k] /= f.natoms;
  double r2 = 0.0;
  for (int i = 0; i < f.natoms; i++) {
    double d2 = 0.0;
    for (int k = 0; k < 3; k++) d2 += (f.x[3 * i + k] - c[k]) * (f.x[3 * i + k] - c[k]);
    r2 = std::max(r2, d2);
  }
  r = sqrt(r2);
}

constexpr uint64_t PLACE_SEED = 0x6e7664796e706c63ULL;    // where samples go, not what they do
constexpr int TRIES = 100;                                // random positions tried per frame

// spheres binned by their centres in cubes of side `side`
struct Bins {
  double side;
  std::unordered_map<int64_t, std::vector<int>> cells;
  int64_t key(const int c[3]) const
  {
    return ((int64_t) (c[0] + 1048576) << 42) | ((int64_t) (c[1] + 1048576) << 21) |
        (int64_t) (c[2] + 1048576);
  }
  void cell(const double x[3], int c[3]) const
  {
    for (int k = 0; k < 3; k++) c[k] = (int) floor(x[k] / side);
  }
  void add(const NVDynSphere &s, int index)
  {
    int c[3];
    cell(s.center, c);
    cells[key(c)].push_back(index);
  }
};

}    // namespace

/* ---------------------------------------------------------------------- */

NVDynSource::NVDynSource(LAMMPS *lmp, const NVDynConfig::Source &src,
                         const std::vector<std::string> &elements) :
    Pointers(lmp),
    config(src), ntypes(lmp->atom->ntypes)
{
  if (config.paths[0] == "molecule") {
    // copies of a molecule template (nvdyn_args checked the ID and count)
    onemol = atom->molecules[atom->find_molecule(const_cast<char *>(config.paths[1].c_str()))];
    copies = utils::bnumeric(FLERR, config.paths[2].c_str(), false, lmp);
    if (!onemol->xflag || !onemol->typeflag)
      error->all(FLERR, "Fix nvdyn: source molecule {}: the template needs coordinates and types",
                 onemol->id);
    if (onemol->ntypes > atom->ntypes)
      error->all(FLERR, "Fix nvdyn: source molecule {}: the template has atom types beyond {}",
                 onemol->id, atom->ntypes);
    if ((onemol->bondflag || onemol->angleflag || onemol->dihedralflag || onemol->improperflag) &&
        atom->molecular != Atom::MOLECULAR)
      error->all(FLERR,
                 "Fix nvdyn: source molecule {}: the template has bonds, the atom style none",
                 onemol->id);
    // (Molecule::check_attributes() changed its signature between releases:
    // the same checks, naming the template)
    if (onemol->nbondtypes > atom->nbondtypes || onemol->nangletypes > atom->nangletypes ||
        onemol->ndihedraltypes > atom->ndihedraltypes ||
        onemol->nimpropertypes > atom->nimpropertypes)
      error->all(FLERR,
                 "Fix nvdyn: source molecule {}: the template has bond, angle, dihedral or "
                 "improper types beyond those of the box",
                 onemol->id);
    if (atom->molecular == Atom::MOLECULAR &&
        (atom->bond_per_atom < onemol->bond_per_atom ||
         atom->angle_per_atom < onemol->angle_per_atom ||
         atom->dihedral_per_atom < onemol->dihedral_per_atom ||
         atom->improper_per_atom < onemol->improper_per_atom ||
         atom->maxspecial < onemol->maxspecial))
      error->all(FLERR,
                 "Fix nvdyn: source molecule {}: the template has more bonds, angles, dihedrals, "
                 "impropers or special neighbors per atom than the box holds (create_box "
                 "extra/.../per/atom)",
                 onemol->id);
    files = {"molecule " + std::string(onemol->id)};
    return;
  }
  std::string message;
  if (comm->me == 0) {
    try {
      reader = std::make_unique<NVDynXYZReader>(config.paths, elements, ntypes);
    } catch (const NVDynXYZError &e) {
      message = e.what();
    }
  }
  // the error, or the files (for messages on every rank)
  Packer out;
  out.put(message);
  out.put((int64_t) (reader ? reader->files().size() : 0));
  if (reader)
    for (const auto &f : reader->files()) out.put(f);
  broadcast(out.bytes, world);
  Unpacker in{out.bytes.data()};
  in.get(message);
  if (!message.empty()) error->all(FLERR, "Fix nvdyn: {}", message);
  int64_t nfiles = 0;
  in.get(nfiles);
  files.resize(nfiles);
  for (auto &f : files) in.get(f);
}

// where a frame comes from, as the reader's messages say it
std::string NVDynSource::where(const NVDynXYZFrame &f) const
{
  if (onemol) return fmt::format("source molecule {}, copy {}", onemol->id, f.frame);
  return fmt::format("source file '{}', frame {}, line {}", files[f.file], f.frame, f.line);
}

// copy `copy` (0-based) of the molecule template, as a frame: its types,
// coordinates and per-atom masses, and the key template=ID
NVDynXYZFrame NVDynSource::template_frame(bigint copy) const
{
  NVDynXYZFrame f;
  f.index = copy;
  f.file = 0;
  f.frame = copy + 1;
  f.natoms = onemol->natoms;
  for (int i = 0; i < onemol->natoms; i++) {
    f.type.push_back(onemol->type[i]);
    f.x.insert(f.x.end(), onemol->x[i], onemol->x[i] + 3);
    if (onemol->rmassflag) f.mass.push_back(onemol->rmass[i]);
  }
  f.info = {{"template", onemol->id}};
  return f;
}

NVDynSource::~NVDynSource() = default;

std::string NVDynSource::bytes_of(const Frame &f)
{
  Packer out;
  pack(out, f);
  return out.bytes;
}

/* ----------------------------------------------------------------------
   what keeps a frame that the reader accepted out of this box: its size
   against the budget, its masses against the atom style
------------------------------------------------------------------------- */

std::string NVDynSource::check_frame(const NVDynXYZFrame &f) const
{
  if (config.atoms > 0 && f.natoms > config.atoms)
    return fmt::format("{}: {} atoms: more than the atom budget (atoms {})", where(f), f.natoms,
                       config.atoms);
  for (int i = 0; i < f.natoms; i++) {
    const int t = f.type[i];
    if (!f.mass.empty() && !atom->rmass_flag && f.mass[i] != atom->mass[t])
      return fmt::format("{}: atom {}: mass {} differs from the mass {} of type {}, and the atom "
                         "style has no per-atom masses",
                         where(f), i + 1, f.mass[i], atom->mass[t], t);
    if (f.mass.empty() && !atom->rmass_flag && !atom->mass_setflag[t])
      return fmt::format("{}: atom {}: type {} has no mass and the frame gives none", where(f),
                         i + 1, t);
    if (f.mass.empty() && atom->rmass_flag && !(atom->mass && atom->mass_setflag[t]))
      return fmt::format("{}: atom {}: no per-atom mass in the frame and no mass for type {}",
                         where(f), i + 1, t);
  }
  return "";
}

/* ----------------------------------------------------------------------
   rank 0: the next frame, with what is wrong with it; false at the end.
   Errors that leave the reader lost (a broken file) are LAMMPS errors.
------------------------------------------------------------------------- */

NVDynSource::Read NVDynSource::read_one(Frame &f)
{
  f = Frame();
  if (link) {
    std::string bytes;
    if (!link->next_sample(bytes)) return link->upstream_done() ? READ_END : READ_NONE_NOW;
    Unpacker in{bytes.data()};
    unpack(in, f);
    return READ_FRAME;
  }
  if (onemol) {
    if (next_copy == copies) return READ_END;
    f.xyz = template_frame(next_copy++);
    f.error = check_frame(f.xyz);
    return READ_FRAME;
  }
  try {
    if (!reader->next(f.xyz)) return READ_END;
    f.error = check_frame(f.xyz);
  } catch (const NVDynXYZError &e) {
    if (e.fatal) throw;
    f.error = e.what();
  }
  return READ_FRAME;
}

// the window filled up to its size; frames that cannot go in go to failed
void NVDynSource::top_up(std::vector<Frame> &failed)
{
  if (at_end || (int) window.size() >= config.window) return;
  Packer out;
  std::string fatal;
  int64_t count = 0;
  int end = 0;
  if (comm->me == 0) {
    size_t good = window.size();
    Frame f;
    try {
      while (good < (size_t) config.window) {
        const Read got = read_one(f);
        if (got != READ_FRAME) {
          end = got == READ_END;
          break;
        }
        pack(out, f);
        count++;
        if (f.error.empty()) good++;
      }
    } catch (const NVDynXYZError &e) {
      fatal = e.what();
    }
  }
  Packer head;
  head.put(count);
  head.put(end);
  head.put(fatal);
  head.bytes += out.bytes;
  broadcast(head.bytes, world);
  Unpacker in{head.bytes.data()};
  in.get(count);
  in.get(end);
  in.get(fatal);
  if (!fatal.empty()) error->all(FLERR, "Fix nvdyn: {}", fatal);
  for (int64_t k = 0; k < count; k++) {
    Frame f;
    unpack(in, f);
    nread++;
    if (f.error.empty())
      window.push_back(std::move(f));
    else
      failed.push_back(std::move(f));
  }
  at_end = end != 0;
}

/* ---------------------------------------------------------------------- */

std::vector<NVDynSource::Insert> NVDynSource::take(bigint free_atoms, int free_samples,
                                                   const std::vector<NVDynSphere> &live, double gap,
                                                   double margin, std::vector<Frame> &failed)
{
  std::vector<Insert> inserts;
  std::vector<NVDynSphere> placed = live;
  double reach_max = 0.0;
  for (const auto &s : live) reach_max = std::max(reach_max, s.reach);
  bool more = true;
  while (more && free_samples != 0 && free_atoms != 0) {
    top_up(failed);
    more = false;
    // largest first; among equals, in the source's order
    std::vector<size_t> order(window.size());
    for (size_t k = 0; k < order.size(); k++) order[k] = k;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return window[a].xyz.natoms > window[b].xyz.natoms;
    });
    // spheres binned by centre, in cubes that the largest possible
    // conflict distance spans
    double frame_max = 0.0;
    std::vector<double> center(3 * window.size()), radius(window.size());
    // (a sample handed on keeps its sphere: its centre and reach)
    for (size_t k = 0; k < window.size(); k++) {
      const Frame &w = window[k];
      if (w.handed) {
        std::copy(w.sphere.center, w.sphere.center + 3, &center[3 * k]);
        radius[k] = w.sphere.reach - margin;
      } else {
        extent(w.xyz, &center[3 * k], radius[k]);
      }
      frame_max = std::max(frame_max, radius[k] + margin);
    }
    Bins bins{2.0 * std::max(reach_max, frame_max) + gap, {}};
    for (size_t j = 0; j < placed.size(); j++) bins.add(placed[j], (int) j);

    std::vector<bool> taken(window.size(), false);
    double failed_reach = INFINITY;    // a frame this large found no place
    for (size_t k : order) {
      const NVDynXYZFrame &xyz = window[k].xyz;
      if (free_samples == 0 || (free_atoms >= 0 && xyz.natoms > free_atoms)) continue;
      const double reach = window[k].handed ? window[k].sphere.reach : radius[k] + margin;
      if (reach >= failed_reach) continue;
      // the box region for the centre
      double lo[3], hi[3];
      bool fits = true;
      for (int d = 0; d < 3; d++) {
        lo[d] = domain->boxlo[d] + reach + 0.5 * gap;
        hi[d] = domain->boxhi[d] - reach - 0.5 * gap;
        fits = fits && lo[d] <= hi[d];
      }
      if (!fits) {
        Frame bad = window[k];
        bad.error = fmt::format("{}: does not fit in the box: its extent {} plus margin {} and "
                                "half the cutoff {} on each side exceeds the box",
                                where(xyz), radius[k], margin, 0.5 * gap);
        failed.push_back(std::move(bad));
        taken[k] = true;
        continue;
      }
      bool found = false;
      double c[3];
      for (int t = 0; t < TRIES && !found; t++) {
        for (int d = 0; d < 3; d++)
          c[d] = lo[d] + (hi[d] - lo[d]) * uniform(PLACE_SEED, xyz.index, t, d);
        int cc[3];
        bins.cell(c, cc);
        found = true;
        for (int a = -1; a <= 1 && found; a++)
          for (int b = -1; b <= 1 && found; b++)
            for (int e = -1; e <= 1 && found; e++) {
              const int n[3] = {cc[0] + a, cc[1] + b, cc[2] + e};
              auto it = bins.cells.find(bins.key(n));
              if (it == bins.cells.end()) continue;
              for (int j : it->second) {
                const NVDynSphere &s = placed[j];
                double d2 = 0.0;
                for (int d = 0; d < 3; d++) d2 += (c[d] - s.center[d]) * (c[d] - s.center[d]);
                const double dmin = reach + s.reach + gap;
                if (d2 < dmin * dmin) {
                  found = false;
                  break;
                }
              }
            }
      }
      if (!found) {
        failed_reach = reach;
        continue;
      }
      Insert ins;
      ins.frame = window[k];
      ins.sphere = {{c[0], c[1], c[2]}, reach};
      ins.tag0 = allocate_tags(xyz.natoms);
      double rot[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
      if (config.rotate_seed && !window[k].handed)
        rotation((uint64_t) config.rotate_seed, xyz.index, rot);
      ins.x.resize(3 * (size_t) xyz.natoms);
      const double *c0 = &center[3 * k];
      for (int i = 0; i < xyz.natoms; i++) {
        const double r[3] = {xyz.x[3 * i] - c0[0], xyz.x[3 * i + 1] - c0[1],
                             xyz.x[3 * i + 2] - c0[2]};
        for (int d = 0; d < 3; d++)
          ins.x[3 * i + d] =
              c[d] + rot[3 * d] * r[0] + rot[3 * d + 1] * r[1] + rot[3 * d + 2] * r[2];
      }
      bins.add(ins.sphere, (int) placed.size());
      placed.push_back(ins.sphere);
      if (free_atoms > 0) free_atoms -= xyz.natoms;
      if (free_samples > 0) free_samples--;
      inserts.push_back(std::move(ins));
      taken[k] = true;
      more = true;
    }
    std::deque<Frame> rest;
    for (size_t k = 0; k < window.size(); k++)
      if (!taken[k]) rest.push_back(std::move(window[k]));
    window.swap(rest);
    more = more && !at_end;
  }
  return inserts;
}

bigint NVDynSource::smallest_waiting() const
{
  // (from a link, nothing waits until something arrived)
  if (window.empty()) return link ? MAXBIGINT : 1;
  int smallest = window.front().xyz.natoms;
  for (const auto &f : window) smallest = std::min(smallest, f.xyz.natoms);
  return smallest;
}

/* ----------------------------------------------------------------------
   atom IDs: a first-fit range among those deleted samples gave back,
   else above all IDs in use
------------------------------------------------------------------------- */

void NVDynSource::set_tag_base(tagint base)
{
  tag_base = base;
  tag_top = std::max(tag_top, base);
}

tagint NVDynSource::allocate_tags(int n)
{
  for (auto it = free_tags.begin(); it != free_tags.end(); ++it) {
    if (it->second < n) continue;
    const tagint first = it->first, len = it->second;
    free_tags.erase(it);
    if (len > n) free_tags[first + n] = len - n;
    return first - 1;
  }
  const tagint first = tag_top + 1;
  tag_top += n;
  if (tag_top >= MAXTAGINT) error->all(FLERR, "Fix nvdyn: new atom IDs exceed the largest ID");
  return first - 1;
}

void NVDynSource::release(tagint tag0, int n)
{
  tagint first = tag0 + 1, len = n;
  auto next = free_tags.lower_bound(first);
  if (next != free_tags.end() && next->first == first + len) {
    len += next->second;
    next = free_tags.erase(next);
  }
  if (next != free_tags.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == first) {
      prev->second += len;
      return;
    }
  }
  free_tags[first] = len;
}

/* ----------------------------------------------------------------------
   restart files: counters, atom IDs, the reader's position, the window
------------------------------------------------------------------------- */

std::vector<int64_t> NVDynSource::save() const
{
  std::vector<int64_t> v = {nread, at_end ? 1 : 0, failed_before, tag_base, tag_top};
  NVDynXYZReader::Position p;
  if (reader) p = reader->tell();
  if (onemol) p.index = next_copy;
  v.insert(v.end(), {p.file, p.offset, p.index, p.frame, p.line});
  v.push_back((int64_t) window.size());
  for (const auto &f : window)
    v.insert(v.end(), {f.xyz.file, f.xyz.offset, f.xyz.index, f.xyz.frame, f.xyz.line});
  return v;
}

void NVDynSource::restore(const std::vector<int64_t> &v,
                          const std::vector<std::pair<tagint, int>> &live_tags)
{
  constexpr size_t HEAD = 11;
  if (v.size() < HEAD || v.size() != HEAD + 5 * (size_t) v[10])
    error->all(FLERR, "Fix nvdyn: the source's record in the restart file is corrupt");
  nread = v[0];
  at_end = v[1] != 0;
  failed_before = v[2];
  tag_base = v[3];
  tag_top = v[4];
  // the IDs above the input's that no sample in the box holds are free
  std::vector<std::pair<tagint, int>> used = live_tags;
  std::sort(used.begin(), used.end());
  free_tags.clear();
  tagint next = tag_base + 1;
  for (const auto &u : used) {
    if (u.first + 1 > next) free_tags[next] = u.first + 1 - next;
    next = std::max(next, u.first + 1 + u.second);
  }
  if (tag_top + 1 > next) free_tags[next] = tag_top + 1 - next;

  // rank 0 reads the window's frames again where they start
  auto position = [&](size_t k) {
    return NVDynXYZReader::Position{(int) v[k], v[k + 1], v[k + 2], v[k + 3], v[k + 4]};
  };
  Packer out;
  std::string fatal;
  if (onemol) next_copy = v[7];
  if (comm->me == 0) {
    try {
      if (reader) reader->seek(position(5));
      for (int64_t k = 0; k < v[10]; k++) {
        Frame f;
        f.xyz = onemol ? template_frame(v[HEAD + 5 * (size_t) k + 2])
                       : reader->read_at(position(HEAD + 5 * (size_t) k));
        f.error = check_frame(f.xyz);
        pack(out, f);
      }
    } catch (const NVDynXYZError &e) {
      fatal = e.what();
    }
  }
  Packer head;
  head.put(fatal);
  head.bytes += out.bytes;
  broadcast(head.bytes, world);
  Unpacker in{head.bytes.data()};
  in.get(fatal);
  if (!fatal.empty())
    error->all(FLERR, "Fix nvdyn: continuing the source from the restart file: {}", fatal);
  window.clear();
  for (int64_t k = 0; k < v[10]; k++) {
    Frame f;
    unpack(in, f);
    window.push_back(std::move(f));
  }
}
