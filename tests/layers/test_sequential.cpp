// Modules (registration order, PyTorch names, init, shape errors) and SGD.
#include <doctest/doctest.h>

#include <cmath>

#include "core/ops.hpp"
#include "layers/linear.hpp"
#include "layers/sequential.hpp"
#include "optim/sgd.hpp"

using namespace xg;

TEST_CASE("an MLP's parameters have torch.nn.Sequential's names, order and layout") {
  Rng rng(0);
  auto mlp = make_mlp({784, 256, 128, 10}, rng);
  const auto named = mlp->named_parameters();
  REQUIRE(named.size() == 6);
  const char* names[] = {"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"};
  const Shape shapes[] = {{256, 784}, {256}, {128, 256}, {128}, {10, 128}, {10}};
  for (int i = 0; i < 6; ++i) {
    CHECK(named[i].first == names[i]);
    CHECK(Shape(named[i].second.value().shape().begin(), named[i].second.value().shape().end()) == shapes[i]);
    CHECK(named[i].second.requires_grad());
  }
  CHECK(mlp->parameters().size() == 6);
  CHECK(mlp->describe() == "Sequential(Linear(784 -> 256), ReLU, Linear(256 -> 128), ReLU, Linear(128 -> 10))");
}

TEST_CASE("Linear's init is PyTorch's: uniform in ±1/sqrt(in), seeded") {
  Rng a(42), b(42), c(43);
  Linear l1(100, 50, a), l2(100, 50, b), l3(100, 50, c);
  const float bound = 0.1f;
  double sum_sq = 0.0;
  for (float v : l1.weight.value()) {
    CHECK(std::abs(v) <= bound);
    sum_sq += double(v) * v;
  }
  // variance of U(-b, b) is b²/3
  CHECK(sum_sq / 5000.0 == doctest::Approx(bound * bound / 3.0).epsilon(0.1));
  for (float v : l1.bias.value()) CHECK(std::abs(v) <= bound);
  CHECK(l1.weight.value() == l2.weight.value());
  CHECK(l1.weight.value() != l3.weight.value());
}

TEST_CASE("shape errors name the layer") {
  Rng rng(0);
  auto mlp = make_mlp({784, 256, 128, 10}, rng);
  Tensor x = Tensor::zeros({2, 128});
  CHECK_THROWS_WITH_AS(mlp->forward(x), "Linear#0 expects 784 input features, got 128", std::invalid_argument);
  // the second Linear sits at position 2, named like its parameters "2.weight"
  Linear& second = static_cast<Linear&>((*mlp)[2]);
  CHECK_THROWS_WITH_AS(second.forward(Tensor::zeros({2, 784})), "Linear#2 expects 256 input features, got 784",
                       std::invalid_argument);
}

TEST_CASE("train() and eval() reach every sub-module") {
  Rng rng(0);
  auto mlp = make_mlp({4, 3, 2}, rng);
  mlp->eval();
  for (std::size_t i = 0; i < mlp->size(); ++i) CHECK_FALSE((*mlp)[i].is_training());
  mlp->train();
  for (std::size_t i = 0; i < mlp->size(); ++i) CHECK((*mlp)[i].is_training());
}

TEST_CASE("SGD with momentum follows torch.optim.SGD's formulas") {
  // loss = Σ w·g_fixed, so the gradient is g_fixed at every step.
  Tensor w(Array{1.0f, -2.0f}, true);
  const Tensor g(Array{0.5f, 1.0f});
  SGD sgd({w}, 0.1f, 0.9f);
  auto step = [&] {
    sgd.zero_grad();
    sum(mul(w, g)).backward();
    sgd.step();
  };
  step();  // v = g;           w = w - 0.1 g
  CHECK(w.value()(0) == doctest::Approx(1.0 - 0.05));
  step();  // v = 0.9 g + g;   w -= 0.1 · 1.9 g
  CHECK(w.value()(0) == doctest::Approx(1.0 - 0.05 - 0.095));
  CHECK(w.value()(1) == doctest::Approx(-2.0 - 0.1 - 0.19));
  CHECK(sgd.velocities()[0](1) == doctest::Approx(1.9));
}

TEST_CASE("SGD without momentum keeps no state") {
  Tensor w(Array{1.0f}, true);
  SGD sgd({w}, 0.5f);
  sum(mul(w, w)).backward();  // gradient 2w = 2
  sgd.step();
  CHECK(w.value()(0) == doctest::Approx(0.0));
  CHECK(sgd.velocities().empty());
}
