#pragma once
// `xgrad gradcheck`: compares every parameter's backprop gradient with central
// finite differences on a small batch of real data, and fails (exit 1) when
// they disagree. The check itself is train/parameter_gradcheck.hpp; this file
// parses the flags and prints the banner and the table.
#include "apps/flags.hpp"
#include "train/parameter_gradcheck.hpp"

namespace CLI {
class App;
}

namespace xg {

struct GradcheckOptions {
  InspectOptions inspect;  // data, model, batch (8) and seed (also the sampled elements')
  GradcheckSettings settings;
  std::string scale_gradient;  // --scale-gradient NAME=FACTOR, parsed into settings by run_gradcheck
};

CLI::App* add_gradcheck_command(CLI::App& app, GradcheckOptions& options);
// Returns the exit status; throws InputError for bad flags or data.
int run_gradcheck(const GradcheckOptions& options);

}  // namespace xg
