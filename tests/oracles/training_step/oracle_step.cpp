// The xgrad half of the PyTorch oracle test (test_training_step.py is the other
// half). It reads inputs that the script wrote as .npy files, runs xgrad on
// them and writes every result as .npy, for the script to compare with torch.
//
//   oracle_step train DIR LR MOMENTUM STEPS SIZE...
//     reads   DIR/x.npy (B, SIZE[0]) float32, DIR/labels.npy (B) int64 and, for
//             every parameter NAME of make_mlp(SIZE...) ("0.weight" (out, in),
//             "0.bias" (out), "2.weight", … as in torch's state_dict),
//             DIR/NAME.npy float32;
//     runs    STEPS iterations of zero_grad; forward; loss; backward; step
//             with SGD(lr, momentum);
//     writes  for step k = 1..STEPS: DIR/step<k>_loss.npy (), the gradient
//             DIR/step<k>_grad_NAME.npy before the update, the parameter
//             DIR/step<k>_param_NAME.npy after it, and each buffer NAME
//             (BatchNorm2d's "1.running_mean", …) DIR/step<k>_buffer_NAME.npy
//             after the step's forward pass (float32, the counter too).
//
//   oracle_step train-arch DIR LR MOMENTUM STEPS ARCH C H W OUTPUTS
//     the same for the network make_network(parse_architecture(ARCH)) of
//     layers/architecture.hpp, for images (C, H, W): DIR/x.npy is (B, C, H, W)
//     float32, the parameters are its "0.weight" (out, in, kh, kw), … ; the
//     buffers start as the model makes them (running_mean 0, running_var 1).
//
//   oracle_step loss DIR
//     reads   DIR/logits.npy (B, C) float32, DIR/labels.npy (B) int64;
//     writes  DIR/loss.npy (), DIR/dlogits.npy (B, C) = d loss / d logits,
//             DIR/softmax.npy (B, C), DIR/log_softmax.npy (B, C).
//
// Exit status: 0 on success, 1 when a file is missing or malformed or xgrad
// throws, 2 on a usage error.
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.hpp"
#include "core/random.hpp"
#include "core/tensor.hpp"
#include "layers/architecture.hpp"
#include "layers/sequential.hpp"
#include "losses/softmax_cross_entropy.hpp"
#include "optim/sgd.hpp"
#include "tests/oracles/npy_io.hpp"

namespace {

using xg::oracle::load_floats;
using xg::oracle::load_labels;
using xg::oracle::save;
using xg::oracle::UsageError;

// Parses a whole command-line word as a number, or throws.
template <class Number>
Number parse(const std::string& word, const char* what) {
  std::size_t used = 0;
  Number n{};
  try {
    if constexpr (std::is_floating_point_v<Number>) n = Number(std::stod(word, &used));
    else if (!word.empty() && word[0] != '-') n = Number(std::stoull(word, &used));  // stoull accepts "-3"
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != word.size()) throw UsageError(std::string(what) + ": '" + word + "' is not a number");
  return n;
}

// `oracle_step train` and `train-arch`: STEPS full iterations of `model` with SGD-momentum.
void run_training(const std::string& dir, float lr, float momentum, std::size_t steps, std::shared_ptr<xg::Sequential> model) {
  const xg::Tensor x(load_floats(dir + "/x.npy"));  // (B, in) or (B, C, H, W)
  const std::vector<std::uint32_t> labels = load_labels(dir + "/labels.npy");  // (B)

  const auto named = model->named_parameters();
  for (const auto& [name, parameter] : named) {
    const std::string path = dir + "/" + name + ".npy";
    xg::Array loaded = load_floats(path);
    xg::Tensor p = parameter;  // a handle: writes go to the model's node
    if (loaded.shape() != p.value().shape()) {
      throw xg::InputError(path + ": parameter " + name + " of the model has shape " + xg::shape_string(p.value()) +
                           " but the file has " + xg::shape_string(loaded) + " (HINT: weights are (out, in), as torch.nn.Linear)");
    }
    p.value() = std::move(loaded);
  }

  xg::SGD optimizer(model->parameters(), lr, momentum);
  for (std::size_t k = 1; k <= steps; ++k) {
    const std::string prefix = dir + "/step" + std::to_string(k) + "_";
    optimizer.zero_grad();
    xg::Tensor logits = model->forward(x);  // (B, out)
    xg::Tensor loss = xg::softmax_cross_entropy(logits, labels);  // ()
    loss.backward();
    save(prefix + "loss.npy", loss.value());
    for (const auto& [name, p] : named) save(prefix + "grad_" + name + ".npy", p.grad());
    optimizer.step();
    for (const auto& [name, p] : named) save(prefix + "param_" + name + ".npy", p.value());
    for (const auto& [name, b] : model->named_buffers()) save(prefix + "buffer_" + name + ".npy", b.value());
  }
}

// `oracle_step loss`: the loss, its gradient, softmax and log_softmax of given logits.
void run_loss(const std::string& dir) {
  xg::Tensor logits(load_floats(dir + "/logits.npy"), /*requires_grad=*/true);  // (B, C)
  const std::vector<std::uint32_t> labels = load_labels(dir + "/labels.npy");  // (B)
  xg::Tensor loss = xg::softmax_cross_entropy(logits, labels);  // ()
  loss.backward();
  save(dir + "/loss.npy", loss.value());
  save(dir + "/dlogits.npy", logits.grad());
  save(dir + "/softmax.npy", xg::softmax(logits.value()));
  save(dir + "/log_softmax.npy", xg::log_softmax(logits.value()));
}

int usage() {
  std::cerr << "usage: oracle_step train DIR LR MOMENTUM STEPS SIZE...   (e.g. train /tmp/o 0.1 0.9 3 12 7 5 4)\n"
               "       oracle_step train-arch DIR LR MOMENTUM STEPS ARCH C H W OUTPUTS\n"
               "       oracle_step loss DIR\n"
               "Reads and writes .npy files in DIR; see the comment at the top of oracle_step.cpp.\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() < 2) return usage();
  try {
    if (args[0] == "train") {
      if (args.size() < 7) return usage();
      const float lr = parse<float>(args[2], "LR");
      const float momentum = parse<float>(args[3], "MOMENTUM");
      const std::size_t steps = parse<std::size_t>(args[4], "STEPS");
      std::vector<std::size_t> sizes;
      for (std::size_t i = 5; i < args.size(); ++i) sizes.push_back(parse<std::size_t>(args[i], "SIZE"));
      xg::Rng rng(0);
      run_training(args[1], lr, momentum, steps, xg::make_mlp(sizes, rng));
    } else if (args[0] == "train-arch") {
      if (args.size() != 10) return usage();
      const float lr = parse<float>(args[2], "LR");
      const float momentum = parse<float>(args[3], "MOMENTUM");
      const std::size_t steps = parse<std::size_t>(args[4], "STEPS");
      const xg::Shape input = {parse<std::size_t>(args[6], "C"), parse<std::size_t>(args[7], "H"), parse<std::size_t>(args[8], "W")};
      xg::Rng rng(0);
      run_training(args[1], lr, momentum, steps,
                   xg::make_network(xg::parse_architecture(args[5], "ARCH"), input, parse<std::size_t>(args[9], "OUTPUTS"), rng, "ARCH"));
    } else if (args[0] == "loss") {
      if (args.size() != 2) return usage();
      run_loss(args[1]);
    } else {
      return usage();
    }
  } catch (const UsageError& e) {
    std::cerr << "oracle_step: " << e.what() << "\n";
    return usage();
  } catch (const std::exception& e) {
    std::cerr << "oracle_step: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
