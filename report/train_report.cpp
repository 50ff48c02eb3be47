#include "report/train_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "io/number_text.hpp"

namespace xg {

void add_diagnostics_charts(HtmlReport& report, const std::vector<std::vector<LayerDiagnostics>>& history) {
  if (history.empty()) return;
  report.add_heading("Gradient flow (--diagnostics)");
  report.add_paragraph(
      "Per weight matrix, the mean over each epoch's steps. An update/weight ratio near 1e-3 is healthy; "
      "1e-2 and above means the learning rate is high, 1e-4 and below that it is low. A dead ReLU unit "
      "output 0 for every training image of the epoch and no longer learns.");
  LineChart ratio("Update/weight ratio per layer", "epoch", "mean |ΔW| / |W| per step");
  LineChart grad("Gradient norm per layer", "epoch", "mean |∂loss/∂W|");
  LineChart dead("Dead ReLU units per layer", "epoch", "fraction of units");
  ratio.log_y = grad.log_y = true;
  ratio.x_integer = grad.x_integer = dead.x_integer = true;
  for (std::size_t layer = 0; layer < history.front().size(); ++layer) {
    const std::string& name = history.front()[layer].parameter;
    ChartSeries r(name), g(name), d(name);
    for (std::size_t e = 0; e < history.size(); ++e) {
      const LayerDiagnostics& l = history[e][layer];
      r.x.push_back(double(e + 1)), r.y.push_back(l.update_ratio > 0.0 ? l.update_ratio : std::nan(""));
      g.x.push_back(double(e + 1)), g.y.push_back(l.grad_norm > 0.0 ? l.grad_norm : std::nan(""));
      d.x.push_back(double(e + 1)), d.y.push_back(l.dead_relu);
    }
    ratio.series.push_back(r);
    grad.series.push_back(g);
    if (!std::isnan(history.front()[layer].dead_relu)) dead.series.push_back(d);
  }
  report.add_chart(ratio);
  report.add_chart(grad);
  if (!dead.series.empty()) report.add_chart(dead);
}

std::string epoch_metrics_csv(const std::vector<EpochStats>& history) {
  const std::string held = !history.empty() && history.front().validation ? "val" : "test";
  std::string csv = "epoch,train_loss,train_acc," + held + "_loss," + held + "_acc,lr,seconds\n";
  for (const EpochStats& s : history)
    csv += std::to_string(s.epoch) + "," + csv_number(s.train_loss) + "," + csv_number(s.train_acc) + "," +
           csv_number(s.test_loss) + "," + csv_number(s.test_acc) + "," + csv_number(s.lr) + "," + csv_number(s.seconds) + "\n";
  return csv;
}

void write_train_report(const std::string& dir, const TrainReport& run) {
  const std::vector<EpochStats>& history = run.history;
  const TrainingDiverged* diverged = run.diverged;
  HtmlReport report("xgrad train: " + run.data_name);
  if (diverged) {
    const std::size_t done = history.size();
    report.add_paragraph(std::string(diverged->what()) + ".", "warning");
    report.add_paragraph(done == 0 ? "No epoch completed before it, so there are no learning curves to show."
                                   : "The " + std::to_string(done) + " completed epoch" + (done == 1 ? " is" : "s are") +
                                         " shown below.");
    report.add_paragraph("Last good loss " + format_number(diverged->last_good_loss) + ", max |logit| " +
                         format_number(diverged->max_abs_logit) + ", global gradient norm " +
                         format_number(diverged->grad_norm) + ".");
    report.add_paragraph("Hint: " + divergence_hint(*diverged) + ".");
  } else if (!run.interrupted.empty()) {
    report.add_paragraph("The run was " + run.interrupted + (history.empty() ? ", before any epoch had finished."
                                                                             : "; the epochs that finished are shown below."),
                         "warning");
  } else if (!history.empty()) {
    // With --val-split the per-epoch figures are the validation set's, and the
    // test set is used once, at the end (the confusion matrix's).
    const EpochStats& last = history.back();
    const std::string held = last.validation ? "validation" : "test";
    std::string text = "Final " + held + " accuracy " + format_fixed(last.test_acc, 4) + ", " + held + " loss " +
                       format_fixed(last.test_loss, 4) + " after " + std::to_string(last.epoch) + " epochs.";
    if (last.validation && run.confusion)
      text += " Test accuracy " + format_fixed(run.confusion->accuracy(), 4) + " (the test set's only use).";
    report.add_paragraph(text);
  }
  report.add_heading("Configuration");
  report.add_config(run.config);
  if (!history.empty()) {
    // With --val-split the per-epoch held-out figures are the validation set's.
    const std::string held = history.front().validation ? "validation" : "test";
    ChartSeries train_loss("train loss", 0), test_loss(held + " loss", 1), train_acc("train accuracy", 0),
        test_acc(held + " accuracy", 1);
    test_loss.dashed = test_acc.dashed = true;
    for (const EpochStats& s : history) {
      train_loss.x.push_back(double(s.epoch)), train_loss.y.push_back(s.train_loss);
      test_loss.x.push_back(double(s.epoch)), test_loss.y.push_back(s.test_loss);
      train_acc.x.push_back(double(s.epoch)), train_acc.y.push_back(s.train_acc);
      test_acc.x.push_back(double(s.epoch)), test_acc.y.push_back(s.test_acc);
    }
    report.add_heading("Learning curves");
    LineChart loss("Loss per epoch", "epoch", "mean cross-entropy loss");
    loss.series = {train_loss, test_loss};
    loss.x_integer = true;
    report.add_chart(loss);
    LineChart acc("Accuracy per epoch (train: the predictions made while training)", "epoch", "accuracy");
    acc.series = {train_acc, test_acc};
    acc.x_integer = true;
    report.add_chart(acc);
    // The rate each epoch trained with (--schedule, --warmup-epochs), on a log
    // axis when it spans more than a factor of 10.
    ChartSeries rate("learning rate", 2);
    double lowest = 0.0, highest = 0.0;
    for (const EpochStats& s : history) {
      rate.x.push_back(double(s.epoch)), rate.y.push_back(s.lr);
      lowest = rate.y.size() == 1 ? s.lr : std::min(lowest, s.lr);
      highest = std::max(highest, s.lr);
    }
    LineChart lr("Learning rate per epoch", "epoch", "learning rate");
    lr.series = {rate};
    lr.x_integer = true;
    lr.log_y = lowest > 0.0 && highest > 10.0 * lowest;
    report.add_chart(lr);
    std::vector<std::vector<std::string>> rows;
    for (const EpochStats& s : history)
      rows.push_back({"\x01" + std::to_string(s.epoch), "\x01" + format_fixed(s.train_loss, 4),
                      "\x01" + format_fixed(s.train_acc, 4), "\x01" + format_fixed(s.test_loss, 4), "\x01" + format_fixed(s.test_acc, 4),
                      "\x01" + format_fixed(s.lr, 5), "\x01" + format_fixed(s.seconds, 2)});
    report.add_table({"epoch", "train loss", "train accuracy", held + " loss", held + " accuracy", "lr", "seconds"}, rows);
    add_diagnostics_charts(report, run.diagnostics);
    report.add_heading("Confusion matrix on the test set (after epoch " + std::to_string(history.back().epoch) + ")");
    if (run.confusion) report.add_confusion_matrix(*run.confusion, run.class_names);
  }
  write_report(dir, report, epoch_metrics_csv(history));
}

}  // namespace xg
