#pragma once
// `xgrad sweep`: one training run per learning rate, all from the same initial
// weights and the same data order (same seed), so that only the LR differs.
#include <string>
#include <vector>

#include "apps/train_command.hpp"

namespace CLI {
class App;
}

namespace xg {

struct SweepOptions {
  TrainCommandOptions train;  // every `train` flag (train.run); train.run.lr is replaced by each rate in turn
  std::string lrs;            // --lr "0.001,0.01,0.1,1"
  std::string lr_range;       // --lr-range "1e-4:1:8": 8 rates log-spaced from 1e-4 to 1
  int jobs = 0;               // runs trained at the same time; 0: automatic
  double explode_factor = 1e3;  // a loss above this x the run's first loss counts as diverged
};

CLI::App* add_sweep_command(CLI::App& app, SweepOptions& options);

// The rates named by --lr or --lr-range (exactly one of them), ascending as
// given. Throws InputError naming the flag.
std::vector<double> sweep_learning_rates(const SweepOptions& options);

// Returns the exit status: 0 when at least one run finished, 3 when every
// rate diverged. Throws InputError for bad input.
int run_sweep(const SweepOptions& options);

}  // namespace xg
