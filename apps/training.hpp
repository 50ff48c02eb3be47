#pragma once
// The training loop and evaluation, shared by the `xgrad` subcommands and the
// tests. One step reads, as in PyTorch:
//   zero_grad();  logits = model(x);  loss = softmax_cross_entropy(logits, y);
//   loss.backward();  step();
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "datasets/dataloader.hpp"
#include "datasets/image_dataset.hpp"
#include "layers/module.hpp"
#include "metrics/confusion_matrix.hpp"
#include "optim/optimizer.hpp"

namespace xg {

// Thrown when a training loss stops being finite; `xgrad` exits with status 3.
struct TrainingDiverged : std::runtime_error {
  TrainingDiverged(std::size_t epoch, std::size_t step, float lr, float loss, double last_good_loss);
  std::size_t epoch, step;  // 1-based epoch, 1-based step within it
  float lr, loss;
  double last_good_loss;  // the previous step's loss (NaN if none)
};

struct EpochStats {
  std::size_t epoch = 0;    // 1-based
  double train_loss = 0.0;  // mean over the epoch's batches, weighted by batch size
  double test_loss = 0.0;
  double test_acc = 0.0;
  double lr = 0.0;
  double seconds = 0.0;  // wall time of the training loop, evaluation excluded
};

// Called every few steps with (step, steps in the epoch, running mean loss).
using ProgressFn = std::function<void(std::size_t, std::size_t, double)>;

// One pass over `loader` (start_epoch must have been called): returns the mean
// training loss. Throws TrainingDiverged at the first non-finite loss.
double train_epoch(Module& model, Optimizer& optimizer, DataLoader& loader, std::size_t epoch,
                   const ProgressFn& progress = nullptr);

struct Evaluation {
  double loss = 0.0;  // mean softmax cross-entropy
  ConfusionMatrix confusion;
  double accuracy() const { return confusion.accuracy(); }
};

// Loss and confusion matrix of `model` over all of `set`, in eval mode and
// without recording a graph.
Evaluation evaluate(Module& model, const ImageSet& set, const Normalization& norm, std::size_t num_classes);

// The learning rate for a 1-based epoch: "none" keeps base_lr; "cosine"
// anneals from base_lr at epoch 1 toward 0 after the last epoch:
//   lr_e = base_lr · ½ (1 + cos(π (e-1) / epochs))
double scheduled_lr(const std::string& schedule, double base_lr, std::size_t epoch, std::size_t epochs);

}  // namespace xg
