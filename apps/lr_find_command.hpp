#pragma once
// `xgrad lr-find`: the learning-rate range test (Smith 2017, "Cyclical Learning
// Rates for Training Neural Networks"; fast.ai's lr_find). The LR grows
// exponentially from `start` to `end` over `steps` mini-batches,
//   lr_i = start · (end/start)^(i/(steps-1)),   i = 0 … steps-1,
// the loss is smoothed by a bias-corrected exponential moving average
//   avg_i = β·avg_{i-1} + (1-β)·loss_i,   smoothed_i = avg_i / (1 - β^(i+1)),
// and the test stops early once smoothed_i > stop_factor · min_j≤i smoothed_j
// (or the loss stops being finite). The weights are restored afterwards.
#include "apps/train_command.hpp"
#include "train/lr_finder.hpp"

namespace CLI {
class App;
}

namespace xg {

struct LrFindOptions {
  TrainCommandOptions train;  // the model, data and optimizer flags of `train` (train.run)
  LrFindSettings settings;
};

CLI::App* add_lr_find_command(CLI::App& app, LrFindOptions& options);
int run_lr_find(const LrFindOptions& options);

}  // namespace xg
