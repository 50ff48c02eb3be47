#include "layers/architecture.hpp"

#include <cctype>
#include <functional>

#include "core/error.hpp"
#include "layers/activations.hpp"
#include "layers/batchnorm.hpp"
#include "layers/conv.hpp"
#include "layers/linear.hpp"

namespace xg {

const char* const kDefaultCnn = "conv16k3p1,relu,maxpool2,conv32k3p1,relu,maxpool2,flatten,fc128,relu,fc";

Shape network_input(const Shape& item_shape) {
  if (item_shape.size() == 2) return {1, item_shape[0], item_shape[1]};
  return item_shape;
}

namespace {

constexpr const char* kGrammar = "convN[kK][sS][pP], maxpoolK[sS], avgpoolK[sS], bn, flatten, fcN, fc, relu, tanh, sigmoid or leaky_relu";

[[noreturn]] void bad_token(const std::string& source, const LayerSpec& l, std::size_t position, const std::string& why) {
  throw InputError(source + ": '" + l.token.substr(0, 40) + "' (layer " + std::to_string(position) + ") " + why);
}

// Reads a number of at most 6 digits at text[at]; false if there is none.
bool read_number(const std::string& text, std::size_t& at, std::size_t& value) {
  std::size_t digits = 0;
  value = 0;
  while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at])) && digits < 7) {
    value = value * 10 + std::size_t(text[at++] - '0');
    ++digits;
  }
  return digits > 0 && digits < 7;
}

// Parses `token`; false if it is not a layer.
bool parse_token(const std::string& token, LayerSpec& l) {
  l.token = token;
  auto starts = [&](const char* prefix) { return token.rfind(prefix, 0) == 0; };
  std::size_t at = 0;
  // The optional suffixes in order: each letter of `letters` followed by a number.
  auto suffixes = [&](const std::string& letters, std::vector<std::size_t*> values) {
    for (std::size_t i = 0; i < letters.size(); ++i) {
      if (at < token.size() && token[at] == letters[i]) {
        ++at;
        if (!read_number(token, at, *values[i])) return false;
      }
    }
    return at == token.size();
  };
  if (token == "relu" || token == "tanh" || token == "sigmoid" || token == "leaky_relu") {
    l.kind = LayerSpec::Kind::Activation;
    return true;
  }
  if (token == "flatten") {
    l.kind = LayerSpec::Kind::Flatten;
    return true;
  }
  if (token == "bn") {
    l.kind = LayerSpec::Kind::BatchNorm;
    return true;
  }
  if (starts("conv")) {
    l.kind = LayerSpec::Kind::Conv;
    at = 4;
    l.kernel = 3, l.stride = 1, l.padding = 0;
    return read_number(token, at, l.size) && suffixes("ksp", {&l.kernel, &l.stride, &l.padding});
  }
  if (starts("maxpool") || starts("avgpool")) {
    l.kind = starts("maxpool") ? LayerSpec::Kind::MaxPool : LayerSpec::Kind::AvgPool;
    at = 7;
    if (!read_number(token, at, l.kernel)) return false;
    l.stride = l.kernel;
    return suffixes("s", {&l.stride});
  }
  if (starts("fc")) {
    l.kind = LayerSpec::Kind::Linear;
    at = 2;
    l.size = 0;
    return token == "fc" || (read_number(token, at, l.size) && at == token.size());
  }
  return false;
}

std::string shape_text(const Shape& s) {
  std::string t;
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? "x" : "") + std::to_string(s[i]);
  return t;
}

// Walks the layers from `input`, checking each, and calls visit(layer, position,
// in shape, out shape) for each (shapes of one item, without the batch axis).
void walk(const std::vector<LayerSpec>& layers, const Shape& input, std::size_t outputs, const std::string& source,
          const std::function<void(const LayerSpec&, std::size_t, const Shape&, const Shape&)>& visit) {
  Shape shape = input;
  double parameters = 0;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const LayerSpec& l = layers[i];
    const bool last = i + 1 == layers.size();
    Shape out = shape;
    switch (l.kind) {
      case LayerSpec::Kind::Conv:
      case LayerSpec::Kind::MaxPool:
      case LayerSpec::Kind::AvgPool: {
        if (shape.size() != 3) {
          bad_token(source, l, i, "needs images (channels, height, width) but its input is flat (" +
                                      shape_text(shape) + " values)" + (input.size() == 1 ? "" : "; it comes after flatten"));
        }
        const std::size_t pad = l.kind == LayerSpec::Kind::Conv ? l.padding : 0;
        if (shape[1] + 2 * pad < l.kernel || shape[2] + 2 * pad < l.kernel) {
          bad_token(source, l, i, "has a " + std::to_string(l.kernel) + "x" + std::to_string(l.kernel) +
                                      " window larger than its input (" + shape_text(shape) + ")");
        }
        out = {l.kind == LayerSpec::Kind::Conv ? l.size : shape[0], (shape[1] + 2 * pad - l.kernel) / l.stride + 1,
               (shape[2] + 2 * pad - l.kernel) / l.stride + 1};
        if (l.kind == LayerSpec::Kind::Conv) parameters += double(l.size) * (double(shape[0]) * l.kernel * l.kernel + 1);
        break;
      }
      case LayerSpec::Kind::BatchNorm:
        if (shape.size() != 3) {
          bad_token(source, l, i, "normalises the channels of images (channels, height, width) but its input is flat (" +
                                      shape_text(shape) + " values)" + (input.size() == 1 ? "" : "; put it before flatten"));
        }
        parameters += 2.0 * double(shape[0]);
        break;
      case LayerSpec::Kind::Flatten:
        out = {shape[0] * (shape.size() == 3 ? shape[1] * shape[2] : 1)};
        break;
      case LayerSpec::Kind::Linear:
        if (shape.size() != 1) bad_token(source, l, i, "needs flat input but gets images (" + shape_text(shape) + "); put flatten before it");
        if (l.size == 0 && !last) bad_token(source, l, i, "(one output per class) must be the last layer; give fcN a size");
        out = {l.size == 0 ? outputs : l.size};
        parameters += double(out[0]) * (double(shape[0]) + 1);
        break;
      case LayerSpec::Kind::Activation:
        break;
    }
    if (last && (l.kind != LayerSpec::Kind::Linear || out[0] != outputs)) {
      bad_token(source, l, i, "ends the network, which must end with fc (Linear to the " + std::to_string(outputs) + " outputs)");
    }
    if (parameters > 5e8) bad_token(source, l, i, "brings the network above 500 million parameters");
    visit(l, i, shape, out);
    shape = out;
  }
}

}  // namespace

