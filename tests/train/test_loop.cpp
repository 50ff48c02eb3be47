// train/loop: a real training run on a slice of Fashion-MNIST (label "long"),
// divergence stops at the first non-finite loss, train_epoch's accuracy, the
// metrics line of an epoch and the class scores of a sigmoid head; a pending
// SIGINT/SIGTERM request stops train_epoch before its next step.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include <nlohmann/json.hpp>

#include "train/interrupt.hpp"
#include "train/loop.hpp"
#include "layers/architecture.hpp"
#include "layers/sequential.hpp"
#include "losses/softmax_cross_entropy.hpp"
#include "optim/sgd.hpp"
#include "tests/support/files.hpp"
#include "tests/support/toy_data.hpp"

using namespace xg;

TEST_CASE("training on 6,000 Fashion-MNIST images for 2 epochs reaches 0.75 test accuracy") {
  INFO("Fashion-MNIST comes from the Debian package dataset-fashion-mnist (the README's test command installs it)");
  REQUIRE(std::filesystem::exists(testing::kFashionDir));
  Dataset data = load_image_dataset("fashion-mnist");
  truncate(data.train, 6000);
  const Normalization norm = compute_normalization(data.train);
  Rng rng(0);
  auto model = make_mlp({784, 256, 128, 10}, rng);
  SGD sgd(model->parameters(), 0.05f, 0.9f);
  DataLoader loader(data.train, 64, true, 0, norm);
  double first_loss = 0.0, last_loss = 0.0;
  for (std::size_t epoch = 1; epoch <= 2; ++epoch) {
    loader.start_epoch(epoch);
    const TrainResult trained = train_epoch(*model, sgd, loader, epoch);
    (epoch == 1 ? first_loss : last_loss) = trained.loss;
    CHECK(trained.accuracy > (epoch == 1 ? 0.5 : 0.75));
  }
  const Evaluation eval = evaluate(*model, data.test, norm, data.num_classes());
  MESSAGE("train loss " << first_loss << " -> " << last_loss << ", test loss " << eval.loss << ", test accuracy "
                        << eval.accuracy());
  CHECK(last_loss < first_loss);
  CHECK(eval.confusion.total() == 10000);
  CHECK(eval.accuracy() >= 0.75);
}

TEST_CASE("a diverging run stops at the first non-finite loss") {
  testing::TempDir dir;
  testing::write_toy_dataset(dir.path(), 256, 64, 3, 4, 4);
  Dataset data = load_image_dataset(dir.path());
  Rng rng(0);
  auto model = make_mlp({16, 8, 3}, rng);
  SGD sgd(model->parameters(), 1e6f, 0.9f);
  DataLoader loader(data.train, 32, true, 0, compute_normalization(data.train));
  loader.start_epoch(1);
  try {
    for (std::size_t epoch = 1; epoch <= 5; ++epoch) train_epoch(*model, sgd, loader, epoch);
    FAIL("no divergence detected");
  } catch (const TrainingDiverged& e) {
    CHECK(e.step >= 1);
    CHECK(e.lr == 1e6f);
  }
}

TEST_CASE("train_epoch stops before its next step once a signal asked to stop, leaving the weights of the last step") {
  testing::TempDir dir;
  testing::write_toy_dataset(dir.path(), 256, 64, 3, 4, 4);
  Dataset data = load_image_dataset(dir.path());
  Rng rng(0);
  auto model = make_mlp({16, 8, 3}, rng);
  SGD sgd(model->parameters(), 0.1f, 0.9f);
  DataLoader loader(data.train, 32, true, 0, compute_normalization(data.train));
  loader.start_epoch(1);
  std::vector<Array> before;
  for (const Tensor& p : model->parameters()) before.push_back(p.value());
  std::size_t steps_seen = 0;
  ProgressFn progress = [&](std::size_t step, std::size_t, double) { steps_seen = step; };
  struct AfterThree : StepObserver {  // the signal arrives during step 3
    std::size_t steps = 0;
    void after_backward(const Tensor&) override {}
    void after_step() override {
      if (++steps == 3) request_interrupt(SIGINT);
    }
  } observer;
  try {
    train_epoch(*model, sgd, loader, 2, progress, nullptr, &observer);
    FAIL("expected Interrupted");
  } catch (const Interrupted& e) {
    CHECK(e.signal == SIGINT);
    CHECK(e.epoch == 2);
    CHECK(e.step == 3);  // three whole steps, then it stopped
    CHECK(e.steps == 8);
  }
  clear_interrupt();
  CHECK(observer.steps == 3);
  const std::vector<Tensor> after = model->parameters();
  CHECK_FALSE(std::equal(before[0].begin(), before[0].end(), after[0].value().begin()));  // the steps taken count
}

