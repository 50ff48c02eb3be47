#include "apps/gradcheck_command.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <CLI/CLI.hpp>
#include <omp.h>

#include "train/experiment.hpp"
#include "core/error.hpp"
#include "io/number_text.hpp"
#include "losses/softmax_cross_entropy.hpp"

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
  cmd->add_option("--scale-gradient", o.scale_gradient,
                  "NAME=FACTOR: multiply parameter NAME's backprop gradient by FACTOR before comparing, to see the "
                  "check fail on a wrong gradient (e.g. 0.weight=1.5)");
  return cmd;
}

int run_gradcheck(const GradcheckOptions& o) {
  if (!(o.settings.step > 0.0) || !std::isfinite(o.settings.step)) throw InputError("--step must be a positive number");
  if (!(o.settings.atol >= 0.0) || !(o.settings.rtol >= 0.0)) throw InputError("--atol and --rtol must be >= 0");
  GradcheckSettings settings = o.settings;
  if (!o.scale_gradient.empty()) {
    const std::size_t eq = o.scale_gradient.find('=');
    if (eq == std::string::npos || eq == 0)
      throw InputError("--scale-gradient: '" + o.scale_gradient + "' is not NAME=FACTOR (e.g. 0.weight=1.5)");
    settings.scaled_parameter = o.scale_gradient.substr(0, eq);
    settings.gradient_scale = parse_number("--scale-gradient", o.scale_gradient.substr(eq + 1), "a number after '='");
  }
  // Thousands of tiny forward passes: threads would cost more than they save.
  omp_set_num_threads(1);
  InspectedBatch step = first_training_batch(inspect_config(o.inspect));
  Experiment& run = *step.run;
  bool named = settings.scaled_parameter.empty();
  for (const auto& [name, parameter] : run.model().named_parameters()) named = named || name == settings.scaled_parameter;
  if (!named) throw InputError("--scale-gradient: the model has no parameter named '" + settings.scaled_parameter + "'");
  const std::size_t rows = step.y.size();
  std::printf("model  %s\nbatch  the first %zu training images of %s; loss = softmax cross-entropy, mean over the batch\n",
              run.model().describe().c_str(), rows, run.data().name.c_str());
  std::printf("check  central differences (L(w+h) - L(w-h)) / 2h, h = %g; %s\n", o.settings.step,
              o.settings.samples ? (std::to_string(o.settings.samples) + " random elements per parameter").c_str()
                                 : "every element");
  // What is computed in which precision (core/gradcheck.cpp, train/parameter_gradcheck.cpp).
  const float loss = softmax_cross_entropy(run.model()(Tensor(step.x)), step.y).item();
  const double ulp = double(std::nextafter(loss, INFINITY)) - double(loss);
  std::printf("       the model, the loss and backprop run in float32, as in training; w+h and w-h are rounded to\n"
              "       float32 (the step taken is measured); only the difference and the quotient are in double. So\n"
              "       the loss's float32 rounding (L = %.4f, 1 ulp = %.2g) over 2h limits the agreement to about\n"
              "       %.1g absolute: relative errors near 1e-2 on gradients near 1e-3 are that noise, not a bug\n\n",
              double(loss), ulp, ulp / (2.0 * o.settings.step));
  // How kinks are accounted for (train/parameter_gradcheck.hpp).
  std::printf("kinks  a nudge that moves ReLU inputs across 0 or changes max-pool winners (a crossing) moves the\n"
              "       difference by at most sum |dL/d(unit)| * overshoot / 2h over the crossed units, to first\n"
              "       order: that bound is added to the element's tolerance (column 'kinked'). Where it exceeds\n"
              "       %g%% of |numeric|, the element is differenced again at h = %g with atol %g (float32's noise\n"
              "       grows as h shrinks; column 'at h/10'), and set aside if it still does ('aside')\n\n",
              100.0 * settings.kink_share, settings.step / 10.0, settings.atol * 10.0);
  if (settings.gradient_scale != 1.0)
    std::printf("test   %s's backprop gradient is multiplied by %g before it is compared (--scale-gradient)\n\n",
                settings.scaled_parameter.c_str(), settings.gradient_scale);
  Rng rng(o.inspect.seed);
  const auto checks = check_parameter_gradients(run.model(), step.x, step.y, settings, rng);
  std::printf("%s", format_parameter_checks(checks, settings).c_str());
  std::fflush(stdout);
  return all_passed(checks) ? 0 : 1;
}

}  // namespace xg
