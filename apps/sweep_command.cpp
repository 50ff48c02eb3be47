#include "apps/sweep_command.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <memory>
#include <mutex>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <omp.h>

#include "apps/flags.hpp"
#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "io/number_text.hpp"
#include "report/console.hpp"
#include "io/output_paths.hpp"
#include "report/html.hpp"
#include "report/sweep_report.hpp"
#include "train/distributed.hpp"
#include "train/interrupt.hpp"
#include "train/sweep.hpp"

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

double positive_rate(const std::string& flag, double rate, const std::string& whole) {
  if (!(rate > 0.0)) throw InputError(flag + ": '" + whole + "' holds " + format_number(rate) + ", which is not a positive learning rate");
  return rate;
}

std::string lr_text(double lr) { return format_number(lr, 3); }

std::string held_out(const TrainConfig& c) { return c.val_split > 0 ? "val" : "test"; }
std::string held_out_name(const TrainConfig& c) { return c.val_split > 0 ? "validation" : "test"; }

// "sweep  8 learning rates: …" below the data and model lines.
void print_header(const SweepOptions& o, const Sweep& sweep, const std::vector<double>& rates, int jobs, int cores,
                  int ranks) {
  std::string summary = sweep.experiment(0).describe();
  summary = summary.substr(0, summary.rfind('\n'));  // the train line names one lr
  std::string list;
  for (double lr : rates) list += (list.empty() ? "" : ", ") + lr_text(lr);
  const TrainConfig& t = o.train.run;
  std::printf("%s\nsweep  %zu learning rates: %s; momentum %g, schedule %s, batch %zu, %zu epochs, seed %llu\n"
              "       same initial weights and data order for every rate; %d run%s at a time, %d core%s",
              summary.c_str(), rates.size(), list.c_str(), t.momentum, t.schedule.c_str(), t.batch, t.epochs,
              (unsigned long long)t.seed, jobs, jobs == 1 ? "" : "s", cores, cores == 1 ? "" : "s");
  if (ranks > 1) std::printf(" per rank, on %d ranks (rates spread over them)", ranks);
  std::printf("\n");
  std::fflush(stdout);
}

// The epoch's table, one column per rate; appends the epoch's metrics lines.
void print_epoch(const SweepOptions& o, const Sweep& sweep, std::size_t epoch, std::string& metrics_text) {
  const int width = 12;
  std::string header = "epoch " + std::to_string(epoch) + "/" + std::to_string(o.train.run.epochs);
  header.resize(std::max<std::size_t>(14, header.size()), ' ');
  const std::string h = held_out(o.train.run);
  std::string train_row = "  train_loss  ", test_row = "  " + h + "_loss", acc_row = "  " + h + "_acc";
  test_row.resize(14, ' ');
  acc_row.resize(14, ' ');
  std::string notes;
  auto pad = [&](const std::string& s) { return std::string(std::size_t(std::max(0, width - int(s.size()))), ' ') + s; };
  for (const SweepRun& r : sweep.runs()) {
    header += pad("lr " + lr_text(r.base_lr));
    if (r.diverged && r.diverged->epoch < epoch) {  // stopped in an earlier epoch
      train_row += pad("-"), test_row += pad("-"), acc_row += pad("-");
    } else if (r.diverged) {
      train_row += pad("DIVERGED");
      test_row += pad("step " + std::to_string(r.diverged->step));
      acc_row += pad("-");
      notes += "  lr " + lr_text(r.base_lr) + ": " + r.diverged->what() + "\n";
      nlohmann::json line = diverged_epoch_json(*r.diverged, o.train.run.val_split > 0);
      line["base_lr"] = r.base_lr;
      if (std::isfinite(r.diverged->loss)) line["loss"] = r.diverged->loss;  // the step's loss, when a number
      if (std::isfinite(r.diverged->last_good_loss)) line["last_good_loss"] = r.diverged->last_good_loss;
      metrics_text += line.dump() + "\n";
    } else {
      const EpochStats& s = r.history.back();
      train_row += pad(format_fixed(s.train_loss, 4));
      test_row += pad(format_fixed(s.test_loss, 4));
      acc_row += pad(format_fixed(s.test_acc, 4));
      nlohmann::json line = epoch_json(s);
      line["base_lr"] = r.base_lr;
      metrics_text += line.dump() + "\n";
    }
  }
  std::printf("%s\n%s\n%s\n%s\n%s", header.c_str(), train_row.c_str(), test_row.c_str(), acc_row.c_str(), notes.c_str());
  std::fflush(stdout);
}

