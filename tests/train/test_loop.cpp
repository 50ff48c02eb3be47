// End to end: a real training run on a slice of Fashion-MNIST, and the LR schedule.
#include <doctest/doctest.h>

#include <filesystem>

#include "train/loop.hpp"
#include "layers/sequential.hpp"
#include "optim/sgd.hpp"
#include "test_support.hpp"

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

TEST_CASE("cosine schedule: full LR at epoch 1, annealed toward 0") {
  CHECK(scheduled_lr("cosine", 0.1, 1, 10) == doctest::Approx(0.1));
  CHECK(scheduled_lr("cosine", 0.1, 6, 10) == doctest::Approx(0.05));
  CHECK(scheduled_lr("cosine", 0.1, 10, 10) == doctest::Approx(0.1 * 0.5 * (1 + std::cos(M_PI * 0.9))));
  CHECK(scheduled_lr("none", 0.1, 10, 10) == doctest::Approx(0.1));
}
