#pragma once
// A learning-rate sweep: one Experiment per rate, all from the same initial
// weights and the same data order (same seed), so that only the rate differs;
// trained epoch by epoch, several runs at a time, one core each. Under mpirun
// (distribute) the rates are spread over the ranks and every rank ends each
// epoch with every run's records.
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "train/experiment.hpp"

namespace xg {

// One run of a sweep, as plain records (report/sweep_report.hpp shows them).
struct SweepRun {
  double base_lr = 0.0;
  std::vector<EpochStats> history;              // the epochs completed
  std::optional<TrainingDiverged> diverged;     // where it stopped, if it did
  std::vector<double> curve_x, curve_y;         // training loss over 20-step windows, x in epochs
  double initial_loss = 0.0;                    // the loss of its first step (NaN before it)
  std::size_t steps_per_epoch = 0;
  bool finished() const { return !diverged; }
};

// Called during a sweep's epoch with (run index, step, steps in the epoch,
// running mean loss), every few steps of each run, from the worker threads:
// it must be thread-safe.
using SweepProgressFn = std::function<void(std::size_t, std::size_t, std::size_t, double)>;

class Sweep {
 public:
  // One run per rate of `base` with lr replaced; each also stops when its loss
  // exceeds explode_factor x its first loss. Throws InputError for a bad config.
  Sweep(const TrainConfig& base, const std::vector<double>& rates, double explode_factor,
        std::shared_ptr<const Dataset> data);
  // Trains every run that has not diverged through `epoch` (1-based), `jobs`
  // at a time; the results do not depend on `jobs`. Returns false when no run
  // was left to train. Throws Interrupted when SIGINT or SIGTERM asked to
  // stop (train/interrupt.hpp); runs() then hold the epochs before `epoch`.
  bool run_epoch(std::size_t epoch, int jobs, const SweepProgressFn& progress = nullptr);
  // Rank r of n trains runs r, r + n, r + 2n, …; after each epoch the ranks
  // exchange their runs' records (train/distributed.hpp). One rank: all runs.
  void distribute(const Communicator& comm) { comm_ = &comm; }
  const std::vector<SweepRun>& runs() const { return runs_; }
  const Experiment& experiment(std::size_t i) const { return *experiments_[i]; }
  // The held-out confusion matrix of run i's last epoch (trained on any rank).
  const ConfusionMatrix& confusion(std::size_t i) const;
  // The finished run with the lowest final held-out loss; -1 when every rate diverged.
  int best() const;

 private:
  std::vector<SweepRun> runs_;
  std::vector<std::unique_ptr<Experiment>> experiments_;
  const Communicator* comm_ = nullptr;
  std::vector<ConfusionMatrix> confusions_;  // runs trained on other ranks: their last evaluation's
  bool mine(std::size_t i) const { return !comm_ || int(i % std::size_t(comm_->size())) == comm_->rank(); }
  void exchange_records();
};

}  // namespace xg
