#include "apps/gradcheck_command.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <CLI/CLI.hpp>
#include <omp.h>

#include "train/experiment.hpp"
#include "core/error.hpp"

namespace xg {

CLI::App* add_gradcheck_command(CLI::App& app, GradcheckOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "gradcheck", "Compare every parameter's backprop gradient with central finite differences on real data");
  add_inspect_flags(cmd, o.inspect);
  cmd->add_option("--samples", o.settings.samples, "Elements checked per parameter, chosen at random (0: all)")
      ->capture_default_str();
  cmd->add_option("--step", o.settings.step, "Step h of the central difference")->capture_default_str();
  cmd->add_option("--atol", o.settings.atol, "Absolute tolerance")->capture_default_str();
  cmd->add_option("--rtol", o.settings.rtol, "Tolerance relative to the finite difference")->capture_default_str();
  return cmd;
}

int run_gradcheck(const GradcheckOptions& o) {
  if (!(o.settings.step > 0.0) || !std::isfinite(o.settings.step)) throw InputError("--step must be a positive number");
  if (!(o.settings.atol >= 0.0) || !(o.settings.rtol >= 0.0)) throw InputError("--atol and --rtol must be >= 0");
  // Thousands of tiny forward passes: threads would cost more than they save.
  omp_set_num_threads(1);
  InspectedBatch step = first_training_batch(inspect_config(o.inspect));
  Experiment& run = *step.run;
  const std::size_t rows = step.y.size();
  std::printf("model  %s\nbatch  the first %zu training images of %s; loss = softmax cross-entropy, mean over the batch\n",
              run.model().describe().c_str(), rows, run.data().name.c_str());
  std::printf("check  central differences in double precision, h = %g; %s\n\n", o.settings.step,
              o.settings.samples ? (std::to_string(o.settings.samples) + " random elements per parameter").c_str()
                                 : "every element");
  Rng rng(o.inspect.seed);
  const auto checks = check_parameter_gradients(run.model(), step.x, step.y, o.settings, rng);
  std::printf("%s", format_parameter_checks(checks, o.settings).c_str());
  std::fflush(stdout);
  return all_passed(checks) ? 0 : 1;
}

}  // namespace xg