TEST_CASE("train_epoch's accuracy counts the predictions of each step: with lr 0 it is the evaluation's") {
  testing::TempDir dir;
  testing::write_toy_dataset(dir.path(), 200, 10, 3, 4, 4);
  Dataset data = load_image_dataset(dir.path());
  Rng rng(2);
  auto model = make_mlp({16, 3}, rng);  // untrained: some right, some wrong
  SGD frozen(model->parameters(), 0.0f, 0.0f);
  const Normalization norm = compute_normalization(data.train);
  DataLoader loader(data.train, 32, true, 0, norm);
  loader.start_epoch(1);
  const TrainResult trained = train_epoch(*model, frozen, loader, 1);
  const Evaluation evaluated = evaluate(*model, data.train, norm, data.num_classes());
  CHECK(trained.accuracy == evaluated.accuracy());
  CHECK(trained.loss == doctest::Approx(evaluated.loss).epsilon(1e-5));
  CHECK(trained.accuracy > 0.0);
  CHECK(trained.accuracy < 1.0);
}

TEST_CASE("evaluation_batch: 1000 items, fewer when one item's largest activation is large, with the same results") {
  testing::TempDir dir;
  testing::write_toy_dataset(dir.path(), 64, 700, 3, 28, 28);
  Dataset data = load_image_dataset(dir.path());
  Rng rng(3);
  auto mlp = make_mlp({784, 256, 3}, rng);
  CHECK(evaluation_batch(*mlp, data.test) == 1000);
  // conv16k3p1's output is 16 x 28 x 28 = 12,544 values an item: 2^22 / 12,544 = 334 items
  auto cnn = make_network(parse_architecture("cnn", "--arch"), {1, 28, 28}, 3, rng, "--arch");
  CHECK(evaluation_batch(*cnn, data.test) == 334);
  auto wide = make_network(parse_architecture("conv512k3p1,flatten,fc", "--arch"), {1, 28, 28}, 3, rng, "--arch");
  CHECK(evaluation_batch(*wide, data.test) == 64);  // never fewer than 64
  // 700 test images: 3 batches of 334, 334 and 32 give what one batch of all 700 would
  const Normalization norm = compute_normalization(data.train);
  const Evaluation batched = evaluate(*cnn, data.test, norm, data.num_classes());
  NoGradGuard no_grad;
  cnn->eval();
  Array x;
  std::vector<std::uint32_t> y;
  DataLoader all(data.test, 700, false, 0, norm);
  all.start_epoch(1);
  all.batch(0, x, y);
  const Tensor logits = (*cnn)(Tensor(x));
  ConfusionMatrix whole(data.num_classes());
  whole.add_batch(logits.data(), 700, data.num_classes(), y.data());
  for (std::size_t t = 0; t < 3; ++t)
    for (std::size_t p = 0; p < 3; ++p) CHECK(batched.confusion.count(t, p) == whole.count(t, p));
  CHECK(batched.loss == doctest::Approx(double(softmax_cross_entropy(logits, y).item())).epsilon(1e-6));
}

