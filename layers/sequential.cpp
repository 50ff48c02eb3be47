#include "layers/sequential.hpp"

#include <algorithm>
#include <stdexcept>

#include "core/ops.hpp"
#include "layers/activations.hpp"
#include "layers/dropout.hpp"
#include "layers/linear.hpp"

namespace xg {

void Sequential::add(std::shared_ptr<Module> module) {
  const std::string position = std::to_string(children().size());
  module->set_label(module->label() + "#" + position);
  register_module(position, std::move(module));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  if (!input_shape_.empty() && x.rank() == 2) {
    thread_local Shape batch_shape;  // (B, input_shape...); kept, so a training step allocates nothing
    batch_shape.resize(input_shape_.size() + 1);
    batch_shape[0] = x.dim(0);
    std::copy(input_shape_.begin(), input_shape_.end(), batch_shape.begin() + 1);
    h = reshape(x, batch_shape);  // throws, naming both shapes, if the rows have another size
  }
  const auto& layers = children();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    // A layer followed by a ReLU may make the ReLU's output in its own pass
    // (Linear's and Conv2d's GEMMs do, Module::forward_before_relu), which the
    // ReLU then takes: the same graph and numbers.
    const bool relu_follows = i + 1 < layers.size() && dynamic_cast<ReLU*>(layers[i + 1].second.get());
    h = relu_follows ? layers[i].second->forward_before_relu(h) : layers[i].second->forward(h);
  }
  return h;
}

std::string Sequential::describe() const {
  std::string s = "Sequential(";
  for (std::size_t i = 0; i < size(); ++i) s += (i ? ", " : "") + (*this)[i].describe();
  return s + ")";
}

std::shared_ptr<Sequential> make_mlp(const std::vector<std::size_t>& sizes, Rng& rng) {
  if (sizes.size() < 2) throw std::invalid_argument("make_mlp needs at least an input and an output size");
  auto model = std::make_shared<Sequential>();
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    model->add(std::make_shared<Linear>(sizes[i], sizes[i + 1], rng));
    if (i + 2 < sizes.size()) model->add(std::make_shared<ReLU>());
  }
  return model;
}

std::shared_ptr<Sequential> make_mlp(const MlpSpec& spec, Rng& rng) {
  const std::vector<std::size_t>& sizes = spec.sizes;
  if (sizes.size() < 2) throw std::invalid_argument("make_mlp needs at least an input and an output size");
  auto model = std::make_shared<Sequential>();
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    model->add(std::make_shared<Linear>(sizes[i], sizes[i + 1], rng));
    if (i + 2 < sizes.size()) {
      model->add(make_activation(spec.activation));
      if (spec.dropout > 0) model->add(std::make_shared<Dropout>(spec.dropout, spec.dropout_seed * 1000003ULL + 7919ULL * (i + 1)));
    }
  }
  return model;
}

std::vector<std::pair<std::string, Shape>> mlp_parameter_shapes(const MlpSpec& spec) {
  // make_mlp's positions: Linear, activation, [Dropout], Linear, …
  const std::size_t modules_per_layer = spec.dropout > 0 ? 3 : 2;
  std::vector<std::pair<std::string, Shape>> shapes;
  for (std::size_t i = 0; i + 1 < spec.sizes.size(); ++i) {
    const std::string position = std::to_string(i * modules_per_layer);
    shapes.push_back({position + ".weight", {spec.sizes[i + 1], spec.sizes[i]}});
    shapes.push_back({position + ".bias", {spec.sizes[i + 1]}});
  }
  return shapes;
}

}  // namespace xg
