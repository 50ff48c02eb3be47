#include "apps/train_command.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <omp.h>

#include "apps/checkpoint.hpp"
#include "apps/experiment.hpp"
#include "apps/report.hpp"
#include "apps/toolbox.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "datasets/csv.hpp"

namespace xg {

void add_training_flags(CLI::App* cmd, TrainOptions& o) {
  cmd->add_option("--data", o.data,
                  "Data set: 'fashion-mnist' (the Debian package's directory), a directory holding the four "
                  "MNIST-style IDX files (.gz or raw), or a FILE.csv (numeric features and a label column)")
      ->capture_default_str();
  cmd->add_option("--label-col", o.label_col, "CSV: the label column, by header name or 1-based number")
      ->default_str("the first column");
  cmd->add_option("--test", o.test_file, "CSV: a separate test file with the same columns")->type_name("FILE.csv");
  cmd->add_option("--test-split", o.test_split,
                  "CSV without --test: the fraction of the rows held out (seeded by --seed) for testing")
      ->capture_default_str();
  cmd->add_option("--hidden", o.hidden, "Hidden layer sizes, comma separated ('' for none)")->capture_default_str();
  cmd->add_option("--epochs", o.epochs, "Passes over the training set")->capture_default_str();
  cmd->add_option("--batch", o.batch, "Mini-batch size")->capture_default_str();
  cmd->add_option("--lr", o.lr, "Learning rate at the first epoch")->capture_default_str();
  cmd->add_option("--momentum", o.momentum, "SGD momentum, in [0, 1)")->capture_default_str();
  cmd->add_option("--schedule", o.schedule,
                  "Learning-rate schedule per epoch: none, step, multistep, cosine, exponential or plateau")
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "Seed for initial weights and shuffling; the same seed repeats a run exactly")
      ->capture_default_str();
  cmd->add_option("--threads", o.threads,
                  "Worker threads; 0: all cores, or 1 in an epoch where timing shows 1 is faster (other processes "
                  "holding the cores); results are identical either way")
      ->capture_default_str();
  cmd->add_option("--classes", o.classes,
                  "Class names: a comma list or a file with one per line (default: the data set's, a classes.txt "
                  "beside the data, or numbers)")
      ->capture_default_str();
  cmd->add_flag("--no-normalize", o.no_normalize,
                "Feed pixels scaled to [0, 1] only (default: also normalise with the training set's mean and std)");
  cmd->add_option("--train-limit", o.train_limit, "Use only the first N training images (0: all)")
      ->capture_default_str();
  cmd->add_option("--test-limit", o.test_limit, "Use only the first N test images (0: all)")->capture_default_str();
  cmd->add_option("--report", o.report,
                  "Write DIR/report.html (charts, confusion matrix, configuration; self-contained) and "
                  "DIR/metrics.csv")
      ->type_name("DIR");
  add_toolbox_flags(cmd, o);
}

void add_inspect_flags(CLI::App* cmd, InspectOptions& o) {
  cmd->add_option("--data", o.data,
                  "Data set: 'fashion-mnist', a directory of MNIST-style IDX files, or a FILE.csv")
      ->capture_default_str();
  cmd->add_option("--label-col", o.label_col, "CSV: the label column, by header name or 1-based number")
      ->default_str("the first column");
  cmd->add_option("--hidden", o.hidden, "Hidden layer sizes, comma separated ('' for none)")->capture_default_str();
  cmd->add_option("--batch", o.batch, "Number of training items in the batch (the first ones)")->capture_default_str();
  cmd->add_option("--seed", o.seed, "Seed of the initial weights, as in xgrad train")->capture_default_str();
}

