// train/experiment: one run built from a TrainConfig — results independent of
// the thread count, the validation split, early stopping and the schedule
// replayed from the monitored losses, the batch that gradcheck and graph
// inspect, and the summary a report shows.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>


#include "core/error.hpp"
#include "train/build.hpp"
#include "train/experiment.hpp"
#include "tests/support/files.hpp"
#include "tests/support/toy_data.hpp"
#include "tests/support/threads.hpp"

using namespace xg;
using namespace xg::testing;

namespace {

TrainConfig toy_config(const TempDir& dir) {
  write_toy_dataset(dir.path(), 200, 40, 3, 4, 4);
  TrainConfig o;
  o.data = dir.path();
  o.hidden = "8";
  o.epochs = 6;
  o.batch = 32;
  return o;
}

}  // namespace

TEST_CASE("per-epoch losses are bit-identical with 1 and 2 threads") {
  TempDir dir;
  write_toy_dataset(dir.path(), 2048, 512, 10, 28, 28);
  TrainConfig o;
  o.data = dir.path();
  o.hidden = "256,128";
  o.epochs = 2;
  o.batch = 256;  // large enough that the GEMM runs on both threads
  o.lr = 0.05;
  const auto data = load_training_data(o);
  auto run = [&](int threads) {
    const xg::testing::ScopedThreads scope(threads);
    Experiment e(o, data);
    std::vector<double> losses;
    for (std::size_t epoch = 1; epoch <= o.epochs; ++epoch) {
      const EpochStats s = e.run_epoch(epoch);
      losses.push_back(s.train_loss);
      losses.push_back(s.test_loss);
    }
    return losses;
  };
  const std::vector<double> one = run(1), two = run(2);
  REQUIRE(one.size() == two.size());
  for (std::size_t i = 0; i < one.size(); ++i) CHECK(one[i] == two[i]);  // exact, not approximate
}

TEST_CASE("experiment: --val-split holds out part of the training set, run_epoch evaluates it, evaluate_test the test set") {
  TempDir dir;
  TrainConfig o = toy_config(dir);
  o.val_split = 0.25;
  Experiment run(o, load_training_data(o));
  REQUIRE(run.has_validation());
  CHECK(run.steps_per_epoch() == 5);  // 150 training items left, batches of 32
  const EpochStats s = run.run_epoch(1);
  CHECK(s.validation);
  CHECK(run.last_evaluation().confusion.total() == 50);
  CHECK(s.test_acc == run.last_evaluation().accuracy());
  CHECK(run.evaluate_test().confusion.total() == 40);
  CHECK(run.last_evaluation().confusion.total() == 40);

  TrainConfig plain = toy_config(dir);
  Experiment without(plain, load_training_data(plain));
  CHECK_FALSE(without.has_validation());
  CHECK_FALSE(without.run_epoch(1).validation);
  CHECK(without.last_evaluation().confusion.total() == 40);
}

TEST_CASE("experiment: early stopping counts the epochs since the lowest monitored loss, replayed by restore_history") {
  TempDir dir;
  TrainConfig o = toy_config(dir);
  o.early_stop = 2;
  const auto data = load_training_data(o);
  Experiment a(o, data);
  a.restore_history({1.0, 0.9, 0.95});
  CHECK_FALSE(a.should_stop());  // one epoch since the best
  Experiment b(o, data);
  b.restore_history({1.0, 0.9, 0.95, 0.97});
  CHECK(b.should_stop());  // two
  Experiment c(o, data);
  c.restore_history({1.0, 0.9, 0.95, 0.8});
  CHECK_FALSE(c.should_stop());  // a new best resets the count
  o.early_stop = 0;
  Experiment off(o, data);
  off.restore_history({1.0, 2.0, 3.0, 4.0});
  CHECK_FALSE(off.should_stop());
}

TEST_CASE("experiment: a plateau schedule continues from the replayed losses") {
  TempDir dir;
  TrainConfig o = toy_config(dir);
  o.lr = 0.5;
  o.schedule = "plateau";
  o.plateau_patience = 0;
  const std::vector<double> losses{1.0, 1.1};
  auto expected = build_schedule(o);
  for (double loss : losses) expected->step(loss);
  REQUIRE(expected->lr() < 0.5);  // the second, worse loss cut the rate
  Experiment run(o, load_training_data(o));
  run.restore_history(losses);
  CHECK(run.run_epoch(3).lr == expected->lr());
}

TEST_CASE("experiment: a bad config is refused on construction, naming the flag") {
  TempDir dir;
  TrainConfig o = toy_config(dir);
  const auto data = load_training_data(o);
  o.lr = 0.0;
  CHECK_THROWS_WITH_AS(Experiment(o, data), doctest::Contains("--lr"), InputError);
  o = toy_config(dir);
  o.head = "sigmoid";  // the toy data has 3 classes
  CHECK_THROWS_WITH_AS(Experiment(o, data), doctest::Contains("--head sigmoid"), InputError);
}

TEST_CASE("first_training_batch: the config's model and its first `batch` training items in file order, normalised") {
  TempDir dir;
  TrainConfig o = toy_config(dir);
  o.batch = 5;
  o.seed = 3;
  const InspectedBatch inspected = first_training_batch(o);
  const Dataset& data = inspected.run->data();
  REQUIRE(inspected.x.shape() == std::vector<std::size_t>{5, 16});
  CHECK(inspected.y == std::vector<std::uint32_t>(data.train.labels.begin(), data.train.labels.begin() + 5));
  const Normalization& norm = inspected.run->normalization();
  for (std::size_t i = 0; i < 5 * 16; ++i)
    CHECK(inspected.x.data()[i] == doctest::Approx((data.train.pixels[i] / 255.0 - norm.mean[0]) / norm.std[0]).epsilon(1e-5));
  // The model is the one `xgrad train --seed 3` starts from.
  Experiment same(o, load_training_data(o));
  const auto a = inspected.run->model().named_parameters(), b = same.model().named_parameters();
  REQUIRE(a.size() == 4);
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i].second.value() == b[i].second.value());
}

TEST_CASE("experiment: summary_items are the data, model and train lines, then seed, threads and limits") {
  TempDir dir;
  TrainConfig o = toy_config(dir);
  o.train_limit = 100;
  o.seed = 9;
  Experiment run(o, load_training_data(o));
  const auto items = run.summary_items();
  REQUIRE(items.size() == 6);
  CHECK(items[0].first == "data");
  CHECK(items[0].second.find("100 train / 40 test images of 4x4, 3 classes") != std::string::npos);
  CHECK(items[1].first == "model");
  CHECK(items[1].second.find("Linear(16 -> 8)") != std::string::npos);
  CHECK(items[2].first == "train");
  CHECK(items[2].second.find("SGD lr 0.05 momentum 0.9") != std::string::npos);
  CHECK(items[3] == std::pair<std::string, std::string>{"seed", "9"});
  CHECK(items[4] == std::pair<std::string, std::string>{"threads", "all cores"});
  CHECK(items[5] == std::pair<std::string, std::string>{"train limit", "100"});
}