// The last completed epoch of every rate, and the best by final held-out loss.
void print_summary(const SweepOptions& o, const Sweep& sweep) {
  const std::string h = held_out(o.train.run);
  const int best = sweep.best();
  std::printf("\n%-10s%10s%14s%12s%11s   %s\n", "summary", "lr", "train_loss", (h + "_loss").c_str(), (h + "_acc").c_str(),
              "status");
  for (std::size_t i = 0; i < sweep.runs().size(); ++i) {
    const SweepRun& r = sweep.runs()[i];
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
}

void write_report(const SweepOptions& o, const Sweep& sweep, const std::vector<double>& rates, bool interrupted) {
  SweepReport report;
  const Experiment& first = sweep.experiment(0);
  report.data_name = first.data().name;
  std::string list;
  for (double lr : rates) list += (list.empty() ? "" : ", ") + lr_text(lr);
  const TrainConfig& t = o.train.run;
  report.config = first.summary_items();
  for (auto& [key, value] : report.config)  // the train line names the first run's rate only
    if (key == "train")
      key = "sweep", value = "momentum " + format_number(t.momentum) + ", schedule " + t.schedule + ", batch " +
                             std::to_string(t.batch) + ", " + std::to_string(t.epochs) + " epochs, seed " +
                             std::to_string(t.seed);
  report.config.push_back({"learning rates", list});
  report.config.push_back({"divergence", "a non-finite loss or gradient, or a loss above " +
                                             format_number(o.explode_factor) + "x the run's first loss"});
  report.runs = &sweep.runs();
  report.best = sweep.best();
  report.validation = t.val_split > 0;
  // After an interrupt the best run may have gone on into the epoch the records leave out.
  if (report.best >= 0 && !interrupted) report.best_confusion = &sweep.confusion(std::size_t(report.best));
  report.class_names = first.data().class_names;
  write_sweep_report(o.train.report, report);
}

// The progress line of a sweep's epoch on the terminal (stdout): all runs'
// steps together, and each rate's share done while it fits. The runs report
// from their worker threads; whichever holds the lock redraws.
class SweepProgress {
 public:
  SweepProgress(const Sweep& sweep, std::size_t epoch, std::size_t epochs, std::size_t batch)
      : done_(new std::atomic<std::size_t>[sweep.runs().size()]), batch_(batch),
        label_("epoch " + std::to_string(epoch) + "/" + std::to_string(epochs)),
        start_(std::chrono::steady_clock::now()) {
    for (std::size_t i = 0; i < sweep.runs().size(); ++i) {
      done_[i] = 0;
      const SweepRun& r = sweep.runs()[i];
      if (!r.diverged) active_.push_back({i, r.steps_per_epoch, format_number(r.base_lr, 3)});  // read before the threads start
    }
  }
  SweepProgressFn callback() {
    return [this](std::size_t run, std::size_t step, std::size_t, double) {
      done_[run] = step;
      std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
      if (lock.owns_lock()) draw();
    };
  }

 private:
  void draw() {
    Progress p;
    p.label = label_;
    for (const Active& a : active_) {
      const std::size_t done = done_[a.run];
      p.done += done, p.total += a.steps;
      p.detail += (p.detail.empty() ? "" : " ") + a.lr + ":" + std::to_string(a.steps ? 100 * done / a.steps : 0) + "%";
    }
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    p.items = double(p.done) * double(batch_);
    draw_progress_line(stdout, p);
  }
  struct Active {
    std::size_t run, steps;  // the runs that had not diverged when the epoch began
    std::string lr;
  };
  std::vector<Active> active_;
  std::unique_ptr<std::atomic<std::size_t>[]> done_;
  std::size_t batch_;
  std::string label_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
};

}  // namespace

