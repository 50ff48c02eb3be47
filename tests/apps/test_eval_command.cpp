// `xgrad eval` (apps/eval_command): the report of a saved model (JSON and
// text), the architecture rebuilt as trained (activation, dropout, a sigmoid
// head), and exit status 2 with one line for a file that is no usable model.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "io/atomic_file.hpp"
#include "io/safetensors.hpp"
#include "tests/support/files.hpp"
#include "tests/support/hostile_checkpoints.hpp"
#include "tests/support/lying_safetensors.hpp"
#include "tests/support/run_xgrad.hpp"
#include "tests/support/toy_data.hpp"

using namespace xg;
using namespace xg::testing;

namespace {

std::string toy(const TempDir& dir) {
  write_toy_dataset(dir.path(), 300, 60, 3, 6, 5);
  return dir.path();
}

}  // namespace

TEST_CASE("eval: --json and the text report on an image model: items, top-k, confusion matrix, calibration") {
  TempDir dir;
  write_toy_dataset(dir.path(), 200, 40, 3, 6, 5);
  const std::string model = dir.file("m.safetensors");
  REQUIRE(run_xgrad("train --data " + dir.path() + " --hidden 8 --epochs 2 --quiet --threads 1 --save " + model).status == 0);
  const auto eval = run_xgrad("eval --model " + model + " --json --top-k 2");
  REQUIRE(eval.status == 0);
  const auto j = nlohmann::json::parse(eval.out);
  CHECK(j["items"] == 40);
  CHECK(j["top_k"] == 2);
  CHECK(j["top_k_accuracy"].get<double>() >= j["accuracy"].get<double>());
  CHECK(j["confusion_matrix"].size() == 3);
  CHECK(j["calibration"]["bins"].size() == 10);
  std::size_t binned = 0;
  for (const auto& b : j["calibration"]["bins"]) binned += b["count"].get<std::size_t>();
  CHECK(binned == 40);
  const auto text = run_xgrad("eval --model " + model);
  CHECK(text.status == 0);
  CHECK(text.out.find("calibration") != std::string::npos);
  CHECK(text.out.find("macro avg") != std::string::npos);
}

TEST_CASE("eval: rebuilds the architecture train used (activation, dropout, a sigmoid head)") {
  TempDir dir;
  for (const std::string flags : {"--activation tanh", "--activation leaky_relu --dropout 0.3"}) {
    INFO(flags);
    const std::string model = dir.file("m.safetensors");
    const RunResult trained = run_xgrad("train --data " + toy(dir) + " --hidden 8 --epochs 2 --quiet --threads 1 " + flags +
                                        " --save " + model + " --metrics " + dir.file("m.jsonl"));
    REQUIRE(trained.status == 0);
    const auto lines = lines_of(read_file(dir.file("m.jsonl")));
    const double trained_acc = nlohmann::json::parse(lines.back()).at("test_acc").get<double>();
    const RunResult evaluated = run_xgrad("eval --json --model " + model);
    INFO(evaluated.err);
    REQUIRE(evaluated.status == 0);
    // the same weights through the same architecture: the same accuracy
    CHECK(nlohmann::json::parse(evaluated.out).at("accuracy").get<double>() == trained_acc);
  }
  const RunResult sigmoid = run_xgrad("train --data " + toy(dir) + " --hidden 8 --epochs 2 --quiet --head sigmoid --classes-subset 0,1 --save " +
                                      dir.file("s.safetensors") + " --metrics " + dir.file("s.jsonl"));
  REQUIRE(sigmoid.status == 0);
  // A sigmoid head: eval's accuracy and loss are training's (binary cross-entropy), predict gives
  // P(class 1) = sigmoid(z) from the scores (0, z), and explain walks them through.
  const auto lines = lines_of(read_file(dir.file("s.jsonl")));
  const nlohmann::json last = nlohmann::json::parse(lines.back());
  const RunResult evaluated = run_xgrad("eval --json --model " + dir.file("s.safetensors"));
  INFO(evaluated.err);
  REQUIRE(evaluated.status == 0);
  const nlohmann::json report = nlohmann::json::parse(evaluated.out);
  CHECK(report.at("accuracy").get<double>() == last.at("test_acc").get<double>());
  CHECK(report.at("loss").get<double>() == doctest::Approx(last.at("test_loss").get<double>()).epsilon(1e-5));
  CHECK(report.at("classes").size() == 2);
  const RunResult predicted = run_xgrad("predict --json --model " + dir.file("s.safetensors") + " --index 0");
  REQUIRE(predicted.status == 0);
  const nlohmann::json item = nlohmann::json::parse(predicted.out).at("predictions").at(0);
  const double z = item.at("logits").at(1).get<double>();
  CHECK(item.at("logits").at(0).get<double>() == 0.0);
  CHECK(item.at("probabilities").at(1).get<double>() == doctest::Approx(1.0 / (1.0 + std::exp(-z))).epsilon(1e-6));
  const RunResult explained = run_xgrad("explain --model " + dir.file("s.safetensors") + " --index 0");
  REQUIRE(explained.status == 0);
  CHECK(explained.out.find("sigmoid head") != std::string::npos);
}

