#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/random.hpp"
#include "layers/module.hpp"

namespace xg {

// Applies its modules in order. Sub-modules are named by position ("0", "1",
// …), as in torch.nn.Sequential, so parameter names are "0.weight", "0.bias",
// "2.weight", … and each module's label is "<Type>#<position>".
class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  void add(std::shared_ptr<Module> module);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  std::size_t size() const { return children().size(); }
  Module& operator[](std::size_t i) const { return *children()[i].second; }

  // The shape of one item its first module takes, e.g. {1, 28, 28} for a
  // convolutional network; a batch of flat rows (B, 784), as the data loader
  // gives them, is then read as (B, 1, 28, 28). Empty (the default): x as given.
  void set_input_shape(Shape item_shape) { input_shape_ = std::move(item_shape); }
  const Shape& input_shape() const { return input_shape_; }

 private:
  Shape input_shape_;
};

// A multi-layer perceptron: Linear, ReLU, Linear, ReLU, …, Linear (no
// activation after the last: it outputs logits).
// sizes = {in, hidden..., out}, e.g. {784, 256, 128, 10}.
std::shared_ptr<Sequential> make_mlp(const std::vector<std::size_t>& sizes, Rng& rng);

// The general form: Linear, activation, [Dropout(p)], …, Linear. Layer i's
// Dropout draws its masks from seed dropout_seed * 1000003 + 7919 (i + 1).
// Module positions, and so parameter names, depend only on the spec, so a
// model file's tensors map back onto make_mlp(spec) (io/model_file.hpp).
struct MlpSpec {
  std::vector<std::size_t> sizes;  // {in, hidden..., out}
  std::string activation = "relu";  // layers/activations.hpp's make_activation names
  float dropout = 0.0f;             // 0: no Dropout modules
  std::uint64_t dropout_seed = 0;
};
std::shared_ptr<Sequential> make_mlp(const MlpSpec& spec, Rng& rng);

// The names and shapes of make_mlp(spec)'s parameters, in its order, without
// building it (a model file's tensors are checked against them before any
// weight is allocated): {"0.weight", (out, in)}, {"0.bias", (out)}, …
std::vector<std::pair<std::string, Shape>> mlp_parameter_shapes(const MlpSpec& spec);

}  // namespace xg
