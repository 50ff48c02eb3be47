#include "losses/elementwise_loss.hpp"

namespace xg {

// terms (any shape) -> loss: rank 0 (Mean, Sum) or the terms' shape (None)
// dx += dloss · local (scalar loss) or dx += dloss ⊙ local (reduction None);
// the second input, if any, gets n.scalar times that (−1 for mse's target).
// Node: parents {input, second input or none}; saved = local, d term / d input
// (Mean's 1/N folded in); scalar = second_sign (0: the second input gets nothing).
static void elementwise_loss_backward(Node& n) {
  for (int k = 0; k < 2; ++k) {
    Node* input = n.parents[k].get();
    if (input == nullptr || !input->requires_grad) continue;
    const float sign = k == 0 ? 1.0f : n.scalar;
    if (sign == 0.0f) continue;
    float* dx = input->grad_buffer().data();
    const float* g = n.saved.data();
    const std::size_t count = n.saved.size();
    if (n.value.dimension() == 0) {
      const float dy = sign * n.grad.data()[0];
      for (std::size_t i = 0; i < count; ++i) dx[i] += dy * g[i];
    } else {
      const float* dy = n.grad.data();
      for (std::size_t i = 0; i < count; ++i) dx[i] += sign * dy[i] * g[i];
    }
  }
}

Tensor reduce_elementwise_loss(const char* op, Array terms, Array local, Reduction reduction,
                               std::initializer_list<Tensor> inputs, float second_sign) {
  Array loss;
  if (reduction == Reduction::None) {
    loss = std::move(terms);
  } else {
    double total = 0.0;
    for (float t : terms) total += t;
    const double factor = reduction == Reduction::Mean ? 1.0 / double(terms.size()) : 1.0;
    loss = Array::from_shape({});
    loss() = float(total * factor);
    if (factor != 1.0) local *= float(factor);
  }
  Tensor out = make_result(op, std::move(loss), inputs, elementwise_loss_backward);
  if (out.requires_grad()) {
    out.node()->saved = std::move(local);
    out.node()->scalar = second_sign;
  }
  return out;
}

}  // namespace xg
