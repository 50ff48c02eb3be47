#include "apps/lr_find_command.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <omp.h>

#include "train/experiment.hpp"
#include "report/console.hpp"
#include "train/interrupt.hpp"
#include "train/distributed.hpp"
#include "report/html.hpp"
#include "report/lr_find_report.hpp"
#include "core/error.hpp"
#include "datasets/augment.hpp"
#include "apps/flags.hpp"
#include "io/number_text.hpp"

namespace xg {

CLI::App* add_lr_find_command(CLI::App& app, LrFindOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "lr-find", "LR range test: raise the learning rate step by step, watch the loss, suggest a rate");
  add_training_flags(cmd, o.train);
  // The range replaces the single rate, and the test is counted in steps, not epochs.
  for (const char* flag : {"--lr", "--epochs", "--schedule"}) cmd->remove_option(cmd->get_option(flag));
  LrFindSettings& s = o.settings;
  cmd->add_option("--start", s.start, "Learning rate of the first step")->capture_default_str();
  cmd->add_option("--end", s.end, "Learning rate of the last step")->capture_default_str();
  cmd->add_option("--steps", s.steps, "Mini-batches, the rate growing exponentially from --start to --end")
      ->capture_default_str();
  cmd->add_option("--smoothing", s.smoothing, "beta of the loss's exponential moving average")->capture_default_str();
  cmd->add_option("--stop-factor", s.stop_factor, "Stop once the smoothed loss exceeds this x its minimum")
      ->capture_default_str();
  return cmd;
}

int run_lr_find(const LrFindOptions& o) {
  const StopAtStepBoundary stop_at_step_boundary;  // Ctrl-C: stop between steps, write nothing
  validate_lr_find_settings(o.settings);
  // Training flags about epochs, the schedule and evaluation: lr-find has none of them.
  for (const char* flag : {"--early-stop", "--warmup-epochs", "--val-split", "--min-lr", "--step-size", "--milestones",
                           "--gamma", "--plateau-patience", "--test-limit"})
    if (o.train.was_given(flag))
      throw InputError(std::string(flag) + " does not apply to lr-find: it runs --steps mini-batches at rates from "
                       "--start to --end, with no epochs, schedule or evaluation");
  check_given_flags_apply(o.train.run, o.train.given_flags);
  validate(o.train.run);
  const TrainConfig& config = o.train.run;
  const int threads = config.threads > 0 ? config.threads : omp_get_num_procs();
  omp_set_num_threads(threads);
  check_output_paths(report_outputs(o.train.report), data_inputs(config));
  Experiment run(config, load_training_data(config));
  const LrFindSettings& s = o.settings;
  std::string summary = run.describe();
  summary = summary.substr(0, summary.rfind('\n'));
  std::printf("%s\nlr-find  %zu steps, lr from %g to %g (x%.4g per step), momentum %g, batch %zu, seed %llu\n"
              "         loss smoothed with beta %g; stops when it exceeds %gx its minimum\n",
              summary.c_str(), s.steps, s.start, s.end, std::pow(s.end / s.start, 1.0 / double(s.steps - 1)),
              config.momentum, config.batch, (unsigned long long)config.seed, s.smoothing, s.stop_factor);
  std::fflush(stdout);

  DataLoader loader(run.data().train, config.batch, /*shuffle=*/true, config.seed, run.normalization());
  loader.set_augment(parse_augment(config.augment));  // the batches training would see
  ProgressFn progress;
  const auto start = std::chrono::steady_clock::now();
  const bool terminal = stdout_is_terminal();
  if (terminal) {
    progress = [&](std::size_t step, std::size_t steps, double loss) {
      Progress p;
      p.label = "lr-find";
      p.done = step, p.total = steps, p.loss = loss;
      p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      p.items = double(step) * double(config.batch);
      p.detail = "lr " + format_number(s.start * std::pow(s.end / s.start, double(step - 1) / double(steps - 1)), 3);
      draw_progress_line(stdout, p);
    };
  }
  LrFindResult r;
  try {
    r = lr_range_test(run.model(), run.optimizer(), loader, s, &run.objective(), progress);
    if (terminal) clear_progress_line(stdout);
  } catch (const Interrupted& stop) {
    if (terminal) clear_progress_line(stdout);
    std::fflush(stdout);
    std::fprintf(stderr, "interrupted by %s at step %zu of %zu; no suggestion without the whole range, nothing written\n",
                 signal_name(stop.signal).c_str(), stop.step, stop.steps);
    return stop.exit_status();
  } catch (...) {
    if (terminal) clear_progress_line(stdout);
    throw;
  }

  std::printf("%s\n", format_lr_chart(r, s).c_str());
  if (r.stopped_early)
    std::printf("stopped early after %zu of %zu steps: %s\n", r.steps_taken, s.steps, r.stop_reason.c_str());
  else
    std::printf("ran all %zu steps without the loss exploding; a larger --end may show where it does\n", s.steps);
  std::printf("lowest smoothed loss %.4f at lr %.3g\n", r.smoothed[r.minimum], r.lrs[r.minimum]);
  std::printf("suggested learning rates:\n");
  std::printf("  steepest descent  %.3g   (the smoothed loss falls fastest here)\n", r.lrs[r.steep]);
  std::printf("  valley            %.3g   (fast.ai's rule: the middle of the longest fall; more cautious)\n",
              r.lrs[r.valley]);
  std::printf("the weights were restored; try `xgrad train --lr %.3g` with the same other flags, or compare both\n"
              "with `xgrad sweep --lr %.3g,%.3g`\n",
              r.lrs[r.steep], r.lrs[r.valley], r.lrs[r.steep]);
  if (!o.train.report.empty()) {
    LrFindReport report{run.data().name, run.summary_items(), s, r};
    // The Experiment's train line names an lr and epochs that lr-find does not use.
    report.config.erase(std::remove_if(report.config.begin(), report.config.end(),
                                       [](const auto& item) { return item.first == "train"; }),
                        report.config.end());
    report.config.push_back({"optimizer", "momentum " + format_number(config.momentum) + ", batch " + std::to_string(config.batch)});
    write_lr_find_report(o.train.report, report);
    print_report_path(o.train.report);
  }
  return 0;
}

}  // namespace xg
