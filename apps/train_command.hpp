#pragma once
// `xgrad train`: train an MLP classifier on an MNIST-style data set.
#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace xg {

struct TrainOptions {
  std::string data = "fashion-mnist";
  std::string hidden = "256,128";
  std::size_t epochs = 10;
  std::size_t batch = 64;
  double lr = 0.05;
  double momentum = 0.9;
  std::string schedule = "cosine";
  std::uint64_t seed = 0;
  int threads = 0;  // 0: all cores
  std::string metrics;
  std::string classes;
  bool no_normalize = false;
  std::size_t train_limit = 0;  // 0: all
  std::size_t test_limit = 0;
  bool quiet = false;  // no confusion matrix and report at the end
};

// Registers the flags that shape a training run (shared with other subcommands).
void add_training_flags(CLI::App* command, TrainOptions& options);
// Registers the subcommand and its flags (with defaults shown in --help).
CLI::App* add_train_command(CLI::App& app, TrainOptions& options);
// Throws InputError naming the first bad flag.
void validate_train_options(const TrainOptions& options);
// Runs it; returns the exit status. Throws InputError for bad input (exit 2)
// and TrainingDiverged (exit 3); main() turns those into messages.
int run_train(const TrainOptions& options);

// "256,128" -> {256, 128}; "" -> {} (no hidden layer). Throws InputError naming `flag`.
std::vector<std::size_t> parse_size_list(const std::string& flag, const std::string& text);

}  // namespace xg
