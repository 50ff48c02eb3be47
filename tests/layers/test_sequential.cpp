// layers/sequential and layers/module: an MLP's parameters carry
// torch.nn.Sequential's names, order and layouts; make_mlp's general form;
// train() and eval() reach every sub-module.
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <stdexcept>

#include "core/ops.hpp"
#include "core/random.hpp"
#include "core/conv.hpp"
#include "layers/activations.hpp"
#include "layers/conv.hpp"
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

TEST_CASE("a Linear followed by a ReLU gives the same graph, values and gradients as linear() and relu() apart") {
  // Sequential asks the Linear's GEMM to make the ReLU's output too (relu_follows);
  // the ReLU takes it. Nothing else may differ, to the bit.
  Rng rng(3);
  auto mlp = make_mlp({50, 40, 30, 10}, rng);
  std::mt19937 gen(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Array xs = Array::from_shape({37, 50});  // 37 rows: ragged tiles
  for (float& v : xs) v = normal(gen);
  const Tensor x(xs, false);

  const Tensor fused = (*mlp)(x);
  // The same model, op by op.
  const auto& p = mlp->parameters();
  const Tensor u1 = linear(x, p[0], p[1]), h1 = relu(u1);
  const Tensor u2 = linear(h1, p[2], p[3]), h2 = relu(u2);
  const Tensor apart = linear(h2, p[4], p[5]);
  REQUIRE(fused.size() == apart.size());
  CHECK(std::memcmp(fused.data(), apart.data(), apart.size() * sizeof(float)) == 0);

  // The graph: the output's input is a ReLU whose input is a linear op holding
  // the pre-activation (not the ReLU's output).
  const Node& relu2 = *fused.node()->parents[0];
  REQUIRE(std::string(relu2.op) == "relu");
  const Node& lin2 = *relu2.parents[0];
  REQUIRE(std::string(lin2.op) == "linear");
  CHECK(std::memcmp(lin2.value.data(), u2.data(), u2.size() * sizeof(float)) == 0);
  CHECK(std::memcmp(relu2.value.data(), h2.data(), h2.size() * sizeof(float)) == 0);
  bool some_negative = false;
  for (float v : lin2.value) some_negative = some_negative || v < 0.0f;
  CHECK(some_negative);  // the pre-activation is not the ReLU's output

  // Gradients: the fused model's against the op-by-op model's.
  std::vector<Array> grads[2];
  for (int run = 0; run < 2; ++run) {
    mlp->zero_grad();
    Tensor out = run == 0 ? (*mlp)(x) : linear(relu(linear(relu(linear(x, p[0], p[1])), p[2], p[3])), p[4], p[5]);
    sum(out).backward();
    for (const Tensor& t : p) grads[run].push_back(t.grad());
  }
  for (std::size_t i = 0; i < p.size(); ++i) {
    CAPTURE(i);
    CHECK(std::memcmp(grads[0][i].data(), grads[1][i].data(), grads[0][i].size() * sizeof(float)) == 0);
  }
}

TEST_CASE("a Conv2d followed by a ReLU gives the same graph, values and gradients as conv2d() and relu() apart") {
  // Sequential asks each image's GEMM to make the ReLU's output too; the ReLU takes it.
  Rng rng(4);
  Sequential cnn;
  auto conv = std::make_shared<Conv2d>(2, 4, 3, rng, 1, 1);
  cnn.add(conv);
  cnn.add(std::make_shared<ReLU>());
  cnn.add(std::make_shared<MaxPool2d>(2));
  std::mt19937 gen(6);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Array xs = Array::from_shape({3, 2, 7, 9});
  for (float& v : xs) v = normal(gen);
  const Tensor x(xs, false);
  const auto& p = cnn.parameters();
  Tensor fused = cnn(x);
  const Node& relu_node = *fused.node()->parents[0];
  REQUIRE(std::string(relu_node.op) == "relu");
  const Node& conv_node = *relu_node.parents[0];
  REQUIRE(std::string(conv_node.op) == "conv2d");
  CHECK(conv_node.saved.dimension() == 0);  // relu() took the copy the GEMM made
  const Tensor u = conv2d(x, p[0], p[1], 1, 1), apart = max_pool2d(relu(u), 2, 2);
  REQUIRE(fused.size() == apart.size());
  CHECK(std::memcmp(fused.data(), apart.data(), apart.size() * sizeof(float)) == 0);
  CHECK(std::memcmp(conv_node.value.data(), u.data(), u.size() * sizeof(float)) == 0);  // the pre-activation
  // What the layer hands the ReLU: relu(y), made by the GEMM, in the node.
  const Tensor made = conv->forward(x, true), expected = relu(u);
  REQUIRE(made.node()->saved.dimension() == 4);
  CHECK(std::memcmp(made.node()->saved.data(), expected.data(), expected.size() * sizeof(float)) == 0);
  CHECK(conv->forward(x).node()->saved.dimension() == 0);
  std::vector<Array> grads[2];
  for (int run = 0; run < 2; ++run) {
    cnn.zero_grad();
    Tensor out = run == 0 ? cnn(x) : max_pool2d(relu(conv2d(x, p[0], p[1], 1, 1)), 2, 2);
    sum(out).backward();
    for (const Tensor& t : p) grads[run].push_back(t.grad());
  }
  for (std::size_t i = 0; i < p.size(); ++i)
    CHECK(std::memcmp(grads[0][i].data(), grads[1][i].data(), grads[0][i].size() * sizeof(float)) == 0);
}
