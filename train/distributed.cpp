#include "train/distributed.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <stdexcept>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <omp.h>

#ifdef XGRAD_MPI
#include <mpi.h>
#endif

#include "core/error.hpp"
#include "layers/dropout.hpp"
#include "layers/module.hpp"
#include "train/forensics.hpp"

namespace xg {
namespace {

Communicator world_;        // one rank until a DistributedSession starts MPI
bool leave_alone_ = false;  // this rank ends on its own: no MPI_Finalize
bool agreed_ = false;       // the error in flight was thrown by Communicator::agree on every rank
int real_stderr_ = -1;      // ranks other than 0: their stderr before it went to /dev/null

#ifdef XGRAD_MPI
// An MPI call that failed (errors return, MPI_ERRORS_RETURN): a rank is gone
// or the network failed. Never a hang: this rank leaves on its own.
void check(int status, const char* call) {
  if (status == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(status, text, &length);
  throw std::runtime_error(std::string(call) + " failed: " + std::string(text, std::size_t(length)) +
                           " (did another rank die?)");
}

// MPI counts are int: long buffers go in pieces.
constexpr std::size_t kMaxCount = std::size_t(1) << 30;

template <class T>
void allreduce_sum(T* data, std::size_t count, MPI_Datatype type) {
  for (std::size_t done = 0; done < count; done += kMaxCount) {
    const int n = int(std::min(kMaxCount, count - done));
    check(MPI_Allreduce(MPI_IN_PLACE, data + done, n, type, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
  }
}

// Whether mpirun (or another MPI launcher) started this process.
bool launched_by_mpirun() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(name)) return true;
  return false;
}
#endif

}  // namespace

const Communicator& world() { return world_; }

void Communicator::broadcast(float* data, std::size_t count) const {
#ifdef XGRAD_MPI
  if (!mpi_) return;
  for (std::size_t done = 0; done < count; done += kMaxCount)
    check(MPI_Bcast(data + done, int(std::min(kMaxCount, count - done)), MPI_FLOAT, 0, MPI_COMM_WORLD), "MPI_Bcast");
#else
  (void)data, (void)count;
#endif
}

void Communicator::broadcast(std::string& text) const {
#ifdef XGRAD_MPI
  if (!mpi_) return;
  std::uint64_t length = text.size();
  check(MPI_Bcast(&length, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD), "MPI_Bcast");
  text.resize(length);
  if (length) check(MPI_Bcast(text.data(), int(length), MPI_CHAR, 0, MPI_COMM_WORLD), "MPI_Bcast");
#else
  (void)text;
#endif
}

void Communicator::sum(float* data, std::size_t count) const {
#ifdef XGRAD_MPI
  if (mpi_) allreduce_sum(data, count, MPI_FLOAT);
#else
  (void)data, (void)count;
#endif
}

void Communicator::sum(double* data, std::size_t count) const {
#ifdef XGRAD_MPI
  if (mpi_) allreduce_sum(data, count, MPI_DOUBLE);
#else
  (void)data, (void)count;
#endif
}

void Communicator::sum(std::uint64_t* data, std::size_t count) const {
#ifdef XGRAD_MPI
  if (mpi_) allreduce_sum(data, count, MPI_UINT64_T);
#else
  (void)data, (void)count;
#endif
}

std::vector<std::string> Communicator::all_gather(const std::string& mine) const {
  if (!mpi_) return {mine};
#ifdef XGRAD_MPI
  std::vector<int> lengths(std::size_t(size_), 0), offsets(std::size_t(size_), 0);
  const int length = int(mine.size());
  check(MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather");
  std::size_t total = 0;
  for (std::size_t r = 0; r < lengths.size(); ++r) offsets[r] = int(total), total += std::size_t(lengths[r]);
  std::string all(total, '\0');
  check(MPI_Allgatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
                       MPI_COMM_WORLD),
        "MPI_Allgatherv");
  std::vector<std::string> texts;
  for (std::size_t r = 0; r < lengths.size(); ++r) texts.push_back(all.substr(std::size_t(offsets[r]), std::size_t(lengths[r])));
  return texts;
#else
  return {mine};
#endif
}

void Communicator::agree(const std::function<void()>& step) const {
  if (!mpi_) return step();
  int kind = 0;  // 0: fine, 2: InputError, 1: anything else
  std::string message;
  try {
    step();
  } catch (const InputError& e) {
    kind = 2, message = e.what();
  } catch (const std::exception& e) {
    kind = 1, message = e.what();
  }
  // Each rank says whether it failed and how; the lowest failing rank's error wins.
  const std::vector<std::string> outcomes = all_gather(std::to_string(kind) + message);
  for (std::size_t r = 0; r < outcomes.size(); ++r) {
    if (outcomes[r][0] == '0') continue;
    const std::string text = (r ? "rank " + std::to_string(r) + ": " : std::string()) + outcomes[r].substr(1);
    agreed_ = true;
    if (outcomes[r][0] == '2') throw InputError(text);
    throw std::runtime_error(text);
  }
}

void Communicator::broadcast_model(const std::vector<Tensor>& parameters, Optimizer& optimizer) const {
  if (!mpi_) return;
  for (const Tensor& p : parameters) broadcast(const_cast<Tensor&>(p).value().data(), p.size());
  // The state's names and shapes first (a rank's own may differ: none before
  // the first step), then its values.
  Optimizer::State state = is_root() ? optimizer.state() : Optimizer::State{};
  nlohmann::json layout = nlohmann::json::array();
  for (const auto& [name, array] : state) layout.push_back({name, std::vector<std::size_t>(array.shape().begin(), array.shape().end())});
  std::string text = layout.dump();
  broadcast(text);
  if (!is_root()) {
    for (const nlohmann::json& entry : nlohmann::json::parse(text)) {
      const std::vector<std::size_t> shape = entry[1].get<std::vector<std::size_t>>();
      state.emplace_back(entry[0].get<std::string>(), Array::from_shape(shape));
    }
  }
  for (auto& [name, array] : state) broadcast(array.data(), array.size());
  if (!is_root() && !state.empty()) optimizer.load_state(state);
}

// ---- the session ---------------------------------------------------------------

DistributedSession::DistributedSession(int& argc, char**& argv) {
#ifdef XGRAD_MPI
  if (!launched_by_mpirun()) return;
  int provided = 0;
  // Only the main thread calls MPI (OpenMP threads run the GEMMs in between).
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    std::fprintf(stderr, "xgrad: MPI_Init failed; run without mpirun for a single process\n");
    std::exit(1);
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &world_.rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &world_.size_);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world_.rank_, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &world_.local_size_);
  MPI_Comm_free(&node);
  world_.mpi_ = world_.size_ > 1;
  if (world_.rank_ != 0) {  // rank 0 alone prints; the others' output goes nowhere
    std::fflush(stdout);
    std::fflush(stderr);
    real_stderr_ = ::dup(2);
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) {
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::close(null);
    }
  }
