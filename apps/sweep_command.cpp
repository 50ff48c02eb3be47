#include "apps/sweep_command.hpp"

#include <cmath>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <omp.h>

#include "apps/experiment.hpp"
#include "apps/report.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"

namespace xg {

CLI::App* add_sweep_command(CLI::App& app, SweepOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "sweep", "Train one run per learning rate from the same initial weights and data order, and compare them");
  add_training_flags(cmd, o.train);
  // --lr takes a list here, not one rate.
  cmd->remove_option(cmd->get_option("--lr"));
  cmd->add_option("--lr", o.lrs, "Learning rates to compare, comma separated, e.g. 0.001,0.01,0.1,1");
  cmd->add_option("--lr-range", o.lr_range,
                  "Log-spaced rates FROM:TO:COUNT, e.g. 1e-4:1:8 (instead of --lr)");
  cmd->add_option("--metrics", o.train.metrics, "Write one JSON line per (lr, epoch) to this file");
  cmd->add_option("--jobs", o.jobs,
                  "Runs trained at the same time, one core each (0: one per core); "
                  "the results do not depend on it")
      ->capture_default_str();
  cmd->add_option("--explode-factor", o.explode_factor,
                  "A run also counts as diverged when its loss exceeds this many times its first loss")
      ->capture_default_str();
  return cmd;
}

