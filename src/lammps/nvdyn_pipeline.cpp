/* ----------------------------------------------------------------------
   NVDYN: the links of the partition pipeline (nvdyn_pipeline.h).

   Messages go between the partitions' first ranks only, on a duplicate of
   the universe communicator (so that none can meet another use of it),
   and reach the other ranks of a partition by broadcasts in its world:
   - SAMPLE  k -> k+1: a sample that left partition k's last stage
   - FRAMES  k -> k+1: sink frames of samples that finished upstream
             (failed, timed out), passed on to the last partition
   - END     k -> k+1: k sent its last sample and frames
   - CREDIT  k+1 -> k: samples (and atoms) taken off the link
   - DONE    k+1 -> k: the pipeline has finished; after every CREDIT
             k+1 sent, so a partition that has it expects nothing more
   - ERROR   any -> all: a partition stopped with this error
   - HEARD   any -> the one that stopped: this one has raised the error
             (printed it); LAMMPS aborts every partition once one of
             them ends, so the one that stopped first waits for these
   A partition with nothing to do waits for a message, polling with short
   sleeps (its other ranks in a non-blocking broadcast), not spinning.
------------------------------------------------------------------------- */

#include "nvdyn_pipeline.h"

#include "comm.h"
#include "error.h"
#include "universe.h"
#include "utils.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <unistd.h>

using namespace LAMMPS_NS;

namespace {
enum Tag { TAG_SAMPLE = 1, TAG_FRAMES, TAG_END, TAG_CREDIT, TAG_DONE, TAG_ERROR, TAG_HEARD };
// how long a partition that stopped waits for the others to have said so
constexpr double HEARD_WAIT = 30.0;
constexpr useconds_t NAP = 200;    // microseconds between polls while waiting

// a collective broadcast from rank 0 whose other ranks sleep while they
// wait for it (rank 0 may come late: it waits for a message)
void idle_bcast(void *data, int count, MPI_Datatype type, MPI_Comm world)
{
  MPI_Request request;
  MPI_Ibcast(data, count, type, 0, world, &request);
  int complete = 0;
  MPI_Test(&request, &complete, MPI_STATUS_IGNORE);
  while (!complete) {
    usleep(NAP);
    MPI_Test(&request, &complete, MPI_STATUS_IGNORE);
  }
}
}    // namespace

/* ---------------------------------------------------------------------- */

NVDynPipeline::NVDynPipeline(LAMMPS *lmp, const NVDynPipelineConfig &config, int first, int end) :
    Pointers(lmp), first_stage(first), end_stage(end), me(universe->iworld),
    nparts(universe->nworlds), buffer_samples(config.samples), buffer_atoms(config.atoms)
{
  MPI_Comm_dup(universe->uworld, &ucomm);
  roots.assign(universe->root_proc, universe->root_proc + nparts);
  start = MPI_Wtime();
}

NVDynPipeline::~NVDynPipeline()
{
  // after an error, sends to a partition that stopped may never complete:
  // their requests are freed, and their list nodes (whose bytes MPI may
  // still read) are moved, in place, to a list that is never freed
  auto *unfinished = new std::list<Sending>;    // NOLINT: owned by the freed sends
  for (auto it = sending.begin(); it != sending.end();) {
    int complete = 0;
    MPI_Test(&it->request, &complete, MPI_STATUS_IGNORE);
    auto next = std::next(it);
    if (!complete) {
      MPI_Request_free(&it->request);
      unfinished->splice(unfinished->end(), sending, it);
    }
    it = next;
  }
  if (unfinished->empty()) delete unfinished;
  MPI_Comm_free(&ucomm);
}

/* ----------------------------------------------------------------------
   rank 0: a message to partition `part`'s rank 0; the bytes live until
   the send completes
------------------------------------------------------------------------- */

void NVDynPipeline::send(int part, int tag, std::string bytes)
{
  sending.push_back({MPI_REQUEST_NULL, std::move(bytes)});
  Sending &s = sending.back();
  MPI_Isend(s.bytes.data(), (int) s.bytes.size(), MPI_CHAR, roots[part], tag, ucomm, &s.request);
}

// the partition whose rank 0 is ucomm rank `rank`
int NVDynPipeline::part_of(int rank) const
{
  return (int) (std::find(roots.begin(), roots.end(), rank) - roots.begin());
}

/* ----------------------------------------------------------------------
   rank 0: completed sends released, every message that has arrived
   received
------------------------------------------------------------------------- */

