#include "layers/batchnorm.hpp"

#include <stdexcept>

#include "core/batchnorm.hpp"

namespace xg {

BatchNorm2d::BatchNorm2d(std::size_t channels) : Module("BatchNorm2d") {
  Array ones = Array::from_shape({channels});
  ones.fill(1.0f);
  weight = register_parameter("weight", Tensor(ones, true));
  bias = register_parameter("bias", Tensor::zeros({channels}, true));
  running_mean = register_buffer("running_mean", Tensor::zeros({channels}));
  running_var = register_buffer("running_var", Tensor(ones));
  num_batches_tracked = register_buffer("num_batches_tracked", Tensor::zeros({}));
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  if (x.rank() != 4 || x.dim(1) != channels()) {
    throw std::invalid_argument(label() + " expects images (batch, " + std::to_string(channels()) +
                                ", height, width), got shape " + shape_string(x.value()));
  }
  Tensor y = batch_norm2d(x, weight, bias, running_mean.value(), running_var.value(), is_training(), kMomentum, kEps);
  if (is_training()) num_batches_tracked.data()[0] += 1.0f;
  return y;
}

std::string BatchNorm2d::describe() const { return "BatchNorm2d(" + std::to_string(channels()) + ")"; }

}  // namespace xg
