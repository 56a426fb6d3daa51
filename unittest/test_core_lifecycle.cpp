// Samples one at a time: a slot retired and reset with a new sample, one
// sample's state saved and loaded into another engine, blobs of another
// format or size refused; and the table of styles, parameters and
// criteria through the C ABI.
#include "nvdyn.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

const int PER = 5;    // atoms per sample

// Samples of PER atoms in harmonic wells (spring constant 1 + 0.5 j for
// atom j of a sample), contiguous; index = position in the sample.
struct Atoms {
  int n;
  std::vector<double> x, v, f, pe, mass;
  std::vector<int> sample;
  std::vector<int32_t> index;
  explicit Atoms(int nsamples) :
      n(nsamples * PER), x(3 * n), v(3 * n), f(3 * n), pe(n), mass(n, 1.0), sample(n), index(n)
  {
    for (int i = 0; i < n; i++) {
      sample[i] = i / PER;
      index[i] = i % PER;
    }
  }
  nvdyn_atoms atoms()
  {
    nvdyn_atoms a{};
    a.natoms = n;
    a.x = {x.data(), 3, 1};
    a.v = {v.data(), 3, 1};
    a.f = {f.data(), 3, 1};
    a.rmass = mass.data();
    a.sample = sample.data();
    a.index = index.data();
    a.pe = pe.data();
    return a;
  }
  // a sample's starting positions and velocities, by a seed
  void place(int s, int seed)
  {
    for (int j = 0; j < PER; j++)
      for (int k = 0; k < 3; k++) {
        x[3 * (s * PER + j) + k] = std::sin(seed + 1.3 * j + 0.7 * k);
        v[3 * (s * PER + j) + k] = 0.1 * std::cos(seed + 0.9 * j + 1.1 * k);
      }
  }
  void copy_sample(int s, const Atoms &from, int t)
  {
    std::memcpy(&x[3 * s * PER], &from.x[3 * t * PER], 3 * PER * sizeof(double));
    std::memcpy(&v[3 * s * PER], &from.v[3 * t * PER], 3 * PER * sizeof(double));
    std::memcpy(&f[3 * s * PER], &from.f[3 * t * PER], 3 * PER * sizeof(double));
  }
  bool same_sample(int s, const Atoms &o, int t) const
  {
    return std::memcmp(&x[3 * s * PER], &o.x[3 * t * PER], 3 * PER * sizeof(double)) == 0 &&
        std::memcmp(&v[3 * s * PER], &o.v[3 * t * PER], 3 * PER * sizeof(double)) == 0;
  }
};

int harmonic(const nvdyn_atoms *a, void *)
{
  for (int i = 0; i < a->natoms; i++) {
    const double k = 1.0 + 0.5 * (i % PER);
    double e = 0.0;
    for (int c = 0; c < 3; c++) {
      const double xc = a->x.data[3 * i + c];
      a->f.data[3 * i + c] = -k * xc;
      e += 0.5 * k * xc * xc;
    }
    const_cast<double *>(a->pe)[i] = e;
  }
  return 0;
}

struct Engine {
  nvdyn_engine *e = nullptr;
  Engine() { nvdyn_engine_create(&e); }
  ~Engine() { nvdyn_engine_destroy(e); }
  std::string err() const { return nvdyn_engine_last_error(e); }
};

