// layers/model_summary: each layer's output shape and parameters, the totals,
// and the table as Keras's model.summary() lays it out.
#include <doctest/doctest.h>

#include <string>

#include "layers/linear.hpp"
#include "layers/model_summary.hpp"

using namespace xg;

TEST_CASE("model_summary: the default MLP's layers, shapes and 235,146 parameters") {
  Rng rng(0);
  auto model = make_mlp(std::vector<std::size_t>{784, 256, 128, 10}, rng);
  const std::vector<LayerSummary> layers = summarize_layers(*model, 784);
  REQUIRE(layers.size() == 5);
  CHECK(layers[0].type == "Linear");
  CHECK(layers[1].type == "ReLU");
  CHECK(layers[0].name == "0");
  CHECK(layers[4].name == "4");
  CHECK(layers[0].output_shape == std::vector<std::size_t>{256});
  CHECK(layers[3].output_shape == std::vector<std::size_t>{128});
  CHECK(layers[4].output_shape == std::vector<std::size_t>{10});
  CHECK(layers[0].parameters == 784 * 256 + 256);
  CHECK(layers[1].parameters == 0);
  CHECK(layers[2].parameters == 256 * 128 + 128);
  CHECK(layers[4].trainable == 128 * 10 + 10);
  CHECK(model->is_training());  // restored after the evaluation-mode pass

  const std::string text = format_model_summary(layers);
  CAPTURE(text);
  CHECK(text.find("layer  type    output shape  parameters\n") == 0);
  CHECK(text.find("0      Linear  (batch, 256)     200,960\n") != std::string::npos);
  CHECK(text.find("1      ReLU    (batch, 256)           0\n") != std::string::npos);
  CHECK(text.find("total parameters                235,146\n") != std::string::npos);
  CHECK(text.find("trainable parameters            235,146\n") != std::string::npos);
  CHECK(text.find("non-trainable") == std::string::npos);
}

TEST_CASE("model_summary: dropout and other activations, frozen parameters, and a model in eval mode") {
  Rng rng(1);
  MlpSpec spec;
  spec.sizes = {6, 4, 3};
  spec.activation = "tanh";
  spec.dropout = 0.5f;
  auto model = make_mlp(spec, rng);
  model->eval();
  std::vector<LayerSummary> layers = summarize_layers(*model, 6);
  REQUIRE(layers.size() == 4);  // Linear, Tanh, Dropout, Linear
  CHECK(layers[2].type == "Dropout");
  CHECK(layers[2].output_shape == std::vector<std::size_t>{4});
  CHECK(!model->is_training());
  layers[0].trainable = 0;  // as a frozen layer would report
  const std::string text = format_model_summary(layers);
  CAPTURE(text);
  CHECK(text.find("total parameters") != std::string::npos);
  CHECK(text.find("non-trainable parameters") != std::string::npos);
  CHECK(text.find("            28\n") != std::string::npos);  // 6·4 + 4 frozen
}

TEST_CASE("model_summary: with_thousands groups digits by three") {
  CHECK(with_thousands(0) == "0");
  CHECK(with_thousands(999) == "999");
  CHECK(with_thousands(1000) == "1,000");
  CHECK(with_thousands(235146) == "235,146");
  CHECK(with_thousands(1234567) == "1,234,567");
}