void NVDynPipeline::receive_all()
{
  for (auto it = sending.begin(); it != sending.end();) {
    int complete = 0;
    MPI_Test(&it->request, &complete, MPI_STATUS_IGNORE);
    it = complete ? sending.erase(it) : std::next(it);
  }
  while (true) {
    int flag = 0;
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, ucomm, &flag, &status);
    if (!flag) break;
    int n = 0;
    MPI_Get_count(&status, MPI_CHAR, &n);
    std::string bytes(n, '\0');
    MPI_Recv(&bytes[0], n, MPI_CHAR, status.MPI_SOURCE, status.MPI_TAG, ucomm, MPI_STATUS_IGNORE);
    switch (status.MPI_TAG) {
      case TAG_SAMPLE:
        inbox.push_back(std::move(bytes));
        break;
      case TAG_FRAMES:
        frames_in += bytes;
        break;
      case TAG_END:
        upstream_end = true;
        break;
      case TAG_CREDIT: {
        bigint c[2];
        memcpy(c, bytes.data(), sizeof(c));
        credit_samples += c[0];
        credit_atoms += c[1];
        break;
      }
      case TAG_DONE:
        done = true;
        break;
      case TAG_ERROR:
        heard.push_back(part_of(status.MPI_SOURCE));
        if (error_in.empty()) {
          error_in = bytes;
          error_from = part_of(status.MPI_SOURCE);
        }
        break;
      case TAG_HEARD:
        heard.push_back(part_of(status.MPI_SOURCE));
        break;
    }
  }
}

/* ----------------------------------------------------------------------
   collective: rank 0's view of the links on every rank; an error from
   another partition is raised here
------------------------------------------------------------------------- */

void NVDynPipeline::share()
{
  if (comm->me == 0) {
    out_samples -= credit_samples;
    out_atoms -= credit_atoms;
    credit_samples = credit_atoms = 0;
  }
  narrived = (bigint) inbox.size();
  if (comm->nprocs > 1) {
    bigint state[8] = {out_samples,  out_atoms,
                       upstream_end, done,
                       error_from,   (bigint) error_in.size(),
                       narrived,     (bigint) frames_in.size()};
    MPI_Bcast(state, 8, MPI_LMP_BIGINT, 0, world);
    out_samples = state[0];
    out_atoms = state[1];
    upstream_end = state[2] != 0;
    done = state[3] != 0;
    error_from = (int) state[4];
    error_in.resize(state[5]);
    if (state[5]) MPI_Bcast(&error_in[0], (int) state[5], MPI_CHAR, 0, world);
    narrived = state[6];
    frames_in.resize(state[7]);
    if (state[7]) MPI_Bcast(&frames_in[0], (int) state[7], MPI_CHAR, 0, world);
  }
  if (!error_in.empty()) raise_remote();
}

void NVDynPipeline::raise_remote()
{
  remote_error = true;
  error->all(FLERR, "Run style nvpipeline: partition {} of the pipeline stopped with an error: {}",
             error_from + 1, error_in);
}

std::string NVDynPipeline::poll()
{
  if (comm->me == 0) receive_all();
  share();
  std::string frames;
  frames.swap(frames_in);
  return frames;
}

/* ----------------------------------------------------------------------
   the link downstream: a sample larger than its atom limit goes alone
------------------------------------------------------------------------- */

bool NVDynPipeline::can_send(bigint natoms) const
{
  if (last_part() || out_samples >= buffer_samples) return false;
  return buffer_atoms == 0 || out_samples == 0 || out_atoms + natoms <= buffer_atoms;
}

void NVDynPipeline::send_sample(const std::string &bytes, bigint natoms)
{
  if (comm->me == 0) send(me + 1, TAG_SAMPLE, bytes);
  out_samples++;
  out_atoms += natoms;
  samples_out++;
}

void NVDynPipeline::send_frames(const std::string &text)
{
  if (comm->me == 0 && !text.empty()) send(me + 1, TAG_FRAMES, text);
}

bool NVDynPipeline::next_sample(std::string &bytes)
{
  if (inbox.empty()) return false;
  bytes = std::move(inbox.front());
  inbox.pop_front();
  return true;
}

void NVDynPipeline::taken(int n, bigint natoms)
{
  if (n == 0) return;
  samples_in += n;
  if (comm->me != 0 || me == 0) return;
  const bigint c[2] = {n, natoms};
  send(me - 1, TAG_CREDIT, std::string((const char *) c, sizeof(c)));
}

/* ----------------------------------------------------------------------
   collective: until what `kind` waits for has come (or an error)
------------------------------------------------------------------------- */

void NVDynPipeline::wait(Wait kind)
{
  const double t0 = MPI_Wtime();
  if (comm->me == 0) {
    auto come = [&]() {
      if (!error_in.empty()) return true;
      if (kind == INPUT) return !inbox.empty() || upstream_end;
      if (kind == OUTPUT) return credit_samples > 0;
      return done;
    };
    receive_all();
    while (!come()) {
      usleep(NAP);
      receive_all();
    }
  }
  if (comm->nprocs > 1) {
    int ready = 1;
    idle_bcast(&ready, 1, MPI_INT, world);
  }
  share();
  waited[kind] += MPI_Wtime() - t0;
}

/* ----------------------------------------------------------------------
   collective: the end, partition by partition from the last one back
------------------------------------------------------------------------- */

