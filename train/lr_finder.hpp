#pragma once
// The learning-rate range test (`xgrad lr-find`) (Smith 2017, "Cyclical Learning
// Rates for Training Neural Networks"; fast.ai's lr_find). The LR grows
// exponentially from `start` to `end` over `steps` mini-batches,
//   lr_i = start · (end/start)^(i/(steps-1)),   i = 0 … steps-1,
// the loss is smoothed by a bias-corrected exponential moving average
//   avg_i = β·avg_{i-1} + (1-β)·loss_i,   smoothed_i = avg_i / (1 - β^(i+1)),
// and the test stops early once smoothed_i > stop_factor · min_j≤i smoothed_j
// (or the loss stops being finite). The weights are restored afterwards.
#include <cstddef>
#include <string>
#include <vector>

#include "datasets/dataloader.hpp"
#include "layers/module.hpp"
#include "optim/optimizer.hpp"
#include "train/loop.hpp"

namespace xg {

struct LrFindSettings {
  double start = 1e-7, end = 10.0;
  std::size_t steps = 100;
  double smoothing = 0.98;   // β of the moving average
  double stop_factor = 4.0;  // stop when the smoothed loss exceeds this x its minimum
};

struct LrFindResult {
  std::vector<double> lrs, losses, smoothed;  // one per step taken (finite losses only)
  bool stopped_early = false;                 // before reaching `end`
  std::string stop_reason;                    // why, when it stopped early
  std::size_t steps_taken = 0;                // mini-batches run (the last may have been the explosion)
  // The suggestions look, as fast.ai's do, at the curve without its first
  // tenth (the warm-up of the average) and its last 5 points (the explosion).
  std::size_t steep = 0;   // index of the steepest descent of the smoothed loss (per log10 LR)
  std::size_t valley = 0;  // index chosen by fast.ai's 'valley' rule
  std::size_t minimum = 0; // index of the smallest smoothed loss
};

// Throws InputError naming the flag.
void validate_lr_find_settings(const LrFindSettings& settings);

// Runs the test on `model` with `optimizer` (whose LR it sets at every step),
// cycling through `loader`'s epochs when `steps` exceeds one epoch. The loss is
// `objective`'s (its data loss, penalty and clipping, as training uses them),
// or softmax cross-entropy without one. `progress` gets (step, steps, loss)
// about every 1% of the steps. Restores every parameter's value before
// returning (the optimizer's own state, e.g. momentum, is left as the test
// made it). Throws InputError when fewer than 3 finite losses were seen, and
// Interrupted (weights restored) once SIGINT or SIGTERM asked to stop
// (train/interrupt.hpp).
LrFindResult lr_range_test(Module& model, Optimizer& optimizer, DataLoader& loader, const LrFindSettings& settings,
                           const Objective* objective = nullptr, const ProgressFn& progress = nullptr);

// The suggestion rules, on a curve of losses against log-spaced LRs:
// steepest descent: argmin of d(loss)/d(log lr) (forward differences);
std::size_t steepest_descent_index(const std::vector<double>& lrs, const std::vector<double>& losses);
// valley (fast.ai): the middle of the longest fall, a longest decreasing
// subsequence of the curve (fast.ai's "half-way into its middle third" is that
// middle).
std::size_t valley_index(const std::vector<double>& losses);


}  // namespace xg
