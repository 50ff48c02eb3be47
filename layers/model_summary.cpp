#include "layers/model_summary.hpp"

#include <algorithm>
#include <cstdio>

#include "core/ops.hpp"

namespace xg {

std::vector<LayerSummary> summarize_layers(Sequential& model, std::size_t features) {
  const bool was_training = model.is_training();
  NoGradGuard no_graph;
  model.eval();
  std::vector<LayerSummary> layers;
  Tensor h(xt::zeros<float>({std::size_t(1), features}));  // x (1, features)
  if (!model.input_shape().empty()) {  // as Sequential::forward reads flat rows: (1, C, H, W)
    Shape item(model.input_shape().size() + 1);
    item[0] = 1;
    std::copy(model.input_shape().begin(), model.input_shape().end(), item.begin() + 1);
    h = reshape(h, item);
  }
  for (const auto& [name, child] : model.children()) {
    h = child->forward(h);
    LayerSummary layer;
    layer.name = name;
    layer.type = child->label().substr(0, child->label().find('#'));
    for (std::size_t axis = 1; axis < h.rank(); ++axis) layer.output_shape.push_back(h.dim(axis));
    for (const Tensor& p : child->parameters()) {
      layer.parameters += p.size();
      if (p.requires_grad()) layer.trainable += p.size();
    }
    layers.push_back(layer);
  }
  model.train(was_training);
  return layers;
}

std::string with_thousands(std::size_t n) {
  std::string digits = std::to_string(n), text;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) text += ',';
    text += digits[i];
  }
  return text;
}

std::string format_model_summary(const std::vector<LayerSummary>& layers) {
  std::vector<std::string> shapes;
  std::size_t total = 0, trainable = 0, type_width = 4, shape_width = 12;
  for (const LayerSummary& l : layers) {
    std::string shape = "(batch";
    for (std::size_t d : l.output_shape) shape += ", " + std::to_string(d);
    shapes.push_back(shape + ")");
    type_width = std::max(type_width, l.type.size());
    shape_width = std::max(shape_width, shapes.back().size());
    total += l.parameters, trainable += l.trainable;
  }
  char line[256];
  auto row = [&](const std::string& a, const std::string& b, const std::string& c, const std::string& d) {
    std::snprintf(line, sizeof line, "%-5s  %-*s  %-*s  %10s\n", a.c_str(), int(type_width), b.c_str(), int(shape_width),
                  c.c_str(), d.c_str());
    return std::string(line);
  };
  std::string text = row("layer", "type", "output shape", "parameters");
  for (std::size_t i = 0; i < layers.size(); ++i)
    text += row(layers[i].name, layers[i].type, shapes[i], with_thousands(layers[i].parameters));
  const int label_width = int(5 + 2 + type_width + 2 + shape_width);
  std::snprintf(line, sizeof line, "%-*s  %10s\n%-*s  %10s\n", label_width, "total parameters",
                with_thousands(total).c_str(), label_width, "trainable parameters", with_thousands(trainable).c_str());
  text += line;
  if (trainable != total) {
    std::snprintf(line, sizeof line, "%-*s  %10s\n", label_width, "non-trainable parameters",
                  with_thousands(total - trainable).c_str());
    text += line;
  }
  return text;
}

}  // namespace xg
