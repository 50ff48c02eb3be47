// Gradient-flow diagnostics: the figures are what they claim to be, a too-high
// learning rate shows in the update/weight ratio, dead ReLUs are counted, and
// `xgrad train --diagnostics` prints them and adds them to the metrics file.
#include <doctest/doctest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "train/experiment.hpp"
#include "layers/linear.hpp"
#include "losses/softmax_cross_entropy.hpp"
#include "optim/sgd.hpp"
#include "test_support.hpp"

using namespace xg;
using namespace xg::testing;

namespace {

std::vector<std::vector<LayerDiagnostics>> train_toy(const std::string& dir, double lr, std::size_t epochs) {
  TrainOptions o;
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

TEST_CASE("diagnostics: xgrad train --diagnostics prints a table and fills the metrics file") {
  TempDir dir;
  write_toy_dataset(dir.path(), 320, 40, 3, 6, 5);
  const RunResult r = run_xgrad("train --data " + dir.path() + " --hidden 8 --epochs 2 --batch 32 --quiet --diagnostics"
                                " --metrics " + dir.file("m.jsonl"));
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(r.out.find("update/weight") != std::string::npos);
  CHECK(r.out.find("dead_relu") != std::string::npos);
  const auto lines = lines_of(read_file(dir.file("m.jsonl")));
  REQUIRE(lines.size() == 2);
  for (const std::string& line : lines) {
    const auto j = nlohmann::json::parse(line);
    REQUIRE(j.contains("diagnostics"));
    REQUIRE(j["diagnostics"].size() == 2);
    CHECK(j["diagnostics"][0]["parameter"] == "0.weight");
    CHECK(j["diagnostics"][0]["update_ratio"].get<double>() > 0.0);
    CHECK(j["diagnostics"][1]["dead_relu"].is_null());
  }
  // The HTML report gets the charts.
  const RunResult report = run_xgrad("train --data " + dir.path() + " --hidden 8 --epochs 2 --quiet --diagnostics"
                                     " --report " + dir.file("report"));
  CHECK(report.status == 0);
  const std::string html = read_file(dir.file("report/report.html"));
  CHECK(html.find("Update/weight ratio per layer") != std::string::npos);
  CHECK(html.find("Dead ReLU units per layer") != std::string::npos);
  // Without the flag, no diagnostics.
  const RunResult plain = run_xgrad("train --data " + dir.path() + " --hidden 8 --epochs 1 --quiet --metrics " +
                                    dir.file("p.jsonl"));
  CHECK(plain.status == 0);
  CHECK(read_file(dir.file("p.jsonl")).find("diagnostics") == std::string::npos);
}
