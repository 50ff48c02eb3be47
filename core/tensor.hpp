#pragma once
// The autograd engine's data structure, define-by-run like micrograd and PyTorch.
//
// A Tensor is a cheap handle (a shared pointer) to a Node of the graph. Every op
// builds its output Node as it runs: the value, the parent Nodes it was computed
// from, and a `backward` function that reads the output's gradient and
// ACCUMULATES (+=) the corresponding gradient into each parent that needs one.
// `loss.backward()` sorts the graph topologically (iteratively, with a visit
// mark) and calls every Node's backward once, from the loss to the leaves.
//
// Values are float32 xtensor arrays of rank 0 (a scalar such as a loss),
// 1 (a bias), 2 (a batch of rows, a weight matrix) or 4 (a batch of images
// (B, C, H, W), a convolution's weight), stored row-major.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include "core/memory_pool.hpp"

namespace xg {

struct SgdStep;  // core/sgd_rule.hpp

// Row-major float32 arrays whose memory comes from the recycling pool.
using Array = xt::xarray<float, xt::layout_type::row_major, PoolAllocator<float>>;
using Shape = std::vector<std::size_t>;

struct Node {
  Array value;                 // the op's result
  Array grad;                  // d(loss)/d(value); valid only once grad_ready (grad_buffer() makes it)
  bool grad_ready = false;     // grad has value's shape (a default 0-d Array already has size 1, so size cannot tell)
  bool grad_stale = false;     // zero_grad() ran: the gradient is all zeros, but grad's memory still holds the old one
                               // until grad_buffer() writes the zeros (or a backward overwrites it: grad_to_overwrite)
  bool requires_grad = false;  // false: backward never writes into this node
  const char* op = "leaf";     // the op that made it, for errors and graph export
  std::array<std::shared_ptr<Node>, 3> parents{};  // inputs, unused slots null
  // Reads this node's grad and accumulates into its parents' grads.
  void (*backward)(Node& self) = nullptr;
  // Two generic slots for what an op's backward needs besides the values. Each op
  // says what it keeps in them on its "Node:" line (core/ops.cpp, losses/*.cpp).
  Array saved;       // op-specific forward data (e.g. dropout's mask, cross-entropy's d loss/d logits)
  float scalar = 0;  // op-specific constant (e.g. the factor of scale, leaky_relu's slope)
  std::array<std::size_t, 2> sizes{};  // op-specific integers (conv2d's stride and padding, max_pool2d's kernel and stride)
  unsigned visit = 0;  // topological-sort mark
  unsigned consumers = 0;  // ops that read this node in the current backward pass (Tensor::backward counts them)

  // SGD's update made inside the backward pass (Optimizer::begin_update_in_backward):
  // while sgd_step is set, the op that makes this weight's whole gradient (a
  // linear layer's weight-gradient GEMM) may instead apply that step to value
  // (and to the velocity at sgd_velocity, with momentum) straight away, when it
  // is the weight's one consumer and nothing has accumulated yet. It then sets
  // `updated` (and `update_nonfinite` if a new value is inf or NaN); the gradient
  // itself is not stored (it reads as zeros), and the optimizer's step skips
  // this weight.
  const SgdStep* sgd_step = nullptr;
  float* sgd_velocity = nullptr;
  bool updated = false;
  bool update_nonfinite = false;

  // Set by the op that consumes this node when it has made this node's backward
  // itself, in its own pass (a linear layer applying its input ReLU's mask in
  // the input-gradient GEMM, core/ops.cpp): Tensor::backward then skips this
  // node, whose own gradient is never stored. Only in a backward that drops
  // intermediate gradients (IntermediateGrads::Drop).
  bool backward_made = false;

