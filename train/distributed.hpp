#pragma once
// Data-parallel training over MPI (docs/DISTRIBUTED.md): N processes started
// by `mpirun -np N xgrad train …` train one model, each on its shard of every
// global batch, and sum their gradients with MPI_Allreduce, so that every
// step equals the single-process step of the whole batch.
//
// The Communicator is the only code that calls MPI. Without MPI (xgrad built
// without XGRAD_MPI, or not started by mpirun) it is one rank, and every
// operation is a no-op, so the training loop has one code path.
// Every operation is collective: all ranks call it, in the same order.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.hpp"
#include "optim/optimizer.hpp"

namespace xg {

class Module;

class Communicator {
 public:
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  // The ranks running on this node (MPI_COMM_TYPE_SHARED), to share its cores.
  int local_size() const { return local_size_; }

  // Rank 0's values, on every rank.
  void broadcast(float* data, std::size_t count) const;
  void broadcast(std::string& text) const;
  // In place: the sum over the ranks.
  void sum(float* data, std::size_t count) const;
  void sum(double* data, std::size_t count) const;
  void sum(std::uint64_t* data, std::size_t count) const;
  // Every rank's `mine`, in rank order, on every rank.
  std::vector<std::string> all_gather(const std::string& mine) const;

  // Runs `step` on every rank, then agrees on its outcome: when it threw on
  // any rank, every rank throws the error of the lowest failing rank (an
  // InputError stays one, so every rank exits 2; the message names the rank
  // when it is not rank 0), and only rank 0 prints it. So a file missing on
  // one node ends the whole job with one line instead of a hang.
  void agree(const std::function<void()>& step) const;

  // Rank 0's parameters and optimizer state (names, shapes, values), on every rank.
  void broadcast_model(const std::vector<Tensor>& parameters, Optimizer& optimizer) const;

 private:
  friend class DistributedSession;
  int rank_ = 0, size_ = 1, local_size_ = 1;
  bool mpi_ = false;  // false: one rank, no MPI calls
};

// The job this process belongs to: the world of mpirun under DistributedSession,
// else a single rank.
const Communicator& world();

// MPI for the lifetime of `xgrad` (apps/main.cpp). When the process was started
// by mpirun and xgrad was built with MPI: MPI_Init, errors returned (not
// fatal) so they become one line naming the rank, and on ranks other than 0
// stdout and stderr go to /dev/null (rank 0 alone prints). Otherwise nothing.
// The destructor calls MPI_Finalize unless this rank leaves alone (see
// run_in_lockstep), where waiting for the others would hang.
class DistributedSession {
 public:
  DistributedSession(int& argc, char**& argv);
  ~DistributedSession();
  DistributedSession(const DistributedSession&) = delete;
  DistributedSession& operator=(const DistributedSession&) = delete;
};

// Runs a command body that the ranks run in step. An error every rank threw
// together (Communicator::agree, or a divergence, which every rank sees at
// the same step since they share the loss) passes through. Any other error is
// this rank's alone: it gets this rank's stderr back, the message is prefixed
// "rank R: ", and MPI_Finalize is skipped, so the process exits at once and
// mpirun ends the others (no rank waits forever for it).
int run_in_lockstep(const std::function<int()>& body);

// Whether stdout reaches a terminal (for a progress bar). Under mpirun a rank's
// stdout is a pseudo-terminal whatever mpirun's own is, so there it asks
// whether mpirun's (the parent's) stdout is a terminal.
bool stdout_is_terminal();

// Threads per rank for --threads 0: the cores this process may use, shared
// between the ranks on this node, at least 1.
int default_threads(const Communicator& comm);

// Sums the parameters' gradients over the ranks, as DDP does: flat buckets of
// at most `bucket_floats` values, filled in reverse parameter order (the order
// backward finishes them), one MPI_Allreduce per bucket, in the same order on
// every rank. One rank: nothing happens.
class GradientReducer {
 public:
  static constexpr std::size_t kBucketFloats = std::size_t(1) << 20;  // 4 MB
  GradientReducer(const Communicator& comm, std::vector<Tensor> parameters, std::size_t bucket_floats = kBucketFloats);
  // Each rank's loss is the mean over its `rows` of a global batch of
  // `global_rows`: its gradients are scaled by rows / global_rows before the
  // sum, so the result is the gradient of the global batch's mean loss. The
  // loss rides in the last bucket: returns the global batch's mean loss.
  float reduce(float loss, std::size_t rows, std::size_t global_rows);
  const Communicator& comm() const { return comm_; }
  std::size_t buckets() const { return buckets_.size(); }

 private:
  struct Slot {
    std::size_t parameter, offset;  // parameter index, its first value in the bucket
  };
  const Communicator& comm_;
  std::vector<Tensor> parameters_;
  std::vector<std::vector<Slot>> slots_;   // per bucket
  std::vector<std::vector<float>> buckets_;
};

// Dropout draws its mask from one generator per layer: for a rank's rows to
// get the masks one process would draw for them, every rank's Dropout layers
// skip the draws of the global batch's rows before and after its shard.
void set_dropout_shard(Module& model, std::size_t rows_before, std::size_t rows_after);

}  // namespace xg
