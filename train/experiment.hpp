#pragma once
// An Experiment is one training run built from a TrainConfig: the data, the
// model, the optimizer and the loader, and the epoch loop. `xgrad train` runs
// one; a sweep (train/sweep.hpp) runs several that share the data.
#include <limits>
#include <memory>

#include "train/diagnostics.hpp"
#include "train/distributed.hpp"
#include "train/thread_chooser.hpp"
#include "train/build.hpp"
#include "train/config.hpp"
#include "train/loop.hpp"
#include "layers/sequential.hpp"

namespace xg {

// The data set --data names (an IDX directory or a CSV file with --label-col,
// --test, --test-split and --seed), as read.
Dataset load_dataset(const TrainConfig& options);
// load_dataset, then --classes, --classes-subset and the limits applied.
Dataset prepare_training_data(const TrainConfig& options);
// The same, to share between experiments (a sweep's runs).
std::shared_ptr<const Dataset> load_training_data(const TrainConfig& options);

class Experiment {
 public:
  // Validates the options and builds the model from the seed; throws InputError.
  Experiment(const TrainConfig& config, std::shared_ptr<const Dataset> data);

  // Trains one epoch (1-based) at the scheduled LR, then evaluates on the test set.
  EpochStats run_epoch(std::size_t epoch, const ProgressFn& progress = nullptr);

  const TrainConfig& config() const { return config_; }
  const Dataset& data() const { return *data_; }
  const Normalization& normalization() const { return norm_; }
  Sequential& model() { return *model_; }
  Optimizer& optimizer() { return *optimizer_; }
  // What a step minimises: the loss the flags chose, penalties, clipping.
  const Objective& objective() const { return objective_; }
  // The test-set evaluation of the last epoch run.
  const Evaluation& last_evaluation() const { return last_; }
  // With config().diagnostics: the per-layer figures of every epoch run so far (else empty).
  const std::vector<std::vector<LayerDiagnostics>>& diagnostics_history() const { return diagnostics_history_; }
  // Also stop (TrainingDiverged) when a loss exceeds factor x the first one (sweeps use 1e3; 0: off).
  void set_explosion_factor(double factor) { explosion_.factor = factor; }
  // The loss of the run's first training step (NaN before it).
  double initial_loss() const { return explosion_.initial_loss; }
  std::size_t steps_per_epoch() const { return loader_->num_batches(); }
  // --val-split: the held-out part of the training set is what run_epoch evaluates.
  bool has_validation() const { return validation_.count > 0; }
  // --early-stop: true once the monitored (validation or test) loss has not
  // improved for that many epochs.
  bool should_stop() const { return config_.early_stop && epochs_since_best_ >= config_.early_stop; }
  // --resume: replays the monitored (validation or test) loss of each epoch
  // already run, so that the schedule (plateau included) and early stopping
  // continue exactly where the saved run was.
  void restore_history(const std::vector<double>& monitored_losses);
  // Evaluates on the test set now (with --val-split, once, after the last epoch)
  // and makes that the last evaluation.
  const Evaluation& evaluate_test();
  // Data-parallel training over `comm`'s ranks (train/distributed.hpp): call
  // on every rank after any --resume has loaded; rank 0's parameters and
  // optimizer state go to every rank, each trains on its shard of every batch
  // and evaluates its shard of the held-out set. One rank: nothing changes.
  void distribute(const Communicator& comm);
  // --threads 0 in `xgrad train`: pick all cores or one at each epoch by timing (train/thread_chooser.hpp).
  void choose_threads(int cores);
  // A one-line summary each of the data, the model and the optimizer settings.
  std::string describe() const;
  // The same as key/value pairs ("data", "model", "train"), then the seed,
  // threads and limits: the configuration table of a report.
  std::vector<std::pair<std::string, std::string>> summary_items() const;

 private:
  TrainConfig config_;
  std::shared_ptr<const Dataset> data_;
  Normalization norm_;
  std::shared_ptr<Sequential> model_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<DataLoader> loader_;
  Evaluation last_;
  Split train_, validation_;     // --val-split only: the training set split in two
  Objective objective_;             // loss, penalties, clipping (train/build.hpp)
  std::unique_ptr<LRSchedule> schedule_;
  double best_loss_ = std::numeric_limits<double>::infinity();
  std::size_t epochs_since_best_ = 0;
  void after_epoch(double monitored_loss);  // schedule step and early-stopping count
  ExplosionRule explosion_;
  std::unique_ptr<Diagnostics> diagnostics_;  // null without --diagnostics
  std::unique_ptr<ThreadChooser> threads_;    // null unless choose_threads()
  const Communicator* comm_ = nullptr;        // null unless distribute()
  std::unique_ptr<GradientReducer> reducer_;  // null unless distribute() over several ranks
  std::vector<std::vector<LayerDiagnostics>> diagnostics_history_;
};

// The model that config's data, hidden, seed (and the rest) make, with the
// first config.batch training items in file order, normalised as in training:
// the one step that `xgrad gradcheck` and `xgrad graph` inspect.
struct InspectedBatch {
  std::unique_ptr<Experiment> run;
  Array x;                       // (rows, features)
  std::vector<std::uint32_t> y;  // rows labels
};
InspectedBatch first_training_batch(const TrainConfig& config);

}  // namespace xg