CLI::App* add_train_command(CLI::App& app, TrainOptions& o) {
  CLI::App* cmd = app.add_subcommand("train", "Train an MLP classifier and report its test accuracy");
  add_training_flags(cmd, o);
  cmd->add_option("--metrics", o.metrics, "Write one JSON line per epoch to this file")->capture_default_str();
  cmd->add_flag("--quiet", o.quiet, "Print only the epoch lines, no final report");
  cmd->add_flag("--diagnostics", o.diagnostics,
                "Per layer and epoch: weight norm, gradient norm, update/weight ratio, dead-ReLU fraction "
                "(also in --metrics)");
  cmd->add_option("--save", o.save,
                  "Save the model here after every epoch (safetensors), its training state in PATH.state")
      ->type_name("PATH")
      ->default_str(std::string(kDefaultModelPath) + " (with --resume: the resumed file)");
  cmd->add_flag("--no-save", o.no_save, "Keep no model file");
  cmd->add_option("--save-best", o.save_best, "Save the model of the epoch with the lowest test loss here")->type_name("PATH");
  cmd->add_option("--resume", o.resume, "Continue the run saved by --save PATH (its flags; --epochs may grow)")
      ->type_name("PATH");
  cmd->parse_complete_callback([cmd, &o] {
    for (const CLI::Option* option : cmd->get_options())
      if (option->count() > 0) o.given_flags.push_back(option->get_name());
  });
  return cmd;
}

std::vector<std::size_t> parse_size_list(const std::string& flag, const std::string& text) {
  std::vector<std::size_t> sizes;
  if (text.empty()) return sizes;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::size_t used = 0;
    unsigned long value = 0;
    try {
      value = std::stoul(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || value == 0 || value > 1000000 || item[0] == '-') {
      throw InputError(flag + ": '" + text + "' is not a comma-separated list of positive sizes such as 256,128");
    }
    sizes.push_back(value);
  }
  return sizes;
}

