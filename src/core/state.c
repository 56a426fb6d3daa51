/* NVDYN core: state, saved and loaded field by field with a format
 * version: one sample (for moving it to another slot, engine or
 * partition), and the whole engine (restart files) built on it. Values are
 * 8-byte integers and doubles in the machine's byte order, which the
 * header records. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define STATE_FORMAT 1u
#define BYTE_ORDER_MARK 0x01020304u

/* the fields of nvdyn_sample, in blob order (I: integer, D: double) */
#define SAMPLE_FIELDS(I, D)                                                                        \
  I(key)                                                                                           \
  I(stage)                                                                                         \
  I(outcome)                                                                                       \
  I(reason) I(vinit) I(stuck) I(steps) I(age) D(pe) D(fmax) D(ke) D(natoms) D(temp) D(drift)       \
      D(pe_check) D(pe_prev) D(e0) I(pe_in_stage) I(has_pe_prev) I(has_e0) D(fdt) D(alpha) D(dtv)  \
          I(last_negative) I(nneg) D(reservoir)
#define COUNT(f) +1
enum { NFIELDS = 0 SAMPLE_FIELDS(COUNT, COUNT) + 2 * NVDYN_MAX_CHAIN };
#undef COUNT

typedef struct header {
  char magic[8];
  uint32_t format, byte_order, nstages, count; /* count: fields or samples */
} header;

typedef struct cursor {
  unsigned char *w;       /* writing */
  const unsigned char *r; /* reading */
} cursor;

static void put(cursor *c, const void *v)
{
  memcpy(c->w, v, 8);
  c->w += 8;
}

static void get(cursor *c, void *v)
{
  memcpy(v, c->r, 8);
  c->r += 8;
}

static size_t sample_bytes(const nvdyn_engine *e)
{
  return sizeof(header) + 8 * ((size_t) NFIELDS + (size_t) e->nstages);
}

static void save_sample(const nvdyn_engine *e, int s, cursor *c)
{
  const nvdyn_sample *ss = &e->samples[s];
  header h = {"NVDYNSM", STATE_FORMAT, BYTE_ORDER_MARK, (uint32_t) e->nstages, NFIELDS};
  memcpy(c->w, &h, sizeof(h));
  c->w += sizeof(h);
  int64_t i;
#define PUT_I(f) (i = (int64_t) ss->f, put(c, &i));
#define PUT_D(f) put(c, &ss->f);
  SAMPLE_FIELDS(PUT_I, PUT_D)
#undef PUT_I
#undef PUT_D
  for (int k = 0; k < NVDYN_MAX_CHAIN; k++) put(c, &ss->eta[k]);
  for (int k = 0; k < NVDYN_MAX_CHAIN; k++) put(c, &ss->eta_dot[k]);
  for (int k = 0; k < e->nstages; k++) {
    int64_t n[1];
    n[0] = e->stage_steps[(size_t) s * e->nstages + k];
    if (k == ss->stage) n[0] += ss->steps; /* the blob holds every stage's count */
    put(c, n);
  }
}

/* checks a header; what is a blob of `what` */
static nvdyn_status check_header(const nvdyn_engine *e, const header *h, const char *magic,
                                 const char *what)
{
  if (memcmp(h->magic, magic, 8) != 0)
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "not an NVDYN %s state", what);
  if (h->byte_order != BYTE_ORDER_MARK)
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "%s state of another byte order", what);
  if (h->format != STATE_FORMAT)
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE,
                        "%s state of format version %u: this library reads version %u", what,
                        (unsigned) h->format, STATE_FORMAT);
  if (h->nstages != (uint32_t) e->nstages)
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "%s state is for %u stages, this engine has %d", what,
                        (unsigned) h->nstages, e->nstages);
  return NVDYN_OK;
}

static nvdyn_status load_sample(nvdyn_engine *e, int s, cursor *c)
{
  header h;
  memcpy(&h, c->r, sizeof(h));
  c->r += sizeof(h);
  nvdyn_status rc = check_header(e, &h, "NVDYNSM", "sample");
  if (rc != NVDYN_OK) return rc;
  if (h.count != NFIELDS)
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "sample state has %u fields, expected %d",
                        (unsigned) h.count, NFIELDS);
  nvdyn_sample ss;
  memset(&ss, 0, sizeof(ss));
  int64_t i;
#define GET_I(f) (get(c, &i), ss.f = i);
#define GET_D(f) get(c, &ss.f);
  SAMPLE_FIELDS(GET_I, GET_D)
#undef GET_I
#undef GET_D
  for (int k = 0; k < NVDYN_MAX_CHAIN; k++) get(c, &ss.eta[k]);
  for (int k = 0; k < NVDYN_MAX_CHAIN; k++) get(c, &ss.eta_dot[k]);
  /* an empty slot has no stage; an active, failed or timed-out sample is
   * in one; a done sample is past the last, or past the last of a stage
   * range (nvdyn_engine_set_stage_range) */
  const int in_stage = ss.stage >= 0 && ss.stage < e->nstages;
  const int consistent = ss.outcome == NVDYN_EMPTY ? ss.stage == -1
      : ss.outcome == NVDYN_DONE                   ? ss.stage >= 1 && ss.stage <= e->nstages
                                                   : in_stage;
  if (ss.outcome < NVDYN_ACTIVE || ss.outcome > NVDYN_EMPTY || !consistent || ss.reason < 0 ||
      ss.reason >= NVDYN_NREASONS)
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE,
                        "sample state is inconsistent (stage %d, outcome %d, reason %d)", ss.stage,
                        ss.outcome, ss.reason);
  e->samples[s] = ss;
  int64_t *steps = &e->stage_steps[(size_t) s * e->nstages];
  for (int k = 0; k < e->nstages; k++) get(c, &steps[k]);
  if (ss.stage >= 0 && ss.stage < e->nstages) steps[ss.stage] -= ss.steps;
  e->vinit_due |= ss.vinit;
  nvdyn_i_sync_slot(e, s);
  return NVDYN_OK;
}

