// layers/batchnorm: BatchNorm2d's state under PyTorch's names (parameters
// apart from buffers), its training and eval modes, the batch counter.
#include <doctest/doctest.h>

#include <stdexcept>

#include "core/random.hpp"
#include "layers/batchnorm.hpp"
#include "layers/sequential.hpp"
#include "tests/support/gradcheck.hpp"

using namespace xg;
using namespace xg::testing;

TEST_CASE("BatchNorm2d: weight and bias are parameters, the running statistics buffers, in state_dict order") {
  Sequential model;
  model.add(std::make_shared<BatchNorm2d>(3));
  std::vector<std::string> parameters, buffers, state;
  for (const auto& [name, t] : model.named_parameters()) parameters.push_back(name);
  for (const auto& [name, t] : model.named_buffers()) buffers.push_back(name);
  for (const auto& [name, t] : model.named_state()) state.push_back(name);
  CHECK(parameters == std::vector<std::string>{"0.weight", "0.bias"});
  CHECK(buffers == std::vector<std::string>{"0.running_mean", "0.running_var", "0.num_batches_tracked"});
  CHECK(state == std::vector<std::string>{"0.weight", "0.bias", "0.running_mean", "0.running_var", "0.num_batches_tracked"});
  CHECK(model.parameters().size() == 2);  // what an optimizer, a penalty or clipping gets
  auto& bn = static_cast<BatchNorm2d&>(model[0]);
  CHECK(bn.weight.value() == Array{1.0f, 1.0f, 1.0f});
  CHECK(bn.bias.value() == Array{0.0f, 0.0f, 0.0f});
  CHECK(bn.running_mean.value() == Array{0.0f, 0.0f, 0.0f});
  CHECK(bn.running_var.value() == Array{1.0f, 1.0f, 1.0f});
  CHECK(bn.num_batches_tracked.rank() == 0);  // a scalar, as torch's
  CHECK(bn.num_batches_tracked.item() == 0.0f);
  CHECK_FALSE(bn.running_mean.requires_grad());
  CHECK(bn.weight.requires_grad());
  CHECK(model.describe() == "Sequential(BatchNorm2d(3))");
}

TEST_CASE("BatchNorm2d: training counts batches and moves the running statistics, eval uses them and changes nothing") {
  Rng rng(3);
  BatchNorm2d bn(2);
  const Tensor x = random_tensor({4, 2, 3, 3}, rng, false, 3.0f);
  bn.forward(x);
  bn.forward(x);
  CHECK(bn.num_batches_tracked.item() == 2.0f);
  const Array mean = bn.running_mean.value(), var = bn.running_var.value();
  CHECK(mean.data()[0] != 0.0f);
  bn.eval();
  const Tensor y = bn.forward(x);
  CHECK(bn.num_batches_tracked.item() == 2.0f);
  CHECK(bn.running_mean.value() == mean);
  CHECK(bn.running_var.value() == var);
  // eval: y = (x - running_mean) / √(running_var + eps) with γ = 1, β = 0
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::size_t c = i / 9 % 2;
    CHECK(y.data()[i] == doctest::Approx((x.data()[i] - mean.data()[c]) / std::sqrt(var.data()[c] + 1e-5)).epsilon(1e-5));
  }
  CHECK_THROWS_WITH_AS(bn.forward(random_tensor({4, 3, 2, 2}, rng)),
                       "BatchNorm2d expects images (batch, 2, height, width), got shape (4, 3, 2, 2)", std::invalid_argument);
}