std::string NVDynPipeline::finish()
{
  if (!last_part()) {
    if (!end_sent && comm->me == 0) send(me + 1, TAG_END, "");
    end_sent = true;
    while (!done) wait(END);
  }
  done = true;
  if (comm->me == 0) {
    if (me > 0) send(me - 1, TAG_DONE, "");
    // everything this partition sent has been received: DONE came after
    // downstream took the last sample and gave the last credit
    for (auto &s : sending) MPI_Wait(&s.request, MPI_STATUS_IGNORE);
    sending.clear();
  }
  finished_at = MPI_Wtime();
  const double total = finished_at - start;
  // the table: rank 0 of each partition's figures, on the universe's first rank
  const int nv = 8;
  const double steps = nsteps > 0 ? (double) nsteps : 1.0;
  double mine[nv] = {total,
                     waited[INPUT],
                     waited[OUTPUT],
                     waited[END],
                     (double) samples_in,
                     (double) samples_out,
                     active_sum / steps,
                     held_sum / steps};
  int urank = 0, usize = 1;
  MPI_Comm_rank(ucomm, &urank);
  MPI_Comm_size(ucomm, &usize);
  std::vector<double> all(urank == 0 ? (size_t) nv * usize : 0);
  MPI_Gather(mine, nv, MPI_DOUBLE, all.data(), nv, MPI_DOUBLE, 0, ucomm);
  if (urank != 0) return "";
  std::string table = fmt::format("\nPipeline summary ({} partitions):\n", nparts);
  const std::string head = "Partition | Ranks | Samples in | Samples out |   Busy (s)   | "
                           "Input wait (s) | Output wait (s) | End wait (s) | Atoms stepped | "
                           "Atoms held\n";
  table += head + std::string(head.size() - 1, '-') + "\n";
  for (int k = 0; k < nparts; k++) {
    const double *v = &all[(size_t) nv * roots[k]];
    const double busy = v[0] - v[1] - v[2] - v[3];
    table += fmt::format("{:9d} | {:5d} | {:10.0f} | {:11.0f} | {:12.4g} | {:14.4g} | {:15.4g} | "
                         "{:12.4g} | {:13.1f} | {:10.1f}\n",
                         k + 1, universe->procs_per_world[k], v[4], v[5], busy, v[1], v[2], v[3],
                         v[6], v[7]);
  }
  return table;
}

/* ----------------------------------------------------------------------
   collective: this partition stops with an error (printed in its log).
   The partition where it arose tells every other one and waits (at most
   HEARD_WAIT seconds) until each has raised it or stopped with its own;
   one that raises another's answers it. Then LAMMPS may abort them all.
------------------------------------------------------------------------- */

void NVDynPipeline::fail(const std::string &message)
{
  if (comm->me == 0) {
    if (remote_error) {
      send(error_from, TAG_HEARD, "");
    } else {
      // (the message without LAMMPS's "ERROR: " and what follows its line)
      std::string text = utils::strmatch(message, "^ERROR: ") ? message.substr(7) : message;
      const size_t eol = text.find('\n');
      if (eol != std::string::npos) text.resize(eol);
      for (int k = 0; k < nparts; k++)
        if (k != me) send(k, TAG_ERROR, text);
      const double t0 = MPI_Wtime();
      std::vector<bool> answered(nparts, false);
      answered[me] = true;
      while (std::count(answered.begin(), answered.end(), false) > 0 &&
             MPI_Wtime() - t0 < HEARD_WAIT) {
        receive_all();
        for (int k : heard) answered[k] = true;
        if (!error_in.empty()) send(error_from, TAG_HEARD, "");    // it stopped too
        error_in.clear();
        heard.clear();
        usleep(NAP);
      }
    }
  }
  if (comm->nprocs > 1) {
    int ready = 1;
    idle_bcast(&ready, 1, MPI_INT, world);
  }
  // what this partition printed reaches its files before an abort
  for (FILE *fp : {screen, logfile, universe->uscreen, universe->ulogfile})
    if (fp) fflush(fp);
}

void NVDynPipeline::count_step(double active_atoms, double held_atoms)
{
  active_sum += active_atoms;
  held_sum += held_atoms;
  nsteps++;
}

std::string NVDynPipeline::summary(const std::string &stage_names) const
{
  const double total = (done ? finished_at : MPI_Wtime()) - start;
  const double busy = total - waited[INPUT] - waited[OUTPUT] - waited[END];
  const double steps = nsteps > 0 ? (double) nsteps : 1.0;
  return fmt::format("Pipeline: partition {} of {} ({}): {} samples in, {} handed on; busy "
                     "{:.4g} s, waiting for input {:.4g} s, blocked on output {:.4g} s, waiting "
                     "for the end {:.4g} s; per step {:.1f} atoms stepped, {:.1f} held for room "
                     "downstream\n",
                     me + 1, nparts, stage_names, samples_in, samples_out, busy, waited[INPUT],
                     waited[OUTPUT], waited[END], active_sum / steps, held_sum / steps);
}
