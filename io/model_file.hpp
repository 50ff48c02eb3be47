#pragma once
// Model files: a trained model as a safetensors file that PyTorch loads with
// no conversion (docs/CHECKPOINTS.md).
//
//   tensors        "0.weight", "0.bias", "2.weight", … exactly as
//                  torch.nn.Sequential's state_dict names them, in PyTorch's
//                  layouts (Linear weight (out, in))
//   __metadata__   "xgrad": one JSON document (ModelInfo) with what is needed to
//                  rebuild and use the model; "format": "pt"
//
// The file is written to a temporary file in the same directory, flushed and
// renamed (io/atomic_file.hpp), so a crash never leaves a truncated model in
// place of a good one.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/safetensors.hpp"
#include "layers/sequential.hpp"

namespace xg {

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
// Throws InputError naming `source` and the field that is missing or wrong.
ModelInfo model_info_from_json(const nlohmann::json& doc, const std::string& source);

// The architecture the metadata describes (make_mlp's spec): module positions,
// and so tensor names, are those the model was saved with.
MlpSpec mlp_spec(const ModelInfo& info);

struct LoadedModel {
  std::string path;  // the file, for messages
  ModelInfo info;
  std::shared_ptr<Sequential> model;
  bool takes_tables() const { return info.input_shape.size() == 1; }  // trained on CSV rows, not images
  bool sigmoid_head() const { return info.head == "sigmoid"; }
};

// Writes the model file atomically.
void save_model(const std::string& path, const Sequential& model, const ModelInfo& info);
// The bytes save_model writes (train/checkpoint.hpp records their SHA-256 in the training state).
std::string encode_model(const Sequential& model, const ModelInfo& info);
// Reads a model file and rebuilds the model from its metadata. Throws InputError
// (one line) for a malformed file, bad metadata, or a tensor that is missing,
// unexpected or of the wrong shape (naming the tensor and both shapes).
LoadedModel load_model(const std::string& path);
// Copies the tensors of `file` into `model`'s parameters, checking names and shapes.
void load_weights(Sequential& model, const Safetensors& file, const std::string& source);

}  // namespace xg
