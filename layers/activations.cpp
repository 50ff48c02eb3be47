#include "layers/activations.hpp"

#include "core/ops.hpp"

namespace xg {

Tensor ReLU::forward(const Tensor& x) { return relu(x); }

}  // namespace xg