#else
  (void)argc, (void)argv;
#endif
}

DistributedSession::~DistributedSession() {
#ifdef XGRAD_MPI
  int started = 0;
  MPI_Initialized(&started);
  if (!started || leave_alone_) return;  // alone: mpirun sees the exit and ends the other ranks
  MPI_Finalize();
#endif
}

int run_in_lockstep(const std::function<int()>& body) {
  if (world_.size() == 1) return body();
  try {
    return body();
  } catch (const TrainingDiverged&) {
    throw;  // every rank saw the same loss and gradients: they all stop here
  } catch (const std::exception& e) {
    if (agreed_) throw;  // every rank has it (Communicator::agree); rank 0 prints it
    const std::string text = e.what();
    leave_alone_ = true;
    if (real_stderr_ >= 0) ::dup2(real_stderr_, 2);
    const std::string prefixed = world_.rank() ? "rank " + std::to_string(world_.rank()) + ": " + text : text;
    if (dynamic_cast<const InputError*>(&e)) throw InputError(prefixed);
    throw std::runtime_error(prefixed);
  }
}

bool stdout_is_terminal() {
  if (!::isatty(1)) return false;
  if (world_.size() == 1) return true;
  char target[256] = {};
  const std::string parent_stdout = "/proc/" + std::to_string(::getppid()) + "/fd/1";
  const ssize_t length = ::readlink(parent_stdout.c_str(), target, sizeof target - 1);
  const std::string device(target, length > 0 ? std::size_t(length) : 0);
  return device.rfind("/dev/pts/", 0) == 0 || device.rfind("/dev/tty", 0) == 0;
}

int default_threads(const Communicator& comm) {
  const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  const int node_cores = online > 0 ? int(online) : 1;
  return std::max(1, std::min(omp_get_num_procs(), node_cores / std::max(1, comm.local_size())));
}

// ---- gradients -----------------------------------------------------------------

GradientReducer::GradientReducer(const Communicator& comm, std::vector<Tensor> parameters, std::size_t bucket_floats)
    : comm_(comm), parameters_(std::move(parameters)) {
  if (comm_.size() == 1) return;
  std::size_t filled = bucket_floats;  // forces a first bucket
  for (std::size_t k = parameters_.size(); k-- > 0;) {
    const std::size_t n = parameters_[k].size();
    if (filled + n > bucket_floats && filled > 0) {
      slots_.emplace_back();
      buckets_.emplace_back();
      filled = 0;
    }
    slots_.back().push_back({k, filled});
    filled += n;
    buckets_.back().resize(filled);
  }
  if (buckets_.empty()) buckets_.emplace_back();
  buckets_.back().push_back(0.0f);  // the loss
}

float GradientReducer::reduce(float loss, std::size_t rows, std::size_t global_rows) {
  if (comm_.size() == 1) return loss;
  const float weight = global_rows ? float(rows) / float(global_rows) : 0.0f;
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    float* bucket = buckets_[b].data();
    for (const Slot& s : slots_.empty() ? std::vector<Slot>{} : slots_[b]) {
      Tensor& p = parameters_[s.parameter];
      const float* g = p.grad().data();
      const std::size_t n = p.size();
      if (rows == 0) std::fill(bucket + s.offset, bucket + s.offset + n, 0.0f);
      else for (std::size_t i = 0; i < n; ++i) bucket[s.offset + i] = g[i] * weight;
    }
    if (b + 1 == buckets_.size()) buckets_[b].back() = rows ? loss * weight : 0.0f;
    comm_.sum(bucket, buckets_[b].size());
    for (const Slot& s : slots_.empty() ? std::vector<Slot>{} : slots_[b]) {
      Tensor& p = parameters_[s.parameter];
      float* g = p.grad().data();
      std::copy(bucket + s.offset, bucket + s.offset + p.size(), g);
    }
  }
  return buckets_.back().back();
}

void set_dropout_shard(Module& model, std::size_t rows_before, std::size_t rows_after) {
  if (auto* dropout = dynamic_cast<Dropout*>(&model)) dropout->set_shard(rows_before, rows_after);
  for (const auto& [name, child] : model.children()) set_dropout_shard(*child, rows_before, rows_after);
}

}  // namespace xg
