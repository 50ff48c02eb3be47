// layers/activations: the activation modules, make_activation's names, and
// sigmoid's exact limits at huge logits. (Their gradients: tests/core/test_ops.cpp;
// against PyTorch: tests/oracles/layers_losses_optim.)
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>

#include "core/ops.hpp"
#include "layers/activations.hpp"

using namespace xg;

TEST_CASE("activation modules and make_activation") {
  Tensor x(Array{-2.0f, 0.5f});
  CHECK(make_activation("leaky_relu")->forward(x).value()(0) == doctest::Approx(-0.02));
  CHECK(make_activation("sigmoid")->forward(x).value()(1) == doctest::Approx(1.0 / (1.0 + std::exp(-0.5))));
  CHECK(make_activation("tanh")->forward(x).value()(0) == doctest::Approx(std::tanh(-2.0)));
  CHECK(make_activation("relu")->forward(x).value()(0) == 0.0f);
  CHECK_THROWS_AS(make_activation("gelu"), std::invalid_argument);
  // sigmoid of huge logits: no overflow, exact limits
  Tensor big(Array{-1e4f, 1e4f});
  CHECK(sigmoid(big).value()(0) == 0.0f);
  CHECK(sigmoid(big).value()(1) == 1.0f);
}