namespace {

double parse_rate(const std::string& flag, const std::string& item, const std::string& whole) {
  std::size_t used = 0;
  double value = 0.0;
  try {
    value = std::stod(item, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != item.size() || !(value > 0.0) || !std::isfinite(value))
    throw InputError(flag + ": '" + whole + "' holds '" + item + "', which is not a positive learning rate");
  return value;
}

std::string lr_text(double lr) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", lr);
  return text;
}

std::string cell(const char* format, double v) {
  char text[32];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

struct Run {
  double base_lr = 0.0;
  std::unique_ptr<Experiment> experiment;
  std::vector<EpochStats> history;
  std::optional<TrainingDiverged> diverged;
  std::exception_ptr failure;  // anything else thrown inside a parallel region
  std::vector<double> curve_x, curve_y;  // training loss over 20-step windows, x in epochs
  bool finished() const { return !diverged && !failure; }
};

// Trains one epoch of one run, recording the windowed training loss; never throws.
void train_one_epoch(Run& run, std::size_t epoch) {
  const double steps = double(run.experiment->steps_per_epoch());
  std::size_t previous_step = 0;
  double previous_sum = 0.0;
  // The progress callback gets the running mean; the difference of running
  // sums gives the mean over the last window (batches weigh equally, except a
  // smaller last one).
  ProgressFn record = [&](std::size_t step, std::size_t, double mean) {
    const double sum = mean * double(step);
    run.curve_x.push_back(double(epoch - 1) + double(step) / steps);
    run.curve_y.push_back((sum - previous_sum) / double(step - previous_step));
    previous_step = step, previous_sum = sum;
  };
  try {
    run.history.push_back(run.experiment->run_epoch(epoch, record));
  } catch (const TrainingDiverged& e) {
    run.diverged = e;
  } catch (...) {
    run.failure = std::current_exception();
  }
}

// What the per-epoch held-out figures are: the validation set's with --val-split, else the test set's.
std::string held_out(const SweepOptions& o) { return o.train.val_split > 0 ? "val" : "test"; }
std::string held_out_name(const SweepOptions& o) { return o.train.val_split > 0 ? "validation" : "test"; }

nlohmann::json epoch_json(const std::string& held, double base_lr, const EpochStats& s) {
  return {{"base_lr", base_lr}, {"epoch", s.epoch},    {"train_loss", s.train_loss}, {"train_acc", s.train_acc},
          {held + "_loss", s.test_loss}, {held + "_acc", s.test_acc}, {"lr", s.lr}, {"seconds", s.seconds}};
}

nlohmann::json diverged_json(double base_lr, const TrainingDiverged& e) {
  nlohmann::json j = {{"base_lr", base_lr}, {"epoch", e.epoch},  {"diverged", true},
                      {"step", e.step},     {"lr", e.lr},        {"reason", e.what()}};
  if (std::isfinite(e.loss)) j["loss"] = e.loss;
  if (std::isfinite(e.last_good_loss)) j["last_good_loss"] = e.last_good_loss;
  return j;
}

void write_sweep_report(const SweepOptions& o, const std::vector<Run>& runs, int best) {
  const Experiment& first = *runs.front().experiment;
  const std::string held = held_out_name(o);
  HtmlReport report("xgrad sweep: " + first.data().name + ", " + std::to_string(runs.size()) + " learning rates");
  if (best >= 0) {
    const EpochStats& s = runs[std::size_t(best)].history.back();
    report.add_paragraph("Best learning rate by final " + held + " loss: " + lr_text(runs[std::size_t(best)].base_lr) + " (" +
                         held + cell(" loss %.4f, ", s.test_loss) + held + cell(" accuracy %.4f).", s.test_acc));
  } else {
    report.add_paragraph("Every learning rate diverged.", "warning");
  }
  std::string rates;
  for (const Run& r : runs) rates += (rates.empty() ? "" : ", ") + lr_text(r.base_lr);
  report.add_heading("Configuration");
  char factor[32], sweep_line[200];
  std::snprintf(factor, sizeof factor, "%g", o.explode_factor);
  std::snprintf(sweep_line, sizeof sweep_line, "momentum %g, schedule %s, batch %zu, %zu epochs, seed %llu",
                o.train.momentum, o.train.schedule.c_str(), o.train.batch, o.train.epochs,
                (unsigned long long)o.train.seed);
  auto config = report_config(first, {{"learning rates", rates},
                                      {"divergence", "a non-finite loss or gradient, or a loss above " +
                                                         std::string(factor) + "x the run's first loss"}});
  for (auto& [key, value] : config)  // the train line names the first run's rate only
    if (key == "train") key = "sweep", value = sweep_line;
  report.add_config(config);

  LineChart steps{"Training loss (mean over 20-step windows)", "epoch", "training loss"};
  LineChart test_loss{"Loss on the " + held + " set per epoch", "epoch", held + " loss"};
  LineChart test_acc{"Accuracy on the " + held + " set per epoch", "epoch", held + " accuracy"};
  test_loss.x_integer = test_acc.x_integer = true;
  double top = 0.0;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const Run& r = runs[i];
    const std::string label = "lr " + lr_text(r.base_lr) + (r.diverged ? " (diverged)" : "");
    ChartSeries curve(label, int(i));
    curve.css_class = "lr-curve", curve.dots = false;
    curve.x = {0.0}, curve.y = {r.experiment->initial_loss()};
    curve.x.insert(curve.x.end(), r.curve_x.begin(), r.curve_x.end());
    curve.y.insert(curve.y.end(), r.curve_y.begin(), r.curve_y.end());
    if (std::isfinite(r.experiment->initial_loss())) top = std::max(top, r.experiment->initial_loss());
    ChartSeries tl(label, int(i)), ta(label, int(i));
    for (const EpochStats& s : r.history) {
      tl.x.push_back(double(s.epoch)), tl.y.push_back(s.test_loss);
      ta.x.push_back(double(s.epoch)), ta.y.push_back(s.test_acc);
    }
    if (r.diverged) {
      const double x = double(r.diverged->epoch - 1) +
                       double(r.diverged->step) / double(r.experiment->steps_per_epoch());
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
  report.add_heading("Loss curves");
  report.add_chart(steps);
  report.add_chart(test_loss);
  report.add_chart(test_acc);

  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const Run& r = runs[i];
    std::string status = r.diverged ? "diverged at epoch " + std::to_string(r.diverged->epoch) + ", step " +
                                          std::to_string(r.diverged->step)
                                    : (int(i) == best ? "finished (best)" : "finished");
    if (r.history.empty()) {
      rows.push_back({"\x01" + lr_text(r.base_lr), "", "", "", status});
    } else {
      const EpochStats& s = r.history.back();
      rows.push_back({"\x01" + lr_text(r.base_lr), "\x01" + cell("%.4f", s.train_loss), "\x01" + cell("%.4f", s.test_loss),
                      "\x01" + cell("%.4f", s.test_acc), status});
    }
  }
  report.add_heading("Last completed epoch of each run");
  report.add_table({"learning rate", "train loss", held + " loss", held + " accuracy", "status"}, rows);
  if (best >= 0) {
    report.add_heading("Confusion matrix of the best run (lr " + lr_text(runs[std::size_t(best)].base_lr) + ")");
    report.add_confusion_matrix(runs[std::size_t(best)].experiment->last_evaluation().confusion,
                                first.data().class_names);
  }

  const std::string h = held_out(o);
  std::string csv = "base_lr,epoch,train_loss,train_acc," + h + "_loss," + h + "_acc,lr,seconds,diverged_step\n";
  for (const Run& r : runs) {
    for (const EpochStats& s : r.history)
      csv += csv_number(r.base_lr) + "," + std::to_string(s.epoch) + "," + csv_number(s.train_loss) + "," +
             csv_number(s.train_acc) + "," + csv_number(s.test_loss) + "," + csv_number(s.test_acc) + "," +
             csv_number(s.lr) + "," + csv_number(s.seconds) + ",\n";
    if (r.diverged)
      csv += csv_number(r.base_lr) + "," + std::to_string(r.diverged->epoch) + ",,,,," + csv_number(r.diverged->lr) +
             ",," + std::to_string(r.diverged->step) + "\n";
  }
  write_report(o.train.report, report, csv);
}

}  // namespace

std::vector<double> sweep_learning_rates(const SweepOptions& o) {
  if (o.lrs.empty() == o.lr_range.empty())
    throw InputError("--lr: give either --lr with a list of rates (e.g. 0.001,0.01,0.1) or --lr-range FROM:TO:COUNT");
  std::vector<double> rates;
  if (!o.lrs.empty()) {
    std::stringstream in(o.lrs);
    std::string item;
    while (std::getline(in, item, ',')) rates.push_back(parse_rate("--lr", item, o.lrs));
    if (rates.empty() || o.lrs.back() == ',') throw InputError("--lr: '" + o.lrs + "' is not a list of rates");
  } else {
    const std::string& t = o.lr_range;
    const std::size_t a = t.find(':'), b = a == std::string::npos ? a : t.find(':', a + 1);
    if (b == std::string::npos) throw InputError("--lr-range: '" + t + "' is not FROM:TO:COUNT, e.g. 1e-4:1:8");
    const double from = parse_rate("--lr-range", t.substr(0, a), t), to = parse_rate("--lr-range", t.substr(a + 1, b - a - 1), t);
    const std::string count_text = t.substr(b + 1);
    std::size_t used = 0;
    long count = 0;
    try {
      count = std::stol(count_text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != count_text.size() || count < 2 || count > 64)
      throw InputError("--lr-range: the COUNT in '" + t + "' must be a whole number from 2 to 64");
    if (!(to > from)) throw InputError("--lr-range: TO must be larger than FROM in '" + t + "'");
    for (long i = 0; i < count; ++i)
      rates.push_back(from * std::pow(to / from, double(i) / double(count - 1)));
    rates.back() = to;  // exact endpoint
  }
  if (rates.size() > 64) throw InputError("--lr: at most 64 rates in one sweep");
  return rates;
}

int run_sweep(const SweepOptions& o) {
  const std::vector<double> rates = sweep_learning_rates(o);
  if (!(o.explode_factor > 1.0)) throw InputError("--explode-factor must be larger than 1");
  if (o.jobs < 0) throw InputError("--jobs must be 0 (automatic) or more, got " + std::to_string(o.jobs));
  TrainOptions base = o.train;
  for (double lr : rates) {
    base.lr = lr;
    validate_train_options(base);
  }
  const int cores = o.train.threads > 0 ? o.train.threads : omp_get_num_procs();
  omp_set_num_threads(cores);
  // Automatic: one run per core at a time. The GEMM then runs single-threaded
  // inside each run, which is faster for these small matrices than splitting
  // each one; the results are the same either way (the GEMM never splits a sum).
  const int jobs = std::max(1, std::min(o.jobs > 0 ? o.jobs : cores, int(rates.size())));
  if (!o.train.metrics.empty()) check_writable(o.train.metrics);
  if (!o.train.report.empty()) prepare_report_directory(o.train.report);

  const std::shared_ptr<const Dataset> data = load_training_data(o.train);
  std::vector<Run> runs(rates.size());
  for (std::size_t i = 0; i < rates.size(); ++i) {
    TrainOptions options = o.train;
    options.lr = rates[i];
    runs[i].base_lr = rates[i];
    runs[i].experiment = std::make_unique<Experiment>(options, data);
    runs[i].experiment->set_explosion_factor(o.explode_factor);
  }
  {
    std::string summary = runs.front().experiment->describe();
    summary = summary.substr(0, summary.rfind('\n'));  // the train line names one lr
    std::string list;
    for (double lr : rates) list += (list.empty() ? "" : ", ") + lr_text(lr);
    const TrainOptions& t = o.train;
    std::printf("%s\nsweep  %zu learning rates: %s; momentum %g, schedule %s, batch %zu, %zu epochs, seed %llu\n"
                "       same initial weights and data order for every rate; %d run%s at a time, %d core%s\n",
                summary.c_str(), rates.size(), list.c_str(), t.momentum, t.schedule.c_str(), t.batch, t.epochs,
                (unsigned long long)t.seed, jobs, jobs == 1 ? "" : "s", cores, cores == 1 ? "" : "s");
    std::fflush(stdout);
  }

  const int width = 12;
  std::string metrics_text;
  for (std::size_t epoch = 1; epoch <= o.train.epochs; ++epoch) {
    std::vector<int> active;
    for (std::size_t i = 0; i < runs.size(); ++i)
      if (runs[i].finished()) active.push_back(int(i));
    if (active.empty()) break;
    // Inside this parallel region the GEMM sees omp_in_parallel() and stays on its own core.
#pragma omp parallel for schedule(dynamic, 1) num_threads(jobs) if (jobs > 1)
    for (std::size_t k = 0; k < active.size(); ++k) train_one_epoch(runs[std::size_t(active[k])], epoch);
    for (const Run& r : runs)
      if (r.failure) std::rethrow_exception(r.failure);

    // The epoch's table: one column per rate.
    char title[32];
    std::snprintf(title, sizeof title, "epoch %zu/%zu", epoch, o.train.epochs);
    std::string header = title;
    header.resize(std::max<std::size_t>(14, header.size()), ' ');
    const std::string h = held_out(o);
    std::string train_row = "  train_loss  ", test_row = "  " + h + "_loss", acc_row = "  " + h + "_acc";
    test_row.resize(14, ' ');
    acc_row.resize(14, ' ');
    std::string notes;
    for (const Run& r : runs) {
      auto pad = [&](const std::string& s) { return std::string(std::max(0, width - int(s.size())), ' ') + s; };
      header += pad("lr " + lr_text(r.base_lr));
      if (r.diverged && r.diverged->epoch < epoch) {  // stopped in an earlier epoch
        train_row += pad("-"), test_row += pad("-"), acc_row += pad("-");
      } else if (r.diverged) {
        train_row += pad("DIVERGED");
        test_row += pad("step " + std::to_string(r.diverged->step));
        acc_row += pad("-");
        notes += "  lr " + lr_text(r.base_lr) + ": " + r.diverged->what() + "\n";
        metrics_text += diverged_json(r.base_lr, *r.diverged).dump() + "\n";
      } else {
        const EpochStats& s = r.history.back();
        train_row += pad(cell("%.4f", s.train_loss));
        test_row += pad(cell("%.4f", s.test_loss));
        acc_row += pad(cell("%.4f", s.test_acc));
        metrics_text += epoch_json(h, r.base_lr, s).dump() + "\n";
      }
    }
    std::printf("%s\n%s\n%s\n%s\n%s", header.c_str(), train_row.c_str(), test_row.c_str(), acc_row.c_str(),
                notes.c_str());
    std::fflush(stdout);
    if (!o.train.metrics.empty()) write_file_atomically(o.train.metrics, metrics_text);
  }

  // Summary: the last completed epoch of every rate, and the best by final test (or validation) loss.
  int best = -1;
  for (std::size_t i = 0; i < runs.size(); ++i)
    if (runs[i].finished() && (best < 0 || runs[i].history.back().test_loss <
                                               runs[std::size_t(best)].history.back().test_loss))
      best = int(i);
  const std::string h = held_out(o);
  std::printf("\n%-10s%10s%14s%12s%11s   %s\n", "summary", "lr", "train_loss", (h + "_loss").c_str(), (h + "_acc").c_str(),
              "status");
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const Run& r = runs[i];
    char line_text[128];
    if (r.history.empty()) {
      std::snprintf(line_text, sizeof line_text, "%20s%14s%12s%11s   ", lr_text(r.base_lr).c_str(), "-", "-", "-");
    } else {
      const EpochStats& s = r.history.back();
      std::snprintf(line_text, sizeof line_text, "%20s%14.4f%12.4f%11.4f   ", lr_text(r.base_lr).c_str(), s.train_loss,
                    s.test_loss, s.test_acc);
    }
    std::string line = line_text;
    line += r.diverged ? "diverged at epoch " + std::to_string(r.diverged->epoch) + ", step " +
                             std::to_string(r.diverged->step)
                       : std::string(int(i) == best ? "best" : "finished");
    std::printf("%s\n", line.c_str());
  }
  if (!o.train.report.empty()) write_sweep_report(o, runs, best);
  if (best < 0) {
    std::printf("every learning rate diverged; try smaller rates, or run `xgrad lr-find`\n");
    return 3;
  }
  const EpochStats& s = runs[std::size_t(best)].history.back();
  std::printf("best lr %s by final %s loss (%.4f, %s accuracy %.4f)\n", lr_text(runs[std::size_t(best)].base_lr).c_str(),
              held_out_name(o).c_str(), s.test_loss, held_out_name(o).c_str(), s.test_acc);
  return 0;
}

}  // namespace xg