namespace {

std::string number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

void validate_train_options(const TrainOptions& o) {
  auto fail = [](const std::string& message) { throw InputError(message); };
  if (!(o.lr > 0.0) || !std::isfinite(o.lr)) fail("--lr must be a positive number, got " + number(o.lr));
  if (!(o.momentum >= 0.0 && o.momentum < 1.0)) fail("--momentum must be in [0, 1), got " + number(o.momentum));
  if (o.batch == 0) fail("--batch must be at least 1");
  if (o.epochs == 0) fail("--epochs must be at least 1");
  if (o.threads < 0) fail("--threads must be 0 (all cores) or more, got " + std::to_string(o.threads));
  const bool csv = is_csv_path(o.data);
  for (const char* flag : {"--label-col", "--test", "--test-split"}) {
    if (!csv && o.was_given(flag)) fail(std::string(flag) + " applies to CSV data only (--data FILE.csv), not to " + o.data);
  }
  if (!(o.test_split >= 0.0 && o.test_split < 1.0)) fail("--test-split must be in [0, 1), got " + number(o.test_split));
  if (!o.test_file.empty() && o.was_given("--test-split")) fail("give --test FILE.csv or --test-split, not both");
  if (!o.test_file.empty() && !is_csv_path(o.test_file)) fail("--test " + o.test_file + ": expected a .csv file");
  if (csv && o.test_file.empty() && o.test_split == 0.0) {
    fail("--test-split 0 leaves no test rows; give --test FILE.csv or a fraction such as 0.2");
  }
  validate_toolbox_options(o);  // --schedule and the other toolbox flags
  parse_size_list("--hidden", o.hidden);
}

namespace {

std::string format_epoch_line(const EpochStats& s, std::size_t epochs) {
  char line[200];
  const char* held_out = s.validation ? "val" : "test";
  std::snprintf(line, sizeof line,
                "epoch %2zu/%zu  train_loss %.4f  train_acc %.4f  %s_loss %.4f  %s_acc %.4f  lr %.5f  %.2fs", s.epoch,
                epochs, s.train_loss, s.train_acc, held_out, s.test_loss, held_out, s.test_acc, s.lr, s.seconds);
  return line;
}

nlohmann::json epoch_json(const EpochStats& s) {
  const std::string held_out = s.validation ? "val" : "test";
  return {{"epoch", s.epoch},     {"train_loss", s.train_loss}, {"train_acc", s.train_acc}, {held_out + "_loss", s.test_loss},
          {held_out + "_acc", s.test_acc}, {"lr", s.lr},        {"seconds", s.seconds}, {"threads", s.threads}};
}

// A one-line progress bar redrawn in place; only used when stdout is a terminal.
void draw_progress(std::size_t epoch, std::size_t epochs, std::size_t step, std::size_t steps, double loss) {
  const int width = 30;
  const int filled = int(double(width) * double(step) / double(steps));
  std::printf("\repoch %zu/%zu [%s%s] %zu/%zu  loss %.4f", epoch, epochs, std::string(filled, '#').c_str(),
              std::string(width - filled, '.').c_str(), step, steps, loss);
  std::fflush(stdout);
}

}  // namespace

int run_train(const TrainOptions& command_line) {
  TrainOptions o = resume_options(command_line);  // the checkpoint's flags with --resume
  if (o.no_save && o.was_given("--save")) throw InputError("give --save PATH or --no-save, not both");
  if (o.no_save) o.save.clear();
  else if (o.save.empty()) o.save = o.resume.empty() ? kDefaultModelPath : o.resume;  // a resumed run goes on saving there
  validate_train_options(o);
  const int threads = o.threads > 0 ? o.threads : omp_get_num_procs();
  omp_set_num_threads(threads);
  if (!o.metrics.empty()) check_writable(o.metrics);
  if (!o.report.empty()) prepare_report_directory(o.report);

  Experiment run(o, load_training_data(o));
  if (o.threads == 0) run.choose_threads(threads);  // all cores, or one while other processes hold them
  Checkpointer checkpoints(o, run);  // --save, --save-best, --resume
  const Dataset& data = run.data();
  if (o.threads == 0 && threads > 1) {
    std::printf("%s, %d threads (or 1 in an epoch where 1 is faster: busy cores)\n", run.describe().c_str(), threads);
  } else {
    std::printf("%s, %d thread%s\n", run.describe().c_str(), threads, threads == 1 ? "" : "s");
  }
  std::fflush(stdout);

  const bool terminal = ::isatty(::fileno(stdout));
  std::string metrics_text = checkpoints.metrics_text();
  std::vector<EpochStats> history;  // for --report
  try {
    for (std::size_t epoch = checkpoints.first_epoch(); epoch <= o.epochs; ++epoch) {
      ProgressFn progress;
      if (terminal) {
        progress = [&](std::size_t step, std::size_t steps, double loss) {
          draw_progress(epoch, o.epochs, step, steps, loss);
        };
      }
      const EpochStats stats = run.run_epoch(epoch, progress);
      if (terminal) std::printf("\r\x1b[K");
      std::printf("%s\n", format_epoch_line(stats, o.epochs).c_str());
      if (o.diagnostics) std::printf("%s", format_diagnostics(run.diagnostics_history().back()).c_str());
      std::fflush(stdout);
      if (!o.metrics.empty()) {
        nlohmann::json line = epoch_json(stats);
        if (o.diagnostics) line["diagnostics"] = diagnostics_json(run.diagnostics_history().back());
        metrics_text += line.dump() + "\n";
        write_file_atomically(o.metrics, metrics_text);
      }
      checkpoints.after_epoch(epoch, stats.test_loss, metrics_text);
      history.push_back(stats);
      if (run.should_stop()) {
        std::printf("early stop: the %s loss has not improved for %zu epochs\n", stats.validation ? "validation" : "test",
                    o.early_stop);
        break;
      }
    }
  } catch (const TrainingDiverged& diverged) {
    if (terminal) std::printf("\r\x1b[K");
    if (!o.report.empty()) write_train_report(o.report, run, history, &diverged);
    throw;
  }
  if (run.has_validation()) run.evaluate_test();  // the test set's only use with --val-split
  if (!o.report.empty()) write_train_report(o.report, run, history, nullptr);

  const ConfusionMatrix& confusion = run.last_evaluation().confusion;
  if (!o.quiet) {
    std::printf("\nconfusion matrix (rows: true class, columns: predicted)\n%s\n",
                confusion.format_matrix(data.class_names, terminal).c_str());
    std::printf("%s\n", confusion.format_report(data.class_names).c_str());
    std::printf("%s\n", confusion.format_most_confused(data.class_names, 5).c_str());
  }
  std::printf("final test accuracy %.4f\n", confusion.accuracy());
  if (!o.save.empty()) {
    std::printf("model saved to %s (training state in %s); try: xgrad eval --model %s\n", o.save.c_str(),
                state_path(o.save).c_str(), o.save.c_str());
  }
  return 0;
}

}  // namespace xg
