#include "layers/conv.hpp"

#include <cmath>
#include <stdexcept>

#include "core/conv.hpp"
#include "core/ops.hpp"

namespace xg {

Conv2d::Conv2d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel, Rng& rng, std::size_t stride,
               std::size_t padding)
    : Module("Conv2d"), stride_(stride), padding_(padding) {
  const float bound = 1.0f / std::sqrt(float(in_channels * kernel * kernel));
  Array w = Array::from_shape({out_channels, in_channels, kernel, kernel});
  for (float& v : w) v = rng.uniform(-bound, bound);
  Array b = Array::from_shape({out_channels});
  for (float& v : b) v = rng.uniform(-bound, bound);
  weight = register_parameter("weight", Tensor(std::move(w), true));
  bias = register_parameter("bias", Tensor(std::move(b), true));
}

Tensor Conv2d::forward(const Tensor& x) { return forward(x, false); }

Tensor Conv2d::forward(const Tensor& x, bool relu_follows) {
  if (x.rank() != 4 || x.dim(1) != in_channels()) {
    throw std::invalid_argument(label() + " expects images (batch, " + std::to_string(in_channels()) +
                                ", height, width), got shape " + shape_string(x.value()));
  }
  return conv2d(x, weight, bias, stride_, padding_, relu_follows);
}

std::string Conv2d::describe() const {
  return "Conv2d(" + std::to_string(in_channels()) + " -> " + std::to_string(out_channels()) + ", kernel " +
         std::to_string(kernel()) + ", stride " + std::to_string(stride_) + ", padding " + std::to_string(padding_) + ")";
}

Pool2d::Pool2d(const char* type, std::size_t kernel, std::size_t stride)
    : Module(type), type_(type), kernel_(kernel), stride_(stride == 0 ? kernel : stride) {}

std::string Pool2d::describe() const {
  return std::string(type_) + "(" + std::to_string(kernel_) + ", stride " + std::to_string(stride_) + ")";
}

Tensor MaxPool2d::forward(const Tensor& x) { return max_pool2d(x, kernel(), stride()); }

Tensor AvgPool2d::forward(const Tensor& x) { return avg_pool2d(x, kernel(), stride()); }

Tensor Flatten::forward(const Tensor& x) {
  if (x.rank() < 2) throw std::invalid_argument(label() + " expects a batch (batch, …), got shape " + shape_string(x.value()));
  thread_local Shape flat(2);  // (B, features); kept, so a training step allocates nothing
  flat[0] = x.dim(0), flat[1] = 1;
  for (std::size_t axis = 1; axis < x.rank(); ++axis) flat[1] *= x.dim(axis);
  return reshape(x, flat);
}

}  // namespace xg