std::vector<double> sweep_learning_rates(const SweepOptions& o) {
  if (o.lrs.empty() == o.lr_range.empty())
    throw InputError("--lr: give either --lr with a list of rates (e.g. 0.001,0.01,0.1) or --lr-range FROM:TO:COUNT");
  std::vector<double> rates;
  if (!o.lrs.empty()) {
    for (double lr : parse_number_list("--lr", o.lrs, "a comma-separated list of positive learning rates"))
      rates.push_back(positive_rate("--lr", lr, o.lrs));
  } else {
    const std::string& t = o.lr_range;
    const std::size_t a = t.find(':'), b = a == std::string::npos ? a : t.find(':', a + 1);
    if (b == std::string::npos) throw InputError("--lr-range: '" + t + "' is not FROM:TO:COUNT, e.g. 1e-4:1:8");
    const std::string what = "FROM:TO:COUNT with positive rates, e.g. 1e-4:1:8";
    const double from = positive_rate("--lr-range", parse_number("--lr-range", t.substr(0, a), what), t);
    const double to = positive_rate("--lr-range", parse_number("--lr-range", t.substr(a + 1, b - a - 1), what), t);
    const std::string count_text = t.substr(b + 1);
    const std::size_t count = parse_count("--lr-range", count_text, 64, "a COUNT from 2 to 64 (in '" + t + "')");
    if (count < 2) throw InputError("--lr-range: the COUNT in '" + t + "' must be a whole number from 2 to 64");
    if (!(to > from)) throw InputError("--lr-range: TO must be larger than FROM in '" + t + "'");
    for (std::size_t i = 0; i < count; ++i)
      rates.push_back(from * std::pow(to / from, double(i) / double(count - 1)));
    rates.back() = to;  // exact endpoint
  }
  if (rates.size() > 64) throw InputError("--lr: at most 64 rates in one sweep");
  return rates;
}

