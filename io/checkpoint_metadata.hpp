#pragma once
// The JSON documents in a checkpoint's metadata (docs/CHECKPOINTS.md): a model
// file's "xgrad" document (ModelInfo) and its PATH.state file's "xgrad_state"
// document (TrainingState). Plain data and their checks, nothing built: a
// reader parses them (io/json_input.hpp, nesting limited), checks every field's
// type and range here, and compares them with the tensors before anything big
// is allocated (io/model_file.hpp, train/checkpoint.hpp).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace xg {

// The "xgrad" metadata document of a model file.
struct ModelInfo {
  // "mlp": Linear layers of the sizes in `layers`, with `activation` and `dropout`
  // between them; otherwise the layer list of xgrad train --arch
  // (layers/architecture.hpp), e.g. "conv16k3p1,relu,maxpool2,…,fc".
  std::string arch = "mlp";
  std::vector<std::size_t> layers;          // mlp: sizes, input first: {784, 256, 128, 10}; else {inputs, outputs}
  std::vector<std::size_t> input_chw;       // not mlp: the network's input (channels, height, width), e.g. {1, 28, 28}
  std::string activation = "relu";          // between the Linear layers: relu, tanh, sigmoid, leaky_relu
  float dropout = 0.0f;                     // Dropout(p) after each activation; 0: none
  std::string head = "softmax_cross_entropy";  // or "sigmoid": one output, P(class 1) = sigmoid(z)
  std::vector<std::size_t> input_shape;     // {rows, cols} or {channels, rows, cols} for images, {features} for tables
  std::vector<std::string> features;        // tables: the feature (column) names; images: none
  std::vector<float> mean, std;             // x_norm = (x/255 - mean_c)/std_c per channel (images); (x - mean_j)/std_j per feature (tables)
  std::vector<std::string> classes;
  nlohmann::json config = nlohmann::json::object();  // the training run's TrainConfig (train/config.hpp), by key
  std::uint64_t seed = 0;
  std::string version;                      // xgrad's version that wrote it
  std::string data_sha256;                  // of the training split (train/checkpoint.hpp data_sha256)
  std::size_t epoch = 0;                    // epochs trained
  // The held-out figures of that epoch: {"test_loss", "test_acc"} (or
  // "val_loss", "val_acc" with --val-split); empty when not known.
  nlohmann::json evaluation = nlohmann::json::object();
};

// xgrad's version, as model files record it.
extern const char* const kXgradVersion;

nlohmann::json model_info_json(const ModelInfo& info);
// Throws InputError naming `source` and the field that is missing, of the wrong
// type, or out of range (sizes, the normalisation's mean and std).
ModelInfo model_info_from_json(const nlohmann::json& doc, const std::string& source);

// The "xgrad_state" document of a PATH.state file: what a run needs, besides
// the model and the optimizer's tensors, to go on after `epoch`.
struct TrainingState {
  std::size_t epoch = 0;                  // the last finished epoch
  bool has_best_loss = false;
  double best_test_loss = 0.0;            // the lowest monitored loss so far (for --save-best)
  std::string metrics;                    // the --metrics lines so far (JSON objects, one per line)
  bool has_losses = false;                // false in a state of an older xgrad
  std::vector<double> monitored_losses;   // the validation or test loss of each finished epoch
};

// Parses and checks an "xgrad_state" document's text. Throws InputError naming
// `source` and the field: the wrong type, a metrics line that is not a JSON
// object of a finished epoch, monitored_losses not one per finished epoch.
TrainingState training_state_from_text(const std::string& text, const std::string& source);

}  // namespace xg