TEST_CASE("epoch_json: the metrics line of an epoch, val_* in place of test_* with a validation set") {
  EpochStats s;
  s.epoch = 3;
  s.train_loss = 0.5;
  s.train_acc = 0.8;
  s.test_loss = 0.625;
  s.test_acc = 0.75;
  s.lr = 0.01;
  s.seconds = 1.5;
  s.threads = 2;
  const nlohmann::json expected = {{"epoch", 3},     {"train_loss", 0.5}, {"train_acc", 0.8}, {"test_loss", 0.625},
                                   {"test_acc", 0.75}, {"lr", 0.01},       {"seconds", 1.5},  {"threads", 2}};
  CHECK(epoch_json(s) == expected);
  s.validation = true;
  const nlohmann::json j = epoch_json(s);
  CHECK(j.at("val_loss") == 0.625);
  CHECK(j.at("val_acc") == 0.75);
  CHECK(j.at("train_acc") == 0.8);
  CHECK_FALSE(j.contains("test_loss"));
  CHECK_FALSE(j.contains("test_acc"));
}

TEST_CASE("epoch_from_json reads back what epoch_json wrote, validation included, and missing fields stay 0") {
  EpochStats s;
  s.epoch = 4;
  s.train_loss = 0.375;
  s.train_acc = 0.875;
  s.test_loss = 0.5;
  s.test_acc = 0.8125;
  s.lr = 0.025;
  s.seconds = 2.5;
  s.threads = 1;
  for (const bool validation : {false, true}) {
    CAPTURE(validation);
    s.validation = validation;
    const EpochStats back = epoch_from_json(epoch_json(s));
    CHECK(back.epoch == 4);
    CHECK(back.train_loss == s.train_loss);
    CHECK(back.train_acc == s.train_acc);
    CHECK(back.test_loss == s.test_loss);
    CHECK(back.test_acc == s.test_acc);
    CHECK(back.lr == s.lr);
    CHECK(back.seconds == s.seconds);
    CHECK(back.threads == 1);
    CHECK(back.validation == validation);
    CHECK(epoch_json(back) == epoch_json(s));
  }
  const EpochStats partial = epoch_from_json({{"epoch", 2}, {"train_loss", 1.5}});
  CHECK(partial.epoch == 2);
  CHECK(partial.train_loss == 1.5);
  CHECK(partial.test_loss == 0.0);
  CHECK(partial.threads == 0);
  CHECK_FALSE(partial.validation);
  // A NaN loss is written as null and read back as NaN (a gap in a resumed run's charts), not as 0.
  const EpochStats diverged = epoch_from_json({{"epoch", 3}, {"test_loss", nullptr}, {"test_acc", 0.1}});
  CHECK(std::isnan(diverged.test_loss));
  CHECK(diverged.test_acc == 0.1);
}

TEST_CASE("class_scores: the logits themselves, or (0, z) for a sigmoid head, whose softmax is (1 - σ(z), σ(z))") {
  const Tensor logits(Array{{1.0f, -2.0f, 0.5f}, {0.0f, 3.0f, -1.0f}});
  CHECK(class_scores(logits, false) == logits.value());
  Array column = xt::zeros<float>({std::size_t(3), std::size_t(1)});  // one output z per row
  column(0, 0) = 2.0f;
  column(1, 0) = -0.5f;
  const Tensor z(column);
  const Array scores = class_scores(z, true);
  REQUIRE(scores.shape() == std::vector<std::size_t>{3, 2});
  for (std::size_t r = 0; r < 3; ++r) {
    CHECK(scores(r, 0) == 0.0f);
    CHECK(scores(r, 1) == z.value()(r, 0));
    const double p1 = std::exp(double(scores(r, 1))) / (1.0 + std::exp(double(scores(r, 1))));
    CHECK(p1 == doctest::Approx(1.0 / (1.0 + std::exp(-double(z.value()(r, 0))))));
  }
}

