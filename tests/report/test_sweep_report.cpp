// report/sweep_report: the page and metrics.csv of `xgrad sweep --report DIR`
// from plain SweepRun records — one curve per rate, the divergence marked and
// listed, the best run named, validation figures named as such.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "report/sweep_report.hpp"
#include "tests/support/files.hpp"
#include "tests/support/text_compare.hpp"

using namespace xg;
using namespace xg::testing;

namespace {

SweepRun finished_run(double lr, double final_test_loss) {
  SweepRun run;
  run.base_lr = lr;
  run.steps_per_epoch = 10;
  run.initial_loss = 2.3;
  for (std::size_t e = 1; e <= 2; ++e) {
    EpochStats s;
    s.epoch = e;
    s.train_loss = 1.0 / double(e);
    s.train_acc = 0.5;
    s.test_loss = e == 2 ? final_test_loss : 1.5;
    s.test_acc = 0.75;
    s.lr = lr;
    run.history.push_back(s);
    run.curve_x.push_back(double(e));
    run.curve_y.push_back(1.0 / double(e));
  }
  return run;
}

}  // namespace

TEST_CASE("sweep report: a curve per rate, the divergence marked with its epoch and step, the best run named, metrics.csv") {
  TempDir dir;
  std::vector<SweepRun> runs{finished_run(0.01, 0.9), finished_run(0.1, 0.5)};
  SweepRun exploded;
  exploded.base_lr = 50;
  exploded.steps_per_epoch = 10;
  exploded.initial_loss = 2.3;
  exploded.diverged = TrainingDiverged(1, 4, 50.0f, NAN, 2.0);
  runs.push_back(exploded);
  ConfusionMatrix confusion(2);
  confusion.add(0, 0);
  confusion.add(1, 1);
  SweepReport report;
  report.data_name = "toy";
  report.config = {{"data", "toy data"}};
  report.runs = &runs;
  report.best = 1;
  report.best_confusion = &confusion;
  report.class_names = {"a", "b"};
  write_sweep_report(dir.path(), report);
  const std::string html = read_file(dir.file("report.html"));
  CHECK(html.find("<title>xgrad sweep: toy, 3 learning rates</title>") != std::string::npos);
  CHECK(html.find("Best learning rate by final test loss: 0.1 (test loss 0.5000, test accuracy 0.7500).") != std::string::npos);
  CHECK(occurrences(html, "class=\"curve lr-curve\"") == 3);
  CHECK(html.find("lr 50 diverged: epoch 1, step 4") != std::string::npos);
  CHECK(html.find("diverged at epoch 1, step 4") != std::string::npos);
  CHECK(html.find("finished (best)") != std::string::npos);
  CHECK(html.find("Confusion matrix of the best run (lr 0.1)") != std::string::npos);
  const std::vector<std::string> csv = lines_of(read_file(dir.file("metrics.csv")));
  REQUIRE(csv.size() == 1 + 2 + 2 + 1);
  CHECK(csv[0] == "base_lr,epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds,diverged_step");
  CHECK(csv[5] == "50,1,,,,,50,,4");
}

TEST_CASE("sweep report: every rate diverged says so, validation runs name their figures") {
  TempDir dir;
  SweepRun exploded;
  exploded.base_lr = 1e4;
  exploded.steps_per_epoch = 5;
  exploded.initial_loss = 2.3;
  exploded.diverged = TrainingDiverged(1, 1, 1e4f, INFINITY, NAN);
  std::vector<SweepRun> runs{exploded, finished_run(0.1, 0.5)};
  runs[1].diverged = TrainingDiverged(3, 2, 0.1f, NAN, 0.4);
  SweepReport report;
  report.data_name = "toy";
  report.runs = &runs;
  report.best = -1;
  report.validation = true;
  write_sweep_report(dir.path(), report);
  const std::string html = read_file(dir.file("report.html"));
  CHECK(html.find("Every learning rate diverged.") != std::string::npos);
  CHECK(html.find("Loss on the validation set per epoch") != std::string::npos);
  CHECK(html.find("Confusion matrix") == std::string::npos);
  CHECK(lines_of(read_file(dir.file("metrics.csv")))[0] == "base_lr,epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds,diverged_step");
}

TEST_CASE("sweep report: when every run stopped within its first epoch, the loss chart counts steps, not fractions of an epoch") {
  TempDir dir;
  std::vector<SweepRun> runs;
  for (double lr : {1e3, 1e4}) {
    SweepRun r;
    r.base_lr = lr;
    r.steps_per_epoch = 938;
    r.initial_loss = 2.3;
    r.diverged = TrainingDiverged(1, lr > 2e3 ? 2 : 3, float(lr), NAN, 40.0);
    runs.push_back(r);
  }
  SweepReport report;
  report.data_name = "toy";
  report.runs = &runs;
  report.best = -1;
  write_sweep_report(dir.path(), report);
  const std::string html = read_file(dir.file("report.html"));
  CHECK(html.find("step (938 in an epoch)") != std::string::npos);
  CHECK(html.find(">0.001<") == std::string::npos);  // no tick in thousandths of an epoch
  CHECK(html.find(">0.002<") == std::string::npos);
  CHECK(html.find(">2<") != std::string::npos);  // the whole steps instead
}