// fire, then csvr with drawn velocities, langevin, nhc: every stochastic
// style, and the deterministic ones
void stages(nvdyn_engine *e, int nsamples)
{
  ASSERT_EQ(nvdyn_engine_set(e, "dt", 0.01), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_add(e, "fire", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until(e, 0, "fmax", 1e-3), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_add(e, "csvr", nullptr), NVDYN_OK);
  for (auto [k, v] : {std::pair{"temp", 0.3},
                      {"damp", 0.2},
                      {"seed", 11.0},
                      {"velocity", 0.3},
                      {"velocity_seed", 5.0}})
    ASSERT_EQ(nvdyn_stage_set(e, 1, k, v), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until(e, 1, "steps", 40), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_add(e, "langevin", nullptr), NVDYN_OK);
  for (auto [k, v] : {std::pair{"temp", 0.4}, {"damp", 0.3}, {"seed", 13.0}})
    ASSERT_EQ(nvdyn_stage_set(e, 2, k, v), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until(e, 2, "steps", 40), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_add(e, "nhc", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_set(e, 3, "temp", 0.2), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_set(e, 3, "damp", 0.2), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_until(e, 3, "steps", 40), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_nsamples(e, nsamples), NVDYN_OK);
}

void run(Engine &en, Atoms &at, int nsteps)
{
  nvdyn_atoms a = at.atoms();
  for (int t = 0; t < nsteps; t++)
    ASSERT_EQ(nvdyn_step(en.e, &a, harmonic, nullptr, nullptr), NVDYN_OK) << en.err();
}

int outcome(const Engine &en, int s, int nsamples)
{
  std::vector<int> o(nsamples);
  nvdyn_get_sample_outcomes(en.e, o.data());
  return o[s];
}

}    // namespace

// A slot retired and reset with a new sample in stage 2 (langevin) behaves
// exactly as the same sample (key, atoms) in a fresh engine, inserted on
// another step: its random numbers are its own.
TEST(CoreLifecycle, ResetSlotMatchesFreshEngine)
{
  Engine a;
  ASSERT_NO_FATAL_FAILURE(stages(a.e, 2));
  Atoms at(2);
  at.place(0, 1);
  at.place(1, 2);
  nvdyn_atoms va = at.atoms();
  harmonic(&va, nullptr);
  ASSERT_NO_FATAL_FAILURE(run(a, at, 70));

  ASSERT_EQ(nvdyn_sample_retire(a.e, 1), NVDYN_OK);
  EXPECT_EQ(outcome(a, 1, 2), NVDYN_EMPTY);
  std::vector<double> x1(at.x.begin() + 3 * PER, at.x.end());
  ASSERT_NO_FATAL_FAILURE(run(a, at, 5));    // an empty slot's atoms stay where they are
  EXPECT_EQ(x1, std::vector<double>(at.x.begin() + 3 * PER, at.x.end()));

  at.place(1, 9);
  harmonic(&va, nullptr);
  ASSERT_EQ(nvdyn_sample_reset(a.e, 1, 2, 4242), NVDYN_OK) << a.err();
  uint64_t key = 0;
  ASSERT_EQ(nvdyn_sample_key(a.e, 1, &key), NVDYN_OK);
  EXPECT_EQ(key, 4242u);

  Engine b;
  ASSERT_NO_FATAL_FAILURE(stages(b.e, 1));
  ASSERT_EQ(nvdyn_engine_set_step(b.e, 12345), NVDYN_OK);    // another step
  ASSERT_EQ(nvdyn_sample_reset(b.e, 0, 2, 4242), NVDYN_OK);
  Atoms bt(1);
  bt.copy_sample(0, at, 1);

  for (int t = 0; t < 60; t++) {
    ASSERT_NO_FATAL_FAILURE(run(a, at, 1));
    ASSERT_NO_FATAL_FAILURE(run(b, bt, 1));
    ASSERT_TRUE(at.same_sample(1, bt, 0)) << "step " << t;
  }
  std::vector<int> sa(2), sb(1);
  nvdyn_get_sample_stages(a.e, sa.data());
  nvdyn_get_sample_stages(b.e, sb.data());
  EXPECT_EQ(sa[1], 3);    // it went on from langevin to nhc, in both
  EXPECT_EQ(sb[0], 3);
  std::vector<int64_t> ka(4), kb(4);
  nvdyn_get_sample_stage_steps(a.e, 1, ka.data());
  nvdyn_get_sample_stage_steps(b.e, 0, kb.data());
  EXPECT_EQ(ka, kb);
  EXPECT_EQ(ka, (std::vector<int64_t>{0, 0, 40, 20}));
}

// One sample's state saved in one engine and loaded into another slot of
// another engine continues bit for bit, through the stochastic stages.
TEST(CoreLifecycle, SampleStateMovesBetweenEngines)
{
  Engine a;
  ASSERT_NO_FATAL_FAILURE(stages(a.e, 2));
  Atoms at(2);
  at.place(0, 3);
  at.place(1, 4);
  nvdyn_atoms va = at.atoms();
  harmonic(&va, nullptr);
  std::vector<int> st(2);
  for (int t = 0; t < 2000 && st[0] < 1; t++) {    // until sample 0 is in csvr
    ASSERT_NO_FATAL_FAILURE(run(a, at, 1));
    nvdyn_get_sample_stages(a.e, st.data());
  }
  ASSERT_EQ(st[0], 1);
  ASSERT_NO_FATAL_FAILURE(run(a, at, 10));

  size_t size = 0;
  ASSERT_EQ(nvdyn_sample_state_size(a.e, &size), NVDYN_OK);
  std::vector<unsigned char> blob(size);
  ASSERT_EQ(nvdyn_sample_save(a.e, 0, blob.data(), size), NVDYN_OK);

  Engine c;
  ASSERT_NO_FATAL_FAILURE(stages(c.e, 3));
  ASSERT_EQ(nvdyn_sample_load(c.e, 2, blob.data(), size), NVDYN_OK) << c.err();
  Atoms ct(3);
  ct.place(0, 7);
  ct.place(1, 8);
  nvdyn_atoms vc = ct.atoms();
  harmonic(&vc, nullptr);
  ct.copy_sample(2, at, 0);
  for (int t = 0; t < 120; t++) {
    ASSERT_NO_FATAL_FAILURE(run(a, at, 1));
    ASSERT_NO_FATAL_FAILURE(run(c, ct, 1));
    ASSERT_TRUE(at.same_sample(0, ct, 2)) << "step " << t;
  }
  EXPECT_EQ(outcome(a, 0, 2), outcome(c, 2, 3));
}

// An engine grown mid-run keeps its samples bit for bit (against an engine
// that never grew), its new slots are empty and stepped over, and a new
// sample in a new slot runs as the same sample (key, atoms) alone.
TEST(CoreLifecycle, GrowKeepsSamples)
{
  Engine a, b;
  ASSERT_NO_FATAL_FAILURE(stages(a.e, 2));
  ASSERT_NO_FATAL_FAILURE(stages(b.e, 2));
  Atoms at(2), bt(2);
  for (Atoms *t : {&at, &bt}) {
    t->place(0, 1);
    t->place(1, 2);
    nvdyn_atoms va = t->atoms();
    harmonic(&va, nullptr);
  }
  ASSERT_NO_FATAL_FAILURE(run(a, at, 30));
  ASSERT_NO_FATAL_FAILURE(run(b, bt, 30));

  ASSERT_EQ(nvdyn_engine_grow(a.e, 5), NVDYN_OK) << a.err();
  int n = 0;
  ASSERT_EQ(nvdyn_engine_nsamples(a.e, &n), NVDYN_OK);
  EXPECT_EQ(n, 5);
  std::vector<int> o(5), st(5);
  nvdyn_get_sample_outcomes(a.e, o.data());
  nvdyn_get_sample_stages(a.e, st.data());
  EXPECT_EQ(o,
            (std::vector<int>{NVDYN_ACTIVE, NVDYN_ACTIVE, NVDYN_EMPTY, NVDYN_EMPTY, NVDYN_EMPTY}));
  EXPECT_EQ(st[4], -1);
  ASSERT_EQ(nvdyn_engine_grow(a.e, 3), NVDYN_OK);    // never shrinks
  ASSERT_EQ(nvdyn_engine_nsamples(a.e, &n), NVDYN_OK);
  EXPECT_EQ(n, 5);

  // the grown engine's atoms: the two samples, then a new one in slot 4
  Atoms gt(5);
  std::copy(at.x.begin(), at.x.end(), gt.x.begin());
  std::copy(at.v.begin(), at.v.end(), gt.v.begin());
  std::copy(at.f.begin(), at.f.end(), gt.f.begin());
  for (int i = 2 * PER; i < gt.n; i++) gt.sample[i] = i < 4 * PER ? -1 : 4;
  gt.place(4, 9);
  nvdyn_atoms vg = gt.atoms();
  harmonic(&vg, nullptr);
  ASSERT_EQ(nvdyn_sample_reset(a.e, 4, 0, 777), NVDYN_OK) << a.err();

  Engine c;    // the new sample alone
  ASSERT_NO_FATAL_FAILURE(stages(c.e, 1));
  ASSERT_EQ(nvdyn_sample_reset(c.e, 0, 0, 777), NVDYN_OK);
  Atoms ct(1);
  ct.copy_sample(0, gt, 4);

  for (int t = 0; t < 300; t++) {
    ASSERT_NO_FATAL_FAILURE(run(a, gt, 1));
    ASSERT_NO_FATAL_FAILURE(run(b, bt, 1));
    ASSERT_NO_FATAL_FAILURE(run(c, ct, 1));
    ASSERT_TRUE(gt.same_sample(0, bt, 0) && gt.same_sample(1, bt, 1)) << "step " << t;
    ASSERT_TRUE(gt.same_sample(4, ct, 0)) << "step " << t;
  }
  std::vector<int64_t> kg(4), kc(4);
  nvdyn_get_sample_stage_steps(a.e, 4, kg.data());
  nvdyn_get_sample_stage_steps(c.e, 0, kc.data());
  EXPECT_EQ(kg, kc);
  EXPECT_GT(kg[1], 0);    // it went on past fire
}

// The partition pipeline's hand-over: a sample run through stages 0-1 by
// one engine (range [0, 2)) finishes there, done at stage 2 and frozen; its
// state loaded into an engine that runs stages [2, 4) and resumed there,
// it goes on bit for bit as in one engine running every stage, through
// langevin and nhc, with the same per-stage steps. Resume refuses a sample
// that did not finish a range, or one this engine does not run.
TEST(CoreLifecycle, StageRangeHandsOnExactly)
{
  Engine whole, up, down;
  ASSERT_NO_FATAL_FAILURE(stages(whole.e, 1));
  ASSERT_NO_FATAL_FAILURE(stages(up.e, 1));
  ASSERT_NO_FATAL_FAILURE(stages(down.e, 2));
  EXPECT_EQ(nvdyn_engine_set_stage_range(up.e, 1, 1), NVDYN_ERR_VALUE);
  EXPECT_EQ(nvdyn_engine_set_stage_range(up.e, 0, 5), NVDYN_ERR_VALUE);
  ASSERT_EQ(nvdyn_engine_set_stage_range(up.e, 0, 2), NVDYN_OK) << up.err();
  ASSERT_EQ(nvdyn_engine_set_stage_range(down.e, 2, 4), NVDYN_OK) << down.err();
  Atoms wt(1), ut(1), dt(2);
  wt.place(0, 5);
  ut.place(0, 5);
  for (Atoms *t : {&wt, &ut}) {
    nvdyn_atoms a = t->atoms();
    harmonic(&a, nullptr);
  }
  // up: until the sample leaves its range; whole: in step with it
  int t = 0;
  for (; t < 5000 && outcome(up, 0, 1) == NVDYN_ACTIVE; t++) {
    ASSERT_NO_FATAL_FAILURE(run(whole, wt, 1));
    ASSERT_NO_FATAL_FAILURE(run(up, ut, 1));
    ASSERT_TRUE(wt.same_sample(0, ut, 0)) << "step " << t;
  }
  ASSERT_EQ(outcome(up, 0, 1), NVDYN_DONE);
  std::vector<int> st(2);
  nvdyn_get_sample_stages(up.e, st.data());
  EXPECT_EQ(st[0], 2);
  nvdyn_get_sample_stages(whole.e, st.data());
  EXPECT_EQ(st[0], 2);
  EXPECT_EQ(outcome(whole, 0, 1), NVDYN_ACTIVE);
  const std::vector<double> frozen = ut.x;
  ASSERT_NO_FATAL_FAILURE(run(up, ut, 3));    // done there: never moved again
  EXPECT_EQ(frozen, ut.x);
  EXPECT_EQ(nvdyn_sample_resume(up.e, 0), NVDYN_ERR_STATE);    // up does not run stage 2

  // the hand-over, some steps later, into slot 1 of the downstream engine
  size_t size = 0;
  ASSERT_EQ(nvdyn_sample_state_size(up.e, &size), NVDYN_OK);
  std::vector<unsigned char> blob(size);
  ASSERT_EQ(nvdyn_sample_save(up.e, 0, blob.data(), size), NVDYN_OK);
  ASSERT_EQ(nvdyn_sample_retire(down.e, 0), NVDYN_OK);
  EXPECT_EQ(nvdyn_sample_resume(down.e, 1), NVDYN_ERR_STATE);    // active: nothing to resume
  ASSERT_EQ(nvdyn_sample_load(down.e, 1, blob.data(), size), NVDYN_OK) << down.err();
  ASSERT_EQ(nvdyn_sample_resume(down.e, 1), NVDYN_OK) << down.err();
  dt.copy_sample(1, ut, 0);
  for (int k = 0; k < 100; k++) {
    ASSERT_NO_FATAL_FAILURE(run(whole, wt, 1));
    ASSERT_NO_FATAL_FAILURE(run(down, dt, 1));
    ASSERT_TRUE(wt.same_sample(0, dt, 1)) << "step " << k << " after the hand-over";
  }
  EXPECT_EQ(outcome(whole, 0, 1), NVDYN_DONE);
  EXPECT_EQ(outcome(down, 1, 2), NVDYN_DONE);
  std::vector<int64_t> kw(4), kd(4);
  nvdyn_get_sample_stage_steps(whole.e, 0, kw.data());
  nvdyn_get_sample_stage_steps(down.e, 1, kd.data());
  EXPECT_EQ(kw, kd);
  EXPECT_EQ(kd[2], 40);
  EXPECT_EQ(kd[3], 40);
}

// Finished samples move too: a failed sample (in the stage where it
// stopped) and a done one load into another engine with their outcome,
// reason and stage, and stay frozen there.
TEST(CoreLifecycle, FinishedSamplesLoad)
{
  Engine a, b;
  ASSERT_NO_FATAL_FAILURE(stages(a.e, 2));
  ASSERT_NO_FATAL_FAILURE(stages(b.e, 2));
  Atoms at(2);
  at.place(0, 1);
  at.place(1, 2);
  nvdyn_atoms va = at.atoms();
  harmonic(&va, nullptr);
  ASSERT_NO_FATAL_FAILURE(run(a, at, 5));
  ASSERT_EQ(nvdyn_sample_fail(a.e, 0, NVDYN_REASON_ESCAPED), NVDYN_OK);
  for (int t = 0; t < 5000 && outcome(a, 1, 2) == NVDYN_ACTIVE; t++)
    ASSERT_NO_FATAL_FAILURE(run(a, at, 1));
  ASSERT_EQ(outcome(a, 1, 2), NVDYN_DONE);
  size_t size = 0;
  ASSERT_EQ(nvdyn_sample_state_size(a.e, &size), NVDYN_OK);
  std::vector<unsigned char> blob(size);
  for (int s = 0; s < 2; s++) {
    ASSERT_EQ(nvdyn_sample_save(a.e, s, blob.data(), size), NVDYN_OK);
    ASSERT_EQ(nvdyn_sample_load(b.e, 1 - s, blob.data(), size), NVDYN_OK) << b.err();
  }
  std::vector<int> st(2), re(2);
  nvdyn_get_sample_stages(b.e, st.data());
  nvdyn_get_sample_reasons(b.e, re.data());
  EXPECT_EQ(outcome(b, 1, 2), NVDYN_FAILED);
  EXPECT_EQ(re[1], NVDYN_REASON_ESCAPED);
  EXPECT_EQ(st[1], 0);
  EXPECT_EQ(outcome(b, 0, 2), NVDYN_DONE);
  EXPECT_EQ(st[0], 4);
  Atoms bt(2);
  bt.copy_sample(0, at, 1);
  bt.copy_sample(1, at, 0);
  const std::vector<double> x = bt.x;
  ASSERT_NO_FATAL_FAILURE(run(b, bt, 3));
  EXPECT_EQ(x, bt.x);
}

// Blobs of another format version, stage count or sample count are refused
// with a message, and leave the engine as it was.
TEST(CoreLifecycle, ForeignStateRefused)
{
  Engine a;
  ASSERT_NO_FATAL_FAILURE(stages(a.e, 2));
  size_t ssize = 0, esize = 0;
  ASSERT_EQ(nvdyn_sample_state_size(a.e, &ssize), NVDYN_OK);
  ASSERT_EQ(nvdyn_state_size(a.e, &esize), NVDYN_OK);
  std::vector<unsigned char> sblob(ssize), eblob(esize);
  ASSERT_EQ(nvdyn_sample_save(a.e, 1, sblob.data(), ssize), NVDYN_OK);
  ASSERT_EQ(nvdyn_state_save(a.e, eblob.data(), esize), NVDYN_OK);

  // the format version follows the 8-byte magic
  std::vector<unsigned char> old = sblob;
  const uint32_t format0 = 0;
  std::memcpy(&old[8], &format0, 4);
  EXPECT_EQ(nvdyn_sample_load(a.e, 0, old.data(), ssize), NVDYN_ERR_VALUE);
  EXPECT_EQ(a.err(), "sample state of format version 0: this library reads version 1");
  old = eblob;
  std::memcpy(&old[8], &format0, 4);
  EXPECT_EQ(nvdyn_state_load(a.e, old.data(), esize), NVDYN_ERR_VALUE);
  EXPECT_EQ(a.err(), "engine state of format version 0: this library reads version 1");

  Engine three;
  ASSERT_NO_FATAL_FAILURE(stages(three.e, 3));
  EXPECT_EQ(nvdyn_state_load(three.e, eblob.data(), esize), NVDYN_ERR_VALUE);
  EXPECT_EQ(three.err(), "engine state is for 2 samples, this engine has 3");

  Engine one_stage;
  ASSERT_EQ(nvdyn_engine_set(one_stage.e, "dt", 0.01), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_add(one_stage.e, "nve", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_engine_set_nsamples(one_stage.e, 2), NVDYN_OK);
  size_t s1 = 0;
  nvdyn_sample_state_size(one_stage.e, &s1);
  EXPECT_NE(s1, ssize);
  EXPECT_EQ(nvdyn_sample_load(one_stage.e, 0, sblob.data(), ssize), NVDYN_ERR_VALUE);
  EXPECT_NE(one_stage.err().find("bytes"), std::string::npos) << one_stage.err();

  // a corrupt sample in the middle of an engine state: nothing is loaded
  std::vector<unsigned char> bad = eblob;
  bad[esize - ssize + 8] ^= 0xff;    // the last sample's format version
  ASSERT_EQ(nvdyn_sample_retire(three.e, 0), NVDYN_OK);
  Engine two;
  ASSERT_NO_FATAL_FAILURE(stages(two.e, 2));
  ASSERT_EQ(nvdyn_sample_retire(two.e, 0), NVDYN_OK);
  EXPECT_EQ(nvdyn_state_load(two.e, bad.data(), esize), NVDYN_ERR_VALUE);
  EXPECT_EQ(outcome(two, 0, 2), NVDYN_EMPTY);
  EXPECT_EQ(nvdyn_state_load(two.e, eblob.data(), esize), NVDYN_OK);
  EXPECT_EQ(outcome(two, 0, 2), NVDYN_ACTIVE);
}

// The table: every style with its parameters, ranges and defaults, the
// criteria, and whether a configured stage can finish a sample.
TEST(CoreLifecycle, TableIntrospection)
{
  ASSERT_EQ(nvdyn_style_count(), 6);
  std::vector<std::string> names;
  for (int s = 0; s < nvdyn_style_count(); s++) {
    nvdyn_style_desc d;
    ASSERT_EQ(nvdyn_style_info(s, &d), NVDYN_OK);
    names.push_back(d.name);
    EXPECT_EQ(nvdyn_style_index(d.name), s);
    EXPECT_GT(std::strlen(d.description), 10u);
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"fire", "fire/ase", "nve", "langevin", "csvr", "nhc"}));
  EXPECT_EQ(nvdyn_style_index("verlet"), -1);

  // csvr: temp damp seed are required, first, in that order (fix nvdyn's
  // positional arguments); velocity has no default
  const int csvr = nvdyn_style_index("csvr");
  nvdyn_style_desc d;
  ASSERT_EQ(nvdyn_style_info(csvr, &d), NVDYN_OK);
  EXPECT_EQ(d.kind, NVDYN_KIND_MD);
  std::vector<std::string> required;
  for (int k = 0; k < d.nparams; k++) {
    nvdyn_param_desc p;
    ASSERT_EQ(nvdyn_style_param(csvr, k, &p), NVDYN_OK);
    if (p.required) required.push_back(p.name);
  }
  EXPECT_EQ(required, (std::vector<std::string>{"temp", "damp", "seed"}));
  nvdyn_param_desc p;
  EXPECT_EQ(nvdyn_style_param(csvr, d.nparams, &p), NVDYN_ERR_VALUE);

  // fire's dmax as LAMMPS's min_modify: > 0, default 0.1; halfstepback a flag
  const int fire = nvdyn_style_index("fire");
  ASSERT_EQ(nvdyn_style_info(fire, &d), NVDYN_OK);
  EXPECT_EQ(d.kind, NVDYN_KIND_MIN);
  bool dmax = false, flag = false;
  for (int k = 0; k < d.nparams; k++) {
    ASSERT_EQ(nvdyn_style_param(fire, k, &p), NVDYN_OK);
    if (std::string(p.name) == "dmax") {
      dmax = true;
      EXPECT_EQ(p.type, NVDYN_TYPE_REAL);
      EXPECT_EQ(p.lo, 0.0);
      EXPECT_TRUE(p.lo_open);
      EXPECT_TRUE(p.has_default);
      EXPECT_EQ(p.def, 0.1);
    }
    if (std::string(p.name) == "halfstepback") flag = p.type == NVDYN_TYPE_FLAG;
    EXPECT_NE(std::string(p.name), "temp");
  }
  EXPECT_TRUE(dmax && flag);

  ASSERT_EQ(nvdyn_criterion_count(), 3);
  ASSERT_EQ(nvdyn_criterion_info(1, &p), NVDYN_OK);
  EXPECT_STREQ(p.name, "de");
  EXPECT_TRUE(p.needs_energy);
  ASSERT_EQ(nvdyn_criterion_info(2, &p), NVDYN_OK);
  EXPECT_STREQ(p.name, "steps");
  EXPECT_EQ(p.type, NVDYN_TYPE_INTEGER);
  EXPECT_FALSE(p.needs_energy);

  Engine en;
  ASSERT_EQ(nvdyn_engine_set(en.e, "dt", 0.01), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_add(en.e, "nve", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_add(en.e, "nve", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_add(en.e, "fire", nullptr), NVDYN_OK);
  ASSERT_EQ(nvdyn_stage_set(en.e, 1, "maxsteps", 10), NVDYN_OK);
  int can = -1;
  ASSERT_EQ(nvdyn_stage_can_finish(en.e, 0, &can), NVDYN_OK);
  EXPECT_EQ(can, 0);
  ASSERT_EQ(nvdyn_stage_can_finish(en.e, 1, &can), NVDYN_OK);
  EXPECT_EQ(can, 1);
  ASSERT_EQ(nvdyn_stage_can_finish(en.e, 2, &can), NVDYN_OK);
  EXPECT_EQ(can, 1);    // vdfmax
}
