#pragma once
// A network written as a short text (xgrad train --arch SPEC): one
// comma-separated token per module of a Sequential, in order, so the token at
// position i makes the module whose parameters are "i.weight" and "i.bias",
// as torch.nn.Sequential names them.
//
//   convN[kK][sS][pP]   Conv2d(in, N, kernel K, stride S, padding P); defaults k3 s1 p0
//   maxpoolK[sS]        MaxPool2d(K, stride S); the stride defaults to K
//   avgpoolK[sS]        AvgPool2d(K, stride S); the stride defaults to K
//   bn                  BatchNorm2d(in): batch normalisation of the channels before it
//   flatten             Flatten: (B, C, H, W) -> (B, C·H·W)
//   fcN                 Linear(in, N)
//   fc                  Linear(in, outputs): the last layer, one output per class
//   relu, tanh, sigmoid, leaky_relu
//
// In-channels and in-features follow from the input (C, H, W) and the layers
// before, as in PyTorch's LazyConv2d and LazyLinear. "cnn" is the default
// convolutional network:
//   conv16k3p1,relu,maxpool2,conv32k3p1,relu,maxpool2,flatten,fc128,relu,fc
// which for 28x28 grey images is Conv2d(1,16,3,padding=1), ReLU, MaxPool2d(2),
// Conv2d(16,32,3,padding=1), ReLU, MaxPool2d(2), Flatten, Linear(1568,128),
// ReLU, Linear(128,10).
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/random.hpp"
#include "layers/sequential.hpp"

namespace xg {

extern const char* const kDefaultCnn;  // the text "cnn" stands for

// The input of a network for items of a data set's shape: images {rows, cols}
// are one channel {1, rows, cols}; {C, rows, cols} and tables {features} stay.
Shape network_input(const Shape& item_shape);

struct LayerSpec {
  enum class Kind { Conv, MaxPool, AvgPool, BatchNorm, Flatten, Linear, Activation };
  Kind kind = Kind::Linear;
  std::string token;       // as written, for messages and the canonical text
  std::size_t size = 0;    // conv: out channels; fc: out features (0: the outputs)
  std::size_t kernel = 0, stride = 0, padding = 0;
};

// Splits and checks the text ("cnn" expanded); numbers must be in range
// (channels and features 1..65536, kernel, stride 1..64, padding 0..64).
// Throws InputError "<source>: '<token>' (layer i) …" naming the bad token.
std::vector<LayerSpec> parse_architecture(const std::string& text, const std::string& source);
// The tokens joined by commas: what a model file records.
std::string architecture_text(const std::vector<LayerSpec>& layers);

// The names and shapes of the parameters of the network for one item of
// `input` shape ({C, H, W} for images, {features} for tables) and `outputs`
// outputs, without building it. Throws InputError naming the token that does
// not fit (a window larger than its input, fc before flatten, a conv on flat
// input, a last layer other than fc, more than 500M parameters).
std::vector<std::pair<std::string, Shape>> architecture_parameter_shapes(const std::vector<LayerSpec>& layers,
                                                                         const Shape& input, std::size_t outputs,
                                                                         const std::string& source);
// The same, followed by each module's buffers (BatchNorm2d's running_mean,
// running_var and num_batches_tracked) in PyTorch's state_dict order: the
// tensors of a model file.
std::vector<std::pair<std::string, Shape>> architecture_state_shapes(const std::vector<LayerSpec>& layers,
                                                                     const Shape& input, std::size_t outputs,
                                                                     const std::string& source);
// The network itself (checked as above), its input shape set so that it takes
// flat rows (B, C·H·W) too. Weights as PyTorch initialises each layer, from `rng`.
std::shared_ptr<Sequential> make_network(const std::vector<LayerSpec>& layers, const Shape& input, std::size_t outputs,
                                         Rng& rng, const std::string& source);

}  // namespace xg
