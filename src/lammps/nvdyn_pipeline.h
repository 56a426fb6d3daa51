/* -*- c++ -*- ----------------------------------------------------------
   NVDYN: the links of the partition pipeline (run_style nvpipeline split
   across -partition). Partition k runs a contiguous range of the stages
   of fix nvdyn; samples that leave it go to partition k+1 as messages
   between the partitions' first ranks, on a duplicate of LAMMPS's
   universe communicator. Each link holds at most a number of samples and
   atoms: the sender counts what it sent and the receiver gives credit
   back as it inserts them. This class is the messages and the waits; the
   fix packs, deletes and inserts the samples. See doc/run_nvpipeline.md.
------------------------------------------------------------------------- */

#ifndef NVDYN_PIPELINE_H
#define NVDYN_PIPELINE_H

#include "pointers.h"

#include <deque>
#include <list>
#include <string>
#include <vector>

namespace LAMMPS_NS {

// what run_style nvpipeline's arguments say about the pipeline
struct NVDynPipelineConfig {
  std::vector<std::vector<std::string>> split;    // stage names per partition
  int samples = 64;                               // a link holds at most this many samples
  bigint atoms = 0;                               // and atoms (0: no limit)
};

class NVDynPipeline : protected Pointers {
 public:
  // Collective over every partition (it duplicates the universe
  // communicator). This partition runs stages [first, end).
  NVDynPipeline(LAMMPS *, const NVDynPipelineConfig &, int first, int end);
  ~NVDynPipeline() override;

  bool first_part() const { return me == 0; }
  bool last_part() const { return me == nparts - 1; }
  int first_stage, end_stage;

  // Collective (this partition). Receives what has arrived; raises the
  // error another partition stopped with. Returns the sink frames that
  // upstream partitions forwarded (rank 0's text; for the sink on the
  // last partition, to pass on otherwise).
  std::string poll();

  // the link downstream takes a sample of n atoms now (every rank the same)
  bool can_send(bigint natoms) const;
  // Collective: rank 0's bytes of a sample of n atoms, sent downstream
  void send_sample(const std::string &bytes, bigint natoms);
  // Collective: rank 0's sink frames, sent downstream towards the last partition
  void send_frames(const std::string &text);

  // rank 0: the next sample that arrived from upstream (false: none now)
  bool next_sample(std::string &bytes);
  // samples arrived and not yet taken (every rank, after a poll)
  bigint arrived() const { return narrived; }
  // upstream has sent its last sample (every rank, after a poll)
  bool upstream_done() const { return upstream_end; }
  // Collective: n samples of `atoms` atoms in all taken in (off the link
  // upstream, inserted or failed: their credit goes back; on the first
  // partition, from the source)
  void taken(int n, bigint natoms);

  enum Wait { INPUT, OUTPUT, END, NWAITS };
  // Collective: waits until a message arrives (a sample or the end from
  // upstream for INPUT, credit for OUTPUT), counting the time as `kind`
  void wait(Wait kind);

  // Collective: this partition has nothing left to do. Tells downstream,
  // waits until the last partition has finished, then every partition
  // ends together. Returns the pipeline's timing table (on the universe's
  // first rank, "" elsewhere).
  std::string finish();
  bool ended() const { return done; }

  // Collective: this partition stops with an error (the caller then
  // raises it again): every other partition stops with it
  void fail(const std::string &message);

  // every step: the atoms it stepped (of active samples) and those it
  // held for room downstream, for their means in the summaries
  void count_step(double active_atoms, double held_atoms);
  // this partition's counts and times, for the stage summary
  std::string summary(const std::string &stage_names) const;
  bigint samples_in = 0, samples_out = 0;

 private:
  MPI_Comm ucomm;    // the universe's ranks, the pipeline's messages
  int me, nparts;
  std::vector<int> roots;    // ucomm rank of each partition's rank 0
  int buffer_samples;
  bigint buffer_atoms;

  // every rank: what the link downstream holds, upstream's end, the end
  bigint out_samples = 0, out_atoms = 0, narrived = 0;
  bool upstream_end = false, end_sent = false, done = false, remote_error = false;
  // rank 0: samples arrived; sink frames arrived (every rank after a
  // poll); an error arrived
  std::deque<std::string> inbox;
  std::string frames_in, error_in;
  std::vector<int> heard;    // partitions that raised this one's error, or stopped
  bigint credit_samples = 0, credit_atoms = 0;
  int error_from = -1;

  struct Sending {
    MPI_Request request;
    std::string bytes;
  };
  std::list<Sending> sending;    // rank 0: sends not yet complete

  double start, finished_at = 0.0;            // MPI_Wtime at the start, at the end
  double waited[NWAITS] = {};                 // seconds in each wait
  double active_sum = 0.0, held_sum = 0.0;    // atoms stepped and held, summed over steps
  bigint nsteps = 0;

  void send(int part, int tag, std::string bytes);
  int part_of(int rank) const;
  void receive_all();
  void share();
  void raise_remote();
};

}    // namespace LAMMPS_NS

#endif
