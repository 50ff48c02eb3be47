// train/diagnostics: the gradient-flow figures are what they claim to be, a
// too-high learning rate shows in the update/weight ratio, and dead ReLUs are
// counted. (`xgrad train --diagnostics`: tests/apps/test_train_command.cpp.)
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "train/experiment.hpp"
#include "layers/linear.hpp"
#include "losses/softmax_cross_entropy.hpp"
#include "optim/sgd.hpp"
#include "tests/support/files.hpp"
#include "tests/support/toy_data.hpp"

using namespace xg;
using namespace xg::testing;

namespace {

std::vector<std::vector<LayerDiagnostics>> train_toy(const std::string& dir, double lr, std::size_t epochs) {
  TrainConfig o;
  o.data = dir;
  o.hidden = "8";
  o.epochs = epochs;
  o.batch = 16;
  o.lr = lr;
  o.momentum = 0.0;
  o.schedule = "none";
  o.diagnostics = true;
  Experiment run(o, load_training_data(o));
  for (std::size_t e = 1; e <= epochs; ++e) run.run_epoch(e);
  // weight_norm is the norm at the end of the last epoch
  double norm = 0.0;
  for (float w : run.model().named_parameters()[0].second.value()) norm += double(w) * w;
  CHECK(run.diagnostics_history().back()[0].weight_norm == doctest::Approx(std::sqrt(norm)).epsilon(1e-9));
  return run.diagnostics_history();
}

}  // namespace

TEST_CASE("diagnostics: one entry per weight matrix per epoch, with plausible figures") {
  TempDir dir;
  write_toy_dataset(dir.path(), 320, 40, 3, 6, 5);
  const auto history = train_toy(dir.path(), 0.05, 2);
  REQUIRE(history.size() == 2);
  for (const auto& epoch : history) {
    REQUIRE(epoch.size() == 2);
    CHECK(epoch[0].parameter == "0.weight");
    CHECK(epoch[0].shape == Shape{8, 30});
    CHECK(epoch[1].parameter == "2.weight");
    CHECK(epoch[0].dead_relu >= 0.0);
    CHECK(epoch[0].dead_relu <= 1.0);
    CHECK(std::isnan(epoch[1].dead_relu));  // the logits layer feeds no ReLU
    for (const LayerDiagnostics& d : epoch) {
      CHECK(d.grad_norm > 0.0);
      CHECK(d.update_ratio > 0.0);
      CHECK(d.update_ratio < 1.0);
    }
  }
}

TEST_CASE("diagnostics: a 20x higher learning rate gives a much larger update/weight ratio") {
  TempDir dir;
  write_toy_dataset(dir.path(), 320, 40, 3, 6, 5);
  const auto low = train_toy(dir.path(), 0.01, 1), high = train_toy(dir.path(), 0.2, 1);
  for (std::size_t layer = 0; layer < 2; ++layer) CHECK(high[0][layer].update_ratio > 5 * low[0][layer].update_ratio);
}

TEST_CASE("diagnostics: units that never fire are counted as dead") {
  Rng rng(2);
  auto model = make_mlp({3, 4, 2}, rng);
  auto& first = static_cast<Linear&>((*model)[0]);
  // Units 0 and 1 get a bias no input can overcome: they output 0 always.
  first.weight.value() = Array{{0.1f, 0.1f, 0.1f}, {0.1f, 0.1f, 0.1f}, {1.0f, 0.5f, 0.2f}, {-1.0f, -0.5f, -0.2f}};
  first.bias.value() = Array{-10.0f, -10.0f, 0.0f, 0.0f};
  SGD sgd(model->parameters(), 0.01f);
  Diagnostics diagnostics(*model);
  diagnostics.start_epoch();
  for (int step = 0; step < 3; ++step) {
    sgd.zero_grad();
    Tensor loss = softmax_cross_entropy((*model)(Tensor(Array{{1.0f, 2.0f, 3.0f}, {-1.0f, -2.0f, -3.0f}})), {0, 1});
    loss.backward();
    diagnostics.after_backward(loss);
    sgd.step();
    diagnostics.after_step();
  }
  const auto layers = diagnostics.finish_epoch();
  CHECK(layers[0].dead_relu == doctest::Approx(0.5));  // 2 of 4 units
}

TEST_CASE("diagnostics: format_diagnostics has a line per layer, diagnostics_json a record per layer (null: no ReLU)") {
  LayerDiagnostics relu_fed{"0.weight", Shape{8, 30}, 1.5, 0.25, 2e-3, 0.125};
  LayerDiagnostics logits{"2.weight", Shape{3, 8}, 0.75, 0.5, 4e-3, std::nan("")};
  const std::string table = format_diagnostics({relu_fed, logits});
  CHECK(table.find("update/weight") != std::string::npos);
  CHECK(table.find("dead_relu") != std::string::npos);
  CHECK(table.find("0.weight") != std::string::npos);
  CHECK(table.find("2.weight") != std::string::npos);
  CHECK(table.find("12.5%") != std::string::npos);  // the dead fraction of the ReLU-fed layer
  REQUIRE(lines_of(table).size() == 3);
  CHECK(lines_of(table)[2].find(" -") != std::string::npos);  // no ReLU after the logits layer
  const nlohmann::json j = diagnostics_json({relu_fed, logits});
  REQUIRE(j.size() == 2);
  CHECK(j[0]["parameter"] == "0.weight");
  CHECK(j[0]["shape"] == nlohmann::json::array({8, 30}));
  CHECK(j[0]["weight_norm"] == 1.5);
  CHECK(j[0]["grad_norm"] == 0.25);
  CHECK(j[0]["update_ratio"] == 2e-3);
  CHECK(j[0]["dead_relu"] == 0.125);
  CHECK(j[1]["dead_relu"].is_null());
}
