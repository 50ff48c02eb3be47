#include "core/tensor.hpp"

#include <atomic>
#include <stdexcept>

namespace xg {

namespace {
thread_local bool g_grad_enabled = true;
}

NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }
bool grad_enabled() { return g_grad_enabled; }

Array& Node::grad_buffer() {
  if (!grad_allocated()) {
    grad = xt::zeros<float>(value.shape());
    grad_ready = true;
  } else if (grad_stale) {
    grad.fill(0.0f);
  }
  grad_stale = false;
  return grad;
}

Array& Node::grad_to_overwrite(bool& add) {
  if (grad_allocated()) {
    add = !grad_stale;
  } else {
    grad = Array::from_shape(value.shape());  // uninitialised: the caller writes all of it
    grad_ready = true;
    add = false;
  }
  grad_stale = false;
  return grad;
}

Tensor::Tensor(Array value, bool requires_grad) : node_(std::allocate_shared<Node>(PoolAllocator<Node>())) {
  node_->value = std::move(value);
  node_->requires_grad = requires_grad;
}

Tensor Tensor::zeros(const Shape& shape, bool requires_grad) {
  return Tensor(xt::zeros<float>(shape), requires_grad);
}

float Tensor::item() const {
  if (node_->value.size() != 1) {
    throw std::invalid_argument("item() needs a one-element tensor, got shape " + shape_string(node_->value));
  }
  return node_->value.data()[0];
}

void topological_order(Node* root, std::vector<Node*>& order) {
  // Iterative depth-first search. A fresh mark per call means no visited set to
  // clear; a node is emitted after all its parents (post-order).
  static std::atomic<unsigned> last_mark{0};
  const unsigned mark = ++last_mark;
  thread_local std::vector<std::pair<Node*, std::size_t>> stack;  // node, next parent to visit
  order.clear();
  stack.clear();
  if (root == nullptr) return;
  root->visit = mark;
  stack.push_back({root, 0});
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->parents.size()) {
      Node* parent = node->parents[next++].get();
      // Nodes that need no gradient are leaves of the backward walk: skip them.
      if (parent != nullptr && parent->requires_grad && parent->visit != mark) {
        parent->visit = mark;
        stack.push_back({parent, 0});
      }
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
}

std::vector<Node*> topological_order(Node* root) {
  std::vector<Node*> order;
  topological_order(root, order);
  return order;
}

namespace {
thread_local bool g_dropping_intermediate_grads = false;  // see IntermediateGrads
}  // namespace

bool dropping_intermediate_grads() { return g_dropping_intermediate_grads; }

void Tensor::backward(IntermediateGrads intermediates) {
  if (node_->value.size() != 1) {
    throw std::invalid_argument("backward() needs a scalar (e.g. a loss), got shape " + shape_string(node_->value));
  }
  if (!node_->requires_grad) {
    throw std::logic_error("backward() on a tensor that does not require a gradient (built under NoGradGuard, or from constants only)");
  }
  thread_local std::vector<Node*> order;  // reused: no allocation per step
  topological_order(node_.get(), order);
  // Intermediate gradients belong to one backward pass; only leaves (the
  // parameters) accumulate across passes. Clear any left by an earlier pass.
  // Count each node's consumers (parents come before their children in `order`,
  // so a node's count is reset before its children add to it).
  for (Node* n : order) {
    if (n->backward != nullptr && n->grad_ready) n->grad.fill(0.0f);
    n->consumers = 0;
    n->backward_made = false;
    for (const auto& parent : n->parents)
      if (parent && parent->requires_grad) ++parent->consumers;
  }
  node_->grad_buffer().data()[0] += 1.0f;  // d(loss)/d(loss) = 1
  // The option holds for this pass on this thread (restored on the way out, also
  // when a backward throws).
  struct Dropping {
    bool saved = g_dropping_intermediate_grads;
    explicit Dropping(bool drop) { g_dropping_intermediate_grads = drop; }
    ~Dropping() { g_dropping_intermediate_grads = saved; }
  } dropping(intermediates == IntermediateGrads::Drop);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node& n = **it;
    if (n.backward == nullptr || n.backward_made) continue;
    n.grad_buffer();  // a node's backward may read its own grad
    n.backward(n);
  }
}

void Tensor::zero_grad() {
  if (!node_->grad_allocated()) node_->grad_buffer();
  node_->grad_stale = true;  // zeros written on first use (grad_buffer) or never (grad_to_overwrite)
}

std::string shape_string(const Shape& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + ")";
}

std::size_t argmax(const float* values, std::size_t n) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < n; ++i)
    if (values[i] > values[best]) best = i;  // strict: the first maximum wins ties
  return best;
}

bool all_finite(const float* values, std::size_t n) {
  std::uint32_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) bad |= nonfinite_bit(values[i]);
  return bad == 0;
}

double sum_of_squares(const float* values, std::size_t n) {
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) sum += double(values[i]) * double(values[i]);
  return sum;
}

std::string shape_string(const Array& a) { return shape_string(Shape(a.shape().begin(), a.shape().end())); }

Tensor make_result(const char* op, Array value, std::initializer_list<Tensor> inputs, void (*backward)(Node&)) {
  Tensor out(std::move(value));
  Node& n = *out.node();
  n.op = op;
  bool any = false;
  for (const Tensor& t : inputs) any = any || t.requires_grad();
  if (grad_enabled() && any) {
    n.requires_grad = true;
    n.backward = backward;
    std::size_t i = 0;
    for (const Tensor& t : inputs) n.parents[i++] = t.node_ptr();
  }
  return out;
}

}  // namespace xg
