#pragma once
// Checkpoints: a trained model as a safetensors file that PyTorch loads with
// no conversion, and the training state beside it so that a run can resume.
//
//   PATH         the model: tensors "0.weight", "0.bias", "2.weight", … exactly
//                as torch.nn.Sequential's state_dict names them, and under
//                __metadata__["xgrad"] one JSON document (ModelInfo) with what
//                is needed to rebuild and use the model (docs/CHECKPOINTS.md).
//   PATH.state   the optimizer's state ("optimizer.velocity.0", …) and, under
//                __metadata__["xgrad_state"], the epoch, the best test loss and
//                the metrics lines so far: with PATH, all a run needs to go on.
//
// Every file is written to a temporary file in the same directory, flushed and
// renamed, so a crash never leaves a truncated checkpoint in place of a good one.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/train_command.hpp"
#include "core/safetensors.hpp"
#include "datasets/dataset.hpp"
#include "layers/sequential.hpp"
#include "optim/optimizer.hpp"

namespace xg {

class Experiment;

// The "xgrad" metadata document of a model file.
struct ModelInfo {
  std::vector<std::size_t> layers;          // sizes, input first: {784, 256, 128, 10}
  std::string activation = "relu";          // between the Linear layers: relu, tanh, sigmoid, leaky_relu
  float dropout = 0.0f;                     // Dropout(p) after each activation; 0: none
  std::string head = "softmax_cross_entropy";  // or "sigmoid": one output, P(class 1) = sigmoid(z)
  std::vector<std::size_t> input_shape;     // {rows, cols} for images, {features} for tables
  std::vector<std::string> features;        // tables: the feature (column) names; images: none
  std::vector<float> mean, std;             // x_norm = (x/255 - mean)/std, one value (images); (x - mean_j)/std_j per feature (tables)
  std::vector<std::string> classes;
  nlohmann::json config = nlohmann::json::object();  // the training flags, by flag name
  std::uint64_t seed = 0;
  std::string version;                      // xgrad's version that wrote it
  std::string data_sha256;                  // of the training split (data_sha256 below)
  std::size_t epoch = 0;                    // epochs trained
};

nlohmann::json model_info_json(const ModelInfo& info);
// Throws InputError naming `source` and the field that is missing or wrong.
ModelInfo model_info_from_json(const nlohmann::json& doc, const std::string& source);

struct LoadedModel {
  std::string path;  // the file, for messages
  ModelInfo info;
  std::shared_ptr<Sequential> model;
  Normalization normalization() const;  // info's mean and std
  bool takes_tables() const;            // trained on CSV rows (input_shape {features}), not images
  TrainOptions training_options() const;  // the flags of the run that trained it (info.config)
};

// Writes the model file atomically.
void save_model(const std::string& path, const Sequential& model, const ModelInfo& info);
// Reads a model file and rebuilds the model from its metadata. Throws InputError
// (one line) for a malformed file, bad metadata, or a tensor that is missing,
// unexpected or of the wrong shape (naming the tensor and both shapes).
LoadedModel load_model(const std::string& path);
// Copies the tensors of `file` into `model`'s parameters, checking names and shapes.
void load_weights(Sequential& model, const Safetensors& file, const std::string& source);

// The data set to use a model with, its test split the items to evaluate, with
// the model's class names:
//   - no `data_flag`: the training run's data (its --data, CSV split, --classes-subset);
//   - an image directory: its test images (with the run's --classes-subset);
//   - a CSV file (a table model): every row of it, labels from the model's classes.
// Throws InputError when the items do not fit the model (size, kind, labels),
// or when a table model's training file has changed since (its test split
// would no longer be held out).
Dataset load_data_for_model(const LoadedModel& model, const std::string& data_flag);
// The class scores (count, classes) of the items, normalised as in training,
// whose softmax is the model's class probabilities: the logits of a softmax
// model; for a --head sigmoid model (one output z) the two columns (0, z),
// since softmax(0, z) = (1 - sigmoid(z), sigmoid(z)).
Array model_logits(LoadedModel& model, const Split& items);

// SHA-256 of bytes, as 64 hex digits.
std::string sha256_hex(const std::uint8_t* data, std::size_t size);
// SHA-256 of a training split: its items (image bytes, or table values as
// float32 little-endian), then its labels as uint32 little-endian.
std::string data_sha256(const Split& train);

// Where the training state of the model file `path` goes.
std::string state_path(const std::string& model_path);

// The training options of a `--resume PATH` run: the checkpoint's flags, with
// --epochs and the output flags (--save, --metrics, --quiet, …) from the command
// line. A training flag given on the command line must equal the checkpoint's.
TrainOptions resume_options(const TrainOptions& command_line);

// Saves after every epoch (--save, --save-best) and restores a run (--resume).
class Checkpointer {
 public:
  // Checks the output paths are writable; with --resume, loads the model and
  // the optimizer state into `run` and checks the data is the same.
  Checkpointer(const TrainOptions& options, Experiment& run);
  // The first epoch to run (1, or the one after the checkpoint's).
  std::size_t first_epoch() const { return epoch_ + 1; }
  // The metrics lines of the epochs before first_epoch() (to continue --metrics).
  const std::string& metrics_text() const { return metrics_text_; }
  // After each epoch: saves --save (and its state) and, if the test loss is
  // the best so far, --save-best. `metrics_text` is the metrics file so far.
  void after_epoch(std::size_t epoch, double test_loss, const std::string& metrics_text);

 private:
  ModelInfo info_for(std::size_t epoch) const;
  const TrainOptions& options_;
  Experiment& run_;
  std::size_t epoch_ = 0;
  double best_loss_;
  std::vector<double> losses_;  // the monitored (validation or test) loss of each epoch so far
  std::string data_sha256_;
  std::string metrics_text_;
};

}  // namespace xg