namespace {

// An optimizer whose update overflows the first weight at step `bad_step`, gradients and loss being finite:
// w = FLT_MAX, g = -1e38, so w - 0.01 g = FLT_MAX + 1e36 rounds to infinity.
struct OverflowingSGD : SGD {
  OverflowingSGD(std::vector<Tensor> parameters, std::size_t bad_step) : SGD(std::move(parameters), 0.01f, 0.0f), bad(bad_step) {}
  // This overflow goes through the stored gradient, so the update stays in step().
  bool begin_update_in_backward() override { return false; }
  void step() override {
    if (++steps == bad) {
      parameters_[0].data()[0] = std::numeric_limits<float>::max();
      parameters_[0].grad().data()[0] = -1e38f;
    }
    SGD::step();
  }
  std::size_t bad, steps = 0;
};

}  // namespace

// SGD (no momentum) that updates the weights inside the backward pass (as train_epoch
// asks it to when nothing reads the gradients), with the first weight made inf
// just before the backward pass of step `bad_step`: its new value, written by
// the weight-gradient GEMM, is then inf too.
struct InfBeforeBackwardSGD : SGD {
  InfBeforeBackwardSGD(std::vector<Tensor> parameters, std::size_t bad_step) : SGD(std::move(parameters), 0.01f, 0.0f), bad(bad_step) {}
  bool begin_update_in_backward() override {
    const bool asked = SGD::begin_update_in_backward();
    if (++steps == bad) parameters_[0].data()[5] = std::numeric_limits<float>::infinity();
    asked_every_step = asked_every_step && asked;
    return asked;
  }
  std::size_t bad, steps = 0;
  bool asked_every_step = true;
};

// Records nothing: its presence alone makes train_epoch store the gradients.
struct WatchingObserver : StepObserver {
  void after_backward(const Tensor&) override {}
  void after_step() override {}
};

// Makes one gradient non-finite after the backward pass of step `bad_step`, the
// loss being finite: what an overflow inside the backward pass leaves.
struct PoisonGradient : StepObserver {
  PoisonGradient(Tensor p, std::size_t bad_step, float value) : parameter(std::move(p)), bad(bad_step), poison(value) {}
  void after_backward(const Tensor&) override {
    if (++steps == bad) parameter.grad().data()[parameter.size() / 2] = poison;
  }
  void after_step() override {}
  Tensor parameter;
  std::size_t bad, steps = 0;
  float poison;
};

TEST_CASE("a non-finite gradient with a finite loss stops training at that step and is named as a gradient") {
  testing::TempDir dir;
  testing::write_toy_dataset(dir.path(), 64, 16, 3, 4, 4);
  Dataset data = load_image_dataset(dir.path());
  for (const float poison : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    for (std::size_t bad_step : {1, 2}) {
      CAPTURE(poison);
      CAPTURE(bad_step);
      Rng rng(0);
      auto model = make_mlp({16, 8, 3}, rng);
      SGD sgd(model->parameters(), 0.1f, 0.0f);
      PoisonGradient observer(model->parameters()[2], bad_step, poison);  // the second layer's weight
      DataLoader loader(data.train, 32, true, 0, compute_normalization(data.train));
      loader.start_epoch(1);
      try {
        train_epoch(*model, sgd, loader, 1, {}, nullptr, &observer);
        FAIL("no divergence detected");
      } catch (const TrainingDiverged& e) {
        CHECK(e.step == bad_step);
        CHECK(std::string(e.what()).find("a gradient is not finite") != std::string::npos);
        CHECK_FALSE(std::isfinite(e.grad_norm));  // the forensics see the gradient the step was given
      }
    }
  }
}