  // The gradient buffer, zero-filled to value's shape on first use.
  Array& grad_buffer();
  // For a backward that writes EVERY element of this gradient in one pass (a
  // weight gradient GEMM, a bias's column sums): the buffer, and `add` saying
  // whether it holds a gradient to add to. add == false means the gradient is
  // still all zeros and the buffer holds garbage: the caller must store its
  // result (a GEMM with beta = 0) instead of adding it. Same numbers as adding
  // to zeros, without writing the zeros first and reading them back.
  Array& grad_to_overwrite(bool& add);
  // True once grad is a buffer of value's shape (it may still be stale).
  bool grad_allocated() const { return grad_ready && grad.shape() == value.shape(); }
  // True while the gradient is all zeros (nothing accumulated since zero_grad()).
  bool grad_is_zero() const { return !grad_allocated() || grad_stale; }
};

// For an op's backward: input i of node n, and whether that input exists and
// wants a gradient.
inline Node& parent(Node& n, int i) { return *n.parents[i]; }
inline bool wants_grad(const Node& n, int i) { return n.parents[i] && n.parents[i]->requires_grad; }

// Whether Tensor::backward() leaves every intermediate node its gradient.
//   Keep: each node's gradient is stored (graph export, the kink bound of
//         parameter_gradcheck read them).
//   Drop: an op may make its input op's backward in the same pass and skip the
//         gradient between them (Node::backward_made): the leaves (parameters)
//         get the same gradients to the bit; those intermediates read as zeros.
//         The training loop's choice, where only the parameters' gradients count.
enum class IntermediateGrads { Keep, Drop };

// True on the thread running a backward() called with IntermediateGrads::Drop.
bool dropping_intermediate_grads();

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Array value, bool requires_grad = false);
  static Tensor zeros(const Shape& shape, bool requires_grad = false);

  const Array& value() const { return node_->value; }
  Array& value() { return node_->value; }
  // The accumulated gradient (zeros of value's shape if nothing was accumulated).
  const Array& grad() const { return node_->grad_buffer(); }
  Array& grad() { return node_->grad_buffer(); }
  // True once a gradient buffer exists (a backward pass reached this tensor, or grad() was called).
  bool has_grad() const { return node_->grad_allocated(); }
  bool requires_grad() const { return node_->requires_grad; }
  const char* op() const { return node_->op; }

  std::size_t rank() const { return node_->value.dimension(); }
  std::size_t dim(std::size_t axis) const { return node_->value.shape()[axis]; }
  std::size_t size() const { return node_->value.size(); }
  const float* data() const { return node_->value.data(); }
  float* data() { return node_->value.data(); }
  // The single value of a rank-0 (or one-element) tensor.
  float item() const;

  // Back-propagates from this scalar: d(self)/d(self) = 1, then every node's
  // backward in reverse topological order. Gradients accumulate into leaves
  // across calls until zero_grad(). See IntermediateGrads for the option.
  void backward(IntermediateGrads intermediates = IntermediateGrads::Keep);
  // Sets this tensor's gradient to zero (keeps the buffer). The zeros are
  // written lazily: by the first grad()/grad_buffer(), or never, when the next
  // backward overwrites the whole buffer (Node::grad_to_overwrite).
  void zero_grad();

  Node* node() const { return node_.get(); }
  const std::shared_ptr<Node>& node_ptr() const { return node_; }
  bool defined() const { return node_ != nullptr; }

 private:
  std::shared_ptr<Node> node_;
};

// The index of the largest of n > 0 values; the first maximum wins ties, as
// torch.argmax does. Every prediction (accuracy, confusion matrix) uses it.
std::size_t argmax(const float* values, std::size_t n);
// Σ v_i² over n values, summed in double precision: the square of the L2 norm
// (gradient clipping, diagnostics, forensics).
double sum_of_squares(const float* values, std::size_t n);
// 1 when one of v's bits says inf or NaN (all 8 exponent bits set), else 0: for
// OR-ing over many values in a loop that the compiler vectorises (integer ops;
// a float test would not vectorise without -ffast-math).
inline std::uint32_t nonfinite_bit(float v) {
  std::uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return std::uint32_t((bits & 0x7f800000u) == 0x7f800000u);
}
// True when none of the n values is inf or NaN.
bool all_finite(const float* values, std::size_t n);

// "(64, 784)" — for error messages.
std::string shape_string(const Shape& shape);
std::string shape_string(const Array& a);

// While a NoGradGuard lives, ops record no graph (evaluation, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};
bool grad_enabled();

// For ops defined outside core (losses): makes an output node holding `value`
// whose parents are `inputs`. It requires a gradient, and keeps its parents and
// `backward`, only when grad mode is on and some input requires a gradient.
Tensor make_result(const char* op, Array value, std::initializer_list<Tensor> inputs,
                   void (*backward)(Node&));

// The nodes reachable from `root` through parents that require a gradient,
// parents before children, each once.
std::vector<Node*> topological_order(Node* root);
// The same, into `order` (cleared first); `order` keeps its capacity, so a
// training loop that reuses it allocates nothing.
void topological_order(Node* root, std::vector<Node*>& order);

}  // namespace xg
