// layers/sequential and layers/module: an MLP's parameters carry
// torch.nn.Sequential's names, order and layouts; make_mlp's general form;
// train() and eval() reach every sub-module.
#include <doctest/doctest.h>

#include <stdexcept>

#include "core/random.hpp"
#include "layers/linear.hpp"
#include "layers/sequential.hpp"

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

TEST_CASE("train() and eval() reach every sub-module") {
  Rng rng(0);
  auto mlp = make_mlp({4, 3, 2}, rng);
  mlp->eval();
  for (std::size_t i = 0; i < mlp->size(); ++i) CHECK_FALSE((*mlp)[i].is_training());
  mlp->train();
  for (std::size_t i = 0; i < mlp->size(); ++i) CHECK((*mlp)[i].is_training());
}

TEST_CASE("make_mlp(MlpSpec): the activation between Linear layers, Dropout after each, positions fixed by the spec") {
  Rng rng(0);
  MlpSpec spec;
  spec.sizes = {6, 5, 4, 3};
  spec.activation = "tanh";
  spec.dropout = 0.25f;
  spec.dropout_seed = 7;
  auto mlp = make_mlp(spec, rng);
  CHECK(mlp->describe() ==
        "Sequential(Linear(6 -> 5), Tanh, Dropout(0.25), Linear(5 -> 4), Tanh, Dropout(0.25), Linear(4 -> 3))");
  const auto named = mlp->named_parameters();
  REQUIRE(named.size() == 6);
  const char* names[] = {"0.weight", "0.bias", "3.weight", "3.bias", "6.weight", "6.bias"};
  for (int i = 0; i < 6; ++i) CHECK(named[std::size_t(i)].first == names[i]);
  // The same seeds make the same model, dropout masks included.
  Rng again(0);
  auto twin = make_mlp(spec, again);
  const Tensor x(xt::ones<float>(Shape{4, 6}));
  CHECK((*mlp)(x).value() == (*twin)(x).value());
  // Without dropout and with ReLU it is the plain make_mlp, weight for weight.
  Rng a(3), b(3);
  MlpSpec relu;
  relu.sizes = {6, 5, 3};
  auto from_spec = make_mlp(relu, a), plain = make_mlp({6, 5, 3}, b);
  CHECK(from_spec->describe() == plain->describe());
  const auto p = from_spec->named_parameters(), q = plain->named_parameters();
  REQUIRE(p.size() == q.size());
  for (std::size_t i = 0; i < p.size(); ++i) CHECK(p[i].second.value() == q[i].second.value());
  spec.activation = "gelu";
  CHECK_THROWS_AS(make_mlp(spec, rng), std::invalid_argument);
}

TEST_CASE("mlp_parameter_shapes lists make_mlp's parameter names and shapes without building it") {
  for (float dropout : {0.0f, 0.5f}) {
    for (const std::vector<std::size_t>& sizes : {std::vector<std::size_t>{4, 3}, {6, 5, 2}, {7, 4, 3, 2}}) {
      MlpSpec spec;
      spec.sizes = sizes;
      spec.dropout = dropout;
      Rng rng(1);
      std::vector<std::pair<std::string, Shape>> built;
      for (const auto& [name, p] : make_mlp(spec, rng)->named_parameters()) {
        built.emplace_back(name, Shape(p.value().shape().begin(), p.value().shape().end()));
      }
      CAPTURE(dropout);
      CAPTURE(sizes.size());
      CHECK(mlp_parameter_shapes(spec) == built);
    }
  }
}