TEST_CASE("SGD updating the weights inside the backward pass gives the same bits as its step from stored gradients") {
  testing::TempDir dir;
  testing::write_toy_dataset(dir.path(), 96, 16, 3, 4, 4);
  Dataset data = load_image_dataset(dir.path());
  // Without an observer train_epoch lets SGD update inside the backward
  // pass; with one (which may read the gradients) the gradients are stored and
  // step() applies them. Both must give the same weights and losses, to the bit.
  auto run = [&](bool observed, const SGDOptions& options, std::vector<float>& losses) {
    Rng rng(3);
    auto model = make_mlp({16, 12, 8, 3}, rng);
    SGD sgd(model->parameters(), 0.2f, options);
    DataLoader loader(data.train, 32, true, 0, compute_normalization(data.train));
    WatchingObserver observer;
    for (std::size_t epoch = 1; epoch <= 3; ++epoch) {
      loader.start_epoch(epoch);
      losses.push_back(float(train_epoch(*model, sgd, loader, epoch, {}, nullptr, observed ? &observer : nullptr).loss));
    }
    std::vector<float> weights;
    for (const Tensor& p : model->parameters()) weights.insert(weights.end(), p.data(), p.data() + p.size());
    for (const Array& v : sgd.velocities()) weights.insert(weights.end(), v.data(), v.data() + v.size());
    return weights;
  };
  // Plain, momentum, Nesterov with weight decay, dampening with weight decay.
  for (const SGDOptions& options : {SGDOptions{}, SGDOptions{0.9f, 0.0f, false, 0.0f}, SGDOptions{0.9f, 0.0f, true, 1e-3f},
                                    SGDOptions{0.5f, 0.2f, false, 1e-2f}}) {
    CAPTURE(options.momentum);
    CAPTURE(options.nesterov);
    std::vector<float> losses_fused, losses_stored;
    const std::vector<float> fused = run(false, options, losses_fused), stored = run(true, options, losses_stored);
    REQUIRE(fused.size() == stored.size());
    CHECK(std::memcmp(fused.data(), stored.data(), fused.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(losses_fused.data(), losses_stored.data(), losses_fused.size() * sizeof(float)) == 0);
    CHECK(losses_fused.back() < losses_fused.front());  // it trains
  }
  // And the fused run did update inside the backward pass: the weights' gradients
  // were never stored (they read as zeros), while the biases' were.
  Rng rng(3);
  auto model = make_mlp({16, 12, 8, 3}, rng);
  SGD sgd(model->parameters(), 0.2f, 0.0f);
  DataLoader loader(data.train, 32, true, 0, compute_normalization(data.train));
  loader.start_epoch(1);
  train_epoch(*model, sgd, loader, 1);
  const auto& params = model->parameters();
  CHECK(sum_of_squares(params[0].grad().data(), params[0].size()) == 0.0);  // 0.weight
  CHECK(sum_of_squares(params[1].grad().data(), params[1].size()) > 0.0);   // 0.bias
}

TEST_CASE("an update that makes a weight non-finite stops training at that step, even at an epoch's last step") {
  testing::TempDir dir;
  testing::write_toy_dataset(dir.path(), 64, 16, 3, 4, 4);
  Dataset data = load_image_dataset(dir.path());
  // The update made by step() from the stored gradients, and inside the backward pass.
  for (const bool in_backward : {false, true}) {
    for (std::size_t bad_step : {1, 2}) {  // the loader has 2 batches: 2 is the epoch's last, which no loss would reveal
      CAPTURE(in_backward);
      CAPTURE(bad_step);
      Rng rng(0);
      auto model = make_mlp({16, 8, 3}, rng);
      OverflowingSGD overflowing(model->parameters(), bad_step);
      InfBeforeBackwardSGD inf_before_backward(model->parameters(), bad_step);
      SGD& sgd = in_backward ? static_cast<SGD&>(inf_before_backward) : overflowing;
      DataLoader loader(data.train, 32, true, 0, compute_normalization(data.train));
      loader.start_epoch(1);
      REQUIRE(loader.num_batches() == 2);
      try {
        train_epoch(*model, sgd, loader, 1);
        FAIL("no divergence detected");
      } catch (const TrainingDiverged& e) {
        CHECK(e.step == bad_step);
        CHECK(std::string(e.what()).find("weight is not finite") != std::string::npos);
        CHECK(e.gradients_kept == !in_backward);
        if (in_backward) {
          CHECK(inf_before_backward.asked_every_step);
          CHECK(format_divergence(e).find("gradient norm     not kept") != std::string::npos);
        }
      }
    }
  }
}
