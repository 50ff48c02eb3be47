#pragma once
// A model summary, as Keras's model.summary() prints it: each layer with its
// output shape and parameter count, then the total and trainable parameters.
#include <cstddef>
#include <string>
#include <vector>

#include "layers/sequential.hpp"

namespace xg {

struct LayerSummary {
  std::string name;         // the position, as in the parameter names: "0", "1", …
  std::string type;         // "Linear", "ReLU", "Dropout", …
  std::vector<std::size_t> output_shape;  // without the batch axis: {256}
  std::size_t parameters = 0;
  std::size_t trainable = 0;  // of those, the ones that require a gradient
};

// Runs one zero row of `features` inputs through `model` (evaluation mode, no
// graph; the training mode is restored) to find each layer's output shape.
std::vector<LayerSummary> summarize_layers(Sequential& model, std::size_t features);

// The table:
//   layer  type     output shape  parameters
//   0      Linear   (batch, 256)     200,960
//   …
//   total parameters      235,146
//   trainable parameters  235,146
std::string format_model_summary(const std::vector<LayerSummary>& layers);

// "235,146"
std::string with_thousands(std::size_t n);

}  // namespace xg