TEST_CASE("eval: lying safetensors headers exit 2 with one line naming the file and the tensor") {
  TempDir dir;
  for (const LyingSafetensors& c : lying_safetensors_files()) {
    CAPTURE(c.what);
    const std::string path = dir.file("bad.safetensors");
    std::ofstream(path, std::ios::binary) << c.bytes;
    const RunResult r = run_xgrad_capped("eval --model " + path);
    CHECK(r.status == 2);
    CHECK(lines_of(r.err).size() == 1);
    CHECK(r.err.find(path) != std::string::npos);
    CHECK(r.err.find(c.must_mention) != std::string::npos);
    CHECK(r.out.empty());
  }
}

TEST_CASE("eval and predict: a well-formed safetensors file that is not a usable xgrad model exits 2 naming the problem") {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  Array w = xt::zeros<float>({3, 4}), b = xt::zeros<float>({3});
  nlohmann::json info = {{"layers", {4, 3}},       {"activation", "relu"}, {"head", "softmax_cross_entropy"},
                         {"input_shape", {2, 2}},  {"mean", {0.0}},        {"std", {1.0}},
                         {"classes", {"a", "b", "c"}}, {"seed", 0},        {"version", "0.1.0"}};
  SUBCASE("no xgrad metadata") {
    write_safetensors(path, {{"0.weight", &w}, {"0.bias", &b}}, {});
    const RunResult r = run_xgrad("predict --model " + path + " --index 0");
    CHECK(r.status == 2);
    CHECK(r.err.find("xgrad") != std::string::npos);
  }
  SUBCASE("a missing tensor") {
    write_safetensors(path, {{"0.weight", &w}}, {{"xgrad", info.dump()}});
    const RunResult r = run_xgrad("eval --model " + path);
    CHECK(r.status == 2);
    CHECK(r.err.find("'0.bias'") != std::string::npos);
  }
  SUBCASE("an extra tensor") {
    write_safetensors(path, {{"0.weight", &w}, {"0.bias", &b}, {"2.weight", &w}}, {{"xgrad", info.dump()}});
    const RunResult r = run_xgrad("eval --model " + path);
    CHECK(r.status == 2);
    CHECK(r.err.find("'2.weight'") != std::string::npos);
  }
  SUBCASE("a tensor of the wrong shape names both shapes") {
    Array wrong = xt::zeros<float>({4, 3});
    write_safetensors(path, {{"0.weight", &wrong}, {"0.bias", &b}}, {{"xgrad", info.dump()}});
    const RunResult r = run_xgrad("eval --model " + path);
    CHECK(r.status == 2);
    CHECK(r.err.find("'0.weight'") != std::string::npos);
    CHECK(r.err.find("(4, 3)") != std::string::npos);
    CHECK(r.err.find("(3, 4)") != std::string::npos);
  }
  SUBCASE("a NaN weight") {
    w(1, 1) = std::nanf("");
    write_safetensors(path, {{"0.weight", &w}, {"0.bias", &b}}, {{"xgrad", info.dump()}});
    const RunResult r = run_xgrad("eval --model " + path);
    CHECK(r.status == 2);
    CHECK(r.err.find("'0.weight'") != std::string::npos);
  }
  SUBCASE("metadata naming an unknown activation, a dropout out of range, or a sigmoid head with 3 outputs") {
    const std::pair<const char*, nlohmann::json> bad[] = {
        {"activation", "swish"}, {"dropout", 1.5}, {"head", "sigmoid"}};
    for (const auto& [field, value] : bad) {
      nlohmann::json broken = info;
      broken[field] = value;
      write_safetensors(path, {{"0.weight", &w}, {"0.bias", &b}}, {{"xgrad", broken.dump()}});
      const RunResult r = run_xgrad("eval --model " + path);
      INFO(field << ": " << r.err);
      CHECK(r.status == 2);
      CHECK(lines_of(r.err).size() == 1);
      CHECK(r.err.find(field) != std::string::npos);
    }
  }
  SUBCASE("metadata whose class count does not fit the last layer") {
    info["classes"] = {"a", "b"};
    write_safetensors(path, {{"0.weight", &w}, {"0.bias", &b}}, {{"xgrad", info.dump()}});
    const RunResult r = run_xgrad("eval --model " + path);
    CHECK(r.status == 2);
    CHECK(r.err.find("classes") != std::string::npos);
  }
  CHECK(std::filesystem::exists(path));
}

// Inputs that once crashed or hung a fuzz target (fuzz/regressions/<target>/),
// replayed through the same loader: each must be refused with an InputError
// or accepted, never crash.

TEST_CASE("eval: hostile model files (deep, mistyped, lying or nonsensical metadata, sparse 6 GB) exit 2 with one line, reading no more than the header") {
  TempDir dir;
  const std::string model = dir.file("m.safetensors");
  REQUIRE(run_xgrad("train --data " + toy(dir) + " --hidden 8 --epochs 1 --quiet --threads 1 --save " + model).status == 0);
  const std::string good = read_file(model);
  for (const HostileCheckpoint& c : hostile_model_files()) {
    CAPTURE(c.what);
    write_file_atomically(model, good);
    c.corrupt(model);
    check_refused("eval --model " + model, model, c.must_mention, dir.path());
  }
}
