#pragma once
// An Experiment is one training run built from TrainOptions: the data, the
// model, the optimizer and the loader, and the epoch loop. `xgrad train` runs
// one; `xgrad sweep` runs several that share the data.
#include <memory>

#include "apps/train_command.hpp"
#include "apps/training.hpp"
#include "layers/sequential.hpp"

namespace xg {

// Loads the data set named by the options, applies --classes and the limits.
std::shared_ptr<const ImageDataset> load_training_data(const TrainOptions& options);

class Experiment {
 public:
  // Validates the options and builds the model from the seed; throws InputError.
  Experiment(const TrainOptions& options, std::shared_ptr<const ImageDataset> data);

  // Trains one epoch (1-based) at the scheduled LR, then evaluates on the test set.
  EpochStats run_epoch(std::size_t epoch, const ProgressFn& progress = nullptr);

  const TrainOptions& options() const { return options_; }
  const ImageDataset& data() const { return *data_; }
  const Normalization& normalization() const { return norm_; }
  Sequential& model() { return *model_; }
  Optimizer& optimizer() { return *optimizer_; }
  // The test-set evaluation of the last epoch run.
  const Evaluation& last_evaluation() const { return last_; }
  // A one-line summary each of the data, the model and the optimizer settings.
  std::string describe() const;

 private:
  TrainOptions options_;
  std::shared_ptr<const ImageDataset> data_;
  Normalization norm_;
  std::shared_ptr<Sequential> model_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<DataLoader> loader_;
  Evaluation last_;
};

}  // namespace xg