namespace {

// `xgrad sweep`, on each rank under mpirun (train/distributed.hpp): the
// rates are spread over the ranks; rank 0 alone writes.
int sweep_on_ranks(const SweepOptions& o) {
  const Communicator& comm = world();
  std::vector<double> rates;
  int cores = 1, jobs = 1;
  std::unique_ptr<Sweep> sweep_runs;
  // Ctrl-C: stop between steps and write what finished. Under mpirun with
  // several ranks the ranks would see the signal at different steps and wait
  // for each other in the allreduce, so there a signal ends each rank at once
  // (no temporary file left; the last saved pair stays consistent).
  std::optional<StopAtStepBoundary> stop_at_step_boundary;
  if (comm.size() == 1) stop_at_step_boundary.emplace();
  comm.agree([&] {
    rates = sweep_learning_rates(o);
    if (!(o.explode_factor > 1.0)) throw InputError("--explode-factor must be larger than 1");
    if (o.jobs < 0) throw InputError("--jobs must be 0 (automatic) or more, got " + std::to_string(o.jobs));
    check_given_flags_apply(o.train.run, o.train.given_flags);
    TrainConfig base = o.train.run;
    for (double lr : rates) {
      base.lr = lr;
      validate(base);
    }
    cores = base.threads > 0 ? base.threads : default_threads(comm);
    omp_set_num_threads(cores);
    // Automatic: one run per core at a time. The GEMM then runs single-threaded
    // inside each run, which is faster for these small matrices than splitting
    // each one; the results are the same either way (the GEMM never splits a sum).
    const std::size_t own = (rates.size() + std::size_t(comm.size() - comm.rank()) - 1) / std::size_t(comm.size());
    jobs = std::max(1, std::min(o.jobs > 0 ? o.jobs : cores, int(own)));
    if (comm.is_root()) {
      std::vector<OutputPath> outputs = report_outputs(o.train.report);
      outputs.push_back({"--metrics", o.train.metrics});
      check_output_paths(outputs, data_inputs(o.train.run));
    }
    sweep_runs = std::make_unique<Sweep>(o.train.run, rates, o.explode_factor, load_training_data(o.train.run));
    sweep_runs->distribute(comm);  // rank r trains rates r, r + N, …
  });
  warn_selection_on_test_set(o.train.run, false);
  Sweep& sweep = *sweep_runs;
  print_header(o, sweep, rates, jobs, cores, comm.size());
  std::string metrics_text;
  const bool terminal = stdout_is_terminal();
  std::size_t epoch = 1;
  try {
    for (; epoch <= o.train.run.epochs; ++epoch) {
      SweepProgress progress(sweep, epoch, o.train.run.epochs, o.train.run.batch);
      const bool ran = sweep.run_epoch(epoch, jobs, terminal ? progress.callback() : SweepProgressFn());
      if (terminal) clear_progress_line(stdout);
      if (!ran) break;
      print_epoch(o, sweep, epoch, metrics_text);
      comm.agree([&] {
        if (comm.is_root() && !o.train.metrics.empty()) write_file_atomically(o.train.metrics, metrics_text);
      });
    }
  } catch (const Interrupted& stop) {
    if (terminal) clear_progress_line(stdout);
    if (epoch > 1) print_summary(o, sweep);
    std::fflush(stdout);
    if (comm.is_root() && !o.train.report.empty()) write_report(o, sweep, rates, /*interrupted=*/true);
    std::fprintf(stderr, "interrupted by %s in epoch %zu of %zu; %s\n", signal_name(stop.signal).c_str(), epoch,
                 o.train.run.epochs,
                 epoch > 1 ? ("the summary above holds the " + std::to_string(epoch - 1) + " finished epoch" +
                              (epoch == 2 ? "" : "s") + (o.train.metrics.empty() ? "" : ", as does " + o.train.metrics)).c_str()
                           : "no epoch had finished");
    return stop.exit_status();
  }
  print_summary(o, sweep);
  comm.agree([&] {
    if (comm.is_root() && !o.train.report.empty()) write_report(o, sweep, rates, /*interrupted=*/false);
  });
  const int best = sweep.best();
  if (best < 0) {  // exit status 3, the message on stderr, as for a diverged `xgrad train`
    if (!o.train.report.empty()) print_report_path(o.train.report);
    const SweepRun* smallest = nullptr;
    for (const SweepRun& r : sweep.runs())
      if (r.diverged && (!smallest || r.base_lr < smallest->base_lr)) smallest = &r;
    std::fflush(stdout);
    std::fprintf(stderr, "xgrad: every learning rate diverged");
    if (smallest) std::fprintf(stderr, "; the smallest rate: %s", smallest->diverged->what());
    std::fprintf(stderr, "\nhint: try smaller rates, or run `xgrad lr-find` with the same flags to pick a rate\n");
    return 3;
  }
  const EpochStats& s = sweep.runs()[std::size_t(best)].history.back();
  const std::string held = held_out_name(o.train.run);
  std::printf("best lr %s by final %s loss (%.4f, %s accuracy %.4f)\n", lr_text(sweep.runs()[std::size_t(best)].base_lr).c_str(),
              held.c_str(), s.test_loss, held.c_str(), s.test_acc);
  if (!o.train.report.empty()) print_report_path(o.train.report);
  if (const int signal = pending_interrupt()) {  // came after the last step: the sweep is complete
    std::fflush(stdout);
    std::fprintf(stderr, "interrupted by %s after the last epoch; the sweep had finished\n", signal_name(signal).c_str());
    return 128 + signal;
  }
  return 0;
}

}  // namespace

int run_sweep(const SweepOptions& o) {
  return run_in_lockstep([&] { return sweep_on_ranks(o); });
}

}  // namespace xg
