#include "apps/train_command.hpp"

#include <chrono>
#include <cstdio>
#include <optional>
#include <sstream>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <omp.h>

#include "apps/flags.hpp"
#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "io/json_input.hpp"
#include "layers/model_summary.hpp"
#include "report/console.hpp"
#include "io/output_paths.hpp"
#include "report/train_report.hpp"
#include "train/checkpoint.hpp"
#include "train/distributed.hpp"
#include "train/experiment.hpp"
#include "train/interrupt.hpp"

namespace xg {

CLI::App* add_train_command(CLI::App& app, TrainCommandOptions& o) {
  CLI::App* cmd = app.add_subcommand("train", "Train an MLP classifier and report its test accuracy");
  add_training_flags(cmd, o);
  cmd->add_option("--metrics", o.metrics, "Write one JSON line per epoch to this file")->capture_default_str();
  cmd->add_flag("--quiet", o.quiet,
                "Print only the table of epochs: no header, model summary, progress bar, confusion matrix, final "
                "accuracy or file names (warnings and errors still go to stderr)");
  cmd->add_flag("--diagnostics", o.run.diagnostics,
                "Per layer and epoch: weight norm, gradient norm, update/weight ratio, dead-ReLU fraction "
                "(also in --metrics)");
  cmd->add_option("--save", o.save,
                  "Save the model here after every epoch (safetensors), its training state in PATH.state; a model "
                  "of another run there is first moved to PATH.bak")
      ->type_name("PATH")
      ->default_str(std::string(kDefaultModelPath) + " (with --resume: the resumed file)");
  cmd->add_flag("--no-save", o.no_save, "Keep no model file");
  cmd->add_option("--save-best", o.save_best,
                  "Save the model of the epoch with the lowest validation (or test) loss here")
      ->type_name("PATH");
  cmd->add_option("--resume", o.resume, "Continue the run saved by --save PATH (its flags; --epochs may grow)")
      ->type_name("PATH");
  return cmd;
}

void validate_train_command(const TrainCommandOptions& o) {
  check_given_flags_apply(o.run, o.given_flags);
  validate(o.run);
  if (o.no_save && o.was_given("--save")) throw InputError("give --save PATH or --no-save, not both");
}

namespace {

// The page of `--report DIR`, from what the run holds now.
TrainReport train_report(const Experiment& run, const std::vector<EpochStats>& history, const TrainingDiverged* diverged) {
  TrainReport report;
  report.data_name = run.data().name;
  report.config = run.summary_items();
  report.history = history;
  report.diagnostics = run.diagnostics_history();
  if (!history.empty()) report.confusion = &run.last_evaluation().confusion;
  report.class_names = run.data().class_names;
  report.diverged = diverged;
  return report;
}

}  // namespace

namespace {

// The run's settings: resumed from a checkpoint, validated, with the save path resolved.
TrainCommandOptions resolve_options(const TrainCommandOptions& command_line) {
  TrainCommandOptions o = command_line;
  if (!o.resume.empty()) o.run = resume_config(o.resume, o.run, o.given_flags);  // the checkpoint's flags
  validate_train_command(o);
  if (o.no_save) o.save.clear();
  else if (o.save.empty()) o.save = o.resume.empty() ? kDefaultModelPath : o.resume;  // a resumed run goes on saving there
  return o;
}

// Every file the run writes, checked before the data is read (io/output_paths.hpp).
void check_outputs(const TrainCommandOptions& o) {
  std::vector<OutputPath> outputs = {{"--save", o.save}, {"--save", o.save.empty() ? "" : state_path(o.save), "training state"},
                                     {"--save-best", o.save_best}, {"--metrics", o.metrics}};
  for (const OutputPath& page : report_outputs(o.report)) outputs.push_back(page);
  std::vector<OutputPath> inputs = data_inputs(o.run);
  if (!o.resume.empty() && !same_file(o.resume, o.save)) {  // a resumed run may go on saving over its files
    inputs.push_back({"--resume", o.resume});
    inputs.push_back({"--resume", state_path(o.resume), "training state"});
  }
  check_output_paths(outputs, inputs);
}

// A path as the shell reads it back: quoted when it holds anything but [A-Za-z0-9_./-].
std::string shell_word(const std::string& path) {
  if (!path.empty() && path.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./-") == std::string::npos)
    return path;
  std::string quoted = "'";
  for (char c : path) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// The one line for a run a signal stopped; `saved_to` holds the model of `saved_epoch` ("" / 0: none).
std::string interrupted_line(const TrainCommandOptions& o, const Interrupted& stop, const std::string& saved_to,
                             std::size_t saved_epoch) {
  std::string line = "interrupted in epoch " + std::to_string(stop.epoch) + " at step " + std::to_string(stop.step) +
                     " of " + std::to_string(stop.steps);
  if (saved_to.empty() || saved_epoch == 0)
    return line + (o.no_save ? "; no model saved (--no-save)" : "; no epoch had finished, so no model was saved");
  line += "; model of epoch " + std::to_string(saved_epoch) + " saved to " + saved_to +
          "; resume with xgrad train --resume " + shell_word(saved_to);
  if (!o.metrics.empty()) line += " --metrics " + shell_word(o.metrics);
  if (!o.report.empty()) line += " --report " + shell_word(o.report);
  return line;
}

void print_run_header(const TrainCommandOptions& o, Experiment& run, const Checkpointer& checkpoints, int threads,
                      int ranks) {
  if (o.quiet) return;
  if (!o.resume.empty()) {
    const std::size_t done = checkpoints.first_epoch() - 1;
    std::printf("resume %s: %zu epoch%s done, continuing with epoch %zu of %zu\n", o.resume.c_str(), done,
                done == 1 ? "" : "s", done + 1, o.run.epochs);
  }
  if (ranks > 1) {  // data-parallel under mpirun (docs/DISTRIBUTED.md)
    std::printf("%s, %d ranks x %d thread%s\n", run.describe().c_str(), ranks, threads, threads == 1 ? "" : "s");
  } else if (o.run.threads == 0 && threads > 1) {
    std::printf("%s, %d threads (or 1 in an epoch where 1 is faster: busy cores)\n", run.describe().c_str(), threads);
  } else {
    std::printf("%s, %d thread%s\n", run.describe().c_str(), threads, threads == 1 ? "" : "s");
  }
  for (const ReplacedModel& r : checkpoints.replaced())
    std::printf("note   %s holds %s: it will be kept as %s\n", r.path.c_str(), r.description.c_str(), r.backup.c_str());
  std::printf("\n%s\n", format_model_summary(summarize_layers(run.model(), run.data().train.features())).c_str());
  std::fflush(stdout);
}

// Draws the progress line of `epoch` on the terminal (stdout), with the time since `start`.
ProgressFn epoch_progress(std::size_t epoch, const TrainConfig& config, std::chrono::steady_clock::time_point start) {
  return [epoch, &config, start](std::size_t step, std::size_t steps, double loss) {
    Progress p;
    p.label = "epoch " + std::to_string(epoch) + "/" + std::to_string(config.epochs);
    p.done = step, p.total = steps, p.loss = loss;
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    p.items = double(step) * double(config.batch);  // the last batch may be smaller: a close estimate
    draw_progress_line(stdout, p);
  };
}

// The epochs of a metrics file (a resumed run's earlier epochs).
std::vector<EpochStats> epochs_of(const std::string& metrics_text) {
  std::vector<EpochStats> history;
  std::istringstream lines(metrics_text);
  for (std::string line; std::getline(lines, line);) {
    // The Checkpointer checked these lines (JSON objects, nesting bounded) when it read the state.
    const nlohmann::json doc = parse_json(line, "metrics line");
    if (doc.is_object()) history.push_back(epoch_from_json(doc));
  }
  return history;
}

void print_results(const TrainCommandOptions& o, const Experiment& run, const Checkpointer& checkpoints, bool terminal) {
  if (o.quiet) return;
  const ConfusionMatrix& confusion = run.last_evaluation().confusion;
  const std::vector<std::string>& names = run.data().class_names;
  std::printf("\nconfusion matrix (rows: true class, columns: predicted)\n%s\n",
              confusion.format_matrix(names, terminal).c_str());
  std::printf("%s\n", confusion.format_report(names).c_str());
  std::printf("%s\n", confusion.format_most_confused(names, 5).c_str());
  std::printf("final test accuracy %.4f\n", confusion.accuracy());
  if (!o.save.empty()) {
    std::printf("model saved to %s (training state in %s); try: xgrad eval --model %s\n", o.save.c_str(),
                state_path(o.save).c_str(), o.save.c_str());
  }
  if (!o.save_best.empty() && checkpoints.best_epoch() > 0) {
    std::printf("best model saved to %s: epoch %zu, the lowest %s loss (%.4f)\n", o.save_best.c_str(),
                checkpoints.best_epoch(), run.has_validation() ? "validation" : "test", checkpoints.best_loss());
  }
  for (const ReplacedModel& r : checkpoints.replaced())
    if (r.moved) std::printf("the earlier %s (%s) is now %s\n", r.path.c_str(), r.description.c_str(), r.backup.c_str());
  if (!o.report.empty()) print_report_path(o.report);
}

// `xgrad train`, on each rank under mpirun (train/distributed.hpp): every rank
// checks the input (and agrees on it), trains its shard; rank 0 alone writes.
int train_on_ranks(const TrainCommandOptions& command_line) {
  const Communicator& comm = world();
  TrainCommandOptions o;
  int threads = 1;
  std::unique_ptr<Experiment> experiment;
  std::unique_ptr<Checkpointer> checkpointer;
  // Ctrl-C: stop between steps and write what finished. Under mpirun with
  // several ranks the ranks would see the signal at different steps and wait
  // for each other in the allreduce, so there a signal ends each rank at once
  // (no temporary file left; the last saved pair stays consistent).
  std::optional<StopAtStepBoundary> stop_at_step_boundary;
  if (comm.size() == 1) stop_at_step_boundary.emplace();
  comm.agree([&] {
    o = resolve_options(command_line);
    threads = o.run.threads > 0 ? o.run.threads : default_threads(comm);
    omp_set_num_threads(threads);
    if (comm.is_root()) check_outputs(o);
    experiment = std::make_unique<Experiment>(o.run, load_training_data(o.run));
    if (o.run.threads == 0) experiment->choose_threads(threads);  // all cores, or one while other processes hold them
    const CheckpointPaths paths{o.save, o.save_best, o.resume};
    checkpointer = std::make_unique<Checkpointer>(comm.is_root() ? paths : CheckpointPaths{"", "", o.resume}, *experiment);
  });
  const TrainConfig& config = o.run;
  Experiment& run = *experiment;
  Checkpointer& checkpoints = *checkpointer;
  run.distribute(comm);  // rank 0's weights (and resumed optimizer state) on every rank
  const std::string label_doubt = label_column_warning(run.data());  // a continuous column made into classes
  if (!label_doubt.empty()) std::fprintf(stderr, "xgrad: warning: %s\n", label_doubt.c_str());
  warn_selection_on_test_set(o.run, !o.save_best.empty());
  print_run_header(o, run, checkpoints, threads, comm.size());

  const bool terminal = stdout_is_terminal();
  const bool progress_bar = terminal && !o.quiet;
  const int columns = terminal ? terminal_columns(::fileno(stdout)) : 0;  // piped: every column
  std::printf("%s\n", format_epoch_header(run.has_validation(), columns).c_str());
  std::string metrics_text = checkpoints.metrics_text();
  std::vector<EpochStats> history = epochs_of(metrics_text);  // for --report: a resumed run's earlier epochs too
  std::string saved_to = o.resume;  // where the model of saved_epoch is, for the line after an interrupt
  std::size_t saved_epoch = o.resume.empty() ? 0 : checkpoints.first_epoch() - 1;
  try {
    for (std::size_t epoch = checkpoints.first_epoch(); epoch <= config.epochs; ++epoch) {
      const auto start = std::chrono::steady_clock::now();
      const EpochStats stats = run.run_epoch(epoch, progress_bar ? epoch_progress(epoch, config, start) : ProgressFn());
      if (!o.metrics.empty()) {
        nlohmann::json line = epoch_json(stats);
        if (config.diagnostics) line["diagnostics"] = diagnostics_json(run.diagnostics_history().back());
        metrics_text += line.dump() + "\n";
      }
      comm.agree([&] {  // rank 0 writes; a failed write ends every rank
        if (comm.is_root() && !o.metrics.empty()) write_file_atomically(o.metrics, metrics_text);
        checkpoints.after_epoch(epoch, stats.test_loss, metrics_text);
      });
      // The epoch's row once its model and metrics are written: a row on the
      // screen means that epoch is saved, whenever a signal stops the run after it.
      if (progress_bar) clear_progress_line(stdout);
      std::printf("%s\n", format_epoch_row(stats, config.epochs, columns).c_str());
      if (config.diagnostics) std::printf("%s", format_diagnostics(run.diagnostics_history().back()).c_str());
      std::fflush(stdout);
      if (!o.save.empty()) saved_to = o.save, saved_epoch = epoch;
      history.push_back(stats);
      if (run.should_stop()) {
        if (!o.quiet)
          std::printf("early stop: the %s loss has not improved for %zu epochs\n", stats.validation ? "validation" : "test",
                    config.early_stop);
        break;
      }
    }
  } catch (const Interrupted& stop) {
    if (progress_bar) clear_progress_line(stdout);
    std::fflush(stdout);
    if (comm.is_root() && !o.report.empty()) {
      TrainReport report = train_report(run, history, nullptr);
      report.interrupted = stop.what();
      if (stop.epoch == checkpoints.first_epoch()) report.confusion = nullptr;  // no evaluation in this process yet
      write_train_report(o.report, report);
    }
    std::fprintf(stderr, "%s\n", interrupted_line(o, stop, saved_to, saved_epoch).c_str());
    return stop.exit_status();
  } catch (const TrainingDiverged& diverged) {
    if (progress_bar) clear_progress_line(stdout);
    if (comm.is_root() && !o.metrics.empty()) {  // the epochs before, then the diverged one's line
      write_file_atomically(o.metrics, metrics_text + diverged_epoch_json(diverged, run.has_validation()).dump() + "\n");
    }
    if (comm.is_root() && !o.report.empty()) write_train_report(o.report, train_report(run, history, &diverged));
    throw;
  }
  if (run.has_validation()) run.evaluate_test();  // the test set's only use with --val-split
  comm.agree([&] {
    if (comm.is_root() && !o.report.empty()) write_train_report(o.report, train_report(run, history, nullptr));
  });
  print_results(o, run, checkpoints, terminal);
  if (const int signal = pending_interrupt()) {  // came after the last step: the run is complete
    std::fflush(stdout);
    std::fprintf(stderr, "interrupted by %s after the last epoch; the run had finished\n", signal_name(signal).c_str());
    return 128 + signal;
  }
  return 0;
}

}  // namespace

int run_train(const TrainCommandOptions& command_line) {
  return run_in_lockstep([&] { return train_on_ranks(command_line); });
}

}  // namespace xg
