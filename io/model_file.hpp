#pragma once
// Model files: a trained model as a safetensors file that PyTorch loads with
// no conversion (docs/CHECKPOINTS.md).
//
//   tensors        "0.weight", "0.bias", "2.weight", … exactly as
//                  torch.nn.Sequential's state_dict names them, in PyTorch's
//                  layouts (Linear weight (out, in)); buffers too
//                  ("1.running_mean", …; num_batches_tracked as I64)
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

#include "io/checkpoint_metadata.hpp"
#include "io/safetensors.hpp"
#include "layers/sequential.hpp"

namespace xg {

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
// Copies the tensors of `file` into `model`'s parameters and buffers, checking names and shapes.
void load_weights(Sequential& model, const Safetensors& file, const std::string& source);

}  // namespace xg
