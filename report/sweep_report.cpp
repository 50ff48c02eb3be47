#include "report/sweep_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "io/number_text.hpp"
#include "report/html.hpp"

namespace xg {
namespace {
std::string lr_text(double lr) { return format_number(lr, 3); }

// The headline: the best learning rate and its final held-out figures, or that every rate diverged.
void add_best_run_summary(HtmlReport& report, const SweepReport& sweep, const std::string& held) {
  const std::vector<SweepRun>& runs = *sweep.runs;
  const int best = sweep.best;
  if (best >= 0) {
    const EpochStats& s = runs[std::size_t(best)].history.back();
    report.add_paragraph("Best learning rate by final " + held + " loss: " + lr_text(runs[std::size_t(best)].base_lr) + " (" +
                         held + " loss " + format_fixed(s.test_loss, 4) + ", " + held + " accuracy " + format_fixed(s.test_acc, 4) + ").");
  } else {
    report.add_paragraph("Every learning rate diverged.", "warning");
  }
}

// Training loss per 20-step window (divergences marked), held-out loss and accuracy per epoch: one curve per run.
void add_loss_charts(HtmlReport& report, const SweepReport& sweep, const std::string& held) {
  const std::vector<SweepRun>& runs = *sweep.runs;
  LineChart steps{"Training loss (mean over 20-step windows)", "epoch", "training loss"};
  LineChart test_loss{"Loss on the " + held + " set per epoch", "epoch", held + " loss"};
  LineChart test_acc{"Accuracy on the " + held + " set per epoch", "epoch", held + " accuracy"};
  test_loss.x_integer = test_acc.x_integer = true;
  double top = 0.0;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const SweepRun& r = runs[i];
    const std::string label = "lr " + lr_text(r.base_lr) + (r.diverged ? " (diverged)" : "");
    ChartSeries curve(label, int(i));
    curve.css_class = "lr-curve", curve.dots = false;
    curve.x = {0.0}, curve.y = {r.initial_loss};
    curve.x.insert(curve.x.end(), r.curve_x.begin(), r.curve_x.end());
    curve.y.insert(curve.y.end(), r.curve_y.begin(), r.curve_y.end());
    if (std::isfinite(r.initial_loss)) top = std::max(top, r.initial_loss);
    ChartSeries tl(label, int(i)), ta(label, int(i));
    for (const EpochStats& s : r.history) {
      tl.x.push_back(double(s.epoch)), tl.y.push_back(s.test_loss);
      ta.x.push_back(double(s.epoch)), ta.y.push_back(s.test_acc);
    }
    if (r.diverged) {
      const double x = double(r.diverged->epoch - 1) +
                       double(r.diverged->step) / double(r.steps_per_epoch);
      const double y = std::isfinite(r.diverged->loss) ? double(r.diverged->loss) : INFINITY;
      curve.x.push_back(x), curve.y.push_back(std::isfinite(y) ? y : 1e30);
      steps.marks.push_back({x, std::isfinite(y) ? y : 1e30,
                             "lr " + lr_text(r.base_lr) + " diverged: epoch " + std::to_string(r.diverged->epoch) +
                                 ", step " + std::to_string(r.diverged->step),
                             int(i)});
    }
    steps.series.push_back(curve);
    test_loss.series.push_back(tl);
    test_acc.series.push_back(ta);
  }
  steps.y_top = top > 0 ? 1.5 * top : NAN;  // diverging curves leave through the top edge
  // Every run stopped within its first epoch: an axis in fractions of an epoch
  // would read 0.001, 0.002, …; count steps instead.
  double last_x = 0.0;
  for (const ChartSeries& curve : steps.series)
    for (double x : curve.x) last_x = std::max(last_x, x);
  const std::size_t steps_per_epoch = runs.empty() ? 0 : runs.front().steps_per_epoch;
  if (last_x < 1.0 && steps_per_epoch > 0) {
    steps.x_label = "step (" + std::to_string(steps_per_epoch) + " in an epoch)";
    steps.x_integer = true;
    for (ChartSeries& curve : steps.series)
      for (double& x : curve.x) x = std::round(x * double(steps_per_epoch));
    for (auto& mark : steps.marks) mark.x = std::round(mark.x * double(steps_per_epoch));
  }
  report.add_heading("Loss curves");
  report.add_chart(steps);
  report.add_chart(test_loss);
  report.add_chart(test_acc);
}

// One row per run: its last completed epoch's figures and how it ended.
void add_run_table(HtmlReport& report, const SweepReport& sweep, const std::string& held) {
  const std::vector<SweepRun>& runs = *sweep.runs;
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const SweepRun& r = runs[i];
    std::string status = r.diverged ? "diverged at epoch " + std::to_string(r.diverged->epoch) + ", step " +
                                          std::to_string(r.diverged->step)
                                    : (int(i) == sweep.best ? "finished (best)" : "finished");
    if (r.history.empty()) {
      rows.push_back({"\x01" + lr_text(r.base_lr), "", "", "", status});
    } else {
      const EpochStats& s = r.history.back();
      rows.push_back({"\x01" + lr_text(r.base_lr), "\x01" + format_fixed(s.train_loss, 4), "\x01" + format_fixed(s.test_loss, 4),
                      "\x01" + format_fixed(s.test_acc, 4), status});
    }
  }
  report.add_heading("Last completed epoch of each run");
  report.add_table({"learning rate", "train loss", held + " loss", held + " accuracy", "status"}, rows);
}

// metrics.csv: a line per run and epoch, and one more where a run diverged.
std::string sweep_csv(const SweepReport& sweep) {
  const std::string h = sweep.validation ? "val" : "test";
  std::string csv = "base_lr,epoch,train_loss,train_acc," + h + "_loss," + h + "_acc,lr,seconds,diverged_step\n";
  for (const SweepRun& r : *sweep.runs) {
    for (const EpochStats& s : r.history)
      csv += csv_number(r.base_lr) + "," + std::to_string(s.epoch) + "," + csv_number(s.train_loss) + "," +
             csv_number(s.train_acc) + "," + csv_number(s.test_loss) + "," + csv_number(s.test_acc) + "," +
             csv_number(s.lr) + "," + csv_number(s.seconds) + ",\n";
    if (r.diverged)
      csv += csv_number(r.base_lr) + "," + std::to_string(r.diverged->epoch) + ",,,,," + csv_number(r.diverged->lr) +
             ",," + std::to_string(r.diverged->step) + "\n";
  }
  return csv;
}

}  // namespace

void write_sweep_report(const std::string& dir, const SweepReport& sweep) {
  const std::vector<SweepRun>& runs = *sweep.runs;
  const int best = sweep.best;
  const std::string held = sweep.validation ? "validation" : "test";
  HtmlReport report("xgrad sweep: " + sweep.data_name + ", " + std::to_string(runs.size()) + " learning rates");
  add_best_run_summary(report, sweep, held);
  report.add_heading("Configuration");
  report.add_config(sweep.config);
  add_loss_charts(report, sweep, held);
  add_run_table(report, sweep, held);
  if (best >= 0) {
    report.add_heading("Confusion matrix of the best run (lr " + lr_text(runs[std::size_t(best)].base_lr) + ")");
    if (sweep.best_confusion) report.add_confusion_matrix(*sweep.best_confusion, sweep.class_names);
  }
  write_report(dir, report, sweep_csv(sweep));
}

}  // namespace xg
