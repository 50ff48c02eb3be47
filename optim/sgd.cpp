#include "optim/sgd.hpp"

#include <algorithm>
#include <stdexcept>

#include "core/parallel.hpp"
#include "core/sgd_rule.hpp"

namespace xg {

SGD::SGD(std::vector<Tensor> parameters, float lr, float momentum)
    : SGD(std::move(parameters), lr, SGDOptions{momentum, 0.0f, false, 0.0f}) {}

SGD::SGD(std::vector<Tensor> parameters, float lr, const SGDOptions& options)
    : Optimizer(std::move(parameters), lr), options_(options) {
  if (options_.nesterov && (options_.momentum <= 0.0f || options_.dampening != 0.0f)) {
    throw std::invalid_argument("SGD: Nesterov momentum needs momentum > 0 and zero dampening");
  }
}

// The update is elementwise, so when there are enough elements to pay for threads,
// thread t of T updates slice t of every parameter (parallel_ranges, thread_slice,
// core/parallel.hpp): the slice of a weight its forward and weight-gradient GEMMs
// touched on that core. Which thread updates a weight changes nothing in its
// arithmetic: results are the same to the bit at any thread count.

// The step about to be made (core/sgd_rule.hpp): the rate, the options, and
// whether it is the velocity's first. Makes the velocity arrays on first use.
SgdStep SGD::next_step() {
  if (options_.momentum != 0.0f && velocity_.empty()) {
    velocity_.resize(parameters_.size());
    for (std::size_t i = 0; i < parameters_.size(); ++i) velocity_[i] = Array::from_shape(parameters_[i].value().shape());
  }
  return {lr_, options_.momentum, options_.dampening, options_.weight_decay, options_.nesterov, !velocity_started_};
}

// w[begin:end) (and its velocity) of parameter i; returns 1 if a new weight is inf or NaN.
std::uint32_t SGD::update(std::size_t i, std::size_t begin, std::size_t end, const SgdStep& step) {
  const SgdStep s = step;  // a local copy: no store below can change it, so the loops vectorise
  Tensor& p = parameters_[i];
  if (p.node()->updated) return 0;  // done in the backward pass (begin_update_in_backward)
  const float* grad = p.grad().data();
  float* w = p.data();
  const auto fma = [](float a, float b, float c) { return multiply_add(a, b, c); };
  // Each new weight is checked for inf/NaN as it is written (while it is in a
  // register), so the training loop needs no second pass over all the weights.
  std::uint32_t nonfinite = 0;
  if (s.momentum == 0.0f) {
    for (std::size_t j = begin; j < end; ++j) {
      w[j] = sgd_updated(s, grad[j], w[j], static_cast<float*>(nullptr), fma);
      nonfinite |= nonfinite_bit(w[j]);
    }
    return nonfinite;
  }
  float* v = velocity_[i].data();
  for (std::size_t j = begin; j < end; ++j) {
    w[j] = sgd_updated(s, grad[j], w[j], v + j, fma);
    nonfinite |= nonfinite_bit(w[j]);
  }
  return nonfinite;
}

void SGD::step() {
  const SgdStep s = next_step();
  // Only the weights the backward pass has not updated already (update() skips
  // those) count: after an update in the backward pass, the biases alone are
  // left, too few to pay for waking the other thread.
  std::size_t floats = 0;
  for (const Tensor& p : parameters_)
    if (!p.node()->updated) floats += p.size();
  const int threads = pass_threads(static_cast<long long>(floats), floats);
  // One slice per thread (not parallel_pieces' finer pieces): the update is
  // memory-bound, and a piece taken over from the other thread reads and writes
  // weights that sit in the other core's caches. Measured with the vCPUs far
  // apart (a 490 ns round trip), the reference epoch's update: 22 -> 18 units.
  // A worker that is late still never makes the caller wait: the caller then
  // updates its slice too (parallel_ranges of one item per thread: item t is slice t).
  if (slice_nonfinite_.size() < std::size_t(threads)) slice_nonfinite_.resize(std::size_t(threads));
  parallel_ranges(threads, threads, [&](long long slice, int) {
    std::uint32_t bits = 0;
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
      const auto [begin, end] = thread_slice(parameters_[i].size(), int(slice), threads);
      bits |= update(i, begin, end, s);
    }
    slice_nonfinite_[std::size_t(slice)] = bits;
  });
  std::uint32_t nonfinite = 0;
  for (int slice = 0; slice < threads; ++slice) nonfinite |= slice_nonfinite_[std::size_t(slice)];
  for (const Tensor& p : parameters_) nonfinite |= p.node()->updated && p.node()->update_nonfinite;
  step_finite_ = nonfinite == 0;
  velocity_started_ = velocity_started_ || s.momentum != 0.0f;
  end_update_in_backward();
}

// Each weight's update needs its gradient alone (and its velocity): the GEMM
// that makes the gradient can make it (core/gemm.hpp, gemm_sgd_update_w), with
// the same arithmetic as update() (core/sgd_rule.hpp).
bool SGD::begin_update_in_backward() {
  step_ = next_step();
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    Node& n = *parameters_[i].node();
    n.sgd_step = &step_;
    n.sgd_velocity = step_.momentum != 0.0f ? velocity_[i].data() : nullptr;
    n.updated = n.update_nonfinite = false;
  }
  return true;
}

Optimizer::State SGD::state() const {
  State out;
  if (!velocity_started_) return out;  // no step has made a velocity yet
  for (std::size_t i = 0; i < velocity_.size(); ++i) out.emplace_back("velocity." + std::to_string(i), velocity_[i]);
  return out;
}

void SGD::load_state(const State& state) {
  velocity_.clear();
  velocity_started_ = !state.empty();
  if (state.empty()) return;  // saved before the first step
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    velocity_.push_back(find_state(state, "velocity." + std::to_string(i), parameters_[i].value().shape()));
  }
}

}  // namespace xg
