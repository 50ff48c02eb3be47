// report/train_report: the page and metrics.csv of `xgrad train --report DIR`
// from plain records — the curves, the epoch table, the gradient-flow charts,
// the confusion matrix, the configuration, a divergence, and validation
// figures named as such. (Whole pages parsed as XML: tests/report/check_report.py.)
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "report/train_report.hpp"
#include "tests/support/files.hpp"
#include "tests/support/text_compare.hpp"

using namespace xg;
using namespace xg::testing;

namespace {

std::vector<EpochStats> two_epochs(bool validation) {
  std::vector<EpochStats> history(2);
  for (std::size_t e = 0; e < 2; ++e) {
    EpochStats& s = history[e];
    s.epoch = e + 1;
    s.train_loss = 1.0 / double(e + 1);
    s.train_acc = 0.5 + 0.25 * double(e);
    s.test_loss = 1.25 / double(e + 1);
    s.test_acc = 0.625 + 0.125 * double(e);
    s.lr = 0.05;
    s.seconds = 0.5;
    s.validation = validation;
  }
  return history;
}

}  // namespace

TEST_CASE("train report: epoch_metrics_csv has one row per epoch, val_* columns with a validation set, empty non-finite cells") {
  std::vector<EpochStats> history = two_epochs(false);
  CHECK(epoch_metrics_csv(history) ==
        "epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds\n"
        "1,1,0.5,1.25,0.625,0.05,0.5\n"
        "2,0.5,0.75,0.625,0.75,0.05,0.5\n");
  history = two_epochs(true);
  history[1].test_loss = std::nan("");
  const std::vector<std::string> lines = lines_of(epoch_metrics_csv(history));
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds");
  CHECK(lines[2] == "2,0.5,0.75,,0.75,0.05,0.5");
  CHECK(epoch_metrics_csv({}) == "epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds\n");
}

TEST_CASE("train report: write_train_report writes the page with curves, table, confusion matrix and configuration, and metrics.csv") {
  TempDir dir;
  ConfusionMatrix confusion(2);
  confusion.add(0, 0);
  confusion.add(1, 0);
  confusion.add(1, 1);
  TrainReport run;
  run.data_name = "toy <data>";
  run.config = {{"data", "toy: 4 train / 3 test"}, {"seed", "7"}};
  run.history = two_epochs(false);
  run.confusion = &confusion;
  run.class_names = {"cat", "dog"};
  write_train_report(dir.file("out"), run);
  const std::string html = read_file(dir.file("out/report.html"));
  CHECK(html.find("<title>xgrad train: toy &lt;data&gt;</title>") != std::string::npos);
  CHECK(html.find("Final test accuracy 0.7500, test loss 0.6250 after 2 epochs.") != std::string::npos);
  CHECK(html.find("toy: 4 train / 3 test") != std::string::npos);
  CHECK(html.find("Loss per epoch") != std::string::npos);
  CHECK(html.find("test loss") != std::string::npos);
  CHECK(occurrences(html, "<svg") == 4);  // loss, accuracy, learning rate, confusion heatmap
  CHECK(html.find("Learning rate per epoch") != std::string::npos);
  CHECK(occurrences(html, "class=\"curve") == 2 + 2 + 1);
  CHECK(occurrences(html, "<rect class=\"cell\"") == 4);
  CHECK(html.find("Confusion matrix on the test set (after epoch 2)") != std::string::npos);
  CHECK(html.find("Gradient flow") == std::string::npos);  // no diagnostics recorded
  CHECK(read_file(dir.file("out/metrics.csv")) == epoch_metrics_csv(run.history));
}

TEST_CASE("train report: diagnostics add per-layer charts, a validation run names its figures, a divergence leads the page") {
  TempDir dir;
  TrainReport run;
  run.data_name = "toy";
  run.history = two_epochs(true);
  const LayerDiagnostics hidden{"0.weight", Shape{8, 30}, 1.0, 0.5, 1e-3, 0.25};
  const LayerDiagnostics logits{"2.weight", Shape{3, 8}, 1.0, 0.5, 2e-3, std::nan("")};
  run.diagnostics = {{hidden, logits}, {hidden, logits}};
  TrainingDiverged diverged(3, 5, 10.0f, NAN, 2.5);
  diverged.max_abs_logit = 1e4f;
  diverged.grad_norm = 123.0;
  run.diverged = &diverged;
  write_train_report(dir.path(), run);
  const std::string html = read_file(dir.file("report.html"));
  CHECK(html.find("training diverged at epoch 3, step 5") != std::string::npos);
  CHECK(html.find("Last good loss 2.5, max |logit| 10000, global gradient norm 123.") != std::string::npos);
  CHECK(html.find("training diverged at epoch 3, step 5: loss is nan at lr 10.") != std::string::npos);  // not "-nan"
  CHECK(html.find("The 2 completed epochs are shown below.") != std::string::npos);
  CHECK(html.find("Hint: try --lr 1 or lower") != std::string::npos);
  CHECK(html.find("validation loss") != std::string::npos);
  CHECK(html.find("validation accuracy") != std::string::npos);
  CHECK(html.find("Update/weight ratio per layer") != std::string::npos);
  CHECK(html.find("Gradient norm per layer") != std::string::npos);
  CHECK(html.find("Dead ReLU units per layer") != std::string::npos);
  CHECK(occurrences(html, "class=\"curve") == 2 + 2 + 1 + 2 + 2 + 1);  // loss, accuracy, lr, ratio, gradient norm; dead ReLU: 0.weight only
  CHECK(lines_of(read_file(dir.file("metrics.csv")))[0] == "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds");

  HtmlReport page("diagnostics");
  add_diagnostics_charts(page, {});
  CHECK(page.html().find("<svg") == std::string::npos);  // nothing recorded: no charts
}

TEST_CASE("train report: with a validation set the headline names the validation figures and the test accuracy of the end") {
  TempDir dir;
  ConfusionMatrix test_set(2);  // the test set's evaluation after the last epoch: 2 of 4 right
  test_set.add(0, 0);
  test_set.add(0, 1);
  test_set.add(1, 1);
  test_set.add(1, 0);
  TrainReport run;
  run.data_name = "toy";
  run.history = two_epochs(true);
  run.history[0].epoch = 3;  // a resumed run: epochs 3 and 4
  run.history[1].epoch = 4;
  run.confusion = &test_set;
  run.class_names = {"a", "b"};
  write_train_report(dir.path(), run);
  const std::string html = read_file(dir.file("report.html"));
  CHECK(html.find("Final validation accuracy 0.7500, validation loss 0.6250 after 4 epochs. Test accuracy 0.5000 (the test "
                  "set&#39;s only use).") != std::string::npos);
  CHECK(html.find("Final test accuracy") == std::string::npos);
  CHECK(html.find("Confusion matrix on the test set (after epoch 4)") != std::string::npos);
}

TEST_CASE("train report: a report directory that cannot be made is an InputError naming it") {
  TempDir dir;
  std::ofstream(dir.file("file")) << "x";
  TrainReport run;
  run.data_name = "toy";
  CHECK_THROWS_WITH_AS(write_train_report(dir.file("file/report"), run), doctest::Contains(dir.file("file/report").c_str()), InputError);
  CHECK_THROWS_WITH_AS(prepare_report_directory(dir.file("file/report")), doctest::Contains(dir.file("file/report").c_str()), InputError);
}