nvdyn_status nvdyn_sample_state_size(const nvdyn_engine *e, size_t *size)
{
  if (!e || !size) return NVDYN_ERR_NULL;
  *size = sample_bytes(e);
  return NVDYN_OK;
}

nvdyn_status nvdyn_sample_save(const nvdyn_engine *e, int sample, void *buffer, size_t size)
{
  if (!e || !buffer) return NVDYN_ERR_NULL;
  nvdyn_status rc = nvdyn_i_check_slot(e, sample);
  if (rc != NVDYN_OK) return rc;
  if (size < sample_bytes(e))
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "sample state needs %zu bytes, got %zu",
                        sample_bytes(e), size);
  cursor c = {buffer, NULL};
  save_sample(e, sample, &c);
  return NVDYN_OK;
}

nvdyn_status nvdyn_sample_load(nvdyn_engine *e, int sample, const void *buffer, size_t size)
{
  if (!e) return NVDYN_ERR_NULL;
  if (!buffer) return nvdyn_i_fail(e, NVDYN_ERR_NULL, "state buffer is NULL");
  nvdyn_status rc = nvdyn_i_check_slot(e, sample);
  if (rc != NVDYN_OK) return rc;
  if (size != sample_bytes(e))
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "sample state has %zu bytes, this engine's has %zu",
                        size, sample_bytes(e));
  cursor c = {NULL, buffer};
  rc = load_sample(e, sample, &c);
  nvdyn_i_sync_active(e);
  return rc != NVDYN_OK ? rc : nvdyn_i_ok(e);
}

/* ---- the whole engine ------------------------------------------------------ */

static size_t engine_bytes(const nvdyn_engine *e)
{
  return sizeof(header) + 8 + (size_t) e->nsamples * sample_bytes(e);
}

nvdyn_status nvdyn_state_size(const nvdyn_engine *e, size_t *size)
{
  if (!e || !size) return NVDYN_ERR_NULL;
  *size = engine_bytes(e);
  return NVDYN_OK;
}

nvdyn_status nvdyn_state_save(const nvdyn_engine *e, void *buffer, size_t size)
{
  if (!e || !buffer) return NVDYN_ERR_NULL;
  if (size < engine_bytes(e))
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "engine state needs %zu bytes, got %zu",
                        engine_bytes(e), size);
  header h = {"NVDYNEN", STATE_FORMAT, BYTE_ORDER_MARK, (uint32_t) e->nstages,
              (uint32_t) e->nsamples};
  cursor c = {buffer, NULL};
  memcpy(c.w, &h, sizeof(h));
  c.w += sizeof(h);
  put(&c, &e->step);
  for (int s = 0; s < e->nsamples; s++) save_sample(e, s, &c);
  return NVDYN_OK;
}

nvdyn_status nvdyn_state_load(nvdyn_engine *e, const void *buffer, size_t size)
{
  if (!e) return NVDYN_ERR_NULL;
  if (!buffer) return nvdyn_i_fail(e, NVDYN_ERR_NULL, "state buffer is NULL");
  if (e->nsamples == 0) return nvdyn_i_fail(e, NVDYN_ERR_STATE, "no samples set");
  header h;
  if (size < sizeof(h)) return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "not an NVDYN engine state");
  memcpy(&h, buffer, sizeof(h));
  nvdyn_status rc = check_header(e, &h, "NVDYNEN", "engine");
  if (rc != NVDYN_OK) return rc;
  if (h.count != (uint32_t) e->nsamples)
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "engine state is for %u samples, this engine has %d",
                        (unsigned) h.count, e->nsamples);
  if (size != engine_bytes(e))
    return nvdyn_i_fail(e, NVDYN_ERR_VALUE, "engine state has %zu bytes, this engine's has %zu",
                        size, engine_bytes(e));
  /* into a copy first: a bad sample leaves the engine as it was */
  const size_t n = (size_t) e->nsamples;
  nvdyn_sample *keep = malloc(n * sizeof(nvdyn_sample));
  int64_t *keep_steps = malloc(n * (size_t) e->nstages * sizeof(int64_t));
  if (!keep || !keep_steps) {
    free(keep);
    free(keep_steps);
    return nvdyn_i_fail(e, NVDYN_ERR_NOMEM, "out of memory loading a state");
  }
  memcpy(keep, e->samples, n * sizeof(nvdyn_sample));
  memcpy(keep_steps, e->stage_steps, n * (size_t) e->nstages * sizeof(int64_t));
  cursor c = {NULL, (const unsigned char *) buffer + sizeof(h)};
  int64_t step;
  get(&c, &step);
  for (int s = 0; s < e->nsamples && rc == NVDYN_OK; s++) rc = load_sample(e, s, &c);
  if (rc != NVDYN_OK) {
    memcpy(e->samples, keep, n * sizeof(nvdyn_sample));
    memcpy(e->stage_steps, keep_steps, n * (size_t) e->nstages * sizeof(int64_t));
    for (int s = 0; s < e->nsamples; s++) nvdyn_i_sync_slot(e, s);
  } else {
    e->step = step;
    e->nconverged = 0;
  }
  free(keep);
  free(keep_steps);
  nvdyn_i_sync_active(e);
  return rc != NVDYN_OK ? rc : nvdyn_i_ok(e);
}
