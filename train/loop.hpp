#pragma once
// The training loop and evaluation. One step reads, as in PyTorch:
//   zero_grad();  logits = model(x);  loss = softmax_cross_entropy(logits, y);
//   loss.backward();  step();
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/dataloader.hpp"
#include "train/forensics.hpp"
#include "datasets/image_dataset.hpp"
#include "layers/module.hpp"
#include "metrics/confusion_matrix.hpp"
#include "optim/optimizer.hpp"

namespace xg {

class Communicator;
class GradientReducer;

// The sweep's extra divergence rule: a finite loss above factor x the run's
// first loss also stops the run (the first loss is recorded on the first step).
// Watches every training step (e.g. train/diagnostics.hpp); train_epoch calls it.
struct StepObserver {
  virtual ~StepObserver() = default;
  virtual void after_backward(const Tensor& loss) = 0;  // gradients ready, weights not yet updated
  virtual void after_step() = 0;                        // after the optimizer's update
  // Whether after_backward reads (or changes) the parameters' gradients. When no
  // observer does, train_epoch may let the optimizer update the weights inside
  // the backward pass, which stores no gradients (Optimizer::begin_update_in_backward).
  virtual bool reads_gradients() const { return true; }
};

// Two observers as one; either may be null.
struct ObserverPair : StepObserver {
  StepObserver* first = nullptr;
  StepObserver* second = nullptr;
  void after_backward(const Tensor& loss) override {
    if (first) first->after_backward(loss);
    if (second) second->after_backward(loss);
  }
  void after_step() override {
    if (first) first->after_step();
    if (second) second->after_step();
  }
  bool reads_gradients() const override {
    return (first && first->reads_gradients()) || (second && second->reads_gradients());
  }
};

// A run's divergence state across epochs: the sweep's extra rule (a finite
// loss above factor x the run's first loss also stops it) and the losses the
// forensics report.
struct ExplosionRule {
  double factor = 0.0;  // 0: off, only a non-finite loss or gradient stops a run
  double initial_loss = std::numeric_limits<double>::quiet_NaN();  // the run's first loss
  double last_loss = std::numeric_limits<double>::quiet_NaN();     // the last healthy step's loss
};

struct EpochStats {
  std::size_t epoch = 0;    // 1-based
  double train_loss = 0.0;  // mean over the epoch's batches, weighted by batch size
  double train_acc = 0.0;   // the fraction of training items the model got right as it trained (Keras's "accuracy")
  double test_loss = 0.0;
  double test_acc = 0.0;
  double lr = 0.0;
  double seconds = 0.0;  // wall time of the training loop, evaluation excluded
  int threads = 0;       // the threads the epoch's GEMMs ended up using
  bool validation = false;  // --val-split: test_loss and test_acc are the validation set's
};

// The epoch as a JSON line of a metrics file: epoch, train_loss, train_acc,
// test_loss and test_acc (val_loss and val_acc with --val-split), lr, seconds, threads.
nlohmann::json epoch_json(const EpochStats& stats);
// The line of the epoch in which training diverged: the same keys, the figures
// the epoch never reached null (NaN in JSON Lines), lr the rate that failed,
// and "diverged": true, "step" and "reason" (the message).
nlohmann::json diverged_epoch_json(const TrainingDiverged& diverged, bool validation);
// The epoch of such a line (a resumed run's earlier epochs); fields it lacks stay 0, null is NaN.
EpochStats epoch_from_json(const nlohmann::json& line);

// Called every few steps with (step, steps in the epoch, running mean loss).
using ProgressFn = std::function<void(std::size_t, std::size_t, double)>;

// What a step minimises when it is not plain softmax cross-entropy
// (train/build.hpp builds it from the flags).
struct Objective {
  // The data loss of a batch from the model's outputs (also the evaluation loss).
  std::function<Tensor(const Tensor& outputs, const std::vector<std::uint32_t>& labels)> loss;
  std::function<Tensor()> penalty;  // added to the training loss only; may be empty
  double clip_grad_norm = 0.0;      // 0: off
  bool binary = false;              // one output per item (sigmoid head): class 1 iff it is > 0
};

struct TrainResult {
  double loss = 0.0;      // mean training loss, weighted by batch size
  double accuracy = 0.0;  // fraction of the items whose prediction (at the step that saw them) was right
};

// One pass over `loader` (start_epoch must have been called): the mean
// training loss and accuracy. Throws TrainingDiverged at the first non-finite
// loss or gradient (or, with an active `explosion` rule, a loss above its
// limit), and Interrupted before a step once SIGINT or SIGTERM asked to stop
// (train/interrupt.hpp). Without an `objective` the loss is softmax_cross_entropy.
// Data-parallel (train/distributed.hpp): with a `reducer`, the loader gives
// this rank's shard of each batch, and the reducer sums the ranks' gradients
// before the update; losses, accuracy and progress are the global batch's.
TrainResult train_epoch(Module& model, Optimizer& optimizer, DataLoader& loader, std::size_t epoch,
                   const ProgressFn& progress = nullptr, ExplosionRule* explosion = nullptr,
                   StepObserver* observer = nullptr, const Objective* objective = nullptr,
                   GradientReducer* reducer = nullptr);

// The class scores (rows, classes) of a batch of model outputs, whose softmax
// is the model's class probabilities: the logits themselves, or for a sigmoid
// head (one output z per row) the two columns (0, z), since
// softmax(0, z) = (1 - sigmoid(z), sigmoid(z)).
Array class_scores(const Tensor& outputs, bool sigmoid_head);

struct Evaluation {
  double loss = 0.0;  // mean softmax cross-entropy
  ConfusionMatrix confusion;
  double accuracy() const { return confusion.accuracy(); }
};

// Items per evaluation batch (per rank): 1000, or fewer when one item's largest
// activation is large (a CNN's first convolution: 16 x 28 x 28 values), so that
// a batch's largest activation stays near 4M floats (16 MB) and evaluation does
// not need more memory than training (at least 64). Each item's outputs are the
// same whatever the batch, so results do not depend on it.
std::size_t evaluation_batch(Module& model, const Split& set);

// Loss and confusion matrix of `model` over all of `set`, in eval mode and
// without recording a graph.
// The loss is the objective's data loss (softmax cross-entropy without one).
// With a communicator of several ranks, each evaluates its shard of every
// batch and the loss sums and confusion counts are summed over the ranks.
Evaluation evaluate(Module& model, const Split& set, const Normalization& norm, std::size_t num_classes,
                    const Objective* objective = nullptr, const Communicator* comm = nullptr);

}  // namespace xg