std::vector<LayerSpec> parse_architecture(const std::string& text, const std::string& source) {
  const std::string spec = text == "cnn" ? kDefaultCnn : text;
  std::vector<LayerSpec> layers;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = std::min(spec.find(',', start), spec.size());
    LayerSpec l;
    const std::string token = spec.substr(start, comma - start);
    if (!parse_token(token, l)) {
      l.token = token;
      bad_token(source, l, layers.size(), std::string(token.empty() ? "is empty" : "is not a layer") + "; layers are " + kGrammar);
    }
    const bool sized = l.kind == LayerSpec::Kind::Conv || (l.kind == LayerSpec::Kind::Linear && token != "fc");
    if ((sized && (l.size < 1 || l.size > 65536)) || l.kernel > 64 || l.stride > 64 || l.padding > 64 ||
        ((l.kind == LayerSpec::Kind::Conv || l.kind == LayerSpec::Kind::MaxPool || l.kind == LayerSpec::Kind::AvgPool) &&
         (l.kernel < 1 || l.stride < 1))) {
      bad_token(source, l, layers.size(), "is out of range: channels and features 1..65536, kernel and stride 1..64, padding 0..64");
    }
    layers.push_back(l);
    if (layers.size() > 1000) bad_token(source, l, layers.size() - 1, "is one layer too many (at most 1000)");
    if (comma == spec.size()) break;
    start = comma + 1;
  }
  return layers;
}

std::string architecture_text(const std::vector<LayerSpec>& layers) {
  std::string text;
  for (std::size_t i = 0; i < layers.size(); ++i) text += (i ? "," : "") + layers[i].token;
  return text;
}

namespace {

std::vector<std::pair<std::string, Shape>> layer_shapes(const std::vector<LayerSpec>& layers, const Shape& input,
                                                        std::size_t outputs, const std::string& source, bool buffers) {
  std::vector<std::pair<std::string, Shape>> shapes;
  walk(layers, input, outputs, source, [&](const LayerSpec& l, std::size_t i, const Shape& in, const Shape& out) {
    const std::string position = std::to_string(i);
    if (l.kind == LayerSpec::Kind::Conv) {
      shapes.push_back({position + ".weight", {out[0], in[0], l.kernel, l.kernel}});
      shapes.push_back({position + ".bias", {out[0]}});
    } else if (l.kind == LayerSpec::Kind::Linear) {
      shapes.push_back({position + ".weight", {out[0], in[0]}});
      shapes.push_back({position + ".bias", {out[0]}});
    } else if (l.kind == LayerSpec::Kind::BatchNorm) {
      shapes.push_back({position + ".weight", {in[0]}});
      shapes.push_back({position + ".bias", {in[0]}});
      if (buffers) {
        shapes.push_back({position + ".running_mean", {in[0]}});
        shapes.push_back({position + ".running_var", {in[0]}});
        shapes.push_back({position + ".num_batches_tracked", {}});
      }
    }
  });
  return shapes;
}

}  // namespace

std::vector<std::pair<std::string, Shape>> architecture_parameter_shapes(const std::vector<LayerSpec>& layers,
                                                                         const Shape& input, std::size_t outputs,
                                                                         const std::string& source) {
  return layer_shapes(layers, input, outputs, source, false);
}

std::vector<std::pair<std::string, Shape>> architecture_state_shapes(const std::vector<LayerSpec>& layers,
                                                                     const Shape& input, std::size_t outputs,
                                                                     const std::string& source) {
  return layer_shapes(layers, input, outputs, source, true);
}

std::shared_ptr<Sequential> make_network(const std::vector<LayerSpec>& layers, const Shape& input, std::size_t outputs,
                                         Rng& rng, const std::string& source) {
  auto model = std::make_shared<Sequential>();
  walk(layers, input, outputs, source, [&](const LayerSpec& l, std::size_t, const Shape& in, const Shape& out) {
    switch (l.kind) {
      case LayerSpec::Kind::Conv: model->add(std::make_shared<Conv2d>(in[0], out[0], l.kernel, rng, l.stride, l.padding)); break;
      case LayerSpec::Kind::MaxPool: model->add(std::make_shared<MaxPool2d>(l.kernel, l.stride)); break;
      case LayerSpec::Kind::AvgPool: model->add(std::make_shared<AvgPool2d>(l.kernel, l.stride)); break;
      case LayerSpec::Kind::BatchNorm: model->add(std::make_shared<BatchNorm2d>(in[0])); break;
      case LayerSpec::Kind::Flatten: model->add(std::make_shared<Flatten>()); break;
      case LayerSpec::Kind::Linear: model->add(std::make_shared<Linear>(in[0], out[0], rng)); break;
      case LayerSpec::Kind::Activation: model->add(make_activation(l.token)); break;
    }
  });
  if (input.size() == 3) model->set_input_shape(input);
  return model;
}

}  // namespace xg
