// layers/architecture: the --arch text, its errors naming the bad token, the
// parameter shapes without building, and the network built from it.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"
#include "layers/architecture.hpp"
#include "layers/conv.hpp"
#include "layers/linear.hpp"
#include "layers/model_summary.hpp"

using namespace xg;

namespace {
std::string error_of(const std::string& text, const Shape& input = {1, 28, 28}, std::size_t outputs = 10) {
  try {
    architecture_parameter_shapes(parse_architecture(text, "--arch"), input, outputs, "--arch");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("architecture: cnn is the issue's network, with PyTorch's names and shapes") {
  const std::vector<LayerSpec> layers = parse_architecture("cnn", "--arch");
  CHECK(architecture_text(layers) == kDefaultCnn);
  const auto shapes = architecture_parameter_shapes(layers, network_input({28, 28}), 10, "--arch");
  const std::vector<std::pair<std::string, Shape>> expected = {
      {"0.weight", {16, 1, 3, 3}}, {"0.bias", {16}}, {"3.weight", {32, 16, 3, 3}}, {"3.bias", {32}},
      {"7.weight", {128, 1568}},   {"7.bias", {128}}, {"9.weight", {10, 128}},       {"9.bias", {10}}};
  CHECK(shapes == expected);

  Rng rng(0);
  auto model = make_network(layers, {1, 28, 28}, 10, rng, "--arch");
  REQUIRE(model->size() == 10);
  CHECK(model->describe() ==
        "Sequential(Conv2d(1 -> 16, kernel 3, stride 1, padding 1), ReLU, MaxPool2d(2, stride 2), "
        "Conv2d(16 -> 32, kernel 3, stride 1, padding 1), ReLU, MaxPool2d(2, stride 2), Flatten, Linear(1568 -> 128), "
        "ReLU, Linear(128 -> 10))");
  const auto named = model->named_parameters();
  REQUIRE(named.size() == expected.size());
  for (std::size_t i = 0; i < named.size(); ++i) {
    CHECK(named[i].first == expected[i].first);
    CHECK(Shape(named[i].second.value().shape().begin(), named[i].second.value().shape().end()) == expected[i].second);
  }
  // Flat rows (B, 784) as the data loader gives them are read as (B, 1, 28, 28).
  NoGradGuard no_graph;
  Tensor logits = model->forward(Tensor(xt::zeros<float>({std::size_t(3), std::size_t(784)})));
  CHECK(logits.value().shape() == std::vector<std::size_t>{3, 10});
}

TEST_CASE("architecture: the summary shows each conv layer's output shape") {
  Rng rng(0);
  auto model = make_network(parse_architecture("cnn", "--arch"), {1, 28, 28}, 10, rng, "--arch");
  const std::string text = format_model_summary(summarize_layers(*model, 784));
  CAPTURE(text);
  CHECK(text.find("0      Conv2d     (batch, 16, 28, 28)         160\n") != std::string::npos);
  CHECK(text.find("2      MaxPool2d  (batch, 16, 14, 14)           0\n") != std::string::npos);
  CHECK(text.find("3      Conv2d     (batch, 32, 14, 14)       4,640\n") != std::string::npos);
  CHECK(text.find("6      Flatten    (batch, 1568)                 0\n") != std::string::npos);
  CHECK(text.find("7      Linear     (batch, 128)            200,832\n") != std::string::npos);
  CHECK(text.find("total parameters                          206,922\n") != std::string::npos);
}

TEST_CASE("architecture: suffixes, defaults, odd sizes and other inputs") {
  const auto layers = parse_architecture("conv8k5s2p2,tanh,maxpool3s2,flatten,fc", "--arch");
  REQUIRE(layers.size() == 5);
  CHECK(layers[0].size == 8);
  CHECK(layers[0].kernel == 5);
  CHECK(layers[0].stride == 2);
  CHECK(layers[0].padding == 2);
  CHECK(layers[2].kernel == 3);
  CHECK(layers[2].stride == 2);
  CHECK(parse_architecture("maxpool2", "x")[0].stride == 2);
  CHECK(parse_architecture("conv4", "x")[0].kernel == 3);
  // 3 channels of 13x11: conv 5x5 stride 2 pad 2 -> 7x6, maxpool 3 stride 2 -> 3x2: 8·3·2 = 48 features.
  const auto shapes = architecture_parameter_shapes(layers, {3, 13, 11}, 4, "--arch");
  CHECK(shapes[0].second == Shape{8, 3, 5, 5});
  CHECK(shapes[2].second == Shape{4, 48});
  // A table: Linear layers only.
  CHECK(architecture_parameter_shapes(parse_architecture("fc32,relu,fc", "x"), {6}, 3, "x")[0].second == Shape{32, 6});
  CHECK(network_input({28, 28}) == Shape{1, 28, 28});
  CHECK(network_input({7}) == Shape{7});
}

TEST_CASE("architecture: an error names the bad token and its position") {
  CHECK(error_of("conv16k3p1,relu,maxpol2,flatten,fc") ==
        "--arch: 'maxpol2' (layer 2) is not a layer; layers are convN[kK][sS][pP], maxpoolK[sS], avgpoolK[sS], bn, flatten, fcN, fc, "
        "relu, tanh, sigmoid or leaky_relu");
  CHECK(error_of("conv16,,fc") .find("--arch: '' (layer 1) is empty") == 0);
  CHECK(error_of("conv0,flatten,fc").find("--arch: 'conv0' (layer 0) is out of range") == 0);
  CHECK(error_of("conv16k99,flatten,fc").find("--arch: 'conv16k99' (layer 0) is out of range") == 0);
  CHECK(error_of("conv16x,flatten,fc").find("'conv16x' (layer 0) is not a layer") != std::string::npos);
  CHECK(error_of("conv16,fc") == "--arch: 'fc' (layer 1) needs flat input but gets images (16x26x26); put flatten before it");
  CHECK(error_of("flatten,conv4,fc") ==
        "--arch: 'conv4' (layer 1) needs images (channels, height, width) but its input is flat (784 values); it comes after flatten");
  CHECK(error_of("conv4k5,maxpool9,flatten,fc", {1, 8, 8}) ==
        "--arch: 'maxpool9' (layer 1) has a 9x9 window larger than its input (4x4x4)");
  CHECK(error_of("flatten,fc,relu") == "--arch: 'fc' (layer 1) (one output per class) must be the last layer; give fcN a size");
  CHECK(error_of("flatten,fc32") ==
        "--arch: 'fc32' (layer 1) ends the network, which must end with fc (Linear to the 10 outputs)");
  CHECK(error_of("flatten,fc10").empty());
  CHECK(error_of("conv4,flatten,fc", {6}).find("needs images") != std::string::npos);
  CHECK(error_of("flatten,fc65536,fc65536,fc") == "--arch: 'fc65536' (layer 2) brings the network above 500 million parameters");
}

TEST_CASE("Conv2d, MaxPool2d and Flatten layers") {
  Rng rng(1);
  Conv2d conv(3, 4, 5, rng, 2, 1);
  CHECK(conv.weight.value().shape() == std::vector<std::size_t>{4, 3, 5, 5});
  // torch.nn.Conv2d's default init: U(-1/√fan_in, 1/√fan_in), fan_in = 3·5·5 = 75.
  const float bound = 1.0f / std::sqrt(75.0f);
  float largest = 0;
  for (float v : conv.weight.value()) largest = std::max(largest, std::fabs(v));
  for (float v : conv.bias.value()) largest = std::max(largest, std::fabs(v));
  CHECK(largest <= bound);
  CHECK(largest > 0.8f * bound);
  Tensor y = conv.forward(Tensor(xt::zeros<float>({std::size_t(2), std::size_t(3), std::size_t(9), std::size_t(9)})));
  CHECK(y.value().shape() == std::vector<std::size_t>{2, 4, 4, 4});
  CHECK_THROWS_WITH_AS(conv.forward(Tensor(xt::zeros<float>({std::size_t(2), std::size_t(27)}))),
                       "Conv2d expects images (batch, 3, height, width), got shape (2, 27)", std::invalid_argument);
  MaxPool2d pool(3);
  CHECK(pool.stride() == 3);
  CHECK(pool.forward(y).value().shape() == std::vector<std::size_t>{2, 4, 1, 1});
  Flatten flatten;
  CHECK(flatten.forward(y).value().shape() == std::vector<std::size_t>{2, 64});
}

TEST_CASE("architecture: avgpoolK[sS] makes an AvgPool2d, sized and summarised as MaxPool2d") {
  const auto layers = parse_architecture("conv4k3p1,relu,avgpool3s2,conv2,avgpool2,flatten,fc", "--arch");
  REQUIRE(layers.size() == 7);
  CHECK(layers[2].kind == LayerSpec::Kind::AvgPool);
  CHECK(layers[2].kernel == 3);
  CHECK(layers[2].stride == 2);
  CHECK(layers[4].stride == 2);  // the stride defaults to the kernel
  CHECK(architecture_text(layers) == "conv4k3p1,relu,avgpool3s2,conv2,avgpool2,flatten,fc");
  // 1x11x9: conv p1 -> 4x11x9, avgpool 3 stride 2 -> 4x5x4, conv 3 -> 2x3x2, avgpool 2 -> 2x1x1: 2 features.
  const auto shapes = architecture_parameter_shapes(layers, {1, 11, 9}, 3, "--arch");
  REQUIRE(shapes.size() == 6);  // no parameters for the pools
  CHECK(shapes[0].first == "0.weight");
  CHECK(shapes[2].first == "3.weight");
  CHECK(shapes[4].first == "6.weight");
  CHECK(shapes[4].second == Shape{3, 2});
  Rng rng(2);
  auto model = make_network(layers, {1, 11, 9}, 3, rng, "--arch");
  CHECK(model->describe().find("ReLU, AvgPool2d(3, stride 2), Conv2d(4 -> 2") != std::string::npos);
  const std::string text = format_model_summary(summarize_layers(*model, 99));
  CAPTURE(text);
  CHECK(text.find("2      AvgPool2d  (batch, 4, 5, 4)            0\n") != std::string::npos);
  CHECK(error_of("conv4k5,avgpool9,flatten,fc", {1, 8, 8}) ==
        "--arch: 'avgpool9' (layer 1) has a 9x9 window larger than its input (4x4x4)");
  CHECK(error_of("avgpool0,flatten,fc").find("--arch: 'avgpool0' (layer 0) is out of range") == 0);
  CHECK(error_of("avgpool2x,flatten,fc").find("'avgpool2x' (layer 0) is not a layer") != std::string::npos);
  CHECK(error_of("flatten,avgpool2,fc").find("'avgpool2' (layer 1) needs images") != std::string::npos);

  AvgPool2d pool(2);
  CHECK(pool.stride() == 2);
  CHECK(pool.parameters().empty());
  Tensor y = pool.forward(Tensor(xt::ones<float>({std::size_t(2), std::size_t(3), std::size_t(5), std::size_t(4)})));
  CHECK(y.value().shape() == std::vector<std::size_t>{2, 3, 2, 2});
  CHECK(y.data()[0] == 1.0f);
}

TEST_CASE("architecture: bn makes a BatchNorm2d over the channels before it, with its buffers in the state shapes") {
  const auto layers = parse_architecture("conv8k3p1,bn,relu,maxpool2,flatten,fc", "--arch");
  REQUIRE(layers.size() == 6);
  CHECK(layers[1].kind == LayerSpec::Kind::BatchNorm);
  const std::vector<std::pair<std::string, Shape>> parameters = {
      {"0.weight", {8, 1, 3, 3}}, {"0.bias", {8}}, {"1.weight", {8}}, {"1.bias", {8}}, {"5.weight", {10, 392}}, {"5.bias", {10}}};
  CHECK(architecture_parameter_shapes(layers, {1, 14, 14}, 10, "--arch") == parameters);
  const std::vector<std::pair<std::string, Shape>> state = {
      {"0.weight", {8, 1, 3, 3}}, {"0.bias", {8}},         {"1.weight", {8}},         {"1.bias", {8}},
      {"1.running_mean", {8}},    {"1.running_var", {8}}, {"1.num_batches_tracked", {}}, {"5.weight", {10, 392}},
      {"5.bias", {10}}};
  CHECK(architecture_state_shapes(layers, {1, 14, 14}, 10, "--arch") == state);
  Rng rng(0);
  auto model = make_network(layers, {1, 14, 14}, 10, rng, "--arch");
  CHECK(model->describe() ==
        "Sequential(Conv2d(1 -> 8, kernel 3, stride 1, padding 1), BatchNorm2d(8), ReLU, MaxPool2d(2, stride 2), Flatten, Linear(392 -> 10))");
  std::vector<std::pair<std::string, Shape>> built;
  for (const auto& [name, t] : model->named_state()) built.push_back({name, Shape(t.value().shape().begin(), t.value().shape().end())});
  CHECK(built == state);
  // bn right on the input image normalises its one channel
  CHECK(architecture_parameter_shapes(parse_architecture("bn,flatten,fc", "--arch"), {1, 4, 4}, 3, "--arch").size() == 4);
}

TEST_CASE("architecture: bn on flat input names the token") {
  CHECK(error_of("conv4,flatten,bn,fc") ==
        "--arch: 'bn' (layer 2) normalises the channels of images (channels, height, width) but its input is flat (2704 values); "
        "put it before flatten");
  CHECK(error_of("fc8,bn,fc", {6}) ==
        "--arch: 'bn' (layer 1) normalises the channels of images (channels, height, width) but its input is flat (8 values)");
  CHECK(error_of("bn4,flatten,fc").find("'bn4' (layer 0) is not a layer") != std::string::npos);
}
